//! The form's knobs as edits of the scenario's TOML text. The text is the
//! source of truth: the form reads values through core's scenario reader
//! (`oomlab_core::scenario::toml`, the one that reads every scenario) and
//! writes a change at the span that reader recorded for the value, so
//! comments and layout elsewhere survive. Target independent, tested
//! natively.

use oomlab_core::scenario::schema;
use oomlab_core::scenario::toml::{self, Node, Table, Val};

/// A form field and where it lives in the scenario.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Field {
    Cpus,
    Sockets,
    Memory,
    IpiSameLo,
    IpiSameHi,
    IpiCrossLo,
    IpiCrossHi,
    KernelPreset,
    UnstableCheck,
    Reaper,
    ReaperTrylock,
    FsShrinkersDirect,
    PfMemallocPid,
    FsType,
    Writers,
}

impl Field {
    pub const ALL: [Field; 15] = [
        Field::Cpus,
        Field::Sockets,
        Field::Memory,
        Field::IpiSameLo,
        Field::IpiSameHi,
        Field::IpiCrossLo,
        Field::IpiCrossHi,
        Field::KernelPreset,
        Field::UnstableCheck,
        Field::Reaper,
        Field::ReaperTrylock,
        Field::FsShrinkersDirect,
        Field::PfMemallocPid,
        Field::FsType,
        Field::Writers,
    ];

    /// The scenario path core uses in its errors (`ScenarioError::path`).
    pub fn path(self) -> &'static str {
        match self {
            Field::Cpus => "machine.cpus",
            Field::Sockets => "machine.sockets",
            Field::Memory => "machine.memory",
            Field::IpiSameLo | Field::IpiSameHi => "machine.ipi_same_socket",
            Field::IpiCrossLo | Field::IpiCrossHi => "machine.ipi_cross_socket",
            Field::KernelPreset => "kernel.preset",
            Field::UnstableCheck => "kernel.unstable_check",
            Field::Reaper => "kernel.reaper",
            Field::ReaperTrylock => "kernel.reaper_trylock",
            Field::FsShrinkersDirect => "kernel.fs_shrinkers_direct_reclaim",
            Field::PfMemallocPid => "kernel.pf_memalloc_pid",
            Field::FsType => "fs.type",
            Field::Writers => "process.thread.count",
        }
    }

    /// DOM id of the input.
    pub fn id(self) -> &'static str {
        match self {
            Field::Cpus => "f-cpus",
            Field::Sockets => "f-sockets",
            Field::Memory => "f-memory",
            Field::IpiSameLo => "f-ipi-same-lo",
            Field::IpiSameHi => "f-ipi-same-hi",
            Field::IpiCrossLo => "f-ipi-cross-lo",
            Field::IpiCrossHi => "f-ipi-cross-hi",
            Field::KernelPreset => "f-kernel",
            Field::UnstableCheck => "f-unstable-check",
            Field::Reaper => "f-reaper",
            Field::ReaperTrylock => "f-reaper-trylock",
            Field::FsShrinkersDirect => "f-fs-shrinkers-direct",
            Field::PfMemallocPid => "f-pf-memalloc-pid",
            Field::FsType => "f-fs",
            Field::Writers => "f-writers",
        }
    }

    fn section_key(self) -> (&'static str, &'static str) {
        match self {
            Field::Cpus => ("machine", "cpus"),
            Field::Sockets => ("machine", "sockets"),
            Field::Memory => ("machine", "memory"),
            Field::IpiSameLo | Field::IpiSameHi => ("machine", "ipi_same_socket"),
            Field::IpiCrossLo | Field::IpiCrossHi => ("machine", "ipi_cross_socket"),
            Field::KernelPreset => ("kernel", "preset"),
            Field::UnstableCheck => ("kernel", "unstable_check"),
            Field::Reaper => ("kernel", "reaper"),
            Field::ReaperTrylock => ("kernel", "reaper_trylock"),
            Field::FsShrinkersDirect => ("kernel", "fs_shrinkers_direct_reclaim"),
            Field::PfMemallocPid => ("kernel", "pf_memalloc_pid"),
            Field::FsType => ("fs", "type"),
            Field::Writers => ("process.thread", "count"),
        }
    }

    fn quoted(self) -> bool {
        !matches!(
            self,
            Field::Cpus
                | Field::Sockets
                | Field::Reaper
                | Field::FsShrinkersDirect
                | Field::PfMemallocPid
                | Field::Writers
        )
    }

    /// For one half of a `[lo, hi]` range, the other half.
    fn other_half(self) -> Field {
        match self {
            Field::IpiSameLo => Field::IpiSameHi,
            Field::IpiSameHi => Field::IpiSameLo,
            Field::IpiCrossLo => Field::IpiCrossHi,
            _ => Field::IpiCrossLo,
        }
    }

    /// For the two halves of a `[lo, hi]` range: which element.
    fn element(self) -> Option<usize> {
        match self {
            Field::IpiSameLo | Field::IpiCrossLo => Some(0),
            Field::IpiSameHi | Field::IpiCrossHi => Some(1),
            _ => None,
        }
    }

    /// Does an error at `path` belong to this field?
    pub fn matches_error(self, path: &str) -> bool {
        let p = self.path();
        if self == Field::Writers {
            return path.starts_with("process") && path.contains("thread");
        }
        path == p || path.starts_with(&format!("{p}.")) || path.starts_with(&format!("{p}["))
    }
}

