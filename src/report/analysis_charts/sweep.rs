//! `sweep`: for a one-parameter sweep, each outcome's probability as a line across the grid,
//! with its 95% interval as a shaded band, and a legend of the outcomes.

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, VPos};

use super::super::charts::style::{MUTED, TEXT};
use super::super::charts::{
    draw_axes_with, draw_frame, draw_text, padded_range, text_width, wrap, Axis, DrawResult,
    TextSpec,
};
use super::{footer, probability_axis, series, AnalysisChart, FRAME_HEIGHT, MIN_HEIGHT, WIDTH};
use crate::analysis::sweep::Sweep;
use crate::report::format::{percent, percent_tick_label, tick_label, with_minus_sign};

pub(crate) struct SweepChart<'a> {
    s: &'a Sweep,
    /// Each legend entry's label, wrapped.
    labels: Vec<Vec<String>>,
    /// The outcome to zoom on in a second panel (a main outcome too rare to read on the
    /// shared axis).
    zoom: Option<usize>,
}

/// Height of the zoom panel.
const ZOOM_H: u32 = 270;
/// A main outcome gets a zoom panel when its curve stays under this share of the shared axis.
const ZOOM_BELOW: f64 = 0.2;

/// Width of the legend column.
const LEGEND_W: i32 = 272;
const LEGEND_SIZE: f64 = 13.0;
const LEGEND_LINE: i32 = 17;
/// Space taken by the legend's heading.
const LEGEND_HEAD: i32 = 30;

impl<'a> SweepChart<'a> {
    /// `main`: the outcome chosen as the main one, if any; it gets a panel of its own when it
    /// is too rare to read on the shared axis.
    pub fn new(s: &'a Sweep, main: Option<usize>) -> Self {
        let labels = s
            .points
            .first()
            .map(|p| {
                p.outcomes
                    .iter()
                    .map(|o| wrap(&o.label, LEGEND_W - 36, LEGEND_SIZE, 3))
                    .collect()
            })
            .unwrap_or_default();
        let mut chart = SweepChart {
            s,
            labels,
            zoom: None,
        };
        chart.zoom = main.filter(|&m| {
            let n = chart.labels.len();
            let highest = |o: usize| chart.curve(o).iter().map(|q| q.3).fold(0.0f64, f64::max);
            let top = probability_axis((0..n).map(highest).fold(0.0f64, f64::max)).hi;
            m < n && highest(m) < ZOOM_BELOW * top
        });
        chart
    }

    fn entry_height(lines: usize) -> i32 {
        lines as i32 * LEGEND_LINE + LEGEND_LINE + 12
    }

    /// (grid value, probability, low, high) of outcome `o` at each point.
    fn curve(&self, o: usize) -> Vec<(f64, f64, f64, f64)> {
        self.s
            .points
            .iter()
            .filter_map(|p| {
                let x = *p.values.first()?;
                let out = p.outcomes.get(o)?;
                Some((
                    x,
                    out.probability.clamp(0.0, 1.0),
                    out.ci95[0].clamp(0.0, 1.0),
                    out.ci95[1].clamp(0.0, 1.0),
                ))
            })
            .filter(|q| q.0.is_finite())
            .collect()
    }
}

