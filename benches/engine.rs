//! Benchmarks of issue 7 ("Measure first"): run with `cargo bench --bench engine`.
//!
//! - `default/one_run`: one run of the default scenario through the engine at one lane
//!   (`Engine<1>`, as `explain` runs), parameters sampled per iteration, buffers reused;
//! - `default/lanes`: one batch of `LANES` runs through the engine at the width studies use
//!   (`Engine<LANES>`), parameters sampled, no timeline; reported per run;
//! - `default/study_1e5/threads=T`: 10^5 runs end to end through `montecarlo::run_study` as
//!   `run` does it (timeline on), without charts or runs.csv, on a pool of T threads;
//! - `expr/value_conditional`: one evaluation of a typical utility expression of the default
//!   scenario (option `suspend_conditionally` of decision `final`);
//! - `floor_a/draws`: only the random numbers one run of the default scenario draws, from the
//!   same generator and streams (the count comes from the compiled model);
//! - `frozen/engine_one_run`, `frozen/engine_lanes` and `floor_b/hand_model`: the engine (one
//!   run, and a batch of lanes) on the frozen copy of the default scenario (`benches/frozen/`) and the same model written by hand in plain Rust
//!   (`benches/frozen/hand_model.rs`, checked bit for bit by tests/hand_model_matches_engine.rs);
//! - `heavy/one_run`, `heavy/lanes`, `heavy/study_1e5/threads=T`: the same on `benches/heavy.toml`.
//! - `quantile/KIND`: one draw of a parameter, its distribution's quantile function at one uniform
//!   number, for one representative of each kind and of the slower code paths (a truncation far in
//!   a tail, a beta/PERT table, a long discrete list); `quantile/build_pert_table`: making a PERT
//!   distribution, which tabulates its inverse CDF.
//!
//! After criterion's own report the bench prints a summary: runs per second and the ratios to the
//! floors, read back from criterion's estimates (`target/criterion/*/new/estimates.json`).
//!
//! With `ENGINE_BENCH_FIXED=N` set, the binary skips criterion and runs each workload N times in
//! its own never-inlined function, for instruction counts under callgrind (scripts/callgrind.sh).

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use alliance_sim::distribution::{Distribution, DEFAULT_PERT_LAMBDA};
use alliance_sim::engine::{Engine, LANES};
use alliance_sim::model::{self, ChoiceModel, Model, TriggerModel};
use alliance_sim::montecarlo::{self, sample_parameters, StudyConfig};
use alliance_sim::rng::RunStream;
use alliance_sim::scenario;
use criterion::{BenchmarkId, Criterion, SamplingMode, Throughput};

#[allow(dead_code)] // the test that includes it too uses more of it
#[path = "frozen/hand_model.rs"]
mod hand_model;

const STUDY_RUNS: u64 = 100_000;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn compile(scenario: Result<scenario::Scenario, alliance_sim::diagnostic::Diagnostics>) -> Model {
    let scenario = scenario.unwrap_or_else(|d| panic!("{}", d.render(false)));
    model::compile(scenario).unwrap_or_else(|d| panic!("{}", d.render(false)))
}

fn default_model() -> Model {
    compile(scenario::load_default())
}

fn file_model(relative: &str) -> Model {
    compile(scenario::load(&root().join(relative)))
}

fn config(model: &Model, runs: u64, timeline: bool) -> StudyConfig {
    StudyConfig {
        runs,
        seed: model.default_seed,
        fixed: Vec::new(),
        timeline,
        sampling: Default::default(),
        design: None,
        replications: 1,
    }
}

