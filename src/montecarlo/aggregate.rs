//! Streaming aggregates whose merge is exact and order-free.
//!
//! Counts are integers, sums are exact (Shewchuk's algorithm, as Python's `math.fsum`) and
//! quantiles come from log-linear histograms with integer counts. So a study's result does not
//! depend on how runs were split among threads or machines, and memory does not grow with the
//! number of runs.

use serde::{Deserialize, Serialize};

/// An exactly rounded running sum: the result is the correctly rounded value of the exact sum
/// of everything added, whatever the order of additions.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ExactSum {
    /// Non-overlapping partial sums in increasing magnitude.
    partials: Vec<f64>,
}

impl ExactSum {
    pub fn add(&mut self, mut x: f64) {
        let mut kept = 0;
        for j in 0..self.partials.len() {
            let mut y = self.partials[j];
            if x.abs() < y.abs() {
                std::mem::swap(&mut x, &mut y);
            }
            let hi = x + y;
            let lo = y - (hi - x);
            if lo != 0.0 {
                self.partials[kept] = lo;
                kept += 1;
            }
            x = hi;
        }
        self.partials.truncate(kept);
        self.partials.push(x);
    }

    pub fn merge(&mut self, other: &ExactSum) {
        for &p in &other.partials {
            self.add(p);
        }
    }

    /// The correctly rounded sum (round-half-even), as in CPython's `fsum`.
    pub fn value(&self) -> f64 {
        let p = &self.partials;
        let mut n = p.len();
        if n == 0 {
            return 0.0;
        }
        n -= 1;
        let mut hi = p[n];
        let mut lo = 0.0;
        while n > 0 {
            let x = hi;
            n -= 1;
            let y = p[n];
            hi = x + y;
            let yr = hi - x;
            lo = y - yr;
            if lo != 0.0 {
                break;
            }
        }
        if n > 0 && ((lo < 0.0 && p[n - 1] < 0.0) || (lo > 0.0 && p[n - 1] > 0.0)) {
            let y = lo * 2.0;
            let x = hi + y;
            let yr = x - hi;
            if y == yr {
                hi = x;
            }
        }
        hi
    }

    /// Whether this could be a sum of finite numbers (for one read from a file).
    pub fn check(&self) -> Result<(), String> {
        if self.partials.iter().all(|p| p.is_finite()) {
            Ok(())
        } else {
            Err("an exact sum holds a number that is not finite".into())
        }
    }
}

/// Mantissa bits kept per bucket: 2^-7 relative width (quantiles within 0.4 %).
pub const COARSE_BITS: u32 = 7;
/// 2^-10 relative width (quantiles within 0.05 %), for end-of-run summaries.
pub const FINE_BITS: u32 = 10;
/// Magnitudes below this count as zero; it keeps the bucket range bounded.
const ZERO_BAND: f64 = 1e-12;

/// Values whose smallest and largest [`add_lanes`] takes at a time: from a tree of comparisons
/// four deep rather than a chain of sixteen.
const CHUNK: usize = 16;

/// Reduces `values` pairwise (`f` is min or max: exact, so the grouping does not matter).
#[inline(always)]
fn tree(mut values: [f64; CHUNK], f: fn(f64, f64) -> f64) -> f64 {
    let mut width = CHUNK / 2;
    while width > 0 {
        for i in 0..width {
            values[i] = f(values[i], values[i + width]);
        }
        width /= 2;
    }
    values[0]
}

/// Adds lanes `..live` of `values[i]` to `sketches[i]`, for every `i`.
pub fn add_lanes<const N: usize>(sketches: &mut [Sketch], values: &[[f64; N]], live: usize) {
    #[cfg(target_arch = "x86_64")]
    if crate::simd::avx2() {
        // SAFETY: `avx2()` is true only when the CPU has AVX2.
        return unsafe { add_lanes_avx2(sketches, values, live) };
    }
    add_rows(sketches, values, live);
}

/// [`add_rows`] compiled for AVX2; the same comparisons and bit operations, so the same counts.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn add_lanes_avx2<const N: usize>(sketches: &mut [Sketch], values: &[[f64; N]], live: usize) {
    add_rows(sketches, values, live);
}

