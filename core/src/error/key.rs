//! Errors of key files.

use std::io;
use std::path::PathBuf;

/// A key file that cannot be read or is not a key.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// The file is not a Filigree key (wrong size, header or permissions).
    #[error("key file {path}: {reason}")]
    Malformed {
        /// The key file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },

    /// Reading or writing the key file failed.
    #[error("key file {path}: {source}")]
    Io {
        /// The key file.
        path: PathBuf,
        /// What the operating system said.
        #[source]
        source: io::Error,
    },
}
