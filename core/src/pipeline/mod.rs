//! Whole files and streams: decode, mark, encode (embed) and decode, accumulate, detect.
//!
//! Decoding and encoding run on their own threads, connected to the marking thread by small
//! bounded queues, so marking overlaps the codecs and adds little to a plain transcode.
//! `-` as a path means a y4m stream on stdin (input) or stdout (output).
//!
//! Marking takes progressive frames only: interlaced input is refused ([`VideoError::Interlaced`])
//! rather than marked across its fields. An embed can be stopped between frames
//! ([`EmbedJob::cancel`]); its temporary output is then removed, and a new embed first sweeps
//! the temporaries that killed processes left in its output folder ([`crate::video::temp`]).

use std::collections::VecDeque;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::thread;
use std::time::{Duration, Instant};

use crate::error::{Error, LedgerError, Result, VideoError};
use crate::key::Key;
use crate::mark::embed::EmbedConfig;
use crate::marker::{CpuMarker, MarkerFactory, MarkingSetup};
use crate::metrics::{QualityStats, psnr, ssim};
use crate::overlay::{Overlay, OverlayConfig, SessionInfo};
use crate::video::ffmpeg::{self, EncodeOptions, FfmpegWriter};
use crate::video::readahead::{QUEUE_DEPTH, ReadFor, spawn_reader};
use crate::video::y4m::{self, Y4mWriter};
use crate::video::{FrameSink, PixelFormat, Planes, StreamInfo, VideoFrame, temp};

mod detect;
mod informed;

pub use crate::video::readahead::{Progress, STDIO};
pub use detect::{
    DENSE_SECONDS, Explained, FileDetection, Keyring, KeyringEntry, ReadPlan, Registration,
    detect_file, detect_file_with,
};
pub use informed::{INFORMED_MAX_SECONDS, detect_file_informed};

/// What to embed and how to write it.
#[derive(Debug, Clone)]
pub struct EmbedJob<'a> {
    /// The marking key.
    pub key: &'a Key,
    /// The recipient ID marked into every frame.
    pub recipient: u32,
    /// Mark strength.
    pub config: EmbedConfig,
    /// Encoder, quality, preset and pixel format of the output.
    pub encode: EncodeOptions,
    /// Replace an existing output file.
    pub overwrite: bool,
    /// Measure luma PSNR/SSIM of every marked frame against its original (costs ~50 ms per
    /// 1080p frame for SSIM).
    pub measure_quality: bool,
    /// A visible overlay burned in before marking (the mark then covers it too).
    pub overlay: Option<OverlayConfig>,
    /// The session the overlay shows; `None` means this recipient, no label, a random
    /// session ID, starting now.
    pub session: Option<SessionInfo>,
    /// Write frames no faster than the source frame rate (live playback from a pipe).
    pub realtime: bool,
    /// Once set (by a signal handler, say), the embed stops at the next frame with
    /// [`Error::Interrupted`] and writes nothing.
    pub cancel: Option<&'a AtomicBool>,
}

/// What an embed did.
#[derive(Debug, Clone)]
pub struct EmbedReport {
    /// The source stream.
    pub info: StreamInfo,
    /// Pixel format of the written video (see [`EncodeOptions::pix_fmt`]).
    pub output_format: PixelFormat,
    /// Frames marked and written.
    pub frames: u64,
    /// Wall-clock seconds the embed took, from opening the input to the finished output.
    pub wall_seconds: f64,
    /// Luma PSNR/SSIM of the marked frames against their originals, when `measure_quality` was set.
    pub quality: Option<QualityStats>,
    /// Streams of the input that could not be copied into the output container.
    pub skipped_streams: Vec<String>,
}

/// Marks `input` for `job.recipient` on the CPU and writes `output` (temp file + rename: the
/// output appears complete or not at all).
pub fn embed_file(
    input: &Path,
    output: &Path,
    job: &EmbedJob,
    progress: Progress,
) -> Result<EmbedReport> {
    embed_file_with(input, output, job, &CpuMarker::create, progress)
}

