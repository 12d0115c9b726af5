//! Exact sums of doubles and of their squares, and correctly rounded statistics from them.
//!
//! Every finite double is an integer multiple of 2^-1074 and its square an integer multiple of
//! 2^-2148, so both sums are kept as wide fixed-point integers. Adding is exact, merging is
//! integer addition (order-free), and the mean and standard deviation are computed once, at
//! the end, from the exact integers: no cancellation however large the mean is next to the
//! spread, no overflow of intermediate sums however large the values are.

use num_bigint::{BigInt, BigUint, Sign};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Bits per digit. Digits are held in `i64`, so 2^30 additions of at most 2^32 each never
/// overflow before the carries are propagated.
const DIGIT_BITS: u32 = 32;
const DIGIT_MASK: u64 = (1 << DIGIT_BITS) - 1;
const ADDS_BEFORE_CARRY: u32 = 1 << 30;

/// Digits for sums of values: values reach bit 2045 + 53 above 2^-1074, and 2^64 of them add
/// 64 bits more, plus room for the three digits a shifted mantissa spans.
const SUM_DIGITS: usize = 72;
/// Digits for sums of squares: squares reach bit 4090 + 106 above 2^-2148, plus 64 and slack.
const SQUARE_DIGITS: usize = 140;
/// Near-path reach for values (mantissas below 2^53): values within 2^±37 of the first.
const SUM_REACH: u32 = 75;
/// Near-path reach for squares (below 2^106): squares within 2^±11 of the first square.
const SQUARE_REACH: u32 = 22;

/// A signed fixed-point integer in carry-save form: the value is the sum of `digits[i] *
/// 2^(32 i)`, each digit any `i64` until [`Wide::propagate`] brings all but the top one into
/// `0..2^32`.
///
/// Most additions take a shorter path ([`Near`]); the digits hold the rest.
#[derive(Debug, Clone)]
struct Wide {
    digits: Vec<i64>,
    adds: u32,
    near: Near,
}

/// Sums of the terms that fall within `reach` bits above `at`, kept apart from the digits in
/// two 192-bit unsigned integers, one for positive and one for negative terms.
///
/// Why: a stream of values of similar magnitude (a parameter's draws, a metric's end values)
/// lands at a few neighbouring positions. Adding a shifted 128-bit term with carry costs a
/// few instructions, where spreading it over carry-save digits at a computed position costs
/// several times that. The terms are integers either way, so the sum is exact either way;
/// the near sums are folded into the digits before anything reads them.
#[derive(Debug, Clone, Copy)]
struct Near {
    /// The position of the near sums' unit; `u32::MAX` until the first term sets it.
    at: u32,
    /// How far above `at` a term may start: a term times 2^reach must stay below 2^128.
    reach: u32,
    /// `low[s] + high[s] * 2^128` is the near sum of the positive (`s = 0`) or negative
    /// (`s = 1`) terms, in units of 2^at.
    low: [u128; 2],
    high: [u64; 2],
}

impl Wide {
    /// Digits for `len * 32` bits; terms up to `2^(128 - reach)` take the near path.
    fn new(len: usize, reach: u32) -> Wide {
        Wide {
            digits: vec![0; len],
            adds: 0,
            near: Near {
                at: u32::MAX,
                reach,
                low: [0; 2],
                high: [0; 2],
            },
        }
    }

    /// Adds `sign * value * 2^position`, `value < 2^(128 - reach)`.
    #[inline(always)]
    fn add_near(&mut self, value: u128, position: u32, negative: bool) {
        let near = &mut self.near;
        if near.at == u32::MAX {
            // Centred on the first term, so that values somewhat smaller or larger than it
            // still take this path.
            near.at = position.saturating_sub(near.reach / 2);
        }
        let shift = position.wrapping_sub(near.at);
        if shift <= near.reach {
            let side = usize::from(negative);
            let (low, carry) = near.low[side].overflowing_add(value << shift);
            near.low[side] = low;
            near.high[side] += u64::from(carry);
        } else {
            self.add(value as u64, position, negative);
            self.add((value >> 64) as u64, position + 64, negative);
        }
    }

