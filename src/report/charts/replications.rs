//! `replications`: for `run --replications R`, how each outcome's share of runs spreads over
//! the parameter sets (small multiples): a histogram of the sets' shares k / R, the mean and
//! the 5th and 95th percentiles marked, and under the outcome's name the inputs' share of a
//! run's variance. An outcome no run ended in has nothing to draw and gets no panel.

use plotters::coord::Shift;
use plotters::element::DashedPathElement;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, VPos};

use super::style::{palette, MUTED, TEXT};
use super::{
    draw_axes, draw_text, ellipsize, frame, grid, text_width, Axis, Chart, DrawResult, Study,
    TextSpec,
};
use crate::montecarlo::summary::{ReplicatedOutcome, ReplicationInfo};
use crate::report::format::{
    group_thousands, percent, percent_axis_label, percent_to, set_share_decimals, tick_label,
};

pub(crate) struct Replications;

use super::metrics::{MEAN, TAILS};
/// One bar per k up to this many runs a set; above, each bar holds several k, and there are at
/// most this many and one.
const MOST_BARS: u64 = 40;
/// Where the caption's lines and the legend start, below a panel's top.
const INPUTS_LINE: i32 = 27;
const LEGEND_TOP: i32 = 46;
const LEGEND_ROW: i32 = 17;

/// One panel: an outcome some run ended in.
struct Panel<'a> {
    /// Index in `summary.outcomes`: the outcome's colour, as in the outcomes chart.
    index: usize,
    label: &'a str,
    row: &'a ReplicatedOutcome,
}

impl Chart for Replications {
    fn name(&self) -> &'static str {
        "replications"
    }

    fn title(&self) -> &'static str {
        "Outcomes across parameter sets"
    }

    fn applies(&self, study: &Study) -> bool {
        !panels(study).0.is_empty()
    }

    fn size(&self, study: &Study) -> (u32, u32) {
        let (w, h) = study.size;
        let (rows, _) = grid(panels(study).0.len());
        (w, h.max(120 + 300 * rows as u32))
    }

    fn draw<DB: DrawingBackend>(&self, study: &Study, root: &DrawingArea<DB, Shift>) -> DrawResult {
        let Some(r) = &study.summary.replications else {
            return Ok(());
        };
        let (panels, skipped) = panels(study);
        let area = frame(root, study, self.title(), &subtitle(study, r, skipped))?;
        let (rows, cols) = grid(panels.len());
        let areas = area.split_evenly((rows, cols));
        let decimals = set_share_decimals(r.replications);
        let legends: Vec<Vec<LegendItem>> = panels
            .iter()
            .map(|p| legend_items(p.row, decimals))
            .collect();
        // Every panel's plot starts at the same height, under the tallest legend.
        let legend_rows = panels
            .iter()
            .zip(&legends)
            .zip(&areas)
            .map(|((_, items), a)| legend_layout(items, a.dim_in_pixel().0 as i32).1)
            .max()
            .unwrap_or(1);
        for ((p, items), panel) in panels.iter().zip(&legends).zip(&areas) {
            draw_panel(root, study, panel, p, r, items, legend_rows)?;
        }
        Ok(())
    }
}

/// The outcomes some run ended in, and how many were left out for having none.
fn panels<'a>(study: &Study<'a>) -> (Vec<Panel<'a>>, usize) {
    let s = study.summary;
    let Some(r) = &s.replications else {
        return (Vec::new(), 0);
    };
    let mut skipped = 0;
    let mut drawn = Vec::new();
    for (index, row) in r.outcomes.iter().enumerate() {
        if !row.sets_by_count.iter().any(|&[k, n]| k > 0 && n > 0) {
            skipped += 1;
            continue;
        }
        let label = s
            .outcomes
            .get(index)
            .filter(|o| o.id == row.id)
            .map_or(row.id.as_str(), |o| o.label.as_str());
        drawn.push(Panel { index, label, row });
    }
    (drawn, skipped)
}

/// The longest of the subtitles that fits beside the scenario's name, so that the count of
/// outcomes left out is not the part cut.
fn subtitle(study: &Study, r: &ReplicationInfo, skipped: usize) -> String {
    let sets = group_thousands(r.parameter_sets);
    let runs = group_thousands(r.replications);
    let left_out = match skipped {
        0 => String::new(),
        1 => "; 1 outcome no run ended in is not shown".to_string(),
        n => format!("; {n} outcomes no run ended in are not shown"),
    };
    let candidates = [
        format!("share of each parameter set's {runs} runs ending in the outcome, over {sets} sets{left_out}"),
        format!("{sets} parameter sets of {runs} runs{left_out}"),
    ];
    let usable = study.size.0 as i32 - 2 * super::style::PAGE_MARGIN;
    let name = &study.summary.scenario.name;
    candidates
        .iter()
        .find(|c| super::text::fits(&format!("{name} — {c}"), 15.0, usable))
        .unwrap_or(&candidates[1])
        .clone()
}

