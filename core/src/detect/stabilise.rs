//! Pose over time: a handheld camera filming a screen.
//!
//! A phone held up to a TV moves the picture every frame (1-4 % of the width at 0.3-3 Hz,
//! each corner on its own path as the hand tilts), so one pose for the whole leak smears
//! the tile. The mark is tied to the active picture, and the picture's outline is the one
//! thing in the frame that moves with the screen and not with the film: its top and
//! bottom edges against the bars, its sides against the bezel or the room. So each frame's
//! outline is found from the frame alone (four edges, each a quadratic curve, since a lens
//! bows them), and the frame is resampled from its outline onto one fixed canvas, the
//! picture's own coordinates, and accumulated there. Every frame then adds evidence in the
//! same place, whatever the camera did; the sync search runs on the canvas as on any
//! accumulation.
//!
//! The outline is found without the key, from picture content alone, so it picks the
//! canvas independently of the key under the null: the canvas's folds are hypotheses like
//! any other and the bound is charged for them (see `Evidence::detect_with`). A steady leak
//! gains nothing from the canvas, so it is only built once the outline is seen to move, and
//! only searched when it moved over the leak.

use ndarray::{Array2, ArrayView2};

use crate::detect::sync::PictureFound;
use crate::detect::whiten::whiten;
use crate::resample::bilinear;

/// The canvas every tracked frame is resampled onto: the picture's height over its rows,
/// its width over its columns. 432 rows give 2.4 samples per working pixel of the
/// picture's height; 864 columns 2 per working pixel of a scope picture's width (2.39:1).
pub(super) const CANVAS: (usize, usize) = (432, 864);

/// Fraction of the outline left out on every side: the lines next to the edge mix bar and
/// picture.
const INSET: f32 = 0.01;

/// Outlines seen before a detector starts resampling, so that its motion is measured.
const MOTION_SAMPLE: usize = 8;
/// RMS movement of the outline's corners (plane pixels, two per working pixel of a full
/// picture) above which the picture is taken to move: well above the jitter of the edge fit
/// on a steady leak (a tenth of a pixel), well below a hand's shake (tens of pixels).
const MIN_MOTION: f64 = 1.0;
/// Tracked frames (at least, and as a share of all frames) for the canvas to be searched.
const MIN_TRACKED: usize = 24;
const MIN_TRACKED_SHARE: f64 = 0.25;

/// An edge needs a step of at least this (8-bit code values) from a dark side of at most
/// `DARK_MAX`: bars and bezels, lifted by a camera's black level and exposure.
const MIN_STEP: f32 = 16.0;
const DARK_MAX: f32 = 56.0;
/// Samples either side of a step that are averaged.
const STEP_HALF: usize = 3;
/// Candidate edge points kept per line (the strongest steps).
const CANDIDATES: usize = 2;
/// RANSAC trials and the inlier distances (plane pixels) of the search and the final fit.
const TRIALS: usize = 160;
const SEARCH_INLIER: f32 = 1.25;
const FIT_INLIER: f32 = 0.9;
/// An edge must be supported by this share of the lines it spans (dark picture content at
/// the edge loses points; a spurious edge in the room finds few).
const MIN_SUPPORT: f32 = 0.3;
/// Edges may tilt by this much (about 11 degrees) and bow by this share of their length.
const MAX_SLOPE: f32 = 0.2;
const MAX_BOW: f32 = 0.04;

/// One side of the picture's outline: the perpendicular coordinate as a quadratic in the
/// coordinate along the edge, `a + b (s - centre) + c (s - centre)^2` (for the top and
/// bottom the row at a column; for the sides the column at a row), in plane pixels.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Edge {
    a: f32,
    b: f32,
    c: f32,
    centre: f32,
}

impl Edge {
    fn at(&self, s: f32) -> f32 {
        let d = s - self.centre;
        self.a + self.b * d + self.c * d * d
    }
}

/// Which side an edge is: where its dark side lies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    Top,
    Bottom,
    Left,
    Right,
}

/// The picture's outline in one frame, in plane coordinates (x = column, y = row).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Outline {
    top: Edge,
    bottom: Edge,
    left: Edge,
    right: Edge,
    /// Corners: top-left, top-right, bottom-right, bottom-left, (x, y).
    corners: [(f32, f32); 4],
}

