//! A realistic hand-built summary, and the tests of the charts.
//!
//! To look at charts drawn from real studies, run `scripts/chart_gallery.sh`.

use std::time::Instant;

use super::style::ensure_font;
use super::*;
use crate::montecarlo::summary::{
    DecisionSummary, DriverBin, DriverCell, EventSummary, FixedParameter, Histogram, MetricSummary,
    OptionSummary, OtherValues, OutcomeSummary, ParameterSummary, ReplicatedOutcome,
    ReplicationInfo, ScenarioInfo, StepQuantiles, TimeAxis, TimingStep, TimingSummary, ValueShare,
};

const RUNS: u64 = 100_000;

/// ISO date `days` after 2019-07-01.
fn date_after(days: u32) -> String {
    const LEN: [u32; 12] = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
    let (mut y, mut m, mut d) = (2019u32, 7usize, 1 + days);
    loop {
        let len = LEN[m - 1] + u32::from(m == 2 && y % 4 == 0);
        if d <= len {
            break;
        }
        d -= len;
        m += 1;
        if m > 12 {
            m = 1;
            y += 1;
        }
    }
    format!("{y}-{m:02}-{d:02}")
}

fn wilson(count: u64, n: u64) -> [f64; 2] {
    let (k, n) = (count as f64, n as f64);
    let z = 1.959_963_984_540_054_f64;
    let p = k / n;
    let denom = 1.0 + z * z / n;
    let centre = (p + z * z / (2.0 * n)) / denom;
    let half = z * (p * (1.0 - p) / n + z * z / (4.0 * n * n)).sqrt() / denom;
    [(centre - half).max(0.0), (centre + half).min(1.0)]
}

fn outcome(id: &str, label: &str, count: u64) -> OutcomeSummary {
    OutcomeSummary {
        id: id.into(),
        label: label.into(),
        count,
        probability: count as f64 / RUNS as f64,
        ci95: wilson(count, RUNS),
    }
}

/// A timed decision's table: each option's runs spread over the window `from..=until`, the
/// earlier steps taking more (as a first action tends to), `forced` runs of option `default`
/// at the deadline.
fn timed(options: &[u64], from: u32, until: u32, default: Option<usize>) -> TimingSummary {
    let window = (until - from + 1) as u64;
    let weights: Vec<u64> = (0..window).map(|j| window - j).collect();
    let total: u64 = weights.iter().sum();
    let mut steps: Vec<TimingStep> = (0..window)
        .map(|j| TimingStep {
            step: from + j as u32,
            date: String::new(),
            runs: 0,
            share: 0.0,
            options: options
                .iter()
                .map(|&n| n * weights[j as usize] / total)
                .collect(),
        })
        .collect();
    // The remainders at the deadline, so that each option adds up.
    for (k, &n) in options.iter().enumerate() {
        let placed: u64 = steps.iter().map(|s| s.options[k]).sum();
        if let Some(last) = steps.last_mut() {
            last.options[k] += n - placed;
        }
    }
    for s in &mut steps {
        s.runs = s.options.iter().sum();
        s.share = s.runs as f64 / RUNS as f64;
    }
    let forced = default.map_or(0, |k| steps[steps.len() - 1].options[k] / 2);
    TimingSummary {
        from,
        until,
        from_date: String::new(),
        until_date: String::new(),
        default: default.map(|k| format!("option_{k}")),
        forced,
        forced_share: forced as f64 / RUNS as f64,
        mean_step: Some(f64::from(from + until) / 2.0),
        median_step: Some(from),
        median_date: None,
        steps,
    }
}

fn option(id: &str, count: u64) -> OptionSummary {
    OptionSummary {
        id: id.into(),
        count,
        probability: count as f64 / RUNS as f64,
        ci95: wilson(count, RUNS),
    }
}

/// A bell-ish histogram of `bins` bins over `lo..hi`, centred at `centre`, summing to RUNS.
fn histogram(lo: f64, hi: f64, bins: usize, centre: f64, width: f64, skew: f64) -> Histogram {
    let edges: Vec<f64> = (0..=bins)
        .map(|i| lo + (hi - lo) * i as f64 / bins as f64)
        .collect();
    let weights: Vec<f64> = (0..bins)
        .map(|i| {
            let x = (edges[i] + edges[i + 1]) / 2.0;
            let z = (x - centre) / width;
            let s = if z > 0.0 { 1.0 + skew } else { 1.0 };
            (-0.5 * (z / s) * (z / s)).exp()
        })
        .collect();
    let total: f64 = weights.iter().sum();
    let mut counts: Vec<u64> = weights
        .iter()
        .map(|w| (w / total * RUNS as f64).floor() as u64)
        .collect();
    let missing = RUNS - counts.iter().sum::<u64>();
    counts[bins / 2] += missing;
    Histogram { edges, counts }
}

