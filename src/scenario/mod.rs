//! Reading scenarios: TOML text in, a validated [`Scenario`] with source spans out.
//!
//! This stage knows the file format and nothing of how a scenario runs. It follows `extends`
//! chains, merges the files, checks every key and value, and keeps the span of everything that
//! a later stage might need to point at (expressions above all).

mod decode;
mod tree;

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::diagnostic::{Diagnostic, Diagnostics, SourceMap, Span};
use crate::distribution::Distribution;

pub use decode::{Limits, LIMITS};

/// The scenario that ships inside the binary: Seoul, Tokyo and Washington in 2019.
pub const DEFAULT_SCENARIO: &str = include_str!("../../scenarios/gsomia_2019.toml");
/// The name the embedded default scenario reports as its file.
pub const DEFAULT_SCENARIO_NAME: &str = "gsomia_2019.toml";

/// A validated scenario. Ids are unique within their namespace and every expression is still
/// text: the model stage compiles them.
#[derive(Debug, Clone)]
pub struct Scenario {
    pub sources: SourceMap,
    /// The file it was read from, as given (`gsomia_2019.toml` for the embedded default).
    pub file: String,
    /// The file stem, used to name the output folder.
    pub stem: String,
    /// SHA-256 of the merged scenario (after `extends`), hex.
    pub sha256: String,
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
    /// Present in backtest cases only: what really happened, for `alliance-sim backtest`.
    pub backtest: Option<Backtest>,
    /// Present in a variant written by `alliance-sim calibrate`: where its distributions came
    /// from.
    pub calibration: Option<Calibration>,
    /// Rank correlations between uncertain parameters (the `[correlations]` table); `None`
    /// when the table is absent or lists no pair.
    pub correlations: Option<Correlations>,
    /// Expressions read from the state at a date (`EXPR @ DATE`), added after loading: the
    /// conditions of `run --given` and the signs `signposts` and `discover --when` watch. Not
    /// part of the scenario's hash.
    pub probes: Vec<Probe>,
    /// Events and decisions with `enabled = false`: left out of the model, but kept so that an
    /// expression still reading one can be told so, rather than of an unknown name.
    pub switched_off: Vec<SwitchedOff>,
}

/// An item a scenario switched off with `enabled = false`.
#[derive(Debug, Clone)]
pub struct SwitchedOff {
    /// "event" or "decision".
    pub kind: &'static str,
    pub id: String,
    /// Where `enabled = false` is written (in a variant, the line that switched it off).
    pub at: Span,
}

/// An expression read from the state at the end of the step holding `date`.
#[derive(Debug, Clone)]
pub struct Probe {
    /// The text as given, `EXPR @ DATE`.
    pub text: String,
    /// The expression, in a source file of its own (named after the flag) for located errors.
    pub expr: ExprSource,
    pub date: chrono::NaiveDate,
    pub step: u32,
    pub role: ProbeRole,
}

/// What a probe is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProbeRole {
    /// A `run --given` condition: a study counts only the runs where every one holds.
    Given,
    /// A sign to record, run by run, without filtering (a number or a condition).
    Watch,
    /// A condition to record, run by run, without filtering (`discover --when`).
    Condition,
}

impl Scenario {
    /// Adds `run --given "EXPR @ DATE"`: EXPR is any condition of the scenario's language, read
    /// at the end of the step that holds DATE. A malformed flag is an error pointing into its
    /// text, like an error in the file.
    pub fn add_given(&mut self, flag: &str) -> Result<(), Diagnostics> {
        let n = self.probes.len() + 1;
        self.add_probe(flag, &format!("--given {n}"), ProbeRole::Given)
            .map(|_| ())
    }

