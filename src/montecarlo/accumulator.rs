//! Everything a study aggregates, run by run: counts, exact sums and sketches, which merge
//! exactly and in any order, so that blocks of runs can be summed by any number of threads and
//! shards (see `summary.json`'s reproducibility promise).

use serde::{Deserialize, Serialize};

use super::aggregate::{Sketch, ValueCounts, COARSE_BUCKETS, FINE_BUCKETS};
use super::exact::ExactMoments;
use super::{RunRows, StudyConfig, DRIVER_BINS};
use crate::distribution::Spec;
use crate::engine::{Engine, LANES};
use crate::model::Model;
use crate::scenario::{MetricKind, MAX_METRIC_VALUES};

/// Everything a study aggregates. Merging two is exact and commutative.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Accumulator {
    pub runs: u64,
    pub(super) outcome_counts: Vec<u64>,
    /// Per decision: counts per option, then one for "not taken".
    pub(super) option_counts: Vec<Vec<u64>>,
    pub(super) event_totals: Vec<u64>,
    pub(super) event_any: Vec<u64>,
    /// Exact sums of each metric's end-of-run values and of their squares.
    pub(super) metric_moments: Vec<ExactMoments>,
    pub(super) metric_end: Vec<Sketch>,
    /// `steps x metrics` (step-major), empty when the timeline is off.
    pub(super) metric_steps: Vec<Sketch>,
    /// Per metric, the runs at each value of a count or categorical one (no slots for a
    /// continuous one).
    pub(super) metric_values: Vec<ValueCounts>,
    pub(super) parameter_sums: Vec<ExactMoments>,
    /// `parameters x DRIVER_BINS x outcomes`.
    pub(super) driver_counts: Vec<u64>,
    /// With replications (`StudyConfig::replications` R > 1): per outcome, the parameter sets
    /// by how many of their R runs ended in it (`replicated[o][k]`, k in 0..=R). Empty
    /// otherwise, and then absent from a partial, whose bytes stay as they were.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(super) replicated: Vec<Vec<u64>>,
    /// Per recurring decision, in model order: how often it was taken. Empty without one, and
    /// then absent from a partial, whose bytes stay as they were.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(super) recurring: Vec<RecurringCounts>,
    /// Per timed decision, in model order: when it was taken. Empty without one, and then
    /// absent from a partial.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(super) timed: Vec<TimedCounts>,
}

/// When a timed decision was taken, over runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TimedCounts {
    /// Runs that took option k at step `from + j`: `by_step[j * options + k]`, j over its window.
    pub(super) by_step: Vec<u64>,
    /// Runs that waited at the deadline and so took the default.
    pub(super) forced: u64,
}

/// What a run hands over for a timed decision: the step it was taken at and whether the
/// deadline forced it; `None`, not taken.
pub(super) type TimedRun = Option<(u32, bool)>;

/// How often a recurring decision was taken, over runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecurringCounts {
    /// Runs by the times it was taken: `by_times[k]`, k from 0 to its most times.
    pub(super) by_times: Vec<u64>,
    /// Per option: the times it was taken, summed over runs.
    pub(super) option_times: Vec<u64>,
    /// Per option: the runs that took it at least once.
    pub(super) option_any: Vec<u64>,
}

/// The numbers a run hands over for its recurring decisions: per such decision, its times
/// and each option's.
pub(super) fn recurring_width(model: &Model) -> usize {
    let recurring = model.decisions.iter().filter(|d| d.recur.is_some());
    recurring.map(|d| 1 + d.options.len()).sum()
}

