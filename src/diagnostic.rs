//! Located error messages for scenario files.
//!
//! A user's scenario is hand-written, and every mistake in it must be reported where it is:
//! `file:line:col`, the offending line, a caret under the problem and, where one helps, a hint.
//! Spans are byte ranges into a [`SourceMap`] file so that expressions nested inside TOML
//! strings can still point at the exact character.

use std::fmt::{self, Write as _};

use crate::terminal::{escape_controls, escape_controls_keeping_layout};

/// Index of a file in a [`SourceMap`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FileId(pub u32);

/// A byte range in one source file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Span {
    pub file: FileId,
    pub start: u32,
    pub end: u32,
}

impl Span {
    pub fn new(file: FileId, range: std::ops::Range<usize>) -> Span {
        Span {
            file,
            start: range.start as u32,
            end: range.end.max(range.start) as u32,
        }
    }

    /// A sub-range of this span, `offset..offset + len` bytes from its start.
    pub fn sub(self, offset: usize, len: usize) -> Span {
        let start = self.start.saturating_add(offset as u32).min(self.end);
        let end = start.saturating_add(len as u32).min(self.end).max(start);
        Span {
            file: self.file,
            start,
            end,
        }
    }
}

/// One file whose text spans refer to.
#[derive(Debug, Clone)]
pub struct SourceFile {
    /// The path as the user should read it (relative when they gave it relative).
    pub name: String,
    pub text: String,
    /// The byte offset of each line's start, the first line's (0) included: every compiled
    /// expression's location is looked up when the scenario is loaded, tens of thousands of
    /// lookups for a large file, and a rescan of the text for each cost more than the rest of
    /// loading.
    line_starts: Vec<u32>,
}

/// The files a scenario was read from: the scenario itself and every file it `extends`.
#[derive(Debug, Clone, Default)]
pub struct SourceMap {
    files: Vec<SourceFile>,
}

impl SourceMap {
    pub fn add(&mut self, name: String, text: String) -> FileId {
        let newlines = text.match_indices('\n').map(|(i, _)| i as u32 + 1);
        let line_starts = std::iter::once(0).chain(newlines).collect();
        self.files.push(SourceFile {
            name,
            text,
            line_starts,
        });
        FileId(self.files.len() as u32 - 1)
    }

    /// The name of the file added last: for a scenario, the base at the end of its `extends`
    /// chain (a file is added before the base it extends).
    pub fn last_name(&self) -> Option<&str> {
        self.files.last().map(|f| f.name.as_str())
    }

    pub fn file(&self, id: FileId) -> &SourceFile {
        &self.files[id.0 as usize]
    }

    /// 1-based line and column (in characters) of a byte offset.
    pub fn line_col(&self, file: FileId, offset: u32) -> (usize, usize) {
        let file = self.file(file);
        let text = &file.text;
        let offset = floor_char_boundary(text, (offset as usize).min(text.len()));
        // Lines starting at or before the offset: the first line's start is 0, so at least one.
        let line = file
            .line_starts
            .partition_point(|&start| start as usize <= offset);
        let line_start = file.line_starts[line - 1] as usize;
        let col = text[line_start..offset].chars().count() + 1;
        (line, col)
    }

    /// `name:line:col` of a span's start.
    pub fn location(&self, span: Span) -> String {
        let (line, col) = self.line_col(span.file, span.start);
        format!("{}:{}:{}", self.file(span.file).name, line, col)
    }
}

fn floor_char_boundary(text: &str, mut offset: usize) -> usize {
    while offset > 0 && !text.is_char_boundary(offset) {
        offset -= 1;
    }
    offset
}

/// One problem in a scenario, with where it is and how to fix it.
#[derive(Debug, Clone, PartialEq)]
pub struct Diagnostic {
    pub message: String,
    pub span: Option<Span>,
    pub hint: Option<String>,
}

impl Diagnostic {
    pub fn new(message: impl Into<String>, span: Span) -> Diagnostic {
        Diagnostic {
            message: message.into(),
            span: Some(span),
            hint: None,
        }
    }

    /// A problem that belongs to no particular place (e.g. a file that cannot be read).
    pub fn unlocated(message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            message: message.into(),
            span: None,
            hint: None,
        }
    }

    pub fn with_hint(mut self, hint: impl Into<String>) -> Diagnostic {
        self.hint = Some(hint.into());
        self
    }

    /// Renders in the style of rustc: message, location, the line, a caret, the hint.
    pub fn render(&self, sources: &SourceMap, color: bool) -> String {
        let (red, blue, bold, reset) = if color {
            ("\x1b[1;31m", "\x1b[1;34m", "\x1b[1m", "\x1b[0m")
        } else {
            ("", "", "", "")
        };
        // Messages, names and lines quote the user's file: its control characters are shown
        // escaped, never sent to the terminal (our colour codes are added around them).
        let message = escape_controls_keeping_layout(&self.message);
        let mut out = format!("{red}error{reset}{bold}: {message}{reset}\n");
        if let Some(span) = self.span {
            let file = sources.file(span.file);
            let (line, col) = sources.line_col(span.file, span.start);
            let text_line = file.text.lines().nth(line - 1).unwrap_or("");
            let gutter = " ".repeat(line.to_string().len());
            let caret_len = caret_width(&file.text, span, text_line, col);
            // The caret sits under the escaped text, so measure what comes before it escaped.
            let shown = |part: &str| escape_controls(&part.replace('\t', " ")).into_owned();
            let before: String = text_line.chars().take(col - 1).collect();
            let under: String = text_line.chars().skip(col - 1).take(caret_len).collect();
            let (pad, caret_len) = (
                shown(&before).chars().count(),
                shown(&under).chars().count(),
            );
            let name = escape_controls(&file.name);
            let _ = writeln!(out, "{gutter}{blue}-->{reset} {name}:{line}:{col}");
            let _ = writeln!(out, "{gutter} {blue}|{reset}");
            let _ = writeln!(out, "{blue}{line} |{reset} {}", shown(text_line));
            let _ = writeln!(
                out,
                "{gutter} {blue}|{reset} {}{red}{}{reset}",
                " ".repeat(pad),
                "^".repeat(caret_len.max(1))
            );
        }
        if let Some(hint) = &self.hint {
            let hint = escape_controls_keeping_layout(hint);
            let _ = writeln!(out, "  {blue}= hint:{reset} {hint}");
        }
        out
    }
}

