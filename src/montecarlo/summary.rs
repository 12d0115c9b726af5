//! The result of a Monte Carlo study, as written to `summary.json`.
//!
//! Everything a report or chart needs is here, so that `alliance-sim report DIR` can redraw
//! from the file alone. No wall-clock values: two runs with the same scenario, seed and run
//! count serialize to the same bytes.

use serde::{Deserialize, Serialize};

use crate::scenario::MAX_DECISION_TIMES;

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
    /// The `run --given` conditions and how many runs met them all; the rest of the summary
    /// counts only those runs. Absent from other studies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub given: Option<GivenInfo>,
    /// The design a `run --design` study evaluated; absent from other studies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub design: Option<DesignInfo>,
    /// What `run --replications R` adds: each outcome's probability across parameter sets,
    /// and how much of its variance the inputs make. Absent from other studies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replications: Option<ReplicationInfo>,
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
    /// Where a calibrated variant's distributions came from (its `[calibration]` table);
    /// absent for other scenarios, whose summaries keep their bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub calibration: Option<CalibrationInfo>,
    /// The rank correlations between parameters the runs were drawn with (the
    /// `[correlations]` pairs, as written); absent when the scenario has none, so that other
    /// summaries keep their bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub correlations: Option<Vec<CorrelationInfo>>,
}

/// One pair of `[correlations]`: parameters `a` and `b` have Spearman rank correlation `rank`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CorrelationInfo {
    pub a: String,
    pub b: String,
    pub rank: f64,
}

/// The conditions of `run --given` and the runs that met them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GivenInfo {
    pub conditions: Vec<GivenCondition>,
    /// Runs that met every condition (the summary's `runs`), of all runs simulated.
    pub matched: u64,
    pub of: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GivenCondition {
    /// As given: `EXPR @ DATE`.
    pub condition: String,
    pub date: String,
    /// The first day of the step the condition is read at the end of.
    pub step_starts: String,
}

/// Where a design's rows came from, and which parameters they set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DesignInfo {
    pub file: String,
    pub sha256: String,
    pub rows: u64,
    pub parameters: Vec<String>,
}

/// A study of parameter sets, each run `replications` times with its own chance draws.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReplicationInfo {
    pub replications: u64,
    pub parameter_sets: u64,
    pub outcomes: Vec<ReplicatedOutcome>,
}

/// One outcome across parameter sets. A set's share is k / R, k of its R runs ending in the
/// outcome; the percentiles are nearest-rank (the smallest share that at least that fraction
/// of the sets are at or below), so each is a share some set had.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReplicatedOutcome {
    pub id: String,
    /// The mean of the sets' shares: the outcome's probability.
    pub mean: f64,
    pub p05: f64,
    pub p50: f64,
    pub p95: f64,
    /// The variance of the outcome's probability across inputs, Var(p(θ)), estimated
    /// without bias (the one-way analysis of variance): the sets' shares' variance less what
    /// R runs of chance add to it. Can be below 0 when chance explains all the spread.
    pub input_variance: f64,
    /// The variance chance makes at fixed inputs, E[p(θ)(1 - p(θ))], estimated without bias
    /// from the sets' within-set variances.
    pub chance_variance: f64,
    /// `input_variance / (input_variance + chance_variance)`, at least 0: the share of a
    /// run's variance (outcome or not) that comes from the inputs. `None` with one set, or
    /// when the outcome never or always happened.
    pub input_share: Option<f64>,
    /// 95 % percentile-bootstrap interval of `input_share`, resampling parameter sets.
    pub input_share_ci95: Option<[f64; 2]>,
    /// The share of the spread of the sets' shares that R runs of chance alone would make:
    /// near 1, the percentiles say more about chance than about the inputs.
    pub chance_in_spread: Option<f64>,
    /// `[k, sets]`: how many parameter sets had k of their R runs end in the outcome, for
    /// each k some set had.
    pub sets_by_count: Vec<[u64; 2]>,
}

