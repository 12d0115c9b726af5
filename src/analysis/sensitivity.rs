//! What matters most: one-at-a-time tornado swings and variance-based Sobol indices.
//!
//! Both work in the parameters' probability space: a parameter's value is its quantile function
//! at a uniform number, so "the 5th percentile" or "an independent draw" mean the same thing for
//! every distribution.

use std::sync::atomic::{AtomicBool, Ordering};

use rand::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::engine::{Batches, RunJob};
use crate::model::Model;
use crate::montecarlo::first_failure::FirstFailure;
use crate::montecarlo::{run_study, StudyConfig, StudyError};
use crate::rng::RunStream;

/// What a sensitivity analysis measures.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// The indicator of an outcome (its probability, averaged over runs).
    Outcome(usize),
    /// An end-of-run metric.
    Metric(usize),
}

impl Target {
    /// Resolves an outcome or metric id; `None` picks the first outcome.
    pub fn resolve(model: &Model, id: Option<&str>) -> Result<Target, String> {
        let Some(id) = id else {
            return Ok(Target::Outcome(0));
        };
        if let Some(i) = model.outcome_index(id) {
            return Ok(Target::Outcome(i));
        }
        if let Some(i) = model.metric_index(id) {
            return Ok(Target::Metric(i));
        }
        let names: Vec<&str> = model
            .outcomes
            .iter()
            .map(|o| o.id.as_str())
            .chain(model.metrics.iter().map(|m| m.id.as_str()))
            .collect();
        let hint = crate::diagnostic::suggest(id, names.iter().copied())
            .unwrap_or_else(|| format!("outcomes and metrics: {}", names.join(", ")));
        Err(format!(
            "unknown target `{id}`: not an outcome or a metric of this scenario ({hint})"
        ))
    }

    pub fn describe(&self, model: &Model) -> (String, String) {
        match self {
            Target::Outcome(i) => (
                model.outcomes[*i].id.clone(),
                format!("P({})", model.outcomes[*i].label),
            ),
            Target::Metric(i) => (
                model.metrics[*i].id.clone(),
                model.metrics[*i].doc.label.clone(),
            ),
        }
    }

    fn of_run(&self, outcome: usize, metrics: &[f64]) -> f64 {
        match self {
            Target::Outcome(i) => f64::from(u8::from(outcome == *i)),
            Target::Metric(i) => metrics[*i],
        }
    }
}

