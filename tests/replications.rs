//! `run --replications R` against exact answers: a recount from runs.csv, an analytic split of
//! the variance, and the same bytes for any thread count and any shard split.

use std::collections::BTreeMap;
use std::path::Path;

use assert_cmd::Command;

fn sim() -> Command {
    let mut cmd = Command::cargo_bin("alliance-sim").expect("binary");
    cmd.env("NO_COLOR", "1");
    cmd
}

/// One uniform parameter `a` and a coin that lands with probability `coin` (an expression of
/// `a`, or a constant): p(θ) is known exactly.
fn coin_scenario(dir: &Path, coin: &str) -> std::path::PathBuf {
    let text = format!(
        "[scenario]\nname = \"Coin\"\ndescription = \"A coin whose bias is an input.\"\n\
         start = 2020-01-06\nstep = \"week\"\nsteps = 1\nruns = 1000\nseed = 5\n\n\
         [parameters.a]\ndist = \"uniform\"\nmin = 0\nmax = 1\n\n\
         [actors.world]\nlabel = \"World\"\n\n[actors.world.vars]\ncoin = \"0\"\n\n\
         [events.toss]\nprobability = \"{coin}\"\nfrom = 0\nuntil = 0\n\
         effects = [{{ var = \"world.coin\", set = \"1\" }}]\n\n\
         [outcomes.heads]\nlabel = \"Heads\"\nwhen = \"world.coin == 1\"\n\n\
         [outcomes.tails]\nlabel = \"Tails\"\n"
    );
    let file = dir.join("coin.toml");
    std::fs::write(&file, text).expect("write");
    file
}

fn run_json(args: &[&str], out: &Path) -> serde_json::Value {
    let output = sim()
        .arg("run")
        .args(args)
        .args(["--json", "-q", "--no-charts", "--out"])
        .arg(out)
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

fn row<'a>(summary: &'a serde_json::Value, id: &str) -> &'a serde_json::Value {
    summary["replications"]["outcomes"]
        .as_array()
        .expect("outcomes")
        .iter()
        .find(|o| o["id"] == id)
        .unwrap_or_else(|| panic!("no row for {id}"))
}

#[test]
fn a_coin_whose_bias_is_uniform_gives_the_inputs_a_third_of_the_variance() {
    // p(θ) = a ~ U(0, 1): Var(p) = 1/12, E[p(1 - p)] = 1/6, so the inputs' share is 1/3.
    let dir = tempfile::tempdir().expect("tempdir");
    let file = coin_scenario(dir.path(), "a");
    let s = run_json(
        &[
            file.to_str().expect("utf-8"),
            "--runs",
            "200000",
            "--replications",
            "20",
            "--runs-format",
            "none",
        ],
        &dir.path().join("out"),
    );
    assert_eq!(s["replications"]["parameter_sets"], 10_000);
    let heads = row(&s, "heads");
    let [lo, hi] = [0, 1].map(|i| f(&heads["input_share_ci95"][i]));
    assert!(lo < 1.0 / 3.0 && 1.0 / 3.0 < hi, "[{lo}, {hi}]");
    assert!(hi - lo < 0.05, "[{lo}, {hi}]");
    assert!(
        (f(&heads["input_variance"]) - 1.0 / 12.0).abs() < 0.004,
        "{heads}"
    );
    assert!(
        (f(&heads["chance_variance"]) - 1.0 / 6.0).abs() < 0.004,
        "{heads}"
    );
    // The outcome's probability is the mean of the sets' shares.
    assert_eq!(heads["mean"], s["outcomes"][0]["probability"]);
}

