//! The scheduler (`kernel/sched/core.c`): per-CPU runqueues, wakeups, ticks.
//!
//! Not modelled: CFS vruntime and weights (a runqueue is FIFO, and which queued
//! task a CPU picks is a recorded choice), load balancing between CPUs (a woken
//! task goes to an idle CPU if there is one, else back to its previous CPU),
//! kernel preemption (PREEMPT_NONE: a tick or wakeup only sets
//! `TIF_NEED_RESCHED`, honoured at `cond_resched` and on return to user mode).

use crate::choice::ChoiceKind;
use crate::costs;
use crate::program::Program;
use crate::scenario::{ProcessCfg, PAGE_SIZE};
use crate::sim::{
    Cpu, CpuId, Event, Frame, IpiKind, KthreadKind, Mode, SignalStruct, Sim, Step, Task, TaskSnap,
    Tid, UserState, Var, PF_EXITING, PF_KTHREAD, PF_MEMALLOC, TIF_MEMDIE, TIF_NEED_RESCHED,
    TIF_SIGPENDING,
};
use crate::time::SimTime;
use crate::trace::tr;
use crate::trace::TraceKind;
use serde::Serialize;
use std::sync::Arc;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Hash)]
pub enum TaskState {
    #[serde(rename = "TASK_RUNNING")]
    Running,
    #[serde(rename = "TASK_INTERRUPTIBLE")]
    Interruptible,
    #[serde(rename = "TASK_UNINTERRUPTIBLE")]
    Uninterruptible,
    #[serde(rename = "TASK_KILLABLE")]
    Killable,
    #[serde(rename = "TASK_DEAD")]
    Dead,
}

impl Task {
    pub(crate) fn snap(&self) -> TaskSnap {
        let mut flags = Vec::new();
        if self.flags & PF_EXITING != 0 {
            flags.push("PF_EXITING");
        }
        if self.flags & PF_KTHREAD != 0 {
            flags.push("PF_KTHREAD");
        }
        if self.flags & PF_MEMALLOC != 0 {
            flags.push("PF_MEMALLOC");
        }
        if self.tif & TIF_SIGPENDING != 0 {
            flags.push("TIF_SIGPENDING");
        }
        if self.tif & TIF_NEED_RESCHED != 0 {
            flags.push("TIF_NEED_RESCHED");
        }
        if self.tif & TIF_MEMDIE != 0 {
            flags.push("TIF_MEMDIE");
        }
        TaskSnap {
            pid: self.pid,
            tgid: self.tgid,
            comm: self.comm.clone(),
            state: self.state,
            mode: self.mode,
            cpu: self.cpu,
            on_cpu: self.on_cpu,
            flags,
            blocked_on: self.blocked_on,
            kernel_stack: self.frames.iter().map(|f| f.name()).collect(),
        }
    }
}

impl Task {
    /// Where the task is, coarsely: "user mode", or the outermost kernel
    /// activity and its stage ("write_begin", "copy", "do_exit", ...).
    pub fn position(&self) -> String {
        match self.frames.first() {
            None if self.state == TaskState::Dead => "dead".into(),
            None => "user mode".into(),
            Some(Frame::Write(w)) => w.stage().into(),
            Some(f) => f.name().into(),
        }
    }
}

impl Sim {
    fn new_task(&mut self, pid: u32, tgid: u32, comm: &str, kthread: Option<KthreadKind>) -> Tid {
        let tid = Tid::from_index(self.tasks.len());
        self.tasks.push(Task {
            pid,
            tgid,
            comm: comm.to_string(),
            state: TaskState::Running,
            mode: Mode::Kernel,
            cpu: tid.0 % self.cpus.len() as u32,
            on_cpu: false,
            flags: if kthread.is_some() { PF_KTHREAD } else { 0 },
            tif: 0,
            pending: 0,
            kthread,
            sig: u32::MAX,
            mm: None,
            frames: Vec::new(),
            user: None,
            returning_to_user: false,
            sleep_gen: 0,
            blocked_on: None,
            stack_start: 0,
            stack_used: 0,
            ran_since: SimTime::ZERO,
            oom_reaper_queued: false,
            pf_memalloc_pid: Vec::new(),
        });
        tid
    }

