//! `comparison`: each variant's difference from the base, per outcome, in percentage points,
//! with its 95% paired interval (a point with whiskers), one row per outcome, grouped by
//! variant, around a zero line.

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, VPos};

use super::super::charts::style::{AXIS, MUTED, TEXT};
use super::super::charts::{
    draw_axes_with, draw_frame, draw_text, ellipsize, text_width, Axis, DrawResult, TextSpec,
};
use super::{
    footer, nice_range, row_height, series, AnalysisChart, FRAME_HEIGHT, MIN_LIST_HEIGHT, WIDTH,
};
use crate::analysis::compare::Comparison;
use crate::report::format::{percent, signed, tick_label, with_minus_sign};

pub(crate) struct ComparisonChart<'a> {
    c: &'a Comparison,
    slots: Vec<Slot>,
}

/// A row of the chart: a variant's heading, or one outcome's difference for a variant.
#[derive(Clone, Copy)]
enum Slot {
    Heading(usize),
    Row { variant: usize, outcome: usize },
}

const ROW: u32 = 28;
/// Above the rows: the column headings.
const TOP: u32 = 30;
/// Below the rows: tick labels and the axis title.
const BOTTOM: u32 = 56;
const LABEL_SIZE: f64 = 13.5;
const NUM_SIZE: f64 = 13.0;
/// A heading's band.
const BAND: RGBColor = RGBColor(243, 245, 247);

impl<'a> ComparisonChart<'a> {
    pub fn new(c: &'a Comparison) -> Self {
        let mut slots = Vec::new();
        for v in 0..c.variants.len() {
            slots.push(Slot::Heading(v));
            for o in 0..c.outcomes.len() {
                slots.push(Slot::Row {
                    variant: v,
                    outcome: o,
                });
            }
        }
        ComparisonChart { c, slots }
    }

    /// (difference, low, high) in percentage points, if the result has them.
    fn point(&self, variant: usize, outcome: usize) -> Option<(f64, f64, f64)> {
        let o = self.c.outcomes.get(outcome)?;
        let d = *o.differences.get(variant)?;
        let [lo, hi] = *o.differences_ci95.get(variant)?;
        let pts = |x: f64| x * 100.0;
        Some((pts(d), pts(lo.min(d)), pts(hi.max(d))))
    }

    fn numbers(&self, variant: usize, outcome: usize) -> (String, String) {
        let Some((d, lo, hi)) = self.point(variant, outcome) else {
            return (String::new(), String::new());
        };
        let o = &self.c.outcomes[outcome];
        let probs = match (o.probabilities.first(), o.probabilities.get(variant + 1)) {
            (Some(b), Some(v)) => format!("{} → {}", percent(*b), percent(*v)),
            _ => String::new(),
        };
        (
            format!("{} [{}, {}]", signed(d), signed(lo), signed(hi)),
            probs,
        )
    }

    /// Widths of the two number columns.
    fn number_widths(&self) -> (i32, i32) {
        let mut w = (
            text_width("change [95% CI]", 12.5),
            text_width("base → variant", 12.5),
        );
        for v in 0..self.c.variants.len() {
            for o in 0..self.c.outcomes.len() {
                let (a, b) = self.numbers(v, o);
                w.0 = w.0.max(text_width(&a, NUM_SIZE));
                w.1 = w.1.max(text_width(&b, NUM_SIZE));
            }
        }
        w
    }

    fn label_width(&self) -> i32 {
        self.c
            .outcomes
            .iter()
            .map(|o| text_width(&o.label, LABEL_SIZE))
            .max()
            .unwrap_or(0)
            .min(330)
    }
}

