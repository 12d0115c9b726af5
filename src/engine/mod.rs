//! Runs of a model: sample-free, I/O-free, allocation-free after construction.
//!
//! One engine, [`Engine<N>`], runs `N` runs at once, one per lane: studies use
//! [`LANES`] lanes, `explain` one. Where runs part ways (an event fires in one and not
//! another, a decision picks different options) the work is done for every lane and kept only
//! where it applies, so a lane's results do not depend on `N` or on the other lanes, bit for
//! bit; the tests hold it to that. Each step runs, in order: events (file order), rules (file
//! order), decisions due at this step (file order), then the metrics are recorded.
//!
//! Given the parameter values and the run's random stream, a run is a pure function: the same
//! inputs give the same states, choices and outcome. An [`Observer`] sees what happened in a
//! run, for replaying it as a story; it is offered at `N = 1` only.

// Lane loops index several arrays by the same lane; `for l in 0..N` says so plainly.
#![allow(clippy::needless_range_loop)]

mod batch;

pub use batch::{Batches, RunJob};

use crate::model::expr::Program;
use crate::model::{ChoiceModel, EffectModel, Model, Origin, TriggerModel};
use crate::rng::{uniforms, RunStream};
use crate::scenario::{EffectOp, ProbeRole};

/// Runs a study evaluates together. 16 amortises the interpreter's dispatch over enough
/// values to vectorise (four AVX2 instructions per op) while a lane engine's state stays in L1.
pub const LANES: usize = 16;

/// A decision not taken (yet).
const NOT_TAKEN: u16 = u16::MAX;

/// Hooks into a run. Every method has an empty default.
pub trait Observer {
    /// Whether the engine should report rule changes and decision details.
    const WANTS_DETAIL: bool = false;

    /// An event fired; `changes` are (var index, before, after) when detail is wanted.
    fn event_fired(&mut self, _step: u32, _event: usize, _changes: &[(usize, f64, f64)]) {}
    /// A rule's condition held; `changes` are (var index, before, after).
    fn rule_applied(&mut self, _step: u32, _rule: usize, _changes: &[(usize, f64, f64)]) {}
    fn decision_taken(&mut self, _step: u32, _decision: usize, _detail: &DecisionDetail<'_>) {}
}

/// An observer that records nothing.
pub struct Quiet;
impl Observer for Quiet {}

/// How a decision was made, for explaining it.
/// For a timed decision, `utilities` and `probabilities` have one more entry after the
/// options': waiting's.
pub struct DecisionDetail<'a> {
    pub utilities: &'a [f64],
    pub probabilities: &'a [f64],
    pub chosen: usize,
    pub temperature: Option<f64>,
    /// A fact (`fixed = "option"`): no utilities were read (they are NaN) and nothing drawn.
    pub fixed: bool,
    /// A timed decision that waited at its deadline, so took its `default`.
    pub forced: bool,
    pub changes: &'a [(usize, f64, f64)],
}

/// A value that stopped being a number: the run cannot go on meaningfully.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("run {run}, step {step} ({date}): {what} in {origin} produced {value}")]
pub struct RunError {
    pub run: u64,
    pub step: u32,
    pub date: String,
    /// The item and where the expression that produced the value is written, the place to
    /// fix: "metric `x` (file:line:col)".
    pub origin: String,
    /// What of the item, e.g. "the value".
    pub what: String,
    pub value: f64,
    /// When the value was `ID.since` read before `ID` happened: `ID` and the condition that
    /// tells whether it has (`ID.count > 0`, `ID.decided`), for the hint.
    pub not_yet: Option<Box<(String, String)>>,
}

/// What a finished run reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunOutcome {
    pub outcome: usize,
}

type Mask<const N: usize> = [bool; N];

