//! Embedding: adds the recipient's tile, shaped by the perceptual mask, to the luma of each
//! frame's active picture.

use ndarray::{Array2, ArrayView2, ArrayViewMut2, s};

use crate::error::{Error, Result, VideoError};
use crate::grid::{MIN_SIDE, TILE, WorkingGrid};
use crate::key::Key;
use crate::mark::mask::PerceptualMask;
use crate::picture::{ContentRect, PictureTracker};
use crate::plane::{Sample, code_value_scale, max_code_value};
use crate::resample::linear_taps;
use crate::scheme::{KeyedScheme, Payload};
use crate::video::{VideoFrame, with_luma};

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

/// Marks the frames of one stream for one recipient. Keeps per-stream state (the active
/// picture seen so far and the temporally smoothed mask), so use one `Embedder` per stream
/// and feed frames in display order.
///
/// Only the active picture is marked, on a working grid scaled to the picture (see
/// [`crate::picture`]): bars stay untouched, and a leak that keeps the bars, crops them
/// off or adds its own finds the same grid.
#[derive(Debug)]
pub struct Embedder {
    width: usize,
    height: usize,
    scheme: KeyedScheme,
    tile: Array2<f32>,
    strength: f32,
    tracker: PictureTracker,
    /// `None` until a frame has shown any picture (a fade from black): nothing is marked.
    picture: Option<ContentRect>,
    /// The part of the picture the current frame shows (inside its own bars), in frame
    /// pixels: the only part of this frame that gets the mark.
    frame_picture: ContentRect,
    /// The mark of the current picture (of the whole frame while there is none).
    grid_mark: GridMark,
}

impl Embedder {
    /// An embedder of `recipient`'s ID under `key` for `width x height` frames; fails for
    /// frames smaller than [`MIN_SIDE`] or a strength out of range.
    pub fn new(
        key: &Key,
        recipient: u32,
        width: usize,
        height: usize,
        config: &EmbedConfig,
    ) -> Result<Embedder> {
        Embedder::with_payload(key, Payload::Recipient(recipient), width, height, config)
    }

    /// An embedder for any payload: a recipient's ID, or a two-step variant mark.
    pub fn with_payload(
        key: &Key,
        payload: Payload,
        width: usize,
        height: usize,
        config: &EmbedConfig,
    ) -> Result<Embedder> {
        if width.min(height) < MIN_SIDE {
            return Err(VideoError::FrameTooSmall {
                width,
                height,
                min_side: MIN_SIDE,
            }
            .into());
        }
        let strength = config.strength;
        if !(strength.is_finite() && strength > 0.0 && strength <= MAX_STRENGTH) {
            return Err(Error::InvalidStrength(strength));
        }
        let scheme = KeyedScheme::new(key);
        Ok(Embedder {
            width,
            height,
            tile: scheme.layout.mark_tile(&scheme.encode(payload)),
            scheme,
            strength,
            tracker: PictureTracker::default(),
            grid_mark: GridMark::new(ContentRect::full(width, height)),
            picture: None,
            frame_picture: ContentRect::full(width, height),
        })
    }

    /// Carries `payload` from the next frame on, keeping the picture and the mask's
    /// temporal state: a two-step variant moves to its next position this way.
    pub fn set_payload(&mut self, payload: Payload) {
        self.tile = self.scheme.layout.mark_tile(&self.scheme.encode(payload));
    }

    /// Marks one luma plane in place. `bit_depth` is 8 for `u8` planes, 9..=16 for `u16`.
    pub fn mark<S: Sample>(&mut self, luma: ArrayViewMut2<S>, bit_depth: u8) -> Result<()> {
        self.track_picture(luma.view(), bit_depth)?;
        self.mark_picture(luma, bit_depth)
    }

    /// Marks a frame's luma plane in place ([`Embedder::mark`]).
    pub fn mark_frame(&mut self, frame: &mut VideoFrame) -> Result<()> {
        self.track_frame(frame)?;
        self.mark_frame_picture(frame)
    }

    /// Shows a frame's luma plane to the picture tracker ([`Embedder::track_picture`]);
    /// true when the picture changed.
    pub fn track_frame(&mut self, frame: &VideoFrame) -> Result<bool> {
        with_luma!(frame, |luma, depth| self.track_picture(luma, depth))
    }

    /// Marks a frame's luma plane in the picture tracked so far
    /// ([`Embedder::mark_picture`]).
    pub fn mark_frame_picture(&mut self, frame: &mut VideoFrame) -> Result<()> {
        with_luma!(mut frame, |luma, depth| self.mark_picture(luma, depth))
    }

