//! Whole files and streams: decode, mark, encode (embed) and decode, accumulate, detect.
//!
//! Decoding and encoding run on their own threads, connected to the marking thread by small
//! bounded queues, so marking overlaps the codecs and adds little to a plain transcode.
//! `-` as a path means a y4m stream on stdin (input) or stdout (output).
//!
//! Marking takes progressive frames only: interlaced input is refused ([`Error::Interlaced`])
//! rather than marked across its fields. An embed can be stopped between frames
//! ([`EmbedJob::cancel`]); its temporary output is then removed, and a new embed first sweeps
//! the temporaries that killed processes left in its output folder ([`crate::video::temp`]).

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::thread;
use std::time::{Duration, Instant};

use crate::collusion::chips::IssuedCodewords;
use crate::collusion::{Accusation, Issued, merge_ranges};
use crate::detect::windows::{RecipientWindows, TwoStepDetection, WindowDetection};
use crate::detect::{Detection, Detector};
use crate::error::{Error, Result};
use crate::key::Key;
use crate::ledger::LedgerEntry;
use crate::mark::embed::EmbedConfig;
use crate::mark::marker::{CpuMarker, MarkerFactory, MarkingSetup};
use crate::metrics::{QualityStats, psnr, ssim};
use crate::overlay::{Overlay, OverlayConfig, SessionInfo};
use crate::video::ffmpeg::{self, EncodeOptions, FfmpegReader, FfmpegWriter};
use crate::video::y4m::{self, Y4mReader, Y4mWriter};
use crate::video::{FrameSink, FrameSource, PixelFormat, Planes, StreamInfo, VideoFrame, temp};

/// Frames in flight between stages: enough to keep every thread busy, bounded for memory
/// (a 4K 10-bit frame is 25 MB).
const QUEUE_DEPTH: usize = 4;

/// Detection threads: the per-frame work (resize, whiten) scales with cores until the decoder
/// becomes the bottleneck.
const MAX_DETECT_WORKERS: usize = 8;

/// The path meaning stdin (input) or stdout (output).
pub const STDIO: &str = "-";

/// What to embed and how to write it.
#[derive(Debug, Clone)]
pub struct EmbedJob<'a> {
    pub key: &'a Key,
    pub recipient: u32,
    pub config: EmbedConfig,
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
    pub frames: u64,
    pub wall_seconds: f64,
    pub quality: Option<QualityStats>,
    /// Streams of the input that could not be copied into the output container.
    pub skipped_streams: Vec<String>,
}

/// What a file detection found.
#[derive(Debug, Clone)]
pub struct FileDetection {
    pub info: StreamInfo,
    pub detection: Detection,
    /// Seconds of video accumulated (frames used / frame rate).
    pub seconds_analyzed: f64,
    /// When no recipient was found but the sync pattern was (a two-step leak's positions
    /// carry different payloads), what reading the file again window by window found.
    /// `None` when not tried (a recipient was found, no sync, or a stdin stream that
    /// cannot be read twice).
    pub two_step: Option<TwoStepDetection>,
    /// Recipients decoded from windows of the leak and where (read when the sync was found
    /// and the leak looks mixed, has no recipient, or issued copies were given).
    pub timeline: Vec<RecipientWindows>,
    /// With issued copies: everyone accused, most certain first (see `collusion`).
    pub accusations: Vec<Accusation>,
    /// Frame sizes (width, height) read, in order of first appearance: more than one for a
    /// stream rip that switched renditions (all were detected together).
    pub frame_sizes: Vec<(usize, usize)>,
    /// Which key of the keyring the answer is under.
    pub key_index: usize,
    /// Keys tried (every probability reported is charged for all of them).
    pub keys_tried: usize,
}

/// Sync p-value under which a leak is read again window by window. Only a gate on the cost:
/// every answer from the windows carries its own false-positive bound.
const WINDOW_SYNC_GATE: f64 = 1e-3;

