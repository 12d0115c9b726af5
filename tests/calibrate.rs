//! `alliance-sim calibrate` against answers known in closed form: a coin whose bias is the one
//! calibrated parameter, flipped once per case. With a uniform prior and `h` heads in `n`
//! cases the posterior is Beta(h + 1, n - h + 1), the leave-one-out forecast of a case is
//! Laplace's rule on the other cases, and the time-ordered one Laplace's rule on the earlier.

use std::path::{Path, PathBuf};

use assert_cmd::Command;

fn sim() -> Command {
    let mut cmd = Command::cargo_bin("alliance-sim").expect("binary");
    cmd.env("NO_COLOR", "1");
    cmd
}

/// P(heads) = bias exactly: a logit over ln(bias) and ln(1 - bias) at temperature 1.
const COIN: &str = r#"
[scenario]
name = "Coin"
description = "One biased coin, flipped once."
start = 2020-01-06
step = "week"
steps = 2
runs = 1000
seed = 11

[parameters.bias]
dist = "uniform"
min = 0
max = 1
calibrate = true

[parameters.noise]
dist = "uniform"
min = 0
max = 1

[actors.thrower]
label = "Thrower"

[actors.thrower.vars]
seen = "0"

[decisions.flip]
actor = "thrower"
at = 0
choice = "logit"
temperature = 1

[decisions.flip.options.heads]
utility = "ln(bias)"

[decisions.flip.options.tails]
utility = "ln(1 - bias)"

[outcomes.heads]
when = "flip.heads"

[outcomes.tails]
label = "Tails"

[metrics.noise_seen]
expr = "noise"
"#;

/// Writes the coin and one case per flip (`true` = heads), dated a day apart in order.
fn cases(dir: &Path, flips: &[bool]) -> PathBuf {
    let cases = dir.join("cases");
    std::fs::create_dir_all(&cases).expect("dir");
    std::fs::write(dir.join("coin.toml"), COIN).expect("write");
    for (i, &heads) in flips.iter().enumerate() {
        let observed = if heads { "heads" } else { "tails" };
        let text = format!(
            "extends = \"../coin.toml\"\n\n[backtest]\ndecision = \"flip\"\nobserved = \"{observed}\"\nstatus_quo = \"tails\"\ndate = 2020-01-{:02}\n",
            i + 1
        );
        std::fs::write(cases.join(format!("case_{i:02}.toml")), text).expect("write");
    }
    cases
}

/// 14 heads in 20, as a coin of bias 0.7 would give: the truth the posterior must hold.
fn flips() -> Vec<bool> {
    (0..20)
        .map(|i| !matches!(i, 2 | 5 | 9 | 12 | 16 | 19))
        .collect()
}

