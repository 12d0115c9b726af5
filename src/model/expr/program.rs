//! Compiled expressions and their one interpreter, generic over the number of runs it
//! evaluates at once.
//!
//! An interpreter pays for dispatch on every op; on the small programs of a scenario that is
//! most of the cost. Running the same op on `N` runs' values amortises the dispatch and lets
//! the arithmetic vectorise; `N = 1` is one run. Each lane does exactly the same arithmetic
//! (the definitions in [`super::ops`]), in the same order, so a run's result does not depend
//! on `N` or on its neighbours, bit for bit.

// Lane loops index several arrays by the same lane; `for l in 0..N` says so plainly.
#![allow(clippy::needless_range_loop)]

use super::ops::{clamp, select, Binary, Unary};
use super::Type;

/// One bytecode instruction. `if` is a [`Op::Select`] of both branches (see
/// [`super::ops::select`]), so a program has no jumps and runs straight through.
///
/// The variants are flat (`Op::Exp`, not `Op::Unary(Unary::Exp)`) so that the interpreter
/// dispatches once per op; each arm then calls the table's one definition of the arithmetic.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Op {
    Const(f64),
    Load(u32),
    Neg,
    Not,
    Abs,
    Exp,
    Ln,
    Sqrt,
    Sin,
    Cos,
    Logistic,
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
    /// Pops `hi`, `lo`, `x`; pushes `clamp(x, lo, hi)`.
    Clamp,
    /// Pops `otherwise`, `then`, `condition`; pushes one of the two.
    Select,
    // Fused forms: the other operand is a constant or a slot, so it never touches the stack.
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

impl Op {
    pub fn unary(op: Unary) -> Op {
        match op {
            Unary::Neg => Op::Neg,
            Unary::Not => Op::Not,
            Unary::Abs => Op::Abs,
            Unary::Exp => Op::Exp,
            Unary::Ln => Op::Ln,
            Unary::Sqrt => Op::Sqrt,
            Unary::Sin => Op::Sin,
            Unary::Cos => Op::Cos,
            Unary::Logistic => Op::Logistic,
        }
    }

    pub fn binary(op: Binary) -> Op {
        match op {
            Binary::Or => Op::Or,
            Binary::And => Op::And,
            Binary::Lt => Op::Lt,
            Binary::Le => Op::Le,
            Binary::Gt => Op::Gt,
            Binary::Ge => Op::Ge,
            Binary::Eq => Op::Eq,
            Binary::Ne => Op::Ne,
            Binary::Add => Op::Add,
            Binary::Sub => Op::Sub,
            Binary::Mul => Op::Mul,
            Binary::Div => Op::Div,
            Binary::Pow => Op::Pow,
            Binary::Min => Op::Min,
            Binary::Max => Op::Max,
        }
    }

    /// `x OP c` as one op on `x`, for the operations that have such a form.
    pub fn with_constant_right(op: Binary, c: f64) -> Option<Op> {
        Some(match op {
            Binary::Add => Op::AddC(c),
            Binary::Sub => Op::SubC(c),
            Binary::Mul => Op::MulC(c),
            Binary::Div => Op::DivC(c),
            Binary::Pow => Op::PowC(c),
            Binary::Lt => Op::LtC(c),
            Binary::Le => Op::LeC(c),
            Binary::Gt => Op::GtC(c),
            Binary::Ge => Op::GeC(c),
            Binary::Or | Binary::And | Binary::Eq | Binary::Ne | Binary::Min | Binary::Max => {
                return None
            }
        })
    }

    /// `c OP x` as one op on `x`. IEEE addition and multiplication are commutative, so
    /// `c + x` may be `x + c` bit for bit.
    pub fn with_constant_left(op: Binary, c: f64) -> Option<Op> {
        Some(match op {
            Binary::Add => Op::AddC(c),
            Binary::Mul => Op::MulC(c),
            Binary::Sub => Op::RSubC(c),
            Binary::Div => Op::RDivC(c),
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
            | Binary::Max => return None,
        })
    }

    /// `x OP slot` as one op on `x`.
    pub fn with_slot_right(op: Binary, slot: u32) -> Option<Op> {
        Some(match op {
            Binary::Add => Op::AddL(slot),
            Binary::Sub => Op::SubL(slot),
            Binary::Mul => Op::MulL(slot),
            Binary::Div => Op::DivL(slot),
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
            | Binary::Max => return None,
        })
    }

