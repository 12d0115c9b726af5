//! Floor (b) of the benchmarks (issue 7) is only a floor if it is the same model: the hand-written
//! translation of the frozen default scenario (`benches/frozen/hand_model.rs`) must give exactly
//! the engine's outcome, choices and end metrics (bit for bit) for the same seed and run index.

use std::path::PathBuf;

use alliance_sim::engine::{Engine, Quiet};
use alliance_sim::model::{self, Model};
use alliance_sim::montecarlo::{sample_parameters, StudyConfig};
use alliance_sim::rng::RunStream;
use alliance_sim::scenario;

#[path = "../benches/frozen/hand_model.rs"]
mod hand_model;

use hand_model::{HandModel, DECISIONS, METRICS, OUTCOMES, PARAMETERS, STEPS};

const RUNS: u64 = 20_000;

fn frozen_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("benches/frozen/gsomia_2019_frozen.toml")
}

fn frozen_model() -> Model {
    let scenario = scenario::load(&frozen_path()).unwrap_or_else(|d| panic!("{}", d.render(false)));
    model::compile(scenario).unwrap_or_else(|d| panic!("{}", d.render(false)))
}

#[test]
fn the_frozen_scenario_stands_alone() {
    let text = std::fs::read_to_string(frozen_path()).expect("frozen scenario");
    assert!(
        !text.lines().any(|l| l.trim_start().starts_with("extends")),
        "the frozen scenario must not `extends` another file: it would no longer be frozen"
    );
}

#[test]
fn the_hand_model_has_the_frozen_scenario_s_items_and_distributions() {
    let model = frozen_model();
    let ids = |it: &mut dyn Iterator<Item = &str>| it.map(str::to_string).collect::<Vec<_>>();
    assert_eq!(
        ids(&mut model.parameters.iter().map(|p| p.id.as_str())),
        PARAMETERS
    );
    assert_eq!(
        ids(&mut model.decisions.iter().map(|d| d.id.as_str())),
        DECISIONS
    );
    assert_eq!(
        ids(&mut model.metrics.iter().map(|m| m.id.as_str())),
        METRICS
    );
    assert_eq!(
        ids(&mut model.outcomes.iter().map(|o| o.id.as_str())),
        OUTCOMES
    );
    assert_eq!(model.time.steps, STEPS);
    let hand = HandModel::new();
    for (i, p) in model.parameters.iter().enumerate() {
        assert_eq!(
            hand.distributions[i], p.distribution,
            "parameter `{}`",
            p.id
        );
    }
}

#[test]
fn the_hand_model_gives_the_engine_s_results_bit_for_bit() {
    let model = frozen_model();
    let hand = HandModel::new();
    let seed = model.default_seed;
    let config = StudyConfig {
        runs: RUNS,
        seed,
        fixed: Vec::new(),
        timeline: false,
        sampling: Default::default(),
        design: None,
        replications: 1,
    };
    let mut engine = Engine::<1>::new(&model, false);
    let mut params = vec![0.0; model.parameters.len()];
    let mut us = vec![0.0; model.parameters.len()];
    let mut outcome_counts = [0u32; OUTCOMES.len()];
    let mut option_counts = [[0u32; 3]; DECISIONS.len()];
    for run in 0..RUNS {
        let stream = RunStream::new(seed, run);
        sample_parameters(&model, &config, run, stream, &mut params, &mut us);
        let result = engine
            .run_observed(run, &params, stream, &mut Quiet)
            .unwrap_or_else(|e| panic!("{e}"));
        let by_hand = hand.run(seed, run);
        assert_eq!(by_hand.outcome, result.outcome, "run {run}: outcome");
        assert_eq!(
            by_hand.choices.to_vec(),
            engine.choices(),
            "run {run}: choices"
        );
        for (k, (h, e)) in by_hand.metrics.iter().zip(engine.metrics()).enumerate() {
            assert_eq!(
                h.to_bits(),
                e.to_bits(),
                "run {run}: metric `{}`: by hand {h:e}, engine {e:e}",
                METRICS[k]
            );
        }
        outcome_counts[result.outcome] += 1;
        for (d, choice) in by_hand.choices.iter().enumerate() {
            if let Some(c) = choice {
                option_counts[d][usize::from(*c)] += 1;
            }
        }
    }
    // The comparison is only worth something if the runs went down the model's branches: every
    // outcome that 2019 allows and every option of the three decisions taken in 2019.
    for (k, id) in OUTCOMES.iter().enumerate() {
        if *id != "notice_pending" {
            assert!(
                outcome_counts[k] > 0,
                "no run ended `{id}`: {outcome_counts:?}"
            );
        }
    }
    let options = [2, 3, 2];
    for (d, &n) in options.iter().enumerate() {
        for k in 0..n {
            assert!(
                option_counts[d][k] > 0,
                "decision `{}` never took option {k}: {:?}",
                DECISIONS[d],
                option_counts[d]
            );
        }
    }
}

/// The engine at the lane width studies use gives the hand model's results too (so the
/// benchmark's ratio of a run in lanes to floor (b) compares the same work).
#[test]
fn the_hand_model_gives_the_lane_engine_s_results_bit_for_bit() {
    use alliance_sim::engine::LANES;
    let model = frozen_model();
    let hand = HandModel::new();
    let seed = model.default_seed;
    let runs = 4_000u64;
    let config = StudyConfig {
        runs,
        seed,
        fixed: Vec::new(),
        timeline: false,
        sampling: Default::default(),
        design: None,
        replications: 1,
    };
    let mut lanes = Engine::<LANES>::new(&model, false);
    let mut params = vec![0.0; model.parameters.len()];
    let mut us = vec![0.0; model.parameters.len()];
    for first in (0..runs).step_by(LANES) {
        for lane in 0..LANES {
            let run = first + lane as u64;
            let stream = RunStream::new(seed, run);
            sample_parameters(&model, &config, run, stream, &mut params, &mut us);
            lanes.load(lane, run, stream, &params);
        }
        lanes
            .run(LANES)
            .expect("the default scenario's runs do not fail");
        for lane in 0..LANES {
            let run = first + lane as u64;
            let by_hand = hand.run(seed, run);
            assert_eq!(by_hand.outcome, lanes.outcome(lane), "run {run}: outcome");
            for (d, c) in by_hand.choices.iter().enumerate() {
                assert_eq!(*c, lanes.choice(d, lane), "run {run}: decision {d}");
            }
            for (k, h) in by_hand.metrics.iter().enumerate() {
                assert_eq!(
                    h.to_bits(),
                    lanes.metric(k, lane).to_bits(),
                    "run {run}: metric `{}`",
                    METRICS[k]
                );
            }
        }
    }
}
