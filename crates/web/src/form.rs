//! The form's knobs as edits of the scenario's TOML text. The text is the
//! source of truth: the form reads values from it and writes them back with
//! line-level edits, so comments and layout elsewhere survive. Target
//! independent, tested natively.

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

fn header(line: &str) -> Option<&str> {
    let t = line.trim();
    let t = t.split('#').next().unwrap_or("").trim();
    if let Some(inner) = t.strip_prefix("[[").and_then(|s| s.strip_suffix("]]")) {
        return Some(inner.trim());
    }
    t.strip_prefix('[')
        .and_then(|s| s.strip_suffix(']'))
        .map(str::trim)
}

fn key_of(line: &str) -> Option<&str> {
    let t = line.trim_start();
    if t.starts_with('#') || t.starts_with('[') {
        return None;
    }
    let (k, _) = t.split_once('=')?;
    Some(k.trim())
}

fn value_of(line: &str) -> &str {
    let v = line.split_once('=').map(|x| x.1).unwrap_or("");
    // Drop a trailing comment outside quotes.
    let mut in_str = false;
    let mut end = v.len();
    for (i, c) in v.char_indices() {
        match c {
            '"' => in_str = !in_str,
            '#' if !in_str => {
                end = i;
                break;
            }
            _ => {}
        }
    }
    v[..end].trim()
}

fn unquote(v: &str) -> String {
    v.trim().trim_matches('"').to_string()
}

/// Line ranges `(header_line, end_exclusive)` of every table named `section`.
fn tables(lines: &[&str], section: &str) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        if header(lines[i]) == Some(section) {
            let mut j = i + 1;
            while j < lines.len() && header(lines[j]).is_none() {
                j += 1;
            }
            out.push((i, j));
            i = j;
        } else {
            i += 1;
        }
    }
    out
}

/// The writer thread table: the `[[process.thread]]` whose program is "writer".
fn writer_table(lines: &[&str]) -> Option<(usize, usize)> {
    tables(lines, "process.thread").into_iter().find(|&(s, e)| {
        lines[s + 1..e]
            .iter()
            .any(|l| key_of(l) == Some("program") && unquote(value_of(l)) == "writer")
    })
}

fn target_table(lines: &[&str], field: Field) -> Option<(usize, usize)> {
    match field {
        Field::Writers => writer_table(lines),
        _ => tables(lines, field.section_key().0).into_iter().next(),
    }
}

/// The value the text gives the field, unquoted; None when it is absent.
pub fn get(text: &str, field: Field) -> Option<String> {
    let lines: Vec<&str> = text.lines().collect();
    let (s, e) = target_table(&lines, field)?;
    let key = field.section_key().1;
    let line = lines[s + 1..e].iter().find(|l| key_of(l) == Some(key))?;
    let v = value_of(line);
    match field.element() {
        Some(i) => {
            let inner = v.trim().trim_start_matches('[').trim_end_matches(']');
            inner.split(',').nth(i).map(unquote)
        }
        None => Some(unquote(v)),
    }
}

/// The text with the field set to `value` (an empty value removes the key,
/// so the kernel preset's default applies again).
pub fn set(text: &str, field: Field, value: &str) -> String {
    let value = value.trim();
    let lines: Vec<&str> = text.lines().collect();
    let key = field.section_key().1;
    let rendered = match field.element() {
        Some(i) => {
            let other = match field {
                Field::IpiSameLo => Field::IpiSameHi,
                Field::IpiSameHi => Field::IpiSameLo,
                Field::IpiCrossLo => Field::IpiCrossHi,
                _ => Field::IpiCrossLo,
            };
            let o = get(text, other).unwrap_or_else(|| value.to_string());
            let (lo, hi) = if i == 0 {
                (value.to_string(), o)
            } else {
                (o, value.to_string())
            };
            format!("[\"{lo}\", \"{hi}\"]")
        }
        None if field.quoted() => format!("\"{value}\""),
        None => value.to_string(),
    };
    let new_line = format!("{key} = {rendered}");
    let mut out: Vec<String> = lines.iter().map(|s| s.to_string()).collect();
    match target_table(&lines, field) {
        Some((s, e)) => {
            let at = (s + 1..e).find(|&i| key_of(lines[i]) == Some(key));
            match (at, value.is_empty()) {
                (Some(i), true) => {
                    out.remove(i);
                }
                (Some(i), false) => out[i] = new_line,
                (None, true) => {}
                (None, false) => {
                    // After the table's last non-blank line.
                    let mut j = e;
                    while j > s + 1 && lines[j - 1].trim().is_empty() {
                        j -= 1;
                    }
                    out.insert(j, new_line);
                }
            }
        }
        None if value.is_empty() || field == Field::Writers => {}
        None => {
            if out.last().is_some_and(|l| !l.trim().is_empty()) {
                out.push(String::new());
            }
            out.push(format!("[{}]", field.section_key().0));
            out.push(new_line);
        }
    }
    let mut s = out.join("\n");
    if text.ends_with('\n') || text.is_empty() {
        s.push('\n');
    }
    s
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
}
