//! The summary table printed after a study: what a reader sees first.

use std::fmt::Write as _;

use crate::montecarlo::Summary;
use crate::terminal::escape_controls as shown;

/// A share as a percentage to one decimal; a share that is not 0 or 1 never prints as 0.0 % or
/// 100.0 % (an interval [0.0 %, 0.0 %] would read as certainty that the outcome never happens).
fn percent(p: f64) -> String {
    if p > 0.0 && p < 0.0005 {
        "<0.1%".to_string()
    } else if p < 1.0 && p > 0.9995 {
        ">99.9%".to_string()
    } else {
        format!("{:.1}%", 100.0 * p)
    }
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
        let rows: Vec<[String; 5]> = summary
            .metrics
            .iter()
            .map(|m| {
                [
                    level(m.mean, spread(m)),
                    m.sd.map_or_else(|| "n/a".to_string(), num),
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
        for (m, [mean, sd, p05, p50, p95]) in summary.metrics.iter().zip(&rows) {
            let _ = writeln!(
                out,
                "{:<width$}  {mean:>cell$}  {sd:>cell$}  {p05:>cell$}  {p50:>cell$}  {p95:>cell$}  {}",
                shown(&m.id),
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

/// How far apart a metric's values are: what its printed levels must resolve.
fn spread(m: &crate::montecarlo::summary::MetricSummary) -> f64 {
    (m.p95 - m.p05).max(m.sd.unwrap_or(0.0))
}

/// A level (mean or quantile) with digits enough to tell values a thousandth of the spread
/// apart: four significant digits would print 1e7 + U(0, 1) as 1.000e7 for p05, p50 and p95.
pub(crate) fn level(v: f64, spread: f64) -> String {
    if !(spread > 0.0 && v != 0.0 && v.is_finite()) {
        return num(v);
    }
    let magnitude = v.abs().log10().floor();
    // The step of the last digit `num` prints: enough unless it is coarser than a tenth of the
    // spread.
    let plain_step = if v.abs() >= 1e5 || v.abs() < 1e-3 {
        10f64.powf(magnitude - 3.0)
    } else {
        1e-3
    };
    if plain_step <= spread / 10.0 {
        return num(v);
    }
    let resolution = (spread / 1000.0).log10().floor();
    if v.abs() < 1e15 && resolution >= -15.0 {
        let decimals = (-resolution).max(0.0) as usize;
        format!("{v:.decimals$}")
    } else {
        let digits = ((magnitude - resolution) as usize).min(16);
        format!("{v:.digits$e}")
    }
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

#[cfg(test)]
mod level_tests {
    use super::{level, percent};

    #[test]
    fn shares_that_are_not_zero_never_print_as_zero() {
        assert_eq!(percent(0.0), "0.0%");
        assert_eq!(percent(0.00038), "<0.1%");
        assert_eq!(percent(0.9999), ">99.9%");
        assert_eq!(percent(1.0), "100.0%");
        assert_eq!(percent(0.2345), "23.4%");
    }

    #[test]
    fn levels_far_from_zero_keep_the_digits_that_tell_them_apart() {
        // p05 and p95 of 1e7 + U(0, 1): four significant digits would print both as 1.000e7.
        let (p05, p95) = (level(1e7 + 0.0546, 0.9), level(1e7 + 0.952, 0.9));
        assert_ne!(p05, p95);
        assert_eq!(p05, "10000000.0546");
        // Ordinary metrics keep the short form.
        assert_eq!(level(0.453, 0.06), "0.453");
        assert_eq!(level(1.7e12, 0.0), "1.700e12");
    }
}
