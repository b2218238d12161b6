//! The OOM killer and the OOM reaper (`mm/oom_kill.c`, 4.13).
//!
//! `out_of_memory` runs under `oom_lock`: the `task_will_free_mem(current)`
//! shortcut (which reads `SIGNAL_GROUP_EXIT` without `siglock`), the `!__GFP_FS`
//! early return, `select_bad_process`/`oom_badness`, and `oom_kill_process` in its
//! order: SIGKILL to every thread, then `mark_oom_victim`, then
//! `wake_oom_reaper`, then `schedule_timeout_killable(1)`.
//!
//! The reaper takes `oom_lock`, `down_read_trylock(mmap_sem)` (retrying
//! `MAX_OOM_REAP_RETRIES` times, `HZ/10` apart), sets `MMF_UNSTABLE`
//! **before** unmapping, unmaps the reapable VMAs
//! in `mmu_gather` batches (flushing TLBs on every CPU of the mm and only then
//! freeing), and finally sets `MMF_OOM_SKIP`.
//!
//! Later kernels, as toggles their presets set: 4.14 backs off from mms with
//! MMU notifiers (4d4bbd8526a8; a 4.13 reaper reaps them), drops the reaper's
//! `mmget_not_zero` (an `MMF_OOM_VICTIM` mm's `exit_mmap` sets `MMF_OOM_SKIP`
//! and syncs on `mmap_sem` instead) and gives every victim thread `ALLOC_OOM`;
//! 4.19+ (the 5.18 preset) reaps without `oom_lock`; 5.18 queues the victim
//! through `oom_reaper_timer` (2·HZ, `MMF_OOM_REAP_QUEUED`), reaps `VM_LOCKED`
//! VMAs, and has `process_mrelease`, which runs `__oom_reap_task_mm` in the
//! caller's context after a blocking `mmap_read_lock`.
//!
//! Deliberately simplified: 4.14's `exit_mmap` for an `MMF_OOM_VICTIM` mm
//! runs `__oom_reap_task_mm` itself under `oom_lock` first, then sets
//! `MMF_OOM_SKIP`, then `down_write`/`up_write`; the model's 4.14 sets
//! `MMF_OOM_SKIP` and syncs on `mmap_sem` without reaping first, so other
//! allocators may pick a new victim while the mm is still mapped. It
//! concerns the 4.14 preset only, which no R preset uses.
//!
//! Not modelled: memcg OOM, `oom_kill_allocating_task`, sacrificing a child,
//! sysrq-triggered OOMs, processes sharing an mm across thread groups, the
//! non-blocking MMU-notifier path of 4.19+ (every kernel backs off for HZ),
//! 5.18's `exit_mmap` reaping the mm itself before it syncs.

use crate::costs;
use crate::kernel::entry::{locked_or_sleep, Fr};
use crate::kernel::sched::TaskState;
use crate::locking::{Mutex, MutexId};
use crate::mm::memory::MmId;
use crate::mm::memory::{
    ZapCursor, MMF_OOM_REAP_QUEUED, MMF_OOM_SKIP, MMF_OOM_VICTIM, MMF_UNSTABLE,
};
use crate::mm::page_alloc::Pfn;
use crate::scenario::{ReaperTrylock, PAGE_SIZE};
use crate::sim::{
    EndReason, Event, Frame, IpiKind, Mode, Ret, Sim, Step, Tid, PF_EXITING, TIF_MEMDIE,
};
use crate::time::fmt_duration;
use crate::trace::TraceKind;
use std::collections::VecDeque;

