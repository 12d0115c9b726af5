//! Rank correlations between uncertain parameters, by a Gaussian copula.
//!
//! A scenario states Spearman rank correlations between parameters. Each parameter keeps its
//! own distribution: the copula moves only the uniform numbers its quantiles are taken at. For
//! the `n` correlated parameters of a run, with uniforms `u`:
//!
//! ```text
//! z = Phi^-1(u),   z' = L z,   u' = Phi(z')
//! ```
//!
//! where `L` is the lower-triangular Cholesky factor of the Pearson matrix `R` with
//! `R_ij = 2 sin(pi rho_ij / 6)`, the Pearson correlation of two standard normals whose rank
//! correlation is `rho_ij`. Each row of `L` has unit length, so each `z'_i` is standard normal
//! and each `u'_i` uniform: every marginal is exactly its stated distribution, whatever the
//! correlations.
//!
//! Everything here is pure linear algebra on small dense matrices (at most
//! [`MAX_CORRELATED`] parameters), shared by the scenario's validation and the sampler.

use std::f64::consts::PI;

use super::normal::{std_normal_cdf, std_normal_quantile, std_normal_sf};
use super::{U_MAX, U_MIN};

/// The most parameters one scenario's correlations may join (the factor has `n^2 / 2`
/// entries and every run multiplies by it).
pub const MAX_CORRELATED: usize = 100;

/// A Cholesky pivot within this of zero counts as zero: the matrix is singular there (a rank
/// correlation of ±1, or one pair implied by others), which is allowed. A pivot below
/// `-TOLERANCE` means the matrix is not positive semi-definite.
const TOLERANCE: f64 = 1e-10;

/// How far a column below a zero pivot may be from zero and still count as zero (by
/// Cauchy-Schwarz on the remaining matrix it is at most `sqrt(TOLERANCE)` when the matrix is
/// positive semi-definite).
const COLUMN_TOLERANCE: f64 = 1e-5;

/// The Pearson correlation of two standard normals whose Spearman rank correlation is `rank`:
/// `2 sin(pi rank / 6)`; exactly ±1 at ±1.
pub fn rank_to_pearson(rank: f64) -> f64 {
    if rank.abs() == 1.0 {
        return rank;
    }
    (2.0 * (PI * rank / 6.0).sin()).clamp(-1.0, 1.0)
}

/// The inverse of [`rank_to_pearson`]: `(6 / pi) asin(r / 2)`.
pub fn pearson_to_rank(pearson: f64) -> f64 {
    if pearson.abs() == 1.0 {
        return pearson;
    }
    (6.0 / PI * (pearson / 2.0).asin()).clamp(-1.0, 1.0)
}

/// Standard normal CDF, accurate to a few ulps of `u` on both sides: the lower tail in
/// relative terms, the upper one as `1 - Q(z)`.
fn std_normal_p(z: f64) -> f64 {
    if z < 0.0 {
        std_normal_cdf(z)
    } else {
        1.0 - std_normal_sf(z)
    }
}

/// A symmetric `n` by `n` matrix with a unit diagonal, row-major.
#[derive(Debug, Clone, PartialEq)]
pub struct CorrelationMatrix {
    n: usize,
    values: Vec<f64>,
}

impl CorrelationMatrix {
    /// The Pearson matrix of the rank correlations `pairs` (`(i, j, rank)`, `i != j`, both
    /// below `n`); pairs not listed are 0.
    pub fn from_ranks(n: usize, pairs: &[(usize, usize, f64)]) -> CorrelationMatrix {
        let mut values = vec![0.0; n * n];
        for i in 0..n {
            values[i * n + i] = 1.0;
        }
        for &(i, j, rank) in pairs {
            let r = rank_to_pearson(rank);
            values[i * n + j] = r;
            values[j * n + i] = r;
        }
        CorrelationMatrix { n, values }
    }

    pub fn dim(&self) -> usize {
        self.n
    }

    pub fn get(&self, i: usize, j: usize) -> f64 {
        self.values[i * self.n + j]
    }

