//! One test per mechanism, on small scenarios built for it. Each asserts what
//! the model did (its trace and its result), not a hard-coded outcome table.
#![cfg(not(target_arch = "wasm32"))]

use oomlab_core::{parse_scenario, run, trace::TraceRecord, ChoiceSource, Outcome, Sim};

fn base(fs: &str, check: &str, extra_kernel: &str, procs: &str) -> String {
    format!(
        "version = 1\n[machine]\ncpus = 4\nmemory = \"32M\"\nkernel_reserved = \"4M\"\npage_cache = \"1M\"\n\
         [kernel]\npreset = \"4.13-rc\"\nunstable_check = \"{check}\"\n{extra_kernel}\n[fs]\ntype = \"{fs}\"\n[limits]\nduration = \"2s\"\n{procs}"
    )
}

const TETSUO: &str = "[[process]]\nname = \"a.out\"\nstacks = \"heap\"\n[[process.thread]]\nprogram = \"writer\"\ncount = 4\n[[process.thread]]\nprogram = \"hog\"\n";

fn traced(text: &str, seed: u64) -> (oomlab_core::RunResult, Vec<TraceRecord>) {
    let sc = parse_scenario(text).unwrap();
    let mut sim = Sim::new(&sc, ChoiceSource::Seed(seed));
    let r = sim.run_to_end(u64::MAX);
    (r, sim.trace().to_vec())
}

fn idx(t: &[TraceRecord], pred: impl Fn(&TraceRecord) -> bool) -> Option<usize> {
    t.iter().position(pred)
}

#[test]
fn oom_badness_picks_the_largest() {
    let procs = "[[process]]\nname = \"small\"\n[[process.thread]]\nprogram = \"tiny\"\n\
                 [[process]]\nname = \"big\"\n[[process.thread]]\nprogram = \"hog\"\n\
                 [programs]\ntiny = \"\"\"\nmap a = anon 2M\ntouch a\nsleep 10s\n\"\"\"\n";
    let (r, _) = traced(&base("ext4", "none", "", procs), 1);
    assert!(!r.kills.is_empty());
    assert_eq!(r.kills[0].comm, "big");
}

#[test]
fn sigkill_is_posted_to_every_thread_before_the_reaper_runs() {
    let mut reaped = 0;
    for seed in 0..10 {
        let (r, t) = traced(&base("ext4", "none", "", TETSUO), seed);
        let Some(unstable) = idx(&t, |x| x.msg.contains("MMF_UNSTABLE set")) else {
            continue;
        };
        let kill = idx(&t, |x| x.msg.starts_with("Out of memory: Kill")).unwrap();
        let posted = t[kill..unstable]
            .iter()
            .filter(|x| x.func == "signal_wake_up")
            .count();
        assert_eq!(
            posted, 5,
            "seed {seed}: every thread gets SIGKILL before MMF_UNSTABLE"
        );
        assert!(!r.has(Outcome::ZerosInFile));
        reaped += 1;
    }
    assert!(reaped > 0, "no seed reached MMF_UNSTABLE");
}

#[test]
fn each_unstable_check_variant() {
    let mut zeros = [0; 3];
    let mut fix = [0; 3];
    for (i, check) in ["none", "post_fault", "pre_pte"].iter().enumerate() {
        for seed in 0..40 {
            let r = run(
                &parse_scenario(&base("btrfs", check, "", TETSUO)).unwrap(),
                ChoiceSource::Seed(seed),
            );
            zeros[i] += usize::from(r.has(Outcome::ZerosInFile));
            fix[i] += usize::from(r.has(Outcome::FixEngaged));
        }
    }
    assert!(zeros[0] > 0, "none: the zero page reaches files");
    assert_eq!(fix[0], 0, "none: nothing to engage");
    assert!(fix[1] > 0, "post_fault engages");
    assert_eq!(zeros[2], 0, "pre_pte: never zeros");
    assert!(fix[2] > 0, "pre_pte engages");
}

#[test]
fn zero_page_refault_then_copy() {
    // The btrfs path: copy fails on the reaped page, the retry's fault-in maps the
    // zero page, and the next copy reads zeros.
    for seed in 0..40 {
        let (r, t) = traced(&base("btrfs", "none", "", TETSUO), seed);
        if !r.has(Outcome::ZerosInFile) {
            continue;
        }
        let b = r.first_bad().unwrap();
        let zero_map = idx(&t, |x| {
            x.func == "do_anonymous_page"
                && x.msg.contains("zero page mapped")
                && x.pid == Some(b.pid)
        })
        .unwrap();
        let copy = b.event as usize;
        assert!(zero_map < copy, "zero page mapped before the copy");
        assert!(t[copy].msg.contains("ZERO PAGE"));
        let retry = idx(&t, |x| {
            x.func == "btrfs_copy_from_user" && x.pid == Some(b.pid)
        })
        .unwrap();
        assert!(retry < zero_map, "a failed copy preceded the refault");
        return;
    }
    panic!("no zeros in 40 seeds");
}

