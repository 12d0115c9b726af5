//! What replications say (`run --replications R`): each outcome's probability across parameter
//! sets, and how a run's variance splits between the inputs and chance.
//!
//! Everything here is a function of one table per outcome: how many sets had k of their R runs
//! end in it. The table merges by addition, so the numbers are the same for any thread count
//! and shard split. The variances are the one-way analysis of variance's unbiased estimators,
//! computed from exact integer sums and rounded once.

use num_bigint::{BigInt, BigUint};
use rand::SeedableRng;
use rand_distr::{Binomial, Distribution};
use rand_xoshiro::Xoshiro256PlusPlus;

use super::exact::round_ratio;
use super::summary::{ReplicatedOutcome, ReplicationInfo};
use super::{Accumulator, StudyConfig};
use crate::model::Model;

/// Bootstrap resamples of the parameter sets behind `input_share_ci95`.
pub const BOOTSTRAP_RESAMPLES: usize = 1000;

/// The replications part of the summary, `None` for a study without replications.
pub(super) fn summarize(
    model: &Model,
    config: &StudyConfig,
    acc: &Accumulator,
) -> Option<ReplicationInfo> {
    let r = config.replications;
    if r <= 1 || acc.replicated.len() != model.outcomes.len() {
        return None;
    }
    let outcomes = model
        .outcomes
        .iter()
        .zip(&acc.replicated)
        .enumerate()
        .map(|(o, (outcome, table))| {
            let key = config.seed ^ 0x7e91_1ca7 ^ ((o as u64) << 40);
            across_sets(&outcome.id, table, key)
        })
        .collect();
    Some(ReplicationInfo {
        replications: r,
        parameter_sets: acc.runs / r,
        outcomes,
    })
}

/// The sums a table gives: sets, and the sums of k and k² over them.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Sums {
    sets: u128,
    r: u128,
    k: u128,
    k2: u128,
}

impl Sums {
    fn of(table: &[u64]) -> Sums {
        let mut s = Sums {
            sets: 0,
            r: table.len().saturating_sub(1) as u128,
            k: 0,
            k2: 0,
        };
        for (k, &n) in table.iter().enumerate() {
            let (k, n) = (k as u128, u128::from(n));
            s.sets += n;
            s.k += k * n;
            s.k2 += k * k * n;
        }
        s
    }

    /// R·Σk − Σk²: n·R·(R − 1) times the mean within-set variance.
    fn within(&self) -> BigInt {
        BigInt::from(self.r * self.k - self.k2)
    }

    /// n·Σk² − (Σk)²: n²·R² times the (biased) variance of the sets' shares.
    fn between(&self) -> BigInt {
        BigInt::from(self.sets) * BigInt::from(self.k2) - BigInt::from(self.k) * self.k
    }

    /// The input variance's numerator over n·R²·(n − 1)·(R − 1): the between-set variance
    /// less the chance part of it, (R − 1)(nΣk² − (Σk)²) − (n − 1)(RΣk − Σk²).
    fn input(&self) -> BigInt {
        BigInt::from(self.r - 1) * self.between() - BigInt::from(self.sets - 1) * self.within()
    }

    /// Inputs' share of the variance: input / (input + chance), from one common denominator.
    fn input_share(&self) -> Option<f64> {
        if self.sets < 2 || self.r < 2 {
            return None;
        }
        let input = self.input().max(BigInt::from(0));
        let chance = BigInt::from(self.r * (self.sets - 1)) * self.within();
        let total = &input + chance;
        let total = total.to_biguint().filter(|t| t.bits() > 0)?;
        Some(round_ratio(&input, &total, 0))
    }
}

