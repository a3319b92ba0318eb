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

use std::fmt;
use std::fs::{File, OpenOptions};
use std::io::{self, BufRead, BufReader, Read, Seek, SeekFrom, Write};
use std::path::Path;
use std::time::SystemTime;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};

/// `prev_hash` of the first entry: 64 zeros.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Stands in for `input_sha256` / `output_sha256` when the video was a pipe (stdin/stdout):
/// its bytes are gone once streamed, so there is nothing to hash.
pub const UNHASHED_STREAM: &str = "-";

/// Longest accepted line, in bytes, not counting the line ending.
pub const MAX_LINE_BYTES: usize = 64 * 1024;

/// Largest accepted ledger file, in bytes (1 GiB).
pub const MAX_FILE_BYTES: u64 = 1 << 30;

/// Longest accepted label, in bytes of UTF-8.
pub const MAX_LABEL_BYTES: usize = 4096;

/// Longest accepted key fingerprint, in bytes.
pub const MAX_FINGERPRINT_BYTES: usize = 128;

/// One line of the ledger. Field order is the canonical hash order (see the module docs).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LedgerEntry {
    /// Position in the ledger, starting at 1, increasing by one per entry.
    pub seq: u64,
    /// When the entry was appended: UTC, RFC 3339 with whole seconds.
    pub time: String,
    /// The recipient ID embedded in the output.
    pub recipient: u64,
    /// Who the recipient is, if the operator said so.
    pub label: Option<String>,
    /// Public fingerprint of the key used ([`crate::Key::fingerprint`]), never the key.
    pub key_fingerprint: String,
    /// SHA-256 of the unmarked input file, lowercase hex.
    pub input_sha256: String,
    /// SHA-256 of the marked output file, lowercase hex.
    pub output_sha256: String,
    /// Set for a two-step session (see the module docs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session: Option<SessionEntry>,
    /// `hash` of the previous entry, or [`GENESIS_HASH`] for the first.
    pub prev_hash: String,
    /// SHA-256 of the canonical encoding of all the fields above, lowercase hex.
    pub hash: String,
}

/// What a session's entry adds: which title it streams, and until when. For these entries
/// `recipient` is the session ID and `input_sha256` the package's master. A two-step
/// session's `output_sha256` is the SHA-256 of the variant sequence served (one `a`/`b` per
/// position); a live session's is that of its [`LiveRender`] as JSON.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SessionEntry {
    pub title_id: u16,
    /// UTC, RFC 3339 with whole seconds.
    pub expires: Option<String>,
    /// Set for a live session: rendered for this viewer as they watch, every frame with the
    /// visible overlay and the full single-step mark of the session ID (no A/B variants).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub live: Option<LiveRender>,
}

/// How a live session is rendered: its burned-in overlay.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LiveRender {
    /// The overlay template (`{label}`, `{session}`, `{timecode}` …).
    pub overlay: String,
    /// Where it is drawn (`bottom-right`, `moving` …).
    pub position: String,
}

/// The fields covered by `hash`, in canonical order.
#[derive(Serialize)]
struct Canonical<'a> {
    seq: u64,
    time: &'a str,
    recipient: u64,
    label: Option<&'a str>,
    key_fingerprint: &'a str,
    input_sha256: &'a str,
    output_sha256: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    session: Option<&'a SessionEntry>,
    prev_hash: &'a str,
}

impl LedgerEntry {
    /// The two-step title whose A/B variants this entry's session was served; `None` for an
    /// entry whose video carries the single-step mark of `recipient` (a file marked by
    /// `embed`, or a live session).
    pub fn two_step_title(&self) -> Option<u16> {
        self.session
            .as_ref()
            .filter(|s| s.live.is_none())
            .map(|s| s.title_id)
    }

    /// The live session's title and rendering, for a live session's entry.
    pub fn live(&self) -> Option<(u16, &LiveRender)> {
        let session = self.session.as_ref()?;
        Some((session.title_id, session.live.as_ref()?))
    }

