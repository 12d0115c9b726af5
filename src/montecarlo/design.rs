//! Where each run's parameter values come from: plain Monte Carlo or a Latin hypercube.
//!
//! Both designs draw from the run's own named streams, so a run's parameters depend only on the
//! seed, the run index and (for the hypercube) the design size: still reproducible at any thread
//! count, with no table of N samples held in memory.

use rand::{RngCore, SeedableRng};
use rand_xoshiro::SplitMix64;

use super::StudyConfig;
use crate::distribution::copula::MAX_CORRELATED;
use crate::engine::LANES;
use crate::model::{CorrelationModel, Model};
use crate::rng::RunStream;

/// How parameter values are drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Sampling {
    /// Each parameter's uniform number is independent across runs.
    #[default]
    MonteCarlo,
    /// Latin hypercube: for each parameter, the N runs fall one in each of N equal-probability
    /// strata, in an order shuffled independently per parameter.
    LatinHypercube,
}

impl Sampling {
    pub fn name(self) -> &'static str {
        match self {
            Sampling::MonteCarlo => "monte-carlo",
            Sampling::LatinHypercube => "latin-hypercube",
        }
    }
}

/// Rows of given parameter values (`run --design FILE`): run `r` takes row `r`'s value of each
/// listed parameter, so that another tool's design (SALib, EMA Workbench, an optimiser, a
/// spreadsheet) drives the study; the parameters not listed are sampled as usual, from their
/// own streams, so they keep common random numbers with a plain study.
#[derive(Debug, Clone, PartialEq)]
pub struct DesignRows {
    /// The file as given, and the SHA-256 of its bytes (the design is part of the result).
    pub file: String,
    pub sha256: String,
    /// Parameter indexes, in the file's column order.
    pub columns: Vec<usize>,
    /// Row-major: `values[row * columns.len() + k]`.
    pub values: Vec<f64>,
}

impl DesignRows {
    pub fn rows(&self) -> u64 {
        (self.values.len() / self.columns.len().max(1)) as u64
    }
}

/// Largest design a Latin hypercube supports (the jitter inside a stratum needs spare bits).
pub const MAX_LHS_RUNS: u64 = 1 << 30;

/// The uniform number for one parameter in one run.
///
/// `jitter` is the run's own uniform draw for the parameter; with a hypercube of `n` runs it is
/// placed inside the stratum a keyed permutation assigns to run `run`.
#[inline]
pub fn design_uniform(sampling: Sampling, jitter: f64, run: u64, n: u64, key: u64) -> f64 {
    match sampling {
        Sampling::MonteCarlo => jitter,
        Sampling::LatinHypercube => {
            let stratum = permute(run % n, n, key);
            // Keep the jitter clear of both stratum edges so rounding cannot leave the stratum.
            let margin = 1.0 / (1u64 << 20) as f64;
            let v = jitter.clamp(margin, 1.0 - margin);
            (stratum as f64 + v) / n as f64
        }
    }
}

/// A pseudo-random permutation of `0..n`, keyed: a balanced Feistel network on the smallest
/// even number of bits that covers `n`, with cycle walking to stay below `n`.
pub fn permute(index: u64, n: u64, key: u64) -> u64 {
    debug_assert!(index < n);
    if n <= 1 {
        return 0;
    }
    let bits = (64 - (n - 1).leading_zeros()).max(2);
    let half = bits.div_ceil(2);
    let mask = (1u64 << half) - 1;
    let mut x = index;
    loop {
        let mut left = x >> half;
        let mut right = x & mask;
        for round in 0..4u64 {
            let f = SplitMix64::seed_from_u64(right ^ key ^ (round << 60)).next_u64() & mask;
            let next = left ^ f;
            left = right;
            right = next;
        }
        x = (left << half) | right;
        if x < n {
            return x;
        }
    }
}

/// Draws the parameter values of design point `point` into `out`: each parameter's quantile
/// function at a uniform number from its own named stream, moved by the scenario's copula when
/// the parameter is correlated. A point is a run, or with replications a parameter set
/// ([`StudyConfig::parameter_set`]), whose `stream` is `RunStream::new(seed, point)`. `u_out`
/// gets the uniform each value is the quantile at (after the copula).
pub fn sample_parameters(
    model: &Model,
    config: &StudyConfig,
    point: u64,
    stream: RunStream,
    out: &mut [f64],
    u_out: &mut [f64],
) {
    sample_lanes(model, config, &[point], &[stream], out, u_out);
}

/// [`sample_parameters`] for the design points `points` at once (at most [`LANES`]), lane-major
/// (`lane * p + i`): each parameter's quantiles are taken together.
///
/// With `[correlations]`, three passes: every parameter's uniform (plain or hypercube), then the
/// copula on the correlated ones, run by run, then the quantiles; without, one. A parameter in no
/// correlation keeps its uniform, so its value is the same bits as in a scenario without
/// `[correlations]`. `--set` and `--design` values replace a parameter's value after all this, so
/// its correlated partners keep the draws the copula gave them.
pub(super) fn sample_lanes(
    model: &Model,
    config: &StudyConfig,
    points: &[u64],
    streams: &[RunStream],
    out: &mut [f64],
    u_out: &mut [f64],
) {
    #[cfg(target_arch = "x86_64")]
    if crate::simd::avx2() {
        // SAFETY: `avx2()` is true only when the CPU has AVX2.
        return unsafe { sample_lanes_avx2(model, config, points, streams, out, u_out) };
    }
    sample_lanes_in(model, config, points, streams, out, u_out)
}

