//! `filigree detect --ledger` on a leak averaged from two recipients' copies: both accused
//! with their labels, false-accusation probabilities and time ranges, the innocent third
//! not; without the ledger the answer is "a mark is present but no ID could be read", not
//! "no watermark".

mod common;

use common::{ffmpeg, filigree, p, stderr, testdata};
use serde_json::Value;

fn embed(
    dir: &std::path::Path,
    key: &std::path::Path,
    ledger: &std::path::Path,
    id: u32,
) -> String {
    let out_path = dir.join(format!("copy-{id}.mp4"));
    let label = format!("editor-{id}@example.org");
    let out = filigree(&[
        "embed",
        "--quiet",
        "--key",
        p(key),
        "--recipient",
        &id.to_string(),
        "--label",
        &label,
        "--ledger",
        p(ledger),
        "--preset",
        "veryfast",
        p(&testdata("tos_360p24_10s.mp4")),
        p(&out_path),
    ]);
    assert!(out.status.success(), "embed {id}: {}", stderr(&out));
    out_path.to_str().unwrap().to_string()
}

#[test]
fn an_averaged_leak_accuses_both_colluders_with_their_labels_and_not_the_innocent() {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("studio.key");
    std::fs::write(&key, format!("filigree-key-v1\n{}\n", "c0".repeat(32))).unwrap();
    let ledger = dir.path().join("ledger.jsonl");
    let a = embed(dir.path(), &key, &ledger, 11);
    let b = embed(dir.path(), &key, &ledger, 12);
    embed(dir.path(), &key, &ledger, 13);
    let leak = dir.path().join("leak.mp4");
    ffmpeg(&[
        "-i",
        &a,
        "-i",
        &b,
        "-filter_complex",
        "[0:v][1:v]blend=all_mode=average",
        "-c:v",
        "libx264",
        "-crf",
        "26",
        "-preset",
        "veryfast",
        p(&leak),
    ]);

    let out = filigree(&[
        "detect",
        "--quiet",
        "--key",
        p(&key),
        "--json",
        "--ledger",
        p(&ledger),
        p(&leak),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    let accused = json["accused"].as_array().unwrap();
    let mut ids: Vec<u64> = accused
        .iter()
        .map(|a| a["recipient"].as_u64().unwrap())
        .collect();
    ids.sort_unstable();
    assert_eq!(ids, vec![11, 12], "{json}");
    for a in accused {
        let id = a["recipient"].as_u64().unwrap();
        assert_eq!(a["label"], format!("editor-{id}@example.org"));
        assert!(a["false_accusation_probability"].as_f64().unwrap() <= 1e-9);
        assert!(!a["time_ranges"].as_array().unwrap().is_empty());
    }
    assert_eq!(json["mixed"], true, "{json}");
    assert_eq!(json["mark_present"], true, "{json}");

    let out = filigree(&[
        "detect",
        "--quiet",
        "--key",
        p(&key),
        "--ledger",
        p(&ledger),
        p(&leak),
    ]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("3 issued copies and sessions scored, 2 accused"),
        "{text}"
    );
    assert!(
        text.contains("accused: recipient 11 (editor-11@example.org)"),
        "{text}"
    );
    assert!(!text.contains("recipient 13"), "{text}");

    // Without the ledger nothing is accused, and the answer is not "no watermark".
    let out = filigree(&["detect", "--quiet", "--key", p(&key), p(&leak)]);
    let text = String::from_utf8_lossy(&out.stdout);
    if out.status.code() == Some(1) {
        assert!(text.contains("a watermark is present"), "{text}");
    } else {
        assert!(text.contains("recipient 1"), "{text}");
    }
}