impl Outline {
    /// Finds the picture's outline in `plane` (8-bit code values), if all four edges are
    /// clear enough.
    pub(super) fn find(plane: ArrayView2<f32>) -> Option<Outline> {
        let (rows, cols) = plane.dim();
        if rows < 8 * STEP_HALF || cols < 8 * STEP_HALF {
            return None;
        }
        let margin = 2 * STEP_HALF;
        let top = fit_edge(plane, Side::Top, margin, cols - margin)?;
        let bottom = fit_edge(plane, Side::Bottom, margin, cols - margin)?;
        let mid_col = cols as f32 / 2.0;
        let (row_from, row_to) = inside(top.at(mid_col), bottom.at(mid_col), rows)?;
        let left = fit_edge(plane, Side::Left, row_from, row_to)?;
        let right = fit_edge(plane, Side::Right, row_from, row_to)?;
        // The top and bottom again, from the columns inside the sides only (the room's
        // own edges beyond the screen no longer compete).
        let mid_row = (top.at(mid_col) + bottom.at(mid_col)) / 2.0;
        let (col_from, col_to) = inside(left.at(mid_row), right.at(mid_row), cols)?;
        let top = fit_edge(plane, Side::Top, col_from, col_to)?;
        let bottom = fit_edge(plane, Side::Bottom, col_from, col_to)?;
        let corners = [
            corner(&top, &left),
            corner(&top, &right),
            corner(&bottom, &right),
            corner(&bottom, &left),
        ];
        let outline = Outline {
            top,
            bottom,
            left,
            right,
            corners,
        };
        outline.plausible(rows, cols).then_some(outline)
    }

    /// A picture at least a third of the frame wide and a sixth high, landscape up to
    /// 3.2:1 (wider than any film), with its corners inside the frame.
    fn plausible(&self, rows: usize, cols: usize) -> bool {
        let (width, height) = self.size();
        let inside = self
            .corners
            .iter()
            .all(|&(x, y)| (-1.0..=cols as f32).contains(&x) && (-1.0..=rows as f32).contains(&y));
        inside
            && width >= cols as f32 / 3.0
            && height >= rows as f32 / 6.0
            && (1.0..=3.2).contains(&(width / height))
    }

    /// Mean width (top and bottom edges) and height (the sides), in plane pixels.
    fn size(&self) -> (f32, f32) {
        let d = |a: (f32, f32), b: (f32, f32)| (a.0 - b.0).hypot(a.1 - b.1);
        let [tl, tr, br, bl] = self.corners;
        ((d(tl, tr) + d(bl, br)) / 2.0, (d(tl, bl) + d(tr, br)) / 2.0)
    }

    /// `frame` (8-bit code values, any size; `plane_dims` the plane the outline was found
    /// in) resampled from this outline onto the [`CANVAS`].
    ///
    /// Canvas point (u, v) in [0, 1]^2 lies at the projective map of the unit square onto
    /// the corners (perspective), plus each edge's bow blended inwards (a Coons patch: a
    /// lens bows the edges and the picture with them). The top and bottom bows depend on u
    /// only and the sides' on v only, so they are computed once per column and row.
    pub(super) fn resample(
        &self,
        frame: ArrayView2<f32>,
        plane_dims: (usize, usize),
    ) -> Array2<f32> {
        let (rows, cols) = CANVAS;
        let (frame_rows, frame_cols) = frame.dim();
        let scale_y = frame_rows as f32 / plane_dims.0 as f32;
        let scale_x = frame_cols as f32 / plane_dims.1 as f32;
        let homography = Homography::onto(self.corners);
        let span = 1.0 - 2.0 * INSET;
        let at = |i: usize, n: usize| INSET + span * (i as f32 + 0.5) / n as f32;
        let bow_y = |edge: &Edge, u: f32, v: f32| {
            let (x, y) = homography.apply(u, v);
            edge.at(x) - y
        };
        let bow_x = |edge: &Edge, u: f32, v: f32| {
            let (x, y) = homography.apply(u, v);
            edge.at(y) - x
        };
        let column_bows: Vec<(f32, f32, f32)> = (0..cols)
            .map(|c| {
                let u = at(c, cols);
                (u, bow_y(&self.top, u, 0.0), bow_y(&self.bottom, u, 1.0))
            })
            .collect();
        let mut canvas = Array2::zeros((rows, cols));
        for (r, mut line) in canvas.outer_iter_mut().enumerate() {
            let v = at(r, rows);
            let (left, right) = (bow_x(&self.left, 0.0, v), bow_x(&self.right, 1.0, v));
            for (sample, &(u, top, bottom)) in line.iter_mut().zip(&column_bows) {
                let (x, y) = homography.apply(u, v);
                let x = x + (1.0 - u) * left + u * right;
                let y = y + (1.0 - v) * top + v * bottom;
                // Plane pixel centres to frame pixel centres (the plane is an area resize).
                let (fx, fy) = ((x + 0.5) * scale_x - 0.5, (y + 0.5) * scale_y - 0.5);
                *sample = bilinear(&frame, fy, fx).unwrap_or(0.0);
            }
        }
        canvas
    }
}

