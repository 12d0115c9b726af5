//! Every command's arguments, as clap defines them, and nothing else: this is the one file that
//! says what users can type. Flag syntaxes are parsed by [`super::syntax`] as clap reads them;
//! everything else is checked and turned into validated options by [`super::options`], before
//! a command does anything.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use super::syntax::{self, GridFlag, SetFlag};
use crate::montecarlo::shard::Shard;

#[derive(Debug, Parser)]
#[command(
    name = "alliance-sim",
    version,
    about = "Monte Carlo simulator for alliance decisions, driven by TOML scenarios",
    long_about = "Monte Carlo simulator for alliance decisions, driven by TOML scenarios.\n\n\
        With no command it runs the built-in default scenario: Seoul, Tokyo and Washington \
        and Seoul's 2019 decision on GSOMIA, its intelligence-sharing pact with Japan.",
    after_help = "Examples:\n  alliance-sim                                   run the default scenario\n  \
        alliance-sim run scenarios/gsomia_2019.toml --runs 100000 --seed 7\n  \
        alliance-sim run --set nk_threat=0.9\n  \
        alliance-sim validate scenarios/*.toml"
)]
pub struct Cli {
    /// When to colour messages on stderr: auto (a terminal, and NO_COLOR unset), always, never
    #[arg(long, global = true, value_enum, value_name = "WHEN", default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// `--color`, as ripgrep and hyperfine spell it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    /// Colour when stderr is a terminal and NO_COLOR is unset or empty
    #[default]
    Auto,
    /// Always colour, whatever stderr is and whatever NO_COLOR says
    Always,
    /// Never colour
    Never,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a scenario and write the summary, per-run rows and charts
    Run(RunArgs),
    /// Check scenario files without running them
    Validate(ValidateArgs),
    /// Redraw the charts and report.html from a study's summary.json
    Report(ReportArgs),
    /// Combine partial results of `run --shard K/N` into one summary
    Merge(MergeArgs),
    /// Score the model against history: run each case in a folder and compare with what happened
    Backtest(BacktestArgs),
    /// Fit the parameters marked `calibrate = true` to the backtest cases, and score the
    /// forecasts in sample, leaving each case out, and in time order
    Calibrate(CalibrateArgs),
    /// Run a base scenario and variants on common random numbers and compare outcomes
    Compare(CompareArgs),
    /// Run the scenario over a grid of one or two parameters' values
    Sweep(SweepArgs),
    /// Rank parameters by how much they move an outcome or metric (tornado or Sobol)
    Sensitivity(SensitivityArgs),
    /// Find the regions of the parameter space where an outcome is concentrated (PRIM)
    Discover(DiscoverArgs),
    /// Rank observable signs (events, state levels, decisions by a date) by how much seeing
    /// them would move an outcome's probability: a watch list
    Signposts(SignpostsArgs),
    /// Replay one run and tell its story: parameters, events, rules, decisions, outcome
    Explain(ExplainArgs),
    /// Write a small commented starter scenario
    Init(InitArgs),
    /// Print shell completions
    Completions(CompletionsArgs),
}

impl Command {
    /// Whether `-q` was given: the command prints only errors, warnings and `--json`'s output.
    pub fn quiet(&self) -> bool {
        match self {
            Command::Run(a) => a.common.quiet,
            Command::Compare(a) => a.common.quiet,
            Command::Sweep(a) => a.common.quiet,
            Command::Sensitivity(a) => a.common.quiet,
            Command::Discover(a) => a.common.quiet,
            Command::Signposts(a) => a.common.quiet,
            Command::Backtest(a) => a.quiet,
            Command::Calibrate(a) => a.quiet,
            Command::Validate(_)
            | Command::Report(_)
            | Command::Merge(_)
            | Command::Explain(_)
            | Command::Init(_)
            | Command::Completions(_) => false,
        }
    }
}

impl Default for Command {
    /// `run` with every option at its command-line default (so `--out` is `output`, not empty).
    fn default() -> Command {
        Cli::try_parse_from(["alliance-sim", "run"])
            .ok()
            .and_then(|cli| cli.command)
            .unwrap_or_else(|| Command::Run(RunArgs::default()))
    }
}

/// `--threads`: every command that runs simulations has it, `backtest` included.
#[derive(Debug, Clone, Copy, Args, Default)]
pub struct ThreadsArgs {
    /// Worker threads [default: all cores]; results do not depend on it
    #[arg(long, short = 'j', value_name = "T")]
    pub threads: Option<usize>,
}

