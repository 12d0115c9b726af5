//! Properties the GSOMIA model must have, checked through the library on the default scenario
//! (`scenarios/gsomia_2019.toml`) and on the backtest cases (`scenarios/history/`).
//!
//! Monotonicity tests compare two studies that differ only in one parameter, held at a low and
//! a high value, with common random numbers: the same seed, so run k of both arms draws the
//! same values for every other parameter, the same events and the same decision dice. "Seoul
//! ends the pact" is the outcome `terminated`; the share of runs in which Seoul gives notice in
//! August (decision `notice`, option `give_notice`) is checked the same way, as the first step
//! toward ending it.
//!
//! The model is built to be monotone run by run (every state update moves the same way as the
//! parameter, leaving is worth 0, every way of staying falls as D rises and grows as A rises), so
//! with common random numbers the paired difference should be >= 0 exactly. The tests still allow
//! two standard errors of an unpaired difference, a conservative margin: it keeps them honest if a
//! later change leaves the model monotone in distribution but not run by run.

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::OnceLock;

use alliance_sim::model::{self, Model};
use alliance_sim::montecarlo::{run_study, StudyConfig, Summary};
use alliance_sim::scenario;
use proptest::prelude::*;

const RUNS: u64 = 8000;
const SEED: u64 = 20191122;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn load(path: &Path) -> Model {
    let scenario = scenario::load(path).unwrap_or_else(|d| panic!("{}", d.render(false)));
    model::compile(scenario).unwrap_or_else(|d| panic!("{}", d.render(false)))
}

fn default_model() -> &'static Model {
    static MODEL: OnceLock<Model> = OnceLock::new();
    MODEL.get_or_init(|| load(&root().join("scenarios/gsomia_2019.toml")))
}

fn index(model: &Model, id: &str) -> usize {
    model
        .parameter_index(id)
        .unwrap_or_else(|| panic!("the default scenario must keep the parameter `{id}`"))
}

fn study(model: &Model, fixed: &[(&str, f64)]) -> Summary {
    let config = StudyConfig {
        runs: RUNS,
        seed: SEED,
        fixed: fixed.iter().map(|(id, v)| (index(model, id), *v)).collect(),
        timeline: false,
        sampling: Default::default(),
        design: None,
        replications: 1,
    };
    run_study(model, &config, None, &|_| {}, &AtomicBool::new(false)).expect("study runs")
}

fn outcome(summary: &Summary, id: &str) -> f64 {
    summary
        .outcomes
        .iter()
        .find(|o| o.id == id)
        .unwrap_or_else(|| panic!("no outcome `{id}`"))
        .probability
}

fn option(summary: &Summary, decision: &str, option: &str) -> f64 {
    let d = summary
        .decisions
        .iter()
        .find(|d| d.id == decision)
        .unwrap_or_else(|| panic!("no decision `{decision}`"));
    d.options
        .iter()
        .find(|o| o.id == option)
        .unwrap_or_else(|| panic!("no option `{option}`"))
        .probability
}

fn metric_mean(summary: &Summary, id: &str) -> f64 {
    summary
        .metrics
        .iter()
        .find(|m| m.id == id)
        .unwrap_or_else(|| panic!("no metric `{id}`"))
        .mean
}

/// Two standard errors of the difference of two shares of `RUNS` runs, as if unpaired.
fn margin(p: f64, q: f64) -> f64 {
    2.0 * ((p * (1.0 - p) + q * (1.0 - q)) / RUNS as f64).sqrt()
}

/// The shares that measure "Seoul ends the pact": (P(terminated), P(give notice in August)).
fn ending(summary: &Summary) -> (f64, f64) {
    (
        outcome(summary, "terminated"),
        option(summary, "notice", "give_notice"),
    )
}

