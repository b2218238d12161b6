//! Rewind: when was a run's outcome decided?
//!
//! After the rewind-and-replay technique of deterministic-simulation
//! testing: take M checkpoints of one run between its start and its symptom
//! (the first bad copy, or the last evidence of the worst outcome), denser
//! near the symptom; from each, run S suffixes with fresh decisions, and
//! estimate P(outcome | state at t) with a 95% Wilson interval. The point of
//! no return is the earliest checkpoint from which every later one has
//! P ≥ 0.95 (the estimate, not its lower bound).
//!
//! Suffix k of every checkpoint draws from the same fresh seed, so the result
//! depends only on (run, M, S), not on how the work is split.
//!
//! Not modelled: adaptive placement of the points, and checkpoints between
//! the events of one step.

use crate::choice::ChoiceSource;
use crate::export::last_evidence;
use crate::outcome::{Outcome, RunResult};
use crate::rng::Rng;
use crate::scenario::ValidScenario;
use crate::sim::{Sim, TaskSnap};
use crate::trace::TraceRecord;
use serde::Serialize;

/// One checkpoint's estimate.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Point {
    pub t_ns: u64,
    /// The trace record count at the checkpoint.
    pub event: u64,
    pub samples: u32,
    pub hits: u32,
    pub p: f64,
    pub low: f64,
    pub high: f64,
}

/// The point of no return and what the run looked like there.
#[derive(Clone, Debug, Serialize)]
pub struct NoReturn {
    pub t_ns: u64,
    pub event: u64,
    pub p: f64,
    /// The trace records just before the checkpoint.
    pub records: Vec<TraceRecord>,
    /// Every user thread's state and kernel stack at that moment.
    pub threads: Vec<TaskSnap>,
}

#[derive(Clone, Debug, Serialize)]
pub struct Rewind {
    pub outcome: String,
    pub points: Vec<Point>,
    pub point_of_no_return: Option<NoReturn>,
}

/// The 95% Wilson score interval of `hits` in `n`.
pub fn wilson(hits: u32, n: u32) -> (f64, f64) {
    if n == 0 {
        return (0.0, 1.0);
    }
    let (n, p) = (f64::from(n), f64::from(hits) / f64::from(n));
    let z = 1.959_963_984_540_054_f64;
    let z2 = z * z;
    let centre = (p + z2 / (2.0 * n)) / (1.0 + z2 / n);
    let half = z * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt() / (1.0 + z2 / n);
    ((centre - half).max(0.0), (centre + half).min(1.0))
}

/// The run's worst outcome, if it is not `correct`.
pub fn worst(r: &RunResult) -> Option<Outcome> {
    r.outcomes
        .iter()
        .copied()
        .filter(|o| o.severity() > 0)
        .max_by_key(|o| o.severity())
}

/// One run's rewind, a point at a time: the worker side of a rewind split
/// across threads or Web Workers. Point `i` depends only on (run, M, S, i),
/// so any split of the points gives the same estimates.
pub struct Rewinder {
    sc: ValidScenario,
    source: ChoiceSource,
    outcome: Outcome,
    /// The trace record count of each checkpoint.
    at: Vec<u64>,
    /// The run so far, at or before the next checkpoint asked for.
    sim: Sim,
}

/// What point `i` estimates, and the run at its checkpoint.
pub struct PointAt {
    pub point: Point,
    /// The trace records just before the checkpoint.
    pub records: Vec<TraceRecord>,
    /// Every thread in the kernel or on a CPU, with its kernel stack.
    pub threads: Vec<TaskSnap>,
}

impl Rewinder {
    /// `points` checkpoints of the run of `source`. `Err` when the run has
    /// nothing to rewind to (it is correct).
    pub fn new(sc: &ValidScenario, source: &ChoiceSource, points: u32) -> Result<Rewinder, String> {
        let sim = Sim::new(sc, source.clone());
        let mut whole = sim.clone();
        whole.drop_trace_text();
        let r = whole.run_to_end(u64::MAX);
        let Some(x) = worst(&r) else {
            return Err("this run is correct: there is no outcome to rewind to".into());
        };
        let symptom = last_evidence(&r).unwrap_or(r.trace_len).max(1);
        let m = points.max(1);
        // Denser near the symptom: event e_i = E·(1 − (1 − i/M)²).
        let at = (0..m)
            .map(|i| {
                let f = 1.0 - (1.0 - f64::from(i) / f64::from(m)).powi(2);
                ((symptom as f64) * f) as u64
            })
            .collect();
        Ok(Rewinder {
            sc: sc.clone(),
            source: source.clone(),
            outcome: x,
            at,
            sim,
        })
    }