/// Reusable buffers for running one model `N` runs at a time.
pub struct Engine<'m, const N: usize> {
    model: &'m Model,
    /// (min, max) of each state variable, next to each other for the effects' clamp.
    bounds: Vec<(f64, f64)>,
    /// Whether each metric's value needs the finiteness check: a plain read of a state
    /// variable does not, since every write to one is checked.
    metric_checked: Vec<bool>,
    slots: Vec<[f64; N]>,
    stack: Vec<[f64; N]>,
    runs: [u64; N],
    streams: [RunStream; N],
    /// Lanes holding real runs; the others repeat lane 0 and are ignored.
    live: Mask<N>,
    choices: Vec<[u16; N]>,
    metrics: Vec<[f64; N]>,
    /// `steps x metrics`, step-major; empty unless recording the timeline.
    timeline: Vec<[f64; N]>,
    outcomes: [usize; N],
    utilities: Vec<[f64; N]>,
    probabilities: Vec<f64>,
    /// Per decision, whether a timed one took its default at the deadline.
    forced: Vec<[bool; N]>,
    /// Each option's probability when its decision was taken, `decision * max_options +
    /// option`; kept only when asked ([`Engine::keep_option_probabilities`]), for analyses that
    /// weigh a run by how likely it made what happened.
    option_probabilities: Vec<[f64; N]>,
    max_options: usize,
    /// Each probe's value at the end of its step (a condition's is 1 or 0).
    probes: Vec<[f64; N]>,
    /// Lane 0's (var, before, after) of the item being applied, for an observer.
    changes: Vec<(usize, f64, f64)>,
}

impl<'m, const N: usize> Engine<'m, N> {
    /// With `timeline`, metrics are evaluated and kept at every step, not only the last.
    pub fn new(model: &'m Model, timeline: bool) -> Engine<'m, N> {
        let max_options = model.max_options();
        let steps = if timeline {
            model.time.steps as usize
        } else {
            0
        };
        let var_slots = model.layout.vars..model.layout.vars + model.vars.len() as u32;
        Engine {
            model,
            bounds: model.vars.iter().map(|v| (v.min, v.max)).collect(),
            metric_checked: model
                .metrics
                .iter()
                .map(|m| !m.expr.as_load().is_some_and(|s| var_slots.contains(&s)))
                .collect(),
            slots: vec![[0.0; N]; model.layout.len as usize],
            stack: vec![[0.0; N]; model.stack_size],
            runs: [0; N],
            streams: [RunStream::new(0, 0); N],
            live: [false; N],
            choices: vec![[NOT_TAKEN; N]; model.decisions.len()],
            metrics: vec![[0.0; N]; model.metrics.len()],
            timeline: vec![[0.0; N]; steps * model.metrics.len()],
            outcomes: [0; N],
            // One more than the options: a timed decision's waiting.
            utilities: vec![[0.0; N]; max_options + 1],
            probabilities: vec![0.0; max_options + 1],
            forced: vec![[false; N]; model.decisions.len()],
            option_probabilities: Vec::new(),
            max_options,
            probes: vec![[0.0; N]; model.probes.len()],
            changes: Vec::new(),
        }
    }

    /// From now on, keeps the probability each option had when its decision was taken
    /// ([`Engine::option_probability`]). Off by default: studies need only the choice.
    pub fn keep_option_probabilities(&mut self) {
        self.option_probabilities = vec![[0.0; N]; self.model.decisions.len() * self.max_options];
    }

    /// The probability option `option` of decision `decision` had in lane `lane` when the
    /// decision was taken: the logit share, or 1 and 0 for an argmax choice. 0 when the decision
    /// was not taken, or when probabilities are not kept.
    pub fn option_probability(&self, decision: usize, option: usize, lane: usize) -> f64 {
        self.option_probabilities
            .get(decision * self.max_options + option)
            .map_or(0.0, |p| p[lane])
    }

    /// Puts run `run` in lane `lane`: its random stream and parameter values.
    pub fn load(&mut self, lane: usize, run: u64, stream: RunStream, parameters: &[f64]) {
        self.runs[lane] = run;
        self.streams[lane] = stream;
        for (slot, &value) in self.slots.iter_mut().zip(parameters) {
            slot[lane] = value;
        }
    }

    /// Runs lanes `0..live`, loaded with [`Engine::load`]. An error is that of some failing
    /// lane, not necessarily the first in run order: [`Batches`] finds that one.
    pub fn run(&mut self, live: usize) -> Result<(), RunError> {
        #[cfg(target_arch = "x86_64")]
        if crate::simd::avx2() {
            // SAFETY: `avx2()` is true only when the CPU has AVX2.
            return unsafe { self.run_avx2(live) };
        }
        self.run_steps::<false, _>(live, &mut Quiet)
    }

    /// [`Engine::run_steps`] compiled for AVX2 (four lanes per instruction instead of two):
    /// the same IEEE operations, so the same bits.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    fn run_avx2(&mut self, live: usize) -> Result<(), RunError> {
        self.run_steps::<true, _>(live, &mut Quiet)
    }

