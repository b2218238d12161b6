//! The XFS inode cache: inodes four to a slab page, spread over the
//! allocation groups, and `xfs_reclaim_inodes_ag`, which the superblock
//! shrinker (`mm::shrinker`) calls.
//!
//! The path, as in 4.13:
//! 1. `prune_icache_sb` evicts unused inodes from the VFS LRU; XFS tags them
//!    for reclaim in their allocation group. A recently dirtied inode's log
//!    item stays pinned until a checkpoint commits.
//! 2. `xfs_reclaim_inodes_nr` kicks the AIL push, then
//!    `xfs_reclaim_inodes_ag(SYNC_TRYLOCK | SYNC_WAIT)`: a pass over the AGs
//!    carrying the reclaim tag with `mutex_trylock(&pag->pag_ici_reclaim_lock)`,
//!    one lookup of `XFS_LOOKUP_BATCH` inodes in each AG it locks (more while
//!    `nr_to_scan` lasts; each lookup takes a whole batch off it). If it
//!    skipped a busy AG and scan work remains, it goes round again with
//!    `mutex_lock`, so that reclaimers queue rather than spin (by design).
//! 3. `xfs_reclaim_inode`: a clean inode is freed at once; for a pinned one,
//!    with the AG's ilock held, `xfs_iunpin_wait` forces the log (`log`) and
//!    sleeps until the checkpoint that unpins it completes, AG lock held.
//! 4. A dirty inode is flushed (`xfs_iflush`, which gathers the dirty inodes
//!    of its cluster) and the cluster buffer written with `xfs_bwrite`, AG
//!    lock held. The buffer has no `XBF_SYNCIO`, so the request is an
//!    ordinary write on the device queue (`fs::block`): it waits in
//!    `get_request` while the queue is full of writeback.
//!
//! A slab page goes back to the page allocator (after an RCU grace period)
//! only with its last inode. Consecutive inodes sit in different AGs, so
//! reclaim that gets through some AGs but waits in another frees objects
//! without freeing pages: a pass can come back from the shrinker with nothing
//! for the allocator while another reclaimer sits on an AG lock.
//!
//! Not modelled: the background reclaim work (`xfs_reclaim_worker`), the
//! per-AG reclaim cursor (every pass starts at the front of the AG), inode
//! cluster buffers as cached objects (a flush writes the cluster and frees
//! its inodes), dentries, and inodes created while the model runs (the cache
//! only shrinks).

use crate::costs;
use crate::fs::block::{Bio, BioKind, NR_REQUESTS};
use crate::fs::xfs::log::Xlog;
use crate::kernel::entry::{locked_or_sleep, Fr};
use crate::kernel::sched::TaskState;
use crate::locking::{Mutex, MutexId};
use crate::mm::page_alloc::Pfn;
use crate::mm::shrinker::{ShrinkPhase, ShrinkSlabFrame};
use crate::sim::{Event, Sim, Step, Tid};
use crate::time::SimTime;
use crate::trace::TraceKind;

/// Dirty inodes written by one `xfs_iflush` (`xfs_iflush_cluster` gathers
/// the dirty inodes of the same cluster buffer).
const INODE_CLUSTER: u64 = 8;
/// Blocks of one inode cluster buffer.
const INODE_CLUSTER_BLOCKS: u64 = 2;
/// `xfs_inode` objects per slab page.
pub const INODES_PER_PAGE: usize = 4;

/// The XFS inode cache of the scenario's filesystem and its log.
#[derive(Clone, Debug)]
pub struct XfsIcache {
    /// The filesystem is XFS (otherwise nothing here is used).
    pub enabled: bool,
    /// The `xfs_inode` slab: its pages, and the live inodes on each. A page
    /// goes back to the page allocator only when its last inode is freed.
    pub(crate) slab_pages: Vec<Pfn>,
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
    pub(crate) rcu_pending: std::collections::VecDeque<(SimTime, Pfn)>,
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
    pub(crate) fn populate(&mut self, pages: Vec<Pfn>) {
        let n = (pages.len() * INODES_PER_PAGE) as u32;
        self.live = vec![INODES_PER_PAGE as u8; pages.len()];
        self.slab_pages = pages;
        self.vfs_lru = (0..n).collect();
    }

    fn inode_ag(ino: u32) -> usize {
        ino as usize % XFS_AGCOUNT
    }

    pub(crate) fn inode_dirty(ino: u32) -> bool {
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
    pub(crate) fn tag(&mut self, ino: u32, st: Istate) {
        self.pinned += u64::from(st == Istate::Pinned);
        self.ags[Self::inode_ag(ino)].reclaim.push((ino, st));
    }

    /// A checkpoint committed: the first `n` pinned inodes become dirty.
    pub(crate) fn unpin(&mut self, n: u64) -> u64 {
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

impl Sim {
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

    /// `xfs_reclaim_inodes_ag` and `xfs_reclaim_inode`: the shrinker frame's
    /// steps from the first AG to the end of the pass.
    pub(crate) fn xfs_reclaim_inodes_ag(&mut self, tid: Tid, f: &mut ShrinkSlabFrame) -> Fr {
        match f.phase {
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
            ShrinkPhase::Start | ShrinkPhase::SuperScan => {
                unreachable!("super_cache_scan runs before the AGs")
            }
        }
    }
}
