//! Buffered `write()` (`mm/filemap.c`, `fs/iomap.c`, `fs/btrfs/file.c`): one
//! page-sized chunk per iteration, each step separate so that other CPUs can
//! interleave between them.
//!
//! | path | fault-in | fatal check | allocation | copy | `i_size` |
//! |---|---|---|---|---|---|
//! | generic (ext4, 4.13) | first | after fault-in | GFP_KERNEL | atomic | in write_end, from copied |
//! | iomap (xfs) | first | inside write_begin | GFP_NOFS | atomic | in write_end |
//! | btrfs | first | none | GFP_NOFS (`btrfs_alloc_write_mask`) | atomic | btrfs_dirty_pages |
//! | generic_3_10 | first | end of iteration, skipped on the copied==0 retry | GFP_KERNEL | atomic | write_end |
//! | isize_before_copy | first | after fault-in | GFP_KERNEL | atomic | in write_begin, before the copy |
//!
//! Not modelled: `i_rwsem`, multi-segment iovecs, direct I/O, block sizes
//! smaller than a page (a page is uptodate once a full copy landed), delalloc
//! space reservation.

use crate::costs;
use crate::fs::InodeId;
use crate::fs::{overlay, PcPage, Prov, Run, NO_BLOCK};
use crate::kernel::entry::Fr;
use crate::mm::memory::{Access, FaultFrame, FaultResult};
use crate::mm::page_alloc::Pfn;
use crate::mm::page_alloc::{AllocFrame, PageKind};
use crate::scenario::{WritePath, PAGE_SIZE};
use crate::sim::{Frame, Ret, Sim, Step, Tid, Var};
use crate::trace::tr;
use crate::trace::TraceKind;

const EFAULT: i64 = -14;
const EINTR: i64 = -4;
const ENOMEM: i64 = -12;

#[derive(Clone, Debug, Hash)]
pub(crate) struct WriteFrame {
    pub path: WritePath,
    fd: u16,
    inode: InodeId,
    src: u64,
    len: u64,
    pos: u64,
    written: u64,
    expected: u8,
    phase: WPhase,
    bytes: u64,
    page: Option<Pfn>,
    status: i64,
    copied: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum WPhase {
    Again,
    /// In `handle_mm_fault` for the source page.
    FaultIn,
    AfterFaultIn(FaultResult),
    WriteBegin,
    /// In the page-cache page's allocation.
    Alloc,
    AfterAlloc(Option<Pfn>),
    Copy,
    WriteEnd,
    AfterBalance,
}

impl WriteFrame {
    pub(crate) fn new(
        sim: &Sim,
        fd: u16,
        inode: InodeId,
        src: u64,
        len: u64,
        pos: u64,
        expected: u8,
    ) -> WriteFrame {
        WriteFrame {
            path: sim.toggles.write_path,
            fd,
            inode,
            src,
            len,
            pos,
            written: 0,
            expected,
            phase: WPhase::Again,
            bytes: 0,
            page: None,
            status: 0,
            copied: 0,
        }
    }
}

impl WriteFrame {
    pub(crate) fn returned(&mut self, ret: Ret) {
        match self.phase {
            WPhase::FaultIn => self.phase = WPhase::AfterFaultIn(ret.fault()),
            WPhase::Alloc => self.phase = WPhase::AfterAlloc(ret.page()),
            // balance_dirty_pages returns nothing.
            WPhase::AfterBalance => {
                assert!(ret == Ret::None, "balance_dirty_pages returns nothing")
            }
            _ => panic!("the write got a value it did not call for"),
        }
    }

