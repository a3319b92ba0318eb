//! Live renders: a viewer's own stream, rendered while they watch.
//!
//! A live session's video is the master cut into segments of a fixed number of frames
//! ([`LiveTiming`]), each rendered when it is needed ([`Renderer`]): decoded from the master
//! (a seek lands on the segment's first frame), given the session's visible overlay and the
//! full single-step mark of the session ID on the CPU or GPU, encoded as one closed GOP
//! (libx264, or NVENC where present) and cut into a CMAF segment retimed to its place in the
//! title. Segments do not depend on each other, so a render can start anywhere (a viewer's
//! seek) and the segments of several runs join into one stream; every run's initialisation
//! segment is the same (checked), so one `EXT-X-MAP` serves them all.
//!
//! Nothing here knows about HTTP: `filigree serve` (crate `filigree-server`) decides which
//! segment to render when, how many sessions it takes, and serves the files.

use std::collections::VecDeque;
use std::fs;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result, VideoError};
use crate::key::Key;
use crate::mark::embed::EmbedConfig;
use crate::marker::{FrameMarker, MarkingSetup, SharedMarkerFactory};
use crate::overlay::{Overlay, OverlayConfig, SessionInfo};
use crate::twostep::package::vod_playlist;
use crate::twostep::prepare::write_atomically;
use crate::video::cmaf;
use crate::video::ffmpeg::{Codec, EncodeOptions, FfmpegReader, FfmpegWriter, OutputShape};
use crate::video::{FrameSink, FrameSource, PixelFormat, Rational, StreamInfo, VideoFrame};

/// Seconds per live segment: short enough that a session starts and seeks quickly, long
/// enough that the encoder's fixed cost per segment stays small.
pub const SEGMENT_SECONDS: f64 = 2.0;

/// The initialisation segment's file name in a session's folder.
pub const INIT: &str = "init.mp4";

/// File name of segment `index` in a session's folder.
pub fn segment_name(index: u32) -> String {
    format!("{index:06}.m4s")
}

/// The title's frames cut into live segments.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LiveTiming {
    /// The master's frame rate (frames per second).
    pub frame_rate: Rational,
    /// Frames of the title.
    pub frames: u64,
    /// Frames per segment (the last may be shorter).
    pub segment_frames: u64,
}

impl LiveTiming {
    /// Segments of about `segment_seconds` over `frames` frames at `frame_rate`.
    pub fn new(frame_rate: Rational, frames: u64, segment_seconds: f64) -> LiveTiming {
        let fps = frame_rate.as_f64();
        LiveTiming {
            frame_rate,
            frames,
            segment_frames: ((segment_seconds * fps).round() as u64).max(1),
        }
    }

    /// Number of segments: the title's frames divided by `segment_frames`, rounded up.
    pub fn segments(&self) -> u32 {
        self.frames.div_ceil(self.segment_frames) as u32
    }

    /// Index in the title of `segment`'s first frame.
    pub fn first_frame(&self, segment: u32) -> u64 {
        segment as u64 * self.segment_frames
    }

    /// Frames in `segment` (0 past the end).
    pub fn frames_in(&self, segment: u32) -> u64 {
        let start = self.first_frame(segment);
        self.segment_frames.min(self.frames.saturating_sub(start))
    }

    /// Duration of `segment` in seconds (0 past the end).
    pub fn seconds(&self, segment: u32) -> f64 {
        self.frames_in(segment) as f64 / self.frame_rate.as_f64()
    }

    /// The segment showing second `t` of the title.
    pub fn segment_at(&self, t: f64) -> u32 {
        let frame = (t.max(0.0) * self.frame_rate.as_f64()) as u64;
        (frame / self.segment_frames).min(self.segments().saturating_sub(1) as u64) as u32
    }

    /// The session's VOD media playlist: every segment of the title is listed from the
    /// start (so the player can seek anywhere), rendered when it is asked for.
    pub fn media_playlist(&self, init_uri: &str, segment_uri: impl Fn(u32) -> String) -> String {
        let durations: Vec<f64> = (0..self.segments()).map(|s| self.seconds(s)).collect();
        vod_playlist(init_uri, &durations, segment_uri)
    }
}

/// What a live session renders: the master, the viewer's mark and overlay, and the stream.
#[derive(Clone)]
pub struct LiveSpec {
    /// Path of the master the segments are decoded from.
    pub master: PathBuf,
    /// The marking key (it stays in the rendering process).
    pub key: Key,
    /// The ID marked into every frame: the session ID.
    pub recipient: u32,
    /// Mark strength ([`EmbedConfig::strength`]).
    pub strength: f32,
    /// The visible overlay burned in before marking; `None` for none.
    pub overlay: Option<OverlayConfig>,
    /// The values behind the overlay's `{label}`, `{session}`, `{date}`, `{time}`.
    pub session: SessionInfo,
    /// Output height (even); the width follows the master's shape. `None` keeps its size.
    pub height: Option<usize>,
    /// libx264 or h264_nvenc, with its quality and preset.
    pub encode: EncodeOptions,
    /// How the title is cut into segments.
    pub timing: LiveTiming,
}

