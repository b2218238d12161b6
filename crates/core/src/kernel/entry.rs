//! The user/kernel boundary (`arch/x86/entry`): running a user program's
//! statements, entering the kernel through syscalls and faults, and
//! `exit_to_usermode_loop` (rescheduling and signal delivery on the way out).
//!
//! A user program's statements are interpreted in user mode; each one is a step.
//! Not modelled: the instruction-level content of user code. A victim thread's
//! user-mode step after `MMF_UNSTABLE` was set counts as `user_ran_after_reap`.

use crate::costs;
use crate::kernel::sched::TaskState;
use crate::kernel::signal::GroupExitFrame;
use crate::mm::memory::{Access, FaultFrame, MmapFrame, MmapWhat, MMF_UNSTABLE};
use crate::program::{BufKind, Op};
use crate::scenario::PAGE_SIZE;
use crate::sim::{
    Frame, Mode, Ret, Sim, Step, Tid, Var, SIGBUS, SIGKILL, TIF_NEED_RESCHED, TIF_SIGPENDING,
};
use crate::time::SimTime;
use crate::trace::TraceKind;

/// How a frame's step ended (the frame protocol: see ARCHITECTURE.md,
/// "Writing a kernel function as a frame").
///
/// The variants with a `Step` end the CPU's step: the task's next step runs
/// after that many ns (or when it is woken). `Enter` and `Return` do not:
/// the callee (or the caller) runs at once, in the same step, so a kernel
/// function can be split into frames without adding a scheduling point.
pub(crate) enum Fr {
    /// The frame stays on top.
    Stay(Step),
    /// The frame stays, and `Frame` is called on top of it; the callee's
    /// first step is the task's next step.
    Call(Frame, Step),
    /// The frame stays, and `Frame` is called on top of it and run now.
    Enter(Frame),
    /// The frame returns a value to its caller, which runs at the task's
    /// next step.
    Done(Ret, Step),
    /// The frame returns a value to its caller, which runs now.
    Return(Ret),
    /// The frame is replaced (a tail call).
    Replace(Frame, Step),
}

/// The end of a step that took a sleeping lock (`mutex_lock`, `down_read`,
/// `down_write`) after setting the phase that runs with it held: busy for
/// `ns` if it was free, else asleep, to be woken with the lock handed over.
pub(crate) fn locked_or_sleep(acquired: bool, ns: u64) -> Fr {
    Fr::Stay(if acquired {
        Step::Busy(ns)
    } else {
        Step::Sleep
    })
}

/// Pages one `touch` step handles when every page faults on the fast path.
const TOUCH_BATCH: u64 = 32;

impl Sim {
    pub(crate) fn task_step(&mut self, tid: Tid) -> Step {
        loop {
            let t = &mut self.tasks[tid];
            let Some(mut f) = t.frames.pop() else {
                return if t.state == TaskState::Dead {
                    Step::Dead
                } else if t.returning_to_user {
                    self.exit_to_usermode_loop(tid)
                } else {
                    self.user_step(tid)
                };
            };
            let r = self.frame_step(tid, &mut f);
            let t = &mut self.tasks[tid];
            match r {
                Fr::Stay(s) => {
                    if t.state != TaskState::Dead {
                        t.frames.push(f);
                    }
                    return s;
                }
                Fr::Call(callee, s) => {
                    t.frames.push(f);
                    t.frames.push(callee);
                    return s;
                }
                Fr::Enter(callee) => {
                    t.frames.push(f);
                    t.frames.push(callee);
                }
                Fr::Done(ret, s) => {
                    self.frame_return(tid, ret);
                    let t = &mut self.tasks[tid];
                    if t.frames.is_empty() && t.kthread.is_none() && t.state != TaskState::Dead {
                        t.returning_to_user = true;
                    }
                    return s;
                }
                Fr::Return(ret) => {
                    assert!(!t.frames.is_empty(), "Fr::Return from a bottom frame");
                    self.frame_return(tid, ret);
                }
                Fr::Replace(nf, s) => {
                    t.frames.push(nf);
                    return s;
                }
            }
        }
    }

