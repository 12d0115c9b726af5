//! The expression language of scenarios: parse, type-check, resolve names, fold constants and
//! compile to a flat bytecode that evaluates without allocating.

mod compile;
mod ops;
mod parse;
mod program;

use std::ops::Range;

pub use compile::{compile, compile_hoisting, Binding, Hoister, Scope};
pub use ops::Binary;
pub use parse::{parse, Expr, ExprKind};
pub use program::Program;

/// Numbers and conditions are kept apart so that `if(x, ...)` with a numeric `x` is a load-time
/// error rather than a silent truthiness rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Type {
    Number,
    Bool,
}

/// An error inside one expression; `range` is in bytes of the expression text.
#[derive(Debug, Clone, PartialEq)]
pub struct ExprError {
    pub message: String,
    pub range: Range<usize>,
    pub hint: Option<String>,
    /// The error only follows from another one, already reported (a name whose definition is
    /// broken); callers should not show it again.
    pub follow_on: bool,
    /// The name read belongs to an item switched off with `enabled = false`: the name, for
    /// the caller to say where it was switched off.
    pub switched_off: Option<String>,
}

impl ExprError {
    pub fn new(message: impl Into<String>, range: Range<usize>) -> ExprError {
        ExprError {
            message: message.into(),
            range,
            hint: None,
            follow_on: false,
            switched_off: None,
        }
    }

    pub fn with_hint(mut self, hint: impl Into<String>) -> ExprError {
        self.hint = Some(hint.into());
        self
    }
}

#[cfg(test)]
mod tests;
