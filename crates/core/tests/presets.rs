//! Each preset, explored over 300 seeds, reaches what kernel.md §7 says and never
//! what it says cannot happen. Outcomes come from running the model.
#![cfg(not(target_arch = "wasm32"))]

use oomlab_core::fs::Prov;
use oomlab_core::{presets, run, ChoiceSource, Outcome, RunResult, Sim};
use std::sync::OnceLock;

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
        // The zeros were read back from disk after a clean unmount: copied
        // into the page cache, they became durable with no crash at all.
        let end = r.fs_end.as_ref().expect("the run ends with an unmount");
        assert!(!end.crashed, "seed {}: R1 has no crash", r.seed);
        for f in &r.files {
            assert_eq!(
                f.disk_size, f.i_size,
                "seed {}: {} not all on disk",
                r.seed, f.path
            );
        }
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

/// The kernel stack of every task that printed "Out of memory: Kill
/// process" in R1's first `seeds` runs, at the step that printed it.
fn r1_killer_stacks(seeds: u64) -> Vec<(u64, Vec<&'static str>)> {
    let sc = presets::find("r1").expect("preset exists").load();
    let mut out = Vec::new();
    for seed in 0..seeds {
        let mut sim = Sim::new(&sc, ChoiceSource::Seed(seed));
        let mut seen = 0;
        while sim.step() {
            let t = sim.trace();
            for rec in &t[seen..] {
                if !rec.msg.starts_with("Out of memory: Kill process") {
                    continue;
                }
                let pid = rec.pid.expect("the killer is a task");
                let snap = sim.snapshot();
                let task = snap.tasks.iter().find(|x| x.pid == pid).expect("killer");
                out.push((seed, task.kernel_stack.clone()));
            }
            seen = t.len();
        }
    }
    out
}

