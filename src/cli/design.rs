//! `run --design FILE`: rows of parameter values from another tool, checked cell by cell.
//!
//! The file is CSV with a header of parameter ids and one row per run. Every problem is an
//! error at its line and column (rendered like a scenario's errors, with the line and a caret),
//! so a design written by a script can be fixed where it is wrong.

use std::path::Path;

use sha2::{Digest, Sha256};

use super::{print_stderr, use_color, Failure};
use crate::diagnostic::{suggest, Diagnostic, Diagnostics, SourceMap, Span};
use crate::model::Model;
use crate::montecarlo::DesignRows;

/// A design file larger than this is refused before it is read whole (values are held in
/// memory, 8 bytes per cell).
const MAX_DESIGN_BYTES: u64 = 256 * 1024 * 1024;

/// Reads and checks a design for `model`. `fixed` are the parameters `--set` holds, which a
/// design may not also set.
pub fn read_design(
    model: &Model,
    path: &Path,
    fixed: &[(usize, f64)],
) -> Result<DesignRows, Failure> {
    let shown = path.display().to_string();
    let meta = std::fs::metadata(path)
        .map_err(|e| Failure::Invalid(format!("error: --design: cannot read `{shown}`: {e}")))?;
    if meta.is_dir() {
        return Err(Failure::Invalid(format!(
            "error: --design: `{shown}` is a folder; give a CSV file with a header of parameter ids"
        )));
    }
    if meta.len() > MAX_DESIGN_BYTES {
        return Err(Failure::Invalid(format!(
            "error: --design: `{shown}` is {} bytes; a design is limited to {MAX_DESIGN_BYTES} bytes",
            meta.len()
        )));
    }
    let bytes = std::fs::read(path)
        .map_err(|e| Failure::Invalid(format!("error: --design: cannot read `{shown}`: {e}")))?;
    let sha256 = Sha256::digest(&bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<String>();
    let text = String::from_utf8(bytes).map_err(|e| {
        Failure::Invalid(format!(
            "error: --design: `{shown}` is not UTF-8 text (first bad byte at offset {})",
            e.utf8_error().valid_up_to()
        ))
    })?;
    let mut sources = SourceMap::default();
    let file = sources.add(shown.clone(), text.clone());
    let fail = |sources: SourceMap, items: Vec<Diagnostic>| {
        Failure::Invalid(Diagnostics { sources, items }.render(use_color()))
    };
    // Lines with their byte offsets; blank lines (a trailing newline) are skipped.
    let mut lines = Vec::new();
    let mut offset = 0usize;
    for line in text.split_inclusive('\n') {
        let content = line.trim_end_matches(['\n', '\r']);
        if !content.trim().is_empty() {
            lines.push((offset, content));
        }
        offset += line.len();
    }
    let Some(&(header_at, header)) = lines.first() else {
        return Err(fail(
            sources,
            vec![Diagnostic::new(
                "the design file is empty".to_string(),
                Span::new(file, 0..0),
            )
            .with_hint("write a header of parameter ids, then one row of values per run")],
        ));
    };
    let header_cells = cells(header, header_at);
    let mut columns = Vec::new();
    let mut errors = Vec::new();
    for (name, range) in &header_cells {
        let span = Span::new(file, range.clone());
        let Some(index) = model.parameter_index(name) else {
            let hint = suggest(name, model.parameters.iter().map(|p| p.id.as_str()))
                .unwrap_or_else(|| {
                    format!(
                        "the header names parameters of the scenario: {}",
                        model
                            .parameters
                            .iter()
                            .map(|p| p.id.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                });
            errors.push(
                Diagnostic::new(
                    format!("unknown parameter `{name}` in the design's header"),
                    span,
                )
                .with_hint(hint),
            );
            continue;
        };
        if columns.contains(&index) {
            errors.push(
                Diagnostic::new(format!("parameter `{name}` has two columns"), span)
                    .with_hint("give each parameter one column"),
            );
            continue;
        }
        if fixed.iter().any(|(i, _)| *i == index) {
            errors.push(
                Diagnostic::new(
                    format!("parameter `{name}` is held by --set and set by the design"),
                    span,
                )
                .with_hint("drop the --set or the column"),
            );
            continue;
        }
        columns.push(index);
    }
    if !errors.is_empty() {
        return Err(fail(sources, errors));
    }
    if lines.len() == 1 {
        return Err(fail(
            sources,
            vec![Diagnostic::new(
                "the design has a header but no rows".to_string(),
                Span::new(file, header_at..header_at + header.len()),
            )
            .with_hint("add one row of values per run")],
        ));
    }
    let width = columns.len();
    let mut values = Vec::with_capacity((lines.len() - 1) * width);
    // Per column: how many values lie outside what the parameter can take, and the first.
    let mut outside: Vec<(usize, Option<Span>)> = vec![(0, None); width];
    for &(at, line) in &lines[1..] {
        let row = cells(line, at);
        if row.len() != width {
            errors.push(
                Diagnostic::new(
                    format!(
                        "this row has {} values; the header has {width} columns",
                        row.len()
                    ),
                    Span::new(file, at..at + line.len()),
                )
                .with_hint("every row gives one value per column of the header"),
            );
            if errors.len() >= 20 {
                break;
            }
            continue;
        }
        for (k, (cell, range)) in row.iter().enumerate() {
            let span = Span::new(file, range.clone());
            match cell.parse::<f64>() {
                Ok(v) if v.is_finite() => {
                    let (lo, hi) = model.parameters[columns[k]].distribution.support();
                    if v < lo || v > hi {
                        outside[k].0 += 1;
                        outside[k].1.get_or_insert(span);
                    }
                    values.push(v);
                }
                _ => {
                    errors.push(
                        Diagnostic::new(format!("`{cell}` is not a finite number"), span)
                            .with_hint("every cell of a row is a number, such as 0.5 or 1e-3"),
                    );
                    values.push(f64::NAN);
                }
            }
        }
        if errors.len() >= 20 {
            break;
        }
    }
    if !errors.is_empty() {
        return Err(fail(sources, errors));
    }
    for (k, (count, first)) in outside.iter().enumerate() {
        if let Some(span) = first {
            let p = &model.parameters[columns[k]];
            print_stderr(&format!(
                "warning: --design: {count} value(s) of `{}` lie outside what it can take in the scenario ({}), the first at {}; the study runs them as given",
                p.id,
                p.distribution.describe(),
                sources.location(*span)
            ));
        }
    }
    Ok(DesignRows {
        file: shown,
        sha256,
        columns,
        values,
    })
}

/// The comma-separated cells of `line` (which starts at byte `at` of the file), trimmed, each
/// with its byte range; a cell in double quotes loses them.
fn cells(line: &str, at: usize) -> Vec<(String, std::ops::Range<usize>)> {
    let mut out = Vec::new();
    let mut start = 0usize;
    for part in line.split(',') {
        let lead = part.len() - part.trim_start().len();
        let trimmed = part.trim();
        let begin = at + start + lead;
        let cell = trimmed
            .strip_prefix('"')
            .and_then(|t| t.strip_suffix('"'))
            .unwrap_or(trimmed);
        out.push((cell.to_string(), begin..begin + trimmed.len().max(1)));
        start += part.len() + 1;
    }
    out
}
