//! Signed ledger heads: every way of tampering with a ledger after its head was signed
//! (edit, delete, reorder, insert, truncate, a consistent rewrite, a whole new chain) is
//! found and named; a forged or re-signed statement is refused; an old ledger without
//! statements verifies as unsigned.

use std::fs;
use std::path::{Path, PathBuf};

use filigree::evidence::{
    self, EvidenceKey, HeadOutcome, LedgerAudit, SignatureCheck, heads_path, parse_head,
};
use filigree::ledger::ProblemKind;
use filigree_testsupport::ledger_file::{append, lines, rehash_from, write_lines};
use serde_json::Value;

/// A ledger of four entries and the statement of its head, signed by `key`.
fn signed_ledger(dir: &tempfile::TempDir, key: &EvidenceKey) -> (PathBuf, String) {
    let path = dir.path().join("screeners.jsonl");
    for (id, name) in [(1, "Alice"), (2, "Bob"), (3, "Carol"), (4, "Dan")] {
        append(&path, id, name);
    }
    let statement = evidence::head_statement(&path, key).unwrap();
    (path, serde_json::to_string(&statement).unwrap())
}

fn audit(path: &Path, statement: &str) -> LedgerAudit {
    evidence::audit(path, &[("head".into(), statement.into())], None).unwrap()
}

fn outcome(path: &Path, statement: &str) -> HeadOutcome {
    let audit = audit(path, statement);
    assert!(audit.heads[0].statement.signature.is_valid());
    audit.heads[0].outcome.clone()
}

#[test]
fn an_untouched_ledger_extends_its_signed_head_and_later_appends_do_not_break_it() {
    let dir = tempfile::tempdir().unwrap();
    let key = EvidenceKey::generate().unwrap();
    let (path, statement) = signed_ledger(&dir, &key);
    let audit = audit(&path, &statement);
    assert!(audit.is_ok(), "{audit:?}");
    assert_eq!(audit.signed_entries, 4);
    assert_eq!(
        audit.heads[0].statement.signature.signer(),
        Some(key.fingerprint().as_str())
    );
    append(&path, 5, "Eve");
    assert_eq!(
        outcome(&path, &statement),
        HeadOutcome::Extends { later: 1 }
    );
    // The statement carries the public key, never the secret.
    let seed_free = !statement.contains(&format!("{key:?}")) && statement.len() < 1024;
    assert!(seed_free, "{statement}");
}

#[test]
fn every_tamper_case_is_found_and_named() {
    let key = EvidenceKey::generate().unwrap();
    type Tamper = fn(&Path);
    let cases: [(&str, Tamper, &str); 7] = [
        (
            "edit",
            |p| {
                let mut all = lines(p);
                all[1] = all[1].replace("Bob", "Mallory");
                write_lines(p, &all);
            },
            "edited",
        ),
        (
            "delete",
            |p| {
                let mut all = lines(p);
                all.remove(1);
                write_lines(p, &all);
            },
            "deleted",
        ),
        (
            "reorder",
            |p| {
                let mut all = lines(p);
                all.swap(1, 2);
                write_lines(p, &all);
            },
            "reordered",
        ),
        (
            "insert",
            |p| {
                let mut all = lines(p);
                let copy = all[1].clone();
                all.insert(1, copy);
                write_lines(p, &all);
            },
            "inserted",
        ),
        (
            "truncate",
            |p| {
                let mut all = lines(p);
                all.pop();
                write_lines(p, &all);
            },
            "truncated",
        ),
        (
            "rewrite: an edit with the chain rehashed after it",
            |p| {
                let mut all = lines(p);
                all[1] = all[1].replace("Bob", "Mallory");
                write_lines(p, &all);
                rehash_from(p, 1);
            },
            "rewritten",
        ),
        (
            "a whole new chain of the same length",
            |p| {
                fs::remove_file(p).unwrap();
                for (id, name) in [(9, "Mallory"), (2, "Bob"), (3, "Carol"), (4, "Dan")] {
                    append(p, id, name);
                }
            },
            "rewritten",
        ),
    ];
    for (case, tamper, word) in cases {
        let dir = tempfile::tempdir().unwrap();
        let (path, statement) = signed_ledger(&dir, &key);
        tamper(&path);
        let audit = audit(&path, &statement);
        assert!(!audit.is_ok(), "{case}: not found");
        let outcome = &audit.heads[0].outcome;
        let message = outcome.to_string();
        assert!(message.starts_with(word), "{case}: {message}");
        match (word, outcome) {
            ("edited", HeadOutcome::BrokenBefore(p)) => assert_eq!(p.kind, ProblemKind::Altered),
            ("deleted", HeadOutcome::BrokenBefore(p)) => assert_eq!(p.kind, ProblemKind::Removed),
            ("reordered", HeadOutcome::BrokenBefore(p)) => {
                assert_eq!(p.kind, ProblemKind::Reordered)
            }
            ("inserted", HeadOutcome::BrokenBefore(p)) => {
                assert_eq!(p.kind, ProblemKind::Inserted)
            }
            ("truncated", HeadOutcome::Truncated { entries: 3 }) => {}
            ("rewritten", HeadOutcome::Rewritten { seq: 4, .. }) => {
                // The chain itself verifies: only the signed head shows the rewrite.
                assert!(audit.chain.is_ok(), "{case}");
            }
            _ => panic!("{case}: unexpected {outcome:?}"),
        }
    }
}