impl AnalysisChart for SweepChart<'_> {
    fn name(&self) -> &'static str {
        super::SWEEP_CHART
    }

    fn size(&self) -> (u32, u32) {
        let legend: i32 = LEGEND_HEAD
            + self
                .labels
                .iter()
                .map(|l| Self::entry_height(l.len()))
                .sum::<i32>();
        let h = FRAME_HEIGHT as i32 + 12 + legend + 20;
        let zoom = if self.zoom.is_some() { ZOOM_H } else { 0 };
        (WIDTH, (h.max(0) as u32).max(MIN_HEIGHT) + zoom)
    }

    fn draw<DB: DrawingBackend>(&self, raster: bool, root: &DrawingArea<DB, Shift>) -> DrawResult {
        let s = self.s;
        let Some(axis) = s.axes.first() else {
            return Ok(());
        };
        let subtitle = format!(
            "{} — probability of each outcome with “{}” held at each of {} values, 95% Wilson bands",
            s.scenario,
            axis.label,
            axis.values.len()
        );
        let area = draw_frame(
            root,
            raster,
            "How the outcomes move with one parameter",
            &subtitle,
            &footer(s.runs_per_point, "runs per point", s.seed, &s.version),
            "common random numbers across points",
        )?;
        let n = self.labels.len();
        let curves: Vec<_> = (0..n).map(|o| self.curve(o)).collect();
        let highest = curves.iter().flatten().map(|q| q.3).fold(0.0f64, f64::max);
        let y_axis = probability_axis(highest);
        let top = y_axis.hi;
        let (lo, hi) = axis
            .values
            .iter()
            .filter(|v| v.is_finite())
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
                (a.min(*v), b.max(*v))
            });
        let (x0, x1) = padded_range(lo, hi, 0.02);
        let span = hi - lo;

        let (_, ah) = area.dim_in_pixel();
        let (area, zoom_area) = match self.zoom {
            Some(_) => {
                let (upper, lower) = area.split_vertically(ah.saturating_sub(ZOOM_H));
                (upper, Some(lower))
            }
            None => (area, None),
        };

        let mut chart = ChartBuilder::on(&area)
            .margin_top(12)
            .margin_right((LEGEND_W + 20) as u32)
            .x_label_area_size(58)
            .y_label_area_size(64)
            .build_cartesian_2d(x0..x1, 0.0..top)?;
        let x_fmt = |v: &f64| with_minus_sign(tick_label(*v, span));
        let y_fmt = |v: &f64| percent_tick_label(*v, top);
        let x_title = if axis.unit.trim().is_empty() {
            axis.label.clone()
        } else {
            format!("{} ({})", axis.label, axis.unit)
        };
        draw_axes_with(
            root,
            raster,
            &mut chart,
            Axis {
                labels: 10,
                format: &x_fmt,
                title: Some(x_title.clone()),
                grid: true,
            },
            Axis {
                labels: y_axis.labels(),
                format: &y_fmt,
                title: Some("probability (% of runs)".into()),
                grid: true,
            },
        )?;

        // Bands first, then the lines over every band.
        for (o, curve) in curves.iter().enumerate() {
            if curve.len() < 2 {
                continue;
            }
            let mut band: Vec<(f64, f64)> = curve.iter().map(|q| (q.0, q.3)).collect();
            band.extend(curve.iter().rev().map(|q| (q.0, q.2)));
            chart.draw_series(std::iter::once(Polygon::new(
                band,
                series(o).mix(0.18).filled(),
            )))?;
        }
        let markers = s.points.len() <= 60;
        for (o, curve) in curves.iter().enumerate() {
            let colour = series(o);
            chart.draw_series(LineSeries::new(
                curve.iter().map(|q| (q.0, q.1)),
                colour.stroke_width(2),
            ))?;
            if markers {
                chart.draw_series(
                    curve
                        .iter()
                        .map(|q| Circle::new((q.0, q.1), 3, colour.filled())),
                )?;
            }
        }

        // The legend: each outcome, and its probability at the lowest and highest value.
        let (xs, ys) = chart.plotting_area().get_pixel_range();
        let lx = xs.end + 28;
        let mut y = ys.start;
        draw_text(
            root,
            raster,
            &format!(
                "Outcome · probability at {} → at {}",
                with_minus_sign(tick_label(lo, span)),
                with_minus_sign(tick_label(hi, span))
            ),
            (lx, y),
            TextSpec::new(12.5, MUTED),
        )?;
        y += LEGEND_HEAD;
        for (o, lines) in self.labels.iter().enumerate() {
            let colour = series(o);
            let mid = y + LEGEND_LINE / 2 - 1;
            root.draw(&Rectangle::new(
                [(lx, mid - 6), (lx + 24, mid + 6)],
                colour.mix(0.18).filled(),
            ))?;
            root.draw(&PathElement::new(
                vec![(lx, mid), (lx + 24, mid)],
                colour.stroke_width(2),
            ))?;
            root.draw(&Circle::new((lx + 12, mid), 3, colour.filled()))?;
            for (i, line) in lines.iter().enumerate() {
                draw_text(
                    root,
                    raster,
                    line,
                    (lx + 34, y + i as i32 * LEGEND_LINE + LEGEND_LINE / 2 - 1),
                    TextSpec::new(LEGEND_SIZE, TEXT).anchor(HPos::Left, VPos::Center),
                )?;
            }
            let curve = &curves[o];
            if let (Some(first), Some(last)) = (curve.first(), curve.last()) {
                let text = format!("{} → {}", percent(first.1), percent(last.1));
                let ty = y + lines.len() as i32 * LEGEND_LINE + LEGEND_LINE / 2 + 1;
                if text_width(&text, 12.5) < LEGEND_W {
                    draw_text(
                        root,
                        raster,
                        &text,
                        (lx + 34, ty),
                        TextSpec::new(12.5, MUTED).anchor(HPos::Left, VPos::Center),
                    )?;
                }
            }
            y += Self::entry_height(lines.len());
        }

        if let (Some(m), Some(panel)) = (self.zoom, zoom_area) {
            self.draw_zoom(
                raster,
                root,
                &panel,
                m,
                &curves[m],
                (x0, x1),
                &x_fmt,
                x_title,
            )?;
        }
        Ok(())
    }
}

