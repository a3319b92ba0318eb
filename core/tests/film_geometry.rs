//! Film masters as they are delivered and leaks as pirates make them.
//!
//! Masters: the shared clips turned into letterboxed (2.39:1, 1.85:1 inside 16:9) and
//! pillarboxed (4:3 inside 16:9) masters with lifted, grainy bars (`support::masters`). The
//! embedder must find the picture inside the bars and mark only it, so that the core attack
//! suite, a leak with the bars cropped off and one letterboxed again into 4:3 all give the
//! exact ID. Leak geometry: mirrors, flips, a x1.33 zoom, rotation by 5 degrees, anamorphic
//! squeeze and stretch, a keystoned camcorder capture and screen recordings inside a
//! non-black desktop, each with a real encode (`support::geometry`).
//! Every test asserts the exact ID and a false-positive probability of at most 1e-9.

mod support;

use std::sync::OnceLock;

use filigree::{EmbedConfig, Key, Reflection};
use support::{Attack, Clip, geometry, masters, suite};

const RECIPIENT: u32 = 0x5EED_F11A;
const MAX_FALSE_POSITIVE: f64 = 1e-9;

fn key() -> Key {
    Key::from_bytes(*b"filigree film geometry suite k01")
}

fn check(name: &str, marked: &Clip, attack: Attack) -> filigree::Detection {
    let attacked = support::attack(marked, &attack);
    let detection = support::accumulate(&attacked).detect(&key());
    println!(
        "{name}: {} -> recipient {:?}, FP {:?}, sync z {:.1}, magnification {:.3}, {}",
        attack.name,
        detection.recipient,
        detection.false_positive_probability,
        detection.sync_z,
        detection.magnification,
        detection.reflection.name(),
    );
    assert_eq!(
        detection.recipient,
        Some(RECIPIENT),
        "{name}: {}",
        attack.name
    );
    let fp = detection.false_positive_probability.expect("found");
    assert!(
        fp <= MAX_FALSE_POSITIVE,
        "{name}: {}: FP {fp:e}",
        attack.name
    );
    detection
}

/// A master and its marked copy, made once per test binary.
struct Master {
    original: Clip,
    marked: Clip,
    quality: filigree::metrics::QualityStats,
}

fn master(make: fn(&Clip) -> Clip, file: &str) -> Master {
    let original = make(&support::decode(&support::testdata(file), None));
    let (marked, quality) =
        support::mark_clip(&original, &key(), RECIPIENT, &EmbedConfig::default());
    println!(
        "{file}: PSNR {:.2} dB, SSIM {:.4}",
        quality.mean_psnr(),
        quality.mean_ssim()
    );
    Master {
        original,
        marked,
        quality,
    }
}

/// Rows (columns) of bar above (left of) the picture in a boxed master: the first line that
/// differs between the marked copy and the original is inside the picture.
fn bar_size(master: &Master) -> (usize, usize) {
    let (a, b) = (&master.original.frames[20].y, &master.marked.frames[20].y);
    let rows = (0..a.nrows()).find(|&r| a.row(r) != b.row(r)).unwrap();
    let cols = (0..a.ncols())
        .find(|&c| a.column(c) != b.column(c))
        .unwrap();
    (rows, cols)
}

macro_rules! master_suite {
    ($name:ident, $make:path, $file:expr) => {
        mod $name {
            use super::*;

            fn marked() -> &'static Master {
                static MASTER: OnceLock<Master> = OnceLock::new();
                MASTER.get_or_init(|| master($make, $file))
            }

            fn check(attack: Attack) {
                super::check(stringify!($name), &marked().marked, attack);
            }

            #[test]
            fn no_mark_in_the_bars_and_fidelity_kept() {
                let m = marked();
                let (rows, cols) = bar_size(m);
                assert!(rows > 0 || cols > 0, "the master has bars");
                // The boxes are centred: the bars below (right of) the picture are as
                // tall (wide) as those above (left of) it.
                let (height, width) = m.original.frames[0].y.dim();
                for (original, marked) in m.original.frames.iter().zip(&m.marked.frames) {
                    for bar in [
                        ndarray::s![..rows, ..],
                        ndarray::s![height - rows.., ..],
                        ndarray::s![.., ..cols],
                        ndarray::s![.., width - cols..],
                    ] {
                        assert_eq!(original.y.slice(bar), marked.y.slice(bar));
                    }
                }
                let (psnr, ssim) = (m.quality.mean_psnr(), m.quality.mean_ssim());
                assert!(
                    psnr >= 44.0 && ssim >= 0.99,
                    "PSNR {psnr:.2} dB, SSIM {ssim:.4}"
                );
            }
            #[test]
            fn the_whole_core_suite_recovers_exact_id() {
                for attack in suite::all(&marked().original) {
                    check(attack);
                }
            }
            #[test]
            fn bars_cropped_off_recovers_exact_id() {
                let (rows, cols) = bar_size(marked());
                check(geometry::bars_cropped_off(rows, cols));
            }
            #[test]
            fn bars_kept_and_letterboxed_into_4_3_recovers_exact_id() {
                check(geometry::reboxed_into_4_3());
            }
            #[test]
            fn unmarked_master_finds_no_watermark() {
                let d = support::accumulate(&marked().original).detect(&key());
                assert_eq!(d.recipient, None, "sync z {:.1}", d.sync_z);
            }
        }
    };
}

master_suite!(scope_live_action, masters::scope, "tos_360p24_10s.mp4");
master_suite!(flat_animation, masters::flat, "caminandes_360p24_10s.mp4");
master_suite!(
    academy_pillarbox_720p,
    masters::academy,
    "bbb_720p25_5s.mp4"
);