    /// Marks one luma plane in the picture [`Embedder::track_picture`] found, without
    /// looking for the picture again: for callers that burn an overlay in between, which
    /// must not count as picture.
    pub fn mark_picture<S: Sample>(
        &mut self,
        mut luma: ArrayViewMut2<S>,
        bit_depth: u8,
    ) -> Result<()> {
        let max = max_code_value::<S>(bit_depth)?;
        self.check_size(luma.ncols(), luma.nrows())?;
        let amplitude = self.amplitude(bit_depth);
        let Some(p) = self.picture else {
            return Ok(());
        };
        let f = self.frame_picture;
        let shown = ContentRect {
            top: f.top - p.top,
            bottom: f.bottom - p.top,
            left: f.left - p.left,
            right: f.right - p.left,
        };
        let picture = luma.slice_mut(s![p.top..p.bottom, p.left..p.right]);
        self.grid_mark
            .mark(picture, shown, &self.tile, amplitude, bit_depth, max);
        Ok(())
    }

    fn check_size(&self, width: usize, height: usize) -> Result<()> {
        Error::check_frame_size((width, height), (self.width, self.height))
    }

    /// Looks for the active picture in the next frame (before any overlay is burned in)
    /// and returns whether the picture, and with it the working grid, changed.
    /// [`Embedder::mark`] calls it; a GPU marker calls it and rebuilds from
    /// [`Embedder::plan`] on a change.
    pub fn track_picture<S: Sample>(&mut self, luma: ArrayView2<S>, bit_depth: u8) -> Result<bool> {
        max_code_value::<S>(bit_depth)?;
        let (height, width) = luma.dim();
        self.check_size(width, height)?;
        self.tracker.update(luma, bit_depth);
        if !self.tracker.has_seen_picture() {
            return Ok(false);
        }
        let found = self.tracker.picture();
        // Too small a picture to carry the grid: mark the frame as a whole.
        let picture = if found.width().min(found.height()) < MIN_SIDE {
            ContentRect::full(width, height)
        } else {
            found
        };
        self.frame_picture = self.tracker.frame_picture().intersection(&picture);
        if Some(picture) == self.picture {
            return Ok(false);
        }
        self.picture = Some(picture);
        self.grid_mark = GridMark::new(picture);
        Ok(true)
    }

    /// The active picture the next frame is marked in, in frame pixels; `None` while no
    /// frame has shown any picture.
    pub fn picture(&self) -> Option<ContentRect> {
        self.picture
    }

    /// The part of the picture the frame last tracked shows, in frame pixels: only it gets
    /// the mark (the grid stays the picture's).
    pub fn frame_picture(&self) -> ContentRect {
        self.frame_picture
    }

    /// Mark amplitude in code values of `bit_depth`-bit video, before the perceptual gain.
    pub fn amplitude(&self, bit_depth: u8) -> f32 {
        BASE_AMPLITUDE * self.strength * code_value_scale(bit_depth)
    }

    /// The tables [`Embedder::mark`] works from for the current picture, for a GPU to
    /// reproduce it kernel for kernel (crate `filigree-gpu`). They change when
    /// [`Embedder::track_picture`] says the picture did.
    pub fn plan(&self) -> MarkPlan {
        let mark = &self.grid_mark;
        let (row_starts, col_starts) = mark.mask.cell_starts();
        MarkPlan {
            width: self.width,
            height: self.height,
            picture: self
                .picture
                .unwrap_or(ContentRect::full(self.width, self.height)),
            marks: self.picture.is_some(),
            cols: mark.grid.cols,
            rows: mark.grid.rows,
            tile: self.tile.iter().copied().collect(),
            col_taps: mark.col_taps.clone(),
            row_taps: mark.row_taps.clone(),
            col_starts: col_starts.to_vec(),
            row_starts: row_starts.to_vec(),
        }
    }
}

/// The mark on one picture size: the working grid, its perceptual mask (with its temporal
/// state) and the upsampling from cells to pixels.
#[derive(Debug)]
struct GridMark {
    grid: WorkingGrid,
    mask: PerceptualMask,
    row_taps: Vec<(u32, u32, f32)>,
    col_taps: Vec<(u32, u32, f32)>,
    /// Working-grid mark interpolated along rows: `grid.rows` x picture width.
    row_interpolated: Array2<f32>,
}

