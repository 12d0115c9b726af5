//! `metrics`: a histogram of each metric's end-of-run value (small multiples), with the mean
//! and the 5th and 95th percentiles marked; a count or categorical metric gets a bar per value
//! with its 95% interval instead.

use plotters::coord::Shift;
use plotters::element::DashedPathElement;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, VPos};

use super::style::{palette, DECISION, TEXT};
use super::{
    draw_axes, draw_text, ellipsize, frame, grid, padded_range, text_width, Axis, Chart,
    DrawResult, Study, TextSpec,
};
use crate::montecarlo::summary::MetricSummary;
use crate::report::format::{by_magnitude, level, tick_label};

pub(crate) struct Metrics;

/// The colours of the mean and of the 5th/95th percentiles, in the legend and on the plot.
pub(super) const MEAN: RGBColor = RGBColor(33, 37, 41);
pub(super) const TAILS: RGBColor = DECISION;

impl Chart for Metrics {
    fn name(&self) -> &'static str {
        "metrics"
    }

    fn title(&self) -> &'static str {
        "Metrics at the end of the run"
    }

    fn applies(&self, study: &Study) -> bool {
        study
            .summary
            .metrics
            .iter()
            .any(|m| !m.histogram.counts.is_empty())
    }

    fn size(&self, study: &Study) -> (u32, u32) {
        let (w, h) = study.size;
        let (rows, _) = grid(drawable(study).len());
        (w, h.max(120 + 300 * rows as u32))
    }

    fn draw<DB: DrawingBackend>(&self, study: &Study, root: &DrawingArea<DB, Shift>) -> DrawResult {
        let metrics = drawable(study);
        let area = frame(
            root,
            study,
            self.title(),
            "distribution of each metric's final value across runs",
        )?;
        let (rows, cols) = grid(metrics.len());
        let panels = area.split_evenly((rows, cols));
        for ((i, m), panel) in metrics.iter().enumerate().zip(panels.iter()) {
            draw_panel(root, study, panel, m, palette(i))?;
        }
        Ok(())
    }
}

fn drawable<'a>(study: &Study<'a>) -> Vec<&'a MetricSummary> {
    study
        .summary
        .metrics
        .iter()
        .filter(|m| !m.histogram.counts.is_empty() && m.histogram.edges.len() > 1)
        .collect()
}