    /// The hash this entry's values call for: lowercase hex SHA-256 of the canonical encoding
    /// described in the module docs. Equals `self.hash` for an unaltered entry.
    pub fn compute_hash(&self) -> String {
        let canonical = Canonical {
            seq: self.seq,
            time: &self.time,
            recipient: self.recipient,
            label: self.label.as_deref(),
            key_fingerprint: &self.key_fingerprint,
            input_sha256: &self.input_sha256,
            output_sha256: &self.output_sha256,
            session: self.session.as_ref(),
            prev_hash: &self.prev_hash,
        };
        let bytes = serde_json::to_vec(&canonical).expect("serialising strings and integers");
        hex(&Sha256::digest(&bytes))
    }

    /// Checks the format of every field (not the hash or the chain).
    fn check_fields(&self) -> std::result::Result<(), String> {
        if self.seq == 0 {
            return Err("seq must start at 1".into());
        }
        if humantime::parse_rfc3339(&self.time).is_err() {
            return Err(format!(
                "time {:?} is not an RFC 3339 UTC timestamp",
                self.time
            ));
        }
        if let Some(label) = &self.label {
            check_label(label)?;
        }
        check_fingerprint(&self.key_fingerprint)?;
        check_sha256("input_sha256", &self.input_sha256)?;
        check_sha256("output_sha256", &self.output_sha256)?;
        check_sha256("prev_hash", &self.prev_hash)?;
        if let Some(expires) = self.session.as_ref().and_then(|s| s.expires.as_deref()) {
            check_time("session expiry", expires)?;
        }
        if let Some(live) = self.session.as_ref().and_then(|s| s.live.as_ref()) {
            check_label(&live.overlay)?;
            check_label(&live.position)?;
        }
        check_sha256("hash", &self.hash)
    }
}

/// What [`append`] records: everything but the sequence number, time and hashes.
#[derive(Debug, Clone, Copy)]
pub struct NewEntry<'a> {
    pub recipient: u64,
    /// At most [`MAX_LABEL_BYTES`], no control characters.
    pub label: Option<&'a str>,
    /// [`crate::Key::fingerprint`]. A 64-hex-digit value is refused: that is what a raw key
    /// looks like.
    pub key_fingerprint: &'a str,
    /// Lowercase hex SHA-256, as [`sha256_file`] returns.
    pub input_sha256: &'a str,
    /// Lowercase hex SHA-256, as [`sha256_file`] returns.
    pub output_sha256: &'a str,
    /// Set for a two-step session.
    pub session: Option<&'a SessionEntry>,
}

/// Outcome of [`verify`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyReport {
    /// Entries that verified, i.e. all of them when `problem` is `None`, otherwise those
    /// before the problem line.
    pub entries: usize,
    /// `hash` of the last entry counted in `entries` (`None` when there is none). Store it
    /// elsewhere to detect later truncation or wholesale rewriting.
    pub head_hash: Option<String>,
    /// The first problem found, if any.
    pub problem: Option<LedgerProblem>,
}

impl VerifyReport {
    /// True when the whole file verified.
    pub fn is_ok(&self) -> bool {
        self.problem.is_none()
    }
}

/// Where and how the chain breaks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LedgerProblem {
    /// 1-based line number in the file.
    pub line: usize,
    /// The entry's `seq`, when the line parsed.
    pub seq: Option<u64>,
    pub kind: ProblemKind,
    /// Human-readable explanation.
    pub message: String,
}

impl fmt::Display for LedgerProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}", self.line)?;
        if let Some(seq) = self.seq {
            write!(f, " (seq {seq})")?;
        }
        write!(f, ": {}: {}", self.kind, self.message)
    }
}

/// Diagnosis of a chain break; the rules are in the module docs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProblemKind {
    /// The entry's values do not match its hash.
    Altered,
    /// One or more entries are missing before this one.
    Removed,
    /// Entries are out of order.
    Reordered,
    /// This entry does not belong in the chain here (forged, duplicated, or the chain before it
    /// was rewritten).
    Inserted,
    /// The line is not a well-formed entry.
    Malformed,
}

