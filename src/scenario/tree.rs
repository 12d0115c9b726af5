//! A TOML document as a tree whose every key and value remembers its file and span.
//!
//! `extends` merges documents from several files, so a span must say which file it is in; the
//! `toml` crate's spanned parse gives byte ranges, which this module pairs with a [`FileId`].

use indexmap::IndexMap;
use toml::de::{DeTable, DeValue};

use crate::diagnostic::{Diagnostic, FileId, Span};

#[derive(Debug, Clone, PartialEq)]
pub enum Kind {
    String(String),
    Integer(i64),
    Float(f64),
    Bool(bool),
    /// A TOML local date (the only datetime form scenarios use).
    Date(chrono::NaiveDate),
    /// Any other TOML datetime, kept as text so it can be reported.
    OtherDatetime(String),
    Array(Vec<Value>),
    Table(Table),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Value {
    pub kind: Kind,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub key_span: Span,
    pub value: Value,
}

/// Keys in the order they were written; later files' keys append.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Table {
    pub entries: IndexMap<String, Entry>,
}

impl Value {
    pub fn type_name(&self) -> &'static str {
        match self.kind {
            Kind::String(_) => "a string",
            Kind::Integer(_) => "an integer",
            Kind::Float(_) => "a float",
            Kind::Bool(_) => "a boolean",
            Kind::Date(_) => "a date",
            Kind::OtherDatetime(_) => "a date-time",
            Kind::Array(_) => "an array",
            Kind::Table(_) => "a table",
        }
    }
}

/// Parses one file into a spanned tree.
pub fn parse(text: &str, file: FileId) -> Result<Table, Diagnostic> {
    let root = DeTable::parse(text).map_err(|err| {
        let range = err.span().unwrap_or(0..0);
        let message = err.message().trim().to_string();
        syntax_error(text, range, &message, file)
    })?;
    Ok(convert_table(root.into_inner(), file))
}

/// A TOML syntax error as the user should read it.
///
/// The parser reports where it gave up, which for a bracket or string left open is often many
/// lines below the mistake; such errors are moved to the opening delimiter. A few terse messages
/// get the detail they lack (the duplicated key, a missing value, an invisible character).
fn syntax_error(
    text: &str,
    range: std::ops::Range<usize>,
    message: &str,
    file: FileId,
) -> Diagnostic {
    let start = floor_boundary(text, range.start);
    let end = floor_boundary(text, range.end).max(start);
    let line_of = |offset: usize| text[..offset].matches('\n').count() + 1;
    let line_end = |offset: usize| text[offset..].find('\n').map_or(text.len(), |i| offset + i);
    match open_delimiter(text, start) {
        Some((at, Open::MultiLineString)) if text[start..].trim().is_empty() => {
            return Diagnostic::new(
                "invalid TOML: this multi-line string is never closed",
                Span::new(file, at..at + 3),
            )
            .with_hint("close it with `\"\"\"` (or `'''` for a literal string)");
        }
        Some((at, Open::Bracket(bracket)))
            if line_of(at) < line_of(start)
                && starts_new_statement(&text[at + 1..line_end(start)], bracket) =>
        {
            let close = if bracket == b'[' { ']' } else { '}' };
            return Diagnostic::new(
                format!("invalid TOML: this `{}` is never closed", bracket as char),
                Span::new(file, at..at + 1),
            )
            .with_hint(format!(
                "add `{close}` where it ends; the parser read on to line {} and stopped there ({message})",
                line_of(start)
            ));
        }
        _ => {}
    }
    let span = Span::new(file, start..end);
    let found = text[start..end].trim();
    if message == "duplicate key" && !found.is_empty() {
        return Diagnostic::new(format!("invalid TOML: duplicate key `{found}`"), span)
            .with_hint("a key or table can be defined only once; remove or merge the repeat");
    }
    if message.starts_with("string values must be quoted") {
        let rest_of_line = text[start..].lines().next().unwrap_or("").trim();
        if rest_of_line.is_empty() || rest_of_line.starts_with('#') {
            return Diagnostic::new("invalid TOML: missing value after `=`", span)
                .with_hint("write a value: a number, a \"string\", true or false, or a date");
        }
        return Diagnostic::new(format!("invalid TOML: {message}"), span)
            .with_hint(format!("write `\"{found}\"`"));
    }
    if let Some(c) = text[start..]
        .chars()
        .next()
        .filter(|c| c.is_control() && *c != '\n' && *c != '\r')
    {
        let code = u32::from(c);
        return Diagnostic::new(
            format!("invalid TOML: control character U+{code:04X} in a string"),
            span,
        )
        .with_hint(format!(
            "remove it, or write it as the escape `\\u{code:04X}`"
        ));
    }
    Diagnostic::new(format!("invalid TOML: {message}"), span)
}

