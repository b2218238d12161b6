//! The explorer: many runs of one scenario, in a stable order, in chunks, so a
//! front end can show progress, cancel, and split the work across workers or
//! machines and still get identical results.
//!
//! Strategies:
//! - `random`: run i uses the seed `base + i`.
//! - `pct`: after Burckhardt et al.'s PCT, adapted to a recorded-choice model:
//!   run i takes every decision at its default except `depth` randomly placed
//!   deviations among the first decisions of the default run; a bug of depth d
//!   is found with probability about 1/(k^d) per run.
//! - `exhaustive`: depth-first over deviations from the default run, at most
//!   `bound` of them (a delay bound), each at a decision index among the first
//!   `window` decisions. State-hash pruning: a deviation whose run reaches a
//!   state already seen right after the deviation is not explored further.
//!   That is sound only as far as `Sim::state_hash` covers the state, and it
//!   covers part of it (no page tables, page contents or locks).
//!
//! "Never" means: not in any run explored. Under sampling it is evidence, not
//! proof; under `exhaustive` it holds for every deviation set within the
//! bound and window only when the search completed (`search_complete`).

use crate::choice::ChoiceSource;
use crate::outcome::{Outcome, RunResult};
use crate::rng::Rng;
use crate::scenario::ValidScenario;
use crate::sim::Sim;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Strategy {
    Random,
    Pct { depth: u32 },
    Exhaustive { bound: u32, window: u32 },
}

impl Strategy {
    pub fn parse(s: &str) -> Option<Strategy> {
        match s {
            "random" => Some(Strategy::Random),
            "pct" => Some(Strategy::Pct { depth: 2 }),
            "exhaustive" => Some(Strategy::Exhaustive {
                bound: 1,
                window: 64,
            }),
            _ => None,
        }
    }

    pub fn name(&self) -> &'static str {
        match self {
            Strategy::Random => "random",
            Strategy::Pct { .. } => "pct",
            Strategy::Exhaustive { .. } => "exhaustive",
        }
    }

    pub fn is_exhaustive(&self) -> bool {
        matches!(self, Strategy::Exhaustive { .. })
    }
}

/// A run worth showing: how to replay it, and what it gave.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunRef {
    pub index: u64,
    pub source: ChoiceSource,
    pub outcomes: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Bucket {
    pub signature: String,
    pub count: u64,
    pub first: Vec<RunRef>,
}

/// Always / Sometimes / Never for one outcome.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Always,
    Sometimes,
    Never,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerdictLine {
    pub outcome: String,
    pub verdict: Verdict,
    pub runs: u64,
    pub hits: u64,
    /// What the scenario's [expect] asked, if anything.
    pub expected: Option<Verdict>,
    pub holds: bool,
}

impl VerdictLine {
    /// What may be said of the scenario's [expect] for this outcome. A
    /// contradiction, and a witness for "sometimes", are certain from the
    /// runs themselves; "always" and "never" are proven only by a completed
    /// exhaustive search (`proven`), and then only within its bound.
    pub fn expect_word(&self, proven: bool) -> &'static str {
        match self.expected {
            None => "",
            Some(_) if !self.holds => "contradicted",
            Some(Verdict::Sometimes) => "witnessed",
            Some(_) if proven => "holds within the bound",
            Some(_) => "not contradicted",
        }
    }
}

/// The mergeable part of an exploration.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct ExploreReport {
    pub strategy: String,
    pub runs: u64,
    /// Keys are the outcome codes of kernel.md §5.
    pub histogram: BTreeMap<String, u64>,
    pub buckets: Vec<Bucket>,
    /// Distinct executions seen (by trace hash).
    pub distinct_states: u64,
    /// Decisions taken over all runs.
    pub choice_points: u64,
    /// Runs skipped by state-hash pruning (exhaustive only).
    pub pruned: u64,
    /// The distinct trace hashes, sorted: what lets shard reports merge exactly.
    #[serde(default, with = "crate::json::u64_strings")]
    pub state_hashes: Vec<u64>,
}

pub const BUCKET_FIRST: usize = 5;

/// An incremental exploration.
pub struct Exploration {
    sc: ValidScenario,
    strategy: Strategy,
    base_seed: u64,
    total: u64,
    next: u64,
    report: ExploreReport,
    states: BTreeSet<u64>,
    /// Exhaustive: the default run's decision count, and the queue of deviation
    /// sets still to try (depth-first).
    exhaustive: Option<ExhaustiveState>,
    pct_window: u32,
}

struct ExhaustiveState {
    stack: Vec<Vec<(u32, u32)>>,
    seen_after_dev: BTreeSet<u64>,
}

impl Exploration {
    /// Runs `0..total`.
    pub fn new(sc: &ValidScenario, strategy: Strategy, base_seed: u64, total: u64) -> Exploration {
        Self::range(sc, strategy, base_seed, 0, total)
    }

