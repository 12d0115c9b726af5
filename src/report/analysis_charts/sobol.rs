//! `sobol`: first-order and total Sobol indices per parameter as paired horizontal bars with
//! their bootstrap 95% intervals, sorted by total index (largest on top).

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, VPos};

use super::super::charts::style::{AXIS, MUTED, TEXT};
use super::super::charts::{
    draw_axes_with, draw_frame, draw_text, ellipsize, text_width, Axis, DrawResult, TextSpec,
};
use super::{
    footer, legend_swatch, nice_range, note, outcome_label, row_height, series, AnalysisChart,
    FRAME_HEIGHT, MIN_LIST_HEIGHT, WIDTH,
};
use crate::analysis::sensitivity::{Sobol, SobolIndex};
use crate::report::format::{group_thousands, tick_label, with_minus_sign};

pub(crate) struct SobolChart<'a> {
    s: &'a Sobol,
    scenario: &'a str,
}

/// At most this many parameters (the largest total indices).
const MAX_ROWS: usize = 30;
const ROW: u32 = 40;
const LABEL_SIZE: f64 = 13.5;
const NUM_SIZE: f64 = 12.0;
const TOP: u32 = 34;
const BOTTOM: u32 = 58;
const MAX_LABEL_W: i32 = 340;

fn first_colour() -> RGBColor {
    series(0)
}
fn total_colour() -> RGBColor {
    series(1)
}

/// The parameter's label, or its id if it has none.
fn label_of(i: &SobolIndex) -> &str {
    if i.label.trim().is_empty() {
        &i.parameter
    } else {
        &i.label
    }
}

/// `0.157 [0.023, 0.336]`.
fn with_interval(v: f64, ci: [f64; 2]) -> String {
    let f = |x: f64| {
        if x.is_finite() {
            with_minus_sign(format!("{x:.3}")).replace("−0.000", "0.000")
        } else {
            "–".to_string()
        }
    };
    format!("{} [{}, {}]", f(v), f(ci[0]), f(ci[1]))
}

impl<'a> SobolChart<'a> {
    pub fn new(s: &'a Sobol, scenario: &'a str) -> Self {
        SobolChart { s, scenario }
    }

    fn shown(&self) -> &[SobolIndex] {
        &self.s.indices[..self.s.indices.len().min(MAX_ROWS)]
    }

    fn label_width(&self) -> i32 {
        self.shown()
            .iter()
            .map(|i| text_width(label_of(i), LABEL_SIZE).max(text_width(&i.parameter, 11.5)))
            .max()
            .unwrap_or(0)
            .clamp(60, MAX_LABEL_W)
    }

    fn numbers_width(&self) -> i32 {
        self.shown()
            .iter()
            .flat_map(|i| {
                [
                    format!("S {}", with_interval(i.first_order, i.first_order_ci95)),
                    format!("ST {}", with_interval(i.total, i.total_ci95)),
                ]
            })
            .map(|t| text_width(&t, NUM_SIZE))
            .max()
            .unwrap_or(0)
    }
}

