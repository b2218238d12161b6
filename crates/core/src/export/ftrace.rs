//! A run as ftrace text in `trace-cmd report` layout
//! (`comm-pid [cpu] secs.usecs: event: fields`), with the tracepoint names and
//! `TP_printk` field formats of Linux 4.13 (`include/trace/events/sched.h`,
//! `signal.h`, `oom.h`, `vmscan.h`, `filemap.h`, and x86's
//! `arch/x86/include/asm/trace/irq_vectors.h`), so kernel tools and Perfetto
//! read it as they read a real trace.
//!
//! The run is replayed step by step: `sched_switch` and `sched_wakeup` come
//! from the CPUs' current tasks and the tasks' states before and after each
//! step (the trace records only a switch-in), everything else from the
//! trace records of the step. A record for which 4.13 has no tracepoint
//! becomes `oomlab_<func>: <message>`.
//!
//! Not modelled, so printed as the kernel would for the common case: every
//! task's `prio` is 120 (nice 0; the model has no priorities);
//! `mm_vmscan_direct_reclaim_begin` and `_end` share the time of the
//! model's one reclaim record (the model reclaims in one step and charges
//! the time after it), with `order=0 may_writepage=1 classzone_idx=2`
//! (ZONE_NORMAL) and `gfp_flags` from whether the allocation may enter the
//! filesystem; inode numbers are the file's index in the scenario plus 12
//! (ext4's first regular inode), on device 8:1. `reclaim_retry_zone` comes
//! from the allocation's state around the step that ran
//! `should_reclaim_retry` (the trace has no record of it), for the model's
//! one zone (node 0, `Normal`, order 0), with `reclaimable` and `available`
//! as `should_reclaim_retry` computed them (see `mm/page_alloc.rs`) and
//! `wmark_check` as `available > min`. x86 has no tracepoint for sending an IPI, so the
//! sends are `oomlab_` lines and the deliveries are the vector entry and exit
//! events.

use crate::kernel::sched::TaskState;
use crate::mm::page_alloc::MAX_RECLAIM_RETRIES;
use crate::sim::{Frame, Mode, Sim, Tid};
use crate::trace::TraceRecord;
use crate::{ChoiceSource, ValidScenario};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;

/// `RESCHEDULE_VECTOR` and `CALL_FUNCTION_VECTOR` (x86, 4.13).
const RESCHEDULE_VECTOR: u32 = 0xfd;
const CALL_FUNCTION_VECTOR: u32 = 0xfc;
/// `SI_KERNEL`: the code of a `SEND_SIG_FORCED` signal (the OOM killer's).
const SI_KERNEL: i32 = 0x80;
/// `BUS_ADRERR`: the code of the SIGBUS `do_sigbus` forces on a fault.
const BUS_ADRERR: i32 = 2;
/// `TASK_COMM_LEN - 1`.
const COMM_LEN: usize = 15;

fn comm(s: &str) -> &str {
    match s.char_indices().nth(COMM_LEN) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

/// `prev_state` as 4.13's `sched_switch` prints it: the `__print_flags` of
/// the state bits (`TASK_UNINTERRUPTIBLE|TASK_WAKEKILL` is `D|K`, `TASK_DEAD`
/// is `x`), `R` when running, and `+` for a preemption (`TASK_STATE_MAX`).
fn prev_state(state: TaskState, preempted: bool) -> &'static str {
    match state {
        TaskState::Running if preempted => "R+",
        TaskState::Running => "R",
        TaskState::Interruptible => "S",
        TaskState::Uninterruptible => "D",
        TaskState::Killable => "D|K",
        TaskState::Dead => "x",
    }
}

/// Who a line is for: the header's `comm-pid`.
#[derive(Clone)]
struct Who {
    comm: String,
    pid: u32,
}

impl Who {
    fn idle() -> Who {
        Who {
            comm: "<idle>".into(),
            pid: 0,
        }
    }
}

struct Out {
    s: String,
}

