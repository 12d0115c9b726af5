//! `timeline`: small multiples, one fan chart per metric over the steps (median, 50% and 90%
//! bands) in a grid with dates under every panel, the dated events and decision points marked
//! as numbered dashed lines and listed with their dates in a key above the grid.
//!
//! The chart is sized for a 16:9 slide: at most [`MAX_PANELS`] panels in at most four columns;
//! a scenario with more metrics shows the first ones in its own order and says so.

use plotters::coord::Shift;
use plotters::element::DashedPathElement;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, VPos};

use super::style::{palette, DECISION, EVENT, FOOTER, HEADER, PAGE_MARGIN, TEXT};
use super::{
    draw_axes, draw_lines, draw_text, ellipsize, frame, padded_range, step_date, text_width, wrap,
    Axis, Chart, DrawResult, Study, TextSpec,
};
use crate::montecarlo::summary::{MetricSummary, StepQuantiles};
use crate::report::format::tick_label;

pub(crate) struct Timeline;

/// The most panels one chart holds (four rows of four fit a slide).
pub(crate) const MAX_PANELS: usize = 16;
/// Width of one column of panels, in pixels.
const CELL_W: i32 = 470;
/// The least height of one row of panels.
const CELL_MIN_H: i32 = 190;
const Y_LABEL_AREA: i32 = 58;
const MARGIN_RIGHT: i32 = 14;
const LEGEND_H: i32 = 26;
const ROW_H: i32 = 18;
const MARKER_SIZE: f64 = 12.5;
const CAPTION_SIZE: f64 = 13.5;
/// Two lines of caption.
const CAPTION_H: i32 = 36;
const AXIS_H: i32 = 26;
const KEY_ROW_H: i32 = 18;
const GAP: i32 = 10;

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Event,
    Decision,
}

impl Kind {
    fn colour(self) -> RGBColor {
        match self {
            Kind::Event => EVENT,
            Kind::Decision => DECISION,
        }
    }
}

/// The numbered key of the dated events and decision points, and their numbers staggered in a
/// strip above the first row of panels (every column has the same width, so one layout serves
/// all of them, shifted).
struct Layout {
    markers: Vec<Marker>,
    /// Rows of the strip.
    rows: usize,
    key: Vec<KeyEntry>,
    key_cols: usize,
}

impl Layout {
    fn key_rows(&self) -> usize {
        self.key.len().div_ceil(self.key_cols.max(1))
    }

    /// Height of the key and the strip together.
    fn height(&self) -> i32 {
        if self.key.is_empty() {
            return 0;
        }
        self.key_rows() as i32 * KEY_ROW_H + 8 + self.rows as i32 * ROW_H + 4
    }
}

/// One line of the numbered key.
struct KeyEntry {
    number: usize,
    kind: Kind,
    date: String,
    label: String,
}

/// A number in the strip above the panels, at a marker's line (x relative to a column).
struct Marker {
    step: u32,
    kind: Kind,
    text: String,
    /// Pixel x of the line, from the left of the plot area of the first column.
    x: i32,
    /// Whether the label runs to the left of the line (near the right edge).
    leftward: bool,
    row: usize,
}

/// Rows and columns of the grid for `n` panels: wide rather than tall, at most four columns.
fn grid(n: usize) -> (usize, usize) {
    match n {
        0 | 1 => (1, 1),
        2 => (1, 2),
        3 => (1, 3),
        4 => (2, 2),
        5 | 6 => (2, 3),
        7..=9 => (3, 3),
        _ => (n.div_ceil(4), 4),
    }
}

/// Everything the size and the drawing share: the grid, the cell's plot extent, the layout.
struct Plan {
    rows: usize,
    cols: usize,
    cell_w: i32,
    /// Plot area of a cell, from the cell's left edge.
    plot: (i32, i32),
    layout: Layout,
}

impl Plan {
    fn new(study: &Study, width: u32, n: usize) -> Plan {
        let (rows, cols) = grid(n);
        // The area `frame` leaves: the page margins less 8 on the left, as in `frame`.
        let area_w = width as i32 - 2 * PAGE_MARGIN + 8;
        let cell_w = area_w / cols as i32;
        let plot = (Y_LABEL_AREA, cell_w - MARGIN_RIGHT - GAP);
        let steps = study.summary.time_axis.steps.max(1);
        let to_px = |step: u32| {
            plot.0 + ((f64::from(step) / f64::from(steps)) * f64::from(plot.1 - plot.0)) as i32
        };
        let key_cols = (area_w / 560).clamp(1, 3) as usize;
        let layout = layout(study, to_px, plot.1, key_cols);
        Plan {
            rows,
            cols,
            cell_w,
            plot,
            layout,
        }
    }

