//! `drivers`: how the main outcome's probability changes across each sampled parameter's range
//! (one panel per parameter, sorted by swing), so the reader sees what pushes the decision. Each
//! point carries its 95% interval: a bin holds a tenth of the runs, so a rare outcome's curve
//! is mostly noise, and the whiskers show how much.

use plotters::coord::Shift;
use plotters::element::DashedPathElement;
use plotters::prelude::*;

use super::style::{palette, MUTED, TEXT};
use super::{
    draw_axes, draw_text, ellipsize, frame, grid, padded_range, text_width, Axis, Chart, DrawError,
    DrawResult, Study, TextSpec,
};
use crate::montecarlo::aggregate::wilson;
use crate::montecarlo::summary::{ParameterSummary, Summary};
use crate::report::format::{percent, percent_axis_label, tick_label};
use plotters::style::text_anchor::{HPos, VPos};

pub(crate) struct Drivers;

/// At most this many panels (the parameters with the largest swing).
const MAX_PANELS: usize = 9;

/// The outcome the drivers chart shows when none is asked for: the one whose least informative
/// bin is the most informative. A bin's share is estimated well only when the bin holds many
/// runs both with and without the outcome (the Wilson interval's width follows the smaller of
/// the two), so each outcome is scored by the smallest such count over every bin of every
/// panel, and the overall counts; the highest score wins, ties going to the first outcome.
/// The first outcome of a scenario is often a rare one, whose panels would be noise.
pub(crate) fn default_main_outcome(summary: &Summary) -> usize {
    let score = |o: usize| {
        let overall = summary.outcomes[o].count;
        let mut worst = overall.min(summary.runs.saturating_sub(overall));
        for b in summary.parameters.iter().flat_map(|p| &p.drivers) {
            if let Some(c) = b.outcomes.get(o) {
                if b.runs > 0 {
                    worst = worst.min(c.count.min(b.runs.saturating_sub(c.count)));
                }
            }
        }
        worst
    };
    let mut best = 0;
    let mut best_score = None;
    for o in 0..summary.outcomes.len() {
        let s = score(o);
        if best_score.is_none_or(|b| s > b) {
            best = o;
            best_score = Some(s);
        }
    }
    best
}

/// One bin of a panel: where it is drawn and the main outcome's share with its interval.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Point {
    x: f64,
    share: f64,
    lo: f64,
    hi: f64,
}

/// A parameter's effect on the main outcome.
struct Driver<'a> {
    parameter: &'a ParameterSummary,
    /// One per bin (bins with equal bounds merged), at the bin's midpoint.
    points: Vec<Point>,
    /// The bins are the parameter's values (a bernoulli or short discrete one), not deciles:
    /// points are not joined by a line.
    by_value: bool,
    swing: f64,
}

fn drivers<'a>(study: &Study<'a>) -> Vec<Driver<'a>> {
    let main = study.main;
    let mut out: Vec<Driver<'a>> = study
        .summary
        .parameters
        .iter()
        .filter(|p| !p.drivers.is_empty())
        .filter_map(|p| {
            // Merge bins with the same bounds (deciles of a discrete parameter that fall on
            // one value).
            let mut merged: Vec<(f64, f64, u64, u64)> = Vec::new();
            for b in &p.drivers {
                let hits = b.outcomes.get(main).map_or(0, |c| c.count);
                match merged.last_mut() {
                    Some(last) if last.0 == b.lo && last.1 == b.hi => {
                        last.2 += b.runs;
                        last.3 += hits;
                    }
                    _ => merged.push((b.lo, b.hi, b.runs, hits)),
                }
            }
            let points: Vec<Point> = merged
                .iter()
                .filter(|m| m.2 > 0 && m.0.is_finite() && m.1.is_finite())
                .map(|&(lo, hi, runs, hits)| {
                    let [ci_lo, ci_hi] = wilson(hits, runs);
                    Point {
                        x: lo / 2.0 + hi / 2.0,
                        share: hits as f64 / runs as f64,
                        lo: ci_lo,
                        hi: ci_hi,
                    }
                })
                .collect();
            if points.is_empty() {
                return None;
            }
            let max = points
                .iter()
                .map(|p| p.share)
                .fold(f64::NEG_INFINITY, f64::max);
            let min = points.iter().map(|p| p.share).fold(f64::INFINITY, f64::min);
            Some(Driver {
                parameter: p,
                points,
                by_value: p.drivers_by_value(),
                swing: max - min,
            })
        })
        .collect();
    // Stable: ties keep the scenario's order.
    out.sort_by(|a, b| b.swing.total_cmp(&a.swing));
    out
}

