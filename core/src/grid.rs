//! The resolution-independent working grid the mark is defined on.
//!
//! Every frame, whatever its size, is seen as `WORKING_HEIGHT` rows of square working pixels
//! (the width follows the aspect ratio). The mark is a `TILE`x`TILE` working-pixel tile repeated
//! over that grid and smoothly upsampled into the frame. Because the grid is tied to the
//! picture height, aspect-preserving scaling changes nothing for the detector, and cropping
//! only shifts the tile cyclically and magnifies it slightly.

/// Rows of the working grid. 180 keeps a working pixel at >= 2 pixels even in a 360p leak,
/// which measured as the limit for surviving H.264 at CRF 32 (smaller chips are quantised away).
pub const WORKING_HEIGHT: usize = 180;

/// Side of the repeating tile, in working pixels: 8x8 DCT blocks of 8x8 working pixels.
pub const TILE: usize = 64;

/// Side of a DCT block, in working pixels.
pub const BLOCK: usize = 8;

/// Smallest frame the embedder accepts: below 180 rows a working pixel would be smaller than
/// a pixel and the mark would alias.
pub const MIN_HEIGHT: usize = WORKING_HEIGHT;
pub const MIN_WIDTH: usize = 96;

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
        let pixels_per_cell = height as f32 / WORKING_HEIGHT as f32;
        let cols = (width as f32 / pixels_per_cell).ceil() as usize;
        WorkingGrid {
            width,
            height,
            pixels_per_cell,
            cols,
            rows: WORKING_HEIGHT,
        }
    }

    /// Working cell that frame pixel `p` (row or column index) falls in.
    pub fn cell_of(&self, p: usize, cells: usize) -> usize {
        ((p as f32 / self.pixels_per_cell) as usize).min(cells - 1)
    }
}
