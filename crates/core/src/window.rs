//! Windows: exploring a run where its race happens.
//!
//! An R1 run spends almost all of its events building memory pressure; the
//! race (the kill, the reap, a victim thread's copy) is the last few
//! milliseconds. A window starts at a trigger and ends at the run's end or
//! after a given length. For each of K prefixes (independent seeds run to
//! the trigger) the `Sim` is cloned at the trigger, and a strategy explores
//! only the decisions after it:
//! - `random`: each run continues the checkpoint with a fresh seed;
//! - `pct`: each run keeps the prefix's own continuation except for a few
//!   random deviations among the window's decisions;
//! - `exhaustive`: depth-first over every deviation set of at most `bound`
//!   deviations among the window's decisions, from the prefix's own
//!   continuation. Nothing is pruned, so a search that completes covered
//!   every such set.
//!
//! Every window run is a `ChoiceSource::Window`, which a fresh `Sim`
//! replays without the checkpoint, so its permalink is an ordinary one.
//!
//! What "never" can claim: for a completed exhaustive search, no
//! interleaving with at most `bound` deviations in the window, for these K
//! prefixes; for sampling, none of the runs made. Prefixes whose run ended
//! before the trigger have no window and are counted apart.
//!
//! Not modelled here: state-hash pruning (the state hash does not cover all
//! of `Sim`), and windows that end at a kernel event rather than a length.

use crate::choice::ChoiceSource;
use crate::explore::{record_run, ExploreReport, Strategy};
use crate::rng::Rng;
use crate::scenario::ValidScenario;
use crate::sim::Sim;
use crate::time::SimTime;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// Where a window starts.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "arg")]
pub enum Trigger {
    /// The OOM killer's SIGKILL (`oom_kill_process`).
    Kill,
    /// `SIGNAL_GROUP_EXIT` set on any process.
    GroupExit,
    /// `MMF_UNSTABLE` set: the reaper (or `process_mrelease`) started.
    Reap,
    /// The first trace record of this kernel function.
    Func(String),
    /// This simulated time, in ns.
    Time(u64),
}

/// A trigger and, optionally, how long the window lasts.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Window {
    pub trigger: Trigger,
    /// Decisions later than this after the trigger are not deviated.
    pub len_ns: Option<u64>,
}

fn parse_ns(s: &str) -> Result<u64, String> {
    let bad = || format!("`{s}` is not a duration (e.g. 500us, 5ms, 2s)");
    let split = s.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?;
    let n: u64 = s[..split].parse().map_err(|_| bad())?;
    let unit = match &s[split..] {
        "ns" => 1,
        "us" => 1_000,
        "ms" => 1_000_000,
        "s" => 1_000_000_000,
        _ => return Err(bad()),
    };
    n.checked_mul(unit).ok_or_else(bad)
}

impl Window {
    /// `kill`, `group_exit`, `reap`, `func=NAME` or `time=DURATION`, each
    /// optionally followed by `:LEN` (a duration).
    pub fn parse(s: &str) -> Result<Window, String> {
        let (t, len) = match s.rsplit_once(':') {
            Some((t, l)) => (t, Some(parse_ns(l)?)),
            None => (s, None),
        };
        if len == Some(0) {
            return Err("a window's length must be more than 0".into());
        }
        let trigger = match t {
            "kill" => Trigger::Kill,
            "group_exit" => Trigger::GroupExit,
            "reap" => Trigger::Reap,
            _ => match t.split_once('=') {
                Some(("func", f)) if !f.is_empty() => Trigger::Func(f.to_string()),
                Some(("time", d)) => Trigger::Time(parse_ns(d)?),
                _ => {
                    return Err(format!(
                        "unknown window trigger `{t}`: use kill, group_exit, reap, \
                         func=NAME or time=DURATION, optionally with :LEN"
                    ))
                }
            },
        };
        Ok(Window {
            trigger,
            len_ns: len,
        })
    }

    /// As a reader would say it, after "the window": "after `kill`",
    /// "after `reap` for 5.00 ms".
    pub fn describe(&self) -> String {
        let t = match &self.trigger {
            Trigger::Kill => "`kill`".to_string(),
            Trigger::GroupExit => "`group_exit`".to_string(),
            Trigger::Reap => "`reap`".to_string(),
            Trigger::Func(f) => format!("the first `{f}`"),
            Trigger::Time(ns) => format!("t={}", SimTime(*ns)),
        };
        match self.len_ns {
            Some(l) => format!("after {t} for {}", crate::time::fmt_duration(l)),
            None => format!("after {t}"),
        }
    }

    fn fired(&self, sim: &Sim, seen: &mut usize) -> bool {
        match &self.trigger {
            Trigger::Kill => sim.obs.kill_time.is_some(),
            Trigger::GroupExit => sim.signals.iter().any(|s| s.group_exit),
            Trigger::Reap => sim.obs.unstable_time.is_some(),
            Trigger::Time(ns) => sim.now.0 >= *ns,
            Trigger::Func(f) => {
                let t = sim.trace();
                let hit = t[(*seen).min(t.len())..]
                    .iter()
                    .any(|r| r.func == f.as_str());
                *seen = t.len();
                hit
            }
        }
    }
}