#[derive(Clone, Debug, Hash)]
pub(crate) struct OomFrame {
    gfp_fs: bool,
    phase: OomPhase,
    victim: u32,
    idx: u32,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum OomPhase {
    Start,
    Select,
    SendSig,
    MarkVictim,
    Sleep,
    Slept,
}

impl OomFrame {
    pub(crate) fn new(gfp_fs: bool) -> OomFrame {
        OomFrame {
            gfp_fs,
            phase: OomPhase::Start,
            victim: 0,
            idx: 0,
        }
    }
}

/// What `mm/oom_kill.c` keeps in globals: `oom_lock`, `oom_reaper_list`
/// and the reaper kthread (none with the reaper off).
#[derive(Clone, Debug)]
pub(crate) struct OomState {
    pub(crate) oom_lock: Mutex,
    /// Tasks handed to the reaper, the next one to reap first: 4.13's
    /// `oom_reaper_list` is a singly linked list pushed and popped at its
    /// head, a LIFO.
    pub(crate) oom_reaper_list: VecDeque<Tid>,
    pub(crate) reaper_tid: Option<Tid>,
    /// The kworker that runs `mmput_async`'s work, and the mms queued to it.
    pub(crate) mmput_worker: Option<Tid>,
    pub(crate) async_put_work: VecDeque<MmId>,
}

impl OomState {
    pub(crate) fn new() -> OomState {
        OomState {
            oom_lock: Mutex::new("oom_lock"),
            oom_reaper_list: VecDeque::new(),
            reaper_tid: None,
            mmput_worker: None,
            async_put_work: VecDeque::new(),
        }
    }
}

/// `oom_reaper`: the kthread's loop. It sleeps on `oom_reaper_wait` until
/// the list has a task, then calls `oom_reap_task` for it.
#[derive(Clone, Debug, Default, Hash)]
pub(crate) struct OomReaperFrame;

/// `oom_reap_task`: up to `MAX_OOM_REAP_RETRIES` calls of
/// `__oom_reap_task_mm`, `schedule_timeout_idle(HZ/10)` after each failed
/// one, then `MMF_OOM_SKIP`.
#[derive(Clone, Debug, Hash)]
pub(crate) struct OomReapTaskFrame {
    phase: OomReapTaskPhase,
    tsk: Tid,
    mm: MmId,
    attempts: u32,
    /// `mmap_sem`'s users at the last failed trylock.
    blocked_by: Vec<crate::outcome::LockUser>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum OomReapTaskPhase {
    /// The next `__oom_reap_task_mm` attempt.
    Attempt,
    /// `__oom_reap_task_mm` returned this (false: the trylock failed).
    Returned(bool),
    /// Every attempt failed: "unable to reap".
    GiveUp,
    /// `done:`, `MMF_OOM_SKIP`, and back to the loop.
    Done,
}

/// `__oom_reap_task_mm` as in 4.13: `oom_lock`, `down_read_trylock(mmap_sem)`,
/// the MMU-notifier and `mmget_not_zero` checks, `MMF_UNSTABLE`, then the
/// unmap loop in `mmu_gather` batches, `up_read` and `mmput_async`. Returns
/// false only when the trylock failed. `process_mrelease` enters it at the
/// unmap loop with `mmap_sem` already held (5.18's `__oom_reap_task_mm` is
/// that loop alone).
#[derive(Clone, Debug, Hash)]
pub(crate) struct OomReapTaskMmFrame {
    phase: ReapMmPhase,
    tsk: Tid,
    mm: MmId,
    /// Which attempt of `oom_reap_task` this is (for the trace).
    attempt: u32,
    cursor: ZapCursor,
    /// Pages of the current `mmu_gather` batch, freed after the flush.
    gathered: Vec<Pfn>,
    freed: u64,
    rss_before: [u64; 3],
    /// Called from `process_mrelease`: no `oom_lock`, no `mmput_async`.
    mrelease: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum ReapMmPhase {
    /// `mutex_lock(&oom_lock)`.
    OomLock,
    /// `down_read_trylock(&mm->mmap_sem)` and the checks under it.
    Trylock,
    /// `mm_has_notifiers`: `schedule_timeout_idle(HZ)` done, unlock.
    NotifierBackoff,
    /// `unmap_page_range` of the next batch (`tlb_gather_mmu`).
    Unmap,
    /// The batch's TLB shootdown is acknowledged: free its pages.
    Flushed,
}

/// `__mmput` of the victim's mm from the reaper's `mmput_async` (it held
/// the last reference): `exit_mmap` tears down every VMA, then
/// `MMF_OOM_SKIP`. As in 4.13 (kernel/fork.c `mmput_async`), it runs in a
/// kworker (`async_put_work` on `system_wq`); the reaper has already
/// dropped `oom_lock` and set `MMF_OOM_SKIP` by then.
#[derive(Clone, Debug, Hash)]
pub(crate) struct MmputFrame {
    mm: MmId,
    cursor: ZapCursor,
}

/// The kworker's `worker_thread`: it sleeps until an `async_put_work` is
/// queued, then runs `mmput_async_fn` → `__mmput`.
#[derive(Clone, Debug, Default, Hash)]
pub(crate) struct MmputWorkerFrame;

/// `process_mrelease(pidfd)` (5.15+): `mmap_read_lock_killable`, then
/// `__oom_reap_task_mm` in the caller's context unless `MMF_OOM_SKIP`.
#[derive(Clone, Debug, Hash)]
pub(crate) struct ProcessMreleaseFrame {
    phase: MreleasePhase,
    tsk: Tid,
    mm: MmId,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum MreleasePhase {
    Lock,
    Locked,
    Returned,
}

impl ProcessMreleaseFrame {
    /// `process_mrelease` on `mm`, whose owner `tsk` is dying.
    pub(crate) fn new(tsk: Tid, mm: MmId) -> ProcessMreleaseFrame {
        ProcessMreleaseFrame {
            phase: MreleasePhase::Lock,
            tsk,
            mm,
        }
    }

