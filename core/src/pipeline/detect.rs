//! Detection of whole files: read a suspect file (looking at its evidence on a fixed
//! schedule, see [`crate::detect::looks`]), try every key of a keyring on one accumulation,
//! read it again window by window where the leak looks mixed or two-step, and accuse.

use std::path::Path;
use std::sync::mpsc::{SyncSender, sync_channel};
use std::thread;

use crate::collusion::chips::IssuedCodewords;
use crate::collusion::{Accusation, Issued, merge_ranges};
use crate::detect::looks::{self, LookSchedule};
use crate::detect::screen::FrameScreen;
use crate::detect::windows::{
    RecipientWindows, TwoStepDetection, WindowDetection, WindowReader, WindowStrength,
};
use crate::detect::{Detection, Detector, Evidence, SyncPicture};
use crate::error::{Result, VideoError};
use crate::key::Key;
use crate::ledger::LedgerEntry;
use crate::video::readahead::{Progress, ReadFor, STDIO, spawn_reader};
use crate::video::{StreamInfo, VideoFrame};

/// Detection threads: the per-frame work (resize, whiten) scales with cores until the decoder
/// becomes the bottleneck.
const MAX_DETECT_WORKERS: usize = 8;

/// What a file detection found.
#[derive(Debug, Clone)]
pub struct FileDetection {
    /// The file's video stream: size, format, frame rate, colour.
    pub info: StreamInfo,
    /// What the detector found under the key at `key_index`: recipient, sync, probabilities.
    pub detection: Detection,
    /// Seconds of the file read (by its timestamps), up to where reading stopped.
    pub seconds_analyzed: f64,
    /// Whether reading stopped at a look, before the end of the file (or `max_seconds`).
    pub stopped_early: bool,
    /// Looks the schedule could make on this file (every probability reported is charged
    /// for all of them); 1 when every frame was read ([`ReadPlan::full`]).
    pub looks: usize,
    /// Frames read but not accumulated: flat (black) and repeated ones.
    pub frames_screened: u64,
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
    /// With [`ReadPlan::explain`]: what an evidence report shows.
    pub explained: Option<Explained>,
    /// Informed detection (`detect_file_informed`): how the leak was registered to its
    /// master.
    pub registration: Option<Registration>,
}

/// How a leak was registered to its master.
#[derive(Debug, Clone, PartialEq)]
pub struct Registration {
    /// Leak frames registered (all those read).
    pub frames: usize,
    /// Mean thumbnail correlation of each leak frame with its master frame (1 = identical
    /// pictures up to gain and offset).
    pub mean_similarity: f64,
    /// First and last master time (seconds) the leak's frames were matched to.
    pub master_span: (f64, f64),
}

/// What an evidence report shows beyond the verdict, under the key of the answer.
#[derive(Debug, Clone)]
pub struct Explained {
    /// The sync search: every candidate's peak, the surface around the strongest.
    pub sync: SyncPicture,
    /// The sync's strength window by window (empty when the sync was not found, so the
    /// leak was not read again).
    pub strength: Vec<WindowStrength>,
}

/// Sync p-value under which a leak is read again window by window. Only a gate on the cost:
/// every answer from the windows carries its own false-positive bound.
const WINDOW_SYNC_GATE: f64 = 1e-3;

/// How much of a suspect file detection reads.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ReadPlan {
    /// At most this many seconds from the start (all of it when `None`).
    pub max_seconds: Option<f64>,
    /// Fast verdicts: look at the evidence at 4, 8, 16 … s and stop at the first
    /// conclusive look ([`looks::conclusive`]); past [`DENSE_SECONDS`], decode keyframes
    /// only. Otherwise every frame is read and looked at once, at the end.
    pub fast: bool,
    /// Also keep what an evidence report shows ([`FileDetection::explained`]): reads the
    /// leak a second time, window by window, whenever the sync is found.
    pub explain: bool,
}

impl ReadPlan {
    /// Every frame, up to `max_seconds`; one look.
    pub fn full(max_seconds: Option<f64>) -> ReadPlan {
        ReadPlan {
            max_seconds,
            fast: false,
            explain: false,
        }
    }

