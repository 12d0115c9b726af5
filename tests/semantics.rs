//! What the format means where its words could be read two ways, pinned on the real binary:
//! an event's window includes both ends, a date belongs to the step that holds it, initial
//! values are clamped to their bounds, and later items of a step see earlier items' effects.
//! docs/scenario-format.md ("Time and order") says the same.

use std::path::Path;

use assert_cmd::Command;

fn sim() -> Command {
    let mut cmd = Command::cargo_bin("alliance-sim").expect("binary");
    cmd.env("NO_COLOR", "1");
    cmd
}

const HEAD: &str = "[scenario]\nname = \"Semantics\"\ndescription = \"What the words mean.\"\n\
    start = 2020-01-06\nstep = \"week\"\nsteps = 6\nruns = 20\nseed = 1\n\n";

/// The end-of-run mean of each metric of `body` (after HEAD), by id.
fn means(dir: &Path, body: &str) -> serde_json::Map<String, serde_json::Value> {
    let file = dir.join("semantics.toml");
    std::fs::write(&file, format!("{HEAD}{body}")).expect("write");
    let output = sim()
        .arg("run")
        .arg(&file)
        .args([
            "--json",
            "-q",
            "--no-charts",
            "--runs-format",
            "none",
            "--out",
        ])
        .arg(dir.join("out"))
        .output()
        .expect("runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let s: serde_json::Value = serde_json::from_slice(&output.stdout).expect("json");
    s["metrics"]
        .as_array()
        .expect("metrics")
        .iter()
        .map(|m| (m["id"].as_str().expect("id").to_string(), m["mean"].clone()))
        .collect()
}

const OUTCOME: &str = "\n[outcomes.any]\nlabel = \"Any\"\n";

#[test]
fn an_event_window_includes_both_ends_in_steps_and_in_dates() {
    let dir = tempfile::tempdir().expect("tempdir");
    let m = means(
        dir.path(),
        &format!(
            "[actors.w]\nlabel = \"W\"\n[actors.w.vars]\nx = \"0\"\n\n\
             [events.by_step]\nprobability = \"1\"\nfrom = 1\nuntil = 3\n\
             effects = [{{ var = \"w.x\", add = \"1\" }}]\n\n\
             [events.by_date]\nprobability = \"1\"\nfrom = 2020-01-15\nuntil = 2020-01-27\n\
             effects = []\n\n\
             [metrics.in_steps]\nexpr = \"by_step.count\"\n\n\
             [metrics.dates]\nexpr = \"by_date.count\"\n{OUTCOME}"
        ),
    );
    // Steps 1, 2 and 3.
    assert_eq!(m["in_steps"], 3.0);
    // 2020-01-15 is in step 1 (from 01-13), 2020-01-27 starts step 3: steps 1 to 3 again.
    assert_eq!(m["dates"], 3.0);
}

#[test]
fn a_date_belongs_to_the_step_that_holds_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    // A Wednesday and a Sunday of the second week (step 1, 2020-01-13 to 2020-01-19).
    let m = means(
        dir.path(),
        &format!(
            "[actors.w]\nlabel = \"W\"\n[actors.w.vars]\nx = \"0\"\n\n\
             [events.wednesday]\ndate = 2020-01-15\n\
             effects = [{{ var = \"w.x\", add = \"step\" }}]\n\n\
             [events.sunday]\ndate = 2020-01-19\n\
             effects = [{{ var = \"w.x\", add = \"10 * step\" }}]\n\n\
             [metrics.x]\nexpr = \"w.x\"\n{OUTCOME}"
        ),
    );
    assert_eq!(m["x"], 11.0, "both fire in step 1");
}

