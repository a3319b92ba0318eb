//! Resampling between frame pixels and the working grid.

use ndarray::{Array2, ArrayView2};

/// Linear interpolation taps for upsampling `src_len` cells to `dst_len` pixels, with cell
/// centres aligned to pixel centres (so the mark sits where the mask measured the content).
/// Returns (lower index, upper index, weight of upper) per destination pixel.
pub(crate) fn linear_taps(
    src_len: usize,
    dst_len: usize,
    pixels_per_cell: f32,
) -> Vec<(u32, u32, f32)> {
    (0..dst_len)
        .map(|d| {
            let pos = ((d as f32 + 0.5) / pixels_per_cell - 0.5).clamp(0.0, (src_len - 1) as f32);
            let lo = pos.floor() as usize;
            let hi = (lo + 1).min(src_len - 1);
            (lo as u32, hi as u32, pos - lo as f32)
        })
        .collect()
}

/// Area-averaging resize of a plane to `out_rows` x `out_cols` with fractional box
/// coverage; also works as (blocky) upsampling when the output is larger.
/// The detector uses it to bring every suspect frame to a common height, which is also what
/// a scaler does to the mark, so nothing is lost to aliasing.
pub(crate) fn area_resize(src: ArrayView2<f32>, out_rows: usize, out_cols: usize) -> Array2<f32> {
    let (rows, cols) = src.dim();
    let row_weights = area_weights(rows, out_rows);
    let col_weights = area_weights(cols, out_cols);
    // Horizontal pass first into (rows x out_cols), then vertical.
    let mut horizontal = Array2::<f32>::zeros((rows, out_cols));
    for r in 0..rows {
        let src_row = src.row(r);
        let mut dst_row = horizontal.row_mut(r);
        for (o, taps) in col_weights.iter().enumerate() {
            dst_row[o] = taps.iter().map(|&(i, w)| src_row[i] * w).sum();
        }
    }
    let mut out = Array2::<f32>::zeros((out_rows, out_cols));
    for (o, taps) in row_weights.iter().enumerate() {
        let mut dst_row = out.row_mut(o);
        for &(i, w) in taps {
            dst_row.scaled_add(w, &horizontal.row(i));
        }
    }
    out
}

/// For each output index, the source indices and weights of a box of width src/out.
fn area_weights(src_len: usize, out_len: usize) -> Vec<Vec<(usize, f32)>> {
    let step = src_len as f64 / out_len as f64;
    (0..out_len)
        .map(|o| {
            let start = o as f64 * step;
            let end = start + step;
            let first = start.floor() as usize;
            let last = (end.ceil() as usize).min(src_len);
            let mut taps: Vec<(usize, f32)> = (first..last)
                .map(|i| {
                    let overlap = (end.min(i as f64 + 1.0) - start.max(i as f64)).max(0.0);
                    (i, (overlap / step) as f32)
                })
                .filter(|&(_, w)| w > 0.0)
                .collect();
            if taps.is_empty() {
                taps.push((first.min(src_len - 1), 1.0));
            }
            taps
        })
        .collect()
}

/// Bilinear sample of `plane` at fractional (row, col); `None` outside the plane.
#[inline]
pub(crate) fn bilinear(plane: &ArrayView2<f32>, row: f32, col: f32) -> Option<f32> {
    let (rows, cols) = plane.dim();
    if row < 0.0 || col < 0.0 || row > (rows - 1) as f32 || col > (cols - 1) as f32 {
        return None;
    }
    let r0 = row as usize;
    let c0 = col as usize;
    let r1 = (r0 + 1).min(rows - 1);
    let c1 = (c0 + 1).min(cols - 1);
    let fr = row - r0 as f32;
    let fc = col - c0 as f32;
    let top = plane[[r0, c0]] + (plane[[r0, c1]] - plane[[r0, c0]]) * fc;
    let bottom = plane[[r1, c0]] + (plane[[r1, c1]] - plane[[r1, c0]]) * fc;
    Some(top + (bottom - top) * fr)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn area_resize_preserves_mean_and_constant() {
        let src = Array2::from_shape_fn((37, 53), |(r, c)| (r * 3 + c) as f32);
        let out = area_resize(src.view(), 12, 17);
        let mean_in = src.mean().unwrap();
        let mean_out = out.mean().unwrap();
        assert!((mean_in - mean_out).abs() < 0.5, "{mean_in} vs {mean_out}");
        let flat = Array2::from_elem((30, 30), 7.0f32);
        assert!(
            area_resize(flat.view(), 11, 13)
                .iter()
                .all(|&v| (v - 7.0).abs() < 1e-4)
        );
        assert!(
            area_resize(flat.view(), 45, 60)
                .iter()
                .all(|&v| (v - 7.0).abs() < 1e-4)
        );
    }

    #[test]
    fn linear_taps_stay_in_range() {
        for &(src, dst) in &[(180usize, 1080usize), (180, 181), (61, 1920)] {
            let taps = linear_taps(src, dst, dst as f32 / src as f32);
            assert!(
                taps.iter().all(|&(lo, hi, w)| (hi as usize) < src
                    && lo <= hi
                    && (0.0..=1.0).contains(&w))
            );
        }
    }
}