/// What a panel says under the outcome's name: the inputs' share of a run's variance.
fn inputs_text(row: &ReplicatedOutcome, sets: u64) -> String {
    match (row.input_share, row.input_share_ci95) {
        (Some(s), Some([lo, hi])) => format!(
            "inputs: {} of variance [{}–{}]",
            percent(s),
            percent(lo),
            percent(hi)
        ),
        (Some(s), None) => format!("inputs: {} of variance", percent(s)),
        (None, _) if sets < 2 => "one parameter set: no split of the variance".to_string(),
        (None, _) => "no variance".to_string(),
    }
}

/// The x axis's title: the run count a set has when it fits under the plot (`width` pixels),
/// which is the panel less the y axis's labels and the margins.
fn x_title(replications: u64, width: i32) -> String {
    let full = format!(
        "share of a set's {} runs ending in it",
        group_thousands(replications)
    );
    if super::text::fits(&full, 14.0, width) {
        full
    } else {
        "share of a set's runs ending in it".to_string()
    }
}

/// A legend entry: its text, colour and whether its line is dashed.
type LegendItem = (String, RGBColor, bool);

fn legend_items(row: &ReplicatedOutcome, decimals: usize) -> Vec<LegendItem> {
    vec![
        (
            format!("mean {}", percent_to(row.mean, decimals)),
            MEAN,
            false,
        ),
        (
            format!("5th pct {}", percent_to(row.p05, decimals)),
            TAILS,
            true,
        ),
        (
            format!("95th pct {}", percent_to(row.p95, decimals)),
            TAILS,
            true,
        ),
    ]
}

/// Where each legend item goes in a panel `width` wide (offset from the panel's left edge, and
/// its row), and how many rows they take: items wrap to a new row as in the metrics chart.
fn legend_layout(items: &[LegendItem], width: i32) -> (Vec<(i32, i32)>, i32) {
    let (mut x, mut row) = (14, 0);
    let mut at = Vec::with_capacity(items.len());
    for (text, _, _) in items {
        let item_w = 26 + text_width(text, 12.5);
        if x + item_w > width - 8 && x > 14 {
            x = 14;
            row += 1;
        }
        at.push((x, row));
        x += item_w + 14;
    }
    (at, row + 1)
}

/// The bars of a panel: the first and last k each holds, and the share of the sets at those k.
/// One bar per k up to [`MOST_BARS`] runs a set; above, runs of consecutive k, so that every k
/// is in one bar and a bar's width shows how many it holds.
fn bars(row: &ReplicatedOutcome, r: u64, sets: u64) -> Vec<(u64, u64, f64)> {
    let width = if r <= MOST_BARS {
        1
    } else {
        (r + 1).div_ceil(MOST_BARS)
    };
    let mut counts = vec![0u64; (r + 1).div_ceil(width) as usize];
    for &[k, n] in &row.sets_by_count {
        // The summary was checked (k <= R); a k past the end draws nothing rather than panic.
        if let Some(c) = counts.get_mut((k / width) as usize) {
            *c += n;
        }
    }
    let sets = sets.max(1) as f64;
    counts
        .iter()
        .enumerate()
        .filter(|(_, &c)| c > 0)
        .map(|(b, &c)| {
            let first = b as u64 * width;
            (first, (first + width - 1).min(r), c as f64 / sets)
        })
        .collect()
}

