//! Syntax tree to checked, constant-folded bytecode.
//!
//! Names are resolved once here, so evaluation never looks anything up: it reads slots.

use std::ops::Range;

use super::parse::{BinaryOp, Expr, ExprKind, UnaryOp};
use super::{ExprError, Type};
use crate::names;

/// What a name means to the compiler.
pub enum Binding<'a> {
    /// A value read from the run's state vector.
    Slot(u32, Type),
    /// A named expression, compiled in place (derived values).
    Inline(&'a Expr, Type),
    /// A name that exists but whose definition has errors, reported already: an expression
    /// that uses it fails with a follow-on error (see [`ExprError::follow_on`]).
    Unusable,
    /// A name of an item switched off with `enabled = false` (see
    /// [`ExprError::switched_off`]).
    SwitchedOff,
}

/// Resolves names for [`compile`]; the model implements it over its slot layout.
pub trait Scope {
    fn lookup(&self, name: &str) -> Option<Binding<'_>>;
    /// Names a misspelling could have meant (for "did you mean" hints).
    fn candidates(&self) -> Vec<String>;
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Op {
    Const(f64),
    Load(u32),
    Neg,
    Not,
    Add,
    Sub,
    Mul,
    Div,
    Pow,
    Lt,
    Le,
    Gt,
    Ge,
    Eq,
    Ne,
    And,
    Or,
    Abs,
    Exp,
    Ln,
    Sqrt,
    Sin,
    Cos,
    Logistic,
    Min,
    Max,
    Clamp,
    /// Pops the condition; jumps to the target when it is false.
    JumpIfFalse(u32),
    Jump(u32),
    /// Pops condition, then, otherwise; pushes one of the two. Only lane programs use it:
    /// evaluating both branches of `if` has no side effect, so it equals the jumps.
    Select,
    // Fused forms: the right operand is a constant or a slot, so it never touches the stack.
    // They halve the dispatches of typical expressions such as `0.1 * x + y`.
    AddC(f64),
    SubC(f64),
    MulC(f64),
    DivC(f64),
    /// `c - x`
    RSubC(f64),
    /// `c / x`
    RDivC(f64),
    PowC(f64),
    LtC(f64),
    LeC(f64),
    GtC(f64),
    GeC(f64),
    AddL(u32),
    SubL(u32),
    MulL(u32),
    DivL(u32),
}

/// A compiled expression.
#[derive(Debug, Clone, PartialEq)]
pub struct Program {
    ops: Vec<Op>,
    max_stack: usize,
    ty: Type,
    /// `file:line:col` of the expression's text, for run-time errors (empty when unknown).
    location: String,
}

const FUNCTIONS: &[(&str, usize)] = &[
    ("if", 3),
    ("min", 0),
    ("max", 0),
    ("clamp", 3),
    ("abs", 1),
    ("exp", 1),
    ("ln", 1),
    ("sqrt", 1),
    ("pow", 2),
    ("sin", 1),
    ("cos", 1),
    ("logistic", 1),
];

/// A type-checked tree with constants folded; emitted to bytecode in a second pass.
enum Typed {
    Const(f64),
    Load(u32),
    Unary(Op, Box<Typed>),
    Binary(Op, Box<Typed>, Box<Typed>),
    Ternary(Op, Box<Typed>, Box<Typed>, Box<Typed>),
    If(Box<Typed>, Box<Typed>, Box<Typed>),
}

/// Moves the parts of expressions that only read run-invariant slots (parameters) out of the
/// per-step work: each such part is compiled once into `programs`, evaluated once per run into
/// slot `first_slot + index`, and read from there. Identical parts share a slot.
#[derive(Debug, Clone, Default)]
pub struct Hoister {
    /// `invariant[slot]`: the slot keeps its value for a whole run.
    pub invariant: Vec<bool>,
    pub first_slot: u32,
    pub programs: Vec<Program>,
    keys: Vec<Vec<Op>>,
}

impl Hoister {
    pub fn new(invariant: Vec<bool>, first_slot: u32) -> Hoister {
        Hoister {
            invariant,
            first_slot,
            programs: Vec::new(),
            keys: Vec::new(),
        }
    }

