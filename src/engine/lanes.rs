//! The engine over [`LANES`] runs at once, for studies.
//!
//! Each lane is one run, and does exactly what [`Engine::run`](super::Engine::run) does for it,
//! in the same order: where runs part ways (an event fires in one and not another, a decision
//! picks different options) the work is done for every lane and kept only where it applies.
//! Runs share nothing, so a lane's results equal the scalar engine's bit for bit; the tests
//! hold it to that.
//!
//! A value that stops being a number makes the whole batch fail with [`NonFinite`] and no
//! detail: the caller reruns those runs with the scalar engine, which reports the error
//! exactly, with its run, step and origin. Errors are rare and end the study, so this keeps the
//! hot path free of error bookkeeping.

// Lane loops index several arrays by the same lane; `for l in 0..LANES` says so plainly.
#![allow(clippy::needless_range_loop)]

use crate::model::expr::{LaneProgram, Lanes, Program, LANES};
use crate::model::{ChoiceModel, EffectModel, Model, TriggerModel};
use crate::rng::RunStream;
use crate::scenario::EffectOp;

/// A decision not taken (yet).
const NOT_TAKEN: u16 = u16::MAX;

type Mask = [bool; LANES];

/// Some lane produced a value that is not a number; rerun its runs with the scalar engine to
/// learn where.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NonFinite;

/// A [`Model`] compiled for lanes. Built once per study and shared by its threads.
pub struct LaneModel<'m> {
    model: &'m Model,
    hoisted: Vec<LaneProgram>,
    inits: Vec<LaneProgram>,
    events: Vec<LaneEvent>,
    rules: Vec<(Option<LaneProgram>, Vec<LaneEffect>)>,
    decisions: Vec<LaneDecision>,
    outcomes: Vec<Option<LaneProgram>>,
    /// Each metric, and whether its value needs the finiteness check: a plain read of a state
    /// variable does not, since every write to one is checked.
    metrics: Vec<(LaneProgram, bool)>,
    stack_size: usize,
}

struct LaneEffect {
    slot: usize,
    op: EffectOp,
    value: LaneProgram,
    min: f64,
    max: f64,
}

enum LaneTrigger {
    At(u32),
    Chance {
        probability: LaneProgram,
        from: u32,
        until: u32,
    },
}

struct LaneEvent {
    trigger: LaneTrigger,
    when: Option<LaneProgram>,
    effects: Vec<LaneEffect>,
    stream: u64,
    count_slot: usize,
    fired_slot: usize,
}

struct LaneOption {
    utility: LaneProgram,
    effects: Vec<LaneEffect>,
    slot: usize,
}

struct LaneDecision {
    at: Option<u32>,
    when: Option<LaneProgram>,
    /// `None`: argmax.
    temperature: Option<LaneProgram>,
    options: Vec<LaneOption>,
    decided_slot: usize,
    stream: u64,
}

