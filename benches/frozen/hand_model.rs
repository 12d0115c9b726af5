//! Floor (b) of issue 7: the frozen default scenario (`gsomia_2019_frozen.toml`, beside this
//! file) written by hand in plain Rust, with nothing interpreted.
//!
//! It is a direct translation: every parameter is the quantile of the uniform number its named
//! stream gives (`parameter:ID`, counter 0), the chance event draws from `event:nk_launch` at
//! counter `step`, each logit decision from `decision:ID` at counter 0; events, rules, decisions
//! and metrics run in the file's order with each expression's arithmetic in the order it is
//! written (derived values expanded in place), and every state variable is clamped to its bounds
//! after each effect. So it gives bit for bit the engine's outcome, choices and end metrics on
//! the same seed (tests/hand_model_matches_engine.rs checks it).
//!
//! What it leaves out, as a hand-written model would: the engine's run-time checks that a value
//! is finite (none can become non-finite here), the counters and flags of events and decisions
//! that no expression of this scenario reads, and per-step metrics.
//!
//! Included by `benches/engine.rs` and `tests/hand_model_matches_engine.rs` through `#[path]`.

use alliance_sim::distribution::Distribution;
use alliance_sim::rng::{stream_key, RunStream};

/// Parameter ids in file order (= the model's parameter order).
pub const PARAMETERS: [&str; 28] = [
    "japan_export_controls",
    "us_cost_share_demand_busd",
    "us_lobbying_intensity",
    "nk_threat",
    "korea_public_anger",
    "cost_share_paid_busd",
    "launch_alarm",
    "launch_intel_bump",
    "decision_temperature",
    "alliance_weight",
    "domestic_weight",
    "leverage_weight",
    "reciprocity_weight",
    "leverage_learning",
    "conservative_discount",
    "quasi_alliance_effect",
    "us_routing_loss",
    "conditional_share",
    "face_saving",
    "japan_talks_offer",
    "climbdown_cost",
    "stake_half_life_weeks",
    "state_department_line",
    "tokyo_cost_weight",
    "tokyo_reward_weight",
    "trade_loss_rate_busd",
    "boycott_loss_rate_busd",
    "anger_half_life_weeks",
];

/// Decision ids in file order.
pub const DECISIONS: [&str; 4] = ["notice", "final", "tokyo_controls", "review"];

/// Metric ids in file order.
pub const METRICS: [&str; 16] = [
    "cohesion",
    "seoul_trade_loss",
    "seoul_anger",
    "japan_intel_value",
    "seoul_security_need",
    "seoul_trust_in_us",
    "us_pressure",
    "us_stake_belief",
    "us_retrenchment",
    "japan_controls",
    "japan_trade_loss",
    "pact_status",
    "abandonment_score",
    "domestic_score",
    "net_case_for_leaving",
    "nk_tests",
];

/// Outcome ids in file order.
pub const OUTCOMES: [&str; 5] = [
    "terminated",
    "renewed",
    "withdrawn",
    "notice_pending",
    "suspended",
];

/// Weekly steps (2019-07-01 to 2019-11-24).
pub const STEPS: u32 = 21;

/// What one run of the hand-written model gives.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HandRun {
    /// Index into [`OUTCOMES`].
    pub outcome: usize,
    /// Option taken per decision ([`DECISIONS`] order), `None` when not taken.
    pub choices: [Option<u16>; 4],
    /// End-of-run metrics ([`METRICS`] order).
    pub metrics: [f64; 16],
}

/// The distributions and stream keys, built once.
pub struct HandModel {
    /// Per parameter ([`PARAMETERS`] order).
    pub distributions: Vec<Distribution>,
    parameter_keys: [u64; 28],
    nk_launch_key: u64,
    decision_keys: [u64; 4],
}

