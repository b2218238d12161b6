//! Text from a scenario (titles, stories, process names, paths) is the
//! author's, and a link brings it from anyone: printed raw, an ESC sequence
//! would drive the terminal, U+202E would reorder what is shown, and a
//! newline could fake a trace line. Text output escapes those characters;
//! JSON output carries the text exactly (serde escapes what JSON must).

use oomlab_core::trace::TraceRecord;
use std::borrow::Cow;
use std::fmt::Write as _;

/// Control characters (C0, DEL, C1, so also newlines and tabs) and the
/// bidirectional embeddings, overrides and isolates.
fn unsafe_char(c: char) -> bool {
    c.is_control() || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// One line of user text for a terminal or a text export: the characters
/// above escaped as `\n`, `\r`, `\t` or `\u{..}`.
pub fn term(s: &str) -> Cow<'_, str> {
    if !s.chars().any(unsafe_char) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if unsafe_char(c) => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// Text whose newlines are its own (the scenario text): each line escaped,
/// the line breaks kept.
pub fn term_lines(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for (i, line) in s.split('\n').enumerate() {
        if i > 0 {
            out.push('\n');
        }
        out.push_str(&term(line));
    }
    out
}

/// The trace with each record's user text (process name, message) escaped,
/// so that core's text renderings of it hold one record per line.
pub fn records(tr: &[TraceRecord]) -> Cow<'_, [TraceRecord]> {
    if !tr
        .iter()
        .any(|r| r.comm.chars().any(unsafe_char) || r.msg.chars().any(unsafe_char))
    {
        return Cow::Borrowed(tr);
    }
    Cow::Owned(
        tr.iter()
            .map(|r| TraceRecord {
                comm: term(&r.comm).into_owned(),
                msg: term(&r.msg).into_owned(),
                ..r.clone()
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_controls_bidi_and_newlines_only() {
        assert_eq!(term("a.out /tmp/f-é"), "a.out /tmp/f-é");
        assert!(matches!(term("plain"), Cow::Borrowed(_)));
        assert_eq!(
            term("x\u{1b}[2J\u{7}\u{202e}y\nz\u{2066}\u{85}"),
            "x\\u{1b}[2J\\u{7}\\u{202e}y\\nz\\u{2066}\\u{85}"
        );
        assert_eq!(term_lines("a\u{1b}\nb\n"), "a\\u{1b}\nb\n");
    }
}
