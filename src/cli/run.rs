//! `run` and `validate`.

use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;

use anyhow::Context;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::args::{CommonRunArgs, RunArgs, ValidateArgs};
use super::{cancel_flag, use_color, Failure};
use crate::diagnostic::suggest;
use crate::model::{self, Model};
use crate::montecarlo::{self, StudyConfig, StudyError};
use crate::report;
use crate::scenario;

/// Loads and compiles a scenario file, or the built-in default when `path` is `None`.
pub fn load_model(path: Option<&Path>) -> Result<Model, Failure> {
    let scenario = match path {
        Some(p) => scenario::load(p),
        None => scenario::load_default(),
    }
    .map_err(|d| Failure::Invalid(d.render(use_color())))?;
    model::compile(scenario).map_err(|d| Failure::Invalid(d.render(use_color())))
}

/// Turns `--set ID=VALUE` arguments into parameter indexes and values. A value outside the
/// parameter's declared range is allowed (a what-if beyond the model) but warned about on
/// stderr, so a typo such as `nk_threat=5` for 0.5 does not pass unseen.
pub fn parse_sets(model: &Model, sets: &[String]) -> Result<Vec<(usize, f64)>, Failure> {
    let mut out = Vec::new();
    for set in sets {
        let Some((id, value)) = set.split_once('=') else {
            return Err(Failure::Invalid(format!(
                "error: --set expects ID=VALUE, got `{set}`"
            )));
        };
        let id = id.trim();
        let Some(index) = model.parameter_index(id) else {
            let hint = suggest(id, model.parameters.iter().map(|p| p.id.as_str()))
                .map(|h| format!("\n  = hint: {h}"))
                .unwrap_or_else(|| {
                    let ids: Vec<&str> = model.parameters.iter().map(|p| p.id.as_str()).collect();
                    format!("\n  = hint: parameters are: {}", ids.join(", "))
                });
            return Err(Failure::Invalid(format!(
                "error: --set: unknown parameter `{id}`{hint}"
            )));
        };
        let value: f64 = value
            .trim()
            .parse()
            .ok()
            .filter(|v: &f64| v.is_finite())
            .ok_or_else(|| {
                Failure::Invalid(format!(
                    "error: --set {id}: `{value}` is not a finite number"
                ))
            })?;
        let distribution = &model.parameters[index].distribution;
        if let Some(support) = montecarlo::summary::Support::outside(value, distribution) {
            super::print_stderr(&format!(
                "warning: --set {id}={value} is outside what `{id}` can take in the scenario, \
                 {support} ({}); the study runs with it as given and summary.json records it",
                distribution.describe()
            ));
        }
        out.retain(|(i, _)| *i != index);
        out.push((index, value));
    }
    Ok(out)
}

pub fn study_config(model: &Model, common: &CommonRunArgs) -> Result<StudyConfig, Failure> {
    check_threads(common.threads)?;
    let runs = common.runs.unwrap_or(model.default_runs);
    if runs == 0 || runs > scenario::LIMITS.runs {
        return Err(Failure::Invalid(format!(
            "error: --runs must be between 1 and {}, got {runs}",
            scenario::LIMITS.runs
        )));
    }
    Ok(StudyConfig {
        runs,
        seed: common.seed.unwrap_or(model.default_seed),
        fixed: parse_sets(model, &common.set)?,
        timeline: true,
        sampling: common.sampling.into(),
    })
}

/// The most worker threads `--threads` may ask for. Results do not depend on the count, so
/// more threads than cores only cost: each has its own stack and buffers, and at 1,000 threads
/// starting and joining them took longer than the study. 256 is well above any machine's cores
/// a study would run on.
pub const MAX_THREADS: usize = 256;