#[test]
fn a_fair_coin_gives_the_inputs_no_share_and_a_parameter_alone_gives_them_all() {
    let dir = tempfile::tempdir().expect("tempdir");
    let chance = coin_scenario(dir.path(), "0.5");
    let s = run_json(
        &[
            chance.to_str().expect("utf-8"),
            "--runs",
            "100000",
            "--replications",
            "10",
        ],
        &dir.path().join("chance"),
    );
    let heads = row(&s, "heads");
    assert!(f(&heads["input_share"]) < 0.01, "{heads}");
    assert!(f(&heads["input_share_ci95"][0]) <= 0.005, "{heads}");
    assert!((f(&heads["chance_in_spread"]) - 1.0).abs() < 0.1, "{heads}");

    // The coin lands exactly when a > 0.7: no chance at fixed inputs.
    let inputs = coin_scenario(dir.path(), "if(a > 0.7, 1, 0)");
    let s = run_json(
        &[
            inputs.to_str().expect("utf-8"),
            "--runs",
            "20000",
            "--replications",
            "10",
        ],
        &dir.path().join("inputs"),
    );
    let heads = row(&s, "heads");
    assert_eq!(f(&heads["input_share"]), 1.0, "{heads}");
    assert_eq!(f(&heads["chance_variance"]), 0.0, "{heads}");
    // Each set is all heads or all tails.
    let counts: Vec<u64> = heads["sets_by_count"]
        .as_array()
        .expect("table")
        .iter()
        .map(|kv| kv[0].as_u64().expect("k"))
        .collect();
    assert_eq!(counts, vec![0, 10]);
}

/// Nearest rank, as the summary defines it: the smallest share that at least `percent` % of
/// the sets are at or below.
fn nearest_rank(sorted: &[f64], percent: usize) -> f64 {
    let rank = (percent * sorted.len()).div_ceil(100).max(1);
    sorted[rank - 1]
}

#[test]
fn every_number_recounts_from_runs_csv() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("out");
    let r = 12usize;
    let s = run_json(
        &[
            "--runs",
            "6000",
            "--replications",
            "12",
            "--seed",
            "11",
            "--runs-format",
            "csv",
        ],
        &out,
    );
    let mut reader = csv::Reader::from_path(out.join("gsomia_2019/runs.csv")).expect("runs.csv");
    let header: Vec<String> = reader
        .headers()
        .expect("header")
        .iter()
        .map(String::from)
        .collect();
    assert_eq!(&header[..2], ["run", "parameter_set"]);
    let outcome_at = header.iter().position(|h| h == "outcome").expect("outcome");
    // Per set: its parameters (the same in every run of the set) and its outcomes.
    let mut sets: BTreeMap<u64, (Vec<String>, Vec<String>)> = BTreeMap::new();
    let mut chance_differs = false;
    for record in reader.records() {
        let record = record.expect("row");
        let run: u64 = record[0].parse().expect("run");
        let set: u64 = record[1].parse().expect("set");
        assert_eq!(set, run / r as u64);
        let parameters: Vec<String> = record
            .iter()
            .skip(2)
            .take(outcome_at - 2)
            .map(String::from)
            .collect();
        let entry = sets
            .entry(set)
            .or_insert_with(|| (parameters.clone(), Vec::new()));
        // The parameters are the set's; the decisions (chance) may differ.
        let sampled = header[2..outcome_at]
            .iter()
            .zip(&parameters)
            .zip(&entry.0)
            .filter(|((h, _), _)| {
                !s["decisions"]
                    .as_array()
                    .expect("d")
                    .iter()
                    .any(|d| &d["id"] == *h)
            });
        for ((h, a), b) in sampled {
            assert_eq!(a, b, "parameter {h} differs within set {set}");
        }
        chance_differs |= entry.1.first().is_some_and(|o| o != &record[outcome_at]);
        entry.1.push(record[outcome_at].to_string());
    }
    assert_eq!(sets.len(), 500);
    assert!(
        chance_differs,
        "every set's runs ended alike: chance was not re-drawn"
    );
    for outcome in s["outcomes"].as_array().expect("outcomes") {
        let id = outcome["id"].as_str().expect("id");
        let ks: Vec<u64> = sets
            .values()
            .map(|(_, o)| o.iter().filter(|x| *x == id).count() as u64)
            .collect();
        let got = row(&s, id);
        let mut table = BTreeMap::new();
        for &k in &ks {
            *table.entry(k).or_insert(0u64) += 1;
        }
        let want: Vec<serde_json::Value> = table
            .iter()
            .map(|(k, n)| serde_json::json!([k, n]))
            .collect();
        assert_eq!(got["sets_by_count"], serde_json::Value::Array(want), "{id}");
        let mut shares: Vec<f64> = ks.iter().map(|&k| k as f64 / r as f64).collect();
        shares.sort_by(f64::total_cmp);
        for (key, percent) in [("p05", 5), ("p50", 50), ("p95", 95)] {
            assert_eq!(f(&got[key]), nearest_rank(&shares, percent), "{id} {key}");
        }
        let n = ks.len() as f64;
        let rr = r as f64;
        let mean = shares.iter().sum::<f64>() / n;
        assert!((f(&got["mean"]) - mean).abs() < 1e-12, "{id}");
        let between = shares.iter().map(|p| (p - mean).powi(2)).sum::<f64>() / (n - 1.0);
        let within = ks
            .iter()
            .map(|&k| k as f64 * (rr - k as f64) / (rr * (rr - 1.0)))
            .sum::<f64>()
            / n;
        let input = between - within / rr;
        assert!((f(&got["input_variance"]) - input).abs() < 1e-12, "{id}");
        assert!((f(&got["chance_variance"]) - within).abs() < 1e-12, "{id}");
        if within > 0.0 {
            let share = input.max(0.0) / (input.max(0.0) + within);
            assert!((f(&got["input_share"]) - share).abs() < 1e-12, "{id}");
        } else {
            assert!(
                got["input_share"].is_null() || f(&got["input_share"]) == 1.0,
                "{id}"
            );
        }
    }
}

