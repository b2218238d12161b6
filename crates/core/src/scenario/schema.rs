//! The scenario schema, declared once: for each section, one `section!` list
//! of its keys (the key as written, the field, whether it is required, its
//! default, whether the writer omits it) drives the reader from the TOML tree
//! (`toml.rs`), the known keys of an unknown-key error, and the writer of the
//! canonical text.
//!
//! The reader records the keys each table was asked for (an unknown key is
//! one nobody asked for) and the span of every value it read, by field path
//! (`Spans`), so that validation can name the line and column of a field
//! without searching the text. The writer produces exactly the text the TOML
//! library's serializer wrote for the serde types of `scenario.rs` (the
//! canonical text is hashed into permalinks); `tests/scenario_text.rs` checks
//! both against that library.

use super::toml::{work, Lines, Node, Table, Val};
use super::*;

/// A conversion error: the field's path, an offset, the message.
pub(crate) struct FieldErr {
    pub path: String,
    pub at: usize,
    pub message: String,
}

pub(crate) type R<T> = Result<T, Box<FieldErr>>;

/// Where a value sits: its table's path and its key. The dotted path is only
/// spelled out for an error or a span.
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

/// Where a value is in the text: the byte offset of its key, and the value's
/// byte range (for a table made by a header, the header).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Span {
    pub key: usize,
    pub start: usize,
    pub end: usize,
}

/// The span of every value the reader read, by field path
/// (`process[1].thread[0].count`), with the text's line starts.
pub struct Spans<'t> {
    lines: Option<Lines<'t>>,
    at: BTreeMap<String, Span>,
}

