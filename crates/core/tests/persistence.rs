//! The disk, the journal, writeback and crashes, one mechanism per test, on
//! a small scenario: one thread appends 32 pages of 'a' (one writeback
//! request) to a file on a slow disk and sleeps. Times come from running the model (a run without the crash finds
//! when the journal committed and when the data landed), never from a table.
#![cfg(not(target_arch = "wasm32"))]

use oomlab_core::fs::{InodeId, Prov};
use oomlab_core::hexdump::{ByteClass, HexDump};
use oomlab_core::outcome::Origin;
use oomlab_core::trace::TraceRecord;
use oomlab_core::{parse_scenario, ChoiceSource, Outcome, RunResult, Sim};

/// `fs` lines go under `[fs]`; `crash` is a whole `[crash]` section or "".
fn scenario(fs: &str, crash: &str) -> String {
    format!(
        "version = 1\n[machine]\ncpus = 2\nmemory = \"32M\"\nkernel_reserved = \"4M\"\n\
         disk_bandwidth = \"1M\"\n[kernel]\npreset = \"4.13-rc\"\n\
         [fs]\ntype = \"ext4\"\ncommit_interval = \"50ms\"\ndirty_writeback_interval = \"10ms\"\n\
         dirty_expire_interval = \"10ms\"\n{fs}\n{crash}\n[limits]\nduration = \"1s\"\n\
         [[process]]\nname = \"w\"\n[[process.thread]]\nprogram = \"w32\"\n\
         [programs]\nw32 = \"\"\"\nbuf b = heap 4096\nfill b 0x61\nopen fd \"/tmp/log\" append\n\
         loop 32 {{\n  write fd b 4096\n}}\nsleep 10s\n\"\"\"\n"
    )
}

fn traced(text: &str) -> (RunResult, Vec<TraceRecord>, Sim) {
    let sc = parse_scenario(text).unwrap_or_else(|e| panic!("{e:?}"));
    let mut sim = Sim::new(&sc, ChoiceSource::Seed(1));
    let r = sim.run_to_end(u64::MAX);
    let t = sim.trace().to_vec();
    (r, t, sim)
}

fn first(t: &[TraceRecord], pred: impl Fn(&TraceRecord) -> bool) -> Option<&TraceRecord> {
    t.iter().find(|r| pred(r))
}

/// When the first commit completed and when the file's data landed, in a
/// run without a crash.
fn landmarks(fs: &str) -> (u64, u64) {
    let (_, t, _) = traced(&scenario(fs, ""));
    let commit = first(&t, |r| r.msg.contains("commit of transaction 1 complete"))
        .expect("a commit")
        .t
        .0;
    let data = first(&t, |r| {
        r.func == "end_page_writeback" && r.msg.contains("/tmp/log")
    })
    .expect("data written")
    .t
    .0;
    (commit, data)
}

fn crash_at(ns: u64) -> String {
    format!("[crash]\nat = {ns}\n")
}

#[test]
fn writeback_mode_commits_before_the_data_and_a_crash_in_between_shows_stale_blocks() {
    let wb = "data = \"writeback\"";
    let (commit, data) = landmarks(wb);
    assert!(
        commit < data,
        "data=writeback: the commit ({commit}) lands before the data ({data})"
    );
    let at = (commit + data) / 2;
    let (r, t, sim) = traced(&scenario(wb, &crash_at(at)));
    assert!(r.has(Outcome::StaleBeyondIsize), "{:?}", r.outcomes);
    let f = &r.files[0];
    assert_eq!(
        f.disk_size, f.i_size,
        "the committed i_disksize covers the file"
    );
    assert_eq!(f.disk_size_at_kill, None, "no kill in this scenario");
    let b = &f.bad[0];
    assert_eq!((b.offset, b.len), (0, f.disk_size));
    assert_eq!(b.provenance, Prov::StaleText);
    let Origin::Blocks {
        count, mapped_by, ..
    } = b.origin
    else {
        panic!("stale bytes come from blocks")
    };
    assert_eq!(count, 32);
    // The order of events that made it.
    let mapped = &t[mapped_by as usize];
    assert_eq!(mapped.func, "ext4_writepages");
    assert!(mapped.msg.contains("i_disksize 131072"));
    let crash = first(&t, |r| r.func == "crash").unwrap();
    assert!(crash.msg.contains("requests in flight"));
    assert!(first(&t, |r| r.func == "jbd2_journal_recover")
        .unwrap()
        .msg
        .contains("[1]"));
    // The hex dump shows the deleted file's text, block by block.
    let d = HexDump::from_inode(&sim.inodes[0], &sim.fs.dev);
    assert_eq!(d.len, 131_072);
    let (v, class) = d.byte(4096 * 7 + 3).unwrap();
    assert_eq!(class, ByteClass::StaleDisk);
    assert!(v.is_ascii() && v != 0, "text, not {v:#x}");
    assert_eq!(d.first_bad(), Some(0));
    assert_eq!(d.markers.disk_size, 131_072);
}

