//! Programs that evaluate [`LANES`] runs at once.
//!
//! An interpreter pays for dispatch on every op; on the small programs of a scenario that is
//! most of the cost. Running the same op on several runs' values amortises the dispatch and
//! lets the arithmetic vectorise. Each lane does exactly the scalar program's arithmetic, in
//! the same order, so a lane's result equals [`Program::eval`] on that run bit for bit.

// Lane loops index several arrays by the same lane; `for l in 0..LANES` says so plainly.
#![allow(clippy::needless_range_loop)]

use super::compile::{clamp, truth, Op, Program};

/// Runs evaluated together.
pub const LANES: usize = 16;

/// One value per lane.
pub type Lanes = [f64; LANES];

/// A [`Program`] rewritten for lanes: `if` becomes a select, since lanes may take different
/// branches and evaluating a branch has no side effect.
#[derive(Debug, Clone, PartialEq)]
pub struct LaneProgram {
    ops: Vec<Op>,
    max_stack: usize,
}

impl LaneProgram {
    pub fn new(program: &Program) -> LaneProgram {
        let scalar = program.ops();
        let mut ops = Vec::with_capacity(scalar.len());
        rewrite(scalar, 0..scalar.len(), &mut ops);
        let mut depth = 0usize;
        let mut max_stack = 1;
        for op in &ops {
            match op {
                Op::Const(_) | Op::Load(_) => depth += 1,
                Op::Clamp | Op::Select => depth = depth.saturating_sub(2),
                op if is_binary(*op) => depth = depth.saturating_sub(1),
                _ => {}
            }
            max_stack = max_stack.max(depth);
        }
        LaneProgram { ops, max_stack }
    }

    /// Scratch space [`LaneProgram::eval`] needs.
    pub fn stack_size(&self) -> usize {
        self.max_stack
    }

    /// The slot, when the expression only reads one.
    pub fn as_load(&self) -> Option<u32> {
        match self.ops.as_slice() {
            [Op::Load(s)] => Some(*s),
            _ => None,
        }
    }

    /// Evaluates every lane against a state vector of one [`Lanes`] per slot.
    #[inline(always)]
    pub fn eval(&self, slots: &[Lanes], stack: &mut [Lanes]) -> Lanes {
        // Constants and plain reads are the commonest programs: no call for them.
        match self.ops.as_slice() {
            [Op::Const(v)] => [*v; LANES],
            [Op::Load(s)] => slots[*s as usize],
            _ => self.run(slots, stack),
        }
    }

    #[inline(never)]
    fn run(&self, slots: &[Lanes], stack: &mut [Lanes]) -> Lanes {
        #[cfg(target_arch = "x86_64")]
        if crate::simd::avx2() {
            // SAFETY: `avx2()` is true only when the CPU has AVX2.
            return unsafe { self.run_avx2(slots, stack) };
        }
        self.interpret(slots, stack)
    }