    /// Fast verdicts, up to `max_seconds`.
    pub fn fast(max_seconds: Option<f64>) -> ReadPlan {
        ReadPlan {
            max_seconds,
            fast: true,
            explain: false,
        }
    }

    /// The looks for a file whose stream says `info`.
    fn schedule(&self, info: &StreamInfo) -> LookSchedule {
        if !self.fast {
            return LookSchedule::none();
        }
        let stated = info
            .frames_hint
            .map(|n| n as f64 / info.frames_per_second());
        let length = match (stated, self.max_seconds) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        LookSchedule::for_length(length)
    }
}

/// Seconds a fast read decodes in full before it samples keyframes: every look up to 32 s
/// sees every frame (what a short or heavily attacked leak needs); a film's remaining hours
/// are crossed at its keyframes, hundreds of them, each a frame of the encode's best quality.
pub const DENSE_SECONDS: f64 = 32.0;

/// Reads `input` as `plan` says and detects under `key`.
pub fn detect_file(
    input: &Path,
    key: &Key,
    plan: &ReadPlan,
    progress: Progress,
) -> Result<FileDetection> {
    let keyring = [KeyringEntry { key, issued: None }];
    detect_file_with(input, &keyring, plan, progress)
}

/// One key of a keyring, with what its ledger says was issued under it (to accuse from).
#[derive(Debug, Clone, Copy)]
pub struct KeyringEntry<'a> {
    /// A key to detect under.
    pub key: &'a Key,
    /// What the ledger says was issued under `key`, to accuse from; `None` without a ledger.
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

    /// The key at `index` (the keys given, repeats dropped, in order); panics past the end.
    pub fn key(&self, index: usize) -> &Key {
        &self.keys[index]
    }

    /// The ledger label of `id` (a copy, or a session of `title`) issued under key `index`.
    pub fn label(&self, index: usize, id: u32, title: Option<u16>) -> Option<&str> {
        crate::ledger::latest_issue(&self.issued[index].0, id as u64, title)
            .and_then(|e| e.label.as_deref())
    }

    /// Whether recipient `id` under key `index` is a live session (`session new --live`):
    /// marked like a single-step copy, but named by the session's hex ID.
    pub fn is_live_session(&self, index: usize, id: u32) -> bool {
        crate::ledger::latest_issue(&self.issued[index].0, id as u64, None)
            .is_some_and(|e| e.live().is_some())
    }

    /// What the ledger issued under key `index`, when a ledger was given.
    pub fn issued(&self, index: usize) -> Option<&Issued> {
        self.issued[index].1.as_ref()
    }
}