impl AnalysisChart for SobolChart<'_> {
    fn name(&self) -> &'static str {
        super::SOBOL_CHART
    }

    fn size(&self) -> (u32, u32) {
        let h = FRAME_HEIGHT + TOP + 6 + ROW * self.shown().len() as u32 + BOTTOM;
        (WIDTH, h.max(MIN_LIST_HEIGHT))
    }

    fn draw<DB: DrawingBackend>(&self, raster: bool, root: &DrawingArea<DB, Shift>) -> DrawResult {
        let s = self.s;
        let shown = self.shown();
        let more = if s.indices.len() > shown.len() {
            format!(" · top {} of {} parameters", shown.len(), s.indices.len())
        } else {
            String::new()
        };
        let target = match outcome_label(&s.target_label) {
            Some(label) => format!("whether “{label}” happens"),
            None => s.target_label.clone(),
        };
        let subtitle = format!(
            "{} — share of the variance of {target} due to each parameter{more}",
            self.scenario
        );
        let area = draw_frame(
            root,
            raster,
            "Sobol sensitivity indices",
            &subtitle,
            &format!(
                "{} base rows · {}",
                group_thousands(s.base_rows),
                footer(s.model_runs, "model runs", s.seed, &s.version)
            ),
            &format!(
                "Saltelli design · {} bootstrap resamples",
                group_thousands(s.bootstrap_resamples as u64)
            ),
        )?;

        let (ax, ay) = area.get_base_pixel();
        let (aw, ah) = area.dim_in_pixel();
        let mid = ay + 10;
        let x = legend_swatch(
            root,
            raster,
            (ax + 8, mid),
            first_colour(),
            "first order S (the parameter alone)",
        )?;
        let x = legend_swatch(
            root,
            raster,
            (x, mid),
            total_colour(),
            "total ST (with its interactions)",
        )?;
        let sum: f64 = s.indices.iter().map(|i| i.first_order).sum();
        let text = format!("whiskers: 95% bootstrap intervals · sum of S: {sum:.2}");
        if x + text_width(&text, 12.5) < ax + aw as i32 {
            note(root, raster, (x, mid), &text)?;
        }
        if shown.is_empty() {
            return Ok(());
        }

        let finite = |v: f64| if v.is_finite() { Some(v) } else { None };
        let lo = shown
            .iter()
            .flat_map(|i| [i.first_order, i.first_order_ci95[0], i.total_ci95[0]])
            .filter_map(finite)
            .fold(0.0f64, f64::min);
        let hi = shown
            .iter()
            .flat_map(|i| [i.total, i.first_order_ci95[1], i.total_ci95[1]])
            .filter_map(finite)
            .fold(0.1f64, f64::max);
        let axis = nice_range(lo, hi, 8);
        let (x0, x1) = (axis.lo, axis.hi);
        let label_w = self.label_width();
        let numbers_w = self.numbers_width();
        let n = shown.len();
        let rows_h = n as i32 * row_height(n, ROW, ah as i32 - TOP as i32 - BOTTOM as i32);
        let bottom = (ah as i32 - TOP as i32 - rows_h).max(BOTTOM as i32);
        let mut chart = ChartBuilder::on(&area)
            .margin_top(TOP)
            .margin_right((numbers_w + 28) as u32)
            .x_label_area_size(bottom as u32)
            .y_label_area_size((8 + label_w + 18) as u32)
            .build_cartesian_2d(x0..x1, 0.0..n as f64)?;
        let span = x1 - x0;
        let x_fmt = |v: &f64| with_minus_sign(tick_label(*v, span));
        draw_axes_with(
            root,
            raster,
            &mut chart,
            Axis {
                labels: axis.labels(),
                format: &x_fmt,
                title: Some("Sobol index (share of the target's variance)".into()),
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
        let bar = 0.17;
        let whisker = ShapeStyle::from(&TEXT).stroke_width(1);
        for (k, idx) in shown.iter().enumerate() {
            let y = centre(k);
            let (_, cy) = chart.backend_coord(&(x0, y));
            // The label, and the id under it (unless the id is the label).
            let labelled = !idx.label.trim().is_empty();
            draw_text(
                root,
                raster,
                &ellipsize(label_of(idx), label_w, LABEL_SIZE),
                (ax + 8, if labelled { cy - 7 } else { cy }),
                TextSpec::new(LABEL_SIZE, TEXT).anchor(HPos::Left, VPos::Center),
            )?;
            if labelled {
                draw_text(
                    root,
                    raster,
                    &ellipsize(&idx.parameter, label_w, 11.5),
                    (ax + 8, cy + 9),
                    TextSpec::new(11.5, MUTED).anchor(HPos::Left, VPos::Center),
                )?;
            }
            let pairs = [
                (
                    y + bar + 0.02,
                    idx.first_order,
                    idx.first_order_ci95,
                    first_colour(),
                    "S",
                ),
                (
                    y - bar - 0.02,
                    idx.total,
                    idx.total_ci95,
                    total_colour(),
                    "ST",
                ),
            ];
            for (yc, v, ci, colour, name) in pairs {
                if v.is_finite() && v != 0.0 {
                    chart.draw_series(std::iter::once(Rectangle::new(
                        [(0.0, yc - bar), (v, yc + bar)],
                        colour.filled(),
                    )))?;
                }
                if ci[0].is_finite() && ci[1].is_finite() && ci[1] > ci[0] {
                    let cap = bar * 0.6;
                    chart.draw_series([
                        PathElement::new(vec![(ci[0], yc), (ci[1], yc)], whisker),
                        PathElement::new(vec![(ci[0], yc - cap), (ci[0], yc + cap)], whisker),
                        PathElement::new(vec![(ci[1], yc - cap), (ci[1], yc + cap)], whisker),
                    ])?;
                }
                let (_, ty) = chart.backend_coord(&(x0, yc));
                draw_text(
                    root,
                    raster,
                    &format!("{name} {}", with_interval(v, ci)),
                    (xs.end + 22, ty),
                    TextSpec::new(NUM_SIZE, TEXT).anchor(HPos::Left, VPos::Center),
                )?;
            }
        }
        // Zero, over the bars.
        chart.draw_series(std::iter::once(PathElement::new(
            vec![(0.0, 0.0), (0.0, n as f64)],
            ShapeStyle::from(&AXIS).stroke_width(2),
        )))?;
        Ok(())
    }
}
