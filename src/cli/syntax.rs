//! Parsers of the flag syntaxes that are more than one number: `K/N` (`--shard`),
//! `ID=LO:HI:STEPS` (`--param`) and `ID=VALUE` (`--set`).
//!
//! clap calls them as value parsers, so a malformed value is refused (exit 2, naming the flag
//! and the value) while the arguments are parsed, before any file is read or written, and the
//! library only ever sees typed values. Whether `ID` is a parameter of the scenario cannot be
//! known here; [`super::options`] checks that once the scenario is loaded.

use crate::montecarlo::shard::Shard;

/// The usage line a malformed `--param` is answered with.
const GRID_USAGE: &str = "expected ID=LO:HI:STEPS, e.g. us_cost_share_demand_busd=0.9:6:12";

/// The fewest points of a sweep axis: one point is a plain `run --set`, not a curve.
pub const MIN_GRID_STEPS: usize = 2;
/// The most points of a sweep axis: two axes of 1,000 are a million studies, already far
/// beyond what a chart or a table can show.
pub const MAX_GRID_STEPS: usize = 1000;

/// Why a flag's value does not have its flag's syntax. clap prints it after the flag and the
/// value (`invalid value '5/3' for '--shard <K/N>': need 1 <= K <= N`), so the texts do not
/// repeat them.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SyntaxError {
    #[error("expected K/N, e.g. 3/8")]
    ShardShape,
    #[error("K must be a whole number")]
    ShardIndex,
    #[error("N must be a whole number")]
    ShardCount,
    #[error("need 1 <= K <= N")]
    ShardRange,
    #[error("{GRID_USAGE}")]
    GridShape,
    #[error("`{0}` is not a number ({GRID_USAGE})")]
    GridBound(String),
    #[error("`{0}` is not a whole number of steps ({GRID_USAGE})")]
    GridSteps(String),
    #[error("LO and HI must be finite and STEPS between {MIN_GRID_STEPS} and {MAX_GRID_STEPS}")]
    GridRange,
    #[error("expected ID=VALUE, e.g. nk_threat=0.9")]
    SettingShape,
    #[error("`{0}` is not a finite number")]
    SettingValue(String),
}

/// Parses `--shard K/N`, with K counted from 1 as job arrays number their tasks.
pub fn parse_shard(text: &str) -> Result<Shard, SyntaxError> {
    let (k, n) = text.split_once('/').ok_or(SyntaxError::ShardShape)?;
    let k: u64 = k.trim().parse().map_err(|_| SyntaxError::ShardIndex)?;
    let n: u64 = n.trim().parse().map_err(|_| SyntaxError::ShardCount)?;
    if n == 0 || k == 0 || k > n {
        return Err(SyntaxError::ShardRange);
    }
    Ok(Shard {
        index: k - 1,
        count: n,
    })
}

/// A `--param ID=LO:HI:STEPS` as written: the parameter is still a name, checked against the
/// scenario in [`super::options`].
#[derive(Debug, Clone, PartialEq)]
pub struct GridFlag {
    pub parameter: String,
    pub low: f64,
    pub high: f64,
    pub steps: usize,
    /// The flag's value as the user typed it, for the manifest's record of what the sweep ran.
    pub as_given: String,
}

/// Parses `--param ID=LO:HI:STEPS`.
pub fn parse_grid(text: &str) -> Result<GridFlag, SyntaxError> {
    let (id, range) = text.split_once('=').ok_or(SyntaxError::GridShape)?;
    let parts: Vec<&str> = range.split(':').collect();
    let [low, high, steps] = parts.as_slice() else {
        return Err(SyntaxError::GridShape);
    };
    let bound = |part: &str| {
        part.trim()
            .parse::<f64>()
            .map_err(|_| SyntaxError::GridBound(part.to_string()))
    };
    let (low, high) = (bound(low)?, bound(high)?);
    let steps: usize = steps
        .trim()
        .parse()
        .map_err(|_| SyntaxError::GridSteps(steps.to_string()))?;
    if !low.is_finite() || !high.is_finite() || !(MIN_GRID_STEPS..=MAX_GRID_STEPS).contains(&steps)
    {
        return Err(SyntaxError::GridRange);
    }
    Ok(GridFlag {
        parameter: id.trim().to_string(),
        low,
        high,
        steps,
        as_given: text.to_string(),
    })
}