impl Accumulator {
    pub fn new(model: &Model, timeline: bool) -> Accumulator {
        let m = model.metrics.len();
        let steps = if timeline {
            model.time.steps as usize
        } else {
            0
        };
        Accumulator {
            runs: 0,
            outcome_counts: vec![0; model.outcomes.len()],
            option_counts: model
                .decisions
                .iter()
                .map(|d| vec![0; d.options.len() + 1])
                .collect(),
            event_totals: vec![0; model.events.len()],
            event_any: vec![0; model.events.len()],
            metric_moments: vec![ExactMoments::with_squares(); m],
            metric_end: vec![Sketch::new(FINE_BUCKETS); m],
            metric_steps: vec![Sketch::new(COARSE_BUCKETS); m * steps],
            metric_values: model
                .metrics
                .iter()
                .map(|m| ValueCounts::new(value_slots(&m.kind)))
                .collect(),
            parameter_sums: vec![ExactMoments::sums(); model.parameters.len()],
            driver_counts: vec![0; model.parameters.len() * DRIVER_BINS * model.outcomes.len()],
            replicated: Vec::new(),
            recurring: model
                .decisions
                .iter()
                .filter(|d| d.recur.is_some())
                .map(|d| RecurringCounts {
                    by_times: vec![0; d.max_times(model.time.steps) as usize + 1],
                    option_times: vec![0; d.options.len()],
                    option_any: vec![0; d.options.len()],
                })
                .collect(),
            timed: model
                .decisions
                .iter()
                .filter_map(|d| {
                    let t = d.timing.as_ref()?;
                    let window = (t.until - t.from + 1) as usize;
                    Some(TimedCounts {
                        by_step: vec![0; window * d.options.len()],
                        forced: 0,
                    })
                })
                .collect(),
        }
    }

    /// The empty aggregates of a study under `config`: [`Accumulator::new`], with the
    /// per-set tables of a replicated study.
    pub fn for_study(model: &Model, config: &StudyConfig) -> Accumulator {
        let mut acc = Accumulator::new(model, config.timeline);
        if config.replications > 1 {
            let slots = config.replications as usize + 1;
            acc.replicated = vec![vec![0; slots]; model.outcomes.len()];
        }
        acc
    }

    pub fn merge(&mut self, other: &Accumulator) {
        self.runs += other.runs;
        add_counts(&mut self.outcome_counts, &other.outcome_counts);
        for (a, b) in self.option_counts.iter_mut().zip(&other.option_counts) {
            add_counts(a, b);
        }
        add_counts(&mut self.event_totals, &other.event_totals);
        add_counts(&mut self.event_any, &other.event_any);
        for (a, b) in self.metric_moments.iter_mut().zip(&other.metric_moments) {
            a.merge(b);
        }
        for (a, b) in self.metric_end.iter_mut().zip(&other.metric_end) {
            a.merge(b);
        }
        for (a, b) in self.metric_steps.iter_mut().zip(&other.metric_steps) {
            a.merge(b);
        }
        for (a, b) in self.metric_values.iter_mut().zip(&other.metric_values) {
            a.merge(b);
        }
        for (a, b) in self.parameter_sums.iter_mut().zip(&other.parameter_sums) {
            a.merge(b);
        }
        add_counts(&mut self.driver_counts, &other.driver_counts);
        if self.replicated.is_empty() {
            self.replicated = other.replicated.clone();
        } else {
            for (a, b) in self.replicated.iter_mut().zip(&other.replicated) {
                add_counts(a, b);
            }
        }
        for (a, b) in self.recurring.iter_mut().zip(&other.recurring) {
            add_counts(&mut a.by_times, &b.by_times);
            add_counts(&mut a.option_times, &b.option_times);
            add_counts(&mut a.option_any, &b.option_any);
        }
        for (a, b) in self.timed.iter_mut().zip(&other.timed) {
            add_counts(&mut a.by_step, &b.by_step);
            a.forced += b.forced;
        }
    }

    /// Outcome counts, in model order.
    pub fn outcome_counts(&self) -> &[u64] {
        &self.outcome_counts
    }

