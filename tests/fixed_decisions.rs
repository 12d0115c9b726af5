//! A decision fixed as a fact (`fixed = "option"`): taken at its date in every run with that
//! option, without its condition, utilities or a draw, and read by later expressions exactly as
//! if it had been chosen. Pinned on the real binary against the same model with the decision
//! left to chance: every run of the base that chose the fixed option is the same row, byte for
//! byte, in the variant.

use std::path::Path;

use assert_cmd::Command;

fn sim() -> Command {
    let mut cmd = Command::cargo_bin("alliance-sim").expect("binary");
    cmd.env("NO_COLOR", "1");
    cmd
}

/// A first decision whose condition fails in some runs, a chance event after it, and a second
/// decision and a metric that read the first's option.
const BASE: &str = r#"
[scenario]
name = "Facts"
description = "A decision, then things that read it."
start = 2020-01-06
step = "week"
steps = 8
runs = 400
seed = 11

[parameters.p]
dist = "uniform"
min = 0
max = 1

[actors.a]
label = "A"

[actors.a.vars]
x = "0"

[events.noise]
probability = "0.3"
from = 1
until = 7
effects = [{ var = "a.x", add = "1" }]

[decisions.first]
actor = "a"
at = 2
when = "p > 0.2"
choice = "logit"
temperature = 0.5

[decisions.first.options.hard]
utility = "p"
effects = [{ var = "a.x", add = "10" }]

[decisions.first.options.soft]
utility = "0.5"

[decisions.second]
actor = "a"
at = 4
choice = "logit"
temperature = 0.3

[decisions.second.options.follow]
utility = "if(first.hard, 1, 0) + a.x / 20"

[decisions.second.options.stop]
utility = "0.4"

[outcomes.hard_line]
when = "first.hard and second.follow"

[outcomes.other]
label = "Other"

[metrics.x_end]
expr = "a.x"

[metrics.first_was_hard]
expr = "if(first.hard, 1, 0)"
"#;

const FACT: &str = r#"
extends = "base.toml"

[scenario]
name = "Facts, with the first decision recorded"

[decisions.first]
fixed = "hard"
"#;

/// Runs `file` with its per-run file as CSV; returns (header, rows) and summary.json.
fn run(dir: &Path, file: &str) -> (Vec<String>, serde_json::Value) {
    let out = dir.join(format!("out_{file}"));
    let status = sim()
        .current_dir(dir)
        .args([
            "run",
            file,
            "-q",
            "--no-charts",
            "--runs-format",
            "csv",
            "--out",
        ])
        .arg(&out)
        .output()
        .expect("runs");
    assert!(
        status.status.success(),
        "{}",
        String::from_utf8_lossy(&status.stderr)
    );
    let stem = file.trim_end_matches(".toml");
    let csv = std::fs::read_to_string(out.join(stem).join("runs.csv")).expect("runs.csv");
    let summary = std::fs::read_to_string(out.join(stem).join("summary.json")).expect("summary");
    (
        csv.lines().map(str::to_string).collect(),
        serde_json::from_str(&summary).expect("json"),
    )
}

fn column(header: &str, name: &str) -> usize {
    header
        .split(',')
        .position(|c| c == name)
        .unwrap_or_else(|| panic!("no column {name} in {header}"))
}

#[test]
fn a_fact_reads_exactly_as_if_it_had_been_chosen() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("base.toml"), BASE).expect("write");
    std::fs::write(dir.path().join("fact.toml"), FACT).expect("write");
    let (base, base_summary) = run(dir.path(), "base.toml");
    let (fact, fact_summary) = run(dir.path(), "fact.toml");
    assert_eq!(base[0], fact[0], "same columns");
    let first = column(&base[0], "first");
    let p = column(&base[0], "p");

    let mut same = 0;
    let mut condition_failed = 0;
    for (b, f) in base[1..].iter().zip(&fact[1..]) {
        let fields: Vec<&str> = b.split(',').collect();
        let fact_fields: Vec<&str> = f.split(',').collect();
        // The fact is taken in every run, also where its condition did not hold.
        assert_eq!(fact_fields[first], "hard", "{f}");
        if fields[first] == "hard" {
            // Same parameters, same chance, same later choice, same metrics, same outcome.
            assert_eq!(b, f);
            same += 1;
        }
        if fields[p].parse::<f64>().expect("p") <= 0.2 {
            assert_ne!(fields[first], "hard", "the base's condition failed: {b}");
            condition_failed += 1;
        }
    }
    // Enough of both kinds of run that the comparisons above mean something.
    assert!(same > 100, "{same} runs chose `hard` in the base");
    assert!(
        condition_failed > 40,
        "{condition_failed} runs failed the condition"
    );

    // summary.json says which decision is a fact, and only where one is.
    let decision = |s: &serde_json::Value| s["decisions"][0].clone();
    assert_eq!(decision(&fact_summary)["fixed"], true);
    assert!(decision(&base_summary).get("fixed").is_none());
    assert_eq!(decision(&fact_summary)["options"][0]["count"], 400);
    assert_eq!(decision(&fact_summary)["not_taken"], 0);
}

#[test]
fn explain_says_a_fact_was_not_chosen() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("base.toml"), BASE).expect("write");
    std::fs::write(dir.path().join("fact.toml"), FACT).expect("write");
    let output = sim()
        .current_dir(dir.path())
        .args(["explain", "fact.toml", "--run", "0"])
        .output()
        .expect("runs");
    assert!(output.status.success());
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(
        text.contains("decision `first` by a (fixed as a fact)"),
        "{text}"
    );
    // No utilities or probabilities are printed for a fact: none were computed.
    let fact_block: Vec<&str> = text
        .lines()
        .skip_while(|l| !l.contains("decision `first`"))
        .take(2)
        .collect();
    assert!(fact_block[1].contains("chose `hard`"), "{fact_block:?}");
}

#[test]
fn a_fact_with_utilities_that_cannot_be_computed_still_runs() {
    // A fact's utilities are not read: one that would stop the run if chosen from does not.
    let dir = tempfile::tempdir().expect("tempdir");
    let broken = BASE.replace("utility = \"p\"", "utility = \"1 / (p - p)\"");
    std::fs::write(dir.path().join("base.toml"), &broken).expect("write");
    std::fs::write(dir.path().join("fact.toml"), FACT).expect("write");
    let base = sim()
        .current_dir(dir.path())
        .args([
            "run",
            "base.toml",
            "-q",
            "--no-charts",
            "--runs-format",
            "none",
        ])
        .arg("--out")
        .arg(dir.path().join("b"))
        .output()
        .expect("runs");
    assert_eq!(base.status.code(), Some(2), "the base stops on the utility");
    let fact = sim()
        .current_dir(dir.path())
        .args([
            "run",
            "fact.toml",
            "-q",
            "--no-charts",
            "--runs-format",
            "none",
        ])
        .arg("--out")
        .arg(dir.path().join("f"))
        .output()
        .expect("runs");
    assert!(
        fact.status.success(),
        "{}",
        String::from_utf8_lossy(&fact.stderr)
    );
}