/// The seeded run of `seed` stopped right after the step in which the
/// trigger fired: the window's checkpoint. `None` if the run ended first.
/// Its records, and those of the runs cloned from it, keep no text (see
/// `Sim::drop_trace_text`): window runs are counted, not read; a run worth
/// reading is replayed from its permalink.
pub fn checkpoint(sc: &ValidScenario, seed: u64, w: &Window) -> Option<Sim> {
    let mut sim = Sim::new(sc, ChoiceSource::Seed(seed));
    sim.drop_trace_text();
    let mut seen = 0;
    while !w.fired(&sim, &mut seen) {
        if !sim.step() {
            return None;
        }
    }
    // The prefix's records are most of a clone's size; counts and the
    // trace hash are kept.
    sim.forget_trace();
    Some(sim)
}

/// One prefix's window: its checkpoint and what the search still has to do.
struct Prefix {
    index: u32,
    cp: Sim,
    /// Decision index at the checkpoint.
    at: u32,
    /// Runs made from this checkpoint.
    runs: u64,
    /// Exhaustive: deviation sets still to try (depth-first).
    stack: Vec<Vec<(u32, u32)>>,
    /// PCT: the window's decision count in the prefix's own continuation.
    width: u32,
}

/// What a window exploration covered, for the report.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WindowReport {
    pub window: Option<Window>,
    /// The sample size per prefix, or the exhaustive search's cap per prefix.
    pub runs_per_prefix: u64,
    pub prefixes: u32,
    /// Prefixes whose run reached the trigger (the others have no window).
    pub reached: u32,
    pub bound: u32,
    /// The search went through everything it was asked to: every prefix,
    /// and for exhaustive every deviation set within the bound.
    pub complete: bool,
}

/// A window exploration over prefixes `first..first + count` of K.
pub struct WindowExploration {
    sc: ValidScenario,
    window: Window,
    strategy: Strategy,
    base_seed: u64,
    prefixes: u32,
    next_prefix: u32,
    end_prefix: u32,
    /// Runs per prefix: the sample size, or the exhaustive search's cap.
    runs: u64,
    total_runs: u64,
    cur: Option<Prefix>,
    reached: u32,
    report: ExploreReport,
    states: BTreeSet<u64>,
    cut: bool,
}

impl WindowExploration {
    /// `prefixes` prefixes, seeds `base_seed + p`; `runs` runs per prefix
    /// (for exhaustive, a cap: a prefix whose search needs more is cut, and
    /// the exploration is not complete).
    pub fn new(
        sc: &ValidScenario,
        window: Window,
        strategy: Strategy,
        base_seed: u64,
        prefixes: u32,
        runs: u64,
    ) -> WindowExploration {
        Self::range(sc, window, strategy, base_seed, prefixes, runs, 0, prefixes)
    }

    /// Prefixes `first..end` only: pieces that merge into the whole.
    #[allow(clippy::too_many_arguments)]
    pub fn range(
        sc: &ValidScenario,
        window: Window,
        strategy: Strategy,
        base_seed: u64,
        prefixes: u32,
        runs: u64,
        first: u32,
        end: u32,
    ) -> WindowExploration {
        WindowExploration {
            sc: sc.clone(),
            window,
            strategy,
            base_seed,
            prefixes,
            next_prefix: first,
            end_prefix: end.min(prefixes),
            runs,
            total_runs: 0,
            cur: None,
            reached: 0,
            report: ExploreReport {
                strategy: strategy.name().to_string(),
                ..Default::default()
            },
            states: BTreeSet::new(),
            cut: false,
        }
    }

    fn bound(&self) -> u32 {
        match self.strategy {
            Strategy::Exhaustive { bound, .. } => bound,
            Strategy::Pct { depth } => depth,
            Strategy::Random => 0,
        }
    }

    pub fn is_finished(&self) -> bool {
        self.cur.is_none() && self.next_prefix >= self.end_prefix
    }

    /// Every prefix was taken and every deviation set (or run) of each done.
    pub fn search_complete(&self) -> bool {
        !self.cut && self.is_finished()
    }

    pub fn runs_done(&self) -> u64 {
        self.total_runs
    }

