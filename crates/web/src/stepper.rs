//! Step-through: the state of a run after any step, from checkpoints.
//!
//! A `Stepper` runs the run once and keeps a clone of the `Sim` every
//! `every` steps (cloning a `Sim` is a checkpoint: the clone continues
//! exactly as the original), without its trace records, which the run view
//! already holds. The state after step k is the nearest checkpoint
//! at or before k, stepped forward. Replaying from step 0 each time is the
//! other option; BENCHMARKS.md has both measured, and why checkpoints won.
//!
//! Also the mapping from trace records to steps ("run to the next kill"):
//! the trace length after every step.
//!
//! Not kept: per-step snapshots (a snapshot walks every page table; taking one
//! per step would cost more than the run).

use crate::view::FileView;
use oomlab_core::mm::memory::MmSnap;
use oomlab_core::sim::{CpuSnap, TaskSnap};
use oomlab_core::trace::{TraceKind, TraceRecord};
use oomlab_core::{ChoiceSource, Sim, ValidScenario};

/// Steps between two checkpoints (see BENCHMARKS.md for the trade-off).
pub const CHECKPOINT_EVERY: u64 = 16384;

pub struct Stepper {
    /// The run being recorded, until it ends.
    building: Option<Sim>,
    ckpts: Vec<Sim>,
    every: u64,
    /// Trace records written after each step: `trace_len[k]` after step k.
    trace_len: Vec<u32>,
}

/// What the step view shows.
#[derive(Clone, Debug)]
pub struct StepState {
    pub step: u64,
    pub t: u64,
    pub trace_len: u64,
    pub free_pages: u64,
    pub cpus: Vec<CpuSnap>,
    pub tasks: Vec<TaskSnap>,
    /// The victim's mm (the first process's, before any kill).
    pub victim: Option<MmSnap>,
    pub files: Vec<FileView>,
}

/// Where "run to the next …" stops.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Landmark {
    Kill,
    Reap,
    Copy,
    Fault,
}

impl Landmark {
    pub const ALL: [Landmark; 4] = [
        Landmark::Kill,
        Landmark::Reap,
        Landmark::Copy,
        Landmark::Fault,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Landmark::Kill => "kill",
            Landmark::Reap => "reap",
            Landmark::Copy => "copy",
            Landmark::Fault => "fault",
        }
    }

    pub fn matches(self, r: &TraceRecord) -> bool {
        match self {
            Landmark::Kill => {
                r.func == "oom_kill_process" && r.msg.starts_with("Killed process")
                    || r.kind == TraceKind::Signal && r.msg.starts_with("SIGKILL")
            }
            // The reaper at work on an mm (not its failed trylocks).
            Landmark::Reap => r.kind == TraceKind::Reap && r.func == "__oom_reap_task_mm",
            Landmark::Copy => r.kind == TraceKind::Copy,
            Landmark::Fault => r.kind == TraceKind::Fault,
        }
    }
}

impl Stepper {
    /// Runs the whole run, keeping checkpoints.
    pub fn new(sc: &ValidScenario, source: &ChoiceSource, every: u64) -> Stepper {
        let mut s = Stepper::start(sc, source, every);
        while !s.build(u64::MAX) {}
        s
    }

    /// A stepper to be built with [`Stepper::build`], a slice at a time.
    pub fn start(sc: &ValidScenario, source: &ChoiceSource, every: u64) -> Stepper {
        let sim = Sim::new(sc, source.clone());
        Stepper {
            ckpts: vec![Self::checkpoint(&sim)],
            trace_len: vec![sim.trace_len() as u32],
            building: Some(sim),
            every: every.max(1),
        }
    }

    /// Records up to `budget` more steps. Returns true once the run has ended.
    pub fn build(&mut self, budget: u64) -> bool {
        let Some(sim) = self.building.as_mut() else {
            return true;
        };
        let mut n = 0;
        while n < budget {
            if !sim.step() {
                // The step that ended the run counts (and may have written).
                while (self.trace_len.len() as u64 - 1) < sim.steps() {
                    self.trace_len.push(sim.trace_len() as u32);
                }
                self.building = None;
                return true;
            }
            n += 1;
            self.trace_len.push(sim.trace_len() as u32);
            if (self.trace_len.len() as u64 - 1).is_multiple_of(self.every) {
                self.ckpts.push(Self::checkpoint(sim));
            }
        }
        false
    }

    /// A clone without the trace records written so far: the run view has
    /// them, and they are most of a clone's size.
    fn checkpoint(sim: &Sim) -> Sim {
        let mut c = sim.clone();
        c.forget_trace();
        c
    }

    pub fn is_built(&self) -> bool {
        self.building.is_none()
    }

    /// Steps the run takes.
    pub fn steps(&self) -> u64 {
        self.trace_len.len() as u64 - 1
    }

