//! Validated options: a command's arguments checked against each other and against the
//! scenario, and turned into the values the library takes, before the command creates a folder
//! or a file.
//!
//! Each command that runs simulations is split in two: `XOptions::new(args)` here, which only
//! reads (the scenario, a study's summary.json, a folder of cases) and refuses a bad flag with
//! exit 2, then the command module, which acts on the options and never sees a flag again. So a
//! refused flag leaves nothing behind, whatever the order in which a command creates its files.

use std::path::{Path, PathBuf};

use super::args::{
    BacktestArgs, CalibrateArgs, CommonRunArgs, CompareArgs, DiscoverArgs, ExplainArgs, Method,
    RunArgs, RunsFormatArg, SensitivityArgs, SignpostsArgs, SweepArgs, ThreadsArgs,
};
use super::syntax::{GridFlag, SetFlag};
use super::{print_stderr, use_color, Failure};
use crate::analysis::backtest::BacktestConfig;
use crate::analysis::calibrate::CalibrateConfig;
use crate::analysis::discover::{DiscoverConfig, DiscoverTarget};
use crate::analysis::sensitivity::{varied_parameters, Target};
use crate::analysis::signposts::{self, Candidate, SignKind, SignpostsConfig};
use crate::analysis::sweep::Axis;
use crate::diagnostic::suggest;
use crate::model::{self, Model};
use crate::montecarlo::shard::Shard;
use crate::montecarlo::{self, Sampling, StudyConfig};
use crate::report::runs::RunsFormat;
use crate::scenario::{self, ProbeRole, Scenario};

/// A scenario's diagnostics as the refusal of a command (exit 2).
fn invalid(d: crate::diagnostic::Diagnostics) -> Failure {
    Failure::Invalid(d.render(use_color()))
}

/// Reads a scenario file, or the built-in default when `path` is `None`, for a command to add
/// probes to before compiling it.
fn load_scenario(path: Option<&Path>) -> Result<Scenario, Failure> {
    match path {
        Some(p) => scenario::load(p),
        None => scenario::load_default(),
    }
    .map_err(invalid)
}

/// Loads and compiles a scenario file, or the built-in default when `path` is `None`.
pub fn load_model(path: Option<&Path>) -> Result<Model, Failure> {
    model::compile(load_scenario(path)?).map_err(invalid)
}

/// [`load_model`] with `run --given` conditions, each compiled like an expression of the file
/// and its errors shown in the flag's text.
pub fn load_model_given(path: Option<&Path>, given: &[String]) -> Result<Model, Failure> {
    let mut scenario = load_scenario(path)?;
    for flag in given {
        scenario.add_given(flag).map_err(invalid)?;
    }
    model::compile(scenario).map_err(invalid)
}

/// Turns `--set ID=VALUE` flags into parameter indexes and values; a later flag for the same
/// parameter wins. A value outside the parameter's declared range is allowed (a what-if beyond
/// the model) but warned about on stderr, so a typo such as `nk_threat=5` for 0.5 does not pass
/// unseen.
pub fn resolve_sets(model: &Model, sets: &[SetFlag]) -> Result<Vec<(usize, f64)>, Failure> {
    let mut fixed = Vec::new();
    for SetFlag { parameter, value } in sets {
        let Some(index) = model.parameter_index(parameter) else {
            let hint = suggest(parameter, model.parameters.iter().map(|p| p.id.as_str()))
                .map(|h| format!("\n  = hint: {h}"))
                .unwrap_or_else(|| {
                    let ids: Vec<&str> = model.parameters.iter().map(|p| p.id.as_str()).collect();
                    format!("\n  = hint: parameters are: {}", ids.join(", "))
                });
            return Err(Failure::Invalid(format!(
                "error: --set: unknown parameter `{parameter}`{hint}"
            )));
        };
        let distribution = &model.parameters[index].distribution;
        if let Some(support) = montecarlo::summary::Support::outside(*value, distribution) {
            print_stderr(&format!(
                "warning: --set {parameter}={value} is outside what `{parameter}` can take in the scenario, \
                 {support} ({}); the study runs with it as given and summary.json records it",
                distribution.describe()
            ));
        }
        fixed.retain(|(i, _)| *i != index);
        fixed.push((index, *value));
    }
    Ok(fixed)
}

/// The most worker threads `--threads` may ask for. Results do not depend on the count, so
/// more threads than cores only cost: each has its own stack and buffers, and at 1,000 threads
/// starting and joining them took longer than the study. 256 is well above any machine's cores
/// a study would run on.
pub const MAX_THREADS: usize = 256;

/// A `--threads` that passed [`Threads::check`]; the worker pool takes only this, so no command
/// can start threads from an unchecked count.
#[derive(Debug, Clone, Copy)]
pub struct Threads(Option<usize>);