impl fmt::Display for ProblemKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ProblemKind::Altered => "altered",
            ProblemKind::Removed => "removed",
            ProblemKind::Reordered => "reordered",
            ProblemKind::Inserted => "inserted",
            ProblemKind::Malformed => "malformed",
        })
    }
}

/// Appends an entry for `entry`, creating the ledger (mode 0600) if needed, and returns it.
///
/// Under an exclusive lock it verifies the whole chain and refuses to extend a damaged ledger,
/// then writes one line and syncs it to disk.
pub fn append(path: &Path, entry: &NewEntry) -> Result<LedgerEntry> {
    check_new_entry(entry).map_err(|reason| ledger_error(path, reason))?;
    let file = open_for_append(path)?;
    file.lock().map_err(|source| io_error(path, source))?;
    let result = append_locked(path, &file, entry);
    let unlocked = file.unlock();
    let appended = result?;
    unlocked.map_err(|source| io_error(path, source))?;
    Ok(appended)
}

/// All entries in file order. Parses and checks field formats only; use [`verify`] to check the
/// chain.
///
/// A malformed line, a line over [`MAX_LINE_BYTES`] or a file over [`MAX_FILE_BYTES`] is an
/// [`Error::Ledger`] naming the line.
pub fn read(path: &Path) -> Result<Vec<LedgerEntry>> {
    let file = open_for_reading(path)?;
    let mut entries = Vec::new();
    let scan = scan(path, &file, Check::Parse, |e| entries.push(e))?;
    match scan.problem {
        Some(problem) => Err(ledger_error(path, problem.to_string())),
        None => Ok(entries),
    }
}

/// Checks the hash chain and reports the first problem, if any.
///
/// A readable file always gives `Ok`, with any problem inside the report. `Err` means the file
/// could not be read, or is over [`MAX_FILE_BYTES`].
pub fn verify(path: &Path) -> Result<VerifyReport> {
    let file = open_for_reading(path)?;
    let scan = scan(path, &file, Check::Chain, |_| {})?;
    Ok(scan.report())
}

/// Every entry, in ledger order, after verifying the chain: what lookups and collusion
/// scoring answer from.
///
/// Refuses ([`Error::Ledger`]) to answer from a damaged ledger: a label from an edited ledger
/// could accuse the wrong person.
pub fn trusted_entries(path: &Path) -> Result<Vec<LedgerEntry>> {
    let file = open_for_reading(path)?;
    let mut entries = Vec::new();
    let scan = scan(path, &file, Check::Chain, |e| entries.push(e))?;
    match scan.problem {
        Some(problem) => Err(ledger_error(
            path,
            format!("the ledger is damaged, not trusting it: {problem}"),
        )),
        None => Ok(entries),
    }
}

/// Every entry under the key with fingerprint `key_fingerprint`, in ledger order: the copies
/// and sessions that key issued, which collusion scoring accuses from. Like
/// [`trusted_entries`], never from a damaged ledger.
pub fn issued_under(path: &Path, key_fingerprint: &str) -> Result<Vec<LedgerEntry>> {
    let mut entries = trusted_entries(path)?;
    entries.retain(|e| e.key_fingerprint == key_fingerprint);
    Ok(entries)
}

/// The latest of `entries` that issued `id`: a single-step mark (a copy or a live session)
/// when `title` is `None`, a session of that two-step title otherwise.
pub fn latest_issue(entries: &[LedgerEntry], id: u64, title: Option<u16>) -> Option<&LedgerEntry> {
    entries
        .iter()
        .rfind(|e| e.recipient == id && e.two_step_title() == title)
}

/// The latest single-step entry for `recipient` under the key with fingerprint
/// `key_fingerprint`; like [`issued_under`], never from a damaged ledger.
pub fn find_recipient(
    path: &Path,
    recipient: u64,
    key_fingerprint: &str,
) -> Result<Option<LedgerEntry>> {
    let entries = issued_under(path, key_fingerprint)?;
    Ok(latest_issue(&entries, recipient, None).cloned())
}

