//! Random valid scenarios never panic, always end within budget, and keep the
//! model invariants (checked after every step in debug builds).
#![cfg(not(target_arch = "wasm32"))]

use oomlab_core::{parse_scenario, ChoiceSource, Sim};
use proptest::prelude::*;

#[allow(clippy::too_many_arguments)]
fn scenario(
    cpus: u32,
    mem_mb: u64,
    writers: u32,
    fs: &str,
    check: &str,
    path_idx: usize,
    heap: bool,
    exit_ms: u64,
) -> String {
    let paths = [
        "generic",
        "iomap",
        "btrfs",
        "generic_3_10",
        "isize_before_copy",
    ];
    format!(
        "version = 1\n[machine]\ncpus = {cpus}\nmemory = \"{mem_mb}M\"\nkernel_reserved = \"4M\"\npage_cache = \"1M\"\n\
         [kernel]\nunstable_check = \"{check}\"\nwrite_path = \"{}\"\n[fs]\ntype = \"{fs}\"\n\
         [limits]\nduration = \"300ms\"\nmax_steps = 400000\n\
         [[process]]\nname = \"a.out\"\nstacks = \"{}\"\n[[process.thread]]\nprogram = \"writer\"\ncount = {writers}\n\
         [[process.thread]]\nprogram = \"hog\"\n[[process.thread]]\nprogram = \"quit\"\n\
         [programs]\nquit = \"\"\"\nsleep {exit_ms}ms\nexit_group\n\"\"\"\n",
        paths[path_idx],
        if heap { "heap" } else { "mmap" }
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, .. ProptestConfig::default() })]
    #[test]
    fn random_scenarios_keep_invariants(
        cpus in 1u32..6,
        mem in 16u64..40,
        writers in 1u32..6,
        fs in prop::sample::select(vec!["ext4", "xfs", "btrfs"]),
        check in prop::sample::select(vec!["none", "post_fault", "pre_pte"]),
        path_idx in 0usize..5,
        heap in any::<bool>(),
        exit_ms in 1u64..400,
        seed in any::<u64>(),
    ) {
        let text = scenario(cpus, mem, writers, fs, check, path_idx, heap, exit_ms);
        let sc = parse_scenario(&text).map_err(|e| TestCaseError::fail(format!("{e:?}")))?;
        let mut sim = Sim::new(&sc, ChoiceSource::Seed(seed));
        let r = sim.run_to_end(u64::MAX);
        prop_assert!(r.steps <= 400_000);
        prop_assert!(!r.outcomes.is_empty());
        sim.check_invariants();
        // Every byte a write() acknowledged lies inside the file.
        for f in &r.files {
            prop_assert!(f.acked <= f.i_size, "{}: acked {} > i_size {}", f.path, f.acked, f.i_size);
        }
    }
}