impl AnalysisChart for ComparisonChart<'_> {
    fn name(&self) -> &'static str {
        super::COMPARISON_CHART
    }

    fn size(&self) -> (u32, u32) {
        let (a, b) = self.number_widths();
        // Keep at least 420 px for the plot itself.
        let needed = 48 + self.label_width() + 24 + 420 + 24 + a + 18 + b + 8;
        let w = WIDTH.max(needed.max(0) as u32);
        let h = FRAME_HEIGHT + TOP + 8 + ROW * self.slots.len() as u32 + BOTTOM;
        (w, h.max(MIN_LIST_HEIGHT))
    }

    fn draw<DB: DrawingBackend>(&self, raster: bool, root: &DrawingArea<DB, Shift>) -> DrawResult {
        let c = self.c;
        let subtitle = format!(
            "{} — each variant minus the base, in percentage points, with 95% paired intervals",
            c.base.name
        );
        let area = draw_frame(
            root,
            raster,
            "Difference from the base scenario",
            &subtitle,
            &footer(c.runs, "runs per scenario", c.seed, &c.version),
            "common random numbers",
        )?;
        if self.slots.is_empty() || c.outcomes.is_empty() {
            return Ok(());
        }

        let (aw, ah) = area.dim_in_pixel();
        let (ax, ay) = area.get_base_pixel();
        let (num_a, num_b) = self.number_widths();
        let label_w = self.label_width();
        let numbers_w = num_a + 18 + num_b;
        let n = self.slots.len();
        // Rows take ROW px each; whatever is left over goes under the axis.
        let row_px = row_height(n, ROW, ah as i32 - TOP as i32 - BOTTOM as i32);
        let rows_h = n as i32 * row_px;
        let bottom = (ah as i32 - TOP as i32 - rows_h).max(BOTTOM as i32);

        // Range of the differences, zero included, on round ticks.
        let (mut lo, mut hi) = (0.0f64, 0.0f64);
        for v in 0..c.variants.len() {
            for o in 0..c.outcomes.len() {
                if let Some((_, l, h)) = self.point(v, o) {
                    lo = lo.min(l);
                    hi = hi.max(h);
                }
            }
        }
        let axis = nice_range(lo, hi, 8);
        let (x0, x1) = (axis.lo, axis.hi);

        let mut chart = ChartBuilder::on(&area)
            .margin_top(TOP)
            .margin_right((numbers_w + 24) as u32)
            .x_label_area_size(bottom as u32)
            .y_label_area_size((label_w + 20) as u32)
            .build_cartesian_2d(x0..x1, 0.0..n as f64)?;
        let span = x1 - x0;
        let x_fmt = |v: &f64| {
            let s = tick_label(*v, span);
            if s == "0" {
                s
            } else if *v > 0.0 {
                format!("+{s}")
            } else {
                with_minus_sign(s)
            }
        };
        draw_axes_with(
            root,
            raster,
            &mut chart,
            Axis {
                labels: axis.labels(),
                format: &x_fmt,
                title: Some("difference from the base (percentage points)".into()),
                grid: true,
            },
            Axis {
                labels: 0,
                format: &|_: &f64| String::new(),
                title: None,
                grid: false,
            },
        )?;

        let (xs, _) = chart.plotting_area().get_pixel_range();
        let centre = |k: usize| n as f64 - k as f64 - 0.5;
        let label_x = ax + 8;
        let num_x = xs.end + 24;
        let right = ax + aw as i32;
        let heading = TextSpec::new(12.5, MUTED).anchor(HPos::Left, VPos::Center);
        draw_text(
            root,
            raster,
            "change [95% CI]",
            (num_x, ay + TOP as i32 / 2),
            heading,
        )?;
        draw_text(
            root,
            raster,
            "base → variant",
            (num_x + num_a + 18, ay + TOP as i32 / 2),
            heading,
        )?;

        // The zero line, over each group's rows (not across the headings).
        let mut k = 0;
        while k < n {
            let start = k + 1;
            let mut end = start;
            while end < n && matches!(self.slots[end], Slot::Row { .. }) {
                end += 1;
            }
            if end > start {
                chart.draw_series(std::iter::once(PathElement::new(
                    vec![(0.0, centre(start) + 0.5), (0.0, centre(end - 1) - 0.5)],
                    ShapeStyle::from(&AXIS).stroke_width(2),
                )))?;
            }
            k = end;
        }

        for (k, slot) in self.slots.iter().enumerate() {
            let (_, cy) = chart.backend_coord(&(x0, centre(k)));
            match *slot {
                Slot::Heading(v) => {
                    let top = cy - row_px / 2 + 2;
                    root.draw(&Rectangle::new(
                        [(ax, top), (right, top + row_px - 4)],
                        BAND.filled(),
                    ))?;
                    root.draw(&Rectangle::new(
                        [(ax, top), (ax + 4, top + row_px - 4)],
                        series(v).filled(),
                    ))?;
                    let variant = &c.variants[v];
                    let changes = c.changes.get(v).map_or(0, Vec::len);
                    let file = variant.file.rsplit('/').next().unwrap_or(&variant.file);
                    let text = if c.variants.len() > 1 {
                        format!("Variant {}: {}", v + 1, variant.name)
                    } else {
                        format!("Variant: {}", variant.name)
                    };
                    let detail = format!(
                        "{file} · {changes} change{}",
                        if changes == 1 { "" } else { "s" }
                    );
                    let detail_w = text_width(&detail, 12.0);
                    let avail = right - label_x - 12 - detail_w - 24;
                    let text = ellipsize(&text, avail.max(80), 13.5);
                    let tw = text_width(&text, 13.5);
                    draw_text(
                        root,
                        raster,
                        &text,
                        (label_x + 4, cy),
                        TextSpec::new(13.5, TEXT).anchor(HPos::Left, VPos::Center),
                    )?;
                    if tw + 24 + detail_w <= right - label_x - 12 {
                        draw_text(
                            root,
                            raster,
                            &detail,
                            (label_x + 4 + tw + 16, cy),
                            TextSpec::new(12.0, MUTED).anchor(HPos::Left, VPos::Center),
                        )?;
                    }
                }
                Slot::Row { variant, outcome } => {
                    let o = &c.outcomes[outcome];
                    draw_text(
                        root,
                        raster,
                        &ellipsize(&o.label, label_w, LABEL_SIZE),
                        (label_x + 4, cy),
                        TextSpec::new(LABEL_SIZE, TEXT).anchor(HPos::Left, VPos::Center),
                    )?;
                    let Some((d, l, h)) = self.point(variant, outcome) else {
                        continue;
                    };
                    let colour = series(variant);
                    let y = centre(k);
                    let whisker = ShapeStyle::from(&colour).stroke_width(2);
                    let cap = 0.22;
                    chart.draw_series([
                        PathElement::new(vec![(l, y), (h, y)], whisker),
                        PathElement::new(vec![(l, y - cap), (l, y + cap)], whisker),
                        PathElement::new(vec![(h, y - cap), (h, y + cap)], whisker),
                    ])?;
                    chart.draw_series(std::iter::once(Circle::new((d, y), 5, colour.filled())))?;
                    let (a, b) = self.numbers(variant, outcome);
                    let spec = TextSpec::new(NUM_SIZE, TEXT).anchor(HPos::Left, VPos::Center);
                    draw_text(root, raster, &a, (num_x, cy), spec)?;
                    draw_text(
                        root,
                        raster,
                        &b,
                        (num_x + num_a + 18, cy),
                        spec.with_color(MUTED),
                    )?;
                }
            }
        }
        Ok(())
    }
}