/// The latest entry of session `session` of title `title_id` (two-step or live) under the
/// key with fingerprint `key_fingerprint`; like [`issued_under`], never from a damaged ledger.
pub fn find_session(
    path: &Path,
    title_id: u16,
    session: u32,
    key_fingerprint: &str,
) -> Result<Option<LedgerEntry>> {
    let entries = issued_under(path, key_fingerprint)?;
    Ok(entries.into_iter().rfind(|e| {
        e.recipient == session as u64 && e.session.as_ref().is_some_and(|s| s.title_id == title_id)
    }))
}

/// SHA-256 of a file's contents, lowercase hex, read in chunks.
pub fn sha256_file(path: &Path) -> Result<String> {
    let io = |source| io_error(path, source);
    let mut file = File::open(path).map_err(io)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        match file.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => hasher.update(&buf[..n]),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(io(e)),
        }
    }
    Ok(hex(&hasher.finalize()))
}

fn append_locked(path: &Path, file: &File, new: &NewEntry) -> Result<LedgerEntry> {
    let io = |source| io_error(path, source);
    let mut reader = file;
    reader.seek(SeekFrom::Start(0)).map_err(io)?;
    let scan = scan(path, file, Check::Chain, |_| {})?;
    if let Some(problem) = &scan.problem {
        return Err(ledger_error(
            path,
            format!("refusing to append to a damaged ledger: {problem}"),
        ));
    }
    let (seq, prev_hash) = match &scan.head {
        Some((seq, hash)) => (
            seq.checked_add(1)
                .ok_or_else(|| ledger_error(path, "sequence number overflow".into()))?,
            hash.clone(),
        ),
        None => (1, GENESIS_HASH.to_string()),
    };
    let mut entry = LedgerEntry {
        seq,
        time: humantime::format_rfc3339_seconds(SystemTime::now()).to_string(),
        recipient: new.recipient,
        label: new.label.map(str::to_string),
        key_fingerprint: new.key_fingerprint.to_string(),
        input_sha256: new.input_sha256.to_string(),
        output_sha256: new.output_sha256.to_string(),
        session: new.session.cloned(),
        prev_hash,
        hash: String::new(),
    };
    entry.hash = entry.compute_hash();

    let mut line = Vec::with_capacity(512);
    if !scan.ends_with_newline {
        line.push(b'\n');
    }
    serde_json::to_writer(&mut line, &entry).expect("serialising strings and integers");
    if line.len() > MAX_LINE_BYTES {
        return Err(ledger_error(
            path,
            format!("the new entry would exceed {MAX_LINE_BYTES} bytes"),
        ));
    }
    line.push(b'\n');
    if scan.bytes + line.len() as u64 > MAX_FILE_BYTES {
        return Err(ledger_error(
            path,
            format!("the ledger would grow past {MAX_FILE_BYTES} bytes; start a new one"),
        ));
    }
    let mut writer = file;
    if let Err(e) = writer.write_all(&line) {
        // Don't leave half a line behind: it would make the ledger malformed.
        let _ = file.set_len(scan.bytes);
        return Err(io(e));
    }
    file.sync_data().map_err(io)?;
    Ok(entry)
}

/// Opens the ledger for reading and appending, creating it owner-only if it does not exist.
fn open_for_append(path: &Path) -> Result<File> {
    let io = |source| io_error(path, source);
    let mut options = OpenOptions::new();
    options.read(true).append(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    match options.open(path) {
        Ok(file) => {
            sync_parent_dir(path).map_err(io)?;
            Ok(file)
        }
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => OpenOptions::new()
            .read(true)
            .append(true)
            .open(path)
            .map_err(io),
        Err(e) => Err(io(e)),
    }
}

/// Makes a newly created ledger's directory entry durable.
#[cfg(unix)]
fn sync_parent_dir(path: &Path) -> io::Result<()> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    File::open(dir)?.sync_all()
}