    fn is_invariant(&self, node: &Typed) -> bool {
        match node {
            Typed::Const(_) => true,
            Typed::Load(s) => self.invariant.get(*s as usize).copied().unwrap_or(false),
            Typed::Unary(_, a) => self.is_invariant(a),
            Typed::Binary(_, a, b) => self.is_invariant(a) && self.is_invariant(b),
            Typed::Ternary(_, a, b, c) | Typed::If(a, b, c) => {
                self.is_invariant(a) && self.is_invariant(b) && self.is_invariant(c)
            }
        }
    }

    /// Replaces every maximal invariant subtree that does real work by a read of its slot.
    fn hoist(&mut self, node: Typed) -> Typed {
        if matches!(node, Typed::Const(_) | Typed::Load(_)) {
            return node;
        }
        if self.is_invariant(&node) {
            return Typed::Load(self.slot_for(&node));
        }
        match node {
            Typed::Unary(op, a) => Typed::Unary(op, Box::new(self.hoist(*a))),
            Typed::Binary(op, a, b) => {
                Typed::Binary(op, Box::new(self.hoist(*a)), Box::new(self.hoist(*b)))
            }
            Typed::Ternary(op, a, b, c) => Typed::Ternary(
                op,
                Box::new(self.hoist(*a)),
                Box::new(self.hoist(*b)),
                Box::new(self.hoist(*c)),
            ),
            Typed::If(a, b, c) => Typed::If(
                Box::new(self.hoist(*a)),
                Box::new(self.hoist(*b)),
                Box::new(self.hoist(*c)),
            ),
            leaf => leaf,
        }
    }

    fn slot_for(&mut self, node: &Typed) -> u32 {
        let program = Program::emit_from(node, Type::Number);
        let index = match self.keys.iter().position(|k| *k == program.ops) {
            Some(i) => i,
            None => {
                self.keys.push(program.ops.clone());
                self.programs.push(program);
                self.programs.len() - 1
            }
        };
        self.first_slot + index as u32
    }
}

/// Compiles `expr`; with `expected`, a result of the other type is an error.
pub fn compile(
    expr: &Expr,
    scope: &dyn Scope,
    expected: Option<Type>,
) -> Result<Program, ExprError> {
    compile_hoisting(expr, scope, expected, None)
}

/// [`compile`], moving run-invariant parts into `hoister` when one is given.
pub fn compile_hoisting(
    expr: &Expr,
    scope: &dyn Scope,
    expected: Option<Type>,
    hoister: Option<&mut Hoister>,
) -> Result<Program, ExprError> {
    let mut checker = Checker {
        scope,
        inline_depth: 0,
        terms: 0,
        depth: 0,
        too_large: false,
    };
    let (typed, ty) = checker.check(expr)?;
    if let Some(expected) = expected.filter(|e| *e != ty) {
        return Err(type_mismatch(expected, ty, expr.range.clone()));
    }
    let typed = match hoister {
        Some(h) => h.hoist(typed),
        None => typed,
    };
    Ok(Program::emit_from(&typed, ty))
}

impl Program {
    fn emit_from(node: &Typed, ty: Type) -> Program {
        let mut ops = Vec::new();
        let mut depth = 0;
        let mut max_stack = 0;
        emit(node, &mut ops, &mut depth, &mut max_stack);
        Program {
            ops,
            max_stack: max_stack.max(1),
            ty,
            location: String::new(),
        }
    }
}

/// What `prefix.` could be followed by, or that nothing is called `prefix`.
fn dotted_name_hint(prefix: &str, candidates: &[String]) -> String {
    let mut fields: Vec<&str> = candidates
        .iter()
        .filter(|c| c.split_once('.').is_some_and(|(p, _)| p == prefix))
        .map(String::as_str)
        .collect();
    fields.sort_unstable();
    if fields.is_empty() {
        format!(
            "no actor, event or decision is called `{prefix}`; dotted names are `actor.var`, `event.count`, `event.fired`, `decision.option` or `decision.decided`"
        )
    } else {
        format!("`{prefix}` has: {}", fields.join(", "))
    }
}

fn type_mismatch(expected: Type, _found: Type, range: Range<usize>) -> ExprError {
    match expected {
        Type::Bool => ExprError::new("expected a condition (true/false), found a number", range)
            .with_hint("compare it, e.g. `x > 0`"),
        Type::Number => ExprError::new("expected a number, found a condition (true/false)", range)
            .with_hint("use `if(condition, a, b)` to turn a condition into a number"),
    }
}

/// Most terms an expression may have once its derived values are written out in it. Each use
/// of a derived value copies its body, so values that use each other twice over double at every
/// level: without a bound, thirty such lines would take the compiler minutes and gigabytes.
pub const MAX_EXPANDED_TERMS: usize = 50_000;

/// Deepest an expression's tree may be once its derived values are written out. `a + b + c`
/// is one level per operator, and a derived value's body sits below the place that uses it, so
/// long sums in derived values that build on each other make trees that checking and emitting
/// (both recursive) could not walk without overflowing the stack.
pub const MAX_EXPANDED_DEPTH: usize = 1_000;

struct Checker<'a> {
    scope: &'a dyn Scope,
    inline_depth: usize,
    /// Terms checked so far, derived values' bodies included.
    terms: usize,
    /// Depth of the node being checked, derived values' bodies included.
    depth: usize,
    /// A size limit was hit: the error is about the whole expression.
    too_large: bool,
}

