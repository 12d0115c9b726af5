//! `compare`, `sweep`, `sensitivity`, `discover` and `signposts`: the what-if, what-matters,
//! where and what-to-watch commands.

use std::path::{Path, PathBuf};

use anyhow::Context;

use super::execute::{begin_result, progress_bar, study_error, with_threads};
use super::options::{
    CompareOptions, DiscoverOptions, SensitivityMethod, SensitivityOptions, SignpostsOptions,
    StudyOptions, SweepOptions,
};
use super::{cancel_flag, Failure};
use crate::analysis::compare::compare;
use crate::analysis::sensitivity::{sobol, tornado};
use crate::analysis::sweep::{sweep, SweepError};
use crate::model;
use crate::report::{self, atomic::write_atomic, ResultDir};

fn write_json<T: serde::Serialize>(value: &T, path: &Path) -> Result<String, Failure> {
    let mut text = serde_json::to_string_pretty(value).context("serializing results")?;
    text.push('\n');
    write_atomic(path, text.as_bytes()).with_context(|| format!("writing {}", path.display()))?;
    Ok(text)
}

/// Names an analysis folder's files can have: how the tool recognises its own files in a
/// folder written before folders had a manifest.
fn analysis_file_names() -> Vec<String> {
    let mut names: Vec<String> = [
        "comparison.json",
        "sweep.csv",
        "sweep.json",
        "tornado.json",
        "sobol.json",
        "discovery.json",
        "signposts.json",
    ]
    .map(String::from)
    .to_vec();
    for chart in [
        report::analysis_charts::COMPARISON_CHART,
        report::analysis_charts::SWEEP_CHART,
        report::analysis_charts::SWEEP_HEATMAP_CHART,
        report::analysis_charts::TORNADO_CHART,
        report::analysis_charts::SOBOL_CHART,
        report::analysis_charts::DISCOVERY_CHART,
        report::analysis_charts::SIGNPOSTS_CHART,
    ] {
        names.push(format!("{chart}.png"));
        names.push(format!("{chart}.svg"));
    }
    names
}

/// What every analysis command does with its result, in this order: `json_name` beside the
/// files already `written` (in the result's staging folder), the charts unless `--no-charts`,
/// the swap into the output folder, then the table (or the JSON with `--json`) and the list of
/// files.
struct Publish<'a> {
    result: ResultDir,
    command: &'a str,
    source: String,
    json_name: &'a str,
    written: Vec<PathBuf>,
    no_charts: bool,
    print_json: bool,
}

impl Publish<'_> {
    fn run<T: serde::Serialize>(
        mut self,
        result: &T,
        table: String,
        draw: impl FnOnce(&Path) -> anyhow::Result<Vec<PathBuf>>,
    ) -> Result<(), Failure> {
        let path = self.result.path().join(self.json_name);
        let text = write_json(result, &path)?;
        self.written.push(path);
        if !self.no_charts {
            self.written.extend(draw(self.result.path())?);
        }
        let written: Vec<PathBuf> = self
            .written
            .iter()
            .map(|f| self.result.final_path(f))
            .collect();
        let target = self.result.target().to_path_buf();
        self.result
            .commit(self.command, &self.source, &analysis_file_names(), &[])
            .with_context(|| format!("moving the result into {}", target.display()))?;
        if self.print_json {
            out!("{text}");
        } else {
            tell!("{table}");
            tellln!("\nwrote:");
            for p in &written {
                tellln!("  {}", p.display());
            }
        }
        Ok(())
    }
}

/// What an analysis was computed from, for the manifest.
fn analysis_source(model: &model::Model, config: &crate::montecarlo::StudyConfig) -> String {
    format!(
        "scenario {} (sha256 {}), seed {}, {} runs, {} sampling",
        model.file,
        model.sha256,
        config.seed,
        config.runs,
        config.sampling.name()
    )
}

