//! Exports of a run's trace for tools outside oomlab: Chrome trace-event JSON
//! (Perfetto, chrome://tracing; `chrome.rs` for the replayed run's schedule,
//! kernel functions and counters), ftrace text as `trace-cmd report` prints it
//! (`ftrace.rs`), the CPU-column race diagram of kernel commit messages
//! (`ascii.rs`), the dmesg a bug report would carry (`dmesg.rs`: printk lines
//! only, with the OOM killer's `dump_header`), and the dmesg-like text of
//! every record.
//!
//! Pure functions of the trace records, or of a replay of the run that
//! changes nothing in it: no I/O, so the browser can offer the
//! same downloads as the command line.

mod ascii;
mod chrome;
mod dmesg;
mod ftrace;

pub use ascii::{ascii_diagram, last_evidence};
pub use chrome::{chrome_trace_run, CHROME_PID_MEMORY};
pub use dmesg::dmesg;
pub use ftrace::ftrace;

use crate::trace::{TraceKind, TraceRecord};
use std::collections::BTreeMap;
use std::fmt::Write;

/// Trace-event "process" that holds one track (tid) per CPU.
pub const CHROME_PID_CPUS: u32 = 1;
/// Trace-event "process" that holds one track (tid) per task.
pub const CHROME_PID_TASKS: u32 = 2;

/// The dmesg-like text form (the same as the golden traces).
pub fn text(records: &[TraceRecord]) -> String {
    crate::trace::trace_text(records)
}

fn json_str(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Trace-event timestamps are microseconds; simulated time is nanoseconds, and
/// IPIs land within a few µs, so keep the nanoseconds as a fraction.
fn ts(ns: u64) -> String {
    format!("{}.{:03}", ns / 1000, ns % 1000)
}

fn kind_name(k: TraceKind) -> &'static str {
    match k {
        TraceKind::Sched => "sched",
        TraceKind::Ipi => "ipi",
        TraceKind::Lock => "lock",
        TraceKind::Fault => "fault",
        TraceKind::Alloc => "alloc",
        TraceKind::Reclaim => "reclaim",
        TraceKind::Oom => "oom",
        TraceKind::Reap => "reap",
        TraceKind::Signal => "signal",
        TraceKind::Copy => "copy",
        TraceKind::Write => "write",
        TraceKind::Exit => "exit",
        TraceKind::Writeback => "writeback",
        TraceKind::Tlb => "tlb",
        TraceKind::Info => "info",
    }
}

struct Ev<'a> {
    ph: &'a str,
    ts: String,
    pid: u32,
    tid: u32,
    name: &'a str,
    cat: &'a str,
    extra: String,
}

fn push_ev(out: &mut String, first: &mut bool, e: Ev<'_>) {
    if !*first {
        out.push_str(",\n");
    }
    *first = false;
    out.push_str("{\"ph\":");
    json_str(out, e.ph);
    let _ = write!(
        out,
        ",\"ts\":{},\"pid\":{},\"tid\":{},\"name\":",
        e.ts, e.pid, e.tid
    );
    json_str(out, e.name);
    if !e.cat.is_empty() {
        out.push_str(",\"cat\":");
        json_str(out, e.cat);
    }
    out.push_str(&e.extra);
    out.push('}');
}

fn meta(out: &mut String, first: &mut bool, what: &str, pid: u32, tid: u32, name: &str) {
    let mut extra = String::from(",\"args\":{\"name\":");
    json_str(&mut extra, name);
    extra.push('}');
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
            extra,
        },
    );
}

/// Chrome trace-event JSON (the "JSON Object Format") that Perfetto and
/// chrome://tracing open, from the trace records alone.
///
/// Layout: process 1 "CPUs" has one track per CPU, process 2 "tasks" one track
/// per task; every record is an instant event on its CPU's track and on its
/// task's track, with the message and record index in `args`. An IPI is a
/// 1 ns slice on the sender's and on the target's IPI track (a track per CPU
/// after the CPU tracks) at send and at delivery time, joined by a flow ("s"
/// then "f", same `id`) so the viewer draws the arrow across CPUs: the latency
/// the race lives in. [`chrome_trace_run`] adds the schedule, the kernel
/// functions, the counters and the run's metadata from a replay.
pub fn chrome_trace(records: &[TraceRecord]) -> String {
    let mut out = String::with_capacity(records.len() * 160 + 256);
    out.push_str("{\"displayTimeUnit\":\"ns\",\"traceEvents\":[\n");
    let mut first = true;
    record_tracks(&mut out, &mut first, records);
    record_events(&mut out, &mut first, records);
    out.push_str("\n]}\n");
    out
}

/// The tid of CPU `c`'s IPI track in the CPUs process.
pub(crate) fn ipi_tid(c: u32) -> u32 {
    CHROME_IPI_TID_BASE + c
}