/// [`detect_file`] under every key of `keyring` (one accumulation, each key tried on it),
/// also accusing among each key's issued copies and sessions. The answer is the key that
/// found the most ([`FileDetection::key_index`]); every probability reported is multiplied
/// by the number of keys tried and of looks the plan could make, since each was one more
/// chance of a false answer.
///
/// # Panics
///
/// If `keyring` is empty.
pub fn detect_file_with(
    input: &Path,
    keyring: &[KeyringEntry],
    plan: &ReadPlan,
    progress: Progress,
) -> Result<FileDetection> {
    assert!(!keyring.is_empty(), "detection needs at least one key");
    let codewords = issued_codewords(keyring);
    let read = read_suspect(input, plan, progress, |detector, looks| {
        let tries = (keyring.len() * looks) as f64;
        let (key_index, detection) =
            strongest_key(&detector.evidence(), keyring, &codewords, tries);
        looks::conclusive(&detection).then_some((key_index, detection))
    })?;
    let tries = (keyring.len() * read.looks) as f64;
    let stopped_early = read.verdict.is_some();
    // The folds are the expensive part: made once here, and only when used.
    let mut evidence: Option<Evidence> = None;
    let (key_index, detection) = match read.verdict {
        Some(verdict) => verdict,
        None => {
            let folds = evidence.insert(read.detector.evidence());
            strongest_key(folds, keyring, &codewords, tries)
        }
    };
    let info = read.info;
    let seconds_analyzed = read.seconds;
    let KeyringEntry { key, issued } = keyring[key_index];
    let worth_windows = detection.recipient.is_none()
        || !detection.mixed_with.is_empty()
        || issued.is_some()
        || plan.explain;
    let read_again =
        worth_windows && detection.sync_p_value <= WINDOW_SYNC_GATE && input != Path::new(STDIO);
    if plan.explain || read_again {
        evidence.get_or_insert_with(|| read.detector.evidence());
    }
    let sync = plan
        .explain
        .then(|| evidence.as_ref().and_then(|e| e.sync_picture(key)))
        .flatten();
    let windows = match (read_again, &evidence) {
        (true, Some(evidence)) => {
            let reader = evidence
                .window_reader(
                    key,
                    info.frames_per_second(),
                    issued.zip(Some(&codewords[key_index])),
                )
                .expect("frames were accumulated");
            Some(read_windows(input, &info, reader, read.last_frame_at)?)
        }
        _ => None,
    };
    let explained = sync.map(|sync| Explained {
        sync,
        strength: windows
            .as_ref()
            .map_or_else(Vec::new, |w| w.strength.clone()),
    });
    let accusations = issued.map_or_else(Vec::new, |issued| {
        accusations(
            issued,
            &detection,
            windows.as_ref(),
            seconds_analyzed,
            tries,
        )
    });
    let (mut two_step, timeline) = match windows {
        Some(w) => {
            let two_step = (detection.recipient.is_none() || !w.two_step.reads.is_empty())
                .then_some(w.two_step);
            (two_step, w.recipients)
        }
        None => (None, Vec::new()),
    };
    if let Some(t) = &mut two_step {
        t.mark_false_positive_probability =
            t.mark_false_positive_probability.map(|p| charged(p, tries));
        t.titles.iter_mut().for_each(|title| {
            title.false_positive_probability =
                title.false_positive_probability.map(|p| charged(p, tries))
        });
    }
    Ok(FileDetection {
        detection,
        info,
        seconds_analyzed,
        stopped_early,
        looks: read.looks,
        frames_screened: read.screened,
        two_step,
        timeline,
        accusations,
        frame_sizes: read.detector.frame_sizes().to_vec(),
        key_index,
        keys_tried: keyring.len(),
        explained,
        registration: None,
    })
}

/// Feeds the stretch of `input` the first read covered (up to stream time `until`), every
/// frame of it, to `reader`.
fn read_windows(
    input: &Path,
    info: &StreamInfo,
    mut reader: WindowReader,
    until: f64,
) -> Result<WindowDetection> {
    let (_, frames, handle) = spawn_reader(input.to_path_buf(), ReadFor::EVERY_FRAME)?;
    let mut clock = StreamClock::new(info);
    let read = frames
        .into_iter()
        .map_while(|frame| match frame {
            Ok(frame) => (clock.tick(&frame) <= until).then_some(Ok(frame)),
            Err(e) => Some(Err(e)),
        })
        .try_for_each(|frame| reader.add_frame(&frame?));
    handle.join().expect("reader thread does not panic");
    read?;
    Ok(reader.finish())
}

/// Probability `p` of one try, charged for `tries` (keys x looks) by the union bound.
fn charged(p: f64, tries: f64) -> f64 {
    (p * tries).min(1.0)
}

/// Each key's issued recipients' codewords (none without a ledger), to accuse from.
pub(super) fn issued_codewords(keyring: &[KeyringEntry]) -> Vec<IssuedCodewords> {
    keyring
        .iter()
        .map(|entry| {
            entry.issued.map_or_else(IssuedCodewords::default, |i| {
                IssuedCodewords::new(entry.key, &i.recipients)
            })
        })
        .collect()
}