fn calibrate(cases: &Path, out: &Path, extra: &[&str]) -> serde_json::Value {
    let output = sim()
        .arg("calibrate")
        .arg(cases)
        .args(["--runs", "40000", "--seed", "5", "--json", "-q", "--out"])
        .arg(out)
        .args(extra)
        .output()
        .expect("runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("json")
}

fn f(v: &serde_json::Value) -> f64 {
    v.as_f64().unwrap_or_else(|| panic!("not a number: {v}"))
}

fn brier2(p_observed: f64) -> f64 {
    2.0 * (1.0 - p_observed).powi(2)
}

#[test]
fn calibration_recovers_a_known_bias_within_its_interval() {
    let dir = tempfile::tempdir().expect("tempdir");
    let flips = flips();
    let cases = cases(dir.path(), &flips);
    let report = calibrate(&cases, &dir.path().join("out"), &[]);
    let (h, n) = (
        flips.iter().filter(|&&x| x).count() as f64,
        flips.len() as f64,
    );
    let bias = &report["parameters"][0];
    assert_eq!(bias["id"], "bias");
    let posterior = &bias["posterior"];
    // Beta(15, 7): mean 15/22, sd 0.0971. The runs' weights estimate it with an effective
    // sample of thousands: its Monte Carlo error is about 0.002.
    let (a, b) = (h + 1.0, n - h + 1.0);
    let mean = a / (a + b);
    let sd = (a * b / ((a + b).powi(2) * (a + b + 1.0))).sqrt();
    assert!((f(&posterior["mean"]) - mean).abs() < 0.01, "{posterior}");
    assert!((f(&posterior["sd"]) - sd).abs() < 0.01, "{posterior}");
    assert!(
        f(&posterior["q05"]) < 0.7 && 0.7 < f(&posterior["q95"]),
        "{posterior}"
    );
    // The uncalibrated parameter is not reported, and the prior is uniform's.
    assert_eq!(report["parameters"].as_array().map(Vec::len), Some(1));
    assert!((f(&bias["prior"]["mean"]) - 0.5).abs() < 0.01);
    assert_eq!(report["cases"], 20);
}

#[test]
fn leave_one_out_and_time_ordered_scores_are_laplaces_rule() {
    laplace(&flips());
}

/// Three cases, small enough to check by hand: heads, tails, heads. Leaving out a head, the
/// others hold one head in two flips: 2/4; leaving out the tail, two heads in two: p(tails) =
/// 1/4. In time order: 1/2, then p(tails) = 1/3 after one head, then p(heads) = 2/4.
#[test]
fn leave_one_out_and_time_ordered_scores_on_three_cases() {
    laplace(&[true, false, true]);
}

fn laplace(flips: &[bool]) {
    let dir = tempfile::tempdir().expect("tempdir");
    let flips = flips.to_vec();
    let cases = cases(dir.path(), &flips);
    let report = calibrate(&cases, &dir.path().join("out"), &[]);
    let n = flips.len();
    let h = flips.iter().filter(|&&x| x).count();
    let per_case = report["per_case"].as_array().expect("cases");
    let (mut loo, mut time, mut inside) = (0.0, 0.0, 0.0);
    for (i, (&heads, case)) in flips.iter().zip(per_case).enumerate() {
        // Leave-one-out: Beta posterior of the other n - 1 flips, predictive (h' + 1)/(n + 1).
        let others = h - usize::from(heads);
        let p_heads = (others as f64 + 1.0) / (n as f64 + 1.0);
        let p_loo = if heads { p_heads } else { 1.0 - p_heads };
        // Time-ordered: the i flips before this one.
        let before = flips[..i].iter().filter(|&&x| x).count();
        let p_heads = (before as f64 + 1.0) / (i as f64 + 2.0);
        let p_time = if heads { p_heads } else { 1.0 - p_heads };
        let p_heads = (h as f64 + 1.0) / (n as f64 + 2.0);
        let p_in = if heads { p_heads } else { 1.0 - p_heads };
        for (key, want) in [
            ("leave_one_out", p_loo),
            ("time_ordered", p_time),
            ("in_sample", p_in),
            ("prior", 0.5),
        ] {
            let got = f(&case[key]["probability"]);
            assert!(
                (got - want).abs() < 0.012,
                "case {i} {key}: {got} vs {want}"
            );
        }
        assert_eq!(case["earlier_cases"], i);
        loo += brier2(p_loo) / n as f64;
        time += brier2(p_time) / n as f64;
        inside += brier2(p_in) / n as f64;
    }
    assert!((f(&report["leave_one_out"]["mean_brier"]) - loo).abs() < 0.01);
    assert!((f(&report["time_ordered"]["mean_brier"]) - time).abs() < 0.01);
    assert!((f(&report["in_sample"]["mean_brier"]) - inside).abs() < 0.01);
    assert!((f(&report["prior"]["mean_brier"]) - 0.5).abs() < 0.01);
    // The out-of-sample score is worse than the in-sample one, as it must be here.
    assert!(loo > inside);
    // The status quo (tails, p = 0.95) is right on every tail.
    let tails = (n - h) as f64;
    let sq = (tails * 2.0 * 0.05f64.powi(2) + h as f64 * 2.0 * 0.95f64.powi(2)) / n as f64;
    assert!((f(&report["baseline_status_quo"]["mean_brier"]) - sq).abs() < 1e-12);
    assert!((f(&report["baseline_uniform"]["mean_brier"]) - 0.5).abs() < 1e-12);
}

/// The posterior mean recounted from the per-run rows of the same seed: each run's weight is
/// the product of bias (heads) or 1 - bias (tails) over the cases.
#[test]
fn the_posterior_is_the_weighted_mean_of_the_runs_draws() {
    let dir = tempfile::tempdir().expect("tempdir");
    let flips = flips();
    let cases = cases(dir.path(), &flips);
    let report = calibrate(&cases, &dir.path().join("out"), &[]);
    let run_out = dir.path().join("run");
    sim()
        .arg("run")
        .arg(dir.path().join("coin.toml"))
        .args(["--runs", "40000", "--seed", "5", "--no-charts", "-q"])
        .args(["--runs-format", "csv", "--out"])
        .arg(&run_out)
        .assert()
        .success();
    let csv = std::fs::read_to_string(run_out.join("coin/runs.csv")).expect("runs.csv");
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().expect("header").split(',').collect();
    let col = header
        .iter()
        .position(|h| *h == "bias")
        .expect("bias column");
    let h = flips.iter().filter(|&&x| x).count() as i32;
    let t = flips.len() as i32 - h;
    let (mut sw, mut swx, mut sw2) = (0.0, 0.0, 0.0);
    for line in lines {
        let bias: f64 = line
            .split(',')
            .nth(col)
            .expect("cell")
            .parse()
            .expect("number");
        let w = bias.powi(h) * (1.0 - bias).powi(t);
        sw += w;
        swx += w * bias;
        sw2 += w * w;
    }
    let mean = swx / sw;
    let got = f(&report["parameters"][0]["posterior"]["mean"]);
    assert!((got - mean).abs() < 1e-9, "{got} vs recount {mean}");
    let ess = sw * sw / sw2;
    let got = f(&report["effective_sample_size"]);
    assert!((got - ess).abs() < 1e-6 * ess, "{got} vs recount {ess}");
}

#[test]
fn the_calibrated_variant_runs_and_carries_its_provenance() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cases = cases(dir.path(), &flips());
    let out = dir.path().join("out");
    let report = calibrate(&cases, &out, &[]);
    let variant = out.join("calibrate/coin_calibrated.toml");
    let text = std::fs::read_to_string(&variant).expect("variant");
    assert!(text.contains("extends = \"../../coin.toml\""), "{text}");
    let run_out = dir.path().join("run");
    sim()
        .arg("run")
        .arg(&variant)
        .args(["--runs", "20000", "--no-charts", "-q", "--out"])
        .arg(&run_out)
        .assert()
        .success();
    let summary: serde_json::Value = serde_json::from_slice(
        &std::fs::read(run_out.join("coin_calibrated/summary.json")).expect("summary"),
    )
    .expect("json");
    let calibration = &summary["scenario"]["calibration"];
    assert_eq!(calibration["cases"].as_array().map(Vec::len), Some(20));
    assert_eq!(calibration["runs"], 40000);
    assert_eq!(calibration["seed"], 5);
    // The variant's bias is the posterior (a PERT by moments): P(heads) is its mean.
    let heads = f(&summary["outcomes"][0]["probability"]);
    let mean = f(&report["parameters"][0]["posterior"]["mean"]);
    assert!((heads - mean).abs() < 0.015, "{heads} vs {mean}");
    // A summary of an ordinary scenario has no calibration key at all.
    let plain = dir.path().join("plain");
    sim()
        .arg("run")
        .arg(dir.path().join("coin.toml"))
        .args(["--runs", "100", "--no-charts", "-q", "--out"])
        .arg(&plain)
        .assert()
        .success();
    let text = std::fs::read_to_string(plain.join("coin/summary.json")).expect("summary");
    assert!(!text.contains("calibration"));
}

