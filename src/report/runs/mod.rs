//! Per-run files: one row per run, streamed to disk as blocks finish, in the format asked for.
//!
//! [`RunsWriter`] is what a command holds: it picks the format's [`RunsFile`] (one file per
//! format: [`csv`], [`parquet`]), writes into a hidden temporary file beside the target and
//! renames it into place on [`RunsWriter::finish`], so an interrupted study leaves no truncated
//! file under a final name. [`Columns`] is the one place that says which columns a row has, so
//! both formats have the same columns in the same order. Every per-run file is a
//! [`synced::SyncedFile`], synced to the disk as it is written.

pub mod csv;
pub mod parquet;
mod synced;
pub mod timeline;

use std::io;
use std::path::{Path, PathBuf};

use crate::model::Model;
use crate::montecarlo::{RunRows, RunSink};

/// The formats of the per-run file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunsFormat {
    /// Text, one line per run: read by anything, and large (about 780 MB per million runs of
    /// the default scenario).
    Csv,
    /// Typed, compressed columns: under two fifths of the size, and quick enough to write that
    /// a million runs cost little more than the runs themselves.
    Parquet,
}

impl RunsFormat {
    /// The file extension, which is also the format's name on the command line.
    pub fn extension(self) -> &'static str {
        match self {
            RunsFormat::Csv => "csv",
            RunsFormat::Parquet => "parquet",
        }
    }

    /// The per-run file of a whole study: `runs.csv` or `runs.parquet`.
    pub fn file_name(self) -> String {
        format!("runs.{}", self.extension())
    }
}

/// Every name a whole study's per-run file can have, so that a result of one format replaces
/// a result of the other.
pub const FILE_NAMES: [&str; 2] = ["runs.csv", "runs.parquet"];

/// Which columns a row has, in order: `run`, `parameter_set` with replications, each sampled
/// parameter, each decision's option,
/// `outcome`, each end-of-run metric, `<event>_count` for each event.
///
/// A parameter that cannot vary (fixed by `--set`, or by a distribution that gives one value)
/// has no column unless every column is asked for: its value is in `summary.json`.
#[derive(Debug, Clone)]
pub struct Columns {
    /// Indexes of the parameters written, in model order.
    pub parameters: Vec<usize>,
    pub parameter_ids: Vec<String>,
    pub decision_ids: Vec<String>,
    /// Per decision, its options' ids.
    pub decision_options: Vec<Vec<String>>,
    pub outcome_ids: Vec<String>,
    pub metric_ids: Vec<String>,
    pub event_ids: Vec<String>,
    /// Runs per parameter set: above 1 (`run --replications`), a `parameter_set` column
    /// follows `run`, so that a set's runs can be grouped without arithmetic.
    pub replications: u64,
}

impl Columns {
    /// The columns of `model`'s rows; `fixed` are the parameters the study holds (`--set`).
    pub fn new(model: &Model, fixed: &[(usize, f64)], all_columns: bool) -> Columns {
        let parameters: Vec<usize> = (0..model.parameters.len())
            .filter(|&i| {
                all_columns
                    || !(fixed.iter().any(|(f, _)| *f == i)
                        || model.parameters[i].distribution.is_fixed())
            })
            .collect();
        Columns {
            parameter_ids: parameters
                .iter()
                .map(|&i| model.parameters[i].id.clone())
                .collect(),
            parameters,
            decision_ids: model.decisions.iter().map(|d| d.id.clone()).collect(),
            decision_options: model
                .decisions
                .iter()
                .map(|d| d.options.iter().map(|o| o.id.clone()).collect())
                .collect(),
            outcome_ids: model.outcomes.iter().map(|o| o.id.clone()).collect(),
            metric_ids: model.metrics.iter().map(|m| m.id.clone()).collect(),
            // Each event's count, then each recurring decision's times and its options'.
            event_ids: model
                .events
                .iter()
                .map(|e| format!("{}_count", e.id))
                .chain(
                    model
                        .decisions
                        .iter()
                        .filter(|d| d.recur.is_some())
                        .flat_map(|d| {
                            let options = d.options.iter();
                            std::iter::once(format!("{}_count", d.id))
                                .chain(options.map(move |o| format!("{}_{}_count", d.id, o.id)))
                        }),
                )
                .collect(),
            replications: 1,
        }
    }