    /// One step of a frame: the kernel function it stands for.
    fn frame_step(&mut self, tid: Tid, f: &mut Frame) -> Fr {
        match f {
            Frame::Write(w) => self.generic_perform_write(tid, w),
            Frame::Fault(x) => self.handle_mm_fault(tid, x),
            Frame::Alloc(x) => self.step_alloc(tid, x),
            Frame::Oom(x) => self.out_of_memory(tid, x),
            Frame::GroupExit(x) => self.step_group_exit(tid, x),
            Frame::Exit(x) => self.step_exit(tid, x),
            Frame::Mmap(x) => self.step_mmap(tid, x),
            Frame::Nanosleep { until, started } => self.step_nanosleep(tid, *until, started),
            Frame::BalanceDirty { waited } => self.step_balance_dirty(tid, waited),
            Frame::OomReaper(_) => self.oom_reaper(tid),
            Frame::OomReapTask(x) => self.oom_reap_task(tid, x),
            Frame::OomReapTaskMm(x) => self.__oom_reap_task_mm(tid, x),
            Frame::Mmput(x) => self.__mmput(tid, x),
            Frame::MmputWorker(_) => self.mmput_worker(tid),
            Frame::ProcessMrelease(x) => self.process_mrelease(tid, x),
            Frame::Kswapd(x) => self.step_kswapd(tid, x),
            Frame::Flusher(x) => self.step_flusher(tid, x),
            Frame::ShrinkSlab(x) => self.step_shrink_slab(tid, x),
            Frame::Xlog(x) => self.step_xlog(tid, x),
            Frame::Khugepaged(x) => self.step_khugepaged(tid, x),
            Frame::Journal(x) => self.step_journal(tid, x),
        }
    }

    /// Hands a finished frame's value to its caller, which takes it into its
    /// phase, typed (and panics on a value of the wrong kind). A syscall's
    /// bottom frame returns to user mode, where the value is not looked at.
    fn frame_return(&mut self, tid: Tid, ret: Ret) {
        let t = &mut self.tasks[tid];
        match t.frames.last_mut() {
            None => {}
            Some(Frame::Write(x)) => x.returned(ret),
            Some(Frame::Fault(x)) => x.returned(ret),
            Some(Frame::Alloc(x)) => x.returned(ret),
            Some(Frame::Mmap(x)) => x.returned(ret),
            Some(Frame::Kswapd(x)) => x.returned(ret),
            Some(Frame::Xlog(x)) => x.returned(ret),
            Some(Frame::Khugepaged(x)) => x.returned(ret),
            Some(Frame::Journal(x)) => x.returned(ret),
            Some(Frame::OomReapTask(x)) => x.returned(ret),
            Some(Frame::ProcessMrelease(x)) => x.returned(ret),
            // A caller that takes no value, from a callee that returns none.
            Some(f) => assert!(ret == Ret::None, "{} got a value", f.name()),
        }
    }

    /// `exit_to_usermode_loop`: reschedule, then deliver signals.
    fn exit_to_usermode_loop(&mut self, tid: Tid) -> Step {
        let t = &mut self.tasks[tid];
        if t.tif & TIF_NEED_RESCHED != 0 {
            t.tif &= !TIF_NEED_RESCHED;
            return Step::Yield;
        }
        if t.tif & TIF_SIGPENDING != 0 {
            let group_exit = self.signals[t.sig as usize].group_exit;
            let code = if t.pending & (1 << SIGKILL) != 0 || group_exit {
                Some(SIGKILL)
            } else if t.pending & (1 << SIGBUS) != 0 {
                Some(SIGBUS)
            } else {
                None
            };
            // get_signal dequeues it; recalc_sigpending clears the flag.
            t.pending = 0;
            t.tif &= !TIF_SIGPENDING;
            if let Some(sig) = code {
                self.tr(
                    tid,
                    "get_signal",
                    TraceKind::Signal,
                    format!("fatal signal {sig}: do_group_exit"),
                );
                self.tasks[tid]
                    .frames
                    .push(Frame::GroupExit(GroupExitFrame::new(sig)));
                return Step::Busy(costs::GET_SIGNAL_NS);
            }
        }
        let t = &mut self.tasks[tid];
        t.returning_to_user = false;
        t.mode = Mode::User;
        Step::Busy(costs::RETURN_TO_USER_NS)
    }

    /// Enters the kernel with `frame` as the syscall or fault handler.
    fn enter_kernel(&mut self, tid: Tid, frame: Frame, cost: u64) -> Step {
        let t = &mut self.tasks[tid];
        t.mode = Mode::Kernel;
        t.frames.push(frame);
        Step::Busy(cost)
    }

