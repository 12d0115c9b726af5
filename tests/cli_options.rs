//! The command line's checked options, on the real binary: a bad flag is refused with exit 2
//! and a message naming it before the command creates anything, and `run --shard` writes only
//! its own files into a folder it shares with a whole run and with other shards.

use std::path::{Path, PathBuf};

use assert_cmd::Command;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

fn sim() -> Command {
    let mut cmd = Command::cargo_bin("alliance-sim").expect("binary builds");
    cmd.env("NO_COLOR", "1");
    cmd
}

fn scenario(name: &str) -> String {
    format!("{ROOT}/scenarios/{name}")
}

/// Every entry under `dir`, relative to it, sorted.
fn entries(dir: &Path) -> Vec<PathBuf> {
    fn walk(root: &Path, dir: &Path, found: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).expect("read a folder") {
            let path = entry.expect("an entry").path();
            found.push(path.strip_prefix(root).expect("under root").to_path_buf());
            if path.is_dir() {
                walk(root, &path, found);
            }
        }
    }
    let mut found = Vec::new();
    walk(dir, dir, &mut found);
    found.sort();
    found
}

#[test]
fn a_bad_flag_exits_2_naming_it_and_creates_nothing() {
    let compare = [
        scenario("gsomia_2019.toml"),
        scenario("gsomia_2019_strong_lobbying.toml"),
    ];
    let compare: Vec<&str> = compare.iter().map(String::as_str).collect();
    let history = scenario("history");
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["run", "--precision", "0.7"], "--precision"),
        (
            vec!["run", "--precision", "0", "--no-runs-csv"],
            "--precision",
        ),
        (
            vec!["run", "--precision", "0.01", "--sampling", "lhs"],
            "--precision",
        ),
        (vec!["run", "--shard", "5/3"], "need 1 <= K <= N"),
        (vec!["run", "--shard", "0/3", "--no-runs-csv"], "--shard"),
        (vec!["run", "--shard", "three"], "expected K/N"),
        (
            vec!["run", "--shard", "1/2", "--precision", "0.01"],
            "--shard",
        ),
        (
            vec!["run", "--threads", "0"],
            "--threads must be between 1 and 256",
        ),
        (vec!["run", "--runs", "0"], "--runs must be between 1 and"),
        (vec!["run", "--set", "nk_threat"], "ID=VALUE"),
        (
            vec!["run", "--set", "nk_threat=high"],
            "not a finite number",
        ),
        (
            vec!["run", "--set", "no_such_parameter=1"],
            "unknown parameter `no_such_parameter`",
        ),
        (vec!["run", "--main-outcome", "nope"], "--main-outcome"),
        (
            vec!["sweep", "--param", "nk_threat=0:1:1"],
            "STEPS between 2 and 1000",
        ),
        (
            vec!["sweep", "--param", "nk_threat=0:1"],
            "expected ID=LO:HI:STEPS",
        ),
        (
            vec!["sweep", "--param", "nk_threat=0:x:3"],
            "`x` is not a number",
        ),
        (
            vec!["sweep", "--param", "no_such_parameter=0:1:3"],
            "unknown parameter `no_such_parameter`",
        ),
        (
            vec![
                "sweep",
                "--param",
                "nk_threat=0:1:3",
                "--param",
                "nk_threat=0:1:3",
            ],
            "must be different parameters",
        ),
        (
            vec![
                "sweep",
                "--param",
                "nk_threat=0:1:3",
                "--param",
                "us_lobbying_intensity=0:1:3",
                "--param",
                "japan_export_controls=0:1:3",
            ],
            "one or two parameters",
        ),
        (
            vec![
                "sweep",
                "--param",
                "nk_threat=0:1:3",
                "--main-outcome",
                "nope",
            ],
            "--main-outcome",
        ),
        (
            vec!["sensitivity", "--resamples", "0"],
            "--resamples must be between 1 and 10000",
        ),
        (
            vec![
                "sensitivity",
                "--method",
                "sobol",
                "--runs",
                "100",
                "--resamples",
                "0",
            ],
            "--resamples must be between 1 and 10000",
        ),
        (
            vec!["sensitivity", "--method", "sobol", "--runs", "10"],
            "needs --runs of at least 64",
        ),
        (vec!["sensitivity", "--target", "nope"], "--target"),
        (
            vec!["sensitivity", "--threads", "257"],
            "--threads must be between 1 and 256",
        ),
        (
            [&["compare"][..], &compare, &["--threads", "0"]].concat(),
            "--threads must be between 1 and 256",
        ),
        (
            [&["compare"][..], &compare, &["--runs", "0"]].concat(),
            "--runs must be between 1 and",
        ),
        (
            vec!["backtest", &history, "--runs", "0"],
            "--runs must be between 1 and",
        ),
        (
            vec!["backtest", &history, "--threads", "0"],
            "--threads must be between 1 and 256",
        ),
    ];
    // Every case is tried, and every one that fails is named: a regression in the order of
    // checks and side effects tends to hit several commands at once.
    let mut failures = Vec::new();
    for (args, message) in cases {
        let dir = tempfile::tempdir().expect("temp dir");
        let output = sim()
            .current_dir(dir.path())
            .args(&args)
            .args(["-q", "--out", "results"])
            .output()
            .expect("run alliance-sim");
        let stderr = String::from_utf8_lossy(&output.stderr);
        let created = entries(dir.path());
        if output.status.code() != Some(2) {
            failures.push(format!(
                "{args:?}: exit {:?}: {stderr}",
                output.status.code()
            ));
        } else if !stderr.contains(message) || stderr.contains("panicked") {
            failures.push(format!("{args:?}: stderr lacks `{message}`: {stderr}"));
        }
        if !created.is_empty() {
            failures.push(format!("{args:?} created {created:?}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// `run --runs 3000 --seed 3 --no-charts` with `extra` flags, into `out`; panics unless it
/// succeeds.
fn run_into(out: &Path, extra: &[&str]) {
    sim()
        .args(["run", "--runs", "3000", "--seed", "3", "--no-charts", "-q"])
        .args(extra)
        .arg("--out")
        .arg(out)
        .assert()
        .success();
}

/// The rows of a runs file, without its header.
fn rows(text: &str) -> &str {
    text.split_once('\n')
        .map(|(_, rest)| rest)
        .unwrap_or_default()
}

#[test]
fn shards_write_their_own_files_beside_a_whole_run_and_each_other() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().join("shared");
    let folder = out.join("gsomia_2019");
    run_into(&out, &["--runs-format", "csv"]);
    let whole_runs = std::fs::read(folder.join("runs.csv")).expect("the whole run's runs.csv");
    let whole_summary = std::fs::read(folder.join("summary.json")).expect("its summary.json");
    let whole_manifest = std::fs::read(folder.join("manifest.json")).expect("its manifest");

    // Two shards at once into the folder of the whole run, as GNU parallel starts them.
    let bin = assert_cmd::cargo::cargo_bin("alliance-sim");
    let shards: Vec<std::process::Child> = ["1/2", "2/2"]
        .into_iter()
        .map(|shard| {
            std::process::Command::new(&bin)
                .args(["run", "--runs", "3000", "--seed", "3", "--no-charts", "-q"])
                .args(["--runs-format", "csv", "--shard", shard, "--out"])
                .arg(&out)
                .stdout(std::process::Stdio::null())
                .spawn()
                .expect("start a shard")
        })
        .collect();
    for shard in shards {
        let status = shard.wait_with_output().expect("a shard ends").status;
        assert!(status.success(), "a shard failed: {status}");
    }

    for (name, before) in [
        ("runs.csv", &whole_runs),
        ("summary.json", &whole_summary),
        ("manifest.json", &whole_manifest),
    ] {
        let after = std::fs::read(folder.join(name)).expect("still there");
        assert!(
            after == *before,
            "the shards changed the whole run's {name}"
        );
    }
    let mut names: Vec<String> = std::fs::read_dir(&folder)
        .expect("the folder")
        .map(|e| {
            e.expect("an entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "manifest.json",
            "partial-1-of-2.json",
            "partial-2-of-2.json",
            "runs-1-of-2.csv",
            "runs-2-of-2.csv",
            "runs.csv",
            "summary.json",
        ],
        "each shard wrote its own two files and no temporary file is left"
    );
    let shard_rows = |k: u32| {
        std::fs::read_to_string(folder.join(format!("runs-{k}-of-2.csv"))).expect("shard rows")
    };
    let whole_text = String::from_utf8(whole_runs).expect("utf-8");
    assert_eq!(
        format!("{}{}", rows(&shard_rows(1)), rows(&shard_rows(2))),
        rows(&whole_text),
        "the shards' rows, in order, are the whole run's"
    );

    let merged = dir.path().join("merged");
    sim()
        .arg("merge")
        .args((1..=2).map(|k| folder.join(format!("partial-{k}-of-2.json"))))
        .args(["--no-charts", "--out"])
        .arg(&merged)
        .assert()
        .success();
    assert!(
        std::fs::read(merged.join("gsomia_2019/summary.json")).expect("merged") == whole_summary,
        "the merged shards give the whole run's summary.json"
    );

    // A whole run over the shared folder replaces its own files and keeps the shards'.
    run_into(&out, &["--no-runs-csv"]);
    for k in 1..=2 {
        assert!(folder.join(format!("partial-{k}-of-2.json")).is_file());
        assert!(folder.join(format!("runs-{k}-of-2.csv")).is_file());
    }
}
