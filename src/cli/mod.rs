//! The command line: parse arguments, check them, call the library, print. No simulation logic
//! lives here.
//!
//! Layers, one way: `args` (every clap definition) and `syntax` (parsers of flag syntaxes,
//! which clap calls) -> `options` (arguments checked against each other and the scenario, and
//! turned into validated options, before anything is written) -> the command modules (`run`,
//! `analyze`, `backtest`, `explain`, `init`), which act on their options with the helpers of
//! `execute` and never import from one another.
//!
//! Everything printed goes through [`print_stdout`] (the `out!`/`outln!` macros; `tell!` and
//! `tellln!` for what `-q` silences: tables, notes and lists of files) or [`print_stderr`]: they
//! escape control characters that came from a user's file, and a
//! closed stdout (`alliance-sim run --json | head -1`) ends the command quietly instead of
//! panicking as `println!` does.

/// `print!` through [`print_stdout`], returning from the enclosing function (whose error type
/// takes a [`Failure`]) when stdout is closed.
macro_rules! out {
    ($($arg:tt)*) => {
        $crate::cli::print_stdout(&format!($($arg)*))?
    };
}

/// `println!` through [`print_stdout`]; see [`out!`].
macro_rules! outln {
    ($($arg:tt)*) => {
        $crate::cli::print_stdout(&format!("{}\n", format_args!($($arg)*)))?
    };
}

/// `out!` for text meant for a person reading the terminal (tables, lists of files): `-q` silences
/// it, as it never silences errors, warnings or the output `--json` asked for.
macro_rules! tell {
    ($($arg:tt)*) => {
        if !$crate::cli::is_quiet() {
            $crate::cli::print_stdout(&format!($($arg)*))?
        }
    };
}

/// `outln!` for what `-q` silences; see [`tell!`].
macro_rules! tellln {
    ($($arg:tt)*) => {
        if !$crate::cli::is_quiet() {
            $crate::cli::print_stdout(&format!("{}\n", format_args!($($arg)*)))?
        }
    };
}

mod analyze;
mod args;
mod backtest;
mod calibrate;
mod design;
mod execute;
mod explain;
mod init;
mod options;
mod run;
mod syntax;

use std::io::IsTerminal;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::Arc;

use clap::Parser;

pub use args::Cli;
use args::Command;

/// A failure, sorted by whose it is: the user's input (exit 2) or anything else (exit 1).
#[derive(Debug)]
pub enum Failure {
    /// Bad scenario or bad arguments; the text is ready to print.
    Invalid(String),
    Other(anyhow::Error),
}

impl From<anyhow::Error> for Failure {
    fn from(e: anyhow::Error) -> Failure {
        Failure::Other(e)
    }
}

impl From<std::io::Error> for Failure {
    fn from(e: std::io::Error) -> Failure {
        Failure::Other(e.into())
    }
}

/// Stdout was closed by its reader (`| head`): not a failure, the reader has what it wanted.
#[derive(Debug)]
pub struct StdoutClosed;

impl std::fmt::Display for StdoutClosed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("stdout was closed")
    }
}

impl std::error::Error for StdoutClosed {}

/// Writes `text` to stdout with control characters other than newline and tab escaped. A
/// closed pipe becomes [`StdoutClosed`], which `main` turns into a quiet exit 0.
pub fn print_stdout(text: &str) -> Result<(), Failure> {
    use std::io::Write as _;
    let text = crate::terminal::escape_controls_keeping_layout(text);
    let mut stdout = std::io::stdout().lock();
    match stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
    {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {
            Err(Failure::Other(anyhow::Error::new(StdoutClosed)))
        }
        Err(e) => Err(Failure::Other(
            anyhow::Error::new(e).context("writing to stdout"),
        )),
    }
}