/// Width of the caret: the span's characters on its first line, at least one.
fn caret_width(text: &str, span: Span, line: &str, col: usize) -> usize {
    let start = floor_char_boundary(text, span.start as usize);
    let end = floor_char_boundary(text, (span.end as usize).min(text.len()));
    let spanned = text[start..end.max(start)].lines().next().unwrap_or("");
    let rest_of_line = line.chars().count().saturating_sub(col - 1);
    spanned.chars().count().min(rest_of_line).max(1)
}

/// Every problem found in a scenario, with the files they point into.
#[derive(Debug, Clone)]
pub struct Diagnostics {
    pub sources: SourceMap,
    pub items: Vec<Diagnostic>,
}

impl Diagnostics {
    pub fn render(&self, color: bool) -> String {
        let mut out = String::new();
        for item in &self.items {
            out.push_str(&item.render(&self.sources, color));
            out.push('\n');
        }
        let n = self.items.len();
        let _ = write!(out, "{} error{} found", n, if n == 1 { "" } else { "s" });
        out
    }
}

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.render(false))
    }
}

impl std::error::Error for Diagnostics {}

/// "did you mean ...?" for a misspelt name, from the names that would have been valid.
pub fn suggest<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<String> {
    let mut best: Option<(f64, &str)> = None;
    for candidate in candidates {
        let score = strsim::jaro_winkler(name, candidate);
        if score > 0.8 && best.is_none_or(|(s, _)| score > s) {
            best = Some((score, candidate));
        }
    }
    best.map(|(_, c)| format!("did you mean `{c}`?"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_and_column_are_those_of_a_count_from_the_start() {
        let text = "a = 1\n\nb = \"é + ü\"\r\n  c = '日本'\nlast";
        let mut map = SourceMap::default();
        let file = map.add("x.toml".into(), text.into());
        for offset in 0..=text.len() as u32 + 3 {
            let end = floor_char_boundary(text, (offset as usize).min(text.len()));
            let before = &text[..end];
            let line = before.matches('\n').count() + 1;
            let line_start = before.rfind('\n').map_or(0, |i| i + 1);
            let col = before[line_start..].chars().count() + 1;
            assert_eq!(map.line_col(file, offset), (line, col), "offset {offset}");
        }
        let empty = map.add("empty.toml".into(), String::new());
        assert_eq!(map.line_col(empty, 0), (1, 1));
        assert_eq!(map.line_col(empty, 9), (1, 1));
    }

    #[test]
    fn renders_location_line_and_caret() {
        let mut map = SourceMap::default();
        let text = "a = 1\nb = \"foo + bar\"\n";
        let file = map.add("x.toml".into(), text.into());
        let span = Span::new(file, 11..14);
        let d = Diagnostic::new("unknown name `foo`", span).with_hint("did you mean `food`?");
        let out = d.render(&map, false);
        assert!(out.contains("--> x.toml:2:6"), "{out}");
        assert!(out.contains("2 | b = \"foo + bar\""), "{out}");
        assert!(out.contains("|      ^^^\n"), "{out}");
        assert!(out.contains("= hint: did you mean `food`?"), "{out}");
    }

    #[test]
    fn control_characters_in_the_file_are_shown_escaped_with_the_caret_under_them() {
        let mut map = SourceMap::default();
        let text = "name = \"\x1b]0;pwned\x07\" x\n";
        let file = map.add("e\x1b[2J.toml".into(), text.into());
        let at = text.find(" x").expect("x") + 1;
        let d = Diagnostic::new("unknown key `\x1b[2J`", Span::new(file, at..at + 1))
            .with_hint("not \x07 this");
        let out = d.render(&map, false);
        assert!(!out.chars().any(|c| c.is_control() && c != '\n'), "{out:?}");
        assert!(out.contains("unknown key `\\x1b[2J`"), "{out}");
        assert!(out.contains("--> e\\x1b[2J.toml:1:"), "{out}");
        assert!(
            out.contains("1 | name = \"\\x1b]0;pwned\\x07\" x\n"),
            "{out}"
        );
        let line = out.lines().find(|l| l.contains("pwned")).expect("excerpt");
        let caret = out.lines().find(|l| l.ends_with('^')).expect("caret");
        assert_eq!(caret.find('^'), line.rfind('x'), "{out}");
        assert!(out.contains("= hint: not \\x07 this"), "{out}");
    }

    #[test]
    fn columns_count_characters_not_bytes() {
        let mut map = SourceMap::default();
        let file = map.add("k.toml".into(), "name = \"서울\" x".into());
        let offset = "name = \"서울\" ".len() as u32;
        assert_eq!(map.line_col(file, offset), (1, 13));
    }

    #[test]
    fn suggests_close_names_only() {
        let names = ["japan_export_controls", "nk_threat"];
        assert_eq!(
            suggest("japan_export_control", names).as_deref(),
            Some("did you mean `japan_export_controls`?")
        );
        assert_eq!(suggest("zzz", names), None);
    }
}
