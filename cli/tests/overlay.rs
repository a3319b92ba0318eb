//! `filigree embed --overlay`: the visible overlay on a real clip, and the invisible mark
//! still detected in the same file.

mod common;

use std::path::Path;

use serde_json::Value;

use common::*;

const RECIPIENT: u32 = 1_234_567;

/// First frame's luma, via the system ffmpeg.
fn first_luma(path: &Path) -> Vec<u8> {
    ffmpeg(&[
        "-i",
        p(path),
        "-frames:v",
        "1",
        "-f",
        "rawvideo",
        "-pix_fmt",
        "gray",
        "-",
    ])
}

#[test]
fn embed_with_moving_overlay_shows_text_and_keeps_the_mark_detectable() {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("studio.key");
    std::fs::write(&key, format!("filigree-key-v1\n{}\n", "a7".repeat(32))).unwrap();
    let input = testdata("tos_360p24_10s.mp4");
    let marked = dir.path().join("marked.mp4");
    let out = filigree(&[
        "embed",
        "--quiet",
        "--json",
        "--key",
        p(&key),
        "--recipient",
        &RECIPIENT.to_string(),
        "--label",
        "critic@example.org",
        "--preset",
        "veryfast",
        "--overlay",
        "{label} {session}\\n{timecode}",
        "--overlay-position",
        "moving",
        "--overlay-size",
        "0.06",
        "--overlay-color",
        "ffd700",
        "--overlay-style",
        "shadow",
        "--session",
        "5e55",
        p(&input),
        p(&marked),
    ]);
    assert!(
        out.status.success(),
        "embed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let summary: Value = serde_json::from_slice(&out.stdout).expect("json summary");
    assert_eq!(summary["session"], "5e55");

    // The overlay is visible: the first frame differs far more than the mark alone would.
    let (before, after) = (first_luma(&input), first_luma(&marked));
    let changed = before
        .iter()
        .zip(&after)
        .filter(|(a, b)| a.abs_diff(**b) > 40)
        .count();
    assert!(changed > 300, "only {changed} pixels changed visibly");

    let out = filigree(&["detect", "--json", "--key", p(&key), p(&marked)]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "detect: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let detection: Value = serde_json::from_slice(&out.stdout).expect("json detection");
    assert_eq!(detection["recipient"], RECIPIENT);
    assert!(detection["false_positive_probability"].as_f64().unwrap() <= 1e-9);
}

#[test]
fn bad_overlay_options_fail_cleanly_with_nothing_written() {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("studio.key");
    std::fs::write(&key, format!("filigree-key-v1\n{}\n", "a7".repeat(32))).unwrap();
    let input = testdata("tos_360p24_10s.mp4");
    let output = dir.path().join("out.mp4");
    for extra in [
        &["--overlay", "{recipent}"][..],
        &["--overlay", "x", "--overlay-color", "red"],
        &["--overlay", "x", "--overlay-position", "middle"],
        &["--overlay", "x", "--overlay-opacity", "2"],
    ] {
        let mut args = vec!["embed", "--key", p(&key), "--recipient", "1"];
        args.extend_from_slice(extra);
        args.extend([p(&input), p(&output)]);
        let out = filigree(&args);
        assert_eq!(out.status.code(), Some(2), "{extra:?}");
        assert!(!output.exists(), "{extra:?}: output left behind");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!stderr.trim().is_empty(), "{extra:?}: no message");
    }
}
