//! Timed decisions (`wait`, `from`, `until`, `default`): open over a window, the actor acts or
//! waits at each step with its own draw, the deadline takes the default; summary.json's table
//! of steps recounted exactly from the per-run file, and its shares against the exact answer.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::Value;

mod common;
use common::{decision, read_rows, read_summary, sim, Row};

/// `notice` is open from step 2 to 10 with acting and waiting equally good (each step's
/// chance of acting is 1/2), and its default `lapse` is never chosen freely (utility -1000),
/// so each `lapse` is the deadline's. `maybe`, open at steps 4 to 6, has no default: a run
/// that waits throughout never takes it. The metrics give the step each was taken at.
const SCENARIO: &str = r#"
[scenario]
name = "Timed"
description = "A decision open over a window."
start = 2020-01-06
step = "week"
steps = 14
runs = 4000
seed = 9

[parameters.p]
dist = "uniform"
min = 0
max = 1

[actors.a]
label = "A"
[actors.a.vars]
x = "0"

[decisions.notice]
actor = "a"
from = 2
until = 10
wait = "0"
default = "lapse"
choice = "logit"
temperature = 1
[decisions.notice.options.act]
utility = "0"
effects = [{ var = "a.x", add = "1" }]
[decisions.notice.options.lapse]
utility = "-1000"

[decisions.maybe]
actor = "a"
from = 4
until = 6
wait = "1"
choice = "logit"
temperature = 0.5
[decisions.maybe.options.yes]
utility = "p"

[decisions.maybe.options.no]
utility = "0"

[outcomes.acted]
when = "notice.act"
[outcomes.other]
label = "Other"

[metrics.notice_step]
expr = "if(notice.decided, step - notice.since, -1)"
[metrics.maybe_step]
expr = "if(maybe.decided, step - maybe.since, -1)"
"#;

fn write(dir: &Path) -> PathBuf {
    let file = dir.join("timed.toml");
    std::fs::write(&file, SCENARIO).expect("write");
    file
}

fn run_into(dir: &Path, out: &str, extra: &[&str]) -> (Vec<Row>, Value) {
    let file = write(dir);
    let out = dir.join(out);
    let output = sim()
        .arg("run")
        .arg(&file)
        .args(["-q", "--no-charts", "--runs-format", "csv"])
        .args(extra)
        .arg("--out")
        .arg(&out)
        .output()
        .expect("runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let rows = read_rows(&out.join("timed/runs.csv"));
    (rows, read_summary(&out.join("timed/summary.json")))
}

/// The step a run took `id` at (from its metric), or `None`.
fn step_taken(row: &Row, id: &str) -> Option<u32> {
    let v: f64 = row[&format!("{id}_step")].parse().expect("a number");
    (v >= 0.0).then_some(v as u32)
}

#[test]
fn the_table_of_steps_is_a_recount_of_the_per_run_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (rows, summary) = run_into(dir.path(), "out", &[]);
    let n = rows.len() as u64;
    assert_eq!(n, 4000);
    for (id, options) in [("notice", ["act", "lapse"]), ("maybe", ["yes", "no"])] {
        let d = decision(&summary, id);
        let t = &d["timing"];
        let mut by_step: BTreeMap<u32, [u64; 2]> = BTreeMap::new();
        for row in &rows {
            match step_taken(row, id) {
                Some(step) => {
                    let k = options
                        .iter()
                        .position(|o| row[id] == *o)
                        .expect("an option");
                    by_step.entry(step).or_default()[k] += 1;
                }
                None => assert_eq!(row[id], "", "{id} not taken: {row:?}"),
            }
        }
        let table: Vec<(u32, [u64; 2], u64)> = t["steps"]
            .as_array()
            .expect("steps")
            .iter()
            .map(|s| {
                let options = &s["options"];
                let pair = [0, 1].map(|k| options[k].as_u64().expect("count"));
                (
                    s["step"].as_u64().expect("step") as u32,
                    pair,
                    s["runs"].as_u64().expect("runs"),
                )
            })
            .collect();
        let recount: Vec<(u32, [u64; 2], u64)> = by_step
            .iter()
            .map(|(&step, &pair)| (step, pair, pair[0] + pair[1]))
            .collect();
        assert_eq!(table, recount, "{id}");
        let taken: u64 = recount.iter().map(|r| r.2).sum();
        assert_eq!(d["not_taken"], n - taken, "{id}");
        let steps: u64 = recount.iter().map(|r| u64::from(r.0) * r.2).sum();
        assert_eq!(t["mean_step"], steps as f64 / taken as f64, "{id}");
        // The first step by which half of the runs that took it had.
        let mut so_far = 0;
        let median = recount
            .iter()
            .find(|r| {
                so_far += r.2;
                2 * so_far >= taken
            })
            .map(|r| r.0);
        assert_eq!(t["median_step"].as_u64().map(|s| s as u32), median, "{id}");
        for s in t["steps"].as_array().expect("steps") {
            assert_eq!(s["share"], s["runs"].as_f64().expect("runs") / n as f64);
        }
        // Every step is in the window.
        assert!(recount
            .iter()
            .all(|r| r.0 >= t["from"].as_u64().expect("from") as u32
                && r.0 <= t["until"].as_u64().expect("until") as u32));
    }
    // Only the deadline takes `lapse`, and every one of those is forced.
    let notice = &decision(&summary, "notice")["timing"];
    let lapses = rows.iter().filter(|r| r["notice"] == "lapse").count() as u64;
    assert!(lapses > 0, "some runs wait to the deadline");
    assert_eq!(notice["forced"], lapses);
    assert!(rows
        .iter()
        .filter(|r| r["notice"] == "lapse")
        .all(|r| step_taken(r, "notice") == Some(10)));
    assert_eq!(notice["default"], "lapse");
    assert_eq!(notice["until_date"], "2020-03-16");
    // Without a default, some runs never take `maybe`.
    let maybe = decision(&summary, "maybe");
    assert!(maybe["not_taken"].as_u64().expect("not_taken") > 0);
    assert_eq!(maybe["timing"]["forced"], 0);
}

