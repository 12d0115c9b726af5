//! Many runs of a model, in parallel, aggregated as they stream.
//!
//! Runs are grouped in fixed blocks of [`BLOCK`] run indexes. A block is simulated by one
//! thread in index order; its aggregates merge into a per-thread accumulator whose merge is
//! exact and order-free (see [`aggregate`]). Per-run rows go to a [`RunSink`] in run order
//! through a bounded channel, so memory stays flat however many runs there are.

mod accumulator;
pub mod aggregate;
pub mod design;
pub mod exact;
pub mod first_failure;
pub mod paired;
pub mod replications;
pub mod shard;
mod summarize;
pub mod summary;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc;

use rayon::prelude::*;

use crate::engine::{Batches, Engine, RunError, LANES};
use crate::model::Model;
use crate::rng::RunStream;
pub use accumulator::Accumulator;
use accumulator::{count_lanes, record, LaneResults, RunResult};
use aggregate::{wilson, Pending};
use design::sample_lanes;
pub use design::{sample_parameters, DesignRows, Sampling};
pub use summarize::summarize;
pub use summary::{CalibrationInfo, CorrelationInfo, Summary};

/// Runs per block: the unit of parallel work and of in-order summation.
pub const BLOCK: u64 = 1024;

/// Runs whose metric values wait before they go into the sketches: enough for a sketch's
/// buckets to be fetched once for many runs (they do not stay in cache between chunks), few
/// enough that the waiting values (16 KB a sketch, 5.5 MB a worker for the default timeline)
/// stay in the last-level cache with two workers. Against 1,024, 2,048 took 9 % off a run
/// with the timeline on one thread and 5 % on two; 4,096 did as well on one thread and no
/// better than 1,024 on two (docs/performance.md).
const PENDING_RUNS: usize = 2048;
// A chunk is one part for the sketches' key pass (`aggregate::KEYS`).
const _: () = assert!(PENDING_RUNS <= aggregate::KEYS);
/// Most runs per parameter set: a set's runs are one block's, and its outcome counts a table
/// of `R + 1` slots per outcome.
pub const MAX_REPLICATIONS: u64 = 10_000;
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
    /// Given values for some parameters, run by run (`run --design FILE`); the others are
    /// sampled as usual.
    pub design: Option<std::sync::Arc<DesignRows>>,
    /// Runs per parameter set (`run --replications R`): run `r` takes the parameters of set
    /// `r / R` and its own chance draws, so each set gets its own outcome probabilities. 1 for
    /// a plain study, where every run is its own set.
    pub replications: u64,
}

impl StudyConfig {
    /// The parameter set run `run` belongs to: the design point its parameters are drawn at.
    pub fn parameter_set(&self, run: u64) -> u64 {
        run / self.replications.max(1)
    }

    /// Parameter sets in the study (its runs when there are no replications).
    pub fn parameter_sets(&self) -> u64 {
        self.runs / self.replications.max(1)
    }

    /// Runs per block: [`BLOCK`], or with replications the largest multiple of the
    /// replications that fits (at least one set), so that a block holds whole parameter sets
    /// and counts each set's outcomes on its own.
    pub fn block_len(&self) -> u64 {
        let r = self.replications.max(1);
        if r == 1 {
            BLOCK
        } else {
            r * (BLOCK / r).max(1)
        }
    }
}

/// Receives per-run rows, in run order.
pub trait RunSink: Send {
    fn write_rows(&mut self, rows: &RunRows) -> std::io::Result<()>;
    /// Whether the rows should carry every metric at every step ([`RunRows::timeline`]): a
    /// study records them only when asked (`StudyConfig::timeline`), and copies them only for
    /// a sink that wants them.
    fn wants_timeline(&self) -> bool {
        false
    }
    /// Whether the rows should carry each option's probability when its decision was taken
    /// ([`RunRows::option_probabilities`]), for weighing runs by what happened.
    fn wants_option_probabilities(&self) -> bool {
        false
    }
    /// Whether the rows should carry each probe's value ([`RunRows::probes`]), for analyses
    /// of what was observable at a date (`signposts`, `discover --when`).
    fn wants_probes(&self) -> bool {
        false
    }
}

