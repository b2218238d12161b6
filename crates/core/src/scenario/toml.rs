//! The TOML layer of scenario text: a reader for the part of TOML that
//! scenarios use, giving a tree of tables with the byte span of every key and
//! value (`schema.rs` turns the tree into the scenario types), and `Lines`,
//! which turns a byte offset into a line and column.
//!
//! Written for this crate rather than taken from a TOML library: generic
//! (serde) deserialization monomorphized for every scenario type was a fifth
//! of the browser bundle.
//!
//! Not supported (a clear error, never a misreading): floats, dates and times,
//! and keys that redefine what another key or header defined. TOML's other
//! forms (dotted keys, quoted keys, inline tables, arrays over several lines,
//! the four kinds of strings, hexadecimal, octal and binary integers) are read.
//! Arrays, inline tables and dotted keys nest at most `MAX_NESTING` deep (the
//! reader recurses once per level).

use super::MAX_NESTING;
use std::collections::BTreeMap;

/// A value and its byte span in the text: `at..end` is the value as written
/// (for a table made by a `[header]`, `at` is the header's key and `end` the
/// end of its header line).
#[derive(Clone, Debug)]
pub struct Node {
    pub at: usize,
    pub end: usize,
    pub v: Val,
}

impl Node {
    fn new(at: usize, v: Val) -> Node {
        Node { at, end: at, v }
    }
}

#[derive(Clone, Debug)]
pub enum Val {
    Str(String),
    Int(i64),
    Bool(bool),
    /// The array was made by `[[headers]]` (an array of tables).
    Arr(Vec<Node>, bool),
    Tbl(Table),
}

/// Keys in the order they were written, each with the offset of the key.
#[derive(Clone, Debug, Default)]
pub struct Table {
    items: Vec<(String, usize, Node)>,
    /// Key to its index in `items`: a lookup per insert and per field read,
    /// so that reading n keys is O(n log n), not O(n^2).
    index: BTreeMap<String, usize>,
    /// Defined by a `[header]` or as a value (not only implied by a longer
    /// header's path).
    defined: bool,
}

impl Table {
    fn defined() -> Table {
        Table {
            defined: true,
            ..Table::default()
        }
    }
    pub(crate) fn position(&self, k: &str) -> Option<usize> {
        work(1 + self.items.len().max(1).ilog2() as u64);
        self.index.get(k).copied()
    }
    fn push(&mut self, k: String, at: usize, n: Node) -> usize {
        let i = self.items.len();
        self.index.insert(k.clone(), i);
        self.items.push((k, at, n));
        i
    }
    /// The keys in the order they were written: name, offset of the key, value.
    pub fn items(&self) -> &[(String, usize, Node)] {
        &self.items
    }
    /// The value of key `k` and the offset of the key.
    pub fn get(&self, k: &str) -> Option<(usize, &Node)> {
        self.position(k)
            .map(|i| (self.items[i].1, &self.items[i].2))
    }
}

/// Offsets to lines and columns, with the line starts computed once.
pub struct Lines<'t> {
    text: &'t str,
    starts: Vec<usize>,
}

impl<'t> Lines<'t> {
    pub fn new(text: &'t str) -> Lines<'t> {
        let mut starts = vec![0];
        starts.extend(
            text.bytes()
                .enumerate()
                .filter(|b| b.1 == b'\n')
                .map(|b| b.0 + 1),
        );
        work(text.len() as u64);
        Lines { text, starts }
    }
    pub fn text(&self) -> &'t str {
        self.text
    }
    /// 1-based line and column (in characters) of a byte offset.
    pub fn line_col(&self, offset: usize) -> (u32, u32) {
        let offset = offset.min(self.text.len());
        let line = self.starts.partition_point(|&s| s <= offset);
        let start = self.starts[line - 1];
        let col = match self.text.get(start..offset) {
            Some(s) => s.chars().count(),
            None => offset - start,
        };
        work(u64::from(self.starts.len().ilog2()) + (offset - start) as u64);
        (line as u32, col as u32 + 1)
    }
}

#[cfg(test)]
thread_local! {
    /// Steps of the reader's lookups (table keys, line starts, field paths),
    /// for the test that reading and validating stay O(n log n).
    pub(crate) static WORK: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

/// Counts `n` steps of a lookup (tests only; nothing otherwise).
#[inline]
pub(crate) fn work(n: u64) {
    #[cfg(test)]
    WORK.with(|w| w.set(w.get() + n));
    #[cfg(not(test))]
    let _ = n;
}

/// A syntax error: byte offset and message.
pub type SynErr = (usize, String);

struct Parser<'a> {
    s: &'a [u8],
    text: &'a str,
    i: usize,
    /// Arrays and inline tables open around the current value.
    depth: usize,
}

