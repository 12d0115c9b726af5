//! `alliance-sim signposts` against answers known in advance: an event that decides the outcome
//! must come first and settle it, a coin no sign moves must resolve nothing, and every number
//! printed must recount exactly from the per-run rows of the same study.

use std::path::{Path, PathBuf};

use assert_cmd::Command;

fn sim() -> Command {
    let mut cmd = Command::cargo_bin("alliance-sim").expect("binary");
    cmd.env("NO_COLOR", "1");
    cmd
}

/// Four weekly steps, no dated decision (the horizon is the last step). `decider` fires with
/// probability 0.3 in the first step and decides `hit`; `noise` fires with probability 0.5 and
/// changes nothing that matters; `x` starts at the parameter `a`, and a coin with probability
/// `a` also makes a `hit` when `coin_from_a` is set.
fn scenario(dir: &Path, coin_from_a: bool) -> PathBuf {
    let hit = if coin_from_a {
        "world.coin == 1"
    } else {
        "world.decided == 1"
    };
    let text = format!(
        "[scenario]\nname = \"Signs\"\ndescription = \"Signs known in advance.\"\n\
         start = 2020-01-06\nstep = \"week\"\nsteps = 4\nruns = 1000\nseed = 9\n\n\
         [parameters.a]\ndist = \"uniform\"\nmin = 0\nmax = 1\n\n\
         [actors.world]\nlabel = \"World\"\n\n[actors.world.vars]\n\
         decided = \"0\"\nother = \"0\"\ncoin = \"0\"\nx = \"a\"\n\n\
         [events.decider]\nprobability = \"0.3\"\nfrom = 0\nuntil = 0\n\
         effects = [{{ var = \"world.decided\", set = \"1\" }}]\n\n\
         [events.noise]\nprobability = \"0.5\"\nfrom = 0\nuntil = 0\n\
         effects = [{{ var = \"world.other\", set = \"1\" }}]\n\n\
         [events.coin]\nprobability = \"a\"\nfrom = 2\nuntil = 2\n\
         effects = [{{ var = \"world.coin\", set = \"1\" }}]\n\n\
         [outcomes.hit]\nlabel = \"Hit\"\nwhen = \"{hit}\"\n\n\
         [outcomes.miss]\nlabel = \"Miss\"\n"
    );
    let file = dir.join("signs.toml");
    std::fs::write(&file, text).expect("write");
    file
}

fn signposts(file: &Path, out: &Path, extra: &[&str]) -> serde_json::Value {
    let output = sim()
        .arg("signposts")
        .arg(file)
        .args(["--outcome", "hit", "--json", "-q", "--out"])
        .arg(out)
        .args(extra)
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

#[test]
fn the_event_that_decides_the_outcome_comes_first_and_settles_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = scenario(dir.path(), false);
    let s = signposts(&file, &dir.path().join("out"), &["--runs", "20000"]);
    assert_eq!(s["outcome"], "hit");
    let list = s["signposts"].as_array().expect("signposts");
    let first = &list[0];
    // The event and the variable it sets split the runs the same way: one entry.
    let mut conditions: Vec<String> = vec![first["condition"].as_str().expect("c").to_string()];
    for c in first["equivalent"].as_array().expect("equivalent") {
        conditions.push(c.as_str().expect("c").to_string());
    }
    assert!(
        conditions
            .iter()
            .any(|c| c.starts_with("decider.count >= 1 @")),
        "{first}"
    );
    assert!(
        conditions
            .iter()
            .any(|c| c.starts_with("world.decided >= 1 @")),
        "{first}"
    );
    assert_eq!(f(&first["probability_if_true"]), 1.0, "{first}");
    assert_eq!(f(&first["probability_if_false"]), 0.0, "{first}");
    assert_eq!(f(&first["share_resolved"]), 1.0, "{first}");
    assert!((f(&first["share_true"]) - 0.3).abs() < 0.02, "{first}");
    // The earliest date says it as well as any later one: it is the one kept.
    assert_eq!(first["date"], "2020-01-06", "{first}");
    // The noise, which moves nothing, resolves next to nothing.
    let noise = list
        .iter()
        .find(|p| p["condition"].as_str().is_some_and(|c| c.contains("noise")))
        .expect("a noise sign");
    assert!(f(&noise["share_resolved"]) < 0.005, "{noise}");
}

