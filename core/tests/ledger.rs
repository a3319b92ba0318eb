//! The embedding ledger: round trips, tamper detection at the right line and kind, locking
//! under concurrent appends from threads and processes, and bounded reading of hostile files.

use std::fs;
use std::path::{Path, PathBuf};

use filigree::ledger::{
    self, GENESIS_HASH, LedgerEntry, MAX_FILE_BYTES, MAX_LINE_BYTES, NewEntry, ProblemKind,
    VerifyReport,
};
use filigree::{Error, LedgerError, digest};
use filigree_testsupport::ledger_file::{lines, write_lines};
use serde_json::Value;

const FINGERPRINT: &str = "0123456789abcdef";
const INPUT: &str = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
const OUTPUT: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

fn new_entry(recipient: u64, label: Option<&str>) -> NewEntry<'_> {
    NewEntry {
        recipient,
        label,
        key_fingerprint: FINGERPRINT,
        input_sha256: INPUT,
        output_sha256: OUTPUT,
        session: None,
    }
}

/// A ledger with entries for recipients 1, 2, 3 labelled Alice, Bob, Carol.
fn three_entries(dir: &tempfile::TempDir) -> PathBuf {
    let path = dir.path().join("ledger.jsonl");
    for (id, name) in [(1, "Alice"), (2, "Bob"), (3, "Carol")] {
        ledger::append(&path, &new_entry(id, Some(name))).unwrap();
    }
    path
}

/// Edits one field of line `index` (0-based) as JSON, keeping everything else, hash included.
fn edit_field(path: &Path, index: usize, field: &str, value: Value) {
    let mut all = lines(path);
    let mut entry: Value = serde_json::from_str(&all[index]).unwrap();
    entry[field] = value;
    all[index] = serde_json::to_string(&entry).unwrap();
    write_lines(path, &all);
}

fn assert_problem(report: &VerifyReport, line: usize, seq: Option<u64>, kind: ProblemKind) {
    let problem = report
        .problem
        .as_ref()
        .unwrap_or_else(|| panic!("expected a {kind:?} problem, got {report:?}"));
    assert_eq!(
        (problem.line, problem.seq, problem.kind),
        (line, seq, kind),
        "{problem}"
    );
    assert!(!problem.message.is_empty());
}

/// The message of a ledger error (a refused entry, a damaged chain or an oversized file).
fn ledger_reason(err: Error) -> String {
    match err {
        Error::Ledger(
            ledger @ (LedgerError::Entry { .. }
            | LedgerError::Damaged { .. }
            | LedgerError::TooLarge { .. }),
        ) => ledger.to_string(),
        other => panic!("expected a ledger error, got {other:?}"),
    }
}

#[test]
fn append_three_and_read_back() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ledger.jsonl");
    let mut appended = Vec::new();
    for (id, label) in [
        (7, Some("Alice")),
        (8, None),
        (u64::MAX, Some("Zoë \"Z\" \\")),
    ] {
        appended.push(ledger::append(&path, &new_entry(id, label)).unwrap());
    }
    let entries = ledger::read(&path).unwrap();
    assert_eq!(entries, appended);
    assert_eq!(lines(&path).len(), 3);

    for (i, entry) in entries.iter().enumerate() {
        assert_eq!(entry.seq, i as u64 + 1);
        assert_eq!(entry.key_fingerprint, FINGERPRINT);
        assert_eq!(entry.input_sha256, INPUT);
        assert_eq!(entry.output_sha256, OUTPUT);
        assert_eq!(entry.hash, entry.compute_hash());
        // "2026-11-23T19:00:00Z"
        assert_eq!(entry.time.len(), 20, "{}", entry.time);
        assert!(entry.time.ends_with('Z'));
        humantime::parse_rfc3339(&entry.time).unwrap();
    }
    assert_eq!(entries[0].prev_hash, GENESIS_HASH);
    assert_eq!(entries[1].prev_hash, entries[0].hash);
    assert_eq!(entries[2].prev_hash, entries[1].hash);
    assert_eq!(entries[1].label, None);
    assert_eq!(entries[2].recipient, u64::MAX);
    assert_eq!(entries[2].label.as_deref(), Some("Zoë \"Z\" \\"));
}

