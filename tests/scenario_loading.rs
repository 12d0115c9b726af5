//! Loading scenarios through the library: `extends`, spans, and model compilation.

use std::path::Path;

use alliance_sim::model;
use alliance_sim::montecarlo::{run_study, StudyConfig};
use alliance_sim::scenario;

const BASE: &str = r#"
[scenario]
name = "base"
start = 2020-01-01
step = "month"
steps = 6
runs = 100
seed = 1

[parameters.pressure]
dist = "uniform"
min = 0.0
max = 1.0

[actors.a.vars.tension]
init = "pressure"
min = 0
max = 1

[events.shock]
date = 2020-03-15
effects = [{ var = "a.tension", add = "0.5" }]

[decisions.leave]
actor = "a"
date = 2020-05-01
choice = "argmax"
[decisions.leave.options.stay]
utility = "0.6"
[decisions.leave.options.go]
utility = "a.tension"

[outcomes.left]
when = "leave.go"
[outcomes.stayed]
"#;

fn write(dir: &Path, name: &str, text: &str) -> std::path::PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write scenario");
    path
}

#[test]
fn variant_overrides_only_what_it_names() {
    let dir = tempfile::tempdir().expect("temp dir");
    write(dir.path(), "base.toml", BASE);
    let variant = write(
        dir.path(),
        "calm.toml",
        "extends = \"base.toml\"\n[scenario]\nname = \"calm\"\n[parameters.pressure]\nmax = 0.1\n[events.shock]\nenabled = false\n",
    );
    let s = scenario::load(&variant).expect("variant loads");
    assert_eq!(s.name, "calm");
    assert_eq!(s.time.steps, 6, "inherited from the base");
    assert_eq!(s.events.len(), 0, "the shock is switched off");
    let p = &s.parameters[0];
    assert_eq!(
        p.distribution.quantile(0.999_999),
        0.1 * 0.999_999,
        "max overridden, min kept"
    );
    assert_eq!(s.stem, "calm");

    // With the shock off and pressure <= 0.1, tension never beats 0.6: nobody leaves.
    let m = model::compile(s).expect("compiles");
    let config = StudyConfig {
        runs: 500,
        seed: 3,
        fixed: vec![],
        timeline: false,
        sampling: Default::default(),
        design: None,
        replications: 1,
    };
    let summary = run_study(&m, &config, None, &|_| {}, &Default::default()).expect("runs");
    assert_eq!(summary.outcomes[0].count, 0);
    assert_eq!(summary.outcomes[1].count, 500);
}

#[test]
fn base_alone_behaves_as_written() {
    let dir = tempfile::tempdir().expect("temp dir");
    let base = write(dir.path(), "base.toml", BASE);
    let m = model::compile(scenario::load(&base).expect("loads")).expect("compiles");
    assert_eq!(m.events.len(), 1);
    let config = StudyConfig {
        runs: 4000,
        seed: 9,
        fixed: vec![],
        timeline: true,
        sampling: Default::default(),
        design: None,
        replications: 1,
    };
    let summary = run_study(&m, &config, None, &|_| {}, &Default::default()).expect("runs");
    // tension = pressure + 0.5 (clamped to 1) beats 0.6 exactly when pressure > 0.1.
    let left = summary.outcomes[0].probability;
    assert!((left - 0.9).abs() < 0.02, "P(left) = {left}");
    assert_eq!(summary.decisions[0].step, Some(4));
    assert_eq!(summary.metrics.len(), 0);
}

#[test]
fn extends_loop_and_missing_base_are_located_errors() {
    let dir = tempfile::tempdir().expect("temp dir");
    let a = write(dir.path(), "a.toml", "extends = \"b.toml\"\n");
    write(dir.path(), "b.toml", "extends = \"a.toml\"\n");
    let err = scenario::load(&a).expect_err("loop");
    let text = err.render(false);
    assert!(text.contains("forms a loop"), "{text}");
    assert!(text.contains("b.toml:1:11"), "{text}");

    let c = write(dir.path(), "c.toml", "\n\nextends = \"nowhere.toml\"\n");
    let text = scenario::load(&c).expect_err("missing").render(false);
    assert!(text.contains("nowhere.toml"), "{text}");
    assert!(text.contains("c.toml:3:11"), "{text}");
}

