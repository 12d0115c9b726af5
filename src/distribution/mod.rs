//! Probability distributions for the uncertain parameters of a scenario.
//!
//! Every uncertain parameter is drawn by inverse transform from a single
//! uniform number `u` in (0, 1): [`Distribution::quantile`]. Keeping one `u`
//! per parameter is what lets Latin hypercube sampling, tornado and Sobol
//! sensitivity analysis and common random numbers work the same way for every
//! kind of distribution: they only ever manipulate the `u`s.
//!
//! A [`Distribution`] is built once from a [`Spec`] (the parameters exactly as
//! the scenario file states them), validated, and then carries whatever
//! precomputed data makes `quantile` cheap: cumulative weights, truncation
//! constants, or a quantile table for the beta family.
//!
//! The numerical kernels live beside this file, away from the API they serve: `normal.rs`
//! (standard normal functions accurate in the far tails, the truncated normal) and `beta.rs`
//! (the beta/PERT quantile table and its Newton refinement).

mod beta;
pub mod copula;
mod normal;

use std::fmt;
use std::sync::Arc;

use beta::{pert_shapes, BetaTable};
use normal::{std_normal_quantile, TruncNormal};

/// Smallest `u` that [`Distribution::quantile`] uses; smaller inputs are
/// clamped up to it.
///
/// It is 2^-53, the resolution of a uniform double just below 1, so the
/// clamping is symmetric in the two tails (a standard normal then spans
/// about ±8.2 sd) and no quantile is ever infinite.
pub const U_MIN: f64 = f64::EPSILON / 2.0;

/// Largest `u` that [`Distribution::quantile`] uses: the largest double below 1.
pub const U_MAX: f64 = 1.0 - f64::EPSILON / 2.0;

#[inline(always)]
fn uniform_at(u: f64, min: f64, max: f64, width: f64) -> f64 {
    (min + u * width).min(max)
}

/// The triangular quantile from `[min, mode, max, split, left, right]`: both sides, then a
/// select, so that a batch of quantiles has no branch on which side each `u` fell.
#[inline(always)]
fn triangular_at(u: f64, [min, mode, max, split, left, right]: [f64; 6]) -> f64 {
    let below = (min + (u * left).sqrt()).min(mode);
    let above = (max - ((1.0 - u) * right).sqrt()).max(mode);
    if u < split {
        below
    } else {
        above
    }
}

/// [`triangular_at`] of four `u`s, a step at a time, so that each step is one vector
/// instruction: the same operations, so the same bits.
#[inline(always)]
fn triangular_lanes(u: [f64; 4], [min, mode, max, split, left, right]: [f64; 6]) -> [f64; 4] {
    let mut below = [0.0; 4];
    let mut above = [0.0; 4];
    let mut q = [0.0; 4];
    for k in 0..4 {
        below[k] = (min + (u[k] * left).sqrt()).min(mode);
    }
    for k in 0..4 {
        above[k] = (max - ((1.0 - u[k]) * right).sqrt()).max(mode);
    }
    for k in 0..4 {
        q[k] = if u[k] < split { below[k] } else { above[k] };
    }
    q
}

/// PERT `lambda` used when the scenario does not give one (the classic PERT).
pub const DEFAULT_PERT_LAMBDA: f64 = 4.0;

/// Smallest beta shape parameter accepted.
///
/// Below about 0.06 the quantile at u = [`U_MIN`] lies under the smallest
/// positive double, so tail values could no longer be represented.
pub const MIN_BETA_SHAPE: f64 = 0.1;

/// Largest beta shape parameter accepted (also bounds PERT: `1 + lambda`).
///
/// statrs' regularized incomplete beta loses accuracy beyond it (relative
/// error about 1e-10 at 1e4, 1e-7 at 1e5).
pub const MAX_BETA_SHAPE: f64 = 1e4;

