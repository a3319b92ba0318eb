//! Where the overlay text goes: a corner, the centre, a diagonal tiling, or a keyed path.

use std::f64::consts::TAU;

use crate::key::{Key, Purpose};

/// Placement of the overlay text in the frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Position {
    /// Top-left corner, inset by the margin.
    TopLeft,
    /// Top-right corner, inset by the margin.
    TopRight,
    /// Bottom-left corner, inset by the margin.
    BottomLeft,
    /// Bottom-right corner, inset by the margin (the default).
    #[default]
    BottomRight,
    /// Centred in the frame.
    Center,
    /// Copies of the text across the whole frame, each row shifted so the copies line up
    /// along diagonals: there is no clean region to crop to.
    Tiled,
    /// One copy gliding smoothly around the frame on a path derived from the key and the
    /// session: without the key nobody can predict where it will be.
    Moving,
}

impl Position {
    /// Names as the CLI spells them.
    pub const NAMES: [(&'static str, Position); 7] = [
        ("top-left", Position::TopLeft),
        ("top-right", Position::TopRight),
        ("bottom-left", Position::BottomLeft),
        ("bottom-right", Position::BottomRight),
        ("center", Position::Center),
        ("tiled", Position::Tiled),
        ("moving", Position::Moving),
    ];

    /// Parses a CLI name (`top-left`, `center`, `moving`, ...).
    pub fn from_name(name: &str) -> Option<Position> {
        Position::NAMES
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|&(_, p)| p)
    }
}

/// A rectangle in luma pixels; `x`/`y` may be negative or run past the frame (tiles at the
/// edges are clipped).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rect {
    /// Left edge in luma pixels from the frame's left edge; negative when it starts off-frame.
    pub x: i64,
    /// Top edge in luma pixels from the frame's top edge; negative when it starts off-frame.
    pub y: i64,
    /// Width in luma pixels.
    pub width: usize,
    /// Height in luma pixels.
    pub height: usize,
}

/// The keyed path of [`Position::Moving`]: per axis, a sum of three sines with keyed
/// frequencies and phases. Sums of incommensurate sines never repeat and have no corner the
/// text returns to on a schedule; bounded frequencies bound the speed, so the motion stays
/// smooth and readable.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct MovingPath {
    /// Per axis: (frequency in Hz, phase in radians) of each component.
    axes: [[(f64, f64); 3]; 2],
}

/// Relative weights of the three components (slow, medium, fast).
const WEIGHTS: [f64; 3] = [1.0, 0.5, 0.25];
/// Frequency ranges of the components in Hz: the slow one crosses the frame in 12-25 s.
const FREQUENCIES: [(f64, f64); 3] = [(0.02, 0.04), (0.05, 0.09), (0.11, 0.17)];

impl MovingPath {
    pub(crate) fn new(key: &Key, session: &str) -> MovingPath {
        let seed = key.derive(Purpose::OverlayPath, session.as_bytes());
        let unit = |i: usize| u16::from_le_bytes([seed[2 * i], seed[2 * i + 1]]) as f64 / 65535.0;
        let mut axes = [[(0.0, 0.0); 3]; 2];
        for (a, axis) in axes.iter_mut().enumerate() {
            for (c, component) in axis.iter_mut().enumerate() {
                let i = a * 6 + c * 2;
                let (lo, hi) = FREQUENCIES[c];
                *component = (lo + (hi - lo) * unit(i), TAU * unit(i + 1));
            }
        }
        MovingPath { axes }
    }

    /// Position at `seconds` as fractions `0..=1` of the free room on each axis.
    pub(crate) fn at(&self, seconds: f64) -> (f64, f64) {
        let total: f64 = WEIGHTS.iter().sum();
        let axis = |components: &[(f64, f64); 3]| {
            let sum: f64 = components
                .iter()
                .zip(WEIGHTS)
                .map(|(&(f, phase), w)| w * (TAU * f * seconds + phase).sin())
                .sum();
            (0.5 + 0.5 * sum / total).clamp(0.0, 1.0)
        };
        (axis(&self.axes[0]), axis(&self.axes[1]))
    }
}

/// Top-left corners of every copy of a `text_w x text_h` mask in a `width x height` frame.
pub(crate) fn placements(
    position: Position,
    (width, height): (usize, usize),
    (text_w, text_h): (usize, usize),
    margin: usize,
    path: &MovingPath,
    seconds: f64,
) -> Vec<(i64, i64)> {
    let (w, h, tw, th, m) = (
        width as i64,
        height as i64,
        text_w as i64,
        text_h as i64,
        margin as i64,
    );
    let left = m.min((w - tw).max(0));
    let top = m.min((h - th).max(0));
    let right = (w - tw - m).max(0);
    let bottom = (h - th - m).max(0);
    match position {
        Position::TopLeft => vec![(left, top)],
        Position::TopRight => vec![(right, top)],
        Position::BottomLeft => vec![(left, bottom)],
        Position::BottomRight => vec![(right, bottom)],
        Position::Center => vec![((w - tw) / 2, (h - th) / 2)],
        Position::Moving => {
            let (fx, fy) = path.at(seconds);
            let room_x = (w - tw).max(0) as f64;
            let room_y = (h - th).max(0) as f64;
            vec![((fx * room_x).round() as i64, (fy * room_y).round() as i64)]
        }
        Position::Tiled => {
            // Gaps of a few text heights keep the picture watchable between copies.
            let step_x = tw + (3 * th).max(m);
            let step_y = th + (2 * th).max(m);
            let shift = step_x / 3;
            let mut out = Vec::new();
            let mut row = 0i64;
            let mut y = -th / 2;
            while y < h {
                let mut x = (row * shift).rem_euclid(step_x) - step_x;
                while x < w {
                    if x + tw > 0 {
                        out.push((x, y));
                    }
                    x += step_x;
                }
                y += step_y;
                row += 1;
            }
            out
        }
    }
}