impl ReplicationInfo {
    /// Whether the table fits its study: whole sets, one row per outcome, the sets and their
    /// counts adding up, every share a share (what the charts and the table read).
    fn check(&self, summary: &Summary) -> Result<(), String> {
        let r = self.replications;
        if !(2..=crate::montecarlo::MAX_REPLICATIONS).contains(&r)
            || self.parameter_sets.checked_mul(r) != Some(summary.runs)
        {
            return Err(format!(
                "replications: {} sets of {r} runs are not the {} runs",
                self.parameter_sets, summary.runs
            ));
        }
        if self.outcomes.len() != summary.outcomes.len() {
            return Err("replications: not one row per outcome".into());
        }
        for (row, outcome) in self.outcomes.iter().zip(&summary.outcomes) {
            let what = format!("replications of outcome `{}`", row.id);
            if row.id != outcome.id {
                return Err(format!(
                    "{what}: the row stands where outcome `{}` is",
                    outcome.id
                ));
            }
            let (mut sets, mut runs, mut last) = (0u128, 0u128, None);
            for &[k, n] in &row.sets_by_count {
                if k > r || n == 0 || last.is_some_and(|l| l >= k) {
                    return Err(format!("{what}: sets_by_count has [{k}, {n}]"));
                }
                last = Some(k);
                sets += u128::from(n);
                runs += u128::from(k) * u128::from(n);
            }
            if sets != u128::from(self.parameter_sets) || runs != u128::from(outcome.count) {
                return Err(format!(
                    "{what}: sets_by_count does not add up to the sets and the outcome's runs"
                ));
            }
            for (name, v) in [
                ("mean", row.mean),
                ("p05", row.p05),
                ("p50", row.p50),
                ("p95", row.p95),
            ] {
                share(&format!("{what}: {name}"), v)?;
            }
            if !(row.p05 <= row.p50 && row.p50 <= row.p95) {
                return Err(format!("{what}: percentiles out of order"));
            }
            number(&format!("{what}: input_variance"), row.input_variance)?;
            share(&format!("{what}: chance_variance"), row.chance_variance)?;
            for v in row
                .input_share
                .iter()
                .chain(row.input_share_ci95.iter().flatten())
            {
                share(&format!("{what}: input_share"), *v)?;
            }
            if let Some(c) = row.chance_in_spread {
                number(&format!("{what}: chance_in_spread"), c)?;
            }
        }
        Ok(())
    }
}

/// The provenance `alliance-sim calibrate` writes into a calibrated variant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CalibrationInfo {
    pub method: String,
    pub cases: Vec<String>,
    pub runs: Option<u64>,
    pub seed: Option<u64>,
    pub effective_sample_size: Option<f64>,
    pub written_by: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FixedParameter {
    pub id: String,
    pub value: f64,
    /// True when `value` lies outside what the parameter's distribution can draw (its
    /// declared range): the study answers a question the scenario's author did not model.
    /// Absent when false, so summaries without such a `--set` keep their bytes.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub outside_support: bool,
    /// The range the distribution can draw, recorded beside `outside_support`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub support: Option<Support>,
}

impl FixedParameter {
    /// The entry for `--set id=value`, noting whether `value` is outside `distribution`'s
    /// support. A parameter given as a single `value` declares no range, so any value is
    /// allowed for it: holding constants at other values is what `--set` is for.
    pub fn new(
        id: String,
        value: f64,
        distribution: &crate::distribution::Distribution,
    ) -> FixedParameter {
        let support = Support::outside(value, distribution);
        FixedParameter {
            id,
            value,
            outside_support: support.is_some(),
            support,
        }
    }
}

/// The interval a parameter's distribution draws from; an end is `None` where it is unbounded
/// (JSON has no infinity).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Support {
    pub min: Option<f64>,
    pub max: Option<f64>,
}

impl Support {
    /// The support of `distribution` if `value` lies outside it (`None` when inside, or when
    /// the parameter is a declared constant).
    pub fn outside(
        value: f64,
        distribution: &crate::distribution::Distribution,
    ) -> Option<Support> {
        if matches!(distribution.spec(), crate::distribution::Spec::Fixed { .. }) {
            return None;
        }
        let (lo, hi) = distribution.support();
        (value < lo || value > hi).then(|| Support {
            min: lo.is_finite().then_some(lo),
            max: hi.is_finite().then_some(hi),
        })
    }
}