/// One run per iteration, run indexes counting up: parameters sampled, engine reused.
fn bench_one_run(c: &mut Criterion, group: &str, model: &Model) {
    let config = config(model, u64::MAX, false);
    let mut engine = Engine::<1>::new(model, false);
    let mut params = vec![0.0; model.parameters.len()];
    let mut us = vec![0.0; model.parameters.len()];
    let mut run = 0u64;
    let mut g = c.benchmark_group(group);
    g.throughput(Throughput::Elements(1));
    g.bench_function(
        if group == "frozen" {
            "engine_one_run"
        } else {
            "one_run"
        },
        |b| {
            b.iter(|| {
                let stream = RunStream::new(config.seed, run);
                sample_parameters(model, &config, run, stream, &mut params, &mut us);
                engine.load(0, run, stream, &params);
                engine.run(1).expect("run succeeds");
                run += 1;
                black_box(engine.outcome(0))
            })
        },
    );
    g.finish();
}

/// One batch of [`LANES`] runs per iteration through the lane engine, as studies run them.
fn bench_lanes(c: &mut Criterion, group: &str, model: &Model) {
    let config = config(model, u64::MAX, false);
    let mut engine = Engine::<LANES>::new(model, false);
    let mut params = vec![0.0; model.parameters.len()];
    let mut us = vec![0.0; model.parameters.len()];
    let mut run = 0u64;
    let mut g = c.benchmark_group(group);
    g.throughput(Throughput::Elements(LANES as u64));
    let id = if group == "frozen" {
        "engine_lanes"
    } else {
        "lanes"
    };
    g.bench_function(id, |b| {
        b.iter(|| {
            for lane in 0..LANES {
                let stream = RunStream::new(config.seed, run);
                sample_parameters(model, &config, run, stream, &mut params, &mut us);
                engine.load(lane, run, stream, &params);
                run += 1;
            }
            engine.run(LANES).expect("runs succeed");
            black_box(engine.outcome(0))
        })
    });
    g.finish();
}

/// 10^5 runs through `run_study` (timeline on, no sink) on pools of 1 and 2 threads.
fn bench_study(c: &mut Criterion, group: &str, model: &Model) {
    let config = config(model, STUDY_RUNS, true);
    let cancel = AtomicBool::new(false);
    let mut g = c.benchmark_group(group);
    g.sample_size(10);
    g.sampling_mode(SamplingMode::Flat);
    g.measurement_time(Duration::from_secs(8));
    g.warm_up_time(Duration::from_secs(1));
    g.throughput(Throughput::Elements(STUDY_RUNS));
    for threads in [1usize, 2] {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .expect("thread pool");
        g.bench_function(
            BenchmarkId::new("study_1e5", format!("threads={threads}")),
            |b| {
                b.iter(|| {
                    pool.install(|| {
                        let summary = montecarlo::run_study(model, &config, None, &|_| {}, &cancel)
                            .expect("study runs");
                        black_box(summary.runs)
                    })
                })
            },
        );
    }
    g.finish();
}

/// A state vector as the engine has it after `reset` (one lane): parameters of run 0, hoisted
/// values, initial values of the vars.
fn initial_slots(model: &Model) -> Vec<[f64; 1]> {
    let config = config(model, 1, false);
    let mut slots = vec![[0.0]; model.layout.len as usize];
    let mut stack = vec![[0.0]; model.stack_size];
    let p = model.parameters.len();
    let mut us = vec![0.0; p];
    let mut parameters = vec![0.0; p];
    let stream = RunStream::new(config.seed, 0);
    sample_parameters(model, &config, 0, stream, &mut parameters, &mut us);
    for (slot, v) in slots.iter_mut().zip(parameters) {
        *slot = [v];
    }
    slots[model.layout.steps as usize] = [f64::from(model.time.steps)];
    for (k, program) in model.hoisted.iter().enumerate() {
        slots[model.layout.hoisted as usize + k] = program.eval(&slots, &mut stack);
    }
    for &i in &model.init_order {
        let var = &model.vars[i];
        let [value] = var.init.eval(&slots, &mut stack);
        slots[model.layout.vars as usize + i] = [value.clamp(var.min, var.max)];
    }
    slots
}

