//! Address spaces (`mm_struct`, VMAs, page tables) and page faults
//! (`mm/memory.c`): `handle_mm_fault`, `do_anonymous_page` with its zero-page
//! read branch, shmem and file faults, `check_stable_address_space`, and the
//! unmapping used by the reaper and `exit_mmap`.
//!
//! A page table is a flat array per VMA with one entry per page: none, the zero
//! page, or a pfn. Not modelled: page-table pages themselves (their cost is
//! folded into `oom_badness` as rss/512), THP collapse, swap, KSM, NUMA policy,
//! `VM_HUGETLB`/`VM_PFNMAP` mappings (no program creates them), partial munmap.
//!
//! Deliberately simplified:
//! - `mmap`/`munmap` take `mmap_sem` with `down_write`; 4.13's
//!   `vm_mmap_pgoff`/`vm_munmap` use `down_write_killable`, whose wait SIGKILL
//!   ends. Modelled that way, R7's queued writer (a.out's own mapper thread)
//!   leaves the queue at the kill and the reaper's first trylock succeeds:
//!   R7 reached `reaper_gave_up` in 0 of 40 seeds (17 of 40 without it). A
//!   faithful R7 needs a writer that SIGKILL does not dequeue (khugepaged),
//!   which near OOM rarely gets its huge page (see `mm/khugepaged.rs`).
//! - File mappings, shared and private, fault in a fresh zeroed page instead
//!   of the page-cache page (`filemap_fault`); a store to a shared file
//!   mapping whose page is not in the page cache is dropped, where the kernel
//!   reads the page in (or SIGBUSes past `i_size`). No preset maps a file.
//! - `mmu_gather` batches are always `ZAP_BATCH` pages; the kernel falls back
//!   to 8 when the batch page cannot be allocated.

use crate::costs;
use crate::fs::InodeId;
pub use crate::ids::MmId;
use crate::kernel::entry::{locked_or_sleep, Fr};
use crate::locking::RwSem;
use crate::mm::page_alloc::Pfn;
use crate::mm::page_alloc::{AllocFrame, PageKind};
use crate::program::{BufKind, MapKind};
use crate::scenario::{UnstableCheck, PAGE_SIZE};
use crate::sim::{CpuId, Frame, Ret, Sim, Step, Tid, Var, SIGBUS};
use crate::trace::tr;
use crate::trace::TraceKind;
use serde::Serialize;

pub const MMF_UNSTABLE: u32 = 1 << 0;
pub const MMF_OOM_SKIP: u32 = 1 << 1;
/// 4.14+: set by `mark_oom_victim`; `exit_mmap` then syncs with the reaper.
pub const MMF_OOM_VICTIM: u32 = 1 << 2;
/// 5.18: the mm is queued for the reaper (its timer is armed).
pub const MMF_OOM_REAP_QUEUED: u32 = 1 << 3;

/// A page-table entry of a small page.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Pte {
    /// `pte_none`: never faulted in, or zapped.
    None,
    /// The shared zero page, mapped by a read fault on private anonymous
    /// memory (`do_anonymous_page` without `FAULT_FLAG_WRITE`).
    Zero,
    /// A present page.
    Page(Pfn),
}

impl Pte {
    pub(crate) fn is_present(self) -> bool {
        matches!(self, Pte::Page(_))
    }
}
/// The zero page as seen through a TLB entry.
const ZERO_PFN: Pfn = Pfn(u32::MAX);
const TLB_ENTRIES: usize = 64;
/// Pages gathered before the reaper flushes TLBs and frees (`mmu_gather`).
pub(crate) const ZAP_BATCH: u64 = 512;

/// Where an unmap walk over an mm's VMAs stands: the next VMA and page
/// index, or past the last VMA.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum ZapCursor {
    At { vma: u32, page: u64 },
    Done,
}

impl ZapCursor {
    pub(crate) const START: ZapCursor = ZapCursor::At { vma: 0, page: 0 };
}
/// `vm_area_struct`s per slab page.
pub(crate) const VMAS_PER_SLAB: u32 = 20;

/// `vm_area_cachep`: the slab cache `vm_area_alloc` takes VMAs from, so
/// that an `mmap` under memory pressure allocates a page now and then.
#[derive(Clone, Debug)]
pub struct VmaCache {
    /// Free objects in the current slab page.
    pub(crate) free: u32,
    /// The cache's slab pages.
    pub(crate) pages: Vec<Pfn>,
}

