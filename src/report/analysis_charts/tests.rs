//! Hand-built analysis results, and the tests of their charts.
//!
//! To look at charts drawn from real studies, run `scripts/chart_gallery.sh`.

use std::path::{Path, PathBuf};

use super::*;
use crate::analysis::compare::{ItemDifference, OutcomeComparison, ScenarioRef};
use crate::analysis::sensitivity::{SobolIndex, TornadoBar};
use crate::analysis::sweep::{Axis, SweepPoint};
use crate::montecarlo::summary::OutcomeSummary;
use crate::report::charts::tests::png_size;

fn wilson(count: u64, n: u64) -> [f64; 2] {
    let (k, n) = (count as f64, n as f64);
    let z = 1.959_963_984_540_054_f64;
    let p = k / n;
    let denom = 1.0 + z * z / n;
    let centre = (p + z * z / (2.0 * n)) / denom;
    let half = z * (p * (1.0 - p) / n + z * z / (4.0 * n * n)).sqrt() / denom;
    [(centre - half).max(0.0), (centre + half).min(1.0)]
}

fn scenario(name: &str, file: &str) -> ScenarioRef {
    ScenarioRef {
        name: name.into(),
        file: file.into(),
        sha256: "0".repeat(64),
    }
}

pub(crate) fn sample_comparison() -> Comparison {
    let outcome = |id: &str, label: &str, p: [f64; 3], d: [[f64; 3]; 2]| OutcomeComparison {
        outcome: id.into(),
        label: label.into(),
        probabilities: p.to_vec(),
        ci95: p
            .iter()
            .map(|p| wilson((p * 2000.0) as u64, 2000))
            .collect(),
        differences: d.iter().map(|d| d[0]).collect(),
        differences_ci95: d.iter().map(|d| [d[1], d[2]]).collect(),
    };
    Comparison {
        runs: 2000,
        seed: 7,
        version: "0.1.0".into(),
        base: scenario("GSOMIA 2019", "scenarios/gsomia_2019.toml"),
        variants: vec![
            scenario(
                "GSOMIA 2019: strong early US lobbying",
                "scenarios/gsomia_2019_strong_lobbying.toml",
            ),
            scenario(
                "GSOMIA 2019: no trade war",
                "scenarios/gsomia_2019_no_trade_war.toml",
            ),
        ],
        outcomes: vec![
            outcome(
                "terminated",
                "GSOMIA terminated (notice given, pact lapsed)",
                [0.007, 0.0, 0.001],
                [[-0.007, -0.010, -0.003], [-0.006, -0.009, -0.003]],
            ),
            outcome(
                "renewed",
                "GSOMIA renewed (no notice)",
                [0.216, 0.962, 0.715],
                [[0.746, 0.727, 0.765], [0.499, 0.477, 0.521]],
            ),
            outcome(
                "mediated",
                "Japan & US <mediation> restores the pact",
                [0.777, 0.038, 0.284],
                [[-0.739, -0.760, -0.718], [-0.493, -0.515, -0.471]],
            ),
        ],
        changes: vec![
            vec![ItemDifference {
                kind: "parameter".into(),
                id: "us_lobbying_intensity".into(),
                change: "changed".into(),
                base: Some("triangular(0.4, 0.7, 0.9)".into()),
                variant: Some("triangular(0.7, 0.9, 1)".into()),
            }],
            vec![],
        ],
    }
}

fn outcome_summary(id: &str, label: &str, p: f64, runs: u64) -> OutcomeSummary {
    let count = (p * runs as f64).round() as u64;
    OutcomeSummary {
        id: id.into(),
        label: label.into(),
        count,
        probability: count as f64 / runs as f64,
        ci95: wilson(count, runs),
    }
}

