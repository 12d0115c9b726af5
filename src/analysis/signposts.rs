//! Signposts: observable signs (an event having happened by a date, a state variable above or
//! below a level at a date, a decision taken by a date), ranked by how much seeing them would
//! move an outcome's probability.
//!
//! A sign S splits the runs in two; knowing which side a run is on changes the forecast of the
//! outcome from p to p(S) or p(not S). The score is the expected reduction of the forecast's
//! Brier score, P(S)·(p(S) − p)² + P(not S)·(p(not S) − p)², the variance of the conditional
//! probability: 0 for a sign that says nothing, p(1 − p) for one that settles the outcome.
//!
//! Levels to test come from a pilot pass (quantiles of each variable, blind to the outcome).
//! The best level and date of each sign are chosen on the even runs and every number printed
//! is measured on the odd runs, so that the best of many candidates does not flatter itself.

use std::collections::BTreeMap;
use std::sync::atomic::AtomicBool;

use chrono::NaiveDate;
use serde::Serialize;

use super::discover::{percent_to, short};
use crate::model::expr::Type;
use crate::model::Model;
use crate::montecarlo::aggregate::wilson;
use crate::montecarlo::exact::round_ratio;
use crate::montecarlo::{self, RunRows, RunSink, StudyConfig, StudyError};
use crate::scenario::Scenario;
use num_bigint::{BigInt, BigUint};

/// Dates tried when none are given: this many steps spread from the first step to the last
/// one before the horizon.
pub const DEFAULT_DATES: usize = 8;
/// Runs of the pilot pass that picks the levels to test.
pub const PILOT_RUNS: u64 = 2000;
/// Quantiles of a variable's pilot values tried as levels.
const LEVELS: [u32; 5] = [10, 25, 50, 75, 90];

/// What kind of sign a candidate is, for its description.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SignKind {
    /// `event.count`: how often an event has happened by the date.
    Event,
    /// `actor.var`: a state variable's level at the date.
    Variable,
    /// `decision.option`: whether a decision took an option by the date.
    Decision,
    /// An expression given with `--watch`.
    Watched,
}

/// A sign to watch at one date, before the scenario is compiled with it as a probe.
#[derive(Debug, Clone)]
pub struct Candidate {
    /// What is read, in the scenario's language (`seoul.anger`, `nk_test.count`).
    pub subject: String,
    /// The probe's text, `SUBJECT @ DATE`.
    pub probe: String,
    /// Words for the subject (its label where the scenario has one).
    pub label: String,
    /// Words for the subject not holding, where they differ from "not (label)" (a decision's
    /// other options).
    pub label_not: Option<String>,
    pub kind: SignKind,
    pub date: NaiveDate,
}

/// The step signs are read before: the last dated decision's, or the last step when no
/// decision is dated. A sign is only worth watching before the decisions it would foretell.
pub fn horizon(scenario: &Scenario) -> u32 {
    scenario
        .decisions
        .iter()
        .filter_map(|d| d.at)
        .max()
        .unwrap_or(scenario.time.steps.saturating_sub(1))
}

/// [`DEFAULT_DATES`] dates spread over the steps before the horizon (the first day of each
/// step; a sign is read at the end of the step).
pub fn default_dates(scenario: &Scenario) -> Vec<NaiveDate> {
    let before = horizon(scenario);
    if before == 0 {
        return Vec::new();
    }
    let last = before - 1;
    let k = DEFAULT_DATES.min(before as usize).max(1);
    let mut steps: Vec<u32> = (0..k)
        .map(|i| {
            if k == 1 {
                last
            } else {
                (u64::from(last) * i as u64 / (k as u64 - 1)) as u32
            }
        })
        .collect();
    steps.dedup();
    steps
        .into_iter()
        .map(|s| scenario.time.date_of(s))
        .collect()
}

