//! `compare::apply_overrides`: `path=value` on a scenario as data, with
//! indices into arrays of tables (`process.0.thread.0.count`), which sweeps
//! use to vary a thread count.
#![cfg(not(target_arch = "wasm32"))]

use oomlab_core::compare::apply_overrides;
use oomlab_core::presets;

#[test]
fn an_index_reaches_into_an_array_of_tables() {
    let sc = presets::find("r1").unwrap().load();
    let count = |s: &oomlab_core::ValidScenario| {
        s.scenario.to_canonical_toml().matches("count = 3").count()
    };
    assert_eq!(count(&sc), 0);
    let o = apply_overrides(
        &sc,
        &["process.0.thread.0.count=3".into(), "machine.cpus=4".into()],
    )
    .expect("valid overrides");
    assert_eq!(count(&o), 1, "{}", o.scenario.to_canonical_toml());
    assert_eq!(o.scenario.machine.cpus, 4);
    assert_ne!(o.content_hash(), sc.content_hash());
}

#[test]
fn a_bad_index_or_a_missing_one_is_an_error_with_its_path() {
    let sc = presets::find("r1").unwrap().load();
    for (o, says) in [
        ("process.7.thread.0.count=3", "give an index below 1"),
        ("process.thread.0.count=3", "give an index"),
        ("process.0.thread.0.count=0", "count"),
    ] {
        let e = apply_overrides(&sc, &[o.to_string()]).expect_err(o);
        let all: Vec<String> = e.iter().map(|e| e.to_string()).collect();
        assert!(all.join("; ").contains(says), "{o}: {all:?}");
    }
}
