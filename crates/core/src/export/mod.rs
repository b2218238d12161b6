//! Exports of a run's trace for tools outside oomlab: Chrome trace-event JSON
//! (Perfetto, chrome://tracing), ftrace text as `trace-cmd report` prints it
//! (`ftrace.rs`), the CPU-column race diagram of kernel commit messages
//! (`ascii.rs`), and the dmesg-like text.
//!
//! Pure functions of the trace records: no I/O, so the browser can offer the
//! same downloads as the command line.

mod ascii;
mod ftrace;

pub use ascii::{ascii_diagram, last_evidence};
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
/// chrome://tracing open.
///
/// Layout: process 1 "CPUs" has one track per CPU, process 2 "tasks" one track
/// per task; every record is an instant event on its CPU's track and on its
/// task's track, with the message and record index in `args`. An IPI is a
/// 1 ns slice on the sender's CPU at send time and on the target CPU at
/// delivery time, joined by a flow ("s" then "f", same `id`) so the viewer
/// draws the arrow across CPUs: the latency the race lives in.
pub fn chrome_trace(records: &[TraceRecord]) -> String {
    let mut out = String::with_capacity(records.len() * 160 + 256);
    out.push_str("{\"displayTimeUnit\":\"ns\",\"traceEvents\":[\n");
    let mut first = true;

    let mut cpus: BTreeMap<u32, ()> = BTreeMap::new();
    let mut tasks: BTreeMap<u32, &str> = BTreeMap::new();
    for r in records {
        if let Some(c) = r.cpu {
            cpus.insert(c, ());
        }
        if let Some((to, _)) = r.ipi_to {
            cpus.insert(to, ());
        }
        if let Some(p) = r.pid {
            // The first name wins: a task's comm is stable for the run.
            tasks.entry(p).or_insert(&r.comm);
        }
    }
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
    for c in cpus.keys() {
        meta(
            &mut out,
            &mut first,
            "thread_name",
            CHROME_PID_CPUS,
            *c,
            &format!("cpu{c}"),
        );
    }
    for (p, comm) in &tasks {
        meta(
            &mut out,
            &mut first,
            "thread_name",
            CHROME_PID_TASKS,
            *p,
            &format!("{comm}/{p}"),
        );
    }

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
                &mut out,
                &mut first,
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
                &mut out,
                &mut first,
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
                &mut out,
                &mut first,
                Ev {
                    ph: "X",
                    ts: ts(r.t.ns()),
                    pid: CHROME_PID_CPUS,
                    tid: from,
                    name: "ipi send",
                    cat: "ipi",
                    extra: slice(),
                },
            );
            push_ev(
                &mut out,
                &mut first,
                Ev {
                    ph: "s",
                    ts: ts(r.t.ns()),
                    pid: CHROME_PID_CPUS,
                    tid: from,
                    name: "ipi",
                    cat: "ipi",
                    extra: format!(",\"id\":{flow_id}"),
                },
            );
            push_ev(
                &mut out,
                &mut first,
                Ev {
                    ph: "X",
                    ts: ts(at.ns()),
                    pid: CHROME_PID_CPUS,
                    tid: to,
                    name: "ipi delivered",
                    cat: "ipi",
                    extra: slice(),
                },
            );
            push_ev(
                &mut out,
                &mut first,
                Ev {
                    ph: "f",
                    ts: ts(at.ns()),
                    pid: CHROME_PID_CPUS,
                    tid: to,
                    name: "ipi",
                    cat: "ipi",
                    // Bind to the enclosing slice: the "ipi delivered" one.
                    extra: format!(",\"id\":{flow_id},\"bp\":\"e\""),
                },
            );
        }
    }
    out.push_str("\n]}\n");
    out
}
