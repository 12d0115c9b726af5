//! Helpers shared by the tests that run the binary and recount its files. Each test crate uses
//! some of them, so the others would be dead code there.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::Path;

use assert_cmd::Command;
use serde_json::Value;

/// The binary, without colour (messages are compared as text).
pub fn sim() -> Command {
    let mut cmd = Command::cargo_bin("alliance-sim").expect("binary");
    cmd.env("NO_COLOR", "1");
    cmd
}

/// A per-run file's row: column -> value as written.
pub type Row = BTreeMap<String, String>;

/// The rows of a runs.csv (the tests' scenarios have no commas in their values).
pub fn read_rows(csv: &Path) -> Vec<Row> {
    let text = std::fs::read_to_string(csv).expect("runs.csv");
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().expect("header").split(',').collect();
    lines
        .map(|l| {
            header
                .iter()
                .zip(l.split(','))
                .map(|(h, v)| (h.to_string(), v.to_string()))
                .collect()
        })
        .collect()
}

/// A study's summary.json.
pub fn read_summary(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).expect("summary.json");
    serde_json::from_str(&text).expect("json")
}

/// Decision `id` of a summary.
pub fn decision<'a>(summary: &'a Value, id: &str) -> &'a Value {
    summary["decisions"]
        .as_array()
        .expect("decisions")
        .iter()
        .find(|d| d["id"] == id)
        .expect("decision")
}