/// The scenario text as core's reader sees it: the tree with the span of
/// every key and value. Parsed once per render; `None` fields while the text
/// does not parse.
pub struct Doc<'t> {
    text: &'t str,
    root: Option<Table>,
}

/// Where a field is: its table's node, and the key's offset and value node
/// when the key is there.
struct Place<'d> {
    table: &'d Node,
    key: Option<(usize, &'d Node)>,
}

fn render(v: &Val) -> Option<String> {
    match v {
        Val::Str(s) => Some(s.clone()),
        Val::Int(i) => Some(i.to_string()),
        Val::Bool(b) => Some(b.to_string()),
        Val::Arr(..) | Val::Tbl(_) => None,
    }
}

fn tables(n: &Node) -> Vec<&Node> {
    match &n.v {
        Val::Arr(a, _) => a.iter().collect(),
        Val::Tbl(_) => vec![n],
        _ => Vec::new(),
    }
}

impl<'t> Doc<'t> {
    pub fn parse(text: &'t str) -> Doc<'t> {
        Doc {
            text,
            root: toml::parse(text).ok(),
        }
    }

    pub fn parses(&self) -> bool {
        self.root.is_some()
    }

    fn place(&self, field: Field) -> Option<Place<'_>> {
        let root = self.root.as_ref()?;
        let (section, key) = field.section_key();
        let table = match field {
            // The `[[process.thread]]` whose program is "writer".
            Field::Writers => root
                .get("process")
                .into_iter()
                .flat_map(|(_, p)| tables(p))
                .filter_map(|p| match &p.v {
                    Val::Tbl(t) => t.get("thread"),
                    _ => None,
                })
                .flat_map(|(_, t)| tables(t))
                .find(|t| match &t.v {
                    Val::Tbl(t) => {
                        matches!(t.get("program"), Some((_, n)) if matches!(&n.v, Val::Str(s) if s == "writer"))
                    }
                    _ => false,
                })?,
            _ => root.get(section)?.1,
        };
        let Val::Tbl(t) = &table.v else {
            return None;
        };
        Some(Place {
            table,
            key: t.get(key),
        })
    }

    /// The value the text gives the field, unquoted; None when it is absent.
    pub fn get(&self, field: Field) -> Option<String> {
        let (_, n) = self.place(field)?.key?;
        match (field.element(), &n.v) {
            (Some(i), Val::Arr(a, false)) => render(&a.get(i)?.v),
            (Some(_), _) => None,
            (None, v) => render(v),
        }
    }

    /// The offset just past the line that holds `offset`.
    fn end_of_line(&self, offset: usize) -> usize {
        self.text[offset..]
            .find('\n')
            .map_or(self.text.len(), |i| offset + i + 1)
    }

    /// The offset at which the line holding `offset` starts.
    fn start_of_line(&self, offset: usize) -> usize {
        self.text[..offset].rfind('\n').map_or(0, |i| i + 1)
    }

    /// Is `table` made by a `[header]` line (rather than by dotted keys or
    /// an inline table), so that a key line can be added after its last key?
    fn has_header(&self, table: &Node) -> bool {
        // A table's node is at its name; only a header line starts with `[`.
        let line = &self.text[self.start_of_line(table.at)..table.at];
        line.trim_start().starts_with('[')
    }

