//! The distributions against closed forms, high-precision references and bisection, and
//! their validation messages.

use super::*;
use proptest::prelude::*;
use rand::SeedableRng;
use rand_xoshiro::Xoshiro256PlusPlus;
use statrs::function::beta::{beta_reg, ln_beta};

fn d(r: Result<Distribution, DistError>) -> Distribution {
    r.expect("valid distribution")
}

/// One representative of every kind and of every code path (truncation
/// on either side and far in a tail, narrow truncation, table halves,
/// linear and binary discrete search).
fn cases() -> Vec<Distribution> {
    vec![
        d(Distribution::fixed(3.5)),
        d(Distribution::uniform(-2.0, 5.0)),
        d(Distribution::normal(10.0, 2.0, None, None)),
        d(Distribution::normal(0.0, 1.0, Some(-1.0), Some(2.0))),
        d(Distribution::normal(5.0, 2.0, Some(0.0), None)),
        d(Distribution::normal(0.0, 1.0, Some(30.0), None)),
        d(Distribution::normal(0.0, 1.0, None, Some(-8.0))),
        d(Distribution::normal(0.0, 1.0, Some(6.0), Some(6.5))),
        d(Distribution::normal(0.0, 1.0, Some(3.0), Some(3.01))),
        d(Distribution::lognormal(0.0, 0.5)),
        d(Distribution::lognormal(2.0, 0.25)),
        d(Distribution::triangular(0.0, 0.3, 1.0)),
        d(Distribution::triangular(0.0, 0.0, 1.0)),
        d(Distribution::triangular(0.0, 1.0, 1.0)),
        d(Distribution::triangular(1000.0, 1000.1, 1000.3)),
        d(Distribution::pert(0.5, 0.75, 1.0, DEFAULT_PERT_LAMBDA)),
        d(Distribution::pert(0.0, 0.9, 1.0, DEFAULT_PERT_LAMBDA)),
        d(Distribution::pert(10.0, 12.0, 30.0, 6.0)),
        d(Distribution::beta(0.5, 0.5, 0.0, 1.0)),
        d(Distribution::beta(2.0, 5.0, 0.0, 1.0)),
        d(Distribution::beta(1.0, 1.0, 0.0, 1.0)),
        d(Distribution::beta(30.0, 2.0, 10.0, 20.0)),
        d(Distribution::beta(0.2, 3.0, 0.0, 1.0)),
        d(Distribution::beta(1000.0, 1000.0, 0.0, 1.0)),
        d(Distribution::bernoulli(0.3)),
        d(Distribution::bernoulli(0.0)),
        d(Distribution::bernoulli(1.0)),
        d(Distribution::discrete(
            vec![3.0, 1.0, 2.0],
            vec![0.5, 0.2, 0.3],
        )),
        d(Distribution::discrete(
            (0..40).map(f64::from).collect(),
            (1..=40).map(f64::from).collect(),
        )),
    ]
}

/// Mean and central moments 2 and 4 (about the exact mean) of
/// quantile(u_i) over the midpoint grid u_i = (i + 0.5) / n.
fn grid_moments(dist: &Distribution, n: usize) -> (f64, f64, f64) {
    let mu = dist.mean();
    let (mut s1, mut s2, mut s4) = (0.0, 0.0, 0.0);
    for i in 0..n {
        let q = dist.quantile((i as f64 + 0.5) / n as f64);
        let c = q - mu;
        s1 += c;
        s2 += c * c;
        s4 += c * c * c * c;
    }
    let nf = n as f64;
    let m1 = s1 / nf;
    (mu + m1, s2 / nf - m1 * m1, s4 / nf)
}

