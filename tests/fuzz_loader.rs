//! Fuzzing the scenario loader and the expression compiler with proptest.
//!
//! Inputs are the minimal scenario (`tests/fixtures/minimal.toml`) broken at random: bytes
//! flipped, lines deleted, duplicated or swapped, values replaced by odd TOML values, random
//! expressions (from a small grammar with garbage tokens) put where expressions go; and random
//! expression strings on their own. The property, for every input:
//!
//! - loading and compiling never panic (nor overflow the stack, nor hang);
//! - a rejected input has at least one error, every error's span lies within its file's text
//!   on character boundaries, and the errors render.
//!
//! The case count is `PROPTEST_CASES` (default 256 per test, small enough for CI). For a long
//! run, also set `FUZZ_SECONDS`: each test then repeats batches of `PROPTEST_CASES` fresh cases
//! until that time is up, e.g.
//! `FUZZ_SECONDS=1800 PROPTEST_CASES=100000 cargo test --release --test fuzz_loader -- --nocapture`.
//! Each test prints how many cases it ran.

use alliance_sim::diagnostic::Diagnostics;
use alliance_sim::model::expr::{self, Binding, Scope, Type};
use alliance_sim::{model, scenario};
use std::sync::atomic::{AtomicUsize, Ordering};

use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};

const MINIMAL: &str = include_str!("fixtures/minimal.toml");

fn config() -> Config {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(256);
    Config {
        cases,
        // The inputs are valid or invalid at random; nothing is rejected up front.
        max_global_rejects: 0,
        // A failure prints its shrunk input; nothing is written next to the sources.
        failure_persistence: None,
        ..Config::default()
    }
}

/// Inputs rejected with errors, as opposed to accepted: a fuzz run that rejects nothing (or
/// everything) is not exploring much.
static REJECTED: AtomicUsize = AtomicUsize::new(0);
static ACCEPTED: AtomicUsize = AtomicUsize::new(0);

/// Runs `test` on `cases` inputs from `strategy` (batch after batch for `FUZZ_SECONDS`, when
/// set), then prints the count.
fn fuzz<S: Strategy>(name: &str, strategy: S, test: impl Fn(S::Value) -> Result<(), TestCaseError>)
where
    S::Value: std::fmt::Debug,
{
    let config = config();
    let batch = u64::from(config.cases);
    let budget = std::env::var("FUZZ_SECONDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .map(std::time::Duration::from_secs);
    let start = std::time::Instant::now();
    let mut cases = 0u64;
    loop {
        // A fresh runner per batch: a runner runs its cases once, and each new one draws its
        // own random seed (unless PROPTEST_RNG_SEED fixes it), so batches do not repeat.
        let mut runner = TestRunner::new(config.clone());
        if let Err(e) = runner.run(&strategy, &test) {
            panic!("{name}: failed after {cases} passing cases: {e}");
        }
        cases += batch;
        if budget.is_none_or(|b| start.elapsed() >= b) {
            break;
        }
    }
    println!(
        "{name}: {cases} cases in {:.0?}, no failure (so far in this process: {} rejected with errors, {} accepted)",
        start.elapsed(),
        REJECTED.load(Ordering::Relaxed),
        ACCEPTED.load(Ordering::Relaxed)
    );
}

// --- the property ---------------------------------------------------------------------------------

/// Loads and compiles `text`; a rejection must come with well-formed, renderable errors.
fn load_and_compile(text: &str) -> Result<(), TestCaseError> {
    match scenario::load_str("fuzz.toml", text, None) {
        Ok(s) => match model::compile(s) {
            Ok(_) => {
                ACCEPTED.fetch_add(1, Ordering::Relaxed);
                Ok(())
            }
            Err(d) => check_diagnostics(&d),
        },
        Err(d) => check_diagnostics(&d),
    }
}

fn check_diagnostics(d: &Diagnostics) -> Result<(), TestCaseError> {
    REJECTED.fetch_add(1, Ordering::Relaxed);
    prop_assert!(!d.items.is_empty(), "rejected without an error");
    for item in &d.items {
        prop_assert!(!item.message.is_empty(), "an error without a message");
        let Some(span) = item.span else { continue };
        let text = &d.sources.file(span.file).text;
        let (start, end) = (span.start as usize, span.end as usize);
        prop_assert!(
            start <= end && end <= text.len(),
            "span {start}..{end} outside its file ({} bytes): {}",
            text.len(),
            item.message
        );
        prop_assert!(
            text.is_char_boundary(start) && text.is_char_boundary(end),
            "span {start}..{end} splits a character: {}",
            item.message
        );
    }
    let rendered = d.render(false);
    prop_assert!(rendered.contains("error"));
    Ok(())
}

// --- random expressions ---------------------------------------------------------------------------

/// Names of the minimal scenario, names that are not there, and tokens that are not the language.
fn leaf() -> impl Strategy<Value = String> {
    let words = prop::sample::select(vec![
        "seoul.anger",
        "seoul.trust",
        "pressure",
        "threat",
        "base",
        "stress",
        "shock.count",
        "shock.fired",
        "launch.count",
        "g0",
        "g1",
        "g2",
        "g3",
        "exit.leave",
        "exit.stay",
        "exit.decided",
        "step",
        "steps",
        "true",
        "false",
        "not",
        "and",
        "or",
        "if",
        "ln",
        "nope",
        "seoul.nope",
        "seoul.",
        ".anger",
        "seoul..anger",
        "a.b.c",
        "0",
        "-0",
        "1",
        ".5",
        "1e308",
        "1e309",
        "1.2.3",
        "1_000",
        "1e",
        "0x10",
        "$",
        "=",
        "&&",
        "||",
        "!",
        "(",
        ")",
        ",",
        "..",
        "×",
        "é",
        "\"",
        "\\",
        "'",
        "#",
        "{",
        "[",
        "\n",
        "\t",
        "\u{0}",
        "",
        " ",
    ]);
    prop_oneof![
        4 => words.prop_map(str::to_string),
        1 => any::<f64>().prop_map(|x| format!("{x}")),
        1 => any::<i32>().prop_map(|x| x.to_string()),
        1 => "[a-z_.]{1,12}",
        1 => any::<char>().prop_map(|c| c.to_string()),
    ]
}

fn operator() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec![
        "+", "-", "*", "/", "^", "<", "<=", ">", ">=", "==", "!=", "and", "or", "=", "&&", "",
    ])
}