#[test]
fn a_set_has_the_parameters_of_the_plain_run_with_its_index() {
    let dir = tempfile::tempdir().expect("tempdir");
    let read = |args: &[&str], name: &str| -> Vec<Vec<String>> {
        let out = dir.path().join(name);
        run_json(args, &out);
        let mut reader =
            csv::Reader::from_path(out.join("gsomia_2019/runs.csv")).expect("runs.csv");
        let header = reader.headers().expect("header").clone();
        let take = ["japan_export_controls", "nk_threat", "alliance_weight"];
        let at: Vec<usize> = take
            .iter()
            .map(|t| header.iter().position(|h| h == *t).expect("column"))
            .collect();
        reader
            .records()
            .map(|r| {
                let r = r.expect("row");
                at.iter().map(|&i| r[i].to_string()).collect()
            })
            .collect()
    };
    let plain = read(&["--runs", "50", "--runs-format", "csv"], "plain");
    let replicated = read(
        &[
            "--runs",
            "200",
            "--replications",
            "4",
            "--runs-format",
            "csv",
        ],
        "replicated",
    );
    for (run, values) in replicated.iter().enumerate() {
        assert_eq!(values, &plain[run / 4], "run {run}");
    }
}

#[test]
fn the_summary_is_the_same_bytes_at_any_thread_count_and_shard_split() {
    let dir = tempfile::tempdir().expect("tempdir");
    let common = [
        "--runs",
        "30000",
        "--replications",
        "30",
        "--runs-format",
        "none",
        "-q",
        "--no-charts",
    ];
    let bytes = |threads: &str, name: &str| {
        let out = dir.path().join(name);
        sim()
            .arg("run")
            .args(common)
            .args(["--threads", threads, "--out"])
            .arg(&out)
            .assert()
            .success();
        std::fs::read(out.join("gsomia_2019/summary.json")).expect("summary")
    };
    let one = bytes("1", "one");
    assert_eq!(one, bytes("2", "two"));
    let shards = dir.path().join("shards");
    for k in 1..=3 {
        sim()
            .arg("run")
            .args(common)
            .args(["--shard", &format!("{k}/3"), "--out"])
            .arg(&shards)
            .assert()
            .success();
    }
    let merged = dir.path().join("merged");
    let mut merge = sim();
    merge.arg("merge");
    for k in [3, 1, 2] {
        merge.arg(shards.join(format!("gsomia_2019/partial-{k}-of-3.json")));
    }
    merge.args(["--out"]).arg(&merged).assert().success();
    let merged = std::fs::read(merged.join("gsomia_2019/summary.json")).expect("merged");
    assert_eq!(one, merged, "merging shards changed the summary");
}