    /// Creates the kernel thread of `kind` (see `KthreadKind::spec`), asleep
    /// on its wait queue.
    pub(crate) fn spawn_kthread(&mut self, kind: KthreadKind) -> Tid {
        let pid = 10 + self.tasks.len() as u32;
        self.spawn_kthread_pid(kind, pid)
    }

    /// `spawn_kthread` with the pid given.
    pub(crate) fn spawn_kthread_pid(&mut self, kind: KthreadKind, pid: u32) -> Tid {
        let spec = kind.spec();
        let tid = self.new_task(pid, pid, spec.comm, Some(kind));
        let t = &mut self.tasks[tid];
        t.frames.push(spec.frame);
        t.flags |= spec.flags;
        t.state = TaskState::Interruptible;
        t.blocked_on = Some(spec.wait);
        if kind == KthreadKind::Khugepaged {
            let ns = self.toggles.khugepaged_scan_sleep;
            self.sleep_task(tid, TaskState::Interruptible, Some(ns), "khugepaged_wait");
        }
        tid
    }

    pub(crate) fn spawn_process(&mut self, p: &ProcessCfg, next_pid: &mut u32) {
        let tgid = *next_pid;
        let mm = self.mm_create(tgid, p.mmu_notifier);
        let sig = self.signals.len() as u32;
        self.signals.push(SignalStruct {
            tgid,
            comm: p.name.clone(),
            group_exit: false,
            oom_mm: None,
            oom_score_adj: p.oom_score_adj,
            threads: Vec::new(),
            live: 0,
            shared_pending: 0,
        });
        for t in &p.threads {
            let prog: Arc<Program> = Arc::new(self.sc.programs[&t.program].clone());
            for n in 0..t.count {
                let pid = *next_pid;
                *next_pid += 1;
                let comm = t.name.clone().unwrap_or_else(|| p.name.clone());
                let tid = self.new_task(pid, tgid, &comm, None);
                let stack_start =
                    self.mm_map_stack(mm, p.stack.0, p.stacks == crate::scenario::StackArea::Heap);
                let task = &mut self.tasks[tid];
                task.sig = sig;
                task.mm = Some(mm);
                task.mode = Mode::User;
                task.stack_start = stack_start;
                task.user = Some(UserState {
                    loops: vec![0; prog.ops.len()],
                    vars: vec![Var::Unset; prog.vars.len()],
                    prog: prog.clone(),
                    pc: 0,
                    touch_next: 0,
                    touched: vec![0; prog.ops.len()],
                    spin_until: None,
                    n,
                });
                self.mms[mm].users += 1;
                self.signals[sig as usize].threads.push(tid);
                self.signals[sig as usize].live += 1;
                let cpu = self.tasks[tid].cpu;
                self.cpus[cpu as usize].rq.push_back(tid);
            }
        }
        let _ = PAGE_SIZE;
    }

    pub(crate) fn cpu_of(&self, tid: Tid) -> Option<CpuId> {
        let t = &self.tasks[tid];
        if t.on_cpu {
            Some(t.cpu)
        } else {
            None
        }
    }

    /// Picks the next task for an idle CPU (`__schedule` → `pick_next_task`).
    pub(crate) fn schedule(&mut self, cpu: CpuId) {
        let c = &mut self.cpus[cpu as usize];
        debug_assert!(c.curr.is_none());
        if c.paused_until.is_some() {
            return;
        }
        let n = c.rq.len() as u32;
        if n == 0 {
            return;
        }
        let pick = self.chooser.choose(ChoiceKind::SchedPick, n) as usize;
        let c = &mut self.cpus[cpu as usize];
        let tid = c.rq.remove(pick).expect("picked task is queued");
        c.curr = Some(tid);
        c.gen += 1;
        let gen = c.gen;
        let t = &mut self.tasks[tid];
        t.on_cpu = true;
        t.cpu = cpu;
        t.ran_since = self.now;
        t.tif &= !TIF_NEED_RESCHED;
        // Without PCID, loading another mm's page tables flushes the TLB;
        // kernel threads run on the previous mm lazily.
        if let Some(mm) = t.mm {
            if self.cpus[cpu as usize].active_mm != Some(mm) {
                self.cpus[cpu as usize].tlb.clear();
                self.cpus[cpu as usize].active_mm = Some(mm);
                self.mms[mm].cpumask |= 1u64 << cpu;
            }
        }
        let at = self.now.after(costs::CTX_SWITCH_NS);
        self.cpus[cpu as usize].step_at = at;
        self.push(at, Event::CpuStep { cpu, gen });
        if self.trace_sched() {
            tr!(
                self,
                tid,
                "__schedule",
                TraceKind::Sched,
                "switch to cpu{cpu}"
            );
        }
    }