/// [`sample_lanes_in`] compiled for AVX2: the draws' mixing and the quantiles four lanes per
/// instruction. The same integer and IEEE operations, so the same bits.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn sample_lanes_avx2(
    model: &Model,
    config: &StudyConfig,
    points: &[u64],
    streams: &[RunStream],
    out: &mut [f64],
    u_out: &mut [f64],
) {
    sample_lanes_in(model, config, points, streams, out, u_out)
}

#[inline(always)]
fn sample_lanes_in(
    model: &Model,
    config: &StudyConfig,
    points: &[u64],
    streams: &[RunStream],
    out: &mut [f64],
    u_out: &mut [f64],
) {
    // A full batch is one copy of the loops with a trip count known when compiling, which the
    // compiler vectorises (the draws' conversion to doubles, the quantiles' square roots);
    // with a count known only when running, it kept them scalar.
    match <&[RunStream; LANES]>::try_from(streams) {
        Ok(full) => sample_each(model, config, points, full, out, u_out),
        Err(_) => sample_each(model, config, points, streams, out, u_out),
    }
}

#[inline(always)]
fn sample_each(
    model: &Model,
    config: &StudyConfig,
    points: &[u64],
    streams: &[RunStream],
    out: &mut [f64],
    u_out: &mut [f64],
) {
    let p = model.parameters.len();
    let mut us = [0.0; LANES];
    let mut values = [0.0; LANES];
    let live = streams.len();
    // A function, not a closure, so that it is inlined into (and compiled for) the AVX2 copy.
    #[inline(always)]
    fn uniforms(
        model: &Model,
        config: &StudyConfig,
        points: &[u64],
        streams: &[RunStream],
        i: usize,
        us: &mut [f64],
    ) {
        let parameter = &model.parameters[i];
        // The draws first, in one loop with no branch, so that it vectorises; a hypercube
        // then places each in its stratum (plain sampling keeps the draw as it is).
        for (u, stream) in us.iter_mut().zip(streams) {
            *u = stream.uniform(parameter.stream, 0);
        }
        if config.sampling != Sampling::MonteCarlo {
            for (u, &point) in us.iter_mut().zip(points) {
                *u = design_uniform(
                    config.sampling,
                    *u,
                    point,
                    config.parameter_sets(),
                    parameter.stream ^ config.seed,
                );
            }
        }
    }
    // Without correlations one pass, uniform then quantile, keeps the sampling as cheap as
    // before the copula existed.
    if let Some(correlations) = &model.correlations {
        for i in 0..p {
            uniforms(model, config, points, streams, i, &mut us[..live]);
            for lane in 0..live {
                u_out[lane * p + i] = us[lane];
            }
        }
        correlate_lanes(correlations, &mut u_out[..live * p], p);
    }
    for (i, parameter) in model.parameters.iter().enumerate() {
        if model.correlations.is_some() {
            for lane in 0..live {
                us[lane] = u_out[lane * p + i];
            }
        } else {
            uniforms(model, config, points, streams, i, &mut us[..live]);
        }
        parameter
            .distribution
            .quantile_each(&us[..live], &mut values[..live]);
        for lane in 0..live {
            u_out[lane * p + i] = us[lane];
            out[lane * p + i] = values[lane];
        }
    }
    for &(i, value) in &config.fixed {
        for lane in 0..live {
            out[lane * p + i] = value;
        }
    }
    if let Some(design) = &config.design {
        let width = design.columns.len();
        for lane in 0..live {
            let row = points[lane] as usize;
            let given = &design.values[row * width..(row + 1) * width];
            for (&i, &value) in design.columns.iter().zip(given) {
                out[lane * p + i] = value;
            }
        }
    }
}

/// Applies the copula to each run's uniforms (`uniforms`: lane-major rows of `p`), in place.
/// A pure function of each row, so a run's values do not depend on its neighbours.
fn correlate_lanes(correlations: &CorrelationModel, uniforms: &mut [f64], p: usize) {
    let n = correlations.members.len();
    let mut us = [0.0; MAX_CORRELATED];
    let mut z = [0.0; MAX_CORRELATED];
    for row in uniforms.chunks_exact_mut(p) {
        for (u, &i) in us.iter_mut().zip(&correlations.members) {
            *u = row[i];
        }
        correlations.copula.correlate(&mut us[..n], &mut z[..n]);
        for (&u, &i) in us.iter().zip(&correlations.members) {
            row[i] = u;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permute_is_a_bijection() {
        for n in [1u64, 2, 3, 7, 64, 100, 1000, 4097] {
            let mut seen = vec![false; n as usize];
            for i in 0..n {
                let p = permute(i, n, 0xabcdef);
                assert!(p < n);
                assert!(!seen[p as usize], "n = {n}: {p} twice");
                seen[p as usize] = true;
            }
        }
    }

    #[test]
    fn each_stratum_holds_exactly_one_sample_per_parameter() {
        for n in [10u64, 333, 5000] {
            for key in [1u64, 2, 99] {
                let mut counts = vec![0u32; n as usize];
                for run in 0..n {
                    let jitter = crate::rng::RunStream::new(3, run).uniform(key, 0);
                    let u = design_uniform(Sampling::LatinHypercube, jitter, run, n, key);
                    assert!(u > 0.0 && u < 1.0);
                    counts[(u * n as f64) as usize] += 1;
                }
                assert!(counts.iter().all(|c| *c == 1), "n = {n}, key = {key}");
            }
        }
    }

    #[test]
    fn jitter_at_the_edges_stays_in_its_stratum() {
        let n = 1_000_000;
        for jitter in [f64::MIN_POSITIVE, 1e-300, 0.5, 1.0 - f64::EPSILON] {
            for run in [0, 1, n - 1] {
                let u = design_uniform(Sampling::LatinHypercube, jitter, run, n, 5);
                assert_eq!((u * n as f64) as u64, permute(run, n, 5));
            }
        }
    }
}
