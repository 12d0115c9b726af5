//! Backtests: run each case (a scenario with a `[backtest]` table) and score the probability
//! the model gave to what really happened.
//!
//! Scores, per case, with `p` the model's probabilities over the scored classes (the options
//! of the scored decision, plus "not taken" if the decision was not taken in every run; or
//! the outcomes):
//! - **Brier score**, multi-class: `sum over classes k of (p_k - [k observed])^2`, in `[0, 2]`;
//!   0 is a certain, correct forecast. (Not the binary form `(1 - p_observed)^2`.)
//! - **Log score**: `-ln p_observed`, with `p_observed` floored at `1 / (2 * runs)` so that a
//!   class no run reached (a Monte Carlo zero, not a certainty) gives a finite score.
//!
//! Two naive baselines get the same scores:
//! - **status quo**: probability `1 - STATUS_QUO_EPSILON` on the class the case names as the
//!   status quo (`[backtest] status_quo`), the rest spread evenly over the other classes;
//! - **uniform**: every class equally likely.

use std::sync::atomic::AtomicBool;

use serde::{Deserialize, Serialize};

use crate::model::{Model, Scored};
use crate::montecarlo::aggregate::wilson;
use crate::montecarlo::{self, StudyConfig, StudyError, Summary};

/// Probability the status-quo baseline leaves to the classes other than the status quo.
pub const STATUS_QUO_EPSILON: f64 = 0.05;

/// Id of the extra class for runs in which the scored decision was not taken.
pub const NOT_TAKEN: &str = "not_taken";

/// How to run the cases.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BacktestConfig {
    /// Runs per case.
    pub runs: u64,
    /// One seed for every case; `None` uses each case's own `seed`.
    pub seed: Option<u64>,
}

#[derive(Debug, thiserror::Error)]
pub enum BacktestError {
    #[error("`{file}` is not a backtest case: it has no [backtest] table")]
    NotACase { file: String },
    #[error("case `{file}`: {source}")]
    Study {
        file: String,
        #[source]
        source: Box<StudyError>,
    },
}

/// Everything `backtest.json` holds. No wall-clock values: equal inputs give equal bytes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BacktestReport {
    pub version: String,
    pub runs_per_case: u64,
    /// The seed every case used, or `None` when each used its own (see each case).
    pub seed: Option<u64>,
    /// The scoring rules, in words, so the file explains itself.
    pub scoring: ScoringRules,
    pub cases: Vec<CaseReport>,
    pub overall: Overall,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScoringRules {
    pub brier: String,
    pub log_score: String,
    pub baseline_status_quo: String,
    pub baseline_uniform: String,
}

