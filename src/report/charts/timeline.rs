//! `timeline`: a fan chart of each metric over the steps (median, 50% and 90% bands), with the
//! dated events and decision points marked as labelled vertical lines.

use plotters::coord::Shift;
use plotters::element::DashedPathElement;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, VPos};

use super::style::{palette, DECISION, EVENT, PAGE_MARGIN, TEXT};
use super::{
    draw_axes, draw_text, ellipsize, frame, padded_range, step_date, text_width, Axis, Chart,
    DrawResult, Study, TextSpec,
};
use crate::montecarlo::summary::{MetricSummary, StepQuantiles};
use crate::report::format::tick_label;

pub(crate) struct Timeline;

const Y_LABEL_AREA: i32 = 74;
const MARGIN_RIGHT: i32 = 24;
const LEGEND_H: i32 = 26;
const ROW_H: i32 = 18;
const MARKER_SIZE: f64 = 12.5;
const CAPTION_H: i32 = 24;
const AXIS_H: i32 = 50;
const MAX_ROWS: usize = 4;
const KEY_ROW_H: i32 = 18;

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

/// Where the labels of the dated events and decision points go: their full labels staggered
/// in a strip above the panels when they fit in a few rows, otherwise numbers in the strip
/// and a numbered key above it.
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
        let key = if self.key.is_empty() {
            0
        } else {
            self.key_rows() as i32 * KEY_ROW_H + 10
        };
        key + self.rows as i32 * ROW_H + 6
    }
}

/// One line of the numbered key.
struct KeyEntry {
    number: usize,
    kind: Kind,
    date: String,
    label: String,
}

