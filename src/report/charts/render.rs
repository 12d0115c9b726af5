//! The one way a chart becomes files: drawn once with the SVG backend and once with the bitmap
//! backend, written as `<name>.svg` and `<name>.png`, each atomically.
//!
//! Summary charts ([`super::Chart`]) and analysis charts
//! ([`AnalysisChart`](crate::report::analysis_charts)) both come through here, so that the two
//! kinds cannot drift apart in how they are rendered, in the order their files are written, or
//! in the errors they report.

use std::path::{Path, PathBuf};

use plotters::coord::Shift;
use plotters::prelude::*;

use super::style::ensure_font;
use super::{DrawError, DrawResult};
use crate::report::atomic::{write_atomic, write_atomic_via_path};
use crate::report::ReportError;

/// A picture drawn once, generically over the plotters backend.
pub(crate) trait Drawing {
    /// Draw onto `root`, the whole canvas (already cleared to white). `raster`: drawing a
    /// bitmap (text placed glyph by glyph) rather than an SVG.
    fn draw<DB: DrawingBackend>(&self, raster: bool, root: &DrawingArea<DB, Shift>) -> DrawResult;
}

/// Writes `dir/<name>.svg`, then `dir/<name>.png`, each atomically, `size` pixels (width,
/// height); returns the paths of the PNG and the SVG. `dir` must exist. An error while drawing
/// names the chart.
pub(crate) fn write_png_and_svg<D: Drawing>(
    drawing: &D,
    name: &str,
    size: (u32, u32),
    dir: &Path,
) -> Result<(PathBuf, PathBuf), ReportError> {
    let draw_err = |e: DrawError| ReportError::Draw {
        chart: name.to_string(),
        message: e.0,
    };

    let svg_path = dir.join(format!("{name}.svg"));
    let svg = render_svg(drawing, size).map_err(draw_err)?;
    write_atomic(&svg_path, svg.as_bytes()).map_err(|e| ReportError::io(&svg_path, e))?;

    let png_path = dir.join(format!("{name}.png"));
    write_atomic_via_path(&png_path, ".png", |tmp| {
        render_png(drawing, size, tmp).map_err(|e| PngError::Report(draw_err(e)))
    })
    .map_err(|e| match e {
        PngError::Io(e) => ReportError::io(&png_path, e),
        PngError::Report(e) => e,
    })?;

    Ok((png_path, svg_path))
}

fn render_svg<D: Drawing>(drawing: &D, size: (u32, u32)) -> Result<String, DrawError> {
    ensure_font()?;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, size).into_drawing_area();
        root.fill(&WHITE)?;
        drawing.draw(false, &root)?;
        root.present()?;
    }
    Ok(svg)
}

/// The bitmap backend encodes the PNG itself, into the file at `path`.
fn render_png<D: Drawing>(drawing: &D, size: (u32, u32), path: &Path) -> DrawResult {
    ensure_font()?;
    let root = BitMapBackend::new(path, size).into_drawing_area();
    root.fill(&WHITE)?;
    drawing.draw(true, &root)?;
    root.present()?;
    Ok(())
}

/// Why writing the PNG failed: the file (named by the caller), or the drawing.
enum PngError {
    Io(std::io::Error),
    Report(ReportError),
}

impl From<std::io::Error> for PngError {
    fn from(e: std::io::Error) -> Self {
        PngError::Io(e)
    }
}
