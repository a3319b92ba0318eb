//! Blind detection: accumulate a suspect stream, find the tile, decode the recipient, and say
//! how likely it is that unmarked or differently keyed content would have produced the result.

mod lattice;
pub mod looks;
// Only the file pipeline screens frames before accumulating them.
#[cfg(feature = "ffmpeg")]
pub(crate) mod screen;
mod stabilise;
mod statistics;
pub(crate) mod sync;
mod whiten;
pub(crate) mod windows;

use ndarray::{Array2, ArrayView2};

use crate::collusion::chips::IssuedCodewords;
use crate::collusion::{Accused, MAX_PEELED, peel};
use crate::error::{Error, Result, VideoError};
use crate::grid::WORKING_SIDE;
use crate::key::Key;
use crate::pattern::downsample2;
use crate::payload::TAG_BITS;
use crate::picture::{ContentRect, PictureTracker};
use crate::plane::{Sample, code_value_scale, max_code_value};
use crate::resample::area_resize;
use crate::scheme::KeyedScheme;
use crate::video::{VideoFrame, with_luma};
use stabilise::Stabiliser;
use statistics::max_tail;
use sync::{Folds, PictureFound, Reflection, SyncPeak};
use whiten::whiten;

/// Shorter side of the plane suspect frames are brought to before whitening: two samples
/// per working pixel of an uncropped picture, so folding at half-pixel steps loses nothing.
const ACCUMULATION_SIDE: usize = 2 * WORKING_SIDE;

/// Sync peaks (best per fold and reflection, strongest first) handed to the payload decoder.
const DECODE_CANDIDATES: usize = 8;

/// Most tag checks one detection makes: a decode per candidate peak, and the further
/// peeling decodes at the one that decoded. The false-positive bound is multiplied by it.
pub const TAG_CHECKS: usize = DECODE_CANDIDATES + MAX_PEELED - 1;

/// Smallest suspect frame the detector accepts.
const MIN_SUSPECT_SIDE: usize = 32;

/// What detection found.
#[derive(Debug, Clone, PartialEq)]
pub struct Detection {
    /// The recipient whose ID decoded and passed the keyed integrity check; `None` means
    /// "no watermark (for this key)".
    pub recipient: Option<u32>,
    /// For a found recipient: the probability that unmarked or differently keyed content
    /// yields a detection at least this strong (search over scales and shifts and the number
    /// of decoding attempts accounted for). `None` when nothing was found.
    pub false_positive_probability: Option<f64>,
    /// Height of the strongest sync peak, in standard deviations of the correlation surface.
    pub sync_z: f64,
    /// Probability of a sync peak at least this high on unmarked content (all hypotheses).
    pub sync_p_value: f64,
    /// How much larger the tile appeared than in an uncropped picture (1/(1 - crop)), the
    /// picture being `picture`.
    pub magnification: f32,
    /// The columns' scale relative to the rows' (1 unless the leak was squeezed or
    /// stretched in one axis).
    pub aspect: f32,
    /// Rotation of the leak's picture, in degrees.
    pub rotation_degrees: f32,
    /// Whether the leak was mirrored or flipped.
    pub reflection: Reflection,
    /// The picture the geometry above is measured against; `None` without frames.
    pub picture: Option<PictureFound>,
    /// Whether the mark was read in the picture's own coordinates, its outline tracked
    /// frame by frame (a handheld camera: see `stabilise`); `picture` is then the mean
    /// outline's bounding box, and the geometry is measured against the outline.
    pub tracked: bool,
    /// Frames accumulated into the evidence the detection was made from.
    pub frames_used: usize,
    /// Further recipients whose IDs decoded once the stronger ones' marks were cancelled
    /// (`collusion::peel`): the leak mixes their copies with `recipient`'s. Each passed its
    /// keyed tag; `false_positive_probability` covers them too.
    pub mixed_with: Vec<u32>,
    /// With issued recipients to score: those whose scores over the whole leak stood out
    /// (tails for one test each, at most `epsilon / issued`; see `collusion`).
    pub accused: Vec<Accused>,
}

