//! `sweep_heatmap`: for a two-parameter sweep, the main outcome's probability over the grid as
//! a heatmap, with a colour scale and, on small grids, the values printed in the cells.

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, VPos};

use super::super::charts::style::{ink_on, AXIS, MUTED, TEXT};
use super::super::charts::{draw_frame, draw_text, ellipsize, text_width, DrawResult, TextSpec};
use super::{footer, probability_axis, AnalysisChart, FRAME_HEIGHT, WIDTH};
use crate::analysis::sweep::{Axis, Sweep};
use crate::report::format::{percent, percent_tick_label, tick_label, with_minus_sign};

pub(crate) struct HeatmapChart<'a> {
    s: &'a Sweep,
    /// Index of the outcome shown.
    main: usize,
}

/// Values are printed in the cells of grids up to this size (each way).
const MAX_PRINTED: usize = 12;
/// Room right of the heatmap for the colour scale.
const SCALE_W: i32 = 128;
const TICK_SIZE: f64 = 13.0;

/// Sequential light-to-dark scale (ColorBrewer YlGnBu): more likely is darker.
const RAMP: [(u8, u8, u8); 7] = [
    (255, 255, 217),
    (199, 233, 180),
    (127, 205, 187),
    (65, 182, 196),
    (29, 145, 192),
    (34, 94, 168),
    (12, 44, 132),
];

/// Colour of `t` in 0..1 on [`RAMP`].
fn ramp(t: f64) -> RGBColor {
    let t = if t.is_finite() {
        t.clamp(0.0, 1.0)
    } else {
        0.0
    };
    let at = t * (RAMP.len() - 1) as f64;
    let i = (at.floor() as usize).min(RAMP.len() - 2);
    let f = at - i as f64;
    let (a, b) = (RAMP[i], RAMP[i + 1]);
    let mix = |x: u8, y: u8| (f64::from(x) + (f64::from(y) - f64::from(x)) * f).round() as u8;
    RGBColor(mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2))
}

fn axis_title(a: &Axis) -> String {
    if a.unit.trim().is_empty() {
        a.label.clone()
    } else {
        format!("{} ({})", a.label, a.unit)
    }
}

fn tick_labels(a: &Axis) -> Vec<String> {
    let lo = a.values.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = a.values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let span = if hi > lo { hi - lo } else { 1.0 };
    // Ticks are the grid values themselves: enough digits to tell neighbours apart.
    let step = span / (a.values.len().max(2) - 1) as f64;
    a.values
        .iter()
        .map(|v| with_minus_sign(tick_label(*v, step * 10.0)))
        .collect()
}

impl<'a> HeatmapChart<'a> {
    pub fn new(s: &'a Sweep, main: usize) -> Self {
        HeatmapChart { s, main }
    }

    /// Probability of the main outcome at grid cell (i along the first axis, j along the
    /// second); points are stored with the last axis varying fastest.
    fn value(&self, i: usize, j: usize) -> Option<f64> {
        let n1 = self.s.axes.get(1)?.values.len();
        let p = self.s.points.get(i * n1 + j)?;
        Some(p.outcomes.get(self.main)?.probability)
    }
}