impl Threads {
    /// Refuses a `--threads` of 0 or above [`MAX_THREADS`].
    pub fn check(args: ThreadsArgs) -> Result<Threads, Failure> {
        match args.threads {
            Some(t) if t == 0 || t > MAX_THREADS => Err(Failure::Invalid(format!(
                "error: --threads must be between 1 and {MAX_THREADS}, got {t}\n  \
                 = hint: results do not depend on it; leave it out to use every core"
            ))),
            threads => Ok(Threads(threads)),
        }
    }

    /// The worker count, or `None` for one per core.
    pub fn count(self) -> Option<usize> {
        self.0
    }
}

/// Refuses a run count of 0 or above the scenario limit, whether it came from `--runs` or
/// from the scenario's `runs`.
pub fn check_runs(runs: u64) -> Result<u64, Failure> {
    if runs == 0 || runs > scenario::LIMITS.runs {
        return Err(Failure::Invalid(format!(
            "error: --runs must be between 1 and {}, got {runs}",
            scenario::LIMITS.runs
        )));
    }
    Ok(runs)
}

/// Refuses a `--main-outcome` the scenario does not have.
fn check_main_outcome(
    model: &Model,
    main_outcome: Option<String>,
) -> Result<Option<String>, Failure> {
    if let Some(id) = &main_outcome {
        if model.outcome_index(id).is_none() {
            let ids: Vec<&str> = model.outcomes.iter().map(|o| o.id.as_str()).collect();
            return Err(Failure::Invalid(format!(
                "error: --main-outcome: unknown outcome `{id}` (outcomes: {})",
                ids.join(", ")
            )));
        }
    }
    Ok(main_outcome)
}

/// One study of one scenario, as the common run flags ask for it.
#[derive(Debug, Clone)]
pub struct StudyOptions {
    pub config: StudyConfig,
    pub threads: Threads,
    /// No progress bar.
    pub quiet: bool,
}

impl StudyOptions {
    pub fn new(model: &Model, common: &CommonRunArgs) -> Result<StudyOptions, Failure> {
        let threads = Threads::check(common.threads)?;
        let runs = check_runs(common.runs.unwrap_or(model.default_runs))?;
        Ok(StudyOptions {
            config: StudyConfig {
                runs,
                seed: common.seed.unwrap_or(model.default_seed),
                fixed: resolve_sets(model, &common.set)?,
                timeline: true,
                sampling: common.sampling.into(),
                design: None,
                replications: 1,
            },
            threads,
            quiet: common.quiet,
        })
    }
}

/// What `run` runs: the whole study, or one shard of it for `merge`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum RunScope {
    /// Every run; with a precision target, runs in batches until every outcome's 95% interval
    /// lies within it (`--runs` is the ceiling).
    Whole { precision: Option<f64> },
    /// One share of the runs (clap refuses `--precision` with `--shard`).
    Shard(Shard),
}

/// `run`, checked.
#[derive(Debug)]
pub struct RunOptions {
    pub model: Model,
    pub study: StudyOptions,
    /// The output folder, DIR/<scenario file stem>.
    pub folder: PathBuf,
    /// The per-run file, if one is written.
    pub runs_output: Option<RunsOutput>,
    /// Also write every metric at every step in long form (`timeline.csv`).
    pub timeline_long: bool,
    pub charts: bool,
    pub json: bool,
    pub main_outcome: Option<String>,
    pub scope: RunScope,
}

impl RunOptions {
    pub fn new(args: RunArgs) -> Result<RunOptions, Failure> {
        let model = load_model_given(args.scenario.as_deref(), &args.given)?;
        let mut study = StudyOptions::new(&model, &args.common)?;
        study.config.timeline = !args.no_timeline;
        if let Some(path) = &args.design {
            let design = super::design::read_design(&model, path, &study.config.fixed)?;
            let rows = design.rows();
            let per_row = args.replications.unwrap_or(1);
            if let Some(runs) = args
                .common
                .runs
                .filter(|&r| Some(r) != rows.checked_mul(per_row))
            {
                return Err(Failure::Invalid(format!(
                    "error: --runs {runs} disagrees with the design's {rows} rows{}\n  = hint: a design runs {} per row; drop --runs",
                    if per_row > 1 { format!(" of {per_row} replications") } else { String::new() },
                    if per_row > 1 { format!("{per_row} runs") } else { "one run".to_string() }
                )));
            }
            study.config.runs = rows;
            study.config.design = Some(std::sync::Arc::new(design));
        }
        if let Some(r) = args.replications {
            study.config.replications =
                check_replications(r, &mut study.config, args.common.runs.is_some())?;
        }
        let runs_output = RunsOutput::new(&args)?;
        let main_outcome = check_main_outcome(&model, args.main_outcome)?;
        let scope = match (args.shard, args.precision) {
            (Some(shard), _) => RunScope::Shard(shard),
            (None, precision) => RunScope::Whole {
                precision: precision
                    .map(|h| check_precision(h, study.config.sampling))
                    .transpose()?,
            },
        };
        Ok(RunOptions {
            folder: args.out.join(&model.stem),
            model,
            study,
            runs_output,
            timeline_long: args.timeline_long,
            charts: !args.no_charts,
            json: args.json,
            main_outcome,
            scope,
        })
    }
}

