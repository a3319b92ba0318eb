//! The library's errors: one enum per domain (video files and frames, key files, the ledger,
//! two-step packages, signed evidence), gathered in [`Error`]. Every message says what went
//! wrong and with which input, never contains key material, and gives no command-line
//! advice (the CLI adds its own).

use std::io;
use std::path::PathBuf;

mod evidence;
mod key;
mod ledger;
mod package;
mod video;

pub use evidence::EvidenceError;
pub use key::KeyError;
pub use ledger::LedgerError;
pub use package::PackageError;
pub use video::VideoError;

/// Everything that can go wrong in Filigree's library.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A video file, stream or frame that cannot be read, written or marked.
    #[error(transparent)]
    Video(#[from] VideoError),

    /// A key file that cannot be read or is not a key.
    #[error(transparent)]
    Key(#[from] KeyError),

    /// A ledger that is damaged or an entry it refuses.
    #[error(transparent)]
    Ledger(#[from] LedgerError),

    /// A two-step package that cannot be prepared or read.
    #[error(transparent)]
    Package(#[from] PackageError),

    /// A signed report, ledger head statement or evidence key that cannot be read or used.
    #[error(transparent)]
    Evidence(#[from] EvidenceError),

    /// An overlay template, position or style that cannot be drawn.
    #[error("overlay: {reason}")]
    InvalidOverlay {
        /// What is wrong with it.
        reason: String,
    },

    /// A marking strength outside (0, 8].
    #[error("strength {0} is out of range: it must be a finite number above 0 and at most 8")]
    InvalidStrength(f32),

    /// The operating system's random number generator failed.
    #[error("the system random number generator failed: {0}")]
    Random(String),

    /// Reading or writing a file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file or stream concerned (`-` for stdin/stdout).
        path: PathBuf,
        /// What the operating system said.
        #[source]
        source: io::Error,
    },

    /// The output file exists and replacing it was not asked for.
    #[error("{path}: already exists")]
    OutputExists {
        /// The existing file.
        path: PathBuf,
    },

    /// The job was stopped (SIGINT, SIGTERM) before its output was complete; nothing was
    /// written.
    #[error("interrupted before the output was complete")]
    Interrupted,

    /// The GPU path failed (no adapter, a device lost, a buffer that would not map).
    #[error("GPU: {0}")]
    Gpu(String),
}

impl Error {
    /// `Ok` when a `width x height` frame matches the stream's `expected` size, else
    /// [`VideoError::FrameSizeChanged`].
    pub fn check_frame_size(
        (width, height): (usize, usize),
        (expected_width, expected_height): (usize, usize),
    ) -> Result<()> {
        if (width, height) == (expected_width, expected_height) {
            return Ok(());
        }
        Err(VideoError::FrameSizeChanged {
            width,
            height,
            expected_width,
            expected_height,
        }
        .into())
    }
}

/// Result alias used across the crate.
pub type Result<T> = std::result::Result<T, Error>;