    /// Whether these aggregates could come from `self.runs` runs of `model` under `config`:
    /// every table as long as the model makes it, and every count adding up to the runs.
    /// [`merge`](Accumulator::merge) and [`summarize`] index by the model's sizes and add
    /// counts, so aggregates read from a file go through this first.
    pub fn check(&self, model: &Model, config: &StudyConfig) -> Result<(), String> {
        let runs = self.runs;
        let sum = |counts: &[u64]| checked_total(counts.iter().copied());
        let length = |what: &str, len: usize, want: usize| {
            if len == want {
                Ok(())
            } else {
                Err(format!("{what} has {len} entries; the model needs {want}"))
            }
        };
        let outcomes = model.outcomes.len();
        length("outcome_counts", self.outcome_counts.len(), outcomes)?;
        if sum(&self.outcome_counts)? != runs {
            return Err(format!("outcome counts do not add up to the {runs} runs"));
        }
        length(
            "option_counts",
            self.option_counts.len(),
            model.decisions.len(),
        )?;
        for (d, counts) in model.decisions.iter().zip(&self.option_counts) {
            length(
                &format!("option_counts of decision `{}`", d.id),
                counts.len(),
                d.options.len() + 1,
            )?;
            if sum(counts)? != runs {
                return Err(format!(
                    "the option counts of decision `{}` do not add up to the {runs} runs",
                    d.id
                ));
            }
        }
        let recurring: Vec<_> = model
            .decisions
            .iter()
            .filter(|d| d.recur.is_some())
            .collect();
        length("recurring", self.recurring.len(), recurring.len())?;
        for (d, counts) in recurring.iter().zip(&self.recurring) {
            let most = d.max_times(model.time.steps) as usize;
            length(
                &format!("by_times of decision `{}`", d.id),
                counts.by_times.len(),
                most + 1,
            )?;
            let options = d.options.len();
            length(
                &format!("option_times of decision `{}`", d.id),
                counts.option_times.len(),
                options,
            )?;
            length(
                &format!("option_any of decision `{}`", d.id),
                counts.option_any.len(),
                options,
            )?;
            if sum(&counts.by_times)? != runs {
                return Err(format!(
                    "the times decision `{}` was taken do not add up to the {runs} runs",
                    d.id
                ));
            }
            // The options' times add up to the decision's, and a run that took an option at
            // least once took it at most its most times.
            let taken = counts
                .by_times
                .iter()
                .enumerate()
                .try_fold(0u128, |total, (k, &n)| {
                    total.checked_add(k as u128 * u128::from(n)).ok_or(())
                });
            let options_total = counts
                .option_times
                .iter()
                .map(|&n| u128::from(n))
                .sum::<u128>();
            let consistent = taken == Ok(options_total)
                && counts
                    .option_any
                    .iter()
                    .zip(&counts.option_times)
                    .all(|(&any, &times)| {
                        any <= runs
                            && any <= times
                            && u128::from(times) <= u128::from(any) * most as u128
                    });
            if !consistent {
                return Err(format!(
                    "the option counts of recurring decision `{}` do not fit its times",
                    d.id
                ));
            }
        }
        let timed: Vec<_> = model
            .decisions
            .iter()
            .filter_map(|d| Some((d, d.timing.as_ref()?)))
            .collect();
        length("timed", self.timed.len(), timed.len())?;
        for ((d, t), counts) in timed.iter().zip(&self.timed) {
            let options = d.options.len();
            let window = (t.until - t.from + 1) as usize;
            length(
                &format!("by_step of decision `{}`", d.id),
                counts.by_step.len(),
                window * options,
            )?;
            // Taken at most once a run, so its steps count at most the runs; only the default
            // at the deadline can be forced.
            let at_deadline = t
                .default
                .map_or(0, |k| counts.by_step[(window - 1) * options + k]);
            if sum(&counts.by_step)? > runs || counts.forced > at_deadline {
                return Err(format!(
                    "the steps timed decision `{}` was taken at do not fit its {runs} runs",
                    d.id
                ));
            }
        }
        let events = model.events.len();
        length("event_totals", self.event_totals.len(), events)?;
        length("event_any", self.event_any.len(), events)?;
        for ((e, &total), &any) in model
            .events
            .iter()
            .zip(&self.event_totals)
            .zip(&self.event_any)
        {
            // A run counts an event at most u32::MAX times, and at least once if it fired.
            let most = u128::from(any) * u128::from(u32::MAX);
            if any > runs || any > total || u128::from(total) > most {
                return Err(format!(
                    "event `{}` fired {total} times in {any} of {runs} runs",
                    e.id
                ));
            }
        }
        let metrics = model.metrics.len();
        let steps = if config.timeline {
            model.time.steps as usize
        } else {
            0
        };
        length("metric_moments", self.metric_moments.len(), metrics)?;
        length("metric_end", self.metric_end.len(), metrics)?;
        length("metric_steps", self.metric_steps.len(), metrics * steps)?;
        length(
            "parameter_sums",
            self.parameter_sums.len(),
            model.parameters.len(),
        )?;
        if !self.metric_moments.iter().all(ExactMoments::has_squares)
            || self.parameter_sums.iter().any(ExactMoments::has_squares)
        {
            return Err("the sums of squares are not those of the metrics".into());
        }
        let sketches = self.metric_end.iter().map(|s| (s, FINE_BUCKETS));
        let step_sketches = self.metric_steps.iter().map(|s| (s, COARSE_BUCKETS));
        for (sketch, capacity) in sketches.chain(step_sketches) {
            sketch.check()?;
            if sketch.capacity() != capacity {
                return Err(format!(
                    "a metric's histogram has {} buckets, not {capacity}",
                    sketch.capacity()
                ));
            }
            if sketch.count() != runs {
                return Err(format!(
                    "a metric's histogram holds {} values, not the {runs} runs",
                    sketch.count()
                ));
            }
        }
        length("metric_values", self.metric_values.len(), metrics)?;
        for (m, v) in model.metrics.iter().zip(&self.metric_values) {
            let what = format!("the value counts of metric `{}`", m.id);
            length(&what, v.counts.len(), value_slots(&m.kind))?;
            let total = checked_total(v.counts.iter().copied().chain([v.other]))?;
            let first_fits = match v.first_other {
                None => v.other == 0,
                Some((run, value)) => {
                    v.other > 0
                        && run < config.runs
                        && value.is_finite()
                        && value_slot(&m.kind, value).is_none()
                }
            };
            // A continuous metric counts no values at all.
            let want = if value_slots(&m.kind) == 0 { 0 } else { runs };
            if total != want || !first_fits {
                return Err(format!(
                    "{what} do not add up to the {runs} runs or name a wrong first other value"
                ));
            }
        }
        self.check_replicated(config)?;
        let bins = DRIVER_BINS * outcomes;
        length(
            "driver_counts",
            self.driver_counts.len(),
            model.parameters.len() * bins,
        )?;
        let layouts = driver_bins(model, config);
        for ((p, counts), layout) in model
            .parameters
            .iter()
            .zip(self.driver_counts.chunks(bins.max(1)))
            .zip(&layouts)
        {
            let used = outcomes * layout.len();
            for (o, &want) in self.outcome_counts.iter().enumerate() {
                let got = checked_total(counts[..used].iter().skip(o).step_by(outcomes).copied())?;
                if got != if layout.len() == 0 { 0 } else { want } {
                    return Err(format!(
                        "the drivers table of parameter `{}` does not add up to the outcome counts",
                        p.id
                    ));
                }
            }
            if counts[used..].iter().any(|&n| n > 0) {
                return Err(format!(
                    "the drivers table of parameter `{}` counts runs in bins it does not have",
                    p.id
                ));
            }
        }
        Ok(())
    }
}