/// One outcome's row, from its table `table[k]` (sets with k of R runs ending in it).
fn across_sets(id: &str, table: &[u64], key: u64) -> ReplicatedOutcome {
    let s = Sums::of(table);
    let r = s.r;
    let ratio = |num: BigInt, den: u128| {
        if den == 0 {
            0.0
        } else {
            round_ratio(&num, &BigUint::from(den), 0)
        }
    };
    let n = s.sets;
    let share_at = |percent: u128| {
        // Nearest rank: the smallest k with at least ceil(percent·n / 100) sets at or below.
        let rank = (percent * n).div_ceil(100).max(1);
        let mut seen = 0u128;
        for (k, &c) in table.iter().enumerate() {
            seen += u128::from(c);
            if seen >= rank {
                return k as f64 / r as f64;
            }
        }
        0.0
    };
    let (input_variance, chance_variance) = if n >= 2 && r >= 2 {
        (
            ratio(s.input(), n * r * r * (n - 1) * (r - 1)),
            ratio(s.within(), n * r * (r - 1)),
        )
    } else {
        (0.0, 0.0)
    };
    let chance_in_spread = (n >= 2 && r >= 2 && s.between().bits() > 0).then(|| {
        let num = s.within() * BigInt::from(n - 1);
        let den = (s.between() * BigInt::from(r - 1))
            .to_biguint()
            .unwrap_or_default();
        round_ratio(&num, &den, 0)
    });
    let input_share = s.input_share();
    ReplicatedOutcome {
        id: id.to_string(),
        mean: if n == 0 {
            0.0
        } else {
            s.k as f64 / (n * r) as f64
        },
        p05: share_at(5),
        p50: share_at(50),
        p95: share_at(95),
        input_variance,
        chance_variance,
        input_share,
        input_share_ci95: input_share.and_then(|_| bootstrap_interval(table, key)),
        chance_in_spread,
        sets_by_count: table
            .iter()
            .enumerate()
            .filter(|(_, &c)| c > 0)
            .map(|(k, &c)| [k as u64, c])
            .collect(),
    }
}

