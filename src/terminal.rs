//! Text from a user's file, made safe to print on a terminal.
//!
//! A scenario (or a `summary.json`) is data someone else may have written. Its labels, units,
//! rationales and even its bad lines end up on the user's terminal, and a control character in
//! them is an instruction to that terminal: ESC starts sequences that retitle the window, clear
//! the screen, move the cursor or write the clipboard; BEL rings; CR overwrites what was
//! printed. So every control character from such text is shown as a visible escape (`\x1b`,
//! `\u{9b}`) instead of being sent. Printing goes through these functions at the edge: the
//! diagnostic renderer, the tables, and the command line's stdout and stderr writers.

use std::borrow::Cow;

/// `text` with every control character (C0, DEL and C1, including newline and tab) written as
/// a visible escape. For text that must stay on one line: a table cell, a source line.
pub fn escape_controls(text: &str) -> Cow<'_, str> {
    escape(text, |_| false)
}

/// Like [`escape_controls`], but newlines and tabs pass: for whole messages and tables whose
/// layout is made of them.
pub fn escape_controls_keeping_layout(text: &str) -> Cow<'_, str> {
    escape(text, |c| c == '\n' || c == '\t')
}

/// The colour codes alliance-sim itself writes on a colour terminal (bold red, bold blue, bold,
/// reset): the only escape sequences [`escape_controls_keeping_colour`] lets through.
pub const OUR_COLOURS: [&str; 4] = ["\x1b[1;31m", "\x1b[1;34m", "\x1b[1m", "\x1b[0m"];

/// Like [`escape_controls_keeping_layout`], but our own colour codes ([`OUR_COLOURS`]) pass
/// too: for a rendered error on a colour terminal. Colour is all they can do; every other
/// sequence, and every lone ESC, is escaped.
pub fn escape_controls_keeping_colour(text: &str) -> Cow<'_, str> {
    if !text.contains('\x1b') {
        return escape_controls_keeping_layout(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('\x1b') {
        out.push_str(&escape_controls_keeping_layout(&rest[..at]));
        rest = &rest[at..];
        match OUR_COLOURS.iter().find(|c| rest.starts_with(**c)) {
            Some(colour) => {
                out.push_str(colour);
                rest = &rest[colour.len()..];
            }
            None => {
                out.push_str("\\x1b");
                rest = &rest[1..];
            }
        }
    }
    out.push_str(&escape_controls_keeping_layout(rest));
    Cow::Owned(out)
}

fn escape(text: &str, keep: impl Fn(char) -> bool) -> Cow<'_, str> {
    let unsafe_char = |c: char| c.is_control() && !keep(c);
    if !text.chars().any(unsafe_char) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if unsafe_char(c) {
            let code = u32::from(c);
            if code < 0x80 {
                out.push_str(&format!("\\x{code:02x}"));
            } else {
                out.push_str(&format!("\\u{{{code:x}}}"));
            }
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_become_visible_escapes() {
        assert_eq!(
            escape_controls("a\x1b]0;pwned\x07b\0c\rd\x7fe\u{9b}f"),
            "a\\x1b]0;pwned\\x07b\\x00c\\x0dd\\x7fe\\u{9b}f"
        );
        assert_eq!(
            escape_controls("line\nnext\tcell"),
            "line\\x0anext\\x09cell"
        );
    }

    #[test]
    fn layout_survives_where_it_is_wanted() {
        assert_eq!(
            escape_controls_keeping_layout("a\n\tb\x1b[2J"),
            "a\n\tb\\x1b[2J"
        );
    }

    #[test]
    fn only_our_colour_codes_pass_on_a_colour_terminal() {
        assert_eq!(
            escape_controls_keeping_colour("\x1b[1;31merror\x1b[0m: `\x1b]0;t\x07` \x1b[2J\x1b"),
            "\x1b[1;31merror\x1b[0m: `\\x1b]0;t\\x07` \\x1b[2J\\x1b"
        );
    }

    #[test]
    fn ordinary_text_is_not_copied() {
        let text = "Seoul lets GSOMIA lapse — 서울, 95% [0.5, 0.9]";
        assert!(matches!(escape_controls(text), Cow::Borrowed(t) if t == text));
    }
}
