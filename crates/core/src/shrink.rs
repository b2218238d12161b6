//! Shrinking: delta debugging (ddmin, Zeller & Hildebrandt) over a run's
//! deviations from the default decisions.
//!
//! A run's recorded choices are turned into the set of its non-default
//! decisions; a candidate subset is tested by running with only those
//! deviations (every other decision at its default). Before ddmin, a pre-pass
//! tries dropping every deviation of one kind at once (all jitter, all IPI
//! latencies, ...), which removes most of a seeded run's thousands of
//! deviations in a handful of runs, and a bisection cuts the deviations after
//! (and long before) the ones that matter. If ddmin finishes within the budget the
//! result is 1-minimal; the shrinker then checks each remaining deviation by
//! removing it, so the critical choices it reports are critical by test, not by
//! assumption. A budget that runs out leaves the result unverified, and says so.
//!
//! First, where the scenario allows it, the thread counts of its
//! `[[process.thread]]` entries are lowered (halving, then one by one) while the
//! outcome holds with the same choices; the result carries that smaller
//! scenario. Not done: lowering deviation values (a deviation is kept with its
//! value), and removing whole processes or program statements.

use crate::choice::{Choice, ChoiceKind, ChoiceSource};
use crate::outcome::{Outcome, RunResult};
use crate::scenario::{validate, ValidScenario};
use crate::sim::Sim;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CriticalChoice {
    /// Index of the decision in the run.
    pub index: u32,
    /// The value the shrunk run took there (in `0..options`).
    pub value: u32,
    pub kind: String,
    pub options: u32,
    /// Index of the trace record that follows the decision.
    pub near_event: u64,
}

#[derive(Clone, Debug, Serialize)]
pub struct ShrinkResult {
    /// The scenario of the shrunk run: the input with fewer threads where
    /// that kept the outcome.
    #[serde(skip)]
    pub scenario: ValidScenario,
    pub threads_before: u32,
    pub threads_after: u32,
    pub source: ChoiceSource,
    pub critical: Vec<CriticalChoice>,
    /// True when ddmin reached a 1-minimal set and every deviation left was
    /// checked; false when the run budget ran out first.
    pub minimal: bool,
    pub runs: u64,
    pub original_choices: u64,
    pub original_deviations: u64,
    pub original_steps: u64,
    pub result: RunResult,
}

fn run_devs(sc: &ValidScenario, seed: u64, devs: &[(u32, u32)]) -> (RunResult, Vec<Choice>) {
    let mut sim = Sim::new(
        sc,
        ChoiceSource::Deviations {
            seed,
            devs: devs.to_vec(),
        },
    );
    sim.drop_trace_text();
    let r = sim.run_to_end(u64::MAX);
    (r, sim.recorded_choices().to_vec())
}

fn thread_count(sc: &ValidScenario) -> u32 {
    sc.scenario
        .processes
        .iter()
        .flat_map(|p| p.threads.iter())
        .map(|t| t.count)
        .sum()
}

/// Lowers thread counts while `target` still shows with the same choices.
fn shrink_threads(
    sc: &ValidScenario,
    source: &ChoiceSource,
    target: Outcome,
    max_runs: u64,
    runs: &mut u64,
    progress: &mut dyn FnMut(u64),
) -> ValidScenario {
    let mut best = sc.clone();
    let entries: Vec<(usize, usize)> = sc
        .scenario
        .processes
        .iter()
        .enumerate()
        .flat_map(|(pi, p)| (0..p.threads.len()).map(move |ti| (pi, ti)))
        .collect();
    for (pi, ti) in entries {
        loop {
            let count = best.scenario.processes[pi].threads[ti].count;
            if count <= 1 || *runs >= max_runs {
                break;
            }
            let mut accepted = false;
            // Halve first, then one at a time.
            for next in [count / 2, count - 1] {
                if next == 0 || next >= count || *runs >= max_runs {
                    continue;
                }
                let mut cand = best.scenario.clone();
                cand.processes[pi].threads[ti].count = next;
                let Ok(v) = validate(cand, None) else {
                    continue;
                };
                *runs += 1;
                progress(*runs);
                if crate::run(&v, source.clone()).has(target) {
                    best = v;
                    accepted = true;
                    break;
                }
            }
            if !accepted {
                break;
            }
        }
    }
    best
}