/// Parameter values of one run.
struct Params {
    japan_export_controls: f64,
    us_cost_share_demand_busd: f64,
    us_lobbying_intensity: f64,
    nk_threat: f64,
    korea_public_anger: f64,
    cost_share_paid_busd: f64,
    launch_alarm: f64,
    launch_intel_bump: f64,
    decision_temperature: f64,
    alliance_weight: f64,
    domestic_weight: f64,
    leverage_weight: f64,
    reciprocity_weight: f64,
    leverage_learning: f64,
    conservative_discount: f64,
    quasi_alliance_effect: f64,
    us_routing_loss: f64,
    conditional_share: f64,
    face_saving: f64,
    japan_talks_offer: f64,
    climbdown_cost: f64,
    stake_half_life_weeks: f64,
    state_department_line: f64,
    tokyo_cost_weight: f64,
    tokyo_reward_weight: f64,
    trade_loss_rate_busd: f64,
    boycott_loss_rate_busd: f64,
    anger_half_life_weeks: f64,
}

/// State variables of one run.
struct State {
    // seoul
    anger: f64,
    trust_in_us: f64,
    security_need: f64,
    seoul_trade_loss_busd: f64,
    value_of_japan_intel: f64,
    us_stake_belief: f64,
    leverage_belief: f64,
    pact_status: f64,
    notices: f64,
    review_due: f64,
    progressive_government: f64,
    // pyongyang
    threat: f64,
    tests: f64,
    // tokyo
    controls_level: f64,
    resolve: f64,
    concessions: f64,
    tokyo_trade_loss_busd: f64,
    // washington
    pressure: f64,
    retrenchment: f64,
    cost_demand_busd: f64,
}

/// Bounds `[0, 1]`, as the engine clamps after each effect.
#[inline(always)]
fn unit(x: f64) -> f64 {
    x.clamp(0.0, 1.0)
}

/// Bounds `[0, +inf)` (a var with `min = 0.0` and no `max`).
#[inline(always)]
fn nonneg(x: f64) -> f64 {
    x.clamp(0.0, f64::INFINITY)
}

/// The engine's `clamp(x, lo, hi)` function (not `f64::clamp`).
#[inline(always)]
fn clamp_fn(x: f64, lo: f64, hi: f64) -> f64 {
    x.max(lo).min(hi)
}

/// The engine's logit choice: softmax of utilities / temperature shifted by the maximum, then the
/// first option whose cumulative probability exceeds `u`.
#[inline(always)]
fn logit<const N: usize>(utilities: [f64; N], temperature: f64, u: f64) -> u16 {
    let max = utilities.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let mut weights = [0.0; N];
    let mut total = 0.0;
    for k in 0..N {
        let w = ((utilities[k] - max) / temperature).exp();
        weights[k] = w;
        total += w;
    }
    let mut cumulative = 0.0;
    let mut chosen = N - 1;
    let mut found = false;
    for (k, w) in weights.into_iter().enumerate() {
        cumulative += w / total;
        if !found && u < cumulative {
            chosen = k;
            found = true;
        }
    }
    chosen as u16
}

impl Default for HandModel {
    fn default() -> Self {
        HandModel::new()
    }
}