    pub(crate) fn returned(&mut self, ret: Ret) {
        assert!(
            ret == Ret::Bool(true),
            "__oom_reap_task_mm for process_mrelease"
        );
        self.phase = MreleasePhase::Returned;
    }
}

impl OomReapTaskFrame {
    /// `__oom_reap_task_mm` attempts so far (read by the exports).
    pub(crate) fn attempts(&self) -> u32 {
        self.attempts
    }

    pub(crate) fn returned(&mut self, ret: Ret) {
        let Ret::Bool(ok) = ret else {
            panic!("__oom_reap_task_mm returns a bool");
        };
        self.phase = OomReapTaskPhase::Returned(ok);
    }
}

impl OomReapTaskMmFrame {
    fn new(tsk: Tid, mm: MmId, attempt: u32) -> OomReapTaskMmFrame {
        OomReapTaskMmFrame {
            phase: ReapMmPhase::OomLock,
            tsk,
            mm,
            attempt,
            cursor: ZapCursor::START,
            gathered: Vec::new(),
            freed: 0,
            rss_before: [0; 3],
            mrelease: false,
        }
    }
}

impl Sim {
    /// `task_will_free_mem`: the group is already exiting and will free the mm.
    pub(crate) fn task_will_free_mem(&self, tid: Tid) -> bool {
        let t = &self.tasks[tid];
        let Some(mm) = t.mm else {
            return false;
        };
        if self.mms[mm].flags & MMF_OOM_SKIP != 0 {
            return false;
        }
        let s = &self.signals[t.sig as usize];
        s.group_exit || (s.live == 1 && t.flags & PF_EXITING != 0)
    }

    /// `oom_badness`: rss + page tables, adjusted by `oom_score_adj`.
    pub(crate) fn oom_badness(&self, sig: usize) -> Option<i64> {
        let s = &self.signals[sig];
        if s.oom_score_adj == -1000 || s.live == 0 {
            return None;
        }
        let mm = s.threads.iter().find_map(|t| self.tasks[*t].mm)?;
        let m = &self.mms[mm];
        let rss = m.rss() as i64;
        let pgtables = rss / 512 + 1;
        let totalpages = self.sc.managed_pages as i64;
        let points = rss + pgtables + i64::from(s.oom_score_adj) * totalpages / 1000;
        Some(points.max(1))
    }

    /// `select_bad_process`. Ok(Some(victim)), Ok(None) when nothing is
    /// killable, Err(()) when an existing victim is still pending (abort).
    pub(crate) fn select_bad_process(&self) -> Result<Option<usize>, ()> {
        let mut best: Option<(i64, usize)> = None;
        for (i, s) in self.signals.iter().enumerate() {
            if s.live == 0 {
                continue;
            }
            if let Some(mm) = s.oom_mm {
                if self.mms[mm].flags & MMF_OOM_SKIP != 0 {
                    continue;
                }
                return Err(());
            }
            if let Some(p) = self.oom_badness(i) {
                if best.is_none_or(|(bp, _)| p > bp) {
                    best = Some((p, i));
                }
            }
        }
        Ok(best.map(|b| b.1))
    }

    /// `mark_oom_victim`.
    pub(crate) fn mark_oom_victim(&mut self, tid: Tid, by: Tid) {
        let t = &mut self.tasks[tid];
        if t.tif & TIF_MEMDIE != 0 {
            return;
        }
        t.tif |= TIF_MEMDIE;
        let mm = t.mm;
        let sig = t.sig as usize;
        let pid = t.pid;
        if self.signals[sig].oom_mm.is_none() {
            self.signals[sig].oom_mm = mm;
            if let (Some(mm), false) = (mm, self.toggles.reaper_mmget) {
                self.mms[mm].flags |= MMF_OOM_VICTIM;
            }
        }
        self.tr(
            by,
            "mark_oom_victim",
            TraceKind::Oom,
            format!("TIF_MEMDIE -> {pid}"),
        );
    }

    /// `wake_oom_reaper` (4.13, 4.14) or `queue_oom_reaper` (5.18), called by
    /// the OOM killer: hands the victim to the reaper now, or arms the
    /// victim's `oom_reaper_timer` for `OOM_REAPER_DELAY`.
    pub(crate) fn queue_oom_reaper(&mut self, tid: Tid, by: Tid) {
        if self.oom.reaper_tid.is_none() {
            return;
        }
        let delay = self.toggles.oom_reaper_delay;
        if delay == 0 {
            self.oom_reaper_enqueue(tid, Some(by));
            return;
        }
        let t = &self.tasks[tid];
        let Some(mm) = self.signals[t.sig as usize].oom_mm.or(t.mm) else {
            return;
        };
        if self.mms[mm].flags & MMF_OOM_REAP_QUEUED != 0 {
            return;
        }
        self.mms[mm].flags |= MMF_OOM_REAP_QUEUED;
        let pid = self.tasks[tid].pid;
        self.tr(
            by,
            "queue_oom_reaper",
            TraceKind::Oom,
            format!("{pid}: oom_reaper_timer in {}", fmt_duration(delay)),
        );
        self.push(self.now.after(delay), Event::OomReaperTimer { tid });
    }

