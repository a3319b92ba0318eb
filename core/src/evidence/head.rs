//! Signed ledger heads: a short statement, signed with the evidence key, that a ledger held
//! `entries` entries ending in `head_hash` at `time`. Published or mailed to a third party,
//! it anchors the chain: the ledger can later be shown to extend it, and any rewrite of what
//! came before (an edit, a deletion, a reordering, a truncation, or a whole new chain
//! consistently rehashed) is found, each as its own diagnosis.
//!
//! The ledger file itself is unchanged. [`record_head`] keeps each statement made (each
//! **batch** the studio signed) in a sidecar beside it, `LEDGER.heads` (JSON Lines), which
//! [`audit`] checks with any statements given; a ledger with neither is reported unsigned.

use std::fmt;
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use serde_json::{Map, Value, json};

use super::key::EvidenceKey;
use super::signed::{SignatureCheck, sign_object, verify_object};
use crate::error::{Error, EvidenceError, LedgerError, Result};
use crate::ledger::{self, GENESIS_HASH, LedgerProblem, VerifyReport};

/// The `statement` field of a head statement.
pub const HEAD_STATEMENT: &str = "filigree ledger head v1";

/// Longest statement accepted, in bytes (a statement is about 600).
const MAX_STATEMENT_BYTES: usize = 16 * 1024;

/// A parsed head statement and what its signature check found.
#[derive(Debug, Clone, PartialEq)]
pub struct HeadStatement {
    /// The ledger's file name when it was signed (informative only).
    pub ledger: Option<String>,
    /// How many entries the ledger held.
    pub entries: u64,
    /// The `hash` of its last entry ([`GENESIS_HASH`] for an empty ledger).
    pub head_hash: String,
    /// When the statement was made: UTC, RFC 3339.
    pub time: String,
    /// Whether the signature holds, and whose it is.
    pub signature: SignatureCheck,
    /// The statement as given.
    pub json: Value,
}

/// Makes and signs the statement of `ledger`'s current head. Refuses a damaged ledger: a
/// signature must never vouch for a broken chain.
pub fn head_statement(ledger_path: &Path, key: &EvidenceKey) -> Result<Value> {
    let report = ledger::verify(ledger_path)?;
    if let Some(problem) = report.problem {
        return Err(LedgerError::Damaged {
            path: ledger_path.to_path_buf(),
            problem: problem.to_string(),
        }
        .into());
    }
    let mut object = Map::new();
    object.insert("statement".into(), HEAD_STATEMENT.into());
    object.insert(
        "ledger".into(),
        ledger_path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .into(),
    );
    object.insert("entries".into(), json!(report.entries));
    object.insert(
        "head_hash".into(),
        report.head_hash.as_deref().unwrap_or(GENESIS_HASH).into(),
    );
    object.insert(
        "time".into(),
        humantime::format_rfc3339_seconds(SystemTime::now())
            .to_string()
            .into(),
    );
    sign_object(&mut object, key).map_err(|reason| evidence_error(ledger_path, reason))?;
    Ok(Value::Object(object))
}