/// Checks `--replications R` against the run count and sets the runs: given `--runs` must be
/// whole sets; the scenario's default is rounded down to whole sets (at least one); a design's
/// rows are the sets, each run R times.
fn check_replications(r: u64, config: &mut StudyConfig, runs_given: bool) -> Result<u64, Failure> {
    let most = montecarlo::MAX_REPLICATIONS;
    if !(2..=most).contains(&r) {
        return Err(Failure::Invalid(format!(
            "error: --replications must be between 2 and {most}, got {r}\n  = hint: it is the number of runs per parameter set; leave it out for a plain study"
        )));
    }
    let runs = if let Some(design) = &config.design {
        design
            .rows()
            .checked_mul(r)
            .filter(|&n| n <= scenario::LIMITS.runs)
            .ok_or_else(|| {
                Failure::Invalid(format!(
                    "error: {} design rows x {r} replications is over the limit of {} runs",
                    design.rows(),
                    scenario::LIMITS.runs
                ))
            })?
    } else if runs_given {
        if config.runs % r != 0 {
            let below = config.runs / r * r;
            return Err(Failure::Invalid(format!(
                "error: --runs {} is not a whole number of parameter sets of {r} runs\n  = hint: give a multiple of {r}, such as {} or {}",
                config.runs,
                below.max(r),
                below + r
            )));
        }
        config.runs
    } else {
        (config.runs / r).max(1) * r
    };
    config.runs = check_runs(runs)?;
    Ok(r)
}

/// The format a run writes its rows in when `--runs-format` is not given. Parquet: one writer
/// thread keeps up with the workers (10^6 runs of the default scenario cost 1.1 to 1.2 times a
/// run without a per-run file), where CSV's text formatting makes it the bottleneck (README,
/// "Output files").
pub const DEFAULT_RUNS_FORMAT: RunsFormat = RunsFormat::Parquet;

/// `run`'s per-run file, checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunsOutput {
    pub format: RunsFormat,
    /// Whether `--runs-format` chose it (rather than the default), for the printed line.
    pub asked: bool,
    /// A column for every parameter, also those that cannot vary.
    pub all_columns: bool,
}

impl RunsOutput {
    /// The file `--runs-format` (or `--no-runs-csv`) asks for; refuses `--runs-all-columns`
    /// without a file to add columns to.
    fn new(args: &RunArgs) -> Result<Option<RunsOutput>, Failure> {
        let format = match (args.runs_format, args.no_runs_csv) {
            (Some(RunsFormatArg::None), _) | (None, true) => None,
            (Some(RunsFormatArg::Csv), _) => Some((RunsFormat::Csv, true)),
            (Some(RunsFormatArg::Parquet), _) => Some((RunsFormat::Parquet, true)),
            (None, false) => Some((DEFAULT_RUNS_FORMAT, false)),
        };
        match format {
            Some((format, asked)) => Ok(Some(RunsOutput {
                format,
                asked,
                all_columns: args.runs_all_columns,
            })),
            None if args.runs_all_columns => Err(Failure::Invalid(
                "error: --runs-all-columns adds columns to the per-run file, and --runs-format none writes none\n  \
                 = hint: give --runs-format parquet or csv, or leave --runs-all-columns out"
                    .into(),
            )),
            None => Ok(None),
        }
    }
}

/// Refuses a `--precision` outside (0, 0.5) (a half-width of 0.5 or more holds for any
/// probability) and one with a Latin hypercube, whose size is fixed in advance.
fn check_precision(h: f64, sampling: Sampling) -> Result<f64, Failure> {
    if !(h > 0.0 && h < 0.5) {
        return Err(Failure::Invalid(format!(
            "error: --precision must be between 0 and 0.5, got {h}"
        )));
    }
    if sampling != Sampling::MonteCarlo {
        return Err(Failure::Invalid(
            "error: --precision grows the run count batch by batch, which a Latin hypercube (fixed size) cannot; use --sampling mc".into(),
        ));
    }
    Ok(h)
}

/// `compare`, checked.
#[derive(Debug)]
pub struct CompareOptions {
    /// The base scenario first, then the variants; each as read and as compiled.
    pub scenarios: Vec<(Scenario, Model)>,
    pub study: StudyOptions,
    /// The output folder, DIR/compare.
    pub folder: PathBuf,
    pub charts: bool,
    pub json: bool,
}

impl CompareOptions {
    pub fn new(args: CompareArgs) -> Result<CompareOptions, Failure> {
        let mut scenarios = Vec::new();
        for path in &args.scenarios {
            let s = scenario::load(path).map_err(|d| Failure::Invalid(d.render(use_color())))?;
            let m =
                model::compile(s.clone()).map_err(|d| Failure::Invalid(d.render(use_color())))?;
            scenarios.push((s, m));
        }
        let Some((_, base)) = scenarios.first() else {
            return Err(Failure::Invalid(
                "error: give a base scenario and at least one variant".into(),
            ));
        };
        let study = StudyOptions::new(base, &args.common)?;
        Ok(CompareOptions {
            scenarios,
            study,
            folder: args.out.join("compare"),
            charts: !args.no_charts,
            json: args.json,
        })
    }
}