#[test]
fn grid_moments_match_closed_forms() {
    // The midpoint rule on (0, 1) integrates q(u) and (q(u) - mean)^2
    // with an error that shrinks at order p >= ~1 in 1/n (p = 2 for smooth
    // bounded q; near 1 where q has an integrable tail singularity, as
    // for the normal and lognormal). Richardson's estimate then bounds the
    // error of the fine grid: |I_n - I| <= |I_n - I_{n/2}| / (2^p - 1)
    // <= 4 |I_n - I_{n/2}| for any p >= 0.33. We add rounding slack of
    // 1e-9 relative (200k terms summed at 1e-16) and require the result
    // to be tighter than 1e-3 relative so the check stays meaningful.
    // Step functions (bernoulli, discrete) do not converge smoothly, but
    // for them Koksma's inequality is tight and rigorous: the centred
    // grid has star discrepancy 1/(2n), so the error is at most
    // V(g)/(2n), V the total variation: max - min for q, and at most
    // (min - mean)^2 + (max - mean)^2 for (q - mean)^2.
    let n = 200_000;
    for dist in cases() {
        let (mean, var) = (dist.mean(), dist.variance());
        let (m_fine, v_fine, _) = grid_moments(&dist, n);
        let (m_coarse, v_coarse, _) = grid_moments(&dist, n / 2);
        let scale_m = mean.abs() + var.sqrt();
        let scale_v = var;
        let (koksma_m, koksma_v) = match dist.kind_name() {
            "bernoulli" | "discrete" => {
                let (lo, hi) = dist.support();
                let nf = 2.0 * n as f64;
                (
                    (hi - lo) / nf,
                    ((lo - mean).powi(2) + (hi - mean).powi(2)) / nf,
                )
            }
            _ => (0.0, 0.0),
        };
        let tol_m = 4.0 * (m_fine - m_coarse).abs() + koksma_m + 1e-9 * scale_m;
        let tol_v = 4.0 * (v_fine - v_coarse).abs() + koksma_v + 1e-9 * scale_v;
        let desc = dist.describe();
        if var == 0.0 {
            assert_eq!(m_fine, mean, "{desc}");
            assert!(v_fine.abs() <= 1e-24, "{desc}: variance {v_fine}");
            continue;
        }
        assert!(
            tol_m <= 1e-3 * scale_m && tol_v <= 1e-3 * scale_v,
            "{desc}: error estimate too loose to be a test (mean tol {tol_m:e}, var tol {tol_v:e})"
        );
        assert!(
            (m_fine - mean).abs() <= tol_m,
            "{desc}: grid mean {m_fine} vs closed form {mean} (tol {tol_m:e})"
        );
        assert!(
            (v_fine - var).abs() <= tol_v,
            "{desc}: grid variance {v_fine} vs closed form {var} (rel {:e}, tol {:e})",
            (v_fine - var).abs() / var,
            tol_v / var
        );
    }
}

#[test]
fn quantile_each_gives_quantile_bit_for_bit() {
    let us: Vec<f64> = (0..=1000)
        .map(|i| f64::from(i) / 1000.0)
        .chain([U_MIN / 2.0, U_MAX, 1e-300, 0.5 - 1e-17, 1.0 - 1e-12])
        .collect();
    for dist in cases() {
        let mut each = vec![0.0; us.len()];
        dist.quantile_each(&us, &mut each);
        for (&u, q) in us.iter().zip(&each) {
            assert_eq!(q.to_bits(), dist.quantile(u).to_bits(), "{dist:?} at {u}");
        }
    }
}

#[test]
fn random_moments_within_four_standard_errors() {
    let n = 200_000;
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(20_240_611);
    for dist in cases() {
        let (mean, var) = (dist.mean(), dist.variance());
        let xs: Vec<f64> = (0..n).map(|_| dist.sample(&mut rng)).collect();
        let nf = n as f64;
        let m = xs.iter().sum::<f64>() / nf;
        let v = xs.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / (nf - 1.0);
        let desc = dist.describe();
        if var == 0.0 {
            assert!(xs.iter().all(|&x| x == mean), "{desc}: not constant");
            continue;
        }
        // SE of the mean is sd/sqrt(n); of the sample variance
        // sqrt((mu4 - var^2)/n), with mu4 taken from the fine grid.
        let (_, _, mu4) = grid_moments(&dist, 100_000);
        let se_m = (var / nf).sqrt();
        let se_v = ((mu4 - var * var).max(0.0) / nf).sqrt();
        assert!(
            (m - mean).abs() <= 4.0 * se_m,
            "{desc}: sample mean {m} vs {mean} ({:.2} SE)",
            (m - mean) / se_m
        );
        assert!(
            (v - var).abs() <= 4.0 * se_v,
            "{desc}: sample variance {v} vs {var} ({:.2} SE)",
            (v - var) / se_v
        );
    }
}

