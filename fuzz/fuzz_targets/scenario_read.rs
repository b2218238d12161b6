//! Scenario text arrives in files and inside links: reading it must return a
//! scenario or located errors for every input, never panic, and a scenario it
//! accepts must write a canonical text that reads back to the same scenario.
#![no_main]

use libfuzzer_sys::fuzz_target;
use oomlab_core::scenario::scenario_text;
use oomlab_core::{parse_scenario, program::parse_program};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = scenario_text(data) else {
        return;
    };
    // The program language, on the same bytes.
    let _ = parse_program(text);
    if let Ok(sc) = parse_scenario(text) {
        let canon = sc.scenario.to_canonical_toml();
        let again = parse_scenario(&canon).expect("the canonical text reads back");
        assert_eq!(again.scenario, sc.scenario);
    }
});
