//! `shrink_slab` for the filesystem shrinker that can block: the XFS
//! superblock shrinker (`super_cache_scan` → `prune_icache_sb` →
//! `xfs_fs_free_cached_objects` → `xfs_reclaim_inodes_nr`), its locks, and the
//! XFS log worker that reclaim waits for.
//!
//! The path, as in 4.13:
//! 1. `down_read_trylock(&shrinker_rwsem)`; on failure `shrink_slab` reports
//!    progress without shrinking (so its callers keep going).
//! 2. `super_cache_scan`: without `__GFP_FS` it returns `SHRINK_STOP`; so it
//!    does when `trylock_super` (`down_read_trylock(&sb->s_umount)`) fails.
//! 3. `prune_icache_sb` evicts unused inodes from the VFS LRU; XFS tags them for
//!    reclaim. Their log items stay pinned until the log is forced.
//! 4. `xfs_reclaim_inodes_nr` kicks the AIL push, then
//!    `xfs_reclaim_inodes_ag(SYNC_TRYLOCK | SYNC_WAIT)`: a trylock pass over
//!    `pag_ici_reclaim_lock`; a skipped AG makes it restart with `mutex_lock`,
//!    so direct reclaimers queue behind whoever reclaims (by design).
//! 5. `xfs_reclaim_inode`: `xfs_ilock_nowait(ILOCK_EXCL)`, and for a pinned
//!    inode `xfs_iunpin_wait`, which forces the log and sleeps until the log
//!    I/O that unpins it completes, holding the AG lock and the ilock.
//! 6. A dirty inode is flushed (`xfs_iflush`) and its cluster buffer written
//!    with `xfs_bwrite`, AG lock held. The buffer has no `XBF_SYNCIO`, so the
//!    request is an ordinary write on the device queue (`fs::block`): it
//!    waits in `get_request` while the queue is full of writeback, then
//!    behind the writeback already queued. On a slow disk with writers, one
//!    cluster costs the reclaimer (and everyone queued on the AG lock) the
//!    time the queue takes to drain.
//!
//! The log force is done by a workqueue worker (`xfs-cil`) that needs a page
//! for the checkpoint (`GFP_NOFS`): below the min watermark that allocation
//! loops in the page allocator, which is how the lockup of DOMAIN §3.6 closes.
//! With `pf_memalloc_pid` (Andrea's A3) the worker records the pids of the
//! `PF_MEMALLOC` tasks that queued the work, and allocates below min when one
//! of them belongs to an OOM victim.
//!
//! Slab pressure is `do_shrink_slab`'s: proportional to the LRU pages a pass
//! scanned over the LRU's size, with an empty scan counted as
//! `SWAP_CLUSTER_MAX`, so that a small LRU puts the whole inode cache under
//! pressure. `super_cache_scan` shares the scan between the VFS inode LRU
//! (`prune_icache_sb`, which only tags inodes for XFS reclaim and frees no
//! memory) and XFS's own reclaimable inodes in proportion to their counts;
//! only a share of at least one object reaches `xfs_reclaim_inodes_nr` and its
//! locks. So a pass can come back from the shrinker with nothing freed while
//! another sits on the AG lock.
//!
//! Not modelled: more than one allocation group (one `pag_ici_reclaim_lock`),
//! the background reclaim work (`xfs_reclaim_worker`), the AIL push itself as
//! a separate thread (`xfsaild`) — the log worker stands for the log force and
//! the inode flush together —, inode cluster buffers as cached objects (a
//! flush writes the cluster and frees its inodes), the checkpoint's log write
//! as a request on the device queue (it takes a fixed `XLOG_IO_NS`), dentries, more than one
//! batch per `shrink_slab` call (the rest stays in `nr_deferred`), and other
//! filesystems' shrinkers (they never block, and stay folded into
//! `shrink_node`).

