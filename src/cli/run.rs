//! `run`, `validate`, `report` and `merge`: one study and the files it writes.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::Context;
use indicatif::ProgressBar;

use super::args::{MergeArgs, ReportArgs, ValidateArgs};
use super::execute::{begin_result, progress_bar, study_error, with_threads};
use super::options::{load_model, RunOptions, RunScope, RunsOutput};
use super::{cancel_flag, Failure};
use crate::montecarlo::shard::Shard;
use crate::montecarlo::{self, StudyError};
use crate::report;
use crate::report::runs::RunsFormat;
use crate::scenario;

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
    let mut names: Vec<String> = ["summary.json", "report.html"].map(String::from).to_vec();
    names.extend(report::runs::FILE_NAMES.map(String::from));
    names.push(report::runs::timeline::FILE_NAME.to_string());
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

/// The analyses of a study's scenario that sit in its folder (each command writes to a
/// subfolder of `output/<stem>/`), for report.html to link: (subfolder, result, chart, what
/// it answers).
fn analyses_beside(folder: &Path) -> Vec<report::AnalysisLink> {
    use report::analysis_charts as charts;
    let known = [
        (
            "discover",
            "discovery.json",
            charts::DISCOVERY_CHART,
            "Where it happens (discover)",
        ),
        (
            "signposts",
            "signposts.json",
            charts::SIGNPOSTS_CHART,
            "What to watch (signposts)",
        ),
        (
            "sensitivity",
            "tornado.json",
            charts::TORNADO_CHART,
            "What moves it, one parameter at a time (sensitivity, tornado)",
        ),
        (
            "sensitivity",
            "sobol.json",
            charts::SOBOL_CHART,
            "What moves it, by share of variance (sensitivity, Sobol)",
        ),
        (
            "sweep",
            "sweep.json",
            charts::SWEEP_CHART,
            "Over a grid of values (sweep)",
        ),
    ];
    known
        .iter()
        .filter(|(sub, json, _, _)| folder.join(sub).join(json).is_file())
        .map(|(sub, json, chart, title)| {
            let png = format!("{sub}/{chart}.png");
            report::AnalysisLink {
                title: title.to_string(),
                json: format!("{sub}/{json}"),
                chart: folder.join(&png).is_file().then_some(png),
            }
        })
        .collect()
}

/// Runs between precision checks: large enough that checking is cheap, small enough not to
/// overshoot much.
const PRECISION_BATCH: u64 = 8 * montecarlo::BLOCK;

