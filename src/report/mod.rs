//! Everything a study writes: the summary table, `summary.json`, `runs.csv`.

pub mod atomic;
pub mod runs_csv;
pub mod table;

use std::path::Path;

use crate::montecarlo::Summary;

/// Writes `summary.json` atomically. The text ends with a newline and has no wall-clock
/// values, so equal studies give equal bytes.
pub fn write_summary_json(summary: &Summary, path: &Path) -> std::io::Result<()> {
    let mut text = serde_json::to_string_pretty(summary).map_err(std::io::Error::other)?;
    text.push('\n');
    atomic::write_atomic(path, text.as_bytes())
}