    fn trace_sched(&self) -> bool {
        true
    }

    /// Runs one step of the CPU's current task and acts on how it ended.
    pub(crate) fn cpu_step(&mut self, cpu: CpuId) {
        let Some(tid) = self.cpus[cpu as usize].curr else {
            return;
        };
        let r = self.task_step(tid);
        match r {
            Step::Busy(ns) => {
                let c = &mut self.cpus[cpu as usize];
                c.gen += 1;
                let gen = c.gen;
                let at = self.now.after(ns.max(1));
                c.step_at = at;
                self.push(at, Event::CpuStep { cpu, gen });
            }
            Step::Sleep | Step::Dead => {
                self.deschedule(cpu, tid);
                self.schedule(cpu);
            }
            Step::Yield => {
                self.deschedule(cpu, tid);
                self.cpus[cpu as usize].rq.push_back(tid);
                self.schedule(cpu);
            }
        }
    }

    fn deschedule(&mut self, cpu: CpuId, tid: Tid) {
        let c = &mut self.cpus[cpu as usize];
        c.curr = None;
        c.gen += 1;
        self.tasks[tid].on_cpu = false;
    }

    /// Puts the task to sleep. Called from inside its own step, which then
    /// returns `Step::Sleep`.
    pub(crate) fn sleep_task(
        &mut self,
        tid: Tid,
        state: TaskState,
        timeout_ns: Option<u64>,
        why: &'static str,
    ) {
        let t = &mut self.tasks[tid];
        t.state = state;
        t.blocked_on = Some(why);
        t.sleep_gen += 1;
        let gen = t.sleep_gen;
        if let Some(ns) = timeout_ns {
            self.push(self.now.after(ns), Event::TimerWake { tid, gen });
        }
    }

    /// `try_to_wake_up`. `waker` is the CPU the waking code runs on (None for a
    /// timer, which fires on the sleeper's own CPU).
    pub(crate) fn wake_up_process(&mut self, tid: Tid, waker: Option<CpuId>) -> bool {
        let t = &mut self.tasks[tid];
        if matches!(t.state, TaskState::Running | TaskState::Dead) {
            return false;
        }
        t.state = TaskState::Running;
        t.blocked_on = None;
        t.sleep_gen += 1;
        let prev = t.cpu;
        let idle = |c: &Cpu| c.curr.is_none() && c.paused_until.is_none() && c.rq.is_empty();
        let target = if idle(&self.cpus[prev as usize]) {
            prev
        } else {
            let idle_cpus: Vec<CpuId> =
                self.cpus.iter().filter(|c| idle(c)).map(|c| c.id).collect();
            if idle_cpus.is_empty() {
                prev
            } else {
                let i = self
                    .chooser
                    .choose(ChoiceKind::WakeCpu, idle_cpus.len() as u32);
                idle_cpus[i as usize]
            }
        };
        self.tasks[tid].cpu = target;
        self.cpus[target as usize].rq.push_back(tid);
        let sender = waker.unwrap_or(prev);
        match self.cpus[target as usize].curr {
            None => {
                if sender == target || waker.is_none() && target == prev {
                    self.schedule(target);
                } else {
                    self.send_ipi(sender, target, IpiKind::Reschedule);
                }
            }
            Some(curr) => {
                // check_preempt_wakeup: a task that slept is owed CPU time.
                self.tasks[curr].tif |= TIF_NEED_RESCHED;
                if sender != target {
                    self.send_ipi(sender, target, IpiKind::Reschedule);
                } else if self.tasks[curr].mode == Mode::User {
                    self.interrupt_user(target);
                }
            }
        }
        true
    }