    /// Executes the user program's next statement.
    fn user_step(&mut self, tid: Tid) -> Step {
        let mm = self.tasks[tid]
            .mm
            .expect("a user task in user mode has an mm");
        if self.mms[mm].flags & MMF_UNSTABLE != 0 {
            self.note_user_after_reap(tid);
        }
        let mut guard = 0;
        loop {
            let u = self.tasks[tid].user.as_mut().expect("user task");
            let pc = u.pc as usize;
            if pc >= u.prog.ops.len() {
                // Falling off the end of the program is exit(0) from main.
                return self.enter_kernel(
                    tid,
                    Frame::GroupExit(GroupExitFrame::new(0)),
                    costs::SYSCALL_NS,
                );
            }
            match u.prog.ops[pc] {
                Op::LoopStart { count, .. } => match count {
                    None => u.pc += 1,
                    Some(c) => {
                        if u.loops[pc] == 0 {
                            u.loops[pc] = c;
                        }
                        u.pc += 1;
                    }
                },
                Op::LoopEnd { start } => {
                    let s = start as usize;
                    let Op::LoopStart { count, end } = u.prog.ops[s] else {
                        unreachable!("LoopEnd points at a LoopStart")
                    };
                    match count {
                        None => u.pc = start + 1,
                        Some(_) => {
                            u.loops[s] -= 1;
                            if u.loops[s] > 0 {
                                u.pc = start + 1;
                            } else {
                                u.pc = end;
                            }
                        }
                    }
                    guard += 1;
                    if guard > 4 {
                        // An empty loop body still burns CPU time.
                        return Step::Busy(costs::EMPTY_LOOP_NS);
                    }
                }
                _ => break,
            }
        }
        let u = self.tasks[tid].user.as_ref().expect("user task");
        let pc = u.pc as usize;
        let op = u.prog.ops[pc].clone();
        match op {
            Op::LoopStart { .. } | Op::LoopEnd { .. } => unreachable!(),
            Op::Buf { var, kind, size } => {
                let len = size.div_ceil(PAGE_SIZE) * PAGE_SIZE;
                if kind == BufKind::Stack {
                    let t = &mut self.tasks[tid];
                    let start = t.stack_start + t.stack_used;
                    t.stack_used += len;
                    let u = t.user.as_mut().expect("user task");
                    u.vars[var as usize] = Var::Mem {
                        start,
                        len: size,
                        fill: 0,
                    };
                    u.pc += 1;
                    Step::Busy(costs::USER_OP_NS)
                } else {
                    self.adv_pc(tid);
                    let what = MmapWhat::Buf(kind);
                    self.enter_kernel(
                        tid,
                        Frame::Mmap(MmapFrame::new(var, what, len, 0, None)),
                        costs::SYSCALL_NS,
                    )
                }
            }
            Op::Map {
                var,
                kind,
                size,
                populate,
                ref path,
            } => {
                self.adv_pc(tid);
                let inode = path.as_ref().map(|p| {
                    let p = self.expand_path(tid, p);
                    self.open_inode(&p)
                });
                let len = size.div_ceil(PAGE_SIZE) * PAGE_SIZE;
                let populate = populate.div_ceil(PAGE_SIZE) * PAGE_SIZE;
                self.enter_kernel(
                    tid,
                    Frame::Mmap(MmapFrame::new(
                        var,
                        MmapWhat::Map(kind),
                        len,
                        populate,
                        inode,
                    )),
                    costs::SYSCALL_NS,
                )
            }
            Op::Munmap { var } => {
                self.adv_pc(tid);
                self.enter_kernel(
                    tid,
                    Frame::Mmap(MmapFrame::new(var, MmapWhat::Unmap, 0, 0, None)),
                    costs::SYSCALL_NS,
                )
            }
            Op::Fill { var, byte } => self.user_fill(tid, var, Some(byte), None),
            Op::Touch { var, chunk } => self.user_fill(tid, var, None, chunk.map(|c| (pc, c))),
            Op::Memcpy { dst, src, len } => self.user_memcpy(tid, dst, src, len),
            Op::Open {
                var,
                ref path,
                append,
            } => {
                let p = self.expand_path(tid, path);
                let inode = self.open_inode(&p);
                let t = &mut self.tasks[tid];
                t.mode = Mode::Kernel;
                t.returning_to_user = true;
                let u = t.user.as_mut().expect("user task");
                u.vars[var as usize] = Var::Fd {
                    inode,
                    append,
                    pos: 0,
                };
                u.pc += 1;
                self.tr(
                    tid,
                    "do_sys_open",
                    TraceKind::Write,
                    format!("{p}{}", if append { " O_APPEND" } else { "" }),
                );
                Step::Busy(costs::OPEN_NS)
            }
            Op::Write { fd, buf, len } => {
                self.adv_pc(tid);
                let u = self.tasks[tid].user.as_ref().expect("user task");
                let (
                    Var::Fd { inode, append, pos },
                    Var::Mem {
                        start,
                        len: blen,
                        fill,
                    },
                ) = (u.vars[fd as usize], u.vars[buf as usize])
                else {
                    // A variable used before its statement ran (e.g. after a failed mmap).
                    return Step::Busy(costs::USER_OP_NS);
                };
                let n = len.unwrap_or(blen);
                // `parse_program` refuses a LEN past any definition of the buffer.
                debug_assert!(n <= blen, "write of {n} bytes from a {blen}-byte buffer");
                let pos = if append {
                    self.inodes[inode].i_size
                } else {
                    pos
                };
                let jitter =
                    u64::from(self.chooser.choose(crate::choice::ChoiceKind::Jitter, 4)) * 150;
                let w = crate::fs::filemap::WriteFrame::new(self, fd, inode, start, n, pos, fill);
                self.enter_kernel(tid, Frame::Write(Box::new(w)), costs::SYSCALL_NS + jitter)
            }
            Op::Sleep { ns } => {
                self.adv_pc(tid);
                let until = self.now.after(ns);
                self.enter_kernel(
                    tid,
                    Frame::Nanosleep {
                        until,
                        started: false,
                    },
                    costs::SYSCALL_NS,
                )
            }
            Op::Spin { ns } => {
                let u = self.tasks[tid].user.as_mut().expect("user task");
                let until = *u.spin_until.get_or_insert(self.now.after(ns));
                if self.now >= until {
                    u.spin_until = None;
                    u.pc += 1;
                    Step::Busy(costs::MIN_STEP_NS)
                } else {
                    Step::Busy(until.since(self.now))
                }
            }
            Op::Kill { ref process } => {
                self.adv_pc(tid);
                let cost = self.sys_kill(tid, process);
                let t = &mut self.tasks[tid];
                t.mode = Mode::Kernel;
                t.returning_to_user = true;
                Step::Busy(costs::SYSCALL_NS + cost)
            }
            Op::ProcessMrelease { ref process } => {
                self.adv_pc(tid);
                let t = &mut self.tasks[tid];
                t.mode = Mode::Kernel;
                t.returning_to_user = true;
                if let Some(frame) = self.sys_process_mrelease(tid, process) {
                    self.tasks[tid].frames.push(frame);
                }
                Step::Busy(costs::SYSCALL_NS)
            }
            Op::ExitGroup { code } => {
                self.adv_pc(tid);
                self.tr(
                    tid,
                    "sys_exit_group",
                    TraceKind::Exit,
                    format!("code {code}"),
                );
                self.enter_kernel(
                    tid,
                    Frame::GroupExit(GroupExitFrame::new(code)),
                    costs::SYSCALL_NS,
                )
            }
        }
    }