    /// `slot OP x` as one op on `x` (commutative operations only, see
    /// [`Op::with_constant_left`]).
    pub fn with_slot_left(op: Binary, slot: u32) -> Option<Op> {
        match op {
            Binary::Add | Binary::Mul => Op::with_slot_right(op, slot),
            Binary::Or
            | Binary::And
            | Binary::Lt
            | Binary::Le
            | Binary::Gt
            | Binary::Ge
            | Binary::Eq
            | Binary::Ne
            | Binary::Sub
            | Binary::Div
            | Binary::Pow
            | Binary::Min
            | Binary::Max => None,
        }
    }

    /// How many values the op leaves on the stack minus how many it takes.
    fn stack_effect(self) -> isize {
        match self {
            Op::Const(_) | Op::Load(_) => 1,
            Op::Neg
            | Op::Not
            | Op::Abs
            | Op::Exp
            | Op::Ln
            | Op::Sqrt
            | Op::Sin
            | Op::Cos
            | Op::Logistic
            | Op::AddC(_)
            | Op::SubC(_)
            | Op::MulC(_)
            | Op::DivC(_)
            | Op::RSubC(_)
            | Op::RDivC(_)
            | Op::PowC(_)
            | Op::LtC(_)
            | Op::LeC(_)
            | Op::GtC(_)
            | Op::GeC(_)
            | Op::AddL(_)
            | Op::SubL(_)
            | Op::MulL(_)
            | Op::DivL(_) => 0,
            Op::Or
            | Op::And
            | Op::Lt
            | Op::Le
            | Op::Gt
            | Op::Ge
            | Op::Eq
            | Op::Ne
            | Op::Add
            | Op::Sub
            | Op::Mul
            | Op::Div
            | Op::Pow
            | Op::Min
            | Op::Max => -1,
            Op::Clamp | Op::Select => -2,
        }
    }
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

impl Program {
    /// The slots the program reads, for questions of what depends on what.
    pub fn slots_read(&self) -> impl Iterator<Item = u32> + '_ {
        self.ops.iter().filter_map(|op| match *op {
            Op::Load(s) | Op::AddL(s) | Op::SubL(s) | Op::MulL(s) | Op::DivL(s) => Some(s),
            _ => None,
        })
    }

    /// The program of `ops`, which the compiler emitted in stack order.
    pub(super) fn new(ops: Vec<Op>, ty: Type) -> Program {
        let mut depth = 0isize;
        let mut max_stack = 1isize;
        for op in &ops {
            depth += op.stack_effect();
            max_stack = max_stack.max(depth);
        }
        debug_assert_eq!(depth, 1, "a program leaves exactly its value: {ops:?}");
        Program {
            ops,
            max_stack: max_stack as usize,
            ty,
            location: String::new(),
        }
    }

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

    /// How many ops the interpreter dispatches for one evaluation (a constant or a plain read
    /// dispatches none: [`Program::eval`] answers those inline).
    pub fn dispatched_ops(&self) -> usize {
        match self.ops.as_slice() {
            [Op::Const(_)] | [Op::Load(_)] => 0,
            ops => ops.len(),
        }
    }

    /// How many of those call into the maths library (`exp`, `ln`, `pow`, `sin`, `cos`,
    /// `logistic`), each tens of instructions a value rather than one.
    pub fn library_calls(&self) -> usize {
        self.ops
            .iter()
            .filter(|op| {
                matches!(
                    op,
                    Op::Exp | Op::Ln | Op::Pow | Op::PowC(_) | Op::Sin | Op::Cos | Op::Logistic
                )
            })
            .count()
    }

    /// Scratch space [`Program::eval`] needs, in values per lane.
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

    /// The slot, when the expression only reads one.
    pub fn as_load(&self) -> Option<u32> {
        match self.ops.as_slice() {
            [Op::Load(s)] => Some(*s),
            _ => None,
        }
    }

    /// Evaluates `N` runs at once against a state of one `[f64; N]` per slot. `stack` is
    /// scratch of at least [`Program::stack_size`] entries, passed in so evaluation never
    /// allocates.
    ///
    /// A lane's result is not finite when any value its evaluation met was not finite, even
    /// one that a later op would have hidden (`min(1, sqrt(-1))` is NaN, not 1): such a value
    /// is always a mistake in the model, and the caller's one check of the result must see it
    /// (see [`super::ops`]).
    #[inline(always)]
    pub fn eval<const N: usize>(&self, slots: &[[f64; N]], stack: &mut [[f64; N]]) -> [f64; N] {
        // Constants and plain reads are the commonest programs: no call for them.
        match self.ops.as_slice() {
            [Op::Const(v)] => [*v; N],
            [Op::Load(s)] => slots[*s as usize],
            _ => self.run(slots, stack),
        }
    }