macro_rules! leak_geometry {
    ($name:ident, $file:expr) => {
        mod $name {
            use super::*;

            fn marked() -> &'static Master {
                static MASTER: OnceLock<Master> = OnceLock::new();
                MASTER.get_or_init(|| master(|clip| clip.clone(), $file))
            }

            fn check(attack: Attack) -> filigree::Detection {
                super::check(stringify!($name), &marked().marked, attack)
            }

            #[test]
            fn horizontal_mirror_recovers_exact_id() {
                assert_eq!(check(geometry::mirror()).reflection, Reflection::Mirror);
            }
            #[test]
            fn vertical_flip_recovers_exact_id() {
                assert_eq!(check(geometry::flip()).reflection, Reflection::Flip);
            }
            #[test]
            fn zoom_x1_33_off_centre_recovers_exact_id() {
                check(geometry::zoom_1_33());
            }
            #[test]
            fn rotation_by_5_degrees_either_way_recovers_exact_id() {
                for degrees in [5.0, -5.0] {
                    let found = check(geometry::rotate(degrees));
                    // ffmpeg turns clockwise for positive angles; the detector reports
                    // counter-clockwise degrees.
                    assert!((found.rotation_degrees + degrees as f32).abs() < 0.3);
                }
            }
            #[test]
            fn anamorphic_squeeze_and_stretch_recover_exact_id() {
                for factor in [0.75, 1.33] {
                    let found = check(geometry::aspect(factor));
                    assert!((found.aspect - factor as f32).abs() < 0.01);
                }
            }
            #[test]
            fn keystoned_camcorder_capture_recovers_exact_id() {
                check(geometry::camcorder_keystone());
            }
            #[test]
            fn screen_recording_in_a_coloured_desktop_recovers_exact_id() {
                check(geometry::screen_recording("0x4a5868", 0.6));
            }
            #[test]
            fn screen_recording_in_a_textured_desktop_recovers_exact_id() {
                let clip = &marked().marked;
                check(geometry::screen_recording_textured(
                    clip.width,
                    clip.height,
                    clip.fps,
                    0.7,
                ));
            }
            #[test]
            fn screen_recording_in_a_grey_desktop_recovers_exact_id() {
                check(geometry::screen_recording("gray", 0.8));
            }
        }
    };
}

leak_geometry!(live_action, "tos_360p24_10s.mp4");
leak_geometry!(animation, "caminandes_360p24_10s.mp4");

/// A 720p master leaked at a quarter of its height (180 lines), the 360p clips' equivalent
/// of a 1080p master leaked at 270p.
#[test]
fn quarter_height_downscale_of_a_720p_master_recovers_exact_id() {
    let m = master(|clip| clip.clone(), "bbb_720p25_5s.mp4");
    check("bbb 720p", &m.marked, geometry::quarter_height());
}

/// A title whose picture changes: 1.90:1 scenes and scope scenes in one stream, in both
/// orders, and a scope title with a 4:3 archive insert (pillarboxed) in its middle third.
/// Each frame is marked only inside its own bars (the grid stays the widest picture seen),
/// and each part detects on its own, as does the whole.
#[test]
fn a_title_whose_picture_changes_detects_from_each_part_and_from_the_whole() {
    let clip = support::decode(&support::testdata("tos_360p24_10s.mp4"), None);
    let (height, width) = clip.frames[0].y.dim();
    let wide = masters::boxed(&clip, 1.90);
    let scope = masters::scope(&clip);
    let academy = masters::academy(&clip);
    // Bars of each picture inside 640x360: rows above and below, columns left and right.
    let bars_of = |part: &Clip| match part {
        p if std::ptr::eq(p, &scope) => (46, 0),
        p if std::ptr::eq(p, &wide) => (12, 0),
        _ => (0, 80),
    };
    let n = clip.frames.len();
    let fps = clip.fps_f64();
    for (name, parts) in [
        (
            "1.90 then scope",
            vec![(&wide, 0..n / 2), (&scope, n / 2..n)],
        ),
        (
            "scope then 1.90",
            vec![(&scope, 0..n / 2), (&wide, n / 2..n)],
        ),
        (
            "scope with a 4:3 insert",
            vec![
                (&scope, 0..n / 3),
                (&academy, n / 3..2 * n / 3),
                (&scope, 2 * n / 3..n),
            ],
        ),
    ] {
        let mut title = scope.clone();
        for (part, frames) in &parts {
            title.frames[frames.clone()].clone_from_slice(&part.frames[frames.clone()]);
        }
        let (marked, _) = support::mark_clip(&title, &key(), RECIPIENT, &EmbedConfig::default());
        for (part, frames) in &parts {
            let (rows, cols) = bars_of(part);
            for i in frames.clone() {
                let (source, copy) = (&title.frames[i].y, &marked.frames[i].y);
                for bar in [
                    ndarray::s![..rows, ..],
                    ndarray::s![height - rows.., ..],
                    ndarray::s![.., ..cols],
                    ndarray::s![.., width - cols..],
                ] {
                    assert_eq!(
                        source.slice(bar),
                        copy.slice(bar),
                        "{name}: frame {i} marked in its bars"
                    );
                }
            }
        }
        // Each part alone, a quarter second inside its edges (the 4:3 insert: 2.8 s).
        for (k, (_, frames)) in parts.iter().enumerate() {
            let start = frames.start as f64 / fps + 0.25;
            let seconds = frames.len() as f64 / fps - 0.5;
            check(
                &format!("{name}, part {}", k + 1),
                &marked,
                Attack::h264(26).excerpt(start, seconds),
            );
        }
        check(&format!("{name}, whole"), &marked, Attack::h264(26));
    }
}
