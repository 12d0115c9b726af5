//! The charts: one file per chart, each a type implementing [`Chart`], listed in [`CHARTS`].
//!
//! Adding a chart is one new file (a unit struct implementing [`Chart`]) plus one line in
//! [`CHARTS`]. A chart draws once, generically over the plotters backend; [`Render`] (implemented
//! for every `Chart`) has it written as SVG and PNG by [`render::write_png_and_svg`], the path
//! the analysis charts take too.
//!
//! The shared style (font, colours, margins) is in [`style`]; the shared drawing is here: the
//! header and footer ([`frame`]), the axes, text measuring and wrapping.

mod decisions;
mod drivers;
mod metrics;
mod outcomes;
pub(crate) mod render;
mod replications;
pub(crate) mod style;
mod text;
mod timeline;
mod timing;

use std::path::{Path, PathBuf};

use plotters::coord::ranged1d::{BoldPoints, Ranged, ValueFormatter};
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, VPos};

pub(crate) use text::{draw_text, text_width, TextSpec};

use style::{AXIS, FOOTER, GRID, HEADER, MUTED, PAGE_MARGIN, TEXT};

use super::ReportError;
use crate::montecarlo::Summary;
use crate::report::format::group_thousands;

/// Every chart, in the order they appear in the report.
pub(crate) static CHARTS: &[&dyn Render] = &[
    &outcomes::Outcomes,
    &replications::Replications,
    &decisions::Decisions,
    &timing::DecisionTiming,
    &metrics::Metrics,
    &timeline::Timeline,
    &drivers::Drivers,
];

/// The names of all charts (`<name>.png`, `<name>.svg`), in report order.
pub fn chart_names() -> Vec<&'static str> {
    CHARTS.iter().map(|c| c.name()).collect()
}

/// How to draw the charts.
#[derive(Debug, Clone, PartialEq)]
pub struct ChartOptions {
    /// Id of the outcome whose drivers are shown; `None` for the one the study estimates best
    /// bin by bin (`drivers::default_main_outcome`).
    pub main_outcome: Option<String>,
    /// Base size in pixels (width, height). Charts with many panels grow taller. Sizes below
    /// 640x400 are raised to that.
    pub size: (u32, u32),
    /// Analyses of the same scenario found beside the study, which report.html links to.
    pub analyses: Vec<AnalysisLink>,
}

/// An analysis's result beside a study (`discover/`, `signposts/`, ...), as report.html links
/// it: paths relative to the study's folder.
#[derive(Debug, Clone, PartialEq)]
pub struct AnalysisLink {
    /// What it answers, e.g. "What to watch (signposts)".
    pub title: String,
    pub json: String,
    /// Its chart's PNG, if it drew one.
    pub chart: Option<String>,
}

impl Default for ChartOptions {
    fn default() -> Self {
        ChartOptions {
            main_outcome: None,
            size: (1000, 600),
            analyses: Vec::new(),
        }
    }
}

/// A chart written by [`write_charts`].
#[derive(Debug, Clone, PartialEq)]
pub struct WrittenChart {
    /// File stem, e.g. `outcomes`.
    pub name: &'static str,
    /// Human title, e.g. `Outcome probabilities`.
    pub title: &'static str,
    pub png: PathBuf,
    pub svg: PathBuf,
    /// Size in pixels (width, height).
    pub size: (u32, u32),
}

/// Write every chart that applies to `summary` as `<name>.png` and `<name>.svg` into `dir`
/// (created if missing). Returns the charts written, in report order.
pub fn write_charts(
    summary: &Summary,
    dir: &Path,
    options: &ChartOptions,
) -> Result<Vec<WrittenChart>, ReportError> {
    let study = Study::new(summary, options)?;
    std::fs::create_dir_all(dir).map_err(|e| ReportError::io(dir, e))?;
    let todo: Vec<&dyn Render> = CHARTS
        .iter()
        .copied()
        .filter(|c| c.applies(&study))
        .collect();
    // Charts are independent: draw each on its own thread.
    let results: Vec<Result<WrittenChart, ReportError>> = std::thread::scope(|scope| {
        let handles: Vec<_> = todo
            .iter()
            .map(|chart| {
                let study = &study;
                scope.spawn(move || write_one(*chart, study, dir))
            })
            .collect();
        handles
            .into_iter()
            .zip(&todo)
            .map(|(h, chart)| {
                h.join().unwrap_or_else(|_| {
                    Err(ReportError::Draw {
                        chart: chart.name().to_string(),
                        message: "drawing panicked".to_string(),
                    })
                })
            })
            .collect()
    });
    results.into_iter().collect()
}

