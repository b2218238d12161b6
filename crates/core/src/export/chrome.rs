//! The Chrome trace-event JSON of a run with its schedule, from a replay of
//! the run (like `ftrace.rs`, it reads the simulator's state between steps
//! and changes nothing in the run):
//!
//! - on each CPU's track, complete (`X`) slices for every stint of a task,
//!   one per mode: `a.out/41 user`, `a.out/41 kernel`; they never overlap;
//! - on each task's track, nested slices: `user`, then in the kernel the way
//!   in (`SyS_write`, `SyS_mmap`, `SyS_munmap`, `SyS_nanosleep`,
//!   `SyS_exit_group`, `SyS_process_mrelease`, `page_fault`, or
//!   `exit_to_usermode_loop` after an interrupt or `kill(2)`), and the task's
//!   kernel stack as frames (`__btrfs_buffered_write`, `handle_mm_fault`,
//!   `__alloc_pages_nodemask`, `shrink_slab`, `oom_reap_task`, ...) with the
//!   step of a write (`write_begin`, `iov_iter_copy_from_user_atomic`, ...),
//!   the allocation's `__alloc_pages_slowpath` and
//!   `__alloc_pages_direct_reclaim`, and the reaper's attempts (`attempt N`,
//!   which includes its sleep before the next one);
//! - counter (`C`) tracks in a "memory" process: `nr_free_pages`, the zone's
//!   `wmark_min`/`wmark_low`/`wmark_high`, `nr_dirty`, `nr_writeback` (the
//!   scenario's files) and `rss comm/tgid` per process, in pages, sampled
//!   after every step and written when they change;
//! - the trace records and IPI flows of [`super::chrome_trace`];
//! - metadata: the scenario title, model version, permalink, seed and
//!   outcomes in `otherData`, and sort indices that put the CPUs first,
//!   then the tasks, then the counters.
//!
//! Not shown: what happens inside one step (a frame pushed and popped by the
//! same step has no slice, and a slice of zero length is left out), time on
//! a CPU that no task holds (idle), and interrupt handlers' time (an IPI is
//! a 1 ns slice on its CPU's IPI track).

use super::{
    ipi_tid, json_str, meta, push_ev, record_events, ts, Ev, CHROME_PID_CPUS, CHROME_PID_TASKS,
};
use crate::kernel::sched::TaskState;
use crate::sim::{Frame, Mode, Sim, Task, Tid};
use crate::{ChoiceSource, ValidScenario};
use std::collections::BTreeMap;
use std::fmt::Write;

/// Trace-event "process" that holds the counter tracks.
pub const CHROME_PID_MEMORY: u32 = 3;

/// A complete slice, written once it is closed.
struct Slice {
    start: u64,
    dur: u64,
    pid: u32,
    tid: u32,
    depth: u32,
    name: String,
    cat: &'static str,
}

/// What a task's track shows at one moment, outermost first.
fn layers(t: &Task, prev: &[(String, u64)]) -> Vec<String> {
    let mut v: Vec<String> = Vec::new();
    if t.state == TaskState::Dead {
        return v;
    }
    if t.kthread.is_none() {
        if t.mode == Mode::User {
            v.push("user".into());
            return v;
        }
        // The way into the kernel is fixed when the task enters it: a
        // syscall's frames pop before the return to user mode, and the
        // exit after a signal starts inside an earlier entry.
        match prev.first() {
            Some((name, _)) if name != "user" => v.push(name.clone()),
            _ => v.push(entry_of(t).into()),
        }
    }
    for f in &t.frames {
        v.push(f.name().into());
        match f {
            Frame::Write(w) => v.push(w.stage().into()),
            Frame::Alloc(a) => v.extend(a.slow_path_stages().iter().map(|s| s.to_string())),
            Frame::OomReapTask(r) if r.attempts() > 0 => {
                v.push(format!("attempt {}", r.attempts()));
            }
            _ => {}
        }
    }
    v
}