impl Checker<'_> {
    fn check(&mut self, expr: &Expr) -> Result<(Typed, Type), ExprError> {
        self.terms += 1;
        self.depth += 1;
        let limit = if self.terms > MAX_EXPANDED_TERMS {
            Some(format!(
                "this expression grows past {MAX_EXPANDED_TERMS} terms once the derived values it uses are written out"
            ))
        } else if self.depth > MAX_EXPANDED_DEPTH {
            Some(format!(
                "this expression is more than {MAX_EXPANDED_DEPTH} operations deep once the derived values it uses are written out"
            ))
        } else {
            None
        };
        if let Some(message) = limit {
            self.too_large = true;
            return Err(ExprError::new(message, expr.range.clone()).with_hint(
                "each use of a derived value copies its body, and each operator in a chain like `a + b + c` is a level: shorten the chains, or use derived values fewer times",
            ));
        }
        let result = self.check_node(expr);
        self.depth -= 1;
        result
    }

    fn check_node(&mut self, expr: &Expr) -> Result<(Typed, Type), ExprError> {
        let range = expr.range.clone();
        match &expr.kind {
            ExprKind::Number(n) => Ok((Typed::Const(*n), Type::Number)),
            ExprKind::Bool(b) => Ok((Typed::Const(f64::from(u8::from(*b))), Type::Bool)),
            ExprKind::Name(name) => self.name(name, range),
            ExprKind::Unary(op, operand) => {
                let (inner, ty) = self.check(operand)?;
                let (code, want) = match op {
                    UnaryOp::Neg => (Op::Neg, Type::Number),
                    UnaryOp::Not => (Op::Not, Type::Bool),
                };
                if ty != want {
                    return Err(type_mismatch(want, ty, operand.range.clone()));
                }
                Ok((fold(Typed::Unary(code, Box::new(inner)), range)?, want))
            }
            ExprKind::Binary(op, a, b) => self.binary(*op, a, b, range),
            ExprKind::Call {
                name,
                name_range,
                args,
            } => self.call(name, name_range.clone(), args, range),
        }
    }

    fn name(&mut self, name: &str, range: Range<usize>) -> Result<(Typed, Type), ExprError> {
        match self.scope.lookup(name) {
            Some(Binding::Slot(slot, ty)) => Ok((Typed::Load(slot), ty)),
            Some(Binding::Inline(body, ty)) => {
                // Bodies were checked on their own; here only their place in this expression
                // matters, so any error is reported at the name that brought them in.
                self.inline_depth += 1;
                if self.inline_depth > 64 {
                    // Reported as is, not once more for every derived value it is inside.
                    self.too_large = true;
                    return Err(ExprError::new(
                        format!(
                            "derived values are nested more than 64 deep here (`{name}` is the 65th)"
                        ),
                        range,
                    )
                    .with_hint("a derived value may use others, but chains of them are limited to 64"));
                }
                let result = self.check(body).map_err(|e| {
                    if self.too_large {
                        // About the whole expression, not this derived value: keep it as is.
                        return ExprError {
                            range: range.clone(),
                            ..e
                        };
                    }
                    ExprError {
                        follow_on: e.follow_on,
                        switched_off: e.switched_off,
                        ..ExprError::new(
                            format!("in derived value `{name}`: {}", e.message),
                            range.clone(),
                        )
                    }
                });
                self.inline_depth -= 1;
                let (typed, _) = result?;
                Ok((typed, ty))
            }
            Some(Binding::Unusable) => Err(ExprError {
                follow_on: true,
                ..ExprError::new(format!("`{name}` has errors"), range)
            }),
            Some(Binding::SwitchedOff) => Err(ExprError {
                switched_off: Some(name.to_string()),
                ..ExprError::new(format!("`{name}` is switched off"), range)
            }),
            None => {
                let mut err = ExprError::new(format!("unknown name `{name}`"), range);
                if names::is_function(name) {
                    err = err.with_hint(format!("`{name}` is a function: write `{name}(...)`"));
                } else {
                    let candidates = self.scope.candidates();
                    if let Some(hint) =
                        crate::diagnostic::suggest(name, candidates.iter().map(String::as_str))
                    {
                        err = err.with_hint(hint);
                    } else if let Some((prefix, _)) = name.split_once('.') {
                        err = err.with_hint(dotted_name_hint(prefix, &candidates));
                    }
                }
                Err(err)
            }
        }
    }

    fn binary(
        &mut self,
        op: BinaryOp,
        a: &Expr,
        b: &Expr,
        range: Range<usize>,
    ) -> Result<(Typed, Type), ExprError> {
        let (ta, ty_a) = self.check(a)?;
        let (tb, ty_b) = self.check(b)?;
        let (code, operand, result) = match op {
            BinaryOp::Or => (Op::Or, Type::Bool, Type::Bool),
            BinaryOp::And => (Op::And, Type::Bool, Type::Bool),
            BinaryOp::Lt => (Op::Lt, Type::Number, Type::Bool),
            BinaryOp::Le => (Op::Le, Type::Number, Type::Bool),
            BinaryOp::Gt => (Op::Gt, Type::Number, Type::Bool),
            BinaryOp::Ge => (Op::Ge, Type::Number, Type::Bool),
            BinaryOp::Eq | BinaryOp::Ne => {
                // Equality works on two numbers or two conditions, not a mix.
                if ty_a != ty_b {
                    return Err(ExprError::new(
                        "cannot compare a number with a condition",
                        range,
                    ));
                }
                let code = if op == BinaryOp::Eq { Op::Eq } else { Op::Ne };
                return Ok((
                    fold(Typed::Binary(code, Box::new(ta), Box::new(tb)), range)?,
                    Type::Bool,
                ));
            }
            BinaryOp::Add => (Op::Add, Type::Number, Type::Number),
            BinaryOp::Sub => (Op::Sub, Type::Number, Type::Number),
            BinaryOp::Mul => (Op::Mul, Type::Number, Type::Number),
            BinaryOp::Div => (Op::Div, Type::Number, Type::Number),
            BinaryOp::Pow => (Op::Pow, Type::Number, Type::Number),
        };
        if ty_a != operand {
            return Err(type_mismatch(operand, ty_a, a.range.clone()));
        }
        if ty_b != operand {
            return Err(type_mismatch(operand, ty_b, b.range.clone()));
        }
        if code == Op::Div && matches!(tb, Typed::Const(d) if d == 0.0) {
            return Err(ExprError::new("division by zero", b.range.clone())
                .with_hint("the divisor is always 0"));
        }
        Ok((
            fold(Typed::Binary(code, Box::new(ta), Box::new(tb)), range)?,
            result,
        ))
    }

    fn call(
        &mut self,
        name: &str,
        name_range: Range<usize>,
        args: &[Expr],
        range: Range<usize>,
    ) -> Result<(Typed, Type), ExprError> {
        let Some(&(_, arity)) = FUNCTIONS.iter().find(|(f, _)| *f == name) else {
            let names: Vec<&str> = FUNCTIONS.iter().map(|(f, _)| *f).collect();
            let mut err = ExprError::new(format!("unknown function `{name}`"), name_range);
            err = match crate::diagnostic::suggest(name, names.iter().copied()) {
                Some(hint) => err.with_hint(hint),
                None => err.with_hint(format!("functions: {}", names.join(", "))),
            };
            return Err(err);
        };
        let variadic = arity == 0;
        if (variadic && args.len() < 2) || (!variadic && args.len() != arity) {
            let wanted = if variadic {
                "at least 2 arguments".to_string()
            } else if arity == 1 {
                "1 argument".to_string()
            } else {
                format!("{arity} arguments")
            };
            return Err(ExprError::new(
                format!("`{name}` takes {wanted}, got {}", args.len()),
                range,
            ));
        }
        let mut checked = Vec::with_capacity(args.len());
        for arg in args {
            checked.push(self.check(arg)?);
        }
        if name == "if" {
            let mut it = checked.into_iter();
            let (cond, cond_ty) = it
                .next()
                .ok_or_else(|| ExprError::new("if", range.clone()))?;
            let (then, then_ty) = it
                .next()
                .ok_or_else(|| ExprError::new("if", range.clone()))?;
            let (otherwise, else_ty) = it
                .next()
                .ok_or_else(|| ExprError::new("if", range.clone()))?;
            if cond_ty != Type::Bool {
                return Err(type_mismatch(Type::Bool, cond_ty, args[0].range.clone()));
            }
            if then_ty != else_ty {
                return Err(ExprError::new(
                    "the two branches of `if` must have the same type",
                    range,
                )
                .with_hint("both numbers, or both conditions"));
            }
            return Ok((
                fold(
                    Typed::If(Box::new(cond), Box::new(then), Box::new(otherwise)),
                    range,
                )?,
                then_ty,
            ));
        }
        for ((_, ty), arg) in checked.iter().zip(args) {
            if *ty != Type::Number {
                return Err(type_mismatch(Type::Number, *ty, arg.range.clone()));
            }
        }
        let mut typed = checked.into_iter().map(|(t, _)| t);
        let mut next = || typed.next().unwrap_or(Typed::Const(f64::NAN));
        let node = match name {
            "min" | "max" => {
                let code = if name == "min" { Op::Min } else { Op::Max };
                let mut acc = next();
                for _ in 1..args.len() {
                    acc = fold(
                        Typed::Binary(code, Box::new(acc), Box::new(next())),
                        range.clone(),
                    )?;
                }
                return Ok((acc, Type::Number));
            }
            "clamp" => Typed::Ternary(
                Op::Clamp,
                Box::new(next()),
                Box::new(next()),
                Box::new(next()),
            ),
            "pow" => Typed::Binary(Op::Pow, Box::new(next()), Box::new(next())),
            _ => {
                let code = match name {
                    "abs" => Op::Abs,
                    "exp" => Op::Exp,
                    "ln" => Op::Ln,
                    "sqrt" => Op::Sqrt,
                    "sin" => Op::Sin,
                    "cos" => Op::Cos,
                    _ => Op::Logistic,
                };
                Typed::Unary(code, Box::new(next()))
            }
        };
        Ok((fold(node, range)?, Type::Number))
    }
}

