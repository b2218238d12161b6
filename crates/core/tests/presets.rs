//! Each preset, explored over 300 seeds, reaches what DOMAIN §7 says and never
//! what it says cannot happen. Outcomes come from running the model.
#![cfg(not(target_arch = "wasm32"))]

use oomlab_core::fs::Prov;
use oomlab_core::{presets, run, ChoiceSource, Outcome, RunResult};

const SEEDS: u64 = 300;

fn explore(id: &str) -> Vec<RunResult> {
    let sc = presets::find(id).expect("preset exists").load();
    (0..SEEDS)
        .map(|s| run(&sc, ChoiceSource::Seed(s)))
        .collect()
}

fn count(rs: &[RunResult], o: Outcome) -> usize {
    rs.iter().filter(|r| r.has(o)).count()
}

#[test]
fn r1_btrfs_reaches_zeros_with_zero_page_evidence() {
    let rs = explore("r1");
    let z = count(&rs, Outcome::ZerosInFile);
    assert!(z > 0, "R1 never reached zeros_in_file in {SEEDS} seeds");
    for r in rs.iter().filter(|r| r.has(Outcome::ZerosInFile)) {
        let bad: Vec<_> = r.files.iter().flat_map(|f| f.bad.iter()).collect();
        assert!(!bad.is_empty());
        for b in bad {
            assert_eq!(
                b.provenance,
                Prov::ZeroPage,
                "seed {}: zeros not from the zero page",
                r.seed
            );
            assert_eq!(
                b.offset % 4096,
                0,
                "seed {}: zero run not page-aligned",
                r.seed
            );
            assert_eq!(b.len % 4096, 0, "seed {}: zero run not whole pages", r.seed);
            assert!(
                b.t >= r.unstable_at.expect("zeros need a reap"),
                "zeros copied before MMF_UNSTABLE"
            );
            assert!(!r.kills.is_empty());
        }
    }
}

#[test]
fn r2_fix_engages_and_never_zeros() {
    let rs = explore("r2");
    assert_eq!(
        count(&rs, Outcome::ZerosInFile),
        0,
        "R2 (pre_pte) wrote zeros"
    );
    assert!(
        count(&rs, Outcome::FixEngaged) > 0,
        "R2 never engaged the fix"
    );
    for r in &rs {
        for f in &r.fix_engaged {
            assert!(f.t >= r.unstable_at.expect("the fix needs MMF_UNSTABLE"));
        }
    }
}

#[test]
fn r3_ext4_oom_kill_never_zeros() {
    let rs = explore("r3");
    assert_eq!(
        count(&rs, Outcome::ZerosInFile),
        0,
        "R3 wrote zeros through write()"
    );
    // A writeback-paced stall can outlast the 2 s window, so not every run
    // reaches the OOM decision; nearly all do.
    let killed = rs.iter().filter(|r| !r.kills.is_empty()).count();
    assert!(
        killed * 10 >= rs.len() * 9,
        "only {killed} of {} runs OOM-killed",
        rs.len()
    );
}

#[test]
fn r4_exit_group_window_reaches_zeros_and_pre_pte_closes_it() {
    let rs = explore("r4");
    let z: Vec<&RunResult> = rs.iter().filter(|r| r.has(Outcome::ZerosInFile)).collect();
    assert!(
        !z.is_empty(),
        "R4 never reached zeros_in_file in {SEEDS} seeds"
    );
    for r in &z {
        // No OOM kill posted the SIGKILLs: the group exit did.
        assert!(
            r.kills.is_empty(),
            "seed {}: zeros came from an OOM kill, not exit_group",
            r.seed
        );
        for b in r.files.iter().flat_map(|f| f.bad.iter()) {
            assert_eq!(b.provenance, Prov::ZeroPage);
            assert_eq!(b.offset % 4096, 0);
        }
    }
    let text = presets::find("r4").unwrap().text.replace(
        "preset = \"4.13-rc\"",
        "preset = \"4.13-rc\"\nunstable_check = \"pre_pte\"",
    );
    let sc = oomlab_core::parse_scenario(&text).unwrap();
    for r in &z {
        // The same seeds with the fix: no zeros, and the fix engages.
        let fixed = run(&sc, ChoiceSource::Seed(r.seed));
        assert!(!fixed.has(Outcome::ZerosInFile), "seed {}", r.seed);
    }
    let fixed: Vec<RunResult> = (0..100).map(|s| run(&sc, ChoiceSource::Seed(s))).collect();
    assert_eq!(count(&fixed, Outcome::ZerosInFile), 0);
    assert!(count(&fixed, Outcome::FixEngaged) > 0);
}

#[test]
fn r6_shmem_buffer_is_never_reaped_and_stays_intact() {
    let rs = explore("r6");
    let mut reaps = 0;
    for r in &rs {
        assert!(!r.has(Outcome::ZerosInFile), "seed {}: zeros", r.seed);
        for f in &r.files {
            assert!(
                f.bad.is_empty(),
                "seed {}: {} has bad bytes",
                r.seed,
                f.path
            );
        }
        let Some(first) = r.kills.first() else {
            continue;
        };
        // Pids are handed out process by process: the first victim's threads
        // come before the next process's.
        let next = r.kills.get(1).map_or(u32::MAX, |k| k.tgid);
        for reap in r
            .reaps
            .iter()
            .filter(|p| p.pid >= first.tgid && p.pid < next)
        {
            reaps += 1;
            assert_eq!(
                reap.rss_after[2], reap.rss_before[2],
                "seed {}: the reaper freed shmem pages",
                r.seed
            );
            // Only the thread stacks are private anonymous memory here.
            assert!(
                reap.freed * 20 < reap.rss_before[2],
                "seed {}: the reaper freed {} of {} pages",
                r.seed,
                reap.freed,
                reap.rss_before[2]
            );
        }
    }
    assert!(reaps > 0, "R6 was never reaped");
    assert!(
        count(&rs, Outcome::Overkill) > 0,
        "R6 never needed a second victim"
    );
}