impl GridMark {
    fn new(picture: ContentRect) -> GridMark {
        let (width, height) = (picture.width(), picture.height());
        let grid = WorkingGrid::new(width, height);
        GridMark {
            mask: PerceptualMask::new(grid),
            row_taps: linear_taps(grid.rows, height, grid.pixels_per_cell),
            col_taps: linear_taps(grid.cols, width, grid.pixels_per_cell),
            row_interpolated: Array2::zeros((grid.rows, width)),
            grid,
        }
    }

    /// Adds the masked tile to the picture's luma, inside `shown` (picture pixels).
    fn mark<S: Sample>(
        &mut self,
        mut luma: ArrayViewMut2<S>,
        shown: ContentRect,
        tile: &Array2<f32>,
        amplitude: f32,
        bit_depth: u8,
        max: f32,
    ) {
        let width = luma.ncols();
        let gain = self
            .mask
            .update(luma.view(), 1.0 / code_value_scale(bit_depth));
        let cells = Array2::from_shape_fn(gain.dim(), |(r, c)| {
            amplitude * gain[[r, c]] * tile[[r % TILE, c % TILE]]
        });

        // Separable linear upsampling of the working-grid mark into the picture.
        for (r, cell_row) in cells.outer_iter().enumerate() {
            let mut out = self.row_interpolated.row_mut(r);
            for (x, &(lo, hi, w)) in self.col_taps.iter().enumerate() {
                let a = cell_row[lo as usize];
                out[x] = a + (cell_row[hi as usize] - a) * w;
            }
        }
        let mut delta = vec![0.0f32; width];
        let columns = shown.left..shown.right;
        for (y, pixels) in luma.outer_iter_mut().enumerate() {
            if !(shown.top..shown.bottom).contains(&y) {
                continue;
            }
            let mut pixels = pixels.slice_move(s![columns.clone()]);
            let delta = &mut delta[columns.clone()];
            let (lo, hi, w) = self.row_taps[y];
            let upper = self.row_interpolated.row(lo as usize);
            let lower = self.row_interpolated.row(hi as usize);
            let (upper, lower) = (
                &upper.as_slice().expect("owned")[columns.clone()],
                &lower.as_slice().expect("owned")[columns.clone()],
            );
            for ((d, &a), &b) in delta.iter_mut().zip(upper).zip(lower) {
                *d = a + (b - a) * w;
            }
            match pixels.as_slice_mut() {
                Some(row) => add_clamped(row, delta, max),
                None => pixels
                    .iter_mut()
                    .zip(delta.iter())
                    .for_each(|(p, &d)| *p = S::from_f32_clamped(p.to_f32() + d, max)),
            }
        }
    }
}

/// What [`Embedder::mark`] precomputes for a stream: the recipient's tile and the geometry
/// between frame pixels and working cells.
#[derive(Debug, Clone)]
pub struct MarkPlan {
    /// The frame.
    pub width: usize,
    /// Frame height in luma pixels.
    pub height: usize,
    /// The active picture, the only part marked; every table below is relative to it.
    pub picture: ContentRect,
    /// False while no frame has shown any picture: frames pass unmarked.
    pub marks: bool,
    /// Working cells across and down the picture.
    pub cols: usize,
    /// Working cells down the picture.
    pub rows: usize,
    /// The recipient's `TILE x TILE` tile, row-major, unit RMS; cell `(r, c)` uses
    /// `tile[(r % TILE) * TILE + c % TILE]`.
    pub tile: Vec<f32>,
    /// Upsampling taps per picture column (row): lower cell, upper cell, weight of the upper.
    pub col_taps: Vec<(u32, u32, f32)>,
    /// Upsampling taps per picture row, like `col_taps`.
    pub row_taps: Vec<(u32, u32, f32)>,
    /// First picture column (row) of each working-cell column (row), then the picture width
    /// (height): cell `c` spans `col_starts[c]..col_starts[c + 1]`.
    pub col_starts: Vec<u32>,
    /// First picture row of each working-cell row, then the picture height, like `col_starts`.
    pub row_starts: Vec<u32>,
}

/// Adds `delta` to a contiguous row of samples (the common case: a tight loop the compiler
/// vectorises).
fn add_clamped<S: Sample>(row: &mut [S], delta: &[f32], max: f32) {
    for (p, &d) in row.iter_mut().zip(delta) {
        *p = S::from_f32_clamped(p.to_f32() + d, max);
    }
}
