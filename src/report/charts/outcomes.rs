//! `outcomes`: the probability of each outcome, with its 95% interval.

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, VPos};

use super::style::{ink_on, palette, MUTED, TEXT};
use super::{
    draw_axes, draw_lines, draw_text, frame, text_width, wrap, Axis, Chart, DrawResult, Study,
    TextSpec,
};
use crate::report::format::{group_thousands, percent, percent_axis_label};

pub(crate) struct Outcomes;

const LABEL_SIZE: f64 = 14.5;
const LABEL_LINE: i32 = 18;
const MAX_LABEL_LINES: usize = 3;

impl Chart for Outcomes {
    fn name(&self) -> &'static str {
        "outcomes"
    }

    fn title(&self) -> &'static str {
        "Outcome probabilities"
    }

    fn applies(&self, study: &Study) -> bool {
        !study.summary.outcomes.is_empty()
    }

    fn draw<DB: DrawingBackend>(&self, study: &Study, root: &DrawingArea<DB, Shift>) -> DrawResult {
        let outcomes = &study.summary.outcomes;
        let n = outcomes.len();
        let area = frame(
            root,
            study,
            self.title(),
            "share of runs ending in each outcome, with 95% Wilson intervals",
        )?;

        // Room under the bars for the wrapped labels and the run counts.
        let (w, _) = area.dim_in_pixel();
        let y_label_area = 64;
        let slot = (w as i32 - y_label_area - 20) / n as i32;
        let label_width = (slot - 16).max(40);
        let labels: Vec<Vec<String>> = outcomes
            .iter()
            .map(|o| wrap(&o.label, label_width, LABEL_SIZE, MAX_LABEL_LINES))
            .collect();
        let lines = labels.iter().map(Vec::len).max().unwrap_or(1) as i32;
        let x_label_area = 14 + lines * LABEL_LINE + 22;

        let mut chart = ChartBuilder::on(&area)
            .margin_top(8)
            .margin_right(20)
            .x_label_area_size(x_label_area)
            .y_label_area_size(y_label_area)
            .build_cartesian_2d(0.0..n as f64, 0.0..1.0)?;
        draw_axes(
            root,
            study,
            &mut chart,
            Axis {
                labels: 0,
                format: &|_| String::new(),
                title: None,
                grid: false,
            },
            Axis {
                labels: 6,
                format: &percent_axis_label,
                title: Some("probability (% of runs)".into()),
                grid: true,
            },
        )?;

        for (i, o) in outcomes.iter().enumerate() {
            let x = i as f64;
            let p = o.probability.clamp(0.0, 1.0);
            let (lo, hi) = (o.ci95[0].clamp(0.0, 1.0), o.ci95[1].clamp(0.0, 1.0));
            let colour = palette(i);
            let bar_half = 0.32_f64.min(0.5 - 8.0 / f64::from(slot.max(1)));
            chart.draw_series(std::iter::once(Rectangle::new(
                [(x + 0.5 - bar_half, 0.0), (x + 0.5 + bar_half, p)],
                colour.filled(),
            )))?;
            // Error whisker with caps.
            let whisker = ShapeStyle::from(&TEXT).stroke_width(2);
            let cap = bar_half * 0.3;
            chart.draw_series([
                PathElement::new(vec![(x + 0.5, lo), (x + 0.5, hi)], whisker),
                PathElement::new(vec![(x + 0.5 - cap, lo), (x + 0.5 + cap, lo)], whisker),
                PathElement::new(vec![(x + 0.5 - cap, hi), (x + 0.5 + cap, hi)], whisker),
            ])?;

            // The percentage above the whisker, or inside the bar when there is no room above.
            let (top_x, top_y) = chart.backend_coord(&(x + 0.5, hi));
            let (_, bar_top) = chart.backend_coord(&(x + 0.5, p));
            let (_, plot_top) = chart.backend_coord(&(x + 0.5, 1.0));
            let text = percent(o.probability);
            // The interval, as long as it fits the slot.
            let interval = [
                format!("95% CI {}–{}", percent(lo), percent(hi)),
                format!("{}–{}", percent(lo), percent(hi)),
            ]
            .into_iter()
            .find(|t| text_width(t, 12.0) <= slot - 12)
            .unwrap_or_default();
            if top_y - plot_top > 52 {
                draw_text(
                    root,
                    study.raster,
                    &interval,
                    (top_x, top_y - 8),
                    TextSpec::new(12.0, MUTED).anchor(HPos::Center, VPos::Bottom),
                )?;
                draw_text(
                    root,
                    study.raster,
                    &text,
                    (top_x, top_y - 25),
                    TextSpec::new(19.0, TEXT).anchor(HPos::Center, VPos::Bottom),
                )?;
            } else {
                let ink = ink_on(colour);
                let (_, low_y) = chart.backend_coord(&(x + 0.5, lo));
                let inside = bar_top.max(low_y) + 10;
                draw_text(
                    root,
                    study.raster,
                    &text,
                    (top_x, inside),
                    TextSpec::new(19.0, ink).anchor(HPos::Center, VPos::Top),
                )?;
                draw_text(
                    root,
                    study.raster,
                    &interval,
                    (top_x, inside + 24),
                    TextSpec::new(12.0, ink).anchor(HPos::Center, VPos::Top),
                )?;
            }

            // Label and run count under the bar.
            let (cx, base) = chart.backend_coord(&(x + 0.5, 0.0));
            let spec = TextSpec::new(LABEL_SIZE, TEXT).anchor(HPos::Center, VPos::Top);
            draw_lines(root, study, &labels[i], (cx, base + 12), LABEL_LINE, spec)?;
            draw_text(
                root,
                study.raster,
                &format!("{} runs", group_thousands(o.count)),
                (cx, base + 14 + labels[i].len() as i32 * LABEL_LINE + 2),
                TextSpec::new(12.5, MUTED).anchor(HPos::Center, VPos::Top),
            )?;
        }
        Ok(())
    }
}
