//! Refactoring safety net: `cargo run --release --example fingerprint -- [seeds]`
//! runs every preset and level for seeds `0..seeds` (default 300) and prints, per
//! scenario, one FNV-1a hash over every run's trace hash, trace length and
//! outcome codes, then the outcome counts. A change that does not bump the
//! model version must leave every line unchanged.
use oomlab_core::*;
use std::collections::BTreeMap;

fn main() {
    let seeds: u64 = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(300);
    let mut scenarios: Vec<(String, ValidScenario)> = presets::PRESETS
        .iter()
        .map(|p| (p.id.to_string(), p.load()))
        .collect();
    for l in challenge::LEVELS {
        scenarios.push((l.id.to_string(), parse_scenario(l.text).unwrap()));
    }
    // The later kernels' reaper and exit paths, on the presets' workloads.
    for id in ["r1", "r4", "r6", "r7"] {
        let text = presets::find(id).unwrap().text;
        for k in ["4.14", "5.18"] {
            let t = text
                .replace("preset = \"4.13-rc\"", &format!("preset = \"{k}\""))
                .replace("preset = \"4.13\"", &format!("preset = \"{k}\""));
            scenarios.push((format!("{id}@{k}"), parse_scenario(&t).unwrap()));
        }
    }
    for (id, sc) in &scenarios {
        let mut h = rng::Fnv1a::default();
        let mut counts: BTreeMap<&str, u32> = BTreeMap::new();
        for seed in 0..seeds {
            let r = run(sc, ChoiceSource::Seed(seed));
            let codes: Vec<&str> = r.outcomes.iter().map(|o| o.code()).collect();
            std::hash::Hasher::write(
                &mut h,
                format!("{} {} {}\n", r.trace_hash, r.trace_len, codes.join(",")).as_bytes(),
            );
            for c in codes {
                *counts.entry(c).or_default() += 1;
            }
        }
        println!(
            "{id} seeds {seeds} {:016x} {counts:?}",
            std::hash::Hasher::finish(&h)
        );
    }
}
