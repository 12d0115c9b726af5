//! The operations of the expression language, each defined once: its spelling, its operand
//! and result types, and its arithmetic on one value.
//!
//! The checker reads the types from here, constant folding and the interpreter the arithmetic,
//! so a function cannot mean one thing when folded and another when run, and a new operation
//! is one entry, not three. Every match is exhaustive: an operation the table does not cover is
//! a compile error, never a silent fallback.
//!
//! The arithmetic is plain IEEE on `f64`. What the language adds is the rule for values that
//! are not finite: some operations would hide one (`min(1, NaN)` is 1, `NaN > 0` is false,
//! `exp(-inf)` is 0), and a value that stopped being a number is always a mistake in the model
//! that must reach the engine's check. [`Unary::eval`] and [`Binary::eval`] keep such a value
//! visible, without a branch, so the interpreter's loops over lanes stay vectorisable.

use super::Type;
use crate::names;

/// Operations on one value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unary {
    /// `-x`
    Neg,
    /// `not c`
    Not,
    Abs,
    Exp,
    Ln,
    Sqrt,
    Sin,
    Cos,
    Logistic,
}

/// Operations on two values: the infix operators, and the functions of two arguments.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Binary {
    Or,
    And,
    Lt,
    Le,
    Gt,
    Ge,
    Eq,
    Ne,
    Add,
    Sub,
    Mul,
    Div,
    Pow,
    Min,
    Max,
}

/// Which operands a [`Binary`] would hide when they are not finite.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Hides {
    /// Neither: a non-finite operand always gives a non-finite result (`+`, `-`, `*`).
    Neither,
    /// The right one (`x / inf` is 0).
    Right,
    /// Both (comparisons, `and`/`or`, `min`/`max`, `^`).
    Both,
}

impl Unary {
    /// Every operation on one value.
    pub const ALL: [Unary; 9] = [
        Unary::Neg,
        Unary::Not,
        Unary::Abs,
        Unary::Exp,
        Unary::Ln,
        Unary::Sqrt,
        Unary::Sin,
        Unary::Cos,
        Unary::Logistic,
    ];

    /// The operation as an IEEE function.
    #[inline(always)]
    pub fn apply(self, x: f64) -> f64 {
        match self {
            Unary::Neg => -x,
            Unary::Not => bool_value(!truth(x)),
            Unary::Abs => x.abs(),
            Unary::Exp => x.exp(),
            Unary::Ln => x.ln(),
            Unary::Sqrt => x.sqrt(),
            Unary::Sin => x.sin(),
            Unary::Cos => x.cos(),
            Unary::Logistic => 1.0 / (1.0 + (-x).exp()),
        }
    }

    /// Whether a finite result can come from an operand that is not finite.
    #[inline(always)]
    fn hides(self) -> bool {
        match self {
            Unary::Not | Unary::Exp | Unary::Logistic => true,
            Unary::Neg | Unary::Abs | Unary::Ln | Unary::Sqrt | Unary::Sin | Unary::Cos => false,
        }
    }

    /// The operation as the language runs it: [`Unary::apply`], not finite when `x` is not.
    #[inline(always)]
    pub fn eval(self, x: f64) -> f64 {
        let value = self.apply(x);
        if self.hides() {
            keep1(value, x)
        } else {
            value
        }
    }

    /// (operand, result) types.
    pub fn types(self) -> (Type, Type) {
        match self {
            Unary::Not => (Type::Bool, Type::Bool),
            Unary::Neg
            | Unary::Abs
            | Unary::Exp
            | Unary::Ln
            | Unary::Sqrt
            | Unary::Sin
            | Unary::Cos
            | Unary::Logistic => (Type::Number, Type::Number),
        }
    }
}

impl Binary {
    /// Every operation on two values.
    pub const ALL: [Binary; 15] = [
        Binary::Or,
        Binary::And,
        Binary::Lt,
        Binary::Le,
        Binary::Gt,
        Binary::Ge,
        Binary::Eq,
        Binary::Ne,
        Binary::Add,
        Binary::Sub,
        Binary::Mul,
        Binary::Div,
        Binary::Pow,
        Binary::Min,
        Binary::Max,
    ];