impl std::fmt::Display for Support {
    /// `[0.5, 0.9]`, `[0, inf)`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.min {
            Some(lo) => write!(f, "[{lo}, ")?,
            None => f.write_str("(-inf, ")?,
        }
        match self.max {
            Some(hi) => write!(f, "{hi}]"),
            None => f.write_str("inf)"),
        }
    }
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
    /// A fact (`fixed = "option"`), not a choice: its option's share is 1 by construction.
    #[serde(default, skip_serializing_if = "is_false")]
    pub fixed: bool,
    /// A decision taken again and again: how often, over runs. Its `options` then count the
    /// option taken last.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recurring: Option<RecurringSummary>,
    /// A timed decision (`wait`): when it was taken, over runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timing: Option<TimingSummary>,
}

/// When a timed decision was taken. Shares are of all runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TimingSummary {
    /// Its window, both ends included.
    pub from: u32,
    pub until: u32,
    pub from_date: String,
    pub until_date: String,
    /// The option waiting at the deadline takes, if any.
    pub default: Option<String>,
    /// Runs that waited at the deadline and so took the default.
    pub forced: u64,
    pub forced_share: f64,
    /// Among the runs that took it: the mean step, and the first step by which half of them
    /// had (`None` when no run took it).
    pub mean_step: Option<f64>,
    pub median_step: Option<u32>,
    pub median_date: Option<String>,
    /// Each step it was taken at in some run, in order: the runs that took each option then.
    pub steps: Vec<TimingStep>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TimingStep {
    pub step: u32,
    pub date: String,
    pub runs: u64,
    pub share: f64,
    /// Runs per option, in the decision's option order.
    pub options: Vec<u64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecurringSummary {
    /// Steps between occasions from its date; `None`: each step where its `when` holds.
    pub every: Option<u32>,
    /// The last step it may be taken at.
    pub until: u32,
    /// The most times it may be taken in a run, as the scenario bounds it and its occasions
    /// allow.
    pub most_times: u32,
    /// Times taken per run, on average.
    pub mean_times: f64,
    /// Runs by the times it was taken: entry k is the runs that took it k times.
    pub runs_by_times: Vec<u64>,
    pub options: Vec<RecurringOptionSummary>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecurringOptionSummary {
    pub id: String,
    /// Times this option was taken per run, on average.
    pub mean_times: f64,
    /// Runs that took it at least once, their share of all runs and its Wilson interval.
    pub runs_with_any: u64,
    pub share_with_any: f64,
    pub ci95: [f64; 2],
}

fn is_false(b: &bool) -> bool {
    !*b
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
    /// Statistics of the value at the end of the run. The mean is the exact mean of the
    /// values, correctly rounded.
    pub mean: f64,
    /// Sample standard deviation (divisor n - 1), from exact sums; `null` for one run.
    pub sd: Option<f64>,
    pub min: f64,
    pub max: f64,
    /// Quantiles: the order statistic of rank ceil(q n), within `quantile_error`.
    pub p05: f64,
    pub p50: f64,
    pub p95: f64,
    /// The largest possible distance between p05, p50 or p95 and the exact order statistic
    /// (0 when they are exact).
    pub quantile_error: f64,
    /// Every value was an integer (quantiles are then integers too).
    pub integer: bool,
    /// `count` or `categorical`, as the scenario declares it (`kind` of `[metrics.ID]`);
    /// absent for a continuous metric. Such a metric is read by `values` and `other`.
    #[serde(default = "continuous", skip_serializing_if = "is_continuous")]
    pub kind: String,
    /// The runs that ended at each value: a categorical metric's declared values in declared
    /// order, a count's values from the smallest to the largest seen. Empty (absent) for a
    /// continuous metric.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub values: Vec<ValueShare>,
    /// The runs that ended at a value `values` does not list (an undeclared code, or a count
    /// that is negative, fractional or at least `MAX_METRIC_VALUES`); absent when none did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub other: Option<OtherValues>,
    /// Equal-width histogram of the end-of-run value; every value counted in its own bin.
    pub histogram: Histogram,
    /// Quantiles of the value at the end of each step (one entry per step).
    pub timeline: Vec<StepQuantiles>,
    /// The largest possible error of any quantile in `timeline`.
    pub timeline_quantile_error: f64,
}

fn continuous() -> String {
    "continuous".into()
}

fn is_continuous(kind: &str) -> bool {
    kind == "continuous"
}

/// The runs at one value of a count or categorical metric.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ValueShare {
    pub value: f64,
    /// The declared label; absent when there is none.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub label: String,
    pub count: u64,
    /// `count` over all runs.
    pub share: f64,
    /// 95% Wilson score interval for the share, as for outcomes.
    pub ci95: [f64; 2],
}

/// The runs at values a count or categorical metric does not list, and the first of them (the
/// lowest run index) with its value, to replay with `explain`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OtherValues {
    pub count: u64,
    pub share: f64,
    pub ci95: [f64; 2],
    pub first_run: u64,
    pub first_value: f64,
}

