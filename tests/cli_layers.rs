//! The command line's layers, read from the source: every clap definition in
//! `src/cli/args.rs`, and command modules that import from the shared layers (`args`, `syntax`,
//! `options`, `execute`, `mod.rs`) and never from one another, so that no import circle can form
//! among them. (That clap stays inside `src/cli` is tests/tidy.rs's rule.)

use std::path::{Path, PathBuf};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// The modules of `src/cli` that implement commands.
const COMMAND_MODULES: [&str; 5] = ["run", "analyze", "backtest", "explain", "init"];

/// Every `.rs` file under `dir`, sorted.
fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).expect("read a source folder") {
        let path = entry.expect("an entry").path();
        if path.is_dir() {
            files.extend(rust_files(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            files.push(path);
        }
    }
    files.sort();
    files
}

/// The file's code, without `//` comments (doc comments may name clap or a module freely).
fn code(path: &Path) -> String {
    std::fs::read_to_string(path)
        .expect("read a source file")
        .lines()
        .map(|line| line.split_once("//").map_or(line, |(code, _)| code))
        .collect::<Vec<_>>()
        .join("\n")
}

fn is_identifier(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// Whether `code` uses the path segment `word` (as `word::`, or in `use ...{word...}`).
fn mentions(code: &str, word: &str) -> bool {
    code.match_indices(word).any(|(at, _)| {
        let before = code[..at].chars().next_back();
        let after = code[at + word.len()..].chars().next();
        !before.is_some_and(is_identifier) && !after.is_some_and(is_identifier)
    })
}

#[test]
fn every_clap_definition_is_in_args_rs() {
    let cli = Path::new(ROOT).join("src/cli");
    let derives = ["Parser", "Args", "Subcommand", "ValueEnum"];
    for file in rust_files(&cli) {
        if file.ends_with("args.rs") {
            continue;
        }
        let code = code(&file);
        for derive in code.split("#[derive(").skip(1) {
            let list = derive.split(')').next().unwrap_or_default();
            for name in derives {
                assert!(
                    !list.split(',').any(|d| d.trim().ends_with(name)),
                    "{} derives {name}: clap definitions belong in src/cli/args.rs",
                    file.display()
                );
            }
        }
    }
}

#[test]
fn command_modules_never_import_from_one_another() {
    let cli = Path::new(ROOT).join("src/cli");
    for file in rust_files(&cli) {
        let stem = file
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or_default();
        if stem == "mod" {
            // The dispatcher is the one place that names every command.
            continue;
        }
        let code = code(&file);
        for other in COMMAND_MODULES.iter().filter(|m| **m != stem) {
            for path in [format!("super::{other}"), format!("cli::{other}")] {
                assert!(
                    !mentions(&code, &path),
                    "{} uses `{path}`: commands share code through args, options or execute",
                    file.display()
                );
            }
        }
        // `use super::{a, b}` lists: no command module among them.
        for list in code.split("use super::{").skip(1) {
            let list = list.split('}').next().unwrap_or_default();
            for other in COMMAND_MODULES.iter().filter(|m| **m != stem) {
                assert!(
                    !list.split(',').any(|item| item.trim() == *other
                        || item.trim().starts_with(&format!("{other}::"))),
                    "{} imports `{other}` from super",
                    file.display()
                );
            }
        }
    }
}