    /// How the operator is written between its operands; `None` for the functions `min` and
    /// `max`, which are only called.
    pub fn symbol(self) -> Option<&'static str> {
        Some(match self {
            Binary::Or => names::OR,
            Binary::And => names::AND,
            Binary::Lt => "<",
            Binary::Le => "<=",
            Binary::Gt => ">",
            Binary::Ge => ">=",
            Binary::Eq => "==",
            Binary::Ne => "!=",
            Binary::Add => "+",
            Binary::Sub => "-",
            Binary::Mul => "*",
            Binary::Div => "/",
            Binary::Pow => "^",
            Binary::Min | Binary::Max => return None,
        })
    }

    /// The infix operator written `symbol`.
    pub fn from_symbol(symbol: &str) -> Option<Binary> {
        Binary::ALL
            .into_iter()
            .find(|op| op.symbol() == Some(symbol))
    }

    /// The operation as an IEEE function.
    #[inline(always)]
    pub fn apply(self, x: f64, y: f64) -> f64 {
        match self {
            Binary::Or => bool_value(truth(x) || truth(y)),
            Binary::And => bool_value(truth(x) && truth(y)),
            Binary::Lt => bool_value(x < y),
            Binary::Le => bool_value(x <= y),
            Binary::Gt => bool_value(x > y),
            Binary::Ge => bool_value(x >= y),
            Binary::Eq => bool_value(x == y),
            Binary::Ne => bool_value(x != y),
            Binary::Add => x + y,
            Binary::Sub => x - y,
            Binary::Mul => x * y,
            Binary::Div => x / y,
            Binary::Pow => x.powf(y),
            Binary::Min => x.min(y),
            Binary::Max => x.max(y),
        }
    }

    #[inline(always)]
    fn hides(self) -> Hides {
        match self {
            Binary::Add | Binary::Sub | Binary::Mul => Hides::Neither,
            Binary::Div => Hides::Right,
            Binary::Or
            | Binary::And
            | Binary::Lt
            | Binary::Le
            | Binary::Gt
            | Binary::Ge
            | Binary::Eq
            | Binary::Ne
            | Binary::Pow
            | Binary::Min
            | Binary::Max => Hides::Both,
        }
    }

    /// The operation as the language runs it: [`Binary::apply`], not finite when an operand
    /// is not.
    #[inline(always)]
    pub fn eval(self, x: f64, y: f64) -> f64 {
        let value = self.apply(x, y);
        match self.hides() {
            Hides::Neither => value,
            Hides::Right => keep1(value, y),
            Hides::Both => keep2(value, x, y),
        }
    }

    /// [`Binary::eval`] with a right operand known to be finite (a constant of the program:
    /// constants are folded only when finite), which then needs no check.
    #[inline(always)]
    pub fn eval_finite_right(self, x: f64, c: f64) -> f64 {
        let value = self.apply(x, c);
        match self.hides() {
            Hides::Neither | Hides::Right => value,
            Hides::Both => keep1(value, x),
        }
    }

    /// [`Binary::eval`] with a left operand known to be finite (see
    /// [`Binary::eval_finite_right`]).
    #[inline(always)]
    pub fn eval_finite_left(self, c: f64, y: f64) -> f64 {
        let value = self.apply(c, y);
        match self.hides() {
            Hides::Neither => value,
            Hides::Right | Hides::Both => keep1(value, y),
        }
    }

    /// The type both operands must have (`None`: either, as long as they agree, for `==` and
    /// `!=`), and the result's type.
    pub fn types(self) -> (Option<Type>, Type) {
        match self {
            Binary::Or | Binary::And => (Some(Type::Bool), Type::Bool),
            Binary::Eq | Binary::Ne => (None, Type::Bool),
            Binary::Lt | Binary::Le | Binary::Gt | Binary::Ge => (Some(Type::Number), Type::Bool),
            Binary::Add
            | Binary::Sub
            | Binary::Mul
            | Binary::Div
            | Binary::Pow
            | Binary::Min
            | Binary::Max => (Some(Type::Number), Type::Number),
        }
    }
}