fn floor_boundary(text: &str, offset: usize) -> usize {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    offset
}

/// A delimiter still open at some point of a TOML text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Open {
    /// `[` or `{`.
    Bracket(u8),
    MultiLineString,
}

/// The innermost delimiter still open at byte `offset`, with where it was opened: a light scan
/// that knows comments and the four kinds of string, enough to find a bracket left open.
fn open_delimiter(text: &str, offset: usize) -> Option<(usize, Open)> {
    #[derive(PartialEq)]
    enum State {
        Normal,
        Comment,
        Basic,
        Literal,
        MultiBasic,
        MultiLiteral,
    }
    let b = text.as_bytes();
    let end = offset.min(b.len());
    let mut state = State::Normal;
    let mut string_start = 0;
    let mut brackets: Vec<(usize, u8)> = Vec::new();
    let mut i = 0;
    while i < end {
        let c = b[i];
        match state {
            State::Normal => match c {
                b'#' => state = State::Comment,
                b'"' | b'\'' => {
                    let triple = b[i..].starts_with(&[c, c, c]);
                    string_start = i;
                    state = match (c, triple) {
                        (b'"', true) => State::MultiBasic,
                        (b'"', false) => State::Basic,
                        (_, true) => State::MultiLiteral,
                        _ => State::Literal,
                    };
                    if triple {
                        i += 3;
                        continue;
                    }
                }
                b'[' | b'{' => brackets.push((i, c)),
                b']' | b'}' => {
                    brackets.pop();
                }
                _ => {}
            },
            State::Comment => {
                if c == b'\n' {
                    state = State::Normal;
                }
            }
            // A one-line string ends at its quote, or (unterminated) at the end of the line.
            State::Basic => match c {
                b'\\' => i += 1,
                b'"' | b'\n' => state = State::Normal,
                _ => {}
            },
            State::Literal => {
                if c == b'\'' || c == b'\n' {
                    state = State::Normal;
                }
            }
            State::MultiBasic | State::MultiLiteral => {
                let quote = if state == State::MultiBasic {
                    b'"'
                } else {
                    b'\''
                };
                if c == b'\\' && state == State::MultiBasic {
                    i += 1;
                } else if b[i..].starts_with(&[quote, quote, quote]) {
                    state = State::Normal;
                    i += 3;
                    continue;
                }
            }
        }
        i += 1;
    }
    match state {
        State::MultiBasic | State::MultiLiteral => Some((string_start, Open::MultiLineString)),
        _ => brackets.last().map(|&(at, c)| (at, Open::Bracket(c))),
    }
}

/// Whether `inside` (the text after an opening bracket) has a line that cannot belong inside
/// it: a table header, or for an array a `key = value` line. Such a line means the bracket was
/// left open, rather than that something inside it is wrong.
fn starts_new_statement(inside: &str, bracket: u8) -> bool {
    inside.lines().skip(1).any(|line| {
        let line = line.split('#').next().unwrap_or("").trim();
        let header = line.starts_with('[')
            && line.ends_with(']')
            && !line.contains(',')
            && line
                .trim_start_matches('[')
                .starts_with(|c: char| c.is_ascii_alphabetic() || c == '_' || c == '"');
        let assignment = bracket == b'['
            && line.split_once('=').is_some_and(|(key, _)| {
                let key = key.trim();
                !key.is_empty()
                    && key
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
            });
        header || assignment
    })
}