/// Every event's count, every state variable and every decision's options, at each date.
pub fn candidates(scenario: &Scenario, dates: &[NaiveDate]) -> Vec<Candidate> {
    type Subject = (String, String, Option<String>, SignKind, Option<u32>);
    let mut subjects: Vec<Subject> = Vec::new();
    for e in &scenario.events {
        let label = label_or(&e.doc.label, &e.id.name);
        subjects.push((
            format!("{}.count", e.id.name),
            label,
            None,
            SignKind::Event,
            None,
        ));
    }
    for a in &scenario.actors {
        for v in &a.vars {
            let id = format!("{}.{}", a.id.name, v.id.name);
            let label = label_or(&v.doc.label, &id);
            subjects.push((id, label, None, SignKind::Variable, None));
        }
    }
    for d in &scenario.decisions {
        for o in &d.options {
            let id = format!("{}.{}", d.id.name, o.id.name);
            let decision = label_or(&d.doc.label, &d.id.name);
            let option = label_or(&o.label, &o.id.name);
            let label = format!("{decision} taken as “{option}”");
            let label_not = format!("{decision} not taken as “{option}”");
            subjects.push((id, label, Some(label_not), SignKind::Decision, d.at));
        }
    }
    let mut out = Vec::new();
    for &date in dates {
        let step = scenario.time.step_of(date);
        for (subject, label, label_not, kind, at) in &subjects {
            // A decision dated after the sign's step cannot have been taken by then.
            if at.is_some_and(|at| step.is_none_or(|s| at > s)) {
                continue;
            }
            out.push(Candidate {
                subject: subject.clone(),
                probe: format!("{subject} @ {date}"),
                label: label.clone(),
                label_not: label_not.clone(),
                kind: kind.clone(),
                date,
            });
        }
    }
    out
}

/// A level in words: a whole number as one (a count of 7, not 7.00), else three significant
/// digits.
fn words_of(level: f64) -> String {
    if level.fract() == 0.0 && level.abs() < 1e15 {
        format!("{}", level as i64)
    } else {
        short(level)
    }
}

/// A probability quoted in a description: two decimals below 10 %, where signposts of rare
/// outcomes live.
fn quoted(p: f64) -> String {
    percent_to(p, if p < 0.1 { 2 } else { 1 })
}

fn label_or(label: &str, id: &str) -> String {
    if label.trim().is_empty() {
        id.to_string()
    } else {
        label.to_string()
    }
}