fn bench_expression(c: &mut Criterion, model: &Model) {
    let decision = model
        .decisions
        .iter()
        .find(|d| d.id == "final")
        .expect("decision `final`");
    let option = decision
        .options
        .iter()
        .find(|o| o.id == "suspend_conditionally")
        .expect("option `suspend_conditionally`");
    let program = &option.utility;
    let slots = initial_slots(model);
    let mut stack = vec![[0.0]; model.stack_size];
    let mut g = c.benchmark_group("expr");
    g.throughput(Throughput::Elements(1));
    g.bench_function("value_conditional", |b| {
        b.iter(|| black_box(program).eval(black_box(&slots), &mut stack))
    });
    g.finish();
}

/// The (stream, counter) of every random number one run can draw: one per parameter, one per
/// step in the window of each chance event, one per logit decision (an upper bound: a decision
/// that is not taken draws nothing).
fn draws_per_run(model: &Model) -> Vec<(u64, u64)> {
    let mut draws: Vec<(u64, u64)> = model.parameters.iter().map(|p| (p.stream, 0)).collect();
    for event in &model.events {
        if let TriggerModel::Chance { from, until, .. } = event.trigger {
            let last = until.min(model.time.steps.saturating_sub(1));
            draws.extend((from..=last).map(|step| (event.stream, u64::from(step))));
        }
    }
    for decision in &model.decisions {
        if matches!(decision.choice, ChoiceModel::Logit { .. }) {
            draws.push((decision.stream, 0));
        }
    }
    draws
}

fn bench_floor_a(c: &mut Criterion, model: &Model) {
    let draws = draws_per_run(model);
    let seed = model.default_seed;
    let mut run = 0u64;
    let mut g = c.benchmark_group("floor_a");
    g.throughput(Throughput::Elements(1));
    g.bench_function("draws", |b| {
        b.iter(|| {
            let stream = RunStream::new(seed, run);
            let mut sum = 0.0;
            for &(key, counter) in black_box(&draws[..]) {
                sum += stream.uniform(key, counter);
            }
            run += 1;
            black_box(sum)
        })
    });
    g.finish();
}

fn bench_floor_b(c: &mut Criterion, seed: u64) {
    let hand = hand_model::HandModel::new();
    let mut run = 0u64;
    let mut g = c.benchmark_group("floor_b");
    g.throughput(Throughput::Elements(1));
    g.bench_function("hand_model", |b| {
        b.iter(|| {
            let result = hand.run(black_box(seed), run);
            run += 1;
            black_box(result)
        })
    });
    g.finish();
}

/// A spread of uniform numbers over (0, 1), so that every branch of a quantile function is
/// visited in proportion to how often runs visit it.
const QUANTILE_POINTS: usize = 1024;

fn bench_quantiles(c: &mut Criterion) {
    let valid = |d: Result<Distribution, _>| d.expect("valid distribution");
    let cases = [
        ("uniform", valid(Distribution::uniform(-2.0, 5.0))),
        ("normal", valid(Distribution::normal(10.0, 2.0, None, None))),
        (
            "normal_truncated",
            valid(Distribution::normal(0.0, 1.0, Some(-1.0), Some(2.0))),
        ),
        (
            "normal_far_tail",
            valid(Distribution::normal(0.0, 1.0, Some(30.0), None)),
        ),
        ("lognormal", valid(Distribution::lognormal(0.0, 0.5))),
        ("triangular", valid(Distribution::triangular(0.0, 0.3, 1.0))),
        (
            "pert",
            valid(Distribution::pert(0.0, 0.9, 1.0, DEFAULT_PERT_LAMBDA)),
        ),
        ("beta", valid(Distribution::beta(2.0, 5.0, 0.0, 1.0))),
        ("bernoulli", valid(Distribution::bernoulli(0.3))),
        (
            "discrete_40",
            valid(Distribution::discrete(
                (0..40).map(f64::from).collect(),
                (1..=40).map(f64::from).collect(),
            )),
        ),
    ];
    let us: Vec<f64> = (0..QUANTILE_POINTS)
        .map(|i| (i as f64 + 0.5) / QUANTILE_POINTS as f64)
        .collect();
    let mut g = c.benchmark_group("quantile");
    g.throughput(Throughput::Elements(QUANTILE_POINTS as u64));
    for (kind, dist) in &cases {
        g.bench_function(*kind, |b| {
            b.iter(|| {
                black_box(&us)
                    .iter()
                    .map(|&u| dist.quantile(u))
                    .sum::<f64>()
            })
        });
    }
    g.throughput(Throughput::Elements(1));
    g.bench_function("build_pert_table", |b| {
        b.iter(|| Distribution::pert(black_box(0.0), 0.9, 1.0, DEFAULT_PERT_LAMBDA))
    });
    g.finish();
}