    /// `kill(pid, SIGKILL)`: `complete_signal` under `siglock`, every thread
    /// in one go. Returns the cost in ns.
    fn sys_kill(&mut self, tid: Tid, process: &str) -> u64 {
        let Some(v) = self
            .signals
            .iter()
            .position(|s| s.comm == process && s.live > 0)
        else {
            self.tr(
                tid,
                "sys_kill",
                TraceKind::Signal,
                format!("{process}: -ESRCH"),
            );
            return 0;
        };
        let tgid = self.signals[v].tgid;
        self.tr(
            tid,
            "sys_kill",
            TraceKind::Signal,
            format!("SIGKILL -> {tgid} ({process})"),
        );
        if self.obs.kill_time.is_none() {
            self.obs.kill_time = Some(self.now);
            self.note_positions(v);
        }
        self.signals[v].group_exit = true;
        let threads = self.signals[v].threads.clone();
        threads.into_iter().map(|t| self.post_sigkill(t, tid)).sum()
    }

    /// `process_mrelease`: reap a dying process's address space from the
    /// caller's context. The frame that does the work, if any.
    fn sys_process_mrelease(&mut self, tid: Tid, process: &str) -> Option<Frame> {
        let err = |sim: &mut Sim, e: &str| {
            sim.tr(
                tid,
                "process_mrelease",
                TraceKind::Reap,
                format!("{process}: {e}"),
            );
            None
        };
        if !self.toggles.process_mrelease {
            return err(self, "-ENOSYS");
        }
        let Some(v) = self.signals.iter().position(|s| s.comm == process) else {
            return err(self, "-ESRCH");
        };
        // find_lock_task_mm: a thread that still holds the mm.
        let Some(p) = self.signals[v]
            .threads
            .iter()
            .copied()
            .find(|t| self.tasks[*t].mm.is_some())
        else {
            return err(self, "-ESRCH");
        };
        let mm = self.tasks[p].mm.expect("found by its mm");
        if !self.task_will_free_mem(p) {
            let skip = self.mms[mm].flags & crate::mm::memory::MMF_OOM_SKIP != 0;
            return err(
                self,
                if skip {
                    "0 (already reaped)"
                } else {
                    "-EINVAL (not dying)"
                },
            );
        }
        Some(Frame::ProcessMrelease(
            crate::mm::oom_kill::ProcessMreleaseFrame::new(p, mm),
        ))
    }

