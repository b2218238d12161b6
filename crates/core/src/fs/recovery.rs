//! How a run ends for the filesystem: a power loss and the next mount's
//! journal recovery, or a clean unmount; then every file is read back from
//! the disk, which is what the outcome is classified on.
//!
//! Power loss (`[crash]`): the page cache, requests in flight, the disk's
//! volatile cache, and the running and committing transactions are gone.
//! The next mount replays the log (`jbd2_journal_recover`,
//! `xlog_recover`; btrfs opens its last committed tree) and every file is
//! read with the size and mapping the disk then holds.
//!
//! Clean unmount (every other end of a run, including a hang or a panic, as
//! the model's way of reading the files back): in-flight requests complete,
//! every dirty page is written (`sync_filesystem`), the journal commits and
//! checkpoints, the cache is flushed.
//!
//! Where the crash lands: `[crash] at` is fixed; a `window` after an anchor
//! (boot, or the first fatal signal) is cut into 1 ms slots and the slot is a
//! recorded `crash_point` choice, so the explorer and the shrinker can move
//! it. A crash point beyond `limits.duration` does not happen.
//!
//! Not modelled: fsck, orphan-list processing, partial writes at the moment
//! of the power loss, a crash during recovery (though replay is idempotent:
//! see `jbd2::DiskImage`).

use crate::choice::ChoiceKind;
use crate::costs;
use crate::fs::jbd2::replay;
use crate::fs::InodeId;
use crate::fs::{ReadBack, Run};
use crate::scenario::{CrashAnchor, CrashPlan, FsType, PAGE_SIZE};
use crate::sim::{EndReason, Event, Sim};
use crate::time::SimTime;
use serde::Serialize;

/// What happened to the filesystem when the run ended.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FsEnd {
    /// A power loss (true) or a clean unmount.
    pub crashed: bool,
    pub t: SimTime,
    /// Trace record of the crash or of the unmount's sync.
    pub event: u64,
    /// Lost at the crash (all zero after a clean unmount).
    pub lost_dirty_pages: u64,
    pub lost_writeback_pages: u64,
    pub lost_requests: u64,
    pub lost_cached_writes: u64,
    pub lost_transactions: Vec<u32>,
    /// Transactions the recovery replayed from the log.
    pub replayed: Vec<u32>,
}

impl Sim {
    /// At boot: a fixed crash, or a window after boot, is placed now.
    pub(crate) fn crash_boot(&mut self) {
        match self.sc.crash {
            None => {}
            Some(CrashPlan::At(t)) => self.schedule_crash(SimTime(t)),
            Some(CrashPlan::Window {
                after: CrashAnchor::Boot,
                lo,
                hi,
            }) => self.draw_crash(lo, hi),
            Some(CrashPlan::Window { .. }) => {}
        }
    }

    fn draw_crash(&mut self, lo: u64, hi: u64) {
        let slots = ((hi - lo) / costs::CRASH_SLOT_NS).min(1_000_000) as u32 + 1;
        let v = u64::from(self.chooser.choose(ChoiceKind::CrashPoint, slots));
        let off = if slots > 1 {
            lo + (hi - lo) * v / u64::from(slots - 1)
        } else {
            lo
        };
        let at = self.now.after(off);
        self.schedule_crash(at);
    }

    fn schedule_crash(&mut self, at: SimTime) {
        self.fs.crash_at = Some(at);
        self.fs.crash_armed = true;
        self.push(at.max(self.now), Event::Crash);
    }

    /// After every step: notices the first fatal signal (the on-disk sizes
    /// at that moment, and a crash window anchored there).
    pub(crate) fn fs_after_step(&mut self) {
        if self.fs.kill_seen || self.obs.kill_time.is_none() {
            return;
        }
        self.fs.kill_seen = true;
        for i in 0..self.inodes.len() {
            let s = self.durable_size(InodeId::from_index(i));
            self.inodes[i].disk_size_at_kill = Some(s);
        }
        if let Some(CrashPlan::Window {
            after: CrashAnchor::Kill,
            lo,
            hi,
        }) = self.sc.crash
        {
            self.draw_crash(lo, hi);
        }
    }

    /// A crash is still to come within the run.
    pub(crate) fn crash_pending(&self) -> bool {
        self.fs.end.is_none()
            && self
                .fs
                .crash_at
                .is_some_and(|t| t.0 <= self.sc.scenario.limits.duration.0)
    }