/// [`embed_file`] with the marking stage built by `make_marker` (the GPU path passes its own).
pub fn embed_file_with(
    input: &Path,
    output: &Path,
    job: &EmbedJob,
    make_marker: MarkerFactory,
    progress: Progress,
) -> Result<EmbedReport> {
    check_output(input, output, job.overwrite)?;
    if output != Path::new(STDIO) {
        temp::sweep_stale_beside(output);
    }
    let started = Instant::now();
    let (info, frames_in, reader) = spawn_reader(input.to_path_buf(), ReadFor::Marking)?;
    let output_format = plan_output(output, &info, &job.encode)?;
    let cancelled = || job.cancel.is_some_and(|c| c.load(Ordering::Relaxed));
    let session = match &job.session {
        Some(session) => session.clone(),
        None => SessionInfo::new(job.recipient, None, SessionInfo::random_id()?),
    };
    let new_overlay = || -> Result<Option<Overlay>> {
        job.overlay
            .as_ref()
            .map(|config| {
                Overlay::new(
                    config,
                    &session,
                    job.key,
                    info.width,
                    info.height,
                    info.frame_rate,
                )
                .map(|overlay| overlay.starting_at(info.timecode))
            })
            .transpose()
    };
    let mut marker = make_marker(MarkingSetup {
        key: job.key,
        recipient: job.recipient,
        config: job.config,
        info: &info,
        overlay: new_overlay()?,
        first_frame: 0,
    })?;
    let (frames_out, writer_queue) = sync_channel::<ToWriter>(QUEUE_DEPTH);
    let copy_from = (input != Path::new(STDIO)).then(|| input.to_path_buf());
    let writer = {
        let (output, info, encode) = (output.to_path_buf(), info.clone(), job.encode.clone());
        let pace = job.realtime.then(|| info.frames_per_second());
        thread::spawn(move || {
            write_all(
                &output,
                &info,
                &encode,
                copy_from.as_deref(),
                pace,
                writer_queue,
            )
        })
    };

    let mut collector = Collector {
        quality: match job.measure_quality {
            true => Some(QualityCheck {
                stats: QualityStats::default(),
                overlay: new_overlay()?,
                references: VecDeque::new(),
            }),
            false => None,
        },
        frames: 0,
        frames_hint: info.frames_hint,
        queue: frames_out,
        writer_gone: false,
        progress,
    };
    let mut frames_read = 0u64;
    let marking = (|| -> Result<()> {
        for frame in frames_in {
            if cancelled() {
                return Err(Error::Interrupted);
            }
            let frame = frame?;
            collector.add_reference(&frame, frames_read)?;
            frames_read += 1;
            marker.push(frame, &mut |marked| collector.take(marked))?;
            if collector.writer_gone {
                return Ok(());
            }
        }
        marker.finish(&mut |marked| collector.take(marked))?;
        if frames_read == 0 {
            return Err(VideoError::NoFrames {
                path: input.to_path_buf(),
            }
            .into());
        }
        if cancelled() {
            return Err(Error::Interrupted);
        }
        // Only a complete, error-free stream is committed to the output file.
        let _ = collector.queue.send(ToWriter::End);
        Ok(())
    })();
    let Collector {
        quality,
        frames,
        queue,
        ..
    } = collector;
    // Without `End`, the closed queue tells the writer to discard its output.
    drop(queue);
    let written = writer.join().expect("writer thread does not panic");
    reader.join().expect("reader thread does not panic");
    marking?;
    let skipped_streams = written?;
    Ok(EmbedReport {
        info,
        output_format,
        frames,
        wall_seconds: started.elapsed().as_secs_f64(),
        quality: quality.map(|check| check.stats),
        skipped_streams,
    })
}

/// The far side of the marking stage: measures each marked frame against its reference
/// and hands it to the writer.
struct Collector<'a> {
    quality: Option<QualityCheck>,
    frames: u64,
    frames_hint: Option<u64>,
    queue: SyncSender<ToWriter>,
    /// The writer failed (its error is reported when it is joined).
    writer_gone: bool,
    progress: Progress<'a>,
}

/// Quality measures the invisible mark alone, so the reference is the input frame with the
/// overlay burned in, drawn by a second overlay.
struct QualityCheck {
    stats: QualityStats,
    overlay: Option<Overlay>,
    /// References of the frames inside the marker, oldest first.
    references: VecDeque<VideoFrame>,
}

impl Collector<'_> {
    fn add_reference(&mut self, frame: &VideoFrame, frame_index: u64) -> Result<()> {
        if let Some(check) = self.quality.as_mut() {
            let mut reference = frame.clone();
            if let Some(overlay) = check.overlay.as_mut() {
                overlay.apply(&mut reference, frame_index)?;
            }
            check.references.push_back(reference);
        }
        Ok(())
    }

    fn take(&mut self, marked: VideoFrame) -> Result<()> {
        if let Some(check) = self.quality.as_mut() {
            let reference = check
                .references
                .pop_front()
                .expect("markers return each frame once");
            let (p, s) = luma_quality(&reference, &marked);
            check.stats.add(p, s);
        }
        self.frames += 1;
        (self.progress)(self.frames, self.frames_hint);
        self.writer_gone |= self.queue.send(ToWriter::Frame(Box::new(marked))).is_err();
        Ok(())
    }
}

/// Messages to the writer thread: it commits its output only after `End`.
enum ToWriter {
    Frame(Box<VideoFrame>),
    End,
}

fn is_y4m(path: &Path) -> bool {
    path == Path::new(STDIO)
        || path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("y4m"))
}

/// The pixel format `output` will be written in; fails before any frame is marked when the
/// codec, container, pixel format or quality settings do not fit together.
fn plan_output(output: &Path, info: &StreamInfo, encode: &EncodeOptions) -> Result<PixelFormat> {
    if !is_y4m(output) {
        return ffmpeg::output_format(output, info.format, encode);
    }
    match encode.pix_fmt {
        Some(wanted) if wanted != info.format => Err(VideoError::Encode {
            path: output.to_path_buf(),
            reason: format!(
                "a y4m stream keeps the source's pixel format ({}); {} needs an encoded output",
                info.format.name(),
                wanted.name()
            ),
        }
        .into()),
        _ => Ok(info.format),
    }
}

