//! How numbers are printed for people: the summary table, the analyses' tables, `report.html`
//! and the text of every chart.
//!
//! Kept in one place so that a share, a count or a level reads the same wherever it appears,
//! and so that a fix (a share that must never print as 0.0%, a level that must keep the digits
//! that tell p05 from p95) reaches every place that prints it. Machine-read files (`runs.csv`,
//! the JSON files) do not go through here: they print numbers exactly.

/// `12345` -> `12,345`.
pub(crate) fn group_thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A share as a percentage to one decimal: `0.6234` -> `62.3%`. A share that is not 0 or 1
/// never prints as 0.0% or 100.0% (an interval [0.0%, 0.0%] would read as certainty that the
/// outcome never happens).
pub(crate) fn percent(p: f64) -> String {
    percent_to(p, 1)
}

/// [`percent`] with `decimals` decimals: `<0.01%` rather than `0.00%` for a share that is not 0.
pub(crate) fn percent_to(p: f64, decimals: usize) -> String {
    let step = 10f64.powi(-(decimals as i32));
    let half = step / 200.0;
    if p > 0.0 && p < half {
        format!("<{step:.decimals$}%")
    } else if p < 1.0 && p > 1.0 - half {
        format!(">{:.decimals$}%", 100.0 - step)
    } else {
        format!("{:.decimals$}%", p * 100.0)
    }
}

/// Decimals of a parameter set's share k / R (`run --replications`): it moves in steps of
/// 1 / R, so one decimal shows every step up to 1,000 runs a set, and two beyond.
pub(crate) fn set_share_decimals(replications: u64) -> usize {
    if replications > 1000 {
        2
    } else {
        1
    }
}

/// The most decimals a table of shares prints.
const MOST_SHARE_DECIMALS: usize = 4;

/// Decimals enough (at least one) that every share and its interval's two ends print as three
/// different numbers wherever they differ: at 10^7 runs a 95% interval is a few hundredths of
/// a point wide, and one decimal would print it as [50.0%, 50.0%].
pub(crate) fn share_decimals<'a>(rows: impl IntoIterator<Item = &'a (f64, [f64; 2])>) -> usize {
    let mut decimals = 1;
    for (p, [lo, hi]) in rows {
        while decimals < MOST_SHARE_DECIMALS
            && ((lo < p && percent_to(*lo, decimals) == percent_to(*p, decimals))
                || (p < hi && percent_to(*p, decimals) == percent_to(*hi, decimals)))
        {
            decimals += 1;
        }
    }
    decimals
}

/// Words of `text` in lines of at most `width` characters (a longer word has a line of its own).
pub(crate) fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        let fits = line.chars().count() + 1 + word.chars().count() <= width;
        if !line.is_empty() && !fits {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() || lines.is_empty() {
        lines.push(line);
    }
    lines
}

/// A difference of shares in percentage points, signed, to one decimal: `+2.3`, `-0.7`.
pub(crate) fn signed_points(p: f64) -> String {
    format!("{:+.1}", 100.0 * p)
}

/// `decimals` decimals, or scientific notation with three when the value is outside
/// [0.001, 100000) (and not zero), where fixed notation would print mostly zeros.
pub(crate) fn fixed_or_scientific(v: f64, decimals: usize) -> String {
    if v != 0.0 && (v.abs() >= 1e5 || v.abs() < 1e-3) {
        format!("{v:.3e}")
    } else {
        format!("{v:.decimals$}")
    }
}

/// Decimals of the summary table's metric levels and sds in fixed notation, when a level needs
/// no more to be told apart from the others.
pub(crate) const LEVEL_DECIMALS: usize = 3;

