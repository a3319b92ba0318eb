//! The active picture: where the film is inside the frame.
//!
//! Films come letterboxed (scope inside 16:9), pillarboxed (4:3 inside 16:9) or windowboxed,
//! and leaks add bars of their own or play inside a desktop. The mark is tied to the active
//! picture, not the frame: the embedder finds the master's bars and marks only the picture
//! inside them, on a grid scaled to the picture; the detector finds the picture in the leak
//! and folds it at the picture's scale. Both use [`PictureTracker`], so they agree on what
//! a bar is.
//!
//! A bar is a run of edge lines (rows or columns) that never carried picture: in no frame
//! seen was more than a quarter of the line brighter than near-black. The quarter (not "any
//! sample") keeps noisy or slightly lifted bars, and subtitles or logos burned into a bar,
//! from counting as picture. The tracker only ever grows the picture, so a dark opening
//! scene or a fade-in settles on the full picture at the first bright frame and stays there.
//!
//! For screen recordings the surround is a desktop or player chrome, not black. It is also
//! still, while the film moves: the detector additionally tracks lines in which a quarter of
//! the samples changed between two frames, and tries the picture inside the still surround
//! as a second hypothesis.

use ndarray::ArrayView2;

use crate::plane::{Sample, code_value_scale};

/// Brightest value (8-bit code values) a bar sample may have: video black is 16; bars of
/// real masters are noisy or lifted by a few code values, and encoders ring at their edge.
const BAR_MAX_LUMA: f32 = 30.0;
/// A line carries picture in a frame when more than this fraction of its samples is brighter
/// than a bar (or, for the still-surround test, changed since the previous frame).
const LINE_FRACTION: f32 = 0.25;
/// Change (8-bit code values) between consecutive frames that counts as motion: well above
/// codec noise on a still desktop.
const MOTION: f32 = 8.0;
/// Dark bars never take more than this fraction of a side: a picture dark at the edges for
/// the whole clip must not be cut away entirely.
const MAX_BAR_FRACTION: f32 = 0.3;
/// A still surround may be larger: a player window often covers only half the desktop.
const MAX_SURROUND_FRACTION: f32 = 0.4;

/// Picture area inside the bars, in plane pixels (half-open).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ContentRect {
    /// First picture row (inclusive).
    pub top: usize,
    /// Row just below the picture (exclusive).
    pub bottom: usize,
    /// First picture column (inclusive).
    pub left: usize,
    /// Column just right of the picture (exclusive).
    pub right: usize,
}

impl ContentRect {
    /// The whole of a `width x height` plane.
    pub fn full(width: usize, height: usize) -> ContentRect {
        ContentRect {
            top: 0,
            bottom: height,
            left: 0,
            right: width,
        }
    }

    /// Picture height in rows (`bottom - top`).
    pub fn height(&self) -> usize {
        self.bottom - self.top
    }

    /// The part of `self` inside `other` (empty, at the overlap's corner, if none).
    pub fn intersection(&self, other: &ContentRect) -> ContentRect {
        let top = self.top.max(other.top);
        let left = self.left.max(other.left);
        ContentRect {
            top,
            bottom: self.bottom.min(other.bottom).max(top),
            left,
            right: self.right.min(other.right).max(left),
        }
    }
    /// Picture width in columns (`right - left`).
    pub fn width(&self) -> usize {
        self.right - self.left
    }
}

/// Which lines of a plane have carried picture (and, optionally, motion) in any frame seen.
#[derive(Debug, Clone, Default)]
pub(crate) struct PictureTracker {
    rows: LineFlags,
    cols: LineFlags,
    /// Motion tracking (detector only): lines that changed, and the previous plane.
    moved: Option<Motion>,
}

#[derive(Debug, Clone, Default)]
struct LineFlags {
    /// Carried picture in any frame seen.
    bright: Vec<bool>,
    /// Carried picture in the last frame seen.
    bright_now: Vec<bool>,
    moved: Vec<bool>,
}

#[derive(Debug, Clone, Default)]
struct Motion {
    previous: Vec<f32>,
}

impl PictureTracker {
    /// A tracker that also finds a still surround (for suspect frames).
    pub(crate) fn with_motion() -> PictureTracker {
        PictureTracker {
            moved: Some(Motion::default()),
            ..PictureTracker::default()
        }
    }