/// Writes `text` and a newline to stderr with control characters escaped, except our own
/// colour codes when stderr is a colour terminal. A closed stderr is ignored: there is no one
/// left to tell.
pub fn print_stderr(text: &str) {
    use std::io::Write as _;
    let text = if use_color() {
        crate::terminal::escape_controls_keeping_colour(text)
    } else {
        crate::terminal::escape_controls_keeping_layout(text)
    };
    let _ = writeln!(std::io::stderr().lock(), "{text}");
}

/// `--color` as given: 0 auto, 1 always, 2 never. Set once, before any command runs.
static COLOR: AtomicU8 = AtomicU8::new(0);

fn set_color(choice: args::ColorChoice) {
    let code = match choice {
        args::ColorChoice::Auto => 0,
        args::ColorChoice::Always => 1,
        args::ColorChoice::Never => 2,
    };
    COLOR.store(code, Ordering::Relaxed);
}

/// Whether to colour stderr: as `--color` says; by default when it is a terminal and `NO_COLOR`
/// is unset or empty (an explicit `--color always` wins over `NO_COLOR`, as in ripgrep).
pub fn use_color() -> bool {
    match COLOR.load(Ordering::Relaxed) {
        1 => true,
        2 => false,
        _ => {
            std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
                && std::io::stderr().is_terminal()
        }
    }
}

/// `-q` as given to the command. Set once, before the command runs.
static QUIET: AtomicBool = AtomicBool::new(false);

pub fn is_quiet() -> bool {
    QUIET.load(Ordering::Relaxed)
}

/// Set by Ctrl-C; workers check it between blocks and stop.
pub fn cancel_flag() -> Arc<AtomicBool> {
    let flag = Arc::new(AtomicBool::new(false));
    let handler_flag = flag.clone();
    // A second handler cannot be installed (tests call this more than once); the first one
    // stays in charge, which is fine for a single command per process.
    let _ = ctrlc::set_handler(move || handler_flag.store(true, Ordering::SeqCst));
    flag
}

/// Runs one command: its options first, checked in full, then the command itself.
fn dispatch(command: Command) -> Result<(), Failure> {
    match command {
        Command::Run(a) => run::run(options::RunOptions::new(a)?),
        Command::Validate(a) => run::validate(a),
        Command::Report(a) => run::report_command(a),
        Command::Merge(a) => run::merge_command(a),
        Command::Backtest(a) => backtest::run(options::BacktestOptions::new(a)?),
        Command::Calibrate(a) => calibrate::run(options::CalibrateOptions::new(a)?),
        Command::Compare(a) => analyze::compare_command(options::CompareOptions::new(a)?),
        Command::Sweep(a) => analyze::sweep_command(options::SweepOptions::new(a)?),
        Command::Sensitivity(a) => {
            analyze::sensitivity_command(options::SensitivityOptions::new(a)?)
        }
        Command::Discover(a) => analyze::discover_command(options::DiscoverOptions::new(a)?),
        Command::Signposts(a) => analyze::signposts_command(options::SignpostsOptions::new(a)?),
        Command::Explain(a) => explain::run(options::ExplainOptions::new(a)?),
        Command::Init(a) => init::init(a),
        Command::Completions(a) => init::completions(a),
    }
}

pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return match e.kind() {
                clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion => {
                    ExitCode::SUCCESS
                }
                _ => ExitCode::from(2),
            };
        }
    };
    set_color(cli.color);
    let command = cli.command.unwrap_or_default();
    QUIET.store(command.quiet(), Ordering::Relaxed);
    match dispatch(command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Other(e)) if e.is::<StdoutClosed>() => ExitCode::SUCCESS,
        Err(Failure::Invalid(text)) => {
            print_stderr(&text);
            ExitCode::from(2)
        }
        Err(Failure::Other(e)) => {
            let (red, reset) = if use_color() {
                ("\x1b[1;31m", "\x1b[0m")
            } else {
                ("", "")
            };
            print_stderr(&format!("{red}error{reset}: {e:#}"));
            ExitCode::from(1)
        }
    }
}