    /// Moves the near sums into the digits.
    fn settle(&mut self) {
        let near = self.near;
        if near.at == u32::MAX {
            return;
        }
        for (side, negative) in [(0, false), (1, true)] {
            let (low, high) = (near.low[side], near.high[side]);
            self.add(low as u64, near.at, negative);
            self.add((low >> 64) as u64, near.at + 64, negative);
            self.add(high, near.at + 128, negative);
        }
        self.near.low = [0; 2];
        self.near.high = [0; 2];
    }

    /// Adds `sign * value * 2^position`, `value < 2^64`.
    #[inline(always)]
    fn add(&mut self, value: u64, position: u32, negative: bool) {
        let at = (position / DIGIT_BITS) as usize;
        let shifted = u128::from(value) << (position % DIGIT_BITS);
        let pieces = [
            (shifted as u64 & DIGIT_MASK) as i64,
            ((shifted >> 32) as u64 & DIGIT_MASK) as i64,
            (shifted >> 64) as i64,
        ];
        if let Some(window) = self.digits.get_mut(at..at + 3) {
            for (d, p) in window.iter_mut().zip(pieces) {
                if negative {
                    *d -= p;
                } else {
                    *d += p;
                }
            }
        }
        self.adds += 1;
        if self.adds >= ADDS_BEFORE_CARRY {
            self.propagate();
        }
    }

    /// Brings every digit but the top one into `0..2^32`; the top one carries the sign.
    fn propagate(&mut self) {
        let last = self.digits.len() - 1;
        for i in 0..last {
            let carry = self.digits[i] >> DIGIT_BITS;
            self.digits[i] -= carry << DIGIT_BITS;
            self.digits[i + 1] += carry;
        }
        self.adds = 0;
    }

    fn merge(&mut self, other: &Wide) {
        let mut other = other.clone();
        other.settle();
        other.propagate();
        self.settle();
        self.propagate();
        for (a, b) in self.digits.iter_mut().zip(&other.digits) {
            *a += b;
        }
        self.adds = 1;
    }

    fn to_bigint(&self) -> BigInt {
        let mut w = self.clone();
        w.settle();
        w.propagate();
        let mut value = BigInt::from(0);
        for &d in w.digits.iter().rev() {
            value = (value << DIGIT_BITS) + BigInt::from(d);
        }
        value
    }

    fn from_bigint(value: &BigInt, len: usize, reach: u32) -> Option<Wide> {
        let (sign, magnitude) = value.to_u32_digits();
        if magnitude.len() >= len {
            return None;
        }
        let mut w = Wide::new(len, reach);
        for (d, &m) in w.digits.iter_mut().zip(&magnitude) {
            *d = i64::from(m);
        }
        if sign == Sign::Minus {
            for d in &mut w.digits {
                *d = -*d;
            }
        }
        w.propagate();
        Some(w)
    }
}

/// A finite double as `sign * mantissa * 2^(exponent - 1074)`, `exponent >= 0`.
#[inline(always)]
fn decompose(x: f64) -> (bool, u64, u32) {
    let bits = x.to_bits();
    let negative = bits >> 63 == 1;
    let field = ((bits >> 52) & 0x7ff) as u32;
    let fraction = bits & ((1 << 52) - 1);
    if field == 0 {
        (negative, fraction, 0)
    } else {
        (negative, fraction | (1 << 52), field - 1)
    }
}

/// The exact sum of a stream of finite doubles, and of their squares when asked for.
#[derive(Debug, Clone)]
pub struct ExactMoments {
    /// Sum of values, in units of 2^-1074.
    sum: Wide,
    /// Sum of squares, in units of 2^-2148; `None` when only the mean is wanted.
    squares: Option<Wide>,
}

