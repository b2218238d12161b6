//! The explorer panel's model: an exploration cut into contiguous pieces of
//! run indices, pieces handed to Web Workers, and their reports merged with
//! core's `explore::merge` in range order, so the result is the same whatever
//! the number of workers (and equal to `oomlab explore --json`, which cuts and
//! merges the same way). Exhaustive search is one depth-first sequence, so it
//! runs in one worker, chunk by chunk, and each chunk replaces the report.
//!
//! A window exploration (a trigger, K prefixes, and for exhaustive a bound)
//! is cut by whole prefixes: piece p is prefix p, explored with core's
//! `WindowExploration::range`, so an exhaustive window search uses every
//! worker and still merges to the report of `oomlab explore --window`
//! (run indices carry their prefix, and `merge` orders by them).
//!
//! Also the worker side: `run_piece` and `exhaustive_chunk` are what a worker
//! executes (the wasm exports in `lib.rs` only convert arguments). Everything
//! here is target independent and tested natively, including "any number of
//! workers gives the same report".
//!
//! Not done: cancelling a piece half-way (a cancelled exploration terminates
//! its workers; a paused one lets the pieces in flight finish).

use crate::wire;
use oomlab_core::explore::{self, Exploration, ExploreReport, Strategy, VerdictLine};
use oomlab_core::window::{merge_window, Window, WindowExploration, WindowReport};
use oomlab_core::{parse_scenario, ValidScenario};
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;

/// Runs per piece: small enough for a live histogram, large enough that a
/// worker message costs nothing next to the runs.
pub const PIECE_RANDOM: u64 = 10;
/// PCT's ranges each run the default schedule once first: larger pieces.
pub const PIECE_PCT: u64 = 25;
/// Runs per message of an exhaustive search.
pub const CHUNK_EXHAUSTIVE: u64 = 10;
pub const MAX_RUNS: u64 = 1_000_000;
/// The most prefixes a window exploration in the page may take.
pub const MAX_PREFIXES: u32 = 10_000;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StrategyKind {
    Random,
    Pct,
    Exhaustive,
}

impl StrategyKind {
    pub const ALL: [StrategyKind; 3] = [
        StrategyKind::Random,
        StrategyKind::Pct,
        StrategyKind::Exhaustive,
    ];

    pub fn name(self) -> &'static str {
        match self {
            StrategyKind::Random => "random",
            StrategyKind::Pct => "pct",
            StrategyKind::Exhaustive => "exhaustive",
        }
    }

    pub fn parse(s: &str) -> Option<StrategyKind> {
        StrategyKind::ALL.into_iter().find(|k| k.name() == s)
    }

    /// Core's strategy with the CLI's defaults.
    pub fn strategy(self) -> Strategy {
        Strategy::parse(self.name()).expect("core knows every strategy name")
    }
}

/// Contiguous run ranges covering `0..total`.
pub fn pieces(kind: StrategyKind, total: u64) -> Vec<(u64, u64)> {
    let size = match kind {
        StrategyKind::Random => PIECE_RANDOM,
        StrategyKind::Pct => PIECE_PCT,
        StrategyKind::Exhaustive => return vec![(0, total)],
    };
    (0..total.div_ceil(size))
        .map(|i| (i * size, ((i + 1) * size).min(total)))
        .collect()
}

/// What a window exploration was asked to do.
#[derive(Clone, Debug, PartialEq)]
pub struct WindowJob {
    /// As typed (`kill:2ms`): what the workers parse.
    pub spec: String,
    pub window: Window,
    pub prefixes: u32,
    /// At most this many deviations (exhaustive only; 0 otherwise).
    pub bound: u32,
}

/// Core's strategy for a window exploration: exhaustive over every decision
/// in the window, with the bound.
pub fn window_strategy(kind: StrategyKind, bound: u32) -> Strategy {
    match kind {
        StrategyKind::Exhaustive => Strategy::Exhaustive {
            bound,
            window: u32::MAX,
        },
        k => k.strategy(),
    }
}