#[inline(always)]
fn add_rows<const N: usize>(sketches: &mut [Sketch], values: &[[f64; N]], live: usize) {
    for (sketch, row) in sketches.iter_mut().zip(values) {
        for chunk in row[..live].chunks(CHUNK) {
            sketch.add_chunk(chunk);
        }
    }
}

/// A histogram over log-linear buckets taken from a float's bits: bucket `k` holds the
/// positive numbers whose top bits (exponent and `bits` mantissa bits) equal `k`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sketch {
    bits: u32,
    count: u64,
    zeros: u64,
    #[serde(with = "extended_float")]
    min: f64,
    #[serde(with = "extended_float")]
    max: f64,
    positive: Buckets,
    negative: Buckets,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
struct Buckets {
    first: u64,
    counts: Vec<u64>,
}

impl Buckets {
    /// The slow path of [`Sketch::add`]: the first value, or one outside the buckets so far.
    #[inline(never)]
    fn add(&mut self, key: u64, n: u64) {
        if self.counts.is_empty() {
            self.first = key;
            self.counts.push(n);
            return;
        }
        if key < self.first {
            let grow = (self.first - key) as usize;
            self.counts.splice(0..0, std::iter::repeat_n(0, grow));
            self.first = key;
        }
        let index = (key - self.first) as usize;
        if index >= self.counts.len() {
            self.counts.resize(index + 1, 0);
        }
        self.counts[index] += n;
    }

    fn merge(&mut self, other: &Buckets) {
        for (i, &n) in other.counts.iter().enumerate() {
            if n > 0 {
                self.add(other.first + i as u64, n);
            }
        }
    }
}

impl Sketch {
    pub fn new(bits: u32) -> Sketch {
        Sketch {
            bits,
            count: 0,
            zeros: 0,
            min: f64::INFINITY,
            max: f64::NEG_INFINITY,
            positive: Buckets::default(),
            negative: Buckets::default(),
        }
    }

    fn bucket_mid(&self, key: u64) -> f64 {
        let shift = 52 - self.bits;
        let lo = f64::from_bits(key << shift);
        let hi = f64::from_bits((key + 1) << shift);
        0.5 * (lo + hi)
    }

    pub fn add(&mut self, x: f64) {
        self.add_chunk(std::slice::from_ref(&x));
    }

    /// Adds up to [`CHUNK`] values.
    #[inline(always)]
    fn add_chunk(&mut self, chunk: &[f64]) {
        // -0.0 becomes 0.0: zeros of both signs are one value, so the smallest and largest
        // values cannot depend on the order they arrive in.
        let mut low = [f64::INFINITY; CHUNK];
        let mut high = [f64::NEG_INFINITY; CHUNK];
        for (i, &x) in chunk.iter().enumerate() {
            low[i] = x + 0.0;
            high[i] = x + 0.0;
        }
        // Plain comparisons (one `minpd` or `maxpd` for two lanes), not f64::min and its NaN
        // handling: metric values are finite, checked by the engine, and without -0.0 a tie
        // is between identical numbers.
        self.min = self.min.min(tree(low, |a, b| if a < b { a } else { b }));
        self.max = self.max.max(tree(high, |a, b| if a > b { a } else { b }));
        self.count += chunk.len() as u64;
        // The buckets' bounds held in locals, so that an increment cannot make the compiler
        // reload them; values outside the buckets so far (rare) are added after the loop.
        let shift = 52 - self.bits;
        let mut zeros = 0;
        let mut outside = [(false, 0u64); CHUNK];
        let mut outside_len = 0;
        {
            let (positive_first, negative_first) = (self.positive.first, self.negative.first);
            let positive = &mut self.positive.counts[..];
            let negative = &mut self.negative.counts[..];
            for &x in chunk {
                let magnitude = x.abs();
                if magnitude < ZERO_BAND {
                    zeros += 1;
                    continue;
                }
                let key = magnitude.to_bits() >> shift;
                let is_positive = x > 0.0;
                let slot = if is_positive {
                    positive.get_mut(key.wrapping_sub(positive_first) as usize)
                } else {
                    negative.get_mut(key.wrapping_sub(negative_first) as usize)
                };
                match slot {
                    Some(count) => *count += 1,
                    None => {
                        outside[outside_len] = (is_positive, key);
                        outside_len += 1;
                    }
                }
            }
        }
        self.zeros += zeros;
        for &(is_positive, key) in &outside[..outside_len] {
            let buckets = if is_positive {
                &mut self.positive
            } else {
                &mut self.negative
            };
            buckets.add(key, 1);
        }
    }