impl Out {
    fn line(&mut self, who: &Who, cpu: u32, ns: u64, event: &str, fields: &str) {
        let _ = writeln!(
            self.s,
            "{:>16}-{:<5} [{:03}] {:>5}.{:06}: {}: {}",
            comm(&who.comm),
            who.pid,
            cpu,
            ns / 1_000_000_000,
            (ns / 1_000) % 1_000_000,
            event,
            fields
        );
    }
}

/// The first decimal number after `after` in `msg`.
fn num_after(msg: &str, after: &str) -> Option<u64> {
    let i = msg.find(after)? + after.len();
    let digits: String = msg[i..]
        .chars()
        .skip_while(|c| *c == ' ')
        .take_while(|c| c.is_ascii_digit())
        .collect();
    digits.parse().ok()
}

fn task_by_pid(sim: &Sim, pid: u32) -> Option<Tid> {
    sim.tasks
        .iter()
        .position(|t| t.pid == pid)
        .map(Tid::from_index)
}

fn who_of(sim: &Sim, tid: Option<Tid>) -> Who {
    match tid {
        Some(t) => {
            let t = &sim.tasks[t];
            Who {
                comm: t.comm.clone(),
                pid: t.pid,
            }
        }
        None => Who::idle(),
    }
}

/// The fields of a task as `next_comm=.. next_pid=.. next_prio=..` name them.
fn task_fields(w: &Who, cpu: u32) -> (String, u32) {
    if w.pid == 0 {
        (format!("swapper/{cpu}"), 0)
    } else {
        (comm(&w.comm).to_string(), w.pid)
    }
}