    fn adv_pc(&mut self, tid: Tid) {
        self.tasks[tid].user.as_mut().expect("user task").pc += 1;
    }

    pub(crate) fn expand_path(&self, tid: Tid, p: &str) -> String {
        let t = &self.tasks[tid];
        let n = t.user.as_ref().map_or(0, |u| u.n);
        p.replace("{n}", &n.to_string())
            .replace("{tid}", &t.pid.to_string())
    }

    /// `fill` (memset of a whole buffer) and `touch` (one store per page), page by
    /// page from the cursor; a missing page enters the fault handler. A chunked
    /// touch (`chunk` = (op index, bytes)) covers the next chunk only.
    fn user_fill(
        &mut self,
        tid: Tid,
        var: u16,
        byte: Option<u8>,
        chunk: Option<(usize, u64)>,
    ) -> Step {
        let u = self.tasks[tid].user.as_ref().expect("user task");
        let Var::Mem { start, len, .. } = u.vars[var as usize] else {
            self.adv_pc(tid);
            return Step::Busy(costs::USER_OP_NS);
        };
        let (from, pages) = match chunk {
            Some((op, c)) => {
                let done = u.touched[op];
                (done / PAGE_SIZE, (done + c).min(len).div_ceil(PAGE_SIZE))
            }
            None => (0, len.div_ceil(PAGE_SIZE)),
        };
        let mut i = u.touch_next.max(from);
        let mut cost = 0;
        let batch = if byte.is_some() { 1 } else { TOUCH_BATCH };
        let mut done_now = 0;
        let mut fast_faults = 0u64;
        let mut first_fault = 0u64;
        while i < pages && done_now < batch {
            let addr = start + i * PAGE_SIZE;
            match self.user_access(tid, addr, true) {
                Access::Page(pfn) => {
                    if let Some(b) = byte {
                        self.mem.fill[pfn] = b;
                        cost += 250;
                    } else {
                        self.mem.fill[pfn] = 0;
                        cost += 20;
                    }
                }
                Access::ZeroPage | Access::Missing => {
                    // The hog's faults are served inline while the fast path can
                    // serve them; anything harder takes the full fault path.
                    if byte.is_none() && self.try_fast_anon_fault(tid, addr) {
                        cost += costs::FAST_FAULT_NS;
                        if fast_faults == 0 {
                            first_fault = i;
                        }
                        fast_faults += 1;
                    } else {
                        self.trace_fast_faults(tid, fast_faults, start + first_fault * PAGE_SIZE);
                        self.tasks[tid].user.as_mut().expect("user task").touch_next = i;
                        let f = FaultFrame::new(addr, true, true);
                        return self.enter_kernel(
                            tid,
                            Frame::Fault(f),
                            cost + costs::FAULT_ENTRY_NS,
                        );
                    }
                }
                Access::Bad => {
                    // SIGSEGV: not modelled beyond killing the group.
                    self.force_sig(tid, SIGBUS);
                    let t = &mut self.tasks[tid];
                    t.mode = Mode::Kernel;
                    t.returning_to_user = true;
                    return Step::Busy(cost + costs::FAULT_ENTRY_NS);
                }
            }
            i += 1;
            done_now += 1;
        }
        self.trace_fast_faults(tid, fast_faults, start + first_fault * PAGE_SIZE);
        let u = self.tasks[tid].user.as_mut().expect("user task");
        if i >= pages {
            u.touch_next = 0;
            u.pc += 1;
            if let Some((op, _)) = chunk {
                u.touched[op] = pages * PAGE_SIZE;
            }
            if let (Some(b), Var::Mem { start, len, .. }) = (byte, u.vars[var as usize]) {
                u.vars[var as usize] = Var::Mem {
                    start,
                    len,
                    fill: b,
                };
            }
        } else {
            u.touch_next = i;
        }
        Step::Busy(cost.max(costs::MIN_STEP_NS))
    }

