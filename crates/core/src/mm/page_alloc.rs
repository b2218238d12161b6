//! The page allocator (`mm/page_alloc.c`): one zone with min/low/high
//! watermarks, the fast path, and `__alloc_pages_slowpath` as a state machine
//! (kswapd wake-up, `TIF_MEMDIE` reserve access, direct reclaim,
//! `should_reclaim_retry`, `__alloc_pages_may_oom` with `oom_lock`).
//!
//! Not modelled: orders above 0 (khugepaged's order-9 request is one costly
//! order-0 page, see `mm/khugepaged.rs`), per-CPU page lists,
//! `lowmem_reserve`, compaction, `__GFP_HIGH`/`ALLOC_HARDER` adjustments,
//! zones beyond one, the `PF_MEMALLOC` reserves (`gfp_pfmemalloc_allowed`:
//! direct reclaim and kswapd may not dip below min here), swap (so anon pages
//! never count as reclaimable).

use crate::choice::ChoiceKind;
use crate::costs;
pub use crate::ids::Pfn;
use crate::kernel::entry::Fr;
use crate::kernel::sched::TaskState;
use crate::locking::MutexId;
use crate::scenario::{ValidScenario, Watermarks, PAGE_SIZE};
use crate::sim::{
    Frame, Ret, Sim, Step, Tid, PF_MEMALLOC, PF_WQ_WORKER, TIF_MEMDIE, TIF_NEED_RESCHED,
};
use crate::trace::TraceKind;
use std::collections::VecDeque;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PageKind {
    Free,
    Kernel,
    Anon,
    Shmem,
    PageCache,
    Slab,
}

/// Physical memory: per-pfn state and the free list.
#[derive(Clone, Debug)]
pub struct MemState {
    /// Content of anonymous/shmem pages: every byte of the page has this value.
    pub(crate) fill: Vec<u8>,
    mapcount: Vec<u16>,
    kind: Vec<PageKind>,
    free_list: Vec<Pfn>,
    pub wmark: Watermarks,
    /// Clean page cache of files outside the scenario, present at boot.
    pub(crate) boot_cache: Vec<Pfn>,
    /// Reclaimable slab pages (dentries, inodes).
    pub(crate) slab: Vec<Pfn>,
    /// Clean page-cache pages of scenario files, oldest first.
    pub(crate) clean_lru: VecDeque<(crate::fs::InodeId, u64)>,
    /// `NR_FILE_DIRTY` and `NR_WRITEBACK` of the scenario's files.
    pub(crate) nr_dirty: u64,
    pub(crate) nr_writeback: u64,
}

impl MemState {
    pub(crate) fn boot(sc: &ValidScenario) -> MemState {
        let n = sc.managed_pages as usize;
        let mut kind = vec![PageKind::Free; n];
        let reserved = sc.kernel_reserved_pages as usize;
        for k in kind.iter_mut().take(reserved) {
            *k = PageKind::Kernel;
        }
        let m = &sc.scenario.machine;
        let cache = (m.page_cache.0 / PAGE_SIZE) as usize;
        let slab = (m.slab.0 / PAGE_SIZE) as usize;
        let mut boot_cache = Vec::with_capacity(cache);
        for (pfn, k) in kind.iter_mut().enumerate().skip(reserved).take(cache) {
            *k = PageKind::PageCache;
            boot_cache.push(Pfn::from_index(pfn));
        }
        let mut slabv = Vec::with_capacity(slab);
        for (pfn, k) in kind
            .iter_mut()
            .enumerate()
            .skip(reserved + cache)
            .take(slab)
        {
            *k = PageKind::Slab;
            slabv.push(Pfn::from_index(pfn));
        }
        // Highest pfn first so that allocation hands out low pfns first.
        let free_list: Vec<Pfn> = (reserved + cache + slab..n)
            .rev()
            .map(Pfn::from_index)
            .collect();
        MemState {
            fill: vec![0; n],
            mapcount: vec![0; n],
            kind,
            free_list,
            wmark: sc.watermarks,
            boot_cache,
            slab: slabv,
            clean_lru: VecDeque::new(),
            nr_dirty: 0,
            nr_writeback: 0,
        }
    }