    /// [`Program::eval`] for a caller compiled for AVX2, which knows the CPU has it: no
    /// check of the CPU and one call fewer per program.
    ///
    /// # Safety
    /// The CPU must have AVX2.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    #[inline]
    pub unsafe fn eval_avx2<const N: usize>(
        &self,
        slots: &[[f64; N]],
        stack: &mut [[f64; N]],
    ) -> [f64; N] {
        match self.ops.as_slice() {
            [Op::Const(v)] => [*v; N],
            [Op::Load(s)] => slots[*s as usize],
            _ => self.run_avx2(slots, stack),
        }
    }

    /// [`Program::eval`] of one run, for tests and tools (it allocates).
    pub fn eval_one(&self, slots: &[f64]) -> f64 {
        let slots: Vec<[f64; 1]> = slots.iter().map(|&v| [v]).collect();
        let mut stack = vec![[0.0]; self.max_stack];
        self.eval(&slots, &mut stack)[0]
    }

    #[inline(never)]
    fn run<const N: usize>(&self, slots: &[[f64; N]], stack: &mut [[f64; N]]) -> [f64; N] {
        #[cfg(target_arch = "x86_64")]
        if crate::simd::avx2() {
            // SAFETY: `avx2()` is true only when the CPU has AVX2.
            return unsafe { self.run_avx2(slots, stack) };
        }
        self.interpret(slots, stack)
    }

    /// [`Program::interpret`] compiled for AVX2: four lanes per instruction instead of two.
    /// The same IEEE operations (Rust never fuses a multiply and an add on its own), so the
    /// same bits.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    #[inline(never)]
    fn run_avx2<const N: usize>(&self, slots: &[[f64; N]], stack: &mut [[f64; N]]) -> [f64; N] {
        self.interpret(slots, stack)
    }