fn function() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec![
        "if",
        "min",
        "max",
        "clamp",
        "abs",
        "exp",
        "ln",
        "sqrt",
        "pow",
        "sin",
        "cos",
        "logistic",
        "lg",
        "seoul.anger",
        "",
    ])
}

fn expression() -> impl Strategy<Value = String> {
    let grammar = leaf().prop_recursive(8, 96, 4, |inner| {
        prop_oneof![
            (inner.clone(), operator(), inner.clone())
                .prop_map(|(a, op, b)| format!("{a} {op} {b}")),
            inner.clone().prop_map(|a| format!("({a})")),
            inner.clone().prop_map(|a| format!("-{a}")),
            inner.clone().prop_map(|a| format!("not {a}")),
            (function(), prop::collection::vec(inner, 0..5))
                .prop_map(|(f, args)| format!("{f}({})", args.join(", "))),
        ]
    });
    prop_oneof![
        8 => grammar,
        // Deep nesting, for the nesting limit (and the stack).
        1 => (0usize..3000, prop::sample::select(vec!["(", "-", "not ", "+", "f("]))
            .prop_map(|(n, open)| {
                let close = if open.ends_with('(') { ")" } else { "" };
                format!("{}x{}", open.repeat(n), close.repeat(n))
            }),
        // Long flat chains, for the length limit and for left-deep trees (the stack again).
        1 => (0usize..2500, operator(), prop::sample::select(vec!["1", "step", "seoul.anger"]))
            .prop_map(|(n, op, term)| vec![term; n + 1].join(op)),
    ]
}

/// An expression as a TOML value: escaped, a literal string, a multi-line string or verbatim
/// (which may well break the TOML around it).
fn toml_string(expr: String, how: u8) -> String {
    match how % 4 {
        0 => format!("\"{}\"", expr.escape_default()),
        1 => format!("'{expr}'"),
        2 => format!("\"\"\"{expr}\"\"\""),
        _ => format!("\"{expr}\""),
    }
}

// --- random TOML ----------------------------------------------------------------------------------

