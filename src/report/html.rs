//! `report.html`: one self-contained page (inline CSS and SVG charts, no scripts, no network)
//! with the run's provenance, the tables of the summary and every chart.

use std::fmt::Write as _;
use std::path::Path;

use super::atomic::write_atomic;
use super::charts::{humanize, Study, CHARTS};
use super::finding::finding;
use super::{AnalysisLink, ChartOptions, ReportError};
use crate::montecarlo::summary::ReplicatedOutcome;
use crate::montecarlo::Summary;
use crate::report::format::{
    by_magnitude, fixed_or_scientific, group_thousands, percent, percent_to, set_share_decimals,
};

const CSS: &str = r#"
:root { --text: #212529; --muted: #6c757d; --rule: #dee2e6; --band: #f6f7f9; }
* { box-sizing: border-box; }
body { margin: 0; font-family: "DejaVu Sans", system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
  color: var(--text); background: #fff; line-height: 1.45; }
main { max-width: 1080px; margin: 0 auto; padding: 28px 24px 64px; }
h1 { font-size: 1.9rem; margin: 0 0 .3rem; }
h2 { font-size: 1.3rem; margin: 2.2rem 0 .7rem; padding-bottom: .3rem; border-bottom: 1px solid var(--rule); }
p.description { font-size: 1.05rem; margin: .2rem 0 1.2rem; max-width: 60rem; }
dl.run { display: grid; grid-template-columns: max-content 1fr; gap: .25rem 1.2rem; margin: 0;
  font-size: .95rem; }
dl.run dt { color: var(--muted); }
dl.run dd { margin: 0; overflow-wrap: anywhere; }
code { font-family: "DejaVu Sans Mono", ui-monospace, Menlo, Consolas, monospace; font-size: .88em; }
table { border-collapse: collapse; width: 100%; font-size: .92rem; margin: .4rem 0 1rem; }
th, td { text-align: left; padding: .38rem .6rem; border-bottom: 1px solid var(--rule); vertical-align: top; }
th { font-weight: 600; background: var(--band); }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.muted, span.muted { color: var(--muted); }
td.date { white-space: nowrap; }
td.rationale { min-width: 16rem; }
figure { margin: 1.2rem 0 2rem; }
figure svg { display: block; width: 100%; height: auto; max-width: 100%; border: 1px solid var(--rule); }
figcaption { color: var(--muted); font-size: .9rem; margin-top: .4rem; }
nav ul { padding-left: 1.2rem; columns: 2; }
footer { margin-top: 3rem; color: var(--muted); font-size: .85rem; }
section.finding { background: var(--band); border-left: 4px solid #4e79a7; padding: .2rem 1.1rem .6rem;
  margin: 1rem 0 1.6rem; }
section.finding h2 { margin-top: .8rem; border-bottom: none; }
section.finding p { margin: .4rem 0; max-width: 62rem; }
ul.caveats { color: var(--muted); font-size: .9rem; margin: .5rem 0 .2rem; padding-left: 1.2rem; }
a { color: #2b5d8c; overflow-wrap: anywhere; }
/* The timeline is drawn for a 16:9 slide: give it the window's width. */
figure#chart-timeline { width: min(100vw - 48px, 1928px); position: relative; left: 50%;
  transform: translateX(-50%); }
@media print {
  @page { margin: 1.4cm; }
  @page landscape { size: A4 landscape; }
  figure#chart-timeline { page: landscape; width: auto; left: auto; transform: none; }
  body { background: #fff; color: #000; font-size: 10.5pt; }
  main { max-width: none; padding: 0; }
  nav { display: none; }
  section.finding { background: none; border: 1px solid var(--rule); border-left: 4px solid #4e79a7; }
  th { background: none; border-bottom: 2px solid var(--rule); }
  thead { display: table-header-group; }
  tr, th, td { break-inside: avoid; page-break-inside: avoid; }
  /* Every column on the page: addresses wrap rather than push the table wider. */
  td.rationale { min-width: 0; }
  td a { word-break: break-all; }
  h2 { break-after: avoid; page-break-after: avoid; }
  figure, section.finding { break-inside: avoid; page-break-inside: avoid; }
  /* A chart taller than the page would be cut whatever the break rules say. */
  figure svg { width: auto; max-width: 100%; max-height: 23cm; margin: 0 auto; border: none; }
  a { color: inherit; }
}
"#;

/// Escape text for HTML element content and attribute values.
pub fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + text.len() / 8);
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// `text` escaped, with each http(s) address in it a link that sends no referrer. Addresses end
/// at white space or `;`, less trailing punctuation (a closing parenthesis is kept when the
/// address opened one).
fn linked(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 64);
    let mut rest = text;
    while let Some(at) = find_address(rest) {
        out.push_str(&escape_html(&rest[..at]));
        let tail = &rest[at..];
        let mut end = tail
            .find(|c: char| c.is_whitespace() || matches!(c, ';' | '"' | '<' | '>'))
            .unwrap_or(tail.len());
        while let Some(last) = tail[..end].chars().last() {
            let unbalanced_paren =
                last == ')' && tail[..end].matches('(').count() < tail[..end].matches(')').count();
            if matches!(last, '.' | ',' | ':' | '!' | '?' | '\'') || unbalanced_paren {
                end -= last.len_utf8();
            } else {
                break;
            }
        }
        let url = escape_html(&tail[..end]);
        let _ = write!(out, "<a href=\"{url}\" rel=\"noreferrer\">{url}</a>");
        rest = &tail[end..];
    }
    out.push_str(&escape_html(rest));
    out
}

/// Byte offset of the first `http://` or `https://` that starts a word, with a host after it.
fn find_address(text: &str) -> Option<usize> {
    let mut from = 0;
    while let Some(i) = text[from..].find("http").map(|i| i + from) {
        let starts_word = text[..i]
            .chars()
            .last()
            .is_none_or(|c| c.is_whitespace() || matches!(c, '(' | '[' | ','));
        let after = &text[i..];
        let scheme = ["https://", "http://"]
            .into_iter()
            .find(|s| after.starts_with(s))
            .map(str::len);
        if let (true, Some(n)) = (starts_word, scheme) {
            if after[n..].starts_with(|c: char| c.is_alphanumeric()) {
                return Some(i);
            }
        }
        from = i + 4;
    }
    None
}

/// Text with `code` spans, escaped.
fn with_code(text: &str) -> String {
    escape_html(text)
        .split('`')
        .enumerate()
        .map(|(i, part)| {
            if i % 2 == 1 {
                format!("<code>{part}</code>")
            } else {
                part.to_string()
            }
        })
        .collect()
}

/// The finding in plain words, computed from the summary (see `finding.rs`).
fn finding_section(h: &mut String, s: &Summary) {
    let f = finding(s);
    h.push_str("<section id=\"finding\" class=\"finding\">\n<h2>Finding</h2>\n");
    let _ = writeln!(
        h,
        "<p class=\"finding-outcome\">{}</p>",
        with_code(&f.outcome)
    );
    if !f.driver.is_empty() {
        let _ = writeln!(
            h,
            "<p class=\"finding-driver\">{}</p>",
            with_code(&f.driver)
        );
    }
    if !f.across_inputs.is_empty() {
        let _ = writeln!(
            h,
            "<p class=\"finding-inputs\">{}</p>",
            with_code(&f.across_inputs)
        );
    }
    h.push_str("<ul class=\"caveats\">\n");
    for c in &f.caveats {
        let _ = writeln!(h, "<li>{}</li>", with_code(c));
    }
    h.push_str("</ul>\n</section>\n");
}

/// Write the report page for `summary` to `out`, inlining every applicable chart's SVG from
/// `charts_dir` (as written by [`write_charts`](super::write_charts)).
pub fn write_html(
    summary: &Summary,
    charts_dir: &Path,
    out: &Path,
    analyses: &[AnalysisLink],
) -> Result<(), ReportError> {
    let mut charts = Vec::new();
    let study = Study::new(summary, &ChartOptions::default())?;
    for chart in CHARTS.iter().filter(|c| c.applies(&study)) {
        let path = charts_dir.join(format!("{}.svg", chart.name()));
        let svg = std::fs::read_to_string(&path).map_err(|e| ReportError::io(&path, e))?;
        charts.push((chart.name(), chart.title(), svg));
    }
    let page = render(summary, &charts, analyses);
    write_atomic(out, page.as_bytes()).map_err(|e| ReportError::io(out, e))
}

/// The page, from the summary and the charts' (name, title, SVG text).
fn render(s: &Summary, charts: &[(&str, &str, String)], analyses: &[AnalysisLink]) -> String {
    let e = escape_html;
    let mut h = String::with_capacity(64 * 1024 + charts.iter().map(|c| c.2.len()).sum::<usize>());
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta name=\"generator\" content=\"alliance-sim {}\">\n\
         <title>{} — alliance-sim report</title>\n<style>{CSS}</style>\n</head>\n<body>\n<main>\n",
        e(&s.version),
        e(&s.scenario.name)
    );

    // Title, description, provenance.
    let _ = writeln!(h, "<h1>{}</h1>", e(&s.scenario.name));
    if !s.scenario.description.trim().is_empty() {
        let _ = writeln!(
            h,
            "<p class=\"description\">{}</p>",
            e(&s.scenario.description)
        );
    }
    finding_section(&mut h, s);

    h.push_str("<dl class=\"run\">\n");
    let mut row = |k: &str, v: String| {
        let _ = writeln!(h, "<dt>{}</dt><dd>{}</dd>", e(k), v);
    };
    row("Runs", group_thousands(s.runs));
    row("Seed", s.seed.to_string());
    row("Sampling", e(&s.sampling));
    row(
        "Scenario file",
        format!("<code>{}</code>", e(&s.scenario.file)),
    );
    row(
        "Scenario SHA-256",
        format!("<code>{}</code>", e(&s.scenario.sha256)),
    );
    if let Some(c) = &s.scenario.calibration {
        row(
            "Calibrated",
            e(&format!(
                "{} ({} cases{}{})",
                c.written_by,
                c.cases.len(),
                c.runs
                    .map(|r| format!(", {} runs each", group_thousands(r)))
                    .unwrap_or_default(),
                c.effective_sample_size
                    .map(|x| format!(", effective sample {x:.0} runs"))
                    .unwrap_or_default()
            )),
        );
    }
    row(
        "Time axis",
        e(&format!(
            "{} steps of one {} from {}",
            s.time_axis.steps, s.time_axis.unit, s.time_axis.start
        )),
    );
    if !s.fixed.is_empty() {
        let fixed: Vec<String> = s
            .fixed
            .iter()
            .map(|f| format!("<code>{} = {}</code>", e(&f.id), f.value))
            .collect();
        row("Fixed (--set)", fixed.join(", "));
    }
    if let Some(g) = &s.given {
        row(
            "Given (--given)",
            format!(
                "{}; {} of {} runs meet it, and every table counts those runs only",
                g.conditions
                    .iter()
                    .map(|c| format!("<code>{}</code>", e(&c.condition)))
                    .collect::<Vec<_>>()
                    .join(" and "),
                group_thousands(g.matched),
                group_thousands(g.of)
            ),
        );
    }
    if let Some(d) = &s.design {
        row(
            "Design (--design)",
            format!(
                "<code>{}</code>, {} rows (one per {}), SHA-256 <code>{}</code>, sets {}",
                e(&d.file),
                group_thousands(d.rows),
                if s.replications.is_some() {
                    "parameter set"
                } else {
                    "run"
                },
                e(&d.sha256),
                d.parameters
                    .iter()
                    .map(|p| format!("<code>{}</code>", e(p)))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        );
    }
    if let Some(r) = &s.replications {
        row(
            "Replications (--replications)",
            format!(
                "{} parameter sets, each run {} times with its own chance draws",
                group_thousands(r.parameter_sets),
                group_thousands(r.replications)
            ),
        );
    }
    row("Version", format!("alliance-sim {}", e(&s.version)));
    h.push_str("</dl>\n");

    // Contents.
    h.push_str("<nav><h2>Contents</h2><ul>\n");
    let mut toc: Vec<(&str, &str)> = vec![("finding", "Finding"), ("outcomes", "Outcomes")];
    if s.replications.is_some() {
        toc.push(("across-inputs", "Across inputs"));
    }
    if !s.decisions.is_empty() {
        toc.push(("decisions", "Decisions"));
    }
    if !s.events.is_empty() {
        toc.push(("events", "Events"));
    }
    if !s.metrics.is_empty() {
        toc.push(("metrics", "Metrics"));
    }
    if charts.iter().any(|c| c.0 != REPLICATIONS_CHART) {
        toc.push(("charts", "Charts"));
    }
    if !s.parameters.is_empty() {
        toc.push(("parameters", "Parameters"));
    }
    if !analyses.is_empty() {
        toc.push(("analyses", "Further analyses"));
    }
    for (id, title) in &toc {
        let _ = writeln!(h, "<li><a href=\"#{id}\">{title}</a></li>");
    }
    h.push_str("</ul></nav>\n");

    outcomes_table(&mut h, s);
    // The replications chart belongs to its section; the others go under Charts.
    let (across, charts): (Vec<_>, Vec<_>) = charts.iter().partition(|c| c.0 == REPLICATIONS_CHART);
    across_inputs(&mut h, s, across.first().copied());
    decisions_table(&mut h, s);
    events_table(&mut h, s);
    metrics_table(&mut h, s);

    if !charts.is_empty() {
        h.push_str("<h2 id=\"charts\">Charts</h2>\n");
        for chart in charts {
            figure(&mut h, chart);
        }
    }

    parameters_table(&mut h, s);
    analyses_list(&mut h, analyses);

    let _ = write!(
        h,
        "<footer>{} runs · seed {} · alliance-sim {}</footer>\n</main>\n</body>\n</html>\n",
        group_thousands(s.runs),
        s.seed,
        e(&s.version)
    );
    h
}

/// Links to the analyses of the scenario found beside the study, each with its chart.
fn analyses_list(h: &mut String, analyses: &[AnalysisLink]) {
    if analyses.is_empty() {
        return;
    }
    let e = escape_html;
    h.push_str(
        "<h2 id=\"analyses\">Further analyses</h2>\n<p class=\"muted\">Results of this \
         scenario's analyses found beside the study when this page was written (each from its \
         own runs; <code>alliance-sim report</code> relinks them).</p>\n<ul>\n",
    );
    for a in analyses {
        let _ = write!(
            h,
            "<li>{} — <a href=\"{}\"><code>{}</code></a>",
            e(&a.title),
            e(&a.json),
            e(&a.json)
        );
        if let Some(chart) = &a.chart {
            let _ = write!(
                h,
                "<br><a href=\"{0}\"><img src=\"{0}\" alt=\"{1}\" style=\"max-width:min(100%,640px)\"></a>",
                e(chart),
                e(&a.title)
            );
        }
        h.push_str("</li>\n");
    }
    h.push_str("</ul>\n");
}

/// The name of the chart shown in the "Across inputs" section rather than under Charts.
const REPLICATIONS_CHART: &str = "replications";

/// A chart inline, with its title and file name under it.
fn figure(h: &mut String, (name, title, svg): &(&str, &str, String)) {
    let e = escape_html;
    let _ = write!(
        h,
        "<figure id=\"chart-{}\">\n{}\n<figcaption>{} — <code>{}.svg</code></figcaption>\n</figure>\n",
        e(name),
        inline_svg(svg),
        e(title),
        e(name)
    );
}

/// The SVG text without an XML declaration, ready to sit inside the page.
fn inline_svg(svg: &str) -> &str {
    let t = svg.trim();
    match (t.starts_with("<?xml"), t.find("?>")) {
        (true, Some(end)) => t[end + 2..].trim_start(),
        _ => t,
    }
}

fn ci(c: [f64; 2]) -> String {
    format!("{} – {}", percent(c[0]), percent(c[1]))
}

fn outcomes_table(h: &mut String, s: &Summary) {
    let e = escape_html;
    h.push_str(
        "<h2 id=\"outcomes\">Outcomes</h2>\n<table>\n<thead><tr><th>Outcome</th>\
         <th class=\"num\">Runs</th><th class=\"num\">Probability</th>\
         <th class=\"num\">95% CI (Wilson)</th></tr></thead>\n<tbody>\n",
    );
    for o in &s.outcomes {
        let _ = writeln!(
            h,
            "<tr><td>{} <span class=\"muted\"><code>{}</code></span></td><td class=\"num\">{}</td>\
             <td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
            e(&o.label),
            e(&o.id),
            group_thousands(o.count),
            percent(o.probability),
            ci(o.ci95)
        );
    }
    h.push_str("</tbody>\n</table>\n");
}

/// What `run --replications` adds: each outcome across parameter sets, a row per outcome, the
/// note where chance makes most of the spread, and the chart.
fn across_inputs(h: &mut String, s: &Summary, chart: Option<&(&str, &str, String)>) {
    let Some(r) = &s.replications else {
        return;
    };
    let e = escape_html;
    let runs = group_thousands(r.replications);
    let _ = writeln!(
        h,
        "<h2 id=\"across-inputs\">Across inputs</h2>\n<p>{} parameter sets of {runs} runs, \
         each run with its own chance draws. The percentiles are of each set's share of its \
         {runs} runs, so with few replications they include chance as well as the inputs.</p>",
        group_thousands(r.parameter_sets)
    );
    h.push_str(
        // Headers on two lines: the numbers' columns do not wrap, so long headers would squeeze
        // the outcomes' labels.
        "<table>\n<thead><tr><th>Outcome</th><th class=\"num\">5th–95th pct<br>of sets</th>\
         <th class=\"num\">Median</th><th class=\"num\">Mean</th>\
         <th class=\"num\">Inputs' share of<br>variance (95% CI)</th>\
         <th class=\"num\">Chance's share<br>of the spread</th></tr></thead>\n<tbody>\n",
    );
    let d = set_share_decimals(r.replications);
    let label = |i: usize, row: &ReplicatedOutcome| {
        s.outcomes
            .get(i)
            .filter(|o| o.id == row.id)
            .map_or_else(|| row.id.clone(), |o| o.label.clone())
    };
    for (i, row) in r.outcomes.iter().enumerate() {
        let inputs = match (row.input_share, row.input_share_ci95) {
            (Some(x), Some(c)) => format!("{} ({})", percent(x), ci(c)),
            (Some(x), None) => percent(x),
            (None, _) if r.parameter_sets < 2 => "one set".to_string(),
            (None, _) => "no variance".to_string(),
        };
        let _ = writeln!(
            h,
            "<tr><td>{} <span class=\"muted\"><code>{}</code></span></td>\
             <td class=\"num\">{} – {}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>\
             <td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
            e(&label(i, row)),
            e(&row.id),
            percent_to(row.p05, d),
            percent_to(row.p95, d),
            percent_to(row.p50, d),
            percent_to(row.mean, d),
            inputs,
            row.chance_in_spread
                .map_or_else(|| "—".to_string(), percent)
        );
    }
    h.push_str("</tbody>\n</table>\n");
    let noisy: Vec<String> = r
        .outcomes
        .iter()
        .enumerate()
        .filter(|(_, row)| row.chance_in_spread.is_some_and(|c| c > 0.5))
        .map(|(i, row)| e(&label(i, row)))
        .collect();
    if !noisy.is_empty() {
        let _ = writeln!(
            h,
            "<p class=\"muted\">Note: for {}, chance in {runs} runs a set makes over half the \
             spread of the sets' shares, so its percentiles are wider than the inputs alone make \
             them; more <code>--replications</code> narrow them.</p>",
            noisy.join(", ")
        );
    }
    if let Some(chart) = chart {
        figure(h, chart);
    }
}

fn decisions_table(h: &mut String, s: &Summary) {
    if s.decisions.is_empty() {
        return;
    }
    let e = escape_html;
    h.push_str(
        "<h2 id=\"decisions\">Decisions</h2>\n<table>\n<thead><tr><th>Decision</th><th>Actor</th>\
         <th>Date</th><th>Option</th><th class=\"num\">Runs</th>\
         <th class=\"num\">Share of runs</th><th class=\"num\">95% CI</th></tr></thead>\n<tbody>\n",
    );
    for d in &s.decisions {
        let date = d
            .step
            .and_then(|st| s.time_axis.dates.get(st as usize))
            .map(|d| e(d))
            .or_else(|| {
                let t = d.timing.as_ref()?;
                Some(format!("{} to {}", e(&t.from_date), e(&t.until_date)))
            })
            .unwrap_or_else(|| "—".to_string());
        let rows = d.options.len() + usize::from(d.not_taken > 0);
        let mut first = true;
        let mut lead = |h: &mut String| {
            if first {
                first = false;
                let _ = write!(
                    h,
                    "<td rowspan=\"{rows}\">{}</td><td rowspan=\"{rows}\">{}</td>\
                     <td class=\"date\" rowspan=\"{rows}\">{}</td>",
                    e(if d.label.is_empty() { &d.id } else { &d.label }),
                    e(&d.actor),
                    if d.fixed {
                        format!("{date} (fixed as a fact)")
                    } else {
                        date.clone()
                    }
                );
            }
        };
        for o in &d.options {
            h.push_str("<tr>");
            lead(h);
            let _ = writeln!(
                h,
                "<td>{} <span class=\"muted\"><code>{}</code></span></td><td class=\"num\">{}</td>\
                 <td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
                e(&humanize(&o.id)),
                e(&o.id),
                group_thousands(o.count),
                percent(o.probability),
                ci(o.ci95)
            );
        }
        if d.not_taken > 0 {
            h.push_str("<tr>");
            lead(h);
            let share = if s.runs > 0 {
                d.not_taken as f64 / s.runs as f64
            } else {
                0.0
            };
            let _ = writeln!(
                h,
                "<td class=\"muted\">not taken</td><td class=\"num\">{}</td>\
                 <td class=\"num\">{}</td><td class=\"num\"></td></tr>",
                group_thousands(d.not_taken),
                percent(share)
            );
        }
        if rows == 0 {
            h.push_str("<tr>");
            lead(h);
            h.push_str("<td class=\"muted\" colspan=\"4\">no options</td></tr>\n");
        }
    }
    h.push_str("</tbody>\n</table>\n");
    recurring_table(h, s);
    timing_tables(h, s);
}

/// Decisions open over a window: the runs that took each option at each step.
fn timing_tables(h: &mut String, s: &Summary) {
    let e = escape_html;
    for d in &s.decisions {
        let Some(t) = &d.timing else {
            continue;
        };
        let name = if d.label.is_empty() { &d.id } else { &d.label };
        let default = match &t.default {
            Some(option) => format!(
                "; waiting at the deadline takes <code>{}</code> ({} of runs)",
                e(option),
                percent(t.forced_share)
            ),
            None => "; a run that waits to the end does not take it".to_string(),
        };
        let _ = write!(
            h,
            "<p class=\"muted\">When <strong>{}</strong> was taken: open {} to {}{default}.</p>\n\
             <table>\n<thead><tr><th>Date</th><th class=\"num\">Step</th>",
            e(name),
            e(&t.from_date),
            e(&t.until_date)
        );
        for o in &d.options {
            let _ = write!(h, "<th class=\"num\">{}</th>", e(&o.id));
        }
        h.push_str("<th class=\"num\">Share of runs</th></tr></thead>\n<tbody>\n");
        for step in &t.steps {
            let _ = write!(
                h,
                "<tr><td>{}</td><td class=\"num\">{}</td>",
                e(&step.date),
                step.step
            );
            for &n in &step.options {
                let _ = write!(h, "<td class=\"num\">{}</td>", group_thousands(n));
            }
            let _ = writeln!(h, "<td class=\"num\">{}</td></tr>", percent(step.share));
        }
        if t.steps.is_empty() {
            let cols = d.options.len() + 3;
            let _ = writeln!(
                h,
                "<tr><td class=\"muted\" colspan=\"{cols}\">no run took it</td></tr>"
            );
        }
        h.push_str("</tbody>\n</table>\n");
    }
}

/// Decisions taken again and again: how often, and each option's share of runs that took it
/// at least once (the table above counts the option taken last).
fn recurring_table(h: &mut String, s: &Summary) {
    let recurring: Vec<_> = s
        .decisions
        .iter()
        .filter_map(|d| d.recurring.as_ref().map(|r| (d, r)))
        .collect();
    if recurring.is_empty() {
        return;
    }
    let e = escape_html;
    h.push_str(
        "<p class=\"muted\">For a recurring decision the table above counts the option taken \
         last; this one counts every time.</p>\n<table>\n<thead><tr><th>Recurring decision</th>\
         <th>Schedule</th><th class=\"num\">Times per run</th><th>Option</th>\
         <th class=\"num\">Runs that took it</th><th class=\"num\">95% CI</th>\
         <th class=\"num\">Times per run</th></tr></thead>\n<tbody>\n",
    );
    for (d, r) in recurring {
        let schedule = match r.every {
            Some(every) => format!("every {every} steps, at most {} times", r.most_times),
            None => format!("when its condition holds, at most {} times", r.most_times),
        };
        for (k, o) in r.options.iter().enumerate() {
            h.push_str("<tr>");
            if k == 0 {
                let rows = r.options.len();
                let _ = write!(
                    h,
                    "<td rowspan=\"{rows}\">{}</td><td rowspan=\"{rows}\">{}</td>\
                     <td class=\"num\" rowspan=\"{rows}\">{}</td>",
                    e(if d.label.is_empty() { &d.id } else { &d.label }),
                    e(&schedule),
                    fixed_or_scientific(r.mean_times, 2)
                );
            }
            let _ = writeln!(
                h,
                "<td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>\
                 <td class=\"num\">{}</td></tr>",
                e(&o.id),
                percent(o.share_with_any),
                ci(o.ci95),
                fixed_or_scientific(o.mean_times, 2)
            );
        }
    }
    h.push_str("</tbody>\n</table>\n");
}

fn events_table(h: &mut String, s: &Summary) {
    if s.events.is_empty() {
        return;
    }
    let e = escape_html;
    h.push_str(
        "<h2 id=\"events\">Events</h2>\n<table>\n<thead><tr><th>Event</th><th>Date</th>\
         <th class=\"num\">Runs where it fired</th><th class=\"num\">Mean count per run</th>\
         </tr></thead>\n<tbody>\n",
    );
    for ev in &s.events {
        let date = match ev.step {
            Some(st) => s
                .time_axis
                .dates
                .get(st as usize)
                .map(|d| e(d))
                .unwrap_or_else(|| format!("step {st}")),
            None => "<span class=\"muted\">stochastic</span>".to_string(),
        };
        let _ = writeln!(
            h,
            "<tr><td>{} <span class=\"muted\"><code>{}</code></span></td><td class=\"date\">{}</td>\
             <td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
            e(&ev.label),
            e(&ev.id),
            date,
            percent(ev.share_fired),
            by_magnitude(ev.mean_count)
        );
    }
    h.push_str("</tbody>\n</table>\n");
}

fn metrics_table(h: &mut String, s: &Summary) {
    if s.metrics.is_empty() {
        return;
    }
    let e = escape_html;
    if s.metrics.iter().all(|m| m.by_value()) {
        h.push_str("<h2 id=\"metrics\">Metrics</h2>\n");
        metric_values_table(h, s);
        return;
    }
    h.push_str(
        "<h2 id=\"metrics\">Metrics</h2>\n<p>Value at the end of the run.</p>\n<table>\n<thead><tr>\
         <th>Metric</th><th class=\"num\">Mean</th><th class=\"num\">SD</th>\
         <th class=\"num\">5th pct</th><th class=\"num\">Median</th><th class=\"num\">95th pct</th>\
         <th>Unit</th></tr></thead>\n<tbody>\n",
    );
    for m in s.metrics.iter().filter(|m| !m.by_value()) {
        let _ = writeln!(
            h,
            "<tr><td>{} <span class=\"muted\"><code>{}</code></span></td><td class=\"num\">{}</td>\
             <td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>\
             <td class=\"num\">{}</td><td>{}</td></tr>",
            e(&m.label),
            e(&m.id),
            by_magnitude(m.mean),
            m.sd.map_or_else(|| "n/a".to_string(), by_magnitude),
            by_magnitude(m.p05),
            by_magnitude(m.p50),
            by_magnitude(m.p95),
            e(&m.unit)
        );
    }
    h.push_str("</tbody>\n</table>\n");
    for m in s.metrics.iter().filter(|m| !m.by_value()) {
        if let Some(note) = m.accuracy_note() {
            let _ = writeln!(h, "<p class=\"muted\">Note: {}</p>", e(&note));
        }
    }
    metric_values_table(h, s);
}

/// Count and categorical metrics: the share of runs at each value with its interval, as
/// outcomes are shown, instead of a mean of status codes.
fn metric_values_table(h: &mut String, s: &Summary) {
    let e = escape_html;
    let by_value: Vec<_> = s.metrics.iter().filter(|m| m.by_value()).collect();
    if by_value.is_empty() {
        return;
    }
    h.push_str(
        "<p>Count and categorical metrics: the share of runs that ended at each value.</p>\n\
         <table>\n<thead><tr><th>Metric</th><th>Value</th><th class=\"num\">Runs</th>\
         <th class=\"num\">Share</th><th class=\"num\">95% interval</th></tr></thead>\n<tbody>\n",
    );
    for m in &by_value {
        let mut rows: Vec<(String, u64, f64, [f64; 2])> = m
            .values
            .iter()
            .map(|v| {
                let name = if v.label.is_empty() {
                    by_magnitude(v.value)
                } else {
                    format!(
                        "{} <span class=\"muted\">{}</span>",
                        e(&v.label),
                        by_magnitude(v.value)
                    )
                };
                (name, v.count, v.share, v.ci95)
            })
            .collect();
        if let Some(o) = &m.other {
            rows.push((
                "<span class=\"muted\">other</span>".into(),
                o.count,
                o.share,
                o.ci95,
            ));
        }
        for (k, (name, count, share, interval)) in rows.iter().enumerate() {
            let lead = if k == 0 {
                format!(
                    "<td rowspan=\"{}\">{} <span class=\"muted\"><code>{}</code></span></td>",
                    rows.len(),
                    e(&m.label),
                    e(&m.id)
                )
            } else {
                String::new()
            };
            let _ = writeln!(
                h,
                "<tr>{lead}<td>{name}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>\
                 <td class=\"num\">{}</td></tr>",
                group_thousands(*count),
                percent(*share),
                ci(*interval)
            );
        }
    }
    h.push_str("</tbody>\n</table>\n");
    for m in &by_value {
        if let Some(note) = m.other_note() {
            let _ = writeln!(h, "<p class=\"muted\">Note: {}</p>", e(&note));
        }
    }
}

fn parameters_table(h: &mut String, s: &Summary) {
    if s.parameters.is_empty() {
        return;
    }
    let e = escape_html;
    h.push_str(
        "<h2 id=\"parameters\">Parameters</h2>\n<table>\n<thead><tr><th>Parameter</th>\
         <th>Distribution</th><th>Unit</th><th class=\"num\">Mean sampled</th><th>Rationale</th>\
         <th>Source</th></tr></thead>\n<tbody>\n",
    );
    for p in &s.parameters {
        let fixed = s
            .fixed
            .iter()
            .find(|f| f.id == p.id)
            .map(|f| {
                format!(
                    "<br><span class=\"muted\">fixed by --set to {}</span>",
                    f.value
                )
            })
            .unwrap_or_default();
        let _ = writeln!(
            h,
            "<tr><td>{}<br><span class=\"muted\"><code>{}</code></span></td><td><code>{}</code>{}</td>\
             <td>{}</td><td class=\"num\">{}</td><td class=\"rationale\">{}</td><td>{}</td></tr>",
            e(&p.label),
            e(&p.id),
            e(&p.distribution),
            fixed,
            e(&p.unit),
            by_magnitude(p.mean),
            e(&p.rationale),
            linked(&p.source)
        );
    }
    h.push_str("</tbody>\n</table>\n");
}

#[cfg(test)]
mod tests {
    use super::super::charts::tests::{sample_summary, with_replications};
    use super::super::{write_charts, ChartOptions};
    use super::*;

    #[test]
    fn escapes() {
        assert_eq!(
            escape_html(r#"a < b & "c" > 'd'"#),
            "a &lt; b &amp; &quot;c&quot; &gt; &#39;d&#39;"
        );
        assert_eq!(escape_html("plain — ünïcode"), "plain — ünïcode");
    }

    #[test]
    fn report_has_tables_charts_and_escaped_text() {
        let summary = sample_summary();
        let dir = tempfile::tempdir().unwrap();
        let charts = write_charts(&summary, dir.path(), &ChartOptions::default()).unwrap();
        let out = dir.path().join("report.html");
        write_html(&summary, dir.path(), &out, &[]).unwrap();
        let html = std::fs::read_to_string(&out).unwrap();

        assert!(html.starts_with("<!DOCTYPE html>"));
        assert!(html.trim_end().ends_with("</html>"));
        assert!(!html.contains("<script"), "no scripts");
        assert!(!html.contains("https://"), "no network");
        assert_eq!(
            html.matches("http://").count(),
            html.matches("http://www.w3.org/").count(),
            "no network"
        );
        // Every chart inline (the sample has a timed decision, so its chart too).
        assert_eq!(charts.len(), 6);
        assert!(html.contains("<figure id=\"chart-decision_timing\">"));
        // Its table by step: the window and a row per step.
        assert!(html.contains("was taken: open"), "the timing table");
        assert!(
            html.contains("<td class=\"num\">14</td>"),
            "the first step's row"
        );
        for c in &charts {
            assert!(html.contains(&format!("<figure id=\"chart-{}\">", c.name)));
            let svg = std::fs::read_to_string(&c.svg).unwrap();
            assert!(html.contains(inline_svg(&svg)), "{} inlined", c.name);
        }
        assert_eq!(html.matches("<svg").count(), charts.len());
        // Provenance.
        for needle in [
            "20191122",
            "100,000",
            "latin-hypercube",
            "scenarios/gsomia_2019.toml",
            &summary.scenario.sha256,
            "alliance-sim 0.1.0",
        ] {
            assert!(html.contains(needle), "missing {needle}");
        }
        // Tables.
        for p in &summary.parameters {
            assert!(html.contains(&escape_html(&p.rationale)), "{}", p.id);
            assert!(html.contains(&escape_html(&p.source)), "{}", p.id);
        }
        for m in &summary.metrics {
            assert!(html.contains(&escape_html(&m.label)));
        }
        assert!(html.contains("let lapse"));
        assert!(html.contains("not taken"));
        // Escaping: the raw `&` and `<` of labels never appear, their escapes do.
        assert!(html.contains("Japan &amp; US &lt;mediation&gt;"));
        assert!(!html.contains("Japan & US"));
        assert!(!html.contains("<mediation>"));
        assert!(html.contains("Elections &lt; 6 months away &amp; polls split"));
        assert!(html.contains("July 2019 &amp; under US pressure"));
    }

    #[test]
    fn addresses_in_sources_are_escaped_links_that_send_no_referrer() {
        assert_eq!(
            linked("Yonhap, https://m-en.yna.co.kr/view/AEN1; KBS"),
            "Yonhap, <a href=\"https://m-en.yna.co.kr/view/AEN1\" rel=\"noreferrer\">\
             https://m-en.yna.co.kr/view/AEN1</a>; KBS"
        );
        // Trailing punctuation is not part of the address; a balanced parenthesis is.
        assert_eq!(
            linked("(see http://a.org/x.)"),
            "(see <a href=\"http://a.org/x\" rel=\"noreferrer\">http://a.org/x</a>.)"
        );
        assert!(linked("https://w.org/Page:G_(E).pdf/10")
            .contains("href=\"https://w.org/Page:G_(E).pdf/10\""));
        // Quotes and angle brackets cannot leave the attribute or the element.
        let hostile = linked("https://x.org/?a=1&b=\"><script>alert(1)</script>");
        assert!(!hostile.contains("<script"), "{hostile}");
        assert!(
            hostile.contains("href=\"https://x.org/?a=1&amp;b=\""),
            "{hostile}"
        );
        // Only http and https at the start of a word become links.
        for plain in [
            "javascript:alert(1)",
            "file:///etc/passwd",
            "xhttps://a.org",
            "https://",
            "mofa.go.kr (seq=1)",
        ] {
            assert!(!linked(plain).contains("<a "), "{plain}");
            assert_eq!(linked(plain), escape_html(plain));
        }
    }

    #[test]
    fn the_finding_opens_the_page_with_the_summary_s_numbers() {
        let summary = sample_summary();
        let html = render(&summary, &[], &[]);
        let f = finding(&summary);
        let section = html
            .find("<section id=\"finding\"")
            .expect("finding section");
        assert!(
            section < html.find("<dl class=\"run\">").unwrap(),
            "before the provenance"
        );
        assert!(section < html.find("id=\"outcomes\"").unwrap());
        assert!(html.contains(&with_code(&f.outcome)));
        assert!(html.contains(&with_code(&f.driver)));
        for c in &f.caveats {
            assert!(html.contains(&with_code(c)));
        }
        assert!(html.contains("<li><a href=\"#finding\">Finding</a></li>"));
    }

    /// A status code is shown by the share of runs at each value, with the counts and
    /// intervals of the summary, and not as a mean among the continuous metrics.
    #[test]
    fn a_categorical_metric_is_shown_as_shares_per_value() {
        use crate::montecarlo::aggregate::wilson;
        use crate::montecarlo::summary::ValueShare;
        let mut summary = sample_summary();
        let runs = summary.runs;
        let m = &mut summary.metrics[0];
        m.kind = "categorical".into();
        m.values = [
            (1.0, "in force", runs * 3 / 5),
            (0.5, "notice pending", runs * 2 / 5),
            (0.0, "lapsed", 0),
        ]
        .iter()
        .map(|&(value, label, count)| ValueShare {
            value,
            label: label.into(),
            count,
            share: count as f64 / runs as f64,
            ci95: wilson(count, runs),
        })
        .collect();
        let id = m.id.clone();
        let values = m.values.clone();
        let html = render(&summary, &[], &[]);
        let table = &html[html
            .find("the share of runs that ended at each value")
            .expect("value table")..];
        for v in &values {
            let row = format!(
                "<td>{} <span class=\"muted\">{}</span></td><td class=\"num\">{}</td><td class=\"num\">{}</td>\
                 <td class=\"num\">{}</td></tr>",
                v.label,
                by_magnitude(v.value),
                group_thousands(v.count),
                percent(v.share),
                ci(v.ci95)
            );
            assert!(table.contains(&row), "{row}\n{table}");
        }
        // Not among the means: its row in the continuous table would start with its id.
        let continuous = &html[html.find("id=\"metrics\"").expect("metrics")
            ..html.find("the share of runs that ended").expect("values")];
        assert!(
            !continuous.contains(&format!("<code>{id}</code>")),
            "{continuous}"
        );
    }

    #[test]
    fn the_across_inputs_section_is_there_only_with_replications_and_escapes_its_labels() {
        let plain = render(&sample_summary(), &[], &[]);
        for absent in [
            "id=\"across-inputs\"",
            "Across inputs",
            "--replications",
            "finding-inputs",
        ] {
            assert!(!plain.contains(absent), "{absent} without replications");
        }

        let mut summary = sample_summary();
        summary.outcomes[0].label = "<b>Lapse</b> & \"notice\"".into();
        with_replications(&mut summary, 20);
        let r = summary.replications.clone().unwrap();
        // Chance makes most of the spread of the first outcome only.
        if let Some(rows) = summary.replications.as_mut().map(|r| &mut r.outcomes) {
            rows[0].chance_in_spread = Some(0.8);
            rows[1].chance_in_spread = Some(0.3);
            rows[2].chance_in_spread = None;
        }
        let dir = tempfile::tempdir().unwrap();
        let charts = write_charts(&summary, dir.path(), &ChartOptions::default()).unwrap();
        let out = dir.path().join("report.html");
        write_html(&summary, dir.path(), &out, &[]).unwrap();
        let html = std::fs::read_to_string(&out).unwrap();

        assert!(html.contains("<li><a href=\"#across-inputs\">Across inputs</a></li>"));
        assert!(html.contains(
            "<dt>Replications (--replications)</dt><dd>5,000 parameter sets, each run 20 times \
             with its own chance draws</dd>"
        ));
        let start = html.find("<h2 id=\"across-inputs\">").expect("the section");
        let end = html
            .find("<h2 id=\"decisions\">")
            .expect("decisions after it");
        assert!(
            html.find("<h2 id=\"outcomes\">").unwrap() < start,
            "after the outcomes"
        );
        let section = &html[start..end];
        assert!(
            section.contains("5,000 parameter sets of 20 runs"),
            "{section}"
        );
        assert!(html.contains(&format!(
            "<p class=\"finding-inputs\">{}</p>",
            with_code(&finding(&summary).across_inputs)
        )));
        for (o, row) in summary.outcomes.iter().zip(&r.outcomes) {
            let [lo, hi] = row.input_share_ci95.unwrap();
            let cells = format!(
                "<td class=\"num\">{} – {}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>\
                 <td class=\"num\">{} ({} – {})</td>",
                percent(row.p05),
                percent(row.p95),
                percent(row.p50),
                percent(row.mean),
                percent(row.input_share.unwrap()),
                percent(lo),
                percent(hi)
            );
            assert!(section.contains(&cells), "{}: {cells}\n{section}", o.id);
        }
        // The labels escaped, in the rows and in the note, which names the first outcome only.
        assert!(!html.contains("<b>Lapse</b>"));
        assert!(!html.contains("& \"notice\""));
        let escaped = "&lt;b&gt;Lapse&lt;/b&gt; &amp; &quot;notice&quot;";
        assert!(section.contains(&format!("<tr><td>{escaped} <span")));
        let note = &section[section.find("Note: for ").expect("the note")..];
        assert!(note.starts_with(&format!("Note: for {escaped}, chance in 20 runs a set")));
        assert!(!note[..note.find("</p>").unwrap()].contains(&summary.outcomes[1].label));
        // A design's rows are parameter sets, each run R times.
        summary.design = Some(crate::montecarlo::summary::DesignInfo {
            file: "design.csv".into(),
            sha256: "00".into(),
            rows: 5000,
            parameters: vec!["us_pressure".into()],
        });
        assert!(render(&summary, &[], &[]).contains("5,000 rows (one per parameter set)"));
        // The chart inline in the section, once, and not again under Charts.
        assert!(charts.iter().any(|c| c.name == "replications"));
        assert!(section.contains("<figure id=\"chart-replications\">"));
        assert_eq!(
            html.matches("<figure id=\"chart-replications\">").count(),
            1
        );
        assert_eq!(html.matches("<svg").count(), charts.len());
    }

    #[test]
    fn print_styles_keep_charts_and_rows_whole_on_white() {
        let print = &CSS[CSS.find("@media print").expect("print styles")..];
        for rule in [
            "figure, section.finding { break-inside: avoid;",
            "tr, th, td { break-inside: avoid;",
            "body { background: #fff;",
            "th { background: none;",
        ] {
            assert!(print.contains(rule), "missing {rule}");
        }
    }

    #[test]
    fn missing_chart_is_an_io_error_with_its_path() {
        let summary = sample_summary();
        let dir = tempfile::tempdir().unwrap();
        let err =
            write_html(&summary, dir.path(), &dir.path().join("report.html"), &[]).unwrap_err();
        match err {
            ReportError::Io { path, .. } => assert!(path.ends_with("outcomes.svg")),
            other => panic!("unexpected {other}"),
        }
        assert!(!dir.path().join("report.html").exists());
    }

    #[test]
    fn strips_xml_declaration() {
        assert_eq!(
            inline_svg("<?xml version=\"1.0\"?>\n<svg></svg>\n"),
            "<svg></svg>"
        );
        assert_eq!(inline_svg("<svg></svg>"), "<svg></svg>");
    }
}
