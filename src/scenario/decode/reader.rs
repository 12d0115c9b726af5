//! Reading typed values out of the TOML tree: [`Reader`] takes the keys of one table and
//! reports what is missing, mistyped or unknown; the free functions read single values.
//!
//! Every reader pushes its own diagnostic and returns `None`, so that a decoder can carry on
//! and report the other mistakes of the same file.

use super::{Errors, LIMITS};
use crate::diagnostic::{suggest, Diagnostic, Span};
use crate::scenario::tree::{Entry, Kind, Table, Value};
use crate::scenario::{ExprSource, Ident};

pub(super) fn as_table<'a>(
    value: &'a Value,
    what: &str,
    errors: &mut Errors,
) -> Option<(&'a Table, Span)> {
    match &value.kind {
        Kind::Table(t) => Some((t, value.span)),
        _ => {
            errors.push(Diagnostic::new(
                format!("{what} must be a table, found {}", value.type_name()),
                value.span,
            ));
            None
        }
    }
}

/// An expression written as a string, or a plain number or boolean standing for itself.
pub(super) fn expression(value: &Value, errors: &mut Errors) -> Option<ExprSource> {
    let (text, text_offset) = match &value.kind {
        Kind::String(s) => (s.clone(), None),
        Kind::Integer(n) => (n.to_string(), Some(0)),
        Kind::Float(f) if f.is_finite() => (format!("{f:?}"), Some(0)),
        Kind::Bool(b) => (b.to_string(), Some(0)),
        Kind::Float(f) => {
            errors.push(
                Diagnostic::new(
                    format!("expected a finite number or an expression, found {f}"),
                    value.span,
                )
                .with_hint("nan and inf are not values a scenario can use"),
            );
            return None;
        }
        _ => {
            errors.push(Diagnostic::new(
                format!(
                    "expected an expression (a string like \"0.5 * nk_threat\") or a number, found {}",
                    value.type_name()
                ),
                value.span,
            ));
            return None;
        }
    };
    if text.chars().count() > LIMITS.expression_chars {
        errors.push(Diagnostic::new(
            format!(
                "expression is {} characters long; the limit is {}",
                text.chars().count(),
                LIMITS.expression_chars
            ),
            value.span,
        ));
        return None;
    }
    let text_offset = text_offset.or_else(|| raw_string_offset(&text, value));
    Some(ExprSource {
        text,
        span: value.span,
        text_offset,
    })
}

/// Where the decoded string starts inside its TOML literal, if the literal holds it verbatim.
fn raw_string_offset(text: &str, value: &Value) -> Option<u32> {
    // Spans are into the file text, which the caller no longer has; the literal's length tells
    // whether it is a simple quoted string (`"..."` or `'...'`) with no escapes.
    let literal_len = (value.span.end - value.span.start) as usize;
    if literal_len == text.len() + 2 && !text.contains('\\') {
        Some(1)
    } else if literal_len == text.len() + 6 {
        Some(3)
    } else {
        None
    }
}

/// Reads typed keys out of one table and reports unknown keys once done.
pub(super) struct Reader<'t, 'e> {
    pub(super) table: &'t Table,
    span: Span,
    what: &'static str,
    pub(super) errors: &'e mut Errors,
    pub(super) taken: Vec<&'t str>,
}

impl<'t, 'e> Reader<'t, 'e> {
    pub(super) fn new(
        table: &'t Table,
        span: Span,
        what: &'static str,
        errors: &'e mut Errors,
    ) -> Reader<'t, 'e> {
        Reader {
            table,
            span,
            what,
            errors,
            taken: Vec::new(),
        }
    }

