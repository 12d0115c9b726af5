//! The beta/PERT kernel: a quantile table per pair of shapes, built once when the
//! distribution is, so that each sample is a table lookup and (almost always) one Newton step.

use std::fmt;

use statrs::function::beta::{checked_beta_reg, ln_beta};

/// Beta shapes of a PERT: alpha = 1 + lambda (mode - min) / (max - min),
/// beta = 1 + lambda (max - mode) / (max - min).
pub(super) fn pert_shapes(min: f64, mode: f64, max: f64, lambda: f64) -> (f64, f64) {
    let width = max - min;
    (
        1.0 + lambda * (mode - min) / width,
        1.0 + lambda * (max - mode) / width,
    )
}

/// Intervals per half of the quantile table (4096 over the whole of (0, 1)).
const HALF_INTERVALS: usize = 2048;
/// Spacing in `v` of the knots (v = u below the median, 1 - u above).
const DV: f64 = 0.5 / HALF_INTERVALS as f64;
/// Safety cap on iterations; the typical sample needs one, the tails a few.
const MAX_ITER: usize = 100;

/// Quantile table of Beta(a, b) on [0, 1].
///
/// Each half is solved in the variable that keeps precision in its tail:
/// below the median x with I_x(a, b) = u; above it y = 1 - x with
/// I_y(b, a) = 1 - u. (statrs' `beta_reg` rounds x within 2^-52 of 1 to 1,
/// and 1 - u is exact for u >= 0.5.) Sampling interpolates the table with
/// cubic Hermite (knot slopes dx/dv = 1/pdf), then refines with safeguarded
/// Newton on ln I(x) against ln x, which is exact for the power-law tails.
#[derive(Clone, PartialEq)]
pub(super) struct BetaTable {
    lower: HalfTable,
    upper: HalfTable,
}

impl fmt::Debug for BetaTable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BetaTable")
            .field("alpha", &self.lower.a)
            .field("beta", &self.lower.b)
            .field("knots", &(self.lower.x.len() + self.upper.x.len()))
            .finish()
    }
}

impl BetaTable {
    pub(super) fn new(alpha: f64, beta: f64) -> BetaTable {
        let lb = ln_beta(alpha, beta);
        BetaTable {
            lower: HalfTable::new(alpha, beta, lb),
            upper: HalfTable::new(beta, alpha, lb),
        }
    }

    /// (alpha, beta) of the distribution on [0, 1].
    pub(super) fn shapes(&self) -> (f64, f64) {
        (self.lower.a, self.lower.b)
    }

    /// Returns (false, x) with x the quantile for u <= 0.5, or (true, 1 - x)
    /// for u > 0.5.
    #[inline]
    pub(super) fn quantile_unit(&self, u: f64) -> (bool, f64) {
        if u <= 0.5 {
            (false, self.lower.solve(u))
        } else {
            (true, self.upper.solve(1.0 - u))
        }
    }
}

/// Quantiles x(v) of Beta(a, b) for v in [0, 0.5] at knots v_k = k DV.
#[derive(Clone, PartialEq)]
struct HalfTable {
    a: f64,
    b: f64,
    ln_beta: f64,
    /// ln a + ln B(a, b), for the tail start x ~ (v a B)^(1/a).
    ln_a_beta: f64,
    /// x[k] = quantile at v = k DV; x[0] = 0.
    x: Box<[f64]>,
    /// DV * dx/dv at each knot (Hermite slopes).
    m: Box<[f64]>,
}

impl HalfTable {
    fn new(a: f64, b: f64, ln_beta: f64) -> HalfTable {
        let mut t = HalfTable {
            a,
            b,
            ln_beta,
            ln_a_beta: a.ln() + ln_beta,
            x: vec![0.0; HALF_INTERVALS + 1].into_boxed_slice(),
            m: vec![0.0; HALF_INTERVALS + 1].into_boxed_slice(),
        };
        let mut prev_x = 0.0;
        let mut prev_e = a;
        for k in 1..=HALF_INTERVALS {
            let v = k as f64 * DV;
            // Start from the previous knot moved along the local power law
            // x ~ v^(1/e), e = d ln I / d ln x.
            let start = if k == 1 || prev_x <= 0.0 {
                t.tail_start(v)
            } else {
                prev_x * ((k as f64 / (k - 1) as f64).ln() / prev_e).exp()
            };
            // A start that underflows means the root does too.
            let x = if start <= 0.0 {
                0.0
            } else {
                t.refine(v, v.ln(), prev_x, 1.0, start)
            }
            .max(prev_x);
            let pdf = t.pdf(x);
            t.x[k] = x;
            t.m[k] = if pdf.is_finite() && pdf > 0.0 {
                DV / pdf
            } else {
                0.0
            };
            let e = x * pdf / v;
            if e.is_finite() && e > 0.0 {
                prev_e = e;
            }
            prev_x = x;
        }
        t
    }

