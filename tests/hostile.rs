//! Hostile files, hostile flags, a hostile terminal: the binary refuses with exit 2 or does its
//! job, in bounded time, and never panics or lets a file talk to the terminal.
//!
//! The malformed-file classes (control characters in an error's line, `extends` of a device,
//! a too-long chain) are cases of the corpus in `tests/bad_scenarios/`; this file holds what
//! needs a flag, a pipe or a generated file.

use std::path::{Path, PathBuf};
use std::time::Duration;

use assert_cmd::Command;

const MINIMAL: &str = include_str!("fixtures/minimal.toml");
const ROOT: &str = env!("CARGO_MANIFEST_DIR");
/// Far above what any of these commands needs, far below the minutes a hang takes: a guard
/// against hangs, not a measurement.
const HANG: Duration = Duration::from_secs(120);

/// Address space each command may use (4 GiB): the largest value of every limit must fit in
/// it, with room for 256 thread stacks and the allocator's per-thread arenas.
const MEMORY_KIB: u64 = 4 << 20;

/// The binary under a memory cap and a hang guard: a limit that does not hold fails here
/// rather than taking the machine with it.
fn sim(dir: &Path) -> Command {
    let bin = assert_cmd::cargo::cargo_bin!("alliance-sim");
    let mut cmd = Command::new("sh");
    cmd.arg("-c")
        .arg(format!("ulimit -v {MEMORY_KIB} && exec \"$0\" \"$@\""))
        .arg(bin)
        .env("NO_COLOR", "1")
        .current_dir(dir)
        .timeout(HANG);
    cmd
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write a scenario");
    path
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Runs and expects exit 2 with `message` on stderr, and no panic.
fn refused(cmd: &mut Command, message: &str) {
    let out = cmd.output().expect("run alliance-sim");
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "stderr: {stderr}");
    assert!(
        stderr.contains(message),
        "stderr lacks `{message}`: {stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
}

/// Runs and expects success; returns stdout.
fn accepted(cmd: &mut Command) -> String {
    let out = cmd.output().expect("run alliance-sim");
    assert!(
        out.status.success(),
        "exit {:?}, stderr: {}",
        out.status.code(),
        text(&out.stderr)
    );
    text(&out.stdout)
}

fn ishigami() -> String {
    format!("{ROOT}/scenarios/examples/ishigami.toml")
}

// ---- terminal injection -------------------------------------------------------------------

/// The minimal scenario with control characters (written as TOML escapes, so the file is
/// valid) in the labels, the name and a unit that tables and `explain` print.
fn scenario_with_control_characters() -> String {
    MINIMAL
        .replace(
            "name = \"Minimal\"",
            "name = \"Minimal\\u001b]0;pwned\\u0007\\r\"",
        )
        .replace(
            "label = \"Stayed\"",
            "label = \"Stayed\\u001b[2J\\u009b6n\\u0000\"",
        )
        .replace(
            "[metrics.mean_anger]",
            "[metrics.mean_anger]\nunit = \"\\u001b[31mred\\u007f\"",
        )
}

fn assert_no_control_characters(output: &str) {
    let bad: Vec<char> = output
        .chars()
        .filter(|c| c.is_control() && *c != '\n')
        .collect();
    assert!(bad.is_empty(), "control characters {bad:?} in:\n{output}");
}

#[test]
fn control_characters_in_labels_are_shown_escaped_in_tables_and_explain() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = write(
        dir.path(),
        "hostile.toml",
        &scenario_with_control_characters(),
    );
    let table = accepted(
        sim(dir.path())
            .args(["run", "-n", "200", "--no-charts"])
            .arg(&file),
    );
    assert_no_control_characters(&table);
    assert!(table.contains("Stayed\\x1b[2J\\u{9b}6n\\x00"), "{table}");
    assert!(table.contains("Minimal\\x1b]0;pwned\\x07\\x0d"), "{table}");
    assert!(table.contains("\\x1b[31mred\\x7f"), "{table}");

    let story = accepted(sim(dir.path()).args(["explain", "--run", "1"]).arg(&file));
    assert_no_control_characters(&story);
    assert!(story.contains("Minimal\\x1b]0;pwned\\x07"), "{story}");

    let comparison = accepted(
        sim(dir.path())
            .args(["compare", "-n", "200", "--no-charts"])
            .arg(&file)
            .arg(&file),
    );
    assert_no_control_characters(&comparison);
    assert!(comparison.contains("Stayed\\x1b[2J"), "{comparison}");

    // `report` redraws from summary.json, whose labels are just as foreign.
    let redrawn = accepted(sim(dir.path()).args(["report", "output/hostile"]));
    assert_no_control_characters(&redrawn);
}

