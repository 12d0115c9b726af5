//! The shape of the crate, checked on its source text.
//!
//! The rule, as ARCHITECTURE.md draws it:
//!
//! - The stages form one pipeline, `scenario -> model -> engine -> montecarlo -> analysis ->
//!   report -> cli`. A stage may name itself and the stages before it, never one after it: data
//!   flows down, and a stage knows nothing of what consumes it.
//! - The leaves (`diagnostic`, `distribution`, `names`, `rng`, `simd`, `terminal`) are small
//!   pieces every stage may use. A leaf names other leaves at most, never a stage, so using one
//!   cannot pull a stage in through the back door.
//! - `clap` (and `clap_complete`) appear only under `src/cli/`: the command line is the edge, and
//!   nothing below it may depend on how flags are spelled. `src/main.rs` only calls into `cli`.
//!
//! Every `.rs` file under `src/` is read and its comments and literals blanked out; then every
//! path that leaves its own module is resolved to the top-level module it lands in: `crate::x`,
//! grouped `use crate::{x, y::z}`, `$crate::x` in macros, and `super::` chains that climb to the
//! crate root (inline `mod name { .. }` blocks counted). Test modules inside `src/` obey the same
//! rule, so a test cannot hide an arrow the build would otherwise refuse. A new top-level module
//! must be added to `STAGES` or `LEAVES` below, which is the moment to decide where it belongs.

use std::fmt;
use std::path::{Path, PathBuf};

/// The pipeline, in the order data flows.
const STAGES: &[&str] = &[
    "scenario",
    "model",
    "engine",
    "montecarlo",
    "analysis",
    "report",
    "cli",
];

/// Modules any stage may use, which use no stage.
const LEAVES: &[&str] = &[
    "diagnostic",
    "distribution",
    "names",
    "rng",
    "simd",
    "terminal",
];

/// Where a reference was found and what it broke.
#[derive(Debug, PartialEq)]
struct Offence {
    file: String,
    line: usize,
    what: String,
}

impl fmt::Display for Offence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.file, self.line, self.what)
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Place {
    Stage(usize),
    Leaf,
}

fn place(module: &str) -> Option<Place> {
    if let Some(i) = STAGES.iter().position(|s| *s == module) {
        Some(Place::Stage(i))
    } else if LEAVES.contains(&module) {
        Some(Place::Leaf)
    } else {
        None
    }
}

/// `text` with comments, string, byte-string, raw-string and char literals replaced by spaces;
/// newlines are kept so that line numbers stay true.
fn blank_comments_and_literals(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let blank = |out: &mut String, c: char| out.push(if c == '\n' { '\n' } else { ' ' });
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        if c == '/' && next == Some('/') {
            while i < chars.len() && chars[i] != '\n' {
                out.push(' ');
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            let mut depth = 0;
            while i < chars.len() {
                if chars[i] == '/' && chars.get(i + 1) == Some(&'*') {
                    depth += 1;
                    out.push_str("  ");
                    i += 2;
                } else if chars[i] == '*' && chars.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    out.push_str("  ");
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    blank(&mut out, chars[i]);
                    i += 1;
                }
            }
        } else if (c == 'r' || (c == 'b' && next == Some('r')))
            && !chars[..i]
                .last()
                .is_some_and(|p| p.is_alphanumeric() || *p == '_')
            && {
                let start = if c == 'b' { i + 2 } else { i + 1 };
                let hashes = chars[start..].iter().take_while(|h| **h == '#').count();
                chars.get(start + hashes) == Some(&'"')
            }
        {
            let start = if c == 'b' { i + 2 } else { i + 1 };
            let hashes = chars[start..].iter().take_while(|h| **h == '#').count();
            let close: Vec<char> = std::iter::once('"')
                .chain(std::iter::repeat_n('#', hashes))
                .collect();
            let body = start + hashes + 1;
            let end = (body..chars.len())
                .find(|&j| chars[j..].starts_with(&close))
                .map_or(chars.len(), |j| j + close.len());
            for &ch in &chars[i..end] {
                blank(&mut out, ch);
            }
            i = end;
        } else if c == '"' {
            out.push(' ');
            i += 1;
            while i < chars.len() && chars[i] != '"' {
                if chars[i] == '\\' {
                    blank(&mut out, chars[i]);
                    i += 1;
                }
                if i < chars.len() {
                    blank(&mut out, chars[i]);
                    i += 1;
                }
            }
            out.push(' ');
            i += 1;
        } else if c == '\'' {
            // A char literal is `'x'` or `'\..'`; anything else (`'a` in `&'a T`) is a lifetime.
            let end = if next == Some('\\') {
                (i + 2..chars.len()).find(|&j| chars[j] == '\'')
            } else if chars.get(i + 2) == Some(&'\'') {
                Some(i + 2)
            } else {
                None
            };
            match end {
                Some(end) => {
                    for &ch in &chars[i..=end] {
                        blank(&mut out, ch);
                    }
                    i = end + 1;
                }
                None => {
                    out.push(c);
                    i += 1;
                }
            }
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Word(String),
    PathSep,
    Punct(char),
}

/// The words, `::` and punctuation of blanked source, each with its 1-based line.
fn tokens(code: &str) -> Vec<(Token, usize)> {
    let chars: Vec<char> = code.chars().collect();
    let mut out = Vec::new();
    let mut line = 1;
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '\n' {
            line += 1;
            i += 1;
        } else if c.is_whitespace() {
            i += 1;
        } else if c.is_alphanumeric() || c == '_' || c == '$' {
            let start = i;
            while i < chars.len()
                && (chars[i].is_alphanumeric() || chars[i] == '_' || chars[i] == '$')
            {
                i += 1;
            }
            out.push((Token::Word(chars[start..i].iter().collect()), line));
        } else if c == ':' && chars.get(i + 1) == Some(&':') {
            out.push((Token::PathSep, line));
            i += 2;
        } else {
            out.push((Token::Punct(c), line));
            i += 1;
        }
    }
    out
}

