//! `alliance-sim discover` against boxes known in advance: an outcome that is exactly the
//! indicator of a box in two of five parameters, and an outcome no parameter moves.

use std::path::Path;

use assert_cmd::Command;

fn sim() -> Command {
    let mut cmd = Command::cargo_bin("alliance-sim").expect("binary");
    cmd.env("NO_COLOR", "1");
    cmd
}

/// Five uniform parameters; `hit` exactly when a >= 0.6 and b <= 0.3 (12% of runs), or, with
/// `chance`, by a coin that no parameter moves.
fn scenario(outcome_when: &str) -> String {
    let mut text = String::from(
        "[scenario]\nname = \"Box\"\ndescription = \"A known box.\"\nstart = 2020-01-06\nstep = \"week\"\nsteps = 2\nruns = 1000\nseed = 3\n\n",
    );
    for p in ["a", "b", "c", "d", "e"] {
        text.push_str(&format!(
            "[parameters.{p}]\ndist = \"uniform\"\nmin = 0\nmax = 1\n\n"
        ));
    }
    text.push_str(
        "[actors.world]\nlabel = \"World\"\n\n[actors.world.vars]\ncoin = \"0\"\n\n\
         [events.toss]\nprobability = \"0.3\"\nfrom = 0\nuntil = 0\neffects = [{ var = \"world.coin\", set = \"1\" }]\n\n",
    );
    text.push_str(&format!(
        "[outcomes.hit]\nlabel = \"Hit\"\nwhen = \"{outcome_when}\"\n\n[outcomes.miss]\nlabel = \"Miss\"\n"
    ));
    text
}

fn discover(dir: &Path, text: &str, extra: &[&str]) -> serde_json::Value {
    let file = dir.join("box.toml");
    std::fs::write(&file, text).expect("write");
    let output = sim()
        .arg("discover")
        .arg(&file)
        .args([
            "--outcome",
            "hit",
            "--runs",
            "20000",
            "--json",
            "-q",
            "--out",
        ])
        .arg(dir.join("out"))
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

#[test]
fn a_box_in_two_of_five_parameters_is_recovered_and_the_others_left_free() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = discover(dir.path(), &scenario("a >= 0.6 and b <= 0.3"), &[]);
    assert_eq!(d["outcome"], "hit");
    assert!((f(&d["share"]) - 0.12).abs() < 0.01, "{}", d["share"]);
    let boxes = d["boxes"].as_array().expect("boxes");
    assert!(!boxes.is_empty(), "{d}");
    let first = &boxes[0];
    assert!(f(&first["density"]) > 0.95, "{first}");
    assert!(f(&first["coverage"]) > 0.9, "{first}");
    let restrictions = first["restrictions"].as_array().expect("restrictions");
    let ids: Vec<&str> = restrictions
        .iter()
        .filter_map(|r| r["parameter"].as_str())
        .collect();
    assert_eq!(ids, ["a", "b"], "only a and b are restricted: {first}");
    // Edges within one peeling step (5% of the box's runs) of the truth.
    let a = &restrictions[0];
    assert!((f(&a["min"]) - 0.6).abs() < 0.05, "{a}");
    assert!(a["max"].is_null(), "{a}");
    let b = &restrictions[1];
    assert!((f(&b["max"]) - 0.3).abs() < 0.05, "{b}");
    assert!(b["min"].is_null(), "{b}");
    // Dropping either restriction costs most of the density.
    for r in restrictions {
        assert!(f(&r["density_without"]) < 0.6, "{r}");
    }
    let words = first["description"].as_str().expect("description");
    assert!(
        words.starts_with("hit: ")
            && words.contains("when a >= 0.")
            && words.contains(" and b <= 0."),
        "{words}"
    );
}

#[test]
fn an_outcome_no_parameter_moves_gets_no_box() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = discover(dir.path(), &scenario("world.coin == 1"), &[]);
    assert!((f(&d["share"]) - 0.3).abs() < 0.02);
    assert_eq!(d["boxes"].as_array().map(Vec::len), Some(0), "{d}");
    let note = d["note"].as_str().expect("a note says why");
    assert!(note.contains("no box concentrates the outcome"), "{note}");
}

