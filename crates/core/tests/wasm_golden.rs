//! The golden trace hashes, recomputed inside wasm32 in headless Chromium: the
//! model is byte-identical across targets.
#![cfg(target_arch = "wasm32")]

use oomlab_core::{parse_scenario, presets, ChoiceSource, Sim};
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

const HASHES: &str = include_str!("../../../tests/golden/hashes.txt");
const SMALL: &str = include_str!("../../../tests/golden/small.toml");
const SMALL_CRASH: &str = include_str!("../../../tests/golden/small-crash.toml");

#[wasm_bindgen_test]
fn golden_hashes_match_native() {
    let mut n = 0;
    for line in HASHES.lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        let (id, seed, hash) = (f[0], f[1].parse::<u64>().unwrap(), f[2]);
        let sc = if id == "small" {
            parse_scenario(SMALL).unwrap()
        } else if id == "small-crash" {
            parse_scenario(SMALL_CRASH).unwrap()
        } else {
            presets::find(id).unwrap().load()
        };
        let mut sim = Sim::new(&sc, ChoiceSource::Seed(seed));
        let r = sim.run_to_end(u64::MAX);
        assert_eq!(format!("{:016x}", r.trace_hash), hash, "{id} seed {seed}");
        n += 1;
    }
    assert!(n >= 5);
}