/// How a user task entered the kernel, judged by its outermost frame.
pub(super) fn entry_of(t: &Task) -> &'static str {
    match t.frames.first() {
        Some(Frame::Write(_)) => "SyS_write",
        Some(Frame::Mmap(m)) if m.is_unmap() => "SyS_munmap",
        Some(Frame::Mmap(_)) => "SyS_mmap",
        Some(Frame::Nanosleep { .. }) => "SyS_nanosleep",
        Some(Frame::GroupExit(_)) => "SyS_exit_group",
        Some(Frame::ProcessMrelease(_)) => "SyS_process_mrelease",
        Some(Frame::Fault(_)) => "page_fault",
        _ => "exit_to_usermode_loop",
    }
}

fn cat_of(name: &str) -> &'static str {
    match name {
        "user" => "user",
        n if n.starts_with("SyS_") => "syscall",
        _ => "kernel",
    }
}

/// The replay's bookkeeping: open slices per task and per CPU, last counter
/// values, and what has been written.
struct Rec {
    slices: Vec<Slice>,
    open: Vec<Vec<(String, u64)>>,
    cpu_open: Vec<Option<(u32, Mode, u64, String)>>,
    counters: BTreeMap<String, u64>,
    counter_evs: Vec<(u64, String, u64)>,
}

impl Rec {
    fn task(&mut self, sim: &Sim, tid: Tid, now: u64) {
        let t = &sim.tasks[tid];
        let open = &mut self.open[tid.index()];
        // A user task that stays in user mode: `layers` would build the one
        // layer already open. Checked first because most steps of a long run
        // find most CPUs' tasks so, and building the layers of every task on
        // a CPU at every step cost 70 times the run itself.
        if t.state != TaskState::Dead
            && t.kthread.is_none()
            && t.mode == Mode::User
            && matches!(open.as_slice(), [(name, _)] if name == "user")
        {
            return;
        }
        let want = layers(t, open);
        let keep = open
            .iter()
            .zip(&want)
            .take_while(|((a, _), b)| a == *b)
            .count();
        while open.len() > keep {
            let depth = open.len() as u32 - 1;
            let (name, start) = open.pop().expect("non-empty");
            if now > start {
                self.slices.push(Slice {
                    start,
                    dur: now - start,
                    pid: CHROME_PID_TASKS,
                    tid: t.pid,
                    depth,
                    cat: cat_of(&name),
                    name,
                });
            }
        }
        for name in want.into_iter().skip(keep) {
            open.push((name, now));
        }
    }

    fn cpus(&mut self, sim: &Sim, now: u64, end: bool) {
        for (c, cpu) in sim.cpus.iter().enumerate() {
            let cur = if end {
                None
            } else {
                cpu.curr.map(|t| {
                    let t = &sim.tasks[t];
                    (t.pid, t.mode, &t.comm)
                })
            };
            let same = match (&self.cpu_open[c], cur) {
                (Some((p, m, _, _)), Some((p2, m2, _))) => *p == p2 && *m == m2,
                (None, None) => true,
                _ => false,
            };
            if same {
                continue;
            }
            if let Some((_, mode, start, name)) = self.cpu_open[c].take() {
                if now > start {
                    self.slices.push(Slice {
                        start,
                        dur: now - start,
                        pid: CHROME_PID_CPUS,
                        tid: c as u32,
                        depth: 0,
                        name,
                        cat: if mode == Mode::User { "user" } else { "kernel" },
                    });
                }
            }
            self.cpu_open[c] = cur.map(|(p, m, comm)| {
                let mode = if m == Mode::User { "user" } else { "kernel" };
                (p, m, now, format!("{comm}/{p} {mode}"))
            });
        }
    }

    fn counter(&mut self, now: u64, name: &str, v: u64, force: bool) {
        if !force && self.counters.get(name) == Some(&v) {
            return;
        }
        self.counters.insert(name.to_string(), v);
        self.counter_evs.push((now, name.to_string(), v));
    }

