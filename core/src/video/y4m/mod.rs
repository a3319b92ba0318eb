//! YUV4MPEG2 (y4m) streams, so Filigree can sit in an FFmpeg pipe:
//!
//! ```text
//! ffmpeg -i in.mp4 -f yuv4mpegpipe - | filigree embed ... - - | ffmpeg -i - out.mp4
//! ```
//!
//! A stream is one header line (`YUV4MPEG2 W.. H.. F.. I.. A.. C.. X..`) followed by frames,
//! each a `FRAME` line (optionally with parameters, which are ignored) and the raw planes Y,
//! Cb, Cr in that order. High-bit-depth samples are little-endian `u16`.
//!
//! Reading accepts:
//! - `W`, `H` (required): each 1..=[`MAX_DIMENSION`], and at most [`MAX_PIXELS`] luma samples
//!   per frame (8192 x 8192, which covers 8K UHD 7680 x 4320 and DCI 8K 8192 x 4320). The
//!   largest frame is thus 384 MiB (4:4:4 10-bit), and buffers grow only as data arrives, so a
//!   hostile header alone cannot make the reader allocate that much.
//! - `F` (`num:den`, both positive; 25:1 when absent).
//! - `I`: `p` and `?` (progressive / unknown); `t`, `b` and `m` (interlaced) are accepted,
//!   read as whole frames and reported in [`StreamInfo::interlaced`] (`embed` refuses them).
//! - `A`: ignored.
//! - `C`: `420jpeg`, `420paldv`, `420mpeg2`, `420` (4:2:0, the default when absent), `422`,
//!   `444`, `420p10`, `422p10`, `444p10`. Anything else (`mono`, `411`, `444alpha`,
//!   `420p12`, ...) is [`VideoError::UnsupportedPixelFormat`]. Chroma siting is not kept.
//! - `XCOLORRANGE=FULL|LIMITED` sets [`ColorInfo::range`] (2 / 1, FFmpeg's `AVColorRange`);
//!   other `X` tags and unknown tags are ignored.
//!
//! Header and `FRAME` lines are limited to [`MAX_LINE`] bytes.
//!
//! `header.rs` reads and writes the header line, so the reader and the writer agree on it;
//! `reader.rs` and `writer.rs` handle the frames that follow.
//!
//! [`StreamInfo::interlaced`]: crate::video::StreamInfo::interlaced
//! [`VideoError::UnsupportedPixelFormat`]: crate::error::VideoError::UnsupportedPixelFormat
//! [`ColorInfo::range`]: crate::video::ColorInfo::range

mod header;
mod reader;
mod writer;

pub use reader::Y4mReader;
pub use writer::{Y4mWriter, create_file};

/// Longest header or `FRAME` line accepted, newline included.
pub const MAX_LINE: usize = 1024;
/// Largest width or height accepted (and written).
pub const MAX_DIMENSION: usize = 16384;
/// Most luma samples per frame accepted (and written): 8192 x 8192.
pub const MAX_PIXELS: usize = 8192 * 8192;

/// Streams and frames shared by the unit tests of the files above.
#[cfg(test)]
mod fixtures {
    use std::io::Cursor;

    use ndarray::Array2;

    use super::Y4mReader;
    use super::header::UNSPECIFIED_COLOR;
    use crate::error::{Error, Result, VideoError};
    use crate::video::{FrameSource, PixelFormat, Planes, Rational, StreamInfo, VideoFrame};

    pub(super) fn info(format: PixelFormat, width: usize, height: usize) -> StreamInfo {
        StreamInfo {
            width,
            height,
            format,
            frame_rate: Rational::new(30000, 1001),
            time_base: Rational::new(1001, 30000),
            color: UNSPECIFIED_COLOR,
            frames_hint: None,
            timecode: None,
            interlaced: None,
        }
    }

    /// A frame with distinct, in-range sample values everywhere.
    pub(super) fn pattern(
        format: PixelFormat,
        width: usize,
        height: usize,
        seed: usize,
    ) -> VideoFrame {
        let (cw, ch) = format.chroma_size(width, height);
        let shapes = [(height, width), (ch, cw), (ch, cw)];
        let value = |p: usize, r: usize, c: usize| (seed * 7 + p * 101 + r * 31 + c * 3) % 1024;
        let planes = if format.bit_depth() == 8 {
            Planes::Eight(
                [0, 1, 2].map(|p| {
                    Array2::from_shape_fn(shapes[p], |(r, c)| (value(p, r, c) % 256) as u8)
                }),
            )
        } else {
            Planes::High(
                [0, 1, 2].map(|p| Array2::from_shape_fn(shapes[p], |(r, c)| value(p, r, c) as u16)),
            )
        };
        VideoFrame {
            format,
            planes,
            pts: None,
        }
    }

    pub(super) fn reader(bytes: &[u8]) -> Result<Y4mReader<Cursor<&[u8]>>> {
        Y4mReader::new(Cursor::new(bytes), "-")
    }

    pub(super) fn read_all(bytes: &[u8]) -> Result<(StreamInfo, Vec<VideoFrame>)> {
        let mut r = reader(bytes)?;
        let mut frames = Vec::new();
        while let Some(f) = r.next_frame()? {
            frames.push(f);
        }
        Ok((r.info().clone(), frames))
    }

    /// Reads `bytes` to the end and insists it fails with [`VideoError::MalformedY4m`] saying
    /// `needle`.
    pub(super) fn assert_malformed(bytes: &[u8], needle: &str) {
        let mut err = match reader(bytes) {
            Err(e) => Some(e),
            Ok(mut r) => loop {
                match r.next_frame() {
                    Err(e) => break Some(e),
                    Ok(None) => break None,
                    Ok(Some(_)) => {}
                }
            },
        };
        match err.take() {
            Some(Error::Video(VideoError::MalformedY4m { reason, .. })) => {
                assert!(reason.contains(needle), "{reason:?} lacks {needle:?}")
            }
            other => panic!("expected MalformedY4m containing {needle:?}, got {other:?}"),
        }
    }
}