/// Largest PERT `lambda` accepted, so that both shapes stay within
/// [`MAX_BETA_SHAPE`].
pub const MAX_PERT_LAMBDA: f64 = MAX_BETA_SHAPE - 1.0;

/// Why a distribution could not be built, pointing at the scenario key at fault.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DistError {
    /// The TOML key that holds the bad value ("sd", "mode", "weights", ...),
    /// so a caller can point at the right place in the user's file.
    pub key: &'static str,
    /// A full sentence with the offending values and how to fix them.
    pub message: String,
}

impl DistError {
    fn new(key: &'static str, message: String) -> DistError {
        DistError { key, message }
    }
}

impl fmt::Display for DistError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for DistError {}

/// The parameters of a distribution exactly as a scenario states them.
///
/// This is the plain, inspectable description; [`Distribution`] adds
/// validation and the precomputed data that sampling needs. Defaults (PERT
/// `lambda` 4, beta on [0, 1]) are already filled in here.
#[derive(Debug, Clone, PartialEq)]
pub enum Spec {
    /// Always `value`.
    Fixed { value: f64 },
    /// Uniform on [min, max].
    Uniform { min: f64, max: f64 },
    /// Normal, truncated to [min, max] when bounds are given.
    Normal {
        mean: f64,
        sd: f64,
        min: Option<f64>,
        max: Option<f64>,
    },
    /// ln X ~ Normal(mu, sigma).
    LogNormal { mu: f64, sigma: f64 },
    /// Triangular on [min, max] with peak at `mode`.
    Triangular { min: f64, mode: f64, max: f64 },
    /// Beta-PERT: a beta on [min, max] with the given mode; `lambda` weighs the
    /// mode (4 is the classic PERT).
    Pert {
        min: f64,
        mode: f64,
        max: f64,
        lambda: f64,
    },
    /// Beta(alpha, beta) scaled to [min, max].
    Beta {
        alpha: f64,
        beta: f64,
        min: f64,
        max: f64,
    },
    /// 1.0 with probability `p`, else 0.0.
    Bernoulli { p: f64 },
    /// `values[i]` with probability proportional to `weights[i]`.
    Discrete { values: Vec<f64>, weights: Vec<f64> },
}

/// A validated distribution, ready to be sampled through [`Distribution::quantile`].
///
/// Cloning is cheap: the beta/PERT quantile table is shared.
#[derive(Debug, Clone, PartialEq)]
pub struct Distribution {
    spec: Spec,
    kind: Kind,
}

/// What sampling needs, precomputed from the spec.
#[derive(Debug, Clone, PartialEq)]
enum Kind {
    Fixed {
        value: f64,
    },
    Uniform {
        min: f64,
        max: f64,
        width: f64,
    },
    Normal(TruncNormal),
    LogNormal {
        mu: f64,
        sigma: f64,
    },
    Triangular {
        min: f64,
        mode: f64,
        max: f64,
        /// CDF at the mode: where the two square-root branches meet.
        split: f64,
        /// (max - min) * (mode - min)
        left: f64,
        /// (max - min) * (max - mode)
        right: f64,
    },
    /// Beta and PERT.
    Beta {
        min: f64,
        max: f64,
        width: f64,
        table: Arc<BetaTable>,
    },
    Bernoulli {
        p: f64,
        /// 1 - p: the quantile is 1 above it.
        threshold: f64,
    },
    Discrete {
        /// Sorted ascending, so that the quantile is monotone.
        values: Box<[f64]>,
        /// Cumulative weight share, last exactly 1.
        cum: Box<[f64]>,
    },
}

