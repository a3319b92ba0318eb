//! Embedding: adds the recipient's tile, shaped by the perceptual mask, to each frame's luma.

use ndarray::{Array2, ArrayViewMut2};

use crate::error::{Error, Result};
use crate::grid::{MIN_SIDE, TILE, WorkingGrid};
use crate::key::Key;
use crate::mask::PerceptualMask;
use crate::plane::{Sample, code_value_scale, max_code_value};
use crate::resample::linear_taps;
use crate::scheme::KeyedScheme;

/// Mark amplitude (8-bit code values, RMS before masking) at strength 1. Chosen so the default
/// gives luma PSNR around 44 dB on the test clips (see `tests/fidelity.rs`).
pub const BASE_AMPLITUDE: f32 = 1.3;

/// Largest accepted strength: beyond this the mark is plainly visible.
pub const MAX_STRENGTH: f32 = 8.0;

/// Embedding options.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EmbedConfig {
    /// Multiplies the mark amplitude: 1.0 is the default balance of robustness and fidelity;
    /// 2.0 gains ~6 dB of robustness for ~6 dB of PSNR.
    pub strength: f32,
}

impl Default for EmbedConfig {
    fn default() -> EmbedConfig {
        EmbedConfig { strength: 1.0 }
    }
}

/// Marks the frames of one stream for one recipient. Keeps per-stream state (the temporally
/// smoothed mask), so use one `Embedder` per stream and feed frames in display order.
#[derive(Debug)]
pub struct Embedder {
    grid: WorkingGrid,
    tile: Array2<f32>,
    mask: PerceptualMask,
    strength: f32,
    row_taps: Vec<(u32, u32, f32)>,
    col_taps: Vec<(u32, u32, f32)>,
    /// Working-grid mark interpolated along rows: `grid.rows` x `width`.
    row_interpolated: Array2<f32>,
}

impl Embedder {
    pub fn new(
        key: &Key,
        recipient: u32,
        width: usize,
        height: usize,
        config: &EmbedConfig,
    ) -> Result<Embedder> {
        if width.min(height) < MIN_SIDE {
            return Err(Error::FrameTooSmall {
                width,
                height,
                min_side: MIN_SIDE,
            });
        }
        let strength = config.strength;
        if !(strength.is_finite() && strength > 0.0 && strength <= MAX_STRENGTH) {
            return Err(Error::InvalidStrength(strength));
        }
        let scheme = KeyedScheme::new(key);
        let coded = scheme.codec.encode(&scheme.tag_key, recipient as u64);
        let grid = WorkingGrid::new(width, height);
        Ok(Embedder {
            tile: scheme.layout.mark_tile(&coded),
            mask: PerceptualMask::new(grid),
            strength,
            row_taps: linear_taps(grid.rows, height, grid.pixels_per_cell),
            col_taps: linear_taps(grid.cols, width, grid.pixels_per_cell),
            row_interpolated: Array2::zeros((grid.rows, width)),
            grid,
        })
    }

    /// Marks one luma plane in place. `bit_depth` is 8 for `u8` planes, 9..=16 for `u16`.
    pub fn mark<S: Sample>(&mut self, mut luma: ArrayViewMut2<S>, bit_depth: u8) -> Result<()> {
        let max = max_code_value::<S>(bit_depth)?;
        let (height, width) = luma.dim();
        if (width, height) != (self.grid.width, self.grid.height) {
            return Err(Error::FrameSizeChanged {
                width,
                height,
                expected_width: self.grid.width,
                expected_height: self.grid.height,
            });
        }
        let code_scale = code_value_scale(bit_depth);
        let gain = self.mask.update(luma.view(), 1.0 / code_scale);
        let amplitude = self.amplitude(bit_depth);
        let cells = ndarray::Array2::from_shape_fn(gain.dim(), |(r, c)| {
            amplitude * gain[[r, c]] * self.tile[[r % TILE, c % TILE]]
        });

        // Separable linear upsampling of the working-grid mark into the frame.
        for (r, cell_row) in cells.outer_iter().enumerate() {
            let mut out = self.row_interpolated.row_mut(r);
            for (x, &(lo, hi, w)) in self.col_taps.iter().enumerate() {
                let a = cell_row[lo as usize];
                out[x] = a + (cell_row[hi as usize] - a) * w;
            }
        }
        let mut delta = vec![0.0f32; width];
        for (y, mut pixels) in luma.outer_iter_mut().enumerate() {
            let (lo, hi, w) = self.row_taps[y];
            let upper = self.row_interpolated.row(lo as usize);
            let lower = self.row_interpolated.row(hi as usize);
            let (upper, lower) = (
                upper.as_slice().expect("owned"),
                lower.as_slice().expect("owned"),
            );
            for ((d, &a), &b) in delta.iter_mut().zip(upper).zip(lower) {
                *d = a + (b - a) * w;
            }
            match pixels.as_slice_mut() {
                Some(row) => add_clamped(row, &delta, max),
                None => pixels
                    .iter_mut()
                    .zip(&delta)
                    .for_each(|(p, &d)| *p = S::from_f32_clamped(p.to_f32() + d, max)),
            }
        }
        Ok(())
    }
}

impl Embedder {
    /// Mark amplitude in code values of `bit_depth`-bit video, before the perceptual gain.
    pub fn amplitude(&self, bit_depth: u8) -> f32 {
        BASE_AMPLITUDE * self.strength * code_value_scale(bit_depth)
    }

    /// The per-stream tables [`Embedder::mark`] works from, for a GPU to reproduce it
    /// kernel for kernel (crate `filigree-gpu`).
    pub fn plan(&self) -> MarkPlan {
        let (row_starts, col_starts) = self.mask.cell_starts();
        MarkPlan {
            width: self.grid.width,
            height: self.grid.height,
            cols: self.grid.cols,
            rows: self.grid.rows,
            tile: self.tile.iter().copied().collect(),
            col_taps: self.col_taps.clone(),
            row_taps: self.row_taps.clone(),
            col_starts: col_starts.to_vec(),
            row_starts: row_starts.to_vec(),
        }
    }
}

/// What [`Embedder::mark`] precomputes for a stream: the recipient's tile and the geometry
/// between frame pixels and working cells.
#[derive(Debug, Clone)]
pub struct MarkPlan {
    pub width: usize,
    pub height: usize,
    /// Working cells across and down.
    pub cols: usize,
    pub rows: usize,
    /// The recipient's `TILE x TILE` tile, row-major, unit RMS; cell `(r, c)` uses
    /// `tile[(r % TILE) * TILE + c % TILE]`.
    pub tile: Vec<f32>,
    /// Upsampling taps per frame column (row): lower cell, upper cell, weight of the upper.
    pub col_taps: Vec<(u32, u32, f32)>,
    pub row_taps: Vec<(u32, u32, f32)>,
    /// First frame column (row) of each working-cell column (row), then the frame width
    /// (height): cell `c` spans `col_starts[c]..col_starts[c + 1]`.
    pub col_starts: Vec<u32>,
    pub row_starts: Vec<u32>,
}

/// Adds `delta` to a contiguous row of samples (the common case: a tight loop the compiler
/// vectorises).
fn add_clamped<S: Sample>(row: &mut [S], delta: &[f32], max: f32) {
    for (p, &d) in row.iter_mut().zip(delta) {
        *p = S::from_f32_clamped(p.to_f32() + d, max);
    }
}