impl HandModel {
    /// The frozen scenario's distributions, written out from its `[parameters]` tables.
    pub fn new() -> HandModel {
        let tri = |min, mode, max| Distribution::triangular(min, mode, max).expect("valid");
        let uni = |min, max| Distribution::uniform(min, max).expect("valid");
        let fixed = |v| Distribution::fixed(v).expect("valid");
        let bernoulli = |p| Distribution::bernoulli(p).expect("valid");
        let discrete = |values: &[f64], weights: &[f64]| {
            Distribution::discrete(values.to_vec(), weights.to_vec()).expect("valid")
        };
        let distributions = vec![
            tri(0.5, 0.75, 1.0),                              // japan_export_controls
            tri(4.5, 5.0, 5.5),                               // us_cost_share_demand_busd
            tri(0.4, 0.7, 0.9),                               // us_lobbying_intensity
            tri(0.5, 0.7, 0.9),                               // nk_threat
            tri(0.35, 0.45, 0.55),                            // korea_public_anger
            fixed(0.92),                                      // cost_share_paid_busd
            fixed(0.04),                                      // launch_alarm
            fixed(0.015),                                     // launch_intel_bump
            tri(0.1, 0.15, 0.25),                             // decision_temperature
            tri(1.5, 2.0, 3.0),                               // alliance_weight
            tri(0.8, 1.0, 1.3),                               // domestic_weight
            uni(0.3, 0.7),                                    // leverage_weight
            tri(0.2, 0.4, 0.6),                               // reciprocity_weight
            tri(0.3, 0.5, 0.7),                               // leverage_learning
            tri(0.3, 0.5, 0.7),                               // conservative_discount
            tri(0.2, 0.5, 1.0),                               // quasi_alliance_effect
            tri(0.3, 0.5, 0.7),                               // us_routing_loss
            tri(0.7, 0.8, 0.9),                               // conditional_share
            tri(0.3, 0.5, 0.7),                               // face_saving
            bernoulli(0.75),                                  // japan_talks_offer
            uni(0.2, 0.5),                                    // climbdown_cost
            discrete(&[26.0, 52.0, 104.0], &[1.0, 2.0, 1.0]), // stake_half_life_weeks
            tri(0.3, 0.5, 0.7),                               // state_department_line
            tri(0.1, 0.2, 0.3),                               // tokyo_cost_weight
            uni(0.1, 0.3),                                    // tokyo_reward_weight
            tri(0.02, 0.08, 0.25),                            // trade_loss_rate_busd
            uni(0.05, 0.15),                                  // boycott_loss_rate_busd
            discrete(&[4.0, 8.0, 16.0], &[1.0, 2.0, 1.0]),    // anger_half_life_weeks
        ];
        HandModel {
            distributions,
            parameter_keys: PARAMETERS.map(|p| stream_key("parameter", p)),
            nk_launch_key: stream_key("event", "nk_launch"),
            decision_keys: DECISIONS.map(|d| stream_key("decision", d)),
        }
    }

    fn sample(&self, stream: RunStream) -> Params {
        let q =
            |i: usize| self.distributions[i].quantile(stream.uniform(self.parameter_keys[i], 0));
        Params {
            japan_export_controls: q(0),
            us_cost_share_demand_busd: q(1),
            us_lobbying_intensity: q(2),
            nk_threat: q(3),
            korea_public_anger: q(4),
            cost_share_paid_busd: q(5),
            launch_alarm: q(6),
            launch_intel_bump: q(7),
            decision_temperature: q(8),
            alliance_weight: q(9),
            domestic_weight: q(10),
            leverage_weight: q(11),
            reciprocity_weight: q(12),
            leverage_learning: q(13),
            conservative_discount: q(14),
            quasi_alliance_effect: q(15),
            us_routing_loss: q(16),
            conditional_share: q(17),
            face_saving: q(18),
            japan_talks_offer: q(19),
            climbdown_cost: q(20),
            stake_half_life_weeks: q(21),
            state_department_line: q(22),
            tokyo_cost_weight: q(23),
            tokyo_reward_weight: q(24),
            trade_loss_rate_busd: q(25),
            boycott_loss_rate_busd: q(26),
            anger_half_life_weeks: q(27),
        }
    }

