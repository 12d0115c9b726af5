//! The arithmetic one run of a scenario asks of the engine, counted from its compiled programs:
//! the input to the "where is the limit" estimate in docs/performance.md.
//!
//! `cargo run --release --example op_census [-- scenario.toml]` (default: the frozen scenario).
//! Counts are upper bounds where the engine can skip work: an event's effects and a decision's
//! choice are counted at every step they may happen, though the engine skips them when no lane
//! fires or no lane's condition holds. An undated decision is due at every step until taken, so
//! its choice counts at every step: in the frozen scenario the review decision's condition never
//! holds, and its choice row is almost all of that bound.

use std::path::PathBuf;
use std::process::ExitCode;

use alliance_sim::model::expr::Program;
use alliance_sim::model::{self, ChoiceModel, EffectModel, Model, TriggerModel};
use alliance_sim::scenario;

#[derive(Default, Clone, Copy)]
struct Tally {
    programs: usize,
    ops: usize,
    library: usize,
    draws: usize,
}

impl Tally {
    fn program(&mut self, p: &Program) {
        self.programs += 1;
        self.ops += p.dispatched_ops();
        self.library += p.library_calls();
    }
    fn effects(&mut self, effects: &[EffectModel]) {
        for e in effects {
            self.program(&e.value);
        }
    }
    fn add(&mut self, o: Tally) {
        self.programs += o.programs;
        self.ops += o.ops;
        self.library += o.library;
        self.draws += o.draws;
    }
}

/// The stages every study pays for, and the metrics of the other steps, which only a study with
/// the timeline pays for.
fn census(model: &Model) -> ([(&'static str, Tally); 7], Tally) {
    let steps = model.time.steps;
    let mut once = Tally::default();
    for p in &model.hoisted {
        once.program(p);
    }
    for v in &model.vars {
        once.program(&v.init);
    }
    let mut events = Tally::default();
    let mut rules = Tally::default();
    let mut conditions = Tally::default();
    let mut choices = Tally::default();
    let mut end_metrics = Tally::default();
    let mut timeline_metrics = Tally::default();
    for step in 0..steps {
        for e in &model.events {
            let due = match &e.trigger {
                TriggerModel::At(at) => *at == step,
                TriggerModel::Chance {
                    probability,
                    from,
                    until,
                } => {
                    let due = (*from..=*until).contains(&step);
                    if due {
                        events.program(probability);
                        events.draws += 1;
                    }
                    due
                }
            };
            if due {
                if let Some(w) = &e.when {
                    events.program(w);
                }
                events.effects(&e.effects);
            }
        }
        for r in &model.rules {
            if let Some(w) = &r.when {
                rules.program(w);
            }
            rules.effects(&r.effects);
        }
        for d in &model.decisions {
            // The engine's schedule; "until taken" is not known here, so every possible step.
            let due = match (&d.recur, &d.timing) {
                (_, Some(t)) => (t.from..=t.until).contains(&step),
                (None, None) => d.at.is_none_or(|at| at == step),
                (Some(recur), None) => {
                    let scheduled = match (d.at, recur.every) {
                        (Some(at), Some(every)) => step >= at && (step - at) % every == 0,
                        _ => true,
                    };
                    scheduled && step <= recur.until
                }
            };
            if !due {
                continue;
            }
            if let Some(w) = &d.when {
                conditions.program(w);
            }
            if let Some(t) = &d.timing {
                choices.program(&t.wait);
            }
            for o in &d.options {
                choices.program(&o.utility);
                choices.effects(&o.effects);
            }
            if let ChoiceModel::Logit { temperature } = &d.choice {
                choices.program(temperature);
                // One exp a utility in the softmax, and one draw.
                choices.library += d.options.len() + usize::from(d.timing.is_some());
                choices.draws += 1;
            }
        }
        // Without the timeline the engine reads the metrics at the last step only.
        let metrics = if step + 1 == steps {
            &mut end_metrics
        } else {
            &mut timeline_metrics
        };
        for m in &model.metrics {
            metrics.program(&m.expr);
        }
    }
    let mut outcomes = Tally::default();
    for o in &model.outcomes {
        if let Some(w) = &o.when {
            outcomes.program(w);
        }
    }
    let every_study = [
        ("once a run (hoisted, initial values)", once),
        ("events", events),
        ("rules", rules),
        ("decision conditions", conditions),
        ("decision choices (if due)", choices),
        ("metrics (last step)", end_metrics),
        ("outcomes (end of run)", outcomes),
    ];
    (every_study, timeline_metrics)
}

fn main() -> ExitCode {
    let path = std::env::args_os()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("benches/frozen/gsomia_2019_frozen.toml")
        });
    let model = match scenario::load(&path).and_then(model::compile) {
        Ok(m) => m,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    println!(
        "{}: {} steps, {} parameters, {} state variables",
        path.display(),
        model.time.steps,
        model.parameters.len(),
        model.vars.len()
    );
    println!(
        "{:<40} {:>9} {:>9} {:>12} {:>7}",
        "per run", "programs", "ops", "maths calls", "draws"
    );
    let row = |name: &str, t: &Tally| {
        println!(
            "{name:<40} {:>9} {:>9} {:>12} {:>7}",
            t.programs, t.ops, t.library, t.draws
        );
    };
    let (every_study, timeline_metrics) = census(&model);
    let mut total = Tally::default();
    for (name, t) in every_study {
        row(name, &t);
        total.add(t);
    }
    row("total, --no-timeline", &total);
    row("metrics (other steps, timeline only)", &timeline_metrics);
    total.add(timeline_metrics);
    row("total, with the timeline", &total);
    ExitCode::SUCCESS
}
