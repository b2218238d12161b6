//! Reclaim (`mm/vmscan.c`): `shrink_node` over clean page cache and a simple
//! slab shrinker, used by direct reclaim and by kswapd.
//!
//! Not modelled: active/inactive list aging, anon reclaim (there is no swap),
//! dirty-page writeout from reclaim, refault detection, per-memcg LRUs. The
//! XFS superblock shrinker, which can block, is in `mm::shrinker` (its inode cache in `fs::xfs::icache`): every pass
//! calls it on top (from kswapd always, from direct reclaim unless
//! `fs_shrinkers_direct_reclaim = false`), with `do_shrink_slab`'s pressure.

use crate::costs;
use crate::kernel::entry::Fr;
use crate::kernel::sched::TaskState;
use crate::sim::{Ret, Sim, Step, Tid};
use crate::trace::TraceKind;

#[derive(Clone, Debug, Default, Hash)]
pub(crate) struct KswapdFrame {
    running: bool,
    /// The filesystem shrinker's part of this pass.
    slab: SlabCall,
}

/// Where kswapd's pass stands with `shrink_slab`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
enum SlabCall {
    /// Not called in this pass (yet).
    #[default]
    None,
    /// Running on top, after the LRU part freed this many pages.
    Running(u64),
    /// Returned: the pages the whole pass freed.
    Returned(u64),
}

impl KswapdFrame {
    pub(crate) fn returned(&mut self, ret: Ret) {
        let SlabCall::Running(lru) = self.slab else {
            panic!("kswapd got a value outside shrink_slab");
        };
        self.slab = SlabCall::Returned(lru + ret.int().max(0) as u64);
    }
}

impl Sim {
    /// Frees up to `nr` pages: clean page cache first, then slab. Returns how
    /// many were freed.
    pub(crate) fn shrink_node(&mut self, tid: Tid, nr: u64, direct: bool) -> u64 {
        let mut freed = 0;
        while freed < nr {
            if let Some(pfn) = self.mem.boot_cache.pop() {
                self.mem.free_page(pfn);
                freed += 1;
                continue;
            }
            if let Some((ino, index)) = self.mem.clean_lru.pop_front() {
                if let Some(pfn) = self.evict_page_cache(ino, index) {
                    self.mem.free_page(pfn);
                    freed += 1;
                }
                continue;
            }
            // shrink_slab: a superblock shrinker over dentries and inodes.
            if let Some(pfn) = self.mem.slab.pop() {
                self.mem.free_page(pfn);
                freed += 1;
                continue;
            }
            break;
        }
        if freed > 0 {
            self.progress();
        }
        if freed < nr && self.mem.nr_dirty > 0 {
            // shrink_inactive_list found only dirty pages: wakeup_flusher_threads.
            self.fs.wb_vmscan = true;
            self.wakeup_flusher(tid);
        }
        self.tr(
            tid,
            if direct {
                "try_to_free_pages"
            } else {
                "balance_pgdat"
            },
            TraceKind::Reclaim,
            format!("reclaimed {freed}/{nr}, free {}", self.mem.nr_free()),
        );
        freed
    }

    pub(crate) fn step_kswapd(&mut self, tid: Tid, f: &mut KswapdFrame) -> Fr {
        let w = self.mem.wmark;
        if !f.running {
            // Just woken (or first run).
            f.running = true;
            return Fr::Stay(Step::Busy(costs::KSWAPD_WAKE_NS));
        }
        if self.mem.nr_free() >= w.high {
            f.running = false;
            self.sleep_task(tid, TaskState::Interruptible, None, "kswapd_wait");
            return Fr::Stay(Step::Sleep);
        }
        let freed = match std::mem::take(&mut f.slab) {
            SlabCall::Returned(freed) => freed,
            SlabCall::Running(_) => unreachable!("shrink_slab returns first"),
            SlabCall::None => {
                let lru = self.shrink_node(tid, 32, false);
                if let Some(frame) = self.fs_shrink_slab(tid, true, false, lru) {
                    f.slab = SlabCall::Running(lru);
                    return Fr::Call(
                        frame,
                        Step::Busy(costs::KSWAPD_ROUND_NS + lru * costs::KSWAPD_NS_PER_PAGE),
                    );
                }
                lru
            }
        };
        if freed == 0 {
            // Nothing left to reclaim: kswapd gives up until woken again.
            f.running = false;
            self.sleep_task(tid, TaskState::Interruptible, None, "kswapd_wait");
            return Fr::Stay(Step::Sleep);
        }
        self.cond_resched(
            tid,
            costs::KSWAPD_RESCHED_NS + freed * costs::KSWAPD_NS_PER_PAGE,
        )
    }
}
