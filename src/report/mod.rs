//! Everything a study writes: the summary table, `summary.json`, the per-run file, the analyses'
//! tables, the charts and the HTML report.
//!
//! Charts and report are drawn from a [`Summary`] alone, so that they can be redrawn from
//! `summary.json` without re-running the simulation.
//!
//! - [`write_charts`] writes every chart that applies to the summary as `<name>.png` and
//!   `<name>.svg` (same content) into a folder;
//! - [`write_html`] writes one self-contained page (inline CSS and SVG, no scripts, no network)
//!   with the tables of the summary and every chart;
//! - [`write_comparison_chart`], [`write_sweep_charts`], [`write_tornado_chart`] and
//!   [`write_sobol_chart`] draw the analyses' charts (see [`analysis_charts`]);
//! - [`write_atomic`] is the helper every file goes through: a temporary file in the same
//!   folder, renamed into place, so an interrupted run never leaves a truncated file.
//!
//! Chart text is drawn with an embedded DejaVu Sans: no system font, fontconfig or freetype
//! needed.

pub mod analysis;
pub mod analysis_charts;
pub mod atomic;
pub mod calibration;
mod charts;
mod finding;
pub(crate) mod format;
mod html;
pub mod runs;
pub mod table;

use std::path::{Path, PathBuf};

use crate::montecarlo::Summary;

pub use analysis_charts::{
    write_comparison_chart, write_discovery_chart, write_signposts_chart, write_sobol_chart,
    write_sweep_charts, write_tornado_chart,
};
pub use atomic::{write_atomic, write_atomic_via_path, Manifest, ResultDir, MANIFEST};
pub use charts::{chart_names, write_charts, AnalysisLink, ChartOptions, WrittenChart};
pub use html::{escape_html, write_html};

/// Writes `summary.json` atomically. The text ends with a newline and has no wall-clock
/// values, so equal studies give equal bytes.
pub fn write_summary_json(summary: &Summary, path: &Path) -> std::io::Result<()> {
    let mut text = serde_json::to_string_pretty(summary).map_err(std::io::Error::other)?;
    text.push('\n');
    atomic::write_atomic(path, text.as_bytes())
}

/// Draws every chart into `dir` and writes `dir/report.html` with them; returns the files written.
pub fn write_charts_and_report(
    summary: &Summary,
    dir: &Path,
    options: &ChartOptions,
) -> Result<Vec<PathBuf>, ReportError> {
    let charts = write_charts(summary, dir, options)?;
    let html = dir.join("report.html");
    write_html(summary, dir, &html, &options.analyses)?;
    let mut written: Vec<PathBuf> = charts.into_iter().flat_map(|c| [c.png, c.svg]).collect();
    written.push(html);
    Ok(written)
}

/// The largest `summary.json` or partial result read: hundreds of times what the shipped
/// scenarios write, and a bound, so that a wrong path (`/dev/zero`) cannot fill memory.
pub const RESULT_FILE_BYTES: u64 = 256 << 20;

/// Reads a text file of at most `limit` bytes, whatever kind of file it is (a pipe or a device
/// has no size to check beforehand). Messages name the file.
pub fn read_limited(path: &Path, limit: u64) -> Result<String, String> {
    use std::io::Read;
    let cannot = |e: std::io::Error| format!("cannot read {}: {e}", path.display());
    let file = std::fs::File::open(path).map_err(cannot)?;
    if file.metadata().map_err(cannot)?.is_dir() {
        return Err(format!("{} is a folder, not a file", path.display()));
    }
    let mut bytes = Vec::new();
    file.take(limit + 1)
        .read_to_end(&mut bytes)
        .map_err(cannot)?;
    if bytes.len() as u64 > limit {
        return Err(format!(
            "{} is larger than {limit} bytes, the most a result file may have",
            path.display()
        ));
    }
    String::from_utf8(bytes).map_err(|e| {
        format!(
            "{} is not UTF-8 text (byte {} is not)",
            path.display(),
            e.utf8_error().valid_up_to()
        )
    })
}

/// Reads a `summary.json` written by a study, and checks that it is one a study could have
/// written ([`Summary::check`]): the charts index, add and scale by what it says.
pub fn read_summary_json(path: &Path) -> Result<Summary, String> {
    let text = read_limited(path, RESULT_FILE_BYTES)?;
    let summary: Summary = serde_json::from_str(&text).map_err(|e| {
        // A well-formed JSON of the wrong shape is most often a summary an earlier version
        // wrote (summary.json carries no format number to tell).
        let hint = if e.classify() == serde_json::error::Category::Data {
            "\n  = hint: a summary.json written by an earlier alliance-sim cannot be redrawn; \
             run the study again to write a new one"
        } else {
            ""
        };
        format!(
            "{}:{}:{}: not a summary written by alliance-sim: {e}{hint}",
            path.display(),
            e.line(),
            e.column()
        )
    })?;
    summary.check().map_err(|e| {
        format!(
            "{}: not a summary written by alliance-sim: {e}",
            path.display()
        )
    })?;
    Ok(summary)
}

/// What can go wrong while writing charts or the report.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// Reading or writing a file failed.
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// Drawing a chart failed.
    #[error("cannot draw chart `{chart}`: {message}")]
    Draw { chart: String, message: String },
    /// The main outcome asked for is not one of the summary's outcomes.
    #[error("unknown outcome `{id}` (known: {known})")]
    UnknownOutcome { id: String, known: String },
}

impl ReportError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        ReportError::Io {
            path: path.into(),
            source,
        }
    }
}
