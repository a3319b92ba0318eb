//! Alpha compositing of a text mask onto the Y'CbCr planes of a frame.
//!
//! Two layers are blended per sample, in order: the halo (outline or shadow) in its colour,
//! then the text fill in the text colour, each as `v + alpha * (colour - v)` on code values
//! and rounded to nearest. Luma uses the mask as is. A chroma sample takes the mask averaged
//! over its luma footprint (2x2 for 4:2:0, 2x1 for 4:2:2, 1x1 for 4:4:4), so glyph edges stay
//! anti-aliased in colour too and a half-covered chroma sample is half tinted.

use ndarray::{Array2, ArrayViewMut2};

use crate::error::{Error, Result};
use crate::plane::{Sample, code_value_scale, max_code_value};
use crate::video::{Planes, VideoFrame};

/// Coverage of the text (`fill`) and of its halo (`halo`, empty when there is none), each in
/// `0..=1`, row-major `height x width`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Mask {
    pub(crate) width: usize,
    pub(crate) height: usize,
    pub(crate) fill: Vec<f32>,
    pub(crate) halo: Vec<f32>,
}

impl Mask {
    pub(crate) fn new(width: usize, height: usize) -> Mask {
        Mask {
            width,
            height,
            fill: vec![0.0; width * height],
            halo: vec![0.0; width * height],
        }
    }

    /// Combines a glyph's coverage into the mask at `(x0, y0)` (pixels outside are dropped);
    /// overlapping glyphs keep the larger coverage.
    pub(crate) fn max_blit(&mut self, x0: i32, y0: i32, width: usize, fill: &[f32], halo: &[f32]) {
        if width == 0 {
            return;
        }
        for (row, fill_row) in fill.chunks_exact(width).enumerate() {
            let y = y0 + row as i32;
            if y < 0 || y as usize >= self.height {
                continue;
            }
            let halo_row = halo.get(row * width..(row + 1) * width);
            for (col, &f) in fill_row.iter().enumerate() {
                let x = x0 + col as i32;
                if x < 0 || x as usize >= self.width {
                    continue;
                }
                let at = y as usize * self.width + x as usize;
                self.fill[at] = self.fill[at].max(f);
                if let Some(h) = halo_row {
                    self.halo[at] = self.halo[at].max(h[col]);
                }
            }
        }
    }
}

/// A colour as 8-bit video-range Y'CbCr code values (scaled up for deeper video).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct YCbCr {
    /// Luma (Y'), 16 ..= 235 in video range.
    pub y: f32,
    /// Blue-difference chroma (Cb), 16 ..= 240 around 128.
    pub cb: f32,
    /// Red-difference chroma (Cr), 16 ..= 240 around 128.
    pub cr: f32,
}

/// Which Y'CbCr matrix converts the overlay colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Matrix {
    /// ITU-R BT.601 (standard definition).
    Bt601,
    /// ITU-R BT.709 (HD and above).
    Bt709,
}

impl Matrix {
    /// BT.601 below 720 lines, BT.709 from 720 lines up: what untagged SD and HD video use
    /// in practice (and what FFmpeg assumes for untagged streams when converting to RGB).
    pub fn for_height(height: usize) -> Matrix {
        if height < 720 {
            Matrix::Bt601
        } else {
            Matrix::Bt709
        }
    }

    /// Gamma-encoded 8-bit R'G'B' to limited-range ("video range") 8-bit Y'CbCr:
    /// Y' in 16..=235, Cb and Cr in 16..=240.
    pub fn to_ycbcr(self, rgb: [u8; 3]) -> YCbCr {
        let (kr, kb) = match self {
            Matrix::Bt601 => (0.299, 0.114),
            Matrix::Bt709 => (0.2126, 0.0722),
        };
        let [r, g, b] = rgb.map(|c| c as f32 / 255.0);
        let luma = kr * r + (1.0 - kr - kb) * g + kb * b;
        let pb = (b - luma) / (2.0 * (1.0 - kb));
        let pr = (r - luma) / (2.0 * (1.0 - kr));
        YCbCr {
            y: 16.0 + 219.0 * luma,
            cb: 128.0 + 224.0 * pb,
            cr: 128.0 + 224.0 * pr,
        }
    }
}

/// Blends `mask` onto `frame` with its top-left corner at luma position `(x, y)` (may lie
/// partly or wholly outside the frame). `opacity` scales both layers.
pub(crate) fn composite(
    frame: &mut VideoFrame,
    mask: &Mask,
    (x, y): (i64, i64),
    fill: YCbCr,
    halo: YCbCr,
    opacity: f32,
) -> Result<()> {
    let (sx, sy) = frame.format.subsampling();
    let depth = frame.format.bit_depth();
    let paints = Paints {
        fill,
        halo,
        opacity,
        scale: code_value_scale(depth),
    };
    match &mut frame.planes {
        Planes::Eight(p) => composite_planes(p, depth, mask, (x, y), (sx, sy), &paints),
        Planes::High(p) => composite_planes(p, depth, mask, (x, y), (sx, sy), &paints),
    }
}

struct Paints {
    fill: YCbCr,
    halo: YCbCr,
    opacity: f32,
    scale: f32,
}

#[inline]
fn blend<S: Sample>(
    sample: &mut S,
    halo_alpha: f32,
    halo: f32,
    fill_alpha: f32,
    fill: f32,
    max: f32,
) {
    let v = sample.to_f32();
    let v = v + halo_alpha * (halo - v);
    let v = v + fill_alpha * (fill - v);
    *sample = S::from_f32_clamped(v, max);
}