/// Replays the run and renders it as `trace-cmd report` text.
pub fn ftrace(sc: &ValidScenario, source: ChoiceSource) -> String {
    let mut sim = Sim::new(sc, source);
    let ncpu = sim.cpus.len();
    let mut out = Out {
        s: format!("cpus={ncpu}\n"),
    };
    let mut curr: Vec<Option<Tid>> = sim.cpus.iter().map(|c| c.curr).collect();
    let mut states: Vec<TaskState> = sim.tasks.iter().map(|t| t.state).collect();
    let mut seen_pages: BTreeSet<(usize, u64)> = BTreeSet::new();
    let mut st = Derive::default();
    // Records made while the machine was set up, before any step.
    let boot: Vec<TraceRecord> = sim.trace().to_vec();
    let mut done = boot.len();
    for r in &boot {
        let who = Who::idle();
        st.record(
            &mut out,
            &sim,
            &mut seen_pages,
            r,
            &who,
            r.cpu.unwrap_or(0),
            0,
        );
    }
    loop {
        let ev_cpu = sim.next_event_cpu();
        // The task that will run on that CPU, if its allocation is about to
        // decide whether to retry reclaim.
        let retry_pending = ev_cpu.and_then(|c| sim.cpus[c as usize].curr).filter(|t| {
            matches!(sim.tasks[*t].frames.last(),
                    Some(Frame::Alloc(a)) if a.after_reclaim())
        });
        // Who runs where before the step: the header of a record made by
        // no task (an interrupt) names the interrupted task.
        let before: Vec<Option<Tid>> = curr.clone();
        let more = sim.step();
        let recs: Vec<TraceRecord> = sim.trace().get(done..).unwrap_or(&[]).to_vec();
        done = sim.trace().len();
        let ns = sim.now().ns();

        // Wakeups: a sleeper that is running now.
        let mut wakeups: Vec<(Tid, u32)> = Vec::new();
        for (i, t) in sim.tasks.iter().enumerate() {
            let was = states.get(i).copied().unwrap_or(t.state);
            if was != TaskState::Running && was != TaskState::Dead && t.state == TaskState::Running
            {
                wakeups.push((Tid::from_index(i), t.cpu));
            }
        }
        // Context switches: a CPU whose current task changed.
        let now_curr: Vec<Option<Tid>> = sim.cpus.iter().map(|c| c.curr).collect();
        let mut switches: BTreeMap<u32, (Option<Tid>, Option<Tid>)> = BTreeMap::new();
        for (c, (a, b)) in before.iter().zip(&now_curr).enumerate() {
            if a != b {
                switches.insert(c as u32, (*a, *b));
            }
        }
        // should_reclaim_retry ran in this step if the allocation waited for
        // it before and has decided after: trace_reclaim_retry_zone, unless
        // no_progress_loops ran out first (4.13 returns before the zone loop).
        if let Some(tid) = ev_cpu.and_then(|c| before.get(c as usize).copied().flatten()) {
            let t = &sim.tasks[tid];
            let decided = match t.frames.last() {
                Some(Frame::Alloc(a)) if retry_pending == Some(tid) => a.retry_decided(),
                _ => None,
            };
            if let Some(loops) = decided.filter(|l| *l <= MAX_RECLAIM_RETRIES) {
                let (reclaimable, available) = sim.mem.reclaim_retry_zone(loops);
                let min = sim.mem.wmark.min;
                out.line(
                    &who_of(&sim, Some(tid)),
                    ev_cpu.unwrap_or(0),
                    ns,
                    "reclaim_retry_zone",
                    &format!(
                        "node=0 zone={:<8} order=0 reclaimable={reclaimable} \
                         available={available} min_wmark={min} no_progress_loops={loops} \
                         wmark_check={}",
                        "Normal",
                        u8::from(available > min)
                    ),
                );
            }
        }
        let waker_cpu = ev_cpu.unwrap_or(0);
        let waker = before.get(waker_cpu as usize).copied().flatten();

        let emit_wakeup = |out: &mut Out, sim: &Sim, tid: Tid, target: u32| {
            let w = who_of(sim, waker);
            let t = &sim.tasks[tid];
            out.line(
                &w,
                waker_cpu,
                ns,
                "sched_wakeup",
                &format!(
                    "comm={} pid={} prio=120 target_cpu={:03}",
                    comm(&t.comm),
                    t.pid,
                    target
                ),
            );
        };
        let emit_switch = |out: &mut Out, sim: &Sim, cpu: u32, a: Option<Tid>, b: Option<Tid>| {
            let pw = who_of(sim, a);
            let nw = who_of(sim, b);
            let (pc, pp) = task_fields(&pw, cpu);
            let (nc, np) = task_fields(&nw, cpu);
            let ps = match a {
                Some(t) => {
                    let t = &sim.tasks[t];
                    let to_user = t.mode == Mode::User || t.returning_to_user;
                    prev_state(t.state, !to_user)
                }
                None => "R",
            };
            out.line(
                &pw,
                cpu,
                ns,
                "sched_switch",
                &format!(
                    "prev_comm={pc} prev_pid={pp} prev_prio=120 prev_state={ps} ==> \
                     next_comm={nc} next_pid={np} next_prio=120"
                ),
            );
        };

        for r in &recs {
            // A wakeup goes just before what it leads to: the reschedule IPI
            // to the target CPU, or the target CPU's switch to the woken task.
            let mut k = 0;
            while k < wakeups.len() {
                let (tid, target) = wakeups[k];
                let pid = sim.tasks[tid].pid;
                let leads = (r.func == "smp_send_reschedule"
                    && r.msg.contains(&format!("-> cpu{target},")))
                    || (r.func == "__schedule" && r.cpu == Some(target) && r.pid == Some(pid));
                if leads {
                    emit_wakeup(&mut out, &sim, tid, target);
                    wakeups.remove(k);
                } else {
                    k += 1;
                }
            }
            if r.func == "__schedule" {
                if let Some(c) = r.cpu {
                    if let Some((a, b)) = switches.remove(&c) {
                        emit_switch(&mut out, &sim, c, a, b);
                    }
                }
                continue;
            }
            let cpu = r.cpu.or(ev_cpu).unwrap_or(0);
            let who = match r.pid {
                Some(p) => Who {
                    comm: r.comm.clone(),
                    pid: p,
                },
                None => who_of(&sim, before.get(cpu as usize).copied().flatten()),
            };
            st.record(&mut out, &sim, &mut seen_pages, r, &who, cpu, ns);
        }
        for (tid, target) in wakeups {
            emit_wakeup(&mut out, &sim, tid, target);
        }
        for (c, (a, b)) in switches {
            emit_switch(&mut out, &sim, c, a, b);
        }
        curr = now_curr;
        states = sim.tasks.iter().map(|t| t.state).collect();
        if !more {
            break;
        }
    }
    out.s
}

