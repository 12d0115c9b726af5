//! The command line on the real scenario files.

use std::path::Path;

use assert_cmd::Command;
use predicates::prelude::*;

fn sim() -> Command {
    let mut cmd = Command::cargo_bin("alliance-sim").expect("binary builds");
    cmd.env("NO_COLOR", "1");
    cmd
}

fn read_json(path: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(path).expect("file written");
    serde_json::from_str(&text).expect("valid JSON")
}

#[test]
fn default_run_writes_summary_and_runs_csv() {
    let dir = tempfile::tempdir().expect("temp dir");
    sim()
        .current_dir(dir.path())
        .args([
            "run",
            "--runs",
            "3000",
            "--no-charts",
            "--runs-format",
            "csv",
        ])
        .assert()
        .success()
        .stdout(predicate::str::contains("95% interval"));
    let out = dir.path().join("output/gsomia_2019");
    let summary = read_json(&out.join("summary.json"));
    assert_eq!(summary["runs"], 3000);
    assert_eq!(summary["scenario"]["file"], "gsomia_2019.toml");
    assert_eq!(
        summary["scenario"]["sha256"].as_str().map(str::len),
        Some(64)
    );
    let outcomes = summary["outcomes"].as_array().expect("outcomes");
    let total: f64 = outcomes
        .iter()
        .map(|o| o["probability"].as_f64().unwrap_or(f64::NAN))
        .sum();
    assert!((total - 1.0).abs() < 1e-12, "probabilities sum to {total}");
    let counts: u64 = outcomes
        .iter()
        .map(|o| o["count"].as_u64().unwrap_or(0))
        .sum();
    assert_eq!(counts, 3000);
    for o in outcomes {
        let p = o["probability"].as_f64().unwrap_or(f64::NAN);
        let lo = o["ci95"][0].as_f64().unwrap_or(f64::NAN);
        let hi = o["ci95"][1].as_f64().unwrap_or(f64::NAN);
        assert!(lo <= p && p <= hi, "{o}");
    }
    let csv = std::fs::read_to_string(out.join("runs.csv")).expect("runs.csv");
    let mut lines = csv.lines();
    let header = lines.next().expect("header");
    for column in ["run", "japan_export_controls", "notice", "outcome"] {
        assert!(
            header.split(',').any(|c| c == column),
            "missing column {column}: {header}"
        );
    }
    assert_eq!(lines.count(), 3000);
    // Ordinary files, with the permissions any file the user creates gets (not those of a
    // private temporary file).
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &Path| std::fs::metadata(p).expect("metadata").permissions().mode();
        let ordinary = dir.path().join("ordinary");
        std::fs::write(&ordinary, "x").expect("write");
        for name in ["runs.csv", "summary.json"] {
            assert_eq!(mode(&out.join(name)), mode(&ordinary), "{name}");
        }
    }
    let names: Vec<String> = std::fs::read_dir(&out)
        .expect("output folder")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        names
            .iter()
            .all(|n| n == "runs.csv" || n == "summary.json" || n == "manifest.json"),
        "{names:?}"
    );
}

#[test]
fn results_do_not_depend_on_thread_count() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut outputs = Vec::new();
    for threads in ["1", "2", "3"] {
        let out = dir.path().join(format!("t{threads}"));
        sim()
            .args([
                "run",
                "--runs",
                "5000",
                "--seed",
                "42",
                "--no-charts",
                "--runs-format",
                "csv",
                "--threads",
                threads,
            ])
            .arg("--out")
            .arg(&out)
            .assert()
            .success();
        let summary = std::fs::read(out.join("gsomia_2019/summary.json")).expect("summary");
        let rows = std::fs::read(out.join("gsomia_2019/runs.csv")).expect("runs.csv");
        outputs.push((summary, rows));
    }
    assert!(
        outputs[0].0 == outputs[1].0 && outputs[1].0 == outputs[2].0,
        "summary.json differs"
    );
    assert!(
        outputs[0].1 == outputs[1].1 && outputs[1].1 == outputs[2].1,
        "runs.csv differs"
    );
}