use crate::fs::block::{Bio, BioKind, NR_REQUESTS};
use crate::kernel::entry::Fr;
use crate::kernel::sched::TaskState;
use crate::locking::rwsem::RwSemId;
use crate::locking::{Mutex, MutexId};
use crate::mm::page_alloc::{AllocFrame, PageKind};
use crate::sim::*;
use crate::trace::TraceKind;

/// Time the log worker's checkpoint write takes (submit to completion).
pub(crate) const XLOG_IO_NS: u64 = 3_000_000;
/// Cost of freeing one inode-cache page once it is clean.
const RECLAIM_NS_PER_PAGE: u64 = 2_000;
/// Inode pages written by one `xfs_iflush` (an inode cluster buffer).
const INODE_CLUSTER: u64 = 8;
/// Buffer pages a checkpoint of `items` inode pages needs.
fn xlog_pages(items: u64) -> u64 {
    (1 + items / 16).min(16)
}

/// `SWAP_CLUSTER_MAX`: what `shrink_slab` assumes a pass scanned when it
/// scanned nothing.
pub const SWAP_CLUSTER_MAX: u64 = 32;
/// `DEFAULT_SEEKS`.
const SEEKS: u64 = 2;
/// Objects per `scan_objects` call (the superblock shrinker's `batch`, scaled
/// to this model's unit: one object is one page of the inode cache).
pub const SHRINK_BATCH: u64 = 128;

/// The XFS inode cache of the scenario's filesystem and its log.
#[derive(Clone, Debug)]
pub struct XfsIcache {
    /// The filesystem is XFS (otherwise nothing here is used).
    pub enabled: bool,
    /// Unused, recently dirtied inodes on the VFS inode LRU (pages of the
    /// `xfs_inode` slab).
    pub(crate) vfs_lru: Vec<u32>,
    /// Tagged for reclaim, log items still pinned.
    pub(crate) pinned: Vec<u32>,
    /// Unpinned by a checkpoint but still dirty: reclaim must flush them.
    pub(crate) dirty: Vec<u32>,
    pub pag_ici_reclaim_lock: Mutex,
    /// `ip->i_lock` (ILOCK_EXCL) of the inode being reclaimed.
    pub ilock: Mutex,
    pub log: Xlog,
    /// Reclaimed inode pages waiting for an RCU grace period
    /// (`call_rcu(xfs_inode_free_callback)`), with the time they may go.
    pub(crate) rcu_pending: std::collections::VecDeque<(SimTime, u32)>,
    /// `shrinker->nr_deferred`: scan work that callers without `__GFP_FS`
    /// (or, with A2, direct reclaimers) could not do, left for the next
    /// caller that can.
    pub nr_deferred: u64,
}

/// The log force machinery: one queued or running checkpoint at a time.
#[derive(Clone, Debug, Default)]
pub struct Xlog {
    pub worker: Option<Tid>,
    /// A force was requested and has not completed.
    pub force_pending: bool,
    /// Tasks sleeping in `xfs_iunpin_wait`.
    pub waiters: Vec<Tid>,
    /// Completed checkpoints.
    pub completed: u64,
}

/// `do_shrink_slab`'s scan target: the deferred work plus this pass's share,
/// `4 * scanned / seeks * freeable / (eligible + 1)` with an empty scan
/// counted as `SWAP_CLUSTER_MAX`, clamped as the kernel clamps it.
pub fn shrink_slab_total(deferred: u64, lru_scanned: u64, eligible: u64, freeable: u64) -> u64 {
    let scanned = lru_scanned.max(SWAP_CLUSTER_MAX);
    let delta = 4 * scanned / SEEKS * freeable / (eligible + 1);
    let mut total = deferred + delta;
    if delta < freeable / 4 {
        total = total.min(freeable / 2);
    }
    total.min(freeable * 2)
}

impl XfsIcache {
    pub(crate) fn new() -> XfsIcache {
        XfsIcache {
            enabled: false,
            vfs_lru: Vec::new(),
            pinned: Vec::new(),
            dirty: Vec::new(),
            pag_ici_reclaim_lock: Mutex::new("pag_ici_reclaim_lock"),
            ilock: Mutex::new("xfs_ilock"),
            log: Xlog::default(),
            rcu_pending: std::collections::VecDeque::new(),
            nr_deferred: 0,
        }
    }

