//! `explain`: replay one run and tell its story, step by step.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use clap::Args;

use super::run::{load_model, parse_sets};
use super::Failure;
use crate::engine::{DecisionDetail, Engine, Observer};
use crate::model::Model;
use crate::montecarlo::{sample_parameters, Sampling, StudyConfig};
use crate::rng::RunStream;

#[derive(Debug, Clone, Args)]
#[command(after_help = "Examples:\n  alliance-sim explain --run 17\n  \
    alliance-sim explain --study output/gsomia_2019 --run 42\n  \
    alliance-sim explain scenarios/gsomia_2019.toml --run 42 --seed 7 --set nk_threat=0.2\n  \
    alliance-sim explain --run 42 --sampling lhs --runs 5000")]
pub struct ExplainArgs {
    /// Scenario file [default: the study's scenario with --study, else the built-in GSOMIA 2019
    /// scenario]
    pub scenario: Option<PathBuf>,
    /// Index of the run to replay (0-based, as in runs.csv)
    #[arg(long, short = 'r', value_name = "K", default_value_t = 0)]
    pub run: u64,
    /// A study's output folder (or its summary.json): replay its run K, with its seed, run
    /// count, sampling and --set values
    #[arg(long, value_name = "DIR", conflicts_with_all = ["seed", "set", "runs", "sampling"])]
    pub study: Option<PathBuf>,
    /// Seed of the study the run belongs to [default: the scenario's seed]
    #[arg(long, short = 's', value_name = "S")]
    pub seed: Option<u64>,
    /// Runs of the study the run belongs to [default: the scenario's `runs`]; a Latin
    /// hypercube's runs depend on it
    #[arg(long, short = 'n', value_name = "N")]
    pub runs: Option<u64>,
    /// How the study sampled its parameters
    #[arg(long, value_enum)]
    pub sampling: Option<super::args::SamplingArg>,
    /// Parameters held at a value, as in `run --set` (repeatable)
    #[arg(long = "set", value_name = "ID=VALUE")]
    pub set: Vec<String>,
    /// Show every rule that changed state, even by tiny amounts
    #[arg(long)]
    pub all_rules: bool,
}

/// Writes the story of a run as it happens.
struct Story<'m> {
    model: &'m Model,
    text: String,
    current_step: Option<u32>,
    all_rules: bool,
    /// Rules whose rationale was already shown: once is enough.
    explained: Vec<bool>,
}

impl Story<'_> {
    fn step_header(&mut self, step: u32) {
        if self.current_step != Some(step) {
            self.current_step = Some(step);
            let _ = writeln!(
                self.text,
                "\nStep {step} ({})",
                self.model.time.date_of(step)
            );
        }
    }

    fn changes(&mut self, changes: &[(usize, f64, f64)]) {
        for &(var, before, after) in changes {
            if before != after {
                let _ = writeln!(
                    self.text,
                    "      {} {} -> {}",
                    self.model.vars[var].id,
                    short(before),
                    short(after)
                );
            }
        }
    }
}

fn short(v: f64) -> String {
    let s = format!("{v:.4}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" {
        "0".into()
    } else {
        s.to_string()
    }
}

impl Observer for Story<'_> {
    const WANTS_DETAIL: bool = true;

    fn event_fired(&mut self, step: u32, event: usize, changes: &[(usize, f64, f64)]) {
        self.step_header(step);
        let e = &self.model.events[event];
        let label = if e.doc.label.is_empty() {
            String::new()
        } else {
            format!(": {}", e.doc.label)
        };
        let _ = writeln!(self.text, "  event `{}` fired{label}", e.id);
        self.changes(changes);
    }

    fn rule_applied(&mut self, step: u32, rule: usize, changes: &[(usize, f64, f64)]) {
        let significant = changes
            .iter()
            .any(|(_, b, a)| (a - b).abs() > 1e-3 * b.abs().max(1.0));
        if changes.iter().all(|(_, b, a)| a == b) || (!self.all_rules && !significant) {
            return;
        }
        self.step_header(step);
        let r = &self.model.rules[rule];
        let _ = writeln!(self.text, "  rule `{}`", r.id);
        if !r.doc.rationale.is_empty() && !self.explained[rule] {
            let _ = writeln!(self.text, "      why: {}", r.doc.rationale);
        }
        self.explained[rule] = true;
        self.changes(changes);
    }

    fn decision_taken(&mut self, step: u32, decision: usize, detail: &DecisionDetail<'_>) {
        self.step_header(step);
        let d = &self.model.decisions[decision];
        let how = match detail.temperature {
            Some(t) => format!("logit choice, temperature {}", short(t)),
            None => "argmax choice".into(),
        };
        let _ = writeln!(self.text, "  decision `{}` by {} ({how})", d.id, d.actor);
        for (k, option) in d.options.iter().enumerate() {
            let mark = if k == detail.chosen { ">" } else { " " };
            let _ = writeln!(
                self.text,
                "    {mark} {:<24} utility {:>8}   probability {:>6.1}%",
                option.id,
                short(detail.utilities[k]),
                100.0 * detail.probabilities[k]
            );
        }
        let _ = writeln!(self.text, "    chose `{}`", d.options[detail.chosen].id);
        self.changes(detail.changes);
    }
}

