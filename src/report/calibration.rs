//! What `calibrate` writes for people and for `run`: the report as a table, and the
//! calibrated variant of a base scenario.

use std::fmt::Write;

use crate::analysis::backtest::STATUS_QUO_EPSILON;
use crate::analysis::calibrate::{CalibrationReport, ScoreSet, TomlValue};
use crate::report::format::group_thousands;

/// The calibrated variant of the base scenario named `extends`: its calibrated parameters'
/// posteriors as keys that replace the prior's, and a `[calibration]` table of provenance,
/// which `summary.json` carries. `parameters` lists the calibrated ids this base declares.
pub fn variant_text(
    report: &CalibrationReport,
    extends: &str,
    base_name: &str,
    parameters: &[String],
    case_files: &[String],
) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# Written by `alliance-sim calibrate` ({} runs per case, seed {}): the parameters marked\n\
         # `calibrate = true`, fitted to the backtest cases listed below. Run it like any variant:\n\
         #   alliance-sim run <this file>",
        report.runs_per_case, report.seed
    );
    let _ = writeln!(out, "extends = {}\n", quote(extends));
    let _ = writeln!(out, "[scenario]");
    let _ = writeln!(
        out,
        "name = {}",
        quote(&format!("{base_name} (calibrated)"))
    );
    let _ = writeln!(
        out,
        "description = {}\n",
        quote(&format!(
            "{base_name} with its calibrated parameters fitted to {} backtest cases: leave-one-out mean Brier {:.3}, time-ordered {:.3}, against {:.3} as written.",
            report.cases,
            report.leave_one_out.mean_brier,
            report.time_ordered.mean_brier,
            report.prior.mean_brier
        ))
    );
    let _ = writeln!(out, "[calibration]");
    let _ = writeln!(out, "method = {}", quote(&report.method));
    let _ = writeln!(out, "cases = [");
    for file in case_files {
        let _ = writeln!(out, "  {},", quote(file));
    }
    let _ = writeln!(out, "]");
    let _ = writeln!(out, "runs = {}", report.runs_per_case);
    // TOML integers stop at i64::MAX; a larger seed stays in the comment above.
    if i64::try_from(report.seed).is_ok() {
        let _ = writeln!(out, "seed = {}", report.seed);
    }
    let _ = writeln!(
        out,
        "effective_sample_size = {}",
        number(report.effective_sample_size)
    );
    let _ = writeln!(
        out,
        "written_by = {}",
        quote(&format!("alliance-sim {}", report.version))
    );
    for p in report
        .parameters
        .iter()
        .filter(|p| parameters.contains(&p.id))
    {
        let _ = writeln!(out, "\n[parameters.{}]", p.id);
        let _ = writeln!(
            out,
            "# prior: mean {} (90% {} to {}); posterior: mean {} (90% {} to {})",
            short(p.prior.mean),
            short(p.prior.q05),
            short(p.prior.q95),
            short(p.posterior.mean),
            short(p.posterior.q05),
            short(p.posterior.q95)
        );
        if let Some(note) = &p.written.note {
            let _ = writeln!(out, "# note: {note}");
        }
        for (key, value) in &p.written.keys {
            let text = match value {
                TomlValue::Text(t) => quote(t),
                TomlValue::Number(x) => number(*x),
                TomlValue::Numbers(xs) => format!(
                    "[{}]",
                    xs.iter().map(|x| number(*x)).collect::<Vec<_>>().join(", ")
                ),
            };
            let _ = writeln!(out, "{key} = {text}");
        }
    }
    out
}