impl<'m> LaneModel<'m> {
    pub fn new(model: &'m Model) -> LaneModel<'m> {
        let mut stack_size = 1;
        let mut lane = |p: &Program| {
            let program = LaneProgram::new(p);
            stack_size = stack_size.max(program.stack_size());
            program
        };
        let vars = model.layout.vars as usize;
        let effects = |effects: &[EffectModel], lane: &mut dyn FnMut(&Program) -> LaneProgram| {
            effects
                .iter()
                .map(|e| LaneEffect {
                    slot: vars + e.var,
                    op: e.op,
                    value: lane(&e.value),
                    min: model.vars[e.var].min,
                    max: model.vars[e.var].max,
                })
                .collect::<Vec<_>>()
        };
        let hoisted = model.hoisted.iter().map(&mut lane).collect();
        let inits = model.vars.iter().map(|v| lane(&v.init)).collect();
        let events = model
            .events
            .iter()
            .map(|e| LaneEvent {
                trigger: match &e.trigger {
                    TriggerModel::At(at) => LaneTrigger::At(*at),
                    TriggerModel::Chance {
                        probability,
                        from,
                        until,
                    } => LaneTrigger::Chance {
                        probability: lane(probability),
                        from: *from,
                        until: *until,
                    },
                },
                when: e.when.as_ref().map(&mut lane),
                effects: effects(&e.effects, &mut lane),
                stream: e.stream,
                count_slot: e.count_slot as usize,
                fired_slot: e.fired_slot as usize,
            })
            .collect();
        let rules = model
            .rules
            .iter()
            .map(|r| {
                (
                    r.when.as_ref().map(&mut lane),
                    effects(&r.effects, &mut lane),
                )
            })
            .collect();
        let decisions = model
            .decisions
            .iter()
            .map(|d| LaneDecision {
                at: d.at,
                when: d.when.as_ref().map(&mut lane),
                temperature: match &d.choice {
                    ChoiceModel::Logit { temperature } => Some(lane(temperature)),
                    ChoiceModel::Argmax => None,
                },
                options: d
                    .options
                    .iter()
                    .map(|o| LaneOption {
                        utility: lane(&o.utility),
                        effects: effects(&o.effects, &mut lane),
                        slot: o.slot as usize,
                    })
                    .collect(),
                decided_slot: d.decided_slot as usize,
                stream: d.stream,
            })
            .collect();
        let outcomes = model
            .outcomes
            .iter()
            .map(|o| o.when.as_ref().map(&mut lane))
            .collect();
        let var_slots = model.layout.vars..model.layout.vars + model.vars.len() as u32;
        let metrics = model
            .metrics
            .iter()
            .map(|m| {
                let program = lane(&m.expr);
                let checked = !program.as_load().is_some_and(|s| var_slots.contains(&s));
                (program, checked)
            })
            .collect();
        LaneModel {
            model,
            hoisted,
            inits,
            events,
            rules,
            decisions,
            outcomes,
            metrics,
            stack_size,
        }
    }
}

/// Reusable buffers for running [`LANES`] runs of one model at once.
pub struct LaneEngine<'a> {
    lanes: &'a LaneModel<'a>,
    slots: Vec<Lanes>,
    stack: Vec<Lanes>,
    streams: [RunStream; LANES],
    /// Lanes holding real runs; the others repeat lane 0 and are ignored.
    live: Mask,
    choices: Vec<[u16; LANES]>,
    metrics: Vec<Lanes>,
    /// `steps x metrics`, step-major; empty unless recording the timeline.
    timeline: Vec<Lanes>,
    outcomes: [usize; LANES],
    utilities: Vec<Lanes>,
    probabilities: Vec<f64>,
}