/// Sync p-value at or below which a leak is said to carry a mark under the key even when no
/// ID decodes (too damaged, or mixed from several copies): the sync statistic is calibrated
/// on unmarked content, so the claim is wrong with probability at most this.
pub const MARK_PRESENT_SYNC_P: f64 = 1e-6;

impl Detection {
    /// Whether the leak carries a mark under the key: a recipient decoded, or the sync
    /// pattern stands out at [`MARK_PRESENT_SYNC_P`]. "No watermark" is the opposite; a
    /// mark present without a recipient means unreadable or mixed.
    pub fn mark_present(&self) -> bool {
        self.recipient.is_some() || self.sync_p_value <= MARK_PRESENT_SYNC_P
    }
}

/// The accumulation plane a stream is brought to, fixed by its first frame. A later frame of
/// another size joins it when its picture has the same shape (a stream rip switching
/// between renditions of one ladder: 640x360, then 1280x720): it is resized to the same
/// plane, within a pixel or two of its own. A frame of another shape is an error.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct StreamShape {
    /// Accumulation-plane (rows, cols).
    plane: (usize, usize),
    /// Frame sizes (width, height) seen, in order of first appearance.
    sizes: Vec<(usize, usize)>,
}

impl StreamShape {
    fn of(width: usize, height: usize) -> StreamShape {
        StreamShape {
            plane: plane_dims(width, height),
            sizes: vec![(width, height)],
        }
    }

    /// The plane for a frame of `width` x `height`, recording its size.
    fn admit(&mut self, width: usize, height: usize) -> Result<(usize, usize)> {
        let (rows, cols) = plane_dims(width, height);
        let close = |a: usize, b: usize| a.abs_diff(b) <= 1 + b / 100;
        if !(close(rows, self.plane.0) && close(cols, self.plane.1)) {
            return Err(size_changed((width, height), self.sizes[0]));
        }
        self.note((width, height));
        Ok(self.plane)
    }

    fn absorb(&mut self, other: &StreamShape) -> Result<()> {
        if other.plane != self.plane {
            return Err(size_changed(other.sizes[0], self.sizes[0]));
        }
        other.sizes.iter().for_each(|&size| self.note(size));
        Ok(())
    }

    /// Records a frame size, once.
    fn note(&mut self, size: (usize, usize)) {
        if !self.sizes.contains(&size) {
            self.sizes.push(size);
        }
    }
}

fn size_changed((width, height): (usize, usize), first: (usize, usize)) -> Error {
    VideoError::FrameSizeChanged {
        width,
        height,
        expected_width: first.0,
        expected_height: first.1,
    }
    .into()
}

/// Accumulation-plane (rows, cols) of a frame: [`ACCUMULATION_SIDE`] on the shorter side.
fn plane_dims(width: usize, height: usize) -> (usize, usize) {
    let scale = ACCUMULATION_SIDE as f32 / width.min(height) as f32;
    let rows = ((height as f32 * scale).round() as usize).max(1);
    let cols = ((width as f32 * scale).round() as usize).max(1);
    (rows, cols)
}

/// Accumulates suspect frames. Key-independent: one accumulation can be tested against
/// several keys with [`Evidence::detect`].
#[derive(Debug)]
pub struct Detector {
    /// Fixed by the first frame.
    shape: Option<StreamShape>,
    accumulated: Option<Array2<f32>>,
    pictures: PictureTracker,
    /// The same frames on the picture's own canvas, when its outline moves.
    stabiliser: Stabiliser,
    frames: usize,
    planes: SuspectPlanes,
}

impl Default for Detector {
    fn default() -> Detector {
        Detector {
            shape: None,
            accumulated: None,
            pictures: PictureTracker::with_motion(),
            stabiliser: Stabiliser::default(),
            frames: 0,
            planes: SuspectPlanes::default(),
        }
    }
}

