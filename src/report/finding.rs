//! The finding at the top of `report.html`, in plain words, computed from the [`Summary`] alone:
//! the most likely outcome, what moves it most, and what the numbers do not say.
//!
//! Every number printed is one of the summary's (a probability, an interval, a count, a bin's
//! bounds) or a share of its counts, formatted as the tables format it. Where the runs cannot
//! support a claim (a tie, overlapping intervals, too few runs per bin), the text says so
//! instead of naming a winner.

use crate::montecarlo::summary::{DriverBin, OutcomeSummary, ParameterSummary};
use crate::montecarlo::Summary;
use crate::report::format::{
    by_magnitude, group_thousands, percent, percent_to, set_share_decimals,
};

/// The finding, as plain text (the page escapes it).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Finding {
    /// The most likely outcome with its probability and 95% interval.
    pub outcome: String,
    /// The parameter that moves it most, or why none can be named.
    pub driver: String,
    /// With `run --replications`, how the outcome the inputs move most spreads over the
    /// parameter sets; empty otherwise.
    pub across_inputs: String,
    /// What the numbers do not say.
    pub caveats: Vec<String>,
}

/// The finding of `s`.
pub(crate) fn finding(s: &Summary) -> Finding {
    let top = most_likely(&s.outcomes);
    Finding {
        outcome: outcome_text(s, &top),
        driver: match top.first() {
            Some(&i) => driver_text(s, i),
            None => String::new(),
        },
        across_inputs: across_inputs_text(s),
        caveats: caveats(s),
    }
}

/// Indices of the outcomes with the largest count, in file order.
fn most_likely(outcomes: &[OutcomeSummary]) -> Vec<usize> {
    let Some(max) = outcomes.iter().map(|o| o.count).max() else {
        return Vec::new();
    };
    (0..outcomes.len())
        .filter(|&i| outcomes[i].count == max)
        .collect()
}

fn ci(c: [f64; 2]) -> String {
    format!("{} – {}", percent(c[0]), percent(c[1]))
}

fn quoted(label: &str) -> String {
    format!("“{label}”")
}

/// `a`, `a and b`, `a, b and c`.
fn and_list(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}

fn runs_text(n: u64) -> String {
    if n == 1 {
        "1 run".to_string()
    } else {
        format!("{} runs", group_thousands(n))
    }
}

fn outcome_text(s: &Summary, top: &[usize]) -> String {
    let outcomes = &s.outcomes;
    let Some(&first) = top.first() else {
        return "The scenario has no outcomes, so there is no finding to report.".to_string();
    };
    let o = &outcomes[first];
    let mut text = if s.runs == 1 {
        format!(
            "Only one run: it ended as {}. One run cannot estimate a probability: the 95% \
             interval for that outcome is {}.",
            quoted(&o.label),
            ci(o.ci95)
        )
    } else if top.len() > 1 {
        let labels: Vec<String> = top.iter().map(|&i| quoted(&outcomes[i].label)).collect();
        format!(
            "No single outcome is most likely: {} each happened in {} of {} ({}, 95% interval {}).",
            and_list(&labels),
            group_thousands(o.count),
            runs_text(s.runs),
            percent(o.probability),
            ci(o.ci95)
        )
    } else if o.count == s.runs {
        format!(
            "Every one of the {} ended as {} ({}, 95% interval {}).",
            runs_text(s.runs),
            quoted(&o.label),
            percent(o.probability),
            ci(o.ci95)
        )
    } else {
        let mut t = format!(
            "The most likely outcome is {}: {} of {} (95% interval {}).",
            quoted(&o.label),
            percent(o.probability),
            runs_text(s.runs),
            ci(o.ci95)
        );
        // The runner-up: the largest count below the top one, first in file order.
        let second = (0..outcomes.len())
            .filter(|&i| i != first)
            .max_by_key(|&i| (outcomes[i].count, std::cmp::Reverse(i)));
        if let Some(j) = second {
            let r = &outcomes[j];
            if r.ci95[1] >= o.ci95[0] {
                t.push_str(&format!(
                    " It is not clearly ahead of {}, at {} (95% interval {}): the intervals overlap.",
                    quoted(&r.label),
                    percent(r.probability),
                    ci(r.ci95)
                ));
            } else if r.count > 0 {
                t.push_str(&format!(
                    " Next is {} at {} (95% interval {}).",
                    quoted(&r.label),
                    percent(r.probability),
                    ci(r.ci95)
                ));
            }
        }
        t
    };
    if s.runs > 1 {
        let never: Vec<&OutcomeSummary> = outcomes.iter().filter(|o| o.count == 0).collect();
        if let Some(first_never) = never.first() {
            let labels: Vec<String> = never.iter().map(|o| quoted(&o.label)).collect();
            // Every outcome never seen has the same interval: 0 to the same upper bound.
            text.push_str(&format!(
                " Never seen in these runs: {} (95% interval {}).",
                and_list(&labels),
                ci(first_never.ci95)
            ));
        }
    }
    text
}

