//! `runs.parquet`: the rows as typed, compressed columns. `run` and the event counts are
//! INT64, parameters and metrics DOUBLE, decisions and `outcome` UTF-8 strings with dictionary
//! encoding (a handful of distinct values), a decision not taken null. Snappy-compressed.
//!
//! Parquet writes a row group column by column, so rows are buffered until a row group is full:
//! the buffer has a fixed size in values ([`BUFFERED_VALUES`]), which keeps memory flat however
//! many runs there are.

use std::io::{self, BufWriter};
use std::sync::Arc;

use parquet::basic::{Compression, Encoding, LogicalType, Repetition, Type as PhysicalType};
use parquet::data_type::{ByteArray, ByteArrayType, DoubleType, Int64Type};
use parquet::errors::ParquetError;
use parquet::file::properties::{EnabledStatistics, WriterProperties};
use parquet::file::writer::{SerializedFileWriter, SerializedRowGroupWriter};
use parquet::schema::types::{ColumnPath, Type};

use super::synced::SyncedFile;
use super::{Columns, RunsFile};
use crate::montecarlo::{RunRows, BLOCK};

/// Values held before a row group is written: 16 MiB of doubles.
pub const BUFFERED_VALUES: usize = 2 << 20;
/// Parquet allows at most 2^15 row groups in a file; row groups grow past the buffer's size
/// when a study has so many runs that it would need more.
const MAX_ROW_GROUPS: u64 = 30_000;

type Sink = BufWriter<SyncedFile>;

pub struct RunsParquet {
    writer: SerializedFileWriter<Sink>,
    columns: Columns,
    /// Rows per row group, a multiple of [`BLOCK`] so that a group ends where a block does.
    group_rows: usize,
    group: Group,
    /// Each decision's options, and the outcomes, as the byte strings written.
    option_values: Vec<Vec<ByteArray>>,
    outcome_values: Vec<ByteArray>,
}

/// The rows of the row group being filled, column by column.
#[derive(Default)]
struct Group {
    rows: usize,
    run: Vec<i64>,
    parameter_set: Vec<i64>,
    parameters: Vec<Vec<f64>>,
    /// Per decision: the options taken, and a definition level per row (0 for null).
    choices: Vec<Vec<ByteArray>>,
    defined: Vec<Vec<i16>>,
    outcome: Vec<ByteArray>,
    metrics: Vec<Vec<f64>>,
    events: Vec<Vec<i64>>,
}

fn parquet_error(e: ParquetError) -> io::Error {
    match e {
        ParquetError::External(inner) => io::Error::other(inner),
        other => io::Error::other(other.to_string()),
    }
}

/// Rows per row group for rows of `width` values in a study of at most `max_rows` runs.
fn rows_per_group(width: usize, max_rows: u64) -> usize {
    let by_memory = (BUFFERED_VALUES / width.max(1)) as u64;
    let by_count = max_rows.div_ceil(MAX_ROW_GROUPS);
    by_memory.max(by_count).max(1).next_multiple_of(BLOCK) as usize
}

impl RunsParquet {
    /// Starts the file in `file` for a study of at most `max_rows` runs.
    pub fn create(
        file: tempfile::NamedTempFile,
        columns: Columns,
        max_rows: u64,
    ) -> io::Result<RunsParquet> {
        let header = columns.header();
        let required = |name: &str, physical| {
            Type::primitive_type_builder(name, physical)
                .with_repetition(Repetition::REQUIRED)
                .build()
        };
        let text = |name: &str, repetition| {
            Type::primitive_type_builder(name, PhysicalType::BYTE_ARRAY)
                .with_repetition(repetition)
                .with_logical_type(Some(LogicalType::String))
                .build()
        };
        let mut fields = vec![required("run", PhysicalType::INT64)];
        if columns.has_parameter_set() {
            fields.push(required("parameter_set", PhysicalType::INT64));
        }
        for id in &columns.parameter_ids {
            fields.push(required(id, PhysicalType::DOUBLE));
        }
        for id in &columns.decision_ids {
            fields.push(text(id, Repetition::OPTIONAL));
        }
        fields.push(text("outcome", Repetition::REQUIRED));
        for id in &columns.metric_ids {
            fields.push(required(id, PhysicalType::DOUBLE));
        }
        for id in &columns.event_ids {
            fields.push(required(id, PhysicalType::INT64));
        }
        let fields = fields
            .into_iter()
            .map(|f| f.map(Arc::new))
            .collect::<Result<Vec<_>, _>>()
            .map_err(parquet_error)?;
        let schema = Type::group_type_builder("runs")
            .with_fields(fields)
            .build()
            .map_err(parquet_error)?;
        // Doubles drawn at random are nearly all distinct: no dictionary for them, which would
        // only be built and thrown away. Strings and counts take few values: a dictionary.
        let mut properties = WriterProperties::builder()
            .set_compression(Compression::SNAPPY)
            .set_dictionary_enabled(false)
            .set_statistics_enabled(EnabledStatistics::Chunk)
            .set_created_by(format!("alliance-sim {}", env!("CARGO_PKG_VERSION")))
            .set_column_encoding(ColumnPath::from("run"), Encoding::DELTA_BINARY_PACKED)
            .set_column_encoding(
                ColumnPath::from("parameter_set"),
                Encoding::DELTA_BINARY_PACKED,
            );
        let dictionary = columns
            .decision_ids
            .iter()
            .map(String::as_str)
            .chain(["outcome"])
            .chain(columns.event_ids.iter().map(String::as_str));
        for name in dictionary {
            properties = properties.set_column_dictionary_enabled(ColumnPath::from(name), true);
        }
        let group_rows = rows_per_group(header.len(), max_rows);
        let properties = properties
            .set_max_row_group_row_count(Some(group_rows))
            .build();
        let writer = SerializedFileWriter::new(
            BufWriter::with_capacity(1 << 20, SyncedFile::new(file)?),
            Arc::new(schema),
            Arc::new(properties),
        )
        .map_err(parquet_error)?;
        let bytes = |s: &String| ByteArray::from(s.as_bytes().to_vec());
        Ok(RunsParquet {
            writer,
            group_rows,
            group: Group {
                parameters: vec![Vec::new(); columns.parameters.len()],
                choices: vec![Vec::new(); columns.decision_ids.len()],
                defined: vec![Vec::new(); columns.decision_ids.len()],
                metrics: vec![Vec::new(); columns.metric_ids.len()],
                events: vec![Vec::new(); columns.event_ids.len()],
                ..Group::default()
            },
            option_values: columns
                .decision_options
                .iter()
                .map(|options| options.iter().map(bytes).collect())
                .collect(),
            outcome_values: columns.outcome_ids.iter().map(bytes).collect(),
            columns,
        })
    }

