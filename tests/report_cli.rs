//! Charts, report.html, `report DIR`, and sharded runs merged back, on the real binary.

use std::path::Path;

use assert_cmd::Command;
use predicates::prelude::*;

fn sim() -> Command {
    let mut cmd = Command::cargo_bin("alliance-sim").expect("binary builds");
    cmd.env("NO_COLOR", "1");
    cmd
}

const CHARTS: [&str; 5] = ["outcomes", "decisions", "metrics", "timeline", "drivers"];

/// Width and height from a PNG's IHDR chunk.
fn png_size(bytes: &[u8]) -> (u32, u32) {
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "PNG signature");
    assert_eq!(&bytes[12..16], b"IHDR");
    let w = u32::from_be_bytes(bytes[16..20].try_into().expect("4 bytes"));
    let h = u32::from_be_bytes(bytes[20..24].try_into().expect("4 bytes"));
    (w, h)
}

fn svg_size(text: &str) -> (u32, u32) {
    let attr = |name: &str| -> u32 {
        let start = text.find(&format!("{name}=\"")).expect("size attribute") + name.len() + 2;
        let end = start + text[start..].find('"').expect("closing quote");
        text[start..end]
            .trim_end_matches("px")
            .parse()
            .expect("a number")
    };
    (attr("width"), attr("height"))
}

#[test]
fn run_writes_every_chart_as_png_and_svg_and_the_report() {
    let dir = tempfile::tempdir().expect("temp dir");
    sim()
        .args(["run", "--runs", "3000", "-q", "--out"])
        .arg(dir.path())
        .assert()
        .success();
    let out = dir.path().join("gsomia_2019");
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).expect("summary"))
            .expect("json");
    for chart in CHARTS {
        let png = std::fs::read(out.join(format!("{chart}.png"))).expect("png written");
        let svg = std::fs::read_to_string(out.join(format!("{chart}.svg"))).expect("svg written");
        assert!(
            svg.trim_start().starts_with("<svg") || svg.trim_start().starts_with("<?xml"),
            "{chart}.svg"
        );
        assert!(
            svg.trim_end().ends_with("</svg>"),
            "{chart}.svg is complete"
        );
        let (w, h) = png_size(&png);
        assert_eq!(
            (w, h),
            svg_size(&svg),
            "{chart}: PNG and SVG have the same size"
        );
        assert!(w >= 1000 && h >= 600, "{chart}: {w}x{h}");
    }
    let outcomes_svg = std::fs::read_to_string(out.join("outcomes.svg")).expect("svg");
    for o in summary["outcomes"].as_array().expect("outcomes") {
        let label = o["label"].as_str().expect("label");
        // Long labels wrap over lines; every word of the label is on the chart.
        for word in label.split_whitespace() {
            let word = word.trim_matches(|c: char| !c.is_alphanumeric());
            assert!(
                outcomes_svg.contains(word),
                "outcomes.svg lacks `{word}` of `{label}`"
            );
        }
    }
    let html = std::fs::read_to_string(out.join("report.html")).expect("report");
    assert!(
        html.matches("<svg").count() >= CHARTS.len(),
        "every chart inline"
    );
    assert!(html.contains(summary["scenario"]["sha256"].as_str().expect("sha")));
    for external in ["src=\"http", "<link", "@import", "url(http"] {
        assert!(
            !html.contains(external),
            "report.html loads nothing from the network ({external})"
        );
    }
    // Links to sources are followed only when a reader clicks them, and send no referrer.
    let links = html.matches("href=\"http").count();
    assert!(links > 10, "the sources' addresses are links ({links})");
    assert_eq!(
        html.matches("<a href=\"http").count(),
        links,
        "every address is an anchor"
    );
    assert_eq!(
        html.matches("\" rel=\"noreferrer\">").count(),
        links,
        "every link sends no referrer"
    );
    assert!(html.contains(
        "<a href=\"https://m-en.yna.co.kr/view/AEN20191122001800325\" rel=\"noreferrer\">"
    ));
    for local in ["shared/", "Seed article", "seed article"] {
        assert!(!html.contains(local), "report.html cites `{local}`");
    }
    // Without --replications, neither their chart nor their section.
    assert!(!out.join("replications.png").exists());
    assert!(!out.join("replications.svg").exists());
    assert!(!html.contains("id=\"across-inputs\""));
}

