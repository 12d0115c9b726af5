//! Scenario discovery: the regions of the parameter space where an outcome is concentrated, by
//! PRIM (Friedman and Fisher, "Bump hunting in high-dimensional data", Statistics and Computing
//! 9, 1999): peel a small share of the runs off one edge of the box at a time, always the peel
//! that leaves the highest share of the outcome inside, then paste back what raises it.
//!
//! Boxes are found on the even runs and measured on the odd ones: a box chosen as the best of
//! many peels flatters the runs it was chosen on, so its density, coverage and intervals are
//! those of runs it never saw. A box whose density on those runs is not clearly above the
//! outcome's share overall is not reported: "no box" is an answer, not a failure.

use std::sync::atomic::AtomicBool;

use serde::Serialize;

use crate::model::Model;
use crate::montecarlo::aggregate::wilson;
use crate::montecarlo::{self, RunRows, RunSink, StudyConfig, StudyError};
use crate::rng::RunStream;

#[derive(Debug, Clone)]
pub struct DiscoverConfig {
    /// Share of the box's runs each peel removes.
    pub peel_alpha: f64,
    /// Peeling stops when the box holds less than this share of the runs.
    pub min_support: f64,
    /// The box recommended is the densest on the peeling trajectory that still holds this
    /// share of the outcome's runs.
    pub min_coverage: f64,
    /// Half-samples for the stability of each restriction.
    pub resamples: usize,
    /// At most this many boxes, each found among the runs outside the boxes before it.
    pub max_boxes: usize,
}

