//! `sweep`, `sensitivity` and `compare` on the real binary: their charts, `--no-charts`, and
//! `--json`.

use std::path::{Path, PathBuf};

use assert_cmd::Command;

fn sim() -> Command {
    let mut cmd = Command::cargo_bin("alliance-sim").expect("binary builds");
    cmd.env("NO_COLOR", "1");
    cmd
}

/// Width and height from a PNG's IHDR chunk.
fn png_size(bytes: &[u8]) -> (u32, u32) {
    assert!(bytes.len() > 33, "too short for a PNG");
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

/// Runs `args` with `--out dir`; returns stdout.
fn run(args: &[&str], dir: &Path) -> String {
    let out = sim()
        .args(args)
        .arg("--out")
        .arg(dir)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    String::from_utf8(out).expect("utf-8")
}

/// Checks `<folder>/<name>.png|svg`: a PNG and an SVG of the same size (at least 1000x440),
/// listed under "wrote:", the SVG containing every one of `texts`.
fn check_chart(stdout: &str, folder: &Path, name: &str, texts: &[&str]) {
    let png_path = folder.join(format!("{name}.png"));
    let svg_path = folder.join(format!("{name}.svg"));
    for p in [&png_path, &svg_path] {
        assert!(
            stdout.contains(&p.display().to_string()),
            "{} not listed under wrote:\n{stdout}",
            p.display()
        );
    }
    let png = std::fs::read(&png_path).expect("png written");
    let svg = std::fs::read_to_string(&svg_path).expect("svg written");
    assert!(svg.trim_end().ends_with("</svg>"), "{name}.svg is complete");
    let size = png_size(&png);
    assert_eq!(size, svg_size(&svg), "{name}: PNG and SVG of the same size");
    assert!(size.0 >= 1000 && size.1 >= 440, "{name}: {size:?}");
    for t in texts {
        assert!(svg.contains(t), "{name}.svg lacks {t:?}");
    }
}

fn listed(folder: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(folder)
        .expect("folder")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn one_parameter_sweep_writes_its_chart() {
    let dir = tempfile::tempdir().expect("temp dir");
    let stdout = run(
        &[
            "sweep",
            "--param",
            "us_cost_share_demand_busd=0.9:6:6",
            "--runs",
            "2000",
        ],
        dir.path(),
    );
    let folder = dir.path().join("gsomia_2019").join("sweep");
    assert!(stdout.contains("wrote:"));
    check_chart(
        &stdout,
        &folder,
        "sweep",
        &[
            "GSOMIA 2019",
            "US cost-sharing demand for 2020 (USD bn per year)",
            "probability (% of runs)",
            "2,000 runs per point",
            "GSOMIA renewed (no notice)",
        ],
    );
    assert_eq!(
        listed(&folder),
        [
            "manifest.json",
            "sweep.csv",
            "sweep.json",
            "sweep.png",
            "sweep.svg"
        ]
    );
}

#[test]
fn two_parameter_sweep_writes_a_heatmap() {
    let dir = tempfile::tempdir().expect("temp dir");
    let stdout = run(
        &[
            "sweep",
            "--param",
            "japan_export_controls=0:1:4",
            "--param",
            "us_lobbying_intensity=0:1:4",
            "--runs",
            "1000",
            "--main-outcome",
            "renewed",
        ],
        dir.path(),
    );
    let folder = dir.path().join("gsomia_2019").join("sweep");
    check_chart(
        &stdout,
        &folder,
        "sweep_heatmap",
        &[
            "Severity of Japan&apos;s export controls",
            "Intensity of US lobbying on Seoul",
            "probability of “GSOMIA renewed (no notice)”",
        ],
    );
    assert!(!folder.join("sweep.png").exists());
}

#[test]
fn sweep_rejects_an_unknown_main_outcome() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = sim()
        .args([
            "sweep",
            "--param",
            "us_cost_share_demand_busd=0.9:6:3",
            "--runs",
            "100",
            "--main-outcome",
            "nope",
            "-q",
            "--out",
        ])
        .arg(dir.path())
        .assert()
        .failure()
        .get_output()
        .stderr
        .clone();
    let err = String::from_utf8_lossy(&out);
    assert!(err.contains("nope") && err.contains("terminated"), "{err}");
}

#[test]
fn no_charts_writes_none() {
    let dir = tempfile::tempdir().expect("temp dir");
    let stdout = run(
        &[
            "sweep",
            "--param",
            "us_cost_share_demand_busd=0.9:6:3",
            "--runs",
            "200",
            "--no-charts",
        ],
        dir.path(),
    );
    assert!(!stdout.contains(".png"));
    let folder = dir.path().join("gsomia_2019").join("sweep");
    assert_eq!(
        listed(&folder),
        ["manifest.json", "sweep.csv", "sweep.json"]
    );

    run(
        &[
            "sensitivity",
            "--method",
            "tornado",
            "--runs",
            "200",
            "--no-charts",
            "-q",
        ],
        dir.path(),
    );
    run(
        &[
            "compare",
            "scenarios/gsomia_2019.toml",
            "scenarios/gsomia_2019_strong_lobbying.toml",
            "--runs",
            "200",
            "--no-charts",
            "-q",
        ],
        dir.path(),
    );
    assert_eq!(
        listed(&dir.path().join("gsomia_2019").join("sensitivity")),
        ["manifest.json", "tornado.json"]
    );
    assert_eq!(
        listed(&dir.path().join("compare")),
        ["comparison.json", "manifest.json"]
    );
}

#[test]
fn tornado_writes_its_chart() {
    let dir = tempfile::tempdir().expect("temp dir");
    let stdout = run(
        &["sensitivity", "--method", "tornado", "--runs", "1000"],
        dir.path(),
    );
    let folder = dir.path().join("gsomia_2019").join("sensitivity");
    check_chart(
        &stdout,
        &folder,
        "tornado",
        &[
            "Tornado",
            "GSOMIA 2019",
            "1,000 runs per point",
            "Intensity of US lobbying on Seoul",
            "baseline, all at medians",
            "(% of runs)",
        ],
    );
}

#[test]
fn sobol_writes_its_chart() {
    let dir = tempfile::tempdir().expect("temp dir");
    let stdout = run(
        &[
            "sensitivity",
            "scenarios/examples/ishigami.toml",
            "--method",
            "sobol",
            "--target",
            "y",
            "--runs",
            "2048",
        ],
        dir.path(),
    );
    let folder = dir.path().join("ishigami").join("sensitivity");
    check_chart(
        &stdout,
        &folder,
        "sobol",
        &[
            "Sobol sensitivity indices",
            "Ishigami function",
            "2,048 base rows",
            "10,240 model runs",
            "first order",
            "x1",
            "x2",
            "x3",
        ],
    );
}

#[test]
fn compare_writes_its_chart() {
    let dir = tempfile::tempdir().expect("temp dir");
    let stdout = run(
        &[
            "compare",
            "scenarios/gsomia_2019.toml",
            "scenarios/gsomia_2019_strong_lobbying.toml",
            "--runs",
            "2000",
        ],
        dir.path(),
    );
    let folder: PathBuf = dir.path().join("compare");
    check_chart(
        &stdout,
        &folder,
        "comparison",
        &[
            "Difference from the base scenario",
            "GSOMIA 2019",
            "GSOMIA 2019: strong early US lobbying",
            "2,000 runs per scenario",
            "GSOMIA renewed (no notice)",
            "percentage points",
        ],
    );
}

#[test]
fn json_goes_to_stdout_for_compare_and_sweep() {
    let dir = tempfile::tempdir().expect("temp dir");
    let stdout = run(
        &[
            "compare",
            "scenarios/gsomia_2019.toml",
            "scenarios/gsomia_2019_strong_lobbying.toml",
            "--runs",
            "300",
            "--json",
            "-q",
        ],
        dir.path(),
    );
    let v: serde_json::Value = serde_json::from_str(&stdout).expect("compare --json is JSON");
    assert_eq!(v["runs"], 300);
    assert!(v["outcomes"].as_array().is_some_and(|o| !o.is_empty()));
    assert!(v["version"].is_string());
    // Charts are still written, but only JSON is printed.
    assert!(dir.path().join("compare").join("comparison.png").exists());

    let stdout = run(
        &[
            "sweep",
            "--param",
            "us_cost_share_demand_busd=0.9:6:3",
            "--runs",
            "300",
            "--json",
            "-q",
        ],
        dir.path(),
    );
    let v: serde_json::Value = serde_json::from_str(&stdout).expect("sweep --json is JSON");
    assert_eq!(v["points"].as_array().map(Vec::len), Some(3));
    assert_eq!(v["runs_per_point"], 300);
}

/// Issue 11, defect 3: when no run differs, the paired interval must still have width (the
/// old normal approximation printed `[+0.0, +0.0]`, as if 1,000 runs proved equality).
#[test]
fn compare_prints_a_paired_interval_that_keeps_its_width_when_no_run_differs() {
    let dir = tempfile::tempdir().expect("temp dir");
    let args = [
        "compare",
        "scenarios/gsomia_2019.toml",
        "scenarios/gsomia_2019.toml",
        "--runs",
        "1000",
        "--no-charts",
    ];
    let table = run(&args, dir.path());
    assert!(!table.contains("[+0.0, +0.0]"), "{table}");
    let json = run(&[&args[..], &["--json"]].concat(), dir.path());
    let v: serde_json::Value = serde_json::from_str(&json).expect("JSON");
    let z2 = 1.959_963_984_540_054f64.powi(2);
    for o in v["outcomes"].as_array().expect("outcomes") {
        let d = o["differences"][0].as_f64().expect("difference");
        let lo = o["differences_ci95"][0][0].as_f64().expect("lo");
        let hi = o["differences_ci95"][0][1].as_f64().expect("hi");
        assert_eq!(d, 0.0, "{o}");
        assert!(lo < 0.0 && 0.0 < hi, "{o}");
        if o["probabilities"][0].as_f64() == Some(0.0) {
            // Newcombe's interval for 0 of 1,000 under both: the Wilson upper bound either side.
            let u = z2 / (1000.0 + z2);
            assert!((hi - u).abs() < 1e-12 && (lo + u).abs() < 1e-12, "{o}");
        }
    }
}
