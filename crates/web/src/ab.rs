//! A/B compare: the current run (A) and the same recorded choice list
//! replayed with some kernel toggles flipped (B). What the page shows: both
//! runs, core's first diverging trace record, and per file where the bytes
//! differ. Target independent, tested natively.
//!
//! Not done: matching up the two traces after the divergence (the timelines
//! are shown on the same time axis instead).

use crate::view::RunView;
use oomlab_core::compare::{apply_overrides, first_divergence};
use oomlab_core::hexdump::{ByteClass, HexDump};
use oomlab_core::permalink::Permalink;
use oomlab_core::scenario::{ReaperTrylock, Toggles, UnstableCheck};
use oomlab_core::{ChoiceSource, ValidScenario};
use std::rc::Rc;

/// A toggle the compare panel offers, by its scenario path.
pub struct ToggleDef {
    pub path: &'static str,
    pub label: &'static str,
    pub values: &'static [&'static str],
    pub id: &'static str,
}

pub const TOGGLES: [ToggleDef; 5] = [
    ToggleDef {
        path: "kernel.unstable_check",
        label: "unstable_check",
        values: &["none", "post_fault", "pre_pte"],
        id: "ab-unstable-check",
    },
    ToggleDef {
        path: "kernel.reaper",
        label: "oom_reaper",
        values: &["true", "false"],
        id: "ab-reaper",
    },
    ToggleDef {
        path: "kernel.reaper_trylock",
        label: "reaper trylock (fix 1: unfair)",
        values: &["fair", "unfair"],
        id: "ab-reaper-trylock",
    },
    ToggleDef {
        path: "kernel.fs_shrinkers_direct_reclaim",
        label: "fs shrinkers in direct reclaim (fix 2: false)",
        values: &["true", "false"],
        id: "ab-fs-shrinkers",
    },
    ToggleDef {
        path: "kernel.pf_memalloc_pid",
        label: "pf_memalloc_pid (fix 3: true)",
        values: &["false", "true"],
        id: "ab-pf-memalloc-pid",
    },
];

/// The value a toggle has in the run's scenario.
pub fn current(t: &Toggles, path: &str) -> String {
    match path {
        "kernel.unstable_check" => match t.unstable_check {
            UnstableCheck::None => "none",
            UnstableCheck::PostFault => "post_fault",
            UnstableCheck::PrePte => "pre_pte",
        }
        .into(),
        "kernel.reaper" => t.reaper.to_string(),
        "kernel.reaper_trylock" => match t.reaper_trylock {
            ReaperTrylock::Fair => "fair",
            ReaperTrylock::Unfair => "unfair",
        }
        .into(),
        "kernel.fs_shrinkers_direct_reclaim" => t.fs_shrinkers_direct_reclaim.to_string(),
        "kernel.pf_memalloc_pid" => t.pf_memalloc_pid.to_string(),
        _ => String::new(),
    }
}

/// The flip the panel suggests first: the fix, unless it is on already.
pub fn suggested(t: &Toggles) -> Vec<String> {
    if t.unstable_check == UnstableCheck::PrePte {
        vec!["kernel.unstable_check=none".into()]
    } else {
        vec!["kernel.unstable_check=pre_pte".into()]
    }
}

/// Sets (or with `value` equal to A's, removes) one override.
pub fn set_override(list: &mut Vec<String>, t: &Toggles, path: &str, value: &str) {
    list.retain(|o| o.split_once('=').map(|x| x.0) != Some(path));
    if current(t, path) != value && !value.is_empty() {
        list.push(format!("{path}={value}"));
    }
    list.sort();
}

/// B's scenario and source: A's scenario with the overrides, replaying A's
/// recorded decisions.
pub fn b_request(
    a: &RunView,
    overrides: &[String],
) -> Result<(ValidScenario, ChoiceSource), String> {
    let sc = apply_overrides(&a.scenario, overrides).map_err(|e| crate::view::errors_line(&e))?;
    Ok((
        sc,
        ChoiceSource::Replay {
            seed: a.source.seed(),
            choices: a.choices.clone(),
        },
    ))
}

/// Where two files' bytes differ (value or provenance).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileDiff {
    pub path: String,
    pub first: Option<u64>,
    pub bytes: u64,
}

/// Bytes that differ between two dumps, by walking their spans together;
/// bytes past the shorter one differ.
pub fn dump_diff(a: &HexDump, b: &HexDump) -> (Option<u64>, u64) {
    let (sa, sb) = (a.spans(), b.spans());
    let (mut i, mut j) = (0, 0);
    let mut pos = 0u64;
    let end = a.len.min(b.len);
    let mut first = None;
    let mut bytes = 0u64;
    while pos < end && i < sa.len() && j < sb.len() {
        let (x, y) = (&sa[i], &sb[j]);
        let stop = x.end.min(y.end).min(end);
        if stop > pos && (x.value != y.value || x.class != y.class) {
            first.get_or_insert(pos);
            bytes += stop - pos;
        }
        pos = stop;
        if x.end <= pos {
            i += 1;
        }
        if y.end <= pos {
            j += 1;
        }
    }
    let longer = a.len.max(b.len);
    if longer > end {
        first.get_or_insert(end);
        bytes += longer - end;
    }
    (first, bytes)
}

