//! Reading a leak window by window, once its sync was found over all of it: the positions
//! of a two-step leak, and which recipients' copies make up which parts of a spliced one.
//!
//! The sync pattern is the same in every copy, position and variant, so the whole leak's
//! accumulation finds its geometry (a [`SyncPeak`]) as for a single copy. The payload can
//! change along the leak (every two-step position; every scene of a splice), so it is read
//! from windows: the leak is fed a second time, every frame is whitened and folded in the
//! peak's picture and pose, the folds are summed per chunk (a quarter second), and every
//! run of 2, 4, 8 and 16 chunks (0.5 to 4 s) ending at each chunk is registered and decoded
//! once, the decoded bits checked against both the variant tag and the recipient tag. A
//! window inside one position (or scene) decodes to its variant mark (or recipient); a
//! window across two decodes to nothing (its tag fails). With issued recipients, every
//! 4 s window ending on a whole second is also scored against all of them
//! (`collusion::chips`).
//!
//! # False positives
//!
//! Every window decode is two more 2^-32 chances that a wrong bit string passes a tag. With
//! `D` decodes, a false read anywhere has probability at most `D * 2^-32` per kind (what
//! "a two-step mark is present" and a recipient's time ranges are charged). A session is
//! only named when the reads determine it without any single one of them
//! (`twostep::code`), so naming a wrong one takes two false reads: at most
//! `C(D, 2) * 2^-64`, whatever the leak (unmarked, another key, or another session's copy).
//! Tardos accusations of sessions are charged as `collusion` says.

use std::collections::{BTreeMap, VecDeque};

use ndarray::{Array2, ArrayView2};

use crate::collusion::chips::IssuedCodewords;
use crate::collusion::sessions::TardosNull;
use crate::collusion::{Accused, Issued, accuse, merge_ranges};
use crate::detect::sync::{Folds, SyncPeak};
use crate::detect::whiten::whiten;
use crate::detect::{Evidence, StreamShape, SuspectPlanes, check_suspect_side};
use crate::error::Result;
use crate::key::Key;
use crate::pattern::{downsample2, upsample2};
use crate::payload::TAG_BITS;
use crate::plane::{Sample, max_code_value};
use crate::scheme::KeyedScheme;
use crate::variant::{PositionRead, SessionCode, SessionDecode, Variant, VariantMark};
use crate::video::{VideoFrame, with_luma};

/// Chunks per second of leak: windows start and end on chunk boundaries.
const CHUNKS_PER_SECOND: f64 = 4.0;

/// Window lengths in chunks (0.5, 1, 2 and 4 s): positions of 1 s and longer are read by
/// windows wholly inside them, longer positions by longer, stronger windows.
const WINDOW_CHUNKS: [usize; 4] = [2, 4, 8, 16];

/// Chunks between windows scored against issued recipients (one a second), and their length
/// (the longest window).
const SCORED_EVERY: usize = 4;

/// Length in chunks of the windows whose sync strength is measured, end to end (1 s).
const MEASURED_CHUNKS: usize = 4;

/// One window that decoded to a variant mark.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WindowRead {
    /// The variant mark decoded: title, position and variant.
    pub mark: VariantMark,
    /// Leak time of the window, in seconds from the first frame fed.
    pub start_seconds: f64,
    /// End of the window, in leak seconds from the first frame fed.
    pub end_seconds: f64,
}

/// What the windows of a two-step leak said about one title.
#[derive(Debug, Clone, PartialEq)]
pub struct TitleDetection {
    /// The title ID its windows decoded to.
    pub title: u16,
    /// Distinct positions read, each with the variants seen (both, in a mixed leak).
    pub positions: BTreeMap<u32, Vec<Variant>>,
    /// What the title's position reads say about the session under its outer code.
    pub session: SessionDecode,
    /// Leak seconds read, from the first frame, before the session was identified.
    pub seconds_needed: Option<f64>,
    /// For an identified session: the probability that the windows name a session that is
    /// not the leak's (two false reads; see the module docs).
    pub false_positive_probability: Option<f64>,
    /// With issued sessions of this title: those whose Tardos scores stood out (tails for
    /// one test each, at most `epsilon / issued`), and where the leak agrees with them.
    pub accused: Vec<(Accused, Vec<(f64, f64)>)>,
    /// Issued sessions of this title that were scored.
    pub sessions_scored: usize,
    /// Tardos positions read as one variant (what the scores rest on).
    pub tardos_positions: usize,
}