impl ExactMoments {
    /// Sums of values only (enough for a mean).
    pub fn sums() -> ExactMoments {
        ExactMoments {
            sum: Wide::new(SUM_DIGITS, SUM_REACH),
            squares: None,
        }
    }

    /// Sums of values and of squares (a mean and a standard deviation).
    pub fn with_squares() -> ExactMoments {
        ExactMoments {
            sum: Wide::new(SUM_DIGITS, SUM_REACH),
            squares: Some(Wide::new(SQUARE_DIGITS, SQUARE_REACH)),
        }
    }

    #[inline(always)]
    pub fn add(&mut self, x: f64) {
        debug_assert!(x.is_finite());
        let (negative, mantissa, exponent) = decompose(x);
        if mantissa == 0 {
            return;
        }
        self.sum.add_near(u128::from(mantissa), exponent, negative);
        if let Some(squares) = &mut self.squares {
            let square = u128::from(mantissa) * u128::from(mantissa);
            squares.add_near(square, 2 * exponent, false);
        }
    }

    pub fn merge(&mut self, other: &ExactMoments) {
        self.sum.merge(&other.sum);
        if let (Some(a), Some(b)) = (&mut self.squares, &other.squares) {
            a.merge(b);
        }
    }

    /// The exact sum, correctly rounded (infinite only if it is beyond the double range).
    pub fn sum(&self) -> f64 {
        round_ratio(&self.sum.to_bigint(), &BigUint::from(1u32), -1074)
    }

    /// The mean of `n` values, correctly rounded (round half to even). Finite for finite
    /// values, since it lies between the smallest and the largest.
    pub fn mean(&self, n: u64) -> f64 {
        if n == 0 {
            return 0.0;
        }
        round_ratio(&self.sum.to_bigint(), &BigUint::from(n), -1074)
    }

    /// The sample standard deviation (divisor `n - 1`) of `n` values, within one unit in the
    /// last place: `None` for fewer than two values or without squares, `Some(inf)` if it is
    /// beyond the double range.
    pub fn sd(&self, n: u64) -> Option<f64> {
        let squares = self.squares.as_ref()?;
        if n < 2 {
            return None;
        }
        let n_big = BigInt::from(n);
        let s = self.sum.to_bigint();
        // n * sum(x^2) - sum(x)^2 = sum over pairs of (x_i - x_j)^2: exactly zero or positive.
        let d = &n_big * squares.to_bigint() - &s * &s;
        let d = d.to_biguint().unwrap_or_default();
        if d.bits() == 0 {
            return Some(0.0);
        }
        let pairs = BigUint::from(n) * BigUint::from(n - 1);
        // sd = sqrt(d / (n (n - 1))) * 2^-1074; scale by 2^(2g) so the root has 64+ bits.
        let deficit = 130i64 - d.bits() as i64 + pairs.bits() as i64;
        let g = if deficit > 0 { (deficit + 1) / 2 } else { 0 } as u64;
        let root = ((d << (2 * g)) / pairs).sqrt();
        Some(round_ratio(
            &BigInt::from(root),
            &BigUint::from(1u32),
            -1074 - g as i64,
        ))
    }

    /// Checks a deserialized value: squares present as expected.
    pub fn has_squares(&self) -> bool {
        self.squares.is_some()
    }
}

impl PartialEq for ExactMoments {
    fn eq(&self, other: &ExactMoments) -> bool {
        self.sum.to_bigint() == other.sum.to_bigint()
            && self.squares.as_ref().map(Wide::to_bigint)
                == other.squares.as_ref().map(Wide::to_bigint)
    }
}

