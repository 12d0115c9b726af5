//! The command line: parse arguments, call the library, print. No simulation logic lives here.

mod analyze;
mod args;
mod backtest;
mod explain;
mod init;
mod run;

use std::io::IsTerminal;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
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

/// Whether to colour stderr: a terminal, and `NO_COLOR` unset.
pub fn use_color() -> bool {
    std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()) && std::io::stderr().is_terminal()
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
    let result = match cli.command.unwrap_or_default() {
        Command::Run(a) => run::run(a),
        Command::Validate(a) => run::validate(a),
        Command::Report(a) => run::report_command(a),
        Command::Merge(a) => run::merge_command(a),
        Command::Backtest(a) => backtest::run(a),
        Command::Compare(a) => analyze::compare_command(a),
        Command::Sweep(a) => analyze::sweep_command(a),
        Command::Sensitivity(a) => analyze::sensitivity_command(a),
        Command::Explain(a) => explain::run(a),
        Command::Init(a) => init::init(a),
        Command::Completions(a) => init::completions(a),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Invalid(text)) => {
            eprintln!("{text}");
            ExitCode::from(2)
        }
        Err(Failure::Other(e)) => {
            let (red, reset) = if use_color() {
                ("\x1b[1;31m", "\x1b[0m")
            } else {
                ("", "")
            };
            eprintln!("{red}error{reset}: {e:#}");
            ExitCode::from(1)
        }
    }
}