impl Distribution {
    /// Validates `spec` and precomputes what sampling needs.
    pub fn new(spec: Spec) -> Result<Distribution, DistError> {
        match spec {
            Spec::Fixed { value } => Distribution::fixed(value),
            Spec::Uniform { min, max } => Distribution::uniform(min, max),
            Spec::Normal { mean, sd, min, max } => Distribution::normal(mean, sd, min, max),
            Spec::LogNormal { mu, sigma } => Distribution::lognormal(mu, sigma),
            Spec::Triangular { min, mode, max } => Distribution::triangular(min, mode, max),
            Spec::Pert {
                min,
                mode,
                max,
                lambda,
            } => Distribution::pert(min, mode, max, lambda),
            Spec::Beta {
                alpha,
                beta,
                min,
                max,
            } => Distribution::beta(alpha, beta, min, max),
            Spec::Bernoulli { p } => Distribution::bernoulli(p),
            Spec::Discrete { values, weights } => Distribution::discrete(values, weights),
        }
    }

    /// A constant; accepts any finite value.
    pub fn fixed(value: f64) -> Result<Distribution, DistError> {
        finite("value", value)?;
        Ok(Distribution {
            spec: Spec::Fixed { value },
            kind: Kind::Fixed { value },
        })
    }

    /// Uniform on [min, max]; needs min < max (use `fixed` for a constant).
    pub fn uniform(min: f64, max: f64) -> Result<Distribution, DistError> {
        finite("min", min)?;
        finite("max", max)?;
        ordered(min, max)?;
        check_width(min, max)?;
        Ok(Distribution {
            spec: Spec::Uniform { min, max },
            kind: Kind::Uniform {
                min,
                max,
                width: max - min,
            },
        })
    }

    /// Normal(mean, sd), truncated to [min, max] where bounds are given.
    ///
    /// Bounds that leave no representable probability mass (say both 40 sd
    /// above the mean) are an error rather than a silent constant.
    pub fn normal(
        mean: f64,
        sd: f64,
        min: Option<f64>,
        max: Option<f64>,
    ) -> Result<Distribution, DistError> {
        finite("mean", mean)?;
        finite("sd", sd)?;
        if sd <= 0.0 {
            return Err(DistError::new(
                "sd",
                format!(
                    "sd must be > 0, got {} (use `fixed` for a constant)",
                    num(sd)
                ),
            ));
        }
        if !(mean.abs() + 40.0 * sd).is_finite() {
            return Err(DistError::new(
                "sd",
                format!(
                    "normal({}, {}) reaches values too large to represent; use smaller numbers",
                    num(mean),
                    num(sd)
                ),
            ));
        }
        if let Some(lo) = min {
            finite_bound("min", lo, "lower")?;
        }
        if let Some(hi) = max {
            finite_bound("max", hi, "upper")?;
        }
        if let (Some(lo), Some(hi)) = (min, max) {
            ordered(lo, hi)?;
        }
        let tn = TruncNormal::new(mean, sd, min, max)?;
        Ok(Distribution {
            spec: Spec::Normal { mean, sd, min, max },
            kind: Kind::Normal(tn),
        })
    }

    /// Log-normal: ln X ~ Normal(mu, sigma).
    pub fn lognormal(mu: f64, sigma: f64) -> Result<Distribution, DistError> {
        finite("mu", mu)?;
        finite("sigma", sigma)?;
        if sigma <= 0.0 {
            return Err(DistError::new(
                "sigma",
                format!(
                    "sigma must be > 0, got {} (use `fixed` for a constant)",
                    num(sigma)
                ),
            ));
        }
        let d = Distribution {
            spec: Spec::LogNormal { mu, sigma },
            kind: Kind::LogNormal { mu, sigma },
        };
        if !d.mean().is_finite() || !d.variance().is_finite() {
            return Err(DistError::new(
                "sigma",
                format!(
                    "lognormal(mu = {}, sigma = {}) has a mean or variance too large to represent; \
                     use a smaller sigma or mu",
                    num(mu),
                    num(sigma)
                ),
            ));
        }
        Ok(d)
    }

