//! Many runs of a model, in parallel, aggregated as they stream.
//!
//! Runs are grouped in fixed blocks of [`BLOCK`] run indexes. A block is simulated by one
//! thread in index order; its aggregates merge into a per-thread accumulator whose merge is
//! exact and order-free (see [`aggregate`]). Per-run rows go to a [`RunSink`] in run order
//! through a bounded channel, so memory stays flat however many runs there are.

pub mod aggregate;
pub mod design;
pub mod exact;
pub mod first_failure;
pub mod paired;
pub mod shard;
pub mod summary;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::engine::{Batches, RunError, LANES};
use crate::model::Model;
use crate::rng::RunStream;
use aggregate::{wilson, Sketch, COARSE_BUCKETS, FINE_BUCKETS};
pub use design::Sampling;
use exact::ExactMoments;
pub use summary::Summary;

/// Runs per block: the unit of parallel work and of in-order summation.
pub const BLOCK: u64 = 1024;
/// Equal-probability bins per parameter for the drivers analysis.
pub const DRIVER_BINS: usize = 10;
const HISTOGRAM_BINS: usize = 30;

/// What to run.
#[derive(Debug, Clone)]
pub struct StudyConfig {
    pub runs: u64,
    pub seed: u64,
    /// Parameters held at a value instead of sampled: (parameter index, value).
    pub fixed: Vec<(usize, f64)>,
    /// Record the quantiles of every metric at every step (for timeline charts).
    pub timeline: bool,
    pub sampling: Sampling,
}

/// Receives per-run rows, in run order.
pub trait RunSink: Send {
    fn write_rows(&mut self, rows: &RunRows) -> std::io::Result<()>;
}

/// The rows of one block of runs, stored column-major per kind.
#[derive(Debug, Clone, Default)]
pub struct RunRows {
    pub first_run: u64,
    pub len: usize,
    pub parameter_count: usize,
    pub decision_count: usize,
    pub metric_count: usize,
    pub event_count: usize,
    /// `len * parameter_count`, row by row.
    pub parameters: Vec<f64>,
    /// Chosen option per decision, -1 when not taken.
    pub choices: Vec<i16>,
    pub outcomes: Vec<u16>,
    pub metrics: Vec<f64>,
    pub event_counts: Vec<u32>,
}