impl MetricSummary {
    /// Whether the metric is read by its values (count or categorical) rather than by its
    /// mean and quantiles.
    pub fn by_value(&self) -> bool {
        !is_continuous(&self.kind)
    }

    /// A warning when runs ended at values a count or categorical metric does not list.
    pub fn other_note(&self) -> Option<String> {
        let o = self.other.as_ref()?;
        Some(format!(
            "`{}` ended at a value it does not list in {} runs (first: run {} at {}); they are counted as `other`{}",
            self.id,
            o.count,
            o.first_run,
            o.first_value,
            if self.kind == "count" {
                format!(
                    ": a count is shown value by value for 0 to {}; declare it `kind = \"continuous\"` if it goes further",
                    crate::scenario::MAX_METRIC_VALUES - 1
                )
            } else {
                String::new()
            }
        ))
    }

    /// The share of the metric's spread within which its quantiles must be known to be
    /// printed without a warning.
    pub const QUANTILE_TOLERANCE: f64 = 0.005;

    /// A warning when the quantiles are known less precisely than 0.5 % of the metric's spread
    /// (p95 - p05, or max - min when that is zero): heavy tails spanning very many orders of
    /// magnitude can defeat the sketch, and the reader should know.
    pub fn accuracy_note(&self) -> Option<String> {
        let spread = if self.p95 > self.p05 {
            self.p95 - self.p05
        } else {
            self.max - self.min
        };
        let tolerance = Self::QUANTILE_TOLERANCE * spread;
        let worst = self.quantile_error.max(self.timeline_quantile_error);
        (worst > tolerance).then(|| {
            format!(
                "quantiles of `{}` are known only to within {:.3e} (more than 0.5 % of its spread, {:.3e})",
                self.id, worst, spread
            )
        })
    }
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
    /// The runs of each outcome in this bin, keyed by outcome id (in the order of
    /// `Summary::outcomes`), with the 95% Wilson interval of its share of the bin.
    #[serde(with = "keyed_by_outcome")]
    pub outcomes: Vec<DriverCell>,
}

/// One outcome in one drivers bin.
#[derive(Debug, Clone, PartialEq)]
pub struct DriverCell {
    pub outcome: String,
    pub count: u64,
    pub ci95: [f64; 2],
}

/// Drivers cells as a JSON object `{"outcome_id": {"count": n, "ci95": [lo, hi]}}`, in order.
mod keyed_by_outcome {
    use super::DriverCell;
    use serde::de::{MapAccess, Visitor};
    use serde::ser::SerializeMap;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    #[derive(Serialize, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Cell {
        count: u64,
        ci95: [f64; 2],
    }

    pub fn serialize<S: Serializer>(cells: &[DriverCell], s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(cells.len()))?;
        for c in cells {
            map.serialize_entry(
                &c.outcome,
                &Cell {
                    count: c.count,
                    ci95: c.ci95,
                },
            )?;
        }
        map.end()
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<DriverCell>, D::Error> {
        struct Cells;
        impl<'de> Visitor<'de> for Cells {
            type Value = Vec<DriverCell>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an object of outcome ids to {count, ci95}")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut cells = Vec::new();
                while let Some((outcome, cell)) = map.next_entry::<String, Cell>()? {
                    cells.push(DriverCell {
                        outcome,
                        count: cell.count,
                        ci95: cell.ci95,
                    });
                }
                Ok(cells)
            }
        }
        d.deserialize_map(Cells)
    }
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