/// The projective map of the unit square onto a quadrilateral (Heckbert's closed form):
/// (0,0), (1,0), (1,1), (0,1) to the corners in that order.
struct Homography {
    a: f32,
    b: f32,
    c: f32,
    d: f32,
    e: f32,
    f: f32,
    g: f32,
    h: f32,
}

impl Homography {
    fn onto([(x0, y0), (x1, y1), (x2, y2), (x3, y3)]: [(f32, f32); 4]) -> Homography {
        let (sx, sy) = (x0 - x1 + x2 - x3, y0 - y1 + y2 - y3);
        let (dx1, dx2, dy1, dy2) = (x1 - x2, x3 - x2, y1 - y2, y3 - y2);
        let den = dx1 * dy2 - dx2 * dy1;
        let (g, h) = if den.abs() > 1e-9 {
            ((sx * dy2 - dx2 * sy) / den, (dx1 * sy - sx * dy1) / den)
        } else {
            (0.0, 0.0)
        };
        Homography {
            a: x1 - x0 + g * x1,
            b: x3 - x0 + h * x3,
            c: x0,
            d: y1 - y0 + g * y1,
            e: y3 - y0 + h * y3,
            f: y0,
            g,
            h,
        }
    }

    fn apply(&self, u: f32, v: f32) -> (f32, f32) {
        let w = self.g * u + self.h * v + 1.0;
        (
            (self.a * u + self.b * v + self.c) / w,
            (self.d * u + self.e * v + self.f) / w,
        )
    }
}

/// The span strictly inside two opposite edges (a few samples in from each), if sane.
fn inside(near: f32, far: f32, len: usize) -> Option<(usize, usize)> {
    let from = (near.max(0.0) as usize + 2 * STEP_HALF).min(len);
    let to = (far.min(len as f32) as usize).saturating_sub(2 * STEP_HALF);
    (to > from + 8 * STEP_HALF).then_some((from, to))
}

/// Where two edges cross: a few fixed-point steps (the edges are nearly perpendicular).
fn corner(horizontal: &Edge, vertical: &Edge) -> (f32, f32) {
    let mut x = vertical.a;
    let mut y = horizontal.at(x);
    for _ in 0..6 {
        x = vertical.at(y);
        y = horizontal.at(x);
    }
    (x, y)
}

/// The edge of `side` fitted to the step points found on the lines `from..to` (columns for
/// the top and bottom, rows for the sides).
fn fit_edge(plane: ArrayView2<f32>, side: Side, from: usize, to: usize) -> Option<Edge> {
    let points = step_points(plane, side, from, to);
    let lines = (to.saturating_sub(from)).div_ceil(2);
    let edge = ransac(&points, (from + to) as f32 / 2.0)?;
    let support = inliers(&points, &edge, FIT_INLIER).count();
    let half = (to - from) as f32 / 2.0;
    (support as f32 >= MIN_SUPPORT * lines as f32
        && edge.b.abs() <= MAX_SLOPE
        && edge.c.abs() * half * half <= MAX_BOW * 2.0 * half)
        .then_some(edge)
}

/// On every second line from `from` to `to`, the strongest dark-to-bright steps met going
/// from the frame's `side` towards its centre: (position along the edge, sub-pixel position
/// of the step across it).
fn step_points(plane: ArrayView2<f32>, side: Side, from: usize, to: usize) -> Vec<(f32, f32)> {
    // Lines along the edge are the plane's columns for the top and bottom: transposed, every
    // side is read the same way, along rows; the bottom and right ones from their end.
    let lines = match side {
        Side::Top | Side::Bottom => plane.t(),
        Side::Left | Side::Right => plane,
    };
    let from_end = matches!(side, Side::Bottom | Side::Right);
    let (along, across) = lines.dim();
    let mut profile = vec![0.0f32; across / 2];
    let mut points = Vec::new();
    for line in (from..to).step_by(2) {
        // The line and its two neighbours averaged, read from the side inwards.
        let neighbours = [line.saturating_sub(1), line, (line + 1).min(along - 1)];
        for (i, p) in profile.iter_mut().enumerate() {
            let at = if from_end { across - 1 - i } else { i };
            *p = neighbours.iter().map(|&l| lines[[l, at]]).sum::<f32>() / 3.0;
        }
        for position in strongest_steps(&profile) {
            let across_at = if from_end {
                (across - 1) as f32 - position
            } else {
                position
            };
            points.push((line as f32, across_at));
        }
    }
    points
}

