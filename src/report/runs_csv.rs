//! `runs.csv`: one tidy row per run, streamed to disk as blocks finish.

use std::io::BufWriter;
use std::path::{Path, PathBuf};

use crate::model::Model;
use crate::montecarlo::{RunRows, RunSink};

/// Streams rows into a temporary file; [`RunsCsv::finish`] renames it into place, so an
/// interrupted study leaves no truncated `runs.csv`.
pub struct RunsCsv {
    writer: csv::Writer<BufWriter<tempfile::NamedTempFile>>,
    path: PathBuf,
    decision_options: Vec<Vec<String>>,
    outcome_ids: Vec<String>,
}

impl RunsCsv {
    pub fn create(path: &Path, model: &Model) -> std::io::Result<RunsCsv> {
        // Hidden beside the target and with ordinary permissions, as every other output.
        let file = super::atomic::temp_beside(path, ".tmp")?;
        let mut writer = csv::Writer::from_writer(BufWriter::with_capacity(1 << 20, file));
        let mut header = vec!["run".to_string()];
        header.extend(model.parameters.iter().map(|p| p.id.clone()));
        header.extend(model.decisions.iter().map(|d| d.id.clone()));
        header.push("outcome".into());
        header.extend(model.metrics.iter().map(|m| m.id.clone()));
        header.extend(model.events.iter().map(|e| format!("{}_count", e.id)));
        writer
            .write_record(&header)
            .map_err(std::io::Error::other)?;
        Ok(RunsCsv {
            writer,
            path: path.to_path_buf(),
            decision_options: model
                .decisions
                .iter()
                .map(|d| d.options.iter().map(|o| o.id.clone()).collect())
                .collect(),
            outcome_ids: model.outcomes.iter().map(|o| o.id.clone()).collect(),
        })
    }

    /// Flushes and moves the file into place.
    pub fn finish(self) -> std::io::Result<()> {
        let buffered = self
            .writer
            .into_inner()
            .map_err(|e| std::io::Error::other(e.to_string()))?;
        let file = buffered.into_inner().map_err(|e| e.into_error())?;
        file.as_file().sync_all()?;
        file.persist(&self.path).map_err(|e| e.error)?;
        Ok(())
    }
}

impl RunSink for RunsCsv {
    fn write_rows(&mut self, rows: &RunRows) -> std::io::Result<()> {
        let mut ryu = ryu::Buffer::new();
        let mut itoa = itoa::Buffer::new();
        for r in 0..rows.len {
            let mut record = csv::ByteRecord::new();
            record.push_field(itoa.format(rows.first_run + r as u64).as_bytes());
            for v in &rows.parameters[r * rows.parameter_count..(r + 1) * rows.parameter_count] {
                record.push_field(format_number(&mut ryu, *v).as_bytes());
            }
            for (d, c) in rows.choices[r * rows.decision_count..(r + 1) * rows.decision_count]
                .iter()
                .enumerate()
            {
                let text = if *c < 0 {
                    ""
                } else {
                    &self.decision_options[d][*c as usize]
                };
                record.push_field(text.as_bytes());
            }
            record.push_field(self.outcome_ids[rows.outcomes[r] as usize].as_bytes());
            for v in &rows.metrics[r * rows.metric_count..(r + 1) * rows.metric_count] {
                record.push_field(format_number(&mut ryu, *v).as_bytes());
            }
            for n in &rows.event_counts[r * rows.event_count..(r + 1) * rows.event_count] {
                record.push_field(itoa.format(*n).as_bytes());
            }
            self.writer
                .write_byte_record(&record)
                .map_err(std::io::Error::other)?;
        }
        Ok(())
    }
}

/// Shortest round-trip form; integers without a trailing `.0`.
fn format_number(buffer: &mut ryu::Buffer, v: f64) -> &str {
    let s = buffer.format(v);
    s.strip_suffix(".0").unwrap_or(s)
}
