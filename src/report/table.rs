//! The summary table printed after a study: what a reader sees first.

use std::fmt::Write as _;

use crate::montecarlo::Summary;
use crate::terminal::escape_controls as shown;

fn percent(p: f64) -> String {
    format!("{:.1}%", 100.0 * p)
}

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

    if !summary.metrics.is_empty() {
        let width = summary
            .metrics
            .iter()
            .map(|m| shown(&m.id).len())
            .max()
            .unwrap_or(6)
            .max(6);
        let _ = writeln!(
            out,
            "\n{:<width$}  {:>9}  {:>9}  {:>9}  {:>9}  {:>9}  unit",
            "Metric (end of run)",
            "mean",
            "sd",
            "p05",
            "p50",
            "p95",
            width = width.max(19)
        );
        for m in &summary.metrics {
            let _ = writeln!(
                out,
                "{:<width$}  {:>9}  {:>9}  {:>9}  {:>9}  {:>9}  {}",
                shown(&m.id),
                num(m.mean),
                m.sd.map_or_else(|| "n/a".to_string(), num),
                num(m.p05),
                num(m.p50),
                num(m.p95),
                shown(&m.unit),
                width = width.max(19)
            );
        }
        for m in &summary.metrics {
            if let Some(note) = m.accuracy_note() {
                let _ = writeln!(out, "  note: {note}");
            }
        }
    }
    out
}

fn num(v: f64) -> String {
    if v != 0.0 && (v.abs() >= 1e5 || v.abs() < 1e-3) {
        format!("{v:.3e}")
    } else {
        format!("{v:.3}")
    }
}

fn group_thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}
