//! Synchronisation: finding the tile's scale and shift in a suspect picture.
//!
//! The whitened, accumulated picture is folded (summed modulo the tile period) at each
//! candidate magnification, at half a working pixel per sample. A crop is then a cyclic shift
//! of the folded tile, found for all shifts at once by FFT cross-correlation with the keyed
//! sync tile. The folds do not depend on the key, so several keys can be tried on one
//! accumulation for the price of one FFT per magnification.
//!
//! Mirrored and flipped copies are reflections of the picture about its centre, and the fold
//! samples outward from that centre, so a reflected picture folds to the reflected tile: each
//! fold is tried in the four reflections by permuting its spectrum, at no extra folding.
//!
//! The correlation is phase-only (symmetric phase-only matched filtering, Chen et al.): the
//! fold's spectrum is divided by its own magnitude, which flattens whatever host residual
//! survived whitening. Measured on real attacks it raised sync peaks by 2-5 standard
//! deviations; the same whitening of the registered tile before payload decoding gained
//! about 8 dB of robustness (the same attacks pass at a third of the strength).

use std::sync::Arc;

use ndarray::{Array2, ArrayView2};
use rustfft::num_complex::Complex32;
use rustfft::{Fft, FftPlanner};

use crate::detect::lattice::{Pose, estimate_poses};
use crate::grid::{TILE, WORKING_SIDE};
use crate::pattern::{ChipLayout, upsample2};
use crate::picture::ContentRect;
use crate::resample::bilinear;

/// Samples per tile period in a fold: two per working pixel.
pub(crate) const FOLD: usize = 2 * TILE;

/// Magnifications searched: how much larger the tile appears than it would if the picture
/// found were the whole marked picture. Cropping k % of each side magnifies by 1/(1-k):
/// 1.40 covers a zoom that crops a quarter of each side's length (1.33) and a scope
/// picture whose bars a brightness lift hid (1.345); 0.93 leaves room for bars detected a
/// line off and for dark edge lines the embedder took for bar and the leak's brightening
/// made picture.
const MIN_MAGNIFICATION: f32 = 0.93;
const MAX_MAGNIFICATION: f32 = 1.40;
/// Relative step between magnifications. Folding from the picture centre, a scale error e
/// drifts by e * (half the width in working pixels) at the edges; 0.25 % keeps that under a
/// quarter of a working pixel on 16:9 pictures.
const MAGNIFICATION_STEP: f32 = 0.0025;

/// How a leak may be reflected about the picture centre: none, mirrored left-right,
/// flipped upside down, or both (a half turn).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reflection {
    /// Not reflected.
    None,
    /// Mirrored left-right (columns reversed).
    Mirror,
    /// Flipped upside down (rows reversed).
    Flip,
    /// Mirrored and flipped: turned through 180 degrees.
    HalfTurn,
}

impl Reflection {
    /// Every reflection the sync search tries, unreflected first.
    pub const ALL: [Reflection; 4] = [
        Reflection::None,
        Reflection::Mirror,
        Reflection::Flip,
        Reflection::HalfTurn,
    ];

    /// The reflection in words (`"none"`, `"mirror"`, `"flip"`, `"half turn"`), for reports.
    pub fn name(self) -> &'static str {
        match self {
            Reflection::None => "none",
            Reflection::Mirror => "mirror",
            Reflection::Flip => "flip",
            Reflection::HalfTurn => "half turn",
        }
    }

    /// Which axes (rows, columns) the reflection flips.
    fn flips(self) -> (bool, bool) {
        match self {
            Reflection::None => (false, false),
            Reflection::Mirror => (false, true),
            Reflection::Flip => (true, false),
            Reflection::HalfTurn => (true, true),
        }
    }

    /// The spectrum of the reflected fold: reflecting a real tile negates its frequencies
    /// on the reflected axes (the same permutation reflects a shift).
    fn apply(self, spectrum: &[Complex32]) -> Vec<Complex32> {
        let n = FOLD;
        if self == Reflection::None {
            return spectrum.to_vec();
        }
        let mut out = vec![Complex32::default(); n * n];
        for u in 0..n {
            for v in 0..n {
                let (su, sv) = self.index((u, v));
                out[u * n + v] = spectrum[su * n + sv];
            }
        }
        out
    }

    /// A (row, column) frequency or shift, negated modulo [`FOLD`] on the reflected axes.
    fn index(self, (u, v): (usize, usize)) -> (usize, usize) {
        let negate = |k: usize| (FOLD - k) % FOLD;
        let (rows, cols) = self.flips();
        (
            if rows { negate(u) } else { u },
            if cols { negate(v) } else { v },
        )
    }
}

