//! The marking stage of a stream: the visible overlay first, then the invisible mark, frame
//! by frame in display order.
//!
//! [`CpuMarker`] is the reference. The GPU path (crate `filigree-gpu`) implements
//! [`FrameMarker`] too, so the file pipeline drives either the same way.

use crate::error::Result;
use crate::key::Key;
use crate::mark::embed::{EmbedConfig, Embedder};
use crate::overlay::Overlay;
use crate::video::{StreamInfo, VideoFrame};

/// Receives finished frames, in display order.
pub type FrameDone<'a> = &'a mut dyn FnMut(VideoFrame) -> Result<()>;

/// Marks the frames of one stream.
pub trait FrameMarker: Send {
    /// Takes the next frame in display order and hands every frame finished by now to `done`,
    /// in order. A marker may hold a few frames back (a GPU keeps several in flight).
    fn push(&mut self, frame: VideoFrame, done: FrameDone) -> Result<()>;

    /// Hands the frames still held to `done`, in order.
    fn finish(&mut self, done: FrameDone) -> Result<()>;
}

/// What a marker is built from, once the stream is known.
pub struct MarkingSetup<'a> {
    /// The marking key.
    pub key: &'a Key,
    /// The recipient ID marked into every frame.
    pub recipient: u32,
    /// Mark strength.
    pub config: EmbedConfig,
    /// The stream being marked: frame size, format and rate.
    pub info: &'a StreamInfo,
    /// The visible overlay, burned in before the mark.
    pub overlay: Option<Overlay>,
    /// The stream's index of the first frame pushed (0 from the start; a live render that
    /// starts mid-title gives its first frame's index, which the overlay's `{timecode}`,
    /// `{frame}` and moving path follow).
    pub first_frame: u64,
}

/// Builds the marker for a stream (see [`CpuMarker::create`]).
pub type MarkerFactory<'a> = &'a dyn Fn(MarkingSetup) -> Result<Box<dyn FrameMarker>>;

/// A [`MarkerFactory`] that threads can own and share (live renders build a marker per
/// seek, on their own threads).
pub type SharedMarkerFactory =
    std::sync::Arc<dyn Fn(MarkingSetup) -> Result<Box<dyn FrameMarker>> + Send + Sync>;

/// Marks frames on the calling thread: [`Overlay::apply`], then [`Embedder::mark`].
pub struct CpuMarker {
    embedder: Embedder,
    overlay: Option<Overlay>,
    frame_index: u64,
}

impl CpuMarker {
    /// A marker applying `overlay` (if any), then `embedder`'s mark, to frames from index 0.
    pub fn new(embedder: Embedder, overlay: Option<Overlay>) -> CpuMarker {
        CpuMarker {
            embedder,
            overlay,
            frame_index: 0,
        }
    }

    /// The [`MarkerFactory`] of the CPU path.
    pub fn create(setup: MarkingSetup) -> Result<Box<dyn FrameMarker>> {
        let embedder = Embedder::new(
            setup.key,
            setup.recipient,
            setup.info.width,
            setup.info.height,
            &setup.config,
        )?;
        let mut marker = CpuMarker::new(embedder, setup.overlay);
        marker.frame_index = setup.first_frame;
        Ok(Box::new(marker))
    }
}

impl FrameMarker for CpuMarker {
    fn push(&mut self, mut frame: VideoFrame, done: FrameDone) -> Result<()> {
        // The picture is found before the overlay: its text is not picture.
        self.embedder.track_frame(&frame)?;
        if let Some(overlay) = self.overlay.as_mut() {
            overlay.apply(&mut frame, self.frame_index)?;
        }
        self.embedder.mark_frame_picture(&mut frame)?;
        self.frame_index += 1;
        done(frame)
    }

    fn finish(&mut self, _done: FrameDone) -> Result<()> {
        Ok(())
    }
}
