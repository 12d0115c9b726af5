//! Splitting a study across machines: each shard runs a disjoint range of blocks and writes a
//! partial result; merging the partials gives the summary a single run would have written,
//! byte for byte, in any order (every aggregate merges exactly and commutatively).

use std::sync::atomic::AtomicBool;

use serde::{Deserialize, Serialize};

use super::{
    run_blocks, summarize, Accumulator, RunSink, Sampling, StudyConfig, StudyError, Summary, BLOCK,
};
use crate::model::Model;

/// Shard `index` (0-based) of `count`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shard {
    pub index: u64,
    pub count: u64,
}

impl Shard {
    /// Parses `K/N` with K counted from 1, as job arrays number tasks.
    pub fn parse(text: &str) -> Result<Shard, String> {
        let (k, n) = text
            .split_once('/')
            .ok_or_else(|| format!("`{text}`: expected K/N, e.g. 3/8"))?;
        let k: u64 = k
            .trim()
            .parse()
            .map_err(|_| format!("`{text}`: K must be a whole number"))?;
        let n: u64 = n
            .trim()
            .parse()
            .map_err(|_| format!("`{text}`: N must be a whole number"))?;
        if n == 0 || k == 0 || k > n {
            return Err(format!("`{text}`: need 1 <= K <= N"));
        }
        Ok(Shard {
            index: k - 1,
            count: n,
        })
    }

    /// The blocks this shard runs: a contiguous share of `0..ceil(runs / BLOCK)`.
    pub fn blocks(&self, runs: u64) -> std::ops::Range<u64> {
        let total = runs.div_ceil(BLOCK) as u128;
        let start = total * self.index as u128 / self.count as u128;
        let end = total * (self.index + 1) as u128 / self.count as u128;
        start as u64..end as u64
    }
}

/// A shard's result, as written to `partial-K-of-N.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Partial {
    pub format: String,
    pub version: String,
    /// The scenario file as given, or `gsomia_2019.toml` for the embedded default.
    pub scenario_file: String,
    pub scenario_sha256: String,
    pub seed: u64,
    pub runs: u64,
    pub sampling: String,
    pub fixed: Vec<(usize, f64)>,
    pub timeline: bool,
    pub shard: Shard,
    pub accumulator: Accumulator,
}

pub const PARTIAL_FORMAT: &str = "alliance-sim-partial/1";

/// Runs one shard of a study.
pub fn run_shard(
    model: &Model,
    config: &StudyConfig,
    shard: Shard,
    sink: Option<&mut dyn RunSink>,
    progress: &(dyn Fn(u64) + Sync),
    cancel: &AtomicBool,
) -> Result<Partial, StudyError> {
    let accumulator = run_blocks(
        model,
        config,
        shard.blocks(config.runs),
        sink,
        progress,
        cancel,
    )?;
    Ok(Partial {
        format: PARTIAL_FORMAT.into(),
        version: env!("CARGO_PKG_VERSION").into(),
        scenario_file: model.file.clone(),
        scenario_sha256: model.sha256.clone(),
        seed: config.seed,
        runs: config.runs,
        sampling: config.sampling.name().into(),
        fixed: config.fixed.clone(),
        timeline: config.timeline,
        shard,
        accumulator,
    })
}