    /// The stage of the buffered write, by the names of kernel.md §3.1.
    pub(crate) fn stage(&self) -> &'static str {
        match self.phase {
            WPhase::Again | WPhase::FaultIn | WPhase::AfterFaultIn(_) => {
                "iov_iter_fault_in_readable"
            }
            WPhase::WriteBegin | WPhase::Alloc | WPhase::AfterAlloc(_) => "write_begin",
            WPhase::Copy => "iov_iter_copy_from_user_atomic",
            WPhase::WriteEnd => "write_end",
            WPhase::AfterBalance => "balance_dirty_pages_ratelimited",
        }
    }
}

impl Sim {
    fn write_finish(&mut self, tid: Tid, f: &mut WriteFrame) -> Fr {
        let ret = if f.written > 0 {
            f.written as i64
        } else {
            f.status
        };
        if ret > 0 {
            self.inodes[f.inode].acked += ret as u64;
            self.progress();
        }
        let u = self.tasks[tid].user.as_mut().expect("user task");
        if let Var::Fd { inode, append, pos } = u.vars[f.fd as usize] {
            let newpos = if append { pos } else { pos + ret.max(0) as u64 };
            u.vars[f.fd as usize] = Var::Fd {
                inode,
                append,
                pos: newpos,
            };
        }
        if ret != f.len as i64 {
            self.tr(
                tid,
                "vfs_write",
                TraceKind::Write,
                format!("returns {ret} (of {})", f.len),
            );
        }
        Fr::Done(Ret::Int(ret), Step::Busy(costs::WRITE_RETURN_NS))
    }

