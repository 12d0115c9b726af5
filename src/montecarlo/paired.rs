//! Paired runs of several models on common random numbers, for counterfactual comparison.
//!
//! Run k of every model uses the same random stream (`RunStream::new(seed, k)`), and streams
//! are keyed by name, so a parameter or event the models share sees the same numbers in both.
//! The difference between two models' outcome shares is then the assumption, not the noise,
//! and its interval is Newcombe's paired score interval ([`newcombe_paired`]).

use std::sync::atomic::{AtomicBool, Ordering};

use rayon::prelude::*;

use super::aggregate::wilson;
use super::first_failure::FirstFailure;
use super::{sample_parameters, StudyConfig, StudyError, BLOCK};
use crate::engine::RunError;
use crate::engine::LANES;
use crate::engine::{Batches, RunJob};
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
    /// interval for the paired difference: Newcombe's hybrid score interval (see
    /// [`newcombe_paired`]). A normal approximation on the per-run differences collapses to
    /// `[0, 0]` whenever no run differs, which at 1,000 runs and a true difference of 0.05
    /// points happens in 60 % of studies.
    pub fn difference(&self, model: usize, outcome: usize) -> (f64, [f64; 2]) {
        let gained = self.gained[model][outcome];
        let lost = self.lost[model][outcome];
        // Runs with the outcome under both: the base's count less those the variant lost.
        let both = self.counts[0][outcome].saturating_sub(lost);
        let neither = self.runs.saturating_sub(both + gained + lost);
        newcombe_paired(both, gained, lost, neither)
    }
}

/// The 95% interval of Newcombe (1998), method 10, for the difference `p1 - p2` of two
/// proportions measured on the same runs: `both` runs had the outcome under both models,
/// `first_only` only under the first, `second_only` only under the second, `neither` under
/// neither, so `p1 = (both + first_only) / n` and `p2 = (both + second_only) / n`.
///
/// Each proportion gets its Wilson score interval, and the two are combined ("square and add")
/// with the correlation between the paired proportions, shrunk towards zero by `n / 2` in the
/// numerator as the method prescribes. It keeps close to 95% coverage when few runs differ
/// (Newcombe's own evaluation; `tests/paired_interval.rs` measures it here), and it never has
/// zero width, because the data cannot tell "no run differs" from "one run in a thousand
/// does". Returns the point estimate and the interval, clipped to `[-1, 1]`.
///
/// R. G. Newcombe, "Improved confidence intervals for the difference between binomial
/// proportions based on paired data", Statistics in Medicine 17 (1998) 2635-2650.
pub fn newcombe_paired(
    both: u64,
    first_only: u64,
    second_only: u64,
    neither: u64,
) -> (f64, [f64; 2]) {
    let n = both + first_only + second_only + neither;
    if n == 0 {
        return (0.0, [-1.0, 1.0]);
    }
    let n_f = n as f64;
    let (a, b, c, d) = (
        both as f64,
        first_only as f64,
        second_only as f64,
        neither as f64,
    );
    let p1 = (a + b) / n_f;
    let p2 = (a + c) / n_f;
    let [l1, u1] = wilson(both + first_only, n);
    let [l2, u2] = wilson(both + second_only, n);
    // Margins are products of up to four counts: f64 keeps their size (up to 1e36) and the
    // ratio needs no more than its 53 bits.
    let margins = (a + b) * (c + d) * (a + c) * (b + d);
    let phi = if margins == 0.0 {
        0.0
    } else {
        let cross = a * d - b * c;
        let shrunk = if cross > n_f / 2.0 {
            cross - n_f / 2.0
        } else if cross >= 0.0 {
            0.0
        } else {
            cross
        };
        shrunk / margins.sqrt()
    };
    let estimate = p1 - p2;
    let below = (p1 - l1).powi(2) - 2.0 * phi * (p1 - l1) * (u2 - p2) + (u2 - p2).powi(2);
    let above = (u1 - p1).powi(2) - 2.0 * phi * (u1 - p1) * (p2 - l2) + (p2 - l2).powi(2);
    let lo = (estimate - below.max(0.0).sqrt()).max(-1.0);
    let hi = (estimate + above.max(0.0).sqrt()).min(1.0);
    (estimate, [lo, hi])
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
    // A failed block does not stop the others, so that the failure reported is the one of the
    // lowest run at any thread count (see `FirstFailure`).
    let failure = FirstFailure::default();
    let merged = (0..blocks)
        .into_par_iter()
        .try_fold(
            || {
                let runners: Vec<Batches> = models.iter().map(|m| Batches::new(m, false)).collect();
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
                        let ran = runners[m].run_each(&jobs, |lane, outcome, _| {
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

    /// Newcombe (1998), Table II, example (a): 36 pairs with the outcome under both, 12 under
    /// the first only, 2 under the second only, none under neither; method 10 gives +0.2000
    /// [0.0569, 0.3404].
    #[test]
    fn newcombe_interval_matches_the_published_example() {
        let (d, [lo, hi]) = newcombe_paired(36, 12, 2, 0);
        assert!((d - 0.2).abs() < 1e-12, "{d}");
        assert!((lo - 0.0569).abs() < 5e-5, "{lo}");
        assert!((hi - 0.3404).abs() < 5e-5, "{hi}");
        // The same table seen from the other side: the interval is mirrored.
        let (d, [lo2, hi2]) = newcombe_paired(36, 2, 12, 0);
        assert!((d + 0.2).abs() < 1e-12);
        assert!((lo2 + hi).abs() < 1e-12 && (hi2 + lo).abs() < 1e-12);
    }

    #[test]
    fn paired_counts_feed_the_newcombe_interval() {
        // 10 runs: base had outcome 0 in runs 0..6; the variant in runs 0..4 and 8.
        let mut c = PairedCounts::new(vec!["a".into(), "b".into()], 2);
        c.runs = 10;
        c.counts[0][0] = 6;
        c.counts[1][0] = 5;
        c.gained[1][0] = 1; // run 8
        c.lost[1][0] = 2; // runs 4, 5
                          // Both: runs 0..4; neither: runs 6, 7, 9.
        assert_eq!(c.difference(1, 0), newcombe_paired(4, 1, 2, 3));
        let (d, [lo, hi]) = c.difference(1, 0);
        assert!((d + 0.1).abs() < 1e-12 && lo < d && d < hi);
    }

    #[test]
    fn no_discordant_run_still_gives_an_interval_of_positive_width() {
        let (d, [lo, hi]) = newcombe_paired(300, 0, 0, 700);
        assert_eq!(d, 0.0);
        assert!(lo < -1e-4 && hi > 1e-4, "[{lo}, {hi}]");
        let (_, [lo, hi]) = newcombe_paired(0, 0, 0, 1000);
        assert!(lo < 0.0 && hi > 0.0 && lo >= -1.0 && hi <= 1.0);
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
            design: None,
            replications: 1,
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
            let (d, [lo, hi]) = counts.difference(1, o);
            assert_eq!(d, 0.0);
            assert!(lo < 0.0 && 0.0 < hi, "[{lo}, {hi}]");
        }
        assert_eq!(counts.counts[0], counts.counts[1]);
    }
}
