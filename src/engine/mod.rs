//! One run of a model: sample-free, I/O-free, allocation-free after construction.
//!
//! Given the parameter values and the run's random stream, a run is a pure function: the same
//! inputs give the same states, choices and outcome, bit for bit. Each step runs, in order:
//! events (file order), rules (file order), decisions due at this step (file order), then the
//! metrics are recorded. An [`Observer`] sees what happened, for replaying a run as a story or
//! for recording per-step metrics; the default observer does nothing and costs nothing.

pub mod lanes;

use crate::model::expr::Program;
use crate::model::{ChoiceModel, EffectModel, Model, Origin, TriggerModel};
use crate::rng::RunStream;
use crate::scenario::EffectOp;

/// Hooks into a run. Every method has an empty default.
pub trait Observer {
    /// Whether the engine should evaluate metrics at every step (not only at the end).
    const WANTS_STEP_METRICS: bool = false;
    /// Whether the engine should report rule changes and decision details.
    const WANTS_DETAIL: bool = false;

    fn step_metrics(&mut self, _step: u32, _values: &[f64]) {}
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
pub struct DecisionDetail<'a> {
    pub utilities: &'a [f64],
    pub probabilities: &'a [f64],
    pub chosen: usize,
    pub temperature: Option<f64>,
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
}

/// What a finished run reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunOutcome {
    pub outcome: usize,
}

/// Reusable buffers for running one model many times.
pub struct Engine<'m> {
    model: &'m Model,
    slots: Vec<f64>,
    stack: Vec<f64>,
    choices: Vec<Option<u16>>,
    metrics: Vec<f64>,
    utilities: Vec<f64>,
    probabilities: Vec<f64>,
    changes: Vec<(usize, f64, f64)>,
    run: u64,
}