/// IPI tracks are `CHROME_IPI_TID_BASE + cpu` in the CPUs process, so that
/// the 1 ns IPI slices never overlap a task's slice on the CPU's own track.
pub const CHROME_IPI_TID_BASE: u32 = 1000;

/// Names the CPU, IPI and task tracks the records use.
fn record_tracks(out: &mut String, first: &mut bool, records: &[TraceRecord]) {
    let mut cpus: BTreeMap<u32, ()> = BTreeMap::new();
    let mut ipi_cpus: BTreeMap<u32, ()> = BTreeMap::new();
    let mut tasks: BTreeMap<u32, &str> = BTreeMap::new();
    for r in records {
        if let Some(c) = r.cpu {
            cpus.insert(c, ());
        }
        if let (Some(c), Some((to, _))) = (r.cpu, r.ipi_to) {
            cpus.insert(to, ());
            ipi_cpus.insert(c, ());
            ipi_cpus.insert(to, ());
        }
        if let Some(p) = r.pid {
            // The first name wins: a task's comm is stable for the run.
            tasks.entry(p).or_insert(&r.comm);
        }
    }
    meta(out, first, "process_name", CHROME_PID_CPUS, 0, "CPUs");
    meta(out, first, "process_name", CHROME_PID_TASKS, 0, "tasks");
    for c in cpus.keys() {
        meta(
            out,
            first,
            "thread_name",
            CHROME_PID_CPUS,
            *c,
            &format!("cpu{c}"),
        );
    }
    for c in ipi_cpus.keys() {
        meta(
            out,
            first,
            "thread_name",
            CHROME_PID_CPUS,
            ipi_tid(*c),
            &format!("cpu{c} IPIs"),
        );
    }
    for (p, comm) in &tasks {
        meta(
            out,
            first,
            "thread_name",
            CHROME_PID_TASKS,
            *p,
            &format!("{comm}/{p}"),
        );
    }
}

/// Every record as instants on its CPU's and its task's track, and IPIs as
/// slices joined by flows.
fn record_events(out: &mut String, first: &mut bool, records: &[TraceRecord]) {
    let mut flow_id = 0u64;
    for r in records {
        let mut args = String::from(",\"s\":\"t\",\"args\":{\"msg\":");
        json_str(&mut args, &r.msg);
        let _ = write!(args, ",\"idx\":{}", r.idx);
        if let Some(p) = r.pid {
            args.push_str(",\"task\":");
            json_str(&mut args, &format!("{}/{}", r.comm, p));
        }
        args.push('}');
        let cat = kind_name(r.kind);
        if let Some(c) = r.cpu {
            push_ev(
                out,
                first,
                Ev {
                    ph: "i",
                    ts: ts(r.t.ns()),
                    pid: CHROME_PID_CPUS,
                    tid: c,
                    name: r.func,
                    cat,
                    extra: args.clone(),
                },
            );
        }
        if let Some(p) = r.pid {
            push_ev(
                out,
                first,
                Ev {
                    ph: "i",
                    ts: ts(r.t.ns()),
                    pid: CHROME_PID_TASKS,
                    tid: p,
                    name: r.func,
                    cat,
                    extra: args,
                },
            );
        }
        if let (Some(from), Some((to, at))) = (r.cpu, r.ipi_to) {
            flow_id += 1;
            let slice = || {
                let mut x = String::from(",\"dur\":0.001,\"args\":{\"msg\":");
                json_str(&mut x, &r.msg);
                let _ = write!(x, ",\"idx\":{}}}", r.idx);
                x
            };
            push_ev(
                out,
                first,
                Ev {
                    ph: "X",
                    ts: ts(r.t.ns()),
                    pid: CHROME_PID_CPUS,
                    tid: ipi_tid(from),
                    name: "ipi send",
                    cat: "ipi",
                    extra: slice(),
                },
            );
            push_ev(
                out,
                first,
                Ev {
                    ph: "s",
                    ts: ts(r.t.ns()),
                    pid: CHROME_PID_CPUS,
                    tid: ipi_tid(from),
                    name: "ipi",
                    cat: "ipi",
                    extra: format!(",\"id\":{flow_id}"),
                },
            );
            push_ev(
                out,
                first,
                Ev {
                    ph: "X",
                    ts: ts(at.ns()),
                    pid: CHROME_PID_CPUS,
                    tid: ipi_tid(to),
                    name: "ipi delivered",
                    cat: "ipi",
                    extra: slice(),
                },
            );
            push_ev(
                out,
                first,
                Ev {
                    ph: "f",
                    ts: ts(at.ns()),
                    pid: CHROME_PID_CPUS,
                    tid: ipi_tid(to),
                    name: "ipi",
                    cat: "ipi",
                    // Bind to the enclosing slice: the "ipi delivered" one.
                    extra: format!(",\"id\":{flow_id},\"bp\":\"e\""),
                },
            );
        }
    }
}