/// Evaluates a node whose operands are all constants; a result that is not finite means the
/// expression can never produce a usable number, which is reported now rather than at run time.
fn fold(node: Typed, range: Range<usize>) -> Result<Typed, ExprError> {
    let value = match &node {
        Typed::Unary(op, a) => match **a {
            Typed::Const(x) => Some(apply1(*op, x)),
            _ => None,
        },
        Typed::Binary(op, a, b) => match (&**a, &**b) {
            (Typed::Const(x), Typed::Const(y)) => Some(apply2(*op, *x, *y)),
            _ => None,
        },
        Typed::Ternary(_, a, b, c) => match (&**a, &**b, &**c) {
            (Typed::Const(x), Typed::Const(lo), Typed::Const(hi)) => Some(clamp(*x, *lo, *hi)),
            _ => None,
        },
        Typed::If(c, _, _) => {
            if let Typed::Const(c) = **c {
                let Typed::If(_, then, otherwise) = node else {
                    unreachable!("matched as If above")
                };
                return Ok(if c != 0.0 { *then } else { *otherwise });
            }
            None
        }
        Typed::Const(_) | Typed::Load(_) => None,
    };
    match value {
        Some(v) if v.is_finite() => Ok(Typed::Const(v)),
        Some(_) => Err(ExprError::new(
            "this part of the expression is always undefined (NaN or infinite)",
            range,
        )
        .with_hint("check for ln or sqrt of a negative constant, or an overflow")),
        None => Ok(node),
    }
}