    /// Triangular on [min, max] peaking at `mode` (mode may equal min or max).
    pub fn triangular(min: f64, mode: f64, max: f64) -> Result<Distribution, DistError> {
        check_min_mode_max(min, mode, max)?;
        let width = max - min;
        let kind = Kind::Triangular {
            min,
            mode,
            max,
            split: ((mode - min) / width).clamp(0.0, 1.0),
            left: width * (mode - min),
            right: width * (max - mode),
        };
        Ok(Distribution {
            spec: Spec::Triangular { min, mode, max },
            kind,
        })
    }

    /// Beta-PERT on [min, max] with the given mode; callers pass
    /// [`DEFAULT_PERT_LAMBDA`] when the scenario gives no `lambda`.
    pub fn pert(min: f64, mode: f64, max: f64, lambda: f64) -> Result<Distribution, DistError> {
        check_min_mode_max(min, mode, max)?;
        finite("lambda", lambda)?;
        if lambda <= 0.0 || lambda > MAX_PERT_LAMBDA {
            return Err(DistError::new(
                "lambda",
                format!(
                    "lambda must be in (0, {}], got {} (4 is the classic PERT)",
                    num(MAX_PERT_LAMBDA),
                    num(lambda)
                ),
            ));
        }
        let (alpha, beta) = pert_shapes(min, mode, max, lambda);
        Ok(Distribution {
            spec: Spec::Pert {
                min,
                mode,
                max,
                lambda,
            },
            kind: beta_kind(alpha, beta, min, max),
        })
    }

    /// Beta(alpha, beta) scaled to [min, max] (the scenario's defaults are 0
    /// and 1).
    ///
    /// Shapes must lie in [[`MIN_BETA_SHAPE`], [`MAX_BETA_SHAPE`]].
    pub fn beta(alpha: f64, beta: f64, min: f64, max: f64) -> Result<Distribution, DistError> {
        check_shape("alpha", alpha)?;
        check_shape("beta", beta)?;
        finite("min", min)?;
        finite("max", max)?;
        ordered(min, max)?;
        check_width(min, max)?;
        Ok(Distribution {
            spec: Spec::Beta {
                alpha,
                beta,
                min,
                max,
            },
            kind: beta_kind(alpha, beta, min, max),
        })
    }

    /// 1.0 with probability `p`, else 0.0.
    pub fn bernoulli(p: f64) -> Result<Distribution, DistError> {
        finite("p", p)?;
        if !(0.0..=1.0).contains(&p) {
            return Err(DistError::new(
                "p",
                format!("p must be in [0, 1], got {}", num(p)),
            ));
        }
        Ok(Distribution {
            spec: Spec::Bernoulli { p },
            kind: Kind::Bernoulli {
                p,
                threshold: 1.0 - p,
            },
        })
    }

    /// `values[i]` with probability `weights[i] / sum(weights)`.
    ///
    /// Weights need not sum to 1. Values are sorted internally so that the
    /// quantile is monotone in `u` (low `u`, low value), as sensitivity
    /// analysis assumes.
    pub fn discrete(values: Vec<f64>, weights: Vec<f64>) -> Result<Distribution, DistError> {
        if values.is_empty() {
            return Err(DistError::new(
                "values",
                "values must list at least one value".to_string(),
            ));
        }
        if let Some(i) = values.iter().position(|v| !v.is_finite()) {
            return Err(DistError::new(
                "values",
                format!(
                    "values must be finite numbers, value {} is {}",
                    i + 1,
                    num(values[i])
                ),
            ));
        }
        if weights.len() != values.len() {
            return Err(DistError::new(
                "weights",
                format!(
                    "values and weights must have the same length ({} vs {})",
                    values.len(),
                    weights.len()
                ),
            ));
        }
        if let Some(i) = weights.iter().position(|w| !(w.is_finite() && *w > 0.0)) {
            return Err(DistError::new(
                "weights",
                format!(
                    "weights must be positive finite numbers, weight {} is {} (weights count from 1; \
                     drop the value instead of giving it weight 0)",
                    i + 1,
                    num(weights[i])
                ),
            ));
        }
        let total: f64 = weights.iter().sum();
        if !total.is_finite() {
            return Err(DistError::new(
                "weights",
                "the weights add up to more than can be represented; scale them down".to_string(),
            ));
        }
        let mut pairs: Vec<(f64, f64)> = values
            .iter()
            .copied()
            .zip(weights.iter().copied())
            .collect();
        pairs.sort_by(|a, b| a.0.total_cmp(&b.0));
        let mut acc = 0.0;
        let mut cum: Vec<f64> = pairs
            .iter()
            .map(|&(_, w)| {
                acc += w;
                acc / total
            })
            .collect();
        if let Some(last) = cum.last_mut() {
            *last = 1.0;
        }
        let sorted: Vec<f64> = pairs.iter().map(|&(v, _)| v).collect();
        Ok(Distribution {
            spec: Spec::Discrete { values, weights },
            kind: Kind::Discrete {
                values: sorted.into_boxed_slice(),
                cum: cum.into_boxed_slice(),
            },
        })
    }

