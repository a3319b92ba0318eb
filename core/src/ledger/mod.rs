//! The embedding ledger: a tamper-evident, append-only record of who got which recipient ID.
//!
//! A leak is only useful if the recovered ID can be tied to a person, and only convincing if
//! that record cannot be quietly edited afterwards. The ledger is a JSON Lines file (UTF-8,
//! one [`LedgerEntry`] per line) whose entries form a **hash chain**: each entry stores the
//! SHA-256 of its own contents (`hash`) and the `hash` of the entry before it (`prev_hash`;
//! the first entry uses [`GENESIS_HASH`], 64 zeros). Editing, deleting, inserting or
//! reordering entries therefore breaks the chain at a specific line, which [`verify`] reports.
//!
//! The file reveals recipients, so [`append`] creates it readable and writable by its owner
//! only (mode 0600 on Unix). It stores the key's public fingerprint ([`crate::Key::fingerprint`]),
//! never the key.
//!
//! # Canonical hash encoding
//!
//! `hash` is the lowercase hex SHA-256 of the UTF-8 bytes of the compact JSON object holding
//! every other field, in this order, with no whitespace at all:
//!
//! ```text
//! {"seq":1,"time":"2026-11-23T19:00:00Z","recipient":42,"label":"Alice","key_fingerprint":"…","input_sha256":"…","output_sha256":"…","prev_hash":"000…000"}
//! ```
//!
//! - `seq` and `recipient` are plain decimal integers; `label` is `null` when absent.
//! - A two-step session's entry (its `recipient` is the 32-bit session ID) has a `session`
//!   object after `output_sha256`: `{"title_id":7,"expires":"2026-12-02T10:00:00Z"}`
//!   (`expires` `null` when the session does not expire). A live session's object ends
//!   with `"live":{"overlay":"…","position":"…"}`. Entries without these encode exactly as
//!   before, so older ledgers verify unchanged.
//! - Strings are escaped as `serde_json` writes them: `"` as `\"`, `\` as `\\`, control
//!   characters U+0000–U+001F as `\b \f \n \r \t` or `\u00xx` (lowercase hex); everything else,
//!   non-ASCII included, as literal UTF-8. (Labels may not contain control characters, so in
//!   practice only `"` and `\` are escaped.)
//!
//! [`verify`] recomputes this encoding from the *parsed* values, so how a line is spelled
//! (whitespace between tokens, `\u0041` instead of `A`, a CRLF line ending, blank lines) does
//! not matter, while any change to a value does. [`LedgerEntry::compute_hash`] exposes it.
//!
//! # What verification can and cannot detect
//!
//! [`verify`] checks every line in order and reports the **first** problem:
//!
//! 1. [`ProblemKind::Malformed`]: the line is not valid UTF-8 or JSON, has missing, unknown or
//!    duplicate fields, a field in the wrong format, or is longer than [`MAX_LINE_BYTES`]. A
//!    last line without a newline is accepted if it parses (an editor dropped the final newline)
//!    and is malformed otherwise (an interrupted write).
//! 2. [`ProblemKind::Altered`]: `hash` does not match the entry's values: it was edited.
//! 3. `seq` must be one more than the previous entry's (1 for the first):
//!    - it jumps ahead: [`ProblemKind::Removed`], unless a skipped number appears further
//!      down the file, then [`ProblemKind::Reordered`];
//!    - it repeats or goes backwards: [`ProblemKind::Reordered`], except an exact copy of the
//!      previous entry, which is [`ProblemKind::Inserted`].
//! 4. `prev_hash` must equal the previous entry's `hash` ([`GENESIS_HASH`] for the first):
//!    otherwise [`ProblemKind::Inserted`]. The entry is internally consistent and correctly
//!    numbered but does not link to its predecessor: a forged entry was inserted here, or
//!    entries before it were removed or changed and this one was renumbered and rehashed.
//!
//! The kinds are diagnoses of the first inconsistency; whatever the kind, nothing from that
//! line on can be trusted.
//!
//! What no self-contained chain can detect: someone who rewrites the file and recomputes every
//! hash from the edit onwards, and **truncation** (removing the last entries leaves a valid
//! chain). Both are caught only by comparing with something stored elsewhere: keep the entry
//! count and head hash ([`VerifyReport::head_hash`], the `hash` of the last entry, also
//! returned by [`append`]) somewhere the ledger's editors cannot write (a ticket, an email, a
//! second machine), and check that the ledger still contains that entry.
//!
//! # Concurrency and limits
//!
//! [`append`] holds an exclusive advisory lock ([`File::lock`]) while it verifies the chain,
//! writes one line and syncs it, so concurrent appends from threads or processes never lose or
//! interleave entries. Readers take a shared lock and so never see a half-written line. Lines
//! over [`MAX_LINE_BYTES`] and files over [`MAX_FILE_BYTES`] are refused, so a hostile or
//! corrupted file cannot exhaust memory.
//!
//! [`File::lock`]: std::fs::File::lock

mod chain;
mod entry;
mod file;

pub use chain::{GENESIS_HASH, LedgerProblem, ProblemKind, VerifyReport};
pub use entry::{
    LedgerEntry, LiveRender, MAX_FINGERPRINT_BYTES, MAX_LABEL_BYTES, NewEntry, SessionEntry,
    UNHASHED_STREAM,
};
pub use file::{
    MAX_FILE_BYTES, MAX_LINE_BYTES, append, find_recipient, find_session, issued_under,
    latest_issue, read, trusted_entries, verified_prefix, verify,
};
