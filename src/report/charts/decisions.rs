//! `decisions`: for each decision, the share of runs taking each option (and not taking the
//! decision at all), as one stacked horizontal bar per decision with a legend under it. A
//! recurring decision's bar counts the option taken last, and its label says so.

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, VPos};

use super::style::{ink_on, palette, MUTED, NOT_TAKEN, TEXT};
use super::{
    draw_axes, draw_lines, draw_text, ellipsize, frame, humanize, step_date, text_width, wrap,
    Axis, Chart, DrawResult, Study, TextSpec,
};
use crate::montecarlo::summary::DecisionSummary;
use crate::report::format::{percent, percent_axis_label};

pub(crate) struct Decisions;

const LABEL_SIZE: f64 = 15.0;
const LEGEND_SIZE: f64 = 13.0;
const LEGEND_LINE: i32 = 19;

/// One segment of a decision's bar.
struct Segment {
    label: String,
    share: f64,
    colour: RGBColor,
}

fn segments(d: &DecisionSummary, runs: u64) -> Vec<Segment> {
    let mut out: Vec<Segment> = d
        .options
        .iter()
        .enumerate()
        .map(|(i, o)| Segment {
            label: humanize(&o.id),
            share: o.probability.clamp(0.0, 1.0),
            colour: palette(i),
        })
        .collect();
    if d.not_taken > 0 && runs > 0 {
        out.push(Segment {
            label: "not taken".to_string(),
            share: d.not_taken as f64 / runs as f64,
            colour: NOT_TAKEN,
        });
    }
    out
}

/// Lay legend items (swatch + text) out in lines of at most `width` pixels.
fn legend_lines(segments: &[Segment], width: i32) -> Vec<Vec<(usize, String, i32)>> {
    let mut lines: Vec<Vec<(usize, String, i32)>> = vec![Vec::new()];
    let mut x = 0;
    for (i, s) in segments.iter().enumerate() {
        let text = format!("{} {}", s.label, percent(s.share));
        let item = 16 + text_width(&text, LEGEND_SIZE);
        if x > 0 && x + item > width {
            lines.push(Vec::new());
            x = 0;
        }
        if let Some(line) = lines.last_mut() {
            line.push((i, text, x));
        }
        x += item + 22;
    }
    lines
}

