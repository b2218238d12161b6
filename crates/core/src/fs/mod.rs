//! Files: inodes with `i_size`, their page cache, their blocks on disk, and
//! what is read back after the run. Every byte range carries its provenance,
//! so that a file can later be classified by where its bytes came from, never
//! by their values alone.
//!
//! The submodules follow the kernel: `filemap` (buffered write), `writeback`
//! (the flusher and `balance_dirty_pages`), `block` (the disk), `jbd2` (the
//! journal and the committing thread), `ext4`, `xfs`, `btrfs` (how each
//! filesystem maps, orders and commits file data), `recovery` (crash, journal
//! replay, clean unmount, and reading every file back).
//!
//! Not modelled here: `i_rwsem` (each writer in the presets has a file of its
//! own), truncate and unlink during a run, reads by the programs, directories
//! and inode allocation (an inode's own metadata block is implied by its
//! entry in the journal), block sizes smaller than a page.

pub mod block;
pub mod btrfs;
pub mod ext4;
pub mod filemap;
pub mod jbd2;
pub mod recovery;
pub mod writeback;
pub mod xfs;

pub use crate::ids::InodeId;
use crate::mm::page_alloc::Pfn;
use crate::scenario::{FsParams, PAGE_SIZE};
use crate::sim::{Sim, Tid};
use crate::time::SimTime;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

/// Where a run of bytes in a file page came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Prov {
    /// Copied from the writer's buffer, through its page table.
    Copied,
    /// Copied through a TLB entry whose PTE the reaper had already cleared:
    /// the old page, still intact until the shootdown.
    StaleTlb,
    /// Copied from the zero page after the buffer was reaped.
    ZeroPage,
    /// Zeroed by the filesystem for a short copy (`page_zero_new_buffers`).
    NewBuffer,
    /// A store through a MAP_SHARED file mapping.
    MmapStore,
    /// Read from a disk block this run never wrote: text of a deleted file.
    StaleText,
    /// Read from a disk block this run never wrote: random bytes of a
    /// deleted file.
    StaleRandom,
    /// Zeros of a block discarded on a read-zero-after-TRIM device.
    Discarded,
    /// Zeros of a block that was never written.
    NeverWritten,
}

impl Prov {
    /// Bytes that come from the disk rather than from any write of the run.
    pub fn is_disk(self) -> bool {
        matches!(
            self,
            Prov::StaleText | Prov::StaleRandom | Prov::Discarded | Prov::NeverWritten
        )
    }

    /// Stale data of deleted files (non-zero, not written by the run).
    pub fn is_stale(self) -> bool {
        matches!(self, Prov::StaleText | Prov::StaleRandom)
    }
}

/// No block: a run that has only been in memory.
pub const NO_BLOCK: u64 = u64::MAX;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Run {
    /// Offset within the page.
    pub off: u16,
    pub len: u16,
    /// The value of every byte of the run.
    pub value: u8,
    /// What the application meant to write there.
    pub expected: u8,
    pub prov: Prov,
    pub pid: u32,
    /// Trace index of the event that wrote it (0 for disk provenance).
    pub event: u64,
    /// The disk block the bytes were read from once read back ([`NO_BLOCK`]
    /// while only in memory). For stale provenance the bytes are
    /// `block::stale_byte(prov, lba, offset in block)`, not `value`.
    pub lba: u64,
}

#[derive(Clone, Debug)]
pub struct PcPage {
    pub pfn: Pfn,
    pub runs: Vec<Run>,
    pub dirty: bool,
    pub uptodate: bool,
    /// `PG_writeback`: a write of the page is in flight.
    pub writeback: bool,
    /// data=journal: the transaction that journaled the page's data last.
    pub(crate) jtid: u32,
}

/// A file as read back from disk after the crash or the clean unmount.
#[derive(Clone, Debug)]
pub struct ReadBack {
    /// The on-disk size after recovery.
    pub size: u64,
    /// Runs by file offset, clipped to `size`.
    pub runs: Vec<(u64, Run)>,
    /// After a crash (true) or a clean unmount.
    pub crashed: bool,
}

