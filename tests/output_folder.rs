//! A command's output folder holds one result, whole (issue 11): the files the last command
//! wrote and nothing older, listed in its manifest; a failed or killed command leaves the
//! earlier result exactly as it was; the tool's own leftovers are cleaned, a user's files kept.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use assert_cmd::Command;

fn sim() -> Command {
    let mut cmd = Command::cargo_bin("alliance-sim").expect("binary builds");
    cmd.env("NO_COLOR", "1");
    cmd
}

/// Every entry under `dir` (recursively, hidden ones too) with its bytes (empty for folders).
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).expect("folder") {
            let path = entry.expect("entry").path();
            let rel = path.strip_prefix(dir).expect("inside").to_path_buf();
            if path.is_dir() {
                out.insert(rel, Vec::new());
                stack.push(path);
            } else {
                out.insert(rel, std::fs::read(&path).expect("read"));
            }
        }
    }
    out
}

fn names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("folder")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

fn manifest_files(dir: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(dir.join("manifest.json")).expect("manifest");
    let v: serde_json::Value = serde_json::from_str(&text).expect("JSON");
    v["files"]
        .as_array()
        .expect("files")
        .iter()
        .map(|f| f["name"].as_str().expect("name").to_string())
        .collect()
}

#[test]
fn a_folder_holds_only_the_last_result_and_the_users_files() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().join("gsomia_2019");
    sim()
        .args(["run", "--runs", "2000", "-q", "--out"])
        .arg(dir.path())
        .assert()
        .success();
    assert!(out.join("report.html").exists() && out.join("runs.parquet").exists());
    // A user's files, a killed older run's leftover, and another command's sub-folder.
    std::fs::write(out.join("notes.txt"), "mine").expect("write");
    std::fs::write(out.join(".hidden-notes"), "mine too").expect("write");
    std::fs::write(out.join(".runs.parquet.k3Yq9Z.tmp"), "half a file").expect("write");
    sim()
        .args([
            "sweep",
            "--param",
            "us_cost_share_demand_busd=0.9:6:3",
            "--runs",
            "200",
        ])
        .args(["-q", "--out"])
        .arg(dir.path())
        .assert()
        .success();

    sim()
        .args([
            "run",
            "--runs",
            "1000",
            "-q",
            "--no-charts",
            "--no-runs-csv",
            "--out",
        ])
        .arg(dir.path())
        .assert()
        .success();
    assert_eq!(
        names(&out),
        [
            ".hidden-notes",
            "manifest.json",
            "notes.txt",
            "summary.json",
            "sweep"
        ]
    );
    assert_eq!(manifest_files(&out), ["summary.json"]);
    let manifest = std::fs::read_to_string(out.join("manifest.json")).expect("manifest");
    assert!(manifest.contains("\"command\": \"run\""), "{manifest}");
    assert!(manifest.contains("seed 20191122, 1000 runs"), "{manifest}");
    assert_eq!(std::fs::read(out.join("notes.txt")).expect("kept"), b"mine");
    // Nothing is left beside the folder either.
    assert_eq!(names(dir.path()), ["gsomia_2019"]);

    // A second sweep with another grid: the first one's chart goes.
    let sweep = out.join("sweep");
    assert!(sweep.join("sweep.png").exists());
    sim()
        .args(["sweep", "--param", "japan_export_controls=0:1:2"])
        .args([
            "--param",
            "us_lobbying_intensity=0:1:2",
            "--runs",
            "100",
            "-q",
            "--out",
        ])
        .arg(dir.path())
        .assert()
        .success();
    assert_eq!(
        names(&sweep),
        [
            "manifest.json",
            "sweep.csv",
            "sweep.json",
            "sweep_heatmap.png",
            "sweep_heatmap.svg"
        ]
    );

    // `report` redraws the charts into the result, which keeps its summary.
    let summary = std::fs::read(out.join("summary.json")).expect("summary");
    sim().arg("report").arg(&out).assert().success();
    assert_eq!(
        std::fs::read(out.join("summary.json")).expect("summary"),
        summary
    );
    let listed = manifest_files(&out);
    assert!(listed.contains(&"summary.json".to_string()), "{listed:?}");
    assert!(listed.contains(&"report.html".to_string()), "{listed:?}");
    assert!(out.join("notes.txt").exists() && out.join("sweep").is_dir());
}

