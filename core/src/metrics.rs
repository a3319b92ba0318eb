//! Image-quality metrics (PSNR and SSIM) on luma planes.
//!
//! Filigree embeds its watermark in luma only, so imperceptibility is measured on luma only:
//! chroma is never touched and would only dilute the numbers. Both metrics take the plane's
//! bit depth (8 for `u8`, 9 to 16 for `u16`, e.g. 10-bit video) so that the peak value
//! `2^bit_depth - 1` matches the content. These numbers are *reported* by tests and tools so
//! the watermark's visual cost is measured on real content, never assumed from the strength
//! setting.
//!
//! Shape mismatches and bit depths that do not fit the sample type are programmer errors
//! and panic.

use ndarray::ArrayView2;

use crate::plane::{Sample, max_code_value};

/// Side of the SSIM Gaussian window (Wang et al. 2004).
const WINDOW: usize = 11;
/// Standard deviation of the SSIM Gaussian window, in pixels.
const SIGMA: f64 = 1.5;
/// SSIM stabilising constants: `C1 = (K1 L)^2`, `C2 = (K2 L)^2`.
const K1: f64 = 0.01;
const K2: f64 = 0.03;

/// Largest code value for `bit_depth`, panicking if it does not fit `S`.
fn peak<S: Sample>(bit_depth: u8) -> f64 {
    match max_code_value::<S>(bit_depth) {
        Ok(max) => f64::from(max),
        Err(err) => panic!("{err}"),
    }
}

fn check_planes<S>(reference: &ArrayView2<S>, distorted: &ArrayView2<S>, metric: &str) {
    assert_eq!(
        reference.dim(),
        distorted.dim(),
        "{metric}: reference and distorted planes must have the same (rows, columns)"
    );
    assert!(!reference.is_empty(), "{metric}: planes must not be empty");
}

/// Peak signal-to-noise ratio in dB, with peak `2^bit_depth - 1`.
///
/// Returns `f64::INFINITY` when the planes are identical.
///
/// # Panics
/// If the shapes differ, a plane is empty, or `bit_depth` does not fit `S`.
pub fn psnr<S: Sample>(reference: ArrayView2<S>, distorted: ArrayView2<S>, bit_depth: u8) -> f64 {
    check_planes(&reference, &distorted, "psnr");
    let peak = peak::<S>(bit_depth);
    let sse: f64 = reference
        .iter()
        .zip(distorted.iter())
        .map(|(&a, &b)| {
            let d = f64::from(a.to_f32()) - f64::from(b.to_f32());
            d * d
        })
        .sum();
    if sse == 0.0 {
        return f64::INFINITY;
    }
    let mse = sse / reference.len() as f64;
    10.0 * (peak * peak / mse).log10()
}

/// Normalised 1-D Gaussian window of `len` taps (σ = 1.5), centred on the middle of the taps.
fn gaussian_window(len: usize) -> Vec<f64> {
    let centre = (len as f64 - 1.0) / 2.0;
    let mut taps: Vec<f64> = (0..len)
        .map(|i| {
            let x = i as f64 - centre;
            (-x * x / (2.0 * SIGMA * SIGMA)).exp()
        })
        .collect();
    let sum: f64 = taps.iter().sum();
    taps.iter_mut().for_each(|t| *t /= sum);
    taps
}