impl<'t> Spans<'t> {
    /// For a tree read from `text`; `None` for a tree made otherwise (an
    /// override applied to a scenario), whose offsets mean nothing.
    pub(crate) fn new(text: Option<&'t str>) -> Spans<'t> {
        Spans {
            lines: text.map(Lines::new),
            at: BTreeMap::new(),
        }
    }
    fn record(&mut self, path: String, key: usize, n: &Node) {
        if self.lines.is_some() {
            work(1 + self.at.len().max(1).ilog2() as u64);
            self.at.insert(
                path,
                Span {
                    key,
                    start: n.at,
                    end: n.end,
                },
            );
        }
    }
    pub fn text(&self) -> Option<&'t str> {
        self.lines.as_ref().map(Lines::text)
    }
    pub fn line_col(&self, offset: usize) -> Option<(u32, u32)> {
        self.lines.as_ref().map(|l| l.line_col(offset))
    }
    /// The span of the value at `path` exactly.
    pub fn get(&self, path: &str) -> Option<Span> {
        work(1 + self.at.len().max(1).ilog2() as u64);
        self.at.get(path).copied()
    }
    /// The line and column of the key at `path`; for a key that is not in
    /// the text (a default), of the closest enclosing table that is.
    pub fn locate(&self, path: &str) -> Option<(u32, u32)> {
        let mut p = path;
        loop {
            if let Some(s) = self.get(p) {
                return self.line_col(s.key);
            }
            p = &p[..p.rfind(['.', '['])?];
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

/// A type that a scenario value reads into and is written from.
pub(crate) trait Value: Sized {
    fn read(k: &Key, n: &Node, sp: &mut Spans) -> R<Self>;
    /// `k = value` in the current table; a table writes its header (under
    /// `path`, the dotted path of the table it is in) and its body.
    fn write(&self, w: &mut W, path: &str, k: &str);
}

/// A table of the schema: its fields, read from and written to a table body.
pub(crate) trait Section: Sized {
    /// The keys, in the order they are read and written.
    const KEYS: &'static [&'static str];
    fn read_fields(c: &mut Cx, sp: &mut Spans) -> R<Self>;
    fn write_fields(&self, w: &mut W, path: &str);
}

/// One table being read: which keys were asked for and which were there,
/// for `deny_unknown_fields`.
pub(crate) struct Cx<'a> {
    path: String,
    at: usize,
    t: &'a Table,
    used: Vec<bool>,
    asked: Vec<&'static str>,
}

impl<'a> Cx<'a> {
    fn new(path: String, at: usize, t: &'a Table) -> Cx<'a> {
        Cx {
            path,
            at,
            used: vec![false; t.items().len()],
            asked: Vec::new(),
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
    fn get(&mut self, k: &'static str, sp: &mut Spans) -> Option<&'a Node> {
        self.asked.push(k);
        let i = self.t.position(k)?;
        self.used[i] = true;
        let (_, key_at, n) = &self.t.items()[i];
        sp.record(self.sub(k), *key_at, n);
        Some(n)
    }
    pub(crate) fn req<T: Value>(&mut self, k: &'static str, sp: &mut Spans) -> R<T> {
        let n = self.get(k, sp);
        let key = Key {
            parent: &self.path,
            k,
        };
        match n {
            Some(n) => T::read(&key, n, sp),
            None => Err(Box::new(FieldErr {
                path: key.path(),
                at: self.at,
                message: format!("missing field `{k}`"),
            })),
        }
    }
    pub(crate) fn opt<T: Value>(&mut self, k: &'static str, sp: &mut Spans) -> R<Option<T>> {
        let n = self.get(k, sp);
        let key = Key {
            parent: &self.path,
            k,
        };
        n.map(|n| T::read(&key, n, sp)).transpose()
    }
    pub(crate) fn or<T: Value>(&mut self, k: &'static str, d: fn() -> T, sp: &mut Spans) -> R<T> {
        Ok(self.opt(k, sp)?.unwrap_or_else(d))
    }
    /// Every key must be one that was asked for. The key is named once, in
    /// the path.
    fn done(self) -> R<()> {
        if let Some(i) = self.used.iter().position(|u| !u) {
            let (k, at, _) = &self.t.items()[i];
            let expected = self
                .asked
                .iter()
                .map(|f| format!("`{f}`"))
                .collect::<Vec<_>>()
                .join(", ");
            return Err(Box::new(FieldErr {
                path: self.sub(k),
                at: *at,
                message: format!("unknown field, expected one of {expected}"),
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

fn string(path: &Key, n: &Node) -> R<String> {
    match &n.v {
        Val::Str(s) => Ok(s.clone()),
        _ => bad(path, n, "a string"),
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

fn dur(path: &Key, n: &Node) -> R<Dur> {
    int_or_str(path, n, "duration", parse_duration_str).map(Dur)
}

fn table<'a>(path: &Key, n: &'a Node) -> R<Cx<'a>> {
    match &n.v {
        Val::Tbl(t) => Ok(Cx::new(path.path(), n.at, t)),
        _ => bad(path, n, "a table"),
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

// ---------------------------------------------------------------------------
// Value types.

macro_rules! int_value {
    ($($ty:ty),*) => {$(
        impl Value for $ty {
            fn read(k: &Key, n: &Node, _: &mut Spans) -> R<Self> {
                int_in(k, n, stringify!($ty))
            }
            fn write(&self, w: &mut W, _: &str, k: &str) {
                w.raw(k, &self.to_string());
            }
        }
    )*};
}
int_value!(u32, u64, i32);

impl Value for bool {
    fn read(k: &Key, n: &Node, _: &mut Spans) -> R<Self> {
        match n.v {
            Val::Bool(b) => Ok(b),
            _ => bad(k, n, "a boolean"),
        }
    }
    fn write(&self, w: &mut W, _: &str, k: &str) {
        w.raw(k, if *self { "true" } else { "false" });
    }
}

impl Value for String {
    fn read(k: &Key, n: &Node, _: &mut Spans) -> R<Self> {
        string(k, n)
    }
    fn write(&self, w: &mut W, _: &str, k: &str) {
        w.str(k, self);
    }
}

impl Value for Vec<String> {
    fn read(k: &Key, n: &Node, _: &mut Spans) -> R<Self> {
        match &n.v {
            Val::Arr(a, false) => a.iter().map(|x| string(k, x)).collect(),
            _ => bad(k, n, "an array of strings"),
        }
    }
    fn write(&self, w: &mut W, _: &str, k: &str) {
        w.strs(k, self);
    }
}

impl Value for Size {
    fn read(k: &Key, n: &Node, _: &mut Spans) -> R<Self> {
        int_or_str(k, n, "size", parse_size_str).map(Size)
    }
    fn write(&self, w: &mut W, _: &str, k: &str) {
        w.str(k, &fmt_size(self.0));
    }
}

impl Value for Dur {
    fn read(k: &Key, n: &Node, _: &mut Spans) -> R<Self> {
        dur(k, n)
    }
    fn write(&self, w: &mut W, _: &str, k: &str) {
        w.str(k, &fmt_dur(self.0));
    }
}

impl Value for [Dur; 2] {
    fn read(k: &Key, n: &Node, _: &mut Spans) -> R<Self> {
        match &n.v {
            Val::Arr(a, false) if a.len() == 2 => Ok([dur(k, &a[0])?, dur(k, &a[1])?]),
            Val::Arr(a, false) => Err(Box::new(FieldErr {
                path: k.path(),
                at: n.at,
                message: format!(
                    "invalid length {}, expected an array of two durations",
                    a.len()
                ),
            })),
            _ => bad(k, n, "an array of two durations"),
        }
    }
    fn write(&self, w: &mut W, _: &str, k: &str) {
        w.strs(k, &[fmt_dur(self[0].0), fmt_dur(self[1].0)]);
    }
}

fn dotted(path: &str, k: &str) -> String {
    if path.is_empty() {
        k.to_string()
    } else {
        format!("{path}.{k}")
    }
}

/// A table: `[path.k]` and its body.
impl<T: Section> Value for T {
    fn read(k: &Key, n: &Node, sp: &mut Spans) -> R<Self> {
        let mut c = table(k, n)?;
        let v = T::read_fields(&mut c, sp)?;
        c.done()?;
        Ok(v)
    }
    fn write(&self, w: &mut W, path: &str, k: &str) {
        let full = dotted(path, k);
        w.header(&format!("[{full}]"));
        self.write_fields(w, &full);
    }
}

/// An array of tables: `[[path.k]]` per element.
impl<T: Section> Value for Vec<T> {
    fn read(k: &Key, n: &Node, sp: &mut Spans) -> R<Self> {
        let Val::Arr(a, _) = &n.v else {
            return bad(k, n, "an array of tables");
        };
        let path = k.path();
        let mut out = Vec::with_capacity(a.len());
        for (i, x) in a.iter().enumerate() {
            let Val::Tbl(t) = &x.v else {
                return bad(k, x, "a table");
            };
            let p = format!("{path}[{i}]");
            sp.record(p.clone(), x.at, x);
            let mut c = Cx::new(p, x.at, t);
            out.push(T::read_fields(&mut c, sp)?);
            c.done()?;
        }
        Ok(out)
    }
    fn write(&self, w: &mut W, path: &str, k: &str) {
        let full = dotted(path, k);
        for v in self {
            w.header(&format!("[[{full}]]"));
            v.write_fields(w, &full);
        }
    }
}

/// `[programs]`: any key, each a string.
impl Value for BTreeMap<String, String> {
    fn read(k: &Key, n: &Node, sp: &mut Spans) -> R<Self> {
        let c = table(k, n)?;
        let mut m = BTreeMap::new();
        for (name, key_at, v) in c.t.items() {
            sp.record(c.sub(name), *key_at, v);
            let key = Key {
                parent: &c.path,
                k: name,
            };
            m.insert(name.clone(), string(&key, v)?);
        }
        Ok(m)
    }
    fn write(&self, w: &mut W, path: &str, k: &str) {
        w.header(&format!("[{}]", dotted(path, k)));
        for (k, v) in self {
            w.str(k, v);
        }
    }
}

/// The written names of a scenario enum, and how it is read and written.
macro_rules! names {
    ($table:ident, $ty:ty, [$($name:literal => $v:expr),* $(,)?]) => {
        pub(crate) const $table: &[(&str, $ty)] = &[$(($name, $v)),*];
        impl Value for $ty {
            fn read(k: &Key, n: &Node, _: &mut Spans) -> R<Self> {
                variant(k, n, $table)
            }
            fn write(&self, w: &mut W, _: &str, k: &str) {
                w.str(k, name_of($table, *self));
            }
        }
    };
}

names!(UNSTABLE_CHECKS, UnstableCheck, [
    "none" => UnstableCheck::None,
    "post_fault" => UnstableCheck::PostFault,
    "pre_pte" => UnstableCheck::PrePte,
]);
names!(TRYLOCKS, ReaperTrylock, [
    "fair" => ReaperTrylock::Fair,
    "unfair" => ReaperTrylock::Unfair,
]);
names!(WRITE_PATHS, WritePath, [
    "generic" => WritePath::Generic,
    "iomap" => WritePath::Iomap,
    "btrfs" => WritePath::Btrfs,
    "generic_3_10" => WritePath::Generic310,
    "isize_before_copy" => WritePath::IsizeBeforeCopy,
]);
names!(FS_TYPES, FsType, [
    "ext4" => FsType::Ext4,
    "xfs" => FsType::Xfs,
    "btrfs" => FsType::Btrfs,
]);
names!(DATA_MODES, DataMode, [
    "ordered" => DataMode::Ordered,
    "writeback" => DataMode::Writeback,
    "journal" => DataMode::Journal,
]);
names!(HISTORIES, DiskHistory, [
    "deleted_text" => DiskHistory::DeletedText,
    "random" => DiskHistory::Random,
    "zeros" => DiskHistory::Zeros,
]);
names!(ANCHORS, CrashAnchor, [
    "boot" => CrashAnchor::Boot,
    "kill" => CrashAnchor::Kill,
]);
names!(STACK_AREAS, StackArea, [
    "mmap" => StackArea::Mmap,
    "heap" => StackArea::Heap,
]);

pub(crate) fn name_of<T: Copy + PartialEq>(all: &[(&'static str, T)], v: T) -> &'static str {
    all.iter()
        .find(|(_, x)| *x == v)
        .map(|(k, _)| *k)
        .expect("every variant is named")
}

// ---------------------------------------------------------------------------
// The sections.

fn is_default<T: PartialEq>(v: &T, d: fn() -> T) -> bool {
    *v == d()
}

/// One section's keys, in the order they are read and written (a table's
/// own keys before the tables under it, as TOML requires). Each key is
/// - `req`: required, always written;
/// - `or(default)`: optional with a default, always written;
/// - `opt`: an `Option` field, written when it is `Some`;
/// - `skip(default)`: optional with a default, written unless it is the default.
macro_rules! section {
    ($ty:ty { $($key:literal => $field:ident: $mode:ident $(($d:expr))?),* $(,)? }) => {
        impl Section for $ty {
            const KEYS: &'static [&'static str] = &[$($key),*];
            fn read_fields(c: &mut Cx, sp: &mut Spans) -> R<Self> {
                Ok(Self { $($field: section!(@read c, sp, $key, $mode $(, $d)?),)* })
            }
            fn write_fields(&self, w: &mut W, path: &str) {
                $(section!(@write self, w, path, $key, $field, $mode $(, $d)?);)*
            }
        }
    };
    (@read $c:ident, $sp:ident, $key:literal, req) => { $c.req($key, $sp)? };
    (@read $c:ident, $sp:ident, $key:literal, opt) => { $c.opt($key, $sp)? };
    (@read $c:ident, $sp:ident, $key:literal, or, $d:expr) => { $c.or($key, $d, $sp)? };
    (@read $c:ident, $sp:ident, $key:literal, skip, $d:expr) => { $c.or($key, $d, $sp)? };
    (@write $s:ident, $w:ident, $p:ident, $key:literal, $f:ident, req) => {
        Value::write(&$s.$f, $w, $p, $key)
    };
    (@write $s:ident, $w:ident, $p:ident, $key:literal, $f:ident, or, $d:expr) => {
        Value::write(&$s.$f, $w, $p, $key)
    };
    (@write $s:ident, $w:ident, $p:ident, $key:literal, $f:ident, opt) => {
        if let Some(v) = &$s.$f {
            Value::write(v, $w, $p, $key)
        }
    };
    (@write $s:ident, $w:ident, $p:ident, $key:literal, $f:ident, skip, $d:expr) => {
        if !is_default(&$s.$f, $d) {
            Value::write(&$s.$f, $w, $p, $key)
        }
    };
}

section!(Scenario {
    "version" => version: req,
    "title" => title: or(String::new),
    "story" => story: or(String::new),
    "machine" => machine: req,
    "kernel" => kernel: or(KernelCfg::default),
    "fs" => fs: or(FsCfg::default),
    "crash" => crash: opt,
    "limits" => limits: or(Limits::default),
    "process" => processes: or(Vec::new),
    "programs" => programs: skip(BTreeMap::new),
    "expect" => expect: skip(Expect::default),
    "challenge" => challenge: opt,
});

section!(Machine {
    "cpus" => cpus: req,
    "sockets" => sockets: or(one),
    "hz" => hz: or(default_hz),
    "memory" => memory: req,
    "kernel_reserved" => kernel_reserved: opt,
    "page_cache" => page_cache: or(Size::default),
    "slab" => slab: or(Size::default),
    "thp" => thp: or(bool::default),
    "min_free_kbytes" => min_free_kbytes: opt,
    "ipi_same_socket" => ipi_same_socket: or(default_ipi_same),
    "ipi_cross_socket" => ipi_cross_socket: or(default_ipi_cross),
    "ipi_send_cost" => ipi_send_cost: or(Dur::default),
    "vcpu_preempt_ppm" => vcpu_preempt_ppm: or(u32::default),
    "vcpu_pause" => vcpu_pause: or(default_vcpu_pause),
    "dirty_ratio" => dirty_ratio: or(default_dirty_ratio),
    "dirty_background_ratio" => dirty_background_ratio: or(default_dirty_bg_ratio),
    "disk_bandwidth" => disk_bandwidth: or(default_disk_bw),
});

section!(KernelCfg {
    "preset" => preset: or(default_preset),
    "unstable_check" => unstable_check: opt,
    "reaper" => reaper: opt,
    "reaper_trylock" => reaper_trylock: opt,
    "write_path" => write_path: opt,
    "fs_shrinkers_direct_reclaim" => fs_shrinkers_direct_reclaim: opt,
    "pf_memalloc_pid" => pf_memalloc_pid: opt,
    "khugepaged_scan_sleep" => khugepaged_scan_sleep: opt,
    "alloc_oom" => alloc_oom: opt,
    "reaper_mmget" => reaper_mmget: opt,
    "reaper_oom_lock" => reaper_oom_lock: opt,
    "oom_reaper_delay" => oom_reaper_delay: opt,
    "reap_mlocked" => reap_mlocked: opt,
    "process_mrelease" => process_mrelease: opt,
});

section!(FsCfg {
    "type" => fs_type: or(FsType::default),
    "data" => data: opt,
    "discard" => discard: opt,
    "history" => history: opt,
    "write_cache" => write_cache: opt,
    "read_zero_after_trim" => read_zero_after_trim: opt,
    "commit_interval" => commit_interval: opt,
    "dirty_writeback_interval" => dirty_writeback_interval: opt,
    "dirty_expire_interval" => dirty_expire_interval: opt,
});

section!(CrashCfg {
    "at" => at: opt,
    "after" => after: opt,
    "window" => window: opt,
});

section!(Limits {
    "duration" => duration: or(default_duration),
    "max_steps" => max_steps: or(default_max_steps),
    "max_trace" => max_trace: or(default_max_trace),
    "hang_threshold" => hang_threshold: or(default_hang),
});

section!(ProcessCfg {
    "name" => name: req,
    "oom_score_adj" => oom_score_adj: or(i32::default),
    "mmu_notifier" => mmu_notifier: or(bool::default),
    "stack" => stack: or(default_stack),
    "stacks" => stacks: or(StackArea::default),
    "thread" => threads: req,
});

section!(ThreadCfg {
    "program" => program: req,
    "count" => count: or(one),
    "name" => name: opt,
});

section!(Expect {
    "always" => always: skip(Vec::new),
    "sometimes" => sometimes: skip(Vec::new),
    "never" => never: skip(Vec::new),
});

section!(crate::challenge::Challenge {
    "goal" => goal: req,
    "control" => control: req,
    "after" => after: opt,
    "budget" => budget: or(crate::challenge::default_budget),
    "seed" => seed: or(u64::default),
    "hint" => hint: skip(String::new),
});

/// The known keys of each table, by its path in a scenario (`process.thread`
/// for every thread table); `programs` takes any key.
pub const TABLES: &[(&str, &[&str])] = &[
    ("", Scenario::KEYS),
    ("machine", Machine::KEYS),
    ("kernel", KernelCfg::KEYS),
    ("fs", FsCfg::KEYS),
    ("crash", CrashCfg::KEYS),
    ("limits", Limits::KEYS),
    ("process", ProcessCfg::KEYS),
    ("process.thread", ThreadCfg::KEYS),
    ("expect", Expect::KEYS),
    ("challenge", crate::challenge::Challenge::KEYS),
];

/// The version field as written: `Ok(None)` when it is absent, an error
/// when it is not an integer. Read before anything else, so that a scenario
/// from a newer build is refused rather than misread.
pub(crate) fn version(root: &Table) -> R<Option<(i64, usize)>> {
    match root.get("version") {
        None => Ok(None),
        Some((_, n)) => match n.v {
            Val::Int(i) => Ok(Some((i, n.at))),
            _ => bad(
                &Key {
                    parent: "",
                    k: "version",
                },
                n,
                "an integer (the format version, 1)",
            ),
        },
    }
}

/// Converts a parsed scenario text to the scenario types, recording in `sp`
/// where each value was.
pub(crate) fn read_scenario(root: &Table, sp: &mut Spans) -> R<Scenario> {
    let mut c = Cx::new(String::new(), 0, root);
    let s = Scenario::read_fields(&mut c, sp)?;
    c.done()?;
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

/// A string value as the canonical text writes it: the plainest TOML string
/// form that holds it.
pub fn quote(s: &str) -> String {
    let mut out = String::new();
    write_str(&mut out, s);
    out
}

/// A basic (`"`) or multi-line basic (`"""`) string with the escapes it needs.
fn write_escaped(out: &mut String, s: &str, delim: &str, newline: bool) {
    let ml = delim.len() == 3;
    out.push_str(delim);
    if ml && newline {
        out.push('\n');
    }
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
    out.push_str(delim);
}

/// A key: bare when it can be, else the plainest quoted form.
fn write_key(out: &mut String, k: &str) {
    let bare = |b: u8| b.is_ascii_alphanumeric() || b == b'-' || b == b'_';
    if !k.is_empty() && k.bytes().all(bare) {
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

/// The canonical text being written.
pub(crate) struct W {
    out: String,
}

impl W {
    fn key(&mut self, k: &str) {
        write_key(&mut self.out, k);
        self.out.push_str(" = ");
    }
    fn raw(&mut self, k: &str, v: &str) {
        self.key(k);
        self.out.push_str(v);
        self.out.push('\n');
    }
    fn str(&mut self, k: &str, v: &str) {
        self.key(k);
        write_str(&mut self.out, v);
        self.out.push('\n');
    }
    fn strs<S: AsRef<str>>(&mut self, k: &str, v: &[S]) {
        self.key(k);
        self.out.push('[');
        for (i, s) in v.iter().enumerate() {
            if i > 0 {
                self.out.push_str(", ");
            }
            write_str(&mut self.out, s.as_ref());
        }
        self.out.push_str("]\n");
    }
    fn header(&mut self, h: &str) {
        if !self.out.is_empty() {
            self.out.push('\n');
        }
        self.out.push_str(h);
        self.out.push('\n');
    }
}

/// The canonical text of a scenario.
pub(crate) fn write_scenario(s: &Scenario) -> String {
    let mut w = W { out: String::new() };
    s.write_fields(&mut w, "");
    w.out
}