/// Reference for the beta solver by plain bisection on beta_reg, in the
/// solver's own orientation: (false, x) with I_x(a, b) = u for u <= 0.5,
/// (true, y) with I_y(b, a) = 1 - u above, y = 1 - x.
fn beta_reference(a: f64, b: f64, u: f64) -> (bool, f64) {
    let (p, q, target, upper) = if u <= 0.5 {
        (a, b, u, false)
    } else {
        (b, a, 1.0 - u, true)
    };
    let (mut lo, mut hi) = (0.0f64, 1.0f64);
    loop {
        let mid = if lo > 0.0 && hi > 4.0 * lo {
            lo.sqrt() * hi.sqrt()
        } else {
            0.5 * (lo + hi)
        };
        if mid <= lo || mid >= hi {
            break;
        }
        if beta_reg(p, q, mid) > target {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    (upper, 0.5 * (lo + hi))
}

fn accuracy_us() -> Vec<f64> {
    let mut us = vec![
        U_MIN, 1e-15, 1e-12, 1e-9, 1e-6, 2e-6, 1e-5, 1e-4, 1e-3, 0.01, 0.5, 0.99, 0.999,
    ];
    for e in [1e-3, 1e-4, 1e-5, 1e-6, 1e-9, 1e-12, 1e-15] {
        us.push(1.0 - e);
    }
    us.push(U_MAX);
    // Dense, off-knot grid: the odd count puts points everywhere within
    // table intervals, including the first and last.
    let n = 20_011;
    us.extend((0..n).map(|i| (i as f64 + 0.37) / n as f64));
    us
}

#[test]
fn beta_and_pert_quantiles_invert_beta_reg() {
    // (distribution, alpha, beta); PERT(0, 0.9, 1) is Beta(4.6, 1.4).
    let shapes: Vec<(Distribution, f64, f64)> = vec![
        (d(Distribution::beta(0.5, 0.5, 0.0, 1.0)), 0.5, 0.5),
        (d(Distribution::beta(2.0, 5.0, 0.0, 1.0)), 2.0, 5.0),
        (d(Distribution::beta(1.0, 1.0, 0.0, 1.0)), 1.0, 1.0),
        (d(Distribution::beta(30.0, 2.0, 0.0, 1.0)), 30.0, 2.0),
        (d(Distribution::beta(2.0, 30.0, -3.0, 7.0)), 2.0, 30.0),
        (
            d(Distribution::pert(0.0, 0.9, 1.0, DEFAULT_PERT_LAMBDA)),
            4.6,
            1.4,
        ),
        (
            d(Distribution::pert(0.0, 0.0, 1.0, DEFAULT_PERT_LAMBDA)),
            1.0,
            5.0,
        ),
        (d(Distribution::pert(2.0, 2.5, 3.0, 50.0)), 26.0, 26.0),
    ];
    for (dist, a, b) in &shapes {
        let (min, max) = dist.support();
        let w = max - min;
        let (mut worst_u, mut worst_x) = (0.0f64, 0.0f64);
        // Up to 1 - 1e-6: beyond it x = 1 - y itself is no longer
        // representable finely enough (for beta(0.5, 0.5) at 1 - 1e-9,
        // y ~ 2.5e-18 < ulp(1)); the solver's own variable is checked
        // all the way out in the next test.
        for u in accuracy_us().into_iter().filter(|&u| u <= 1.0 - 1e-6) {
            let q = dist.quantile(u);
            let x = (q - min) / w;
            let resid = (beta_reg(*a, *b, x) - u).abs();
            assert!(
                resid <= 1e-9,
                "{}: u = {u:e}, q = {q}, beta_reg = {}",
                dist.describe(),
                beta_reg(*a, *b, x)
            );
            let (upper, t) = beta_reference(*a, *b, u);
            let x_ref = if upper { 1.0 - t } else { t };
            let err = (x - x_ref).abs();
            // Output rounding: q = min + w x carries ~ulp(|min| + |max|).
            let tol = 1e-13 + 4.0 * f64::EPSILON * (min.abs() + max.abs()) / w;
            assert!(
                err <= tol,
                "{}: u = {u:e}, x = {x:e}, reference {x_ref:e}",
                dist.describe()
            );
            worst_u = worst_u.max(resid);
            worst_x = worst_x.max(err);
        }
        println!(
            "{:<28} max |I(q) - u| = {worst_u:.1e}, max |x - x_ref| = {worst_x:.1e}",
            dist.describe()
        );
    }
}

#[test]
fn beta_solver_matches_bisection_in_its_own_orientation() {
    // Extreme shapes and extreme u, in the solver's own variable (x below
    // the median, y = 1 - x above), relative to the value: the tails are
    // power laws, so relative precision is what can be kept. beta_reg's
    // x-dependent rounding is that of its exponent a ln t + b ln(1 - t)
    // plus a few eps from the continued fraction; an error d in ln I
    // moves the root by d / e in ln t, e = d ln I / d ln t the
    // elasticity. (Its ln-gamma error is the same for every t and so
    // moves solver and reference alike.) beta_reg is also not exactly
    // monotone for large shapes: at a + b = 1e4 it jumps by ~1e-12
    // relative where its continued fraction changes length, so eps (a+b)
    // more is allowed; below that the root is not defined. Finally t
    // itself is quantized to an ulp, which moves ln I by e eps: large
    // where the solver's variable sits near 1 (the upper half of
    // beta(0.1, 1e4) is y = 1 - x with x ~ 1e-8).
    for (a, b) in [
        (0.5, 0.5),
        (2.0, 5.0),
        (30.0, 2.0),
        (0.1, 0.1),
        (0.2, 7.0),
        (0.1, 1e4),
        (1e4, 1e4),
        (5.0, 1e4),
        (4.6, 1.4),
    ] {
        let dist = d(Distribution::beta(a, b, 0.0, 1.0));
        let Kind::Beta { table, .. } = &dist.kind else {
            panic!("beta without a table");
        };
        let mut worst = 0.0f64;
        for u in accuracy_us() {
            let u = u.clamp(U_MIN, U_MAX);
            let (upper, t) = table.quantile_unit(u);
            let (upper_ref, t_ref) = beta_reference(a, b, u);
            assert_eq!(upper, upper_ref);
            let (p, q, v) = if upper { (b, a, 1.0 - u) } else { (a, b, u) };
            let exponent = (p * t_ref.ln()).abs() + ((q - 1.0) * (-t_ref).ln_1p()).abs();
            let ln_pdf = (p - 1.0) * t_ref.ln() + (q - 1.0) * (-t_ref).ln_1p() - ln_beta(p, q);
            let elasticity = t_ref * ln_pdf.exp() / v;
            let noise = 16.0 * f64::EPSILON * (4.0 + exponent + p + q);
            let resid = (beta_reg(p, q, t) - v).abs() / v;
            let resid_tol = noise + 2.0 * f64::EPSILON * elasticity;
            assert!(
                resid <= resid_tol,
                "beta({a}, {b}): u = {u:e}: relative residual {resid:e} > {resid_tol:e}"
            );
            let tol = noise / elasticity.min(1.0) + 2.0 * f64::EPSILON;
            let rel = (t - t_ref).abs() / t_ref;
            assert!(
                rel <= tol,
                "beta({a}, {b}): u = {u:e}: {t:e} vs reference {t_ref:e} (rel {rel:e}, tol {tol:e})"
            );
            worst = worst.max(rel);
        }
        println!("beta({a}, {b}): worst relative error in the solver's variable {worst:.1e}");
    }
}

#[test]
fn beta_quantile_is_monotone_on_a_dense_grid() {
    for dist in [
        d(Distribution::beta(0.5, 0.5, 0.0, 1.0)),
        d(Distribution::beta(30.0, 2.0, 0.0, 1.0)),
        d(Distribution::pert(0.0, 0.9, 1.0, DEFAULT_PERT_LAMBDA)),
    ] {
        let n = 1_000_000;
        let mut prev = f64::NEG_INFINITY;
        let mut worst_drop = 0.0f64;
        for i in 0..n {
            let q = dist.quantile((i as f64 + 0.5) / n as f64);
            worst_drop = worst_drop.max(prev - q);
            prev = q;
        }
        assert!(
            worst_drop <= 1e-15,
            "{}: quantile drops by {worst_drop:e}",
            dist.describe()
        );
    }
}

#[test]
fn truncated_normal_stays_in_far_tail_bounds() {
    let us = [
        0.0,
        U_MIN / 2.0,
        U_MIN,
        1e-12,
        1e-6,
        0.25,
        0.5,
        0.75,
        1.0 - 1e-6,
        U_MAX,
        1.0,
    ];
    let bounded = [
        (Some(30.0), Some(30.5)),
        (Some(35.0), None),
        (None, Some(-35.0)),
        (Some(-37.0), Some(-36.9)),
        (Some(8.0), Some(8.000001)),
        (Some(-1e3), Some(-30.0)),
        (Some(20.0), Some(1e3)),
    ];
    for (lo, hi) in bounded {
        let dist = d(Distribution::normal(
            100.0,
            2.0,
            lo.map(|z| 100.0 + 2.0 * z),
            hi.map(|z| 100.0 + 2.0 * z),
        ));
        let (smin, smax) = dist.support();
        let mut prev = f64::NEG_INFINITY;
        for u in us {
            let q = dist.quantile(u);
            assert!(q.is_finite(), "{}: q({u:e}) = {q}", dist.describe());
            assert!(
                (smin..=smax).contains(&q),
                "{}: q({u:e}) = {q} escapes [{smin}, {smax}]",
                dist.describe()
            );
            assert!(q >= prev, "{}: not monotone at u = {u:e}", dist.describe());
            prev = q;
        }
        // The bulk must not pile up on a bound: the median sits strictly
        // inside (for the 1e-6-sd-wide interval, to within rounding).
        let med = dist.median();
        assert!(
            med > smin && med < smax,
            "{}: median {med}",
            dist.describe()
        );
    }
    // Upper tail relative precision: the median of normal(0,1) on
    // [30, inf) is Q^-1(Q(30)/2) = 30.023070467827311 (mpmath). Q(30) is
    // known to ~2 (30/sqrt 2)^2 eps = 1e-13 relative, so the median to
    // 1e-13 / 30 plus a couple of ulps (3.6e-15 each).
    let dist = d(Distribution::normal(0.0, 1.0, Some(30.0), None));
    let med = dist.median();
    assert!(
        (med - 30.023_070_467_827_31).abs() <= 1.2e-14,
        "median {med}"
    );
}

#[test]
fn normal_quantile_matches_reference_values() {
    // High-precision values of Phi^-1(u) (mpmath, 50 digits).
    let refs = [
        (1e-300, -37.047_096_299_361_21),
        (1e-100, -21.273453560965326),
        (1e-10, -6.361_340_902_404_057),
        (1e-3, -3.090_232_306_167_813),
        (0.1, -1.2815515655446006),
        (0.25, -0.674_489_750_196_081_8),
        (0.6, 0.253_347_103_135_799_8),
        (0.99, 2.3263478740408408),
    ];
    for (u, z) in refs {
        let got = std_normal_quantile(u);
        assert!(
            (got - z).abs() <= 4e-16 * z.abs(),
            "Phi^-1({u:e}) = {got}, want {z}"
        );
    }
    let dist = d(Distribution::normal(10.0, 2.0, None, None));
    assert_eq!(dist.median(), 10.0);
    assert!((dist.quantile(0.99) - (10.0 + 2.0 * 2.3263478740408408)).abs() < 1e-14);
    // Clamping keeps the extremes finite and symmetric.
    let z = d(Distribution::normal(0.0, 1.0, None, None));
    assert_eq!(z.quantile(0.0), z.quantile(U_MIN));
    assert!(z.quantile(0.0).is_finite() && z.quantile(1.0).is_finite());
    assert!((z.quantile(0.0) + z.quantile(1.0)).abs() < 1e-7);
}

#[test]
fn truncated_normal_moments_match_known_values() {
    // Standard normal on [0, inf): mean sqrt(2/pi), variance 1 - 2/pi.
    let half = d(Distribution::normal(0.0, 1.0, Some(0.0), None));
    let pi = std::f64::consts::PI;
    assert!((half.mean() - (2.0 / pi).sqrt()).abs() < 1e-15);
    assert!((half.variance() - (1.0 - 2.0 / pi)).abs() < 1e-15);
    // On [30, inf) the variance is ~1/a^2 (asymptotic 1/a^2 - 6/a^4).
    let far = d(Distribution::normal(0.0, 1.0, Some(30.0), None));
    let a: f64 = 30.0;
    let approx = 1.0 / (a * a) - 6.0 / a.powi(4) + 50.0 / a.powi(6);
    assert!(((far.variance() - approx) / approx).abs() < 1e-4);
    // Narrow intervals: nearly uniform.
    let narrow = d(Distribution::normal(0.0, 1.0, Some(0.0), Some(1e-6)));
    assert!((narrow.mean() - 0.5e-6).abs() < 1e-15);
    assert!((narrow.variance() / (1e-12 / 12.0) - 1.0).abs() < 1e-6);
}

#[test]
fn quantile_is_exact_for_simple_kinds() {
    let t = d(Distribution::triangular(0.0, 0.5, 1.0));
    assert_eq!(t.quantile(0.125), 0.25);
    assert_eq!(t.quantile(0.5), 0.5);
    let u = d(Distribution::uniform(2.0, 4.0));
    assert_eq!(u.quantile(0.25), 2.5);
    let b = d(Distribution::bernoulli(0.3));
    assert_eq!(b.quantile(0.69), 0.0);
    assert_eq!(b.quantile(0.71), 1.0);
    assert_eq!(d(Distribution::bernoulli(1.0)).quantile(0.0), 1.0);
    assert_eq!(d(Distribution::bernoulli(0.0)).quantile(1.0), 0.0);
    let disc = d(Distribution::discrete(
        vec![3.0, 1.0, 2.0],
        vec![0.5, 0.2, 0.3],
    ));
    assert_eq!(disc.quantile(0.1), 1.0);
    assert_eq!(disc.quantile(0.2), 2.0); // cumulative share must exceed u
    assert_eq!(disc.quantile(0.49), 2.0);
    assert_eq!(disc.quantile(0.51), 3.0);
    assert_eq!(disc.support(), (1.0, 3.0));
    let ln = d(Distribution::lognormal(1.0, 0.5));
    assert!((ln.median() - 1f64.exp()).abs() < 1e-15);
    let f = d(Distribution::fixed(-2.5));
    assert_eq!(f.quantile(0.3), -2.5);
    assert!(f.is_fixed() && !u.is_fixed());
    assert!(d(Distribution::bernoulli(0.0)).is_fixed());
    assert!(d(Distribution::discrete(vec![2.0, 2.0], vec![1.0, 3.0])).is_fixed());
}

#[test]
fn pert_matches_its_beta() {
    // PERT(min, mode, max, lambda) is Beta(alpha, beta) on [min, max].
    let p = d(Distribution::pert(10.0, 12.0, 30.0, 6.0));
    let b = d(Distribution::beta(1.6, 6.4, 10.0, 30.0));
    assert!((p.mean() - b.mean()).abs() < 1e-12);
    assert!((p.mean() - (10.0 + 6.0 * 12.0 + 30.0) / 8.0).abs() < 1e-12);
    assert!((p.variance() - b.variance()).abs() < 1e-12);
    for u in [1e-6, 0.1, 0.5, 0.9, 1.0 - 1e-6] {
        assert!((p.quantile(u) - b.quantile(u)).abs() < 1e-11);
    }
}

fn err_key(r: Result<Distribution, DistError>) -> &'static str {
    match r {
        Ok(dist) => panic!("expected an error, got {}", dist.describe()),
        Err(e) => {
            assert!(!e.message.is_empty());
            e.key
        }
    }
}

#[test]
fn validation_errors_name_the_key() {
    let nan = f64::NAN;
    let inf = f64::INFINITY;
    assert_eq!(err_key(Distribution::fixed(nan)), "value");
    assert_eq!(err_key(Distribution::fixed(inf)), "value");
    assert_eq!(err_key(Distribution::uniform(nan, 1.0)), "min");
    assert_eq!(err_key(Distribution::uniform(0.0, inf)), "max");
    assert_eq!(err_key(Distribution::uniform(1.0, 1.0)), "max");
    assert_eq!(err_key(Distribution::uniform(2.0, 1.0)), "max");
    assert_eq!(err_key(Distribution::uniform(-1e308, 1e308)), "max");
    assert_eq!(err_key(Distribution::normal(nan, 1.0, None, None)), "mean");
    assert_eq!(err_key(Distribution::normal(0.0, -1.0, None, None)), "sd");
    assert_eq!(err_key(Distribution::normal(0.0, 0.0, None, None)), "sd");
    assert_eq!(err_key(Distribution::normal(0.0, inf, None, None)), "sd");
    assert_eq!(err_key(Distribution::normal(0.0, 1e307, None, None)), "sd");
    assert_eq!(
        err_key(Distribution::normal(0.0, 1.0, Some(nan), None)),
        "min"
    );
    assert_eq!(
        err_key(Distribution::normal(0.0, 1.0, None, Some(inf))),
        "max"
    );
    assert_eq!(
        err_key(Distribution::normal(0.0, 1.0, Some(1.0), Some(1.0))),
        "max"
    );
    assert_eq!(
        err_key(Distribution::normal(0.0, 1.0, Some(2.0), Some(1.0))),
        "max"
    );
    // No probability mass left: far right of the mean blames min, far
    // left blames max.
    assert_eq!(
        err_key(Distribution::normal(0.0, 1.0, Some(40.0), Some(41.0))),
        "min"
    );
    assert_eq!(
        err_key(Distribution::normal(0.0, 1.0, Some(40.0), None)),
        "min"
    );
    assert_eq!(
        err_key(Distribution::normal(0.0, 1.0, Some(-41.0), Some(-40.0))),
        "max"
    );
    assert_eq!(
        err_key(Distribution::normal(0.0, 1.0, None, Some(-40.0))),
        "max"
    );
    assert_eq!(err_key(Distribution::lognormal(inf, 1.0)), "mu");
    assert_eq!(err_key(Distribution::lognormal(0.0, 0.0)), "sigma");
    assert_eq!(err_key(Distribution::lognormal(0.0, 40.0)), "sigma");
    assert_eq!(err_key(Distribution::triangular(0.0, 1.4, 1.0)), "mode");
    assert_eq!(err_key(Distribution::triangular(0.0, -0.1, 1.0)), "mode");
    assert_eq!(err_key(Distribution::triangular(0.0, nan, 1.0)), "mode");
    assert_eq!(err_key(Distribution::triangular(1.0, 1.0, 1.0)), "max");
    assert_eq!(
        err_key(Distribution::pert(0.0, 1.4, 1.0, DEFAULT_PERT_LAMBDA)),
        "mode"
    );
    assert_eq!(err_key(Distribution::pert(0.0, 0.5, 1.0, 0.0)), "lambda");
    assert_eq!(err_key(Distribution::pert(0.0, 0.5, 1.0, -4.0)), "lambda");
    assert_eq!(err_key(Distribution::pert(0.0, 0.5, 1.0, nan)), "lambda");
    assert_eq!(err_key(Distribution::pert(0.0, 0.5, 1.0, 1e6)), "lambda");
    assert_eq!(err_key(Distribution::beta(0.0, 1.0, 0.0, 1.0)), "alpha");
    assert_eq!(err_key(Distribution::beta(-2.0, 1.0, 0.0, 1.0)), "alpha");
    assert_eq!(err_key(Distribution::beta(1.0, nan, 0.0, 1.0)), "beta");
    assert_eq!(err_key(Distribution::beta(1.0, 1e5, 0.0, 1.0)), "beta");
    assert_eq!(err_key(Distribution::beta(1.0, 0.01, 0.0, 1.0)), "beta");
    assert_eq!(err_key(Distribution::beta(1.0, 1.0, 2.0, 1.0)), "max");
    assert_eq!(err_key(Distribution::beta(1.0, 1.0, inf, 2.0)), "min");
    assert_eq!(err_key(Distribution::bernoulli(1.2)), "p");
    assert_eq!(err_key(Distribution::bernoulli(-0.1)), "p");
    assert_eq!(err_key(Distribution::bernoulli(nan)), "p");
    assert_eq!(err_key(Distribution::discrete(vec![], vec![])), "values");
    assert_eq!(
        err_key(Distribution::discrete(vec![1.0, nan], vec![1.0, 1.0])),
        "values"
    );
    assert_eq!(
        err_key(Distribution::discrete(vec![1.0, 2.0, 3.0], vec![1.0, 1.0])),
        "weights"
    );
    assert_eq!(
        err_key(Distribution::discrete(
            vec![1.0, 2.0, 3.0],
            vec![1.0, 1.0, 0.0]
        )),
        "weights"
    );
    assert_eq!(
        err_key(Distribution::discrete(vec![1.0, 2.0], vec![1.0, -1.0])),
        "weights"
    );
    assert_eq!(
        err_key(Distribution::discrete(vec![1.0, 2.0], vec![inf, 1.0])),
        "weights"
    );
    assert_eq!(
        err_key(Distribution::discrete(vec![1.0, 2.0], vec![1e308, 1e308])),
        "weights"
    );
    // Spec goes through the same checks.
    assert_eq!(err_key(Distribution::new(Spec::Bernoulli { p: 2.0 })), "p");
}

#[test]
fn validation_messages_show_values_and_fixes() {
    let msg = |r: Result<Distribution, DistError>| match r {
        Ok(_) => panic!("expected an error"),
        Err(e) => e.to_string(),
    };
    let m = msg(Distribution::normal(0.0, -1.0, None, None));
    assert!(m.starts_with("sd must be > 0, got -1"), "{m}");
    let m = msg(Distribution::triangular(0.0, 1.4, 1.0));
    assert_eq!(m, "mode 1.4 is outside [min, max] = [0, 1]");
    let m = msg(Distribution::discrete(
        vec![1.0, 2.0, 3.0],
        vec![1.0, 1.0, 0.0],
    ));
    assert!(m.contains("weight 3 is 0"), "{m}");
    let m = msg(Distribution::discrete(vec![1.0, 2.0, 3.0], vec![1.0, 1.0]));
    assert_eq!(m, "values and weights must have the same length (3 vs 2)");
    let m = msg(Distribution::bernoulli(1.2));
    assert_eq!(m, "p must be in [0, 1], got 1.2");
    let m = msg(Distribution::normal(0.0, 1.0, Some(40.0), Some(41.0)));
    assert!(
        m.contains("[40, 41]") && m.contains("no probability mass"),
        "{m}"
    );
    let m = msg(Distribution::fixed(f64::NAN));
    assert_eq!(m, "value must be a finite number, got NaN");
}

#[test]
fn describe_formats_without_trailing_zeros() {
    let cases = [
        (
            Distribution::pert(0.5, 0.75, 1.0, DEFAULT_PERT_LAMBDA),
            "pert(0.5, 0.75, 1)",
        ),
        (
            Distribution::pert(0.0, 2.0, 10.0, 6.0),
            "pert(0, 2, 10; lambda 6)",
        ),
        (
            Distribution::normal(0.0, 1.0, Some(-1.0), Some(2.0)),
            "normal(0, 1) on [-1, 2]",
        ),
        (Distribution::normal(0.0, 1.0, None, None), "normal(0, 1)"),
        (
            Distribution::normal(5.0, 2.0, Some(0.0), None),
            "normal(5, 2) on [0, inf)",
        ),
        (
            Distribution::discrete(vec![1.0, 2.0, 3.0], vec![0.2, 0.3, 0.5]),
            "discrete([1, 2, 3]; [0.2, 0.3, 0.5])",
        ),
        (Distribution::fixed(3.0), "fixed(3)"),
        (Distribution::fixed(-0.0), "fixed(0)"),
        (Distribution::uniform(1e-7, 2.5e20), "uniform(1e-7, 2.5e20)"),
        (Distribution::lognormal(0.0, 0.25), "lognormal(0, 0.25)"),
        (
            Distribution::triangular(1.0, 2.0, 4.0),
            "triangular(1, 2, 4)",
        ),
        (Distribution::beta(2.0, 5.0, 0.0, 1.0), "beta(2, 5)"),
        (
            Distribution::beta(2.0, 5.0, 10.0, 20.0),
            "beta(2, 5) on [10, 20]",
        ),
        (Distribution::bernoulli(0.125), "bernoulli(0.125)"),
    ];
    for (dist, want) in cases {
        let dist = d(dist);
        assert_eq!(dist.describe(), want);
        assert_eq!(dist.to_string(), want);
    }
}

#[test]
fn distributions_can_be_shared_across_threads() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Distribution>();
    assert_send_sync::<DistError>();
}

