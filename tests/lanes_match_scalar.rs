//! The engine at 16 lanes (several runs at once, as studies run) must give exactly what it
//! gives at one lane (one run, as `explain` runs and as a failing batch is rerun) for every
//! run: outcome, choices, event counts, end metrics and every step's metrics, bit for bit, and
//! fail in exactly the same runs. Checked on every shipped scenario and on randomly written
//! ones, including expressions that fail.

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

use alliance_sim::engine::{Engine, RunError, LANES};
use alliance_sim::model::{self, Model};
use alliance_sim::montecarlo::{run_study, sample_parameters, StudyConfig, StudyError};
use alliance_sim::rng::RunStream;
use alliance_sim::scenario;
use proptest::prelude::*;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn load(path: &Path) -> Model {
    let scenario = scenario::load(path).unwrap_or_else(|d| panic!("{}", d.render(false)));
    model::compile(scenario).unwrap_or_else(|d| panic!("{}", d.render(false)))
}

fn config(runs: u64, seed: u64) -> StudyConfig {
    StudyConfig {
        runs,
        seed,
        fixed: Vec::new(),
        timeline: true,
        sampling: Default::default(),
        design: None,
        replications: 1,
    }
}

/// Runs `runs` runs both ways, `live` runs per batch, and compares them. Returns how many runs
/// failed (the same ones both ways, or the test fails).
fn compare(model: &Model, seed: u64, runs: u64, live: usize) -> u64 {
    let config = config(runs, seed);
    let mut lanes = Engine::<LANES>::new(model, true);
    let mut one = Engine::<1>::new(model, true);
    let p = model.parameters.len();
    let mut params = vec![vec![0.0; p]; LANES];
    let mut uniforms = vec![0.0; p];
    let mut failed = 0;
    let mut first = 0;
    while first < runs {
        let n = live.min((runs - first) as usize);
        for (lane, values) in params.iter_mut().enumerate().take(n) {
            let run = first + lane as u64;
            let stream = RunStream::new(seed, run);
            sample_parameters(model, &config, run, stream, values, &mut uniforms);
            lanes.load(lane, run, stream, values);
        }
        let batch = lanes.run(n);
        let mut any_failed = false;
        for (lane, values) in params.iter().enumerate().take(n) {
            let run = first + lane as u64;
            one.load(0, run, RunStream::new(seed, run), values);
            if one.run(1).is_err() {
                any_failed = true;
                failed += 1;
                continue;
            }
            if batch.is_err() {
                continue;
            }
            assert_eq!(one.outcome(0), lanes.outcome(lane), "run {run}: outcome");
            for d in 0..model.decisions.len() {
                assert_eq!(
                    one.choice(d, 0),
                    lanes.choice(d, lane),
                    "run {run}: decision {d}"
                );
            }
            for e in 0..model.events.len() {
                assert_eq!(
                    one.event_count(e, 0),
                    lanes.event_count(e, lane),
                    "run {run}: event {e}"
                );
            }
            for k in 0..model.metrics.len() {
                assert_eq!(
                    one.metric(k, 0).to_bits(),
                    lanes.metric(k, lane).to_bits(),
                    "run {run}: metric {k}"
                );
            }
            let (narrow, wide) = (one.timeline(), lanes.timeline());
            assert_eq!(narrow.len(), wide.len());
            let m = model.metrics.len();
            for (at, (v, w)) in narrow.iter().zip(wide).enumerate() {
                assert_eq!(
                    v[0].to_bits(),
                    w[lane].to_bits(),
                    "run {run}: metric {} at step {}",
                    at % m,
                    at / m
                );
            }
        }
        assert_eq!(
            batch.is_err(),
            any_failed,
            "runs {first}..{}: at {LANES} lanes the batch {} but one by one the runs {}",
            first + n as u64,
            if batch.is_err() {
                "failed"
            } else {
                "succeeded"
            },
            if any_failed { "failed" } else { "succeeded" },
        );
        first += n as u64;
    }
    failed
}

/// The first error of runs `0..runs` run one at a time.
fn first_error_one_by_one(model: &Model, seed: u64, runs: u64) -> Option<RunError> {
    let config = StudyConfig {
        timeline: false,
        ..config(runs, seed)
    };
    let mut one = Engine::<1>::new(model, false);
    let mut params = vec![0.0; model.parameters.len()];
    let mut uniforms = vec![0.0; model.parameters.len()];
    (0..runs).find_map(|run| {
        let stream = RunStream::new(seed, run);
        sample_parameters(model, &config, run, stream, &mut params, &mut uniforms);
        one.load(0, run, stream, &params);
        one.run(1).err()
    })
}

