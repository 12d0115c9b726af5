//! `run --given "EXPR @ DATE"`: the study counts only the runs whose state at DATE meets EXPR,
//! checked against a recount of the per-run rows of the same command.

use std::path::Path;

use assert_cmd::Command;

fn sim() -> Command {
    let mut cmd = Command::cargo_bin("alliance-sim").expect("binary");
    cmd.env("NO_COLOR", "1");
    cmd
}

/// A parameter `a`; a counter that a coin raises each week; the outcome is `high` when a > 0.7.
const SCENARIO: &str = "[scenario]\nname = \"Given\"\ndescription = \"Conditions.\"\n\
start = 2020-01-06\nstep = \"week\"\nsteps = 6\nruns = 50\nseed = 9\n\n\
[parameters.a]\ndist = \"uniform\"\nmin = 0\nmax = 1\n\n\
[actors.world]\nlabel = \"World\"\n\n[actors.world.vars]\nlevel = \"a\"\ncount = \"0\"\n\n\
[events.coin]\nprobability = \"0.5\"\neffects = [{ var = \"world.count\", add = \"1\" }]\n\n\
[outcomes.high]\nlabel = \"High\"\nwhen = \"a > 0.7\"\n\n[outcomes.low]\nlabel = \"Low\"\n\n\
[metrics.level]\nexpr = \"world.level\"\n\n[metrics.count]\nexpr = \"world.count\"\n";

fn setup() -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().expect("tempdir");
    let scenario = dir.path().join("given.toml");
    std::fs::write(&scenario, SCENARIO).expect("write");
    (dir, scenario)
}

fn summary(path: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(path).expect("summary")).expect("json")
}

/// The runs whose counter reached 2 by the end of the week of Jan 20 (step 2), recounted from
/// timeline.csv, and their outcomes from runs.csv.
#[test]
fn given_agrees_exactly_with_a_recount_of_the_runs() {
    let (dir, scenario) = setup();
    let out = dir.path().join("out");
    sim()
        .arg("run")
        .arg(&scenario)
        .args(["--given", "world.count >= 2 @ 2020-01-22", "--runs", "5000"])
        .args([
            "--runs-format",
            "csv",
            "--timeline-long",
            "--no-charts",
            "-q",
            "--out",
        ])
        .arg(&out)
        .assert()
        .success();
    let timeline = std::fs::read_to_string(out.join("given/timeline.csv")).expect("timeline");
    let mut lines = timeline.lines();
    let header: Vec<&str> = lines.next().expect("header").split(',').collect();
    let col = |name: &str| header.iter().position(|h| *h == name).expect("column");
    let (run_c, step_c, metric_c, value_c) = (col("run"), col("step"), col("metric"), col("value"));
    let mut matched = vec![false; 5000];
    for line in lines {
        let cells: Vec<&str> = line.split(',').collect();
        if cells[step_c] == "2" && cells[metric_c] == "count" {
            let v: f64 = cells[value_c].parse().expect("value");
            matched[cells[run_c].parse::<usize>().expect("run")] = v >= 2.0;
        }
    }
    let runs = std::fs::read_to_string(out.join("given/runs.csv")).expect("runs.csv");
    let mut lines = runs.lines();
    let header: Vec<&str> = lines.next().expect("header").split(',').collect();
    let outcome_c = header
        .iter()
        .position(|h| *h == "outcome")
        .expect("outcome");
    let (mut n, mut high, mut rows) = (0u64, 0u64, 0usize);
    for (run, line) in lines.enumerate() {
        rows += 1;
        if matched[run] {
            n += 1;
            high += u64::from(line.split(',').nth(outcome_c) == Some("high"));
        }
    }
    assert_eq!(rows, 5000, "every run is in the per-run file");
    let s = summary(&out.join("given/summary.json"));
    assert_eq!(s["runs"], n);
    assert_eq!(s["given"]["matched"], n);
    assert_eq!(s["given"]["of"], 5000);
    assert_eq!(s["given"]["conditions"][0]["step_starts"], "2020-01-20");
    assert_eq!(s["outcomes"][0]["count"], high);
    assert!(n > 1000 && n < 4000, "the condition splits the runs: {n}");
}

