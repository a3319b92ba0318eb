//! Video streams: frames with their pixel format and timing, and the sources and sinks that
//! read and write them (y4m for pipes; FFmpeg's libraries for files, behind the `ffmpeg`
//! feature).

#[cfg(feature = "ffmpeg")]
mod audio;
pub mod cmaf;
#[cfg(feature = "ffmpeg")]
mod codec;
mod frame;
#[cfg(feature = "ffmpeg")]
pub(crate) mod readahead;
pub mod temp;
mod timecode;
pub mod y4m;

#[cfg(feature = "ffmpeg")]
pub mod ffmpeg;

pub(crate) use frame::with_luma;
pub use frame::{
    ColorInfo, FieldOrder, Luma, LumaMut, PixelFormat, Planes, Rational, StreamInfo, VideoFrame,
};
pub use timecode::{Timecode, TimecodeClock};

use crate::error::Result;

/// Something frames come from, in display order.
pub trait FrameSource {
    /// What the stream is: frame size, format, rate, colour.
    fn info(&self) -> &StreamInfo;
    /// The next frame, or `None` at the end of the stream.
    fn next_frame(&mut self) -> Result<Option<VideoFrame>>;
}

/// Something frames go to. Output becomes visible only when `finish` succeeds: a sink that is
/// dropped without finishing leaves nothing behind (no half-written files).
pub trait FrameSink {
    /// Writes (or queues for encoding) the next frame, in display order.
    fn write_frame(&mut self, frame: &VideoFrame) -> Result<()>;
    /// Flushes what is still held and makes the output visible (a file is renamed into place).
    fn finish(self: Box<Self>) -> Result<()>;
}