fn draw_panel<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    study: &Study,
    panel: &DrawingArea<DB, Shift>,
    m: &MetricSummary,
    colour: RGBColor,
) -> DrawResult {
    if m.by_value() {
        return draw_value_panel(root, study, panel, m, colour);
    }
    let (pw, _) = panel.dim_in_pixel();
    let (px, py) = panel.get_base_pixel();
    let usable = pw as i32 - 24;

    // Panel caption and legend.
    draw_text(
        root,
        study.raster,
        &ellipsize(&m.label, usable, 16.0),
        (px + 14, py + 6),
        TextSpec::new(16.0, TEXT),
    )?;
    let spread = (m.p95 - m.p05).max(m.sd.unwrap_or(0.0));
    let items = [
        (format!("mean {}", level(m.mean, spread)), MEAN, false),
        (format!("5th pct {}", level(m.p05, spread)), TAILS, true),
        (format!("95th pct {}", level(m.p95, spread)), TAILS, true),
    ];
    let mut x = px + 14;
    let mut y = py + 28;
    for (text, colour, dashed) in &items {
        let item_w = 26 + text_width(text, 12.5);
        if x + item_w > px + pw as i32 - 8 && x > px + 14 {
            x = px + 14;
            y += 17;
        }
        let line = ShapeStyle::from(colour).stroke_width(2);
        if *dashed {
            root.draw(&DashedPathElement::new(
                vec![(x, y + 8), (x + 20, y + 8)],
                5,
                3,
                line,
            ))?;
        } else {
            root.draw(&PathElement::new(vec![(x, y + 8), (x + 20, y + 8)], line))?;
        }
        draw_text(
            root,
            study.raster,
            text,
            (x + 25, y + 8),
            TextSpec::new(12.5, TEXT).anchor(HPos::Left, VPos::Center),
        )?;
        x += item_w + 14;
    }
    let header = y + 22 - py;

    let h = &m.histogram;
    let total: u64 = h.counts.iter().sum::<u64>().max(1);
    let shares: Vec<f64> = h.counts.iter().map(|&c| c as f64 / total as f64).collect();
    let y_max = shares.iter().copied().fold(0.0, f64::max).max(1e-9) * 1.12;
    // Every run ended at the same value: one narrow bar, not a bin as wide as the axis.
    let constant = m.min.is_finite() && m.max.is_finite() && m.max == m.min;
    let (x0, x1) = if constant {
        padded_range(m.min, m.max, 0.0)
    } else {
        let first = h.edges.first().copied().unwrap_or(0.0);
        let last = h.edges.last().copied().unwrap_or(1.0);
        padded_range(
            first.min(m.p05).min(m.mean),
            last.max(m.p95).max(m.mean),
            0.0,
        )
    };
    let span = x1 - x0;

    let unit = if m.unit.trim().is_empty() {
        "value".to_string()
    } else {
        m.unit.clone()
    };
    let mut chart = ChartBuilder::on(panel)
        .margin_top(header)
        .margin_right(18)
        .margin_left(4)
        .margin_bottom(6)
        .x_label_area_size(46)
        .y_label_area_size(62)
        .build_cartesian_2d(x0..x1, 0.0..y_max)?;
    let x_fmt = |v: &f64| tick_label(*v, span);
    let y_fmt = |v: &f64| tick_label(*v * 100.0, y_max * 100.0) + "%";
    draw_axes(
        root,
        study,
        &mut chart,
        Axis {
            labels: 6,
            format: &x_fmt,
            title: Some(unit),
            grid: false,
        },
        Axis {
            labels: 8,
            format: &y_fmt,
            title: Some("share of runs".into()),
            grid: true,
        },
    )?;

    // `counts.len() + 1` edges; a malformed histogram just draws fewer bars.
    let narrow = span * 0.015;
    let bars = h
        .counts
        .iter()
        .zip(&shares)
        .zip(h.edges.windows(2))
        .filter(|((&c, _), _)| c > 0)
        .map(|((_, &share), edge)| {
            let (a, b) = if constant {
                (m.min - narrow, m.min + narrow)
            } else if edge[1] > edge[0] {
                (edge[0], edge[1])
            } else {
                padded_range(edge[0], edge[1], 0.0)
            };
            let mut r = Rectangle::new([(a, 0.0), (b, share)], colour.mix(0.85).filled());
            r.set_margin(0, 0, 1, 1);
            r
        });
    chart.draw_series(bars)?;
    if constant {
        let (px, py) = chart.backend_coord(&(m.min, y_max));
        draw_text(
            root,
            study.raster,
            &format!(
                "every run ends at {} {}",
                by_magnitude(m.min),
                m.unit.trim()
            ),
            (px + 12, py + 10),
            TextSpec::new(12.5, TEXT),
        )?;
    }

    draw_markers(&mut chart, m.mean, [m.p05, m.p95], y_max)
}

/// The mean (solid) and the 5th and 95th percentiles (dashed) as vertical lines up to `y_max`,
/// in the colours the legends give them: the metrics and replications charts mark them alike.
pub(super) fn draw_markers<DB: DrawingBackend>(
    chart: &mut ChartContext<
        '_,
        DB,
        Cartesian2d<plotters::coord::types::RangedCoordf64, plotters::coord::types::RangedCoordf64>,
    >,
    mean: f64,
    tails: [f64; 2],
    y_max: f64,
) -> DrawResult {
    let tail = ShapeStyle::from(&TAILS).stroke_width(2);
    for v in tails {
        chart.draw_series(std::iter::once(DashedPathElement::new(
            vec![(v, 0.0), (v, y_max)],
            6,
            4,
            tail,
        )))?;
    }
    chart.draw_series(std::iter::once(PathElement::new(
        vec![(mean, 0.0), (mean, y_max)],
        ShapeStyle::from(&MEAN).stroke_width(2),
    )))?;
    Ok(())
}

