//! The corpus of tampered, truncated and damaged result files: every partial result that
//! `merge` is handed and every `summary.json` that `report` is handed here is wrong in one way,
//! and each is refused with exit 2 and a message that names the file, without a panic or a hang.
//!
//! The corpus is made from a real study's files, edited as a hand, a faulty disk or a forger
//! would edit them. A forger can recompute the partial's digest (it is not a signature), so most
//! edited partials are also sealed again: those must be caught by the consistency checks.

use std::path::{Path, PathBuf};
use std::time::Duration;

use assert_cmd::Command;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

fn sim() -> Command {
    let mut cmd = Command::cargo_bin("alliance-sim").expect("binary builds");
    cmd.env("NO_COLOR", "1");
    // A hang is a failure too: charts of a valid summary draw in about a second.
    cmd.timeout(Duration::from_secs(60));
    cmd
}

/// What is wrong with how the command refused `file`, if anything: it must exit 2, name the
/// file, and not panic.
fn refusal_problem(cmd: &mut Command, file: &Path) -> Option<String> {
    let out = cmd.output().expect("the binary starts");
    let stderr = String::from_utf8_lossy(&out.stderr);
    let named = file.display().to_string();
    if out.status.code() != Some(2) || stderr.contains("panicked") || !stderr.contains(&named) {
        Some(format!(
            "exit {:?}, stderr: {}",
            out.status.code(),
            stderr.trim().chars().take(300).collect::<String>()
        ))
    } else {
        None
    }
}

/// Writes the digest a partial carries: SHA-256 of its compact JSON with `content_sha256` empty.
fn seal(partial: &mut Value) {
    partial["content_sha256"] = json!("");
    let text = serde_json::to_string(partial).expect("serializes");
    let digest: String = Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    partial["content_sha256"] = json!(digest);
}

/// How a corpus file is made from the real one.
enum Edit {
    /// Change the JSON; `sealed`: write a matching digest afterwards; `both`: edit the other
    /// shard the same way, so that the shards still agree with each other.
    Json {
        edit: fn(&mut Value),
        sealed: bool,
        both: bool,
    },
    /// Replace the text.
    Text(fn(&str) -> Vec<u8>),
}

fn sealed(edit: fn(&mut Value)) -> Edit {
    Edit::Json {
        edit,
        sealed: true,
        both: false,
    }
}

fn sealed_in_both(edit: fn(&mut Value)) -> Edit {
    Edit::Json {
        edit,
        sealed: true,
        both: true,
    }
}

fn unsealed(edit: fn(&mut Value)) -> Edit {
    Edit::Json {
        edit,
        sealed: false,
        both: false,
    }
}

fn acc(p: &mut Value) -> &mut Value {
    &mut p["accumulator"]
}

fn bump(v: &mut Value, by: u64) {
    *v = json!(v.as_u64().expect("a count") + by);
}