    /// Dirty pages and pages under writeback (`NR_ZONE_WRITE_PENDING`).
    pub(crate) fn write_pending(&self) -> u64 {
        self.nr_dirty + self.nr_writeback
    }

    pub fn nr_free(&self) -> u64 {
        self.free_list.len() as u64
    }

    /// Pages on the file LRU (`nr_eligible` for slab pressure).
    pub fn nr_lru(&self) -> u64 {
        (self.boot_cache.len() + self.clean_lru.len()) as u64 + self.write_pending()
    }

    pub fn nr_reclaimable(&self) -> u64 {
        (self.boot_cache.len() + self.slab.len() + self.clean_lru.len()) as u64
    }

    /// `should_reclaim_retry`'s view of the zone after `no_progress_loops`
    /// passes without progress (4.13 mm/page_alloc.c): `reclaimable` is
    /// `zone_reclaimable_pages`, the file LRU (dirty and writeback pages are
    /// on it) plus anon only with swap, which the model has not; slab is not
    /// counted. `available` is that, reduced by `no_progress_loops /
    /// MAX_RECLAIM_RETRIES` of itself, plus the free pages.
    pub(crate) fn reclaim_retry_zone(&self, no_progress_loops: u32) -> (u64, u64) {
        let reclaimable = self.nr_lru();
        let decay =
            (u64::from(no_progress_loops) * reclaimable).div_ceil(u64::from(MAX_RECLAIM_RETRIES));
        let available = reclaimable.saturating_sub(decay) + self.nr_free();
        (reclaimable, available)
    }

    pub(crate) fn fast_path_ok(&self) -> bool {
        self.nr_free() > self.wmark.low
    }

    /// Pages of one kind, counted (for the exports' `show_mem`).
    pub(crate) fn count_kind(&self, k: PageKind) -> u64 {
        self.kind.iter().filter(|x| **x == k).count() as u64
    }

    pub(crate) fn kind_of(&self, pfn: Pfn) -> PageKind {
        self.kind[pfn]
    }

    pub(crate) fn alloc_page(&mut self, kind: PageKind) -> Option<Pfn> {
        let pfn = self.free_list.pop()?;
        debug_assert_eq!(self.kind[pfn], PageKind::Free);
        self.kind[pfn] = kind;
        self.fill[pfn] = 0;
        Some(pfn)
    }

    pub(crate) fn free_page(&mut self, pfn: Pfn) {
        let k = &mut self.kind[pfn];
        assert!(*k != PageKind::Free, "double free of pfn {pfn}");
        assert_eq!(self.mapcount[pfn], 0, "freeing mapped pfn {pfn}");
        *k = PageKind::Free;
        self.free_list.push(pfn);
    }

    pub(crate) fn map_page(&mut self, pfn: Pfn) {
        assert!(self.kind[pfn] != PageKind::Free, "mapping free pfn {pfn}");
        self.mapcount[pfn] += 1;
    }

    pub(crate) fn unmap_page(&mut self, pfn: Pfn) {
        assert!(self.mapcount[pfn] > 0, "unmapping unmapped pfn {pfn}");
        self.mapcount[pfn] -= 1;
    }

    pub(crate) fn check(&self) {
        debug_assert!(self.free_list.len() <= self.kind.len());
    }
}

