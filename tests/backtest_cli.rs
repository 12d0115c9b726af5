//! `alliance-sim backtest` on the real history cases (scenarios/history) and on broken ones.

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use predicates::prelude::*;

fn sim() -> Command {
    let mut cmd = Command::cargo_bin("alliance-sim").expect("binary builds");
    cmd.env("NO_COLOR", "1");
    cmd
}

fn history() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("scenarios/history")
}

fn read_json(path: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(path).expect("file written");
    serde_json::from_str(&text).expect("valid JSON")
}

fn number(v: &serde_json::Value) -> f64 {
    v.as_f64().unwrap_or_else(|| panic!("not a number: {v}"))
}

#[test]
fn backtest_scores_every_history_case_and_writes_the_report() {
    let out = tempfile::tempdir().expect("temp dir");
    sim()
        .arg("backtest")
        .arg(history())
        .args(["--runs", "2000", "--seed", "7", "--out"])
        .arg(out.path())
        .assert()
        .success()
        .stdout(predicate::str::contains("Brier"))
        .stdout(predicate::str::contains("baseline: status quo"));
    let report = read_json(&out.path().join("backtest/backtest.json"));
    assert_eq!(report["runs_per_case"], 2000);
    assert_eq!(report["seed"], 7);
    let cases = report["cases"].as_array().expect("cases");
    // GSOMIA's thirteen cases, then THAAD's twenty-two in their subfolder.
    assert_eq!(
        cases.len(),
        35,
        "one entry per case file, subfolders included"
    );
    let dates: Vec<&str> = cases.iter().filter_map(|c| c["date"].as_str()).collect();
    assert!(cases[13]["file"]
        .as_str()
        .is_some_and(|f| f.contains("thaad")));
    assert_eq!(
        dates[..13],
        [
            "2019-08-22",
            "2019-11-22",
            "2019-11-22",
            "2019-12-16",
            "2020-05-31",
            "2020-07-01",
            "2020-08-24",
            "2021-07-01",
            "2021-08-24",
            "2022-07-01",
            "2022-08-24",
            "2023-03-16",
            "2023-03-21"
        ]
    );
    for case in cases {
        let brier = number(&case["brier"]);
        assert!((0.0..=2.0).contains(&brier), "Brier out of [0, 2]: {case}");
        let log = number(&case["log_score"]);
        assert!(log >= 0.0 && log.is_finite(), "log score: {case}");
        let p = number(&case["probability"]);
        let lo = number(&case["ci95"][0]);
        let hi = number(&case["ci95"][1]);
        assert!(lo <= p && p <= hi, "interval: {case}");
        let classes = case["classes"].as_array().expect("classes");
        let total: f64 = classes.iter().map(|c| number(&c["probability"])).sum();
        assert!(
            (total - 1.0).abs() < 1e-9,
            "class probabilities sum to {total}"
        );
        assert!(
            classes.iter().any(|c| c["id"] == case["observed"]),
            "observed class listed: {case}"
        );
        let baseline = number(&case["baseline_status_quo"]["brier"]);
        assert!((0.0..=2.0).contains(&baseline), "baseline Brier: {case}");
    }
    let overall = &report["overall"];
    assert_eq!(overall["cases"], 35);
    let mean = number(&overall["mean_brier"]);
    assert!((0.0..=2.0).contains(&mean));
}

#[test]
fn backtest_json_goes_to_stdout_and_is_the_written_file() {
    let out = tempfile::tempdir().expect("temp dir");
    let assert = sim()
        .arg("backtest")
        .arg(history())
        .args(["--runs", "500", "--json", "-q", "--out"])
        .arg(out.path())
        .assert()
        .success();
    let stdout = String::from_utf8(assert.get_output().stdout.clone()).expect("utf-8");
    let written = std::fs::read_to_string(out.path().join("backtest/backtest.json")).expect("file");
    assert_eq!(stdout, written);
}

#[test]
fn backtest_results_do_not_depend_on_the_thread_count() {
    let one = tempfile::tempdir().expect("temp dir");
    let many = tempfile::tempdir().expect("temp dir");
    for (dir, threads) in [(&one, "1"), (&many, "4")] {
        sim()
            .arg("backtest")
            .arg(history())
            .args(["--runs", "1500", "-q", "--threads", threads, "--out"])
            .arg(dir.path())
            .assert()
            .success();
    }
    let a = std::fs::read(one.path().join("backtest/backtest.json")).expect("file");
    let b = std::fs::read(many.path().join("backtest/backtest.json")).expect("file");
    assert_eq!(a, b);
}

#[test]
fn an_invalid_case_file_exits_2_and_names_the_problem() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(
        dir.path().join("bad.toml"),
        format!(
            "extends = \"{}\"\n\n[backtest]\ndecision = \"notice\"\nobserved = \"give_notic\"\ndate = 2019-08-22\n",
            history().join("../gsomia_2019.toml").display()
        ),
    )
    .expect("write case");
    sim()
        .arg("backtest")
        .arg(dir.path())
        .args(["--runs", "100", "-q", "--out"])
        .arg(dir.path().join("out"))
        .assert()
        .code(2)
        .stderr(predicate::str::contains("give_notic"))
        .stderr(predicate::str::contains("give_notice"));
    assert!(!dir.path().join("out/backtest/backtest.json").exists());
}