    /// The parameters this distribution was built from.
    pub fn spec(&self) -> &Spec {
        &self.spec
    }

    /// The scenario name of the kind: "fixed", "uniform", "normal",
    /// "lognormal", "triangular", "pert", "beta", "bernoulli" or "discrete".
    pub fn kind_name(&self) -> &'static str {
        match self.spec {
            Spec::Fixed { .. } => "fixed",
            Spec::Uniform { .. } => "uniform",
            Spec::Normal { .. } => "normal",
            Spec::LogNormal { .. } => "lognormal",
            Spec::Triangular { .. } => "triangular",
            Spec::Pert { .. } => "pert",
            Spec::Beta { .. } => "beta",
            Spec::Bernoulli { .. } => "bernoulli",
            Spec::Discrete { .. } => "discrete",
        }
    }

    /// [`Distribution::quantile`] of each of `us`, into `out`: the same numbers, with the
    /// choice of distribution made once and the commonest kinds in loops the compiler
    /// vectorises. Inlined, so that the callers' AVX2 copies vectorise it four lanes wide.
    #[inline(always)]
    pub fn quantile_each(&self, us: &[f64], out: &mut [f64]) {
        let unit = |u: f64| {
            if u.is_nan() {
                0.5
            } else {
                u.clamp(U_MIN, U_MAX)
            }
        };
        match &self.kind {
            Kind::Uniform { min, max, width } => {
                for (q, &u) in out.iter_mut().zip(us) {
                    *q = uniform_at(unit(u), *min, *max, *width);
                }
            }
            Kind::Triangular {
                min,
                mode,
                max,
                split,
                left,
                right,
            } => {
                // Four at a time in fixed-length arrays, each step its own loop: written as
                // one loop over a slice, the compiler kept the square roots scalar.
                let sides = [*min, *mode, *max, *split, *left, *right];
                let mut qs = out.chunks_exact_mut(4);
                let mut ups = us.chunks_exact(4);
                for (q, u) in (&mut qs).zip(&mut ups) {
                    let mut v = [0.0; 4];
                    for k in 0..4 {
                        v[k] = unit(u[k]);
                    }
                    q.copy_from_slice(&triangular_lanes(v, sides));
                }
                for (q, &u) in qs.into_remainder().iter_mut().zip(ups.remainder()) {
                    *q = triangular_at(unit(u), sides);
                }
            }
            _ => {
                for (q, &u) in out.iter_mut().zip(us) {
                    *q = self.quantile(u);
                }
            }
        }
    }

    /// The value at cumulative probability `u` (the inverse CDF): the one way
    /// all samples are drawn.
    ///
    /// Hot path: no allocation, closed form except for beta/PERT (a table
    /// lookup plus, for 99% of `u`, exactly one Newton step on statrs'
    /// `beta_reg`, accurate to a few ulps of the range; see the tests).
    ///
    /// `u` should lie in (0, 1); it is clamped to [[`U_MIN`], [`U_MAX`]] so the
    /// result is always finite and within [`Distribution::support`]. NaN is a
    /// caller bug (debug builds panic); release builds treat it as 0.5.
    ///
    /// The result is non-decreasing in `u` (exactly for the closed forms; for
    /// normal, lognormal, beta and PERT up to the rounding of the special
    /// functions, about 1e-15 relative). Bernoulli yields 1.0 when
    /// `u > 1 - p` and 0.0 otherwise, and a discrete distribution yields the
    /// smallest value whose cumulative weight share exceeds `u`.
    #[inline]
    pub fn quantile(&self, u: f64) -> f64 {
        debug_assert!(!u.is_nan(), "quantile called with u = NaN");
        let u = if u.is_nan() {
            0.5
        } else {
            u.clamp(U_MIN, U_MAX)
        };
        match &self.kind {
            Kind::Fixed { value } => *value,
            Kind::Uniform { min, max, width } => uniform_at(u, *min, *max, *width),
            Kind::Normal(tn) => tn.quantile(u),
            Kind::LogNormal { mu, sigma } => (mu + sigma * std_normal_quantile(u)).exp(),
            Kind::Triangular {
                min,
                mode,
                max,
                split,
                left,
                right,
            } => triangular_at(u, [*min, *mode, *max, *split, *left, *right]),
            Kind::Beta {
                min,
                max,
                width,
                table,
            } => {
                let (upper, t) = table.quantile_unit(u);
                let q = if upper {
                    max - width * t
                } else {
                    min + width * t
                };
                q.clamp(*min, *max)
            }
            Kind::Bernoulli { threshold, .. } => {
                if u > *threshold {
                    1.0
                } else {
                    0.0
                }
            }
            Kind::Discrete { values, cum } => {
                let i = if cum.len() <= 16 {
                    cum.iter().position(|&c| c > u).unwrap_or(cum.len() - 1)
                } else {
                    cum.partition_point(|&c| c <= u)
                };
                values[i.min(values.len() - 1)]
            }
        }
    }

    /// Draws one value from `rng`, for callers that do not manage their own
    /// `u`s (sampling, stratification and sensitivity code should call
    /// [`Distribution::quantile`] directly).
    pub fn sample<R: rand::Rng + ?Sized>(&self, rng: &mut R) -> f64 {
        self.quantile(rng.sample(rand::distr::Open01))
    }

    /// The exact mean, in closed form.
    pub fn mean(&self) -> f64 {
        match &self.kind {
            Kind::Fixed { value } => *value,
            Kind::Uniform { min, width, .. } => min + 0.5 * width,
            Kind::Normal(tn) => tn.mean,
            Kind::LogNormal { mu, sigma } => (mu + 0.5 * sigma * sigma).exp(),
            Kind::Triangular { min, mode, max, .. } => min + ((mode - min) + (max - min)) / 3.0,
            Kind::Beta {
                min, width, table, ..
            } => {
                let (a, b) = table.shapes();
                min + width * a / (a + b)
            }
            Kind::Bernoulli { p, .. } => *p,
            Kind::Discrete { values, cum } => discrete_moments(values, cum).0,
        }
    }

    /// The exact variance, in closed form.
    pub fn variance(&self) -> f64 {
        match &self.kind {
            Kind::Fixed { .. } => 0.0,
            Kind::Uniform { width, .. } => width * width / 12.0,
            Kind::Normal(tn) => tn.variance,
            Kind::LogNormal { mu, sigma } => {
                let s2 = sigma * sigma;
                s2.exp_m1() * (2.0 * mu + s2).exp()
            }
            Kind::Triangular { min, mode, max, .. } => {
                // Shifted to min = 0 to avoid cancellation far from zero.
                let c = mode - min;
                let b = max - min;
                (c * c + b * b - b * c) / 18.0
            }
            Kind::Beta { width, table, .. } => {
                let (a, b) = table.shapes();
                let s = a + b;
                width * width * (a / s) * (b / s) / (s + 1.0)
            }
            Kind::Bernoulli { p, .. } => p * (1.0 - p),
            Kind::Discrete { values, cum } => discrete_moments(values, cum).1,
        }
    }

    /// The median, `quantile(0.5)`.
    pub fn median(&self) -> f64 {
        self.quantile(0.5)
    }

    /// Whether every draw yields the same value, so sampling and sensitivity
    /// analysis can skip the parameter.
    ///
    /// True for `fixed`, and also for degenerate cases: bernoulli with p 0 or
    /// 1, a discrete distribution whose values are all equal.
    pub fn is_fixed(&self) -> bool {
        match &self.kind {
            Kind::Fixed { .. } => true,
            Kind::Bernoulli { p, .. } => *p == 0.0 || *p == 1.0,
            Kind::Discrete { values, .. } => values[0] == values[values.len() - 1],
            _ => false,
        }
    }

    /// The smallest interval [lo, hi] holding every value `quantile` can
    /// return; ends may be infinite (untruncated normal, lognormal).
    pub fn support(&self) -> (f64, f64) {
        match &self.kind {
            Kind::Fixed { value } => (*value, *value),
            Kind::Uniform { min, max, .. } => (*min, *max),
            Kind::Normal(tn) => (tn.min, tn.max),
            Kind::LogNormal { .. } => (0.0, f64::INFINITY),
            Kind::Triangular { min, max, .. } => (*min, *max),
            Kind::Beta { min, max, .. } => (*min, *max),
            Kind::Bernoulli { p, .. } => {
                if *p == 0.0 {
                    (0.0, 0.0)
                } else if *p == 1.0 {
                    (1.0, 1.0)
                } else {
                    (0.0, 1.0)
                }
            }
            Kind::Discrete { values, .. } => (values[0], values[values.len() - 1]),
        }
    }

    /// A short human form for reports and error messages, such as
    /// `pert(0.5, 0.75, 1)` or `normal(0, 1) on [-1, 2]`.
    pub fn describe(&self) -> String {
        match &self.spec {
            Spec::Fixed { value } => format!("fixed({})", num(*value)),
            Spec::Uniform { min, max } => format!("uniform({}, {})", num(*min), num(*max)),
            Spec::Normal { mean, sd, min, max } => {
                let base = format!("normal({}, {})", num(*mean), num(*sd));
                match (min, max) {
                    (None, None) => base,
                    (Some(lo), Some(hi)) => format!("{base} on [{}, {}]", num(*lo), num(*hi)),
                    (Some(lo), None) => format!("{base} on [{}, inf)", num(*lo)),
                    (None, Some(hi)) => format!("{base} on (-inf, {}]", num(*hi)),
                }
            }
            Spec::LogNormal { mu, sigma } => format!("lognormal({}, {})", num(*mu), num(*sigma)),
            Spec::Triangular { min, mode, max } => {
                format!("triangular({}, {}, {})", num(*min), num(*mode), num(*max))
            }
            Spec::Pert {
                min,
                mode,
                max,
                lambda,
            } => {
                if *lambda == DEFAULT_PERT_LAMBDA {
                    format!("pert({}, {}, {})", num(*min), num(*mode), num(*max))
                } else {
                    format!(
                        "pert({}, {}, {}; lambda {})",
                        num(*min),
                        num(*mode),
                        num(*max),
                        num(*lambda)
                    )
                }
            }
            Spec::Beta {
                alpha,
                beta,
                min,
                max,
            } => {
                let base = format!("beta({}, {})", num(*alpha), num(*beta));
                if *min == 0.0 && *max == 1.0 {
                    base
                } else {
                    format!("{base} on [{}, {}]", num(*min), num(*max))
                }
            }
            Spec::Bernoulli { p } => format!("bernoulli({})", num(*p)),
            Spec::Discrete { values, weights } => {
                format!("discrete([{}]; [{}])", num_list(values), num_list(weights))
            }
        }
    }
}