#[test]
fn ordered_mode_waits_for_the_data_and_the_same_crash_shows_no_stale_blocks() {
    let wb = "data = \"writeback\"";
    let (commit, data) = landmarks(wb);
    let at = (commit + data) / 2;
    let ord = "data = \"ordered\"";
    let (commit_o, data_o) = landmarks(ord);
    assert!(data_o < commit_o, "data=ordered: the data lands first");
    let (r, t, _) = traced(&scenario(ord, &crash_at(at)));
    assert!(first(&t, |r| r.func == "journal_finish_inode_data_buffers").is_some());
    assert!(!r.has(Outcome::StaleBeyondIsize), "{:?}", r.outcomes);
    assert!(r.has(Outcome::Correct));
    // The commit had not completed: the file is empty, not garbage.
    assert_eq!(r.files[0].disk_size, 0);
    let (r, _, _) = traced(&scenario("data = \"journal\"", &crash_at(at)));
    assert!(r.has(Outcome::Correct), "{:?}", r.outcomes);
}

#[test]
fn discard_and_history_decide_what_the_exposed_blocks_read() {
    let wb = "data = \"writeback\"";
    let (commit, data) = landmarks(wb);
    let crash = crash_at((commit + data) / 2);
    let cases = [
        (
            "history = \"random\"",
            Outcome::StaleBeyondIsize,
            Prov::StaleRandom,
        ),
        ("discard = true", Outcome::ZerosBeyondIsize, Prov::Discarded),
        (
            "discard = true\nread_zero_after_trim = false",
            Outcome::StaleBeyondIsize,
            Prov::StaleText,
        ),
        (
            "history = \"zeros\"",
            Outcome::ZerosBeyondIsize,
            Prov::NeverWritten,
        ),
    ];
    for (extra, outcome, prov) in cases {
        let (r, _, sim) = traced(&scenario(&format!("{wb}\n{extra}"), &crash));
        assert_eq!(r.outcomes[0], outcome, "{extra}: {:?}", r.outcomes);
        assert!(
            r.files[0].bad.iter().all(|b| b.provenance == prov),
            "{extra}"
        );
        let d = HexDump::from_inode(&sim.inodes[0], &sim.fs.dev);
        let zero = matches!(prov, Prov::Discarded | Prov::NeverWritten);
        assert_eq!(d.byte(100).unwrap().0 == 0, zero, "{extra}");
    }
}

#[test]
fn a_volatile_write_cache_loses_completed_writes_without_a_flush() {
    // The data lands after the commit; with a write cache it stays volatile
    // (no later commit flushes it), without one it is durable on completion.
    let wb = "data = \"writeback\"";
    let (_, data) = landmarks(wb);
    let crash = crash_at(data + 100_000_000);
    let (r, t, _) = traced(&scenario(&format!("{wb}\nwrite_cache = true"), &crash));
    assert!(r.has(Outcome::StaleBeyondIsize), "{:?}", r.outcomes);
    let c = first(&t, |r| r.func == "crash").unwrap();
    assert!(
        c.msg.contains("32 writes in the disk's volatile cache"),
        "{}",
        c.msg
    );
    let (r, _, _) = traced(&scenario(wb, &crash));
    assert!(r.has(Outcome::Correct), "{:?}", r.outcomes);
    assert_eq!(r.files[0].disk_size, 131_072);
}

