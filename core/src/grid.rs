//! The resolution-independent working grid the mark is defined on.
//!
//! Every frame, whatever its size, is seen as a grid of square working pixels with
//! `WORKING_SIDE` of them along its shorter side (the other side follows the aspect ratio;
//! tying the grid to the shorter side keeps portrait video as well marked as landscape). The mark is a `TILE`x`TILE` working-pixel tile repeated
//! over that grid and smoothly upsampled into the frame. Because the grid is tied to the
//! picture height, aspect-preserving scaling changes nothing for the detector, and cropping
//! only shifts the tile cyclically and magnifies it slightly.

/// Working pixels along the shorter side of the frame. 180 keeps a working pixel at >= 2 pixels even in a 360p leak,
/// which measured as the limit for surviving H.264 at CRF 32 (smaller chips are quantised away).
pub const WORKING_SIDE: usize = 180;

/// Side of the repeating tile, in working pixels: 8x8 DCT blocks of 8x8 working pixels.
pub const TILE: usize = 64;

/// Side of a DCT block, in working pixels.
pub(crate) const BLOCK: usize = 8;

/// Smallest shorter side the embedder accepts: below it a working pixel would be smaller
/// than a pixel and the mark would alias.
pub const MIN_SIDE: usize = WORKING_SIDE;

/// Geometry of one frame size on the working grid.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WorkingGrid {
    pub width: usize,
    pub height: usize,
    /// Frame pixels per working pixel, the same on both axes (square working pixels).
    pub pixels_per_cell: f32,
    pub cols: usize,
    pub rows: usize,
}

impl WorkingGrid {
    pub fn new(width: usize, height: usize) -> WorkingGrid {
        let pixels_per_cell = width.min(height) as f32 / WORKING_SIDE as f32;
        let cells = |pixels: usize| ((pixels as f32 / pixels_per_cell).ceil() as usize).max(1);
        WorkingGrid {
            width,
            height,
            pixels_per_cell,
            cols: cells(width),
            rows: cells(height),
        }
    }

    /// Working cell that frame pixel `p` (row or column index) falls in.
    pub fn cell_of(&self, p: usize, cells: usize) -> usize {
        ((p as f32 / self.pixels_per_cell) as usize).min(cells - 1)
    }
}
