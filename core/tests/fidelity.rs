//! Imperceptibility, measured: luma PSNR and SSIM of the marked copy at default strength on
//! every test clip, and temporal stability of the mark (no flicker on a static scene).

mod support;

use filigree::{EmbedConfig, Embedder, Key};
use ndarray::Array2;

fn key() -> Key {
    Key::from_bytes(*b"filigree fidelity suite key 0001")
}

#[test]
fn default_strength_keeps_luma_psnr_above_42_db_and_ssim_above_0_985_on_every_clip() {
    for clip in [
        "tos_360p24_10s.mp4",
        "caminandes_360p24_10s.mp4",
        "bbb_720p25_5s.mp4",
    ] {
        let original = support::decode(&support::testdata(clip), None);
        let (_, quality) = support::mark_clip(&original, &key(), 12345, &EmbedConfig::default());
        println!(
            "{clip}: {} frames, luma PSNR mean {:.2} dB (min {:.2}), SSIM mean {:.4} (min {:.4})",
            quality.frames(),
            quality.mean_psnr(),
            quality.min_psnr(),
            quality.mean_ssim(),
            quality.min_ssim()
        );
        assert!(
            quality.mean_psnr() >= 42.0,
            "{clip}: PSNR {}",
            quality.mean_psnr()
        );
        assert!(
            quality.min_psnr() >= 40.0,
            "{clip}: worst frame PSNR {}",
            quality.min_psnr()
        );
        assert!(
            quality.mean_ssim() >= 0.985,
            "{clip}: SSIM {}",
            quality.mean_ssim()
        );
        assert!(
            quality.min_ssim() >= 0.98,
            "{clip}: worst frame SSIM {}",
            quality.min_ssim()
        );
    }
}

#[test]
fn strength_trades_fidelity_as_documented() {
    let original = support::decode(&support::testdata("tos_360p24_10s.mp4"), Some(24));
    let at = |strength| {
        support::mark_clip(&original, &key(), 1, &EmbedConfig { strength })
            .1
            .mean_psnr()
    };
    let (half, default, double) = (at(0.5), at(1.0), at(2.0));
    println!("PSNR at strength 0.5 / 1 / 2: {half:.2} / {default:.2} / {double:.2} dB");
    // Twice the amplitude is 6 dB, less a little where clipping at black/white bites.
    assert!(
        (default - double - 6.0).abs() < 0.7,
        "{default} vs {double}"
    );
    assert!((half - default - 6.0).abs() < 0.7, "{half} vs {default}");
}

/// A static shot with sensor grain: the content barely changes, so neither must the mark.
/// Without temporal smoothing the grain would make the mask, and so the mark, shimmer.
#[test]
fn mark_is_temporally_stable_on_a_static_grainy_scene() {
    let clip = support::decode(&support::testdata("tos_360p24_10s.mp4"), Some(1));
    let base = clip.frames[0].y.mapv(|v| v as f32);
    let mut embedder =
        Embedder::new(&key(), 9, clip.width, clip.height, &EmbedConfig::default()).unwrap();
    let mut state = 0x2545_f491_u32;
    let mut marks: Vec<Array2<f32>> = Vec::new();
    for _ in 0..24 {
        let grainy = base.mapv(|v| {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            (v + (state % 5) as f32 - 2.0).clamp(0.0, 255.0).round() as u8
        });
        let mut marked = grainy.clone();
        embedder.mark(marked.view_mut(), 8).unwrap();
        marks.push(&marked.mapv(|v| v as f32) - &grainy.mapv(|v| v as f32));
    }
    // After the mask settles, compare consecutive marks: their change must be a small part of
    // the mark itself (rounding to integers alone accounts for some of it).
    let settled = &marks[8..];
    let energy: f32 = settled.iter().map(|m| m.mapv(|v| v * v).sum()).sum::<f32>();
    let change: f32 = settled
        .windows(2)
        .map(|w| (&w[1] - &w[0]).mapv(|v| v * v).sum())
        .sum::<f32>();
    let ratio = (change / energy).sqrt();
    println!(
        "frame-to-frame change of the mark: {:.1} % of its RMS",
        100.0 * ratio
    );
    assert!(ratio < 0.07, "mark flickers: {ratio}");
}