fn is_bare(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-' || b == b'_'
}

impl<'a> Parser<'a> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }
    fn at(&self, k: usize) -> Option<u8> {
        self.s.get(self.i + k).copied()
    }
    fn starts(&self, p: &str) -> bool {
        self.s[self.i..].starts_with(p.as_bytes())
    }
    fn err<T>(&self, msg: impl Into<String>) -> Result<T, SynErr> {
        Err((self.i, msg.into()))
    }
    fn ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t')) {
            self.i += 1;
        }
    }
    fn comment(&mut self) -> Result<(), SynErr> {
        if self.peek() == Some(b'#') {
            while let Some(b) = self.peek() {
                if b == b'\n' || (b == b'\r' && self.at(1) == Some(b'\n')) {
                    break;
                }
                if b < 0x20 && b != b'\t' || b == 0x7f {
                    return self.err("control character in a comment");
                }
                self.i += 1;
            }
        }
        Ok(())
    }
    fn newline(&mut self) -> bool {
        match self.peek() {
            Some(b'\n') => {
                self.i += 1;
                true
            }
            Some(b'\r') if self.at(1) == Some(b'\n') => {
                self.i += 2;
                true
            }
            _ => false,
        }
    }
    /// Whitespace, comments and newlines (between lines, inside arrays).
    fn blank(&mut self) -> Result<(), SynErr> {
        loop {
            self.ws();
            self.comment()?;
            if !self.newline() {
                return Ok(());
            }
        }
    }
    fn end_of_line(&mut self) -> Result<(), SynErr> {
        self.ws();
        self.comment()?;
        if self.peek().is_none() || self.newline() {
            Ok(())
        } else {
            self.err("expected a newline or `#` after the value")
        }
    }

    fn key(&mut self) -> Result<(String, usize), SynErr> {
        let at = self.i;
        match self.peek() {
            Some(b'"') => {
                if self.starts("\"\"\"") {
                    return self.err("a key cannot be a multi-line string");
                }
                Ok((self.basic_string()?, at))
            }
            Some(b'\'') => {
                if self.starts("'''") {
                    return self.err("a key cannot be a multi-line string");
                }
                Ok((self.literal_string()?, at))
            }
            Some(b) if is_bare(b) => {
                while self.peek().is_some_and(is_bare) {
                    self.i += 1;
                }
                Ok((self.text[at..self.i].to_string(), at))
            }
            _ => self.err("expected a key"),
        }
    }
    /// `a.b."c"`, with optional whitespace around the dots.
    fn key_path(&mut self) -> Result<Vec<(String, usize)>, SynErr> {
        let mut path = vec![self.key()?];
        loop {
            self.ws();
            if self.peek() != Some(b'.') {
                return Ok(path);
            }
            self.i += 1;
            self.ws();
            // Each dot is one more table level, dropped recursively.
            if path.len() >= MAX_NESTING {
                return self.err(format!("a dotted key has at most {MAX_NESTING} parts"));
            }
            path.push(self.key()?);
        }
    }

    fn escape(&mut self, out: &mut String) -> Result<(), SynErr> {
        // At the backslash.
        let start = self.i;
        self.i += 1;
        let c = match self.peek() {
            Some(b'b') => '\u{8}',
            Some(b't') => '\t',
            Some(b'n') => '\n',
            Some(b'f') => '\u{c}',
            Some(b'r') => '\r',
            Some(b'e') => '\u{1b}',
            Some(b'"') => '"',
            Some(b'\\') => '\\',
            Some(k @ (b'u' | b'U' | b'x')) => {
                let n = match k {
                    b'x' => 2,
                    b'u' => 4,
                    _ => 8,
                };
                let hex = self.text.get(self.i + 1..self.i + 1 + n).unwrap_or("");
                let v = (hex.len() == n && hex.bytes().all(|b| b.is_ascii_hexdigit()))
                    .then(|| u32::from_str_radix(hex, 16).ok())
                    .flatten()
                    .and_then(char::from_u32);
                let Some(c) = v else {
                    self.i = start;
                    return self.err("invalid unicode escape");
                };
                self.i += n;
                c
            }
            _ => {
                self.i = start;
                return self.err("invalid escape in a string");
            }
        };
        self.i += 1;
        out.push(c);
        Ok(())
    }
    fn string_char(&mut self, out: &mut String, ml: bool) -> Result<(), SynErr> {
        let b = self.s[self.i];
        if (b < 0x20 && b != b'\t' && !(ml && (b == b'\n' || b == b'\r'))) || b == 0x7f {
            return self.err(if b == b'\n' || b == b'\r' {
                "unterminated string: a newline before the closing quote"
            } else {
                "control character in a string"
            });
        }
        if b == b'\r' && self.at(1) != Some(b'\n') {
            return self.err("carriage return without a newline in a string");
        }
        let ch = self.text[self.i..].chars().next().expect("in bounds");
        out.push(ch);
        self.i += ch.len_utf8();
        Ok(())
    }
    fn basic_string(&mut self) -> Result<String, SynErr> {
        let start = self.i;
        self.i += 1;
        let mut out = String::new();
        loop {
            match self.peek() {
                None => return Err((start, "unterminated string".into())),
                Some(b'"') => {
                    self.i += 1;
                    return Ok(out);
                }
                Some(b'\\') => self.escape(&mut out)?,
                Some(_) => self.string_char(&mut out, false)?,
            }
        }
    }
    fn literal_string(&mut self) -> Result<String, SynErr> {
        let start = self.i;
        self.i += 1;
        let mut out = String::new();
        loop {
            match self.peek() {
                None => return Err((start, "unterminated string".into())),
                Some(b'\'') => {
                    self.i += 1;
                    return Ok(out);
                }
                Some(_) => self.string_char(&mut out, false)?,
            }
        }
    }
    /// `"""` or `'''` strings: a newline right after the opening delimiter is
    /// dropped; up to two quotes may precede the closing delimiter.
    fn ml_string(&mut self, q: u8) -> Result<String, SynErr> {
        let start = self.i;
        self.i += 3;
        self.newline();
        let mut out = String::new();
        loop {
            match self.peek() {
                None => return Err((start, "unterminated multi-line string".into())),
                Some(b) if b == q && self.at(1) == Some(q) && self.at(2) == Some(q) => {
                    let mut n = 3;
                    while self.at(n) == Some(q) {
                        n += 1;
                    }
                    if n > 5 {
                        self.i += 5;
                        return self.err("too many quotes");
                    }
                    for _ in 3..n {
                        out.push(q as char);
                    }
                    self.i += n;
                    return Ok(out);
                }
                Some(b'\\') if q == b'"' => {
                    // A backslash at the end of a line trims the line break and
                    // the whitespace after it.
                    let save = self.i;
                    self.i += 1;
                    self.ws();
                    if self.newline() {
                        while matches!(self.peek(), Some(b' ' | b'\t')) || self.newline() {
                            if matches!(self.peek(), Some(b' ' | b'\t')) {
                                self.i += 1;
                            }
                        }
                    } else {
                        self.i = save;
                        self.escape(&mut out)?;
                    }
                }
                Some(_) => self.string_char(&mut out, true)?,
            }
        }
    }

    fn value(&mut self) -> Result<Node, SynErr> {
        let at = self.i;
        if matches!(self.peek(), Some(b'[' | b'{')) {
            // Reading (and dropping) a value recurses once per level: without
            // a bound, a short link of brackets overflows the stack.
            if self.depth >= MAX_NESTING {
                return self.err(format!(
                    "arrays and inline tables nest at most {MAX_NESTING} deep"
                ));
            }
            self.depth += 1;
            let v = self.nested();
            self.depth -= 1;
            return v.map(|v| Node { at, end: self.i, v });
        }
        let v = match self.peek() {
            Some(b'"') if self.starts("\"\"\"") => Val::Str(self.ml_string(b'"')?),
            Some(b'"') => Val::Str(self.basic_string()?),
            Some(b'\'') if self.starts("'''") => Val::Str(self.ml_string(b'\'')?),
            Some(b'\'') => Val::Str(self.literal_string()?),
            Some(_) => {
                let end = self.s[self.i..]
                    .iter()
                    .position(|b| {
                        matches!(b, b' ' | b'\t' | b'\r' | b'\n' | b',' | b']' | b'}' | b'#')
                    })
                    .map_or(self.s.len(), |n| self.i + n);
                let tok = &self.text[self.i..end];
                let v = scalar(tok).map_err(|m| (at, m))?;
                self.i = end;
                v
            }
            None => return self.err("expected a value"),
        };
        Ok(Node { at, end: self.i, v })
    }

    /// An array (at `[`) or an inline table (at `{`).
    fn nested(&mut self) -> Result<Val, SynErr> {
        Ok(match self.peek() {
            Some(b'[') => {
                self.i += 1;
                let mut items = Vec::new();
                loop {
                    self.blank()?;
                    if self.peek() == Some(b']') {
                        self.i += 1;
                        break;
                    }
                    items.push(self.value()?);
                    self.blank()?;
                    match self.peek() {
                        Some(b',') => self.i += 1,
                        Some(b']') => {
                            self.i += 1;
                            break;
                        }
                        _ => return self.err("expected `,` or `]` in the array"),
                    }
                }
                Val::Arr(items, false)
            }
            _ => {
                self.i += 1;
                let mut t = Table::defined();
                self.ws();
                if self.peek() == Some(b'}') {
                    self.i += 1;
                } else {
                    loop {
                        self.ws();
                        let path = self.key_path()?;
                        self.ws();
                        if self.peek() != Some(b'=') {
                            return self.err("expected `=` after the key");
                        }
                        self.i += 1;
                        self.ws();
                        let v = self.value()?;
                        insert(&mut t, &path, v)?;
                        self.ws();
                        match self.peek() {
                            Some(b',') => self.i += 1,
                            Some(b'}') => {
                                self.i += 1;
                                break;
                            }
                            _ => return self.err("expected `,` or `}` in the inline table"),
                        }
                    }
                }
                Val::Tbl(t)
            }
        })
    }
}

