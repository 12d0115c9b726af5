//! `calibration`: one row per calibrated parameter, its prior (as written) above its posterior
//! (fitted to the cases): each a bar over the 90% interval with a dot at the mean. Each row has
//! its own scale, printed at its ends, since the parameters have different units.

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, VPos};

use super::super::charts::style::{MUTED, TEXT};
use super::super::charts::{draw_frame, draw_text, ellipsize, text_width, DrawResult, TextSpec};
use super::{footer, legend_swatch, series, AnalysisChart, FRAME_HEIGHT, MIN_LIST_HEIGHT, WIDTH};
use crate::analysis::calibrate::{CalibrationReport, Moments};
use crate::report::format::{by_magnitude, with_minus_sign};

pub(crate) struct CalibrationChart<'a> {
    r: &'a CalibrationReport,
}

const ROW: u32 = 56;
const TOP: u32 = 34;
const BOTTOM: u32 = 30;
const LABEL_SIZE: f64 = 13.5;
const VALUE_SIZE: f64 = 11.5;
const MAX_LABEL_W: i32 = 300;

impl<'a> CalibrationChart<'a> {
    pub fn new(r: &'a CalibrationReport) -> Self {
        CalibrationChart { r }
    }
}

impl AnalysisChart for CalibrationChart<'_> {
    fn name(&self) -> &'static str {
        super::CALIBRATION_CHART
    }

    fn size(&self) -> (u32, u32) {
        let h = FRAME_HEIGHT + TOP + ROW * self.r.parameters.len() as u32 + BOTTOM;
        (WIDTH, h.max(MIN_LIST_HEIGHT))
    }

    fn draw<DB: DrawingBackend>(&self, raster: bool, root: &DrawingArea<DB, Shift>) -> DrawResult {
        let r = self.r;
        let subtitle = format!(
            "{} cases · leave-one-out mean Brier {:.3}, time-ordered {:.3}, as written {:.3} · effective sample {:.0} runs",
            r.cases,
            r.leave_one_out.mean_brier,
            r.time_ordered.mean_brier,
            r.prior.mean_brier,
            r.effective_sample_size
        );
        let area = draw_frame(
            root,
            raster,
            "Calibration: each parameter before and after the cases",
            &subtitle,
            &footer(r.runs_per_case, "runs per case", r.seed, &r.version),
            "bars: 90% intervals · dots: means",
        )?;
        let (ax, ay) = area.get_base_pixel();
        let (aw, _) = area.dim_in_pixel();
        let mid = ay + 10;
        let x = legend_swatch(
            root,
            raster,
            (ax + 8, mid),
            prior_colour(),
            "prior, as written",
        )?;
        legend_swatch(
            root,
            raster,
            (x, mid),
            posterior_colour(),
            "posterior, fitted to the cases",
        )?;

        let label_w = r
            .parameters
            .iter()
            .map(|p| text_width(&p.id, LABEL_SIZE))
            .max()
            .unwrap_or(0)
            .clamp(60, MAX_LABEL_W);
        let value_gutter = 70;
        let left = ax + 8 + label_w + 16 + value_gutter;
        let right = ax + aw as i32 - value_gutter - 8;
        for (k, p) in r.parameters.iter().enumerate() {
            let top = ay + TOP as i32 + k as i32 * ROW as i32;
            let cy = top + ROW as i32 / 2;
            draw_text(
                root,
                raster,
                &ellipsize(&p.id, label_w, LABEL_SIZE),
                (ax + 8, cy),
                TextSpec::new(LABEL_SIZE, TEXT).anchor(HPos::Left, VPos::Center),
            )?;
            let lo = p.prior.q05.min(p.posterior.q05);
            let hi = p.prior.q95.max(p.posterior.q95);
            let pad = ((hi - lo) * 0.06).max(f64::MIN_POSITIVE);
            let (lo, hi) = (lo - pad, hi + pad);
            let to_x =
                |v: f64| left + ((v - lo) / (hi - lo) * (right - left) as f64).round() as i32;
            root.draw(&PathElement::new(
                vec![(left, cy), (right, cy)],
                ShapeStyle::from(&MUTED.mix(0.35)).stroke_width(1),
            ))?;
            for (m, dy, colour) in [
                (&p.prior, -9, prior_colour()),
                (&p.posterior, 9, posterior_colour()),
            ] {
                bar(root, m, cy + dy, colour, &to_x)?;
            }
            let spec = TextSpec::new(VALUE_SIZE, MUTED).anchor(HPos::Right, VPos::Center);
            draw_text(root, raster, &value(lo + pad), (left - 8, cy), spec)?;
            let spec = TextSpec::new(VALUE_SIZE, MUTED).anchor(HPos::Left, VPos::Center);
            draw_text(root, raster, &value(hi - pad), (right + 8, cy), spec)?;
        }
        Ok(())
    }
}

fn bar<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    m: &Moments,
    y: i32,
    colour: RGBColor,
    to_x: &dyn Fn(f64) -> i32,
) -> DrawResult {
    let (x0, x1) = (to_x(m.q05), to_x(m.q95));
    root.draw(&Rectangle::new(
        [(x0, y - 5), (x1.max(x0 + 2), y + 5)],
        colour.mix(0.55).filled(),
    ))?;
    root.draw(&Circle::new((to_x(m.mean), y), 5, colour.filled()))?;
    Ok(())
}

fn value(v: f64) -> String {
    with_minus_sign(by_magnitude(v))
}

fn prior_colour() -> RGBColor {
    series(0)
}

fn posterior_colour() -> RGBColor {
    series(1)
}
