//! Blind estimation of a leak's geometry from the tile lattice.
//!
//! The mark repeats with the tile, so the accumulated picture's power spectrum has peaks on
//! the tile's reciprocal lattice, weighted by the band's power ([`tile_spectrum`]), which
//! is the same for every key. Rotating, stretching or zooming the leak rotates and
//! stretches that lattice. Summing the whitened power at the lattice points a pose
//! predicts (a comb) scores the pose without any key, for the price of one FFT of the
//! picture and a few hundred lookups per pose, where folding and correlating costs a
//! fold and an FFT per pose and per key.
//!
//! The search is coarse to fine: a grid over scale, aspect and rotation scored with the
//! strongest lattice points (their peaks are widest), then the best few poses refined with
//! many more. Only the refined poses are folded and correlated with the key's sync pattern
//! (`sync`), and only those count as hypotheses for the false-positive bound: the comb
//! never sees a key, so under the null it picks poses independently of the key.

use std::sync::Arc;

use ndarray::{Array2, ArrayView2};
use rustfft::num_complex::Complex32;
use rustfft::{Fft, FftPlanner};

use crate::grid::TILE;
use crate::pattern::tile_spectrum;
use crate::picture::ContentRect;

/// Poses searched: scale relative to the axis-aligned fold at magnification 1 (down to a
/// player window 55 % of the height of a screen recording), the columns' scale relative to
/// the rows' (anamorphic squeeze or stretch), and rotation. Scale 0.5 is left out: there
/// the comb lands on every second lattice point of an unscaled mark, an alias.
const SCALES: (f32, f32) = (0.55, 1.45);
const ASPECTS: (f32, f32) = (0.72, 1.40);
const MAX_ROTATION_DEGREES: f32 = 6.0;
/// Coarse grid steps: relative 1.5 % in scale and aspect, 0.75 degrees.
const COARSE_STEP: f32 = 0.015;
const COARSE_ROTATION_STEP: f32 = 0.75;
/// Distinct coarse poses refined.
const REFINED: usize = 16;
/// Lattice points scored on the coarse grid and in refinement.
const COARSE_POINTS: usize = 400;
const FINE_POINTS: usize = 900;
/// Whitened power is clipped here, so a few strong periodic artefacts of the host or the
/// codec (block grids) cannot outvote the lattice.
const MAX_WHITENED_POWER: f32 = 12.0;
/// Radius (bins) of the spectral background the power is whitened against.
const BACKGROUND_RADIUS: usize = 6;

/// A leak's geometry relative to the marked picture, as the detector's fold needs it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Pose {
    /// Scale of the rows' axis (the magnification).
    pub scale: f32,
    /// Scale of the columns' axis relative to the rows'.
    pub aspect: f32,
    /// Rotation of the picture, in radians.
    pub rotation: f32,
}

impl Pose {
    /// Within two coarse steps of `other` in scale, aspect and rotation.
    fn is_near(&self, other: &Pose) -> bool {
        (self.scale / other.scale).ln().abs() < 2.0 * COARSE_STEP
            && (self.aspect / other.aspect).ln().abs() < 2.0 * COARSE_STEP
            && (self.rotation - other.rotation).abs() < (2.0 * COARSE_ROTATION_STEP).to_radians()
    }

    /// Fold steps (accumulation pixels per half working pixel, (row, col)) for a picture
    /// whose axis-aligned step at magnification 1 is `spacing`.
    pub(crate) fn steps(&self, spacing: f32) -> ([f32; 2], [f32; 2]) {
        let (sin, cos) = self.rotation.sin_cos();
        let rows = spacing * self.scale;
        let cols = rows * self.aspect;
        ([rows * cos, rows * sin], [-cols * sin, cols * cos])
    }
}

