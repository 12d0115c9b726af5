//! Text to syntax tree: a hand-written lexer and a precedence-climbing parser.
//!
//! Positions are byte ranges into the expression text, so errors can be mapped back to the
//! scenario file.

use std::ops::Range;

use super::ops::{Binary, Unary};
use super::ExprError;
use crate::names::{AND, FALSE, NOT, OR, TRUE};

#[derive(Debug, Clone, PartialEq)]
pub struct Expr {
    pub kind: ExprKind,
    pub range: Range<usize>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ExprKind {
    Number(f64),
    Bool(bool),
    /// A possibly dotted name: `nk_threat`, `seoul.anger`, `notice.renew`.
    Name(String),
    Unary(Unary, Box<Expr>),
    Binary(Binary, Box<Expr>, Box<Expr>),
    Call {
        name: String,
        name_range: Range<usize>,
        args: Vec<Expr>,
    },
}

impl Expr {
    /// Every name the expression reads, with its range, in order of appearance.
    pub fn names(&self) -> Vec<(&str, Range<usize>)> {
        let mut out = Vec::new();
        self.collect_names(&mut out);
        out
    }

    fn collect_names<'a>(&'a self, out: &mut Vec<(&'a str, Range<usize>)>) {
        match &self.kind {
            ExprKind::Name(n) => out.push((n, self.range.clone())),
            ExprKind::Unary(_, e) => e.collect_names(out),
            ExprKind::Binary(_, a, b) => {
                a.collect_names(out);
                b.collect_names(out);
            }
            ExprKind::Call { args, .. } => args.iter().for_each(|a| a.collect_names(out)),
            ExprKind::Number(_) | ExprKind::Bool(_) => {}
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Number(f64),
    Ident(String),
    Op(&'static str),
    LParen,
    RParen,
    Comma,
    End,
}

struct Lexer<'a> {
    text: &'a str,
    pos: usize,
}

impl Lexer<'_> {
    fn next_token(&mut self) -> Result<(Token, Range<usize>), ExprError> {
        let bytes = self.text.as_bytes();
        while self.pos < bytes.len() && bytes[self.pos].is_ascii_whitespace() {
            self.pos += 1;
        }
        let start = self.pos;
        let Some(&c) = bytes.get(start) else {
            return Ok((Token::End, start..start));
        };
        if c.is_ascii_digit() || (c == b'.' && bytes.get(start + 1).is_some_and(u8::is_ascii_digit))
        {
            return self.number(start);
        }
        if c.is_ascii_alphabetic() || c == b'_' {
            let mut end = start;
            while end < bytes.len()
                && (bytes[end].is_ascii_alphanumeric() || bytes[end] == b'_' || bytes[end] == b'.')
            {
                end += 1;
            }
            self.pos = end;
            return Ok((Token::Ident(self.text[start..end].to_string()), start..end));
        }
        let two = self.text.get(start..start + 2).unwrap_or("");
        let op2 = ["<=", ">=", "==", "!=", "&&", "||"]
            .into_iter()
            .find(|op| *op == two);
        if let Some(op) = op2 {
            self.pos += 2;
            return match op {
                "&&" | "||" => Err(ExprError::new(
                    format!("`{op}` is not an operator here"),
                    start..start + 2,
                )
                .with_hint(if op == "&&" {
                    "write `and`"
                } else {
                    "write `or`"
                })),
                _ => Ok((Token::Op(op), start..start + 2)),
            };
        }
        self.pos += 1;
        let token = match c {
            b'+' => Token::Op("+"),
            b'-' => Token::Op("-"),
            b'*' => Token::Op("*"),
            b'/' => Token::Op("/"),
            b'^' => Token::Op("^"),
            b'<' => Token::Op("<"),
            b'>' => Token::Op(">"),
            b'(' => Token::LParen,
            b')' => Token::RParen,
            b',' => Token::Comma,
            b'=' => {
                return Err(ExprError::new("`=` is not an operator", start..start + 1)
                    .with_hint("compare with `==`"))
            }
            b'!' => {
                return Err(ExprError::new("`!` is not an operator", start..start + 1)
                    .with_hint("write `not x`, or `!=` for inequality"))
            }
            _ => {
                let ch = self.text[start..].chars().next().unwrap_or('?');
                self.pos = start + ch.len_utf8();
                return Err(ExprError::new(
                    format!("unexpected character `{ch}`"),
                    start..self.pos,
                ));
            }
        };
        Ok((token, start..self.pos))
    }

    fn number(&mut self, start: usize) -> Result<(Token, Range<usize>), ExprError> {
        let bytes = self.text.as_bytes();
        let mut end = start;
        while end < bytes.len()
            && (bytes[end].is_ascii_digit() || bytes[end] == b'.' || bytes[end] == b'_')
        {
            end += 1;
        }
        if end < bytes.len() && (bytes[end] == b'e' || bytes[end] == b'E') {
            let mut exp_end = end + 1;
            if exp_end < bytes.len() && (bytes[exp_end] == b'+' || bytes[exp_end] == b'-') {
                exp_end += 1;
            }
            if exp_end < bytes.len() && bytes[exp_end].is_ascii_digit() {
                while exp_end < bytes.len() && bytes[exp_end].is_ascii_digit() {
                    exp_end += 1;
                }
                end = exp_end;
            }
        }
        self.pos = end;
        let text = self.text[start..end].replace('_', "");
        match text.parse::<f64>() {
            Ok(n) if n.is_finite() => Ok((Token::Number(n), start..end)),
            _ => Err(ExprError::new(
                format!("invalid number `{}`", &self.text[start..end]),
                start..end,
            )),
        }
    }
}

/// Parses an expression; `max_depth` bounds nesting so that hostile input cannot overflow the
/// stack.
pub fn parse(text: &str, max_depth: usize) -> Result<Expr, ExprError> {
    let mut parser = Parser {
        lexer: Lexer { text, pos: 0 },
        token: Token::End,
        range: 0..0,
        depth: 0,
        max_depth,
    };
    parser.advance()?;
    if parser.token == Token::End {
        return Err(ExprError::new("empty expression", 0..text.len())
            .with_hint("write a number, a name or a formula, e.g. \"0.5 * nk_threat\""));
    }
    let expr = parser.expression(0)?;
    if parser.token != Token::End {
        return Err(ExprError::new(
            format!("unexpected {}", describe(&parser.token)),
            parser.range.clone(),
        )
        .with_hint("an operator may be missing"));
    }
    Ok(expr)
}

struct Parser<'a> {
    lexer: Lexer<'a>,
    token: Token,
    range: Range<usize>,
    depth: usize,
    max_depth: usize,
}

fn describe(token: &Token) -> String {
    match token {
        Token::Number(n) => format!("number `{n}`"),
        Token::Ident(s) => format!("name `{s}`"),
        Token::Op(op) => format!("`{op}`"),
        Token::LParen => "`(`".into(),
        Token::RParen => "`)`".into(),
        Token::Comma => "`,`".into(),
        Token::End => "end of expression".into(),
    }
}

/// Binding power of infix operators: (left, right). Higher binds tighter.
fn infix(token: &Token) -> Option<(Binary, u8, u8)> {
    let op = match token {
        Token::Ident(s) => {
            Binary::from_symbol(s).filter(|op| matches!(op, Binary::Or | Binary::And))?
        }
        Token::Op(op) => Binary::from_symbol(op)?,
        _ => return None,
    };
    let (l, r) = match op {
        Binary::Or => (1, 2),
        Binary::And => (3, 4),
        // `not` sits at 5: `not a < b` is `not (a < b)`.
        Binary::Lt | Binary::Le | Binary::Gt | Binary::Ge | Binary::Eq | Binary::Ne => (7, 8),
        Binary::Add | Binary::Sub => (9, 10),
        Binary::Mul | Binary::Div => (11, 12),
        // Unary minus sits at 13, so `-x^2` is `-(x^2)`; `^` is right-associative.
        Binary::Pow => (16, 15),
        // Called as functions, never written between operands.
        Binary::Min | Binary::Max => return None,
    };
    Some((op, l, r))
}

const NOT_POWER: u8 = 5;
const NEG_POWER: u8 = 13;

impl Parser<'_> {
    fn advance(&mut self) -> Result<(), ExprError> {
        let (token, range) = self.lexer.next_token()?;
        self.token = token;
        self.range = range;
        Ok(())
    }

