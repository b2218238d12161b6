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
//!    reclaim in their allocation group. A recently dirtied inode's log item
//!    stays pinned until a checkpoint commits.
//! 4. `xfs_reclaim_inodes_nr` kicks the AIL push, then
//!    `xfs_reclaim_inodes_ag(SYNC_TRYLOCK | SYNC_WAIT)`: a pass over the AGs
//!    carrying the reclaim tag with `mutex_trylock(&pag->pag_ici_reclaim_lock)`,
//!    one lookup of `XFS_LOOKUP_BATCH` inodes in each AG it locks (more while
//!    `nr_to_scan` lasts; each lookup takes a whole batch off it). If it
//!    skipped a busy AG and scan work remains, it goes round again with
//!    `mutex_lock`, so that reclaimers queue rather than spin (by design).
//! 5. `xfs_reclaim_inode`: a clean inode is freed at once; for a pinned one,
//!    with the AG's ilock held, `xfs_iunpin_wait` forces the log and sleeps
//!    until the checkpoint that unpins it completes, AG lock held.
//! 6. A dirty inode is flushed (`xfs_iflush`, which gathers the dirty inodes
//!    of its cluster) and the cluster buffer written with `xfs_bwrite`, AG
//!    lock held. The buffer has no `XBF_SYNCIO`, so the request is an
//!    ordinary write on the device queue (`fs::block`): it waits in
//!    `get_request` while the queue is full of writeback.
//!
//! The log force is done by a workqueue worker (`xfs-cil`) that needs pages
//! for the checkpoint (`GFP_NOFS`): at the min watermark that allocation
//! loops in the page allocator (`out_of_memory` does not kill for it), and
//! every reclaimer waiting for an unpin waits with it, which is how the
//! lockup of kernel.md §3.6 closes. With `pf_memalloc_pid` (Andrea's A3) the
//! worker records the pids of the `PF_MEMALLOC` tasks that queued the work,
//! and allocates below min when one of them belongs to an OOM victim.
//!
//! Slab pressure is `do_shrink_slab`'s: proportional to the LRU pages a pass
//! scanned over the LRU's size, with an empty scan counted as
//! `SWAP_CLUSTER_MAX`. A pass that misses its target has gone down every
//! priority and scanned the LRU about twice, so it puts the whole inode cache
//! under pressure. `super_cache_scan` shares the scan between the VFS inode
//! LRU (`prune_icache_sb`, which only tags inodes for XFS reclaim and frees no
//! memory) and XFS's own reclaimable inodes in proportion to their counts;
//! only a share of at least one object reaches `xfs_reclaim_inodes_nr` and its
//! locks.
//!
//! Objects are inodes, `INODES_PER_PAGE` to a slab page, and a page goes back
//! to the page allocator (after an RCU grace period) only with its last
//! inode. Consecutive inodes sit in different AGs, so reclaim that gets
//! through some AGs but waits in another frees objects without freeing
//! pages: a pass can come back from the shrinker with nothing for the
//! allocator while another reclaimer sits on an AG lock.
//!
//! Not modelled: the background reclaim work (`xfs_reclaim_worker`), the
//! per-AG reclaim cursor (every pass starts at the front of the AG), the AIL
//! push itself as a separate thread (`xfsaild`) — the log worker stands for
//! the log force and the inode flush together —, inode cluster buffers as
//! cached objects (a flush writes the cluster and frees its inodes), the
//! checkpoint's log write as a request on the device queue (it takes a fixed
//! `costs::XLOG_IO_NS`), dentries, inodes created while the model runs (the cache
//! only shrinks), more than one batch per `shrink_slab` call (the rest stays
//! in `nr_deferred`), and other filesystems' shrinkers (they never block, and
//! stay folded into `shrink_node`).

use crate::costs;
use crate::fs::block::{Bio, BioKind, NR_REQUESTS};
use crate::kernel::entry::{locked_or_sleep, Fr};
use crate::kernel::sched::TaskState;
use crate::locking::rwsem::RwSemId;
use crate::locking::{Mutex, MutexId};
use crate::mm::page_alloc::{AllocFrame, PageKind};
use crate::sim::*;
use crate::trace::TraceKind;