// ---- unbounded reads ----------------------------------------------------------------------

#[test]
fn a_device_that_never_ends_is_refused_quickly() {
    let dir = tempfile::tempdir().expect("temp dir");
    refused(
        sim(dir.path()).args(["run", "/dev/zero", "--no-charts"]),
        "scenario files are limited to 1048576 bytes",
    );
    let variant = write(dir.path(), "v.toml", "extends = \"/dev/zero\"\n");
    refused(
        sim(dir.path()).arg("validate").arg(&variant),
        "scenario files are limited to 1048576 bytes",
    );
}

#[test]
fn a_scenario_read_from_a_pipe_still_runs() {
    let dir = tempfile::tempdir().expect("temp dir");
    let stdout = accepted(
        sim(dir.path())
            .args(["run", "/dev/stdin", "-n", "200", "--no-charts"])
            .write_stdin(MINIMAL),
    );
    assert!(stdout.contains("Minimal (200 runs"), "{stdout}");
}

/// The minimal scenario padded with a comment to exactly `bytes` bytes.
fn minimal_of_size(bytes: usize) -> String {
    let mut text = MINIMAL.to_string();
    text.push_str("# padding ");
    let fill = bytes - text.len() - 1;
    text.push_str(&"x".repeat(fill));
    text.push('\n');
    assert_eq!(text.len(), bytes);
    text
}

#[test]
fn the_file_size_limit_holds_for_files_and_pipes_alike() {
    let dir = tempfile::tempdir().expect("temp dir");
    let limit = 1 << 20;
    let largest = minimal_of_size(limit);
    let too_large = minimal_of_size(limit + 1);
    let file = write(dir.path(), "largest.toml", &largest);
    accepted(sim(dir.path()).arg("validate").arg(&file));
    let file = write(dir.path(), "too_large.toml", &too_large);
    refused(
        sim(dir.path()).arg("validate").arg(&file),
        "scenario files are limited to 1048576 bytes",
    );
    // A pipe has no size to check beforehand: the limit is applied while reading.
    accepted(
        sim(dir.path())
            .args(["validate", "/dev/stdin"])
            .write_stdin(largest),
    );
    refused(
        sim(dir.path())
            .args(["validate", "/dev/stdin"])
            .write_stdin(too_large),
        "scenario files are limited to 1048576 bytes",
    );
}

// ---- hangs and limits ---------------------------------------------------------------------

/// The minimal scenario with `label` as the name, every label, a unit and a description:
/// everything a chart writes.
fn scenario_with_labels(label: &str) -> String {
    MINIMAL
        .replace("name = \"Minimal\"", &format!("name = \"{label}\""))
        .replace("label = \"Stayed\"", &format!("label = \"{label}\""))
        .replace(
            "label = \"Outside pressure\"",
            &format!("label = \"{label}\""),
        )
        .replace("label = \"Seoul\"", &format!("label = \"{label}\""))
        .replace(
            "[metrics.mean_anger]",
            &format!("[metrics.mean_anger]\nlabel = \"{label}\"\nunit = \"{label}\""),
        )
        .replace(
            "[events.shock]",
            &format!("[events.shock]\nlabel = \"{label}\""),
        )
        .replace(
            "[decisions.exit]",
            &format!("[decisions.exit]\nlabel = \"{label}\""),
        )
        .replace(
            "[decisions.exit.options.stay]",
            &format!("[decisions.exit.options.stay]\nlabel = \"{label}\""),
        )
}