    /// The columns of a study with `replications` runs per parameter set.
    pub fn with_replications(mut self, replications: u64) -> Columns {
        self.replications = replications;
        self
    }

    /// Whether rows carry the `parameter_set` column.
    pub fn has_parameter_set(&self) -> bool {
        self.replications > 1
    }

    /// Every column's name, in order.
    pub fn header(&self) -> Vec<String> {
        let mut header = vec!["run".to_string()];
        if self.has_parameter_set() {
            header.push("parameter_set".into());
        }
        header.extend(self.parameter_ids.iter().cloned());
        header.extend(self.decision_ids.iter().cloned());
        header.push("outcome".into());
        header.extend(self.metric_ids.iter().cloned());
        header.extend(self.event_ids.iter().cloned());
        header
    }

    /// How many values a row has.
    pub fn len(&self) -> usize {
        1 + usize::from(self.has_parameter_set())
            + self.parameters.len()
            + self.decision_ids.len()
            + 1
            + self.metric_ids.len()
            + self.event_ids.len()
    }

    /// Never true: a row always has `run` and `outcome`.
    pub fn is_empty(&self) -> bool {
        false
    }
}

/// One format's writer: rows in, a complete file at `finish`.
pub trait RunsFile: Send {
    /// Appends a block of rows (blocks come in run order).
    fn write_rows(&mut self, rows: &RunRows) -> io::Result<()>;
    /// Writes what is buffered and the file's footer, and syncs the temporary file; returns it
    /// for [`RunsWriter::finish`] to rename into place.
    fn finish(self: Box<Self>) -> io::Result<tempfile::NamedTempFile>;
}

/// The per-run file of a study or shard, being written.
pub struct RunsWriter {
    file: Box<dyn RunsFile>,
    path: PathBuf,
    format: RunsFormat,
    rows: u64,
}

/// What [`RunsWriter::finish`] wrote, for the command to report.
#[derive(Debug, Clone)]
pub struct RunsWritten {
    pub path: PathBuf,
    pub format: RunsFormat,
    pub rows: u64,
    pub bytes: u64,
}

impl RunsWriter {
    /// Starts writing `path` (its temporary file, hidden beside it) in `format`, for at most
    /// `max_rows` rows.
    pub fn create(
        format: RunsFormat,
        path: &Path,
        columns: Columns,
        max_rows: u64,
    ) -> io::Result<RunsWriter> {
        let temp = super::atomic::temp_beside(path, ".tmp")?;
        let file: Box<dyn RunsFile> = match format {
            RunsFormat::Csv => Box::new(csv::RunsCsv::create(temp, columns)?),
            RunsFormat::Parquet => Box::new(parquet::RunsParquet::create(temp, columns, max_rows)?),
        };
        Ok(RunsWriter {
            file,
            path: path.to_path_buf(),
            format,
            rows: 0,
        })
    }

    /// Completes the file and moves it into place.
    pub fn finish(self) -> io::Result<RunsWritten> {
        let temp = self.file.finish()?;
        let bytes = temp.as_file().metadata()?.len();
        temp.persist(&self.path).map_err(|e| e.error)?;
        Ok(RunsWritten {
            path: self.path,
            format: self.format,
            rows: self.rows,
            bytes,
        })
    }
}

impl RunSink for RunsWriter {
    fn write_rows(&mut self, rows: &RunRows) -> io::Result<()> {
        self.file.write_rows(rows)?;
        self.rows += rows.len as u64;
        Ok(())
    }
}

pub(crate) use super::format::group_thousands;

/// A file size for people: bytes, kB, MB or GB (powers of 1000, as file managers show them).
pub fn human_bytes(bytes: u64) -> String {
    const UNITS: [(&str, f64); 3] = [("GB", 1e9), ("MB", 1e6), ("kB", 1e3)];
    for (unit, size) in UNITS {
        if bytes as f64 >= size {
            return format!("{:.1} {unit}", bytes as f64 / size);
        }
    }
    format!("{bytes} bytes")
}