fn timeline(
    steps: u32,
    dates: &[String],
    level: impl Fn(u32) -> f64,
    spread: impl Fn(u32) -> f64,
) -> Vec<StepQuantiles> {
    (0..steps)
        .map(|step| {
            let m = level(step);
            let s = spread(step);
            StepQuantiles {
                step,
                date: dates[step as usize].clone(),
                p05: m - 1.9 * s,
                p25: m - 0.7 * s,
                p50: m,
                p75: m + 0.65 * s,
                p95: m + 1.6 * s,
            }
        })
        .collect()
}

/// Ten decile bins of a parameter over `lo..hi`, with the main outcome's probability going
/// from `p_first` to `p_last` (shape given by `curve` on 0..1).
fn drivers(lo: f64, hi: f64, p_first: f64, p_last: f64, curve: fn(f64) -> f64) -> Vec<DriverBin> {
    let per_bin = RUNS / 10;
    (0..10)
        .map(|i| {
            let t = i as f64 / 9.0;
            let p_main = p_first + (p_last - p_first) * curve(t);
            let main = (p_main * per_bin as f64).round() as u64;
            let rest = per_bin - main;
            let renewed = rest * 17 / 72;
            DriverBin {
                lo: lo + (hi - lo) * i as f64 / 10.0,
                hi: lo + (hi - lo) * (i + 1) as f64 / 10.0,
                runs: per_bin,
                outcomes: cells(&[main, renewed, rest - renewed], per_bin),
            }
        })
        .collect()
}

/// The sample's three outcomes with these counts in a bin of `runs`.
fn cells(counts: &[u64], runs: u64) -> Vec<DriverCell> {
    ["terminated", "renewed", "suspended_conditionally"]
        .iter()
        .zip(counts)
        .map(|(id, &count)| DriverCell {
            outcome: id.to_string(),
            count,
            ci95: crate::montecarlo::aggregate::wilson(count, runs),
        })
        .collect()
}

#[allow(clippy::too_many_arguments)]
fn parameter(
    id: &str,
    label: &str,
    unit: &str,
    distribution: &str,
    rationale: &str,
    source: &str,
    mean: f64,
    drivers: Vec<DriverBin>,
) -> ParameterSummary {
    ParameterSummary {
        id: id.into(),
        label: label.into(),
        unit: unit.into(),
        distribution: distribution.into(),
        rationale: rationale.into(),
        source: source.into(),
        mean,
        drivers,
    }
}