/// Dirty inodes written by one `xfs_iflush` (`xfs_iflush_cluster` gathers
/// the dirty inodes of the same cluster buffer).
const INODE_CLUSTER: u64 = 8;
/// Blocks of one inode cluster buffer.
const INODE_CLUSTER_BLOCKS: u64 = 2;
/// `xfs_inode` objects per slab page.
pub const INODES_PER_PAGE: usize = 4;
/// Buffer pages a checkpoint of `items` pinned inodes needs.
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
    /// The `xfs_inode` slab: its pages, and the live inodes on each. A page
    /// goes back to the page allocator only when its last inode is freed.
    pub(crate) slab_pages: Vec<u32>,
    pub(crate) live: Vec<u8>,
    /// Unused inodes on the VFS inode LRU (inode `i` lives on slab page
    /// `i / INODES_PER_PAGE`).
    pub(crate) vfs_lru: Vec<u32>,
    /// The allocation groups, each with its reclaim-tagged inodes.
    pub ags: Vec<XfsPerag>,
    /// Tagged inodes whose log item is pinned, over all AGs.
    pinned: u64,
    pub log: Xlog,
    /// Slab pages whose last inode waits for an RCU grace period
    /// (`call_rcu(xfs_inode_free_callback)`), with the time they may go.
    pub(crate) rcu_pending: std::collections::VecDeque<(SimTime, u32)>,
    /// `shrinker->nr_deferred`: scan work that callers without `__GFP_FS`
    /// (or, with A2, direct reclaimers) could not do, left for the next
    /// caller that can.
    pub nr_deferred: u64,
}

/// Where a reclaim-tagged inode stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Istate {
    /// Clean: `xfs_reclaim_inode` frees it at once.
    Clean,
    /// Its log item is pinned until a checkpoint commits.
    Pinned,
    /// Unpinned but dirty: reclaim must flush it (`xfs_iflush`).
    Dirty,
}

/// `struct xfs_perag`: one allocation group's reclaim state.
#[derive(Clone, Debug)]
pub struct XfsPerag {
    /// Inodes carrying `XFS_ICI_RECLAIM_TAG`, in inode-number order.
    pub(crate) reclaim: Vec<(u32, Istate)>,
    pub pag_ici_reclaim_lock: Mutex,
    /// `ip->i_lock` (ILOCK_EXCL) of the inode being reclaimed in this AG.
    pub ilock: Mutex,
}