impl Chart for Decisions {
    fn name(&self) -> &'static str {
        "decisions"
    }

    fn title(&self) -> &'static str {
        "Decisions"
    }

    fn applies(&self, study: &Study) -> bool {
        !study.summary.decisions.is_empty()
    }

    fn size(&self, study: &Study) -> (u32, u32) {
        let (w, h) = study.size;
        let n = study.summary.decisions.len() as u32;
        (w, h.max(170 + 110 * n))
    }

    fn draw<DB: DrawingBackend>(&self, study: &Study, root: &DrawingArea<DB, Shift>) -> DrawResult {
        let s = study.summary;
        let n = s.decisions.len();
        let area = frame(
            root,
            study,
            self.title(),
            "share of all runs choosing each option",
        )?;
        let (w, _) = area.dim_in_pixel();
        let label_col = ((w as f64) * 0.28).clamp(180.0, 320.0) as i32;

        let mut chart = ChartBuilder::on(&area)
            .margin_top(8)
            .margin_right(24)
            .x_label_area_size(52)
            .y_label_area_size(label_col)
            .build_cartesian_2d(0.0..1.0, 0.0..n as f64)?;
        draw_axes(
            root,
            study,
            &mut chart,
            Axis {
                labels: 11,
                format: &percent_axis_label,
                title: Some("share of runs (%)".into()),
                grid: true,
            },
            Axis {
                labels: 0,
                format: &|_| String::new(),
                title: None,
                grid: false,
            },
        )?;

        let (plot_x0, row0_top) = chart.backend_coord(&(0.0, n as f64));
        let (plot_x1, row0_bottom) = chart.backend_coord(&(1.0, n as f64 - 1.0));
        let row_h = row0_bottom - row0_top;
        let plot_w = plot_x1 - plot_x0;

        for (i, d) in s.decisions.iter().enumerate() {
            let segs = segments(d, s.runs);
            let legend = legend_lines(&segs, plot_w);
            let legend_h = legend.len() as i32 * LEGEND_LINE;
            let bar_h = ((row_h - legend_h - 24) as f64 * 0.6).clamp(14.0, 52.0) as i32;
            let block = bar_h + 8 + legend_h;
            let row_top = row0_top + i as i32 * row_h;
            let bar_top = row_top + ((row_h - block) / 2).max(4);
            let bar_bottom = bar_top + bar_h;

            // Stacked bar.
            let mut start = 0.0;
            for seg in &segs {
                let end = (start + seg.share).min(1.0);
                let (x0, _) = chart.backend_coord(&(start, 0.0));
                let (x1, _) = chart.backend_coord(&(end, 0.0));
                if x1 > x0 {
                    root.draw(&Rectangle::new(
                        [(x0, bar_top), (x1, bar_bottom)],
                        seg.colour.filled(),
                    ))?;
                    if x1 - x0 > 3 {
                        root.draw(&PathElement::new(
                            vec![(x1, bar_top), (x1, bar_bottom)],
                            WHITE.stroke_width(2),
                        ))?;
                    }
                    let text = percent(seg.share);
                    if text_width(&text, 13.0) + 10 < x1 - x0 {
                        draw_text(
                            root,
                            study.raster,
                            &text,
                            ((x0 + x1) / 2, (bar_top + bar_bottom) / 2),
                            TextSpec::new(13.0, ink_on(seg.colour))
                                .anchor(HPos::Center, VPos::Center),
                        )?;
                    }
                }
                start = end;
            }

            // Legend under the bar.
            for (l, line) in legend.iter().enumerate() {
                let y = bar_bottom + 8 + l as i32 * LEGEND_LINE;
                for (seg, text, dx) in line {
                    let x = plot_x0 + dx;
                    root.draw(&Rectangle::new(
                        [(x, y + 2), (x + 11, y + 13)],
                        segs[*seg].colour.filled(),
                    ))?;
                    draw_text(
                        root,
                        study.raster,
                        text,
                        (x + 16, y + 3),
                        TextSpec::new(LEGEND_SIZE, TEXT),
                    )?;
                }
            }

            // Decision label and who decides when, left of the bar.
            let label_x = plot_x0 - 14;
            let label_w = label_col - 20;
            let name = if d.label.is_empty() {
                humanize(&d.id)
            } else {
                d.label.clone()
            };
            let lines = wrap(&name, label_w, LABEL_SIZE, 3);
            // A recurring decision's bar is the option taken last; a timed one's has a window.
            let when = match (
                d.step.and_then(|st| step_date(s, st)),
                &d.recurring,
                &d.timing,
            ) {
                (_, Some(_), _) => format!("{} · recurring: option taken last", d.actor),
                (_, _, Some(t)) => match (step_date(s, t.from), step_date(s, t.until)) {
                    (Some(from), Some(until)) => format!("{} · {from} to {until}", d.actor),
                    _ => d.actor.clone(),
                },
                (Some(date), None, None) => format!("{} · {}", d.actor, date),
                (None, None, None) => d.actor.clone(),
            };
            let block_h = lines.len() as i32 * 19 + 17;
            let top = ((bar_top + bar_bottom) / 2 - block_h / 2).max(row_top + 2);
            draw_lines(
                root,
                study,
                &lines,
                (label_x, top),
                19,
                TextSpec::new(LABEL_SIZE, TEXT).anchor(HPos::Right, VPos::Top),
            )?;
            draw_text(
                root,
                study.raster,
                &ellipsize(&when, label_w, 12.5),
                (label_x, top + lines.len() as i32 * 19 + 2),
                TextSpec::new(12.5, MUTED).anchor(HPos::Right, VPos::Top),
            )?;
        }
        Ok(())
    }
}
