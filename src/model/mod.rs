//! Compiles a [`Scenario`] into a [`Model`]: every name resolved to a slot of the run's state
//! vector, every expression type-checked and turned into bytecode, initial values ordered.
//!
//! After this stage nothing is looked up by name; the engine only reads and writes slots.

pub mod expr;

use std::collections::{HashMap, HashSet};

use crate::diagnostic::{suggest, Diagnostic, Diagnostics, Span};
use crate::distribution::copula::GaussianCopula;
use crate::distribution::Distribution;
use crate::names::{COUNT, DECIDED, SINCE, STEP, STEPS};
use crate::rng::stream_key;
use crate::scenario::{self, Documentation, EffectOp, ExprSource, Scenario, TimeAxis};
use expr::{Binding, Expr, Program, Scope, Type};

/// A scenario ready to run.
#[derive(Debug, Clone)]
pub struct Model {
    pub name: String,
    pub description: String,
    pub file: String,
    pub stem: String,
    pub sha256: String,
    pub time: TimeAxis,
    pub default_runs: u64,
    pub default_seed: u64,
    pub parameters: Vec<ParameterModel>,
    pub vars: Vec<VarModel>,
    /// Var indexes in an order where each initial value only reads vars before it.
    pub init_order: Vec<usize>,
    pub events: Vec<EventModel>,
    pub rules: Vec<RuleModel>,
    pub decisions: Vec<DecisionModel>,
    pub outcomes: Vec<OutcomeModel>,
    pub metrics: Vec<MetricModel>,
    pub layout: SlotLayout,
    /// Run-invariant subexpressions (they read only parameters), evaluated once per run into
    /// the slots from `layout.hoisted` on, before anything else.
    pub hoisted: Vec<Program>,
    /// Scratch an evaluation needs (the deepest program's stack).
    pub stack_size: usize,
    /// What really happened, when the scenario is a backtest case (its `[backtest]` table).
    pub backtest: Option<BacktestCase>,
    /// A calibrated variant's provenance (its `[calibration]` table), for `summary.json`.
    pub calibration: Option<scenario::Calibration>,
    /// The rank correlations between parameters (`[correlations]`), if any.
    pub correlations: Option<CorrelationModel>,
    /// Expressions read at the end of their step: `run --given` conditions (a study counts
    /// only the runs where all hold) and watched signs (recorded run by run).
    pub probes: Vec<ProbeModel>,
    /// The file at the end of the `extends` chain (the file itself when it extends nothing),
    /// as the loader named it: what a calibrated variant extends.
    pub base_file: String,
}

/// A backtest case, resolved: which choice is scored and which of its classes happened.
#[derive(Debug, Clone, PartialEq)]
pub struct BacktestCase {
    pub scored: Scored,
    /// Index of the observed class: an option of the scored decision, or an outcome.
    pub observed: usize,
    /// Index of the class that leaves things as they were (for the naive baseline).
    pub status_quo: Option<usize>,
    pub date: chrono::NaiveDate,
    pub description: String,
    pub source: String,
}

/// What a backtest case scores.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scored {
    /// The options of decision `index` (in `Model::decisions`).
    Decision(usize),
    /// The run's outcome.
    Outcome,
}

/// Where each kind of value lives in the state vector.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SlotLayout {
    pub parameters: u32,
    pub vars: u32,
    pub step: u32,
    pub steps: u32,
    /// First slot of the hoisted run-invariant values (`Model::hoisted`).
    pub hoisted: u32,
    pub len: u32,
}

/// The `[correlations]` of a scenario, ready to sample with: the Gaussian copula of the
/// correlated parameters (see `distribution::copula`).
#[derive(Debug, Clone)]
pub struct CorrelationModel {
    /// Parameter indexes, ascending: dimension `k` of the copula is parameter `members[k]`.
    pub members: Vec<usize>,
    pub copula: GaussianCopula,
    /// The pairs as written, `(a, b, rank)`, for `summary.json`.
    pub pairs: Vec<(String, String, f64)>,
}

impl CorrelationModel {
    fn new(s: &Scenario, c: &scenario::Correlations) -> Option<CorrelationModel> {
        let index = |id: &scenario::Ident| s.parameters.iter().position(|p| p.id.name == id.name);
        let mut indexes = Vec::with_capacity(c.pairs.len());
        for pair in &c.pairs {
            indexes.push((index(&pair.a)?, index(&pair.b)?, pair.rank));
        }
        let mut members: Vec<usize> = indexes.iter().flat_map(|&(i, j, _)| [i, j]).collect();
        members.sort_unstable();
        members.dedup();
        let at = |i: usize| members.partition_point(|&m| m < i);
        let local: Vec<(usize, usize, f64)> =
            indexes.iter().map(|&(i, j, r)| (at(i), at(j), r)).collect();
        let copula = GaussianCopula::new(members.len(), &local).ok()?;
        Some(CorrelationModel {
            members,
            copula,
            pairs: c
                .pairs
                .iter()
                .map(|p| (p.a.name.clone(), p.b.name.clone(), p.rank))
                .collect(),
        })
    }
}

#[derive(Debug, Clone)]
pub struct ParameterModel {
    pub id: String,
    pub doc: Documentation,
    pub distribution: Distribution,
    /// Key of the random stream this parameter is sampled from.
    pub stream: u64,
    /// Marked `calibrate = true`: fitted by `alliance-sim calibrate`.
    pub calibrate: bool,
}

#[derive(Debug, Clone)]
pub struct VarModel {
    /// `actor.var`
    pub id: String,
    pub doc: Documentation,
    pub init: Program,
    pub min: f64,
    pub max: f64,
}

/// The item an expression belongs to, for run-time error messages (the expression's own
/// place in the file is [`Program::location`]).
#[derive(Debug, Clone)]
pub struct Origin {
    pub kind: &'static str,
    pub id: String,
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} `{}`", self.kind, self.id)
    }
}

#[derive(Debug, Clone)]
pub struct EffectModel {
    pub var: usize,
    pub op: EffectOp,
    pub value: Program,
}

#[derive(Debug, Clone)]
pub enum TriggerModel {
    At(u32),
    Chance {
        probability: Program,
        from: u32,
        until: u32,
    },
}