/// A level (mean or quantile) with digits enough to tell values a thousandth of the spread
/// apart: four significant digits would print 1e7 + U(0, 1) as 1.000e7 for p05, p50 and p95.
pub(crate) fn level(v: f64, spread: f64) -> String {
    if !(spread > 0.0 && v != 0.0 && v.is_finite()) {
        return fixed_or_scientific(v, LEVEL_DECIMALS);
    }
    let magnitude = v.abs().log10().floor();
    // The step of the last digit `fixed_or_scientific` prints: enough unless it is coarser than
    // a tenth of the spread.
    let plain_step = if v.abs() >= 1e5 || v.abs() < 1e-3 {
        10f64.powf(magnitude - 3.0)
    } else {
        1e-3
    };
    if plain_step <= spread / 10.0 {
        return fixed_or_scientific(v, LEVEL_DECIMALS);
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

/// A value with a sensible number of digits for its magnitude (about three significant ones).
pub(crate) fn by_magnitude(x: f64) -> String {
    if !x.is_finite() {
        return x.to_string();
    }
    let a = x.abs();
    let s = if a == 0.0 {
        "0".to_string()
    } else if !(1e-3..1e6).contains(&a) {
        format!("{x:.2e}")
    } else if a >= 100.0 {
        format!("{x:.0}")
    } else if a >= 10.0 {
        format!("{x:.1}")
    } else if a >= 1.0 {
        format!("{x:.2}")
    } else {
        format!("{x:.3}")
    };
    if s == "-0" {
        "0".to_string()
    } else {
        s
    }
}

/// Tick label for an axis spanning `span`: enough digits to tell neighbouring ticks apart.
pub(crate) fn tick_label(x: f64, span: f64) -> String {
    let span = span.abs();
    // A tick at zero computed as 6e-30 is zero.
    if x == 0.0 || x.abs() < span * 1e-9 {
        return "0".to_string();
    }
    let big = x.abs().max(span);
    if span > 0.0 && ((big >= 1e7 && span >= big * 1e-3) || big < 1e-4) {
        // Scientific, with digits enough to tell ticks a tenth of the span apart: fixed
        // notation would print 300 digits for values near 1e300, or zeros near 1e-300.
        let digits = (big.log10().floor() - (span / 10.0).log10().floor()).clamp(0.0, 12.0);
        return format!("{x:.*e}", digits as usize);
    }
    if span > 0.0 && span < 0.005 {
        // A narrow span far from zero (1000 + a thousandth): as many decimals as it needs.
        let decimals = (1.0 - span.log10().floor()).clamp(0.0, 15.0) as usize;
        let s = format!("{x:.decimals$}");
        return s.trim_end_matches('0').trim_end_matches('.').to_string();
    }
    let decimals = if span >= 50.0 {
        0
    } else if span >= 5.0 {
        1
    } else if span >= 0.5 {
        2
    } else if span >= 0.05 {
        3
    } else {
        4
    };
    let s = format!("{x:.decimals$}");
    let s = if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    };
    if s == "-0" {
        "0".to_string()
    } else {
        s
    }
}

/// Tick label for a probability axis spanning `span` (in 0..1): `12%`, `0.5%`.
pub(crate) fn percent_tick_label(v: f64, span: f64) -> String {
    format!("{}%", tick_label(v * 100.0, span * 100.0))
}

/// Label of a percentage axis for probabilities in 0..1, in whole percents (plotters puts its
/// labels on round values): `25%`.
pub(crate) fn percent_axis_label(v: &f64) -> String {
    format!("{:.0}%", v * 100.0)
}

/// A signed number with one decimal and a real minus sign: `+2.3`, `−0.7`, `0.0`.
pub(crate) fn signed(x: f64) -> String {
    let s = format!("{x:+.1}");
    match s.as_str() {
        "+0.0" | "-0.0" => "0.0".to_string(),
        _ => s.replacen('-', "−", 1),
    }
}

/// A number with a real minus sign (for chart text).
pub(crate) fn with_minus_sign(text: String) -> String {
    if let Some(rest) = text.strip_prefix('-') {
        format!("−{rest}")
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_shares_values_and_ticks_read_short() {
        assert_eq!(group_thousands(0), "0");
        assert_eq!(group_thousands(999), "999");
        assert_eq!(group_thousands(100_000), "100,000");
        assert_eq!(group_thousands(1_234_567), "1,234,567");
        assert_eq!(percent(0.27930), "27.9%");
        assert_eq!(percent(0.0001), "<0.1%");
        assert_eq!(percent(1.0), "100.0%");
        assert_eq!(by_magnitude(0.3121), "0.312");
        assert_eq!(by_magnitude(46.34), "46.3");
        assert_eq!(by_magnitude(-0.0), "0");
        assert_eq!(tick_label(0.30000000004, 1.0), "0.3");
        assert_eq!(tick_label(40.0, 80.0), "40");
    }

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

    #[test]
    fn tick_labels_stay_short_and_distinct_at_any_magnitude() {
        // Fixed notation printed 299 digits per tick near 1e299 (labels ran over the panels) and
        // zeros for every tick near 1e-300.
        let huge = [tick_label(2e298, 1e299), tick_label(6e298, 1e299)];
        assert!(huge.iter().all(|t| t.len() <= 10), "{huge:?}");
        assert_ne!(huge[0], huge[1]);
        let tiny = [tick_label(1.2e-300, 1e-300), tick_label(1.6e-300, 1e-300)];
        assert!(tiny.iter().all(|t| t.len() <= 10), "{tiny:?}");
        assert_ne!(tiny[0], tiny[1]);
        let level = [tick_label(1000.0002, 0.001), tick_label(1000.0006, 0.001)];
        assert_ne!(level[0], level[1]);
        assert_eq!(tick_label(6.3e-30, 1e-13), "0");
        assert_eq!(tick_label(0.25, 1.0), "0.25");
    }

    #[test]
    fn chart_numbers_use_a_real_minus_sign() {
        assert_eq!(signed(0.746 * 100.0), "+74.6");
        assert_eq!(signed(-0.0001), "0.0");
        assert_eq!(signed(-2.26), "−2.3");
        assert_eq!(with_minus_sign("-3".into()), "−3");
        assert_eq!(percent_tick_label(0.005, 0.012), "0.5%");
    }
}