fn write_one(chart: &dyn Render, study: &Study, dir: &Path) -> Result<WrittenChart, ReportError> {
    let size = chart.size(study);
    let (png, svg) = chart.write_png_and_svg(study, size, dir)?;
    Ok(WrittenChart {
        name: chart.name(),
        title: chart.title(),
        png,
        svg,
        size,
    })
}

/// What a chart gets to draw: the summary and the options resolved.
#[derive(Clone, Copy)]
pub(crate) struct Study<'a> {
    pub summary: &'a Summary,
    /// Index of the main outcome in `summary.outcomes` (0 when there are none).
    pub main: usize,
    /// Base size (width, height) in pixels.
    pub size: (u32, u32),
    /// Drawing a bitmap (text is placed glyph by glyph) rather than an SVG.
    pub raster: bool,
}

impl<'a> Study<'a> {
    pub fn new(summary: &'a Summary, options: &ChartOptions) -> Result<Self, ReportError> {
        let main = match &options.main_outcome {
            None => drivers::default_main_outcome(summary),
            Some(id) => summary
                .outcomes
                .iter()
                .position(|o| &o.id == id)
                .ok_or_else(|| ReportError::UnknownOutcome {
                    id: id.clone(),
                    known: summary
                        .outcomes
                        .iter()
                        .map(|o| o.id.as_str())
                        .collect::<Vec<_>>()
                        .join(", "),
                })?,
        };
        Ok(Study {
            summary,
            main,
            size: (options.size.0.max(640), options.size.1.max(400)),
            raster: false,
        })
    }
}

/// An error while drawing, as text (plotters' errors are generic over the backend).
#[derive(Debug)]
pub(crate) struct DrawError(pub String);

impl<E: std::error::Error + Send + Sync> From<DrawingAreaErrorKind<E>> for DrawError {
    fn from(e: DrawingAreaErrorKind<E>) -> Self {
        DrawError(e.to_string())
    }
}

pub(crate) type DrawResult = Result<(), DrawError>;

/// One chart. Implement this in a new file and list the type in [`CHARTS`].
pub(crate) trait Chart: Sync {
    /// File stem, `snake_case`.
    fn name(&self) -> &'static str;
    /// Human title, drawn at the top of the chart.
    fn title(&self) -> &'static str;
    /// Whether the summary has what this chart shows.
    fn applies(&self, study: &Study) -> bool;
    /// Size in pixels; by default the base size. Charts with many panels may grow.
    fn size(&self, study: &Study) -> (u32, u32) {
        study.size
    }
    /// Draw onto `root`, the whole canvas (already cleared to white).
    fn draw<DB: DrawingBackend>(&self, study: &Study, root: &DrawingArea<DB, Shift>) -> DrawResult;
}

/// The object-safe face of a [`Chart`]: writes it through [`render::write_png_and_svg`].
pub(crate) trait Render: Sync {
    fn name(&self) -> &'static str;
    fn title(&self) -> &'static str;
    fn applies(&self, study: &Study) -> bool;
    fn size(&self, study: &Study) -> (u32, u32);
    /// Writes `dir/<name>.svg` and `dir/<name>.png`; returns the paths of the PNG and the SVG.
    fn write_png_and_svg(
        &self,
        study: &Study,
        size: (u32, u32),
        dir: &Path,
    ) -> Result<(PathBuf, PathBuf), ReportError>;
}

impl<C: Chart> Render for C {
    fn name(&self) -> &'static str {
        Chart::name(self)
    }
    fn title(&self) -> &'static str {
        Chart::title(self)
    }
    fn applies(&self, study: &Study) -> bool {
        Chart::applies(self, study)
    }
    fn size(&self, study: &Study) -> (u32, u32) {
        Chart::size(self, study)
    }
    fn write_png_and_svg(
        &self,
        study: &Study,
        size: (u32, u32),
        dir: &Path,
    ) -> Result<(PathBuf, PathBuf), ReportError> {
        let drawing = ChartOfStudy {
            chart: self,
            study: *study,
        };
        render::write_png_and_svg(&drawing, Chart::name(self), size, dir)
    }
}

/// A summary chart with the study it shows: a [`render::Drawing`], the study told whether it is
/// being drawn as a bitmap.
struct ChartOfStudy<'a, C> {
    chart: &'a C,
    study: Study<'a>,
}

