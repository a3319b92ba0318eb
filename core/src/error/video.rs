//! Errors of video files, streams and frames.

use std::path::PathBuf;

/// A video file, stream or frame that cannot be read, written or marked.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum VideoError {
    /// A frame too small to carry the mark.
    #[error(
        "frame is {width}x{height}; Filigree needs at least {min_side} pixels on the shorter side"
    )]
    FrameTooSmall {
        /// The frame's width.
        width: usize,
        /// The frame's height.
        height: usize,
        /// The shortest side Filigree marks.
        min_side: usize,
    },

    /// A frame whose size differs from the stream's first.
    #[error(
        "frame is {width}x{height} but this stream started at {expected_width}x{expected_height}"
    )]
    FrameSizeChanged {
        /// The frame's width.
        width: usize,
        /// The frame's height.
        height: usize,
        /// The stream's width.
        expected_width: usize,
        /// The stream's height.
        expected_height: usize,
    },

    /// Samples of a depth Filigree's planes cannot hold.
    #[error("bit depth {0} is not supported (8-bit planes use u8, 9- to 16-bit planes use u16)")]
    UnsupportedBitDepth(u8),

    /// A file FFmpeg cannot open or read as video.
    #[error("{path}: not a readable video: {reason}")]
    InvalidVideo {
        /// The file.
        path: PathBuf,
        /// What FFmpeg or Filigree found.
        reason: String,
    },

    /// A file without a video stream.
    #[error("{path}: has no video stream")]
    NoVideoStream {
        /// The file.
        path: PathBuf,
    },

    /// A video stream none of whose frames decode.
    #[error("{path}: contains no decodable video frames")]
    NoFrames {
        /// The file.
        path: PathBuf,
    },

    /// A pixel format Filigree neither handles nor converts.
    #[error("{path}: pixel format {format} is not supported")]
    UnsupportedPixelFormat {
        /// The file.
        path: PathBuf,
        /// FFmpeg's name for the format.
        format: String,
    },

    /// An output that cannot be encoded or written as asked (codec, container, pixel format,
    /// settings).
    #[error("{path}: {reason}")]
    Encode {
        /// The output file.
        path: PathBuf,
        /// What to change.
        reason: String,
    },

    /// An interlaced stream: Filigree marks progressive frames only.
    #[error(
        "{path}: video is interlaced ({order}); Filigree marks progressive frames only: \
         deinterlace it first, e.g. ffmpeg -i IN -vf bwdif=mode=send_frame OUT"
    )]
    Interlaced {
        /// The file.
        path: PathBuf,
        /// The declared field order.
        order: &'static str,
    },

    /// A y4m stream that breaks the format.
    #[error("{path}: malformed y4m stream: {reason}")]
    MalformedY4m {
        /// The file or stream (`-` for stdin).
        path: PathBuf,
        /// What is malformed.
        reason: String,
    },
}