/// The GSOMIA 2019 study, as a 10^5-run summary might look.
pub(crate) fn sample_summary() -> Summary {
    let steps = 21u32;
    let dates: Vec<String> = (0..=steps).map(|i| date_after(7 * i)).collect();
    Summary {
        scenario: ScenarioInfo {
            name: "GSOMIA 2019".into(),
            description: "Seoul's decision on GSOMIA, its intelligence-sharing pact with Japan, \
                after Japan's export controls of July 2019 & under US pressure."
                .into(),
            file: "scenarios/gsomia_2019.toml".into(),
            sha256: "9f2c1e7b4a0d3c58e6f1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f7".into(),
            calibration: None,
            correlations: None,
        },
        version: "0.1.0".into(),
        seed: 20_191_122,
        runs: RUNS,
        sampling: "latin-hypercube".into(),
        fixed: vec![FixedParameter {
            id: "us_mediation".into(),
            value: 1.0,
            outside_support: false,
            support: None,
        }],
        precision: None,
        design: None,
        replications: None,
        given: None,
        outcomes: vec![
            outcome(
                "terminated",
                "GSOMIA terminated: Seoul lets the pact lapse on 23 Nov 2019",
                27_930,
            ),
            outcome(
                "renewed",
                "Renewed automatically, without conditions",
                16_870,
            ),
            outcome(
                "suspended_conditionally",
                "Termination suspended on condition of export-control talks (Japan & US <mediation>)",
                55_200,
            ),
        ],
        decisions: vec![
            DecisionSummary {
                id: "notify_termination".into(),
                label: "Notify Tokyo of termination".into(),
                actor: "Seoul".into(),
                step: Some(7),
                not_taken: 0,
                fixed: false,
                recurring: None,
                timing: None,
                options: vec![option("terminate", 83_130), option("renew", 16_870)],
            },
            DecisionSummary {
                id: "suspend_notice".into(),
                label: "Suspend the termination notice before it takes effect".into(),
                actor: "Seoul".into(),
                step: None,
                not_taken: 16_870,
                fixed: false,
                recurring: None,
                timing: Some(timed(&[55_200, 27_930], 14, 20, Some(1))),
                options: vec![
                    option("suspend_conditionally", 55_200),
                    option("let_lapse", 27_930),
                ],
            },
        ],
        events: vec![
            EventSummary {
                id: "export_controls".into(),
                label: "Japan tightens export controls on chip materials".into(),
                step: Some(0),
                mean_count: 1.0,
                share_fired: 1.0,
            },
            EventSummary {
                id: "white_list_removal".into(),
                label: "Japan removes Korea from its export white list".into(),
                step: Some(8),
                mean_count: 1.0,
                share_fired: 1.0,
            },
            EventSummary {
                id: "us_pressure_spike".into(),
                label: "US envoys press Seoul in public".into(),
                step: None,
                mean_count: 1.37,
                share_fired: 0.64,
            },
        ],
        metrics: vec![
            MetricSummary {
                id: "trust_in_japan".into(),
                label: "Seoul's trust in Japan".into(),
                unit: "index 0–1".into(),
                mean: 0.312,
                sd: Some(0.088),
                quantile_error: 0.0,
                integer: false,
                kind: "continuous".into(),
                values: vec![],
                other: None,
                timeline_quantile_error: 0.0,
                min: 0.04,
                max: 0.61,
                p05: 0.171,
                p50: 0.309,
                p95: 0.462,
                histogram: histogram(0.04, 0.61, 24, 0.31, 0.085, 0.1),
                timeline: timeline(
                    steps,
                    &dates,
                    |s| {
                        let mut v = 0.62 - 0.012 * f64::from(s);
                        if s >= 1 {
                            v -= 0.08;
                        }
                        if s >= 8 {
                            v -= 0.09;
                        }
                        v + if s >= 20 { 0.03 } else { 0.0 }
                    },
                    |s| 0.015 + 0.0035 * f64::from(s),
                ),
            },
            MetricSummary {
                id: "alliance_strain".into(),
                label: "Strain on the US–ROK alliance".into(),
                unit: "index 0–100".into(),
                mean: 46.3,
                sd: Some(11.2),
                quantile_error: 0.0,
                integer: false,
                kind: "continuous".into(),
                values: vec![],
                other: None,
                timeline_quantile_error: 0.0,
                min: 12.0,
                max: 91.0,
                p05: 29.8,
                p50: 45.1,
                p95: 66.4,
                histogram: histogram(12.0, 91.0, 30, 44.0, 9.0, 0.6),
                timeline: timeline(
                    steps,
                    &dates,
                    |s| {
                        let s = f64::from(s);
                        18.0 + 1.2 * s + if s >= 7.0 { 9.0 } else { 0.0 }
                            - if s >= 20.0 { 6.0 } else { 0.0 }
                    },
                    |s| 2.0 + 0.45 * f64::from(s),
                ),
            },
        ],
        parameters: vec![
            parameter(
                "japan_export_controls",
                "Severity of Japan's export controls",
                "0–1 severity",
                "pert(0.5, 0.75, 1)",
                "Licences per shipment from Jul 4, white-list removal from Aug 28.",
                "METI, 2019-07-01; Cabinet order 2019-08-02",
                0.75,
                drivers(0.5, 1.0, 0.16, 0.43, |t| t * t),
            ),
            parameter(
                "us_pressure",
                "US pressure to keep the pact",
                "0–1",
                "triangular(0.3, 0.6, 0.9)",
                "Esper, Milley and Stilwell visited Seoul in Nov 2019 to urge renewal.",
                "US DoD readouts, Nov 2019",
                0.6,
                drivers(0.3, 0.9, 0.41, 0.17, |t| t),
            ),
            parameter(
                "domestic_support",
                "Domestic support for a hard line on Japan",
                "share of respondents",
                "normal(0.55, 0.08, min 0.3, max 0.8)",
                "Gallup Korea: 51% favoured ending GSOMIA in Nov 2019 (+/- 3 pts).",
                "Gallup Korea Daily Opinion No. 380",
                0.55,
                drivers(0.4, 0.7, 0.24, 0.32, |t| t),
            ),
            parameter(
                "intel_value",
                "Value Seoul puts on Japanese intelligence",
                "0–1",
                "uniform(0, 1)",
                "Only 29 exchanges since 2016, mostly on North Korean missile launches.",
                "MND answers to the National Assembly, Aug 2019",
                0.5,
                drivers(0.0, 1.0, 0.30, 0.26, |t| t),
            ),
            parameter(
                "election_weight",
                "Weight of the April 2020 legislative election",
                "weight",
                "beta(2, 5)",
                "Elections < 6 months away & polls split on Japan policy.",
                "Author's judgement",
                0.29,
                drivers(0.02, 0.7, 0.25, 0.33, |t| (t * 3.0).sin().abs()),
            ),
        ],
        time_axis: TimeAxis {
            start: "2019-07-01".into(),
            unit: "week".into(),
            steps,
            dates,
        },
    }
}

