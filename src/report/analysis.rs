//! Tables for the analyses: sweeps, sensitivity and comparisons.

use std::fmt::Write as _;

use crate::analysis::compare::Comparison;
use crate::analysis::sensitivity::{Sobol, Tornado};
use crate::analysis::sweep::Sweep;
use crate::report::format::{fixed_or_scientific, percent, signed_points};
use crate::terminal::escape_controls as shown;

/// One line per grid point: the parameter values and each outcome's probability.
pub fn render_sweep(sweep: &Sweep) -> String {
    let mut out = format!(
        "{}: sweep of {} ({} runs per point, seed {})\n\n",
        shown(&sweep.scenario),
        sweep
            .axes
            .iter()
            .map(|a| shown(&a.parameter))
            .collect::<Vec<_>>()
            .join(" x "),
        sweep.runs_per_point,
        sweep.seed
    );
    let Some(first) = sweep.points.first() else {
        return out;
    };
    for axis in &sweep.axes {
        let _ = write!(out, "{:>14} ", truncate(&axis.parameter, 14));
    }
    for o in &first.outcomes {
        let _ = write!(out, "{:>22} ", truncate(&o.id, 22));
    }
    out.push('\n');
    for point in &sweep.points {
        for v in &point.values {
            let _ = write!(out, "{:>14} ", fixed_or_scientific(*v, 4));
        }
        for o in &point.outcomes {
            let cell = format!(
                "{} [{}, {}]",
                percent(o.probability),
                percent(o.ci95[0]),
                percent(o.ci95[1])
            );
            let _ = write!(out, "{cell:>22} ");
        }
        out.push('\n');
    }
    out
}

pub fn render_tornado(t: &Tornado) -> String {
    let mut out = format!(
        "Tornado for {} ({} runs per point, seed {}); every other parameter at its median\nbaseline: {}\n\n",
        shown(&t.target_label),
        t.runs_per_point,
        t.seed,
        fixed_or_scientific(t.baseline, 4)
    );
    let _ = writeln!(
        out,
        "{:<30} {:>12} {:>12} {:>10} {:>10} {:>9}",
        "parameter", "p05 value", "p95 value", "at p05", "at p95", "swing"
    );
    for b in &t.bars {
        let _ = writeln!(
            out,
            "{:<30} {:>12} {:>12} {:>10} {:>10} {:>9}",
            truncate(&b.parameter, 30),
            fixed_or_scientific(b.low_value, 4),
            fixed_or_scientific(b.high_value, 4),
            fixed_or_scientific(b.at_low, 4),
            fixed_or_scientific(b.at_high, 4),
            fixed_or_scientific(b.swing, 4)
        );
    }
    out
}

pub fn render_sobol(s: &Sobol) -> String {
    let mut out = format!(
        "Sobol indices for {} ({} base rows, {} model runs, seed {}, {} bootstrap resamples)\nvariance of the target: {}\n\n",
        shown(&s.target_label),
        s.base_rows,
        s.model_runs,
        s.seed,
        s.bootstrap_resamples,
        fixed_or_scientific(s.variance, 4)
    );
    let _ = writeln!(
        out,
        "{:<30} {:>8} {:>20} {:>8} {:>20}",
        "parameter", "first", "95% interval", "total", "95% interval"
    );
    for i in &s.indices {
        let _ = writeln!(
            out,
            "{:<30} {:>8.3} {:>20} {:>8.3} {:>20}",
            truncate(&i.parameter, 30),
            i.first_order,
            format!(
                "[{:.3}, {:.3}]",
                i.first_order_ci95[0], i.first_order_ci95[1]
            ),
            i.total,
            format!("[{:.3}, {:.3}]", i.total_ci95[0], i.total_ci95[1])
        );
    }
    out
}

pub fn render_comparison(c: &Comparison) -> String {
    let mut out = format!(
        "Comparison on common random numbers ({} runs, seed {})\nbase: {} ({})\n",
        c.runs,
        c.seed,
        shown(&c.base.name),
        shown(&c.base.file)
    );
    for (k, v) in c.variants.iter().enumerate() {
        let _ = writeln!(
            out,
            "variant {}: {} ({})",
            k + 1,
            shown(&v.name),
            shown(&v.file)
        );
    }
    out.push('\n');
    let width = c
        .outcomes
        .iter()
        .map(|o| shown(&o.label).chars().count())
        .max()
        .unwrap_or(7)
        .max(7);
    let _ = write!(out, "{:<width$} {:>8}", "Outcome", "base");
    for k in 0..c.variants.len() {
        let _ = write!(
            out,
            " {:>9} {:>24}",
            format!("variant {}", k + 1),
            "difference [95%], pts"
        );
    }
    out.push('\n');
    for o in &c.outcomes {
        let _ = write!(
            out,
            "{:<width$} {:>8}",
            shown(&o.label),
            percent(o.probabilities[0])
        );
        for k in 0..c.variants.len() {
            let d = o.differences[k];
            let [lo, hi] = o.differences_ci95[k];
            let cell = format!(
                "{} [{}, {}]",
                signed_points(d),
                signed_points(lo),
                signed_points(hi)
            );
            let _ = write!(out, " {:>9} {:>24}", percent(o.probabilities[k + 1]), cell);
        }
        out.push('\n');
    }
    for (k, changes) in c.changes.iter().enumerate() {
        let _ = writeln!(
            out,
            "\nWhat variant {} changes ({} items):",
            k + 1,
            changes.len()
        );
        for d in changes {
            let _ = match d.change.as_str() {
                "changed" => writeln!(
                    out,
                    "  ~ {} `{}`: {} -> {}",
                    d.kind,
                    shown(&d.id),
                    d.base
                        .as_deref()
                        .map(|t| truncate(t, 60))
                        .unwrap_or_default(),
                    d.variant
                        .as_deref()
                        .map(|t| truncate(t, 60))
                        .unwrap_or_default()
                ),
                "added" => writeln!(out, "  + {} `{}`", d.kind, shown(&d.id)),
                _ => writeln!(out, "  - {} `{}`", d.kind, shown(&d.id)),
            };
        }
    }
    out
}

/// `s` with its control characters escaped, cut to `n` characters with an ellipsis.
fn truncate(s: &str, n: usize) -> String {
    let s = shown(s);
    if s.chars().count() <= n {
        s.to_string()
    } else {
        let cut: String = s.chars().take(n.saturating_sub(1)).collect();
        format!("{cut}…")
    }
}