#[derive(Clone, Debug, Hash)]
pub(crate) struct AllocFrame {
    /// `__GFP_FS`: false for GFP_NOFS allocations (XFS page cache).
    pub gfp_fs: bool,
    pub kind: PageKind,
    phase: AllocPhase,
    no_progress_loops: u32,
    /// The last freelist attempt ignored watermarks.
    no_wmark: bool,
    /// Direct reclaim called the filesystem shrinker; its result is in `ret`.
    /// An order above `PAGE_ALLOC_COSTLY_ORDER` without `__GFP_RETRY_MAYFAIL`
    /// (khugepaged's huge page): one reclaim attempt, then fail; never the
    /// OOM killer, never the reserves (`__GFP_NOMEMALLOC`).
    costly: bool,
    /// `__GFP_NOFAIL`: after `out_of_memory`, the reserves (filesystem
    /// writeback and journal allocations).
    nofail: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum AllocPhase {
    Fast,
    Retry,
    /// In `shrink_slab`, with what the LRU part of reclaim freed.
    InShrinkSlab(u64),
    AfterReclaim(u64),
    MayOom,
    AfterOom,
}

pub(crate) const MAX_RECLAIM_RETRIES: u32 = 16;

/// Read by the exports, which replay a run and never change it.
impl AllocFrame {
    /// The part of the allocation the task is in, below
    /// `__alloc_pages_nodemask`: None on the fast path; else the slow path and,
    /// while the time of a direct reclaim runs, `__alloc_pages_direct_reclaim`.
    pub(crate) fn slow_path_stages(&self) -> &'static [&'static str] {
        match self.phase {
            AllocPhase::Fast => &[],
            AllocPhase::InShrinkSlab(_) | AllocPhase::AfterReclaim(_) => {
                &["__alloc_pages_slowpath", "__alloc_pages_direct_reclaim"]
            }
            AllocPhase::Retry | AllocPhase::MayOom | AllocPhase::AfterOom => {
                &["__alloc_pages_slowpath"]
            }
        }
    }

    /// `gfp_mask` as 4.13 would pass it, with `%pGg`'s names: a user page
    /// or a regular file's page cache is `GFP_HIGHUSER_MOVABLE` (what
    /// `alloc_page_vma` and `inode_init_always`'s mapping mask give), a GFP_NOFS
    /// caller clears `__GFP_FS`, and kernel pages are `GFP_KERNEL`.
    pub(crate) fn gfp_mask(&self) -> (u32, String) {
        const GFP_KERNEL: u32 = 0x14_000c0;
        const GFP_HIGHUSER_MOVABLE: u32 = 0x14_200ca;
        const GFP_FS: u32 = 0x80;
        const GFP_NOFAIL: u32 = 0x800;
        let user = matches!(
            self.kind,
            PageKind::Anon | PageKind::Shmem | PageKind::PageCache
        );
        let mut mask = if user {
            GFP_HIGHUSER_MOVABLE
        } else {
            GFP_KERNEL
        };
        let mut names = if !self.gfp_fs && user {
            mask &= !GFP_FS;
            "GFP_NOFS|__GFP_HARDWALL|__GFP_HIGHMEM|__GFP_MOVABLE".to_string()
        } else if !self.gfp_fs {
            mask &= !GFP_FS;
            "GFP_NOFS".to_string()
        } else if user {
            "GFP_HIGHUSER_MOVABLE".to_string()
        } else {
            "GFP_KERNEL".to_string()
        };
        if self.nofail {
            mask |= GFP_NOFAIL;
            names.push_str("|__GFP_NOFAIL");
        }
        (mask, names)
    }

    /// The allocation waits for `should_reclaim_retry` (its direct reclaim is
    /// over).
    pub(crate) fn after_reclaim(&self) -> bool {
        matches!(self.phase, AllocPhase::AfterReclaim(_))
    }

    /// `should_reclaim_retry` has run and decided: retry or try the OOM
    /// killer; with the `no_progress_loops` it counted.
    pub(crate) fn retry_decided(&self) -> Option<u32> {
        matches!(self.phase, AllocPhase::Retry | AllocPhase::MayOom)
            .then_some(self.no_progress_loops)
    }
}

impl AllocFrame {
    pub(crate) fn returned(&mut self, ret: Ret) {
        match self.phase {
            AllocPhase::InShrinkSlab(lru) => {
                self.phase = AllocPhase::AfterReclaim(lru + ret.int().max(0) as u64);
            }
            // out_of_memory's result is not looked at: the retry decides.
            AllocPhase::AfterOom => {
                ret.int();
            }
            _ => panic!("the allocation got a value it did not call for"),
        }
    }

    pub(crate) fn new(gfp_fs: bool, kind: PageKind) -> AllocFrame {
        AllocFrame {
            gfp_fs,
            kind,
            phase: AllocPhase::Fast,
            no_progress_loops: 0,
            no_wmark: false,
            costly: false,
            nofail: false,
        }
    }

