//! Scenario text: a reader for the part of TOML that scenarios use, and the
//! writer of the canonical text.
//!
//! Both are written for this crate rather than taken from a TOML library:
//! generic (serde) deserialization monomorphized for every scenario type was a
//! fifth of the browser bundle. The reader builds a tree of tables with the
//! byte offset of every key and value, so that each error names its line,
//! column and field; `read_scenario` then converts the tree to the scenario
//! types field by field. The writer produces exactly the text the TOML
//! library's serializer wrote (the canonical text is hashed into permalinks),
//! which a native test checks against that library.
//!
//! Not supported (a clear error, never a misreading): floats, dates and times,
//! and keys that redefine what another key or header defined. TOML's other
//! forms (dotted keys, quoted keys, inline tables, arrays over several lines,
//! the four kinds of strings, hexadecimal, octal and binary integers) are read.

use super::*;

/// A value and the byte offset where it starts.
#[derive(Clone, Debug)]
pub(crate) struct Node {
    pub at: usize,
    pub v: Val,
}

#[derive(Clone, Debug)]
pub(crate) enum Val {
    Str(String),
    Int(i64),
    Bool(bool),
    /// The array was made by `[[headers]]` (an array of tables).
    Arr(Vec<Node>, bool),
    Tbl(Table),
}

/// Keys in the order they were written, each with its offset.
#[derive(Clone, Debug, Default)]
pub(crate) struct Table {
    pub items: Vec<(String, usize, Node)>,
    /// Defined by a `[header]` or as a value (not only implied by a longer
    /// header's path).
    defined: bool,
}

impl Table {
    fn position(&self, k: &str) -> Option<usize> {
        self.items.iter().position(|(n, _, _)| n == k)
    }
}

/// A syntax error: byte offset and message.
pub(crate) type SynErr = (usize, String);

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
            return v.map(|v| Node { at, v });
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
        Ok(Node { at, v })
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
                let mut t = Table {
                    defined: true,
                    ..Table::default()
                };
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
            None => {
                t.items.push((
                    k.clone(),
                    *at,
                    Node {
                        at: *at,
                        v: Val::Tbl(Table::default()),
                    },
                ));
                t.items.len() - 1
            }
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
    t.items.push((last.0.clone(), last.1, v));
    Ok(())
}