#[derive(Debug, Clone)]
pub struct EventModel {
    pub id: String,
    pub doc: Documentation,
    pub origin: Origin,
    pub trigger: TriggerModel,
    pub when: Option<Program>,
    pub effects: Vec<EffectModel>,
    pub stream: u64,
    pub count_slot: u32,
    pub fired_slot: u32,
    /// The step it last fired at, NaN before it first does: `ID.since` reads `step` minus it.
    pub last_slot: u32,
    /// Whether an expression reads `ID.since`: only then does the engine keep `last_slot`.
    pub clock: bool,
}

#[derive(Debug, Clone)]
pub struct RuleModel {
    pub id: String,
    pub doc: Documentation,
    pub origin: Origin,
    pub when: Option<Program>,
    pub effects: Vec<EffectModel>,
}

#[derive(Debug, Clone)]
pub enum ChoiceModel {
    Logit {
        temperature: Program,
    },
    Argmax,
    /// A fact (`fixed = "option"`): this option, in every run, with no draw.
    Fixed {
        option: usize,
    },
}

#[derive(Debug, Clone)]
pub struct OptionModel {
    pub id: String,
    pub label: String,
    pub utility: Program,
    pub effects: Vec<EffectModel>,
    /// `DECISION.OPTION`: whether this option was the one taken (last, if it recurs).
    pub slot: u32,
    /// `DECISION.OPTION.count`: how many times it was taken.
    pub count_slot: u32,
}

#[derive(Debug, Clone)]
pub struct DecisionModel {
    pub id: String,
    pub doc: Documentation,
    pub origin: Origin,
    pub actor: String,
    pub at: Option<u32>,
    pub when: Option<Program>,
    pub choice: ChoiceModel,
    pub options: Vec<OptionModel>,
    pub decided_slot: u32,
    /// The step it was taken at, NaN before: `ID.since` reads `step` minus it.
    pub last_slot: u32,
    /// Whether an expression reads `ID.since`: only then does the engine keep `last_slot`.
    pub clock: bool,
    /// `ID.count`: how many times it was taken; for a decision taken at most once, the same
    /// slot as `decided_slot` (and each option's count its `slot`).
    pub count_slot: u32,
    /// `None`: taken at most once.
    pub recur: Option<scenario::Recurrence>,
    /// A decision open over a window, with waiting as one more choice ([`scenario::Timing`]).
    pub timing: Option<TimingModel>,
    pub stream: u64,
}

/// [`scenario::Timing`], compiled.
#[derive(Debug, Clone)]
pub struct TimingModel {
    pub from: u32,
    pub until: u32,
    /// The utility of waiting, beside the options'.
    pub wait: Program,
    pub default: Option<usize>,
}

impl DecisionModel {
    /// The most times it can be taken in a run: 1, or for a recurring decision its `times`
    /// bounded by the occasions its schedule gives (at most one a step).
    pub fn max_times(&self, steps: u32) -> u32 {
        let Some(r) = &self.recur else {
            return 1;
        };
        let occasions = match (self.at, r.every) {
            (Some(at), Some(every)) => (r.until.saturating_sub(at)) / every + 1,
            _ => r.until.min(steps.saturating_sub(1)) + 1,
        };
        r.times.min(occasions)
    }
}

#[derive(Debug, Clone)]
pub struct OutcomeModel {
    pub id: String,
    pub origin: Origin,
    pub label: String,
    pub description: String,
    pub when: Option<Program>,
}

/// A probe (`EXPR @ DATE`), compiled: a condition (1 or 0) or a number.
#[derive(Debug, Clone)]
pub struct ProbeModel {
    pub text: String,
    pub date: chrono::NaiveDate,
    pub step: u32,
    pub role: scenario::ProbeRole,
    pub value: Program,
}

#[derive(Debug, Clone)]
pub struct MetricModel {
    pub id: String,
    pub doc: Documentation,
    pub origin: Origin,
    pub expr: Program,
    /// How its end-of-run value is summarised.
    pub kind: crate::scenario::MetricKind,
}

impl Model {
    /// The most options any decision has (0 without decisions): scratch space for engines.
    /// Whether each parameter can change what the backtest case scores (its decision, or the
    /// outcome), through any chain of expressions, effects and earlier decisions. An
    /// over-approximation: a parameter that is read on the way may still cancel out, but one
    /// marked `false` cannot matter. Without a `[backtest]` table, whether it is read at all.
    pub fn parameters_scored_decision_reads(&self) -> Vec<bool> {
        // For each slot, the slots its value is computed from (a var: every expression that
        // writes it, with the conditions under which it does).
        let mut from: Vec<Vec<u32>> = vec![Vec::new(); self.layout.len as usize];
        let reads = |programs: &[&Program]| -> Vec<u32> {
            programs.iter().flat_map(|p| p.slots_read()).collect()
        };
        let var_slot = |v: usize| self.layout.vars + v as u32;
        for (k, p) in self.hoisted.iter().enumerate() {
            from[(self.layout.hoisted + k as u32) as usize].extend(p.slots_read());
        }
        for (v, var) in self.vars.iter().enumerate() {
            from[var_slot(v) as usize].extend(var.init.slots_read());
        }
        for e in &self.events {
            let mut guard: Vec<&Program> = e.when.iter().collect();
            if let TriggerModel::Chance { probability, .. } = &e.trigger {
                guard.push(probability);
            }
            let guard = reads(&guard);
            for slot in [e.count_slot, e.fired_slot, e.last_slot] {
                from[slot as usize].extend(&guard);
            }
            for effect in &e.effects {
                let slot = var_slot(effect.var) as usize;
                from[slot].extend(&guard);
                from[slot].extend(effect.value.slots_read());
            }
        }
        for r in &self.rules {
            let guard = reads(&r.when.iter().collect::<Vec<_>>());
            for effect in &r.effects {
                let slot = var_slot(effect.var) as usize;
                from[slot].extend(&guard);
                from[slot].extend(effect.value.slots_read());
            }
        }
        let decision_reads = |d: &DecisionModel| -> Vec<u32> {
            let mut programs: Vec<&Program> = d.when.iter().collect();
            programs.extend(d.options.iter().map(|o| &o.utility));
            programs.extend(d.timing.iter().map(|t| &t.wait));
            if let ChoiceModel::Logit { temperature } = &d.choice {
                programs.push(temperature);
            }
            reads(&programs)
        };
        for d in &self.decisions {
            let choice = decision_reads(d);
            from[d.decided_slot as usize].extend(&choice);
            from[d.last_slot as usize].extend(&choice);
            from[d.count_slot as usize].extend(&choice);
            for option in &d.options {
                from[option.slot as usize].extend(&choice);
                from[option.count_slot as usize].extend(&choice);
                for effect in &option.effects {
                    let slot = var_slot(effect.var) as usize;
                    from[slot].extend(&choice);
                    from[slot].extend(effect.value.slots_read());
                }
            }
        }
        let mut pending: Vec<u32> = match self.backtest.as_ref().map(|b| b.scored) {
            Some(Scored::Decision(d)) => decision_reads(&self.decisions[d]),
            Some(Scored::Outcome) => self
                .outcomes
                .iter()
                .flat_map(|o| o.when.iter().flat_map(|p| p.slots_read()))
                .collect(),
            None => (0..from.len() as u32)
                .flat_map(|s| from[s as usize].clone())
                .collect(),
        };
        let mut seen = vec![false; from.len()];
        while let Some(slot) = pending.pop() {
            let s = slot as usize;
            if s >= seen.len() || seen[s] {
                continue;
            }
            seen[s] = true;
            pending.extend(&from[s]);
        }
        (0..self.parameters.len()).map(|p| seen[p]).collect()
    }

