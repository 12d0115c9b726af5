//! `run --design FILE`: another tool's rows of parameter values drive the study.

use std::path::Path;

use assert_cmd::Command;

fn sim() -> Command {
    let mut cmd = Command::cargo_bin("alliance-sim").expect("binary");
    cmd.env("NO_COLOR", "1");
    cmd
}

/// Two uniform parameters; `high` exactly when a > 0.5.
const SCENARIO: &str = "[scenario]\nname = \"Design\"\ndescription = \"Rows from a design.\"\n\
start = 2020-01-06\nstep = \"week\"\nsteps = 2\nruns = 50\nseed = 9\n\n\
[parameters.a]\ndist = \"uniform\"\nmin = 0\nmax = 1\n\n\
[parameters.b]\ndist = \"uniform\"\nmin = 0\nmax = 1\n\n\
[actors.world]\nlabel = \"World\"\n\n[actors.world.vars]\nx = \"a + b\"\n\n\
[outcomes.high]\nlabel = \"High\"\nwhen = \"a > 0.5\"\n\n[outcomes.low]\nlabel = \"Low\"\n\n\
[metrics.x]\nexpr = \"world.x\"\n";

fn setup(design: &str) -> (tempfile::TempDir, std::path::PathBuf, std::path::PathBuf) {
    let dir = tempfile::tempdir().expect("tempdir");
    let scenario = dir.path().join("design.toml");
    std::fs::write(&scenario, SCENARIO).expect("write");
    let file = dir.path().join("rows.csv");
    std::fs::write(&file, design).expect("write");
    (dir, scenario, file)
}

fn rows_of(csv: &Path) -> Vec<Vec<String>> {
    std::fs::read_to_string(csv)
        .expect("runs.csv")
        .lines()
        .map(|l| l.split(',').map(String::from).collect())
        .collect()
}

#[test]
fn each_run_takes_its_row_and_the_other_parameters_are_drawn_as_usual() {
    let (dir, scenario, file) = setup("a\n0.9\n0.1\n0.75\n0.25\n");
    for (name, extra) in [
        ("designed", vec!["--design", "rows.csv"]),
        ("plain", vec!["--runs", "4"]),
    ] {
        sim()
            .current_dir(dir.path())
            .arg("run")
            .arg(&scenario)
            .args(&extra)
            .args(["--runs-format", "csv", "--no-charts", "-q", "--out"])
            .arg(dir.path().join(name))
            .assert()
            .success();
    }
    let _ = file;
    let designed = rows_of(&dir.path().join("designed/design/runs.csv"));
    let plain = rows_of(&dir.path().join("plain/design/runs.csv"));
    assert_eq!(designed[0][..3], ["run", "a", "b"]);
    let a: Vec<&str> = designed[1..].iter().map(|r| r[1].as_str()).collect();
    assert_eq!(a, ["0.9", "0.1", "0.75", "0.25"]);
    // `b` is not in the design: the same draws as a plain study of the same seed.
    for (d, p) in designed[1..].iter().zip(&plain[1..]) {
        assert_eq!(d[2], p[2]);
    }
    let summary: serde_json::Value = serde_json::from_slice(
        &std::fs::read(dir.path().join("designed/design/summary.json")).expect("summary"),
    )
    .expect("json");
    assert_eq!(summary["runs"], 4);
    // Two of the four rows have a > 0.5.
    assert_eq!(summary["outcomes"][0]["count"], 2);
    let design = &summary["design"];
    assert_eq!(design["rows"], 4);
    assert_eq!(design["parameters"], serde_json::json!(["a"]));
    let bytes = std::fs::read(dir.path().join("rows.csv")).expect("design");
    let sha = sha256_hex(&bytes);
    assert_eq!(design["sha256"], sha.as_str());
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[test]
fn a_summary_without_a_design_has_no_design_key() {
    let (dir, scenario, _) = setup("a\n0.5\n");
    sim()
        .arg("run")
        .arg(&scenario)
        .args(["--runs", "10", "--no-charts", "-q", "--out"])
        .arg(dir.path().join("out"))
        .assert()
        .success();
    let text =
        std::fs::read_to_string(dir.path().join("out/design/summary.json")).expect("summary");
    assert!(!text.contains("\"design\""));
}

/// Each mistake is refused at its line and column, exit 2, and no result folder is made.
#[test]
fn a_bad_design_is_an_error_at_its_line_and_column() {
    for (design, extra, location, message) in [
        (
            "a,bb\n0.5,0.5\n",
            vec![],
            "rows.csv:1:3",
            "unknown parameter `bb`",
        ),
        (
            "a,a\n0.5,0.5\n",
            vec![],
            "rows.csv:1:3",
            "`a` has two columns",
        ),
        (
            "a,b\n0.5,0.5\n0.2,x\n",
            vec![],
            "rows.csv:3:5",
            "`x` is not a finite number",
        ),
        (
            "a,b\n0.5,nan\n",
            vec![],
            "rows.csv:2:5",
            "`nan` is not a finite number",
        ),
        (
            "a,b\n0.5\n",
            vec![],
            "rows.csv:2:1",
            "this row has 1 values",
        ),
        ("a,b\n", vec![], "rows.csv:1:1", "a header but no rows"),
        ("", vec![], "rows.csv", "the design file is empty"),
        (
            "a\n0.5\n",
            vec!["--set", "a=0.2"],
            "rows.csv:1:1",
            "held by --set",
        ),
        (
            "a\n0.5\n",
            vec!["--runs", "7"],
            "",
            "disagrees with the design's 1 rows",
        ),
    ] {
        let (dir, scenario, file) = setup(design);
        let output = sim()
            .arg("run")
            .arg(&scenario)
            .arg("--design")
            .arg(&file)
            .args(&extra)
            .arg("--out")
            .arg(dir.path().join("out"))
            .output()
            .expect("runs");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{design:?}: {stderr}");
        assert!(stderr.contains(message), "{design:?}: {stderr}");
        assert!(stderr.contains(location), "{design:?}: {stderr}");
        assert!(!dir.path().join("out").exists(), "{design:?} made a folder");
    }
}

#[test]
fn a_value_outside_a_parameter_s_range_runs_with_a_warning() {
    let (dir, scenario, file) = setup("a\n1.5\n");
    let output = sim()
        .arg("run")
        .arg(&scenario)
        .arg("--design")
        .arg(&file)
        .args(["--no-charts", "-q", "--out"])
        .arg(dir.path().join("out"))
        .output()
        .expect("runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(
        stderr.contains("warning: --design: 1 value(s) of `a` lie outside"),
        "{stderr}"
    );
    assert!(stderr.contains("rows.csv:2:1"), "{stderr}");
}

#[test]
fn a_design_does_not_go_with_shards_or_precision() {
    let (dir, scenario, file) = setup("a\n0.5\n");
    for flags in [vec!["--shard", "1/2"], vec!["--precision", "0.01"]] {
        sim()
            .arg("run")
            .arg(&scenario)
            .arg("--design")
            .arg(&file)
            .args(&flags)
            .arg("--out")
            .arg(dir.path().join("out"))
            .assert()
            .code(2);
    }
}