#[cfg(not(unix))]
fn sync_parent_dir(_path: &Path) -> io::Result<()> {
    Ok(())
}

/// Opens the ledger read-only under a shared lock (released when the file is dropped), so a
/// concurrent append is never seen half-written.
fn open_for_reading(path: &Path) -> Result<File> {
    let io = |source| io_error(path, source);
    let file = File::open(path).map_err(io)?;
    match file.lock_shared() {
        Ok(()) => {}
        // Some filesystems have no locks; reading unlocked beats not reading at all.
        Err(e) if e.kind() == io::ErrorKind::Unsupported => {}
        Err(e) => return Err(io(e)),
    }
    let len = file.metadata().map_err(io)?.len();
    if len > MAX_FILE_BYTES {
        return Err(too_large(path));
    }
    Ok(file)
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Check {
    /// Parse and check field formats.
    Parse,
    /// Also check hashes and the chain.
    Chain,
}

/// What one pass over the file found.
struct Scan {
    /// Entries that passed the checks.
    entries: usize,
    /// `(seq, hash)` of the last of them.
    head: Option<(u64, String)>,
    problem: Option<LedgerProblem>,
    /// Bytes read: the file's length when the scan got to the end.
    bytes: u64,
    /// Whether the file is empty or ends with a newline.
    ends_with_newline: bool,
}

impl Scan {
    fn report(self) -> VerifyReport {
        VerifyReport {
            entries: self.entries,
            head_hash: self.head.map(|(_, hash)| hash),
            problem: self.problem,
        }
    }
}

/// A skipped-ahead seq whose kind (removed or reordered) depends on the rest of the file.
struct Pending {
    problem: LedgerProblem,
    /// The skipped sequence numbers, `missing.0..missing.1`.
    missing: (u64, u64),
}

/// One pass over the file from its current position: hands each good entry to `visit` and stops
/// at the first problem (reading on only to classify a gap in `seq`).
fn scan(
    path: &Path,
    file: &File,
    check: Check,
    mut visit: impl FnMut(LedgerEntry),
) -> Result<Scan> {
    let mut lines = Lines::new(file);
    let mut result = Scan {
        entries: 0,
        head: None,
        problem: None,
        bytes: 0,
        ends_with_newline: true,
    };
    let mut prev: Option<(usize, LedgerEntry)> = None;
    let mut pending: Option<Pending> = None;

    while let Some(line) = lines.next().map_err(|e| match e {
        LinesError::Io(source) => io_error(path, source),
        LinesError::TooLarge => too_large(path),
    })? {
        if let Some(p) = &pending {
            // Only looking for a skipped seq further down.
            if let Ok(entry) = parse(&line)
                && (p.missing.0..p.missing.1).contains(&entry.seq)
            {
                let mut problem = pending.take().unwrap().problem;
                problem.kind = ProblemKind::Reordered;
                problem.message = format!(
                    "{}; entry {} appears further down, at line {}: entries are out of order",
                    problem.message, entry.seq, line.number
                );
                result.problem = Some(problem);
                break;
            }
            continue;
        }
        if line.is_blank() {
            continue;
        }
        let entry = match parse(&line) {
            Ok(entry) => entry,
            Err(message) => {
                result.problem = Some(LedgerProblem {
                    line: line.number,
                    seq: None,
                    kind: ProblemKind::Malformed,
                    message,
                });
                break;
            }
        };
        if check == Check::Chain {
            match check_link(&entry, line.number, prev.as_ref()) {
                Ok(()) => {}
                Err(Link::Broken(problem)) => {
                    result.problem = Some(problem);
                    break;
                }
                Err(Link::SkippedAhead(p)) => {
                    pending = Some(p);
                    continue;
                }
            }
        }
        result.entries += 1;
        result.head = Some((entry.seq, entry.hash.clone()));
        if check == Check::Chain {
            prev = Some((line.number, entry.clone()));
        }
        visit(entry);
    }
    if let Some(p) = pending {
        result.problem = Some(p.problem);
    }
    result.bytes = lines.bytes;
    result.ends_with_newline = lines.ends_with_newline;
    Ok(result)
}

enum Link {
    Broken(LedgerProblem),
    SkippedAhead(Pending),
}

/// Checks an entry's own hash and its link to the previous good entry.
fn check_link(
    entry: &LedgerEntry,
    line: usize,
    prev: Option<&(usize, LedgerEntry)>,
) -> std::result::Result<(), Link> {
    let problem = |kind, message| LedgerProblem {
        line,
        seq: Some(entry.seq),
        kind,
        message,
    };
    let computed = entry.compute_hash();
    if computed != entry.hash {
        return Err(Link::Broken(problem(
            ProblemKind::Altered,
            format!(
                "the entry's values hash to {computed} but its hash field says {}: it was edited",
                entry.hash
            ),
        )));
    }
    let expected_seq = prev.map_or(1, |(_, p)| p.seq + 1);
    if entry.seq > expected_seq {
        let gap = if entry.seq - expected_seq == 1 {
            format!("entry {expected_seq} is missing")
        } else {
            format!("entries {expected_seq} to {} are missing", entry.seq - 1)
        };
        return Err(Link::SkippedAhead(Pending {
            problem: problem(
                ProblemKind::Removed,
                format!("expected seq {expected_seq}, found {}: {gap}", entry.seq),
            ),
            missing: (expected_seq, entry.seq),
        }));
    }
    if entry.seq < expected_seq {
        let (prev_line, prev_entry) = prev.expect("seq below 1 is rejected when parsing");
        if entry == prev_entry {
            return Err(Link::Broken(problem(
                ProblemKind::Inserted,
                format!("exact copy of the entry on line {prev_line}"),
            )));
        }
        return Err(Link::Broken(problem(
            ProblemKind::Reordered,
            format!(
                "expected seq {expected_seq}, found {}: entries are out of order",
                entry.seq
            ),
        )));
    }
    let expected_prev = prev.map_or(GENESIS_HASH, |(_, p)| p.hash.as_str());
    if entry.prev_hash != expected_prev {
        let what = match prev {
            Some((prev_line, _)) => format!("the hash of the entry on line {prev_line}"),
            None => "the genesis value (64 zeros)".to_string(),
        };
        return Err(Link::Broken(problem(
            ProblemKind::Inserted,
            format!(
                "prev_hash is not {what}: a forged entry was inserted here, or entries before \
                 it were removed or changed and this one renumbered and rehashed"
            ),
        )));
    }
    Ok(())
}

fn parse(line: &Line) -> std::result::Result<LedgerEntry, String> {
    if line.too_long {
        return Err(format!("line is longer than {MAX_LINE_BYTES} bytes"));
    }
    let incomplete = if line.terminated {
        ""
    } else {
        " (the last line has no newline: an interrupted append?)"
    };
    let text =
        std::str::from_utf8(&line.bytes).map_err(|_| format!("not valid UTF-8{incomplete}"))?;
    let entry: LedgerEntry =
        serde_json::from_str(text).map_err(|e| format!("not a ledger entry: {e}{incomplete}"))?;
    entry.check_fields()?;
    Ok(entry)
}

/// One physical line.
struct Line {
    /// 1-based.
    number: usize,
    /// Content without the `\n`; empty when `too_long`.
    bytes: Vec<u8>,
    too_long: bool,
    /// Whether a `\n` ended it (only the last line can lack one).
    terminated: bool,
}

impl Line {
    fn is_blank(&self) -> bool {
        !self.too_long && self.bytes.iter().all(u8::is_ascii_whitespace)
    }
}

enum LinesError {
    Io(io::Error),
    TooLarge,
}

/// Splits a file into lines without ever holding more than [`MAX_LINE_BYTES`] of one.
struct Lines<'a> {
    reader: BufReader<&'a File>,
    number: usize,
    bytes: u64,
    ends_with_newline: bool,
}