/// Allocation groups of the filesystem (`mkfs.xfs` gives a small one four).
pub const XFS_AGCOUNT: usize = 4;
/// Inodes per radix-tree lookup in `xfs_reclaim_inodes_ag`; each lookup
/// takes this much off `nr_to_scan`, however many it found.
const XFS_LOOKUP_BATCH: u64 = 32;
/// One inode in this many was recently dirtied (the rest are clean, and
/// reclaim frees them without I/O).
const DIRTY_INODE_EVERY: u32 = 3;
const AG_LOCK_NAMES: [&str; XFS_AGCOUNT] = [
    "pag_ici_reclaim_lock/0",
    "pag_ici_reclaim_lock/1",
    "pag_ici_reclaim_lock/2",
    "pag_ici_reclaim_lock/3",
];
const ILOCK_NAMES: [&str; XFS_AGCOUNT] =
    ["xfs_ilock/0", "xfs_ilock/1", "xfs_ilock/2", "xfs_ilock/3"];

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
            slab_pages: Vec::new(),
            live: Vec::new(),
            vfs_lru: Vec::new(),
            ags: (0..XFS_AGCOUNT)
                .map(|a| XfsPerag {
                    reclaim: Vec::new(),
                    pag_ici_reclaim_lock: Mutex::new(AG_LOCK_NAMES[a]),
                    ilock: Mutex::new(ILOCK_NAMES[a]),
                })
                .collect(),
            pinned: 0,
            log: Xlog::default(),
            rcu_pending: std::collections::VecDeque::new(),
            nr_deferred: 0,
        }
    }

    /// The inode cache at mount: the slab's pages full of unused inodes.
    /// Inodes allocated one after another sit on the same slab page but in
    /// different AGs (new directories rotate over the AGs), so a page is
    /// free only when reclaim has been through every AG.
    pub(crate) fn populate(&mut self, pages: Vec<u32>) {
        let n = (pages.len() * INODES_PER_PAGE) as u32;
        self.live = vec![INODES_PER_PAGE as u8; pages.len()];
        self.slab_pages = pages;
        self.vfs_lru = (0..n).collect();
    }

    fn inode_ag(ino: u32) -> usize {
        ino as usize % XFS_AGCOUNT
    }

    fn inode_dirty(ino: u32) -> bool {
        ino.is_multiple_of(DIRTY_INODE_EVERY)
    }

    /// `__xfs_inode_free`: the inode goes back to its slab after an RCU
    /// grace period; the page goes with it if it was the last one.
    fn inode_free(&mut self, ino: u32, gp: SimTime) {
        let page = ino as usize / INODES_PER_PAGE;
        self.live[page] -= 1;
        if self.live[page] == 0 {
            self.rcu_pending.push_back((gp, self.slab_pages[page]));
        }
    }

    /// Objects the superblock shrinker could still work on (`super_cache_count`).
    pub fn count_objects(&self) -> u64 {
        self.vfs_lru.len() as u64 + self.nr_tagged()
    }

    /// `xfs_reclaim_inodes_count`: reclaim-tagged inodes in every AG.
    pub fn nr_tagged(&self) -> u64 {
        self.ags.iter().map(|a| a.reclaim.len() as u64).sum()
    }

    pub(crate) fn nr_pinned(&self) -> u64 {
        self.pinned
    }

    /// `xfs_inode_set_reclaim_tag`: the inode joins its AG's reclaimable set.
    fn tag(&mut self, ino: u32, st: Istate) {
        self.pinned += u64::from(st == Istate::Pinned);
        self.ags[Self::inode_ag(ino)].reclaim.push((ino, st));
    }

    /// A checkpoint committed: the first `n` pinned inodes become dirty.
    fn unpin(&mut self, n: u64) -> u64 {
        let mut done = 0;
        'ags: for ag in &mut self.ags {
            for (_, s) in ag.reclaim.iter_mut() {
                if done == n {
                    break 'ags;
                }
                if *s == Istate::Pinned {
                    *s = Istate::Dirty;
                    done += 1;
                }
            }
        }
        self.pinned -= done;
        done
    }
}

#[derive(Clone, Debug, Hash)]
pub(crate) struct ShrinkSlabFrame {
    gfp_fs: bool,
    nr: u64,
    freed: u64,
    phase: ShrinkPhase,
    flushing: Vec<u32>,
    /// `nr_to_scan` of `xfs_reclaim_inodes_ag` (it may go below zero).
    scan: i64,
    /// The next AG to look at, the one locked, and the pass's mode.
    ag: usize,
    cur: usize,
    trylock: bool,
    skipped: u32,
    /// Inodes left in the current lookup batch; `None` right after the AG
    /// lock was taken.
    batch: Option<u64>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum ShrinkPhase {
    Start,
    SuperScan,
    /// `xfs_reclaim_inodes_ag`: the next AG carrying the reclaim tag.
    NextAg,
    AgLocked,
    Unpinned,
    /// `xfs_iflush` + `xfs_bwrite` of these inode pages is in flight.
    Flushing,
}

impl ShrinkSlabFrame {
    pub(crate) fn new(gfp_fs: bool, nr: u64) -> ShrinkSlabFrame {
        ShrinkSlabFrame {
            gfp_fs,
            nr,
            freed: 0,
            phase: ShrinkPhase::Start,
            flushing: Vec::new(),
            scan: 0,
            ag: 0,
            cur: 0,
            trylock: true,
            skipped: 0,
            batch: None,
        }
    }
}

#[derive(Clone, Debug, Default, Hash)]
pub(crate) struct XlogFrame {
    phase: XlogPhase,
    /// The checkpoint's buffers (`xlog_cil_push` formats the log vectors).
    pages: Vec<u32>,
    /// Pinned inodes this checkpoint unpins.
    unpins: u64,
    /// The log write's `REQ_PREFLUSH` covers device writes up to this one.
    flush_upto: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Hash)]