fn shipped_scenarios() -> Vec<PathBuf> {
    let mut paths = vec![
        root().join("benches/heavy.toml"),
        root().join("benches/frozen/gsomia_2019_frozen.toml"),
        root().join("tests/fixtures/minimal.toml"),
    ];
    for dir in ["scenarios", "scenarios/history", "scenarios/examples"] {
        let mut found: Vec<PathBuf> = std::fs::read_dir(root().join(dir))
            .expect("scenario folder")
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "toml"))
            .collect();
        found.sort();
        paths.extend(found);
    }
    paths
}

#[test]
fn every_shipped_scenario_gives_the_same_runs_in_lanes() {
    for path in shipped_scenarios() {
        let model = load(&path);
        // A run count that is not a multiple of the lane count, and batches that are not full.
        let failed = compare(&model, 11, 3 * LANES as u64 * 41 + 5, LANES);
        assert_eq!(failed, 0, "{}", path.display());
        compare(&model, 12, 37, 3);
    }
}

/// A scenario whose expressions are written by the test; `p` and `q` are uniform on [-2, 2].
fn scenario_text(
    rule_when: &str,
    effect: &str,
    utility: &str,
    probability: &str,
    metric: &str,
) -> String {
    format!(
        r#"
[scenario]
name = "Generated"
description = "Written by a property test."
start = 2020-01-06
step = "week"
steps = 6
runs = 100
seed = 1

[parameters.p]
dist = "uniform"
min = -2
max = 2

[parameters.q]
dist = "uniform"
min = -2
max = 2

[actors.a.vars.x]
init = "p"
min = -1000
max = 1000

[actors.a.vars.y]
init = "q"

[derived]
d = "{effect}"

[events.tick]
probability = "{probability}"
effects = [{{ var = "a.y", add = "0.5" }}]

[rules.move]
when = "{rule_when}"
effects = [{{ var = "a.x", add = "{effect}" }}, {{ var = "a.y", multiply = "0.9" }}]

[decisions.choose]
actor = "a"
choice = "logit"
temperature = 0.5
when = "step >= 2"

[decisions.choose.options.one]
utility = "{utility}"
effects = [{{ var = "a.x", set = "d" }}]

[decisions.choose.options.two]
utility = "0"

[decisions.pick]
actor = "a"
at = 4
choice = "argmax"

[decisions.pick.options.low]
utility = "a.y"

[decisions.pick.options.high]
utility = "{utility}"
effects = [{{ var = "a.y", add = "1" }}]

[outcomes.high]
when = "pick.high and choose.one"

[outcomes.other]

[metrics.m]
expr = "{metric}"
"#
    )
}

/// Numbers the generated scenario defines: state, parameters, the built-in step counters and an
/// event's count.
const NUMBER_NAMES: &[&str] = &["a.x", "a.y", "p", "q", "step", "steps", "tick.count"];

/// The one-argument functions of the expression language.
const UNARY_FUNCTIONS: &[&str] = &["abs", "exp", "ln", "sqrt", "sin", "cos", "logistic"];

const COMPARISONS: &[&str] = &["<", "<=", ">", ">=", "==", "!="];

/// How deep generated expressions nest. Each level may use any function or operator, numbers and
/// conditions inside each other, so three levels reach everything while staying readable when a
/// failure is shrunk.
const DEPTH: u32 = 3;

fn number() -> BoxedStrategy<String> {
    number_of_depth(DEPTH)
}

fn condition() -> BoxedStrategy<String> {
    condition_of_depth(DEPTH)
}

fn number_leaf() -> BoxedStrategy<String> {
    // Names outweigh constants: a part made of constants only is folded away at load time, and
    // one that is always undefined (`ln(-1.5)`) makes the whole case be refused.
    prop_oneof![
        3 => prop::sample::select(NUMBER_NAMES).prop_map(String::from),
        1 => (-3.0..3.0f64).prop_map(|c| format!("{c:.3}")),
        // Small integers, so that `==` between numbers is sometimes true and `^` sometimes exact.
        1 => (-2..=3i32).prop_map(|c| c.to_string()),
    ]
    .boxed()
}

fn condition_leaf() -> BoxedStrategy<String> {
    prop_oneof![
        Just("tick.fired".to_string()),
        Just("true".to_string()),
        Just("false".to_string()),
    ]
    .boxed()
}