/// Options shared by every command that runs one study of a scenario (`run`, `compare`,
/// `sweep`, `sensitivity`); `backtest` runs many scenarios, so it has its own `--runs` and
/// `--seed` but the same `--threads` and the same checks.
#[derive(Debug, Clone, Args, Default)]
pub struct CommonRunArgs {
    /// Number of runs [default: the scenario's `runs`]
    #[arg(long, short = 'n', value_name = "N")]
    pub runs: Option<u64>,
    /// Random seed [default: the scenario's `seed`]
    #[arg(long, short = 's', value_name = "S")]
    pub seed: Option<u64>,
    #[command(flatten)]
    pub threads: ThreadsArgs,
    /// Hold a parameter at a value instead of sampling it (repeatable)
    #[arg(long = "set", value_name = "ID=VALUE", value_parser = syntax::parse_set)]
    pub set: Vec<SetFlag>,
    /// Print nothing but errors and warnings: no progress bar, table or list of files (the
    /// JSON of --json is still printed)
    #[arg(long, short = 'q')]
    pub quiet: bool,
    /// How parameters are sampled
    #[arg(long, value_enum, default_value_t = SamplingArg::Mc)]
    pub sampling: SamplingArg,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, ValueEnum)]
pub enum SamplingArg {
    /// Plain Monte Carlo: independent draws
    #[default]
    Mc,
    /// Latin hypercube: each parameter's runs spread one per equal-probability stratum
    Lhs,
}

impl From<SamplingArg> for crate::montecarlo::Sampling {
    fn from(s: SamplingArg) -> Self {
        match s {
            SamplingArg::Mc => crate::montecarlo::Sampling::MonteCarlo,
            SamplingArg::Lhs => crate::montecarlo::Sampling::LatinHypercube,
        }
    }
}

/// `run --runs-format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RunsFormatArg {
    /// runs.parquet: typed, compressed columns
    Parquet,
    /// runs.csv: text, one line per run
    Csv,
    /// No per-run file
    None,
}

#[derive(Debug, Clone, Args, Default)]
#[command(after_help = "Examples:\n  alliance-sim run\n  \
    alliance-sim run scenarios/gsomia_2019_strong_lobbying.toml --runs 100000\n  \
    alliance-sim run --set japan_export_controls=1 --set us_lobbying_intensity=0.2 --out results\n  \
    alliance-sim run --runs 100000 --replications 50     (2,000 parameter sets, 50 runs each)\n  \
    alliance-sim run --given \"pyongyang.tests >= 3 @ 2019-10-01\"")]
pub struct RunArgs {
    /// Scenario file [default: the built-in GSOMIA 2019 scenario]
    pub scenario: Option<PathBuf>,
    #[command(flatten)]
    pub common: CommonRunArgs,
    /// Folder for results; they go to DIR/<scenario file stem>/
    #[arg(long, short = 'o', value_name = "DIR", default_value = "output")]
    pub out: PathBuf,
    /// The per-run file (one row per run): parquet writes runs.parquet (typed, compressed
    /// columns, fast), csv writes runs.csv (text), none neither [default: parquet]
    #[arg(long, value_enum, value_name = "FORMAT")]
    pub runs_format: Option<RunsFormatArg>,
    /// The same as --runs-format none (its name from when runs.csv was the only format)
    #[arg(long, hide = true, conflicts_with = "runs_format")]
    pub no_runs_csv: bool,
    /// Give every parameter a column in the per-run file, also those that cannot vary (held
    /// by --set or by a distribution with one value), which are left out otherwise
    #[arg(long)]
    pub runs_all_columns: bool,
    /// Do not draw charts or the HTML report
    #[arg(long)]
    pub no_charts: bool,
    /// Do not record every metric at every step (the timeline chart): about half the work of
    /// a run; end-of-run results are the same
    #[arg(long)]
    pub no_timeline: bool,
    /// Also write timeline.csv: every metric at every step of every run, in long form (run,
    /// step, date, metric, value); steps x metrics lines per run
    #[arg(long, conflicts_with_all = ["no_timeline", "shard"])]
    pub timeline_long: bool,
    /// Print the summary as JSON on stdout instead of the table
    #[arg(long)]
    pub json: bool,
    /// Outcome whose drivers the charts show [default: the one best estimated in every bin]
    #[arg(long, value_name = "OUTCOME")]
    pub main_outcome: Option<String>,
    /// Run only the K-th of N equal shares of the runs and write a partial result for `merge`
    #[arg(long, value_name = "K/N", value_parser = syntax::parse_shard, conflicts_with = "precision")]
    pub shard: Option<Shard>,
    /// Stop once every outcome's 95% interval lies within H of its probability on both sides
    /// (--runs is the ceiling; the output says plainly when it came first)
    #[arg(long, value_name = "H")]
    pub precision: Option<f64>,
    /// Count only the runs whose state at DATE meets EXPR, e.g. "pyongyang.tests >= 3 @
    /// 2019-10-01" (repeatable; read at the end of the step that holds DATE; every run is still
    /// in the per-run file)
    #[arg(long, value_name = "EXPR @ DATE", conflicts_with_all = ["shard", "precision"])]
    pub given: Vec<String>,
    /// Evaluate the rows of a CSV design: a header of parameter ids, one row of values per run
    /// (run K takes row K; parameters not in the file are sampled as usual)
    #[arg(long, value_name = "FILE", conflicts_with_all = ["shard", "precision"])]
    pub design: Option<PathBuf>,
    /// Run each parameter set R times, re-drawing only chance (events and choices), to see
    /// each outcome's probability across inputs and how much of its variance they make;
    /// --runs counts every run, N/R parameter sets [default runs: the scenario's, rounded
    /// down to whole sets]
    #[arg(long, value_name = "R", conflicts_with_all = ["given", "precision"])]
    pub replications: Option<u64>,
}

