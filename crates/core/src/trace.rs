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
        let who = self.pid.map(|p| (self.comm.as_str(), p));
        write_head(w, self.t, self.cpu, who, self.func)?;
        w.write_str(&self.msg)
    }
}

/// A line up to its message: `[    0.001234] cpu3 a.out/12 oom_kill_process: `.
/// Written by hand rather than with `write!`: it is most of the bytes of
/// every record, and each is formatted (into the trace hash) as it is made.
pub(crate) fn write_head<W: std::fmt::Write>(
    w: &mut W,
    t: SimTime,
    cpu: Option<u32>,
    who: Option<(&str, u32)>,
    func: &str,
) -> std::fmt::Result {
    w.write_str("[")?;
    w.write_str(t.dmesg().as_str())?;
    w.write_str("] ")?;
    match cpu {
        Some(c) => {
            w.write_str("cpu")?;
            write_u32(w, c)?;
            w.write_str(" ")?;
        }
        None => w.write_str("- ")?,
    }
    match who {
        Some((comm, pid)) => {
            w.write_str(comm)?;
            w.write_str("/")?;
            write_u32(w, pid)?;
            w.write_str(" ")?;
        }
        None => w.write_str("- ")?,
    }
    w.write_str(func)?;
    w.write_str(": ")
}

fn write_u32<W: std::fmt::Write>(w: &mut W, mut n: u32) -> std::fmt::Result {
    let mut buf = [0u8; 10];
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    w.write_str(std::str::from_utf8(&buf[i..]).unwrap_or(""))
}

/// `tr!(sim, tid, "func", kind, "format", args..)`: a record by `tid`, like
/// `Sim::tr`, whose message is formatted straight into the trace hash when the
/// run keeps no text, so the hottest records of an exploration allocate
/// nothing. The arguments are read after the record is begun: none may read
/// the trace's own counters.
macro_rules! tr {
    ($sim:expr, $tid:expr, $func:expr, $kind:expr, $($fmt:tt)+) => {{
        let tid: $crate::ids::Tid = $tid;
        if $sim.keeps_trace_text() {
            let msg = format!($($fmt)+);
            $sim.tr(tid, $func, $kind, msg)
        } else {
            let cpu = $sim.cpu_of_running(tid);
            let mut h = $sim.trace_head(cpu, Some(tid), $func, $kind, None);
            let _ = std::fmt::Write::write_fmt(&mut h, format_args!($($fmt)+));
            $sim.trace_tail(h)
        }
    }};
}
pub(crate) use tr;

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

#[cfg(test)]
mod tests {
    use super::*;

    /// The hand-written head against the `write!` form it replaced: the
    /// trace hash is taken over these bytes.
    #[test]
    fn lines_are_the_formatted_ones() {
        for (t, cpu, pid) in [
            (0, None, None),
            (7_123_456, Some(0), Some(1)),
            (312_000_999_999, Some(17), Some(4_000_000_000)),
            (u64::MAX, Some(u32::MAX), Some(0)),
        ] {
            let rec = TraceRecord {
                idx: 0,
                t: SimTime(t),
                cpu,
                pid,
                comm: "a.out".into(),
                func: "oom_kill_process",
                kind: TraceKind::Oom,
                msg: "Killed process 41 (a.out)".into(),
                ipi_to: None,
            };
            let mut want = format!("[{}] ", rec.t);
            match cpu {
                Some(c) => want += &format!("cpu{c} "),
                None => want += "- ",
            }
            match pid {
                Some(p) => want += &format!("a.out/{p} "),
                None => want += "- ",
            }
            want += "oom_kill_process: Killed process 41 (a.out)";
            assert_eq!(rec.to_line(), want);
        }
    }
}