/// `numerator / denominator * 2^exponent`, correctly rounded to a double (half to even);
/// infinite beyond the largest finite double.
pub fn round_ratio(numerator: &BigInt, denominator: &BigUint, exponent: i64) -> f64 {
    let negative = numerator.sign() == Sign::Minus;
    let a = numerator.magnitude();
    if a.bits() == 0 {
        return 0.0;
    }
    // e = floor(log2(a / denominator)) + exponent.
    let mut e = a.bits() as i64 - denominator.bits() as i64;
    let below = if e >= 0 {
        a < &(denominator << e as u64)
    } else {
        &(a << (-e) as u64) < denominator
    };
    if below {
        e -= 1;
    }
    e += exponent;
    if e > 1023 {
        return if negative {
            f64::NEG_INFINITY
        } else {
            f64::INFINITY
        };
    }
    // The result is a multiple of 2^quantum with at most 53 significant bits.
    let quantum = (e - 52).max(-1074);
    let shift = exponent - quantum;
    let (num, den) = if shift >= 0 {
        (a << shift as u64, denominator.clone())
    } else {
        (a.clone(), denominator << (-shift) as u64)
    };
    let mut m = &num / &den;
    let twice_rest = (&num - &m * &den) << 1u32;
    if twice_rest > den || (twice_rest == den && m.bit(0)) {
        m += 1u32;
    }
    let m = m.iter_u64_digits().next().unwrap_or(0) as f64;
    let value = scale(m, quantum);
    if negative {
        -value
    } else {
        value
    }
}

/// `m * 2^e` for an integer `m <= 2^53` and `e >= -1074`, where the product is a double or
/// beyond the range: each multiplication is by a power of two and exact.
fn scale(m: f64, e: i64) -> f64 {
    let pow2 = |k: i64| f64::from_bits(((k + 1023) as u64) << 52);
    if e >= -1022 {
        m * pow2(e)
    } else {
        m * pow2(e + 1074) * f64::from_bits(1)
    }
}

/// Written as decimal integers (the sums in units of 2^-1074 and 2^-2148): exact, readable
/// by any JSON reader, and the same text for the same sums whatever order they came in.
impl Serialize for ExactMoments {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Repr {
            sum: String,
            #[serde(skip_serializing_if = "Option::is_none")]
            squares: Option<String>,
        }
        Repr {
            sum: self.sum.to_bigint().to_string(),
            squares: self.squares.as_ref().map(|w| w.to_bigint().to_string()),
        }
        .serialize(s)
    }
}

impl<'de> Deserialize<'de> for ExactMoments {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<ExactMoments, D::Error> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Repr {
            sum: String,
            #[serde(default)]
            squares: Option<String>,
        }
        use serde::de::Error;
        let repr = Repr::deserialize(d)?;
        let parse = |text: &str, len: usize, reach: u32, what: &str| {
            // A bound on the text before parsing keeps a hostile number from costing time.
            if text.len() > len * 10 + 2 {
                return Err(D::Error::custom(format!("{what} is too long")));
            }
            let value: BigInt = text
                .parse()
                .map_err(|_| D::Error::custom(format!("{what} is not an integer")))?;
            Wide::from_bigint(&value, len, reach)
                .ok_or_else(|| D::Error::custom(format!("{what} is out of range")))
        };
        let sum = parse(&repr.sum, SUM_DIGITS, SUM_REACH, "sum")?;
        let squares = match &repr.squares {
            Some(text) => {
                let w = parse(text, SQUARE_DIGITS, SQUARE_REACH, "sum of squares")?;
                if w.to_bigint().sign() == Sign::Minus {
                    return Err(D::Error::custom("sum of squares is negative"));
                }
                Some(w)
            }
            None => None,
        };
        Ok(ExactMoments { sum, squares })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn moments(values: &[f64]) -> ExactMoments {
        let mut m = ExactMoments::with_squares();
        values.iter().for_each(|&v| m.add(v));
        m
    }

