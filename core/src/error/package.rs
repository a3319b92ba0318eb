//! Errors of two-step packages.

use std::path::PathBuf;

/// A two-step package that cannot be prepared or read, or a session it cannot serve.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PackageError {
    /// The package (or the title being prepared into it) is not as a package must be.
    #[error("two-step package {path}: {reason}")]
    Invalid {
        /// The package folder, or the file concerned.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
}