impl Chart for Drivers {
    fn name(&self) -> &'static str {
        "drivers"
    }

    fn title(&self) -> &'static str {
        "What drives the main outcome"
    }

    fn applies(&self, study: &Study) -> bool {
        !study.summary.outcomes.is_empty() && !drivers(study).is_empty()
    }

    fn size(&self, study: &Study) -> (u32, u32) {
        let (w, h) = study.size;
        let (rows, _) = grid(drivers(study).len().min(MAX_PANELS));
        (w, h.max(156 + 265 * rows as u32))
    }

    fn draw<DB: DrawingBackend>(&self, study: &Study, root: &DrawingArea<DB, Shift>) -> DrawResult {
        let s = study.summary;
        let main = &s.outcomes[study.main.min(s.outcomes.len() - 1)];
        let all = drivers(study);
        let shown = &all[..all.len().min(MAX_PANELS)];
        let more = if all.len() > shown.len() {
            format!(" · top {} of {} shown", shown.len(), all.len())
        } else {
            String::new()
        };
        let subtitle = format!("probability of “{}”", main.label);
        let area = frame(root, study, self.title(), &subtitle)?;
        let colour = palette(study.main);
        let legend = draw_legend(root, study, &area, main.probability, colour, &more)?;
        let area = area.margin(legend, 0, 0, 0);

        let (rows, cols) = grid(shown.len());
        let panels = area.split_evenly((rows, cols));
        let top = shared_top(shown, main.probability);
        for (rank, (d, panel)) in shown.iter().zip(panels.iter()).enumerate() {
            draw_panel(root, study, panel, d, rank, main.probability, colour, top)?;
        }
        Ok(())
    }
}

/// Top of the probability axis, shared by every panel so they compare at a glance: zero stays
/// the floor, and the ceiling fits the highest decile instead of 100%, which would flatten a
/// rare outcome's curves into the axis.
fn shared_top(shown: &[Driver], overall: f64) -> f64 {
    let highest = shown
        .iter()
        .flat_map(|d| d.points.iter().map(|p| p.share))
        .fold(overall, f64::max);
    const CEILINGS: [f64; 10] = [0.02, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.8, 1.0];
    CEILINGS
        .into_iter()
        .find(|c| *c >= highest * 1.1)
        .unwrap_or(1.0)
}

