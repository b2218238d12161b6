//! Signals (`kernel/signal.c`): SIGKILL posting thread by thread, and
//! `do_group_exit` with `zap_other_threads` as separate, interleavable steps.
//!
//! Both loops run under `siglock` with interrupts off, so nothing on the same CPU
//! interleaves with them; but lockless readers on other CPUs
//! (`fatal_signal_pending`, `task_will_free_mem`) can observe them half done.
//! That window is the exit_group race. Not modelled: real-time signals, signal
//! handlers, job control, core dumps (SIGBUS's default action is a group exit).

use crate::costs;
use crate::sim::{Frame, IpiKind, Mode, Sim, Step, Tid, SIGKILL, TIF_SIGPENDING};
use crate::trace::TraceKind;

#[derive(Clone, Debug, Hash)]
pub(crate) struct GroupExitFrame {
    pub code: u32,
    pub phase: GroupExitPhase,
    pub idx: u32,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum GroupExitPhase {
    Start,
    Zap,
}

impl GroupExitFrame {
    pub(crate) fn new(code: u32) -> GroupExitFrame {
        GroupExitFrame {
            code,
            phase: GroupExitPhase::Start,
            idx: 0,
        }
    }
}

impl Sim {
    /// Records where every thread of a group is, for outcome signatures.
    pub(crate) fn note_positions(&mut self, sig: usize) {
        let threads = self.signals[sig].threads.clone();
        self.obs.at_kill = threads
            .iter()
            .map(|t| {
                let task = &self.tasks[*t];
                (task.pid, task.position())
            })
            .collect();
    }

    /// `fatal_signal_pending`: TIF_SIGPENDING and SIGKILL in the *private* set.
    pub(crate) fn fatal_signal_pending(&self, tid: Tid) -> bool {
        let t = &self.tasks[tid];
        t.tif & TIF_SIGPENDING != 0 && t.pending & (1 << SIGKILL) != 0
    }

    /// One thread's share of `complete_signal` / `zap_other_threads`:
    /// `sigaddset(&t->pending.signal, SIGKILL); signal_wake_up(t, 1)`.
    /// Returns the cost in ns: waking a sleeper (`try_to_wake_up`) costs more
    /// than setting a flag.
    pub(crate) fn post_sigkill(&mut self, target: Tid, sender: Tid) -> u64 {
        let sender_cpu = self.cpu_of(sender);
        let t = &mut self.tasks[target];
        if t.state == crate::kernel::sched::TaskState::Dead {
            return 0;
        }
        t.pending |= 1 << SIGKILL;
        t.tif |= TIF_SIGPENDING;
        let pid = t.pid;
        let state = t.state;
        let (on_cpu, cpu, mode) = (t.on_cpu, t.cpu, t.mode);
        self.tr(
            sender,
            "signal_wake_up",
            TraceKind::Signal,
            format!(
                "SIGKILL -> {pid} ({:?}, {})",
                state,
                if on_cpu {
                    format!(
                        "on cpu{cpu} {}",
                        if mode == Mode::User { "user" } else { "kernel" }
                    )
                } else {
                    "off cpu".into()
                }
            ),
        );
        use crate::kernel::sched::TaskState::*;
        match state {
            Interruptible | Killable => {
                // A remote wakeup may send an IPI too; its cost is in costs::TTWU_NS
                // plus the send cost.
                self.wake_up_process(target, sender_cpu);
                return costs::POST_ONE_NS
                    + costs::TTWU_NS
                    + self.sc.scenario.machine.ipi_send_cost.0;
            }
            _ => {
                // kick_process: only a task running on another CPU needs an IPI.
                if on_cpu && Some(cpu) != sender_cpu {
                    let from = sender_cpu.unwrap_or(cpu);
                    self.send_ipi(from, cpu, IpiKind::Reschedule);
                    return costs::POST_ONE_NS + self.sc.scenario.machine.ipi_send_cost.0;
                } else if on_cpu && mode == Mode::User {
                    self.interrupt_user(cpu);
                }
            }
        }
        costs::POST_ONE_NS
    }

    /// Raises a synchronous signal (SIGBUS from a fault) on the current task.
    pub(crate) fn force_sig(&mut self, tid: Tid, sig: u32) {
        let t = &mut self.tasks[tid];
        t.pending |= 1 << sig;
        t.tif |= TIF_SIGPENDING;
        self.tr(
            tid,
            "force_sig_info",
            TraceKind::Signal,
            format!("signal {sig}"),
        );
    }

    /// `complete_signal` for a fatal signal, after `SIGNAL_GROUP_EXIT` was
    /// set: SIGKILL to the group's next live thread from `*idx`. Returns the
    /// step's cost, or None when every thread has it. One thread per step,
    /// so that other CPUs can see the loop half done.
    pub(crate) fn complete_signal(
        &mut self,
        sender: Tid,
        sig: usize,
        idx: &mut u32,
    ) -> Option<u64> {
        self.sigkill_next_thread(sender, sig, idx, None)
    }

    /// `zap_other_threads`: as `complete_signal`, skipping the caller.
    fn zap_other_threads(&mut self, tid: Tid, sig: usize, idx: &mut u32) -> Option<u64> {
        self.sigkill_next_thread(tid, sig, idx, Some(tid))
    }

    fn sigkill_next_thread(
        &mut self,
        sender: Tid,
        sig: usize,
        idx: &mut u32,
        skip: Option<Tid>,
    ) -> Option<u64> {
        let threads = &self.signals[sig].threads;
        while (*idx as usize) < threads.len() {
            let t = threads[*idx as usize];
            *idx += 1;
            if Some(t) != skip && self.tasks[t].state != crate::kernel::sched::TaskState::Dead {
                return Some(self.post_sigkill(t, sender));
            }
        }
        None
    }

    pub(crate) fn step_group_exit(
        &mut self,
        tid: Tid,
        f: &mut GroupExitFrame,
    ) -> crate::kernel::entry::Fr {
        use crate::kernel::entry::Fr;
        let sig = self.tasks[tid].sig as usize;
        match f.phase {
            GroupExitPhase::Start => {
                if self.signals[sig].group_exit || self.signals[sig].live <= 1 {
                    let code = f.code;
                    return Fr::Replace(
                        Frame::Exit(crate::kernel::exit::ExitFrame::new(code)),
                        Step::Busy(costs::GROUP_EXIT_NS),
                    );
                }
                self.signals[sig].group_exit = true;
                // Evidence times are measured from the first fatal signal.
                if self.obs.kill_time.is_none() {
                    self.obs.kill_time = Some(self.now);
                    self.note_positions(sig);
                }
                self.tr(
                    tid,
                    "do_group_exit",
                    TraceKind::Signal,
                    format!("SIGNAL_GROUP_EXIT set (code {})", f.code),
                );
                f.phase = GroupExitPhase::Zap;
                f.idx = 0;
                Fr::Stay(Step::Busy(costs::POST_ONE_NS))
            }
            GroupExitPhase::Zap => {
                if let Some(cost) = self.zap_other_threads(tid, sig, &mut f.idx) {
                    return Fr::Stay(Step::Busy(cost));
                }
                self.tr(tid, "zap_other_threads", TraceKind::Signal, "done".into());
                let code = f.code;
                Fr::Replace(
                    Frame::Exit(crate::kernel::exit::ExitFrame::new(code)),
                    Step::Busy(costs::GROUP_EXIT_NS),
                )
            }
        }
    }
}