#[derive(Debug, Clone, Args)]
#[command(after_help = "Examples:\n  alliance-sim report output/gsomia_2019\n  \
    alliance-sim report output/gsomia_2019/summary.json --main-outcome suspended")]
pub struct ReportArgs {
    /// A study's output folder (or its summary.json)
    pub dir: PathBuf,
    /// Outcome whose drivers the charts show [default: the one best estimated in every bin]
    #[arg(long, value_name = "OUTCOME")]
    pub main_outcome: Option<String>,
}

#[derive(Debug, Clone, Args)]
#[command(after_help = "Examples:\n  \
    for k in 1 2 3 4; do alliance-sim run --runs 1000000 --shard $k/4 --out shards -q & done; wait\n  \
    alliance-sim merge shards/gsomia_2019/partial-*-of-4.json\n  \
    parallel alliance-sim run --runs 1000000 --shard {}/4 --out shards -q ::: 1 2 3 4")]
pub struct MergeArgs {
    /// Partial results written by `run --shard K/N`
    #[arg(required = true)]
    pub partials: Vec<PathBuf>,
    /// Scenario file [default: the file recorded in the partials]
    #[arg(long)]
    pub scenario: Option<PathBuf>,
    /// Folder for results; they go to DIR/<scenario file stem>/
    #[arg(long, short = 'o', value_name = "DIR", default_value = "output")]
    pub out: PathBuf,
    /// Do not draw charts or the HTML report
    #[arg(long)]
    pub no_charts: bool,
    /// Print the summary as JSON on stdout instead of the table
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Clone, Args)]
#[command(after_help = "Example:\n  alliance-sim validate scenarios/*.toml")]
pub struct ValidateArgs {
    /// Scenario files to check
    #[arg(required = true)]
    pub scenarios: Vec<PathBuf>,
    /// Print the result as JSON on stdout: one object per file, `valid`, and each error's
    /// message, file, line, column and hint
    #[arg(long)]
    pub json: bool,
}

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
    /// Folder of backtest cases [default: the shipped cases, scenarios/history, built into the
    /// binary]
    #[arg(value_name = "DIR")]
    pub dir: Option<PathBuf>,
    /// Runs per case
    #[arg(long, short = 'n', value_name = "N", default_value_t = 20_000)]
    pub runs: u64,
    /// One random seed for every case [default: each case's own `seed`]
    #[arg(long, short = 's', value_name = "S")]
    pub seed: Option<u64>,
    /// Score only this case: its id (the file's stem, as the table names it) or its file
    /// (repeatable) [default: every case]
    #[arg(long, value_name = "ID|FILE")]
    pub case: Vec<String>,
    #[command(flatten)]
    pub threads: ThreadsArgs,
    /// Folder for results; the report goes to DIR/backtest/backtest.json
    #[arg(long, short = 'o', value_name = "DIR", default_value = "output")]
    pub out: PathBuf,
    /// Print the report as JSON on stdout instead of the table
    #[arg(long)]
    pub json: bool,
    /// Print nothing but errors and warnings: no progress bar, notes, table or list of files
    /// (the JSON of --json is still printed)
    #[arg(long, short = 'q')]
    pub quiet: bool,
}