    /// Height above the grid: the legend, the key and the strip.
    fn top(&self) -> i32 {
        LEGEND_H + 4 + self.layout.height()
    }
}

impl Chart for Timeline {
    fn name(&self) -> &'static str {
        "timeline"
    }

    fn title(&self) -> &'static str {
        "Metrics over time"
    }

    fn applies(&self, study: &Study) -> bool {
        !drawable(study).is_empty()
    }

    fn size(&self, study: &Study) -> (u32, u32) {
        let (base_w, base_h) = study.size;
        let n = drawable(study).len().min(MAX_PANELS);
        let (rows, cols) = grid(n);
        let w = base_w.max(cols as u32 * CELL_W as u32 + 2 * PAGE_MARGIN as u32);
        let plan = Plan::new(study, w, n);
        let needed = HEADER + FOOTER + 6 + plan.top() + rows as i32 * CELL_MIN_H;
        // As tall as a 16:9 slide of this width, or what the panels need if that is more.
        let h = base_h.max(w * 9 / 16).max(needed as u32);
        (w, h)
    }

    fn draw<DB: DrawingBackend>(&self, study: &Study, root: &DrawingArea<DB, Shift>) -> DrawResult {
        let s = study.summary;
        let all = drawable(study);
        let metrics = &all[..all.len().min(MAX_PANELS)];
        let steps = s.time_axis.steps.max(1);
        let subtitle = if metrics.len() < all.len() {
            format!(
                "median and bands of runs at the end of each {}; the first {} of {} metrics, in                  the scenario's order (the metrics chart shows all)",
                s.time_axis.unit,
                metrics.len(),
                all.len()
            )
        } else {
            format!(
                "median and bands of runs at the end of each {}",
                s.time_axis.unit
            )
        };
        let area = frame(root, study, self.title(), &subtitle)?;
        let (w, _) = root.dim_in_pixel();
        let plan = Plan::new(study, w, metrics.len());
        let layout = &plan.layout;
        let (ax, ay) = area.get_base_pixel();
        let (area_w, area_h) = area.dim_in_pixel();
        let (area_w, area_h) = (area_w as i32, area_h as i32);

        // Legend row, then the key.
        let kinds: Vec<Kind> = [Kind::Event, Kind::Decision]
            .into_iter()
            .filter(|k| layout.key.iter().any(|e| e.kind == *k))
            .collect();
        draw_legend(root, study, (ax + plan.plot.0, ay + 4), &kinds)?;
        draw_key(
            root,
            study,
            layout,
            (ax + plan.plot.0, ax + area_w - MARGIN_RIGHT),
            ay + LEGEND_H + 4,
        )?;

        let grid_top = plan.top();
        let cell_h = ((area_h - grid_top) / plan.rows as i32).max(CELL_MIN_H / 2);
        let month = s.time_axis.unit == "month";
        let plot_w = plan.plot.1 - plan.plot.0;
        let x_labels =
            ((plot_w / if month { 95 } else { 110 }).max(2) as usize).min(steps as usize + 1);

        // The numbers of the first row's markers, over each column.
        let strip_top = ay + grid_top - layout.rows as i32 * ROW_H - 4;
        for col in 0..plan.cols.min(metrics.len()) {
            let cx = ax + col as i32 * plan.cell_w;
            for m in &layout.markers {
                let y = strip_top + m.row as i32 * ROW_H;
                let x = cx + m.x;
                let (tx, anchor) = if m.leftward {
                    (x - 3, HPos::Right)
                } else {
                    (x + 3, HPos::Left)
                };
                draw_text(
                    root,
                    study.raster,
                    &m.text,
                    (tx, y + 2),
                    TextSpec::new(MARKER_SIZE, m.kind.colour()).anchor(anchor, VPos::Top),
                )?;
                root.draw(&PathElement::new(
                    vec![(x, y + 2), (x, ay + grid_top - 2)],
                    ShapeStyle::from(&m.kind.colour().mix(0.5)).stroke_width(1),
                ))?;
            }
        }

        for (i, m) in metrics.iter().enumerate() {
            let (row, col) = ((i / plan.cols) as i32, (i % plan.cols) as i32);
            let left = col * plan.cell_w;
            let top = grid_top + row * cell_h;
            let panel = area.margin(
                top,
                (area_h - top - cell_h).max(0),
                left,
                (area_w - left - plan.cell_w).max(0),
            );
            let colour = palette(i);

            let (px, py) = panel.get_base_pixel();
            let caption = if m.unit.trim().is_empty() {
                m.label.clone()
            } else {
                format!("{} ({})", m.label, m.unit)
            };
            let lines = wrap(&caption, plan.cell_w - GAP - 4, CAPTION_SIZE, 2);
            draw_lines(
                root,
                study,
                &lines,
                (px + 4, py + 2),
                17,
                TextSpec::new(CAPTION_SIZE, TEXT),
            )?;

            let lo = m
                .timeline
                .iter()
                .map(|q| q.p05)
                .fold(f64::INFINITY, f64::min);
            let hi = m
                .timeline
                .iter()
                .map(|q| q.p95)
                .fold(f64::NEG_INFINITY, f64::max);
            let (y0, y1) = padded_range(lo, hi, 0.08);
            let span = y1 - y0;

            let mut chart = ChartBuilder::on(&panel)
                .margin_top(CAPTION_H)
                .margin_right(MARGIN_RIGHT + GAP)
                .margin_bottom(6)
                .x_label_area_size(AXIS_H)
                .y_label_area_size(Y_LABEL_AREA)
                .build_cartesian_2d(0u32..steps, y0..y1)?;
            let x_fmt = |v: &u32| step_date(s, *v).unwrap_or_else(|| v.to_string());
            let y_fmt = |v: &f64| tick_label(*v, span);
            draw_axes(
                root,
                study,
                &mut chart,
                Axis {
                    labels: x_labels,
                    format: &x_fmt,
                    title: None,
                    grid: true,
                },
                Axis {
                    labels: 4,
                    format: &y_fmt,
                    title: None,
                    grid: true,
                },
            )?;

            // Values are at the end of each step: plot step s at s + 1 (the date it ends).
            let at = |step: u32| (step + 1).min(steps);
            let band = |lo: Quantile, hi: Quantile| {
                let mut pts: Vec<(u32, f64)> =
                    m.timeline.iter().map(|q| (at(q.step), hi(q))).collect();
                pts.extend(m.timeline.iter().rev().map(|q| (at(q.step), lo(q))));
                pts
            };
            chart.draw_series(std::iter::once(Polygon::new(
                band(|q| q.p05, |q| q.p95),
                colour.mix(0.16).filled(),
            )))?;
            chart.draw_series(std::iter::once(Polygon::new(
                band(|q| q.p25, |q| q.p75),
                colour.mix(0.36).filled(),
            )))?;
            chart.draw_series(LineSeries::new(
                m.timeline.iter().map(|q| (at(q.step), q.p50)),
                colour.stroke_width(2),
            ))?;
            if m.timeline.len() == 1 {
                chart.draw_series(
                    m.timeline
                        .iter()
                        .map(|q| Circle::new((at(q.step), q.p50), 4, colour.filled())),
                )?;
            }

            for mk in &layout.markers {
                let style = ShapeStyle::from(&mk.kind.colour().mix(0.7)).stroke_width(1);
                chart.draw_series(std::iter::once(DashedPathElement::new(
                    vec![(mk.step, y0), (mk.step, y1)],
                    4,
                    4,
                    style,
                )))?;
            }
        }
        Ok(())
    }
}