/// Mean structural similarity (Wang, Bovik, Sheikh & Simoncelli 2004).
///
/// 11x11 Gaussian window with σ = 1.5, `K1 = 0.01`, `K2 = 0.03`, `L = 2^bit_depth - 1`,
/// weighted (population) local statistics as in the reference MATLAB code, no downsampling.
/// The result is the mean of the SSIM map over the "valid" region, i.e. the positions where
/// the whole window fits inside the plane. If the plane is narrower or shorter than 11
/// pixels, the window is clipped to the plane in that dimension: it becomes the `n`-tap
/// Gaussian (same σ, renormalised) centred on the plane, and the map has a single position
/// in that dimension.
///
/// Filtering is separable and streams through the plane with an 11-row ring buffer, all in
/// `f64`.
///
/// # Panics
/// If the shapes differ, a plane is empty, or `bit_depth` does not fit `S`.
pub fn ssim<S: Sample>(reference: ArrayView2<S>, distorted: ArrayView2<S>, bit_depth: u8) -> f64 {
    check_planes(&reference, &distorted, "ssim");
    let peak = peak::<S>(bit_depth);
    let c1 = (K1 * peak) * (K1 * peak);
    let c2 = (K2 * peak) * (K2 * peak);

    let (height, width) = reference.dim();
    let horizontal = gaussian_window(width.min(WINDOW));
    let vertical = gaussian_window(height.min(WINDOW));
    let (kw, kh) = (horizontal.len(), vertical.len());
    let out_w = width - kw + 1;
    let out_h = height - kh + 1;

    // Five moment planes per row: x, y, x², y², xy.
    const MOMENTS: usize = 5;
    let mut inputs = vec![0.0f64; MOMENTS * width];
    // Horizontally filtered moments of the last `kh` rows.
    let mut ring = vec![0.0f64; kh * MOMENTS * out_w];
    // Fully filtered moments of one output row.
    let mut local = vec![0.0f64; MOMENTS * out_w];
    let mut total = 0.0f64;

    for (i, (ref_row, dis_row)) in reference
        .rows()
        .into_iter()
        .zip(distorted.rows())
        .enumerate()
    {
        for (j, (&a, &b)) in ref_row.iter().zip(dis_row.iter()).enumerate() {
            let (x, y) = (f64::from(a.to_f32()), f64::from(b.to_f32()));
            inputs[j] = x;
            inputs[width + j] = y;
            inputs[2 * width + j] = x * x;
            inputs[3 * width + j] = y * y;
            inputs[4 * width + j] = x * y;
        }

        let slot = &mut ring[(i % kh) * MOMENTS * out_w..][..MOMENTS * out_w];
        for (out, src) in slot.chunks_exact_mut(out_w).zip(inputs.chunks_exact(width)) {
            out.fill(0.0);
            for (k, &g) in horizontal.iter().enumerate() {
                for (o, &s) in out.iter_mut().zip(&src[k..k + out_w]) {
                    *o += g * s;
                }
            }
        }

        if i + 1 < kh {
            continue;
        }
        let top = i + 1 - kh;
        local.fill(0.0);
        for (t, &g) in vertical.iter().enumerate() {
            let src = &ring[((top + t) % kh) * MOMENTS * out_w..][..MOMENTS * out_w];
            for (o, &s) in local.iter_mut().zip(src) {
                *o += g * s;
            }
        }

        let (mu_x, rest) = local.split_at(out_w);
        let (mu_y, rest) = rest.split_at(out_w);
        let (e_xx, rest) = rest.split_at(out_w);
        let (e_yy, e_xy) = rest.split_at(out_w);
        for o in 0..out_w {
            let (mx, my) = (mu_x[o], mu_y[o]);
            let var_x = e_xx[o] - mx * mx;
            let var_y = e_yy[o] - my * my;
            let cov = e_xy[o] - mx * my;
            total += ((2.0 * mx * my + c1) * (2.0 * cov + c2))
                / ((mx * mx + my * my + c1) * (var_x + var_y + c2));
        }
    }

    total / (out_h * out_w) as f64
}

/// Running per-frame quality statistics for a video.
///
/// `mean_psnr` is the mean of the per-frame PSNR values (not PSNR of the pooled MSE).
/// Identical frames (infinite PSNR) count in `frames` and `min_psnr` but are left out of the
/// PSNR mean, so one untouched frame cannot make the mean infinite; if every frame is
/// identical the mean is infinite. All getters return `NaN` before the first frame is added.
#[derive(Debug, Clone, Default)]
pub struct QualityStats {
    frames: usize,
    finite_psnr_frames: usize,
    psnr_sum: f64,
    min_psnr: f64,
    ssim_sum: f64,
    min_ssim: f64,
}

impl QualityStats {
    /// Records one frame's PSNR (dB, may be infinite) and SSIM.
    pub fn add(&mut self, psnr: f64, ssim: f64) {
        if self.frames == 0 {
            self.min_psnr = psnr;
            self.min_ssim = ssim;
        } else {
            self.min_psnr = self.min_psnr.min(psnr);
            self.min_ssim = self.min_ssim.min(ssim);
        }
        self.frames += 1;
        if psnr.is_finite() {
            self.finite_psnr_frames += 1;
            self.psnr_sum += psnr;
        }
        self.ssim_sum += ssim;
    }