#[derive(Debug, Clone, Args)]
#[command(
    after_help = "Each run is weighted by the product over the cases of the probability it gave \
    the option really taken; the weighted parameter draws are the posterior. Leave-one-out \
    scores weigh by the other cases only, time-ordered scores by the earlier ones only. \
    Writes DIR/calibrate/calibration.json, the calibrated variant of each base scenario \
    (`<base>_calibrated.toml`, which `run` and every analysis take) and a chart of prior \
    against posterior. Exits 0 when it ran, 2 on an invalid case or a calibration that \
    cannot be trusted (weights that collapse, an impossible case, an unused parameter).\n\n\
    Examples:\n  alliance-sim calibrate\n  \
    alliance-sim calibrate scenarios/history --runs 50000\n  \
    alliance-sim calibrate --json -q > calibration.json\n  \
    alliance-sim run output/calibrate/gsomia_2019_calibrated.toml"
)]
pub struct CalibrateArgs {
    /// Folder of backtest cases, subfolders included [default: the shipped cases of every
    /// story, built into the binary]
    #[arg(value_name = "DIR")]
    pub dir: Option<PathBuf>,
    /// Runs per case (the same run indexes in every case)
    #[arg(long, short = 'n', value_name = "N", default_value_t = 20_000)]
    pub runs: u64,
    /// The one random seed of every case [default: the first case's `seed`]
    #[arg(long, short = 's', value_name = "S")]
    pub seed: Option<u64>,
    /// Smallest effective sample size of any set of weights that is still reported
    #[arg(long, value_name = "N", default_value_t = 100.0)]
    pub min_ess: f64,
    #[command(flatten)]
    pub threads: ThreadsArgs,
    /// Folder for results; they go to DIR/calibrate/
    #[arg(long, short = 'o', value_name = "DIR", default_value = "output")]
    pub out: PathBuf,
    /// Print the report as JSON on stdout instead of the table
    #[arg(long)]
    pub json: bool,
    /// Print nothing but errors and warnings (the JSON of --json is still printed)
    #[arg(long, short = 'q')]
    pub quiet: bool,
}

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
        num_args = 1,
        value_parser = syntax::parse_grid
    )]
    pub params: Vec<GridFlag>,
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

#[derive(Debug, Clone, Args)]
#[command(
    after_help = "Boxes are found on the even runs and measured on the odd ones, so a box's \
    density and coverage are those of runs it was not chosen on; a box is reported only when \
    its density's 95% interval lies above the outcome's share, and the answer may be that no \
    box concentrates the outcome. Writes DIR/<scenario>/discover/discovery.json and a chart of \
    the peeling trajectory and the box.\n\n\
    Examples:\n  alliance-sim discover --outcome terminated --runs 100000\n  \
    alliance-sim discover scenarios/thaad_2016.toml --outcome no_battery --min-coverage 0.3\n  \
    alliance-sim discover --when \"korea_trade_loss_busd > 5\" --runs 100000\n  \
    alliance-sim discover --outcome terminated --runs 100000 --json -q"
)]
pub struct DiscoverArgs {
    /// Scenario file [default: the built-in GSOMIA 2019 scenario]
    pub scenario: Option<PathBuf>,
    /// The outcome to explain [default: the first outcome]
    #[arg(long, value_name = "OUTCOME")]
    pub outcome: Option<String>,
    /// Explain a condition on the run's state instead of an outcome, e.g. "trade_loss > 5"
    /// (metrics by id, and anything the scenario's expressions read), at the end of the run
    /// or "@ DATE"
    #[arg(long, value_name = "EXPR [@ DATE]", conflicts_with = "outcome")]
    pub when: Option<String>,
    /// The box recommended is the densest that still holds this share of the outcome's runs
    #[arg(long, value_name = "SHARE", default_value_t = 0.3)]
    pub min_coverage: f64,
    /// Share of the box's runs each peeling step removes
    #[arg(long, value_name = "SHARE", default_value_t = 0.05)]
    pub peel: f64,
    /// Half-samples of the runs for each restriction's stability (0 to skip)
    #[arg(long, value_name = "B", default_value_t = 10)]
    pub resamples: usize,
    #[command(flatten)]
    pub common: CommonRunArgs,
    /// Folder for results; they go to DIR/<scenario file stem>/discover/
    #[arg(long, short = 'o', value_name = "DIR", default_value = "output")]
    pub out: PathBuf,
    /// Print the result as JSON on stdout instead of the table
    #[arg(long)]
    pub json: bool,
    /// Do not draw the chart
    #[arg(long)]
    pub no_charts: bool,
}

