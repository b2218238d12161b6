//! `shrink_slab` for the filesystem shrinker that can block: the XFS
//! superblock shrinker (`super_cache_scan` → `prune_icache_sb` →
//! `xfs_fs_free_cached_objects` → `xfs_reclaim_inodes_nr`) and its locks.
//! The inode cache and its reclaim are `fs::xfs::icache`, the log worker that
//! reclaim waits for is `fs::xfs::log`.
//!
//! The path, as in 4.13:
//! 1. `down_read_trylock(&shrinker_rwsem)`; on failure `shrink_slab` reports
//!    progress without shrinking (so its callers keep going).
//! 2. `super_cache_scan`: without `__GFP_FS` it returns `SHRINK_STOP`; so it
//!    does when `trylock_super` (`down_read_trylock(&sb->s_umount)`) fails.
//! 3. `prune_icache_sb`, then `xfs_reclaim_inodes_ag` over the allocation
//!    groups (`fs::xfs::icache`).
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
//! Not modelled: more than one batch per `shrink_slab` call (the rest stays
//! in `nr_deferred`), and other filesystems' shrinkers (they never block, and
//! stay folded into `shrink_node`).

use crate::costs;
use crate::fs::xfs::icache::{Istate, XfsIcache};
use crate::kernel::entry::Fr;
use crate::kernel::sched::TaskState;
use crate::locking::rwsem::RwSemId;
use crate::sim::{Frame, Ret, Sim, Step, Tid, TIF_MEMDIE};
use crate::trace::TraceKind;

/// `SWAP_CLUSTER_MAX`: what `shrink_slab` assumes a pass scanned when it
/// scanned nothing.
pub const SWAP_CLUSTER_MAX: u64 = 32;
/// `DEFAULT_SEEKS`.
const SEEKS: u64 = 2;
/// Objects per `scan_objects` call (the superblock shrinker's `batch`, scaled
/// to this model's unit: one object is one page of the inode cache).
pub const SHRINK_BATCH: u64 = 128;

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

#[derive(Clone, Debug, Hash)]
pub(crate) struct ShrinkSlabFrame {
    pub(crate) gfp_fs: bool,
    pub(crate) nr: u64,
    pub(crate) freed: u64,
    pub(crate) phase: ShrinkPhase,
    pub(crate) flushing: Vec<u32>,
    /// `nr_to_scan` of `xfs_reclaim_inodes_ag` (it may go below zero).
    pub(crate) scan: i64,
    /// The next AG to look at, the one locked, and the pass's mode.
    pub(crate) ag: usize,
    pub(crate) cur: usize,
    pub(crate) trylock: bool,
    pub(crate) skipped: u32,
    /// Inodes left in the current lookup batch; `None` right after the AG
    /// lock was taken.
    pub(crate) batch: Option<u64>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum ShrinkPhase {
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

    /// A3: the worker may allocate below min for a task the OOM killer chose.
    pub(crate) fn pf_memalloc_dependency(&self, tid: Tid) -> Option<u32> {
        if !self.toggles.pf_memalloc_pid {
            return None;
        }
        self.tasks[tid].pf_memalloc_pid.iter().copied().find(|pid| {
            self.tasks.iter().any(|t| {
                t.pid == *pid
                    && t.state != TaskState::Dead
                    && t.kthread.is_none()
                    && (t.tif & TIF_MEMDIE != 0 || self.signals[t.sig as usize].oom_mm.is_some())
            })
        })
    }

    /// The end of `shrink_slab`. Its return is the pages the caller's
    /// `reclaim_state` saw freed: none, as reclaimed inodes are freed after
    /// an RCU grace period.
    pub(crate) fn shrink_release(&mut self, tid: Tid, f: &mut ShrinkSlabFrame) -> Fr {
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
            ShrinkPhase::NextAg
            | ShrinkPhase::AgLocked
            | ShrinkPhase::Flushing
            | ShrinkPhase::Unpinned => self.xfs_reclaim_inodes_ag(tid, f),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::locking::MutexId;
    use crate::sim::PF_MEMALLOC;

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
        sim.tasks
            .iter()
            .position(|t| t.comm == comm)
            .map(Tid::from_index)
            .expect(comm)
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
                .map(Tid::from_index)
                .expect("the hog");
            let pid = sim.tasks[hog].pid;
            // Without PF_MEMALLOC nothing is recorded.
            sim.xlog_force(hog);
            assert!(sim.tasks[worker].pf_memalloc_pid.is_empty());
            sim.tasks[hog].flags |= PF_MEMALLOC;
            sim.xlog_force(hog);
            assert_eq!(sim.tasks[worker].pf_memalloc_pid, vec![pid]);
            // Not a victim yet: no reserves either way.
            assert_eq!(sim.pf_memalloc_dependency(worker), None);
            let sig = sim.tasks[hog].sig as usize;
            sim.signals[sig].oom_mm = sim.tasks[hog].mm;
            let dep = sim.pf_memalloc_dependency(worker);
            assert_eq!(dep, if a3 { Some(pid) } else { None }, "a3 = {a3}");
        }
    }
}