fn toml_value() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "0",
            "-1",
            "1",
            "8",
            "10001",
            "99999999999999999999",
            "-99999999999999999999",
            "0.0",
            "-0.0",
            "1e308",
            "nan",
            "inf",
            "-inf",
            "true",
            "2020-01-06",
            "2019-12-31",
            "2021-01-01",
            "2020-01-06T10:00:00",
            "10:00:00",
            "\"\"",
            "\"week\"",
            "\"day\"",
            "\"month\"",
            "\"seoul\"",
            "\"seoul.anger\"",
            "\"logit\"",
            "\"argmax\"",
            "\"leave\"",
            "\"uniform\"",
            "\"discrete\"",
            "\"bernoulli\"",
            "\"beta\"",
            "\"lognormal\"",
            "\"pert\"",
            "[]",
            "[1, 2]",
            "[1, \"2\"]",
            "[0.5, 0.5, 0.5]",
            "{}",
            "{ var = \"seoul.anger\", add = \"1\" }",
            "[{ var = \"seoul.trust\", set = \"0\" }]",
            "[{ var = \"seoul.trust\" }]",
            "\"extends_me.toml\"",
        ])
        .prop_map(str::to_string),
        any::<f64>().prop_map(|x| format!("{x:?}")),
        any::<i64>().prop_map(|x| x.to_string()),
        (expression(), any::<u8>()).prop_map(|(e, how)| toml_string(e, how)),
    ]
}