/// `compare`: the base and its variants on common random numbers.
pub fn compare_command(options: CompareOptions) -> Result<(), Failure> {
    let CompareOptions {
        scenarios,
        study: StudyOptions {
            config,
            threads,
            quiet,
        },
        folder,
        charts,
        json,
    } = options;
    let base = &scenarios[0].1;
    let fixed: Vec<(String, f64)> = config
        .fixed
        .iter()
        .map(|(i, v)| (base.parameters[*i].id.clone(), *v))
        .collect();
    let result_dir = begin_result(&folder)?;
    let cancel = cancel_flag();
    let per_run = scenarios.len() as u64;
    let bar = progress_bar(config.runs * per_run, quiet, "comparing");
    let result = with_threads(threads, || {
        compare(
            &scenarios,
            &config,
            &fixed,
            &|n| bar.inc(n * per_run),
            &cancel,
        )
    })?
    .map_err(study_error)?;
    bar.finish_and_clear();
    let source = scenarios
        .iter()
        .map(|(_, m)| analysis_source(m, &config))
        .collect::<Vec<_>>()
        .join("; ");
    Publish {
        result: result_dir,
        command: "compare",
        source,
        json_name: "comparison.json",
        written: Vec::new(),
        no_charts: !charts,
        print_json: json,
    }
    .run(
        &result,
        report::analysis::render_comparison(&result),
        |dir| report::write_comparison_chart(&result, dir).context("drawing the comparison chart"),
    )
}

/// `sweep`: the scenario at every point of a grid of one or two parameters.
pub fn sweep_command(options: SweepOptions) -> Result<(), Failure> {
    let SweepOptions {
        model,
        study: StudyOptions {
            config,
            threads,
            quiet,
        },
        axes,
        grids_as_given,
        folder,
        charts,
        json,
        main_outcome,
    } = options;
    let points: u64 = axes.iter().map(|a| a.values.len() as u64).product();
    let result_dir = begin_result(&folder)?;
    let cancel = cancel_flag();
    let bar = progress_bar(config.runs * points, quiet, "sweeping");
    let result = with_threads(threads, || {
        sweep(&model, &config, axes, &|n| bar.inc(n), &cancel)
    })?
    .map_err(|e| match e {
        SweepError::Study(e) => study_error(e),
        SweepError::OutOfRange {
            parameter,
            value,
            low,
            high,
            source,
        } => Failure::Invalid(format!(
            "error: --param {parameter}: the grid value {value} is outside the values `{parameter}` can take ({low} to {high})\n  a run failed there: {source}\n  = hint: keep the grid inside {low} to {high}, or widen the parameter's distribution in the scenario"
        )),
    })?;
    bar.finish_and_clear();
    let csv_path = result_dir.path().join("sweep.csv");
    let csv = result.to_csv().context("formatting sweep.csv")?;
    write_atomic(&csv_path, &csv).context("writing sweep.csv")?;
    Publish {
        result: result_dir,
        command: "sweep",
        source: format!(
            "{}; --param {}",
            analysis_source(&model, &config),
            grids_as_given.join(" --param ")
        ),
        json_name: "sweep.json",
        written: vec![csv_path],
        no_charts: !charts,
        print_json: json,
    }
    .run(&result, report::analysis::render_sweep(&result), |dir| {
        report::write_sweep_charts(&result, dir, main_outcome.as_deref())
            .context("drawing the sweep chart")
    })
}