/// Lattice poses (`lattice`) folded per candidate picture, next to the axis-aligned scales.
const LATTICE_POSES: usize = 4;

/// One candidate pose of one candidate picture.
struct Fold {
    content: ContentRect,
    pose: Pose,
    /// Phase-only spectrum of the fold.
    spectrum: Vec<Complex32>,
}

/// Folded tiles of one accumulated picture at every candidate magnification, for every
/// candidate picture rectangle (inside dark bars; inside a still surround).
pub(crate) struct Folds {
    folds: Vec<Fold>,
    fft: Fft2,
    /// The accumulated plane's (rows, cols).
    plane: (usize, usize),
}

/// The picture a sync peak was found in, as fractions of the leak's frame: magnification,
/// aspect and rotation are measured against it (inside bars the detector found, or inside a
/// still surround), not against the frame.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct PictureFound {
    /// Left edge of the picture, as a fraction of the frame's width.
    pub left: f32,
    /// Top edge of the picture, as a fraction of the frame's height.
    pub top: f32,
    /// Width of the picture, as a fraction of the frame's width.
    pub width: f32,
    /// Height of the picture, as a fraction of the frame's height.
    pub height: f32,
}

/// The best alignment found for one fold in one reflection.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SyncPeak {
    pub fold_index: usize,
    pub pose: Pose,
    pub reflection: Reflection,
    /// Cyclic shift (rows, cols) in half working pixels.
    pub shift: (usize, usize),
    /// Peak height in standard deviations of the correlation surface.
    pub z: f64,
}

impl Folds {
    /// Folds `accumulated` inside each of `pictures` at every candidate magnification (with
    /// the columns' step `aspect` times the rows': 1 unless the plane stretches the
    /// picture), and at the poses the tile lattice suggests (rotation, aspect change; see
    /// `lattice`).
    pub(crate) fn new(
        accumulated: ArrayView2<f32>,
        pictures: &[ContentRect],
        aspect: f32,
    ) -> Folds {
        let fft = Fft2::new(FOLD);
        let mut magnifications = Vec::new();
        let mut m = MIN_MAGNIFICATION;
        while m <= MAX_MAGNIFICATION {
            magnifications.push(m);
            m *= 1.0 + MAGNIFICATION_STEP;
        }
        let folds = pictures
            .iter()
            .flat_map(|&content| {
                let spacing = unit_spacing(content);
                let axis_aligned = magnifications.iter().map(|&scale| Pose {
                    scale,
                    aspect,
                    rotation: 0.0,
                });
                let lattice = estimate_poses(accumulated, content, spacing, LATTICE_POSES);
                let poses: Vec<Pose> = axis_aligned.chain(lattice).collect();
                let fft = &fft;
                poses.into_iter().map(move |pose| {
                    let mut spectrum = fft.forward(fold(accumulated, content, &pose).view());
                    spectrum.iter_mut().for_each(|f| *f = phase_only(*f));
                    Fold {
                        content,
                        pose,
                        spectrum,
                    }
                })
            })
            .collect();
        Folds {
            folds,
            fft,
            plane: accumulated.dim(),
        }
    }

    /// Number of (picture, magnification, reflection, shift) hypotheses a search tries.
    pub(crate) fn hypotheses(&self) -> usize {
        self.folds.len() * Reflection::ALL.len() * FOLD * FOLD
    }

    /// The spectrum of the key's sync tile at fold resolution.
    fn template(&self, layout: &ChipLayout) -> Vec<Complex32> {
        self.fft
            .forward(upsample2(layout.sync_tile().view()).view())
    }

