//! Calibration against the record: which values of the judgement parameters make what really
//! happened likely, and how well the model forecasts a case it was not fitted to.
//!
//! Every case runs the same run indexes with one seed. A parameter's draw depends only on its id,
//! its distribution, the seed and the run, so run `i` draws the same value of a shared parameter
//! in every case, whichever story the case belongs to. Run `i`'s weight is the product over the
//! cases of the probability the model gave, in that run, to the option really taken (the logit
//! share when the decision was made, so a run is weighed by how likely its draw made the record,
//! not by the luck of its one choice). The weighted draws are the posterior (importance sampling
//! from the prior). Leave-one-case-out and time-ordered scores weigh the runs by the other cases,
//! or by the earlier ones, only: a forecast is never scored on a case its weights have seen.

use std::sync::atomic::AtomicBool;

use serde::Serialize;

use super::backtest::{brier, log_score, status_quo_forecast, BacktestError};
use crate::distribution::{Distribution, Spec};
use crate::model::{Model, Scored};
use crate::montecarlo::{self, RunRows, RunSink, StudyConfig};

/// Below this effective sample size a set of weights says too little to be trusted: the
/// command stops rather than print a score or a posterior carried by a handful of runs.
pub const MIN_EFFECTIVE_SAMPLE_SIZE: f64 = 100.0;

pub const METHOD: &str = "importance sampling from the prior: each run weighted by the product \
over the cases of the probability it gave the observed option";

#[derive(Debug, Clone)]
pub struct CalibrateConfig {
    pub runs: u64,
    /// One seed for every case (common random numbers are what makes the weights meaningful).
    pub seed: u64,
    pub min_effective_sample_size: f64,
}