/// A count or categorical metric: the share of runs at each value (and at `other`), each bar
/// with its 95% interval, values labelled under their bars.
fn draw_value_panel<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    study: &Study,
    panel: &DrawingArea<DB, Shift>,
    m: &MetricSummary,
    colour: RGBColor,
) -> DrawResult {
    let (pw, _) = panel.dim_in_pixel();
    let (px, py) = panel.get_base_pixel();
    let usable = pw as i32 - 24;
    draw_text(
        root,
        study.raster,
        &ellipsize(&m.label, usable, 16.0),
        (px + 14, py + 6),
        TextSpec::new(16.0, TEXT),
    )?;
    let caption = match &m.other {
        Some(o) => format!(
            "share of runs at each value, with its 95% interval · {} runs at other values",
            o.count
        ),
        None => "share of runs at each value, with its 95% interval".to_string(),
    };
    draw_text(
        root,
        study.raster,
        &ellipsize(&caption, usable, 12.5),
        (px + 14, py + 28),
        TextSpec::new(12.5, TEXT),
    )?;

    let mut bars: Vec<(String, f64, [f64; 2])> = m
        .values
        .iter()
        .map(|v| {
            // The unit (the axis title) says what the codes mean; a label says it better.
            let name = if v.label.is_empty() {
                v.value.to_string()
            } else {
                v.label.clone()
            };
            (name, v.share, v.ci95)
        })
        .collect();
    if let Some(o) = &m.other {
        bars.push(("other".into(), o.share, o.ci95));
    }
    let n = bars.len().max(1);
    let y_max = bars.iter().map(|b| b.2[1]).fold(0.0, f64::max).max(1e-9) * 1.08;
    let unit = if m.unit.trim().is_empty() {
        "value".to_string()
    } else {
        m.unit.clone()
    };
    let mut chart = ChartBuilder::on(panel)
        .margin_top(50)
        .margin_right(18)
        .margin_left(4)
        .margin_bottom(6)
        .x_label_area_size(60)
        .y_label_area_size(62)
        .build_cartesian_2d(-0.5..(n as f64 - 0.5), 0.0..y_max)?;
    let y_fmt = |v: &f64| tick_label(*v * 100.0, y_max * 100.0) + "%";
    let x_fmt = |_: &f64| String::new();
    draw_axes(
        root,
        study,
        &mut chart,
        Axis {
            labels: 0,
            format: &x_fmt,
            title: Some(unit),
            grid: false,
        },
        Axis {
            labels: 8,
            format: &y_fmt,
            title: Some("share of runs".into()),
            grid: true,
        },
    )?;
    chart.draw_series(bars.iter().enumerate().map(|(i, (_, share, _))| {
        let x = i as f64;
        let mut r = Rectangle::new(
            [(x - 0.36, 0.0), (x + 0.36, *share)],
            colour.mix(0.85).filled(),
        );
        r.set_margin(0, 0, 1, 1);
        r
    }))?;
    let whisker = ShapeStyle::from(&MEAN).stroke_width(1);
    for (i, (_, _, [lo, hi])) in bars.iter().enumerate() {
        let x = i as f64;
        chart.draw_series(std::iter::once(PathElement::new(
            vec![(x, *lo), (x, *hi)],
            whisker,
        )))?;
        for y in [*lo, *hi] {
            chart.draw_series(std::iter::once(PathElement::new(
                vec![(x - 0.12, y), (x + 0.12, y)],
                whisker,
            )))?;
        }
    }
    // Labels under the bars; with many values, every k-th, so that they do not overlap.
    let (left, _) = chart.backend_coord(&(-0.5, 0.0));
    let (right, bottom) = chart.backend_coord(&(n as f64 - 0.5, 0.0));
    let slot = ((right - left) / n as i32).max(1);
    let widest = bars
        .iter()
        .map(|b| text_width(&b.0, 12.5))
        .max()
        .unwrap_or(0);
    let every = (widest + 8).div_euclid(slot) as usize + 1;
    let every = if m.kind == "categorical" { 1 } else { every };
    for (i, (name, _, _)) in bars.iter().enumerate() {
        if i % every != 0 && !(m.other.is_some() && i + 1 == bars.len()) {
            continue;
        }
        let (x, _) = chart.backend_coord(&(i as f64, 0.0));
        let room = slot * every as i32 - 6;
        // A label too wide for its bar goes on two lines, split at the middle space.
        let lines: Vec<&str> = match name
            .char_indices()
            .filter(|(_, c)| *c == ' ')
            .min_by_key(|(at, _)| at.abs_diff(name.len() / 2))
        {
            Some((at, _)) if text_width(name, 12.5) > room => vec![&name[..at], &name[at + 1..]],
            _ => vec![name.as_str()],
        };
        for (row, line) in lines.iter().enumerate() {
            let size = if text_width(line, 12.5) > room {
                11.0
            } else {
                12.5
            };
            draw_text(
                root,
                study.raster,
                &ellipsize(line, room, size),
                (x, bottom + 6 + 14 * row as i32),
                TextSpec::new(size, TEXT).anchor(HPos::Center, VPos::Top),
            )?;
        }
    }
    Ok(())
}
