//! The normal kernel: the standard normal quantile, tail probabilities accurate in relative
//! terms far out in either tail, and the truncated normal with its moments.

use std::f64::consts::SQRT_2;

use statrs::function::erf::{erfc, erfc_inv};

use super::{num, DistError, U_MAX};

/// Standard normal quantile. statrs' `erfc_inv` (Boost's rational
/// approximations) is accurate to about 1e-16 relative over the whole range.
#[inline]
pub(super) fn std_normal_quantile(p: f64) -> f64 {
    -SQRT_2 * erfc_inv(2.0 * p)
}

/// erfc(x) to about 1e-15 relative (1e-13 near x = 26).
///
/// statrs 0.18's `erfc` is only good to about 1e-10 relative, which is
/// enough to spoil truncated-normal moments in a tail, whereas its
/// `erfc_inv` is good to about 1e-16. One Newton step on
/// erfc_inv(y) = x from statrs' value fixes it; the remaining error is the
/// conditioning 2 x^2 eps of erfc itself. Used at construction, and per run by the copula.
fn erfc_refined(x: f64) -> f64 {
    let y = erfc(x);
    if !(y > 0.0 && y < 2.0) {
        return y;
    }
    let z = erfc_inv(y);
    y + (z - x) * std::f64::consts::FRAC_2_SQRT_PI * (-z * z).exp()
}

/// Standard normal lower tail Phi(z), accurate in relative terms for z < 0.
pub(super) fn std_normal_cdf(z: f64) -> f64 {
    0.5 * erfc_refined(-z / SQRT_2)
}

/// Standard normal upper tail 1 - Phi(z), accurate in relative terms for z > 0.
pub(super) fn std_normal_sf(z: f64) -> f64 {
    0.5 * erfc_refined(z / SQRT_2)
}

fn std_normal_pdf(z: f64) -> f64 {
    if z.is_infinite() {
        0.0
    } else {
        (-0.5 * z * z).exp() / (2.0 * std::f64::consts::PI).sqrt()
    }
}

/// A normal truncated to [lo, hi] (standard units), sampled as
/// Phi^-1(Phi(lo) + u (Phi(hi) - Phi(lo))).
///
/// When the whole interval lies right of the mean the upper tail Q = 1 - Phi
/// is used instead, so bounds far in either tail keep full relative
/// precision. Untruncated normals take the same path with base 0, mass 1.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct TruncNormal {
    mu: f64,
    sd: f64,
    /// Bounds in data units (±inf when absent).
    pub(super) min: f64,
    pub(super) max: f64,
    /// Work with the upper tail Q(z) rather than Phi(z).
    upper: bool,
    /// Phi(lo), or Q(lo) when `upper`.
    base: f64,
    /// Probability mass between the bounds.
    mass: f64,
    pub(super) mean: f64,
    pub(super) variance: f64,
}

impl TruncNormal {
    pub(super) fn new(
        mu: f64,
        sd: f64,
        min: Option<f64>,
        max: Option<f64>,
    ) -> Result<TruncNormal, DistError> {
        let lo = min.map_or(f64::NEG_INFINITY, |m| (m - mu) / sd);
        let hi = max.map_or(f64::INFINITY, |m| (m - mu) / sd);
        let upper = lo > 0.0;
        let (base, mass) = if upper {
            let qa = std_normal_sf(lo);
            (qa, qa - std_normal_sf(hi))
        } else {
            let pa = std_normal_cdf(lo);
            (pa, std_normal_cdf(hi) - pa)
        };
        // NaN-safe: a NaN mass is rejected too.
        if mass.is_nan() || mass < f64::MIN_POSITIVE {
            let (key, side) = if upper {
                ("min", "above")
            } else {
                ("max", "below")
            };
            let (zl, zh) = if upper { (lo, hi) } else { (-hi, -lo) };
            return Err(DistError::new(
                key,
                format!(
                    "the bounds [{}, {}] leave no probability mass: they lie {} to {} sd {side} \
                     the mean {}; move them toward the mean or increase sd",
                    num(min.unwrap_or(f64::NEG_INFINITY)),
                    num(max.unwrap_or(f64::INFINITY)),
                    num(zl),
                    num(zh),
                    num(mu)
                ),
            ));
        }
        let (m, v) = trunc_std_moments(lo, hi, mass);
        let min_x = min.unwrap_or(f64::NEG_INFINITY);
        let max_x = max.unwrap_or(f64::INFINITY);
        Ok(TruncNormal {
            mu,
            sd,
            min: min_x,
            max: max_x,
            upper,
            base,
            mass,
            mean: (mu + sd * m).clamp(min_x, max_x),
            variance: (sd * sd * v).max(0.0),
        })
    }

    #[inline]
    pub(super) fn quantile(&self, u: f64) -> f64 {
        let z = if self.upper {
            let t = (self.base - u * self.mass).max(f64::MIN_POSITIVE);
            SQRT_2 * erfc_inv(2.0 * t)
        } else {
            let p = (self.base + u * self.mass).clamp(f64::MIN_POSITIVE, U_MAX);
            std_normal_quantile(p)
        };
        (self.mu + self.sd * z).clamp(self.min, self.max)
    }
}

/// Mean and variance of a standard normal truncated to [a, b], given the
/// mass between them.
///
/// The textbook variance 1 + (a phi(a) - b phi(b))/Z - m^2 cancels
/// catastrophically in the tails (each term ~a^2, the result ~1/a^2), so it
/// is rewritten around the bound nearer the mean, which leaves O(1) terms:
/// var = 1 - m (m - a) - (b - a) phi(b)/Z. Intervals narrower than 0.05 sd,
/// where even that loses digits, are integrated numerically instead.
fn trunc_std_moments(a: f64, b: f64, mass: f64) -> (f64, f64) {
    if a == f64::NEG_INFINITY && b == f64::INFINITY {
        return (0.0, 1.0);
    }
    if b - a < 0.05 {
        return narrow_trunc_moments(a, b);
    }
    let ra = std_normal_pdf(a) / mass;
    let rb = std_normal_pdf(b) / mass;
    let m = ra - rb;
    let var = if a.abs() <= b.abs() {
        // a is finite here.
        let tail = if b.is_finite() { (b - a) * rb } else { 0.0 };
        1.0 - m * (m - a) - tail
    } else {
        let tail = if a.is_finite() { (b - a) * ra } else { 0.0 };
        1.0 - m * (m - b) - tail
    };
    (m, var.max(0.0))
}

/// Moments of a standard normal truncated to a narrow [a, b] (b - a < 0.05)
/// by composite Simpson on t = z - c, c the midpoint: the density there is
/// exp(-c t - t^2/2) up to a constant, smooth and nearly flat, so 64 panels
/// give about 1e-9 relative accuracy.
fn narrow_trunc_moments(a: f64, b: f64) -> (f64, f64) {
    let c = 0.5 * (a + b);
    let h = 0.5 * (b - a);
    const PANELS: usize = 64;
    let dt = 2.0 * h / PANELS as f64;
    let (mut m0, mut m1, mut m2) = (0.0, 0.0, 0.0);
    for i in 0..=PANELS {
        let t = -h + dt * i as f64;
        let w = if i == 0 || i == PANELS {
            1.0
        } else if i % 2 == 1 {
            4.0
        } else {
            2.0
        };
        let g = w * (-c * t - 0.5 * t * t).exp();
        m0 += g;
        m1 += g * t;
        m2 += g * t * t;
    }
    let mt = m1 / m0;
    (c + mt, (m2 / m0 - mt * mt).max(0.0))
}
