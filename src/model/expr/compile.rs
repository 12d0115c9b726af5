//! Syntax tree to checked, constant-folded bytecode.
//!
//! Names are resolved once here, so evaluation never looks anything up: it reads slots.

use std::ops::Range;

use super::ops::{self, Arity, Binary, Call, Unary};
use super::parse::{Expr, ExprKind};
use super::program::{Op, Program};
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

/// A type-checked tree with constants folded; emitted to bytecode in a second pass.
enum Typed {
    Const(f64),
    Load(u32),
    Unary(Unary, Box<Typed>),
    Binary(Binary, Box<Typed>, Box<Typed>),
    Clamp(Box<Typed>, Box<Typed>, Box<Typed>),
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
            Typed::Clamp(a, b, c) | Typed::If(a, b, c) => {
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
            Typed::Clamp(a, b, c) => Typed::Clamp(
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
        let program = emit_program(node, Type::Number);
        let index = match self.keys.iter().position(|k| k == program.ops()) {
            Some(i) => i,
            None => {
                self.keys.push(program.ops().to_vec());
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
    Ok(emit_program(&typed, ty))
}

fn emit_program(node: &Typed, ty: Type) -> Program {
    let mut ops = Vec::new();
    emit(node, &mut ops);
    Program::new(ops, ty)
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
                let (want, result) = op.types();
                if ty != want {
                    return Err(type_mismatch(want, ty, operand.range.clone()));
                }
                Ok((fold(Typed::Unary(*op, Box::new(inner)), range)?, result))
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
        op: Binary,
        a: &Expr,
        b: &Expr,
        range: Range<usize>,
    ) -> Result<(Typed, Type), ExprError> {
        let (ta, ty_a) = self.check(a)?;
        let (tb, ty_b) = self.check(b)?;
        let (operand, result) = op.types();
        match operand {
            // Equality works on two numbers or two conditions, not a mix.
            None if ty_a != ty_b => {
                return Err(ExprError::new(
                    "cannot compare a number with a condition",
                    range,
                ))
            }
            None => {}
            Some(operand) => {
                if ty_a != operand {
                    return Err(type_mismatch(operand, ty_a, a.range.clone()));
                }
                if ty_b != operand {
                    return Err(type_mismatch(operand, ty_b, b.range.clone()));
                }
            }
        }
        if op == Binary::Div && matches!(tb, Typed::Const(d) if d == 0.0) {
            return Err(ExprError::new("division by zero", b.range.clone())
                .with_hint("the divisor is always 0"));
        }
        Ok((
            fold(Typed::Binary(op, Box::new(ta), Box::new(tb)), range)?,
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
        let Some(function) = ops::function(name) else {
            let known: Vec<&str> = ops::FUNCTIONS.iter().map(|f| f.name).collect();
            let mut err = ExprError::new(format!("unknown function `{name}`"), name_range);
            err = match crate::diagnostic::suggest(name, known.iter().copied()) {
                Some(hint) => err.with_hint(hint),
                None => err.with_hint(format!("functions: {}", known.join(", "))),
            };
            return Err(err);
        };
        let wanted = match function.arity() {
            Arity::Exactly(n) if args.len() != n => Some(match n {
                1 => "1 argument".to_string(),
                n => format!("{n} arguments"),
            }),
            Arity::AtLeast(n) if args.len() < n => Some(format!("at least {n} arguments")),
            Arity::Exactly(_) | Arity::AtLeast(_) => None,
        };
        if let Some(wanted) = wanted {
            return Err(ExprError::new(
                format!("`{name}` takes {wanted}, got {}", args.len()),
                range,
            ));
        }
        let mut checked = Vec::with_capacity(args.len());
        for arg in args {
            checked.push(self.check(arg)?);
        }
        let node = match function.call {
            // The one function whose arguments are not all numbers.
            Call::If => return if_call(checked, args, range),
            Call::Fold(op) => {
                let mut operands = numbers(checked, args)?.into_iter();
                let Some(mut acc) = operands.next() else {
                    return Err(ExprError::new(format!("`{name}` has no argument"), range));
                };
                for operand in operands {
                    acc = fold(
                        Typed::Binary(op, Box::new(acc), Box::new(operand)),
                        range.clone(),
                    )?;
                }
                return Ok((acc, Type::Number));
            }
            Call::Clamp => {
                let [x, lo, hi] = arguments(numbers(checked, args)?, name, &range)?;
                Typed::Clamp(x, lo, hi)
            }
            Call::Binary(op) => {
                let [x, y] = arguments(numbers(checked, args)?, name, &range)?;
                Typed::Binary(op, x, y)
            }
            Call::Unary(op) => {
                let [x] = arguments(numbers(checked, args)?, name, &range)?;
                Typed::Unary(op, x)
            }
        };
        Ok((fold(node, range)?, Type::Number))
    }
}

/// `if(condition, then, otherwise)`, its arguments checked.
fn if_call(
    checked: Vec<(Typed, Type)>,
    args: &[Expr],
    range: Range<usize>,
) -> Result<(Typed, Type), ExprError> {
    let [(cond, cond_ty), (then, then_ty), (otherwise, else_ty)]: [(Typed, Type); 3] = checked
        .try_into()
        .map_err(|_| ExprError::new("`if` takes 3 arguments", range.clone()))?;
    if cond_ty != Type::Bool {
        return Err(type_mismatch(Type::Bool, cond_ty, args[0].range.clone()));
    }
    if then_ty != else_ty {
        return Err(
            ExprError::new("the two branches of `if` must have the same type", range)
                .with_hint("both numbers, or both conditions"),
        );
    }
    Ok((
        fold(
            Typed::If(Box::new(cond), Box::new(then), Box::new(otherwise)),
            range,
        )?,
        then_ty,
    ))
}

/// The arguments of a function of numbers, each checked to be one.
fn numbers(checked: Vec<(Typed, Type)>, args: &[Expr]) -> Result<Vec<Typed>, ExprError> {
    checked
        .into_iter()
        .zip(args)
        .map(|((typed, ty), arg)| match ty {
            Type::Number => Ok(typed),
            Type::Bool => Err(type_mismatch(Type::Number, ty, arg.range.clone())),
        })
        .collect()
}

/// Exactly `K` arguments (their count was checked against the table already).
fn arguments<const K: usize>(
    operands: Vec<Typed>,
    name: &str,
    range: &Range<usize>,
) -> Result<[Box<Typed>; K], ExprError> {
    let operands: Vec<Box<Typed>> = operands.into_iter().map(Box::new).collect();
    operands
        .try_into()
        .map_err(|_| ExprError::new(format!("`{name}` takes {K} arguments"), range.clone()))
}

/// Evaluates a node whose operands are all constants; a result that is not finite means the
/// expression can never produce a usable number, which is reported now rather than at run time.
fn fold(node: Typed, range: Range<usize>) -> Result<Typed, ExprError> {
    let value = match &node {
        Typed::Unary(op, a) => match **a {
            Typed::Const(x) => Some(op.eval(x)),
            _ => None,
        },
        Typed::Binary(op, a, b) => match (&**a, &**b) {
            (Typed::Const(x), Typed::Const(y)) => Some(op.eval(*x, *y)),
            _ => None,
        },
        Typed::Clamp(a, b, c) => match (&**a, &**b, &**c) {
            (Typed::Const(x), Typed::Const(lo), Typed::Const(hi)) => Some(ops::clamp(*x, *lo, *hi)),
            _ => None,
        },
        Typed::If(c, _, _) => {
            if let Typed::Const(c) = **c {
                let Typed::If(_, then, otherwise) = node else {
                    unreachable!("matched as If above")
                };
                return Ok(if ops::truth(c) { *then } else { *otherwise });
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

/// Bytecode in stack order; `if` becomes a select of both branches (see [`ops::select`]).
fn emit(node: &Typed, ops: &mut Vec<Op>) {
    match node {
        Typed::Const(v) => ops.push(Op::Const(*v)),
        Typed::Load(s) => ops.push(Op::Load(*s)),
        Typed::Unary(op, a) => {
            emit(a, ops);
            ops.push(Op::unary(*op));
        }
        Typed::Binary(op, a, b) => {
            if let Some(fused) = fuse_right(*op, b) {
                emit(a, ops);
                ops.push(fused);
            } else if let Some(fused) = fuse_left(*op, a) {
                emit(b, ops);
                ops.push(fused);
            } else {
                emit(a, ops);
                emit(b, ops);
                ops.push(Op::binary(*op));
            }
        }
        Typed::Clamp(a, b, c) => {
            emit(a, ops);
            emit(b, ops);
            emit(c, ops);
            ops.push(Op::Clamp);
        }
        Typed::If(c, then, otherwise) => {
            emit(c, ops);
            emit(then, ops);
            emit(otherwise, ops);
            ops.push(Op::Select);
        }
    }
}

/// `a OP b` as one op on `a`, when `b` is a constant or a slot.
fn fuse_right(op: Binary, b: &Typed) -> Option<Op> {
    match b {
        Typed::Const(c) => Op::with_constant_right(op, *c),
        Typed::Load(s) => Op::with_slot_right(op, *s),
        _ => None,
    }
}

/// `a OP b` as one op on `b`, when `a` is a constant or a slot and the order can be kept.
fn fuse_left(op: Binary, a: &Typed) -> Option<Op> {
    match a {
        Typed::Const(c) => Op::with_constant_left(op, *c),
        Typed::Load(s) => Op::with_slot_left(op, *s),
        _ => None,
    }
}