#[test]
fn journal_replay_is_needed_and_idempotent() {
    let wb = "data = \"writeback\"";
    let (commit, _) = landmarks(wb);
    let sc = parse_scenario(&scenario(wb, "")).unwrap();
    let mut sim = Sim::new(&sc, ChoiceSource::Seed(1));
    while sim.now().0 <= commit && sim.step() {}
    // What a power loss now would leave: the committed transaction is in the
    // log only, not yet checkpointed home.
    let img = sim.disk_image();
    assert_eq!(img.log.len(), 1);
    assert!(img.home.get(&InodeId(0)).is_none_or(|m| m.size == 0));
    let mut once = img.clone();
    once.replay();
    assert_eq!(once.home[&InodeId(0)].size, 131_072);
    assert_eq!(once.home[&InodeId(0)].map.len(), 32);
    let mut twice = once.clone();
    twice.replay();
    assert_eq!(once, twice);
}

#[test]
fn periodic_writeback_follows_the_expire_interval() {
    let text = scenario("", "").replace(
        "dirty_expire_interval = \"10ms\"",
        "dirty_expire_interval = \"200ms\"",
    );
    let (r, t, _) = traced(&text);
    let wb = first(&t, |r| r.func == "ext4_writepages").unwrap().t.0;
    assert!(
        (200_000_000..=220_000_000).contains(&wb),
        "written back at {wb} ns, expected after 200 ms and by the next 10 ms wake-up"
    );
    assert!(r.has(Outcome::Correct));
    let (_, t, _) = traced(&scenario("", ""));
    let early = first(&t, |r| r.func == "ext4_writepages").unwrap().t.0;
    assert!(early < 30_000_000, "{early}");
}

#[test]
fn the_journal_and_the_flusher_allocate_under_memory_pressure() {
    let sc = oomlab_core::presets::find("r5").unwrap().load();
    let mut kswapd_by_flusher = false;
    let mut jbd2_reclaim = false;
    for seed in 0..10 {
        let mut sim = Sim::new(&sc, ChoiceSource::Seed(seed));
        sim.run_to_end(u64::MAX);
        for r in sim.trace() {
            kswapd_by_flusher |= r.comm.starts_with("kworker/u:flush") && r.func == "wakeup_kswapd";
            jbd2_reclaim |= r.comm.starts_with("jbd2")
                && matches!(
                    r.func,
                    "try_to_free_pages" | "__alloc_pages_slowpath" | "wakeup_kswapd"
                );
        }
    }
    assert!(
        kswapd_by_flusher,
        "the flusher's bio allocation never woke kswapd"
    );
    assert!(
        jbd2_reclaim,
        "the commit's allocation never entered reclaim"
    );
}

/// During a run, a page reclaim has evicted reads from its block: the dump
/// in the middle of a run shows the written bytes there, not a hole.
#[test]
fn a_dump_mid_run_reads_evicted_pages_from_their_blocks() {
    let sc = oomlab_core::presets::find("r1").unwrap().load();
    let mut sim = Sim::new(&sc, ChoiceSource::Seed(3));
    let evicted = loop {
        assert!(
            sim.step(),
            "no page of R1 seed 3 was evicted before the end"
        );
        let found = sim.inodes.iter().enumerate().find_map(|(i, ino)| {
            let acked_pages = ino.acked / 4096;
            (0..acked_pages)
                .find(|p| !ino.pages.contains_key(p))
                .map(|p| (i, p))
        });
        if let Some(f) = found {
            break f;
        }
    };
    let (i, page) = evicted;
    let ino = &sim.inodes[i];
    assert!(ino.read_back.is_none(), "mid-run");
    let d = HexDump::from_inode(ino, &sim.fs.dev);
    for off in [page * 4096, page * 4096 + 4095] {
        assert_eq!(
            d.byte(off),
            Some((0xff, ByteClass::Expected)),
            "{} at {off:#x}",
            ino.path
        );
    }
}
