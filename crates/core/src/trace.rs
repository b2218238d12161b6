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
        let mut s = String::with_capacity(96);
        let _ = self.write_line(&mut s);
        s
    }

    /// Writes the line without intermediate strings: the simulator hashes
    /// every record this way as it is made.
    pub fn write_line<W: std::fmt::Write>(&self, w: &mut W) -> std::fmt::Result {
        write!(w, "[{}] ", self.t)?;
        match self.cpu {
            Some(c) => write!(w, "cpu{c} ")?,
            None => w.write_str("- ")?,
        }
        match self.pid {
            Some(p) => write!(w, "{}/{} ", self.comm, p)?,
            None => w.write_str("- ")?,
        }
        write!(w, "{}: {}", self.func, self.msg)
    }
}

/// FNV-1a over whatever is written to it.
pub(crate) struct FnvWriter(pub u64);

impl std::fmt::Write for FnvWriter {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        for b in s.as_bytes() {
            self.0 ^= u64::from(*b);
            self.0 = self.0.wrapping_mul(0x0000_0100_0000_01B3);
        }
        Ok(())
    }
}

/// Renders a whole trace in its text form, one record per line.
pub fn trace_text(records: &[TraceRecord]) -> String {
    let mut s = String::with_capacity(records.len() * 80);
    for r in records {
        let _ = r.write_line(&mut s);
        s.push('\n');
    }
    s
}