fn emit(node: &Typed, ops: &mut Vec<Op>, depth: &mut usize, max: &mut usize) {
    match node {
        Typed::Const(_) | Typed::Load(_) => {
            ops.push(match node {
                Typed::Const(v) => Op::Const(*v),
                Typed::Load(s) => Op::Load(*s),
                _ => unreachable!("matched above"),
            });
            *depth += 1;
            *max = (*max).max(*depth);
        }
        Typed::Unary(op, a) => {
            emit(a, ops, depth, max);
            ops.push(*op);
        }
        Typed::Binary(op, a, b) => {
            if let Some(fused) = fuse(*op, b) {
                emit(a, ops, depth, max);
                ops.push(fused);
            } else if let Some(fused) = fuse_left(*op, a) {
                emit(b, ops, depth, max);
                ops.push(fused);
            } else {
                emit(a, ops, depth, max);
                emit(b, ops, depth, max);
                ops.push(*op);
                *depth -= 1;
            }
        }
        Typed::Ternary(op, a, b, c) => {
            emit(a, ops, depth, max);
            emit(b, ops, depth, max);
            emit(c, ops, depth, max);
            ops.push(*op);
            *depth -= 2;
        }
        Typed::If(c, then, otherwise) => {
            emit(c, ops, depth, max);
            let jump_else = ops.len();
            ops.push(Op::JumpIfFalse(0));
            *depth -= 1;
            emit(then, ops, depth, max);
            let jump_end = ops.len();
            ops.push(Op::Jump(0));
            *depth -= 1;
            ops[jump_else] = Op::JumpIfFalse(ops.len() as u32);
            emit(otherwise, ops, depth, max);
            ops[jump_end] = Op::Jump(ops.len() as u32);
        }
    }
}