#[test]
fn canonical_hash_encoding_is_pinned() {
    let entry = LedgerEntry {
        seq: 1,
        time: "2026-11-23T19:00:00Z".into(),
        recipient: 42,
        label: Some("Zoë \"Z\"".into()),
        key_fingerprint: FINGERPRINT.into(),
        input_sha256: INPUT.into(),
        output_sha256: OUTPUT.into(),
        session: None,
        prev_hash: GENESIS_HASH.into(),
        hash: String::new(),
    };
    let canonical = format!(
        r#"{{"seq":1,"time":"2026-11-23T19:00:00Z","recipient":42,"label":"Zoë \"Z\"","key_fingerprint":"{FINGERPRINT}","input_sha256":"{INPUT}","output_sha256":"{OUTPUT}","prev_hash":"{GENESIS_HASH}"}}"#
    );
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("canonical");
    fs::write(&file, canonical.as_bytes()).unwrap();
    assert_eq!(entry.compute_hash(), digest::sha256_file(&file).unwrap());

    let unlabelled = LedgerEntry {
        label: None,
        ..entry
    };
    let canonical = canonical.replace(r#""Zoë \"Z\"""#, "null");
    fs::write(&file, canonical.as_bytes()).unwrap();
    assert_eq!(
        unlabelled.compute_hash(),
        digest::sha256_file(&file).unwrap()
    );
}

#[test]
fn verify_ok_reports_count_and_head_hash() {
    let dir = tempfile::tempdir().unwrap();
    let path = three_entries(&dir);
    let report = ledger::verify(&path).unwrap();
    let last = ledger::read(&path).unwrap().pop().unwrap();
    assert!(report.is_ok(), "{report:?}");
    assert_eq!(report.entries, 3);
    assert_eq!(report.head_hash, Some(last.hash));
}

#[test]
fn changed_label_is_altered() {
    let dir = tempfile::tempdir().unwrap();
    let path = three_entries(&dir);
    let head = ledger::verify(&path).unwrap().head_hash;
    edit_field(&path, 1, "label", "Mallory".into());
    let report = ledger::verify(&path).unwrap();
    assert_problem(&report, 2, Some(2), ProblemKind::Altered);
    // Only the verified prefix counts.
    assert_eq!(report.entries, 1);
    assert_ne!(report.head_hash, head);
}

#[test]
fn changed_recipient_keeping_hash_is_altered() {
    let dir = tempfile::tempdir().unwrap();
    let path = three_entries(&dir);
    edit_field(&path, 2, "recipient", 99.into());
    assert_problem(
        &ledger::verify(&path).unwrap(),
        3,
        Some(3),
        ProblemKind::Altered,
    );
}

#[test]
fn deleted_middle_line_is_removed() {
    let dir = tempfile::tempdir().unwrap();
    let path = three_entries(&dir);
    let mut all = lines(&path);
    all.remove(1);
    write_lines(&path, &all);
    assert_problem(
        &ledger::verify(&path).unwrap(),
        2,
        Some(3),
        ProblemKind::Removed,
    );
}

#[test]
fn deleted_first_line_is_removed() {
    let dir = tempfile::tempdir().unwrap();
    let path = three_entries(&dir);
    let mut all = lines(&path);
    all.remove(0);
    write_lines(&path, &all);
    let report = ledger::verify(&path).unwrap();
    assert_problem(&report, 1, Some(2), ProblemKind::Removed);
    assert_eq!((report.entries, report.head_hash), (0, None));
}

#[test]
fn swapped_lines_are_reordered() {
    let dir = tempfile::tempdir().unwrap();
    let path = three_entries(&dir);
    let original = lines(&path);

    let mut all = original.clone();
    all.swap(1, 2);
    write_lines(&path, &all);
    assert_problem(
        &ledger::verify(&path).unwrap(),
        2,
        Some(3),
        ProblemKind::Reordered,
    );

    let mut all = original.clone();
    all.swap(0, 1);
    write_lines(&path, &all);
    assert_problem(
        &ledger::verify(&path).unwrap(),
        1,
        Some(2),
        ProblemKind::Reordered,
    );

    // Seq going backwards.
    let mut all = original;
    all.push(all[0].clone());
    write_lines(&path, &all);
    assert_problem(
        &ledger::verify(&path).unwrap(),
        4,
        Some(1),
        ProblemKind::Reordered,
    );
}

#[test]
fn duplicated_line_is_inserted() {
    let dir = tempfile::tempdir().unwrap();
    let path = three_entries(&dir);
    let mut all = lines(&path);
    all.insert(2, all[1].clone());
    write_lines(&path, &all);
    assert_problem(
        &ledger::verify(&path).unwrap(),
        3,
        Some(2),
        ProblemKind::Inserted,
    );
}

fn forged(seq: u64, prev_hash: &str) -> String {
    let mut entry = LedgerEntry {
        seq,
        time: "2026-11-23T19:00:00Z".into(),
        recipient: 666,
        label: Some("Mallory".into()),
        key_fingerprint: FINGERPRINT.into(),
        input_sha256: INPUT.into(),
        output_sha256: OUTPUT.into(),
        session: None,
        prev_hash: prev_hash.into(),
        hash: String::new(),
    };
    entry.hash = entry.compute_hash();
    serde_json::to_string(&entry).unwrap()
}

#[test]
fn forged_line_with_wrong_prev_is_inserted() {
    let dir = tempfile::tempdir().unwrap();
    let path = three_entries(&dir);
    let original = lines(&path);
    let wrong_prev = "ab".repeat(32);

    // In the middle, numbered to fit.
    let mut all = original.clone();
    all.insert(1, forged(2, &wrong_prev));
    write_lines(&path, &all);
    assert_problem(
        &ledger::verify(&path).unwrap(),
        2,
        Some(2),
        ProblemKind::Inserted,
    );

    // At the end, numbered to fit.
    let mut all = original.clone();
    all.push(forged(4, &wrong_prev));
    write_lines(&path, &all);
    assert_problem(
        &ledger::verify(&path).unwrap(),
        4,
        Some(4),
        ProblemKind::Inserted,
    );

    // As the first entry, not linking to genesis.
    let mut all = vec![forged(1, &wrong_prev)];
    all.extend(original.into_iter().skip(1));
    write_lines(&path, &all);
    assert_problem(
        &ledger::verify(&path).unwrap(),
        1,
        Some(1),
        ProblemKind::Inserted,
    );
}

#[test]
fn garbage_line_is_malformed() {
    let dir = tempfile::tempdir().unwrap();
    let path = three_entries(&dir);
    let original = lines(&path);
    let cases = [
        "this is not json".to_string(),
        "{}".to_string(),
        original[1].replacen('{', r#"{"extra":1,"#, 1),
        original[1].replace(INPUT, &INPUT.to_uppercase()),
    ];
    for garbage in cases {
        let mut all = original.clone();
        all[1] = garbage.clone();
        write_lines(&path, &all);
        let report = ledger::verify(&path).unwrap();
        assert_problem(&report, 2, None, ProblemKind::Malformed);
        let reason = ledger_reason(ledger::read(&path).unwrap_err());
        assert!(reason.contains("line 2"), "{garbage}: {reason}");
    }

    // Invalid UTF-8.
    let mut bytes = fs::read(&path).unwrap();
    bytes.splice(0..0, b"\xff\xfe\n".iter().copied());
    fs::write(&path, bytes).unwrap();
    assert_problem(
        &ledger::verify(&path).unwrap(),
        1,
        None,
        ProblemKind::Malformed,
    );
}

#[test]
fn whitespace_and_spelling_changes_still_verify() {
    let dir = tempfile::tempdir().unwrap();
    let path = three_entries(&dir);
    let before = ledger::verify(&path).unwrap();
    let mut all = lines(&path);
    // Reformat line 2 with spaces everywhere, on one line.
    let value: Value = serde_json::from_str(&all[1]).unwrap();
    all[1] = format!(
        "  {}  ",
        serde_json::to_string_pretty(&value)
            .unwrap()
            .replace('\n', " \t ")
    );
    // Spell a character of line 3's label as a unicode escape, end it with CRLF.
    all[2] = all[2].replace("\"Carol\"", "\"\\u0043arol\"") + "\r";
    // Blank lines around.
    all.insert(0, String::new());
    all.push("   ".into());
    write_lines(&path, &all);

    let after = ledger::verify(&path).unwrap();
    assert!(after.is_ok(), "{after:?}");
    assert_eq!(after.entries, 3);
    assert_eq!(after.head_hash, before.head_hash);
    assert_eq!(
        ledger::read(&path).unwrap()[2].label.as_deref(),
        Some("Carol")
    );

    // And the ledger can still be extended.
    let next = ledger::append(&path, &new_entry(4, None)).unwrap();
    assert_eq!(next.seq, 4);
    assert_eq!(Some(next.prev_hash), before.head_hash);
    assert!(ledger::verify(&path).unwrap().is_ok());
}

#[test]
fn missing_final_newline() {
    let dir = tempfile::tempdir().unwrap();
    let path = three_entries(&dir);
    let text = fs::read_to_string(&path).unwrap();

    // Complete entry without a newline: accepted, and append starts a new line.
    fs::write(&path, text.trim_end()).unwrap();
    assert!(ledger::verify(&path).unwrap().is_ok());
    ledger::append(&path, &new_entry(4, None)).unwrap();
    let report = ledger::verify(&path).unwrap();
    assert!(report.is_ok(), "{report:?}");
    assert_eq!(report.entries, 4);

    // Half-written entry: malformed, and append refuses.
    fs::write(&path, &text[..text.len() - 20]).unwrap();
    let report = ledger::verify(&path).unwrap();
    assert_problem(&report, 3, None, ProblemKind::Malformed);
    assert!(report.problem.unwrap().message.contains("no newline"));
    assert!(ledger::append(&path, &new_entry(4, None)).is_err());
}

#[test]
fn append_refuses_a_tampered_ledger() {
    let dir = tempfile::tempdir().unwrap();
    let path = three_entries(&dir);
    edit_field(&path, 0, "label", "Mallory".into());
    let before = fs::read(&path).unwrap();
    let reason = ledger_reason(ledger::append(&path, &new_entry(4, None)).unwrap_err());
    assert!(reason.contains("line 1"), "{reason}");
    assert!(reason.contains("altered"), "{reason}");
    assert_eq!(fs::read(&path).unwrap(), before);
}

#[test]
fn append_rejects_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ledger.jsonl");
    let long_label = "x".repeat(ledger::MAX_LABEL_BYTES + 1);
    let bad = [
        NewEntry {
            input_sha256: "abc",
            ..new_entry(1, None)
        },
        NewEntry {
            output_sha256: &INPUT.to_uppercase(),
            ..new_entry(1, None)
        },
        NewEntry {
            key_fingerprint: "",
            ..new_entry(1, None)
        },
        // A raw key in hex, not a fingerprint.
        NewEntry {
            key_fingerprint: INPUT,
            ..new_entry(1, None)
        },
        new_entry(1, Some("two\nlines")),
        new_entry(1, Some(&long_label)),
    ];
    for entry in bad {
        ledger_reason(ledger::append(&path, &entry).unwrap_err());
    }
    assert!(!path.exists());
}

#[test]
fn concurrent_appends_from_threads() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ledger.jsonl");
    std::thread::scope(|s| {
        for t in 0..8u64 {
            let path = &path;
            s.spawn(move || {
                for i in 0..25 {
                    ledger::append(path, &new_entry(t * 100 + i, None)).unwrap();
                }
            });
        }
    });
    check_concurrent_result(&path, 200);
}

