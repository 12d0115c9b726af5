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
