//! The entry points of the fuzz targets, shared with the main crate's regression test
//! (`tests/fuzz_regressions.rs` includes this file), so that a reproducer runs through exactly
//! the code the fuzzer ran.
//!
//! Each entry point takes the raw bytes of one input and returns what the program made of it:
//! [`Verdict::Accepted`], or [`Verdict::Rejected`] with the message a user would read. It panics
//! only when the program misbehaves: a panic inside the library, or a rejection that is not a
//! clean error (no message, a span outside its file).
//!
//! - [`loader`]: scenario bytes -> read (UTF-8, `extends`) -> decode -> compile the model.
//! - [`partial`]: a `partial-K-of-N.json` -> `Partial` -> `merge` against the default model,
//!   alone and with the real other half of a two-shard study.
//! - [`summary`]: a `summary.json` -> `Summary` -> the printed table and `report.html`, and for
//!   some inputs every chart.

use std::path::{Component, Path, PathBuf};
use std::sync::OnceLock;

use alliance_sim::diagnostic::Diagnostics;
use alliance_sim::model::{self, Model};
use alliance_sim::montecarlo::shard::{self, Partial};
use alliance_sim::montecarlo::Summary;
use alliance_sim::{report, scenario};

/// What the program made of one input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Loaded, merged or drawn.
    Accepted,
    /// Refused with this message.
    Rejected(String),
    /// Not run: the input would make the loader read outside the sandbox folder.
    Skipped,
}

// --- the scenario loader ---------------------------------------------------------------------------

/// The scenario files the fuzzed file may `extends`, at their paths in the repository (relative
/// to `scenarios/`), so that the real variants and the `history/` chain resolve as they do there.
const SCENARIO_FILES: &[(&str, &str)] = &[
    (
        "gsomia_2019.toml",
        include_str!("../../scenarios/gsomia_2019.toml"),
    ),
    (
        "gsomia_2019_no_cost_demand.toml",
        include_str!("../../scenarios/gsomia_2019_no_cost_demand.toml"),
    ),
    (
        "gsomia_2019_no_trade_war.toml",
        include_str!("../../scenarios/gsomia_2019_no_trade_war.toml"),
    ),
    (
        "gsomia_2019_strong_lobbying.toml",
        include_str!("../../scenarios/gsomia_2019_strong_lobbying.toml"),
    ),
    (
        "examples/ishigami.toml",
        include_str!("../../scenarios/examples/ishigami.toml"),
    ),
    (
        "history/2019-08-22_seoul_notice.toml",
        include_str!("../../scenarios/history/2019-08-22_seoul_notice.toml"),
    ),
    (
        "history/2019-11-22_seoul_deadline.toml",
        include_str!("../../scenarios/history/2019-11-22_seoul_deadline.toml"),
    ),
    (
        "history/2019-11-22_tokyo_controls.toml",
        include_str!("../../scenarios/history/2019-11-22_tokyo_controls.toml"),
    ),
    (
        "history/2020-08-24_seoul_no_new_notice.toml",
        include_str!("../../scenarios/history/2020-08-24_seoul_no_new_notice.toml"),
    ),
    (
        "history/2023-03-21_seoul_normalises.toml",
        include_str!("../../scenarios/history/2023-03-21_seoul_normalises.toml"),
    ),
    (
        "minimal.toml",
        include_str!("../../tests/fixtures/minimal.toml"),
    ),
];

/// Writes the scenario files into `root` (an empty folder), for [`loader`].
pub fn prepare_sandbox(root: &Path) -> std::io::Result<()> {
    for (name, text) in SCENARIO_FILES {
        let path = root.join(name);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        std::fs::write(path, text)?;
    }
    Ok(())
}

/// Loads `data` as the scenario file `fuzz.toml` inside `root` (prepared by
/// [`prepare_sandbox`]) and compiles it.
///
/// The file is written to disk and read back with [`scenario::load`], as `run FILE` reads it, so
/// the UTF-8 check and `extends` are part of what is fuzzed. It sits in `root/` or, when its
/// `extends` starts with `../`, in `root/history/` (so the history chain's own `../` works). An
/// input whose `extends` would leave `root` is skipped: the fuzzer reads no file of the machine.
pub fn loader(root: &Path, data: &[u8]) -> Verdict {
    let extends = match std::str::from_utf8(data) {
        Ok(text) => match extends_of(text) {
            Ok(extends) => extends,
            Err(()) => return Verdict::Skipped,
        },
        // Not UTF-8: the loader refuses it before it parses anything.
        Err(_) => None,
    };
    let dir = match &extends {
        Some(base) if base.starts_with("../") => root.join("history"),
        _ => root.to_path_buf(),
    };
    if let Some(base) = &extends {
        if !stays_inside(root, &dir, base) {
            return Verdict::Skipped;
        }
    }
    // Only one copy exists at a time, so no input sees a file an earlier one left.
    let _ = std::fs::remove_file(root.join("fuzz.toml"));
    let _ = std::fs::remove_file(root.join("history").join("fuzz.toml"));
    let path = dir.join("fuzz.toml");
    std::fs::write(&path, data).expect("the sandbox folder is writable");
    match scenario::load(&path) {
        Ok(s) => match model::compile(s) {
            Ok(_) => Verdict::Accepted,
            Err(d) => rejected(&d),
        },
        Err(d) => rejected(&d),
    }
}