/// One case: what the model said and how well that scores.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CaseReport {
    /// The case file's stem.
    pub id: String,
    pub file: String,
    pub name: String,
    /// ISO date of the real decision.
    pub date: String,
    /// The scored decision's id, or `outcome` when the case scores the run's outcome.
    pub decision: String,
    /// Who decides (the decision's actor), if a decision is scored.
    pub decider: Option<String>,
    /// The decision's label, or "outcome".
    pub question: String,
    pub description: String,
    pub source: String,
    pub seed: u64,
    pub runs: u64,
    /// The model's probability for every class, in model order.
    pub classes: Vec<ClassProbability>,
    pub observed: String,
    /// Probability the model gave the observed class.
    pub probability: f64,
    /// 95% Wilson score interval of that probability (Monte Carlo error only).
    pub ci95: [f64; 2],
    /// The class the model found most likely (the first, on a tie).
    pub most_likely: String,
    /// Whether the observed class has the highest probability (ties count).
    pub observed_is_most_likely: bool,
    pub brier: f64,
    pub log_score: f64,
    pub status_quo: Option<String>,
    pub baseline_status_quo: Option<Score>,
    pub baseline_uniform: Score,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClassProbability {
    pub id: String,
    pub count: u64,
    pub probability: f64,
    pub ci95: [f64; 2],
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Score {
    pub brier: f64,
    pub log_score: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Overall {
    pub cases: usize,
    /// Cases whose observed class was the most likely one.
    pub observed_most_likely: usize,
    pub mean_brier: f64,
    pub mean_log_score: f64,
    /// Means over the cases that name a status quo (`None` if none does).
    pub baseline_status_quo: Option<MeanScore>,
    pub baseline_uniform: MeanScore,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct MeanScore {
    /// How many cases the mean is over.
    pub cases: usize,
    pub mean_brier: f64,
    pub mean_log_score: f64,
}

/// The scoring rules as written into every report.
pub fn scoring_rules() -> ScoringRules {
    ScoringRules {
        brier: "multi-class Brier score: sum over the scored classes of (p - 1 if observed else p)^2; 0 is best, 2 is worst".into(),
        log_score: "-ln p(observed), with p floored at 1/(2 * runs); 0 is best".into(),
        baseline_status_quo: format!(
            "the status quo continues: p = {} on the case's `status_quo` class, the rest split evenly",
            1.0 - STATUS_QUO_EPSILON
        ),
        baseline_uniform: "every class equally likely".into(),
    }
}

/// Runs every case and scores it. The cases run one after another, each on all threads.
/// `progress` is called with the number of runs finished (over all cases).
pub fn run_backtest(
    cases: &[Model],
    config: &BacktestConfig,
    progress: &(dyn Fn(u64) + Sync),
    cancel: &AtomicBool,
) -> Result<BacktestReport, BacktestError> {
    let mut reports = Vec::with_capacity(cases.len());
    for model in cases {
        if model.backtest.is_none() {
            return Err(BacktestError::NotACase {
                file: model.file.clone(),
            });
        }
        let study = StudyConfig {
            runs: config.runs,
            seed: config.seed.unwrap_or(model.default_seed),
            fixed: Vec::new(),
            timeline: false,
            sampling: Default::default(),
            design: None,
            replications: 1,
        };
        let summary =
            montecarlo::run_study(model, &study, None, progress, cancel).map_err(|source| {
                BacktestError::Study {
                    file: model.file.clone(),
                    source: Box::new(source),
                }
            })?;
        if let Some(report) = score_case(model, &summary) {
            reports.push(report);
        }
    }
    Ok(BacktestReport {
        version: env!("CARGO_PKG_VERSION").to_string(),
        runs_per_case: config.runs,
        seed: config.seed,
        scoring: scoring_rules(),
        overall: overall(&reports),
        cases: reports,
    })
}

/// Scores one case from its study's summary; `None` if the model is not a backtest case.
pub fn score_case(model: &Model, summary: &Summary) -> Option<CaseReport> {
    let case = model.backtest.as_ref()?;
    let runs = summary.runs;
    let (decision, decider, question, mut classes) = match case.scored {
        Scored::Decision(d) => {
            let s = &summary.decisions[d];
            let classes: Vec<ClassProbability> = s
                .options
                .iter()
                .map(|o| ClassProbability {
                    id: o.id.clone(),
                    count: o.count,
                    probability: o.probability,
                    ci95: o.ci95,
                })
                .collect();
            (
                s.id.clone(),
                Some(s.actor.clone()),
                s.label.clone(),
                classes,
            )
        }
        Scored::Outcome => {
            let classes = summary
                .outcomes
                .iter()
                .map(|o| ClassProbability {
                    id: o.id.clone(),
                    count: o.count,
                    probability: o.probability,
                    ci95: o.ci95,
                })
                .collect();
            ("outcome".to_string(), None, "outcome".to_string(), classes)
        }
    };
    if let Scored::Decision(d) = case.scored {
        let not_taken = summary.decisions[d].not_taken;
        if not_taken > 0 {
            classes.push(ClassProbability {
                id: NOT_TAKEN.into(),
                count: not_taken,
                probability: not_taken as f64 / runs.max(1) as f64,
                ci95: wilson(not_taken, runs),
            });
        }
    }
    let p: Vec<f64> = classes.iter().map(|c| c.probability).collect();
    let observed = case.observed;
    let best = most_likely(&p);
    let floor = 1.0 / (2.0 * runs.max(1) as f64);
    let status_quo = case.status_quo.map(|s| status_quo_forecast(p.len(), s));
    Some(CaseReport {
        id: model.stem.clone(),
        file: model.file.clone(),
        name: model.name.clone(),
        date: case.date.to_string(),
        decision,
        decider,
        question,
        description: case.description.clone(),
        source: case.source.clone(),
        seed: summary.seed,
        runs,
        observed: classes[observed].id.clone(),
        probability: p[observed],
        ci95: classes[observed].ci95,
        most_likely: classes[best].id.clone(),
        observed_is_most_likely: p[observed] >= p[best],
        brier: brier(&p, observed),
        log_score: log_score(&p, observed, floor),
        status_quo: case.status_quo.map(|s| classes[s].id.clone()),
        baseline_status_quo: status_quo.map(|q| Score {
            brier: brier(&q, observed),
            log_score: log_score(&q, observed, 0.0),
        }),
        baseline_uniform: {
            let u = vec![1.0 / p.len() as f64; p.len()];
            Score {
                brier: brier(&u, observed),
                log_score: log_score(&u, observed, 0.0),
            }
        },
        classes,
    })
}

/// Multi-class Brier score of forecast `p` when class `observed` happened.
pub fn brier(p: &[f64], observed: usize) -> f64 {
    p.iter()
        .enumerate()
        .map(|(k, &pk)| {
            let hit = if k == observed { 1.0 } else { 0.0 };
            (pk - hit) * (pk - hit)
        })
        .sum()
}

/// `-ln p[observed]`, with the probability floored at `floor`.
pub fn log_score(p: &[f64], observed: usize, floor: f64) -> f64 {
    -p[observed].max(floor).ln()
}

/// The status-quo baseline over `classes` classes.
pub fn status_quo_forecast(classes: usize, status_quo: usize) -> Vec<f64> {
    if classes <= 1 {
        return vec![1.0; classes];
    }
    let rest = STATUS_QUO_EPSILON / (classes - 1) as f64;
    (0..classes)
        .map(|k| {
            if k == status_quo {
                1.0 - STATUS_QUO_EPSILON
            } else {
                rest
            }
        })
        .collect()
}

/// Index of the largest probability, the first on a tie.
fn most_likely(p: &[f64]) -> usize {
    let mut best = 0;
    for (k, &pk) in p.iter().enumerate() {
        if pk > p[best] {
            best = k;
        }
    }
    best
}

fn overall(cases: &[CaseReport]) -> Overall {
    let mean = |scores: &[Score]| MeanScore {
        cases: scores.len(),
        mean_brier: mean_of(scores.iter().map(|s| s.brier)),
        mean_log_score: mean_of(scores.iter().map(|s| s.log_score)),
    };
    let status_quo: Vec<Score> = cases.iter().filter_map(|c| c.baseline_status_quo).collect();
    let uniform: Vec<Score> = cases.iter().map(|c| c.baseline_uniform).collect();
    Overall {
        cases: cases.len(),
        observed_most_likely: cases.iter().filter(|c| c.observed_is_most_likely).count(),
        mean_brier: mean_of(cases.iter().map(|c| c.brier)),
        mean_log_score: mean_of(cases.iter().map(|c| c.log_score)),
        baseline_status_quo: (!status_quo.is_empty()).then(|| mean(&status_quo)),
        baseline_uniform: mean(&uniform),
    }
}

fn mean_of(values: impl Iterator<Item = f64>) -> f64 {
    let (sum, n) = values.fold((0.0, 0usize), |(s, n), v| (s + v, n + 1));
    if n == 0 {
        0.0
    } else {
        sum / n as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn brier_is_zero_for_a_certain_hit_and_two_for_a_certain_miss() {
        assert_eq!(brier(&[1.0, 0.0, 0.0], 0), 0.0);
        assert_eq!(brier(&[0.0, 1.0, 0.0], 0), 2.0);
    }

    #[test]
    fn brier_counts_every_class() {
        // (0.7 - 1)^2 + 0.2^2 + 0.1^2 = 0.09 + 0.04 + 0.01
        assert!((brier(&[0.7, 0.2, 0.1], 0) - 0.14).abs() < 1e-12);
    }

    #[test]
    fn log_score_is_floored() {
        assert!((log_score(&[0.0, 1.0], 0, 0.001) - 1000f64.ln()).abs() < 1e-12);
        assert_eq!(log_score(&[1.0, 0.0], 0, 0.001), 0.0);
    }

    #[test]
    fn status_quo_forecast_sums_to_one() {
        let q = status_quo_forecast(3, 1);
        assert!((q.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        assert_eq!(q[1], 1.0 - STATUS_QUO_EPSILON);
        assert_eq!(q[0], q[2]);
    }

    #[test]
    fn most_likely_takes_the_first_on_a_tie() {
        assert_eq!(most_likely(&[0.4, 0.4, 0.2]), 0);
        assert_eq!(most_likely(&[0.1, 0.5, 0.4]), 1);
    }
}
