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
    clap_complete::generate(args.shell, &mut command, "alliance-sim", &mut script);
    out!("{}", String::from_utf8_lossy(&script));
    Ok(())
}