/// A single-step recipient whose ID decoded from windows, and where.
#[derive(Debug, Clone, PartialEq)]
pub struct RecipientWindows {
    /// The recipient ID decoded.
    pub recipient: u32,
    /// Leak seconds where it is the recipient of the shortest windows that decoded.
    pub time_ranges: Vec<(f64, f64)>,
}

/// What reading a leak window by window found.
#[derive(Debug, Clone, PartialEq)]
pub struct WindowDetection {
    /// The variant marks read, per title.
    pub two_step: TwoStepDetection,
    /// Recipients decoded from windows, most windows first; the probability that any is
    /// false is at most `two_step.windows_decoded * 2^-32`.
    pub recipients: Vec<RecipientWindows>,
    /// With issued recipients: those whose scores in some scored window stood out, with the
    /// windows where (tails for one test each, at most `epsilon / issued`).
    pub accused: Vec<(Accused, Vec<(f64, f64)>)>,
    /// Windows scored against the issued recipients.
    pub windows_scored: u64,
    /// The sync's strength in 1 s windows end to end, in leak order: the mark over time.
    pub strength: Vec<WindowStrength>,
}

/// How strongly one window of the leak carries the sync at the registration found.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WindowStrength {
    /// Start of the window, in leak seconds from the first frame fed.
    pub start_seconds: f64,
    /// End of the window, in leak seconds from the first frame fed.
    pub end_seconds: f64,
    /// Correlation with the key's sync tile in standard deviations: about N(0, 1) where the
    /// window carries no mark under the key (a single registration, no search).
    pub sync_z: f64,
    /// The recipient the window decoded to, if any.
    pub recipient: Option<u32>,
}

/// What reading a leak as two-step found.
#[derive(Debug, Clone, PartialEq)]
pub struct TwoStepDetection {
    /// Every window that decoded, in leak order.
    pub reads: Vec<WindowRead>,
    /// Titles read, most positions first.
    pub titles: Vec<TitleDetection>,
    /// Windows decoded in all (`D` in the module docs: each a chance of a false read).
    pub windows_decoded: u64,
    /// When anything was read: the probability of a false read among all windows decoded.
    pub mark_false_positive_probability: Option<f64>,
    /// Seconds of leak fed to the reader (frames at the frame rate given).
    pub seconds_analyzed: f64,
}

impl TwoStepDetection {
    /// The first title's session, when one was identified.
    pub fn session(&self) -> Option<(u16, u32)> {
        self.titles.first().and_then(|t| match t.session {
            SessionDecode::Identified(s) => Some((t.title, s)),
            _ => None,
        })
    }
}

/// Reads windows of a leak's frames, fed again after [`Evidence`] found its sync.
pub struct WindowReader<'e> {
    folds: &'e Folds,
    peak: SyncPeak,
    scheme: KeyedScheme,
    session_codes: Key,
    issued: Option<(&'e Issued, &'e IssuedCodewords)>,
    shape: StreamShape,
    planes: SuspectPlanes,
    frames_per_chunk: usize,
    seconds_per_frame: f64,
    /// The chunk being filled: its fold and frame count.
    filling: Option<(Array2<f32>, usize)>,
    /// The last chunks' folds, newest last, with the frame each started at.
    recent: VecDeque<(Array2<f32>, u64)>,
    frames: u64,
    windows_decoded: u64,
    reads: Vec<WindowRead>,
    /// Recipient decodes: (recipient, window length and last chunk, both in chunks).
    recipient_reads: Vec<(u32, usize, usize)>,
    /// Leak seconds at which each chunk started.
    chunk_starts: Vec<f64>,
    /// Ledger accusations per scored window: (accused, start, end seconds).
    window_accused: Vec<(Accused, f64, f64)>,
    windows_scored: u64,
    /// The key's sync tile at fold resolution, to measure each window's strength.
    sync_tile: Array2<f32>,
    strength: Vec<WindowStrength>,
}