impl<'a> LaneEngine<'a> {
    /// With `timeline`, metrics are evaluated and kept at every step, not only the last.
    pub fn new(lanes: &'a LaneModel<'a>, timeline: bool) -> LaneEngine<'a> {
        let model = lanes.model;
        let max_options = model.max_options();
        let steps = if timeline {
            model.time.steps as usize
        } else {
            0
        };
        LaneEngine {
            lanes,
            slots: vec![[0.0; LANES]; model.layout.len as usize],
            stack: vec![[0.0; LANES]; lanes.stack_size],
            streams: [RunStream::new(0, 0); LANES],
            live: [false; LANES],
            choices: vec![[NOT_TAKEN; LANES]; model.decisions.len()],
            metrics: vec![[0.0; LANES]; model.metrics.len()],
            timeline: vec![[0.0; LANES]; steps * model.metrics.len()],
            outcomes: [0; LANES],
            utilities: vec![[0.0; LANES]; max_options],
            probabilities: vec![0.0; max_options],
        }
    }

    /// Puts a run in lane `lane`: its random stream and parameter values.
    pub fn load(&mut self, lane: usize, stream: RunStream, parameters: &[f64]) {
        self.streams[lane] = stream;
        for (slot, &value) in self.slots.iter_mut().zip(parameters) {
            slot[lane] = value;
        }
    }

    /// Runs lanes `0..live`, loaded with [`LaneEngine::load`].
    pub fn run(&mut self, live: usize) -> Result<(), NonFinite> {
        #[cfg(target_arch = "x86_64")]
        if crate::simd::avx2() {
            // SAFETY: `avx2()` is true only when the CPU has AVX2.
            return unsafe { self.run_avx2(live) };
        }
        self.run_steps(live)
    }

    /// [`LaneEngine::run_steps`] compiled for AVX2 (four lanes per instruction instead of two):
    /// the same IEEE operations, so the same bits.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    fn run_avx2(&mut self, live: usize) -> Result<(), NonFinite> {
        self.run_steps(live)
    }

    #[inline(always)]
    fn run_steps(&mut self, live: usize) -> Result<(), NonFinite> {
        let model = self.lanes.model;
        self.reset(live)?;
        let record_every_step = !self.timeline.is_empty();
        for step in 0..model.time.steps {
            self.slots[model.layout.step as usize] = [f64::from(step); LANES];
            self.fire_events(step)?;
            self.apply_rules()?;
            self.take_decisions(step)?;
            if record_every_step || step + 1 == model.time.steps {
                self.record_metrics(step)?;
            }
        }
        self.classify()
    }

    pub fn outcome(&self, lane: usize) -> usize {
        self.outcomes[lane]
    }

    /// The option decision `decision` took in lane `lane` (`None`: not taken).
    pub fn choice(&self, decision: usize, lane: usize) -> Option<u16> {
        let c = self.choices[decision][lane];
        (c != NOT_TAKEN).then_some(c)
    }

    /// End-of-run value of metric `metric` in lane `lane`.
    pub fn metric(&self, metric: usize, lane: usize) -> f64 {
        self.end_metrics()[metric][lane]
    }

    /// End-of-run values of every metric, one row per metric.
    pub fn end_metrics(&self) -> &[Lanes] {
        match self.timeline.len() {
            0 => &self.metrics,
            n => &self.timeline[n - self.metrics.len()..],
        }
    }

    pub fn event_count(&self, event: usize, lane: usize) -> u32 {
        self.slots[self.lanes.events[event].count_slot][lane] as u32
    }

    /// Every metric at every step, step-major (`step * metrics + metric`); empty unless made
    /// with `timeline`.
    pub fn timeline(&self) -> &[Lanes] {
        &self.timeline
    }

    #[inline(always)]
    fn reset(&mut self, live: usize) -> Result<(), NonFinite> {
        let model = self.lanes.model;
        let parameters = model.parameters.len();
        for lane in 0..LANES {
            self.live[lane] = lane < live;
        }
        // Idle lanes repeat lane 0, so that they compute ordinary numbers.
        for lane in live.max(1)..LANES {
            self.streams[lane] = self.streams[0];
            for slot in &mut self.slots[..parameters] {
                slot[lane] = slot[0];
            }
        }
        self.slots[parameters..].fill([0.0; LANES]);
        self.slots[model.layout.steps as usize] = [f64::from(model.time.steps); LANES];
        let hoisted = model.layout.hoisted as usize;
        for (k, program) in self.lanes.hoisted.iter().enumerate() {
            self.slots[hoisted + k] = program.eval(&self.slots, &mut self.stack);
        }
        self.choices.fill([NOT_TAKEN; LANES]);
        let vars = model.layout.vars as usize;
        for &i in &model.init_order {
            let value = self.lanes.inits[i].eval(&self.slots, &mut self.stack);
            if any_not_finite(&value, &self.live) {
                return Err(NonFinite);
            }
            let var = &model.vars[i];
            let slot = &mut self.slots[vars + i];
            for l in 0..LANES {
                slot[l] = clamp(value[l], var.min, var.max);
            }
        }
        Ok(())
    }

    /// `effects` in the lanes of `mask`.
    #[inline(always)]
    fn apply(&mut self, effects: &[LaneEffect], mask: &Mask) -> Result<(), NonFinite> {
        apply_effects(effects, mask, &self.live, &mut self.slots, &mut self.stack)
    }

    #[inline(always)]
    fn fire_events(&mut self, step: u32) -> Result<(), NonFinite> {
        let lanes = self.lanes;
        for event in &lanes.events {
            self.slots[event.fired_slot] = [0.0; LANES];
            let mut fires = match &event.trigger {
                LaneTrigger::At(at) if *at == step => [true; LANES],
                LaneTrigger::At(_) => continue,
                LaneTrigger::Chance {
                    probability,
                    from,
                    until,
                } => {
                    if step < *from || step > *until {
                        continue;
                    }
                    let p = probability.eval(&self.slots, &mut self.stack);
                    if any_not_finite(&p, &self.live) {
                        return Err(NonFinite);
                    }
                    let mut fires = [false; LANES];
                    for l in 0..LANES {
                        fires[l] = self.streams[l].uniform(event.stream, u64::from(step)) < p[l];
                    }
                    fires
                }
            };
            if !fires.contains(&true) {
                continue;
            }
            if let Some(when) = &event.when {
                let holds = when.eval(&self.slots, &mut self.stack);
                // The scalar engine reads the condition only where the event fires.
                if any_not_finite(&holds, &and(&fires, &self.live)) {
                    return Err(NonFinite);
                }
                and_truth(&mut fires, &holds);
            }
            if !fires.contains(&true) {
                continue;
            }
            for l in 0..LANES {
                // Branch-free: a count is a whole number >= 0, so adding 0.0 leaves it as is.
                let fired = f64::from(u8::from(fires[l]));
                self.slots[event.fired_slot][l] = fired;
                self.slots[event.count_slot][l] += fired;
            }
            self.apply(&event.effects, &fires)?;
        }
        Ok(())
    }

    #[inline(always)]
    fn apply_rules(&mut self) -> Result<(), NonFinite> {
        let lanes = self.lanes;
        for (when, effects) in &lanes.rules {
            let mut holds = [true; LANES];
            if let Some(when) = when {
                let values = when.eval(&self.slots, &mut self.stack);
                if any_not_finite(&values, &self.live) {
                    return Err(NonFinite);
                }
                and_truth(&mut holds, &values);
                if !holds.contains(&true) {
                    continue;
                }
            }
            self.apply(effects, &holds)?;
        }
        Ok(())
    }

    #[inline(always)]
    fn take_decisions(&mut self, step: u32) -> Result<(), NonFinite> {
        let lanes = self.lanes;
        for (i, decision) in lanes.decisions.iter().enumerate() {
            if decision.at.is_some_and(|at| at != step) {
                continue;
            }
            let mut due = self.choices[i].map(|c| c == NOT_TAKEN);
            if !due.contains(&true) {
                continue;
            }
            if let Some(when) = &decision.when {
                let values = when.eval(&self.slots, &mut self.stack);
                if any_not_finite(&values, &and(&due, &self.live)) {
                    return Err(NonFinite);
                }
                and_truth(&mut due, &values);
                if !due.contains(&true) {
                    continue;
                }
            }
            let deciding = and(&due, &self.live);
            let n = decision.options.len();
            for (k, option) in decision.options.iter().enumerate() {
                let u = option.utility.eval(&self.slots, &mut self.stack);
                if any_not_finite(&u, &deciding) {
                    return Err(NonFinite);
                }
                self.utilities[k] = u;
            }
            let mut chosen = [0usize; LANES];
            match &decision.temperature {
                None => {
                    for (l, c) in chosen.iter_mut().enumerate() {
                        let mut best = 0;
                        for k in 1..n {
                            if self.utilities[k][l] > self.utilities[best][l] {
                                best = k;
                            }
                        }
                        *c = best;
                    }
                }
                Some(temperature) => {
                    let t = temperature.eval(&self.slots, &mut self.stack);
                    if (0..LANES).any(|l| deciding[l] && !(t[l] > 0.0 && t[l].is_finite())) {
                        return Err(NonFinite);
                    }
                    for l in 0..LANES {
                        if due[l] {
                            let u = self.streams[l].uniform(decision.stream, 0);
                            chosen[l] = logit_choice(
                                self.utilities[..n].iter().map(|u| u[l]),
                                &mut self.probabilities[..n],
                                t[l],
                                u,
                            );
                        }
                    }
                }
            }
            for l in 0..LANES {
                if due[l] {
                    self.choices[i][l] = chosen[l] as u16;
                    self.slots[decision.decided_slot][l] = 1.0;
                    self.slots[decision.options[chosen[l]].slot][l] = 1.0;
                }
            }
            for (k, option) in decision.options.iter().enumerate() {
                let mut takes = [false; LANES];
                for l in 0..LANES {
                    takes[l] = due[l] && chosen[l] == k;
                }
                if takes.contains(&true) {
                    self.apply(&option.effects, &takes)?;
                }
            }
        }
        Ok(())
    }

    #[inline(always)]
    fn record_metrics(&mut self, step: u32) -> Result<(), NonFinite> {
        let count = self.lanes.metrics.len();
        // Into the timeline when there is one (the last step's row is the end values).
        let row = if self.timeline.is_empty() {
            &mut self.metrics[..]
        } else {
            let at = step as usize * count;
            &mut self.timeline[at..at + count]
        };
        for (k, (metric, checked)) in self.lanes.metrics.iter().enumerate() {
            let v = metric.eval(&self.slots, &mut self.stack);
            if *checked && any_not_finite(&v, &self.live) {
                return Err(NonFinite);
            }
            row[k] = v;
        }
        Ok(())
    }

    #[inline(always)]
    fn classify(&mut self) -> Result<(), NonFinite> {
        let last = self.lanes.outcomes.len() - 1;
        let mut open = [true; LANES];
        self.outcomes = [last; LANES];
        for (k, when) in self.lanes.outcomes.iter().enumerate() {
            let mut holds = [true; LANES];
            if let Some(when) = when {
                let values = when.eval(&self.slots, &mut self.stack);
                // The scalar engine reads an outcome's condition until one holds.
                if any_not_finite(&values, &and(&open, &self.live)) {
                    return Err(NonFinite);
                }
                and_truth(&mut holds, &values);
            }
            for l in 0..LANES {
                if open[l] && holds[l] {
                    self.outcomes[l] = k;
                    open[l] = false;
                }
            }
            if !open.contains(&true) {
                break;
            }
        }
        Ok(())
    }
}

