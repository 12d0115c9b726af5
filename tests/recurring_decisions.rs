//! Recurring decisions (`every`, `until`, `times`): each time its own draw, `DECISION.OPTION`
//! the option taken last, and summary.json's counts recounted exactly from the per-run file.

use std::path::{Path, PathBuf};

use serde_json::Value;

mod common;
use common::{decision, read_rows, read_summary, sim, Row};

/// `review` at steps 2, 8, 14, 20, 26 (five times); `press` at each step where `a.x > 0`, at
/// most three times; `coin` every other step from 1 to 9, with equal utilities.
const SCENARIO: &str = r#"
[scenario]
name = "Recurring"
description = "Decisions taken again and again."
start = 2020-01-06
step = "week"
steps = 30
runs = 3000
seed = 5

[parameters.p]
dist = "uniform"
min = 0
max = 1

[actors.a]
label = "A"
[actors.a.vars]
x = "0"

[decisions.review]
actor = "a"
at = 2
every = 6
choice = "logit"
temperature = 0.3
[decisions.review.options.keep]
utility = "p"
[decisions.review.options.change]
utility = "0.5 - 0.1 * review.change.count"
effects = [{ var = "a.x", add = "1" }]

[decisions.press]
actor = "a"
when = "a.x > 0"
times = 3
choice = "logit"
temperature = 0.5
[decisions.press.options.push]
utility = "0.2"
[decisions.press.options.hold]
utility = "0"

[decisions.coin]
actor = "a"
at = 1
every = 2
until = 9
choice = "logit"
temperature = 1
[decisions.coin.options.heads]
utility = "0"
[decisions.coin.options.tails]
utility = "0"

[outcomes.changed_twice]
when = "review.change.count >= 2"
[outcomes.other]
label = "Other"

[metrics.last_review_changed]
expr = "if(review.change, 1, 0)"
"#;

fn write(dir: &Path) -> PathBuf {
    let file = dir.join("recurring.toml");
    std::fs::write(&file, SCENARIO).expect("write");
    file
}

/// Runs the scenario; returns the per-run file's rows (column -> value) and summary.json.
fn run(dir: &Path, extra: &[&str]) -> (Vec<Row>, Value) {
    run_into(dir, "out", extra)
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
    let rows = read_rows(&out.join("recurring/runs.csv"));
    (rows, read_summary(&out.join("recurring/summary.json")))
}

fn count(row: &Row, column: &str) -> u64 {
    row[column].parse().expect("a count")
}

#[test]
fn summary_counts_are_a_recount_of_the_per_run_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (rows, summary) = run(dir.path(), &[]);
    let n = rows.len() as u64;
    assert_eq!(n, 3000);
    for (id, options) in [
        ("review", ["keep", "change"]),
        ("press", ["push", "hold"]),
        ("coin", ["heads", "tails"]),
    ] {
        let d = decision(&summary, id);
        let r = &d["recurring"];
        let most = r["most_times"].as_u64().expect("most_times") as usize;
        let mut by_times = vec![0u64; most + 1];
        let mut total = 0;
        for row in &rows {
            let times = count(row, &format!("{id}_count"));
            by_times[times as usize] += 1;
            total += times;
            // Each time took one option.
            let per_option: u64 = options
                .iter()
                .map(|o| count(row, &format!("{id}_{o}_count")))
                .sum();
            assert_eq!(per_option, times, "{id}: {row:?}");
        }
        let runs_by_times: Vec<u64> = r["runs_by_times"]
            .as_array()
            .expect("runs_by_times")
            .iter()
            .map(|v| v.as_u64().expect("count"))
            .collect();
        assert_eq!(runs_by_times, by_times, "{id}");
        assert_eq!(r["mean_times"], total as f64 / n as f64, "{id}");
        assert_eq!(d["not_taken"], by_times[0], "{id}");
        for (k, o) in options.iter().enumerate() {
            let column = format!("{id}_{o}_count");
            let any = rows.iter().filter(|row| count(row, &column) > 0).count() as u64;
            let times: u64 = rows.iter().map(|row| count(row, &column)).sum();
            let option = &r["options"][k];
            assert_eq!(option["id"], *o);
            assert_eq!(option["runs_with_any"], any, "{id}.{o}");
            assert_eq!(option["mean_times"], times as f64 / n as f64, "{id}.{o}");
            // The decision's own table counts the option taken last.
            let last = rows.iter().filter(|row| row[id] == *o).count() as u64;
            assert_eq!(d["options"][k]["count"], last, "{id}.{o}");
        }
    }
    // The schedules: five reviews in every run; five coins (steps 1 to 9); at most three presses.
    assert_eq!(decision(&summary, "review")["recurring"]["most_times"], 5);
    assert_eq!(decision(&summary, "coin")["recurring"]["most_times"], 5);
    assert_eq!(decision(&summary, "press")["recurring"]["most_times"], 3);
    assert!(rows.iter().all(|row| count(row, "review_count") == 5));
    assert!(rows.iter().all(|row| count(row, "coin_count") == 5));
    // `DECISION.OPTION` reads the option taken last.
    for row in &rows {
        let changed = row["last_review_changed"] == "1";
        assert_eq!(changed, row["review"] == "change", "{row:?}");
    }
}

