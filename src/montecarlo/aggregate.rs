//! Streaming aggregates whose merge is exact and order-free.
//!
//! Counts are integers, sums are exact fixed-point integers ([`exact`](super::exact)) and
//! quantiles come from histograms with integer counts whose bucket layout is a function of
//! the smallest and largest value alone. So a study's result does not depend on how runs were
//! split among threads or machines, and memory does not grow with the number of runs.

use serde::{Deserialize, Serialize};

/// Buckets per grid for end-of-run values: quantiles within (max - min) / 4096.
pub const FINE_BUCKETS: u32 = 4096;
/// Buckets per grid for the per-step timeline (a fan chart).
pub const COARSE_BUCKETS: u32 = 1024;
/// The most buckets a grid may have (a bound for files read back).
const MAX_BUCKETS: u32 = 1 << 16;

/// Values on their way into a row of sketches, held sketch by sketch so that each sketch
/// takes many runs' values in one chunk.
///
/// Why: the timeline has a sketch per metric and step (336 in the default scenario, 5 MB of
/// buckets), more than a core's cache holds, so adding each batch of lanes as it comes visits
/// every sketch's buckets once per batch, from memory. A chunk of many runs visits them once.
/// The counts are those of adding the values one by one: a sketch's layout is a function of
/// its smallest and largest value alone.
pub struct Pending {
    /// Values each sketch can hold before a flush.
    width: usize,
    /// Values each sketch holds now.
    filled: usize,
    /// `values[sketch * width + j]`.
    values: Vec<f64>,
    scratch: Scratch,
}

impl Pending {
    /// Room for `width` values (at least one batch of lanes) for each of `sketches` sketches.
    pub fn new(sketches: usize, width: usize) -> Pending {
        Pending {
            width,
            filled: 0,
            values: vec![0.0; sketches * width],
            scratch: Scratch::default(),
        }
    }

    /// Queues lanes `..live` of `rows[i]` for sketch `i` (a row for every sketch), adding what
    /// was queued to `sketches` first if there is no room.
    pub fn push<const N: usize>(
        &mut self,
        sketches: &mut [Sketch],
        rows: &[[f64; N]],
        live: usize,
    ) {
        debug_assert_eq!(rows.len() * self.width, self.values.len());
        debug_assert_eq!(rows.len(), sketches.len());
        if self.filled + live > self.width {
            self.flush(sketches);
        }
        let (width, filled) = (self.width, self.filled);
        let sketch_rows = rows.iter().zip(self.values.chunks_exact_mut(width));
        if live == N {
            // A whole batch: a copy of known length, which compiles to a few vector moves
            // instead of a call per row.
            for (row, values) in sketch_rows {
                values[filled..filled + N].copy_from_slice(row);
            }
        } else {
            for (row, values) in sketch_rows {
                values[filled..filled + live].copy_from_slice(&row[..live]);
            }
        }
        self.filled += live;
    }

    /// Adds what is queued to `sketches`.
    pub fn flush(&mut self, sketches: &mut [Sketch]) {
        if self.filled == 0 {
            return;
        }
        #[cfg(target_arch = "x86_64")]
        if crate::simd::avx2() {
            // SAFETY: `avx2()` is true only when the CPU has AVX2.
            unsafe { add_chunks_avx2(sketches, self) };
            self.filled = 0;
            return;
        }
        add_chunks(sketches, self);
        self.filled = 0;
    }
}

/// [`add_chunks`] compiled for AVX2; the same operations, so the same counts.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn add_chunks_avx2(sketches: &mut [Sketch], pending: &mut Pending) {
    add_chunks(sketches, pending);
}

#[inline(always)]
fn add_chunks(sketches: &mut [Sketch], pending: &mut Pending) {
    let Pending {
        width,
        filled,
        values,
        scratch,
    } = pending;
    for (sketch, values) in sketches.iter_mut().zip(values.chunks_exact(*width)) {
        sketch.add_chunk(&values[..*filled], scratch);
    }
}

/// How a grid turns a value into a bucket key at a given level. Keys are monotone in the
/// value, and the key at `level + 1` is the key at `level` halved (rounded down), so a grid
/// can be coarsened without the values.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    /// `floor(x / 2^level)`: equal-width buckets that follow the spread, however far the
    /// values are from zero.
    Linear,
    /// The float's order-preserving bits shifted right by `level`: buckets whose width is
    /// relative to the magnitude, which follow heavy tails.
    Log,
}

impl Kind {
    /// The finest level at which every key of values up to `magnitude` fits in an `i64`.
    fn finest(self, magnitude: f64) -> i32 {
        match self {
            Kind::Log => 0,
            Kind::Linear if magnitude == 0.0 => -1022,
            Kind::Linear => (exponent(magnitude) - 61).max(-1022),
        }
    }

    #[inline(always)]
    fn key(self, x: f64, level: i32) -> i64 {
        match self {
            Kind::Linear => {
                let v = x * pow2(-level);
                let mut k = v as i64;
                // Round towards minus infinity; a negative value whose scaled image underflows
                // to -0 lies in bucket -1.
                if (k as f64) > v || (v == 0.0 && x < 0.0) {
                    k -= 1;
                }
                k
            }
            Kind::Log => ordered(x) >> level,
        }
    }