    /// `wake_oom_reaper` as the 5.18 timer callback.
    pub(crate) fn wake_oom_reaper(&mut self, tid: Tid) {
        self.oom_reaper_enqueue(tid, None);
    }

    fn oom_reaper_enqueue(&mut self, tid: Tid, by: Option<Tid>) {
        let Some(reaper) = self.oom.reaper_tid else {
            return;
        };
        if self.tasks[tid].oom_reaper_queued {
            return;
        }
        self.tasks[tid].oom_reaper_queued = true;
        self.oom.oom_reaper_list.push_front(tid);
        let pid = self.tasks[tid].pid;
        let msg = format!("queued {pid}");
        match by {
            Some(by) => {
                self.tr(by, "wake_oom_reaper", TraceKind::Oom, msg);
                // A reaper sleeping between attempts or on oom_lock is not woken.
                self.wake_up_queue(reaper, "oom_reaper_wait", by);
            }
            None => {
                self.trace_rec(None, None, "wake_oom_reaper", TraceKind::Oom, msg, None);
                if self.sleeps_on(reaper, "oom_reaper_wait") {
                    self.wake_up_process(reaper, None);
                }
            }
        }
    }

    pub(crate) fn out_of_memory(&mut self, tid: Tid, f: &mut OomFrame) -> Fr {
        match f.phase {
            OomPhase::Start => {
                if self.task_will_free_mem(tid) {
                    self.tr(
                        tid,
                        "out_of_memory",
                        TraceKind::Oom,
                        "task_will_free_mem(current): no kill".into(),
                    );
                    self.mark_oom_victim(tid, tid);
                    self.queue_oom_reaper(tid, tid);
                    return Fr::Done(Ret::Int(1), Step::Busy(costs::OOM_MARK_ONLY_NS));
                }
                if !f.gfp_fs {
                    self.tr(
                        tid,
                        "out_of_memory",
                        TraceKind::Oom,
                        "!__GFP_FS: no kill".into(),
                    );
                    return Fr::Done(Ret::Int(1), Step::Busy(costs::OOM_NO_KILL_NS));
                }
                f.phase = OomPhase::Select;
                let cost =
                    costs::OOM_SELECT_NS + costs::OOM_SELECT_NS_PER_TASK * self.tasks.len() as u64;
                Fr::Stay(Step::Busy(cost))
            }
            OomPhase::Select => match self.select_bad_process() {
                Err(()) => {
                    self.tr(
                        tid,
                        "select_bad_process",
                        TraceKind::Oom,
                        "an OOM victim is still exiting: abort".into(),
                    );
                    Fr::Done(Ret::Int(1), Step::Busy(costs::OOM_NO_KILL_NS))
                }
                Ok(None) => {
                    self.tr(
                        tid,
                        "out_of_memory",
                        TraceKind::Oom,
                        "Kernel panic - not syncing: Out of memory and no killable processes..."
                            .into(),
                    );
                    self.obs.panic = true;
                    self.end = Some(EndReason::Panic);
                    Fr::Done(Ret::Int(0), Step::Busy(costs::OOM_STEP_NS))
                }
                Ok(Some(v)) => self.oom_kill_process(tid, f, v),
            },
            OomPhase::SendSig => {
                if let Some(cost) = self.complete_signal(tid, f.victim as usize, &mut f.idx) {
                    return Fr::Stay(Step::Busy(cost));
                }
                f.phase = OomPhase::MarkVictim;
                Fr::Stay(Step::Busy(costs::OOM_STEP_NS))
            }
            OomPhase::MarkVictim => {
                let v = f.victim as usize;
                let leader = self.signals[v]
                    .threads
                    .iter()
                    .copied()
                    .find(|t| self.tasks[*t].mm.is_some());
                if let Some(l) = leader {
                    self.mark_oom_victim(l, tid);
                    let mm = self.tasks[l].mm.expect("leader has an mm");
                    let m = &self.mms[mm];
                    let kb = PAGE_SIZE / 1024;
                    let total_vm: u64 = m.vmas.iter().map(|v| v.end - v.start).sum::<u64>() / 1024;
                    let msg = format!(
                        "Killed process {} ({}) total-vm:{}kB, anon-rss:{}kB, file-rss:{}kB, shmem-rss:{}kB",
                        self.signals[v].tgid,
                        self.signals[v].comm,
                        total_vm,
                        m.rss_anon * kb,
                        m.rss_file * kb,
                        m.rss_shmem * kb
                    );
                    self.tr(tid, "oom_kill_process", TraceKind::Oom, msg);
                    self.queue_oom_reaper(l, tid);
                }
                f.phase = OomPhase::Sleep;
                Fr::Stay(Step::Busy(costs::OOM_KILL_MSG_NS))
            }
            OomPhase::Sleep => {
                // schedule_timeout_killable(1): a killed killer does not sleep.
                f.phase = OomPhase::Slept;
                if self.fatal_signal_pending(tid) {
                    return Fr::Stay(Step::Busy(costs::OOM_STEP_NS));
                }
                let tick = self.tick_ns;
                self.sleep_task(
                    tid,
                    TaskState::Killable,
                    Some(tick),
                    "schedule_timeout_killable",
                );
                Fr::Stay(Step::Sleep)
            }
            OomPhase::Slept => Fr::Done(Ret::Int(1), Step::Busy(costs::OOM_STEP_NS)),
        }
    }