/// A numeric expression that may use every function and operator of the language.
fn number_of_depth(depth: u32) -> BoxedStrategy<String> {
    if depth == 0 {
        return number_leaf();
    }
    let n = number_of_depth(depth - 1);
    let c = condition_of_depth(depth - 1);
    // `min` and `max` take two or more arguments.
    let many = prop::collection::vec(n.clone(), 2..=4).prop_map(|args| args.join(", "));
    let binary =
        |op: &'static str| (n.clone(), n.clone()).prop_map(move |(a, b)| format!("({a} {op} {b})"));
    prop_oneof![
        3 => number_leaf(),
        1 => binary("+"),
        1 => binary("-"),
        1 => binary("*"),
        1 => binary("/"),
        1 => binary("^"),
        // Unary minus on whatever comes, a name or a whole expression, not only a constant.
        1 => n.clone().prop_map(|a| format!("-{a}")),
        1 => many.clone().prop_map(|args| format!("min({args})")),
        1 => many.prop_map(|args| format!("max({args})")),
        1 => (n.clone(), n.clone(), n.clone())
            .prop_map(|(a, lo, hi)| format!("clamp({a}, {lo}, {hi})")),
        1 => (n.clone(), n.clone()).prop_map(|(a, b)| format!("pow({a}, {b})")),
        1 => (prop::sample::select(UNARY_FUNCTIONS), n.clone())
            .prop_map(|(f, a)| format!("{f}({a})")),
        2 => (c, n.clone(), n).prop_map(|(c, a, b)| format!("if({c}, {a}, {b})")),
    ]
    .boxed()
}

/// A condition that may use every comparison, `not`, `and`, `or`, equality of conditions and
/// `if` between conditions.
fn condition_of_depth(depth: u32) -> BoxedStrategy<String> {
    if depth == 0 {
        return condition_leaf();
    }
    let n = number_of_depth(depth - 1);
    let c = condition_of_depth(depth - 1);
    // Operands in parentheses: comparisons do not chain, and `not` binds tighter than `and`.
    let joined = |op: &'static str| {
        (c.clone(), c.clone()).prop_map(move |(a, b)| format!("({a}) {op} ({b})"))
    };
    prop_oneof![
        1 => condition_leaf(),
        4 => (n.clone(), prop::sample::select(COMPARISONS), n)
            .prop_map(|(a, op, b)| format!("{a} {op} {b}")),
        1 => joined("=="),
        1 => joined("!="),
        1 => joined("and"),
        1 => joined("or"),
        1 => c.clone().prop_map(|a| format!("not ({a})")),
        1 => (c.clone(), c.clone(), c).prop_map(|(k, a, b)| format!("if({k}, {a}, {b})")),
    ]
    .boxed()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Random expressions, including ones that fail for some runs (ln and sqrt of negatives,
    /// division by zero, overflow): each batch fails in lanes exactly when one of its runs fails
    /// alone, and agrees bit for bit otherwise.
    #[test]
    fn random_scenarios_give_the_same_runs_in_lanes(
        rule_when in condition(),
        effect in number(),
        utility in number(),
        probability in number(),
        metric in number(),
        seed in 0..1000u64,
    ) {
        let probability = format!("clamp({probability}, 0, 1)");
        let text = scenario_text(&rule_when, &effect, &utility, &probability, &metric);
        let scenario = scenario::load_str("generated.toml", &text, None)
            .unwrap_or_else(|d| panic!("{}", d.render(false)));
        // Only a constant part that is always undefined (say `ln(-1.5)`) may be refused.
        let model = match model::compile(scenario) {
            Ok(model) => model,
            Err(d) => {
                let message = d.render(false);
                prop_assert!(message.contains("always undefined") || message.contains("division by zero"), "{}", message);
                return Ok(());
            }
        };
        compare(&model, seed, 3 * LANES as u64 + 3, LANES);
    }
}

/// A study whose runs fail reports the first failing run, exactly as a run-by-run loop does.
#[test]
fn a_failing_study_reports_the_first_run_by_run_error() {
    let text = scenario_text("p > 1.5", "ln(q + 1.9)", "a.x", "0.1", "a.x");
    let scenario = scenario::load_str("failing.toml", &text, None).expect("loads");
    let model = model::compile(scenario).expect("compiles");
    let runs = 200;
    let config = StudyConfig {
        timeline: false,
        ..config(runs, 5)
    };
    let first_error =
        first_error_one_by_one(&model, 5, runs).expect("some run has p > 1.5 and q < 0");
    assert!(first_error.run > 0, "the failing run is not the first one");
    // The batch holding it fails at 16 lanes, with some lane's error.
    let mut lanes = Engine::<LANES>::new(&model, false);
    let mut params = vec![0.0; model.parameters.len()];
    let mut uniforms = vec![0.0; model.parameters.len()];
    let failing_batch = first_error.run / LANES as u64 * LANES as u64;
    for lane in 0..LANES {
        let run = failing_batch + lane as u64;
        let stream = RunStream::new(5, run);
        sample_parameters(&model, &config, run, stream, &mut params, &mut uniforms);
        lanes.load(lane, run, stream, &params);
    }
    assert!(lanes.run(LANES).is_err());
    // With and without the timeline (which the rerun at one lane records too).
    for timeline in [false, true] {
        let config = StudyConfig {
            timeline,
            ..config.clone()
        };
        match run_study(&model, &config, None, &|_| {}, &AtomicBool::new(false)) {
            // Compared as text: the value is NaN, which equals nothing.
            Err(StudyError::Run(e)) => assert_eq!(e.to_string(), first_error.to_string()),
            other => panic!(
                "expected the error of run {}, got {other:?}",
                first_error.run
            ),
        }
    }
}