#[derive(Clone, Debug)]
pub struct Inode {
    pub path: String,
    pub i_size: u64,
    pub(crate) max_i_size_seen: u64,
    /// Sum of positive write() results the processes saw (`S_ack`).
    pub acked: u64,
    pub pages: BTreeMap<u64, PcPage>,
    /// The size the next transaction writes to disk: ext4 `i_disksize`, XFS
    /// `di_size`, btrfs `disk_i_size`.
    pub i_disksize: u64,
    /// Block map in memory: page index → (block, trace record that mapped it).
    pub(crate) map: BTreeMap<u64, (u64, u64)>,
    /// `inode->dirtied_when`, while the inode has dirty pages.
    pub(crate) dirtied_when: Option<SimTime>,
    /// `mapping->writeback_index`: where cyclic writeback resumes.
    pub(crate) writeback_index: u64,
    pub(crate) nr_dirty: u64,
    /// The durable on-disk size at the first fatal signal of the run.
    pub disk_size_at_kill: Option<u64>,
    /// The file as read back at the end of the run.
    pub read_back: Option<ReadBack>,
}

#[derive(Clone, Debug, Serialize)]
pub struct FileSnap {
    pub path: String,
    pub i_size: u64,
    pub acked: u64,
    pub cached_pages: u64,
    pub dirty_pages: u64,
}

impl Inode {
    pub(crate) fn snap(&self) -> FileSnap {
        FileSnap {
            path: self.path.clone(),
            i_size: self.i_size,
            acked: self.acked,
            cached_pages: self.pages.len() as u64,
            dirty_pages: self.pages.values().filter(|p| p.dirty).count() as u64,
        }
    }

    /// The file's content as runs by file offset: as read back from disk
    /// once the run has ended, the page cache before that.
    pub fn content(&self) -> Vec<(u64, Run)> {
        if let Some(rb) = &self.read_back {
            return rb.runs.clone();
        }
        let mut out = Vec::new();
        for (index, p) in self.pages.range(0..self.i_size.div_ceil(PAGE_SIZE)) {
            for r in &p.runs {
                out.push((index * PAGE_SIZE + u64::from(r.off), *r));
            }
        }
        out
    }

    /// The file as a read returns it: as read back from disk once the run
    /// has ended; before that the page cache and, for a page reclaim has
    /// evicted, its block as the device returns it now (volatile cache
    /// included). `content` leaves evicted pages out; the run's verdict
    /// is taken on it, so it stays as it is.
    pub fn content_live(&self, dev: &block::BlockDev) -> Vec<(u64, Run)> {
        if let Some(rb) = &self.read_back {
            return rb.runs.clone();
        }
        let pages = self.i_size.div_ceil(PAGE_SIZE);
        let mut out = Vec::new();
        for index in 0..pages {
            let base = index * PAGE_SIZE;
            if let Some(p) = self.pages.get(&index) {
                out.extend(p.runs.iter().map(|r| (base + u64::from(r.off), *r)));
            } else if let Some(&(lba, _)) = self.map.get(&index) {
                let runs = dev.read_current(lba).into_runs(lba);
                out.extend(runs.into_iter().map(|r| (base + u64::from(r.off), r)));
            }
        }
        out
    }

    /// The file's size as it reads: after the run, the size read back from
    /// disk; before, `i_size`.
    pub fn size(&self) -> u64 {
        self.read_back.as_ref().map_or(self.i_size, |r| r.size)
    }
}

/// Writes `run` into `runs`, replacing whatever it overlaps.
pub(crate) fn overlay(runs: &mut Vec<Run>, run: Run) {
    let (s, e) = (run.off, run.off + run.len);
    let mut out = Vec::with_capacity(runs.len() + 1);
    for r in runs.drain(..) {
        let (rs, re) = (r.off, r.off + r.len);
        if re <= s || rs >= e {
            out.push(r);
            continue;
        }
        if rs < s {
            out.push(Run { len: s - rs, ..r });
        }
        if re > e {
            out.push(Run {
                off: e,
                len: re - e,
                ..r
            });
        }
    }
    out.push(run);
    out.sort_by_key(|r| r.off);
    *runs = out;
}

