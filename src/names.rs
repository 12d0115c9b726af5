//! The names the expression language gives a meaning of its own, so no item, variable or option
//! may take them.
//!
//! They are kept here, in a module that imports nothing from the crate, because two stages need
//! them: `scenario` rejects an id that is reserved (with a span, at load time) and `model` parses
//! and resolves expressions that use them. With the list in either stage, the other would have to
//! import from it, and `scenario` would depend on the stage it feeds.

/// `a and b`.
pub const AND: &str = "and";
/// `a or b`.
pub const OR: &str = "or";
/// `not a`.
pub const NOT: &str = "not";
/// The condition that always holds.
pub const TRUE: &str = "true";
/// The condition that never holds.
pub const FALSE: &str = "false";

/// Words the parser reads as operators or constants, never as names.
pub const KEYWORDS: &[&str] = &[AND, OR, NOT, TRUE, FALSE];

/// The current step, counted from 0.
pub const STEP: &str = "step";
/// The number of steps in a run.
pub const STEPS: &str = "steps";

/// Names every expression can read without declaring them.
pub const BUILT_INS: &[&str] = &[STEP, STEPS];

/// The functions of the expression language, in the order the "unknown function" hint lists
/// them. Their arities and arithmetic live with the compiler; this is only what they are called.
pub const FUNCTIONS: &[&str] = &[
    "if", "min", "max", "clamp", "abs", "exp", "ln", "sqrt", "pow", "sin", "cos", "logistic",
];

/// The suffix `DECISION.decided` that tells whether a decision was taken, so no option of a
/// decision may be called that.
pub const DECIDED: &str = "decided";

/// The suffix `DECISION.count` (how many times it was taken) and `DECISION.OPTION.count` (how
/// many times that option was), so no option may be called that.
pub const COUNT: &str = "count";

/// The suffix `ID.since`: steps since event `ID` last fired or decision `ID` was taken (0 in
/// that step; not a number before it, so reading it then stops the run). No option may be
/// called that.
pub const SINCE: &str = "since";

/// Whether `name` is one of the [`FUNCTIONS`].
pub fn is_function(name: &str) -> bool {
    FUNCTIONS.contains(&name)
}

/// Whether `name` cannot be the id of a parameter, actor, variable or any other item: a keyword,
/// a built-in name or a function.
pub fn is_reserved(name: &str) -> bool {
    KEYWORDS.contains(&name) || BUILT_INS.contains(&name) || is_function(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lists_do_not_overlap() {
        let all: Vec<&str> = [KEYWORDS, BUILT_INS, FUNCTIONS].concat();
        for (i, name) in all.iter().enumerate() {
            assert!(!all[..i].contains(name), "`{name}` is listed twice");
        }
        assert!(
            !is_reserved(DECIDED),
            "`decided` is only reserved among options"
        );
    }
}