    pub fn max_options(&self) -> usize {
        self.decisions
            .iter()
            .map(|d| d.options.len())
            .max()
            .unwrap_or(0)
    }

    pub fn parameter_index(&self, id: &str) -> Option<usize> {
        self.parameters.iter().position(|p| p.id == id)
    }

    pub fn outcome_index(&self, id: &str) -> Option<usize> {
        self.outcomes.iter().position(|o| o.id == id)
    }

    /// Whether any probe is a `run --given` condition, which a study counts runs by.
    pub fn has_given(&self) -> bool {
        self.probes
            .iter()
            .any(|p| p.role == scenario::ProbeRole::Given)
    }

    pub fn metric_index(&self, id: &str) -> Option<usize> {
        self.metrics.iter().position(|m| m.id == id)
    }
}

/// The names expressions can use, mapped to slots.
#[derive(Clone)]
struct Names<'a> {
    slots: HashMap<String, (u32, Type)>,
    /// `ID.since` of each event and decision: `step - ID#last`, inlined where it is read.
    clocks: HashMap<String, (Expr, Type)>,
    derived: HashMap<&'a str, (Expr, Type)>,
    /// Derived values whose definition failed (an error is already reported for each).
    unusable: HashSet<&'a str>,
    /// Ids of events and decisions switched off with `enabled = false`.
    switched_off: HashSet<&'a str>,
}

impl Scope for Names<'_> {
    fn lookup(&self, name: &str) -> Option<Binding<'_>> {
        if let Some((slot, ty)) = self.slots.get(name) {
            return Some(Binding::Slot(*slot, *ty));
        }
        if let Some((expr, ty)) = self.derived.get(name) {
            return Some(Binding::Inline(expr, *ty));
        }
        if let Some((expr, ty)) = self.clocks.get(name) {
            return Some(Binding::Inline(expr, *ty));
        }
        if self.unusable.contains(name) {
            return Some(Binding::Unusable);
        }
        let item = name.split_once('.').map_or(name, |(item, _)| item);
        self.switched_off
            .contains(item)
            .then_some(Binding::SwitchedOff)
    }

    fn candidates(&self) -> Vec<String> {
        self.slots
            .keys()
            .filter(|k| !k.contains(LAST))
            .cloned()
            .chain(self.derived.keys().map(|k| k.to_string()))
            .chain(self.clocks.keys().cloned())
            .collect()
    }
}

/// Joins an item's id to the name of the slot holding the step it last happened at: a
/// character no name can contain, so the slot is the engine's, readable only as `ID.since`.
const LAST: &str = "#last";

/// `ID.since`: the step minus the slot of the step `ID` last happened at, so NaN (a run that
/// reads it stops, located) until it has happened.
fn clock(last: &str) -> Expr {
    let name = |n: &str| Expr {
        kind: expr::ExprKind::Name(n.to_string()),
        range: 0..0,
    };
    Expr {
        kind: expr::ExprKind::Binary(
            expr::Binary::Sub,
            Box::new(name(STEP)),
            Box::new(name(last)),
        ),
        range: 0..0,
    }
}

/// Compiles a scenario. All problems are reported together, each at its place in the file.
pub fn compile(scenario: Scenario) -> Result<Model, Diagnostics> {
    let mut errors = Vec::new();
    let model = Compiler {
        scenario: &scenario,
        errors: &mut errors,
        hoister: None,
    }
    .compile();
    match model {
        Some(model) if errors.is_empty() => Ok(model),
        _ => Err(Diagnostics {
            sources: scenario.sources,
            items: errors,
        }),
    }
}

struct Compiler<'a> {
    scenario: &'a Scenario,
    errors: &'a mut Vec<Diagnostic>,
    /// Collects run-invariant subexpressions once the slot layout is known.
    hoister: Option<expr::Hoister>,
}

impl<'a> Compiler<'a> {
    fn origin(&self, kind: &'static str, id: &scenario::Ident) -> Origin {
        Origin {
            kind,
            id: id.name.clone(),
        }
    }

