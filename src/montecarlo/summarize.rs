//! The summary of a study, from its aggregates.

use super::accumulator::{driver_bins, DriverBins, TimedCounts};
use super::aggregate::{wilson, ValueCounts};
use super::{summary, Accumulator, StudyConfig, StudyError, Summary, DRIVER_BINS, HISTOGRAM_BINS};
use crate::model::{DecisionModel, Model, TimingModel};
use crate::scenario::MetricKind;

/// Turns aggregates into the summary written to `summary.json`. Fails only when a statistic of
/// finite values is beyond the range of doubles (a standard deviation of values near 1e308 of
/// both signs), which JSON and every later step could not hold.
pub fn summarize(
    model: &Model,
    config: &StudyConfig,
    acc: &Accumulator,
) -> Result<Summary, StudyError> {
    use summary::*;
    let n = acc.runs;
    let share = |k: u64| if n == 0 { 0.0 } else { k as f64 / n as f64 };
    let dates: Vec<String> = (0..=model.time.steps)
        .map(|s| model.time.date_of(s).to_string())
        .collect();
    let outcomes = model
        .outcomes
        .iter()
        .zip(&acc.outcome_counts)
        .map(|(o, &count)| OutcomeSummary {
            id: o.id.clone(),
            label: o.label.clone(),
            count,
            probability: share(count),
            ci95: wilson(count, n),
        })
        .collect();
    let mut recurring = acc.recurring.iter();
    let mut timed = acc.timed.iter();
    let decisions = model
        .decisions
        .iter()
        .zip(&acc.option_counts)
        .map(|(d, counts)| DecisionSummary {
            recurring: d.recur.as_ref().and_then(|r| {
                let c = recurring.next()?;
                let taken = c.by_times.iter().enumerate();
                let total: u64 = taken.map(|(k, &runs)| k as u64 * runs).sum();
                Some(RecurringSummary {
                    every: r.every,
                    until: r.until,
                    most_times: d.max_times(model.time.steps),
                    mean_times: share(total),
                    runs_by_times: c.by_times.clone(),
                    options: d
                        .options
                        .iter()
                        .enumerate()
                        .map(|(k, o)| RecurringOptionSummary {
                            id: o.id.clone(),
                            mean_times: share(c.option_times[k]),
                            runs_with_any: c.option_any[k],
                            share_with_any: share(c.option_any[k]),
                            ci95: wilson(c.option_any[k], n),
                        })
                        .collect(),
                })
            }),
            timing: d.timing.as_ref().and_then(|t| {
                let c = timed.next()?;
                Some(timing_summary(d, t, c, &dates, n))
            }),
            id: d.id.clone(),
            label: d.doc.label.clone(),
            actor: d.actor.clone(),
            step: d.at,
            fixed: matches!(d.choice, crate::model::ChoiceModel::Fixed { .. }),
            not_taken: counts[d.options.len()],
            options: d
                .options
                .iter()
                .zip(counts)
                .map(|(o, &count)| OptionSummary {
                    id: o.id.clone(),
                    count,
                    probability: share(count),
                    ci95: wilson(count, n),
                })
                .collect(),
        })
        .collect();
    let events = model
        .events
        .iter()
        .enumerate()
        .map(|(i, e)| EventSummary {
            id: e.id.clone(),
            label: e.doc.label.clone(),
            step: match e.trigger {
                crate::model::TriggerModel::At(s) => Some(s),
                crate::model::TriggerModel::Chance { .. } => None,
            },
            mean_count: share(acc.event_totals[i]),
            share_fired: share(acc.event_any[i]),
        })
        .collect();
    let steps = if config.timeline {
        model.time.steps as usize
    } else {
        0
    };
    let metrics = model
        .metrics
        .iter()
        .enumerate()
        .map(|(k, m)| {
            let moments = &acc.metric_moments[k];
            let end = &acc.metric_end[k];
            let reach = end.min().abs().max(end.max().abs());
            if n > 0 && reach > summary::MAX_MAGNITUDE {
                return Err(StudyError::Statistic(format!(
                    "{} reaches {:e}; results are kept to magnitudes of at most {:e}, so that \
                     every statistic, chart axis and merge stays finite",
                    m.origin,
                    if end.max().abs() >= end.min().abs() {
                        end.max()
                    } else {
                        end.min()
                    },
                    summary::MAX_MAGNITUDE
                )));
            }
            let sd = moments.sd(n);
            if sd.is_some_and(f64::is_infinite) {
                return Err(StudyError::Statistic(format!(
                    "the standard deviation of {} is beyond the largest finite number \
                     (about 1.8e308): its values reach {} and {}",
                    m.origin,
                    acc.metric_end[k].min(),
                    acc.metric_end[k].max()
                )));
            }
            let (edges, counts) = end.histogram(HISTOGRAM_BINS);
            let [p05, p50, p95] = [0.05, 0.5, 0.95].map(|q| end.quantile(q));
            let mut timeline_error: f64 = 0.0;
            let timeline = (0..steps)
                .map(|s| {
                    let sk = &acc.metric_steps[s * model.metrics.len() + k];
                    let [p05, p25, p50, p75, p95] =
                        [0.05, 0.25, 0.5, 0.75, 0.95].map(|q| sk.quantile(q));
                    for q in [p05, p25, p50, p75, p95] {
                        timeline_error = timeline_error.max(q.error);
                    }
                    StepQuantiles {
                        step: s as u32,
                        date: dates[s].clone(),
                        p05: p05.value,
                        p25: p25.value,
                        p50: p50.value,
                        p75: p75.value,
                        p95: p95.value,
                    }
                })
                .collect();
            Ok(MetricSummary {
                id: m.id.clone(),
                label: m.doc.label.clone(),
                unit: m.doc.unit.clone(),
                mean: moments.mean(n),
                sd,
                min: end.min(),
                max: end.max(),
                p05: p05.value,
                p50: p50.value,
                p95: p95.value,
                quantile_error: p05.error.max(p50.error).max(p95.error),
                integer: end.is_integral(),
                kind: match m.kind {
                    MetricKind::Continuous => "continuous",
                    MetricKind::Count => "count",
                    MetricKind::Categorical { .. } => "categorical",
                }
                .into(),
                values: value_shares(&m.kind, &acc.metric_values[k], n),
                other: acc.metric_values[k]
                    .first_other
                    .map(|(first_run, first_value)| {
                        let count = acc.metric_values[k].other;
                        OtherValues {
                            count,
                            share: share(count),
                            ci95: wilson(count, n),
                            first_run,
                            first_value,
                        }
                    }),
                histogram: Histogram { edges, counts },
                timeline,
                timeline_quantile_error: timeline_error,
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let outcome_count = model.outcomes.len();
    let layouts = driver_bins(model, config);
    let parameters = model
        .parameters
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let drivers = (0..layouts[i].len())
                .map(|b| {
                    let base = (i * DRIVER_BINS + b) * outcome_count;
                    let counts = &acc.driver_counts[base..base + outcome_count];
                    let runs = counts.iter().sum();
                    let (lo, hi) = match &layouts[i] {
                        DriverBins::Values(values) => (values[b], values[b]),
                        _ => (
                            bin_edge(&p.distribution, b as f64 / DRIVER_BINS as f64),
                            bin_edge(&p.distribution, (b + 1) as f64 / DRIVER_BINS as f64),
                        ),
                    };
                    DriverBin {
                        lo,
                        hi,
                        runs,
                        outcomes: model
                            .outcomes
                            .iter()
                            .zip(counts)
                            .map(|(o, &count)| DriverCell {
                                outcome: o.id.clone(),
                                count,
                                ci95: wilson(count, runs),
                            })
                            .collect(),
                    }
                })
                .collect();
            let mean = acc.parameter_sums[i].mean(n);
            if mean.abs() > summary::MAX_MAGNITUDE {
                return Err(StudyError::Statistic(format!(
                    "parameter `{}` has a mean of {mean:e}; results are kept to magnitudes of \
                     at most {:e}",
                    p.id,
                    summary::MAX_MAGNITUDE
                )));
            }
            let distribution = match config.fixed.iter().find(|(f, _)| *f == i) {
                Some((_, v)) => format!("fixed {v} (set)"),
                None => p.distribution.describe(),
            };
            Ok(ParameterSummary {
                id: p.id.clone(),
                label: p.doc.label.clone(),
                unit: p.doc.unit.clone(),
                distribution,
                rationale: p.doc.rationale.clone(),
                source: p.doc.source.clone(),
                mean,
                drivers,
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Summary {
        scenario: ScenarioInfo {
            name: model.name.clone(),
            description: model.description.clone(),
            file: model.file.clone(),
            sha256: model.sha256.clone(),
            calibration: model.calibration.as_ref().map(|c| CalibrationInfo {
                method: c.method.clone(),
                cases: c.cases.clone(),
                runs: c.runs,
                seed: c.seed,
                effective_sample_size: c.effective_sample_size,
                written_by: c.written_by.clone(),
            }),
            correlations: model.correlations.as_ref().map(|c| {
                c.pairs
                    .iter()
                    .map(|(a, b, rank)| CorrelationInfo {
                        a: a.clone(),
                        b: b.clone(),
                        rank: *rank,
                    })
                    .collect()
            }),
        },
        version: env!("CARGO_PKG_VERSION").to_string(),
        seed: config.seed,
        runs: n,
        sampling: config.sampling.name().into(),
        fixed: config
            .fixed
            .iter()
            .map(|(i, v)| {
                let p = &model.parameters[*i];
                FixedParameter::new(p.id.clone(), *v, &p.distribution)
            })
            .collect(),
        precision: None,
        given: model.has_given().then(|| summary::GivenInfo {
            conditions: model
                .probes
                .iter()
                .filter(|g| g.role == crate::scenario::ProbeRole::Given)
                .map(|g| summary::GivenCondition {
                    condition: g.text.clone(),
                    date: g.date.to_string(),
                    step_starts: model.time.date_of(g.step).to_string(),
                })
                .collect(),
            matched: n,
            of: config.runs,
        }),
        design: config.design.as_ref().map(|d| summary::DesignInfo {
            file: d.file.clone(),
            sha256: d.sha256.clone(),
            rows: d.rows(),
            parameters: d
                .columns
                .iter()
                .map(|&i| model.parameters[i].id.clone())
                .collect(),
        }),
        replications: super::replications::summarize(model, config, acc),
        outcomes,
        decisions,
        events,
        metrics,
        parameters,
        time_axis: TimeAxis {
            start: model.time.start.to_string(),
            unit: model.time.unit.name().to_string(),
            steps: model.time.steps,
            dates,
        },
    })
}

/// The runs at each value of a count or categorical metric: every declared value of a
/// categorical one (a code no run took is worth seeing at 0 %), the values of a count from
/// the smallest to the largest seen (gaps shown as 0); none for a continuous one.
fn value_shares(kind: &MetricKind, counts: &ValueCounts, n: u64) -> Vec<summary::ValueShare> {
    let at = |value: f64, label: &str, count: u64| summary::ValueShare {
        value,
        label: label.to_string(),
        count,
        share: if n == 0 { 0.0 } else { count as f64 / n as f64 },
        ci95: wilson(count, n),
    };
    match kind {
        MetricKind::Continuous => Vec::new(),
        MetricKind::Categorical { values, labels } => values
            .iter()
            .zip(labels)
            .zip(&counts.counts)
            .map(|((&v, label), &count)| at(v, label, count))
            .collect(),
        MetricKind::Count => {
            let seen = |&(_, c): &(usize, &u64)| *c > 0;
            let first = counts.counts.iter().enumerate().find(seen);
            let last = counts.counts.iter().enumerate().rev().find(seen);
            match (first, last) {
                (Some((a, _)), Some((b, _))) => (a..=b)
                    .map(|v| at(v as f64, "", counts.counts[v]))
                    .collect(),
                // Every run at another value: the one value 0, so that the list is never
                // empty and `other` holds the runs.
                _ => vec![at(0.0, "", 0)],
            }
        }
    }
}

/// The parameter value at quantile `q`, using the support's edge at 0 and 1 when it is finite
/// and the 0.1 % / 99.9 % quantile when it is not (JSON has no infinity).
fn bin_edge(distribution: &crate::distribution::Distribution, q: f64) -> f64 {
    let (lo, hi) = distribution.support();
    if q <= 0.0 && lo.is_finite() {
        lo
    } else if q >= 1.0 && hi.is_finite() {
        hi
    } else {
        distribution.quantile(q.clamp(0.001, 0.999))
    }
}

/// When a timed decision was taken, from its counts by step and option.
fn timing_summary(
    d: &DecisionModel,
    t: &TimingModel,
    c: &TimedCounts,
    dates: &[String],
    n: u64,
) -> summary::TimingSummary {
    let share = |count: u64| if n == 0 { 0.0 } else { count as f64 / n as f64 };
    let options = d.options.len();
    let steps: Vec<summary::TimingStep> = c
        .by_step
        .chunks_exact(options.max(1))
        .enumerate()
        .filter_map(|(j, runs_by_option)| {
            let runs: u64 = runs_by_option.iter().sum();
            let step = t.from + j as u32;
            (runs > 0).then(|| summary::TimingStep {
                step,
                date: dates[step as usize].clone(),
                runs,
                share: share(runs),
                options: runs_by_option.to_vec(),
            })
        })
        .collect();
    let taken: u64 = steps.iter().map(|s| s.runs).sum();
    // Exact: the sum of steps fits in u128 whatever the runs.
    let step_total: u128 = steps
        .iter()
        .map(|s| u128::from(s.step) * u128::from(s.runs))
        .sum();
    let mut so_far = 0u64;
    let median_step = steps
        .iter()
        .find(|s| {
            so_far += s.runs;
            2 * u128::from(so_far) >= u128::from(taken)
        })
        .map(|s| s.step);
    summary::TimingSummary {
        from: t.from,
        until: t.until,
        from_date: dates[t.from as usize].clone(),
        until_date: dates[t.until as usize].clone(),
        default: t.default.map(|k| d.options[k].id.clone()),
        forced: c.forced,
        forced_share: share(c.forced),
        mean_step: (taken > 0).then(|| step_total as f64 / taken as f64),
        median_step,
        median_date: median_step.map(|s| dates[s as usize].clone()),
        steps,
    }
}