enum XlogPhase {
    #[default]
    Wait,
    /// In the allocation of a checkpoint buffer.
    Allocating,
    Allocated(Option<u32>),
    IoDone,
}

impl XlogFrame {
    pub(crate) fn returned(&mut self, ret: Ret) {
        assert!(self.phase == XlogPhase::Allocating, "xlog got a value");
        self.phase = XlogPhase::Allocated(ret.page());
    }
}

impl Sim {
    /// `shrink_slab` → `do_shrink_slab` for the filesystem shrinker after a
    /// reclaim pass that freed `lru_freed` LRU pages:
    /// the frame to call, if any. As in 4.13, a pass that scanned nothing
    /// counts as `SWAP_CLUSTER_MAX`, and the pressure is
    /// `4 * scanned / seeks * freeable / (eligible + 1)`, so a pass that
    /// went through every priority puts the whole cache under pressure. Work
    /// below one batch is deferred
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
        // A pass that reached its target stopped at the first priority; one
        // that missed it went down every priority to 0 and scanned the LRU
        // about twice (dirty pages included, though not reclaimed).
        let lru_scanned = if lru_freed >= SWAP_CLUSTER_MAX {
            lru_freed
        } else {
            2 * self.mem.nr_lru()
        };
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
                format!("{} pinned inodes", self.xfs.nr_pinned()),
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
                "xfs: reclaimed {}/{} inodes (freed after RCU)",
                f.freed, f.nr
            ),
        );
        Fr::Done(Ret::Int(0), Step::Busy(costs::SUPER_SCAN_NS))
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
                    return Fr::Done(Ret::Int(1), Step::Busy(costs::SHRINKER_STEP_NS));
                }
                f.phase = ShrinkPhase::SuperScan;
                Fr::Stay(Step::Busy(costs::SUPER_SCAN_NS))
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
                    return Fr::Done(Ret::Int(0), Step::Busy(costs::SHRINKER_STEP_NS));
                }
                if !self.down_read_trylock_sem(RwSemId::SUmount, tid, false) {
                    self.tr(
                        tid,
                        "super_cache_scan",
                        TraceKind::Reclaim,
                        "trylock_super failed: SHRINK_STOP".into(),
                    );
                    self.up_read_sem(RwSemId::Shrinker, tid);
                    return Fr::Done(Ret::Int(0), Step::Busy(costs::SHRINKER_STEP_NS));
                }
                // The scan is shared between the inode LRU and the
                // filesystem's own objects in proportion to their counts.
                let inodes = self.xfs.vfs_lru.len() as u64;
                let fs_objects = self.xfs.nr_tagged();
                let total = inodes + fs_objects + 1;
                let prune = f.nr * inodes / total + 1;
                let fs_share = f.nr * fs_objects / total;
                // prune_icache_sb: evicted inodes become reclaim-tagged in
                // their AG, a dirty one with its log item pinned; no memory
                // is freed yet.
                let mut evicted = 0;
                let mut pinned = 0;
                while evicted < prune {
                    let Some(ino) = self.xfs.vfs_lru.pop() else {
                        break;
                    };
                    let dirty = XfsIcache::inode_dirty(ino);
                    let st = if dirty { Istate::Pinned } else { Istate::Clean };
                    pinned += u64::from(dirty);
                    self.xfs.tag(ino, st);
                    evicted += 1;
                }
                if evicted > 0 {
                    self.tr(
                        tid,
                        "prune_icache_sb",
                        TraceKind::Reclaim,
                        format!("{evicted} inodes tagged for reclaim ({pinned} pinned)"),
                    );
                }
                if fs_share == 0 {
                    return self.shrink_release(tid, f);
                }
                // xfs_fs_free_cached_objects → xfs_reclaim_inodes_nr: kick
                // the AIL push first.
                f.nr = fs_share + 1;
                f.scan = f.nr as i64;
                if self.xfs.nr_pinned() > 0 {
                    self.xlog_force(tid);
                }
                f.phase = ShrinkPhase::NextAg;
                Fr::Stay(Step::Busy(costs::SUPER_SCAN_NS))
            }
            ShrinkPhase::NextAg => {
                // xfs_perag_get_tag: only AGs with reclaimable inodes.
                let next = (f.ag..XFS_AGCOUNT).find(|&a| !self.xfs.ags[a].reclaim.is_empty());
                let Some(a) = next else {
                    // A skipped AG with scan work left: go round again with
                    // blocking locks, so that reclaimers queue rather than
                    // spin (by design).
                    if f.trylock && f.skipped > 0 && f.scan > 0 {
                        f.trylock = false;
                        f.ag = 0;
                        f.skipped = 0;
                        return Fr::Stay(Step::Busy(costs::SHRINKER_STEP_NS));
                    }
                    return self.shrink_release(tid, f);
                };
                f.ag = a + 1;
                f.cur = a;
                f.batch = None;
                if f.trylock {
                    if !self.mutex_trylock(MutexId::PagIciReclaim(a as u8), tid) {
                        f.skipped += 1;
                        return Fr::Stay(Step::Busy(costs::SHRINKER_STEP_NS));
                    }
                    f.phase = ShrinkPhase::AgLocked;
                    return Fr::Stay(Step::Busy(costs::XFS_AG_LOCK_NS));
                }
                f.phase = ShrinkPhase::AgLocked;
                locked_or_sleep(
                    self.mutex_lock(MutexId::PagIciReclaim(a as u8), tid),
                    costs::XFS_AG_LOCK_NS,
                )
            }
            ShrinkPhase::AgLocked => {
                let a = f.cur;
                let left = match f.batch {
                    Some(n) if n > 0 => n,
                    _ => {
                        // A radix-tree lookup of XFS_LOOKUP_BATCH tagged
                        // inodes; the first one always happens, the next
                        // only while scan work remains.
                        let found = (self.xfs.ags[a].reclaim.len() as u64).min(XFS_LOOKUP_BATCH);
                        if found == 0 || (f.batch.is_some() && f.scan <= 0) {
                            self.mutex_unlock(MutexId::PagIciReclaim(a as u8), tid);
                            f.phase = ShrinkPhase::NextAg;
                            return Fr::Stay(Step::Busy(costs::XFS_LOOKUP_NS));
                        }
                        f.scan -= XFS_LOOKUP_BATCH as i64;
                        found
                    }
                };
                let ag = &mut self.xfs.ags[a];
                match ag.reclaim[0].1 {
                    Istate::Clean => {
                        // Clean inodes in a row are reclaimed without I/O.
                        let n = ag
                            .reclaim
                            .iter()
                            .take(left as usize)
                            .take_while(|(_, s)| *s == Istate::Clean)
                            .count();
                        let gp = self.now.after(self.tick_ns);
                        let inodes: Vec<u32> = ag.reclaim.drain(..n).map(|(i, _)| i).collect();
                        for ino in inodes {
                            self.xfs.inode_free(ino, gp);
                        }
                        f.freed += n as u64;
                        f.batch = Some(left - n as u64);
                        self.progress();
                        Fr::Stay(Step::Busy(
                            costs::XFS_LOOKUP_NS + n as u64 * costs::RECLAIM_NS_PER_INODE,
                        ))
                    }
                    Istate::Dirty => {
                        if self.fs.dev.nr_async >= NR_REQUESTS {
                            // The request queue is full of writeback: wait
                            // for a request in `get_request`, AG lock held.
                            f.batch = Some(left);
                            self.sleep_task(tid, TaskState::Uninterruptible, None, "get_request");
                            return Fr::Stay(Step::Sleep);
                        }
                        // xfs_iflush_cluster: the dirty inodes of the batch
                        // go into one cluster buffer with the first.
                        let mut k = 0;
                        let mut i = 0;
                        while i < ag.reclaim.len() && (k as u64) < left.min(INODE_CLUSTER) {
                            if ag.reclaim[i].1 == Istate::Dirty {
                                f.flushing.push(ag.reclaim.remove(i).0);
                                k += 1;
                            } else {
                                i += 1;
                            }
                        }
                        f.batch = Some(left - k as u64);
                        self.tr(
                            tid,
                            "xfs_iflush",
                            TraceKind::Reclaim,
                            format!("AG {a}: {k} dirty inodes: xfs_bwrite and wait"),
                        );
                        f.phase = ShrinkPhase::Flushing;
                        let bio = Bio {
                            kind: BioKind::Metadata,
                            writes: Vec::new(),
                            nr_blocks: INODE_CLUSTER_BLOCKS,
                            sync: false,
                            preflush: None,
                            fua: false,
                            waiter: Some(tid),
                            done_at: SimTime::ZERO,
                        };
                        let (id, at) = self.fs.dev.submit(self.now, bio);
                        self.push(at, Event::BioDone { id });
                        self.sleep_task(tid, TaskState::Uninterruptible, None, "xfs_buf_iowait");
                        Fr::Stay(Step::Sleep)
                    }
                    Istate::Pinned => {
                        f.batch = Some(left);
                        // Only the AG lock's holder reclaims the AG's inodes.
                        let locked = self.mutex_trylock(MutexId::XfsIlock(a as u8), tid);
                        debug_assert!(locked, "xfs_ilock of AG {a} held outside reclaim");
                        f.phase = ShrinkPhase::Unpinned;
                        self.xlog_force(tid);
                        self.xfs.log.waiters.push(tid);
                        self.tr(
                            tid,
                            "xfs_iunpin_wait",
                            TraceKind::Reclaim,
                            format!("AG {a}: inode pinned: wait for the log force"),
                        );
                        self.sleep_task(tid, TaskState::Uninterruptible, None, "xfs_iunpin_wait");
                        Fr::Stay(Step::Sleep)
                    }
                }
            }
            ShrinkPhase::Flushing => {
                // __xfs_inode_free: the inode goes back to its slab after an
                // RCU grace period, so this caller gets no page for it.
                let n = f.flushing.len() as u64;
                let gp = self.now.after(self.tick_ns);
                for ino in std::mem::take(&mut f.flushing) {
                    self.xfs.inode_free(ino, gp);
                }
                f.freed += n;
                self.progress();
                f.phase = ShrinkPhase::AgLocked;
                Fr::Stay(Step::Busy(
                    costs::XFS_LOOKUP_NS + n * costs::RECLAIM_NS_PER_INODE,
                ))
            }
            ShrinkPhase::Unpinned => {
                self.mutex_unlock(MutexId::XfsIlock(f.cur as u8), tid);
                // The unpinned inode is dirty now; go on with it.
                f.phase = ShrinkPhase::AgLocked;
                Fr::Stay(Step::Busy(costs::XFS_AG_LOCK_NS))
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
                f.unpins = self.xfs.nr_pinned();
                f.phase = XlogPhase::Allocating;
                self.tr(
                    tid,
                    "xlog_cil_push",
                    TraceKind::Reclaim,
                    format!(
                        "checkpoint of {} pinned inodes, free {}",
                        f.unpins,
                        self.mem.nr_free()
                    ),
                );
                Fr::Call(
                    Frame::Alloc(AllocFrame::new(false, PageKind::Kernel)),
                    Step::Busy(costs::XLOG_PUSH_NS),
                )
            }
            XlogPhase::Allocating => unreachable!("the allocation returns first"),
            XlogPhase::Allocated(page) => {
                let Some(pfn) = page else {
                    f.phase = XlogPhase::Wait;
                    return Fr::Stay(Step::Busy(costs::XLOG_ALLOC_NS));
                };
                f.pages.push(pfn);
                if (f.pages.len() as u64) < xlog_pages(f.unpins) {
                    f.phase = XlogPhase::Allocating;
                    return Fr::Call(
                        Frame::Alloc(AllocFrame::new(false, PageKind::Kernel)),
                        Step::Busy(costs::XLOG_ALLOC_NS),
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
                    Some(costs::XLOG_IO_NS),
                    "xlog_wait",
                );
                Fr::Stay(Step::Sleep)
            }
            XlogPhase::IoDone => {
                for pfn in f.pages.drain(..) {
                    self.mem.free_page(pfn);
                }
                let n = self.xfs.unpin(f.unpins);
                self.xfs.log.completed += 1;
                self.xfs.log.force_pending = false;
                self.progress();
                self.tr(
                    tid,
                    "xlog_cil_committed",
                    TraceKind::Reclaim,
                    format!("{n} inodes unpinned"),
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
                self.cond_resched(tid, costs::XLOG_DONE_NS)
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
        xfs_sim_with(&format!("pf_memalloc_pid = {a3}\n"))
    }

    fn xfs_sim_with(kernel: &str) -> Sim {
        let text = format!(
            "version = 1\n[machine]\ncpus = 2\nmemory = \"32M\"\nslab = \"4M\"\n\
             [kernel]\n{kernel}[fs]\ntype = \"xfs\"\n\
             [[process]]\nname = \"a.out\"\n[[process.thread]]\nprogram = \"hog\"\n"
        );
        let sc = crate::parse_scenario(&text).unwrap();
        Sim::new(&sc, crate::ChoiceSource::Seed(1))
    }

    fn task(sim: &Sim, comm: &str) -> Tid {
        sim.tasks.iter().position(|t| t.comm == comm).expect(comm) as Tid
    }

    /// Steps the shrinker frame until it sleeps or returns.
    fn drive(sim: &mut Sim, tid: Tid, f: &mut ShrinkSlabFrame) -> Fr {
        for _ in 0..10_000 {
            match sim.step_shrink_slab(tid, f) {
                Fr::Stay(Step::Busy(_)) => {}
                other => return other,
            }
        }
        panic!("the shrinker never slept nor returned");
    }

    /// Empties the VFS LRU and tags its first `n` inodes for reclaim in
    /// their AGs, clean.
    fn tag_clean(sim: &mut Sim, n: u32) {
        sim.xfs.vfs_lru.clear();
        for ino in 0..n {
            sim.xfs.tag(ino, Istate::Clean);
        }
    }

    /// Without `__GFP_FS` the superblock shrinker stops at once and leaves
    /// its work to the next caller; no XFS lock is touched.
    #[test]
    fn super_cache_scan_without_gfp_fs_is_shrink_stop() {
        let mut sim = xfs_sim_with("");
        let hog = task(&sim, "a.out");
        let (deferred, lru) = (sim.xfs.nr_deferred, sim.xfs.vfs_lru.len());
        let mut f = ShrinkSlabFrame::new(false, SHRINK_BATCH);
        let r = drive(&mut sim, hog, &mut f);
        assert!(matches!(r, Fr::Done(Ret::Int(0), _)));
        assert_eq!(sim.xfs.nr_deferred, deferred + SHRINK_BATCH);
        assert_eq!(sim.xfs.vfs_lru.len(), lru, "nothing pruned");
        assert_eq!(sim.xfs.nr_tagged(), 0);
        assert_eq!(sim.shrinker_rwsem.readers, 0);
    }

    /// A2 keeps the filesystem shrinker out of direct reclaim (the work is
    /// deferred to kswapd); kswapd and, without A2, direct reclaim call it.
    #[test]
    fn fs_shrinkers_run_from_direct_reclaim_unless_a2() {
        for a2 in [false, true] {
            let mut sim = xfs_sim_with(&format!("fs_shrinkers_direct_reclaim = {}\n", !a2));
            let hog = task(&sim, "a.out");
            let kswapd = sim.kswapd_tid;
            let direct = sim.fs_shrink_slab(hog, true, true, 0);
            assert_eq!(direct.is_none(), a2, "a2 = {a2}");
            if a2 {
                assert!(sim.xfs.nr_deferred > 0, "the work is left for kswapd");
            }
            assert!(sim.fs_shrink_slab(kswapd, true, false, 0).is_some());
        }
    }

    /// `xfs_reclaim_inodes_ag`: the trylock pass skips an AG someone holds
    /// and reclaims the others; with scan work left it goes round again and
    /// blocks on the busy AG. Inodes sit four to a slab page across the AGs,
    /// so no page is freed until the busy AG's inodes are reclaimed too.
    #[test]
    fn reclaim_skips_busy_ags_then_waits_and_frees_whole_pages_only() {
        let mut sim = xfs_sim_with("");
        let hog = task(&sim, "a.out");
        let kswapd = sim.kswapd_tid;
        tag_clean(&mut sim, 64);
        assert!(sim.mutex_trylock(MutexId::PagIciReclaim(0), kswapd));
        let mut f = ShrinkSlabFrame::new(true, SHRINK_BATCH);
        let r = drive(&mut sim, hog, &mut f);
        assert!(matches!(r, Fr::Stay(Step::Sleep)), "blocked on AG 0");
        let busy = &sim.xfs.ags[0].pag_ici_reclaim_lock;
        assert_eq!(
            (busy.owner, busy.waiters.clone()),
            (Some(kswapd), vec![hog])
        );
        assert_eq!(sim.xfs.ags[0].reclaim.len(), 16);
        assert!(sim.xfs.ags[1..].iter().all(|a| a.reclaim.is_empty()));
        assert_eq!(f.freed, 48);
        assert!(
            sim.xfs.rcu_pending.is_empty(),
            "every page keeps an AG 0 inode"
        );
        // kswapd lets go: the lock is handed to the waiter, which finishes.
        sim.mutex_unlock(MutexId::PagIciReclaim(0), kswapd);
        let r = drive(&mut sim, hog, &mut f);
        assert!(matches!(r, Fr::Done(Ret::Int(0), _)));
        assert_eq!(sim.xfs.nr_tagged(), 0);
        assert_eq!(sim.xfs.rcu_pending.len(), 16, "64 inodes, four to a page");
        assert!(sim
            .xfs
            .ags
            .iter()
            .all(|a| a.pag_ici_reclaim_lock.owner.is_none()));
    }

    /// A pinned inode makes reclaim force the log and wait for the
    /// checkpoint with its AG lock and the inode's ilock held.
    #[test]
    fn a_pinned_inode_waits_for_the_log_force_with_the_ag_lock_held() {
        let mut sim = xfs_sim_with("");
        let hog = task(&sim, "a.out");
        sim.xfs.vfs_lru.clear();
        sim.xfs.tag(2, Istate::Pinned);
        assert_eq!(sim.xfs.ags[2].reclaim.len(), 1);
        let mut f = ShrinkSlabFrame::new(true, SHRINK_BATCH);
        let r = drive(&mut sim, hog, &mut f);
        assert!(matches!(r, Fr::Stay(Step::Sleep)));
        assert_eq!(sim.xfs.ags[2].pag_ici_reclaim_lock.owner, Some(hog));
        assert_eq!(sim.xfs.ags[2].ilock.owner, Some(hog));
        assert!(sim.xfs.log.force_pending);
        assert_eq!(sim.xfs.log.waiters, vec![hog]);
        // The checkpoint unpins it; reclaim then writes its cluster.
        assert_eq!(sim.xfs.unpin(1), 1);
        let r = drive(&mut sim, hog, &mut f);
        assert!(matches!(r, Fr::Stay(Step::Sleep)));
        assert_eq!(f.flushing, vec![2], "xfs_bwrite of its cluster");
        assert_eq!(sim.xfs.ags[2].ilock.owner, None);
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