/// Refuses a `--threads` of 0 or above [`MAX_THREADS`]. Commands call it (through
/// [`study_config`]) before they create any file, and [`with_threads`] again for safety.
pub fn check_threads(threads: Option<usize>) -> Result<(), Failure> {
    match threads {
        Some(t) if t == 0 || t > MAX_THREADS => Err(Failure::Invalid(format!(
            "error: --threads must be between 1 and {MAX_THREADS}, got {t}\n  \
             = hint: results do not depend on it; leave it out to use every core"
        ))),
        _ => Ok(()),
    }
}

/// Runs `f` on a pool of `threads` workers (all cores when `None`).
pub fn with_threads<T: Send>(
    threads: Option<usize>,
    f: impl FnOnce() -> T + Send,
) -> Result<T, Failure> {
    check_threads(threads)?;
    let mut builder = rayon::ThreadPoolBuilder::new();
    if let Some(t) = threads {
        builder = builder.num_threads(t);
    }
    let pool = builder.build().context("starting worker threads")?;
    Ok(pool.install(f))
}

pub fn progress_bar(total: u64, quiet: bool, what: &str) -> ProgressBar {
    let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
    if quiet || !std::io::IsTerminal::is_terminal(&std::io::stderr()) {
        bar.set_draw_target(ProgressDrawTarget::hidden());
    }
    let style = ProgressStyle::with_template(&format!(
        "{what} {{bar:40}} {{human_pos}}/{{human_len}} runs, {{per_sec}}, eta {{eta}}"
    ))
    .unwrap_or_else(|_| ProgressStyle::default_bar());
    bar.set_style(style);
    bar
}

pub fn study_error(e: StudyError) -> Failure {
    match e {
        StudyError::Run(e) => Failure::Invalid(format!(
            "error: a run produced an invalid number and was stopped\n  {e}\n  = hint: check the expression for division by a value that can reach 0, ln/sqrt of a negative value, or overflow"
        )),
        StudyError::Cancelled => Failure::Other(anyhow::anyhow!(
            "interrupted; no result files were written or changed"
        )),
        StudyError::Sink(e) => Failure::Other(anyhow::Error::new(e).context("writing runs.csv")),
        StudyError::Statistic(e) => Failure::Invalid(format!(
            "error: a statistic cannot be given as a finite number\n  {e}\n  = hint: rescale the metric (for example to thousands or billions of its unit)"
        )),
    }
}

pub fn output_dir(base: &Path, model: &Model) -> Result<PathBuf, Failure> {
    let dir = base.join(&model.stem);
    std::fs::create_dir_all(&dir)
        .with_context(|| format!("creating output folder {}", dir.display()))?;
    Ok(dir)
}

/// Starts writing a result for the output folder `target` (see [`report::ResultDir`]).
pub fn begin_result(target: &Path) -> Result<report::ResultDir, Failure> {
    Ok(report::ResultDir::begin(target)
        .with_context(|| format!("preparing output folder {}", target.display()))?)
}

/// What a study's files were computed from, for the manifest.
fn study_source(summary: &montecarlo::Summary) -> String {
    format!(
        "scenario {} (sha256 {}), seed {}, {} runs, {} sampling",
        summary.scenario.file,
        summary.scenario.sha256,
        summary.seed,
        summary.runs,
        summary.sampling
    )
}

/// Names a study folder's files can have: how the tool recognises its own files in a folder
/// written before folders had a manifest.
fn study_file_names() -> Vec<String> {
    let mut names: Vec<String> = ["summary.json", "runs.csv", "report.html"]
        .map(String::from)
        .to_vec();
    for chart in report::chart_names() {
        names.push(format!("{chart}.png"));
        names.push(format!("{chart}.svg"));
    }
    names
}

/// Swaps a study's result into its output folder.
fn commit_result(
    result: report::ResultDir,
    command: &str,
    summary: &montecarlo::Summary,
    keep: &[&str],
) -> Result<(), Failure> {
    let target = result.target().to_path_buf();
    result
        .commit(command, &study_source(summary), &study_file_names(), keep)
        .with_context(|| format!("moving the result into {}", target.display()))?;
    Ok(())
}

/// Runs between precision checks: large enough that checking is cheap, small enough not to
/// overshoot much.
const PRECISION_BATCH: u64 = 8 * montecarlo::BLOCK;