    /// Objects the superblock shrinker could still work on (`super_cache_count`).
    pub fn count_objects(&self) -> u64 {
        (self.vfs_lru.len() + self.pinned.len() + self.dirty.len()) as u64
    }
}

#[derive(Clone, Debug)]
pub(crate) struct ShrinkSlabFrame {
    gfp_fs: bool,
    nr: u64,
    freed: u64,
    phase: ShrinkPhase,
    flushing: Vec<u32>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ShrinkPhase {
    Start,
    SuperScan,
    AgLocked,
    Unpinned,
    /// `xfs_iflush` + `xfs_bwrite` of these inode pages is in flight.
    Flushing,
    Release,
}

impl ShrinkSlabFrame {
    pub(crate) fn new(gfp_fs: bool, nr: u64) -> ShrinkSlabFrame {
        ShrinkSlabFrame {
            gfp_fs,
            nr,
            freed: 0,
            phase: ShrinkPhase::Start,
            flushing: Vec::new(),
        }
    }
}

#[derive(Clone, Debug, Default)]
pub(crate) struct XlogFrame {
    phase: XlogPhase,
    /// The checkpoint's buffers (`xlog_cil_push` formats the log vectors).
    pages: Vec<u32>,
    /// Pinned inodes this checkpoint unpins.
    unpins: u64,
    /// The log write's `REQ_PREFLUSH` covers device writes up to this one.
    flush_upto: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
enum XlogPhase {
    #[default]
    Wait,
    Allocated,
    IoDone,
}

impl Sim {
    /// `shrink_slab` → `do_shrink_slab` for the filesystem shrinker after a
    /// reclaim pass that freed `lru_freed` LRU pages:
    /// the frame to call, if any. As in 4.13, a pass that scanned nothing
    /// counts as `SWAP_CLUSTER_MAX`, and the pressure is
    /// `4 * scanned / seeks * freeable / (eligible + 1)`, so an empty LRU
    /// puts the whole cache under pressure. Work below one batch is deferred
    /// (`nr_deferred`) for a later call. With `fs_shrinkers_direct_reclaim =
    /// false` (A2) direct reclaim defers its share to kswapd and wakes it.
    pub(crate) fn fs_shrink_slab(
        &mut self,
        tid: Tid,
        gfp_fs: bool,
        direct: bool,
        lru_freed: u64,
    ) -> Option<Frame> {
        let freeable = self.xfs.count_objects();
        if !self.xfs.enabled || freeable == 0 {
            return None;
        }
        // Dirty pages are scanned too, though not reclaimed.
        let dirty = self.mem.nr_dirty;
        let lru_scanned = lru_freed + SWAP_CLUSTER_MAX.saturating_sub(lru_freed).min(dirty);
        let total = shrink_slab_total(
            self.xfs.nr_deferred,
            lru_scanned,
            self.mem.nr_lru(),
            freeable,
        );
        if direct && !self.toggles.fs_shrinkers_direct_reclaim {
            self.xfs.nr_deferred = total;
            self.wakeup_kswapd(tid);
            return None;
        }
        if total < SHRINK_BATCH && total < freeable {
            self.xfs.nr_deferred = total;
            return None;
        }
        // atomic_long_xchg(&nr_deferred, 0): this caller takes the work; what
        // one batch leaves goes back.
        let nr = total.min(SHRINK_BATCH);
        self.xfs.nr_deferred = total - nr;
        Some(Frame::ShrinkSlab(ShrinkSlabFrame::new(gfp_fs, nr)))
    }