/// The most likely poses of the tile in `accumulated` inside `picture`, best first, at
/// most `count`, found without a key. `spacing` is the axis-aligned fold step at
/// magnification 1 (see `sync`).
pub(super) fn estimate_poses(
    accumulated: ArrayView2<f32>,
    picture: ContentRect,
    spacing: f32,
    count: usize,
) -> Vec<Pose> {
    let spectrum = WhitenedSpectrum::new(accumulated, picture);
    let points = tile_spectrum();
    let coarse = &points[..COARSE_POINTS.min(points.len())];
    let fine = &points[..FINE_POINTS.min(points.len())];

    let rotations = (MAX_ROTATION_DEGREES / COARSE_ROTATION_STEP) as i32;
    let grid = |(lo, hi): (f32, f32)| {
        let n = ((hi / lo).ln() / COARSE_STEP.ln_1p()).ceil() as usize;
        (0..=n).map(move |i| lo * (1.0 + COARSE_STEP).powi(i as i32))
    };
    let scales: Vec<f32> = grid(SCALES).collect();
    let aspects: Vec<f32> = grid(ASPECTS).collect();
    let score_scale = |scale: f32| {
        let mut scored = Vec::new();
        for &aspect in &aspects {
            for r in -rotations..=rotations {
                let pose = Pose {
                    scale,
                    aspect,
                    rotation: (r as f32 * COARSE_ROTATION_STEP).to_radians(),
                };
                scored.push((spectrum.comb(&pose, spacing, coarse), pose));
            }
        }
        scored
    };
    // The coarse grid and the refinements are the expensive parts: they run on all cores,
    // joined in order, so the result does not depend on the thread count.
    let mut scored: Vec<(f32, Pose)> = map_in_order(&scales, |&scale| score_scale(scale))
        .into_iter()
        .flatten()
        .collect();
    scored.sort_by(|a, b| b.0.total_cmp(&a.0));

    // Refine the best distinct coarse poses (the fine comb tells the true pose from the
    // coarse grid's runners-up far better than the coarse one), then keep the best
    // `count` distinct ones.
    let starts = distinct(scored.into_iter().map(|(_, pose)| pose), REFINED);
    let mut refined = map_in_order(&starts, |&pose| refine(&spectrum, pose, spacing, fine));
    refined.sort_by(|a, b| b.0.total_cmp(&a.0));
    distinct(refined.into_iter().map(|(_, pose)| pose), count)
}

/// The first `limit` poses, best first, that are not near an earlier one.
fn distinct(poses: impl Iterator<Item = Pose>, limit: usize) -> Vec<Pose> {
    let mut kept: Vec<Pose> = Vec::new();
    for pose in poses {
        if kept.len() >= limit {
            break;
        }
        if !kept.iter().any(|p| p.is_near(&pose)) {
            kept.push(pose);
        }
    }
    kept
}

/// `items.iter().map(f)`, on all cores, results in the items' order.
fn map_in_order<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let chunk = items.len().div_ceil(threads).max(1);
    std::thread::scope(|scope| {
        let workers: Vec<_> = items
            .chunks(chunk)
            .map(|part| scope.spawn(|| part.iter().map(&f).collect::<Vec<_>>()))
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().expect("lattice worker"))
            .collect()
    })
}

/// Coordinate ascent on the comb score with shrinking steps.
fn refine(
    spectrum: &WhitenedSpectrum,
    mut pose: Pose,
    spacing: f32,
    points: &[((i32, i32), f32)],
) -> (f32, Pose) {
    let mut best = spectrum.comb(&pose, spacing, points);
    for step in [0.008f32, 0.004, 0.002, 0.001, 0.0005] {
        let angle = step * 0.8; // radians: a comparable displacement at the picture's edge
        loop {
            let mut improved = false;
            for candidate in [
                Pose {
                    scale: pose.scale * (1.0 + step),
                    ..pose
                },
                Pose {
                    scale: pose.scale / (1.0 + step),
                    ..pose
                },
                Pose {
                    aspect: pose.aspect * (1.0 + step),
                    ..pose
                },
                Pose {
                    aspect: pose.aspect / (1.0 + step),
                    ..pose
                },
                Pose {
                    rotation: pose.rotation + angle,
                    ..pose
                },
                Pose {
                    rotation: pose.rotation - angle,
                    ..pose
                },
            ] {
                let score = spectrum.comb(&candidate, spacing, points);
                if score > best {
                    best = score;
                    pose = candidate;
                    improved = true;
                }
            }
            if !improved {
                break;
            }
        }
    }
    (best, pose)
}

/// Power spectrum of the picture, divided by its local background and clipped.
struct WhitenedSpectrum {
    rows: usize,
    cols: usize,
    /// Row-major `rows x cols`, both powers of two.
    power: Vec<f32>,
}

impl WhitenedSpectrum {
    fn new(accumulated: ArrayView2<f32>, picture: ContentRect) -> WhitenedSpectrum {
        let (h, w) = (picture.height(), picture.width());
        let (rows, cols) = (h.next_power_of_two(), w.next_power_of_two());
        let region = accumulated.slice(ndarray::s![
            picture.top..picture.bottom,
            picture.left..picture.right
        ]);
        let mean = region.mean().unwrap_or(0.0);
        // A Hann window keeps the picture's edges from smearing the lattice peaks.
        let hann = |i: usize, n: usize| {
            0.5 - 0.5 * (2.0 * std::f32::consts::PI * (i as f32 + 0.5) / n as f32).cos()
        };
        let mut data = vec![Complex32::default(); rows * cols];
        for (r, line) in region.outer_iter().enumerate() {
            for (c, &v) in line.iter().enumerate() {
                data[r * cols + c] = Complex32::new((v - mean) * hann(r, h) * hann(c, w), 0.0);
            }
        }
        fft2(&mut data, rows, cols);
        let raw = Array2::from_shape_fn((rows, cols), |(r, c)| data[r * cols + c].norm_sqr());
        let background = blur(&blur(&raw, BACKGROUND_RADIUS), BACKGROUND_RADIUS);
        let power = raw
            .iter()
            .zip(&background)
            .map(|(&p, &b)| (p / b.max(1e-12)).min(MAX_WHITENED_POWER))
            .collect();
        WhitenedSpectrum { rows, cols, power }
    }