/// The rows of one block of runs, stored column-major per kind.
#[derive(Debug, Clone, Default)]
pub struct RunRows {
    pub first_run: u64,
    pub len: usize,
    pub parameter_count: usize,
    pub decision_count: usize,
    pub metric_count: usize,
    /// Counts per row: each event's, then for each recurring decision its times and each of
    /// its options' (the per-run file's `_count` columns, in that order).
    pub event_count: usize,
    /// `len * parameter_count`, row by row.
    pub parameters: Vec<f64>,
    /// Chosen option per decision, -1 when not taken.
    pub choices: Vec<i16>,
    pub outcomes: Vec<u16>,
    pub metrics: Vec<f64>,
    pub event_counts: Vec<u32>,
    /// Steps of `timeline` per run: the scenario's steps when the sink wants the timeline and
    /// the study records it, else 0.
    pub step_count: usize,
    /// `len * step_count * metric_count`: run by run, step by step, each metric's value at the
    /// end of the step (the last step's are the end-of-run metrics).
    pub timeline: Vec<f64>,
    /// Options per decision in `option_probabilities`: the model's largest option count when
    /// the sink wants them, else 0.
    pub option_stride: usize,
    /// `len * decision_count * option_stride`: run by run, decision by decision, each
    /// option's probability when the decision was taken (0 for every option of a decision not
    /// taken, and past a decision's own options).
    pub option_probabilities: Vec<f64>,
    /// Probes per run in `probes`: the model's probes when the sink wants them, else 0.
    pub probe_count: usize,
    /// `len * probe_count`: run by run, each probe's value at the end of its step.
    pub probes: Vec<f64>,
}