    fn next_checkpoint(&mut self) -> bool {
        while self.next_prefix < self.end_prefix {
            let p = self.next_prefix;
            self.next_prefix += 1;
            let seed = self.base_seed.wrapping_add(u64::from(p));
            if let Some(cp) = checkpoint(&self.sc, seed, &self.window) {
                self.reached += 1;
                let at = cp.recorded_choices().len() as u32;
                let stack = if self.strategy.is_exhaustive() {
                    vec![Vec::new()]
                } else {
                    Vec::new()
                };
                let width = if matches!(self.strategy, Strategy::Pct { .. }) {
                    let mut base = cp.clone();
                    base.forget_trace();
                    self.window_decisions(&mut base, at).len() as u32
                } else {
                    0
                };
                self.cur = Some(Prefix {
                    index: p,
                    cp,
                    at,
                    runs: 0,
                    stack,
                    width,
                });
                return true;
            }
        }
        false
    }

    /// Runs `sim` to its end; the option counts of the window's decisions.
    fn window_decisions(&self, sim: &mut Sim, at: u32) -> Vec<u32> {
        let end = self.window.len_ns.map(|l| sim.now.0.saturating_add(l));
        let mut last = None;
        while sim.step() {
            if last.is_none() && end.is_some_and(|e| sim.now.0 > e) {
                last = Some(sim.recorded_choices().len());
            }
        }
        let rec = sim.recorded_choices();
        let stop = last.unwrap_or(rec.len());
        rec[at as usize..stop].iter().map(|c| c.options).collect()
    }

    /// Runs up to `n` more runs; returns how many ran.
    pub fn run_chunk(&mut self, n: u64) -> u64 {
        let mut ran = 0;
        while ran < n && !self.is_finished() {
            if self.cur.is_none() && !self.next_checkpoint() {
                break;
            }
            if self.one_run() {
                ran += 1;
                self.total_runs += 1;
            }
        }
        ran
    }

    /// One run from the current checkpoint; false (and the prefix is done)
    /// when it has nothing left.
    fn one_run(&mut self) -> bool {
        let mut p = self.cur.take().expect("a checkpoint");
        let seed = self.base_seed.wrapping_add(u64::from(p.index));
        let run_index = (u64::from(p.index) << 32) | p.runs;
        let (reseed, devs) = match self.strategy {
            Strategy::Random => {
                if p.runs >= self.runs {
                    return false;
                }
                let r = Rng::child(seed ^ 0x7769_6e64_6f77, p.runs).next_u64();
                (Some(r), Vec::new())
            }
            Strategy::Pct { depth } => {
                if p.runs >= self.runs {
                    return false;
                }
                let mut r = Rng::child(seed ^ 0x0070_6374, p.runs);
                let w = p.width.max(1);
                let mut devs: Vec<(u32, u32)> = (0..depth)
                    .map(|_| (p.at + r.below(w), 1 + r.below(3)))
                    .collect();
                devs.sort_unstable();
                devs.dedup_by_key(|d| d.0);
                (None, devs)
            }
            Strategy::Exhaustive { .. } => {
                let Some(devs) = p.stack.pop() else {
                    return false;
                };
                if p.runs >= self.runs {
                    // The cap cuts this prefix's search short.
                    self.cut = true;
                    return false;
                }
                (None, devs)
            }
        };
        let mut sim = p.cp.clone();
        sim.enter_window(reseed, devs.clone());
        let r = if let Strategy::Exhaustive { bound, .. } = self.strategy {
            let opts = self.window_decisions(&mut sim, p.at);
            let values: Vec<u32> = sim.recorded_choices()[p.at as usize..]
                .iter()
                .map(|c| c.value)
                .collect();
            if (devs.len() as u32) < bound {
                let start = devs.last().map_or(0, |d| d.0 + 1 - p.at);
                // Pushed in reverse so that the lowest index is explored first.
                for i in (start..opts.len() as u32).rev() {
                    for v in (0..opts[i as usize]).rev() {
                        if v == values[i as usize] {
                            continue;
                        }
                        let mut d = devs.clone();
                        d.push((p.at + i, v));
                        p.stack.push(d);
                    }
                }
            }
            sim.finish()
        } else {
            sim.run_to_end(u64::MAX)
        };
        let src = ChoiceSource::Window {
            seed,
            at: p.at,
            reseed,
            devs,
        };
        record_run(
            &mut self.report,
            &mut self.states,
            run_index,
            src,
            &r,
            r.trace_hash,
        );
        p.runs += 1;
        self.cur = Some(p);
        true
    }

    pub fn report(&self) -> ExploreReport {
        let mut r = self.report.clone();
        r.state_hashes = self.states.iter().copied().collect();
        r
    }

    pub fn window_report(&self) -> WindowReport {
        WindowReport {
            window: Some(self.window.clone()),
            runs_per_prefix: self.runs,
            prefixes: self.prefixes,
            reached: self.reached,
            bound: self.bound(),
            complete: self.search_complete(),
        }
    }
}

/// Merges the window reports of pieces `first..end` that together cover
/// every prefix.
pub fn merge_window(parts: &[WindowReport]) -> WindowReport {
    let mut out = parts.first().cloned().unwrap_or_default();
    out.reached = parts.iter().map(|p| p.reached).sum();
    out.complete = parts.iter().all(|p| p.complete);
    out
}