/// Progress callback: frames done so far, and the expected total when known.
pub type Progress<'a> = &'a mut dyn FnMut(u64, Option<u64>);

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
    let (info, frames_in, reader) = spawn_reader(input.to_path_buf(), true)?;
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
    })?;
    let (frames_out, writer_queue) = sync_channel::<ToWriter>(QUEUE_DEPTH);
    let copy_from = (input != Path::new(STDIO)).then(|| input.to_path_buf());
    let writer = {
        let (output, info, encode) = (output.to_path_buf(), info.clone(), job.encode.clone());
        let pace = job.realtime.then(|| frame_rate(&info));
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
            return Err(Error::NoFrames {
                path: input.to_path_buf(),
            });
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

/// Accumulates up to `max_seconds` of `input` (all of it when `None`) and detects under `key`.
pub fn detect_file(
    input: &Path,
    key: &Key,
    max_seconds: Option<f64>,
    progress: Progress,
) -> Result<FileDetection> {
    let keyring = [KeyringEntry { key, issued: None }];
    detect_file_with(input, &keyring, max_seconds, progress)
}

/// One key of a keyring, with what its ledger says was issued under it (to accuse from).
#[derive(Debug, Clone, Copy)]
pub struct KeyringEntry<'a> {
    pub key: &'a Key,
    pub issued: Option<&'a Issued>,
}

/// Keys to detect under, each with what a ledger says was issued under it: what CLI and
/// Python build once and detect many files with.
#[derive(Debug)]
pub struct Keyring {
    keys: Vec<Key>,
    /// Per key: its ledger entries (empty without a ledger) and the copies they issued.
    issued: Vec<(Vec<LedgerEntry>, Option<Issued>)>,
}

impl Keyring {
    /// `keys` (repeats by fingerprint dropped), with what `ledger` issued under each, to be
    /// accused at `false_accusation` (see `collusion`). A damaged ledger is an error.
    pub fn new(keys: Vec<Key>, ledger: Option<&Path>, false_accusation: f64) -> Result<Keyring> {
        let mut unique: Vec<Key> = Vec::with_capacity(keys.len());
        for key in keys {
            if !unique.iter().any(|k| k.fingerprint() == key.fingerprint()) {
                unique.push(key);
            }
        }
        // One read (and chain check) of the ledger, split by key.
        let entries = ledger.map(crate::ledger::trusted_entries).transpose()?;
        let issued = unique
            .iter()
            .map(|key| match &entries {
                Some(entries) => {
                    let fingerprint = key.fingerprint();
                    let mine: Vec<LedgerEntry> = entries
                        .iter()
                        .filter(|e| e.key_fingerprint == fingerprint)
                        .cloned()
                        .collect();
                    let issued = Issued::from_entries(&mine, false_accusation);
                    (mine, Some(issued))
                }
                None => (Vec::new(), None),
            })
            .collect();
        Ok(Keyring {
            keys: unique,
            issued,
        })
    }

    /// The entries [`detect_file_with`] takes.
    pub fn entries(&self) -> Vec<KeyringEntry<'_>> {
        self.keys
            .iter()
            .zip(&self.issued)
            .map(|(key, (_, issued))| KeyringEntry {
                key,
                issued: issued.as_ref(),
            })
            .collect()
    }

    pub fn key(&self, index: usize) -> &Key {
        &self.keys[index]
    }

    /// The ledger label of `id` (a copy, or a session of `title`) issued under key `index`.
    pub fn label(&self, index: usize, id: u32, title: Option<u16>) -> Option<&str> {
        crate::ledger::latest_issue(&self.issued[index].0, id as u64, title)
            .and_then(|e| e.label.as_deref())
    }

    /// What the ledger issued under key `index`, when a ledger was given.
    pub fn issued(&self, index: usize) -> Option<&Issued> {
        self.issued[index].1.as_ref()
    }
}

