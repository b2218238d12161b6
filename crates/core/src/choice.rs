//! The one chooser through which every nondeterministic decision passes.
//!
//! A run is fully described by (scenario, seed): each decision draws from a child
//! PRNG of its subsystem. Every draw is recorded as a small integer, so the run is
//! also replayable from its recorded list; the explorer, the shrinker and permalinks
//! all operate on that list. A replayed list that runs out falls back to the seed.
//! Value 0 is always the "default" choice (first runnable task, lowest latency, no
//! jitter, event does not happen), which is what the shrinker drives choices toward.
//!
//! A [`Player`] (challenge mode) can take over the decisions of chosen kinds: its
//! answers replace the source's values, and the first decision it has no answer
//! for is flagged as pending, so that a driver can stop there and ask. Without a
//! player the cost is one `None` check per decision.

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
    pub const ALL: [ChoiceKind; 10] = [
        ChoiceKind::SchedPick,
        ChoiceKind::WakeCpu,
        ChoiceKind::TickPreempt,
        ChoiceKind::TickPhase,
        ChoiceKind::Jitter,
        ChoiceKind::IpiLatency,
        ChoiceKind::VcpuPreempt,
        ChoiceKind::VcpuPause,
        ChoiceKind::LockWake,
        ChoiceKind::CrashPoint,
    ];

    pub fn from_name(s: &str) -> Option<ChoiceKind> {
        ChoiceKind::ALL.into_iter().find(|k| k.name() == s)
    }

    fn bit(self) -> u32 {
        1 << (self as u32)
    }
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
    Seed(#[serde(with = "crate::json::u64_string")] u64),
    /// Decisions from the list, in order; the seed once the list runs out. A listed
    /// value that is out of range for the decision at hand is clamped.
    Replay {
        #[serde(with = "crate::json::u64_string")]
        seed: u64,
        choices: Vec<u32>,
    },
    /// Every decision takes its default (0) except the listed ones, given as
    /// (decision index, value). The explorer's systematic strategies and the
    /// shrinker speak this form: a run is its few deviations from the default.
    Deviations {
        #[serde(with = "crate::json::u64_string")]
        seed: u64,
        devs: Vec<(u32, u32)>,
    },
    /// A run explored inside a window: the seeded run up to decision `at`
    /// (where the window's checkpoint was taken); from there on, decisions
    /// come from the fresh seed `reseed` if there is one (else the seed's own
    /// streams go on), with the listed (decision index, value) deviations on
    /// top. A listed value out of range is clamped.
    Window {
        #[serde(with = "crate::json::u64_string")]
        seed: u64,
        at: u32,
        #[serde(with = "crate::json::opt_u64_string")]
        reseed: Option<u64>,
        devs: Vec<(u32, u32)>,
    },
}

impl ChoiceSource {
    pub fn seed(&self) -> u64 {
        match self {
            ChoiceSource::Seed(s) => *s,
            ChoiceSource::Replay { seed, .. }
            | ChoiceSource::Deviations { seed, .. }
            | ChoiceSource::Window { seed, .. } => *seed,
        }
    }
}

/// A player answer that takes whatever the source would have given.
pub const AUTO: u32 = u32::MAX;

/// A decision the player has to take before the run can go on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pending {
    /// Index of the decision among all recorded ones.
    pub decision: u32,
    pub kind: ChoiceKind,
    pub options: u32,
    /// Index of the next trace record when the decision was taken.
    pub event: u64,
    /// What the source would have given ("let the kernel decide").
    pub auto: u32,
}

/// Decisions of some kinds taken by a player (challenge mode) instead of the
/// source. Answers are consumed in order, one per controlled decision.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Player {
    controls: u32,
    answers: Vec<u32>,
    next: usize,
    /// Every further controlled decision takes the source's value.
    pub auto_rest: bool,
    /// The first controlled decision that had no answer. It was given the
    /// source's value provisionally: the step that took it is not the run the
    /// player will make, and a driver should replay it once answered.
    pub pending: Option<Pending>,
}

impl Player {
    pub fn new(kinds: &[ChoiceKind]) -> Player {
        Player {
            controls: kinds.iter().fold(0, |m, k| m | k.bit()),
            ..Player::default()
        }
    }

    pub fn controls(&self, kind: ChoiceKind) -> bool {
        self.controls & kind.bit() != 0
    }

    /// Takes control of its kinds from now on (or releases it with `[]`).
    pub fn set_controls(&mut self, kinds: &[ChoiceKind]) {
        self.controls = kinds.iter().fold(0, |m, k| m | k.bit());
    }

    /// The answers so far; the ones not consumed yet are still to come.
    pub fn answers(&self) -> &[u32] {
        &self.answers
    }

    /// Replaces the answers. The ones already consumed must stay a prefix.
    pub fn set_answers(&mut self, answers: Vec<u32>) {
        self.answers = answers;
    }

    /// Answers consumed so far.
    pub fn consumed(&self) -> usize {
        self.next
    }

