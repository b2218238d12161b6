//! Inter-processor interrupts and vCPUs.
//!
//! Reschedule IPIs are asynchronous: `kick_process` returns at once and the target
//! notices only when the IPI lands, after a latency drawn from the scenario's
//! same-socket or cross-socket range. TLB-shootdown IPIs are synchronous for the
//! sender, which spins until every target has flushed. A vCPU the host has
//! descheduled runs nothing and takes no interrupts until it is resumed.
//!
//! Not modelled: IPI coalescing, x2APIC cluster mode, PCID/ASID, lazy TLB
//! shootdown avoidance.

use crate::choice::ChoiceKind;
use crate::sim::{CpuId, Event, IpiKind, Mode, Sim};
use crate::time::fmt_duration;
use crate::time::SimTime;
use crate::trace::TraceKind;

const LATENCY_BUCKETS: u32 = 16;

impl Sim {
    /// Draws an IPI latency for `from` → `to`.
    pub(crate) fn ipi_latency(&mut self, from: CpuId, to: CpuId) -> u64 {
        let m = &self.sc.scenario.machine;
        let [lo, hi] = if self.cpus[from as usize].socket == self.cpus[to as usize].socket {
            m.ipi_same_socket
        } else {
            m.ipi_cross_socket
        };
        let (lo, hi) = (lo.0, hi.0);
        let b = u64::from(self.chooser.choose(ChoiceKind::IpiLatency, LATENCY_BUCKETS));
        lo + (hi - lo) * b / u64::from(LATENCY_BUCKETS - 1)
    }

    /// Sends an IPI and returns when it will be delivered.
    pub(crate) fn send_ipi(&mut self, from: CpuId, to: CpuId, kind: IpiKind) -> SimTime {
        let lat = self.ipi_latency(from, to);
        let mut at = self.now.after(lat);
        let c = &mut self.cpus[to as usize];
        if let Some(until) = c.paused_until {
            at = at.max(until.after(lat));
        }
        at = at.max(c.ipi_inflight_until);
        c.ipi_inflight_until = at;
        let what = match kind {
            IpiKind::Reschedule => "RESCHEDULE_VECTOR",
            IpiKind::TlbFlush { .. } => "CALL_FUNCTION_VECTOR (flush_tlb_func)",
        };
        let curr = self.cpus[from as usize].curr;
        self.trace_rec(
            Some(from),
            curr,
            match kind {
                IpiKind::Reschedule => "smp_send_reschedule",
                IpiKind::TlbFlush { .. } => "flush_tlb_others",
            },
            TraceKind::Ipi,
            format!(
                "{what} -> cpu{to}, lands in {}",
                fmt_duration(at.since(self.now))
            ),
            Some((to, at)),
        );
        self.push(
            at,
            Event::Ipi {
                cpu: to,
                kind,
                from,
            },
        );
        at
    }

    pub(crate) fn ipi_deliver(&mut self, cpu: CpuId, kind: IpiKind, from: CpuId) {
        if let Some(until) = self.cpus[cpu as usize].paused_until {
            // Held in the host until the vCPU runs again.
            self.push(until, Event::Ipi { cpu, kind, from });
            return;
        }
        let curr = self.cpus[cpu as usize].curr;
        match kind {
            IpiKind::Reschedule => {
                self.trace_rec(
                    Some(cpu),
                    curr,
                    "scheduler_ipi",
                    TraceKind::Ipi,
                    format!("from cpu{from}"),
                    None,
                );
                match curr {
                    None => self.schedule(cpu),
                    Some(t) => {
                        if self.tasks[t].mode == Mode::User {
                            self.interrupt_user(cpu);
                        }
                    }
                }
            }
            IpiKind::TlbFlush { mm } => {
                let before = self.cpus[cpu as usize].tlb.len();
                self.cpus[cpu as usize].tlb.retain(|e| e.0 != mm);
                let n = before - self.cpus[cpu as usize].tlb.len();
                self.trace_rec(
                    Some(cpu),
                    curr,
                    "flush_tlb_func",
                    TraceKind::Tlb,
                    format!("from cpu{from}: {n} entries dropped"),
                    None,
                );
            }
        }
    }

    /// The host takes the vCPU away for a drawn time.
    pub(crate) fn vcpu_pause(&mut self, cpu: CpuId) {
        let [lo, hi] = self.sc.scenario.machine.vcpu_pause;
        let b = u64::from(self.chooser.choose(ChoiceKind::VcpuPause, LATENCY_BUCKETS));
        let pause = lo.0 + (hi.0 - lo.0) * b / u64::from(LATENCY_BUCKETS - 1);
        let until = self.now.after(pause);
        let c = &mut self.cpus[cpu as usize];
        c.paused_until = Some(until);
        let curr = c.curr;
        if curr.is_some() {
            // The step in progress finishes `pause` later than planned.
            c.gen += 1;
            c.step_at = c.step_at.max(self.now).after(pause);
        }
        self.trace_rec(
            Some(cpu),
            curr,
            "kvm_vcpu_preempted",
            TraceKind::Sched,
            format!("vcpu descheduled by the host for {}", fmt_duration(pause)),
            None,
        );
        self.push(until, Event::VcpuResume { cpu });
    }

    pub(crate) fn vcpu_resume(&mut self, cpu: CpuId) {
        let c = &mut self.cpus[cpu as usize];
        c.paused_until = None;
        let curr = c.curr;
        self.trace_rec(
            Some(cpu),
            curr,
            "kvm_vcpu_resumed",
            TraceKind::Sched,
            "vcpu runs again".into(),
            None,
        );
        self.push(self.now.after(self.tick_ns), Event::Tick { cpu });
        match curr {
            Some(_) => {
                let c = &mut self.cpus[cpu as usize];
                let gen = c.gen;
                let at = c.step_at.max(self.now);
                c.step_at = at;
                self.push(at, Event::CpuStep { cpu, gen });
            }
            None => self.schedule(cpu),
        }
    }
}