    /// `oom_kill_process`: unless the victim is already exiting (then it is
    /// only marked, with no message, as in 4.13), "Out of memory: Kill
    /// process" and `do_send_sig_info(SIGKILL)`, whose
    /// `complete_signal` sets `SIGNAL_GROUP_EXIT` and then posts SIGKILL
    /// thread by thread (the `SendSig` steps).
    fn oom_kill_process(&mut self, tid: Tid, f: &mut OomFrame, v: usize) -> Fr {
        f.victim = v as u32;
        let points = self.oom_badness(v).unwrap_or(0);
        let s = &self.signals[v];
        let (tg, comm) = (s.tgid, s.comm.clone());
        // oom_kill_process: an already exiting victim is only marked.
        let leader = self.signals[v]
            .threads
            .iter()
            .copied()
            .find(|t| self.tasks[*t].state != TaskState::Dead);
        if let Some(l) = leader {
            if self.task_will_free_mem(l) {
                self.mark_oom_victim(l, tid);
                self.queue_oom_reaper(l, tid);
                return Fr::Done(Ret::Int(1), Step::Busy(costs::OOM_MARK_ONLY_NS));
            }
        }
        // 4.13 prints this only after the task_will_free_mem shortcut.
        self.tr(
            tid,
            "oom_kill_process",
            TraceKind::Oom,
            format!(
                "Out of memory: Kill process {tg} ({comm}) score {} or sacrifice child",
                points * 1000 / self.sc.managed_pages as i64
            ),
        );
        f.phase = OomPhase::SendSig;
        f.idx = 0;
        // complete_signal: SIGNAL_GROUP_EXIT first, then each thread.
        self.signals[v].group_exit = true;
        self.record_kill(v, tid);
        Fr::Stay(Step::Busy(costs::POST_ONE_NS))
    }

    fn record_kill(&mut self, victim: usize, killer: Tid) {
        if self.obs.kill_time.is_none() {
            self.obs.kill_time = Some(self.now);
            self.note_positions(victim);
        }
        let s = &self.signals[victim];
        self.obs.kills.push(crate::outcome::KillRec {
            tgid: s.tgid,
            comm: s.comm.clone(),
            t: self.now,
            by: self.tasks[killer].pid,
        });
    }

    /// `oom_reaper`: `wait_event_freezable(oom_reaper_wait, ...)`, take the
    /// next task off `oom_reaper_list`, `oom_reap_task` it.
    pub(crate) fn oom_reaper(&mut self, tid: Tid) -> Fr {
        let Some(tsk) = self.oom.oom_reaper_list.pop_front() else {
            self.sleep_task(tid, TaskState::Interruptible, None, "oom_reaper_wait");
            return Fr::Stay(Step::Sleep);
        };
        let t = &self.tasks[tsk];
        let mm = self.signals[t.sig as usize]
            .oom_mm
            .or(t.mm)
            .unwrap_or(MmId(0));
        let f = OomReapTaskFrame {
            phase: OomReapTaskPhase::Attempt,
            tsk,
            mm,
            attempts: 0,
            blocked_by: Vec::new(),
        };
        Fr::Call(Frame::OomReapTask(f), Step::Busy(costs::REAPER_DEQUEUE_NS))
    }