#[test]
fn bad_replications_are_refused_before_anything_is_written() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("out");
    for (args, message) in [
        (vec!["--replications", "1"], "between 2 and 10000"),
        (vec!["--replications", "0"], "between 2 and 10000"),
        (vec!["--replications", "10001"], "between 2 and 10000"),
        (
            vec!["--runs", "1001", "--replications", "10"],
            "such as 1000 or 1010",
        ),
        (
            vec![
                "--replications",
                "10",
                "--given",
                "seoul.gave_notice @ 2019-09-01",
            ],
            "cannot be used with",
        ),
        (
            vec!["--replications", "10", "--precision", "0.01"],
            "cannot be used with",
        ),
    ] {
        let output = sim()
            .arg("run")
            .args(&args)
            .arg("--out")
            .arg(&out)
            .output()
            .expect("runs");
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(message), "{args:?}: {stderr}");
        assert!(!out.exists(), "{args:?} wrote {}", out.display());
    }
}

#[test]
fn without_runs_the_default_is_rounded_down_to_whole_sets() {
    let dir = tempfile::tempdir().expect("tempdir");
    let s = run_json(
        &["--replications", "3", "--runs-format", "none"],
        &dir.path().join("out"),
    );
    assert_eq!(s["runs"], 9999);
    assert_eq!(s["replications"]["parameter_sets"], 3333);
    // Without the flag there is no `replications` key at all.
    let plain = run_json(
        &["--runs", "100", "--runs-format", "none"],
        &dir.path().join("p"),
    );
    assert!(plain.get("replications").is_none());
}

#[test]
fn report_refuses_a_summary_whose_replications_do_not_fit_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("study");
    run_json(
        &[
            "--runs",
            "2000",
            "--replications",
            "10",
            "--runs-format",
            "none",
        ],
        &out,
    );
    let text = std::fs::read_to_string(out.join("gsomia_2019/summary.json")).expect("summary");
    let real: serde_json::Value = serde_json::from_str(&text).expect("json");
    type Edit = fn(&mut serde_json::Value);
    let edits: [(&str, Edit, &str); 6] = [
        (
            "sets_do_not_add_up",
            |s| s["replications"]["outcomes"][0]["sets_by_count"][0][1] = 7.into(),
            "does not add up",
        ),
        (
            "rows_swapped",
            |s| {
                let rows = s["replications"]["outcomes"].as_array_mut().expect("rows");
                rows.swap(0, 1);
            },
            "stands where outcome",
        ),
        (
            "share_above_one",
            |s| s["replications"]["outcomes"][1]["input_share"] = 1.5.into(),
            "a share lies in [0, 1]",
        ),
        (
            "percentiles_out_of_order",
            |s| s["replications"]["outcomes"][1]["p05"] = 0.99.into(),
            "out of order",
        ),
        (
            "sets_times_runs",
            |s| s["replications"]["parameter_sets"] = 199.into(),
            "are not the 2000 runs",
        ),
        (
            "a_count_beyond_the_replications",
            |s| s["replications"]["outcomes"][0]["sets_by_count"][0][0] = 11.into(),
            "sets_by_count has [11",
        ),
    ];
    for (name, edit, message) in edits {
        let case = dir.path().join(name);
        std::fs::create_dir_all(&case).expect("folder");
        let mut s = real.clone();
        edit(&mut s);
        std::fs::write(
            case.join("summary.json"),
            serde_json::to_vec(&s).expect("json"),
        )
        .expect("write");
        let output = sim().arg("report").arg(&case).output().expect("runs");
        assert_eq!(output.status.code(), Some(2), "{name}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            stderr.contains("summary.json") && stderr.contains(message),
            "{name}: {stderr}"
        );
        assert!(!case.join("report.html").exists(), "{name}");
    }
}
