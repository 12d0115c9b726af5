//! Every statistic in summary.json against an exact answer recounted from runs.csv (or an
//! analytic value): outcome counts and Wilson intervals, metric means, sds, quantiles and
//! histograms, the shares of count and categorical metrics, event counts, drivers bins with
//! their intervals, with the hard cases (offsets, tiny and huge magnitudes, constants, integers,
//! a rare outcome, undeclared values, a value seen once, one run), and merges of shards in any
//! order and split.

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use serde_json::Value;

fn sim() -> Command {
    Command::cargo_bin("alliance-sim").expect("binary")
}

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/oracle.toml")
}

struct Study {
    summary: Value,
    header: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Study {
    fn column(&self, name: &str) -> Vec<f64> {
        let at = self
            .header
            .iter()
            .position(|h| h == name)
            .unwrap_or_else(|| panic!("no column {name}"));
        self.rows
            .iter()
            .map(|r| r[at].parse().expect("a number"))
            .collect()
    }

    fn text_column(&self, name: &str) -> Vec<String> {
        let at = self.header.iter().position(|h| h == name).expect(name);
        self.rows.iter().map(|r| r[at].clone()).collect()
    }

    fn metric(&self, id: &str) -> &Value {
        self.summary["metrics"]
            .as_array()
            .expect("metrics")
            .iter()
            .find(|m| m["id"] == id)
            .expect(id)
    }
}

fn run_study(dir: &Path, runs: u64, extra: &[&str]) -> Study {
    let out = dir.join(format!("out{runs}{}", extra.join("")));
    sim()
        .args([
            "run",
            "-q",
            "--no-charts",
            "--runs-format",
            "csv",
            "--runs",
            &runs.to_string(),
            "--out",
        ])
        .arg(&out)
        .arg(fixture())
        .args(extra)
        .assert()
        .success();
    let folder = out.join("oracle");
    let summary: Value =
        serde_json::from_slice(&std::fs::read(folder.join("summary.json")).unwrap())
            .expect("summary.json");
    let mut reader = csv::Reader::from_path(folder.join("runs.csv")).expect("runs.csv");
    let header = reader
        .headers()
        .expect("header")
        .iter()
        .map(String::from)
        .collect();
    let rows = reader
        .records()
        .map(|r| r.expect("row").iter().map(String::from).collect())
        .collect();
    Study {
        summary,
        header,
        rows,
    }
}

/// Neumaier-compensated sum: an independent, accurate (not exact) reference.
fn accurate_sum(values: impl Iterator<Item = f64>) -> f64 {
    let (mut sum, mut c) = (0.0f64, 0.0f64);
    for v in values {
        let t = sum + v;
        c += if sum.abs() >= v.abs() {
            (sum - t) + v
        } else {
            (v - t) + sum
        };
        sum = t;
    }
    sum + c
}

/// Mean and sample sd by two passes in a frame shifted to the first value, where the
/// differences are exact (Sterbenz) for values of one sign and magnitude, after scaling by a
/// power of two (exact) so that squares neither overflow nor underflow.
fn reference_moments(values: &[f64]) -> (f64, f64) {
    let largest = values.iter().fold(0.0f64, |a, v| a.max(v.abs()));
    let scale = if largest > 0.0 {
        2f64.powi(-largest.log2().floor() as i32)
    } else {
        1.0
    };
    let scaled: Vec<f64> = values.iter().map(|v| v * scale).collect();
    let shift = scaled[0];
    let n = values.len() as f64;
    let mean_d = accurate_sum(scaled.iter().map(|v| v - shift)) / n;
    let ss = accurate_sum(scaled.iter().map(|v| (v - shift - mean_d).powi(2)));
    ((shift + mean_d) / scale, (ss / (n - 1.0)).sqrt() / scale)
}

/// The order statistic of rank ceil(q n).
fn order_statistic(values: &[f64], q: f64) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let rank = ((q * 1e6).round() as usize * values.len()).div_ceil(1_000_000);
    sorted[rank.max(1) - 1]
}

