//! A ledger file filled with plain entries and edited line by line, as someone tampering
//! with it would.

use std::fs;
use std::path::Path;

use filigree::ledger::{self, LedgerEntry, NewEntry};

/// Appends an entry for `recipient` labelled `label` (a fixed key fingerprint, no file
/// hashes): what tamper tests need of an issued copy.
pub fn append(path: &Path, recipient: u64, label: &str) {
    let entry = NewEntry {
        recipient,
        label: Some(label),
        key_fingerprint: "0123456789abcdef",
        input_sha256: ledger::UNHASHED_STREAM,
        output_sha256: ledger::UNHASHED_STREAM,
        session: None,
    };
    ledger::append(path, &entry).unwrap_or_else(|e| panic!("append to {}: {e}", path.display()));
}

/// The ledger's lines.
pub fn lines(path: &Path) -> Vec<String> {
    fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
        .lines()
        .map(str::to_string)
        .collect()
}

/// Replaces the ledger with `lines`, one per line.
pub fn write_lines(path: &Path, lines: &[String]) {
    fs::write(path, lines.join("\n") + "\n")
        .unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
}

/// Recomputes every entry's `seq`, `prev_hash` and `hash` from entry `from` on: what
/// someone rewriting the file consistently would do.
pub fn rehash_from(path: &Path, from: usize) {
    let mut entries: Vec<LedgerEntry> = lines(path)
        .iter()
        .map(|l| serde_json::from_str(l).expect("a ledger entry"))
        .collect();
    for i in from..entries.len() {
        entries[i].prev_hash = if i == 0 {
            ledger::GENESIS_HASH.to_string()
        } else {
            entries[i - 1].hash.clone()
        };
        entries[i].seq = i as u64 + 1;
        entries[i].hash = entries[i].compute_hash();
    }
    let text: Vec<String> = entries
        .iter()
        .map(|e| serde_json::to_string(e).expect("JSON"))
        .collect();
    write_lines(path, &text);
}