    /// The smallest and largest value bucket `key` can hold (bounds are inclusive; for
    /// linear buckets the upper one is the exclusive edge, a conservative bound).
    fn bounds(self, key: i64, level: i32) -> (f64, f64) {
        match self {
            Kind::Linear => {
                let w = pow2(level);
                (key as f64 * w, (key as f64 + 1.0) * w)
            }
            Kind::Log => {
                let lo = i128::from(key) << level;
                let hi = ((i128::from(key) + 1) << level) - 1;
                let clip = |v: i128| v.clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64;
                (unordered(clip(lo)), unordered(clip(hi)))
            }
        }
    }
}

/// The smallest and largest of finite values (zeros of both signs taken as `0.0`, so that
/// neither depends on the order the values come in), and whether all are integers. Eight
/// running extremes at a time, which the compiler keeps in vector registers: the smallest of
/// finite values is the same whichever order they are compared in.
#[inline(always)]
fn extremes(values: &[f64]) -> (f64, f64, bool) {
    const W: usize = 8;
    let mut lo = [f64::INFINITY; W];
    let mut hi = [f64::NEG_INFINITY; W];
    let mut fractional = [false; W];
    let mut take = |j: usize, x: f64| {
        let x = x + 0.0;
        // Plain comparisons: values are finite (the engine checks them).
        lo[j] = if x < lo[j] { x } else { lo[j] };
        hi[j] = if x > hi[j] { x } else { hi[j] };
        fractional[j] |= x.trunc() != x;
    };
    let mut groups = values.chunks_exact(W);
    for group in &mut groups {
        for (j, &x) in group.iter().enumerate() {
            take(j, x);
        }
    }
    for (j, &x) in groups.remainder().iter().enumerate() {
        take(j, x);
    }
    let min = lo
        .iter()
        .fold(f64::INFINITY, |m, &x| if x < m { x } else { m });
    let max = hi
        .iter()
        .fold(f64::NEG_INFINITY, |m, &x| if x > m { x } else { m });
    (min, max, !fractional.iter().any(|&f| f))
}

/// Values whose keys are computed together before they are counted: at least a whole chunk
/// of a study's [`Pending`] values, so that the tallies are cleared and added to the buckets
/// once a chunk.
pub(super) const KEYS: usize = 4096;

/// Reusable room for [`Sketch::add_chunk`]: the keys of a part of a chunk and the tallies.
#[derive(Debug, Default)]
pub struct Scratch {
    linear: Vec<usize>,
    log: Vec<usize>,
    tallies: Vec<u32>,
}

/// Adds one to `counts[at]` for each `at` in `ats`, all of which lie in `span` (inclusive).
///
/// Why tallies: incrementing the counters directly costs a fetch from memory per value (a
/// timeline's buckets do not stay in cache), and when values fall in few buckets each
/// increment waits for the one before. Four interleaved tallies over the span, added to the
/// counters in one pass, avoid both.
#[inline(always)]
fn count_keys(counts: &mut [u64], ats: &[usize], span: (usize, usize), tallies: &mut Vec<u32>) {
    /// The widest span tallied: a coarse grid's; wider ones are counted in place.
    const TALLIED_SPAN: usize = 1024;
    let (first, last) = span;
    if last.wrapping_sub(first) >= TALLIED_SPAN || last >= counts.len() {
        for &at in ats {
            if let Some(n) = counts.get_mut(at) {
                *n += 1;
            }
        }
        return;
    }
    // At most KEYS increments per tally, so u32 does not overflow.
    let width = last - first + 1;
    tallies.clear();
    tallies.resize(4 * width, 0);
    let (t0, rest) = tallies.split_at_mut(width);
    let (t1, rest) = rest.split_at_mut(width);
    let (t2, t3) = rest.split_at_mut(width);
    let mut quads = ats.chunks_exact(4);
    for quad in &mut quads {
        for (tally, &at) in [&mut *t0, &mut *t1, &mut *t2, &mut *t3]
            .into_iter()
            .zip(quad)
        {
            if let Some(n) = tally.get_mut(at.wrapping_sub(first)) {
                *n += 1;
            }
        }
    }
    for (&at, tally) in quads.remainder().iter().zip([&mut *t0, &mut *t1, &mut *t2]) {
        if let Some(n) = tally.get_mut(at.wrapping_sub(first)) {
            *n += 1;
        }
    }
    let tallied = t0.iter().zip(&*t1).zip(&*t2).zip(&*t3);
    for (n, (((a, b), c), d)) in counts[first..=last].iter_mut().zip(tallied) {
        *n += u64::from(a + b + c + d);
    }
}

/// Each value's key in both grids, in a loop with no other stores (which the compiler can
/// then vectorise); one copy per pair of key functions.
#[inline(always)]
fn compute_keys(
    values: &[f64],
    linear_keys: &mut [usize],
    log_keys: &mut [usize],
    linear_at: impl Fn(f64) -> i64,
    log_at: impl Fn(f64) -> i64,
) {
    for ((&x, l), g) in values.iter().zip(linear_keys).zip(log_keys) {
        let x = x + 0.0;
        *l = linear_at(x) as usize;
        *g = log_at(x) as usize;
    }
}

/// Below this magnitude, `floor(v)` plus [`KEY_SHIFT`] is exact and its bits are the key
/// plus those of [`KEY_SHIFT`].
const SMALL_KEY: f64 = (1u64 << 51) as f64;
/// 1.5 * 2^52: the floats from 2^52 to 2^53 are the integers, one apart.
const KEY_SHIFT: f64 = (3u64 << 51) as f64;