#[test]
fn initial_values_are_clamped_to_their_bounds() {
    let dir = tempfile::tempdir().expect("tempdir");
    let m = means(
        dir.path(),
        &format!(
            "[actors.w]\nlabel = \"W\"\n\n\
             [actors.w.vars.high]\ninit = \"5\"\nmin = 0\nmax = 1\n\n\
             [actors.w.vars.low]\ninit = \"-3\"\nmin = -1\nmax = 1\n\n\
             [metrics.high]\nexpr = \"w.high\"\n\n[metrics.low]\nexpr = \"w.low\"\n{OUTCOME}"
        ),
    );
    assert_eq!(
        (m["high"].clone(), m["low"].clone()),
        (1.0.into(), (-1.0).into())
    );
}

#[test]
fn an_effect_is_computed_only_where_its_item_applies() {
    // `1 / w.x` is infinite where `x` is 0, which is where the rule does not hold: runs where
    // it holds and runs where it does not are computed side by side, and the infinite values
    // of the others must neither stop the run nor leak into the ones where it holds.
    let dir = tempfile::tempdir().expect("tempdir");
    let m = means(
        dir.path(),
        &format!(
            "[actors.w]\nlabel = \"W\"\n[actors.w.vars]\nx = \"0\"\ny = \"0\"\nz = \"0\"\n\n\
             [events.flip]\nprobability = \"0.5\"\n\
             effects = [{{ var = \"w.x\", set = \"1 - w.x\" }}]\n\n\
             [rules.inverse]\nwhen = \"w.x > 0\"\n\
             effects = [{{ var = \"w.y\", add = \"1 / w.x\" }}]\n\n\
             [rules.recount]\neffects = [{{ var = \"w.z\", add = \"if(w.x > 0, 1, 0)\" }}]\n\n\
             [metrics.y]\nexpr = \"w.y\"\n\n[metrics.z]\nexpr = \"w.z\"\n{OUTCOME}"
        ),
    );
    let z = m["z"].as_f64().expect("a number");
    assert!(z > 0.0 && z < 6.0, "both kinds of runs side by side: {z}");
    assert_eq!(m["y"], m["z"]);
}

#[test]
fn later_items_of_a_step_see_what_earlier_ones_did() {
    let dir = tempfile::tempdir().expect("tempdir");
    let m = means(
        dir.path(),
        &format!(
            "[actors.w]\nlabel = \"W\"\n[actors.w.vars]\nevent_seen = \"0\"\nrule_seen = \"0\"\nfirst = \"0\"\n\n\
             [events.spark]\nat = 2\neffects = [{{ var = \"w.event_seen\", set = \"1\" }}]\n\n\
             [rules.after_spark]\nwhen = \"spark.fired\"\n\
             effects = [{{ var = \"w.rule_seen\", set = \"w.event_seen\" }}]\n\n\
             [decisions.one]\nactor = \"w\"\nat = 2\nchoice = \"argmax\"\n\
             [decisions.one.options.act]\nutility = \"1\"\n\
             effects = [{{ var = \"w.first\", set = \"1\" }}]\n\
             [decisions.one.options.wait]\nutility = \"0\"\neffects = []\n\n\
             [decisions.two]\nactor = \"w\"\nat = 2\nchoice = \"argmax\"\n\
             [decisions.two.options.follow]\nutility = \"w.first + w.rule_seen\"\neffects = []\n\
             [decisions.two.options.stay]\nutility = \"1.5\"\neffects = []\n\n\
             [metrics.rule_saw_event]\nexpr = \"w.rule_seen\"\n\n\
             [metrics.two_followed]\nexpr = \"if(two.follow, 1, 0)\"\n{OUTCOME}"
        ),
    );
    // The rule runs after the event in the same step, and sees its effect.
    assert_eq!(m["rule_saw_event"], 1.0);
    // Decision `two` (later in the file, same step) sees `one`'s effect and the rule's:
    // 1 + 1 > 1.5.
    assert_eq!(m["two_followed"], 1.0);
}