/// What the mapping of records to tracepoints remembers across records.
#[derive(Default)]
struct Derive {
    /// The victim of the last "Kill process" record: its `signal_wake_up` is
    /// the group send that `signal_generate` reports.
    kill: Option<(u32, String)>,
    /// The task the reaper works on (for a skip whose message has no pid).
    reaping: Option<u32>,
}

impl Derive {
    #[allow(clippy::too_many_arguments)]
    fn record(
        &mut self,
        out: &mut Out,
        sim: &Sim,
        seen_pages: &mut BTreeSet<(usize, u64)>,
        r: &TraceRecord,
        who: &Who,
        cpu: u32,
        ns: u64,
    ) {
        let msg = r.msg.as_str();
        let pid_line = |out: &mut Out, ev: &str, pid: u64| {
            out.line(who, cpu, ns, ev, &format!("pid={pid}"));
        };
        match r.func {
            "oom_kill_process" if msg.starts_with("Out of memory: Kill process") => {
                if let Some(p) = num_after(msg, "Kill process") {
                    let c = msg
                        .split_once('(')
                        .and_then(|(_, rest)| rest.split_once(')'))
                        .map_or(String::new(), |(c, _)| c.to_string());
                    self.kill = Some((p as u32, c));
                }
            }
            "mark_oom_victim" => {
                if let Some(p) = num_after(msg, "->") {
                    return pid_line(out, "mark_victim", p);
                }
            }
            "wake_oom_reaper" => {
                if let Some(p) = num_after(msg, "queued") {
                    self.reaping = Some(p as u32);
                    return pid_line(out, "wake_reaper", p);
                }
            }
            "__oom_reap_task_mm" => {
                if let Some(p) = num_after(msg, "start_task_reaping") {
                    self.reaping = Some(p as u32);
                    return pid_line(out, "start_task_reaping", p);
                }
                // 4.13 traces finish_task_reaping right after this printk.
                if let Some(p) = num_after(msg, "reaped process") {
                    return pid_line(out, "finish_task_reaping", p);
                }
            }
            "trace_skip_task_reaping" => {
                let p = msg
                    .split(' ')
                    .next()
                    .and_then(|w| w.parse::<u64>().ok())
                    .or(self.reaping.map(u64::from));
                if let Some(p) = p {
                    return pid_line(out, "skip_task_reaping", p);
                }
            }
            "signal_wake_up" => {
                // do_send_sig_info(SIGKILL, SEND_SIG_FORCED, victim, true)
                // traces once, for the victim; complete_signal's per-thread
                // wakeups have no tracepoint.
                if let (Some(p), Some((vp, vc))) = (num_after(msg, "->"), self.kill.as_ref()) {
                    if p == u64::from(*vp) && msg.starts_with("SIGKILL") {
                        let line = format!(
                            "sig=9 errno=0 code={SI_KERNEL} comm={} pid={p} grp=1 res=0",
                            comm(vc)
                        );
                        self.kill = None;
                        out.line(who, cpu, ns, "signal_generate", &line);
                        return;
                    }
                }
            }
            "force_sig_info" => {
                if let Some(sig) = num_after(msg, "signal") {
                    let line = format!(
                        "sig={sig} errno=0 code={BUS_ADRERR} comm={} pid={} grp=0 res=0",
                        comm(&who.comm),
                        who.pid
                    );
                    return out.line(who, cpu, ns, "signal_generate", &line);
                }
            }
            "get_signal" => {
                // A SEND_SIG_FORCED signal is dequeued without a siginfo:
                // collect_signal fills in SI_USER; SIGKILL's action is SIG_DFL.
                if let Some(sig) = num_after(msg, "fatal signal") {
                    let line = format!("sig={sig} errno=0 code=0 sa_handler=0 sa_flags=0");
                    return out.line(who, cpu, ns, "signal_deliver", &line);
                }
            }
            "exit_notify" => {
                // do_exit traces sched_process_exit between exit_mm and
                // exit_notify.
                let line = format!("comm={} pid={} prio=120", comm(&who.comm), who.pid);
                out.line(who, cpu, ns, "sched_process_exit", &line);
            }
            "try_to_free_pages" => {
                if let Some(n) = num_after(msg, "reclaimed") {
                    let nofs = r
                        .pid
                        .and_then(|p| task_by_pid(sim, p))
                        .and_then(|t| {
                            sim.tasks[t].frames.iter().rev().find_map(|f| match f {
                                Frame::Alloc(a) => Some(!a.gfp_fs),
                                _ => None,
                            })
                        })
                        .unwrap_or(false);
                    let gfp = if nofs {
                        "GFP_NOFS|__GFP_HIGHMEM|__GFP_MOVABLE"
                    } else {
                        "GFP_HIGHUSER_MOVABLE"
                    };
                    out.line(
                        who,
                        cpu,
                        ns,
                        "mm_vmscan_direct_reclaim_begin",
                        &format!("order=0 may_writepage=1 gfp_flags={gfp} classzone_idx=2"),
                    );
                    out.line(
                        who,
                        cpu,
                        ns,
                        "mm_vmscan_direct_reclaim_end",
                        &format!("nr_reclaimed={n}"),
                    );
                    return;
                }
            }
            "iov_iter_copy_from_user_atomic" => {
                // The page the copy goes to was added to the page cache in
                // write_begin: trace its first appearance, before the copy.
                if let Some((path, off)) = msg
                    .split_once("-> ")
                    .and_then(|(_, t)| t.rsplit_once("@0x"))
                {
                    let off = u64::from_str_radix(off.trim(), 16).ok();
                    let ino = sim.inodes.iter().position(|i| i.path == path);
                    if let (Some(off), Some(ino)) = (off, ino) {
                        let index = off / crate::scenario::PAGE_SIZE;
                        if seen_pages.insert((ino, index)) {
                            if let Some(pg) = sim.inodes[ino].pages.get(&index) {
                                let pfn = u64::from(pg.pfn.0);
                                // vmemmap: struct page is 64 bytes from
                                // 0xffffea0000000000 (x86-64, 4-level).
                                let page = 0xffff_ea00_0000_0000u64 + pfn * 64;
                                out.line(
                                    who,
                                    cpu,
                                    ns,
                                    "mm_filemap_add_to_page_cache",
                                    &format!(
                                        "dev 8:1 ino {:x} page={page:016x} pfn={pfn} ofs={}",
                                        ino + 12,
                                        index * crate::scenario::PAGE_SIZE
                                    ),
                                );
                            }
                        }
                    }
                }
            }
            "scheduler_ipi" => {
                let v = format!("vector={RESCHEDULE_VECTOR}");
                out.line(who, cpu, ns, "reschedule_entry", &v);
                out.line(who, cpu, ns, "reschedule_exit", &v);
                return;
            }
            "flush_tlb_func" => {
                let v = format!("vector={CALL_FUNCTION_VECTOR}");
                out.line(who, cpu, ns, "call_function_entry", &v);
                out.line(who, cpu, ns, &format!("oomlab_{}", r.func), msg);
                out.line(who, cpu, ns, "call_function_exit", &v);
                return;
            }
            _ => {}
        }
        // oomlab's own records (its no-progress detector) carry the prefix.
        let name = if r.func.starts_with("oomlab_") {
            r.func.to_string()
        } else {
            format!("oomlab_{}", r.func)
        };
        out.line(who, cpu, ns, &name, msg);
    }
}