    #[inline(always)]
    fn interpret<const N: usize>(&self, slots: &[[f64; N]], stack: &mut [[f64; N]]) -> [f64; N] {
        // The top of the stack is kept apart, in a local the compiler holds in registers: most
        // ops then read and write no memory but the operand they load. `stack[..sp]` holds
        // the values below it (the first push stores the empty top, never read).
        let mut top = [0.0; N];
        let mut sp = 0usize;
        for &op in &self.ops {
            match op {
                Op::Const(v) => {
                    stack[sp] = top;
                    sp += 1;
                    top = [v; N];
                }
                Op::Load(s) => {
                    stack[sp] = top;
                    sp += 1;
                    top = slots[s as usize];
                }
                Op::Neg => unary(&mut top, |x| Unary::Neg.eval(x)),
                Op::Not => unary(&mut top, |x| Unary::Not.eval(x)),
                Op::Abs => unary(&mut top, |x| Unary::Abs.eval(x)),
                Op::Exp => unary(&mut top, |x| Unary::Exp.eval(x)),
                Op::Ln => unary(&mut top, |x| Unary::Ln.eval(x)),
                Op::Sqrt => unary(&mut top, |x| Unary::Sqrt.eval(x)),
                Op::Sin => unary(&mut top, |x| Unary::Sin.eval(x)),
                Op::Cos => unary(&mut top, |x| Unary::Cos.eval(x)),
                Op::Logistic => unary(&mut top, |x| Unary::Logistic.eval(x)),
                Op::Or => sp = binary(&mut top, stack, sp, |x, y| Binary::Or.eval(x, y)),
                Op::And => sp = binary(&mut top, stack, sp, |x, y| Binary::And.eval(x, y)),
                Op::Lt => sp = binary(&mut top, stack, sp, |x, y| Binary::Lt.eval(x, y)),
                Op::Le => sp = binary(&mut top, stack, sp, |x, y| Binary::Le.eval(x, y)),
                Op::Gt => sp = binary(&mut top, stack, sp, |x, y| Binary::Gt.eval(x, y)),
                Op::Ge => sp = binary(&mut top, stack, sp, |x, y| Binary::Ge.eval(x, y)),
                Op::Eq => sp = binary(&mut top, stack, sp, |x, y| Binary::Eq.eval(x, y)),
                Op::Ne => sp = binary(&mut top, stack, sp, |x, y| Binary::Ne.eval(x, y)),
                Op::Add => sp = binary(&mut top, stack, sp, |x, y| Binary::Add.eval(x, y)),
                Op::Sub => sp = binary(&mut top, stack, sp, |x, y| Binary::Sub.eval(x, y)),
                Op::Mul => sp = binary(&mut top, stack, sp, |x, y| Binary::Mul.eval(x, y)),
                Op::Div => sp = binary(&mut top, stack, sp, |x, y| Binary::Div.eval(x, y)),
                Op::Pow => sp = binary(&mut top, stack, sp, |x, y| Binary::Pow.eval(x, y)),
                Op::Min => sp = binary(&mut top, stack, sp, |x, y| Binary::Min.eval(x, y)),
                Op::Max => sp = binary(&mut top, stack, sp, |x, y| Binary::Max.eval(x, y)),
                Op::Clamp => sp = ternary(&mut top, stack, sp, clamp),
                Op::Select => sp = ternary(&mut top, stack, sp, select),
                Op::AddC(c) => unary(&mut top, |x| Binary::Add.eval_finite_right(x, c)),
                Op::SubC(c) => unary(&mut top, |x| Binary::Sub.eval_finite_right(x, c)),
                Op::MulC(c) => unary(&mut top, |x| Binary::Mul.eval_finite_right(x, c)),
                Op::DivC(c) => unary(&mut top, |x| Binary::Div.eval_finite_right(x, c)),
                Op::PowC(c) => unary(&mut top, |x| Binary::Pow.eval_finite_right(x, c)),
                Op::LtC(c) => unary(&mut top, |x| Binary::Lt.eval_finite_right(x, c)),
                Op::LeC(c) => unary(&mut top, |x| Binary::Le.eval_finite_right(x, c)),
                Op::GtC(c) => unary(&mut top, |x| Binary::Gt.eval_finite_right(x, c)),
                Op::GeC(c) => unary(&mut top, |x| Binary::Ge.eval_finite_right(x, c)),
                Op::RSubC(c) => unary(&mut top, |x| Binary::Sub.eval_finite_left(c, x)),
                Op::RDivC(c) => unary(&mut top, |x| Binary::Div.eval_finite_left(c, x)),
                Op::AddL(s) => {
                    with_slot(&mut top, &slots[s as usize], |x, y| Binary::Add.eval(x, y))
                }
                Op::SubL(s) => {
                    with_slot(&mut top, &slots[s as usize], |x, y| Binary::Sub.eval(x, y))
                }
                Op::MulL(s) => {
                    with_slot(&mut top, &slots[s as usize], |x, y| Binary::Mul.eval(x, y))
                }
                Op::DivL(s) => {
                    with_slot(&mut top, &slots[s as usize], |x, y| Binary::Div.eval(x, y))
                }
            }
        }
        top
    }
}

#[inline(always)]
fn unary<const N: usize>(x: &mut [f64; N], f: impl Fn(f64) -> f64) {
    for v in x.iter_mut() {
        *v = f(*v);
    }
}

#[inline(always)]
fn with_slot<const N: usize>(x: &mut [f64; N], y: &[f64; N], f: impl Fn(f64, f64) -> f64) {
    for l in 0..N {
        x[l] = f(x[l], y[l]);
    }
}

/// Pops the value below the top: `top = f(below, top)`; returns the new stack pointer.
#[inline(always)]
fn binary<const N: usize>(
    top: &mut [f64; N],
    stack: &[[f64; N]],
    sp: usize,
    f: impl Fn(f64, f64) -> f64,
) -> usize {
    let sp = sp - 1;
    let x = &stack[sp];
    for l in 0..N {
        top[l] = f(x[l], top[l]);
    }
    sp
}

/// Pops the two values below the top: `top = f(second below, below, top)`; returns the new
/// stack pointer.
#[inline(always)]
fn ternary<const N: usize>(
    top: &mut [f64; N],
    stack: &[[f64; N]],
    sp: usize,
    f: impl Fn(f64, f64, f64) -> f64,
) -> usize {
    let sp = sp - 2;
    let (x, y) = (&stack[sp], &stack[sp + 1]);
    for l in 0..N {
        top[l] = f(x[l], y[l], top[l]);
    }
    sp
}