fn check_concurrent_result(path: &Path, count: usize) {
    let entries = ledger::read(path).unwrap();
    assert_eq!(entries.len(), count);
    let seqs: Vec<u64> = entries.iter().map(|e| e.seq).collect();
    assert_eq!(seqs, (1..=count as u64).collect::<Vec<_>>());
    let mut recipients: Vec<u64> = entries.iter().map(|e| e.recipient).collect();
    recipients.sort_unstable();
    recipients.dedup();
    assert_eq!(recipients.len(), count, "an append was lost or duplicated");
    let report = ledger::verify(path).unwrap();
    assert!(report.is_ok(), "{report:?}");
    assert_eq!(report.entries, count);
}

const CHILD_ENV: &str = "FILIGREE_LEDGER_TEST_CHILD";

/// Runs only as a child of `concurrent_appends_from_processes`, which names it with
/// `--ignored --exact` and says in [`CHILD_ENV`] which ledger to append to.
#[test]
#[ignore = "a child process of concurrent_appends_from_processes"]
fn child_process_appender() {
    let spec = std::env::var(CHILD_ENV)
        .unwrap_or_else(|_| panic!("{CHILD_ENV} not set: run concurrent_appends_from_processes"));
    let (id, path) = spec.split_once(':').unwrap();
    let id: u64 = id.parse().unwrap();
    for i in 0..25 {
        ledger::append(Path::new(path), &new_entry(id * 100 + i, None)).unwrap();
    }
}

