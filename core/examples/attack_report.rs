//! Marks a real clip, runs the attack list of the robustness suite on it with real codecs
//! (Debian's ffmpeg), detects after each attack and prints a table:
//! attack -> recovered ID, false-positive probability, sync strength, frames used.
//!
//!     cargo run --release -p filigree --example attack_report -- [CLIP] [RECIPIENT] [STRENGTH] [MASTER] [SUITE]
//!
//! MASTER is `full` (the clip as it is, the default), `scope` (2.39:1 letterboxed inside the
//! frame), `flat` (1.85:1) or `academy` (4:3 pillarboxed); SUITE is `core` (the default),
//! `geometry` (mirrors, zoom, rotation, aspect, screen recording, camcorder) or `all`.

#[path = "../tests/support/mod.rs"]
mod support;

use std::time::Instant;

use filigree::{EmbedConfig, Key};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let clip_path = args
        .first()
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| support::testdata("tos_360p24_10s.mp4"));
    let recipient: u32 = args.get(1).map(|s| s.parse()).transpose()?.unwrap_or(42);
    let strength: f32 = args.get(2).map(|s| s.parse()).transpose()?.unwrap_or(1.0);
    let master = args.get(3).map_or("full", String::as_str);
    let suite = args.get(4).map_or("core", String::as_str);

    let started = Instant::now();
    let key = Key::generate()?;
    let clip = support::decode(&clip_path, None);
    let original = match master {
        "full" => clip,
        "scope" => support::masters::scope(&clip),
        "flat" => support::masters::flat(&clip),
        "academy" => support::masters::academy(&clip),
        other => return Err(format!("unknown master {other:?}").into()),
    };
    println!(
        "clip {} as a {master} master ({}x{}, {} frames), recipient {recipient}, strength {strength}, key {}",
        clip_path.display(),
        original.width,
        original.height,
        original.frames.len(),
        key.fingerprint()
    );

    let (marked, quality) =
        support::mark_clip(&original, &key, recipient, &EmbedConfig { strength });
    println!(
        "fidelity: luma PSNR mean {:.2} dB (min {:.2}), SSIM mean {:.4} (min {:.4})",
        quality.mean_psnr(),
        quality.min_psnr(),
        quality.mean_ssim(),
        quality.min_ssim()
    );

    let mut all_exact = true;
    let attacks = match suite {
        "core" => support::suite::all(&original),
        "geometry" => support::geometry::all(),
        "all" => [support::suite::all(&original), support::geometry::all()].concat(),
        other => return Err(format!("unknown suite {other:?}").into()),
    };
    println!(
        "\n| attack | recovered | FP probability | sync z | magnification | aspect | rotation | reflection | frames |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    for attack in attacks {
        // The report's figures are at the encoder's default effort; the tests use veryfast.
        let attack = attack.preset("medium");
        let attacked = support::attack(&marked, &attack);
        let detection = support::accumulate(&attacked).detect(&key);
        let exact = detection.recipient == Some(recipient);
        all_exact &= exact;
        println!(
            "| {} | {} | {} | {:.1} | {:.3} | {:.3} | {:.2}° | {} | {} |",
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
            detection.aspect,
            detection.rotation_degrees,
            detection.reflection.name(),
            detection.frames_used
        );
    }
    let unmarked = support::accumulate(&original).detect(&key);
    println!(
        "\nunmarked original: {} (sync z {:.1}, p {:.2})",
        unmarked
            .recipient
            .map_or("no watermark".into(), |id| format!("recipient {id}")),
        unmarked.sync_z,
        unmarked.sync_p_value
    );
    println!("total {:.1} s", started.elapsed().as_secs_f64());
    if !all_exact {
        return Err("some attacks did not recover the exact ID".into());
    }
    Ok(())
}
