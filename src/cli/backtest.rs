//! `backtest`: run every case in a folder of history scenarios and score the model against
//! what really happened.

use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;

use anyhow::Context;
use clap::Args;

use super::run::{check_threads, load_model, progress_bar, study_error, with_threads};
use super::{cancel_flag, Failure};
use crate::analysis::backtest::{self, BacktestConfig, BacktestError, BacktestReport};
use crate::model::Model;
use crate::montecarlo::StudyError;
use crate::report::atomic::write_atomic;
use crate::scenario;

#[derive(Debug, Clone, Args)]
#[command(
    after_help = "Every *.toml file in DIR with a [backtest] table is a case; files without \
    one (a shared base) are skipped. Scores are findings, not pass/fail: the command exits 0 \
    when it ran, 2 when a case file is invalid.\n\n\
    Examples:\n  alliance-sim backtest\n  \
    alliance-sim backtest scenarios/history --runs 100000 --seed 7\n  \
    alliance-sim backtest --json -q > backtest.json"
)]
pub struct BacktestArgs {
    /// Folder of backtest cases
    #[arg(value_name = "DIR", default_value = "scenarios/history")]
    pub dir: PathBuf,
    /// Runs per case
    #[arg(long, short = 'n', value_name = "N", default_value_t = 20_000)]
    pub runs: u64,
    /// One random seed for every case [default: each case's own `seed`]
    #[arg(long, short = 's', value_name = "S")]
    pub seed: Option<u64>,
    /// Worker threads [default: all cores]; results do not depend on it
    #[arg(long, short = 'j', value_name = "T")]
    pub threads: Option<usize>,
    /// Folder for results; the report goes to DIR/backtest/backtest.json
    #[arg(long, short = 'o', value_name = "DIR", default_value = "output")]
    pub out: PathBuf,
    /// Print the report as JSON on stdout instead of the table
    #[arg(long)]
    pub json: bool,
    /// No progress bar, no notes on stderr
    #[arg(long, short = 'q')]
    pub quiet: bool,
}

pub fn run(args: BacktestArgs) -> Result<(), Failure> {
    check_threads(args.threads)?;
    if args.runs == 0 || args.runs > scenario::LIMITS.runs {
        return Err(Failure::Invalid(format!(
            "error: --runs must be between 1 and {}, got {}",
            scenario::LIMITS.runs,
            args.runs
        )));
    }
    let cases = load_cases(&args.dir, args.quiet)?;
    let config = BacktestConfig {
        runs: args.runs,
        seed: args.seed,
    };
    let cancel = cancel_flag();
    let bar = progress_bar(args.runs * cases.len() as u64, args.quiet, "backtest");
    let report = with_threads(args.threads, || {
        backtest::run_backtest(&cases, &config, &|n| bar.inc(n), &cancel)
    })?
    .map_err(backtest_error)?;
    bar.finish_and_clear();
    if cancel.load(Ordering::SeqCst) {
        return Err(study_error(StudyError::Cancelled));
    }
    let dir = args.out.join("backtest");
    std::fs::create_dir_all(&dir)
        .with_context(|| format!("creating output folder {}", dir.display()))?;
    let path = dir.join("backtest.json");
    let mut text = serde_json::to_string_pretty(&report).context("serializing the report")?;
    text.push('\n');
    write_atomic(&path, text.as_bytes()).with_context(|| format!("writing {}", path.display()))?;
    if args.json {
        out!("{text}");
    } else {
        out!("{}", render_table(&report, &args.dir));
        outln!("\nwrote:\n  {}", path.display());
    }
    Ok(())
}

/// Loads every `*.toml` in `dir` (sorted by name) that has a `[backtest]` table. All invalid
/// files are reported together.
fn load_cases(dir: &Path, quiet: bool) -> Result<Vec<Model>, Failure> {
    let entries = std::fs::read_dir(dir).map_err(|e| {
        Failure::Invalid(format!(
            "error: cannot read the backtest folder `{}`: {e}\n  = hint: give a folder of case files, e.g. `alliance-sim backtest scenarios/history`",
            dir.display()
        ))
    })?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file() && p.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.sort();
    let mut cases = Vec::new();
    let mut failures = Vec::new();
    for file in &files {
        match load_model(Some(file)) {
            Ok(model) if model.backtest.is_some() => cases.push(model),
            Ok(_) => {
                if !quiet {
                    super::print_stderr(&format!(
                        "note: skipped {}: no [backtest] table (a shared base?)",
                        file.display()
                    ));
                }
            }
            Err(Failure::Invalid(text)) => failures.push(text),
            Err(other) => return Err(other),
        }
    }
    if !failures.is_empty() {
        return Err(Failure::Invalid(failures.join("\n\n")));
    }
    if cases.is_empty() {
        return Err(Failure::Invalid(format!(
            "error: no backtest cases in `{}`\n  = hint: a case is a scenario file with a [backtest] table naming `decision`, `observed` and `date`",
            dir.display()
        )));
    }
    Ok(cases)
}

fn backtest_error(e: BacktestError) -> Failure {
    match e {
        BacktestError::NotACase { file } => {
            Failure::Invalid(format!("error: `{file}` has no [backtest] table"))
        }
        BacktestError::Study { file, source } => match study_error(source) {
            Failure::Invalid(text) => Failure::Invalid(format!("case `{file}`:\n{text}")),
            Failure::Other(e) => Failure::Other(e.context(format!("case `{file}`"))),
        },
    }
}

/// The report as a plain-text table.
pub fn render_table(report: &BacktestReport, dir: &Path) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    let o = &report.overall;
    let _ = writeln!(
        out,
        "Backtest: {} cases from {}, {} runs each\n",
        o.cases,
        dir.display(),
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
    for c in &report.cases {
        let mark = if c.observed_is_most_likely { "" } else { " *" };
        let _ = writeln!(
            out,
            "{:<10}  {:<7}  {:<16}  {:<22}  {:>7.1}%  [{:>5.1}%, {:>5.1}%]  {:<22}  {:>6.3}  {:>6.3}",
            c.date,
            c.decider.as_deref().unwrap_or("-"),
            c.decision,
            c.observed,
            100.0 * c.probability,
            100.0 * c.ci95[0],
            100.0 * c.ci95[1],
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