#[test]
fn concurrent_appends_from_processes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ledger.jsonl");
    let exe = std::env::current_exe().unwrap();
    let children: Vec<_> = (0..4)
        .map(|id| {
            std::process::Command::new(&exe)
                .args([
                    "--ignored",
                    "--exact",
                    "child_process_appender",
                    "--test-threads=1",
                ])
                .env(CHILD_ENV, format!("{id}:{}", path.display()))
                .stdout(std::process::Stdio::null())
                .spawn()
                .unwrap()
        })
        .collect();
    // This process appends at the same time.
    for i in 0..25 {
        ledger::append(&path, &new_entry(9900 + i, None)).unwrap();
    }
    for mut child in children {
        assert!(child.wait().unwrap().success());
    }
    check_concurrent_result(&path, 125);
}

#[cfg(unix)]
#[test]
fn new_ledger_is_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let path = three_entries(&dir);
    let mode = fs::metadata(&path).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "mode {mode:o}");
}

#[test]
fn overlong_line_is_a_clean_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = three_entries(&dir);
    let mut all = lines(&path);
    all.insert(1, "x".repeat(1 << 20));
    write_lines(&path, &all);

    let reason = ledger_reason(ledger::read(&path).unwrap_err());
    assert!(reason.contains("line 2"), "{reason}");
    assert!(reason.contains(&MAX_LINE_BYTES.to_string()), "{reason}");
    let report = ledger::verify(&path).unwrap();
    assert_problem(&report, 2, None, ProblemKind::Malformed);
    assert_eq!(report.entries, 1);
    assert!(ledger::append(&path, &new_entry(4, None)).is_err());

    // Without a newline at all.
    fs::write(&path, "y".repeat(1 << 20)).unwrap();
    assert!(ledger::read(&path).is_err());
}