impl RunRows {
    /// Room for `runs` rows, so that a block's rows are written into place rather than
    /// moved each time a column grows.
    fn reserve(&mut self, runs: usize) {
        self.parameters.reserve(runs * self.parameter_count);
        self.choices.reserve(runs * self.decision_count);
        self.outcomes.reserve(runs);
        self.metrics.reserve(runs * self.metric_count);
        self.event_counts.reserve(runs * self.event_count);
        self.timeline
            .reserve(runs * self.step_count * self.metric_count);
        self.option_probabilities
            .reserve(runs * self.decision_count * self.option_stride);
        self.probes.reserve(runs * self.probe_count);
    }
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

/// What a block needs besides its engines, reused from run to run.
struct BlockScratch {
    parameters: Vec<f64>,
    uniforms: Vec<f64>,
    choices: Vec<Option<u16>>,
    metrics: Vec<f64>,
    event_counts: Vec<u32>,
    /// Per recurring decision, the times it was taken, then each option's times.
    decision_times: Vec<u32>,
    /// Per timed decision, when it was taken.
    timed: Vec<accumulator::TimedRun>,
    /// How each parameter's runs are binned for the drivers table.
    drivers: Vec<accumulator::DriverBins>,
    /// With replications, the current parameter set's runs per outcome so far.
    set_counts: Vec<u64>,
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
    queued: &mut Queued,
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
        decision_times: vec![0; accumulator::recurring_width(model)],
        timed: vec![
            None;
            model
                .decisions
                .iter()
                .filter(|d| d.timing.is_some())
                .count()
        ],
        drivers: accumulator::driver_bins(model, config),
        set_counts: vec![0; model.outcomes.len()],
    };
    let Queued {
        end: pending_end,
        steps: pending_steps,
    } = queued;
    let replications = config.replications.max(1);
    let end = first + len;
    let mut run = first;
    while run < end {
        let live = (end - run).min(LANES as u64) as usize;
        let mut streams = [RunStream::new(0, 0); LANES];
        for (lane, stream) in streams.iter_mut().enumerate().take(live) {
            *stream = RunStream::new(config.seed, run + lane as u64);
        }
        // A run's parameters are its set's, drawn from the set's own streams; its chance
        // draws are its own. Without replications a run is its own set.
        let mut points = [0u64; LANES];
        let mut set_streams = streams;
        for lane in 0..live {
            points[lane] = config.parameter_set(run + lane as u64);
            if replications > 1 {
                set_streams[lane] = RunStream::new(config.seed, points[lane]);
            }
        }
        sample_lanes(
            model,
            config,
            &points[..live],
            &set_streams[..live],
            &mut scratch.parameters,
            &mut scratch.uniforms,
        );
        for (lane, &stream) in streams.iter().enumerate().take(live) {
            let parameters = &scratch.parameters[lane * p..(lane + 1) * p];
            engine.load(lane, run + lane as u64, stream, parameters);
        }
        engine.run(live)?;
        let lanes = engine.results();
        if let Some(rows) = rows.as_deref_mut().filter(|r| r.step_count > 0) {
            let values = lanes.timeline();
            for lane in 0..live {
                rows.timeline.extend(values.iter().map(|v| v[lane]));
            }
        }
        // Runs that fail a `--given` condition are written, not counted.
        let mut held = [true; LANES];
        if model.has_given() {
            for (lane, h) in held.iter_mut().enumerate().take(live) {
                *h = lanes.given_holds(lane);
            }
        }
        // A row per sketch: the lanes' values go in together (the timeline is step-major on
        // both sides).
        if held[..live].iter().all(|&h| h) {
            pending_end.push(&mut acc.metric_end, lanes.end_metrics(), live);
            if config.timeline {
                pending_steps.push(&mut acc.metric_steps, lanes.timeline(), live);
            }
        } else {
            let counted = held[..live].iter().filter(|&&h| h).count();
            let packed = |values: &[[f64; LANES]]| -> Vec<[f64; LANES]> {
                values
                    .iter()
                    .map(|row| {
                        let mut out = [0.0; LANES];
                        let kept = (0..live).filter(|&l| held[l]).map(|l| row[l]);
                        for (o, v) in out.iter_mut().zip(kept) {
                            *o = v;
                        }
                        out
                    })
                    .collect()
            };
            pending_end.push(&mut acc.metric_end, &packed(lanes.end_metrics()), counted);
            if config.timeline {
                pending_steps.push(&mut acc.metric_steps, &packed(lanes.timeline()), counted);
            }
        }
        count_lanes(
            model,
            &scratch.drivers,
            acc,
            &LaneResults {
                lanes,
                first_run: run,
                parameters: &scratch.parameters,
                uniforms: &scratch.uniforms,
                counted: &held[..live],
            },
        );
        // The rest of a run's results are gathered one run at a time, only where something
        // takes them that way: the rows, recurring and timed decisions.
        let by_run = rows.is_some() || acc.counts_run_by_run();
        for (lane, &counted) in held.iter().enumerate().take(live) {
            if by_run {
                let result = run_result(model, lanes, lane, &mut scratch);
                if counted {
                    record(model, acc, rows.as_deref_mut(), &result);
                } else if let Some(rows) = rows.as_deref_mut() {
                    accumulator::push_row(rows, &result);
                }
            }
            if replications > 1 {
                // A block holds whole sets, so a set's last run closes its count.
                scratch.set_counts[lanes.outcome(lane)] += 1;
                if (run + lane as u64 + 1) % replications == 0 {
                    for (o, count) in scratch.set_counts.iter_mut().enumerate() {
                        acc.replicated[o][*count as usize] += 1;
                        *count = 0;
                    }
                }
            }
            if let Some(rows) = rows.as_deref_mut().filter(|r| r.probe_count > 0) {
                for k in 0..rows.probe_count {
                    rows.probes.push(lanes.probe(k, lane));
                }
            }
            if let Some(rows) = rows.as_deref_mut().filter(|r| r.option_stride > 0) {
                for d in 0..model.decisions.len() {
                    for k in 0..rows.option_stride {
                        let p = lanes.option_probability(d, k, lane);
                        rows.option_probabilities.push(p);
                    }
                }
            }
        }
        run += live as u64;
    }
    Ok(())
}

/// Lane `lane`'s run, gathered from the engine into `scratch`.
fn run_result<'s>(
    model: &Model,
    lanes: &Engine<'_, LANES>,
    lane: usize,
    scratch: &'s mut BlockScratch,
) -> RunResult<'s> {
    let p = model.parameters.len();
    for (d, c) in scratch.choices.iter_mut().enumerate() {
        *c = lanes.choice(d, lane);
    }
    for (k, v) in scratch.metrics.iter_mut().enumerate() {
        *v = lanes.metric(k, lane);
    }
    for (e, n) in scratch.event_counts.iter_mut().enumerate() {
        *n = lanes.event_count(e, lane);
    }
    if !scratch.decision_times.is_empty() {
        let mut times = scratch.decision_times.iter_mut();
        for (d, decision) in model.decisions.iter().enumerate() {
            if decision.recur.is_some() {
                *times.next().expect("sized by the model") = lanes.decision_count(d, lane);
                for k in 0..decision.options.len() {
                    *times.next().expect("sized by the model") = lanes.option_count(d, k, lane);
                }
            }
        }
    }
    if !scratch.timed.is_empty() {
        let timed = (0..model.decisions.len()).filter(|&d| model.decisions[d].timing.is_some());
        for (slot, d) in scratch.timed.iter_mut().zip(timed) {
            *slot = lanes
                .decision_step(d, lane)
                .map(|step| (step, lanes.decision_forced(d, lane)));
        }
    }
    RunResult {
        parameters: &scratch.parameters[lane * p..(lane + 1) * p],
        outcome: lanes.outcome(lane),
        choices: &scratch.choices,
        metrics: &scratch.metrics,
        event_counts: &scratch.event_counts,
        decision_times: &scratch.decision_times,
        timed: &scratch.timed,
    }
}