    /// Run `run` of a study with seed `seed`.
    pub fn run(&self, seed: u64, run: u64) -> HandRun {
        let stream = RunStream::new(seed, run);
        let p = self.sample(stream);
        let p = &p;

        // Initial values, each clamped to its bounds (vars read by others first).
        let threat = unit(p.nk_threat);
        let retrenchment = unit(0.1);
        let mut s = State {
            anger: unit(p.korea_public_anger),
            trust_in_us: unit(0.8),
            security_need: unit(0.3 + 0.4 * threat), // security_baseline
            seoul_trade_loss_busd: nonneg(0.0),
            value_of_japan_intel: unit(
                // intel_target
                p.us_routing_loss
                    + (1.0 - p.us_routing_loss) * p.quasi_alliance_effect * retrenchment,
            ),
            us_stake_belief: unit(0.1 * (1.0 - p.state_department_line)),
            leverage_belief: unit(1.0),
            pact_status: unit(1.0),
            notices: nonneg(0.0),
            review_due: unit(0.0),
            progressive_government: unit(1.0),
            threat,
            tests: nonneg(0.0),
            controls_level: unit(0.0),
            resolve: unit(0.75),
            concessions: unit(0.0),
            tokyo_trade_loss_busd: nonneg(0.0),
            pressure: unit(0.0),
            retrenchment,
            cost_demand_busd: nonneg(p.us_cost_share_demand_busd),
        };
        let mut choices: [Option<u16>; 4] = [None; 4];

        for step in 0..STEPS {
            // ---- events, in file order ----
            if step == 0 {
                // export_licences
                s.controls_level = unit(0.5 * p.japan_export_controls);
                s.anger = unit(s.anger + 0.06 * p.japan_export_controls);
            }
            if step == 3 {
                // russia_china_patrol
                s.security_need = unit(s.security_need + 0.1);
            }
            if step == 4 {
                // white_list_decision
                s.controls_level = unit(0.8 * p.japan_export_controls);
                s.anger = unit(s.anger + 0.08 * p.japan_export_controls);
            }
            if step == 6 {
                // korea_countermeasures
                s.resolve = unit(s.resolve + 0.05);
            }
            if step == 7 {
                // biegun_visit
                s.pressure = unit(
                    s.pressure + 0.25 * p.us_lobbying_intensity * (1.0 - p.state_department_line),
                );
                s.us_stake_belief = unit(
                    s.us_stake_belief
                        + 0.05 * p.us_lobbying_intensity * (1.0 - p.state_department_line),
                );
            }
            if step == 8 && pact_notice_pending(&s) {
                // us_reaction_to_notice
                s.pressure = unit(s.pressure + 0.1 * p.us_lobbying_intensity);
                s.us_stake_belief = unit(s.us_stake_belief + 0.25 * p.us_lobbying_intensity);
                s.resolve = unit(s.resolve + 0.05);
            }
            if step == 8 {
                // white_list_effective
                s.controls_level = unit(p.japan_export_controls);
                s.anger = unit(s.anger + 0.03 * p.japan_export_controls);
            }
            if step == 10 {
                // wto_complaint
                s.resolve = unit(s.resolve + 0.02);
            }
            if step == 11 {
                // korea_countermeasures_effective
                s.tokyo_trade_loss_busd = nonneg(s.tokyo_trade_loss_busd + 0.05);
                s.resolve = unit(s.resolve + 0.03);
            }
            if step == 13 {
                // slbm_launch
                s.security_need = unit(s.security_need + (p.launch_alarm + 0.04 * s.threat));
                s.value_of_japan_intel = unit(s.value_of_japan_intel + 2.0 * p.launch_intel_bump);
                s.tests = nonneg(s.tests + 1.0);
            }
            if step == 18 {
                // stilwell_visit
                s.pressure = unit(
                    s.pressure + 0.15 * p.us_lobbying_intensity * (1.0 - p.state_department_line),
                );
                s.us_stake_belief = unit(
                    s.us_stake_belief
                        + 0.05 * p.us_lobbying_intensity * (1.0 - p.state_department_line),
                );
            }
            if step == 19 {
                // milley_esper_visit
                s.pressure = unit(s.pressure + 0.3 * p.us_lobbying_intensity);
                s.us_stake_belief = unit(s.us_stake_belief + 0.15 * p.us_lobbying_intensity);
            }
            if step == 20 {
                // cost_talks_walkout
                s.trust_in_us = unit(s.trust_in_us + -0.1 * cost_share_gap(p, &s));
                s.retrenchment = unit(s.retrenchment + 0.2 * cost_share_gap(p, &s));
                // senate_resolution
                s.pressure = unit(s.pressure + 0.15 * p.us_lobbying_intensity);
                s.us_stake_belief = unit(s.us_stake_belief + 0.1 * p.us_lobbying_intensity);
                // tokyo_talks_offer
                if pact_notice_pending(&s) && p.japan_talks_offer > 0.0 {
                    s.concessions = unit(s.concessions + 0.25);
                }
            }
            if (3..=20).contains(&step) {
                // nk_launch: probability launch_chance
                let chance = 0.72 * s.threat;
                if stream.uniform(self.nk_launch_key, u64::from(step)) < chance {
                    s.security_need = unit(s.security_need + p.launch_alarm);
                    s.value_of_japan_intel = unit(s.value_of_japan_intel + p.launch_intel_bump);
                    s.tests = nonneg(s.tests + 1.0);
                }
            }

            // ---- rules, in file order ----
            // controls_cost_korea
            s.seoul_trade_loss_busd =
                nonneg(s.seoul_trade_loss_busd + p.trade_loss_rate_busd * s.controls_level);
            // controls_feed_anger
            s.anger = unit(s.anger + 0.012 * s.controls_level);
            // anger_fades
            let anger_fade_rate = 1.0 - 0.5f64.powf(1.0 / p.anger_half_life_weeks);
            s.anger = unit(s.anger + anger_fade_rate * (p.korea_public_anger - s.anger));
            // boycott_costs_japan
            if s.controls_level > 0.0 {
                s.tokyo_trade_loss_busd =
                    nonneg(s.tokyo_trade_loss_busd + p.boycott_loss_rate_busd * s.anger);
            }
            // security_need_settles
            let security_baseline = 0.3 + 0.4 * s.threat;
            s.security_need = unit(s.security_need + 0.15 * (security_baseline - s.security_need));
            // trust_follows_demand
            let trust_target = 0.8 - 0.45 * cost_share_gap(p, &s);
            s.trust_in_us = unit(s.trust_in_us + 0.05 * (trust_target - s.trust_in_us));
            // retrenchment_follows_demand
            let retrenchment_target = 0.1 + 0.6 * cost_share_gap(p, &s);
            s.retrenchment = unit(s.retrenchment + 0.05 * (retrenchment_target - s.retrenchment));
            // intel_value_follows_retrenchment
            let intel_target = p.us_routing_loss
                + (1.0 - p.us_routing_loss) * p.quasi_alliance_effect * s.retrenchment;
            s.value_of_japan_intel =
                unit(s.value_of_japan_intel + 0.1 * (intel_target - s.value_of_japan_intel));
            // lobbying_fades
            s.pressure = unit(s.pressure * 0.9);
            // stake_belief_fades
            s.us_stake_belief =
                unit(s.us_stake_belief * 0.5f64.powf(1.0 / p.stake_half_life_weeks));

            // ---- decisions due, in file order ----
            if choices[0].is_none() && step == 7 && s.pact_status == 1.0 {
                // notice: renew / give_notice
                let utilities = [value_stay_in(p, &s), 0.0];
                let u = stream.uniform(self.decision_keys[0], 0);
                let chosen = logit(utilities, p.decision_temperature, u);
                choices[0] = Some(chosen);
                if chosen == 1 {
                    s.pact_status = unit(0.5);
                    s.notices = nonneg(s.notices + 1.0);
                }
            }
            if choices[1].is_none() && step == 20 && pact_notice_pending(&s) {
                // final: let_lapse / withdraw_notice / suspend_conditionally
                let utilities = [0.0, value_restore(p, &s), value_conditional(p, &s)];
                let u = stream.uniform(self.decision_keys[1], 0);
                let chosen = logit(utilities, p.decision_temperature, u);
                choices[1] = Some(chosen);
                s.pact_status = unit(match chosen {
                    0 => 0.0,
                    1 => 1.0,
                    _ => 0.8,
                });
            }
            if choices[2].is_none() && step == 20 && s.controls_level > 0.0 {
                // tokyo_controls: keep / ease
                let seoul_in_pact = s.pact_status >= 0.8;
                let utilities = [
                    s.resolve,
                    p.tokyo_cost_weight * s.tokyo_trade_loss_busd
                        + if seoul_in_pact {
                            p.tokyo_reward_weight
                        } else {
                            0.0
                        },
                ];
                let u = stream.uniform(self.decision_keys[2], 0);
                let chosen = logit(utilities, p.decision_temperature, u);
                choices[2] = Some(chosen);
                if chosen == 0 {
                    let factor = if s.notices > 0.0 {
                        1.0 - p.leverage_learning
                    } else {
                        1.0
                    };
                    s.leverage_belief = unit(s.leverage_belief * factor);
                } else {
                    s.controls_level = unit(s.controls_level * 0.5);
                    s.concessions = unit(s.concessions + 0.5);
                }
            }
            if choices[3].is_none() && s.review_due > 0.0 && s.pact_status == 0.8 {
                // review: give_notice_again / keep_conditional / normalise
                let utilities = [0.0, value_conditional(p, &s), value_restore(p, &s)];
                let u = stream.uniform(self.decision_keys[3], 0);
                let chosen = logit(utilities, p.decision_temperature, u);
                choices[3] = Some(chosen);
                match chosen {
                    0 => {
                        s.pact_status = unit(0.5);
                        s.notices = nonneg(s.notices + 1.0);
                        s.review_due = unit(0.0);
                    }
                    1 => s.review_due = unit(0.0),
                    _ => {
                        s.pact_status = unit(1.0);
                        s.review_due = unit(0.0);
                    }
                }
            }
        }

        // ---- end-of-run metrics ----
        let a = abandonment_fear(p, &s);
        let d = domestic_cost(p, &s);
        let metrics = [
            0.35 * s.pact_status
                + 0.25 * s.trust_in_us
                + 0.2 * (1.0 - s.controls_level)
                + 0.2 * (1.0 - s.anger),
            s.seoul_trade_loss_busd,
            s.anger,
            s.value_of_japan_intel,
            s.security_need,
            s.trust_in_us,
            s.pressure,
            s.us_stake_belief,
            s.retrenchment,
            s.controls_level,
            s.tokyo_trade_loss_busd,
            s.pact_status,
            a,
            d,
            d - a,
            s.tests,
        ];

        // ---- outcome: the first whose condition holds ----
        let outcome = if s.pact_status == 0.0 {
            0
        } else if s.pact_status == 1.0 && s.notices == 0.0 {
            1
        } else if s.pact_status == 1.0 {
            2
        } else if pact_notice_pending(&s) {
            3
        } else {
            4
        };
        HandRun {
            outcome,
            choices,
            metrics,
        }
    }
}

