//! `explain`: replay one run and tell its story, step by step.

use std::fmt::Write as _;

use serde_json::{json, Value};

use super::options::ExplainOptions;
use super::Failure;
use crate::engine::{DecisionDetail, Engine, Observer};
use crate::model::Model;
use crate::montecarlo::sample_parameters;
use crate::rng::RunStream;

/// Writes the story of a run as it happens.
struct Story<'m> {
    model: &'m Model,
    text: String,
    current_step: Option<u32>,
    all_rules: bool,
    /// Rules whose rationale was already shown: once is enough.
    explained: Vec<bool>,
    /// (decision, step, option) of each decision taken, in order.
    taken: Vec<(usize, u32, usize)>,
    /// How often each event fired.
    fired: Vec<u32>,
    /// What happened, in order, for `--json`: every event, rule and decision with the state
    /// it changed (all of them, whatever `--all-rules` says of the story).
    happened: Vec<Value>,
}

impl Story<'_> {
    fn step_header(&mut self, step: u32) {
        if self.current_step != Some(step) {
            self.current_step = Some(step);
            let _ = writeln!(
                self.text,
                "\nStep {step} ({})",
                self.model.time.date_of(step)
            );
        }
    }

    fn record(
        &mut self,
        step: u32,
        kind: &str,
        id: &str,
        changes: &[(usize, f64, f64)],
    ) -> &mut Value {
        let changes: Vec<Value> = changes
            .iter()
            .filter(|(_, before, after)| before != after)
            .map(|&(var, before, after)| {
                json!({"variable": self.model.vars[var].id, "before": before, "after": after})
            })
            .collect();
        self.happened.push(json!({
            "step": step,
            "date": self.model.time.date_of(step).to_string(),
            "kind": kind,
            "id": id,
            "changes": changes,
        }));
        let last = self.happened.len() - 1;
        &mut self.happened[last]
    }

    fn changes(&mut self, changes: &[(usize, f64, f64)]) {
        for &(var, before, after) in changes {
            if before != after {
                let _ = writeln!(
                    self.text,
                    "      {} {} -> {}",
                    self.model.vars[var].id,
                    short(before),
                    short(after)
                );
            }
        }
    }
}

/// The run in a few lines: its outcome, the decisions taken (when, and which option) and the
/// events that fired.
fn in_short(model: &Model, story: &Story<'_>, outcome: usize) -> String {
    let mut text = String::from("\nIn short\n");
    let outcome = &model.outcomes[outcome];
    let _ = writeln!(text, "  outcome    {} ({})", outcome.label, outcome.id);
    if story.taken.is_empty() {
        let _ = writeln!(text, "  decisions  none taken");
    }
    for (k, &(decision, step, option)) in story.taken.iter().enumerate() {
        let d = &model.decisions[decision];
        let _ = writeln!(
            text,
            "  {:<10} {} chose `{}` at step {step} ({})",
            if k == 0 { "decisions" } else { "" },
            d.id,
            d.options[option].id,
            model.time.date_of(step)
        );
    }
    let fired: Vec<String> = story
        .fired
        .iter()
        .zip(&model.events)
        .filter(|(n, _)| **n > 0)
        .map(|(n, e)| match n {
            1 => e.id.clone(),
            n => format!("{} (x{n})", e.id),
        })
        .collect();
    if fired.is_empty() {
        let _ = writeln!(text, "  events     none fired");
    }
    // Wrapped to about 100 columns, continuation lines under the first name.
    let mut lines: Vec<String> = Vec::new();
    let mut line = String::new();
    for (k, name) in fired.iter().enumerate() {
        let piece = if k + 1 < fired.len() {
            format!("{name}, ")
        } else {
            name.clone()
        };
        if !line.is_empty() && 13 + line.len() + piece.len() > 100 {
            lines.push(line.trim_end().to_string());
            line.clear();
        }
        line.push_str(&piece);
    }
    if !line.is_empty() {
        lines.push(line);
    }
    for (k, line) in lines.iter().enumerate() {
        let label = if k == 0 { "events" } else { "" };
        let _ = writeln!(text, "  {label:<10} {line}");
    }
    text
}