    /// `oom_reap_task`: the retry loop around `__oom_reap_task_mm`.
    pub(crate) fn oom_reap_task(&mut self, tid: Tid, f: &mut OomReapTaskFrame) -> Fr {
        match f.phase {
            OomReapTaskPhase::Attempt => {
                f.attempts += 1;
                let callee = OomReapTaskMmFrame::new(f.tsk, f.mm, f.attempts);
                Fr::Enter(Frame::OomReapTaskMm(Box::new(callee)))
            }
            OomReapTaskPhase::Returned(false) => {
                // Still the state the trylock failed on: nothing ran since.
                f.blocked_by = self.mmap_sem_users(f.mm);
                // schedule_timeout_idle(HZ/10) follows every failure, the
                // last one included; then the reaper gives up.
                f.phase = if f.attempts >= self.toggles.reap_retries {
                    OomReapTaskPhase::GiveUp
                } else {
                    OomReapTaskPhase::Attempt
                };
                let wait = self.tick_ns * (u64::from(self.sc.scenario.machine.hz) / 10).max(1);
                self.sleep_task(
                    tid,
                    TaskState::Uninterruptible,
                    Some(wait),
                    "schedule_timeout_idle",
                );
                Fr::Stay(Step::Sleep)
            }
            OomReapTaskPhase::GiveUp => {
                let t = &self.tasks[f.tsk];
                let (pid, comm) = (t.pid, t.comm.clone());
                let idx = self.tr(
                    tid,
                    "oom_reap_task",
                    TraceKind::Reap,
                    format!("oom_reaper: unable to reap pid:{pid} ({comm})"),
                );
                let since = self.obs.kill_time.map_or(0, |k| self.now.since(k));
                self.obs.reaper_gave_up.push(crate::outcome::GaveUp {
                    pid,
                    event: idx,
                    t: self.now,
                    since_kill_ns: since,
                    mmap_sem: std::mem::take(&mut f.blocked_by),
                });
                f.phase = OomReapTaskPhase::Done;
                Fr::Stay(Step::Busy(costs::REAPER_GIVE_UP_NS))
            }
            OomReapTaskPhase::Returned(true) | OomReapTaskPhase::Done => {
                self.mms[f.mm].flags |= MMF_OOM_SKIP;
                self.tasks[f.tsk].oom_reaper_queued = false;
                self.tr(
                    tid,
                    "oom_reap_task",
                    TraceKind::Reap,
                    "MMF_OOM_SKIP set".into(),
                );
                let Fr::Stay(step) = self.cond_resched(tid, costs::REAPER_DONE_NS) else {
                    unreachable!("cond_resched stays");
                };
                Fr::Done(Ret::None, step)
            }
        }
    }

    /// `__oom_reap_task_mm`.
    pub(crate) fn __oom_reap_task_mm(&mut self, tid: Tid, f: &mut OomReapTaskMmFrame) -> Fr {
        match f.phase {
            ReapMmPhase::OomLock => {
                f.phase = ReapMmPhase::Trylock;
                locked_or_sleep(
                    !self.toggles.reaper_oom_lock || self.mutex_lock(MutexId::OomLock, tid),
                    costs::REAP_LOCK_NS,
                )
            }
            ReapMmPhase::Trylock => {
                let unfair = self.toggles.reaper_trylock == ReaperTrylock::Unfair;
                let mm = f.mm;
                if !self.down_read_trylock(mm, tid, unfair) {
                    let pid = self.tasks[f.tsk].pid;
                    self.tr(
                        tid,
                        "trace_skip_task_reaping",
                        TraceKind::Reap,
                        format!("{pid} (attempt {})", f.attempt),
                    );
                    self.reaper_unlock(tid);
                    return Fr::Return(Ret::Bool(false));
                }
                let m = &self.mms[mm];
                // 4.14 added the back-off (4d4bbd8526a8); 4.13 __oom_reap_task_mm
                // has no mm_has_notifiers test.
                if m.has_notifiers && self.toggles.reaper_skips_mmu_notifiers {
                    self.up_read(mm, tid);
                    self.tr(
                        tid,
                        "__oom_reap_task_mm",
                        TraceKind::Reap,
                        "mm has MMU notifiers: back off for HZ".into(),
                    );
                    f.phase = ReapMmPhase::NotifierBackoff;
                    let hz = self.tick_ns * u64::from(self.sc.scenario.machine.hz);
                    self.sleep_task(
                        tid,
                        TaskState::Uninterruptible,
                        Some(hz),
                        "schedule_timeout_idle",
                    );
                    return Fr::Stay(Step::Sleep);
                }
                // 4.13: mmget_not_zero fails for an mm already in exit_mmap.
                // 4.14+: exit_mmap sets MMF_OOM_SKIP before it takes the lock.
                let gone = if self.toggles.reaper_mmget {
                    m.flags & MMF_OOM_SKIP != 0 || m.users == 0 || m.dead
                } else {
                    m.flags & MMF_OOM_SKIP != 0
                };
                if gone {
                    self.up_read(mm, tid);
                    self.tr(
                        tid,
                        "trace_skip_task_reaping",
                        TraceKind::Reap,
                        "mm already exiting".into(),
                    );
                    self.reaper_unlock(tid);
                    return Fr::Done(Ret::Bool(true), Step::Busy(costs::REAP_SKIP_NS));
                }
                if self.toggles.reaper_mmget {
                    self.mms[mm].users += 1;
                }
                self.start_reaping(tid, f);
                Fr::Stay(Step::Busy(costs::REAP_START_NS))
            }
            ReapMmPhase::NotifierBackoff => {
                self.reaper_unlock(tid);
                Fr::Done(Ret::Bool(true), Step::Busy(costs::REAP_SKIP_NS))
            }
            ReapMmPhase::Unmap => {
                let mm = f.mm;
                let (gathered, done, cost) = self.zap_mm_batch(mm, &mut f.cursor, false);
                if gathered.is_empty() {
                    if done {
                        return self.reap_finish(tid, f);
                    }
                    return Fr::Stay(Step::Busy(cost));
                }
                // tlb_flush_mmu: shoot down every CPU of the mm, wait, then free.
                let me = self.tasks[tid].cpu;
                self.cpus[me as usize].tlb.retain(|e| e.0 != mm);
                let mask = self.mms[mm].cpumask;
                let mut ack = self.now.after(cost);
                for c in 0..self.cpus.len() as u32 {
                    if c != me && mask & (1u64 << c) != 0 {
                        let at = self.send_ipi(me, c, IpiKind::TlbFlush { mm });
                        ack = ack.max(at.after(costs::TLB_FLUSH_ACK_NS));
                    }
                }
                f.gathered = gathered;
                f.phase = ReapMmPhase::Flushed;
                Fr::Stay(Step::Busy(ack.since(self.now).max(costs::MIN_STEP_NS)))
            }
            ReapMmPhase::Flushed => {
                let n = f.gathered.len() as u64;
                for pfn in f.gathered.drain(..) {
                    self.mem.free_page(pfn);
                }
                f.freed += n;
                self.progress();
                self.tr(
                    tid,
                    "tlb_finish_mmu",
                    TraceKind::Reap,
                    format!("freed {n} pages"),
                );
                if f.cursor == ZapCursor::Done {
                    return self.reap_finish(tid, f);
                }
                f.phase = ReapMmPhase::Unmap;
                Fr::Stay(Step::Busy(costs::REAP_BATCH_NS))
            }
        }
    }