fn axis(parameter: &str, label: &str, unit: &str, lo: f64, hi: f64, steps: usize) -> Axis {
    Axis {
        parameter: parameter.into(),
        label: label.into(),
        unit: unit.into(),
        values: (0..steps)
            .map(|i| lo + (hi - lo) * i as f64 / (steps - 1) as f64)
            .collect(),
        index: 0,
    }
}

/// Three outcomes over a cost-sharing grid; `terminated` is rare.
pub(crate) fn sample_sweep() -> Sweep {
    let runs = 5000;
    let a = axis(
        "us_cost_share_demand_busd",
        "US cost-sharing demand for 2020",
        "USD bn per year",
        0.9,
        6.0,
        18,
    );
    let points = a
        .values
        .iter()
        .map(|&x| {
            let t = (x - 0.9) / 5.1;
            let terminated = 0.004 + 0.005 * t;
            let renewed = 0.23 - 0.01 * t;
            SweepPoint {
                values: vec![x],
                outcomes: vec![
                    outcome_summary(
                        "terminated",
                        "GSOMIA terminated (notice given, pact lapsed)",
                        terminated,
                        runs,
                    ),
                    outcome_summary("renewed", "GSOMIA renewed (no notice)", renewed, runs),
                    outcome_summary(
                        "suspended",
                        "Notice suspended conditionally (the 2019 path)",
                        1.0 - terminated - renewed,
                        runs,
                    ),
                ],
            }
        })
        .collect();
    Sweep {
        scenario: "GSOMIA 2019".into(),
        runs_per_point: runs,
        seed: 7,
        version: "0.1.0".into(),
        axes: vec![a],
        points,
    }
}

pub(crate) fn sample_heatmap(n0: usize, n1: usize) -> Sweep {
    let runs = 2000;
    let a = axis(
        "japan_export_controls",
        "Severity of Japan's export controls",
        "0-1 severity",
        0.0,
        1.0,
        n0,
    );
    let b = axis(
        "us_lobbying_intensity",
        "Intensity of US lobbying on Seoul",
        "0-1",
        0.0,
        1.0,
        n1,
    );
    let mut points = Vec::new();
    for &x in &a.values {
        for &y in &b.values {
            let p = 0.45 * x * (1.0 - y).powi(3) + 0.01;
            points.push(SweepPoint {
                values: vec![x, y],
                outcomes: vec![
                    outcome_summary("terminated", "GSOMIA terminated", p, runs),
                    outcome_summary("renewed", "GSOMIA renewed", 1.0 - p, runs),
                ],
            });
        }
    }
    Sweep {
        scenario: "GSOMIA 2019".into(),
        runs_per_point: runs,
        seed: 7,
        version: "0.1.0".into(),
        axes: vec![a, b],
        points,
    }
}

fn bar(parameter: &str, label: &str, unit: &str, values: [f64; 4]) -> TornadoBar {
    TornadoBar {
        parameter: parameter.into(),
        label: label.into(),
        unit: unit.into(),
        low_value: values[0],
        high_value: values[1],
        at_low: values[2],
        at_high: values[3],
        swing: (values[3] - values[2]).abs(),
    }
}

pub(crate) fn sample_tornado() -> Tornado {
    Tornado {
        target: "terminated".into(),
        target_label: "P(GSOMIA terminated (notice given, pact lapsed))".into(),
        target_kind: "outcome".into(),
        target_unit: String::new(),
        runs_per_point: 4000,
        seed: 7,
        version: "0.1.0".into(),
        baseline: 0.002,
        bars: vec![
            bar(
                "us_lobbying_intensity",
                "Intensity of US lobbying on Seoul",
                "0-1",
                [0.4866, 0.8293, 0.0120, 0.0005],
            ),
            bar(
                "decision_temperature",
                "Decision temperature (noise in choices)",
                "utility units",
                [0.1194, 0.2226, 0.0, 0.0110],
            ),
            bar(
                "japan_talks_offer",
                "Tokyo offers export-control talks at the deadline",
                "0 or 1",
                [0.0, 1.0, 0.0090, 0.0040],
            ),
            bar(
                "leverage_learning",
                "How much Seoul's belief in the pact as a lever falls when the lever fails",
                "0-1",
                [0.3632, 0.6368, 0.002, 0.002],
            ),
        ],
    }
}