/// With no folder, `backtest` scores the shipped cases, which go with the binary: from a
/// folder with no `scenarios/` in it, the report is the one `backtest scenarios/history` gives,
/// number for number.
#[test]
fn backtest_with_no_folder_scores_the_shipped_cases_from_any_directory() {
    let elsewhere = tempfile::tempdir().expect("temp dir");
    let out = tempfile::tempdir().expect("temp dir");
    let args = ["--runs", "1000", "--seed", "11", "--json", "-q", "--out"];
    let shipped = sim()
        .current_dir(elsewhere.path())
        .arg("backtest")
        .args(args)
        .arg(out.path().join("shipped"))
        .output()
        .expect("runs");
    assert!(shipped.status.success(), "{shipped:?}");
    let on_disk = sim()
        .arg("backtest")
        .arg(history())
        .args(args)
        .arg(out.path().join("on_disk"))
        .output()
        .expect("runs");
    assert!(on_disk.status.success(), "{on_disk:?}");
    let mut shipped: serde_json::Value = serde_json::from_slice(&shipped.stdout).expect("JSON");
    let mut on_disk: serde_json::Value = serde_json::from_slice(&on_disk.stdout).expect("JSON");
    // Only the names the cases go by differ.
    for report in [&mut shipped, &mut on_disk] {
        for case in report["cases"].as_array_mut().expect("cases") {
            let file = case["file"].as_str().expect("file").to_string();
            let name = Path::new(&file).file_name().expect("a name").to_owned();
            case["file"] = name.to_string_lossy().into_owned().into();
        }
    }
    assert_eq!(shipped, on_disk);
    assert_eq!(shipped["cases"].as_array().map(Vec::len), Some(35));
}

/// Every case file in scenarios/history goes with the binary: a case added on disk and not
/// to the shipped list would be scored by `backtest scenarios/history` and not by `backtest`.
#[test]
fn the_shipped_cases_are_the_files_of_scenarios_history() {
    let mut on_disk: Vec<String> = Vec::new();
    for (folder, prefix) in [
        (history(), "history"),
        (history().join("thaad"), "history/thaad"),
    ] {
        on_disk.extend(
            std::fs::read_dir(folder)
                .expect("scenarios/history")
                .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
                .filter(|n| n.ends_with(".toml"))
                .map(|n| format!("{prefix}/{n}")),
        );
    }
    on_disk.sort();
    let shipped: Vec<String> = alliance_sim::scenario::SHIPPED
        .iter()
        .map(|(n, _)| n.to_string())
        .filter(|n| n.starts_with("history/"))
        .collect();
    assert_eq!(shipped, on_disk);
}