    /// Best peak per fold and reflection, strongest first.
    pub(crate) fn search(&self, layout: &ChipLayout) -> Vec<SyncPeak> {
        let template = self.template(layout);
        // Correlating a reflected fold with the template is correlating the fold with the
        // reflected template, its surface permuted by the reflection: so the key's template
        // is reflected once, not every fold, and the peak's shift reflected back.
        let reflected: Vec<Vec<Complex32>> = Reflection::ALL
            .iter()
            .map(|r| r.apply(&template).iter().map(|t| t.conj()).collect())
            .collect();
        let mut peaks: Vec<SyncPeak> = self
            .folds
            .iter()
            .enumerate()
            .flat_map(|(i, fold)| {
                // The correlation surfaces are real, so two reflections share one complex
                // inverse FFT: the first's spectrum plus i times the second's.
                let pairs = [(0, 1), (2, 3)].into_iter().flat_map(|(a, b)| {
                    let combined: Vec<Complex32> = fold
                        .spectrum
                        .iter()
                        .zip(&reflected[a])
                        .zip(&reflected[b])
                        .map(|((f, ta), tb)| {
                            // i times (f tb), as a rotation rather than a complex product.
                            let second = f * tb;
                            f * ta + Complex32::new(-second.im, second.re)
                        })
                        .collect();
                    let (first, second) = self.fft.inverse_pair_transposed(combined);
                    [(Reflection::ALL[a], first), (Reflection::ALL[b], second)]
                });
                pairs
                    .map(|(reflection, surface)| {
                        // The surface came back transposed: index = column * FOLD + row.
                        let (index, z) = peak_z(&surface);
                        SyncPeak {
                            fold_index: i,
                            pose: fold.pose,
                            reflection,
                            shift: reflection.index((index % FOLD, index / FOLD)),
                            z,
                        }
                    })
                    .collect::<Vec<_>>()
            })
            .collect();
        peaks.sort_by(|a, b| b.z.total_cmp(&a.z));
        peaks
    }

    /// The correlation surface of `peak`'s fold and reflection with the key's sync
    /// template, in standard deviations above its mean, over the shifts within `radius` of
    /// the peak's (which is at the centre): what a report shows of the sync.
    pub(crate) fn surface_around(
        &self,
        layout: &ChipLayout,
        peak: &SyncPeak,
        radius: usize,
    ) -> Array2<f32> {
        let template = self.template(layout);
        let reflected = peak.reflection.apply(&self.folds[peak.fold_index].spectrum);
        let product = reflected
            .iter()
            .zip(&template)
            .map(|(f, t)| f * t.conj())
            .collect();
        let surface = self.fft.inverse_real(product);
        let n = surface.len() as f32;
        let mean = surface.iter().sum::<f32>() / n;
        let sd = (surface.iter().map(|v| (v - mean).powi(2)).sum::<f32>() / n).sqrt();
        let side = 2 * radius + 1;
        let (pr, pc) = peak.shift;
        Array2::from_shape_fn((side, side), |(r, c)| {
            let row = (pr + FOLD + r - radius) % FOLD;
            let col = (pc + FOLD + c - radius) % FOLD;
            (surface[row * FOLD + col] - mean) / sd.max(f32::MIN_POSITIVE)
        })
    }

    /// The candidate picture `peak` was found in, as fractions of the accumulated plane.
    pub(crate) fn picture(&self, peak: &SyncPeak) -> PictureFound {
        let content = self.folds[peak.fold_index].content;
        let (rows, cols) = (self.plane.0 as f32, self.plane.1 as f32);
        PictureFound {
            left: content.left as f32 / cols,
            top: content.top as f32 / rows,
            width: content.width() as f32 / cols,
            height: content.height() as f32 / rows,
        }
    }

    /// The folded tile at `peak`, spectrally whitened, reflected back and shifted so it
    /// lines up with the key's tile.
    pub(crate) fn registered(&self, peak: &SyncPeak) -> Array2<f32> {
        self.align(&self.folds[peak.fold_index].spectrum, peak)
    }

    /// Folds another plane of the same accumulation geometry (a window of the leak's
    /// frames, whitened) in `peak`'s picture and pose, unregistered: such folds add up, so
    /// windows are sums of the folds of their frames.
    pub(crate) fn fold_like(&self, plane: ArrayView2<f32>, peak: &SyncPeak) -> Array2<f32> {
        let fold_of = &self.folds[peak.fold_index];
        fold(plane, fold_of.content, &fold_of.pose)
    }

