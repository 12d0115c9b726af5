//! Sweeps, sensitivity, comparison, Latin hypercube and precision stopping, through the library.

use std::path::Path;
use std::sync::atomic::AtomicBool;

use alliance_sim::analysis::sensitivity::{sobol, tornado, Target};
use alliance_sim::analysis::sweep::{sweep, Axis};
use alliance_sim::model::{self, Model};
use alliance_sim::montecarlo::{run_study, run_until_precise, Sampling, StudyConfig, Summary};
use alliance_sim::scenario;

fn load(path: &str) -> Model {
    model::compile(scenario::load(Path::new(path)).expect("loads")).expect("compiles")
}

fn config(runs: u64, seed: u64) -> StudyConfig {
    StudyConfig {
        runs,
        seed,
        fixed: vec![],
        timeline: false,
        sampling: Sampling::MonteCarlo,
        design: None,
        replications: 1,
    }
}

fn no_progress(_: u64) {}

#[test]
fn sobol_recovers_the_ishigami_indices() {
    let m = load("scenarios/examples/ishigami.toml");
    let target = Target::resolve(&m, Some("y")).expect("metric y");
    let s = sobol(
        &m,
        &config(16384, 11),
        &target,
        300,
        &no_progress,
        &AtomicBool::new(false),
    )
    .expect("runs");
    let expected = [
        ("x1", 0.3139, 0.5576),
        ("x2", 0.4424, 0.4424),
        ("x3", 0.0, 0.2437),
    ];
    for (id, first, total) in expected {
        let i = s.indices.iter().find(|i| i.parameter == id).expect("index");
        let [flo, fhi] = i.first_order_ci95;
        let [tlo, thi] = i.total_ci95;
        assert!(
            flo <= first && first <= fhi,
            "{id}: S = {first} outside [{flo}, {fhi}] (estimate {})",
            i.first_order
        );
        assert!(
            tlo <= total && total <= thi,
            "{id}: ST = {total} outside [{tlo}, {thi}] (estimate {})",
            i.total
        );
        assert!(
            (i.first_order - first).abs() < 0.05 && (i.total - total).abs() < 0.05,
            "{id}: {i:?}"
        );
    }
    // The analytical variance is a^2/8 + b pi^4/5 + b^2 pi^8/18 + 1/2 = 13.8446.
    assert!(
        (s.variance - 13.8446).abs() < 0.4,
        "variance {}",
        s.variance
    );
}

#[test]
fn tornado_ranks_the_only_influential_parameter_first() {
    let m = load("scenarios/examples/ishigami.toml");
    // P(y > 3.5) with x2 swinging: 7 sin^2(x2) dominates y.
    let t = tornado(
        &m,
        &config(2000, 3),
        &Target::Outcome(0),
        &no_progress,
        &AtomicBool::new(false),
    )
    .expect("runs");
    assert_eq!(t.bars.len(), 3);
    assert!(
        t.bars.windows(2).all(|w| w[0].swing >= w[1].swing),
        "sorted by swing"
    );
    // x3 enters only through x3^4 sin(x1) with sin(x1) at its median 0: no swing at all.
    let x3 = t.bars.iter().find(|b| b.parameter == "x3").expect("x3");
    assert_eq!(x3.swing, 0.0);
}

#[test]
fn sweep_holds_the_parameter_and_shares_random_numbers() {
    let m = load("scenarios/examples/ishigami.toml");
    let x2 = m.parameter_index("x2").expect("x2");
    let axis = Axis::evenly_spaced(&m, x2, -1.5, 1.5, 3);
    assert_eq!(axis.values, vec![-1.5, 0.0, 1.5]);
    let s = sweep(
        &m,
        &config(3000, 5),
        vec![axis],
        &no_progress,
        &AtomicBool::new(false),
    )
    .expect("runs");
    assert_eq!(s.points.len(), 3);
    // y is even in x2, and the three points share random numbers: the outer points agree exactly.
    assert_eq!(s.points[0].outcomes[0].count, s.points[2].outcomes[0].count);
    assert!(s.points[1].outcomes[0].probability < s.points[0].outcomes[0].probability);
    let csv = String::from_utf8(s.to_csv().expect("csv")).expect("utf8");
    assert_eq!(
        csv.lines().count(),
        1 + 3 * 2,
        "one row per point and outcome"
    );
    assert!(csv.starts_with("point,x2,outcome,label,count,runs,probability,ci95_low,ci95_high"));
}

#[test]
fn latin_hypercube_is_reproducible_and_thread_invariant() {
    let m = load("scenarios/gsomia_2019.toml");
    let mut c = config(5000, 8);
    c.sampling = Sampling::LatinHypercube;
    let one = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .expect("pool");
    let a = one
        .install(|| run_study(&m, &c, None, &no_progress, &AtomicBool::new(false)))
        .expect("runs");
    let b = run_study(&m, &c, None, &no_progress, &AtomicBool::new(false)).expect("runs");
    assert_eq!(a, b);
    assert_eq!(a.sampling, "latin-hypercube");
    // Stratification pins each parameter's mean closer to the distribution's than plain MC would.
    for (p, s) in m.parameters.iter().zip(&a.parameters) {
        let sd = p.distribution.variance().sqrt();
        assert!(
            (s.mean - p.distribution.mean()).abs() <= 0.01 * sd + 1e-12,
            "{}: {} vs {}",
            p.id,
            s.mean,
            p.distribution.mean()
        );
    }
}

#[test]
fn precision_stops_when_every_interval_is_narrow_enough() {
    let m = load("scenarios/gsomia_2019.toml");
    let c = config(1_000_000, 2);
    let h = 0.01;
    let s = run_until_precise(&m, &c, h, 8192, None, &no_progress, &AtomicBool::new(false))
        .expect("runs");
    assert!(s.runs < 1_000_000, "stopped early at {}", s.runs);
    assert_eq!(s.runs % 8192, 0, "whole batches");
    // Both sides of every interval, not their mean: Wilson intervals are lopsided.
    let sides_within = |o: &alliance_sim::montecarlo::summary::OutcomeSummary| {
        o.probability - o.ci95[0] <= h && o.ci95[1] - o.probability <= h
    };
    for o in &s.outcomes {
        assert!(sides_within(o), "{}: {:?}", o.id, o.ci95);
    }
    let report = s.precision.as_ref().expect("a precision report");
    assert!(report.met && report.target == h && report.ceiling == 1_000_000);
    assert!(report.below <= h && report.above <= h);
    // One batch fewer would not have been precise enough, and the result is a plain study's.
    let fewer = run_study(
        &m,
        &config(s.runs - 8192, 2),
        None,
        &no_progress,
        &AtomicBool::new(false),
    )
    .expect("runs");
    assert!(!fewer.outcomes.iter().all(sides_within));
    assert!(
        fewer.precision.is_none(),
        "a plain study has no precision report"
    );
    let same = run_study(
        &m,
        &config(s.runs, 2),
        None,
        &no_progress,
        &AtomicBool::new(false),
    )
    .expect("runs");
    assert_eq!(same.outcomes, s.outcomes);
    assert_eq!(
        Summary {
            precision: None,
            ..s
        },
        same
    );
}