/// Applies `effects` in the lanes of `mask`; the others keep their values.
#[inline(always)]
fn apply_effects(
    effects: &[LaneEffect],
    mask: &Mask,
    live: &Mask,
    slots: &mut [Lanes],
    stack: &mut [Lanes],
) -> Result<(), NonFinite> {
    let checked = and(mask, live);
    for effect in effects {
        let value = effect.value.eval(slots, stack);
        let slot = &mut slots[effect.slot];
        let mut after = *slot;
        match effect.op {
            EffectOp::Set => after = value,
            EffectOp::Add => (0..LANES).for_each(|l| after[l] += value[l]),
            EffectOp::Multiply => (0..LANES).for_each(|l| after[l] *= value[l]),
        }
        if any_not_finite(&after, &checked) {
            return Err(NonFinite);
        }
        // Branch-free over the lanes, so that runs parting ways cost no mispredictions.
        let (min, max) = (effect.min, effect.max);
        for l in 0..LANES {
            let clamped = clamp(after[l], min, max);
            slot[l] = if mask[l] { clamped } else { slot[l] };
        }
    }
    Ok(())
}

/// `f64::clamp` for bounds already known to be ordered (checked when the model was built),
/// without its per-call check, so that it vectorises.
#[inline(always)]
fn clamp(x: f64, min: f64, max: f64) -> f64 {
    let mut x = x;
    if x < min {
        x = min;
    }
    if x > max {
        x = max;
    }
    x
}

