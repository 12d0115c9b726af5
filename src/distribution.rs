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

use std::f64::consts::SQRT_2;
use std::fmt;
use std::sync::Arc;

use statrs::function::beta::{checked_beta_reg, ln_beta};
use statrs::function::erf::{erfc, erfc_inv};

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
    /// [`Distribution::quantile`] of each of `us`, into `out`: the same numbers, with the
    /// choice of distribution made once and the commonest kinds in loops the compiler
    /// vectorises.
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
                for (q, &u) in out.iter_mut().zip(us) {
                    *q = triangular_at(unit(u), [*min, *mode, *max, *split, *left, *right]);
                }
            }
            _ => {
                for (q, &u) in out.iter_mut().zip(us) {
                    *q = self.quantile(u);
                }
            }
        }
    }

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

/// Beta shapes of a PERT: alpha = 1 + lambda (mode - min) / (max - min),
/// beta = 1 + lambda (max - mode) / (max - min).
fn pert_shapes(min: f64, mode: f64, max: f64, lambda: f64) -> (f64, f64) {
    let width = max - min;
    (
        1.0 + lambda * (mode - min) / width,
        1.0 + lambda * (max - mode) / width,
    )
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

// ---------------------------------------------------------------------------
// Normal

/// Standard normal quantile. statrs' `erfc_inv` (Boost's rational
/// approximations) is accurate to about 1e-16 relative over the whole range.
#[inline]
fn std_normal_quantile(p: f64) -> f64 {
    -SQRT_2 * erfc_inv(2.0 * p)
}

/// erfc(x) to about 1e-15 relative (1e-13 near x = 26).
///
/// statrs 0.18's `erfc` is only good to about 1e-10 relative, which is
/// enough to spoil truncated-normal moments in a tail, whereas its
/// `erfc_inv` is good to about 1e-16. One Newton step on
/// erfc_inv(y) = x from statrs' value fixes it; the remaining error is the
/// conditioning 2 x^2 eps of erfc itself. Used at construction only.
fn erfc_refined(x: f64) -> f64 {
    let y = erfc(x);
    if !(y > 0.0 && y < 2.0) {
        return y;
    }
    let z = erfc_inv(y);
    y + (z - x) * std::f64::consts::FRAC_2_SQRT_PI * (-z * z).exp()
}

/// Standard normal lower tail Phi(z), accurate in relative terms for z < 0.
fn std_normal_cdf(z: f64) -> f64 {
    0.5 * erfc_refined(-z / SQRT_2)
}

/// Standard normal upper tail 1 - Phi(z), accurate in relative terms for z > 0.
fn std_normal_sf(z: f64) -> f64 {
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
struct TruncNormal {
    mu: f64,
    sd: f64,
    /// Bounds in data units (±inf when absent).
    min: f64,
    max: f64,
    /// Work with the upper tail Q(z) rather than Phi(z).
    upper: bool,
    /// Phi(lo), or Q(lo) when `upper`.
    base: f64,
    /// Probability mass between the bounds.
    mass: f64,
    mean: f64,
    variance: f64,
}

impl TruncNormal {
    fn new(mu: f64, sd: f64, min: Option<f64>, max: Option<f64>) -> Result<TruncNormal, DistError> {
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
    fn quantile(&self, u: f64) -> f64 {
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

// ---------------------------------------------------------------------------
// Beta and PERT

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
struct BetaTable {
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
    fn new(alpha: f64, beta: f64) -> BetaTable {
        let lb = ln_beta(alpha, beta);
        BetaTable {
            lower: HalfTable::new(alpha, beta, lb),
            upper: HalfTable::new(beta, alpha, lb),
        }
    }

    /// (alpha, beta) of the distribution on [0, 1].
    fn shapes(&self) -> (f64, f64) {
        (self.lower.a, self.lower.b)
    }

    /// Returns (false, x) with x the quantile for u <= 0.5, or (true, 1 - x)
    /// for u > 0.5.
    #[inline]
    fn quantile_unit(&self, u: f64) -> (bool, f64) {
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

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rand::SeedableRng;
    use rand_xoshiro::Xoshiro256PlusPlus;
    use statrs::function::beta::beta_reg;

    fn d(r: Result<Distribution, DistError>) -> Distribution {
        r.expect("valid distribution")
    }

    /// One representative of every kind and of every code path (truncation
    /// on either side and far in a tail, narrow truncation, table halves,
    /// linear and binary discrete search).
    fn cases() -> Vec<Distribution> {
        vec![
            d(Distribution::fixed(3.5)),
            d(Distribution::uniform(-2.0, 5.0)),
            d(Distribution::normal(10.0, 2.0, None, None)),
            d(Distribution::normal(0.0, 1.0, Some(-1.0), Some(2.0))),
            d(Distribution::normal(5.0, 2.0, Some(0.0), None)),
            d(Distribution::normal(0.0, 1.0, Some(30.0), None)),
            d(Distribution::normal(0.0, 1.0, None, Some(-8.0))),
            d(Distribution::normal(0.0, 1.0, Some(6.0), Some(6.5))),
            d(Distribution::normal(0.0, 1.0, Some(3.0), Some(3.01))),
            d(Distribution::lognormal(0.0, 0.5)),
            d(Distribution::lognormal(2.0, 0.25)),
            d(Distribution::triangular(0.0, 0.3, 1.0)),
            d(Distribution::triangular(0.0, 0.0, 1.0)),
            d(Distribution::triangular(0.0, 1.0, 1.0)),
            d(Distribution::triangular(1000.0, 1000.1, 1000.3)),
            d(Distribution::pert(0.5, 0.75, 1.0, DEFAULT_PERT_LAMBDA)),
            d(Distribution::pert(0.0, 0.9, 1.0, DEFAULT_PERT_LAMBDA)),
            d(Distribution::pert(10.0, 12.0, 30.0, 6.0)),
            d(Distribution::beta(0.5, 0.5, 0.0, 1.0)),
            d(Distribution::beta(2.0, 5.0, 0.0, 1.0)),
            d(Distribution::beta(1.0, 1.0, 0.0, 1.0)),
            d(Distribution::beta(30.0, 2.0, 10.0, 20.0)),
            d(Distribution::beta(0.2, 3.0, 0.0, 1.0)),
            d(Distribution::beta(1000.0, 1000.0, 0.0, 1.0)),
            d(Distribution::bernoulli(0.3)),
            d(Distribution::bernoulli(0.0)),
            d(Distribution::bernoulli(1.0)),
            d(Distribution::discrete(
                vec![3.0, 1.0, 2.0],
                vec![0.5, 0.2, 0.3],
            )),
            d(Distribution::discrete(
                (0..40).map(f64::from).collect(),
                (1..=40).map(f64::from).collect(),
            )),
        ]
    }

    /// Mean and central moments 2 and 4 (about the exact mean) of
    /// quantile(u_i) over the midpoint grid u_i = (i + 0.5) / n.
    fn grid_moments(dist: &Distribution, n: usize) -> (f64, f64, f64) {
        let mu = dist.mean();
        let (mut s1, mut s2, mut s4) = (0.0, 0.0, 0.0);
        for i in 0..n {
            let q = dist.quantile((i as f64 + 0.5) / n as f64);
            let c = q - mu;
            s1 += c;
            s2 += c * c;
            s4 += c * c * c * c;
        }
        let nf = n as f64;
        let m1 = s1 / nf;
        (mu + m1, s2 / nf - m1 * m1, s4 / nf)
    }

    #[test]
    fn grid_moments_match_closed_forms() {
        // The midpoint rule on (0, 1) integrates q(u) and (q(u) - mean)^2
        // with an error that shrinks at order p >= ~1 in 1/n (p = 2 for smooth
        // bounded q; near 1 where q has an integrable tail singularity, as
        // for the normal and lognormal). Richardson's estimate then bounds the
        // error of the fine grid: |I_n - I| <= |I_n - I_{n/2}| / (2^p - 1)
        // <= 4 |I_n - I_{n/2}| for any p >= 0.33. We add rounding slack of
        // 1e-9 relative (200k terms summed at 1e-16) and require the result
        // to be tighter than 1e-3 relative so the check stays meaningful.
        // Step functions (bernoulli, discrete) do not converge smoothly, but
        // for them Koksma's inequality is tight and rigorous: the centred
        // grid has star discrepancy 1/(2n), so the error is at most
        // V(g)/(2n), V the total variation: max - min for q, and at most
        // (min - mean)^2 + (max - mean)^2 for (q - mean)^2.
        let n = 200_000;
        for dist in cases() {
            let (mean, var) = (dist.mean(), dist.variance());
            let (m_fine, v_fine, _) = grid_moments(&dist, n);
            let (m_coarse, v_coarse, _) = grid_moments(&dist, n / 2);
            let scale_m = mean.abs() + var.sqrt();
            let scale_v = var;
            let (koksma_m, koksma_v) = match dist.kind_name() {
                "bernoulli" | "discrete" => {
                    let (lo, hi) = dist.support();
                    let nf = 2.0 * n as f64;
                    (
                        (hi - lo) / nf,
                        ((lo - mean).powi(2) + (hi - mean).powi(2)) / nf,
                    )
                }
                _ => (0.0, 0.0),
            };
            let tol_m = 4.0 * (m_fine - m_coarse).abs() + koksma_m + 1e-9 * scale_m;
            let tol_v = 4.0 * (v_fine - v_coarse).abs() + koksma_v + 1e-9 * scale_v;
            let desc = dist.describe();
            if var == 0.0 {
                assert_eq!(m_fine, mean, "{desc}");
                assert!(v_fine.abs() <= 1e-24, "{desc}: variance {v_fine}");
                continue;
            }
            assert!(
                tol_m <= 1e-3 * scale_m && tol_v <= 1e-3 * scale_v,
                "{desc}: error estimate too loose to be a test (mean tol {tol_m:e}, var tol {tol_v:e})"
            );
            assert!(
                (m_fine - mean).abs() <= tol_m,
                "{desc}: grid mean {m_fine} vs closed form {mean} (tol {tol_m:e})"
            );
            assert!(
                (v_fine - var).abs() <= tol_v,
                "{desc}: grid variance {v_fine} vs closed form {var} (rel {:e}, tol {:e})",
                (v_fine - var).abs() / var,
                tol_v / var
            );
        }
    }

    #[test]
    fn quantile_each_gives_quantile_bit_for_bit() {
        let us: Vec<f64> = (0..=1000)
            .map(|i| f64::from(i) / 1000.0)
            .chain([U_MIN / 2.0, U_MAX, 1e-300, 0.5 - 1e-17, 1.0 - 1e-12])
            .collect();
        for dist in cases() {
            let mut each = vec![0.0; us.len()];
            dist.quantile_each(&us, &mut each);
            for (&u, q) in us.iter().zip(&each) {
                assert_eq!(q.to_bits(), dist.quantile(u).to_bits(), "{dist:?} at {u}");
            }
        }
    }

    #[test]
    fn random_moments_within_four_standard_errors() {
        let n = 200_000;
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(20_240_611);
        for dist in cases() {
            let (mean, var) = (dist.mean(), dist.variance());
            let xs: Vec<f64> = (0..n).map(|_| dist.sample(&mut rng)).collect();
            let nf = n as f64;
            let m = xs.iter().sum::<f64>() / nf;
            let v = xs.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / (nf - 1.0);
            let desc = dist.describe();
            if var == 0.0 {
                assert!(xs.iter().all(|&x| x == mean), "{desc}: not constant");
                continue;
            }
            // SE of the mean is sd/sqrt(n); of the sample variance
            // sqrt((mu4 - var^2)/n), with mu4 taken from the fine grid.
            let (_, _, mu4) = grid_moments(&dist, 100_000);
            let se_m = (var / nf).sqrt();
            let se_v = ((mu4 - var * var).max(0.0) / nf).sqrt();
            assert!(
                (m - mean).abs() <= 4.0 * se_m,
                "{desc}: sample mean {m} vs {mean} ({:.2} SE)",
                (m - mean) / se_m
            );
            assert!(
                (v - var).abs() <= 4.0 * se_v,
                "{desc}: sample variance {v} vs {var} ({:.2} SE)",
                (v - var) / se_v
            );
        }
    }

    /// Reference for the beta solver by plain bisection on beta_reg, in the
    /// solver's own orientation: (false, x) with I_x(a, b) = u for u <= 0.5,
    /// (true, y) with I_y(b, a) = 1 - u above, y = 1 - x.
    fn beta_reference(a: f64, b: f64, u: f64) -> (bool, f64) {
        let (p, q, target, upper) = if u <= 0.5 {
            (a, b, u, false)
        } else {
            (b, a, 1.0 - u, true)
        };
        let (mut lo, mut hi) = (0.0f64, 1.0f64);
        loop {
            let mid = if lo > 0.0 && hi > 4.0 * lo {
                lo.sqrt() * hi.sqrt()
            } else {
                0.5 * (lo + hi)
            };
            if mid <= lo || mid >= hi {
                break;
            }
            if beta_reg(p, q, mid) > target {
                hi = mid;
            } else {
                lo = mid;
            }
        }
        (upper, 0.5 * (lo + hi))
    }

    fn accuracy_us() -> Vec<f64> {
        let mut us = vec![
            U_MIN, 1e-15, 1e-12, 1e-9, 1e-6, 2e-6, 1e-5, 1e-4, 1e-3, 0.01, 0.5, 0.99, 0.999,
        ];
        for e in [1e-3, 1e-4, 1e-5, 1e-6, 1e-9, 1e-12, 1e-15] {
            us.push(1.0 - e);
        }
        us.push(U_MAX);
        // Dense, off-knot grid: the odd count puts points everywhere within
        // table intervals, including the first and last.
        let n = 20_011;
        us.extend((0..n).map(|i| (i as f64 + 0.37) / n as f64));
        us
    }

    #[test]
    fn beta_and_pert_quantiles_invert_beta_reg() {
        // (distribution, alpha, beta); PERT(0, 0.9, 1) is Beta(4.6, 1.4).
        let shapes: Vec<(Distribution, f64, f64)> = vec![
            (d(Distribution::beta(0.5, 0.5, 0.0, 1.0)), 0.5, 0.5),
            (d(Distribution::beta(2.0, 5.0, 0.0, 1.0)), 2.0, 5.0),
            (d(Distribution::beta(1.0, 1.0, 0.0, 1.0)), 1.0, 1.0),
            (d(Distribution::beta(30.0, 2.0, 0.0, 1.0)), 30.0, 2.0),
            (d(Distribution::beta(2.0, 30.0, -3.0, 7.0)), 2.0, 30.0),
            (
                d(Distribution::pert(0.0, 0.9, 1.0, DEFAULT_PERT_LAMBDA)),
                4.6,
                1.4,
            ),
            (
                d(Distribution::pert(0.0, 0.0, 1.0, DEFAULT_PERT_LAMBDA)),
                1.0,
                5.0,
            ),
            (d(Distribution::pert(2.0, 2.5, 3.0, 50.0)), 26.0, 26.0),
        ];
        for (dist, a, b) in &shapes {
            let (min, max) = dist.support();
            let w = max - min;
            let (mut worst_u, mut worst_x) = (0.0f64, 0.0f64);
            // Up to 1 - 1e-6: beyond it x = 1 - y itself is no longer
            // representable finely enough (for beta(0.5, 0.5) at 1 - 1e-9,
            // y ~ 2.5e-18 < ulp(1)); the solver's own variable is checked
            // all the way out in the next test.
            for u in accuracy_us().into_iter().filter(|&u| u <= 1.0 - 1e-6) {
                let q = dist.quantile(u);
                let x = (q - min) / w;
                let resid = (beta_reg(*a, *b, x) - u).abs();
                assert!(
                    resid <= 1e-9,
                    "{}: u = {u:e}, q = {q}, beta_reg = {}",
                    dist.describe(),
                    beta_reg(*a, *b, x)
                );
                let (upper, t) = beta_reference(*a, *b, u);
                let x_ref = if upper { 1.0 - t } else { t };
                let err = (x - x_ref).abs();
                // Output rounding: q = min + w x carries ~ulp(|min| + |max|).
                let tol = 1e-13 + 4.0 * f64::EPSILON * (min.abs() + max.abs()) / w;
                assert!(
                    err <= tol,
                    "{}: u = {u:e}, x = {x:e}, reference {x_ref:e}",
                    dist.describe()
                );
                worst_u = worst_u.max(resid);
                worst_x = worst_x.max(err);
            }
            println!(
                "{:<28} max |I(q) - u| = {worst_u:.1e}, max |x - x_ref| = {worst_x:.1e}",
                dist.describe()
            );
        }
    }

    #[test]
    fn beta_solver_matches_bisection_in_its_own_orientation() {
        // Extreme shapes and extreme u, in the solver's own variable (x below
        // the median, y = 1 - x above), relative to the value: the tails are
        // power laws, so relative precision is what can be kept. beta_reg's
        // x-dependent rounding is that of its exponent a ln t + b ln(1 - t)
        // plus a few eps from the continued fraction; an error d in ln I
        // moves the root by d / e in ln t, e = d ln I / d ln t the
        // elasticity. (Its ln-gamma error is the same for every t and so
        // moves solver and reference alike.) beta_reg is also not exactly
        // monotone for large shapes: at a + b = 1e4 it jumps by ~1e-12
        // relative where its continued fraction changes length, so eps (a+b)
        // more is allowed; below that the root is not defined. Finally t
        // itself is quantized to an ulp, which moves ln I by e eps: large
        // where the solver's variable sits near 1 (the upper half of
        // beta(0.1, 1e4) is y = 1 - x with x ~ 1e-8).
        for (a, b) in [
            (0.5, 0.5),
            (2.0, 5.0),
            (30.0, 2.0),
            (0.1, 0.1),
            (0.2, 7.0),
            (0.1, 1e4),
            (1e4, 1e4),
            (5.0, 1e4),
            (4.6, 1.4),
        ] {
            let dist = d(Distribution::beta(a, b, 0.0, 1.0));
            let Kind::Beta { table, .. } = &dist.kind else {
                panic!("beta without a table");
            };
            let mut worst = 0.0f64;
            for u in accuracy_us() {
                let u = u.clamp(U_MIN, U_MAX);
                let (upper, t) = table.quantile_unit(u);
                let (upper_ref, t_ref) = beta_reference(a, b, u);
                assert_eq!(upper, upper_ref);
                let (p, q, v) = if upper { (b, a, 1.0 - u) } else { (a, b, u) };
                let exponent = (p * t_ref.ln()).abs() + ((q - 1.0) * (-t_ref).ln_1p()).abs();
                let ln_pdf = (p - 1.0) * t_ref.ln() + (q - 1.0) * (-t_ref).ln_1p() - ln_beta(p, q);
                let elasticity = t_ref * ln_pdf.exp() / v;
                let noise = 16.0 * f64::EPSILON * (4.0 + exponent + p + q);
                let resid = (beta_reg(p, q, t) - v).abs() / v;
                let resid_tol = noise + 2.0 * f64::EPSILON * elasticity;
                assert!(
                    resid <= resid_tol,
                    "beta({a}, {b}): u = {u:e}: relative residual {resid:e} > {resid_tol:e}"
                );
                let tol = noise / elasticity.min(1.0) + 2.0 * f64::EPSILON;
                let rel = (t - t_ref).abs() / t_ref;
                assert!(
                    rel <= tol,
                    "beta({a}, {b}): u = {u:e}: {t:e} vs reference {t_ref:e} (rel {rel:e}, tol {tol:e})"
                );
                worst = worst.max(rel);
            }
            println!("beta({a}, {b}): worst relative error in the solver's variable {worst:.1e}");
        }
    }

    #[test]
    fn beta_quantile_is_monotone_on_a_dense_grid() {
        for dist in [
            d(Distribution::beta(0.5, 0.5, 0.0, 1.0)),
            d(Distribution::beta(30.0, 2.0, 0.0, 1.0)),
            d(Distribution::pert(0.0, 0.9, 1.0, DEFAULT_PERT_LAMBDA)),
        ] {
            let n = 1_000_000;
            let mut prev = f64::NEG_INFINITY;
            let mut worst_drop = 0.0f64;
            for i in 0..n {
                let q = dist.quantile((i as f64 + 0.5) / n as f64);
                worst_drop = worst_drop.max(prev - q);
                prev = q;
            }
            assert!(
                worst_drop <= 1e-15,
                "{}: quantile drops by {worst_drop:e}",
                dist.describe()
            );
        }
    }

    #[test]
    fn truncated_normal_stays_in_far_tail_bounds() {
        let us = [
            0.0,
            U_MIN / 2.0,
            U_MIN,
            1e-12,
            1e-6,
            0.25,
            0.5,
            0.75,
            1.0 - 1e-6,
            U_MAX,
            1.0,
        ];
        let bounded = [
            (Some(30.0), Some(30.5)),
            (Some(35.0), None),
            (None, Some(-35.0)),
            (Some(-37.0), Some(-36.9)),
            (Some(8.0), Some(8.000001)),
            (Some(-1e3), Some(-30.0)),
            (Some(20.0), Some(1e3)),
        ];
        for (lo, hi) in bounded {
            let dist = d(Distribution::normal(
                100.0,
                2.0,
                lo.map(|z| 100.0 + 2.0 * z),
                hi.map(|z| 100.0 + 2.0 * z),
            ));
            let (smin, smax) = dist.support();
            let mut prev = f64::NEG_INFINITY;
            for u in us {
                let q = dist.quantile(u);
                assert!(q.is_finite(), "{}: q({u:e}) = {q}", dist.describe());
                assert!(
                    (smin..=smax).contains(&q),
                    "{}: q({u:e}) = {q} escapes [{smin}, {smax}]",
                    dist.describe()
                );
                assert!(q >= prev, "{}: not monotone at u = {u:e}", dist.describe());
                prev = q;
            }
            // The bulk must not pile up on a bound: the median sits strictly
            // inside (for the 1e-6-sd-wide interval, to within rounding).
            let med = dist.median();
            assert!(
                med > smin && med < smax,
                "{}: median {med}",
                dist.describe()
            );
        }
        // Upper tail relative precision: the median of normal(0,1) on
        // [30, inf) is Q^-1(Q(30)/2) = 30.023070467827311 (mpmath). Q(30) is
        // known to ~2 (30/sqrt 2)^2 eps = 1e-13 relative, so the median to
        // 1e-13 / 30 plus a couple of ulps (3.6e-15 each).
        let dist = d(Distribution::normal(0.0, 1.0, Some(30.0), None));
        let med = dist.median();
        assert!(
            (med - 30.023_070_467_827_31).abs() <= 1.2e-14,
            "median {med}"
        );
    }

    #[test]
    fn normal_quantile_matches_reference_values() {
        // High-precision values of Phi^-1(u) (mpmath, 50 digits).
        let refs = [
            (1e-300, -37.047_096_299_361_21),
            (1e-100, -21.273453560965326),
            (1e-10, -6.361_340_902_404_057),
            (1e-3, -3.090_232_306_167_813),
            (0.1, -1.2815515655446006),
            (0.25, -0.674_489_750_196_081_8),
            (0.6, 0.253_347_103_135_799_8),
            (0.99, 2.3263478740408408),
        ];
        for (u, z) in refs {
            let got = std_normal_quantile(u);
            assert!(
                (got - z).abs() <= 4e-16 * z.abs(),
                "Phi^-1({u:e}) = {got}, want {z}"
            );
        }
        let dist = d(Distribution::normal(10.0, 2.0, None, None));
        assert_eq!(dist.median(), 10.0);
        assert!((dist.quantile(0.99) - (10.0 + 2.0 * 2.3263478740408408)).abs() < 1e-14);
        // Clamping keeps the extremes finite and symmetric.
        let z = d(Distribution::normal(0.0, 1.0, None, None));
        assert_eq!(z.quantile(0.0), z.quantile(U_MIN));
        assert!(z.quantile(0.0).is_finite() && z.quantile(1.0).is_finite());
        assert!((z.quantile(0.0) + z.quantile(1.0)).abs() < 1e-7);
    }

    #[test]
    fn truncated_normal_moments_match_known_values() {
        // Standard normal on [0, inf): mean sqrt(2/pi), variance 1 - 2/pi.
        let half = d(Distribution::normal(0.0, 1.0, Some(0.0), None));
        let pi = std::f64::consts::PI;
        assert!((half.mean() - (2.0 / pi).sqrt()).abs() < 1e-15);
        assert!((half.variance() - (1.0 - 2.0 / pi)).abs() < 1e-15);
        // On [30, inf) the variance is ~1/a^2 (asymptotic 1/a^2 - 6/a^4).
        let far = d(Distribution::normal(0.0, 1.0, Some(30.0), None));
        let a: f64 = 30.0;
        let approx = 1.0 / (a * a) - 6.0 / a.powi(4) + 50.0 / a.powi(6);
        assert!(((far.variance() - approx) / approx).abs() < 1e-4);
        // Narrow intervals: nearly uniform.
        let narrow = d(Distribution::normal(0.0, 1.0, Some(0.0), Some(1e-6)));
        assert!((narrow.mean() - 0.5e-6).abs() < 1e-15);
        assert!((narrow.variance() / (1e-12 / 12.0) - 1.0).abs() < 1e-6);
    }

    #[test]
    fn quantile_is_exact_for_simple_kinds() {
        let t = d(Distribution::triangular(0.0, 0.5, 1.0));
        assert_eq!(t.quantile(0.125), 0.25);
        assert_eq!(t.quantile(0.5), 0.5);
        let u = d(Distribution::uniform(2.0, 4.0));
        assert_eq!(u.quantile(0.25), 2.5);
        let b = d(Distribution::bernoulli(0.3));
        assert_eq!(b.quantile(0.69), 0.0);
        assert_eq!(b.quantile(0.71), 1.0);
        assert_eq!(d(Distribution::bernoulli(1.0)).quantile(0.0), 1.0);
        assert_eq!(d(Distribution::bernoulli(0.0)).quantile(1.0), 0.0);
        let disc = d(Distribution::discrete(
            vec![3.0, 1.0, 2.0],
            vec![0.5, 0.2, 0.3],
        ));
        assert_eq!(disc.quantile(0.1), 1.0);
        assert_eq!(disc.quantile(0.2), 2.0); // cumulative share must exceed u
        assert_eq!(disc.quantile(0.49), 2.0);
        assert_eq!(disc.quantile(0.51), 3.0);
        assert_eq!(disc.support(), (1.0, 3.0));
        let ln = d(Distribution::lognormal(1.0, 0.5));
        assert!((ln.median() - 1f64.exp()).abs() < 1e-15);
        let f = d(Distribution::fixed(-2.5));
        assert_eq!(f.quantile(0.3), -2.5);
        assert!(f.is_fixed() && !u.is_fixed());
        assert!(d(Distribution::bernoulli(0.0)).is_fixed());
        assert!(d(Distribution::discrete(vec![2.0, 2.0], vec![1.0, 3.0])).is_fixed());
    }

    #[test]
    fn pert_matches_its_beta() {
        // PERT(min, mode, max, lambda) is Beta(alpha, beta) on [min, max].
        let p = d(Distribution::pert(10.0, 12.0, 30.0, 6.0));
        let b = d(Distribution::beta(1.6, 6.4, 10.0, 30.0));
        assert!((p.mean() - b.mean()).abs() < 1e-12);
        assert!((p.mean() - (10.0 + 6.0 * 12.0 + 30.0) / 8.0).abs() < 1e-12);
        assert!((p.variance() - b.variance()).abs() < 1e-12);
        for u in [1e-6, 0.1, 0.5, 0.9, 1.0 - 1e-6] {
            assert!((p.quantile(u) - b.quantile(u)).abs() < 1e-11);
        }
    }

    fn err_key(r: Result<Distribution, DistError>) -> &'static str {
        match r {
            Ok(dist) => panic!("expected an error, got {}", dist.describe()),
            Err(e) => {
                assert!(!e.message.is_empty());
                e.key
            }
        }
    }

    #[test]
    fn validation_errors_name_the_key() {
        let nan = f64::NAN;
        let inf = f64::INFINITY;
        assert_eq!(err_key(Distribution::fixed(nan)), "value");
        assert_eq!(err_key(Distribution::fixed(inf)), "value");
        assert_eq!(err_key(Distribution::uniform(nan, 1.0)), "min");
        assert_eq!(err_key(Distribution::uniform(0.0, inf)), "max");
        assert_eq!(err_key(Distribution::uniform(1.0, 1.0)), "max");
        assert_eq!(err_key(Distribution::uniform(2.0, 1.0)), "max");
        assert_eq!(err_key(Distribution::uniform(-1e308, 1e308)), "max");
        assert_eq!(err_key(Distribution::normal(nan, 1.0, None, None)), "mean");
        assert_eq!(err_key(Distribution::normal(0.0, -1.0, None, None)), "sd");
        assert_eq!(err_key(Distribution::normal(0.0, 0.0, None, None)), "sd");
        assert_eq!(err_key(Distribution::normal(0.0, inf, None, None)), "sd");
        assert_eq!(err_key(Distribution::normal(0.0, 1e307, None, None)), "sd");
        assert_eq!(
            err_key(Distribution::normal(0.0, 1.0, Some(nan), None)),
            "min"
        );
        assert_eq!(
            err_key(Distribution::normal(0.0, 1.0, None, Some(inf))),
            "max"
        );
        assert_eq!(
            err_key(Distribution::normal(0.0, 1.0, Some(1.0), Some(1.0))),
            "max"
        );
        assert_eq!(
            err_key(Distribution::normal(0.0, 1.0, Some(2.0), Some(1.0))),
            "max"
        );
        // No probability mass left: far right of the mean blames min, far
        // left blames max.
        assert_eq!(
            err_key(Distribution::normal(0.0, 1.0, Some(40.0), Some(41.0))),
            "min"
        );
        assert_eq!(
            err_key(Distribution::normal(0.0, 1.0, Some(40.0), None)),
            "min"
        );
        assert_eq!(
            err_key(Distribution::normal(0.0, 1.0, Some(-41.0), Some(-40.0))),
            "max"
        );
        assert_eq!(
            err_key(Distribution::normal(0.0, 1.0, None, Some(-40.0))),
            "max"
        );
        assert_eq!(err_key(Distribution::lognormal(inf, 1.0)), "mu");
        assert_eq!(err_key(Distribution::lognormal(0.0, 0.0)), "sigma");
        assert_eq!(err_key(Distribution::lognormal(0.0, 40.0)), "sigma");
        assert_eq!(err_key(Distribution::triangular(0.0, 1.4, 1.0)), "mode");
        assert_eq!(err_key(Distribution::triangular(0.0, -0.1, 1.0)), "mode");
        assert_eq!(err_key(Distribution::triangular(0.0, nan, 1.0)), "mode");
        assert_eq!(err_key(Distribution::triangular(1.0, 1.0, 1.0)), "max");
        assert_eq!(
            err_key(Distribution::pert(0.0, 1.4, 1.0, DEFAULT_PERT_LAMBDA)),
            "mode"
        );
        assert_eq!(err_key(Distribution::pert(0.0, 0.5, 1.0, 0.0)), "lambda");
        assert_eq!(err_key(Distribution::pert(0.0, 0.5, 1.0, -4.0)), "lambda");
        assert_eq!(err_key(Distribution::pert(0.0, 0.5, 1.0, nan)), "lambda");
        assert_eq!(err_key(Distribution::pert(0.0, 0.5, 1.0, 1e6)), "lambda");
        assert_eq!(err_key(Distribution::beta(0.0, 1.0, 0.0, 1.0)), "alpha");
        assert_eq!(err_key(Distribution::beta(-2.0, 1.0, 0.0, 1.0)), "alpha");
        assert_eq!(err_key(Distribution::beta(1.0, nan, 0.0, 1.0)), "beta");
        assert_eq!(err_key(Distribution::beta(1.0, 1e5, 0.0, 1.0)), "beta");
        assert_eq!(err_key(Distribution::beta(1.0, 0.01, 0.0, 1.0)), "beta");
        assert_eq!(err_key(Distribution::beta(1.0, 1.0, 2.0, 1.0)), "max");
        assert_eq!(err_key(Distribution::beta(1.0, 1.0, inf, 2.0)), "min");
        assert_eq!(err_key(Distribution::bernoulli(1.2)), "p");
        assert_eq!(err_key(Distribution::bernoulli(-0.1)), "p");
        assert_eq!(err_key(Distribution::bernoulli(nan)), "p");
        assert_eq!(err_key(Distribution::discrete(vec![], vec![])), "values");
        assert_eq!(
            err_key(Distribution::discrete(vec![1.0, nan], vec![1.0, 1.0])),
            "values"
        );
        assert_eq!(
            err_key(Distribution::discrete(vec![1.0, 2.0, 3.0], vec![1.0, 1.0])),
            "weights"
        );
        assert_eq!(
            err_key(Distribution::discrete(
                vec![1.0, 2.0, 3.0],
                vec![1.0, 1.0, 0.0]
            )),
            "weights"
        );
        assert_eq!(
            err_key(Distribution::discrete(vec![1.0, 2.0], vec![1.0, -1.0])),
            "weights"
        );
        assert_eq!(
            err_key(Distribution::discrete(vec![1.0, 2.0], vec![inf, 1.0])),
            "weights"
        );
        assert_eq!(
            err_key(Distribution::discrete(vec![1.0, 2.0], vec![1e308, 1e308])),
            "weights"
        );
        // Spec goes through the same checks.
        assert_eq!(err_key(Distribution::new(Spec::Bernoulli { p: 2.0 })), "p");
    }

    #[test]
    fn validation_messages_show_values_and_fixes() {
        let msg = |r: Result<Distribution, DistError>| match r {
            Ok(_) => panic!("expected an error"),
            Err(e) => e.to_string(),
        };
        let m = msg(Distribution::normal(0.0, -1.0, None, None));
        assert!(m.starts_with("sd must be > 0, got -1"), "{m}");
        let m = msg(Distribution::triangular(0.0, 1.4, 1.0));
        assert_eq!(m, "mode 1.4 is outside [min, max] = [0, 1]");
        let m = msg(Distribution::discrete(
            vec![1.0, 2.0, 3.0],
            vec![1.0, 1.0, 0.0],
        ));
        assert!(m.contains("weight 3 is 0"), "{m}");
        let m = msg(Distribution::discrete(vec![1.0, 2.0, 3.0], vec![1.0, 1.0]));
        assert_eq!(m, "values and weights must have the same length (3 vs 2)");
        let m = msg(Distribution::bernoulli(1.2));
        assert_eq!(m, "p must be in [0, 1], got 1.2");
        let m = msg(Distribution::normal(0.0, 1.0, Some(40.0), Some(41.0)));
        assert!(
            m.contains("[40, 41]") && m.contains("no probability mass"),
            "{m}"
        );
        let m = msg(Distribution::fixed(f64::NAN));
        assert_eq!(m, "value must be a finite number, got NaN");
    }

    #[test]
    fn describe_formats_without_trailing_zeros() {
        let cases = [
            (
                Distribution::pert(0.5, 0.75, 1.0, DEFAULT_PERT_LAMBDA),
                "pert(0.5, 0.75, 1)",
            ),
            (
                Distribution::pert(0.0, 2.0, 10.0, 6.0),
                "pert(0, 2, 10; lambda 6)",
            ),
            (
                Distribution::normal(0.0, 1.0, Some(-1.0), Some(2.0)),
                "normal(0, 1) on [-1, 2]",
            ),
            (Distribution::normal(0.0, 1.0, None, None), "normal(0, 1)"),
            (
                Distribution::normal(5.0, 2.0, Some(0.0), None),
                "normal(5, 2) on [0, inf)",
            ),
            (
                Distribution::discrete(vec![1.0, 2.0, 3.0], vec![0.2, 0.3, 0.5]),
                "discrete([1, 2, 3]; [0.2, 0.3, 0.5])",
            ),
            (Distribution::fixed(3.0), "fixed(3)"),
            (Distribution::fixed(-0.0), "fixed(0)"),
            (Distribution::uniform(1e-7, 2.5e20), "uniform(1e-7, 2.5e20)"),
            (Distribution::lognormal(0.0, 0.25), "lognormal(0, 0.25)"),
            (
                Distribution::triangular(1.0, 2.0, 4.0),
                "triangular(1, 2, 4)",
            ),
            (Distribution::beta(2.0, 5.0, 0.0, 1.0), "beta(2, 5)"),
            (
                Distribution::beta(2.0, 5.0, 10.0, 20.0),
                "beta(2, 5) on [10, 20]",
            ),
            (Distribution::bernoulli(0.125), "bernoulli(0.125)"),
        ];
        for (dist, want) in cases {
            let dist = d(dist);
            assert_eq!(dist.describe(), want);
            assert_eq!(dist.to_string(), want);
        }
    }

    #[test]
    fn distributions_can_be_shared_across_threads() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<Distribution>();
        assert_send_sync::<DistError>();
    }

    #[test]
    fn spec_round_trips_and_equality_is_by_value() {
        for dist in cases() {
            let again = d(Distribution::new(dist.spec().clone()));
            assert_eq!(again, dist);
            let clone = dist.clone();
            assert_eq!(clone, dist);
        }
        assert_ne!(
            d(Distribution::beta(2.0, 5.0, 0.0, 1.0)),
            d(Distribution::beta(5.0, 2.0, 0.0, 1.0))
        );
        let p = d(Distribution::pert(0.0, 1.0, 2.0, DEFAULT_PERT_LAMBDA));
        assert_eq!(p.kind_name(), "pert");
        assert!(
            format!("{p:?}").len() < 400,
            "Debug must not dump the table"
        );
    }

    /// Valid distributions of every kind over wide parameter ranges.
    fn arb_distribution() -> impl Strategy<Value = Distribution> {
        let loc = -1e3..1e3f64;
        let pos = 1e-3..1e3f64;
        let frac = 0.0..=1.0f64;
        prop_oneof![
            loc.clone().prop_map(|v| d(Distribution::fixed(v))),
            (loc.clone(), pos.clone()).prop_map(|(a, w)| d(Distribution::uniform(a, a + w))),
            (
                loc.clone(),
                pos.clone(),
                proptest::option::of(-40.0..40.0f64),
                proptest::option::of(1e-3..20.0f64)
            )
                .prop_filter_map("no mass", |(m, s, lo, w)| {
                    let lo_x = lo.map(|z| m + s * z);
                    let hi_x = match (lo, w) {
                        (Some(z), Some(w)) => Some(m + s * (z + w)),
                        (None, Some(w)) => Some(m + s * (w - 10.0)),
                        _ => None,
                    };
                    Distribution::normal(m, s, lo_x, hi_x).ok()
                }),
            (-5.0..5.0f64, 1e-3..5.0f64).prop_map(|(m, s)| d(Distribution::lognormal(m, s))),
            (loc.clone(), pos.clone(), frac.clone())
                .prop_map(|(a, w, f)| d(Distribution::triangular(a, a + f * w, a + w))),
            (loc.clone(), pos.clone(), frac.clone(), 0.1..100.0f64)
                .prop_map(|(a, w, f, l)| d(Distribution::pert(a, a + f * w, a + w, l))),
            (0.1..50.0f64, 0.1..50.0f64, loc.clone(), pos.clone())
                .prop_map(|(al, be, a, w)| d(Distribution::beta(al, be, a, a + w))),
            frac.clone().prop_map(|p| d(Distribution::bernoulli(p))),
            proptest::collection::vec((loc, 1e-3..10.0f64), 1..40).prop_map(|vw| {
                let (v, w) = vw.into_iter().unzip();
                d(Distribution::discrete(v, w))
            }),
        ]
    }

    /// Allowed decrease of the quantile between u1 < u2: none for the closed
    /// forms, rounding of the special functions for the others.
    fn monotone_slack(dist: &Distribution, q: f64) -> f64 {
        match dist.kind_name() {
            "normal" | "lognormal" => 4.0 * f64::EPSILON * q.abs(),
            "beta" | "pert" => {
                let (lo, hi) = dist.support();
                4.0 * f64::EPSILON * (hi - lo).max(q.abs())
            }
            _ => 0.0,
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]
        #[test]
        fn quantile_is_monotone_and_within_support(
            dist in arb_distribution(),
            u1 in 0.0..=1.0f64,
            u2 in 0.0..=1.0f64,
            tail in 1e-16..1e-3f64,
        ) {
            let (lo, hi) = dist.support();
            let mut us = [u1, u2, tail, 1.0 - tail, u1 * tail];
            us.sort_by(f64::total_cmp);
            let qs: Vec<f64> = us.iter().map(|&u| dist.quantile(u)).collect();
            for (&u, &q) in us.iter().zip(&qs) {
                prop_assert!(q.is_finite(), "{}: q({}) = {}", dist.describe(), u, q);
                prop_assert!(q >= lo && q <= hi, "{}: q({}) = {} outside [{}, {}]", dist.describe(), u, q, lo, hi);
            }
            for i in 1..qs.len() {
                prop_assert!(
                    qs[i] >= qs[i - 1] - monotone_slack(&dist, qs[i]),
                    "{}: q({}) = {} > q({}) = {}", dist.describe(), us[i - 1], qs[i - 1], us[i], qs[i]
                );
            }
        }
    }
}