    /// The outcome lane `lane` ended in.
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
    pub fn end_metrics(&self) -> &[[f64; N]] {
        match self.timeline.len() {
            0 => &self.metrics,
            n => &self.timeline[n - self.metrics.len()..],
        }
    }

    /// How often event `event` fired in lane `lane`.
    /// How many times decision `decision` was taken in lane `lane` (0 or 1 unless it recurs).
    pub fn decision_count(&self, decision: usize, lane: usize) -> u32 {
        self.slots[self.model.decisions[decision].count_slot as usize][lane] as u32
    }

    /// The step decision `decision` was last taken at in lane `lane`, if it was. Kept only for
    /// decisions whose clock is kept ([`crate::model::DecisionModel::clock`]): timed ones and
    /// those an expression reads `ID.since` of.
    pub fn decision_step(&self, decision: usize, lane: usize) -> Option<u32> {
        let d = &self.model.decisions[decision];
        let step = self.slots[d.last_slot as usize][lane];
        (d.clock && !step.is_nan()).then_some(step as u32)
    }

    /// Whether timed decision `decision` took its default at the deadline in lane `lane`.
    pub fn decision_forced(&self, decision: usize, lane: usize) -> bool {
        self.forced[decision][lane]
    }

    /// How many times option `option` of decision `decision` was taken in lane `lane`.
    pub fn option_count(&self, decision: usize, option: usize, lane: usize) -> u32 {
        let slot = self.model.decisions[decision].options[option].count_slot;
        self.slots[slot as usize][lane] as u32
    }

    pub fn event_count(&self, event: usize, lane: usize) -> u32 {
        self.slots[self.model.events[event].count_slot as usize][lane] as u32
    }

    /// Every metric at every step, step-major (`step * metrics + metric`); empty unless made
    /// with `timeline`.
    pub fn timeline(&self) -> &[[f64; N]] {
        &self.timeline
    }

    /// Copies what lane 0 of `one` holds (a run just made) into lane `lane`.
    fn take_lane(&mut self, lane: usize, one: &Engine<'_, 1>) {
        fn copy<const N: usize, T: Copy>(to: &mut [[T; N]], from: &[[T; 1]], lane: usize) {
            for (to, from) in to.iter_mut().zip(from) {
                to[lane] = from[0];
            }
        }
        copy(&mut self.slots, &one.slots, lane);
        copy(&mut self.choices, &one.choices, lane);
        copy(&mut self.metrics, &one.metrics, lane);
        copy(&mut self.timeline, &one.timeline, lane);
        copy(
            &mut self.option_probabilities,
            &one.option_probabilities,
            lane,
        );
        copy(&mut self.probes, &one.probes, lane);
        self.outcomes[lane] = one.outcomes[0];
    }

