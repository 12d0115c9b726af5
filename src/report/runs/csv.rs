//! `runs.csv`: one line per run. Numbers in their shortest round-trip form (integers without
//! `.0`), a decision not taken as an empty field.

use std::io::{self, BufWriter};

use super::synced::SyncedFile;
use super::{Columns, RunsFile};
use crate::montecarlo::RunRows;

pub struct RunsCsv {
    writer: ::csv::Writer<BufWriter<SyncedFile>>,
    columns: Columns,
}

impl RunsCsv {
    /// Writes the header into `file`; rows follow.
    pub fn create(file: tempfile::NamedTempFile, columns: Columns) -> io::Result<RunsCsv> {
        let file = BufWriter::with_capacity(1 << 20, SyncedFile::new(file)?);
        let mut writer = ::csv::Writer::from_writer(file);
        writer
            .write_record(columns.header())
            .map_err(io::Error::other)?;
        Ok(RunsCsv { writer, columns })
    }
}

impl RunsFile for RunsCsv {
    fn write_rows(&mut self, rows: &RunRows) -> io::Result<()> {
        let mut ryu = ryu::Buffer::new();
        let mut itoa = itoa::Buffer::new();
        let columns = &self.columns;
        let mut record = ::csv::ByteRecord::new();
        for r in 0..rows.len {
            record.clear();
            let run = rows.first_run + r as u64;
            record.push_field(itoa.format(run).as_bytes());
            if columns.has_parameter_set() {
                record.push_field(itoa.format(run / columns.replications).as_bytes());
            }
            let parameters =
                &rows.parameters[r * rows.parameter_count..(r + 1) * rows.parameter_count];
            for &i in &columns.parameters {
                record.push_field(format_number(&mut ryu, parameters[i]).as_bytes());
            }
            for (d, c) in rows.choices[r * rows.decision_count..(r + 1) * rows.decision_count]
                .iter()
                .enumerate()
            {
                let text = match usize::try_from(*c) {
                    Ok(option) => columns.decision_options[d][option].as_str(),
                    Err(_) => "",
                };
                record.push_field(text.as_bytes());
            }
            record.push_field(columns.outcome_ids[rows.outcomes[r] as usize].as_bytes());
            for v in &rows.metrics[r * rows.metric_count..(r + 1) * rows.metric_count] {
                record.push_field(format_number(&mut ryu, *v).as_bytes());
            }
            for n in &rows.event_counts[r * rows.event_count..(r + 1) * rows.event_count] {
                record.push_field(itoa.format(*n).as_bytes());
            }
            self.writer
                .write_byte_record(&record)
                .map_err(io::Error::other)?;
        }
        Ok(())
    }

    fn finish(self: Box<Self>) -> io::Result<tempfile::NamedTempFile> {
        let buffered = self
            .writer
            .into_inner()
            .map_err(|e| io::Error::other(e.to_string()))?;
        buffered.into_inner().map_err(|e| e.into_error())?.finish()
    }
}

/// Shortest round-trip form; integers without a trailing `.0`.
fn format_number(buffer: &mut ryu::Buffer, v: f64) -> &str {
    let s = buffer.format(v);
    s.strip_suffix(".0").unwrap_or(s)
}