    /// The outcome whose probability is estimated.
    pub fn outcome(&self) -> Outcome {
        self.outcome
    }

    pub fn len(&self) -> u32 {
        self.at.len() as u32
    }

    pub fn is_empty(&self) -> bool {
        self.at.is_empty()
    }

    /// The run at checkpoint `i` (replayed from the start if the run is
    /// already past it): a clone that keeps its trace.
    fn reach(&mut self, i: u32) -> &Sim {
        let e = self.at[i as usize];
        if self.sim.trace_total > e {
            self.sim = Sim::new(&self.sc, self.source.clone());
        }
        while self.sim.trace_total < e && self.sim.step() {}
        &self.sim
    }

    /// Point `i` with `samples` fresh suffixes (suffix k draws the same seed
    /// at every point), and the run's records and threads at it.
    pub fn point(&mut self, i: u32, samples: u32) -> PointAt {
        let e = self.at[i as usize];
        let (x, base) = (self.outcome, self.source.seed());
        let cur = self.reach(i);
        let recs = cur.trace();
        let records = recs[recs.len().saturating_sub(8)..].to_vec();
        let threads = cur
            .snapshot()
            .tasks
            .into_iter()
            .filter(|t| !t.kernel_stack.is_empty() || t.on_cpu)
            .collect();
        let mut cp = cur.clone();
        cp.forget_trace();
        // The suffixes are counted, not read.
        cp.drop_trace_text();
        let mut hits = 0;
        for k in 0..samples {
            let mut s = cp.clone();
            let seed = Rng::child(base ^ 0x7265_7769_6e64, u64::from(k)).next_u64();
            s.enter_window(Some(seed), Vec::new());
            let rr = s.run_to_end(u64::MAX);
            hits += u32::from(rr.outcomes.contains(&x));
        }
        PointAt {
            point: Point::new(cp.now.0, e, samples, hits),
            records,
            threads,
        }
    }
}

impl Point {
    /// The estimate and its 95% Wilson interval from the counts.
    pub fn new(t_ns: u64, event: u64, samples: u32, hits: u32) -> Point {
        let p = f64::from(hits) / f64::from(samples.max(1));
        let (low, high) = wilson(hits, samples);
        Point {
            t_ns,
            event,
            samples,
            hits,
            p,
            low,
            high,
        }
    }
}

/// The index of the point of no return: the earliest point from which
/// every later one has P ≥ 0.95.
pub fn point_of_no_return(points: &[Point]) -> Option<usize> {
    (0..points.len()).find(|&i| points[i..].iter().all(|p| p.p >= 0.95))
}

/// Rewinds the run of `source`: `points` checkpoints, `samples` suffixes
/// each. `Err` when the run has nothing to rewind to (it is correct).
pub fn rewind(
    sc: &ValidScenario,
    source: &ChoiceSource,
    points: u32,
    samples: u32,
) -> Result<Rewind, String> {
    let mut rw = Rewinder::new(sc, source, points)?;
    let all: Vec<PointAt> = (0..rw.len()).map(|i| rw.point(i, samples)).collect();
    let out: Vec<Point> = all.iter().map(|a| a.point.clone()).collect();
    let point_of_no_return = point_of_no_return(&out).map(|i| {
        let a = &all[i];
        NoReturn {
            t_ns: a.point.t_ns,
            event: a.point.event,
            p: a.point.p,
            records: a.records.clone(),
            threads: a.threads.clone(),
        }
    });
    Ok(Rewind {
        outcome: rw.outcome().code().to_string(),
        points: out,
        point_of_no_return,
    })
}