impl Accumulator {
    /// The per-set tables: one per outcome when the study has replications (none otherwise),
    /// each counting every set once, and together the outcome counts.
    fn check_replicated(&self, config: &StudyConfig) -> Result<(), String> {
        let r = config.replications;
        if r <= 1 {
            return if self.replicated.is_empty() {
                Ok(())
            } else {
                Err("per-set outcome counts in a study without replications".into())
            };
        }
        if self.runs % r != 0 {
            return Err(format!(
                "{} runs are not whole parameter sets of {r}",
                self.runs
            ));
        }
        if self.replicated.len() != self.outcome_counts.len() {
            return Err(format!(
                "per-set outcome counts for {} outcomes; the model has {}",
                self.replicated.len(),
                self.outcome_counts.len()
            ));
        }
        for (table, &runs_in) in self.replicated.iter().zip(&self.outcome_counts) {
            if table.len() as u64 != r + 1 {
                return Err(format!(
                    "a per-set outcome table has {} slots; {r} replications need {}",
                    table.len(),
                    r + 1
                ));
            }
            let sets = checked_total(table.iter().copied())?;
            let mut ended = 0u128;
            for (k, &n) in table.iter().enumerate() {
                ended += k as u128 * u128::from(n);
            }
            if sets != self.runs / r || ended != u128::from(runs_in) {
                return Err(
                    "the per-set outcome counts do not add up to the sets and the outcome counts"
                        .into(),
                );
            }
        }
        Ok(())
    }
}