/// The scalar engine's softmax choice (`Engine::logit_choice`), operation for operation.
fn logit_choice(
    utilities: impl Iterator<Item = f64> + Clone,
    probabilities: &mut [f64],
    temperature: f64,
    u: f64,
) -> usize {
    let n = probabilities.len();
    let max = utilities.clone().fold(f64::NEG_INFINITY, f64::max);
    let mut total = 0.0;
    for (p, utility) in probabilities.iter_mut().zip(utilities) {
        let w = ((utility - max) / temperature).exp();
        *p = w;
        total += w;
    }
    let mut cumulative = 0.0;
    let mut chosen = n - 1;
    let mut found = false;
    for (k, p) in probabilities.iter_mut().enumerate() {
        *p /= total;
        cumulative += *p;
        if !found && u < cumulative {
            chosen = k;
            found = true;
        }
    }
    chosen
}

#[inline]
fn and_truth(mask: &mut Mask, values: &Lanes) {
    for l in 0..LANES {
        mask[l] &= values[l] != 0.0;
    }
}

#[inline]
fn and(a: &Mask, b: &Mask) -> Mask {
    let mut out = [false; LANES];
    for l in 0..LANES {
        out[l] = a[l] && b[l];
    }
    out
}

#[inline]
fn any_not_finite(values: &Lanes, mask: &Mask) -> bool {
    let mut any = false;
    for l in 0..LANES {
        any |= mask[l] & !values[l].is_finite();
    }
    any
}