/// Sub-pixel positions (between samples i-1 and i is i - 0.5) of the strongest local
/// maxima of the dark-to-bright step along `profile`.
fn strongest_steps(profile: &[f32]) -> Vec<f32> {
    let k = STEP_HALF;
    let n = profile.len();
    if n < 2 * k + 3 {
        return Vec::new();
    }
    let mean = |from: usize, to: usize| profile[from..to].iter().sum::<f32>() / (to - from) as f32;
    let step: Vec<f32> = (0..n)
        .map(|i| {
            if i < k || i + k > n {
                return 0.0;
            }
            let (dark, bright) = (mean(i - k, i), mean(i, i + k));
            if dark <= DARK_MAX { bright - dark } else { 0.0 }
        })
        .collect();
    let mut found: Vec<(f32, f32)> = (1..n - 1)
        .filter(|&i| step[i] >= MIN_STEP && step[i] >= step[i - 1] && step[i] > step[i + 1])
        .map(|i| {
            let (l, m, r) = (step[i - 1], step[i], step[i + 1]);
            let curvature = l - 2.0 * m + r;
            let delta = if curvature < 0.0 {
                (0.5 * (l - r) / curvature).clamp(-0.5, 0.5)
            } else {
                0.0
            };
            (m, i as f32 - 0.5 + delta)
        })
        .collect();
    found.sort_by(|a, b| b.0.total_cmp(&a.0));
    found.into_iter().take(CANDIDATES).map(|(_, p)| p).collect()
}

fn inliers<'p>(
    points: &'p [(f32, f32)],
    edge: &'p Edge,
    distance: f32,
) -> impl Iterator<Item = &'p (f32, f32)> + 'p {
    points
        .iter()
        .filter(move |&&(s, t)| (edge.at(s) - t).abs() <= distance)
}

/// The quadratic with the most points within [`SEARCH_INLIER`], from trials through three
/// points (one from each third of the span, drawn by a fixed sequence, so a frame always
/// gives the same outline), refined by least squares on its inliers twice.
fn ransac(points: &[(f32, f32)], centre: f32) -> Option<Edge> {
    if points.len() < 12 {
        return None;
    }
    let thirds: Vec<&[(f32, f32)]> = {
        let n = points.len();
        vec![
            &points[..n / 3],
            &points[n / 3..2 * n / 3],
            &points[2 * n / 3..],
        ]
    };
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = |len: usize| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state % len as u64) as usize
    };
    let mut best: Option<(usize, Edge)> = None;
    for _ in 0..TRIALS {
        let sample: Vec<(f32, f32)> = thirds.iter().map(|t| t[next(t.len())]).collect();
        let Some(edge) = least_squares(&sample, centre) else {
            continue;
        };
        let count = inliers(points, &edge, SEARCH_INLIER).count();
        if best.as_ref().is_none_or(|(n, _)| count > *n) {
            best = Some((count, edge));
        }
    }
    let (_, mut edge) = best?;
    for distance in [SEARCH_INLIER, FIT_INLIER] {
        let support: Vec<(f32, f32)> = inliers(points, &edge, distance).copied().collect();
        edge = least_squares(&support, centre)?;
    }
    Some(edge)
}

/// Least-squares quadratic through `points` (exact through three).
fn least_squares(points: &[(f32, f32)], centre: f32) -> Option<Edge> {
    if points.len() < 3 {
        return None;
    }
    // Normal equations in f64, the abscissa scaled to about [-1, 1] for conditioning.
    let scale = points
        .iter()
        .map(|&(s, _)| (s - centre).abs())
        .fold(1.0f32, f32::max) as f64;
    let mut m = [[0.0f64; 4]; 3];
    for &(s, t) in points {
        let d = f64::from(s - centre) / scale;
        let basis = [1.0, d, d * d];
        for i in 0..3 {
            for j in 0..3 {
                m[i][j] += basis[i] * basis[j];
            }
            m[i][3] += basis[i] * f64::from(t);
        }
    }
    let [a, b, c] = solve3(m)?;
    Some(Edge {
        a: a as f32,
        b: (b / scale) as f32,
        c: (c / (scale * scale)) as f32,
        centre,
    })
}

