//! The core claim: the exact recipient ID comes back from a real leaked copy.
//!
//! Each test marks a real clip (live action and animation, 10 s, 360p), runs one real attack
//! through Debian's ffmpeg (libx264/libx265 at real CRFs, real scaling, cropping, bars,
//! colour changes, frame-rate change, excerpt), decodes the result and detects. It asserts
//! the exact ID and a false-positive probability of at most 1e-9, and prints the figures.

mod support;

use std::sync::OnceLock;

use filigree::{EmbedConfig, Key};
use support::{Attack, Clip};

/// Uses all 32 bits, so a single wrong bit anywhere would show.
const RECIPIENT: u32 = 0xC0FF_EE42;
const MAX_FALSE_POSITIVE: f64 = 1e-9;

fn key() -> Key {
    Key::from_bytes(*b"filigree robustness suite key 01")
}

struct Marked {
    original: Clip,
    marked: Clip,
}

fn check(name: &str, marked: &Marked, attack: Attack) {
    let attacked = support::attack(&marked.marked, &attack);
    let detection = support::accumulate(&attacked).detect(&key());
    println!(
        "{name}: {} -> recipient {:?}, FP {:?}, sync z {:.1}, magnification {:.3}, frames {}",
        attack.name,
        detection.recipient,
        detection.false_positive_probability,
        detection.sync_z,
        detection.magnification,
        detection.frames_used
    );
    assert_eq!(
        detection.recipient,
        Some(RECIPIENT),
        "{name}: {}",
        attack.name
    );
    let fp = detection
        .false_positive_probability
        .expect("found implies an FP probability");
    assert!(
        fp <= MAX_FALSE_POSITIVE,
        "{name}: {}: FP {fp:e}",
        attack.name
    );
    assert!(detection.frames_used > 0 && detection.frames_used <= attacked.frames.len());
}

macro_rules! attack_suite {
    ($clip:ident, $file:expr) => {
        mod $clip {
            use super::*;
            use support::suite;

            fn marked() -> &'static Marked {
                static MARKED: OnceLock<Marked> = OnceLock::new();
                MARKED.get_or_init(|| {
                    let original = support::decode(&support::testdata($file), None);
                    assert!(original.duration_s() <= 10.01, "at most 10 s of video");
                    let (marked, _) =
                        support::mark_clip(&original, &key(), RECIPIENT, &EmbedConfig::default());
                    Marked { original, marked }
                })
            }

            fn check(attack: Attack) {
                super::check(stringify!($clip), marked(), attack);
            }

            #[test]
            fn h264_crf23_recovers_exact_id() {
                check(suite::h264_crf23());
            }
            #[test]
            fn h264_crf28_recovers_exact_id() {
                check(suite::h264_crf28());
            }
            #[test]
            fn h264_crf32_recovers_exact_id() {
                check(suite::h264_crf32());
            }
            #[test]
            fn h265_crf28_recovers_exact_id() {
                check(suite::h265_crf28());
            }
            #[test]
            fn downscale_640x360_h264_crf28_recovers_exact_id() {
                check(suite::downscale_640x360_h264_crf28());
            }
            #[test]
            fn crop_10_percent_off_centre_h264_crf26_recovers_exact_id() {
                check(suite::crop_10_percent_off_centre_h264_crf26());
            }
            #[test]
            fn letterbox_h264_crf26_recovers_exact_id() {
                check(suite::letterbox_h264_crf26());
            }
            #[test]
            fn brightness_contrast_gamma_h264_crf26_recovers_exact_id() {
                check(suite::brightness_contrast_gamma_h264_crf26());
            }
            #[test]
            fn frame_rate_to_30_h264_crf26_recovers_exact_id() {
                check(suite::frame_rate_30_h264_crf26());
            }
            #[test]
            fn excerpt_3s_from_the_middle_recovers_exact_id() {
                check(suite::excerpt_3s_h264_crf26(&marked().original));
            }
            #[test]
            fn chain_crop_downscale_brightness_h264_crf30_recovers_exact_id() {
                check(suite::chain_crop_downscale_brightness_h264_crf30());
            }
        }
    };
}

attack_suite!(tears_of_steel_live_action, "tos_360p24_10s.mp4");
attack_suite!(caminandes_animation, "caminandes_360p24_10s.mp4");
attack_suite!(big_buck_bunny_720p25, "bbb_720p25_5s.mp4");