fn composite_planes<S: Sample>(
    planes: &mut [Array2<S>; 3],
    depth: u8,
    mask: &Mask,
    (x, y): (i64, i64),
    (sx, sy): (usize, usize),
    paints: &Paints,
) -> Result<()> {
    let max = max_code_value::<S>(depth)?;
    let (height, width) = planes[0].dim();
    let s = paints.scale;
    let (fill, halo) = (paints.fill, paints.halo);
    let alpha = |mx: i64, my: i64| mask_alpha(mask, paints.opacity, mx, my);

    // Luma: the part of the mask inside the frame.
    let Some(((x0, x1), (y0, y1))) = composite_plane(
        planes[0].view_mut(),
        max,
        mask,
        (x, y),
        fill.y * s,
        halo.y * s,
        paints.opacity,
    ) else {
        return Ok(());
    };

    // Chroma: every chroma sample whose luma footprint meets the mask.
    let (ch, cw) = planes[1].dim();
    let (cx0, cx1) = (x0 / sx, (x1 - 1) / sx + 1);
    let (cy0, cy1) = (y0 / sy, (y1 - 1) / sy + 1);
    for crow in cy0..cy1.min(ch) {
        for ccol in cx0..cx1.min(cw) {
            let (mut ha, mut fa, mut n) = (0.0f32, 0.0f32, 0usize);
            for ly in crow * sy..((crow + 1) * sy).min(height) {
                for lx in ccol * sx..((ccol + 1) * sx).min(width) {
                    let (h, f) = alpha(lx as i64 - x, ly as i64 - y);
                    ha += h;
                    fa += f;
                    n += 1;
                }
            }
            if n == 0 || (ha <= 0.0 && fa <= 0.0) {
                continue;
            }
            let (ha, fa) = (ha / n as f32, fa / n as f32);
            blend(
                &mut planes[1][(crow, ccol)],
                ha,
                halo.cb * s,
                fa,
                fill.cb * s,
                max,
            );
            blend(
                &mut planes[2][(crow, ccol)],
                ha,
                halo.cr * s,
                fa,
                fill.cr * s,
                max,
            );
        }
    }
    Ok(())
}

/// Coverage of the halo and of the fill at mask position `(mx, my)`, scaled by `opacity`;
/// zero outside the mask.
fn mask_alpha(mask: &Mask, opacity: f32, mx: i64, my: i64) -> (f32, f32) {
    if mx < 0 || my < 0 || mx as usize >= mask.width || my as usize >= mask.height {
        return (0.0, 0.0);
    }
    let at = my as usize * mask.width + mx as usize;
    let halo = if mask.halo.is_empty() {
        0.0
    } else {
        mask.halo[at]
    };
    (halo * opacity, mask.fill[at] * opacity)
}

/// Blends `mask` onto one full-resolution plane with its top-left corner at `(x, y)`: the
/// halo in `halo`, then the text in `fill` (code values of this plane, clamped to
/// `0..=max`). Returns the columns and rows of the plane the mask covers, `None` when it
/// lies wholly outside.
#[allow(clippy::type_complexity)]
pub(crate) fn composite_plane<S: Sample>(
    mut plane: ArrayViewMut2<S>,
    max: f32,
    mask: &Mask,
    (x, y): (i64, i64),
    fill: f32,
    halo: f32,
    opacity: f32,
) -> Option<((usize, usize), (usize, usize))> {
    let (height, width) = plane.dim();
    let x0 = x.clamp(0, width as i64) as usize;
    let x1 = (x + mask.width as i64).clamp(0, width as i64) as usize;
    let y0 = y.clamp(0, height as i64) as usize;
    let y1 = (y + mask.height as i64).clamp(0, height as i64) as usize;
    if x0 >= x1 || y0 >= y1 {
        return None;
    }
    for row in y0..y1 {
        let mut line = plane.row_mut(row);
        for col in x0..x1 {
            let (ha, fa) = mask_alpha(mask, opacity, col as i64 - x, row as i64 - y);
            if ha > 0.0 || fa > 0.0 {
                blend(&mut line[col], ha, halo, fa, fill, max);
            }
        }
    }
    Some(((x0, x1), (y0, y1)))
}

/// Checks a frame against the size an overlay was built for.
pub(crate) fn check_size(frame: &VideoFrame, width: usize, height: usize) -> Result<()> {
    Error::check_frame_size((frame.width(), frame.height()), (width, height))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn white_and_black_are_video_range_in_both_matrices() {
        for m in [Matrix::Bt601, Matrix::Bt709] {
            let w = m.to_ycbcr([255, 255, 255]);
            assert!((w.y - 235.0).abs() < 1e-3 && (w.cb - 128.0).abs() < 1e-3);
            let k = m.to_ycbcr([0, 0, 0]);
            assert!((k.y - 16.0).abs() < 1e-3 && (k.cr - 128.0).abs() < 1e-3);
        }
        // Pure red: Cr at the top of its range in both; luma differs by matrix.
        let r709 = Matrix::Bt709.to_ycbcr([255, 0, 0]);
        let r601 = Matrix::Bt601.to_ycbcr([255, 0, 0]);
        assert!((r709.cr - 240.0).abs() < 1e-3 && (r601.cr - 240.0).abs() < 1e-3);
        assert!((r709.y - 62.56).abs() < 0.01 && (r601.y - 81.48).abs() < 0.01);
    }
}