fn draw_panel<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    study: &Study,
    panel: &DrawingArea<DB, Shift>,
    p: &Panel,
    r: &ReplicationInfo,
    items: &[LegendItem],
    legend_rows: i32,
) -> DrawResult {
    let (pw, _) = panel.dim_in_pixel();
    let (px, py) = panel.get_base_pixel();
    let usable = pw as i32 - 24;
    let colour = palette(p.index);
    let row = p.row;

    draw_text(
        root,
        study.raster,
        &ellipsize(p.label, usable, 16.0),
        (px + 14, py + 6),
        TextSpec::new(16.0, TEXT),
    )?;
    draw_text(
        root,
        study.raster,
        &ellipsize(&inputs_text(row, r.parameter_sets), usable, 12.5),
        (px + 14, py + INPUTS_LINE),
        TextSpec::new(12.5, MUTED),
    )?;
    let (at, _) = legend_layout(items, pw as i32);
    for ((text, colour, dashed), (dx, line)) in items.iter().zip(at) {
        let (x, y) = (px + dx, py + LEGEND_TOP + line * LEGEND_ROW);
        let stroke = ShapeStyle::from(colour).stroke_width(2);
        let path = vec![(x, y + 8), (x + 20, y + 8)];
        if *dashed {
            root.draw(&DashedPathElement::new(path, 5, 3, stroke))?;
        } else {
            root.draw(&PathElement::new(path, stroke))?;
        }
        draw_text(
            root,
            study.raster,
            &ellipsize(text, usable - dx - 25, 12.5),
            (x + 25, y + 8),
            TextSpec::new(12.5, TEXT).anchor(HPos::Left, VPos::Center),
        )?;
    }
    let header = LEGEND_TOP + (legend_rows - 1) * LEGEND_ROW + 22;

    let reps = r.replications.max(1);
    let bars = bars(row, reps, r.parameter_sets);
    let y_max = bars.iter().map(|b| b.2).fold(0.0, f64::max).max(1e-9) * 1.12;
    // Half a step past 0 and 1, so that the bars at k = 0 and k = R are whole.
    let step = 1.0 / reps as f64;
    let (x0, x1) = (-step / 2.0, 1.0 + step / 2.0);
    let mut chart = ChartBuilder::on(panel)
        .margin_top(header)
        .margin_right(18)
        .margin_left(4)
        .margin_bottom(6)
        .x_label_area_size(46)
        .y_label_area_size(62)
        .build_cartesian_2d(x0..x1, 0.0..y_max)?;
    // No tick of a share below 0 or above 100%, where a wide padding may put one.
    let x_fmt = |v: &f64| {
        if (-1e-9..=1.0 + 1e-9).contains(v) {
            percent_axis_label(v)
        } else {
            String::new()
        }
    };
    let y_fmt = |v: &f64| tick_label(*v * 100.0, y_max * 100.0) + "%";
    draw_axes(
        root,
        study,
        &mut chart,
        Axis {
            labels: 6,
            format: &x_fmt,
            title: Some(x_title(r.replications, pw as i32 - 84)),
            grid: false,
        },
        Axis {
            labels: 6,
            format: &y_fmt,
            title: Some("share of parameter sets".into()),
            grid: true,
        },
    )?;

    chart.draw_series(bars.iter().map(|&(first, last, share)| {
        let (a, b) = ((first as f64 - 0.5) * step, (last as f64 + 0.5) * step);
        let mut bar = Rectangle::new([(a, 0.0), (b, share)], colour.mix(0.85).filled());
        bar.set_margin(0, 0, 1, 1);
        bar
    }))?;
    super::metrics::draw_markers(&mut chart, row.mean, [row.p05, row.p95], y_max)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(r: u64, sets_by_count: Vec<[u64; 2]>) -> ReplicatedOutcome {
        ReplicatedOutcome {
            id: "x".into(),
            mean: 0.0,
            p05: 0.0,
            p50: 0.0,
            p95: 0.0,
            input_variance: 0.0,
            chance_variance: 0.0,
            input_share: None,
            input_share_ci95: None,
            chance_in_spread: None,
            sets_by_count: sets_by_count.into_iter().filter(|&[k, _]| k <= r).collect(),
        }
    }

    #[test]
    fn up_to_forty_runs_a_set_each_k_has_its_bar_and_above_every_k_is_in_one_bar() {
        let few = bars(&row(20, vec![[0, 6], [3, 2], [20, 2]]), 20, 10);
        assert_eq!(few, vec![(0, 0, 0.6), (3, 3, 0.2), (20, 20, 0.2)]);
        // 200 runs a set: bars of 6 k (0-5, 6-11, ...), the last one holding 198-200.
        let many = bars(&row(200, vec![[0, 1], [5, 1], [6, 1], [200, 1]]), 200, 4);
        assert_eq!(many, vec![(0, 5, 0.5), (6, 11, 0.25), (198, 200, 0.25)]);
        for r in [41, 200, 999, 10_000] {
            let all: Vec<[u64; 2]> = (0..=r).map(|k| [k, 1]).collect();
            let b = bars(&row(r, all), r, r + 1);
            assert!(b.len() as u64 <= MOST_BARS + 1, "{r}: {} bars", b.len());
            assert_eq!(b.first().map(|b| b.0), Some(0));
            assert_eq!(b.last().map(|b| b.1), Some(r));
            assert!(b.windows(2).all(|w| w[1].0 == w[0].1 + 1), "{r}: no gap");
            let total: f64 = b.iter().map(|b| b.2).sum();
            assert!((total - 1.0).abs() < 1e-12);
        }
    }
}
