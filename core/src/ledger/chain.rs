//! Chain diagnosis: what [`verify`](super::verify) reports, and the rules that name the
//! first break (altered, removed, reordered, inserted; see the [ledger docs](super)). Pure
//! functions of parsed entries, so the rules can be read without the file handling.

use std::fmt;

use super::entry::LedgerEntry;

/// `prev_hash` of the first entry: 64 zeros.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Outcome of [`verify`](super::verify).
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
    /// What the break looks like.
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

/// Diagnosis of a chain break; the rules are in the [ledger docs](super).
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

/// A skipped-ahead seq whose kind (removed or reordered) depends on the rest of the file.
pub(super) struct Pending {
    problem: LedgerProblem,
    /// The skipped sequence numbers, `missing.0..missing.1`.
    missing: (u64, u64),
}

impl Pending {
    /// Whether `seq` is one of the skipped numbers.
    pub(super) fn skipped(&self, seq: u64) -> bool {
        (self.missing.0..self.missing.1).contains(&seq)
    }

    /// The diagnosis once skipped entry `seq` turns up further down, at `line`.
    pub(super) fn reordered(self, seq: u64, line: usize) -> LedgerProblem {
        let mut problem = self.problem;
        problem.kind = ProblemKind::Reordered;
        problem.message = format!(
            "{}; entry {seq} appears further down, at line {line}: entries are out of order",
            problem.message
        );
        problem
    }

    /// The diagnosis when no skipped entry turns up: they were removed.
    pub(super) fn removed(self) -> LedgerProblem {
        self.problem
    }
}

/// Why an entry does not extend the chain.
pub(super) enum Link {
    /// The first break: nothing from here on is trusted.
    Broken(LedgerProblem),
    /// A gap in `seq`, diagnosed once the rest of the file is read.
    SkippedAhead(Pending),
}

/// Checks an entry's own hash and its link to the previous good entry.
pub(super) fn check_link(
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