#[test]
fn r1_no_kill_is_invoked_by_a_btrfs_writer() {
    // 4.13 prepare_pages allocates with btrfs_alloc_write_mask (GFP_NOFS):
    // out_of_memory returns at its !__GFP_FS test for a btrfs writer, so
    // only the hog (its page fault) can invoke the OOM killer.
    let stacks = r1_killer_stacks(SEEDS);
    assert!(!stacks.is_empty(), "no kill in {SEEDS} seeds of R1");
    for (seed, stack) in &stacks {
        assert!(
            stack.contains(&"out_of_memory"),
            "seed {seed}: the killer is in out_of_memory: {stack:?}"
        );
        assert!(
            !stack.contains(&"__btrfs_buffered_write"),
            "seed {seed}: a btrfs writer invoked the OOM killer: {stack:?}"
        );
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

/// The files read back after R5's crash, and the same seeds' runs with
/// another data mode or filesystem: the scenario text with `from` replaced.
fn r5_variant(from: &str, to: &str) -> Vec<RunResult> {
    let text = presets::find("r5").unwrap().text.replace(from, to);
    assert_ne!(text, presets::find("r5").unwrap().text, "{from} not in R5");
    let sc = oomlab_core::parse_scenario(&text).unwrap();
    (0..SEEDS)
        .map(|s| run(&sc, ChoiceSource::Seed(s)))
        .collect()
}

fn crashed(rs: &[RunResult]) -> usize {
    rs.iter()
        .filter(|r| r.fs_end.as_ref().is_some_and(|e| e.crashed))
        .count()
}

fn assert_no_disk_garbage(rs: &[RunResult], what: &str) {
    for r in rs {
        assert!(
            !r.has(Outcome::StaleBeyondIsize) && !r.has(Outcome::ZerosBeyondIsize),
            "{what}, seed {}: {:?}",
            r.seed,
            r.outcomes
        );
    }
}

#[test]
fn r5_writeback_crash_exposes_stale_blocks() {
    let rs = explore("r5");
    let stale: Vec<&RunResult> = rs
        .iter()
        .filter(|r| r.has(Outcome::StaleBeyondIsize))
        .collect();
    assert!(
        !stale.is_empty(),
        "R5 never reached stale_beyond_isize in {SEEDS} seeds"
    );
    for r in &rs {
        let end = r.fs_end.as_ref().expect("fs end");
        assert!(
            end.crashed,
            "seed {}: R5 always crashes after its kill",
            r.seed
        );
        let k = r.kills.first().expect("R5 kills");
        assert!(
            end.t >= k.t && end.t.since(k.t) <= 500_000_000,
            "seed {}",
            r.seed
        );
    }
    for r in &stale {
        for b in r.files.iter().flat_map(|f| f.bad.iter()) {
            assert_eq!(b.outcome, Outcome::StaleBeyondIsize);
            assert_eq!(b.provenance, Prov::StaleText, "seed {}", r.seed);
            // Whole blocks the writeback had mapped: page-aligned ranges
            // inside the recovered size.
            assert_eq!(b.offset % 4096, 0);
            let oomlab_core::outcome::Origin::Blocks {
                first,
                count,
                mapped_by,
            } = b.origin
            else {
                panic!("seed {}: stale bytes from a write", r.seed);
            };
            assert!(count >= 1 && first >= oomlab_core::fs::block::DATA_START);
            assert!(mapped_by > 0 && mapped_by < r.trace_len);
        }
    }
}

#[test]
fn r5_without_the_crash_never_shows_stale_blocks() {
    let rs = explore("r5-nocrash");
    assert_no_disk_garbage(&rs, "R5 without the crash");
    for r in &rs {
        let end = r.fs_end.as_ref().expect("fs end");
        assert!(!end.crashed);
        for f in &r.files {
            assert_eq!(f.disk_size, f.i_size, "seed {}: {}", r.seed, f.path);
        }
    }
}

#[test]
fn r5_ordered_and_journal_never_stale() {
    for mode in ["ordered", "journal"] {
        let rs = r5_variant("data = \"writeback\"", &format!("data = \"{mode}\""));
        assert_no_disk_garbage(&rs, mode);
        // The crashes happened (a run whose kill comes too late for its
        // crash point to fall within the run ends cleanly), and after some
        // of them the journal had committed file data that recovery brought
        // back.
        assert!(
            crashed(&rs) * 2 > rs.len(),
            "{mode}: {} crashes",
            crashed(&rs)
        );
        assert!(
            rs.iter().any(|r| r.files.iter().any(|f| f.disk_size > 0)),
            "{mode}: nothing ever reached the disk before the crash"
        );
    }
}

#[test]
fn r5_on_xfs_never_stale() {
    let rs = r5_variant("type = \"ext4\"\ndata = \"writeback\"", "type = \"xfs\"");
    assert_no_disk_garbage(&rs, "xfs");
    assert!(crashed(&rs) * 2 > rs.len(), "xfs: {} crashes", crashed(&rs));
    assert!(rs.iter().any(|r| r.files.iter().any(|f| f.disk_size > 0)));
}

/// Seeds for the XFS lockup presets (R7, R8): their runs are long, so fewer.
/// Each run's result and the reaper's failed `down_read_trylock`s on the
/// victim's `mmap_sem` that a queued (not an active) writer caused. Explored
/// once per preset and shared by the tests that read it.
fn explore_lockup(id: &'static str) -> &'static [(RunResult, usize)] {
    type Runs = Vec<(RunResult, usize)>;
    static CACHE: [(&str, OnceLock<Runs>); 3] = [
        ("r7", OnceLock::new()),
        ("r7-reaper-off", OnceLock::new()),
        ("r8", OnceLock::new()),
    ];
    let cell = &CACHE
        .iter()
        .find(|(n, _)| *n == id)
        .expect("a lockup preset")
        .1;
    cell.get_or_init(|| {
        let sc = presets::find(id).expect("preset exists").load();
        (0..SEEDS)
            .map(|s| {
                let mut sim = Sim::new(&sc, ChoiceSource::Seed(s));
                let r = sim.run_to_end(u64::MAX);
                let queued = sim
                    .trace()
                    .iter()
                    .filter(|t| {
                        t.comm == "oom_reaper"
                            && t.func == "down_read_trylock"
                            && t.msg.contains("mmap_sem failed: waiter queued")
                    })
                    .count();
                (r, queued)
            })
            .collect()
    })
}

/// A lock on the XFS reclaim path (the per-AG locks carry their AG number).
fn is_xfs_lock(name: &str) -> bool {
    name.starts_with("pag_ici_reclaim_lock")
        || name.starts_with("xfs_ilock")
        || name == "xfs_log_force"
}

/// The rss the reaper took away from a victim, over all its reaps.
fn reaped_rss(r: &RunResult) -> u64 {
    r.reaps
        .iter()
        .map(|p| {
            let before: u64 = p.rss_before.iter().sum();
            let after: u64 = p.rss_after.iter().sum();
            before.saturating_sub(after)
        })
        .sum()
}

#[test]
fn r7_queued_writer_fails_the_reapers_fair_trylock() {
    let rs = explore_lockup("r7");
    let killed = rs
        .iter()
        .filter(|(r, _)| r.kills.first().is_some_and(|k| k.comm == "a.out"))
        .count();
    assert!(
        killed * 2 > rs.len(),
        "a.out was the first victim in {killed} runs"
    );
    let failed = rs.iter().filter(|(_, q)| *q > 0).count();
    assert!(
        failed > 0,
        "the reaper's trylock never failed behind a queued writer"
    );
    for (r, _) in rs {
        assert!(!r.has(Outcome::ZerosInFile), "seed {}: zeros", r.seed);
    }
}

#[test]
fn r7_reaper_gives_up_about_a_second_after_the_kill() {
    let rs = explore_lockup("r7");
    let gave_up: Vec<_> = rs
        .iter()
        .flat_map(|(r, _)| r.reaper_gave_up.iter())
        .collect();
    assert!(!gave_up.is_empty(), "R7 never reached reaper_gave_up");
    for g in gave_up {
        assert!(
            (900_000_000..=1_200_000_000).contains(&g.since_kill_ns),
            "gave up {} ns after the kill",
            g.since_kill_ns
        );
        // The picture of kernel.md §3.6: a reader in the XFS shrinker with a
        // writer queued behind it.
        let users = &g.mmap_sem;
        assert!(
            users
                .iter()
                .any(|u| u.how == "read held" && u.in_func == "shrink_slab"),
            "no reader in shrink_slab: {users:?}"
        );
        assert!(
            users.iter().any(|u| u.how == "write queued"),
            "no queued writer: {users:?}"
        );
    }
}

#[test]
fn r7_without_the_reaper_hangs_on_the_xfs_lock_behind_a_queued_writer() {
    let rs = explore_lockup("r7-reaper-off");
    let hangs: Vec<_> = rs.iter().filter_map(|(r, _)| r.hang.as_ref()).collect();
    assert!(!hangs.is_empty(), "R7 without the reaper never hung");
    for h in hangs {
        let locks: Vec<&str> = h.edges.iter().map(|e| e.lock.as_str()).collect();
        assert!(
            h.edges
                .iter()
                .any(|e| e.comm == "khugepaged" && e.lock == "mmap_sem" && e.how == "write queued"),
            "khugepaged is not a queued mmap_sem writer in {:?}",
            h.edges
        );
        assert!(
            locks.iter().any(|l| is_xfs_lock(l)),
            "no XFS lock in {locks:?}"
        );
    }
}

#[test]
fn r8_unfair_trylock_never_gives_up_and_frees_memory() {
    let rs = explore_lockup("r8");
    let mut freed = 0;
    for (r, queued) in rs {
        assert!(
            !r.has(Outcome::ReaperGaveUp),
            "seed {}: the reaper gave up",
            r.seed
        );
        assert_eq!(
            *queued, 0,
            "seed {}: the unfair trylock failed behind a queued writer",
            r.seed
        );
        if reaped_rss(r) > 0 {
            freed += 1;
        }
    }
    assert!(
        freed * 2 > rs.len(),
        "the reaper freed memory in {freed} runs"
    );
}

/// A front end opens each preset on its showcase seed: that run must show the
/// outcome the preset's story names.
#[test]
fn every_showcase_seed_shows_its_story_outcome() {
    let want = [
        ("r1", Outcome::ZerosInFile),
        ("r2", Outcome::FixEngaged),
        ("r4", Outcome::ZerosInFile),
        ("r5", Outcome::StaleBeyondIsize),
        ("r6", Outcome::Overkill),
        ("r7", Outcome::ReaperGaveUp),
    ];
    for (id, o) in want {
        assert_eq!(presets::find(id).unwrap().story_outcome, o, "{id}");
    }
    for p in presets::PRESETS {
        let r = run(&p.load(), ChoiceSource::Seed(p.showcase_seed));
        assert!(
            r.has(p.story_outcome),
            "{} seed {}: {:?} lacks {}",
            p.id,
            p.showcase_seed,
            r.outcomes,
            p.story_outcome.code()
        );
        // A story about anything but corruption is not upstaged by it.
        if p.story_outcome.severity() < 3 {
            assert!(
                r.outcomes.iter().all(|o| o.severity() < 3),
                "{}: {:?}",
                p.id,
                r.outcomes
            );
        }
    }
}