/// Checks that `partials` are the complete set of shards of one study and merges them.
pub fn merge(model: &Model, partials: &[Partial]) -> Result<Summary, String> {
    let first = partials.first().ok_or("no partial results given")?;
    for p in partials {
        if p.format != PARTIAL_FORMAT {
            return Err(format!("unknown partial format `{}`", p.format));
        }
        let same = p.scenario_sha256 == first.scenario_sha256
            && p.seed == first.seed
            && p.runs == first.runs
            && p.sampling == first.sampling
            && p.fixed == first.fixed
            && p.timeline == first.timeline
            && p.shard.count == first.shard.count;
        if !same {
            return Err(format!(
                "shard {}/{} belongs to a different study (scenario, seed, runs, sampling, --set or shard count differ)",
                p.shard.index + 1,
                p.shard.count
            ));
        }
    }
    if model.sha256 != first.scenario_sha256 {
        return Err(format!(
            "the scenario `{}` has changed since the shards ran (sha256 {} now, {} then)",
            first.scenario_file, model.sha256, first.scenario_sha256
        ));
    }
    let n = first.shard.count;
    let mut seen = vec![false; n as usize];
    for p in partials {
        let slot = &mut seen[p.shard.index as usize];
        if *slot {
            return Err(format!("shard {}/{n} given twice", p.shard.index + 1));
        }
        *slot = true;
    }
    if let Some(missing) = seen.iter().position(|s| !s) {
        return Err(format!("shard {}/{n} is missing", missing + 1));
    }
    let sampling = match first.sampling.as_str() {
        "latin-hypercube" => Sampling::LatinHypercube,
        _ => Sampling::MonteCarlo,
    };
    let config = StudyConfig {
        runs: first.runs,
        seed: first.seed,
        fixed: first.fixed.clone(),
        timeline: first.timeline,
        sampling,
    };
    let mut acc = Accumulator::new(model, config.timeline);
    for p in partials {
        acc.merge(&p.accumulator);
    }
    summarize(model, &config, &acc).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The path and values of the first place two JSON values differ.
    fn first_difference(a: &serde_json::Value, b: &serde_json::Value, path: String) -> String {
        use serde_json::Value;
        match (a, b) {
            (Value::Object(x), Value::Object(y)) => {
                for (k, v) in x {
                    if y.get(k) != Some(v) {
                        return first_difference(
                            v,
                            y.get(k).unwrap_or(&Value::Null),
                            format!("{path}.{k}"),
                        );
                    }
                }
                path
            }
            (Value::Array(x), Value::Array(y)) if x.len() == y.len() => {
                for (i, (v, w)) in x.iter().zip(y).enumerate() {
                    if v != w {
                        return first_difference(v, w, format!("{path}[{i}]"));
                    }
                }
                path
            }
            _ => format!("{path}: {a} vs {b}"),
        }
    }

    #[test]
    fn shards_cover_every_block_once() {
        for runs in [1u64, 1024, 1025, 50_000, 1_000_003] {
            for n in [1u64, 2, 3, 7, 100] {
                let mut next = 0;
                for k in 0..n {
                    let b = Shard { index: k, count: n }.blocks(runs);
                    assert_eq!(b.start, next);
                    next = b.end;
                }
                assert_eq!(next, runs.div_ceil(BLOCK));
            }
        }
    }

    #[test]
    fn parse_counts_from_one() {
        assert_eq!(Shard::parse("1/4"), Ok(Shard { index: 0, count: 4 }));
        assert!(Shard::parse("0/4").is_err());
        assert!(Shard::parse("5/4").is_err());
        assert!(Shard::parse("x").is_err());
    }

    #[test]
    fn merged_shards_equal_a_single_study_in_any_order() {
        let model = crate::model::compile(crate::scenario::load_default().expect("loads"))
            .expect("compiles");
        let config = StudyConfig {
            runs: 10_000,
            seed: 77,
            fixed: vec![],
            timeline: true,
            sampling: Sampling::MonteCarlo,
        };
        let cancel = AtomicBool::new(false);
        let whole = super::super::run_study(&model, &config, None, &|_| {}, &cancel).expect("runs");
        let mut parts: Vec<Partial> = (0..3)
            .map(|k| {
                run_shard(
                    &model,
                    &config,
                    Shard { index: k, count: 3 },
                    None,
                    &|_| {},
                    &cancel,
                )
                .expect("shard")
            })
            .collect();
        // Through JSON, as the files carry them.
        parts = parts
            .iter()
            .map(|p| serde_json::from_str(&serde_json::to_string(p).expect("ser")).expect("de"))
            .collect();
        parts.reverse();
        let merged = merge(&model, &parts).expect("merges");
        let (a, b) = (
            serde_json::to_value(&merged).expect("ser"),
            serde_json::to_value(&whole).expect("ser"),
        );
        assert!(
            a == b,
            "first difference: {}",
            first_difference(&a, &b, String::new())
        );
        assert!(merge(&model, &parts[..2]).unwrap_err().contains("missing"));
    }
}