/// `s` as `run --replications r` might give it: `s.runs / r` parameter sets, each outcome's
/// count spread over them around its mean (each set's k from 40% to 160% of it), with the
/// percentiles and the split of the variance computed from those k as a study would.
pub(crate) fn with_replications(s: &mut Summary, r: u64) {
    assert_eq!(s.runs % r, 0, "whole sets");
    let sets = s.runs / r;
    let runs = s.runs;
    let outcomes = s
        .outcomes
        .iter()
        .map(|o| replicated(&o.id, o.count, runs, sets, r))
        .collect();
    s.replications = Some(ReplicationInfo {
        replications: r,
        parameter_sets: sets,
        outcomes,
    });
}

fn replicated(id: &str, count: u64, runs: u64, sets: u64, r: u64) -> ReplicatedOutcome {
    let mean_k = count as f64 / sets as f64;
    let mut ks: Vec<u64> = (0..sets)
        .map(|j| {
            let t = (j as f64 + 0.5) / sets as f64 - 0.5;
            (mean_k * (1.0 + 1.2 * t)).round().clamp(0.0, r as f64) as u64
        })
        .collect();
    // Nudge the sets in turn until the k add up to the outcome's count.
    let mut total: u64 = ks.iter().sum();
    let mut j = 0;
    while total != count {
        let k = &mut ks[j % sets as usize];
        if total < count && *k < r {
            *k += 1;
            total += 1;
        } else if total > count && *k > 0 {
            *k -= 1;
            total -= 1;
        }
        j += 1;
    }
    ks.sort_unstable();
    assert_eq!(
        ks.iter().sum::<u64>(),
        count,
        "{id}: the sets' k add up to its runs"
    );
    let share = |k: u64| k as f64 / r as f64;
    let rank = |q: f64| share(ks[((q * sets as f64).ceil() as usize).clamp(1, ks.len()) - 1]);
    let mut sets_by_count: Vec<[u64; 2]> = Vec::new();
    for &k in &ks {
        match sets_by_count.last_mut() {
            Some([last, n]) if *last == k => *n += 1,
            _ => sets_by_count.push([k, 1]),
        }
    }
    let mean = count as f64 / runs as f64;
    let spread = ks.iter().map(|&k| (share(k) - mean).powi(2)).sum::<f64>() / (sets - 1) as f64;
    let chance = ks
        .iter()
        .map(|&k| (k * (r - k)) as f64 / (r * (r - 1)) as f64)
        .sum::<f64>()
        / sets as f64;
    let input = spread - chance / r as f64;
    let varies = count > 0 && count < runs;
    let input_share = varies.then(|| (input / (input + chance)).max(0.0));
    ReplicatedOutcome {
        id: id.into(),
        mean,
        p05: rank(0.05),
        p50: rank(0.5),
        p95: rank(0.95),
        input_variance: input,
        chance_variance: chance,
        input_share,
        input_share_ci95: input_share.map(|x| [x * 0.8, (x * 1.2).min(1.0)]),
        chance_in_spread: (varies && spread > 0.0).then(|| chance / r as f64 / spread),
        sets_by_count,
    }
}

/// The sample with replications: every chart applies to it.
pub(crate) fn sample_with_replications() -> Summary {
    let mut s = sample_summary();
    with_replications(&mut s, 20);
    s
}

/// Width and height from a PNG's IHDR chunk.
pub(crate) fn png_size(bytes: &[u8]) -> (u32, u32) {
    assert!(bytes.len() > 33, "too short for a PNG");
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "PNG signature");
    assert_eq!(&bytes[12..16], b"IHDR", "IHDR first");
    let w = u32::from_be_bytes([bytes[16], bytes[17], bytes[18], bytes[19]]);
    let h = u32::from_be_bytes([bytes[20], bytes[21], bytes[22], bytes[23]]);
    (w, h)
}