impl Default for DiscoverConfig {
    fn default() -> Self {
        DiscoverConfig {
            peel_alpha: 0.05,
            min_support: 0.05,
            min_coverage: 0.3,
            resamples: 10,
            max_boxes: 3,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Discovery {
    pub version: String,
    pub outcome: String,
    pub outcome_label: String,
    pub runs: u64,
    pub seed: u64,
    /// The outcome's share of all runs, and its 95% interval.
    pub share: f64,
    pub share_ci95: [f64; 2],
    /// Runs of the outcome, of all runs.
    pub hits: u64,
    /// How the boxes were found and measured, in words.
    pub method: String,
    pub peel_alpha: f64,
    pub min_support: f64,
    pub min_coverage: f64,
    pub resamples: usize,
    /// The parameters the search could restrict (those that vary), with their ranges.
    pub parameters: Vec<ParameterRange>,
    /// The first box's peeling trajectory, measured on the runs that found it.
    pub trajectory: Vec<TrajectoryPoint>,
    /// The trajectory point the first box was chosen at (before pasting).
    pub chosen: Option<usize>,
    /// The boxes, best first; empty when none concentrates the outcome.
    pub boxes: Vec<DiscoveredBox>,
    /// Why no (further) box is reported.
    pub note: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ParameterRange {
    pub id: String,
    pub label: String,
    pub min: f64,
    pub max: f64,
}

#[derive(Debug, Clone, Copy, Serialize)]
pub struct TrajectoryPoint {
    pub coverage: f64,
    pub density: f64,
    /// Share of the runs inside.
    pub support: f64,
    pub runs: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct DiscoveredBox {
    /// Share of the runs inside the box that end in the outcome (on the evaluation runs).
    pub density: f64,
    pub density_ci95: [f64; 2],
    /// Share of the outcome's runs that are inside the box (on the evaluation runs).
    pub coverage: f64,
    pub coverage_ci95: [f64; 2],
    /// Evaluation runs inside the box, and of those, runs of the outcome.
    pub runs: u64,
    pub hits: u64,
    /// Share of all evaluation runs inside the box.
    pub support: f64,
    pub restrictions: Vec<Restriction>,
    /// The box in words.
    pub description: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Restriction {
    pub parameter: String,
    pub label: String,
    /// `None`: not restricted from below (or above).
    pub min: Option<f64>,
    pub max: Option<f64>,
    /// The box's density with this restriction dropped (evaluation runs): how much it matters.
    pub density_without: f64,
    /// Share of half-samples of the runs whose box restricts this parameter on the same
    /// side(s).
    pub stability: f64,
}

/// What a box should concentrate: an outcome, or a condition on the run's state (a probe of
/// the model, `discover --when`), such as a metric above a level at the end.
#[derive(Debug, Clone, PartialEq)]
pub enum DiscoverTarget {
    Outcome(usize),
    /// Probe `probe` of the model, a condition; `text` is how the user wrote it.
    Condition {
        probe: usize,
        text: String,
    },
}

impl DiscoverTarget {
    /// The id and the label results name the target by.
    fn names(&self, model: &Model) -> (String, String) {
        match self {
            DiscoverTarget::Outcome(o) => (
                model.outcomes[*o].id.clone(),
                model.outcomes[*o].label.clone(),
            ),
            DiscoverTarget::Condition { text, .. } => (text.clone(), text.clone()),
        }
    }
}

/// Collects each run's varied parameters and whether it met the target.
struct Rows<'a> {
    columns: &'a [usize],
    target: &'a DiscoverTarget,
    /// Column-major: `values[c][run]`.
    values: Vec<Vec<f64>>,
    hits: Vec<bool>,
}

impl RunSink for Rows<'_> {
    fn write_rows(&mut self, rows: &RunRows) -> std::io::Result<()> {
        for r in 0..rows.len {
            for (c, &p) in self.columns.iter().enumerate() {
                self.values[c].push(rows.parameters[r * rows.parameter_count + p]);
            }
            let hit = match self.target {
                DiscoverTarget::Outcome(o) => usize::from(rows.outcomes[r]) == *o,
                DiscoverTarget::Condition { probe, .. } => {
                    rows.probes[r * rows.probe_count + probe] != 0.0
                }
            };
            self.hits.push(hit);
        }
        Ok(())
    }
    fn wants_probes(&self) -> bool {
        matches!(self.target, DiscoverTarget::Condition { .. })
    }
}

/// Runs the study and searches its runs for boxes where `target` is concentrated.
pub fn discover(
    model: &Model,
    study: &StudyConfig,
    target: &DiscoverTarget,
    config: &DiscoverConfig,
    progress: &(dyn Fn(u64) + Sync),
    cancel: &AtomicBool,
) -> Result<Discovery, StudyError> {
    let columns = varied_columns(model, study);
    let mut rows = Rows {
        columns: &columns,
        target,
        values: vec![Vec::with_capacity(study.runs as usize); columns.len()],
        hits: Vec::with_capacity(study.runs as usize),
    };
    montecarlo::run_study(model, study, Some(&mut rows), progress, cancel)?;
    let parameters: Vec<ParameterRange> = columns
        .iter()
        .zip(&rows.values)
        .map(|(&p, v)| {
            let (min, max) = v
                .iter()
                .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &x| {
                    (a.min(x), b.max(x))
                });
            ParameterRange {
                id: model.parameters[p].id.clone(),
                label: model.parameters[p].doc.label.clone(),
                min,
                max,
            }
        })
        .collect();
    Ok(search(
        model,
        study,
        target,
        config,
        parameters,
        &rows.values,
        &rows.hits,
    ))
}

/// The parameters that vary in this study: sampled (not held by `--set`) and with more than one
/// possible value.
fn varied_columns(model: &Model, study: &StudyConfig) -> Vec<usize> {
    (0..model.parameters.len())
        .filter(|&p| !study.fixed.iter().any(|(i, _)| *i == p))
        .filter(|&p| {
            let (lo, hi) = model.parameters[p].distribution.support();
            lo < hi
        })
        .collect()
}

/// The search itself, on values already drawn (`values[c][run]`, `hits[run]`).
pub fn search(
    model: &Model,
    study: &StudyConfig,
    target: &DiscoverTarget,
    config: &DiscoverConfig,
    parameters: Vec<ParameterRange>,
    values: &[Vec<f64>],
    hits: &[bool],
) -> Discovery {
    let n = hits.len();
    let total_hits = hits.iter().filter(|&&h| h).count();
    let data = Data { values, hits };
    // Even runs find the boxes, odd runs measure them.
    let train: Vec<u32> = (0..n as u32).step_by(2).collect();
    let test: Vec<u32> = (1..n as u32).step_by(2).collect();
    let test_hits = test.iter().filter(|&&i| hits[i as usize]).count();
    let (outcome_id, outcome_label) = target.names(model);
    let mut discovery = Discovery {
        version: env!("CARGO_PKG_VERSION").to_string(),
        outcome: outcome_id,
        outcome_label,
        runs: n as u64,
        seed: study.seed,
        share: if n == 0 {
            0.0
        } else {
            total_hits as f64 / n as f64
        },
        share_ci95: wilson(total_hits as u64, n as u64),
        hits: total_hits as u64,
        method:
            "PRIM: boxes found by peeling and pasting on the even runs, measured on the odd runs; \
                 a box is reported only when its density's 95% interval lies above the outcome's \
                 share's"
                .into(),
        peel_alpha: config.peel_alpha,
        min_support: config.min_support,
        min_coverage: config.min_coverage,
        resamples: config.resamples,
        parameters,
        trajectory: Vec::new(),
        chosen: None,
        boxes: Vec::new(),
        note: None,
    };
    if values.is_empty() {
        discovery.note =
            Some("no parameter varies in this study, so there is no box to find".into());
        return discovery;
    }
    if total_hits == 0 || total_hits == n {
        discovery.note = Some(format!(
            "the outcome happened in {} of the {} runs: there is no contrast to explain",
            if total_hits == 0 { "none" } else { "all" },
            n
        ));
        return discovery;
    }
    let mut train_left = train;
    let mut test_left = test;
    for k in 0..config.max_boxes {
        let train_hits = train_left.iter().filter(|&&i| hits[i as usize]).count();
        if train_hits == 0 {
            break;
        }
        let trajectory = peel(&data, &train_left, config, None);
        let chosen = choose(&trajectory, train_hits, config.min_coverage);
        let bounds = paste(
            &data,
            &train_left,
            trajectory[chosen].bounds.clone(),
            config,
        );
        let bounds = simplify(&data, &train_left, bounds);
        if k == 0 {
            discovery.trajectory = trajectory
                .iter()
                .map(|t| t.point(train_hits, train_left.len()))
                .collect();
            discovery.chosen = Some(chosen);
        }
        let measured = measure(&data, &test_left, &bounds);
        let overall = wilson(test_hits as u64, (test_left.len()).max(1) as u64);
        let share_hi = wilson(total_hits as u64, n as u64)[1].max(overall[1]);
        let restricted = bounds.iter().any(|b| b.lo.is_some() || b.hi.is_some());
        if !restricted || measured.density_ci95[0] <= share_hi {
            discovery.note = Some(if k == 0 {
                "no box concentrates the outcome: on the runs not used to find it, the best box's \
                 density is not clearly above the outcome's share of all runs"
                    .into()
            } else {
                format!(
                    "no further box concentrates the outcome among the runs outside the first {k}"
                )
            });
            break;
        }
        let stability = stability(&data, &train_left, &bounds, config, study.seed, k);
        let restrictions: Vec<Restriction> = bounds
            .iter()
            .enumerate()
            .filter(|(_, b)| b.lo.is_some() || b.hi.is_some())
            .map(|(c, b)| {
                let mut without = bounds.clone();
                without[c] = Bound::default();
                Restriction {
                    parameter: discovery.parameters[c].id.clone(),
                    label: discovery.parameters[c].label.clone(),
                    min: b.lo,
                    max: b.hi,
                    density_without: measure(&data, &test_left, &without).density,
                    stability: stability[c],
                }
            })
            .collect();
        let total_test_hits = test_hits.max(1);
        let box_ = DiscoveredBox {
            density: measured.density,
            density_ci95: measured.density_ci95,
            coverage: measured.hits as f64 / total_test_hits as f64,
            coverage_ci95: wilson(measured.hits, total_test_hits as u64),
            runs: measured.runs,
            hits: measured.hits,
            support: measured.runs as f64 / (n - n / 2).max(1) as f64,
            description: String::new(),
            restrictions,
        };
        let description = describe(&discovery, &box_);
        discovery.boxes.push(DiscoveredBox {
            description,
            ..box_
        });
        train_left.retain(|&i| !inside(&data, i, &bounds));
        test_left.retain(|&i| !inside(&data, i, &bounds));
        if test_left.is_empty() || train_left.is_empty() {
            break;
        }
    }
    discovery
}

struct Data<'a> {
    values: &'a [Vec<f64>],
    hits: &'a [bool],
}

/// A box's edge on one parameter: kept runs have `lo <= x <= hi`.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
struct Bound {
    lo: Option<f64>,
    hi: Option<f64>,
}

fn inside(data: &Data<'_>, run: u32, bounds: &[Bound]) -> bool {
    bounds.iter().enumerate().all(|(c, b)| {
        let x = data.values[c][run as usize];
        b.lo.is_none_or(|lo| x >= lo) && b.hi.is_none_or(|hi| x <= hi)
    })
}

struct Step {
    bounds: Vec<Bound>,
    runs: usize,
    hits: usize,
}

impl Step {
    fn point(&self, total_hits: usize, total_runs: usize) -> TrajectoryPoint {
        TrajectoryPoint {
            coverage: self.hits as f64 / total_hits.max(1) as f64,
            density: self.hits as f64 / self.runs.max(1) as f64,
            support: self.runs as f64 / total_runs.max(1) as f64,
            runs: self.runs as u64,
        }
    }
}

/// The peeling trajectory from the whole space down to `min_support`.
fn peel(
    data: &Data<'_>,
    runs: &[u32],
    config: &DiscoverConfig,
    stop_below: Option<f64>,
) -> Vec<Step> {
    let total = runs.len();
    let mut in_box: Vec<u32> = runs.to_vec();
    let mut bounds = vec![Bound::default(); data.values.len()];
    let count_hits = |set: &[u32]| set.iter().filter(|&&i| data.hits[i as usize]).count();
    let mut trajectory = vec![Step {
        bounds: bounds.clone(),
        runs: in_box.len(),
        hits: count_hits(&in_box),
    }];
    // The box's values of one column and its hits, gathered once into contiguous arrays: the
    // passes below then read memory in order.
    let mut xs: Vec<f64> = Vec::with_capacity(in_box.len());
    let mut select: Vec<f64> = Vec::with_capacity(in_box.len());
    let mut hs: Vec<u32> = Vec::with_capacity(in_box.len());
    let all_hits = count_hits(&in_box).max(1);
    while (in_box.len() as f64) > config.min_support * total as f64 && in_box.len() > 1 {
        hs.clear();
        hs.extend(in_box.iter().map(|&i| u32::from(data.hits[i as usize])));
        let box_hits = hs.iter().sum::<u32>() as usize;
        // A caller that only needs the boxes above a coverage can stop below it.
        if stop_below.is_some_and(|c| (box_hits as f64) < c * all_hits as f64) {
            break;
        }
        let m = in_box.len();
        let before = box_hits as f64 / m as f64;
        // (gain, column, keep from below (lo) or from above (hi), threshold)
        let mut best: Option<(f64, usize, bool, f64)> = None;
        for (c, column) in data.values.iter().enumerate() {
            xs.clear();
            xs.extend(in_box.iter().map(|&i| column[i as usize]));
            select.clear();
            select.extend_from_slice(&xs);
            let k = ((config.peel_alpha * m as f64).floor() as usize).clamp(1, m - 1);
            let (_, &mut low_q, _) = select.select_nth_unstable_by(k, f64::total_cmp);
            let (_, &mut high_q, _) = select.select_nth_unstable_by(m - 1 - k, f64::total_cmp);
            let (lowest, highest) = xs
                .iter()
                .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &x| {
                    (a.min(x), b.max(x))
                });
            for (from_below, quantile) in [(true, low_q), (false, high_q)] {
                // Keep x >= threshold (from below) or x <= threshold (from above). When the
                // quantile is the edge value itself (ties, a discrete parameter), peel that
                // value: keep what lies strictly beyond it.
                let edge = if from_below { lowest } else { highest };
                let threshold = if quantile != edge {
                    quantile
                } else {
                    let next = xs
                        .iter()
                        .copied()
                        .filter(|&x| if from_below { x > edge } else { x < edge })
                        .fold(None, |a: Option<f64>, x| {
                            Some(a.map_or(x, |a| if from_below { a.min(x) } else { a.max(x) }))
                        });
                    match next {
                        Some(next) => next,
                        None => continue,
                    }
                };
                let (mut kept, mut kept_hits) = (0usize, 0u32);
                for (&x, &h) in xs.iter().zip(&hs) {
                    let keep = if from_below {
                        x >= threshold
                    } else {
                        x <= threshold
                    };
                    kept += usize::from(keep);
                    kept_hits += h * u32::from(keep);
                }
                if kept == 0 || kept == m {
                    continue;
                }
                // Friedman and Fisher's criterion: the gain in density per run removed, so
                // that a peel of half the box (a bernoulli's value) must earn its size.
                let removed = (m - kept) as f64 / m as f64;
                let gain = (f64::from(kept_hits) / kept as f64 - before) / removed;
                if best.is_none_or(|(g, ..)| gain > g) {
                    best = Some((gain, c, from_below, threshold));
                }
            }
        }
        let Some((_, c, from_below, threshold)) = best else {
            break;
        };
        let column = &data.values[c];
        in_box.retain(|&i| {
            let x = column[i as usize];
            if from_below {
                x >= threshold
            } else {
                x <= threshold
            }
        });
        if from_below {
            bounds[c].lo = Some(threshold);
        } else {
            bounds[c].hi = Some(threshold);
        }
        trajectory.push(Step {
            bounds: bounds.clone(),
            runs: in_box.len(),
            hits: count_hits(&in_box),
        });
    }
    trajectory
}

/// The densest point of the trajectory whose coverage is at least `min_coverage` (the first,
/// the whole space, always qualifies).
fn choose(trajectory: &[Step], total_hits: usize, min_coverage: f64) -> usize {
    let mut best = 0;
    for (k, step) in trajectory.iter().enumerate() {
        let p = step.point(total_hits, 1);
        if p.coverage + 1e-12 >= min_coverage
            && p.density > trajectory[best].point(total_hits, 1).density
        {
            best = k;
        }
    }
    best
}

/// For each run, how many of the box's edges it falls outside, and the first it falls
/// outside (column, below): a run outside one edge only is inside the box without it.
fn violations(data: &Data<'_>, runs: &[u32], bounds: &[Bound]) -> Vec<(u32, usize, bool)> {
    runs.iter()
        .map(|&i| {
            let mut count = 0;
            let mut first = (0, false);
            for (c, b) in bounds.iter().enumerate() {
                let x = data.values[c][i as usize];
                let below = b.lo.is_some_and(|lo| x < lo);
                let above = b.hi.is_some_and(|hi| x > hi);
                if below || above {
                    if count == 0 {
                        first = (c, below);
                    }
                    count += 1;
                }
            }
            (count, first.0, first.1)
        })
        .collect()
}

/// Widens each restricted edge by `peel_alpha` of the box's runs while that raises the density.
fn paste(
    data: &Data<'_>,
    runs: &[u32],
    mut bounds: Vec<Bound>,
    config: &DiscoverConfig,
) -> Vec<Bound> {
    for _ in 0..50 {
        let v = violations(data, runs, &bounds);
        let (mut n_box, mut h_box) = (0usize, 0usize);
        for (&i, &(count, ..)) in runs.iter().zip(&v) {
            if count == 0 {
                n_box += 1;
                h_box += usize::from(data.hits[i as usize]);
            }
        }
        let current = h_box as f64 / n_box.max(1) as f64;
        let step = ((config.peel_alpha * n_box as f64).ceil() as usize).max(1);
        let mut best: Option<(f64, usize, bool, f64)> = None;
        for (c, bound) in bounds.iter().enumerate() {
            for from_below in [true, false] {
                let restricted = if from_below { bound.lo } else { bound.hi };
                if restricted.is_none() {
                    continue;
                }
                // Runs outside this edge only, nearest first.
                let mut outside: Vec<(f64, bool)> = runs
                    .iter()
                    .zip(&v)
                    .filter(|(_, &(count, col, below))| {
                        count == 1 && col == c && below == from_below
                    })
                    .map(|(&i, _)| (data.values[c][i as usize], data.hits[i as usize]))
                    .collect();
                if outside.is_empty() {
                    continue;
                }
                outside.sort_by(|a, b| {
                    if from_below {
                        b.0.total_cmp(&a.0)
                    } else {
                        a.0.total_cmp(&b.0)
                    }
                });
                let new_edge = outside[step.min(outside.len()) - 1].0;
                // Every run at the new edge value comes in, ties included.
                let added = outside.iter().filter(|(x, _)| {
                    if from_below {
                        *x >= new_edge
                    } else {
                        *x <= new_edge
                    }
                });
                let (mut n, mut h) = (n_box, h_box);
                for &(_, hit) in added {
                    n += 1;
                    h += usize::from(hit);
                }
                let d = h as f64 / n as f64;
                if d > current && best.is_none_or(|(b, ..)| d > b) {
                    best = Some((d, c, from_below, new_edge));
                }
            }
        }
        match best {
            Some((_, c, from_below, edge)) => {
                if from_below {
                    bounds[c].lo = Some(edge);
                } else {
                    bounds[c].hi = Some(edge);
                }
            }
            None => break,
        }
    }
    bounds
}

/// Drops, one at a time, the restriction whose removal costs the least density, while that
/// costs less than a tenth of it: peeling restricts whatever gains a little on the runs it
/// sees, and a box an analyst can quote holds only the restrictions that carry it.
fn simplify(data: &Data<'_>, runs: &[u32], mut bounds: Vec<Bound>) -> Vec<Bound> {
    const KEEP_IF_LOSS_ABOVE: f64 = 0.1;
    loop {
        let v = violations(data, runs, &bounds);
        let (mut n_box, mut h_box) = (0usize, 0usize);
        let mut n_one = vec![0usize; bounds.len()];
        let mut h_one = vec![0usize; bounds.len()];
        for (&i, &(count, col, _)) in runs.iter().zip(&v) {
            let hit = usize::from(data.hits[i as usize]);
            match count {
                0 => {
                    n_box += 1;
                    h_box += hit;
                }
                1 => {
                    n_one[col] += 1;
                    h_one[col] += hit;
                }
                _ => {}
            }
        }
        let current = h_box as f64 / n_box.max(1) as f64;
        let mut best: Option<(f64, usize)> = None;
        for c in 0..bounds.len() {
            if bounds[c] == Bound::default() {
                continue;
            }
            let d = (h_box + h_one[c]) as f64 / (n_box + n_one[c]).max(1) as f64;
            if best.is_none_or(|(b, _)| d > b) {
                best = Some((d, c));
            }
        }
        match best {
            Some((d, c)) if current > 0.0 && (current - d) / current < KEEP_IF_LOSS_ABOVE => {
                bounds[c] = Bound::default();
            }
            _ => return bounds,
        }
    }
}

struct Measured {
    runs: u64,
    hits: u64,
    density: f64,
    density_ci95: [f64; 2],
}

fn measure(data: &Data<'_>, runs: &[u32], bounds: &[Bound]) -> Measured {
    let (mut n, mut h) = (0u64, 0u64);
    for &i in runs {
        if inside(data, i, bounds) {
            n += 1;
            h += u64::from(data.hits[i as usize]);
        }
    }
    Measured {
        runs: n,
        hits: h,
        density: if n == 0 { 0.0 } else { h as f64 / n as f64 },
        density_ci95: wilson(h, n),
    }
}

/// For each parameter, the share of half-samples of `runs` whose box (found the same way)
/// restricts it on the same sides as `bounds`. The resamples are drawn from the study's
/// seed, so the figure is reproducible.
fn stability(
    data: &Data<'_>,
    runs: &[u32],
    bounds: &[Bound],
    config: &DiscoverConfig,
    seed: u64,
    box_index: usize,
) -> Vec<f64> {
    use rayon::prelude::*;
    if config.resamples == 0 || runs.is_empty() {
        return vec![0.0; bounds.len()];
    }
    // Each resample is a pure function of its index, so the sum is the same on any thread count.
    let agreements: Vec<Vec<bool>> = (0..config.resamples)
        .into_par_iter()
        .map(|b| {
            let stream = RunStream::new(seed ^ 0x5052_494d, (box_index * 1_000_003 + b) as u64);
            // Half-samples (each run in or out with probability 1/2) rather than the bootstrap:
            // the same question of stability at half the cost, and no run counted twice.
            let sample: Vec<u32> = runs
                .iter()
                .enumerate()
                .filter(|&(k, _)| stream.uniform(0x6861_6c66, k as u64) < 0.5)
                .map(|(_, &i)| i)
                .collect();
            let hits = sample.iter().filter(|&&i| data.hits[i as usize]).count();
            if hits == 0 {
                return vec![false; bounds.len()];
            }
            let trajectory = peel(data, &sample, config, Some(config.min_coverage));
            let chosen = choose(&trajectory, hits, config.min_coverage);
            let found = simplify(data, &sample, trajectory[chosen].bounds.clone());
            found
                .iter()
                .zip(bounds)
                .map(|(f, want)| {
                    f.lo.is_some() == want.lo.is_some() && f.hi.is_some() == want.hi.is_some()
                })
                .collect()
        })
        .collect();
    (0..bounds.len())
        .map(|c| agreements.iter().filter(|a| a[c]).count() as f64 / config.resamples as f64)
        .collect()
}

/// "terminated: 31.2% [28.1-34.5%] of runs inside, against 0.9% overall, when a >= 0.91 and
/// b <= 0.52; the box holds 62% of all terminated runs".
fn describe(d: &Discovery, b: &DiscoveredBox) -> String {
    let conditions: Vec<String> = b
        .restrictions
        .iter()
        .map(|r| match (r.min, r.max) {
            (Some(lo), Some(hi)) => {
                format!("{} between {} and {}", r.parameter, short(lo), short(hi))
            }
            (Some(lo), None) => format!("{} >= {}", r.parameter, short(lo)),
            (None, Some(hi)) => format!("{} <= {}", r.parameter, short(hi)),
            (None, None) => r.parameter.clone(),
        })
        .collect();
    format!(
        "{}: {} [{}-{}] of runs inside, against {} overall, when {}; the box holds {} of all {} runs",
        d.outcome,
        percent_to(b.density, 1),
        percent_to(b.density_ci95[0], 1),
        percent_to(b.density_ci95[1], 1),
        percent_to(d.share, if d.share < 0.1 { 2 } else { 1 }),
        conditions.join(" and "),
        percent_to(b.coverage, 0),
        d.outcome
    )
}

/// A share as a percentage with `decimals` decimals; a share that is not zero never reads 0.
/// (Analysis text is quoted in JSON, so it cannot wait for the report's formatting.)
pub(super) fn percent_to(share: f64, decimals: usize) -> String {
    let text = format!("{:.decimals$}%", share * 100.0);
    let zero = format!("{:.decimals$}%", 0.0);
    if share > 0.0 && text == zero {
        format!("<{}%", 10f64.powi(-(decimals as i32)))
    } else {
        text
    }
}

/// Three significant digits, for edges quoted in words.
pub(super) fn short(x: f64) -> String {
    if x == 0.0 || !x.is_finite() {
        return format!("{x}");
    }
    let digits = (2 - x.abs().log10().floor() as i32).max(0) as usize;
    format!("{x:.digits$}")
}