/// `a OP b` as one op on `a`, when `b` is a constant or a slot.
fn fuse(op: Op, b: &Typed) -> Option<Op> {
    match (op, b) {
        (Op::Add, Typed::Const(c)) => Some(Op::AddC(*c)),
        (Op::Sub, Typed::Const(c)) => Some(Op::SubC(*c)),
        (Op::Mul, Typed::Const(c)) => Some(Op::MulC(*c)),
        (Op::Div, Typed::Const(c)) => Some(Op::DivC(*c)),
        (Op::Pow, Typed::Const(c)) => Some(Op::PowC(*c)),
        (Op::Lt, Typed::Const(c)) => Some(Op::LtC(*c)),
        (Op::Le, Typed::Const(c)) => Some(Op::LeC(*c)),
        (Op::Gt, Typed::Const(c)) => Some(Op::GtC(*c)),
        (Op::Ge, Typed::Const(c)) => Some(Op::GeC(*c)),
        (Op::Add, Typed::Load(s)) => Some(Op::AddL(*s)),
        (Op::Sub, Typed::Load(s)) => Some(Op::SubL(*s)),
        (Op::Mul, Typed::Load(s)) => Some(Op::MulL(*s)),
        (Op::Div, Typed::Load(s)) => Some(Op::DivL(*s)),
        _ => None,
    }
}