type Quantile = fn(&StepQuantiles) -> f64;

fn drawable<'a>(study: &Study<'a>) -> Vec<&'a MetricSummary> {
    study
        .summary
        .metrics
        .iter()
        .filter(|m| !m.timeline.is_empty())
        .collect()
}

/// Collect the dated events and decisions, number them in date order, and lay out one
/// number label per step ("3,4") for a plot spanning `to_px(0)..right` (see [`Layout`]).
fn layout(study: &Study, to_px: impl Fn(u32) -> i32, right: i32, key_cols: usize) -> Layout {
    let s = study.summary;
    let steps = s.time_axis.steps;
    let mut raw: Vec<(u32, Kind, String)> = Vec::new();
    for e in &s.events {
        if let Some(step) = e.step.filter(|&st| st <= steps) {
            raw.push((step, Kind::Event, e.label.clone()));
        }
    }
    for d in &s.decisions {
        if let Some(step) = d.step.filter(|&st| st <= steps) {
            raw.push((step, Kind::Decision, d.label.clone()));
        }
    }
    raw.sort_by_key(|(step, kind, _)| (*step, *kind == Kind::Decision));

    let key: Vec<KeyEntry> = raw
        .iter()
        .enumerate()
        .map(|(i, (step, kind, label))| KeyEntry {
            number: i + 1,
            kind: *kind,
            date: step_date(s, *step).unwrap_or_else(|| format!("step {step}")),
            label: label.clone(),
        })
        .collect();
    let mut groups: Vec<(u32, Kind, String)> = Vec::new();
    for (entry, (step, _, _)) in key.iter().zip(&raw) {
        match groups.last_mut() {
            Some(g) if g.0 == *step => {
                g.2 = format!("{},{}", g.2, entry.number);
                if entry.kind == Kind::Decision {
                    g.1 = Kind::Decision;
                }
            }
            _ => groups.push((*step, entry.kind, entry.number.to_string())),
        }
    }
    let (markers, rows) = stagger(&groups, &to_px, right);
    Layout {
        markers,
        rows,
        key,
        key_cols,
    }
}

