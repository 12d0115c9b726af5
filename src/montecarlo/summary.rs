//! The result of a Monte Carlo study, as written to `summary.json`.
//!
//! Everything a report or chart needs is here, so that `alliance-sim report DIR` can redraw
//! from the file alone. No wall-clock values: two runs with the same scenario, seed and run
//! count serialize to the same bytes.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    pub scenario: ScenarioInfo,
    pub version: String,
    pub seed: u64,
    pub runs: u64,
    /// How parameters were sampled: "monte-carlo" or "latin-hypercube".
    pub sampling: String,
    /// Parameters fixed from the command line (`--set`), in the order given.
    pub fixed: Vec<FixedParameter>,
    /// How a `--precision` study ended; absent from other studies, whose files stay as they
    /// were.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub precision: Option<PrecisionReport>,
    pub outcomes: Vec<OutcomeSummary>,
    pub decisions: Vec<DecisionSummary>,
    pub events: Vec<EventSummary>,
    pub metrics: Vec<MetricSummary>,
    pub parameters: Vec<ParameterSummary>,
    pub time_axis: TimeAxis,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScenarioInfo {
    pub name: String,
    pub description: String,
    /// The file the scenario was read from (`<embedded>` for the built-in default).
    pub file: String,
    /// SHA-256 of the resolved scenario (after `extends` and `--set`), hex.
    pub sha256: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FixedParameter {
    pub id: String,
    pub value: f64,
}

/// The target of `run --precision H` and what was reached. The rule: every outcome's 95%
/// interval lies within `target` of its probability on both sides.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PrecisionReport {
    pub target: f64,
    /// The largest `probability - ci95[0]` over the outcomes.
    pub below: f64,
    /// The largest `ci95[1] - probability` over the outcomes.
    pub above: f64,
    /// The outcome whose interval has the widest side.
    pub worst_outcome: String,
    /// The most runs the study could use (`--runs`, or the scenario's `runs`).
    pub ceiling: u64,
    /// Whether both sides of every interval are within the target. False when the ceiling
    /// came first.
    pub met: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutcomeSummary {
    pub id: String,
    pub label: String,
    pub count: u64,
    pub probability: f64,
    /// 95% Wilson score interval for the probability.
    pub ci95: [f64; 2],
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DecisionSummary {
    pub id: String,
    pub label: String,
    pub actor: String,
    /// Step at which the decision is scheduled, if it has a date.
    pub step: Option<u32>,
    /// Runs in which the decision was not taken (its condition never held).
    pub not_taken: u64,
    pub options: Vec<OptionSummary>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OptionSummary {
    pub id: String,
    pub count: u64,
    /// Share of all runs (not only of runs where the decision was taken).
    pub probability: f64,
    pub ci95: [f64; 2],
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventSummary {
    pub id: String,
    pub label: String,
    /// Step of a dated event; `None` for a stochastic one.
    pub step: Option<u32>,
    /// Mean number of times the event fired per run.
    pub mean_count: f64,
    /// Share of runs in which it fired at least once.
    pub share_fired: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricSummary {
    pub id: String,
    pub label: String,
    pub unit: String,
    /// Statistics of the value at the end of the run.
    pub mean: f64,
    pub sd: f64,
    pub min: f64,
    pub max: f64,
    pub p05: f64,
    pub p50: f64,
    pub p95: f64,
    /// Equal-width histogram of the end-of-run value.
    pub histogram: Histogram,
    /// Quantiles of the value at the end of each step (one entry per step).
    pub timeline: Vec<StepQuantiles>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Histogram {
    /// `counts.len() + 1` bin edges, ascending.
    pub edges: Vec<f64>,
    pub counts: Vec<u64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepQuantiles {
    pub step: u32,
    /// ISO date of the start of the step.
    pub date: String,
    pub p05: f64,
    pub p25: f64,
    pub p50: f64,
    pub p75: f64,
    pub p95: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ParameterSummary {
    pub id: String,
    pub label: String,
    pub unit: String,
    /// Human-readable distribution, e.g. `pert(0.5, 0.75, 1)`.
    pub distribution: String,
    pub rationale: String,
    pub source: String,
    /// Mean of the sampled values.
    pub mean: f64,
    /// How each outcome's probability varies across the parameter's range. Runs are binned by
    /// the parameter's quantile (deciles of its distribution); empty for fixed parameters.
    pub drivers: Vec<DriverBin>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DriverBin {
    /// Parameter values bounding the bin (its quantiles).
    pub lo: f64,
    pub hi: f64,
    pub runs: u64,
    /// Count of each outcome in this bin, in the order of `Summary::outcomes`.
    pub outcome_counts: Vec<u64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TimeAxis {
    /// ISO date of step 0.
    pub start: String,
    /// "day", "week" or "month".
    pub unit: String,
    pub steps: u32,
    /// ISO date of the start of each step, `steps + 1` entries (the last is the end).
    pub dates: Vec<String>,
}