/// The largest magnitude a number in a summary may have. Charts subtract and pad ranges of
/// these values; beyond this the arithmetic overflows to infinity and the axes cannot be drawn.
pub const MAX_MAGNITUDE: f64 = 1e300;
/// The most histogram bins a summary may have (a study writes 30, or 1 when all values agree).
pub const MAX_HISTOGRAM_BINS: usize = 1_000;

impl Summary {
    /// Whether this is a summary a study could have written: counts that add up to the runs,
    /// shares in [0, 1], quantiles in order, tables as long as the others say, numbers the
    /// charts can scale. `report DIR` draws from a file, which may have been edited or damaged;
    /// the charts index and add by what it says, so they are given only summaries that pass.
    pub fn check(&self) -> Result<(), String> {
        let runs = self.runs;
        let limits = crate::scenario::LIMITS;
        if runs == 0 || runs > limits.runs {
            return Err(format!("runs is {runs}; a study has 1 to {}", limits.runs));
        }
        let steps = self.time_axis.steps;
        if steps == 0 || steps > limits.steps {
            return Err(format!(
                "time_axis.steps is {steps}; a study has 1 to {}",
                limits.steps
            ));
        }
        if self.time_axis.dates.len() != steps as usize + 1 {
            return Err(format!(
                "time_axis.dates has {} dates for {steps} steps (it needs steps + 1)",
                self.time_axis.dates.len()
            ));
        }
        for (what, len) in [
            ("outcomes", self.outcomes.len()),
            ("decisions", self.decisions.len()),
            ("events", self.events.len()),
            ("metrics", self.metrics.len()),
            ("parameters", self.parameters.len()),
        ] {
            if len > limits.items {
                return Err(format!(
                    "{len} {what}; a scenario has at most {}",
                    limits.items
                ));
            }
        }
        for f in &self.fixed {
            number(&format!("the --set value of `{}`", f.id), f.value)?;
        }
        for c in self.scenario.correlations.iter().flatten() {
            if c.a == c.b || !(-1.0..=1.0).contains(&c.rank) {
                return Err(format!(
                    "the correlation of `{}` and `{}` is {}; a pair is two parameters and a rank correlation lies in [-1, 1]",
                    c.a, c.b, c.rank
                ));
            }
        }
        let mut total = 0u64;
        for o in &self.outcomes {
            let what = format!("outcome `{}`", o.id);
            count_and_share(&what, o.count, o.probability, o.ci95, runs)?;
            total = total.saturating_add(o.count);
        }
        if total != runs {
            return Err(format!(
                "outcome counts add up to {total}, not the {runs} runs"
            ));
        }
        if let Some(r) = &self.replications {
            r.check(self)?;
        }
        for d in &self.decisions {
            if d.options.len() > limits.items {
                return Err(format!(
                    "decision `{}` has {} options",
                    d.id,
                    d.options.len()
                ));
            }
            let mut total = d.not_taken;
            for o in &d.options {
                let what = format!("option `{}` of decision `{}`", o.id, d.id);
                count_and_share(&what, o.count, o.probability, o.ci95, runs)?;
                total = total.saturating_add(o.count);
            }
            if let Some(r) = &d.recurring {
                let what = format!("recurring decision `{}`", d.id);
                if r.runs_by_times.len() != r.most_times as usize + 1
                    || r.runs_by_times.len() > MAX_DECISION_TIMES as usize + 1
                    || r.options.len() != d.options.len()
                {
                    return Err(format!(
                        "{what}: its tables do not fit its most times and options"
                    ));
                }
                let counted = r
                    .runs_by_times
                    .iter()
                    .try_fold(0u64, |a, &n| a.checked_add(n));
                if counted != Some(runs) || r.runs_by_times[0] != d.not_taken {
                    return Err(format!(
                        "{what}: runs by times do not add up to the {runs} runs"
                    ));
                }
                let most = f64::from(r.most_times);
                if !(r.mean_times >= 0.0 && r.mean_times <= most) {
                    return Err(format!(
                        "{what}: mean_times {} is outside 0 to {most}",
                        r.mean_times
                    ));
                }
                for o in &r.options {
                    let what = format!("option `{}` of {what}", o.id);
                    count_and_share(&what, o.runs_with_any, o.share_with_any, o.ci95, runs)?;
                    if !(o.mean_times >= o.share_with_any * (1.0 - 1e-12) && o.mean_times <= most) {
                        return Err(format!(
                            "{what}: mean_times {} does not fit share_with_any {}",
                            o.mean_times, o.share_with_any
                        ));
                    }
                }
            }
            if let Some(t) = &d.timing {
                let what = format!("timed decision `{}`", d.id);
                let in_order = t.steps.windows(2).all(|w| w[0].step < w[1].step);
                let in_window = t.steps.iter().all(|s| (t.from..=t.until).contains(&s.step));
                if t.from > t.until
                    || !in_order
                    || !in_window
                    || t.steps.iter().any(|s| s.options.len() != d.options.len())
                {
                    return Err(format!("{what}: its steps do not fit its window"));
                }
                for (k, o) in d.options.iter().enumerate() {
                    let by_steps = t
                        .steps
                        .iter()
                        .try_fold(0u64, |a, s| a.checked_add(s.options[k]));
                    if by_steps != Some(o.count) {
                        return Err(format!(
                            "{what}: option `{}` is taken {} times by step, not {}",
                            o.id,
                            by_steps.unwrap_or(u64::MAX),
                            o.count
                        ));
                    }
                }
                for step in &t.steps {
                    let what = format!("{what} at step {}", step.step);
                    share(&what, step.share)?;
                    if step.options.iter().try_fold(0u64, |a, &n| a.checked_add(n))
                        != Some(step.runs)
                    {
                        return Err(format!("{what}: its options do not add up to its runs"));
                    }
                }
                share(&format!("{what}: forced_share"), t.forced_share)?;
                let taken = runs - d.not_taken.min(runs);
                if t.forced > taken || t.median_step.is_some() != (taken > 0) {
                    return Err(format!("{what}: forced or median do not fit its runs"));
                }
            }
            if total != runs {
                return Err(format!(
                    "decision `{}`: its options and `not_taken` add up to {total}, not the {runs} runs",
                    d.id
                ));
            }
        }
        for e in &self.events {
            let what = format!("event `{}`", e.id);
            share(&format!("{what}: share_fired"), e.share_fired)?;
            if !(e.mean_count >= e.share_fired && e.mean_count <= f64::from(u32::MAX)) {
                return Err(format!(
                    "{what}: mean_count {} does not fit share_fired {}",
                    e.mean_count, e.share_fired
                ));
            }
        }
        for m in &self.metrics {
            m.check(runs, &self.time_axis)
                .map_err(|e| format!("metric `{}`: {e}", m.id))?;
        }
        for p in &self.parameters {
            p.check(&self.outcomes)
                .map_err(|e| format!("parameter `{}`: {e}", p.id))?;
        }
        Ok(())
    }
}