/// The most `--param` axes: a sweep draws a curve (one) or a heatmap (two).
pub const MAX_SWEEP_AXES: usize = 2;

/// `sweep`, checked.
#[derive(Debug)]
pub struct SweepOptions {
    pub model: Model,
    pub study: StudyOptions,
    pub axes: Vec<Axis>,
    /// The `--param` values as given, for the manifest.
    pub grids_as_given: Vec<String>,
    /// The output folder, DIR/<scenario file stem>/sweep.
    pub folder: PathBuf,
    pub charts: bool,
    pub json: bool,
    pub main_outcome: Option<String>,
}

impl SweepOptions {
    pub fn new(args: SweepArgs) -> Result<SweepOptions, Failure> {
        let model = load_model(args.scenario.as_deref())?;
        let study = StudyOptions::new(&model, &args.common)?;
        if args.params.len() > MAX_SWEEP_AXES {
            return Err(Failure::Invalid(
                "error: --param takes one or two parameters".into(),
            ));
        }
        let axes = args
            .params
            .iter()
            .map(|grid| axis_of(&model, grid))
            .collect::<Result<Vec<_>, _>>()?;
        if axes.len() == 2 && axes[0].parameter == axes[1].parameter {
            return Err(Failure::Invalid(
                "error: the two --param axes must be different parameters".into(),
            ));
        }
        let main_outcome = check_main_outcome(&model, args.main_outcome)?;
        Ok(SweepOptions {
            folder: args.out.join(&model.stem).join("sweep"),
            grids_as_given: args.params.into_iter().map(|g| g.as_given).collect(),
            model,
            study,
            axes,
            charts: !args.no_charts,
            json: args.json,
            main_outcome,
        })
    }
}

/// The sweep axis of a `--param` whose parameter the scenario has.
fn axis_of(model: &Model, grid: &GridFlag) -> Result<Axis, Failure> {
    let id = grid.parameter.as_str();
    let index = model.parameter_index(id).ok_or_else(|| {
        let hint = suggest(id, model.parameters.iter().map(|p| p.id.as_str()))
            .unwrap_or_else(|| "see the scenario's [parameters]".into());
        Failure::Invalid(format!("error: --param unknown parameter `{id}` ({hint})"))
    })?;
    Ok(Axis::evenly_spaced(
        model, index, grid.low, grid.high, grid.steps,
    ))
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

/// How `sensitivity` measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SensitivityMethod {
    Tornado,
    Sobol { resamples: usize },
}

/// `sensitivity`, checked.
#[derive(Debug)]
pub struct SensitivityOptions {
    pub model: Model,
    pub study: StudyOptions,
    pub target: Target,
    /// `--target` as given, for the manifest.
    pub target_as_given: Option<String>,
    pub method: SensitivityMethod,
    /// The parameters the study varies (not fixed by the scenario or `--set`).
    pub varied: u64,
    /// The output folder, DIR/<scenario file stem>/sensitivity.
    pub folder: PathBuf,
    pub charts: bool,
    pub json: bool,
}

impl SensitivityOptions {
    pub fn new(args: SensitivityArgs) -> Result<SensitivityOptions, Failure> {
        let model = load_model(args.scenario.as_deref())?;
        let study = StudyOptions::new(&model, &args.common)?;
        let target = Target::resolve(&model, args.target.as_deref())
            .map_err(|e| Failure::Invalid(format!("error: --target: {e}")))?;
        let varied = varied_parameters(&model, &study.config).len() as u64;
        // Checked with either method: a flag given is a flag the user means, and a bad one
        // should not pass unseen because this method happens not to read it.
        if args.resamples == 0 || args.resamples > MAX_RESAMPLES {
            return Err(Failure::Invalid(format!(
                "error: --resamples must be between 1 and {MAX_RESAMPLES}, got {}",
                args.resamples
            )));
        }
        let method = match args.method {
            Method::Tornado => SensitivityMethod::Tornado,
            Method::Sobol => {
                check_sobol_size(study.config.runs, varied)?;
                check_sobol_independence(&model, &study.config)?;
                SensitivityMethod::Sobol {
                    resamples: args.resamples,
                }
            }
        };
        Ok(SensitivityOptions {
            folder: args.out.join(&model.stem).join("sensitivity"),
            model,
            study,
            target,
            target_as_given: args.target,
            method,
            varied,
            charts: !args.no_charts,
            json: args.json,
        })
    }
}

/// Refuses a Sobol design too small to estimate or too large to hold.
fn check_sobol_size(runs: u64, varied: u64) -> Result<(), Failure> {
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
    Ok(())
}