#[derive(Debug, Clone)]
enum Mutation {
    FlipByte(usize, u8),
    DeleteLine(usize),
    DuplicateLine(usize),
    SwapLines(usize, usize),
    InsertLine(usize, String),
    /// Derived values `g0`, `g1` ... that may use each other (and themselves).
    DerivedBlock(Vec<String>),
    ReplaceValue(usize, String),
    Truncate(usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let line = prop::sample::select(vec![
        "extends = \"fuzz.toml\"",
        "extends = \"tests/fixtures/minimal.toml\"",
        "extends = \"tests\"",
        "[scenario]",
        "[parameters.extra]",
        "[actors.extra]",
        "[actors.seoul.vars.extra]",
        "[derived]",
        "[events.extra]",
        "[rules.extra]",
        "[decisions.extra]",
        "[decisions.exit.options.extra]",
        "[[outcomes.extra]]",
        "[outcomes.extra]",
        "[metrics.extra]",
        "[backtest]",
        "[correlations]",
        "pairs = [{ a = \"pressure\", b = \"threat\", rank = 0.5 }]",
        "pairs = [{ a = \"threat\", b = \"pressure\", rank = -1 }, { a = \"pressure\", b = \"base\", rank = 2 }]",
        "enabled = false",
        "fixed = \"leave\"",
        "every = 2",
        "every = 0",
        "times = 3",
        "until = 2020-02-03",
        "until = 7",
        "wait = \"0.1\"",
        "wait = \"nope\"",
        "from = 2",
        "from = 2020-03-30",
        "default = \"stay\"",
        "default = \"nope\"",
        "fixed = \"nope\"",
        "when = \"true\"",
        "date = 2020-01-20",
        "at = 0",
        "dist = \"fixed\"",
        "value = 1",
        "effects = [",
        "]",
        "\"\"\"",
        "'''",
        "[",
        "{",
        "x = ",
        "= 1",
        "\u{feff}",
    ])
    .prop_map(str::to_string);
    prop_oneof![
        3 => (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Mutation::FlipByte(i, b)),
        2 => any::<usize>().prop_map(Mutation::DeleteLine),
        2 => any::<usize>().prop_map(Mutation::DuplicateLine),
        1 => (any::<usize>(), any::<usize>()).prop_map(|(a, b)| Mutation::SwapLines(a, b)),
        2 => (any::<usize>(), line).prop_map(|(i, l)| Mutation::InsertLine(i, l)),
        2 => (any::<usize>(), expression(), any::<u8>())
            .prop_map(|(i, e, how)| Mutation::InsertLine(i, format!("extra = {}", toml_string(e, how)))),
        6 => (any::<usize>(), toml_value()).prop_map(|(i, v)| Mutation::ReplaceValue(i, v)),
        2 => prop::collection::vec((expression(), any::<u8>()), 1..5).prop_map(|exprs| {
            Mutation::DerivedBlock(
                exprs
                    .into_iter()
                    .enumerate()
                    .map(|(i, (e, how))| format!("g{i} = {}", toml_string(e, how)))
                    .collect(),
            )
        }),
        1 => any::<usize>().prop_map(Mutation::Truncate),
    ]
}

/// Applies the mutations in order; indexes wrap around the current text.
fn mutate(text: &str, mutations: &[Mutation]) -> String {
    let mut bytes = text.as_bytes().to_vec();
    for m in mutations {
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let mut lines: Vec<String> = text.split('\n').map(str::to_string).collect();
        let n = lines.len();
        match m {
            Mutation::FlipByte(i, b) => {
                if !bytes.is_empty() {
                    let i = i % bytes.len();
                    bytes[i] = *b;
                }
                continue;
            }
            Mutation::Truncate(i) => {
                bytes.truncate(i % (bytes.len() + 1));
                continue;
            }
            Mutation::DeleteLine(i) => {
                lines.remove(i % n);
            }
            Mutation::DuplicateLine(i) => {
                let l = lines[i % n].clone();
                lines.insert(i % n, l);
            }
            Mutation::SwapLines(a, b) => lines.swap(a % n, b % n),
            Mutation::InsertLine(i, l) => lines.insert(i % (n + 1), l.clone()),
            Mutation::DerivedBlock(block) => {
                let at = lines
                    .iter()
                    .position(|l| l == "[derived]")
                    .map_or(n, |i| i + 1);
                for (k, l) in block.iter().enumerate() {
                    lines.insert(at + k, l.clone());
                }
            }
            Mutation::ReplaceValue(i, v) => {
                // The value of the first `key = value` line at or after line i.
                if let Some(j) = (0..n)
                    .map(|k| (i + k) % n)
                    .find(|&j| lines[j].contains(" = "))
                {
                    let key = lines[j].split(" = ").next().unwrap_or("").to_string();
                    lines[j] = format!("{key} = {v}");
                }
            }
        }
        bytes = lines.join("\n").into_bytes();
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

// --- the tests ------------------------------------------------------------------------------------

#[test]
fn mutated_scenarios_never_panic_and_errors_point_inside_their_file() {
    let strategy = prop::collection::vec(mutation(), 1..6);
    fuzz("mutated scenarios", strategy, |mutations| {
        load_and_compile(&mutate(MINIMAL, &mutations))
    });
}

#[test]
fn random_expressions_in_a_scenario_never_panic() {
    // Every place an expression goes in the minimal scenario, as `key = "..."` text to replace.
    let places = prop::sample::select(vec![
        "trust = \"0.7 - 0.2 * pressure\"",
        "init = \"base\"",
        "stress = \"seoul.anger + threat\"",
        "add = \"0.1 * pressure\"",
        "probability = \"0.2 * threat\"",
        "when = \"seoul.anger > 0\"",
        "multiply = \"0.9\"",
        "temperature = 0.2",
        "utility = \"seoul.trust\"",
        "utility = \"stress\"",
        "set = \"0\"",
        "when = \"exit.leave\"",
        "expr = \"seoul.anger\"",
    ]);
    let strategy = (places, expression(), any::<u8>());
    fuzz(
        "expressions in a scenario",
        strategy,
        |(place, expr, how)| {
            let key = place.split(" = ").next().unwrap_or("");
            let text = MINIMAL.replacen(place, &format!("{key} = {}", toml_string(expr, how)), 1);
            load_and_compile(&text)
        },
    );
}

/// A scope with a number, a condition and a derived value, for compiling expressions directly.
struct FuzzScope {
    twice: expr::Expr,
}

impl Scope for FuzzScope {
    fn lookup(&self, name: &str) -> Option<Binding<'_>> {
        match name {
            "seoul.anger" | "pressure" | "step" => Some(Binding::Slot(0, Type::Number)),
            "exit.leave" | "shock.fired" => Some(Binding::Slot(1, Type::Bool)),
            "stress" => Some(Binding::Inline(&self.twice, Type::Number)),
            "broken" => Some(Binding::Unusable),
            _ => None,
        }
    }
    fn candidates(&self) -> Vec<String> {
        [
            "seoul.anger",
            "pressure",
            "step",
            "exit.leave",
            "shock.fired",
            "stress",
        ]
        .map(str::to_string)
        .to_vec()
    }
}

#[test]
fn random_expressions_parse_and_compile_without_panic() {
    let scope = FuzzScope {
        twice: expr::parse("2 * seoul.anger", 64).expect("parses"),
    };
    let expected = prop::sample::select(vec![None, Some(Type::Number), Some(Type::Bool)]);
    fuzz(
        "expressions alone",
        (expression(), expected),
        |(text, expected)| {
            let parsed = match expr::parse(&text, 64) {
                Ok(parsed) => parsed,
                Err(e) => {
                    prop_assert!(e.range.start <= e.range.end && e.range.end <= text.len());
                    return Ok(());
                }
            };
            match expr::compile(&parsed, &scope, expected) {
                Ok(program) => {
                    let _ = program.eval_one(&[0.5, 1.0]);
                }
                Err(e) => prop_assert!(e.range.start <= e.range.end && e.range.end <= text.len()),
            }
            Ok(())
        },
    );
}
