//! khugepaged (`mm/khugepaged.c`, 4.13): every `scan_sleep_millisecs` it scans
//! an mm under `mmap_sem` for read, and to collapse a range it follows
//! `collapse_huge_page`: drop `mmap_sem`, allocate the huge page (which may
//! enter direct reclaim), then `down_write(&mm->mmap_sem)`. While it waits for
//! the write lock it is a *queued writer*: 4.13's fair `down_read_trylock`
//! fails for everyone after it, the OOM reaper included, and new `down_read`s
//! queue behind it.
//!
//! Not modelled: the PTE→PMD remapping itself (the collapse costs time and the
//! huge page is then released; rss does not change), orders above 0 (one page
//! stands for the huge page's allocation), `khugepaged_max_ptes_none`,
//! revalidation under a second read lock, which ranges were already collapsed
//! (every round finds the same mm a candidate), the `!CONFIG_NUMA`
//! preallocation (this is the NUMA build's order: scan, drop the lock,
//! allocate, `down_write`).
//!
//! The huge page is an order-9 allocation: costly, so it makes one reclaim
//! attempt and fails instead of retrying or calling the OOM killer; after a
//! failure khugepaged sleeps `alloc_sleep_millisecs` (60 s).
//!
//! Deliberately simplified: that request is one order-0 page with the
//! costly-order rules. 4.13 also needs `__zone_watermark_ok` with 511 pages
//! subtracted and a free block of order 9, which a buddy-order (at least
//! fragmentation-aware) model of free memory would give; without it the
//! allocation succeeds more often near OOM than the kernel's, so lockups that
//! khugepaged alone drives are overstated.

use crate::costs;
use crate::kernel::entry::{locked_or_sleep, Fr};
use crate::kernel::sched::TaskState;
use crate::mm::memory::MmId;
use crate::mm::memory::{VmaKind, MMF_OOM_SKIP};
use crate::mm::page_alloc::Pfn;
use crate::mm::page_alloc::{AllocFrame, PageKind};
use crate::sim::{Frame, Ret, Sim, Step, Tid};
use crate::trace::TraceKind;

/// `HPAGE_PMD_SIZE`.
const HPAGE_SIZE: u64 = 2 << 20;

#[derive(Clone, Debug, Default, Hash)]
pub(crate) struct KhugepagedFrame {
    phase: KhugepagedPhase,
    mm: MmId,
    hpage: Option<Pfn>,
}

impl KhugepagedFrame {
    pub(crate) fn returned(&mut self, ret: Ret) {
        assert!(
            self.phase == KhugepagedPhase::Allocating,
            "khugepaged got a value"
        );
        self.phase = KhugepagedPhase::Allocated(ret.page());
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Hash)]
enum KhugepagedPhase {
    #[default]
    Sleep,
    Scan,
    Scanned,
    /// In `khugepaged_alloc_page`.
    Allocating,
    Allocated(Option<Pfn>),
    Collapse,
}

impl KhugepagedFrame {
    /// The thread starts in its first `scan_sleep`, then scans.
    pub(crate) fn first() -> KhugepagedFrame {
        KhugepagedFrame {
            phase: KhugepagedPhase::Scan,
            ..Default::default()
        }
    }
}

impl Sim {
    /// The first mm with a private anonymous VMA big enough for a huge page
    /// and some pages present (`khugepaged_scan_mm_slot`).
    fn khugepaged_pick(&self) -> Option<MmId> {
        self.mms.iter().find_map(|m| {
            let live = m.users > 0 && !m.dead && m.flags & MMF_OOM_SKIP == 0;
            let candidate = m.vmas.iter().any(|v| {
                v.kind == VmaKind::Anon
                    && !v.locked
                    && v.end - v.start >= HPAGE_SIZE
                    && v.ptes.iter().any(|p| p.is_present())
            });
            (live && candidate).then_some(m.id)
        })
    }

    pub(crate) fn step_khugepaged(&mut self, tid: Tid, f: &mut KhugepagedFrame) -> Fr {
        match f.phase {
            KhugepagedPhase::Sleep => {
                f.phase = KhugepagedPhase::Scan;
                let ns = self.toggles.khugepaged_scan_sleep;
                self.sleep_task(tid, TaskState::Interruptible, Some(ns), "khugepaged_wait");
                Fr::Stay(Step::Sleep)
            }
            KhugepagedPhase::Scan => {
                let Some(mm) = self.khugepaged_pick() else {
                    f.phase = KhugepagedPhase::Sleep;
                    return Fr::Stay(Step::Busy(costs::KHUGEPAGED_IDLE_NS));
                };
                f.mm = mm;
                f.phase = KhugepagedPhase::Scanned;
                locked_or_sleep(self.down_read(mm, tid), costs::KHUGEPAGED_SCAN_NS)
            }
            KhugepagedPhase::Scanned => {
                // collapse_huge_page: the read lock is dropped before allocating.
                self.up_read(f.mm, tid);
                self.tr(
                    tid,
                    "collapse_huge_page",
                    TraceKind::Fault,
                    format!("mm of {}: allocate a huge page", self.mms[f.mm].owner_tgid),
                );
                f.phase = KhugepagedPhase::Allocating;
                Fr::Call(
                    Frame::Alloc(AllocFrame::costly(PageKind::Anon)),
                    Step::Busy(costs::KHUGEPAGED_ALLOC_NS),
                )
            }
            KhugepagedPhase::Allocating => unreachable!("the allocation returns first"),
            KhugepagedPhase::Allocated(page) => {
                let Some(pfn) = page else {
                    self.tr(
                        tid,
                        "khugepaged_alloc_page",
                        TraceKind::Fault,
                        "THP_COLLAPSE_ALLOC_FAILED: khugepaged_alloc_sleep".into(),
                    );
                    f.phase = KhugepagedPhase::Scan;
                    self.sleep_task(
                        tid,
                        TaskState::Interruptible,
                        Some(costs::KHUGEPAGED_ALLOC_SLEEP_NS),
                        "khugepaged_alloc_sleep",
                    );
                    return Fr::Stay(Step::Sleep);
                };
                f.hpage = Some(pfn);
                f.phase = KhugepagedPhase::Collapse;
                locked_or_sleep(self.down_write(f.mm, tid), costs::COLLAPSE_NS)
            }
            KhugepagedPhase::Collapse => {
                let m = &self.mms[f.mm];
                let exiting = m.users == 0 || m.dead || m.flags & MMF_OOM_SKIP != 0;
                self.tr(
                    tid,
                    "collapse_huge_page",
                    TraceKind::Fault,
                    if exiting {
                        "mm exiting: collapse abandoned".into()
                    } else {
                        "collapsed".into()
                    },
                );
                self.up_write(f.mm, tid);
                if let Some(pfn) = f.hpage.take() {
                    self.mem.free_page(pfn);
                }
                f.phase = KhugepagedPhase::Sleep;
                self.cond_resched(tid, costs::KHUGEPAGED_DONE_NS)
            }
        }
    }
}