impl Detector {
    /// An empty detector; its plane size is set by the first frame it is given.
    pub fn new() -> Detector {
        Detector::default()
    }

    /// A detector for a stream whose first frame is `width` x `height`, so that detectors
    /// fed different frames of one stream on several threads agree on its plane.
    pub fn for_stream(width: usize, height: usize) -> Detector {
        Detector {
            shape: Some(StreamShape::of(width, height)),
            ..Detector::default()
        }
    }

    /// Frame sizes (width, height) seen, in order of first appearance: more than one for a
    /// stream rip that switched renditions.
    pub fn frame_sizes(&self) -> &[(usize, usize)] {
        self.shape.as_ref().map_or(&[], |s| &s.sizes)
    }

    /// Adds one suspect frame's luma plane ([`Detector::add_luma`]).
    pub fn add_frame(&mut self, frame: &VideoFrame) -> Result<()> {
        with_luma!(frame, |luma, depth| self.add_luma(luma, depth))
    }

    /// Adds one suspect luma plane. `bit_depth` is 8 for `u8`, 9..=16 for `u16`.
    pub fn add_luma<S: Sample>(&mut self, luma: ArrayView2<S>, bit_depth: u8) -> Result<()> {
        let plane = self.admit(luma, bit_depth)?;
        self.accumulate(whiten(&plane));
        Ok(())
    }

    /// Adds one suspect luma plane less the original it was made from (informed detection):
    /// `original` is the master's frame that matches it, on the 8-bit scale, at any size.
    /// It is brought to the suspect's size first (as the leak's scaler did) and then to the
    /// accumulation plane as the suspect is, fitted to the suspect in gain and offset (a
    /// grade, a gamma change), and only the residue, mark and attack noise without the
    /// picture, is accumulated. The picture is still found on the suspect itself.
    pub fn add_informed<S: Sample>(
        &mut self,
        luma: ArrayView2<S>,
        bit_depth: u8,
        original: ArrayView2<f32>,
    ) -> Result<()> {
        let (height, width) = luma.dim();
        let plane = self.admit(luma, bit_depth)?;
        let (rows, cols) = plane.dim();
        let original = area_resize(area_resize(original, height, width).view(), rows, cols);
        self.accumulate(whiten(&residue(&plane, &original)));
        Ok(())
    }

    /// Checks a suspect plane, brings it to the stream's accumulation plane and shows it to
    /// the picture tracker and the stabiliser.
    fn admit<S: Sample>(&mut self, luma: ArrayView2<S>, bit_depth: u8) -> Result<Array2<f32>> {
        let (height, width) = luma.dim();
        check_suspect_side(width, height)?;
        max_code_value::<S>(bit_depth)?;
        let dims = match &mut self.shape {
            Some(shape) => shape.admit(width, height)?,
            None => self.shape.insert(StreamShape::of(width, height)).plane,
        };
        let plane = self.planes.plane(luma, bit_depth, dims);
        self.pictures.update_plane(plane.view());
        self.stabiliser
            .add(plane.view(), self.planes.scratch.view());
        Ok(plane)
    }

    fn accumulate(&mut self, whitened: Array2<f32>) {
        match &mut self.accumulated {
            Some(sum) => *sum += &whitened,
            None => self.accumulated = Some(whitened),
        }
        self.frames += 1;
    }

    /// Adds everything `other` accumulated, so frames can be accumulated on several threads
    /// (the sum over frames does not depend on their order).
    pub fn merge(&mut self, other: Detector) -> Result<()> {
        let Some(theirs) = &other.shape else {
            return Ok(());
        };
        match &mut self.shape {
            Some(shape) => shape.absorb(theirs)?,
            None => self.shape = Some(theirs.clone()),
        }
        if let Some(theirs) = other.accumulated {
            match &mut self.accumulated {
                Some(sum) => *sum += &theirs,
                None => self.accumulated = Some(theirs),
            }
        }
        self.pictures.merge(&other.pictures);
        self.stabiliser.merge(&other.stabiliser);
        self.frames += other.frames;
        Ok(())
    }