impl<C: Chart> render::Drawing for ChartOfStudy<'_, C> {
    fn draw<DB: DrawingBackend>(&self, raster: bool, root: &DrawingArea<DB, Shift>) -> DrawResult {
        let study = Study {
            raster,
            ..self.study
        };
        self.chart.draw(&study, root)
    }
}

// ---------------------------------------------------------------------------------------------
// Text layout, the frame and the axes
// ---------------------------------------------------------------------------------------------

/// Shorten `text` with an ellipsis so that it fits `max_width` pixels at `size`.
pub(crate) fn ellipsize(text: &str, max_width: i32, size: f64) -> String {
    if text::fits(text, size, max_width) {
        return text.to_string();
    }
    if let Some(cut) = text::cut_with_ellipsis(text, max_width, size) {
        return cut;
    }
    // Without the font's metrics (never, with the embedded font): try every cut.
    let chars: Vec<char> = text.chars().collect();
    let mut n = chars.len();
    while n > 0 {
        let candidate: String = chars[..n].iter().collect::<String>().trim_end().to_string() + "…";
        if text_width(&candidate, size) <= max_width {
            return candidate;
        }
        n -= 1;
    }
    "…".to_string()
}

/// Greedy word wrap of `text` into at most `max_lines` lines of `max_width` pixels at `size`.
/// Words longer than a line, and what does not fit in `max_lines`, end in an ellipsis.
pub(crate) fn wrap(text: &str, max_width: i32, size: f64, max_lines: usize) -> Vec<String> {
    let max_lines = max_lines.max(1);
    let words: Vec<&str> = text.split_whitespace().collect();
    let mut lines: Vec<String> = Vec::new();
    // The word each line starts with: what does not fit is the text from a line's start on.
    let mut starts: Vec<usize> = Vec::new();
    let mut current = String::new();
    // The width of `current` grows with it, so each word is measured once.
    let mut meter = text::LineMeter::new(size);
    let mut overflow = false;
    for (i, word) in words.iter().enumerate() {
        if current.is_empty() {
            starts.push(i);
            current.push_str(word);
            meter.push(word);
        } else if meter.width_with(&format!(" {word}")) <= max_width {
            current.push(' ');
            current.push_str(word);
            meter.push(&format!(" {word}"));
        } else {
            lines.push(std::mem::take(&mut current));
            if lines.len() == max_lines {
                // One more line would start here: the last line shown gets the rest, cut, so
                // there is no need to lay out the remaining lines of a long text.
                overflow = true;
                break;
            }
            starts.push(i);
            current.push_str(word);
            meter.clear();
            meter.push(word);
        }
    }
    if !current.is_empty() {
        lines.push(current);
    }
    if overflow {
        lines.truncate(max_lines - 1);
        let rest = words[starts[max_lines - 1]..].join(" ");
        // Force an ellipsis even if the joined rest happened to fit.
        let mut last = ellipsize(&rest, max_width, size);
        if last == rest {
            last = ellipsize(&format!("{rest}…"), max_width, size);
        }
        lines.push(last);
    }
    for line in &mut lines {
        *line = ellipsize(line, max_width, size);
    }
    lines
}

/// Draw `lines` starting at `(x, y)` (the anchor of the first line), `line_height` apart.
pub(crate) fn draw_lines<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    study: &Study,
    lines: &[String],
    (x, y): (i32, i32),
    line_height: i32,
    spec: TextSpec,
) -> DrawResult {
    for (i, line) in lines.iter().enumerate() {
        draw_text(
            area,
            study.raster,
            line,
            (x, y + i as i32 * line_height),
            spec,
        )?;
    }
    Ok(())
}

/// Draw the common frame: title, scenario name and subtitle, footer with runs, seed and
/// version. Returns the area left for the chart itself.
pub(crate) fn frame<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    study: &Study,
    title: &str,
    subtitle: &str,
) -> Result<DrawingArea<DB, Shift>, DrawError> {
    let s = study.summary;
    let sub = if subtitle.is_empty() {
        s.scenario.name.clone()
    } else {
        format!("{} — {}", s.scenario.name, subtitle)
    };
    draw_frame(
        root,
        study.raster,
        title,
        &sub,
        &footer_text(s),
        &format!("{} sampling", s.sampling),
    )
}