    /// Number of frames recorded.
    pub fn frames(&self) -> usize {
        self.frames
    }

    /// Mean of the finite per-frame PSNR values; infinite if every frame was identical.
    pub fn mean_psnr(&self) -> f64 {
        match (self.frames, self.finite_psnr_frames) {
            (0, _) => f64::NAN,
            (_, 0) => f64::INFINITY,
            (_, n) => self.psnr_sum / n as f64,
        }
    }

    /// Lowest per-frame PSNR (the worst frame).
    pub fn min_psnr(&self) -> f64 {
        if self.frames == 0 {
            f64::NAN
        } else {
            self.min_psnr
        }
    }

    /// Mean per-frame SSIM.
    pub fn mean_ssim(&self) -> f64 {
        if self.frames == 0 {
            f64::NAN
        } else {
            self.ssim_sum / self.frames as f64
        }
    }

    /// Lowest per-frame SSIM (the worst frame).
    pub fn min_ssim(&self) -> f64 {
        if self.frames == 0 {
            f64::NAN
        } else {
            self.min_ssim
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{Array2, s};

    const ASTRONAUT: &str = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../testdata/stills/astronaut.png"
    );

    fn astronaut() -> Array2<u8> {
        let img = image::open(ASTRONAUT)
            .unwrap_or_else(|e| panic!("cannot open {ASTRONAUT}: {e}"))
            .to_luma8();
        let (w, h) = img.dimensions();
        Array2::from_shape_vec((h as usize, w as usize), img.into_raw()).unwrap()
    }

    /// Deterministic uniform noise in `[-amplitude, amplitude]`, clamped to 8-bit.
    fn add_noise(plane: &Array2<u8>, amplitude: f64, seed: u64) -> Array2<u8> {
        let mut state = seed;
        plane.mapv(|v| {
            // splitmix64
            state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = state;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^= z >> 31;
            let u = (z >> 11) as f64 / (1u64 << 53) as f64; // [0, 1)
            (f64::from(v) + amplitude * (2.0 * u - 1.0))
                .round()
                .clamp(0.0, 255.0) as u8
        })
    }

    /// Direct (non-separable) SSIM: explicit 2-D Gaussian window at every valid position.
    fn ssim_reference(x: ArrayView2<u8>, y: ArrayView2<u8>, peak: f64) -> f64 {
        let (h, w) = x.dim();
        let (kh, kw) = (h.min(WINDOW), w.min(WINDOW));
        let (ch, cw) = ((kh as f64 - 1.0) / 2.0, (kw as f64 - 1.0) / 2.0);
        let mut window = Array2::<f64>::zeros((kh, kw));
        for ((a, b), g) in window.indexed_iter_mut() {
            let (dy, dx) = (a as f64 - ch, b as f64 - cw);
            *g = (-(dx * dx + dy * dy) / (2.0 * SIGMA * SIGMA)).exp();
        }
        let norm = window.sum();
        window /= norm;
        let (c1, c2) = ((K1 * peak).powi(2), (K2 * peak).powi(2));
        let mut total = 0.0;
        let mut count = 0usize;
        for r in 0..=h - kh {
            for c in 0..=w - kw {
                let (mut mx, mut my, mut exx, mut eyy, mut exy) = (0.0, 0.0, 0.0, 0.0, 0.0);
                for a in 0..kh {
                    for b in 0..kw {
                        let g = window[[a, b]];
                        let p = f64::from(x[[r + a, c + b]]);
                        let q = f64::from(y[[r + a, c + b]]);
                        mx += g * p;
                        my += g * q;
                        exx += g * p * p;
                        eyy += g * q * q;
                        exy += g * p * q;
                    }
                }
                let (vx, vy, cov) = (exx - mx * mx, eyy - my * my, exy - mx * my);
                total += ((2.0 * mx * my + c1) * (2.0 * cov + c2))
                    / ((mx * mx + my * my + c1) * (vx + vy + c2));
                count += 1;
            }
        }
        total / count as f64
    }

    #[test]
    fn identical_planes() {
        let img = astronaut();
        assert_eq!(psnr(img.view(), img.view(), 8), f64::INFINITY);
        assert!((ssim(img.view(), img.view(), 8) - 1.0).abs() < 1e-12);
    }

    #[test]
    fn psnr_of_known_mse() {
        let reference = astronaut().mapv(|v| v.min(253));
        let distorted = reference.mapv(|v| v + 2);
        let expected = 10.0 * (255.0f64 * 255.0 / 4.0).log10();
        let got = psnr(reference.view(), distorted.view(), 8);
        assert!(
            (got - expected).abs() < 1e-9,
            "got {got}, expected {expected}"
        );
    }

    #[test]
    fn ssim_decreases_with_noise() {
        let img = astronaut();
        let scores: Vec<f64> = [4.0, 16.0, 48.0]
            .iter()
            .map(|&amp| ssim(img.view(), add_noise(&img, amp, 7).view(), 8))
            .collect();
        for s in &scores {
            assert!(*s > 0.0 && *s < 1.0, "ssim {s} out of (0, 1)");
        }
        assert!(scores[0] > scores[1] && scores[1] > scores[2], "{scores:?}");
    }

    #[test]
    fn ten_bit_matches_eight_bit() {
        // Scaling content and distortion by 4 multiplies the MSE by 16 exactly, but the
        // 10-bit peak is 1023, not 4 * 255 = 1020, so the PSNRs differ by exactly
        // 20 log10(1023 / 1020) ≈ 0.0255 dB.
        let ref8 = astronaut();
        let dis8 = add_noise(&ref8, 10.0, 3);
        let ref10 = ref8.mapv(|v| u16::from(v) * 4);
        let dis10 = dis8.mapv(|v| u16::from(v) * 4);
        let p8 = psnr(ref8.view(), dis8.view(), 8);
        let p10 = psnr(ref10.view(), dis10.view(), 10);
        let offset = 20.0 * (1023.0f64 / 1020.0).log10();
        assert!(
            (p10 - p8 - offset).abs() < 1e-9,
            "8-bit {p8} dB, 10-bit {p10} dB"
        );
        assert!((p10 - p8).abs() < 0.03);
    }

    #[test]
    fn separable_ssim_matches_direct_reference() {
        let img = astronaut();
        let noisy = add_noise(&img, 20.0, 11);
        // 32 rows x 40 columns from a textured area.
        let window = s![200..232, 180..220];
        let (x, y) = (img.slice(window), noisy.slice(window));
        let fast = ssim(x, y, 8);
        let slow = ssim_reference(x, y, 255.0);
        assert!(
            (fast - slow).abs() < 1e-6,
            "separable {fast}, direct {slow}"
        );
        // Planes smaller than the window in one or both dimensions (clipped window).
        for (rows, cols) in [(6, 40), (32, 7), (5, 4)] {
            let window = s![200..200 + rows, 180..180 + cols];
            let (x, y) = (img.slice(window), noisy.slice(window));
            let fast = ssim(x, y, 8);
            let slow = ssim_reference(x, y, 255.0);
            assert!(
                (fast - slow).abs() < 1e-6,
                "{rows}x{cols}: {fast} vs {slow}"
            );
        }
    }

    #[test]
    #[should_panic(expected = "same (rows, columns)")]
    fn shape_mismatch_panics() {
        let a = Array2::<u8>::zeros((16, 16));
        let b = Array2::<u8>::zeros((16, 17));
        psnr(a.view(), b.view(), 8);
    }

    #[test]
    #[should_panic(expected = "bit depth 10")]
    fn bit_depth_must_fit_sample() {
        let a = Array2::<u8>::zeros((16, 16));
        ssim(a.view(), a.view(), 10);
    }

    #[test]
    fn quality_stats() {
        let mut stats = QualityStats::default();
        assert_eq!(stats.frames(), 0);
        assert!(stats.mean_psnr().is_nan());
        stats.add(f64::INFINITY, 1.0);
        assert_eq!(stats.mean_psnr(), f64::INFINITY);
        stats.add(40.0, 0.98);
        stats.add(44.0, 0.96);
        assert_eq!(stats.frames(), 3);
        assert_eq!(stats.mean_psnr(), 42.0);
        assert_eq!(stats.min_psnr(), 40.0);
        assert!((stats.mean_ssim() - 2.94 / 3.0).abs() < 1e-12);
        assert_eq!(stats.min_ssim(), 0.96);
    }
}
