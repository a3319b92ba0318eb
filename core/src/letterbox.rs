//! Letterbox and pillarbox detection: black bars added around a rescaled picture.
//!
//! The mark scales with the picture, not with the frame, so the detector must measure the
//! picture's height without the bars. A bar is a run of edge rows (or columns) that stayed
//! near black in every frame seen.

use ndarray::ArrayView2;

/// Brightest value (8-bit code values) a bar row may have: video black is 16, and encoders
/// ring a little at the bar's edge.
const BAR_MAX_LUMA: f32 = 30.0;
/// Bars never take more than this fraction of a side: a picture dark at the edges for the
/// whole clip must not be mistaken for bars and cut away entirely.
const MAX_BAR_FRACTION: f32 = 0.3;

/// Picture area inside the bars, in plane pixels (half-open).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ContentRect {
    pub top: usize,
    pub bottom: usize,
    pub left: usize,
    pub right: usize,
}

impl ContentRect {
    pub fn height(&self) -> usize {
        self.bottom - self.top
    }
    pub fn width(&self) -> usize {
        self.right - self.left
    }
}

/// Brightest value seen per row and per column over all frames.
#[derive(Debug, Clone, Default)]
pub struct BarTracker {
    row_max: Vec<f32>,
    col_max: Vec<f32>,
}

impl BarTracker {
    pub fn update(&mut self, plane: ArrayView2<f32>) {
        let (rows, cols) = plane.dim();
        if self.row_max.is_empty() {
            self.row_max = vec![f32::MIN; rows];
            self.col_max = vec![f32::MIN; cols];
        }
        for (r, row) in plane.outer_iter().enumerate() {
            for (c, &v) in row.iter().enumerate() {
                self.row_max[r] = self.row_max[r].max(v);
                self.col_max[c] = self.col_max[c].max(v);
            }
        }
    }

    /// Combines the maxima seen by another tracker of the same plane size.
    pub fn merge(&mut self, other: &BarTracker) {
        if self.row_max.is_empty() {
            self.row_max = other.row_max.clone();
            self.col_max = other.col_max.clone();
            return;
        }
        for (mine, theirs) in self.row_max.iter_mut().zip(&other.row_max) {
            *mine = mine.max(*theirs);
        }
        for (mine, theirs) in self.col_max.iter_mut().zip(&other.col_max) {
            *mine = mine.max(*theirs);
        }
    }

    pub fn content(&self) -> ContentRect {
        let (top, bottom) = inner_span(&self.row_max);
        let (left, right) = inner_span(&self.col_max);
        ContentRect {
            top,
            bottom,
            left,
            right,
        }
    }
}

/// The span between leading and trailing dark runs. One extra line is dropped next to a bar:
/// it mixes bar and picture after scaling.
fn inner_span(max_per_line: &[f32]) -> (usize, usize) {
    let n = max_per_line.len();
    let limit = (n as f32 * MAX_BAR_FRACTION) as usize;
    let is_bar = |v: &f32| *v <= BAR_MAX_LUMA;
    let lead = max_per_line.iter().take_while(|v| is_bar(v)).count();
    let trail = max_per_line.iter().rev().take_while(|v| is_bar(v)).count();
    let start = if lead > 0 && lead <= limit {
        lead + 1
    } else {
        0
    };
    let end = if trail > 0 && trail <= limit {
        n - trail - 1
    } else {
        n
    };
    if end <= start + n / 4 {
        (0, n)
    } else {
        (start, end)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array2;

    #[test]
    fn finds_letterbox_and_pillarbox() {
        let mut tracker = BarTracker::default();
        let plane = Array2::from_shape_fn((100, 200), |(r, c)| {
            if !(12..88).contains(&r) || !(20..190).contains(&c) {
                16.0
            } else {
                40.0 + (c % 7) as f32
            }
        });
        tracker.update(plane.view());
        assert_eq!(
            tracker.content(),
            ContentRect {
                top: 13,
                bottom: 87,
                left: 21,
                right: 189
            }
        );
    }

    #[test]
    fn an_all_dark_clip_is_not_cropped() {
        let mut tracker = BarTracker::default();
        tracker.update(Array2::from_elem((100, 200), 16.0f32).view());
        assert_eq!(
            tracker.content(),
            ContentRect {
                top: 0,
                bottom: 100,
                left: 0,
                right: 200
            }
        );
    }
}