    /// Frames accumulated so far, those of merged detectors included.
    pub fn frames(&self) -> usize {
        self.frames
    }

    /// A copy of everything accumulated (not the scratch buffers), to look at the evidence
    /// while accumulation goes on.
    pub fn snapshot(&self) -> Detector {
        Detector {
            shape: self.shape.clone(),
            accumulated: self.accumulated.clone(),
            pictures: self.pictures.clone(),
            stabiliser: self.stabiliser.clone(),
            frames: self.frames,
            planes: SuspectPlanes::default(),
        }
    }

    /// Folds the accumulation at every candidate magnification inside every candidate
    /// picture (the expensive, key-free part).
    pub fn evidence(&self) -> Evidence {
        let content = self.accumulated.as_ref().map(|_| self.pictures.picture());
        let folds = self
            .accumulated
            .as_ref()
            .zip(content)
            .map(|(sum, content)| {
                let mut pictures = vec![content];
                pictures.extend(self.pictures.moving_picture());
                Folds::new(sum.view(), &pictures, 1.0)
            });
        let plane = self.shape.as_ref().map_or((1, 1), |s| s.plane);
        let tracked = self.stabiliser.canvas(self.frames, plane).map(|canvas| {
            let (rows, cols) = canvas.sum.dim();
            Tracked {
                folds: Folds::new(canvas.sum, &[ContentRect::full(cols, rows)], canvas.aspect),
                outline: canvas.bounds,
                frames: canvas.frames,
            }
        });
        Evidence {
            folds,
            tracked,
            frames: self.frames,
            shape: self.shape.clone(),
            content,
        }
    }

    /// Convenience for one key: `self.evidence().detect(key)`.
    pub fn detect(&self, key: &Key) -> Detection {
        self.evidence().detect(key)
    }
}

/// `suspect` less `original` fitted to it by least squares in gain and offset.
fn residue(suspect: &Array2<f32>, original: &Array2<f32>) -> Array2<f32> {
    let n = suspect.len() as f64;
    let (mut so, mut ss, mut soo, mut sos) = (0.0f64, 0.0f64, 0.0f64, 0.0f64);
    for (&s, &o) in suspect.iter().zip(original.iter()) {
        let (s, o) = (f64::from(s), f64::from(o));
        so += o;
        ss += s;
        soo += o * o;
        sos += o * s;
    }
    let variance = soo - so * so / n;
    let gain = if variance > 0.0 {
        (sos - so * ss / n) / variance
    } else {
        0.0
    };
    let offset = (ss - gain * so) / n;
    let (gain, offset) = (gain as f32, offset as f32);
    let mut residue = suspect.clone();
    residue.zip_mut_with(original, |s, &o| *s -= gain * o + offset);
    residue
}

fn check_suspect_side(width: usize, height: usize) -> Result<()> {
    if width.min(height) < MIN_SUSPECT_SIDE {
        return Err(VideoError::FrameTooSmall {
            width,
            height,
            min_side: MIN_SUSPECT_SIDE,
        }
        .into());
    }
    Ok(())
}

/// Brings suspect luma to the accumulation plane: 8-bit scale, [`ACCUMULATION_SIDE`] on the
/// shorter side.
#[derive(Debug, Default)]
struct SuspectPlanes {
    /// Reused conversion buffer for incoming luma.
    scratch: Array2<f32>,
}

impl SuspectPlanes {
    /// `luma` on the 8-bit scale, resized to `(rows, cols)` (from [`StreamShape`]). The
    /// caller has checked `bit_depth` against `S`.
    fn plane<S: Sample>(
        &mut self,
        luma: ArrayView2<S>,
        bit_depth: u8,
        (rows, cols): (usize, usize),
    ) -> Array2<f32> {
        let (height, width) = luma.dim();
        let to_8bit = 1.0 / code_value_scale(bit_depth);
        if self.scratch.dim() != (height, width) {
            self.scratch = Array2::zeros((height, width));
        }
        self.scratch
            .zip_mut_with(&luma, |d, s| *d = s.to_f32() * to_8bit);
        area_resize(self.scratch.view(), rows, cols)
    }
}

