//! Null-hypothesis statistics for calibrated false-positive probabilities.

use std::f64::consts::SQRT_2;

/// Upper tail of the standard normal: P(Z > z).
pub(super) fn normal_tail(z: f64) -> f64 {
    0.5 * libm::erfc(z / SQRT_2)
}

/// P(max of `trials` independent standard normals > z) = 1 - (1 - Q(z))^trials, computed
/// without cancellation for tiny Q. Correlated trials (neighbouring shifts and scales) make
/// the true value smaller, so this is a conservative bound.
pub(super) fn max_tail(z: f64, trials: f64) -> f64 {
    let q = normal_tail(z);
    -(trials * (-q).ln_1p()).exp_m1()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_values() {
        assert!((normal_tail(0.0) - 0.5).abs() < 1e-12);
        assert!((normal_tail(1.959_963_985) - 0.025).abs() < 1e-9);
        assert!((normal_tail(6.0) - 9.865_876_450_377e-10).abs() < 1e-18);
        assert!((max_tail(6.0, 1.0) - normal_tail(6.0)).abs() < 1e-20);
        let m = 1.0e6;
        // Second-order: 1 - (1 - q)^m = mq - (mq)^2 / 2 + ...
        let mq = m * normal_tail(6.0);
        assert!((max_tail(6.0, m) - (mq - mq * mq / 2.0)).abs() < 1e-3 * mq * mq);
        assert!(max_tail(0.0, 1e6) > 0.999_999);
    }
}