    /// The sums by arbitrary-precision arithmetic, term by term.
    fn reference(values: &[f64]) -> (BigInt, BigInt) {
        let (mut sum, mut squares) = (BigInt::from(0), BigInt::from(0));
        for &x in values {
            let (negative, mantissa, exponent) = decompose(x);
            let term = BigInt::from(mantissa) << exponent;
            sum += if negative { -term } else { term };
            squares += (BigInt::from(mantissa) * BigInt::from(mantissa)) << (2 * exponent);
        }
        (sum, squares)
    }

    #[test]
    fn near_and_far_terms_sum_exactly() {
        let u: Vec<f64> = (1..=4000u64)
            .map(|i| (i.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 11) as f64 / (1u64 << 53) as f64)
            .collect();
        let cases: Vec<(&str, Vec<f64>)> = vec![
            // Terms at the top of the near reach: the low 128 bits carry again and again.
            (
                "carries",
                u.iter().map(|u| (1.0 + u) * 2f64.powi(36)).collect(),
            ),
            ("signs", u.iter().map(|u| (u - 0.5) * 3.0).collect()),
            // Negative terms at the top of the reach, after a positive one.
            (
                "a positive first, then negatives at the top of the reach",
                {
                    let mut v = vec![1.0];
                    v.extend(u.iter().map(|u| -(1.0 + u) * 2f64.powi(36)));
                    v
                },
            ),
            ("first small, then far larger and smaller", {
                let mut v = vec![1.0];
                v.extend(
                    u.iter()
                        .map(|u| (u - 0.3) * 10f64.powi((u * 600.0) as i32 - 300)),
                );
                v
            }),
            ("subnormals and the largest", {
                let mut v = vec![f64::from_bits(3), f64::MAX, -f64::MAX, 5e-324];
                v.extend(u.iter().map(|u| u * 1e-310));
                v
            }),
        ];
        for (name, values) in &cases {
            let (sum, squares) = reference(values);
            let m = moments(values);
            assert_eq!(m.sum.to_bigint(), sum, "{name}");
            let got = m.squares.as_ref().map(Wide::to_bigint);
            assert_eq!(got, Some(squares), "{name}");
            // Read part way, then added to: settling keeps the sums.
            let mut half = moments(&values[..values.len() / 2]);
            let _ = half.mean(1);
            values[values.len() / 2..].iter().for_each(|&v| half.add(v));
            assert_eq!(half, m, "{name}");
        }
    }

    #[test]
    fn mean_is_correctly_rounded() {
        // Ten copies of 0.3: the exact mean is the double 0.3 itself.
        let m = moments(&[0.3; 10]);
        assert_eq!(m.mean(10), 0.3);
        // 1, 2: 1.5; 0.1 + 0.2 averaged: the exact (0.1 + 0.2) / 2 rounded once.
        assert_eq!(moments(&[1.0, 2.0]).mean(2), 1.5);
        // (0.1 + 0.2) / 2 is exactly halfway between two doubles: the even one is taken.
        assert_eq!(moments(&[0.1, 0.2]).mean(2), 0.15000000000000002);
    }

    #[test]
    fn sd_survives_huge_offsets() {
        for offset in [0.0, 1e7, 1e8, 1e12, -3e12] {
            let values: Vec<f64> = (0..1000).map(|i| offset + i as f64 / 1000.0).collect();
            // The doubles actually stored, deviations computed in exact rational arithmetic
            // by hand: values are offset + k/1000 rounded, so compare against a two-pass sd
            // in the shifted frame, which is exact enough here.
            let mean: f64 = values.iter().map(|v| v - offset).sum::<f64>() / 1000.0;
            let var: f64 = values
                .iter()
                .map(|v| (v - offset - mean).powi(2))
                .sum::<f64>()
                / 999.0;
            let got = moments(&values).sd(1000).unwrap();
            assert!(
                (got - var.sqrt()).abs() <= 1e-9 * var.sqrt(),
                "offset {offset}: {got} vs {}",
                var.sqrt()
            );
        }
    }

