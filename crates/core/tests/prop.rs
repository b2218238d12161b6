//! Random valid scenarios never panic, always end within budget, and keep the
//! model invariants (checked after every step in debug builds).
#![cfg(not(target_arch = "wasm32"))]

use oomlab_core::{parse_scenario, ChoiceSource, Outcome, Sim};
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

fn crash_scenario(
    fs: &str,
    write_cache: bool,
    discard: bool,
    writers: u32,
    crash_ms: u64,
) -> String {
    let (ty, data) = match fs.split_once('-') {
        Some((t, d)) => (t, format!("data = \"{d}\"\n")),
        None => (fs, String::new()),
    };
    format!(
        "version = 1\n[machine]\ncpus = 2\nmemory = \"24M\"\nkernel_reserved = \"4M\"\npage_cache = \"1M\"\n\
         disk_bandwidth = \"8M\"\n[kernel]\npreset = \"4.13-rc\"\n\
         [fs]\ntype = \"{ty}\"\n{data}write_cache = {write_cache}\ndiscard = {discard}\n\
         commit_interval = \"30ms\"\ndirty_writeback_interval = \"10ms\"\ndirty_expire_interval = \"20ms\"\n\
         [crash]\nat = \"{crash_ms}ms\"\n[limits]\nduration = \"400ms\"\nmax_steps = 400000\n\
         [[process]]\nname = \"a.out\"\nstacks = \"heap\"\n[[process.thread]]\nprogram = \"writer\"\ncount = {writers}\n\
         [[process.thread]]\nprogram = \"hog\"\n"
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, .. ProptestConfig::default() })]
    /// A power loss at any point, then recovery: the metadata points only at
    /// blocks the allocator handed out, never at one block twice, never
    /// claims more than was written; and only data=writeback may expose
    /// blocks whose data never landed.
    #[test]
    fn crash_recovery_keeps_each_mode_promise(
        fs in prop::sample::select(vec!["ext4-ordered", "ext4-writeback", "ext4-journal", "xfs", "btrfs"]),
        write_cache in any::<bool>(),
        discard in any::<bool>(),
        writers in 1u32..4,
        crash_ms in 1u64..400,
        seed in any::<u64>(),
    ) {
        let text = crash_scenario(fs, write_cache, discard, writers, crash_ms);
        let sc = parse_scenario(&text).map_err(|e| TestCaseError::fail(format!("{e:?}")))?;
        let mut sim = Sim::new(&sc, ChoiceSource::Seed(seed));
        let r = sim.run_to_end(u64::MAX);
        let end = r.fs_end.clone().expect("the filesystem ended");
        prop_assert!(end.crashed || r.end != oomlab_core::sim::EndReason::Crash);
        let mut owner = std::collections::BTreeMap::new();
        for (ino, meta) in &sim.fs.journal.home {
            for (index, lba) in &meta.map {
                prop_assert!(sim.fs.was_allocated(*lba), "inode {ino} page {index} -> never-allocated block {lba}");
                if let Some(prev) = owner.insert(*lba, (*ino, *index)) {
                    prop_assert!(false, "block {lba} mapped twice: {prev:?} and {:?}", (ino, index));
                }
            }
        }
        for f in &r.files {
            prop_assert!(f.disk_size <= f.i_size, "{}: on disk {} > i_size {}", f.path, f.disk_size, f.i_size);
            if !end.crashed {
                prop_assert_eq!(f.disk_size, f.i_size);
            }
        }
        if fs != "ext4-writeback" {
            prop_assert!(
                !r.has(Outcome::StaleBeyondIsize) && !r.has(Outcome::ZerosBeyondIsize),
                "{fs}: {:?}", r.outcomes
            );
        }
    }
}