/// The sum of `counts`, or an error if it overflows (counts read from a file can be anything).
fn checked_total(counts: impl Iterator<Item = u64>) -> Result<u64, String> {
    let mut total = 0u64;
    for n in counts {
        total = total
            .checked_add(n)
            .ok_or_else(|| "a count overflows".to_string())?;
    }
    Ok(total)
}

/// How many values a metric counts runs at: its declared values, the counts
/// `0..MAX_METRIC_VALUES`, or none for a continuous metric.
pub(super) fn value_slots(kind: &MetricKind) -> usize {
    match kind {
        MetricKind::Continuous => 0,
        MetricKind::Count => MAX_METRIC_VALUES,
        MetricKind::Categorical { values, .. } => values.len(),
    }
}

/// The slot of `value` for a metric of `kind`, `None` for a value it does not count one by
/// one (an undeclared code; a count that is negative, fractional or beyond the limit).
pub(super) fn value_slot(kind: &MetricKind, value: f64) -> Option<usize> {
    match kind {
        MetricKind::Continuous => None,
        MetricKind::Count => {
            (value >= 0.0 && value < MAX_METRIC_VALUES as f64 && value.fract() == 0.0)
                .then_some(value as usize)
        }
        MetricKind::Categorical { values, .. } => values.iter().position(|&v| v == value),
    }
}

/// How a parameter's runs are binned for the drivers table.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum DriverBins {
    /// Not sampled (fixed by the scenario or by `--set`): no bins.
    None,
    /// By the decile of the uniform number behind the value.
    Deciles,
    /// By value, ascending: a parameter that takes at most `DRIVER_BINS` values (bernoulli,
    /// a short discrete), whose deciles would mix values in a bin that straddles two.
    Values(Vec<f64>),
}

impl DriverBins {
    pub(super) fn len(&self) -> usize {
        match self {
            DriverBins::None => 0,
            DriverBins::Deciles => DRIVER_BINS,
            DriverBins::Values(v) => v.len(),
        }
    }

    /// The decile of uniform `u`, by the parameter's quantile: `floor(10 u)`, at most 9.
    #[inline(always)]
    pub(super) fn decile(u: f64) -> usize {
        ((u * DRIVER_BINS as f64) as u32).min(DRIVER_BINS as u32 - 1) as usize
    }
}

/// The drivers bins of each parameter of `model` in a study under `config`.
pub(super) fn driver_bins(model: &Model, config: &StudyConfig) -> Vec<DriverBins> {
    model
        .parameters
        .iter()
        .enumerate()
        .map(|(i, p)| {
            // A design's column follows the design, not the prior's deciles.
            let designed = config
                .design
                .as_ref()
                .is_some_and(|d| d.columns.contains(&i));
            if config.fixed.iter().any(|(f, _)| *f == i) || p.distribution.is_fixed() || designed {
                return DriverBins::None;
            }
            let mut values = match p.distribution.spec() {
                Spec::Bernoulli { .. } => vec![0.0, 1.0],
                Spec::Discrete { values, .. } => values.iter().map(|v| v + 0.0).collect(),
                _ => return DriverBins::Deciles,
            };
            values.sort_by(f64::total_cmp);
            values.dedup();
            if values.len() <= DRIVER_BINS {
                DriverBins::Values(values)
            } else {
                DriverBins::Deciles
            }
        })
        .collect()
}