/// Unmounts the tmpfs when the test ends, however it ends.
struct Mount(PathBuf);

impl Drop for Mount {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg(&self.0).status();
    }
}

#[test]
fn a_full_disk_leaves_the_earlier_result_exactly_as_it_was() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mounted = std::process::Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=8m", "tmpfs"])
        .arg(dir.path())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !mounted {
        println!("skipped: cannot mount a small tmpfs here (needs root)");
        return;
    }
    let _mount = Mount(dir.path().to_path_buf());
    sim()
        .args(["run", "--runs", "500", "-q", "--out"])
        .arg(dir.path())
        .assert()
        .success();
    let out = dir.path().join("gsomia_2019");
    std::fs::write(out.join("notes.txt"), "mine").expect("write");
    let before = snapshot(dir.path());
    // runs.csv alone would take about 16 MB.
    let failed = sim()
        .args(["run", "--runs", "20000", "-q", "--out"])
        .arg(dir.path())
        .output()
        .expect("runs");
    let after = snapshot(dir.path());
    let listed: Vec<&PathBuf> = after.keys().collect();
    assert!(before == after, "the folder changed: now {listed:?}");
    let stderr = String::from_utf8_lossy(&failed.stderr);
    assert_eq!(failed.status.code(), Some(1), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    // The cause is named (it used to be reported as an interruption).
    assert!(stderr.to_lowercase().contains("space"), "{stderr}");

    // With the disk all but full, the summary or the charts cannot be written: the same.
    let filler = dir.path().join("filler");
    let mut file = std::fs::File::create(&filler).expect("filler");
    let chunk = vec![7u8; 1 << 16];
    while std::io::Write::write_all(&mut file, &chunk).is_ok() {}
    let len = file.metadata().expect("metadata").len();
    file.set_len(len.saturating_sub(150_000)).expect("truncate");
    drop(file);
    let before = snapshot(dir.path());
    let failed = sim()
        .args([
            "run",
            "--runs",
            "500",
            "--seed",
            "9",
            "--no-runs-csv",
            "-q",
            "--out",
        ])
        .arg(dir.path())
        .output()
        .expect("runs");
    assert!(snapshot(dir.path()) == before, "the folder changed");
    let stderr = String::from_utf8_lossy(&failed.stderr);
    assert_eq!(failed.status.code(), Some(1), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn a_killed_run_leaves_the_earlier_result_and_its_leftovers_are_cleaned() {
    let dir = tempfile::tempdir().expect("temp dir");
    let bin = assert_cmd::cargo::cargo_bin("alliance-sim");
    sim()
        .args(["run", "--runs", "2000", "-q", "--out"])
        .arg(dir.path())
        .assert()
        .success();
    let out = dir.path().join("gsomia_2019");
    let before = snapshot(&out);
    let mut child = std::process::Command::new(&bin)
        .args(["run", "--runs", "200000000", "-q", "--out"])
        .arg(dir.path())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("starts");
    std::thread::sleep(Duration::from_millis(1500));
    child.kill().expect("kill -9");
    child.wait().expect("reaped");
    assert!(
        snapshot(&out) == before,
        "the killed run changed the result"
    );
    let leftovers: Vec<String> = names(dir.path())
        .into_iter()
        .filter(|n| n.starts_with(".gsomia_2019.new-"))
        .collect();
    assert_eq!(leftovers.len(), 1, "{:?}", names(dir.path()));

    sim()
        .args(["run", "--runs", "1000", "-q", "--no-charts", "--out"])
        .arg(dir.path())
        .assert()
        .success();
    assert_eq!(names(dir.path()), ["gsomia_2019"]);
    assert_eq!(
        names(&out),
        ["manifest.json", "runs.parquet", "summary.json"]
    );
}
