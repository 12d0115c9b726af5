//! Splitting a study across machines: each shard runs a disjoint range of blocks and writes a
//! partial result; merging the partials gives the summary a single run would have written,
//! byte for byte, in any order (every aggregate merges exactly and commutatively).

use std::sync::atomic::AtomicBool;

use serde::{Deserialize, Serialize};

use super::{
    run_blocks, summarize, Accumulator, RunSink, Sampling, StudyConfig, StudyError, Summary,
    MAX_REPLICATIONS,
};
use crate::model::Model;

/// Shard `index` (0-based) of `count`; the command line reads it from `--shard K/N`, K from 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shard {
    pub index: u64,
    pub count: u64,
}

impl Shard {
    /// The blocks of `block` runs this shard runs: a contiguous share of
    /// `0..ceil(runs / block)`.
    pub fn blocks(&self, runs: u64, block: u64) -> std::ops::Range<u64> {
        let total = runs.div_ceil(block) as u128;
        let start = total * self.index as u128 / self.count as u128;
        let end = total * (self.index + 1) as u128 / self.count as u128;
        start as u64..end as u64
    }
}

/// A shard's result, as written to `partial-K-of-N.json`.
///
/// `merge` trusts nothing in it: [`Partial::from_json`] checks the format and the digest, and
/// [`merge`] checks every partial against the model and the others before adding it up.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
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
    /// Runs per parameter set (`run --replications`); absent when 1, so that the partials of
    /// other studies keep their bytes.
    #[serde(default = "one", skip_serializing_if = "is_one")]
    pub replications: u64,
    pub shard: Shard,
    /// The run indexes this shard ran, `first_run..end_run`.
    pub first_run: u64,
    pub end_run: u64,
    pub accumulator: Accumulator,
    /// SHA-256 (hex) of everything above, see [`Partial::digest`].
    pub content_sha256: String,
}

/// Version 2 added the run range and the content digest; version 3 the value counts of count
/// and categorical metrics, and drivers bins by value.
pub const PARTIAL_FORMAT: &str = "alliance-sim-partial/3";

impl Shard {
    /// The run indexes this shard runs: its blocks of `block` runs, the last one cut at `runs`.
    pub fn runs(&self, runs: u64, block: u64) -> std::ops::Range<u64> {
        let blocks = self.blocks(runs, block);
        (blocks.start * block).min(runs)..(blocks.end * block).min(runs)
    }
}