#[test]
fn write_paths_check_fatal_signals_where_they_should() {
    let mut eintr = std::collections::BTreeMap::new();
    for fs in ["ext4", "btrfs", "xfs"] {
        let mut n = 0;
        for seed in 0..15 {
            let (_, t) = traced(&base(fs, "none", "", TETSUO), seed);
            n += t
                .iter()
                .filter(|x| x.msg.contains("fatal_signal_pending: -EINTR"))
                .count();
        }
        eintr.insert(fs, n);
    }
    assert_eq!(
        eintr["btrfs"], 0,
        "btrfs has no fatal-signal check: {eintr:?}"
    );
    assert!(eintr["ext4"] + eintr["xfs"] > 0, "{eintr:?}");
}

fn with_mmu_notifier(preset: &str) -> String {
    let procs = TETSUO.replace(
        "stacks = \"heap\"",
        "stacks = \"heap\"\nmmu_notifier = true",
    );
    base("ext4", "none", "", &procs)
        .replace("preset = \"4.13-rc\"", &format!("preset = \"{preset}\""))
}

#[test]
fn reaper_backs_off_from_mmu_notifiers_from_4_14_and_sets_oom_skip() {
    // In some runs the victim exits before the reaper looks at it; in those
    // where the reaper meets the notifiers, it backs off (4.14's
    // mm_has_notifiers test, 4d4bbd8526a8).
    let text = with_mmu_notifier("4.14");
    let mut met = 0;
    for seed in 0..20 {
        let (r, t) = traced(&text, seed);
        if !t.iter().any(|x| x.msg.contains("MMU notifiers")) {
            continue;
        }
        met += 1;
        assert!(r.unstable_at.is_none(), "seed {seed}: nothing reaped");
        assert!(
            t.iter().any(|x| x.msg.ends_with("MMF_OOM_SKIP set")),
            "seed {seed}"
        );
    }
    assert!(met > 0, "the reaper never met the notifiers in 20 seeds");
}

#[test]
fn a_4_13_reaper_reaps_an_mm_with_mmu_notifiers() {
    // 4.13 __oom_reap_task_mm has no mm_has_notifiers test.
    for preset in ["4.13-rc", "4.13"] {
        let text = with_mmu_notifier(preset);
        let mut reaped = 0;
        for seed in 0..20 {
            let (r, t) = traced(&text, seed);
            assert!(
                !t.iter().any(|x| x.msg.contains("MMU notifiers")),
                "{preset} seed {seed}: the reaper backed off"
            );
            reaped += usize::from(r.unstable_at.is_some());
        }
        assert!(reaped > 0, "{preset}: the reaper never reaped in 20 seeds");
    }
}

#[test]
fn reaper_off_means_no_reap() {
    let (r, t) = traced(&base("btrfs", "none", "reaper = false", TETSUO), 2);
    assert!(r.unstable_at.is_none());
    assert!(!t.iter().any(|x| x.func == "__oom_reap_task_mm"));
    assert!(!r.has(Outcome::ZerosInFile));
}

#[test]
fn shmem_buffer_is_not_reaped() {
    let procs = "[[process]]\nname = \"a.out\"\n[[process.thread]]\nprogram = \"shw\"\ncount = 4\n[[process.thread]]\nprogram = \"hog\"\n\
                 [programs]\nshw = \"\"\"\nbuf b = shmem 4096\nfill b 0xff\nopen fd \\\"/tmp/s.{n}\\\" append\nloop {\n write fd b\n}\n\"\"\"\n";
    let mut reaped = 0;
    for seed in 0..10 {
        let r = run(
            &parse_scenario(&base("btrfs", "none", "", procs)).unwrap(),
            ChoiceSource::Seed(seed),
        );
        assert!(
            !r.has(Outcome::ZerosInFile),
            "seed {seed}: a shmem buffer keeps its content"
        );
        reaped += usize::from(!r.reaps.is_empty());
    }
    assert!(reaped > 0, "the reaper never ran over the shmem buffer");
}

#[test]
fn reaper_retries_are_hz_over_10_apart() {
    // Threads that mmap in a loop hold or queue for mmap_sem as a writer;
    // vm_area_struct allocation under down_write can enter the allocator.
    let procs = "[[process]]\nname = \"a.out\"\n[[process.thread]]\nprogram = \"mapper\"\ncount = 2\n[[process.thread]]\nprogram = \"hog\"\n\
                 [programs]\nmapper = \"\"\"\nloop {\n  map m = anon 64K\n  touch m\n  munmap m\n}\n\"\"\"\n";
    let text = base("ext4", "none", "", procs);
    let mut failed = 0;
    for seed in 0..20 {
        let (_, t) = traced(&text, seed);
        let tries: Vec<&TraceRecord> = t
            .iter()
            .filter(|x| x.func == "down_read_trylock" && x.comm == "oom_reaper")
            .collect();
        for (i, x) in tries.iter().enumerate() {
            if !x.msg.contains("failed") {
                continue;
            }
            failed += 1;
            // schedule_timeout_idle(HZ/10) follows a failed attempt: HZ = 250
            // here, so the next attempt is at least 100 ms later.
            if let Some(next) = tries.get(i + 1) {
                assert!(
                    next.t.0 - x.t.0 >= 100_000_000,
                    "seed {seed}: retry after {} ns",
                    next.t.0 - x.t.0
                );
            }
        }
    }
    assert!(
        failed > 0,
        "a queued or active writer makes the fair trylock fail"
    );
}