/// One parameter's share of an outcome in its lowest and highest tenth of draws.
struct Ends<'a> {
    parameter: &'a ParameterSummary,
    low: &'a DriverBin,
    high: &'a DriverBin,
    low_share: f64,
    high_share: f64,
    low_ci: [f64; 2],
    high_ci: [f64; 2],
}

impl Ends<'_> {
    fn change(&self) -> f64 {
        self.high_share - self.low_share
    }

    /// The two 95% intervals do not overlap: the change is larger than the runs' noise.
    fn clear(&self) -> bool {
        self.low_ci[1] < self.high_ci[0] || self.high_ci[1] < self.low_ci[0]
    }
}

/// The lowest and highest bins of `p` with `outcome`'s share in each; `None` when the
/// parameter is not sampled or either end holds no run.
///
/// The ends, not the largest and smallest of the ten bins: picking the extremes of ten noisy
/// shares would find a change in pure noise, while the two ends are chosen before looking.
fn ends(p: &ParameterSummary, outcome: usize) -> Option<Ends<'_>> {
    let (low, high) = (p.drivers.first()?, p.drivers.last()?);
    if p.drivers.len() < 2 || low.runs == 0 || high.runs == 0 {
        return None;
    }
    let (cl, ch) = (low.outcomes.get(outcome)?, high.outcomes.get(outcome)?);
    Some(Ends {
        parameter: p,
        low,
        high,
        low_share: cl.count as f64 / low.runs as f64,
        high_share: ch.count as f64 / high.runs as f64,
        low_ci: cl.ci95,
        high_ci: ch.ci95,
    })
}

/// Which runs a bin holds: "it was 1" for a bin of one value (a bernoulli or short discrete
/// parameter is binned by its values), else the tenth and its bounds.
fn drawn(bin: &DriverBin, tenth: &str, unit: &str) -> String {
    if bin.lo == bin.hi {
        let value = by_magnitude(bin.lo);
        if unit.trim().is_empty() {
            format!("it was {value}")
        } else {
            format!("it was {value} {unit}")
        }
    } else {
        format!("it was drawn in its {tenth} tenth ({})", bounds(bin, unit))
    }
}

fn bounds(bin: &DriverBin, unit: &str) -> String {
    let range = format!("{} to {}", by_magnitude(bin.lo), by_magnitude(bin.hi));
    if unit.trim().is_empty() {
        range
    } else {
        format!("{range} {unit}")
    }
}

/// `Label (`id`)`, or `` `id` `` for a parameter without a label.
fn name(p: &ParameterSummary) -> String {
    if p.label.trim().is_empty() {
        format!("`{}`", p.id)
    } else {
        format!("{} (`{}`)", p.label, p.id)
    }
}

