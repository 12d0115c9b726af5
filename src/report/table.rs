//! The summary table printed after a study: what a reader sees first.

use std::fmt::Write as _;

use crate::montecarlo::Summary;
use crate::report::format::{
    fixed_or_scientific, group_thousands, level, percent, percent_to, set_share_decimals,
    share_decimals, wrap, LEVEL_DECIMALS,
};
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
        write_wrapped(&mut out, "fixed: ", &fixed.join(", "), "  ");
    }
    if let Some(g) = &summary.given {
        let conditions: Vec<String> = g
            .conditions
            .iter()
            .map(|c| shown(&c.condition).to_string())
            .collect();
        write_wrapped(
            &mut out,
            "given: ",
            &format!(
                "{} ({} of {} runs meet it; everything below counts those runs only)",
                conditions.join(" and "),
                group_thousands(g.matched),
                group_thousands(g.of)
            ),
            "  ",
        );
    }
    if let Some(d) = &summary.design {
        write_wrapped(
            &mut out,
            "design: ",
            &format!(
                "{} ({} rows, one per {}) sets {}",
                shown(&d.file),
                group_thousands(d.rows),
                if summary.replications.is_some() {
                    "parameter set"
                } else {
                    "run"
                },
                d.parameters
                    .iter()
                    .map(|p| shown(p).to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            "  ",
        );
    }
    out.push('\n');
    outcomes(&mut out, summary);
    replications(&mut out, summary);
    decisions(&mut out, summary);
    events(&mut out, summary);
    metrics(&mut out, summary);
    metric_values(&mut out, summary);
    out
}

/// Each outcome's probability across parameter sets (`run --replications`): a row per outcome,
/// the reading of the one whose inputs matter most in words an analyst can quote, and a note
/// where chance makes most of the spread.
fn replications(out: &mut String, summary: &Summary) {
    let Some(r) = &summary.replications else {
        return;
    };
    let _ = writeln!(
        out,
        "\nAcross inputs: {} parameter sets of {} runs, each run with its own chance draws",
        group_thousands(r.parameter_sets),
        group_thousands(r.replications)
    );
    let decimals = set_share_decimals(r.replications);
    let share_of_variance = |row: &crate::montecarlo::summary::ReplicatedOutcome| match (
        row.input_share,
        row.input_share_ci95,
    ) {
        (Some(s), Some([lo, hi])) => {
            format!("{} [{}, {}]", percent(s), percent(lo), percent(hi))
        }
        (Some(s), None) => percent(s),
        (None, _) if r.parameter_sets < 2 => "one set".to_string(),
        (None, _) => "no variance".to_string(),
    };
    let cells: Vec<[String; 4]> = r
        .outcomes
        .iter()
        .map(|row| {
            [
                shown(&row.id).to_string(),
                format!(
                    "{} to {}",
                    percent_to(row.p05, decimals),
                    percent_to(row.p95, decimals)
                ),
                percent_to(row.p50, decimals),
                share_of_variance(row),
            ]
        })
        .collect();
    let headers = [
        "outcome",
        "5th-95th pct of sets",
        "median",
        "inputs' share of variance",
    ];
    let widths: Vec<usize> = (0..4)
        .map(|k| {
            cells
                .iter()
                .map(|c| c[k].chars().count())
                .chain([headers[k].len()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let _ = writeln!(
        out,
        "{:<w0$}  {:>w1$}  {:>w2$}  {}",
        headers[0],
        headers[1],
        headers[2],
        headers[3],
        w0 = widths[0],
        w1 = widths[1],
        w2 = widths[2]
    );
    for c in &cells {
        let _ = writeln!(
            out,
            "{:<w0$}  {:>w1$}  {:>w2$}  {}",
            c[0],
            c[1],
            c[2],
            c[3],
            w0 = widths[0],
            w1 = widths[1],
            w2 = widths[2]
        );
    }
    let most = r
        .outcomes
        .iter()
        .zip(&summary.outcomes)
        .filter(|(row, _)| row.input_share.is_some())
        .max_by(|a, b| {
            a.0.input_share
                .partial_cmp(&b.0.input_share)
                .unwrap_or(std::cmp::Ordering::Equal)
        });
    if let Some((row, outcome)) = most {
        write_wrapped(
            out,
            "reading: ",
            &format!(
                "for 90% of the parameter sets drawn, the probability of \"{}\" lies between {} and {}; the inputs make {} of a run's variance in it, chance the rest",
                shown(&outcome.label),
                percent_to(row.p05, decimals),
                percent_to(row.p95, decimals),
                share_of_variance(row)
            ),
            "  ",
        );
    }
    let noisy: Vec<String> = r
        .outcomes
        .iter()
        .filter(|row| row.chance_in_spread.is_some_and(|c| c > 0.5))
        .map(|row| shown(&row.id).to_string())
        .collect();
    if !noisy.is_empty() {
        write_wrapped(
            out,
            "note: ",
            &format!(
                "for {}, chance in {} runs a set makes over half the spread of the sets' shares, so its percentiles are wider than the inputs alone make them; more --replications narrow them",
                noisy.join(", "),
                group_thousands(r.replications)
            ),
            "  ",
        );
    }
}

/// The width the table keeps to: a terminal's default, so that no line wraps.
pub const WIDTH: usize = 80;

/// `first` then `text`, wrapped to [`WIDTH`], continuation lines starting with `indent`.
fn write_wrapped(out: &mut String, first: &str, text: &str, indent: &str) {
    let room = WIDTH
        .saturating_sub(first.chars().count().max(indent.len()))
        .max(20);
    for (i, line) in wrap(text, room).iter().enumerate() {
        let lead = if i == 0 { first } else { indent };
        let _ = writeln!(out, "{lead}{line}");
    }
}

fn outcomes(out: &mut String, summary: &Summary) {
    let rows: Vec<(f64, [f64; 2])> = summary
        .outcomes
        .iter()
        .map(|o| (o.probability, o.ci95))
        .collect();
    let decimals = share_decimals(&rows);
    let cells: Vec<[String; 3]> = summary
        .outcomes
        .iter()
        .map(|o| {
            [
                percent_to(o.probability, decimals),
                format!(
                    "[{}, {}]",
                    percent_to(o.ci95[0], decimals),
                    percent_to(o.ci95[1], decimals)
                ),
                group_thousands(o.count),
            ]
        })
        .collect();
    let column = |k: usize, header: &str| {
        cells
            .iter()
            .map(|c| c[k].len())
            .chain([header.len()])
            .max()
            .unwrap_or(0)
    };
    let (p, ci, n) = (
        column(0, "probability"),
        column(1, "95% interval"),
        column(2, "runs"),
    );
    // The label takes what the numbers leave, and wraps beyond it.
    let room = WIDTH.saturating_sub(p + ci + n + 6).max(20);
    let longest = summary
        .outcomes
        .iter()
        .map(|o| shown(&o.label).chars().count())
        .max()
        .unwrap_or(0);
    let label = longest.clamp(7, room);
    let _ = writeln!(
        out,
        "{:<label$}  {:>p$}  {:>ci$}  {:>n$}",
        "Outcome", "probability", "95% interval", "runs"
    );
    for (o, [share, interval, count]) in summary.outcomes.iter().zip(&cells) {
        let lines = wrap(&shown(&o.label), label);
        let _ = writeln!(
            out,
            "{:<label$}  {share:>p$}  {interval:>ci$}  {count:>n$}",
            lines[0]
        );
        for line in &lines[1..] {
            let _ = writeln!(out, "  {line}");
        }
    }
}

fn decisions(out: &mut String, summary: &Summary) {
    if summary.decisions.is_empty() {
        return;
    }
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
        let fact = if d.fixed { ", fixed as a fact" } else { "" };
        if let Some(r) = &d.recurring {
            let schedule = match r.every {
                Some(every) => format!("every {every} steps"),
                None => "at each step its condition holds".to_string(),
            };
            let _ = writeln!(
                out,
                "  {} ({}, recurring {schedule}, at most {} times)",
                shown(&d.id),
                shown(&d.actor),
                r.most_times
            );
            let _ = writeln!(
                out,
                "      taken {} times per run",
                fixed_or_scientific(r.mean_times, 2)
            );
            for o in &r.options {
                let _ = writeln!(
                    out,
                    "      {}: in {} of runs, {} times per run",
                    shown(&o.id),
                    percent(o.share_with_any),
                    fixed_or_scientific(o.mean_times, 2)
                );
            }
            write_wrapped(out, "      last taken: ", &parts.join(", "), "      ");
            continue;
        }
        let first = format!("  {} ({}{fact}): ", shown(&d.id), shown(&d.actor));
        write_wrapped(out, &first, &parts.join(", "), "      ");
        if let Some(t) = &d.timing {
            let mut when = format!("      open {} to {}", t.from_date, t.until_date);
            match &t.median_date {
                Some(median) => {
                    let _ = write!(when, "; half of the runs that took it had by {median}");
                }
                None => when.push_str("; no run took it"),
            }
            if let Some(default) = &t.default {
                let _ = write!(
                    when,
                    "; the deadline took {} in {}",
                    shown(default),
                    percent(t.forced_share)
                );
            }
            let _ = writeln!(out, "{when}");
        }
    }
}

fn events(out: &mut String, summary: &Summary) {
    if summary.events.is_empty() {
        return;
    }
    let width = summary
        .events
        .iter()
        .map(|e| shown(&e.id).chars().count())
        .filter(|&n| n <= WIDTH - 20)
        .max()
        .unwrap_or(5)
        .max(5);
    let _ = writeln!(
        out,
        "\nEvents (mean count per run; share of runs with at least one)"
    );
    for e in &summary.events {
        let mut id = shown(&e.id);
        if id.chars().count() > width {
            let _ = writeln!(out, "  {id}");
            id = "".into();
        }
        let _ = writeln!(
            out,
            "  {id:<width$}  {:>6.2}  {:>6}",
            e.mean_count,
            percent(e.share_fired)
        );
    }
}

fn metrics(out: &mut String, summary: &Summary) {
    let continuous: Vec<_> = summary.metrics.iter().filter(|m| !m.by_value()).collect();
    if continuous.is_empty() {
        return;
    }
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
        .unwrap_or(0)
        .max(4);
    let title = "Metric (end of run)";
    // An id longer than the room the numbers leave goes on a line of its own.
    let most = WIDTH
        .saturating_sub(5 * (cell + 2) + 2 + 8)
        .max(title.len());
    let width = continuous
        .iter()
        .map(|m| shown(&m.id).chars().count())
        .filter(|&n| n <= most)
        .max()
        .unwrap_or(0)
        .max(title.len());
    let _ = writeln!(
        out,
        "\n{title:<width$}  {:>cell$}  {:>cell$}  {:>cell$}  {:>cell$}  {:>cell$}  unit",
        "mean", "sd", "p05", "p50", "p95",
    );
    let numbers = width + 5 * (cell + 2) + 2;
    let unit_room = WIDTH.saturating_sub(numbers).max(12);
    for (m, [mean, sd, p05, p50, p95]) in continuous.iter().zip(&rows) {
        let unit = wrap(&shown(&m.unit), unit_room);
        let mut id = shown(&m.id);
        if id.chars().count() > width {
            let _ = writeln!(out, "{id}");
            id = "".into();
        }
        let _ = writeln!(
            out,
            "{id:<width$}  {mean:>cell$}  {sd:>cell$}  {p05:>cell$}  {p50:>cell$}  {p95:>cell$}  {}",
            unit[0]
        );
        for line in &unit[1..] {
            let _ = writeln!(out, "{:numbers$}{line}", "");
        }
    }
    for m in &continuous {
        if let Some(note) = m.accuracy_note() {
            write_wrapped(out, "  note: ", &note, "        ");
        }
    }
}

/// One value of a count or categorical metric: its name, runs, share and interval.
type ValueRow = (String, u64, f64, [f64; 2]);

/// Count and categorical metrics: the share of runs at each value, with its interval.
fn metric_values(out: &mut String, summary: &Summary) {
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
    // (name, count, share, interval) of every row, then the decimals they all print with.
    let rows: Vec<Vec<ValueRow>> = metrics
        .iter()
        .map(|m| {
            let mut rows: Vec<_> = m
                .values
                .iter()
                .map(|v| (named(v.value, &v.label), v.count, v.share, v.ci95))
                .collect();
            if let Some(o) = &m.other {
                rows.push(("other".to_string(), o.count, o.share, o.ci95));
            }
            rows
        })
        .collect();
    let shares: Vec<(f64, [f64; 2])> = rows.iter().flatten().map(|r| (r.2, r.3)).collect();
    let decimals = share_decimals(&shares);
    let cells: Vec<Vec<[String; 4]>> = rows
        .iter()
        .map(|rows| {
            rows.iter()
                .map(|(name, count, share, [lo, hi])| {
                    [
                        name.clone(),
                        percent_to(*share, decimals),
                        format!(
                            "[{}, {}]",
                            percent_to(*lo, decimals),
                            percent_to(*hi, decimals)
                        ),
                        group_thousands(*count),
                    ]
                })
                .collect()
        })
        .collect();
    let column = |k: usize, header: &str| {
        cells
            .iter()
            .flatten()
            .map(|c| c[k].chars().count())
            .chain([header.chars().count()])
            .max()
            .unwrap_or(0)
    };
    let (p, ci, n) = (
        column(1, "share"),
        column(2, "95% interval"),
        column(3, "runs"),
    );
    let room = WIDTH.saturating_sub(p + ci + n + 6 + 4).max(12);
    let width = cells
        .iter()
        .flatten()
        .map(|c| c[0].chars().count())
        .max()
        .unwrap_or(0)
        .clamp(22, room);
    let _ = writeln!(
        out,
        "\n{:<header$}  {:>p$}  {:>ci$}  {:>n$}",
        "Metric values (end of run)",
        "share",
        "95% interval",
        "runs",
        header = width + 4
    );
    for (m, rows) in metrics.iter().zip(&cells) {
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
            format!("({})", about.join(", "))
        };
        write_wrapped(out, &format!("  {} ", shown(&m.id)), &about, "      ");
        for [value, share, interval, runs] in rows {
            let lines = wrap(value, width);
            let _ = writeln!(
                out,
                "    {:<width$}  {share:>p$}  {interval:>ci$}  {runs:>n$}",
                lines[0]
            );
            for line in &lines[1..] {
                let _ = writeln!(out, "      {line}");
            }
        }
    }
    for m in &metrics {
        if let Some(note) = m.other_note() {
            write_wrapped(out, "  note: ", &note, "        ");
        }
    }
}

/// How far apart a metric's values are: what its printed levels must resolve.
fn spread(m: &crate::montecarlo::summary::MetricSummary) -> f64 {
    (m.p95 - m.p05).max(m.sd.unwrap_or(0.0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::montecarlo::aggregate::wilson;
    use crate::report::charts::tests::sample_summary;

    #[test]
    fn every_line_fits_eighty_columns_and_nothing_is_cut() {
        let mut summary = sample_summary();
        summary.outcomes[0].label =
            "GSOMIA terminated (notice given, the pact lapsed at midnight on 23 November)".into();
        summary.metrics[0].unit =
            "1 in force, 0.8 conditional, 0.5 notice pending, 0 lapsed (status code)".into();
        summary.metrics[1].id = "a_metric_with_a_rather_long_identifier".into();
        summary.events[0].id =
            "an_event_whose_identifier_is_long_enough_to_push_the_columns_out".into();
        let decision = &mut summary.decisions[0];
        let option = decision.options[0].clone();
        for k in 0..8 {
            let mut extra = option.clone();
            extra.id = format!("an_option_with_a_long_name_{k}");
            decision.options.push(extra);
        }
        let table = render(&summary);
        for line in table.lines() {
            assert!(
                line.chars().count() <= WIDTH,
                "{} columns: {line}",
                line.len()
            );
        }
        let words: Vec<&str> = table.split_whitespace().collect();
        for word in summary.outcomes[0]
            .label
            .split_whitespace()
            .chain(summary.metrics[0].unit.split_whitespace())
        {
            assert!(words.contains(&word), "`{word}` is missing:\n{table}");
        }
        for k in 0..8 {
            assert!(table.contains(&format!("an_option_with_a_long_name_{k}")));
        }
        assert!(table.contains(&summary.metrics[1].id));
        assert!(table.contains(&summary.events[0].id));
    }

    /// At 10^7 runs an interval is a few hundredths of a point wide: one decimal printed the
    /// share and both ends as the same number.
    #[test]
    fn shares_and_their_intervals_keep_the_digits_that_tell_them_apart() {
        let mut summary = sample_summary();
        let runs = 10_000_000;
        summary.runs = runs;
        let counts = [5_000_000, 3_000_000, 1_999_000, 1_000];
        summary.outcomes.truncate(counts.len());
        for (o, count) in summary.outcomes.iter_mut().zip(counts) {
            o.count = count;
            o.probability = count as f64 / runs as f64;
            o.ci95 = wilson(count, runs);
        }
        let table = render(&summary);
        for (o, count) in summary.outcomes.iter().zip(counts) {
            let line = table
                .lines()
                .find(|l| l.starts_with(&o.label[..10]))
                .unwrap_or_else(|| panic!("no row for {}:\n{table}", o.label));
            let numbers: Vec<&str> = line
                .split(|c: char| c.is_whitespace() || c == '[' || c == ']' || c == ',')
                .filter(|w| w.ends_with('%'))
                .collect();
            assert_eq!(numbers.len(), 3, "{line}");
            assert!(
                numbers[0] != numbers[1] && numbers[1] != numbers[2] && numbers[0] != numbers[2],
                "{line}"
            );
            assert!(line.ends_with(&group_thousands(count)), "{line}");
        }
        assert!(table.contains("50.00%"), "{table}");
    }

    #[test]
    fn tiny_shares_say_they_are_not_zero_at_any_precision() {
        assert_eq!(percent_to(0.0, 2), "0.00%");
        assert_eq!(percent_to(0.000_001, 2), "<0.01%");
        assert_eq!(percent_to(0.999_999, 2), ">99.99%");
        assert_eq!(percent_to(0.5, 3), "50.000%");
        assert_eq!(share_decimals(&[(0.5, [0.4, 0.6])]), 1);
        assert_eq!(share_decimals(&[(0.5, [0.4997, 0.5003])]), 2);
        // A share with no spread needs no extra digits.
        assert_eq!(share_decimals(&[(0.0, [0.0, 0.0])]), 1);
    }
}