    /// Adds a block's rows to the row group being filled.
    fn buffer(&mut self, rows: &RunRows) {
        let g = &mut self.group;
        let first = rows.first_run as i64;
        g.run.extend((0..rows.len as i64).map(|r| first + r));
        if self.columns.has_parameter_set() {
            let r = self.columns.replications as i64;
            g.parameter_set
                .extend((0..rows.len as i64).map(|k| (first + k) / r));
        }
        // Column by column through the block's rows, which are row-major.
        let parameter_rows = || rows.parameters.chunks_exact(rows.parameter_count.max(1));
        for (column, &i) in g.parameters.iter_mut().zip(&self.columns.parameters) {
            column.extend(parameter_rows().take(rows.len).map(|row| row[i]));
        }
        for (d, (values, defined)) in g.choices.iter_mut().zip(&mut g.defined).enumerate() {
            for r in 0..rows.len {
                match usize::try_from(rows.choices[r * rows.decision_count + d]) {
                    Ok(option) => {
                        values.push(self.option_values[d][option].clone());
                        defined.push(1);
                    }
                    Err(_) => defined.push(0),
                }
            }
        }
        g.outcome.extend(
            rows.outcomes[..rows.len]
                .iter()
                .map(|&o| self.outcome_values[o as usize].clone()),
        );
        let metric_rows = || rows.metrics.chunks_exact(rows.metric_count.max(1));
        for (k, column) in g.metrics.iter_mut().enumerate() {
            column.extend(metric_rows().take(rows.len).map(|row| row[k]));
        }
        let event_rows = || rows.event_counts.chunks_exact(rows.event_count.max(1));
        for (e, column) in g.events.iter_mut().enumerate() {
            column.extend(event_rows().take(rows.len).map(|row| i64::from(row[e])));
        }
        g.rows += rows.len;
    }

    /// Writes the buffered rows as one row group, and empties the buffer.
    fn write_group(&mut self) -> Result<(), ParquetError> {
        if self.group.rows == 0 {
            return Ok(());
        }
        let g = &mut self.group;
        let mut row_group = self.writer.next_row_group()?;
        write_column::<Int64Type>(&mut row_group, &g.run, None)?;
        if self.columns.has_parameter_set() {
            write_column::<Int64Type>(&mut row_group, &g.parameter_set, None)?;
        }
        for column in &g.parameters {
            write_column::<DoubleType>(&mut row_group, column, None)?;
        }
        for (values, defined) in g.choices.iter().zip(&g.defined) {
            write_column::<ByteArrayType>(&mut row_group, values, Some(defined))?;
        }
        write_column::<ByteArrayType>(&mut row_group, &g.outcome, None)?;
        for column in &g.metrics {
            write_column::<DoubleType>(&mut row_group, column, None)?;
        }
        for column in &g.events {
            write_column::<Int64Type>(&mut row_group, column, None)?;
        }
        row_group.close()?;
        g.rows = 0;
        g.run.clear();
        g.parameter_set.clear();
        let columns = g.parameters.iter_mut().chain(&mut g.metrics);
        columns.for_each(Vec::clear);
        g.choices.iter_mut().for_each(Vec::clear);
        g.defined.iter_mut().for_each(Vec::clear);
        g.outcome.clear();
        g.events.iter_mut().for_each(Vec::clear);
        Ok(())
    }
}

/// Writes the next column of `row_group`, which must be of type `T`.
fn write_column<T: parquet::data_type::DataType>(
    row_group: &mut SerializedRowGroupWriter<'_, Sink>,
    values: &[T::T],
    defined: Option<&[i16]>,
) -> Result<(), ParquetError> {
    let mut column = row_group
        .next_column()?
        .ok_or_else(|| ParquetError::General("more columns than the schema has".into()))?;
    column.typed::<T>().write_batch(values, defined, None)?;
    column.close()
}

impl RunsFile for RunsParquet {
    fn write_rows(&mut self, rows: &RunRows) -> io::Result<()> {
        self.buffer(rows);
        if self.group.rows >= self.group_rows {
            self.write_group().map_err(parquet_error)?;
        }
        Ok(())
    }

    fn finish(mut self: Box<Self>) -> io::Result<tempfile::NamedTempFile> {
        self.write_group().map_err(parquet_error)?;
        // Writes the footer.
        let buffered = self.writer.into_inner().map_err(parquet_error)?;
        buffered.into_inner().map_err(|e| e.into_error())?.finish()
    }
}
