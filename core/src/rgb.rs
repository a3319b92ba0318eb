//! R'G'B' pictures for a luma-only mark: Y' from full-range R'G'B' (to mark or read an RGB
//! picture, as the Python bindings take them), the mark's change in Y' added back to R', G'
//! and B', and a decoded Y'CbCr frame shown as R'G'B' (stills in evidence reports).

use ndarray::{Array2, Array3, ArrayView3, ArrayViewMut3};

use crate::plane::code_value_scale;
use crate::video::{ColorInfo, Planes, VideoFrame};

/// Bit depth of the luma plane made from an RGB picture: Y' in 8-bit units times 256, so the
/// mark's sub-code-value detail survives until it is added back to R', G' and B'.
pub const RGB_LUMA_BIT_DEPTH: u8 = 16;
const RGB_LUMA_SCALE: f32 = 256.0;

/// FFmpeg's (ISO/IEC 23091-2) matrix and range codes this module tells apart.
const MATRIX_BT709: i32 = 1;
const MATRIX_UNSPECIFIED: i32 = 2;
const RANGE_FULL: i32 = 2;

/// Luma weights (Kr, Kg, Kb): BT.709 for HD and larger (height ≥ 720), BT.601 below, the
/// usual convention for untagged pictures.
fn luma_weights(height: usize) -> [f32; 3] {
    if height >= 720 {
        [0.2126, 0.7152, 0.0722]
    } else {
        [0.299, 0.587, 0.114]
    }
}

/// Y' = Kr R' + Kg G' + Kb B' of a full-range (H, W, 3) R'G'B' picture, in 8-bit units
/// times 256 (a plane of bit depth [`RGB_LUMA_BIT_DEPTH`]).
pub fn luma_of(rgb: ArrayView3<u8>) -> Array2<u16> {
    let (height, width, _) = rgb.dim();
    let [kr, kg, kb] = luma_weights(height);
    let rgb = rgb.as_standard_layout();
    let samples = rgb.as_slice().expect("standard layout");
    let luma = samples
        .chunks_exact(3)
        .map(|p| {
            let luma = kr * f32::from(p[0]) + kg * f32::from(p[1]) + kb * f32::from(p[2]);
            (luma * RGB_LUMA_SCALE + 0.5) as u16
        })
        .collect();
    Array2::from_shape_vec((height, width), luma).expect("one luma sample per pixel")
}

/// Adds the change from `before` to `after` (planes from [`luma_of`]) to R', G' and B'
/// alike, rounding and clamping to 0..=255. Since Kr + Kg + Kb = 1, Y' changes by exactly
/// that amount and Cb, Cr (scaled B' − Y', R' − Y') do not, up to the rounding and clamping.
pub fn add_luma_change(mut rgb: ArrayViewMut3<u8>, before: &Array2<u16>, after: &Array2<u16>) {
    let pixels = rgb
        .as_slice_mut()
        .expect("RGB pictures are kept in standard layout");
    for ((pixel, &before), &after) in pixels.chunks_exact_mut(3).zip(before).zip(after) {
        let change = (f32::from(after) - f32::from(before)) / RGB_LUMA_SCALE;
        for channel in pixel {
            *channel = ((f32::from(*channel) + change).clamp(0.0, 255.0) + 0.5) as u8;
        }
    }
}

/// A decoded frame as full-range (H, W, 3) R'G'B', by its stream's matrix and range
/// (untagged: BT.709 from 720 lines up, BT.601 below; limited range), chroma taken from the
/// nearest sample.
pub fn frame_to_rgb(frame: &VideoFrame, color: &ColorInfo) -> Array3<u8> {
    let (y, u, v) = match &frame.planes {
        Planes::Eight([y, u, v]) => (y.mapv(f32::from), u.mapv(f32::from), v.mapv(f32::from)),
        Planes::High([y, u, v]) => (y.mapv(f32::from), u.mapv(f32::from), v.mapv(f32::from)),
    };
    let (height, width) = y.dim();
    let (sx, sy) = frame.format.subsampling();
    let bt709 = match color.matrix {
        MATRIX_BT709 => true,
        MATRIX_UNSPECIFIED | 0 => height >= 720,
        _ => false,
    };
    let [kr, _, kb] = if bt709 {
        [0.2126, 0.7152, 0.0722]
    } else {
        [0.299, 0.587, 0.114]
    };
    let kg = 1.0 - kr - kb;
    let scale = code_value_scale(frame.format.bit_depth());
    let (luma_range, chroma_range, black) = if color.range == RANGE_FULL {
        (255.0, 255.0, 0.0)
    } else {
        (219.0, 224.0, 16.0)
    };
    Array3::from_shape_fn((height, width, 3), |(r, c, channel)| {
        let luma = (y[[r, c]] / scale - black) / luma_range;
        let cb = (u[[r / sy, c / sx]] / scale - 128.0) / chroma_range;
        let cr = (v[[r / sy, c / sx]] / scale - 128.0) / chroma_range;
        let value = match channel {
            0 => luma + 2.0 * (1.0 - kr) * cr,
            2 => luma + 2.0 * (1.0 - kb) * cb,
            _ => luma - (2.0 * kb * (1.0 - kb) * cb + 2.0 * kr * (1.0 - kr) * cr) / kg,
        };
        (value * 255.0).round().clamp(0.0, 255.0) as u8
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::video::PixelFormat;

    #[test]
    fn a_luma_change_moves_y_by_that_much_and_limited_range_grey_stays_grey() {
        let rgb = Array3::from_shape_fn((4, 4, 3), |(r, c, ch)| (40 * r + 10 * c + ch) as u8);
        let before = luma_of(rgb.view());
        let after = before.mapv(|v| v + 3 * 256);
        let mut marked = rgb.clone();
        add_luma_change(marked.view_mut(), &before, &after);
        let moved = luma_of(marked.view());
        for (b, m) in before.iter().zip(&moved) {
            assert!((f32::from(*m) - f32::from(*b) - 768.0).abs() <= 256.0);
        }
        let mut grey = VideoFrame::black(PixelFormat::Yuv420p, 4, 2);
        if let Planes::Eight(p) = &mut grey.planes {
            p[0].fill(126);
        }
        let shown = frame_to_rgb(&grey, &ColorInfo::default());
        assert!(shown.iter().all(|&v| v == 128), "{shown:?}");
    }
}