    /// [`Folds::registered`] for a sum of [`Folds::fold_like`] folds.
    pub(crate) fn register(&self, folded: ArrayView2<f32>, peak: &SyncPeak) -> Array2<f32> {
        let mut spectrum = self.fft.forward(folded);
        spectrum.iter_mut().for_each(|f| *f = phase_only(*f));
        self.align(&spectrum, peak)
    }

    fn align(&self, spectrum: &[Complex32], peak: &SyncPeak) -> Array2<f32> {
        let whitened = self.fft.inverse_real(peak.reflection.apply(spectrum));
        let tile = Array2::from_shape_vec((FOLD, FOLD), whitened).expect("FOLD x FOLD samples");
        let (dr, dc) = peak.shift;
        Array2::from_shape_fn((FOLD, FOLD), |(r, c)| {
            tile[[(r + dr) % FOLD, (c + dc) % FOLD]]
        })
    }
}

/// Accumulation pixels per half working pixel in an axis-aligned fold of `content` at
/// magnification 1.
fn unit_spacing(content: ContentRect) -> f32 {
    content.height().min(content.width()) as f32 / (2 * WORKING_SIDE) as f32
}

/// Sums the picture modulo the tile period in `pose`, sampling outward from the picture
/// centre so scale errors drift least: fold sample (i, j) is at the centre plus i row steps
/// and j column steps.
fn fold(picture: ArrayView2<f32>, content: ContentRect, pose: &Pose) -> Array2<f32> {
    let (row_step, col_step) = pose.steps(unit_spacing(content));
    let centre_row = (content.top + content.bottom - 1) as f32 / 2.0;
    let centre_col = (content.left + content.right - 1) as f32 / 2.0;
    let (half_height, half_width) = (
        (content.height() - 1) as f32 / 2.0,
        (content.width() - 1) as f32 / 2.0,
    );
    let axis_aligned = row_step[1] == 0.0 && col_step[0] == 0.0;
    // Steps along each fold axis that can stay inside the picture.
    let reach = |step: [f32; 2]| {
        let length = step[0].hypot(step[1]);
        (half_height.hypot(half_width) / length) as isize
    };
    let (half_rows, half_cols) = if axis_aligned {
        (
            (half_height / row_step[0]) as isize,
            (half_width / col_step[1]) as isize,
        )
    } else {
        (reach(row_step), reach(col_step))
    };
    let mut tile = Array2::<f32>::zeros((FOLD, FOLD));
    let n = FOLD as isize;
    if axis_aligned {
        fold_axis_aligned(
            &mut tile,
            picture,
            (centre_row, row_step[0]),
            half_rows,
            (centre_col, col_step[1]),
            half_cols,
        );
        return tile;
    }
    for i in -half_rows..=half_rows {
        let (row0, col0) = (
            centre_row + i as f32 * row_step[0],
            centre_col + i as f32 * row_step[1],
        );
        let tile_row = i.rem_euclid(n) as usize;
        for j in -half_cols..=half_cols {
            let row = row0 + j as f32 * col_step[0];
            let col = col0 + j as f32 * col_step[1];
            if (row - centre_row).abs() > half_height || (col - centre_col).abs() > half_width {
                continue;
            }
            if let Some(v) = bilinear(&picture, row, col) {
                tile[[tile_row, j.rem_euclid(n) as usize]] += v;
            }
        }
    }
    tile
}