pub fn run(args: RunArgs) -> Result<(), Failure> {
    let model = load_model(args.scenario.as_deref())?;
    let config = StudyConfig {
        timeline: !args.no_timeline,
        ..study_config(&model, &args.common)?
    };
    if let Some(id) = &args.main_outcome {
        if model.outcome_index(id).is_none() {
            let ids: Vec<&str> = model.outcomes.iter().map(|o| o.id.as_str()).collect();
            return Err(Failure::Invalid(format!(
                "error: --main-outcome: unknown outcome `{id}` (outcomes: {})",
                ids.join(", ")
            )));
        }
    }
    if let Some(h) = args.precision {
        if !(h > 0.0 && h < 0.5) {
            return Err(Failure::Invalid(format!(
                "error: --precision must be between 0 and 0.5, got {h}"
            )));
        }
        if config.sampling != montecarlo::Sampling::MonteCarlo {
            return Err(Failure::Invalid(
                "error: --precision grows the run count batch by batch, which a Latin hypercube (fixed size) cannot; use --sampling mc".into(),
            ));
        }
    }
    let cancel = cancel_flag();
    let bar = progress_bar(config.runs, args.common.quiet, "running");
    if let Some(shard) = &args.shard {
        let dir = output_dir(&args.out, &model)?;
        return run_shard(&model, &config, shard, &dir, &args, &bar, &cancel);
    }
    // Everything goes into a staging folder, swapped in when complete (see `ResultDir`).
    let result = begin_result(&args.out.join(&model.stem))?;
    let dir = result.path().to_path_buf();
    let mut csv = if args.no_runs_csv {
        None
    } else {
        Some(
            report::runs_csv::RunsCsv::create(&dir.join("runs.csv"), &model).with_context(
                || format!("creating runs.csv beside {}", result.target().display()),
            )?,
        )
    };
    let summary = with_threads(args.common.threads, || {
        let sink = csv.as_mut().map(|c| c as &mut dyn montecarlo::RunSink);
        match args.precision {
            Some(h) => montecarlo::run_until_precise(
                &model,
                &config,
                h,
                PRECISION_BATCH,
                sink,
                &|n| bar.inc(n),
                &cancel,
            ),
            None => montecarlo::run_study(&model, &config, sink, &|n| bar.inc(n), &cancel),
        }
    })?
    .map_err(study_error)?;
    bar.finish_and_clear();
    if cancel.load(Ordering::SeqCst) {
        return Err(study_error(StudyError::Cancelled));
    }
    let mut written = Vec::new();
    if let Some(csv) = csv {
        csv.finish().context("writing runs.csv")?;
        written.push(dir.join("runs.csv"));
    }
    let summary_path = dir.join("summary.json");
    report::write_summary_json(&summary, &summary_path).context("writing summary.json")?;
    written.push(summary_path);
    if !args.no_charts {
        let options = report::ChartOptions {
            main_outcome: args.main_outcome.clone(),
            ..Default::default()
        };
        let files =
            report::write_charts_and_report(&summary, &dir, &options).context("drawing charts")?;
        // One line per chart (PNG; the SVG sits beside it) and the report.
        written.extend(
            files
                .into_iter()
                .filter(|f| f.extension().is_some_and(|e| e != "svg")),
        );
    }
    let written: Vec<PathBuf> = written.iter().map(|f| result.final_path(f)).collect();
    commit_result(result, "run", &summary, &[])?;
    if let Some(p) = summary.precision.as_ref().filter(|p| !p.met) {
        // Also on stderr, so that `--json` and scripts see it too.
        super::print_stderr(&format!("warning: {}", precision_line(p, summary.runs)));
    }
    if args.json {
        let text = serde_json::to_string_pretty(&summary).context("serializing the summary")?;
        outln!("{text}");
    } else {
        out!("{}", report::table::render(&summary));
        if let Some(p) = &summary.precision {
            outln!("\n{}", precision_line(p, summary.runs));
        }
        outln!("\nwrote:");
        for path in &written {
            outln!("  {}", path.display());
        }
    }
    Ok(())
}