/// Place labels left-anchored at their line (right-anchored near the right edge), each in the
/// first row where it overlaps nothing. Returns the labels and the number of rows.
fn stagger(
    items: &[(u32, Kind, String)],
    to_px: &impl Fn(u32) -> i32,
    right: i32,
) -> (Vec<Marker>, usize) {
    let mut rows: Vec<Vec<(i32, i32)>> = Vec::new();
    let mut markers = Vec::with_capacity(items.len());
    for (step, kind, text) in items {
        let x = to_px(*step);
        let w = text_width(text, MARKER_SIZE);
        let leftward = x + 4 + w > right + MARGIN_RIGHT - 4;
        let (a, b) = if leftward {
            (x - 4 - w, x)
        } else {
            (x, x + 4 + w)
        };
        let free = |row: &Vec<(i32, i32)>| row.iter().all(|&(c, d)| b + 10 < c || a > d + 10);
        let row = match rows.iter().position(free) {
            Some(r) => r,
            None => {
                rows.push(Vec::new());
                rows.len() - 1
            }
        };
        rows[row].push((a, b));
        markers.push(Marker {
            step: *step,
            kind: *kind,
            text: text.clone(),
            x,
            leftward,
            row,
        });
    }
    (markers, rows.len())
}

/// The numbered key: number, date and label of each marker, in columns.
fn draw_key<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    study: &Study,
    layout: &Layout,
    (left, right): (i32, i32),
    top: i32,
) -> DrawResult {
    if layout.key.is_empty() {
        return Ok(());
    }
    let cols = layout.key_cols.max(1);
    let rows = layout.key_rows();
    let col_w = (right - left) / cols as i32;
    let date_w = layout
        .key
        .iter()
        .map(|e| text_width(&e.date, 12.0))
        .max()
        .unwrap_or(0);
    let number_w = text_width(&layout.key.len().to_string(), 12.5);
    for (i, e) in layout.key.iter().enumerate() {
        let (col, row) = (i / rows, i % rows);
        let x = left + col as i32 * col_w;
        let y = top + row as i32 * KEY_ROW_H + 9;
        let mid = TextSpec::new(12.5, e.kind.colour()).anchor(HPos::Right, VPos::Center);
        draw_text(
            root,
            study.raster,
            &e.number.to_string(),
            (x + number_w, y),
            mid,
        )?;
        let date_x = x + number_w + 8;
        draw_text(
            root,
            study.raster,
            &e.date,
            (date_x, y),
            TextSpec::new(12.0, super::MUTED).anchor(HPos::Left, VPos::Center),
        )?;
        let label_x = date_x + date_w + 10;
        let label = ellipsize(&e.label, x + col_w - 16 - label_x, 12.5);
        draw_text(
            root,
            study.raster,
            &label,
            (label_x, y),
            TextSpec::new(12.5, TEXT).anchor(HPos::Left, VPos::Center),
        )?;
    }
    Ok(())
}