/// [`fold`] for a pose without rotation, where every fold row samples one line of the
/// picture and every fold column one column: the column weights are worked out once rather
/// than per sample (the detector folds ~170 magnifications per picture). Same sums, in the
/// same order, as [`bilinear`] sample by sample.
fn fold_axis_aligned(
    tile: &mut Array2<f32>,
    picture: ArrayView2<f32>,
    (centre_row, row_step): (f32, f32),
    half_rows: isize,
    (centre_col, col_step): (f32, f32),
    half_cols: isize,
) {
    let (rows, cols) = picture.dim();
    let n = FOLD as isize;
    // (tile column, left column, right column, weight of the right one) per fold column
    // inside the picture.
    let columns: Vec<(usize, usize, usize, f32)> = (-half_cols..=half_cols)
        .filter_map(|j| {
            let col = centre_col + j as f32 * col_step;
            if col < 0.0 || col > (cols - 1) as f32 {
                return None;
            }
            let c0 = col as usize;
            Some((
                j.rem_euclid(n) as usize,
                c0,
                (c0 + 1).min(cols - 1),
                col - c0 as f32,
            ))
        })
        .collect();
    for i in -half_rows..=half_rows {
        let row = centre_row + i as f32 * row_step;
        if row < 0.0 || row > (rows - 1) as f32 {
            continue;
        }
        let r0 = row as usize;
        let (fr, r1) = (row - r0 as f32, (r0 + 1).min(rows - 1));
        let (upper, lower) = (picture.row(r0), picture.row(r1));
        let mut out = tile.row_mut(i.rem_euclid(n) as usize);
        for &(t, c0, c1, fc) in &columns {
            let top = upper[c0] + (upper[c1] - upper[c0]) * fc;
            let bottom = lower[c0] + (lower[c1] - lower[c0]) * fc;
            out[t] += top + (bottom - top) * fr;
        }
    }
}

/// Unit-magnitude version of a spectral coefficient (zero stays zero).
fn phase_only(f: Complex32) -> Complex32 {
    let magnitude = f.norm();
    if magnitude > 1e-12 {
        f / magnitude
    } else {
        Complex32::default()
    }
}

/// Index of the maximum and its height in standard deviations above the surface mean.
fn peak_z(surface: &[f32]) -> (usize, f64) {
    let n = surface.len() as f64;
    let (mut sum, mut index, mut max) = (0.0f64, 0, f32::MIN);
    for (i, &v) in surface.iter().enumerate() {
        sum += f64::from(v);
        if v > max {
            (index, max) = (i, v);
        }
    }
    let mean = sum / n;
    let variance = surface
        .iter()
        .map(|&v| (f64::from(v) - mean).powi(2))
        .sum::<f64>()
        / n;
    let z = if variance > 0.0 {
        (max as f64 - mean) / variance.sqrt()
    } else {
        0.0
    };
    (index, z)
}

/// Square 2-D FFT by rows then columns.
struct Fft2 {
    n: usize,
    forward: Arc<dyn Fft<f32>>,
    inverse: Arc<dyn Fft<f32>>,
}

impl Fft2 {
    fn new(n: usize) -> Fft2 {
        let mut planner = FftPlanner::new();
        Fft2 {
            n,
            forward: planner.plan_fft_forward(n),
            inverse: planner.plan_fft_inverse(n),
        }
    }

    fn forward(&self, tile: ArrayView2<f32>) -> Vec<Complex32> {
        let mut data: Vec<Complex32> = tile.iter().map(|&v| Complex32::new(v, 0.0)).collect();
        self.transform(&mut data, &self.forward);
        data
    }

    fn inverse_real(&self, mut data: Vec<Complex32>) -> Vec<f32> {
        self.transform(&mut data, &self.inverse);
        data.iter().map(|c| c.re).collect()
    }

    /// Inverse of `X + iY` for the spectra X, Y of two real signals: both signals at once,
    /// transposed (sample (r, c) at `c * n + r`; a peak search needs no other order).
    fn inverse_pair_transposed(&self, mut data: Vec<Complex32>) -> (Vec<f32>, Vec<f32>) {
        let n = self.n;
        self.inverse.process(&mut data);
        let mut transposed = vec![Complex32::default(); n * n];
        transpose(&data, &mut transposed, n);
        self.inverse.process(&mut transposed);
        transposed.iter().map(|c| (c.re, c.im)).unzip()
    }

    fn transform(&self, data: &mut [Complex32], fft: &Arc<dyn Fft<f32>>) {
        let n = self.n;
        fft.process(data);
        let mut transposed = vec![Complex32::default(); n * n];
        transpose(data, &mut transposed, n);
        fft.process(&mut transposed);
        transpose(&transposed, data, n);
    }
}

fn transpose(src: &[Complex32], dst: &mut [Complex32], n: usize) {
    for r in 0..n {
        for c in 0..n {
            dst[c * n + r] = src[r * n + c];
        }
    }
}