#[derive(Debug, Clone)]
pub struct SignpostsConfig {
    pub outcome: usize,
    /// Runs of the pilot pass (at most the study's).
    pub pilot_runs: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Signposts {
    pub version: String,
    pub outcome: String,
    pub outcome_label: String,
    pub runs: u64,
    pub seed: u64,
    /// The outcome's share of the held-out (odd) runs, which every probability here is of,
    /// and its 95 % interval.
    pub share: f64,
    pub share_ci95: [f64; 2],
    /// The date signs are read before (the last dated decision's step).
    pub horizon: String,
    /// The dates tried.
    pub dates: Vec<String>,
    /// Signs tried (subjects × dates) and how many varied in the pilot.
    pub candidates: usize,
    pub varied: usize,
    pub method: String,
    /// Why the list is empty, when it is: the outcome did not vary, or no sign told runs of
    /// it from the others.
    pub note: Option<String>,
    /// One per sign (its best date and level), best first; only signs that resolve some of
    /// the outcome's variance on the runs they were chosen on.
    pub signposts: Vec<Signpost>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Signpost {
    /// The sign in words, framed the way that raises the outcome.
    pub description: String,
    /// The same as a condition of the scenario's language, e.g. `seoul.anger >= 0.62`.
    pub condition: String,
    pub kind: SignKind,
    pub date: String,
    /// Days from the date to the horizon.
    pub lead_days: i64,
    /// Expected reduction of the Brier score from seeing the sign (held-out runs).
    pub score: f64,
    /// `score / (p (1 − p))`: the share of the outcome's variance the sign resolves.
    pub share_resolved: f64,
    /// The share of runs that see the sign.
    pub share_true: f64,
    pub probability_if_true: f64,
    pub ci95_if_true: [f64; 2],
    pub runs_if_true: u64,
    pub probability_if_false: f64,
    pub ci95_if_false: [f64; 2],
    pub runs_if_false: u64,
    /// How many times as likely the outcome is when the sign is seen.
    pub ratio: f64,
    /// The score on the runs the level and date were chosen on.
    pub selection_score: f64,
    /// Other signs that split the runs the same way (the same runs see them, on both
    /// halves): one entry stands for them all.
    pub equivalent: Vec<String>,
    /// The runs that see the sign and of those the outcome's, on the even then the odd runs:
    /// how equivalent signs are found.
    #[serde(skip)]
    split: [u64; 4],
}

/// The expected Brier reduction of a split: `n_true` runs with `hits_true` of the outcome,
/// of `n` runs with `hits` in all. With D = hits_true·n − hits·n_true it is
/// D² / (n_true·n_false·n²), computed in integers and rounded once.
fn score(n: u64, hits: u64, n_true: u64, hits_true: u64) -> f64 {
    split_ratio(n, hits, n_true, hits_true, |n_false| {
        BigUint::from(n_true) * n_false * n * n
    })
}

/// The share of the outcome's variance p(1 − p) a split resolves: D² / (n_true·n_false·
/// hits·(n − hits)), 1 exactly for a sign that settles the outcome.
fn share_resolved(n: u64, hits: u64, n_true: u64, hits_true: u64) -> f64 {
    if hits == 0 || hits == n {
        return 0.0;
    }
    split_ratio(n, hits, n_true, hits_true, |n_false| {
        BigUint::from(n_true) * n_false * hits * (n - hits)
    })
}

fn split_ratio(
    n: u64,
    hits: u64,
    n_true: u64,
    hits_true: u64,
    denominator: impl Fn(u64) -> BigUint,
) -> f64 {
    if n == 0 || n_true == 0 || n_true >= n {
        return 0.0;
    }
    let d = BigInt::from(hits_true) * n - BigInt::from(hits) * n_true;
    round_ratio(&(&d * &d), &denominator(n - n_true), 0)
}

/// The pilot: every probe's values, run by run.
struct PilotValues {
    probes: usize,
    values: Vec<Vec<f64>>,
}

impl RunSink for PilotValues {
    fn write_rows(&mut self, rows: &RunRows) -> std::io::Result<()> {
        for r in 0..rows.len {
            for k in 0..self.probes {
                self.values[k].push(rows.probes[r * rows.probe_count + k]);
            }
        }
        Ok(())
    }
    fn wants_probes(&self) -> bool {
        true
    }
}

/// The main pass: for each probe and level, runs at or above it and of those the outcome's,
/// on even and odd runs apart.
struct SplitCounts<'a> {
    outcome: usize,
    levels: &'a [Vec<f64>],
    /// `[parity][probe][level] = (runs, hits)`.
    counts: [Vec<Vec<(u64, u64)>>; 2],
    totals: [(u64, u64); 2],
}

impl RunSink for SplitCounts<'_> {
    fn write_rows(&mut self, rows: &RunRows) -> std::io::Result<()> {
        for r in 0..rows.len {
            let parity = ((rows.first_run + r as u64) % 2) as usize;
            let hit = usize::from(rows.outcomes[r]) == self.outcome;
            let total = &mut self.totals[parity];
            total.0 += 1;
            total.1 += u64::from(hit);
            let values = &rows.probes[r * rows.probe_count..(r + 1) * rows.probe_count];
            for ((levels, counts), &v) in
                self.levels.iter().zip(&mut self.counts[parity]).zip(values)
            {
                for (level, count) in levels.iter().zip(counts.iter_mut()) {
                    if v >= *level {
                        count.0 += 1;
                        count.1 += u64::from(hit);
                    }
                }
            }
        }
        Ok(())
    }
    fn wants_probes(&self) -> bool {
        true
    }
}