// ---- derived values, expanded where they are used ----

#[inline(always)]
fn pact_notice_pending(s: &State) -> bool {
    s.pact_status == 0.5
}

#[inline(always)]
fn cost_share_gap(p: &Params, s: &State) -> f64 {
    let cost_share_ratio = s.cost_demand_busd / p.cost_share_paid_busd;
    clamp_fn((cost_share_ratio - 1.0) / 5.0, 0.0, 1.0)
}

#[inline(always)]
fn abandonment_fear(p: &Params, s: &State) -> f64 {
    let us_pull = (s.pressure + s.us_stake_belief) * (0.5 + 0.5 * s.trust_in_us);
    s.security_need * s.value_of_japan_intel + p.alliance_weight * us_pull
}

#[inline(always)]
fn domestic_cost(p: &Params, s: &State) -> f64 {
    let responsiveness = 1.0 - p.conservative_discount * (1.0 - s.progressive_government);
    (p.domestic_weight * responsiveness * s.anger
        + p.leverage_weight * s.leverage_belief * s.controls_level)
        * (1.0 - s.concessions)
}

#[inline(always)]
fn controls_share(p: &Params, s: &State) -> f64 {
    s.controls_level / p.japan_export_controls.max(0.01)
}

#[inline(always)]
fn value_stay_in(p: &Params, s: &State) -> f64 {
    abandonment_fear(p, s) - domestic_cost(p, s)
}

#[inline(always)]
fn value_restore(p: &Params, s: &State) -> f64 {
    let climbdown = p.climbdown_cost * controls_share(p, s) * (1.0 - s.concessions);
    let reciprocity = p.reciprocity_weight * s.concessions;
    abandonment_fear(p, s) - domestic_cost(p, s) - climbdown + reciprocity
}

#[inline(always)]
fn value_conditional(p: &Params, s: &State) -> f64 {
    let face_saved = p.face_saving * controls_share(p, s);
    let reciprocity = p.reciprocity_weight * s.concessions;
    p.conditional_share * abandonment_fear(p, s) - (1.0 - face_saved) * domestic_cost(p, s)
        + 0.5 * reciprocity
}
