//! Correlated inputs (`[correlations]`): the rank correlations drawn are the ones asked for,
//! every marginal is still its stated distribution, parameters in no pair keep their values bit
//! for bit, results do not depend on threads or shards, and the checks of the table.

use std::path::{Path, PathBuf};

use alliance_sim::model::{self, Model};
use alliance_sim::montecarlo::{sample_parameters, Sampling, StudyConfig};
use alliance_sim::rng::RunStream;
use alliance_sim::scenario;
use assert_cmd::Command;

const FIXTURE: &str = "tests/fixtures/correlated.toml";

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(FIXTURE)
}

fn fixture_text() -> String {
    std::fs::read_to_string(fixture()).expect("fixture")
}

/// The fixture with its `[correlations]` table cut off (it is the file's last table).
fn without_correlations() -> String {
    let text = fixture_text();
    text[..text.find("[correlations]").expect("has the table")].to_string()
}

fn compile(text: &str) -> Result<Model, String> {
    let s = scenario::load_str("correlated.toml", text, None).map_err(|d| d.render(false))?;
    model::compile(s).map_err(|d| d.render(false))
}

fn sim() -> Command {
    Command::cargo_bin("alliance-sim").expect("binary builds")
}

fn config(runs: u64, sampling: Sampling) -> StudyConfig {
    StudyConfig {
        runs,
        seed: 17,
        fixed: vec![],
        timeline: false,
        sampling,
        design: None,
        replications: 1,
    }
}

/// Every run's values and uniforms, run-major.
fn draw(model: &Model, config: &StudyConfig) -> (Vec<Vec<f64>>, Vec<Vec<f64>>) {
    let p = model.parameters.len();
    let (mut values, mut us) = (Vec::new(), Vec::new());
    for run in 0..config.runs {
        let (mut v, mut u) = (vec![0.0; p], vec![0.0; p]);
        let stream = RunStream::new(config.seed, run);
        sample_parameters(model, config, run, stream, &mut v, &mut u);
        values.push(v);
        us.push(u);
    }
    (values, us)
}

fn index(model: &Model, id: &str) -> usize {
    model
        .parameters
        .iter()
        .position(|p| p.id == id)
        .expect("a parameter")
}

fn column(rows: &[Vec<f64>], i: usize) -> Vec<f64> {
    rows.iter().map(|r| r[i]).collect()
}

/// Ranks 0..n, ties given the mean of their ranks.
fn ranks(x: &[f64]) -> Vec<f64> {
    let mut order: Vec<usize> = (0..x.len()).collect();
    order.sort_by(|&a, &b| x[a].total_cmp(&x[b]));
    let mut r = vec![0.0; x.len()];
    let mut i = 0;
    while i < order.len() {
        let mut j = i;
        while j + 1 < order.len() && x[order[j + 1]] == x[order[i]] {
            j += 1;
        }
        for &k in &order[i..=j] {
            r[k] = (i + j) as f64 / 2.0;
        }
        i = j + 1;
    }
    r
}

fn spearman(a: &[f64], b: &[f64]) -> f64 {
    let (ra, rb) = (ranks(a), ranks(b));
    let n = a.len() as f64;
    let (ma, mb) = (ra.iter().sum::<f64>() / n, rb.iter().sum::<f64>() / n);
    let cov: f64 = ra.iter().zip(&rb).map(|(x, y)| (x - ma) * (y - mb)).sum();
    let va: f64 = ra.iter().map(|x| (x - ma) * (x - ma)).sum();
    let vb: f64 = rb.iter().map(|y| (y - mb) * (y - mb)).sum();
    cov / (va * vb).sqrt()
}

/// Kolmogorov-Smirnov distance of `us` from the uniform distribution on (0, 1).
fn ks_uniform(us: &[f64]) -> f64 {
    let mut sorted = us.to_vec();
    sorted.sort_by(f64::total_cmp);
    let n = sorted.len() as f64;
    sorted
        .iter()
        .enumerate()
        .map(|(i, &u)| (u - i as f64 / n).abs().max(((i + 1) as f64 / n - u).abs()))
        .fold(0.0, f64::max)
}