impl Partial {
    /// SHA-256 (hex) of the partial as written with an empty `content_sha256`: the format,
    /// version, scenario hash, seed, run count and range, shard and every aggregate.
    ///
    /// It catches a truncated, corrupted or hand-edited file. It is not a signature (anyone can
    /// recompute it), which is why [`merge`] also checks that the content is consistent.
    pub fn digest(&self) -> String {
        use sha2::{Digest, Sha256};
        let unsealed = Partial {
            content_sha256: String::new(),
            ..self.clone()
        };
        // Serializing plain structs, numbers and strings cannot fail; were it to, the empty
        // text would give a digest no partial carries, and the merge would be refused.
        let text = serde_json::to_string(&unsealed).unwrap_or_default();
        Sha256::digest(text.as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    /// Records the digest of the current content.
    pub fn seal(&mut self) {
        self.content_sha256 = self.digest();
    }

    /// Reads a partial from its JSON text: the right format, and content that matches its
    /// digest. Whether it fits a model and the other shards is [`merge`]'s to check. `name`
    /// (the file) starts every message.
    pub fn from_json(name: &str, text: &str) -> Result<Partial, String> {
        /// Only the format, read first, so that a partial of another format is named as such
        /// rather than reported as a missing field.
        #[derive(Deserialize)]
        struct Format {
            format: Option<serde_json::Value>,
        }
        let located = |e: serde_json::Error| {
            format!(
                "{name}:{}:{}: not a partial result: {e}",
                e.line(),
                e.column()
            )
        };
        let no_format = || format!("{name}: not a partial result (no format `{PARTIAL_FORMAT}`)");
        let format: Format = serde_json::from_str(text).map_err(|e| {
            if e.is_data() {
                no_format()
            } else {
                located(e)
            }
        })?;
        match format.format {
            Some(serde_json::Value::String(f)) if f == PARTIAL_FORMAT => {}
            Some(serde_json::Value::String(f)) if f.starts_with("alliance-sim-partial/") => {
                return Err(format!(
                    "{name}: format `{f}` is not `{PARTIAL_FORMAT}`: rerun the shard with this version"
                ))
            }
            _ => return Err(no_format()),
        }
        let partial: Partial = serde_json::from_str(text).map_err(located)?;
        if partial.content_sha256 != partial.digest() {
            return Err(format!(
                "{name}: the content does not match its digest (content_sha256): the file was changed or damaged after the shard wrote it"
            ));
        }
        Ok(partial)
    }

    /// What the shard was asked to run, checked: the study it belongs to, minus the model.
    fn config(&self, model: &Model) -> Result<StudyConfig, String> {
        let runs = self.runs;
        if runs == 0 || runs > crate::scenario::LIMITS.runs {
            return Err(format!(
                "runs is {runs}; a study has 1 to {} runs",
                crate::scenario::LIMITS.runs
            ));
        }
        let replications = self.replications;
        if replications == 0
            || replications > MAX_REPLICATIONS
            || (replications > 1 && runs % replications != 0)
        {
            return Err(format!(
                "replications is {replications}; a study has 1 to {MAX_REPLICATIONS} runs per parameter set, dividing its {runs} runs"
            ));
        }
        let sampling = match self.sampling.as_str() {
            "monte-carlo" => Sampling::MonteCarlo,
            "latin-hypercube" => Sampling::LatinHypercube,
            other => return Err(format!("unknown sampling `{other}`")),
        };
        for (n, &(i, value)) in self.fixed.iter().enumerate() {
            if i >= model.parameters.len() {
                return Err(format!(
                    "--set names parameter {i}; the scenario has {}",
                    model.parameters.len()
                ));
            }
            if !value.is_finite() {
                return Err(format!("--set value {value} is not finite"));
            }
            if self.fixed[..n].iter().any(|(j, _)| *j == i) {
                return Err(format!("--set names parameter {i} twice"));
            }
        }
        Ok(StudyConfig {
            runs,
            seed: self.seed,
            fixed: self.fixed.clone(),
            timeline: self.timeline,
            sampling,
            design: None,
            replications,
        })
    }

    /// Whether this partial, on its own, is what `run --shard` writes for `model`; returns the
    /// study it belongs to.
    fn check(&self, model: &Model) -> Result<StudyConfig, String> {
        let version = env!("CARGO_PKG_VERSION");
        if self.version != version {
            return Err(format!(
                "written by alliance-sim {}, this is {version}: run every shard with one version",
                self.version
            ));
        }
        let config = self.config(model)?;
        let Shard { index, count } = self.shard;
        if count == 0 || index >= count {
            return Err(format!("shard index {index} of {count} shards"));
        }
        let range = self.shard.runs(self.runs, config.block_len());
        if (self.first_run, self.end_run) != (range.start, range.end) {
            return Err(format!(
                "records runs {}..{}; shard {}/{count} of {} runs is runs {}..{}",
                self.first_run,
                self.end_run,
                index + 1,
                self.runs,
                range.start,
                range.end
            ));
        }
        let ran = range.end - range.start;
        if self.accumulator.runs != ran {
            return Err(format!(
                "aggregates {} runs; shard {}/{count} runs {ran}",
                self.accumulator.runs,
                index + 1
            ));
        }
        self.accumulator.check(model, &config)?;
        // The numbers summarised: sums that overflow, or means outside the values' range.
        if ran > 0 {
            summarize(model, &config, &self.accumulator)
                .map_err(|e| e.to_string())?
                .check()?;
        }
        Ok(config)
    }

    /// Whether `other` is a shard of the same study.
    fn same_study(&self, other: &Partial) -> bool {
        self.scenario_sha256 == other.scenario_sha256
            && self.seed == other.seed
            && self.runs == other.runs
            && self.sampling == other.sampling
            && self.fixed == other.fixed
            && self.timeline == other.timeline
            && self.replications == other.replications
            && self.shard.count == other.shard.count
    }
}

fn one() -> u64 {
    1
}

fn is_one(n: &u64) -> bool {
    *n == 1
}

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
        shard.blocks(config.runs, config.block_len()),
        sink,
        progress,
        cancel,
    )?;
    let range = shard.runs(config.runs, config.block_len());
    let mut partial = Partial {
        format: PARTIAL_FORMAT.into(),
        version: env!("CARGO_PKG_VERSION").into(),
        scenario_file: model.file.clone(),
        scenario_sha256: model.sha256.clone(),
        seed: config.seed,
        runs: config.runs,
        sampling: config.sampling.name().into(),
        fixed: config.fixed.clone(),
        timeline: config.timeline,
        replications: config.replications,
        shard,
        first_run: range.start,
        end_run: range.end,
        accumulator,
        content_sha256: String::new(),
    };
    partial.seal();
    Ok(partial)
}