pub(crate) fn sample_sobol() -> Sobol {
    let index = |p: &str, label: &str, s: [f64; 3], t: [f64; 3]| SobolIndex {
        parameter: p.into(),
        label: label.into(),
        first_order: s[0],
        first_order_ci95: [s[1], s[2]],
        total: t[0],
        total_ci95: [t[1], t[2]],
    };
    Sobol {
        target: "y".into(),
        target_label: "Ishigami y".into(),
        base_rows: 2048,
        model_runs: 10240,
        seed: 7,
        version: "0.1.0".into(),
        bootstrap_resamples: 500,
        variance: 14.07,
        indices: vec![
            index(
                "x1",
                "Ishigami input 1",
                [0.320, 0.252, 0.374],
                [0.545, 0.482, 0.603],
            ),
            index(
                "x2",
                "Ishigami input 2",
                [0.429, 0.376, 0.479],
                [0.444, 0.415, 0.473],
            ),
            index(
                "x3",
                "Ishigami input 3",
                [-0.023, -0.070, 0.021],
                [0.240, 0.222, 0.259],
            ),
        ],
    }
}

/// The files in `dir`, sorted.
fn files_in(dir: &Path) -> Vec<String> {
    let mut files: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    files.sort();
    files
}

/// Checks that `written` is `[<name>.png, <name>.svg]` in `dir`, the PNG of `size`, the SVG
/// complete, of the same size, with the footer, the scenario name and every one of `texts`.
fn check_chart(written: &[PathBuf], dir: &Path, name: &str, size: (u32, u32), texts: &[&str]) {
    assert_eq!(
        written,
        [
            dir.join(format!("{name}.png")),
            dir.join(format!("{name}.svg"))
        ]
    );
    let png = std::fs::read(&written[0]).unwrap();
    assert_eq!(png_size(&png), size, "{name}.png");
    assert!(
        size.0 >= WIDTH && size.1 >= MIN_LIST_HEIGHT,
        "{name}: {size:?}"
    );
    let svg = std::fs::read_to_string(&written[1]).unwrap();
    assert!(svg.trim_start().starts_with("<svg"), "{name}.svg");
    assert!(svg.trim_end().ends_with("</svg>"), "{name}.svg is complete");
    assert!(svg.contains(&format!("width=\"{}\"", size.0)), "{name}.svg");
    assert!(
        svg.contains(&format!("height=\"{}\"", size.1)),
        "{name}.svg"
    );
    assert!(svg.contains("seed 7"), "{name}: footer");
    assert!(svg.contains("alliance-sim 0.1.0"), "{name}: footer");
    for text in texts {
        assert!(svg.contains(text), "{name}.svg lacks {text:?}");
    }
    // Only the chart, no temporary files.
    let mut expected = vec![format!("{name}.png"), format!("{name}.svg")];
    expected.sort();
    assert_eq!(files_in(dir), expected);
}

#[test]
fn comparison_chart() {
    let c = sample_comparison();
    let dir = tempfile::tempdir().unwrap();
    let written = write_comparison_chart(&c, dir.path()).unwrap();
    let size = comparison::ComparisonChart::new(&c).size();
    check_chart(
        &written,
        dir.path(),
        "comparison",
        size,
        &[
            "Difference from the base scenario",
            "GSOMIA 2019",
            "2,000 runs per scenario",
            "Variant 1: GSOMIA 2019: strong early US lobbying",
            "Variant 2: GSOMIA 2019: no trade war",
            "gsomia_2019_strong_lobbying.toml · 1 change",
            "GSOMIA terminated (notice given, pact lapsed)",
            "GSOMIA renewed (no notice)",
            "+74.6 [+72.7, +76.5]",
            "−73.9 [−76.0, −71.8]",
            "21.6% → 96.2%",
            "percentage points",
            "Japan &amp; US &lt;mediation&gt;",
        ],
    );
    // Two groups of three outcomes, and their headings: the canvas grows.
    assert!(size.1 >= FRAME_HEIGHT + 8 * 28);
}