    fn compile(mut self) -> Option<Model> {
        let s = self.scenario;
        let (names, mut layout) = self.layout();
        let mut names = names;
        self.add_derived(&mut names);
        // Parameters and `steps` never change during a run.
        let mut invariant = vec![false; layout.len as usize];
        invariant[..s.parameters.len()].fill(true);
        invariant[layout.steps as usize] = true;
        self.hoister = Some(expr::Hoister::new(invariant, layout.len));

        let parameters = s
            .parameters
            .iter()
            .map(|p| ParameterModel {
                id: p.id.name.clone(),
                doc: p.doc.clone(),
                distribution: p.distribution.clone(),
                stream: stream_key("parameter", &p.id.name),
                calibrate: p.calibrate,
            })
            .collect();

        let var_ids: Vec<String> = s
            .actors
            .iter()
            .flat_map(|a| {
                a.vars
                    .iter()
                    .map(move |v| format!("{}.{}", a.id.name, v.id.name))
            })
            .collect();
        let mut vars = Vec::new();
        let mut var_deps = Vec::new();
        for (actor, var) in s
            .actors
            .iter()
            .flat_map(|a| a.vars.iter().map(move |v| (a, v)))
        {
            let id = format!("{}.{}", actor.id.name, var.id.name);
            let parsed = self.parse(&var.init);
            var_deps.push(
                parsed
                    .as_ref()
                    .map(|e| self.var_dependencies(e, &names, &var_ids))
                    .unwrap_or_default(),
            );
            let init =
                parsed.and_then(|e| self.compile_parsed(&e, &var.init, &names, Type::Number));
            vars.push(VarModel {
                id,
                doc: var.doc.clone(),
                init: init.unwrap_or_else(placeholder),
                min: var.min,
                max: var.max,
            });
        }
        let init_order = self.order_initial_values(&var_deps, &var_ids);

        let events = s
            .events
            .iter()
            .enumerate()
            .map(|(i, e)| {
                let trigger = match &e.trigger {
                    scenario::Trigger::At(step) => TriggerModel::At(*step),
                    scenario::Trigger::Chance {
                        probability,
                        from,
                        until,
                    } => TriggerModel::Chance {
                        probability: self.expr(probability, &names, Type::Number),
                        from: *from,
                        until: *until,
                    },
                };
                EventModel {
                    id: e.id.name.clone(),
                    doc: e.doc.clone(),
                    origin: self.origin("event", &e.id),
                    trigger,
                    when: e.when.as_ref().map(|w| self.expr(w, &names, Type::Bool)),
                    effects: self.effects(&e.effects, &names, &var_ids),
                    stream: stream_key("event", &e.id.name),
                    count_slot: layout.vars + var_ids.len() as u32 + 2 * i as u32,
                    fired_slot: layout.vars + var_ids.len() as u32 + 2 * i as u32 + 1,
                    last_slot: names.slots[&format!("{}{LAST}", e.id.name)].0,
                    clock: false,
                }
            })
            .collect();

        let rules = s
            .rules
            .iter()
            .map(|r| RuleModel {
                id: r.id.name.clone(),
                doc: r.doc.clone(),
                origin: self.origin("rule", &r.id),
                when: r.when.as_ref().map(|w| self.expr(w, &names, Type::Bool)),
                effects: self.effects(&r.effects, &names, &var_ids),
            })
            .collect();

        let decisions = s
            .decisions
            .iter()
            .map(|d| {
                if !s.actors.iter().any(|a| a.id.name == d.actor.name) {
                    let mut diag =
                        Diagnostic::new(format!("unknown actor `{}`", d.actor.name), d.actor.span);
                    let actors: Vec<&str> = s.actors.iter().map(|a| a.id.name.as_str()).collect();
                    diag = match suggest(&d.actor.name, actors.iter().copied()) {
                        Some(h) => diag.with_hint(h),
                        None => diag.with_hint(format!("actors are: {}", actors.join(", "))),
                    };
                    self.errors.push(diag);
                }
                let (decided_slot, _) = names.slots[&format!("{}.decided", d.id.name)];
                DecisionModel {
                    id: d.id.name.clone(),
                    doc: d.doc.clone(),
                    origin: self.origin("decision", &d.id),
                    actor: d.actor.name.clone(),
                    at: d.at,
                    // Compiled even when fixed, so that a fact's base still has its errors
                    // reported; a fact does not wait on its condition.
                    when: d
                        .when
                        .as_ref()
                        .map(|w| self.expr(w, &names, Type::Bool))
                        .filter(|_| d.fixed.is_none()),
                    choice: match (&d.fixed, &d.choice) {
                        (Some(fixed), _) => ChoiceModel::Fixed {
                            option: fixed.option,
                        },
                        (None, scenario::Choice::Logit { temperature }) => ChoiceModel::Logit {
                            temperature: self.temperature(temperature, &names),
                        },
                        (None, scenario::Choice::Argmax) => ChoiceModel::Argmax,
                    },
                    options: d
                        .options
                        .iter()
                        .map(|o| OptionModel {
                            id: o.id.name.clone(),
                            label: o.label.clone(),
                            utility: self.expr(&o.utility, &names, Type::Number),
                            effects: self.effects(&o.effects, &names, &var_ids),
                            slot: names.slots[&format!("{}.{}", d.id.name, o.id.name)].0,
                            count_slot: names.slots[&format!("{}.{}.count", d.id.name, o.id.name)]
                                .0,
                        })
                        .collect(),
                    decided_slot,
                    last_slot: names.slots[&format!("{}{LAST}", d.id.name)].0,
                    clock: false,
                    count_slot: names.slots[&format!("{}.count", d.id.name)].0,
                    recur: d.recur.clone(),
                    timing: d.timing.as_ref().map(|t| TimingModel {
                        from: t.from,
                        until: t.until,
                        wait: self.expr(&t.wait, &names, Type::Number),
                        default: t.default,
                    }),
                    stream: stream_key("decision", &d.id.name),
                }
            })
            .collect();

        let outcomes = s
            .outcomes
            .iter()
            .map(|o| OutcomeModel {
                id: o.id.name.clone(),
                origin: self.origin("outcome", &o.id),
                label: o.label.clone(),
                description: o.description.clone(),
                when: o.when.as_ref().map(|w| self.expr(w, &names, Type::Bool)),
            })
            .collect();

        let metrics = s
            .metrics
            .iter()
            .map(|m| MetricModel {
                id: m.id.name.clone(),
                doc: m.doc.clone(),
                origin: self.origin("metric", &m.id),
                expr: self.expr(&m.expr, &names, Type::Number),
                kind: m.kind.clone(),
            })
            .collect();

        let probe_names = self.with_metrics(&names);
        let probes = s
            .probes
            .iter()
            .map(|g| ProbeModel {
                text: g.text.clone(),
                date: g.date,
                step: g.step,
                role: g.role,
                value: match g.role {
                    scenario::ProbeRole::Given | scenario::ProbeRole::Condition => {
                        self.expr(&g.expr, &probe_names, Type::Bool)
                    }
                    scenario::ProbeRole::Watch => self.expr_any(&g.expr, &probe_names),
                },
            })
            .collect();

        // The scenario checked the pairs; a failure here would be a bug, reported all the same.
        let correlations = match &s.correlations {
            Some(c) => match CorrelationModel::new(s, c) {
                Some(model) => Some(model),
                None => {
                    self.errors.push(Diagnostic::new(
                        "these rank correlations cannot be sampled (their matrix has no factor)",
                        c.span,
                    ));
                    None
                }
            },
            None => None,
        };

        let hoisted = self.hoister.take().map(|h| h.programs).unwrap_or_default();
        layout.hoisted = layout.len;
        layout.len += hoisted.len() as u32;
        let mut model = Model {
            hoisted,
            name: s.name.clone(),
            description: s.description.clone(),
            file: s.file.clone(),
            stem: s.stem.clone(),
            sha256: s.sha256.clone(),
            time: s.time,
            default_runs: s.runs,
            default_seed: s.seed,
            parameters,
            vars,
            init_order,
            events,
            rules,
            decisions,
            outcomes,
            metrics,
            layout,
            stack_size: 0,
            backtest: None,
            calibration: s.calibration.clone(),
            correlations,
            probes,
            base_file: s.sources.last_name().unwrap_or(&s.file).to_string(),
        };
        model.backtest = s.backtest.as_ref().and_then(|b| backtest_case(&model, b));
        model.stack_size = programs(&model).map(|p| p.stack_size()).max().unwrap_or(1);
        let read: HashSet<u32> = programs(&model).flat_map(|p| p.slots_read()).collect();
        for event in &mut model.events {
            event.clock = read.contains(&event.last_slot);
        }
        for decision in &mut model.decisions {
            // A timed decision's step is reported, and read from its clock.
            decision.clock = read.contains(&decision.last_slot) || decision.timing.is_some();
        }
        Some(model)
    }