fn benches(c: &mut Criterion) {
    let default = default_model();
    bench_one_run(c, "default", &default);
    bench_lanes(c, "default", &default);
    bench_study(c, "default", &default);
    bench_expression(c, &default);
    bench_floor_a(c, &default);
    let frozen = file_model("benches/frozen/gsomia_2019_frozen.toml");
    bench_one_run(c, "frozen", &frozen);
    bench_lanes(c, "frozen", &frozen);
    bench_floor_b(c, frozen.default_seed);
    let heavy = file_model("benches/heavy.toml");
    bench_one_run(c, "heavy", &heavy);
    bench_lanes(c, "heavy", &heavy);
    bench_study(c, "heavy", &heavy);
    bench_quantiles(c);
}

/// Criterion's output folder, found the way criterion finds it.
fn criterion_dir() -> PathBuf {
    if let Some(home) = std::env::var_os("CRITERION_HOME") {
        return PathBuf::from(home);
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("target"));
    target.join("criterion")
}

/// Nanoseconds per iteration (criterion's slope estimate, or its mean when it has none).
fn estimate_ns(dir: &Path, id: &str) -> Option<f64> {
    let text = std::fs::read_to_string(dir.join(id).join("new/estimates.json")).ok()?;
    let json: serde_json::Value = serde_json::from_str(&text).ok()?;
    let point = |key: &str| json.get(key)?.get("point_estimate")?.as_f64();
    point("slope").or_else(|| point("mean"))
}