#[test]
fn since_counts_steps_from_the_last_time_an_item_happened() {
    let dir = tempfile::tempdir().expect("tempdir");
    // Six steps, 0 to 5: `shock` at 1, `window` at 2 and 3, decision `one` at 2.
    let m = means(
        dir.path(),
        &format!(
            "[actors.w]\nlabel = \"W\"\n[actors.w.vars]\non_the_step = \"0\"\n\n\
             [events.shock]\nat = 1\neffects = []\n\n\
             [events.window]\nprobability = \"1\"\nfrom = 2\nuntil = 3\neffects = []\n\n\
             [rules.same_step]\nwhen = \"if(shock.count > 0, shock.since == 0, false)\"\n\
             effects = [{{ var = \"w.on_the_step\", add = \"1\" }}]\n\n\
             [decisions.one]\nactor = \"w\"\nat = 2\nchoice = \"argmax\"\n\
             [decisions.one.options.act]\nutility = \"1\"\n\
             [decisions.one.options.wait]\nutility = \"0\"\n\n\
             [metrics.shock_since]\nexpr = \"if(shock.count > 0, shock.since, -1)\"\n\n\
             [metrics.window_since]\nexpr = \"if(window.count > 0, window.since, -1)\"\n\n\
             [metrics.one_since]\nexpr = \"if(one.decided, one.since, -1)\"\n\n\
             [metrics.on_the_step]\nexpr = \"w.on_the_step\"\n{OUTCOME}"
        ),
    );
    assert_eq!(m["shock_since"], 4.0, "5 - 1");
    assert_eq!(m["window_since"], 2.0, "from its last firing: 5 - 3");
    assert_eq!(m["one_since"], 3.0, "5 - 2");
    // 0 in the step it happens (rules run after events), and only then.
    assert_eq!(m["on_the_step"], 1.0);
}

#[test]
fn since_a_chance_event_matches_a_recount_of_when_it_fired() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("blips.toml");
    std::fs::write(
        &file,
        format!(
            "{HEAD}[actors.w]\nlabel = \"W\"\n[actors.w.vars]\nx = \"0\"\n\n\
             [events.blip]\nprobability = \"0.3\"\neffects = []\n\n\
             [metrics.blip_since]\nexpr = \"if(blip.count > 0, blip.since, -1)\"\n{OUTCOME}"
        ),
    )
    .expect("write");
    let mut seen_never = false;
    let mut seen_some = false;
    for run in 0..20 {
        let output = sim()
            .arg("explain")
            .arg(&file)
            .args(["--run", &run.to_string(), "--json"])
            .output()
            .expect("runs");
        assert!(output.status.success());
        let e: serde_json::Value = serde_json::from_slice(&output.stdout).expect("json");
        let last = e["happened"]
            .as_array()
            .expect("happened")
            .iter()
            .filter(|h| h["id"] == "blip")
            .filter_map(|h| h["step"].as_f64())
            .fold(None, |_, s| Some(s));
        let expected = last.map_or(-1.0, |s| 5.0 - s);
        seen_never |= last.is_none();
        seen_some |= last.is_some_and(|s| s < 5.0);
        assert_eq!(e["metrics"][0]["value"], expected, "run {run}");
    }
    assert!(seen_never && seen_some, "the runs cover both cases");
}

#[test]
fn reading_since_before_it_happened_stops_the_run_with_a_hint() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("early.toml");
    std::fs::write(
        &file,
        format!(
            "{HEAD}[actors.w]\nlabel = \"W\"\n[actors.w.vars]\nx = \"0\"\n\n\
             [events.late]\nat = 4\neffects = []\n\n\
             [metrics.late_since]\nexpr = \"late.since\"\n{OUTCOME}"
        ),
    )
    .expect("write");
    let output = sim()
        .arg("run")
        .arg(&file)
        .args(["-q", "--no-charts", "--out"])
        .arg(dir.path().join("out"))
        .output()
        .expect("runs");
    assert_eq!(output.status.code(), Some(2));
    let err = String::from_utf8_lossy(&output.stderr);
    assert!(err.contains("metric `late_since`"), "{err}");
    assert!(
        err.contains("`late.since` is not a number before `late` has happened")
            && err.contains("if(late.count > 0, late.since, -1)"),
        "{err}"
    );
}