/// [`Kind::Linear`]'s key of `x` at the level whose scale (`2^-level`) is `scale`, for
/// `|x| * scale` below [`SMALL_KEY`]: the same key, with operations that have vector forms.
#[inline(always)]
fn small_linear_key(x: f64, scale: f64) -> i64 {
    let v = x * scale;
    let k = (v.floor() + KEY_SHIFT).to_bits() as i64 - KEY_SHIFT.to_bits() as i64;
    // A negative value whose scaled image underflows to -0 lies in bucket -1.
    k - i64::from(v == 0.0 && x < 0.0)
}

/// `floor(log2(|x|))` for a nonzero finite `x`.
fn exponent(x: f64) -> i32 {
    let bits = x.abs().to_bits();
    let field = (bits >> 52) as i32;
    if field == 0 {
        // Subnormal: the position of the highest set bit.
        63 - bits.leading_zeros() as i32 - 1074
    } else {
        field - 1023
    }
}

/// 2^k for k in -1022..=1023 (exact).
#[inline(always)]
fn pow2(k: i32) -> f64 {
    f64::from_bits(((k + 1023) as u64) << 52)
}

/// The float's bits as an integer with the same order as the values (`-0` taken as `0`).
#[inline(always)]
fn ordered(x: f64) -> i64 {
    let bits = (x + 0.0).to_bits() as i64;
    if bits < 0 {
        bits ^ i64::MAX
    } else {
        bits
    }
}

fn unordered(o: i64) -> f64 {
    if o < 0 {
        f64::from_bits((o ^ i64::MAX) as u64)
    } else {
        f64::from_bits(o as u64)
    }
}

/// Counts over contiguous buckets `first..first + counts.len()` at one level.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Grid {
    level: i32,
    first: i64,
    counts: Vec<u64>,
}

impl Grid {
    fn empty(kind: Kind) -> Grid {
        Grid {
            level: match kind {
                Kind::Linear => -1022,
                Kind::Log => 0,
            },
            first: 0,
            counts: Vec::new(),
        }
    }

    /// The level for values in `min..=max`: the finest at which keys fit and the buckets
    /// between them number at most `capacity`. A function of `min` and `max` alone, and never
    /// finer than `self.level` (which came from a narrower range).
    fn level_for(&self, kind: Kind, min: f64, max: f64, capacity: u32) -> i32 {
        let mut level = self.level.max(kind.finest(min.abs().max(max.abs())));
        while i128::from(kind.key(max, level)) - i128::from(kind.key(min, level))
            >= i128::from(capacity)
        {
            level += 1;
        }
        level
    }

    /// Coarsens to `level` and widens to cover keys of `min..=max`.
    fn reshape(&mut self, kind: Kind, level: i32, min: f64, max: f64) {
        let (lo, hi) = (kind.key(min, level), kind.key(max, level));
        if self.counts.is_empty() {
            self.level = level;
            self.first = lo;
            self.counts = vec![0; (hi - lo + 1) as usize];
            return;
        }
        if level == self.level {
            // Same level: widen in place, which is what most new extremes need.
            let before = (self.first - lo) as usize;
            if before > 0 {
                self.counts.splice(0..0, std::iter::repeat_n(0, before));
                self.first = lo;
            }
            self.counts.resize((hi - lo + 1) as usize, 0);
            return;
        }
        let shift = level - self.level;
        let mut counts = vec![0; (hi - lo + 1) as usize];
        for (i, &n) in self.counts.iter().enumerate() {
            if n > 0 {
                let key = (self.first + i as i64) >> shift.min(63);
                counts[(key - lo) as usize] += n;
            }
        }
        self.level = level;
        self.first = lo;
        self.counts = counts;
    }

    /// The bucket holding the value of rank `rank` (1-based) in ascending order.
    fn bucket_of_rank(&self, rank: u64) -> Option<i64> {
        let mut seen = 0;
        for (i, &n) in self.counts.iter().enumerate() {
            seen += n;
            if seen >= rank {
                return Some(self.first + i as i64);
            }
        }
        None
    }
}

/// A quantile as reported: the estimate, and bounds that certainly hold the order statistic.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Quantile {
    pub value: f64,
    /// The largest possible distance between `value` and the exact order statistic.
    pub error: f64,
}

/// A histogram of a stream of finite values with two grids of buckets over the observed
/// range: equal-width buckets (which follow the spread however far the values are from zero)
/// and magnitude-relative ones (which follow heavy tails). A quantile is looked up in both and
/// the narrower answer kept, with a bound on its error.
///
/// The bucket layout is a function of the smallest and largest value only, so adding values
/// in any order, or merging sketches of any split of them, gives the same counts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sketch {
    capacity: u32,
    count: u64,
    #[serde(with = "extended_float")]
    min: f64,
    #[serde(with = "extended_float")]
    max: f64,
    /// Every value so far is an integer: quantiles are then reported as integers.
    integral: bool,
    linear: Grid,
    log: Grid,
}

impl Sketch {
    pub fn new(capacity: u32) -> Sketch {
        Sketch {
            capacity,
            count: 0,
            min: f64::INFINITY,
            max: f64::NEG_INFINITY,
            integral: true,
            linear: Grid::empty(Kind::Linear),
            log: Grid::empty(Kind::Log),
        }
    }

    /// Adds one finite value.
    #[inline(always)]
    pub fn add(&mut self, x: f64) {
        self.add_chunk(std::slice::from_ref(&x), &mut Scratch::default());
    }