    /// The parameter values of lane `lane`.
    fn parameters(&self, lane: usize) -> impl Iterator<Item = f64> + '_ {
        self.slots[..self.model.parameters.len()]
            .iter()
            .map(move |slot| slot[lane])
    }

    #[inline(always)]
    fn run_steps<const AVX2: bool, O: Observer>(
        &mut self,
        live: usize,
        observer: &mut O,
    ) -> Result<(), RunError> {
        let model = self.model;
        self.reset::<AVX2>(live)?;
        let record_every_step = !self.timeline.is_empty();
        for step in 0..model.time.steps {
            self.slots[model.layout.step as usize] = [f64::from(step); N];
            self.fire_events::<AVX2, O>(step, observer)?;
            self.apply_rules::<AVX2, O>(step, observer)?;
            self.take_decisions::<AVX2, O>(step, observer)?;
            if !model.probes.is_empty() {
                self.read_probes::<AVX2>(step)?;
            }
            if record_every_step || step + 1 == model.time.steps {
                self.record_metrics::<AVX2>(step)?;
            }
        }
        self.classify::<AVX2>()
    }

    #[inline(always)]
    fn reset<const AVX2: bool>(&mut self, live: usize) -> Result<(), RunError> {
        let model = self.model;
        let parameters = model.parameters.len();
        for lane in 0..N {
            self.live[lane] = lane < live;
        }
        // Idle lanes repeat lane 0, so that they compute ordinary numbers.
        for lane in live.max(1)..N {
            self.runs[lane] = self.runs[0];
            self.streams[lane] = self.streams[0];
            for slot in &mut self.slots[..parameters] {
                slot[lane] = slot[0];
            }
        }
        self.slots[parameters..].fill([0.0; N]);
        // Not happened yet: `ID.since` is not a number, so reading it then is visible.
        for event in model.events.iter().filter(|e| e.clock) {
            self.slots[event.last_slot as usize] = [f64::NAN; N];
        }
        for decision in model.decisions.iter().filter(|d| d.clock) {
            self.slots[decision.last_slot as usize] = [f64::NAN; N];
        }
        self.slots[model.layout.steps as usize] = [f64::from(model.time.steps); N];
        let hoisted = model.layout.hoisted as usize;
        // A hoisted value that is not a number is reported by the expression that reads it,
        // when it does: the interpreter passes it on.
        for (k, program) in model.hoisted.iter().enumerate() {
            self.slots[hoisted + k] = eval::<AVX2, N>(program, &self.slots, &mut self.stack);
        }
        self.choices.fill([NOT_TAKEN; N]);
        if model.decisions.iter().any(|d| d.timing.is_some()) {
            self.forced.fill([false; N]);
        }
        self.option_probabilities.fill([0.0; N]);
        self.probes.fill([0.0; N]);
        let vars = model.layout.vars as usize;
        for &i in &model.init_order {
            let var = &model.vars[i];
            let value = eval::<AVX2, N>(&var.init, &self.slots, &mut self.stack);
            if let Some(lane) = first_not_finite(&value, &self.live) {
                let actor = var.id.split_once('.').map_or("", |(actor, _)| actor);
                return Err(self.error(
                    lane,
                    0,
                    &format!("the initial value of `{}`", var.id),
                    &format!("actor `{actor}`"),
                    &var.init,
                    value[lane],
                ));
            }
            let (min, max) = self.bounds[i];
            let slot = &mut self.slots[vars + i];
            for l in 0..N {
                slot[l] = clamp(value[l], min, max);
            }
        }
        Ok(())
    }

    #[inline(always)]
    fn fire_events<const AVX2: bool, O: Observer>(
        &mut self,
        step: u32,
        observer: &mut O,
    ) -> Result<(), RunError> {
        let model = self.model;
        for (i, event) in model.events.iter().enumerate() {
            let fired_slot = event.fired_slot as usize;
            let count_slot = event.count_slot as usize;
            self.slots[fired_slot] = [0.0; N];
            let mut fires = match &event.trigger {
                TriggerModel::At(at) if *at == step => [true; N],
                TriggerModel::At(_) => continue,
                TriggerModel::Chance {
                    probability,
                    from,
                    until,
                } => {
                    if step < *from || step > *until {
                        continue;
                    }
                    let p = eval::<AVX2, N>(probability, &self.slots, &mut self.stack);
                    if let Some(lane) = first_not_finite(&p, &self.live) {
                        let origin = event.origin.to_string();
                        return Err(self.error(
                            lane,
                            step,
                            "the probability",
                            &origin,
                            probability,
                            p[lane],
                        ));
                    }
                    let u = uniforms(&self.streams, event.stream, &[u64::from(step); N]);
                    let mut fires = [false; N];
                    for l in 0..N {
                        fires[l] = u[l] < p[l];
                    }
                    fires
                }
            };
            if !any(&fires) {
                continue;
            }
            // The condition is read only where the event fires.
            self.and_condition::<AVX2>(&mut fires, event.when.as_ref(), step, &event.origin)?;
            if !any(&fires) {
                continue;
            }
            for l in 0..N {
                // Branch-free: a count is a whole number >= 0, so adding 0.0 leaves it as is.
                let fired = f64::from(u8::from(fires[l]));
                self.slots[fired_slot][l] = fired;
                self.slots[count_slot][l] += fired;
            }
            if event.clock {
                let last = &mut self.slots[event.last_slot as usize];
                for l in 0..N {
                    if fires[l] {
                        last[l] = f64::from(step);
                    }
                }
            }
            self.changes.clear();
            self.apply_effects::<AVX2, O>(&event.effects, &fires, step, &event.origin)?;
            if fires[0] {
                observer.event_fired(step, i, &self.changes);
            }
        }
        Ok(())
    }

    #[inline(always)]
    fn apply_rules<const AVX2: bool, O: Observer>(
        &mut self,
        step: u32,
        observer: &mut O,
    ) -> Result<(), RunError> {
        let model = self.model;
        for (i, rule) in model.rules.iter().enumerate() {
            let mut holds = [true; N];
            if rule.when.is_some() {
                self.and_condition::<AVX2>(&mut holds, rule.when.as_ref(), step, &rule.origin)?;
                if !any(&holds) {
                    continue;
                }
            }
            self.changes.clear();
            self.apply_effects::<AVX2, O>(&rule.effects, &holds, step, &rule.origin)?;
            if O::WANTS_DETAIL && holds[0] {
                observer.rule_applied(step, i, &self.changes);
            }
        }
        Ok(())
    }

    #[inline(always)]
    fn take_decisions<const AVX2: bool, O: Observer>(
        &mut self,
        step: u32,
        observer: &mut O,
    ) -> Result<(), RunError> {
        let model = self.model;
        for (i, decision) in model.decisions.iter().enumerate() {
            let mut due = match (&decision.recur, &decision.timing) {
                (_, Some(timing)) => {
                    if step < timing.from || step > timing.until {
                        continue;
                    }
                    self.choices[i].map(|c| c == NOT_TAKEN)
                }
                (None, None) => {
                    if decision.at.is_some_and(|at| at != step) {
                        continue;
                    }
                    self.choices[i].map(|c| c == NOT_TAKEN)
                }
                (Some(recur), None) => {
                    let scheduled = match (decision.at, recur.every) {
                        (Some(at), Some(every)) => step >= at && (step - at) % every == 0,
                        _ => true,
                    };
                    if !scheduled || step > recur.until {
                        continue;
                    }
                    let times = f64::from(recur.times);
                    self.slots[decision.count_slot as usize].map(|n| n < times)
                }
            };
            if !any(&due) {
                continue;
            }
            self.and_condition::<AVX2>(&mut due, decision.when.as_ref(), step, &decision.origin)?;
            if !any(&due) {
                continue;
            }
            let deciding = and(&due, &self.live);
            let n = decision.options.len();
            let fixed = match decision.choice {
                ChoiceModel::Fixed { option } => Some(option),
                _ => None,
            };
            for (k, option) in decision.options.iter().enumerate() {
                if fixed.is_some() {
                    // A fact: its utilities are not read, so they cannot stop the run.
                    self.utilities[k] = [f64::NAN; N];
                    continue;
                }
                let u = eval::<AVX2, N>(&option.utility, &self.slots, &mut self.stack);
                if let Some(lane) = first_not_finite(&u, &deciding) {
                    let what = format!("the utility of option `{}`", option.id);
                    let origin = decision.origin.to_string();
                    return Err(self.error(lane, step, &what, &origin, &option.utility, u[lane]));
                }
                self.utilities[k] = u;
            }
            // A timed decision has one more alternative, waiting, after its options.
            let mut alternatives = n;
            if let Some(timing) = &decision.timing {
                let u = eval::<AVX2, N>(&timing.wait, &self.slots, &mut self.stack);
                if let Some(lane) = first_not_finite(&u, &deciding) {
                    let origin = decision.origin.to_string();
                    let what = "the utility of waiting (`wait`)";
                    return Err(self.error(lane, step, what, &origin, &timing.wait, u[lane]));
                }
                self.utilities[n] = u;
                alternatives = n + 1;
            }
            let mut chosen = [0usize; N];
            let mut temperature = None;
            match &decision.choice {
                ChoiceModel::Fixed { option } => chosen = [*option; N],
                ChoiceModel::Argmax => {
                    for (l, c) in chosen.iter_mut().enumerate() {
                        let mut best = 0;
                        for k in 1..alternatives {
                            if self.utilities[k][l] > self.utilities[best][l] {
                                best = k;
                            }
                        }
                        *c = best;
                    }
                }
                ChoiceModel::Logit {
                    temperature: program,
                } => {
                    let t = eval::<AVX2, N>(program, &self.slots, &mut self.stack);
                    let valid = t.map(|t| t > 0.0 && t.is_finite());
                    if let Some(lane) = (0..N).find(|&l| deciding[l] && !valid[l]) {
                        let origin = decision.origin.to_string();
                        return Err(self.error(
                            lane,
                            step,
                            "the temperature (must be > 0)",
                            &origin,
                            program,
                            t[lane],
                        ));
                    }
                    // Each time has its own draw: the n-th (from 0) is counter n of the stream;
                    // a timed decision draws once per step it is open, counter `step`.
                    let occurrence = match (&decision.recur, &decision.timing) {
                        (Some(_), _) => self.slots[decision.count_slot as usize].map(|n| n as u64),
                        (None, Some(_)) => [u64::from(step); N],
                        (None, None) => [0; N],
                    };
                    // Drawn in every lane at once (vector code); used where the decision is due.
                    let draws = uniforms(&self.streams, decision.stream, &occurrence);
                    for l in 0..N {
                        if due[l] {
                            let u = draws[l];
                            chosen[l] = logit_choice(
                                self.utilities[..alternatives].iter().map(|u| u[l]),
                                &mut self.probabilities[..alternatives],
                                t[l],
                                u,
                            );
                            if !self.option_probabilities.is_empty() {
                                let at = i * self.max_options;
                                for k in 0..n {
                                    self.option_probabilities[at + k][l] = self.probabilities[k];
                                }
                            }
                        }
                    }
                    temperature = Some(t[0]);
                }
            }
            if !matches!(decision.choice, ChoiceModel::Logit { .. }) {
                // A fact and argmax are certain: the chosen alternative had probability 1.
                if !self.option_probabilities.is_empty() {
                    let at = i * self.max_options;
                    for l in 0..N {
                        if due[l] {
                            for k in 0..n {
                                self.option_probabilities[at + k][l] =
                                    f64::from(u8::from(k == chosen[l]));
                            }
                        }
                    }
                }
                if O::WANTS_DETAIL {
                    for k in 0..alternatives {
                        self.probabilities[k] = f64::from(u8::from(k == chosen[0]));
                    }
                }
            }
            let mut forced = false;
            if let Some(timing) = &decision.timing {
                // Waiting leaves it open, except at the deadline, where it takes the default.
                for l in 0..N {
                    if due[l] && chosen[l] == n {
                        match timing.default.filter(|_| step == timing.until) {
                            Some(default) => {
                                chosen[l] = default;
                                self.forced[i][l] = true;
                            }
                            None => due[l] = false,
                        }
                    }
                }
                forced = self.forced[i][0];
                if !any(&due) {
                    continue;
                }
            }
            for l in 0..N {
                if due[l] {
                    if decision.recur.is_some() {
                        // `DECISION.OPTION` is the option taken last.
                        for option in &decision.options {
                            self.slots[option.slot as usize][l] = 0.0;
                        }
                    }
                    let option = &decision.options[chosen[l]];
                    self.choices[i][l] = chosen[l] as u16;
                    self.slots[decision.decided_slot as usize][l] = 1.0;
                    self.slots[option.slot as usize][l] = 1.0;
                    if decision.clock {
                        self.slots[decision.last_slot as usize][l] = f64::from(step);
                    }
                    if decision.recur.is_some() {
                        self.slots[decision.count_slot as usize][l] += 1.0;
                        self.slots[option.count_slot as usize][l] += 1.0;
                    }
                }
            }
            self.changes.clear();
            for (k, option) in decision.options.iter().enumerate() {
                let mut takes = [false; N];
                for l in 0..N {
                    takes[l] = due[l] && chosen[l] == k;
                }
                if any(&takes) {
                    self.apply_effects::<AVX2, O>(&option.effects, &takes, step, &decision.origin)?;
                }
            }
            if O::WANTS_DETAIL && due[0] {
                let utilities: Vec<f64> = self.utilities[..alternatives]
                    .iter()
                    .map(|u| u[0])
                    .collect();
                let detail = DecisionDetail {
                    utilities: &utilities,
                    probabilities: &self.probabilities[..alternatives],
                    chosen: chosen[0],
                    temperature,
                    fixed: fixed.is_some(),
                    forced,
                    changes: &self.changes,
                };
                observer.decision_taken(step, i, &detail);
            }
        }
        Ok(())
    }

    /// Reads the probes dated in `step`, at its end. A value that is not a finite number (it
    /// read one that was not) stops the run, as a rule's condition does.
    fn read_probes<const AVX2: bool>(&mut self, step: u32) -> Result<(), RunError> {
        let model = self.model;
        for (k, probe) in model.probes.iter().enumerate() {
            if probe.step != step {
                continue;
            }
            let v = eval::<AVX2, N>(&probe.value, &self.slots, &mut self.stack);
            if let Some(lane) = first_not_finite(&v, &self.live) {
                let what = match probe.role {
                    ProbeRole::Given => format!("the --given condition `{}`", probe.text),
                    ProbeRole::Watch => format!("the watched sign `{}`", probe.text),
                    ProbeRole::Condition => format!("the condition `{}`", probe.text),
                };
                return Err(self.error(lane, step, "the value", &what, &probe.value, v[lane]));
            }
            self.probes[k] = v;
        }
        Ok(())
    }

    /// Whether every `--given` condition held in lane `lane` (true without conditions).
    pub fn given_holds(&self, lane: usize) -> bool {
        self.model
            .probes
            .iter()
            .zip(&self.probes)
            .all(|(p, v)| p.role != ProbeRole::Given || v[lane] != 0.0)
    }

    /// Probe `k`'s value in lane `lane` at the end of its step (0 if the run stopped before).
    pub fn probe(&self, k: usize, lane: usize) -> f64 {
        self.probes[k][lane]
    }

    /// Narrows `mask` to the lanes where `condition` holds (no condition always does). A
    /// condition is 0 or 1, or not a number when a value it read was not (`NaN > 0` would be
    /// false, and the mistake hidden), which stops the run.
    #[inline(always)]
    fn and_condition<const AVX2: bool>(
        &mut self,
        mask: &mut Mask<N>,
        condition: Option<&Program>,
        step: u32,
        origin: &Origin,
    ) -> Result<(), RunError> {
        let Some(condition) = condition else {
            return Ok(());
        };
        let values = eval::<AVX2, N>(condition, &self.slots, &mut self.stack);
        if let Some(lane) = first_not_finite(&values, &and(mask, &self.live)) {
            let origin = origin.to_string();
            let what = "the condition `when`";
            return Err(self.error(lane, step, what, &origin, condition, values[lane]));
        }
        for l in 0..N {
            mask[l] &= values[l] != 0.0;
        }
        Ok(())
    }

    /// Applies `effects` in the lanes of `mask`; the others keep their values.
    #[inline(always)]
    fn apply_effects<const AVX2: bool, O: Observer>(
        &mut self,
        effects: &[EffectModel],
        mask: &Mask<N>,
        step: u32,
        origin: &Origin,
    ) -> Result<(), RunError> {
        let checked = and(mask, &self.live);
        let vars = self.model.layout.vars as usize;
        for effect in effects {
            let value = eval::<AVX2, N>(&effect.value, &self.slots, &mut self.stack);
            let slot = vars + effect.var;
            let before = self.slots[slot];
            let mut after = before;
            match effect.op {
                EffectOp::Set => after = value,
                EffectOp::Add => (0..N).for_each(|l| after[l] += value[l]),
                EffectOp::Multiply => (0..N).for_each(|l| after[l] *= value[l]),
            }
            if let Some(lane) = first_not_finite(&after, &checked) {
                let what = format!("the effect on `{}`", self.model.vars[effect.var].id);
                let origin = origin.to_string();
                return Err(self.error(lane, step, &what, &origin, &effect.value, after[lane]));
            }
            // Branch-free over the lanes, so that runs parting ways cost no mispredictions.
            let (min, max) = self.bounds[effect.var];
            let mut kept = before;
            for l in 0..N {
                let clamped = clamp(after[l], min, max);
                kept[l] = if mask[l] { clamped } else { before[l] };
            }
            self.slots[slot] = kept;
            if O::WANTS_DETAIL && mask[0] {
                self.changes.push((effect.var, before[0], kept[0]));
            }
        }
        Ok(())
    }

    #[inline(always)]
    fn record_metrics<const AVX2: bool>(&mut self, step: u32) -> Result<(), RunError> {
        let model = self.model;
        let count = model.metrics.len();
        for (k, metric) in model.metrics.iter().enumerate() {
            let v = eval::<AVX2, N>(&metric.expr, &self.slots, &mut self.stack);
            if self.metric_checked[k] {
                if let Some(lane) = first_not_finite(&v, &self.live) {
                    let origin = metric.origin.to_string();
                    return Err(self.error(
                        lane,
                        step,
                        "the value",
                        &origin,
                        &metric.expr,
                        v[lane],
                    ));
                }
            }
            // Into the timeline when there is one (the last step's row is the end values).
            if self.timeline.is_empty() {
                self.metrics[k] = v;
            } else {
                self.timeline[step as usize * count + k] = v;
            }
        }
        Ok(())
    }

    #[inline(always)]
    fn classify<const AVX2: bool>(&mut self) -> Result<(), RunError> {
        let model = self.model;
        let last = model.outcomes.len() - 1;
        let last_step = model.time.steps - 1;
        let mut open = [true; N];
        self.outcomes = [last; N];
        for (k, outcome) in model.outcomes.iter().enumerate() {
            let mut holds = open;
            // The condition is read until one holds.
            self.and_condition::<AVX2>(
                &mut holds,
                outcome.when.as_ref(),
                last_step,
                &outcome.origin,
            )?;
            for l in 0..N {
                if holds[l] {
                    self.outcomes[l] = k;
                    open[l] = false;
                }
            }
            if !any(&open) {
                break;
            }
        }
        Ok(())
    }

    #[cold]
    fn error(
        &self,
        lane: usize,
        step: u32,
        what: &str,
        origin: &str,
        program: &Program,
        value: f64,
    ) -> RunError {
        let read: Vec<u32> = program.slots_read().collect();
        let unset = |slot: u32| read.contains(&slot) && self.slots[slot as usize][lane].is_nan();
        let events = self.model.events.iter();
        let not_yet = events
            .filter(|e| unset(e.last_slot))
            .map(|e| Box::new((e.id.clone(), format!("{}.count > 0", e.id))))
            .chain(
                self.model
                    .decisions
                    .iter()
                    .filter(|d| unset(d.last_slot))
                    .map(|d| Box::new((d.id.clone(), format!("{}.decided", d.id)))),
            )
            .next();
        RunError {
            run: self.runs[lane],
            step,
            date: self.model.time.date_of(step).to_string(),
            origin: format!("{origin} ({})", program.location()),
            what: what.into(),
            value,
            not_yet,
        }
    }
}