    /// The log force: queue the checkpoint work. A submitter in `PF_MEMALLOC`
    /// context leaves its pid on the worker (`pf_memalloc_pid`).
    pub(crate) fn xlog_force(&mut self, tid: Tid) {
        let Some(w) = self.xfs.log.worker else {
            return;
        };
        let pid = self.tasks[tid as usize].pid;
        if self.tasks[tid as usize].flags & PF_MEMALLOC != 0
            && !self.tasks[w as usize].pf_memalloc_pid.contains(&pid)
        {
            self.tasks[w as usize].pf_memalloc_pid.push(pid);
            if self.toggles.pf_memalloc_pid {
                self.tr(
                    tid,
                    "queue_work",
                    TraceKind::Reclaim,
                    format!("xfs-cil: pf_memalloc_pid dependency on {pid}"),
                );
            }
        }
        if !self.xfs.log.force_pending {
            self.xfs.log.force_pending = true;
            self.tr(
                tid,
                "xfs_log_force",
                TraceKind::Reclaim,
                format!("{} pinned inode pages", self.xfs.pinned.len()),
            );
        }
        self.wake_up_queue(w, "worker_thread", tid);
    }

    /// A3: the worker may allocate below min for a task the OOM killer chose.
    pub(crate) fn pf_memalloc_dependency(&self, tid: Tid) -> Option<u32> {
        if !self.toggles.pf_memalloc_pid {
            return None;
        }
        self.tasks[tid as usize]
            .pf_memalloc_pid
            .iter()
            .copied()
            .find(|pid| {
                self.tasks.iter().any(|t| {
                    t.pid == *pid
                        && t.state != TaskState::Dead
                        && t.kthread.is_none()
                        && (t.tif & TIF_MEMDIE != 0
                            || self.signals[t.sig as usize].oom_mm.is_some())
                })
            })
    }

    /// The end of `shrink_slab`. Its return is the pages the caller's
    /// `reclaim_state` saw freed: none, as reclaimed inodes are freed after
    /// an RCU grace period.
    fn shrink_release(&mut self, tid: Tid, f: &mut ShrinkSlabFrame) -> Fr {
        self.up_read_sem(RwSemId::SUmount, tid);
        self.up_read_sem(RwSemId::Shrinker, tid);
        self.tr(
            tid,
            "shrink_slab",
            TraceKind::Reclaim,
            format!(
                "xfs: reclaimed {}/{} inode pages (freed after RCU)",
                f.freed, f.nr
            ),
        );
        Fr::Done(Ret::Int(0), Step::Busy(300))
    }

    /// RCU callbacks whose grace period has ended free their inode pages.
    pub(crate) fn rcu_do_batch(&mut self) {
        let mut n = 0;
        while let Some(&(t, pfn)) = self.xfs.rcu_pending.front() {
            if t > self.now {
                break;
            }
            self.xfs.rcu_pending.pop_front();
            self.mem.free_page(pfn);
            n += 1;
        }
        if n > 0 {
            self.progress();
        }
    }