/// `a OP b` as one op on `b`, when `a` is a constant or a slot and the order can be kept.
fn fuse_left(op: Op, a: &Typed) -> Option<Op> {
    match (op, a) {
        (Op::Add, Typed::Const(c)) => Some(Op::AddC(*c)),
        (Op::Mul, Typed::Const(c)) => Some(Op::MulC(*c)),
        (Op::Sub, Typed::Const(c)) => Some(Op::RSubC(*c)),
        (Op::Div, Typed::Const(c)) => Some(Op::RDivC(*c)),
        // IEEE addition and multiplication are commutative, so `x + y` equals `y + x` bit for bit.
        (Op::Add, Typed::Load(s)) => Some(Op::AddL(*s)),
        (Op::Mul, Typed::Load(s)) => Some(Op::MulL(*s)),
        _ => None,
    }
}

#[inline]
pub(super) fn truth(x: f64) -> bool {
    x != 0.0
}

#[inline]
pub(super) fn clamp(x: f64, lo: f64, hi: f64) -> f64 {
    // Not f64::clamp: it panics when lo > hi, and bounds here are computed at run time.
    x.max(lo).min(hi)
}

#[inline]
fn apply1(op: Op, x: f64) -> f64 {
    match op {
        Op::Neg => -x,
        Op::Not => f64::from(u8::from(!truth(x))),
        Op::Abs => x.abs(),
        Op::Exp => x.exp(),
        Op::Ln => x.ln(),
        Op::Sqrt => x.sqrt(),
        Op::Sin => x.sin(),
        Op::Cos => x.cos(),
        Op::Logistic => 1.0 / (1.0 + (-x).exp()),
        _ => f64::NAN,
    }
}

#[inline]
fn apply2(op: Op, x: f64, y: f64) -> f64 {
    let b = |v: bool| f64::from(u8::from(v));
    match op {
        Op::Add => x + y,
        Op::Sub => x - y,
        Op::Mul => x * y,
        Op::Div => x / y,
        Op::Pow => x.powf(y),
        Op::Lt => b(x < y),
        Op::Le => b(x <= y),
        Op::Gt => b(x > y),
        Op::Ge => b(x >= y),
        Op::Eq => b(x == y),
        Op::Ne => b(x != y),
        Op::And => b(truth(x) && truth(y)),
        Op::Or => b(truth(x) || truth(y)),
        Op::Min => x.min(y),
        Op::Max => x.max(y),
        _ => f64::NAN,
    }
}

impl Program {
    pub fn ty(&self) -> Type {
        self.ty
    }

    /// The program, remembering where its expression was written (`file:line:col`), so that
    /// a run-time error points at the expression rather than at the item that holds it.
    pub fn located(mut self, location: String) -> Program {
        self.location = location;
        self
    }

    /// Where the expression was written; empty for programs made by the compiler itself.
    pub fn location(&self) -> &str {
        &self.location
    }

    pub(super) fn ops(&self) -> &[Op] {
        &self.ops
    }

    /// Scratch space [`Program::eval`] needs.
    pub fn stack_size(&self) -> usize {
        self.max_stack
    }

    /// The value, when the expression is a constant.
    pub fn as_constant(&self) -> Option<f64> {
        match self.ops.as_slice() {
            [Op::Const(v)] => Some(*v),
            _ => None,
        }
    }