    /// The text with the field set to `value` (an empty value removes the
    /// key, so the kernel preset's default applies again). The value is
    /// written at the span the reader recorded for it, so the rest of the
    /// text (comments, layout) is unchanged. Text that does not parse, or a
    /// key to add to a table written inline or with dotted keys, is left as
    /// it is.
    pub fn set(&self, field: Field, value: &str) -> String {
        let value = value.trim();
        let splice = |at: usize, end: usize, with: &str| {
            format!("{}{with}{}", &self.text[..at], &self.text[end..])
        };
        let quote = |v: &str| {
            if field.quoted() {
                schema::quote(v)
            } else {
                v.to_string()
            }
        };
        let rendered = match field.element() {
            Some(i) => {
                let o = self
                    .get(field.other_half())
                    .unwrap_or_else(|| value.to_string());
                let (lo, hi) = if i == 0 {
                    (value, o.as_str())
                } else {
                    (o.as_str(), value)
                };
                format!("[{}, {}]", schema::quote(lo), schema::quote(hi))
            }
            None => quote(value),
        };
        let key = field.section_key().1;
        let line = format!("{key} = {rendered}\n");
        if self.root.is_none() {
            return self.text.to_string();
        }
        match self.place(field) {
            Some(Place {
                key: Some((key_at, n)),
                ..
            }) => match (value.is_empty(), field.element(), &n.v) {
                (true, _, _) => splice(self.start_of_line(key_at), self.end_of_line(n.end), ""),
                // One element of a `[lo, hi]` array: that element only.
                (false, Some(i), Val::Arr(a, false)) if a.len() == 2 => {
                    splice(a[i].at, a[i].end, &schema::quote(value))
                }
                (false, _, _) => splice(n.at, n.end, &rendered),
            },
            Some(Place { key: None, .. }) if value.is_empty() => self.text.to_string(),
            Some(Place { table, key: None }) => {
                if !self.has_header(table) {
                    return self.text.to_string();
                }
                // After the table's last key (or its header).
                let Val::Tbl(t) = &table.v else {
                    return self.text.to_string();
                };
                let last = t
                    .items()
                    .iter()
                    .filter(|(_, _, n)| !matches!(n.v, Val::Tbl(_) | Val::Arr(_, true)))
                    .map(|(_, _, n)| n.end)
                    .fold(table.end, usize::max);
                let at = self.end_of_line(last);
                let nl = if at > 0 && !self.text[..at].ends_with('\n') {
                    "\n"
                } else {
                    ""
                };
                splice(at, at, &format!("{nl}{line}"))
            }
            None if value.is_empty() || field == Field::Writers => self.text.to_string(),
            None => {
                let mut s = self.text.to_string();
                if !s.is_empty() && !s.ends_with('\n') {
                    s.push('\n');
                }
                if s.lines().last().is_some_and(|l| !l.trim().is_empty()) {
                    s.push('\n');
                }
                s.push_str(&format!("[{}]\n{line}", field.section_key().0));
                s
            }
        }
    }
}

/// The value the text gives the field, unquoted; None when it is absent.
pub fn get(text: &str, field: Field) -> Option<String> {
    Doc::parse(text).get(field)
}