    pub(crate) fn sleeps_on(&self, tid: Tid, queue: &'static str) -> bool {
        self.tasks[tid].blocked_on == Some(queue)
    }

    /// `wake_up(&queue)`: wakes `tid` only if it sleeps on that wait queue, not
    /// in some other sleep (a timeout, a lock). Returns whether it woke.
    pub(crate) fn wake_up_queue(&mut self, tid: Tid, queue: &'static str, by: Tid) -> bool {
        if !self.sleeps_on(tid, queue) {
            return false;
        }
        let cpu = self.cpu_of(by);
        self.wake_up_process(tid, cpu)
    }

    /// An interrupt arrives while the CPU runs user code: the user step is cut
    /// short and the task goes through `exit_to_usermode_loop`.
    pub(crate) fn interrupt_user(&mut self, cpu: CpuId) {
        let Some(tid) = self.cpus[cpu as usize].curr else {
            return;
        };
        let t = &mut self.tasks[tid];
        if t.mode != Mode::User {
            return;
        }
        t.mode = Mode::Kernel;
        t.returning_to_user = true;
        let c = &mut self.cpus[cpu as usize];
        c.gen += 1;
        let gen = c.gen;
        let at = self.now.after(costs::IRQ_NS);
        c.step_at = at;
        self.push(at, Event::CpuStep { cpu, gen });
    }

    /// `scheduler_tick`, plus the vCPU being descheduled by the host.
    pub(crate) fn tick(&mut self, cpu: CpuId) {
        let next = self.now.after(self.tick_ns);
        if self.cpus[cpu as usize].paused_until.is_some() {
            // A descheduled vCPU takes no ticks; resume re-arms them.
            return;
        }
        self.push(next, Event::Tick { cpu });
        let ppm = self.sc.scenario.machine.vcpu_preempt_ppm;
        if ppm > 0 && self.chooser.chance(ChoiceKind::VcpuPreempt, ppm) {
            self.vcpu_pause(cpu);
            return;
        }
        if !self.xfs.rcu_pending.is_empty() {
            self.rcu_do_batch();
        }
        self.check_hang();
        let Some(tid) = self.cpus[cpu as usize].curr else {
            return;
        };
        let has_waiters = !self.cpus[cpu as usize].rq.is_empty();
        let t = &mut self.tasks[tid];
        if has_waiters && self.now.since(t.ran_since) >= self.tick_ns / 2 {
            t.tif |= TIF_NEED_RESCHED;
        }
        if t.mode == Mode::User && t.tif & (TIF_NEED_RESCHED | TIF_SIGPENDING) != 0 {
            self.interrupt_user(cpu);
        }
    }
}

impl Frame {
    pub(crate) fn name(&self) -> &'static str {
        match self {
            Frame::Write(w) => w.path.name(),
            Frame::Fault(_) => "handle_mm_fault",
            Frame::Alloc(_) => "__alloc_pages_nodemask",
            Frame::Oom(_) => "out_of_memory",
            Frame::GroupExit(_) => "do_group_exit",
            Frame::Exit(_) => "do_exit",
            Frame::Mmap(_) => "do_mmap",
            Frame::Nanosleep { .. } => "hrtimer_nanosleep",
            Frame::BalanceDirty { .. } => "balance_dirty_pages",
            Frame::OomReaper(_) => "oom_reaper",
            Frame::OomReapTask(_) => "oom_reap_task",
            Frame::OomReapTaskMm(_) => "__oom_reap_task_mm",
            Frame::Mmput(_) => "__mmput",
            Frame::MmputWorker(_) => "worker_thread",
            Frame::ProcessMrelease(_) => "process_mrelease",
            Frame::Kswapd(_) => "kswapd",
            Frame::Flusher(_) => "wb_workfn",
            Frame::ShrinkSlab(_) => "shrink_slab",
            Frame::Xlog(_) => "xlog_cil_push_work",
            Frame::Khugepaged(_) => "khugepaged",
            Frame::Journal(j) if j.btrfs => "transaction_kthread",
            Frame::Journal(_) => "kjournald2",
        }
    }
}
