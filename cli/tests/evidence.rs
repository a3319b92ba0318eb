//! Signed evidence: `keygen --evidence`, `detect --report --sign`, `verify-report` (the
//! signature, the leak, the ledger head, and the detection re-run from the leak file), and
//! `ledger head --sign` / `ledger verify --head` against every kind of tampering. One leak
//! for the whole binary: the suite is near its time budget.

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::OnceLock;

use filigree_testsupport::ledger_file::{append, lines, rehash_from, write_lines};
use serde_json::Value;

use common::*;

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A marked copy for recipient 7 in a ledger, its leak (4 s of the 360p clip re-encoded at
/// CRF 28),
/// and a signed report of its detection with the ledger.
struct Case {
    _dir: tempfile::TempDir,
    dir: PathBuf,
    key: PathBuf,
    evidence_key: PathBuf,
    fingerprint: String,
    ledger: PathBuf,
    leak: PathBuf,
    report: PathBuf,
}

fn case() -> &'static Case {
    static CASE: OnceLock<Case> = OnceLock::new();
    CASE.get_or_init(|| {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().to_path_buf();
        let key = new_key(&dir, "studio.key");
        let evidence_key = dir.join("evidence.key");
        let out = filigree(&["keygen", "--evidence", "--out", p(&evidence_key)]);
        assert!(out.status.success(), "{}", stderr(&out));
        let said = stdout(&out);
        let fingerprint = said
            .split_whitespace()
            .skip_while(|w| *w != "fingerprint")
            .nth(1)
            .unwrap()
            .to_string();
        // The secret (the file's second line) is never printed.
        let secret = fs::read_to_string(&evidence_key).unwrap();
        let seed = secret.lines().nth(1).unwrap();
        assert!(
            !said.contains(seed) && !stderr(&out).contains(seed),
            "{said}"
        );
        let ledger = dir.join("screeners.jsonl");
        // The clip's first 4 s: one look reads it all, with the ledger's accusations too.
        let master = dir.join("master.mp4");
        ffmpeg(&[
            "-i",
            p(&testdata("caminandes_360p24_10s.mp4")),
            "-t",
            "4",
            "-c",
            "copy",
            p(&master),
        ]);
        let marked = dir.join("marked.mp4");
        let out = filigree(&[
            "embed",
            "--quiet",
            "--key",
            p(&key),
            "--recipient",
            "7",
            "--label",
            "critic-7@example.org",
            "--ledger",
            p(&ledger),
            "--preset",
            "veryfast",
            p(&master),
            p(&marked),
        ]);
        assert!(out.status.success(), "{}", stderr(&out));
        let leak = dir.join("leak.mp4");
        ffmpeg(&[
            "-i",
            p(&marked),
            "-c:v",
            "libx264",
            "-preset",
            "veryfast",
            "-crf",
            "28",
            p(&leak),
        ]);
        let html = dir.join("case-7.html");
        let out = filigree(&[
            "detect",
            "--quiet",
            "--key",
            p(&key),
            "--ledger",
            p(&ledger),
            "--report",
            p(&html),
            "--sign",
            p(&evidence_key),
            p(&leak),
        ]);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        Case {
            _dir: tmp,
            dir,
            key,
            evidence_key,
            fingerprint,
            ledger,
            leak,
            report: html.with_extension("json"),
        }
    })
}