/// Parses `text` into its root table.
pub(crate) fn parse(text: &str) -> Result<Table, SynErr> {
    let mut p = Parser {
        s: text.as_bytes(),
        text,
        i: 0,
        depth: 0,
    };
    if text.starts_with('\u{feff}') {
        p.i = 3;
    }
    let mut root = Table {
        defined: true,
        ..Table::default()
    };
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
            p.end_of_line()?;
            let (last, parents) = path.split_last().expect("a key");
            let parent = descend(&mut root, parents)?;
            match parent.position(&last.0) {
                None => {
                    let t = Table {
                        defined: true,
                        ..Table::default()
                    };
                    let node = Node {
                        at: last.1,
                        v: Val::Tbl(t),
                    };
                    let v = if aot {
                        Node {
                            at: last.1,
                            v: Val::Arr(vec![node], true),
                        }
                    } else {
                        node
                    };
                    parent.items.push((last.0.clone(), last.1, v));
                }
                Some(i) => match (&mut parent.items[i].2.v, aot) {
                    (Val::Arr(a, true), true) => a.push(Node {
                        at: last.1,
                        v: Val::Tbl(Table {
                            defined: true,
                            ..Table::default()
                        }),
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
            None => {
                t.items.push((
                    k.to_string(),
                    0,
                    Node {
                        at: 0,
                        v: Val::Tbl(Table::default()),
                    },
                ));
                t.items.len() - 1
            }
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
    let node = Node { at: 0, v };
    match t.position(last) {
        Some(i) => t.items[i].2 = node,
        None => t.items.push((last.to_string(), 0, node)),
    }
    Ok(())
}

fn join(path: &[(String, usize)]) -> String {
    path.iter()
        .map(|(k, _)| k.as_str())
        .collect::<Vec<_>>()
        .join(".")
}

// ---------------------------------------------------------------------------
// From the tree to the scenario types.

/// A conversion error: the field's path, an offset, the message.
pub(crate) struct FieldErr {
    pub path: String,
    pub at: usize,
    pub message: String,
}

type R<T> = Result<T, Box<FieldErr>>;

/// Reads one field's value (a function pointer, not a closure: one copy of
/// `Cx::req`/`opt`/`or` per value type rather than per field).
type Reader<T> = fn(&Key, &Node) -> R<T>;

/// Where a value sits: its table's path and its key. The dotted path is only
/// spelled out for an error.
pub(crate) struct Key<'a> {
    parent: &'a str,
    k: &'a str,
}

impl Key<'_> {
    fn path(&self) -> String {
        if self.parent.is_empty() {
            self.k.to_string()
        } else {
            format!("{}.{}", self.parent, self.k)
        }
    }
}

fn describe(v: &Val) -> String {
    match v {
        Val::Str(s) => format!("string {s:?}"),
        Val::Int(i) => format!("integer `{i}`"),
        Val::Bool(b) => format!("boolean `{b}`"),
        Val::Arr(..) => "an array".into(),
        Val::Tbl(_) => "a table".into(),
    }
}

/// One table being read: which keys were used, for `deny_unknown_fields`.
struct Cx<'a> {
    path: String,
    at: usize,
    t: &'a Table,
    used: Vec<bool>,
}

impl<'a> Cx<'a> {
    fn new(path: String, at: usize, t: &'a Table) -> Cx<'a> {
        Cx {
            path,
            at,
            used: vec![false; t.items.len()],
            t,
        }
    }
    fn sub(&self, k: &str) -> String {
        if self.path.is_empty() {
            k.to_string()
        } else {
            format!("{}.{k}", self.path)
        }
    }
    fn get(&mut self, k: &str) -> Option<&'a Node> {
        let i = self.t.position(k)?;
        self.used[i] = true;
        Some(&self.t.items[i].2)
    }
    fn req<T>(&mut self, k: &str, f: Reader<T>) -> R<T> {
        let n = self.get(k);
        let key = Key {
            parent: &self.path,
            k,
        };
        match n {
            Some(n) => f(&key, n),
            None => Err(Box::new(FieldErr {
                path: key.path(),
                at: self.at,
                message: format!("missing field `{k}`"),
            })),
        }
    }
    fn opt<T>(&mut self, k: &str, f: Reader<T>) -> R<Option<T>> {
        let n = self.get(k);
        let key = Key {
            parent: &self.path,
            k,
        };
        n.map(|n| f(&key, n)).transpose()
    }
    fn or<T>(&mut self, k: &str, d: fn() -> T, f: Reader<T>) -> R<T> {
        Ok(self.opt(k, f)?.unwrap_or_else(d))
    }
    /// Every key must be one of `fields`.
    fn done(self, fields: &[&str]) -> R<()> {
        if let Some(i) = self.used.iter().position(|u| !u) {
            let (k, at, _) = &self.t.items[i];
            let expected = fields
                .iter()
                .map(|f| format!("`{f}`"))
                .collect::<Vec<_>>()
                .join(", ");
            return Err(Box::new(FieldErr {
                path: self.sub(k),
                at: *at,
                message: format!("unknown field `{k}`, expected one of {expected}"),
            }));
        }
        Ok(())
    }
}

fn bad<T>(path: &Key, n: &Node, expected: &str) -> R<T> {
    Err(Box::new(FieldErr {
        path: path.path(),
        at: n.at,
        message: format!("invalid type: {}, expected {expected}", describe(&n.v)),
    }))
}

fn int_in<T: TryFrom<i64>>(path: &Key, n: &Node, what: &str) -> R<T> {
    match n.v {
        Val::Int(i) => T::try_from(i).map_err(|_| {
            Box::new(FieldErr {
                path: path.path(),
                at: n.at,
                message: format!("invalid value: integer `{i}`, expected {what}"),
            })
        }),
        _ => bad(path, n, what),
    }
}
fn u32_(path: &Key, n: &Node) -> R<u32> {
    int_in(path, n, "u32")
}
fn u64_(path: &Key, n: &Node) -> R<u64> {
    int_in(path, n, "u64")
}
fn i32_(path: &Key, n: &Node) -> R<i32> {
    int_in(path, n, "i32")
}
fn bool_(path: &Key, n: &Node) -> R<bool> {
    match n.v {
        Val::Bool(b) => Ok(b),
        _ => bad(path, n, "a boolean"),
    }
}
fn string(path: &Key, n: &Node) -> R<String> {
    match &n.v {
        Val::Str(s) => Ok(s.clone()),
        _ => bad(path, n, "a string"),
    }
}
fn strings(path: &Key, n: &Node) -> R<Vec<String>> {
    match &n.v {
        Val::Arr(a, false) => a.iter().map(|x| string(path, x)).collect(),
        _ => bad(path, n, "an array of strings"),
    }
}
fn int_or_str(path: &Key, n: &Node, what: &str, parse: fn(&str) -> Result<u64, String>) -> R<u64> {
    let e = |message: String| {
        Box::new(FieldErr {
            path: path.path(),
            at: n.at,
            message,
        })
    };
    match &n.v {
        Val::Int(i) => u64::try_from(*i).map_err(|_| e(format!("{what} {i} is negative"))),
        Val::Str(s) => parse(s).map_err(e),
        _ => bad(path, n, &format!("a {what} as an integer or a string")),
    }
}
fn size(path: &Key, n: &Node) -> R<Size> {
    int_or_str(path, n, "size", parse_size_str).map(Size)
}
fn dur(path: &Key, n: &Node) -> R<Dur> {
    int_or_str(path, n, "duration", parse_duration_str).map(Dur)
}
fn dur2(path: &Key, n: &Node) -> R<[Dur; 2]> {
    match &n.v {
        Val::Arr(a, false) if a.len() == 2 => Ok([dur(path, &a[0])?, dur(path, &a[1])?]),
        Val::Arr(a, false) => Err(Box::new(FieldErr {
            path: path.path(),
            at: n.at,
            message: format!(
                "invalid length {}, expected an array of two durations",
                a.len()
            ),
        })),
        _ => bad(path, n, "an array of two durations"),
    }
}
fn table<'a>(path: &Key, n: &'a Node) -> R<Cx<'a>> {
    match &n.v {
        Val::Tbl(t) => Ok(Cx::new(path.path(), n.at, t)),
        _ => bad(path, n, "a table"),
    }
}
fn tables<'a>(path: &Key, n: &'a Node) -> R<Vec<Cx<'a>>> {
    match &n.v {
        Val::Arr(a, _) => a
            .iter()
            .enumerate()
            .map(|(i, x)| match &x.v {
                Val::Tbl(t) => Ok(Cx::new(format!("{}[{i}]", path.path()), x.at, t)),
                _ => bad(path, x, "a table"),
            })
            .collect(),
        _ => bad(path, n, "an array of tables"),
    }
}
fn variant<T: Copy>(path: &Key, n: &Node, all: &[(&str, T)]) -> R<T> {
    let Val::Str(s) = &n.v else {
        return bad(path, n, "a string");
    };
    all.iter()
        .find(|(k, _)| k == s)
        .map(|(_, v)| *v)
        .ok_or_else(|| {
            let names: Vec<String> = all.iter().map(|(k, _)| format!("`{k}`")).collect();
            Box::new(FieldErr {
                path: path.path(),
                at: n.at,
                message: format!(
                    "unknown variant `{s}`, expected one of {}",
                    names.join(", ")
                ),
            })
        })
}

