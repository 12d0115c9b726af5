//! Runs in batches of [`LANES`], with errors reported as a run-by-run loop would report them.

use super::{Engine, RunError, LANES};
use crate::model::Model;
use crate::rng::RunStream;

/// Runs up to [`LANES`] runs at a time. When one of them fails, the batch is run again one run
/// at a time, in run order, so that the error is that of the first failing run (a batch stops
/// at the first failing step of any lane, which may be a later run's), exactly as a
/// one-run-at-a-time loop reports it.
pub struct Batches<'m> {
    lanes: Engine<'m, LANES>,
    one: Engine<'m, 1>,
    parameters: Vec<f64>,
    metrics: Vec<f64>,
}

/// One run for [`Batches::run_each`]: its index (for error messages), parameters and stream.
#[derive(Clone, Copy)]
pub struct RunJob<'p> {
    pub run: u64,
    pub parameters: &'p [f64],
    pub stream: RunStream,
}

impl<'m> Batches<'m> {
    /// With `timeline`, every step's metrics are kept (see [`Engine::timeline`]).
    pub fn new(model: &'m Model, timeline: bool) -> Batches<'m> {
        Batches {
            lanes: Engine::new(model, timeline),
            one: Engine::new(model, timeline),
            parameters: Vec::with_capacity(model.parameters.len()),
            metrics: vec![0.0; model.metrics.len()],
        }
    }

    /// Keeps each option's probability when its decision is taken (see
    /// [`Engine::keep_option_probabilities`]).
    pub fn keep_option_probabilities(&mut self) {
        self.lanes.keep_option_probabilities();
        self.one.keep_option_probabilities();
    }

    /// Puts run `run` in lane `lane` (see [`Engine::load`]).
    pub fn load(&mut self, lane: usize, run: u64, stream: RunStream, parameters: &[f64]) {
        self.lanes.load(lane, run, stream, parameters);
    }

    /// Runs lanes `0..live`; on success their results are in [`Batches::results`]. The error
    /// is the first failing run's.
    pub fn run(&mut self, live: usize) -> Result<(), RunError> {
        if self.lanes.run(live).is_ok() {
            return Ok(());
        }
        for lane in 0..live {
            self.parameters.clear();
            self.parameters.extend(self.lanes.parameters(lane));
            let (run, stream) = (self.lanes.runs[lane], self.lanes.streams[lane]);
            self.one.load(0, run, stream, &self.parameters);
            self.one.run(1)?;
            self.lanes.take_lane(lane, &self.one);
        }
        Ok(())
    }

    /// The engine holding the last batch's results, one lane per run.
    pub fn results(&self) -> &Engine<'m, LANES> {
        &self.lanes
    }

    /// Runs any list of runs, [`LANES`] at a time, and calls `each(job index, outcome, end
    /// metrics)` for each, in order, for analyses that need no more of a run.
    pub fn run_each(
        &mut self,
        jobs: &[RunJob<'_>],
        mut each: impl FnMut(usize, usize, &[f64]),
    ) -> Result<(), RunError> {
        for (first, batch) in jobs.chunks(LANES).enumerate() {
            for (lane, job) in batch.iter().enumerate() {
                self.load(lane, job.run, job.stream, job.parameters);
            }
            self.run(batch.len())?;
            for lane in 0..batch.len() {
                for (k, v) in self.metrics.iter_mut().enumerate() {
                    *v = self.lanes.metric(k, lane);
                }
                each(
                    first * LANES + lane,
                    self.lanes.outcome(lane),
                    &self.metrics,
                );
            }
        }
        Ok(())
    }
}