/// One exploration as started.
#[derive(Clone, Debug, PartialEq)]
pub struct ExploreJob {
    pub id: u64,
    pub scenario: Rc<ValidScenario>,
    /// Canonical text: what the workers parse.
    pub text: String,
    pub kind: StrategyKind,
    pub base_seed: u64,
    pub total: u64,
    pub pieces: Vec<(u64, u64)>,
    pub workers: u32,
    /// A window exploration: pieces are prefix ranges, `total` is runs per
    /// prefix (for exhaustive, a cap per prefix).
    pub window: Option<WindowJob>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExploreStatus {
    Idle,
    Running,
    Paused,
    Done,
    Cancelled,
    /// The scenario was edited: the exploration stopped and its results
    /// describe the previous text.
    Stale,
}

#[derive(Clone, Debug, PartialEq)]
pub struct ExplorerState {
    pub kind: StrategyKind,
    pub runs: u64,
    pub base_seed: u64,
    /// A window spec (`kill`, `reap:2ms`, `func=NAME`, `time=300ms`); empty:
    /// whole runs.
    pub window: String,
    pub prefixes: u32,
    pub bound: u32,
    /// Workers to use; 0: one per logical CPU (`navigator.hardwareConcurrency`).
    pub workers: u32,
    pub job: Option<Rc<ExploreJob>>,
    pub status: ExploreStatus,
    /// Reports of finished pieces by their first run index.
    pub parts: BTreeMap<u64, Rc<ExploreReport>>,
    /// A window exploration: each piece's prefixes reached and whether it
    /// covered everything it was asked to.
    pub window_parts: Vec<(u64, WindowReport)>,
    /// Everything finished so far, merged (the final report once done).
    pub report: Rc<ExploreReport>,
    pub verdicts: Vec<VerdictLine>,
    pub done: u64,
    /// Wall time spent running (pauses excluded), and when the current
    /// stretch started.
    pub active_ms: f64,
    pub since_ms: Option<f64>,
    pub error: Option<String>,
}

impl Default for ExplorerState {
    fn default() -> Self {
        ExplorerState {
            kind: StrategyKind::Random,
            runs: 2000,
            base_seed: 0,
            window: String::new(),
            prefixes: 5,
            bound: 1,
            workers: 0,
            job: None,
            status: ExploreStatus::Idle,
            parts: BTreeMap::new(),
            window_parts: Vec::new(),
            report: Rc::new(ExploreReport::default()),
            verdicts: Vec::new(),
            done: 0,
            active_ms: 0.0,
            since_ms: None,
            error: None,
        }
    }
}

impl ExplorerState {
    pub fn busy(&self) -> bool {
        matches!(self.status, ExploreStatus::Running | ExploreStatus::Paused)
    }

    /// The window asked for: `None` for whole runs.
    pub fn window_job(&self) -> Result<Option<WindowJob>, String> {
        let spec = self.window.trim();
        if spec.is_empty() {
            return Ok(None);
        }
        let window = Window::parse(spec).map_err(|e| format!("Window: {e}"))?;
        if self.prefixes == 0 || self.prefixes > MAX_PREFIXES {
            return Err(format!("Prefixes must be between 1 and {MAX_PREFIXES}"));
        }
        let bound = if self.kind == StrategyKind::Exhaustive {
            if !(1..=3).contains(&self.bound) {
                return Err("Bound must be 1, 2 or 3".into());
            }
            self.bound
        } else {
            0
        };
        Ok(Some(WindowJob {
            spec: spec.to_string(),
            window,
            prefixes: self.prefixes,
            bound,
        }))
    }