#[test]
fn one_parameter_sweep_chart() {
    let s = sample_sweep();
    let dir = tempfile::tempdir().unwrap();
    let written = write_sweep_charts(&s, dir.path(), None).unwrap();
    let size = sweep::SweepChart::new(&s, None).size();
    check_chart(
        &written,
        dir.path(),
        "sweep",
        size,
        &[
            "How the outcomes move with one parameter",
            "GSOMIA 2019",
            "5,000 runs per point",
            "US cost-sharing demand for 2020 (USD bn per year)",
            "probability (% of runs)",
            "GSOMIA renewed (no notice)",
            "0.4% → 0.9%",
            "0%",
        ],
    );
    let svg = std::fs::read_to_string(&written[1]).unwrap();
    assert!(
        !svg.contains("Zoom"),
        "no zoom panel without a main outcome"
    );
}

#[test]
fn a_rare_main_outcome_gets_a_zoom_panel() {
    let s = sample_sweep();
    let dir = tempfile::tempdir().unwrap();
    let written = write_sweep_charts(&s, dir.path(), Some("terminated")).unwrap();
    let plain = sweep::SweepChart::new(&s, None).size();
    let zoomed = sweep::SweepChart::new(&s, Some(0)).size();
    assert!(zoomed.1 > plain.1);
    check_chart(
        &written,
        dir.path(),
        "sweep",
        zoomed,
        &["Zoom: “GSOMIA terminated (notice given, pact lapsed)” on its own scale"],
    );
    // A common main outcome needs none.
    assert_eq!(sweep::SweepChart::new(&s, Some(2)).size(), plain);
}

#[test]
fn two_parameter_sweep_draws_a_heatmap() {
    let s = sample_heatmap(4, 4);
    let dir = tempfile::tempdir().unwrap();
    let written = write_sweep_charts(&s, dir.path(), None).unwrap();
    let size = sweep_heatmap::HeatmapChart::new(&s, 0).size();
    let p = s.points[3 * 4].outcomes[0].probability;
    check_chart(
        &written,
        dir.path(),
        "sweep_heatmap",
        size,
        &[
            "How the main outcome depends on two parameters",
            "probability of “GSOMIA terminated”",
            "Severity of Japan&apos;s export controls (0-1 severity)",
            "Intensity of US lobbying on Seoul (0-1)",
            "2,000 runs per point",
            "0.33",
            // Values are printed in the cells of a small grid.
            &crate::report::format::percent(p),
        ],
    );

    // Another main outcome.
    let dir = tempfile::tempdir().unwrap();
    let written = write_sweep_charts(&s, dir.path(), Some("renewed")).unwrap();
    let svg = std::fs::read_to_string(&written[1]).unwrap();
    assert!(svg.contains("probability of “GSOMIA renewed”"));
}

#[test]
fn big_heatmaps_leave_the_cells_unlabelled() {
    let s = sample_heatmap(13, 20);
    let dir = tempfile::tempdir().unwrap();
    let written = write_sweep_charts(&s, dir.path(), None).unwrap();
    let svg = std::fs::read_to_string(&written[1]).unwrap();
    let p = s.points[5].outcomes[0].probability;
    assert!(!svg.contains(&format!(">{}<", crate::report::format::percent(p))));
    let png = std::fs::read(&written[0]).unwrap();
    assert_eq!(
        png_size(&png),
        sweep_heatmap::HeatmapChart::new(&s, 0).size()
    );
}