/// Refuses Sobol indices when two parameters the study varies are correlated: the indices
/// (and Saltelli's design, which swaps one column at a time) assume independent inputs. A
/// pair with a parameter held by `--set` no longer ties two varied inputs, and passes.
fn check_sobol_independence(model: &Model, config: &StudyConfig) -> Result<(), Failure> {
    let Some(correlations) = &model.correlations else {
        return Ok(());
    };
    let varied: Vec<&str> = varied_parameters(model, config)
        .into_iter()
        .map(|i| model.parameters[i].id.as_str())
        .collect();
    let tied: Vec<String> = correlations
        .pairs
        .iter()
        .filter(|(a, b, rank)| {
            *rank != 0.0 && varied.contains(&a.as_str()) && varied.contains(&b.as_str())
        })
        .map(|(a, b, rank)| format!("`{a}`~`{b}` {rank}"))
        .collect();
    if tied.is_empty() {
        return Ok(());
    }
    Err(Failure::Invalid(format!(
        "error: --method sobol assumes independent parameters, but the scenario's [correlations] tie {}
           = hint: use --method tornado (one parameter at a time), remove the pairs from [correlations] (or a variant that sets `pairs = []`), or hold one parameter of each pair with --set",
        tied.join(", ")
    )))
}

/// `backtest`, checked.
#[derive(Debug)]
pub struct BacktestOptions {
    /// Where the cases came from, for the table: the folder as given, or the shipped cases.
    pub cases_from: String,
    /// Every case, sorted by file name.
    pub cases: Vec<Model>,
    /// Scenario files in the folder without a `[backtest]` table (a shared base).
    pub skipped: Vec<PathBuf>,
    pub config: BacktestConfig,
    pub threads: Threads,
    /// No progress bar, no notes on stderr.
    pub quiet: bool,
    /// The output folder, DIR/backtest.
    pub folder: PathBuf,
    pub json: bool,
}

impl BacktestOptions {
    pub fn new(args: BacktestArgs) -> Result<BacktestOptions, Failure> {
        let threads = Threads::check(args.threads)?;
        let runs = check_runs(args.runs)?;
        let (cases, skipped, cases_from) = match &args.dir {
            Some(dir) => {
                let (cases, skipped) = load_cases(dir)?;
                (cases, skipped, dir.display().to_string())
            }
            None => (
                shipped_cases()?,
                Vec::new(),
                "the shipped cases".to_string(),
            ),
        };
        let cases = select_cases(cases, &args.case)?;
        Ok(BacktestOptions {
            cases,
            skipped,
            config: BacktestConfig {
                runs,
                seed: args.seed,
            },
            threads,
            quiet: args.quiet,
            folder: args.out.join("backtest"),
            json: args.json,
            cases_from,
        })
    }
}

/// The cases `backtest --case` names, in the folder's order: each flag must name a case by its
/// id (the file's stem) or its file (as the table shows it, or its end); none names them all.
fn select_cases(cases: Vec<Model>, wanted: &[String]) -> Result<Vec<Model>, Failure> {
    if wanted.is_empty() {
        return Ok(cases);
    }
    let names = |c: &Model, w: &str| {
        let w = w.trim_start_matches("./");
        c.stem == w || c.file == w || c.file.ends_with(&format!("/{w}"))
    };
    for w in wanted {
        if !cases.iter().any(|c| names(c, w)) {
            let hint = suggest(w, cases.iter().map(|c| c.stem.as_str())).unwrap_or_else(|| {
                let ids: Vec<&str> = cases.iter().map(|c| c.stem.as_str()).collect();
                format!("cases: {}", ids.join(", "))
            });
            return Err(Failure::Invalid(format!(
                "error: --case `{w}` names no case\n  = hint: {hint}"
            )));
        }
    }
    Ok(cases
        .into_iter()
        .filter(|c| wanted.iter().any(|w| names(c, w)))
        .collect())
}

/// `--outcome ID` as an index into the model's outcomes (the first when not given).
fn resolve_outcome(model: &Model, id: Option<&str>) -> Result<usize, Failure> {
    let Some(id) = id else {
        return Ok(0);
    };
    model.outcome_index(id).ok_or_else(|| {
        let names: Vec<&str> = model.outcomes.iter().map(|o| o.id.as_str()).collect();
        let hint = suggest(id, names.iter().copied())
            .unwrap_or_else(|| format!("outcomes: {}", names.join(", ")));
        Failure::Invalid(format!(
            "error: --outcome: `{id}` is not an outcome of this scenario\n  = hint: {hint}"
        ))
    })
}

/// `signposts`, checked: the scenario compiled with every candidate sign as a probe, in the
/// candidates' order.
#[derive(Debug)]
pub struct SignpostsOptions {
    pub model: Model,
    pub study: StudyOptions,
    pub config: SignpostsConfig,
    pub candidates: Vec<Candidate>,
    pub horizon: chrono::NaiveDate,
    pub top: usize,
    /// The output folder, DIR/<scenario file stem>/signposts.
    pub folder: PathBuf,
    pub charts: bool,
    pub json: bool,
}