    /// Starts a new exploration of `sc` with the panel's settings.
    pub fn start(&mut self, id: u64, sc: Rc<ValidScenario>, workers: u32, now_ms: f64) {
        let total = self.runs.clamp(1, MAX_RUNS);
        self.runs = total;
        let window = match self.window_job() {
            Ok(w) => w,
            Err(e) => {
                self.error = Some(e);
                return;
            }
        };
        let (pieces, workers) = match &window {
            // Whole prefixes: every worker, whatever the strategy.
            Some(w) => (
                (0..u64::from(w.prefixes)).map(|p| (p, p + 1)).collect(),
                workers.max(1).min(w.prefixes),
            ),
            // A whole-run exhaustive search is one depth-first sequence
            // whose pruning depends on every run before: one worker.
            None if self.kind == StrategyKind::Exhaustive => (pieces(self.kind, total), 1),
            None => (pieces(self.kind, total), workers.max(1)),
        };
        let job = ExploreJob {
            id,
            text: sc.scenario.to_canonical_toml(),
            scenario: sc,
            kind: self.kind,
            base_seed: self.base_seed,
            total,
            pieces,
            workers,
            window,
        };
        self.job = Some(Rc::new(job));
        self.status = ExploreStatus::Running;
        self.parts.clear();
        self.window_parts.clear();
        self.report = Rc::new(ExploreReport {
            strategy: self.kind.name().into(),
            ..Default::default()
        });
        self.verdicts.clear();
        self.done = 0;
        self.active_ms = 0.0;
        self.since_ms = Some(now_ms);
        self.error = None;
    }

    fn job_id(&self) -> Option<u64> {
        self.job.as_ref().map(|j| j.id)
    }

    fn accepts(&self, id: u64) -> bool {
        self.job_id() == Some(id) && self.busy()
    }

    fn refresh(&mut self) {
        if let Some(j) = &self.job {
            self.verdicts = explore::verdicts(&j.scenario, &self.report);
        }
    }

    fn stop_clock(&mut self, now_ms: f64) {
        if let Some(s) = self.since_ms.take() {
            self.active_ms += (now_ms - s).max(0.0);
        }
    }

    /// A worker finished the window piece starting at prefix `start`.
    pub fn window_piece_done(
        &mut self,
        id: u64,
        start: u64,
        report: ExploreReport,
        window: WindowReport,
        now_ms: f64,
    ) {
        if !self.accepts(id) || self.parts.contains_key(&start) {
            return;
        }
        self.window_parts.push((start, window));
        self.piece_done(id, start, report, now_ms);
    }

    /// What the window exploration covered so far; `complete` only when
    /// every piece is in and each covered everything it was asked to.
    pub fn window_report(&self) -> Option<WindowReport> {
        let j = self.job.as_ref()?;
        let w = j.window.as_ref()?;
        let parts: Vec<WindowReport> = self.window_parts.iter().map(|p| p.1.clone()).collect();
        let mut r = merge_window(&parts);
        r.window = Some(w.window.clone());
        r.prefixes = w.prefixes;
        r.bound = w.bound;
        r.runs_per_prefix = j.total;
        r.complete = r.complete
            && self.window_parts.len() == j.pieces.len()
            && self.status == ExploreStatus::Done;
        Some(r)
    }

    /// Whether the exploration did everything it was asked to: every run
    /// (sampling), every deviation set within the bound (exhaustive).
    pub fn complete(&self) -> bool {
        if let Some(w) = self.window_report() {
            return w.complete;
        }
        let Some(j) = &self.job else { return false };
        self.status == ExploreStatus::Done
            && match j.kind {
                // Out of deviation sets before the run cap.
                StrategyKind::Exhaustive => self.report.runs < j.total,
                _ => true,
            }
    }

    /// Whether "always" and "never" are proven (within the bound): only
    /// for a completed exhaustive search.
    pub fn proven(&self) -> bool {
        self.complete()
            && self
                .job
                .as_ref()
                .is_some_and(|j| j.kind == StrategyKind::Exhaustive)
    }