/// `clamp(x, lo, hi)` as the language runs it. Not `f64::clamp`: that panics when `lo > hi`,
/// and bounds here are computed at run time (`hi` wins then).
#[inline(always)]
pub fn clamp(x: f64, lo: f64, hi: f64) -> f64 {
    keep1(keep2(x.max(lo).min(hi), lo, hi), x)
}

/// `if(c, then, otherwise)` with both branches computed: branches have no side effects, so
/// computing both and keeping one equals taking one, and lanes can part ways without a branch.
/// The branch not taken is dropped whatever it holds, as a program that jumped over it would
/// never have computed it.
#[inline(always)]
pub fn select(condition: f64, then: f64, otherwise: f64) -> f64 {
    keep1(if truth(condition) { then } else { otherwise }, condition)
}

/// How a function is called and what it computes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Call {
    /// `if(condition, then, otherwise)`: the branches have one type, either.
    If,
    /// `clamp(x, lo, hi)`
    Clamp,
    /// Two or more numbers, combined left to right (`min`, `max`).
    Fold(Binary),
    /// Two numbers.
    Binary(Binary),
    /// One number.
    Unary(Unary),
}

/// A function of the language.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Function {
    pub name: &'static str,
    pub call: Call,
}

/// How many arguments a function takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arity {
    Exactly(usize),
    AtLeast(usize),
}

impl Function {
    pub fn arity(&self) -> Arity {
        match self.call {
            Call::If | Call::Clamp => Arity::Exactly(3),
            Call::Fold(_) => Arity::AtLeast(2),
            Call::Binary(_) => Arity::Exactly(2),
            Call::Unary(_) => Arity::Exactly(1),
        }
    }
}

/// Every function of the language.
pub const FUNCTIONS: [Function; 12] = [
    Function {
        name: "if",
        call: Call::If,
    },
    Function {
        name: "min",
        call: Call::Fold(Binary::Min),
    },
    Function {
        name: "max",
        call: Call::Fold(Binary::Max),
    },
    Function {
        name: "clamp",
        call: Call::Clamp,
    },
    Function {
        name: "abs",
        call: Call::Unary(Unary::Abs),
    },
    Function {
        name: "exp",
        call: Call::Unary(Unary::Exp),
    },
    Function {
        name: "ln",
        call: Call::Unary(Unary::Ln),
    },
    Function {
        name: "sqrt",
        call: Call::Unary(Unary::Sqrt),
    },
    Function {
        name: "pow",
        call: Call::Binary(Binary::Pow),
    },
    Function {
        name: "sin",
        call: Call::Unary(Unary::Sin),
    },
    Function {
        name: "cos",
        call: Call::Unary(Unary::Cos),
    },
    Function {
        name: "logistic",
        call: Call::Unary(Unary::Logistic),
    },
];

/// The function called `name`.
pub fn function(name: &str) -> Option<&'static Function> {
    FUNCTIONS.iter().find(|f| f.name == name)
}

/// A condition's value as a truth: 0 is false, anything else true.
#[inline(always)]
pub fn truth(x: f64) -> bool {
    x != 0.0
}

#[inline(always)]
fn bool_value(b: bool) -> f64 {
    f64::from(u8::from(b))
}

/// `value`, or NaN when `operand` is not finite.
///
/// `operand - operand` is +0.0 for a finite operand and NaN otherwise, and `value - 0.0` is
/// `value` bit for bit (-0.0 included), so valid values are untouched, without a branch.
#[inline(always)]
#[allow(clippy::eq_op)] // `x - x` is the point: it is +0.0 or NaN.
fn keep1(value: f64, operand: f64) -> f64 {
    value - (operand - operand)
}

/// [`keep1`] for two operands.
#[inline(always)]
#[allow(clippy::eq_op)] // as in `keep1`
fn keep2(value: f64, a: f64, b: f64) -> f64 {
    value - ((a - a) + (b - b))
}

#[cfg(test)]
mod tests {
    use super::*;