/// Checks that `partials` are the complete set of shards of one study of `model` and merges
/// them. Each partial comes with the name it is reported by (its file); every refusal names it.
pub fn merge(model: &Model, partials: &[(String, Partial)]) -> Result<Summary, String> {
    let (first_name, first) = partials.first().ok_or("no partial results given")?;
    for (name, p) in partials {
        if p.scenario_sha256 != model.sha256 {
            return Err(format!(
                "{name}: ran scenario `{}` (sha256 {}), not `{}` (sha256 {}): give the scenario the shards ran, unchanged",
                p.scenario_file, p.scenario_sha256, model.file, model.sha256
            ));
        }
        p.check(model).map_err(|e| format!("{name}: {e}"))?;
        if !p.same_study(first) {
            return Err(format!(
                "{name}: shard {}/{} belongs to a different study than {first_name} (seed, runs, sampling, --set, timeline, replications or shard count differ)",
                p.shard.index + 1,
                p.shard.count
            ));
        }
    }
    // Every index is below the count (checked above); sorting finds repeats and gaps without
    // a table as long as a count read from a file.
    let n = first.shard.count;
    let mut order: Vec<usize> = (0..partials.len()).collect();
    order.sort_by_key(|&i| partials[i].1.shard.index);
    let mut expected = 0;
    for pair in order.windows(2) {
        let (a, b) = (&partials[pair[0]], &partials[pair[1]]);
        if a.1.shard.index == b.1.shard.index {
            return Err(format!(
                "shard {}/{n} given twice: {} and {}",
                a.1.shard.index + 1,
                a.0,
                b.0
            ));
        }
    }
    for &i in &order {
        if partials[i].1.shard.index != expected {
            break;
        }
        expected += 1;
    }
    if expected < n {
        return Err(format!("shard {}/{n} is missing", expected + 1));
    }
    let config = first.config(model)?;
    let mut acc = Accumulator::for_study(model, &config);
    for (_, p) in partials {
        acc.merge(&p.accumulator);
    }
    // Each shard ran its own share of the blocks, so together they ran every run once.
    if acc.runs != config.runs {
        return Err(format!(
            "the shards aggregate {} runs; the study has {}",
            acc.runs, config.runs
        ));
    }
    let summary = summarize(model, &config, &acc).map_err(|e| e.to_string())?;
    summary.check().map_err(|e| {
        format!("the shards {first_name} and others add up to a wrong summary: {e}")
    })?;
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::montecarlo::BLOCK;

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
                    let b = Shard { index: k, count: n }.blocks(runs, BLOCK);
                    assert_eq!(b.start, next);
                    next = b.end;
                }
                assert_eq!(next, runs.div_ceil(BLOCK));
            }
        }
    }

    /// The checks refuse tampered files (tests/bad_results.rs); here, that they accept what
    /// a study writes, for every shipped scenario, with and without a timeline or `--set`.
    #[test]
    fn every_shipped_scenario_passes_the_checks_it_is_merged_with() {
        let mut files: Vec<std::path::PathBuf> =
            ["scenarios", "scenarios/examples", "scenarios/history"]
                .iter()
                .flat_map(|dir| std::fs::read_dir(dir).expect("scenarios folder"))
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|e| e == "toml"))
                .collect();
        files.sort();
        assert!(files.len() >= 8, "{files:?}");
        let cancel = AtomicBool::new(false);
        for file in &files {
            let model = crate::model::compile(crate::scenario::load(file).expect("loads"))
                .expect("compiles");
            for (timeline, fixed, runs) in [(true, vec![], 2100), (false, vec![(0, 0.5)], 700)] {
                let config = StudyConfig {
                    runs,
                    seed: 5,
                    fixed,
                    timeline,
                    sampling: Sampling::LatinHypercube,
                    design: None,
                    replications: 1,
                };
                let parts: Vec<(String, Partial)> = (0..3)
                    .map(|k| {
                        let shard = Shard { index: k, count: 3 };
                        let p = run_shard(&model, &config, shard, None, &|_| {}, &cancel)
                            .expect("shard");
                        let text = serde_json::to_string(&p).expect("ser");
                        let name = format!("{} shard {k}", file.display());
                        let p = Partial::from_json(&name, &text).expect("reads back");
                        (name, p)
                    })
                    .collect();
                let summary = merge(&model, &parts).expect("merges");
                summary.check().expect("a summary a study writes passes");
            }
        }
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
            design: None,
            replications: 1,
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
            .map(|p| {
                Partial::from_json("shard", &serde_json::to_string(p).expect("ser")).expect("de")
            })
            .collect();
        parts.reverse();
        let parts: Vec<(String, Partial)> = parts
            .into_iter()
            .map(|p| (format!("shard {}", p.shard.index + 1), p))
            .collect();
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