/// Parses a head statement (one JSON object) and checks its signature, by
/// `expected_signer` when given. A statement that is not one is an `Err` with the reason.
pub fn parse_head(
    text: &str,
    expected_signer: Option<&str>,
) -> std::result::Result<HeadStatement, String> {
    if text.len() > MAX_STATEMENT_BYTES {
        return Err(format!(
            "longer than {MAX_STATEMENT_BYTES} bytes: not a head statement"
        ));
    }
    let json: Value = serde_json::from_str(text.trim())
        .map_err(|e| format!("not a head statement (not JSON: {e})"))?;
    if json.get("statement").and_then(Value::as_str) != Some(HEAD_STATEMENT) {
        return Err(format!(
            "not a head statement (no \"statement\": \"{HEAD_STATEMENT}\")"
        ));
    }
    let entries = json
        .get("entries")
        .and_then(Value::as_u64)
        .ok_or("the head statement has no entry count")?;
    let head_hash = json
        .get("head_hash")
        .and_then(Value::as_str)
        .filter(|h| h.len() == 64 && h.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')))
        .ok_or("the head statement's head_hash is not 64 lowercase hex digits")?
        .to_string();
    let time = json
        .get("time")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    Ok(HeadStatement {
        ledger: json.get("ledger").and_then(Value::as_str).map(String::from),
        entries,
        head_hash,
        time,
        signature: verify_object(&json, expected_signer),
        json,
    })
}

/// How a ledger stands against a head it once had.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HeadOutcome {
    /// The ledger still holds that head: entry `entries` has `head_hash` and every link up
    /// to it verifies; `later` entries were appended since.
    Extends {
        /// Entries after the head.
        later: usize,
    },
    /// The chain breaks at or before the head's entry: an entry was edited, deleted,
    /// reordered or inserted (the problem says which, and where).
    BrokenBefore(LedgerProblem),
    /// The chain verifies but ends before the head: entries were cut off the end (or the
    /// ledger was rewritten shorter).
    Truncated {
        /// Entries the ledger holds now.
        entries: usize,
    },
    /// The chain verifies and reaches the head's position, but the entry there has another
    /// hash: the chain was rewritten and rehashed consistently (a new chain).
    Rewritten {
        /// The `seq` of the head.
        seq: u64,
        /// The hash that entry has now.
        found: String,
    },
}

impl HeadOutcome {
    /// True for [`HeadOutcome::Extends`].
    pub fn is_ok(&self) -> bool {
        matches!(self, HeadOutcome::Extends { .. })
    }
}

impl fmt::Display for HeadOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HeadOutcome::Extends { later: 0 } => {
                write!(f, "the ledger extends it (no entries since)")
            }
            HeadOutcome::Extends { later } => {
                write!(f, "the ledger extends it ({later} entries appended since)")
            }
            HeadOutcome::BrokenBefore(problem) => write!(
                f,
                "{}: the chain breaks before the signed head, at {problem}",
                match problem.kind {
                    ledger::ProblemKind::Altered => "edited",
                    ledger::ProblemKind::Removed => "deleted",
                    ledger::ProblemKind::Reordered => "reordered",
                    ledger::ProblemKind::Inserted => "inserted or rewritten",
                    ledger::ProblemKind::Malformed => "malformed",
                }
            ),
            HeadOutcome::Truncated { entries } => write!(
                f,
                "truncated: the ledger holds {entries} entries, fewer than the signed head \
                 vouches for: entries were cut off the end (or the chain rewritten shorter)"
            ),
            HeadOutcome::Rewritten { seq, found } => write!(
                f,
                "rewritten: entry {seq} now hashes to {found}, not the signed head's hash: \
                 the chain up to it was rewritten and rehashed (a new chain)"
            ),
        }
    }
}

/// Whether the ledger at `path` still holds the head (`entries`, `head_hash`).
pub fn check_extends(path: &Path, entries: u64, head_hash: &str) -> Result<HeadOutcome> {
    let (verified, report) = ledger::verified_prefix(path)?;
    Ok(outcome(&verified, &report, entries, head_hash))
}

fn outcome(
    verified: &[ledger::LedgerEntry],
    report: &VerifyReport,
    entries: u64,
    head_hash: &str,
) -> HeadOutcome {
    let n = usize::try_from(entries).unwrap_or(usize::MAX);
    if n == 0 {
        return if head_hash == GENESIS_HASH {
            HeadOutcome::Extends {
                later: verified.len(),
            }
        } else {
            HeadOutcome::Rewritten {
                seq: 0,
                found: GENESIS_HASH.into(),
            }
        };
    }
    if verified.len() >= n {
        let entry = &verified[n - 1];
        return if entry.hash == head_hash {
            HeadOutcome::Extends {
                later: verified.len() - n,
            }
        } else {
            HeadOutcome::Rewritten {
                seq: entry.seq,
                found: entry.hash.clone(),
            }
        };
    }
    match &report.problem {
        Some(problem) => HeadOutcome::BrokenBefore(problem.clone()),
        None => HeadOutcome::Truncated {
            entries: verified.len(),
        },
    }
}

/// One statement checked against the ledger.
#[derive(Debug, Clone, PartialEq)]
pub struct HeadCheck {
    /// Where it came from: `LEDGER.heads line N`, or what the caller named it.
    pub source: String,
    /// The statement and its signature check.
    pub statement: HeadStatement,
    /// How the ledger stands against it.
    pub outcome: HeadOutcome,
}