/// Gaussian elimination with partial pivoting on an augmented 3x4 system.
fn solve3(mut m: [[f64; 4]; 3]) -> Option<[f64; 3]> {
    for col in 0..3 {
        let pivot = (col..3).max_by(|&a, &b| m[a][col].abs().total_cmp(&m[b][col].abs()))?;
        if m[pivot][col].abs() < 1e-9 {
            return None;
        }
        m.swap(col, pivot);
        for row in 0..3 {
            if row != col {
                let f = m[row][col] / m[col][col];
                let pivot_row = m[col];
                for (x, p) in m[row].iter_mut().zip(pivot_row).skip(col) {
                    *x -= f * p;
                }
            }
        }
    }
    Some([m[0][3] / m[0][0], m[1][3] / m[1][1], m[2][3] / m[2][2]])
}

/// Running sums of the outlines seen (mergeable across threads).
#[derive(Debug, Clone, Default, PartialEq)]
struct OutlineStats {
    count: usize,
    /// Sum and sum of squares of the eight corner coordinates.
    sum: [f64; 8],
    squares: [f64; 8],
    /// Sum of ln(width / height).
    log_aspect: f64,
}

impl OutlineStats {
    fn add(&mut self, outline: &Outline) {
        self.count += 1;
        for (i, &(x, y)) in outline.corners.iter().enumerate() {
            for (j, v) in [x, y].into_iter().enumerate() {
                self.sum[2 * i + j] += f64::from(v);
                self.squares[2 * i + j] += f64::from(v) * f64::from(v);
            }
        }
        let (width, height) = outline.size();
        self.log_aspect += f64::from(width / height).ln();
    }

    fn merge(&mut self, other: &OutlineStats) {
        self.count += other.count;
        for i in 0..8 {
            self.sum[i] += other.sum[i];
            self.squares[i] += other.squares[i];
        }
        self.log_aspect += other.log_aspect;
    }

    /// RMS distance of the corner coordinates from their means (plane pixels).
    fn motion(&self) -> f64 {
        if self.count < 2 {
            return 0.0;
        }
        let n = self.count as f64;
        let variance: f64 = (0..8)
            .map(|i| (self.squares[i] / n - (self.sum[i] / n).powi(2)).max(0.0))
            .sum::<f64>()
            / 8.0;
        variance.sqrt()
    }

    /// The picture's mean width over its height.
    fn aspect(&self) -> f64 {
        (self.log_aspect / self.count.max(1) as f64).exp()
    }

    /// The mean outline's bounding box, as fractions of a plane of `dims`.
    fn bounds(&self, (rows, cols): (usize, usize)) -> PictureFound {
        let n = self.count.max(1) as f64;
        let mean = |i: usize| self.sum[i] / n;
        let (xs, ys) = (
            [mean(0), mean(2), mean(4), mean(6)],
            [mean(1), mean(3), mean(5), mean(7)],
        );
        let min = |v: [f64; 4]| v.into_iter().fold(f64::INFINITY, f64::min);
        let max = |v: [f64; 4]| v.into_iter().fold(f64::NEG_INFINITY, f64::max);
        let (left, top) = (min(xs).max(0.0), min(ys).max(0.0));
        PictureFound {
            left: (left / cols as f64) as f32,
            top: (top / rows as f64) as f32,
            width: ((max(xs).min(cols as f64) - left) / cols as f64) as f32,
            height: ((max(ys).min(rows as f64) - top) / rows as f64) as f32,
        }
    }
}

/// Accumulates a stream's frames on the picture's own canvas, frame by frame from each
/// frame's outline.
#[derive(Debug, Clone, Default)]
pub(super) struct Stabiliser {
    outlines: OutlineStats,
    canvas: Option<Array2<f32>>,
    /// Frames resampled into `canvas`.
    tracked: usize,
}

impl Stabiliser {
    /// Looks for the picture's outline in `plane` (the accumulation plane) and, once the
    /// outline has been seen to move, adds `frame` (the same frame at its own size, 8-bit
    /// code values) to the canvas, whitened.
    pub(super) fn add(&mut self, plane: ArrayView2<f32>, frame: ArrayView2<f32>) {
        let Some(outline) = Outline::find(plane) else {
            return;
        };
        self.outlines.add(&outline);
        let moving = self.tracked > 0
            || (self.outlines.count >= MOTION_SAMPLE && self.outlines.motion() >= MIN_MOTION);
        if !moving {
            return;
        }
        let whitened = whiten(&outline.resample(frame, plane.dim()));
        match &mut self.canvas {
            Some(sum) => *sum += &whitened,
            None => self.canvas = Some(whitened),
        }
        self.tracked += 1;
    }

