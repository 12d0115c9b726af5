//! Counter-based random numbers: every draw is a pure function of
//! (seed, run index, stream key, counter).
//!
//! This is what makes results independent of thread count and scheduling: no generator state
//! is shared or carried between runs. Keying streams by the *name* of what consumes them (a
//! parameter, an event, a decision) rather than by position also gives common random numbers
//! across scenario variants: a variant that adds an event does not shift the numbers any
//! other event or parameter sees. The mixer is SplitMix64's finaliser, applied in a chain, in
//! the spirit of counter-based generators such as Random123.

/// The random stream of one run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunStream {
    key: u64,
}

/// SplitMix64: one increment by the golden gamma, then the finaliser. Written out rather than
/// called through `rand_xoshiro`, whose `seed_from_u64` is not inlined across crates: a call
/// per draw, and no vector form for a batch of lanes (see [`uniforms`]). The test
/// `mix_is_splitmix64` holds it to the crate's output.
#[inline(always)]
fn mix(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// 53 random bits, centred in their cell so that neither 0 nor 1 can occur.
#[inline(always)]
fn unit(bits: u64) -> f64 {
    (exact_f64(bits >> 11) + 0.5) * (1.0 / (1u64 << 53) as f64)
}

/// `x as f64` for `x < 2^53` (exact either way), without a conversion from a 64-bit integer,
/// which AVX2 lacks and which kept the lane loops scalar: `2^52 + n` for `n < 2^52` is a
/// double whose low bits are `n`, so `n` is that double less 2^52. Done for `x >> 1` and for
/// the low bit, whose sum (`x < 2^53`) is exact.
#[inline(always)]
fn exact_f64(x: u64) -> f64 {
    const TWO_52: f64 = 4_503_599_627_370_496.0;
    let low_bits = |n: u64| f64::from_bits(TWO_52.to_bits() | n) - TWO_52;
    low_bits(x >> 1) * 2.0 + low_bits(x & 1)
}

/// [`RunStream::uniform`] of every lane at once, lane `l` at counter `counters[l]`: the same
/// bits, written as one loop over the lanes so that it vectorises where the caller is compiled
/// for wide vectors (the lane engine's AVX2 copy).
#[inline(always)]
pub fn uniforms<const N: usize>(
    streams: &[RunStream; N],
    stream: u64,
    counters: &[u64; N],
) -> [f64; N] {
    let mut out = [0.0; N];
    for ((u, s), &counter) in out.iter_mut().zip(streams).zip(counters) {
        *u = unit(mix(mix(s.key ^ stream) ^ counter));
    }
    out
}

impl RunStream {
    pub fn new(seed: u64, run: u64) -> RunStream {
        RunStream {
            key: mix(mix(seed) ^ run),
        }
    }

    /// The same run under a different sampling design (e.g. Sobol's second matrix).
    pub fn with_design(self, design: u64) -> RunStream {
        RunStream {
            key: mix(self.key ^ mix(design.wrapping_add(0x5851_f42d_4c95_7f2d))),
        }
    }

    /// A uniform number in the open interval (0, 1) for `stream` at `counter`.
    #[inline(always)]
    pub fn uniform(&self, stream: u64, counter: u64) -> f64 {
        unit(mix(mix(self.key ^ stream) ^ counter))
    }
}

/// A stable 64-bit key for a named stream (FNV-1a), e.g. `stream_key("event", "nk_launch")`.
pub fn stream_key(kind: &str, name: &str) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in kind.bytes().chain([b':']).chain(name.bytes()) {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    hash
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{RngCore, SeedableRng};
    use rand_xoshiro::SplitMix64;

    #[test]
    fn mix_is_splitmix64() {
        let edges = [0, 1, u64::MAX, u64::MAX - 0x9e37_79b9_7f4a_7c15, 1 << 63];
        let mut x = 0x0123_4567_89ab_cdef_u64;
        let spread = (0..100_000).map(|_| {
            x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            x
        });
        for v in edges.into_iter().chain(spread) {
            assert_eq!(mix(v), SplitMix64::seed_from_u64(v).next_u64(), "at {v:#x}");
        }
    }

    #[test]
    fn exact_f64_is_the_conversion() {
        let top = (1u64 << 53) - 1;
        let edges = [
            0,
            1,
            2,
            3,
            (1 << 52) - 1,
            1 << 52,
            (1 << 52) + 1,
            top - 1,
            top,
        ];
        let mut x = 0x9e37_79b9_7f4a_7c15_u64;
        let spread = (0..100_000).map(|_| {
            x = mix(x);
            x >> 11
        });
        for v in edges.into_iter().chain(spread) {
            assert_eq!(exact_f64(v).to_bits(), (v as f64).to_bits(), "at {v}");
        }
    }

    #[test]
    fn lane_uniforms_are_the_one_lane_draws() {
        let streams: [RunStream; 16] = std::array::from_fn(|l| RunStream::new(9, l as u64 * 7));
        let counters: [u64; 16] = std::array::from_fn(|l| (l as u64) << 40 | 3);
        let key = stream_key("event", "e");
        let lanes = uniforms(&streams, key, &counters);
        for l in 0..16 {
            assert_eq!(
                lanes[l].to_bits(),
                streams[l].uniform(key, counters[l]).to_bits()
            );
        }
    }

    #[test]
    fn draws_depend_only_on_their_coordinates() {
        let a = RunStream::new(7, 3);
        let b = RunStream::new(7, 3);
        assert_eq!(a.uniform(11, 2).to_bits(), b.uniform(11, 2).to_bits());
        assert_ne!(a.uniform(11, 2), a.uniform(11, 3));
        assert_ne!(a.uniform(11, 2), RunStream::new(7, 4).uniform(11, 2));
        assert_ne!(a.uniform(11, 2), RunStream::new(8, 3).uniform(11, 2));
    }

    #[test]
    fn uniforms_are_in_the_open_unit_interval_and_look_uniform() {
        let n = 200_000;
        let mut sum = 0.0;
        let mut below_tenth = 0;
        for run in 0..n {
            let u = RunStream::new(1, run).uniform(stream_key("p", "x"), 0);
            assert!(u > 0.0 && u < 1.0);
            sum += u;
            below_tenth += usize::from(u < 0.1);
        }
        let mean = sum / n as f64;
        // Standard error of the mean of U(0,1) is sqrt(1/12/n) ~ 0.00065.
        assert!((mean - 0.5).abs() < 0.003, "mean {mean}");
        let share = below_tenth as f64 / n as f64;
        assert!((share - 0.1).abs() < 0.003, "share {share}");
    }

    #[test]
    fn neighbouring_runs_are_uncorrelated() {
        let key = stream_key("event", "e");
        let n = 100_000u64;
        let xs: Vec<f64> = (0..=n)
            .map(|r| RunStream::new(5, r).uniform(key, 0))
            .collect();
        let mean = xs.iter().sum::<f64>() / xs.len() as f64;
        let cov: f64 = xs
            .windows(2)
            .map(|w| (w[0] - mean) * (w[1] - mean))
            .sum::<f64>()
            / n as f64;
        let corr = cov / (1.0 / 12.0);
        assert!(corr.abs() < 0.015, "lag-1 correlation {corr}");
    }
}