#[test]
fn oversized_file_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ledger.jsonl");
    // Sparse: costs no disk space.
    fs::File::create(&path)
        .unwrap()
        .set_len(MAX_FILE_BYTES + 1)
        .unwrap();
    let reason = ledger_reason(ledger::read(&path).unwrap_err());
    assert!(reason.contains("larger than"), "{reason}");
    ledger_reason(ledger::verify(&path).unwrap_err());
    ledger_reason(ledger::append(&path, &new_entry(1, None)).unwrap_err());
}

#[test]
fn empty_file_has_no_entries() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ledger.jsonl");
    fs::write(&path, "").unwrap();
    assert_eq!(ledger::read(&path).unwrap(), vec![]);
    let report = ledger::verify(&path).unwrap();
    assert_eq!(
        report,
        VerifyReport {
            entries: 0,
            head_hash: None,
            problem: None
        }
    );
    let first = ledger::append(&path, &new_entry(1, None)).unwrap();
    assert_eq!((first.seq, first.prev_hash.as_str()), (1, GENESIS_HASH));
}

#[test]
fn missing_file_is_an_io_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("absent.jsonl");
    assert!(matches!(ledger::read(&path), Err(Error::Io { .. })));
    assert!(matches!(ledger::verify(&path), Err(Error::Io { .. })));
}