impl Sim {
    /// Finds or creates the inode for a path.
    pub(crate) fn open_inode(&mut self, path: &str) -> InodeId {
        if let Some(i) = self.inodes.iter().position(|i| i.path == path) {
            return InodeId::from_index(i);
        }
        self.inodes.push(Inode {
            path: path.to_string(),
            i_size: 0,
            max_i_size_seen: 0,
            acked: 0,
            pages: BTreeMap::new(),
            i_disksize: 0,
            map: BTreeMap::new(),
            dirtied_when: None,
            writeback_index: 0,
            nr_dirty: 0,
            disk_size_at_kill: None,
            read_back: None,
        });
        InodeId::from_index(self.inodes.len() - 1)
    }

    pub(crate) fn set_i_size(&mut self, inode: InodeId, size: u64) {
        let ino = &mut self.inodes[inode];
        if size > ino.i_size {
            ino.i_size = size;
            ino.max_i_size_seen = size;
        }
    }

    /// Drops a clean page-cache page (reclaim); its data is on disk.
    pub(crate) fn evict_page_cache(&mut self, inode: InodeId, index: u64) -> Option<Pfn> {
        let ino = &mut self.inodes[inode];
        match ino.pages.get(&index) {
            Some(p) if !p.dirty && !p.writeback => {
                let p = ino.pages.remove(&index).expect("present");
                Some(p.pfn)
            }
            _ => None,
        }
    }

    /// A whole-page store through a shared file mapping.
    pub(crate) fn file_store_page(
        &mut self,
        inode: InodeId,
        index: u64,
        value: u8,
        expected: u8,
        pid: u32,
        event: u64,
    ) {
        let run = Run {
            off: 0,
            len: PAGE_SIZE as u16,
            value,
            expected,
            prov: if value == 0 && expected != 0 {
                Prov::ZeroPage
            } else {
                Prov::MmapStore
            },
            pid,
            event,
            lba: NO_BLOCK,
        };
        if let Some(p) = self.inodes[inode].pages.get_mut(&index) {
            overlay(&mut p.runs, run);
            p.uptodate = true;
            self.set_page_dirty(inode, index);
        }
    }

    /// `set_page_dirty` → `__mark_inode_dirty`: the first dirty page puts the
    /// inode on the flusher's dirty list with `dirtied_when = now`, and arms
    /// the flusher's periodic wake-up (`wb_wakeup_delayed`).
    pub(crate) fn set_page_dirty(&mut self, inode: InodeId, index: u64) {
        let ino = &mut self.inodes[inode];
        let Some(p) = ino.pages.get_mut(&index) else {
            return;
        };
        if p.dirty {
            return;
        }
        p.dirty = true;
        ino.nr_dirty += 1;
        self.mem.nr_dirty += 1;
        if ino.dirtied_when.is_none() {
            ino.dirtied_when = Some(self.now);
            self.fs.b_dirty.insert((self.now.0, inode));
            self.wb_wakeup_delayed();
        }
    }

    /// The page is clean again (its writeback was submitted, or its journal
    /// transaction committed).
    pub(crate) fn clear_page_dirty(&mut self, inode: InodeId, index: u64) {
        let ino = &mut self.inodes[inode];
        let Some(p) = ino.pages.get_mut(&index) else {
            return;
        };
        if !p.dirty {
            return;
        }
        p.dirty = false;
        ino.nr_dirty -= 1;
        self.mem.nr_dirty -= 1;
        if ino.nr_dirty == 0 {
            if let Some(w) = ino.dirtied_when.take() {
                self.fs.b_dirty.remove(&(w.0, inode));
            }
        }
    }

    /// What reading block `lba` returns while the machine runs: a committed
    /// but not yet checkpointed journal copy (data=journal), else the disk's
    /// latest content, cache included.
    pub(crate) fn read_block(&self, lba: u64) -> Vec<Run> {
        for c in self.fs.journal.log.iter().rev() {
            if let Some((_, b)) = c.data.iter().rev().find(|(l, _)| *l == lba) {
                return block::BlockView::from_block(b).into_runs(lba);
            }
        }
        self.fs.dev.read_current(lba).into_runs(lba)
    }