    fn counters(&mut self, sim: &Sim, now: u64, force: bool) {
        let w = sim.mem.wmark;
        self.counter(now, "nr_free_pages", sim.mem.nr_free(), force);
        self.counter(now, "wmark_min", w.min, force);
        self.counter(now, "wmark_low", w.low, force);
        self.counter(now, "wmark_high", w.high, force);
        self.counter(now, "nr_dirty", sim.mem.nr_dirty, force);
        self.counter(now, "nr_writeback", sim.mem.nr_writeback, force);
        for mm in &sim.mms {
            let comm = sim
                .signals
                .iter()
                .find(|s| s.tgid == mm.owner_tgid)
                .map_or("?", |s| s.comm.as_str());
            let name = format!("rss {comm}/{}", mm.owner_tgid);
            self.counter(now, &name, mm.rss(), force);
        }
    }
}

fn sort_meta(out: &mut String, first: &mut bool, what: &str, pid: u32, tid: u32, idx: u32) {
    push_ev(
        out,
        first,
        Ev {
            ph: "M",
            ts: "0".into(),
            pid,
            tid,
            name: what,
            cat: "",
            extra: format!(",\"args\":{{\"sort_index\":{idx}}}"),
        },
    );
}

/// Replays the run and renders it as Chrome trace-event JSON with the
/// schedule, the kernel functions, the counters and the run's metadata.
pub fn chrome_trace_run(sc: &ValidScenario, source: ChoiceSource) -> String {
    let mut sim = Sim::new(sc, source.clone());
    let mut rec = Rec {
        slices: Vec::new(),
        open: vec![Vec::new(); sim.tasks.len()],
        cpu_open: vec![None; sim.cpus.len()],
        counters: BTreeMap::new(),
        counter_evs: Vec::new(),
    };
    let now = sim.now().ns();
    for tid in 0..sim.tasks.len() {
        rec.task(&sim, Tid::from_index(tid), now);
    }
    rec.cpus(&sim, now, false);
    rec.counters(&sim, now, true);
    // A task's frames and mode change only while it runs: each step looks
    // at the tasks that held a CPU before or after it, in tid order. The
    // CPUs' tasks change far less often than every step, so their sorted
    // list is kept from step to step instead of being rebuilt (rebuilding a
    // set of them at every step cost more than the step).
    let sorted = |v: &[Option<Tid>]| {
        let mut s: Vec<Tid> = v.iter().flatten().copied().collect();
        s.sort_unstable();
        s.dedup();
        s
    };
    let mut before: Vec<Option<Tid>> = sim.cpus.iter().map(|c| c.curr).collect();
    let mut before_sorted = sorted(&before);
    let mut after: Vec<Option<Tid>> = Vec::with_capacity(before.len());
    let mut both: Vec<Option<Tid>> = Vec::new();
    loop {
        let more = sim.step();
        after.clear();
        after.extend(sim.cpus.iter().map(|c| c.curr));
        if rec.open.len() < sim.tasks.len() {
            rec.open.resize(sim.tasks.len(), Vec::new());
        }
        let union;
        let touched: &[Tid] = if after == before {
            &before_sorted
        } else {
            both.clear();
            both.extend(before.iter().chain(&after).copied());
            union = sorted(&both);
            std::mem::swap(&mut before, &mut after);
            before_sorted = sorted(&before);
            &union
        };
        let now = sim.now().ns();
        for &tid in touched {
            rec.task(&sim, tid, now);
        }
        rec.cpus(&sim, now, false);
        rec.counters(&sim, now, false);
        if !more {
            break;
        }
    }
    let end = sim.now().ns();
    // Everything still open ends with the run.
    for (tid, open) in rec.open.iter_mut().enumerate() {
        let pid = sim.tasks[tid].pid;
        while let Some((name, start)) = open.pop() {
            if end > start {
                rec.slices.push(Slice {
                    start,
                    dur: end - start,
                    pid: CHROME_PID_TASKS,
                    tid: pid,
                    depth: open.len() as u32,
                    cat: cat_of(&name),
                    name,
                });
            }
        }
    }
    rec.cpus(&sim, end, true);
    rec.counters(&sim, end, true);
    let result = sim.finish();

    let records = sim.trace();
    let mut out = String::with_capacity(records.len() * 200 + rec.slices.len() * 120 + 4096);
    out.push_str("{\"displayTimeUnit\":\"ns\",\"traceEvents\":[\n");
    let mut first = true;
    meta(
        &mut out,
        &mut first,
        "process_name",
        CHROME_PID_CPUS,
        0,
        "CPUs",
    );
    meta(
        &mut out,
        &mut first,
        "process_name",
        CHROME_PID_TASKS,
        0,
        "tasks",
    );
    meta(
        &mut out,
        &mut first,
        "process_name",
        CHROME_PID_MEMORY,
        0,
        "memory",
    );
    for (i, pid) in [CHROME_PID_CPUS, CHROME_PID_TASKS, CHROME_PID_MEMORY]
        .into_iter()
        .enumerate()
    {
        sort_meta(&mut out, &mut first, "process_sort_index", pid, 0, i as u32);
    }
    for c in 0..sim.cpus.len() as u32 {
        let name = format!("cpu{c}");
        meta(
            &mut out,
            &mut first,
            "thread_name",
            CHROME_PID_CPUS,
            c,
            &name,
        );
        sort_meta(
            &mut out,
            &mut first,
            "thread_sort_index",
            CHROME_PID_CPUS,
            c,
            c,
        );
        let name = format!("cpu{c} IPIs");
        let t = ipi_tid(c);
        meta(
            &mut out,
            &mut first,
            "thread_name",
            CHROME_PID_CPUS,
            t,
            &name,
        );
        sort_meta(
            &mut out,
            &mut first,
            "thread_sort_index",
            CHROME_PID_CPUS,
            t,
            t,
        );
    }
    for t in &sim.tasks {
        let name = format!("{}/{}", t.comm, t.pid);
        meta(
            &mut out,
            &mut first,
            "thread_name",
            CHROME_PID_TASKS,
            t.pid,
            &name,
        );
        sort_meta(
            &mut out,
            &mut first,
            "thread_sort_index",
            CHROME_PID_TASKS,
            t.pid,
            t.pid,
        );
    }

    // Parents before their children: a viewer that reads slices in order
    // nests equal starts by the order it meets them.
    rec.slices.sort_by_key(|s| (s.start, s.pid, s.tid, s.depth));
    for s in &rec.slices {
        push_ev(
            &mut out,
            &mut first,
            Ev {
                ph: "X",
                ts: ts(s.start),
                pid: s.pid,
                tid: s.tid,
                name: &s.name,
                cat: s.cat,
                extra: format!(",\"dur\":{}", ts(s.dur)),
            },
        );
    }
    for (t, name, v) in &rec.counter_evs {
        push_ev(
            &mut out,
            &mut first,
            Ev {
                ph: "C",
                ts: ts(*t),
                pid: CHROME_PID_MEMORY,
                tid: 0,
                name,
                cat: "memory",
                extra: format!(",\"args\":{{\"pages\":{v}}}"),
            },
        );
    }
    record_events(&mut out, &mut first, records);
    out.push_str("\n],\"otherData\":{\"title\":");
    json_str(&mut out, &sc.scenario.title);
    let _ = write!(
        out,
        ",\"model_version\":\"{}\",\"seed\":\"{}\",\"permalink\":",
        crate::MODEL_VERSION,
        source.seed()
    );
    json_str(
        &mut out,
        &crate::permalink::Permalink::new(sc, source).encode(),
    );
    let codes: Vec<&str> = result.outcomes.iter().map(|o| o.code()).collect();
    out.push_str(",\"outcomes\":");
    json_str(&mut out, &codes.join(", "));
    let _ = writeln!(
        out,
        ",\"end\":\"{:?}\",\"steps\":\"{}\",\"trace_records\":\"{}\"}}}}",
        result.end, result.steps, result.trace_len
    );
    out
}