#[test]
fn replications_add_their_chart_and_section_and_report_redraws_them() {
    let dir = tempfile::tempdir().expect("temp dir");
    sim()
        .args([
            "run",
            "--runs",
            "2000",
            "--replications",
            "10",
            "-q",
            "--no-runs-csv",
            "--out",
        ])
        .arg(dir.path())
        .assert()
        .success();
    let out = dir.path().join("gsomia_2019");
    let png = std::fs::read(out.join("replications.png")).expect("png written");
    let svg = std::fs::read_to_string(out.join("replications.svg")).expect("svg written");
    assert_eq!(png_size(&png), svg_size(&svg));
    assert!(svg.contains("10 runs ending in the outcome, over 200 sets"));
    let html = std::fs::read_to_string(out.join("report.html")).expect("report");
    assert!(html.contains("<li><a href=\"#across-inputs\">Across inputs</a></li>"));
    let start = html
        .find("<h2 id=\"across-inputs\">Across inputs</h2>")
        .expect("section");
    let section = &html[start..];
    assert!(section.starts_with(
        "<h2 id=\"across-inputs\">Across inputs</h2>\n<p>200 parameter sets of 10 runs"
    ));
    let figure = section
        .find("<figure id=\"chart-replications\">")
        .expect("chart inline");
    assert!(figure < section.find("<h2 id=\"decisions\">").expect("decisions"));
    assert!(html.contains("<dt>Replications (--replications)</dt>"));
    assert!(html.contains("<p class=\"finding-inputs\">Across 200 parameter sets"));

    std::fs::remove_file(out.join("replications.svg")).expect("remove");
    sim().arg("report").arg(&out).assert().success();
    assert_eq!(
        std::fs::read_to_string(out.join("replications.svg")).expect("redrawn"),
        svg
    );
}

#[test]
fn the_finding_states_the_summary_s_most_likely_outcome_and_its_driver() {
    let dir = tempfile::tempdir().expect("temp dir");
    sim()
        .args(["run", "--runs", "4000", "-q", "--no-runs-csv", "--out"])
        .arg(dir.path())
        .assert()
        .success();
    let out = dir.path().join("gsomia_2019");
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).expect("summary"))
            .expect("json");
    let html = std::fs::read_to_string(out.join("report.html")).expect("report");
    let start = html.find("<section id=\"finding\"").expect("finding");
    let end = start + html[start..].find("</section>").expect("end");
    let finding = &html[start..end];
    let outcomes = summary["outcomes"].as_array().expect("outcomes");
    let top = outcomes
        .iter()
        .max_by_key(|o| o["count"].as_u64().expect("count"))
        .expect("an outcome");
    let pct = |v: &serde_json::Value| format!("{:.1}%", v.as_f64().expect("a share") * 100.0);
    let label = top["label"].as_str().expect("label");
    assert!(
        finding.contains(&format!(
            "The most likely outcome is “{label}”: {} of 4,000 runs",
            pct(&top["probability"])
        )),
        "{finding}"
    );
    assert!(finding.contains(&format!(
        "(95% interval {} – {})",
        pct(&top["ci95"][0]),
        pct(&top["ci95"][1])
    )));
    assert!(finding.contains("What moves “"), "{finding}");
    assert!(finding.contains("Monte Carlo error only"));
    assert!(finding.contains("in-sample"));
}

#[test]
fn no_charts_writes_none_and_report_redraws_them() {
    let dir = tempfile::tempdir().expect("temp dir");
    sim()
        .args(["run", "--runs", "2000", "-q", "--no-charts", "--out"])
        .arg(dir.path())
        .assert()
        .success();
    let out = dir.path().join("gsomia_2019");
    for chart in CHARTS {
        assert!(!out.join(format!("{chart}.png")).exists());
    }
    assert!(!out.join("report.html").exists());
    sim().arg("report").arg(&out).assert().success();
    for chart in CHARTS {
        assert!(out.join(format!("{chart}.png")).exists(), "{chart} redrawn");
    }
    assert!(out.join("report.html").exists());
    sim()
        .arg("report")
        .arg(&out)
        .args(["--main-outcome", "nope"])
        .assert()
        .code(2);
    sim()
        .arg("report")
        .arg(dir.path().join("missing"))
        .assert()
        .code(2);
}

#[test]
fn report_redraws_the_same_svgs_as_run() {
    let dir = tempfile::tempdir().expect("temp dir");
    sim()
        .args(["run", "--runs", "2000", "-q", "--no-runs-csv", "--out"])
        .arg(dir.path())
        .assert()
        .success();
    let out = dir.path().join("gsomia_2019");
    let before = std::fs::read(out.join("outcomes.svg")).expect("svg");
    std::fs::remove_file(out.join("outcomes.svg")).expect("remove");
    sim()
        .arg("report")
        .arg(out.join("summary.json"))
        .assert()
        .success();
    assert_eq!(
        std::fs::read(out.join("outcomes.svg")).expect("svg"),
        before
    );
}

fn run_to_summary(dir: &Path, extra: &[&str]) -> Vec<u8> {
    sim()
        .args([
            "run",
            "--runs",
            "9000",
            "--seed",
            "3",
            "-q",
            "--no-charts",
            "--out",
        ])
        .arg(dir)
        .args(extra)
        .assert()
        .success();
    std::fs::read(dir.join("gsomia_2019/summary.json")).expect("summary")
}

