//! Paired runs of several models on common random numbers, for counterfactual comparison.
//!
//! Run k of every model uses the same random stream (`RunStream::new(seed, k)`), and streams
//! are keyed by name, so a parameter or event the models share sees the same numbers in both.
//! The difference between two models' outcome shares is then the assumption, not the noise,
//! and its interval comes from the paired per-run differences.

use std::sync::atomic::{AtomicBool, Ordering};

use rayon::prelude::*;

use super::first_failure::FirstFailure;
use super::{sample_parameters, StudyConfig, StudyError, BLOCK};
use crate::engine::lanes::{BatchRunner, LaneModel, RunJob};
use crate::engine::RunError;
use crate::model::expr::LANES;
use crate::model::Model;
use crate::rng::RunStream;

/// Outcome counts of each model, and for each model after the first its discordant counts
/// against the first (the base).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PairedCounts {
    pub runs: u64,
    /// The union of outcome ids, in the base's order, then new ones in order of appearance.
    pub outcome_ids: Vec<String>,
    /// `[model][outcome]`
    pub counts: Vec<Vec<u64>>,
    /// `[model][outcome]`: runs where the model had the outcome and the base did not.
    pub gained: Vec<Vec<u64>>,
    /// `[model][outcome]`: runs where the base had the outcome and the model did not.
    pub lost: Vec<Vec<u64>>,
}

impl PairedCounts {
    fn new(outcome_ids: Vec<String>, models: usize) -> PairedCounts {
        let zeros = vec![vec![0; outcome_ids.len()]; models];
        PairedCounts {
            runs: 0,
            outcome_ids,
            counts: zeros.clone(),
            gained: zeros.clone(),
            lost: zeros,
        }
    }

    fn merge(&mut self, other: &PairedCounts) {
        self.runs += other.runs;
        for (a, b) in [
            (&mut self.counts, &other.counts),
            (&mut self.gained, &other.gained),
            (&mut self.lost, &other.lost),
        ] {
            for (x, y) in a.iter_mut().zip(b) {
                for (p, q) in x.iter_mut().zip(y) {
                    *p += q;
                }
            }
        }
    }

    /// Difference in the probability of `outcome` between `model` and the base, with a 95%
    /// interval from the paired differences (normal approximation).
    pub fn difference(&self, model: usize, outcome: usize) -> (f64, [f64; 2]) {
        let n = self.runs as f64;
        let gained = self.gained[model][outcome] as f64;
        let lost = self.lost[model][outcome] as f64;
        let mean = (gained - lost) / n;
        // Each run's difference is +1, -1 or 0; its second moment is the discordant share.
        let second = (gained + lost) / n;
        let var = if self.runs > 1 {
            (second - mean * mean).max(0.0) * n / (n - 1.0)
        } else {
            0.0
        };
        let half = 1.959_963_984_540_054 * (var / n).sqrt();
        (mean, [mean - half, mean + half])
    }
}

