//! Ctrl-C stops a run cleanly: no result file is written or left half-written, and earlier
//! results in the folder are kept as they were.

use std::time::{Duration, Instant};

#[test]
fn interrupted_run_leaves_previous_results_untouched_and_no_temporary_files() {
    let dir = tempfile::tempdir().expect("temp dir");
    let bin = assert_cmd::cargo::cargo_bin("alliance-sim");
    // A finished study whose files must survive the interrupted one.
    let ok = std::process::Command::new(&bin)
        .args(["run", "--runs", "2000", "-q", "--out"])
        .arg(dir.path())
        .status()
        .expect("runs");
    assert!(ok.success());
    let out = dir.path().join("gsomia_2019");
    let before: Vec<(String, Vec<u8>)> = std::fs::read_dir(&out)
        .expect("output folder")
        .map(|e| {
            let e = e.expect("entry");
            (
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read(e.path()).expect("read"),
            )
        })
        .collect();

    let mut child = std::process::Command::new(&bin)
        .args(["run", "--runs", "200000000", "-q", "--out"])
        .arg(dir.path())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("starts");
    // Let it get going (it has to be writing the per-run file's temporary file by now).
    std::thread::sleep(Duration::from_millis(1500));
    let kill = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(kill.success());
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "the run did not stop after Ctrl-C"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().expect("stderr"), &mut stderr)
        .expect("read");
    assert_eq!(status.code(), Some(1), "stderr: {stderr}");
    assert!(stderr.contains("interrupted"), "{stderr}");

    let after: Vec<(String, Vec<u8>)> = std::fs::read_dir(&out)
        .expect("output folder")
        .map(|e| {
            let e = e.expect("entry");
            (
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read(e.path()).expect("read"),
            )
        })
        .collect();
    let mut b = before.clone();
    let mut a = after.clone();
    b.sort();
    a.sort();
    let names: Vec<&str> = a.iter().map(|(n, _)| n.as_str()).collect();
    assert!(a == b, "the folder changed: now {names:?}");
}
