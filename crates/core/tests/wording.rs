//! What the trace and the summaries say, checked against what 4.13 does:
//! each check fails on the wording it replaced.
#![cfg(not(target_arch = "wasm32"))]

use oomlab_core::{parse_scenario, presets, ChoiceSource, Sim};

/// The `task_will_free_mem` shortcut of `oom_kill_process` marks the victim
/// and wakes the reaper without a "Kill process" line (4.13 returns before
/// `dump_header` and the pr_err).
#[test]
fn the_exiting_victim_shortcut_prints_no_kill_line() {
    let sc = presets::find("r4").unwrap().load();
    let mut shortcuts = 0;
    for seed in 0..60 {
        let mut sim = Sim::new(&sc, ChoiceSource::Seed(seed));
        sim.run_to_end(u64::MAX);
        let tr = sim.trace();
        for (i, r) in tr.iter().enumerate() {
            let Some(pid) = r.msg.strip_prefix("TIF_MEMDIE -> ") else {
                continue;
            };
            let tgid = sim
                .tasks
                .iter()
                .find(|t| t.pid.to_string() == pid)
                .map(|t| t.tgid);
            let Some(tgid) = tgid else { continue };
            let kill = format!("Kill process {tgid} (");
            if !tr[..i].iter().any(|p| p.msg.contains(&kill)) {
                shortcuts += 1;
                // Nor after: the shortcut kills nothing.
                let next_kill = tr[i..].iter().position(|p| p.msg.contains(&kill));
                let reaped = tr[i..].iter().position(|p| p.msg.starts_with("queued "));
                assert!(
                    reaped.is_some(),
                    "seed {seed}: the shortcut wakes the reaper"
                );
                assert!(next_kill.is_none_or(|k| k > reaped.unwrap()), "seed {seed}");
            }
        }
    }
    assert!(
        shortcuts > 0,
        "no R4 run in 60 took the task_will_free_mem shortcut"
    );
}

/// btrfs's commit thread has its 4.13 name (the 15-character `comm` of
/// "btrfs-transaction") and function, and a clean unmount says it wrote
/// btrfs's trees rather than a jbd2 checkpoint.
#[test]
fn btrfs_names_its_transaction_thread_and_its_trees() {
    let sc = presets::find("r1").unwrap().load();
    let mut sim = Sim::new(&sc, ChoiceSource::Seed(3));
    sim.run_to_end(u64::MAX);
    let t = sim.tasks.iter().find(|t| t.comm == "btrfs-transacti");
    assert!(t.is_some(), "no btrfs-transacti");
    let snap = sim.snapshot();
    let s = snap
        .tasks
        .iter()
        .find(|t| t.comm == "btrfs-transacti")
        .unwrap();
    assert_eq!(s.kernel_stack, ["transaction_kthread"]);
    let unmount = sim
        .trace()
        .iter()
        .rev()
        .find(|r| r.func == "sync_filesystem")
        .expect("a clean unmount");
    assert!(unmount.msg.contains("trees written"), "{}", unmount.msg);
    assert!(!unmount.msg.contains("checkpoint"), "{}", unmount.msg);
}

/// oomlab's hang detector is not the kernel's: it says its own name, how
/// long nothing progressed and against which threshold.
#[test]
fn the_hang_detector_names_itself_and_its_threshold() {
    let sc = presets::find("r7-reaper-off").unwrap().load();
    let mut sim = Sim::new(&sc, ChoiceSource::Seed(3));
    let r = sim.run_to_end(u64::MAX);
    assert!(r.hang.is_some(), "R7 without the reaper hangs on seed 3");
    let rec = sim
        .trace()
        .iter()
        .find(|r| r.func == "oomlab_hang_check")
        .expect("the detector's record");
    assert!(
        rec.msg.starts_with("no forward progress for ")
            && rec.msg.contains("(limits.hang_threshold 1.00 s)"),
        "{}",
        rec.msg
    );
    assert!(!sim.trace().iter().any(|r| r.func == "check_hung_task"));
}

/// The `fix_engaged` summary says which check failed the fault: v1's
/// `post_fault` maps the zero page first and fails the fault at the end of
/// `handle_mm_fault`; the merged `pre_pte` fails it before any PTE is set.
#[test]
fn fix_engaged_says_which_check_failed_the_fault() {
    let r2 = presets::find("r2").unwrap();
    let post = r2.text.replace(
        "unstable_check = \"pre_pte\"",
        "unstable_check = \"post_fault\"",
    );
    assert_ne!(post, r2.text);
    for (text, want) in [
        (r2.text.to_string(), "check_stable_address_space saw MMF_UNSTABLE and failed the fault before any PTE was set"),
        (post, "the end of handle_mm_fault saw MMF_UNSTABLE and failed the fault after it was handled"),
    ] {
        let sc = parse_scenario(&text).expect("valid");
        let engaged = (0..20)
            .map(|seed| Sim::new(&sc, ChoiceSource::Seed(seed)).run_to_end(u64::MAX))
            .find(|r| !r.fix_engaged.is_empty())
            .expect("the fix engages in 20 seeds");
        let s = engaged.explain();
        assert!(s.contains(want), "{s}");
    }
}