fn print_summary(default: &Model) {
    let dir = criterion_dir();
    let ns = |id: &str| estimate_ns(&dir, id);
    let rate = |ns_per_iter: f64, per_iter: f64| per_iter * 1e9 / ns_per_iter;
    println!("\n== summary (from {}) ==", dir.display());
    println!(
        "random numbers per run of the default scenario (floor a): {} ({} parameters, chance-event windows, logit decisions)",
        draws_per_run(default).len(),
        default.parameters.len()
    );
    let singles = [
        ("default/one_run", "default scenario, one run (engine)"),
        ("frozen/engine_one_run", "frozen default, one run (engine)"),
        ("floor_a/draws", "floor (a): random numbers only"),
        ("floor_b/hand_model", "floor (b): hand-written model"),
        ("heavy/one_run", "heavy scenario, one run (engine)"),
    ];
    for (id, what) in singles {
        if let Some(t) = ns(id) {
            println!("{what:<40} {t:>10.1} ns/run  {:>12.0} runs/s", rate(t, 1.0));
        }
    }
    let batches = [
        ("default/lanes", "default scenario, lanes (engine)"),
        ("frozen/engine_lanes", "frozen default, lanes (engine)"),
        ("heavy/lanes", "heavy scenario, lanes (engine)"),
    ];
    for (id, what) in batches {
        if let Some(t) = ns(id) {
            let per_run = t / LANES as f64;
            println!(
                "{what:<40} {per_run:>10.1} ns/run  {:>12.0} runs/s ({LANES} runs per batch)",
                rate(per_run, 1.0)
            );
        }
    }
    let expr = ns("expr/value_conditional");
    if let Some(t) = expr {
        println!(
            "{:<40} {t:>10.1} ns/eval {:>12.0} evals/s",
            "expression value_conditional",
            rate(t, 1.0)
        );
    }
    for scenario in ["default", "heavy"] {
        for threads in [1, 2] {
            let id = format!("{scenario}/study_1e5/threads={threads}");
            if let Some(t) = ns(&id) {
                println!(
                    "{:<40} {:>10.1} ms/study {:>11.0} runs/s",
                    format!("{scenario}, 10^5 runs, {threads} thread(s)"),
                    t / 1e6,
                    rate(t, STUDY_RUNS as f64)
                );
            }
        }
        if let (Some(t1), Some(t2)) = (
            ns(&format!("{scenario}/study_1e5/threads=1")),
            ns(&format!("{scenario}/study_1e5/threads=2")),
        ) {
            println!("{scenario}: 2 threads vs 1: {:.2}x faster", t1 / t2);
        }
    }
    let per_run_study = ns("default/study_1e5/threads=1").map(|t| t / STUDY_RUNS as f64);
    if let Some(a) = ns("floor_a/draws") {
        for (id, what) in [
            ("default/one_run", "one run"),
            ("frozen/engine_one_run", "one run (frozen)"),
        ] {
            if let Some(t) = ns(id) {
                println!("ratio to floor (a), {what}: {:.2}x", t / a);
            }
        }
        if let Some(t) = per_run_study {
            println!(
                "ratio to floor (a), study per run (1 thread): {:.2}x",
                t / a
            );
        }
    }
    if let Some(b) = ns("floor_b/hand_model") {
        if let Some(t) = ns("frozen/engine_one_run") {
            println!(
                "ratio to floor (b), one run (frozen, same model): {:.2}x",
                t / b
            );
        }
        if let Some(t) = ns("default/one_run") {
            println!("ratio to floor (b), one run (default): {:.2}x", t / b);
        }
        if let Some(t) = ns("frozen/engine_lanes") {
            println!(
                "ratio to floor (b), per run in lanes (frozen, same model): {:.2}x",
                t / LANES as f64 / b
            );
        }
        if let Some(t) = per_run_study {
            println!(
                "ratio to floor (b), study per run (1 thread): {:.2}x",
                t / b
            );
        }
    }
}

// ---- fixed-count mode, for instruction counts under callgrind (scripts/callgrind.sh) ----
//
// With `ENGINE_BENCH_FIXED=N` in the environment the bench does not start criterion: it runs each
// workload a fixed number of times, each in its own function that is never inlined, so that
// callgrind's inclusive count of that function divided by the count is the instructions per run
// (per evaluation for the expression). Instruction counts do not depend on the machine's load.
// (Whole studies run on rayon's worker threads, outside these functions: scripts/callgrind.sh
// counts them through the CLI instead, as the difference between two run counts.)

#[inline(never)]
fn fixed_default_one_run(model: &Model, n: u64) -> u64 {
    // A distinct constant keeps the three from being merged into one symbol.
    one_runs(model, n) + 1
}

#[inline(never)]
fn fixed_frozen_one_run(model: &Model, n: u64) -> u64 {
    one_runs(model, n) + 2
}

#[inline(never)]
fn fixed_heavy_one_run(model: &Model, n: u64) -> u64 {
    one_runs(model, n) + 3
}

fn one_runs(model: &Model, n: u64) -> u64 {
    let config = config(model, u64::MAX, false);
    let mut engine = Engine::<1>::new(model, false);
    let mut params = vec![0.0; model.parameters.len()];
    let mut us = vec![0.0; model.parameters.len()];
    let mut total = 0;
    for run in 0..n {
        let stream = RunStream::new(config.seed, run);
        sample_parameters(model, &config, run, stream, &mut params, &mut us);
        engine.load(0, run, stream, &params);
        engine.run(1).expect("run");
        total += engine.outcome(0) as u64;
    }
    total
}