fn driver_text(s: &Summary, outcome: usize) -> String {
    let label = quoted(&s.outcomes[outcome].label);
    let sampled = s
        .parameters
        .iter()
        .filter(|p| !p.drivers.is_empty())
        .count();
    if sampled == 0 {
        return format!("No parameter is sampled, so these runs cannot say what moves {label}.");
    }
    let all: Vec<Ends> = s
        .parameters
        .iter()
        .filter_map(|p| ends(p, outcome))
        .collect();
    // The largest change, first in file order on a tie.
    let largest = |candidates: &mut dyn Iterator<Item = &Ends<'_>>| -> Option<usize> {
        let mut best: Option<(usize, f64)> = None;
        for (i, e) in candidates.enumerate() {
            if best.is_none_or(|(_, b)| e.change().abs() > b) {
                best = Some((i, e.change().abs()));
            }
        }
        best.map(|(i, _)| i)
    };
    let clear: Vec<&Ends> = all.iter().filter(|e| e.clear()).collect();
    if let Some(i) = largest(&mut clear.iter().copied()) {
        let e = clear[i];
        let p = e.parameter;
        let (verb, others) = (
            if e.change() > 0.0 { "raise" } else { "lower" },
            clear.len() - 1,
        );
        let mut t = format!(
            "What moves {label} most is {}: higher values {verb} it. In the runs where \
             {}, the outcome happened in {} of {} (95% interval {}); where {}, in {} of {} \
             (95% interval {}).",
            name(p),
            drawn(e.low, "lowest", &p.unit),
            percent(e.low_share),
            runs_text(e.low.runs),
            ci(e.low_ci),
            drawn(e.high, "highest", &p.unit),
            percent(e.high_share),
            runs_text(e.high.runs),
            ci(e.high_ci),
        );
        if others > 0 {
            t.push_str(&format!(
                " {others} other parameter{} also move{} it clearly (see the drivers chart).",
                if others == 1 { "" } else { "s" },
                if others == 1 { "s" } else { "" }
            ));
        }
        return t;
    }
    match largest(&mut all.iter()).map(|i| &all[i]) {
        None => format!(
            "Too few runs to compare any parameter's lowest and highest tenth, so these runs \
             cannot say what moves {label}."
        ),
        Some(e) if e.change() == 0.0 => format!(
            "No parameter moves {label} in these runs: its share is the same in every sampled \
             parameter's lowest and highest tenth."
        ),
        Some(e) => format!(
            "No parameter clearly moves {label} at this run count. The largest change between \
             a parameter's lowest and highest tenth is that of {}, from {} (95% interval {}) \
             to {} (95% interval {}), and the two intervals overlap: it is within the noise of \
             the {} and {} in those tenths.",
            name(e.parameter),
            percent(e.low_share),
            ci(e.low_ci),
            percent(e.high_share),
            ci(e.high_ci),
            runs_text(e.low.runs),
            runs_text(e.high.runs),
        ),
    }
}

/// The outcome whose inputs' share of a run's variance is largest (the first on a tie): the
/// range of the sets' shares that holds 90% of them, and that share with its interval. The
/// range is of each set's share of its R runs, so it is said when chance makes most of it.
fn across_inputs_text(s: &Summary) -> String {
    let Some(r) = &s.replications else {
        return String::new();
    };
    let mut best: Option<(usize, f64)> = None;
    for (i, row) in r.outcomes.iter().enumerate() {
        if let Some(x) = row.input_share {
            if best.is_none_or(|(_, b)| x > b) {
                best = Some((i, x));
            }
        }
    }
    let Some((i, share)) = best else {
        return String::new();
    };
    let row = &r.outcomes[i];
    let label = s
        .outcomes
        .get(i)
        .filter(|o| o.id == row.id)
        .map_or_else(|| format!("`{}`", row.id), |o| quoted(&o.label));
    let d = set_share_decimals(r.replications);
    let interval = row
        .input_share_ci95
        .map(|c| format!(" (95% interval {})", ci(c)))
        .unwrap_or_default();
    let mut t = format!(
        "Across {} parameter sets of {} runs each, the share of a set's runs ending in {label} \
         is between {} and {} for 90% of the sets; the inputs make {}{interval} of a run's \
         variance in it, chance the rest.",
        group_thousands(r.parameter_sets),
        group_thousands(r.replications),
        percent_to(row.p05, d),
        percent_to(row.p95, d),
        percent(share),
    );
    if row.chance_in_spread.is_some_and(|c| c > 0.5) {
        t.push_str(&format!(
            " With {} runs a set, chance makes over half of that range.",
            group_thousands(r.replications)
        ));
    }
    t
}

fn caveats(s: &Summary) -> Vec<String> {
    let mut c = vec![
        format!(
            "The 95% intervals are Monte Carlo error only: they say how far the results of {} \
             may be from what the model gives with unlimited runs, not whether the model, its \
             parameter ranges or its rules are right.",
            runs_text(s.runs)
        ),
        "What moves an outcome is the model's response across the ranges the scenario \
         samples, each parameter's tenths compared with the others varying; it is not \
         evidence about the world beyond the model."
            .to_string(),
        match &s.scenario.calibration {
            Some(c) => format!(
                "This is a calibrated variant: its calibrated parameters were fitted to {} \
                 backtest cases by `alliance-sim calibrate`{}. Agreement with those cases is \
                 in-sample; the leave-one-out and time-ordered scores in calibration.json are \
                 the tests of prediction.",
                c.cases.len(),
                c.effective_sample_size
                    .map(|e| format!(" (an effective sample of {e:.0} runs)"))
                    .unwrap_or_default()
            ),
            None => "Where the scenario's weights were calibrated on past decisions \
                     (backtests), agreement with those decisions is in-sample: a fit, not a \
                     test of prediction."
                .to_string(),
        },
    ];
    if !s.fixed.is_empty() {
        let fixed: Vec<String> = s
            .fixed
            .iter()
            .map(|f| {
                let outside = match (&f.support, f.outside_support) {
                    (Some(r), true) => format!(", outside the range it is drawn from, {r}"),
                    (None, true) => ", outside the range it is drawn from".to_string(),
                    _ => String::new(),
                };
                format!("`{}` = {}{outside}", f.id, f.value)
            })
            .collect();
        c.push(format!(
            "Held fixed with --set, not sampled: {}.",
            fixed.join("; ")
        ));
    }
    if let Some(p) = &s.precision {
        if !p.met {
            c.push(format!(
                "The precision target (every interval within ±{} of its probability) was not \
                 met within the {}: the widest side is {} below and {} above.",
                percent(p.target),
                runs_text(p.ceiling),
                percent(p.below),
                percent(p.above)
            ));
        }
    }
    c
}