    /// `generic_perform_write`: the buffered-write loop, one page-sized
    /// chunk per iteration (fault-in, fatal check, `write_begin`, the atomic
    /// copy, `write_end`, `balance_dirty_pages_ratelimited`). The other write
    /// paths are this loop with their differences (the table in the module
    /// doc): `iomap_write_actor`, `__btrfs_buffered_write`, 3.10's loop.
    pub(crate) fn generic_perform_write(&mut self, tid: Tid, f: &mut WriteFrame) -> Fr {
        match f.phase {
            WPhase::Again => {
                // again: the chunk within the current page.
                let offset = f.pos % PAGE_SIZE;
                f.bytes = (PAGE_SIZE - offset).min(f.len - f.written);
                // iov_iter_fault_in_readable: touch each source page.
                let start = f.src + f.written;
                let mut a = start - start % PAGE_SIZE;
                while a < start + f.bytes {
                    match self.user_access(tid, a, false) {
                        Access::Page(_) | Access::ZeroPage => {}
                        Access::Missing => {
                            f.phase = WPhase::FaultIn;
                            return Fr::Call(
                                Frame::Fault(FaultFrame::new(a, false, false)),
                                Step::Busy(costs::WRITE_CALL_NS),
                            );
                        }
                        Access::Bad => {
                            f.status = EFAULT;
                            return self.write_finish(tid, f);
                        }
                    }
                    a += PAGE_SIZE;
                }
                f.phase = WPhase::WriteBegin;
                self.write_fatal_check(tid, f)
            }
            WPhase::FaultIn | WPhase::Alloc => unreachable!("a callee returns first"),
            WPhase::AfterFaultIn(r) => match r {
                FaultResult::Ok => {
                    f.phase = WPhase::Again;
                    Fr::Stay(Step::Busy(costs::WRITE_STEP_NS))
                }
                _ => {
                    self.tr(
                        tid,
                        "iov_iter_fault_in_readable",
                        TraceKind::Write,
                        "-EFAULT".into(),
                    );
                    f.status = EFAULT;
                    self.write_finish(tid, f)
                }
            },
            WPhase::WriteBegin => {
                let index = f.pos / PAGE_SIZE;
                if let Some(p) = self.inodes[f.inode].pages.get(&index) {
                    f.page = Some(p.pfn);
                    self.after_write_begin(tid, f);
                    f.phase = WPhase::Copy;
                    return Fr::Stay(Step::Busy(costs::WRITE_BEGIN_HIT_NS));
                }
                f.phase = WPhase::Alloc;
                // iomap (4.13 fs/xfs/xfs_iops.c sets the mapping GFP_NOFS) and
                // btrfs (4.13 fs/btrfs/file.c prepare_pages:
                // btrfs_alloc_write_mask, mapping_gfp_constraint(mapping,
                // ~__GFP_FS)) allocate without __GFP_FS: such an allocation
                // never invokes the OOM killer and stops the fs shrinkers.
                let gfp_fs = !matches!(f.path, WritePath::Iomap | WritePath::Btrfs);
                Fr::Call(
                    Frame::Alloc(AllocFrame::new(gfp_fs, PageKind::PageCache)),
                    Step::Busy(costs::WRITE_CALL_NS),
                )
            }
            WPhase::AfterAlloc(page) => {
                let Some(pfn) = page else {
                    f.status = ENOMEM;
                    return self.write_finish(tid, f);
                };
                let index = f.pos / PAGE_SIZE;
                // Data written back earlier and reclaimed since is read back in.
                let (runs, uptodate) = match self.inodes[f.inode].map.get(&index) {
                    Some(&(lba, _)) => (self.read_block(lba), true),
                    None => (Vec::new(), false),
                };
                self.inodes[f.inode].pages.insert(
                    index,
                    PcPage {
                        pfn,
                        runs,
                        dirty: false,
                        uptodate,
                        writeback: false,
                        jtid: 0,
                    },
                );
                f.page = Some(pfn);
                self.after_write_begin(tid, f);
                f.phase = WPhase::Copy;
                Fr::Stay(Step::Busy(if uptodate {
                    costs::WRITE_BEGIN_READ_NS
                } else {
                    costs::WRITE_BEGIN_HIT_NS
                }))
            }
            WPhase::Copy => {
                // iov_iter_copy_from_user_atomic: page faults disabled.
                let start = f.src + f.written;
                let offset = (f.pos % PAGE_SIZE) as u16;
                let mut copied = 0u64;
                let mut runs: Vec<Run> = Vec::new();
                let pid = self.tasks[tid].pid;
                let ev = self.trace_total;
                let mut from_zero = false;
                let mut from_stale = false;
                while copied < f.bytes {
                    let a = start + copied;
                    let chunk = (PAGE_SIZE - a % PAGE_SIZE).min(f.bytes - copied);
                    let (acc, stale) = self.copy_source(tid, a);
                    let (value, prov) = match acc {
                        Access::Page(pfn) => (
                            self.mem.fill[pfn],
                            if stale { Prov::StaleTlb } else { Prov::Copied },
                        ),
                        Access::ZeroPage => (0, Prov::ZeroPage),
                        Access::Missing | Access::Bad => break,
                    };
                    from_zero |= prov == Prov::ZeroPage;
                    from_stale |= stale;
                    runs.push(Run {
                        off: offset + copied as u16,
                        len: chunk as u16,
                        value,
                        expected: f.expected,
                        prov,
                        pid,
                        event: ev,
                        lba: NO_BLOCK,
                    });
                    copied += chunk;
                }
                f.copied = copied;
                let src = if from_zero {
                    " from the ZERO PAGE"
                } else if from_stale {
                    " through a stale TLB entry"
                } else {
                    ""
                };
                let index = f.pos / PAGE_SIZE;
                tr!(
                    self,
                    tid,
                    "iov_iter_copy_from_user_atomic",
                    TraceKind::Copy,
                    "{copied}/{} bytes{src} -> {}@{:#x}",
                    f.bytes,
                    self.inodes[f.inode].path,
                    f.pos
                );
                if let Some(p) = self.inodes[f.inode].pages.get_mut(&index) {
                    for r in runs {
                        overlay(&mut p.runs, r);
                    }
                }
                f.phase = WPhase::WriteEnd;
                Fr::Stay(Step::Busy(
                    costs::WRITE_COPY_NS + copied / costs::WRITE_COPY_BYTES_PER_NS,
                ))
            }
            WPhase::WriteEnd => {
                let index = f.pos / PAGE_SIZE;
                let offset = f.pos % PAGE_SIZE;
                let full = offset == 0 && f.bytes == PAGE_SIZE;
                let pid = self.tasks[tid].pid;
                let ev = self.trace_total;
                let ino = &mut self.inodes[f.inode];
                let p = ino
                    .pages
                    .get_mut(&index)
                    .expect("write_begin added the page");
                let mut copied = f.copied;
                if copied < f.bytes && !p.uptodate {
                    // block_write_end / btrfs_copy_from_user: a short copy into a
                    // page that is not uptodate counts as nothing; the new buffers
                    // are zeroed.
                    copied = 0;
                    overlay(
                        &mut p.runs,
                        Run {
                            off: offset as u16,
                            len: f.bytes as u16,
                            value: 0,
                            expected: f.expected,
                            prov: Prov::NewBuffer,
                            pid,
                            event: ev,
                            lba: NO_BLOCK,
                        },
                    );
                }
                if copied > 0 {
                    if full && copied == f.bytes {
                        p.uptodate = true;
                    }
                    self.set_page_dirty(f.inode, index);
                    self.set_i_size(f.inode, f.pos + copied);
                    if self.fs.params.fs_type == crate::scenario::FsType::Ext4 {
                        self.ext4_write_end(f.inode, index);
                    }
                }
                f.copied = copied;
                if copied == 0 {
                    self.tr(
                        tid,
                        write_end_name(f.path),
                        TraceKind::Write,
                        "copied 0: retry the chunk".into(),
                    );
                    f.phase = WPhase::Again;
                    return self.cond_resched(tid, costs::WRITE_RETRY_NS);
                }
                f.pos += copied;
                f.written += copied;
                f.phase = WPhase::AfterBalance;
                Fr::Call(
                    Frame::BalanceDirty { waited: false },
                    Step::Busy(costs::WRITE_CALL_NS),
                )
            }
            WPhase::AfterBalance => {
                if f.path == WritePath::Generic310 && self.fatal_signal_pending(tid) {
                    f.status = EINTR;
                    return self.write_finish(tid, f);
                }
                if f.written < f.len {
                    f.phase = WPhase::Again;
                    return self.cond_resched(tid, costs::WRITE_STEP_NS);
                }
                self.write_finish(tid, f)
            }
        }
    }