/// A bare value: boolean or integer; floats and dates are refused by name.
fn scalar(tok: &str) -> Result<Val, String> {
    match tok {
        "true" => return Ok(Val::Bool(true)),
        "false" => return Ok(Val::Bool(false)),
        _ => {}
    }
    let b = tok.as_bytes();
    let digits_ok = |d: &str, radix: u32| {
        !d.is_empty()
            && !d.starts_with('_')
            && !d.ends_with('_')
            && !d.contains("__")
            && d.chars().all(|c| c == '_' || c.is_digit(radix))
    };
    let (neg, body) = match b.first() {
        Some(b'-') => (true, &tok[1..]),
        Some(b'+') => (false, &tok[1..]),
        _ => (false, tok),
    };
    let radix = match body.get(..2) {
        Some("0x") => 16,
        Some("0o") => 8,
        Some("0b") => 2,
        _ => 10,
    };
    let digits = if radix == 10 { body } else { &body[2..] };
    if digits_ok(digits, radix) && !(radix != 10 && body.len() != tok.len()) {
        if radix == 10 && digits.len() > 1 && digits.starts_with('0') {
            return Err(format!("`{tok}`: an integer may not have leading zeros"));
        }
        let clean: String = digits.chars().filter(|c| *c != '_').collect();
        let v = i64::from_str_radix(&clean, radix).ok().and_then(|v| {
            if neg {
                v.checked_neg()
            } else {
                Some(v)
            }
        });
        return v
            .map(Val::Int)
            .ok_or_else(|| format!("`{tok}` is out of range for a 64-bit integer"));
    }
    let dateish = b.len() >= 5 && b[..4].iter().all(u8::is_ascii_digit) && b[4] == b'-'
        || b.len() >= 3 && b[..2].iter().all(u8::is_ascii_digit) && b[2] == b':';
    if dateish {
        return Err(format!(
            "`{tok}`: dates and times are not used in scenarios (write durations as strings, e.g. \"10ms\")"
        ));
    }
    let floatish = matches!(body, "inf" | "nan")
        || body.bytes().next().is_some_and(|c| c.is_ascii_digit())
            && body.bytes().all(|c| {
                c.is_ascii_digit() || matches!(c, b'.' | b'e' | b'E' | b'_' | b'+' | b'-')
            });
    if floatish {
        return Err(format!(
            "`{tok}`: floats are not used in scenarios (use an integer, or a string such as \"1500us\")"
        ));
    }
    if tok.bytes().all(|c| is_bare(c) || c == b'.') {
        Err(format!(
            "`{tok}` is not a value (strings need quotes: \"{tok}\")"
        ))
    } else {
        Err(format!("expected a value, found `{tok}`"))
    }
}

