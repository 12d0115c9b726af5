//! `calibrate`: fit the parameters marked `calibrate = true` to the backtest cases, score the
//! forecasts in sample and out of sample, and write the calibrated variant of each base.

use std::path::{Component, Path, PathBuf};
use std::sync::atomic::Ordering;

use anyhow::Context;

use super::execute::{begin_result, progress_bar, study_error, with_threads};
use super::options::CalibrateOptions;
use super::{cancel_flag, Failure};
use crate::analysis::backtest::BacktestError;
use crate::analysis::calibrate::{self, CalibrateError};
use crate::montecarlo::StudyError;
use crate::report::calibration::{render_table, variant_text};
use crate::report::write_atomic;

const REPORT_FILE: &str = "calibration.json";

pub fn run(options: CalibrateOptions) -> Result<(), Failure> {
    let CalibrateOptions {
        cases_from,
        cases,
        skipped,
        shipped,
        config,
        threads,
        quiet,
        folder,
        json,
    } = options;
    if !quiet {
        for file in &skipped {
            super::print_stderr(&format!(
                "note: skipped {}: no [backtest] table (a shared base?)",
                file.display()
            ));
        }
    }
    let result = begin_result(&folder)?;
    let cancel = cancel_flag();
    let bar = progress_bar(config.runs * cases.len() as u64, quiet, "calibrating");
    let report = with_threads(threads, || {
        calibrate::run_calibration(&cases, &config, &|n| bar.inc(n), &cancel)
    })?
    .map_err(calibrate_error)?;
    bar.finish_and_clear();
    if cancel.load(Ordering::SeqCst) {
        return Err(study_error(StudyError::Cancelled));
    }
    let mut text = serde_json::to_string_pretty(&report).context("serializing the report")?;
    text.push('\n');
    let mut names = vec![REPORT_FILE.to_string()];
    write_atomic(&result.path().join(REPORT_FILE), text.as_bytes())
        .with_context(|| format!("writing {REPORT_FILE}"))?;
    crate::report::analysis_charts::write_calibration_chart(&report, result.path())
        .context("drawing the calibration chart")?;
    for ext in ["png", "svg"] {
        names.push(format!(
            "{}.{ext}",
            crate::report::analysis_charts::CALIBRATION_CHART
        ));
    }
    // One variant per base scenario, holding the calibrated parameters it declares.
    let mut bases: Vec<&str> = Vec::new();
    for model in &cases {
        if !bases.contains(&model.base_file.as_str()) {
            bases.push(&model.base_file);
        }
    }
    let case_files: Vec<String> = cases.iter().map(|m| m.file.clone()).collect();
    let mut variants = Vec::new();
    for base in bases {
        let of_base: Vec<_> = cases.iter().filter(|m| m.base_file == base).collect();
        let parameters: Vec<String> = report
            .parameters
            .iter()
            .filter(|p| {
                of_base
                    .iter()
                    .any(|m| m.parameters.iter().any(|q| q.id == p.id))
            })
            .map(|p| p.id.clone())
            .collect();
        if parameters.is_empty() {
            continue;
        }
        let base_path = Path::new(base);
        let stem = base_path
            .file_stem()
            .map_or_else(|| "scenario".into(), |s| s.to_string_lossy().into_owned());
        let extends = if shipped {
            // The shipped base is not on disk: a copy goes beside its variant.
            let file_name = format!("{stem}.toml");
            let text = crate::scenario::shipped_file(base_path)
                .with_context(|| format!("the shipped scenario {base}"))?;
            write_atomic(&result.path().join(&file_name), text.as_bytes())
                .with_context(|| format!("writing {file_name}"))?;
            names.push(file_name.clone());
            file_name
        } else {
            relative_path(&folder, base_path)?
        };
        // The variant is named after its base ("GSOMIA 2019 (calibrated)").
        let loaded = if shipped {
            crate::scenario::load_shipped(base).ok()
        } else {
            crate::scenario::load(base_path).ok()
        };
        let name = loaded.map_or_else(|| stem.clone(), |s| s.name);
        let variant = variant_text(&report, &extends, &name, &parameters, &case_files);
        let file_name = format!("{stem}_calibrated.toml");
        write_atomic(&result.path().join(&file_name), variant.as_bytes())
            .with_context(|| format!("writing {file_name}"))?;
        names.push(file_name.clone());
        variants.push(folder.join(file_name));
    }
    let target = result.target().to_path_buf();
    result
        .commit("calibrate", &cases_from, &names, &[])
        .with_context(|| format!("moving the result into {}", target.display()))?;
    if json {
        out!("{text}");
    } else {
        tell!("{}", render_table(&report, &cases_from));
        tellln!("\nwrote:");
        tellln!("  {}", folder.join(REPORT_FILE).display());
        tellln!(
            "  {}  (prior against posterior; also .svg)",
            folder.join("calibration.png").display()
        );
        for v in &variants {
            tellln!("  {}  (alliance-sim run {})", v.display(), v.display());
        }
    }
    Ok(())
}

/// `to` as a path relative to the folder `from` (both made absolute first), for `extends`.
fn relative_path(from: &Path, to: &Path) -> Result<String, Failure> {
    let absolute = |p: &Path| -> Result<PathBuf, Failure> {
        let p = std::path::absolute(p).with_context(|| format!("resolving {}", p.display()))?;
        Ok(normalise(&p))
    };
    let (from, to) = (absolute(from)?, absolute(to)?);
    let from_parts: Vec<Component> = from.components().collect();
    let to_parts: Vec<Component> = to.components().collect();
    let common = from_parts
        .iter()
        .zip(&to_parts)
        .take_while(|(a, b)| a == b)
        .count();
    let mut rel = PathBuf::new();
    for _ in common..from_parts.len() {
        rel.push("..");
    }
    for part in &to_parts[common..] {
        rel.push(part);
    }
    Ok(rel.to_string_lossy().replace('\\', "/"))
}

/// Removes `.` and folds `name/..`, without touching the file system.
fn normalise(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for part in path.components() {
        match part {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

fn calibrate_error(e: CalibrateError) -> Failure {
    match e {
        CalibrateError::Backtest(BacktestError::NotACase { file }) => {
            Failure::Invalid(format!("error: `{file}` has no [backtest] table"))
        }
        CalibrateError::Backtest(BacktestError::Study { file, source }) => {
            match study_error(*source) {
                Failure::Invalid(text) => Failure::Invalid(format!("case `{file}`:\n{text}")),
                Failure::Other(e) => Failure::Other(e.context(format!("case `{file}`"))),
            }
        }
        CalibrateError::NothingToCalibrate => Failure::Invalid(
            "error: no parameter of the cases is marked `calibrate = true`\n  = hint: add `calibrate = true` to the [parameters.ID] tables of the judgement parameters to fit".into(),
        ),
        CalibrateError::Unused { .. } => Failure::Invalid(format!(
            "error: {e}\n  = hint: a case cannot tell anything about it; remove `calibrate = true`, or add a case whose decision it moves"
        )),
        CalibrateError::Collapsed { .. } => Failure::Invalid(format!(
            "error: {e}\n  = hint: the cases together leave almost no plausible draw; give more --runs, widen the priors, or look for a case the model cannot explain (its leave-one-out probability is tiny)"
        )),
        CalibrateError::Impossible { .. } => Failure::Invalid(format!(
            "error: {e}\n  = hint: the model never takes that option there; fix the model or the case, calibration cannot"
        )),
        other => Failure::Invalid(format!("error: {other}")),
    }
}
