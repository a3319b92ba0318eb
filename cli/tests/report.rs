//! `detect --report`: the evidence report's facts, and the page rendered in headless
//! Chromium (the one scripts/setup-debian installs), checked from its screenshot.

mod common;

use std::path::Path;
use std::process::Command;

use serde_json::Value;

use common::*;

/// Pixels of `image` within 12 code values of `colour` on every channel.
fn pixels_like(image: &image::RgbImage, colour: [u8; 3]) -> usize {
    image
        .pixels()
        .filter(|p| (0..3).all(|c| p.0[c].abs_diff(colour[c]) <= 12))
        .count()
}

#[test]
fn the_evidence_report_holds_the_facts_and_renders_in_chromium() {
    let dir = tempfile::tempdir().unwrap();
    let key = new_key(dir.path(), "studio.key");
    let ledger = dir.path().join("ledger.jsonl");
    let marked = dir.path().join("marked.mp4");
    let out = filigree(&[
        "embed",
        "--quiet",
        "--key",
        p(&key),
        "--recipient",
        "77",
        "--label",
        "critic-77@example.org",
        "--ledger",
        p(&ledger),
        p(&testdata("caminandes_360p24_10s.mp4")),
        p(&marked),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let leak = dir.path().join("leak.mp4");
    ffmpeg(&[
        "-i",
        p(&marked),
        "-vf",
        "scale=1280:720",
        "-c:v",
        "libx264",
        "-crf",
        "28",
        p(&leak),
    ]);
    let html = dir.path().join("case-77.html");
    let out = filigree(&[
        "detect",
        "--quiet",
        "--json",
        "--full",
        "--key",
        p(&key),
        "--ledger",
        p(&ledger),
        "--report",
        p(&html),
        p(&leak),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["recipient"], 77);
    let facts: Value =
        serde_json::from_str(&std::fs::read_to_string(html.with_extension("json")).unwrap())
            .unwrap();
    println!("{facts:#}");
    assert_eq!(facts["verdict"]["recipient"], 77);
    assert_eq!(facts["verdict"]["label"], "critic-77@example.org");
    assert_eq!(facts["suspect"]["file_name"], "leak.mp4");
    assert_eq!(
        facts["suspect"]["size_bytes"].as_u64(),
        Some(std::fs::metadata(&leak).unwrap().len())
    );
    assert_eq!(facts["suspect"]["sha256"].as_str().map(str::len), Some(64));
    assert_eq!(facts["key_fingerprint"], json["key_fingerprint"]);
    assert_eq!(facts["bound"]["looks"], 1);
    assert!(facts["bound"]["sync_hypotheses"].as_u64().unwrap() > 1_000_000);
    assert!(
        facts["tool"]["command_line"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a == "--report")
    );
    // The ledger's chain is checked and its entry is the marked copy's.
    assert_eq!(facts["ledger"]["chain_verified"], true);
    let entry = &facts["ledger"]["entry"];
    assert_eq!(entry["recipient"], 77);
    assert_eq!(
        entry["output_sha256"].as_str().unwrap(),
        String::from_utf8_lossy(
            &Command::new("sha256sum")
                .arg(&marked)
                .output()
                .unwrap()
                .stdout
        )
        .split_whitespace()
        .next()
        .unwrap()
    );
    // A 1 s window per second of the 10 s leak, each carrying the mark.
    let windows = facts["windows"].as_array().unwrap();
    assert!(windows.len() >= 9, "{}", windows.len());
    let carrying = windows
        .iter()
        .filter(|w| w["sync_z"].as_f64().unwrap() > 4.0)
        .count();
    assert!(
        carrying * 10 >= windows.len() * 8,
        "{carrying} of {}",
        windows.len()
    );

    // Self-contained: plots inline, stills inline, nothing fetched.
    let page = std::fs::read_to_string(&html).unwrap();
    assert_eq!(page.matches("<svg").count(), 3);
    assert_eq!(page.matches("src=\"data:image/png;base64,").count(), 3);
    for fetch in ["src=\"http", "href=\"http", "url(http", "<script"] {
        assert!(!page.contains(fetch), "{fetch}");
    }

    let screenshot = Path::new(env!("CARGO_TARGET_TMPDIR")).join("report-screenshot.png");
    let _ = std::fs::remove_file(&screenshot);
    let chromium = Command::new("chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
        ])
        .arg("--window-size=1100,3000")
        .arg(format!("--screenshot={}", screenshot.display()))
        .arg(format!("file://{}", html.display()))
        .output()
        .expect("chromium runs (scripts/setup-debian installs it)");
    assert!(chromium.status.success(), "{}", stderr(&chromium));
    let shot = image::open(&screenshot).unwrap().to_rgb8();
    eprintln!("screenshot: {}", screenshot.display());
    // The verdict box (its red-tinted fill), the red peak and windows in the plots, the
    // stills' many colours: the page rendered, not a blank or an error page.
    assert!(
        pixels_like(&shot, [0xfd, 0xe8, 0xe8]) > 20_000,
        "verdict box"
    );
    assert!(pixels_like(&shot, [255, 0, 0]) > 200, "plot markers");
    let colours: std::collections::HashSet<[u8; 3]> = shot.pixels().map(|p| p.0).collect();
    assert!(colours.len() > 5_000, "{} colours", colours.len());
}
