//! Golden traces. `tests/golden/<small scenario>-<seed>.trace` holds the full
//! text trace of a small scenario (`small`: writers and a hog on btrfs;
//! `small-crash`: on ext4 data=writeback, with writeback, journal commits, a
//! power loss and the recovery); `tests/golden/hashes.txt` the trace hashes of
//! the presets.
//! Regenerate with `OOMLAB_BLESS=1 cargo test -p oomlab-core --test golden`.
#![cfg(not(target_arch = "wasm32"))]

use oomlab_core::{parse_scenario, presets, trace::trace_text, ChoiceSource, Sim};
use std::path::PathBuf;

fn golden_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/golden")
}

fn bless() -> bool {
    std::env::var_os("OOMLAB_BLESS").is_some()
}

/// (preset, seed) pairs whose hashes are pinned; the wasm test checks the same.
pub const PAIRS: &[(&str, u64)] = &[
    ("r1", 0),
    ("r1", 7),
    ("r2", 0),
    ("r3", 1),
    ("r4", 2),
    ("r5", 0),
    ("r5", 2),
    ("r5-nocrash", 0),
    ("r7", 0),
    ("r8", 0),
    ("small", 1),
    ("small", 2),
    ("small-crash", 1),
];

fn scenario(id: &str) -> oomlab_core::ValidScenario {
    if id.starts_with("small") {
        let text = std::fs::read_to_string(golden_dir().join(format!("{id}.toml"))).unwrap();
        parse_scenario(&text).unwrap()
    } else {
        presets::find(id).unwrap().load()
    }
}

#[test]
fn golden_traces() {
    let mut lines = String::new();
    let mut failures = Vec::new();
    for (id, seed) in PAIRS {
        let sc = scenario(id);
        let mut sim = Sim::new(&sc, ChoiceSource::Seed(*seed));
        let r = sim.run_to_end(u64::MAX);
        let codes: Vec<&str> = r.outcomes.iter().map(|o| o.code()).collect();
        lines.push_str(&format!(
            "{id} {seed} {:016x} {} {}\n",
            r.trace_hash,
            r.trace_len,
            codes.join(",")
        ));
        if id.starts_with("small") {
            let text = trace_text(sim.trace());
            let path = golden_dir().join(format!("{id}-{seed}.trace"));
            if bless() {
                std::fs::write(&path, &text).unwrap();
            } else {
                let want = std::fs::read_to_string(&path).unwrap_or_default();
                if want != text {
                    let at = want.lines().zip(text.lines()).position(|(a, b)| a != b);
                    failures.push(format!(
                        "{}: first difference at line {:?}",
                        path.display(),
                        at.map(|l| l + 1)
                    ));
                }
            }
        }
    }
    let path = golden_dir().join("hashes.txt");
    if bless() {
        std::fs::write(&path, &lines).unwrap();
        return;
    }
    let want = std::fs::read_to_string(&path).unwrap_or_default();
    if want != lines {
        failures.push(format!("hashes differ:\nwant:\n{want}\ngot:\n{lines}"));
    }
    assert!(
        failures.is_empty(),
        "golden mismatch (bump MODEL_VERSION if intended, then OOMLAB_BLESS=1):\n{}",
        failures.join("\n")
    );
}