#[test]
fn labels_of_50000_characters_draw_every_chart_without_hanging() {
    let dir = tempfile::tempdir().expect("temp dir");
    let one_word = "W".repeat(50_000);
    let many_words = vec!["lapse"; 8_000].join(" ");
    let marks = "\u{301} ".repeat(25_000);
    for (name, label) in [("word", one_word), ("words", many_words), ("marks", marks)] {
        let file = write(
            dir.path(),
            &format!("{name}.toml"),
            &scenario_with_labels(&label),
        );
        // Replications too, so that their chart is drawn with the labels.
        accepted(
            sim(dir.path())
                .args(["run", "-n", "200", "--replications", "4"])
                .arg(&file),
        );
        let charts = dir.path().join("output").join(name);
        assert!(charts.join("report.html").is_file());
        assert!(charts.join("outcomes.png").is_file());
        assert!(charts.join("replications.png").is_file());
    }
}

#[test]
fn threads_are_capped() {
    let dir = tempfile::tempdir().expect("temp dir");
    accepted(sim(dir.path()).args(["run", "-n", "200", "--no-charts", "--threads", "256"]));
    for threads in ["257", "100000", "0"] {
        refused(
            sim(dir.path()).args(["run", "-n", "200", "--no-charts", "--threads", threads]),
            "--threads must be between 1 and 256",
        );
    }
    refused(
        sim(dir.path())
            .arg("backtest")
            .arg(format!("{ROOT}/scenarios/history"))
            .args(["--threads", "257"]),
        "--threads must be between 1 and 256",
    );
}

/// `sensitivity --method sobol` of the Ishigami benchmark's `y`, with `extra` flags.
fn sobol_on_ishigami(dir: &Path, extra: &[&str]) -> Command {
    let mut cmd = sim(dir);
    cmd.args([
        "sensitivity",
        "--method",
        "sobol",
        "--target",
        "y",
        "--no-charts",
    ])
    .arg(ishigami())
    .args(extra);
    cmd
}

#[test]
fn sobol_refuses_designs_too_small_to_estimate_or_too_large_to_hold() {
    let dir = tempfile::tempdir().expect("temp dir");
    let sobol = |runs: &str| sobol_on_ishigami(dir.path(), &["--runs", runs]);
    for runs in ["1", "63"] {
        refused(&mut sobol(runs), "needs --runs of at least 64");
    }
    let table = accepted(&mut sobol("64"));
    assert!(!table.contains("NaN"), "{table}");
    // Ishigami varies 3 parameters: 5 model runs per row, 50,000,000 model runs at most.
    refused(&mut sobol("10000001"), "the limit is 50000000");
    refused(&mut sobol("1000000000"), "the limit is 50000000");
}

#[test]
fn bootstrap_resamples_are_bounded() {
    let dir = tempfile::tempdir().expect("temp dir");
    let resamples = |b: &str| sobol_on_ishigami(dir.path(), &["--runs", "64", "--resamples", b]);
    let table = accepted(&mut resamples("10000"));
    assert!(table.contains("10000 bootstrap resamples"), "{table}");
    for b in ["10001", "100000000", "0"] {
        refused(&mut resamples(b), "--resamples must be between 1 and 10000");
    }
}

#[test]
fn steps_runs_and_grids_hold_at_their_limits() {
    let dir = tempfile::tempdir().expect("temp dir");
    let steps = |n: u32| MINIMAL.replace("steps = 8", &format!("steps = {n}"));
    let file = write(dir.path(), "longest.toml", &steps(10_000));
    accepted(
        sim(dir.path())
            .args(["run", "-n", "16", "--no-charts", "--no-runs-csv"])
            .arg(&file),
    );
    let file = write(dir.path(), "too_long.toml", &steps(10_001));
    refused(sim(dir.path()).arg("validate").arg(&file), "10000");

    // The most runs a study may ask for, stopped early by a loose precision target.
    let file = write(dir.path(), "minimal.toml", MINIMAL);
    let table = accepted(
        sim(dir.path())
            .args(["run", "--no-charts", "--no-runs-csv", "--precision", "0.45"])
            .args(["--runs", "1000000000"])
            .arg(&file),
    );
    assert!(table.contains("ceiling 1000000000"), "{table}");
    refused(
        sim(dir.path())
            .args(["run", "--no-charts", "--runs", "1000000001"])
            .arg(&file),
        "--runs must be between 1 and 1000000000",
    );

    accepted(
        sim(dir.path())
            .args([
                "sweep",
                "--param",
                "pressure=0.2:0.8:1000",
                "-n",
                "1",
                "--no-charts",
            ])
            .arg(&file),
    );
    refused(
        sim(dir.path())
            .args([
                "sweep",
                "--param",
                "pressure=0.2:0.8:1001",
                "-n",
                "1",
                "--no-charts",
            ])
            .arg(&file),
        "STEPS between 2 and 1000",
    );
}