fn short(v: f64) -> String {
    let s = format!("{v:.4}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" {
        "0".into()
    } else {
        s.to_string()
    }
}

impl Observer for Story<'_> {
    const WANTS_DETAIL: bool = true;

    fn event_fired(&mut self, step: u32, event: usize, changes: &[(usize, f64, f64)]) {
        let id = self.model.events[event].id.clone();
        self.record(step, "event", &id, changes);
        self.step_header(step);
        let e = &self.model.events[event];
        let label = if e.doc.label.is_empty() {
            String::new()
        } else {
            format!(": {}", e.doc.label)
        };
        let _ = writeln!(self.text, "  event `{}` fired{label}", e.id);
        self.changes(changes);
        self.fired[event] += 1;
    }

    fn rule_applied(&mut self, step: u32, rule: usize, changes: &[(usize, f64, f64)]) {
        if changes.iter().any(|(_, b, a)| a != b) {
            let id = self.model.rules[rule].id.clone();
            self.record(step, "rule", &id, changes);
        }
        let significant = changes
            .iter()
            .any(|(_, b, a)| (a - b).abs() > 1e-3 * b.abs().max(1.0));
        if changes.iter().all(|(_, b, a)| a == b) || (!self.all_rules && !significant) {
            return;
        }
        self.step_header(step);
        let r = &self.model.rules[rule];
        let _ = writeln!(self.text, "  rule `{}`", r.id);
        if !r.doc.rationale.is_empty() && !self.explained[rule] {
            let _ = writeln!(self.text, "      why: {}", r.doc.rationale);
        }
        self.explained[rule] = true;
        self.changes(changes);
    }

    fn decision_taken(&mut self, step: u32, decision: usize, detail: &DecisionDetail<'_>) {
        self.taken.push((decision, step, detail.chosen));
        let d = &self.model.decisions[decision];
        let (id, actor) = (d.id.clone(), d.actor.clone());
        let options: Vec<Value> = d
            .options
            .iter()
            .enumerate()
            .map(|(k, o)| {
                // A fact's utilities are not read: null, not a number never computed.
                let utility = (!detail.fixed).then_some(detail.utilities[k]);
                json!({
                    "id": o.id,
                    "utility": utility,
                    "probability": detail.probabilities[k],
                })
            })
            .collect();
        let chosen = d.options[detail.chosen].id.clone();
        // A recurring decision's times are counted from 1, as the text says them.
        let occurrence = d
            .recur
            .is_some()
            .then(|| self.taken.iter().filter(|(i, ..)| *i == decision).count());
        let entry = self.record(step, "decision", &id, detail.changes);
        entry["actor"] = json!(actor);
        entry["temperature"] = json!(detail.temperature);
        entry["options"] = json!(options);
        entry["chosen"] = json!(chosen);
        if let Some(k) = occurrence {
            entry["time"] = json!(k);
        }
        if detail.fixed {
            entry["fixed"] = json!(true);
        }
        let waiting = d.timing.as_ref().map(|_| {
            let n = d.options.len();
            (detail.utilities[n], detail.probabilities[n])
        });
        if let Some((utility, probability)) = waiting {
            entry["wait"] = json!({ "utility": utility, "probability": probability });
            entry["forced"] = json!(detail.forced);
        }
        self.step_header(step);
        let d = &self.model.decisions[decision];
        let how = match detail.temperature {
            _ if detail.fixed => "fixed as a fact".to_string(),
            Some(t) => format!("logit choice, temperature {}", short(t)),
            None => "argmax choice".into(),
        };
        let time = match (occurrence, &d.timing) {
            (Some(k), _) => format!(", time {k}"),
            (None, Some(t)) => format!(
                ", open from {} to {}",
                self.model.time.date_of(t.from),
                self.model.time.date_of(t.until)
            ),
            (None, None) => String::new(),
        };
        let _ = writeln!(
            self.text,
            "  decision `{}` by {} ({how}{time})",
            d.id, d.actor
        );
        for (k, option) in d.options.iter().enumerate() {
            if detail.fixed {
                break;
            }
            // A forced default was not chosen: the mark is on waiting.
            let mark = if k == detail.chosen && !detail.forced {
                ">"
            } else {
                " "
            };
            let _ = writeln!(
                self.text,
                "    {mark} {:<24} utility {:>8}   probability {:>6.1}%",
                option.id,
                short(detail.utilities[k]),
                100.0 * detail.probabilities[k]
            );
        }
        if let Some((utility, probability)) = waiting {
            let mark = if detail.forced { ">" } else { " " };
            let _ = writeln!(
                self.text,
                "    {mark} {:<24} utility {:>8}   probability {:>6.1}%",
                "(wait)",
                short(utility),
                100.0 * probability
            );
        }
        if detail.forced {
            let _ = writeln!(
                self.text,
                "    waited at the deadline, which takes `{}`",
                d.options[detail.chosen].id
            );
        } else {
            let _ = writeln!(self.text, "    chose `{}`", d.options[detail.chosen].id);
        }
        self.changes(detail.changes);
    }
}