/// The text with the field set to `value`; see `Doc::set`.
pub fn set(text: &str, field: Field, value: &str) -> String {
    Doc::parse(text).set(field, value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use oomlab_core::{parse_scenario, presets};

    fn r1() -> &'static str {
        presets::find("r1").unwrap().text
    }

    #[test]
    fn reads_r1() {
        let t = r1();
        assert_eq!(get(t, Field::Cpus).as_deref(), Some("8"));
        assert_eq!(get(t, Field::Sockets).as_deref(), Some("2"));
        assert_eq!(get(t, Field::Memory).as_deref(), Some("64M"));
        assert_eq!(get(t, Field::IpiSameLo).as_deref(), Some("1us"));
        assert_eq!(get(t, Field::IpiCrossHi).as_deref(), Some("10us"));
        assert_eq!(get(t, Field::KernelPreset).as_deref(), Some("4.13-rc"));
        assert_eq!(get(t, Field::UnstableCheck), None);
        assert_eq!(get(t, Field::FsType).as_deref(), Some("btrfs"));
        assert_eq!(get(t, Field::Writers).as_deref(), Some("8"));
    }

    #[test]
    fn writes_stay_valid_and_round_trip() {
        let mut t = r1().to_string();
        for (f, v) in [
            (Field::Cpus, "4"),
            (Field::Sockets, "1"),
            (Field::Memory, "128M"),
            (Field::IpiSameHi, "5us"),
            (Field::IpiCrossLo, "3us"),
            (Field::UnstableCheck, "pre_pte"),
            (Field::Reaper, "false"),
            (Field::ReaperTrylock, "unfair"),
            (Field::FsShrinkersDirect, "false"),
            (Field::PfMemallocPid, "true"),
            (Field::FsType, "ext4"),
            (Field::Writers, "3"),
        ] {
            t = set(&t, f, v);
            assert_eq!(get(&t, f).as_deref(), Some(v), "{f:?} in\n{t}");
        }
        assert!(t.contains("unstable_check = \"pre_pte\""));
        assert!(t.contains("ipi_same_socket = [\"1us\", \"5us\"]"));
        // Comments elsewhere survive.
        assert!(t.contains("# What this scenario must reach"));
        let sc = parse_scenario(&t).unwrap_or_else(|e| panic!("{e:?}\n{t}"));
        assert_eq!(sc.scenario.machine.cpus, 4);
        assert_eq!(sc.scenario.fs.fs_type.name(), "ext4");
        assert!(!sc.toggles.fs_shrinkers_direct_reclaim);
        assert!(sc.toggles.pf_memalloc_pid);
        // Removing a toggle restores the preset default.
        let t2 = set(&t, Field::UnstableCheck, "");
        assert_eq!(get(&t2, Field::UnstableCheck), None);
        assert!(parse_scenario(&t2).is_ok());
    }

    #[test]
    fn missing_section_is_appended() {
        let t = "version = 1\n[machine]\ncpus = 2\nmemory = \"64M\"\n";
        let t = set(t, Field::UnstableCheck, "pre_pte");
        assert!(
            t.ends_with("[kernel]\nunstable_check = \"pre_pte\"\n"),
            "{t}"
        );
    }

    #[test]
    fn error_paths_map_to_fields() {
        assert!(Field::Cpus.matches_error("machine.cpus"));
        assert!(!Field::Cpus.matches_error("machine.cpus_x"));
        assert!(Field::IpiSameLo.matches_error("machine.ipi_same_socket"));
        assert!(Field::Writers.matches_error("process[0].thread[0].count"));
    }

    #[test]
    fn an_edit_changes_the_value_span_only() {
        let t = "version = 1\n[machine]\ncpus = 0x8 # eight\nipi_same_socket = [ \"1us\" , '4us' ] # range\nmemory = \"64M\"\n";
        // The reader's values: a hexadecimal integer, a literal string.
        assert_eq!(get(t, Field::Cpus).as_deref(), Some("8"));
        assert_eq!(get(t, Field::IpiSameHi).as_deref(), Some("4us"));
        let t2 = set(t, Field::Cpus, "4");
        assert_eq!(t2, t.replace("0x8", "4"));
        // One element of the array: the other keeps its form.
        let t3 = set(t, Field::IpiSameLo, "2us");
        assert_eq!(t3, t.replace("\"1us\"", "\"2us\""));
        assert_eq!(get(&t3, Field::IpiSameHi).as_deref(), Some("4us"));
        // A value that needs quoting is written as TOML and reads back.
        let t4 = set(t, Field::KernelPreset, "a\"b");
        assert_eq!(
            get(&t4, Field::KernelPreset).as_deref(),
            Some("a\"b"),
            "{t4}"
        );
        // Removing a key removes its line, comment and all.
        let t5 = set(t, Field::Cpus, "");
        assert_eq!(t5, t.replace("cpus = 0x8 # eight\n", ""));
    }

    #[test]
    fn tables_written_otherwise_are_read_too() {
        // An inline table, and the writer thread of the second process.
        let t = "version = 1\nmachine = { cpus = 2, memory = \"64M\" }\n\
                 [[process]]\nname = \"a\"\n[[process.thread]]\nprogram = \"hog\"\ncount = 5\n\
                 [[process]]\nname = \"b\"\n[[process.thread]]\nprogram = \"writer\"\n";
        assert_eq!(get(t, Field::Cpus).as_deref(), Some("2"));
        let t2 = set(t, Field::Cpus, "3");
        assert_eq!(t2, t.replace("cpus = 2", "cpus = 3"));
        // An inline table gets no new line inside it.
        assert_eq!(set(t, Field::Sockets, "2"), t);
        // The writer's count is added to its own table.
        assert_eq!(get(t, Field::Writers), None);
        let t3 = set(t, Field::Writers, "4");
        assert!(t3.ends_with("program = \"writer\"\ncount = 4\n"), "{t3}");
        assert_eq!(get(&t3, Field::Writers).as_deref(), Some("4"));
        assert!(parse_scenario(&t3).is_ok());
    }

    #[test]
    fn text_that_does_not_parse_is_left_alone() {
        let t = "version = 1\n[machine]\ncpus = = 8\n";
        assert!(!Doc::parse(t).parses());
        assert_eq!(get(t, Field::Cpus), None);
        assert_eq!(set(t, Field::Cpus, "4"), t);
        assert!(Doc::parse(r1()).parses());
    }
}