    pub(super) fn take(&mut self, key: &'t str) -> Option<&'t Entry> {
        self.taken.push(key);
        self.table.entries.get(key)
    }

    fn missing(&mut self, key: &str) {
        self.errors.push(Diagnostic::new(
            format!("missing key `{key}` in {}", self.what),
            self.span,
        ));
    }

    pub(super) fn type_error(&mut self, key: &str, value: &Value, expected: &str) {
        self.errors.push(Diagnostic::new(
            format!("`{key}` must be {expected}, found {}", value.type_name()),
            value.span,
        ));
    }

    fn required(&mut self, key: &'t str, required: bool) -> Option<&'t Entry> {
        let entry = self.take(key);
        if entry.is_none() && required {
            self.missing(key);
        }
        entry
    }

    pub(super) fn string(&mut self, key: &'t str, required: bool) -> Option<String> {
        let entry = self.required(key, required)?;
        match &entry.value.kind {
            Kind::String(s) => Some(s.clone()),
            _ => {
                self.type_error(key, &entry.value, "a string");
                None
            }
        }
    }

    pub(super) fn boolean(&mut self, key: &'t str, required: bool) -> Option<bool> {
        let entry = self.required(key, required)?;
        match &entry.value.kind {
            Kind::Bool(b) => Some(*b),
            _ => {
                self.type_error(key, &entry.value, "true or false");
                None
            }
        }
    }

    pub(super) fn number(&mut self, key: &'t str, required: bool) -> Option<f64> {
        let entry = self.required(key, required)?;
        number_value(key, &entry.value, self.errors)
    }

    pub(super) fn number_array(&mut self, key: &'t str, required: bool) -> Option<Vec<f64>> {
        let entry = self.required(key, required)?;
        let Kind::Array(items) = &entry.value.kind else {
            self.type_error(key, &entry.value, "an array of numbers");
            return None;
        };
        let mut out = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            let what = format!("item {} of `{key}`", i + 1);
            out.push(number_value_as(&what, "", item, self.errors)?);
        }
        Some(out)
    }

    /// An optional array of strings.
    pub(super) fn string_array(&mut self, key: &'t str) -> Option<Vec<String>> {
        let entry = self.required(key, false)?;
        let Kind::Array(items) = &entry.value.kind else {
            self.type_error(key, &entry.value, "an array of strings");
            return None;
        };
        let mut out = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            match &item.kind {
                Kind::String(s) => out.push(s.clone()),
                _ => {
                    self.errors.push(Diagnostic::new(
                        format!(
                            "item {} of `{key}` must be a string, found {}",
                            i + 1,
                            item.type_name()
                        ),
                        item.span,
                    ));
                    return None;
                }
            }
        }
        Some(out)
    }

    pub(super) fn integer(
        &mut self,
        key: &'t str,
        required: bool,
        min: i64,
        max: i64,
    ) -> Option<i64> {
        let entry = self.required(key, required)?;
        match &entry.value.kind {
            Kind::Integer(n) if (min..=max).contains(n) => Some(*n),
            Kind::Integer(n) => {
                self.errors.push(Diagnostic::new(
                    format!("`{key}` must be between {min} and {max}, got {n}"),
                    entry.value.span,
                ));
                None
            }
            // An integer too large for TOML is read as a float; it is a range error all the same.
            Kind::Float(f) if f.fract() == 0.0 && f.abs() >= i64::MAX as f64 => {
                self.errors.push(Diagnostic::new(
                    format!("`{key}` must be between {min} and {max}, got {f:.0}"),
                    entry.value.span,
                ));
                None
            }
            _ => {
                self.type_error(key, &entry.value, "an integer");
                None
            }
        }
    }

    pub(super) fn date(&mut self, key: &'t str, required: bool) -> Option<chrono::NaiveDate> {
        let entry = self.required(key, required)?;
        match &entry.value.kind {
            Kind::Date(d) => Some(*d),
            Kind::String(s) => {
                self.errors.push(
                    Diagnostic::new(
                        format!("`{key}` must be a TOML date, found a string"),
                        entry.value.span,
                    )
                    .with_hint(format!("remove the quotes: `{key} = {s}`")),
                );
                None
            }
            _ => {
                self.type_error(key, &entry.value, "a date like 2019-08-22");
                None
            }
        }
    }