    /// What was explored, in one sentence, and what "never" can mean for it.
    /// Never a proof claim for a search that was cut short.
    pub fn scope(&self) -> String {
        let Some(j) = &self.job else {
            return String::new();
        };
        let r = &self.report;
        let complete = self.complete();
        let stopped = match self.status {
            ExploreStatus::Cancelled => " (cancelled)",
            ExploreStatus::Stale => " (stopped: the scenario was edited)",
            ExploreStatus::Running | ExploreStatus::Paused => " (still running)",
            _ => "",
        };
        let state = if complete {
            "complete".to_string()
        } else {
            format!("incomplete{stopped}")
        };
        let runs = r.runs;
        let Some(w) = self.window_report() else {
            return match j.kind {
                StrategyKind::Exhaustive if complete => format!(
                    "exhaustive, complete: in none of the {runs} schedules with at \
                     most one deviation from the default among the first 64 decisions; \
                     \"never\" holds within that bound only"
                ),
                StrategyKind::Exhaustive if self.status == ExploreStatus::Done => format!(
                    "exhaustive, incomplete: the search reached its cap of {} runs before it \
                     covered its bound; \"never\" means only none of those runs, which \
                     is evidence, not proof",
                    j.total
                ),
                StrategyKind::Exhaustive => format!(
                    "exhaustive, {state}: stopped after {runs} runs; \"never\" means only none \
                     of those runs, which is evidence, not proof"
                ),
                k => format!(
                    "sampled: {runs} of {} {} runs, {state}; \"never\" means none of them, which \
                     is evidence, not proof",
                    j.total,
                    k.name()
                ),
            };
        };
        let win = w.window.as_ref().map_or(String::new(), |x| x.describe());
        let last = u64::from(w.prefixes).saturating_sub(1);
        let seeds = format!(
            "{} prefix{} (seeds {}–{}), {} of {} done, {} reached the trigger",
            w.prefixes,
            if w.prefixes == 1 { "" } else { "es" },
            j.base_seed,
            j.base_seed.saturating_add(last),
            self.window_parts.len(),
            w.prefixes,
            w.reached
        );
        let of = format!("for these {} prefixes", w.prefixes);
        match j.kind {
            StrategyKind::Exhaustive => {
                let head = format!(
                    "exhaustive, window {win}, {seeds}, bound {}, at most {} runs per prefix, \
                     {runs} runs: {state}",
                    w.bound, j.total
                );
                if complete {
                    format!(
                        "{head}. \"never\" means: in none of the {runs} interleavings with at \
                         most {} deviation{} in the window {win}, {of}",
                        w.bound,
                        if w.bound == 1 { "" } else { "s" }
                    )
                } else {
                    let why = if self.status == ExploreStatus::Done {
                        " (a prefix's search reached the cap on runs per prefix)"
                    } else {
                        ""
                    };
                    format!(
                        "{head}{why}. \"never\" means only in none of the {runs} runs explored \
                         in the window {win}, {of}; evidence, not proof"
                    )
                }
            }
            k => format!(
                "{}, window {win}, {seeds}, {} runs per prefix, {runs} runs: {state}. \"never\" \
                 means: in none of the {runs} sampled runs in the window {win}, {of}; evidence, \
                 not proof",
                k.name(),
                j.total
            ),
        }
    }

    /// A worker finished the piece starting at `start`.
    pub fn piece_done(&mut self, id: u64, start: u64, report: ExploreReport, now_ms: f64) {
        if !self.accepts(id) || self.parts.contains_key(&start) {
            return;
        }
        self.done += report.runs;
        let r = Rc::new(report);
        self.parts.insert(start, r.clone());
        let total = self.job.as_ref().map_or(0, |j| j.pieces.len());
        if self.parts.len() == total {
            // In range order, as the command line merges its pieces.
            let all: Vec<ExploreReport> = self.parts.values().map(|r| (**r).clone()).collect();
            self.report = Rc::new(explore::merge(&all));
            self.stop_clock(now_ms);
            self.status = ExploreStatus::Done;
        } else {
            self.report = Rc::new(explore::merge(&[(*self.report).clone(), (*r).clone()]));
        }
        self.refresh();
    }

