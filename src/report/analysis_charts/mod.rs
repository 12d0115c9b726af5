//! Charts of the analyses: a comparison's differences, a sweep's curves or heatmap, a tornado
//! and Sobol indices.
//!
//! The summary charts ([`super::charts`]) are drawn from a [`Summary`](crate::montecarlo::Summary);
//! these are drawn from the analyses' results, in the same style and with the same helpers
//! (embedded font, palette, text layout, frame with title, subtitle and footer). One file per
//! chart, each a type implementing [`AnalysisChart`]; [`write_chart`] renders it as
//! `<name>.png` and `<name>.svg` (same content), each written atomically.

mod calibration;
mod comparison;
mod discovery;
mod signposts;
mod sobol;
mod sweep;
mod sweep_heatmap;
mod tornado;

use std::path::{Path, PathBuf};

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, VPos};

use super::charts::render::{write_png_and_svg, Drawing};
use super::charts::style::{palette, FOOTER, HEADER, MUTED, TEXT};
use super::charts::{draw_text, text_width, DrawError, DrawResult, TextSpec};
use super::ReportError;
use crate::analysis::compare::Comparison;
use crate::analysis::sensitivity::{Sobol, Tornado};
use crate::analysis::sweep::Sweep;
use crate::report::format::group_thousands;

/// File stems of the charts an analysis writes.
pub const COMPARISON_CHART: &str = "comparison";
pub const SWEEP_CHART: &str = "sweep";
pub const SWEEP_HEATMAP_CHART: &str = "sweep_heatmap";
pub const TORNADO_CHART: &str = "tornado";
pub const SOBOL_CHART: &str = "sobol";
pub const CALIBRATION_CHART: &str = "calibration";
pub const DISCOVERY_CHART: &str = "discovery";
pub const SIGNPOSTS_CHART: &str = "signposts";

/// Draws `signposts.png` and `signposts.svg` into `dir` (created if missing): the best signs,
/// each with the outcome's probability if it is seen and if not. Returns the files written.
pub fn write_signposts_chart(
    s: &crate::analysis::signposts::Signposts,
    scenario_name: &str,
    dir: &Path,
) -> Result<Vec<PathBuf>, ReportError> {
    write_chart(&signposts::SignpostsChart::new(s, scenario_name), dir)
}

/// Draws `discovery.png` and `discovery.svg` into `dir` (created if missing): the peeling
/// trajectory and the boxes. Returns the files written.
pub fn write_discovery_chart(
    d: &crate::analysis::discover::Discovery,
    scenario_name: &str,
    dir: &Path,
) -> Result<Vec<PathBuf>, ReportError> {
    write_chart(&discovery::DiscoveryChart::new(d, scenario_name), dir)
}

/// Draws `calibration.png` and `calibration.svg` into `dir` (created if missing): each
/// calibrated parameter's prior against its posterior. Returns the files written.
pub fn write_calibration_chart(
    r: &crate::analysis::calibrate::CalibrationReport,
    dir: &Path,
) -> Result<Vec<PathBuf>, ReportError> {
    write_chart(&calibration::CalibrationChart::new(r), dir)
}

/// Draws `comparison.png` and `comparison.svg` into `dir` (created if missing): each variant's
/// difference from the base, per outcome, with its 95% paired interval. Returns the files
/// written (PNG, then SVG).
pub fn write_comparison_chart(c: &Comparison, dir: &Path) -> Result<Vec<PathBuf>, ReportError> {
    write_chart(&comparison::ComparisonChart::new(c), dir)
}

/// Draws a sweep's charts into `dir` (created if missing): for one parameter `sweep.png|svg`
/// (each outcome's probability across the grid, with its 95% band, plus a panel zooming on
/// `main_outcome` if one is given and it is too rare to read on the shared axis); for two
/// `sweep_heatmap.png|svg` (the probability of `main_outcome`, by default the first outcome,
/// over the grid). Returns the files written.
pub fn write_sweep_charts(
    s: &Sweep,
    dir: &Path,
    main_outcome: Option<&str>,
) -> Result<Vec<PathBuf>, ReportError> {
    let outcomes = s
        .points
        .first()
        .map(|p| p.outcomes.as_slice())
        .unwrap_or(&[]);
    let main =
        match main_outcome {
            None => 0,
            Some(id) => outcomes.iter().position(|o| o.id == id).ok_or_else(|| {
                ReportError::UnknownOutcome {
                    id: id.to_string(),
                    known: outcomes
                        .iter()
                        .map(|o| o.id.as_str())
                        .collect::<Vec<_>>()
                        .join(", "),
                }
            })?,
        };
    if outcomes.is_empty() {
        return Ok(Vec::new());
    }
    match s.axes.len() {
        1 => write_chart(&sweep::SweepChart::new(s, main_outcome.map(|_| main)), dir),
        2 => write_chart(&sweep_heatmap::HeatmapChart::new(s, main), dir),
        _ => Ok(Vec::new()),
    }
}