    /// Shard `i` of `n` of an exploration of `total` runs: a contiguous range of
    /// run indices, so that merged shards equal one exploration.
    pub fn shard(
        sc: &ValidScenario,
        strategy: Strategy,
        base_seed: u64,
        total: u64,
        i: u64,
        n: u64,
    ) -> Exploration {
        let n = n.max(1);
        Self::range(sc, strategy, base_seed, total * i / n, total * (i + 1) / n)
    }

    /// Runs `start..end`.
    pub fn range(
        sc: &ValidScenario,
        strategy: Strategy,
        base_seed: u64,
        start: u64,
        end: u64,
    ) -> Exploration {
        let total = end;
        let mut pct_window = 0;
        let exhaustive = match strategy {
            Strategy::Exhaustive { .. } => Some(ExhaustiveState {
                stack: vec![Vec::new()],
                seen_after_dev: BTreeSet::new(),
            }),
            Strategy::Pct { .. } => {
                let mut sim = Sim::new(
                    sc,
                    ChoiceSource::Deviations {
                        seed: base_seed,
                        devs: Vec::new(),
                    },
                );
                sim.drop_trace_text();
                sim.run_to_end(u64::MAX);
                pct_window = sim.recorded_choices().len().min(4096) as u32;
                None
            }
            Strategy::Random => None,
        };
        Exploration {
            sc: sc.clone(),
            strategy,
            base_seed,
            total,
            next: start,
            report: ExploreReport {
                strategy: strategy.name().into(),
                ..Default::default()
            },
            states: BTreeSet::new(),
            exhaustive,
            pct_window,
        }
    }

    pub fn done(&self) -> u64 {
        self.next
    }

    pub fn total(&self) -> u64 {
        self.total
    }

    /// Whether an exhaustive search went through every deviation set of its
    /// bound and window; `None` for the sampling strategies, which have no
    /// end to reach. A search cut short by its run count is not complete.
    pub fn search_complete(&self) -> Option<bool> {
        self.exhaustive.as_ref().map(|e| e.stack.is_empty())
    }

    pub fn is_finished(&self) -> bool {
        self.next >= self.total || self.exhaustive.as_ref().is_some_and(|e| e.stack.is_empty())
    }

    /// The choice source of run `index` for the sampling strategies.
    pub fn source_of(
        strategy: Strategy,
        base_seed: u64,
        pct_window: u32,
        index: u64,
    ) -> ChoiceSource {
        let seed = base_seed.wrapping_add(index);
        match strategy {
            Strategy::Random | Strategy::Exhaustive { .. } => ChoiceSource::Seed(seed),
            Strategy::Pct { depth } => {
                let mut r = Rng::child(seed, 0x9c7);
                let w = pct_window.max(1);
                let mut devs: Vec<(u32, u32)> =
                    (0..depth).map(|_| (r.below(w), 1 + r.below(3))).collect();
                devs.sort_unstable();
                devs.dedup_by_key(|d| d.0);
                ChoiceSource::Deviations { seed, devs }
            }
        }
    }

    fn record(&mut self, index: u64, source: ChoiceSource, r: &RunResult, state: u64) {
        record_run(&mut self.report, &mut self.states, index, source, r, state);
    }

    /// Runs up to `n` more runs. Returns how many ran.
    pub fn run_chunk(&mut self, n: u64) -> u64 {
        let mut ran = 0;
        while ran < n && !self.is_finished() {
            let index = self.next;
            self.next += 1;
            ran += 1;
            match self.strategy {
                Strategy::Exhaustive { bound, window } => {
                    self.exhaustive_step(index, bound, window)
                }
                s => {
                    let src = Self::source_of(s, self.base_seed, self.pct_window, index);
                    let mut sim = Sim::new(&self.sc, src.clone());
                    sim.drop_trace_text();
                    let r = sim.run_to_end(u64::MAX);
                    self.record(index, src, &r, r.trace_hash);
                }
            }
        }
        ran
    }

    fn exhaustive_step(&mut self, index: u64, bound: u32, window: u32) {
        let Some(devs) = self.exhaustive.as_mut().and_then(|e| e.stack.pop()) else {
            return;
        };
        let src = ChoiceSource::Deviations {
            seed: self.base_seed,
            devs: devs.clone(),
        };
        let mut sim = Sim::new(&self.sc, src.clone());
        sim.drop_trace_text();
        // Prune: run to just past the last deviation and hash the state.
        if let Some(&(last, _)) = devs.last() {
            while (sim.recorded_choices().len() as u32) <= last && sim.step() {}
            let h = sim.state_hash();
            let ex = self.exhaustive.as_mut().expect("exhaustive state");
            if !ex.seen_after_dev.insert(h) {
                self.report.pruned += 1;
                self.report.runs += 1;
                return;
            }
        }
        let r = sim.run_to_end(u64::MAX);
        let options: Vec<u32> = sim.recorded_choices().iter().map(|c| c.options).collect();
        self.record(index, src, &r, r.trace_hash);
        // Children: one more deviation after the last one, within the window.
        if (devs.len() as u32) < bound {
            let start = devs.last().map_or(0, |d| d.0 + 1);
            let end = (options.len() as u32).min(window);
            let ex = self.exhaustive.as_mut().expect("exhaustive state");
            // Pushed in reverse so that the lowest index is explored first.
            for i in (start..end).rev() {
                for v in (1..options[i as usize]).rev() {
                    let mut d = devs.clone();
                    d.push((i, v));
                    ex.stack.push(d);
                }
            }
        }
    }