/// The study a replayed run belongs to: from its summary.json with `--study`, else from the
/// flags and the scenario's defaults. A run's parameters depend on the seed, the sampling
/// design and (for a Latin hypercube) the run count, so all three must be the study's.
fn study_of(args: &ExplainArgs) -> Result<(Model, StudyConfig), Failure> {
    let Some(dir) = &args.study else {
        let model = load_model(args.scenario.as_deref())?;
        let config = StudyConfig {
            runs: args.runs.unwrap_or(model.default_runs),
            seed: args.seed.unwrap_or(model.default_seed),
            fixed: parse_sets(&model, &args.set)?,
            timeline: false,
            sampling: args.sampling.unwrap_or_default().into(),
        };
        return Ok((model, config));
    };
    let path = if dir.is_file() {
        dir.clone()
    } else {
        dir.join("summary.json")
    };
    let summary = crate::report::read_summary_json(&path)
        .map_err(|e| Failure::Invalid(format!("error: --study: {e}")))?;
    let model = match &args.scenario {
        Some(p) => load_model(Some(p))?,
        None if summary.scenario.file == crate::scenario::DEFAULT_SCENARIO_NAME => {
            load_model(None)?
        }
        None => load_model(Some(Path::new(&summary.scenario.file)))?,
    };
    if model.sha256 != summary.scenario.sha256 {
        return Err(Failure::Invalid(format!(
            "error: --study: {} was run on another version of the scenario (sha256 {}), not {} (sha256 {})\n  = hint: name the scenario file the study was run on",
            path.display(),
            summary.scenario.sha256,
            model.file,
            model.sha256
        )));
    }
    let sampling = match summary.sampling.as_str() {
        s if s == Sampling::MonteCarlo.name() => Sampling::MonteCarlo,
        s if s == Sampling::LatinHypercube.name() => Sampling::LatinHypercube,
        other => {
            return Err(Failure::Invalid(format!(
                "error: --study: {}: unknown sampling `{other}`",
                path.display()
            )))
        }
    };
    let mut fixed = Vec::new();
    for f in &summary.fixed {
        let index = model.parameter_index(&f.id).ok_or_else(|| {
            Failure::Invalid(format!(
                "error: --study: {} holds `{}` fixed, which the scenario does not have",
                path.display(),
                f.id
            ))
        })?;
        fixed.push((index, f.value));
    }
    let config = StudyConfig {
        runs: summary.runs,
        seed: summary.seed,
        fixed,
        timeline: false,
        sampling,
    };
    Ok((model, config))
}

/// Shortest text that reads back as the same number, as in runs.csv: a replayed run's
/// parameters can be compared with its row exactly.
fn exact(v: f64) -> String {
    let mut buffer = ryu::Buffer::new();
    let s = buffer.format(v);
    s.strip_suffix(".0").unwrap_or(s).to_string()
}

pub fn run(args: ExplainArgs) -> Result<(), Failure> {
    let (model, config) = study_of(&args)?;
    if config.runs == 0 {
        return Err(Failure::Invalid("error: --runs must be at least 1".into()));
    }
    if args.run >= config.runs {
        let hint = if args.study.is_some() {
            String::new()
        } else {
            "\n  = hint: give the study's run count with --runs N, or point --study at its folder"
                .into()
        };
        return Err(Failure::Invalid(format!(
            "error: --run {}: the study has {} runs (0 to {}){hint}",
            args.run,
            config.runs,
            config.runs - 1
        )));
    }
    let stream = RunStream::new(config.seed, args.run);
    let mut params = vec![0.0; model.parameters.len()];
    let mut us = vec![0.0; model.parameters.len()];
    sample_parameters(&model, &config, args.run, stream, &mut params, &mut us);

    let mut out = format!(
        "Run {} of {} (seed {}, {} runs, {} sampling)\n\nParameters\n",
        args.run,
        model.name,
        config.seed,
        config.runs,
        config.sampling.name()
    );
    for (p, value) in model.parameters.iter().zip(&params) {
        let fixed = config
            .fixed
            .iter()
            .any(|(i, _)| model.parameters[*i].id == p.id);
        let how = if fixed {
            "set".to_string()
        } else {
            p.distribution.describe()
        };
        let _ = writeln!(
            out,
            "  {:<28} {:>10}  {} [{how}]",
            p.id,
            exact(*value),
            p.doc.unit
        );
    }
    let mut story = Story {
        model: &model,
        text: String::new(),
        current_step: None,
        all_rules: args.all_rules,
        explained: vec![false; model.rules.len()],
    };
    let mut engine = Engine::<1>::new(&model, false);
    let result = engine.run_observed(args.run, &params, stream, &mut story);
    out.push_str(&story.text);
    let result = match result {
        Ok(r) => r,
        Err(e) => {
            out!("{out}");
            return Err(Failure::Invalid(format!("error: {e}")));
        }
    };
    let outcome = &model.outcomes[result.outcome];
    let _ = writeln!(out, "\nOutcome: {} ({})", outcome.label, outcome.id);
    let _ = writeln!(out, "\nEnd of run");
    for (m, v) in model.metrics.iter().zip(engine.metrics()) {
        let _ = writeln!(out, "  {:<28} {:>10}  {}", m.id, short(*v), m.doc.unit);
    }
    out!("{out}");
    Ok(())
}