impl MetricSummary {
    fn check(&self, runs: u64, time: &TimeAxis) -> Result<(), String> {
        let stats = [
            ("min", self.min),
            ("p05", self.p05),
            ("p50", self.p50),
            ("p95", self.p95),
            ("max", self.max),
        ];
        let sd = self.sd.unwrap_or(0.0);
        let errors = [
            ("sd", sd),
            ("quantile_error", self.quantile_error),
            ("timeline_quantile_error", self.timeline_quantile_error),
        ];
        for (what, v) in stats.iter().chain(&[("mean", self.mean)]).chain(&errors) {
            number(what, *v)?;
        }
        in_order(&stats)?;
        // The mean is the exact mean correctly rounded: never outside the range.
        if !(self.mean >= self.min && self.mean <= self.max) {
            return Err(format!(
                "mean {} does not fit the range {} to {}",
                self.mean, self.min, self.max
            ));
        }
        if errors.iter().any(|(_, v)| *v < 0.0) || (self.sd.is_none() && runs > 1) {
            return Err("an sd or a quantile error is negative, or the sd is missing".into());
        }
        let h = &self.histogram;
        if h.counts.is_empty() || h.counts.len() > MAX_HISTOGRAM_BINS {
            return Err(format!(
                "the histogram has {} bins; it needs 1 to {MAX_HISTOGRAM_BINS}",
                h.counts.len()
            ));
        }
        if h.edges.len() != h.counts.len() + 1 {
            return Err(format!(
                "the histogram has {} edges for {} bins (it needs one more edge than bins)",
                h.edges.len(),
                h.counts.len()
            ));
        }
        for &edge in &h.edges {
            number("a histogram edge", edge)?;
        }
        if h.edges.windows(2).any(|w| w[1] < w[0]) {
            return Err("the histogram's edges are not in ascending order".into());
        }
        let held = h.counts.iter().try_fold(0u64, |a, &n| a.checked_add(n));
        if held != Some(runs) {
            return Err(format!("the histogram does not hold the {runs} runs"));
        }
        self.check_values(runs)?;
        if !self.timeline.is_empty() && self.timeline.len() != time.steps as usize {
            return Err(format!(
                "the timeline has {} steps; the time axis has {}",
                self.timeline.len(),
                time.steps
            ));
        }
        for (i, q) in self.timeline.iter().enumerate() {
            if q.step as usize != i || time.dates.get(i) != Some(&q.date) {
                return Err(format!(
                    "timeline entry {i} is step {} on {}; expected step {i} on its time axis date",
                    q.step, q.date
                ));
            }
            let quantiles = [
                ("p05", q.p05),
                ("p25", q.p25),
                ("p50", q.p50),
                ("p75", q.p75),
                ("p95", q.p95),
            ];
            for (what, v) in &quantiles {
                number(what, *v).map_err(|e| format!("timeline step {i}: {e}"))?;
            }
            in_order(&quantiles).map_err(|e| format!("timeline step {i}: {e}"))?;
        }
        Ok(())
    }
}

