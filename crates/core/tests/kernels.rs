//! The later kernel presets: what 4.14 and 5.18 change in the OOM killer and
//! the reaper, each checked on a scenario built for it. Every assertion reads
//! what the model did (its trace and its result).
#![cfg(not(target_arch = "wasm32"))]

use oomlab_core::{parse_scenario, trace::TraceRecord, ChoiceSource, RunResult, Sim};

fn scenario(preset: &str, extra_kernel: &str, duration: &str, procs: &str) -> String {
    format!(
        "version = 1\n[machine]\ncpus = 4\nmemory = \"32M\"\nkernel_reserved = \"4M\"\npage_cache = \"1M\"\n\
         [kernel]\npreset = \"{preset}\"\n{extra_kernel}\n[fs]\ntype = \"ext4\"\n\
         [limits]\nduration = \"{duration}\"\n{procs}"
    )
}

const TETSUO: &str = "[[process]]\nname = \"a.out\"\nstacks = \"heap\"\n[[process.thread]]\nprogram = \"writer\"\ncount = 4\n[[process.thread]]\nprogram = \"hog\"\n";

fn traced(text: &str, seed: u64) -> (RunResult, Vec<TraceRecord>) {
    let sc = parse_scenario(text).unwrap_or_else(|e| panic!("{e:?}"));
    let mut sim = Sim::new(&sc, ChoiceSource::Seed(seed));
    let r = sim.run_to_end(u64::MAX);
    (r, sim.trace().to_vec())
}

fn count(t: &[TraceRecord], f: impl Fn(&TraceRecord) -> bool) -> usize {
    t.iter().filter(|r| f(r)).count()
}

/// 4.13 lets the one `TIF_MEMDIE` thread ignore the watermarks; 4.14 lets
/// every thread of the victim go down to min/2 (`ALLOC_OOM`), and only them.
#[test]
fn alloc_oom_replaces_tif_memdie_reserves_in_4_14() {
    let (mut no_wmark_413, mut alloc_oom_414) = (0, 0);
    for seed in 0..12 {
        let (_, t) = traced(&scenario("4.13", "", "2s", TETSUO), seed);
        no_wmark_413 += count(&t, |r| {
            r.msg.starts_with("ALLOC_NO_WATERMARKS (TIF_MEMDIE)")
        });
        assert_eq!(count(&t, |r| r.msg.starts_with("ALLOC_OOM")), 0);

        let (r, t) = traced(&scenario("4.14", "", "2s", TETSUO), seed);
        assert_eq!(count(&t, |r| r.msg.starts_with("ALLOC_NO_WATERMARKS")), 0);
        let victims: Vec<u32> = r.kills.iter().map(|k| k.tgid).collect();
        for rec in t.iter().filter(|r| r.msg.starts_with("ALLOC_OOM")) {
            alloc_oom_414 += 1;
            let pid = rec.pid.expect("a task allocates");
            // Threads of the victim have pids from its tgid up.
            assert!(
                victims.iter().any(|v| pid >= *v && pid < v + 16),
                "seed {seed}: pid {pid} used ALLOC_OOM but is no victim"
            );
        }
    }
    assert!(no_wmark_413 > 0, "4.13 never used the TIF_MEMDIE reserves");
    assert!(alloc_oom_414 > 0, "4.14 never used ALLOC_OOM");
}

/// 4.13: the reaper pins the mm and may run `exit_mmap` itself
/// (`mmput_async`). 4.14: the last `exit_mm` runs it, and for an OOM victim
/// first takes and drops `mmap_sem` for write after setting `MMF_OOM_SKIP`.
#[test]
fn exit_mmap_serializes_with_the_reaper_from_4_14() {
    let mut synced = 0;
    for seed in 0..12 {
        let (r, t) = traced(&scenario("4.14", "", "2s", TETSUO), seed);
        assert_eq!(
            count(&t, |r| r.msg.contains("mmput_async")),
            0,
            "seed {seed}: no mmput_async from 4.14"
        );
        if r.kills.is_empty() {
            continue;
        }
        // The thread that tears the victim's mm down takes mmap_sem for write
        // between "last user" and "__mmput".
        if let Some(i) = t.iter().position(|r| r.msg.starts_with("last user")) {
            let pid = t[i].pid;
            let end = t[i..]
                .iter()
                .position(|r| r.pid == pid && r.func == "__mmput")
                .map(|j| i + j)
                .expect("exit_mmap finishes");
            assert!(
                t[i..end]
                    .iter()
                    .any(|r| r.pid == pid && r.func == "down_write"),
                "seed {seed}: exit_mmap of an OOM victim syncs on mmap_sem"
            );
            synced += 1;
        }
    }
    assert!(synced > 0, "no victim's exit_mmap was seen");
}