fn bad_partials() -> Vec<(&'static str, Edit)> {
    vec![
        (
            "shard_index_beyond_count",
            sealed(|p| p["shard"]["index"] = json!(7)),
        ),
        (
            "shard_count_huge",
            sealed_in_both(|p| p["shard"]["count"] = json!(1u64 << 62)),
        ),
        (
            "bucket_offset_huge",
            sealed(|p| acc(p)["metric_end"][0]["linear"]["first"] = json!(i64::MIN)),
        ),
        (
            "bucket_offset_far_below",
            sealed(|p| acc(p)["metric_end"][0]["log"]["first"] = json!(1)),
        ),
        (
            "histogram_buckets_shortened",
            sealed(|p| {
                let counts = &mut acc(p)["metric_end"][0]["linear"]["counts"];
                counts.as_array_mut().expect("buckets").pop();
            }),
        ),
        (
            "histogram_precision_changed",
            sealed(|p| acc(p)["metric_end"][0]["capacity"] = json!(60)),
        ),
        (
            "histogram_min_above_max",
            sealed(|p| acc(p)["metric_end"][0]["min"] = json!(1e9)),
        ),
        (
            "histogram_list_shortened",
            sealed(|p| {
                acc(p)["metric_end"]
                    .as_array_mut()
                    .expect("sketches")
                    .truncate(1)
            }),
        ),
        (
            "timeline_histograms_dropped",
            sealed(|p| acc(p)["metric_steps"] = json!([])),
        ),
        (
            "outcome_count_raised",
            sealed(|p| bump(&mut acc(p)["outcome_counts"][0], 100)),
        ),
        (
            "metric_value_count_raised",
            sealed(|p| bump(&mut acc(p)["metric_values"][11]["counts"][0], 1)),
        ),
        (
            "continuous_metric_given_an_other_value",
            sealed(|p| {
                acc(p)["metric_values"][0] =
                    json!({"counts": [], "other": 1, "first_other": [0, 0.5]})
            }),
        ),
        (
            "drivers_counted_beyond_a_parameter_s_values",
            sealed(|p| {
                // japan_talks_offer (parameter 19, a bernoulli: two bins of the ten, five
                // outcomes each) moves a run from its first bin to a third.
                let counts = acc(p)["driver_counts"].as_array_mut().expect("counts");
                let first = 19 * 10 * 5;
                let o = (0..5)
                    .find(|o| counts[first + o] != json!(0))
                    .expect("a run");
                let n = counts[first + o].as_u64().expect("count");
                counts[first + o] = json!(n - 1);
                counts[first + 2 * 5 + o] = json!(1);
            }),
        ),
        (
            "outcome_count_raised_digest_left",
            unsealed(|p| bump(&mut acc(p)["outcome_counts"][0], 100)),
        ),
        (
            "option_count_raised",
            sealed(|p| bump(&mut acc(p)["option_counts"][0][0], 1)),
        ),
        (
            "aggregated_runs_zero",
            sealed(|p| acc(p)["runs"] = json!(0)),
        ),
        (
            "study_runs_zero_in_every_shard",
            sealed_in_both(|p| p["runs"] = json!(0)),
        ),
        (
            "event_share_above_one",
            sealed(|p| {
                let runs = acc(p)["runs"].as_u64().expect("runs");
                acc(p)["event_any"][0] = json!(runs + 5);
                acc(p)["event_totals"][0] = json!(runs + 5);
            }),
        ),
        (
            "event_count_overflows",
            sealed(|p| acc(p)["event_totals"][0] = json!(u64::MAX)),
        ),
        (
            "metric_mean_outside_its_range",
            sealed(|p| acc(p)["metric_moments"][0]["sum"] = json!(format!("1{}", "0".repeat(340)))),
        ),
        (
            "metric_sum_beyond_any_study",
            sealed(|p| acc(p)["metric_moments"][0]["sum"] = json!(format!("9{}", "0".repeat(700)))),
        ),
        (
            "driver_table_shortened",
            sealed(|p| {
                acc(p)["driver_counts"]
                    .as_array_mut()
                    .expect("drivers")
                    .truncate(10)
            }),
        ),
        (
            "driver_count_moved",
            sealed(|p| {
                let counts = acc(p)["driver_counts"].as_array_mut().expect("drivers");
                let i = counts
                    .iter()
                    .position(|n| n.as_u64() > Some(0))
                    .expect("a count");
                counts[i] = json!(counts[i].as_u64().expect("a count") - 1);
            }),
        ),
        (
            "set_names_no_parameter",
            sealed_in_both(|p| p["fixed"] = json!([[999, 1.0]])),
        ),
        (
            "unknown_sampling",
            sealed_in_both(|p| p["sampling"] = json!("quasi-random")),
        ),
        ("run_range_shifted", sealed(|p| p["first_run"] = json!(1))),
        (
            "version_changed",
            unsealed(|p| p["version"] = json!("0.0.1")),
        ),
        (
            "other_format",
            sealed(|p| p["format"] = json!("alliance-sim-partial/1")),
        ),
        (
            "truncated",
            Edit::Text(|t| t.as_bytes()[..t.len() / 2].to_vec()),
        ),
        ("empty", Edit::Text(|_| Vec::new())),
        ("not_json", Edit::Text(|_| b"hello".to_vec())),
        ("nul_bytes", Edit::Text(|_| vec![0; 64])),
        ("json_array", Edit::Text(|_| b"[]".to_vec())),
        (
            "not_utf8",
            Edit::Text(|_| b"{\"format\": \"\xff\xfe\"}".to_vec()),
        ),
    ]
}

/// Runs 3,000 runs in two shards; returns the two partials' paths.
fn two_shards(dir: &Path) -> [PathBuf; 2] {
    for k in ["1/2", "2/2"] {
        sim()
            .args(["run", "--runs", "3000", "--seed", "3", "-q", "--no-charts"])
            .args(["--no-runs-csv", "--shard", k, "--out"])
            .arg(dir)
            .assert()
            .success();
    }
    [1, 2].map(|k| dir.join(format!("gsomia_2019/partial-{k}-of-2.json")))
}

fn read_json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).expect("written")).expect("JSON")
}