    /// Assigns slots: parameters, vars, event count/fired pairs, decision option and decided
    /// flags, then `step` and `steps`.
    fn layout(&mut self) -> (Names<'a>, SlotLayout) {
        let s = self.scenario;
        let mut slots = HashMap::new();
        let mut next = 0u32;
        let mut add = |slots: &mut HashMap<String, (u32, Type)>, name: String, ty: Type| {
            slots.insert(name, (next, ty));
            next += 1;
            next - 1
        };
        for p in &s.parameters {
            add(&mut slots, p.id.name.clone(), Type::Number);
        }
        let vars_start = s.parameters.len() as u32;
        for a in &s.actors {
            for v in &a.vars {
                add(
                    &mut slots,
                    format!("{}.{}", a.id.name, v.id.name),
                    Type::Number,
                );
            }
        }
        for e in &s.events {
            add(&mut slots, format!("{}.count", e.id.name), Type::Number);
            add(&mut slots, format!("{}.fired", e.id.name), Type::Bool);
        }
        for d in &s.decisions {
            for o in &d.options {
                if o.id.name == DECIDED {
                    self.errors.push(Diagnostic::new(
                        format!("`{DECIDED}` is reserved: `DECISION.{DECIDED}` tells whether the decision was taken"),
                        o.id.span,
                    ));
                }
                if o.id.name == COUNT {
                    self.errors.push(
                        Diagnostic::new(
                            format!("`{COUNT}` is reserved: `DECISION.{COUNT}` counts the times the decision was taken"),
                            o.id.span,
                        )
                        .with_hint("name the option otherwise"),
                    );
                }
                if o.id.name == SINCE {
                    self.errors.push(
                        Diagnostic::new(
                            format!("`{SINCE}` is reserved: `DECISION.{SINCE}` counts the steps since the decision was taken"),
                            o.id.span,
                        )
                        .with_hint("name the option otherwise"),
                    );
                }
                add(
                    &mut slots,
                    format!("{}.{}", d.id.name, o.id.name),
                    Type::Bool,
                );
            }
            add(&mut slots, format!("{}.{DECIDED}", d.id.name), Type::Bool);
        }
        let mut clocks = HashMap::new();
        let items = s
            .events
            .iter()
            .map(|e| &e.id)
            .chain(s.decisions.iter().map(|d| &d.id));
        for id in items {
            let last = format!("{}{LAST}", id.name);
            add(&mut slots, last.clone(), Type::Number);
            let since = format!("{}.{SINCE}", id.name);
            // An option called `since` keeps its name; the loader reports it as reserved.
            clocks.entry(since).or_insert((clock(&last), Type::Number));
        }
        for d in &s.decisions {
            let counts = std::iter::once((
                format!("{}.count", d.id.name),
                format!("{}.{DECIDED}", d.id.name),
            ))
            .chain(d.options.iter().map(|o| {
                let option = format!("{}.{}", d.id.name, o.id.name);
                (format!("{option}.count"), option)
            }));
            for (count, flag) in counts {
                if d.recur.is_some() {
                    add(&mut slots, count, Type::Number);
                } else if let Some(&(slot, _)) = slots.get(&flag) {
                    // Taken at most once: its count is its flag (0 or 1), so the engine keeps
                    // no second copy to update.
                    slots.insert(count, (slot, Type::Number));
                }
            }
        }
        let step = add(&mut slots, STEP.into(), Type::Number);
        add(&mut slots, STEPS.into(), Type::Number);
        let layout = SlotLayout {
            parameters: 0,
            vars: vars_start,
            step,
            steps: step + 1,
            hoisted: step + 2,
            len: step + 2,
        };
        (
            Names {
                slots,
                clocks,
                derived: HashMap::new(),
                unusable: HashSet::new(),
                switched_off: s.switched_off.iter().map(|o| o.id.as_str()).collect(),
            },
            layout,
        )
    }