/// The module path of a file under `src/` (`src/model/expr/compile.rs` is `model::expr::compile`,
/// `src/model/mod.rs` is `model`, `src/lib.rs` is the crate root).
fn module_path(relative: &Path) -> Vec<String> {
    let mut parts: Vec<String> = relative
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    let file = parts.pop().expect("a file name");
    let stem = file.trim_end_matches(".rs");
    if stem != "mod" && stem != "lib" {
        parts.push(stem.to_string());
    }
    parts
}

/// Each top-level module a file's code reaches outside itself, with the line and the path as
/// written.
fn references(module: &[String], code: &str) -> Vec<(String, usize, String)> {
    let toks = tokens(code);
    let word = |j: usize| match toks.get(j) {
        Some((Token::Word(w), _)) => Some(w.as_str()),
        _ => None,
    };
    let sep = |j: usize| matches!(toks.get(j), Some((Token::PathSep, _)));
    let punct = |j: usize, c: char| matches!(toks.get(j), Some((Token::Punct(p), _)) if *p == c);

    // Inline modules, each with the brace depth its body opened at.
    let mut inline: Vec<(String, usize)> = Vec::new();
    let mut depth = 0;
    let mut found = Vec::new();
    let mut j = 0;
    while j < toks.len() {
        let line = toks[j].1;
        let previous_is_sep = j > 0 && sep(j - 1);
        match &toks[j].0 {
            Token::Punct('{') => depth += 1,
            Token::Punct('}') => {
                depth -= 1;
                if inline.last().is_some_and(|(_, d)| *d == depth) {
                    inline.pop();
                }
            }
            Token::Word(w) if w == "mod" && punct(j + 2, '{') => {
                if let Some(name) = word(j + 1) {
                    inline.push((name.to_string(), depth));
                }
            }
            Token::Word(w) if (w == "crate" || w == "$crate") && !previous_is_sep && sep(j + 1) => {
                if let Some(target) = word(j + 2) {
                    found.push((target.to_string(), line, format!("crate::{target}")));
                } else if punct(j + 2, '{') {
                    // `crate::{a, b::c, d::{e, f}}`: the first word of each top-level item.
                    let mut k = j + 3;
                    let mut nested = 0;
                    let mut at_item_start = true;
                    while k < toks.len() {
                        match &toks[k].0 {
                            Token::Punct('{') => nested += 1,
                            Token::Punct('}') if nested == 0 => break,
                            Token::Punct('}') => nested -= 1,
                            Token::Punct(',') if nested == 0 => at_item_start = true,
                            Token::Word(t) if at_item_start && nested == 0 => {
                                at_item_start = false;
                                if t != "self" {
                                    found.push((t.clone(), toks[k].1, format!("crate::{{{t}}}")));
                                }
                            }
                            _ => {}
                        }
                        k += 1;
                    }
                }
            }
            Token::Word(w) if w == "super" && !previous_is_sep => {
                let mut climbed = 0;
                let mut k = j;
                while word(k) == Some("super") && sep(k + 1) {
                    climbed += 1;
                    k += 2;
                }
                if climbed == 0 {
                    j += 1; // `pub(super)`
                    continue;
                }
                let here = module.len() + inline.len();
                if climbed >= here {
                    let written = "super::".repeat(climbed);
                    if climbed > here {
                        found.push((String::new(), line, written));
                    } else if let Some(target) = word(k) {
                        found.push((target.to_string(), line, format!("{written}{target}")));
                    }
                }
                j = k;
                continue;
            }
            _ => {}
        }
        j += 1;
    }
    found
}