    pub fn report(&self) -> ExploreReport {
        let mut r = self.report.clone();
        r.state_hashes = self.states.iter().copied().collect();
        r
    }

    /// Verdicts per outcome, checked against the scenario's [expect].
    pub fn verdicts(&self) -> Vec<VerdictLine> {
        verdicts(&self.sc, &self.report)
    }
}

/// Adds one run to a report: histogram, distinct states, buckets.
pub(crate) fn record_run(
    report: &mut ExploreReport,
    states: &mut BTreeSet<u64>,
    index: u64,
    source: ChoiceSource,
    r: &RunResult,
    state: u64,
) {
    report.runs += 1;
    for o in &r.outcomes {
        *report.histogram.entry(o.code().to_string()).or_insert(0) += 1;
    }
    report.choice_points += r.choices;
    if states.insert(state) {
        report.distinct_states += 1;
    }
    let failing = r.outcomes.iter().any(|o| o.severity() > 0);
    if failing {
        let rr = RunRef {
            index,
            source,
            outcomes: r.outcomes.iter().map(|o| o.code().to_string()).collect(),
        };
        match report
            .buckets
            .iter_mut()
            .find(|b| b.signature == r.signature)
        {
            Some(b) => {
                b.count += 1;
                if b.first.len() < BUCKET_FIRST {
                    b.first.push(rr);
                }
            }
            None => report.buckets.push(Bucket {
                signature: r.signature.clone(),
                count: 1,
                first: vec![rr],
            }),
        }
    }
}

pub fn verdicts(sc: &ValidScenario, rep: &ExploreReport) -> Vec<VerdictLine> {
    let e = &sc.scenario.expect;
    let mut out = Vec::new();
    for o in Outcome::ALL {
        let code = o.code();
        let hits = rep.histogram.get(code).copied().unwrap_or(0);
        let verdict = if rep.runs > 0 && hits == rep.runs {
            Verdict::Always
        } else if hits > 0 {
            Verdict::Sometimes
        } else {
            Verdict::Never
        };
        let expected = if e.always.iter().any(|c| c == code) {
            Some(Verdict::Always)
        } else if e.sometimes.iter().any(|c| c == code) {
            Some(Verdict::Sometimes)
        } else if e.never.iter().any(|c| c == code) {
            Some(Verdict::Never)
        } else {
            None
        };
        let holds = match expected {
            None => true,
            Some(Verdict::Always) => verdict == Verdict::Always,
            // "sometimes" asks that it be reachable.
            Some(Verdict::Sometimes) => hits > 0,
            Some(Verdict::Never) => hits == 0,
        };
        if expected.is_some() || hits > 0 {
            out.push(VerdictLine {
                outcome: code.into(),
                verdict,
                runs: rep.runs,
                hits,
                expected,
                holds,
            });
        }
    }
    out
}

/// Combines shard reports (from `--shard I/N`) into the report of one run.
pub fn merge(reports: &[ExploreReport]) -> ExploreReport {
    let mut out = ExploreReport {
        strategy: reports
            .first()
            .map(|r| r.strategy.clone())
            .unwrap_or_default(),
        ..Default::default()
    };
    let mut states = BTreeSet::new();
    let mut buckets: BTreeMap<String, Bucket> = BTreeMap::new();
    let mut order: Vec<String> = Vec::new();
    for r in reports {
        out.runs += r.runs;
        out.choice_points += r.choice_points;
        out.pruned += r.pruned;
        for (k, v) in &r.histogram {
            *out.histogram.entry(k.clone()).or_insert(0) += v;
        }
        for h in &r.state_hashes {
            states.insert(*h);
        }
        for b in &r.buckets {
            match buckets.get_mut(&b.signature) {
                Some(x) => {
                    x.count += b.count;
                    x.first.extend(b.first.iter().cloned());
                }
                None => {
                    order.push(b.signature.clone());
                    buckets.insert(b.signature.clone(), b.clone());
                }
            }
        }
    }
    out.distinct_states = states.len() as u64;
    out.state_hashes = states.into_iter().collect();
    // Bucket order and first runs by run index, as a single exploration has them.
    let mut bs: Vec<Bucket> = buckets.into_values().collect();
    for b in &mut bs {
        b.first.sort_by_key(|r| r.index);
        b.first.truncate(BUCKET_FIRST);
    }
    bs.sort_by_key(|b| b.first.first().map_or(u64::MAX, |r| r.index));
    out.buckets = bs;
    out
}