#[test]
fn different_seeds_give_different_results() {
    let a = sim()
        .args([
            "run",
            "--runs",
            "2000",
            "--seed",
            "1",
            "--json",
            "--no-charts",
            "--no-runs-csv",
            "--out",
        ])
        .arg(tempfile::tempdir().expect("dir").path())
        .output()
        .expect("runs");
    let b = sim()
        .args([
            "run",
            "--runs",
            "2000",
            "--seed",
            "2",
            "--json",
            "--no-charts",
            "--no-runs-csv",
            "--out",
        ])
        .arg(tempfile::tempdir().expect("dir").path())
        .output()
        .expect("runs");
    assert!(a.status.success() && b.status.success());
    let a: serde_json::Value = serde_json::from_slice(&a.stdout).expect("json");
    let b: serde_json::Value = serde_json::from_slice(&b.stdout).expect("json");
    assert_ne!(a["outcomes"], b["outcomes"]);
}

#[test]
fn set_fixes_a_parameter_and_unknown_ids_are_rejected() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = sim()
        .args([
            "run",
            "--runs",
            "500",
            "--json",
            "--no-charts",
            "--no-runs-csv",
            "--set",
            "nk_threat=0.9",
            "--out",
        ])
        .arg(dir.path())
        .output()
        .expect("runs");
    assert!(out.status.success());
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(summary["fixed"][0]["id"], "nk_threat");
    let nk = summary["parameters"]
        .as_array()
        .and_then(|ps| ps.iter().find(|p| p["id"] == "nk_threat"))
        .expect("nk_threat reported");
    let mean = nk["mean"].as_f64().unwrap_or(f64::NAN);
    assert!(
        (mean - 0.9).abs() < 1e-9,
        "mean of a fixed parameter is its value, got {mean}"
    );

    sim()
        .args(["run", "--runs", "10", "--set", "nk_threats=0.5", "--out"])
        .arg(dir.path())
        .assert()
        .code(2)
        .stderr(predicate::str::contains("unknown parameter `nk_threats`"))
        .stderr(predicate::str::contains("did you mean `nk_threat`?"));
    sim()
        .args(["run", "--runs", "10", "--set", "nk_threat=lots", "--out"])
        .arg(dir.path())
        .assert()
        .code(2);
}

#[test]
fn every_shipped_scenario_validates_and_runs() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut files: Vec<_> = std::fs::read_dir("scenarios")
        .expect("scenarios folder")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    assert!(files.len() >= 3, "default scenario and variants");
    sim().arg("validate").args(&files).assert().success();
    for file in &files {
        sim()
            .arg("run")
            .arg(file)
            .args([
                "--runs",
                "500",
                "--no-charts",
                "--no-runs-csv",
                "-q",
                "--out",
            ])
            .arg(dir.path())
            .assert()
            .success();
    }
}

/// `dir/bad.toml`, a scenario whose one error is the unknown name `q` at bad.toml:11:10.
fn write_bad_scenario(dir: &Path) -> std::path::PathBuf {
    let path = dir.join("bad.toml");
    std::fs::write(
        &path,
        "[scenario]\nname = \"x\"\nstart = 2019-01-01\nstep = \"week\"\nsteps = 4\n\n\
         [parameters.p]\nvalue = 1\n\n[actors.a.vars]\nv = \"p + q\"\n\n[outcomes.only]\n",
    )
    .expect("write");
    path
}

#[test]
fn bad_scenario_exits_2_with_a_located_message() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = write_bad_scenario(dir.path());
    sim()
        .arg("validate")
        .arg(&path)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("unknown name `q`"))
        .stderr(predicate::str::contains("bad.toml:11:10"))
        .stderr(predicate::str::contains("^"));
    sim()
        .arg("run")
        .arg(&path)
        .arg("--out")
        .arg(dir.path())
        .assert()
        .code(2);
    assert!(
        !dir.path().join("bad").exists(),
        "no output folder for an invalid scenario"
    );
}