/// The folds of a moving picture's canvas (see `stabilise`).
struct Tracked {
    folds: Folds,
    /// The mean outline in the frame.
    outline: PictureFound,
    /// Frames resampled onto the canvas.
    frames: usize,
}

/// A suspect stream reduced to folded tiles, ready to be tested against keys.
pub struct Evidence {
    folds: Option<Folds>,
    /// The picture's own canvas, for a handheld leak.
    tracked: Option<Tracked>,
    frames: usize,
    shape: Option<StreamShape>,
    content: Option<ContentRect>,
}

impl Evidence {
    /// Picture area (inside any letterbox or pillarbox bars) in accumulation-plane pixels.
    pub fn content(&self) -> Option<ContentRect> {
        self.content
    }

    /// Frames accumulated on the picture's own canvas, when its outline moved and the
    /// canvas is searched beside the frame (a handheld leak); `None` otherwise.
    pub fn tracked_frames(&self) -> Option<usize> {
        self.tracked.as_ref().map(|t| t.frames)
    }

    /// Detects under `key` alone, scoring no issued recipients.
    pub fn detect(&self, key: &Key) -> Detection {
        self.detect_with(key, &IssuedCodewords::default(), 0.0)
    }

    /// Detects under `key` and scores the `issued` recipients over the whole leak, keeping
    /// those with tails of at most `accuse_below`.
    pub fn detect_with(&self, key: &Key, issued: &IssuedCodewords, accuse_below: f64) -> Detection {
        let Some(search) = self.search(key) else {
            return Detection {
                recipient: None,
                false_positive_probability: None,
                sync_z: 0.0,
                sync_p_value: 1.0,
                magnification: 1.0,
                aspect: 1.0,
                rotation_degrees: 0.0,
                reflection: Reflection::None,
                picture: None,
                tracked: false,
                frames_used: 0,
                mixed_with: Vec::new(),
                accused: Vec::new(),
            };
        };
        let Search {
            scheme,
            peaks,
            hypotheses,
        } = &search;
        let hypotheses = *hypotheses as f64;
        let decoded = peaks.iter().take(DECODE_CANDIDATES).find_map(|peak| {
            let soft = self.soft_chips(peak, scheme);
            let peeled = peel(&scheme.codec, &scheme.tag_key, &soft);
            (!peeled.ids.is_empty()).then_some((peeled.ids, peak, soft))
        });
        let (ids, false_positive_probability, reported, soft) = match decoded {
            Some((ids, peak, soft)) => {
                // Unmarked content passes the keyed tag with probability 2^-32 per decode,
                // independently of the sync peak (see `payload`).
                let tag = TAG_CHECKS as f64 * (-(TAG_BITS as f64)).exp2();
                let sync = max_tail(peak.peak.z, hypotheses);
                (ids, Some((sync * tag).min(1.0)), *peak, soft)
            }
            None => (
                Vec::new(),
                None,
                peaks[0],
                self.soft_chips(&peaks[0], scheme),
            ),
        };
        // An innocent's codeword is independent of the leak, so the registration scored
        // (the one that decoded, else the strongest) costs no extra test.
        let accused = issued.accuse(scheme.codec, &soft, accuse_below);
        let (folds, picture) = self.registration(&reported);
        let peak = reported.peak;
        Detection {
            recipient: ids.first().copied(),
            mixed_with: ids.get(1..).unwrap_or_default().to_vec(),
            accused,
            false_positive_probability,
            sync_z: peak.z,
            sync_p_value: max_tail(peak.z, hypotheses),
            magnification: peak.pose.scale,
            aspect: peak.pose.aspect,
            rotation_degrees: peak.pose.rotation.to_degrees(),
            reflection: peak.reflection,
            picture: Some(picture.unwrap_or_else(|| folds.picture(&peak))),
            tracked: reported.tracked,
            frames_used: self.frames,
        }
    }