impl AnalysisChart for HeatmapChart<'_> {
    fn name(&self) -> &'static str {
        super::SWEEP_HEATMAP_CHART
    }

    fn size(&self) -> (u32, u32) {
        (WIDTH, FRAME_HEIGHT + 620)
    }

    fn draw<DB: DrawingBackend>(&self, raster: bool, root: &DrawingArea<DB, Shift>) -> DrawResult {
        let s = self.s;
        let (Some(ax), Some(ay)) = (s.axes.first(), s.axes.get(1)) else {
            return Ok(());
        };
        let label = s
            .points
            .first()
            .and_then(|p| p.outcomes.get(self.main))
            .map_or_else(String::new, |o| o.label.clone());
        let subtitle = format!(
            "{} — probability of “{}” with both parameters held at each grid point",
            s.scenario, label
        );
        let area = draw_frame(
            root,
            raster,
            "How the main outcome depends on two parameters",
            &subtitle,
            &footer(s.runs_per_point, "runs per point", s.seed, &s.version),
            "common random numbers across points",
        )?;
        let (n0, n1) = (ax.values.len(), ay.values.len());
        if n0 == 0 || n1 == 0 {
            return Ok(());
        }
        let x_ticks = tick_labels(ax);
        let y_ticks = tick_labels(ay);
        let y_tick_w = y_ticks
            .iter()
            .map(|t| text_width(t, TICK_SIZE))
            .max()
            .unwrap_or(0);

        let highest = (0..n0)
            .flat_map(|i| (0..n1).filter_map(move |j| self.value(i, j)))
            .fold(0.0f64, f64::max);
        let scale = probability_axis(highest);
        let top = scale.hi;

        let chart = ChartBuilder::on(&area)
            .margin_top(14)
            .margin_right(SCALE_W as u32)
            .x_label_area_size(60)
            .y_label_area_size((y_tick_w + 46) as u32)
            .build_cartesian_2d(0.0..n0 as f64, 0.0..n1 as f64)?;
        let (xs, ys) = chart.plotting_area().get_pixel_range();
        let cell_w = (xs.end - xs.start) as f64 / n0 as f64;
        let cell_h = (ys.end - ys.start) as f64 / n1 as f64;

        // Cells, with their values when the grid is small enough to read them.
        let print = n0 <= MAX_PRINTED && n1 <= MAX_PRINTED;
        let size = (cell_h * 0.42).clamp(9.0, 13.0);
        for i in 0..n0 {
            for j in 0..n1 {
                let Some(p) = self.value(i, j) else { continue };
                let colour = ramp(p / top);
                let (i, j) = (i as f64, j as f64);
                chart.plotting_area().draw(&Rectangle::new(
                    [(i, j), (i + 1.0, j + 1.0)],
                    colour.filled(),
                ))?;
                if print {
                    let text = percent(p);
                    if f64::from(text_width(&text, size)) <= cell_w - 6.0 && size + 4.0 <= cell_h {
                        let (cx, cy) = chart.backend_coord(&(i + 0.5, j + 0.5));
                        draw_text(
                            root,
                            raster,
                            &text,
                            (cx, cy),
                            TextSpec::new(size, ink_on(colour)).anchor(HPos::Center, VPos::Center),
                        )?;
                    }
                }
            }
        }
        // Thin white lines between cells, when cells are big enough for them to help.
        if cell_w >= 8.0 && cell_h >= 8.0 {
            for i in 1..n0 {
                let x = i as f64;
                chart
                    .plotting_area()
                    .draw(&PathElement::new(vec![(x, 0.0), (x, n1 as f64)], WHITE))?;
            }
            for j in 1..n1 {
                let y = j as f64;
                chart
                    .plotting_area()
                    .draw(&PathElement::new(vec![(0.0, y), (n0 as f64, y)], WHITE))?;
            }
        }
        root.draw(&Rectangle::new(
            [(xs.start, ys.start), (xs.end, ys.end)],
            ShapeStyle::from(&AXIS),
        ))?;

        // Tick labels at the cell centres, skipping any that would overlap.
        let tick = TextSpec::new(TICK_SIZE, TEXT);
        let mut last_right = i32::MIN;
        for (i, t) in x_ticks.iter().enumerate() {
            let (cx, _) = chart.backend_coord(&(i as f64 + 0.5, 0.0));
            let w = text_width(t, TICK_SIZE);
            if cx - w / 2 < last_right + 10 {
                continue;
            }
            last_right = cx + w / 2;
            root.draw(&PathElement::new(
                vec![(cx, ys.end), (cx, ys.end + 5)],
                AXIS,
            ))?;
            draw_text(
                root,
                raster,
                t,
                (cx, ys.end + 9),
                tick.anchor(HPos::Center, VPos::Top),
            )?;
        }
        let mut last_top = i32::MAX;
        for (j, t) in y_ticks.iter().enumerate() {
            let (_, cy) = chart.backend_coord(&(0.0, j as f64 + 0.5));
            if cy + 9 > last_top - 4 {
                continue;
            }
            last_top = cy - 9;
            root.draw(&PathElement::new(
                vec![(xs.start - 5, cy), (xs.start, cy)],
                AXIS,
            ))?;
            draw_text(
                root,
                raster,
                t,
                (xs.start - 9, cy),
                tick.anchor(HPos::Right, VPos::Center),
            )?;
        }
        let title = TextSpec::new(14.0, MUTED);
        draw_text(
            root,
            raster,
            &ellipsize(&axis_title(ax), xs.end - xs.start, 14.0),
            ((xs.start + xs.end) / 2, ys.end + 32),
            title.anchor(HPos::Center, VPos::Top),
        )?;
        draw_text(
            root,
            raster,
            &ellipsize(&axis_title(ay), ys.end - ys.start, 14.0),
            (xs.start - 9 - y_tick_w - 16, (ys.start + ys.end) / 2),
            title.anchor(HPos::Center, VPos::Center).upward(),
        )?;

        // The colour scale.
        let bx = xs.end + 26;
        let bw = 18;
        let (b_top, b_bottom) = (ys.start, ys.end);
        let steps = (b_bottom - b_top).max(1);
        for k in 0..steps {
            // Row k from the bottom.
            let t = (f64::from(k) + 0.5) / f64::from(steps);
            let y = b_bottom - k;
            root.draw(&Rectangle::new(
                [(bx, y - 1), (bx + bw, y)],
                ramp(t).filled(),
            ))?;
        }
        root.draw(&Rectangle::new(
            [(bx, b_top), (bx + bw, b_bottom)],
            ShapeStyle::from(&AXIS),
        ))?;
        let mut widest = 0;
        for k in 0..scale.labels() {
            let v = (k as f64 * scale.step).min(top);
            let y = b_bottom - ((v / top) * f64::from(b_bottom - b_top)).round() as i32;
            root.draw(&PathElement::new(
                vec![(bx + bw, y), (bx + bw + 4, y)],
                AXIS,
            ))?;
            let text = percent_tick_label(v, top);
            widest = widest.max(text_width(&text, 12.5));
            draw_text(
                root,
                raster,
                &text,
                (bx + bw + 7, y),
                TextSpec::new(12.5, TEXT).anchor(HPos::Left, VPos::Center),
            )?;
        }
        draw_text(
            root,
            raster,
            &ellipsize(&format!("probability of “{label}”"), b_bottom - b_top, 13.0),
            (bx + bw + 7 + widest + 18, (b_top + b_bottom) / 2),
            TextSpec::new(13.0, MUTED)
                .anchor(HPos::Center, VPos::Center)
                .upward(),
        )?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ramp_goes_from_light_to_dark() {
        let l = |c: RGBColor| u32::from(c.0) + u32::from(c.1) + u32::from(c.2);
        let mut last = u32::MAX;
        for k in 0..=20 {
            let c = ramp(f64::from(k) / 20.0);
            assert!(l(c) <= last);
            last = l(c);
        }
        assert_eq!(ramp(0.0), RGBColor(255, 255, 217));
        assert_eq!(ramp(1.0), RGBColor(12, 44, 132));
        assert_eq!(ramp(f64::NAN), ramp(0.0));
    }
}