fn draw_legend<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    study: &Study,
    (x, y): (i32, i32),
    kinds: &[Kind],
) -> DrawResult {
    let colour = palette(0);
    let label = TextSpec::new(12.5, TEXT).anchor(HPos::Left, VPos::Center);
    let mut x = x;
    let mid = y + 8;

    root.draw(&PathElement::new(
        vec![(x, mid), (x + 22, mid)],
        colour.stroke_width(3),
    ))?;
    draw_text(root, study.raster, "median", (x + 28, mid), label)?;
    x += 28 + text_width("median", 12.5) + 22;

    for (text, alpha) in [
        ("50% of runs (p25–p75)", 0.36),
        ("90% of runs (p05–p95)", 0.16),
    ] {
        root.draw(&Rectangle::new(
            [(x, y + 2), (x + 22, y + 14)],
            colour.mix(alpha).filled(),
        ))?;
        draw_text(root, study.raster, text, (x + 28, mid), label)?;
        x += 28 + text_width(text, 12.5) + 22;
    }
    for kind in kinds {
        let text = match kind {
            Kind::Event => "dated event",
            Kind::Decision => "decision point",
        };
        root.draw(&DashedPathElement::new(
            vec![(x + 8, y), (x + 8, y + 16)],
            4,
            3,
            ShapeStyle::from(&kind.colour()).stroke_width(2),
        ))?;
        draw_text(root, study.raster, text, (x + 18, mid), label)?;
        x += 18 + text_width(text, 12.5) + 22;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::tests::sample_summary;
    use super::super::{write_charts, ChartOptions, Render};
    use super::*;

    fn with_metrics(n: usize) -> crate::montecarlo::Summary {
        let mut s = sample_summary();
        let first = s.metrics[0].clone();
        s.metrics.truncate(1);
        for i in 1..n {
            let mut m = first.clone();
            m.id = format!("metric_{i}");
            m.label = format!("Metric number {i} with a label long enough to need two lines");
            s.metrics.push(m);
        }
        s
    }

    fn timeline_svg(s: &crate::montecarlo::Summary) -> (String, (u32, u32)) {
        let dir = tempfile::tempdir().unwrap();
        let written = write_charts(s, dir.path(), &ChartOptions::default()).unwrap();
        let t = written.iter().find(|c| c.name == "timeline").unwrap();
        (std::fs::read_to_string(&t.svg).unwrap(), t.size)
    }

    #[test]
    fn sixteen_metrics_fit_a_16_9_slide_in_four_columns() {
        let s = with_metrics(16);
        let study = Study::new(&s, &ChartOptions::default()).unwrap();
        assert_eq!(grid(16), (4, 4));
        let (w, h) = Render::size(&Timeline, &study);
        assert_eq!(h, w * 9 / 16, "{w}x{h} is 16:9");
        assert!(w <= 1928, "{w}");
    }

    #[test]
    fn every_panel_has_its_dates_and_its_whole_caption() {
        let s = with_metrics(9);
        let (svg, _) = timeline_svg(&s);
        let first = step_date(&s, 0).unwrap();
        // Each of the nine panels labels its own date axis.
        let dated = svg.matches(first.as_str()).count();
        assert!(dated >= 9, "{first} on {dated} panels");
        for word in ["Metric", "number", "8", "two", "lines"] {
            assert!(svg.contains(word), "caption word {word}");
        }
        assert!(
            !svg.contains("lines…") && !svg.contains("two…"),
            "captions wrap, uncut"
        );
    }

    #[test]
    fn more_metrics_than_panels_draw_the_first_sixteen_and_say_so() {
        let s = with_metrics(20);
        let (svg, (w, h)) = timeline_svg(&s);
        assert!(
            svg.contains("the first 16 of 20 metrics"),
            "subtitle says so"
        );
        assert!(svg.contains("Metric number 15 "));
        assert!(!svg.contains("Metric number 16 "));
        assert!(h <= w * 9 / 16 + 1, "{w}x{h}");
    }

    #[test]
    fn the_same_summary_draws_the_same_bytes() {
        let s = with_metrics(16);
        let dir = [tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap()];
        let bytes: Vec<(Vec<u8>, Vec<u8>)> = dir
            .iter()
            .map(|d| {
                let w = write_charts(&s, d.path(), &ChartOptions::default()).unwrap();
                let t = w.iter().find(|c| c.name == "timeline").unwrap();
                (
                    std::fs::read(&t.svg).unwrap(),
                    std::fs::read(&t.png).unwrap(),
                )
            })
            .collect();
        assert!(bytes[0] == bytes[1], "SVG and PNG are byte-identical");
    }
}