fn check_output(input: &Path, output: &Path, overwrite: bool) -> Result<()> {
    if output == Path::new(STDIO) {
        return Ok(());
    }
    if output.exists() {
        let same =
            input != Path::new(STDIO) && input.canonicalize().ok() == output.canonicalize().ok();
        if same || !overwrite {
            return Err(if same {
                VideoError::Encode {
                    path: output.to_path_buf(),
                    reason: "output is the input file".into(),
                }
                .into()
            } else {
                Error::OutputExists {
                    path: output.to_path_buf(),
                }
            });
        }
    }
    Ok(())
}

/// Writes every frame from the queue; returns the input streams the output could not carry.
fn write_all(
    output: &Path,
    info: &StreamInfo,
    encode: &EncodeOptions,
    copy_from: Option<&Path>,
    pace: Option<f64>,
    queue: Receiver<ToWriter>,
) -> Result<Vec<String>> {
    // Opened on the first message, so a stream that fails before its first frame never
    // creates an encoder (sized from an unchecked header) or a temporary file.
    let open = || -> Result<(Box<dyn FrameSink>, Vec<String>)> {
        Ok(if output == Path::new(STDIO) {
            (
                Box::new(Y4mWriter::new(std::io::stdout().lock(), info, STDIO)?),
                Vec::new(),
            )
        } else if is_y4m(output) {
            (y4m::create_file(output, info)?, Vec::new())
        } else {
            let writer = FfmpegWriter::create(output, info, encode, copy_from)?;
            let skipped = writer.skipped_streams().to_vec();
            (Box::new(writer), skipped)
        })
    };
    let mut opened: Option<(Box<dyn FrameSink>, Vec<String>)> = None;
    let mut written = 0u64;
    let mut first_written: Option<Instant> = None;
    for message in queue {
        if opened.is_none() {
            opened = Some(open()?);
        }
        let (sink, skipped) = opened.as_mut().expect("opened above");
        match message {
            ToWriter::Frame(frame) => {
                if let Some(rate) = pace {
                    // Frame n is due n / rate seconds after the first: a player reading the
                    // stream sees it arrive as if live.
                    let start = *first_written.get_or_insert_with(Instant::now);
                    let due = start + Duration::from_secs_f64(written as f64 / rate);
                    thread::sleep(due.saturating_duration_since(Instant::now()));
                }
                sink.write_frame(&frame)?;
                written += 1;
            }
            ToWriter::End => {
                let skipped = std::mem::take(skipped);
                let (sink, _) = opened.take().expect("opened above");
                sink.finish()?;
                return Ok(skipped);
            }
        }
    }
    // The stream ended without `End`: the embed failed, so the sink is dropped unfinished
    // and its temporary file removed.
    Ok(opened.map(|(_, skipped)| skipped).unwrap_or_default())
}

fn luma_quality(original: &VideoFrame, marked: &VideoFrame) -> (f64, f64) {
    let depth = original.format.bit_depth();
    match (&original.planes, &marked.planes) {
        (Planes::Eight(a), Planes::Eight(b)) => (
            psnr(a[0].view(), b[0].view(), depth),
            ssim(a[0].view(), b[0].view(), depth),
        ),
        (Planes::High(a), Planes::High(b)) => (
            psnr(a[0].view(), b[0].view(), depth),
            ssim(a[0].view(), b[0].view(), depth),
        ),
        _ => unreachable!("marking keeps the plane type"),
    }
}

/// Refuses ([`LedgerError::DamagedBeforeEmbed`]) when the ledger at `path` exists and its hash chain is
/// damaged. Called before an embed, so no time is spent on a copy that could not be recorded.
pub fn check_ledger_before_embed(path: &Path) -> Result<()> {
    if !path.exists() {
        return Ok(());
    }
    match crate::ledger::verify(path)?.problem {
        Some(problem) => Err(LedgerError::DamagedBeforeEmbed {
            path: path.to_path_buf(),
            problem: problem.message,
        }
        .into()),
        None => Ok(()),
    }
}

/// Appends the ledger entry for a finished embed of `input` into `output`: recipient, label,
/// key fingerprint and both files' SHA-256 ([`crate::ledger::UNHASHED_STREAM`] for a pipe).
/// Creates the ledger if it is missing.
pub fn record_in_ledger(
    path: &Path,
    key: &Key,
    recipient: u32,
    label: Option<&str>,
    input: &Path,
    output: &Path,
) -> Result<crate::ledger::LedgerEntry> {
    let file_hash = |file: &Path| -> Result<String> {
        if file == Path::new(STDIO) {
            Ok(crate::ledger::UNHASHED_STREAM.to_string())
        } else {
            crate::digest::sha256_file(file)
        }
    };
    crate::ledger::append(
        path,
        &crate::ledger::NewEntry {
            recipient: recipient as u64,
            label,
            key_fingerprint: &key.fingerprint(),
            input_sha256: &file_hash(input)?,
            output_sha256: &file_hash(output)?,
            session: None,
        },
    )
}