impl SweepChart<'_> {
    /// The main outcome alone, on an axis that fits it (still from zero).
    #[allow(clippy::too_many_arguments)]
    fn draw_zoom<DB: DrawingBackend>(
        &self,
        raster: bool,
        root: &DrawingArea<DB, Shift>,
        panel: &DrawingArea<DB, Shift>,
        m: usize,
        curve: &[(f64, f64, f64, f64)],
        (x0, x1): (f64, f64),
        x_fmt: &dyn Fn(&f64) -> String,
        x_title: String,
    ) -> DrawResult {
        let label = self
            .s
            .points
            .first()
            .and_then(|p| p.outcomes.get(m))
            .map_or_else(String::new, |o| o.label.clone());
        let y_axis = probability_axis(curve.iter().map(|q| q.3).fold(0.0f64, f64::max));
        let top = y_axis.hi;
        let (px, py) = panel.get_base_pixel();
        let (pw, _) = panel.dim_in_pixel();
        let colour = series(m);
        draw_text(
            root,
            raster,
            &super::super::charts::ellipsize(
                &format!(
                    "Zoom: “{label}” on its own scale (0–{})",
                    percent_tick_label(top, top)
                ),
                pw as i32 - LEGEND_W - 40,
                14.0,
            ),
            (px + 8, py + 10),
            TextSpec::new(14.0, TEXT),
        )?;
        let mut chart = ChartBuilder::on(panel)
            .margin_top(40)
            .margin_right((LEGEND_W + 20) as u32)
            .x_label_area_size(58)
            .y_label_area_size(64)
            .build_cartesian_2d(x0..x1, 0.0..top)?;
        let y_fmt = |v: &f64| percent_tick_label(*v, top);
        draw_axes_with(
            root,
            raster,
            &mut chart,
            Axis {
                labels: 10,
                format: x_fmt,
                title: Some(x_title),
                grid: true,
            },
            Axis {
                labels: y_axis.labels(),
                format: &y_fmt,
                title: Some("probability".into()),
                grid: true,
            },
        )?;
        if curve.len() >= 2 {
            let mut band: Vec<(f64, f64)> = curve.iter().map(|q| (q.0, q.3)).collect();
            band.extend(curve.iter().rev().map(|q| (q.0, q.2)));
            chart.draw_series(std::iter::once(Polygon::new(
                band,
                colour.mix(0.18).filled(),
            )))?;
        }
        chart.draw_series(LineSeries::new(
            curve.iter().map(|q| (q.0, q.1)),
            colour.stroke_width(2),
        ))?;
        if self.s.points.len() <= 60 {
            chart.draw_series(
                curve
                    .iter()
                    .map(|q| Circle::new((q.0, q.1), 3, colour.filled())),
            )?;
        }
        Ok(())
    }
}
