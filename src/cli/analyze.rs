//! `compare`, `sweep` and `sensitivity`: the what-if and what-matters commands.

use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::{Args, ValueEnum};

use super::args::CommonRunArgs;
use super::run::{begin_result, load_model, progress_bar, study_config, study_error, with_threads};
use super::{cancel_flag, use_color, Failure};
use crate::analysis::compare::compare;
use crate::analysis::sensitivity::{sobol, tornado, Target};
use crate::analysis::sweep::{sweep, Axis, SweepError};
use crate::report::{self, atomic::write_atomic, ResultDir};
use crate::{model, scenario};

#[derive(Debug, Clone, Args)]
#[command(after_help = "Examples:\n  \
    alliance-sim compare scenarios/gsomia_2019.toml scenarios/gsomia_2019_strong_lobbying.toml\n  \
    alliance-sim compare scenarios/gsomia_2019.toml scenarios/gsomia_2019_no_*.toml --runs 100000 --json")]
pub struct CompareArgs {
    /// The base scenario, then one or more variants
    #[arg(required = true, num_args = 2..)]
    pub scenarios: Vec<PathBuf>,
    #[command(flatten)]
    pub common: CommonRunArgs,
    /// Folder for results; they go to DIR/compare/
    #[arg(long, short = 'o', value_name = "DIR", default_value = "output")]
    pub out: PathBuf,
    /// Print the comparison as JSON on stdout instead of the table
    #[arg(long)]
    pub json: bool,
    /// Do not draw the charts
    #[arg(long)]
    pub no_charts: bool,
}

#[derive(Debug, Clone, Args)]
#[command(after_help = "Examples:\n  \
    alliance-sim sweep scenarios/gsomia_2019.toml --param us_cost_share_demand_busd=0.9:6:18\n  \
    alliance-sim sweep --param japan_export_controls=0:1:11 --param us_lobbying_intensity=0:1:11 --runs 5000")]
pub struct SweepArgs {
    /// Scenario file [default: the built-in GSOMIA 2019 scenario]
    pub scenario: Option<PathBuf>,
    /// A parameter and its grid, ID=LO:HI:STEPS (once or twice)
    #[arg(
        long = "param",
        value_name = "ID=LO:HI:STEPS",
        required = true,
        num_args = 1
    )]
    pub params: Vec<String>,
    #[command(flatten)]
    pub common: CommonRunArgs,
    /// Folder for results; they go to DIR/<scenario file stem>/sweep/
    #[arg(long, short = 'o', value_name = "DIR", default_value = "output")]
    pub out: PathBuf,
    /// Print the sweep as JSON on stdout instead of the table
    #[arg(long)]
    pub json: bool,
    /// Do not draw the charts
    #[arg(long)]
    pub no_charts: bool,
    /// Outcome the two-parameter heatmap shows [default: the first outcome]; with one
    /// parameter, a rare main outcome gets a panel of its own
    #[arg(long, value_name = "OUTCOME")]
    pub main_outcome: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Method {
    /// One parameter at a time between its 5th and 95th percentiles
    Tornado,
    /// First-order and total Sobol indices (Saltelli design, bootstrap intervals)
    Sobol,
}

#[derive(Debug, Clone, Args)]
#[command(after_help = "Examples:\n  \
    alliance-sim sensitivity --method tornado --runs 4000\n  \
    alliance-sim sensitivity scenarios/gsomia_2019.toml --method sobol --target terminated --runs 8192")]