    pub(super) fn merge(&mut self, other: &Stabiliser) {
        self.outlines.merge(&other.outlines);
        if let Some(theirs) = &other.canvas {
            match &mut self.canvas {
                Some(sum) => *sum += theirs,
                None => self.canvas = Some(theirs.clone()),
            }
        }
        self.tracked += other.tracked;
    }

    /// The canvas accumulation, when the picture moved and enough of the `frames` seen
    /// were tracked for it to be worth searching; with the fold aspect that makes the
    /// picture's working pixels square on it, and the mean outline's bounding box in a
    /// plane of `plane_dims`.
    pub(super) fn canvas(
        &self,
        frames: usize,
        plane_dims: (usize, usize),
    ) -> Option<TrackedCanvas<'_>> {
        let canvas = self.canvas.as_ref()?;
        let enough = self.tracked >= MIN_TRACKED
            && self.tracked as f64 >= MIN_TRACKED_SHARE * frames as f64
            && self.outlines.motion() >= MIN_MOTION;
        enough.then(|| {
            let (rows, cols) = CANVAS;
            TrackedCanvas {
                sum: canvas.view(),
                // Fold column steps over row steps: the canvas stretches a picture of
                // this aspect to its own.
                aspect: ((cols as f64 / rows as f64) / self.outlines.aspect()) as f32,
                frames: self.tracked,
                bounds: self.outlines.bounds(plane_dims),
            }
        })
    }
}

/// What [`Stabiliser::canvas`] hands the sync search.
pub(super) struct TrackedCanvas<'s> {
    pub sum: ArrayView2<'s, f32>,
    pub aspect: f32,
    /// Frames resampled onto it.
    pub frames: usize,
    pub bounds: PictureFound,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A bright, textured picture inside a dark surround, its corners at `corners`.
    fn framed(rows: usize, cols: usize, corners: [(f32, f32); 4]) -> Array2<f32> {
        let h = Homography::onto(corners);
        // Inside test by inverting numerically: sample the unit square densely.
        let mut plane = Array2::from_elem((rows, cols), 20.0f32);
        let n = 4 * rows.max(cols);
        for i in 0..n {
            for j in 0..n {
                let (u, v) = ((j as f32 + 0.5) / n as f32, (i as f32 + 0.5) / n as f32);
                let (x, y) = h.apply(u, v);
                let (r, c) = (y.round() as isize, x.round() as isize);
                if r >= 0 && c >= 0 && (r as usize) < rows && (c as usize) < cols {
                    plane[[r as usize, c as usize]] =
                        120.0 + 40.0 * ((u * 37.0).sin() * (v * 23.0).cos());
                }
            }
        }
        plane
    }

    #[test]
    fn finds_a_tilted_picture_corners_within_a_pixel() {
        let corners = [(100.0, 80.0), (540.0, 70.0), (548.0, 290.0), (92.0, 284.0)];
        let plane = framed(360, 640, corners);
        let outline = Outline::find(plane.view()).expect("outline found");
        for (found, truth) in outline.corners.iter().zip(corners) {
            assert!(
                (found.0 - truth.0).abs() < 1.0 && (found.1 - truth.1).abs() < 1.0,
                "corner {found:?} against {truth:?}"
            );
        }
    }

    #[test]
    fn no_outline_in_a_picture_without_a_dark_surround() {
        let plane = Array2::from_shape_fn((360, 640), |(r, c)| {
            100.0 + 50.0 * ((r as f32 / 7.0).sin() + (c as f32 / 11.0).cos())
        });
        assert_eq!(Outline::find(plane.view()), None);
    }

    #[test]
    fn the_unit_square_maps_onto_the_corners() {
        let corners = [(10.0, 20.0), (300.0, 5.0), (310.0, 200.0), (0.0, 190.0)];
        let h = Homography::onto(corners);
        for (&(u, v), &(x, y)) in [(0.0, 0.0), (1.0, 0.0), (1.0, 1.0), (0.0, 1.0)]
            .iter()
            .zip(&corners)
        {
            let (mx, my) = h.apply(u, v);
            assert!((mx - x).abs() < 1e-3 && (my - y).abs() < 1e-3);
        }
    }
}