    pub fn merge(&mut self, other: &Sketch) {
        self.count += other.count;
        self.zeros += other.zeros;
        self.min = self.min.min(other.min);
        self.max = self.max.max(other.max);
        self.positive.merge(&other.positive);
        self.negative.merge(&other.negative);
    }

    pub fn count(&self) -> u64 {
        self.count
    }

    pub fn min(&self) -> f64 {
        self.min
    }

    pub fn max(&self) -> f64 {
        self.max
    }

    /// Buckets in ascending order of value, as (representative value, count).
    fn ascending(&self) -> impl Iterator<Item = (f64, u64)> + '_ {
        let negative = self
            .negative
            .counts
            .iter()
            .enumerate()
            .rev()
            .map(|(i, &n)| (-self.bucket_mid(self.negative.first + i as u64), n));
        let zero = std::iter::once((0.0, self.zeros));
        let positive = self
            .positive
            .counts
            .iter()
            .enumerate()
            .map(|(i, &n)| (self.bucket_mid(self.positive.first + i as u64), n));
        negative
            .chain(zero)
            .chain(positive)
            .filter(|(_, n)| *n > 0)
            .map(|(v, n)| (v.clamp(self.min, self.max), n))
    }

    /// The `q`-quantile (0..=1): the value below which a share `q` of the values lies.
    pub fn quantile(&self, q: f64) -> f64 {
        if self.count == 0 {
            return f64::NAN;
        }
        if q <= 0.0 {
            return self.min;
        }
        if q >= 1.0 {
            return self.max;
        }
        // The smallest value whose cumulative count reaches ceil(q * n).
        let target = ((q * self.count as f64).ceil() as u64).max(1);
        let mut seen = 0;
        for (value, n) in self.ascending() {
            seen += n;
            if seen >= target {
                return value;
            }
        }
        self.max
    }

    /// Counts in `bins` equal-width bins between the smallest and the largest value.
    pub fn histogram(&self, bins: usize) -> (Vec<f64>, Vec<u64>) {
        if self.count == 0 {
            return (vec![0.0, 1.0], vec![0]);
        }
        let (lo, hi) = (self.min, self.max);
        if hi <= lo {
            let pad = if lo == 0.0 { 0.5 } else { lo.abs() * 0.05 };
            return (vec![lo - pad, hi + pad], vec![self.count]);
        }
        let width = (hi - lo) / bins as f64;
        let edges = (0..=bins).map(|i| lo + width * i as f64).collect();
        let mut counts = vec![0u64; bins];
        for (value, n) in self.ascending() {
            let bin = (((value - lo) / width) as usize).min(bins - 1);
            counts[bin] += n;
        }
        (edges, counts)
    }

    /// Whether this is a sketch of `bits` that adding values could have made (for one read
    /// from a file): the buckets hold `count` values, and lie between the smallest and the
    /// largest value, which bounds what merging it may allocate.
    pub fn check(&self, bits: u32) -> Result<(), String> {
        if self.bits != bits {
            return Err(format!(
                "a histogram has {} bits of precision, not {bits}",
                self.bits
            ));
        }
        let held = [&self.positive, &self.negative]
            .iter()
            .flat_map(|b| &b.counts)
            .try_fold(self.zeros, |a, &n| a.checked_add(n));
        if held != Some(self.count) {
            return Err(format!(
                "a histogram's buckets do not hold its {} values",
                self.count
            ));
        }
        if self.count == 0 {
            return if self.min == f64::INFINITY && self.max == f64::NEG_INFINITY {
                Ok(())
            } else {
                Err("an empty histogram has a smallest or largest value".into())
            };
        }
        if !(self.min.is_finite() && self.max.is_finite() && self.min <= self.max) {
            return Err(format!(
                "a histogram's range {} to {} is not a range of numbers",
                self.min, self.max
            ));
        }
        let shift = 52 - bits;
        let key = |x: f64| x.to_bits() >> shift;
        let within = |b: &Buckets, largest: f64| {
            let Some(len) = (b.counts.len() as u64).checked_sub(1) else {
                return true; // no buckets
            };
            let last = b.first.checked_add(len);
            largest >= ZERO_BAND
                && b.first >= key(ZERO_BAND)
                && last.is_some_and(|last| last <= key(largest))
        };
        let zeros_fit = self.zeros == 0 || (self.min < ZERO_BAND && self.max > -ZERO_BAND);
        if within(&self.positive, self.max) && within(&self.negative, -self.min) && zeros_fit {
            Ok(())
        } else {
            Err(format!(
                "a histogram has buckets outside its range {} to {}",
                self.min, self.max
            ))
        }
    }
}

