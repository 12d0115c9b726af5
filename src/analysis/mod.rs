//! Questions asked of a model beyond "how likely?": what if (comparison, sweeps), what matters
//! most (sensitivity), and how well it foresaw what happened (backtests).

pub mod backtest;
pub mod calibrate;
pub mod compare;
pub mod discover;
pub mod sensitivity;
pub mod sweep;