    pub(crate) fn step_shrink_slab(&mut self, tid: Tid, f: &mut ShrinkSlabFrame) -> Fr {
        match f.phase {
            ShrinkPhase::Start => {
                if !self.down_read_trylock_sem(RwSemId::Shrinker, tid, false) {
                    // "By returning 1 we keep it going."
                    return Fr::Done(Ret::Int(1), Step::Busy(200));
                }
                f.phase = ShrinkPhase::SuperScan;
                Fr::Stay(Step::Busy(300))
            }
            ShrinkPhase::SuperScan => {
                if !f.gfp_fs {
                    self.xfs.nr_deferred += f.nr;
                    self.tr(
                        tid,
                        "super_cache_scan",
                        TraceKind::Reclaim,
                        format!(
                            "!__GFP_FS: SHRINK_STOP, nr_deferred {}",
                            self.xfs.nr_deferred
                        ),
                    );
                    self.up_read_sem(RwSemId::Shrinker, tid);
                    return Fr::Done(Ret::Int(0), Step::Busy(200));
                }
                if !self.down_read_trylock_sem(RwSemId::SUmount, tid, false) {
                    self.tr(
                        tid,
                        "super_cache_scan",
                        TraceKind::Reclaim,
                        "trylock_super failed: SHRINK_STOP".into(),
                    );
                    self.up_read_sem(RwSemId::Shrinker, tid);
                    return Fr::Done(Ret::Int(0), Step::Busy(200));
                }
                // The scan is shared between the inode LRU and the
                // filesystem's own objects in proportion to their counts.
                let inodes = self.xfs.vfs_lru.len() as u64;
                let fs_objects = (self.xfs.pinned.len() + self.xfs.dirty.len()) as u64;
                let total = inodes + fs_objects + 1;
                let prune = f.nr * inodes / total + 1;
                let fs_share = f.nr * fs_objects / total;
                // prune_icache_sb: evicted inodes become reclaim-tagged with
                // their log items pinned; no memory is freed yet.
                let mut evicted = 0;
                while evicted < prune {
                    let Some(pfn) = self.xfs.vfs_lru.pop() else {
                        break;
                    };
                    self.xfs.pinned.push(pfn);
                    evicted += 1;
                }
                if evicted > 0 {
                    self.tr(
                        tid,
                        "prune_icache_sb",
                        TraceKind::Reclaim,
                        format!("{evicted} inode pages tagged for reclaim (pinned)"),
                    );
                }
                if fs_share == 0 {
                    return self.shrink_release(tid, f);
                }
                // xfs_fs_free_cached_objects → xfs_reclaim_inodes_nr: kick
                // the AIL push first.
                f.nr = fs_share + 1;
                if !self.xfs.pinned.is_empty() {
                    self.xlog_force(tid);
                }
                f.phase = ShrinkPhase::AgLocked;
                if self.mutex_trylock(MutexId::PagIciReclaim, tid) {
                    return Fr::Stay(Step::Busy(500));
                }
                // Skipped an AG with SYNC_WAIT: restart with blocking locks.
                if self.mutex_lock(MutexId::PagIciReclaim, tid) {
                    Fr::Stay(Step::Busy(500))
                } else {
                    Fr::Stay(Step::Sleep)
                }
            }
            ShrinkPhase::AgLocked => {
                if f.freed >= f.nr {
                    f.phase = ShrinkPhase::Release;
                    return Fr::Stay(Step::Busy(500));
                }
                // SYNC_WAIT: a dirty inode is flushed and its cluster buffer
                // written synchronously, with the AG lock held.
                if !self.xfs.dirty.is_empty() {
                    if self.fs.dev.nr_async >= NR_REQUESTS {
                        // The request queue is full of writeback: wait for
                        // a request in `get_request`, AG lock held.
                        self.sleep_task(tid, TaskState::Uninterruptible, None, "get_request");
                        return Fr::Stay(Step::Sleep);
                    }
                    let k = (f.nr - f.freed).min(INODE_CLUSTER) as usize;
                    let k = k.min(self.xfs.dirty.len());
                    let at = self.xfs.dirty.len() - k;
                    f.flushing = self.xfs.dirty.split_off(at);
                    self.tr(
                        tid,
                        "xfs_iflush",
                        TraceKind::Reclaim,
                        format!("{k} dirty inode pages: xfs_bwrite and wait"),
                    );
                    f.phase = ShrinkPhase::Flushing;
                    let bio = Bio {
                        kind: BioKind::Metadata,
                        writes: Vec::new(),
                        nr_blocks: k as u64,
                        sync: false,
                        preflush: None,
                        fua: false,
                        waiter: Some(tid),
                        done_at: SimTime::ZERO,
                    };
                    let (id, at) = self.fs.dev.submit(self.now, bio);
                    self.push(at, Event::BioDone { id });
                    self.sleep_task(tid, TaskState::Uninterruptible, None, "xfs_buf_iowait");
                    return Fr::Stay(Step::Sleep);
                }
                if self.xfs.pinned.is_empty() {
                    f.phase = ShrinkPhase::Release;
                    return Fr::Stay(Step::Busy(500));
                }
                // xfs_reclaim_inode on a pinned inode.
                if !self.mutex_trylock(MutexId::XfsIlock, tid) {
                    f.phase = ShrinkPhase::Release;
                    return Fr::Stay(Step::Busy(500));
                }
                f.phase = ShrinkPhase::Unpinned;
                self.xlog_force(tid);
                self.xfs.log.waiters.push(tid);
                self.tr(
                    tid,
                    "xfs_iunpin_wait",
                    TraceKind::Reclaim,
                    "inode pinned: wait for the log force".into(),
                );
                self.sleep_task(tid, TaskState::Uninterruptible, None, "xfs_iunpin_wait");
                Fr::Stay(Step::Sleep)
            }
            ShrinkPhase::Flushing => {
                // __xfs_inode_free: the inode goes back to its slab after an
                // RCU grace period, so this caller gets no page for it.
                let n = f.flushing.len() as u64;
                let gp = self.now.after(self.tick_ns);
                for pfn in f.flushing.drain(..) {
                    self.xfs.rcu_pending.push_back((gp, pfn));
                }
                f.freed += n;
                self.progress();
                f.phase = ShrinkPhase::AgLocked;
                Fr::Stay(Step::Busy(300 + n * RECLAIM_NS_PER_PAGE))
            }
            ShrinkPhase::Unpinned => {
                self.mutex_unlock(MutexId::XfsIlock, tid);
                // The unpinned inodes are dirty now; go round again.
                f.phase = ShrinkPhase::AgLocked;
                Fr::Stay(Step::Busy(500))
            }
            ShrinkPhase::Release => {
                self.mutex_unlock(MutexId::PagIciReclaim, tid);
                self.shrink_release(tid, f)
            }
        }
    }

