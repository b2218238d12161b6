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
//!
//! The log force is done by a workqueue worker (`xfs-cil`) that needs a page
//! for the checkpoint (`GFP_NOFS`): below the min watermark that allocation
//! loops in the page allocator, which is how the lockup of DOMAIN §3.6 closes.
//! With `pf_memalloc_pid` (Andrea's A3) the worker records the pids of the
//! `PF_MEMALLOC` tasks that queued the work, and allocates below min when one
//! of them belongs to an OOM victim.
//!
//! Slab pressure follows the LRU (see `mm::vmscan`): the shrinker is called
//! from a reclaim pass that scanned LRU pages, with a batch of 32.
//!
//! Not modelled: more than one allocation group (one `pag_ici_reclaim_lock`),
//! the background reclaim work (`xfs_reclaim_worker`), the AIL push itself as
//! a separate thread (`xfsaild`) — the log worker stands for the log force and
//! the inode flush together —, inode cluster buffers, `nr_deferred` scan
//! accounting, and other filesystems' shrinkers (they never block, and stay
//! folded into `shrink_node`).

use crate::kernel::entry::Fr;
use crate::kernel::sched::TaskState;
use crate::locking::rwsem::RwSemId;
use crate::locking::{Mutex, MutexId};
use crate::mm::page_alloc::{AllocFrame, PageKind};
use crate::sim::*;
use crate::trace::TraceKind;

/// Time the log worker's checkpoint write takes (submit to completion).
pub(crate) const XLOG_IO_NS: u64 = 3_000_000;
/// Cost of reclaiming one inode-cache page once it is clean.
const RECLAIM_NS_PER_PAGE: u64 = 2_000;
/// Buffer pages a checkpoint of `items` inode pages needs.
fn xlog_pages(items: u64) -> u64 {
    (1 + items / 16).min(16)
}

/// Scan work one reclaim pass gives the shrinker (`SHRINK_BATCH`-sized).
pub(crate) const SLAB_SCAN: u64 = 32;
/// At most this much scan work in one call, deferred work included.
const MAX_SCAN: u64 = 256;

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
    /// Tagged for reclaim and clean: freed without waiting.
    pub(crate) clean: Vec<u32>,
    pub pag_ici_reclaim_lock: Mutex,
    /// `ip->i_lock` (ILOCK_EXCL) of the inode being reclaimed.
    pub ilock: Mutex,
    pub log: Xlog,
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

impl XfsIcache {
    pub(crate) fn new() -> XfsIcache {
        XfsIcache {
            enabled: false,
            vfs_lru: Vec::new(),
            pinned: Vec::new(),
            clean: Vec::new(),
            pag_ici_reclaim_lock: Mutex::new("pag_ici_reclaim_lock"),
            ilock: Mutex::new("xfs_ilock"),
            log: Xlog::default(),
            nr_deferred: 0,
        }
    }

    /// Objects the superblock shrinker could still work on (`super_cache_count`).
    pub fn count_objects(&self) -> u64 {
        (self.vfs_lru.len() + self.pinned.len() + self.clean.len()) as u64
    }
}

#[derive(Clone, Debug)]
pub(crate) struct ShrinkSlabFrame {
    gfp_fs: bool,
    nr: u64,
    freed: u64,
    phase: ShrinkPhase,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ShrinkPhase {
    Start,
    SuperScan,
    AgLocked,
    Unpinned,
    Release,
}

impl ShrinkSlabFrame {
    pub(crate) fn new(gfp_fs: bool, nr: u64) -> ShrinkSlabFrame {
        ShrinkSlabFrame {
            gfp_fs,
            nr,
            freed: 0,
            phase: ShrinkPhase::Start,
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
    /// `shrink_slab` for the filesystem shrinker after a reclaim pass that
    /// scanned `lru_scanned` LRU pages: the frame to call, if any. Pressure is
    /// proportional to the LRU scan, plus the deferred work for a caller that
    /// can do it. With `fs_shrinkers_direct_reclaim = false` (A2) direct
    /// reclaim defers its share to kswapd and wakes it.
    pub(crate) fn fs_shrink_slab(
        &mut self,
        tid: Tid,
        gfp_fs: bool,
        direct: bool,
        lru_freed: u64,
    ) -> Option<Frame> {
        if !self.xfs.enabled || self.xfs.count_objects() == 0 {
            return None;
        }
        // Dirty pages are scanned too, though not reclaimed.
        let dirty = self.mem.nr_dirty;
        let lru_scanned = lru_freed + SLAB_SCAN.saturating_sub(lru_freed).min(dirty);
        let delta = if lru_scanned > 0 { SLAB_SCAN } else { 0 };
        if direct && !self.toggles.fs_shrinkers_direct_reclaim {
            if delta > 0 {
                self.xfs.nr_deferred = (self.xfs.nr_deferred + delta).min(self.xfs.count_objects());
                self.wakeup_kswapd(tid);
            }
            return None;
        }
        if delta == 0 && !(gfp_fs && self.xfs.nr_deferred > 0) {
            return None;
        }
        Some(Frame::ShrinkSlab(ShrinkSlabFrame::new(gfp_fs, delta)))
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

    fn shrink_release(&mut self, tid: Tid, f: &mut ShrinkSlabFrame) -> Fr {
        self.up_read_sem(RwSemId::SUmount, tid);
        self.up_read_sem(RwSemId::Shrinker, tid);
        if f.freed > 0 {
            self.progress();
        }
        self.tr(
            tid,
            "shrink_slab",
            TraceKind::Reclaim,
            format!("xfs: freed {}/{} inode pages", f.freed, f.nr),
        );
        Fr::Done(Ret::Int(f.freed as i64), Step::Busy(300))
    }

    fn reclaim_clean(&mut self, f: &mut ShrinkSlabFrame) -> u64 {
        let mut n = 0;
        while f.freed < f.nr {
            let Some(pfn) = self.xfs.clean.pop() else {
                break;
            };
            self.mem.free_page(pfn);
            f.freed += 1;
            n += 1;
        }
        n
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
                    self.xfs.nr_deferred =
                        (self.xfs.nr_deferred + f.nr).min(self.xfs.count_objects());
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
                let take = self.xfs.nr_deferred.min(MAX_SCAN.saturating_sub(f.nr));
                self.xfs.nr_deferred -= take;
                f.nr += take;
                // prune_icache_sb: evicted dirty inodes become reclaim-tagged
                // with their log items pinned.
                let mut evicted = 0;
                while evicted < f.nr {
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
                // xfs_reclaim_inodes_nr: kick the AIL push first.
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
                let n = self.reclaim_clean(f);
                if f.freed >= f.nr || self.xfs.pinned.is_empty() {
                    f.phase = ShrinkPhase::Release;
                    return Fr::Stay(Step::Busy(500 + n * RECLAIM_NS_PER_PAGE));
                }
                // xfs_reclaim_inode on a pinned inode.
                if !self.mutex_trylock(MutexId::XfsIlock, tid) {
                    f.phase = ShrinkPhase::Release;
                    return Fr::Stay(Step::Busy(500 + n * RECLAIM_NS_PER_PAGE));
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
            ShrinkPhase::Unpinned => {
                self.mutex_unlock(MutexId::XfsIlock, tid);
                let n = self.reclaim_clean(f);
                f.phase = ShrinkPhase::Release;
                Fr::Stay(Step::Busy(500 + n * RECLAIM_NS_PER_PAGE))
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
                self.xfs.clean.extend(unpinned);
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