#[test]
fn calibration_does_not_depend_on_the_thread_count() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cases = cases(dir.path(), &flips());
    let mut files = Vec::new();
    for threads in ["1", "2"] {
        let out = dir.path().join(format!("out{threads}"));
        calibrate(&cases, &out, &["--threads", threads]);
        files.push(std::fs::read(out.join("calibrate/calibration.json")).expect("report"));
    }
    assert_eq!(files[0], files[1]);
}

fn fails_with(cases: &Path, out: &Path, extra: &[&str], message: &str) {
    let output = sim()
        .arg("calibrate")
        .arg(cases)
        .args(["--runs", "2000", "--out"])
        .arg(out)
        .args(extra)
        .output()
        .expect("runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains(message), "{stderr}");
    assert!(
        !out.join("calibrate").exists(),
        "a failed calibration writes nothing"
    );
}

#[test]
fn weights_that_collapse_are_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cases = cases(dir.path(), &flips());
    fails_with(
        &cases,
        &dir.path().join("out"),
        &["--min-ess", "1900"],
        "the weights collapse",
    );
}

#[test]
fn a_case_no_draw_explains_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cases = cases(dir.path(), &flips());
    // An argmax coin never lands on tails when its bias is above one half.
    let coin = COIN
        .replace("choice = \"logit\"\ntemperature = 1", "choice = \"argmax\"")
        .replace("max = 1\ncalibrate", "max = 0.4\ncalibrate")
        .replace("min = 0\nmax = 0.4", "min = 0.6\nmax = 0.9");
    std::fs::write(dir.path().join("coin.toml"), coin).expect("write");
    fails_with(
        &cases,
        &dir.path().join("out"),
        &[],
        "has probability 0 in every run",
    );
}