/// The written names of a scenario enum, and the reader of a field of it.
macro_rules! names {
    ($table:ident, $reader:ident, $ty:ty, [$($name:literal => $v:expr),* $(,)?]) => {
        pub(crate) const $table: &[(&str, $ty)] = &[$(($name, $v)),*];
        fn $reader(p: &Key, n: &Node) -> R<$ty> {
            variant(p, n, $table)
        }
    };
}

names!(UNSTABLE_CHECKS, unstable_check, UnstableCheck, [
    "none" => UnstableCheck::None,
    "post_fault" => UnstableCheck::PostFault,
    "pre_pte" => UnstableCheck::PrePte,
]);
names!(TRYLOCKS, reaper_trylock, ReaperTrylock, [
    "fair" => ReaperTrylock::Fair,
    "unfair" => ReaperTrylock::Unfair,
]);
names!(WRITE_PATHS, write_path, WritePath, [
    "generic" => WritePath::Generic,
    "iomap" => WritePath::Iomap,
    "btrfs" => WritePath::Btrfs,
    "generic_3_10" => WritePath::Generic310,
    "isize_before_copy" => WritePath::IsizeBeforeCopy,
]);
names!(FS_TYPES, fs_type, FsType, [
    "ext4" => FsType::Ext4,
    "xfs" => FsType::Xfs,
    "btrfs" => FsType::Btrfs,
]);
names!(DATA_MODES, data_mode, DataMode, [
    "ordered" => DataMode::Ordered,
    "writeback" => DataMode::Writeback,
    "journal" => DataMode::Journal,
]);
names!(HISTORIES, history, DiskHistory, [
    "deleted_text" => DiskHistory::DeletedText,
    "random" => DiskHistory::Random,
    "zeros" => DiskHistory::Zeros,
]);
names!(ANCHORS, anchor, CrashAnchor, [
    "boot" => CrashAnchor::Boot,
    "kill" => CrashAnchor::Kill,
]);
names!(STACK_AREAS, stack_area, StackArea, [
    "mmap" => StackArea::Mmap,
    "heap" => StackArea::Heap,
]);