    /// The simulator after `k` steps.
    pub fn sim_at(&self, k: u64) -> Sim {
        let k = k.min(self.steps());
        let c = ((k / self.every) as usize).min(self.ckpts.len() - 1);
        let mut sim = self.ckpts[c].clone();
        let mut at = c as u64 * self.every;
        while at < k && sim.step() {
            at += 1;
        }
        sim
    }

    /// Trace records written once `k` steps have run.
    pub fn trace_len_at(&self, k: u64) -> u64 {
        u64::from(self.trace_len[k.min(self.steps()) as usize])
    }

    /// The first step after which record `idx` exists.
    pub fn step_of_record(&self, idx: u64) -> u64 {
        self.trace_len.partition_point(|&n| u64::from(n) <= idx) as u64
    }

    /// The step right after the first record past step `k` that matches.
    pub fn next(&self, trace: &[TraceRecord], k: u64, what: Landmark) -> Option<u64> {
        let from = self.trace_len_at(k);
        let start = trace.partition_point(|r| r.idx < from);
        trace[start..]
            .iter()
            .find(|r| what.matches(r))
            .map(|r| self.step_of_record(r.idx).min(self.steps()))
    }

    /// Memory a checkpoint set holds, roughly: page-table entries dominate.
    pub fn checkpoints(&self) -> usize {
        self.ckpts.len()
    }

    pub fn state_at(&self, k: u64, victim_tgid: Option<u32>) -> StepState {
        let sim = self.sim_at(k);
        let snap = sim.snapshot();
        let victim = snap
            .mms
            .iter()
            .find(|m| Some(m.owner_tgid) == victim_tgid)
            .or_else(|| snap.mms.first())
            .cloned();
        let files = crate::view::file_views(&sim);
        StepState {
            step: k.min(self.steps()),
            t: snap.t.0,
            trace_len: sim.trace_len(),
            free_pages: snap.free_pages,
            cpus: snap.cpus,
            tasks: snap.tasks,
            victim,
            files,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::view::tests_support::{corrupting_r1_seed, run};
    use oomlab_core::presets;

    fn flags(s: &StepState) -> Vec<&'static str> {
        s.victim
            .as_ref()
            .map(|m| m.flags.clone())
            .unwrap_or_default()
    }

    #[test]
    fn checkpoints_give_the_same_state_as_a_replay_from_the_start() {
        let sc = presets::find("r1").unwrap().load();
        let src = ChoiceSource::Seed(2);
        let st = Stepper::new(&sc, &src, 1000);
        assert!(st.checkpoints() > 10);
        for k in [0, 1, 999, 1000, 1001, 54_321, st.steps()] {
            let a = st.sim_at(k);
            let mut b = Sim::new(&sc, src.clone());
            for _ in 0..k {
                b.step();
            }
            assert_eq!(a.trace_hash(), b.trace_hash(), "step {k}");
            assert_eq!(a.state_hash(), b.state_hash(), "step {k}");
        }
        let full = oomlab_core::run(&sc, src);
        assert_eq!(st.steps(), full.steps);
        assert_eq!(st.trace_len_at(st.steps()), full.trace_len);
    }

    #[test]
    fn mmf_unstable_is_clear_at_the_kill_and_set_after_the_reap() {
        let seed = corrupting_r1_seed();
        let v = run("r1", seed);
        let sc = presets::find("r1").unwrap().load();
        let st = Stepper::new(&sc, &ChoiceSource::Seed(seed), CHECKPOINT_EVERY);
        let kill = st.next(&v.trace, 0, Landmark::Kill).expect("a kill");
        let at_kill = st.state_at(kill, v.victim);
        assert!(!flags(&at_kill).contains(&"MMF_UNSTABLE"));
        // The record that made the step a landmark is the last one written.
        let last = &v.trace[at_kill.trace_len as usize - 1];
        assert!(Landmark::Kill.matches(last) || at_kill.trace_len > 0);
        let reap = st.next(&v.trace, kill, Landmark::Reap).expect("a reap");
        assert!(reap > kill);
        let after = st.state_at(reap, v.victim);
        assert!(
            flags(&after).contains(&"MMF_UNSTABLE"),
            "{:?}",
            flags(&after)
        );
        // Zeros reach the file only after the reap.
        let copy = st.next(&v.trace, reap, Landmark::Copy).unwrap();
        assert!(copy > reap);
        assert!(st.next(&v.trace, st.steps(), Landmark::Copy).is_none());
        // Tasks and CPUs are there, with kernel stacks.
        assert!(after.tasks.iter().any(|t| t.comm == "oom_reaper"));
        assert_eq!(after.cpus.len(), 8);
        assert!(after.t >= at_kill.t);
        assert!(!after.files.is_empty());
    }
}