impl VmaCache {
    pub(crate) fn new() -> VmaCache {
        // Boot has used half of the first page.
        VmaCache {
            free: VMAS_PER_SLAB / 2,
            pages: Vec::new(),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum VmaKind {
    /// Private anonymous: heap, buffers, the hog's area.
    Anon,
    /// A thread's stack (private anonymous).
    Stack,
    /// `MAP_SHARED|MAP_ANONYMOUS`.
    Shmem,
    FilePrivate,
    FileShared,
}

#[derive(Clone, Debug)]
pub struct Vma {
    pub start: u64,
    pub end: u64,
    pub kind: VmaKind,
    /// `VM_LOCKED` (mlock).
    pub locked: bool,
    pub inode: Option<InodeId>,
    pub(crate) ptes: Vec<Pte>,
}

impl Vma {
    /// `can_madv_dontneed_vma` && (`vma_is_anonymous` || !VM_SHARED), as in
    /// 4.13; `reap_mlocked` (5.18) drops the `VM_LOCKED` exclusion.
    pub fn reapable(&self, reap_mlocked: bool) -> bool {
        (!self.locked || reap_mlocked)
            && matches!(
                self.kind,
                VmaKind::Anon | VmaKind::Stack | VmaKind::FilePrivate
            )
    }
}

#[derive(Clone, Debug)]
pub struct Mm {
    pub id: MmId,
    pub owner_tgid: u32,
    /// `mm_users`.
    pub users: u32,
    pub mmap_sem: RwSem,
    pub flags: u32,
    pub(crate) unstable_was_set: bool,
    pub vmas: Vec<Vma>,
    pub rss_anon: u64,
    pub rss_file: u64,
    pub rss_shmem: u64,
    pub has_notifiers: bool,
    /// CPUs that have loaded this mm (`mm_cpumask`).
    pub cpumask: u64,
    mmap_top: u64,
    /// End of the heap (`brk`), growing up from low addresses.
    brk: u64,
    pub dead: bool,
}

#[derive(Clone, Debug, Serialize)]
pub struct MmSnap {
    pub owner_tgid: u32,
    pub users: u32,
    pub flags: Vec<&'static str>,
    pub rss_anon: u64,
    pub rss_file: u64,
    pub rss_shmem: u64,
    pub vmas: Vec<VmaSnap>,
}

#[derive(Clone, Debug, Serialize)]
pub struct VmaSnap {
    pub start: u64,
    pub end: u64,
    pub kind: VmaKind,
    pub locked: bool,
    pub reapable: bool,
    pub present: u64,
    pub zero: u64,
}

impl Mm {
    pub(crate) fn snap(&self, reap_mlocked: bool) -> MmSnap {
        let mut flags = Vec::new();
        if self.flags & MMF_UNSTABLE != 0 {
            flags.push("MMF_UNSTABLE");
        }
        if self.flags & MMF_OOM_SKIP != 0 {
            flags.push("MMF_OOM_SKIP");
        }
        if self.flags & MMF_OOM_VICTIM != 0 {
            flags.push("MMF_OOM_VICTIM");
        }
        if self.flags & MMF_OOM_REAP_QUEUED != 0 {
            flags.push("MMF_OOM_REAP_QUEUED");
        }
        MmSnap {
            owner_tgid: self.owner_tgid,
            users: self.users,
            flags,
            rss_anon: self.rss_anon,
            rss_file: self.rss_file,
            rss_shmem: self.rss_shmem,
            vmas: self
                .vmas
                .iter()
                .map(|v| VmaSnap {
                    start: v.start,
                    end: v.end,
                    kind: v.kind,
                    locked: v.locked,
                    reapable: v.reapable(reap_mlocked),
                    present: v.ptes.iter().filter(|p| p.is_present()).count() as u64,
                    zero: v.ptes.iter().filter(|p| **p == Pte::Zero).count() as u64,
                })
                .collect(),
        }
    }

    pub fn find_vma(&self, addr: u64) -> Option<usize> {
        let i = self.vmas.partition_point(|v| v.end <= addr);
        (i < self.vmas.len() && self.vmas[i].start <= addr).then_some(i)
    }

    pub fn rss(&self) -> u64 {
        self.rss_anon + self.rss_file + self.rss_shmem
    }
}

/// What a user access finds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Access {
    Page(Pfn),
    ZeroPage,
    Missing,
    Bad,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Hash)]
pub(crate) enum FaultResult {
    #[default]
    Ok,
    Sigbus,
    Oom,
    Segv,
}

#[derive(Clone, Debug, Hash)]
pub(crate) struct FaultFrame {
    pub addr: u64,
    pub write: bool,
    pub user: bool,
    phase: FaultPhase,
    mm: MmId,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum FaultPhase {
    Lock,
    Handle,
    /// In the page's allocation.
    Alloc,
    AfterAlloc(Option<Pfn>),
}

impl FaultFrame {
    pub(crate) fn returned(&mut self, ret: Ret) {
        assert!(self.phase == FaultPhase::Alloc, "the fault got a value");
        self.phase = FaultPhase::AfterAlloc(ret.page());
    }