    /// Parses and type-checks derived values in dependency order; a cycle is an error.
    fn add_derived(&mut self, names: &mut Names<'a>) {
        let s = self.scenario;
        let parsed: Vec<Option<Expr>> = s.derived.iter().map(|d| self.parse(&d.expr)).collect();
        let index: HashMap<&str, usize> = s
            .derived
            .iter()
            .enumerate()
            .map(|(i, d)| (d.id.name.as_str(), i))
            .collect();
        // 0 = unvisited, 1 = on the current path, 2 = done.
        let mut state = vec![0u8; s.derived.len()];
        let mut order = Vec::new();
        // Each derived value is unusable until it compiles, so that a broken one (bad syntax, a
        // cycle) is reported once, not again as an unknown name wherever it is used.
        names.unusable = s.derived.iter().map(|d| d.id.name.as_str()).collect();
        for start in 0..s.derived.len() {
            let mut path = Vec::new();
            self.visit_derived(start, &parsed, &index, &mut state, &mut path, &mut order);
        }
        for i in order {
            let (Some(expr), d) = (&parsed[i], &s.derived[i]) else {
                continue;
            };
            match expr::compile(expr, names, None) {
                Ok(program) => {
                    names.unusable.remove(d.id.name.as_str());
                    names
                        .derived
                        .insert(d.id.name.as_str(), (expr.clone(), program.ty()));
                }
                Err(e) => self.push_expr_error(&d.expr, e),
            }
        }
    }

    fn visit_derived(
        &mut self,
        i: usize,
        parsed: &[Option<Expr>],
        index: &HashMap<&str, usize>,
        state: &mut [u8],
        path: &mut Vec<usize>,
        order: &mut Vec<usize>,
    ) -> bool {
        match state[i] {
            2 => return true,
            1 => {
                let s = self.scenario;
                let start = path.iter().position(|p| *p == i).unwrap_or(0);
                let cycle: Vec<&str> = path[start..]
                    .iter()
                    .chain([&i])
                    .map(|p| s.derived[*p].id.name.as_str())
                    .collect();
                self.errors.push(
                    Diagnostic::new(
                        format!(
                            "derived values depend on each other in a cycle: {}",
                            cycle.join(" -> ")
                        ),
                        s.derived[i].id.span,
                    )
                    .with_hint("a derived value cannot use itself, directly or through others"),
                );
                return false;
            }
            _ => {}
        }
        state[i] = 1;
        path.push(i);
        let mut ok = true;
        if let Some(expr) = &parsed[i] {
            for (name, _) in expr.names() {
                if let Some(&dep) = index.get(name) {
                    ok &= self.visit_derived(dep, parsed, index, state, path, order);
                    if !ok {
                        break;
                    }
                }
            }
        }
        path.pop();
        state[i] = 2;
        if ok {
            order.push(i);
        }
        ok
    }

    /// Vars an initial value reads, directly or through derived values.
    fn var_dependencies(&self, expr: &Expr, names: &Names<'_>, var_ids: &[String]) -> Vec<usize> {
        let mut out = Vec::new();
        let mut stack: Vec<&Expr> = vec![expr];
        let mut seen_derived = Vec::new();
        while let Some(e) = stack.pop() {
            for (name, _) in e.names() {
                if let Some(i) = var_ids.iter().position(|v| v == name) {
                    out.push(i);
                } else if let Some((body, _)) = names.derived.get(name) {
                    if !seen_derived.contains(&name) {
                        seen_derived.push(name);
                        stack.push(body);
                    }
                }
            }
        }
        out
    }

    fn order_initial_values(&mut self, deps: &[Vec<usize>], var_ids: &[String]) -> Vec<usize> {
        let mut state = vec![0u8; deps.len()];
        let mut order = Vec::with_capacity(deps.len());
        let spans: Vec<Span> = self
            .scenario
            .actors
            .iter()
            .flat_map(|a| a.vars.iter().map(|v| v.init.span))
            .collect();
        fn visit(
            i: usize,
            deps: &[Vec<usize>],
            state: &mut [u8],
            path: &mut Vec<usize>,
            order: &mut Vec<usize>,
        ) -> Result<(), Vec<usize>> {
            match state[i] {
                2 => return Ok(()),
                1 => {
                    let start = path.iter().position(|p| *p == i).unwrap_or(0);
                    let mut cycle = path[start..].to_vec();
                    cycle.push(i);
                    return Err(cycle);
                }
                _ => {}
            }
            state[i] = 1;
            path.push(i);
            for &d in &deps[i] {
                visit(d, deps, state, path, order)?;
            }
            path.pop();
            state[i] = 2;
            order.push(i);
            Ok(())
        }
        for i in 0..deps.len() {
            let mut path = Vec::new();
            if let Err(cycle) = visit(i, deps, &mut state, &mut path, &mut order) {
                let names: Vec<&str> = cycle.iter().map(|c| var_ids[*c].as_str()).collect();
                self.errors.push(
                    Diagnostic::new(
                        format!(
                            "initial values depend on each other in a cycle: {}",
                            names.join(" -> ")
                        ),
                        spans[cycle[0]],
                    )
                    .with_hint("give one of them a value that does not read the others"),
                );
                return (0..deps.len()).collect();
            }
        }
        order
    }

    fn effects(
        &mut self,
        effects: &[scenario::Effect],
        names: &Names<'_>,
        var_ids: &[String],
    ) -> Vec<EffectModel> {
        let mut out = Vec::with_capacity(effects.len());
        for effect in effects {
            let value = self.expr(&effect.expr, names, Type::Number);
            match var_ids.iter().position(|v| *v == effect.var.name) {
                Some(var) => out.push(EffectModel {
                    var,
                    op: effect.op,
                    value,
                }),
                None => {
                    let mut d = Diagnostic::new(
                        format!("`{}` is not a state variable", effect.var.name),
                        effect.var.span,
                    );
                    // `anger` for `seoul.anger`: the actor was left out.
                    let suffix = format!(".{}", effect.var.name);
                    let owners: Vec<&str> = var_ids
                        .iter()
                        .filter(|v| v.ends_with(&suffix))
                        .map(String::as_str)
                        .collect();
                    d = match suggest(&effect.var.name, var_ids.iter().map(String::as_str)) {
                        Some(h) => d.with_hint(h),
                        None if !owners.is_empty() => d.with_hint(format!(
                            "variables are written `actor.var`: did you mean `{}`?",
                            owners.join("` or `")
                        )),
                        None => d.with_hint("effects change a state variable, written `actor.var`"),
                    };
                    self.errors.push(d);
                }
            }
        }
        out
    }

    fn parse(&mut self, source: &ExprSource) -> Option<Expr> {
        match expr::parse(&source.text, scenario::LIMITS.expression_depth) {
            Ok(e) => Some(e),
            Err(e) => {
                self.push_expr_error(source, e);
                None
            }
        }
    }

