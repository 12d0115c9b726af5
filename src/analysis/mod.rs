//! Questions asked of a model beyond "how likely?": what if (comparison, sweeps), what matters
//! most (sensitivity), where it happens (discovery), what to watch (signposts), and how well it
//! foresaw what happened (backtests, calibration).

pub mod backtest;
pub mod calibrate;
pub mod compare;
pub mod discover;
pub mod sensitivity;
pub mod signposts;
pub mod sweep;