    /// A huge page for khugepaged (`GFP_TRANSHUGE`, order 9).
    pub(crate) fn costly(kind: PageKind) -> AllocFrame {
        AllocFrame {
            costly: true,
            ..AllocFrame::new(true, kind)
        }
    }

    /// `GFP_NOFS | __GFP_NOFAIL`.
    pub(crate) fn new_nofail(kind: PageKind) -> AllocFrame {
        AllocFrame {
            nofail: true,
            ..AllocFrame::new(false, kind)
        }
    }
}

impl Sim {
    fn got_page(&mut self, kind: PageKind) -> Fr {
        let pfn = self.mem.alloc_page(kind).expect("caller checked");
        self.progress();
        Fr::Done(Ret::Page(pfn), Step::Busy(costs::GET_PAGE_NS))
    }

    /// Access to the reserves below min: `TIF_MEMDIE` in 4.13,
    /// `oom_reserves_allowed` (any thread of an OOM victim) with `ALLOC_OOM`.
    fn oom_reserves(&self, tid: Tid) -> bool {
        let t = &self.tasks[tid];
        if self.toggles.alloc_oom {
            t.kthread.is_none() && self.signals[t.sig as usize].oom_mm.is_some()
        } else {
            t.tif & TIF_MEMDIE != 0
        }
    }

    pub(crate) fn wakeup_kswapd(&mut self, tid: Tid) {
        let k = self.kswapd_tid;
        if self.sleeps_on(k, "kswapd_wait") {
            self.tr(
                tid,
                "wakeup_kswapd",
                TraceKind::Reclaim,
                format!("free {} < low {}", self.mem.nr_free(), self.mem.wmark.low),
            );
            self.wake_up_queue(k, "kswapd_wait", tid);
        }
    }

