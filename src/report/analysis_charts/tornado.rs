//! `tornado`: one horizontal bar per parameter, from the target with the parameter at its 5th
//! percentile to the target with it at its 95th (the others at their medians), around the
//! baseline, largest swing on top. The parameter's two values are printed at the bar's ends.

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, VPos};

use super::super::charts::style::{MUTED, TEXT};
use super::super::charts::{
    draw_axes_with, draw_frame, draw_text, ellipsize, text_width, Axis, DrawResult, TextSpec,
};
use super::{
    footer, legend_swatch, nice_range, note, outcome_label, probability_axis, row_height, series,
    subtitle_fitting, AnalysisChart, FRAME_HEIGHT, MIN_LIST_HEIGHT, WIDTH,
};
use crate::analysis::sensitivity::{Tornado, TornadoBar};
use crate::report::format::{
    by_magnitude, percent, percent_tick_label, tick_label, with_minus_sign,
};

pub(crate) struct TornadoChart<'a> {
    t: &'a Tornado,
    scenario: &'a str,
}

/// At most this many bars (the largest swings).
const MAX_BARS: usize = 30;
const ROW: u32 = 38;
const LABEL_SIZE: f64 = 13.5;
const VALUE_SIZE: f64 = 12.0;
/// Above the bars: the legend.
const TOP: u32 = 34;
const BOTTOM: u32 = 58;
/// Widest the label column gets.
const MAX_LABEL_W: i32 = 360;

/// Colours of the two ends: the parameter at its 5th and at its 95th percentile.
fn low_colour() -> RGBColor {
    series(0)
}
fn high_colour() -> RGBColor {
    series(1)
}

impl<'a> TornadoChart<'a> {
    pub fn new(t: &'a Tornado, scenario: &'a str) -> Self {
        TornadoChart { t, scenario }
    }

    fn shown(&self) -> &[TornadoBar] {
        &self.t.bars[..self.t.bars.len().min(MAX_BARS)]
    }

    fn is_probability(&self) -> bool {
        self.t.target_kind == "outcome"
            || (self.t.target_kind.is_empty() && self.t.target_label.starts_with("P("))
    }

    fn label_width(&self) -> i32 {
        self.shown()
            .iter()
            .map(|b| {
                let (label, detail) = label_lines(b);
                text_width(label, LABEL_SIZE).max(text_width(&detail, 11.5))
            })
            .max()
            .unwrap_or(0)
            .clamp(60, MAX_LABEL_W)
    }

    /// Widest value printed at a bar's end.
    fn value_width(&self) -> i32 {
        self.shown()
            .iter()
            .flat_map(|b| [b.low_value, b.high_value])
            .map(|v| text_width(&with_minus_sign(by_magnitude(v)), VALUE_SIZE))
            .max()
            .unwrap_or(0)
    }
}

