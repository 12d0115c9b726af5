//! Everything a study writes: the summary table, `summary.json`, `runs.csv`, the analyses'
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
mod charts;
mod html;
pub mod runs_csv;
pub mod table;

use std::path::{Path, PathBuf};

use crate::montecarlo::Summary;

pub use analysis_charts::{
    write_comparison_chart, write_sobol_chart, write_sweep_charts, write_tornado_chart,
};
pub use atomic::{write_atomic, write_atomic_via_path, Manifest, ResultDir, MANIFEST};
pub use charts::{chart_names, write_charts, ChartOptions, WrittenChart};
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
    write_html(summary, dir, &html)?;
    let mut written: Vec<PathBuf> = charts.into_iter().flat_map(|c| [c.png, c.svg]).collect();
    written.push(html);
    Ok(written)
}

/// Reads a `summary.json` written by a study.
pub fn read_summary_json(path: &Path) -> Result<Summary, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    serde_json::from_str(&text).map_err(|e| {
        format!(
            "{}:{}:{}: not a summary written by alliance-sim: {e}",
            path.display(),
            e.line(),
            e.column()
        )
    })
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
