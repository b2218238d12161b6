//! Writeback (`fs/fs-writeback.c`, `mm/page-writeback.c`): the flusher
//! thread, `balance_dirty_pages`, and the completion of writeback I/O.
//!
//! The flusher (`wb_workfn` → `wb_do_writeback`) does, in this order:
//! - work queued by reclaim (`wakeup_flusher_threads`: write as many pages as
//!   are dirty);
//! - background writeback while dirty pages exceed the background threshold;
//! - periodic writeback (`wb_check_old_data_flush`): every
//!   `dirty_writeback_interval`, the inodes dirtied more than
//!   `dirty_expire_interval` ago.
//!
//! It takes the inode dirtied longest ago and writes up to a request's worth
//! of its dirty pages (`do_writepages`, which the filesystem implements:
//! `fs::ext4`, `fs::xfs`, `fs::btrfs`). Each request needs memory (its bio,
//! `io_end` and buffer heads, a page in the model), taken the way
//! `mempool_alloc` does: from the page allocator without direct reclaim
//! (which wakes kswapd below the low watermark), else from the pool's
//! reserved elements, else by waiting until a completing request returns
//! one. So writeback keeps going under memory pressure, at the pace of its
//! reserve. (The journal's allocations do enter direct reclaim: `fs::jbd2`.)
//! Submission does not wait for the I/O: the flusher goes on until the
//! device queue is full (`get_request`) or the work is done, then sleeps.
//! Pages are clean when their request completes.
//!
//! With no work it sleeps until the next periodic wake-up if anything is
//! dirty, or until woken. `balance_dirty_pages` throttles writers while dirty
//! pages exceed the dirty threshold (sleeping in TASK_KILLABLE) and wakes the
//! flusher above the background threshold.
//!
//! Not modelled: pages under writeback in the dirty limits (4.13 counts
//! `NR_WRITEBACK` with the dirty pages; the model keeps few of them in
//! flight, see `block::NR_REQUESTS`, and counts dirty pages only, as reclaim
//! does), per-bdi bandwidth estimation and the proportional
//! throttling it drives (a throttled writer sleeps a tick at a time),
//! `b_io`/`b_more_io` round-robin (the oldest inode is written until it is
//! clean or the work is done), writeback of inode metadata
//! (`write_inode`), `WB_SYNC_ALL` waits, I/O completion running on a CPU.

use crate::costs;
use crate::fs::block::{Bio, BioKind, Block, NR_REQUESTS};
use crate::fs::InodeId;
use crate::kernel::entry::Fr;
use crate::kernel::sched::TaskState;
use crate::mm::page_alloc::PageKind;
use crate::mm::page_alloc::Pfn;
use crate::scenario::{DataMode, FsType, PAGE_SIZE};
use crate::sim::{Event, Ret, Sim, Step, Tid};
use crate::time::SimTime;
use crate::trace::TraceKind;

/// Pages in one writeback request (128 KB, under `max_sectors_kb`).
pub(crate) const WB_CHUNK: u64 = 32;

/// `BIO_POOL_SIZE`: elements the bio mempool keeps in reserve.
pub(crate) const BIO_POOL_SIZE: usize = 2;

#[derive(Clone, Debug, Default, Hash)]
pub(crate) struct FlusherFrame {}

/// Why the flusher writes an inode.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum WbReason {
    Vmscan,
    Background,
    Periodic,
}

impl WbReason {
    fn name(self) -> &'static str {
        match self {
            WbReason::Vmscan => "vmscan",
            WbReason::Background => "background",
            WbReason::Periodic => "periodic",
        }
    }
}

impl Sim {
    fn dirty_thresholds(&self) -> (u64, u64) {
        // global_dirtyable_memory: free + the file LRU (reclaimable, dirty).
        let avail = self.mem.nr_free() + self.mem.nr_reclaimable() + self.mem.nr_dirty;
        let m = &self.sc.scenario.machine;
        (
            avail * u64::from(m.dirty_background_ratio) / 100,
            avail * u64::from(m.dirty_ratio) / 100,
        )
    }

    pub(crate) fn wakeup_flusher(&mut self, by: Tid) {
        let f = self.flusher_tid;
        self.wake_up_queue(f, "wb_wait_for_work", by);
    }

