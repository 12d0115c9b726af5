//! Counterfactual comparison: a base scenario and variants, run on common random numbers, with
//! paired intervals for the differences and a list of what differs between the files.

use std::sync::atomic::AtomicBool;

use serde::{Deserialize, Serialize};

use crate::model::Model;
use crate::montecarlo::aggregate::wilson;
use crate::montecarlo::paired::run_paired;
use crate::montecarlo::{StudyConfig, StudyError};
use crate::scenario::{Effect, EffectOp, Scenario, Trigger};

/// A scenario item reduced to what it means (no spans), for telling what a variant changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fingerprint {
    pub kind: &'static str,
    pub id: String,
    pub text: String,
}

fn effects_text(effects: &[Effect]) -> String {
    effects
        .iter()
        .map(|e| {
            let op = match e.op {
                EffectOp::Set => "=",
                EffectOp::Add => "+=",
                EffectOp::Multiply => "*=",
            };
            format!("{} {op} {}", e.var.name, e.expr.text)
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// Every parameter, variable, derived value, event, rule, decision, outcome and metric.
pub fn fingerprints(s: &Scenario) -> Vec<Fingerprint> {
    let mut out = Vec::new();
    let mut add = |kind, id: &str, text: String| {
        out.push(Fingerprint {
            kind,
            id: id.to_string(),
            text,
        })
    };
    add(
        "scenario",
        "time axis",
        format!("{} {} x {}", s.time.start, s.time.unit.name(), s.time.steps),
    );
    for p in &s.parameters {
        add("parameter", &p.id.name, p.distribution.describe());
    }
    for a in &s.actors {
        for v in &a.vars {
            add(
                "variable",
                &format!("{}.{}", a.id.name, v.id.name),
                format!("init {} in [{}, {}]", v.init.text, v.min, v.max),
            );
        }
    }
    for d in &s.derived {
        add("derived value", &d.id.name, d.expr.text.clone());
    }
    for e in &s.events {
        let trigger = match &e.trigger {
            Trigger::At(step) => format!("at step {step}"),
            Trigger::Chance {
                probability,
                from,
                until,
            } => format!("chance {} in steps {from}..={until}", probability.text),
        };
        let when = e
            .when
            .as_ref()
            .map_or(String::new(), |w| format!(" when {}", w.text));
        add(
            "event",
            &e.id.name,
            format!("{trigger}{when}: {}", effects_text(&e.effects)),
        );
    }
    for r in &s.rules {
        let when = r
            .when
            .as_ref()
            .map_or("always".to_string(), |w| w.text.clone());
        add(
            "rule",
            &r.id.name,
            format!("{when}: {}", effects_text(&r.effects)),
        );
    }
    for d in &s.decisions {
        let options: Vec<String> = d
            .options
            .iter()
            .map(|o| {
                format!(
                    "{} (utility {}; {})",
                    o.id.name,
                    o.utility.text,
                    effects_text(&o.effects)
                )
            })
            .collect();
        let when = d.when.as_ref().map_or(String::new(), |w| w.text.clone());
        let choice = match (&d.fixed, &d.choice) {
            (Some(fixed), _) => format!("fixed {}", d.options[fixed.option].id.name),
            (None, crate::scenario::Choice::Logit { temperature }) => {
                format!("logit T={}", temperature.text)
            }
            (None, crate::scenario::Choice::Argmax) => "argmax".into(),
        };
        let recur = d.recur.as_ref().map_or(String::new(), |r| {
            format!(
                ", recurring every {:?} until step {} at most {} times",
                r.every, r.until, r.times
            )
        });
        let timing = d.timing.as_ref().map_or(String::new(), |t| {
            let default = t.default.map_or(String::new(), |k| {
                format!(", default {}", d.options[k].id.name)
            });
            format!(
                ", open steps {} to {}, wait {}{default}",
                t.from, t.until, t.wait.text
            )
        });
        add(
            "decision",
            &d.id.name,
            format!(
                "{} at {:?} when {when}, {choice}{recur}{timing}: {}",
                d.actor.name,
                d.at,
                options.join(", ")
            ),
        );
    }
    for o in &s.outcomes {
        add(
            "outcome",
            &o.id.name,
            o.when
                .as_ref()
                .map_or("otherwise".into(), |w| w.text.clone()),
        );
    }
    for m in &s.metrics {
        add("metric", &m.id.name, m.expr.text.clone());
    }
    out
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ItemDifference {
    pub kind: String,
    pub id: String,
    /// "changed", "added" or "removed" (relative to the base).
    pub change: String,
    pub base: Option<String>,
    pub variant: Option<String>,
}

/// What `variant` changes relative to `base`.
pub fn differences(base: &[Fingerprint], variant: &[Fingerprint]) -> Vec<ItemDifference> {
    let mut out = Vec::new();
    for b in base {
        match variant.iter().find(|v| v.kind == b.kind && v.id == b.id) {
            Some(v) if v.text != b.text => out.push(ItemDifference {
                kind: b.kind.into(),
                id: b.id.clone(),
                change: "changed".into(),
                base: Some(b.text.clone()),
                variant: Some(v.text.clone()),
            }),
            Some(_) => {}
            None => out.push(ItemDifference {
                kind: b.kind.into(),
                id: b.id.clone(),
                change: "removed".into(),
                base: Some(b.text.clone()),
                variant: None,
            }),
        }
    }
    for v in variant {
        if !base.iter().any(|b| b.kind == v.kind && b.id == v.id) {
            out.push(ItemDifference {
                kind: v.kind.into(),
                id: v.id.clone(),
                change: "added".into(),
                base: None,
                variant: Some(v.text.clone()),
            });
        }
    }
    out
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScenarioRef {
    pub name: String,
    pub file: String,
    pub sha256: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutcomeComparison {
    pub outcome: String,
    pub label: String,
    /// Probability in the base and each variant, in order.
    pub probabilities: Vec<f64>,
    pub ci95: Vec<[f64; 2]>,
    /// Variant minus base, one per variant, with a 95% interval for the paired difference.
    pub differences: Vec<f64>,
    pub differences_ci95: Vec<[f64; 2]>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Comparison {
    pub runs: u64,
    pub seed: u64,
    /// Version of alliance-sim that produced this result.
    #[serde(default)]
    pub version: String,
    pub base: ScenarioRef,
    pub variants: Vec<ScenarioRef>,
    pub outcomes: Vec<OutcomeComparison>,
    /// Per variant, what its file changes relative to the base.
    pub changes: Vec<Vec<ItemDifference>>,
}

/// Compares `scenarios[0]` (the base) with the rest.
pub fn compare(
    scenarios: &[(Scenario, Model)],
    config: &StudyConfig,
    fixed_by_id: &[(String, f64)],
    progress: &(dyn Fn(u64) + Sync),
    cancel: &AtomicBool,
) -> Result<Comparison, StudyError> {
    let models: Vec<&Model> = scenarios.iter().map(|(_, m)| m).collect();
    let counts = run_paired(&models, config, fixed_by_id, progress, cancel)?;
    let label_of = |id: &str| {
        models
            .iter()
            .flat_map(|m| m.outcomes.iter())
            .find(|o| o.id == id)
            .map_or(id.to_string(), |o| o.label.clone())
    };
    let n = counts.runs;
    let outcomes = counts
        .outcome_ids
        .iter()
        .enumerate()
        .map(|(o, id)| {
            let (differences, differences_ci95) =
                (1..models.len()).map(|m| counts.difference(m, o)).unzip();
            OutcomeComparison {
                outcome: id.clone(),
                label: label_of(id),
                probabilities: counts
                    .counts
                    .iter()
                    .map(|c| c[o] as f64 / n as f64)
                    .collect(),
                ci95: counts.counts.iter().map(|c| wilson(c[o], n)).collect(),
                differences,
                differences_ci95,
            }
        })
        .collect();
    let refs: Vec<ScenarioRef> = models
        .iter()
        .map(|m| ScenarioRef {
            name: m.name.clone(),
            file: m.file.clone(),
            sha256: m.sha256.clone(),
        })
        .collect();
    let base_prints = fingerprints(&scenarios[0].0);
    let changes = scenarios[1..]
        .iter()
        .map(|(s, _)| differences(&base_prints, &fingerprints(s)))
        .collect();
    Ok(Comparison {
        runs: n,
        seed: config.seed,
        version: env!("CARGO_PKG_VERSION").to_string(),
        base: refs[0].clone(),
        variants: refs[1..].to_vec(),
        outcomes,
        changes,
    })
}