    /// Looks at one luma plane of `bit_depth`-bit samples.
    pub(crate) fn update<S: Sample>(&mut self, luma: ArrayView2<S>, bit_depth: u8) {
        let to_8bit = 1.0 / code_value_scale(bit_depth);
        self.observe(luma, |v| v.to_f32() * to_8bit);
    }

    /// Looks at one plane already in 8-bit code values (the detector's working plane).
    pub(crate) fn update_plane(&mut self, plane: ArrayView2<f32>) {
        self.observe(plane, |v| v);
    }

    fn observe<T: Copy>(&mut self, plane: ArrayView2<T>, to_8bit: impl Fn(T) -> f32) {
        let (rows, cols) = plane.dim();
        self.rows.resize(rows);
        self.cols.resize(cols);
        let mut col_counts = vec![0u32; cols];
        let mut copy = Vec::new();
        for (r, row) in plane.outer_iter().enumerate() {
            // Contiguous rows (the usual case) as slices, so the loop vectorises.
            let samples = match row.as_slice() {
                Some(samples) => samples,
                None => {
                    copy.clear();
                    copy.extend(row.iter().copied());
                    &copy[..]
                }
            };
            let mut count = 0u32;
            for (n, &v) in col_counts.iter_mut().zip(samples) {
                let bright = u32::from(to_8bit(v) > BAR_MAX_LUMA);
                *n += bright;
                count += bright;
            }
            self.rows.bright_now[r] = carries_picture(count, cols);
        }
        for (flag, &n) in self.cols.bright_now.iter_mut().zip(&col_counts) {
            *flag = carries_picture(n, rows);
        }
        for flags in [&mut self.rows, &mut self.cols] {
            for (seen, &now) in flags.bright.iter_mut().zip(&flags.bright_now) {
                *seen |= now;
            }
        }
        if let Some(motion) = &mut self.moved {
            motion.update(plane, to_8bit, &mut self.rows.moved, &mut self.cols.moved);
        }
    }

    /// Combines what another tracker of the same plane size saw.
    pub(crate) fn merge(&mut self, other: &PictureTracker) {
        self.rows.merge(&other.rows);
        self.cols.merge(&other.cols);
    }

    /// Whether any frame seen had a line of picture (a fade from black has not, at first).
    pub(crate) fn has_seen_picture(&self) -> bool {
        self.rows.bright.contains(&true)
    }

    /// The picture inside dark bars.
    pub(crate) fn picture(&self) -> ContentRect {
        self.rect(|flags| &flags.bright, MAX_BAR_FRACTION)
    }

    /// The picture inside the last frame's own dark bars: narrower than [`Self::picture`]
    /// when a title's picture changes (a scope scene after 1.90:1 ones, a 4:3 insert), or
    /// in a frame whose edges are dark.
    pub(crate) fn frame_picture(&self) -> ContentRect {
        self.rect(|flags| &flags.bright_now, MAX_BAR_FRACTION)
    }

    /// The picture inside a still surround (a screen recording's desktop), when motion is
    /// tracked and the surround differs from the dark-bar picture.
    pub(crate) fn moving_picture(&self) -> Option<ContentRect> {
        self.moved.as_ref()?;
        let moving = self.rect(|flags| &flags.moved, MAX_SURROUND_FRACTION);
        let dark = self.picture();
        let inside_dark = moving.intersection(&dark);
        (inside_dark.height() > 0 && inside_dark.width() > 0 && inside_dark != dark)
            .then_some(inside_dark)
    }

    fn rect(&self, flags: impl Fn(&LineFlags) -> &Vec<bool>, max_fraction: f32) -> ContentRect {
        let (top, bottom) = inner_span(flags(&self.rows), max_fraction);
        let (left, right) = inner_span(flags(&self.cols), max_fraction);
        ContentRect {
            top,
            bottom,
            left,
            right,
        }
    }
}

impl LineFlags {
    fn resize(&mut self, n: usize) {
        if self.bright.len() != n {
            self.bright = vec![false; n];
            self.bright_now = vec![false; n];
            self.moved = vec![false; n];
        }
    }

    fn merge(&mut self, other: &LineFlags) {
        if self.bright.is_empty() {
            *self = other.clone();
            return;
        }
        for (mine, theirs) in self.bright.iter_mut().zip(&other.bright) {
            *mine |= theirs;
        }
        for (mine, theirs) in self.moved.iter_mut().zip(&other.moved) {
            *mine |= theirs;
        }
    }
}