    fn trace_fast_faults(&mut self, tid: Tid, n: u64, from: u64) {
        if n > 0 {
            let msg = format!("{n} write faults from {from:#x} served on the fast path");
            self.tr(tid, "do_anonymous_page", TraceKind::Fault, msg);
        }
    }

    /// `memcpy(dst, src, len)` in user mode, one page per step.
    fn user_memcpy(&mut self, tid: Tid, dst: u16, src: u16, len: Option<u64>) -> Step {
        let u = self.tasks[tid].user.as_ref().expect("user task");
        let (
            Var::Mem {
                start: d, len: dl, ..
            },
            Var::Mem {
                start: s,
                len: sl,
                fill: sfill,
            },
        ) = (u.vars[dst as usize], u.vars[src as usize])
        else {
            self.adv_pc(tid);
            return Step::Busy(costs::USER_OP_NS);
        };
        let n = len.unwrap_or(sl.min(dl)).min(sl).min(dl);
        let pages = n.div_ceil(PAGE_SIZE);
        let i = u.touch_next;
        if i >= pages {
            let u = self.tasks[tid].user.as_mut().expect("user task");
            u.touch_next = 0;
            u.pc += 1;
            if let Var::Mem { start, len, .. } = u.vars[dst as usize] {
                u.vars[dst as usize] = Var::Mem {
                    start,
                    len,
                    fill: sfill,
                };
            }
            return Step::Busy(costs::USER_OP_NS);
        }
        let sa = s + i * PAGE_SIZE;
        let da = d + i * PAGE_SIZE;
        let value = match self.user_access(tid, sa, false) {
            Access::Page(pfn) => self.mem.fill[pfn],
            Access::ZeroPage => 0,
            Access::Missing => {
                let f = FaultFrame::new(sa, false, true);
                return self.enter_kernel(tid, Frame::Fault(f), costs::FAULT_ENTRY_NS);
            }
            Access::Bad => {
                self.adv_pc(tid);
                return Step::Busy(costs::USER_OP_NS);
            }
        };
        match self.user_access(tid, da, true) {
            Access::Page(pfn) => {
                self.mem.fill[pfn] = value;
                self.store_to_file_page(tid, da, value, sfill);
            }
            Access::ZeroPage | Access::Missing => {
                let f = FaultFrame::new(da, true, true);
                return self.enter_kernel(tid, Frame::Fault(f), costs::FAULT_ENTRY_NS);
            }
            Access::Bad => {}
        }
        self.tasks[tid].user.as_mut().expect("user task").touch_next = i + 1;
        Step::Busy(costs::USER_COPY_PAGE_NS)
    }

    fn step_nanosleep(&mut self, tid: Tid, until: SimTime, started: &mut bool) -> Fr {
        if self.now >= until || (*started && self.tasks[tid].tif & TIF_SIGPENDING != 0) {
            return Fr::Done(Ret::Int(0), Step::Busy(costs::NANOSLEEP_RETURN_NS));
        }
        *started = true;
        self.sleep_task(
            tid,
            TaskState::Interruptible,
            Some(until.since(self.now)),
            "hrtimer_nanosleep",
        );
        Fr::Stay(Step::Sleep)
    }

    pub(crate) fn note_user_after_reap(&mut self, tid: Tid) {
        if self
            .obs
            .user_after_reap
            .iter()
            .any(|e| e.pid == self.tasks[tid].pid)
        {
            return;
        }
        let idx = self.tr(
            tid,
            "user_mode",
            TraceKind::Info,
            "user code runs after MMF_UNSTABLE".into(),
        );
        let since = self.obs.kill_time.map_or(0, |k| self.now.since(k));
        self.obs
            .user_after_reap
            .push(crate::outcome::UserAfterReap {
                pid: self.tasks[tid].pid,
                event: idx,
                t: self.now,
                since_kill_ns: since,
            });
    }
}