/// The 95% Wilson score interval, from its formula (0 and 1 exactly at k = 0 and k = n).
fn wilson(k: u64, n: u64) -> [f64; 2] {
    let z = 1.959_963_984_540_054f64;
    let (nf, p) = (n as f64, k as f64 / n as f64);
    let centre = (p + z * z / (2.0 * nf)) / (1.0 + z * z / nf);
    let half = z / (1.0 + z * z / nf) * (p * (1.0 - p) / nf + z * z / (4.0 * nf * nf)).sqrt();
    [
        if k == 0 { 0.0 } else { centre - half },
        if k == n { 1.0 } else { centre + half },
    ]
}

fn assert_interval(got: &Value, k: u64, n: u64, what: &str) {
    let [lo, hi] = wilson(k, n);
    assert!(
        (f(&got[0]) - lo).abs() < 1e-12 && (f(&got[1]) - hi).abs() < 1e-12,
        "{what}: {got} vs [{lo}, {hi}] for {k} of {n}"
    );
}

fn f(v: &Value) -> f64 {
    v.as_f64().unwrap_or_else(|| panic!("not a number: {v}"))
}

const METRICS: [&str; 11] = [
    "plain",
    "offset_1e7",
    "offset_1e8",
    "offset_1e12",
    "level",
    "tiny",
    "near_zero",
    "huge",
    "constant",
    "count",
    "skewed",
];

