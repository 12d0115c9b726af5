//! Turns a merged TOML tree into typed scenario parts, reporting every problem with its span.
//!
//! Decoding goes on after an error where it can, so that a user sees all the mistakes in a file
//! at once rather than one per attempt.
//!
//! This file decodes the sections and checks the file as a whole; the readers of typed values
//! and the decoding of parameters (distributions and their keys) live beside it in `decode/`.

mod correlations;
mod parameter;
mod reader;

use std::collections::HashMap;

use super::tree::{Entry, Kind, Table, Value};
use super::*;
use crate::diagnostic::suggest;
use crate::names;
use parameter::decode_parameter;
use reader::{as_table, expression, Reader};

/// Sizes beyond which a scenario is rejected as unreasonable rather than run.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub steps: u32,
    pub runs: u64,
    pub file_bytes: u64,
    pub extends_depth: usize,
    pub expression_chars: usize,
    pub expression_depth: usize,
    pub items: usize,
}

pub const LIMITS: Limits = Limits {
    steps: 10_000,
    runs: 1_000_000_000,
    file_bytes: 1 << 20,
    extends_depth: 64,
    expression_chars: 4_096,
    expression_depth: 64,
    items: 10_000,
};

pub(super) struct Parts {
    pub name: String,
    pub description: String,
    pub time: TimeAxis,
    pub runs: u64,
    pub seed: u64,
    pub parameters: Vec<Parameter>,
    pub actors: Vec<Actor>,
    pub derived: Vec<Derived>,
    pub events: Vec<Event>,
    pub rules: Vec<Rule>,
    pub decisions: Vec<Decision>,
    pub outcomes: Vec<Outcome>,
    pub metrics: Vec<Metric>,
    pub backtest: Option<Backtest>,
    pub calibration: Option<Calibration>,
    pub correlations: Option<Correlations>,
    pub switched_off: Vec<SwitchedOff>,
}

type Errors = Vec<Diagnostic>;

const TOP_KEYS: &[&str] = &[
    "scenario",
    "parameters",
    "actors",
    "derived",
    "events",
    "rules",
    "decisions",
    "outcomes",
    "metrics",
    "backtest",
    "calibration",
    "correlations",
];

pub(super) fn decode(root: &Table, errors: &mut Errors) -> Option<Parts> {
    // Problems of the file as a whole (a missing table) point at the start of the file the user
    // named, which is file 0: the bases it extends are read after it.
    let root_span = Span {
        file: crate::diagnostic::FileId(0),
        start: 0,
        end: 0,
    };
    if root.entries.is_empty() {
        errors.push(
            Diagnostic::new("the scenario file is empty", root_span).with_hint(
                "a scenario needs a [scenario] table, at least one [actors.ID] and [outcomes.ID]; see docs/scenario-format.md",
            ),
        );
        return None;
    }
    let mut top = Reader::new(root, root_span, "the scenario file", errors);
    let scenario_table = top.table("scenario", false);
    let parameters_table = top.table("parameters", false);
    let actors_table = top.table("actors", false);
    let derived_table = top.table("derived", false);
    let events_table = top.table("events", false);
    let rules_table = top.table("rules", false);
    let decisions_table = top.table("decisions", false);
    let outcomes_table = top.table("outcomes", false);
    let metrics_table = top.table("metrics", false);
    let backtest_table = top.table("backtest", false);
    let calibration_table = top.table("calibration", false);
    let correlations_table = top.table("correlations", false);
    for (key, entry) in &root.entries {
        if SCENARIO_KEYS.contains(&key.as_str()) {
            top.taken.push(key);
            top.errors.push(
                Diagnostic::new(
                    format!("`{key}` belongs in [scenario], not at the top of the file"),
                    entry.key_span,
                )
                .with_hint("move it below the `[scenario]` header (keys above the first header are top-level keys)"),
            );
        }
    }
    top.finish(TOP_KEYS);
    for (key, hint) in [
        (
            "scenario",
            "add a [scenario] table with `name`, `start`, `step` and `steps`",
        ),
        (
            "actors",
            "add e.g. `[actors.seoul]` with `label = \"Seoul\"`",
        ),
        (
            "outcomes",
            "add `[outcomes.ID]` tables; the last one has no `when` and takes every remaining run",
        ),
    ] {
        if !root.entries.contains_key(key) {
            errors
                .push(Diagnostic::new(format!("missing table [{key}]"), root_span).with_hint(hint));
        }
    }

    let (meta, time) = match scenario_table {
        Some((table, span)) => decode_meta(table, span, errors)?,
        None => return None,
    };

    let parameters = items(parameters_table, errors, |id, value, errors| {
        decode_parameter(id, value, errors)
    });
    let actors = items(actors_table, errors, decode_actor);
    let derived = items(derived_table, errors, |id, value, errors| {
        let expr = expression(value, errors)?;
        Some(Derived { id, expr })
    });
    let axis = Axis {
        time,
        start_at: scenario_table.and_then(|(t, _)| t.entries.get("start").map(|e| e.value.span)),
        steps_at: scenario_table.and_then(|(t, _)| t.entries.get("steps").map(|e| e.value.span)),
    };
    let events = items(events_table, errors, |id, value, errors| {
        decode_event(id, value, &axis, errors)
    })
    .into_iter()
    .flatten()
    .collect();
    let rules = items(rules_table, errors, decode_rule)
        .into_iter()
        .flatten()
        .collect();
    let decisions: Vec<Decision> = items(decisions_table, errors, |id, value, errors| {
        decode_decision(id, value, &axis, errors)
    })
    .into_iter()
    .flatten()
    .collect();
    let outcomes = items(outcomes_table, errors, decode_outcome);
    let metrics = items(metrics_table, errors, decode_metric);

    if actors.is_empty() && actors_table.is_some() {
        let (_, span) = actors_table?;
        errors.push(
            Diagnostic::new("a scenario needs at least one actor", span)
                .with_hint("add e.g. `[actors.seoul]` with `label = \"Seoul\"`"),
        );
    }
    // An outcome that failed to decode was reported already; judging the rest would mislead.
    if outcomes_table.is_some_and(|(t, _)| t.entries.len() == outcomes.len()) {
        check_outcomes_exhaustive(&outcomes, outcomes_table.map(|(_, s)| s), errors);
    }
    let declared = decisions_table.map(|(t, _)| t);
    let backtest = backtest_table.and_then(|(table, span)| {
        decode_backtest(table, span, declared, &decisions, &outcomes, errors)
    });

    let calibration =
        calibration_table.map(|(table, span)| decode_calibration(table, span, errors));

    let correlations = correlations_table.and_then(|(table, span)| {
        let declared = parameters_table.map(|(t, _)| t);
        correlations::decode_correlations(table, span, &parameters, declared, errors)
    });

    let mut switched_off = Vec::new();
    for (kind, section) in [("event", events_table), ("decision", decisions_table)] {
        for (id, entry) in section.iter().flat_map(|(t, _)| &t.entries) {
            if let (true, Kind::Table(t)) = (switched_off_item(&entry.value), &entry.value.kind) {
                let at = t
                    .entries
                    .get("enabled")
                    .map_or(entry.key_span, |e| e.key_span);
                switched_off.push(SwitchedOff {
                    kind,
                    id: id.clone(),
                    at,
                });
            }
        }
    }
    let parts = Parts {
        name: meta.name,
        description: meta.description,
        time,
        runs: meta.runs,
        seed: meta.seed,
        parameters,
        actors,
        derived,
        events,
        rules,
        decisions,
        outcomes,
        metrics,
        backtest,
        calibration,
        correlations,
        switched_off,
    };
    check_unique_ids(&parts, errors);
    Some(parts)
}