impl<'m> Engine<'m, 1> {
    /// Runs the model once with the given parameter values, telling `observer` what happens.
    pub fn run_observed<O: Observer>(
        &mut self,
        run: u64,
        parameters: &[f64],
        stream: RunStream,
        observer: &mut O,
    ) -> Result<RunOutcome, RunError> {
        self.load(0, run, stream, parameters);
        self.run_steps::<false, _>(1, observer)?;
        Ok(RunOutcome {
            outcome: self.outcomes[0],
        })
    }

    /// The option each decision took in the last run (`None`: not taken).
    pub fn choices(&self) -> Vec<Option<u16>> {
        (0..self.choices.len()).map(|d| self.choice(d, 0)).collect()
    }

    /// End-of-run metric values of the last run.
    pub fn metrics(&self) -> &[f64] {
        self.end_metrics().as_flattened()
    }
}

/// `program`'s values: with `AVX2`, straight into the interpreter's AVX2 copy. The engine's
/// AVX2 copy passes `true`; its other copies `false`, which checks the CPU on every program.
#[inline(always)]
fn eval<const AVX2: bool, const N: usize>(
    program: &Program,
    slots: &[[f64; N]],
    stack: &mut [[f64; N]],
) -> [f64; N] {
    #[cfg(target_arch = "x86_64")]
    if AVX2 {
        // SAFETY: only `Engine::run_avx2` passes `AVX2 = true`, and it runs only on a CPU
        // with AVX2.
        return unsafe { program.eval_avx2(slots, stack) };
    }
    program.eval(slots, stack)
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

/// Softmax of utilities / temperature (shifted by the maximum, so it cannot overflow), then
/// the option whose cumulative probability first exceeds `u`.
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

/// Whether any lane of `mask` is set: without a branch per lane (`contains` stops at the first
/// hit, which the compiler cannot vectorise).
#[inline(always)]
fn any<const N: usize>(mask: &Mask<N>) -> bool {
    let mut any = false;
    for l in 0..N {
        any |= mask[l];
    }
    any
}

#[inline(always)]
fn and<const N: usize>(a: &Mask<N>, b: &Mask<N>) -> Mask<N> {
    let mut out = [false; N];
    for l in 0..N {
        out[l] = a[l] & b[l];
    }
    out
}

/// The first lane of `mask` whose value is not finite. Checks every lane without a branch
/// and without the mask (the common answer is that all are finite, masked or not), and reads
/// the mask only when some lane is not.
#[inline(always)]
fn first_not_finite<const N: usize>(values: &[f64; N], mask: &Mask<N>) -> Option<usize> {
    let mut any = false;
    for l in 0..N {
        any |= !values[l].is_finite();
    }
    if any {
        lane_not_finite(values, mask)
    } else {
        None
    }
}

/// The search of [`first_not_finite`] among the lanes of `mask`, kept out of line: inlined,
/// the compiler prepares its per-lane view of the mask on every call, whether or not anything
/// failed. A lane outside the mask may hold any value (an effect computed where its rule does
/// not hold), so finding none is an ordinary answer.
#[cold]
#[inline(never)]
fn lane_not_finite<const N: usize>(values: &[f64; N], mask: &Mask<N>) -> Option<usize> {
    (0..N).find(|&l| mask[l] && !values[l].is_finite())
}