#[test]
fn sample_rank_correlations_match_the_requested_ones() {
    let model = compile(&fixture_text()).expect("loads");
    let n = 20_000;
    let asked = [
        ("x", "y", 0.6),
        ("t", "y", -0.4),
        ("x", "k", 0.3),
        ("w", "t", 0.5),
        // Not listed: 0.
        ("x", "w", 0.0),
        ("free", "x", 0.0),
        ("other", "y", 0.0),
    ];
    for sampling in [Sampling::MonteCarlo, Sampling::LatinHypercube] {
        let (values, _) = draw(&model, &config(n, sampling));
        for (a, b, rank) in asked {
            let got = spearman(
                &column(&values, index(&model, a)),
                &column(&values, index(&model, b)),
            );
            let se = (1.0 - rank * rank) / (n as f64).sqrt();
            println!("{sampling:?} {a}~{b}: asked {rank}, drew {got:.4} (se {se:.4})");
            assert!(
                (got - rank).abs() < 4.0 * se,
                "{sampling:?} {a}~{b}: asked {rank}, drew {got}"
            );
        }
    }
}

#[test]
fn each_value_is_its_distribution_s_quantile_at_the_recorded_u_and_the_marginals_are_unchanged() {
    let model = compile(&fixture_text()).expect("loads");
    let n = 20_000;
    // At the 0.1 % level the KS distance of n uniforms stays below 1.95 / sqrt(n).
    let bound = 1.95 / (n as f64).sqrt();
    for sampling in [Sampling::MonteCarlo, Sampling::LatinHypercube] {
        let (values, us) = draw(&model, &config(n, sampling));
        for (i, p) in model.parameters.iter().enumerate() {
            for (v, u) in values.iter().zip(&us) {
                assert!(u[i] > 0.0 && u[i] < 1.0);
                assert_eq!(
                    v[i].to_bits(),
                    p.distribution.quantile(u[i]).to_bits(),
                    "{sampling:?} {}",
                    p.id
                );
            }
            if p.distribution.is_fixed() {
                continue;
            }
            // Each value is the quantile at its u, so the values follow the stated CDF exactly
            // when the u follow the uniform one.
            let d = ks_uniform(&column(&us, i));
            assert!(d < bound, "{sampling:?} {}: KS distance {d}", p.id);
        }
    }
}

#[test]
fn parameters_in_no_correlation_keep_their_values_bit_for_bit() {
    let correlated = compile(&fixture_text()).expect("loads");
    let plain = compile(&without_correlations()).expect("loads");
    for sampling in [Sampling::MonteCarlo, Sampling::LatinHypercube] {
        let c = config(2_000, sampling);
        let (with, _) = draw(&correlated, &c);
        let (without, _) = draw(&plain, &c);
        // `x` is the first correlated parameter: the copula's first row is the identity.
        for id in ["free", "other", "fixed", "x"] {
            let i = index(&correlated, id);
            assert!(
                with.iter()
                    .zip(&without)
                    .all(|(a, b)| a[i].to_bits() == b[i].to_bits()),
                "{sampling:?} {id}"
            );
        }
        let y = index(&correlated, "y");
        assert!(with.iter().zip(&without).any(|(a, b)| a[y] != b[y]));
    }
}

fn run_to(out: &Path, extra: &[&str]) {
    sim()
        .args([
            "run",
            "-q",
            "--no-charts",
            "--runs",
            "3000",
            "--runs-format",
            "csv",
        ])
        .args(extra)
        .arg("--out")
        .arg(out)
        .arg(fixture())
        .assert()
        .success();
}