/// The levels tried for one probe's pilot values: 1 for a condition or a count that is 0 or
/// more (has it happened at all), else the distinct [`LEVELS`] quantiles above the smallest
/// value (so that some runs are below). None for a probe that did not vary.
fn levels_of(values: &mut [f64], kind: &SignKind) -> Vec<f64> {
    values.sort_by(f64::total_cmp);
    let (Some(&min), Some(&max)) = (values.first(), values.last()) else {
        return Vec::new();
    };
    if min == max {
        return Vec::new();
    }
    let mut levels = Vec::new();
    if *kind == SignKind::Event && min == 0.0 {
        levels.push(1.0);
    }
    if values.iter().all(|&v| v == 0.0 || v == 1.0) {
        return vec![1.0];
    }
    let n = values.len();
    for q in LEVELS {
        let rank = (q as usize * n).div_ceil(100).max(1);
        let v = values[rank - 1];
        if v > min && !levels.contains(&v) {
            levels.push(v);
        }
    }
    levels
}

/// Runs the pilot and the study with every candidate as a probe (`model` is compiled with
/// them, in order) and ranks the signs.
pub fn signposts(
    model: &Model,
    study: &StudyConfig,
    config: &SignpostsConfig,
    candidates: &[Candidate],
    horizon_date: NaiveDate,
    progress: &(dyn Fn(u64) + Sync),
    cancel: &AtomicBool,
) -> Result<Signposts, StudyError> {
    let probes = candidates.len();
    let pilot = StudyConfig {
        runs: config.pilot_runs.min(study.runs).max(1),
        timeline: false,
        ..study.clone()
    };
    let mut values = PilotValues {
        probes,
        values: vec![Vec::with_capacity(pilot.runs as usize); probes],
    };
    montecarlo::run_study(model, &pilot, Some(&mut values), progress, cancel)?;
    let levels: Vec<Vec<f64>> = values
        .values
        .iter_mut()
        .zip(candidates)
        .map(|(v, c)| levels_of(v, &c.kind))
        .collect();
    let empty = || levels.iter().map(|l| vec![(0, 0); l.len()]).collect();
    let mut counts = SplitCounts {
        outcome: config.outcome,
        levels: &levels,
        counts: [empty(), empty()],
        totals: [(0, 0); 2],
    };
    let main = StudyConfig {
        timeline: false,
        ..study.clone()
    };
    montecarlo::run_study(model, &main, Some(&mut counts), progress, cancel)?;

    // Per subject, the date and level that score best on the even runs.
    let mut best: BTreeMap<&str, (f64, usize, usize)> = BTreeMap::new();
    let (n_even, hits_even) = counts.totals[0];
    for (k, c) in candidates.iter().enumerate() {
        for (j, &(n_true, hits_true)) in counts.counts[0][k].iter().enumerate() {
            let s = score(n_even, hits_even, n_true, hits_true);
            let entry = best.entry(c.subject.as_str()).or_insert((-1.0, k, j));
            if s > entry.0 {
                *entry = (s, k, j);
            }
        }
    }
    let (n, hits) = counts.totals[1];
    let p = if n == 0 { 0.0 } else { hits as f64 / n as f64 };
    let outcome = &model.outcomes[config.outcome];
    let mut signposts: Vec<Signpost> = best
        .values()
        .filter(|(s, _, _)| *s > 0.0)
        .map(|&(selection_score, k, j)| {
            let (n_true, hits_true) = counts.counts[1][k][j];
            let level = levels[k][j];
            // A watched expression reads as a condition when it compiled to one.
            let condition = model.probes[k].value.ty() == Type::Bool;
            let mut p = describe(
                &candidates[k],
                condition,
                level,
                (n, hits, n_true, hits_true),
                selection_score,
                horizon_date,
                &outcome.label,
            );
            let (even_true, even_hits) = counts.counts[0][k][j];
            // The side the sign is framed on, so that a sign and its negation match.
            p.split = if p.runs_if_true == n_true {
                [even_true, even_hits, n_true, hits_true]
            } else {
                [
                    n_even - even_true,
                    hits_even - even_hits,
                    n - n_true,
                    hits - hits_true,
                ]
            };
            p
        })
        .collect();
    signposts.sort_by(|a, b| {
        b.selection_score
            .total_cmp(&a.selection_score)
            .then(b.lead_days.cmp(&a.lead_days))
            .then(a.condition.cmp(&b.condition))
    });
    let mut merged: Vec<Signpost> = Vec::with_capacity(signposts.len());
    for p in signposts {
        match merged.iter_mut().find(|m| m.split == p.split) {
            Some(first) => first.equivalent.push(p.condition),
            None => merged.push(p),
        }
    }
    // With the outcome constant on either half there is nothing to foretell: say so rather
    // than rank signs by noise.
    let constant = [counts.totals[0], counts.totals[1]]
        .iter()
        .any(|&(runs, hits)| hits == 0 || hits == runs);
    let (signposts, note) = if constant {
        (
            Vec::new(),
            Some(format!(
                "the outcome happened in {} of the {} runs measured and {} of the {} runs the signs are chosen on: a probability that does not vary cannot be foretold; give more --runs or pick another outcome",
                hits, n, hits_even, n_even
            )),
        )
    } else if merged.is_empty() {
        (
            Vec::new(),
            Some("no sign tells the outcome's runs from the others".to_string()),
        )
    } else {
        (merged, None)
    };
    let mut dates: Vec<NaiveDate> = candidates.iter().map(|c| c.date).collect();
    dates.sort();
    dates.dedup();
    let dates: Vec<String> = dates.iter().map(NaiveDate::to_string).collect();
    Ok(Signposts {
        version: env!("CARGO_PKG_VERSION").to_string(),
        outcome: outcome.id.clone(),
        outcome_label: outcome.label.clone(),
        runs: study.runs,
        seed: study.seed,
        share: p,
        share_ci95: wilson(hits, n),
        horizon: horizon_date.to_string(),
        dates,
        candidates: probes,
        varied: levels.iter().filter(|l| !l.is_empty()).count(),
        method: format!(
            "each sign's levels are quantiles of its values in a pilot of {} runs; its best date and level are chosen on the even runs; every probability and score is measured on the odd runs",
            pilot.runs
        ),
        note,
        signposts,
    })
}