/// Shortest text that reads back as the same number, as in runs.csv: a replayed run's
/// parameters can be compared with its row exactly.
fn exact(v: f64) -> String {
    let mut buffer = ryu::Buffer::new();
    let s = buffer.format(v);
    s.strip_suffix(".0").unwrap_or(s).to_string()
}

/// `explain`: replay the run and print its story.
pub fn run(options: ExplainOptions) -> Result<(), Failure> {
    let ExplainOptions {
        model,
        config,
        run,
        all_rules,
        json,
    } = options;
    let stream = RunStream::new(config.seed, run);
    let mut params = vec![0.0; model.parameters.len()];
    let mut us = vec![0.0; model.parameters.len()];
    sample_parameters(&model, &config, run, stream, &mut params, &mut us);

    let header = format!(
        "Run {} of {} (seed {}, {} runs, {} sampling)\n",
        run,
        model.name,
        config.seed,
        config.runs,
        config.sampling.name()
    );
    let mut out = String::from("\nParameters\n");
    for (p, value) in model.parameters.iter().zip(&params) {
        let fixed = config
            .fixed
            .iter()
            .any(|(i, _)| model.parameters[*i].id == p.id);
        let how = if fixed {
            "set".to_string()
        } else {
            p.distribution.describe()
        };
        let _ = writeln!(
            out,
            "  {:<28} {:>10}  {} [{how}]",
            p.id,
            exact(*value),
            p.doc.unit
        );
    }
    let mut story = Story {
        model: &model,
        text: String::new(),
        current_step: None,
        all_rules,
        explained: vec![false; model.rules.len()],
        taken: Vec::new(),
        fired: vec![0; model.events.len()],
        happened: Vec::new(),
    };
    let mut engine = Engine::<1>::new(&model, false);
    let result = engine.run_observed(run, &params, stream, &mut story);
    if json {
        let parameters: Vec<Value> = model
            .parameters
            .iter()
            .zip(&params)
            .map(|(p, value)| {
                let fixed = config
                    .fixed
                    .iter()
                    .any(|(i, _)| model.parameters[*i].id == p.id);
                json!({
                    "id": p.id,
                    "value": value,
                    "unit": p.doc.unit,
                    "set": fixed,
                    "distribution": p.distribution.describe(),
                })
            })
            .collect();
        let (outcome, metrics, error) = match &result {
            Ok(r) => {
                let o = &model.outcomes[r.outcome];
                let metrics: Vec<Value> = model
                    .metrics
                    .iter()
                    .zip(engine.metrics())
                    .map(|(m, v)| json!({"id": m.id, "value": v, "unit": m.doc.unit}))
                    .collect();
                (
                    json!({"id": o.id, "label": o.label}),
                    json!(metrics),
                    Value::Null,
                )
            }
            Err(e) => (Value::Null, Value::Null, json!(e.to_string())),
        };
        let record = json!({
            "scenario": model.name,
            "file": model.file,
            "seed": config.seed,
            "runs": config.runs,
            "sampling": config.sampling.name(),
            "run": run,
            "parameters": parameters,
            "happened": story.happened,
            "outcome": outcome,
            "metrics": metrics,
            "error": error,
        });
        let text = serde_json::to_string_pretty(&record)
            .map_err(|e| Failure::Other(anyhow::Error::new(e).context("serializing the run")))?;
        outln!("{text}");
        return match result {
            Ok(_) => Ok(()),
            Err(e) => Err(Failure::Invalid(format!("error: {e}"))),
        };
    }
    // What happened, in a few lines, before how it happened.
    let summary = match &result {
        Ok(result) => in_short(&model, &story, result.outcome),
        Err(_) => String::new(),
    };
    out = format!("{header}{summary}{out}");
    out.push_str(&story.text);
    let result = match result {
        Ok(r) => r,
        Err(e) => {
            out!("{out}");
            return Err(Failure::Invalid(format!("error: {e}")));
        }
    };
    let outcome = &model.outcomes[result.outcome];
    let _ = writeln!(out, "\nOutcome: {} ({})", outcome.label, outcome.id);
    let _ = writeln!(out, "\nEnd of run");
    for (m, v) in model.metrics.iter().zip(engine.metrics()) {
        let _ = writeln!(out, "  {:<28} {:>10}  {}", m.id, short(*v), m.doc.unit);
    }
    out!("{out}");
    Ok(())
}