/// What `--precision` reached, in one sentence; plain about a target the ceiling stopped short of.
fn precision_line(p: &montecarlo::summary::PrecisionReport, runs: u64) -> String {
    let pts = |x: f64| format!("{:.3}", 100.0 * x);
    let widest = p.below.max(p.above);
    if p.met {
        format!(
            "precision reached after {runs} runs (ceiling {}): every outcome's 95% interval is within {} points of its probability on both sides (widest side {} points, `{}`)",
            p.ceiling,
            pts(p.target),
            pts(widest),
            p.worst_outcome
        )
    } else {
        format!(
            "precision NOT reached: the ceiling of {} runs came first; the widest side of an interval is {} points (`{}`), above the target of {}; raise --runs",
            p.ceiling,
            pts(widest),
            p.worst_outcome,
            pts(p.target)
        )
    }
}

/// `run --shard K/N`: run one share of the blocks and write a mergeable partial result.
#[allow(clippy::too_many_arguments)]
fn run_shard(
    model: &Model,
    config: &StudyConfig,
    shard: &str,
    dir: &Path,
    args: &RunArgs,
    bar: &ProgressBar,
    cancel: &std::sync::atomic::AtomicBool,
) -> Result<(), Failure> {
    use montecarlo::shard::{run_shard, Shard};
    let shard = Shard::parse(shard).map_err(|e| Failure::Invalid(format!("error: --shard {e}")))?;
    if args.precision.is_some() {
        return Err(Failure::Invalid(
            "error: --precision and --shard cannot be combined".into(),
        ));
    }
    let (k, n) = (shard.index + 1, shard.count);
    // Shards of one study run side by side into one folder: each writes only its own two
    // files (each to a temporary name, renamed when complete), never another's.
    let runs_path = dir.join(format!("runs-{k}-of-{n}.csv"));
    let mut csv = if args.no_runs_csv {
        None
    } else {
        Some(
            report::runs_csv::RunsCsv::create(&runs_path, model)
                .with_context(|| format!("creating {}", runs_path.display()))?,
        )
    };
    let partial = with_threads(args.common.threads, || {
        let sink = csv.as_mut().map(|c| c as &mut dyn montecarlo::RunSink);
        run_shard(model, config, shard, sink, &|n| bar.inc(n), cancel)
    })?
    .map_err(study_error)?;
    bar.finish_and_clear();
    let mut written = Vec::new();
    if let Some(csv) = csv {
        csv.finish().context("writing the shard's runs")?;
        written.push(runs_path);
    }
    let path = dir.join(format!("partial-{k}-of-{n}.json"));
    let text = serde_json::to_string(&partial).context("serializing the partial result")?;
    report::write_atomic(&path, text.as_bytes())
        .with_context(|| format!("writing {}", path.display()))?;
    written.push(path);
    let range = shard.runs(config.runs);
    outln!(
        "shard {k}/{n}: runs {}..{} of {}",
        range.start,
        range.end,
        config.runs
    );
    outln!("wrote:");
    for p in &written {
        outln!("  {}", p.display());
    }
    Ok(())
}