#[test]
fn a_calibrated_parameter_no_case_depends_on_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cases = cases(dir.path(), &flips());
    let coin = COIN.replace(
        "[parameters.noise]\ndist = \"uniform\"",
        "[parameters.noise]\ncalibrate = true\ndist = \"uniform\"",
    );
    std::fs::write(dir.path().join("coin.toml"), coin).expect("write");
    fails_with(
        &cases,
        &dir.path().join("out"),
        &[],
        "parameter `noise` is marked `calibrate = true`, but no case's scored decision depends on it",
    );
}

#[test]
fn a_scenario_with_nothing_to_calibrate_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cases = cases(dir.path(), &flips());
    std::fs::write(
        dir.path().join("coin.toml"),
        COIN.replace("calibrate = true\n", ""),
    )
    .expect("write");
    fails_with(
        &cases,
        &dir.path().join("out"),
        &[],
        "no parameter of the cases is marked `calibrate = true`",
    );
}

#[test]
fn a_case_that_changes_a_calibrated_prior_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cases = cases(dir.path(), &flips());
    let case = cases.join("case_03.toml");
    let text = std::fs::read_to_string(&case).expect("case");
    std::fs::write(&case, format!("{text}\n[parameters.bias]\nmax = 0.9\n")).expect("write");
    fails_with(
        &cases,
        &dir.path().join("out"),
        &[],
        "a calibrated parameter must be the same in every case",
    );
}

#[test]
fn calibrate_key_must_be_a_boolean() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("coin.toml");
    std::fs::write(
        &path,
        COIN.replace("calibrate = true", "calibrate = \"yes\""),
    )
    .expect("write");
    let output = sim().arg("validate").arg(&path).output().expect("runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("calibrate"), "{stderr}");
    assert!(stderr.contains("coin.toml:"), "located: {stderr}");
}

/// The calibrated variants in `scenarios/` are what `calibrate` writes from the shipped cases
/// today: a change to the model or the cases that moves the posterior must regenerate them
/// (`alliance-sim calibrate` and copy `output/calibrate/*_calibrated.toml` to `scenarios/`).
#[test]
fn the_shipped_calibrated_variants_are_what_calibrate_writes() {
    let out = tempfile::tempdir().expect("tempdir");
    sim()
        .args(["calibrate", "-q", "--out"])
        .arg(out.path())
        .assert()
        .success();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    for name in ["gsomia_2019_calibrated.toml", "thaad_2016_calibrated.toml"] {
        let written =
            std::fs::read_to_string(out.path().join("calibrate").join(name)).expect("written");
        let shipped = std::fs::read_to_string(root.join("scenarios").join(name)).expect("shipped");
        assert!(
            written == shipped,
            "scenarios/{name} is stale: run `alliance-sim calibrate` and copy output/calibrate/{name} to scenarios/"
        );
    }
}