    pub(crate) fn step_alloc(&mut self, tid: Tid, f: &mut AllocFrame) -> Fr {
        let w = self.mem.wmark;
        match f.phase {
            AllocPhase::Fast => {
                if self.mem.nr_free() > w.low {
                    return self.got_page(f.kind);
                }
                f.phase = AllocPhase::Retry;
                self.wakeup_kswapd(tid);
                Fr::Stay(Step::Busy(costs::SLOWPATH_ENTRY_NS))
            }
            AllocPhase::Retry => {
                let reserves = self.oom_reserves(tid) && !f.costly;
                if self.mem.nr_free() > w.min {
                    return self.got_page(f.kind);
                }
                self.wakeup_kswapd(tid);
                f.no_wmark = reserves;
                if reserves {
                    // 4.13: TIF_MEMDIE ignores the watermarks; 4.14+: every
                    // victim thread may go down to min/2 (ALLOC_OOM).
                    let (floor, what) = if self.toggles.alloc_oom {
                        (w.min - w.min / 2, "ALLOC_OOM (min/2)")
                    } else {
                        (0, "ALLOC_NO_WATERMARKS (TIF_MEMDIE)")
                    };
                    if self.mem.nr_free() > floor {
                        self.tr(tid, "get_page_from_freelist", TraceKind::Alloc, what.into());
                        return self.got_page(f.kind);
                    }
                }
                if self.mem.nr_free() > 0 && !f.costly {
                    if let Some(pid) = self.pf_memalloc_dependency(tid) {
                        self.tr(
                            tid,
                            "get_page_from_freelist",
                            TraceKind::Alloc,
                            format!("ALLOC_NO_WATERMARKS (pf_memalloc_pid {pid} is an OOM victim)"),
                        );
                        return self.got_page(f.kind);
                    }
                }
                if self.tasks[tid].flags & PF_MEMALLOC != 0 {
                    // Avoid recursion of direct reclaim.
                    return Fr::Done(Ret::NoPage, Step::Busy(costs::NOPAGE_NS));
                }
                // __alloc_pages_direct_reclaim → __perform_reclaim → try_to_free_pages
                self.tasks[tid].flags |= PF_MEMALLOC;
                let reclaimed = self.shrink_node(tid, 32, true);
                let jitter = u64::from(self.chooser.choose(ChoiceKind::Jitter, 8));
                let cost = costs::DIRECT_RECLAIM_NS
                    + reclaimed * costs::DIRECT_RECLAIM_NS_PER_PAGE
                    + jitter * costs::DIRECT_RECLAIM_JITTER_NS;
                f.phase = AllocPhase::AfterReclaim(reclaimed);
                if let Some(frame) = self.fs_shrink_slab(tid, f.gfp_fs, true, reclaimed) {
                    // shrink_slab: the superblock shrinker, which may block.
                    f.phase = AllocPhase::InShrinkSlab(reclaimed);
                    return Fr::Call(frame, Step::Busy(cost));
                }
                Fr::Stay(Step::Busy(cost))
            }
            AllocPhase::InShrinkSlab(_) => unreachable!("shrink_slab returns first"),
            AllocPhase::AfterReclaim(progress) => {
                self.tasks[tid].flags &= !PF_MEMALLOC;
                if progress > 0 && self.mem.nr_free() > w.min {
                    return self.got_page(f.kind);
                }
                if f.costly {
                    // Costly orders do not retry and do not OOM-kill.
                    return Fr::Done(Ret::NoPage, Step::Busy(costs::NOPAGE_NS));
                }
                if f.nofail && progress == 0 && self.mem.nr_free() > w.min - w.min / 4 {
                    // The __GFP_NOFAIL fallback, ALLOC_HARDER: a quarter of
                    // the min reserve (taken at once instead of after the
                    // retries that lead there).
                    self.tr(
                        tid,
                        "__alloc_pages_slowpath",
                        TraceKind::Alloc,
                        "__GFP_NOFAIL: ALLOC_HARDER".into(),
                    );
                    return self.got_page(f.kind);
                }
                // should_reclaim_retry: with writeback pending, wait for it
                // rather than declaring OOM.
                if progress > 0 {
                    f.no_progress_loops = 0;
                } else {
                    f.no_progress_loops += 1;
                }
                let write_pending = self.mem.write_pending();
                let (reclaimable, available) = self.mem.reclaim_retry_zone(f.no_progress_loops);
                if f.no_progress_loops <= MAX_RECLAIM_RETRIES && available > w.min {
                    f.phase = AllocPhase::Retry;
                    if progress == 0 && 2 * write_pending > reclaimable {
                        let wait =
                            self.tick_ns * (u64::from(self.sc.scenario.machine.hz) / 10).max(1);
                        self.sleep_task(
                            tid,
                            TaskState::Uninterruptible,
                            Some(wait),
                            "congestion_wait",
                        );
                        return Fr::Stay(Step::Sleep);
                    }
                    return self.reclaim_retry_pause(tid);
                }
                f.phase = AllocPhase::MayOom;
                Fr::Stay(Step::Busy(costs::RECLAIM_RETRY_NS))
            }
            AllocPhase::MayOom => {
                // __alloc_pages_may_oom
                if !self.mutex_trylock(MutexId::OomLock, tid) {
                    // Somebody else is killing; give them a tick.
                    f.phase = AllocPhase::Retry;
                    f.no_progress_loops = 0;
                    let tick = self.tick_ns;
                    self.sleep_task(
                        tid,
                        TaskState::Uninterruptible,
                        Some(tick),
                        "schedule_timeout_uninterruptible",
                    );
                    return Fr::Stay(Step::Sleep);
                }
                // One last try at the high watermark: another thread may have
                // freed memory while we were waiting.
                if self.mem.nr_free() > w.high {
                    self.mutex_unlock(MutexId::OomLock, tid);
                    return self.got_page(f.kind);
                }
                f.phase = AllocPhase::AfterOom;
                let oom = crate::mm::oom_kill::OomFrame::new(f.gfp_fs);
                Fr::Call(Frame::Oom(oom), Step::Busy(costs::MAY_OOM_NS))
            }
            AllocPhase::AfterOom => {
                self.mutex_unlock(MutexId::OomLock, tid);
                if self.end.is_some() {
                    return Fr::Done(Ret::NoPage, Step::Busy(costs::NOPAGE_NS));
                }
                if self.oom_reserves(tid) && f.no_wmark {
                    self.tr(
                        tid,
                        "__alloc_pages_slowpath",
                        TraceKind::Alloc,
                        if self.toggles.alloc_oom {
                            "OOM victim and reserves exhausted: nopage"
                        } else {
                            "TIF_MEMDIE and reserves exhausted: nopage"
                        }
                        .into(),
                    );
                    return Fr::Done(Ret::NoPage, Step::Busy(costs::NOPAGE_NS));
                }
                if f.nofail && self.mem.nr_free() > 0 {
                    // __alloc_pages_cpuset_fallback with ALLOC_NO_WATERMARKS.
                    self.tr(
                        tid,
                        "__alloc_pages_may_oom",
                        TraceKind::Alloc,
                        "__GFP_NOFAIL: ALLOC_NO_WATERMARKS".into(),
                    );
                    return self.got_page(f.kind);
                }
                // out_of_memory made progress (a kill, a victim, or !__GFP_FS).
                f.no_progress_loops = 0;
                f.phase = AllocPhase::Retry;
                self.cond_resched(tid, costs::SLOWPATH_RETRY_NS)
            }
        }
    }

