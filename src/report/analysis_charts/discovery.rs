//! `discovery`: on the left, the first box's peeling trajectory (coverage against density,
//! from the whole space at the right to the smallest box at the left), the chosen point
//! marked; on the right, each box's restrictions as spans over the parameters' ranges.

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, VPos};

use super::super::charts::style::{MUTED, TEXT};
use super::super::charts::{
    draw_axes_with, draw_frame, draw_text, ellipsize, text_width, Axis, DrawResult, TextSpec,
};
use super::{footer, probability_axis, series, AnalysisChart, FRAME_HEIGHT, MIN_HEIGHT, WIDTH};
use crate::analysis::discover::Discovery;
use crate::report::format::{by_magnitude, percent, percent_tick_label, with_minus_sign};

pub(crate) struct DiscoveryChart<'a> {
    d: &'a Discovery,
    scenario: &'a str,
}

const ROW: u32 = 44;
const LABEL_SIZE: f64 = 13.0;
const VALUE_SIZE: f64 = 11.0;

impl<'a> DiscoveryChart<'a> {
    pub fn new(d: &'a Discovery, scenario: &'a str) -> Self {
        DiscoveryChart { d, scenario }
    }

    fn rows(&self) -> usize {
        self.d
            .boxes
            .iter()
            .map(|b| b.restrictions.len() + 1)
            .sum::<usize>()
            .max(1)
    }
}

impl AnalysisChart for DiscoveryChart<'_> {
    fn name(&self) -> &'static str {
        super::DISCOVERY_CHART
    }

    fn size(&self) -> (u32, u32) {
        let h = FRAME_HEIGHT + 60 + ROW * self.rows() as u32 + 40;
        (WIDTH, h.max(MIN_HEIGHT))
    }

    fn draw<DB: DrawingBackend>(&self, raster: bool, root: &DrawingArea<DB, Shift>) -> DrawResult {
        let d = self.d;
        let subtitle = format!(
            "{} — “{}”: {} of all runs; boxes found on the even runs, measured on the odd",
            self.scenario,
            d.outcome_label,
            percent(d.share)
        );
        let area = draw_frame(
            root,
            raster,
            "Discover: where the outcome happens",
            &subtitle,
            &footer(d.runs, "runs", d.seed, &d.version),
            "PRIM, peeling and pasting",
        )?;
        let (aw, _) = area.dim_in_pixel();
        let (left, right) = area.split_horizontally((aw as f64 * 0.42) as u32);

        // The trajectory.
        let highest = d
            .trajectory
            .iter()
            .map(|t| t.density)
            .fold(d.share, f64::max);
        let y_axis = probability_axis(highest);
        let mut chart = ChartBuilder::on(&left)
            .margin_top(16)
            .margin_right(24)
            .x_label_area_size(48)
            .y_label_area_size(60)
            .build_cartesian_2d(0.0..1.0, y_axis.lo..y_axis.hi)?;
        let span = y_axis.hi - y_axis.lo;
        draw_axes_with(
            root,
            raster,
            &mut chart,
            Axis {
                labels: 6,
                format: &|v: &f64| percent_tick_label(*v, 1.0),
                title: Some("coverage (share of the outcome's runs inside)".into()),
                grid: true,
            },
            Axis {
                labels: y_axis.labels(),
                format: &|v: &f64| percent_tick_label(*v, span),
                title: Some("density, on the runs that found the box".into()),
                grid: true,
            },
        )?;
        let line = series(0);
        chart.draw_series(LineSeries::new(
            d.trajectory.iter().map(|t| (t.coverage, t.density)),
            ShapeStyle::from(&line).stroke_width(2),
        ))?;
        chart.draw_series(
            d.trajectory
                .iter()
                .map(|t| Circle::new((t.coverage, t.density), 3, line.filled())),
        )?;
        chart.draw_series(std::iter::once(PathElement::new(
            vec![(0.0, d.share), (1.0, d.share)],
            ShapeStyle::from(&MUTED).stroke_width(1),
        )))?;
        if let (Some(k), true) = (d.chosen, !d.boxes.is_empty()) {
            if let Some(t) = d.trajectory.get(k) {
                chart.draw_series(std::iter::once(Circle::new(
                    (t.coverage, t.density),
                    7,
                    ShapeStyle::from(&series(1)).stroke_width(3),
                )))?;
            }
        }

        // The boxes.
        let (rx, ry) = right.get_base_pixel();
        let (rw, _) = right.dim_in_pixel();
        let mut y = ry + 24;
        if d.boxes.is_empty() {
            let note = d.note.as_deref().unwrap_or("no box");
            draw_text(
                root,
                raster,
                &ellipsize(note, rw as i32 - 24, LABEL_SIZE),
                (rx + 12, y),
                TextSpec::new(LABEL_SIZE, TEXT).anchor(HPos::Left, VPos::Center),
            )?;
            return Ok(());
        }
        let label_w = d
            .boxes
            .iter()
            .flat_map(|b| b.restrictions.iter())
            .map(|r| text_width(&r.parameter, LABEL_SIZE))
            .max()
            .unwrap_or(60)
            .clamp(60, 240);
        let x0 = rx + 12 + label_w + 60;
        let x1 = rx + rw as i32 - 60;
        for (k, b) in d.boxes.iter().enumerate() {
            let heading = format!(
                "box {}: density {} (coverage {}), {} runs inside",
                k + 1,
                percent(b.density),
                percent(b.coverage),
                b.runs
            );
            draw_text(
                root,
                raster,
                &ellipsize(&heading, rw as i32 - 24, LABEL_SIZE),
                (rx + 12, y),
                TextSpec::new(LABEL_SIZE, TEXT).anchor(HPos::Left, VPos::Center),
            )?;
            y += ROW as i32;
            for r in &b.restrictions {
                let Some(range) = d.parameters.iter().find(|p| p.id == r.parameter) else {
                    continue;
                };
                let (lo, hi) = (range.min, range.max);
                let to_x = |v: f64| {
                    let t = if hi > lo { (v - lo) / (hi - lo) } else { 0.5 };
                    x0 + (t.clamp(0.0, 1.0) * (x1 - x0) as f64).round() as i32
                };
                draw_text(
                    root,
                    raster,
                    &ellipsize(&r.parameter, label_w, LABEL_SIZE),
                    (rx + 12, y),
                    TextSpec::new(LABEL_SIZE, TEXT).anchor(HPos::Left, VPos::Center),
                )?;
                root.draw(&Rectangle::new(
                    [(x0, y - 4), (x1, y + 4)],
                    MUTED.mix(0.25).filled(),
                ))?;
                let (a, z) = (to_x(r.min.unwrap_or(lo)), to_x(r.max.unwrap_or(hi)));
                root.draw(&Rectangle::new(
                    [(a, y - 8), (z.max(a + 2), y + 8)],
                    series(1).mix(0.8).filled(),
                ))?;
                let value = |v: f64| with_minus_sign(by_magnitude(v));
                let spec = TextSpec::new(VALUE_SIZE, MUTED).anchor(HPos::Right, VPos::Center);
                draw_text(root, raster, &value(lo), (x0 - 6, y), spec)?;
                let spec = TextSpec::new(VALUE_SIZE, MUTED).anchor(HPos::Left, VPos::Center);
                draw_text(root, raster, &value(hi), (x1 + 6, y), spec)?;
                y += ROW as i32;
            }
        }
        Ok(())
    }
}