/// Shrinks a run that shows `target`. Returns None if the run does not show it.
/// `max_runs` bounds every test run, the final checks included; `progress` is
/// called after each one with the number of runs so far.
pub fn shrink(
    sc: &ValidScenario,
    source: &ChoiceSource,
    target: Outcome,
    max_runs: u64,
    progress: &mut dyn FnMut(u64),
) -> Option<ShrinkResult> {
    let mut first = Sim::new(sc, source.clone());
    let orig = first.run_to_end(u64::MAX);
    if !orig.has(target) {
        return None;
    }
    let original_choices = first.recorded_choices().len() as u64;
    let original_deviations = first
        .recorded_choices()
        .iter()
        .filter(|c| c.value != 0)
        .count() as u64;
    drop(first);
    let threads_before = thread_count(sc);
    let mut runs = 1u64;
    // When the default schedule alone shows the outcome, that is the answer;
    // threads are then lowered under it, not under the original decisions
    // (which, on fewer threads, may no longer reach the outcome without
    // thousands of them).
    let seed = source.seed();
    let zero = ChoiceSource::Deviations {
        seed,
        devs: Vec::new(),
    };
    runs += 1;
    progress(runs);
    let source = if crate::run(sc, zero.clone()).has(target) {
        &zero
    } else {
        source
    };
    let small = shrink_threads(sc, source, target, max_runs, &mut runs, progress);
    let sc = &small;
    let mut sim = Sim::new(sc, source.clone());
    sim.run_to_end(u64::MAX);
    runs += 1;
    let rec = sim.recorded_choices().to_vec();
    let mut devs: Vec<(u32, u32)> = rec
        .iter()
        .enumerate()
        .filter(|(_, c)| c.value != 0)
        .map(|(i, c)| (i as u32, c.value))
        .collect();
    let mut test = |d: &[(u32, u32)], runs: &mut u64| -> bool {
        *runs += 1;
        progress(*runs);
        run_devs(sc, seed, d).0.has(target)
    };
    let mut complete = true;
    if test(&[], &mut runs) {
        devs.clear();
    } else {
        // Pre-pass: whole kinds of decisions at once.
        let mut kinds: Vec<ChoiceKind> = devs.iter().map(|(i, _)| rec[*i as usize].kind).collect();
        kinds.sort();
        kinds.dedup();
        for k in kinds {
            if runs >= max_runs {
                break;
            }
            let without: Vec<(u32, u32)> = devs
                .iter()
                .copied()
                .filter(|(i, _)| rec[*i as usize].kind != k)
                .collect();
            if without.len() < devs.len() && test(&without, &mut runs) {
                devs = without;
            }
        }
        // Bisect the shortest prefix, then the shortest suffix of that, that
        // still shows the outcome: a seeded run's decisions after the
        // corruption, and often those long before it, do not matter, and
        // this finds that in a few dozen runs where ddmin would need
        // thousands. Not monotone, so only a tested cut is kept.
        let mut lo = 0;
        let mut hi = devs.len();
        while hi - lo > 1 && runs < max_runs {
            let mid = lo + (hi - lo) / 2;
            if test(&devs[..mid], &mut runs) {
                hi = mid;
            } else {
                lo = mid;
            }
        }
        devs.truncate(hi);
        let (mut lo, mut hi) = (0, devs.len());
        while hi - lo > 1 && runs < max_runs {
            let mid = lo + (hi - lo) / 2;
            if test(&devs[mid..], &mut runs) {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        devs.drain(..lo);
        // ddmin.
        let mut n = 2usize;
        while devs.len() >= 2 {
            if runs >= max_runs {
                complete = false;
                break;
            }
            let chunk = devs.len().div_ceil(n);
            let mut reduced = false;
            let mut start = 0;
            while start < devs.len() && runs < max_runs {
                let end = (start + chunk).min(devs.len());
                let complement: Vec<(u32, u32)> = devs[..start]
                    .iter()
                    .chain(devs[end..].iter())
                    .copied()
                    .collect();
                if test(&complement, &mut runs) {
                    devs = complement;
                    n = (n - 1).max(2);
                    reduced = true;
                    break;
                }
                start = end;
            }
            if !reduced {
                if runs >= max_runs {
                    complete = false;
                    break;
                }
                if n >= devs.len() {
                    break;
                }
                n = (2 * n).min(devs.len());
            }
        }
    }
    let (result, choices) = run_devs(sc, seed, &devs);
    runs += 1;
    // Verify criticality one by one, within what is left of the budget.
    let mut critical = Vec::new();
    if complete {
        for k in 0..devs.len() {
            if runs >= max_runs {
                complete = false;
                break;
            }
            let without: Vec<(u32, u32)> = devs
                .iter()
                .enumerate()
                .filter(|(j, _)| *j != k)
                .map(|(_, d)| *d)
                .collect();
            if !test(&without, &mut runs) {
                let i = devs[k].0;
                if let Some(c) = choices.get(i as usize) {
                    critical.push(CriticalChoice {
                        index: i,
                        value: c.value,
                        kind: c.kind.name().to_string(),
                        options: c.options,
                        near_event: c.event,
                    });
                }
            }
        }
    }
    Some(ShrinkResult {
        scenario: small.clone(),
        threads_before,
        threads_after: thread_count(&small),
        source: ChoiceSource::Deviations { seed, devs },
        critical,
        minimal: complete,
        runs,
        original_choices,
        original_deviations,
        original_steps: orig.steps,
        result,
    })
}