#[test]
fn merged_shards_are_byte_identical_to_one_run_in_any_order() {
    let dir = tempfile::tempdir().expect("temp dir");
    let whole = run_to_summary(&dir.path().join("whole"), &["--runs-format", "csv"]);
    let shards = dir.path().join("shards");
    for k in ["2/3", "3/3", "1/3"] {
        sim()
            .args([
                "run",
                "--runs",
                "9000",
                "--seed",
                "3",
                "-q",
                "--no-charts",
                "--runs-format",
                "csv",
                "--shard",
                k,
                "--out",
            ])
            .arg(&shards)
            .assert()
            .success();
    }
    let part = |k: u32| shards.join(format!("gsomia_2019/partial-{k}-of-3.json"));
    for order in [[1, 2, 3], [3, 1, 2], [2, 3, 1]] {
        let merged = dir
            .path()
            .join(format!("merged-{}{}{}", order[0], order[1], order[2]));
        sim()
            .arg("merge")
            .args(order.map(part))
            .args(["--no-charts", "--out"])
            .arg(&merged)
            .assert()
            .success();
        assert!(
            std::fs::read(merged.join("gsomia_2019/summary.json")).expect("merged") == whole,
            "order {order:?}"
        );
    }
    // The shards' rows, concatenated without their headers, are the single run's runs.csv.
    let rows: String = (1..=3)
        .map(|k| {
            std::fs::read_to_string(shards.join(format!("gsomia_2019/runs-{k}-of-3.csv")))
                .expect("rows")
        })
        .enumerate()
        .map(|(i, text)| {
            if i == 0 {
                text
            } else {
                text.split_once('\n')
                    .map(|(_, rest)| rest.to_string())
                    .unwrap_or_default()
            }
        })
        .collect();
    let single =
        std::fs::read_to_string(dir.path().join("whole/gsomia_2019/runs.csv")).expect("runs.csv");
    assert!(
        rows == single,
        "shard rows concatenate to the single run's rows"
    );

    sim()
        .arg("merge")
        .args([part(1), part(2)])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("missing"));
    sim()
        .arg("merge")
        .args([part(1), part(1), part(2), part(3)])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("twice"));
}

#[test]
#[ignore = "needs GNU parallel; .ci/run installs it and runs this with --include-ignored"]
fn gnu_parallel_one_liner_from_the_readme_works() {
    let parallel = ["/usr/bin/parallel", "/usr/local/bin/parallel"]
        .into_iter()
        .find(|p| Path::new(p).exists());
    let parallel = parallel.expect("GNU parallel is needed (apt-get install parallel)");
    let dir = tempfile::tempdir().expect("temp dir");
    let whole = run_to_summary(&dir.path().join("whole"), &["--no-runs-csv"]);
    let bin = assert_cmd::cargo::cargo_bin("alliance-sim");
    let status = std::process::Command::new(parallel)
        .current_dir(dir.path())
        .arg("--will-cite")
        .arg(format!(
            "{} run --runs 9000 --seed 3 --no-runs-csv --no-charts -q --shard {{}}/4 --out shards",
            bin.display()
        ))
        .args([":::", "1", "2", "3", "4"])
        .status()
        .expect("parallel runs");
    assert!(status.success());
    sim()
        .current_dir(dir.path())
        .arg("merge")
        .args((1..=4).map(|k| format!("shards/gsomia_2019/partial-{k}-of-4.json")))
        .args(["--no-charts", "--out", "merged"])
        .assert()
        .success();
    assert!(
        std::fs::read(dir.path().join("merged/gsomia_2019/summary.json")).expect("merged") == whole
    );
}

#[test]
fn report_html_links_the_analyses_beside_the_study() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("out");
    let study = out.join("gsomia_2019");
    let run = |args: &[&str]| {
        sim()
            .args(args)
            .args(["--runs", "2000", "-q", "--out"])
            .arg(&out)
            .assert()
            .success();
    };
    run(&["run", "--runs-format", "none"]);
    let page = std::fs::read_to_string(study.join("report.html")).expect("report");
    assert!(!page.contains("id=\"analyses\""), "no analysis yet");
    run(&["signposts", "--outcome", "terminated"]);
    run(&["discover", "--outcome", "terminated"]);
    sim().arg("report").arg(&study).assert().success();
    let page = std::fs::read_to_string(study.join("report.html")).expect("report");
    for link in [
        "href=\"signposts/signposts.json\"",
        "src=\"signposts/signposts.png\"",
        "href=\"discover/discovery.json\"",
        "src=\"discover/discovery.png\"",
        "href=\"#analyses\"",
    ] {
        assert!(page.contains(link), "{link}");
    }
    // A new run keeps the analyses' folders and links them again.
    run(&["run", "--runs-format", "none"]);
    assert!(study.join("signposts/signposts.json").is_file());
    let page = std::fs::read_to_string(study.join("report.html")).expect("report");
    assert!(page.contains("href=\"signposts/signposts.json\""));
}