/// What is wrong with one file of the library; `relative` is its path under `src/`.
fn offences_in(relative: &Path, text: &str) -> Vec<Offence> {
    let shown = format!("src/{}", relative.display());
    let code = blank_comments_and_literals(text);
    let module = module_path(relative);
    let mut offences = Vec::new();
    let mut offend = |line: usize, what: String| {
        offences.push(Offence {
            file: shown.clone(),
            line,
            what,
        })
    };

    let in_cli = module.first().map(String::as_str) == Some("cli");
    if !in_cli {
        for (t, line) in tokens(&code) {
            if matches!(&t, Token::Word(w) if w == "clap" || w == "clap_complete") {
                offend(line, "clap used outside src/cli".into());
            }
        }
    }

    let Some(top) = module.first() else {
        return offences; // the crate root only declares the modules
    };
    let Some(from) = place(top) else {
        offend(
            1,
            format!("`{top}` is neither a stage nor a leaf: add it to STAGES or LEAVES"),
        );
        return offences;
    };
    for (target, line, written) in references(&module, &code) {
        if target == *top {
            continue;
        }
        let arrow = format!("{top} -> {target} (`{written}`)");
        match (from, place(&target)) {
            (_, None) => offend(
                line,
                format!("{arrow}: `{target}` is not a module of the crate"),
            ),
            (Place::Leaf, Some(Place::Stage(_))) => {
                offend(line, format!("{arrow}: a leaf uses a stage"))
            }
            (Place::Stage(a), Some(Place::Stage(b))) if b > a => offend(
                line,
                format!("{arrow}: `{target}` comes after `{top}` in the pipeline"),
            ),
            _ => {}
        }
    }
    offences
}

/// What is wrong with the binary's `main.rs`: it may name the library's `cli` and nothing else.
fn offences_in_main(text: &str) -> Vec<Offence> {
    let code = blank_comments_and_literals(text);
    let toks = tokens(&code);
    let mut offences = Vec::new();
    for (j, (t, line)) in toks.iter().enumerate() {
        let Token::Word(w) = t else { continue };
        let what = if w == "clap" || w == "clap_complete" {
            "clap used outside src/cli".to_string()
        } else if w == "alliance_sim" {
            match toks.get(j + 2) {
                Some((Token::Word(m), _)) if m == "cli" => continue,
                _ => "main.rs names the library beyond `alliance_sim::cli`".to_string(),
            }
        } else {
            continue;
        };
        offences.push(Offence {
            file: "src/main.rs".into(),
            line: *line,
            what,
        });
    }
    offences
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read src/") {
        let path = entry.expect("read src/").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn no_module_imports_from_a_stage_below_it_and_clap_stays_in_cli() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    files.sort();
    assert!(files.len() > 20, "found only {} files in src/", files.len());
    let mut offences = Vec::new();
    for path in &files {
        let relative = path.strip_prefix(&src).expect("under src/");
        let text = std::fs::read_to_string(path).expect("read a source file");
        if relative == Path::new("main.rs") {
            offences.extend(offences_in_main(&text));
        } else {
            offences.extend(offences_in(relative, &text));
        }
    }
    let report: Vec<String> = offences.iter().map(ToString::to_string).collect();
    assert!(
        offences.is_empty(),
        "the pipeline is scenario -> model -> engine -> montecarlo -> analysis -> report -> cli; \
         leaves ({}) use no stage; clap only in src/cli:\n{}",
        LEAVES.join(", "),
        report.join("\n")
    );
}