    fn expression(&mut self, min_power: u8) -> Result<Expr, ExprError> {
        self.depth += 1;
        if self.depth > self.max_depth {
            return Err(ExprError::new(
                format!("expression nested deeper than {} levels", self.max_depth),
                self.range.clone(),
            )
            .with_hint("split it into derived values"));
        }
        let mut lhs = self.prefix()?;
        let mut comparison_seen = false;
        while let Some((op, left, right)) = infix(&self.token) {
            if left < min_power {
                break;
            }
            let is_comparison = left == 7;
            if is_comparison && comparison_seen {
                return Err(
                    ExprError::new("comparisons cannot be chained", self.range.clone())
                        .with_hint("write `a < b and b < c`"),
                );
            }
            comparison_seen |= is_comparison;
            self.advance()?;
            let rhs = self.expression(right)?;
            let range = lhs.range.start..rhs.range.end;
            lhs = Expr {
                kind: ExprKind::Binary(op, Box::new(lhs), Box::new(rhs)),
                range,
            };
        }
        self.depth -= 1;
        Ok(lhs)
    }

    fn prefix(&mut self) -> Result<Expr, ExprError> {
        let range = self.range.clone();
        match self.token.clone() {
            Token::Number(n) => {
                self.advance()?;
                Ok(Expr {
                    kind: ExprKind::Number(n),
                    range,
                })
            }
            Token::Op("-") => {
                self.advance()?;
                let operand = self.expression(NEG_POWER)?;
                let range = range.start..operand.range.end;
                Ok(Expr {
                    kind: ExprKind::Unary(Unary::Neg, Box::new(operand)),
                    range,
                })
            }
            Token::Op("+") => {
                self.advance()?;
                self.expression(NEG_POWER)
            }
            Token::LParen => {
                self.advance()?;
                let inner = self.expression(0)?;
                if self.token != Token::RParen {
                    return Err(ExprError::new(
                        format!("expected `)`, found {}", describe(&self.token)),
                        self.range.clone(),
                    )
                    .with_hint(format!(
                        "the `(` at position {} is not closed",
                        range.start + 1
                    )));
                }
                let end = self.range.end;
                self.advance()?;
                Ok(Expr {
                    kind: inner.kind,
                    range: range.start..end,
                })
            }
            Token::Ident(name) => {
                self.advance()?;
                match name.as_str() {
                    TRUE | FALSE => Ok(Expr {
                        kind: ExprKind::Bool(name == TRUE),
                        range,
                    }),
                    NOT => {
                        let operand = self.expression(NOT_POWER)?;
                        let range = range.start..operand.range.end;
                        Ok(Expr {
                            kind: ExprKind::Unary(Unary::Not, Box::new(operand)),
                            range,
                        })
                    }
                    AND | OR => Err(ExprError::new(
                        format!("`{name}` needs an operand on its left"),
                        range,
                    )),
                    _ if self.token == Token::LParen => self.call(name, range),
                    _ => {
                        if name.ends_with('.') || name.contains("..") || name.starts_with('.') {
                            return Err(ExprError::new(format!("invalid name `{name}`"), range));
                        }
                        Ok(Expr {
                            kind: ExprKind::Name(name),
                            range,
                        })
                    }
                }
            }
            other => Err(ExprError::new(
                format!("expected a value, found {}", describe(&other)),
                range,
            )),
        }
    }

    fn call(&mut self, name: String, name_range: Range<usize>) -> Result<Expr, ExprError> {
        self.advance()?; // `(`
        let mut args = Vec::new();
        if self.token != Token::RParen {
            loop {
                args.push(self.expression(0)?);
                match self.token {
                    Token::Comma => self.advance()?,
                    Token::RParen => break,
                    _ => {
                        return Err(ExprError::new(
                            format!(
                                "expected `,` or `)` in the arguments of `{name}`, found {}",
                                describe(&self.token)
                            ),
                            self.range.clone(),
                        ))
                    }
                }
            }
        }
        let end = self.range.end;
        self.advance()?;
        Ok(Expr {
            kind: ExprKind::Call {
                name,
                name_range: name_range.clone(),
                args,
            },
            range: name_range.start..end,
        })
    }
}