/// Does byte `off` differ between the two dumps?
pub fn byte_differs(a: &HexDump, b: &HexDump, off: u64) -> bool {
    let x: Option<(u8, ByteClass)> = a.byte(off);
    x != b.byte(off)
}

#[derive(Clone, Debug)]
pub struct AbView {
    pub overrides: Vec<String>,
    pub a: Rc<RunView>,
    pub b: Rc<RunView>,
    /// Index of the first trace record where the runs differ.
    pub divergence: Option<u64>,
    /// One entry per file of A or B, by path.
    pub files: Vec<FileDiff>,
    /// A permalink carrying A's run and the overrides.
    pub link: String,
}

impl PartialEq for AbView {
    fn eq(&self, o: &Self) -> bool {
        self.link == o.link && self.a == o.a && self.b == o.b
    }
}

impl AbView {
    pub fn new(a: Rc<RunView>, b: Rc<RunView>, overrides: Vec<String>) -> AbView {
        let divergence = first_divergence(&a.trace, &b.trace);
        let mut files = Vec::new();
        for fa in &a.files {
            let fb = b.files.iter().find(|f| f.path == fa.path);
            let (first, bytes) = match fb {
                Some(fb) => dump_diff(&fa.dump, &fb.dump),
                None => (Some(0), fa.dump.len),
            };
            files.push(FileDiff {
                path: fa.path.clone(),
                first,
                bytes,
            });
        }
        for fb in &b.files {
            if !a.files.iter().any(|f| f.path == fb.path) {
                files.push(FileDiff {
                    path: fb.path.clone(),
                    first: Some(0),
                    bytes: fb.dump.len,
                });
            }
        }
        let mut p = Permalink::new(&a.scenario, a.source.clone());
        p.compare = overrides.clone();
        AbView {
            link: p.encode(),
            overrides,
            a,
            b,
            divergence,
            files,
        }
    }

    /// The first file whose bytes differ, with the offset.
    pub fn first_file_diff(&self) -> Option<(usize, u64)> {
        self.files
            .iter()
            .enumerate()
            .filter_map(|(i, f)| f.first.map(|o| (i, o)))
            .min_by_key(|x| x.1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::view::tests_support::{corrupting_r1_seed, run};
    use crate::view::RunView;
    use oomlab_core::Sim;

    fn replay(sc: &ValidScenario, src: &ChoiceSource) -> RunView {
        let mut sim = Sim::new(sc, src.clone());
        while sim.step() {}
        RunView::build(sc, src, &mut sim, Vec::new())
    }

    #[test]
    fn pre_pte_on_the_same_choices_engages_the_fix_and_diverges() {
        let a = Rc::new(run("r1", corrupting_r1_seed()));
        assert_eq!(a.result.outcomes[0].code(), "zeros_in_file");
        let ov = suggested(&a.scenario.toggles);
        assert_eq!(ov, vec!["kernel.unstable_check=pre_pte".to_string()]);
        let (bsc, bsrc) = b_request(&a, &ov).unwrap();
        let b = Rc::new(replay(&bsc, &bsrc));
        let codes: Vec<&str> = b.result.outcomes.iter().map(|o| o.code()).collect();
        assert!(codes.contains(&"fix_engaged"), "{codes:?}");
        assert!(!codes.contains(&"zeros_in_file"), "{codes:?}");
        let ab = AbView::new(a.clone(), b.clone(), ov.clone());
        let d = ab.divergence.expect("the runs part");
        let i = a.trace_pos(d).unwrap();
        assert_eq!(a.trace[..i], b.trace[..i]);
        // A's zeros are bytes that differ, and the file diff finds them.
        let (fi, off) = a.first_bad().unwrap();
        let path = &a.files[fi].path;
        let bf = b.files.iter().find(|f| &f.path == path).unwrap();
        assert!(byte_differs(&a.files[fi].dump, &bf.dump, off));
        let d = ab.files.iter().find(|f| &f.path == path).unwrap();
        assert!(d.first.unwrap() <= off && d.bytes > 0, "{d:?}");
        assert!(ab.first_file_diff().is_some());
        // The A/B permalink carries the comparison and A's run.
        let p = Permalink::decode(&ab.link).unwrap();
        assert_eq!(p.compare, ov);
        assert_eq!(p.source, a.source);
    }

    #[test]
    fn overrides_are_set_and_cleared_against_the_run() {
        let t = oomlab_core::presets::find("r1").unwrap().load().toggles;
        let mut l = Vec::new();
        set_override(&mut l, &t, "kernel.reaper", "false");
        set_override(&mut l, &t, "kernel.unstable_check", "pre_pte");
        assert_eq!(
            l,
            vec![
                "kernel.reaper=false".to_string(),
                "kernel.unstable_check=pre_pte".into()
            ]
        );
        // Back to A's value: no override.
        set_override(&mut l, &t, "kernel.reaper", "true");
        assert_eq!(l, vec!["kernel.unstable_check=pre_pte".to_string()]);
        for d in &TOGGLES {
            assert!(
                d.values.contains(&current(&t, d.path).as_str()),
                "{}",
                d.path
            );
        }
    }

    #[test]
    fn dump_diff_counts_bytes_and_length() {
        let a = run("r1", corrupting_r1_seed());
        let f = &a.files[0].dump;
        assert_eq!(dump_diff(f, f), (None, 0));
    }
}