impl MetricSummary {
    /// The shares of a count or categorical metric: a known kind, at most `MAX_METRIC_VALUES`
    /// values, distinct and (for a count) ascending whole numbers, counts that add up to the
    /// runs with `other`.
    fn check_values(&self, runs: u64) -> Result<(), String> {
        let limit = crate::scenario::MAX_METRIC_VALUES;
        match self.kind.as_str() {
            "continuous" if self.values.is_empty() && self.other.is_none() => return Ok(()),
            "continuous" => return Err("a continuous metric has values or other".into()),
            "count" | "categorical" => {}
            other => return Err(format!("kind `{other}` is not count or categorical")),
        }
        if self.values.is_empty() || self.values.len() > limit {
            return Err(format!(
                "{} values; a {} metric has 1 to {limit}",
                self.values.len(),
                self.kind
            ));
        }
        let mut total = 0u64;
        for (i, v) in self.values.iter().enumerate() {
            number("a value", v.value)?;
            let what = format!("value {}", v.value);
            count_and_share(&what, v.count, v.share, v.ci95, runs)?;
            total = total.saturating_add(v.count);
            let repeated = self.values[..i].iter().any(|w| w.value == v.value);
            let out_of_order = self.kind == "count"
                && (v.value.fract() != 0.0
                    || v.value < 0.0
                    || v.value >= limit as f64
                    || i > 0 && self.values[i - 1].value + 1.0 != v.value);
            if repeated || out_of_order {
                return Err(format!(
                    "value {} is repeated, or is not the next whole number of a count",
                    v.value
                ));
            }
        }
        if let Some(o) = &self.other {
            count_and_share("other", o.count, o.share, o.ci95, runs)?;
            number("other's first value", o.first_value)?;
            // (`first_run` indexes the whole study, which a shard's summary does not span.)
            if o.count == 0 {
                return Err("other counts no runs".into());
            }
            total = total.saturating_add(o.count);
        }
        if total != runs {
            return Err(format!(
                "the values' counts add up to {total}, not the {runs} runs"
            ));
        }
        Ok(())
    }
}

impl ParameterSummary {
    /// Whether the drivers bins are the parameter's values (every bin a single value) rather
    /// than deciles of its distribution.
    pub fn drivers_by_value(&self) -> bool {
        !self.drivers.is_empty() && self.drivers.iter().all(|b| b.lo == b.hi)
    }

