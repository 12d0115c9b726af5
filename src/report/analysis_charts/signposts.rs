//! `signposts`: one row per sign, best first: the outcome's probability if the sign is seen and
//! if it is not, each with its 95% interval, around the outcome's share of all runs; on the
//! left what the sign is and when, on the right the share of the outcome's variance it resolves.

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, VPos};

use super::super::charts::style::{MUTED, TEXT};
use super::super::charts::{
    draw_axes_with, draw_frame, draw_text, ellipsize, Axis, DrawResult, TextSpec,
};
use super::{
    footer, legend_swatch, probability_axis, row_height, series, subtitle_fitting, AnalysisChart,
    FRAME_HEIGHT, MIN_LIST_HEIGHT, WIDTH,
};
use crate::analysis::signposts::{Signpost, Signposts};
use crate::report::format::{percent, percent_tick_label};

pub(crate) struct SignpostsChart<'a> {
    s: &'a Signposts,
    scenario: &'a str,
}

/// At most this many rows (the best signs).
const MAX_ROWS: usize = 12;
const ROW: u32 = 46;
const LABEL_SIZE: f64 = 13.0;
const DETAIL_SIZE: f64 = 11.5;
const TOP: u32 = 34;
const BOTTOM: u32 = 58;
const LABEL_W: i32 = 400;
const SCORE_W: i32 = 150;

fn seen_colour() -> RGBColor {
    series(1)
}
fn unseen_colour() -> RGBColor {
    series(0)
}

impl<'a> SignpostsChart<'a> {
    pub fn new(s: &'a Signposts, scenario: &'a str) -> Self {
        SignpostsChart { s, scenario }
    }

    fn shown(&self) -> &[Signpost] {
        &self.s.signposts[..self.s.signposts.len().min(MAX_ROWS)]
    }
}

/// The sign without the outcome's part: what an analyst watches for.
fn sign_words(p: &Signpost) -> &str {
    let text = p.description.strip_prefix("if ").unwrap_or(&p.description);
    text.rsplit_once(", “").map_or(text, |(sign, _)| sign)
}