impl std::fmt::Debug for LiveSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LiveSpec")
            .field("master", &self.master)
            .field("recipient", &self.recipient)
            .field("height", &self.height)
            .field("encode", &self.encode)
            .finish_non_exhaustive()
    }
}

/// The encoder a live render uses: NVENC where it opens, libx264 otherwise, at the given
/// quality; 8-bit 4:2:0 H.264, what every browser plays.
pub fn live_encoder(prefer_hardware: bool, crf: u8) -> EncodeOptions {
    let codec = match prefer_hardware && crate::video::ffmpeg::encoder_opens(Codec::Nvenc) {
        true => Codec::Nvenc,
        false => Codec::X264,
    };
    EncodeOptions {
        codec,
        crf: Some(crf),
        // x264's veryfast keeps a live session several times ahead of playback on one core
        // at 360p; NVENC's p4 is its balanced preset.
        preset: Some(match codec {
            Codec::Nvenc => "p4".into(),
            _ => "veryfast".into(),
        }),
        pix_fmt: Some(PixelFormat::Yuv420p),
    }
}

/// The output size for `height` lines of a `width x height` master: its shape kept, both
/// sides even; `None` keeps the master's size (made even).
pub fn output_size(master: (usize, usize), height: Option<usize>) -> (usize, usize) {
    let even = |v: f64| ((v / 2.0).round() as usize * 2).max(2);
    match height {
        Some(h) => {
            let h = even(h as f64);
            (even(master.0 as f64 * h as f64 / master.1 as f64), h)
        }
        None => (even(master.0 as f64), even(master.1 as f64)),
    }
}

/// One run of a live session's segments, in order from where it was opened or last sought.
pub struct Renderer {
    spec: LiveSpec,
    dir: PathBuf,
    make_marker: SharedMarkerFactory,
    reader: FfmpegReader,
    info: StreamInfo,
    marker: Box<dyn FrameMarker>,
    /// Frames the marker handed back beyond the segment being written (a GPU keeps several
    /// in flight): they open the next segment.
    carried: VecDeque<VideoFrame>,
    next: u32,
    /// The master has no more frames (the marker has been finished).
    drained: bool,
    size: (usize, usize),
}

impl std::fmt::Debug for Renderer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Renderer")
            .field("spec", &self.spec)
            .field("dir", &self.dir)
            .field("next", &self.next)
            .finish_non_exhaustive()
    }
}

impl Renderer {
    /// Opens the master and positions the render at segment `first`; segments go to `dir`
    /// (created if missing).
    pub fn open(
        spec: LiveSpec,
        dir: &Path,
        make_marker: SharedMarkerFactory,
        first: u32,
    ) -> Result<Renderer> {
        fs::create_dir_all(dir.join(".work")).map_err(|source| Error::Io {
            path: dir.to_path_buf(),
            source,
        })?;
        let mut reader = FfmpegReader::open(&spec.master)?;
        reader.refuse_interlaced()?;
        let master = reader.info();
        let size = output_size((master.width, master.height), spec.height);
        // Marked and overlaid at the rendition's size: a 360p session from a 1080p master
        // costs 360p of marking, and is marked as a 360p screener would be.
        reader.deliver_at(size);
        let info = reader.info().clone();
        let marker = Renderer::new_marker(&spec, &make_marker, &info, 0)?;
        let mut renderer = Renderer {
            spec,
            dir: dir.to_path_buf(),
            make_marker,
            reader,
            info,
            marker,
            carried: VecDeque::new(),
            next: 0,
            drained: false,
            size,
        };
        if first > 0 {
            renderer.seek(first)?;
        }
        Ok(renderer)
    }

    fn new_marker(
        spec: &LiveSpec,
        make_marker: &SharedMarkerFactory,
        info: &StreamInfo,
        first_frame: u64,
    ) -> Result<Box<dyn FrameMarker>> {
        let overlay = spec
            .overlay
            .as_ref()
            .map(|config| {
                Overlay::new(
                    config,
                    &spec.session,
                    &spec.key,
                    info.width,
                    info.height,
                    info.frame_rate,
                )
                .map(|overlay| overlay.starting_at(info.timecode))
            })
            .transpose()?;
        make_marker(MarkingSetup {
            key: &spec.key,
            recipient: spec.recipient,
            config: EmbedConfig {
                strength: spec.strength,
            },
            info,
            overlay,
            first_frame,
        })
    }

