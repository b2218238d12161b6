//! The one chooser through which every nondeterministic decision passes.
//!
//! A run is fully described by (scenario, seed): each decision draws from a child
//! PRNG of its subsystem. Every draw is recorded as a small integer, so the run is
//! also replayable from its recorded list; the explorer, the shrinker and permalinks
//! all operate on that list. A replayed list that runs out falls back to the seed.
//! Value 0 is always the "default" choice (first runnable task, lowest latency, no
//! jitter, event does not happen), which is what the shrinker drives choices toward.

use crate::rng::Rng;
use serde::{Deserialize, Serialize};

/// What a decision is about. The subsystem decides the PRNG stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChoiceKind {
    /// Which runnable task a CPU picks from its runqueue.
    SchedPick,
    /// Which idle CPU a woken task is placed on.
    WakeCpu,
    /// Whether a timer tick preempts the user-mode task.
    TickPreempt,
    /// The initial phase of a CPU's tick.
    TickPhase,
    /// Extra duration of a step (syscall entry, reclaim pass, copy).
    Jitter,
    /// Latency bucket of an inter-processor interrupt.
    IpiLatency,
    /// Whether the host deschedules a vCPU at this tick.
    VcpuPreempt,
    /// How long a descheduled vCPU stays off.
    VcpuPause,
    /// Which waiter a released lock wakes.
    LockWake,
    /// Where a randomly placed crash lands.
    CrashPoint,
}

impl ChoiceKind {
    fn stream(self) -> usize {
        match self {
            ChoiceKind::SchedPick | ChoiceKind::WakeCpu | ChoiceKind::TickPreempt => 0,
            ChoiceKind::TickPhase => 1,
            ChoiceKind::Jitter => 2,
            ChoiceKind::IpiLatency => 3,
            ChoiceKind::VcpuPreempt | ChoiceKind::VcpuPause => 4,
            ChoiceKind::LockWake => 5,
            ChoiceKind::CrashPoint => 6,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            ChoiceKind::SchedPick => "sched_pick",
            ChoiceKind::WakeCpu => "wake_cpu",
            ChoiceKind::TickPreempt => "tick_preempt",
            ChoiceKind::TickPhase => "tick_phase",
            ChoiceKind::Jitter => "jitter",
            ChoiceKind::IpiLatency => "ipi_latency",
            ChoiceKind::VcpuPreempt => "vcpu_preempt",
            ChoiceKind::VcpuPause => "vcpu_pause",
            ChoiceKind::LockWake => "lock_wake",
            ChoiceKind::CrashPoint => "crash_point",
        }
    }
}

const STREAMS: usize = 7;

/// One recorded decision.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Choice {
    pub kind: ChoiceKind,
    /// Number of options that were available.
    pub options: u32,
    pub value: u32,
    /// Index of the next trace record when the decision was taken: where a
    /// front end shows it.
    pub event: u64,
}

/// Where decisions come from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ChoiceSource {
    /// Every decision from the seed's PRNG streams.
    Seed(u64),
    /// Decisions from the list, in order; the seed once the list runs out. A listed
    /// value that is out of range for the decision at hand is clamped.
    Replay { seed: u64, choices: Vec<u32> },
    /// Every decision takes its default (0) except the listed ones, given as
    /// (decision index, value). The explorer's systematic strategies and the
    /// shrinker speak this form: a run is its few deviations from the default.
    Deviations { seed: u64, devs: Vec<(u32, u32)> },
}

impl ChoiceSource {
    pub fn seed(&self) -> u64 {
        match self {
            ChoiceSource::Seed(s) => *s,
            ChoiceSource::Replay { seed, .. } | ChoiceSource::Deviations { seed, .. } => *seed,
        }
    }
}

#[derive(Clone, Debug)]
pub struct Chooser {
    streams: Vec<Rng>,
    replay: Vec<u32>,
    pos: usize,
    /// Deviations mode: sorted (index, value); every other decision is 0.
    devs: Option<Vec<(u32, u32)>>,
    recorded: Vec<Choice>,
    /// The trace's length, kept current by the simulator.
    pub(crate) event: u64,
}