/// The most signs `signposts` reads per run: each is a value per run in every block of rows.
pub const MAX_SIGNS: usize = 2000;

impl SignpostsOptions {
    pub fn new(args: SignpostsArgs) -> Result<SignpostsOptions, Failure> {
        let mut scenario = load_scenario(args.scenario.as_deref())?;
        let horizon_step = signposts::horizon(&scenario);
        let horizon = scenario.time.date_of(horizon_step);
        let dates = if args.date.is_empty() {
            signposts::default_dates(&scenario)
        } else {
            let mut dates = Vec::new();
            for text in &args.date {
                let date =
                    chrono::NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d").map_err(|_| {
                        Failure::Invalid(format!(
                        "error: --date: `{text}` is not a date\n  = hint: write it as YYYY-MM-DD"
                    ))
                    })?;
                match scenario.time.step_of(date) {
                    Some(step) if step < horizon_step => {}
                    Some(_) => {
                        return Err(Failure::Invalid(format!(
                            "error: --date {date} is not before the horizon, {horizon} (the step of the last dated decision): a sign read then cannot foretell it\n  = hint: give a date before {horizon}"
                        )))
                    }
                    None => {
                        return Err(Failure::Invalid(format!(
                            "error: --date {date} is outside the scenario's time axis, which starts {}",
                            scenario.time.start
                        )))
                    }
                }
                if !dates.contains(&date) {
                    dates.push(date);
                }
            }
            dates.sort();
            dates
        };
        if dates.is_empty() && args.watch.is_empty() {
            return Err(Failure::Invalid(format!(
                "error: the scenario has no step before its horizon, {horizon} (the last dated decision), to read signs at\n  = hint: watch an expression at a date with --watch \"EXPR @ DATE\""
            )));
        }
        // Probe k is candidate k: the watched expressions, then the generated signs.
        let generated = signposts::candidates(&scenario, &dates);
        let mut candidates = Vec::with_capacity(args.watch.len() + generated.len());
        for (n, flag) in args.watch.iter().enumerate() {
            let source = format!("--watch {}", n + 1);
            let k = scenario
                .add_probe(flag, &source, ProbeRole::Watch)
                .map_err(invalid)?;
            let p = &scenario.probes[k];
            candidates.push(Candidate {
                subject: p.expr.text.trim().to_string(),
                probe: p.text.clone(),
                label: p.expr.text.trim().to_string(),
                label_not: None,
                kind: SignKind::Watched,
                date: p.date,
            });
        }
        for c in generated {
            scenario
                .add_probe(&c.probe, "a signpost", ProbeRole::Watch)
                .map_err(invalid)?;
            candidates.push(c);
        }
        if candidates.len() > MAX_SIGNS {
            return Err(Failure::Invalid(format!(
                "error: {} signs to read (subjects x dates) is more than {MAX_SIGNS}\n  = hint: give fewer --date",
                candidates.len()
            )));
        }
        let model = model::compile(scenario).map_err(invalid)?;
        let outcome = resolve_outcome(&model, args.outcome.as_deref())?;
        let mut study = StudyOptions::new(&model, &args.common)?;
        study.config.timeline = false;
        if study.config.runs < 200 {
            return Err(Failure::Invalid(format!(
                "error: --runs {} is too few to choose signs on half the runs and measure them on the other half\n  = hint: give at least 200 runs; 100,000 is a good start",
                study.config.runs
            )));
        }
        if args.top == 0 {
            return Err(Failure::Invalid(
                "error: --top must be at least 1".to_string(),
            ));
        }
        Ok(SignpostsOptions {
            folder: args.out.join(&model.stem).join("signposts"),
            model,
            study,
            config: SignpostsConfig {
                outcome,
                pilot_runs: signposts::PILOT_RUNS,
            },
            candidates,
            horizon,
            top: args.top,
            charts: !args.no_charts,
            json: args.json,
        })
    }
}

/// `discover`, checked.
#[derive(Debug)]
pub struct DiscoverOptions {
    pub model: Model,
    pub study: StudyOptions,
    pub target: DiscoverTarget,
    pub config: DiscoverConfig,
    /// The output folder, DIR/<scenario file stem>/discover.
    pub folder: PathBuf,
    pub charts: bool,
    pub json: bool,
}