    /// The sync search under `key` over every registration: the leak's frame (steady
    /// geometry) and, for a moving picture, its own canvas. Their peaks compete, and the
    /// sync p-value is charged for the hypotheses of both; `None` without frames.
    fn search(&self, key: &Key) -> Option<Search> {
        let folds = self.folds.as_ref()?;
        let scheme = KeyedScheme::new(key);
        let of = |folds: &Folds, tracked: bool| {
            let peaks = folds.search(&scheme.layout);
            peaks
                .into_iter()
                .map(move |peak| Candidate { peak, tracked })
        };
        let mut peaks: Vec<Candidate> = of(folds, false).collect();
        let mut hypotheses = folds.hypotheses();
        if let Some(tracked) = &self.tracked {
            peaks.extend(of(&tracked.folds, true));
            hypotheses += tracked.folds.hypotheses();
        }
        peaks.sort_by(|a, b| b.peak.z.total_cmp(&a.peak.z));
        Some(Search {
            scheme,
            peaks,
            hypotheses,
        })
    }

    /// The folds a candidate was found in, and the picture to report for it when that is
    /// not the folds' own (the tracked outline).
    fn registration(&self, candidate: &Candidate) -> (&Folds, Option<PictureFound>) {
        match (&self.tracked, candidate.tracked) {
            (Some(tracked), true) => (&tracked.folds, Some(tracked.outline)),
            _ => (self.folds.as_ref().expect("a search had folds"), None),
        }
    }

    /// The soft chip values of the accumulation registered at `candidate`.
    fn soft_chips(&self, candidate: &Candidate, scheme: &KeyedScheme) -> Vec<f32> {
        soft_chips(self.registration(candidate).0, &candidate.peak, scheme)
    }
}

/// A sync peak, and whether it is on the tracked canvas.
#[derive(Debug, Clone, Copy)]
struct Candidate {
    peak: SyncPeak,
    tracked: bool,
}

/// Every registration's peaks under one key, strongest first.
struct Search {
    scheme: KeyedScheme,
    peaks: Vec<Candidate>,
    /// Hypotheses of all registrations together.
    hypotheses: usize,
}

/// What a report shows of the sync under one key.
#[derive(Debug, Clone, PartialEq)]
pub struct SyncPicture {
    /// Best peak height (z) of every fold and reflection searched, strongest first.
    pub candidate_z: Vec<f64>,
    /// The correlation surface around the strongest peak, in standard deviations; the
    /// peak at the centre.
    pub surface: Array2<f32>,
    /// Hypotheses the sync p-value is charged for (folds x reflections x shifts).
    pub hypotheses: usize,
}

/// Shifts each side of the peak a [`SyncPicture`] shows.
const PICTURE_RADIUS: usize = 16;

impl Evidence {
    /// The sync search under `key`, laid out for a report; `None` when nothing was
    /// accumulated.
    pub fn sync_picture(&self, key: &Key) -> Option<SyncPicture> {
        let search = self.search(key)?;
        let best = &search.peaks[0];
        let folds = self.registration(best).0;
        Some(SyncPicture {
            surface: folds.surface_around(&search.scheme.layout, &best.peak, PICTURE_RADIUS),
            candidate_z: search.peaks.iter().map(|p| p.peak.z).collect(),
            hypotheses: search.hypotheses,
        })
    }
}

/// The soft chip values of the accumulation registered at `peak`.
fn soft_chips(folds: &Folds, peak: &SyncPeak, scheme: &KeyedScheme) -> Vec<f32> {
    let tile = downsample2(folds.registered(peak).view());
    scheme.layout.soft_bits(tile.view())
}

/// Detects in a single plane (a still or one frame): a shortcut for tests and tools.
pub fn detect_still<S: Sample>(luma: ArrayView2<S>, bit_depth: u8, key: &Key) -> Result<Detection> {
    let mut detector = Detector::new();
    detector.add_luma(luma, bit_depth)?;
    Ok(detector.detect(key))
}