/// [`detect_file`] under every key of `keyring` (one accumulation, each key tried on it),
/// also accusing among each key's issued copies and sessions. The answer is the key that
/// found the most ([`FileDetection::key_index`]); every probability reported is multiplied
/// by the number of keys tried, since each key was one more chance of a false answer.
///
/// # Panics
///
/// If `keyring` is empty.
pub fn detect_file_with(
    input: &Path,
    keyring: &[KeyringEntry],
    max_seconds: Option<f64>,
    progress: Progress,
) -> Result<FileDetection> {
    assert!(!keyring.is_empty(), "detection needs at least one key");
    let mut detector = Detector::new();
    let info = accumulate_file(input, max_seconds, &mut detector, progress)?;
    let seconds_analyzed = detector.frames() as f64 / frame_rate(&info);
    let evidence = detector.evidence();
    let keys = keyring.len() as f64;
    let mut tried: Vec<(Detection, IssuedCodewords)> = keyring
        .iter()
        .map(|entry| {
            let codewords = entry.issued.map_or_else(IssuedCodewords::default, |i| {
                IssuedCodewords::new(entry.key, &i.recipients)
            });
            let max_tail = entry.issued.map_or(0.0, |i| {
                i.false_accusation / (codewords.len().max(1) as f64 * keys)
            });
            (
                evidence.detect_with(entry.key, &codewords, max_tail),
                codewords,
            )
        })
        .collect();
    let key_index = strongest(tried.iter().map(|(d, _)| d));
    let (mut detection, codewords) = tried.swap_remove(key_index);
    let KeyringEntry { key, issued } = keyring[key_index];
    let worth_windows =
        detection.recipient.is_none() || !detection.mixed_with.is_empty() || issued.is_some();
    let windows =
        if worth_windows && detection.sync_p_value <= WINDOW_SYNC_GATE && input != Path::new(STDIO)
        {
            let mut reader = evidence
                .window_reader(key, frame_rate(&info), issued.zip(Some(&codewords)))
                .expect("frames were accumulated");
            let (_, frames, handle) = spawn_reader(input.to_path_buf(), false)?;
            let limit = detector.frames() as u64;
            let read = frames
                .into_iter()
                .take(limit as usize)
                .try_for_each(|frame| frame?.read_windows(&mut reader));
            handle.join().expect("reader thread does not panic");
            read?;
            Some(reader.finish())
        } else {
            None
        };
    let accusations = issued.map_or_else(Vec::new, |issued| {
        accusations(issued, &detection, windows.as_ref(), seconds_analyzed, keys)
    });
    let (mut two_step, timeline) = match windows {
        Some(w) => {
            let two_step = (detection.recipient.is_none() || !w.two_step.reads.is_empty())
                .then_some(w.two_step);
            (two_step, w.recipients)
        }
        None => (None, Vec::new()),
    };
    // Every key tried was one more chance of each false answer.
    let charge = |p: &mut Option<f64>| *p = p.map(|p| (p * keys).min(1.0));
    charge(&mut detection.false_positive_probability);
    detection.sync_p_value = (detection.sync_p_value * keys).min(1.0);
    if let Some(t) = &mut two_step {
        charge(&mut t.mark_false_positive_probability);
        t.titles
            .iter_mut()
            .for_each(|title| charge(&mut title.false_positive_probability));
    }
    Ok(FileDetection {
        detection,
        info,
        seconds_analyzed,
        two_step,
        timeline,
        accusations,
        frame_sizes: detector.frame_sizes().to_vec(),
        key_index,
        keys_tried: keyring.len(),
    })
}

/// The key whose detection found the most: a decoded recipient (most certain first), else
/// accusations, else the strongest sync.
fn strongest<'d>(detections: impl Iterator<Item = &'d Detection>) -> usize {
    let rank = |d: &Detection| {
        (
            d.recipient.is_none(),
            d.false_positive_probability.unwrap_or(1.0),
            d.accused.is_empty(),
            d.sync_p_value,
        )
    };
    detections
        .enumerate()
        .min_by(|(_, a), (_, b)| {
            let (a, b) = (rank(a), rank(b));
            a.0.cmp(&b.0)
                .then(a.1.total_cmp(&b.1))
                .then(a.2.cmp(&b.2))
                .then(a.3.total_cmp(&b.3))
        })
        .map_or(0, |(i, _)| i)
}