fn convert_table(table: DeTable<'_>, file: FileId) -> Table {
    let mut entries = IndexMap::with_capacity(table.len());
    for (key, value) in table {
        let key_span = Span::new(file, key.span());
        let value = convert_value(value.span(), value.into_inner(), file);
        entries.insert(key.into_inner().into_owned(), Entry { key_span, value });
    }
    Table { entries }
}

fn convert_value(range: std::ops::Range<usize>, value: DeValue<'_>, file: FileId) -> Value {
    let span = Span::new(file, range);
    let kind = match value {
        DeValue::String(s) => Kind::String(s.into_owned()),
        DeValue::Integer(i) => match i64::from_str_radix(i.as_str(), i.radix()) {
            Ok(n) => Kind::Integer(n),
            // Out of i64 range: keep it as a float so a range check can report it.
            Err(_) => Kind::Float(i.as_str().parse().unwrap_or(f64::INFINITY)),
        },
        DeValue::Float(f) => Kind::Float(parse_float(f.as_str())),
        DeValue::Boolean(b) => Kind::Bool(b),
        DeValue::Datetime(dt) => match (dt.date, dt.time, dt.offset) {
            (Some(d), None, None) => {
                match chrono::NaiveDate::from_ymd_opt(d.year as i32, d.month as u32, d.day as u32) {
                    Some(date) => Kind::Date(date),
                    None => Kind::OtherDatetime(dt.to_string()),
                }
            }
            _ => Kind::OtherDatetime(dt.to_string()),
        },
        DeValue::Array(items) => Kind::Array(
            items
                .into_iter()
                .map(|item| convert_value(item.span(), item.into_inner(), file))
                .collect(),
        ),
        DeValue::Table(table) => Kind::Table(convert_table(table, file)),
    };
    Value { kind, span }
}

fn parse_float(text: &str) -> f64 {
    match text {
        "inf" | "+inf" => f64::INFINITY,
        "-inf" => f64::NEG_INFINITY,
        "nan" | "+nan" | "-nan" => f64::NAN,
        other => other.replace('_', "").parse().unwrap_or(f64::NAN),
    }
}

/// Merges `over` into `base`: tables merge key by key at any depth, anything else replaces.
pub fn merge(base: &mut Table, over: Table) {
    for (key, entry) in over.entries {
        match base.entries.get_mut(&key) {
            Some(existing) => match (&mut existing.value.kind, entry.value.kind) {
                (Kind::Table(base_table), Kind::Table(over_table)) => {
                    merge(base_table, over_table);
                }
                (_, kind) => {
                    existing.value = Value {
                        kind,
                        span: entry.value.span,
                    };
                    existing.key_span = entry.key_span;
                }
            },
            None => {
                base.entries.insert(key, entry);
            }
        }
    }
}

/// A canonical text of the tree (keys in order, spans omitted), for hashing a resolved scenario.
pub fn canonical(table: &Table) -> String {
    let mut out = String::new();
    write_table(table, &mut out);
    out
}

fn write_table(table: &Table, out: &mut String) {
    out.push('{');
    for (key, entry) in &table.entries {
        out.push_str(&format!("{key:?}="));
        write_value(&entry.value, out);
        out.push(';');
    }
    out.push('}');
}

