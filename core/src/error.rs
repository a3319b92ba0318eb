//! One error type for the library: each variant says what went wrong and with which input.
//! Messages never contain key material.

use std::io;
use std::path::PathBuf;

/// Everything that can go wrong in Filigree's library.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(
        "frame is {width}x{height}; Filigree needs at least {min_side} pixels on the shorter side"
    )]
    FrameTooSmall {
        width: usize,
        height: usize,
        min_side: usize,
    },

    #[error(
        "frame is {width}x{height} but this stream started at {expected_width}x{expected_height}"
    )]
    FrameSizeChanged {
        width: usize,
        height: usize,
        expected_width: usize,
        expected_height: usize,
    },

    #[error("bit depth {0} is not supported (8-bit planes use u8, 9- to 16-bit planes use u16)")]
    UnsupportedBitDepth(u8),

    #[error("strength {0} is out of range: it must be a finite number above 0 and at most 8")]
    InvalidStrength(f32),

    #[error("key file {path}: {reason}")]
    MalformedKeyFile { path: PathBuf, reason: String },

    #[error("key file {path}: {source}")]
    KeyFileIo {
        path: PathBuf,
        #[source]
        source: io::Error,
    },

    #[error("the system random number generator failed: {0}")]
    Random(String),

    #[error("{path}: {source}")]
    Io {
        /// The file or stream concerned (`-` for stdin/stdout).
        path: PathBuf,
        #[source]
        source: io::Error,
    },

    #[error("{path}: not a readable video: {reason}")]
    InvalidVideo { path: PathBuf, reason: String },

    #[error("{path}: has no video stream")]
    NoVideoStream { path: PathBuf },

    #[error("{path}: contains no decodable video frames")]
    NoFrames { path: PathBuf },

    #[error("{path}: pixel format {format} is not supported")]
    UnsupportedPixelFormat { path: PathBuf, format: String },

    #[error("{path}: {reason}")]
    Encode { path: PathBuf, reason: String },

    #[error(
        "{path}: video is interlaced ({order}); Filigree marks progressive frames only: \
         deinterlace it first, e.g. ffmpeg -i IN -vf bwdif=mode=send_frame OUT"
    )]
    Interlaced { path: PathBuf, order: &'static str },

    #[error("interrupted before the output was complete")]
    Interrupted,

    #[error("{path}: malformed y4m stream: {reason}")]
    MalformedY4m { path: PathBuf, reason: String },

    #[error("{path}: already exists (use --force to overwrite)")]
    OutputExists { path: PathBuf },

    #[error("overlay: {reason}")]
    InvalidOverlay { reason: String },

    #[error("ledger {path}: {reason}")]
    Ledger { path: PathBuf, reason: String },

    #[error("two-step package {path}: {reason}")]
    Package { path: PathBuf, reason: String },

    #[error("GPU: {0}")]
    Gpu(String),

    #[error("{path}: {reason}")]
    Evidence {
        /// The report, statement or ledger concerned.
        path: PathBuf,
        reason: String,
    },
}

impl Error {
    /// `Ok` when a `width x height` frame matches the stream's `expected` size, else
    /// [`Error::FrameSizeChanged`].
    pub fn check_frame_size(
        (width, height): (usize, usize),
        (expected_width, expected_height): (usize, usize),
    ) -> Result<()> {
        if (width, height) == (expected_width, expected_height) {
            return Ok(());
        }
        Err(Error::FrameSizeChanged {
            width,
            height,
            expected_width,
            expected_height,
        })
    }
}

/// Result alias used across the crate.
pub type Result<T> = std::result::Result<T, Error>;