#[test]
fn unknown_main_outcome_is_an_error() {
    let s = sample_sweep();
    let dir = tempfile::tempdir().unwrap();
    let err = write_sweep_charts(&s, dir.path(), Some("nope")).unwrap_err();
    let text = err.to_string();
    assert!(text.contains("nope") && text.contains("terminated, renewed, suspended"));
    assert!(files_in(dir.path()).is_empty());
}

#[test]
fn tornado_chart() {
    let t = sample_tornado();
    let dir = tempfile::tempdir().unwrap();
    let written = write_tornado_chart(&t, "GSOMIA 2019", dir.path()).unwrap();
    let size = tornado::TornadoChart::new(&t, "GSOMIA 2019").size();
    check_chart(
        &written,
        dir.path(),
        "tornado",
        size,
        &[
            "Tornado",
            "GSOMIA 2019",
            "4,000 runs per point",
            "Intensity of US lobbying on Seoul",
            "us_lobbying_intensity · 0-1",
            // The parameter's values at the bar ends.
            "0.487",
            "0.829",
            "0.119",
            "0.223",
            "baseline, all at medians: 0.20%",
            "probability of “GSOMIA terminated (notice given, pact lapsed)” (% of runs)",
        ],
    );
}

#[test]
fn tornado_of_a_metric_uses_its_unit() {
    let mut t = sample_tornado();
    t.target = "trade_loss".into();
    t.target_label = "Korean trade loss".into();
    t.target_kind = "metric".into();
    t.target_unit = "USD bn".into();
    t.baseline = -3.0;
    for (b, (lo, hi)) in
        t.bars
            .iter_mut()
            .zip([(-5.0, -1.0), (-2.0, -4.0), (-3.0, -3.5), (-3.0, -3.0)])
    {
        b.at_low = lo;
        b.at_high = hi;
        b.swing = (hi - lo).abs();
    }
    let dir = tempfile::tempdir().unwrap();
    let written = write_tornado_chart(&t, "GSOMIA 2019", dir.path()).unwrap();
    let svg = std::fs::read_to_string(&written[1]).unwrap();
    assert!(svg.contains("Korean trade loss (USD bn)"));
    assert!(svg.contains("baseline, all at medians: −3.00"));
}

#[test]
fn sobol_chart() {
    let s = sample_sobol();
    let dir = tempfile::tempdir().unwrap();
    let written = write_sobol_chart(&s, "Ishigami function", dir.path()).unwrap();
    let size = sobol::SobolChart::new(&s, "Ishigami function").size();
    check_chart(
        &written,
        dir.path(),
        "sobol",
        size,
        &[
            "Sobol sensitivity indices",
            "Ishigami function",
            "Ishigami y",
            "10,240 model runs",
            "2,048 base rows",
            "500 bootstrap resamples",
            "Ishigami input 1",
            "S 0.320 [0.252, 0.374]",
            "ST 0.545 [0.482, 0.603]",
            "S −0.023 [−0.070, 0.021]",
            "first order",
            "total",
        ],
    );
}

#[test]
fn many_rows_grow_the_canvas_and_are_capped() {
    let mut t = sample_tornado();
    let template = t.bars[0].clone();
    t.bars = (0..40)
        .map(|i| TornadoBar {
            parameter: format!("p{i}"),
            label: format!("Parameter number {i}"),
            swing: 0.01 - f64::from(i) * 0.0002,
            ..template.clone()
        })
        .collect();
    let chart = tornado::TornadoChart::new(&t, "Many");
    let (_, h) = chart.size();
    assert!(h > 1000, "{h}");
    let dir = tempfile::tempdir().unwrap();
    let written = write_tornado_chart(&t, "Many", dir.path()).unwrap();
    let svg = std::fs::read_to_string(&written[1]).unwrap();
    assert!(svg.contains("top 30 of 40 parameters"));
    assert!(svg.contains("Parameter number 29"));
    assert!(!svg.contains("Parameter number 30"));
    assert_eq!(png_size(&std::fs::read(&written[0]).unwrap()), (WIDTH, h));
}