    /// Adds a probe `EXPR @ DATE` read from a source named `source` (the flag it came from);
    /// returns its index among the probes. Errors point into `text` as [`Scenario::add_given`]'s
    /// do.
    pub fn add_probe(
        &mut self,
        flag: &str,
        source: &str,
        role: ProbeRole,
    ) -> Result<usize, Diagnostics> {
        let file = self.sources.add(source.to_string(), flag.to_string());
        let fail = |sources: &SourceMap, d: Diagnostic| Diagnostics {
            sources: sources.clone(),
            items: vec![d],
        };
        let Some((expr, date_text)) = flag.rsplit_once('@') else {
            return Err(fail(
                &self.sources,
                Diagnostic::new(
                    match role {
                        ProbeRole::Given => "a --given condition is `EXPR @ DATE`".to_string(),
                        ProbeRole::Watch | ProbeRole::Condition => {
                            format!("{source} is `EXPR @ DATE`")
                        }
                    },
                    Span::new(file, 0..flag.len()),
                )
                .with_hint("for example `pyongyang.tests >= 3 @ 2019-10-01`"),
            ));
        };
        let date_at = expr.len() + 1;
        let lead = date_text.len() - date_text.trim_start().len();
        let date_span = Span::new(
            file,
            date_at + lead..date_at + lead + date_text.trim().len().max(1),
        );
        let date =
            chrono::NaiveDate::parse_from_str(date_text.trim(), "%Y-%m-%d").map_err(|_| {
                fail(
                    &self.sources,
                    Diagnostic::new(format!("`{}` is not a date", date_text.trim()), date_span)
                        .with_hint("write the date as YYYY-MM-DD"),
                )
            })?;
        let Some(step) = self.time.step_of(date) else {
            return Err(fail(
                &self.sources,
                Diagnostic::new(
                    format!(
                        "{date} is outside the scenario's time axis, {} to {}",
                        self.time.start,
                        self.time
                            .date_of(self.time.steps)
                            .pred_opt()
                            .unwrap_or(self.time.start)
                    ),
                    date_span,
                )
                .with_hint("a condition is read at the end of the step that holds its date"),
            ));
        };
        if expr.trim().is_empty() {
            return Err(fail(
                &self.sources,
                Diagnostic::new(
                    "the condition before `@` is empty".to_string(),
                    Span::new(file, 0..date_at),
                ),
            ));
        }
        self.probes.push(Probe {
            text: flag.to_string(),
            expr: ExprSource {
                text: expr.to_string(),
                span: Span::new(file, 0..expr.len()),
                text_offset: Some(0),
            },
            date,
            step,
            role,
        });
        Ok(self.probes.len() - 1)
    }
}

/// The `[calibration]` table of a calibrated variant: provenance only, never read by the
/// engine.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Calibration {
    pub method: String,
    /// The cases the parameters were fitted to.
    pub cases: Vec<String>,
    pub runs: Option<u64>,
    pub seed: Option<u64>,
    pub effective_sample_size: Option<f64>,
    pub written_by: String,
}

/// The `[correlations]` table: Spearman rank correlations between uncertain parameters,
/// checked to be consistent (their Pearson matrix positive semi-definite) at load time.
#[derive(Debug, Clone)]
pub struct Correlations {
    /// In the order written; no parameter twice in one pair, no pair twice (in either order),
    /// every parameter uncertain, every rank in [-1, 1].
    pub pairs: Vec<CorrelationPair>,
    /// Where the table is written.
    pub span: Span,
}

/// One pair of `[correlations]`: `{ a = "x", b = "y", rank = 0.6 }`.
#[derive(Debug, Clone)]
pub struct CorrelationPair {
    pub a: Ident,
    pub b: Ident,
    pub rank: f64,
    /// Why the two move together, and what says so (optional, as for a parameter).
    pub rationale: String,
    pub source: String,
    /// The pair as written.
    pub span: Span,
}

