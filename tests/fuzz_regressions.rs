//! Inputs the fuzz targets (`fuzz/`) found, run through the same entry points
//! (`fuzz/src/lib.rs`): each must be accepted or refused with a clean error, without a panic
//! and within a time limit.
//!
//! Every file under `tests/fuzz_regressions/<target>/` is one input of that target. Inputs that
//! still fail, waiting for a fix, are under `tests/fuzz_regressions/<target>/open/`, each with an
//! ignored test below saying why; once fixed, move the file up a folder and drop its test.
//!
//! The fuzzers' seeds (`fuzz/seeds/<target>/`) are checked too, and must be accepted: a seed
//! the program refuses (say, a partial of an older format, or of a default scenario that has
//! since changed) leaves the fuzzer stuck at the first check. Remake them as `fuzz/README.md`
//! says.

#[allow(dead_code)]
#[path = "../fuzz/src/lib.rs"]
mod targets;

use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Duration;

use targets::Verdict;

/// Each input must be decided within this.
const LIMIT: Duration = Duration::from_secs(10);

/// The files in `dir` (relative to the repository), sorted; none when it does not exist.
fn files_in(dir: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .map(|e| e.expect("a folder entry").path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files
}

/// Runs `entry` on `data` on its own thread: the verdict, or what went wrong (a panic, or no
/// answer within [`LIMIT`]).
fn decide(
    data: Vec<u8>,
    entry: impl FnOnce(&[u8]) -> Verdict + Send + 'static,
) -> Result<Verdict, String> {
    let (send, receive) = mpsc::channel();
    std::thread::spawn(move || {
        let verdict = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| entry(&data)));
        let _ = send.send(verdict);
    });
    match receive.recv_timeout(LIMIT) {
        Ok(Ok(verdict)) => Ok(verdict),
        Ok(Err(panic)) => Err(match panic.downcast_ref::<String>() {
            Some(s) => format!("panicked: {s}"),
            None => match panic.downcast_ref::<&str>() {
                Some(s) => format!("panicked: {s}"),
                None => "panicked".into(),
            },
        }),
        Err(_) => Err(format!("no verdict within {LIMIT:?}")),
    }
}

/// What the entry point of `target` makes of the file at `path`.
fn run(target: &str, path: &Path) -> Result<Verdict, String> {
    let data = std::fs::read(path).map_err(|e| e.to_string())?;
    match target {
        "loader" => decide(data, |data| {
            let root = tempfile::tempdir().expect("temp dir");
            targets::prepare_sandbox(root.path()).expect("write the sandbox");
            targets::loader(root.path(), data)
        }),
        "partial" => decide(data, targets::partial),
        "summary" => decide(data, |data| {
            let root = tempfile::tempdir().expect("temp dir");
            let charts = root.path().join("charts");
            targets::prepare_charts_stub(&charts).expect("write the stub charts");
            let out = root.path().join("out");
            std::fs::create_dir_all(&out).expect("make the output folder");
            targets::summary(&charts, &out, data, true)
        }),
        _ => unreachable!("no target `{target}`"),
    }
}

/// Runs every file of `dir` through `target`; `judge` says what is wrong with a verdict.
fn check_all(target: &str, dir: &str, judge: fn(Verdict) -> Result<(), String>) {
    let files = files_in(dir);
    let failures: Vec<String> = files
        .iter()
        .filter_map(|p| {
            run(target, p)
                .and_then(judge)
                .err()
                .map(|e| format!("{}: {e}", p.display()))
        })
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} files of {dir} failed:\n{}",
        failures.len(),
        files.len(),
        failures.join("\n")
    );
}

/// Accepted, or refused with a message.
fn clean(verdict: Verdict) -> Result<(), String> {
    match verdict {
        Verdict::Accepted | Verdict::Skipped => Ok(()),
        Verdict::Rejected(message) if !message.trim().is_empty() => Ok(()),
        Verdict::Rejected(_) => Err("refused without a message".into()),
    }
}

fn accepted(verdict: Verdict) -> Result<(), String> {
    match verdict {
        Verdict::Accepted => Ok(()),
        other => Err(format!("a seed must be accepted, got {other:?}")),
    }
}

#[test]
fn loader_inputs_found_by_fuzzing_are_refused_cleanly() {
    check_all("loader", "tests/fuzz_regressions/loader", clean);
}

#[test]
fn partial_inputs_found_by_fuzzing_are_refused_cleanly() {
    check_all("partial", "tests/fuzz_regressions/partial", clean);
}

#[test]
fn summary_inputs_found_by_fuzzing_are_refused_cleanly() {
    check_all("summary", "tests/fuzz_regressions/summary", clean);
}

#[test]
fn the_fuzzers_seeds_are_accepted() {
    // The loader's seeds include files that must be refused (an `extends` loop).
    check_all("loader", "fuzz/seeds/loader", clean);
    check_all("partial", "fuzz/seeds/partial", accepted);
    check_all("summary", "fuzz/seeds/summary", accepted);
}