#[test]
fn forged_or_re_signed_statements_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let key = EvidenceKey::generate().unwrap();
    let (path, statement) = signed_ledger(&dir, &key);
    let mut forged: Value = serde_json::from_str(&statement).unwrap();
    forged["entries"] = 3.into();
    let forged = serde_json::to_string(&forged).unwrap();
    let audit = audit(&path, &forged);
    assert!(matches!(
        audit.heads[0].statement.signature,
        SignatureCheck::Invalid(_)
    ));
    assert!(!audit.is_ok());

    // Someone who rewrote the ledger and signed its new head with a key of their own: the
    // signature holds, but not by the studio's key.
    let other = EvidenceKey::generate().unwrap();
    let theirs = serde_json::to_string(&evidence::head_statement(&path, &other).unwrap()).unwrap();
    let studio = key.fingerprint();
    let pinned = evidence::audit(&path, &[("theirs".into(), theirs)], Some(&studio)).unwrap();
    assert!(!pinned.is_ok());
    assert!(parse_head("{\"statement\": \"something else\"}", None).is_err());
    assert!(parse_head("not json", None).is_err());
}

#[test]
fn recorded_heads_sign_batches_and_old_ledgers_say_unsigned() {
    let dir = tempfile::tempdir().unwrap();
    let key = EvidenceKey::generate().unwrap();
    let path = dir.path().join("old.jsonl");
    append(&path, 1, "Alice");
    let unsigned = evidence::audit(&path, &[], None).unwrap();
    assert!(unsigned.is_ok() && unsigned.heads.is_empty() && unsigned.signed_entries == 0);

    evidence::record_head(&path, &key).unwrap();
    append(&path, 2, "Bob");
    evidence::record_head(&path, &key).unwrap();
    append(&path, 3, "Carol");
    let audit = evidence::audit(&path, &[], None).unwrap();
    assert!(audit.is_ok(), "{audit:?}");
    assert_eq!(audit.heads.len(), 2);
    assert_eq!(audit.signed_entries, 2, "entry 3 is not signed yet");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = fs::metadata(heads_path(&path))
            .unwrap()
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(mode, 0o600);
    }
    // The first batch rewritten: both recorded heads catch it.
    let mut all = lines(&path);
    all[0] = all[0].replace("Alice", "Mallory");
    write_lines(&path, &all);
    rehash_from(&path, 0);
    let audit = evidence::audit(&path, &[], None).unwrap();
    assert!(audit.heads.iter().all(|h| !h.is_ok()), "{audit:?}");
    // A damaged ledger's head is never signed.
    assert!(evidence::record_head(&path, &key).is_ok());
    let mut all = lines(&path);
    all[1] = all[1].replace("Bob", "Mallory");
    write_lines(&path, &all);
    assert!(evidence::head_statement(&path, &key).is_err());
}