#[inline(never)]
fn fixed_default_lanes(model: &Model, n: u64) -> u64 {
    lane_runs(model, n) + 1
}

#[inline(never)]
fn fixed_frozen_lanes(model: &Model, n: u64) -> u64 {
    lane_runs(model, n) + 2
}

#[inline(never)]
fn fixed_heavy_lanes(model: &Model, n: u64) -> u64 {
    lane_runs(model, n) + 3
}

/// `n` runs (rounded up to whole batches) through the lane engine.
fn lane_runs(model: &Model, n: u64) -> u64 {
    let config = config(model, u64::MAX, false);
    let mut engine = Engine::<LANES>::new(model, false);
    let mut params = vec![0.0; model.parameters.len()];
    let mut us = vec![0.0; model.parameters.len()];
    let mut total = 0;
    for batch in 0..n.div_ceil(LANES as u64) {
        for lane in 0..LANES {
            let run = batch * LANES as u64 + lane as u64;
            let stream = RunStream::new(config.seed, run);
            sample_parameters(model, &config, run, stream, &mut params, &mut us);
            engine.load(lane, run, stream, &params);
        }
        engine.run(LANES).expect("runs");
        total += engine.outcome(0) as u64;
    }
    total
}

#[inline(never)]
fn fixed_floor_a(model: &Model, n: u64) -> f64 {
    let draws = draws_per_run(model);
    let mut sum = 0.0;
    for run in 0..n {
        let stream = RunStream::new(model.default_seed, run);
        for &(key, counter) in black_box(&draws[..]) {
            sum += stream.uniform(key, counter);
        }
    }
    sum
}

#[inline(never)]
fn fixed_floor_b(seed: u64, n: u64) -> u64 {
    let hand = hand_model::HandModel::new();
    let mut total = 0;
    for run in 0..n {
        total += hand.run(black_box(seed), run).outcome as u64;
    }
    total
}

#[inline(never)]
fn fixed_expression(model: &Model, n: u64) -> f64 {
    let decision = model
        .decisions
        .iter()
        .find(|d| d.id == "final")
        .expect("final");
    let option = decision
        .options
        .iter()
        .find(|o| o.id == "suspend_conditionally")
        .expect("suspend_conditionally");
    let slots = initial_slots(model);
    let mut stack = vec![[0.0]; model.stack_size];
    let mut sum = 0.0;
    for _ in 0..n {
        sum += black_box(&option.utility).eval(black_box(&slots), &mut stack)[0];
    }
    sum
}

fn fixed_mode(n: u64) {
    let default = default_model();
    let frozen = file_model("benches/frozen/gsomia_2019_frozen.toml");
    let heavy = file_model("benches/heavy.toml");
    let heavy_n = (n / 4).max(1);
    black_box(fixed_default_one_run(&default, n));
    black_box(fixed_frozen_one_run(&frozen, n));
    black_box(fixed_default_lanes(&default, n));
    black_box(fixed_frozen_lanes(&frozen, n));
    black_box(fixed_heavy_lanes(&heavy, heavy_n));
    black_box(fixed_floor_a(&default, n));
    black_box(fixed_floor_b(frozen.default_seed, n));
    black_box(fixed_expression(&default, n));
    black_box(fixed_heavy_one_run(&heavy, heavy_n));
    println!(
        "fixed mode: {n} iterations of each default-scenario workload, {heavy_n} of each heavy one"
    );
}

fn main() {
    if let Some(n) = std::env::var("ENGINE_BENCH_FIXED")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
    {
        fixed_mode(n);
        return;
    }
    let mut criterion = Criterion::default().configure_from_args();
    benches(&mut criterion);
    criterion.final_summary();
    // `cargo test --benches` runs the bench in test mode (each benchmark once); no summary then.
    if !std::env::args().any(|a| a == "--test" || a == "--list") {
        print_summary(&default_model());
    }
}