    /// `__mmput` from the reaper's `mmput_async`, in the kworker:
    /// `exit_mmap`, then the mm is gone.
    pub(crate) fn __mmput(&mut self, tid: Tid, f: &mut MmputFrame) -> Fr {
        let mm = f.mm;
        let (_, done, cost) = self.zap_mm_batch(mm, &mut f.cursor, true);
        if !done {
            return Fr::Stay(Step::Busy(cost));
        }
        self.exit_mmap_done(tid, mm, "exit_mmap done (mmput_async)");
        Fr::Done(Ret::None, Step::Busy(cost))
    }

    /// `mmput_async` dropping the last reference: `schedule_work` of the
    /// mm's `async_put_work`.
    fn mmput_async(&mut self, tid: Tid, mm: MmId) {
        let worker = self
            .oom
            .mmput_worker
            .expect("a 4.13 reaper has its kworker");
        self.oom.async_put_work.push_back(mm);
        self.tr(
            tid,
            "mmput_async",
            TraceKind::Reap,
            "last mm_users: __mmput queued to a kworker".into(),
        );
        self.wake_up_queue(worker, "worker_thread", tid);
    }

    /// The kworker's loop: the next queued `__mmput`, or sleep.
    pub(crate) fn mmput_worker(&mut self, tid: Tid) -> Fr {
        let Some(mm) = self.oom.async_put_work.pop_front() else {
            self.sleep_task(tid, TaskState::Interruptible, None, "worker_thread");
            return Fr::Stay(Step::Sleep);
        };
        let f = MmputFrame {
            mm,
            cursor: ZapCursor::START,
        };
        Fr::Call(Frame::Mmput(f), Step::Busy(costs::MMPUT_WORK_NS))
    }

    /// `process_mrelease`: a blocking `mmap_read_lock_killable`, then
    /// `__oom_reap_task_mm` in the caller's context.
    pub(crate) fn process_mrelease(&mut self, tid: Tid, f: &mut ProcessMreleaseFrame) -> Fr {
        match f.phase {
            MreleasePhase::Lock => {
                // mmap_read_lock_killable: blocks behind a queued writer.
                f.phase = MreleasePhase::Locked;
                locked_or_sleep(self.down_read(f.mm, tid), costs::REAP_LOCK_NS)
            }
            MreleasePhase::Locked => {
                let mm = f.mm;
                if self.mms[mm].flags & MMF_OOM_SKIP != 0 {
                    self.up_read(mm, tid);
                    return Fr::Done(Ret::Int(0), Step::Busy(costs::REAP_SKIP_NS));
                }
                let mut callee = OomReapTaskMmFrame::new(f.tsk, mm, 0);
                callee.mrelease = true;
                self.start_reaping(tid, &mut callee);
                Fr::Call(
                    Frame::OomReapTaskMm(Box::new(callee)),
                    Step::Busy(costs::REAP_START_NS),
                )
            }
            MreleasePhase::Returned => Fr::Done(Ret::Int(0), Step::Busy(costs::REAP_RETURN_NS)),
        }
    }