/// The top-level `extends` string, if any, read with the parser the loader uses; `Err` for a
/// file whose `extends` cannot be checked safely (the loader might follow something odd).
fn extends_of(text: &str) -> Result<Option<String>, ()> {
    let Ok(root) = toml::de::DeTable::parse(text) else {
        // The loader stops at the same syntax error, before it follows anything.
        return Ok(None);
    };
    match root.get_ref().get("extends") {
        None => Ok(None),
        Some(value) => match value.get_ref() {
            toml::de::DeValue::String(s) => Ok(Some(s.to_string())),
            // Not a string: refused without reading anything.
            _ => Ok(None),
        },
    }
}

/// Whether `dir/base`, taken lexically (no symbolic links are in the sandbox), stays in `root`.
fn stays_inside(root: &Path, dir: &Path, base: &str) -> bool {
    if base.contains('\0') {
        return false;
    }
    let Ok(rel) = dir.strip_prefix(root) else {
        return false;
    };
    let mut depth = rel.components().count();
    for c in Path::new(base).components() {
        match c {
            Component::Normal(_) => depth += 1,
            Component::CurDir => {}
            Component::ParentDir => match depth.checked_sub(1) {
                Some(d) => depth = d,
                None => return false,
            },
            Component::RootDir | Component::Prefix(_) => return false,
        }
    }
    true
}

/// The verdict for a scenario the loader or the compiler refused, after checking that the
/// refusal is a clean one: at least one error, each with a message, each span inside its file on
/// character boundaries, and the whole renders.
fn rejected(d: &Diagnostics) -> Verdict {
    assert!(!d.items.is_empty(), "rejected without an error");
    for item in &d.items {
        assert!(!item.message.is_empty(), "an error without a message");
        let Some(span) = item.span else { continue };
        let text = &d.sources.file(span.file).text;
        let (start, end) = (span.start as usize, span.end as usize);
        assert!(
            start <= end && end <= text.len(),
            "span {start}..{end} outside its file ({} bytes): {}",
            text.len(),
            item.message
        );
        assert!(
            text.is_char_boundary(start) && text.is_char_boundary(end),
            "span {start}..{end} splits a character: {}",
            item.message
        );
    }
    let rendered = d.render(false);
    assert!(rendered.contains("error"), "rendered without `error`");
    Verdict::Rejected(rendered)
}

// --- the partial results of `merge` ----------------------------------------------------------------

/// The default scenario's model, which the seeds' partials were run with.
fn default_model() -> &'static Model {
    static MODEL: OnceLock<Model> = OnceLock::new();
    MODEL.get_or_init(|| {
        let s = scenario::load_default().expect("the default scenario loads");
        model::compile(s).expect("the default scenario compiles")
    })
}

/// The real shards of `run --runs 2000 --shard K/2`, `[timeline][K - 1]`, to merge the fuzzed
/// partial with.
fn real_shards() -> &'static [[Partial; 2]; 2] {
    static SHARDS: OnceLock<[[Partial; 2]; 2]> = OnceLock::new();
    SHARDS.get_or_init(|| {
        let parse = |text: &str| Partial::from_json("seed", text).expect("a seed partial parses");
        [
            [
                parse(include_str!(
                    "../seeds/partial/no-timeline-partial-1-of-2.json"
                )),
                parse(include_str!(
                    "../seeds/partial/no-timeline-partial-2-of-2.json"
                )),
            ],
            [
                parse(include_str!("../seeds/partial/partial-1-of-2.json")),
                parse(include_str!("../seeds/partial/partial-2-of-2.json")),
            ],
        ]
    })
}