impl fmt::Display for Distribution {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.describe())
    }
}

// ---------------------------------------------------------------------------
// Validation helpers

fn finite(key: &'static str, v: f64) -> Result<(), DistError> {
    if v.is_finite() {
        Ok(())
    } else {
        Err(DistError::new(
            key,
            format!("{key} must be a finite number, got {}", num(v)),
        ))
    }
}

fn finite_bound(key: &'static str, v: f64, side: &str) -> Result<(), DistError> {
    if v.is_finite() {
        Ok(())
    } else {
        Err(DistError::new(
            key,
            format!(
                "{key} must be a finite number, got {} (leave {key} out for no {side} bound)",
                num(v)
            ),
        ))
    }
}

fn ordered(min: f64, max: f64) -> Result<(), DistError> {
    if min < max {
        Ok(())
    } else {
        Err(DistError::new(
            "max",
            format!(
                "max must be greater than min, got [min, max] = [{}, {}] \
                 (use `fixed` for a constant)",
                num(min),
                num(max)
            ),
        ))
    }
}

fn check_width(min: f64, max: f64) -> Result<(), DistError> {
    if (max - min).is_finite() {
        Ok(())
    } else {
        Err(DistError::new(
            "max",
            format!(
                "the range [min, max] = [{}, {}] is too wide to represent; narrow it",
                num(min),
                num(max)
            ),
        ))
    }
}

