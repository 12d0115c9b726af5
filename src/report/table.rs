//! The summary table printed after a study: what a reader sees first.

use std::fmt::Write as _;

use crate::montecarlo::Summary;
use crate::report::format::{fixed_or_scientific, group_thousands, level, percent, LEVEL_DECIMALS};
use crate::terminal::escape_controls as shown;

/// Renders outcomes with intervals, decisions, events and metrics as aligned plain text.
/// Names and labels come from the scenario (or a `summary.json`): their control characters are
/// escaped before columns are measured, so a hostile label can neither reach the terminal nor
/// break the alignment.
pub fn render(summary: &Summary) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} ({} runs, seed {})",
        shown(&summary.scenario.name),
        group_thousands(summary.runs),
        summary.seed
    );
    if !summary.fixed.is_empty() {
        let fixed: Vec<String> = summary
            .fixed
            .iter()
            .map(|f| match &f.support {
                Some(support) if f.outside_support => {
                    format!("{} = {} (outside {support})", shown(&f.id), f.value)
                }
                _ => format!("{} = {}", shown(&f.id), f.value),
            })
            .collect();
        let _ = writeln!(out, "fixed: {}", fixed.join(", "));
    }
    out.push('\n');

    let width = summary
        .outcomes
        .iter()
        .map(|o| shown(&o.label).chars().count())
        .max()
        .unwrap_or(7)
        .max(7);
    let _ = writeln!(
        out,
        "{:<width$}  {:>11}  {:>17}  {:>8}",
        "Outcome", "probability", "95% interval", "runs"
    );
    for o in &summary.outcomes {
        let interval = format!("[{}, {}]", percent(o.ci95[0]), percent(o.ci95[1]));
        let _ = writeln!(
            out,
            "{:<width$}  {:>11}  {:>17}  {:>8}",
            shown(&o.label),
            percent(o.probability),
            interval,
            o.count
        );
    }

    if !summary.decisions.is_empty() {
        let _ = writeln!(out, "\nDecisions (share of all runs)");
        for d in &summary.decisions {
            let mut parts: Vec<String> = d
                .options
                .iter()
                .map(|o| format!("{} {}", shown(&o.id), percent(o.probability)))
                .collect();
            if d.not_taken > 0 {
                let share = d.not_taken as f64 / summary.runs.max(1) as f64;
                parts.push(format!("not taken {}", percent(share)));
            }
            let _ = writeln!(
                out,
                "  {} ({}): {}",
                shown(&d.id),
                shown(&d.actor),
                parts.join(", ")
            );
        }
    }

    if !summary.events.is_empty() {
        let width = summary
            .events
            .iter()
            .map(|e| shown(&e.id).len())
            .max()
            .unwrap_or(5)
            .max(5);
        let _ = writeln!(
            out,
            "\nEvents (mean count per run; share of runs with at least one)"
        );
        for e in &summary.events {
            let _ = writeln!(
                out,
                "  {:<width$}  {:>6.2}  {:>6}",
                shown(&e.id),
                e.mean_count,
                percent(e.share_fired)
            );
        }
    }

    let continuous: Vec<_> = summary.metrics.iter().filter(|m| !m.by_value()).collect();
    if !continuous.is_empty() {
        let width = continuous
            .iter()
            .map(|m| shown(&m.id).len())
            .max()
            .unwrap_or(6)
            .max(6);
        let rows: Vec<[String; 5]> = continuous
            .iter()
            .map(|m| {
                [
                    level(m.mean, spread(m)),
                    m.sd.map_or_else(
                        || "n/a".to_string(),
                        |sd| fixed_or_scientific(sd, LEVEL_DECIMALS),
                    ),
                    level(m.p05, spread(m)),
                    level(m.p50, spread(m)),
                    level(m.p95, spread(m)),
                ]
            })
            .collect();
        let cell = rows
            .iter()
            .flatten()
            .map(String::len)
            .max()
            .unwrap_or(9)
            .max(9);
        let _ = writeln!(
            out,
            "\n{:<width$}  {:>cell$}  {:>cell$}  {:>cell$}  {:>cell$}  {:>cell$}  unit",
            "Metric (end of run)",
            "mean",
            "sd",
            "p05",
            "p50",
            "p95",
            width = width.max(19)
        );
        for (m, [mean, sd, p05, p50, p95]) in continuous.iter().zip(&rows) {
            let _ = writeln!(
                out,
                "{:<width$}  {mean:>cell$}  {sd:>cell$}  {p05:>cell$}  {p50:>cell$}  {p95:>cell$}  {}",
                shown(&m.id),
                shown(&m.unit),
                width = width.max(19)
            );
        }
        for m in &continuous {
            if let Some(note) = m.accuracy_note() {
                let _ = writeln!(out, "  note: {note}");
            }
        }
    }
    render_values(&mut out, summary);
    out
}

/// Count and categorical metrics: the share of runs at each value, with its interval.
fn render_values(out: &mut String, summary: &Summary) {
    let metrics: Vec<_> = summary.metrics.iter().filter(|m| m.by_value()).collect();
    if metrics.is_empty() {
        return;
    }
    let named = |value: f64, label: &str| {
        if label.is_empty() {
            value.to_string()
        } else {
            format!("{value} {}", shown(label))
        }
    };
    let rows: Vec<Vec<[String; 4]>> = metrics
        .iter()
        .map(|m| {
            let mut rows: Vec<[String; 4]> = m
                .values
                .iter()
                .map(|v| {
                    [
                        named(v.value, &v.label),
                        percent(v.share),
                        format!("[{}, {}]", percent(v.ci95[0]), percent(v.ci95[1])),
                        v.count.to_string(),
                    ]
                })
                .collect();
            if let Some(o) = &m.other {
                rows.push([
                    "other".into(),
                    percent(o.share),
                    format!("[{}, {}]", percent(o.ci95[0]), percent(o.ci95[1])),
                    o.count.to_string(),
                ]);
            }
            rows
        })
        .collect();
    // Values are indented under their metric's name; the header spans the indent.
    let width = rows
        .iter()
        .flatten()
        .map(|r| r[0].chars().count())
        .max()
        .unwrap_or(0)
        .max(22);
    let _ = writeln!(
        out,
        "\n{:<header$}  {:>6}  {:>17}  {:>8}",
        "Metric values (end of run)",
        "share",
        "95% interval",
        "runs",
        header = width + 4
    );
    for (m, rows) in metrics.iter().zip(&rows) {
        // "(unit, mean 10.0)", or as much of it as there is.
        let mut about: Vec<String> = Vec::new();
        if !m.unit.trim().is_empty() {
            about.push(shown(&m.unit).into_owned());
        }
        if m.kind == "count" {
            about.push(format!("mean {}", level(m.mean, spread(m))));
        }
        let about = if about.is_empty() {
            String::new()
        } else {
            format!(" ({})", about.join(", "))
        };
        let _ = writeln!(out, "  {}{about}", shown(&m.id));
        for [value, share, interval, runs] in rows {
            let _ = writeln!(
                out,
                "    {value:<width$}  {share:>6}  {interval:>17}  {runs:>8}"
            );
        }
    }
    for m in &metrics {
        if let Some(note) = m.other_note() {
            let _ = writeln!(out, "  note: {note}");
        }
    }
}

/// How far apart a metric's values are: what its printed levels must resolve.
fn spread(m: &crate::montecarlo::summary::MetricSummary) -> f64 {
    (m.p95 - m.p05).max(m.sd.unwrap_or(0.0))
}