/// `merge PARTIAL...`: combine shards into the summary a single study would have written.
pub fn merge_command(args: super::args::MergeArgs) -> Result<(), Failure> {
    let mut partials = Vec::new();
    for path in &args.partials {
        let name = path.display().to_string();
        let text = report::read_limited(path, report::RESULT_FILE_BYTES)
            .map_err(|e| Failure::Invalid(format!("error: {e}")))?;
        let partial = montecarlo::shard::Partial::from_json(&name, &text)
            .map_err(|e| Failure::Invalid(format!("error: {e}")))?;
        partials.push((name, partial));
    }
    let Some((_, first)) = partials.first() else {
        return Err(Failure::Invalid(
            "error: give at least one partial result".into(),
        ));
    };
    let scenario_path = args
        .scenario
        .clone()
        .unwrap_or_else(|| PathBuf::from(&first.scenario_file));
    let model = if args.scenario.is_none() && first.scenario_file == scenario::DEFAULT_SCENARIO_NAME
    {
        load_model(None)?
    } else {
        load_model(Some(&scenario_path))?
    };
    let summary = montecarlo::shard::merge(&model, &partials)
        .map_err(|e| Failure::Invalid(format!("error: {e}")))?;
    let result = begin_result(&args.out.join(&model.stem))?;
    let dir = result.path().to_path_buf();
    let summary_path = dir.join("summary.json");
    report::write_summary_json(&summary, &summary_path).context("writing summary.json")?;
    let mut written = vec![summary_path];
    if !args.no_charts {
        report::write_charts_and_report(&summary, &dir, &report::ChartOptions::default())
            .context("drawing charts")?;
        written.push(dir.join("report.html"));
    }
    let written: Vec<PathBuf> = written.iter().map(|f| result.final_path(f)).collect();
    commit_result(result, "merge", &summary, &[])?;
    if args.json {
        outln!(
            "{}",
            serde_json::to_string_pretty(&summary).context("serializing the summary")?
        );
    } else {
        out!("{}", report::table::render(&summary));
        outln!("\nmerged {} shards; wrote:", partials.len());
        for p in &written {
            outln!("  {}", p.display());
        }
    }
    Ok(())
}

/// `report DIR`: redraw the charts and report.html from a study's summary.json.
pub fn report_command(args: super::args::ReportArgs) -> Result<(), Failure> {
    let summary_path = if args.dir.is_file() {
        args.dir.clone()
    } else {
        args.dir.join("summary.json")
    };
    let dir = summary_path
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default();
    let summary = report::read_summary_json(&summary_path)
        .map_err(|e| Failure::Invalid(format!("error: {e}")))?;
    if let Some(id) = &args.main_outcome {
        if !summary.outcomes.iter().any(|o| &o.id == id) {
            let known: Vec<&str> = summary.outcomes.iter().map(|o| o.id.as_str()).collect();
            return Err(Failure::Invalid(format!(
                "error: --main-outcome: unknown outcome `{id}` (outcomes: {})",
                known.join(", ")
            )));
        }
    }
    let options = report::ChartOptions {
        main_outcome: args.main_outcome,
        ..Default::default()
    };
    // A summary.json named in the current folder has an empty parent.
    let dir = std::fs::canonicalize(if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        &dir
    })
    .with_context(|| format!("finding the folder of {}", summary_path.display()))?;
    let result = begin_result(&dir)?;
    let files = report::write_charts_and_report(&summary, result.path(), &options)
        .context("drawing charts")?;
    let files: Vec<PathBuf> = files.iter().map(|f| result.final_path(f)).collect();
    // The charts are the new part of the result; its summary and runs come along unchanged.
    commit_result(result, "report", &summary, &["summary.json", "runs.csv"])?;
    outln!(
        "redrew {} files from {}:",
        files.len(),
        summary_path.display()
    );
    for f in files
        .iter()
        .filter(|f| f.extension().is_some_and(|e| e != "svg"))
    {
        outln!("  {}", f.display());
    }
    Ok(())
}

pub fn validate(args: ValidateArgs) -> Result<(), Failure> {
    let mut failures = Vec::new();
    for path in &args.scenarios {
        match load_model(Some(path)) {
            Ok(model) => outln!(
                "ok: {} ({} parameters, {} events, {} rules, {} decisions, {} outcomes)",
                path.display(),
                model.parameters.len(),
                model.events.len(),
                model.rules.len(),
                model.decisions.len(),
                model.outcomes.len()
            ),
            Err(Failure::Invalid(text)) => failures.push(text),
            Err(other) => return Err(other),
        }
    }
    if failures.is_empty() {
        Ok(())
    } else {
        Err(Failure::Invalid(failures.join("\n\n")))
    }
}