impl AnalysisChart for SignpostsChart<'_> {
    fn name(&self) -> &'static str {
        super::SIGNPOSTS_CHART
    }

    fn size(&self) -> (u32, u32) {
        let h = FRAME_HEIGHT + TOP + 6 + ROW * self.shown().len().max(1) as u32 + BOTTOM;
        (WIDTH, h.max(MIN_LIST_HEIGHT))
    }

    fn draw<DB: DrawingBackend>(&self, raster: bool, root: &DrawingArea<DB, Shift>) -> DrawResult {
        let s = self.s;
        let shown = self.shown();
        let more = if s.signposts.len() > shown.len() {
            format!(" · best {} of {} signs", shown.len(), s.signposts.len())
        } else {
            String::new()
        };
        let subtitle = subtitle_fitting(
            &[
                format!(
                    "{} — “{}”, {} of runs; signs read before {}, measured on runs they were not chosen on{more}",
                    self.scenario,
                    s.outcome_label,
                    percent(s.share),
                    s.horizon
                ),
                format!("{} — “{}”{more}", self.scenario, s.outcome_label),
            ],
            self.size().0,
        );
        let area = draw_frame(
            root,
            raster,
            "Signposts: what to watch",
            &subtitle,
            &footer(s.runs, "runs", s.seed, &s.version),
            "ranked by the expected fall of the Brier score",
        )?;
        let (ax, ay) = area.get_base_pixel();
        let (aw, ah) = area.dim_in_pixel();
        let mid = ay + 10;
        let x = legend_swatch(
            root,
            raster,
            (ax + 8, mid),
            seen_colour(),
            "if the sign is seen",
        )?;
        let x = legend_swatch(root, raster, (x, mid), unseen_colour(), "if it is not")?;
        root.draw(&PathElement::new(
            vec![(x, mid - 8), (x, mid + 8)],
            ShapeStyle::from(&TEXT).stroke_width(2),
        ))?;
        let spec = TextSpec::new(12.5, TEXT).anchor(HPos::Left, VPos::Center);
        draw_text(
            root,
            raster,
            &format!("all runs: {}", percent(s.share)),
            (x + 8, mid),
            spec,
        )?;
        let right = TextSpec::new(12.5, MUTED).anchor(HPos::Right, VPos::Center);
        draw_text(
            root,
            raster,
            "as likely · variance resolved",
            (ax + aw as i32 - 8, mid),
            right,
        )?;
        if shown.is_empty() {
            draw_text(
                root,
                raster,
                &ellipsize(
                    &format!(
                        "No signpost: {}.",
                        s.note.as_deref().unwrap_or("no sign to watch")
                    ),
                    aw as i32 - 16,
                    LABEL_SIZE,
                ),
                (ax + 8, mid + 40),
                TextSpec::new(LABEL_SIZE, MUTED),
            )?;
            return Ok(());
        }
        let highest = shown
            .iter()
            .flat_map(|p| [p.ci95_if_true[1], p.ci95_if_false[1]])
            .fold(s.share, f64::max);
        let axis = probability_axis(highest);
        let n = shown.len();
        let rows_h = n as i32 * row_height(n, ROW, ah as i32 - TOP as i32 - BOTTOM as i32);
        let bottom = (ah as i32 - TOP as i32 - rows_h).max(BOTTOM as i32);
        let mut chart = ChartBuilder::on(&area)
            .margin_top(TOP)
            .margin_right((SCORE_W + 12) as u32)
            .x_label_area_size(bottom as u32)
            .y_label_area_size((8 + LABEL_W + 16) as u32)
            .build_cartesian_2d(axis.lo..axis.hi, 0.0..n as f64)?;
        let span = axis.hi - axis.lo;
        draw_axes_with(
            root,
            raster,
            &mut chart,
            Axis {
                labels: axis.labels(),
                format: &|v: &f64| percent_tick_label(*v, span),
                title: Some("probability of the outcome (% of runs)".to_string()),
                grid: true,
            },
            Axis {
                labels: 0,
                format: &|_: &f64| String::new(),
                title: None,
                grid: false,
            },
        )?;
        chart.draw_series(std::iter::once(PathElement::new(
            vec![(s.share, 0.0), (s.share, n as f64)],
            ShapeStyle::from(&TEXT).stroke_width(2),
        )))?;
        for (k, p) in shown.iter().enumerate() {
            let y = n as f64 - k as f64 - 0.5;
            let (_, cy) = chart.backend_coord(&(axis.lo, y));
            draw_text(
                root,
                raster,
                &ellipsize(sign_words(p), LABEL_W, LABEL_SIZE),
                (ax + 8, cy - 8),
                TextSpec::new(LABEL_SIZE, TEXT).anchor(HPos::Left, VPos::Center),
            )?;
            let detail = format!(
                "{} days ahead · seen in {} of runs",
                p.lead_days,
                percent(p.share_true)
            );
            draw_text(
                root,
                raster,
                &ellipsize(&detail, LABEL_W, DETAIL_SIZE),
                (ax + 8, cy + 9),
                TextSpec::new(DETAIL_SIZE, MUTED).anchor(HPos::Left, VPos::Center),
            )?;
            // The two probabilities joined, each with its interval.
            chart.draw_series(std::iter::once(PathElement::new(
                vec![(p.probability_if_false, y), (p.probability_if_true, y)],
                ShapeStyle::from(&MUTED).stroke_width(2),
            )))?;
            for (value, ci, colour, dy) in [
                (
                    p.probability_if_false,
                    p.ci95_if_false,
                    unseen_colour(),
                    -0.12,
                ),
                (p.probability_if_true, p.ci95_if_true, seen_colour(), 0.12),
            ] {
                chart.draw_series(std::iter::once(PathElement::new(
                    vec![(ci[0], y + dy), (ci[1], y + dy)],
                    ShapeStyle::from(&colour).stroke_width(2),
                )))?;
                chart.draw_series(std::iter::once(Circle::new((value, y), 6, colour.filled())))?;
            }
            draw_text(
                root,
                raster,
                &format!("×{:.1} · {}", p.ratio, percent(p.share_resolved)),
                (ax + aw as i32 - 8, cy),
                TextSpec::new(LABEL_SIZE, TEXT).anchor(HPos::Right, VPos::Center),
            )?;
        }
        Ok(())
    }
}