/// The frame of any chart, from its texts: `title`, the `subtitle` line under it, and the
/// footer (`footer` on the left, `footer_right` on the right). Returns the area left for the
/// chart itself. [`frame`] is this for a summary's charts.
pub(crate) fn draw_frame<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    raster: bool,
    title: &str,
    subtitle: &str,
    footer: &str,
    footer_right: &str,
) -> Result<DrawingArea<DB, Shift>, DrawError> {
    let r = raster;
    let (w, h) = root.dim_in_pixel();
    let (w, h) = (w as i32, h as i32);
    let usable = w - 2 * PAGE_MARGIN;

    draw_text(
        root,
        r,
        &ellipsize(title, usable, 26.0),
        (PAGE_MARGIN, 18),
        TextSpec::new(26.0, TEXT),
    )?;
    draw_text(
        root,
        r,
        &ellipsize(subtitle, usable, 15.0),
        (PAGE_MARGIN, 52),
        TextSpec::new(15.0, MUTED),
    )?;

    root.draw(&PathElement::new(
        vec![
            (PAGE_MARGIN, h - FOOTER + 2),
            (w - PAGE_MARGIN, h - FOOTER + 2),
        ],
        GRID,
    ))?;
    let right_w = text_width(footer_right, 12.5);
    let small = TextSpec::new(12.5, MUTED);
    draw_text(
        root,
        r,
        &ellipsize(footer, usable - right_w - 24, 12.5),
        (PAGE_MARGIN, h - FOOTER / 2 + 2),
        small.anchor(HPos::Left, VPos::Center),
    )?;
    draw_text(
        root,
        r,
        footer_right,
        (w - PAGE_MARGIN, h - FOOTER / 2 + 2),
        small.anchor(HPos::Right, VPos::Center),
    )?;

    Ok(root.margin(HEADER, FOOTER + 6, PAGE_MARGIN - 8, PAGE_MARGIN))
}

/// `N runs · seed S · alliance-sim VERSION`.
pub(crate) fn footer_text(s: &Summary) -> String {
    format!(
        "{} runs · seed {} · alliance-sim {}",
        group_thousands(s.runs),
        s.seed,
        s.version
    )
}

/// One axis of a chart: how many labels to aim for (plotters picks round values; 0 for
/// none), how to print them, its title (with units), and whether to draw grid lines.
pub(crate) struct Axis<'a, T> {
    pub labels: usize,
    pub format: &'a dyn Fn(&T) -> String,
    pub title: Option<String>,
    pub grid: bool,
}

/// Draw the grid, the axes and their labels in the shared style. plotters draws the lines and
/// ticks; the labels are drawn here so that bitmap text is laid out properly.
pub(crate) fn draw_axes<DB, X, Y, XT, YT>(
    root: &DrawingArea<DB, Shift>,
    study: &Study,
    chart: &mut ChartContext<'_, DB, Cartesian2d<X, Y>>,
    x: Axis<'_, XT>,
    y: Axis<'_, YT>,
) -> DrawResult
where
    DB: DrawingBackend,
    X: Ranged<ValueType = XT> + ValueFormatter<XT>,
    Y: Ranged<ValueType = YT> + ValueFormatter<YT>,
{
    draw_axes_with(root, study.raster, chart, x, y)
}

