//! `backtest`: run every case in a folder of history scenarios and score the model against
//! what really happened.

use std::sync::atomic::Ordering;

use anyhow::Context;

use super::execute::{progress_bar, study_error, with_threads};
use super::options::BacktestOptions;
use super::{cancel_flag, Failure};
use crate::analysis::backtest::{self, BacktestError, BacktestReport};
use crate::montecarlo::StudyError;
use crate::report::atomic::write_atomic;
use crate::report::format::{percent_to, share_decimals};

pub fn run(options: BacktestOptions) -> Result<(), Failure> {
    let BacktestOptions {
        cases_from,
        cases,
        skipped,
        config,
        threads,
        quiet,
        folder,
        json,
    } = options;
    if !quiet {
        for file in &skipped {
            super::print_stderr(&format!(
                "note: skipped {}: no [backtest] table (a shared base?)",
                file.display()
            ));
        }
    }
    let cancel = cancel_flag();
    let bar = progress_bar(config.runs * cases.len() as u64, quiet, "backtest");
    let report = with_threads(threads, || {
        backtest::run_backtest(&cases, &config, &|n| bar.inc(n), &cancel)
    })?
    .map_err(backtest_error)?;
    bar.finish_and_clear();
    if cancel.load(Ordering::SeqCst) {
        return Err(study_error(StudyError::Cancelled));
    }
    std::fs::create_dir_all(&folder)
        .with_context(|| format!("creating output folder {}", folder.display()))?;
    let path = folder.join("backtest.json");
    let mut text = serde_json::to_string_pretty(&report).context("serializing the report")?;
    text.push('\n');
    write_atomic(&path, text.as_bytes()).with_context(|| format!("writing {}", path.display()))?;
    if json {
        out!("{text}");
    } else {
        tell!("{}", render_table(&report, &cases_from));
        tellln!("\nwrote:\n  {}", path.display());
    }
    Ok(())
}

fn backtest_error(e: BacktestError) -> Failure {
    match e {
        BacktestError::NotACase { file } => {
            Failure::Invalid(format!("error: `{file}` has no [backtest] table"))
        }
        BacktestError::Study { file, source } => match study_error(*source) {
            Failure::Invalid(text) => Failure::Invalid(format!("case `{file}`:\n{text}")),
            Failure::Other(e) => Failure::Other(e.context(format!("case `{file}`"))),
        },
    }
}

/// The report as a plain-text table.
pub fn render_table(report: &BacktestReport, cases_from: &str) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    let o = &report.overall;
    let _ = writeln!(
        out,
        "Backtest: {} cases from {}, {} runs each\n",
        o.cases,
        cases_from,
        group(report.runs_per_case)
    );
    let _ = writeln!(
        out,
        "{:<10}  {:<7}  {:<16}  {:<22}  {:>8}  {:<16}  {:<22}  {:>6}  {:>6}",
        "date",
        "decider",
        "decision",
        "observed",
        "p(obs)",
        "95% interval",
        "most likely",
        "Brier",
        "log"
    );
    // Shares as the summary table prints them: a probability that is not zero never reads as
    // 0.0%, and each keeps the digits that tell it from its interval's ends.
    let shares: Vec<(f64, [f64; 2])> = report
        .cases
        .iter()
        .map(|c| (c.probability, c.ci95))
        .collect();
    let decimals = share_decimals(&shares);
    for c in &report.cases {
        let mark = if c.observed_is_most_likely { "" } else { " *" };
        let _ = writeln!(
            out,
            "{:<10}  {:<7}  {:<16}  {:<22}  {:>8}  [{:>6}, {:>6}]  {:<22}  {:>6.3}  {:>6.3}",
            c.date,
            c.decider.as_deref().unwrap_or("-"),
            c.decision,
            c.observed,
            percent_to(c.probability, decimals),
            percent_to(c.ci95[0], decimals),
            percent_to(c.ci95[1], decimals),
            format!("{}{mark}", c.most_likely),
            c.brier,
            c.log_score
        );
    }
    let _ = writeln!(
        out,
        "\n{:<48}  Brier {:>6.3}  log {:>6.3}",
        "model (mean over cases)", o.mean_brier, o.mean_log_score
    );
    if let Some(b) = &o.baseline_status_quo {
        let _ = writeln!(
            out,
            "{:<48}  Brier {:>6.3}  log {:>6.3}",
            format!(
                "baseline: status quo continues (p = {})",
                1.0 - backtest::STATUS_QUO_EPSILON
            ),
            b.mean_brier,
            b.mean_log_score
        );
    }
    let _ = writeln!(
        out,
        "{:<48}  Brier {:>6.3}  log {:>6.3}",
        "baseline: uniform over the options",
        o.baseline_uniform.mean_brier,
        o.baseline_uniform.mean_log_score
    );
    let _ = writeln!(
        out,
        "\nobserved option most likely in {} of {} cases{}",
        o.observed_most_likely,
        o.cases,
        if o.observed_most_likely < o.cases {
            " (* marks a miss)"
        } else {
            ""
        }
    );
    let _ = writeln!(
        out,
        "Brier: multi-class, sum over options of (p - hit)^2, 0 best, 2 worst; log: -ln p(observed), p floored at 1/(2 runs)"
    );
    out
}

/// 20000 -> "20,000".
fn group(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(ch);
    }
    out
}