#[test]
fn spec_round_trips_and_equality_is_by_value() {
    for dist in cases() {
        let again = d(Distribution::new(dist.spec().clone()));
        assert_eq!(again, dist);
        let clone = dist.clone();
        assert_eq!(clone, dist);
    }
    assert_ne!(
        d(Distribution::beta(2.0, 5.0, 0.0, 1.0)),
        d(Distribution::beta(5.0, 2.0, 0.0, 1.0))
    );
    let p = d(Distribution::pert(0.0, 1.0, 2.0, DEFAULT_PERT_LAMBDA));
    assert_eq!(p.kind_name(), "pert");
    assert!(
        format!("{p:?}").len() < 400,
        "Debug must not dump the table"
    );
}

/// Valid distributions of every kind over wide parameter ranges.
fn arb_distribution() -> impl Strategy<Value = Distribution> {
    let loc = -1e3..1e3f64;
    let pos = 1e-3..1e3f64;
    let frac = 0.0..=1.0f64;
    prop_oneof![
        loc.clone().prop_map(|v| d(Distribution::fixed(v))),
        (loc.clone(), pos.clone()).prop_map(|(a, w)| d(Distribution::uniform(a, a + w))),
        (
            loc.clone(),
            pos.clone(),
            proptest::option::of(-40.0..40.0f64),
            proptest::option::of(1e-3..20.0f64)
        )
            .prop_filter_map("no mass", |(m, s, lo, w)| {
                let lo_x = lo.map(|z| m + s * z);
                let hi_x = match (lo, w) {
                    (Some(z), Some(w)) => Some(m + s * (z + w)),
                    (None, Some(w)) => Some(m + s * (w - 10.0)),
                    _ => None,
                };
                Distribution::normal(m, s, lo_x, hi_x).ok()
            }),
        (-5.0..5.0f64, 1e-3..5.0f64).prop_map(|(m, s)| d(Distribution::lognormal(m, s))),
        (loc.clone(), pos.clone(), frac.clone()).prop_map(|(a, w, f)| d(Distribution::triangular(
            a,
            a + f * w,
            a + w
        ))),
        (loc.clone(), pos.clone(), frac.clone(), 0.1..100.0f64)
            .prop_map(|(a, w, f, l)| d(Distribution::pert(a, a + f * w, a + w, l))),
        (0.1..50.0f64, 0.1..50.0f64, loc.clone(), pos.clone())
            .prop_map(|(al, be, a, w)| d(Distribution::beta(al, be, a, a + w))),
        frac.clone().prop_map(|p| d(Distribution::bernoulli(p))),
        proptest::collection::vec((loc, 1e-3..10.0f64), 1..40).prop_map(|vw| {
            let (v, w) = vw.into_iter().unzip();
            d(Distribution::discrete(v, w))
        }),
    ]
}