/// [`draw_axes`] for charts not drawn from a summary: `raster` as in [`draw_text`].
pub(crate) fn draw_axes_with<DB, X, Y, XT, YT>(
    root: &DrawingArea<DB, Shift>,
    raster: bool,
    chart: &mut ChartContext<'_, DB, Cartesian2d<X, Y>>,
    x: Axis<'_, XT>,
    y: Axis<'_, YT>,
) -> DrawResult
where
    DB: DrawingBackend,
    X: Ranged<ValueType = XT> + ValueFormatter<XT>,
    Y: Ranged<ValueType = YT> + ValueFormatter<YT>,
{
    {
        let blank = |_: &XT| String::new();
        let blank_y = |_: &YT| String::new();
        let mut mesh = chart.configure_mesh();
        mesh.bold_line_style(GRID)
            .light_line_style(TRANSPARENT)
            .axis_style(AXIS)
            .x_labels(x.labels.max(1))
            .y_labels(y.labels.max(1))
            .x_label_formatter(&blank)
            .y_label_formatter(&blank_y);
        if !x.grid {
            mesh.disable_x_mesh();
        }
        if !y.grid {
            mesh.disable_y_mesh();
        }
        if x.labels == 0 {
            mesh.set_tick_mark_size(LabelAreaPosition::Bottom, 0);
        }
        if y.labels == 0 {
            mesh.set_tick_mark_size(LabelAreaPosition::Left, 0);
        }
        mesh.draw()?;
    }

    let r = raster;
    let (xs, ys) = chart.plotting_area().get_pixel_range();
    let label = TextSpec::new(13.0, TEXT);
    let title = TextSpec::new(14.0, MUTED);
    let spec = chart.as_coord_spec();

    if x.labels > 0 {
        let mut last_right = i32::MIN;
        for v in spec.x_spec().key_points(BoldPoints(x.labels)) {
            let text = (x.format)(&v);
            let (px, _) = chart.backend_coord(&(v, spec.get_y_range().start));
            let w = text_width(&text, 13.0);
            if text.is_empty() || px - w / 2 < last_right + 8 {
                continue;
            }
            last_right = px + w / 2;
            draw_text(
                root,
                r,
                &text,
                (px, ys.end + 8),
                label.anchor(HPos::Center, VPos::Top),
            )?;
        }
    }
    if let Some(t) = &x.title {
        draw_text(
            root,
            r,
            &ellipsize(t, xs.end - xs.start, 14.0),
            ((xs.start + xs.end) / 2, ys.end + 30),
            title.anchor(HPos::Center, VPos::Top),
        )?;
    }

    let mut widest = 0;
    if y.labels > 0 {
        for v in spec.y_spec().key_points(BoldPoints(y.labels)) {
            let text = (y.format)(&v);
            let (_, py) = chart.backend_coord(&(spec.get_x_range().start, v));
            widest = widest.max(text_width(&text, 13.0));
            draw_text(
                root,
                r,
                &text,
                (xs.start - 9, py),
                label.anchor(HPos::Right, VPos::Center),
            )?;
        }
    }
    if let Some(t) = &y.title {
        draw_text(
            root,
            r,
            &ellipsize(t, ys.end - ys.start, 14.0),
            (xs.start - 9 - widest - 14, (ys.start + ys.end) / 2),
            title.anchor(HPos::Center, VPos::Center).upward(),
        )?;
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Dates, names and ranges
// ---------------------------------------------------------------------------------------------

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// `2019-07-01` -> `1 Jul 2019` (or `Jul 2019` with `month_only`); anything else unchanged.
pub(crate) fn fmt_date(iso: &str, month_only: bool) -> String {
    let parts: Vec<&str> = iso.get(..10).unwrap_or(iso).split('-').collect();
    if let [y, m, d] = parts.as_slice() {
        if let (Ok(m), Ok(d)) = (m.parse::<usize>(), d.parse::<u32>()) {
            if (1..=12).contains(&m) && y.len() == 4 {
                let month = MONTHS[m - 1];
                return if month_only {
                    format!("{month} {y}")
                } else {
                    format!("{d} {month} {y}")
                };
            }
        }
    }
    iso.to_string()
}

/// The date of the start of `step` (`time_axis.dates`), formatted for a chart.
pub(crate) fn step_date(s: &Summary, step: u32) -> Option<String> {
    s.time_axis
        .dates
        .get(step as usize)
        .map(|d| fmt_date(d, s.time_axis.unit == "month"))
}

/// Replace `_` with spaces: `suspend_conditionally` -> `suspend conditionally`.
pub(crate) fn humanize(id: &str) -> String {
    id.replace('_', " ")
}

/// Pad a degenerate range so that it can be drawn.
pub(crate) fn padded_range(lo: f64, hi: f64, pad_fraction: f64) -> (f64, f64) {
    let (lo, hi) = if lo.is_finite() && hi.is_finite() {
        (lo.min(hi), lo.max(hi))
    } else {
        (0.0, 1.0)
    };
    let span = hi - lo;
    if span <= f64::EPSILON * lo.abs().max(1.0) {
        let pad = if lo == 0.0 { 1.0 } else { lo.abs() * 0.1 };
        (lo - pad, hi + pad)
    } else {
        (lo - span * pad_fraction, hi + span * pad_fraction)
    }
}

/// Rows and columns of a grid of `n` small multiples.
pub(crate) fn grid(n: usize) -> (usize, usize) {
    match n {
        0 | 1 => (1, 1),
        2 => (1, 2),
        3 => (1, 3),
        4 => (2, 2),
        5 | 6 => (2, 3),
        _ => (n.div_ceil(3), 3),
    }
}

#[cfg(test)]
pub(crate) mod tests;