#[cfg(test)]
mod tests {
    use super::super::charts::tests::{sample_summary, with_replications};
    use super::*;
    use crate::montecarlo::aggregate::wilson;

    /// Sets a bin's outcome counts, with their intervals as a study gives them.
    fn set_counts(bin: &mut DriverBin, counts: &[u64]) {
        assert_eq!(bin.outcomes.len(), counts.len());
        for (cell, &k) in bin.outcomes.iter_mut().zip(counts) {
            cell.count = k;
            cell.ci95 = wilson(k, bin.runs);
        }
    }

    /// Set outcome counts (and their probabilities and intervals, as a study would) for `runs`.
    fn set_outcomes(s: &mut Summary, runs: u64, counts: &[u64]) {
        s.runs = runs;
        assert_eq!(s.outcomes.len(), counts.len());
        for (o, &k) in s.outcomes.iter_mut().zip(counts) {
            o.count = k;
            o.probability = k as f64 / runs as f64;
            o.ci95 = wilson(k, runs);
        }
    }

    /// Every sampled parameter's bins hold `per_bin` runs with the same outcome counts.
    fn flat_drivers(s: &mut Summary, counts: &[u64]) {
        for p in &mut s.parameters {
            for b in &mut p.drivers {
                b.runs = counts.iter().sum();
                set_counts(b, counts);
            }
        }
    }

    #[test]
    fn the_most_likely_outcome_is_named_with_the_summary_s_probability_and_interval() {
        let s = sample_summary();
        let f = finding(&s);
        let top = s.outcomes.iter().max_by_key(|o| o.count).unwrap();
        assert!(
            f.outcome.starts_with("The most likely outcome is"),
            "{}",
            f.outcome
        );
        assert!(f.outcome.contains(&quoted(&top.label)));
        assert!(f.outcome.contains(&percent(top.probability)));
        assert!(f.outcome.contains(&ci(top.ci95)));
        assert!(f.outcome.contains("100,000 runs"));
    }

    #[test]
    fn the_driver_is_the_parameter_with_the_largest_clear_change_between_its_ends() {
        let s = sample_summary();
        let top = most_likely(&s.outcomes)[0];
        // Recompute by hand: the largest |high - low| among the parameters whose ends' intervals
        // do not overlap.
        let mut best: Option<(&ParameterSummary, f64, f64)> = None;
        for p in s.parameters.iter().filter(|p| !p.drivers.is_empty()) {
            let (l, h) = (&p.drivers[0], &p.drivers[p.drivers.len() - 1]);
            let (pl, ph) = (
                l.outcomes[top].count as f64 / l.runs as f64,
                h.outcomes[top].count as f64 / h.runs as f64,
            );
            let (cl, ch) = (
                wilson(l.outcomes[top].count, l.runs),
                wilson(h.outcomes[top].count, h.runs),
            );
            let clear = cl[1] < ch[0] || ch[1] < cl[0];
            if clear && best.is_none_or(|(_, a, b)| (ph - pl).abs() > (b - a).abs()) {
                best = Some((p, pl, ph));
            }
        }
        let (p, pl, ph) = best.expect("the sample summary has a clear driver");
        let f = finding(&s);
        assert!(
            f.driver.contains(&format!(
                "What moves {} most is {}",
                quoted(&s.outcomes[top].label),
                p.label
            )),
            "{}",
            f.driver
        );
        assert!(f.driver.contains(&percent(pl)) && f.driver.contains(&percent(ph)));
        let verb = if ph > pl {
            "higher values raise it"
        } else {
            "higher values lower it"
        };
        assert!(f.driver.contains(verb), "{}", f.driver);
        assert!(f.driver.contains(&by_magnitude(p.drivers[0].lo)));
    }