    /// Adds finite values. The layout is fixed first from the chunk's smallest and largest
    /// value (it depends on nothing else), so the counts are those of adding one at a time,
    /// and the bucket loop runs with the grids' bounds in locals.
    #[inline(always)]
    pub fn add_chunk(&mut self, chunk: &[f64], scratch: &mut Scratch) {
        if chunk.is_empty() {
            return;
        }
        let (lo, hi, integral) = extremes(chunk);
        if !(lo >= self.min && hi <= self.max) {
            self.widen(lo.min(self.min), hi.max(self.max));
        }
        self.count += chunk.len() as u64;
        self.integral &= integral;
        let (linear_first, linear_level) = (self.linear.first, self.linear.level);
        let (log_first, log_level) = (self.log.first, self.log.level);
        let linear = &mut self.linear.counts[..];
        let log = &mut self.log.counts[..];
        let linear_at = |x: f64| Kind::Linear.key(x, linear_level).wrapping_sub(linear_first);
        let log_at = |x: f64| Kind::Log.key(x, log_level).wrapping_sub(log_first);
        // Every key lies between those of the smallest and largest value, which the grids
        // cover.
        let linear_span = (linear_at(lo) as usize, linear_at(hi) as usize);
        let log_span = (log_at(lo) as usize, log_at(hi) as usize);
        if lo == hi {
            // One value throughout (common in a timeline's early steps): one bucket each,
            // with no key pass and no tallies.
            let n = chunk.len() as u64;
            if let Some(c) = linear.get_mut(linear_span.0) {
                *c += n;
            }
            if let Some(c) = log.get_mut(log_span.0) {
                *c += n;
            }
            return;
        }
        // Scaled values below 2^51 in magnitude (nearly always) have keys that vector
        // instructions compute exactly (AVX2 has no vector conversion to 64-bit integers).
        let linear_scale = pow2(-linear_level);
        let small_linear_keys = lo.abs().max(hi.abs()) * linear_scale < SMALL_KEY;
        let part_len = chunk.len().min(KEYS);
        scratch.linear.resize(part_len, 0);
        scratch.log.resize(part_len, 0);
        for part in chunk.chunks(KEYS) {
            // Keys first, in a loop with no stores to the buckets (which the compiler can then
            // vectorise), then the increments.
            let linear_keys = &mut scratch.linear[..part.len()];
            let log_keys = &mut scratch.log[..part.len()];
            if small_linear_keys {
                let small_at = |x| small_linear_key(x, linear_scale).wrapping_sub(linear_first);
                compute_keys(part, linear_keys, log_keys, small_at, log_at);
            } else {
                compute_keys(part, linear_keys, log_keys, linear_at, log_at);
            }
            count_keys(linear, linear_keys, linear_span, &mut scratch.tallies);
            count_keys(log, log_keys, log_span, &mut scratch.tallies);
        }
    }

    /// The slow path: a new smallest or largest value changes the layout.
    #[inline(never)]
    fn widen(&mut self, min: f64, max: f64) {
        self.min = min;
        self.max = max;
        let level = self.linear.level_for(Kind::Linear, min, max, self.capacity);
        self.linear.reshape(Kind::Linear, level, min, max);
        let level = self.log.level_for(Kind::Log, min, max, self.capacity);
        self.log.reshape(Kind::Log, level, min, max);
    }

    pub fn merge(&mut self, other: &Sketch) {
        if other.count == 0 {
            return;
        }
        let mut other = other.clone();
        let (min, max) = (self.min.min(other.min), self.max.max(other.max));
        for (a, b, kind) in [
            (&mut self.linear, &mut other.linear, Kind::Linear),
            (&mut self.log, &mut other.log, Kind::Log),
        ] {
            let level = a.level_for(kind, min, max, self.capacity).max(b.level_for(
                kind,
                min,
                max,
                self.capacity,
            ));
            a.reshape(kind, level, min, max);
            b.reshape(kind, level, min, max);
            for (x, y) in a.counts.iter_mut().zip(&b.counts) {
                *x += y;
            }
        }
        self.min = min;
        self.max = max;
        self.count += other.count;
        self.integral &= other.integral;
    }

    pub fn count(&self) -> u64 {
        self.count
    }

    /// The most buckets either grid may have.
    pub fn capacity(&self) -> u32 {
        self.capacity
    }

    pub fn min(&self) -> f64 {
        self.min
    }

    pub fn max(&self) -> f64 {
        self.max
    }

    /// Whether every value was an integer.
    pub fn is_integral(&self) -> bool {
        self.integral
    }

    /// The `q`-quantile: the order statistic of rank `ceil(q n)` (at least 1), the smallest
    /// value with at least a share `q` of the values at or below it (Hyndman and Fan's type
    /// 1). `q` is taken to the nearest millionth, so the rank is exact integer arithmetic.
    ///
    /// The value is the middle of the narrowest bounds the two grids give (an integer for
    /// integer-valued data), with the largest distance to the exact order statistic; the
    /// error is 0 when the bounds meet.
    pub fn quantile(&self, q: f64) -> Quantile {
        let nan = Quantile {
            value: f64::NAN,
            error: f64::NAN,
        };
        if self.count == 0 {
            return nan;
        }
        let millionths = (q.clamp(0.0, 1.0) * 1e6).round() as u128;
        let rank = (millionths * u128::from(self.count))
            .div_ceil(1_000_000)
            .clamp(1, u128::from(self.count)) as u64;
        let (mut lo, mut hi) = (self.min, self.max);
        if rank > 1 && rank < self.count {
            for (grid, kind) in [(&self.linear, Kind::Linear), (&self.log, Kind::Log)] {
                if let Some(key) = grid.bucket_of_rank(rank) {
                    let (a, b) = kind.bounds(key, grid.level);
                    lo = lo.max(a);
                    hi = hi.min(b);
                }
            }
        } else if rank == 1 {
            hi = lo;
        } else {
            lo = hi;
        }
        if self.integral {
            // The order statistic is an integer between the bounds.
            (lo, hi) = (lo.ceil(), hi.floor());
        }
        if lo >= hi {
            return Quantile {
                value: lo,
                error: 0.0,
            };
        }
        let mid = lo / 2.0 + hi / 2.0;
        let value = if self.integral {
            mid.round().clamp(lo, hi)
        } else {
            mid
        };
        Quantile {
            value,
            error: (value - lo).max(hi - value),
        }
    }