    /// The segment the next [`Renderer::render_next`] writes.
    pub fn next_segment(&self) -> u32 {
        self.next
    }

    /// The size segments are encoded at.
    pub fn size(&self) -> (usize, usize) {
        self.size
    }

    /// Continues from segment `segment` (a viewer's seek): the master is sought to its first
    /// frame and a new marker starts there (the mark needs no history, like any excerpt).
    pub fn seek(&mut self, segment: u32) -> Result<()> {
        let first_frame = self.spec.timing.first_frame(segment);
        self.reader.seek_to_frame(first_frame)?;
        self.marker = Renderer::new_marker(&self.spec, &self.make_marker, &self.info, first_frame)?;
        self.carried.clear();
        self.drained = false;
        self.next = segment;
        Ok(())
    }

    /// Renders the next segment into the session's folder (its initialisation segment too,
    /// the first time) and returns its index; `None` past the title's end.
    pub fn render_next(&mut self) -> Result<Option<u32>> {
        let segment = self.next;
        let wanted = self.spec.timing.frames_in(segment);
        if wanted == 0 {
            return Ok(None);
        }
        let work = self.dir.join(".work").join(format!("{segment:06}.mp4"));
        let shape = OutputShape {
            size: Some(self.size),
            keyframe_interval: Some(self.spec.timing.segment_frames),
            fragmented: true,
        };
        let writer =
            FfmpegWriter::create_shaped(&work, &self.info, &self.spec.encode, None, &shape)?;
        let mut sink = SegmentSink {
            writer,
            wanted,
            written: 0,
            carried: VecDeque::new(),
        };
        while sink.written < wanted {
            if let Some(frame) = self.carried.pop_front() {
                sink.take(frame)?;
                continue;
            }
            if self.drained {
                break;
            }
            match self.reader.next_frame()? {
                Some(frame) => self.marker.push(frame, &mut |marked| sink.take(marked))?,
                None => {
                    self.drained = true;
                    self.marker.finish(&mut |marked| sink.take(marked))?;
                }
            }
        }
        // Frames already marked beyond this segment open the next one.
        self.carried.extend(sink.carried);
        let (writer, written) = (sink.writer, sink.written);
        if written == 0 {
            // The master ended before the title's stated length.
            drop(writer);
            return Ok(None);
        }
        Box::new(writer).finish()?;
        self.cut(segment, &work)?;
        self.next += 1;
        Ok(Some(segment))
    }

    /// Cuts the encoded fragment at `work` into the session's `init.mp4` (checked against an
    /// earlier run's) and the segment, retimed to its place in the title.
    fn cut(&self, segment: u32, work: &Path) -> Result<()> {
        let fail = |reason: String| {
            Error::Video(VideoError::Encode {
                path: work.to_path_buf(),
                reason,
            })
        };
        let data = fs::read(work).map_err(|source| Error::Io {
            path: work.to_path_buf(),
            source,
        })?;
        let _ = fs::remove_file(work);
        let pieces = cmaf::split(&data).map_err(|e| fail(e.to_string()))?;
        let [mut media] = <[Vec<u8>; 1]>::try_from(pieces.segments)
            .map_err(|s| fail(format!("{} fragments for one segment", s.len())))?;
        let timescale = cmaf::timescale(&pieces.init)
            .ok_or_else(|| fail("init segment has no timescale".into()))?;
        let rate = self.spec.timing.frame_rate;
        let decode_time =
            (self.spec.timing.first_frame(segment) as i128 * timescale as i128 * rate.den as i128
                / rate.num as i128) as u64;
        cmaf::retime(&mut media, segment + 1, decode_time).map_err(|e| fail(e.to_string()))?;
        let init = self.dir.join(INIT);
        match fs::read(&init) {
            Ok(existing) if existing != pieces.init => {
                return Err(fail(
                    "this run's initialisation segment differs from the session's first".into(),
                ));
            }
            Ok(_) => {}
            Err(_) => write_atomically(&init, &pieces.init)?,
        }
        write_atomically(&self.dir.join(segment_name(segment)), &media)
    }
}

/// The encoder of the segment being rendered, and what the marker hands back beyond it.
struct SegmentSink {
    writer: FfmpegWriter,
    wanted: u64,
    written: u64,
    carried: VecDeque<VideoFrame>,
}

impl SegmentSink {
    fn take(&mut self, frame: VideoFrame) -> Result<()> {
        if self.written < self.wanted {
            self.writer.write_frame(&frame)?;
            self.written += 1;
        } else {
            self.carried.push_back(frame);
        }
        Ok(())
    }
}

/// The RFC 6381 codecs string of a session's rendered stream (`avc1.64001e`), once its
/// initialisation segment exists.
pub fn codecs(dir: &Path) -> Option<String> {
    cmaf::avc_codecs(&fs::read(dir.join(INIT)).ok()?)
}