    /// `__oom_reap_task_mm` once `mmap_sem` is held: `MMF_UNSTABLE` before
    /// anything is unmapped.
    fn start_reaping(&mut self, tid: Tid, f: &mut OomReapTaskMmFrame) {
        let mm = f.mm;
        let m = &mut self.mms[mm];
        m.flags |= MMF_UNSTABLE;
        m.unstable_was_set = true;
        f.rss_before = [m.rss_anon, m.rss_file, m.rss_shmem];
        let pid = self.tasks[f.tsk].pid;
        let since = self.obs.kill_time.map_or(0, |k| self.now.since(k));
        let idx = self.tr(
            tid,
            "__oom_reap_task_mm",
            TraceKind::Reap,
            format!(
                "start_task_reaping {pid}: MMF_UNSTABLE set ({} after the kill)",
                fmt_duration(since)
            ),
        );
        if self.obs.unstable_time.is_none() {
            self.obs.unstable_time = Some((self.now, idx));
        }
        // Threads of the victim executing user code right now.
        let running: Vec<Tid> = self
            .cpus
            .iter()
            .filter_map(|c| c.curr)
            .filter(|t| self.tasks[*t].mm == Some(mm) && self.tasks[*t].mode == Mode::User)
            .collect();
        for t in running {
            self.note_user_after_reap(t);
        }
        f.cursor = ZapCursor::START;
        f.freed = 0;
        f.phase = ReapMmPhase::Unmap;
    }

    /// The holders of an mm's `mmap_sem`, then its waiters in queue order.
    fn mmap_sem_users(&self, mm: MmId) -> Vec<crate::outcome::LockUser> {
        let sem = &self.mms[mm].mmap_sem;
        let user = |t: Tid, how: &'static str| {
            let task = &self.tasks[t];
            crate::outcome::LockUser {
                pid: task.pid,
                comm: task.comm.clone(),
                how,
                in_func: task.frames.last().map_or("user mode", |f| f.name()),
            }
        };
        let mut out: Vec<crate::outcome::LockUser> = Vec::new();
        out.extend(sem.writer.map(|w| user(w, "write held")));
        out.extend(sem.reader_tids.iter().map(|r| user(*r, "read held")));
        out.extend(sem.waiters.iter().map(|(t, k)| {
            user(
                *t,
                match k {
                    crate::locking::RwKind::Write => "write queued",
                    crate::locking::RwKind::Read => "read queued",
                },
            )
        }));
        out
    }

    fn reaper_unlock(&mut self, tid: Tid) {
        if self.toggles.reaper_oom_lock {
            self.mutex_unlock(MutexId::OomLock, tid);
        }
    }

    /// The end of the unmap loop: "reaped process", `up_read`, and for the
    /// reaper `mmput_async` (which tears the mm down when it held the last
    /// reference) and `oom_lock` released.
    fn reap_finish(&mut self, tid: Tid, f: &mut OomReapTaskMmFrame) -> Fr {
        let mm = f.mm;
        let t = &self.tasks[f.tsk];
        let (pid, comm) = (t.pid, t.comm.clone());
        let m = &self.mms[mm];
        let rss_after = [m.rss_anon, m.rss_file, m.rss_shmem];
        let kb = PAGE_SIZE / 1024;
        let msg = format!(
            "oom_reaper: reaped process {pid} ({comm}), now anon-rss:{}kB, file-rss:{}kB, shmem-rss:{}kB",
            m.rss_anon * kb,
            m.rss_file * kb,
            m.rss_shmem * kb
        );
        let func = if f.mrelease {
            "process_mrelease"
        } else {
            "__oom_reap_task_mm"
        };
        self.tr(tid, func, TraceKind::Reap, msg);
        self.obs.reaped.push(crate::outcome::Reap {
            pid,
            t: self.now,
            freed: f.freed,
            rss_before: f.rss_before,
            rss_after,
            mrelease: f.mrelease,
        });
        self.up_read(mm, tid);
        if f.mrelease {
            return Fr::Return(Ret::Bool(true));
        }
        if self.toggles.reaper_mmget {
            let m = &mut self.mms[mm];
            m.users -= 1;
            if m.users == 0 {
                self.mmput_async(tid, mm);
            }
        }
        self.reaper_unlock(tid);
        Fr::Done(Ret::Bool(true), Step::Busy(costs::REAP_RETURN_NS))
    }
}