/// Finds (creating implicit tables) the table at `path` below `t`; a key
/// holding an array of tables leads into its last table.
fn descend<'t>(mut t: &'t mut Table, path: &[(String, usize)]) -> Result<&'t mut Table, SynErr> {
    for (k, at) in path {
        let i = match t.position(k) {
            Some(i) => i,
            None => t.push(k.clone(), *at, Node::new(*at, Val::Tbl(Table::default()))),
        };
        t = match &mut t.items[i].2.v {
            Val::Tbl(x) => x,
            Val::Arr(a, true) => match a.last_mut() {
                Some(Node { v: Val::Tbl(x), .. }) => x,
                _ => return Err((*at, format!("`{k}` is not a table"))),
            },
            _ => return Err((*at, format!("`{k}` is a value, not a table"))),
        };
    }
    Ok(t)
}

/// `a.b = v` inside `t`.
fn insert(t: &mut Table, path: &[(String, usize)], v: Node) -> Result<(), SynErr> {
    let (last, parents) = path.split_last().expect("a key");
    let t = descend(t, parents)?;
    if t.position(&last.0).is_some() {
        return Err((last.1, format!("duplicate key `{}`", last.0)));
    }
    t.push(last.0.clone(), last.1, v);
    Ok(())
}

/// Parses `text` into its root table.
pub fn parse(text: &str) -> Result<Table, SynErr> {
    let mut p = Parser {
        s: text.as_bytes(),
        text,
        i: 0,
        depth: 0,
    };
    if text.starts_with('\u{feff}') {
        p.i = 3;
    }
    let mut root = Table::defined();
    let mut cur: Vec<(String, usize)> = Vec::new();
    loop {
        p.blank()?;
        let Some(b) = p.peek() else {
            return Ok(root);
        };
        if b == b'[' {
            let aot = p.at(1) == Some(b'[');
            p.i += if aot { 2 } else { 1 };
            p.ws();
            let path = p.key_path()?;
            p.ws();
            let close = if aot { "]]" } else { "]" };
            if !p.starts(close) {
                return p.err(format!("expected `{close}` to close the table header"));
            }
            p.i += close.len();
            let header_end = p.i;
            p.end_of_line()?;
            let (last, parents) = path.split_last().expect("a key");
            let parent = descend(&mut root, parents)?;
            match parent.position(&last.0) {
                None => {
                    let node = Node {
                        at: last.1,
                        end: header_end,
                        v: Val::Tbl(Table::defined()),
                    };
                    let v = if aot {
                        Node {
                            at: last.1,
                            end: header_end,
                            v: Val::Arr(vec![node], true),
                        }
                    } else {
                        node
                    };
                    parent.push(last.0.clone(), last.1, v);
                }
                Some(i) => match (&mut parent.items[i].2.v, aot) {
                    (Val::Arr(a, true), true) => a.push(Node {
                        at: last.1,
                        end: header_end,
                        v: Val::Tbl(Table::defined()),
                    }),
                    (Val::Tbl(t), false) if !t.defined => t.defined = true,
                    (Val::Tbl(_), false) => {
                        return Err((last.1, format!("duplicate table `[{}]`", join(&path))))
                    }
                    _ => {
                        return Err((
                            last.1,
                            format!(
                                "`{}` is already defined as another kind of value",
                                join(&path)
                            ),
                        ))
                    }
                },
            }
            cur = path;
        } else {
            let path = p.key_path()?;
            p.ws();
            if p.peek() != Some(b'=') {
                return p.err("expected `=` after the key");
            }
            p.i += 1;
            p.ws();
            let v = p.value()?;
            p.end_of_line()?;
            let t = descend(&mut root, &cur)?;
            insert(t, &path, v)?;
        }
    }
}

