//! What the commands share around a library call: the worker pool, the progress bar, the
//! result folder, and the sorting of a study's errors into the user's (exit 2) and the rest
//! (exit 1). Command modules take these from here, never from one another.

use std::path::Path;

use anyhow::Context;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressState, ProgressStyle};

use super::options::Threads;
use super::Failure;
use crate::montecarlo::StudyError;
use crate::report;

/// Runs `f` on a pool of the checked number of workers (all cores when none was given).
pub fn with_threads<T: Send>(threads: Threads, f: impl FnOnce() -> T + Send) -> Result<T, Failure> {
    let mut builder = rayon::ThreadPoolBuilder::new();
    if let Some(t) = threads.count() {
        builder = builder.num_threads(t);
    }
    let pool = builder.build().context("starting worker threads")?;
    Ok(pool.install(f))
}

/// A bar of `total` runs on stderr, hidden with `--quiet` or when stderr is not a terminal (a
/// log file should not fill with redraws).
pub fn progress_bar(total: u64, quiet: bool, what: &str) -> ProgressBar {
    let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
    if quiet || !std::io::IsTerminal::is_terminal(&std::io::stderr()) {
        bar.set_draw_target(ProgressDrawTarget::hidden());
    }
    let style = ProgressStyle::with_template(&format!(
        "{what} {{bar:40}} {{human_pos}}/{{human_len}} runs, {{rate}}, eta {{eta}}"
    ))
    .map(|style| {
        style.with_key(
            "rate",
            |state: &ProgressState, out: &mut dyn std::fmt::Write| {
                let _ = out.write_str(&runs_per_second(state.per_sec()));
            },
        )
    })
    .unwrap_or_else(|_| ProgressStyle::default_bar());
    bar.set_style(style);
    bar
}

/// A rate as people read it: whole runs per second, thousands grouped (indicatif's own
/// `{per_sec}` prints four decimals, `523456.1234/s`).
fn runs_per_second(rate: f64) -> String {
    if rate.is_finite() && rate >= 0.0 {
        format!(
            "{}/s",
            crate::report::format::group_thousands(rate.round() as u64)
        )
    } else {
        "-/s".to_string()
    }
}

/// A study's error as the user sees it: a run or a statistic the scenario made invalid is the
/// user's to fix (exit 2); an interruption or a failed write is not (exit 1).
pub fn study_error(e: StudyError) -> Failure {
    match e {
        StudyError::Run(e) => Failure::Invalid(run_error(&e)),
        StudyError::Cancelled => Failure::Other(anyhow::anyhow!(
            "interrupted; no result files were written or changed"
        )),
        StudyError::Sink(e) => Failure::Other(anyhow::Error::new(e).context("writing runs.csv")),
        StudyError::Statistic(e) => Failure::Invalid(format!(
            "error: a statistic cannot be given as a finite number\n  {e}\n  = hint: rescale the metric (for example to thousands or billions of its unit)"
        )),
    }
}

/// A stopped run as the user sees it, with the likeliest cause as the hint.
pub fn run_error(e: &crate::engine::RunError) -> String {
    let hint = match e.not_yet.as_deref() {
        Some((id, guard)) => format!(
            "`{id}.since` is not a number before `{id}` has happened; read it behind a guard, e.g. `if({guard}, {id}.since, -1)`"
        ),
        None => "check the expression for division by a value that can reach 0, ln/sqrt of a negative value, or overflow".to_string(),
    };
    format!("error: a run produced an invalid number and was stopped\n  {e}\n  = hint: {hint}")
}

/// Starts writing a result for the output folder `target` (see [`report::ResultDir`]): the
/// first thing a command creates, so it comes after every check.
pub fn begin_result(target: &Path) -> Result<report::ResultDir, Failure> {
    Ok(report::ResultDir::begin(target)
        .with_context(|| format!("preparing output folder {}", target.display()))?)
}

#[cfg(test)]
mod tests {
    use super::runs_per_second;

    #[test]
    fn a_rate_reads_as_whole_runs_per_second() {
        assert_eq!(runs_per_second(523_456.123_4), "523,456/s");
        assert_eq!(runs_per_second(0.4), "0/s");
        assert_eq!(runs_per_second(f64::INFINITY), "-/s");
        assert_eq!(runs_per_second(f64::NAN), "-/s");
    }
}