#[test]
fn expression_errors_point_into_the_toml_string() {
    let text = BASE.replace(
        "utility = \"a.tension\"",
        "utility = \"a.tension * presure\"",
    );
    let s = scenario::load_str("x.toml", &text, None).expect("loads");
    let err = model::compile(s).expect_err("unknown name");
    let rendered = err.render(false);
    let line = text
        .lines()
        .position(|l| l.contains("presure"))
        .expect("line")
        + 1;
    assert!(
        rendered.contains(&format!("x.toml:{line}:24")),
        "{rendered}"
    );
    assert!(rendered.contains("did you mean `pressure`?"), "{rendered}");
}

#[test]
fn default_scenario_exposes_the_documented_parameters() {
    let m = model::compile(scenario::load_default().expect("loads")).expect("compiles");
    for id in [
        "japan_export_controls",
        "us_cost_share_demand_busd",
        "us_lobbying_intensity",
        "nk_threat",
        "korea_public_anger",
    ] {
        let i = m
            .parameter_index(id)
            .unwrap_or_else(|| panic!("missing parameter {id}"));
        assert!(
            !m.parameters[i].doc.rationale.is_empty(),
            "{id} has a rationale"
        );
    }
    assert!(m.decisions.iter().any(|d| d.id == "notice"));
    assert!(m.decisions.iter().any(|d| d.id == "final"));
}

/// Every name the expression language gives a meaning of its own, as users meet them in errors.
/// Written out rather than read from `alliance_sim::names`, so a name dropped from (or added to)
/// that list shows up here as a changed message.
const RESERVED: &[&str] = &[
    "and", "or", "not", "true", "false", "step", "steps", "if", "min", "max", "clamp", "abs",
    "exp", "ln", "sqrt", "pow", "sin", "cos", "logistic",
];

/// The errors of `text`, each as (line, message).
fn load_errors(text: &str) -> Vec<(usize, String)> {
    let d = match scenario::load_str("t.toml", text, None) {
        Ok(s) => model::compile(s).expect_err("the scenario should be rejected"),
        Err(d) => d,
    };
    d.items
        .iter()
        .map(|i| {
            let line = i.span.map_or(0, |s| d.sources.line_col(s.file, s.start).0);
            (line, i.message.clone())
        })
        .collect()
}

#[test]
fn a_reserved_name_is_refused_as_a_parameter_and_as_a_variable_with_the_same_words() {
    assert_eq!(
        RESERVED.len(),
        alliance_sim::names::KEYWORDS.len()
            + alliance_sim::names::BUILT_INS.len()
            + alliance_sim::names::FUNCTIONS.len()
    );
    for name in RESERVED {
        assert!(alliance_sim::names::is_reserved(name), "`{name}`");
        let line = BASE.lines().count() + 1;
        for item in [
            format!("[parameters.{name}]\nvalue = 1\n"),
            format!("[actors.a.vars.{name}]\ninit = \"0\"\n"),
        ] {
            let errors = load_errors(&format!("{BASE}{item}"));
            assert_eq!(
                errors,
                [(line, format!("`{name}` is a reserved word"))],
                "{item}"
            );
        }
    }
}

#[test]
fn an_option_called_decided_is_refused_because_decision_dot_decided_is_taken() {
    let text = BASE.replace(
        "[decisions.leave.options.go]",
        "[decisions.leave.options.decided]",
    );
    let text = text.replace("when = \"leave.go\"", "when = \"leave.stay\"");
    let line = text
        .lines()
        .position(|l| l.contains("options.decided"))
        .expect("line")
        + 1;
    assert_eq!(
        load_errors(&text),
        [(
            line,
            "`decided` is reserved: `DECISION.decided` tells whether the decision was taken".into()
        )]
    );
}