pub struct SensitivityArgs {
    /// Scenario file [default: the built-in GSOMIA 2019 scenario]
    pub scenario: Option<PathBuf>,
    /// An outcome id (its probability) or a metric id (its end value) [default: the first outcome]
    #[arg(long, short = 't', value_name = "OUTCOME_OR_METRIC")]
    pub target: Option<String>,
    #[arg(long, short = 'm', value_enum, default_value_t = Method::Tornado)]
    pub method: Method,
    /// Bootstrap resamples for Sobol intervals
    #[arg(long, default_value_t = 500, value_name = "B")]
    pub resamples: usize,
    #[command(flatten)]
    pub common: CommonRunArgs,
    /// Folder for results; they go to DIR/<scenario file stem>/sensitivity/
    #[arg(long, short = 'o', value_name = "DIR", default_value = "output")]
    pub out: PathBuf,
    /// Print the result as JSON on stdout instead of the table
    #[arg(long)]
    pub json: bool,
    /// Do not draw the charts
    #[arg(long)]
    pub no_charts: bool,
}

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
    ]
    .map(String::from)
    .to_vec();
    for chart in [
        report::analysis_charts::COMPARISON_CHART,
        report::analysis_charts::SWEEP_CHART,
        report::analysis_charts::SWEEP_HEATMAP_CHART,
        report::analysis_charts::TORNADO_CHART,
        report::analysis_charts::SOBOL_CHART,
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
            out!("{table}");
            outln!("\nwrote:");
            for p in &written {
                outln!("  {}", p.display());
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

pub fn compare_command(args: CompareArgs) -> Result<(), Failure> {
    let mut loaded = Vec::new();
    for path in &args.scenarios {
        let s = scenario::load(path).map_err(|d| Failure::Invalid(d.render(use_color())))?;
        let m = model::compile(s.clone()).map_err(|d| Failure::Invalid(d.render(use_color())))?;
        loaded.push((s, m));
    }
    let base = &loaded[0].1;
    let config = study_config(base, &args.common)?;
    let fixed: Vec<(String, f64)> = config
        .fixed
        .iter()
        .map(|(i, v)| (base.parameters[*i].id.clone(), *v))
        .collect();
    let result_dir = begin_result(&args.out.join("compare"))?;
    let cancel = cancel_flag();
    let bar = progress_bar(
        config.runs * loaded.len() as u64,
        args.common.quiet,
        "comparing",
    );
    let result = with_threads(args.common.threads, || {
        compare(
            &loaded,
            &config,
            &fixed,
            &|n| bar.inc(n * loaded.len() as u64),
            &cancel,
        )
    })?
    .map_err(study_error)?;
    bar.finish_and_clear();
    let source = loaded
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
        no_charts: args.no_charts,
        print_json: args.json,
    }
    .run(
        &result,
        report::analysis::render_comparison(&result),
        |dir| report::write_comparison_chart(&result, dir).context("drawing the comparison chart"),
    )
}

pub fn sweep_command(args: SweepArgs) -> Result<(), Failure> {
    let model = load_model(args.scenario.as_deref())?;
    let config = study_config(&model, &args.common)?;
    if args.params.len() > 2 {
        return Err(Failure::Invalid(
            "error: --param takes one or two parameters".into(),
        ));
    }
    let axes = args
        .params
        .iter()
        .map(|p| {
            Axis::parse(&model, p).map_err(|e| Failure::Invalid(format!("error: --param {e}")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    if axes.len() == 2 && axes[0].parameter == axes[1].parameter {
        return Err(Failure::Invalid(
            "error: the two --param axes must be different parameters".into(),
        ));
    }
    if let Some(id) = &args.main_outcome {
        if model.outcome_index(id).is_none() {
            let known: Vec<&str> = model.outcomes.iter().map(|o| o.id.as_str()).collect();
            return Err(Failure::Invalid(format!(
                "error: --main-outcome: unknown outcome `{id}` (outcomes: {})",
                known.join(", ")
            )));
        }
    }
    let points: u64 = axes.iter().map(|a| a.values.len() as u64).product();
    let result_dir = begin_result(&args.out.join(&model.stem).join("sweep"))?;
    let cancel = cancel_flag();
    let bar = progress_bar(config.runs * points, args.common.quiet, "sweeping");
    let result = with_threads(args.common.threads, || {
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
            args.params.join(" --param ")
        ),
        json_name: "sweep.json",
        written: vec![csv_path],
        no_charts: args.no_charts,
        print_json: args.json,
    }
    .run(&result, report::analysis::render_sweep(&result), |dir| {
        report::write_sweep_charts(&result, dir, args.main_outcome.as_deref())
            .context("drawing the sweep chart")
    })
}

/// The fewest base rows (`--runs`) a Sobol study takes: with fewer, the variance of the target
/// and the bootstrap intervals over rows are not estimates of anything (one row gives NaN).
pub const SOBOL_MIN_RUNS: u64 = 64;
/// The most model runs a Sobol study takes, `runs * (varied parameters + 2)`: every value is
/// kept in memory (8 bytes each) for the bootstrap, so this bounds it at 400 MB.
pub const SOBOL_MAX_MODEL_RUNS: u64 = 50_000_000;
/// The most bootstrap resamples: each costs a pass over every row, and keeps two numbers per
/// parameter; 10,000 is far beyond what a 95% percentile interval needs (500 is the default).
pub const MAX_RESAMPLES: usize = 10_000;

/// Refuses a Sobol design too small to estimate or too large to hold, before any run.
fn check_sobol_size(runs: u64, varied: u64, resamples: usize) -> Result<(), Failure> {
    if runs < SOBOL_MIN_RUNS {
        return Err(Failure::Invalid(format!(
            "error: --method sobol needs --runs of at least {SOBOL_MIN_RUNS} (base rows), got {runs}\n  \
             = hint: Sobol indices are estimated from the spread over rows; a few thousand rows give useful intervals"
        )));
    }
    let model_runs = runs.saturating_mul(varied + 2);
    if model_runs > SOBOL_MAX_MODEL_RUNS {
        return Err(Failure::Invalid(format!(
            "error: --method sobol with --runs {runs} and {varied} varied parameters is {model_runs} model runs; the limit is {SOBOL_MAX_MODEL_RUNS}\n  \
             = hint: every run's value is kept for the bootstrap; use fewer --runs or hold parameters with --set"
        )));
    }
    if resamples == 0 || resamples > MAX_RESAMPLES {
        return Err(Failure::Invalid(format!(
            "error: --resamples must be between 1 and {MAX_RESAMPLES}, got {resamples}"
        )));
    }
    Ok(())
}

pub fn sensitivity_command(args: SensitivityArgs) -> Result<(), Failure> {
    let model = load_model(args.scenario.as_deref())?;
    let config = study_config(&model, &args.common)?;
    let target = Target::resolve(&model, args.target.as_deref())
        .map_err(|e| Failure::Invalid(format!("error: --target: {e}")))?;
    let varied = crate::analysis::sensitivity::varied_parameters(&model, &config).len() as u64;
    if args.method == Method::Sobol {
        check_sobol_size(config.runs, varied, args.resamples)?;
    }
    let dir = args.out.join(&model.stem).join("sensitivity");
    let cancel = cancel_flag();
    let source = format!(
        "{}; target {}",
        analysis_source(&model, &config),
        args.target.as_deref().unwrap_or("the first outcome")
    );
    let publish = |json_name, command| -> Result<Publish, Failure> {
        Ok(Publish {
            result: begin_result(&dir)?,
            command,
            source: source.clone(),
            json_name,
            written: Vec::new(),
            no_charts: args.no_charts,
            print_json: args.json,
        })
    };
    match args.method {
        Method::Tornado => {
            let bar = progress_bar(config.runs * (2 * varied + 1), args.common.quiet, "tornado");
            let result = with_threads(args.common.threads, || {
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
        Method::Sobol => {
            let bar = progress_bar(config.runs * (varied + 2), args.common.quiet, "sobol");
            let result = with_threads(args.common.threads, || {
                sobol(
                    &model,
                    &config,
                    &target,
                    args.resamples,
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