impl<'a> Lines<'a> {
    fn new(file: &'a File) -> Self {
        Lines {
            reader: BufReader::with_capacity(1 << 16, file),
            number: 0,
            bytes: 0,
            ends_with_newline: true,
        }
    }

    fn next(&mut self) -> std::result::Result<Option<Line>, LinesError> {
        let mut bytes = Vec::new();
        let mut too_long = false;
        let mut started = false;
        let terminated = loop {
            let available = match self.reader.fill_buf() {
                Ok(buf) => buf,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(LinesError::Io(e)),
            };
            if available.is_empty() {
                if !started {
                    return Ok(None);
                }
                break false;
            }
            started = true;
            let newline = available.iter().position(|&b| b == b'\n');
            let content = &available[..newline.unwrap_or(available.len())];
            if !too_long {
                if bytes.len() + content.len() > MAX_LINE_BYTES {
                    too_long = true;
                    bytes = Vec::new();
                } else {
                    bytes.extend_from_slice(content);
                }
            }
            let used = newline.map_or(available.len(), |i| i + 1);
            self.reader.consume(used);
            self.bytes += used as u64;
            if self.bytes > MAX_FILE_BYTES {
                return Err(LinesError::TooLarge);
            }
            if newline.is_some() {
                break true;
            }
        };
        self.number += 1;
        self.ends_with_newline = terminated;
        Ok(Some(Line {
            number: self.number,
            bytes,
            too_long,
            terminated,
        }))
    }
}