#[test]
fn metric_statistics_match_a_recount_of_the_runs() {
    let dir = tempfile::tempdir().expect("temp dir");
    let study = run_study(dir.path(), 4000, &[]);
    for id in METRICS {
        let values = study.column(id);
        let m = study.metric(id);
        let (mean, sd) = reference_moments(&values);
        let scale = mean.abs().max(sd).max(f64::MIN_POSITIVE);
        assert!(
            (f(&m["mean"]) - mean).abs() <= 1e-15 * scale,
            "{id}: mean {} vs {mean}",
            m["mean"]
        );
        // The sd to a relative 1e-9, however large the mean is next to it.
        let got_sd = f(&m["sd"]);
        assert!(
            (got_sd - sd).abs() <= 1e-9 * sd.max(f64::MIN_POSITIVE),
            "{id}: sd {got_sd} vs {sd}"
        );
        let min = values.iter().copied().fold(f64::INFINITY, f64::min);
        let max = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        assert_eq!((f(&m["min"]), f(&m["max"])), (min, max), "{id}");
        let (p05, p95) = (
            order_statistic(&values, 0.05),
            order_statistic(&values, 0.95),
        );
        let error = f(&m["quantile_error"]);
        for (key, q) in [("p05", 0.05), ("p50", 0.5), ("p95", 0.95)] {
            let exact = order_statistic(&values, q);
            let got = f(&m[key]);
            assert!(
                (got - exact).abs() <= error,
                "{id} {key}: {got} vs {exact} (error bound {error})"
            );
        }
        // Quantiles within 0.5 % of the metric's own spread (exact for a constant).
        assert!(
            error <= 0.005 * (p95 - p05),
            "{id}: error {error}, spread {}",
            p95 - p05
        );
        // The histogram: every value in the bin whose edges hold it.
        let edges: Vec<f64> = m["histogram"]["edges"]
            .as_array()
            .unwrap()
            .iter()
            .map(f)
            .collect();
        let counts: Vec<u64> = m["histogram"]["counts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c.as_u64().unwrap())
            .collect();
        let mut recount = vec![0u64; counts.len()];
        for &v in &values {
            let bin = if counts.len() == 1 {
                0
            } else {
                edges
                    .windows(2)
                    .position(|e| v >= e[0] && v < e[1])
                    .unwrap_or_else(|| panic!("{id}: {v} outside the histogram"))
            };
            recount[bin] += 1;
        }
        assert_eq!(counts, recount, "{id}: histogram");
        if max > min {
            assert!(counts.len() >= 8, "{id}: {} bins", counts.len());
            let width = edges[edges.len() - 1] - edges[0];
            assert!(width <= 1.1 * (max - min) + 1.0 * (m["integer"] == true) as u8 as f64);
        }
    }
    // Exact answers where there is one.
    assert_eq!(f(&study.metric("constant")["mean"]), 0.3);
    assert_eq!(f(&study.metric("constant")["sd"]), 0.0);
    let count = study.metric("count");
    assert_eq!(count["integer"], true);
    for key in ["p05", "p50", "p95"] {
        assert_eq!(f(&count[key]).fract(), 0.0, "count {key}");
    }
    assert_eq!(f(&count["quantile_error"]), 0.0);
}

/// The count and categorical metrics of the fixture, with the values a categorical one declares.
const BY_VALUE: [(&str, &[f64]); 5] = [
    ("status", &[1.0, 0.5, 0.0]),
    ("partly_declared", &[0.0, 1.0]),
    ("one_value", &[0.5]),
    ("tally", &[]),
    ("beyond", &[]),
];

/// The values a by-value metric lists for `values`: a categorical one's declared values; for a
/// count, the whole numbers 0 to 49 seen, from the smallest to the largest (or 0 when none).
fn listed(declared: &[f64], values: &[f64]) -> Vec<f64> {
    if !declared.is_empty() {
        return declared.to_vec();
    }
    let whole: Vec<f64> = values
        .iter()
        .copied()
        .filter(|v| v.fract() == 0.0 && (0.0..50.0).contains(v))
        .collect();
    let lo = whole.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = whole.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if whole.is_empty() {
        vec![0.0]
    } else {
        (lo as u64..=hi as u64).map(|v| v as f64).collect()
    }
}

/// Recounts the shares of every count and categorical metric of `study` from its rows.
fn check_shares(study: &Study) {
    let n = study.rows.len() as u64;
    let runs = study.column("run");
    for (id, declared) in BY_VALUE {
        let values = study.column(id);
        let m = study.metric(id);
        let kind = if declared.is_empty() {
            "count"
        } else {
            "categorical"
        };
        assert_eq!(m["kind"], kind, "{id}");
        let want = listed(declared, &values);
        let got = m["values"].as_array().expect("values");
        assert_eq!(
            got.iter().map(|v| f(&v["value"])).collect::<Vec<_>>(),
            want,
            "{id}: values listed"
        );
        for (v, &value) in got.iter().zip(&want) {
            let k = values.iter().filter(|x| **x == value).count() as u64;
            let what = format!("{id} = {value}");
            assert_eq!(v["count"], k, "{what}");
            assert_eq!(f(&v["share"]), k as f64 / n as f64, "{what}");
            assert_interval(&v["ci95"], k, n, &what);
        }
        let others: Vec<usize> = (0..values.len())
            .filter(|&i| !want.contains(&values[i]))
            .collect();
        match others.first() {
            None => assert!(m.get("other").is_none(), "{id}: {}", m["other"]),
            Some(&first) => {
                let o = &m["other"];
                let k = others.len() as u64;
                assert_eq!(o["count"], k, "{id}: other");
                assert_eq!(f(&o["share"]), k as f64 / n as f64, "{id}: other");
                assert_interval(&o["ci95"], k, n, &format!("{id}: other"));
                assert_eq!(f(&o["first_run"]), runs[first], "{id}: first other run");
                assert_eq!(
                    f(&o["first_value"]),
                    values[first],
                    "{id}: first other value"
                );
            }
        }
    }
}

#[test]
fn count_and_categorical_shares_match_a_recount_of_the_runs() {
    let dir = tempfile::tempdir().expect("temp dir");
    let study = run_study(dir.path(), 4000, &[]);
    check_shares(&study);
    // Exact answers where there is one: labels in declared order, one value holding every run,
    // runs beyond the declared values and beyond the counts counted as other.
    let status = &study.metric("status")["values"];
    assert_eq!(status[0]["label"], "in force");
    assert_eq!(status[2]["label"], "left");
    let one = &study.metric("one_value")["values"];
    assert_eq!(
        (one[0]["count"].as_u64(), f(&one[0]["share"])),
        (Some(4000), 1.0)
    );
    assert_eq!(f(&one[0]["ci95"][1]), 1.0);
    assert!(study.metric("one_value").get("other").is_none());
    assert!(study.metric("partly_declared")["other"]["count"].as_u64() > Some(0));
    assert!(study.metric("beyond")["other"]["count"].as_u64() > Some(0));
    let tally: Vec<f64> = study.metric("tally")["values"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| f(&v["value"]))
        .collect();
    assert_eq!(tally, (0..=10).map(f64::from).collect::<Vec<_>>());
    // A continuous metric carries none of it.
    let plain = study.metric("plain");
    assert!(plain.get("kind").is_none() && plain.get("values").is_none());
}

#[test]
fn outcomes_events_and_drivers_match_a_recount_of_the_runs() {
    let dir = tempfile::tempdir().expect("temp dir");
    let study = run_study(dir.path(), 3000, &[]);
    let n = study.rows.len() as u64;
    assert_eq!(study.summary["runs"], n);
    let outcomes = study.text_column("outcome");
    for o in study.summary["outcomes"].as_array().unwrap() {
        let id = o["id"].as_str().unwrap();
        let k = outcomes.iter().filter(|x| *x == id).count() as u64;
        assert_eq!(o["count"], k, "{id}");
        assert_eq!(f(&o["probability"]), k as f64 / n as f64);
        assert_interval(&o["ci95"], k, n, id);
    }
    // The rare outcome is x > 0.998: about 0.2 % of runs, recounted above; analytically
    // 0.002, within its interval.
    let rare = &study.summary["outcomes"][0];
    assert!(f(&rare["ci95"][0]) <= 0.002 && 0.002 <= f(&rare["ci95"][1]));
    let fired = study.column("rare_shock_count");
    let event = &study.summary["events"][0];
    let total: f64 = fired.iter().sum();
    assert_eq!(f(&event["mean_count"]), total / n as f64);
    let any = fired.iter().filter(|c| **c > 0.0).count() as f64;
    assert_eq!(f(&event["share_fired"]), any / n as f64);
    // Drivers: runs binned by the decile of x (uniform on [0, 1], so by x itself).
    let xs = study.column("x");
    let x = study.summary["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == "x")
        .unwrap();
    let bins = x["drivers"].as_array().unwrap();
    assert_eq!(bins.len(), 10);
    let check_bin = |what: &str, bin: &Value, inside: &[usize]| {
        let runs = inside.len() as u64;
        assert_eq!(bin["runs"], runs, "{what}");
        let cells = bin["outcomes"].as_object().expect("outcomes keyed by id");
        assert_eq!(
            cells.keys().collect::<Vec<_>>(),
            ["rare", "common"],
            "{what}"
        );
        for (id, cell) in cells {
            let k = inside.iter().filter(|&&i| outcomes[i] == *id).count() as u64;
            assert_eq!(cell["count"], k, "{what} {id}");
            assert_interval(&cell["ci95"], k, runs, &format!("{what} {id}"));
        }
    };
    for (b, bin) in bins.iter().enumerate() {
        let inside: Vec<usize> = (0..xs.len())
            .filter(|&i| ((xs[i] * 10.0) as usize).min(9) == b)
            .collect();
        check_bin(&format!("x bin {b}"), bin, &inside);
    }
    // A bernoulli and a ten-valued discrete parameter: a bin per value, not deciles (whose
    // bins would mix the values where a decile straddles two).
    for (id, values) in [
        ("coin", vec![0.0, 1.0]),
        ("k", (0..10).map(f64::from).collect()),
    ] {
        let column = study.column(id);
        let p = study.summary["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["id"] == id)
            .unwrap();
        let bins = p["drivers"].as_array().unwrap();
        assert_eq!(bins.len(), values.len(), "{id}");
        for (bin, &v) in bins.iter().zip(&values) {
            assert_eq!((f(&bin["lo"]), f(&bin["hi"])), (v, v), "{id}");
            let inside: Vec<usize> = (0..column.len()).filter(|&i| column[i] == v).collect();
            check_bin(&format!("{id} = {v}"), bin, &inside);
        }
    }
    let mean = accurate_sum(xs.iter().copied()) / n as f64;
    assert!((f(&x["mean"]) - mean).abs() <= 1e-15);
}

#[test]
fn one_run_gives_its_own_values_and_no_sd() {
    let dir = tempfile::tempdir().expect("temp dir");
    let study = run_study(dir.path(), 1, &[]);
    for id in METRICS {
        let v = study.column(id)[0];
        let m = study.metric(id);
        assert!(m["sd"].is_null(), "{id}: sd of one run is {}", m["sd"]);
        for key in ["mean", "min", "max", "p05", "p50", "p95"] {
            assert_eq!(f(&m[key]), v, "{id} {key}");
        }
        assert_eq!(m["histogram"]["counts"], serde_json::json!([1]));
    }
    // Every value of a count or categorical metric seen once: a share of 1 or 0.
    check_shares(&study);
    let status = &study.metric("status")["values"];
    let held: Vec<u64> = (0..3)
        .map(|i| status[i]["count"].as_u64().unwrap())
        .collect();
    assert_eq!(held.iter().sum::<u64>(), 1);
}

#[test]
fn shards_merged_in_any_order_and_split_give_the_same_bytes() {
    let dir = tempfile::tempdir().expect("temp dir");
    let runs = "5000";
    let single = dir.path().join("single");
    sim()
        .args([
            "run",
            "-q",
            "--no-charts",
            "--no-runs-csv",
            "--threads",
            "1",
            "--runs",
            runs,
        ])
        .arg("--out")
        .arg(&single)
        .arg(fixture())
        .assert()
        .success();
    let expected = std::fs::read(single.join("oracle/summary.json")).unwrap();
    // The bytes compared hold the value counts, the other values and the keyed drivers bins.
    let parsed: Value = serde_json::from_slice(&expected).unwrap();
    let metric = |id: &str| {
        parsed["metrics"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["id"] == id)
            .unwrap()
            .clone()
    };
    assert!(metric("status")["values"]
        .as_array()
        .is_some_and(|v| v.len() == 3));
    assert!(metric("partly_declared")["other"]["first_run"].is_u64());
    assert!(parsed["parameters"][0]["drivers"][0]["outcomes"]["rare"]["ci95"].is_array());
    for (count, order) in [
        (2, vec![2, 1]),
        (3, vec![3, 1, 2]),
        (5, vec![5, 2, 4, 1, 3]),
    ] {
        let mut partials = Vec::new();
        for k in 1..=count {
            let out = dir.path().join(format!("shard{count}_{k}"));
            sim()
                .args(["run", "-q", "--runs", runs, "--threads", "2", "--shard"])
                .arg(format!("{k}/{count}"))
                .arg("--out")
                .arg(&out)
                .arg(fixture())
                .assert()
                .success();
            let file = std::fs::read_dir(out.join("oracle"))
                .unwrap()
                .map(|e| e.unwrap().path())
                .find(|p| p.to_string_lossy().contains("partial"))
                .expect("a partial file");
            partials.push(file);
        }
        let merged = dir.path().join(format!("merged{count}"));
        let mut cmd = sim();
        cmd.args(["merge", "--no-charts", "--out"]).arg(&merged);
        for k in &order {
            cmd.arg(&partials[k - 1]);
        }
        cmd.assert().success();
        let got = std::fs::read(merged.join("oracle/summary.json")).unwrap();
        assert!(
            got == expected,
            "{count} shards merged in order {order:?} differ"
        );
    }
}

#[test]
fn values_beyond_the_range_kept_stop_the_study_naming_the_item() {
    // Finite values whose squares or sums overflowed gave a mean of null and an sd of 0 with
    // exit 0; now the study stops with a message naming what went out of range.
    let dir = tempfile::tempdir().expect("temp dir");
    let base = std::fs::read_to_string(fixture()).expect("fixture");
    for (name, extra, named) in [
        (
            "metric",
            "\n[metrics.overflowing]\nexpr = \"1e307 * (1 + x)\"\n",
            "metric `overflowing`",
        ),
        (
            "parameter",
            "\n[parameters.giant]\nvalue = 1.7e308\n",
            "parameter `giant`",
        ),
    ] {
        let file = dir.path().join(format!("{name}.toml"));
        std::fs::write(&file, format!("{base}{extra}")).expect("write");
        let out = sim()
            .args([
                "run",
                "-q",
                "--no-charts",
                "--no-runs-csv",
                "--runs",
                "100",
                "--out",
            ])
            .arg(dir.path().join("out"))
            .arg(&file)
            .assert()
            .code(2)
            .get_output()
            .clone();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(named), "{name}: {stderr}");
        assert!(stderr.contains("1e300"), "{name}: {stderr}");
        assert!(!dir.path().join("out/metric/summary.json").exists());
    }
}