#[test]
fn missing_file_and_bad_arguments_exit_2() {
    sim()
        .args(["run", "no/such/file.toml"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("no/such/file.toml"));
    sim().args(["run", "--runs", "0"]).assert().code(2);
    sim().args(["run", "--frobnicate"]).assert().code(2);
}

#[test]
fn variant_extends_its_base() {
    let out = sim()
        .args([
            "run",
            "scenarios/gsomia_2019_no_cost_demand.toml",
            "--runs",
            "200",
            "--json",
            "--no-charts",
            "--no-runs-csv",
            "--out",
        ])
        .arg(tempfile::tempdir().expect("dir").path())
        .output()
        .expect("runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let demand = summary["parameters"]
        .as_array()
        .and_then(|ps| ps.iter().find(|p| p["id"] == "us_cost_share_demand_busd"))
        .expect("parameter inherited from the base");
    let mean = demand["mean"].as_f64().unwrap_or(f64::NAN);
    assert!(
        mean < 1.5,
        "the variant's demand stays near the 2019 level, got mean {mean}"
    );
}

#[test]
fn readme_example_scenario_validates_and_runs() {
    let readme = std::fs::read_to_string("README.md").expect("README");
    let start = readme
        .find("```toml\n[scenario]")
        .expect("annotated example in README")
        + "```toml\n".len();
    let end = start + readme[start..].find("```").expect("closing fence");
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("base_closure.toml");
    std::fs::write(&path, &readme[start..end]).expect("write");
    sim()
        .arg("run")
        .arg(&path)
        .args(["--runs", "300", "--no-charts", "--out"])
        .arg(dir.path())
        .assert()
        .success()
        .stdout(predicate::str::contains("Base closed"));
}

/// runs.csv of `runs` runs of the default scenario at seed 5, which `explain --seed 5` replays.
fn default_runs_csv(runs: u64) -> String {
    let dir = tempfile::tempdir().expect("temp dir");
    sim()
        .args([
            "run",
            "--runs",
            &runs.to_string(),
            "--seed",
            "5",
            "--no-charts",
            "--runs-format",
            "csv",
            "-q",
            "--out",
        ])
        .arg(dir.path())
        .assert()
        .success();
    std::fs::read_to_string(dir.path().join("gsomia_2019/runs.csv")).expect("runs.csv")
}

#[test]
fn explain_tells_the_story_of_the_run_that_runs_csv_recorded() {
    let csv = default_runs_csv(20);
    let header: Vec<&str> = csv.lines().next().expect("header").split(',').collect();
    let outcome_col = header
        .iter()
        .position(|c| *c == "outcome")
        .expect("outcome column");
    for k in [0usize, 7, 19] {
        let row: Vec<&str> = csv.lines().nth(k + 1).expect("row").split(',').collect();
        let story = sim()
            .args(["explain", "--seed", "5", "--run", &k.to_string()])
            .output()
            .expect("explain runs");
        assert!(story.status.success());
        let text = String::from_utf8_lossy(&story.stdout);
        assert!(
            text.contains(&format!("({})\n", row[outcome_col])),
            "run {k}: {text}"
        );
        assert!(text.contains("decision `notice` by seoul"), "{text}");
        assert!(text.contains("probability"), "{text}");
    }
}

/// `explain` opens with the run in short, and it agrees with what runs.csv recorded for that
/// run: the outcome, and the option of every decision taken (none for one not taken).
#[test]
fn explain_opens_with_the_run_in_short_as_runs_csv_recorded_it() {
    let csv = default_runs_csv(30);
    let header: Vec<&str> = csv.lines().next().expect("header").split(',').collect();
    let column = |name: &str| header.iter().position(|c| *c == name).expect("a column");
    let decisions = ["notice", "final", "tokyo_controls", "review"];
    for k in [0usize, 3, 11, 29] {
        let row: Vec<&str> = csv.lines().nth(k + 1).expect("row").split(',').collect();
        let output = sim()
            .args(["explain", "--seed", "5", "--run", &k.to_string()])
            .output()
            .expect("explain runs");
        assert!(output.status.success());
        let text = String::from_utf8_lossy(&output.stdout);
        let short = text
            .split("\nIn short\n")
            .nth(1)
            .and_then(|rest| rest.split("\nParameters\n").next())
            .unwrap_or_else(|| panic!("run {k}: no summary before the parameters:\n{text}"));
        let outcome_line = short.lines().next().expect("an outcome line");
        assert!(outcome_line.starts_with("  outcome "), "{short}");
        assert!(
            outcome_line.ends_with(&format!("({})", row[column("outcome")])),
            "run {k}: {short}"
        );
        for decision in decisions {
            let option = row[column(decision)];
            let said = format!(" {decision} chose `{option}` at step ");
            if option.is_empty() {
                assert!(
                    !short.contains(&format!(" {decision} chose ")),
                    "run {k}: {short}"
                );
            } else {
                assert!(short.contains(&said), "run {k}, {decision}: {short}");
            }
        }
        assert!(
            short.contains("  events     export_licences"),
            "run {k}: {short}"
        );
        // Each event's count, as runs.csv has it: `name (xN)` above one, the name for one.
        for event in ["nk_launch", "us_reaction_to_notice", "tokyo_talks_offer"] {
            let count: u32 = row[column(&format!("{event}_count"))]
                .parse()
                .expect("a count");
            let named = short.contains(&format!(" {event},"))
                || short.contains(&format!(" {event}\n"))
                || short.contains(&format!(", {event}"));
            match count {
                0 => assert!(!short.contains(event), "run {k}, {event}: {short}"),
                1 => assert!(named && !short.contains(&format!("{event} (x")), "{short}"),
                n => assert!(
                    short.contains(&format!("{event} (x{n})")),
                    "run {k}: {short}"
                ),
            }
        }
    }
}

/// `explain --json` is the run runs.csv recorded, column by column: every parameter and
/// end-of-run metric to the last bit, the option of each decision taken (none where the row is
/// empty), the outcome, and as many firings of each event as its count.
#[test]
fn explain_json_is_the_row_runs_csv_recorded() {
    let csv = default_runs_csv(25);
    let header: Vec<&str> = csv.lines().next().expect("header").split(',').collect();
    for k in [0usize, 9, 24] {
        let row: Vec<&str> = csv.lines().nth(k + 1).expect("row").split(',').collect();
        let output = sim()
            .args(["explain", "--seed", "5", "--runs", "25", "--json", "--run"])
            .arg(k.to_string())
            .output()
            .expect("explain runs");
        assert!(output.status.success(), "{output:?}");
        let record: serde_json::Value =
            serde_json::from_slice(&output.stdout).expect("stdout is JSON");
        assert_eq!(record["run"], k as u64);
        assert_eq!(record["error"], serde_json::Value::Null);
        let happened = record["happened"].as_array().expect("happened");
        let value_of = |list: &str, id: &str| {
            record[list]
                .as_array()
                .and_then(|l| l.iter().find(|e| e["id"] == id))
                .and_then(|e| e["value"].as_f64())
        };
        for (name, cell) in header.iter().zip(&row) {
            if *name == "run" {
                assert_eq!(cell.parse::<usize>().ok(), Some(k));
            } else if *name == "outcome" {
                assert_eq!(record["outcome"]["id"], *cell, "run {k}");
            } else if let Some(event) = name.strip_suffix("_count") {
                let fired = happened
                    .iter()
                    .filter(|h| h["kind"] == "event" && h["id"] == event)
                    .count();
                assert_eq!(cell.parse::<usize>().ok(), Some(fired), "run {k}, {name}");
            } else if let Some(v) = value_of("parameters", name).or(value_of("metrics", name)) {
                assert_eq!(cell.parse::<f64>().ok(), Some(v), "run {k}, {name}");
            } else {
                let chosen: Vec<&str> = happened
                    .iter()
                    .filter(|h| h["kind"] == "decision" && h["id"] == *name)
                    .filter_map(|h| h["chosen"].as_str())
                    .collect();
                assert!(chosen.len() <= 1, "{name} taken twice: {chosen:?}");
                assert_eq!(
                    chosen.first().copied().unwrap_or(""),
                    *cell,
                    "run {k}, {name}"
                );
            }
        }
    }
}

#[test]
fn init_writes_a_starter_that_runs_and_never_overwrites() {
    let dir = tempfile::tempdir().expect("temp dir");
    sim()
        .current_dir(dir.path())
        .args(["init", "mine"])
        .assert()
        .success();
    let path = dir.path().join("mine.toml");
    let original = std::fs::read_to_string(&path).expect("starter written");
    sim()
        .current_dir(dir.path())
        .args(["run", "mine.toml", "--runs", "100", "--no-charts", "-q"])
        .assert()
        .success();
    std::fs::write(&path, "# my edits\n").expect("edit");
    sim()
        .current_dir(dir.path())
        .args(["init", "mine.toml"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("already exists"));
    assert_eq!(
        std::fs::read_to_string(&path).expect("kept"),
        "# my edits\n"
    );
    assert!(original.contains("[scenario]"));
}

/// The bash script completes what a user types, subcommand options included: sourced in bash,
/// its completion function is called as bash calls it on `<Tab>`, for real words.
#[test]
fn bash_completion_completes_subcommands_and_their_options() {
    let output = sim().args(["completions", "bash"]).output().expect("run");
    assert!(output.status.success());
    let dir = tempfile::tempdir().expect("temp dir");
    let script = dir.path().join("alliance-sim.bash");
    std::fs::write(&script, &output.stdout).expect("write the script");
    // (words typed so far, the last one being completed) -> what bash offers
    let cases: [(&[&str], &str); 5] = [
        (&["alliance-sim", "sen"], "sensitivity"),
        (&["alliance-sim", "run", "--samp"], "--sampling"),
        (&["alliance-sim", "sensitivity", "--meth"], "--method"),
        (&["alliance-sim", "backtest", "--thr"], "--threads"),
        (&["alliance-sim", "help", "comp"], "compare completions"),
    ];
    for (words, expected) in cases {
        let quoted: Vec<String> = words.iter().map(|w| format!("'{w}'")).collect();
        let program = format!(
            "source '{}'\nCOMP_WORDS=({})\nCOMP_CWORD={}\n_alliance__sim alliance-sim '{}' '{}'\n\
             echo \"${{COMPREPLY[*]}}\"",
            script.display(),
            quoted.join(" "),
            words.len() - 1,
            words[words.len() - 1],
            words[words.len() - 2],
        );
        let bash = std::process::Command::new("bash")
            .args(["--norc", "-c", &program])
            .output()
            .expect("bash runs");
        let offered = String::from_utf8_lossy(&bash.stdout);
        assert_eq!(
            offered.trim(),
            expected,
            "{words:?}: {}",
            String::from_utf8_lossy(&bash.stderr)
        );
    }
}

/// `--color` decides whether errors are coloured, given before or after the subcommand:
/// `always` wins over `NO_COLOR` and a pipe, `never` over a terminal, and the default follows
/// the terminal (stderr is a pipe here, so no colour).
#[test]
fn the_color_flag_decides_the_colour_of_errors() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = write_bad_scenario(dir.path());
    let path = path.to_str().expect("utf-8");
    let cases: [(&[&str], bool); 5] = [
        (&["--color", "always", "validate", path], true),
        (&["validate", path, "--color", "always"], true),
        (&["validate", path, "--color=never"], false),
        (&["validate", path, "--color", "auto"], false),
        (&["validate", path], false),
    ];
    for (args, coloured) in cases {
        let output = Command::cargo_bin("alliance-sim")
            .expect("binary")
            .env("NO_COLOR", "1")
            .args(args)
            .output()
            .expect("run");
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains("unknown name `q`"), "{args:?}: {stderr}");
        assert_eq!(stderr.contains("\x1b["), coloured, "{args:?}: {stderr:?}");
    }
    sim()
        .args(["validate", path, "--color", "sometimes"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--color"));
}

/// `-q` prints nothing but errors and warnings, and the JSON `--json` asks for: no table, no
/// list of files, on every command that has it.
#[test]
fn quiet_prints_nothing_but_errors_warnings_and_asked_for_json() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().join("out");
    let out = out.to_str().expect("utf-8");
    let commands: [&[&str]; 4] = [
        &["run", "--runs", "500", "--no-charts", "-q", "--out", out],
        &["run", "--runs", "500", "--shard", "1/2", "-q", "--out", out],
        &["sweep", "--param", "nk_threat=0.2:0.8:2", "--runs", "200"],
        &["backtest", "--runs", "100", "-q", "--out", out],
    ];
    for args in commands {
        let mut args = args.to_vec();
        if args[0] == "sweep" {
            args.extend(["--no-charts", "-q", "--out", out]);
        }
        let output = sim()
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .args(&args)
            .output()
            .expect("runs");
        assert!(output.status.success(), "{args:?}: {output:?}");
        assert_eq!(String::from_utf8_lossy(&output.stdout), "", "{args:?}");
        assert_eq!(String::from_utf8_lossy(&output.stderr), "", "{args:?}");
    }
    // The JSON asked for is the output, not chatter.
    let json = sim()
        .args([
            "run",
            "--runs",
            "300",
            "--no-charts",
            "--json",
            "-q",
            "--out",
            out,
        ])
        .output()
        .expect("runs");
    let summary: serde_json::Value =
        serde_json::from_slice(&json.stdout).expect("stdout is the summary");
    assert_eq!(summary["runs"], 300);
    // A warning still reaches stderr, and an error still fails loudly.
    let scenario = dir.path().join("rare.toml");
    std::fs::write(&scenario, RARE_OUTCOME).expect("write");
    let short = sim()
        .arg("run")
        .arg(&scenario)
        .args([
            "--precision",
            "0.0006",
            "--runs",
            "500",
            "--no-charts",
            "-q",
        ])
        .args(["--out", out])
        .output()
        .expect("runs");
    assert_eq!(String::from_utf8_lossy(&short.stdout), "");
    assert!(String::from_utf8_lossy(&short.stderr).contains("warning: precision NOT reached"));
    let bad = write_bad_scenario(dir.path());
    sim()
        .arg("run")
        .arg(&bad)
        .args(["-q", "--out", out])
        .assert()
        .code(2)
        .stdout("")
        .stderr(predicate::str::contains("unknown name `q`"));
}

/// `validate --json` gives every file's verdict as JSON: counts for a valid file, and for an
/// invalid one each error with the file, line and column the text form points at.
#[test]
fn validate_json_gives_each_file_s_verdict_and_located_errors() {
    let dir = tempfile::tempdir().expect("temp dir");
    let bad = write_bad_scenario(dir.path());
    let good = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/gsomia_2019.toml");
    let output = sim()
        .args(["validate", "--json"])
        .arg(&good)
        .arg(&bad)
        .output()
        .expect("run");
    assert_eq!(output.status.code(), Some(2));
    let verdicts: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON");
    let verdicts = verdicts.as_array().expect("an array");
    assert_eq!(verdicts.len(), 2);
    assert_eq!(verdicts[0]["valid"], true);
    assert_eq!(verdicts[0]["outcomes"], 5);
    assert_eq!(verdicts[1]["valid"], false);
    let error = &verdicts[1]["errors"][0];
    assert!(
        error["message"]
            .as_str()
            .is_some_and(|m| m.contains("unknown name `q`")),
        "{error}"
    );
    assert!(
        error["file"]
            .as_str()
            .is_some_and(|f| f.ends_with("bad.toml")),
        "{error}"
    );
    // Where the text form says bad.toml:11:10.
    assert_eq!(
        (error["line"].as_u64(), error["column"].as_u64()),
        (Some(11), Some(10))
    );
    // All valid: exit 0, and stdout is only the JSON.
    let output = sim()
        .args(["validate", "--json"])
        .arg(&good)
        .output()
        .expect("run");
    assert!(output.status.success());
    let verdicts: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON");
    assert_eq!(verdicts[0]["valid"], true);
}

#[test]
fn completions_and_help_work() {
    sim()
        .args(["completions", "bash"])
        .assert()
        .success()
        .stdout(predicate::str::contains("alliance-sim"));
    for command in ["run", "validate", "explain", "init"] {
        sim()
            .args([command, "--help"])
            .assert()
            .success()
            .stdout(predicate::str::contains("Example"));
    }
}

#[test]
fn no_arguments_runs_the_default_scenario_into_output() {
    let dir = tempfile::tempdir().expect("temp dir");
    // The scenario's own run count keeps this short enough; no flags at all, as a new user types it.
    sim().current_dir(dir.path()).assert().success();
    let out = dir.path().join("output/gsomia_2019");
    for file in [
        "summary.json",
        "runs.parquet",
        "report.html",
        "outcomes.png",
    ] {
        assert!(out.join(file).exists(), "{file} written under output/");
    }
    assert!(
        !dir.path().join("gsomia_2019").exists(),
        "nothing written outside output/"
    );
}

#[test]
fn no_timeline_changes_nothing_but_the_timeline() {
    let dir = tempfile::tempdir().expect("temp dir");
    let run = |out: &str, extra: &[&str]| {
        sim()
            .current_dir(dir.path())
            .args(["run", "--runs", "2500", "--no-runs-csv", "-q", "--out", out])
            .args(extra)
            .assert()
            .success();
        dir.path().join(out).join("gsomia_2019")
    };
    let with = run("with", &["--no-charts"]);
    let without = run("without", &["--no-timeline"]);
    let mut a = read_json(&with.join("summary.json"));
    let b = read_json(&without.join("summary.json"));
    for m in a["metrics"].as_array_mut().expect("metrics") {
        assert!(!m["timeline"].as_array().expect("timeline").is_empty());
        m["timeline"] = serde_json::json!([]);
        m["timeline_quantile_error"] = serde_json::json!(0.0);
    }
    assert_eq!(a, b);
    assert!(without.join("outcomes.png").exists());
    assert!(!without.join("timeline.png").exists());
}

/// The hot loops have an AVX2 copy and a baseline (SSE2) copy; they must give the same bytes,
/// so that results do not depend on the CPU. (On a CPU without AVX2 both runs take the
/// baseline copy.)
#[test]
fn results_do_not_depend_on_the_vector_instructions() {
    let dir = tempfile::tempdir().expect("temp dir");
    let run = |out: &str, no_avx2: bool| {
        let mut cmd = sim();
        if no_avx2 {
            cmd.env("ALLIANCE_SIM_NO_AVX2", "1");
        } else {
            cmd.env_remove("ALLIANCE_SIM_NO_AVX2");
        }
        cmd.current_dir(dir.path())
            .args(["run", "--runs", "3000", "--no-charts", "-q", "--out", out])
            .args(["--runs-format", "csv"])
            .assert()
            .success();
        let folder = dir.path().join(out).join("gsomia_2019");
        let read = |name: &str| std::fs::read(folder.join(name)).expect(name);
        (read("summary.json"), read("runs.csv"))
    };
    let (summary, rows) = run("avx2", false);
    let (baseline_summary, baseline_rows) = run("baseline", true);
    assert!(summary == baseline_summary, "summary.json differs");
    assert!(rows == baseline_rows, "runs.csv differs");
}

/// A scenario with one outcome in about a thousand runs: its Wilson interval is lopsided.
const RARE_OUTCOME: &str = r#"
[scenario]
name = "Rare"
description = "An outcome in about one run in a thousand."
start = 2020-01-01
step = "month"
steps = 1
runs = 1000
seed = 3

[parameters.u]
dist = "uniform"
min = 0
max = 1

[actors.a]
label = "A"

[outcomes.rare]
label = "Rare"
when = "u < 0.001"
[outcomes.common]
label = "Common"
"#;

/// Issue 11, defect 4: `--precision H` means both sides of every interval within H, and a
/// ceiling reached first is said plainly, on the terminal and in summary.json.
#[test]
fn precision_holds_both_sides_and_says_when_the_ceiling_came_first() {
    let dir = tempfile::tempdir().expect("temp dir");
    let scenario = dir.path().join("rare.toml");
    std::fs::write(&scenario, RARE_OUTCOME).expect("write");
    let h = 0.0006;
    let met = sim()
        .arg("run")
        .arg(&scenario)
        .args(["--precision", "0.0006", "--runs", "1000000", "--no-charts"])
        .args(["--no-runs-csv", "--out"])
        .arg(dir.path().join("met"))
        .output()
        .expect("runs");
    assert!(met.status.success());
    let stdout = String::from_utf8_lossy(&met.stdout);
    assert!(stdout.contains("precision reached after"), "{stdout}");
    let summary = read_json(&dir.path().join("met/rare/summary.json"));
    for o in summary["outcomes"].as_array().expect("outcomes") {
        let p = o["probability"].as_f64().expect("p");
        let [lo, hi] = [0, 1].map(|i| o["ci95"][i].as_f64().expect("ci"));
        assert!(p - lo <= h && hi - p <= h, "one side beyond {h}: {o}");
    }
    let precision = &summary["precision"];
    assert_eq!(precision["met"], true, "{precision}");
    assert_eq!(precision["target"], h);
    assert_eq!(precision["ceiling"], 1_000_000);
    assert!(precision["above"].as_f64().is_some_and(|a| a <= h));

    // The ceiling first: no claim of success, and the record says so.
    let short = sim()
        .arg("run")
        .arg(&scenario)
        .args(["--precision", "0.0006", "--runs", "3000", "--no-charts"])
        .args(["--no-runs-csv", "--out"])
        .arg(dir.path().join("short"))
        .output()
        .expect("runs");
    assert!(short.status.success());
    let stdout = String::from_utf8_lossy(&short.stdout);
    let stderr = String::from_utf8_lossy(&short.stderr);
    assert!(!stdout.contains("precision reached"), "{stdout}");
    assert!(stdout.contains("precision NOT reached"), "{stdout}");
    assert!(stderr.contains("precision NOT reached"), "{stderr}");
    let summary = read_json(&dir.path().join("short/rare/summary.json"));
    assert_eq!(summary["runs"], 3000);
    let precision = &summary["precision"];
    assert_eq!(precision["met"], false, "{precision}");
    assert_eq!(precision["ceiling"], 3000);
    // The two outcomes' intervals mirror each other: either is the widest.
    assert!(["rare", "common"].contains(&precision["worst_outcome"].as_str().unwrap_or("")));
    assert!(precision["above"].as_f64().is_some_and(|a| a > h));

    // Without --precision the summary has no such field (its bytes are unchanged).
    sim()
        .arg("run")
        .arg(&scenario)
        .args([
            "--runs",
            "3000",
            "--no-charts",
            "--no-runs-csv",
            "-q",
            "--out",
        ])
        .arg(dir.path().join("plain"))
        .assert()
        .success();
    let plain = read_json(&dir.path().join("plain/rare/summary.json"));
    assert!(plain.get("precision").is_none());
}

/// Issue 11, defect 5: `explain` replays exactly the row of the study it is pointed at, also
/// after `--sampling lhs`, and refuses a run the study does not have.
#[test]
fn explain_replays_the_exact_row_of_a_latin_hypercube_study() {
    let dir = tempfile::tempdir().expect("temp dir");
    let runs = 40;
    sim()
        .args(["run", "--runs", "40", "--seed", "11", "--sampling", "lhs"])
        .args([
            "--set",
            "nk_threat=0.3",
            "--no-charts",
            "--runs-format",
            "csv",
        ])
        .args(["-q", "--out"])
        .arg(dir.path())
        .assert()
        .success();
    let study = dir.path().join("gsomia_2019");
    let csv = std::fs::read_to_string(study.join("runs.csv")).expect("runs.csv");
    let header: Vec<&str> = csv.lines().next().expect("header").split(',').collect();
    let summary = read_json(&study.join("summary.json"));
    let parameters: Vec<String> = summary["parameters"]
        .as_array()
        .expect("parameters")
        .iter()
        .map(|p| p["id"].as_str().expect("id").to_string())
        .collect();
    for k in [0usize, 13, runs - 1] {
        let row: Vec<&str> = csv.lines().nth(k + 1).expect("row").split(',').collect();
        let story = sim()
            .args(["explain", "--run", &k.to_string(), "--study"])
            .arg(&study)
            .output()
            .expect("explain runs");
        let text = String::from_utf8_lossy(&story.stdout);
        assert!(
            story.status.success(),
            "{}",
            String::from_utf8_lossy(&story.stderr)
        );
        for id in &parameters {
            let line = text
                .lines()
                .find(|l| l.split_whitespace().next() == Some(id.as_str()))
                .unwrap_or_else(|| panic!("no line for {id}: {text}"));
            let shown = line.split_whitespace().nth(1).expect("value");
            // A parameter that cannot vary has no column; explain shows the value it is held at.
            let Some(col) = header.iter().position(|c| c == id) else {
                let held = summary["fixed"]
                    .as_array()
                    .expect("fixed")
                    .iter()
                    .find(|f| f["id"] == id.as_str())
                    .map(|f| f["value"].to_string());
                let fixed_by_scenario = summary["parameters"]
                    .as_array()
                    .expect("parameters")
                    .iter()
                    .any(|p| {
                        p["id"] == id.as_str() && p["distribution"] == format!("fixed({shown})")
                    });
                assert!(
                    held.as_deref() == Some(shown) || fixed_by_scenario,
                    "run {k}: {id} has no column but varies: {line}"
                );
                continue;
            };
            assert_eq!(shown, row[col], "run {k}, parameter {id}: {line}");
        }
        assert!(
            !header.contains(&"nk_threat"),
            "a parameter held by --set has a column"
        );
        let outcome = header
            .iter()
            .position(|c| *c == "outcome")
            .expect("outcome");
        assert!(
            text.contains(&format!("({})\n", row[outcome])),
            "run {k}: {text}"
        );
        // The same run given by flags instead of the folder.
        let by_flags = sim()
            .args([
                "explain",
                "--run",
                &k.to_string(),
                "--runs",
                "40",
                "--seed",
                "11",
            ])
            .args(["--sampling", "lhs", "--set", "nk_threat=0.3"])
            .output()
            .expect("explain runs");
        assert_eq!(String::from_utf8_lossy(&by_flags.stdout), text);
    }
    // Run 40 is not in a study of 40 runs.
    sim()
        .args(["explain", "--run", "40", "--study"])
        .arg(&study)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("the study has 40 runs"));
    sim()
        .args(["explain", "--run", "40", "--runs", "40"])
        .assert()
        .code(2);
}
