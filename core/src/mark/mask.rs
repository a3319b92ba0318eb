//! Perceptual mask: how strongly each working cell of a frame may be marked.
//!
//! JND-style: texture hides a mark (contrast masking), flat areas show it (banding), and the
//! eye tolerates more change in dark and bright areas than in mid-grey (luminance masking,
//! after Chou & Li 1995). The mask is smoothed over time, except where the content itself
//! changes (cuts, motion), so a static scene never sees the mark pulse.

use ndarray::{Array2, ArrayView2, Zip};

use crate::grid::WorkingGrid;
use crate::plane::Sample;

// The tuning below is public because the GPU shaders (crate `filigree-gpu`) have these
// values spliced into their source: one definition for both paths.

/// Gain bounds of the texture term: a flat sky still carries ~45 % of the average mark so the
/// detector has something to find, heavy texture at most 2.2x before ringing shows on edges.
pub const MIN_TEXTURE_GAIN: f32 = 0.45;
/// Upper gain bound of the texture term (see [`MIN_TEXTURE_GAIN`]).
pub const MAX_TEXTURE_GAIN: f32 = 2.2;
/// Mean absolute gradient (8-bit code values) that doubles the gain.
pub const ACTIVITY_PER_UNIT_GAIN: f32 = 6.0;
/// Temporal smoothing factor for unchanged content (about a third of a second at 24 fps).
pub const TEMPORAL_SMOOTHING: f32 = 0.3;
/// A cell whose mean luma moved by more than this (8-bit code values) follows at once:
/// changing content masks the change of the mark.
pub const CONTENT_CHANGE: f32 = 10.0;

/// Per-stream perceptual mask state.
#[derive(Debug, Clone)]
pub struct PerceptualMask {
    grid: WorkingGrid,
    /// Working-cell row (column) of each frame row (column).
    row_cell: Vec<usize>,
    col_cell: Vec<usize>,
    /// First frame row (column) of each working-cell row (column), then the height (width).
    row_starts: Vec<u32>,
    col_starts: Vec<u32>,
    /// Frame pixels in each working cell.
    pixel_counts: Array2<f32>,
    /// The previous frame's luma sum and gain per cell.
    previous: Option<(Array2<f32>, Array2<f32>)>,
}

impl PerceptualMask {
    /// A mask for frames on `grid`, with no temporal history yet.
    pub fn new(grid: WorkingGrid) -> PerceptualMask {
        let row_cell: Vec<usize> = (0..grid.height)
            .map(|r| grid.cell_of(r, grid.rows))
            .collect();
        let col_cell: Vec<usize> = (0..grid.width)
            .map(|c| grid.cell_of(c, grid.cols))
            .collect();
        // Pixels map to cells monotonically, so cell `c` starts after every pixel of the
        // cells before it.
        let starts = |cell_of: &[usize], cells: usize| -> Vec<u32> {
            (0..=cells)
                .map(|c| cell_of.partition_point(|&cell| cell < c) as u32)
                .collect()
        };
        let (row_starts, col_starts) = (starts(&row_cell, grid.rows), starts(&col_cell, grid.cols));
        let span = |starts: &[u32], i: usize| (starts[i + 1] - starts[i]) as usize;
        let pixel_counts = Array2::from_shape_fn((grid.rows, grid.cols), |(r, c)| {
            (span(&row_starts, r) * span(&col_starts, c)) as f32
        });
        PerceptualMask {
            grid,
            row_cell,
            col_cell,
            row_starts,
            col_starts,
            pixel_counts,
            previous: None,
        }
    }

    /// First frame row of each working-cell row then the height, and likewise for columns:
    /// cell row `r` spans rows `row_starts[r]..row_starts[r + 1]`.
    pub fn cell_starts(&self) -> (&[u32], &[u32]) {
        (&self.row_starts, &self.col_starts)
    }

    /// Measures `luma` (scaled to 8-bit code values by `to_8bit`, a power of two) and returns
    /// the gain per working cell, around 1 on average content.
    pub fn update<S: Sample>(&mut self, luma: ArrayView2<S>, to_8bit: f32) -> Array2<f32> {
        let (luma_sum, activity_sum) = self.cell_sums(luma);
        let count = &self.pixel_counts;
        let mut gain = Zip::from(&luma_sum)
            .and(&activity_sum)
            .and(count)
            .map_collect(|&y, &a, &n| cell_gain(y, a, n, to_8bit));
        gain = box3(&gain);
        if let Some((previous_sum, previous_gain)) = &self.previous {
            Zip::from(&mut gain)
                .and(&luma_sum)
                .and(previous_sum)
                .and(previous_gain)
                .and(count)
                .for_each(|g, &s, &ps, &pg, &n| {
                    *g = smooth_over_time(*g, pg, s, ps, n, to_8bit);
                });
        }
        self.previous = Some((luma_sum, gain.clone()));
        gain
    }