    fn compile_parsed(
        &mut self,
        parsed: &Expr,
        source: &ExprSource,
        names: &Names<'_>,
        ty: impl Into<Option<Type>>,
    ) -> Option<Program> {
        match expr::compile_hoisting(parsed, names, ty.into(), self.hoister.as_mut()) {
            // Run-time errors point at the expression's first character.
            Ok(p) => Some(
                p.located(
                    self.scenario
                        .sources
                        .location(source.span_of(0..source.text.len())),
                ),
            ),
            Err(e) => {
                self.push_expr_error(source, e);
                None
            }
        }
    }

    fn expr(&mut self, source: &ExprSource, names: &Names<'_>, ty: Type) -> Program {
        self.parse(source)
            .and_then(|e| self.compile_parsed(&e, source, names, ty))
            .unwrap_or_else(placeholder)
    }

    /// An expression of either type (a watched sign: a number or a condition).
    fn expr_any(&mut self, source: &ExprSource, names: &Names<'_>) -> Program {
        self.parse(source)
            .and_then(|e| self.compile_parsed(&e, source, names, None))
            .unwrap_or_else(placeholder)
    }

    /// The names a probe can read: the scenario's, and each metric by its id (its expression,
    /// inlined as a derived value is), unless the id already names something.
    fn with_metrics(&mut self, names: &Names<'a>) -> Names<'a> {
        let mut with = names.clone();
        if self.scenario.probes.is_empty() {
            return with;
        }
        for m in &self.scenario.metrics {
            let id = m.id.name.as_str();
            if with.lookup(id).is_some() {
                continue;
            }
            let Some(parsed) = self.parse(&m.expr) else {
                continue;
            };
            // A metric's expression compiled already; its type is a number.
            with.derived.insert(id, (parsed, Type::Number));
        }
        with
    }

    /// A logit temperature; a constant one must be positive (choice probabilities divide by it).
    fn temperature(&mut self, source: &ExprSource, names: &Names<'_>) -> Program {
        let Some(program) = self
            .parse(source)
            .and_then(|e| self.compile_parsed(&e, source, names, Type::Number))
        else {
            return placeholder();
        };
        if let Some(t) = program.as_constant().filter(|t| *t <= 0.0) {
            self.errors.push(
                Diagnostic::new(format!("the logit temperature must be > 0, got {t}"), source.span)
                    .with_hint("a lower temperature makes the choice closer to the best option; for a deterministic choice write `choice = \"argmax\"` without a temperature"),
            );
        }
        program
    }

    fn push_expr_error(&mut self, source: &ExprSource, e: expr::ExprError) {
        // A follow-on error repeats one already reported; one is enough.
        if e.follow_on && !self.errors.is_empty() {
            return;
        }
        let reader = source.span_of(e.range.clone());
        if let Some(d) = e
            .switched_off
            .as_deref()
            .and_then(|name| self.switched_off_error(name, source, reader))
        {
            self.errors.push(d);
            return;
        }
        let mut d = Diagnostic::new(e.message, reader);
        d.hint = e.hint;
        self.errors.push(d);
    }

    /// An expression reads `name` of an item that is switched off. The fix is a choice between
    /// the two places, so the error is where the item was switched off (in a variant, the
    /// line that made the base wrong) and names the reader.
    fn switched_off_error(
        &self,
        name: &str,
        source: &ExprSource,
        reader: Span,
    ) -> Option<Diagnostic> {
        let item = name.split_once('.').map_or(name, |(item, _)| item);
        let off = self.scenario.switched_off.iter().find(|o| o.id == item)?;
        Some(
            Diagnostic::new(
                format!(
                    "{} `{}` is switched off here, but `{name}` is still read",
                    off.kind, off.id
                ),
                off.at,
            )
            .with_hint(format!(
                "read at {} (`{}`); switch that off too, or do not switch `{}` off",
                self.scenario.sources.location(reader),
                source.text,
                off.id
            )),
        )
    }
}

/// Resolves `[backtest]` ids to indexes; the loader has checked that they exist.
fn backtest_case(model: &Model, b: &scenario::Backtest) -> Option<BacktestCase> {
    let (scored, classes): (Scored, Vec<&str>) = match &b.decision {
        Some(id) => {
            let index = model.decisions.iter().position(|d| d.id == id.name)?;
            let options = model.decisions[index].options.iter();
            (
                Scored::Decision(index),
                options.map(|o| o.id.as_str()).collect(),
            )
        }
        None => (
            Scored::Outcome,
            model.outcomes.iter().map(|o| o.id.as_str()).collect(),
        ),
    };
    let find = |id: &scenario::Ident| classes.iter().position(|c| *c == id.name);
    Some(BacktestCase {
        scored,
        observed: find(&b.observed)?,
        status_quo: match &b.status_quo {
            Some(id) => Some(find(id)?),
            None => None,
        },
        date: b.date,
        description: b.description.clone(),
        source: b.source.clone(),
    })
}

/// Stands in for an expression that failed to compile; the model is discarded in that case.
fn placeholder() -> Program {
    struct Empty;
    impl Scope for Empty {
        fn lookup(&self, _: &str) -> Option<Binding<'_>> {
            None
        }
        fn candidates(&self) -> Vec<String> {
            Vec::new()
        }
    }
    let zero = expr::parse("0", 1).unwrap_or_else(|_| unreachable!("`0` parses"));
    expr::compile(&zero, &Empty, None).unwrap_or_else(|_| unreachable!("`0` compiles"))
}

/// Every program of the model, in no particular order.
fn programs(model: &Model) -> impl Iterator<Item = &Program> {
    let mut programs: Vec<&Program> = Vec::new();
    programs.extend(model.vars.iter().map(|v| &v.init));
    fn effects(e: &[EffectModel]) -> impl Iterator<Item = &Program> {
        e.iter().map(|x| &x.value)
    }
    for e in &model.events {
        if let TriggerModel::Chance { probability, .. } = &e.trigger {
            programs.push(probability);
        }
        programs.extend(e.when.iter());
        programs.extend(effects(&e.effects));
    }
    for r in &model.rules {
        programs.extend(r.when.iter());
        programs.extend(effects(&r.effects));
    }
    for d in &model.decisions {
        programs.extend(d.when.iter());
        if let ChoiceModel::Logit { temperature } = &d.choice {
            programs.push(temperature);
        }
        for o in &d.options {
            programs.push(&o.utility);
            programs.extend(effects(&o.effects));
        }
        programs.extend(d.timing.iter().map(|t| &t.wait));
    }
    programs.extend(model.outcomes.iter().filter_map(|o| o.when.as_ref()));
    programs.extend(model.metrics.iter().map(|m| &m.expr));
    programs.extend(model.probes.iter().map(|g| &g.value));
    programs.extend(model.hoisted.iter());
    programs.into_iter()
}