    /// The matrix with every off-diagonal entry times `lambda` (`I + lambda (R - I)`).
    pub fn shrunk(&self, lambda: f64) -> CorrelationMatrix {
        let n = self.n;
        let mut values = self.values.clone();
        for i in 0..n {
            for j in 0..n {
                if i != j {
                    values[i * n + j] *= lambda;
                }
            }
        }
        CorrelationMatrix { n, values }
    }

    /// The lower-triangular factor `L` with `L L^T = R` (row-major), each row scaled to unit
    /// length, or the first index whose pivot shows the matrix is not positive
    /// semi-definite. Zero pivots (within a tolerance) leave their column zero, so singular
    /// matrices factor too.
    pub fn factor(&self) -> Result<Vec<f64>, usize> {
        let n = self.n;
        let mut l = vec![0.0; n * n];
        for j in 0..n {
            let mut d = self.get(j, j);
            for k in 0..j {
                d -= l[j * n + k] * l[j * n + k];
            }
            if d < -TOLERANCE {
                return Err(j);
            }
            if d <= TOLERANCE {
                for i in j + 1..n {
                    let mut r = self.get(i, j);
                    for k in 0..j {
                        r -= l[i * n + k] * l[j * n + k];
                    }
                    if r.abs() > COLUMN_TOLERANCE {
                        return Err(i);
                    }
                }
                continue;
            }
            let pivot = d.sqrt();
            l[j * n + j] = pivot;
            for i in j + 1..n {
                let mut r = self.get(i, j);
                for k in 0..j {
                    r -= l[i * n + k] * l[j * n + k];
                }
                l[i * n + j] = r / pivot;
            }
        }
        for i in 0..n {
            let row = &mut l[i * n..i * n + i + 1];
            let norm = row.iter().map(|x| x * x).sum::<f64>().sqrt();
            if norm > 0.0 {
                for x in row.iter_mut() {
                    *x /= norm;
                }
            }
        }
        Ok(l)
    }

    /// Whether the matrix is positive semi-definite (within the factor's tolerance).
    pub fn is_consistent(&self) -> bool {
        self.factor().is_ok()
    }