fn check_new_entry(entry: &NewEntry) -> std::result::Result<(), String> {
    if let Some(label) = entry.label {
        check_label(label)?;
    }
    check_fingerprint(entry.key_fingerprint)?;
    if entry.key_fingerprint.len() == 64 && is_lower_hex(entry.key_fingerprint) {
        return Err(
            "key_fingerprint looks like a raw 256-bit key; record Key::fingerprint(), never the key"
                .into(),
        );
    }
    check_sha256("input_sha256", entry.input_sha256)?;
    check_sha256("output_sha256", entry.output_sha256)?;
    if let Some(expires) = entry.session.and_then(|s| s.expires.as_deref()) {
        check_time("session expiry", expires)?;
    }
    Ok(())
}

fn check_time(what: &str, time: &str) -> std::result::Result<(), String> {
    if humantime::parse_rfc3339(time).is_err() {
        return Err(format!("{what} {time:?} is not an RFC 3339 UTC timestamp"));
    }
    Ok(())
}

fn check_label(label: &str) -> std::result::Result<(), String> {
    if label.len() > MAX_LABEL_BYTES {
        return Err(format!(
            "label is {} bytes; the limit is {MAX_LABEL_BYTES}",
            label.len()
        ));
    }
    if label.chars().any(char::is_control) {
        return Err("label contains control characters".into());
    }
    Ok(())
}

fn check_fingerprint(fingerprint: &str) -> std::result::Result<(), String> {
    if fingerprint.is_empty()
        || fingerprint.len() > MAX_FINGERPRINT_BYTES
        || !fingerprint.bytes().all(|b| b.is_ascii_graphic())
    {
        return Err(format!(
            "key_fingerprint must be 1 to {MAX_FINGERPRINT_BYTES} printable ASCII characters \
             without spaces"
        ));
    }
    Ok(())
}

fn check_sha256(field: &str, value: &str) -> std::result::Result<(), String> {
    if value != UNHASHED_STREAM && (value.len() != 64 || !is_lower_hex(value)) {
        return Err(format!(
            "{field} must be 64 lowercase hex digits or \"{UNHASHED_STREAM}\""
        ));
    }
    Ok(())
}

fn is_lower_hex(s: &str) -> bool {
    s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn ledger_error(path: &Path, reason: String) -> Error {
    Error::Ledger {
        path: path.to_path_buf(),
        reason,
    }
}

fn io_error(path: &Path, source: io::Error) -> Error {
    Error::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn too_large(path: &Path) -> Error {
    ledger_error(
        path,
        format!("file is larger than {MAX_FILE_BYTES} bytes; refusing to read it"),
    )
}