impl Evidence {
    /// A reader of windows under `key`, at the strongest sync peak of this evidence; `None`
    /// when nothing was accumulated. Feed it the same frames again, in order, at
    /// `frame_rate` frames per second. With `issued` (and their codewords under `key`), it
    /// also scores issued recipients per window and issued sessions per title.
    pub fn window_reader<'e>(
        &'e self,
        key: &Key,
        frame_rate: f64,
        issued: Option<(&'e Issued, &'e IssuedCodewords)>,
    ) -> Option<WindowReader<'e>> {
        let folds = self.folds.as_ref()?;
        let scheme = KeyedScheme::new(key);
        let peak = folds.search(&scheme.layout)[0];
        let frame_rate = if frame_rate.is_finite() && frame_rate > 0.0 {
            frame_rate
        } else {
            25.0
        };
        Some(WindowReader {
            folds,
            peak,
            session_codes: key.clone(),
            issued,
            shape: self.shape.clone()?,
            planes: SuspectPlanes::default(),
            frames_per_chunk: ((frame_rate / CHUNKS_PER_SECOND).round() as usize).max(1),
            seconds_per_frame: 1.0 / frame_rate,
            filling: None,
            recent: VecDeque::new(),
            frames: 0,
            windows_decoded: 0,
            reads: Vec::new(),
            recipient_reads: Vec::new(),
            chunk_starts: Vec::new(),
            window_accused: Vec::new(),
            windows_scored: 0,
            sync_tile: upsample2(scheme.layout.sync_tile().view()),
            strength: Vec::new(),
            scheme,
        })
    }
}