    /// Sum of luma and of absolute gradient (right and down neighbours, edge replicated) per
    /// working cell, in code values. Sums of integers stay exact in `f32` (below 2^24, i.e.
    /// cells of up to 65 000 8-bit pixels), which is what lets the GPU's integer sums agree.
    ///
    /// Sums run down each column first (independent lanes the compiler vectorises) and are
    /// folded into cells once per cell row; the hot loop touches every pixel once.
    fn cell_sums<S: Sample>(&self, luma: ArrayView2<S>) -> (Array2<f32>, Array2<f32>) {
        let shape = (self.grid.rows, self.grid.cols);
        let mut luma_sum = Array2::<f32>::zeros(shape);
        let mut activity_sum = Array2::<f32>::zeros(shape);
        let (height, width) = luma.dim();
        let mut column_luma = vec![0.0f32; width];
        let mut column_activity = vec![0.0f32; width];
        let mut here: Vec<f32> = luma.row(0).iter().map(|v| v.to_f32()).collect();
        let mut below = here.clone();
        for r in 0..height {
            below.clear();
            below.extend(luma.row((r + 1).min(height - 1)).iter().map(|v| v.to_f32()));
            for c in 0..width {
                let value = here[c];
                let right = here[(c + 1).min(width - 1)];
                column_luma[c] += value;
                column_activity[c] += (right - value).abs() + (below[c] - value).abs();
            }
            let cell_row = self.row_cell[r];
            if r + 1 == height || self.row_cell[r + 1] != cell_row {
                let mut luma_row = luma_sum.row_mut(cell_row);
                let mut activity_row = activity_sum.row_mut(cell_row);
                for c in 0..width {
                    let cell = self.col_cell[c];
                    luma_row[cell] += column_luma[c];
                    activity_row[cell] += column_activity[c];
                }
                column_luma.fill(0.0);
                column_activity.fill(0.0);
            }
            std::mem::swap(&mut here, &mut below);
        }
        (luma_sum, activity_sum)
    }
}

/// A cell's gain before spatial smoothing, from its luma and gradient sums over `count`
/// pixels.
fn cell_gain(luma_sum: f32, activity_sum: f32, count: f32, to_8bit: f32) -> f32 {
    let count = count.max(1.0);
    luminance_gain(luma_sum * to_8bit / count) * texture_gain(activity_sum * to_8bit / count)
}

/// Temporal smoothing of a cell's gain: unchanged content moves only part of the way from
/// the previous gain; content whose mean luma moved more than [`CONTENT_CHANGE`] follows at
/// once. Compares sums against an exact threshold (integers times a power of two), so the
/// CPU and the GPU always take the same branch.
fn smooth_over_time(
    gain: f32,
    previous_gain: f32,
    luma_sum: f32,
    previous_luma_sum: f32,
    count: f32,
    to_8bit: f32,
) -> f32 {
    let threshold = CONTENT_CHANGE * count.max(1.0) * (1.0 / to_8bit);
    if (luma_sum - previous_luma_sum).abs() <= threshold {
        previous_gain + TEMPORAL_SMOOTHING * (gain - previous_gain)
    } else {
        gain
    }
}

fn texture_gain(activity: f32) -> f32 {
    (MIN_TEXTURE_GAIN + activity / ACTIVITY_PER_UNIT_GAIN).min(MAX_TEXTURE_GAIN)
}

/// Luminance masking: mid-grey is most sensitive; dark areas tolerate more (up to 1.5x at
/// black), bright ones a little more (1.25x at white).
fn luminance_gain(luma: f32) -> f32 {
    if luma < 127.0 {
        let d = 1.0 - luma / 127.0;
        1.0 + 0.5 * d * d
    } else {
        1.0 + 0.25 * (luma - 127.0) / 128.0
    }
}

/// 3x3 mean with edge replication: no step in the mask between neighbouring cells.
fn box3(field: &Array2<f32>) -> Array2<f32> {
    let (rows, cols) = field.dim();
    Array2::from_shape_fn((rows, cols), |(r, c)| {
        let mut sum = 0.0;
        for dr in [-1isize, 0, 1] {
            for dc in [-1isize, 0, 1] {
                let rr = (r as isize + dr).clamp(0, rows as isize - 1) as usize;
                let cc = (c as isize + dc).clamp(0, cols as isize - 1) as usize;
                sum += field[[rr, cc]];
            }
        }
        sum / 9.0
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grid() -> WorkingGrid {
        WorkingGrid::new(320, 180)
    }

    #[test]
    fn texture_gets_more_gain_than_flat() {
        let mut mask = PerceptualMask::new(grid());
        let frame = Array2::from_shape_fn((180, 320), |(r, c)| {
            if c < 160 {
                128u8
            } else {
                (128 + ((r * 37 + c * 91) % 41) as i32 - 20) as u8
            }
        });
        let gain = mask.update(frame.view(), 1.0);
        assert!(gain[[90, 250]] > 2.0 * gain[[90, 40]]);
        assert!(
            gain.iter()
                .all(|&g| (MIN_TEXTURE_GAIN..=1.5 * MAX_TEXTURE_GAIN).contains(&g))
        );
    }

    #[test]
    fn static_content_is_smoothed_and_changed_content_follows() {
        let mut mask = PerceptualMask::new(grid());
        let flat = Array2::from_elem((180, 320), 100u8);
        let first = mask.update(flat.view(), 1.0);
        let noisy = Array2::from_shape_fn((180, 320), |(r, c)| (100 + (r * 7 + c * 3) % 5) as u8);
        let second = mask.update(noisy.view(), 1.0);
        let fresh = PerceptualMask::new(grid()).update(noisy.view(), 1.0);
        // Small texture change on the same content: only part of the way.
        assert!(second[[50, 50]] > first[[50, 50]] && second[[50, 50]] < fresh[[50, 50]]);
        // A cut to much brighter content: follows immediately.
        let bright = Array2::from_elem((180, 320), 200u8);
        let after_cut = mask.update(bright.view(), 1.0);
        let bright_fresh = PerceptualMask::new(grid()).update(bright.view(), 1.0);
        assert!((after_cut[[50, 50]] - bright_fresh[[50, 50]]).abs() < 1e-6);
    }
}
