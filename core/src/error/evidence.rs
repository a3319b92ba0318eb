//! Errors of signed evidence: reports, ledger head statements and evidence keys.

use std::path::PathBuf;

/// A signed report, a ledger head statement or an evidence key that cannot be read or
/// signed with.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EvidenceError {
    /// The file is not what it should be (malformed, unsigned where a signature is needed,
    /// signed by another key).
    #[error("{path}: {reason}")]
    Invalid {
        /// The report, statement or key concerned.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
}