#[test]
fn every_chart_is_written_as_png_and_svg() {
    let summary = sample_with_replications();
    let dir = tempfile::tempdir().unwrap();
    let start = Instant::now();
    let written = write_charts(&summary, dir.path(), &ChartOptions::default()).unwrap();
    eprintln!("write_charts: {:?}", start.elapsed());

    let names: Vec<&str> = written.iter().map(|c| c.name).collect();
    assert_eq!(names, chart_names());
    for chart in &written {
        let png = std::fs::read(&chart.png).unwrap();
        assert_eq!(png_size(&png), chart.size, "{}", chart.name);
        assert!(chart.size.0 >= 1000 && chart.size.1 >= 600);

        let svg = std::fs::read_to_string(&chart.svg).unwrap();
        assert!(svg.trim_start().starts_with("<svg"), "{}", chart.name);
        assert!(svg.trim_end().ends_with("</svg>"), "{}", chart.name);
        assert!(
            svg.contains(&format!("width=\"{}\"", chart.size.0)),
            "{}",
            chart.name
        );
        assert!(svg.contains("GSOMIA 2019"), "{}: scenario name", chart.name);
        assert!(svg.contains("100,000 runs"), "{}: footer", chart.name);
        assert!(svg.contains("seed 20191122"), "{}: footer", chart.name);
        assert!(svg.contains("alliance-sim 0.1.0"), "{}: footer", chart.name);
        // Text is escaped in the SVG.
        assert!(!svg.contains("Japan & US"), "{}: raw &", chart.name);
        assert!(!svg.contains("<mediation>"), "{}: raw <", chart.name);
    }
    // Only the charts, no temporary files.
    let mut files: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    files.sort();
    let mut expected: Vec<String> = chart_names()
        .iter()
        .flat_map(|n| [format!("{n}.png"), format!("{n}.svg")])
        .collect();
    expected.sort();
    assert_eq!(files, expected);
}

#[test]
fn outcome_labels_are_in_the_outcomes_svg() {
    let summary = sample_summary();
    let dir = tempfile::tempdir().unwrap();
    write_charts(&summary, dir.path(), &ChartOptions::default()).unwrap();
    let svg = std::fs::read_to_string(dir.path().join("outcomes.svg")).unwrap();
    for word in [
        "GSOMIA terminated",
        "Renewed automatically",
        "Termination suspended",
    ] {
        assert!(svg.contains(word), "missing {word}");
    }
    for p in ["27.9%", "16.9%", "55.2%"] {
        assert!(svg.contains(p), "missing {p}");
    }
    let timeline = std::fs::read_to_string(dir.path().join("timeline.svg")).unwrap();
    assert!(timeline.contains("Japan removes Korea"));
    assert!(timeline.contains("Notify Tokyo"));
    assert!(
        !timeline.contains("US envoys"),
        "undated events are not marked"
    );
}

#[test]
fn main_outcome_can_be_chosen_and_must_exist() {
    let summary = sample_summary();
    let dir = tempfile::tempdir().unwrap();
    let options = ChartOptions {
        main_outcome: Some("renewed".into()),
        ..ChartOptions::default()
    };
    write_charts(&summary, dir.path(), &options).unwrap();
    let svg = std::fs::read_to_string(dir.path().join("drivers.svg")).unwrap();
    assert!(svg.contains("Renewed automatically"));

    let bad = ChartOptions {
        main_outcome: Some("nope".into()),
        ..ChartOptions::default()
    };
    let err = write_charts(&summary, dir.path(), &bad).unwrap_err();
    assert!(matches!(err, ReportError::UnknownOutcome { .. }));
    assert!(err.to_string().contains("terminated"));
}

#[test]
fn charts_that_do_not_apply_are_skipped() {
    let mut summary = sample_summary();
    summary.decisions.clear();
    summary.metrics.clear();
    for p in &mut summary.parameters {
        p.drivers.clear();
    }
    let dir = tempfile::tempdir().unwrap();
    let written = write_charts(&summary, dir.path(), &ChartOptions::default()).unwrap();
    let names: Vec<&str> = written.iter().map(|c| c.name).collect();
    assert_eq!(names, vec!["outcomes"]);
}

