//! `decision_timing`: for each timed decision (`wait`), the share of runs that took it at each
//! step of its window, one stacked column per step (a colour per option), and the share that
//! had taken it by then as a line: when the actor moved, not only what it chose.

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, VPos};

use super::style::{palette, MUTED, TEXT};
use super::{
    draw_axes, draw_text, ellipsize, frame, humanize, step_date, text_width, Axis, Chart,
    DrawResult, Study, TextSpec,
};
use crate::montecarlo::summary::{DecisionSummary, TimingSummary};
use crate::report::format::{percent, percent_axis_label};

pub(crate) struct DecisionTiming;

const PANEL_HEIGHT: u32 = 300;
const LEGEND_SIZE: f64 = 13.0;

fn timed<'a>(study: &Study<'a>) -> Vec<(&'a DecisionSummary, &'a TimingSummary)> {
    let decisions = study.summary.decisions.iter();
    decisions
        .filter_map(|d| d.timing.as_ref().map(|t| (d, t)))
        .collect()
}

impl Chart for DecisionTiming {
    fn name(&self) -> &'static str {
        "decision_timing"
    }

    fn title(&self) -> &'static str {
        "When timed decisions were taken"
    }

    fn applies(&self, study: &Study) -> bool {
        !timed(study).is_empty()
    }

    fn size(&self, study: &Study) -> (u32, u32) {
        let (w, h) = study.size;
        (w, h.max(130 + PANEL_HEIGHT * timed(study).len() as u32))
    }

    fn draw<DB: DrawingBackend>(&self, study: &Study, root: &DrawingArea<DB, Shift>) -> DrawResult {
        let s = study.summary;
        let area = frame(
            root,
            study,
            self.title(),
            "share of all runs taking each option at each step; the line: taken by then",
        )?;
        let decisions = timed(study);
        for ((d, t), panel) in decisions
            .iter()
            .zip(area.split_evenly((decisions.len(), 1)))
        {
            let first = t.from as f64 - 0.5;
            let last = t.until as f64 + 0.5;
            // The line ends at the share that took it at all; bars are far lower when the
            // window is long, so the axis is the larger of the two, rounded up to a tenth.
            let taken: f64 = t.steps.iter().map(|step| step.share).sum();
            let top = (taken.max(0.05) * 10.0).ceil() / 10.0;
            let (w, _) = panel.dim_in_pixel();
            let name = if d.label.is_empty() {
                humanize(&d.id)
            } else {
                d.label.clone()
            };
            let heading = format!("{name} ({})", d.actor);
            draw_text(
                &panel,
                study.raster,
                &ellipsize(&heading, w as i32 - 40, 15.0),
                (80, 6),
                TextSpec::new(15.0, TEXT).anchor(HPos::Left, VPos::Top),
            )?;
            let note = match &t.default {
                Some(default) => format!(
                    "waiting at the deadline took {} in {} of runs",
                    humanize(default),
                    percent(t.forced_share)
                ),
                None => format!("not taken in {} of runs", percent(1.0 - taken.min(1.0))),
            };
            draw_text(
                &panel,
                study.raster,
                &note,
                (w as i32 - 24, 8),
                TextSpec::new(12.5, MUTED).anchor(HPos::Right, VPos::Top),
            )?;
            let mut chart = ChartBuilder::on(&panel)
                .margin_top(30)
                .margin_right(24)
                .x_label_area_size(44)
                .y_label_area_size(70)
                .build_cartesian_2d(first..last, 0.0..top)?;
            let window = t.until - t.from + 1;
            let date = |x: &f64| {
                let step = x.round();
                if (x - step).abs() > 1e-6 || step < 0.0 {
                    return String::new();
                }
                step_date(s, step as u32).unwrap_or_default()
            };
            draw_axes(
                root,
                study,
                &mut chart,
                Axis {
                    labels: (window as usize + 1).min(7),
                    format: &date,
                    title: None,
                    grid: false,
                },
                Axis {
                    labels: 5,
                    format: &percent_axis_label,
                    title: Some("share of runs (%)".into()),
                    grid: true,
                },
            )?;
            let n = s.runs.max(1) as f64;
            let width = 0.8_f64.min(0.4 + 8.0 / f64::from(window));
            for step in &t.steps {
                let x = f64::from(step.step);
                let mut bottom = 0.0;
                for (k, &runs) in step.options.iter().enumerate() {
                    let height = runs as f64 / n;
                    if height > 0.0 {
                        chart.draw_series(std::iter::once(Rectangle::new(
                            [
                                (x - width / 2.0, bottom),
                                (x + width / 2.0, bottom + height),
                            ],
                            palette(k).filled(),
                        )))?;
                    }
                    bottom += height;
                }
            }
            let mut so_far = 0.0;
            let mut line = vec![(first, 0.0)];
            // A step function: the share that had taken it by the end of each step.
            for step in &t.steps {
                let x = f64::from(step.step);
                line.push((x - 0.5, so_far));
                so_far += step.share;
                line.push((x - 0.5, so_far));
            }
            line.push((last, so_far));
            chart.draw_series(std::iter::once(PathElement::new(
                line,
                MUTED.stroke_width(2),
            )))?;
            // The options' colours, under the heading.
            let mut x = 80;
            for (k, o) in d.options.iter().enumerate() {
                panel.draw(&Rectangle::new(
                    [(x, 28), (x + 11, 39)],
                    palette(k).filled(),
                ))?;
                let text = humanize(&o.id);
                draw_text(
                    &panel,
                    study.raster,
                    &text,
                    (x + 16, 27),
                    TextSpec::new(LEGEND_SIZE, TEXT),
                )?;
                x += 16 + text_width(&text, LEGEND_SIZE) + 22;
            }
        }
        Ok(())
    }
}