/// A label in the strip above the panels, at a marker's line.
struct Marker {
    step: u32,
    kind: Kind,
    text: String,
    /// Pixel x of the line.
    x: i32,
    /// Whether the label runs to the left of the line (near the right edge).
    leftward: bool,
    row: usize,
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
        let (w, h) = study.size;
        // Estimate the plot's horizontal extent as `draw` will lay it out.
        let x0 = PAGE_MARGIN - 8 + Y_LABEL_AREA;
        let x1 = w as i32 - PAGE_MARGIN - MARGIN_RIGHT;
        let steps = f64::from(study.summary.time_axis.steps.max(1));
        let to_px = |step: u32| x0 + ((f64::from(step) / steps) * f64::from(x1 - x0)) as i32;
        let layout = layout(study, to_px, x0, x1);
        let n = drawable(study).len() as u32;
        let needed = 74 + 36 + LEGEND_H + layout.height() + 8 + AXIS_H;
        (w, h.max(needed as u32 + 230 * n))
    }

    fn draw<DB: DrawingBackend>(&self, study: &Study, root: &DrawingArea<DB, Shift>) -> DrawResult {
        let s = study.summary;
        let metrics = drawable(study);
        let steps = s.time_axis.steps.max(1);
        let area = frame(
            root,
            study,
            self.title(),
            "median and bands of runs at the end of each step",
        )?;

        // The x mapping depends only on the width: measure it on a chart that draws nothing.
        let (x0, x1) = {
            let probe = ChartBuilder::on(&area)
                .margin_right(MARGIN_RIGHT)
                .y_label_area_size(Y_LABEL_AREA)
                .build_cartesian_2d(0u32..steps, 0.0..1.0)?;
            (
                probe.backend_coord(&(0, 0.0)).0,
                probe.backend_coord(&(steps, 0.0)).0,
            )
        };
        let to_px =
            |step: u32| x0 + ((f64::from(step) / f64::from(steps)) * f64::from(x1 - x0)) as i32;
        let layout = layout(study, to_px, x0, x1);
        let markers = &layout.markers;

        // Legend row.
        let (_, ay) = area.get_base_pixel();
        let kinds: Vec<Kind> = [Kind::Event, Kind::Decision]
            .into_iter()
            .filter(|k| markers.iter().any(|m| m.kind == *k))
            .collect();
        draw_legend(root, study, (x0, ay + 4), &kinds)?;

        // The numbered key, if any.
        let key_top = ay + LEGEND_H + 4;
        draw_key(root, study, &layout, (x0, x1), key_top)?;

        // Marker labels, staggered in rows.
        let strip_top = ay + LEGEND_H + 6 + layout.height() - layout.rows as i32 * ROW_H - 6;
        let strip_bottom = ay + LEGEND_H + 6 + layout.height();
        for m in markers {
            let y = strip_top + m.row as i32 * ROW_H;
            let colour = m.kind.colour();
            let (tx, anchor) = if m.leftward {
                (m.x - 4, HPos::Right)
            } else {
                (m.x + 4, HPos::Left)
            };
            draw_text(
                root,
                study.raster,
                &m.text,
                (tx, y + 3),
                TextSpec::new(MARKER_SIZE, colour).anchor(anchor, VPos::Top),
            )?;
            root.draw(&PathElement::new(
                vec![(m.x, y + 2), (m.x, strip_bottom)],
                ShapeStyle::from(&colour.mix(0.6)).stroke_width(1),
            ))?;
        }

        // One panel per metric, sharing the x axis; only the last shows the dates.
        let (_, area_h) = area.dim_in_pixel();
        let panels_top = strip_bottom - ay;
        let n = metrics.len() as i32;
        let panel_h = ((area_h as i32 - panels_top - AXIS_H) / n).max(60);
        let month = s.time_axis.unit == "month";
        let plot_w = x1 - x0;
        let x_labels =
            ((plot_w / if month { 90 } else { 105 }).max(2) as usize).min(steps as usize + 1);
        for (i, m) in metrics.iter().enumerate() {
            let last = i + 1 == metrics.len();
            let top = panels_top + i as i32 * panel_h;
            let bottom = if last { area_h as i32 } else { top + panel_h };
            let panel = area.margin(top, area_h as i32 - bottom, 0, 0);
            let colour = palette(i);

            let (_, py) = panel.get_base_pixel();
            let caption = if m.unit.trim().is_empty() {
                m.label.clone()
            } else {
                format!("{} ({})", m.label, m.unit)
            };
            draw_text(
                root,
                study.raster,
                &ellipsize(&caption, x1 - x0, 15.0),
                (x0, py + 6),
                TextSpec::new(15.0, TEXT),
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
                .margin_right(MARGIN_RIGHT)
                .margin_bottom(if last { 0 } else { 10 })
                .x_label_area_size(if last { AXIS_H } else { 0 })
                .y_label_area_size(Y_LABEL_AREA)
                .build_cartesian_2d(0u32..steps, y0..y1)?;
            let x_fmt = |v: &u32| {
                if last {
                    step_date(s, *v).unwrap_or_else(|| v.to_string())
                } else {
                    String::new()
                }
            };
            let y_fmt = |v: &f64| tick_label(*v, span);
            let x_desc = format!("date (end of each {})", s.time_axis.unit);
            draw_axes(
                root,
                study,
                &mut chart,
                Axis {
                    labels: x_labels,
                    format: &x_fmt,
                    title: last.then_some(x_desc),
                    grid: true,
                },
                Axis {
                    labels: 5,
                    format: &y_fmt,
                    title: Some(m.unit.clone()),
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
                colour.stroke_width(3),
            ))?;
            if m.timeline.len() == 1 {
                chart.draw_series(
                    m.timeline
                        .iter()
                        .map(|q| Circle::new((at(q.step), q.p50), 4, colour.filled())),
                )?;
            }

            for mk in markers {
                let style = ShapeStyle::from(&mk.kind.colour().mix(0.8)).stroke_width(1);
                chart.draw_series(std::iter::once(DashedPathElement::new(
                    vec![(mk.step, y0), (mk.step, y1)],
                    5,
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

/// Collect the dated events and decisions and lay their labels out (see [`Layout`]).
fn layout(study: &Study, to_px: impl Fn(u32) -> i32, left: i32, right: i32) -> Layout {
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

    let (markers, rows) = stagger(&raw, &to_px, right);
    if rows <= MAX_ROWS {
        return Layout {
            markers,
            rows,
            key: Vec::new(),
            key_cols: 1,
        };
    }

    // Too many: number them, one label per step ("3,4"), and list them in a key.
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
        key_cols: if right - left >= 640 { 2 } else { 1 },
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