/// A comparison whose scenarios fail in different runs of one batch reports what a run-by-run
/// pass (each run under every scenario in turn) meets first, not the first scenario's error.
#[test]
fn a_failing_comparison_reports_the_first_run_by_run_error() {
    let compile = |effect: &str| {
        let text = scenario_text("p > 1.2", effect, "a.x", "0.1", "a.x");
        model::compile(scenario::load_str("failing.toml", &text, None).expect("loads"))
            .expect("compiles")
    };
    // The base fails in some runs where q < -1.5, the variant in some where p < -1.5.
    let base = compile("ln(q + 1.5)");
    let variant = compile("ln(p + 1.5)");
    let runs = LANES as u64;
    let first_failure = |model: &Model, seed: u64| first_error_one_by_one(model, seed, runs);
    // A seed where, within the first batch, the variant fails first and the base later.
    let (seed, expected) = (0..200)
        .find_map(
            |seed| match (first_failure(&base, seed), first_failure(&variant, seed)) {
                (Some(b), Some(v)) if v.run < b.run => Some((seed, v)),
                _ => None,
            },
        )
        .expect("a seed where both fail in the first batch, the variant first");
    let config = StudyConfig {
        timeline: false,
        ..config(runs, seed)
    };
    match alliance_sim::montecarlo::paired::run_paired(
        &[&base, &variant],
        &config,
        &[],
        &|_| {},
        &AtomicBool::new(false),
    ) {
        Err(StudyError::Run(e)) => assert_eq!(e.to_string(), expected.to_string()),
        other => panic!("expected the error of run {}, got {other:?}", expected.run),
    }
}

/// A value that is not a number stops the run even where an op would hide it (`min(1, NaN)` is
/// 1, `NaN > 0` is false, `1 / inf` is 0), at any lane width: parts that read only
/// parameters (computed once per run) and parts that read state, in metrics and conditions.
#[test]
fn a_value_that_is_not_a_number_fails_the_run_whatever_reads_it() {
    // p and q are in [-2, 2] and a.x in [-1000, 1000], so each of these is undefined in every
    // run, in a part whose result an op then hides.
    let hidden = [
        "min(1, sqrt(p - 3))",
        "max(0, ln(a.x - 3000))",
        "clamp(sqrt(a.x - 3000), 0, 1)",
        "clamp(0.5, ln(p - 3), 1)",
        "if(sqrt(a.x - 3000) > 0, 1, 0)",
        "if(ln(q - 3) == 0 or a.x > 0, 1, 0)",
        "1 / exp(1000 + a.x * 0)",
        "exp(-exp(1000 + q))",
        "logistic(exp(1000 + a.y * 0))",
        "pow(sqrt(a.x - 3000), 0)",
        "a.y / exp(1000 + p)",
    ];
    for metric in hidden {
        let text = scenario_text("p > 5", "0.1", "a.x", "0.1", metric);
        let scenario = scenario::load_str("hidden.toml", &text, None).expect("loads");
        let model = model::compile(scenario).expect("compiles");
        let runs = 2 * LANES as u64 + 3;
        assert_eq!(compare(&model, 3, runs, LANES), runs, "metric {metric}");
    }
    for when in ["sqrt(a.x - 3000) > 0", "min(ln(p - 3), 1) < 2"] {
        let text = scenario_text(when, "0.1", "a.x", "0.1", "a.x");
        let scenario = scenario::load_str("hidden.toml", &text, None).expect("loads");
        let model = model::compile(scenario).expect("compiles");
        let runs = LANES as u64;
        assert_eq!(compare(&model, 3, runs, LANES), runs, "rule when {when}");
    }
    // A branch `if` does not take may hold anything: it is never computed alone.
    let text = scenario_text("p > 5", "0.1", "a.x", "0.1", "if(p > 3, sqrt(p - 3), 1)");
    let scenario = scenario::load_str("guarded.toml", &text, None).expect("loads");
    let model = model::compile(scenario).expect("compiles");
    assert_eq!(compare(&model, 3, 40, LANES), 0);
}