#[test]
fn summary_is_the_same_bytes_at_any_thread_count_and_shard_split() {
    let dir = tempfile::tempdir().expect("temp dir");
    let read = |p: PathBuf| std::fs::read(p).expect("written");
    let one = dir.path().join("one");
    run_to(&one, &["--threads", "1"]);
    let two = dir.path().join("two");
    run_to(&two, &["--threads", "2"]);
    let expected = read(one.join("correlated/summary.json"));
    assert_eq!(expected, read(two.join("correlated/summary.json")));
    assert_eq!(
        read(one.join("correlated/runs.csv")),
        read(two.join("correlated/runs.csv"))
    );
    let parsed: serde_json::Value = serde_json::from_slice(&expected).expect("json");
    assert_eq!(parsed["scenario"]["correlations"][0]["a"], "x");
    assert_eq!(parsed["scenario"]["correlations"][1]["rank"], -0.4);

    let mut partials = Vec::new();
    for k in 1..=3 {
        let out = dir.path().join(format!("shard{k}"));
        run_to(&out, &["--threads", "2", "--shard", &format!("{k}/3")]);
        partials.push(out.join(format!("correlated/partial-{k}-of-3.json")));
    }
    let merged = dir.path().join("merged");
    sim()
        .args(["merge", "--no-charts", "--out"])
        .arg(&merged)
        .args([&partials[2], &partials[0], &partials[1]])
        .assert()
        .success();
    assert_eq!(expected, read(merged.join("correlated/summary.json")));
}

#[test]
fn a_scenario_without_correlations_has_no_correlations_key() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("plain.toml");
    std::fs::write(&file, without_correlations()).expect("written");
    sim()
        .args([
            "run",
            "-q",
            "--no-charts",
            "--runs",
            "200",
            "--runs-format",
            "none",
        ])
        .arg("--out")
        .arg(dir.path())
        .arg(&file)
        .assert()
        .success();
    let text = std::fs::read_to_string(dir.path().join("plain/summary.json")).expect("written");
    assert!(!text.contains("correlations"));
}

#[test]
fn a_changed_correlation_changes_the_digest_and_merge_refuses_the_old_partials() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("correlated.toml");
    std::fs::write(&file, fixture_text()).expect("written");
    let before = scenario::load(&file).expect("loads").sha256;
    let mut partials = Vec::new();
    for k in 1..=2 {
        sim()
            .args(["run", "-q", "--no-charts", "--runs", "500", "--shard"])
            .arg(format!("{k}/2"))
            .arg("--out")
            .arg(dir.path())
            .arg(&file)
            .assert()
            .success();
        partials.push(dir.path().join(format!("correlated/partial-{k}-of-2.json")));
    }
    std::fs::write(&file, fixture_text().replace("rank = 0.6", "rank = 0.5")).expect("written");
    assert_ne!(before, scenario::load(&file).expect("loads").sha256);
    let out = sim()
        .args(["merge", "--no-charts", "--out"])
        .arg(dir.path().join("merged"))
        .args(&partials)
        .assert()
        .failure()
        .get_output()
        .clone();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("sha256"), "{stderr}");
}

#[test]
fn sobol_refuses_correlated_parameters_naming_them() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = sim()
        .args([
            "sensitivity",
            "--method",
            "sobol",
            "--runs",
            "128",
            "--no-charts",
        ])
        .arg("--out")
        .arg(dir.path())
        .arg(fixture())
        .assert()
        .code(2)
        .get_output()
        .clone();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("assumes independent parameters"),
        "{stderr}"
    );
    assert!(stderr.contains("`x`~`y` 0.6"), "{stderr}");
    assert!(stderr.contains("--method tornado"), "{stderr}");
    assert_eq!(std::fs::read_dir(dir.path()).expect("dir").count(), 0);
    // Holding one parameter of every pair leaves the varied ones independent.
    sim()
        .args([
            "sensitivity",
            "--method",
            "sobol",
            "--runs",
            "128",
            "--no-charts",
            "-q",
        ])
        .args(["--set", "y=10", "--set", "t=1", "--set", "k=0.2"])
        .arg("--out")
        .arg(dir.path())
        .arg(fixture())
        .assert()
        .success();
}