/// `sensitivity`: how much each parameter moves the target, by tornado swings or Sobol indices.
pub fn sensitivity_command(options: SensitivityOptions) -> Result<(), Failure> {
    let SensitivityOptions {
        model,
        study: StudyOptions {
            config,
            threads,
            quiet,
        },
        target,
        target_as_given,
        method,
        varied,
        folder,
        charts,
        json,
    } = options;
    let cancel = cancel_flag();
    let source = format!(
        "{}; target {}",
        analysis_source(&model, &config),
        target_as_given.as_deref().unwrap_or("the first outcome")
    );
    let publish = |json_name, command| -> Result<Publish, Failure> {
        Ok(Publish {
            result: begin_result(&folder)?,
            command,
            source: source.clone(),
            json_name,
            written: Vec::new(),
            no_charts: !charts,
            print_json: json,
        })
    };
    match method {
        SensitivityMethod::Tornado => {
            let bar = progress_bar(config.runs * (2 * varied + 1), quiet, "tornado");
            let result = with_threads(threads, || {
                tornado(&model, &config, &target, &|n| bar.inc(n), &cancel)
            })?
            .map_err(study_error)?;
            bar.finish_and_clear();
            publish("tornado.json", "sensitivity")?.run(
                &result,
                report::analysis::render_tornado(&result),
                |dir| {
                    report::write_tornado_chart(&result, &model.name, dir)
                        .context("drawing the tornado chart")
                },
            )
        }
        SensitivityMethod::Sobol { resamples } => {
            let bar = progress_bar(config.runs * (varied + 2), quiet, "sobol");
            let result = with_threads(threads, || {
                sobol(
                    &model,
                    &config,
                    &target,
                    resamples,
                    &|n| bar.inc(n),
                    &cancel,
                )
            })?
            .map_err(study_error)?;
            bar.finish_and_clear();
            // NaN (no finite value) counts as no variance too.
            if result.variance.is_nan() || result.variance <= 0.0 {
                return Err(Failure::Invalid(format!(
                    "error: the target `{}` took the same value in all {} base runs, so it has no variance to share out and its Sobol indices are undefined\n  \
                     = hint: use more --runs, or a target that varies",
                    result.target, result.base_rows
                )));
            }
            publish("sobol.json", "sensitivity")?.run(
                &result,
                report::analysis::render_sobol(&result),
                |dir| {
                    report::write_sobol_chart(&result, &model.name, dir)
                        .context("drawing the Sobol chart")
                },
            )
        }
    }
}

/// `discover`: PRIM boxes where an outcome is concentrated.
pub fn discover_command(options: DiscoverOptions) -> Result<(), Failure> {
    let DiscoverOptions {
        model,
        study: StudyOptions {
            config,
            threads,
            quiet,
        },
        target,
        config: discover_config,
        folder,
        charts,
        json,
    } = options;
    let cancel = cancel_flag();
    let result_dir = begin_result(&folder)?;
    let bar = progress_bar(config.runs, quiet, "discover");
    let result = with_threads(threads, || {
        crate::analysis::discover::discover(
            &model,
            &config,
            &target,
            &discover_config,
            &|n| bar.inc(n),
            &cancel,
        )
    })?
    .map_err(study_error)?;
    bar.finish_and_clear();
    Publish {
        result: result_dir,
        command: "discover",
        source: format!(
            "{}; outcome {}",
            analysis_source(&model, &config),
            result.outcome
        ),
        json_name: "discovery.json",
        written: Vec::new(),
        no_charts: !charts,
        print_json: json,
    }
    .run(
        &result,
        report::analysis::render_discovery(&result),
        |dir| {
            report::write_discovery_chart(&result, &model.name, dir)
                .context("drawing the discovery chart")
        },
    )
}

/// `signposts`: the pilot, the study with every sign read, and the watch list.
pub fn signposts_command(options: SignpostsOptions) -> Result<(), Failure> {
    let SignpostsOptions {
        model,
        study: StudyOptions {
            config,
            threads,
            quiet,
        },
        config: signposts_config,
        candidates,
        horizon,
        top,
        folder,
        charts,
        json,
    } = options;
    let cancel = cancel_flag();
    let result_dir = begin_result(&folder)?;
    let pilot = signposts_config.pilot_runs.min(config.runs);
    let bar = progress_bar(config.runs + pilot, quiet, "signposts");
    let result = with_threads(threads, || {
        crate::analysis::signposts::signposts(
            &model,
            &config,
            &signposts_config,
            &candidates,
            horizon,
            &|n| bar.inc(n),
            &cancel,
        )
    })?
    .map_err(study_error)?;
    bar.finish_and_clear();
    Publish {
        result: result_dir,
        command: "signposts",
        source: format!(
            "{}; outcome {}",
            analysis_source(&model, &config),
            result.outcome
        ),
        json_name: "signposts.json",
        written: Vec::new(),
        no_charts: !charts,
        print_json: json,
    }
    .run(
        &result,
        report::analysis::render_signposts(&result, top),
        |dir| {
            report::write_signposts_chart(&result, &model.name, dir)
                .context("drawing the signposts chart")
        },
    )
}