#[test]
fn degenerate_results_still_draw() {
    let dir = tempfile::tempdir().unwrap();

    let mut t = sample_tornado();
    t.bars.clear();
    write_tornado_chart(&t, "Empty", dir.path()).unwrap();
    let mut t = sample_tornado();
    t.baseline = f64::NAN;
    for b in &mut t.bars {
        b.at_low = 0.0;
        b.at_high = 0.0;
    }
    write_tornado_chart(&t, "Zero", dir.path()).unwrap();

    let mut s = sample_sobol();
    s.indices[0].first_order = f64::NAN;
    s.indices[0].first_order_ci95 = [f64::NAN, f64::NAN];
    s.indices[1].total_ci95 = [f64::NAN, 0.5];
    write_sobol_chart(&s, "NaN", dir.path()).unwrap();
    s.indices.clear();
    write_sobol_chart(&s, "Empty", dir.path()).unwrap();

    let mut c = sample_comparison();
    for o in &mut c.outcomes {
        for d in &mut o.differences {
            *d = 0.0;
        }
        for ci in &mut o.differences_ci95 {
            *ci = [0.0, 0.0];
        }
    }
    write_comparison_chart(&c, dir.path()).unwrap();
    c.outcomes.clear();
    write_comparison_chart(&c, dir.path()).unwrap();

    // A flat sweep at zero, and one with no points.
    let mut s = sample_sweep();
    for p in &mut s.points {
        for o in &mut p.outcomes {
            o.probability = 0.0;
            o.count = 0;
            o.ci95 = [0.0, 0.0];
        }
    }
    write_sweep_charts(&s, dir.path(), Some("renewed")).unwrap();
    let mut h = sample_heatmap(2, 3);
    for p in &mut h.points {
        p.outcomes[0].probability = 1.0;
    }
    write_sweep_charts(&h, dir.path(), None).unwrap();
    s.points.clear();
    assert!(write_sweep_charts(&s, dir.path(), None).unwrap().is_empty());
}

#[test]
fn axes_are_round_and_start_at_zero_for_probabilities() {
    let a = probability_axis(0.657);
    assert_eq!(a.lo, 0.0);
    assert!((a.hi - 0.7).abs() < 1e-12, "{a:?}");
    assert_eq!(a.labels(), 8);
    let a = probability_axis(0.446);
    assert!(
        (a.hi - 0.5).abs() < 1e-12 && (a.step - 0.1).abs() < 1e-12,
        "{a:?}"
    );
    let a = probability_axis(0.0097);
    assert_eq!(a.lo, 0.0);
    assert!((a.hi - 0.012).abs() < 1e-12, "{a:?}");
    assert_eq!(a.labels(), 7);
    assert_eq!(probability_axis(0.99).hi, 1.0);
    assert_eq!(probability_axis(0.0).hi, 0.01);
    assert_eq!(probability_axis(f64::NAN).hi, 0.01);

    let r = nice_range(-61.7, 73.5, 8);
    assert_eq!((r.lo, r.hi, r.step), (-80.0, 80.0, 20.0));
    assert_eq!(r.labels(), 9);
    let r = nice_range(-0.189, 0.553, 8);
    assert!(
        (r.lo + 0.2).abs() < 1e-12 && (r.hi - 0.6).abs() < 1e-12,
        "{r:?}"
    );
    // A degenerate range still has room.
    let r = nice_range(0.0, 0.0, 8);
    assert!(r.hi > r.lo);

    assert_eq!(outcome_label("P(GSOMIA (lapsed))"), Some("GSOMIA (lapsed)"));
    assert_eq!(outcome_label("Trade loss"), None);
    assert_eq!(
        footer(2000, "runs per point", 7, ""),
        "2,000 runs per point · seed 7 · alliance-sim"
    );
}