    /// The largest `lambda` in [0, 1] for which [`CorrelationMatrix::shrunk`] is positive
    /// semi-definite, to about 1e-9 (by bisection: the consistent matrices are convex and hold
    /// the identity, so a smaller `lambda` is consistent whenever a larger one is).
    pub fn largest_consistent_shrink(&self) -> f64 {
        if self.is_consistent() {
            return 1.0;
        }
        let (mut lo, mut hi) = (0.0, 1.0);
        for _ in 0..32 {
            let mid = 0.5 * (lo + hi);
            if self.shrunk(mid).is_consistent() {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        lo
    }

    /// The three indexes whose 3 by 3 matrix is furthest from consistent (the most negative
    /// determinant), if some three are inconsistent on their own.
    pub fn worst_triple(&self) -> Option<[usize; 3]> {
        let n = self.n;
        let mut worst: Option<([usize; 3], f64)> = None;
        for a in 0..n {
            for b in a + 1..n {
                let ab = self.get(a, b);
                for c in b + 1..n {
                    let (ac, bc) = (self.get(a, c), self.get(b, c));
                    let det = 1.0 + 2.0 * ab * ac * bc - ab * ab - ac * ac - bc * bc;
                    if det < -TOLERANCE && worst.is_none_or(|(_, w)| det < w) {
                        worst = Some(([a, b, c], det));
                    }
                }
            }
        }
        worst.map(|(t, _)| t)
    }
}

/// Nearby consistent rank correlations for `pairs` (in their order), written to two decimals:
/// every pair shrunk toward 0 by one common factor, the largest that keeps the matrix
/// positive semi-definite once rounded toward 0.
pub fn consistent_ranks(n: usize, pairs: &[(usize, usize, f64)]) -> (f64, Vec<f64>) {
    let lambda = CorrelationMatrix::from_ranks(n, pairs).largest_consistent_shrink();
    let mut scale = lambda;
    loop {
        let ranks: Vec<f64> = pairs
            .iter()
            .map(|&(_, _, rank)| {
                let pearson = scale * rank_to_pearson(rank);
                (pearson_to_rank(pearson) * 100.0).trunc() / 100.0
            })
            .collect();
        let shrunk: Vec<(usize, usize, f64)> = pairs
            .iter()
            .zip(&ranks)
            .map(|(&(i, j, _), &r)| (i, j, r))
            .collect();
        if scale <= 0.0 || CorrelationMatrix::from_ranks(n, &shrunk).is_consistent() {
            return (scale.max(0.0), ranks);
        }
        scale -= 0.005;
    }
}

/// The copula of `n` correlated parameters: what a run applies to their uniforms.
#[derive(Debug, Clone, PartialEq)]
pub struct GaussianCopula {
    n: usize,
    /// Lower-triangular, row-major, rows of unit length.
    factor: Vec<f64>,
    /// Rows that are the unit vector: `z'_i = z_i`, so `u'_i = u_i` exactly, with no round trip
    /// through the normal functions (the first row always, and any parameter whose pairs are
    /// all 0).
    identity: Vec<bool>,
}

impl GaussianCopula {
    /// The copula of the rank correlations `pairs` among `n` parameters, or the first index
    /// whose pivot shows them inconsistent.
    pub fn new(n: usize, pairs: &[(usize, usize, f64)]) -> Result<GaussianCopula, usize> {
        let factor = CorrelationMatrix::from_ranks(n, pairs).factor()?;
        let identity = (0..n)
            .map(|i| (0..n).all(|k| factor[i * n + k] == if k == i { 1.0 } else { 0.0 }))
            .collect();
        Ok(GaussianCopula {
            n,
            factor,
            identity,
        })
    }

    pub fn dim(&self) -> usize {
        self.n
    }

    /// Correlates the uniforms `us` (one per parameter, in the copula's order) in place;
    /// `z` is scratch of the same length. Each result lies in [`U_MIN`, `U_MAX`].
    pub fn correlate(&self, us: &mut [f64], z: &mut [f64]) {
        let n = self.n;
        debug_assert!(us.len() == n && z.len() == n);
        for (z, &u) in z.iter_mut().zip(us.iter()) {
            *z = std_normal_quantile(u.clamp(U_MIN, U_MAX));
        }
        for (i, (u, &identity)) in us.iter_mut().zip(&self.identity).enumerate() {
            if identity {
                continue;
            }
            let row = &self.factor[i * n..i * n + i + 1];
            let mut zi = 0.0;
            for (l, z) in row.iter().zip(z.iter()) {
                zi += l * z;
            }
            *u = std_normal_p(zi).clamp(U_MIN, U_MAX);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phi_of_its_quantile_gives_back_u() {
        let mut us = vec![U_MIN, 1e-300_f64.max(U_MIN), 1e-12, 1e-6, 0.01, 0.3, 0.5];
        us.extend([0.7, 0.99, 1.0 - 1e-6, 1.0 - 1e-12, U_MAX]);
        for k in 1..2000 {
            us.push(k as f64 / 2000.0);
        }
        for u in us {
            let back = std_normal_p(std_normal_quantile(u));
            let tail = u.min(1.0 - u);
            assert!(
                (back - u).abs() <= 1e-14 * tail + 2.3e-16,
                "u = {u:e}: back {back:e}"
            );
        }
    }

    #[test]
    fn rank_and_pearson_convert_both_ways() {
        for k in -100..=100 {
            let rank = k as f64 / 100.0;
            let back = pearson_to_rank(rank_to_pearson(rank));
            assert!((back - rank).abs() < 1e-12, "{rank}: {back}");
        }
        assert_eq!(rank_to_pearson(1.0), 1.0);
        assert_eq!(rank_to_pearson(-1.0), -1.0);
        assert!((rank_to_pearson(0.5) - 0.517_638_090_205_041_5).abs() < 1e-15);
    }

    #[test]
    fn the_factor_reproduces_the_matrix() {
        let pairs = [(0, 1, 0.6), (1, 2, 0.3), (0, 3, -0.4), (2, 3, 0.2)];
        let r = CorrelationMatrix::from_ranks(4, &pairs);
        let l = r.factor().expect("consistent");
        for i in 0..4 {
            for j in 0..4 {
                let lij: f64 = (0..4).map(|k| l[i * 4 + k] * l[j * 4 + k]).sum();
                assert!((lij - r.get(i, j)).abs() < 1e-14, "({i}, {j})");
            }
        }
    }

    #[test]
    fn singular_matrices_factor_with_unit_rows() {
        // a = b exactly, and c correlated with both alike: rank 2.
        let pairs = [(0, 1, 1.0), (0, 2, 0.5), (1, 2, 0.5)];
        let l = CorrelationMatrix::from_ranks(3, &pairs)
            .factor()
            .expect("singular but consistent");
        assert_eq!(&l[3..6], &[1.0, 0.0, 0.0]);
        for i in 0..3 {
            let norm: f64 = (0..3).map(|k| l[i * 3 + k] * l[i * 3 + k]).sum();
            assert!((norm - 1.0).abs() < 1e-15);
        }
        let anti = [(0, 1, -1.0)];
        assert!(CorrelationMatrix::from_ranks(2, &anti).is_consistent());
    }

    #[test]
    fn an_impossible_triple_is_found_and_shrunk_to_a_consistent_one() {
        let pairs = [(0, 1, 0.9), (1, 2, 0.9), (0, 2, -0.9)];
        let r = CorrelationMatrix::from_ranks(3, &pairs);
        assert_eq!(r.factor(), Err(2));
        assert_eq!(r.worst_triple(), Some([0, 1, 2]));
        let lambda = r.largest_consistent_shrink();
        assert!(lambda > 0.0 && lambda < 1.0);
        assert!(r.shrunk(lambda).is_consistent());
        assert!(!r.shrunk(lambda + 1e-6).is_consistent());
        let (scale, ranks) = consistent_ranks(3, &pairs);
        assert!(scale <= lambda);
        let fixed: Vec<_> = pairs
            .iter()
            .zip(&ranks)
            .map(|(&(i, j, _), &k)| (i, j, k))
            .collect();
        assert!(CorrelationMatrix::from_ranks(3, &fixed).is_consistent());
        assert!(ranks.iter().all(|k| k.abs() > 0.3 && k.abs() < 0.9));
    }

    #[test]
    fn the_first_parameter_and_uncorrelated_ones_keep_their_uniform_bit_for_bit() {
        let copula = GaussianCopula::new(3, &[(1, 2, 0.7), (0, 1, 0.0)]).expect("consistent");
        let mut us = [0.123_456_789, 0.987_654_321, 0.5];
        let mut z = [0.0; 3];
        copula.correlate(&mut us, &mut z);
        assert_eq!(us[0], 0.123_456_789);
        assert_eq!(us[1], 0.987_654_321);
        assert_ne!(us[2], 0.5);
        assert!(us.iter().all(|&u| u > 0.0 && u < 1.0));
    }

    #[test]
    fn correlated_uniforms_stay_strictly_inside_the_unit_interval() {
        let copula = GaussianCopula::new(2, &[(0, 1, -1.0)]).expect("consistent");
        for u in [0.0, U_MIN, 1e-200, 0.5, U_MAX, 1.0] {
            let mut us = [u, 0.3];
            let mut z = [0.0; 2];
            copula.correlate(&mut us, &mut z);
            assert!(us[1] >= U_MIN && us[1] <= U_MAX, "{u}: {}", us[1]);
            // Rank -1: the second is the mirror of the first.
            let mirror = 1.0 - u.clamp(U_MIN, U_MAX);
            assert!((us[1] - mirror).abs() <= 1e-14 * mirror.min(1.0 - mirror) + 2.3e-16);
        }
    }
}