impl DiscoverOptions {
    pub fn new(args: DiscoverArgs) -> Result<DiscoverOptions, Failure> {
        let (model, target) = match &args.when {
            None => {
                let model = load_model(args.scenario.as_deref())?;
                let outcome = resolve_outcome(&model, args.outcome.as_deref())?;
                (model, DiscoverTarget::Outcome(outcome))
            }
            Some(when) => {
                let mut scenario = load_scenario(args.scenario.as_deref())?;
                // Without a date, the state at the end of the run: the last step's.
                let text = if when.contains('@') {
                    when.clone()
                } else {
                    let last = scenario.time.date_of(scenario.time.steps.saturating_sub(1));
                    format!("{when} @ {last}")
                };
                let probe = scenario
                    .add_probe(&text, "--when", ProbeRole::Condition)
                    .map_err(invalid)?;
                let model = model::compile(scenario).map_err(invalid)?;
                (model, DiscoverTarget::Condition { probe, text })
            }
        };
        let mut study = StudyOptions::new(&model, &args.common)?;
        // The search reads end-of-run outcomes only.
        study.config.timeline = false;
        let share = |name: &str, v: f64, lo: f64, hi: f64| {
            if v.is_finite() && v > lo && v < hi {
                Ok(v)
            } else {
                Err(Failure::Invalid(format!(
                    "error: {name} must be a share strictly between {lo} and {hi}, got {v}"
                )))
            }
        };
        let min_coverage = share("--min-coverage", args.min_coverage, 0.0, 1.0)?;
        let peel_alpha = share("--peel", args.peel, 0.0, 0.5)?;
        // Each resample is a whole search: the limit keeps the command's time bounded.
        const MAX_DISCOVER_RESAMPLES: usize = 200;
        if args.resamples > MAX_DISCOVER_RESAMPLES {
            return Err(Failure::Invalid(format!(
                "error: --resamples must be at most {MAX_DISCOVER_RESAMPLES}, got {}",
                args.resamples
            )));
        }
        if study.config.runs < 20 {
            return Err(Failure::Invalid(format!(
                "error: --runs {} is too few to find a box on half the runs and measure it on the other half\n  = hint: give at least 20 runs; 100,000 is a good start",
                study.config.runs
            )));
        }
        Ok(DiscoverOptions {
            folder: args.out.join(&model.stem).join("discover"),
            model,
            study,
            target,
            config: DiscoverConfig {
                peel_alpha,
                min_coverage,
                resamples: args.resamples,
                ..DiscoverConfig::default()
            },
            charts: !args.no_charts,
            json: args.json,
        })
    }
}

/// `calibrate`, checked.
#[derive(Debug)]
pub struct CalibrateOptions {
    pub cases_from: String,
    pub cases: Vec<Model>,
    pub skipped: Vec<PathBuf>,
    /// Whether the cases are the shipped ones, whose bases are not on disk.
    pub shipped: bool,
    pub config: CalibrateConfig,
    pub threads: Threads,
    pub quiet: bool,
    /// The output folder, DIR/calibrate.
    pub folder: PathBuf,
    pub json: bool,
}

impl CalibrateOptions {
    pub fn new(args: CalibrateArgs) -> Result<CalibrateOptions, Failure> {
        let threads = Threads::check(args.threads)?;
        let runs = check_runs(args.runs)?;
        if !(args.min_ess.is_finite() && args.min_ess >= 1.0) {
            return Err(Failure::Invalid(format!(
                "error: --min-ess must be a number of runs, at least 1 (got {})",
                args.min_ess
            )));
        }
        if (runs as f64) < args.min_ess {
            return Err(Failure::Invalid(format!(
                "error: --runs {runs} is below --min-ess {}: the weights could never be trusted
  = hint: give more runs (the default is 20,000)",
                args.min_ess
            )));
        }
        let shipped = args.dir.is_none();
        let (cases, skipped, cases_from) = match &args.dir {
            Some(dir) => {
                let (cases, skipped) = load_cases(dir)?;
                (cases, skipped, dir.display().to_string())
            }
            None => (
                shipped_cases()?,
                Vec::new(),
                "the shipped cases".to_string(),
            ),
        };
        let seed = args
            .seed
            .unwrap_or_else(|| cases.first().map_or(0, |m| m.default_seed));
        Ok(CalibrateOptions {
            cases,
            skipped,
            shipped,
            config: CalibrateConfig {
                runs,
                seed,
                min_effective_sample_size: args.min_ess,
            },
            threads,
            quiet: args.quiet,
            folder: args.out.join("calibrate"),
            json: args.json,
            cases_from,
        })
    }
}

/// The backtest cases that go with the binary (`scenarios/history`), in file-name order.
fn shipped_cases() -> Result<Vec<Model>, Failure> {
    let prefix = format!("{}/", scenario::SHIPPED_HISTORY);
    let mut cases = Vec::new();
    for (name, _) in scenario::SHIPPED {
        if name.starts_with(&prefix) {
            let scenario = scenario::load_shipped(name)
                .map_err(|d| Failure::Invalid(d.render(use_color())))?;
            cases.push(
                model::compile(scenario).map_err(|d| Failure::Invalid(d.render(use_color())))?,
            );
        }
    }
    Ok(cases)
}