/// `run`: the whole study into its output folder, or one shard of it beside the others.
pub fn run(options: RunOptions) -> Result<(), Failure> {
    let cancel = cancel_flag();
    let bar = progress_bar(options.study.config.runs, options.study.quiet, "running");
    let precision = match options.scope {
        RunScope::Shard(shard) => return run_shard(&options, shard, &bar, &cancel),
        RunScope::Whole { precision } => precision,
    };
    let RunOptions {
        model,
        study,
        folder,
        ..
    } = &options;
    let config = &study.config;
    // Everything goes into a staging folder, swapped in when complete (see `ResultDir`).
    let result = begin_result(folder)?;
    let dir = result.path().to_path_buf();
    let mut runs_writer = match options.runs_output {
        Some(file) => {
            let name = file.format.file_name();
            Some(
                create_runs_file(file, &dir.join(&name), model, config, config.runs).with_context(
                    || format!("creating {name} beside {}", result.target().display()),
                )?,
            )
        }
        None => None,
    };
    let mut timeline = if options.timeline_long {
        let path = dir.join(report::runs::timeline::FILE_NAME);
        Some(
            report::runs::timeline::TimelineCsv::create(&path, model).with_context(|| {
                format!(
                    "creating {} beside {}",
                    report::runs::timeline::FILE_NAME,
                    result.target().display()
                )
            })?,
        )
    } else {
        None
    };
    let summary = with_threads(study.threads, || {
        let mut tee = report::runs::timeline::Tee {
            runs: runs_writer
                .as_mut()
                .map(|c| c as &mut dyn montecarlo::RunSink),
            timeline: timeline.as_mut(),
        };
        let sink = (tee.runs.is_some() || tee.timeline.is_some())
            .then_some(&mut tee as &mut dyn montecarlo::RunSink);
        match precision {
            Some(h) => montecarlo::run_until_precise(
                model,
                config,
                h,
                PRECISION_BATCH,
                sink,
                &|n| bar.inc(n),
                &cancel,
            ),
            None => montecarlo::run_study(model, config, sink, &|n| bar.inc(n), &cancel),
        }
    })?
    .map_err(study_error)?;
    bar.finish_and_clear();
    if cancel.load(Ordering::SeqCst) {
        return Err(study_error(StudyError::Cancelled));
    }
    if let Some(given) = &summary.given {
        // Below this many matching runs an interval is wider than most of what it bounds.
        const FEW: u64 = 100;
        let conditions: Vec<&str> = given
            .conditions
            .iter()
            .map(|c| c.condition.as_str())
            .collect();
        if given.matched == 0 {
            return Err(Failure::Invalid(format!(
                "error: no run of {} meets --given {}: there is nothing to count\n  = hint: check the condition and its date (it is read at the end of the step that holds the date), or give more --runs",
                given.of,
                conditions.join(" and ")
            )));
        }
        if given.matched < FEW {
            super::print_stderr(&format!(
                "warning: only {} of {} runs meet --given {}: the probabilities rest on few runs (see how wide their intervals are); give more --runs",
                given.matched,
                given.of,
                conditions.join(" and ")
            ));
        }
    }
    let mut written = Vec::new();
    let mut runs_written = None;
    if let Some(writer) = runs_writer {
        let done = writer.finish().context("writing the per-run file")?;
        written.push(done.path.clone());
        runs_written = Some(done);
    }
    if let Some(timeline) = timeline {
        let (path, _) = timeline.finish().context("writing timeline.csv")?;
        written.push(path);
    }
    let summary_path = dir.join("summary.json");
    report::write_summary_json(&summary, &summary_path).context("writing summary.json")?;
    written.push(summary_path);
    if options.charts {
        let chart_options = report::ChartOptions {
            main_outcome: options.main_outcome.clone(),
            analyses: analyses_beside(folder),
            ..Default::default()
        };
        let files = report::write_charts_and_report(&summary, &dir, &chart_options)
            .context("drawing charts")?;
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
    if options.json {
        let text = serde_json::to_string_pretty(&summary).context("serializing the summary")?;
        outln!("{text}");
    } else {
        tell!("{}", report::table::render(&summary));
        if let Some(p) = &summary.precision {
            tellln!("\n{}", precision_line(p, summary.runs));
        }
        tellln!("\nwrote:");
        for path in &written {
            tellln!("  {}", path.display());
        }
        if let (Some(done), Some(file)) = (&runs_written, options.runs_output) {
            tellln!("{}", runs_file_line(done, file));
        }
    }
    Ok(())
}

/// Starts the per-run file `path` of a study (or shard) of at most `max_rows` runs.
fn create_runs_file(
    file: RunsOutput,
    path: &Path,
    model: &crate::model::Model,
    config: &montecarlo::StudyConfig,
    max_rows: u64,
) -> std::io::Result<report::runs::RunsWriter> {
    let columns = report::runs::Columns::new(model, &config.fixed, file.all_columns)
        .with_replications(config.replications);
    report::runs::RunsWriter::create(file.format, path, columns, max_rows)
}

/// What the per-run file is, how large, and why it is in this format.
fn runs_file_line(done: &report::runs::RunsWritten, file: RunsOutput) -> String {
    let name = done
        .path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let size = format!(
        "{name}: {} rows, {}",
        report::runs::group_thousands(done.rows),
        report::runs::human_bytes(done.bytes)
    );
    let why = match (done.format, file.asked) {
        (RunsFormat::Parquet, false) => {
            "Parquet, the default: typed, compressed columns, quick to write at millions of runs; \
             --runs-format csv writes runs.csv instead, --runs-format none neither"
        }
        (RunsFormat::Parquet, true) => "Parquet, as --runs-format asked",
        (RunsFormat::Csv, false) => {
            "CSV, the default; --runs-format parquet writes typed, compressed columns instead"
        }
        (RunsFormat::Csv, true) => {
            "CSV, as --runs-format asked; --runs-format parquet writes a smaller file, faster"
        }
    };
    format!("{size} ({why})")
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

/// The names of shard K of N's files (K counted from 1): its own, so that shards of one study
/// run side by side into one folder, and beside a whole run's `summary.json` and runs file,
/// without touching any other file.
fn shard_file_names(shard: Shard, format: RunsFormat) -> (String, String) {
    let (k, n) = (shard.index + 1, shard.count);
    (
        format!("partial-{k}-of-{n}.json"),
        format!("runs-{k}-of-{n}.{}", format.extension()),
    )
}

/// `run --shard K/N`: run one share of the blocks and write a mergeable partial result.
fn run_shard(
    options: &RunOptions,
    shard: Shard,
    bar: &ProgressBar,
    cancel: &AtomicBool,
) -> Result<(), Failure> {
    let RunOptions {
        model,
        study,
        folder,
        ..
    } = options;
    let config = &study.config;
    std::fs::create_dir_all(folder)
        .with_context(|| format!("creating output folder {}", folder.display()))?;
    let format = options
        .runs_output
        .map_or(super::options::DEFAULT_RUNS_FORMAT, |f| f.format);
    let (partial_name, runs_name) = shard_file_names(shard, format);
    // Each file is written to a temporary name beside it and renamed when complete, so a
    // killed shard leaves no truncated file under a final name.
    let runs_path = folder.join(runs_name);
    let range = shard.runs(config.runs, config.block_len());
    let mut runs_writer = match options.runs_output {
        Some(file) => Some(
            create_runs_file(file, &runs_path, model, config, range.end - range.start)
                .with_context(|| format!("creating {}", runs_path.display()))?,
        ),
        None => None,
    };
    let partial = with_threads(study.threads, || {
        let sink = runs_writer
            .as_mut()
            .map(|c| c as &mut dyn montecarlo::RunSink);
        montecarlo::shard::run_shard(model, config, shard, sink, &|n| bar.inc(n), cancel)
    })?
    .map_err(study_error)?;
    bar.finish_and_clear();
    let mut written = Vec::new();
    if let Some(writer) = runs_writer {
        writer.finish().context("writing the shard's runs")?;
        written.push(runs_path);
    }
    let path = folder.join(partial_name);
    let text = serde_json::to_string(&partial).context("serializing the partial result")?;
    report::write_atomic(&path, text.as_bytes())
        .with_context(|| format!("writing {}", path.display()))?;
    written.push(path);
    tellln!(
        "shard {}/{}: runs {}..{} of {}",
        shard.index + 1,
        shard.count,
        range.start,
        range.end,
        config.runs
    );
    tellln!("wrote:");
    for p in &written {
        tellln!("  {}", p.display());
    }
    Ok(())
}

/// `merge PARTIAL...`: combine shards into the summary a single study would have written.
pub fn merge_command(args: MergeArgs) -> Result<(), Failure> {
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
pub fn report_command(args: ReportArgs) -> Result<(), Failure> {
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
    // A summary.json named in the current folder has an empty parent.
    let dir = std::fs::canonicalize(if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        &dir
    })
    .with_context(|| format!("finding the folder of {}", summary_path.display()))?;
    let options = report::ChartOptions {
        main_outcome: args.main_outcome,
        analyses: analyses_beside(&dir),
        ..Default::default()
    };
    let result = begin_result(&dir)?;
    let files = report::write_charts_and_report(&summary, result.path(), &options)
        .context("drawing charts")?;
    let files: Vec<PathBuf> = files.iter().map(|f| result.final_path(f)).collect();
    // The charts are the new part of the result; its summary and runs come along unchanged.
    let mut keep = vec!["summary.json"];
    keep.extend(report::runs::FILE_NAMES);
    keep.push(report::runs::timeline::FILE_NAME);
    commit_result(result, "report", &summary, &keep)?;
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
    if args.json {
        return validate_as_json(&args.scenarios);
    }
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

/// `validate --json`: every file's verdict as one JSON array on stdout, for editors and
/// scripts; exit 2 when any file is invalid, as without `--json`.
fn validate_as_json(paths: &[PathBuf]) -> Result<(), Failure> {
    let verdicts: Vec<serde_json::Value> = paths.iter().map(|p| validation(p)).collect();
    let invalid = verdicts
        .iter()
        .filter(|v| v["valid"] == serde_json::Value::Bool(false))
        .count();
    let text = serde_json::to_string_pretty(&verdicts).map_err(anyhow::Error::from)?;
    outln!("{text}");
    if invalid == 0 {
        Ok(())
    } else {
        Err(Failure::Invalid(format!(
            "error: {invalid} of {} scenario files are invalid (see the JSON on stdout)",
            paths.len()
        )))
    }
}

/// One file's verdict: its counts when valid, else its errors with their locations.
fn validation(path: &Path) -> serde_json::Value {
    let file = path.display().to_string();
    let diagnostics = match scenario::load(path).map(crate::model::compile) {
        Ok(Ok(model)) => {
            return serde_json::json!({
                "file": file,
                "valid": true,
                "parameters": model.parameters.len(),
                "events": model.events.len(),
                "rules": model.rules.len(),
                "decisions": model.decisions.len(),
                "outcomes": model.outcomes.len(),
            })
        }
        Ok(Err(d)) | Err(d) => d,
    };
    let errors: Vec<serde_json::Value> = diagnostics
        .items
        .iter()
        .map(|item| {
            let (file, line, column) = match item.span {
                Some(span) => {
                    let (line, column) = diagnostics.sources.line_col(span.file, span.start);
                    let name = diagnostics.sources.file(span.file).name.clone();
                    (name, Some(line), Some(column))
                }
                None => (file.clone(), None, None),
            };
            serde_json::json!({
                "message": item.message,
                "file": file,
                "line": line,
                "column": column,
                "hint": item.hint,
            })
        })
        .collect();
    serde_json::json!({ "file": file, "valid": false, "errors": errors })
}
