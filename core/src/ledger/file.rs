//! The ledger file: opening it under a lock, one bounded pass over its lines, appending,
//! and the lookups that answer only from a verified chain. Everything that touches the
//! disk is here; what an entry is and how a chain breaks live in `entry` and `chain`.

use std::fs::{File, OpenOptions};
use std::io::{self, BufRead, BufReader, Seek, SeekFrom, Write};
use std::path::Path;
use std::time::SystemTime;

use super::chain::{
    GENESIS_HASH, LedgerProblem, Link, Pending, ProblemKind, VerifyReport, check_link,
};
use super::entry::{LedgerEntry, NewEntry, check_new_entry};
use crate::error::{Error, LedgerError, Result};

/// Longest accepted line, in bytes, not counting the line ending.
pub const MAX_LINE_BYTES: usize = 64 * 1024;

/// Largest accepted ledger file, in bytes (1 GiB).
pub const MAX_FILE_BYTES: u64 = 1 << 30;

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
/// [`LedgerError::Entry`] naming the line.
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

/// The entries that verified, in ledger order, with the chain report: everything before
/// the first problem, when there is one. What a signed head is checked against (the
/// `evidence` module): an entry the head vouches for may sit before a later break.
pub fn verified_prefix(path: &Path) -> Result<(Vec<LedgerEntry>, VerifyReport)> {
    let file = open_for_reading(path)?;
    let mut entries = Vec::new();
    let scan = scan(path, &file, Check::Chain, |e| entries.push(e))?;
    Ok((entries, scan.report()))
}

/// Every entry, in ledger order, after verifying the chain: what lookups and collusion
/// scoring answer from.
///
/// Refuses ([`LedgerError::Damaged`]) to answer from a damaged ledger: a label from an edited ledger
/// could accuse the wrong person.
pub fn trusted_entries(path: &Path) -> Result<Vec<LedgerEntry>> {
    let file = open_for_reading(path)?;
    let mut entries = Vec::new();
    let scan = scan(path, &file, Check::Chain, |e| entries.push(e))?;
    match scan.problem {
        Some(problem) => Err(LedgerError::Damaged {
            path: path.to_path_buf(),
            problem: problem.to_string(),
        }
        .into()),
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
                && p.skipped(entry.seq)
            {
                let problem = pending.take().unwrap().reordered(entry.seq, line.number);
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
        result.problem = Some(p.removed());
    }
    result.bytes = lines.bytes;
    result.ends_with_newline = lines.ends_with_newline;
    Ok(result)
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

fn ledger_error(path: &Path, reason: String) -> Error {
    LedgerError::Entry {
        path: path.to_path_buf(),
        reason,
    }
    .into()
}

fn io_error(path: &Path, source: io::Error) -> Error {
    Error::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn too_large(path: &Path) -> Error {
    LedgerError::TooLarge {
        path: path.to_path_buf(),
        limit: MAX_FILE_BYTES,
    }
    .into()
}