    /// The power is lost.
    pub(crate) fn fs_crash(&mut self) {
        let (dirty, wb) = (self.mem.nr_dirty, self.mem.nr_writeback);
        let (reqs, cached) = self.fs.dev.power_loss();
        let j = &mut self.fs.journal;
        let lost: Vec<u32> = [j.committing.take(), j.running.take()]
            .into_iter()
            .flatten()
            .map(|t| t.tid)
            .collect();
        let since = self.obs.kill_time.map_or(String::new(), |k| {
            format!(
                " ({} after the first SIGKILL)",
                crate::time::fmt_duration(self.now.since(k))
            )
        });
        let event = self.trace_info(
            None,
            "crash",
            format!(
                "power lost{since}: {dirty} dirty pages and {wb} pages under writeback in memory, {reqs} requests in flight, {cached} writes in the disk's volatile cache; uncommitted transactions {lost:?}"
            ),
        );
        let replayed: Vec<u32> = self.fs.journal.log.iter().map(|c| c.tid).collect();
        let (func, what) = match self.fs.params.fs_type {
            FsType::Ext4 => ("jbd2_journal_recover", "JBD2: recovery"),
            FsType::Xfs => ("xlog_recover", "XFS: log recovery"),
            FsType::Btrfs => (
                "open_ctree",
                "btrfs: last committed transaction opened, nothing to replay;",
            ),
        };
        let j = &mut self.fs.journal;
        let log = std::mem::take(&mut j.log);
        replay(&log, &mut j.home, self.fs.dev.media_mut());
        self.trace_info(
            None,
            func,
            format!(
                "{what} replayed {} transactions {replayed:?}",
                replayed.len()
            ),
        );
        self.mount_trace(true);
        self.fs.end = Some(FsEnd {
            crashed: true,
            t: self.now,
            event,
            lost_dirty_pages: dirty,
            lost_writeback_pages: wb,
            lost_requests: reqs,
            lost_cached_writes: cached,
            lost_transactions: lost,
            replayed,
        });
        self.read_back_all(true);
        self.end = Some(EndReason::Crash);
    }

    fn mount_trace(&mut self, recovered: bool) {
        let p = &self.fs.params;
        let (func, msg) = match p.fs_type {
            FsType::Ext4 => (
                "ext4_fill_super",
                format!(
                    "EXT4-fs (sda1): {}mounted filesystem with {} data mode{}",
                    if recovered { "recovery complete; " } else { "" },
                    p.data.name(),
                    if p.discard { ", discard" } else { "" }
                ),
            ),
            FsType::Xfs => (
                "xfs_mountfs",
                format!(
                    "XFS (sda1): {}mounted{}",
                    if recovered { "recovery complete; " } else { "" },
                    if p.discard { " with discard" } else { "" }
                ),
            ),
            FsType::Btrfs => (
                "open_ctree",
                format!(
                    "BTRFS (sda1): mounted{}",
                    if p.discard { " with discard" } else { "" }
                ),
            ),
        };
        self.trace_info(None, func, msg);
    }