fn add_counts(a: &mut [u64], b: &[u64]) {
    for (x, y) in a.iter_mut().zip(b) {
        *x += y;
    }
}

/// One finished run, as the aggregates and the per-run rows need it.
pub(super) struct RunResult<'a> {
    pub(super) parameters: &'a [f64],
    pub(super) outcome: usize,
    pub(super) choices: &'a [Option<u16>],
    pub(super) metrics: &'a [f64],
    pub(super) event_counts: &'a [u32],
    /// Per recurring decision, the times it was taken, then each option's.
    pub(super) decision_times: &'a [u32],
    /// Per timed decision, when it was taken.
    pub(super) timed: &'a [TimedRun],
}

/// Adds one run to the aggregates that are counted run by run (recurring and timed
/// decisions), and to the rows.
pub(super) fn record(
    model: &Model,
    acc: &mut Accumulator,
    rows: Option<&mut RunRows>,
    run: &RunResult<'_>,
) {
    count_run(model, acc, run);
    if let Some(rows) = rows {
        push_row(rows, run);
    }
}

/// A run's row for the per-run file, without counting it (a run that fails a `--given`
/// condition is in the file, not in the summary).
#[inline]
pub(super) fn push_row(rows: &mut RunRows, run: &RunResult<'_>) {
    rows.parameters.extend_from_slice(run.parameters);
    rows.choices
        .extend(run.choices.iter().map(|c| c.map_or(-1, |x| x as i16)));
    rows.outcomes.push(run.outcome as u16);
    rows.metrics.extend_from_slice(run.metrics);
    rows.event_counts.extend_from_slice(run.event_counts);
    rows.event_counts.extend_from_slice(run.decision_times);
    rows.len += 1;
}

impl Accumulator {
    /// Whether [`record`] has anything to count: the rest is counted a batch at a time.
    pub(super) fn counts_run_by_run(&self) -> bool {
        !self.recurring.is_empty() || !self.timed.is_empty()
    }
}

/// Adds one run to the aggregates of recurring and timed decisions.
#[inline(always)]
fn count_run(model: &Model, acc: &mut Accumulator, run: &RunResult<'_>) {
    let mut times = run.decision_times;
    for counts in &mut acc.recurring {
        let options = counts.option_times.len();
        let (decision, rest) = times.split_at(1 + options);
        times = rest;
        counts.by_times[decision[0] as usize] += 1;
        for (k, &n) in decision[1..].iter().enumerate() {
            counts.option_times[k] += u64::from(n);
            counts.option_any[k] += u64::from(n > 0);
        }
    }
    if !acc.timed.is_empty() {
        let timed = model.decisions.iter().enumerate().filter_map(|(i, d)| {
            let t = d.timing.as_ref()?;
            Some((i, d.options.len(), t.from))
        });
        for (((i, options, from), counts), taken) in timed.zip(&mut acc.timed).zip(run.timed) {
            if let (Some((step, forced)), Some(option)) = (taken, run.choices[i]) {
                let j = (step - from) as usize;
                counts.by_step[j * options + usize::from(option)] += 1;
                counts.forced += u64::from(*forced);
            }
        }
    }
}

/// A batch of finished runs, for the aggregates that take a batch at a time.
pub(super) struct LaneResults<'a, 'm> {
    /// The engine holding the batch, one run per lane.
    pub(super) lanes: &'a Engine<'m, LANES>,
    /// The run in lane 0.
    pub(super) first_run: u64,
    /// Lane-major, `lane * parameters + i`.
    pub(super) parameters: &'a [f64],
    /// The design's uniform number behind each parameter, laid out as `parameters`.
    pub(super) uniforms: &'a [f64],
    /// Per live lane, whether it counts (a run that fails a `--given` condition does not).
    pub(super) counted: &'a [bool],
}

