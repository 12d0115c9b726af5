//! Coverage of `compare`'s paired interval when few runs differ.
//!
//! The paired counts of a study are a multinomial draw: each run falls in one of four cells
//! (outcome under both models, under the variant only, under the base only, under neither).
//! Drawing those counts directly, for many seeds, measures how often the interval covers the
//! true difference without simulating any scenario, so it runs in well under a second.

use alliance_sim::montecarlo::paired::PairedCounts;
use rand::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;

/// Cell probabilities of one run: (both, variant only, base only); neither takes the rest.
struct Case {
    both: f64,
    gained: f64,
    lost: f64,
}

/// Share of `studies` studies of `runs` runs whose interval covers the true difference.
fn coverage(case: &Case, runs: u64, studies: u64, seed: u64) -> f64 {
    let truth = case.gained - case.lost;
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    let mut covered = 0;
    for _ in 0..studies {
        let (mut both, mut gained, mut lost) = (0u64, 0u64, 0u64);
        for _ in 0..runs {
            let u: f64 = rng.random();
            if u < case.both {
                both += 1;
            } else if u < case.both + case.gained {
                gained += 1;
            } else if u < case.both + case.gained + case.lost {
                lost += 1;
            }
        }
        let counts = PairedCounts {
            runs,
            outcome_ids: vec!["x".into(), "rest".into()],
            counts: vec![vec![both + lost, 0], vec![both + gained, 0]],
            gained: vec![vec![0, 0], vec![gained, 0]],
            lost: vec![vec![0, 0], vec![lost, 0]],
        };
        let (_, [lo, hi]) = counts.difference(1, 0);
        if lo <= truth && truth <= hi {
            covered += 1;
        }
    }
    covered as f64 / studies as f64
}

#[test]
fn paired_interval_covers_when_one_run_in_a_thousand_differs() {
    // The variant adds the outcome to one run in 1,000 (a +0.1 point difference).
    let case = Case {
        both: 0.3,
        gained: 0.001,
        lost: 0.0,
    };
    let c = coverage(&case, 1000, 20_000, 1);
    println!("coverage at +0.1 points, 1,000 runs: {c:.4}");
    assert!(c >= 0.93, "coverage {c}");
}

#[test]
fn paired_interval_covers_a_difference_of_five_hundredths_of_a_point() {
    // Issue 11's case: +0.05 points at 1,000 runs, where most studies see no differing run.
    let case = Case {
        both: 0.3,
        gained: 0.0005,
        lost: 0.0,
    };
    let c = coverage(&case, 1000, 20_000, 2);
    println!("coverage at +0.05 points, 1,000 runs: {c:.4}");
    assert!(c >= 0.93, "coverage {c}");
}

#[test]
fn paired_interval_covers_rare_outcomes_and_two_way_changes() {
    for (k, case) in [
        // A rare outcome that the variant makes a little more likely.
        Case {
            both: 0.002,
            gained: 0.001,
            lost: 0.0,
        },
        // Runs change in both directions, netting +0.04 points.
        Case {
            both: 0.5,
            gained: 0.0007,
            lost: 0.0003,
        },
        // A common difference, where the normal approximation was already fine.
        Case {
            both: 0.2,
            gained: 0.05,
            lost: 0.02,
        },
    ]
    .iter()
    .enumerate()
    {
        let c = coverage(case, 1000, 10_000, 10 + k as u64);
        println!("case {k}: coverage {c:.4}");
        assert!(c >= 0.93, "case {k}: coverage {c}");
    }
}
