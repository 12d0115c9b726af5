//! Argument definitions (clap). Parsing only: values are validated and turned into library
//! options by the command modules.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

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
    #[command(subcommand)]
    pub command: Option<Command>,
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
    Backtest(super::backtest::BacktestArgs),
    /// Run a base scenario and variants on common random numbers and compare outcomes
    Compare(super::analyze::CompareArgs),
    /// Run the scenario over a grid of one or two parameters' values
    Sweep(super::analyze::SweepArgs),
    /// Rank parameters by how much they move an outcome or metric (tornado or Sobol)
    Sensitivity(super::analyze::SensitivityArgs),
    /// Replay one run and tell its story: parameters, events, rules, decisions, outcome
    Explain(super::explain::ExplainArgs),
    /// Write a small commented starter scenario
    Init(super::init::InitArgs),
    /// Print shell completions
    Completions(super::init::CompletionsArgs),
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

/// Options shared by every command that runs simulations.
#[derive(Debug, Clone, Args, Default)]
pub struct CommonRunArgs {
    /// Number of runs [default: the scenario's `runs`]
    #[arg(long, short = 'n', value_name = "N")]
    pub runs: Option<u64>,
    /// Random seed [default: the scenario's `seed`]
    #[arg(long, short = 's', value_name = "S")]
    pub seed: Option<u64>,
    /// Worker threads [default: all cores]; results do not depend on it
    #[arg(long, short = 'j', value_name = "T")]
    pub threads: Option<usize>,
    /// Hold a parameter at a value instead of sampling it (repeatable)
    #[arg(long = "set", value_name = "ID=VALUE")]
    pub set: Vec<String>,
    /// No progress bar
    #[arg(long, short = 'q')]
    pub quiet: bool,
    /// How parameters are sampled
    #[arg(long, value_enum, default_value_t = SamplingArg::Mc)]
    pub sampling: SamplingArg,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
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

#[derive(Debug, Clone, Args, Default)]
#[command(after_help = "Examples:\n  alliance-sim run\n  \
    alliance-sim run scenarios/gsomia_2019_strong_lobbying.toml --runs 100000\n  \
    alliance-sim run --set japan_export_controls=1 --set us_lobbying_intensity=0.2 --out results")]
pub struct RunArgs {
    /// Scenario file [default: the built-in GSOMIA 2019 scenario]
    pub scenario: Option<PathBuf>,
    #[command(flatten)]
    pub common: CommonRunArgs,
    /// Folder for results; they go to DIR/<scenario file stem>/
    #[arg(long, short = 'o', value_name = "DIR", default_value = "output")]
    pub out: PathBuf,
    /// Do not write runs.csv (one row per run)
    #[arg(long)]
    pub no_runs_csv: bool,
    /// Do not draw charts or the HTML report
    #[arg(long)]
    pub no_charts: bool,
    /// Do not record every metric at every step (the timeline chart): about half the work of
    /// a run; end-of-run results are the same
    #[arg(long)]
    pub no_timeline: bool,
    /// Print the summary as JSON on stdout instead of the table
    #[arg(long)]
    pub json: bool,
    /// Outcome whose drivers the charts show [default: the first outcome]
    #[arg(long, value_name = "OUTCOME")]
    pub main_outcome: Option<String>,
    /// Run only the K-th of N equal shares of the runs and write a partial result for `merge`
    #[arg(long, value_name = "K/N")]
    pub shard: Option<String>,
    /// Stop once every outcome's 95% interval lies within H of its probability on both sides
    /// (--runs is the ceiling; the output says plainly when it came first)
    #[arg(long, value_name = "H")]
    pub precision: Option<f64>,
}

#[derive(Debug, Clone, Args)]
#[command(after_help = "Examples:\n  alliance-sim report output/gsomia_2019\n  \
    alliance-sim report output/gsomia_2019/summary.json --main-outcome suspended")]
pub struct ReportArgs {
    /// A study's output folder (or its summary.json)
    pub dir: PathBuf,
    /// Outcome whose drivers the charts show [default: the first outcome]
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
}