    pub(super) fn choice(
        &mut self,
        key: &'t str,
        allowed: &[&'static str],
        required: bool,
    ) -> Option<&'static str> {
        let entry = self.required(key, required)?;
        let Kind::String(s) = &entry.value.kind else {
            let expected = format!("one of {}", quoted_list(allowed));
            self.type_error(key, &entry.value, &expected);
            return None;
        };
        match allowed.iter().copied().find(|a| *a == s.as_str()) {
            Some(a) => Some(a),
            None => {
                let mut d = Diagnostic::new(
                    format!(
                        "`{key}` must be one of {}, got \"{s}\"",
                        quoted_list(allowed)
                    ),
                    entry.value.span,
                );
                if let Some(hint) = suggest(s, allowed.iter().copied()) {
                    d = d.with_hint(hint);
                }
                self.errors.push(d);
                None
            }
        }
    }

    pub(super) fn expr(&mut self, key: &'t str, required: bool) -> Option<ExprSource> {
        let entry = self.required(key, required)?;
        expression(&entry.value, self.errors)
    }

    /// A reference such as `seoul` or `seoul.anger`, kept as text with its span.
    pub(super) fn ident_ref(&mut self, key: &'t str) -> Option<Ident> {
        let entry = self.required(key, true)?;
        match &entry.value.kind {
            Kind::String(s) => Some(Ident {
                name: s.clone(),
                span: entry.value.span,
            }),
            _ => {
                self.type_error(key, &entry.value, "a string");
                None
            }
        }
    }

    pub(super) fn table(&mut self, key: &'t str, required: bool) -> Option<(&'t Table, Span)> {
        let entry = self.required(key, required)?;
        match &entry.value.kind {
            Kind::Table(t) => Some((t, entry.value.span)),
            _ => {
                self.type_error(key, &entry.value, "a table");
                None
            }
        }
    }

    /// Reports keys that no getter asked for, naming the allowed ones.
    pub(super) fn finish(self, allowed: &[&str]) {
        for (key, entry) in &self.table.entries {
            if self.taken.contains(&key.as_str()) {
                continue;
            }
            let mut d = Diagnostic::new(
                format!("unknown key `{key}` in {}", self.what),
                entry.key_span,
            );
            d = match suggest(key, allowed.iter().copied()) {
                Some(hint) => d.with_hint(format!("{hint} (allowed: {})", allowed.join(", "))),
                None => d.with_hint(format!("allowed keys: {}", allowed.join(", "))),
            };
            self.errors.push(d);
        }
    }
}

fn number_value(key: &str, value: &Value, errors: &mut Errors) -> Option<f64> {
    number_value_as(&format!("`{key}`"), &format!("{key} = "), value, errors)
}

/// A number, or an error that calls the value `what`; a quoted number gets a hint that shows
/// it as `{assign}{number}`.
fn number_value_as(what: &str, assign: &str, value: &Value, errors: &mut Errors) -> Option<f64> {
    match &value.kind {
        Kind::Integer(n) => Some(*n as f64),
        Kind::Float(f) if f.is_finite() => Some(*f),
        Kind::Float(_) => {
            errors.push(Diagnostic::new(
                format!("{what} must be a finite number"),
                value.span,
            ));
            None
        }
        Kind::String(s) => {
            let mut d = Diagnostic::new(
                format!("{what} must be a number, found a string"),
                value.span,
            );
            if s.trim().parse::<f64>().is_ok() {
                d = d.with_hint(format!("remove the quotes: `{assign}{}`", s.trim()));
            }
            errors.push(d);
            None
        }
        _ => {
            errors.push(Diagnostic::new(
                format!("{what} must be a number, found {}", value.type_name()),
                value.span,
            ));
            None
        }
    }
}

fn quoted_list(items: &[&str]) -> String {
    items
        .iter()
        .map(|s| format!("\"{s}\""))
        .collect::<Vec<_>>()
        .join(", ")
}