    /// The clean unmount at the end of a run without a crash.
    pub(crate) fn fs_unmount(&mut self) {
        // Requests in flight complete, in the order the disk finishes them.
        let mut inflight: Vec<(SimTime, u64)> = self
            .fs
            .dev
            .inflight
            .iter()
            .map(|(id, b)| (b.done_at, *id))
            .collect();
        inflight.sort();
        let completed = inflight.len();
        for (_, id) in inflight {
            self.bio_endio(id);
        }
        // sync_filesystem: every dirty page is written.
        let journal_data = self.fs.params.fs_type == FsType::Ext4
            && self.fs.params.data == crate::scenario::DataMode::Journal;
        let mut written = 0;
        for i in (0..self.inodes.len()).map(InodeId::from_index) {
            if journal_data {
                written += self.ext4_journal_dirty_pages(i);
            } else {
                written += self.do_writepages(None, i, u64::MAX, None);
            }
        }
        let ids: Vec<u64> = self.fs.dev.inflight.keys().copied().collect();
        for id in ids {
            self.bio_endio(id);
        }
        // The journal commits what is left, and checkpoints everything.
        let mut tids = Vec::new();
        let j = &mut self.fs.journal;
        let left: Vec<_> = [j.committing.take(), j.running.take()]
            .into_iter()
            .flatten()
            .collect();
        for mut t in left {
            tids.push(t.tid);
            let data: Vec<(InodeId, u64)> = t.data.iter().copied().collect();
            for (ino, index) in data {
                let i = &self.inodes[ino];
                if let (Some(p), Some((lba, _))) = (i.pages.get(&index), i.map.get(&index)) {
                    t.data_blocks
                        .push((*lba, crate::fs::block::Block::Data(p.runs.clone())));
                }
            }
            self.journal_commit_done(t);
        }
        self.checkpoint(0);
        let upto = self.fs.dev.seq;
        self.fs.dev.flush(upto);
        // btrfs has no journal to checkpoint: its commit writes the trees.
        let journal = if self.fs.params.fs_type == FsType::Btrfs {
            "trees written"
        } else {
            "journal checkpointed"
        };
        let event = self.trace_info(
            None,
            "sync_filesystem",
            format!(
                "{written} dirty pages written, {completed} requests completed, transactions {tids:?} committed, {journal}, disk cache flushed"
            ),
        );
        let func = match self.fs.params.fs_type {
            FsType::Ext4 => "ext4_put_super",
            FsType::Xfs => "xfs_unmountfs",
            FsType::Btrfs => "close_ctree",
        };
        self.trace_info(None, func, "unmounted cleanly".into());
        self.mount_trace(false);
        self.fs.end = Some(FsEnd {
            crashed: false,
            t: self.now,
            event,
            lost_dirty_pages: 0,
            lost_writeback_pages: 0,
            lost_requests: 0,
            lost_cached_writes: 0,
            lost_transactions: Vec::new(),
            replayed: Vec::new(),
        });
        #[cfg(debug_assertions)]
        self.check_fs_counters();
        self.read_back_all(false);
    }

    /// Reads every file back from the disk: the size and the mapping the
    /// metadata holds now, each block's durable content.
    fn read_back_all(&mut self, crashed: bool) {
        let empty = crate::fs::jbd2::InodeMeta::default();
        let mut all = Vec::with_capacity(self.inodes.len());
        for i in 0..self.inodes.len() {
            let meta = self
                .fs
                .journal
                .home
                .get(&InodeId::from_index(i))
                .unwrap_or(&empty);
            let dev = &self.fs.dev;
            let size = meta.size;
            let mut runs: Vec<(u64, Run)> = Vec::with_capacity(meta.map.len());
            for (&index, &lba) in meta.map.range(..size.div_ceil(PAGE_SIZE)) {
                let base = index * PAGE_SIZE;
                let mut push = |r: &Run| {
                    let off = base + u64::from(r.off);
                    if off < size {
                        let len = u64::from(r.len).min(size - off) as u16;
                        runs.push((off, Run { len, lba, ..*r }));
                    }
                };
                match dev.media().get(&lba) {
                    Some(crate::fs::block::Block::Data(rs)) => rs.iter().for_each(&mut push),
                    b => {
                        for r in dev.view_of(lba, b).into_runs(lba) {
                            push(&r);
                        }
                    }
                }
            }
            all.push((size, runs));
        }
        for (i, (size, runs)) in all.into_iter().enumerate() {
            let ino = &self.inodes[i];
            let msg = format!(
                "{}: {} bytes on disk (i_size was {}, on disk at the first SIGKILL {})",
                ino.path,
                size,
                ino.i_size,
                ino.disk_size_at_kill
                    .map_or("-".to_string(), |s| s.to_string())
            );
            self.trace_info(None, "vfs_read", msg);
            self.inodes[i].read_back = Some(ReadBack {
                size,
                runs,
                crashed,
            });
        }
    }

    /// The dirty and writeback counters agree with the pages (checked once,
    /// at the unmount: per step it would cost a walk over every page).
    #[cfg(debug_assertions)]
    fn check_fs_counters(&self) {
        let (mut d, mut w) = (0, 0);
        for ino in &self.inodes {
            let n = ino.pages.values().filter(|p| p.dirty).count() as u64;
            assert_eq!(n, ino.nr_dirty, "{}: nr_dirty", ino.path);
            assert_eq!(ino.nr_dirty > 0, ino.dirtied_when.is_some());
            d += n;
            w += ino.pages.values().filter(|p| p.writeback).count() as u64;
        }
        assert_eq!(d, self.mem.nr_dirty, "NR_FILE_DIRTY");
        assert_eq!(w, self.mem.nr_writeback, "NR_WRITEBACK");
        assert_eq!(
            self.fs.b_dirty.len() as u64,
            self.inodes.iter().filter(|i| i.nr_dirty > 0).count() as u64
        );
    }
}