#[test]
fn a_folder_without_cases_exits_2() {
    let dir = tempfile::tempdir().expect("temp dir");
    sim()
        .arg("backtest")
        .arg(dir.path())
        .args(["-q"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("no backtest cases"));
    sim()
        .arg("backtest")
        .arg(dir.path().join("missing"))
        .assert()
        .code(2)
        .stderr(predicate::str::contains("cannot read the backtest folder"));
}

/// A probability the model gave that is small but not zero is printed as such: one decimal
/// printed 0.0% for the observed option of a case the model all but ruled out.
#[test]
fn a_small_probability_never_prints_as_zero() {
    let dir = tempfile::tempdir().expect("temp dir");
    let case = TINY.replace("utility = \"a.x\"", "utility = \"a.x - 5\"");
    std::fs::write(
        dir.path().join("unlikely.toml"),
        format!("{case}\n[backtest]\ndecision = \"go\"\nobserved = \"leave\"\ndate = 2020-02-01\n"),
    )
    .expect("write case");
    let out = dir.path().join("out");
    let json = sim()
        .arg("backtest")
        .arg(dir.path())
        .args(["--runs", "20000", "--json", "-q", "--out"])
        .arg(&out)
        .output()
        .expect("runs");
    assert!(json.status.success(), "{json:?}");
    let report: serde_json::Value = serde_json::from_slice(&json.stdout).expect("JSON");
    let p = number(&report["cases"][0]["probability"]);
    assert!(
        p > 0.0 && p < 0.0005,
        "the case must be unlikely, not impossible: {p}"
    );
    let table = sim()
        .arg("backtest")
        .arg(dir.path())
        .args(["--runs", "20000", "--out"])
        .arg(&out)
        .output()
        .expect("runs");
    let text = String::from_utf8_lossy(&table.stdout);
    let row = text
        .lines()
        .find(|l| l.starts_with("2020-02-01"))
        .unwrap_or_else(|| panic!("no case row:\n{text}"));
    // date, decider, decision, observed, then p(observed).
    let printed = row.split_whitespace().nth(4).expect("a p(observed) cell");
    let shown: f64 = printed
        .trim_start_matches('<')
        .trim_end_matches('%')
        .parse()
        .expect("a percentage");
    assert!(shown > 0.0, "{printed} for p = {p}: {row}");
}

// --- the [backtest] table, through the library ---

const TINY: &str = r#"
[scenario]
name = "tiny"
start = 2020-01-01
step = "month"
steps = 3
seed = 3

[parameters.pull]
dist = "uniform"
min = 0.0
max = 1.0

[actors.a.vars.x]
init = "pull"

[decisions.go]
actor = "a"
date = 2020-02-01
temperature = 0.5
[decisions.go.options.stay]
utility = "0.5"
[decisions.go.options.leave]
utility = "a.x"

[outcomes.left]
when = "go.leave"
[outcomes.stayed]
"#;

fn tiny(backtest: &str) -> Result<alliance_sim::model::Model, String> {
    let text = format!("{TINY}\n[backtest]\n{backtest}\n");
    let scenario =
        alliance_sim::scenario::load_str("tiny.toml", &text, None).map_err(|d| d.render(false))?;
    alliance_sim::model::compile(scenario).map_err(|d| d.render(false))
}

#[test]
fn a_case_can_score_the_outcome_instead_of_a_decision() {
    use alliance_sim::analysis::backtest::{run_backtest, BacktestConfig};
    let model =
        tiny("observed = \"stayed\"\nstatus_quo = \"stayed\"\ndate = 2020-02-01").expect("valid");
    assert_eq!(
        model.backtest.as_ref().map(|b| b.scored),
        Some(alliance_sim::model::Scored::Outcome)
    );
    let config = BacktestConfig {
        runs: 4000,
        seed: None,
    };
    let cancel = std::sync::atomic::AtomicBool::new(false);
    let report = run_backtest(&[model], &config, &|_| {}, &cancel).expect("runs");
    let case = &report.cases[0];
    assert_eq!(case.decision, "outcome");
    let ids: Vec<&str> = case.classes.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(ids, ["left", "stayed"]);
    // Leaving beats staying when the uniform pull exceeds 0.5: about even odds.
    assert!(
        (case.probability - 0.5).abs() < 0.05,
        "{}",
        case.probability
    );
    let p = case.probability;
    let expected = 2.0 * (1.0 - p) * (1.0 - p);
    assert!((case.brier - expected).abs() < 1e-12);
    assert!((case.log_score + p.ln()).abs() < 1e-12);
    assert_eq!(case.baseline_uniform.brier, 0.5);
}

#[test]
fn observed_must_name_an_option_of_the_scored_decision() {
    let err =
        tiny("decision = \"go\"\nobserved = \"leve\"\ndate = 2020-02-01").expect_err("invalid");
    assert!(
        err.contains("`observed`: `leve` is not an option of decision `go`"),
        "{err}"
    );
    assert!(err.contains("leave"), "{err}");
    let err =
        tiny("decision = \"went\"\nobserved = \"leave\"\ndate = 2020-02-01").expect_err("invalid");
    assert!(err.contains("`went` is not a decision"), "{err}");
    let err = tiny("observed = \"left\"\ndate = 2020-02-01\nwhen = 1").expect_err("invalid");
    assert!(err.contains("unknown key `when`"), "{err}");
    let err = tiny("observed = \"left\"").expect_err("invalid");
    assert!(err.contains("missing key `date`"), "{err}");
}

#[test]
fn case_scores_only_the_cases_it_names_by_id_or_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let backtest = |extra: &[&str]| -> serde_json::Value {
        let output = sim()
            .args(["backtest", "--runs", "500", "--json", "-q", "--out"])
            .arg(dir.path())
            .args(extra)
            .output()
            .expect("runs");
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        serde_json::from_slice(&output.stdout).expect("json")
    };
    let all = backtest(&[]);
    let some = backtest(&[
        "--case",
        "2019-11-22_seoul_deadline",
        "--case",
        "history/2019-08-22_seoul_notice.toml",
    ]);
    let ids: Vec<&str> = some["cases"]
        .as_array()
        .expect("cases")
        .iter()
        .filter_map(|c| c["id"].as_str())
        .collect();
    // The folder's order, whatever the flags' order.
    assert_eq!(
        ids,
        ["2019-08-22_seoul_notice", "2019-11-22_seoul_deadline"]
    );
    assert_eq!(some["overall"]["cases"], 2);
    // A case scores the same alone as among the others.
    let same = |id: &str| {
        let find = |r: &serde_json::Value| {
            r["cases"]
                .as_array()
                .expect("cases")
                .iter()
                .find(|c| c["id"] == id)
                .cloned()
                .expect("case")
        };
        assert_eq!(find(&all), find(&some), "{id}");
    };
    same("2019-08-22_seoul_notice");
    same("2019-11-22_seoul_deadline");

    let output = sim()
        .args(["backtest", "--case", "2019-08-22_seoul_notise", "--out"])
        .arg(dir.path().join("bad"))
        .output()
        .expect("runs");
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("names no case") && stderr.contains("2019-08-22_seoul_notice"),
        "{stderr}"
    );
    assert!(!dir.path().join("bad").exists());
}