/// Allowed decrease of the quantile between u1 < u2: none for the closed
/// forms, rounding of the special functions for the others.
fn monotone_slack(dist: &Distribution, q: f64) -> f64 {
    match dist.kind_name() {
        "normal" | "lognormal" => 4.0 * f64::EPSILON * q.abs(),
        "beta" | "pert" => {
            let (lo, hi) = dist.support();
            4.0 * f64::EPSILON * (hi - lo).max(q.abs())
        }
        _ => 0.0,
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]
    #[test]
    fn quantile_is_monotone_and_within_support(
        dist in arb_distribution(),
        u1 in 0.0..=1.0f64,
        u2 in 0.0..=1.0f64,
        tail in 1e-16..1e-3f64,
    ) {
        let (lo, hi) = dist.support();
        let mut us = [u1, u2, tail, 1.0 - tail, u1 * tail];
        us.sort_by(f64::total_cmp);
        let qs: Vec<f64> = us.iter().map(|&u| dist.quantile(u)).collect();
        for (&u, &q) in us.iter().zip(&qs) {
            prop_assert!(q.is_finite(), "{}: q({}) = {}", dist.describe(), u, q);
            prop_assert!(q >= lo && q <= hi, "{}: q({}) = {} outside [{}, {}]", dist.describe(), u, q, lo, hi);
        }
        for i in 1..qs.len() {
            prop_assert!(
                qs[i] >= qs[i - 1] - monotone_slack(&dist, qs[i]),
                "{}: q({}) = {} > q({}) = {}", dist.describe(), us[i - 1], qs[i - 1], us[i], qs[i]
            );
        }
    }
}