/// One run for [`BatchRunner`]: its index (for error messages), parameters and stream.
#[derive(Clone, Copy)]
pub struct RunJob<'p> {
    pub run: u64,
    pub parameters: &'p [f64],
    pub stream: RunStream,
}

/// Runs any list of runs [`LANES`] at a time, for analyses that need only each run's outcome
/// and end metrics. A batch that fails is rerun by the scalar engine, which reports the error.
pub struct BatchRunner<'a> {
    lanes: LaneEngine<'a>,
    scalar: super::Engine<'a>,
    metrics: Vec<f64>,
}

impl<'a> BatchRunner<'a> {
    pub fn new(lanes: &'a LaneModel<'a>) -> BatchRunner<'a> {
        BatchRunner {
            lanes: LaneEngine::new(lanes, false),
            scalar: super::Engine::new(lanes.model),
            metrics: vec![0.0; lanes.metrics.len()],
        }
    }

    /// Runs `jobs` and calls `each(job index, outcome, end metrics)` for each, in order.
    pub fn run(
        &mut self,
        jobs: &[RunJob<'_>],
        mut each: impl FnMut(usize, usize, &[f64]),
    ) -> Result<(), super::RunError> {
        for (first, batch) in jobs.chunks(LANES).enumerate() {
            for (lane, job) in batch.iter().enumerate() {
                self.lanes.load(lane, job.stream, job.parameters);
            }
            let index = first * LANES;
            if self.lanes.run(batch.len()).is_ok() {
                for lane in 0..batch.len() {
                    for (k, v) in self.metrics.iter_mut().enumerate() {
                        *v = self.lanes.metric(k, lane);
                    }
                    each(index + lane, self.lanes.outcome(lane), &self.metrics);
                }
                continue;
            }
            for (lane, job) in batch.iter().enumerate() {
                let result =
                    self.scalar
                        .run(job.run, job.parameters, job.stream, &mut super::Quiet)?;
                each(index + lane, result.outcome, self.scalar.metrics());
            }
        }
        Ok(())
    }
}