#[test]
fn find_recipient_returns_the_latest_entry_under_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let path = three_entries(&dir);
    ledger::append(&path, &new_entry(2, Some("Bob, second copy"))).unwrap();
    let other_key = NewEntry {
        key_fingerprint: "fedcba9876543210",
        ..new_entry(2, Some("Other key"))
    };
    ledger::append(&path, &other_key).unwrap();

    let found = ledger::find_recipient(&path, 2, FINGERPRINT)
        .unwrap()
        .unwrap();
    assert_eq!(
        (found.seq, found.label.as_deref()),
        (4, Some("Bob, second copy"))
    );
    let found = ledger::find_recipient(&path, 2, "fedcba9876543210")
        .unwrap()
        .unwrap();
    assert_eq!(found.label.as_deref(), Some("Other key"));
    assert_eq!(ledger::find_recipient(&path, 9, FINGERPRINT).unwrap(), None);
    assert_eq!(ledger::find_recipient(&path, 1, "0000").unwrap(), None);

    // A damaged ledger is not trusted to name anyone.
    edit_field(&path, 0, "label", "Mallory".into());
    ledger_reason(ledger::find_recipient(&path, 1, FINGERPRINT).unwrap_err());
}

#[test]
fn a_two_step_session_entry_is_hashed_with_its_session_and_found_apart_from_recipients() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ledger.jsonl");
    ledger::append(&path, &new_entry(42, Some("recipient 42"))).unwrap();
    let session = ledger::SessionEntry {
        title_id: 7,
        expires: Some("2026-12-02T10:00:00Z".into()),
        live: None,
    };
    let entry = ledger::append(
        &path,
        &NewEntry {
            session: Some(&session),
            ..new_entry(42, Some("viewer of session 42"))
        },
    )
    .unwrap();
    assert!(ledger::verify(&path).unwrap().is_ok());
    let line = std::fs::read_to_string(&path).unwrap();
    assert!(line.contains(r#""session":{"title_id":7,"expires":"2026-12-02T10:00:00Z"}"#));
    // The session is part of the hashed encoding: changing it breaks the chain.
    let mut altered = entry.clone();
    altered.session.as_mut().unwrap().title_id = 8;
    assert_ne!(altered.compute_hash(), entry.hash);
    let found = ledger::find_session(&path, 7, 42, FINGERPRINT)
        .unwrap()
        .unwrap();
    assert_eq!(found.label.as_deref(), Some("viewer of session 42"));
    assert_eq!(
        ledger::find_session(&path, 8, 42, FINGERPRINT).unwrap(),
        None
    );
    let recipient = ledger::find_recipient(&path, 42, FINGERPRINT)
        .unwrap()
        .unwrap();
    assert_eq!(recipient.label.as_deref(), Some("recipient 42"));
    let bad_expiry = ledger::SessionEntry {
        title_id: 7,
        expires: Some("tomorrow".into()),
        live: None,
    };
    let refused = ledger::append(
        &path,
        &NewEntry {
            session: Some(&bad_expiry),
            ..new_entry(43, None)
        },
    );
    assert!(refused.is_err());
}