impl<'m> Engine<'m> {
    pub fn new(model: &'m Model) -> Engine<'m> {
        let max_options = model.max_options();
        Engine {
            model,
            slots: vec![0.0; model.layout.len as usize],
            stack: vec![0.0; model.stack_size],
            choices: vec![None; model.decisions.len()],
            metrics: vec![0.0; model.metrics.len()],
            utilities: vec![0.0; max_options],
            probabilities: vec![0.0; max_options],
            changes: Vec::new(),
            run: 0,
        }
    }

    /// The option each decision took in the last run (`None`: not taken).
    pub fn choices(&self) -> &[Option<u16>] {
        &self.choices
    }

    /// End-of-run metric values of the last run.
    pub fn metrics(&self) -> &[f64] {
        &self.metrics
    }

    /// How often event `event` fired in the last run.
    pub fn event_count(&self, event: usize) -> u32 {
        self.slots[self.model.events[event].count_slot as usize] as u32
    }

    /// Current value of every state variable, in model order.
    pub fn vars(&self) -> &[f64] {
        let start = self.model.layout.vars as usize;
        &self.slots[start..start + self.model.vars.len()]
    }

    /// Runs the model once with the given parameter values.
    pub fn run<O: Observer>(
        &mut self,
        run: u64,
        parameters: &[f64],
        stream: RunStream,
        observer: &mut O,
    ) -> Result<RunOutcome, RunError> {
        let model = self.model;
        self.run = run;
        self.reset(parameters)?;
        for step in 0..model.time.steps {
            self.slots[model.layout.step as usize] = f64::from(step);
            self.fire_events(step, stream, observer)?;
            self.apply_rules(step, observer)?;
            self.take_decisions(step, stream, observer)?;
            if O::WANTS_STEP_METRICS || step + 1 == model.time.steps {
                self.record_metrics(step)?;
                observer.step_metrics(step, &self.metrics);
            }
        }
        Ok(RunOutcome {
            outcome: self.classify()?,
        })
    }

    fn reset(&mut self, parameters: &[f64]) -> Result<(), RunError> {
        let model = self.model;
        self.slots.fill(0.0);
        self.slots[..parameters.len()].copy_from_slice(parameters);
        self.slots[model.layout.steps as usize] = f64::from(model.time.steps);
        let hoisted = model.layout.hoisted as usize;
        // A hoisted value that is not a number is reported by the expression that reads it,
        // when it does: the evaluator passes it on as NaN.
        for (k, program) in model.hoisted.iter().enumerate() {
            self.slots[hoisted + k] = program.eval(&self.slots, &mut self.stack);
        }
        self.choices.fill(None);
        let vars = model.layout.vars as usize;
        for &i in &model.init_order {
            let var = &model.vars[i];
            let value = var.init.eval(&self.slots, &mut self.stack);
            if !value.is_finite() {
                let actor = var.id.split_once('.').map_or("", |(actor, _)| actor);
                return Err(self.error(
                    0,
                    &format!("the initial value of `{}`", var.id),
                    &format!("actor `{actor}`"),
                    &var.init,
                    value,
                ));
            }
            self.slots[vars + i] = value.clamp(var.min, var.max);
        }
        Ok(())
    }

    fn fire_events<O: Observer>(
        &mut self,
        step: u32,
        stream: RunStream,
        observer: &mut O,
    ) -> Result<(), RunError> {
        let model = self.model;
        for (i, event) in model.events.iter().enumerate() {
            self.slots[event.fired_slot as usize] = 0.0;
            let fires = match &event.trigger {
                TriggerModel::At(at) => *at == step,
                TriggerModel::Chance {
                    probability,
                    from,
                    until,
                } => {
                    if step < *from || step > *until {
                        false
                    } else {
                        let p = probability.eval(&self.slots, &mut self.stack);
                        if !p.is_finite() {
                            return Err(self.error(
                                step,
                                "the probability",
                                &event.origin.to_string(),
                                probability,
                                p,
                            ));
                        }
                        stream.uniform(event.stream, u64::from(step)) < p
                    }
                }
            };
            if !fires || !self.holds(event.when.as_ref(), step, &event.origin)? {
                continue;
            }
            self.slots[event.fired_slot as usize] = 1.0;
            self.slots[event.count_slot as usize] += 1.0;
            self.changes.clear();
            self.apply_effects::<O>(&event.effects, step, &event.origin)?;
            observer.event_fired(step, i, &self.changes);
        }
        Ok(())
    }

    fn apply_rules<O: Observer>(&mut self, step: u32, observer: &mut O) -> Result<(), RunError> {
        let model = self.model;
        for (i, rule) in model.rules.iter().enumerate() {
            if !self.holds(rule.when.as_ref(), step, &rule.origin)? {
                continue;
            }
            self.changes.clear();
            self.apply_effects::<O>(&rule.effects, step, &rule.origin)?;
            if O::WANTS_DETAIL {
                observer.rule_applied(step, i, &self.changes);
            }
        }
        Ok(())
    }

    fn take_decisions<O: Observer>(
        &mut self,
        step: u32,
        stream: RunStream,
        observer: &mut O,
    ) -> Result<(), RunError> {
        let model = self.model;
        for (i, decision) in model.decisions.iter().enumerate() {
            if self.choices[i].is_some() {
                continue;
            }
            let due = match decision.at {
                Some(at) if at != step => false,
                _ => self.holds(decision.when.as_ref(), step, &decision.origin)?,
            };
            if !due {
                continue;
            }
            let n = decision.options.len();
            for (k, option) in decision.options.iter().enumerate() {
                let u = option.utility.eval(&self.slots, &mut self.stack);
                if !u.is_finite() {
                    let what = format!("the utility of option `{}`", option.id);
                    let origin = decision.origin.to_string();
                    return Err(self.error(step, &what, &origin, &option.utility, u));
                }
                self.utilities[k] = u;
            }
            let (chosen, temperature) = match &decision.choice {
                ChoiceModel::Argmax => {
                    let mut best = 0;
                    for k in 1..n {
                        if self.utilities[k] > self.utilities[best] {
                            best = k;
                        }
                    }
                    for k in 0..n {
                        self.probabilities[k] = f64::from(u8::from(k == best));
                    }
                    (best, None)
                }
                ChoiceModel::Logit { temperature } => {
                    let t = temperature.eval(&self.slots, &mut self.stack);
                    if !(t > 0.0 && t.is_finite()) {
                        return Err(self.error(
                            step,
                            "the temperature (must be > 0)",
                            &decision.origin.to_string(),
                            temperature,
                            t,
                        ));
                    }
                    let u = stream.uniform(decision.stream, 0);
                    (self.logit_choice(n, t, u), Some(t))
                }
            };
            self.choices[i] = Some(chosen as u16);
            self.slots[decision.decided_slot as usize] = 1.0;
            self.slots[decision.options[chosen].slot as usize] = 1.0;
            self.changes.clear();
            self.apply_effects::<O>(&decision.options[chosen].effects, step, &decision.origin)?;
            if O::WANTS_DETAIL {
                let detail = DecisionDetail {
                    utilities: &self.utilities[..n],
                    probabilities: &self.probabilities[..n],
                    chosen,
                    temperature,
                    changes: &self.changes,
                };
                observer.decision_taken(step, i, &detail);
            }
        }
        Ok(())
    }

    /// Softmax of utilities / temperature (shifted by the maximum, so it cannot overflow), then
    /// the option whose cumulative probability first exceeds `u`.
    fn logit_choice(&mut self, n: usize, temperature: f64, u: f64) -> usize {
        let max = self.utilities[..n]
            .iter()
            .copied()
            .fold(f64::NEG_INFINITY, f64::max);
        let mut total = 0.0;
        for k in 0..n {
            let w = ((self.utilities[k] - max) / temperature).exp();
            self.probabilities[k] = w;
            total += w;
        }
        let mut cumulative = 0.0;
        let mut chosen = n - 1;
        let mut found = false;
        for k in 0..n {
            self.probabilities[k] /= total;
            cumulative += self.probabilities[k];
            if !found && u < cumulative {
                chosen = k;
                found = true;
            }
        }
        chosen
    }

    fn apply_effects<O: Observer>(
        &mut self,
        effects: &[EffectModel],
        step: u32,
        origin: &Origin,
    ) -> Result<(), RunError> {
        let model = self.model;
        let vars = model.layout.vars as usize;
        for effect in effects {
            let value = effect.value.eval(&self.slots, &mut self.stack);
            let slot = vars + effect.var;
            let before = self.slots[slot];
            let after = match effect.op {
                EffectOp::Set => value,
                EffectOp::Add => before + value,
                EffectOp::Multiply => before * value,
            };
            if !after.is_finite() {
                let what = format!("the effect on `{}`", model.vars[effect.var].id);
                return Err(self.error(step, &what, &origin.to_string(), &effect.value, after));
            }
            let var = &model.vars[effect.var];
            let after = after.clamp(var.min, var.max);
            self.slots[slot] = after;
            if O::WANTS_DETAIL {
                self.changes.push((effect.var, before, after));
            }
        }
        Ok(())
    }

    fn record_metrics(&mut self, step: u32) -> Result<(), RunError> {
        for (k, metric) in self.model.metrics.iter().enumerate() {
            let v = metric.expr.eval(&self.slots, &mut self.stack);
            if !v.is_finite() {
                let origin = metric.origin.to_string();
                return Err(self.error(step, "the value", &origin, &metric.expr, v));
            }
            self.metrics[k] = v;
        }
        Ok(())
    }

    fn classify(&mut self) -> Result<usize, RunError> {
        let model = self.model;
        let last_step = model.time.steps - 1;
        for (k, outcome) in model.outcomes.iter().enumerate() {
            if self.holds(outcome.when.as_ref(), last_step, &outcome.origin)? {
                return Ok(k);
            }
        }
        // The last outcome has no condition (checked at load time), so this is unreachable in
        // a valid model; the last index is still the right answer.
        Ok(model.outcomes.len() - 1)
    }

    /// Whether `condition` holds (no condition always does). A condition is 0 or 1, or NaN
    /// when a value it read was not a number (`NaN > 0` would be false, and the mistake
    /// hidden), which stops the run.
    #[inline]
    fn holds(
        &mut self,
        condition: Option<&Program>,
        step: u32,
        origin: &Origin,
    ) -> Result<bool, RunError> {
        let Some(c) = condition else {
            return Ok(true);
        };
        let v = c.eval(&self.slots, &mut self.stack);
        if v.is_nan() {
            let origin = origin.to_string();
            return Err(self.error(step, "the condition `when`", &origin, c, v));
        }
        Ok(v != 0.0)
    }

    fn error(
        &self,
        step: u32,
        what: &str,
        origin: &str,
        program: &Program,
        value: f64,
    ) -> RunError {
        RunError {
            run: self.run,
            step,
            date: self.model.time.date_of(step).to_string(),
            origin: format!("{origin} ({})", program.location()),
            what: what.into(),
            value,
        }
    }
}
