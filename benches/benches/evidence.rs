//! What signing an evidence report costs (the goal: under 10 ms per report).
//!
//! - `evidence/sign_report_10s`, `_2h`: RFC 8785 canonicalisation, SHA-256 and an Ed25519
//!   signature over the facts of a report of a 10 s leak and of a 2-hour leak (7200
//!   one-second windows, the largest part of the facts), i.e. `filigree_report::sign_facts`.
//! - `evidence/verify_report_signature_10s`, `_2h`: checking that signature.
//!
//! Run with `cargo bench -p filigree-benches --bench evidence`.

use criterion::{Criterion, criterion_group, criterion_main};
use filigree::evidence::{EvidenceKey, sign_object, verify_object};
use serde_json::{Value, json};

/// Facts shaped like a report's, with `windows` one-second windows.
fn facts(windows: usize) -> Value {
    json!({
        "report": "filigree evidence report v1",
        "generated": "2026-12-07T16:00:00Z",
        "tool": {"name": "filigree", "version": "0.1.0",
                 "command_line": ["filigree", "detect", "--key", "studio.key", "--report", "case.html", "leak.mp4"]},
        "suspect": {"file_name": "leak.mp4", "size_bytes": 1_234_567_890u64,
                    "sha256": "ab".repeat(32), "container": "mov,mp4,m4a,3gp,3g2,mj2",
                    "duration_seconds": 7200.0, "streams": ["h264 1280x720", "aac"]},
        "key_fingerprint": "0123456789abcdef",
        "verdict": {"text": "recipient 42 found", "recipient": 42,
                    "false_positive_probability": 1.5e-50, "mark_present": true,
                    "mixed_with": [], "accused": []},
        "bound": {"keys_tried": 1, "looks": 12, "sync_hypotheses": 11_010_048u64,
                  "sync_z": 20.04, "sync_p_value": 3.1e-80},
        "windows": (0..windows).map(|i| json!({
            "start_seconds": i as f64 * 1.0000000000000002, "end_seconds": (i + 1) as f64 / 3.0,
            // Full-precision values, as detection writes them.
            "sync_z": 4.0 + 9.0 * (i as f64 * std::f64::consts::FRAC_1_SQRT_2).sin().abs(), "recipient": 42,
        })).collect::<Vec<_>>(),
    })
}

fn bench(c: &mut Criterion) {
    let key = EvidenceKey::from_seed([42; 32]);
    let mut group = c.benchmark_group("evidence");
    // A 10 s leak's report (10 windows) and a 2-hour leak's (7200).
    for (name, windows) in [("10s", 10), ("2h", 7200)] {
        let mut object = facts(windows).as_object().unwrap().clone();
        group.bench_function(format!("sign_report_{name}"), |b| {
            // Re-signing replaces the signature block: the same work every time.
            b.iter(|| sign_object(&mut object, &key).unwrap())
        });
        let signed = Value::Object(object);
        group.bench_function(format!("verify_report_signature_{name}"), |b| {
            b.iter(|| assert!(verify_object(&signed, None).is_valid()))
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