fn write_value(value: &Value, out: &mut String) {
    match &value.kind {
        Kind::String(s) => out.push_str(&format!("{s:?}")),
        Kind::Integer(n) => out.push_str(&n.to_string()),
        Kind::Float(f) => out.push_str(&format!("{f:?}")),
        Kind::Bool(b) => out.push_str(&b.to_string()),
        Kind::Date(d) => out.push_str(&d.to_string()),
        Kind::OtherDatetime(d) => out.push_str(d),
        Kind::Array(items) => {
            out.push('[');
            for item in items {
                write_value(item, out);
                out.push(',');
            }
            out.push(']');
        }
        Kind::Table(t) => write_table(t, out),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(text: &str) -> Table {
        parse(text, FileId(0)).expect("valid toml")
    }

    #[test]
    fn spans_point_at_values() {
        let text = "[a]\nb = \"x + y\"\n";
        let t = tree(text);
        let Kind::Table(a) = &t.entries["a"].value.kind else {
            panic!("not a table")
        };
        let span = a.entries["b"].value.span;
        assert_eq!(&text[span.start as usize..span.end as usize], "\"x + y\"");
    }

    #[test]
    fn merge_overrides_leaves_and_keeps_order() {
        let mut base = tree("[p.a]\nmin = 1\nmax = 2\n[p.b]\nvalue = 3\n");
        let over = tree("[p.a]\nmax = 5\n[p.c]\nvalue = 4\n");
        merge(&mut base, over);
        assert_eq!(
            canonical(&base),
            r#"{"p"={"a"={"min"=1;"max"=5;};"b"={"value"=3;};"c"={"value"=4;};};}"#
        );
    }

    #[test]
    fn syntax_error_is_located() {
        let err = parse("a = 1\nb = [1, 2\n", FileId(0)).expect_err("invalid");
        assert!(err.message.starts_with("invalid TOML"), "{}", err.message);
        assert!(err.span.is_some());
    }

    /// The error's message and the 1-based line it points at.
    fn error_line(text: &str) -> (String, usize) {
        let err = parse(text, FileId(0)).expect_err("invalid");
        let start = err.span.expect("located").start as usize;
        (err.message, text[..start].matches('\n').count() + 1)
    }

    #[test]
    fn an_array_left_open_is_reported_where_it_opens() {
        let text = "[a]\nx = [1, 2\n\n[b]\ny = 1\n";
        let (message, line) = error_line(text);
        assert_eq!(line, 2, "{message}");
        assert!(message.contains("`[` is never closed"), "{message}");
        let text = "[a]\nx = [\n  1,\n  2,\ny = 1\n";
        assert_eq!(error_line(text).1, 2);
    }

    #[test]
    fn a_missing_comma_inside_an_array_stays_where_it_is() {
        let text = "x = [\n  { a = 1 }\n  { a = 2 },\n]\n";
        let (message, line) = error_line(text);
        assert_eq!(line, 3, "{message}");
        assert!(message.contains("comma"), "{message}");
    }

    #[test]
    fn a_multi_line_string_left_open_is_reported_where_it_opens() {
        let text = "a = 1\nb = \"\"\"text\nmore\n\nc = 2\n";
        let (message, line) = error_line(text);
        assert_eq!(line, 2, "{message}");
        assert!(message.contains("never closed"), "{message}");
    }

    #[test]
    fn brackets_in_strings_and_comments_do_not_count() {
        assert_eq!(open_delimiter("a = \"[\" # [\nb = 1\n", 18), None);
        assert_eq!(
            open_delimiter("a = '[' \nb = [\n", 15),
            Some((13, Open::Bracket(b'[')))
        );
    }

    #[test]
    fn terse_toml_messages_get_the_detail_they_lack() {
        assert_eq!(
            error_line("a = 1\na = 2\n"),
            ("invalid TOML: duplicate key `a`".to_string(), 2)
        );
        assert_eq!(
            error_line("a = 1\nb =\n"),
            ("invalid TOML: missing value after `=`".to_string(), 2)
        );
        assert_eq!(
            error_line("a = \"x\u{1}y\"\n").0,
            "invalid TOML: control character U+0001 in a string"
        );
    }

    #[test]
    fn a_date_time_is_not_called_a_date() {
        let t = tree("a = 2020-01-20T10:00:00\nb = 2020-01-20\n");
        assert_eq!(t.entries["a"].value.type_name(), "a date-time");
        assert_eq!(t.entries["b"].value.type_name(), "a date");
    }
}