    /// The `xfs-cil` worker: waits for a force, allocates the checkpoint's
    /// buffer (`GFP_NOFS`), writes it, then unpins and wakes the waiters.
    pub(crate) fn step_xlog(&mut self, tid: Tid, f: &mut XlogFrame) -> Fr {
        match f.phase {
            XlogPhase::Wait => {
                if !self.xfs.log.force_pending {
                    // xfs_log_worker: file data metadata in the CIL is
                    // forced out every commit_interval (fs::xfs).
                    match self.xfs_log_work_due() {
                        Ok(()) => self.xfs.log.force_pending = true,
                        Err(timeout) => {
                            self.tasks[tid as usize].pf_memalloc_pid.clear();
                            self.fs.commit_timer = timeout.is_some();
                            self.sleep_task(
                                tid,
                                TaskState::Interruptible,
                                timeout,
                                "worker_thread",
                            );
                            return Fr::Stay(Step::Sleep);
                        }
                    }
                }
                f.unpins = self.xfs.pinned.len() as u64;
                f.phase = XlogPhase::Allocated;
                self.tr(
                    tid,
                    "xlog_cil_push",
                    TraceKind::Reclaim,
                    format!(
                        "checkpoint of {} pinned inode pages, free {}",
                        f.unpins,
                        self.mem.nr_free()
                    ),
                );
                Fr::Call(
                    Frame::Alloc(AllocFrame::new(false, PageKind::Kernel)),
                    Step::Busy(2_000),
                )
            }
            XlogPhase::Allocated => {
                let Ret::Page(pfn) = self.tasks[tid as usize].ret else {
                    f.phase = XlogPhase::Wait;
                    return Fr::Stay(Step::Busy(1_000));
                };
                self.tasks[tid as usize].ret = Ret::None;
                f.pages.push(pfn);
                if (f.pages.len() as u64) < xlog_pages(f.unpins) {
                    return Fr::Call(
                        Frame::Alloc(AllocFrame::new(false, PageKind::Kernel)),
                        Step::Busy(1_000),
                    );
                }
                f.phase = XlogPhase::IoDone;
                self.xfs_cil_push();
                f.flush_upto = self.fs.dev.seq;
                self.tr(
                    tid,
                    "xlog_state_release_iclog",
                    TraceKind::Reclaim,
                    "log I/O submitted".into(),
                );
                self.sleep_task(
                    tid,
                    TaskState::Uninterruptible,
                    Some(XLOG_IO_NS),
                    "xlog_wait",
                );
                Fr::Stay(Step::Sleep)
            }
            XlogPhase::IoDone => {
                for pfn in f.pages.drain(..) {
                    self.mem.free_page(pfn);
                }
                let n = (f.unpins as usize).min(self.xfs.pinned.len());
                let unpinned: Vec<u32> = self.xfs.pinned.drain(..n).collect();
                self.xfs.dirty.extend(unpinned);
                self.xfs.log.completed += 1;
                self.xfs.log.force_pending = false;
                self.progress();
                self.tr(
                    tid,
                    "xlog_cil_committed",
                    TraceKind::Reclaim,
                    format!("{n} inode pages unpinned"),
                );
                if let Some(msg) = self.xfs_cil_committed(f.flush_upto) {
                    self.tr(tid, "xlog_cil_committed", TraceKind::Writeback, msg);
                }
                let waiters = std::mem::take(&mut self.xfs.log.waiters);
                let cpu = self.cpu_of(tid);
                for w in waiters {
                    self.wake_up_process(w, cpu);
                }
                f.phase = XlogPhase::Wait;
                self.cond_resched(tid, 500)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slab_pressure_follows_do_shrink_slab() {
        // An empty LRU puts the whole cache under pressure (twice its size).
        assert_eq!(shrink_slab_total(0, 0, 0, 1000), 2000);
        // A large LRU barely touches it: work below a batch is deferred.
        let t = shrink_slab_total(0, 32, 100_000, 1000);
        assert!(t < SHRINK_BATCH, "{t}");
        // Deferred work adds up, but never beyond half the cache while this
        // pass's own share is small.
        assert_eq!(shrink_slab_total(900, 32, 100_000, 1000), 500);
        // Nothing to free, nothing to scan.
        assert_eq!(shrink_slab_total(0, 32, 10, 0), 0);
    }

    fn xfs_sim(a3: bool) -> Sim {
        let text = format!(
            "version = 1\n[machine]\ncpus = 2\nmemory = \"32M\"\nslab = \"4M\"\n\
             [kernel]\npf_memalloc_pid = {a3}\n[fs]\ntype = \"xfs\"\n\
             [[process]]\nname = \"a.out\"\n[[process.thread]]\nprogram = \"hog\"\n"
        );
        let sc = crate::parse_scenario(&text).unwrap();
        Sim::new(&sc, crate::ChoiceSource::Seed(1))
    }

    /// A3: a log force queued from PF_MEMALLOC context leaves the submitter's
    /// pid on the workqueue worker, which then allocates below min while that
    /// task is an OOM victim, and not before.
    #[test]
    fn pf_memalloc_pid_propagates_through_the_workqueue() {
        for a3 in [false, true] {
            let mut sim = xfs_sim(a3);
            let worker = sim.xfs.log.worker.expect("xfs has a log worker");
            let hog = sim
                .tasks
                .iter()
                .position(|t| t.comm == "a.out")
                .expect("the hog") as Tid;
            let pid = sim.tasks[hog as usize].pid;
            // Without PF_MEMALLOC nothing is recorded.
            sim.xlog_force(hog);
            assert!(sim.tasks[worker as usize].pf_memalloc_pid.is_empty());
            sim.tasks[hog as usize].flags |= PF_MEMALLOC;
            sim.xlog_force(hog);
            assert_eq!(sim.tasks[worker as usize].pf_memalloc_pid, vec![pid]);
            // Not a victim yet: no reserves either way.
            assert_eq!(sim.pf_memalloc_dependency(worker), None);
            let sig = sim.tasks[hog as usize].sig as usize;
            sim.signals[sig].oom_mm = sim.tasks[hog as usize].mm;
            let dep = sim.pf_memalloc_dependency(worker);
            assert_eq!(dep, if a3 { Some(pid) } else { None }, "a3 = {a3}");
        }
    }
}