#[test]
fn an_extends_chain_of_64_files_validates_and_65_is_refused() {
    let dir = tempfile::tempdir().expect("temp dir");
    let chain = |files: usize| {
        for k in 0..files {
            let text = if k + 1 == files {
                MINIMAL.to_string()
            } else {
                format!("extends = \"c{files}_{}.toml\"\n", k + 1)
            };
            write(dir.path(), &format!("c{files}_{k}.toml"), &text);
        }
        format!("c{files}_0.toml")
    };
    for files in [10, 64] {
        accepted(sim(dir.path()).arg("validate").arg(chain(files)));
    }
    refused(
        sim(dir.path()).arg("validate").arg(chain(65)),
        "`extends` chain is deeper than 64 files",
    );
}

// ---- --set outside the support --------------------------------------------------------------

#[test]
fn a_set_outside_the_support_is_warned_about_and_recorded() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = write(dir.path(), "minimal.toml", MINIMAL);
    let out = sim(dir.path())
        .args(["run", "-n", "200", "--no-charts", "--set", "pressure=5"])
        .arg(&file)
        .output()
        .expect("run");
    assert!(out.status.success());
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("warning: --set pressure=5 is outside") && stderr.contains("[0.2, 0.8]"),
        "{stderr}"
    );
    assert!(text(&out.stdout).contains("pressure = 5 (outside [0.2, 0.8])"));
    let summary = std::fs::read_to_string(dir.path().join("output/minimal/summary.json"))
        .expect("summary.json");
    let json: serde_json::Value = serde_json::from_str(&summary).expect("JSON");
    let fixed = &json["fixed"][0];
    assert_eq!(fixed["id"], "pressure");
    assert_eq!(fixed["outside_support"], true);
    assert_eq!(fixed["support"]["min"], 0.2);
    assert_eq!(fixed["support"]["max"], 0.8);
    // `report` reads it back.
    accepted(sim(dir.path()).args(["report", "output/minimal"]));
}

#[test]
fn a_set_inside_the_support_or_of_a_constant_changes_nothing_but_the_value() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = write(dir.path(), "minimal.toml", MINIMAL);
    for set in ["pressure=0.5", "base=3"] {
        let out = sim(dir.path())
            .args(["run", "-n", "200", "--no-charts", "--set", set])
            .arg(&file)
            .output()
            .expect("run");
        assert!(out.status.success());
        assert!(
            !text(&out.stderr).contains("warning"),
            "{}",
            text(&out.stderr)
        );
        let summary = std::fs::read_to_string(dir.path().join("output/minimal/summary.json"))
            .expect("summary.json");
        assert!(!summary.contains("outside_support"), "{summary}");
        assert!(!summary.contains("support"), "{summary}");
    }
}

// ---- a closed stdout ----------------------------------------------------------------------

#[test]
fn a_closed_stdout_ends_quietly() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = write(dir.path(), "minimal.toml", MINIMAL);
    let file = file.to_string_lossy().into_owned();
    let commands: Vec<Vec<&str>> = vec![
        vec!["run", "--json", "-n", "200", "--no-charts", &file],
        vec!["run", "-n", "200", "--no-charts", &file],
        vec!["validate", &file],
        vec!["explain", &file],
        vec![
            "sweep",
            "--param",
            "pressure=0.2:0.8:3",
            "-n",
            "50",
            "--no-charts",
            &file,
        ],
        vec!["completions", "bash"],
    ];
    for args in commands {
        // A pipe whose reader is gone before the command writes: every write fails.
        let (reader, writer) = std::io::pipe().expect("pipe");
        drop(reader);
        let out = std::process::Command::new(assert_cmd::cargo::cargo_bin!("alliance-sim"))
            .args(&args)
            .current_dir(dir.path())
            .env("NO_COLOR", "1")
            .stdout(writer)
            .output()
            .expect("run alliance-sim");
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {stderr}");
        assert!(stderr.is_empty(), "{args:?} said: {stderr}");
    }
}