/// A `--set ID=VALUE` as written: the parameter is still a name, checked against the scenario
/// in [`super::options`].
#[derive(Debug, Clone, PartialEq)]
pub struct SetFlag {
    pub parameter: String,
    pub value: f64,
}

/// Parses `--set ID=VALUE`. The value must be finite: a NaN or an infinity held fixed would
/// only come back as a failed run.
pub fn parse_set(text: &str) -> Result<SetFlag, SyntaxError> {
    let (id, value) = text.split_once('=').ok_or(SyntaxError::SettingShape)?;
    let parsed = value
        .trim()
        .parse::<f64>()
        .ok()
        .filter(|v| v.is_finite())
        .ok_or_else(|| SyntaxError::SettingValue(value.to_string()))?;
    Ok(SetFlag {
        parameter: id.trim().to_string(),
        value: parsed,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_shard_counts_from_one() {
        assert_eq!(parse_shard("1/4"), Ok(Shard { index: 0, count: 4 }));
        assert_eq!(parse_shard(" 4 / 4 "), Ok(Shard { index: 3, count: 4 }));
        assert_eq!(parse_shard("0/4"), Err(SyntaxError::ShardRange));
        assert_eq!(parse_shard("5/4"), Err(SyntaxError::ShardRange));
        assert_eq!(parse_shard("1/0"), Err(SyntaxError::ShardRange));
        assert_eq!(parse_shard("x"), Err(SyntaxError::ShardShape));
        assert_eq!(parse_shard("a/4"), Err(SyntaxError::ShardIndex));
        assert_eq!(parse_shard("1/-4"), Err(SyntaxError::ShardCount));
    }

    #[test]
    fn a_grid_has_finite_bounds_and_a_bounded_step_count() {
        let grid = parse_grid("x2 = -1.5:1.5:3").expect("a grid");
        assert_eq!(
            (grid.parameter.as_str(), grid.low, grid.high, grid.steps),
            ("x2", -1.5, 1.5, 3)
        );
        assert_eq!(grid.as_given, "x2 = -1.5:1.5:3");
        assert_eq!(parse_grid("x1=0:1"), Err(SyntaxError::GridShape));
        assert_eq!(parse_grid("0:1:3"), Err(SyntaxError::GridShape));
        assert_eq!(
            parse_grid("x1=a:1:3"),
            Err(SyntaxError::GridBound("a".into()))
        );
        assert_eq!(
            parse_grid("x1=0:1:2.5"),
            Err(SyntaxError::GridSteps("2.5".into()))
        );
        for bad in ["x1=0:inf:3", "x1=NaN:1:3", "x1=0:1:1", "x1=0:1:1001"] {
            assert_eq!(parse_grid(bad), Err(SyntaxError::GridRange), "{bad}");
        }
        assert!(parse_grid("x1=0:1:1000").is_ok());
    }

    #[test]
    fn a_set_holds_a_finite_number() {
        assert_eq!(
            parse_set(" nk_threat = 0.5"),
            Ok(SetFlag {
                parameter: "nk_threat".into(),
                value: 0.5
            })
        );
        assert_eq!(parse_set("nk_threat"), Err(SyntaxError::SettingShape));
        for bad in ["a=x", "a=inf", "a=NaN", "a="] {
            assert!(
                matches!(parse_set(bad), Err(SyntaxError::SettingValue(_))),
                "{bad}"
            );
        }
    }
}