#[derive(Debug, Clone, Args)]
#[command(
    after_help = "Each sign is an event's count, a state variable or a decision's option, read \
    at the end of the step that holds a date before the horizon (the last dated decision). Its \
    levels are quantiles from a pilot pass; its best date and level are chosen on the even \
    runs, and every probability and score printed is measured on the odd runs. The score is \
    the expected fall of the Brier score from seeing the sign. Writes \
    DIR/<scenario>/signposts/signposts.json and a chart.\n\n\
    Examples:\n  alliance-sim signposts --outcome terminated --runs 100000\n  \
    alliance-sim signposts --outcome suspended --date 2019-10-01 --date 2019-11-01\n  \
    alliance-sim signposts --outcome terminated --watch \"tokyo.trade_loss_busd > 2 @ 2019-10-15\"\n  \
    alliance-sim signposts --outcome terminated --runs 100000 --json -q"
)]
pub struct SignpostsArgs {
    /// Scenario file [default: the built-in GSOMIA 2019 scenario]
    pub scenario: Option<PathBuf>,
    /// The outcome the signs foretell [default: the first outcome]
    #[arg(long, value_name = "OUTCOME")]
    pub outcome: Option<String>,
    /// A date to read the signs at (repeatable) [default: 8 dates spread before the horizon]
    #[arg(long, value_name = "YYYY-MM-DD")]
    pub date: Vec<String>,
    /// Also watch an expression of the scenario's language at a date (repeatable)
    #[arg(long, value_name = "EXPR @ DATE")]
    pub watch: Vec<String>,
    /// Rows in the printed watch list (signposts.json lists every sign)
    #[arg(long, value_name = "K", default_value_t = 12)]
    pub top: usize,
    #[command(flatten)]
    pub common: CommonRunArgs,
    /// Folder for results; they go to DIR/<scenario file stem>/signposts/
    #[arg(long, short = 'o', value_name = "DIR", default_value = "output")]
    pub out: PathBuf,
    /// Print the result as JSON on stdout instead of the table
    #[arg(long)]
    pub json: bool,
    /// Do not draw the chart
    #[arg(long)]
    pub no_charts: bool,
}

#[derive(Debug, Clone, Args)]
#[command(after_help = "Examples:\n  alliance-sim explain --run 17\n  \
    alliance-sim explain --study output/gsomia_2019 --run 42\n  \
    alliance-sim explain scenarios/gsomia_2019.toml --run 42 --seed 7 --set nk_threat=0.2\n  \
    alliance-sim explain --run 42 --sampling lhs --runs 5000")]
pub struct ExplainArgs {
    /// Scenario file [default: the study's scenario with --study, else the built-in GSOMIA 2019
    /// scenario]
    pub scenario: Option<PathBuf>,
    /// Index of the run to replay (0-based, as in runs.csv)
    #[arg(long, short = 'r', value_name = "K", default_value_t = 0)]
    pub run: u64,
    /// A study's output folder (or its summary.json): replay its run K, with its seed, run
    /// count, sampling and --set values
    #[arg(long, value_name = "DIR", conflicts_with_all = ["seed", "set", "runs", "sampling"])]
    pub study: Option<PathBuf>,
    /// Seed of the study the run belongs to [default: the scenario's seed]
    #[arg(long, short = 's', value_name = "S")]
    pub seed: Option<u64>,
    /// Runs of the study the run belongs to [default: the scenario's `runs`]; a Latin
    /// hypercube's runs depend on it
    #[arg(long, short = 'n', value_name = "N")]
    pub runs: Option<u64>,
    /// How the study sampled its parameters
    #[arg(long, value_enum)]
    pub sampling: Option<SamplingArg>,
    /// Parameters held at a value, as in `run --set` (repeatable)
    #[arg(long = "set", value_name = "ID=VALUE", value_parser = syntax::parse_set)]
    pub set: Vec<SetFlag>,
    /// Show every rule that changed state, even by tiny amounts
    #[arg(long)]
    pub all_rules: bool,
    /// Print the run as JSON on stdout instead of the story: its parameters, every event,
    /// rule and decision with the state it changed, the outcome and the end-of-run metrics
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Clone, Args)]
#[command(
    after_help = "Example:\n  alliance-sim init my_alliance && alliance-sim run my_alliance.toml"
)]
pub struct InitArgs {
    /// Name of the new scenario file (`.toml` is added if missing)
    pub name: PathBuf,
}

#[derive(Debug, Clone, Args)]
#[command(
    after_help = "Example:\n  alliance-sim completions bash > ~/.local/share/bash-completion/completions/alliance-sim"
)]
pub struct CompletionsArgs {
    /// The shell to generate completions for
    pub shell: clap_complete::Shell,
}