/// Reads `data` as `merge` reads a partial-result file, then merges it against the default
/// model: alone, and with the real other half of a two-shard study (shard 2/2 for a partial
/// that says it is shard 1, shard 1/2 otherwise). A merged summary is also printed as the table
/// and serialized, as `merge` does.
pub fn partial(data: &[u8]) -> Verdict {
    let Ok(text) = std::str::from_utf8(data) else {
        return Verdict::Rejected("not UTF-8".into());
    };
    let p = match Partial::from_json("fuzzed.json", text) {
        Ok(p) => p,
        Err(e) => return Verdict::Rejected(e),
    };
    let model = default_model();
    let other = &real_shards()[usize::from(p.timeline)][usize::from(p.shard.index == 0)];
    let mut verdict = Verdict::Rejected(String::new());
    let named = |p: &Partial, name: &str| (name.to_string(), p.clone());
    for set in [
        vec![named(&p, "fuzzed.json")],
        vec![named(&p, "fuzzed.json"), named(other, "other.json")],
    ] {
        match shard::merge(model, &set) {
            Ok(summary) => {
                let _ = report::table::render(&summary);
                serde_json::to_string_pretty(&summary).expect("a merged summary serializes");
                verdict = Verdict::Accepted;
            }
            Err(e) => {
                assert!(!e.is_empty(), "merge refused without a message");
                if verdict != Verdict::Accepted {
                    verdict = Verdict::Rejected(e);
                }
            }
        }
    }
    verdict
}

// --- the summary.json of `report` ------------------------------------------------------------------

/// Writes an empty SVG for every chart into `charts`, so that [`summary`] can render
/// `report.html` without drawing them.
pub fn prepare_charts_stub(charts: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(charts)?;
    for name in report::chart_names() {
        std::fs::write(charts.join(format!("{name}.svg")), "<svg></svg>")?;
    }
    Ok(())
}

/// Reads `data` as `report` reads `summary.json`, prints the table and writes `report.html`
/// (with the stub charts of `charts`, see [`prepare_charts_stub`]) into `out`; when `draw`, also
/// draws every chart into `out` as `report DIR` does.
pub fn summary(charts: &Path, out: &Path, data: &[u8], draw: bool) -> Verdict {
    let Ok(text) = std::str::from_utf8(data) else {
        return Verdict::Rejected("not UTF-8".into());
    };
    let summary: Summary = match serde_json::from_str(text) {
        Ok(s) => s,
        Err(e) => return Verdict::Rejected(format!("not a summary written by alliance-sim: {e}")),
    };
    // As `report` reads it: only a summary a study could have written reaches the charts.
    if let Err(e) = summary.check() {
        return Verdict::Rejected(e);
    }
    let _ = report::table::render(&summary);
    let html = out.join("report.html");
    if let Err(e) = report::write_html(&summary, charts, &html, &[]) {
        return Verdict::Rejected(e.to_string());
    }
    if draw {
        if let Err(e) =
            report::write_charts_and_report(&summary, out, &report::ChartOptions::default())
        {
            let message = e.to_string();
            assert!(
                !message.contains("panicked"),
                "drawing a chart panicked: {message}"
            );
            return Verdict::Rejected(message);
        }
    }
    Verdict::Accepted
}

/// Whether [`summary`] should draw the charts for `data`: one input in 32, picked by a hash
/// of the bytes so that the choice is the same each time the input is run. Drawing takes a
/// large share of a second; the table and the page are fuzzed on every input.
pub fn draws_charts(data: &[u8]) -> bool {
    let mut h: u32 = 0x811c_9dc5;
    for &b in data {
        h = (h ^ u32::from(b)).wrapping_mul(0x0100_0193);
    }
    h % 32 == 0
}

// --- a sandbox folder for the fuzz targets -----------------------------------------------------------

/// A folder `alliance-sim-fuzz-<name>-<pid>` in the temporary folder, created once per process.
/// A fuzzing process ends without running destructors, so the folders of processes that have
/// ended (as libFuzzer's `-fork` mode leaves them) are removed when a new one is made.
pub fn process_dir(name: &str) -> PathBuf {
    let tmp = std::env::temp_dir();
    let prefix = format!("alliance-sim-fuzz-{name}-");
    if let Ok(entries) = std::fs::read_dir(&tmp) {
        for entry in entries.flatten() {
            let file_name = entry.file_name();
            let Some(pid) = file_name
                .to_str()
                .and_then(|n| n.strip_prefix(&prefix))
                .and_then(|p| p.parse::<u32>().ok())
            else {
                continue;
            };
            if !Path::new(&format!("/proc/{pid}")).exists() {
                let _ = std::fs::remove_dir_all(entry.path());
            }
        }
    }
    let dir = tmp.join(format!("{prefix}{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("the temporary folder is writable");
    dir
}