    /// `wb_wakeup_delayed`: the periodic wake-up, armed when the first inode
    /// is dirtied while the flusher sleeps without one.
    pub(crate) fn wb_wakeup_delayed(&mut self) {
        let f = self.flusher_tid;
        if self.fs.wb_timer || !self.sleeps_on(f, "wb_wait_for_work") {
            return;
        }
        let gen = self.tasks[f].sleep_gen;
        let at = self.now.after(self.fs.params.dirty_writeback_interval);
        self.push(at, Event::TimerWake { tid: f, gen });
        self.fs.wb_timer = true;
    }

    pub(crate) fn step_balance_dirty(&mut self, tid: Tid, waited: &mut bool) -> Fr {
        let (bg, thresh) = self.dirty_thresholds();
        if self.mem.nr_dirty > bg {
            self.wakeup_flusher(tid);
        }
        let pending = self.mem.nr_dirty;
        if pending <= thresh || (*waited && self.fatal_signal_pending(tid)) {
            return Fr::Done(Ret::None, Step::Busy(costs::BALANCE_DIRTY_NS));
        }
        if !*waited {
            self.tr(
                tid,
                "balance_dirty_pages",
                TraceKind::Writeback,
                format!(
                    "dirty {pending} > thresh {thresh}: throttle ({} under writeback)",
                    self.mem.nr_writeback
                ),
            );
        }
        *waited = true;
        let pause = self.tick_ns;
        self.sleep_task(tid, TaskState::Killable, Some(pause), "balance_dirty_pages");
        Fr::Stay(Step::Sleep)
    }

    /// The next inode to write and why, or None when there is no work.
    fn wb_pick(&mut self) -> Option<(InodeId, WbReason)> {
        let (bg, _) = self.dirty_thresholds();
        let &(when, ino) = self.fs.b_dirty.first()?;
        if self.fs.vmscan_pages > 0 {
            return Some((ino, WbReason::Vmscan));
        }
        if self.mem.nr_dirty > bg {
            return Some((ino, WbReason::Background));
        }
        let interval = self.fs.params.dirty_writeback_interval;
        if self.now >= self.fs.last_old_flush.after(interval) {
            let expire = self.fs.params.dirty_expire_interval;
            if when.saturating_add(expire) <= self.now.0 {
                return Some((ino, WbReason::Periodic));
            }
            // This periodic pass is done.
            self.fs.last_old_flush = self.now;
        }
        None
    }

    /// `mempool_alloc(GFP_NOIO)` for a request: the page allocator without
    /// direct reclaim above the min watermark, else a reserved element.
    fn bio_alloc(&mut self, tid: Tid) -> Option<Pfn> {
        if self.mem.nr_free() <= self.mem.wmark.low {
            self.wakeup_kswapd(tid);
        }
        if self.mem.nr_free() > self.mem.wmark.min {
            let pfn = self.mem.alloc_page(PageKind::Kernel);
            if pfn.is_some() {
                self.progress();
            }
            return pfn;
        }
        self.fs.bio_pool.pop()
    }

    /// `mempool_free`: the element refills the reserve, or goes back to the
    /// page allocator; a writer waiting for one is woken.
    fn bio_put(&mut self, pfn: Pfn) {
        if self.fs.bio_pool.len() < BIO_POOL_SIZE {
            self.fs.bio_pool.push(pfn);
        } else {
            self.mem.free_page(pfn);
        }
        let fl = self.flusher_tid;
        if self.sleeps_on(fl, "mempool_alloc") {
            self.wake_up_process(fl, None);
        }
    }