impl WindowReader<'_> {
    /// Adds the next frame of the leak ([`WindowReader::add_luma`]).
    pub fn add_frame(&mut self, frame: &VideoFrame) -> Result<()> {
        with_luma!(frame, |luma, depth| self.add_luma(luma, depth))
    }

    /// Adds the next frame's luma plane (the same size as the accumulated ones).
    pub fn add_luma<S: Sample>(&mut self, luma: ArrayView2<S>, bit_depth: u8) -> Result<()> {
        let (height, width) = luma.dim();
        check_suspect_side(width, height)?;
        max_code_value::<S>(bit_depth)?;
        let dims = self.shape.admit(width, height)?;
        let plane = whiten(&self.planes.plane(luma, bit_depth, dims));
        let folded = self.folds.fold_like(plane.view(), &self.peak);
        let (sum, count) = self
            .filling
            .get_or_insert_with(|| (Array2::zeros(folded.dim()), 0));
        *sum += &folded;
        *count += 1;
        self.frames += 1;
        if *count == self.frames_per_chunk {
            self.close_chunk();
        }
        Ok(())
    }

    /// Ends the current chunk and decodes every window ending with it.
    fn close_chunk(&mut self) {
        let Some((sum, count)) = self.filling.take() else {
            return;
        };
        let start = self.frames - count as u64;
        self.recent.push_back((sum, start));
        self.chunk_starts
            .push(start as f64 * self.seconds_per_frame);
        let chunks = self.chunk_starts.len();
        let longest = WINDOW_CHUNKS[WINDOW_CHUNKS.len() - 1];
        if self.recent.len() > longest {
            self.recent.pop_front();
        }
        let mut window: Option<Array2<f32>> = None;
        let mut taken = 0;
        for &length in &WINDOW_CHUNKS {
            if self.recent.len() < length {
                break;
            }
            // Grow the window backwards from the newest chunk.
            for (chunk, _) in self.recent.iter().rev().skip(taken).take(length - taken) {
                match &mut window {
                    Some(w) => *w += chunk,
                    None => window = Some(chunk.clone()),
                }
            }
            taken = length;
            let first_frame = self.recent[self.recent.len() - length].1;
            let start = first_frame as f64 * self.seconds_per_frame;
            let end = self.frames as f64 * self.seconds_per_frame;
            let scored = length == longest && chunks.is_multiple_of(SCORED_EVERY);
            let window = window.as_ref().expect("grown").view();
            let measured = length == MEASURED_CHUNKS && chunks.is_multiple_of(MEASURED_CHUNKS);
            let id = self.read_window(window, start, end, scored, measured);
            if let Some(id) = id {
                self.recipient_reads.push((id, length, chunks - 1));
            }
        }
    }

    /// Decodes one window (and scores it against the issued recipients when `scored`, and
    /// measures its sync when `measured`); returns the recipient it decoded to.
    fn read_window(
        &mut self,
        folded: ArrayView2<f32>,
        start: f64,
        end: f64,
        scored: bool,
        measured: bool,
    ) -> Option<u32> {
        let registered = self.folds.register(folded, &self.peak);
        let sync_z = measured.then(|| sync_z(registered.view(), self.sync_tile.view()));
        let tile = downsample2(registered.view());
        let soft = self.scheme.layout.soft_bits(tile.view());
        let bits = self.scheme.codec.decode_bits(&soft);
        self.windows_decoded += 1;
        if let Some(mark) = self.scheme.verify_variant(&bits) {
            self.reads.push(WindowRead {
                mark,
                start_seconds: start,
                end_seconds: end,
            });
        }
        if let Some((issued, codewords)) = self.issued.filter(|_| scored) {
            self.windows_scored += 1;
            let max_tail = issued.false_accusation / codewords.len().max(1) as f64;
            for accused in codewords.accuse(self.scheme.codec, &soft, max_tail) {
                self.window_accused.push((accused, start, end));
            }
        }
        let recipient = self
            .scheme
            .codec
            .verify(&self.scheme.tag_key, &bits)
            .map(|id| id as u32);
        if let Some(sync_z) = sync_z {
            self.strength.push(WindowStrength {
                start_seconds: start,
                end_seconds: end,
                sync_z,
                recipient,
            });
        }
        recipient
    }

    /// Who is where: every chunk goes to the recipient of the shortest windows over it that
    /// decoded (a long window across a splice decodes to its stronger side; the short ones
    /// inside each scene say whose it is), none where those disagree.
    fn recipient_timeline(&self) -> Vec<RecipientWindows> {
        let mut best: Vec<Option<(usize, Option<u32>)>> = vec![None; self.chunk_starts.len()];
        for &(id, length, last) in &self.recipient_reads {
            for slot in &mut best[last + 1 - length..=last] {
                *slot = match *slot {
                    Some((shortest, _)) if shortest < length => *slot,
                    Some((shortest, Some(other))) if shortest == length && other != id => {
                        Some((length, None))
                    }
                    Some((shortest, None)) if shortest == length => *slot,
                    _ => Some((length, Some(id))),
                };
            }
        }
        let end_of = |chunk: usize| {
            self.chunk_starts
                .get(chunk + 1)
                .copied()
                .unwrap_or(self.frames as f64 * self.seconds_per_frame)
        };
        let mut ranges: BTreeMap<u32, Vec<(f64, f64)>> = BTreeMap::new();
        for (chunk, slot) in best.iter().enumerate() {
            if let Some((_, Some(id))) = slot {
                ranges
                    .entry(*id)
                    .or_default()
                    .push((self.chunk_starts[chunk], end_of(chunk)));
            }
        }
        let mut recipients: Vec<RecipientWindows> = ranges
            .into_iter()
            .map(|(recipient, ranges)| RecipientWindows {
                recipient,
                time_ranges: merge_ranges(ranges),
            })
            .collect();
        let covered =
            |r: &RecipientWindows| -> f64 { r.time_ranges.iter().map(|(a, b)| b - a).sum() };
        recipients.sort_by(|a, b| covered(b).total_cmp(&covered(a)));
        recipients
    }

    /// Decodes the last windows, solves each title's session and gathers who is where.
    pub fn finish(mut self) -> WindowDetection {
        self.close_chunk();
        let decodes = self.windows_decoded as f64;
        let false_read = decodes * (-(TAG_BITS as f64)).exp2();
        let two_false_reads = (decodes * (decodes - 1.0) / 2.0) * (-2.0 * TAG_BITS as f64).exp2();
        let mut titles: BTreeMap<u16, Vec<WindowRead>> = BTreeMap::new();
        for read in &self.reads {
            titles.entry(read.mark.title).or_default().push(*read);
        }
        let mut titles: Vec<TitleDetection> = titles
            .into_iter()
            .map(|(title, reads)| {
                let code = SessionCode::new(&self.session_codes, title);
                let mut positions: BTreeMap<u32, Vec<Variant>> = BTreeMap::new();
                for read in &reads {
                    let seen = positions.entry(read.mark.position).or_default();
                    if !seen.contains(&read.mark.variant) {
                        seen.push(read.mark.variant);
                        seen.sort();
                    }
                }
                let session = code.decode(&as_reads(&reads));
                let identified = matches!(session, SessionDecode::Identified(_));
                let tardos = TardosNull::new(&code, &positions);
                let sessions = self
                    .issued
                    .and_then(|(issued, _)| issued.sessions.get(&title))
                    .map_or(&[][..], Vec::as_slice);
                let max_tail = self.issued.map_or(0.0, |(i, _)| {
                    i.false_accusation / sessions.len().max(1) as f64
                });
                let scores = sessions.iter().map(|&s| (s, tardos.score(&code, s)));
                let accused = accuse(&tardos, scores, max_tail)
                    .into_iter()
                    .map(|a| (a, where_served(&code, a.id, &reads)))
                    .collect();
                TitleDetection {
                    title,
                    seconds_needed: identified.then(|| seconds_needed(&code, &reads)),
                    false_positive_probability: identified.then_some(two_false_reads.min(1.0)),
                    positions,
                    session,
                    accused,
                    sessions_scored: sessions.len(),
                    tardos_positions: tardos.positions(),
                }
            })
            .collect();
        titles.sort_by_key(|t| std::cmp::Reverse(t.positions.len()));
        let recipients = self.recipient_timeline();
        let mut accused: BTreeMap<u32, (Accused, Vec<(f64, f64)>)> = BTreeMap::new();
        for &(a, start, end) in &self.window_accused {
            let entry = accused.entry(a.id).or_insert((a, Vec::new()));
            if a.tail < entry.0.tail {
                entry.0 = a;
            }
            entry.1.push((start, end));
        }
        let mut accused: Vec<(Accused, Vec<(f64, f64)>)> = accused
            .into_values()
            .map(|(a, ranges)| (a, merge_ranges(ranges)))
            .collect();
        accused.sort_by(|a, b| a.0.tail.total_cmp(&b.0.tail));
        WindowDetection {
            two_step: TwoStepDetection {
                mark_false_positive_probability: (!self.reads.is_empty())
                    .then_some(false_read.min(1.0)),
                reads: self.reads,
                titles,
                windows_decoded: self.windows_decoded,
                seconds_analyzed: self.frames as f64 * self.seconds_per_frame,
            },
            recipients,
            accused,
            windows_scored: self.windows_scored,
            strength: self.strength,
        }
    }
}