/// A condition on a parameter at the last step: the matching runs are those with a > 0.5, and
/// the outcome's probability among them is the share of those with a > 0.7 (0.3 / 0.5).
#[test]
fn given_conditions_the_outcome_probabilities() {
    let (dir, scenario) = setup();
    let out = dir.path().join("out");
    sim()
        .arg("run")
        .arg(&scenario)
        .args([
            "--given",
            "world.level > 0.5 @ 2020-02-10",
            "--runs",
            "20000",
        ])
        .args(["--no-charts", "-q", "--runs-format", "none", "--out"])
        .arg(&out)
        .assert()
        .success();
    let s = summary(&out.join("given/summary.json"));
    let p = s["outcomes"][0]["probability"].as_f64().expect("p");
    assert!((p - 0.6).abs() < 0.02, "{p}");
    let matched = s["given"]["matched"].as_u64().expect("matched");
    assert!((matched as f64 / 20000.0 - 0.5).abs() < 0.02);
}

#[test]
fn given_results_do_not_depend_on_the_thread_count() {
    let (dir, scenario) = setup();
    let mut files = Vec::new();
    for threads in ["1", "2"] {
        let out = dir.path().join(format!("out{threads}"));
        sim()
            .arg("run")
            .arg(&scenario)
            .args(["--given", "world.count >= 2 @ 2020-01-22", "--runs", "3000"])
            .args([
                "--threads",
                threads,
                "--no-charts",
                "-q",
                "--runs-format",
                "none",
                "--out",
            ])
            .arg(&out)
            .assert()
            .success();
        files.push(std::fs::read(out.join("given/summary.json")).expect("summary"));
    }
    assert_eq!(files[0], files[1]);
}

#[test]
fn no_matching_run_is_an_error_and_few_are_a_warning() {
    let (dir, scenario) = setup();
    let out = dir.path().join("out");
    let output = sim()
        .arg("run")
        .arg(&scenario)
        .args([
            "--given",
            "world.count >= 99 @ 2020-01-22",
            "--runs",
            "200",
            "--out",
        ])
        .arg(&out)
        .output()
        .expect("runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("no run of 200 meets --given"), "{stderr}");
    assert!(!out.join("given").exists(), "nothing is written");
    let left: Vec<_> = std::fs::read_dir(&out)
        .map(|d| d.filter_map(Result::ok).map(|e| e.file_name()).collect())
        .unwrap_or_default();
    assert!(
        left.is_empty(),
        "no staging folder is left behind: {left:?}"
    );
    let output = sim()
        .arg("run")
        .arg(&scenario)
        .args([
            "--given",
            "world.level > 0.99 @ 2020-01-22",
            "--runs",
            "2000",
        ])
        .args(["--no-charts", "-q", "--out"])
        .arg(&out)
        .output()
        .expect("runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(stderr.contains("warning: only"), "{stderr}");
}

#[test]
fn a_bad_condition_is_an_error_in_the_flag_s_text() {
    let (dir, scenario) = setup();
    for (given, message, place) in [
        (
            "world.cont >= 2 @ 2020-01-22",
            "unknown name `world.cont`",
            "--given 1:1:1",
        ),
        (
            "world.count >= 2 @ 2020-13-01",
            "`2020-13-01` is not a date",
            "--given 1:1:20",
        ),
        (
            "world.count >= 2 @ 2021-01-01",
            "outside the scenario's time axis",
            "--given 1:1:20",
        ),
        (
            "world.count >= 2",
            "a --given condition is `EXPR @ DATE`",
            "--given 1:1:1",
        ),
        ("world.count + 2 @ 2020-01-22", "", "--given 1:1:1"),
    ] {
        let out = dir.path().join("out");
        let output = sim()
            .arg("run")
            .arg(&scenario)
            .args(["--given", given, "--out"])
            .arg(&out)
            .output()
            .expect("runs");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{given}: {stderr}");
        assert!(stderr.contains(message), "{given}: {stderr}");
        assert!(stderr.contains(place), "{given}: {stderr}");
        assert!(!out.exists());
    }
}

#[test]
fn a_study_without_given_has_no_given_key() {
    let (dir, scenario) = setup();
    let out = dir.path().join("out");
    sim()
        .arg("run")
        .arg(&scenario)
        .args(["--runs", "100", "--no-charts", "-q", "--out"])
        .arg(&out)
        .assert()
        .success();
    let text = std::fs::read_to_string(out.join("given/summary.json")).expect("summary");
    assert!(!text.contains("\"given\""));
}