    /// An exhaustive search reports everything so far.
    pub fn chunk_done(&mut self, id: u64, report: ExploreReport, finished: bool, now_ms: f64) {
        if !self.accepts(id) {
            return;
        }
        self.done = report.runs;
        self.report = Rc::new(report);
        if finished {
            self.stop_clock(now_ms);
            self.status = ExploreStatus::Done;
        }
        self.refresh();
    }

    pub fn fail(&mut self, id: u64, message: String, now_ms: f64) {
        if self.job_id() == Some(id) && self.busy() {
            self.stop_clock(now_ms);
            self.status = ExploreStatus::Cancelled;
            self.error = Some(message);
        }
    }

    pub fn pause(&mut self, now_ms: f64) {
        if self.status == ExploreStatus::Running {
            self.stop_clock(now_ms);
            self.status = ExploreStatus::Paused;
        }
    }

    pub fn resume(&mut self, now_ms: f64) {
        if self.status == ExploreStatus::Paused {
            self.since_ms = Some(now_ms);
            self.status = ExploreStatus::Running;
        }
    }

    pub fn cancel(&mut self, now_ms: f64) {
        if self.busy() {
            self.stop_clock(now_ms);
            self.status = ExploreStatus::Cancelled;
        }
    }

    /// The scenario changed under the exploration.
    pub fn mark_stale(&mut self, now_ms: f64) {
        if self.job.is_some() && self.status != ExploreStatus::Stale {
            self.stop_clock(now_ms);
            self.status = ExploreStatus::Stale;
        }
    }

    pub fn total(&self) -> u64 {
        self.job.as_ref().map_or(self.runs, |j| match &j.window {
            Some(w) => j.total.saturating_mul(u64::from(w.prefixes)),
            None => j.total,
        })
    }

    /// Runs per second over the time spent running, up to `now_ms`.
    pub fn rate(&self, now_ms: f64) -> f64 {
        let ms = self.active_ms + self.since_ms.map_or(0.0, |s| (now_ms - s).max(0.0));
        if ms <= 0.0 {
            0.0
        } else {
            self.done as f64 * 1000.0 / ms
        }
    }