#[test]
fn every_number_recounts_from_the_runs_of_the_same_study() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = scenario(dir.path(), true);
    let runs = "6000";
    let s = signposts(&file, &dir.path().join("sp"), &["--runs", runs]);
    // `x` is the parameter `a`, which runs.csv has: the sign on it can be recounted.
    let sign = s["signposts"]
        .as_array()
        .expect("signposts")
        .iter()
        .find(|p| {
            p["condition"]
                .as_str()
                .is_some_and(|c| c.starts_with("world.x "))
        })
        .expect("a sign on world.x")
        .clone();
    let condition = sign["condition"].as_str().expect("condition");
    let (test, _) = condition.split_once(" @ ").expect("@");
    let parts: Vec<&str> = test.split_whitespace().collect();
    let level: f64 = parts[2].parse().expect("level");
    let at_least = match parts[1] {
        ">=" => true,
        "<" => false,
        other => panic!("operator {other}"),
    };
    let out = dir.path().join("run");
    sim()
        .arg("run")
        .arg(&file)
        .args([
            "--runs",
            runs,
            "--runs-format",
            "csv",
            "--no-charts",
            "-q",
            "--out",
        ])
        .arg(&out)
        .assert()
        .success();
    let mut reader = csv::Reader::from_path(out.join("signs/runs.csv")).expect("runs.csv");
    let header = reader.headers().expect("header").clone();
    let a_at = header.iter().position(|h| h == "a").expect("a");
    let outcome_at = header.iter().position(|h| h == "outcome").expect("outcome");
    let (mut n, mut hits, mut seen, mut seen_hits) = (0u64, 0u64, 0u64, 0u64);
    for record in reader.records() {
        let record = record.expect("row");
        let run: u64 = record[0].parse().expect("run");
        if run % 2 == 0 {
            continue; // chosen on the even runs, measured on the odd
        }
        let a: f64 = record[a_at].parse().expect("a");
        let hit = &record[outcome_at] == "hit";
        let is_seen = if at_least { a >= level } else { a < level };
        n += 1;
        hits += u64::from(hit);
        seen += u64::from(is_seen);
        seen_hits += u64::from(is_seen && hit);
    }
    assert_eq!(sign["runs_if_true"], seen, "{sign}");
    assert_eq!(sign["runs_if_false"], n - seen, "{sign}");
    assert_eq!(
        f(&sign["probability_if_true"]),
        seen_hits as f64 / seen as f64
    );
    assert_eq!(
        f(&sign["probability_if_false"]),
        (hits - seen_hits) as f64 / (n - seen) as f64
    );
    assert_eq!(f(&s["share"]), hits as f64 / n as f64);
    let p = hits as f64 / n as f64;
    let w = seen as f64 / n as f64;
    let (pt, pf) = (
        seen_hits as f64 / seen as f64,
        (hits - seen_hits) as f64 / (n - seen) as f64,
    );
    let score = w * (pt - p).powi(2) + (1.0 - w) * (pf - p).powi(2);
    assert!((f(&sign["score"]) - score).abs() < 1e-15, "{sign}");
    // The higher x, the likelier the coin: seeing a high x raises the outcome.
    assert!(at_least, "{sign}");
}

#[test]
fn the_result_is_the_same_bytes_at_any_thread_count() {
    let dir = tempfile::tempdir().expect("tempdir");
    let bytes = |threads: &str| {
        let out = dir.path().join(format!("t{threads}"));
        sim()
            .args([
                "signposts",
                "--outcome",
                "terminated",
                "--runs",
                "6000",
                "-q",
                "--no-charts",
            ])
            .args(["--threads", threads, "--out"])
            .arg(&out)
            .assert()
            .success();
        std::fs::read(out.join("gsomia_2019/signposts/signposts.json")).expect("json")
    };
    assert_eq!(bytes("1"), bytes("2"));
}

#[test]
fn bad_flags_are_refused_before_anything_is_written() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("out");
    for (args, message) in [
        (vec!["--date", "2019-13-01"], "is not a date"),
        (vec!["--date", "2019-11-20"], "not before the horizon"),
        (
            vec!["--date", "2030-01-01"],
            "outside the scenario's time axis",
        ),
        (
            vec!["--date", "2001-01-01"],
            "outside the scenario's time axis",
        ),
        (vec!["--runs", "100"], "too few"),
        (vec!["--outcome", "terminatd"], "did you mean"),
        (vec!["--top", "0"], "--top must be at least 1"),
        (
            vec!["--watch", "seoul.angr > 1 @ 2019-10-01"],
            "--watch 1:1:1",
        ),
        (vec!["--watch", "seoul.anger > 1"], "is `EXPR @ DATE`"),
    ] {
        let output = sim()
            .arg("signposts")
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
fn a_watched_expression_is_ranked_with_the_rest() {
    let dir = tempfile::tempdir().expect("tempdir");
    let s = signposts(
        &scenario(dir.path(), false),
        &dir.path().join("out"),
        &[
            "--runs",
            "4000",
            "--date",
            "2020-01-13",
            "--watch",
            "world.decided + world.other >= 2 @ 2020-01-06",
        ],
    );
    let all: Vec<&str> = s["signposts"]
        .as_array()
        .expect("signposts")
        .iter()
        .flat_map(|p| {
            std::iter::once(&p["condition"]).chain(p["equivalent"].as_array().into_iter().flatten())
        })
        .filter_map(|c| c.as_str())
        .collect();
    assert!(
        all.iter()
            .any(|c| c.contains("world.decided + world.other >= 2") && c.ends_with("@ 2020-01-06")),
        "{all:?}"
    );
    assert_eq!(s["dates"], serde_json::json!(["2020-01-06", "2020-01-13"]));
}

#[test]
fn an_outcome_that_never_happens_gets_no_signpost_and_says_why() {
    let dir = tempfile::tempdir().expect("tempdir");
    let output = sim()
        .args([
            "signposts",
            "--outcome",
            "notice_pending",
            "--runs",
            "2000",
            "--out",
        ])
        .arg(dir.path())
        .output()
        .expect("runs");
    assert!(output.status.success());
    let table = String::from_utf8_lossy(&output.stdout);
    assert!(
        table.contains("No signpost: the outcome happened in 0 of the 1000 runs measured"),
        "{table}"
    );
    assert!(!table.contains("rises from"), "{table}");
    let json: serde_json::Value = serde_json::from_slice(
        &std::fs::read(dir.path().join("gsomia_2019/signposts/signposts.json")).expect("json"),
    )
    .expect("json");
    assert_eq!(json["signposts"], serde_json::json!([]));
    assert!(dir
        .path()
        .join("gsomia_2019/signposts/signposts.png")
        .is_file());
}