/// The 95 % percentile-bootstrap interval of the inputs' share: resample the n sets with
/// replacement (a multinomial draw over the table's slots, slot by slot as binomials), and
/// take the 2.5 % and 97.5 % nearest ranks. `None` when over 5 % of the resamples have no
/// share (the outcome almost never varies).
fn bootstrap_interval(table: &[u64], key: u64) -> Option<[f64; 2]> {
    let slots: Vec<(usize, u64)> = table
        .iter()
        .enumerate()
        .filter(|(_, &c)| c > 0)
        .map(|(k, &c)| (k, c))
        .collect();
    let n: u64 = slots.iter().map(|&(_, c)| c).sum();
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(key);
    let mut shares = Vec::with_capacity(BOOTSTRAP_RESAMPLES);
    let mut resample = vec![0u64; table.len()];
    for _ in 0..BOOTSTRAP_RESAMPLES {
        resample.iter_mut().for_each(|c| *c = 0);
        let (mut left, mut mass) = (n, n);
        for &(k, c) in &slots {
            if left == 0 {
                break;
            }
            let drawn = if c >= mass {
                left
            } else {
                // A probability in (0, 1): c < mass here.
                Binomial::new(left, c as f64 / mass as f64).map_or(0, |b| b.sample(&mut rng))
            };
            resample[k] = drawn;
            left -= drawn;
            mass -= c;
        }
        if let Some(share) = Sums::of(&resample).input_share() {
            shares.push(share);
        }
    }
    if shares.len() * 20 < BOOTSTRAP_RESAMPLES * 19 {
        return None;
    }
    shares.sort_by(f64::total_cmp);
    let at =
        |q: f64| shares[((q * shares.len() as f64).ceil() as usize).clamp(1, shares.len()) - 1];
    Some([at(0.025), at(0.975)])
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The estimators written out on the sets' shares, in rationals of f64 (fine at these
    /// sizes): the textbook one-way ANOVA.
    fn textbook(ks: &[u64], r: u64) -> (f64, f64) {
        let n = ks.len() as f64;
        let r = r as f64;
        let p: Vec<f64> = ks.iter().map(|&k| k as f64 / r).collect();
        let mean = p.iter().sum::<f64>() / n;
        let between = p.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0);
        let within = ks
            .iter()
            .map(|&k| k as f64 * (r - k as f64) / (r * (r - 1.0)))
            .sum::<f64>()
            / n;
        (between - within / r, within)
    }

    fn table(ks: &[u64], r: u64) -> Vec<u64> {
        let mut t = vec![0; r as usize + 1];
        for &k in ks {
            t[k as usize] += 1;
        }
        t
    }

    #[test]
    fn variances_match_the_textbook_estimators() {
        let ks = [0, 3, 7, 10, 2, 2, 5, 9, 1, 0, 4];
        let row = across_sets("x", &table(&ks, 10), 1);
        let (input, chance) = textbook(&ks, 10);
        assert!(
            (row.input_variance - input).abs() < 1e-12,
            "{row:?} {input}"
        );
        assert!((row.chance_variance - chance).abs() < 1e-12);
        let share = row.input_share.unwrap();
        assert!((share - input / (input + chance)).abs() < 1e-12);
        let mean = ks.iter().sum::<u64>() as f64 / (ks.len() as f64 * 10.0);
        assert_eq!(row.mean, mean);
    }

    #[test]
    fn percentiles_are_nearest_rank_shares() {
        // 20 sets: 0/4 x 10, 1/4 x 6, 2/4 x 3, 4/4 x 1.
        let ks: Vec<u64> = [vec![0; 10], vec![1; 6], vec![2; 3], vec![4]].concat();
        let row = across_sets("x", &table(&ks, 4), 1);
        // Ranks: 5 % of 20 is the 1st set, 50 % the 10th, 95 % the 19th.
        assert_eq!((row.p05, row.p50, row.p95), (0.0, 0.0, 0.5));
        assert_eq!(row.sets_by_count, vec![[0, 10], [1, 6], [2, 3], [4, 1]]);
    }

    #[test]
    fn sets_that_differ_only_by_chance_give_inputs_no_share() {
        // Every set has the same probability 0.3: the spread of k/R is binomial noise alone.
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(9);
        let b = Binomial::new(20, 0.3).unwrap();
        let ks: Vec<u64> = (0..4000).map(|_| b.sample(&mut rng)).collect();
        let row = across_sets("x", &table(&ks, 20), 1);
        let [lo, hi] = row.input_share_ci95.unwrap();
        assert!(row.input_share.unwrap() < 0.01, "{row:?}");
        assert!(lo <= 0.005 && hi < 0.02, "{lo} {hi}");
        assert!((row.chance_in_spread.unwrap() - 1.0).abs() < 0.1);
    }

    #[test]
    fn sets_with_different_probabilities_give_inputs_their_share() {
        // Half the sets at p = 0.1, half at p = 0.5: Var(p) = 0.04, E[p(1-p)] = 0.17.
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(3);
        let (lo_p, hi_p) = (
            Binomial::new(50, 0.1).unwrap(),
            Binomial::new(50, 0.5).unwrap(),
        );
        let ks: Vec<u64> = (0..20_000)
            .map(|i| {
                if i % 2 == 0 {
                    lo_p.sample(&mut rng)
                } else {
                    hi_p.sample(&mut rng)
                }
            })
            .collect();
        let row = across_sets("x", &table(&ks, 50), 1);
        let truth = 0.04 / (0.04 + 0.17);
        let [lo, hi] = row.input_share_ci95.unwrap();
        assert!(lo < truth && truth < hi, "{lo} {truth} {hi}");
        assert!((row.input_variance - 0.04).abs() < 0.002);
        assert!((row.chance_variance - 0.17).abs() < 0.002);
    }

    #[test]
    fn no_share_without_two_sets_or_any_variation() {
        assert_eq!(across_sets("x", &table(&[3], 5), 1).input_share, None);
        let never = across_sets("x", &table(&[0, 0, 0], 5), 1);
        assert_eq!((never.input_share, never.chance_in_spread), (None, None));
        assert_eq!(never.input_share_ci95, None);
        let always = across_sets("x", &table(&[5, 5], 5), 1);
        assert_eq!(always.input_share, None);
    }

    #[test]
    fn a_share_below_zero_is_reported_as_zero_with_the_raw_variance() {
        // Under-dispersed: every set exactly 5 of 10 (chance alone would spread them).
        let row = across_sets("x", &table(&[5; 30], 10), 1);
        assert!(row.input_variance < 0.0);
        assert_eq!(row.input_share, Some(0.0));
        assert_eq!(row.chance_in_spread, None);
    }
}