/// Adds a batch's counted runs to the counts, the exact sums and the drivers table, one
/// aggregate at a time (the end-of-run sketches are filled by the caller).
///
/// Why by column: each aggregate's state stays near the core over a batch's values instead
/// of being fetched once per run, and what depends only on the aggregate (a metric's kind, a
/// parameter's binning) is looked at once per batch. Each aggregate still takes its runs in
/// run order, so its state is that of adding run by run.
pub(super) fn count_lanes(
    model: &Model,
    drivers: &[DriverBins],
    acc: &mut Accumulator,
    batch: &LaneResults<'_, '_>,
) {
    let p = model.parameters.len();
    let outcomes = model.outcomes.len();
    let lanes = batch.lanes;
    let mut which = [0; LANES];
    let mut n = 0;
    for (lane, &counted) in batch.counted.iter().enumerate() {
        which[n] = lane;
        n += usize::from(counted);
    }
    let which = &which[..n];
    acc.runs += n as u64;
    for &lane in which {
        acc.outcome_counts[lanes.outcome(lane)] += 1;
    }
    for (d, counts) in acc.option_counts.iter_mut().enumerate() {
        let last = counts.len() - 1;
        for &lane in which {
            counts[lanes.choice(d, lane).map_or(last, usize::from)] += 1;
        }
    }
    for (e, (total, any)) in acc
        .event_totals
        .iter_mut()
        .zip(&mut acc.event_any)
        .enumerate()
    {
        for &lane in which {
            let count = lanes.event_count(e, lane);
            *total += u64::from(count);
            *any += u64::from(count > 0);
        }
    }
    let end = lanes.end_metrics();
    for (moments, values) in acc.metric_moments.iter_mut().zip(end) {
        for &lane in which {
            moments.add(values[lane]);
        }
    }
    for ((m, counts), values) in model.metrics.iter().zip(&mut acc.metric_values).zip(end) {
        if matches!(m.kind, MetricKind::Continuous) {
            continue;
        }
        for &lane in which {
            let v = values[lane];
            counts.add(
                batch.first_run + lane as u64,
                value_slot(&m.kind, v),
                v + 0.0,
            );
        }
    }
    for (i, (sums, bins)) in acc.parameter_sums.iter_mut().zip(drivers).enumerate() {
        for &lane in which {
            sums.add(batch.parameters[lane * p + i]);
        }
        let table = &mut acc.driver_counts[i * DRIVER_BINS * outcomes..];
        match bins {
            DriverBins::None => {}
            DriverBins::Deciles => {
                for &lane in which {
                    let bin = DriverBins::decile(batch.uniforms[lane * p + i]);
                    table[bin * outcomes + lanes.outcome(lane)] += 1;
                }
            }
            DriverBins::Values(values) => {
                for &lane in which {
                    let value = batch.parameters[lane * p + i];
                    // The distribution draws only these values.
                    if let Some(bin) = values.iter().position(|&x| x == value) {
                        table[bin * outcomes + lanes.outcome(lane)] += 1;
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::distribution::{U_MAX, U_MIN};

    #[test]
    fn a_decile_is_the_floor_of_ten_u() {
        let edges = (0..=10).flat_map(|k| {
            let u = f64::from(k) / 10.0;
            [u.next_down(), u, u.next_up()]
        });
        let mut x = 0x9e37_79b9_7f4a_7c15_u64;
        let spread = (0..100_000).map(|_| {
            x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            (x >> 11) as f64 / (1u64 << 53) as f64
        });
        for u in edges
            .chain([U_MIN, U_MAX, 0.1 * 3.0, 0.7 - 1e-17])
            .chain(spread)
            .filter(|u| (0.0..1.0).contains(u))
        {
            let floor = (u * 10.0).floor() as usize;
            assert_eq!(DriverBins::decile(u), floor.min(9), "at {u:e}");
        }
    }
}