    fn take(&mut self, p: Pending) -> u32 {
        if let Some(&a) = self.answers.get(self.next) {
            self.next += 1;
            if a == AUTO {
                p.auto
            } else {
                a.min(p.options - 1)
            }
        } else {
            if !self.auto_rest && self.pending.is_none() {
                self.pending = Some(p);
            }
            p.auto
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
    /// Window mode: from decision `window.0` on, fresh streams from seed
    /// `window.1` (taken once), and `overlay` on top of whatever is drawn.
    window: Option<(u32, Option<u64>)>,
    overlay: Vec<(u32, u32)>,
    recorded: Vec<Choice>,
    /// The trace's length, kept current by the simulator.
    pub(crate) event: u64,
    /// Challenge mode: the player's decisions. Boxed so that the common case
    /// costs one pointer.
    pub(crate) player: Option<Box<Player>>,
}

impl Chooser {
    pub fn new(source: &ChoiceSource) -> Chooser {
        let seed = source.seed();
        let streams = (0..STREAMS as u64)
            .map(|i| Rng::child(seed, i + 1))
            .collect();
        let (replay, devs) = match source {
            ChoiceSource::Seed(_) | ChoiceSource::Window { .. } => (Vec::new(), None),
            ChoiceSource::Replay { choices, .. } => (choices.clone(), None),
            ChoiceSource::Deviations { devs, .. } => {
                let mut d = devs.clone();
                d.sort_unstable();
                (Vec::new(), Some(d))
            }
        };
        let (window, overlay) = match source {
            ChoiceSource::Window {
                at, reseed, devs, ..
            } => {
                let mut d = devs.clone();
                d.sort_unstable();
                (Some((*at, *reseed)), d)
            }
            _ => (None, Vec::new()),
        };
        Chooser {
            streams,
            replay,
            pos: 0,
            devs,
            window,
            overlay,
            recorded: Vec::new(),
            event: 0,
            player: None,
        }
    }

    /// The player's decisions, if a player takes part.
    pub fn player(&self) -> Option<&Player> {
        self.player.as_deref()
    }

    pub fn player_mut(&mut self) -> Option<&mut Player> {
        self.player.as_deref_mut()
    }

    /// Lets the player take the decisions of the kinds it controls.
    pub fn with_player(mut self, player: Option<Player>) -> Chooser {
        self.player = player.map(Box::new);
        self
    }

    fn ask_player(&mut self, kind: ChoiceKind, options: u32, value: u32) -> u32 {
        match &mut self.player {
            Some(p) if p.controls(kind) => p.take(Pending {
                decision: self.recorded.len() as u32,
                kind,
                options,
                event: self.event,
                auto: value,
            }),
            _ => value,
        }
    }

    /// Enters a window at the current decision: what `ChoiceSource::Window`
    /// does at its `at`, for a checkpoint taken there.
    pub(crate) fn enter_window(&mut self, reseed: Option<u64>, devs: Vec<(u32, u32)>) {
        let mut d = devs;
        d.sort_unstable();
        // What was still to be replayed or deviated no longer applies: the
        // window's decisions are its own.
        self.replay.truncate(self.pos);
        self.devs = None;
        self.window = Some((self.recorded.len() as u32, reseed));
        self.overlay = d;
        self.reseed_if_due();
    }

    /// The window's fresh streams, at its first decision (once).
    fn reseed_if_due(&mut self) {
        if let Some((at, Some(seed))) = self.window {
            if self.recorded.len() as u32 == at {
                self.streams = (0..STREAMS as u64)
                    .map(|i| Rng::child(seed, i + 1))
                    .collect();
                self.window = Some((at, None));
            }
        }
    }

    fn overlaid(&self, value: u32, options: u32) -> u32 {
        if self.overlay.is_empty() {
            return value;
        }
        let i = self.recorded.len() as u32;
        self.overlay
            .binary_search_by_key(&i, |x| x.0)
            .map_or(value, |k| self.overlay[k].1.min(options - 1))
    }

    /// A value in `0..options`, drawn uniformly from the seed unless replayed.
    pub fn choose(&mut self, kind: ChoiceKind, options: u32) -> u32 {
        if options <= 1 {
            return 0;
        }
        self.reseed_if_due();
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
        let value = self.overlaid(value, options);
        let value = self.ask_player(kind, options, value);
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
        self.reseed_if_due();
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
        let value = self.overlaid(value, 2);
        let value = self.ask_player(kind, 2, value);
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
    fn player_answers_its_kinds_and_flags_the_first_unanswered() {
        let seeded: Vec<u32> = {
            let mut a = Chooser::new(&ChoiceSource::Seed(5));
            (0..6).map(|_| a.choose(ChoiceKind::SchedPick, 4)).collect()
        };
        let mut p = Player::new(&[ChoiceKind::SchedPick]);
        p.set_answers(vec![3, AUTO, 9]);
        let mut c = Chooser::new(&ChoiceSource::Seed(5)).with_player(Some(p));
        // Jitter is not the player's: it comes from the seed, untouched.
        let j = c.choose(ChoiceKind::Jitter, 7);
        let mut b = Chooser::new(&ChoiceSource::Seed(5));
        assert_eq!(j, b.choose(ChoiceKind::Jitter, 7));
        let got: Vec<u32> = (0..5).map(|_| c.choose(ChoiceKind::SchedPick, 4)).collect();
        // 3, the seed's own value, 9 clamped to 3; then provisional seed values.
        assert_eq!(&got[..3], &[3, seeded[1], 3]);
        assert_eq!(&got[3..], &seeded[3..5]);
        let pend = c.player().unwrap().pending.unwrap();
        assert_eq!(pend.decision, 4, "the jitter decision counts");
        assert_eq!(pend.options, 4);
        assert_eq!(pend.auto, seeded[3]);
        assert_eq!(c.player().unwrap().consumed(), 3);
    }

    #[test]
    fn single_option_is_not_recorded() {
        let mut a = Chooser::new(&ChoiceSource::Seed(1));
        assert_eq!(a.choose(ChoiceKind::SchedPick, 1), 0);
        assert!(!a.chance(ChoiceKind::VcpuPreempt, 0));
        assert!(a.recorded().is_empty());
    }
}