    /// Counts in at most `bins` equal-width bins covering the smallest to the largest value,
    /// exact: each bin is a union of whole buckets (or, for integer data with fewer values
    /// than buckets, of whole integers), so every value is counted in the bin that holds it.
    pub fn histogram(&self, bins: usize) -> (Vec<f64>, Vec<u64>) {
        if self.count == 0 {
            return (vec![0.0, 1.0], vec![0]);
        }
        let (lo, hi) = (self.min, self.max);
        if hi <= lo {
            let pad = if lo == 0.0 { 0.5 } else { lo.abs() * 0.05 };
            return (vec![lo - pad, hi + pad], vec![self.count]);
        }
        let bins = bins.max(1) as u64;
        let grid = &self.linear;
        let width = pow2(grid.level);
        let span = hi - lo + 1.0;
        if self.integral && width <= 0.5 && span < 1e15 {
            // Whole integers per bin, edges halfway between integers; a bucket narrower than
            // a half holds at most one integer.
            let per_bin = (span as u64).div_ceil(bins);
            let used = (span as u64).div_ceil(per_bin);
            let edges = (0..=used)
                .map(|i| lo - 0.5 + (i * per_bin) as f64)
                .collect();
            let mut counts = vec![0; used as usize];
            for (i, &n) in grid.counts.iter().enumerate() {
                if n > 0 {
                    let (a, _) = Kind::Linear.bounds(grid.first + i as i64, grid.level);
                    let value = a.ceil();
                    let bin = (((value - lo) as u64) / per_bin).min(used - 1);
                    counts[bin as usize] += n;
                }
            }
            return (edges, counts);
        }
        let buckets = grid.counts.len() as u64;
        let per_bin = buckets.div_ceil(bins);
        let used = buckets.div_ceil(per_bin);
        let edges = (0..=used)
            .map(|i| (grid.first + (i * per_bin) as i64) as f64 * width)
            .collect();
        let counts = grid
            .counts
            .chunks(per_bin as usize)
            .map(|c| c.iter().sum())
            .collect();
        (edges, counts)
    }

    /// Checks a sketch read from a file: a layout this code could have made, and counts that
    /// add up.
    pub fn check(&self) -> Result<(), String> {
        if self.capacity == 0 || self.capacity > MAX_BUCKETS {
            return Err(format!("sketch capacity {} is out of range", self.capacity));
        }
        if self.count == 0 {
            return if self.linear.counts.is_empty() && self.log.counts.is_empty() {
                Ok(())
            } else {
                Err("an empty sketch has buckets".into())
            };
        }
        if !(self.min.is_finite() && self.max.is_finite() && self.min <= self.max) {
            return Err("sketch bounds are not finite and ordered".into());
        }
        for (grid, kind) in [(&self.linear, Kind::Linear), (&self.log, Kind::Log)] {
            let levels = match kind {
                Kind::Linear => -1022..=1022,
                Kind::Log => 0..=63,
            };
            if !levels.contains(&grid.level)
                || grid.level < kind.finest(self.min.abs().max(self.max.abs()))
            {
                return Err(format!("sketch level {} is out of range", grid.level));
            }
            let (lo, hi) = (
                kind.key(self.min, grid.level),
                kind.key(self.max, grid.level),
            );
            if grid.first != lo || grid.counts.len() as i128 != i128::from(hi) - i128::from(lo) + 1
            {
                return Err("sketch buckets do not match its bounds".into());
            }
            if grid.counts.len() > self.capacity as usize {
                return Err("sketch has more buckets than its capacity".into());
            }
            let total = grid.counts.iter().try_fold(0u64, |a, &n| a.checked_add(n));
            if total != Some(self.count) {
                return Err("sketch bucket counts do not add up to its count".into());
            }
        }
        Ok(())
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

/// Runs counted by the value a count or categorical metric ended at: one slot per declared
/// value (or per count 0, 1, ...), and the runs at any other value, with the lowest run index
/// among them so that a reader can replay it. Adding and merging are exact and order-free
/// (the lowest index is a minimum).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ValueCounts {
    pub counts: Vec<u64>,
    pub other: u64,
    /// The lowest run that ended at another value, and that value.
    pub first_other: Option<(u64, f64)>,
}

impl ValueCounts {
    pub fn new(slots: usize) -> ValueCounts {
        ValueCounts {
            counts: vec![0; slots],
            other: 0,
            first_other: None,
        }
    }

    /// Counts run `run` at slot `slot`, or as another value when `slot` is `None`.
    pub fn add(&mut self, run: u64, slot: Option<usize>, value: f64) {
        match slot.and_then(|i| self.counts.get_mut(i)) {
            Some(n) => *n += 1,
            None => {
                self.other += 1;
                if self.first_other.is_none_or(|(r, _)| run < r) {
                    self.first_other = Some((run, value));
                }
            }
        }
    }

