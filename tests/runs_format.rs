//! The per-run file in each format: `--runs-format parquet|csv|none`, the columns a row has,
//! Parquet read back (by the parquet crate, and by pyarrow when it is installed) against the
//! CSV of the same seed, and one result per folder across formats.

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use parquet::basic::{Compression, Encoding, LogicalType, Repetition, Type as PhysicalType};
use parquet::file::reader::{FileReader, SerializedFileReader};
use parquet::record::Field;

fn sim() -> Command {
    Command::cargo_bin("alliance-sim").expect("binary")
}

/// Runs the default scenario at seed 5 into `out` with `extra` flags; returns its folder.
fn run(out: &Path, runs: u64, extra: &[&str]) -> PathBuf {
    sim()
        .args(["run", "-q", "--no-charts", "--seed", "5", "--runs"])
        .arg(runs.to_string())
        .args(extra)
        .arg("--out")
        .arg(out)
        .assert()
        .success();
    out.join("gsomia_2019")
}

fn names(folder: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(folder)
        .expect("folder")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

fn read_csv(path: &Path) -> (Vec<String>, Vec<Vec<String>>) {
    let mut reader = csv::Reader::from_path(path).expect("runs.csv");
    let header = reader
        .headers()
        .expect("header")
        .iter()
        .map(String::from)
        .collect();
    let rows = reader
        .records()
        .map(|r| r.expect("row").iter().map(String::from).collect())
        .collect();
    (header, rows)
}

/// The Parquet file's values, as the parquet crate's own reader gives them, and its reader.
fn read_parquet(
    path: &Path,
) -> (
    SerializedFileReader<std::fs::File>,
    Vec<Vec<(String, Field)>>,
) {
    let reader = SerializedFileReader::new(std::fs::File::open(path).expect("runs.parquet"))
        .expect("a Parquet file");
    let rows = reader
        .get_row_iter(None)
        .expect("rows")
        .map(|row| {
            row.expect("a row")
                .get_column_iter()
                .map(|(name, field)| (name.clone(), field.clone()))
                .collect()
        })
        .collect();
    (reader, rows)
}

/// Parquet holds, value for value, what runs.csv of the same seed holds: the same columns in the
/// same order, integers as INT64, numbers as DOUBLE with the very bits the CSV text reads back
/// as, strings dictionary-encoded, and a decision not taken null where the CSV field is empty.
/// 40,000 runs fill more than one row group.
#[test]
fn parquet_holds_every_value_of_the_csv_of_the_same_seed() {
    let dir = tempfile::tempdir().expect("temp dir");
    let flags = ["--no-timeline", "--set", "nk_threat=0.3"];
    let csv_folder = run(
        &dir.path().join("csv"),
        40_000,
        &[&flags[..], &["--runs-format", "csv"]].concat(),
    );
    let parquet_folder = run(&dir.path().join("parquet"), 40_000, &flags);
    assert_eq!(
        names(&parquet_folder),
        ["manifest.json", "runs.parquet", "summary.json"]
    );
    let (header, csv_rows) = read_csv(&csv_folder.join("runs.csv"));
    let (reader, parquet_rows) = read_parquet(&parquet_folder.join("runs.parquet"));

    let metadata = reader.metadata();
    assert!(metadata.num_row_groups() >= 2, "one row group");
    let schema = metadata.file_metadata().schema_descr();
    let columns: Vec<String> = schema
        .columns()
        .iter()
        .map(|c| c.name().to_string())
        .collect();
    assert_eq!(columns, header, "the same columns in the same order");
    let decisions = ["notice", "final", "tokyo_controls", "review"];
    for (i, column) in schema.columns().iter().enumerate() {
        let name = column.name();
        let (physical, logical) = (column.physical_type(), column.logical_type_ref());
        let text = decisions.contains(&name) || name == "outcome";
        if name == "run" || name.ends_with("_count") {
            assert_eq!(physical, PhysicalType::INT64, "{name}");
        } else if text {
            assert_eq!(physical, PhysicalType::BYTE_ARRAY, "{name}");
            assert_eq!(logical, Some(&LogicalType::String), "{name}");
        } else {
            assert_eq!(physical, PhysicalType::DOUBLE, "{name}");
        }
        let optional = column.self_type().get_basic_info().repetition() == Repetition::OPTIONAL;
        assert_eq!(optional, decisions.contains(&name), "{name}: nullable");
        for g in 0..metadata.num_row_groups() {
            let chunk = metadata.row_group(g).column(i);
            assert_eq!(chunk.compression(), Compression::SNAPPY, "{name}");
            if text {
                let encodings: Vec<Encoding> = chunk.encodings().collect();
                assert!(
                    encodings.contains(&Encoding::RLE_DICTIONARY),
                    "{name}: {encodings:?}"
                );
            }
        }
    }

    assert_eq!(parquet_rows.len(), csv_rows.len());
    assert_eq!(csv_rows.len(), 40_000);
    let mut nulls = 0;
    for (r, (from_parquet, from_csv)) in parquet_rows.iter().zip(&csv_rows).enumerate() {
        assert_eq!(from_parquet.len(), header.len(), "row {r}");
        for ((name, field), text) in from_parquet.iter().zip(from_csv) {
            let same = match field {
                Field::Long(n) => n.to_string() == *text,
                Field::Double(v) => text.parse::<f64>().map(f64::to_bits) == Ok(v.to_bits()),
                Field::Str(s) => s == text && !s.is_empty(),
                Field::Null => {
                    nulls += 1;
                    text.is_empty()
                }
                other => panic!("row {r}, {name}: unexpected {other:?}"),
            };
            assert!(same, "row {r}, {name}: Parquet {field:?}, CSV `{text}`");
        }
        assert_eq!(from_parquet[0].1, Field::Long(r as i64), "run index");
    }
    assert!(nulls > 0, "no decision left untaken in 40,000 runs");
    // The per-run file does not touch the summary.
    assert!(
        std::fs::read(csv_folder.join("summary.json")).expect("summary")
            == std::fs::read(parquet_folder.join("summary.json")).expect("summary"),
        "summary.json depends on the runs format"
    );
}

/// pyarrow, the reader most people load runs.parquet with, sees the same types and values.
#[test]
#[ignore = "needs python3 with pyarrow (.ci/run installs it)"]
fn pyarrow_reads_parquet_as_the_csv_of_the_same_seed() {
    let dir = tempfile::tempdir().expect("temp dir");
    let csv_folder = run(&dir.path().join("csv"), 3000, &["--runs-format", "csv"]);
    let parquet_folder = run(&dir.path().join("parquet"), 3000, &[]);
    let script = r#"
import csv, sys
import pyarrow as pa, pyarrow.parquet as pq
decisions = ["notice", "final", "tokyo_controls", "review"]
table = pq.read_table(sys.argv[1], read_dictionary=decisions + ["outcome"])
rows = list(csv.reader(open(sys.argv[2], newline="")))
header, rows = rows[0], rows[1:]
assert table.column_names == header, (table.column_names, header)
assert table.num_rows == len(rows), (table.num_rows, len(rows))
nulls = 0
for i, name in enumerate(header):
    column = table.column(name)
    t = column.type
    if name == "run" or name.endswith("_count"):
        assert t == pa.int64(), (name, t)
    elif name in decisions or name == "outcome":
        assert pa.types.is_dictionary(t) and t.value_type == pa.string(), (name, t)
    else:
        assert t == pa.float64(), (name, t)
    for r, value in enumerate(column.to_pylist()):
        text = rows[r][i]
        if value is None:
            assert name in decisions and text == "", (name, r, text)
            nulls += 1
        elif isinstance(value, float):
            assert value == float(text), (name, r, value, text)
        elif isinstance(value, int):
            assert str(value) == text, (name, r, value, text)
        else:
            assert value == text and text != "", (name, r, value, text)
assert table.column("outcome").null_count == 0
assert nulls > 0
print("pyarrow ok", table.num_rows, "rows", nulls, "nulls")
"#;
    let output = std::process::Command::new("python3")
        .arg("-c")
        .arg(script)
        .arg(parquet_folder.join("runs.parquet"))
        .arg(csv_folder.join("runs.csv"))
        .output()
        .expect("python3 runs");
    assert!(
        output.status.success(),
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(String::from_utf8_lossy(&output.stdout).contains("pyarrow ok 3000 rows"));
}

/// A parameter that cannot vary (held by `--set`, or `fixed` in the scenario) has no column
/// unless `--runs-all-columns` asks for every one; the values in such a column are the one
/// value it is held at.
#[test]
fn parameters_that_cannot_vary_have_no_column_unless_asked() {
    let dir = tempfile::tempdir().expect("temp dir");
    let header = |extra: &[&str]| {
        let folder = run(
            &dir.path().join(extra.join("")),
            100,
            &[&["--runs-format", "csv", "--set", "nk_threat=0.3"], extra].concat(),
        );
        read_csv(&folder.join("runs.csv"))
    };
    let (lean, _) = header(&[]);
    for held in ["nk_threat", "cost_share_paid_busd", "launch_alarm"] {
        assert!(!lean.iter().any(|c| c == held), "{held}: {lean:?}");
    }
    assert!(lean.iter().any(|c| c == "japan_export_controls"));
    let (all, rows) = header(&["--runs-all-columns"]);
    let at = |name: &str| all.iter().position(|c| c == name).expect(name);
    assert!(rows.iter().all(|r| r[at("nk_threat")] == "0.3"));
    assert!(rows.iter().all(|r| r[at("cost_share_paid_busd")] == "0.92"));
    assert!(all.len() > lean.len());
    // Every column of the lean file is in the full one, in the same order.
    let mut rest = all.iter();
    assert!(lean.iter().all(|c| rest.any(|a| a == c)));
}

/// `--no-runs-csv`, from before there were formats, still means `--runs-format none`.
#[test]
fn no_runs_csv_is_runs_format_none() {
    let dir = tempfile::tempdir().expect("temp dir");
    let old = run(&dir.path().join("old"), 2000, &["--no-runs-csv"]);
    let new = run(&dir.path().join("new"), 2000, &["--runs-format", "none"]);
    assert_eq!(names(&old), ["manifest.json", "summary.json"]);
    assert_eq!(names(&new), names(&old));
    assert!(
        std::fs::read(old.join("summary.json")).expect("summary")
            == std::fs::read(new.join("summary.json")).expect("summary")
    );
    // Saying both is saying two things; so is asking for columns of no file.
    for flags in [
        &["--no-runs-csv", "--runs-format", "csv"][..],
        &["--runs-format", "none", "--runs-all-columns"][..],
        &["--no-runs-csv", "--runs-all-columns"][..],
    ] {
        let refused = dir.path().join("refused");
        sim()
            .args(["run", "-q", "--runs", "10", "--out"])
            .arg(&refused)
            .args(flags)
            .assert()
            .code(2);
        assert!(!refused.exists(), "{flags:?} created a folder");
    }
}

/// One result per folder across formats: a Parquet run over a CSV run leaves no runs.csv,
/// and a CSV run over a Parquet run no runs.parquet; the manifest lists the file there is.
#[test]
fn a_run_in_one_format_removes_the_per_run_file_of_the_other() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().join("out");
    let manifest = |folder: &Path| -> Vec<String> {
        let text = std::fs::read_to_string(folder.join("manifest.json")).expect("manifest");
        let value: serde_json::Value = serde_json::from_str(&text).expect("JSON");
        value["files"]
            .as_array()
            .expect("files")
            .iter()
            .map(|f| f["name"].as_str().expect("name").to_string())
            .collect()
    };
    let folder = run(&out, 500, &["--runs-format", "csv"]);
    assert_eq!(manifest(&folder), ["runs.csv", "summary.json"]);
    run(&out, 500, &[]);
    assert_eq!(
        names(&folder),
        ["manifest.json", "runs.parquet", "summary.json"]
    );
    assert_eq!(manifest(&folder), ["runs.parquet", "summary.json"]);
    run(&out, 500, &["--runs-format", "csv"]);
    assert_eq!(
        names(&folder),
        ["manifest.json", "runs.csv", "summary.json"]
    );
    // In a folder from before manifests, the tool knows both names as its own.
    std::fs::remove_file(folder.join("manifest.json")).expect("remove");
    std::fs::write(folder.join("runs.parquet"), "an older result").expect("write");
    run(&out, 500, &["--runs-format", "none"]);
    assert_eq!(names(&folder), ["manifest.json", "summary.json"]);
}

/// What the run prints names the per-run file, its size, and how to get the other format.
#[test]
fn the_run_says_what_per_run_file_it_wrote_and_why() {
    let dir = tempfile::tempdir().expect("temp dir");
    let output = sim()
        .args(["run", "--no-charts", "--runs", "1500", "--out"])
        .arg(dir.path())
        .output()
        .expect("runs");
    assert!(output.status.success());
    let text = String::from_utf8_lossy(&output.stdout);
    let bytes = std::fs::metadata(dir.path().join("gsomia_2019/runs.parquet"))
        .expect("runs.parquet")
        .len();
    let size = if bytes >= 1_000_000 {
        format!("{:.1} MB", bytes as f64 / 1e6)
    } else {
        format!("{:.1} kB", bytes as f64 / 1e3)
    };
    let line = text
        .lines()
        .find(|l| l.starts_with("runs.parquet: 1,500 rows, "))
        .unwrap_or_else(|| panic!("no line on runs.parquet: {text}"));
    assert!(line.contains(&size), "{line} ({bytes} bytes)");
    assert!(
        line.contains("the default") && line.contains("--runs-format csv"),
        "{line}"
    );
}

/// Parquet files of the same study are the same bytes at any thread count, as runs.csv is.
#[test]
fn parquet_bytes_do_not_depend_on_thread_count() {
    let dir = tempfile::tempdir().expect("temp dir");
    let files: Vec<Vec<u8>> = ["1", "3"]
        .iter()
        .map(|t| {
            let folder = run(&dir.path().join(t), 5000, &["--threads", t]);
            std::fs::read(folder.join("runs.parquet")).expect("runs.parquet")
        })
        .collect();
    assert!(
        files[0] == files[1],
        "runs.parquet differs between 1 and 3 threads"
    );
}

/// `--shard K/N` writes its rows as `runs-K-of-N.parquet`; read in shard order, they are the
/// whole run's rows.
#[test]
fn shards_write_parquet_rows_that_add_up_to_the_whole_run() {
    let dir = tempfile::tempdir().expect("temp dir");
    let whole = run(&dir.path().join("whole"), 3000, &[]);
    let (_, whole_rows) = read_parquet(&whole.join("runs.parquet"));
    let shards = dir.path().join("shards");
    let mut rows = Vec::new();
    for k in 1..=2 {
        let folder = run(&shards, 3000, &["--shard", &format!("{k}/2")]);
        let (_, part) = read_parquet(&folder.join(format!("runs-{k}-of-2.parquet")));
        rows.extend(part);
    }
    assert_eq!(
        names(&shards.join("gsomia_2019")),
        [
            "partial-1-of-2.json",
            "partial-2-of-2.json",
            "runs-1-of-2.parquet",
            "runs-2-of-2.parquet"
        ]
    );
    assert!(
        rows == whole_rows,
        "the shards' rows are not the whole run's"
    );
}

/// `--timeline-long` writes every metric at every step of every run: its last step is each
/// run's end-of-run metric in runs.csv, and each step's quantiles in summary.json are the order
/// statistics of its values (within the bound summary.json states).
#[test]
fn the_long_timeline_is_every_metric_at_every_step_of_every_run() {
    let dir = tempfile::tempdir().expect("temp dir");
    let runs = 300usize;
    let folder = run(
        dir.path(),
        runs as u64,
        &["--runs-format", "csv", "--timeline-long"],
    );
    let (header, rows) = read_csv(&folder.join("runs.csv"));
    let (long_header, long) = read_csv(&folder.join("timeline.csv"));
    assert_eq!(long_header, ["run", "step", "date", "metric", "value"]);
    let summary: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(folder.join("summary.json")).expect("summary"),
    )
    .expect("JSON");
    let metrics = summary["metrics"].as_array().expect("metrics");
    let steps = metrics[0]["timeline"].as_array().expect("timeline").len();
    assert_eq!(long.len(), runs * steps * metrics.len());
    // values[metric][step] = every run's value, in run order.
    let mut values = vec![vec![Vec::with_capacity(runs); steps]; metrics.len()];
    for (i, line) in long.iter().enumerate() {
        let (run, rest) = (i / (steps * metrics.len()), i % (steps * metrics.len()));
        let (step, k) = (rest / metrics.len(), rest % metrics.len());
        assert_eq!(line[0], run.to_string(), "line {i}");
        assert_eq!(line[1], step.to_string(), "line {i}");
        assert_eq!(
            line[2],
            metrics[k]["timeline"][step]["date"].as_str().expect("date")
        );
        assert_eq!(line[3], metrics[k]["id"].as_str().expect("id"));
        values[k][step].push(line[4].parse::<f64>().expect("a number"));
    }
    for (k, m) in metrics.iter().enumerate() {
        let id = m["id"].as_str().expect("id");
        let column = header
            .iter()
            .position(|c| c == id)
            .expect("a metric column");
        for (r, row) in rows.iter().enumerate() {
            let end: f64 = row[column].parse().expect("a number");
            assert_eq!(values[k][steps - 1][r], end, "{id}, run {r}");
        }
        let bound = m["timeline_quantile_error"].as_f64().expect("bound");
        for (step, at) in m["timeline"]
            .as_array()
            .expect("timeline")
            .iter()
            .enumerate()
        {
            let mut sorted = values[k][step].clone();
            sorted.sort_by(f64::total_cmp);
            for (name, q) in [("p05", 0.05), ("p50", 0.5), ("p95", 0.95)] {
                let rank = ((q * runs as f64).ceil() as usize).max(1);
                let exact = sorted[rank - 1];
                let said = at[name].as_f64().expect("a quantile");
                assert!(
                    (said - exact).abs() <= bound,
                    "{id} step {step} {name}: {said} against {exact} (bound {bound})"
                );
            }
        }
    }
    // It needs the timeline the study records, and a whole study.
    for clash in [["--no-timeline"], ["--shard=1/2"]] {
        sim()
            .args(["run", "--runs", "10", "--timeline-long"])
            .args(clash)
            .arg("--out")
            .arg(dir.path().join("clash"))
            .assert()
            .code(2);
    }
    assert!(!dir.path().join("clash").exists());
}