#[test]
fn merge_refuses_every_tampered_partial_naming_the_file() {
    let dir = tempfile::tempdir().expect("temp dir");
    let [one, two] = two_shards(&dir.path().join("shards"));
    let (text, other) = (
        std::fs::read_to_string(&one).expect("partial"),
        read_json(&two),
    );
    let real = read_json(&one);
    if real.get("content_sha256").is_some() {
        // The digest is the one the corpus reseals with.
        let mut resealed = real.clone();
        seal(&mut resealed);
        assert_eq!(resealed, real, "the digest is SHA-256 of the compact JSON");
    }
    // The untouched pair merges: the refusals below are about the edits.
    sim()
        .arg("merge")
        .args([&one, &two])
        .args(["--no-charts", "--out"])
        .arg(dir.path().join("merged"))
        .assert()
        .success();

    let corpus = dir.path().join("bad_partials");
    let mut wrong = Vec::new();
    for (name, edit) in bad_partials() {
        let case = corpus.join(name);
        std::fs::create_dir_all(&case).expect("folder");
        let (first, second) = (
            case.join("partial-1-of-2.json"),
            case.join("partial-2-of-2.json"),
        );
        let (first_bytes, second_value) = match edit {
            Edit::Json { edit, sealed, both } => {
                let mut p = real.clone();
                edit(&mut p);
                let mut q = other.clone();
                if both {
                    edit(&mut q);
                }
                if sealed {
                    seal(&mut p);
                    if both {
                        seal(&mut q);
                    }
                }
                (serde_json::to_vec(&p).expect("JSON"), q)
            }
            Edit::Text(f) => (f(&text), other.clone()),
        };
        std::fs::write(&first, first_bytes).expect("written");
        std::fs::write(&second, serde_json::to_vec(&second_value).expect("JSON")).expect("written");
        let problem = refusal_problem(
            sim()
                .arg("merge")
                .args([&first, &second])
                .args(["--no-charts", "--out"])
                .arg(case.join("out")),
            &first,
        );
        if let Some(problem) = problem {
            wrong.push(format!("{name}: {problem}"));
        }
    }
    assert!(
        wrong.is_empty(),
        "not refused as they should be:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn merge_of_a_missing_file_or_a_folder_exits_2_naming_it() {
    let dir = tempfile::tempdir().expect("temp dir");
    let missing = dir.path().join("no/such/partial-1-of-1.json");
    let problems: Vec<String> = [missing, dir.path().to_path_buf()]
        .iter()
        .filter_map(|path| refusal_problem(sim().arg("merge").arg(path), path))
        .collect();
    assert!(problems.is_empty(), "{problems:?}");
}

#[test]
fn merge_names_the_scenario_given_when_it_is_not_the_one_the_shards_ran() {
    let dir = tempfile::tempdir().expect("temp dir");
    let [one, two] = two_shards(&dir.path().join("shards"));
    let given = Path::new("scenarios/gsomia_2019_no_cost_demand.toml");
    let problem = refusal_problem(
        sim()
            .arg("merge")
            .args([&one, &two])
            .arg("--scenario")
            .arg(given)
            .args(["--no-charts", "--out"])
            .arg(dir.path().join("merged")),
        given,
    );
    assert_eq!(problem, None);
}

/// The shipped scenario's categorical metric.
fn by_value_metric(s: &mut Value) -> &mut Value {
    s["metrics"]
        .as_array_mut()
        .expect("metrics")
        .iter_mut()
        .find(|m| m["id"] == "pact_status")
        .expect("pact_status")
}

fn metric(s: &mut Value) -> &mut Value {
    &mut s["metrics"][0]
}

/// A `timing` table for the first decision that puts all its runs at `step` of a window from
/// 1 to 5: consistent with the decision's counts when `step` is in the window.
fn timing(s: &Value, step: u64) -> Value {
    let d = &s["decisions"][0];
    let options: Vec<u64> = d["options"]
        .as_array()
        .expect("options")
        .iter()
        .map(|o| o["count"].as_u64().expect("count"))
        .collect();
    let runs: u64 = options.iter().sum();
    json!({
        "from": 1, "until": 5, "from_date": "2019-07-08", "until_date": "2019-08-05",
        "default": null, "forced": 0, "forced_share": 0.0,
        "mean_step": step, "median_step": step, "median_date": "2019-07-15",
        "steps": [{ "step": step, "date": "2019-07-15", "runs": runs, "share": 0.5, "options": options }],
    })
}

fn bad_summaries() -> Vec<(&'static str, Edit)> {
    let edit = unsealed;
    vec![
        (
            "histogram_edges_shorter_than_counts",
            edit(|s| {
                metric(s)["histogram"]["edges"]
                    .as_array_mut()
                    .expect("edges")
                    .truncate(3)
            }),
        ),
        (
            "histogram_edges_descending",
            edit(|s| {
                metric(s)["histogram"]["edges"]
                    .as_array_mut()
                    .expect("edges")
                    .reverse()
            }),
        ),
        (
            "histogram_edges_beyond_range",
            edit(|s| {
                let n = metric(s)["histogram"]["edges"]
                    .as_array()
                    .expect("edges")
                    .len();
                let mut edges = vec![json!(-1e308)];
                edges.extend((1..n).map(|_| json!(1e308)));
                metric(s)["histogram"]["edges"] = json!(edges);
            }),
        ),
        (
            "histogram_counts_overflow",
            edit(|s| {
                let n = metric(s)["histogram"]["counts"]
                    .as_array()
                    .expect("counts")
                    .len();
                metric(s)["histogram"]["counts"] = json!(vec![u64::MAX; n]);
            }),
        ),
        (
            "histogram_of_100000_bins",
            edit(|s| {
                let runs = s["runs"].as_u64().expect("runs");
                let mut counts = vec![0; 100_000];
                counts[0] = runs;
                let edges: Vec<f64> = (0..=100_000).map(f64::from).collect();
                metric(s)["histogram"] = json!({ "edges": edges, "counts": counts });
            }),
        ),
        (
            "timeline_quantiles_beyond_range",
            edit(|s| {
                for q in metric(s)["timeline"].as_array_mut().expect("timeline") {
                    q["p05"] = json!(-1e308);
                    q["p95"] = json!(1e308);
                }
            }),
        ),
        (
            "timeline_longer_than_time_axis",
            edit(|s| {
                let timeline = metric(s)["timeline"].as_array_mut().expect("timeline");
                let again = timeline.clone();
                timeline.extend(again);
            }),
        ),
        (
            "quantiles_out_of_order",
            edit(|s| {
                let max = metric(s)["max"].clone();
                metric(s)["p05"] = max;
            }),
        ),
        ("sd_negative", edit(|s| metric(s)["sd"] = json!(-1.0))),
        (
            "mean_as_nan_string",
            edit(|s| metric(s)["mean"] = json!("NaN")),
        ),
        ("sd_null", edit(|s| metric(s)["sd"] = json!(null))),
        (
            "probability_above_one",
            edit(|s| s["outcomes"][0]["probability"] = json!(5.0)),
        ),
        (
            "interval_above_one",
            edit(|s| s["outcomes"][0]["ci95"] = json!([0.1, 7.0])),
        ),
        (
            "outcome_count_raised",
            edit(|s| bump(&mut s["outcomes"][0]["count"], 1)),
        ),
        (
            "outcome_count_negative",
            edit(|s| s["outcomes"][0]["count"] = json!(-1)),
        ),
        (
            "option_count_raised",
            edit(|s| bump(&mut s["decisions"][0]["not_taken"], 1)),
        ),
        (
            "event_share_above_one",
            edit(|s| s["events"][0]["share_fired"] = json!(1.5)),
        ),
        ("runs_zero", edit(|s| s["runs"] = json!(0))),
        (
            "steps_huge",
            edit(|s| s["time_axis"]["steps"] = json!(4_000_000_000u64)),
        ),
        (
            "dates_missing",
            edit(|s| s["time_axis"]["dates"] = json!([])),
        ),
        (
            "drivers_bin_short_of_outcomes",
            edit(|s| {
                let cells = &mut s["parameters"][0]["drivers"][0]["outcomes"];
                cells.as_object_mut().expect("keyed").remove("terminated");
            }),
        ),
        (
            "drivers_bin_interval_above_one",
            edit(|s| {
                s["parameters"][0]["drivers"][0]["outcomes"]["terminated"]["ci95"] =
                    json!([0.0, 2.0])
            }),
        ),
        (
            "drivers_value_bins_reversed",
            edit(|s| {
                let p = s["parameters"]
                    .as_array_mut()
                    .expect("parameters")
                    .iter_mut()
                    .find(|p| p["id"] == "japan_talks_offer")
                    .expect("a bernoulli parameter");
                p["drivers"].as_array_mut().expect("bins").reverse();
            }),
        ),
        (
            "metric_value_count_raised",
            edit(|s| bump(&mut by_value_metric(s)["values"][0]["count"], 1)),
        ),
        (
            "metric_value_share_wrong",
            edit(|s| by_value_metric(s)["values"][1]["share"] = json!(0.999)),
        ),
        (
            "metric_kind_unknown",
            edit(|s| by_value_metric(s)["kind"] = json!("ordinal")),
        ),
        (
            "metric_values_emptied",
            edit(|s| by_value_metric(s)["values"] = json!([])),
        ),
        (
            "drivers_bins_shortened",
            edit(|s| {
                s["parameters"][0]["drivers"]
                    .as_array_mut()
                    .expect("drivers")
                    .truncate(3)
            }),
        ),
        (
            "timing_steps_do_not_add_up_to_the_options",
            edit(|s| {
                s["decisions"][0]["timing"] = timing(s, 3);
                s["decisions"][0]["timing"]["steps"][0]["options"][0] = json!(0);
            }),
        ),
        (
            "timing_step_outside_its_window",
            edit(|s| s["decisions"][0]["timing"] = timing(s, 99)),
        ),
        (
            "timing_steps_do_not_add_up_to_the_options",
            edit(|s| {
                s["decisions"][0]["timing"] = timing(s, 3);
                s["decisions"][0]["timing"]["steps"][0]["options"][0] = json!(0);
            }),
        ),
        (
            "timing_step_outside_its_window",
            edit(|s| s["decisions"][0]["timing"] = timing(s, 99)),
        ),
        (
            "truncated",
            Edit::Text(|t| t.as_bytes()[..t.len() / 2].to_vec()),
        ),
        ("empty", Edit::Text(|_| Vec::new())),
        (
            "not_utf8",
            Edit::Text(|_| b"{\"version\": \"\xff\"}".to_vec()),
        ),
    ]
}

#[test]
fn report_refuses_every_bad_summary_naming_the_file() {
    let dir = tempfile::tempdir().expect("temp dir");
    sim()
        .args([
            "run",
            "--runs",
            "2000",
            "--seed",
            "3",
            "-q",
            "--no-charts",
            "--no-runs-csv",
        ])
        .arg("--out")
        .arg(dir.path().join("study"))
        .assert()
        .success();
    let real_dir = dir.path().join("study/gsomia_2019");
    let text = std::fs::read_to_string(real_dir.join("summary.json")).expect("summary");
    let real: Value = serde_json::from_str(&text).expect("JSON");
    // The untouched summary redraws: the refusals below are about the edits.
    sim().arg("report").arg(&real_dir).assert().success();

    let mut wrong = Vec::new();
    for (name, edit) in bad_summaries() {
        let case = dir.path().join("bad_summaries").join(name);
        std::fs::create_dir_all(&case).expect("folder");
        let bytes = match edit {
            Edit::Json { edit, .. } => {
                let mut s = real.clone();
                edit(&mut s);
                serde_json::to_vec_pretty(&s).expect("JSON")
            }
            Edit::Text(f) => f(&text),
        };
        let file = case.join("summary.json");
        std::fs::write(&file, bytes).expect("written");
        if let Some(problem) = refusal_problem(sim().arg("report").arg(&case), &file) {
            wrong.push(format!("{name}: {problem}"));
        }
    }
    // A summary as an earlier version wrote it, drivers counts as positional arrays: refused
    // with the advice to run the study again, not only serde's words.
    let mut old = real.clone();
    for p in old["parameters"].as_array_mut().expect("parameters") {
        for bin in p["drivers"].as_array_mut().expect("drivers") {
            let counts: Vec<Value> = bin["outcomes"]
                .as_object()
                .expect("keyed cells")
                .values()
                .map(|cell| cell["count"].clone())
                .collect();
            let bin = bin.as_object_mut().expect("a bin");
            bin.remove("outcomes");
            bin.insert("outcome_counts".into(), Value::Array(counts));
        }
    }
    let case = dir.path().join("earlier_version");
    std::fs::create_dir_all(&case).expect("folder");
    std::fs::write(
        case.join("summary.json"),
        serde_json::to_vec(&old).expect("JSON"),
    )
    .expect("written");
    sim()
        .arg("report")
        .arg(&case)
        .assert()
        .code(2)
        .stderr(predicates::str::contains("missing field `outcomes`"))
        .stderr(predicates::str::contains("run the study again"));

    // A folder where the file should be, and no file at all.
    let folder = dir.path().join("folder");
    std::fs::create_dir_all(folder.join("summary.json")).expect("folder");
    let missing = dir.path().join("missing");
    for (name, case) in [("summary_is_a_folder", folder), ("missing", missing)] {
        let file = case.join("summary.json");
        if let Some(problem) = refusal_problem(sim().arg("report").arg(&case), &file) {
            wrong.push(format!("{name}: {problem}"));
        }
    }
    assert!(
        wrong.is_empty(),
        "not refused as they should be:\n{}",
        wrong.join("\n")
    );
}