pub(crate) fn name_of<T: Copy + PartialEq>(all: &[(&'static str, T)], v: T) -> &'static str {
    all.iter()
        .find(|(_, x)| *x == v)
        .map(|(k, _)| *k)
        .expect("every variant is named")
}

fn machine(p: &Key, n: &Node) -> R<Machine> {
    let mut c = table(p, n)?;
    let m = Machine {
        cpus: c.req("cpus", u32_)?,
        sockets: c.or("sockets", one, u32_)?,
        hz: c.or("hz", default_hz, u32_)?,
        memory: c.req("memory", size)?,
        kernel_reserved: c.opt("kernel_reserved", size)?,
        page_cache: c.or("page_cache", Size::default, size)?,
        slab: c.or("slab", Size::default, size)?,
        thp: c.or("thp", bool::default, bool_)?,
        min_free_kbytes: c.opt("min_free_kbytes", u64_)?,
        ipi_same_socket: c.or("ipi_same_socket", default_ipi_same, dur2)?,
        ipi_cross_socket: c.or("ipi_cross_socket", default_ipi_cross, dur2)?,
        ipi_send_cost: c.or("ipi_send_cost", Dur::default, dur)?,
        vcpu_preempt_ppm: c.or("vcpu_preempt_ppm", u32::default, u32_)?,
        vcpu_pause: c.or("vcpu_pause", default_vcpu_pause, dur2)?,
        dirty_ratio: c.or("dirty_ratio", default_dirty_ratio, u32_)?,
        dirty_background_ratio: c.or("dirty_background_ratio", default_dirty_bg_ratio, u32_)?,
        disk_bandwidth: c.or("disk_bandwidth", default_disk_bw, size)?,
    };
    c.done(MACHINE_FIELDS)?;
    Ok(m)
}
const MACHINE_FIELDS: &[&str] = &[
    "cpus",
    "sockets",
    "hz",
    "memory",
    "kernel_reserved",
    "page_cache",
    "slab",
    "thp",
    "min_free_kbytes",
    "ipi_same_socket",
    "ipi_cross_socket",
    "ipi_send_cost",
    "vcpu_preempt_ppm",
    "vcpu_pause",
    "dirty_ratio",
    "dirty_background_ratio",
    "disk_bandwidth",
];

fn kernel(p: &Key, n: &Node) -> R<KernelCfg> {
    let mut c = table(p, n)?;
    let k = KernelCfg {
        preset: c.or("preset", default_preset, string)?,
        unstable_check: c.opt("unstable_check", unstable_check)?,
        reaper: c.opt("reaper", bool_)?,
        reaper_trylock: c.opt("reaper_trylock", reaper_trylock)?,
        write_path: c.opt("write_path", write_path)?,
        fs_shrinkers_direct_reclaim: c.opt("fs_shrinkers_direct_reclaim", bool_)?,
        pf_memalloc_pid: c.opt("pf_memalloc_pid", bool_)?,
        khugepaged_scan_sleep: c.opt("khugepaged_scan_sleep", dur)?,
        alloc_oom: c.opt("alloc_oom", bool_)?,
        reaper_mmget: c.opt("reaper_mmget", bool_)?,
        reaper_oom_lock: c.opt("reaper_oom_lock", bool_)?,
        oom_reaper_delay: c.opt("oom_reaper_delay", dur)?,
        reap_mlocked: c.opt("reap_mlocked", bool_)?,
        process_mrelease: c.opt("process_mrelease", bool_)?,
    };
    c.done(&[
        "preset",
        "unstable_check",
        "reaper",
        "reaper_trylock",
        "write_path",
        "fs_shrinkers_direct_reclaim",
        "pf_memalloc_pid",
        "khugepaged_scan_sleep",
        "alloc_oom",
        "reaper_mmget",
        "reaper_oom_lock",
        "oom_reaper_delay",
        "reap_mlocked",
        "process_mrelease",
    ])?;
    Ok(k)
}

fn fs(p: &Key, n: &Node) -> R<FsCfg> {
    let mut c = table(p, n)?;
    let f = FsCfg {
        fs_type: c.or("type", FsType::default, fs_type)?,
        data: c.opt("data", data_mode)?,
        discard: c.opt("discard", bool_)?,
        history: c.opt("history", history)?,
        write_cache: c.opt("write_cache", bool_)?,
        read_zero_after_trim: c.opt("read_zero_after_trim", bool_)?,
        commit_interval: c.opt("commit_interval", dur)?,
        dirty_writeback_interval: c.opt("dirty_writeback_interval", dur)?,
        dirty_expire_interval: c.opt("dirty_expire_interval", dur)?,
    };
    c.done(&[
        "type",
        "data",
        "discard",
        "history",
        "write_cache",
        "read_zero_after_trim",
        "commit_interval",
        "dirty_writeback_interval",
        "dirty_expire_interval",
    ])?;
    Ok(f)
}

fn crash(p: &Key, n: &Node) -> R<CrashCfg> {
    let mut c = table(p, n)?;
    let k = CrashCfg {
        at: c.opt("at", dur)?,
        after: c.opt("after", anchor)?,
        window: c.opt("window", dur2)?,
    };
    c.done(&["at", "after", "window"])?;
    Ok(k)
}

fn limits(p: &Key, n: &Node) -> R<Limits> {
    let mut c = table(p, n)?;
    let l = Limits {
        duration: c.or("duration", default_duration, dur)?,
        max_steps: c.or("max_steps", default_max_steps, u64_)?,
        max_trace: c.or("max_trace", default_max_trace, u64_)?,
        hang_threshold: c.or("hang_threshold", default_hang, dur)?,
    };
    c.done(&["duration", "max_steps", "max_trace", "hang_threshold"])?;
    Ok(l)
}

fn threads(p: &Key, n: &Node) -> R<Vec<ThreadCfg>> {
    tables(p, n)?.into_iter().map(thread).collect()
}

fn processes(p: &Key, n: &Node) -> R<Vec<ProcessCfg>> {
    tables(p, n)?.into_iter().map(process).collect()
}

fn thread(mut c: Cx) -> R<ThreadCfg> {
    let t = ThreadCfg {
        program: c.req("program", string)?,
        count: c.or("count", one, u32_)?,
        name: c.opt("name", string)?,
    };
    c.done(&["program", "count", "name"])?;
    Ok(t)
}

fn process(mut c: Cx) -> R<ProcessCfg> {
    let p = ProcessCfg {
        name: c.req("name", string)?,
        oom_score_adj: c.or("oom_score_adj", i32::default, i32_)?,
        mmu_notifier: c.or("mmu_notifier", bool::default, bool_)?,
        stack: c.or("stack", default_stack, size)?,
        stacks: c.or("stacks", StackArea::default, stack_area)?,
        threads: c.req("thread", threads)?,
    };
    c.done(&[
        "name",
        "oom_score_adj",
        "mmu_notifier",
        "stack",
        "stacks",
        "thread",
    ])?;
    Ok(p)
}

fn expect(p: &Key, n: &Node) -> R<Expect> {
    let mut c = table(p, n)?;
    let e = Expect {
        always: c.or("always", Vec::new, strings)?,
        sometimes: c.or("sometimes", Vec::new, strings)?,
        never: c.or("never", Vec::new, strings)?,
    };
    c.done(&["always", "sometimes", "never"])?;
    Ok(e)
}

fn challenge(p: &Key, n: &Node) -> R<crate::challenge::Challenge> {
    let mut c = table(p, n)?;
    let ch = crate::challenge::Challenge {
        goal: c.req("goal", strings)?,
        control: c.req("control", strings)?,
        after: c.opt("after", string)?,
        budget: c.or("budget", crate::challenge::default_budget, u32_)?,
        seed: c.or("seed", u64::default, u64_)?,
        hint: c.or("hint", String::new, string)?,
    };
    c.done(&["goal", "control", "after", "budget", "seed", "hint"])?;
    Ok(ch)
}

fn programs(p: &Key, n: &Node) -> R<BTreeMap<String, String>> {
    let mut c = table(p, n)?;
    let mut m = BTreeMap::new();
    for i in 0..c.t.items.len() {
        let (k, _, n) = &c.t.items[i];
        c.used[i] = true;
        let key = Key { parent: &c.path, k };
        m.insert(k.clone(), string(&key, n)?);
    }
    Ok(m)
}

/// The version field, read before anything else so that a scenario from a
/// newer build is refused rather than misread.
pub(crate) fn version(root: &Table) -> Option<i64> {
    match root.position("version").map(|i| &root.items[i].2.v) {
        Some(Val::Int(i)) => Some(*i),
        _ => None,
    }
}

/// Converts a parsed scenario text to the scenario types.
pub(crate) fn read_scenario(root: &Table) -> R<Scenario> {
    let mut c = Cx::new(String::new(), 0, root);
    let s = Scenario {
        version: c.req("version", u32_)?,
        title: c.or("title", String::new, string)?,
        story: c.or("story", String::new, string)?,
        machine: c.req("machine", machine)?,
        kernel: c.or("kernel", KernelCfg::default, kernel)?,
        fs: c.or("fs", FsCfg::default, fs)?,
        crash: c.opt("crash", crash)?,
        limits: c.or("limits", Limits::default, limits)?,
        processes: c.or("process", Vec::new, processes)?,
        programs: c.or("programs", BTreeMap::new, programs)?,
        expect: c.or("expect", Expect::default, expect)?,
        challenge: c.opt("challenge", challenge)?,
    };
    c.done(&[
        "version",
        "title",
        "story",
        "machine",
        "kernel",
        "fs",
        "crash",
        "limits",
        "process",
        "programs",
        "expect",
        "challenge",
    ])?;
    Ok(s)
}

// ---------------------------------------------------------------------------
// The canonical text.

/// How the TOML serializer writes a string: the plainest form that can hold
/// it (a basic string without escapes, a literal string, a multi-line basic
/// or literal string), else an escaped basic or multi-line basic string.
fn write_str(out: &mut String, s: &str) {
    let b = s.as_bytes();
    let simple = b.iter().all(|&c| {
        c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.' | b'/' | b' ' | b':')
    });
    if simple {
        out.push('"');
        out.push_str(s);
        out.push('"');
        return;
    }
    let run = |q: u8| {
        let (mut max, mut n) = (0, 0);
        for &c in b {
            n = if c == q { n + 1 } else { 0 };
            max = usize::max(max, n);
        }
        max
    };
    let (sq, dq) = (run(b'\''), run(b'"'));
    let backslash = s.contains('\\');
    let newline = s.contains('\n');
    let codes = b
        .iter()
        .any(|&c| (c <= 0x1f && c != b'\t' && c != b'\n') || c == 0x7f);
    let (delim, escaped) = if !codes && !backslash && dq == 0 && !newline {
        ("\"", true)
    } else if !codes && sq == 0 && !newline {
        ("'", false)
    } else if !codes && !backslash && dq <= 2 {
        ("\"\"\"", true)
    } else if !codes && sq <= 2 {
        ("'''", false)
    } else if newline {
        ("\"\"\"", true)
    } else {
        ("\"", true)
    };
    if !escaped {
        out.push_str(delim);
        if delim.len() == 3 && newline {
            out.push('\n');
        }
        out.push_str(s);
        out.push_str(delim);
    } else {
        write_escaped(out, s, delim, newline);
    }
}

/// A basic (`"`) or multi-line basic (`"""`) string with the escapes it needs.
fn write_escaped(out: &mut String, s: &str, delim: &str, newline: bool) {
    let ml = delim.len() == 3;
    out.push_str(delim);
    if ml && newline {
        out.push('\n');
    }
    {
        let max_dq = if ml { 2 } else { 0 };
        let mut run = 0;
        for ch in s.chars() {
            if ch == '"' {
                run += 1;
                if run > max_dq {
                    out.push_str("\\\"");
                    run = 0;
                    continue;
                }
            } else {
                run = 0;
            }
            match ch {
                '\u{8}' => out.push_str("\\b"),
                '\t' => out.push_str("\\t"),
                '\n' if !ml => out.push_str("\\n"),
                '\n' => out.push('\n'),
                '\u{c}' => out.push_str("\\f"),
                '\r' => out.push_str("\\r"),
                '\\' => out.push_str("\\\\"),
                c if (c as u32) <= 0x1f || c as u32 == 0x7f => {
                    out.push_str(&format!("\\u{:04X}", c as u32));
                }
                c => out.push(c),
            }
        }
    }
    out.push_str(delim);
}

/// A key: bare when it can be, else the plainest quoted form.
fn write_key(out: &mut String, k: &str) {
    if !k.is_empty() && k.bytes().all(is_bare) {
        out.push_str(k);
        return;
    }
    let codes = k.bytes().any(|c| (c <= 0x1f && c != b'\t') || c == 0x7f);
    if !codes && !k.contains('\\') && !k.contains('"') {
        write_escaped(out, k, "\"", false);
    } else if !codes && !k.contains('\'') {
        out.push('\'');
        out.push_str(k);
        out.push('\'');
    } else {
        write_escaped(out, k, "\"", false);
    }
}

/// A table's body: `key = value` lines.
struct Body<'o> {
    out: &'o mut String,
}

impl Body<'_> {
    fn key(&mut self, k: &str) {
        write_key(self.out, k);
        self.out.push_str(" = ");
    }
    fn str(&mut self, k: &str, v: &str) {
        self.key(k);
        write_str(self.out, v);
        self.out.push('\n');
    }
    fn int(&mut self, k: &str, v: impl fmt::Display) {
        self.key(k);
        self.out.push_str(&v.to_string());
        self.out.push('\n');
    }
    fn bool(&mut self, k: &str, v: bool) {
        self.int(k, v);
    }
    fn strs<S: AsRef<str>>(&mut self, k: &str, v: &[S]) {
        self.key(k);
        self.out.push('[');
        for (i, s) in v.iter().enumerate() {
            if i > 0 {
                self.out.push_str(", ");
            }
            write_str(self.out, s.as_ref());
        }
        self.out.push_str("]\n");
    }
    fn size(&mut self, k: &str, v: Size) {
        self.str(k, &fmt_size(v.0));
    }
    fn dur(&mut self, k: &str, v: Dur) {
        self.str(k, &fmt_dur(v.0));
    }
    fn dur2(&mut self, k: &str, v: [Dur; 2]) {
        self.strs(k, &[fmt_dur(v[0].0), fmt_dur(v[1].0)]);
    }
    fn opt<T>(&mut self, k: &str, v: Option<T>, f: impl FnOnce(&mut Self, &str, T)) {
        if let Some(v) = v {
            f(self, k, v);
        }
    }
}

fn header(out: &mut String, h: &str) {
    if !out.is_empty() {
        out.push('\n');
    }
    out.push_str(h);
    out.push('\n');
}

/// The canonical text of a scenario.
pub(crate) fn write_scenario(s: &Scenario) -> String {
    let mut out = String::new();
    let mut b = Body { out: &mut out };
    b.int("version", s.version);
    b.str("title", &s.title);
    b.str("story", &s.story);

    let m = &s.machine;
    header(&mut out, "[machine]");
    let mut b = Body { out: &mut out };
    b.int("cpus", m.cpus);
    b.int("sockets", m.sockets);
    b.int("hz", m.hz);
    b.size("memory", m.memory);
    b.opt("kernel_reserved", m.kernel_reserved, Body::size);
    b.size("page_cache", m.page_cache);
    b.size("slab", m.slab);
    b.bool("thp", m.thp);
    b.opt("min_free_kbytes", m.min_free_kbytes, |b, k, v| b.int(k, v));
    b.dur2("ipi_same_socket", m.ipi_same_socket);
    b.dur2("ipi_cross_socket", m.ipi_cross_socket);
    b.dur("ipi_send_cost", m.ipi_send_cost);
    b.int("vcpu_preempt_ppm", m.vcpu_preempt_ppm);
    b.dur2("vcpu_pause", m.vcpu_pause);
    b.int("dirty_ratio", m.dirty_ratio);
    b.int("dirty_background_ratio", m.dirty_background_ratio);
    b.size("disk_bandwidth", m.disk_bandwidth);

    let k = &s.kernel;
    header(&mut out, "[kernel]");
    let mut b = Body { out: &mut out };
    b.str("preset", &k.preset);
    b.opt("unstable_check", k.unstable_check, |b, k, v| {
        b.str(k, name_of(UNSTABLE_CHECKS, v))
    });
    b.opt("reaper", k.reaper, Body::bool);
    b.opt("reaper_trylock", k.reaper_trylock, |b, k, v| {
        b.str(k, name_of(TRYLOCKS, v))
    });
    b.opt("write_path", k.write_path, |b, k, v| {
        b.str(k, name_of(WRITE_PATHS, v))
    });
    b.opt(
        "fs_shrinkers_direct_reclaim",
        k.fs_shrinkers_direct_reclaim,
        Body::bool,
    );
    b.opt("pf_memalloc_pid", k.pf_memalloc_pid, Body::bool);
    b.opt("khugepaged_scan_sleep", k.khugepaged_scan_sleep, Body::dur);
    b.opt("alloc_oom", k.alloc_oom, Body::bool);
    b.opt("reaper_mmget", k.reaper_mmget, Body::bool);
    b.opt("reaper_oom_lock", k.reaper_oom_lock, Body::bool);
    b.opt("oom_reaper_delay", k.oom_reaper_delay, Body::dur);
    b.opt("reap_mlocked", k.reap_mlocked, Body::bool);
    b.opt("process_mrelease", k.process_mrelease, Body::bool);

    let f = &s.fs;
    header(&mut out, "[fs]");
    let mut b = Body { out: &mut out };
    b.str("type", name_of(FS_TYPES, f.fs_type));
    b.opt("data", f.data, |b, k, v| b.str(k, name_of(DATA_MODES, v)));
    b.opt("discard", f.discard, Body::bool);
    b.opt("history", f.history, |b, k, v| {
        b.str(k, name_of(HISTORIES, v))
    });
    b.opt("write_cache", f.write_cache, Body::bool);
    b.opt("read_zero_after_trim", f.read_zero_after_trim, Body::bool);
    b.opt("commit_interval", f.commit_interval, Body::dur);
    b.opt(
        "dirty_writeback_interval",
        f.dirty_writeback_interval,
        Body::dur,
    );
    b.opt("dirty_expire_interval", f.dirty_expire_interval, Body::dur);

    if let Some(c) = &s.crash {
        header(&mut out, "[crash]");
        let mut b = Body { out: &mut out };
        b.opt("at", c.at, Body::dur);
        b.opt("after", c.after, |b, k, v| b.str(k, name_of(ANCHORS, v)));
        b.opt("window", c.window, Body::dur2);
    }

    let l = &s.limits;
    header(&mut out, "[limits]");
    let mut b = Body { out: &mut out };
    b.dur("duration", l.duration);
    b.int("max_steps", l.max_steps);
    b.int("max_trace", l.max_trace);
    b.dur("hang_threshold", l.hang_threshold);

    for p in &s.processes {
        header(&mut out, "[[process]]");
        let mut b = Body { out: &mut out };
        b.str("name", &p.name);
        b.int("oom_score_adj", p.oom_score_adj);
        b.bool("mmu_notifier", p.mmu_notifier);
        b.size("stack", p.stack);
        b.str("stacks", name_of(STACK_AREAS, p.stacks));
        for t in &p.threads {
            header(&mut out, "[[process.thread]]");
            let mut b = Body { out: &mut out };
            b.str("program", &t.program);
            b.int("count", t.count);
            b.opt("name", t.name.as_deref(), Body::str);
        }
    }

    if !s.programs.is_empty() {
        header(&mut out, "[programs]");
        let mut b = Body { out: &mut out };
        for (k, v) in &s.programs {
            b.str(k, v);
        }
    }

    let e = &s.expect;
    if !e.is_empty() {
        header(&mut out, "[expect]");
        let mut b = Body { out: &mut out };
        for (k, v) in [
            ("always", &e.always),
            ("sometimes", &e.sometimes),
            ("never", &e.never),
        ] {
            if !v.is_empty() {
                b.strs(k, v);
            }
        }
    }

    if let Some(c) = &s.challenge {
        header(&mut out, "[challenge]");
        let mut b = Body { out: &mut out };
        b.strs("goal", &c.goal);
        b.strs("control", &c.control);
        b.opt("after", c.after.as_deref(), Body::str);
        b.int("budget", c.budget);
        b.int("seed", c.seed);
        if !c.hint.is_empty() {
            b.str("hint", &c.hint);
        }
    }
    out
}