    #[test]
    fn huge_and_tiny_values_stay_finite_and_right() {
        let m = moments(&[1.7e308, 1.7e308, 1.7e308]);
        assert_eq!(m.mean(3), 1.7e308);
        assert_eq!(m.sd(3), Some(0.0));
        assert_eq!(m.sum(), f64::INFINITY);
        let m = moments(&[1e200, 3e200]);
        assert_eq!(m.mean(2), 2e200);
        let sd = m.sd(2).unwrap();
        assert!((sd - 2f64.sqrt() * 1e200).abs() <= 1e-15 * sd, "{sd}");
        let m = moments(&[1e-300, 3e-300]);
        let sd = m.sd(2).unwrap();
        assert!((sd - 2f64.sqrt() * 1e-300).abs() <= 1e-15 * sd, "{sd}");
        let m = moments(&[f64::from_bits(1), f64::from_bits(3)]);
        assert_eq!(m.mean(2), f64::from_bits(2));
        // Two values of opposite sign near the top of the range: the sd is beyond it.
        assert_eq!(moments(&[-1.7e308, 1.7e308]).sd(2), Some(f64::INFINITY));
    }

    #[test]
    fn one_value_has_no_sd_and_constants_have_zero() {
        assert_eq!(moments(&[4.0]).sd(1), None);
        assert_eq!(moments(&[0.1; 7]).sd(7), Some(0.0));
    }

    #[test]
    fn merge_in_any_split_and_order_gives_the_same_bits() {
        let values: Vec<f64> = (0..500)
            .map(|i| {
                ((i * 7919) % 1013) as f64
                    * 10f64.powi(i % 40 - 20)
                    * if i % 3 == 0 { -1.0 } else { 1.0 }
            })
            .collect();
        let whole = moments(&values);
        for cut in [1, 17, 250, 499] {
            let mut a = moments(&values[..cut]);
            let b = moments(&values[cut..]);
            let mut ba = b.clone();
            ba.merge(&a);
            a.merge(&b);
            assert_eq!(a, whole);
            assert_eq!(ba, whole);
            assert_eq!(a.mean(500).to_bits(), whole.mean(500).to_bits());
            assert_eq!(a.sd(500).map(f64::to_bits), whole.sd(500).map(f64::to_bits));
        }
    }

    #[test]
    fn serialized_sums_read_back_equal() {
        let m = moments(&[1.5, -2.25e-300, 7e300, 0.1]);
        let text = serde_json::to_string(&m).unwrap();
        let back: ExactMoments = serde_json::from_str(&text).unwrap();
        assert_eq!(back, m);
        assert!(serde_json::from_str::<ExactMoments>(r#"{"sum":"12x"}"#).is_err());
        let long = format!(r#"{{"sum":"{}"}}"#, "9".repeat(5000));
        assert!(serde_json::from_str::<ExactMoments>(&long).is_err());
    }

    #[test]
    fn rounding_is_half_to_even_and_handles_subnormals() {
        let one = BigUint::from(1u32);
        // 2^53 + 1 is halfway between 2^53 and 2^53 + 2: rounds to even (2^53).
        let v = BigInt::from((1u64 << 53) + 1);
        assert_eq!(round_ratio(&v, &one, 0), 9007199254740992.0);
        let v = BigInt::from((1u64 << 53) + 3);
        assert_eq!(round_ratio(&v, &one, 0), 9007199254740996.0);
        assert_eq!(
            round_ratio(&BigInt::from(1), &BigUint::from(3u32), 0),
            1.0 / 3.0
        );
        assert_eq!(
            round_ratio(&BigInt::from(3), &one, -1075),
            f64::from_bits(2)
        );
        assert_eq!(round_ratio(&BigInt::from(1), &one, -1075), 0.0);
        assert_eq!(
            round_ratio(&BigInt::from(-5), &one, 2000),
            f64::NEG_INFINITY
        );
        assert_eq!(round_ratio(&BigInt::from(1), &one, 1023), 2f64.powi(1023));
    }
}