    const UNARY: [Unary; 9] = Unary::ALL;
    const BINARY: [Binary; 15] = Binary::ALL;
    const ODD: [f64; 5] = [f64::NAN, f64::INFINITY, f64::NEG_INFINITY, 0.0, -0.0];
    const FINITE: [f64; 7] = [0.0, -0.0, 1.0, -2.5, 0.5, 1e300, -1e-300];

    /// The rule every operation keeps: a non-finite operand never gives a finite result.
    #[test]
    fn no_operation_hides_a_value_that_is_not_finite() {
        for op in UNARY {
            for x in ODD.into_iter().filter(|x| !x.is_finite()) {
                assert!(!op.eval(x).is_finite(), "{op:?}({x})");
            }
        }
        for op in BINARY {
            for x in ODD.into_iter().chain(FINITE) {
                for y in ODD.into_iter().chain(FINITE) {
                    if x.is_finite() && y.is_finite() {
                        continue;
                    }
                    assert!(!op.eval(x, y).is_finite(), "{op:?}({x}, {y})");
                    if y.is_finite() {
                        assert!(
                            !op.eval_finite_right(x, y).is_finite(),
                            "{op:?}({x}, c={y})"
                        );
                    }
                    if x.is_finite() {
                        assert!(!op.eval_finite_left(x, y).is_finite(), "{op:?}(c={x}, {y})");
                    }
                }
            }
        }
        for (x, lo, hi) in [
            (f64::NAN, 0.0, 1.0),
            (0.5, f64::INFINITY, 1.0),
            (0.5, 0.0, f64::NAN),
        ] {
            assert!(!clamp(x, lo, hi).is_finite());
        }
        assert!(!select(f64::NAN, 1.0, 2.0).is_finite());
    }

    /// On finite operands the checked forms are the plain IEEE operation, bit for bit.
    #[test]
    fn on_finite_values_the_checks_change_no_bit() {
        for x in FINITE {
            for op in UNARY {
                assert_eq!(op.eval(x).to_bits(), op.apply(x).to_bits(), "{op:?}({x})");
            }
            for y in FINITE {
                for op in BINARY {
                    let plain = op.apply(x, y).to_bits();
                    assert_eq!(op.eval(x, y).to_bits(), plain, "{op:?}({x}, {y})");
                    assert_eq!(op.eval_finite_right(x, y).to_bits(), plain);
                    assert_eq!(op.eval_finite_left(x, y).to_bits(), plain);
                }
            }
        }
        assert_eq!(select(1.0, -0.0, 2.0).to_bits(), (-0.0f64).to_bits());
        assert_eq!(clamp(-0.0, -1.0, 1.0).to_bits(), (-0.0f64).to_bits());
    }

    #[test]
    fn every_operator_is_found_by_its_symbol_and_functions_by_name() {
        for op in Binary::ALL {
            match op.symbol() {
                Some(symbol) => assert_eq!(Binary::from_symbol(symbol), Some(op)),
                None => assert!(matches!(op, Binary::Min | Binary::Max), "{op:?}"),
            }
        }
        for f in FUNCTIONS {
            assert_eq!(function(f.name), Some(&f));
        }
        assert_eq!(
            function("logistic").map(|f| f.call),
            Some(Call::Unary(Unary::Logistic))
        );
        assert_eq!(function("nope"), None);
    }

    /// A scenario may not use a function's name as an id: the names it refuses are the
    /// functions this table defines, no more, no fewer.
    #[test]
    fn the_reserved_function_names_are_the_table_s() {
        let table: Vec<&str> = FUNCTIONS.iter().map(|f| f.name).collect();
        assert_eq!(table, names::FUNCTIONS);
    }

    #[test]
    fn spot_values() {
        assert_eq!(Unary::Logistic.apply(0.0), 0.5);
        assert_eq!(Binary::Pow.apply(2.0, 10.0), 1024.0);
        assert_eq!(clamp(5.0, 0.0, 1.0), 1.0);
        // Inverted bounds: the upper one wins, as documented.
        assert_eq!(clamp(0.5, 1.0, 0.0), 0.0);
        assert_eq!(select(0.0, 1.0, 2.0), 2.0);
    }
}