/// Loads every `*.toml` in `dir` (sorted by name): the cases (files with a `[backtest]` table)
/// and the files skipped. All invalid files are reported together.
fn load_cases(dir: &Path) -> Result<(Vec<Model>, Vec<PathBuf>), Failure> {
    let entries = std::fs::read_dir(dir).map_err(|e| {
        Failure::Invalid(format!(
            "error: cannot read the backtest folder `{}`: {e}\n  = hint: give a folder of case files, e.g. `alliance-sim backtest scenarios/history`",
            dir.display()
        ))
    })?;
    let mut files = Vec::new();
    collect_case_files(entries, 0, &mut files);
    files.sort();
    let mut cases = Vec::new();
    let mut skipped = Vec::new();
    let mut failures = Vec::new();
    for file in files {
        match load_model(Some(&file)) {
            Ok(model) if model.backtest.is_some() => cases.push(model),
            Ok(_) => skipped.push(file),
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
    Ok((cases, skipped))
}

/// Every `*.toml` file under `dir`, one story per subfolder (`history/thaad/`), at most a few
/// folders deep so that a link loop cannot hold the command.
fn collect_case_files(entries: std::fs::ReadDir, depth: usize, files: &mut Vec<PathBuf>) {
    const MAX_DEPTH: usize = 3;
    for path in entries.filter_map(|e| e.ok().map(|e| e.path())) {
        if path.is_file() && path.extension().is_some_and(|x| x == "toml") {
            files.push(path);
        } else if path.is_dir() && depth < MAX_DEPTH {
            if let Ok(inner) = std::fs::read_dir(&path) {
                collect_case_files(inner, depth + 1, files);
            }
        }
    }
}

/// `explain`, checked.
#[derive(Debug)]
pub struct ExplainOptions {
    pub model: Model,
    /// The study the replayed run belongs to.
    pub config: StudyConfig,
    /// The run to replay, within the study's runs.
    pub run: u64,
    pub all_rules: bool,
    pub json: bool,
}

impl ExplainOptions {
    pub fn new(args: ExplainArgs) -> Result<ExplainOptions, Failure> {
        let (model, config) = study_of(&args)?;
        if config.runs == 0 {
            return Err(Failure::Invalid("error: --runs must be at least 1".into()));
        }
        if args.run >= config.runs {
            let hint = if args.study.is_some() {
                String::new()
            } else {
                "\n  = hint: give the study's run count with --runs N, or point --study at its folder"
                    .into()
            };
            return Err(Failure::Invalid(format!(
                "error: --run {}: the study has {} runs (0 to {}){hint}",
                args.run,
                config.runs,
                config.runs - 1
            )));
        }
        Ok(ExplainOptions {
            model,
            config,
            run: args.run,
            all_rules: args.all_rules,
            json: args.json,
        })
    }
}

/// The study a replayed run belongs to: from its summary.json with `--study`, else from the
/// flags and the scenario's defaults. A run's parameters depend on the seed, the sampling
/// design and (for a Latin hypercube) the run count, so all three must be the study's.
fn study_of(args: &ExplainArgs) -> Result<(Model, StudyConfig), Failure> {
    let Some(dir) = &args.study else {
        let model = load_model(args.scenario.as_deref())?;
        let config = StudyConfig {
            runs: args.runs.unwrap_or(model.default_runs),
            seed: args.seed.unwrap_or(model.default_seed),
            fixed: resolve_sets(&model, &args.set)?,
            timeline: false,
            sampling: args.sampling.unwrap_or_default().into(),
            design: None,
            replications: 1,
        };
        return Ok((model, config));
    };
    let path = if dir.is_file() {
        dir.clone()
    } else {
        dir.join("summary.json")
    };
    let summary = crate::report::read_summary_json(&path)
        .map_err(|e| Failure::Invalid(format!("error: --study: {e}")))?;
    let model = match &args.scenario {
        Some(p) => load_model(Some(p))?,
        None if summary.scenario.file == scenario::DEFAULT_SCENARIO_NAME => load_model(None)?,
        None => load_model(Some(Path::new(&summary.scenario.file)))?,
    };
    if model.sha256 != summary.scenario.sha256 {
        return Err(Failure::Invalid(format!(
            "error: --study: {} was run on another version of the scenario (sha256 {}), not {} (sha256 {})\n  = hint: name the scenario file the study was run on",
            path.display(),
            summary.scenario.sha256,
            model.file,
            model.sha256
        )));
    }
    let sampling = match summary.sampling.as_str() {
        s if s == Sampling::MonteCarlo.name() => Sampling::MonteCarlo,
        s if s == Sampling::LatinHypercube.name() => Sampling::LatinHypercube,
        other => {
            return Err(Failure::Invalid(format!(
                "error: --study: {}: unknown sampling `{other}`",
                path.display()
            )))
        }
    };
    let mut fixed = Vec::new();
    for f in &summary.fixed {
        let index = model.parameter_index(&f.id).ok_or_else(|| {
            Failure::Invalid(format!(
                "error: --study: {} holds `{}` fixed, which the scenario does not have",
                path.display(),
                f.id
            ))
        })?;
        fixed.push((index, f.value));
    }
    let config = StudyConfig {
        runs: summary.runs,
        seed: summary.seed,
        fixed,
        timeline: false,
        sampling,
        design: None,
        replications: 1,
    };
    Ok((model, config))
}
