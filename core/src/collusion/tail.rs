//! Chernoff bounds on the upper tail of a score whose null distribution is known exactly
//! through its log moment-generating function K(lambda) = log E[exp(lambda * S)]:
//!
//! P(S >= s) <= min over lambda >= 0 of exp(K(lambda) - lambda * s).
//!
//! The bound holds for every distribution (Markov's inequality on exp(lambda * S)), so unlike
//! a Gaussian approximation it cannot be anti-conservative far out in the tail, where
//! accusations are decided; it overstates the true tail by a factor that grows only like the
//! square root of the exponent.

/// The null distribution of a score, known through its log-MGF.
pub trait NullScore {
    /// log E[exp(lambda * S)] for an innocent's score S (lambda >= 0).
    fn log_mgf(&self, lambda: f64) -> f64;
    /// The largest score anyone can reach (the tail is 0 above it).
    fn max_score(&self) -> f64;
}

/// Golden-section steps: the bracket shrinks by 0.618 per step, far below f64 noise at 80.
const MINIMISER_STEPS: usize = 80;

/// The Chernoff bound on P(S >= score) under `null`, in [0, 1].
pub fn tail(null: &impl NullScore, score: f64) -> f64 {
    if !score.is_finite() || score > null.max_score() {
        return if score.is_finite() || score > 0.0 {
            0.0
        } else {
            1.0
        };
    }
    // f(lambda) = K(lambda) - lambda * s is convex with f(0) = 0: bracket its minimum by
    // doubling lambda while f keeps falling, then narrow it by golden sections.
    let f = |lambda: f64| null.log_mgf(lambda) - lambda * score;
    let mut hi = 1e-3;
    let mut f_hi = f(hi);
    if f_hi.is_nan() || f_hi >= 0.0 {
        return 1.0;
    }
    let mut lo = 0.0;
    while hi < 1e9 {
        let next = 2.0 * hi;
        let f_next = f(next);
        if f_next.is_nan() || f_next >= f_hi {
            hi = next;
            break;
        }
        lo = hi / 2.0;
        hi = next;
        f_hi = f_next;
    }
    let ratio = (5f64.sqrt() - 1.0) / 2.0;
    let (mut a, mut b) = (lo, hi);
    let mut c = b - ratio * (b - a);
    let mut d = a + ratio * (b - a);
    let (mut fc, mut fd) = (f(c), f(d));
    for _ in 0..MINIMISER_STEPS {
        if fc < fd {
            b = d;
            d = c;
            fd = fc;
            c = b - ratio * (b - a);
            fc = f(c);
        } else {
            a = c;
            c = d;
            fc = fd;
            d = a + ratio * (b - a);
            fd = f(d);
        }
    }
    let best = fc.min(fd).min(f_hi).min(0.0);
    // Far tails underflow; the smallest positive double still says "not zero".
    best.exp().clamp(f64::MIN_POSITIVE, 1.0)
}

/// The smallest score whose bound is at most `alpha` (bisection: the bound falls as the score
/// grows). Above [`NullScore::max_score`] when no score reaches it.
pub fn score_for_tail(null: &impl NullScore, alpha: f64) -> f64 {
    let (mut lo, mut hi) = (0.0, null.max_score());
    if tail(null, hi) > alpha {
        return f64::INFINITY;
    }
    for _ in 0..60 {
        let mid = 0.5 * (lo + hi);
        if tail(null, mid) <= alpha {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    hi
}

#[cfg(test)]
mod tests {
    use super::*;

    /// n independent ±1 chips: K(lambda) = n log cosh(lambda).
    struct Rademacher(f64);

    impl NullScore for Rademacher {
        fn log_mgf(&self, lambda: f64) -> f64 {
            self.0 * lambda.cosh().ln()
        }
        fn max_score(&self) -> f64 {
            self.0
        }
    }

    #[test]
    fn bounds_the_exact_binomial_tail_closely() {
        let n = 200.0;
        let null = Rademacher(n);
        for s in [20.0, 60.0, 100.0, 140.0] {
            // P(S >= s) with S = 2 * Binomial(n, 1/2) - n.
            let k0 = ((s + n) / 2.0f64).ceil() as u64;
            let exact: f64 = (k0..=n as u64)
                .map(|k| (ln_choose(n as u64, k) - n * std::f64::consts::LN_2).exp())
                .sum();
            let bound = tail(&null, s);
            assert!(bound >= exact, "s {s}: bound {bound:e} < exact {exact:e}");
            assert!(
                bound <= 40.0 * exact.max(1e-300),
                "s {s}: {bound:e} vs {exact:e}"
            );
        }
        assert_eq!(tail(&null, -5.0), 1.0);
        assert_eq!(tail(&null, n + 1.0), 0.0);
        let s = score_for_tail(&null, 1e-9);
        assert!((tail(&null, s) - 1e-9).abs() < 1e-11, "{s}");
    }

    fn ln_choose(n: u64, k: u64) -> f64 {
        ln_factorial(n) - ln_factorial(k) - ln_factorial(n - k)
    }

    fn ln_factorial(n: u64) -> f64 {
        (1..=n).map(|i| (i as f64).ln()).sum()
    }
}
