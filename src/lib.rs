//! alliance-sim: Monte Carlo simulation of alliance decisions from TOML scenarios.
//!
//! Data flows one way: [`scenario`] (read, merge, validate) -> [`model`] (compile) ->
//! [`engine`] (one run) -> [`montecarlo`] (many runs) -> [`report`] (files and tables) ->
//! [`cli`]. See ARCHITECTURE.md.

pub mod analysis;
pub mod cli;
pub mod diagnostic;
pub mod distribution;
pub mod engine;
pub mod model;
pub mod montecarlo;
pub mod names;
pub mod report;
pub mod rng;
pub mod scenario;
pub mod simd;
pub mod terminal;