#[test]
fn each_time_draws_its_own_random_number() {
    // Equal utilities: each toss is heads with probability 1/2. One draw shared by all five
    // would give five equal tosses in every run; independent ones, mixed tosses in 15/16.
    let dir = tempfile::tempdir().expect("tempdir");
    let (rows, _) = run(dir.path(), &[]);
    let mixed = rows
        .iter()
        .filter(|row| {
            let heads = count(row, "coin_heads_count");
            heads > 0 && heads < 5
        })
        .count() as f64;
    let share = mixed / rows.len() as f64;
    // 15/16 = 0.9375, with a standard error of 0.0044 at 3,000 runs.
    assert!((share - 0.9375).abs() < 0.025, "mixed in {share}");
    // And the heads count is Binomial(5, 1/2): its mean is 2.5 (sd of the mean 0.02).
    let heads: u64 = rows.iter().map(|row| count(row, "coin_heads_count")).sum();
    let mean = heads as f64 / rows.len() as f64;
    assert!((mean - 2.5).abs() < 0.1, "mean heads {mean}");
}

#[test]
fn results_are_the_same_bytes_at_any_thread_count() {
    let dir = tempfile::tempdir().expect("tempdir");
    run_into(dir.path(), "one", &["--threads", "1"]);
    run_into(dir.path(), "two", &["--threads", "2"]);
    for file in ["summary.json", "runs.csv"] {
        let read = |out: &str| std::fs::read(dir.path().join(out).join("recurring").join(file));
        assert!(
            read("one").expect("one") == read("two").expect("two"),
            "{file}"
        );
    }
}

#[test]
fn shards_merge_to_the_summary_of_one_study() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = write(dir.path());
    for k in ["1/2", "2/2"] {
        sim()
            .arg("run")
            .arg(&file)
            .args(["-q", "--no-charts", "--runs-format", "none", "--shard", k])
            .arg("--out")
            .arg(dir.path().join("shards"))
            .assert()
            .success();
    }
    let partials = [1, 2].map(|k| {
        dir.path()
            .join(format!("shards/recurring/partial-{k}-of-2.json"))
    });
    sim()
        .arg("merge")
        .args(partials.iter().rev())
        .args(["--no-charts", "--out"])
        .arg(dir.path().join("merged"))
        .assert()
        .success();
    sim()
        .arg("run")
        .arg(&file)
        .args(["-q", "--no-charts", "--runs-format", "none", "--out"])
        .arg(dir.path().join("whole"))
        .assert()
        .success();
    let merged = std::fs::read(dir.path().join("merged/recurring/summary.json"));
    let whole = std::fs::read(dir.path().join("whole/recurring/summary.json")).expect("whole");
    assert!(merged.expect("merged") == whole, "merged and whole differ");
}