    /// The end of `should_reclaim_retry`: a workqueue worker sleeps a tick so
    /// that the workqueue sees it as congested; everyone else `cond_resched`s.
    fn reclaim_retry_pause(&mut self, tid: Tid) -> Fr {
        if self.tasks[tid].flags & PF_WQ_WORKER != 0 {
            let tick = self.tick_ns;
            self.sleep_task(
                tid,
                TaskState::Uninterruptible,
                Some(tick),
                "schedule_timeout_uninterruptible",
            );
            return Fr::Stay(Step::Sleep);
        }
        self.cond_resched(tid, costs::RECLAIM_PAUSE_NS)
    }

    /// `cond_resched`: yield if a reschedule is pending.
    pub(crate) fn cond_resched(&mut self, tid: Tid, cost: u64) -> Fr {
        if self.tasks[tid].tif & TIF_NEED_RESCHED != 0 {
            self.tasks[tid].tif &= !TIF_NEED_RESCHED;
            Fr::Stay(Step::Yield)
        } else {
            Fr::Stay(Step::Busy(cost))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mem(kernel: &str) -> MemState {
        let text = format!(
            "version = 1\n[machine]\ncpus = 2\nmemory = \"32M\"\npage_cache = \"1M\"\nslab = \"4M\"\n\
             [kernel]\n{kernel}[fs]\ntype = \"xfs\"\n\
             [[process]]\nname = \"a.out\"\n[[process.thread]]\nprogram = \"hog\"\n"
        );
        MemState::boot(&crate::parse_scenario(&text).unwrap())
    }

    /// `zone_reclaimable_pages` is the file LRU: slab never counts, dirty
    /// and writeback pages do; `available` shrinks with `no_progress_loops`.
    #[test]
    fn should_reclaim_retry_counts_the_lru_not_slab() {
        let mut m = mem("");
        assert_eq!(
            m.slab.len() as u64,
            4 << 8,
            "the slab is there to be left out"
        );
        let cache = m.boot_cache.len() as u64;
        let (reclaimable, available) = m.reclaim_retry_zone(0);
        assert_eq!(reclaimable, cache);
        assert_eq!(available, cache + m.nr_free());
        m.nr_dirty = 10;
        m.nr_writeback = 7;
        let (reclaimable, _) = m.reclaim_retry_zone(0);
        assert_eq!(reclaimable, cache + 17, "dirty and writeback pages count");
        // Half the retries gone: half the reclaimable pages (rounded up) no
        // longer count as available; all of them at the last retry.
        let (r, half) = m.reclaim_retry_zone(MAX_RECLAIM_RETRIES / 2);
        assert_eq!(half, r - r.div_ceil(2) + m.nr_free());
        let (_, last) = m.reclaim_retry_zone(MAX_RECLAIM_RETRIES);
        assert_eq!(last, m.nr_free());
    }
}