#[derive(Debug, thiserror::Error)]
pub enum CalibrateError {
    #[error(transparent)]
    Backtest(#[from] BacktestError),
    #[error("no parameter of the cases is marked `calibrate = true`")]
    NothingToCalibrate,
    #[error("parameter `{parameter}` is marked `calibrate = true`, but no case's scored decision depends on it")]
    Unused { parameter: String },
    #[error("parameter `{parameter}` has one distribution in `{first}` and another in `{other}`; a calibrated parameter must be the same in every case")]
    DifferentPriors {
        parameter: String,
        first: String,
        other: String,
    },
    #[error("parameter `{parameter}` is fixed; only an uncertain parameter can be calibrated")]
    Fixed { parameter: String },
    #[error("in case `{file}`, the observed option `{observed}` has probability 0 in every run: no draw of the parameters explains it")]
    Impossible { file: String, observed: String },
    #[error("the weights collapse: {what} rest on an effective sample of {ess:.1} runs, below the minimum of {min}")]
    Collapsed { what: String, ess: f64, min: f64 },
}

#[derive(Debug, Clone, Serialize)]
pub struct CalibrationReport {
    pub version: String,
    pub method: String,
    pub runs_per_case: u64,
    pub seed: u64,
    /// The number of cases scored.
    pub cases: usize,
    pub minimum_effective_sample_size: f64,
    /// Of the in-sample weights (every case).
    pub effective_sample_size: f64,
    pub parameters: Vec<PosteriorSummary>,
    /// The model as written, every draw weighing the same.
    pub prior: ScoreSet,
    pub in_sample: ScoreSet,
    pub leave_one_out: ScoreSet,
    pub time_ordered: ScoreSet,
    pub baseline_status_quo: Option<BaselineScore>,
    pub baseline_uniform: BaselineScore,
    pub per_case: Vec<CaseCalibration>,
}

#[derive(Debug, Clone, Copy, Serialize)]
pub struct ScoreSet {
    pub mean_brier: f64,
    pub mean_log_score: f64,
    /// Cases whose observed option is the most likely.
    pub observed_most_likely: usize,
    /// The smallest effective sample size among this set's weights.
    pub min_effective_sample_size: f64,
}

#[derive(Debug, Clone, Copy, Serialize)]
pub struct BaselineScore {
    /// The cases it applies to (the status quo needs the case to name one).
    pub cases: usize,
    pub mean_brier: f64,
    pub mean_log_score: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct CaseCalibration {
    pub id: String,
    pub file: String,
    pub date: String,
    pub decision: String,
    pub observed: String,
    pub classes: Vec<String>,
    pub prior: CaseForecast,
    pub in_sample: CaseForecast,
    pub leave_one_out: CaseForecast,
    pub time_ordered: CaseForecast,
    /// Cases dated before this one: those the time-ordered forecast learnt from.
    pub earlier_cases: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct CaseForecast {
    /// One per class, in `classes` order.
    pub probabilities: Vec<f64>,
    /// Of the observed class.
    pub probability: f64,
    pub most_likely: String,
    pub observed_is_most_likely: bool,
    pub brier: f64,
    pub log_score: f64,
    pub effective_sample_size: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct PosteriorSummary {
    pub id: String,
    pub prior: Moments,
    pub posterior: Moments,
    /// The posterior as the variant writes it (a distribution of the format).
    pub written: WrittenDistribution,
}

#[derive(Debug, Clone, Copy, Serialize)]
pub struct Moments {
    pub mean: f64,
    pub sd: f64,
    pub q05: f64,
    pub q50: f64,
    pub q95: f64,
}

/// A posterior written back as a distribution of the scenario format, with the keys that
/// replace the prior's in the variant (other keys of the prior's table stay as they were).
#[derive(Debug, Clone, Serialize)]
pub struct WrittenDistribution {
    /// `key = value` lines, in order.
    pub keys: Vec<(String, TomlValue)>,
    /// When the format's family could not hold the posterior's moments exactly.
    pub note: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum TomlValue {
    Text(String),
    Number(f64),
    Numbers(Vec<f64>),
}

/// One case's runs: each run's probability of each class.
struct CaseRuns {
    classes: Vec<String>,
    observed: usize,
    status_quo: Option<usize>,
    date: chrono::NaiveDate,
    /// `runs * classes.len()`.
    probabilities: Vec<f64>,
}

/// Collects, per run, the class probabilities of the case's scored decision (or outcome) and
/// the values of the calibrated parameters.
struct ClassSink<'a> {
    model: &'a Model,
    /// (index in the model, index in the calibrated list).
    calibrated: Vec<(usize, usize)>,
    /// Per calibrated parameter (global list), its values run by run (empty if not in case).
    values: Vec<Vec<f64>>,
    /// Options of the scored decision plus `not_taken`, or the outcomes.
    width: usize,
    probabilities: Vec<f64>,
}

impl RunSink for ClassSink<'_> {
    fn write_rows(&mut self, rows: &RunRows) -> std::io::Result<()> {
        let case = self.model.backtest.as_ref().map(|b| b.scored);
        for r in 0..rows.len {
            for &(i, c) in &self.calibrated {
                self.values[c].push(rows.parameters[r * rows.parameter_count + i]);
            }
            match case {
                Some(Scored::Decision(d)) => {
                    let options = self.model.decisions[d].options.len();
                    if rows.choices[r * rows.decision_count + d] < 0 {
                        self.probabilities.extend(std::iter::repeat_n(0.0, options));
                        self.probabilities.push(1.0);
                    } else {
                        let at = (r * rows.decision_count + d) * rows.option_stride;
                        self.probabilities
                            .extend_from_slice(&rows.option_probabilities[at..at + options]);
                        self.probabilities.push(0.0);
                    }
                }
                _ => {
                    let outcome = usize::from(rows.outcomes[r]);
                    self.probabilities
                        .extend((0..self.width).map(|k| f64::from(u8::from(k == outcome))));
                }
            }
        }
        Ok(())
    }

    fn wants_option_probabilities(&self) -> bool {
        true
    }
}

/// Fits the parameters marked `calibrate = true` to the cases and scores the forecasts.
pub fn run_calibration(
    cases: &[Model],
    config: &CalibrateConfig,
    progress: &(dyn Fn(u64) + Sync),
    cancel: &AtomicBool,
) -> Result<CalibrationReport, CalibrateError> {
    for model in cases {
        if model.backtest.is_none() {
            return Err(BacktestError::NotACase {
                file: model.file.clone(),
            }
            .into());
        }
    }
    let calibrated = calibrated_parameters(cases)?;
    let runs = config.runs as usize;
    let mut values: Vec<Vec<f64>> = vec![Vec::new(); calibrated.len()];
    let mut case_runs = Vec::with_capacity(cases.len());
    for model in cases {
        let (runs_of_case, case_values) =
            simulate_case(model, &calibrated, config, progress, cancel)?;
        for (c, v) in case_values.into_iter().enumerate() {
            if values[c].is_empty() {
                values[c] = v;
            }
        }
        case_runs.push(runs_of_case);
    }
    for (case, model) in case_runs.iter().zip(cases) {
        let w = case.classes.len();
        if (0..runs).all(|i| case.probabilities[i * w + case.observed] == 0.0) {
            return Err(CalibrateError::Impossible {
                file: model.file.clone(),
                observed: case.classes[case.observed].clone(),
            });
        }
    }
    // ln of each run's probability of each case's observed class.
    let log_likelihood: Vec<Vec<f64>> = case_runs
        .iter()
        .map(|case| {
            let w = case.classes.len();
            (0..runs)
                .map(|i| case.probabilities[i * w + case.observed].ln())
                .collect()
        })
        .collect();
    let weights_of = |included: &dyn Fn(usize) -> bool| -> Vec<f64> {
        let mut sum = vec![0.0; runs];
        for (c, ll) in log_likelihood.iter().enumerate() {
            if included(c) {
                for (s, l) in sum.iter_mut().zip(ll) {
                    *s += l;
                }
            }
        }
        normalised(&sum)
    };
    let floor = 1.0 / (2.0 * runs.max(1) as f64);
    let n = cases.len();
    let everything = weights_of(&|_| true);
    let flat = vec![1.0 / runs.max(1) as f64; runs];
    let mut per_case = Vec::with_capacity(n);
    for (c, (case, model)) in case_runs.iter().zip(cases).enumerate() {
        let leave_out = weights_of(&|k| k != c);
        let earlier = weights_of(&|k| case_runs[k].date < case.date);
        let forecast = |weights: &[f64]| forecast(case, weights, floor);
        let decision = scored_decision(model);
        per_case.push(CaseCalibration {
            id: model.stem.clone(),
            file: model.file.clone(),
            date: case.date.to_string(),
            decision,
            observed: case.classes[case.observed].clone(),
            classes: case.classes.clone(),
            prior: forecast(&flat),
            in_sample: forecast(&everything),
            leave_one_out: forecast(&leave_out),
            time_ordered: forecast(&earlier),
            earlier_cases: case_runs.iter().filter(|k| k.date < case.date).count(),
        });
    }
    let min = config.min_effective_sample_size;
    let ess = effective_sample_size(&everything);
    let check = |what: String, ess: f64| {
        if ess < min {
            Err(CalibrateError::Collapsed { what, ess, min })
        } else {
            Ok(())
        }
    };
    check("the in-sample posterior and scores".into(), ess)?;
    for case in &per_case {
        check(
            format!("the leave-one-out forecast of `{}`", case.file),
            case.leave_one_out.effective_sample_size,
        )?;
        check(
            format!("the time-ordered forecast of `{}`", case.file),
            case.time_ordered.effective_sample_size,
        )?;
    }
    let score_set = |pick: &dyn Fn(&CaseCalibration) -> &CaseForecast| ScoreSet {
        mean_brier: mean(per_case.iter().map(|c| pick(c).brier)),
        mean_log_score: mean(per_case.iter().map(|c| pick(c).log_score)),
        observed_most_likely: per_case
            .iter()
            .filter(|c| pick(c).observed_is_most_likely)
            .count(),
        min_effective_sample_size: per_case
            .iter()
            .map(|c| pick(c).effective_sample_size)
            .fold(f64::INFINITY, f64::min),
    };
    let status_quo: Vec<(f64, f64)> = case_runs
        .iter()
        .filter_map(|case| {
            let q = status_quo_forecast(case.classes.len(), case.status_quo?);
            Some((brier(&q, case.observed), log_score(&q, case.observed, 0.0)))
        })
        .collect();
    let uniform: Vec<(f64, f64)> = case_runs
        .iter()
        .map(|case| {
            let u = vec![1.0 / case.classes.len() as f64; case.classes.len()];
            (brier(&u, case.observed), log_score(&u, case.observed, 0.0))
        })
        .collect();
    let baseline = |scores: &[(f64, f64)]| BaselineScore {
        cases: scores.len(),
        mean_brier: mean(scores.iter().map(|s| s.0)),
        mean_log_score: mean(scores.iter().map(|s| s.1)),
    };
    let parameters = calibrated
        .iter()
        .zip(&values)
        .map(|(p, v)| PosteriorSummary {
            id: p.id.clone(),
            prior: moments(v, &flat),
            posterior: moments(v, &everything),
            written: written(&p.distribution, v, &everything),
        })
        .collect();
    let report = CalibrationReport {
        version: env!("CARGO_PKG_VERSION").to_string(),
        method: METHOD.into(),
        runs_per_case: config.runs,
        seed: config.seed,
        cases: n,
        minimum_effective_sample_size: min,
        effective_sample_size: ess,
        parameters,
        prior: score_set(&|c| &c.prior),
        in_sample: score_set(&|c| &c.in_sample),
        leave_one_out: score_set(&|c| &c.leave_one_out),
        time_ordered: score_set(&|c| &c.time_ordered),
        baseline_status_quo: (!status_quo.is_empty()).then(|| baseline(&status_quo)),
        baseline_uniform: baseline(&uniform),
        per_case,
    };
    Ok(report)
}

/// A calibrated parameter, as every case that has it declares it.
struct Calibrated {
    id: String,
    distribution: Distribution,
}

/// The parameters marked `calibrate = true` in any case, in order of first appearance,
/// checked: the same distribution wherever they appear, uncertain, and read on the way to some
/// case's scored decision.
fn calibrated_parameters(cases: &[Model]) -> Result<Vec<Calibrated>, CalibrateError> {
    let mut found: Vec<(Calibrated, String)> = Vec::new();
    for model in cases {
        for p in model.parameters.iter().filter(|p| p.calibrate) {
            match found.iter().find(|(c, _)| c.id == p.id) {
                Some((c, first)) if c.distribution != p.distribution => {
                    return Err(CalibrateError::DifferentPriors {
                        parameter: p.id.clone(),
                        first: first.clone(),
                        other: model.file.clone(),
                    });
                }
                Some(_) => {}
                None => {
                    if matches!(p.distribution.spec(), Spec::Fixed { .. }) {
                        return Err(CalibrateError::Fixed {
                            parameter: p.id.clone(),
                        });
                    }
                    found.push((
                        Calibrated {
                            id: p.id.clone(),
                            distribution: p.distribution.clone(),
                        },
                        model.file.clone(),
                    ));
                }
            }
        }
    }
    if found.is_empty() {
        return Err(CalibrateError::NothingToCalibrate);
    }
    // A case that has the parameter unmarked, or with another prior, would draw it otherwise.
    for model in cases {
        for p in &model.parameters {
            if let Some((c, first)) = found.iter().find(|(c, _)| c.id == p.id) {
                if c.distribution != p.distribution || !p.calibrate {
                    return Err(CalibrateError::DifferentPriors {
                        parameter: p.id.clone(),
                        first: first.clone(),
                        other: model.file.clone(),
                    });
                }
            }
        }
    }
    let depends: Vec<Vec<bool>> = cases
        .iter()
        .map(|m| m.parameters_scored_decision_reads())
        .collect();
    for (c, _) in &found {
        let used = cases.iter().zip(&depends).any(|(m, reads)| {
            m.parameters
                .iter()
                .position(|p| p.id == c.id)
                .is_some_and(|i| reads[i])
        });
        if !used {
            return Err(CalibrateError::Unused {
                parameter: c.id.clone(),
            });
        }
    }
    Ok(found.into_iter().map(|(c, _)| c).collect())
}

type CaseValues = Vec<Vec<f64>>;

fn simulate_case(
    model: &Model,
    calibrated: &[Calibrated],
    config: &CalibrateConfig,
    progress: &(dyn Fn(u64) + Sync),
    cancel: &AtomicBool,
) -> Result<(CaseRuns, CaseValues), CalibrateError> {
    let case = model
        .backtest
        .as_ref()
        .expect("checked: every model is a case");
    let (mut classes, width) = match case.scored {
        Scored::Decision(d) => {
            let mut classes: Vec<String> = model.decisions[d]
                .options
                .iter()
                .map(|o| o.id.clone())
                .collect();
            classes.push(super::backtest::NOT_TAKEN.into());
            let width = classes.len();
            (classes, width)
        }
        Scored::Outcome => {
            let classes: Vec<String> = model.outcomes.iter().map(|o| o.id.clone()).collect();
            let width = classes.len();
            (classes, width)
        }
    };
    let mut sink = ClassSink {
        model,
        calibrated: calibrated
            .iter()
            .enumerate()
            .filter_map(|(c, p)| {
                model
                    .parameters
                    .iter()
                    .position(|q| q.id == p.id)
                    .map(|i| (i, c))
            })
            .collect(),
        values: vec![Vec::new(); calibrated.len()],
        width,
        probabilities: Vec::with_capacity(config.runs as usize * width),
    };
    let study = StudyConfig {
        runs: config.runs,
        seed: config.seed,
        fixed: Vec::new(),
        timeline: false,
        sampling: Default::default(),
        design: None,
        replications: 1,
    };
    montecarlo::run_study(model, &study, Some(&mut sink), progress, cancel).map_err(|source| {
        BacktestError::Study {
            file: model.file.clone(),
            source: Box::new(source),
        }
    })?;
    let mut probabilities = sink.probabilities;
    // "Not taken" is a class only when some run did not take the decision, as in `backtest`.
    if matches!(case.scored, Scored::Decision(_))
        && probabilities.chunks(width).all(|p| p[width - 1] == 0.0)
    {
        classes.pop();
        probabilities = probabilities
            .chunks(width)
            .flat_map(|p| p[..width - 1].iter().copied())
            .collect();
    }
    Ok((
        CaseRuns {
            classes,
            observed: case.observed,
            status_quo: case.status_quo,
            date: case.date,
            probabilities,
        },
        sink.values,
    ))
}

/// The id of the decision a case scores, or `outcome`.
fn scored_decision(model: &Model) -> String {
    match model.backtest.as_ref().map(|b| b.scored) {
        Some(Scored::Decision(d)) => model.decisions[d].id.clone(),
        _ => "outcome".into(),
    }
}

/// `exp(l - max l)`, summing to 1; all zeros when every `l` is `-inf`.
fn normalised(log_weights: &[f64]) -> Vec<f64> {
    let max = log_weights
        .iter()
        .copied()
        .fold(f64::NEG_INFINITY, f64::max);
    if max == f64::NEG_INFINITY {
        return vec![0.0; log_weights.len()];
    }
    let w: Vec<f64> = log_weights.iter().map(|l| (l - max).exp()).collect();
    let total: f64 = w.iter().sum();
    w.into_iter().map(|x| x / total).collect()
}

/// Kish's effective sample size of normalised weights, `1 / sum w^2`; 0 when there are none.
pub fn effective_sample_size(weights: &[f64]) -> f64 {
    let squares: f64 = weights.iter().map(|w| w * w).sum();
    if squares == 0.0 {
        0.0
    } else {
        1.0 / squares
    }
}

fn forecast(case: &CaseRuns, weights: &[f64], floor: f64) -> CaseForecast {
    let w = case.classes.len();
    let mut p = vec![0.0; w];
    for (run, &weight) in weights.iter().enumerate() {
        if weight > 0.0 {
            for (k, pk) in p.iter_mut().enumerate() {
                *pk += weight * case.probabilities[run * w + k];
            }
        }
    }
    let mut best = 0;
    for k in 1..w {
        if p[k] > p[best] {
            best = k;
        }
    }
    CaseForecast {
        probability: p[case.observed],
        most_likely: case.classes[best].clone(),
        observed_is_most_likely: p[case.observed] >= p[best],
        brier: brier(&p, case.observed),
        log_score: log_score(&p, case.observed, floor),
        effective_sample_size: effective_sample_size(weights),
        probabilities: p,
    }
}

fn mean(values: impl Iterator<Item = f64>) -> f64 {
    let (sum, n) = values.fold((0.0, 0usize), |(s, n), v| (s + v, n + 1));
    if n == 0 {
        0.0
    } else {
        sum / n as f64
    }
}

/// Weighted mean, sd and quantiles of `values` (weights sum to 1).
pub fn moments(values: &[f64], weights: &[f64]) -> Moments {
    let mean: f64 = values.iter().zip(weights).map(|(v, w)| v * w).sum();
    let var: f64 = values
        .iter()
        .zip(weights)
        .map(|(v, w)| w * (v - mean) * (v - mean))
        .sum();
    let mut order: Vec<usize> = (0..values.len()).collect();
    order.sort_by(|&a, &b| values[a].total_cmp(&values[b]));
    let quantile = |q: f64| {
        let mut cumulative = 0.0;
        for &i in &order {
            cumulative += weights[i];
            if cumulative >= q {
                return values[i];
            }
        }
        order.last().map_or(f64::NAN, |&i| values[i])
    };
    Moments {
        mean,
        sd: var.max(0.0).sqrt(),
        q05: quantile(0.05),
        q50: quantile(0.5),
        q95: quantile(0.95),
    }
}

/// The posterior in the prior's family (or the nearest the format has), as keys that replace
/// the prior's: a beta or PERT on the prior's range by the method of moments, a normal's mean
/// and sd, a bernoulli's `p`, a discrete distribution's weights, a lognormal's `mu`/`sigma`.
fn written(prior: &Distribution, values: &[f64], weights: &[f64]) -> WrittenDistribution {
    let m = moments(values, weights);
    let num = |k: &str, v: f64| (k.to_string(), TomlValue::Number(v));
    match prior.spec() {
        Spec::Uniform { min, max }
        | Spec::Triangular { min, max, .. }
        | Spec::Pert { min, max, .. }
        | Spec::Beta { min, max, .. } => {
            let (min, max) = (*min, *max);
            let (alpha, beta, note) = beta_by_moments(m.mean, m.sd, min, max);
            if let Spec::Beta { .. } = prior.spec() {
                // The format's beta takes shapes in [0.1, 10000] (beyond, the tails leave
                // double precision).
                let (a, b) = (alpha.clamp(0.1, 10_000.0), beta.clamp(0.1, 10_000.0));
                let note = if (a, b) != (alpha, beta) {
                    Some("the posterior's shapes lie beyond what a beta of the format takes: written with the nearest shapes it does".to_string())
                } else {
                    note
                };
                WrittenDistribution {
                    keys: vec![num("alpha", a), num("beta", b)],
                    note,
                }
            } else {
                // A PERT on [min, max] is the beta with alpha, beta >= 1 and lambda = a + b - 2.
                let (alpha, beta, widened) = if alpha < 1.0 || beta < 1.0 {
                    let scale = 1.0 / alpha.min(beta);
                    (alpha * scale, beta * scale, true)
                } else {
                    (alpha, beta, false)
                };
                // The format's PERT takes 0 < lambda <= 9999; a posterior narrower than that is
                // written as the narrowest PERT with its mode.
                let lambda = alpha + beta - 2.0;
                let narrowest = lambda > MAX_PERT_LAMBDA;
                let mode = if lambda > 0.0 {
                    min + (alpha - 1.0) / lambda * (max - min)
                } else {
                    (min + max) / 2.0
                };
                let lambda = lambda.min(MAX_PERT_LAMBDA);
                let note = if narrowest {
                    Some("the posterior is narrower than a PERT of the format can be: written with its mode and the largest lambda".to_string())
                } else if widened {
                    Some("the posterior is more spread than a PERT on this range can be: written with its mean and the widest spread a PERT allows".to_string())
                } else {
                    note
                };
                WrittenDistribution {
                    keys: vec![
                        ("dist".into(), TomlValue::Text("pert".into())),
                        num("mode", mode),
                        num("lambda", lambda.max(f64::MIN_POSITIVE)),
                    ],
                    note,
                }
            }
        }
        Spec::Normal { .. } => WrittenDistribution {
            keys: vec![num("mean", m.mean), num("sd", m.sd.max(f64::MIN_POSITIVE))],
            note: Some("written as a normal with the posterior's mean and sd (before any truncation the prior has)".into()),
        },
        Spec::LogNormal { .. } => {
            let logs: Vec<f64> = values.iter().map(|v| v.ln()).collect();
            let l = moments(&logs, weights);
            WrittenDistribution {
                keys: vec![num("mu", l.mean), num("sigma", l.sd.max(f64::MIN_POSITIVE))],
                note: None,
            }
        }
        Spec::Bernoulli { .. } => WrittenDistribution {
            keys: vec![num("p", m.mean)],
            note: None,
        },
        Spec::Discrete { values: support, .. } => {
            let mut mass = vec![0.0; support.len()];
            for (v, w) in values.iter().zip(weights) {
                if let Some(k) = support.iter().position(|s| s == v) {
                    mass[k] += w;
                }
            }
            WrittenDistribution {
                keys: vec![("weights".into(), TomlValue::Numbers(mass))],
                note: None,
            }
        }
        Spec::Fixed { .. } => WrittenDistribution {
            keys: Vec::new(),
            note: None,
        },
    }
}

/// The largest `lambda` a scenario's PERT takes.
const MAX_PERT_LAMBDA: f64 = 9999.0;

/// Beta(alpha, beta) on [min, max] with the given mean and sd.
fn beta_by_moments(mean: f64, sd: f64, min: f64, max: f64) -> (f64, f64, Option<String>) {
    let width = max - min;
    let m = ((mean - min) / width).clamp(1e-9, 1.0 - 1e-9);
    let v = (sd / width).powi(2);
    let limit = m * (1.0 - m);
    if v <= 0.0 {
        return (
            m * 1e6,
            (1.0 - m) * 1e6,
            Some("every weighted draw has one value: written as a very narrow beta".into()),
        );
    }
    if v >= limit {
        return (m, 1.0 - m, Some("the posterior is as spread as a distribution on this range can be: written with its mean".into()));
    }
    let common = limit / v - 1.0;
    (m * common, (1.0 - m) * common, None)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn number(w: &WrittenDistribution, key: &str) -> f64 {
        match w.keys.iter().find(|(k, _)| k == key) {
            Some((_, TomlValue::Number(x))) => *x,
            other => panic!("no number `{key}`: {other:?}"),
        }
    }

    /// Every posterior is written as a distribution the format accepts, however narrow or
    /// spread it is: the calibrated variant must load.
    #[test]
    fn a_written_posterior_is_always_a_valid_distribution() {
        let flat = vec![0.1; 10];
        let cases: [Vec<f64>; 3] = [vec![0.3; 10], (0..10).map(|k| k as f64 / 9.0).collect(), {
            let mut v = vec![0.0; 5];
            v.extend(vec![1.0; 5]);
            v
        }];
        for values in &cases {
            let uniform = Distribution::uniform(0.0, 1.0).expect("uniform");
            let w = written(&uniform, values, &flat);
            let (mode, lambda) = (number(&w, "mode"), number(&w, "lambda"));
            assert!(
                Distribution::pert(0.0, mode, 1.0, lambda).is_ok(),
                "pert({mode}, {lambda}) from {values:?}"
            );
            let beta = Distribution::beta(2.0, 2.0, 0.0, 1.0).expect("beta");
            let w = written(&beta, values, &flat);
            let (a, b) = (number(&w, "alpha"), number(&w, "beta"));
            assert!(
                Distribution::beta(a, b, 0.0, 1.0).is_ok(),
                "beta({a}, {b}) from {values:?}"
            );
        }
    }

    #[test]
    fn the_effective_sample_size_of_equal_weights_is_the_count() {
        assert!((effective_sample_size(&[0.25; 4]) - 4.0).abs() < 1e-12);
        assert_eq!(effective_sample_size(&[1.0, 0.0, 0.0]), 1.0);
        assert_eq!(effective_sample_size(&[0.0; 3]), 0.0);
    }
}