    pub(crate) fn new(addr: u64, write: bool, user: bool) -> FaultFrame {
        FaultFrame {
            addr,
            write,
            user,
            phase: FaultPhase::Lock,
            mm: MmId(0),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum MmapWhat {
    Buf(BufKind),
    Map(MapKind),
    Unmap,
}

#[derive(Clone, Debug, Hash)]
pub(crate) struct MmapFrame {
    var: u16,
    what: MmapWhat,
    len: u64,
    populate: u64,
    inode: Option<InodeId>,
    phase: MmapPhase,
    start: u64,
    next: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum MmapPhase {
    Lock,
    /// `vm_area_alloc` under `down_write`: a fresh slab page now and then.
    VmaAlloc,
    /// In the allocation of a fresh `vm_area_cachep` slab page.
    SlabAlloc,
    /// With the slab page just allocated, if one was.
    Locked(Option<Pfn>),
    Populate,
    /// In `handle_mm_fault` for a page of `MAP_POPULATE`.
    PopulateFault,
    /// ... which returned this.
    PopulateFaulted(FaultResult),
}

impl MmapFrame {
    /// `munmap(2)` rather than `mmap(2)` (read by the exports).
    pub(crate) fn is_unmap(&self) -> bool {
        matches!(self.what, MmapWhat::Unmap)
    }

    pub(crate) fn returned(&mut self, ret: Ret) {
        self.phase = match self.phase {
            MmapPhase::SlabAlloc => MmapPhase::Locked(ret.page()),
            MmapPhase::PopulateFault => MmapPhase::PopulateFaulted(ret.fault()),
            _ => panic!("mmap got a value it did not call for"),
        };
    }

    pub(crate) fn new(
        var: u16,
        what: MmapWhat,
        len: u64,
        populate: u64,
        inode: Option<InodeId>,
    ) -> MmapFrame {
        MmapFrame {
            var,
            what,
            len,
            populate,
            inode,
            phase: MmapPhase::Lock,
            start: 0,
            next: 0,
        }
    }
}

impl Sim {
    pub(crate) fn mm_create(&mut self, tgid: u32, has_notifiers: bool) -> MmId {
        let id = self.mms.len() as u32;
        self.mms.push(Mm {
            id: MmId(id),
            owner_tgid: tgid,
            users: 0,
            mmap_sem: RwSem::new("mmap_sem"),
            flags: 0,
            unstable_was_set: false,
            vmas: Vec::new(),
            rss_anon: 0,
            rss_file: 0,
            rss_shmem: 0,
            has_notifiers,
            cpumask: 0,
            mmap_top: 0x7f00_0000_0000,
            brk: 0x0060_0000,
            dead: false,
        });
        MmId(id)
    }

    /// Inserts a VMA below the previous mmap (top-down layout), or at the heap's
    /// end, and returns its start.
    fn insert_vma_in(
        &mut self,
        mm: MmId,
        len: u64,
        kind: VmaKind,
        locked: bool,
        inode: Option<InodeId>,
        heap: bool,
    ) -> u64 {
        let m = &mut self.mms[mm];
        let start = if heap {
            let s = m.brk;
            m.brk += len;
            s
        } else {
            // A guard gap between mappings, as the kernel leaves for stacks.
            m.mmap_top -= len + PAGE_SIZE;
            m.mmap_top
        };
        let vma = Vma {
            start,
            end: start + len,
            kind,
            locked,
            inode,
            ptes: vec![Pte::None; (len / PAGE_SIZE) as usize],
        };
        let i = m.vmas.partition_point(|v| v.start < start);
        m.vmas.insert(i, vma);
        start
    }

    pub(crate) fn mm_map_stack(&mut self, mm: MmId, len: u64, heap: bool) -> u64 {
        self.insert_vma_in(mm, len, VmaKind::Stack, false, None, heap)
    }

    fn tlb_lookup(&mut self, cpu: CpuId, mm: MmId, vpn: u64) -> Option<Pfn> {
        self.cpus[cpu as usize]
            .tlb
            .iter()
            .find(|e| e.0 == mm && e.1 == vpn)
            .map(|e| e.2)
    }

    fn tlb_insert(&mut self, cpu: CpuId, mm: MmId, vpn: u64, pfn: Pfn) {
        let tlb = &mut self.cpus[cpu as usize].tlb;
        if tlb.len() >= TLB_ENTRIES {
            tlb.remove(0);
        }
        tlb.push((mm, vpn, pfn));
    }

    /// Translates a user address the way the MMU does: the CPU's TLB first,
    /// then the page table (filling the TLB).
    pub(crate) fn user_access(&mut self, tid: Tid, addr: u64, write: bool) -> Access {
        let t = &self.tasks[tid];
        let (cpu, Some(mm)) = (t.cpu, t.mm) else {
            return Access::Bad;
        };
        let vpn = addr / PAGE_SIZE;
        if let Some(pfn) = self.tlb_lookup(cpu, mm, vpn) {
            return if pfn == ZERO_PFN {
                Access::ZeroPage
            } else {
                Access::Page(pfn)
            };
        }
        let m = &self.mms[mm];
        let Some(vi) = m.find_vma(addr) else {
            return Access::Bad;
        };
        let v = &m.vmas[vi];
        let pte = v.ptes[((addr - v.start) / PAGE_SIZE) as usize];
        match pte {
            Pte::None => Access::Missing,
            Pte::Zero => {
                if !write {
                    self.tlb_insert(cpu, mm, vpn, ZERO_PFN);
                }
                Access::ZeroPage
            }
            Pte::Page(pfn) => {
                self.tlb_insert(cpu, mm, vpn, pfn);
                Access::Page(pfn)
            }
        }
    }

    /// The source side of `iov_iter_copy_from_user_atomic`: page faults are
    /// disabled, so a missing PTE ends the copy. Returns what the copy reads and
    /// whether it came through a stale TLB entry.
    pub(crate) fn copy_source(&mut self, tid: Tid, addr: u64) -> (Access, bool) {
        let t = &self.tasks[tid];
        let (cpu, Some(mm)) = (t.cpu, t.mm) else {
            return (Access::Bad, false);
        };
        let vpn = addr / PAGE_SIZE;
        if let Some(pfn) = self.tlb_lookup(cpu, mm, vpn) {
            let m = &self.mms[mm];
            let stale = match m.find_vma(addr) {
                Some(vi) => {
                    let v = &m.vmas[vi];
                    v.ptes[((addr - v.start) / PAGE_SIZE) as usize] == Pte::None
                }
                None => true,
            };
            let a = if pfn == ZERO_PFN {
                Access::ZeroPage
            } else {
                Access::Page(pfn)
            };
            return (a, stale);
        }
        (self.user_access(tid, addr, false), false)
    }

    /// `do_anonymous_page` on the allocator's fast path, for the hog's stores;
    /// false when the full fault path is needed (lock contention, low memory,
    /// an unstable mm, a non-anonymous mapping).
    pub(crate) fn try_fast_anon_fault(&mut self, tid: Tid, addr: u64) -> bool {
        let Some(mm) = self.tasks[tid].mm else {
            return false;
        };
        let m = &self.mms[mm];
        if m.flags & MMF_UNSTABLE != 0
            || m.mmap_sem.writer.is_some()
            || !m.mmap_sem.waiters.is_empty()
        {
            return false;
        }
        let Some(vi) = m.find_vma(addr) else {
            return false;
        };
        if !matches!(m.vmas[vi].kind, VmaKind::Anon | VmaKind::Stack) {
            return false;
        }
        if !self.mem.fast_path_ok() {
            return false;
        }
        let pfn = self
            .mem
            .alloc_page(PageKind::Anon)
            .expect("fast path checked free pages");
        self.install_pte(mm, vi, addr, pfn);
        self.progress();
        true
    }

    fn install_pte(&mut self, mm: MmId, vi: usize, addr: u64, pfn: Pfn) {
        let m = &mut self.mms[mm];
        let v = &mut m.vmas[vi];
        let idx = ((addr - v.start) / PAGE_SIZE) as usize;
        debug_assert!(!v.ptes[idx].is_present(), "installing over a present page");
        v.ptes[idx] = Pte::Page(pfn);
        match v.kind {
            VmaKind::Shmem => m.rss_shmem += 1,
            VmaKind::FileShared => m.rss_file += 1,
            _ => m.rss_anon += 1,
        }
        self.mem.map_page(pfn);
        // A zero-page translation for this address may be cached; the PTE
        // change flushes it locally (flush_tlb_page).
        for c in &mut self.cpus {
            c.tlb.retain(|e| !(e.0 == mm && e.1 == addr / PAGE_SIZE));
        }
    }

    /// `check_stable_address_space` (4.13, commit 6b31d5955cb2, the `pre_pte`
    /// fix): a fault on an mm the reaper has started on (`MMF_UNSTABLE`)
    /// returns `VM_FAULT_SIGBUS` before a PTE is set. True when the fault
    /// must fail; always false without the fix.
    pub(crate) fn check_stable_address_space(&self, mm: MmId) -> bool {
        self.toggles.unstable_check == UnstableCheck::PrePte
            && self.mms[mm].flags & MMF_UNSTABLE != 0
    }

    /// `do_anonymous_page` for a read of a never-touched private anonymous
    /// page: map the zero page. After a reap this is where zeros come from,
    /// unless `check_stable_address_space` refuses the fault first.
    fn do_anonymous_page(&mut self, tid: Tid, f: &mut FaultFrame, vi: usize, idx: usize) -> Fr {
        let unstable = self.mms[f.mm].flags & MMF_UNSTABLE != 0;
        if self.check_stable_address_space(f.mm) {
            return self.fix_engaged(tid, f, "check_stable_address_space");
        }
        let m = &mut self.mms[f.mm];
        m.vmas[vi].ptes[idx] = Pte::Zero;
        tr!(
            self,
            tid,
            "do_anonymous_page",
            TraceKind::Fault,
            "read fault at {:#x}: zero page mapped{}",
            f.addr,
            if unstable { " (MMF_UNSTABLE)" } else { "" }
        );
        if unstable {
            self.note_zero_refault(tid, f.addr);
        }
        // Michal's v1: the check at the end of handle_mm_fault, after the
        // zero page was mapped.
        self.handle_mm_fault_ok(tid, f)
    }

    /// `handle_mm_fault` (under `mmap_sem` for read) and its callees.
    pub(crate) fn handle_mm_fault(&mut self, tid: Tid, f: &mut FaultFrame) -> Fr {
        match f.phase {
            FaultPhase::Lock => {
                let Some(mm) = self.tasks[tid].mm else {
                    return self.fault_done(tid, f, FaultResult::Segv, false);
                };
                f.mm = mm;
                f.phase = FaultPhase::Handle;
                locked_or_sleep(self.down_read(mm, tid), costs::FAULT_LOCK_NS)
            }
            FaultPhase::Handle => {
                let m = &self.mms[f.mm];
                let Some(vi) = m.find_vma(f.addr) else {
                    return self.fault_done(tid, f, FaultResult::Segv, true);
                };
                let v = &m.vmas[vi];
                let idx = ((f.addr - v.start) / PAGE_SIZE) as usize;
                let pte = v.ptes[idx];
                let kind = v.kind;
                if pte.is_present() {
                    // Another thread faulted it in meanwhile.
                    return self.handle_mm_fault_ok(tid, f);
                }
                let anon = matches!(kind, VmaKind::Anon | VmaKind::Stack);
                if anon && !f.write && pte == Pte::None {
                    return self.do_anonymous_page(tid, f, vi, idx);
                }
                if anon && !f.write && pte == Pte::Zero {
                    return self.handle_mm_fault_ok(tid, f);
                }
                // Everything else needs a page.
                let kind = match kind {
                    VmaKind::Shmem => PageKind::Shmem,
                    _ => PageKind::Anon,
                };
                f.phase = FaultPhase::Alloc;
                Fr::Call(
                    Frame::Alloc(AllocFrame::new(true, kind)),
                    Step::Busy(costs::FAULT_ALLOC_NS),
                )
            }
            FaultPhase::Alloc => unreachable!("the allocation returns first"),
            FaultPhase::AfterAlloc(page) => {
                let Some(pfn) = page else {
                    return self.fault_done(tid, f, FaultResult::Oom, true);
                };
                let m = &self.mms[f.mm];
                let Some(vi) = m.find_vma(f.addr) else {
                    self.mem.free_page(pfn);
                    return self.fault_done(tid, f, FaultResult::Segv, true);
                };
                let v = &m.vmas[vi];
                let idx = ((f.addr - v.start) / PAGE_SIZE) as usize;
                if v.ptes[idx].is_present() {
                    self.mem.free_page(pfn);
                    return self.handle_mm_fault_ok(tid, f);
                }
                let private = v.kind != VmaKind::Shmem && v.kind != VmaKind::FileShared;
                let unstable = m.flags & MMF_UNSTABLE != 0;
                let was_zero = v.ptes[idx] == Pte::Zero;
                // do_anonymous_page and finish_fault (private mappings only)
                // check; a write fault on a zero-page PTE goes do_wp_page →
                // wp_page_copy, which has no check_stable_address_space
                // (4.13 mm/memory.c).
                if private && !was_zero && self.check_stable_address_space(f.mm) {
                    self.mem.free_page(pfn);
                    return self.fix_engaged(tid, f, "check_stable_address_space");
                }
                if was_zero {
                    self.mms[f.mm].vmas[vi].ptes[idx] = Pte::None;
                }
                self.mem.fill[pfn] = 0;
                self.install_pte(f.mm, vi, f.addr, pfn);
                let func = if was_zero {
                    "do_wp_page"
                } else {
                    "do_anonymous_page"
                };
                tr!(
                    self,
                    tid,
                    func,
                    TraceKind::Fault,
                    "{} fault at {:#x}: new zeroed page {pfn}{}",
                    if f.write { "write" } else { "read" },
                    f.addr,
                    if unstable { " (MMF_UNSTABLE)" } else { "" }
                );
                if unstable && private {
                    self.note_zero_refault(tid, f.addr);
                }
                self.handle_mm_fault_ok(tid, f)
            }
        }
    }

    /// The end of a `handle_mm_fault` that succeeded. Michal's v1 of the fix
    /// (`post_fault`) tested `MMF_UNSTABLE` there for every fault without
    /// `VM_FAULT_ERROR`, whatever the mapping and whoever installed the PTE
    /// (4.13's test for kthreads, 3f70dc38cec2, without its `PF_KTHREAD`).
    fn handle_mm_fault_ok(&mut self, tid: Tid, f: &mut FaultFrame) -> Fr {
        if self.toggles.unstable_check == UnstableCheck::PostFault
            && self.mms[f.mm].flags & MMF_UNSTABLE != 0
        {
            return self.fix_engaged(tid, f, "handle_mm_fault");
        }
        self.fault_done(tid, f, FaultResult::Ok, true)
    }

    fn fix_engaged(&mut self, tid: Tid, f: &mut FaultFrame, func: &'static str) -> Fr {
        let idx = self.tr(
            tid,
            func,
            TraceKind::Fault,
            format!("MMF_UNSTABLE: VM_FAULT_SIGBUS at {:#x}", f.addr),
        );
        let since = self.obs.kill_time.map_or(0, |k| self.now.since(k));
        self.obs.fix_engaged.push(crate::outcome::FixEngaged {
            pid: self.tasks[tid].pid,
            addr: f.addr,
            event: idx,
            t: self.now,
            since_kill_ns: since,
            user: f.user,
            func,
        });
        self.fault_done(tid, f, FaultResult::Sigbus, true)
    }

    fn note_zero_refault(&mut self, tid: Tid, addr: u64) {
        let _ = (tid, addr);
        self.obs.zero_refaults += 1;
    }

    fn fault_done(&mut self, tid: Tid, f: &FaultFrame, r: FaultResult, locked: bool) -> Fr {
        if locked {
            self.up_read(f.mm, tid);
        }
        if f.user {
            match r {
                FaultResult::Sigbus | FaultResult::Segv => self.force_sig(tid, SIGBUS),
                FaultResult::Ok | FaultResult::Oom => {}
            }
        }
        Fr::Done(Ret::Fault(r), Step::Busy(costs::FAULT_DONE_NS))
    }

    /// mmap/munmap and buffer allocation: `down_write(mmap_sem)`, change the
    /// VMA list, `up_write`, then `MAP_POPULATE` outside the lock.
    pub(crate) fn step_mmap(&mut self, tid: Tid, f: &mut MmapFrame) -> Fr {
        let Some(mm) = self.tasks[tid].mm else {
            return Fr::Done(Ret::Int(-14), Step::Busy(costs::FAULT_FAIL_NS));
        };
        match f.phase {
            MmapPhase::Lock => {
                f.phase = if f.what == MmapWhat::Unmap {
                    MmapPhase::Locked(None)
                } else {
                    MmapPhase::VmaAlloc
                };
                locked_or_sleep(self.down_write(mm, tid), costs::MMAP_LOCK_NS)
            }
            MmapPhase::VmaAlloc => {
                // kmem_cache_zalloc(vm_area_cachep, GFP_KERNEL) with mmap_sem held
                // for write: most objects come from a partial slab, but every
                // VMAS_PER_SLAB-th needs a new page, and that allocation can
                // enter reclaim and the OOM killer while the lock is held.
                if self.vm_area_cachep.free == 0 {
                    self.vm_area_cachep.free = VMAS_PER_SLAB;
                    f.phase = MmapPhase::SlabAlloc;
                    return Fr::Call(
                        Frame::Alloc(AllocFrame::new(true, PageKind::Slab)),
                        Step::Busy(costs::VMA_SLAB_ALLOC_NS),
                    );
                }
                f.phase = MmapPhase::Locked(None);
                self.vm_area_cachep.free -= 1;
                Fr::Stay(Step::Busy(costs::VMA_ALLOC_NS))
            }
            MmapPhase::SlabAlloc | MmapPhase::PopulateFault => {
                unreachable!("a callee returns first")
            }
            MmapPhase::Locked(slab_page) => {
                if let Some(pfn) = slab_page {
                    // The new slab page: reclaimable only when empty, so it is
                    // kept for the kernel.
                    self.vm_area_cachep.pages.push(pfn);
                    self.vm_area_cachep.free -= 1;
                }
                match f.what {
                    MmapWhat::Unmap => {
                        let u = self.tasks[tid].user.as_ref().expect("user task");
                        if let Var::Mem { start, .. } = u.vars[f.var as usize] {
                            self.unmap_vma_at(mm, start);
                        }
                        let u = self.tasks[tid].user.as_mut().expect("user task");
                        u.vars[f.var as usize] = Var::Unset;
                        self.tr(tid, "do_munmap", TraceKind::Fault, "mapping removed".into());
                    }
                    MmapWhat::Buf(_) | MmapWhat::Map(_) => {
                        let (kind, locked) = match f.what {
                            MmapWhat::Buf(BufKind::Heap) | MmapWhat::Map(MapKind::Anon) => {
                                (VmaKind::Anon, false)
                            }
                            MmapWhat::Buf(BufKind::Mlock) => (VmaKind::Anon, true),
                            MmapWhat::Buf(BufKind::Shmem) | MmapWhat::Map(MapKind::SharedAnon) => {
                                (VmaKind::Shmem, false)
                            }
                            MmapWhat::Map(MapKind::FileShared) => (VmaKind::FileShared, false),
                            MmapWhat::Map(MapKind::FilePrivate) => (VmaKind::FilePrivate, false),
                            _ => (VmaKind::Stack, false),
                        };
                        let heap = f.what == MmapWhat::Buf(BufKind::Heap);
                        let start = self.insert_vma_in(mm, f.len, kind, locked, f.inode, heap);
                        f.start = start;
                        let u = self.tasks[tid].user.as_mut().expect("user task");
                        u.vars[f.var as usize] = Var::Mem {
                            start,
                            len: f.len,
                            fill: 0,
                        };
                        self.tr(
                            tid,
                            "do_mmap",
                            TraceKind::Fault,
                            format!(
                                "{:?}{} {:#x}-{:#x}",
                                kind,
                                if locked { " VM_LOCKED" } else { "" },
                                start,
                                start + f.len
                            ),
                        );
                        // mlock faults the whole range in (populate).
                        if locked {
                            f.populate = f.len;
                        }
                    }
                }
                self.up_write(mm, tid);
                if f.populate > 0 {
                    f.phase = MmapPhase::Populate;
                    f.next = 0;
                    Fr::Stay(Step::Busy(costs::MMAP_REGION_NS))
                } else {
                    Fr::Done(Ret::Int(0), Step::Busy(costs::MMAP_REGION_NS))
                }
            }
            MmapPhase::Populate | MmapPhase::PopulateFaulted(_) => {
                // The previous full fault (if any) has returned; go on, unless
                // it failed or a fatal signal is pending (__get_user_pages).
                if let MmapPhase::PopulateFaulted(r) = f.phase {
                    f.phase = MmapPhase::Populate;
                    if r != FaultResult::Ok {
                        return Fr::Done(Ret::Int(-14), Step::Busy(costs::FAULT_FAIL_NS));
                    }
                }
                if self.fatal_signal_pending(tid) {
                    return Fr::Done(Ret::Int(-4), Step::Busy(costs::FAULT_FAIL_NS));
                }
                let pages = f.populate / PAGE_SIZE;
                let mut cost = 0;
                let mut n = 0;
                while f.next < pages && n < 256 {
                    let addr = f.start + f.next * PAGE_SIZE;
                    let m = &self.mms[mm];
                    let present = m.find_vma(addr).is_some_and(|vi| {
                        let v = &m.vmas[vi];
                        v.ptes[((addr - v.start) / PAGE_SIZE) as usize].is_present()
                    });
                    if !present {
                        if self.try_fast_anon_fault(tid, addr) {
                            cost += costs::FAST_FAULT_NS / 3;
                        } else {
                            f.phase = MmapPhase::PopulateFault;
                            return Fr::Call(
                                Frame::Fault(FaultFrame::new(addr, true, false)),
                                Step::Busy(cost + costs::POPULATE_FAULT_NS),
                            );
                        }
                    }
                    f.next += 1;
                    n += 1;
                }
                if f.next >= pages {
                    self.tr(
                        tid,
                        "__mm_populate",
                        TraceKind::Fault,
                        format!("{} pages", pages),
                    );
                    Fr::Done(Ret::Int(0), Step::Busy(cost.max(costs::POPULATE_FAULT_NS)))
                } else {
                    Fr::Stay(Step::Busy(cost.max(costs::POPULATE_FAULT_NS)))
                }
            }
        }
    }

    fn unmap_vma_at(&mut self, mm: MmId, start: u64) {
        let Some(vi) = self.mms[mm].find_vma(start) else {
            return;
        };
        let v = self.mms[mm].vmas.remove(vi);
        for c in &mut self.cpus {
            c.tlb.retain(|e| e.0 != mm);
        }
        for pte in v.ptes {
            if let Pte::Page(pfn) = pte {
                self.unaccount(mm, v.kind);
                self.mem.unmap_page(pfn);
                if self.mem.kind_of(pfn) != PageKind::PageCache {
                    self.mem.free_page(pfn);
                }
            }
        }
    }

    fn unaccount(&mut self, mm: MmId, kind: VmaKind) {
        let m = &mut self.mms[mm];
        match kind {
            VmaKind::Shmem => m.rss_shmem -= 1,
            VmaKind::FileShared => m.rss_file -= 1,
            _ => m.rss_anon -= 1,
        }
    }

    /// `unmap_page_range` over the mm from `cursor`, gathering up to `ZAP_BATCH`
    /// present pages. The reaper (`exiting == false`) only touches reapable VMAs
    /// and frees after the TLB flush; `exit_mmap` tears down everything and frees
    /// at once. Returns (gathered pages, done, cost in ns).
    pub(crate) fn zap_mm_batch(
        &mut self,
        mm: MmId,
        cursor: &mut ZapCursor,
        exiting: bool,
    ) -> (Vec<Pfn>, bool, u64) {
        let mut gathered = Vec::new();
        let mut cost = 200;
        let nv = self.mms[mm].vmas.len();
        let (mut vi, mut pi) = match *cursor {
            ZapCursor::At { vma, page } => (vma as usize, page),
            ZapCursor::Done => (nv, 0),
        };
        while vi < nv && (gathered.len() as u64) < ZAP_BATCH {
            let (kind, reapable, npages) = {
                let v = &self.mms[mm].vmas[vi];
                (
                    v.kind,
                    v.reapable(self.toggles.reap_mlocked),
                    v.ptes.len() as u64,
                )
            };
            if !exiting && !reapable {
                vi += 1;
                pi = 0;
                continue;
            }
            while pi < npages && (gathered.len() as u64) < ZAP_BATCH {
                let i = pi as usize;
                pi += 1;
                let pte = self.mms[mm].vmas[vi].ptes[i];
                let pfn = match pte {
                    Pte::None => {
                        // Walking empty page tables is cheap but not free.
                        if (i as u64).is_multiple_of(512) {
                            cost += costs::ZAP_EMPTY_PMD_NS;
                        }
                        continue;
                    }
                    Pte::Zero => {
                        self.mms[mm].vmas[vi].ptes[i] = Pte::None;
                        continue;
                    }
                    Pte::Page(pfn) => pfn,
                };
                self.mms[mm].vmas[vi].ptes[i] = Pte::None;
                self.unaccount(mm, kind);
                self.mem.unmap_page(pfn);
                cost += costs::ZAP_NS_PER_PAGE;
                if self.mem.kind_of(pfn) != PageKind::PageCache {
                    gathered.push(pfn);
                }
            }
            if pi >= npages {
                vi += 1;
                pi = 0;
            }
        }
        let done = vi >= nv;
        *cursor = if done {
            ZapCursor::Done
        } else {
            ZapCursor::At {
                vma: vi as u32,
                page: pi,
            }
        };
        if exiting {
            for c in &mut self.cpus {
                c.tlb.retain(|e| e.0 != mm);
            }
            for pfn in gathered.drain(..) {
                self.mem.free_page(pfn);
            }
            self.progress();
        }
        (gathered, done, cost)
    }

    /// A store into a MAP_SHARED file mapping lands in the page cache.
    pub(crate) fn store_to_file_page(&mut self, tid: Tid, addr: u64, value: u8, expected: u8) {
        let Some(mm) = self.tasks[tid].mm else {
            return;
        };
        let m = &self.mms[mm];
        let Some(vi) = m.find_vma(addr) else {
            return;
        };
        let v = &m.vmas[vi];
        if v.kind != VmaKind::FileShared {
            return;
        }
        let Some(inode) = v.inode else {
            return;
        };
        let index = (addr - v.start) / PAGE_SIZE;
        let pid = self.tasks[tid].pid;
        let ev = self.trace_total;
        self.file_store_page(inode, index, value, expected, pid, ev);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sim(check: &str) -> (Sim, Tid, MmId) {
        let text = format!(
            "version = 1\n[machine]\ncpus = 2\nmemory = \"32M\"\n\
             [kernel]\npreset = \"4.13-rc\"\nunstable_check = \"{check}\"\n\
             [[process]]\nname = \"a.out\"\n[[process.thread]]\nprogram = \"hog\"\n"
        );
        let sc = crate::parse_scenario(&text).unwrap();
        let sim = Sim::new(&sc, crate::ChoiceSource::Seed(1));
        let tid = sim
            .tasks
            .iter()
            .position(|t| t.comm == "a.out")
            .map(Tid::from_index)
            .expect("a.out");
        let mm = sim.tasks[tid].mm.expect("a.out has an mm");
        (sim, tid, mm)
    }

    /// A user write fault at `addr` of an `MMF_UNSTABLE` mm whose PTE is
    /// `pte`, driven to its end (the page allocation answered at once).
    /// Returns the PTE after the fault and whether the fix engaged.
    fn write_fault_after_reap(check: &str, pte: Pte) -> (Pte, bool) {
        let (mut sim, tid, mm) = sim(check);
        let start = sim.insert_vma_in(mm, 4 * PAGE_SIZE, VmaKind::Anon, false, None, false);
        let vi = sim.mms[mm].find_vma(start).expect("the new vma");
        sim.mms[mm].vmas[vi].ptes[0] = pte;
        sim.mms[mm].flags |= MMF_UNSTABLE;
        let mut f = FaultFrame::new(start, true, true);
        for _ in 0..8 {
            match sim.handle_mm_fault(tid, &mut f) {
                Fr::Stay(Step::Busy(_)) => {}
                Fr::Call(Frame::Alloc(_), _) => {
                    let pfn = sim.mem.alloc_page(PageKind::Anon);
                    f.returned(pfn.map_or(Ret::NoPage, Ret::Page));
                }
                Fr::Done(..) | Fr::Return(_) => {
                    let vi = sim.mms[mm].find_vma(start).expect("the vma");
                    return (
                        sim.mms[mm].vmas[vi].ptes[0],
                        !sim.obs.fix_engaged.is_empty(),
                    );
                }
                _ => panic!("the fault slept"),
            }
        }
        panic!("the fault never returned");
    }

    #[test]
    fn pre_pte_write_fault_on_a_zero_page_pte_copies_without_sigbus() {
        // 4.13 wp_page_copy has no check_stable_address_space: the copy of
        // the zero page is installed even on an MMF_UNSTABLE mm.
        let (pte, fixed) = write_fault_after_reap("pre_pte", Pte::Zero);
        assert!(pte.is_present(), "wp_page_copy installed a page: {pte:?}");
        assert!(!fixed, "no SIGBUS from do_wp_page");
        // The same write on a pte_none goes through do_anonymous_page, which
        // checks.
        let (pte, fixed) = write_fault_after_reap("pre_pte", Pte::None);
        assert_eq!(pte, Pte::None);
        assert!(fixed, "do_anonymous_page's check engaged");
    }

    #[test]
    fn post_fault_fails_every_successful_fault_of_an_unstable_mm() {
        // v1 tested MMF_UNSTABLE at the end of handle_mm_fault, after any
        // fault without VM_FAULT_ERROR: a PTE another thread installed too.
        let (mut sim, tid, mm) = sim("post_fault");
        let start = sim.insert_vma_in(mm, PAGE_SIZE, VmaKind::Anon, false, None, false);
        let pfn = sim.mem.alloc_page(PageKind::Anon).expect("a free page");
        let vi = sim.mms[mm].find_vma(start).expect("the new vma");
        sim.install_pte(mm, vi, start, pfn);
        sim.mms[mm].flags |= MMF_UNSTABLE;
        let mut f = FaultFrame::new(start, false, true);
        let mut done = false;
        for _ in 0..8 {
            match sim.handle_mm_fault(tid, &mut f) {
                Fr::Stay(Step::Busy(_)) => {}
                Fr::Done(..) | Fr::Return(_) => {
                    done = true;
                    break;
                }
                _ => panic!("a present PTE needs no allocation"),
            }
        }
        assert!(done, "the fault returned");
        assert_eq!(sim.obs.fix_engaged.len(), 1, "v1 failed the fault");
        // Without MMF_UNSTABLE the same fault succeeds.
        let (mut sim, tid, mm) = self::sim("post_fault");
        let start = sim.insert_vma_in(mm, PAGE_SIZE, VmaKind::Anon, false, None, false);
        let pfn = sim.mem.alloc_page(PageKind::Anon).expect("a free page");
        let vi = sim.mms[mm].find_vma(start).expect("the new vma");
        sim.install_pte(mm, vi, start, pfn);
        let mut f = FaultFrame::new(start, false, true);
        while let Fr::Stay(Step::Busy(_)) = sim.handle_mm_fault(tid, &mut f) {}
        assert!(sim.obs.fix_engaged.is_empty());
    }
}