#[derive(Debug, thiserror::Error)]
pub enum StudyError {
    #[error(transparent)]
    Run(#[from] RunError),
    #[error("interrupted")]
    Cancelled,
    #[error("writing per-run rows: {0}")]
    Sink(std::io::Error),
    /// A statistic of finite values that is itself beyond the range of doubles.
    #[error("{0}")]
    Statistic(String),
}

/// Draws the parameter values of run `run` into `out`: each parameter's quantile function at a
/// uniform number from its own named stream.
pub fn sample_parameters(
    model: &Model,
    config: &StudyConfig,
    run: u64,
    stream: RunStream,
    out: &mut [f64],
    u_out: &mut [f64],
) {
    sample_lanes(model, config, run, &[stream], out, u_out);
}

/// [`sample_parameters`] for runs `first..first + streams.len()` at once (at most [`LANES`]),
/// lane-major (`lane * p + i`): each parameter's quantiles are taken together.
fn sample_lanes(
    model: &Model,
    config: &StudyConfig,
    first: u64,
    streams: &[RunStream],
    out: &mut [f64],
    u_out: &mut [f64],
) {
    let p = model.parameters.len();
    let mut us = [0.0; LANES];
    let mut values = [0.0; LANES];
    let live = streams.len();
    for (i, parameter) in model.parameters.iter().enumerate() {
        for (lane, stream) in streams.iter().enumerate() {
            let jitter = stream.uniform(parameter.stream, 0);
            us[lane] = design::design_uniform(
                config.sampling,
                jitter,
                first + lane as u64,
                config.runs,
                parameter.stream ^ config.seed,
            );
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
}

/// Everything a study aggregates. Merging two is exact and commutative.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Accumulator {
    pub runs: u64,
    outcome_counts: Vec<u64>,
    /// Per decision: counts per option, then one for "not taken".
    option_counts: Vec<Vec<u64>>,
    event_totals: Vec<u64>,
    event_any: Vec<u64>,
    /// Exact sums of each metric's end-of-run values and of their squares.
    metric_moments: Vec<ExactMoments>,
    metric_end: Vec<Sketch>,
    /// `steps x metrics` (step-major), empty when the timeline is off.
    metric_steps: Vec<Sketch>,
    parameter_sums: Vec<ExactMoments>,
    /// `parameters x DRIVER_BINS x outcomes`.
    driver_counts: Vec<u64>,
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
            parameter_sums: vec![ExactMoments::sums(); model.parameters.len()],
            driver_counts: vec![0; model.parameters.len() * DRIVER_BINS * model.outcomes.len()],
        }
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
        for (a, b) in self.parameter_sums.iter_mut().zip(&other.parameter_sums) {
            a.merge(b);
        }
        add_counts(&mut self.driver_counts, &other.driver_counts);
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
        let bins = DRIVER_BINS * outcomes;
        length(
            "driver_counts",
            self.driver_counts.len(),
            model.parameters.len() * bins,
        )?;
        for (i, (p, counts)) in model
            .parameters
            .iter()
            .zip(self.driver_counts.chunks(bins.max(1)))
            .enumerate()
        {
            let fixed = config.fixed.iter().any(|(f, _)| *f == i) || p.distribution.is_fixed();
            for (o, &want) in self.outcome_counts.iter().enumerate() {
                let got = checked_total(counts.iter().skip(o).step_by(outcomes).copied())?;
                if got != if fixed { 0 } else { want } {
                    return Err(format!(
                        "the drivers table of parameter `{}` does not add up to the outcome counts",
                        p.id
                    ));
                }
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

fn add_counts(a: &mut [u64], b: &[u64]) {
    for (x, y) in a.iter_mut().zip(b) {
        *x += y;
    }
}

/// One finished run, as the aggregates and the per-run rows need it.
struct RunResult<'a> {
    parameters: &'a [f64],
    /// The design's uniform number behind each parameter (for the drivers bins).
    uniforms: &'a [f64],
    outcome: usize,
    choices: &'a [Option<u16>],
    metrics: &'a [f64],
    event_counts: &'a [u32],
}

/// What a block needs besides its engines, reused from run to run.
struct BlockScratch {
    parameters: Vec<f64>,
    uniforms: Vec<f64>,
    choices: Vec<Option<u16>>,
    metrics: Vec<f64>,
    event_counts: Vec<u32>,
    /// Parameters never sampled (fixed by the scenario or the study): no drivers bins.
    fixed: Vec<bool>,
}

/// Simulates runs `first..first + len` into `acc`, and their rows into `rows` if given.
/// Runs go through the engine [`LANES`] at a time, in run order.
#[allow(clippy::too_many_arguments)]
fn simulate_block(
    model: &Model,
    config: &StudyConfig,
    engine: &mut Batches<'_>,
    acc: &mut Accumulator,
    first: u64,
    len: u64,
    mut rows: Option<&mut RunRows>,
) -> Result<(), RunError> {
    let p = model.parameters.len();
    let m = model.metrics.len();
    let mut scratch = BlockScratch {
        parameters: vec![0.0; LANES * p],
        uniforms: vec![0.0; LANES * p],
        choices: vec![None; model.decisions.len()],
        metrics: vec![0.0; m],
        event_counts: vec![0; model.events.len()],
        fixed: (0..p)
            .map(|i| {
                config.fixed.iter().any(|(f, _)| *f == i)
                    || model.parameters[i].distribution.is_fixed()
            })
            .collect(),
    };
    let end = first + len;
    let mut run = first;
    while run < end {
        let live = (end - run).min(LANES as u64) as usize;
        let mut streams = [RunStream::new(0, 0); LANES];
        for (lane, stream) in streams.iter_mut().enumerate().take(live) {
            *stream = RunStream::new(config.seed, run + lane as u64);
        }
        sample_lanes(
            model,
            config,
            run,
            &streams[..live],
            &mut scratch.parameters,
            &mut scratch.uniforms,
        );
        for (lane, &stream) in streams.iter().enumerate().take(live) {
            let parameters = &scratch.parameters[lane * p..(lane + 1) * p];
            engine.load(lane, run + lane as u64, stream, parameters);
        }
        engine.run(live)?;
        let lanes = engine.results();
        // A row per sketch: the lanes' values go in together (the timeline is step-major on
        // both sides).
        aggregate::add_lanes(&mut acc.metric_end, lanes.end_metrics(), live);
        if config.timeline {
            aggregate::add_lanes(&mut acc.metric_steps, lanes.timeline(), live);
        }
        for lane in 0..live {
            let at = lane * p..(lane + 1) * p;
            for (d, c) in scratch.choices.iter_mut().enumerate() {
                *c = lanes.choice(d, lane);
            }
            for (k, v) in scratch.metrics.iter_mut().enumerate() {
                *v = lanes.metric(k, lane);
            }
            for (e, n) in scratch.event_counts.iter_mut().enumerate() {
                *n = lanes.event_count(e, lane);
            }
            let outcome = lanes.outcome(lane);
            let result = RunResult {
                parameters: &scratch.parameters[at.clone()],
                uniforms: &scratch.uniforms[at],
                outcome,
                choices: &scratch.choices,
                metrics: &scratch.metrics,
                event_counts: &scratch.event_counts,
            };
            record(model, &scratch.fixed, acc, rows.as_deref_mut(), &result);
        }
        run += live as u64;
    }
    Ok(())
}

/// Adds one run to the aggregates and to the rows.
fn record(
    model: &Model,
    fixed: &[bool],
    acc: &mut Accumulator,
    rows: Option<&mut RunRows>,
    run: &RunResult<'_>,
) {
    let outcomes = model.outcomes.len();
    let outcome = run.outcome;
    acc.runs += 1;
    acc.outcome_counts[outcome] += 1;
    for (d, choice) in run.choices.iter().enumerate() {
        let counts = &mut acc.option_counts[d];
        let last = counts.len() - 1;
        counts[choice.map_or(last, usize::from)] += 1;
    }
    for (e, &n) in run.event_counts.iter().enumerate() {
        acc.event_totals[e] += u64::from(n);
        acc.event_any[e] += u64::from(n > 0);
    }
    // (The end-of-run sketches are filled by the caller, a batch of runs at a time.)
    for (moments, &v) in acc.metric_moments.iter_mut().zip(run.metrics) {
        moments.add(v);
    }
    for (i, (&value, &u)) in run.parameters.iter().zip(run.uniforms).enumerate() {
        acc.parameter_sums[i].add(value);
        if !fixed[i] {
            let bin = ((u * DRIVER_BINS as f64) as usize).min(DRIVER_BINS - 1);
            acc.driver_counts[(i * DRIVER_BINS + bin) * outcomes + outcome] += 1;
        }
    }
    if let Some(rows) = rows {
        rows.parameters.extend_from_slice(run.parameters);
        rows.choices
            .extend(run.choices.iter().map(|c| c.map_or(-1, |x| x as i16)));
        rows.outcomes.push(outcome as u16);
        rows.metrics.extend_from_slice(run.metrics);
        rows.event_counts.extend_from_slice(run.event_counts);
        rows.len += 1;
    }
}

/// Runs the blocks `blocks` in parallel and returns their merged aggregates. `progress` is
/// called with the number of runs finished after each block.
pub fn run_blocks(
    model: &Model,
    config: &StudyConfig,
    blocks: std::ops::Range<u64>,
    sink: Option<&mut dyn RunSink>,
    progress: &(dyn Fn(u64) + Sync),
    cancel: &AtomicBool,
) -> Result<Accumulator, StudyError> {
    let total = config.runs;
    let with_rows = sink.is_some();
    let (sender, receiver) = mpsc::sync_channel::<RunRows>(2 * rayon::current_num_threads() + 2);
    let sink_failed = AtomicBool::new(false);
    std::thread::scope(|scope| {
        let writer = sink.map(|sink| {
            let sink_failed = &sink_failed;
            scope.spawn(move || write_in_order(sink, receiver, blocks.start * BLOCK, sink_failed))
        });
        // Each worker takes the next block from a shared counter, so blocks finish in about
        // their order: the writer holds only a few early arrivals, however many runs there
        // are. (Split into contiguous ranges, the second half of the blocks would wait in
        // memory for the first.) One atomic increment per block of runs costs nothing.
        let next_block = AtomicU64::new(blocks.start);
        // A failed block does not stop the others: blocks before it may hold an earlier failure,
        // and the one reported must not depend on the thread count.
        let failure = first_failure::FirstFailure::default();
        let workers =
            rayon::current_num_threads().clamp(1, (blocks.end - blocks.start).max(1) as usize);
        let result = (0..workers)
            .into_par_iter()
            .map(|_| {
                let mut engine = Batches::new(model, config.timeline);
                let mut acc = Accumulator::new(model, config.timeline);
                loop {
                    let block = next_block.fetch_add(1, Ordering::Relaxed);
                    if block >= blocks.end || failure.skips(block * BLOCK) {
                        return Ok(acc);
                    }
                    if cancel.load(Ordering::Relaxed) || sink_failed.load(Ordering::Relaxed) {
                        return Err(StudyError::Cancelled);
                    }
                    let first = block * BLOCK;
                    let len = BLOCK.min(total - first);
                    let mut rows = with_rows.then(|| RunRows {
                        first_run: first,
                        parameter_count: model.parameters.len(),
                        decision_count: model.decisions.len(),
                        metric_count: model.metrics.len(),
                        event_count: model.events.len(),
                        ..RunRows::default()
                    });
                    let simulated = simulate_block(
                        model,
                        config,
                        &mut engine,
                        &mut acc,
                        first,
                        len,
                        rows.as_mut(),
                    );
                    if let Err(e) = simulated {
                        failure.record(e);
                        continue;
                    }
                    if let Some(rows) = rows {
                        // The writer only stops early after a failure, which the next block
                        // sees through `sink_failed`.
                        let _ = sender.send(rows);
                    }
                    progress(len);
                }
            })
            .try_reduce(
                || Accumulator::new(model, config.timeline),
                |mut a, b| {
                    a.merge(&b);
                    Ok(a)
                },
            );
        drop(sender);
        let written = writer.map(|w| w.join());
        match (result, written, failure.into_error()) {
            // Workers stop when the writer fails; its error (a full disk) is the cause.
            (Err(StudyError::Cancelled), Some(Ok(Err(e))), _) => Err(StudyError::Sink(e)),
            (Err(e), _, _) => Err(e),
            (Ok(_), _, Some(e)) => Err(StudyError::Run(e)),
            (Ok(_), Some(Ok(Err(e))), None) => Err(StudyError::Sink(e)),
            (Ok(_), Some(Err(_)), None) => Err(StudyError::Sink(std::io::Error::other(
                "the writer thread panicked",
            ))),
            (Ok(acc), _, None) => Ok(acc),
        }
    })
}

/// Writes blocks in run order, holding early arrivals until their turn.
fn write_in_order(
    sink: &mut dyn RunSink,
    receiver: mpsc::Receiver<RunRows>,
    mut next: u64,
    failed: &AtomicBool,
) -> std::io::Result<()> {
    let mut waiting = BTreeMap::new();
    let mut outcome = Ok(());
    for rows in receiver {
        if outcome.is_err() {
            continue; // keep draining so that workers never block
        }
        waiting.insert(rows.first_run, rows);
        while let Some(rows) = waiting.remove(&next) {
            next += rows.len as u64;
            if let Err(e) = sink.write_rows(&rows) {
                failed.store(true, Ordering::Relaxed);
                outcome = Err(e);
                break;
            }
        }
    }
    outcome
}

/// Runs in batches of `batch` runs until every outcome's 95% interval is at most `half_width`
/// either side of its probability (both `p - lo` and `hi - p`: Wilson intervals are lopsided
/// near 0 and 1, and their mean half-width would let one side exceed the target), or
/// `config.runs` is reached. The stopping point depends only on the results, which depend only
/// on the seed, so it is reproducible; the summary equals that of a plain study with the same
/// final run count, plus [`Summary::precision`], which says whether the target was met.
pub fn run_until_precise(
    model: &Model,
    config: &StudyConfig,
    half_width: f64,
    batch: u64,
    mut sink: Option<&mut dyn RunSink>,
    progress: &(dyn Fn(u64) + Sync),
    cancel: &AtomicBool,
) -> Result<Summary, StudyError> {
    let total_blocks = config.runs.div_ceil(BLOCK);
    let batch_blocks = batch.div_ceil(BLOCK).max(1);
    let mut acc = Accumulator::new(model, config.timeline);
    let mut next = 0;
    let mut sides = widest_sides(&acc);
    while next < total_blocks {
        let end = (next + batch_blocks).min(total_blocks);
        let part_sink = sink.as_mut().map(|s| &mut **s as &mut dyn RunSink);
        let part = run_blocks(model, config, next..end, part_sink, progress, cancel)?;
        acc.merge(&part);
        next = end;
        sides = widest_sides(&acc);
        if sides.below <= half_width && sides.above <= half_width {
            break;
        }
    }
    let mut summary = summarize(model, config, &acc)?;
    summary.precision = Some(summary::PrecisionReport {
        target: half_width,
        below: sides.below,
        above: sides.above,
        worst_outcome: model
            .outcomes
            .get(sides.worst)
            .map_or_else(String::new, |o| o.id.clone()),
        ceiling: config.runs,
        met: sides.below <= half_width && sides.above <= half_width,
    });
    Ok(summary)
}

/// The widest sides of the outcomes' 95% intervals, and the outcome with the widest side.
struct Sides {
    below: f64,
    above: f64,
    worst: usize,
}

fn widest_sides(acc: &Accumulator) -> Sides {
    let n = acc.runs;
    let mut sides = Sides {
        below: 0.0,
        above: 0.0,
        worst: 0,
    };
    let mut widest = f64::NEG_INFINITY;
    for (o, &k) in acc.outcome_counts.iter().enumerate() {
        let p = if n == 0 { 0.0 } else { k as f64 / n as f64 };
        let [lo, hi] = wilson(k, n);
        let (below, above) = (p - lo, hi - p);
        sides.below = sides.below.max(below);
        sides.above = sides.above.max(above);
        if below.max(above) > widest {
            widest = below.max(above);
            sides.worst = o;
        }
    }
    sides
}

/// Runs a whole study and summarises it.
pub fn run_study(
    model: &Model,
    config: &StudyConfig,
    sink: Option<&mut dyn RunSink>,
    progress: &(dyn Fn(u64) + Sync),
    cancel: &AtomicBool,
) -> Result<Summary, StudyError> {
    let blocks = config.runs.div_ceil(BLOCK);
    let acc = run_blocks(model, config, 0..blocks, sink, progress, cancel)?;
    summarize(model, config, &acc)
}

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
    let decisions = model
        .decisions
        .iter()
        .zip(&acc.option_counts)
        .map(|(d, counts)| DecisionSummary {
            id: d.id.clone(),
            label: d.doc.label.clone(),
            actor: d.actor.clone(),
            step: d.at,
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
                histogram: Histogram { edges, counts },
                timeline,
                timeline_quantile_error: timeline_error,
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let outcome_count = model.outcomes.len();
    let parameters = model
        .parameters
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let fixed = config.fixed.iter().any(|(f, _)| *f == i) || p.distribution.is_fixed();
            let drivers = if fixed {
                Vec::new()
            } else {
                (0..DRIVER_BINS)
                    .map(|b| {
                        let base = (i * DRIVER_BINS + b) * outcome_count;
                        let outcome_counts = acc.driver_counts[base..base + outcome_count].to_vec();
                        DriverBin {
                            lo: bin_edge(&p.distribution, b as f64 / DRIVER_BINS as f64),
                            hi: bin_edge(&p.distribution, (b + 1) as f64 / DRIVER_BINS as f64),
                            runs: outcome_counts.iter().sum(),
                            outcome_counts,
                        }
                    })
                    .collect()
            };
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