impl HeadCheck {
    /// True when the signature is valid and the ledger extends the head.
    pub fn is_ok(&self) -> bool {
        self.statement.signature.is_valid() && self.outcome.is_ok()
    }
}

/// A ledger's chain and every signed head known for it.
#[derive(Debug, Clone, PartialEq)]
pub struct LedgerAudit {
    /// The hash chain's own check.
    pub chain: VerifyReport,
    /// Each statement (the sidecar's, then those given), checked.
    pub heads: Vec<HeadCheck>,
    /// Sidecar lines that are not statements: `(line, reason)`.
    pub unreadable: Vec<(usize, String)>,
    /// Entries covered by a valid signed head that the ledger extends (0: unsigned).
    pub signed_entries: u64,
}

impl LedgerAudit {
    /// True when the chain verifies, every head holds, and every sidecar line is a
    /// statement.
    pub fn is_ok(&self) -> bool {
        self.chain.is_ok() && self.heads.iter().all(HeadCheck::is_ok) && self.unreadable.is_empty()
    }
}

/// The sidecar of signed heads beside `ledger`: `LEDGER.heads`.
pub fn heads_path(ledger: &Path) -> PathBuf {
    let mut name = ledger.as_os_str().to_owned();
    name.push(".heads");
    PathBuf::from(name)
}

/// Signs the ledger's head ([`head_statement`]) and appends the statement to its sidecar
/// ([`heads_path`], created owner-only): the batch up to here is signed.
pub fn record_head(ledger_path: &Path, key: &EvidenceKey) -> Result<Value> {
    let statement = head_statement(ledger_path, key)?;
    let path = heads_path(ledger_path);
    let io = |source| Error::Io {
        path: path.clone(),
        source,
    };
    let mut options = OpenOptions::new();
    options.append(true).create(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file: File = options.open(&path).map_err(io)?;
    let mut line = serde_json::to_vec(&statement).expect("JSON values serialise");
    line.push(b'\n');
    file.write_all(&line).map_err(io)?;
    file.sync_data().map_err(io)?;
    Ok(statement)
}

/// Checks `ledger`'s chain, the statements in its sidecar (if any) and `given` (named,
/// text), each signature by `expected_signer` when given.
pub fn audit(
    ledger_path: &Path,
    given: &[(String, String)],
    expected_signer: Option<&str>,
) -> Result<LedgerAudit> {
    let (verified, chain) = ledger::verified_prefix(ledger_path)?;
    let mut statements = Vec::new();
    let mut unreadable = Vec::new();
    let sidecar = heads_path(ledger_path);
    match std::fs::read_to_string(&sidecar) {
        Ok(text) => {
            let name = sidecar
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            for (i, line) in text.lines().enumerate() {
                if line.trim().is_empty() {
                    continue;
                }
                match parse_head(line, expected_signer) {
                    Ok(statement) => statements.push((format!("{name} line {}", i + 1), statement)),
                    Err(reason) => unreadable.push((i + 1, reason)),
                }
            }
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(source) => {
            return Err(Error::Io {
                path: sidecar,
                source,
            });
        }
    }
    for (source, text) in given {
        let statement = parse_head(text, expected_signer).map_err(|reason| {
            Error::Evidence(EvidenceError::Invalid {
                path: PathBuf::from(source),
                reason,
            })
        })?;
        statements.push((source.clone(), statement));
    }
    let heads: Vec<HeadCheck> = statements
        .into_iter()
        .map(|(source, statement)| HeadCheck {
            outcome: outcome(&verified, &chain, statement.entries, &statement.head_hash),
            source,
            statement,
        })
        .collect();
    let signed_entries = heads
        .iter()
        .filter(|h| h.is_ok())
        .map(|h| h.statement.entries)
        .max()
        .unwrap_or(0);
    Ok(LedgerAudit {
        chain,
        heads,
        unreadable,
        signed_entries,
    })
}

fn evidence_error(path: &Path, reason: String) -> Error {
    Error::Evidence(EvidenceError::Invalid {
        path: path.to_path_buf(),
        reason,
    })
}