/// Draws `tornado.png` and `tornado.svg` into `dir` (created if missing). `scenario_name` is
/// shown in the subtitle. Returns the files written.
pub fn write_tornado_chart(
    t: &Tornado,
    scenario_name: &str,
    dir: &Path,
) -> Result<Vec<PathBuf>, ReportError> {
    write_chart(&tornado::TornadoChart::new(t, scenario_name), dir)
}

/// Draws `sobol.png` and `sobol.svg` into `dir` (created if missing). Returns the files written.
pub fn write_sobol_chart(
    s: &Sobol,
    scenario_name: &str,
    dir: &Path,
) -> Result<Vec<PathBuf>, ReportError> {
    write_chart(&sobol::SobolChart::new(s, scenario_name), dir)
}

// ---------------------------------------------------------------------------------------------
// Rendering
// ---------------------------------------------------------------------------------------------

/// One analysis chart, drawn once generically over the plotters backend.
pub(crate) trait AnalysisChart: Sync {
    /// File stem, `snake_case`.
    fn name(&self) -> &'static str;
    /// Size in pixels (width, height).
    fn size(&self) -> (u32, u32);
    /// Draw onto `root`, the whole canvas (already cleared to white). `raster`: drawing a
    /// bitmap (text placed glyph by glyph) rather than an SVG.
    fn draw<DB: DrawingBackend>(&self, raster: bool, root: &DrawingArea<DB, Shift>) -> DrawResult;
}

impl<C: AnalysisChart> Drawing for C {
    fn draw<DB: DrawingBackend>(&self, raster: bool, root: &DrawingArea<DB, Shift>) -> DrawResult {
        AnalysisChart::draw(self, raster, root)
    }
}

/// Writes `dir/<name>.png` and `dir/<name>.svg` (`dir` created if missing), each atomically;
/// returns their paths.
pub(crate) fn write_chart<C: AnalysisChart>(
    chart: &C,
    dir: &Path,
) -> Result<Vec<PathBuf>, ReportError> {
    std::fs::create_dir_all(dir).map_err(|e| ReportError::io(dir, e))?;
    let (png, svg) = write_png_and_svg(chart, chart.name(), chart.size(), dir)?;
    Ok(vec![png, svg])
}

// ---------------------------------------------------------------------------------------------
// Shared pieces
// ---------------------------------------------------------------------------------------------

/// Base width of the analysis charts, as the summary charts.
pub(crate) const WIDTH: u32 = 1000;
/// Smallest height.
pub(crate) const MIN_HEIGHT: u32 = 600;
/// Smallest height of the charts with one row per item (they grow with the items).
pub(crate) const MIN_LIST_HEIGHT: u32 = 440;
/// Height of each of `n` rows of `row` pixels at least, stretched to fill `available` pixels
/// but by no more than 60%.
pub(crate) fn row_height(n: usize, row: u32, available: i32) -> i32 {
    let row = row as i32;
    let n = n.max(1) as i32;
    (available / n).clamp(row, row * 8 / 5)
}

/// Height taken by the frame (header and footer) around the chart area: the margins that
/// [`draw_frame`](super::charts::draw_frame) leaves above and below it.
pub(crate) const FRAME_HEIGHT: u32 = (HEADER + FOOTER + 6) as u32;

/// `N runs per point · seed S · alliance-sim VERSION` (`what` is e.g. `runs per point`).
pub(crate) fn footer(runs: u64, what: &str, seed: u64, version: &str) -> String {
    let version = if version.is_empty() {
        String::new()
    } else {
        format!(" {version}")
    };
    format!(
        "{} {what} · seed {seed} · alliance-sim{version}",
        group_thousands(runs)
    )
}

