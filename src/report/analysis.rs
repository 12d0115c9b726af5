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

/// A discovery: the outcome's share, then each box in words with its restrictions, how much
/// each matters and how stable it is.
pub fn render_discovery(d: &crate::analysis::discover::Discovery) -> String {
    use crate::report::format::percent_to;
    let mut out = format!(
        "Discover: where \"{}\" happens\n({} runs, seed {}; boxes found on the even runs, measured on the odd)\n\
         overall: {} of runs [{}, {}]\n\n",
        shown(&d.outcome_label),
        crate::report::format::group_thousands(d.runs),
        d.seed,
        percent_to(d.share, 2),
        percent_to(d.share_ci95[0], 2),
        percent_to(d.share_ci95[1], 2),
    );
    for (k, b) in d.boxes.iter().enumerate() {
        for (i, line) in
            crate::report::format::wrap(&format!("box {}: {}", k + 1, b.description), 78)
                .iter()
                .enumerate()
        {
            let indent = if i == 0 { "" } else { "  " };
            let _ = writeln!(out, "{indent}{}", shown(line));
        }
        let _ = writeln!(
            out,
            "  density {} [{}, {}], coverage {} [{}, {}]\n  {} runs inside ({} of the runs measured)",
            percent_to(b.density, 1),
            percent_to(b.density_ci95[0], 1),
            percent_to(b.density_ci95[1], 1),
            percent_to(b.coverage, 1),
            percent_to(b.coverage_ci95[0], 1),
            percent_to(b.coverage_ci95[1], 1),
            crate::report::format::group_thousands(b.runs),
            percent_to(b.support, 1)
        );
        let w = b
            .restrictions
            .iter()
            .map(|r| r.parameter.chars().count())
            .max()
            .unwrap_or(9)
            .max(9);
        let _ = writeln!(
            out,
            "  {:<w$}  {:>10}  {:>10}  {:>16}  {:>9}",
            "parameter", "min", "max", "density without", "stability"
        );
        for r in &b.restrictions {
            let edge =
                |v: Option<f64>| v.map_or_else(|| "-".to_string(), |x| fixed_or_scientific(x, 4));
            let _ = writeln!(
                out,
                "  {:<w$}  {:>10}  {:>10}  {:>16}  {:>9}",
                shown(&r.parameter),
                edge(r.min),
                edge(r.max),
                percent_to(r.density_without, 1),
                percent_to(r.stability, 0)
            );
        }
        out.push('\n');
    }
    if let Some(note) = &d.note {
        for line in crate::report::format::wrap(note, 78) {
            let _ = writeln!(out, "{}", shown(&line));
        }
    }
    let _ = writeln!(
        out,
        "density: share of the box's runs with the outcome; coverage: share of the\n\
         outcome's runs in the box; density without: the box's density with that\n\
         restriction dropped; stability: share of {} half-samples of the runs whose box\n\
         restricts the parameter the same way",
        d.resamples
    );
    out
}

/// `signposts`' watch list: the best `top` signs, each in words an analyst can hand on, with
/// the outcome's probability if it is seen and if not, its date and lead, and the share of the
/// outcome's variance it resolves.
pub fn render_signposts(s: &crate::analysis::signposts::Signposts, top: usize) -> String {
    use crate::report::format::{group_thousands, percent_to, wrap};
    let decimals = if s.share < 0.1 { 2 } else { 1 };
    let mut out = format!(
        "Signposts: what to watch for \"{}\"\n({} runs, seed {}; {} signs at {} dates before {},\n\
         {} of them varied; chosen on the even runs, measured on the odd)\noverall: {} of runs [{}, {}]\n\n",
        shown(&s.outcome_label),
        group_thousands(s.runs),
        s.seed,
        group_thousands(s.candidates as u64),
        s.dates.len(),
        s.horizon,
        group_thousands(s.varied as u64),
        percent_to(s.share, decimals),
        percent_to(s.share_ci95[0], decimals),
        percent_to(s.share_ci95[1], decimals),
    );
    if s.signposts.is_empty() {
        let note = s.note.as_deref().unwrap_or("no sign to watch");
        for line in wrap(&format!("No signpost: {note}."), 78) {
            let _ = writeln!(out, "{}", shown(&line));
        }
        return out;
    }
    for (k, p) in s.signposts.iter().take(top).enumerate() {
        for (i, line) in wrap(&format!("{:>2}. {}", k + 1, p.description), 78)
            .iter()
            .enumerate()
        {
            let indent = if i == 0 { "" } else { "    " };
            let _ = writeln!(out, "{indent}{}", shown(line));
        }
        let detail = format!(
            "{} [{}, {}] if seen ({} runs), {} [{}, {}] if not; {} days ahead; seen in {} of runs; {:.1} times as likely when seen; resolves {} of its variance",
            percent_to(p.probability_if_true, decimals),
            percent_to(p.ci95_if_true[0], decimals),
            percent_to(p.ci95_if_true[1], decimals),
            group_thousands(p.runs_if_true),
            percent_to(p.probability_if_false, decimals),
            percent_to(p.ci95_if_false[0], decimals),
            percent_to(p.ci95_if_false[1], decimals),
            p.lead_days,
            percent_to(p.share_true, 1),
            p.ratio,
            percent_to(p.share_resolved, 1),
        );
        for line in wrap(&detail, 74) {
            let _ = writeln!(out, "    {line}");
        }
        let _ = writeln!(out, "    as a condition: {}", shown(&p.condition));
        if !p.equivalent.is_empty() {
            let also: Vec<String> = p.equivalent.iter().map(|c| shown(c).to_string()).collect();
            for (i, line) in wrap(&format!("the same runs see: {}", also.join("; ")), 74)
                .iter()
                .enumerate()
            {
                let _ = writeln!(out, "    {}{line}", if i == 0 { "" } else { "  " });
            }
        }
    }
    if s.signposts.len() > top {
        let _ = writeln!(
            out,
            "\n(best {top} of {} signs; signposts.json lists them all)",
            s.signposts.len()
        );
    }
    out
}