    /// [`LaneProgram::interpret`] compiled for AVX2: four lanes per instruction instead of two.
    /// The same IEEE operations (Rust never fuses a multiply and an add on its own), so the
    /// same bits.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    fn run_avx2(&self, slots: &[Lanes], stack: &mut [Lanes]) -> Lanes {
        self.interpret(slots, stack)
    }

    #[inline(always)]
    fn interpret(&self, slots: &[Lanes], stack: &mut [Lanes]) -> Lanes {
        let mut sp = 0usize;
        for &op in &self.ops {
            match op {
                Op::Const(v) => {
                    stack[sp] = [v; LANES];
                    sp += 1;
                }
                Op::Load(s) => {
                    stack[sp] = slots[s as usize];
                    sp += 1;
                }
                Op::AddC(c) => unary(&mut stack[sp - 1], |x| x + c),
                Op::SubC(c) => unary(&mut stack[sp - 1], |x| x - c),
                Op::MulC(c) => unary(&mut stack[sp - 1], |x| x * c),
                Op::DivC(c) => unary(&mut stack[sp - 1], |x| x / c),
                Op::RSubC(c) => unary(&mut stack[sp - 1], |x| c - x),
                Op::RDivC(c) => unary(&mut stack[sp - 1], |x| keep1(c / x, x)),
                Op::PowC(c) => unary(&mut stack[sp - 1], |x| keep1(x.powf(c), x)),
                Op::LtC(c) => unary(&mut stack[sp - 1], |x| keep1(bool_value(x < c), x)),
                Op::LeC(c) => unary(&mut stack[sp - 1], |x| keep1(bool_value(x <= c), x)),
                Op::GtC(c) => unary(&mut stack[sp - 1], |x| keep1(bool_value(x > c), x)),
                Op::GeC(c) => unary(&mut stack[sp - 1], |x| keep1(bool_value(x >= c), x)),
                Op::AddL(s) => with_slot(&mut stack[sp - 1], &slots[s as usize], |x, y| x + y),
                Op::SubL(s) => with_slot(&mut stack[sp - 1], &slots[s as usize], |x, y| x - y),
                Op::MulL(s) => with_slot(&mut stack[sp - 1], &slots[s as usize], |x, y| x * y),
                Op::DivL(s) => with_slot(&mut stack[sp - 1], &slots[s as usize], |x, y| {
                    keep1(x / y, y)
                }),
                Op::Neg => unary(&mut stack[sp - 1], |x| -x),
                Op::Not => unary(&mut stack[sp - 1], |x| keep1(bool_value(!truth(x)), x)),
                Op::Abs => unary(&mut stack[sp - 1], f64::abs),
                Op::Exp => unary(&mut stack[sp - 1], |x| keep1(x.exp(), x)),
                Op::Ln => unary(&mut stack[sp - 1], f64::ln),
                Op::Sqrt => unary(&mut stack[sp - 1], f64::sqrt),
                Op::Sin => unary(&mut stack[sp - 1], f64::sin),
                Op::Cos => unary(&mut stack[sp - 1], f64::cos),
                Op::Logistic => unary(&mut stack[sp - 1], |x| keep1(1.0 / (1.0 + (-x).exp()), x)),
                Op::Add => sp = binary(stack, sp, |x, y| x + y),
                Op::Sub => sp = binary(stack, sp, |x, y| x - y),
                Op::Mul => sp = binary(stack, sp, |x, y| x * y),
                Op::Div => sp = binary(stack, sp, |x, y| keep1(x / y, y)),
                Op::Pow => sp = binary(stack, sp, |x, y| keep2(x.powf(y), x, y)),
                Op::Lt => sp = binary(stack, sp, |x, y| keep2(bool_value(x < y), x, y)),
                Op::Le => sp = binary(stack, sp, |x, y| keep2(bool_value(x <= y), x, y)),
                Op::Gt => sp = binary(stack, sp, |x, y| keep2(bool_value(x > y), x, y)),
                Op::Ge => sp = binary(stack, sp, |x, y| keep2(bool_value(x >= y), x, y)),
                Op::Eq => sp = binary(stack, sp, |x, y| keep2(bool_value(x == y), x, y)),
                Op::Ne => sp = binary(stack, sp, |x, y| keep2(bool_value(x != y), x, y)),
                Op::And => {
                    sp = binary(stack, sp, |x, y| {
                        keep2(bool_value(truth(x) && truth(y)), x, y)
                    })
                }
                Op::Or => {
                    sp = binary(stack, sp, |x, y| {
                        keep2(bool_value(truth(x) || truth(y)), x, y)
                    })
                }
                Op::Min => sp = binary(stack, sp, |x, y| keep2(x.min(y), x, y)),
                Op::Max => sp = binary(stack, sp, |x, y| keep2(x.max(y), x, y)),
                Op::Clamp => {
                    sp -= 2;
                    let (low, high) = stack.split_at_mut(sp);
                    let x = &mut low[sp - 1];
                    for l in 0..LANES {
                        let (lo, hi) = (high[0][l], high[1][l]);
                        x[l] = keep1(keep2(clamp(x[l], lo, hi), lo, hi), x[l]);
                    }
                }
                Op::Select => {
                    sp -= 2;
                    let (low, high) = stack.split_at_mut(sp);
                    let x = &mut low[sp - 1];
                    for l in 0..LANES {
                        let chosen = if truth(x[l]) { high[0][l] } else { high[1][l] };
                        x[l] = keep1(chosen, x[l]);
                    }
                }
                // Rewritten into selects by `rewrite`.
                Op::JumpIfFalse(_) | Op::Jump(_) => {}
            }
        }
        stack[0]
    }
}

/// `value`, or NaN when `operand` is not finite.
///
/// Some ops hide a value that is not finite (`min(1, NaN)` is 1, `NaN > 0` is false, `1 / inf`
/// is 0); the scalar evaluator then returns NaN, and so must the lane. `operand - operand` is
/// +0.0 for a finite operand and NaN otherwise, and `value - 0.0` is `value` bit for bit
/// (-0.0 included), so valid values are untouched, without a branch. Ops that pass a
/// non-finite operand on anyway (`+`, `*`, `sqrt`...) need no such care; a branch `if` does
/// not take is dropped by `Select` with whatever it held, as the scalar evaluator never
/// computes it.
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

#[inline(always)]
fn bool_value(b: bool) -> f64 {
    f64::from(u8::from(b))
}

#[inline(always)]
fn unary(x: &mut Lanes, f: impl Fn(f64) -> f64) {
    for v in x.iter_mut() {
        *v = f(*v);
    }
}

#[inline(always)]
fn with_slot(x: &mut Lanes, y: &Lanes, f: impl Fn(f64, f64) -> f64) {
    for l in 0..LANES {
        x[l] = f(x[l], y[l]);
    }
}

/// Pops the top value into the one below it; returns the new stack pointer.
#[inline(always)]
fn binary(stack: &mut [Lanes], sp: usize, f: impl Fn(f64, f64) -> f64) -> usize {
    let sp = sp - 1;
    let (low, high) = stack.split_at_mut(sp);
    with_slot(&mut low[sp - 1], &high[0], f);
    sp
}

fn is_binary(op: Op) -> bool {
    matches!(
        op,
        Op::Add
            | Op::Sub
            | Op::Mul
            | Op::Div
            | Op::Pow
            | Op::Lt
            | Op::Le
            | Op::Gt
            | Op::Ge
            | Op::Eq
            | Op::Ne
            | Op::And
            | Op::Or
            | Op::Min
            | Op::Max
    )
}

/// Copies `ops[range]`, turning each `cond JumpIfFalse(else) then Jump(end) otherwise` (the only
/// shape the compiler emits for `if`) into `cond then otherwise Select`.
fn rewrite(ops: &[Op], range: std::ops::Range<usize>, out: &mut Vec<Op>) {
    let mut pc = range.start;
    while pc < range.end {
        match ops[pc] {
            Op::JumpIfFalse(otherwise) => {
                let otherwise = otherwise as usize;
                let end = match ops.get(otherwise.wrapping_sub(1)) {
                    Some(Op::Jump(end)) => *end as usize,
                    _ => otherwise,
                };
                rewrite(ops, pc + 1..otherwise - 1, out);
                rewrite(ops, otherwise..end, out);
                out.push(Op::Select);
                pc = end;
            }
            op => {
                out.push(op);
                pc += 1;
            }
        }
    }
}
