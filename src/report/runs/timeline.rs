//! `timeline.csv`: every metric at every step of every run, in long form (`run`, `step`,
//! `date`, `metric`, `value`), for people who plot their own. One line per run, step and
//! metric, so it is large: steps x metrics lines per run (352 for the default scenario).

use std::io::{self, BufWriter};
use std::path::{Path, PathBuf};

use super::synced::SyncedFile;
use crate::model::Model;
use crate::montecarlo::{RunRows, RunSink};

/// The file's name in a study's folder.
pub const FILE_NAME: &str = "timeline.csv";

/// Streams the long-form timeline into a temporary file beside its target; [`finish`]
/// renames it into place, so an interrupted study leaves no truncated file.
///
/// [`finish`]: TimelineCsv::finish
pub struct TimelineCsv {
    writer: ::csv::Writer<BufWriter<SyncedFile>>,
    path: PathBuf,
    dates: Vec<String>,
    metric_ids: Vec<String>,
    lines: u64,
}

impl TimelineCsv {
    pub fn create(path: &Path, model: &Model) -> io::Result<TimelineCsv> {
        let temp = super::super::atomic::temp_beside(path, ".tmp")?;
        let temp = BufWriter::with_capacity(1 << 20, SyncedFile::new(temp)?);
        let mut writer = ::csv::Writer::from_writer(temp);
        writer
            .write_record(["run", "step", "date", "metric", "value"])
            .map_err(io::Error::other)?;
        Ok(TimelineCsv {
            writer,
            path: path.to_path_buf(),
            dates: (0..model.time.steps)
                .map(|s| model.time.date_of(s).to_string())
                .collect(),
            metric_ids: model.metrics.iter().map(|m| m.id.clone()).collect(),
            lines: 0,
        })
    }

    /// Flushes, moves the file into place and returns its path and the lines written.
    pub fn finish(self) -> io::Result<(PathBuf, u64)> {
        let buffered = self
            .writer
            .into_inner()
            .map_err(|e| io::Error::other(e.to_string()))?;
        let file = buffered
            .into_inner()
            .map_err(|e| e.into_error())?
            .finish()?;
        file.persist(&self.path).map_err(|e| e.error)?;
        Ok((self.path, self.lines))
    }
}

impl RunSink for TimelineCsv {
    fn write_rows(&mut self, rows: &RunRows) -> io::Result<()> {
        let metrics = self.metric_ids.len();
        if rows.step_count != self.dates.len()
            || rows.timeline.len() != rows.len * rows.step_count * metrics
        {
            return Err(io::Error::other(
                "the study did not record the timeline (it runs with --no-timeline?)",
            ));
        }
        let mut ryu = ryu::Buffer::new();
        let mut itoa = itoa::Buffer::new();
        let mut record = ::csv::ByteRecord::new();
        let mut values = rows.timeline.iter();
        for r in 0..rows.len {
            let run = rows.first_run + r as u64;
            for (step, date) in self.dates.iter().enumerate() {
                for id in &self.metric_ids {
                    let Some(v) = values.next() else {
                        return Err(io::Error::other("a block's timeline is short"));
                    };
                    record.clear();
                    record.push_field(itoa.format(run).as_bytes());
                    record.push_field(itoa.format(step).as_bytes());
                    record.push_field(date.as_bytes());
                    record.push_field(id.as_bytes());
                    let text = ryu.format(*v);
                    record.push_field(text.strip_suffix(".0").unwrap_or(text).as_bytes());
                    self.writer
                        .write_byte_record(&record)
                        .map_err(io::Error::other)?;
                }
            }
        }
        self.lines += (rows.len * self.dates.len() * metrics) as u64;
        Ok(())
    }

    fn wants_timeline(&self) -> bool {
        true
    }
}

/// Rows to both per-run files a study writes, either of which may be absent.
pub struct Tee<'a> {
    pub runs: Option<&'a mut dyn RunSink>,
    pub timeline: Option<&'a mut TimelineCsv>,
}

impl RunSink for Tee<'_> {
    fn write_rows(&mut self, rows: &RunRows) -> io::Result<()> {
        if let Some(runs) = self.runs.as_mut() {
            runs.write_rows(rows)?;
        }
        if let Some(timeline) = self.timeline.as_mut() {
            timeline.write_rows(rows)?;
        }
        Ok(())
    }

    fn wants_timeline(&self) -> bool {
        self.timeline.is_some()
    }
}