    /// Seconds left at the current rate.
    pub fn eta_s(&self, now_ms: f64) -> Option<f64> {
        let r = self.rate(now_ms);
        (r > 0.0 && self.status == ExploreStatus::Running)
            .then(|| self.total().saturating_sub(self.done) as f64 / r)
    }
}

// -- worker side ------------------------------------------------------------

thread_local! {
    /// The last scenario a worker parsed: every piece of an exploration
    /// carries the same text.
    static PARSED: RefCell<Option<(String, Rc<ValidScenario>)>> = const { RefCell::new(None) };
    /// The exhaustive search a worker is in the middle of.
    static EXHAUSTIVE: RefCell<Option<(String, Exploration)>> = const { RefCell::new(None) };
}

pub(crate) fn parsed(text: &str) -> Result<Rc<ValidScenario>, String> {
    PARSED.with(|p| {
        let mut p = p.borrow_mut();
        if let Some((t, sc)) = p.as_ref() {
            if t == text {
                return Ok(sc.clone());
            }
        }
        let sc = Rc::new(parse_scenario(text).map_err(|e| crate::view::errors_line(&e))?);
        *p = Some((text.to_string(), sc.clone()));
        Ok(sc)
    })
}

/// Runs `start..end` of a sampling exploration; the report as wire text.
pub fn run_piece(
    text: &str,
    strategy: &str,
    base_seed: u64,
    start: u64,
    end: u64,
) -> Result<String, String> {
    let kind = StrategyKind::parse(strategy).ok_or_else(|| format!("strategy `{strategy}`"))?;
    if kind == StrategyKind::Exhaustive {
        return Err("an exhaustive search has no independent pieces".into());
    }
    let sc = parsed(text)?;
    let mut ex = Exploration::range(&sc, kind.strategy(), base_seed, start, end);
    while !ex.is_finished() {
        ex.run_chunk(1);
    }
    Ok(wire::report_to_text(&ex.report()))
}

/// Explores prefixes `start..end` of a window exploration; its report and
/// its window report as wire text.
#[allow(clippy::too_many_arguments)]
pub fn run_window_piece(
    text: &str,
    strategy: &str,
    base_seed: u64,
    spec: &str,
    prefixes: u32,
    runs: u64,
    bound: u32,
    start: u32,
    end: u32,
) -> Result<String, String> {
    let kind = StrategyKind::parse(strategy).ok_or_else(|| format!("strategy `{strategy}`"))?;
    let window = Window::parse(spec)?;
    let sc = parsed(text)?;
    let mut ex = WindowExploration::range(
        &sc,
        window,
        window_strategy(kind, bound),
        base_seed,
        prefixes,
        runs,
        start,
        end,
    );
    while !ex.is_finished() {
        ex.run_chunk(1);
    }
    Ok(wire::window_piece_to_text(
        &ex.report(),
        &ex.window_report(),
    ))
}

/// Runs `n` more runs of an exhaustive search of `total` runs (started on
/// the first call for this text and seed). Returns the report so far, the
/// runs done and whether the search is over.
pub fn exhaustive_chunk(
    text: &str,
    base_seed: u64,
    total: u64,
    n: u64,
) -> Result<(String, u64, bool), String> {
    let key = format!("{base_seed}/{total}\n{text}");
    let sc = parsed(text)?;
    EXHAUSTIVE.with(|e| {
        let mut e = e.borrow_mut();
        if e.as_ref().map(|x| &x.0) != Some(&key) {
            let ex = Exploration::new(&sc, StrategyKind::Exhaustive.strategy(), base_seed, total);
            *e = Some((key.clone(), ex));
        }
        let ex = &mut e.as_mut().expect("just set").1;
        ex.run_chunk(n);
        let finished = ex.is_finished();
        let out = (wire::report_to_text(&ex.report()), ex.done(), finished);
        if finished {
            *e = None;
        }
        Ok(out)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use oomlab_core::presets;

    /// A pool of `workers` that takes pieces in order and finishes them in
    /// an order that depends on the pool size, as real workers would.
    fn explore_with(workers: usize, total: u64) -> ExploreReport {
        let sc = Rc::new(presets::find("r1").unwrap().load());
        let mut st = ExplorerState {
            runs: total,
            ..Default::default()
        };
        st.start(1, sc, workers as u32, 0.0);
        let job = st.job.clone().unwrap();
        let mut queue: Vec<(u64, u64)> = job.pieces.clone();
        queue.reverse();
        let mut slots: Vec<Option<(u64, u64)>> = vec![None; workers];
        let mut t = 0.0;
        while st.status == ExploreStatus::Running {
            for s in slots.iter_mut() {
                if s.is_none() {
                    *s = queue.pop();
                }
            }
            // The last busy slot finishes first.
            let k = slots.iter().rposition(|s| s.is_some()).unwrap();
            let (a, b) = slots[k].take().unwrap();
            let text = run_piece(&job.text, "random", 0, a, b).unwrap();
            t += 10.0;
            st.piece_done(1, a, wire::report_from_text(&text).unwrap(), t);
        }
        assert_eq!(st.status, ExploreStatus::Done);
        assert_eq!(st.done, total);
        (*st.report).clone()
    }

    #[test]
    fn the_report_does_not_depend_on_the_number_of_workers() {
        let total = 35;
        let one = explore_with(1, total);
        for w in [2, 3, 8] {
            assert_eq!(explore_with(w, total), one, "{w} workers");
        }
        // And it is the report of one uncut exploration (what the CLI prints).
        let sc = presets::find("r1").unwrap().load();
        let mut ex = Exploration::new(&sc, Strategy::Random, 0, total);
        while !ex.is_finished() {
            ex.run_chunk(1);
        }
        assert_eq!(one, explore::merge(&[ex.report()]));
        assert_eq!(one.runs, total);
    }

    /// A window exploration over a pool of `workers`, pieces finishing in an
    /// order that depends on the pool size.
    fn window_with(workers: usize, runs: u64) -> ExplorerState {
        let sc = Rc::new(presets::find("r2").unwrap().load());
        let mut st = ExplorerState {
            kind: StrategyKind::Exhaustive,
            runs,
            window: "kill".into(),
            prefixes: 3,
            bound: 1,
            ..Default::default()
        };
        st.start(1, sc, workers as u32, 0.0);
        let job = st.job.clone().unwrap();
        assert_eq!(
            job.workers as usize,
            workers.min(3),
            "every worker, up to one a prefix"
        );
        let w = job.window.clone().unwrap();
        let mut queue = job.pieces.clone();
        queue.reverse();
        let mut slots: Vec<Option<(u64, u64)>> = vec![None; job.workers as usize];
        while st.status == ExploreStatus::Running {
            for s in slots.iter_mut() {
                if s.is_none() {
                    *s = queue.pop();
                }
            }
            let k = slots.iter().rposition(|s| s.is_some()).unwrap();
            let (a, b) = slots[k].take().unwrap();
            let text = run_window_piece(
                &job.text,
                "exhaustive",
                0,
                &w.spec,
                w.prefixes,
                job.total,
                w.bound,
                a as u32,
                b as u32,
            )
            .unwrap();
            let (r, wr) = wire::window_piece_from_text(&text).unwrap();
            st.window_piece_done(1, a, r, wr, 10.0);
        }
        assert_eq!(st.status, ExploreStatus::Done);
        st
    }

    #[test]
    fn a_window_search_does_not_depend_on_the_number_of_workers() {
        let one = window_with(1, 100_000);
        assert!(one.complete(), "{}", one.scope());
        assert!(one.report.runs > 3, "more than the prefixes' own runs");
        for w in [2, 3] {
            let other = window_with(w, 100_000);
            assert_eq!(other.report, one.report, "{w} workers");
            assert_eq!(other.window_report(), one.window_report());
        }
        // The report of one uncut window exploration (what the CLI merges).
        let sc = presets::find("r2").unwrap().load();
        let strategy = window_strategy(StrategyKind::Exhaustive, 1);
        let mut ex =
            WindowExploration::new(&sc, Window::parse("kill").unwrap(), strategy, 0, 3, 100_000);
        while !ex.is_finished() {
            ex.run_chunk(1);
        }
        assert_eq!(*one.report, explore::merge(&[ex.report()]));
        assert!(ex.search_complete());
        let scope = one.scope();
        assert!(scope.contains(": complete."), "{scope}");
        assert!(scope.contains("in none of the"), "{scope}");
        assert!(scope.contains("window after `kill`"), "{scope}");
        // Failure buckets hold window runs, which replay from a fresh Sim.
        for b in &one.report.buckets {
            assert!(matches!(
                b.first[0].source,
                oomlab_core::ChoiceSource::Window { .. }
            ));
        }
    }

    #[test]
    fn a_cut_or_cancelled_window_search_says_incomplete() {
        let cut = window_with(2, 3);
        assert!(!cut.complete());
        let scope = cut.scope();
        assert!(scope.contains(": incomplete"), "{scope}");
        assert!(scope.contains("evidence, not proof"), "{scope}");
        assert!(
            !scope.contains("in none of the") || scope.contains("only in none"),
            "{scope}"
        );
        // Cancelled after the first prefix.
        let sc = Rc::new(presets::find("r2").unwrap().load());
        let mut st = ExplorerState {
            kind: StrategyKind::Random,
            runs: 2,
            window: "kill:2ms".into(),
            prefixes: 3,
            ..Default::default()
        };
        st.start(5, sc, 2, 0.0);
        let t = run_window_piece(
            &st.job.as_ref().unwrap().text,
            "random",
            0,
            "kill:2ms",
            3,
            2,
            0,
            0,
            1,
        )
        .unwrap();
        let (r, w) = wire::window_piece_from_text(&t).unwrap();
        assert!(w.complete, "one prefix's two runs are all it was asked");
        st.window_piece_done(5, 0, r, w, 1.0);
        st.cancel(2.0);
        assert!(!st.complete());
        let scope = st.scope();
        assert!(scope.contains("incomplete (cancelled)"), "{scope}");
        assert!(scope.contains("1 of 3 done"), "{scope}");
        // A window that does not parse is refused by name, and nothing starts.
        let mut bad = ExplorerState {
            window: "kil".into(),
            ..Default::default()
        };
        bad.start(6, Rc::new(presets::find("r2").unwrap().load()), 1, 0.0);
        assert!(bad.job.is_none());
        assert!(bad
            .error
            .as_deref()
            .unwrap()
            .contains("unknown window trigger"));
    }

    #[test]
    fn pieces_cover_the_range() {
        let p = pieces(StrategyKind::Random, 2000);
        assert_eq!(p.len(), 200);
        assert_eq!(p[0], (0, 10));
        assert_eq!(p.last(), Some(&(1990, 2000)));
        assert!(p.windows(2).all(|w| w[0].1 == w[1].0));
        assert_eq!(pieces(StrategyKind::Pct, 30), vec![(0, 25), (25, 30)]);
        assert_eq!(pieces(StrategyKind::Exhaustive, 30), vec![(0, 30)]);
    }

    #[test]
    fn pause_resume_cancel_stale_and_late_pieces() {
        let sc = Rc::new(presets::find("r1").unwrap().load());
        let mut st = ExplorerState {
            runs: 20,
            ..Default::default()
        };
        st.start(7, sc.clone(), 2, 1000.0);
        let text = run_piece(&st.job.as_ref().unwrap().text, "random", 0, 0, 10).unwrap();
        let rep = wire::report_from_text(&text).unwrap();
        st.piece_done(7, 0, rep.clone(), 2000.0);
        assert_eq!(st.done, 10);
        assert!((st.rate(2000.0) - 10.0).abs() < 1e-9, "{}", st.rate(2000.0));
        assert!(st.eta_s(2000.0).unwrap() > 0.0);
        st.pause(2000.0);
        // Paused time does not count.
        assert!((st.rate(9000.0) - 10.0).abs() < 1e-9);
        assert_eq!(st.eta_s(9000.0), None);
        st.resume(9000.0);
        // The same piece twice, or a piece of another job: ignored.
        st.piece_done(7, 0, rep.clone(), 9100.0);
        st.piece_done(6, 10, rep.clone(), 9100.0);
        assert_eq!(st.done, 10);
        st.mark_stale(9200.0);
        assert_eq!(st.status, ExploreStatus::Stale);
        st.piece_done(7, 10, rep, 9300.0);
        assert_eq!(st.done, 10, "a stale exploration takes no more pieces");
        assert!(!st.verdicts.is_empty());
        let mut st2 = ExplorerState::default();
        st2.start(8, sc, 1, 0.0);
        st2.cancel(5.0);
        assert_eq!(st2.status, ExploreStatus::Cancelled);
    }

    #[test]
    fn exhaustive_in_chunks_equals_one_go() {
        let sc = presets::find("r1").unwrap().load();
        let text = sc.scenario.to_canonical_toml();
        let last = loop {
            let (r, done, finished) = exhaustive_chunk(&text, 0, 12, 5).unwrap();
            assert!(done <= 12);
            if finished {
                break r;
            }
        };
        let got = wire::report_from_text(&last).unwrap();
        let mut ex = Exploration::new(&sc, Strategy::parse("exhaustive").unwrap(), 0, 12);
        while !ex.is_finished() {
            ex.run_chunk(1);
        }
        assert_eq!(got, ex.report());
    }
}