    fn check(&self, outcomes: &[OutcomeSummary]) -> Result<(), String> {
        number("mean", self.mean)?;
        if self.drivers.is_empty() {
            return Ok(());
        }
        let bins = super::DRIVER_BINS;
        let ascending_values = self.drivers_by_value()
            && self.drivers.windows(2).all(|w| w[0].lo < w[1].lo)
            && self.drivers.len() <= bins;
        if self.drivers.len() != bins && !ascending_values {
            return Err(format!(
                "{} drivers bins; a sampled parameter has {bins}, or one per value (at most {bins}, ascending)",
                self.drivers.len(),
            ));
        }
        let mut per_outcome = vec![0u64; outcomes.len()];
        for (b, bin) in self.drivers.iter().enumerate() {
            number("a drivers bin bound", bin.lo)?;
            number("a drivers bin bound", bin.hi)?;
            let keyed = bin.outcomes.len() == outcomes.len()
                && bin
                    .outcomes
                    .iter()
                    .zip(outcomes)
                    .all(|(c, o)| c.outcome == o.id);
            if bin.hi < bin.lo || !keyed {
                return Err(format!(
                    "drivers bin {b} has bounds {} to {} and outcomes that are not those of `outcomes`, in order",
                    bin.lo, bin.hi,
                ));
            }
            let mut held = 0u64;
            for (total, c) in per_outcome.iter_mut().zip(&bin.outcomes) {
                *total = total.saturating_add(c.count);
                held = held.saturating_add(c.count);
                let what = format!("drivers bin {b}, outcome `{}`", c.outcome);
                share(&format!("{what}: ci95"), c.ci95[0])?;
                share(&format!("{what}: ci95"), c.ci95[1])?;
                if c.ci95[0] > c.ci95[1] || c.count > bin.runs {
                    return Err(format!(
                        "{what}: count {} of {} runs with interval [{}, {}]",
                        c.count, bin.runs, c.ci95[0], c.ci95[1]
                    ));
                }
            }
            if held != bin.runs {
                return Err(format!(
                    "drivers bin {b} has {} runs but its outcome counts add up to {held}",
                    bin.runs
                ));
            }
        }
        let fits = per_outcome.iter().zip(outcomes).all(|(&n, o)| n == o.count);
        if !fits {
            return Err("the drivers bins do not add up to the outcome counts".into());
        }
        Ok(())
    }
}

/// A finite number small enough for the charts' arithmetic.
fn number(what: &str, v: f64) -> Result<(), String> {
    if v.is_finite() && v.abs() <= MAX_MAGNITUDE {
        Ok(())
    } else {
        Err(format!(
            "{what} is {v:e}; numbers in a summary lie within ±{MAX_MAGNITUDE:e}"
        ))
    }
}

fn share(what: &str, p: f64) -> Result<(), String> {
    if (0.0..=1.0).contains(&p) {
        Ok(())
    } else {
        Err(format!("{what} is {p}; a share lies in [0, 1]"))
    }
}

/// A count of the runs, its share and its 95% interval.
fn count_and_share(
    what: &str,
    count: u64,
    probability: f64,
    ci95: [f64; 2],
    runs: u64,
) -> Result<(), String> {
    share(&format!("{what}: probability"), probability)?;
    share(&format!("{what}: ci95"), ci95[0])?;
    share(&format!("{what}: ci95"), ci95[1])?;
    if count > runs || ci95[0] > ci95[1] {
        return Err(format!(
            "{what}: count {count} of {runs} runs with interval [{}, {}]",
            ci95[0], ci95[1]
        ));
    }
    // The probability is the count over the runs, as the study divided it.
    if (probability - count as f64 / runs as f64).abs() > 1e-9 {
        return Err(format!(
            "{what}: probability {probability} is not its count {count} over the {runs} runs"
        ));
    }
    Ok(())
}

fn in_order(values: &[(&str, f64)]) -> Result<(), String> {
    for pair in values.windows(2) {
        let ((a, x), (b, y)) = (pair[0], pair[1]);
        if y < x {
            return Err(format!("{b} {y} is below {a} {x}"));
        }
    }
    Ok(())
}