impl Chooser {
    pub fn new(source: &ChoiceSource) -> Chooser {
        let seed = source.seed();
        let streams = (0..STREAMS as u64)
            .map(|i| Rng::child(seed, i + 1))
            .collect();
        let (replay, devs) = match source {
            ChoiceSource::Seed(_) => (Vec::new(), None),
            ChoiceSource::Replay { choices, .. } => (choices.clone(), None),
            ChoiceSource::Deviations { devs, .. } => {
                let mut d = devs.clone();
                d.sort_unstable();
                (Vec::new(), Some(d))
            }
        };
        Chooser {
            streams,
            replay,
            pos: 0,
            devs,
            recorded: Vec::new(),
            event: 0,
        }
    }

    /// A value in `0..options`, drawn uniformly from the seed unless replayed.
    pub fn choose(&mut self, kind: ChoiceKind, options: u32) -> u32 {
        if options <= 1 {
            return 0;
        }
        let stream = kind.stream();
        // The seed stream advances even when the list supplies the value, so the
        // fallback after the list runs out is the same as the seeded run's tail.
        let drawn = self.streams[stream].below(options);
        let value = if let Some(d) = &self.devs {
            let i = self.recorded.len() as u32;
            d.binary_search_by_key(&i, |x| x.0)
                .map_or(0, |k| d[k].1.min(options - 1))
        } else if self.pos < self.replay.len() {
            let v = self.replay[self.pos].min(options - 1);
            self.pos += 1;
            v
        } else {
            drawn
        };
        self.recorded.push(Choice {
            kind,
            options,
            value,
            event: self.event,
        });
        value
    }

    /// A yes/no decision that is "yes" with probability `ppm` parts per million
    /// when drawn from the seed. Recorded as 1 for yes.
    pub fn chance(&mut self, kind: ChoiceKind, ppm: u32) -> bool {
        if ppm == 0 {
            return false;
        }
        let stream = kind.stream();
        let drawn = u32::from(self.streams[stream].below(1_000_000) < ppm.min(1_000_000));
        let value = if let Some(d) = &self.devs {
            let i = self.recorded.len() as u32;
            d.binary_search_by_key(&i, |x| x.0)
                .map_or(0, |k| d[k].1.min(1))
        } else if self.pos < self.replay.len() {
            let v = self.replay[self.pos].min(1);
            self.pos += 1;
            v
        } else {
            drawn
        };
        self.recorded.push(Choice {
            kind,
            options: 2,
            value,
            event: self.event,
        });
        value == 1
    }

    pub fn recorded(&self) -> &[Choice] {
        &self.recorded
    }

    pub fn into_recorded(self) -> Vec<Choice> {
        self.recorded
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replay_reproduces_and_falls_back_to_seed() {
        let mut a = Chooser::new(&ChoiceSource::Seed(9));
        let va: Vec<u32> = (0..20)
            .map(|i| a.choose(ChoiceKind::Jitter, 3 + i))
            .collect();
        let rec: Vec<u32> = a.recorded().iter().map(|c| c.value).collect();
        assert_eq!(va, rec);
        // Replay only the first 5; the rest must come from the seed, unchanged.
        let mut b = Chooser::new(&ChoiceSource::Replay {
            seed: 9,
            choices: rec[..5].to_vec(),
        });
        let vb: Vec<u32> = (0..20)
            .map(|i| b.choose(ChoiceKind::Jitter, 3 + i))
            .collect();
        assert_eq!(va, vb);
        // An overriding list changes exactly the overridden decisions.
        let mut c = Chooser::new(&ChoiceSource::Replay {
            seed: 9,
            choices: vec![0; 3],
        });
        let vc: Vec<u32> = (0..20)
            .map(|i| c.choose(ChoiceKind::Jitter, 3 + i))
            .collect();
        assert_eq!(&vc[..3], &[0, 0, 0]);
        assert_eq!(&vc[3..], &va[3..]);
    }

    #[test]
    fn single_option_is_not_recorded() {
        let mut a = Chooser::new(&ChoiceSource::Seed(1));
        assert_eq!(a.choose(ChoiceKind::SchedPick, 1), 0);
        assert!(!a.chance(ChoiceKind::VcpuPreempt, 0));
        assert!(a.recorded().is_empty());
    }
}