/// JSON has no infinities; an empty sketch's bounds are written as strings.
mod extended_float {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    #[derive(Serialize, Deserialize)]
    #[serde(untagged)]
    enum Repr {
        Number(f64),
        Text(String),
    }

    pub fn serialize<S: Serializer>(v: &f64, s: S) -> Result<S::Ok, S::Error> {
        if v.is_finite() {
            Repr::Number(*v).serialize(s)
        } else if *v > 0.0 {
            Repr::Text("inf".into()).serialize(s)
        } else {
            Repr::Text("-inf".into()).serialize(s)
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
        match Repr::deserialize(d)? {
            Repr::Number(v) => Ok(v),
            Repr::Text(t) if t == "inf" => Ok(f64::INFINITY),
            Repr::Text(t) if t == "-inf" => Ok(f64::NEG_INFINITY),
            Repr::Text(t) => Err(serde::de::Error::custom(format!("not a number: {t}"))),
        }
    }
}

/// 95 % Wilson score interval for `k` successes in `n` trials.
pub fn wilson(k: u64, n: u64) -> [f64; 2] {
    if n == 0 {
        return [0.0, 1.0];
    }
    const Z: f64 = 1.959_963_984_540_054;
    let n_f = n as f64;
    let p = k as f64 / n_f;
    let z2 = Z * Z;
    let denom = 1.0 + z2 / n_f;
    let centre = (p + z2 / (2.0 * n_f)) / denom;
    let half = Z / denom * (p * (1.0 - p) / n_f + z2 / (4.0 * n_f * n_f)).sqrt();
    // At k = 0 or k = n the bound is exactly 0 or 1; rounding would leave a speck.
    let lo = if k == 0 {
        0.0
    } else {
        (centre - half).max(0.0)
    };
    let hi = if k == n {
        1.0
    } else {
        (centre + half).min(1.0)
    };
    [lo, hi]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_sum_is_order_independent_and_exact() {
        let values = [1e16, 1.0, -1e16, 3.5, 1e-3, -2.25, 7e15, 0.1];
        let mut forward = ExactSum::default();
        values.iter().for_each(|v| forward.add(*v));
        let mut backward = ExactSum::default();
        values.iter().rev().for_each(|v| backward.add(*v));
        assert_eq!(forward.value().to_bits(), backward.value().to_bits());
        // The exact sum is 7e15 + 2.351; plain left-to-right summation loses the 1.0.
        assert_eq!(forward.value(), 7e15 + 2.351);
        let mut a = ExactSum::default();
        let mut b = ExactSum::default();
        values[..3].iter().for_each(|v| a.add(*v));
        values[3..].iter().for_each(|v| b.add(*v));
        b.merge(&a);
        assert_eq!(b.value().to_bits(), forward.value().to_bits());
    }

    #[test]
    fn sketch_quantiles_are_within_bucket_accuracy() {
        let mut s = Sketch::new(FINE_BITS);
        let n = 100_000;
        for i in 0..n {
            s.add((i as f64 + 0.5) / n as f64 * 10.0 - 2.0);
        }
        for q in [0.05, 0.25, 0.5, 0.75, 0.95] {
            let exact = q * 10.0 - 2.0;
            let got = s.quantile(q);
            assert!(
                (got - exact).abs() <= exact.abs() * 1e-3 + 1e-4,
                "q {q}: {got} vs {exact}"
            );
        }
        assert_eq!(s.quantile(0.0), s.min());
        assert_eq!(s.quantile(1.0), s.max());
    }

    #[test]
    fn sketch_merge_equals_single_pass() {
        let values: Vec<f64> = (0..5000)
            .map(|i| ((i * 7919) % 1000) as f64 / 37.0 - 5.0)
            .collect();
        let mut whole = Sketch::new(COARSE_BITS);
        values.iter().for_each(|v| whole.add(*v));
        let mut left = Sketch::new(COARSE_BITS);
        let mut right = Sketch::new(COARSE_BITS);
        values[..1234].iter().for_each(|v| left.add(*v));
        values[1234..].iter().for_each(|v| right.add(*v));
        right.merge(&left);
        assert_eq!(whole.quantile(0.3), right.quantile(0.3));
        assert_eq!(whole.histogram(10), right.histogram(10));
        assert_eq!(whole.count(), right.count());
    }

    #[test]
    fn adding_lanes_equals_adding_one_by_one() {
        // Zeros of both signs, negatives, values that make the buckets grow on both sides.
        let rows: Vec<[f64; 16]> = (0..40)
            .map(|r| {
                std::array::from_fn(|l| match (r * 16 + l) % 7 {
                    0 => 0.0,
                    1 => -0.0,
                    2 => -((r * l) as f64) * 0.37,
                    3 => 1e-15,
                    _ => ((r * 31 + l * 17) % 97) as f64 * 10f64.powi(r as i32 % 9 - 4),
                })
            })
            .collect();
        for live in [16, 5] {
            let mut one_by_one = vec![Sketch::new(COARSE_BITS); 3];
            let mut by_lanes = vec![Sketch::new(COARSE_BITS); 3];
            for batch in rows.chunks(3) {
                for (sketch, row) in one_by_one.iter_mut().zip(batch) {
                    row[..live].iter().for_each(|v| sketch.add(*v));
                }
                add_lanes(&mut by_lanes, batch, live);
            }
            assert_eq!(one_by_one, by_lanes, "{live} lanes");
        }
    }

    #[test]
    fn zeros_of_either_sign_give_the_same_extremes_in_any_order() {
        let mut a = Sketch::new(FINE_BITS);
        let mut b = Sketch::new(FINE_BITS);
        [0.0, -0.0, 0.0].iter().for_each(|v| a.add(*v));
        [-0.0, 0.0, -0.0].iter().for_each(|v| b.add(*v));
        assert_eq!(a.min().to_bits(), b.min().to_bits());
        assert_eq!(a.max().to_bits(), b.max().to_bits());
        assert_eq!(a.min().to_bits(), 0.0f64.to_bits());
    }

    #[test]
    fn histogram_counts_every_value() {
        let mut s = Sketch::new(FINE_BITS);
        for i in 0..1000 {
            s.add(f64::from(i % 10));
        }
        let (edges, counts) = s.histogram(5);
        assert_eq!(edges.len(), 6);
        assert_eq!(counts.iter().sum::<u64>(), 1000);
        assert_eq!(counts, vec![200; 5]);
    }

    #[test]
    fn wilson_matches_reference_values() {
        // Reference: 8 of 10 -> [0.4902, 0.9433] (Wilson 1927; e.g. statsmodels proportion_confint).
        let [lo, hi] = wilson(8, 10);
        assert!(
            (lo - 0.4902).abs() < 1e-4 && (hi - 0.9433).abs() < 1e-4,
            "{lo} {hi}"
        );
        let [lo, hi] = wilson(0, 100);
        assert_eq!(lo, 0.0);
        assert!((hi - 0.0370).abs() < 1e-4, "{hi}");
    }
}

#[cfg(test)]
mod exact_sum_orders {
    use super::ExactSum;
    use rand::{Rng, SeedableRng};

    #[test]
    fn any_grouping_gives_the_same_bits() {
        let mut rng = rand_xoshiro::Xoshiro256PlusPlus::seed_from_u64(1);
        for trial in 0..200 {
            let values: Vec<f64> = (0..50)
                .map(|_| rng.random::<f64>() * 10f64.powi(rng.random_range(-3..4)))
                .collect();
            let mut whole = ExactSum::default();
            values.iter().for_each(|v| whole.add(*v));
            let cut = rng.random_range(1..49);
            let mut a = ExactSum::default();
            let mut b = ExactSum::default();
            values[..cut].iter().for_each(|v| a.add(*v));
            values[cut..].iter().for_each(|v| b.add(*v));
            let mut ab = a.clone();
            ab.merge(&b);
            let mut ba = b.clone();
            ba.merge(&a);
            assert_eq!(
                whole.value().to_bits(),
                ab.value().to_bits(),
                "trial {trial}"
            );
            assert_eq!(
                whole.value().to_bits(),
                ba.value().to_bits(),
                "trial {trial}"
            );
        }
    }
}