#[test]
fn degenerate_summaries_still_draw() {
    let mut summary = sample_summary();
    // One outcome at 100% (every set at k = R), constant metrics, a one-step axis, drivers
    // with one value.
    summary.outcomes.truncate(1);
    summary.outcomes[0].count = RUNS;
    summary.outcomes[0].probability = 1.0;
    summary.outcomes[0].ci95 = [0.99996, 1.0];
    with_replications(&mut summary, 20);
    for m in &mut summary.metrics {
        m.histogram = Histogram {
            edges: vec![2.0, 2.0],
            counts: vec![RUNS],
        };
        m.mean = 2.0;
        m.p05 = 2.0;
        m.p95 = 2.0;
        m.timeline.truncate(1);
        let q = &mut m.timeline[0];
        (q.p05, q.p25, q.p50, q.p75, q.p95) = (2.0, 2.0, 2.0, 2.0, 2.0);
    }
    summary.time_axis.steps = 1;
    summary.time_axis.dates.truncate(2);
    for e in &mut summary.events {
        e.step = e.step.map(|s| s.min(1));
    }
    for d in &mut summary.decisions {
        d.step = d.step.map(|s| s.min(1));
        if let Some(t) = &mut d.timing {
            // One step, holding every run that took it.
            (t.from, t.until) = (0, 1);
            let mut all = t.steps[0].clone();
            all.step = 1;
            for step in &t.steps[1..] {
                all.runs += step.runs;
                for (a, b) in all.options.iter_mut().zip(&step.options) {
                    *a += b;
                }
            }
            t.steps = vec![all];
        }
    }
    for p in &mut summary.parameters {
        for b in &mut p.drivers {
            b.lo = 1.0;
            b.hi = 1.0;
            b.outcomes.truncate(1);
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let written = write_charts(&summary, dir.path(), &ChartOptions::default()).unwrap();
    assert_eq!(written.len(), chart_names().len());
}

#[test]
fn many_items_grow_the_canvas() {
    let mut summary = sample_summary();
    let extra = summary.metrics[0].clone();
    for i in 0..5 {
        let mut m = extra.clone();
        m.id = format!("m{i}");
        summary.metrics.push(m);
    }
    let dir = tempfile::tempdir().unwrap();
    let written = write_charts(&summary, dir.path(), &ChartOptions::default()).unwrap();
    for c in &written {
        let png = std::fs::read(&c.png).unwrap();
        assert_eq!(png_size(&png), c.size);
    }
    let timeline = written.iter().find(|c| c.name == "timeline").unwrap();
    assert!(timeline.size.1 > 600);
}

#[test]
fn text_helpers() {
    assert_eq!(fmt_date("2019-08-19", false), "19 Aug 2019");
    assert_eq!(fmt_date("2019-08-19", true), "Aug 2019");
    assert_eq!(fmt_date("not a date", false), "not a date");
    assert_eq!(humanize("let_lapse"), "let lapse");

    ensure_font().unwrap();
    let lines = wrap(
        "Termination suspended on condition of export-control talks",
        150,
        14.0,
        2,
    );
    assert_eq!(lines.len(), 2);
    assert!(lines.iter().all(|l| text_width(l, 14.0) <= 150));
    assert!(lines[1].ends_with('…'));
    assert_eq!(wrap("short", 150, 14.0, 3), vec!["short".to_string()]);
    assert!(text_width("wide text", 20.0) > text_width("wide text", 10.0));
}

/// A crowded variant: many outcomes, options, metrics, parameters and clustered events.
pub(crate) fn crowded_summary() -> Summary {
    let mut s = sample_summary();
    s.scenario.name = "GSOMIA 2019 — crowded variant with a rather long scenario name".into();
    let extra = [
        (
            "talks",
            "Bilateral talks resume before the deadline, pact kept pending review",
        ),
        (
            "us_brokered",
            "US-brokered deal: pact kept, export controls eased in part",
        ),
        (
            "lapse_then_rejoin",
            "Pact lapses, then Seoul rejoins within six months",
        ),
        ("status_quo", "Status quo"),
        (
            "x",
            "Supercalifragilisticexpialidociousnessly-long-single-word outcome",
        ),
    ];
    let mut total = 0;
    for (i, (id, label)) in extra.iter().enumerate() {
        let count = 900 + 700 * i as u64;
        total += count;
        s.outcomes.push(outcome(id, label, count));
    }
    s.outcomes[2] = outcome(
        "suspended_conditionally",
        &s.outcomes[2].label.clone(),
        55_200 - total,
    );
    s.outcomes[0] = outcome("terminated", &s.outcomes[0].label.clone(), 27_930);
    s.decisions.push(DecisionSummary {
        id: "us_mediation".into(),
        label: "Accept US mediation on export controls and intelligence sharing".into(),
        actor: "Tokyo".into(),
        step: Some(9),
        not_taken: 4_000,
        fixed: false,
        recurring: None,
        timing: None,
        options: vec![
            option("accept", 40_000),
            option("accept_with_conditions", 30_000),
            option("refuse", 20_000),
            option("delay", 5_000),
            option("counter_offer", 1_000),
        ],
    });
    s.decisions.push(DecisionSummary {
        id: "wto".into(),
        label: "File a WTO complaint".into(),
        actor: "Seoul".into(),
        step: Some(10),
        not_taken: 0,
        fixed: false,
        recurring: None,
        timing: None,
        options: vec![option("file", 99_500), option("hold", 500)],
    });
    for (i, label) in [
        "Trade ministers meet in Beijing",
        "Joint drill cancelled",
        "Moon–Abe meeting in Bangkok",
        "Japan lifts part of the controls",
    ]
    .iter()
    .enumerate()
    {
        s.events.push(EventSummary {
            id: format!("e{i}"),
            label: label.to_string(),
            step: Some(8 + i as u32),
            mean_count: 1.0,
            share_fired: 1.0,
        });
    }
    for i in 0..3 {
        let mut m = s.metrics[i % 2].clone();
        m.id = format!("m{i}");
        m.label = format!("{} (copy {i})", m.label);
        s.metrics.push(m);
    }
    for i in 0..7 {
        let mut p = s.parameters[i % 5].clone();
        p.id = format!("p{i}");
        p.label = format!("{} — variant {i}", p.label);
        s.parameters.push(p);
    }
    // A bernoulli parameter: bins at 0 and 1 merge into two points.
    let mut b = s.parameters[0].clone();
    b.id = "snap_election".into();
    b.label = "Snap election called".into();
    b.unit = "".into();
    b.distribution = "bernoulli(0.3)".into();
    for (i, bin) in b.drivers.iter_mut().enumerate() {
        let v = if i < 7 { 0.0 } else { 1.0 };
        bin.lo = v;
        bin.hi = v;
    }
    s.parameters.push(b);
    s
}

#[test]
fn crowded_summary_draws() {
    let mut summary = crowded_summary();
    with_replications(&mut summary, 50);
    let dir = tempfile::tempdir().unwrap();
    let written = write_charts(&summary, dir.path(), &ChartOptions::default()).unwrap();
    assert_eq!(written.len(), chart_names().len());
    for c in &written {
        let png = std::fs::read(&c.png).unwrap();
        assert_eq!(png_size(&png), c.size);
    }
    // Eight outcomes: three rows of panels, taller than the base size.
    let replications = written.iter().find(|c| c.name == "replications").unwrap();
    assert_eq!(replications.size, (1000, 120 + 3 * 300));
}

#[test]
fn the_replications_chart_applies_only_with_replications_and_skips_outcomes_never_seen() {
    let dir = tempfile::tempdir().unwrap();
    let written = write_charts(&sample_summary(), dir.path(), &ChartOptions::default()).unwrap();
    assert!(written.iter().all(|c| c.name != "replications"));
    assert!(!dir.path().join("replications.png").exists());

    let mut summary = sample_summary();
    summary.outcomes.push(outcome(
        "notice_pending",
        "Notice pending at the end of the run",
        0,
    ));
    with_replications(&mut summary, 20);
    let dir = tempfile::tempdir().unwrap();
    let written = write_charts(&summary, dir.path(), &ChartOptions::default()).unwrap();
    let chart = written
        .iter()
        .find(|c| c.name == "replications")
        .expect("drawn with replications");
    assert_eq!(png_size(&std::fs::read(&chart.png).unwrap()), chart.size);
    // Three panels in one row: the base size.
    assert_eq!(chart.size, (1000, 600));
    let svg = std::fs::read_to_string(&chart.svg).unwrap();
    let r = summary.replications.as_ref().unwrap();
    for (o, row) in summary.outcomes.iter().zip(&r.outcomes).take(3) {
        let words: String = o.label.chars().take(16).collect();
        assert!(svg.contains(&words), "{}: its panel", o.id);
        let [lo, hi] = row.input_share_ci95.unwrap();
        let inputs = format!(
            "inputs: {} of variance [{}–{}]",
            crate::report::format::percent(row.input_share.unwrap()),
            crate::report::format::percent(lo),
            crate::report::format::percent(hi)
        );
        assert!(svg.contains(&inputs), "{inputs}");
        assert!(svg.contains(&format!(
            "95th pct {}",
            crate::report::format::percent(row.p95)
        )));
    }
    assert!(
        !svg.contains("Notice pending"),
        "no panel for an outcome never seen"
    );
    assert!(svg.contains("1 outcome no run ended in is not shown"));
    assert!(svg.contains("share of a set&apos;s 20 runs ending in it"));
    assert!(!svg.contains("<mediation>"), "labels escaped");
}

/// Every drivers bin of the sample with these counts of its three outcomes (and the runs they
/// add up to).
fn with_bins(summary: &mut Summary, counts: [u64; 3]) {
    let runs = counts.iter().sum();
    for p in &mut summary.parameters {
        for b in &mut p.drivers {
            b.runs = runs;
            b.outcomes = cells(&counts, runs);
        }
    }
}

#[test]
fn the_default_main_outcome_is_the_one_its_bins_estimate_best() {
    let mut summary = sample_summary();
    // The first outcome is rare in every bin (4 runs of 1,000): its panels would be noise. Of
    // the other two, the second is the more balanced (500 with, 500 without; 496 and 504).
    with_bins(&mut summary, [4, 500, 496]);
    assert_eq!(drivers::default_main_outcome(&summary), 1);
    // The smaller of "with" and "without" counts: 900 of 1,000 is as well estimated as 100.
    with_bins(&mut summary, [100, 900, 0]);
    assert_eq!(
        drivers::default_main_outcome(&summary),
        0,
        "ties go to the first"
    );
    // One bin where the second outcome is rare decides against it.
    with_bins(&mut summary, [300, 400, 300]);
    summary.parameters[0].drivers[3].outcomes = cells(&[300, 2, 698], 1000);
    assert_eq!(drivers::default_main_outcome(&summary), 0);
    // What the chart shows without --main-outcome.
    with_bins(&mut summary, [4, 500, 496]);
    let dir = tempfile::tempdir().unwrap();
    write_charts(&summary, dir.path(), &ChartOptions::default()).unwrap();
    let svg = std::fs::read_to_string(dir.path().join("drivers.svg")).unwrap();
    assert!(svg.contains("Renewed automatically"), "the second outcome");
}

#[test]
fn a_categorical_metric_is_drawn_as_a_bar_per_value_and_other() {
    let mut summary = sample_summary();
    let share = |count: u64| ValueShare {
        value: 0.0,
        label: String::new(),
        count,
        share: count as f64 / RUNS as f64,
        ci95: crate::montecarlo::aggregate::wilson(count, RUNS),
    };
    let mut status = summary.metrics[0].clone();
    status.id = "pact_status".into();
    status.label = "GSOMIA status".into();
    status.kind = "categorical".into();
    status.values = [
        (1.0, "in force", 60_000),
        (0.5, "notice pending", 39_000),
        (0.0, "", 0),
    ]
    .iter()
    .map(|&(value, label, count)| ValueShare {
        value,
        label: label.into(),
        ..share(count)
    })
    .collect();
    status.other = Some(OtherValues {
        count: 1000,
        share: 0.01,
        ci95: crate::montecarlo::aggregate::wilson(1000, RUNS),
        first_run: 17,
        first_value: 0.25,
    });
    summary.metrics.push(status);
    let mut tests = summary.metrics[0].clone();
    tests.id = "nk_tests".into();
    tests.kind = "count".into();
    tests.values = (0..50)
        .map(|v| ValueShare {
            value: f64::from(v),
            ..share(2000)
        })
        .collect();
    tests.other = None;
    summary.metrics.push(tests);
    let dir = tempfile::tempdir().unwrap();
    write_charts(&summary, dir.path(), &ChartOptions::default()).unwrap();
    let svg = std::fs::read_to_string(dir.path().join("metrics.svg")).unwrap();
    for text in [
        "in force",
        "\n0\n",
        "\nother\n",
        "1000 runs at other values",
    ] {
        assert!(svg.contains(text), "{text}");
    }
    let table = crate::report::table::render(&summary);
    assert!(table.contains("Metric values (end of run)"), "{table}");
    assert!(table.contains("1 in force"), "{table}");
    // The note wraps at 80 columns: read it with its line breaks as spaces.
    let flat = table.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(flat.contains("first: run 17 at 0.25"), "{table}");
    // Shown by value, not among the means.
    assert!(!table.contains("pact_status   "), "{table}");
}