/// An axis on round values: from `lo` to `hi`, both multiples of `step` (1, 2 or 5 times a
/// power of ten, the steps plotters picks its labels on, so both ends get a label).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct NiceAxis {
    pub lo: f64,
    pub hi: f64,
    pub step: f64,
}

impl NiceAxis {
    /// How many labels to ask plotters for: exactly one per step, ends included.
    pub fn labels(&self) -> usize {
        ((self.hi - self.lo) / self.step).round() as usize + 1
    }
}

/// A probability axis from zero to a round value a little above `highest` (at most 100%), so
/// that rare outcomes are not flattened into the axis.
pub(crate) fn probability_axis(highest: f64) -> NiceAxis {
    let highest = if highest.is_finite() && highest > 0.0 {
        highest.min(1.0) * 1.04
    } else {
        0.01
    };
    // The finest round step that needs at most 7 intervals.
    let mut step = nice_step(highest, 10);
    while (highest / step - 1e-9).ceil() > 7.0 {
        step = nice_step(step * 1.5, 1);
    }
    let hi = ((highest / step - 1e-9).ceil() * step).min(1.0);
    NiceAxis { lo: 0.0, hi, step }
}

/// An outcome's label from a sensitivity target's label (`P(label)`), if it is one.
pub(crate) fn outcome_label(target_label: &str) -> Option<&str> {
    target_label.strip_prefix("P(")?.strip_suffix(')')
}

/// A round step (1, 2 or 5 times a power of ten) for about `target` intervals over `span`.
pub(crate) fn nice_step(span: f64, target: usize) -> f64 {
    let raw = span.abs().max(f64::MIN_POSITIVE) / target.max(1) as f64;
    let mag = 10f64.powf(raw.log10().floor());
    let norm = raw / mag;
    let m = if norm <= 1.0 + 1e-9 {
        1.0
    } else if norm <= 2.0 + 1e-9 {
        2.0
    } else if norm <= 5.0 + 1e-9 {
        5.0
    } else {
        10.0
    };
    m * mag
}

/// An axis on round values covering `lo..hi`, with about `target` intervals.
pub(crate) fn nice_range(lo: f64, hi: f64, target: usize) -> NiceAxis {
    let (lo, hi) = super::charts::padded_range(lo, hi, 0.0);
    let step = nice_step(hi - lo, target);
    NiceAxis {
        lo: (lo / step + 1e-9).floor() * step,
        hi: (hi / step - 1e-9).ceil() * step,
        step,
    }
}

/// The first of `options` that fits a subtitle line of a chart `width` pixels wide (the last
/// one, to be shortened by the frame, if none does).
pub(crate) fn subtitle_fitting(options: &[String], width: u32) -> String {
    let usable = width as i32 - 2 * super::charts::style::PAGE_MARGIN;
    options
        .iter()
        .find(|o| text_width(o, 15.0) <= usable)
        .or(options.last())
        .cloned()
        .unwrap_or_default()
}

/// A legend entry: a filled swatch and its text; returns the x after it.
pub(crate) fn legend_swatch<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    raster: bool,
    (x, y): (i32, i32),
    colour: RGBColor,
    text: &str,
) -> Result<i32, DrawError> {
    root.draw(&Rectangle::new(
        [(x, y - 6), (x + 14, y + 6)],
        colour.filled(),
    ))?;
    let spec = TextSpec::new(12.5, TEXT).anchor(HPos::Left, VPos::Center);
    draw_text(root, raster, text, (x + 20, y), spec)?;
    Ok(x + 20 + text_width(text, 12.5) + 22)
}

/// Muted note text at `(x, y)`, vertically centred.
pub(crate) fn note<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    raster: bool,
    (x, y): (i32, i32),
    text: &str,
) -> Result<i32, DrawError> {
    let spec = TextSpec::new(12.5, MUTED).anchor(HPos::Left, VPos::Center);
    draw_text(root, raster, text, (x, y), spec)?;
    Ok(x + text_width(text, 12.5) + 22)
}

/// Colour for the `i`-th series (the shared palette).
pub(crate) fn series(i: usize) -> RGBColor {
    palette(i)
}

#[cfg(test)]
mod tests;