struct Meta {
    name: String,
    description: String,
    runs: u64,
    seed: u64,
}

const SCENARIO_KEYS: &[&str] = &[
    "name",
    "description",
    "start",
    "step",
    "steps",
    "runs",
    "seed",
];

fn decode_meta(table: &Table, span: Span, errors: &mut Errors) -> Option<(Meta, TimeAxis)> {
    let mut r = Reader::new(table, span, "[scenario]", errors);
    let name = r.string("name", true).unwrap_or_default();
    let description = r.string("description", false).unwrap_or_default();
    let start = r.date("start", true);
    let unit = r.choice("step", &["day", "week", "month"], true);
    let steps = r.integer("steps", true, 1, LIMITS.steps as i64);
    let runs = r
        .integer("runs", false, 1, LIMITS.runs as i64)
        .unwrap_or(10_000);
    let seed = r.integer("seed", false, 0, i64::MAX).unwrap_or(0);
    r.finish(SCENARIO_KEYS);
    let unit = match unit? {
        "day" => StepUnit::Day,
        "week" => StepUnit::Week,
        _ => StepUnit::Month,
    };
    Some((
        Meta {
            name,
            description,
            runs: runs as u64,
            seed: seed as u64,
        },
        TimeAxis {
            start: start?,
            unit,
            steps: steps? as u32,
        },
    ))
}

/// Decodes every `[section.ID]` of a keyed section, in the order written.
fn items<T>(
    section: Option<(&Table, Span)>,
    errors: &mut Errors,
    mut decode_one: impl FnMut(Ident, &Value, &mut Errors) -> Option<T>,
) -> Vec<T> {
    let Some((table, span)) = section else {
        return Vec::new();
    };
    if table.entries.len() > LIMITS.items {
        errors.push(Diagnostic::new(
            format!(
                "this section has {} items; the limit is {}",
                table.entries.len(),
                LIMITS.items
            ),
            span,
        ));
        return Vec::new();
    }
    let mut out = Vec::with_capacity(table.entries.len());
    for (key, entry) in &table.entries {
        let Some(id) = ident(key, entry, errors) else {
            continue;
        };
        if let Some(item) = decode_one(id, &entry.value, errors) {
            out.push(item);
        }
    }
    out
}

fn ident(key: &str, entry: &Entry, errors: &mut Errors) -> Option<Ident> {
    let valid = key.chars().next().is_some_and(|c| c.is_ascii_lowercase())
        && key
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if !valid || names::is_reserved(key) {
        let (why, hint) = if valid {
            (
                format!("`{key}` is a reserved word"),
                format!(
                    "the language gives `{key}` its own meaning; name it otherwise, e.g. `{key}_count` or `my_{key}`"
                ),
            )
        } else {
            (
                format!("invalid id `{key}`"),
                "ids are snake_case: a lowercase letter, then lowercase letters, digits or `_`"
                    .to_string(),
            )
        };
        errors.push(Diagnostic::new(why, entry.key_span).with_hint(hint));
        return None;
    }
    Some(Ident {
        name: key.to_string(),
        span: entry.key_span,
    })
}

fn documentation(r: &mut Reader<'_, '_>) -> Documentation {
    Documentation {
        label: r.string("label", false).unwrap_or_default(),
        unit: r.string("unit", false).unwrap_or_default(),
        rationale: r.string("rationale", false).unwrap_or_default(),
        source: source(r),
    }
}

/// A `source`: free text, refused when it names a local path outside the scenario's folder
/// tree (`../notes.md`, `/home/me/facts.txt`, `~/x`), which a reader of the results cannot open.
fn source(r: &mut Reader<'_, '_>) -> String {
    let text = r.string("source", false).unwrap_or_default();
    let outside = text
        .split(|c: char| c.is_whitespace() || matches!(c, ';' | ',' | '(' | ')'))
        .find(|w| {
            !w.contains("://")
                && (w.starts_with("../")
                    || w.contains("/../")
                    || (w.starts_with('/') && w.len() > 1)
                    || w.starts_with("~/"))
        });
    if let (Some(path), Some(entry)) = (outside, r.table.entries.get("source")) {
        r.errors.push(
            Diagnostic::new(
                format!(
                    "`source` names the local path `{path}`, outside the repository: a reader \
                     of the results cannot open it"
                ),
                entry.value.span,
            )
            .with_hint(
                "cite the public source itself (publisher, date, and its https:// address), or \
                 a file inside the repository",
            ),
        );
    }
    text
}

const DOC_KEYS: &[&str] = &["label", "unit", "rationale", "source"];

