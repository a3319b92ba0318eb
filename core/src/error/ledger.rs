//! Errors of the ledger of issued copies.

use std::path::PathBuf;

/// A ledger that is damaged, or an entry it refuses.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LedgerError {
    /// The hash chain does not verify (an entry edited, removed, reordered or cut off), so
    /// nothing is answered from it: a label from an edited ledger could accuse the wrong
    /// person.
    #[error("ledger {path}: the ledger is damaged, not trusting it: {problem}")]
    Damaged {
        /// The ledger file.
        path: PathBuf,
        /// Where the chain breaks, and how.
        problem: String,
    },

    /// The ledger was damaged before an embed, which was not started.
    #[error("ledger {path}: damaged ({problem}); not embedding")]
    DamagedBeforeEmbed {
        /// The ledger file.
        path: PathBuf,
        /// Where the chain breaks, and how.
        problem: String,
    },

    /// The file is larger than a ledger Filigree reads.
    #[error("ledger {path}: file is larger than {limit} bytes; refusing to read it")]
    TooLarge {
        /// The ledger file.
        path: PathBuf,
        /// The largest ledger read, in bytes.
        limit: u64,
    },

    /// An entry the ledger cannot take (a field out of range, a sequence number that
    /// overflows, a line that is not an entry).
    #[error("ledger {path}: {reason}")]
    Entry {
        /// The ledger file.
        path: PathBuf,
        /// What is wrong with the entry.
        reason: String,
    },
}