/// The box's counts are a recount of the odd runs of the per-run file of the same seed.
#[test]
fn a_box_s_density_and_coverage_are_a_recount_of_the_runs_it_did_not_see() {
    let dir = tempfile::tempdir().expect("tempdir");
    let text = scenario("a >= 0.6 and b <= 0.3");
    let d = discover(dir.path(), &text, &[]);
    sim()
        .arg("run")
        .arg(dir.path().join("box.toml"))
        .args([
            "--runs",
            "20000",
            "--no-charts",
            "-q",
            "--runs-format",
            "csv",
            "--out",
        ])
        .arg(dir.path().join("run"))
        .assert()
        .success();
    let csv = std::fs::read_to_string(dir.path().join("run/box/runs.csv")).expect("runs.csv");
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().expect("header").split(',').collect();
    let col = |name: &str| header.iter().position(|h| *h == name).expect("column");
    let first = &d["boxes"][0];
    let restrictions: Vec<(usize, Option<f64>, Option<f64>)> = first["restrictions"]
        .as_array()
        .expect("restrictions")
        .iter()
        .map(|r| {
            (
                col(r["parameter"].as_str().expect("id")),
                r["min"].as_f64(),
                r["max"].as_f64(),
            )
        })
        .collect();
    let (run_col, outcome_col) = (col("run"), col("outcome"));
    let (mut inside, mut hits_inside, mut hits) = (0u64, 0u64, 0u64);
    for line in lines {
        let cells: Vec<&str> = line.split(',').collect();
        let run: u64 = cells[run_col].parse().expect("run");
        if run % 2 == 0 {
            continue;
        }
        let hit = cells[outcome_col] == "hit";
        hits += u64::from(hit);
        let in_box = restrictions.iter().all(|&(c, lo, hi)| {
            let x: f64 = cells[c].parse().expect("number");
            lo.is_none_or(|lo| x >= lo) && hi.is_none_or(|hi| x <= hi)
        });
        if in_box {
            inside += 1;
            hits_inside += u64::from(hit);
        }
    }
    assert_eq!(first["runs"], inside);
    assert_eq!(first["hits"], hits_inside);
    assert!((f(&first["density"]) - hits_inside as f64 / inside as f64).abs() < 1e-15);
    assert!((f(&first["coverage"]) - hits_inside as f64 / hits as f64).abs() < 1e-15);
}

#[test]
fn discovery_does_not_depend_on_the_thread_count() {
    let dir = tempfile::tempdir().expect("tempdir");
    let text = scenario("a >= 0.6 and b <= 0.3");
    let one = discover(dir.path(), &text, &["--threads", "1"]);
    let two = discover(dir.path(), &text, &["--threads", "2"]);
    assert_eq!(one, two);
}

#[test]
fn discover_writes_its_folder_and_chart() {
    let dir = tempfile::tempdir().expect("tempdir");
    discover(dir.path(), &scenario("a >= 0.6 and b <= 0.3"), &[]);
    let folder = dir.path().join("out/box/discover");
    for name in [
        "discovery.json",
        "discovery.png",
        "discovery.svg",
        "manifest.json",
    ] {
        assert!(folder.join(name).is_file(), "{name}");
    }
}

#[test]
fn bad_discover_flags_exit_2_and_write_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("box.toml");
    std::fs::write(&file, scenario("a >= 0.6")).expect("write");
    for (flags, message) in [
        (vec!["--outcome", "hits"], "did you mean `hit`"),
        (
            vec!["--min-coverage", "1.5"],
            "--min-coverage must be a share",
        ),
        (vec!["--peel", "0"], "--peel must be a share"),
        (vec!["--resamples", "100000"], "--resamples must be at most"),
        (vec!["--runs", "5"], "too few"),
    ] {
        let output = sim()
            .arg("discover")
            .arg(&file)
            .args(&flags)
            .arg("--out")
            .arg(dir.path().join("out"))
            .output()
            .expect("runs");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{flags:?}: {stderr}");
        assert!(stderr.contains(message), "{flags:?}: {stderr}");
        assert!(!dir.path().join("out").exists(), "{flags:?} wrote a folder");
    }
}

/// The box scenario with metrics: `level` is the parameter `a` (through a variable), so a
/// condition on metrics at the end of the run is a condition on the parameters.
fn scenario_with_metrics() -> String {
    scenario("world.coin == 1").replace("coin = \"0\"\n", "coin = \"0\"\nx = \"a\"\ny = \"b\"\n")
        + "\n[metrics.level]\nexpr = \"world.x\"\n\n[metrics.other]\nexpr = \"world.y\"\n"
}

fn discover_when(dir: &Path, text: &str, when: &str) -> std::process::Output {
    let file = dir.join("box.toml");
    std::fs::write(&file, text).expect("write");
    sim()
        .arg("discover")
        .arg(&file)
        .args(["--when", when, "--runs", "20000", "--json", "-q", "--out"])
        .arg(dir.join("out"))
        .output()
        .expect("runs")
}

#[test]
fn a_condition_on_metrics_at_the_end_of_the_run_is_explained_like_an_outcome() {
    let dir = tempfile::tempdir().expect("tempdir");
    let output = discover_when(
        dir.path(),
        &scenario_with_metrics(),
        "level >= 0.6 and other <= 0.3",
    );
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let d: serde_json::Value = serde_json::from_slice(&output.stdout).expect("json");
    // Without a date the condition is read at the end of the run (the last step).
    assert_eq!(d["outcome"], "level >= 0.6 and other <= 0.3 @ 2020-01-13");
    assert!((f(&d["share"]) - 0.12).abs() < 0.01, "{}", d["share"]);
    let first = &d["boxes"][0];
    assert!(f(&first["density"]) > 0.95, "{first}");
    let ids: Vec<&str> = first["restrictions"]
        .as_array()
        .expect("restrictions")
        .iter()
        .filter_map(|r| r["parameter"].as_str())
        .collect();
    assert_eq!(ids, ["a", "b"], "{first}");
}

#[test]
fn a_when_that_is_not_a_condition_is_refused_at_its_place() {
    let dir = tempfile::tempdir().expect("tempdir");
    let text = scenario_with_metrics();
    let output = discover_when(dir.path(), &text, "level + 1");
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("--when:1:1"), "{stderr}");
    let output = discover_when(dir.path(), &text, "levl > 1 @ 2020-01-06");
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("did you mean `level`"), "{stderr}");
    assert!(!dir.path().join("out").exists());
}