/// The checker itself: each way of writing a path that leaves the module is seen, and what only
/// looks like one (comments, strings, a stage's own modules) is not.
#[test]
fn the_checker_sees_every_way_of_writing_a_backward_arrow() {
    let check = |file: &str, text: &str| -> Vec<String> {
        offences_in(Path::new(file), text)
            .iter()
            .map(ToString::to_string)
            .collect()
    };
    assert_eq!(
        check(
            "scenario/decode.rs",
            "fn f() {}\nuse crate::model::Model;\n"
        ),
        [
            "src/scenario/decode.rs:2: scenario -> model (`crate::model`): `model` comes after \
          `scenario` in the pipeline"
        ]
    );
    assert_eq!(
        check(
            "engine/mod.rs",
            "use crate::{\n    rng::RunStream,\n    montecarlo::{Summary, run},\n    self,\n};\n"
        ),
        ["src/engine/mod.rs:3: engine -> montecarlo (`crate::{montecarlo}`): `montecarlo` comes \
          after `engine` in the pipeline"]
    );
    assert_eq!(
        check("model/expr/compile.rs", "fn f() { super::super::super::report::x(); }"),
        ["src/model/expr/compile.rs:1: model -> report (`super::super::super::report`): `report` \
          comes after `model` in the pipeline"]
    );
    assert_eq!(
        check(
            "montecarlo/mod.rs",
            "mod tests {\n    use super::super::cli;\n}\nfn f() { super::analysis::x() }\n"
        ),
        [
            "src/montecarlo/mod.rs:2: montecarlo -> cli (`super::super::cli`): `cli` comes after \
             `montecarlo` in the pipeline",
            "src/montecarlo/mod.rs:4: montecarlo -> analysis (`super::analysis`): `analysis` \
             comes after `montecarlo` in the pipeline"
        ]
    );
    assert_eq!(
        check("rng.rs", "fn f() -> crate::model::Model { todo!() }"),
        ["src/rng.rs:1: rng -> model (`crate::model`): a leaf uses a stage"]
    );
    assert_eq!(
        check("report/table.rs", "#[derive(clap::Args)]\nstruct A;"),
        ["src/report/table.rs:1: clap used outside src/cli"]
    );
    assert_eq!(
        check("widgets.rs", "fn f() {}"),
        ["src/widgets.rs:1: `widgets` is neither a stage nor a leaf: add it to STAGES or LEAVES"]
    );
    assert_eq!(
        offences_in_main("fn main() { alliance_sim::report::x(); alliance_sim::cli::main() }")
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>(),
        ["src/main.rs:1: main.rs names the library beyond `alliance_sim::cli`"]
    );

    let harmless = r####"
        //! Unlike [`crate::cli`], this module ... use crate::report;
        /* crate::engine /* nested */ crate::cli */
        const A: &str = "crate::cli::x and clap";
        const B: &str = r#"crate::report "quoted" clap"#;
        const C: char = '"';
        fn f<'a>(x: &'a str) -> &'a str { x }
        use crate::scenario::Scenario;
        use crate::{diagnostic::Span, names, model::Model};
        use self::expr::Program;
        mod tests { use super::*; use super::super::rng; }
        fn g() { crate::model::compile(); $crate::model::x(); }
    "####;
    assert_eq!(check("model/mod.rs", harmless), Vec::<String>::new());
}

/// Words that mean input or output: files, streams, the network, the environment, printing.
const IO_WORDS: &[&str] = &[
    "fs", "io", "net", "env", "process", "File", "print", "println", "eprint", "eprintln",
    "stdout", "stderr", "stdin",
];

/// Where in `text` (code only, comments and literals blanked) a word of [`IO_WORDS`] is used.
fn io_in(text: &str) -> Vec<(usize, String)> {
    tokens(&blank_comments_and_literals(text))
        .into_iter()
        .filter_map(|(token, line)| match token {
            Token::Word(w) if IO_WORDS.contains(&w.as_str()) => Some((line, w)),
            _ => None,
        })
        .collect()
}

/// The engine is a pure function of the model, the parameters and the streams: it reads no
/// file, prints nothing and asks the environment nothing (`simd.rs`, a leaf, reads the one
/// switch the hot loops need), so that a run cannot depend on where or how it was started.
#[test]
fn the_engine_does_no_input_or_output() {
    let engine = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/engine");
    let mut files = Vec::new();
    rust_files(&engine, &mut files);
    assert!(!files.is_empty(), "no files in src/engine");
    let mut found = Vec::new();
    for path in &files {
        let text = std::fs::read_to_string(path).expect("read a source file");
        for (line, word) in io_in(&text) {
            found.push(format!("{}:{line}: `{word}`", path.display()));
        }
    }
    assert!(
        found.is_empty(),
        "input or output in the engine:\n{}",
        found.join("\n")
    );
    // The check sees what it looks for, and not in comments or strings.
    let sample = "use std::fs;\n// println! in a comment\nlet s = \"io\";\nstd::io::stdout();\n";
    let seen: Vec<usize> = io_in(sample).into_iter().map(|(line, _)| line).collect();
    assert_eq!(seen, [1, 4, 4]);
}