#[allow(clippy::too_many_arguments)]
fn draw_panel<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    study: &Study,
    panel: &DrawingArea<DB, Shift>,
    d: &Driver,
    rank: usize,
    overall: f64,
    colour: RGBColor,
    top: f64,
) -> DrawResult {
    let (pw, _) = panel.dim_in_pixel();
    let (px, py) = panel.get_base_pixel();
    let usable = pw as i32 - 28;
    let p = d.parameter;

    draw_text(
        root,
        study.raster,
        &ellipsize(&format!("{}. {}", rank + 1, p.label), usable, 15.0),
        (px + 14, py + 6),
        TextSpec::new(15.0, TEXT),
    )?;
    let low = d
        .points
        .iter()
        .map(|p| p.share)
        .fold(f64::INFINITY, f64::min);
    let high = d
        .points
        .iter()
        .map(|p| p.share)
        .fold(f64::NEG_INFINITY, f64::max);
    draw_text(
        root,
        study.raster,
        &ellipsize(
            &format!(
                "swing {:.1} pts ({} to {}) · {}",
                d.swing * 100.0,
                percent(low),
                percent(high),
                p.distribution
            ),
            usable,
            12.5,
        ),
        (px + 14, py + 27),
        TextSpec::new(12.5, MUTED),
    )?;

    let lo = d.points.iter().map(|p| p.x).fold(f64::INFINITY, f64::min);
    let hi = d
        .points
        .iter()
        .map(|p| p.x)
        .fold(f64::NEG_INFINITY, f64::max);
    // Values sit inside the axis, not on its ends, where their whiskers would touch the frame.
    let (x0, x1) = padded_range(lo, hi, if d.by_value { 0.25 } else { 0.04 });
    let span = x1 - x0;
    let unit = if p.unit.trim().is_empty() {
        "parameter value".to_string()
    } else {
        p.unit.clone()
    };

    let mut chart = ChartBuilder::on(panel)
        .margin_top(46)
        .margin_right(18)
        .margin_bottom(6)
        .x_label_area_size(44)
        .y_label_area_size(56)
        .build_cartesian_2d(x0..x1, 0.0..top)?;
    let x_fmt = |v: &f64| tick_label(*v, span);
    draw_axes(
        root,
        study,
        &mut chart,
        Axis {
            labels: 5,
            format: &x_fmt,
            title: Some(unit),
            grid: true,
        },
        Axis {
            labels: 6,
            format: &percent_axis_label,
            title: Some("probability".into()),
            grid: true,
        },
    )?;

    chart.draw_series(std::iter::once(DashedPathElement::new(
        vec![(x0, overall), (x1, overall)],
        5,
        4,
        ShapeStyle::from(&MUTED).stroke_width(1),
    )))?;
    // 95% intervals, cut at the top of the shared axis.
    let cap = span * 0.008;
    let whisker = colour.mix(0.55).stroke_width(1);
    for p in &d.points {
        let (lo, hi) = (p.lo.min(top), p.hi.min(top));
        chart.draw_series(std::iter::once(PathElement::new(
            vec![(p.x, lo), (p.x, hi)],
            whisker,
        )))?;
        for y in [lo, hi] {
            if y < top {
                chart.draw_series(std::iter::once(PathElement::new(
                    vec![(p.x - cap, y), (p.x + cap, y)],
                    whisker,
                )))?;
            }
        }
    }
    if !d.by_value {
        chart.draw_series(LineSeries::new(
            d.points.iter().map(|p| (p.x, p.share)),
            colour.stroke_width(2),
        ))?;
    }
    chart.draw_series(d.points.iter().map(|p| {
        Circle::new(
            (p.x, p.share),
            if d.by_value { 4 } else { 3 },
            colour.filled(),
        )
    }))?;
    Ok(())
}

/// The legend row above the panels; returns its height.
fn draw_legend<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    study: &Study,
    area: &DrawingArea<DB, Shift>,
    overall: f64,
    colour: RGBColor,
    more: &str,
) -> Result<i32, DrawError> {
    let (x, y) = area.get_base_pixel();
    let (x, mid) = (x + 14, y + 10);
    let label = TextSpec::new(12.5, TEXT).anchor(HPos::Left, VPos::Center);
    root.draw(&PathElement::new(
        vec![(x, mid), (x + 22, mid)],
        colour.stroke_width(2),
    ))?;
    root.draw(&Circle::new((x + 11, mid), 3, colour.filled()))?;
    let text = "each decile (each value of a discrete parameter), with its 95% interval";
    draw_text(root, study.raster, text, (x + 28, mid), label)?;
    let x = x + 28 + text_width(text, 12.5) + 24;
    root.draw(&DashedPathElement::new(
        vec![(x, mid), (x + 22, mid)],
        5,
        4,
        ShapeStyle::from(&MUTED).stroke_width(1),
    ))?;
    let text = format!("over all runs: {}", percent(overall));
    draw_text(root, study.raster, &text, (x + 28, mid), label)?;
    let x = x + 28 + text_width(&text, 12.5) + 24;
    let text = format!("panels sorted by swing (highest minus lowest){more}");
    draw_text(root, study.raster, &text, (x, mid), label.with_color(MUTED))?;
    Ok(26)
}
