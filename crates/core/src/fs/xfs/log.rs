//! The XFS log: the CIL and the `xfs-cil` workqueue worker that writes a
//! checkpoint when reclaim forces the log (`xfs_iunpin_wait`) and every
//! `commit_interval` (`xfs_log_worker`).
//!
//! The worker needs pages for the checkpoint (`GFP_NOFS`): at the min
//! watermark that allocation loops in the page allocator (`out_of_memory`
//! does not kill for it), and every reclaimer waiting for an unpin waits with
//! it, which is how the lockup of kernel.md §3.6 closes. With
//! `pf_memalloc_pid` (Andrea's A3) the worker records the pids of the
//! `PF_MEMALLOC` tasks that queued the work, and allocates below min when one
//! of them belongs to an OOM victim.
//!
//! Not modelled: the AIL push as a separate thread (`xfsaild`) — the worker
//! stands for the log force and the inode flush together —, and the
//! checkpoint's log write as a request on the device queue (it takes a fixed
//! `costs::XLOG_IO_NS`).

use crate::costs;
use crate::kernel::entry::Fr;
use crate::kernel::sched::TaskState;
use crate::mm::page_alloc::Pfn;
use crate::mm::page_alloc::{AllocFrame, PageKind};
use crate::sim::{Frame, Ret, Sim, Step, Tid, PF_MEMALLOC};
use crate::trace::TraceKind;

/// Buffer pages a checkpoint of `items` pinned inodes needs.
fn xlog_pages(items: u64) -> u64 {
    (1 + items / 16).min(16)
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

#[derive(Clone, Debug, Default, Hash)]
pub(crate) struct XlogFrame {
    phase: XlogPhase,
    /// The checkpoint's buffers (`xlog_cil_push` formats the log vectors).
    pages: Vec<Pfn>,
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
    Allocated(Option<Pfn>),
    IoDone,
}

impl XlogFrame {
    pub(crate) fn returned(&mut self, ret: Ret) {
        assert!(self.phase == XlogPhase::Allocating, "xlog got a value");
        self.phase = XlogPhase::Allocated(ret.page());
    }
}

impl Sim {
    /// The log force: queue the checkpoint work. A submitter in `PF_MEMALLOC`
    /// context leaves its pid on the worker (`pf_memalloc_pid`).
    pub(crate) fn xlog_force(&mut self, tid: Tid) {
        let Some(w) = self.xfs.log.worker else {
            return;
        };
        let pid = self.tasks[tid].pid;
        if self.tasks[tid].flags & PF_MEMALLOC != 0 && !self.tasks[w].pf_memalloc_pid.contains(&pid)
        {
            self.tasks[w].pf_memalloc_pid.push(pid);
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

    /// The `xfs-cil` worker: waits for a force, allocates the checkpoint's
    /// buffer (`GFP_NOFS`), writes it, then unpins and wakes the waiters.
    pub(crate) fn step_xlog(&mut self, tid: Tid, f: &mut XlogFrame) -> Fr {
        match f.phase {
            XlogPhase::Wait => {
                if !self.xfs.log.force_pending {
                    // xfs_log_worker: file data metadata in the CIL is
                    // forced out every commit_interval (`fs::xfs`).
                    match self.xfs_log_work_due() {
                        Ok(()) => self.xfs.log.force_pending = true,
                        Err(timeout) => {
                            self.tasks[tid].pf_memalloc_pid.clear();
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

    /// `xfs_log_worker`: the periodic log force is due (the CIL holds
    /// something older than `commit_interval`); else how long until it is.
    pub(crate) fn xfs_log_work_due(&self) -> Result<(), Option<u64>> {
        match &self.fs.journal.running {
            None => Err(None),
            Some(t) => {
                let at = t.start.after(self.fs.params.commit_interval);
                if self.now >= at {
                    Ok(())
                } else {
                    Err(Some(at.since(self.now)))
                }
            }
        }
    }

    /// `xlog_cil_push`: the CIL's items go into the checkpoint being written.
    pub(crate) fn xfs_cil_push(&mut self) {
        self.fs.commit_requested = false;
        if let Some(t) = self.fs.journal.running.take() {
            self.fs.journal.committing = Some(t);
        }
    }

    /// `xlog_cil_committed`: the checkpoint's log write (with
    /// `REQ_PREFLUSH | REQ_FUA`, issued when it was submitted: `upto`) is
    /// durable. Returns a note for the trace.
    pub(crate) fn xfs_cil_committed(&mut self, upto: u64) -> Option<String> {
        self.fs.dev.flush(upto);
        let t = self.fs.journal.committing.take()?;
        let msg = self.journal_commit_done(t);
        let cpu = None;
        for w in std::mem::take(&mut self.fs.commit_waiters) {
            self.wake_up_process(w, cpu);
        }
        Some(msg)
    }
}