/// 5.18 hands the victim to the reaper through a 2·HZ timer: no reap comes
/// sooner than the timer, with the default 2 s (where the victim has always
/// exited first) and with a timer short enough to fire before it has.
#[test]
fn the_5_18_reaper_waits_for_its_timer() {
    let mut armed = 0;
    for seed in 0..8 {
        let (r, t) = traced(&scenario("5.18", "", "4s", TETSUO), seed);
        let Some(kill) = r.kills.first() else {
            continue;
        };
        assert!(
            count(&t, |r| r.func == "queue_oom_reaper"
                && r.msg.ends_with("oom_reaper_timer in 2.00 s"))
                > 0,
            "seed {seed}: the timer is armed for 2·HZ"
        );
        armed += 1;
        if let Some(u) = r.unstable_at {
            assert!(
                u.since(kill.t) >= 2_000_000_000,
                "seed {seed}: reaped {} ns after the kill",
                u.since(kill.t)
            );
        }
    }
    assert!(armed > 0, "no seed killed");
    let mut delayed = 0;
    for seed in 0..8 {
        let (r, _) = traced(
            &scenario("5.18", "oom_reaper_delay = \"200us\"", "2s", TETSUO),
            seed,
        );
        let (Some(kill), Some(u)) = (r.kills.first(), r.unstable_at) else {
            continue;
        };
        assert!(
            u.since(kill.t) >= 200_000,
            "seed {seed}: reaped {} ns after the kill",
            u.since(kill.t)
        );
        delayed += 1;
    }
    assert!(delayed > 0, "no seed reached a reap after a 200 us timer");
    // The same scenario with the timer set to 0 reaps at once.
    let (r, _) = traced(&scenario("5.18", "oom_reaper_delay = 0", "2s", TETSUO), 0);
    let kill = r.kills.first().expect("a kill");
    assert!(r.unstable_at.expect("a reap").since(kill.t) < 100_000_000);
}

const MLOCKED: &str = "[[process]]\nname = \"db\"\n[[process.thread]]\nprogram = \"db\"\n\
    [[process.thread]]\nprogram = \"hog\"\n[programs]\ndb = \"\"\"\nbuf m = mlock 4M\nfill m 0x5a\nsleep 10s\n\"\"\"\n";

/// The 4.13/4.14 reaper leaves `VM_LOCKED` VMAs alone; 5.18 unmaps them too.
#[test]
fn reaping_mlocked_memory_from_5_18() {
    let locked_pages = 1024;
    for (preset, reaps_locked) in [("4.14", false), ("5.18", true)] {
        let text = scenario(preset, "oom_reaper_delay = 0", "2s", MLOCKED);
        let mut seen = 0;
        for seed in 0..6 {
            let (r, _) = traced(&text, seed);
            let Some(reap) = r.reaps.first() else {
                continue;
            };
            seen += 1;
            let left = reap.rss_after[0];
            if reaps_locked {
                assert!(
                    left < locked_pages,
                    "{preset} seed {seed}: {left} anon pages left"
                );
            } else {
                assert!(
                    left >= locked_pages,
                    "{preset} seed {seed}: mlocked pages reaped"
                );
            }
        }
        assert!(seen > 0, "{preset}: no reap to look at");
    }
}

const LMKD: &str = "[[process]]\nname = \"victim\"\n[[process.thread]]\nprogram = \"fat\"\ncount = 2\n\
    [[process]]\nname = \"lmkd\"\n[[process.thread]]\nprogram = \"lmkd\"\n[programs]\n\
    fat = \"\"\"\nmap a = anon 6M populate 6M\nloop {\n  spin 1ms\n}\n\"\"\"\n\
    lmkd = \"\"\"\nsleep 30ms\nprocess_mrelease \"victim\"\nkill \"victim\"\nprocess_mrelease \"victim\"\nsleep 10ms\n\"\"\"\n";

/// `process_mrelease` exists from 5.18: it refuses a process that is not
/// dying, and reaps one that is, from the caller's context.
#[test]
fn process_mrelease_reaps_a_dying_process() {
    let mut reaped = 0;
    for seed in 0..8 {
        let (r, t) = traced(&scenario("5.18", "", "200ms", LMKD), seed);
        let calls: Vec<&TraceRecord> = t.iter().filter(|r| r.func == "process_mrelease").collect();
        assert!(
            calls.first().is_some_and(|c| c.msg.contains("-EINVAL")),
            "seed {seed}: a live process is refused: {calls:?}"
        );
        if let Some(reap) = r.reaps.iter().find(|p| p.mrelease) {
            assert!(reap.freed > 0);
            reaped += 1;
        }
        assert!(r.kills.is_empty(), "no OOM kill in this scenario");
    }
    assert!(reaped > 0, "process_mrelease never reaped");
    let (r, t) = traced(&scenario("4.14", "", "200ms", LMKD), 0);
    assert_eq!(
        count(&t, |r| r.func == "process_mrelease"
            && r.msg.contains("-ENOSYS")),
        2
    );
    assert!(r.reaps.is_empty());
}