/// A worker's metric values on their way into its sketches, kept from block to block so that
/// a sketch takes many runs at a time however short the blocks are (see [`Pending`]).
struct Queued {
    end: Pending,
    steps: Pending,
}

impl Queued {
    fn new(model: &Model, config: &StudyConfig, acc: &Accumulator) -> Queued {
        let chunk = (PENDING_RUNS as u64).min(config.runs).max(LANES as u64) as usize;
        let steps = if config.timeline {
            acc.metric_steps.len()
        } else {
            0
        };
        Queued {
            end: Pending::new(model.metrics.len(), chunk),
            steps: Pending::new(steps, chunk),
        }
    }

    /// Adds what is queued to `acc`'s sketches: before `acc` is read or merged.
    fn flush(&mut self, acc: &mut Accumulator) {
        self.end.flush(&mut acc.metric_end);
        self.steps.flush(&mut acc.metric_steps);
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
    let block_len = config.block_len();
    let with_rows = sink.is_some();
    let step_count = if config.timeline && sink.as_deref().is_some_and(|s| s.wants_timeline()) {
        model.time.steps as usize
    } else {
        0
    };
    let option_stride = if sink
        .as_deref()
        .is_some_and(|s| s.wants_option_probabilities())
    {
        model.max_options()
    } else {
        0
    };
    let probe_count = if sink.as_deref().is_some_and(|s| s.wants_probes()) {
        model.probes.len()
    } else {
        0
    };
    let (sender, receiver) = mpsc::sync_channel::<RunRows>(2 * rayon::current_num_threads() + 2);
    let sink_failed = AtomicBool::new(false);
    std::thread::scope(|scope| {
        let writer = sink.map(|sink| {
            let sink_failed = &sink_failed;
            scope.spawn(move || {
                write_in_order(sink, receiver, blocks.start * block_len, sink_failed)
            })
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
                if option_stride > 0 {
                    engine.keep_option_probabilities();
                }
                let mut acc = Accumulator::for_study(model, config);
                let mut queued = Queued::new(model, config, &acc);
                loop {
                    let block = next_block.fetch_add(1, Ordering::Relaxed);
                    if block >= blocks.end || failure.skips(block * block_len) {
                        queued.flush(&mut acc);
                        return Ok(acc);
                    }
                    if cancel.load(Ordering::Relaxed) || sink_failed.load(Ordering::Relaxed) {
                        return Err(StudyError::Cancelled);
                    }
                    let first = block * block_len;
                    let len = block_len.min(total - first);
                    let mut rows = with_rows.then(|| RunRows {
                        first_run: first,
                        parameter_count: model.parameters.len(),
                        decision_count: model.decisions.len(),
                        metric_count: model.metrics.len(),
                        event_count: model.events.len() + accumulator::recurring_width(model),
                        step_count,
                        option_stride,
                        probe_count,
                        ..RunRows::default()
                    });
                    if let Some(rows) = rows.as_mut() {
                        rows.reserve(len as usize);
                    }
                    let simulated = simulate_block(
                        model,
                        config,
                        &mut engine,
                        &mut acc,
                        first,
                        len,
                        &mut queued,
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
                || Accumulator::for_study(model, config),
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
    let total_blocks = config.runs.div_ceil(config.block_len());
    let batch_blocks = batch.div_ceil(config.block_len()).max(1);
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
    let blocks = config.runs.div_ceil(config.block_len());
    let acc = run_blocks(model, config, 0..blocks, sink, progress, cancel)?;
    summarize(model, config, &acc)
}