/// Every key tried on one accumulation's `evidence`, each detection's probabilities charged
/// for `tries` (keys x looks); the key that found the most, with its detection. A keyring's
/// keys are searched on every core: each key's sync search is independent of the others.
pub(super) fn strongest_key(
    evidence: &Evidence,
    keyring: &[KeyringEntry],
    codewords: &[IssuedCodewords],
    tries: f64,
) -> (usize, Detection) {
    let under = |entry: &KeyringEntry, codewords: &IssuedCodewords| {
        let max_tail = entry.issued.map_or(0.0, |i| {
            i.false_accusation / (codewords.len().max(1) as f64 * tries)
        });
        let mut d = evidence.detect_with(entry.key, codewords, max_tail);
        d.false_positive_probability = d.false_positive_probability.map(|p| charged(p, tries));
        d.sync_p_value = charged(d.sync_p_value, tries);
        d
    };
    let threads = thread::available_parallelism()
        .map_or(1, |n| n.get())
        .clamp(1, keyring.len());
    let per_thread = keyring.len().div_ceil(threads);
    let mut tried: Vec<Detection> = thread::scope(|scope| {
        let searches: Vec<_> = keyring
            .chunks(per_thread)
            .zip(codewords.chunks(per_thread))
            .map(|(keys, codewords)| {
                scope.spawn(move || {
                    keys.iter()
                        .zip(codewords)
                        .map(|(k, c)| under(k, c))
                        .collect()
                })
            })
            .collect();
        searches
            .into_iter()
            .flat_map(|s| -> Vec<Detection> { s.join().expect("a key search does not panic") })
            .collect()
    });
    let index = strongest(tried.iter());
    (index, tried.swap_remove(index))
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
/// scored window, sessions once over the leak, all under each of `tries` keys x looks.
pub(super) fn accusations(
    issued: &Issued,
    whole: &Detection,
    windows: Option<&WindowDetection>,
    seconds: f64,
    tries: f64,
) -> Vec<Accusation> {
    let scored = windows.map_or(0, |w| w.windows_scored) as f64;
    let tests = tries * issued.recipients.len() as f64 * (1.0 + scored);
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
        let sessions = tries * issued.sessions.values().map(Vec::len).sum::<usize>() as f64;
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

/// What reading a suspect file gave.
struct SuspectRead<T> {
    info: StreamInfo,
    /// Everything accumulated (up to the look that stopped the read).
    detector: Detector,
    /// What the look that stopped the read found; `None` when the read went to the end.
    verdict: Option<T>,
    /// Looks the schedule could make on this file.
    looks: usize,
    /// Seconds of the file read, by its timestamps.
    seconds: f64,
    /// Stream time of the last frame read.
    last_frame_at: f64,
    /// Frames read but not accumulated (see [`FrameScreen`]).
    screened: u64,
}

/// Messages to a detection worker.
enum Work {
    Frame(Box<VideoFrame>),
    /// Send back a copy of what has been accumulated so far.
    Snapshot(SyncSender<Detector>),
}

/// Reads `input` as `plan` says, spreading frames over worker threads; at each look of the
/// plan's schedule, hands everything accumulated so far and the schedule's charge to
/// `look`, and stops when it returns a verdict.
fn read_suspect<T>(
    input: &Path,
    plan: &ReadPlan,
    progress: Progress,
    mut look: impl FnMut(&Detector, usize) -> Option<T>,
) -> Result<SuspectRead<T>> {
    let keyframes_after = plan.fast.then_some(DENSE_SECONDS);
    let (info, frames_in, reader) =
        spawn_reader(input.to_path_buf(), ReadFor::Detection { keyframes_after })?;
    let schedule = plan.schedule(&info);
    let total = info.frames_hint;
    let rate = info.frames_per_second();

    // Accumulation is a sum over frames, so frames are spread over worker threads, each with
    // its own detector (all on the plane of the stream's first frame, which a stream rip's
    // later renditions are brought to), merged at each look and at the end.
    let workers = thread::available_parallelism()
        .map_or(1, |n| n.get())
        .clamp(1, MAX_DETECT_WORKERS);
    let (queues, handles): (Vec<_>, Vec<_>) = (0..workers)
        .map(|_| {
            let (tx, rx) = sync_channel::<Work>(2);
            let (width, height) = (info.width, info.height);
            let handle = thread::spawn(move || -> Result<Detector> {
                let mut local = Detector::for_stream(width, height);
                for work in rx {
                    match work {
                        Work::Frame(frame) => local.add_frame(&frame)?,
                        Work::Snapshot(reply) => {
                            let _ = reply.send(local.snapshot());
                        }
                    }
                }
                Ok(local)
            });
            (tx, handle)
        })
        .unzip();
    let mut clock = StreamClock::new(&info);
    let mut screen = FrameScreen::new();
    let mut due = schedule.looks().iter().copied().peekable();
    let (mut read, mut sent, mut last_frame_at) = (0u64, 0usize, 0.0);
    let mut verdict = None;
    let result = (|| -> Result<()> {
        for frame in frames_in {
            let frame = frame?;
            let at = clock.tick(&frame);
            if read > 0 && plan.max_seconds.is_some_and(|max| at >= max) {
                break;
            }
            let mut looking = false;
            while due.next_if(|&t| at >= t).is_some() {
                looking = true;
            }
            if looking {
                let Some(so_far) = snapshot(&queues) else {
                    break; // a worker failed; its error is reported below
                };
                if let Some(found) = look(&so_far, schedule.charge()) {
                    verdict = Some(found);
                    break;
                }
            }
            read += 1;
            last_frame_at = at;
            progress((at * rate) as u64 + 1, total);
            if screen.frame_adds_nothing(&frame) {
                continue;
            }
            if queues[sent % workers]
                .send(Work::Frame(Box::new(frame)))
                .is_err()
            {
                break; // that worker failed; its error is reported below
            }
            sent += 1;
        }
        Ok(())
    })();
    drop(queues); // lets the reader stop early
    let locals: Vec<Result<Detector>> = handles
        .into_iter()
        .map(|h| h.join().expect("detector thread does not panic"))
        .collect();
    reader.join().expect("reader thread does not panic");
    result?;
    let mut detector = Detector::for_stream(info.width, info.height);
    for local in locals {
        detector.merge(local?)?;
    }
    if read == 0 {
        return Err(VideoError::NoFrames {
            path: input.to_path_buf(),
        }
        .into());
    }
    Ok(SuspectRead {
        info,
        detector,
        verdict,
        looks: schedule.charge(),
        seconds: last_frame_at + 1.0 / rate,
        last_frame_at,
        screened: screen.flat() + screen.repeated(),
    })
}

/// Everything the workers accumulated so far; `None` if one has failed.
fn snapshot(queues: &[SyncSender<Work>]) -> Option<Detector> {
    let mut merged = Detector::new();
    for queue in queues {
        let (reply, copy) = sync_channel(1);
        queue.send(Work::Snapshot(reply)).ok()?;
        merged.merge(copy.recv().ok()?).ok()?;
    }
    Some(merged)
}

/// Stream time of each frame, in seconds from the first, by timestamps where they are sane
/// and by the frame rate where they are missing, repeat, jump back (concatenated streams
/// restart them) or leap (damage): time never runs backwards, and two reads of one file
/// agree on every frame's time.
pub(super) struct StreamClock {
    time_base: f64,
    frame: f64,
    last_pts: Option<i64>,
    /// Time of the frame before; `None` before the first.
    at: Option<f64>,
}

/// Largest timestamp step taken at its word (a sampled read steps from keyframe to
/// keyframe).
const MAX_TIMESTAMP_STEP: f64 = 60.0;

impl StreamClock {
    pub(super) fn new(info: &StreamInfo) -> StreamClock {
        StreamClock {
            time_base: info.time_base.as_f64(),
            frame: 1.0 / info.frames_per_second(),
            last_pts: None,
            at: None,
        }
    }

    /// The time of `frame`, the next one read.
    pub(super) fn tick(&mut self, frame: &VideoFrame) -> f64 {
        let step = match (self.last_pts, frame.pts) {
            (Some(last), Some(pts)) => {
                let step = (pts - last) as f64 * self.time_base;
                if step > 0.0 && step <= MAX_TIMESTAMP_STEP {
                    step
                } else {
                    self.frame
                }
            }
            _ => self.frame,
        };
        if frame.pts.is_some() {
            self.last_pts = frame.pts;
        }
        let at = self.at.map_or(0.0, |at| at + step);
        self.at = Some(at);
        at
    }
}