    #[test]
    fn a_change_within_the_noise_is_not_claimed() {
        let mut s = sample_summary();
        let n = s.outcomes.len();
        // 100 runs per bin; the top outcome 50 in every bin but 45 and 55 at one parameter's
        // ends: a change of 10 points, well within two intervals of about ±10 points.
        let mut counts = vec![0u64; n];
        counts[0] = 50;
        counts[1] = 50;
        flat_drivers(&mut s, &counts);
        set_outcomes(&mut s, 1000, &{
            let mut c = vec![0u64; n];
            c[0] = 520;
            c[1] = 480;
            c
        });
        let p = s
            .parameters
            .iter_mut()
            .find(|p| !p.drivers.is_empty())
            .unwrap();
        let mut ends = vec![0; p.drivers[0].outcomes.len()];
        (ends[0], ends[1]) = (45, 55);
        set_counts(&mut p.drivers[0], &ends);
        let last = p.drivers.len() - 1;
        (ends[0], ends[1]) = (55, 45);
        set_counts(&mut p.drivers[last], &ends);
        let id = p.id.clone();
        let f = finding(&s);
        assert!(
            f.driver.starts_with("No parameter clearly moves"),
            "{}",
            f.driver
        );
        assert!(f.driver.contains(&format!("(`{id}`)")), "{}", f.driver);
        assert!(
            f.driver
                .contains("the 100 runs and 100 runs in those tenths"),
            "{}",
            f.driver
        );
        assert!(f.driver.contains("45.0%") && f.driver.contains("55.0%"));
        assert!(!f.driver.contains("most is"));
    }

    #[test]
    fn a_parameter_without_a_label_is_named_by_its_id() {
        let mut s = sample_summary();
        for p in &mut s.parameters {
            p.label.clear();
        }
        let f = finding(&s);
        assert!(
            !f.driver.contains(" 's") && !f.driver.contains("is :"),
            "{}",
            f.driver
        );
        assert!(f.driver.contains("most is `"), "{}", f.driver);
    }

    #[test]
    fn one_run_says_it_cannot_estimate_a_probability() {
        let mut s = sample_summary();
        let mut counts = vec![0u64; s.outcomes.len()];
        counts[1] = 1;
        set_outcomes(&mut s, 1, &counts);
        for p in &mut s.parameters {
            for (i, b) in p.drivers.iter_mut().enumerate() {
                b.runs = u64::from(i == 4);
                let here = if i == 4 {
                    counts.clone()
                } else {
                    vec![0; counts.len()]
                };
                set_counts(b, &here);
            }
        }
        let f = finding(&s);
        assert!(
            f.outcome.starts_with("Only one run: it ended as"),
            "{}",
            f.outcome
        );
        assert!(f.outcome.contains(&quoted(&s.outcomes[1].label)));
        assert!(f.outcome.contains(&ci(s.outcomes[1].ci95)));
        assert!(f.driver.starts_with("Too few runs"), "{}", f.driver);
        assert!(
            f.caveats[0].contains("the results of 1 run may be"),
            "{}",
            f.caveats[0]
        );
    }

    #[test]
    fn tied_outcomes_are_both_named_and_neither_is_called_most_likely() {
        let mut s = sample_summary();
        let n = s.outcomes.len();
        let mut counts = vec![0u64; n];
        counts[0] = 400;
        counts[2] = 400;
        counts[1] = 200;
        set_outcomes(&mut s, 1000, &counts);
        let mut per_bin = vec![0u64; n];
        (per_bin[0], per_bin[1], per_bin[2]) = (40, 20, 40);
        flat_drivers(&mut s, &per_bin);
        let f = finding(&s);
        assert!(
            f.outcome.starts_with("No single outcome is most likely"),
            "{}",
            f.outcome
        );
        assert!(f.outcome.contains(&quoted(&s.outcomes[0].label)));
        assert!(f.outcome.contains(&quoted(&s.outcomes[2].label)));
        assert!(f.outcome.contains("400 of 1,000 runs (40.0%"));
        assert!(!f.outcome.contains("most likely outcome is"));
    }