/// A TOML basic string.
fn quote(text: &str) -> String {
    let mut out = String::from("\"");
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04X}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A float that reads back as the same double (Rust's shortest round-trip form), always with a
/// decimal point or exponent so that TOML reads it as a float.
fn number(x: f64) -> String {
    let text = format!("{x:?}");
    if text.contains(['.', 'e', 'E']) || !x.is_finite() {
        text
    } else {
        format!("{text}.0")
    }
}

/// The report as a plain-text table.
pub fn render_table(report: &CalibrationReport, cases_from: &str) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Calibration: {} cases from {}, {} runs each, seed {}\n",
        report.cases,
        cases_from,
        group_thousands(report.runs_per_case),
        report.seed
    );
    let _ = writeln!(
        out,
        "p(observed) as written (prior), fitted to every case (in), to the others (loo), to the earlier (time):"
    );
    let wd = report
        .per_case
        .iter()
        .map(|c| c.decision.chars().count())
        .max()
        .unwrap_or(0)
        .max(8);
    let wo = report
        .per_case
        .iter()
        .map(|c| c.observed.chars().count())
        .max()
        .unwrap_or(0)
        .max(8);
    let _ = writeln!(
        out,
        "{:<10}  {:<wd$}  {:<wo$}  {:>6}  {:>6}  {:>6}  {:>6}",
        "date", "decision", "observed", "prior", "in", "loo", "time"
    );
    for c in &report.per_case {
        let cell = |f: &crate::analysis::calibrate::CaseForecast| {
            format!(
                "{:.2}{}",
                f.probability,
                if f.observed_is_most_likely { " " } else { "*" }
            )
        };
        let _ = writeln!(
            out,
            "{:<10}  {:<wd$}  {:<wo$}  {:>6}  {:>6}  {:>6}  {:>6}",
            c.date,
            c.decision,
            c.observed,
            cell(&c.prior),
            cell(&c.in_sample),
            cell(&c.leave_one_out),
            cell(&c.time_ordered)
        );
    }
    let _ = writeln!(
        out,
        "\n{:<34}  {:>10}  {:>9}  {:>13}  {:>8}",
        "forecast", "mean Brier", "mean log", "most likely", "min ESS"
    );
    let row = |out: &mut String, name: &str, s: &ScoreSet| {
        let _ = writeln!(
            out,
            "{:<34}  {:>10.3}  {:>9.3}  {:>13}  {:>8.0}",
            name,
            s.mean_brier,
            s.mean_log_score,
            format!("{} of {}", s.observed_most_likely, report.cases),
            s.min_effective_sample_size
        );
    };
    row(&mut out, "as written (prior)", &report.prior);
    row(&mut out, "in sample", &report.in_sample);
    row(&mut out, "leave one case out", &report.leave_one_out);
    row(
        &mut out,
        "time-ordered (earlier cases only)",
        &report.time_ordered,
    );
    if let Some(b) = &report.baseline_status_quo {
        let _ = writeln!(
            out,
            "{:<34}  {:>10.3}  {:>9.3}  ({} cases)",
            format!("baseline: status quo (p = {})", 1.0 - STATUS_QUO_EPSILON),
            b.mean_brier,
            b.mean_log_score,
            b.cases
        );
    }
    let _ = writeln!(
        out,
        "{:<34}  {:>10.3}  {:>9.3}",
        "baseline: uniform",
        report.baseline_uniform.mean_brier,
        report.baseline_uniform.mean_log_score
    );
    let _ = writeln!(
        out,
        "\n{:<28}  {:>22}  {:>22}",
        "parameter", "prior mean (90%)", "posterior mean (90%)"
    );
    for p in &report.parameters {
        let _ = writeln!(
            out,
            "{:<28}  {:>22}  {:>22}",
            p.id,
            format!(
                "{} ({}-{})",
                short(p.prior.mean),
                short(p.prior.q05),
                short(p.prior.q95)
            ),
            format!(
                "{} ({}-{})",
                short(p.posterior.mean),
                short(p.posterior.q05),
                short(p.posterior.q95)
            )
        );
    }
    let _ = writeln!(
        out,
        "\neffective sample size of the in-sample weights: {:.0} of {} runs (minimum {})",
        report.effective_sample_size,
        group_thousands(report.runs_per_case),
        report.minimum_effective_sample_size
    );
    let _ = writeln!(
        out,
        "* marks a case whose observed option is not the most likely. Brier: multi-class, 0 best, 2 worst."
    );
    out
}

/// Three significant digits.
fn short(x: f64) -> String {
    if x == 0.0 || !x.is_finite() {
        return format!("{x}");
    }
    let digits = (2 - x.abs().log10().floor() as i32).max(0) as usize;
    format!("{x:.digits$}")
}