    /// Evaluates against a state vector. `stack` must hold at least [`Program::stack_size`]
    /// values; it is scratch, passed in so evaluation never allocates.
    ///
    /// The result is NaN when any value the evaluation met was not finite, even one that a
    /// later op would have hidden (`min(1, sqrt(-1))` is NaN, not 1): such a value is always a
    /// mistake in the model, and the caller's one check of the result must see it. Every op
    /// checks its operands, so the result of an op that goes wrong is caught by the op that
    /// reads it, or by the caller. (This evaluator only reruns failed lane batches and serves
    /// `explain`, so a branch per operand costs nothing that matters; lanes carry the same rule
    /// without branches, see `LaneProgram`.)
    #[inline]
    pub fn eval(&self, slots: &[f64], stack: &mut [f64]) -> f64 {
        // The commonest programs are a constant or a single read: skip the loop for them.
        match self.ops.as_slice() {
            [Op::Const(v)] => return *v,
            [Op::Load(s)] => return slots[*s as usize],
            _ => {}
        }
        let mut sp = 0usize;
        let mut pc = 0usize;
        let ops = &self.ops[..];
        while pc < ops.len() {
            match ops[pc] {
                Op::Const(v) => {
                    stack[sp] = v;
                    sp += 1;
                }
                Op::Load(s) => {
                    stack[sp] = slots[s as usize];
                    sp += 1;
                }
                Op::JumpIfFalse(target) => {
                    sp -= 1;
                    if !stack[sp].is_finite() {
                        return f64::NAN;
                    }
                    if !truth(stack[sp]) {
                        pc = target as usize;
                        continue;
                    }
                }
                Op::Jump(target) => {
                    pc = target as usize;
                    continue;
                }
                // Every other op reads the top of the stack.
                _ if !stack[sp - 1].is_finite() => return f64::NAN,
                Op::AddC(c) => stack[sp - 1] += c,
                Op::SubC(c) => stack[sp - 1] -= c,
                Op::MulC(c) => stack[sp - 1] *= c,
                Op::DivC(c) => stack[sp - 1] /= c,
                Op::RSubC(c) => stack[sp - 1] = c - stack[sp - 1],
                Op::RDivC(c) => stack[sp - 1] = c / stack[sp - 1],
                Op::PowC(c) => stack[sp - 1] = stack[sp - 1].powf(c),
                Op::LtC(c) => stack[sp - 1] = f64::from(u8::from(stack[sp - 1] < c)),
                Op::LeC(c) => stack[sp - 1] = f64::from(u8::from(stack[sp - 1] <= c)),
                Op::GtC(c) => stack[sp - 1] = f64::from(u8::from(stack[sp - 1] > c)),
                Op::GeC(c) => stack[sp - 1] = f64::from(u8::from(stack[sp - 1] >= c)),
                Op::AddL(s) | Op::SubL(s) | Op::MulL(s) | Op::DivL(s)
                    if !slots[s as usize].is_finite() =>
                {
                    return f64::NAN
                }
                Op::AddL(s) => stack[sp - 1] += slots[s as usize],
                Op::SubL(s) => stack[sp - 1] -= slots[s as usize],
                Op::MulL(s) => stack[sp - 1] *= slots[s as usize],
                Op::DivL(s) => stack[sp - 1] /= slots[s as usize],
                Op::Clamp => {
                    sp -= 2;
                    if !(stack[sp].is_finite() && stack[sp - 1].is_finite()) {
                        return f64::NAN;
                    }
                    stack[sp - 1] = clamp(stack[sp - 1], stack[sp], stack[sp + 1]);
                }
                op @ (Op::Neg
                | Op::Not
                | Op::Abs
                | Op::Exp
                | Op::Ln
                | Op::Sqrt
                | Op::Sin
                | Op::Cos
                | Op::Logistic) => {
                    stack[sp - 1] = apply1(op, stack[sp - 1]);
                }
                op => {
                    sp -= 1;
                    if !stack[sp - 1].is_finite() {
                        return f64::NAN;
                    }
                    stack[sp - 1] = apply2(op, stack[sp - 1], stack[sp]);
                }
            }
            pc += 1;
        }
        stack[0]
    }
}