fn with_doc_keys(keys: &[&'static str]) -> Vec<&'static str> {
    keys.iter().chain(DOC_KEYS).copied().collect()
}

fn decode_actor(id: Ident, value: &Value, errors: &mut Errors) -> Option<Actor> {
    let (table, span) = as_table(value, &format!("actor `{}`", id.name), errors)?;
    let mut r = Reader::new(table, span, "an actor", errors);
    let label = r.string("label", false).unwrap_or_else(|| id.name.clone());
    let _description = r.string("description", false);
    let vars_table = r.table("vars", false);
    r.finish(&["label", "description", "vars"]);
    let vars = items(vars_table, errors, |var_id, value, errors| {
        decode_var(var_id, value, errors)
    });
    Some(Actor { id, label, vars })
}

fn decode_var(id: Ident, value: &Value, errors: &mut Errors) -> Option<Var> {
    let empty_doc = || Documentation {
        label: String::new(),
        unit: String::new(),
        rationale: String::new(),
        source: String::new(),
    };
    match &value.kind {
        Kind::Table(table) => {
            let mut r = Reader::new(table, value.span, "a state variable", errors);
            let doc = documentation(&mut r);
            let init = r.expr("init", true);
            let min = r.number("min", false).unwrap_or(f64::NEG_INFINITY);
            let max = r.number("max", false).unwrap_or(f64::INFINITY);
            r.finish(&with_doc_keys(&["init", "min", "max"]));
            if min > max {
                let at = table
                    .entries
                    .get("min")
                    .map_or(value.span, |e| e.value.span);
                errors.push(Diagnostic::new(
                    format!(
                        "variable `{}`: min {min} is greater than max {max}",
                        id.name
                    ),
                    at,
                ));
                return None;
            }
            Some(Var {
                id,
                doc,
                init: init?,
                min,
                max,
            })
        }
        _ => {
            let init = expression(value, errors)?;
            Some(Var {
                id,
                doc: empty_doc(),
                init,
                min: f64::NEG_INFINITY,
                max: f64::INFINITY,
            })
        }
    }
}

fn decode_effects(r: &mut Reader<'_, '_>) -> Vec<Effect> {
    let Some(entry) = r.take("effects") else {
        return Vec::new();
    };
    let Kind::Array(items) = &entry.value.kind else {
        r.type_error(
            "effects",
            &entry.value,
            "an array of effects like `[{ var = \"a.b\", add = \"1\" }]`",
        );
        return Vec::new();
    };
    let mut out = Vec::with_capacity(items.len());
    for item in items {
        let Kind::Table(table) = &item.kind else {
            r.errors.push(
                Diagnostic::new(
                    format!("an effect must be a table, found {}", item.type_name()),
                    item.span,
                )
                .with_hint("write `{ var = \"actor.var\", add = \"expression\" }`"),
            );
            continue;
        };
        let mut er = Reader::new(table, item.span, "an effect", r.errors);
        let var = er.ident_ref("var");
        let ops: Vec<(EffectOp, &str)> = [
            (EffectOp::Set, "set"),
            (EffectOp::Add, "add"),
            (EffectOp::Multiply, "multiply"),
        ]
        .into_iter()
        .filter(|(_, key)| table.entries.contains_key(*key))
        .collect();
        let op = match ops.as_slice() {
            [(op, key)] => er.expr(key, true).map(|expr| (*op, expr)),
            [] => {
                // A misspelt operation (`mult`) is reported as an unknown key, with the fix.
                let misspelt = table
                    .entries
                    .keys()
                    .any(|k| suggest(k, ["set", "add", "multiply"]).is_some());
                if !misspelt {
                    er.errors.push(
                        Diagnostic::new(
                            "an effect needs one of `set`, `add` or `multiply`",
                            item.span,
                        )
                        .with_hint("e.g. `{ var = \"seoul.anger\", add = \"0.1\" }`"),
                    );
                }
                None
            }
            [_, (_, second), ..] => {
                for (_, key) in &ops {
                    er.take(key);
                }
                let at = table.entries[*second].key_span;
                er.errors.push(Diagnostic::new(
                    "an effect takes only one of `set`, `add` or `multiply`",
                    at,
                ));
                None
            }
        };
        er.finish(&["var", "set", "add", "multiply"]);
        if let (Some(var), Some((op, expr))) = (var, op) {
            out.push(Effect { var, op, expr });
        }
    }
    out
}

/// The time axis, and where its `start` and `steps` were written: when a variant changes the
/// axis so that a base's date falls off it, the variant's line is the one to blame.
struct Axis {
    time: TimeAxis,
    start_at: Option<Span>,
    steps_at: Option<Span>,
}

impl std::ops::Deref for Axis {
    type Target = TimeAxis;
    fn deref(&self) -> &TimeAxis {
        &self.time
    }
}

impl Axis {
    /// The last day on the axis (its end, `date_of(steps)`, is the first day after it).
    fn last_day(&self) -> chrono::NaiveDate {
        let end = self.date_of(self.steps);
        end.pred_opt().unwrap_or(end)
    }

    /// `axis_key`'s span when it was written in a file that extends the one `value` is in
    /// (files are numbered from the one the user named, so a lower number is a later word).
    fn overrides(axis_key: Option<Span>, value: Span) -> Option<Span> {
        axis_key.filter(|k| k.file.0 < value.file.0)
    }
}

/// A step given as `at = N` or `date = YYYY-MM-DD`; `None` if neither is present.
fn step_key(
    r: &mut Reader<'_, '_>,
    at_key: &'static str,
    date_key: &'static str,
    time: &Axis,
) -> Option<Option<u32>> {
    let has_at = r.table.entries.contains_key(at_key);
    let has_date = r.table.entries.contains_key(date_key);
    if has_at && has_date {
        r.take(at_key);
        r.take(date_key);
        // A variant that adds one of the two to a base that has the other is the one to fix.
        let at = &r.table.entries[at_key];
        let date = &r.table.entries[date_key];
        let (span, hint) = if at.key_span.file.0 < date.key_span.file.0 {
            (at.key_span, format!("the file this one extends gives `{date_key}`; to move the step here, write `{date_key}` instead of `{at_key}`"))
        } else if date.key_span.file.0 < at.key_span.file.0 {
            (date.key_span, format!("the file this one extends gives `{at_key}`; to move the step here, write `{at_key}` instead of `{date_key}`"))
        } else {
            (
                date.key_span,
                format!(
                    "`{at_key}` is a step index, `{date_key}` a day on the time axis; keep one"
                ),
            )
        };
        r.errors.push(
            Diagnostic::new(
                format!("give either `{at_key}` or `{date_key}`, not both"),
                span,
            )
            .with_hint(hint),
        );
        return None;
    }
    match (has_at, has_date) {
        (true, _) => step_value(r, at_key, time).map(Some),
        (_, true) => step_value(r, date_key, time).map(Some),
        _ => Some(None),
    }
}

/// A step index (an integer) or a date on the time axis, under one key.
fn step_value(r: &mut Reader<'_, '_>, key: &'static str, time: &Axis) -> Option<u32> {
    let entry = r.take(key)?;
    let span = entry.value.span;
    match &entry.value.kind {
        Kind::Integer(n) => {
            let max = time.steps as i64 - 1;
            if *n > max {
                if let Some(steps) = Axis::overrides(time.steps_at, span) {
                    r.errors.push(
                        Diagnostic::new(
                            format!(
                                "`steps = {}` ends the time axis before step {n}, which a file this one extends uses (`{key} = {n}`)",
                                time.steps
                            ),
                            steps,
                        )
                        .with_hint(format!("steps are 0 to {max}: give at least {} steps, or override `{key}` here", n + 1)),
                    );
                    return None;
                }
            }
            r.taken.pop();
            r.integer(key, true, 0, max).map(|n| n as u32)
        }
        Kind::Date(_) | Kind::String(_) | Kind::OtherDatetime(_) => {
            r.taken.pop();
            let date = r.date(key, true)?;
            match time.step_of(date) {
                Some(step) => Some(step),
                None => {
                    let (first, last) = (time.start, time.last_day());
                    let axis_key = if date < first {
                        Axis::overrides(time.start_at, span)
                    } else {
                        Axis::overrides(time.steps_at, span)
                            .or(Axis::overrides(time.start_at, span))
                    };
                    let diagnostic = match axis_key {
                        Some(at) => Diagnostic::new(
                            format!(
                                "the time axis set here ({first} to {last}) leaves out {date}, the `{key}` of an item in a file this one extends"
                            ),
                            at,
                        )
                        .with_hint(format!("move the axis to cover {date}, or override that item's `{key}` here")),
                        None => Diagnostic::new(
                            format!(
                                "date {date} is outside the scenario's time axis, which runs from {first} to {last} (the last day of step {})",
                                time.steps - 1
                            ),
                            span,
                        )
                        .with_hint("move the date, or change `start`/`steps` in [scenario]"),
                    };
                    r.errors.push(diagnostic);
                    None
                }
            }
        }
        _ => {
            r.errors.push(Diagnostic::new(
                format!(
                    "`{key}` must be a step index (0 to {}) or a date like {}, found {}",
                    time.steps - 1,
                    time.start,
                    entry.value.type_name()
                ),
                span,
            ));
            None
        }
    }
}

fn decode_event(
    id: Ident,
    value: &Value,
    time: &Axis,
    errors: &mut Errors,
) -> Option<Option<Event>> {
    let (table, span) = as_table(value, &format!("event `{}`", id.name), errors)?;
    let mut r = Reader::new(table, span, "an event", errors);
    let doc = documentation(&mut r);
    let enabled = r.boolean("enabled", false).unwrap_or(true);
    let at = step_key(&mut r, "at", "date", time);
    let probability = r.expr("probability", false);
    let from = if table.entries.contains_key("from") {
        step_value(&mut r, "from", time).map(Some)
    } else {
        Some(None)
    };
    let until = if table.entries.contains_key("until") {
        step_value(&mut r, "until", time).map(Some)
    } else {
        Some(None)
    };
    let when = r.expr("when", false);
    let effects = decode_effects(&mut r);
    r.finish(&with_doc_keys(&[
        "enabled",
        "at",
        "date",
        "probability",
        "from",
        "until",
        "when",
        "effects",
    ]));
    let trigger = match (at?, probability) {
        (Some(step), None) => Trigger::At(step),
        (None, Some(probability)) => {
            let from = from?.unwrap_or(0);
            let until = until?.unwrap_or(time.steps - 1);
            if from > until {
                let at = table.entries.get("from").map_or(span, |e| e.value.span);
                errors.push(Diagnostic::new(
                    format!(
                        "event `{}`: `from` (step {from}) is after `until` (step {until})",
                        id.name
                    ),
                    at,
                ));
                return None;
            }
            Trigger::Chance {
                probability,
                from,
                until,
            }
        }
        (Some(_), Some(p)) => {
            errors.push(
                Diagnostic::new(
                    format!("event `{}` has both a date and a probability", id.name),
                    p.span,
                )
                .with_hint("a dated event fires once at its date; a stochastic one has `probability` per step"),
            );
            return None;
        }
        (None, None) => {
            errors.push(
                Diagnostic::new(
                    format!(
                        "event `{}` needs `date` (or `at`) or `probability`",
                        id.name
                    ),
                    id.span,
                )
                .with_hint("e.g. `date = 2019-08-02` or `probability = \"0.2 * nk_threat\"`"),
            );
            return None;
        }
    };
    Some(enabled.then_some(Event {
        id,
        doc,
        trigger,
        when,
        effects,
    }))
}

fn decode_rule(id: Ident, value: &Value, errors: &mut Errors) -> Option<Option<Rule>> {
    let (table, span) = as_table(value, &format!("rule `{}`", id.name), errors)?;
    let mut r = Reader::new(table, span, "a rule", errors);
    let doc = documentation(&mut r);
    let enabled = r.boolean("enabled", false).unwrap_or(true);
    let when = r.expr("when", false);
    let effects = decode_effects(&mut r);
    r.finish(&with_doc_keys(&["enabled", "when", "effects"]));
    Some(enabled.then_some(Rule {
        id,
        doc,
        when,
        effects,
    }))
}

fn decode_decision(
    id: Ident,
    value: &Value,
    time: &Axis,
    errors: &mut Errors,
) -> Option<Option<Decision>> {
    let (table, span) = as_table(value, &format!("decision `{}`", id.name), errors)?;
    let mut r = Reader::new(table, span, "a decision", errors);
    let doc = documentation(&mut r);
    let enabled = r.boolean("enabled", false).unwrap_or(true);
    let actor = r.ident_ref("actor");
    let at = step_key(&mut r, "at", "date", time);
    let when = r.expr("when", false);
    let choice_kind = r
        .choice("choice", &["logit", "argmax"], false)
        .unwrap_or("logit");
    let temperature = r.expr("temperature", false);
    let options_table = r.table("options", true);
    let every = r
        .table
        .entries
        .contains_key("every")
        .then(|| r.integer("every", true, 1, i64::from(time.steps.max(1))));
    let until = if r.table.entries.contains_key("until") {
        step_value(&mut r, "until", time).map(Some)
    } else {
        Some(None)
    };
    let times = r
        .table
        .entries
        .contains_key("times")
        .then(|| r.integer("times", true, 1, i64::from(MAX_DECISION_TIMES)));
    let wait = r.expr("wait", false);
    let from = if r.table.entries.contains_key("from") {
        step_value(&mut r, "from", time).map(Some)
    } else {
        Some(None)
    };
    let default = r
        .table
        .entries
        .contains_key("default")
        .then(|| r.ident_ref("default"));
    let fixed = match r.table.entries.get("fixed").map(|e| &e.value) {
        None => None,
        Some(v) if !matches!(v.kind, Kind::String(_)) => {
            r.errors.push(
                Diagnostic::new("`fixed` must name one of the decision's options", v.span)
                    .with_hint(
                        "e.g. `fixed = \"give_notice\"`: the option that was taken, as a string",
                    ),
            );
            r.taken.push("fixed");
            Some(None)
        }
        Some(_) => Some(r.ident_ref("fixed")),
    };
    r.finish(&with_doc_keys(&[
        "enabled",
        "actor",
        "at",
        "date",
        "when",
        "choice",
        "temperature",
        "options",
        "fixed",
        "every",
        "until",
        "times",
        "wait",
        "from",
        "default",
    ]));
    let choice = match (choice_kind, temperature) {
        ("logit", Some(temperature)) => Choice::Logit { temperature },
        // Given but invalid: that was reported where it is written.
        ("logit", None) if table.entries.contains_key("temperature") => return None,
        ("logit", None) => {
            errors.push(
                Diagnostic::new(
                    format!("decision `{}` uses logit choice but has no `temperature`", id.name),
                    id.span,
                )
                .with_hint("add e.g. `temperature = 0.2`, or `choice = \"argmax\"` for a deterministic choice"),
            );
            return None;
        }
        (_, Some(t)) => {
            errors.push(Diagnostic::new(
                "`temperature` only applies to `choice = \"logit\"`",
                t.span,
            ));
            return None;
        }
        (_, None) => Choice::Argmax,
    };
    let at = at?;
    if at.is_none() && when.is_none() && !table.entries.contains_key("wait") {
        errors.push(
            Diagnostic::new(
                format!(
                    "decision `{}` needs a `date` (or `at`) or a `when` condition",
                    id.name
                ),
                id.span,
            )
            .with_hint("e.g. `date = 2019-08-22`, or `when = \"seoul.anger > 0.8\"`"),
        );
        return None;
    }
    let options = items(options_table, errors, |option_id, value, errors| {
        let (table, span) = as_table(value, &format!("option `{}`", option_id.name), errors)?;
        let mut r = Reader::new(table, span, "a decision option", errors);
        let label = r
            .string("label", false)
            .unwrap_or_else(|| option_id.name.clone());
        let _rationale = r.string("rationale", false);
        let utility = r.expr("utility", true);
        let effects = decode_effects(&mut r);
        r.finish(&["label", "rationale", "utility", "effects"]);
        Some(DecisionOption {
            id: option_id,
            label,
            utility: utility?,
            effects,
        })
    });
    let Some((declared, options_span)) = options_table else {
        return None; // reported as a missing key
    };
    if declared.entries.len() < 2 {
        let at = options_span;
        errors.push(
            Diagnostic::new(
                format!("decision `{}` needs at least two options", id.name),
                at,
            )
            .with_hint("add `[decisions.ID.options.OPTION]` tables, each with a `utility`"),
        );
        return None;
    }
    if options.len() < declared.entries.len() {
        return None; // the broken options were reported
    }
    let fixed = match fixed {
        None => None,
        Some(None) => return None, // not a string: reported
        Some(Some(written)) => Some(fixed_option(&id, &written, at, &options, errors)?),
    };
    let until = until?;
    let timing = match wait {
        Some(wait) => Some(timing(
            &id,
            table,
            TimingKeys {
                at,
                from: from?,
                until,
                wait,
                default: default.map(|d| d.ok_or(())).transpose().ok()?,
                recurs: every.is_some() || times.is_some(),
                fixed: fixed.is_some(),
            },
            &options,
            time,
            errors,
        )?),
        None => {
            // `from` and `default` belong to a timed decision: without `wait` they say nothing.
            let stray = ["from", "default"]
                .into_iter()
                .find(|k| table.entries.contains_key(*k));
            if let Some(key) = stray {
                let span = table.entries[key].key_span;
                errors.push(
                    Diagnostic::new(
                        format!("decision `{}` has `{key}` but no `wait`: `{key}` belongs to a timed decision", id.name),
                        span,
                    )
                    .with_hint("add `wait = \"...\"` (the utility of waiting) to keep it open over a window, or drop `from` and `default`"),
                );
                return None;
            }
            from?;
            None
        }
    };
    let recur = match timing {
        Some(_) => None,
        None => recurrence(
            &id,
            table,
            at,
            every,
            until,
            times,
            fixed.is_some(),
            time,
            errors,
        )?,
    };
    Some(enabled.then_some(Decision {
        id,
        doc,
        actor: actor?,
        at,
        when,
        choice,
        options,
        fixed,
        recur,
        timing,
    }))
}

/// The keys of a timed decision, as read.
struct TimingKeys {
    at: Option<u32>,
    from: Option<u32>,
    until: Option<u32>,
    wait: ExprSource,
    default: Option<Ident>,
    recurs: bool,
    fixed: bool,
}

/// `wait`, `from`, `until` and `default`, checked together: a timed decision is one window,
/// taken at most once, and a choice (not a fact).
fn timing(
    id: &Ident,
    table: &Table,
    keys: TimingKeys,
    options: &[DecisionOption],
    time: &Axis,
    errors: &mut Errors,
) -> Option<Timing> {
    let wait_span = table.entries.get("wait").map_or(id.span, |e| e.key_span);
    let refuse = |errors: &mut Errors, message: String, hint: &str| {
        errors.push(Diagnostic::new(message, wait_span).with_hint(hint));
    };
    if keys.fixed {
        refuse(
            errors,
            format!(
                "decision `{}` is fixed as a fact but also waits (`wait`)",
                id.name
            ),
            "a fact was taken on its date: drop `wait` (and `from`, `default`), or drop `fixed`",
        );
        return None;
    }
    if keys.at.is_some() {
        refuse(
            errors,
            format!("decision `{}` has a date but also waits (`wait`)", id.name),
            "a timed decision is open over a window: write `from` (its first day) in place of `date`, and `until` for its deadline",
        );
        return None;
    }
    if keys.recurs {
        refuse(
            errors,
            format!("decision `{}` waits (`wait`) and recurs (`every`, `times`)", id.name),
            "a timed decision closes when it is taken: drop `every` and `times`, or drop `wait` for a decision taken again and again",
        );
        return None;
    }
    let from = keys.from.unwrap_or(0);
    let until = keys.until.unwrap_or(time.steps.saturating_sub(1));
    if from > until {
        let span = table
            .entries
            .get("until")
            .map_or(wait_span, |e| e.value.span);
        errors.push(
            Diagnostic::new(
                format!("decision `{}`: `until` (step {until}) is before `from` (step {from})", id.name),
                span,
            )
            .with_hint("`from` is the first step it is open at and `until` the last: give a later `until` or an earlier `from`"),
        );
        return None;
    }
    let default = match keys.default {
        None => None,
        Some(written) => Some(option_named("default", id, &written, options, errors)?),
    };
    Some(Timing {
        from,
        until,
        wait: keys.wait,
        default,
    })
}

/// `every`, `until` and `times`, checked together: `Some(None)` for a decision taken once.
#[allow(clippy::too_many_arguments)]
fn recurrence(
    id: &Ident,
    table: &Table,
    at: Option<u32>,
    every: Option<Option<i64>>,
    until: Option<u32>,
    times: Option<Option<i64>>,
    fixed: bool,
    time: &Axis,
    errors: &mut Errors,
) -> Option<Option<Recurrence>> {
    let span_of = |key: &str| table.entries.get(key).map(|e| e.value.span);
    // Given but invalid: reported where it is written.
    let every = every.map(|e| e.ok_or(())).transpose().ok()?;
    let times = times.map(|t| t.ok_or(())).transpose().ok()?;
    if every.is_none() && until.is_none() && times.is_none() {
        return Some(None);
    }
    let first_key = ["every", "until", "times"]
        .into_iter()
        .find(|k| table.entries.contains_key(*k))
        .unwrap_or("every");
    let first_span = span_of(first_key).unwrap_or(id.span);
    if fixed {
        errors.push(
            Diagnostic::new(
                format!("decision `{}` is fixed as a fact, which happens once, but recurs (`{first_key}`)", id.name),
                first_span,
            )
            .with_hint("a fact is one dated occurrence: drop `every`, `until` and `times`, or record each occurrence as a dated event"),
        );
        return None;
    }
    if every.is_some() && at.is_none() {
        errors.push(
            Diagnostic::new(
                format!("decision `{}` recurs `every` so many steps but has no first date", id.name),
                span_of("every").unwrap_or(id.span),
            )
            .with_hint("give `date` (or `at`) for the first occurrence; without a date, a recurring decision is due at each step where its `when` holds"),
        );
        return None;
    }
    if every.is_none() && at.is_some() {
        errors.push(
            Diagnostic::new(
                format!("decision `{}` has one date, so it cannot recur (`{first_key}`)", id.name),
                first_span,
            )
            .with_hint("add `every = N` (steps between occurrences), or drop the date so that it is due at each step where its `when` holds"),
        );
        return None;
    }
    let until = until.unwrap_or(time.steps.saturating_sub(1));
    if let Some(at) = at.filter(|&at| at > until) {
        errors.push(
            Diagnostic::new(
                format!("decision `{}`: `until` (step {until}) is before its first date (step {at})", id.name),
                span_of("until").unwrap_or(id.span),
            )
            .with_hint("`until` is the last step it may be taken at: give a later one, or an earlier `date`"),
        );
        return None;
    }
    Some(Some(Recurrence {
        every: every.map(|e| e as u32),
        until,
        times: times.map_or(MAX_DECISION_TIMES, |t| t as u32),
    }))
}

/// The index of the option `written` names, as the value of `key` of decision `decision`; an
/// error with the nearest name otherwise.
fn option_named(
    key: &str,
    decision: &Ident,
    written: &Ident,
    options: &[DecisionOption],
    errors: &mut Errors,
) -> Option<usize> {
    let found = options.iter().position(|o| o.id.name == written.name);
    if found.is_none() {
        let names = options.iter().map(|o| o.id.name.as_str());
        let hint = suggest(&written.name, names.clone()).unwrap_or_else(|| {
            format!("expected one of: {}", names.collect::<Vec<_>>().join(", "))
        });
        errors.push(
            Diagnostic::new(
                format!(
                    "`{key}`: `{}` is not an option of decision `{}`",
                    written.name, decision.name
                ),
                written.span,
            )
            .with_hint(hint),
        );
    }
    found
}

/// `fixed = "option"` names one of the decision's options, and the decision has a date: a fact
/// is something that happened on a day, so "the first step at which `when` holds" cannot be one.
fn fixed_option(
    decision: &Ident,
    written: &Ident,
    at: Option<u32>,
    options: &[DecisionOption],
    errors: &mut Errors,
) -> Option<Fixed> {
    let option = option_named("fixed", decision, written, options, errors)?;
    if at.is_none() {
        errors.push(
            Diagnostic::new(
                format!(
                    "decision `{}` is fixed as a fact but has no date",
                    decision.name
                ),
                written.span,
            )
            .with_hint(
                "a fact happened on a day: add `date = YYYY-MM-DD` (or `at`) beside `fixed`",
            ),
        );
        return None;
    }
    Some(Fixed {
        option,
        span: written.span,
    })
}

fn decode_outcome(id: Ident, value: &Value, errors: &mut Errors) -> Option<Outcome> {
    let (table, span) = as_table(value, &format!("outcome `{}`", id.name), errors)?;
    let mut r = Reader::new(table, span, "an outcome", errors);
    let label = r.string("label", false).unwrap_or_else(|| id.name.clone());
    let description = r.string("description", false).unwrap_or_default();
    let when = r.expr("when", false);
    r.finish(&["label", "description", "when"]);
    Some(Outcome {
        id,
        label,
        description,
        when,
    })
}

fn decode_metric(id: Ident, value: &Value, errors: &mut Errors) -> Option<Metric> {
    let (table, span) = as_table(value, &format!("metric `{}`", id.name), errors)?;
    let mut r = Reader::new(table, span, "a metric", errors);
    let doc = documentation(&mut r);
    let expr = r.expr("expr", true);
    let kind = decode_metric_kind(&id, span, &mut r);
    r.finish(&with_doc_keys(&["expr", "kind", "values", "labels"]));
    Some(Metric {
        id,
        doc,
        expr: expr?,
        kind: kind?,
    })
}

/// `kind`, and for a categorical metric its `values` (distinct, at most `MAX_METRIC_VALUES`)
/// and optional `labels`, one per value.
fn decode_metric_kind(id: &Ident, span: Span, r: &mut Reader<'_, '_>) -> Option<MetricKind> {
    let kind = r
        .choice("kind", &["continuous", "count", "categorical"], false)
        .unwrap_or_else(|| {
            if r.table.entries.contains_key("kind") {
                "" // reported
            } else {
                "continuous"
            }
        });
    let values_span = r.table.entries.get("values").map(|e| e.value.span);
    let labels_span = r.table.entries.get("labels").map(|e| e.value.span);
    let values = values_span.and(r.number_array("values", false));
    let labels = labels_span.and(r.string_array("labels"));
    if kind != "categorical" && !kind.is_empty() {
        for (key, at) in [("values", values_span), ("labels", labels_span)] {
            if let Some(at) = at {
                r.errors.push(
                    Diagnostic::new(
                        format!(
                            "`{key}` belongs to a categorical metric; `{}` is {kind}",
                            id.name
                        ),
                        at,
                    )
                    .with_hint("add `kind = \"categorical\"`, or remove the key"),
                );
            }
        }
    }
    match kind {
        "continuous" => Some(MetricKind::Continuous),
        "count" => Some(MetricKind::Count),
        "categorical" => {
            let Some(values_span) = values_span else {
                r.errors.push(
                    Diagnostic::new(
                        format!("categorical metric `{}` needs `values`", id.name),
                        span,
                    )
                    .with_hint("list the codes it takes, e.g. `values = [0, 0.5, 1]`"),
                );
                return None;
            };
            let values = values?;
            if values.is_empty() || values.len() > MAX_METRIC_VALUES {
                r.errors.push(Diagnostic::new(
                    format!(
                        "`values` has {} values; a categorical metric has 1 to {MAX_METRIC_VALUES}",
                        values.len()
                    ),
                    values_span,
                ));
                return None;
            }
            if let Some(i) = (1..values.len()).find(|&i| values[..i].contains(&values[i])) {
                r.errors.push(
                    Diagnostic::new(
                        format!("`values` lists {} twice (item {})", values[i], i + 1),
                        values_span,
                    )
                    .with_hint("each value is one category: list it once"),
                );
                return None;
            }
            let labels = match (labels_span, labels) {
                (None, _) => vec![String::new(); values.len()],
                (Some(_), None) => return None, // reported
                (Some(at), Some(labels)) if labels.len() != values.len() => {
                    r.errors.push(Diagnostic::new(
                        format!(
                            "`labels` has {} labels for {} values; give one per value",
                            labels.len(),
                            values.len()
                        ),
                        at,
                    ));
                    return None;
                }
                (Some(_), Some(labels)) => labels,
            };
            // -0 and 0 are one category.
            let values = values.into_iter().map(|v| v + 0.0).collect();
            Some(MetricKind::Categorical { values, labels })
        }
        _ => None,
    }
}

/// `[calibration]`: where a calibrated variant's distributions came from, written by
/// `alliance-sim calibrate` and carried into `summary.json`. Every key is optional text or a
/// number; the table is provenance, not an instruction, so nothing in it changes a run.
fn decode_calibration(table: &Table, span: Span, errors: &mut Errors) -> Calibration {
    let mut r = Reader::new(table, span, "[calibration]", errors);
    let method = r.string("method", false).unwrap_or_default();
    let cases = r.string_array("cases").unwrap_or_default();
    let runs = r.integer("runs", false, 0, i64::MAX).map(|n| n as u64);
    let seed = r.integer("seed", false, 0, i64::MAX).map(|n| n as u64);
    let effective_sample_size = r.number("effective_sample_size", false);
    let written_by = r.string("written_by", false).unwrap_or_default();
    r.finish(&[
        "method",
        "cases",
        "runs",
        "seed",
        "effective_sample_size",
        "written_by",
    ]);
    Calibration {
        method,
        cases,
        runs,
        seed,
        effective_sample_size,
        written_by,
    }
}

/// `[backtest]`: `observed` (and `status_quo`) name an option of `decision`, or an outcome when
/// there is no `decision`.
fn decode_backtest(
    table: &Table,
    span: Span,
    declared: Option<&Table>,
    decisions: &[Decision],
    outcomes: &[Outcome],
    errors: &mut Errors,
) -> Option<Backtest> {
    let mut r = Reader::new(table, span, "[backtest]", errors);
    let decision = r
        .table
        .entries
        .contains_key("decision")
        .then(|| r.ident_ref("decision"));
    let observed = r.ident_ref("observed");
    let status_quo = r
        .table
        .entries
        .contains_key("status_quo")
        .then(|| r.ident_ref("status_quo"));
    let date = r.date("date", true);
    let description = r.string("description", false).unwrap_or_default();
    let source = source(&mut r);
    r.finish(&[
        "decision",
        "observed",
        "status_quo",
        "date",
        "description",
        "source",
    ]);
    let decision = decision.map(|d| d.ok_or(())).transpose().ok()?;
    let (choices, what): (Vec<&str>, String) = match &decision {
        Some(id) => match decisions.iter().find(|d| d.id.name == id.name) {
            Some(d) if d.fixed.is_some() => {
                errors.push(
                    Diagnostic::new(
                        format!(
                            "`decision`: `{}` is fixed as a fact in this case, so there is no forecast to score",
                            id.name
                        ),
                        id.span,
                    )
                    .with_hint("a backtest scores a decision the model takes; score a later decision, or remove `fixed`"),
                );
                return None;
            }
            Some(d) if d.timing.is_some() => {
                errors.push(
                    Diagnostic::new(
                        format!(
                            "`decision`: `{}` is timed (`wait`), and a backtest scores the probability of one option at a date, which a timed decision does not have",
                            id.name
                        ),
                        id.span,
                    )
                    .with_hint("score a decision with a `date`, or record this one as a fact (`date` and `fixed`) and score a later one"),
                );
                return None;
            }
            Some(d) => (
                d.options.iter().map(|o| o.id.name.as_str()).collect(),
                format!("an option of decision `{}`", id.name),
            ),
            // Declared and on, but broken: that was reported where it is written.
            None if declared
                .and_then(|t| t.entries.get(&id.name))
                .is_some_and(|e| !switched_off_item(&e.value)) =>
            {
                return None;
            }
            None => {
                let hint = suggest(&id.name, decisions.iter().map(|d| d.id.name.as_str()))
                    .unwrap_or_else(|| {
                        "a backtest scores a decision the case takes (not one switched off)".into()
                    });
                errors.push(
                    Diagnostic::new(
                        format!(
                            "`decision`: `{}` is not a decision of this scenario",
                            id.name
                        ),
                        id.span,
                    )
                    .with_hint(hint),
                );
                return None;
            }
        },
        None => (
            outcomes.iter().map(|o| o.id.name.as_str()).collect(),
            "an outcome".to_string(),
        ),
    };
    let mut check = |id: &Ident, key: &str| {
        if choices.contains(&id.name.as_str()) {
            return true;
        }
        let mut d = Diagnostic::new(format!("`{key}`: `{}` is not {what}", id.name), id.span);
        d = match suggest(&id.name, choices.iter().copied()) {
            Some(h) => d.with_hint(h),
            None => d.with_hint(format!("expected one of: {}", choices.join(", "))),
        };
        errors.push(d);
        false
    };
    let observed = observed?;
    let observed_ok = check(&observed, "observed");
    let status_quo_ok = status_quo
        .as_ref()
        .is_none_or(|s| s.as_ref().is_some_and(|s| check(s, "status_quo")));
    if !(observed_ok && status_quo_ok) {
        return None;
    }
    Some(Backtest {
        decision,
        observed,
        status_quo: status_quo.flatten(),
        date: date?,
        description,
        source,
    })
}

fn check_outcomes_exhaustive(outcomes: &[Outcome], section: Option<Span>, errors: &mut Errors) {
    let Some(section) = section else { return };
    let Some(last) = outcomes.last() else {
        errors.push(
            Diagnostic::new("a scenario needs at least one outcome", section)
                .with_hint("add `[outcomes.ID]` tables; the last one has no `when`"),
        );
        return;
    };
    for outcome in &outcomes[..outcomes.len() - 1] {
        if outcome.when.is_none() {
            errors.push(
                Diagnostic::new(
                    format!(
                        "outcome `{}` has no `when`, so it takes every run and the outcomes after it can never happen",
                        outcome.id.name
                    ),
                    outcome.id.span,
                )
                .with_hint("only the last outcome may omit `when`"),
            );
        }
    }
    if let Some(when) = &last.when {
        errors.push(
            Diagnostic::new(
                format!(
                    "outcomes are not exhaustive: the last outcome `{}` has a `when`, so some runs could match no outcome",
                    last.id.name
                ),
                when.span,
            )
            .with_hint("remove `when` from the last outcome (it then takes every run no earlier outcome matched), or add a catch-all outcome at the end"),
        );
    }
}

/// Parameters, actors, derived values, events, decisions and metrics share one namespace.
fn check_unique_ids(parts: &Parts, errors: &mut Errors) {
    let mut seen: HashMap<&str, (&'static str, Span)> = HashMap::new();
    let all = parts
        .parameters
        .iter()
        .map(|p| ("parameter", &p.id))
        .chain(parts.actors.iter().map(|a| ("actor", &a.id)))
        .chain(parts.derived.iter().map(|d| ("derived value", &d.id)))
        .chain(parts.events.iter().map(|e| ("event", &e.id)))
        .chain(parts.decisions.iter().map(|d| ("decision", &d.id)))
        .chain(parts.metrics.iter().map(|m| ("metric", &m.id)));
    for (kind, id) in all {
        if let Some((other_kind, _)) = seen.get(id.name.as_str()) {
            // "an actor", "an event", "a parameter" (no kind starts with a sounded `u`).
            let article = if other_kind.starts_with(['a', 'e', 'i', 'o']) {
                "an"
            } else {
                "a"
            };
            errors.push(
                Diagnostic::new(
                    format!("`{}` is already the id of {article} {other_kind}", id.name),
                    id.span,
                )
                .with_hint(format!(
                    "parameters, actors, derived values, events, decisions and metrics share one namespace; rename this {kind}"
                )),
            );
        } else {
            seen.insert(&id.name, (kind, id.span));
        }
    }
}

/// Whether an item's table says `enabled = false`.
fn switched_off_item(item: &Value) -> bool {
    match &item.kind {
        Kind::Table(t) => t
            .entries
            .get("enabled")
            .is_some_and(|e| e.value.kind == Kind::Bool(false)),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use crate::diagnostic::Diagnostics;

    const MINIMAL: &str = include_str!("../../tests/fixtures/minimal.toml");

    /// (line, message, hint) of each error when `from` in the minimal scenario becomes `to`.
    fn errors(from: &str, to: &str) -> Vec<(usize, String, String)> {
        assert_eq!(MINIMAL.matches(from).count(), 1, "`{from}` must occur once");
        errors_of(&MINIMAL.replace(from, to))
    }

    fn errors_of(text: &str) -> Vec<(usize, String, String)> {
        let d: Diagnostics = crate::scenario::load_str("t.toml", text, None)
            .expect_err("the scenario should be rejected");
        d.items
            .iter()
            .map(|i| {
                let line = i.span.map_or(0, |s| d.sources.line_col(s.file, s.start).0);
                (line, i.message.clone(), i.hint.clone().unwrap_or_default())
            })
            .collect()
    }

    #[test]
    fn an_empty_file_is_one_error_at_its_start() {
        let e = errors_of("# nothing but a comment\n");
        assert_eq!(e.len(), 1, "{e:?}");
        assert_eq!(e[0].0, 1);
        assert!(e[0].1.contains("empty"), "{e:?}");
    }

    #[test]
    fn missing_tables_point_at_the_start_of_the_file_with_a_hint() {
        let text = MINIMAL
            .replace("[outcomes.left]", "[rules.left]")
            .replace("[outcomes.stayed]\nlabel = \"Stayed\"", "");
        let e = errors_of(&text);
        assert!(
            e.iter()
                .any(|(l, m, h)| *l == 1 && m == "missing table [outcomes]" && !h.is_empty()),
            "{e:?}"
        );
    }

    #[test]
    fn a_scenario_key_at_the_top_is_said_to_belong_in_scenario() {
        let e = errors("[scenario]", "seed = 3\n[scenario]");
        assert_eq!(e.len(), 1, "{e:?}");
        assert!(e[0].1.contains("`seed` belongs in [scenario]"), "{e:?}");
    }

    #[test]
    fn at_and_date_together_is_one_error_not_three() {
        let e = errors("at = 6\n", "at = 6\ndate = 2020-02-10\n");
        assert_eq!(e.len(), 1, "{e:?}");
        assert!(e[0].1.contains("not both"), "{e:?}");
    }

    /// The decision is broken, not missing: a backtest that scores it must not say it is not
    /// a decision of the scenario.
    #[test]
    fn at_and_date_together_in_a_scored_decision_is_one_error() {
        let backtest = "[backtest]\ndecision = \"exit\"\nobserved = \"leave\"\ndate = 2020-02-10\n";
        let text = format!(
            "{}\n{backtest}",
            MINIMAL.replace("at = 6\n", "at = 6\ndate = 2020-02-10\n")
        );
        let e = errors_of(&text);
        assert_eq!(e.len(), 1, "{e:?}");
        assert!(e[0].1.contains("not both"), "{e:?}");
        // Switched off, the decision is still refused as the one scored.
        let off = MINIMAL.replace("at = 6\n", "at = 6\nenabled = false\n");
        let e = errors_of(&format!("{off}\n{backtest}"));
        assert!(
            e.iter()
                .any(|e| e.1.contains("is not a decision of this scenario")),
            "{e:?}"
        );
    }

    #[test]
    fn two_effect_operations_are_one_error_not_unknown_keys() {
        let e = errors("multiply = \"0.9\" }", "multiply = \"0.9\", add = \"1\" }");
        assert_eq!(e.len(), 1, "{e:?}");
        assert!(e[0].1.contains("only one of"), "{e:?}");
    }

    #[test]
    fn a_misspelt_effect_operation_is_one_error_with_the_fix() {
        let e = errors("multiply = \"0.9\"", "mult = \"0.9\"");
        assert_eq!(e.len(), 1, "{e:?}");
        assert!(e[0].2.contains("did you mean `multiply`"), "{e:?}");
    }

    #[test]
    fn an_invalid_temperature_is_not_also_reported_missing() {
        let e = errors("temperature = 0.2", "temperature = nan");
        assert_eq!(e.len(), 1, "{e:?}");
        assert!(e[0].1.contains("finite"), "{e:?}");
    }

    #[test]
    fn a_broken_option_does_not_make_too_few_options() {
        let e = errors("utility = \"seoul.trust\"", "label = \"Stay\"");
        assert_eq!(e.len(), 1, "{e:?}");
        assert!(e[0].1.contains("missing key `utility`"), "{e:?}");
    }

    #[test]
    fn a_broken_outcome_does_not_make_the_others_not_exhaustive() {
        let e = errors("[outcomes.stayed]", "[[outcomes.stayed]]");
        assert_eq!(e.len(), 1, "{e:?}");
        assert!(e[0].1.contains("must be a table"), "{e:?}");
    }

    #[test]
    fn from_after_until_points_at_from() {
        let e = errors(
            "probability = \"0.2 * threat\"",
            "probability = \"0.2 * threat\"\nfrom = 5\nuntil = 2",
        );
        assert_eq!(e.len(), 1, "{e:?}");
        assert_eq!(e[0].0, 49, "{e:?}");
    }

    #[test]
    fn a_fractional_step_is_asked_for_as_a_step_or_a_date() {
        let e = errors("at = 6", "at = 6.5");
        assert!(e[0].1.contains("step index (0 to 7) or a date"), "{e:?}");
    }

    #[test]
    fn nan_where_an_expression_is_expected_is_not_finite() {
        let e = errors("init = \"base\"", "init = inf");
        assert!(e[0].1.contains("finite"), "{e:?}");
    }

    #[test]
    fn an_integer_too_large_for_toml_is_a_range_error() {
        let e = errors("steps = 8", "steps = 99999999999999999999");
        assert!(e[0].1.contains("must be between 1 and 10000"), "{e:?}");
    }

    #[test]
    fn duplicate_ids_read_as_english() {
        let e = errors("[metrics.mean_anger]", "[metrics.shock]");
        assert!(e[0].1.contains("already the id of an event"), "{e:?}");
    }

    #[test]
    fn a_quoted_number_in_an_array_names_the_item() {
        let e = errors(
            "[parameters.base]\nvalue = 0.5",
            "[parameters.base]\ndist = \"discrete\"\nvalues = [1, \"2\"]\nweights = [1, 1]",
        );
        assert_eq!(
            e[0].1,
            "item 2 of `values` must be a number, found a string"
        );
        assert_eq!(e[0].2, "remove the quotes: `2`");
    }

    #[test]
    fn a_key_of_another_distribution_names_the_distribution() {
        let e = errors("max = 0.8", "max = 0.8\nsd = 0.1");
        assert_eq!(e.len(), 1, "{e:?}");
        assert_eq!(e[0].1, "`sd` does not apply to a uniform distribution");
    }

    #[test]
    fn a_parameter_without_dist_or_value_says_both_are_possible() {
        let e = errors("dist = \"uniform\"\n", "");
        assert!(e[0].1.contains("neither `dist` nor `value`"), "{e:?}");
    }

    #[test]
    fn a_parameter_written_as_a_number_is_shown_the_table_form() {
        let e = errors("[parameters.base]\nvalue = 0.5", "[parameters]\nbase = 0.5");
        assert!(e[0].2.contains("base = { value = ... }"), "{e:?}");
    }
}