    pub(crate) fn step_flusher(&mut self, tid: Tid, _f: &mut FlusherFrame) -> Fr {
        self.fs.wb_timer = false;
        if self.fs.wb_vmscan {
            self.fs.wb_vmscan = false;
            self.fs.vmscan_pages = self.fs.vmscan_pages.max(self.mem.nr_dirty);
        }
        let Some((ino, reason)) = self.wb_pick() else {
            self.fs.vmscan_pages = 0;
            let timeout = (!self.fs.b_dirty.is_empty()).then(|| {
                let at = self
                    .fs
                    .last_old_flush
                    .after(self.fs.params.dirty_writeback_interval);
                at.since(self.now).max(costs::WB_MIN_SLEEP_NS)
            });
            self.fs.wb_timer = timeout.is_some();
            self.sleep_task(tid, TaskState::Interruptible, timeout, "wb_wait_for_work");
            return Fr::Stay(Step::Sleep);
        };
        if self.fs.params.fs_type == FsType::Ext4 && self.fs.params.data == DataMode::Journal {
            // ext4_journalled_writepage: the data goes through the journal;
            // wait for the commit that makes the pages clean.
            let n = self.ext4_journal_dirty_pages(ino);
            self.tr(
                tid,
                "ext4_journalled_writepage",
                TraceKind::Writeback,
                format!(
                    "{} ({}): {n} pages journaled, wait for the commit",
                    self.inodes[ino].path,
                    reason.name()
                ),
            );
            self.fs.vmscan_pages = self.fs.vmscan_pages.saturating_sub(n.max(1));
            self.request_commit(Some(tid));
            self.sleep_task(
                tid,
                TaskState::Uninterruptible,
                None,
                "jbd2_log_wait_commit",
            );
            return Fr::Stay(Step::Sleep);
        }
        if self.fs.dev.nr_async >= NR_REQUESTS {
            // The request queue is full: wait for a completion.
            self.sleep_task(tid, TaskState::Uninterruptible, None, "get_request");
            return Fr::Stay(Step::Sleep);
        }
        let Some(io_end) = self.bio_alloc(tid) else {
            self.sleep_task(tid, TaskState::Uninterruptible, None, "mempool_alloc");
            return Fr::Stay(Step::Sleep);
        };
        let n = self.do_writepages(Some(tid), ino, WB_CHUNK, Some(io_end));
        if n == 0 {
            // Every dirty page is still under writeback: requeue the inode
            // (redirty_tail) and wait a little.
            self.bio_put(io_end);
            let i = &mut self.inodes[ino];
            if let Some(w) = i.dirtied_when {
                self.fs.b_dirty.remove(&(w.0, ino));
                i.dirtied_when = Some(self.now);
                self.fs.b_dirty.insert((self.now.0, ino));
            }
            let tick = self.tick_ns;
            self.sleep_task(
                tid,
                TaskState::Uninterruptible,
                Some(tick),
                "congestion_wait",
            );
            return Fr::Stay(Step::Sleep);
        }
        self.fs.vmscan_pages = self.fs.vmscan_pages.saturating_sub(n);
        self.cond_resched(tid, costs::WB_CHUNK_NS + n * costs::WB_NS_PER_PAGE)
    }

