//! `init` and `completions`: getting started.

use clap::CommandFactory;

use super::args::{Cli, CompletionsArgs, InitArgs};
use super::Failure;

const STARTER: &str = include_str!("starter.toml");

pub fn init(args: InitArgs) -> Result<(), Failure> {
    let mut path = args.name;
    if path.extension().is_none_or(|e| e != "toml") {
        path.as_mut_os_string().push(".toml");
    }
    // Never overwrite: the user's file may hold work.
    let mut file = match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&path)
    {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            return Err(Failure::Invalid(format!(
                "error: `{}` already exists; choose another name (nothing was changed)",
                path.display()
            )))
        }
        Err(e) => {
            return Err(Failure::Other(
                anyhow::Error::new(e).context(format!("creating {}", path.display())),
            ))
        }
    };
    std::io::Write::write_all(&mut file, STARTER.as_bytes())?;
    outln!(
        "wrote {}\nnext: alliance-sim run {}",
        path.display(),
        path.display()
    );
    Ok(())
}

pub fn completions(args: CompletionsArgs) -> Result<(), Failure> {
    let mut command = Cli::command();
    // Generated into memory first: clap_complete panics when its writer fails, as a closed
    // stdout would make it.
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut command, BIN_NAME, &mut script);
    let mut script = String::from_utf8_lossy(&script).into_owned();
    if args.shell == clap_complete::Shell::Bash {
        script = bash_states_spelled_as_the_loop_spells_them(&script);
    }
    out!("{script}");
    Ok(())
}

const BIN_NAME: &str = "alliance-sim";

/// clap_complete's bash script (4.6) names the state of a subcommand in two ways for a binary
/// whose name has a hyphen: its loop over the words arrives at `alliance__sim__subcmd__run`, but
/// the `case` arms that offer the options are labelled `alliance__subcmd__sim__subcmd__run`, so
/// no arm ever matches and nothing after a subcommand completes (clap-rs/clap#6421, open).
/// Relabel the arms the loop's way; the test completes real words in bash.
fn bash_states_spelled_as_the_loop_spells_them(script: &str) -> String {
    let escaped = BIN_NAME.replace('-', "__");
    let misspelled = format!("{}__subcmd__", BIN_NAME.replace('-', "__subcmd__"));
    script.replace(&misspelled, &format!("{escaped}__subcmd__"))
}