/// The `[backtest]` table of a backtest case: the decision it scores and what really happened.
/// The engine ignores it; `analysis::backtest` reads it.
#[derive(Debug, Clone)]
pub struct Backtest {
    /// The decision whose options are scored; `None` scores the run's outcome instead.
    pub decision: Option<Ident>,
    /// The option (or outcome) that really happened.
    pub observed: Ident,
    /// The option (or outcome) that leaves things as they were, for the naive baseline.
    pub status_quo: Option<Ident>,
    /// The date of the real decision.
    pub date: chrono::NaiveDate,
    pub description: String,
    pub source: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepUnit {
    Day,
    Week,
    Month,
}

impl StepUnit {
    pub fn name(self) -> &'static str {
        match self {
            StepUnit::Day => "day",
            StepUnit::Week => "week",
            StepUnit::Month => "month",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeAxis {
    pub start: chrono::NaiveDate,
    pub unit: StepUnit,
    pub steps: u32,
}

impl TimeAxis {
    /// The first day of step `step` (`step == steps` gives the end of the axis).
    pub fn date_of(&self, step: u32) -> chrono::NaiveDate {
        use chrono::{Days, Months};
        let next = match self.unit {
            StepUnit::Day => self.start.checked_add_days(Days::new(step as u64)),
            StepUnit::Week => self.start.checked_add_days(Days::new(7 * step as u64)),
            StepUnit::Month => self.start.checked_add_months(Months::new(step)),
        };
        next.unwrap_or(chrono::NaiveDate::MAX)
    }

    /// The step that contains `date`, if the date falls on the axis.
    pub fn step_of(&self, date: chrono::NaiveDate) -> Option<u32> {
        if date < self.start {
            return None;
        }
        // Steps are short and few (<= the step limit), so a search is clear and cheap enough.
        let mut lo = 0u32;
        let mut hi = self.steps;
        if date >= self.date_of(hi) {
            return None;
        }
        while hi - lo > 1 {
            let mid = lo + (hi - lo) / 2;
            if self.date_of(mid) <= date {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        Some(lo)
    }
}

/// An id as written, with where it was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ident {
    pub name: String,
    pub span: Span,
}

/// Expression source text. `span` covers the TOML value; `text_offset` is where the
/// expression's first character sits inside it (1 for a plain quoted string). When the string
/// used escapes, positions inside it cannot be mapped and errors point at the whole value.
#[derive(Debug, Clone, PartialEq)]
pub struct ExprSource {
    pub text: String,
    pub span: Span,
    pub text_offset: Option<u32>,
}

impl ExprSource {
    /// The span of bytes `range` of the expression text.
    pub fn span_of(&self, range: std::ops::Range<usize>) -> Span {
        match self.text_offset {
            Some(offset) => self.span.sub(
                offset as usize + range.start,
                range.end.saturating_sub(range.start),
            ),
            None => self.span,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Documentation {
    pub label: String,
    pub unit: String,
    pub rationale: String,
    pub source: String,
}

#[derive(Debug, Clone)]
pub struct Parameter {
    pub id: Ident,
    pub doc: Documentation,
    pub distribution: Distribution,
    /// `calibrate = true`: `alliance-sim calibrate` fits it to the backtest cases.
    pub calibrate: bool,
}

#[derive(Debug, Clone)]
pub struct Actor {
    pub id: Ident,
    pub label: String,
    pub vars: Vec<Var>,
}

#[derive(Debug, Clone)]
pub struct Var {
    pub id: Ident,
    pub doc: Documentation,
    pub init: ExprSource,
    pub min: f64,
    pub max: f64,
}

#[derive(Debug, Clone)]
pub struct Derived {
    pub id: Ident,
    pub expr: ExprSource,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EffectOp {
    Set,
    Add,
    Multiply,
}

#[derive(Debug, Clone)]
pub struct Effect {
    /// `actor.var` as written.
    pub var: Ident,
    pub op: EffectOp,
    pub expr: ExprSource,
}

#[derive(Debug, Clone)]
pub enum Trigger {
    /// Fires once, at this step.
    At(u32),
    /// May fire at each step in `from..=until` with this probability.
    Chance {
        probability: ExprSource,
        from: u32,
        until: u32,
    },
}

#[derive(Debug, Clone)]
pub struct Event {
    pub id: Ident,
    pub doc: Documentation,
    pub trigger: Trigger,
    pub when: Option<ExprSource>,
    pub effects: Vec<Effect>,
}

#[derive(Debug, Clone)]
pub struct Rule {
    pub id: Ident,
    pub doc: Documentation,
    pub when: Option<ExprSource>,
    pub effects: Vec<Effect>,
}

#[derive(Debug, Clone)]
pub enum Choice {
    Logit { temperature: ExprSource },
    Argmax,
}

#[derive(Debug, Clone)]
pub struct DecisionOption {
    pub id: Ident,
    pub label: String,
    pub utility: ExprSource,
    pub effects: Vec<Effect>,
}

#[derive(Debug, Clone)]
pub struct Decision {
    pub id: Ident,
    pub doc: Documentation,
    pub actor: Ident,
    /// Scheduled step; `None` means "the first step at which `when` holds".
    pub at: Option<u32>,
    pub when: Option<ExprSource>,
    pub choice: Choice,
    pub options: Vec<DecisionOption>,
    /// `fixed = "option"`: a fact, not a choice. The decision is taken at its date in every run
    /// with this option (an index into `options`); its `when`, utilities and choice are not
    /// consulted, and no random number is drawn.
    pub fixed: Option<Fixed>,
    /// `every`, `until`, `times`: a decision taken again and again; `None`: at most once.
    pub recur: Option<Recurrence>,
    /// `wait`, `from`, `until`, `default`: a decision open over a window, where the actor may
    /// also wait; `None`: due at its date or when its condition holds.
    pub timing: Option<Timing>,
}

/// A timed decision: open from step `from` to step `until` (both included) while not taken and
/// its `when` holds; at each such step the actor chooses between its options and waiting (the
/// utility `wait`). The first option taken closes it. Waiting at `until` takes `default` when
/// there is one, and otherwise leaves the decision not taken.
#[derive(Debug, Clone)]
pub struct Timing {
    pub from: u32,
    pub until: u32,
    pub wait: ExprSource,
    /// An index into the decision's options.
    pub default: Option<usize>,
}

/// A recurring decision: due at `at`, `at + every`, ... (with a date), or at each step where
/// its `when` holds (without one), up to step `until`, at most `times` times.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recurrence {
    pub every: Option<u32>,
    pub until: u32,
    pub times: u32,
}

/// The most times a recurring decision may be taken in a run: each time is a row of its
/// table of runs by count.
pub const MAX_DECISION_TIMES: u32 = 10_000;

/// A decision recorded as a fact (`fixed = "option"`).
#[derive(Debug, Clone)]
pub struct Fixed {
    pub option: usize,
    /// Where `fixed` is written (in a variant, the line that fixed it).
    pub span: Span,
}

#[derive(Debug, Clone)]
pub struct Outcome {
    pub id: Ident,
    pub label: String,
    pub description: String,
    /// `None` only for the last outcome, which takes every remaining run.
    pub when: Option<ExprSource>,
}

#[derive(Debug, Clone)]
pub struct Metric {
    pub id: Ident,
    pub doc: Documentation,
    pub expr: ExprSource,
    pub kind: MetricKind,
}

/// The most values a categorical metric may declare, and the largest count a count metric
/// shows value by value (0 to this minus one): each value is a row of the table and a bar of
/// the chart.
pub const MAX_METRIC_VALUES: usize = 50;

/// How a metric's end-of-run value is summarised.
#[derive(Debug, Clone, PartialEq)]
pub enum MetricKind {
    /// Mean, sd, quantiles and a histogram.
    Continuous,
    /// A whole number of things (0, 1, 2, ...): the share of runs at each value.
    Count,
    /// A code such as a status: the share of runs at each declared value, in declared order.
    Categorical {
        values: Vec<f64>,
        /// One per value; empty strings where none was given.
        labels: Vec<String>,
    },
}

/// Reads a scenario file, following `extends`.
pub fn load(path: &Path) -> Result<Scenario, Diagnostics> {
    let mut loader = Loader::default();
    let name = path.display().to_string();
    let text = match read_scenario_file(path) {
        Ok(text) => text,
        Err(e) => {
            let diagnostic = loader.read_error(name, e, None);
            return Err(loader.fail(diagnostic));
        }
    };
    loader.load(name, text, Some(path.to_path_buf()))
}

/// Reads a scenario from text. `extends` paths resolve against `base_dir` (or the current
/// folder when `None`).
pub fn load_str(name: &str, text: &str, base_dir: Option<&Path>) -> Result<Scenario, Diagnostics> {
    let pseudo_path = base_dir.map(|dir| dir.join(name));
    Loader::default().load(name.to_string(), text.to_string(), pseudo_path)
}

/// The embedded default scenario.
pub fn load_default() -> Result<Scenario, Diagnostics> {
    load_str(DEFAULT_SCENARIO_NAME, DEFAULT_SCENARIO, None)
}

/// The scenario files that go with the binary, by their path under `scenarios/`: the default
/// scenario and the backtest cases, which extend it. A shipped file's `extends` resolves among
/// these, so that `backtest` with no folder works from any directory.
pub const SHIPPED: &[(&str, &str)] = &[
    (DEFAULT_SCENARIO_NAME, DEFAULT_SCENARIO),
    (
        "thaad_2016.toml",
        include_str!("../../scenarios/thaad_2016.toml"),
    ),
    (
        "history/2019-08-22_seoul_notice.toml",
        include_str!("../../scenarios/history/2019-08-22_seoul_notice.toml"),
    ),
    (
        "history/2019-11-22_seoul_deadline.toml",
        include_str!("../../scenarios/history/2019-11-22_seoul_deadline.toml"),
    ),
    (
        "history/2019-11-22_tokyo_controls.toml",
        include_str!("../../scenarios/history/2019-11-22_tokyo_controls.toml"),
    ),
    (
        "history/2019-12-16_tokyo_keeps_controls.toml",
        include_str!("../../scenarios/history/2019-12-16_tokyo_keeps_controls.toml"),
    ),
    (
        "history/2020-05-31_tokyo_keeps_controls.toml",
        include_str!("../../scenarios/history/2020-05-31_tokyo_keeps_controls.toml"),
    ),
    (
        "history/2020-07-01_tokyo_keeps_controls.toml",
        include_str!("../../scenarios/history/2020-07-01_tokyo_keeps_controls.toml"),
    ),
    (
        "history/2020-08-24_seoul_no_new_notice.toml",
        include_str!("../../scenarios/history/2020-08-24_seoul_no_new_notice.toml"),
    ),
    (
        "history/2021-07-01_tokyo_keeps_controls.toml",
        include_str!("../../scenarios/history/2021-07-01_tokyo_keeps_controls.toml"),
    ),
    (
        "history/2021-08-24_seoul_no_new_notice.toml",
        include_str!("../../scenarios/history/2021-08-24_seoul_no_new_notice.toml"),
    ),
    (
        "history/2022-07-01_tokyo_keeps_controls.toml",
        include_str!("../../scenarios/history/2022-07-01_tokyo_keeps_controls.toml"),
    ),
    (
        "history/2022-08-24_seoul_no_new_notice.toml",
        include_str!("../../scenarios/history/2022-08-24_seoul_no_new_notice.toml"),
    ),
    (
        "history/2023-03-16_tokyo_eases_controls.toml",
        include_str!("../../scenarios/history/2023-03-16_tokyo_eases_controls.toml"),
    ),
    (
        "history/2023-03-21_seoul_normalises.toml",
        include_str!("../../scenarios/history/2023-03-21_seoul_normalises.toml"),
    ),
    (
        "history/thaad/2016-02-07_seoul_formal_talks.toml",
        include_str!("../../scenarios/history/thaad/2016-02-07_seoul_formal_talks.toml"),
    ),
    (
        "history/thaad/2016-07-08_seoul_deployment.toml",
        include_str!("../../scenarios/history/thaad/2016-07-08_seoul_deployment.toml"),
    ),
    (
        "history/thaad/2017-03-02_beijing_tour_ban.toml",
        include_str!("../../scenarios/history/thaad/2017-03-02_beijing_tour_ban.toml"),
    ),
    (
        "history/thaad/2017-03-06_seoul_early_delivery.toml",
        include_str!("../../scenarios/history/thaad/2017-03-06_seoul_early_delivery.toml"),
    ),
    (
        "history/thaad/2017-05-10_seoul_moon_keeps.toml",
        include_str!("../../scenarios/history/thaad/2017-05-10_seoul_moon_keeps.toml"),
    ),
    (
        "history/thaad/2017-05-15_beijing_keeps_measures.toml",
        include_str!("../../scenarios/history/thaad/2017-05-15_beijing_keeps_measures.toml"),
    ),
    (
        "history/thaad/2017-06-07_seoul_suspends.toml",
        include_str!("../../scenarios/history/thaad/2017-06-07_seoul_suspends.toml"),
    ),
    (
        "history/thaad/2017-06-15_beijing_keeps_measures.toml",
        include_str!("../../scenarios/history/thaad/2017-06-15_beijing_keeps_measures.toml"),
    ),
    (
        "history/thaad/2017-07-04_seoul_waits_after_first_icbm.toml",
        include_str!("../../scenarios/history/thaad/2017-07-04_seoul_waits_after_first_icbm.toml"),
    ),
    (
        "history/thaad/2017-07-15_beijing_keeps_measures.toml",
        include_str!("../../scenarios/history/thaad/2017-07-15_beijing_keeps_measures.toml"),
    ),
    (
        "history/thaad/2017-07-29_seoul_orders_launchers.toml",
        include_str!("../../scenarios/history/thaad/2017-07-29_seoul_orders_launchers.toml"),
    ),
    (
        "history/thaad/2017-08-15_beijing_keeps_measures.toml",
        include_str!("../../scenarios/history/thaad/2017-08-15_beijing_keeps_measures.toml"),
    ),
    (
        "history/thaad/2017-09-07_seoul_completes_battery.toml",
        include_str!("../../scenarios/history/thaad/2017-09-07_seoul_completes_battery.toml"),
    ),
    (
        "history/thaad/2017-09-15_beijing_keeps_measures.toml",
        include_str!("../../scenarios/history/thaad/2017-09-15_beijing_keeps_measures.toml"),
    ),
    (
        "history/thaad/2017-10-15_beijing_keeps_measures.toml",
        include_str!("../../scenarios/history/thaad/2017-10-15_beijing_keeps_measures.toml"),
    ),
    (
        "history/thaad/2017-10-30_seoul_three_nos.toml",
        include_str!("../../scenarios/history/thaad/2017-10-30_seoul_three_nos.toml"),
    ),
    (
        "history/thaad/2017-10-31_beijing_normalises.toml",
        include_str!("../../scenarios/history/thaad/2017-10-31_beijing_normalises.toml"),
    ),
    (
        "history/thaad/2017-11-28_beijing_eases_in_part.toml",
        include_str!("../../scenarios/history/thaad/2017-11-28_beijing_eases_in_part.toml"),
    ),
    (
        "history/thaad/2018-10-30_seoul_no_added_battery.toml",
        include_str!("../../scenarios/history/thaad/2018-10-30_seoul_no_added_battery.toml"),
    ),
    (
        "history/thaad/2019-10-30_seoul_no_added_battery.toml",
        include_str!("../../scenarios/history/thaad/2019-10-30_seoul_no_added_battery.toml"),
    ),
    (
        "history/thaad/2020-10-30_seoul_no_added_battery.toml",
        include_str!("../../scenarios/history/thaad/2020-10-30_seoul_no_added_battery.toml"),
    ),
    (
        "history/thaad/2021-10-30_seoul_no_added_battery.toml",
        include_str!("../../scenarios/history/thaad/2021-10-30_seoul_no_added_battery.toml"),
    ),
];

/// The folder of [`SHIPPED`] that holds the backtest cases.
pub const SHIPPED_HISTORY: &str = "history";

/// Reads a shipped scenario (a name of [`SHIPPED`]), following `extends` among the shipped
/// files only: the files on disk, wherever the binary runs, play no part.
pub fn load_shipped(name: &str) -> Result<Scenario, Diagnostics> {
    let loader = Loader {
        shipped: true,
        ..Loader::default()
    };
    match shipped_text(Path::new(name)) {
        Some(text) => loader.load(
            name.to_string(),
            text.to_string(),
            Some(PathBuf::from(name)),
        ),
        None => Err(loader.fail(Diagnostic::unlocated(format!(
            "no shipped scenario is named `{name}`"
        )))),
    }
}

/// The text of a shipped file, by a path relative to `scenarios/` (`..` and `.` allowed).
pub fn shipped_file(path: &Path) -> Option<&'static str> {
    shipped_text(path)
}

/// The text of a shipped file, by a path relative to `scenarios/` (`..` and `.` allowed).
fn shipped_text(path: &Path) -> Option<&'static str> {
    let mut parts: Vec<&str> = Vec::new();
    for part in path.components() {
        match part {
            std::path::Component::Normal(p) => parts.push(p.to_str()?),
            std::path::Component::ParentDir => {
                parts.pop()?;
            }
            std::path::Component::CurDir => {}
            _ => return None,
        }
    }
    let key = parts.join("/");
    SHIPPED.iter().find(|(n, _)| *n == key).map(|(_, t)| *t)
}

/// Why a scenario file gave no text.
#[derive(Debug)]
enum ReadError {
    /// Missing, a folder or unreadable: there is nothing in it to point at.
    Unreadable(String),
    /// Longer than the size limit (or endless, as a device can be).
    TooLarge(String),
    /// Not UTF-8: the text with the bad bytes replaced, and the offset of the first of them.
    NotUtf8 { text: String, at: usize },
}

/// Reads a scenario file of at most `LIMITS.file_bytes`. The limit is applied by reading at
/// most one byte more than it, not by trusting the file's size: a pipe (`run <(cat f.toml)`)
/// has no size, and a device such as `/dev/zero` has none either but never ends.
fn read_scenario_file(path: &Path) -> Result<String, ReadError> {
    use std::io::Read as _;
    let unreadable = |e: std::io::Error| {
        ReadError::Unreadable(format!("cannot read scenario `{}`: {e}", path.display()))
    };
    let meta = std::fs::metadata(path).map_err(unreadable)?;
    if meta.is_dir() {
        return Err(ReadError::Unreadable(format!(
            "`{}` is a folder; give a scenario file (.toml)",
            path.display()
        )));
    }
    let too_large = |size: String| {
        ReadError::TooLarge(format!(
            "`{}` is {size} bytes; scenario files are limited to {} bytes",
            path.display(),
            LIMITS.file_bytes
        ))
    };
    if meta.is_file() && meta.len() > LIMITS.file_bytes {
        return Err(too_large(meta.len().to_string()));
    }
    let file = std::fs::File::open(path).map_err(unreadable)?;
    let mut bytes = Vec::new();
    file.take(LIMITS.file_bytes + 1)
        .read_to_end(&mut bytes)
        .map_err(unreadable)?;
    if bytes.len() as u64 > LIMITS.file_bytes {
        return Err(too_large(format!("more than {}", LIMITS.file_bytes)));
    }
    String::from_utf8(bytes).map_err(|e| ReadError::NotUtf8 {
        at: e.utf8_error().valid_up_to(),
        text: String::from_utf8_lossy(e.as_bytes()).into_owned(),
    })
}

#[derive(Default)]
struct Loader {
    sources: SourceMap,
    /// `extends` resolves among [`SHIPPED`], not on disk.
    shipped: bool,
}

impl Loader {
    fn fail(self, diagnostic: Diagnostic) -> Diagnostics {
        Diagnostics {
            sources: self.sources,
            items: vec![diagnostic],
        }
    }

    /// The diagnostic for a file that could not be read. A file that is not UTF-8 is shown with
    /// its bad bytes replaced, pointing at the first; `extends_span` is where a base was named.
    fn read_error(&mut self, name: String, e: ReadError, extends_span: Option<Span>) -> Diagnostic {
        match (e, extends_span) {
            (ReadError::NotUtf8 { text, at }, _) => {
                let message = format!("`{name}` is not UTF-8 text");
                let file = self.sources.add(name, text);
                // The first bad byte (or run of bytes) became one U+FFFD, 3 bytes long.
                Diagnostic::new(message, Span::new(file, at..at + 3))
                    .with_hint("this byte is not valid UTF-8; save the file as UTF-8")
            }
            (ReadError::Unreadable(message), Some(span)) => Diagnostic::new(message, span)
                .with_hint("`extends` paths are relative to the file that contains them"),
            (ReadError::Unreadable(message), None) => Diagnostic::unlocated(message),
            (ReadError::TooLarge(message), Some(span)) => Diagnostic::new(message, span).with_hint(
                "`extends` must name a scenario file (TOML text), not a device or a data file",
            ),
            (ReadError::TooLarge(message), None) => Diagnostic::unlocated(message),
        }
    }

    fn load(
        mut self,
        name: String,
        text: String,
        path: Option<PathBuf>,
    ) -> Result<Scenario, Diagnostics> {
        let stem = Path::new(&name)
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "scenario".into());
        let merged = match self.resolve_extends(name.clone(), text, path, &mut Vec::new(), 1) {
            Ok(tree) => tree,
            Err(d) => return Err(self.fail(d)),
        };
        let sha256 = hex(&Sha256::digest(tree::canonical(&merged).as_bytes()));
        let mut items = Vec::new();
        let decoded = decode::decode(&merged, &mut items);
        match decoded {
            Some(parts) if items.is_empty() => Ok(Scenario {
                sources: self.sources,
                file: name,
                stem,
                sha256,
                name: parts.name,
                description: parts.description,
                time: parts.time,
                runs: parts.runs,
                seed: parts.seed,
                parameters: parts.parameters,
                actors: parts.actors,
                derived: parts.derived,
                events: parts.events,
                rules: parts.rules,
                decisions: parts.decisions,
                outcomes: parts.outcomes,
                metrics: parts.metrics,
                backtest: parts.backtest,
                calibration: parts.calibration,
                correlations: parts.correlations,
                probes: Vec::new(),
                switched_off: parts.switched_off,
            }),
            _ => Err(Diagnostics {
                sources: self.sources,
                items,
            }),
        }
    }

    /// Parses `text` and, if it `extends` a base, merges it over the base's resolved tree.
    /// `files` counts the files of the chain so far, this one included: the limit is on files,
    /// as the docs state it, whatever `chain` (kept for finding loops) holds.
    fn resolve_extends(
        &mut self,
        name: String,
        text: String,
        path: Option<PathBuf>,
        chain: &mut Vec<PathBuf>,
        files: usize,
    ) -> Result<tree::Table, Diagnostic> {
        let file = self.sources.add(name, text);
        let mut table = tree::parse(&self.sources.file(file).text, file)?;
        let Some(entry) = table.entries.shift_remove("extends") else {
            return Ok(table);
        };
        let tree::Kind::String(base_name) = &entry.value.kind else {
            return Err(Diagnostic::new(
                format!(
                    "`extends` must be a string (a path to the base scenario), found {}",
                    entry.value.type_name()
                ),
                entry.value.span,
            ));
        };
        if files >= LIMITS.extends_depth {
            return Err(Diagnostic::new(
                format!(
                    "`extends` chain is deeper than {} files",
                    LIMITS.extends_depth
                ),
                entry.value.span,
            ));
        }
        let dir = path
            .as_deref()
            .and_then(Path::parent)
            .map(Path::to_path_buf)
            .unwrap_or_default();
        let base_path = dir.join(base_name);
        let (canonical, this_canonical) = if self.shipped {
            (base_path.clone(), path.clone())
        } else {
            (
                std::fs::canonicalize(&base_path).unwrap_or_else(|_| base_path.clone()),
                path.as_deref().and_then(|p| std::fs::canonicalize(p).ok()),
            )
        };
        if chain.contains(&canonical) || this_canonical.as_ref() == Some(&canonical) {
            return Err(Diagnostic::new(
                format!(
                    "`extends` forms a loop: `{}` is already being read",
                    base_path.display()
                ),
                entry.value.span,
            )
            .with_hint("a variant must extend a base that does not extend it back"));
        }
        let base_text = if self.shipped {
            shipped_text(&base_path).map(str::to_string).ok_or_else(|| {
                ReadError::Unreadable(format!(
                    "no shipped scenario is named `{}`",
                    base_path.display()
                ))
            })
        } else {
            read_scenario_file(&base_path)
        };
        let base_text = match base_text {
            Ok(text) => text,
            Err(e) => {
                let name = base_path.display().to_string();
                return Err(self.read_error(name, e, Some(entry.value.span)));
            }
        };
        if let Some(p) = this_canonical {
            chain.push(p);
        }
        chain.push(canonical);
        let mut base = self.resolve_extends(
            base_path.display().to_string(),
            base_text,
            Some(base_path),
            chain,
            files + 1,
        )?;
        tree::merge(&mut base, table);
        Ok(base)
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_that_is_not_utf8_points_at_the_first_bad_byte() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("latin1.toml");
        std::fs::write(&path, b"[scenario]\nname = \"S\xe9oul\"\n").expect("write");
        let d = load(&path).expect_err("not UTF-8");
        assert_eq!(d.items.len(), 1);
        let item = &d.items[0];
        assert!(
            item.message.contains("is not UTF-8 text"),
            "{}",
            item.message
        );
        let span = item.span.expect("located");
        assert_eq!(d.sources.line_col(span.file, span.start), (2, 10));
    }

    #[test]
    fn shipped_files_extend_only_shipped_files() {
        assert!(shipped_text(Path::new("history/../gsomia_2019.toml")).is_some());
        assert!(shipped_text(Path::new("./history/2019-08-22_seoul_notice.toml")).is_some());
        // A path that climbs out of the shipped set, or starts from the root, names nothing.
        assert!(shipped_text(Path::new("../gsomia_2019.toml")).is_none());
        assert!(shipped_text(Path::new("/etc/passwd")).is_none());
        let case = load_shipped("history/2023-03-21_seoul_normalises.toml").expect("loads");
        let on_disk = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("scenarios/history/2023-03-21_seoul_normalises.toml");
        assert_eq!(case.sha256, load(&on_disk).expect("loads").sha256);
        let missing = load_shipped("history/nope.toml").expect_err("not shipped");
        assert!(missing.items[0].message.contains("no shipped scenario"));
    }

    /// Writes `level0.toml` extending `level1.toml` ... down to `level{files-1}.toml`, a valid
    /// scenario; returns the path of the first.
    fn extends_chain(dir: &Path, files: usize) -> PathBuf {
        let base = include_str!("../../tests/fixtures/minimal.toml");
        for k in 0..files {
            let text = if k + 1 == files {
                base.to_string()
            } else {
                format!("extends = \"level{}.toml\"\n", k + 1)
            };
            std::fs::write(dir.join(format!("level{k}.toml")), text).expect("write");
        }
        dir.join("level0.toml")
    }

    #[test]
    fn an_extends_chain_of_the_documented_length_loads() {
        let dir = tempfile::tempdir().expect("temp dir");
        let top = extends_chain(dir.path(), LIMITS.extends_depth);
        if let Err(d) = load(&top) {
            panic!("a chain of {} files must load:\n{d}", LIMITS.extends_depth);
        }
        let ten = extends_chain(dir.path(), 10);
        assert!(load(&ten).is_ok(), "a chain of 10 files must load");
    }

    #[test]
    fn an_extends_chain_one_file_longer_is_refused_where_it_goes_too_far() {
        let dir = tempfile::tempdir().expect("temp dir");
        let top = extends_chain(dir.path(), LIMITS.extends_depth + 1);
        let d = load(&top).expect_err("too deep");
        let item = &d.items[0];
        assert!(
            item.message.contains("deeper than 64 files"),
            "{}",
            item.message
        );
        let span = item.span.expect("located");
        let last = format!("level{}.toml", LIMITS.extends_depth - 1);
        assert!(d.sources.file(span.file).name.ends_with(&last), "{d}");
    }

    #[test]
    fn a_device_that_never_ends_is_refused_at_the_size_limit() {
        let d = load(Path::new("/dev/zero")).expect_err("endless");
        assert!(d.items[0].message.contains("limited to"), "{d}");
        let d = load_str("v.toml", "extends = \"/dev/zero\"\n", None).expect_err("endless base");
        assert!(d.items[0].message.contains("limited to"), "{d}");
        assert!(d.items[0].span.is_some(), "located at the `extends`: {d}");
        let hint = d.items[0].hint.as_deref().unwrap_or("");
        assert!(!hint.contains("relative"), "the path was found: {hint}");
    }

    #[test]
    fn a_base_that_is_not_utf8_is_shown_in_the_base() {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::write(dir.path().join("base.toml"), b"# ok\n\xff\n").expect("write");
        let d = load_str("v.toml", "extends = \"base.toml\"\n", Some(dir.path()))
            .expect_err("base not UTF-8");
        let span = d.items[0].span.expect("located");
        assert!(d.sources.file(span.file).name.ends_with("base.toml"));
        assert_eq!(d.sources.line_col(span.file, span.start), (2, 1));
    }
}