/// Everyone accused, over the whole leak and its windows, with the union bound over every
/// test made (see `collusion`): recipients were scored once over the whole leak and once per
/// scored window, sessions once over the leak, all under each of `keys` keys.
fn accusations(
    issued: &Issued,
    whole: &Detection,
    windows: Option<&WindowDetection>,
    seconds: f64,
    keys: f64,
) -> Vec<Accusation> {
    let scored = windows.map_or(0, |w| w.windows_scored) as f64;
    let tests = keys * issued.recipients.len() as f64 * (1.0 + scored);
    let mut found: Vec<Accusation> = Vec::new();
    let mut add = |id: u32, title: Option<u16>, probability: f64, ranges: &[(f64, f64)]| match found
        .iter_mut()
        .find(|a| a.id == id && a.title == title)
    {
        Some(a) => {
            a.false_accusation_probability = a.false_accusation_probability.min(probability);
            a.time_ranges.extend_from_slice(ranges);
        }
        None => found.push(Accusation {
            id,
            title,
            false_accusation_probability: probability,
            time_ranges: ranges.to_vec(),
        }),
    };
    for a in &whole.accused {
        add(a.id, None, tests * a.tail, &[]);
    }
    if let Some(w) = windows {
        for (a, ranges) in &w.accused {
            add(a.id, None, tests * a.tail, ranges);
        }
        // Every issued session of every title counts, whichever titles the leak holds.
        let sessions = keys * issued.sessions.values().map(Vec::len).sum::<usize>() as f64;
        for t in &w.two_step.titles {
            for (a, ranges) in &t.accused {
                add(a.id, Some(t.title), sessions * a.tail, ranges);
            }
        }
    }
    let decoded_ranges = |id: u32| {
        windows
            .into_iter()
            .flat_map(|w| &w.recipients)
            .filter(move |r| r.recipient == id)
            .flat_map(|r| r.time_ranges.iter().copied())
    };
    found.retain(|a| a.false_accusation_probability <= issued.false_accusation);
    for a in &mut found {
        if a.title.is_none() {
            a.time_ranges.extend(decoded_ranges(a.id));
        }
        if a.time_ranges.is_empty() {
            a.time_ranges.push((0.0, seconds));
        }
        a.false_accusation_probability = a.false_accusation_probability.min(1.0);
        a.time_ranges = merge_ranges(std::mem::take(&mut a.time_ranges));
    }
    found.sort_by(|a, b| {
        a.false_accusation_probability
            .total_cmp(&b.false_accusation_probability)
    });
    found
}

/// Feeds up to `max_seconds` of `input` into `detector`; returns the stream description.
/// Separate from [`detect_file`] so callers can try several keys on one accumulation.
pub fn accumulate_file(
    input: &Path,
    max_seconds: Option<f64>,
    detector: &mut Detector,
    progress: Progress,
) -> Result<StreamInfo> {
    let (info, frames_in, reader) = spawn_reader(input.to_path_buf(), false)?;
    let limit = max_seconds.map(|s| (s.max(0.0) * frame_rate(&info)).ceil().max(1.0) as u64);

    // Accumulation is a sum over frames, so frames are spread over worker threads, each with
    // its own detector (all on the plane of the stream's first frame, which a stream rip's
    // later renditions are brought to), and the detectors merged at the end.
    let workers = thread::available_parallelism()
        .map_or(1, |n| n.get())
        .clamp(1, MAX_DETECT_WORKERS);
    let (queues, handles): (Vec<_>, Vec<_>) = (0..workers)
        .map(|_| {
            let (tx, rx) = sync_channel::<VideoFrame>(2);
            let (width, height) = (info.width, info.height);
            let handle = thread::spawn(move || -> Result<Detector> {
                let mut local = Detector::for_stream(width, height);
                for frame in rx {
                    frame.add_to(&mut local)?;
                }
                Ok(local)
            });
            (tx, handle)
        })
        .unzip();
    let mut frames = 0u64;
    let result = (|| -> Result<()> {
        for frame in frames_in {
            if queues[frames as usize % workers].send(frame?).is_err() {
                break; // that worker failed; its error is reported below
            }
            frames += 1;
            progress(frames, limit.or(info.frames_hint));
            if limit.is_some_and(|l| frames >= l) {
                break; // dropping the queue lets the reader stop early
            }
        }
        Ok(())
    })();
    drop(queues);
    let locals: Vec<Result<Detector>> = handles
        .into_iter()
        .map(|h| h.join().expect("detector thread does not panic"))
        .collect();
    reader.join().expect("reader thread does not panic");
    result?;
    for local in locals {
        detector.merge(local?)?;
    }
    if frames == 0 {
        return Err(Error::NoFrames {
            path: input.to_path_buf(),
        });
    }
    Ok(info)
}