impl Motion {
    fn update<T: Copy>(
        &mut self,
        plane: ArrayView2<T>,
        to_8bit: impl Fn(T) -> f32,
        row_moved: &mut [bool],
        col_moved: &mut [bool],
    ) {
        let (rows, cols) = plane.dim();
        if self.previous.len() != rows * cols {
            // The first frame (of this size) has nothing to have moved from.
            self.previous = plane.iter().map(|&v| to_8bit(v)).collect();
            return;
        }
        let mut col_counts = vec![0u32; cols];
        for (r, row) in plane.outer_iter().enumerate() {
            let previous = &mut self.previous[r * cols..(r + 1) * cols];
            let mut count = 0u32;
            for ((n, before), &v) in col_counts.iter_mut().zip(previous).zip(row.iter()) {
                let value = to_8bit(v);
                let moved = u32::from((value - *before).abs() > MOTION);
                *n += moved;
                count += moved;
                *before = value;
            }
            row_moved[r] |= carries_picture(count, cols);
        }
        for (flag, &n) in col_moved.iter_mut().zip(&col_counts) {
            *flag |= carries_picture(n, rows);
        }
    }
}

fn carries_picture(count: u32, len: usize) -> bool {
    count as f32 > LINE_FRACTION * len as f32
}

/// The span between leading and trailing runs of lines that never carried picture. One
/// extra line is dropped next to a bar: it mixes bar and picture after scaling. Falls back
/// to the whole side when the runs are implausibly long or leave less than a quarter.
fn inner_span(picture: &[bool], max_fraction: f32) -> (usize, usize) {
    let n = picture.len();
    let limit = (n as f32 * max_fraction) as usize;
    let lead = picture.iter().take_while(|&&p| !p).count();
    let trail = picture.iter().rev().take_while(|&&p| !p).count();
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

    fn letterboxed(noise: bool) -> Array2<u8> {
        Array2::from_shape_fn((100, 200), |(r, c)| {
            if !(12..88).contains(&r) || !(20..190).contains(&c) {
                // Noisy, lifted bars with a subtitle-like bright run in the bottom bar.
                let grain = if noise {
                    ((r * 31 + c * 17) % 13) as u8
                } else {
                    0
                };
                if r == 93 && (80..120).contains(&c) {
                    235
                } else {
                    18 + grain
                }
            } else {
                40 + (c % 7) as u8
            }
        })
    }

    #[test]
    fn finds_letterbox_and_pillarbox_with_noisy_bars_and_subtitles() {
        for noise in [false, true] {
            let mut tracker = PictureTracker::default();
            tracker.update(letterboxed(noise).view(), 8);
            assert_eq!(
                tracker.picture(),
                ContentRect {
                    top: 13,
                    bottom: 87,
                    left: 21,
                    right: 189
                }
            );
        }
    }

    #[test]
    fn ten_bit_bars_are_found_at_ten_bit_black() {
        let plane = letterboxed(true).mapv(|v| v as u16 * 4);
        let mut tracker = PictureTracker::default();
        tracker.update(plane.view(), 10);
        assert_eq!(tracker.picture().top, 13);
    }

    #[test]
    fn an_all_dark_clip_is_not_cropped() {
        let mut tracker = PictureTracker::default();
        tracker.update(Array2::from_elem((100, 200), 16u8).view(), 8);
        assert_eq!(tracker.picture(), ContentRect::full(200, 100));
    }

    #[test]
    fn a_still_grey_surround_around_a_moving_window_is_found() {
        let mut tracker = PictureTracker::with_motion();
        for frame in 0..3usize {
            let plane = Array2::from_shape_fn((100, 200), |(r, c)| {
                if (20..80).contains(&r) && (40..160).contains(&c) {
                    (60 + (r * 7 + c * 3 + frame * 50) % 120) as u8
                } else {
                    128 + ((r + c) % 3) as u8
                }
            });
            tracker.update(plane.view(), 8);
        }
        assert_eq!(tracker.picture(), ContentRect::full(200, 100));
        assert_eq!(
            tracker.moving_picture(),
            Some(ContentRect {
                top: 21,
                bottom: 79,
                left: 41,
                right: 159
            })
        );
    }
}