impl AnalysisChart for TornadoChart<'_> {
    fn name(&self) -> &'static str {
        super::TORNADO_CHART
    }

    fn size(&self) -> (u32, u32) {
        let h = FRAME_HEIGHT + TOP + 6 + ROW * self.shown().len() as u32 + BOTTOM;
        (WIDTH, h.max(MIN_LIST_HEIGHT))
    }

    fn draw<DB: DrawingBackend>(&self, raster: bool, root: &DrawingArea<DB, Shift>) -> DrawResult {
        let t = self.t;
        let shown = self.shown();
        let more = if t.bars.len() > shown.len() {
            format!(" · top {} of {} parameters", shown.len(), t.bars.len())
        } else {
            String::new()
        };
        let target = match outcome_label(&t.target_label) {
            Some(label) => format!("probability of “{label}”"),
            None => t.target_label.clone(),
        };
        let subtitle = subtitle_fitting(
            &[
                format!(
                    "{} — {target}, one parameter at a time at its 5th or 95th percentile, the others at their medians{more}",
                    self.scenario
                ),
                format!(
                    "{} — {target}, one parameter at a time at its 5th or 95th percentile{more}",
                    self.scenario
                ),
                format!("{} — {target}{more}", self.scenario),
            ],
            self.size().0,
        );
        let area = draw_frame(
            root,
            raster,
            "Tornado: what moves the result most",
            &subtitle,
            &footer(t.runs_per_point, "runs per point", t.seed, &t.version),
            "sorted by swing, largest on top",
        )?;
        let probability = self.is_probability();
        let fmt_value = |v: f64| {
            if probability && v > 0.0 && v < 0.01 {
                // Rare outcomes: one more digit.
                format!("{:.2}%", v * 100.0)
            } else if probability {
                percent(v)
            } else {
                with_minus_sign(by_magnitude(v))
            }
        };

        // Legend row.
        let (ax, ay) = area.get_base_pixel();
        let (aw, ah) = area.dim_in_pixel();
        let mid = ay + 10;
        let x = legend_swatch(
            root,
            raster,
            (ax + 8, mid),
            low_colour(),
            "parameter at its 5th percentile",
        )?;
        let x = legend_swatch(
            root,
            raster,
            (x, mid),
            high_colour(),
            "at its 95th percentile",
        )?;
        root.draw(&PathElement::new(
            vec![(x, mid - 8), (x, mid + 8)],
            ShapeStyle::from(&TEXT).stroke_width(2),
        ))?;
        let x = x + 8;
        let baseline_text = format!("baseline, all at medians: {}", fmt_value(t.baseline));
        let x = legend_swatch_text(root, raster, (x, mid), &baseline_text)?;
        if x < ax + aw as i32 - 200 {
            note(root, raster, (x, mid), "bar ends: the parameter's values")?;
        }
        if shown.is_empty() {
            return Ok(());
        }

        // Range of the target, baseline included; probabilities start at zero.
        let (lo, hi) = shown
            .iter()
            .flat_map(|b| [b.at_low, b.at_high])
            .filter(|v| v.is_finite())
            .fold((t.baseline, t.baseline), |(a, b), v| (a.min(v), b.max(v)));
        let label_w = self.label_width();
        let value_w = self.value_width();
        let n = shown.len();
        let rows_h = n as i32 * row_height(n, ROW, ah as i32 - TOP as i32 - BOTTOM as i32);
        let bottom = (ah as i32 - TOP as i32 - rows_h).max(BOTTOM as i32);
        let axis = if probability {
            probability_axis(hi.max(0.0))
        } else {
            nice_range(lo, hi, 8)
        };
        let (x0, x1) = (axis.lo, axis.hi);
        // The plot starts right of the labels and of a gutter for the values printed at the
        // bars' left ends.
        let mut chart = ChartBuilder::on(&area)
            .margin_top(TOP)
            .margin_right((value_w + 16) as u32)
            .x_label_area_size(bottom as u32)
            .y_label_area_size((8 + label_w + 16 + value_w + 10) as u32)
            .build_cartesian_2d(x0..x1, 0.0..n as f64)?;
        let span = x1 - x0;
        let x_fmt = |v: &f64| {
            if probability {
                percent_tick_label(*v, span)
            } else {
                with_minus_sign(tick_label(*v, span))
            }
        };
        let x_title = if probability {
            format!("{target} (% of runs)")
        } else if t.target_unit.trim().is_empty() {
            t.target_label.clone()
        } else {
            format!("{} ({})", t.target_label, t.target_unit)
        };
        draw_axes_with(
            root,
            raster,
            &mut chart,
            Axis {
                labels: axis.labels(),
                format: &x_fmt,
                title: Some(x_title),
                grid: true,
            },
            Axis {
                labels: 0,
                format: &|_: &f64| String::new(),
                title: None,
                grid: false,
            },
        )?;

        let centre = |k: usize| n as f64 - k as f64 - 0.5;
        let half = 0.3;
        for (k, b) in shown.iter().enumerate() {
            let y = centre(k);
            let (_, cy) = chart.backend_coord(&(x0, y));
            let (label, detail) = label_lines(b);
            draw_text(
                root,
                raster,
                &ellipsize(label, label_w, LABEL_SIZE),
                (ax + 8, if detail.is_empty() { cy } else { cy - 7 }),
                TextSpec::new(LABEL_SIZE, TEXT).anchor(HPos::Left, VPos::Center),
            )?;
            draw_text(
                root,
                raster,
                &ellipsize(&detail, label_w, 11.5),
                (ax + 8, cy + 9),
                TextSpec::new(11.5, MUTED).anchor(HPos::Left, VPos::Center),
            )?;

            // Each end's segment from the baseline; the longer first, so both show.
            let mut ends = [(b.at_low, low_colour()), (b.at_high, high_colour())];
            ends.sort_by(|a, b| {
                (b.0 - t.baseline)
                    .abs()
                    .total_cmp(&(a.0 - t.baseline).abs())
            });
            for (v, colour) in ends {
                if !v.is_finite() || v == t.baseline {
                    continue;
                }
                chart.draw_series(std::iter::once(Rectangle::new(
                    [(t.baseline.min(v), y - half), (t.baseline.max(v), y + half)],
                    colour.filled(),
                )))?;
            }

            // The parameter's values, left and right of the bar.
            let (low_text, high_text) = (
                with_minus_sign(by_magnitude(b.low_value)),
                with_minus_sign(by_magnitude(b.high_value)),
            );
            let low_on_left =
                b.at_low < b.at_high || (b.at_low == b.at_high && b.low_value <= b.high_value);
            let ((left_v, left_t, left_c), (right_v, right_t, right_c)) = if low_on_left {
                (
                    (b.at_low, low_text, low_colour()),
                    (b.at_high, high_text, high_colour()),
                )
            } else {
                (
                    (b.at_high, high_text, high_colour()),
                    (b.at_low, low_text, low_colour()),
                )
            };
            let left_end = left_v.min(t.baseline);
            let right_end = right_v.max(t.baseline);
            let (lx, _) = chart.backend_coord(&(left_end, y));
            let (rx, _) = chart.backend_coord(&(right_end, y));
            let spec = TextSpec::new(VALUE_SIZE, TEXT);
            draw_text(
                root,
                raster,
                &left_t,
                (lx - 6, cy),
                spec.with_color(darker(left_c))
                    .anchor(HPos::Right, VPos::Center),
            )?;
            draw_text(
                root,
                raster,
                &right_t,
                (rx + 6, cy),
                spec.with_color(darker(right_c))
                    .anchor(HPos::Left, VPos::Center),
            )?;
        }

        // The baseline over the bars.
        chart.draw_series(std::iter::once(PathElement::new(
            vec![(t.baseline, 0.0), (t.baseline, n as f64)],
            ShapeStyle::from(&TEXT).stroke_width(2),
        )))?;
        Ok(())
    }
}

/// A bar's label (the parameter's id if it has none) and the line under it: the id, if not
/// already the label, and the unit.
fn label_lines(b: &TornadoBar) -> (&str, String) {
    let unit = b.unit.trim();
    if b.label.trim().is_empty() {
        (&b.parameter, unit.to_string())
    } else if unit.is_empty() {
        (&b.label, b.parameter.clone())
    } else {
        (&b.label, format!("{} · {unit}", b.parameter))
    }
}

/// A darker shade of `c`, for text in a series' colour on white.
fn darker(c: RGBColor) -> RGBColor {
    let f = |x: u8| (f64::from(x) * 0.72).round() as u8;
    RGBColor(f(c.0), f(c.1), f(c.2))
}

fn legend_swatch_text<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    raster: bool,
    (x, y): (i32, i32),
    text: &str,
) -> Result<i32, super::super::charts::DrawError> {
    let spec = TextSpec::new(12.5, TEXT).anchor(HPos::Left, VPos::Center);
    draw_text(root, raster, text, (x, y), spec)?;
    Ok(x + text_width(text, 12.5) + 22)
}