    pub fn merge(&mut self, other: &ValueCounts) {
        for (a, b) in self.counts.iter_mut().zip(&other.counts) {
            *a += b;
        }
        self.other += other.other;
        if let Some((run, value)) = other.first_other {
            if self.first_other.is_none_or(|(r, _)| run < r) {
                self.first_other = Some((run, value));
            }
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
    use rand::{Rng, SeedableRng};

    /// Adds lanes `..live` of `values[i]` to `sketches[i]`, for every `i`.
    fn add_lanes<const N: usize>(sketches: &mut [Sketch], values: &[[f64; N]], live: usize) {
        let sketches = &mut sketches[..values.len()];
        let mut pending = Pending::new(sketches.len(), N);
        pending.push(sketches, values, live);
        pending.flush(sketches);
    }

    /// What a grid's counts must be: each value's key at the grid's final level, counted
    /// without the chunked insert.
    fn recount(grid: &Grid, kind: Kind, values: &[f64]) -> Vec<u64> {
        let mut counts = vec![0; grid.counts.len()];
        for &x in values {
            counts[(kind.key(x + 0.0, grid.level) - grid.first) as usize] += 1;
        }
        counts
    }

    #[test]
    fn chunks_of_any_length_and_spread_count_every_value_once() {
        let u = uniforms(11, 5000);
        let spreads: Vec<(&str, Vec<f64>)> = vec![
            ("constant", vec![2.5; 5000]),
            (
                "signed zeros",
                (0..5000)
                    .map(|i| if i % 3 == 0 { -0.0 } else { 0.0 })
                    .collect(),
            ),
            (
                "two values",
                u.iter().map(|u| if *u < 0.3 { 0.0 } else { 1.0 }).collect(),
            ),
            (
                "a few dozen integers",
                u.iter().map(|u| (u * 40.0).floor()).collect(),
            ),
            (
                "hundreds of integers",
                u.iter().map(|u| (u * 700.0).floor() - 350.0).collect(),
            ),
            ("spread", u.iter().map(|u| 1e6 + u * 3.0).collect()),
            (
                "negative, far from zero",
                u.iter().map(|u| -1e12 - u * 7.0).collect(),
            ),
            // Scaled keys beyond 2^51: the scalar path.
            (
                "far from zero, narrow",
                u.iter().map(|u| 1e15 + u * 0.5).collect(),
            ),
            // At a coarse level, tiny negatives scale to -0 and lie in bucket -1.
            ("tiny negatives among large values", {
                u.iter()
                    .map(|u| if *u < 0.5 { -1e-320 } else { 1e9 * u })
                    .collect()
            }),
            ("mostly one value, a wide tail", {
                u.iter()
                    .map(|u| if *u < 0.9 { 0.25 } else { 1e9 * u })
                    .collect()
            }),
        ];
        for (name, values) in &spreads {
            for width in [16, 48, 1024, 1040, 4100] {
                for capacity in [COARSE_BUCKETS, FINE_BUCKETS] {
                    let mut sketches = vec![Sketch::new(capacity)];
                    let mut pending = Pending::new(1, width);
                    // Batches of 13 of 16 lanes: chunks of every length modulo 4.
                    for batch in values.chunks(13) {
                        let mut row = [0.0; 16];
                        row[..batch.len()].copy_from_slice(batch);
                        pending.push(&mut sketches, &[row], batch.len());
                    }
                    pending.flush(&mut sketches);
                    let s = &sketches[0];
                    let case = format!("{name}, width {width}, capacity {capacity}");
                    assert_eq!(s.count(), values.len() as u64, "{case}");
                    assert_eq!(
                        s.linear.counts,
                        recount(&s.linear, Kind::Linear, values),
                        "{case}"
                    );
                    assert_eq!(s.log.counts, recount(&s.log, Kind::Log, values), "{case}");
                    assert_eq!(*s, sketch(capacity, values), "{case}");
                    assert_eq!(s.check(), Ok(()), "{case}");
                }
            }
        }
    }

    #[test]
    fn small_linear_keys_are_the_linear_keys() {
        let u = uniforms(5, 20_000);
        let mut checked = 0;
        for (i, pair) in u.chunks_exact(2).enumerate() {
            let magnitude = 10f64.powf(pair[0] * 40.0 - 20.0);
            let x = match i % 4 {
                0 => (pair[1] - 0.5) * magnitude,
                // Integers and halves: keys on bucket edges.
                1 => ((pair[1] - 0.5) * magnitude).round() / 2.0,
                2 => -f64::from_bits(1 + (pair[1] * 1e6) as u64),
                _ => pair[1] * 4e-308,
            } + 0.0;
            for level in [-1022, -300, -60, -8, -1, 0, 1, 5, 60, 300, 1000] {
                let scale = pow2(-level);
                if x.abs() * scale >= SMALL_KEY {
                    continue;
                }
                assert_eq!(
                    small_linear_key(x, scale),
                    Kind::Linear.key(x, level),
                    "x {x:e}, level {level}"
                );
                checked += 1;
            }
        }
        // Around 2^51 itself, where the vector form stops being exact.
        for k in [(1i64 << 51) - 1, (1 << 50) + 3, -(1 << 51) + 1] {
            for x in [k as f64, k as f64 - 0.5, k as f64 + 0.25] {
                if x.abs() < SMALL_KEY {
                    assert_eq!(small_linear_key(x, 1.0), Kind::Linear.key(x, 0), "x {x}");
                    checked += 1;
                }
            }
        }
        assert!(checked > 50_000, "{checked}");
    }

    fn sketch(capacity: u32, values: &[f64]) -> Sketch {
        let mut s = Sketch::new(capacity);
        values.iter().for_each(|&v| s.add(v));
        s
    }

    /// The order statistic of rank ceil(q n), by sorting.
    fn exact_quantile(values: &[f64], q: f64) -> f64 {
        let mut sorted = values.to_vec();
        sorted.sort_by(f64::total_cmp);
        let millionths = (q * 1e6).round() as usize;
        let rank = (millionths * values.len()).div_ceil(1_000_000).max(1);
        sorted[rank.min(values.len()) - 1]
    }

    fn uniforms(seed: u64, n: usize) -> Vec<f64> {
        let mut rng = rand_xoshiro::Xoshiro256PlusPlus::seed_from_u64(seed);
        (0..n).map(|_| rng.random::<f64>()).collect()
    }

    #[test]
    fn quantiles_follow_the_spread_whatever_the_offset() {
        for offset in [0.0, 1000.0, -1000.0, 1e7, 1e12, 3.7e15] {
            let values: Vec<f64> = uniforms(1, 20_000).iter().map(|u| offset + u).collect();
            let s = sketch(FINE_BUCKETS, &values);
            let spread = exact_quantile(&values, 0.95) - exact_quantile(&values, 0.05);
            for q in [0.05, 0.25, 0.5, 0.75, 0.95] {
                let exact = exact_quantile(&values, q);
                let got = s.quantile(q);
                assert!(
                    (got.value - exact).abs() <= got.error,
                    "offset {offset} q {q}: {got:?} vs {exact}"
                );
                assert!(
                    got.error <= 0.005 * spread,
                    "offset {offset} q {q}: error {} vs spread {spread}",
                    got.error
                );
            }
        }
    }

    #[test]
    fn quantiles_of_heavy_tails_and_tiny_values_hold() {
        let u = uniforms(2, 20_000);
        let cases: Vec<(&str, Vec<f64>)> = vec![
            (
                "lognormal",
                u.iter().map(|u| (4.0 * (u - 0.5)).exp().powi(3)).collect(),
            ),
            ("pareto", u.iter().map(|u| (1.0 - u).powf(-1.5)).collect()),
            ("tiny", u.iter().map(|u| 1e-300 * (1.0 + u)).collect()),
            (
                "tiny near zero",
                u.iter().map(|u| 1e-15 * (u - 0.3)).collect(),
            ),
            ("huge", u.iter().map(|u| 1e300 * (u - 0.5)).collect()),
        ];
        for (name, values) in cases {
            let s = sketch(FINE_BUCKETS, &values);
            let spread = exact_quantile(&values, 0.95) - exact_quantile(&values, 0.05);
            for q in [0.05, 0.5, 0.95] {
                let exact = exact_quantile(&values, q);
                let got = s.quantile(q);
                assert!(
                    (got.value - exact).abs() <= got.error,
                    "{name} q {q}: {got:?} vs {exact}"
                );
                assert!(
                    got.error <= 0.005 * spread,
                    "{name} q {q}: {got:?}, spread {spread}"
                );
            }
        }
    }

    #[test]
    fn integer_quantiles_are_values_taken() {
        // An integer metric with a wide range and one with a narrow one.
        let u = uniforms(3, 10_001);
        for scale in [5.0, 100_000.0] {
            let values: Vec<f64> = u.iter().map(|u| (u * scale).floor()).collect();
            let s = sketch(FINE_BUCKETS, &values);
            for q in [0.05, 0.5, 0.95] {
                let got = s.quantile(q);
                assert_eq!(got.value.fract(), 0.0, "scale {scale} q {q}");
                let exact = exact_quantile(&values, q);
                assert!((got.value - exact).abs() <= got.error);
                if scale == 5.0 {
                    assert_eq!((got.value, got.error), (exact, 0.0));
                }
            }
        }
    }

    #[test]
    fn constants_and_one_value_are_exact() {
        for values in [
            vec![0.3; 100],
            vec![-7.25],
            vec![0.0, -0.0, 0.0],
            vec![1e-320; 3],
        ] {
            let s = sketch(COARSE_BUCKETS, &values);
            for q in [0.0, 0.05, 0.5, 0.95, 1.0] {
                let got = s.quantile(q);
                assert_eq!(got.value, values[0] + 0.0);
                assert_eq!(got.error, 0.0);
            }
        }
    }

    #[test]
    fn histograms_are_exact_and_follow_the_observed_range() {
        let u = uniforms(4, 30_000);
        for offset in [0.0, 1000.0, 1e9] {
            let values: Vec<f64> = u.iter().map(|u| offset + u).collect();
            let s = sketch(FINE_BUCKETS, &values);
            let (edges, counts) = s.histogram(30);
            assert_eq!(edges.len(), counts.len() + 1);
            assert!(counts.len() >= 15 && counts.len() <= 30, "{}", counts.len());
            assert!(edges[0] <= s.min() && *edges.last().unwrap() >= s.max());
            let width = edges[1] - edges[0];
            assert!(width * counts.len() as f64 <= 2.0 * (s.max() - s.min()));
            // A brute-force recount: every value in the bin whose edges hold it.
            let mut recount = vec![0u64; counts.len()];
            for &v in &values {
                let bin = edges
                    .windows(2)
                    .position(|e| v >= e[0] && v < e[1])
                    .unwrap();
                recount[bin] += 1;
            }
            assert_eq!(counts, recount, "offset {offset}");
        }
    }

    #[test]
    fn integer_histograms_have_a_bin_per_value() {
        let values: Vec<f64> = (0..1000).map(|i| f64::from(i % 10)).collect();
        let (edges, counts) = sketch(FINE_BUCKETS, &values).histogram(30);
        assert_eq!(edges, (0..=10).map(|i| i as f64 - 0.5).collect::<Vec<_>>());
        assert_eq!(counts, vec![100; 10]);
        let (edges, counts) = sketch(FINE_BUCKETS, &values).histogram(5);
        assert_eq!(edges.len(), 6);
        assert_eq!(counts, vec![200; 5]);
    }

    #[test]
    fn any_order_and_split_give_the_same_sketch() {
        let mut rng = rand_xoshiro::Xoshiro256PlusPlus::seed_from_u64(5);
        for trial in 0..40 {
            let magnitude = 10f64.powi(rng.random_range(-20..20));
            let offset = [0.0, 1e6, -3.0][trial % 3] * magnitude;
            let values: Vec<f64> = (0..3000)
                .map(|_| offset + magnitude * rng.random::<f64>().powi(1 + trial as i32 % 4))
                .collect();
            let whole = sketch(COARSE_BUCKETS, &values);
            let cut = rng.random_range(1..2999);
            let mut a = sketch(COARSE_BUCKETS, &values[..cut]);
            let b = sketch(COARSE_BUCKETS, &values[cut..]);
            let mut ba = b.clone();
            ba.merge(&a);
            a.merge(&b);
            let mut reversed = values.clone();
            reversed.reverse();
            assert_eq!(a, whole, "trial {trial}");
            assert_eq!(ba, whole, "trial {trial}");
            assert_eq!(sketch(COARSE_BUCKETS, &reversed), whole, "trial {trial}");
            assert_eq!(whole.check(), Ok(()));
        }
    }

    #[test]
    fn adding_lanes_equals_adding_one_by_one() {
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
            let mut one_by_one = vec![Sketch::new(COARSE_BUCKETS); 3];
            let mut by_lanes = vec![Sketch::new(COARSE_BUCKETS); 3];
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
        let a = sketch(FINE_BUCKETS, &[0.0, -0.0, 0.0]);
        let b = sketch(FINE_BUCKETS, &[-0.0, 0.0, -0.0]);
        assert_eq!(a, b);
        assert_eq!(a.min().to_bits(), 0.0f64.to_bits());
    }

    #[test]
    fn tampered_sketches_are_refused() {
        let good = sketch(COARSE_BUCKETS, &[1.0, 2.0, 3.5]);
        assert_eq!(good.check(), Ok(()));
        let mut more = good.clone();
        more.count += 1;
        assert!(more.check().is_err());
        let mut shifted = good.clone();
        shifted.linear.first += 1;
        assert!(shifted.check().is_err());
        let mut huge = good.clone();
        huge.capacity = u32::MAX;
        assert!(huge.check().is_err());
    }

    #[test]
    fn wilson_intervals_cover_at_any_rarity() {
        // Binomial counts drawn directly, 4,000 studies per case. Wilson's coverage oscillates
        // around 95 % and dips where only about one run is expected (Brown, Cai and DasGupta
        // 2001): at n p = 1 it is about 0.92 (k >= 3 excludes p), which the README states; the
        // floor asserted there is the documented one.
        let mut rng = rand_xoshiro::Xoshiro256PlusPlus::seed_from_u64(6);
        for (n, p, floor) in [
            (100u64, 0.01, 0.90),
            (1000, 0.001, 0.90),
            (1000, 0.05, 0.93),
            (1000, 0.5, 0.93),
            (20, 0.3, 0.93),
            (10_000, 0.0005, 0.93),
        ] {
            let trials = 4000;
            let covered = (0..trials)
                .filter(|_| {
                    let k = (0..n).filter(|_| rng.random::<f64>() < p).count() as u64;
                    let [lo, hi] = wilson(k, n);
                    lo <= p && p <= hi
                })
                .count();
            let coverage = covered as f64 / trials as f64;
            assert!(coverage >= floor, "n {n} p {p}: coverage {coverage}");
        }
    }

    #[test]
    fn value_counts_merge_in_any_order_and_keep_the_lowest_other_run() {
        // Runs 0..40 at slots by run; every seventh run at another value.
        let add = |runs: std::ops::Range<u64>| {
            let mut v = ValueCounts::new(3);
            for r in runs.rev() {
                let slot = (r % 7 != 3).then_some((r % 3) as usize);
                v.add(r, slot, r as f64 + 0.5);
            }
            v
        };
        let whole = add(0..40);
        let (mut a, b) = (add(0..17), add(17..40));
        let mut ba = b.clone();
        ba.merge(&a);
        a.merge(&b);
        assert_eq!(a, whole);
        assert_eq!(ba, whole);
        assert_eq!(whole.other, 6);
        assert_eq!(whole.first_other, Some((3, 3.5)));
        assert_eq!(whole.counts.iter().sum::<u64>() + whole.other, 40);
        // A slot beyond the table is another value, not a panic.
        let mut v = ValueCounts::new(1);
        v.add(9, Some(4), 4.0);
        assert_eq!(
            (v.counts[0], v.other, v.first_other),
            (0, 1, Some((9, 4.0)))
        );
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