    fn pdf(&self, x: f64) -> f64 {
        if x <= 0.0 || x >= 1.0 {
            return 0.0;
        }
        ((self.a - 1.0) * x.ln() + (self.b - 1.0) * (-x).ln_1p() - self.ln_beta).exp()
    }

    /// Leading terms of the lower-tail inversion: with w = (v a B)^(1/a),
    /// x = w (1 + (b - 1) w / (a + 1) + ...). Returns 0 when x underflows.
    fn tail_start(&self, v: f64) -> f64 {
        let ln_w = (v.ln() + self.ln_a_beta) / self.a;
        if ln_w < -700.0 {
            return 0.0;
        }
        let w = ln_w.exp().min(1.0);
        (w * (1.0 + (self.b - 1.0) * w / (self.a + 1.0))).min(1.0)
    }

    /// x with I_x(a, b) = v, for v in (0, 0.5].
    #[inline]
    fn solve(&self, v: f64) -> f64 {
        let t = v / DV;
        // t > 0 since v >= U_MIN; the cast truncates toward zero.
        let k = (t as usize).min(HALF_INTERVALS - 1);
        let lo = self.x[k];
        let hi = self.x[k + 1];
        if hi <= 0.0 {
            return 0.0;
        }
        let start = if k == 0 {
            let s = self.tail_start(v);
            if s <= 0.0 {
                return 0.0;
            }
            s
        } else {
            let s = t - k as f64;
            let s1 = 1.0 - s;
            let h00 = (1.0 + 2.0 * s) * s1 * s1;
            let h10 = s * s1 * s1;
            let h01 = s * s * (3.0 - 2.0 * s);
            let h11 = -s * s * s1;
            h00 * lo + h10 * self.m[k] + h01 * hi + h11 * self.m[k + 1]
        };
        self.refine(v, v.ln(), lo, hi, start)
    }

    /// Safeguarded Newton on g(s) = ln I(e^s) - ln v, s = ln x, within the
    /// bracket [lo, hi], falling back to bisection (geometric when lo > 0)
    /// whenever a step leaves it.
    ///
    /// Newton's error after a step d is K d^2 with K = g''/(2 g') =
    /// (a - (b - 1) x/(1 - x) - e)/2, e = g' the elasticity; it returns as
    /// soon as that predicts an error below half an ulp of min(x, 1 - x), so
    /// the result is at machine precision without a confirming evaluation.
    /// Near x = 1 this is what forces convergence in 1 - x rather than in
    /// ln x. Gives up after [`MAX_ITER`] iterations.
    fn refine(&self, v: f64, ln_v: f64, mut lo: f64, mut hi: f64, start: f64) -> f64 {
        let (a, b) = (self.a, self.b);
        let mut x = if start > 0.0 && start >= lo && start <= hi {
            start
        } else {
            bisect(lo, hi)
        };
        for _ in 0..MAX_ITER {
            let cdf = match checked_beta_reg(a, b, x) {
                Ok(f) => f,
                Err(_) => return x.clamp(lo, hi),
            };
            if cdf <= 0.0 {
                // Below the representable tail: the root is larger.
                lo = x;
                x = bisect(lo, hi);
                continue;
            }
            if cdf > v {
                hi = x;
            } else {
                lo = x;
            }
            let ln_x = x.ln();
            let ln_cdf = cdf.ln();
            // Elasticity d ln I / d ln x = x pdf(x) / I(x).
            let elasticity = (a * ln_x + (b - 1.0) * (-x).ln_1p() - self.ln_beta - ln_cdf).exp();
            let step = (ln_cdf - ln_v) / elasticity;
            // exp(ln x - step), to first order when that is exact enough
            // (error x step^2 / 2, and later steps correct it anyway).
            let next = if step.abs() <= 1e-3 {
                x - x * step
            } else {
                (ln_x - step).exp()
            };
            // +0.5 for the first-order exp above.
            let k = 0.5 * (a - (b - 1.0) * x / (1.0 - x) - elasticity).abs() + 0.5;
            let scale = if x <= 0.5 { 1.0 } else { (1.0 - x) / x };
            if k * step * step <= 0.5 * f64::EPSILON * scale {
                return next.clamp(lo, hi);
            }
            x = if next > lo && next < hi {
                next
            } else {
                bisect(lo, hi)
            };
            if x.is_nan() || x <= 0.0 || lo == hi {
                return x.clamp(lo, hi);
            }
        }
        x
    }
}

/// Midpoint of a bracket, geometric when it spans orders of magnitude.
fn bisect(lo: f64, hi: f64) -> f64 {
    if lo > 0.0 && hi > 4.0 * lo {
        lo.sqrt() * hi.sqrt()
    } else {
        0.5 * (lo + hi)
    }
}