    /// The on-disk size a recovery would find now: the last committed
    /// transaction that set it, else the checkpointed inode.
    pub(crate) fn durable_size(&self, inode: InodeId) -> u64 {
        self.fs.journal.durable_size(inode)
    }
}

/// Filesystem-wide state: the disk, the journal, the flusher's lists, the
/// block allocator and the crash plan.
#[derive(Clone, Debug)]
pub struct FsState {
    pub params: FsParams,
    pub dev: block::BlockDev,
    pub journal: jbd2::Journal,
    /// Next free block of the allocator (blocks are never freed back to it).
    pub(crate) next_lba: u64,
    /// The flusher's `b_dirty` list: (dirtied_when, inode).
    pub(crate) b_dirty: BTreeSet<(u64, InodeId)>,
    /// `wb->last_old_flush`.
    pub(crate) last_old_flush: SimTime,
    /// The flusher sleeps with its periodic timer armed.
    pub(crate) wb_timer: bool,
    /// Pages that reclaim asked the flusher to write (`wakeup_flusher_threads`).
    pub(crate) vmscan_pages: u64,
    /// Reclaim asked the flusher to write everything back
    /// (`wakeup_flusher_threads(WB_REASON_VMSCAN)`).
    pub(crate) wb_vmscan: bool,
    /// The bio mempool's reserved elements.
    pub(crate) bio_pool: Vec<Pfn>,
    /// The thread that commits the journal (jbd2, xfs-cil, btrfs-transaction).
    pub(crate) committer: Option<Tid>,
    /// It sleeps with its commit timer armed.
    pub(crate) commit_timer: bool,
    /// A commit was asked for (data=journal writeback, sync).
    pub(crate) commit_requested: bool,
    /// Tasks waiting for the next commit to complete.
    pub(crate) commit_waiters: Vec<Tid>,
    /// The crash, once its time is known.
    pub(crate) crash_at: Option<SimTime>,
    /// The crash plan's anchor has been reached (or there is no plan).
    pub(crate) crash_armed: bool,
    pub(crate) kill_seen: bool,
    /// What happened at the end of the run.
    pub end: Option<recovery::FsEnd>,
}

impl FsState {
    pub(crate) fn new(params: FsParams, disk_bandwidth: u64) -> FsState {
        let dev = block::BlockDev::new(
            disk_bandwidth,
            params.write_cache,
            params.read_zero_after_trim,
            params.history,
            params.discard,
        );
        FsState {
            params,
            dev,
            journal: jbd2::Journal::default(),
            next_lba: block::DATA_START,
            b_dirty: BTreeSet::new(),
            last_old_flush: SimTime::ZERO,
            wb_timer: false,
            vmscan_pages: 0,
            wb_vmscan: false,
            bio_pool: Vec::new(),
            committer: None,
            commit_timer: false,
            commit_requested: false,
            commit_waiters: Vec::new(),
            crash_at: None,
            crash_armed: false,
            kill_seen: false,
            end: None,
        }
    }

    /// `ext4_mb_new_blocks` / `xfs_bmapi_write` / `btrfs_reserve_extent`:
    /// `n` contiguous blocks from the free space.
    pub(crate) fn alloc_blocks(&mut self, n: u64) -> u64 {
        let lba = self.next_lba;
        self.next_lba += n;
        lba
    }

    /// Whether a block was ever handed out by the allocator.
    pub fn was_allocated(&self, lba: u64) -> bool {
        (block::DATA_START..self.next_lba).contains(&lba)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(off: u16, len: u16, value: u8) -> Run {
        Run {
            off,
            len,
            value,
            expected: 0xff,
            prov: Prov::Copied,
            pid: 1,
            event: 0,
            lba: NO_BLOCK,
        }
    }

    #[test]
    fn overlay_splits() {
        let mut v = vec![r(0, 4096, 1)];
        overlay(&mut v, r(100, 50, 2));
        assert_eq!(v.len(), 3);
        assert_eq!(
            (v[0].off, v[0].len, v[1].value, v[2].off, v[2].len),
            (0, 100, 2, 150, 3946)
        );
        overlay(&mut v, r(0, 4096, 3));
        assert_eq!(v, vec![r(0, 4096, 3)]);
    }
}