    #[test]
    fn an_outcome_in_every_run_or_in_none_is_stated_and_nothing_is_said_to_move_it() {
        let mut s = sample_summary();
        let n = s.outcomes.len();
        let mut counts = vec![0u64; n];
        counts[2] = 1000;
        set_outcomes(&mut s, 1000, &counts);
        let mut per_bin = vec![0u64; n];
        per_bin[2] = 100;
        flat_drivers(&mut s, &per_bin);
        let f = finding(&s);
        assert!(
            f.outcome
                .starts_with("Every one of the 1,000 runs ended as"),
            "{}",
            f.outcome
        );
        assert!(f.outcome.contains("100.0%"));
        // The others never happened: said, with the interval a zero count still leaves.
        assert!(
            f.outcome.contains("Never seen in these runs"),
            "{}",
            f.outcome
        );
        assert!(f.outcome.contains(&ci(s.outcomes[0].ci95)));
        assert!(f.driver.starts_with("No parameter moves"), "{}", f.driver);
    }

    #[test]
    fn without_sampled_parameters_the_driver_is_not_guessed() {
        let mut s = sample_summary();
        for p in &mut s.parameters {
            p.drivers.clear();
        }
        assert!(finding(&s)
            .driver
            .starts_with("No parameter is sampled, so these runs cannot say what moves"));
        s.parameters.clear();
        assert!(finding(&s).driver.starts_with("No parameter is sampled"));
    }

    #[test]
    fn the_caveats_say_the_intervals_are_monte_carlo_error_and_calibration_is_in_sample() {
        let mut s = sample_summary();
        let c = finding(&s).caveats.join(" ");
        assert!(c.contains("Monte Carlo error only"));
        assert!(c.contains("in-sample"));
        assert!(c.contains("`us_mediation` = 1"), "{c}");
        s.fixed.clear();
        assert!(!finding(&s).caveats.join(" ").contains("--set"));
    }

    #[test]
    fn a_calibrated_variant_s_caveat_names_its_cases_and_the_out_of_sample_scores() {
        let mut s = sample_summary();
        s.scenario.calibration = Some(crate::montecarlo::CalibrationInfo {
            method: "importance sampling".into(),
            cases: vec!["a.toml".into(), "b.toml".into(), "c.toml".into()],
            runs: Some(20_000),
            seed: Some(1),
            effective_sample_size: Some(5861.4),
            written_by: "alliance-sim 0.1.0".into(),
        });
        let c = finding(&s).caveats.join(" ");
        assert!(c.contains("fitted to 3 backtest cases"), "{c}");
        assert!(c.contains("an effective sample of 5861 runs"), "{c}");
        assert!(c.contains("leave-one-out"), "{c}");
    }

    #[test]
    fn with_replications_the_outcome_the_inputs_move_most_is_read_across_the_sets() {
        let mut s = sample_summary();
        assert_eq!(finding(&s).across_inputs, "");
        with_replications(&mut s, 20);
        let rows = &mut s.replications.as_mut().unwrap().outcomes;
        // The second outcome has the largest share; the third one as large comes later.
        rows[0].input_share = Some(0.05);
        rows[1].input_share = Some(0.30);
        rows[1].input_share_ci95 = Some([0.25, 0.35]);
        rows[1].chance_in_spread = Some(0.4);
        rows[2].input_share = Some(0.30);
        let row = rows[1].clone();
        let t = finding(&s).across_inputs;
        assert_eq!(
            t,
            format!(
                "Across 5,000 parameter sets of 20 runs each, the share of a set's runs ending \
                 in {} is between {} and {} for 90% of the sets; the inputs make 30.0% (95% \
                 interval 25.0% – 35.0%) of a run's variance in it, chance the rest.",
                quoted(&s.outcomes[1].label),
                percent(row.p05),
                percent(row.p95)
            )
        );
        // Where chance makes most of that range, the sentence says so.
        s.replications.as_mut().unwrap().outcomes[1].chance_in_spread = Some(0.7);
        assert!(finding(&s)
            .across_inputs
            .ends_with(" With 20 runs a set, chance makes over half of that range."));
        // No share to compare (one set, or every outcome in every run or none): no sentence.
        for row in &mut s.replications.as_mut().unwrap().outcomes {
            row.input_share = None;
        }
        assert_eq!(finding(&s).across_inputs, "");
    }

    #[test]
    fn no_outcomes_gives_no_claim() {
        let mut s = sample_summary();
        s.outcomes.clear();
        let f = finding(&s);
        assert!(f.outcome.contains("no outcomes"));
        assert!(f.driver.is_empty());
    }
}