/// One chosen sign, measured on the held-out runs, framed so that the condition raises the
/// outcome.
fn describe(
    c: &Candidate,
    condition: bool,
    level: f64,
    (n, hits, n_true, hits_true): (u64, u64, u64, u64),
    selection_score: f64,
    horizon: NaiveDate,
    outcome: &str,
) -> Signpost {
    let (n_false, hits_false) = (n - n_true, hits - hits_true);
    let share = |h: u64, m: u64| if m == 0 { 0.0 } else { h as f64 / m as f64 };
    let (p_true, p_false) = (share(hits_true, n_true), share(hits_false, n_false));
    // Said the way that raises the outcome: "has not happened" when happening lowers it.
    let raises = p_true >= p_false;
    let date = c.date;
    let (condition, words) = match (&c.kind, raises) {
        (SignKind::Event, true) if level == 1.0 => (
            format!("{} >= 1", c.subject),
            format!("{} has happened by {date}", c.label),
        ),
        (SignKind::Event, false) if level == 1.0 => (
            format!("{} == 0", c.subject),
            format!("{} has not happened by {date}", c.label),
        ),
        (SignKind::Event, true) => (
            format!("{} >= {level}", c.subject),
            format!(
                "{} has happened at least {} times by {date}",
                c.label,
                words_of(level)
            ),
        ),
        (SignKind::Event, false) => (
            format!("{} < {level}", c.subject),
            format!(
                "{} has happened fewer than {} times by {date}",
                c.label,
                words_of(level)
            ),
        ),
        (SignKind::Decision, true) => (c.subject.clone(), format!("{} by {date}", c.label)),
        (SignKind::Decision, false) => (
            format!("not {}", c.subject),
            format!("{} by {date}", c.label_not.as_deref().unwrap_or(&c.label)),
        ),
        (_, true) if condition => (c.subject.clone(), format!("{} holds at {date}", c.label)),
        (_, false) if condition => (
            format!("not ({})", c.subject),
            format!("{} does not hold at {date}", c.label),
        ),
        (_, true) => (
            format!("{} >= {level}", c.subject),
            format!("{} is at least {} at {date}", c.label, words_of(level)),
        ),
        (_, false) => (
            format!("{} < {level}", c.subject),
            format!("{} is below {} at {date}", c.label, words_of(level)),
        ),
    };
    let (seen, p_seen, ci_seen, runs_seen, p_unseen, ci_unseen, runs_unseen) = if raises {
        (
            share(n_true, n),
            p_true,
            wilson(hits_true, n_true),
            n_true,
            p_false,
            wilson(hits_false, n_false),
            n_false,
        )
    } else {
        (
            share(n_false, n),
            p_false,
            wilson(hits_false, n_false),
            n_false,
            p_true,
            wilson(hits_true, n_true),
            n_true,
        )
    };
    let s = score(n, hits, n_true, hits_true);
    let p = share(hits, n);
    Signpost {
        description: format!(
            "if {words}, “{outcome}” rises from {} to {} (else {})",
            quoted(p),
            quoted(p_seen),
            quoted(p_unseen)
        ),
        condition: format!("{condition} @ {date}"),
        kind: c.kind.clone(),
        date: date.to_string(),
        lead_days: (horizon - date).num_days(),
        score: s,
        share_resolved: share_resolved(n, hits, n_true, hits_true),
        share_true: seen,
        probability_if_true: p_seen,
        ci95_if_true: ci_seen,
        runs_if_true: runs_seen,
        probability_if_false: p_unseen,
        ci95_if_false: ci_unseen,
        runs_if_false: runs_unseen,
        ratio: if p > 0.0 { p_seen / p } else { 0.0 },
        selection_score,
        equivalent: Vec::new(),
        split: [0; 4],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_score_is_the_variance_of_the_conditional_probability() {
        // A sign that settles the outcome resolves all of p(1 - p).
        assert!((score(100, 30, 30, 30) - 0.3 * 0.7).abs() < 1e-15);
        assert_eq!(share_resolved(100, 30, 30, 30), 1.0);
        assert_eq!(share_resolved(100, 20, 50, 10), 0.0);
        // Independent of it: nothing.
        assert_eq!(score(100, 20, 50, 10), 0.0);
        // Always or never seen: nothing to learn.
        assert_eq!(score(100, 20, 100, 20), 0.0);
        assert_eq!(score(100, 20, 0, 0), 0.0);
        // By hand: w = 0.25, p = 0.2, p(S) = 0.6, p(not S) = 1/15.
        let want = 0.25 * 0.4f64.powi(2) + 0.75 * (0.2 - 1.0 / 15.0f64).powi(2);
        assert!((score(100, 20, 25, 15) - want).abs() < 1e-15);
    }

    #[test]
    fn levels_are_quantiles_above_the_smallest_value() {
        let mut v: Vec<f64> = (0..100).map(f64::from).collect();
        assert_eq!(
            levels_of(&mut v, &SignKind::Variable),
            vec![9.0, 24.0, 49.0, 74.0, 89.0]
        );
        let mut flags = vec![0.0, 1.0, 1.0, 0.0];
        assert_eq!(levels_of(&mut flags, &SignKind::Decision), vec![1.0]);
        let mut constant = vec![3.0; 10];
        assert!(levels_of(&mut constant, &SignKind::Variable).is_empty());
        // A count that is mostly 0: "has it happened" comes first.
        let mut counts = vec![0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 2.0, 3.0, 4.0, 5.0];
        assert_eq!(
            levels_of(&mut counts, &SignKind::Event),
            vec![1.0, 3.0, 4.0]
        );
    }
}