/// Correlation of a registered window with the sync tile at zero shift, in standard
/// deviations of what a window without the mark would give.
fn sync_z(registered: ArrayView2<f32>, sync_tile: ArrayView2<f32>) -> f64 {
    let n = registered.len() as f64;
    let (dot, energy, template) = registered.iter().zip(sync_tile.iter()).fold(
        (0.0f64, 0.0f64, 0.0f64),
        |(d, e, t), (&a, &b)| {
            let (a, b) = (f64::from(a), f64::from(b));
            (d + a * b, e + a * a, t + b * b)
        },
    );
    let spread = (energy / n).sqrt() * template.sqrt();
    if spread > 0.0 { dot / spread } else { 0.0 }
}

/// Where the leak's reads agree with what `session` was served.
fn where_served(code: &SessionCode, session: u32, reads: &[WindowRead]) -> Vec<(f64, f64)> {
    merge_ranges(
        reads
            .iter()
            .filter(|r| code.variant(session, r.mark.position) == r.mark.variant)
            .map(|r| (r.start_seconds, r.end_seconds))
            .collect(),
    )
}

fn as_reads(reads: &[WindowRead]) -> Vec<PositionRead> {
    reads
        .iter()
        .map(|r| PositionRead {
            position: r.mark.position,
            variant: r.mark.variant,
        })
        .collect()
}

/// The leak time at which the reads so far first identify the session: the shortest prefix
/// of the leak that does (found by bisection over the reads in leak order).
fn seconds_needed(code: &SessionCode, reads: &[WindowRead]) -> f64 {
    let identifies = |n: usize| {
        matches!(
            code.decode(&as_reads(&reads[..n])),
            SessionDecode::Identified(_)
        )
    };
    let (mut lo, mut hi) = (0, reads.len());
    while hi - lo > 1 {
        let mid = (lo + hi) / 2;
        if identifies(mid) { hi = mid } else { lo = mid }
    }
    reads[hi - 1].end_seconds
}
