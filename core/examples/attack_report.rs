//! Marks a real clip, runs the attack list of the robustness suite on it with real codecs
//! (Debian's ffmpeg), detects after each attack and prints a table:
//! attack -> recovered ID, false-positive probability, sync strength, frames used.
//!
//!     cargo run --release -p filigree --example attack_report -- [CLIP] [RECIPIENT] [STRENGTH]

#[path = "../tests/support/mod.rs"]
mod support;

use std::time::Instant;

use filigree::metrics::{QualityStats, psnr, ssim};
use filigree::{Detector, EmbedConfig, Embedder, Key};
use support::{Attack, Clip};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let clip_path = args
        .first()
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| support::testdata("tos_360p24_10s.mp4"));
    let recipient: u32 = args.get(1).map(|s| s.parse()).transpose()?.unwrap_or(42);
    let strength: f32 = args.get(2).map(|s| s.parse()).transpose()?.unwrap_or(1.0);

    let started = Instant::now();
    let key = Key::generate()?;
    let original = support::decode(&clip_path, None);
    println!(
        "clip {} ({}x{}, {} frames), recipient {recipient}, strength {strength}, key {}",
        clip_path.display(),
        original.width,
        original.height,
        original.frames.len(),
        key.fingerprint()
    );

    let mut embedder = Embedder::new(
        &key,
        recipient,
        original.width,
        original.height,
        &EmbedConfig { strength },
    )?;
    let mut quality = QualityStats::default();
    let marked = support::with_luma(&original, |i, luma| {
        embedder.mark(luma.view_mut(), 8).expect("mark");
        let reference = original.frames[i].y.view();
        quality.add(psnr(reference, luma.view(), 8), ssim(reference, luma.view(), 8));
    });
    println!(
        "fidelity: luma PSNR mean {:.2} dB (min {:.2}), SSIM mean {:.4} (min {:.4})",
        quality.mean_psnr(),
        quality.min_psnr(),
        quality.mean_ssim(),
        quality.min_ssim()
    );

    println!("\n| attack | recovered | FP probability | sync z | magnification | frames |");
    println!("|---|---|---|---|---|---|");
    let mut all_exact = true;
    for attack in attack_list(&original) {
        let attacked = support::attack(&marked, &attack);
        let detection = detect(&attacked, &key);
        let exact = detection.recipient == Some(recipient);
        all_exact &= exact;
        println!(
            "| {} | {} | {} | {:.1} | {:.3} | {} |",
            attack.name,
            match detection.recipient {
                Some(id) if exact => format!("{id} (exact)"),
                Some(id) => format!("{id} (WRONG)"),
                None => "none".into(),
            },
            detection
                .false_positive_probability
                .map_or("-".into(), |p| format!("{p:.1e}")),
            detection.sync_z,
            detection.magnification,
            detection.frames_used
        );
    }
    let unmarked = detect(&original, &key);
    println!(
        "\nunmarked original: {} (sync z {:.1}, p {:.2})",
        unmarked.recipient.map_or("no watermark".into(), |id| format!("recipient {id}")),
        unmarked.sync_z,
        unmarked.sync_p_value
    );
    println!("total {:.1} s", started.elapsed().as_secs_f64());
    if !all_exact {
        return Err("some attacks did not recover the exact ID".into());
    }
    Ok(())
}

fn detect(clip: &Clip, key: &Key) -> filigree::Detection {
    let mut detector = Detector::new();
    for frame in &clip.frames {
        detector.add_luma(frame.y.view(), 8).expect("detector accepts frame");
    }
    detector.detect(key)
}

/// The core issue's attack list, scaled to the clip's frame rate and duration.
fn attack_list(clip: &Clip) -> Vec<Attack> {
    let middle = (clip.duration_s() / 2.0 - 1.5).max(0.0);
    vec![
        Attack::h264(23),
        Attack::h264(28),
        Attack::h264(32),
        Attack::h265(28),
        Attack::h264(28).filter("scale=640:360"),
        Attack::h264(26)
            .filter("crop=trunc(iw*0.9/2)*2:trunc(ih*0.9/2)*2:iw*0.07:ih*0.03")
            .named("crop 10% off-centre + h264 crf26"),
        Attack::h264(26)
            .filter("scale=trunc(iw*0.75/2)*2:-2,pad=trunc(iw/0.75/2)*2:trunc(ih/0.75/2)*2:(ow-iw)/2:(oh-ih)/2")
            .named("letterbox+pillarbox 75% + h264 crf26"),
        Attack::h264(26)
            .filter("eq=brightness=0.1:contrast=1.2:gamma=0.8")
            .named("brightness+contrast+gamma + h264 crf26"),
        Attack::h264(26).fps(30),
        Attack::h264(26).excerpt(middle, 3.0).named("3 s excerpt + h264 crf26"),
        Attack::h264(30)
            .filter("crop=trunc(iw*0.95/2)*2:trunc(ih*0.95/2)*2:iw*0.02:ih*0.04,scale=854:480,eq=brightness=0.06")
            .named("crop 5% + 854x480 + brightness + h264 crf30"),
    ]
}