    /// `do_writepages` for up to `max` dirty pages of `inode` that are not
    /// already under writeback, in index order: they leave the dirty state
    /// for writeback, and the filesystem maps and submits them. Returns the
    /// number of pages submitted. `by` is the flusher (None during the
    /// unmount's sync); `io_end` is freed when the request completes.
    pub(crate) fn do_writepages(
        &mut self,
        by: Option<Tid>,
        inode: InodeId,
        max: u64,
        io_end: Option<Pfn>,
    ) -> u64 {
        // write_cache_pages, range_cyclic: from writeback_index to the end,
        // then from the start.
        let ino = &self.inodes[inode];
        let from = ino.writeback_index;
        let pick = |r: std::collections::btree_map::Range<'_, u64, crate::fs::PcPage>, n: usize| {
            r.filter(|(_, p)| p.dirty && !p.writeback)
                .map(|(i, _)| *i)
                .take(n)
                .collect::<Vec<u64>>()
        };
        let mut idxs = pick(ino.pages.range(from..), max as usize);
        if (idxs.len() as u64) < max && from > 0 {
            let more = pick(ino.pages.range(..from), (max as usize) - idxs.len());
            idxs.extend(more);
            idxs.sort_unstable();
        }
        let Some(&last) = idxs.last() else {
            return 0;
        };
        self.inodes[inode].writeback_index = last + 1;
        for &i in &idxs {
            self.clear_page_dirty(inode, i);
            let p = self.inodes[inode]
                .pages
                .get_mut(&i)
                .expect("dirty page is cached");
            p.writeback = true;
            self.mem.nr_writeback += 1;
        }
        match self.fs.params.fs_type {
            FsType::Ext4 => self.ext4_writepages(by, inode, &idxs, io_end),
            FsType::Xfs => self.xfs_vm_writepages(by, inode, &idxs, io_end),
            FsType::Btrfs => self.btrfs_writepages(by, inode, &idxs, io_end),
        }
        idxs.len() as u64
    }

    /// Submits a data write of `pages` ((index, block) pairs) of `inode`,
    /// with the pages' content as it is now. Returns the request id.
    pub(crate) fn submit_data_bio(
        &mut self,
        inode: InodeId,
        pages: Vec<(u64, u64)>,
        io_end: Option<Pfn>,
        event: u64,
    ) -> u64 {
        let ino = &self.inodes[inode];
        let writes: Vec<(u64, Block)> = pages
            .iter()
            .map(|(i, lba)| {
                let runs = ino.pages.get(i).map(|p| p.runs.clone()).unwrap_or_default();
                (*lba, Block::Data(runs))
            })
            .collect();
        let bio = Bio {
            nr_blocks: pages.len() as u64,
            kind: BioKind::Data {
                inode,
                pages,
                io_end,
                event,
            },
            writes,
            sync: false,
            preflush: None,
            fua: false,
            waiter: None,
            done_at: SimTime::ZERO,
        };
        let (id, at) = self.fs.dev.submit(self.now, bio);
        self.push(at, Event::BioDone { id });
        id
    }

    /// A request completed (`bio_endio`): `end_page_writeback` for its pages,
    /// the filesystem's completion work (XFS size update, btrfs ordered
    /// extent), and the wake-ups of whoever waits for it.
    pub(crate) fn bio_endio(&mut self, id: u64) {
        let Some(bio) = self.fs.dev.complete(id) else {
            return;
        };
        let j = &mut self.fs.journal;
        for t in [j.running.as_mut(), j.committing.as_mut()]
            .into_iter()
            .flatten()
        {
            t.ordered.remove(&id);
        }
        if !bio.sync {
            // A request went back to the queue's pool: `get_request` waiters
            // other than the flusher (which is woken below, with its pages).
            let waiters: Vec<Tid> = (0..self.tasks.len())
                .map(Tid::from_index)
                .filter(|&t| t != self.flusher_tid && self.sleeps_on(t, "get_request"))
                .collect();
            for t in waiters {
                self.wake_up_process(t, None);
            }
        }
        match bio.kind {
            BioKind::Journal | BioKind::Metadata => {
                if let Some(w) = bio.waiter {
                    self.wake_up_process(w, None);
                }
                if !bio.sync && self.sleeps_on(self.flusher_tid, "get_request") {
                    self.wake_up_process(self.flusher_tid, None);
                }
            }
            BioKind::Data {
                inode,
                pages,
                io_end,
                event,
            } => {
                let mut last = 0;
                for &(index, _) in &pages {
                    let ino = &mut self.inodes[inode];
                    if let Some(p) = ino.pages.get_mut(&index) {
                        if p.writeback {
                            p.writeback = false;
                            self.mem.nr_writeback -= 1;
                            if !p.dirty {
                                self.mem.clean_lru.push_back((inode, index));
                            }
                        }
                    }
                    last = last.max(index);
                }
                let end = (last + 1) * PAGE_SIZE;
                let extra = match self.fs.params.fs_type {
                    FsType::Xfs => self.xfs_end_io(inode, end),
                    FsType::Btrfs => self.btrfs_finish_ordered_io(inode, &pages, event, end),
                    FsType::Ext4 => String::new(),
                };
                if let Some(pfn) = io_end {
                    self.bio_put(pfn);
                }
                self.progress();
                let msg = format!(
                    "{} pages of {} clean{extra}",
                    pages.len(),
                    self.inodes[inode].path
                );
                self.trace_rec(
                    None,
                    None,
                    "end_page_writeback",
                    TraceKind::Writeback,
                    msg,
                    None,
                );
                let fl = self.flusher_tid;
                if self.sleeps_on(fl, "get_request") {
                    self.wake_up_process(fl, None);
                }
                if let Some(c) = self.fs.committer {
                    let empty = self
                        .fs
                        .journal
                        .committing
                        .as_ref()
                        .is_none_or(|t| t.ordered.is_empty());
                    if empty && self.sleeps_on(c, "journal_finish_inode_data_buffers") {
                        self.wake_up_process(c, None);
                    }
                }
            }
        }
    }
}