#[cfg(test)]
mod tests {
    const MINIMAL: &str = include_str!("../../tests/fixtures/minimal.toml");

    /// (line, message, hint) of each compile error when `from` in the minimal scenario
    /// becomes `to`.
    fn errors(from: &str, to: &str) -> Vec<(usize, String, String)> {
        assert_eq!(MINIMAL.matches(from).count(), 1, "`{from}` must occur once");
        let text = MINIMAL.replace(from, to);
        let scenario = crate::scenario::load_str("t.toml", &text, None).expect("loads");
        let d = super::compile(scenario).expect_err("should not compile");
        d.items
            .iter()
            .map(|i| {
                let line = i.span.map_or(0, |s| d.sources.line_col(s.file, s.start).0);
                (line, i.message.clone(), i.hint.clone().unwrap_or_default())
            })
            .collect()
    }

    #[test]
    fn the_minimal_scenario_compiles() {
        let scenario = crate::scenario::load_str("t.toml", MINIMAL, None).expect("loads");
        super::compile(scenario).expect("compiles");
    }

    #[test]
    fn a_broken_derived_value_is_reported_once_not_where_it_is_used() {
        let e = errors(
            "stress = \"seoul.anger + threat\"",
            "stress = \"seoul.anger +\"",
        );
        assert_eq!(e.len(), 1, "{e:?}");
        assert_eq!(e[0].0, 41);
        let e = errors(
            "stress = \"seoul.anger + threat\"",
            "stress = \"calm\"\ncalm = \"stress\"",
        );
        assert_eq!(e.len(), 1, "{e:?}");
        assert!(e[0].1.contains("cycle"), "{e:?}");
    }

    #[test]
    fn a_constant_logit_temperature_must_be_positive() {
        for t in ["0", "-0.5", "\"1 - 1\""] {
            let e = errors("temperature = 0.2", &format!("temperature = {t}"));
            assert_eq!(e.len(), 1, "{t}: {e:?}");
            assert_eq!(e[0].0, 59);
            assert!(e[0].1.contains("must be > 0"), "{e:?}");
        }
    }

    #[test]
    fn an_effect_on_a_bare_var_name_suggests_the_actor() {
        let e = errors(
            "{ var = \"seoul.anger\", multiply",
            "{ var = \"anger\", multiply",
        );
        assert!(e[0].2.contains("`seoul.anger`"), "{e:?}");
    }

    /// The minimal scenario with `lines` in [derived] and `stress` defined as `stress`.
    fn with_derived(lines: &[String], stress: &str) -> Vec<(usize, String, String)> {
        errors(
            "stress = \"seoul.anger + threat\"",
            &format!("{}\nstress = \"{stress}\"", lines.join("\n")),
        )
    }

    #[test]
    fn derived_values_that_double_at_every_level_are_stopped_not_expanded() {
        let mut lines = vec!["d0 = \"seoul.anger\"".to_string()];
        lines.extend((1..40).map(|i| format!("d{i} = \"d{} + d{}\"", i - 1, i - 1)));
        let start = std::time::Instant::now();
        let e = with_derived(&lines, "d39");
        assert!(start.elapsed().as_secs() < 10, "took {:?}", start.elapsed());
        assert_eq!(e.len(), 1, "{e:?}");
        assert!(e[0].1.contains("grows past 50000 terms"), "{e:?}");
    }

    #[test]
    fn long_sums_through_derived_values_are_stopped_before_the_stack_overflows() {
        let sum = |n: usize| vec!["step"; n].join("+");
        let mut lines = vec![format!("d0 = \"{}\"", sum(800))];
        lines.extend((1..62).map(|i| format!("d{i} = \"d{}+{}\"", i - 1, sum(799))));
        // A thread with a small stack, as a library caller might use.
        let e = std::thread::Builder::new()
            .stack_size(2 << 20)
            .spawn(move || with_derived(&lines, "d61"))
            .expect("spawn")
            .join()
            .expect("no overflow, no panic");
        assert_eq!(e.len(), 1, "{e:?}");
        assert!(e[0].1.contains("more than 1000 operations deep"), "{e:?}");
    }

    #[test]
    fn derived_values_nested_too_deep_are_one_short_error() {
        let mut lines = vec!["e0 = \"1\"".to_string()];
        lines.extend((1..100).map(|i| format!("e{i} = \"e{}\"", i - 1)));
        let e = with_derived(&lines, "e99");
        assert_eq!(e.len(), 1, "{e:?}");
        assert!(
            e[0].1
                .starts_with("derived values are nested more than 64 deep"),
            "{e:?}"
        );
    }

    fn compiled(text: &str) -> super::Model {
        let scenario = crate::scenario::load_str("t.toml", text, None).expect("loads");
        super::compile(scenario).expect("compiles")
    }

    /// What a scenario does not use costs the engine nothing: a decision taken at most once
    /// counts in its own flags, and only a clock that an expression reads is kept.
    #[test]
    fn unused_counts_and_clocks_take_no_slots_or_work() {
        let model = compiled(MINIMAL);
        let exit = &model.decisions[0];
        assert_eq!(exit.count_slot, exit.decided_slot);
        for option in &exit.options {
            assert_eq!(option.count_slot, option.slot);
        }
        assert!(!exit.clock && model.events.iter().all(|e| !e.clock));

        let text = MINIMAL.replace(
            "expr = \"seoul.anger\"",
            "expr = \"launch.since + exit.since\"",
        );
        let model = compiled(&text);
        assert!(model.decisions[0].clock);
        let clocks: Vec<bool> = model.events.iter().map(|e| e.clock).collect();
        assert_eq!(clocks, [false, true], "only `launch.since` is read");
    }

    #[test]
    fn an_unknown_actor_lists_the_actors() {
        let e = errors("actor = \"seoul\"", "actor = \"pressure\"");
        assert_eq!(e[0].2, "actors are: seoul");
    }
}
