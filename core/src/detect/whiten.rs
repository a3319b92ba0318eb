//! Whitening of suspect frames before correlation.
//!
//! The host picture is the noise the detector fights, and most of its energy is at low
//! frequencies where neighbouring pixels predict each other. Subtracting a local prediction
//! (a smooth blur) leaves a residual in which the mark is far more visible; dividing by the
//! local residual energy then stops edges and heavy texture from dominating the sum.

use ndarray::{Array2, Zip};

/// Radius of the prediction blur (intermediate pixels, applied twice: a triangle kernel).
const PREDICTION_RADIUS: usize = 3;
/// Radius of the window that measures local residual energy.
const ENERGY_RADIUS: usize = 8;
/// Floor of the local energy (8-bit code values squared): flat or black areas carry little
/// mark, so they must not be amplified into noise.
const ENERGY_FLOOR: f32 = 1.0;
/// Residuals beyond this many local standard deviations are clipped (edges, captions).
const CLIP: f32 = 3.0;

/// Whitened, locally normalised residual of `plane` (8-bit code value scale).
pub(super) fn whiten(plane: &Array2<f32>) -> Array2<f32> {
    let prediction = box_blur(&box_blur(plane, PREDICTION_RADIUS), PREDICTION_RADIUS);
    let residual = plane - &prediction;
    let energy = box_blur(&residual.mapv(|v| v * v), ENERGY_RADIUS);
    Zip::from(&residual)
        .and(&energy)
        .map_collect(|&r, &e| (r / (e.max(0.0) + ENERGY_FLOOR).sqrt()).clamp(-CLIP, CLIP))
}

/// Separable box mean with edge replication, O(1) per pixel via running sums.
fn box_blur(plane: &Array2<f32>, radius: usize) -> Array2<f32> {
    let (rows, cols) = plane.dim();
    let mut horizontal = Array2::<f32>::zeros((rows, cols));
    let mut line = Vec::new();
    for r in 0..rows {
        line.clear();
        line.extend(plane.row(r).iter().copied());
        let out = horizontal.row_mut(r);
        running_mean(&line, radius, out.into_slice().expect("standard layout"));
    }
    let mut out = Array2::<f32>::zeros((rows, cols));
    let mut column_out = vec![0.0f32; rows];
    for c in 0..cols {
        line.clear();
        line.extend(horizontal.column(c).iter().copied());
        running_mean(&line, radius, &mut column_out);
        out.column_mut(c)
            .iter_mut()
            .zip(&column_out)
            .for_each(|(o, &v)| *o = v);
    }
    out
}

fn running_mean(input: &[f32], radius: usize, out: &mut [f32]) {
    let n = input.len() as isize;
    let at = |i: isize| input[i.clamp(0, n - 1) as usize] as f64;
    let width = (2 * radius + 1) as f64;
    let r = radius as isize;
    let mut sum: f64 = (-r..=r).map(at).sum();
    for i in 0..n {
        out[i as usize] = (sum / width) as f32;
        sum += at(i + r + 1) - at(i - r);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn smooth_content_is_removed_and_fine_detail_kept() {
        let ramp = Array2::from_shape_fn((60, 80), |(r, c)| (r + 2 * c) as f32);
        let w = whiten(&ramp);
        // Interior of a linear ramp is perfectly predicted.
        assert!(
            w.slice(ndarray::s![10..50, 10..70])
                .iter()
                .all(|v| v.abs() < 1e-3)
        );
        let checker = Array2::from_shape_fn((60, 80), |(r, c)| {
            if (r / 2 + c / 2) % 2 == 0 {
                100.0
            } else {
                110.0
            }
        });
        let w = whiten(&checker);
        assert!(w.iter().map(|v| v.abs()).sum::<f32>() / w.len() as f32 > 0.5);
        assert!(w.iter().all(|v| v.abs() <= CLIP));
    }
}
