//! Sweeps: the scenario run at each point of a grid of fixed parameter values, on common random
//! numbers, so the curve shows the parameter's effect rather than noise.

use std::sync::atomic::AtomicBool;

use serde::{Deserialize, Serialize};

use crate::engine::RunError;
use crate::model::Model;
use crate::montecarlo::summary::OutcomeSummary;
use crate::montecarlo::{run_study, StudyConfig, StudyError};

/// One swept parameter and its grid values.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Axis {
    pub parameter: String,
    pub label: String,
    pub unit: String,
    pub values: Vec<f64>,
    #[serde(skip)]
    pub index: usize,
}

impl Axis {
    /// `steps` evenly spaced values of parameter `index` (of `model.parameters`) from `low` to
    /// `high`, both included. The command line reads them from `--param ID=LO:HI:STEPS`, with
    /// finite bounds and at least 2 steps; a single step is `low` alone.
    pub fn evenly_spaced(model: &Model, index: usize, low: f64, high: f64, steps: usize) -> Axis {
        let intervals = steps.saturating_sub(1).max(1);
        let values = (0..steps)
            .map(|i| low + (high - low) * i as f64 / intervals as f64)
            .collect();
        let parameter = &model.parameters[index];
        Axis {
            parameter: parameter.id.clone(),
            label: parameter.doc.label.clone(),
            unit: parameter.doc.unit.clone(),
            values,
            index,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SweepPoint {
    /// One value per axis.
    pub values: Vec<f64>,
    pub outcomes: Vec<OutcomeSummary>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sweep {
    pub scenario: String,
    pub runs_per_point: u64,
    pub seed: u64,
    /// Version of alliance-sim that produced this result.
    #[serde(default)]
    pub version: String,
    pub axes: Vec<Axis>,
    /// Grid points, the last axis varying fastest.
    pub points: Vec<SweepPoint>,
}

/// Why a sweep stopped.
#[derive(Debug, thiserror::Error)]
pub enum SweepError {
    #[error(transparent)]
    Study(#[from] StudyError),
    /// A run failed at a grid point that holds a parameter outside the values its
    /// distribution can take: the grid (the `--param` flag) is the likely mistake, not the
    /// scenario's expression that met the value.
    #[error("the grid value {value} of `{parameter}` is outside the values it can take ({low} to {high}), and a run failed there: {source}")]
    OutOfRange {
        parameter: String,
        value: f64,
        low: f64,
        high: f64,
        source: Box<RunError>,
    },
}

/// Runs every grid point. `config.fixed` (from `--set`) applies at every point.
pub fn sweep(
    model: &Model,
    config: &StudyConfig,
    axes: Vec<Axis>,
    progress: &(dyn Fn(u64) + Sync),
    cancel: &AtomicBool,
) -> Result<Sweep, SweepError> {
    let sizes: Vec<usize> = axes.iter().map(|a| a.values.len()).collect();
    let total: usize = sizes.iter().product();
    let mut points = Vec::with_capacity(total);
    for flat in 0..total {
        let mut rest = flat;
        let mut values = vec![0.0; axes.len()];
        for (a, axis) in axes.iter().enumerate().rev() {
            values[a] = axis.values[rest % sizes[a]];
            rest /= sizes[a];
        }
        let mut fixed = config.fixed.clone();
        for (axis, v) in axes.iter().zip(&values) {
            fixed.retain(|(i, _)| *i != axis.index);
            fixed.push((axis.index, *v));
        }
        let c = StudyConfig {
            fixed,
            timeline: false,
            ..config.clone()
        };
        let summary = match run_study(model, &c, None, progress, cancel) {
            Ok(summary) => summary,
            Err(StudyError::Run(source)) => {
                let outside = axes.iter().zip(&values).find_map(|(axis, &value)| {
                    let (low, high) = model.parameters[axis.index].distribution.support();
                    (!(low..=high).contains(&value)).then_some((axis, value, low, high))
                });
                return Err(match outside {
                    Some((axis, value, low, high)) => SweepError::OutOfRange {
                        parameter: axis.parameter.clone(),
                        value,
                        low,
                        high,
                        source: Box::new(source),
                    },
                    None => SweepError::Study(StudyError::Run(source)),
                });
            }
            Err(e) => return Err(e.into()),
        };
        points.push(SweepPoint {
            values,
            outcomes: summary.outcomes,
        });
    }
    Ok(Sweep {
        scenario: model.name.clone(),
        runs_per_point: config.runs,
        seed: config.seed,
        version: env!("CARGO_PKG_VERSION").to_string(),
        axes,
        points,
    })
}

impl Sweep {
    /// Tidy CSV: one row per grid point and outcome.
    pub fn to_csv(&self) -> Result<Vec<u8>, csv::Error> {
        let mut w = csv::Writer::from_writer(Vec::new());
        let mut header = vec!["point".to_string()];
        header.extend(self.axes.iter().map(|a| a.parameter.clone()));
        header.extend(
            [
                "outcome",
                "label",
                "count",
                "runs",
                "probability",
                "ci95_low",
                "ci95_high",
            ]
            .map(String::from),
        );
        w.write_record(&header)?;
        for (k, point) in self.points.iter().enumerate() {
            for o in &point.outcomes {
                let mut row = vec![k.to_string()];
                row.extend(point.values.iter().map(|v| v.to_string()));
                row.extend([
                    o.id.clone(),
                    o.label.clone(),
                    o.count.to_string(),
                    self.runs_per_point.to_string(),
                    o.probability.to_string(),
                    o.ci95[0].to_string(),
                    o.ci95[1].to_string(),
                ]);
                w.write_record(&row)?;
            }
        }
        w.into_inner().map_err(|e| csv::Error::from(e.into_error()))
    }
}