fn frame_rate(info: &StreamInfo) -> f64 {
    let rate = info.frame_rate.as_f64();
    if rate > 0.0 { rate } else { 25.0 }
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
        Some(wanted) if wanted != info.format => Err(Error::Encode {
            path: output.to_path_buf(),
            reason: format!(
                "a y4m stream keeps the source's pixel format ({}); {} needs an encoded output",
                info.format.name(),
                wanted.name()
            ),
        }),
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
                Error::Encode {
                    path: output.to_path_buf(),
                    reason: "output is the input file".into(),
                }
            } else {
                Error::OutputExists {
                    path: output.to_path_buf(),
                }
            });
        }
    }
    Ok(())
}

pub(crate) type FrameQueue = Receiver<Result<VideoFrame>>;

/// Opens `input` on its own thread and streams its frames through a bounded queue. Returns
/// once the stream's description is known (or opening failed). `progressive_only` refuses
/// interlaced video.
pub(crate) fn spawn_reader(
    input: PathBuf,
    progressive_only: bool,
) -> Result<(StreamInfo, FrameQueue, thread::JoinHandle<()>)> {
    let (info_tx, info_rx) = sync_channel::<Result<StreamInfo>>(1);
    let (frame_tx, frame_rx) = sync_channel::<Result<VideoFrame>>(QUEUE_DEPTH);
    let handle = thread::spawn(move || {
        let mut source: Box<dyn FrameSource> = match open_source(&input, progressive_only) {
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
            Err(Error::InvalidVideo {
                path: PathBuf::from(STDIO),
                reason: "the reader stopped before describing the stream".into(),
            })
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

fn open_source(input: &Path, progressive_only: bool) -> Result<Box<dyn FrameSource>> {
    if input == Path::new(STDIO) {
        let reader = Y4mReader::new(std::io::stdin().lock(), STDIO)?;
        match reader.info().interlaced {
            Some(order) if progressive_only => Err(Error::Interlaced {
                path: PathBuf::from(STDIO),
                order: order.describe(),
            }),
            _ => Ok(Box::new(reader)),
        }
    } else {
        let mut reader = FfmpegReader::open(input)?;
        if progressive_only {
            reader.refuse_interlaced()?;
        } else {
            // Detection takes a stream rip's renditions as they come.
            reader.allow_size_changes();
        }
        Ok(Box::new(reader))
    }
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

/// Refuses ([`Error::Ledger`]) when the ledger at `path` exists and its hash chain is
/// damaged. Called before an embed, so no time is spent on a copy that could not be recorded.
pub fn check_ledger_before_embed(path: &Path) -> Result<()> {
    if !path.exists() {
        return Ok(());
    }
    match crate::ledger::verify(path)?.problem {
        Some(problem) => Err(Error::Ledger {
            path: path.to_path_buf(),
            reason: format!("damaged ({}); not embedding", problem.message),
        }),
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
            crate::ledger::sha256_file(file)
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