/// Runs `models` on runs `0..config.runs` with common random numbers. Parameters held with
/// `config.fixed` are ignored (their indexes differ between models); use `fixed_by_id`.
pub fn run_paired(
    models: &[&Model],
    config: &StudyConfig,
    fixed_by_id: &[(String, f64)],
    progress: &(dyn Fn(u64) + Sync),
    cancel: &AtomicBool,
) -> Result<PairedCounts, StudyError> {
    let mut outcome_ids: Vec<String> = Vec::new();
    for model in models {
        for o in &model.outcomes {
            if !outcome_ids.contains(&o.id) {
                outcome_ids.push(o.id.clone());
            }
        }
    }
    // Per model: its outcome index -> union index; its own config with `fixed` resolved.
    let maps: Vec<Vec<usize>> = models
        .iter()
        .map(|m| {
            m.outcomes
                .iter()
                .map(|o| outcome_ids.iter().position(|id| *id == o.id).unwrap_or(0))
                .collect()
        })
        .collect();
    let configs: Vec<StudyConfig> = models
        .iter()
        .map(|m| StudyConfig {
            fixed: fixed_by_id
                .iter()
                .filter_map(|(id, v)| m.parameter_index(id).map(|i| (i, *v)))
                .collect(),
            timeline: false,
            ..config.clone()
        })
        .collect();
    let blocks = config.runs.div_ceil(BLOCK);
    let empty = || PairedCounts::new(outcome_ids.clone(), models.len());
    let lane_models: Vec<LaneModel> = models.iter().map(|m| LaneModel::new(m)).collect();
    // A failed block does not stop the others, so that the failure reported is the one of the
    // lowest run at any thread count (see `FirstFailure`).
    let failure = FirstFailure::default();
    let merged = (0..blocks)
        .into_par_iter()
        .try_fold(
            || {
                let runners: Vec<BatchRunner> = lane_models.iter().map(BatchRunner::new).collect();
                (empty(), runners)
            },
            |(mut acc, mut runners), block| {
                if cancel.load(Ordering::Relaxed) {
                    return Err(StudyError::Cancelled);
                }
                let first = block * BLOCK;
                if failure.skips(first) {
                    return Ok((acc, runners));
                }
                let len = BLOCK.min(config.runs - first);
                // outcomes[m * LANES + lane]: run `lane` of the batch under model m.
                let mut outcomes = vec![0usize; models.len() * LANES];
                let mut start = first;
                while start < first + len {
                    let batch = (first + len - start).min(LANES as u64);
                    let mut failed: Option<(usize, RunError)> = None;
                    for (m, model) in models.iter().enumerate() {
                        let p = model.parameters.len();
                        let mut params = vec![0.0; LANES * p];
                        let mut us = vec![0.0; p];
                        for lane in 0..batch as usize {
                            let run = start + lane as u64;
                            let stream = RunStream::new(config.seed, run);
                            let values = &mut params[lane * p..(lane + 1) * p];
                            sample_parameters(model, &configs[m], run, stream, values, &mut us);
                        }
                        let jobs: Vec<RunJob> = (0..batch as usize)
                            .map(|lane| {
                                let run = start + lane as u64;
                                RunJob {
                                    run,
                                    parameters: &params[lane * p..(lane + 1) * p],
                                    stream: RunStream::new(config.seed, run),
                                }
                            })
                            .collect();
                        let ran = runners[m].run(&jobs, |lane, outcome, _| {
                            outcomes[m * LANES + lane] = maps[m][outcome];
                        });
                        if let Err(e) = ran {
                            // Report what a run-by-run pass (each run under every model in
                            // turn) would meet first: the earliest run, then the first model.
                            if failed.as_ref().is_none_or(|(_, f)| e.run < f.run) {
                                failed = Some((m, e));
                            }
                        }
                    }
                    if let Some((_, e)) = failed {
                        failure.record(e);
                        return Ok((acc, runners));
                    }
                    for lane in 0..batch as usize {
                        acc.runs += 1;
                        let base = outcomes[lane];
                        for m in 0..models.len() {
                            let outcome = outcomes[m * LANES + lane];
                            acc.counts[m][outcome] += 1;
                            if m > 0 && outcome != base {
                                acc.gained[m][outcome] += 1;
                                acc.lost[m][base] += 1;
                            }
                        }
                    }
                    start += batch;
                }
                progress(len);
                Ok((acc, runners))
            },
        )
        .map(|r| r.map(|(acc, _)| acc))
        .try_reduce(empty, |mut a, b| {
            a.merge(&b);
            Ok(a)
        })?;
    match failure.into_error() {
        Some(e) => Err(e.into()),
        None => Ok(merged),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paired_interval_matches_a_hand_computation() {
        // 10 runs: base had outcome 0 in runs 0..6; the variant in runs 0..4 and 8.
        let mut c = PairedCounts::new(vec!["a".into(), "b".into()], 2);
        c.runs = 10;
        c.gained[1][0] = 1; // run 8
        c.lost[1][0] = 2; // runs 4, 5
        let (mean, [lo, hi]) = c.difference(1, 0);
        // d = (+1 once, -1 twice, 0 seven times): mean -0.1, sample variance (3 - 10*0.01)/9.
        let sd = ((3.0 - 10.0 * 0.01) / 9.0f64).sqrt();
        let half = 1.959_963_984_540_054 * sd / 10f64.sqrt();
        assert!((mean + 0.1).abs() < 1e-12);
        assert!((lo - (-0.1 - half)).abs() < 1e-12 && (hi - (-0.1 + half)).abs() < 1e-12);
    }

    #[test]
    fn identical_models_differ_by_exactly_zero() {
        let model = crate::model::compile(crate::scenario::load_default().expect("loads"))
            .expect("compiles");
        let config = StudyConfig {
            runs: 3000,
            seed: 4,
            fixed: vec![],
            timeline: false,
            sampling: Default::default(),
        };
        let counts = run_paired(
            &[&model, &model],
            &config,
            &[],
            &|_| {},
            &AtomicBool::new(false),
        )
        .expect("runs");
        for o in 0..counts.outcome_ids.len() {
            assert_eq!(counts.difference(1, o), (0.0, [0.0, 0.0]));
        }
        assert_eq!(counts.counts[0], counts.counts[1]);
    }
}
