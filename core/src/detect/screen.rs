//! Frames that add nothing to the evidence, found before any time is spent on them: flat
//! frames (black between scenes, the end of a fade: the perceptual mask puts no mark on flat
//! picture) and repeats of the frame before (frame-rate conversion duplicates, a paused
//! screen recording: the same mark under the same noise, no new information).

use ndarray::ArrayView2;

use crate::plane::{Sample, code_value_scale};
use crate::video::{VideoFrame, with_luma};

/// Samples looked at per side: a grid coarse enough to cost nothing, fine enough that any
/// real change between frames moves some of it.
const GRID: usize = 48;

/// Largest spread (8-bit code values) of a flat frame's samples.
const FLAT_SPREAD: f32 = 3.0;

/// Largest mean absolute change (8-bit code values) from the frame before for a repeat:
/// below what a re-encode's noise moves between two distinct frames.
const REPEAT_CHANGE: f32 = 0.25;

/// Remembers the last frame's samples to spot repeats. Feed it every frame, in order.
#[derive(Debug, Default)]
pub(crate) struct FrameScreen {
    previous: Vec<f32>,
    flat: u64,
    repeated: u64,
}

impl FrameScreen {
    pub(crate) fn new() -> FrameScreen {
        FrameScreen::default()
    }

    /// Whether `frame` adds nothing (and is counted): [`FrameScreen::adds_nothing`].
    pub(crate) fn frame_adds_nothing(&mut self, frame: &VideoFrame) -> bool {
        with_luma!(frame, |luma, depth| self.adds_nothing(luma, depth))
    }

    /// Whether the frame whose luma is `luma` adds nothing (and is counted).
    pub(crate) fn adds_nothing<S: Sample>(&mut self, luma: ArrayView2<S>, bit_depth: u8) -> bool {
        let (rows, cols) = luma.dim();
        let to_8bit = 1.0 / code_value_scale(bit_depth);
        let (step_y, step_x) = ((rows / GRID).max(1), (cols / GRID).max(1));
        let samples: Vec<f32> = (step_y / 2..rows)
            .step_by(step_y)
            .flat_map(|y| {
                (step_x / 2..cols)
                    .step_by(step_x)
                    .map(move |x| luma[(y, x)].to_f32() * to_8bit)
            })
            .collect();
        let (low, high) = samples
            .iter()
            .fold((f32::MAX, f32::MIN), |(l, h), &s| (l.min(s), h.max(s)));
        let flat = high - low <= FLAT_SPREAD;
        let repeated = samples.len() == self.previous.len()
            && samples
                .iter()
                .zip(&self.previous)
                .map(|(a, b)| (a - b).abs())
                .sum::<f32>()
                <= REPEAT_CHANGE * samples.len() as f32;
        self.previous = samples;
        self.flat += u64::from(flat);
        self.repeated += u64::from(repeated && !flat);
        flat || repeated
    }

    /// Flat frames screened out so far.
    pub(crate) fn flat(&self) -> u64 {
        self.flat
    }

    /// Repeated frames screened out so far.
    pub(crate) fn repeated(&self) -> u64 {
        self.repeated
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array2;

    #[test]
    fn black_and_repeated_frames_add_nothing_and_changes_do() {
        let mut screen = FrameScreen::new();
        let black = Array2::<u8>::from_elem((360, 640), 16);
        let picture = Array2::from_shape_fn((360, 640), |(y, x)| ((y * 7 + x * 3) % 200) as u8);
        let mut moved = picture.clone();
        moved.mapv_inplace(|v| v.saturating_add(2));
        assert!(screen.adds_nothing(black.view(), 8));
        assert!(!screen.adds_nothing(picture.view(), 8));
        assert!(screen.adds_nothing(picture.view(), 8), "a repeat");
        assert!(
            !screen.adds_nothing(moved.view(), 8),
            "two code values brighter"
        );
        let ten_bit = picture.mapv(|v| u16::from(v) * 4);
        assert!(!screen.adds_nothing(ten_bit.view(), 10));
        assert_eq!((screen.flat(), screen.repeated()), (1, 1));
    }
}