    /// The fatal-signal check at the place each write path has it.
    /// 3.10 checks at the end of an iteration instead (after
    /// `balance_dirty_pages_ratelimited`, which the copied == 0 retry never
    /// reaches); btrfs has no check.
    fn write_fatal_check(&mut self, tid: Tid, f: &mut WriteFrame) -> Fr {
        let check = match f.path {
            WritePath::Generic | WritePath::IsizeBeforeCopy | WritePath::Iomap => true,
            WritePath::Btrfs | WritePath::Generic310 => false,
        };
        if check && self.fatal_signal_pending(tid) {
            let f_name = if f.path == WritePath::Iomap {
                "iomap_write_begin"
            } else {
                "generic_perform_write"
            };
            self.tr(
                tid,
                f_name,
                TraceKind::Write,
                "fatal_signal_pending: -EINTR".into(),
            );
            f.status = EINTR;
            return self.write_finish(tid, f);
        }
        Fr::Stay(Step::Busy(costs::WRITE_CHECK_NS))
    }

    fn after_write_begin(&mut self, _tid: Tid, f: &mut WriteFrame) {
        if f.path == WritePath::IsizeBeforeCopy {
            self.set_i_size(f.inode, f.pos + f.bytes);
        }
    }
}

fn write_end_name(p: WritePath) -> &'static str {
    match p {
        WritePath::Btrfs => "btrfs_copy_from_user",
        WritePath::Iomap => "iomap_write_end",
        _ => "generic_write_end",
    }
}