/// Parameters an analysis varies: not fixed by their distribution, nor held by `--set`.
pub fn varied_parameters(model: &Model, config: &StudyConfig) -> Vec<usize> {
    (0..model.parameters.len())
        .filter(|i| {
            !model.parameters[*i].distribution.is_fixed()
                && !config.fixed.iter().any(|(f, _)| f == i)
        })
        .collect()
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TornadoBar {
    pub parameter: String,
    pub label: String,
    pub unit: String,
    pub low_value: f64,
    pub high_value: f64,
    /// Target with the parameter at its 5th percentile (others at their medians).
    pub at_low: f64,
    pub at_high: f64,
    pub swing: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tornado {
    pub target: String,
    pub target_label: String,
    /// `outcome` (the target is a probability) or `metric`.
    #[serde(default)]
    pub target_kind: String,
    /// The metric's unit; empty for an outcome.
    #[serde(default)]
    pub target_unit: String,
    pub runs_per_point: u64,
    pub seed: u64,
    /// Version of alliance-sim that produced this result.
    #[serde(default)]
    pub version: String,
    /// Target with every varied parameter at its median.
    pub baseline: f64,
    /// Sorted by swing, largest first.
    pub bars: Vec<TornadoBar>,
}

fn target_value(target: &Target, summary: &crate::montecarlo::Summary) -> f64 {
    match target {
        Target::Outcome(i) => summary.outcomes[*i].probability,
        Target::Metric(i) => summary.metrics[*i].mean,
    }
}

/// One-at-a-time swings between each varied parameter's 5th and 95th percentiles, the others
/// at their medians. With `[correlations]`, a swing moves its parameter alone: the partners
/// stay held at their medians, so a bar is the parameter's own effect, not its partners'.
/// Every point runs `config.runs` runs on common random numbers.
pub fn tornado(
    model: &Model,
    config: &StudyConfig,
    target: &Target,
    progress: &(dyn Fn(u64) + Sync),
    cancel: &AtomicBool,
) -> Result<Tornado, StudyError> {
    let varied = varied_parameters(model, config);
    let medians: Vec<(usize, f64)> = varied
        .iter()
        .map(|&i| (i, model.parameters[i].distribution.quantile(0.5)))
        .collect();
    let study = |held: Vec<(usize, f64)>| -> Result<f64, StudyError> {
        let mut fixed = config.fixed.clone();
        fixed.extend(held);
        let c = StudyConfig {
            fixed,
            timeline: false,
            ..config.clone()
        };
        let summary = run_study(model, &c, None, progress, cancel)?;
        Ok(target_value(target, &summary))
    };
    let baseline = study(medians.clone())?;
    let mut bars = Vec::with_capacity(varied.len());
    for &p in &varied {
        let d = &model.parameters[p].distribution;
        let (low_value, high_value) = (d.quantile(0.05), d.quantile(0.95));
        let with = |v: f64| {
            medians
                .iter()
                .map(|&(i, m)| (i, if i == p { v } else { m }))
                .collect::<Vec<_>>()
        };
        let at_low = study(with(low_value))?;
        let at_high = study(with(high_value))?;
        let doc = &model.parameters[p].doc;
        bars.push(TornadoBar {
            parameter: model.parameters[p].id.clone(),
            label: doc.label.clone(),
            unit: doc.unit.clone(),
            low_value,
            high_value,
            at_low,
            at_high,
            swing: (at_high - at_low).abs(),
        });
    }
    bars.sort_by(|a, b| {
        b.swing
            .total_cmp(&a.swing)
            .then_with(|| a.parameter.cmp(&b.parameter))
    });
    let (id, label) = target.describe(model);
    let (target_kind, target_unit) = match target {
        Target::Outcome(_) => ("outcome".to_string(), String::new()),
        Target::Metric(i) => ("metric".to_string(), model.metrics[*i].doc.unit.clone()),
    };
    Ok(Tornado {
        target: id,
        target_label: label,
        target_kind,
        target_unit,
        runs_per_point: config.runs,
        seed: config.seed,
        version: env!("CARGO_PKG_VERSION").to_string(),
        baseline,
        bars,
    })
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SobolIndex {
    pub parameter: String,
    pub label: String,
    pub first_order: f64,
    pub first_order_ci95: [f64; 2],
    pub total: f64,
    pub total_ci95: [f64; 2],
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sobol {
    pub target: String,
    pub target_label: String,
    /// Rows of each Saltelli matrix; the model ran `base_rows * (parameters + 2)` times.
    pub base_rows: u64,
    pub model_runs: u64,
    pub seed: u64,
    /// Version of alliance-sim that produced this result.
    #[serde(default)]
    pub version: String,
    pub bootstrap_resamples: usize,
    pub variance: f64,
    /// Sorted by total index, largest first.
    pub indices: Vec<SobolIndex>,
}

/// Design keys of the two independent Saltelli matrices.
const MATRIX_A: u64 = 1;
const MATRIX_B: u64 = 2;

/// First-order (Saltelli 2010) and total (Jansen 1999) Sobol indices from Saltelli's design:
/// matrices A and B of `config.runs` rows, and for each varied parameter i the matrix A with
/// column i from B. Row j of every matrix shares run j's stream for events and decisions, so
/// the model's own randomness is common to the matrices. Intervals: percentile bootstrap over
/// rows with `resamples` resamples.
///
/// The indices assume independent inputs: each column is drawn from its own stream, and the
/// scenario's `[correlations]` are not applied (the CLI refuses a study whose varied
/// parameters are correlated).
pub fn sobol(
    model: &Model,
    config: &StudyConfig,
    target: &Target,
    resamples: usize,
    progress: &(dyn Fn(u64) + Sync),
    cancel: &AtomicBool,
) -> Result<Sobol, StudyError> {
    let varied = varied_parameters(model, config);
    let k = varied.len();
    let n = config.runs as usize;
    let width = k + 2;
    // values[j * width + c]: c = 0 for A, 1 for B, 2 + i for AB_i.
    let mut values = vec![0.0; n * width];
    let p = model.parameters.len();
    // A failed chunk does not stop the others, so that the failure reported is the one of the
    // lowest row at any thread count (see `FirstFailure`).
    let failure = FirstFailure::default();
    values
        .par_chunks_mut(width * 64)
        .enumerate()
        .try_for_each_init(
            || Batches::new(model, false),
            |runner, (chunk, out)| -> Result<(), StudyError> {
                if cancel.load(Ordering::Relaxed) {
                    return Err(StudyError::Cancelled);
                }
                if failure.skips((chunk * 64) as u64) {
                    return Ok(());
                }
                let rows = out.len() / width;
                // Every run of these rows: A, B, then A with column i from B, row by row.
                let mut params = vec![0.0; rows * width * p];
                let mut streams = Vec::with_capacity(rows);
                for (r, row) in params.chunks_exact_mut(width * p).enumerate() {
                    let j = (chunk * 64 + r) as u64;
                    let stream = RunStream::new(config.seed, j);
                    streams.push((j, stream));
                    let (a, rest) = row.split_at_mut(p);
                    let (b, abs) = rest.split_at_mut(p);
                    for (i, param) in model.parameters.iter().enumerate() {
                        a[i] = param
                            .distribution
                            .quantile(stream.with_design(MATRIX_A).uniform(param.stream, 0));
                        b[i] = param
                            .distribution
                            .quantile(stream.with_design(MATRIX_B).uniform(param.stream, 0));
                    }
                    for &(i, v) in &config.fixed {
                        a[i] = v;
                        b[i] = v;
                    }
                    for (c, &i) in varied.iter().enumerate() {
                        let ab = &mut abs[c * p..(c + 1) * p];
                        ab.copy_from_slice(a);
                        ab[i] = b[i];
                    }
                }
                let jobs: Vec<RunJob> = (0..rows * width)
                    .map(|at| {
                        let (run, stream) = streams[at / width];
                        RunJob {
                            run,
                            parameters: &params[at * p..(at + 1) * p],
                            stream,
                        }
                    })
                    .collect();
                let ran = runner.run_each(&jobs, |at, outcome, metrics| {
                    out[at] = target.of_run(outcome, metrics);
                });
                if let Err(e) = ran {
                    failure.record(e);
                    return Ok(());
                }
                progress((rows * width) as u64);
                Ok(())
            },
        )?;
    if let Some(e) = failure.into_error() {
        return Err(e.into());
    }

    let rows: Vec<usize> = (0..n).collect();
    let point = estimate(&values, width, k, &rows);
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(config.seed ^ 0x0005_0b01);
    let mut first = vec![Vec::with_capacity(resamples); k];
    let mut total = vec![Vec::with_capacity(resamples); k];
    let mut sample = vec![0usize; n];
    for _ in 0..resamples {
        for s in sample.iter_mut() {
            *s = rng.random_range(0..n);
        }
        let e = estimate(&values, width, k, &sample);
        for c in 0..k {
            first[c].push(e.first[c]);
            total[c].push(e.total[c]);
        }
    }
    let interval = |xs: &mut Vec<f64>| -> [f64; 2] {
        xs.retain(|x| x.is_finite());
        xs.sort_by(f64::total_cmp);
        if xs.is_empty() {
            return [f64::NAN, f64::NAN];
        }
        let at = |q: f64| xs[((q * (xs.len() - 1) as f64).round() as usize).min(xs.len() - 1)];
        [at(0.025), at(0.975)]
    };
    let mut indices: Vec<SobolIndex> = varied
        .iter()
        .enumerate()
        .map(|(c, &p)| SobolIndex {
            parameter: model.parameters[p].id.clone(),
            label: model.parameters[p].doc.label.clone(),
            first_order: point.first[c],
            first_order_ci95: interval(&mut first[c]),
            total: point.total[c],
            total_ci95: interval(&mut total[c]),
        })
        .collect();
    indices.sort_by(|a, b| {
        b.total
            .total_cmp(&a.total)
            .then_with(|| a.parameter.cmp(&b.parameter))
    });
    let (id, label) = target.describe(model);
    Ok(Sobol {
        target: id,
        target_label: label,
        base_rows: n as u64,
        model_runs: (n * width) as u64,
        seed: config.seed,
        version: env!("CARGO_PKG_VERSION").to_string(),
        bootstrap_resamples: resamples,
        variance: point.variance,
        indices,
    })
}

struct Estimate {
    variance: f64,
    first: Vec<f64>,
    total: Vec<f64>,
}

/// The estimators over the given rows (all rows, or a bootstrap resample).
fn estimate(values: &[f64], width: usize, k: usize, rows: &[usize]) -> Estimate {
    let n = rows.len() as f64;
    let (mut sum, mut sq) = (0.0, 0.0);
    for &j in rows {
        for c in 0..2 {
            let v = values[j * width + c];
            sum += v;
            sq += v * v;
        }
    }
    let mean = sum / (2.0 * n);
    let variance = (sq / (2.0 * n) - mean * mean).max(0.0);
    let mut first = vec![0.0; k];
    let mut total = vec![0.0; k];
    for c in 0..k {
        let (mut s, mut t) = (0.0, 0.0);
        for &j in rows {
            let row = &values[j * width..(j + 1) * width];
            let (fa, fb, fab) = (row[0], row[1], row[2 + c]);
            s += fb * (fab - fa);
            t += (fa - fab) * (fa - fab);
        }
        first[c] = s / n / variance;
        total[c] = t / (2.0 * n) / variance;
    }
    Estimate {
        variance,
        first,
        total,
    }
}