#[test]
fn each_open_step_draws_its_own_random_number() {
    // Acting and waiting equally good: the first action is at step 2 + j with probability
    // 2^-(j+1) for j < 8; the deadline (step 10) acts with 2^-9 and forces the default with
    // 2^-9. One draw shared by the steps would act at step 2 or never.
    let dir = tempfile::tempdir().expect("tempdir");
    let (_, summary) = run_into(dir.path(), "out", &[]);
    let n = 4000.0;
    let t = &decision(&summary, "notice")["timing"];
    let share_at = |step: u64| {
        t["steps"]
            .as_array()
            .expect("steps")
            .iter()
            .find(|s| s["step"] == step)
            .map_or(0.0, |s| s["share"].as_f64().expect("share"))
    };
    for j in 0..8u64 {
        let p = 0.5f64.powi(j as i32 + 1);
        let se = (p * (1.0 - p) / n).sqrt();
        let got = share_at(2 + j);
        assert!(
            (got - p).abs() < 4.0 * se + 1e-9,
            "step {}: {got} vs {p}",
            2 + j
        );
    }
    let p = 2.0 * 0.5f64.powi(9);
    let se = (p * (1.0 - p) / n).sqrt();
    assert!(
        (share_at(10) - p).abs() < 4.0 * se,
        "deadline {}",
        share_at(10)
    );
}

#[test]
fn results_are_the_same_bytes_at_any_thread_count_and_shard_split() {
    let dir = tempfile::tempdir().expect("tempdir");
    run_into(dir.path(), "one", &["--threads", "1"]);
    run_into(dir.path(), "two", &["--threads", "2"]);
    for file in ["summary.json", "runs.csv"] {
        let read = |out: &str| std::fs::read(dir.path().join(out).join("timed").join(file));
        assert!(
            read("one").expect("one") == read("two").expect("two"),
            "{file}"
        );
    }
    let file = write(dir.path());
    for k in ["1/3", "2/3", "3/3"] {
        sim()
            .arg("run")
            .arg(&file)
            .args(["-q", "--no-charts", "--runs-format", "none", "--shard", k])
            .arg("--out")
            .arg(dir.path().join("shards"))
            .assert()
            .success();
    }
    let partials = [1, 2, 3].map(|k| {
        dir.path()
            .join(format!("shards/timed/partial-{k}-of-3.json"))
    });
    sim()
        .arg("merge")
        .args(partials.iter().rev())
        .args(["--no-charts", "--out"])
        .arg(dir.path().join("merged"))
        .assert()
        .success();
    let merged = std::fs::read(dir.path().join("merged/timed/summary.json")).expect("merged");
    let one = std::fs::read(dir.path().join("one/timed/summary.json")).expect("one");
    assert!(merged == one, "merged and whole differ");
}

#[test]
fn compare_lists_a_change_of_the_window_or_of_waiting() {
    let dir = tempfile::tempdir().expect("tempdir");
    let base = write(dir.path());
    let variant = dir.path().join("variant.toml");
    let text = SCENARIO.replace("wait = \"1\"", "wait = \"0.5\"");
    assert_ne!(text, SCENARIO);
    std::fs::write(&variant, text).expect("write");
    sim()
        .arg("compare")
        .arg(&base)
        .arg(&variant)
        .args(["-q", "--runs", "500", "--no-charts", "--out"])
        .arg(dir.path().join("cmp"))
        .assert()
        .success();
    let comparison = read_summary(&dir.path().join("cmp/compare/comparison.json"));
    let changes = comparison["changes"][0].as_array().expect("changes");
    let changed: Vec<&Value> = changes.iter().map(|c| &c["id"]).collect();
    assert_eq!(changed, ["maybe"], "{changes:?}");
    let variant = changes[0]["variant"].as_str().expect("text");
    assert!(variant.contains("open steps 4 to 6, wait 0.5"), "{variant}");
}