/// Values for the other main inputs, drawn within their supports, so that each property is
/// checked in many corners of the parameter space, not only at the modes.
fn context() -> impl Strategy<Value = Vec<(&'static str, f64)>> {
    (
        0.5..1.0f64,
        0.4..0.9f64,
        0.5..0.9f64,
        0.35..0.55f64,
        0.1..0.25f64,
        1.5..3.0f64,
    )
        .prop_map(
            |(controls, lobbying, threat, anger, temperature, alliance)| {
                vec![
                    ("japan_export_controls", controls),
                    ("us_lobbying_intensity", lobbying),
                    ("nk_threat", threat),
                    ("korea_public_anger", anger),
                    ("decision_temperature", temperature),
                    ("alliance_weight", alliance),
                ]
            },
        )
}

/// Runs both arms: `context` with `id` replaced by `low`, then by `high`.
fn arms(
    context: &[(&'static str, f64)],
    id: &'static str,
    low: f64,
    high: f64,
) -> (Summary, Summary) {
    let model = default_model();
    let with = |v: f64| -> Vec<(&str, f64)> {
        context
            .iter()
            .filter(|(k, _)| *k != id)
            .copied()
            .chain([(id, v)])
            .collect()
    };
    (study(model, &with(low)), study(model, &with(high)))
}

/// Asserts that raising `id` from `low` to `high` moves both ending shares in `direction`
/// (+1: never lowers them; -1: never raises them), within the margin.
fn assert_direction(
    context: &[(&'static str, f64)],
    id: &'static str,
    low: f64,
    high: f64,
    direction: f64,
) -> Result<(), TestCaseError> {
    let (a, b) = arms(context, id, low, high);
    let (term_a, notice_a) = ending(&a);
    let (term_b, notice_b) = ending(&b);
    for (what, pa, pb) in [
        ("P(terminated)", term_a, term_b),
        ("P(give notice)", notice_a, notice_b),
    ] {
        let change = direction * (pb - pa);
        prop_assert!(
            change >= -margin(pa, pb),
            "raising {id} from {low:.3} to {high:.3} moved {what} the wrong way: {pa:.4} -> {pb:.4} (context {context:?})"
        );
    }
    Ok(())
}

/// A low and a high value at least a fifth of the range apart.
fn low_high(min: f64, max: f64) -> impl Strategy<Value = (f64, f64)> {
    let gap = (max - min) / 5.0;
    (min..max - gap).prop_flat_map(move |low| (Just(low), (low + gap)..=max))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 6, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn harsher_export_controls_never_lower_the_chance_seoul_ends_the_pact(
        context in context(),
        (low, high) in low_high(0.5, 1.0),
    ) {
        assert_direction(&context, "japan_export_controls", low, high, 1.0)?;
    }

    #[test]
    fn angrier_public_never_lowers_the_chance_seoul_ends_the_pact(
        context in context(),
        (low, high) in low_high(0.35, 0.55),
    ) {
        assert_direction(&context, "korea_public_anger", low, high, 1.0)?;
    }

    #[test]
    fn more_us_lobbying_never_raises_the_chance_seoul_ends_the_pact(
        context in context(),
        (low, high) in low_high(0.4, 0.9),
    ) {
        assert_direction(&context, "us_lobbying_intensity", low, high, -1.0)?;
    }

    #[test]
    fn a_greater_north_korean_threat_never_raises_the_chance_seoul_ends_the_pact(
        context in context(),
        (low, high) in low_high(0.5, 0.9),
    ) {
        assert_direction(&context, "nk_threat", low, high, -1.0)?;
    }
}

/// Both channels of the cost-sharing demand move, in opposite directions for Seoul's choice:
/// (a) trust in Washington falls, (b) Tokyo's intelligence is worth more. The net effect on the
/// ending shares is printed (run with `--nocapture`), not assumed.
#[test]
fn the_cost_sharing_demand_moves_both_channels() {
    let model = default_model();
    // The 2019 payment with a routine rise, against the ~$5B ask.
    let routine = study(model, &[("us_cost_share_demand_busd", 1.0)]);
    let demand = study(model, &[("us_cost_share_demand_busd", 5.0)]);

    let trust = (
        metric_mean(&routine, "seoul_trust_in_us"),
        metric_mean(&demand, "seoul_trust_in_us"),
    );
    let intel = (
        metric_mean(&routine, "japan_intel_value"),
        metric_mean(&demand, "japan_intel_value"),
    );
    let fear = (
        metric_mean(&routine, "abandonment_score"),
        metric_mean(&demand, "abandonment_score"),
    );
    let (term_r, notice_r) = ending(&routine);
    let (term_d, notice_d) = ending(&demand);
    eprintln!(
        "cost-sharing demand $1.0B -> $5.0B ({RUNS} runs per arm, common random numbers):\n  \
         (a) Seoul's trust in Washington   {:.3} -> {:.3}\n  \
         (b) value of Tokyo's intelligence {:.3} -> {:.3}\n  \
         net: abandonment score (A)        {:.3} -> {:.3}\n  \
         net: P(give notice)               {:.4} -> {:.4}\n  \
         net: P(terminated)                {:.4} -> {:.4}",
        trust.0, trust.1, intel.0, intel.1, fear.0, fear.1, notice_r, notice_d, term_r, term_d
    );
    // Metric means over 8000 runs have standard errors near 0.001; the channels move by tenths.
    assert!(
        trust.1 < trust.0 - 0.05,
        "channel (a): the demand should lower Seoul's trust in Washington, got {:.3} -> {:.3}",
        trust.0,
        trust.1
    );
    assert!(
        intel.1 > intel.0 + 0.02,
        "channel (b): the demand should raise the value of Tokyo's intelligence, got {:.3} -> {:.3}",
        intel.0,
        intel.1
    );
}

/// The stories and their cases: each folder holds one chain of cases resting on its base.
const STORIES: &[(&str, &str, usize)] = &[
    // The five dated decisions of the domain file, Tokyo's 2023 easing and the placebos of
    // docs/backtest.md.
    ("scenarios/history", "scenarios/gsomia_2019.toml", 13),
    // docs/thaad.md.
    ("scenarios/history/thaad", "scenarios/thaad_2016.toml", 22),
];

fn case_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.expect("entry").path())
        .filter(|p| p.is_file() && p.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.sort();
    files
}

/// Each backtest case changes only the conditions of its date: its own file (without what it
/// extends) may hold `[scenario]`, `[backtest]`, events, and `enabled = false` for decisions the
/// record has already settled; never parameters, actors, derived values, rules, outcomes or a
/// decision's options. So every case in a story's folder, placebos included, is one model.
#[test]
fn history_cases_change_only_the_conditions_of_their_date() {
    for &(folder, base, at_least) in STORIES {
        let base = load(&root().join(base));
        let files = case_files(&root().join(folder));
        for path in &files {
            let text = std::fs::read_to_string(path).expect("read case");
            let table: toml::Table = text.parse().expect("case is TOML");
            for key in table.keys() {
                assert!(
                    ["extends", "scenario", "backtest", "events", "decisions"]
                        .contains(&key.as_str()),
                    "{}: a case may not change `{key}`; move the mechanism to the base",
                    path.display()
                );
            }
            if let Some(decisions) = table.get("decisions").and_then(|d| d.as_table()) {
                for (id, decision) in decisions {
                    let decision = decision.as_table().expect("table");
                    let keys: Vec<&str> = decision.keys().map(String::as_str).collect();
                    // Settled by the record: switched off, or recorded as a fact (with the
                    // source that records it).
                    let switched_off = keys == ["enabled"]
                        && decision.get("enabled").and_then(|v| v.as_bool()) == Some(false);
                    let fact = keys == ["fixed", "source"]
                        && decision.get("fixed").is_some_and(|v| v.is_str());
                    assert!(
                        switched_off || fact,
                        "{}: decision `{id}` may only be switched off (`enabled = false`) or \
                         fixed as a fact (`fixed` and `source`), as the record settled it; it sets {keys:?}",
                        path.display()
                    );
                }
            }
            let model = load(path);
            assert!(
                model.backtest.is_some(),
                "{} has no [backtest]",
                path.display()
            );
            let parameters = |m: &Model| {
                m.parameters
                    .iter()
                    .map(|p| (p.id.clone(), p.distribution.clone(), p.calibrate))
                    .collect::<Vec<_>>()
            };
            assert_eq!(
                parameters(&model),
                parameters(&base),
                "{}: parameters differ",
                path.display()
            );
            let rules = |m: &Model| m.rules.iter().map(|r| r.id.clone()).collect::<Vec<_>>();
            assert_eq!(
                rules(&model),
                rules(&base),
                "{}: rules differ",
                path.display()
            );
        }
        assert!(
            files.len() >= at_least,
            "{folder}: expected at least {at_least} cases, found {}",
            files.len()
        );
    }
}

/// The cases form one chain in date order: the first extends the story's base, each later
/// one the case just before it (file names start with the date), and each `[backtest] date` is
/// the date its file name starts with. So a case holds what its predecessor knew plus what
/// happened since, and no case can skip or reorder the record.
#[test]
fn history_cases_form_one_chain_in_date_order() {
    for &(folder, base, _) in STORIES {
        let dir = root().join(folder);
        let files = case_files(&dir);
        assert!(!files.is_empty(), "{folder} holds no case");
        let mut previous = relative(&dir, &root().join(base));
        for path in &files {
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .expect("name");
            let text = std::fs::read_to_string(path).expect("read case");
            let table: toml::Table = text.parse().expect("case is TOML");
            let extends = table
                .get("extends")
                .and_then(|v| v.as_str())
                .unwrap_or_else(|| panic!("{name}: a case must extend the case before it"));
            assert_eq!(
                extends, previous,
                "{folder}/{name}: must extend the case before it in date order"
            );
            let date = table
                .get("backtest")
                .and_then(|b| b.get("date"))
                .and_then(|d| d.as_datetime())
                .map(|d| d.to_string())
                .unwrap_or_else(|| panic!("{name}: no [backtest] date"));
            assert!(
                name.starts_with(&format!("{date}_")),
                "{name}: the file name must start with its [backtest] date {date}"
            );
            previous = name;
        }
    }
}

/// `base` as `extends` names it from a case in `dir` (`../gsomia_2019.toml`).
fn relative(dir: &Path, base: &Path) -> String {
    let depth = dir
        .strip_prefix(root().join("scenarios"))
        .expect("under scenarios/")
        .components()
        .count();
    let name = base.file_name().expect("name").to_string_lossy();
    format!("{}{name}", "../".repeat(depth))
}

/// One alliance-coercion model, two instances: a parameter both stories declare is the same
/// parameter (distribution, rationale, source and whether it is calibrated), so that a draw of
/// it is the same draw in both and `calibrate` fits one value to the cases of both.
#[test]
fn parameters_shared_by_the_two_stories_are_one_definition() {
    let gsomia = load(&root().join("scenarios/gsomia_2019.toml"));
    let thaad = load(&root().join("scenarios/thaad_2016.toml"));
    let mut shared = 0;
    for p in &thaad.parameters {
        if let Some(q) = gsomia.parameters.iter().find(|q| q.id == p.id) {
            shared += 1;
            assert_eq!(p.distribution, q.distribution, "`{}`: distribution", p.id);
            assert_eq!(p.calibrate, q.calibrate, "`{}`: calibrate", p.id);
            assert_eq!(p.doc.rationale, q.doc.rationale, "`{}`: rationale", p.id);
            assert_eq!(p.doc.source, q.doc.source, "`{}`: source", p.id);
        }
    }
    assert!(shared >= 5, "the stories share {shared} parameters");
}