fn check_min_mode_max(min: f64, mode: f64, max: f64) -> Result<(), DistError> {
    finite("min", min)?;
    finite("mode", mode)?;
    finite("max", max)?;
    ordered(min, max)?;
    check_width(min, max)?;
    if !(min..=max).contains(&mode) {
        return Err(DistError::new(
            "mode",
            format!(
                "mode {} is outside [min, max] = [{}, {}]",
                num(mode),
                num(min),
                num(max)
            ),
        ));
    }
    Ok(())
}

fn check_shape(key: &'static str, v: f64) -> Result<(), DistError> {
    finite(key, v)?;
    if (MIN_BETA_SHAPE..=MAX_BETA_SHAPE).contains(&v) {
        Ok(())
    } else {
        Err(DistError::new(
            key,
            format!(
                "{key} must be in [{}, {}], got {}",
                num(MIN_BETA_SHAPE),
                num(MAX_BETA_SHAPE),
                num(v)
            ),
        ))
    }
}

fn beta_kind(alpha: f64, beta: f64, min: f64, max: f64) -> Kind {
    Kind::Beta {
        min,
        max,
        width: max - min,
        table: Arc::new(BetaTable::new(alpha, beta)),
    }
}

/// Mean and variance (two-pass) of a discrete distribution given sorted
/// values and cumulative shares.
fn discrete_moments(values: &[f64], cum: &[f64]) -> (f64, f64) {
    let weights = || {
        cum.iter().scan(0.0, |prev, &c| {
            let w = c - *prev;
            *prev = c;
            Some(w)
        })
    };
    let mean: f64 = values.iter().zip(weights()).map(|(v, w)| v * w).sum();
    let var: f64 = values
        .iter()
        .zip(weights())
        .map(|(v, w)| w * (v - mean) * (v - mean))
        .sum();
    (mean, var)
}

/// Formats a number without trailing zeros: `1`, `0.75`, `-2.5`, `1e-7`.
fn num(x: f64) -> String {
    if x == 0.0 {
        "0".to_string()
    } else if x.is_nan() {
        "NaN".to_string()
    } else if x.is_infinite() {
        if x > 0.0 { "inf" } else { "-inf" }.to_string()
    } else if (1e-4..1e15).contains(&x.abs()) {
        format!("{x}")
    } else {
        format!("{x:e}")
    }
}

fn num_list(xs: &[f64]) -> String {
    xs.iter().map(|&x| num(x)).collect::<Vec<_>>().join(", ")
}

#[cfg(test)]
mod tests;