    /// Weighted mean whitened power at the lattice points `pose` predicts, minus the
    /// background's 1.
    fn comb(&self, pose: &Pose, spacing: f32, points: &[((i32, i32), f32)]) -> f32 {
        let (row_step, col_step) = pose.steps(spacing);
        // Frequency (cycles per pixel) of tile frequency k: S^-T k / FOLD, where S has the
        // fold steps as columns and a tile spans FOLD half working pixels.
        let det = row_step[0] * col_step[1] - col_step[0] * row_step[1];
        let period = (2 * TILE) as f32;
        let mut sum = 0.0;
        let mut weights = 0.0;
        for &((kr, kc), weight) in points {
            let (kr, kc) = (kr as f32 / period, kc as f32 / period);
            // S^-T = (1/det) [[col_step[1], -row_step[1]], [-col_step[0], row_step[0]]]
            let fr = (col_step[1] * kr - row_step[1] * kc) / det;
            let fc = (-col_step[0] * kr + row_step[0] * kc) / det;
            sum += weight * (self.at(fr, fc) - 1.0);
            weights += weight;
        }
        sum / weights
    }

    /// Bilinear lookup at frequency (fr, fc) in cycles per pixel, wrapping around. The
    /// coarse pose grid calls this tens of millions of times per leak: the sizes are powers
    /// of two, so a mask wraps (negative indices included) where `rem_euclid` divided.
    fn at(&self, fr: f32, fc: f32) -> f32 {
        let r = fr * self.rows as f32;
        let c = fc * self.cols as f32;
        let (r0, c0) = (floor(r), floor(c));
        let (dr, dc) = (r - r0, c - c0);
        let wrap = |v: f32, n: usize| (v as i64 as usize) & (n - 1);
        let (r0, c0) = (wrap(r0, self.rows), wrap(c0, self.cols));
        let (r1, c1) = ((r0 + 1) & (self.rows - 1), (c0 + 1) & (self.cols - 1));
        let (top_row, bottom_row) = (r0 * self.cols, r1 * self.cols);
        let p = &self.power;
        let top = p[top_row + c0] + (p[top_row + c1] - p[top_row + c0]) * dc;
        let bottom = p[bottom_row + c0] + (p[bottom_row + c1] - p[bottom_row + c0]) * dc;
        top + (bottom - top) * dr
    }
}

/// `x.floor()` for the spectrum's small frequencies, without the libm call that
/// `f32::floor` compiles to on baseline x86-64 (same value for every |x| < 2^31).
fn floor(x: f32) -> f32 {
    let truncated = x as i32 as f32;
    if truncated > x {
        truncated - 1.0
    } else {
        truncated
    }
}

/// In-place 2-D FFT of a `rows x cols` row-major array.
fn fft2(data: &mut [Complex32], rows: usize, cols: usize) {
    let mut planner = FftPlanner::new();
    let along_rows: Arc<dyn Fft<f32>> = planner.plan_fft_forward(cols);
    let along_cols: Arc<dyn Fft<f32>> = planner.plan_fft_forward(rows);
    along_rows.process(data);
    let mut transposed = vec![Complex32::default(); rows * cols];
    for r in 0..rows {
        for c in 0..cols {
            transposed[c * rows + r] = data[r * cols + c];
        }
    }
    along_cols.process(&mut transposed);
    for c in 0..cols {
        for r in 0..rows {
            data[r * cols + c] = transposed[c * rows + r];
        }
    }
}

/// Cyclic box mean of radius `radius` along both axes.
fn blur(plane: &Array2<f32>, radius: usize) -> Array2<f32> {
    let (rows, cols) = plane.dim();
    let width = (2 * radius + 1) as f64;
    let along = |get: &dyn Fn(usize) -> f32, n: usize, out: &mut dyn FnMut(usize, f32)| {
        let at = |i: isize| get(i.rem_euclid(n as isize) as usize) as f64;
        let r = radius as isize;
        let mut sum: f64 = (-r..=r).map(at).sum();
        for i in 0..n as isize {
            out(i as usize, (sum / width) as f32);
            sum += at(i + r + 1) - at(i - r);
        }
    };
    let mut horizontal = Array2::<f32>::zeros((rows, cols));
    for r in 0..rows {
        along(&|c| plane[[r, c]], cols, &mut |c, v| horizontal[[r, c]] = v);
    }
    let mut out = Array2::<f32>::zeros((rows, cols));
    for c in 0..cols {
        along(&|r| horizontal[[r, c]], rows, &mut |r, v| out[[r, c]] = v);
    }
    out
}