#[test]
fn an_inconsistent_set_is_refused_naming_it_with_a_consistent_set_nearby() {
    let text = fixture_text().replace(
        "  { a = \"w\", b = \"t\", rank = 0.5 },",
        "  { a = \"w\", b = \"t\", rank = 0.5 },\n  { a = \"x\", b = \"t\", rank = 0.9 },",
    );
    let err = compile(&text).expect_err("x~y 0.6, t~y -0.4 and x~t 0.9 cannot all hold");
    assert!(err.contains("cannot hold together"), "{err}");
    assert!(
        err.contains("x~y 0.6") && err.contains("t~y -0.4") && err.contains("x~t 0.9"),
        "{err}"
    );
    // The suggested set is consistent: put it in the file and it loads.
    let hint = err
        .split("the nearest such set is ")
        .nth(1)
        .expect("a suggestion")
        .lines()
        .next()
        .expect("a line");
    let mut fixed = text.clone();
    for pair in hint.split(", ") {
        let (names, rank) = pair.split_once(' ').expect("a~b rank");
        let (a, b) = names.split_once('~').expect("a~b");
        let start = fixed
            .find(&format!("{{ a = \"{a}\", b = \"{b}\", rank = "))
            .expect("the pair");
        let end = start + fixed[start..].find('}').expect("closed");
        fixed.replace_range(
            start..=end,
            &format!("{{ a = \"{a}\", b = \"{b}\", rank = {rank} }}"),
        );
    }
    compile(&fixed).expect("the suggested set loads");
}

#[test]
fn a_rank_of_one_is_accepted_and_moves_the_two_parameters_together() {
    // k is x: so k~y must be x~y, and k is as unrelated to t as x is.
    let with_k = |rank: &str, k_y: &str| {
        fixture_text().replace(
            "{ a = \"x\", b = \"k\", rank = 0.3 },",
            &format!("{{ a = \"x\", b = \"k\", rank = {rank} }}, {{ a = \"y\", b = \"k\", rank = {k_y} }},"),
        )
    };
    let text = with_k("1.0", "0.6");
    let model = compile(&text).expect("a singular matrix is allowed");
    let (values, _) = draw(&model, &config(5_000, Sampling::MonteCarlo));
    let (x, k) = (index(&model, "x"), index(&model, "k"));
    let rho = spearman(&column(&values, x), &column(&values, k));
    assert!(rho > 0.999_999, "{rho}");
    // And minus one mirrors.
    let text = with_k("-1", "-0.6");
    let model = compile(&text).expect("a singular matrix is allowed");
    let (values, _) = draw(&model, &config(5_000, Sampling::MonteCarlo));
    let rho = spearman(&column(&values, x), &column(&values, k));
    assert!(rho < -0.999_999, "{rho}");
}

#[test]
fn a_variant_s_pairs_replace_its_base_s_and_an_empty_list_removes_them() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("base.toml"), fixture_text()).expect("written");
    let variant = |pairs: &str| {
        let text = format!("extends = \"base.toml\"\n\n[correlations]\npairs = {pairs}\n");
        let s = scenario::load_str("variant.toml", &text, Some(dir.path())).expect("loads");
        model::compile(s).expect("compiles")
    };
    let replaced = variant("[{ a = \"free\", b = \"other\", rank = -0.2 }]");
    let c = replaced.correlations.expect("correlations");
    assert_eq!(c.pairs, vec![("free".into(), "other".into(), -0.2)]);
    assert!(variant("[]").correlations.is_none());
}

#[test]
fn set_and_design_values_replace_a_correlated_parameter_and_its_partners_keep_their_draws() {
    let model = compile(&fixture_text()).expect("loads");
    let y = index(&model, "y");
    let base = config(500, Sampling::MonteCarlo);
    let held = StudyConfig {
        fixed: vec![(y, 7.5)],
        ..base.clone()
    };
    let (free, _) = draw(&model, &base);
    let (set, _) = draw(&model, &held);
    for (a, b) in free.iter().zip(&set) {
        for i in 0..model.parameters.len() {
            let want = if i == y { 7.5 } else { a[i] };
            assert_eq!(b[i].to_bits(), want.to_bits());
        }
    }
}