/// Sets `keys` (a dotted path from the root) to `v`, creating tables on the
/// way and replacing what was there.
pub(crate) fn set(root: &mut Table, keys: &[&str], v: Val) -> Result<(), String> {
    let (last, parents) = keys.split_last().expect("at least one key");
    let mut t = root;
    let mut j = 0;
    while j < parents.len() {
        let k = parents[j];
        j += 1;
        let i = match t.position(k) {
            Some(i) => i,
            None => t.push(k.to_string(), 0, Node::new(0, Val::Tbl(Table::default()))),
        };
        let mut node = &mut t.items[i].2.v;
        // `process.0.thread.1.count`: an array of tables takes an index.
        while let Val::Arr(items, _) = node {
            let n = items.len();
            let e = parents.get(j).and_then(|s| s.parse::<usize>().ok());
            j += 1;
            node = match e.and_then(|i| items.get_mut(i)) {
                Some(e) => &mut e.v,
                None => return Err(format!("`{k}` has {n} entries: give an index below {n}")),
            };
        }
        t = match node {
            Val::Tbl(x) => x,
            _ => return Err(format!("`{k}` is not a table")),
        };
    }
    let node = Node::new(0, v);
    match t.position(last) {
        Some(i) => t.items[i].2 = node,
        None => {
            t.push(last.to_string(), 0, node);
        }
    }
    Ok(())
}

fn join(path: &[(String, usize)]) -> String {
    path.iter()
        .map(|(k, _)| k.as_str())
        .collect::<Vec<_>>()
        .join(".")
}
