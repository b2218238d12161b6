//! The trace: structured records for the UI, with a stable dmesg-like text form
//! for golden tests.

use crate::time::SimTime;
use serde::Serialize;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TraceKind {
    Sched,
    Ipi,
    Lock,
    Fault,
    Alloc,
    Reclaim,
    Oom,
    Reap,
    Signal,
    Copy,
    Write,
    Exit,
    Writeback,
    Tlb,
    Info,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TraceRecord {
    /// Index of this record in the trace.
    pub idx: u64,
    pub t: SimTime,
    pub cpu: Option<u32>,
    pub pid: Option<u32>,
    pub comm: String,
    /// Kernel function the record comes from.
    pub func: &'static str,
    pub kind: TraceKind,
    pub msg: String,
    /// For IPIs: the target CPU and the delivery time.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ipi_to: Option<(u32, SimTime)>,
}

impl TraceRecord {
    /// `[    0.001234] cpu3 a.out/12 oom_kill_process: Killed process 41 (a.out)`
    pub fn to_line(&self) -> String {
        let cpu = match self.cpu {
            Some(c) => format!("cpu{c}"),
            None => "-".to_string(),
        };
        let who = match self.pid {
            Some(p) => format!("{}/{}", self.comm, p),
            None => "-".into(),
        };
        format!("[{}] {} {} {}: {}", self.t, cpu, who, self.func, self.msg)
    }
}

/// Renders a whole trace in its text form, one record per line.
pub fn trace_text(records: &[TraceRecord]) -> String {
    let mut s = String::with_capacity(records.len() * 80);
    for r in records {
        s.push_str(&r.to_line());
        s.push('\n');
    }
    s
}
