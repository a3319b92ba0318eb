//! Reading ahead: a file (or a y4m stream on stdin) decoded on its own thread into a small
//! bounded queue, so the stage that takes the frames (marking, detection, packaging) overlaps
//! the decoder. `-` as a path means stdin.

use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::thread;

use super::ffmpeg::FfmpegReader;
use super::y4m::Y4mReader;
use super::{FrameSource, StreamInfo, VideoFrame};
use crate::error::{Result, VideoError};

/// Frames in flight between stages: enough to keep every thread busy, bounded for memory
/// (a 4K 10-bit frame is 25 MB).
pub(crate) const QUEUE_DEPTH: usize = 4;

/// The path meaning stdin (input) or stdout (output).
pub const STDIO: &str = "-";

/// Progress callback: frames done so far, and the expected total when known.
pub type Progress<'a> = &'a mut dyn FnMut(u64, Option<u64>);

pub(crate) type FrameQueue = Receiver<Result<VideoFrame>>;

/// What a file is read for.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum ReadFor {
    /// Marking, which refuses interlaced video.
    Marking,
    /// Detection: frames of any size (a stream rip's renditions) and, past
    /// `keyframes_after` seconds, keyframes only (see [`FfmpegReader::keyframes_only_after`]).
    Detection { keyframes_after: Option<f64> },
}

impl ReadFor {
    /// Detection reading every frame.
    pub(crate) const EVERY_FRAME: ReadFor = ReadFor::Detection {
        keyframes_after: None,
    };
}

/// Opens `input` on its own thread and streams its frames through a bounded queue. Returns
/// once the stream's description is known (or opening failed).
pub(crate) fn spawn_reader(
    input: PathBuf,
    purpose: ReadFor,
) -> Result<(StreamInfo, FrameQueue, thread::JoinHandle<()>)> {
    let (info_tx, info_rx) = sync_channel::<Result<StreamInfo>>(1);
    let (frame_tx, frame_rx) = sync_channel::<Result<VideoFrame>>(QUEUE_DEPTH);
    let handle = thread::spawn(move || {
        let mut source: Box<dyn FrameSource> = match open_source(&input, purpose) {
            Ok(source) => source,
            Err(e) => {
                let _ = info_tx.send(Err(e));
                return;
            }
        };
        if info_tx.send(Ok(source.info().clone())).is_ok() {
            stream_frames(source.as_mut(), &frame_tx);
        }
    });
    match info_rx.recv() {
        Ok(Ok(info)) => Ok((info, frame_rx, handle)),
        Ok(Err(e)) => {
            let _ = handle.join();
            Err(e)
        }
        Err(_) => {
            let _ = handle.join();
            Err(VideoError::InvalidVideo {
                path: PathBuf::from(STDIO),
                reason: "the reader stopped before describing the stream".into(),
            }
            .into())
        }
    }
}

/// Sends every frame (or the first error) down the queue; stops when the receiver is gone.
fn stream_frames(source: &mut dyn FrameSource, queue: &SyncSender<Result<VideoFrame>>) {
    loop {
        match source.next_frame() {
            Ok(Some(frame)) => {
                if queue.send(Ok(frame)).is_err() {
                    return;
                }
            }
            Ok(None) => return,
            Err(e) => {
                let _ = queue.send(Err(e));
                return;
            }
        }
    }
}

fn open_source(input: &Path, purpose: ReadFor) -> Result<Box<dyn FrameSource>> {
    if input == Path::new(STDIO) {
        let reader = Y4mReader::new(std::io::stdin().lock(), STDIO)?;
        match reader.info().interlaced {
            Some(order) if purpose == ReadFor::Marking => Err(VideoError::Interlaced {
                path: PathBuf::from(STDIO),
                order: order.describe(),
            }
            .into()),
            _ => Ok(Box::new(reader)),
        }
    } else {
        let mut reader = FfmpegReader::open(input)?;
        match purpose {
            ReadFor::Marking => reader.refuse_interlaced()?,
            ReadFor::Detection { keyframes_after } => {
                // Detection takes a stream rip's renditions as they come.
                reader.allow_size_changes();
                if let Some(seconds) = keyframes_after {
                    reader.keyframes_only_after(seconds);
                }
            }
        }
        Ok(Box::new(reader))
    }
}