fn facts(path: &Path) -> Value {
    serde_json::from_str(&fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn a_signed_report_verifies_and_reproduces_from_the_leak_file() {
    let case = case();
    let facts = facts(&case.report);
    let signature = &facts["signature"];
    assert_eq!(signature["algorithm"], "Ed25519");
    assert_eq!(signature["key_fingerprint"], case.fingerprint.as_str());
    assert_eq!(facts["reproduce"]["options"]["full"], false);
    assert_eq!(facts["reproduce"]["ledger_head"]["entries"], 1, "{facts:#}");
    let page = fs::read_to_string(case.report.with_extension("html")).unwrap();
    assert!(page.contains(&format!(
        "Signed with evidence key <b>{}</b>",
        case.fingerprint
    )));
    assert!(page.contains("filigree verify-report case-7.json --leak leak.mp4 --key KEY.key"));
    // Neither key's secret is anywhere in the report.
    for secret in [&case.key, &case.evidence_key] {
        let text = fs::read_to_string(secret).unwrap();
        let hex = text.lines().nth(1).unwrap();
        assert!(!page.contains(hex) && !fs::read_to_string(&case.report).unwrap().contains(hex));
    }

    // The signature alone.
    let out = filigree(&["verify-report", p(&case.report)]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    assert!(stdout(&out).starts_with("OK      signature: valid"));

    // Everything, as on another machine: the leak, the key and the ledger, with the ledger
    // grown since (the re-run uses it up to the head the report was checked against).
    let ledger = case.dir.join("grown.jsonl");
    fs::copy(&case.ledger, &ledger).unwrap();
    append(&ledger, 8, "critic-8@example.org");
    let out = filigree(&[
        "verify-report",
        p(&case.report),
        "--leak",
        p(&case.leak),
        "--key",
        p(&case.key),
        "--ledger",
        p(&ledger),
        "--signer",
        &case.fingerprint,
    ]);
    let said = stdout(&out);
    println!("{said}");
    assert_eq!(out.status.code(), Some(0), "{said}{}", stderr(&out));
    for expected in [
        "OK      signature: valid",
        "OK      leak: ",
        "OK      ledger: ",
        "OK      answer: re-run gives the same answer: recipient 7",
        "OK      probabilities: re-run gives the same probabilities",
    ] {
        assert!(said.contains(expected), "{expected}: {said}");
    }

    // Another file as the leak, a report edited after signing, another signer expected.
    let other = filigree(&[
        "verify-report",
        p(&case.report),
        "--leak",
        p(&case.ledger),
        "--key",
        p(&case.key),
    ]);
    assert_eq!(other.status.code(), Some(1));
    assert!(
        stdout(&other).contains("FAILED  leak:"),
        "{}",
        stdout(&other)
    );
    let mut edited = facts.clone();
    edited["verdict"]["recipient"] = 8.into();
    let edited_path = case.dir.join("edited.json");
    fs::write(&edited_path, serde_json::to_string_pretty(&edited).unwrap()).unwrap();
    let out = filigree(&["verify-report", p(&edited_path)]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stdout(&out).contains("FAILED  signature: invalid"),
        "{}",
        stdout(&out)
    );
    let out = filigree(&[
        "verify-report",
        p(&case.report),
        "--signer",
        "0123456789abcdef",
    ]);
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn bad_input_is_one_line_and_exit_2() {
    let case = case();
    let not_a_report = case.dir.join("not-a-report.json");
    fs::write(&not_a_report, "{\"hello\": 1}").unwrap();
    let garbage = case.dir.join("garbage.json");
    fs::write(&garbage, [0xff, 0xfe, 0x00, 0x01]).unwrap();
    let missing = case.dir.join("missing.json");
    let html = case.dir.join("never.html");
    let runs: Vec<Vec<&str>> = vec![
        vec!["verify-report", p(&not_a_report)],
        vec!["verify-report", p(&garbage)],
        vec!["verify-report", p(&missing)],
        // A marking key is not an evidence key.
        vec![
            "detect",
            "--key",
            p(&case.key),
            "--report",
            p(&html),
            "--sign",
            p(&case.key),
            p(&case.leak),
        ],
        vec!["ledger", "head", p(&case.ledger), "--sign", p(&case.key)],
        vec!["ledger", "verify", p(&case.ledger), "--head", p(&garbage)],
        vec!["ledger", "verify", p(&case.ledger), "--head", "{not json"],
    ];
    for args in runs {
        let out = filigree(&args);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
        assert!(err.starts_with("filigree: error: "), "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{args:?}: {err}");
    }
    assert!(!html.exists());
}

#[test]
fn ledger_heads_are_signed_and_every_tamper_case_is_named() {
    let case = case();
    let dir = tempfile::tempdir().unwrap();
    let original = dir.path().join("screeners.jsonl");
    fs::copy(&case.ledger, &original).unwrap();
    for (id, label) in [(8, "Bob"), (9, "Carol"), (10, "Dan")] {
        append(&original, id, label);
    }
    // Before any head is signed: unsigned, and it says so.
    let out = filigree(&["ledger", "verify", p(&original)]);
    assert_eq!(out.status.code(), Some(0));
    assert!(
        stdout(&out).contains("unsigned: no signed head"),
        "{}",
        stdout(&out)
    );

    let out = filigree(&[
        "ledger",
        "head",
        p(&original),
        "--sign",
        p(&case.evidence_key),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let statement = stdout(&out);
    assert_eq!(statement.lines().count(), 1);
    assert!(statement.len() < 1024, "short: {statement}");
    let head: Value = serde_json::from_str(&statement).unwrap();
    assert_eq!(head["entries"], 4);
    assert_eq!(
        head["signature"]["key_fingerprint"],
        case.fingerprint.as_str()
    );
    let statement_file = dir.path().join("head.json");
    fs::write(&statement_file, &statement).unwrap();

    let verify = |ledger: &Path| {
        filigree(&[
            "ledger",
            "verify",
            p(ledger),
            "--head",
            p(&statement_file),
            "--signer",
            &case.fingerprint,
        ])
    };
    let out = verify(&original);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    assert!(
        stdout(&out).contains("OK: the ledger extends it"),
        "{}",
        stdout(&out)
    );
    // The statement given inline works as well as a file.
    let out = filigree(&["ledger", "verify", p(&original), "--head", statement.trim()]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));

    type Tamper = fn(&Path);
    let cases: [(&str, Tamper, &str); 6] = [
        (
            "edit",
            |l| {
                let mut all = lines(l);
                all[1] = all[1].replace("Bob", "Mallory");
                write_lines(l, &all);
            },
            "FAILED: edited:",
        ),
        (
            "delete",
            |l| {
                let mut all = lines(l);
                all.remove(1);
                write_lines(l, &all);
            },
            "FAILED: deleted:",
        ),
        (
            "reorder",
            |l| {
                let mut all = lines(l);
                all.swap(1, 2);
                write_lines(l, &all);
            },
            "FAILED: reordered:",
        ),
        (
            "truncate",
            |l| {
                let mut all = lines(l);
                all.pop();
                write_lines(l, &all);
            },
            "FAILED: truncated:",
        ),
        (
            "rewrite",
            |l| {
                let mut all = lines(l);
                all[1] = all[1].replace("Bob", "Mallory");
                write_lines(l, &all);
                rehash_from(l, 1);
            },
            "FAILED: rewritten:",
        ),
        (
            "new chain",
            |l| {
                fs::remove_file(l).unwrap();
                for (id, label) in [(1, "A"), (2, "B"), (3, "C"), (4, "D"), (5, "E")] {
                    append(l, id, label);
                }
            },
            "FAILED: rewritten:",
        ),
    ];
    for (name, tamper, expected) in cases {
        let copy = dir.path().join(format!("{}.jsonl", name.replace(' ', "-")));
        fs::copy(&original, &copy).unwrap();
        tamper(&copy);
        let out = verify(&copy);
        let said = stdout(&out);
        assert_eq!(out.status.code(), Some(1), "{name}: {said}");
        assert!(said.contains(expected), "{name}: {said}");
    }

    // A forged statement (entry count changed): its signature fails.
    let mut forged = head.clone();
    forged["entries"] = 3.into();
    let out = filigree(&[
        "ledger",
        "verify",
        p(&original),
        "--head",
        &serde_json::to_string(&forged).unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stdout(&out).contains("signature invalid"),
        "{}",
        stdout(&out)
    );

    // Recorded heads sign batches; entries after the last are reported unsigned.
    let out = filigree(&[
        "ledger",
        "head",
        "--record",
        p(&original),
        "--sign",
        p(&case.evidence_key),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    append(&original, 11, "Eve");
    let out = filigree(&["ledger", "verify", p(&original)]);
    let said = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{said}");
    assert!(said.contains("screeners.jsonl.heads line 1"), "{said}");
    assert!(said.contains("unsigned since: entries 5 to 5"), "{said}");
}
