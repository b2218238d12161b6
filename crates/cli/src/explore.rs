//! `explore`, `check` and `merge`.
//!
//! Determinism across `--jobs` and `--shard`: the run index range is cut into
//! contiguous pieces, each explored with `Exploration::range`, and the pieces'
//! reports are combined with `explore::merge`, which orders buckets and their
//! first runs by run index. The answer is therefore the same whatever the
//! number of threads or machines; only the wall-clock time changes, and it is
//! printed on stderr so that stdout stays byte-identical between runs.

use crate::output::print_json;
use crate::sanitize::term;
use crate::{input_err, link, load_scenario_text, CliError, CliResult};
use clap::Args;
use oomlab_core::explore::{self, Exploration, ExploreReport, Strategy, Verdict, VerdictLine};
use oomlab_core::window::{merge_window, Window, WindowExploration, WindowReport};
use oomlab_core::ValidScenario;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The most runs one `explore` or `check` may ask for (split larger
/// explorations with `--shard`, a different `--seed` each).
pub const MAX_RUNS: u64 = 1_000_000_000;
/// `--runs` when it is not given.
const DEFAULT_RUNS: u64 = 100;

#[derive(Args, Debug, Clone)]
pub struct ExploreOpts {
    /// Number of runs, 1 to 1000000000, default 100 (for exhaustive: a cap
    /// on the runs). With --window: runs per prefix; an exhaustive window
    /// search has no cap unless one is given.
    #[arg(long)]
    runs: Option<u64>,
    #[arg(long, value_enum, default_value_t = StrategyArg::Random)]
    strategy: StrategyArg,
    /// Worker threads (default and at most: the number of CPUs). Results do
    /// not depend on it.
    #[arg(long, short)]
    jobs: Option<usize>,
    /// Explore only shard I of N (I from 0) of the run range; combine the
    /// `--json` outputs with `oomlab merge`.
    #[arg(long, value_name = "I/N")]
    shard: Option<String>,
    /// Base seed: run i uses seed BASE + i.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Stop after this much wall-clock time (e.g. 90s, 10m, 1h) at the next
    /// run boundary, print the partial report and exit 130, as on SIGINT.
    #[arg(long, value_name = "DURATION", value_parser = parse_max_time)]
    max_time: Option<Duration>,
    /// Explore only the window after a trigger: kill, group_exit, reap,
    /// func=NAME or time=DURATION, optionally with :LEN (e.g. kill:5ms).
    /// Each of --prefixes seeds runs to the trigger; --runs then counts runs
    /// per prefix (for exhaustive: a cap per prefix).
    #[arg(long, value_name = "TRIGGER[:LEN]")]
    window: Option<String>,
    /// With --window: independent prefixes (seeds BASE + p) run to the
    /// trigger, 1 to 100000.
    #[arg(long, requires = "window")]
    prefixes: Option<u32>,
    /// With --window and the exhaustive strategy: at most this many
    /// deviations in the window, 1 to 3.
    #[arg(long, requires = "window")]
    bound: Option<u32>,
}

fn parse_max_time(s: &str) -> Result<Duration, String> {
    let bad = || format!("`{s}` is not a duration (use e.g. 500ms, 90s, 10m, 1h)");
    let t = s.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?;
    let n: u64 = t[..split].parse().map_err(|_| bad())?;
    let ms: u64 = match &t[split..] {
        "ms" => 1,
        "s" => 1_000,
        "m" => 60_000,
        "h" => 3_600_000,
        _ => return Err(bad()),
    };
    let ms = n.checked_mul(ms).ok_or_else(bad)?;
    if ms == 0 {
        return Err("must be more than 0".into());
    }
    Ok(Duration::from_millis(ms))
}

/// When to stop early: a SIGINT or SIGTERM, or the `--max-time` deadline.
/// Checked between runs, so that every run in the report ran to its end.
struct Stop {
    signalled: Arc<AtomicBool>,
    deadline: Option<Instant>,
}

impl Stop {
    fn new(max_time: Option<Duration>) -> Stop {
        let signalled = Arc::new(AtomicBool::new(false));
        for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
            // A second signal while the report is being written ends the
            // process at once (the first one has armed it). Registration
            // fails only for forbidden signals, which these are not; without
            // it the default action (terminate) stays, as before.
            let _ =
                signal_hook::flag::register_conditional_shutdown(sig, 130, Arc::clone(&signalled));
            let _ = signal_hook::flag::register(sig, Arc::clone(&signalled));
        }
        Stop {
            signalled,
            deadline: max_time.map(|d| Instant::now() + d),
        }
    }
    fn now(&self) -> bool {
        self.signalled.load(Ordering::SeqCst) || self.deadline.is_some_and(|d| Instant::now() >= d)
    }
}

/// `--strategy`; core's `Strategy::parse` holds each one's parameters.
#[derive(clap::ValueEnum, Clone, Copy, Debug)]
pub enum StrategyArg {
    /// Independent seeds.
    Random,
    /// Few random deviations from the default schedule.
    Pct,
    /// Depth-first over deviations, with state-hash pruning.
    Exhaustive,
}

impl StrategyArg {
    fn name(self) -> &'static str {
        match self {
            StrategyArg::Random => "random",
            StrategyArg::Pct => "pct",
            StrategyArg::Exhaustive => "exhaustive",
        }
    }
}

/// What `explore --json` prints and `merge` reads back.
#[derive(Serialize, Deserialize, Debug)]
pub struct ExploreOutput {
    /// `oomlab_core::json::SCHEMA_VERSION` of the writer; 0 for reports
    /// written before the field existed.
    #[serde(default)]
    pub schema_version: u32,
    pub model_version: u32,
    pub title: String,
    pub content_hash: String,
    pub strategy: String,
    #[serde(with = "oomlab_core::json::u64_string")]
    pub base_seed: u64,
    /// Which shard of the exploration this is (`--shard I/N`); absent for a
    /// whole one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard: Option<Shard>,
    /// The run count asked for (the whole exploration, not the shard).
    pub total_runs: u64,
    /// The run indices this output covers (for a window exploration: the
    /// prefix indices, and `total_runs` is the number of prefixes).
    pub range: (u64, u64),
    /// Every run of `range` ran; false when SIGINT, SIGTERM or `--max-time`
    /// stopped the exploration early (`report.runs` counts the runs done).
    #[serde(default = "yes")]
    pub complete: bool,
    pub report: ExploreReport,
    pub verdicts: Vec<VerdictLine>,
    /// The first run of every failing bucket, as a permalink.
    pub failing: Vec<Failing>,
    /// The canonical scenario, so that `merge` can recompute verdicts and links.
    pub scenario: String,
    /// A window exploration: the trigger, prefixes reached, bound, runs per
    /// prefix; absent for a whole-run exploration.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window: Option<WindowReport>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefixes: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bound: Option<u32>,
}

fn yes() -> bool {
    true
}

#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    pub index: u64,
    pub count: u64,
}

/// A report from a newer oomlab is refused by name: its fields may mean
/// something this one does not know.
pub(crate) fn check_schema(version: u32, file: &std::path::Path) -> CliResult<()> {
    let mine = oomlab_core::json::SCHEMA_VERSION;
    if version > mine {
        return input_err(format!(
            "{} has report schema version {version}; this oomlab reads versions up to {mine}",
            file.display()
        ));
    }
    Ok(())
}

#[derive(Serialize, Deserialize, Debug)]
pub struct Failing {
    pub signature: String,
    pub count: u64,
    pub index: u64,
    pub outcomes: Vec<String>,
    pub permalink: String,
}

/// `--jobs`: default and at most the number of CPUs (more threads than CPUs
/// only add threads: the answer is the same).
pub(crate) fn resolve_jobs(jobs: Option<usize>) -> CliResult<usize> {
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    match jobs {
        None => Ok(cpus),
        Some(0) => input_err("--jobs must be at least 1"),
        Some(j) if j > cpus => {
            eprintln!("oomlab: --jobs {j} capped at {cpus}, the number of CPUs");
            Ok(cpus)
        }
        Some(j) => Ok(j),
    }
}

pub(crate) fn thread_pool(jobs: usize) -> CliResult<rayon::ThreadPool> {
    rayon::ThreadPoolBuilder::new()
        .num_threads(jobs)
        .build()
        .map_err(|e| CliError::Input(format!("cannot start {jobs} threads: {e}")))
}

pub(crate) fn parse_shard(s: &str) -> CliResult<(u64, u64)> {
    let bad = || {
        CliError::Input(format!(
            "bad --shard `{s}`: expected I/N with 0 <= I < N, e.g. 0/4"
        ))
    };
    let (i, n) = s.split_once('/').ok_or_else(bad)?;
    let i: u64 = i.trim().parse().map_err(|_| bad())?;
    let n: u64 = n.trim().parse().map_err(|_| bad())?;
    if n == 0 || i >= n {
        return Err(bad());
    }
    Ok((i, n))
}

fn progress_bar(total: u64) -> indicatif::ProgressBar {
    if !std::io::stderr().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let b = indicatif::ProgressBar::new(total);
    if let Ok(style) = indicatif::ProgressStyle::with_template(
        "{spinner} {pos}/{len} runs [{elapsed_precise}] {bar:40} {per_sec} eta {eta}",
    ) {
        b.set_style(style);
    }
    b
}

struct Explored {
    out: ExploreOutput,
    secs: f64,
    /// A signal or --max-time stopped it (exit 130).
    stopped: bool,
}

/// The most prefixes one window exploration may take.
pub const MAX_PREFIXES: u32 = 100_000;

fn run_window(
    sc: &ValidScenario,
    o: &ExploreOpts,
    spec: &str,
    strategy: Strategy,
    jobs: usize,
) -> CliResult<Explored> {
    let window = Window::parse(spec).map_err(|e| CliError::Input(format!("--window: {e}")))?;
    let k = o.prefixes.unwrap_or(10);
    if k == 0 || k > MAX_PREFIXES {
        return input_err(format!(
            "--prefixes must be between 1 and {MAX_PREFIXES}, got {k}"
        ));
    }
    let strategy = match (strategy, o.bound) {
        (Strategy::Exhaustive { .. }, b) => {
            let bound = b.unwrap_or(1);
            if !(1..=3).contains(&bound) {
                return input_err(format!("--bound must be 1, 2 or 3, got {bound}"));
            }
            Strategy::Exhaustive {
                bound,
                window: u32::MAX,
            }
        }
        (_, Some(_)) => return input_err("--bound needs --strategy exhaustive"),
        (s, None) => s,
    };
    let (start, end) = match &o.shard {
        Some(s) => {
            let (i, n) = parse_shard(s)?;
            let cut = |x: u64| (u128::from(k) * u128::from(x) / u128::from(n)) as u64;
            (cut(i), cut(i + 1))
        }
        None => (0, u64::from(k)),
    };
    let runs = match (o.runs, strategy.is_exhaustive()) {
        (Some(n), _) => n,
        (None, true) => MAX_RUNS,
        (None, false) => DEFAULT_RUNS,
    };
    let bar = progress_bar((end - start).saturating_mul(runs.min(1 << 20)));
    let started = Instant::now();
    let stop = Stop::new(o.max_time);
    // Pieces are whole prefixes, so the result is the same for any --jobs.
    let pieces = (jobs as u64).min(end - start).max(1);
    let ranges: Vec<(u32, u32)> = (0..pieces)
        .map(|p| {
            let len = end - start;
            (
                (start + len * p / pieces) as u32,
                (start + len * (p + 1) / pieces) as u32,
            )
        })
        .collect();
    let pool = thread_pool(jobs)?;
    let parts: Vec<(ExploreReport, WindowReport, bool)> = pool.install(|| {
        ranges
            .par_iter()
            .map(|&(a, b)| {
                let mut ex =
                    WindowExploration::range(sc, window.clone(), strategy, o.seed, k, runs, a, b);
                while !ex.is_finished() {
                    if stop.now() {
                        return (ex.report(), ex.window_report(), true);
                    }
                    let n = ex.run_chunk(1);
                    bar.inc(n);
                }
                (ex.report(), ex.window_report(), false)
            })
            .collect()
    });
    bar.finish_and_clear();
    let stopped = parts.iter().any(|p| p.2);
    let reports: Vec<ExploreReport> = parts.iter().map(|p| p.0.clone()).collect();
    let mut wr = merge_window(&parts.iter().map(|p| p.1.clone()).collect::<Vec<_>>());
    wr.complete &= !stopped;
    let mut out = assemble(
        sc,
        o.strategy.name(),
        o.seed,
        u64::from(k),
        (start, end),
        explore::merge(&reports),
    );
    out.complete = wr.complete;
    out.prefixes = Some(k);
    out.bound = Some(wr.bound);
    out.window = Some(wr);
    Ok(Explored {
        out,
        secs: started.elapsed().as_secs_f64(),
        stopped,
    })
}

fn run_exploration(sc: &ValidScenario, o: &ExploreOpts) -> CliResult<Explored> {
    let Some(strategy) = Strategy::parse(o.strategy.name()) else {
        return input_err(format!("unknown strategy `{}`", o.strategy.name()));
    };
    if o.runs.is_some_and(|n| n == 0 || n > MAX_RUNS) {
        return input_err(format!(
            "--runs must be between 1 and {MAX_RUNS}, got {}",
            o.runs.unwrap_or_default()
        ));
    }
    let total = o.runs.unwrap_or(DEFAULT_RUNS);
    let (start, end) = match &o.shard {
        Some(s) => {
            if strategy.is_exhaustive() && o.window.is_none() {
                return input_err(
                    "--shard needs a sampling strategy (random or pct): a depth-first \
                     exhaustive search has no independent run ranges",
                );
            }
            let (i, n) = parse_shard(s)?;
            // In 128 bits: N may be any u64, and the product must not wrap.
            let cut = |k: u64| (u128::from(total) * u128::from(k) / u128::from(n)) as u64;
            (cut(i), cut(i + 1))
        }
        None => (0, total),
    };
    let jobs = resolve_jobs(o.jobs)?;
    if let Some(spec) = &o.window {
        return run_window(sc, o, spec, strategy, jobs);
    }
    let bar = progress_bar(end - start);
    let started = Instant::now();
    let stop = Stop::new(o.max_time);
    let complete;
    let report = if strategy.is_exhaustive() {
        // Depth-first search is one sequence of decisions: it runs on one thread.
        let mut ex = Exploration::new(sc, strategy, o.seed, total);
        while !ex.is_finished() {
            if stop.now() {
                break;
            }
            let n = ex.run_chunk(1);
            bar.inc(n);
        }
        // Stopped by --runs, --max-time or a signal before the deviation sets
        // ran out: not a search of the bound.
        complete = ex.search_complete() == Some(true);
        ex.report()
    } else {
        let pieces = (jobs as u64).min(end - start).max(1);
        let ranges: Vec<(u64, u64)> = (0..pieces)
            .map(|k| {
                let len = end - start;
                (start + len * k / pieces, start + len * (k + 1) / pieces)
            })
            .collect();
        let pool = thread_pool(jobs)?;
        let pieces: Vec<(ExploreReport, bool)> = pool.install(|| {
            ranges
                .par_iter()
                .map(|&(a, b)| {
                    let mut ex = Exploration::range(sc, strategy, o.seed, a, b);
                    while !ex.is_finished() {
                        if stop.now() {
                            return (ex.report(), false);
                        }
                        let n = ex.run_chunk(1);
                        bar.inc(n);
                    }
                    (ex.report(), true)
                })
                .collect()
        });
        complete = pieces.iter().all(|p| p.1);
        let reports: Vec<ExploreReport> = pieces.into_iter().map(|p| p.0).collect();
        explore::merge(&reports)
    };
    bar.finish_and_clear();
    let secs = started.elapsed().as_secs_f64();
    let mut out = assemble(sc, o.strategy.name(), o.seed, total, (start, end), report);
    out.complete = complete;
    // An exhaustive search that used up its --runs was cut short, not
    // interrupted: its report says so and the exit is normal.
    let stopped = !out.complete && out.report.runs < end - start;
    Ok(Explored { out, secs, stopped })
}

fn assemble(
    sc: &ValidScenario,
    strategy: &str,
    base_seed: u64,
    total_runs: u64,
    range: (u64, u64),
    report: ExploreReport,
) -> ExploreOutput {
    let verdicts = explore::verdicts(sc, &report);
    let failing = report
        .buckets
        .iter()
        .filter_map(|b| {
            b.first.first().map(|r| Failing {
                signature: b.signature.clone(),
                count: b.count,
                index: r.index,
                outcomes: r.outcomes.clone(),
                permalink: link(sc, r.source.clone()),
            })
        })
        .collect();
    ExploreOutput {
        schema_version: oomlab_core::json::SCHEMA_VERSION,
        model_version: oomlab_core::MODEL_VERSION,
        title: sc.scenario.title.clone(),
        content_hash: format!("{:016x}", sc.content_hash()),
        strategy: strategy.to_string(),
        base_seed,
        shard: None,
        total_runs,
        range,
        complete: true,
        report,
        verdicts,
        failing,
        scenario: sc.scenario.to_canonical_toml(),
        window: None,
        prefixes: None,
        bound: None,
    }
}

fn verdict_word(v: Verdict) -> &'static str {
    match v {
        Verdict::Always => "always",
        Verdict::Sometimes => "sometimes",
        Verdict::Never => "never",
    }
}

/// What "never" can claim for what was run: only a completed exhaustive
/// search speaks for its whole bound.
fn never_means(out: &ExploreOutput) -> String {
    let runs = out.report.runs;
    if let Some(w) = &out.window {
        let win = w.window.as_ref().map_or(String::new(), |x| x.describe());
        let of = format!(
            "for these {} prefixes ({} reached the trigger)",
            w.prefixes, w.reached
        );
        return match Strategy::parse(&out.strategy) {
            Some(Strategy::Exhaustive { .. }) if out.complete => format!(
                "\"never\" means: in none of the {runs} interleavings with at most {} \
                 deviation(s) in the window {win}, {of}",
                w.bound
            ),
            Some(Strategy::Exhaustive { .. }) => format!(
                "the exhaustive window search is incomplete: \"never\" means only in none of \
                 the {runs} runs explored in the window {win}, {of}; evidence, not proof"
            ),
            _ => format!(
                "\"never\" means: in none of the {runs} sampled runs in the window {win} ({} \
                 per prefix), {of}; evidence, not proof",
                w.runs_per_prefix
            ),
        };
    }
    match Strategy::parse(&out.strategy) {
        Some(Strategy::Exhaustive { bound, window }) if out.complete => {
            let pruned = match out.report.pruned {
                0 => String::new(),
                n => format!(
                    "; {n} of them skipped by state-hash pruning, whose hash covers only part \
                     of the state"
                ),
            };
            format!(
                "\"never\" means: in none of the {runs} interleavings with at most {bound} \
                 deviation(s) from the default schedule among its first {window} decisions{pruned}"
            )
        }
        Some(Strategy::Exhaustive { .. }) => format!(
            "the exhaustive search is incomplete: \"never\" means only in none of the {runs} \
             runs explored; evidence, not proof"
        ),
        _ => format!("\"never\" means: in none of the {runs} sampled runs; evidence, not proof"),
    }
}

/// Whether "always" and "never" are proven for what was run: only by a
/// completed exhaustive search, within its bound.
fn proven(out: &ExploreOutput) -> bool {
    out.complete
        && matches!(
            Strategy::parse(&out.strategy),
            Some(Strategy::Exhaustive { .. })
        )
}

fn print_verdicts(out: &ExploreOutput) {
    outln!("verdicts:");
    for v in &out.verdicts {
        let exp = match v.expected {
            Some(e) => {
                let w = v.expect_word(proven(out));
                let w = if v.holds {
                    w.to_string()
                } else {
                    w.to_uppercase()
                };
                format!("  expected {:<9} {w}", verdict_word(e))
            }
            None => String::new(),
        };
        outln!(
            "  {:<20} {:<9} {:>6}/{:<6}{exp}",
            v.outcome,
            verdict_word(v.verdict),
            v.hits,
            v.runs
        );
    }
    outln!("  ({})", never_means(out));
}

fn print_explore(name: &str, out: &ExploreOutput) {
    let r = &out.report;
    outln!("{} ({})", term(&out.title), term(name));
    if let Some(w) = &out.window {
        let per = match (out.strategy.as_str(), w.runs_per_prefix) {
            ("exhaustive", MAX_RUNS) => format!("no cap on runs per prefix, bound {}", w.bound),
            ("exhaustive", n) => format!("at most {n} runs per prefix, bound {}", w.bound),
            (_, n) => format!("{n} runs per prefix"),
        };
        outln!(
            "strategy {}, window {}, prefixes {}..{} of {} (seeds from {}), {} reached the \
             trigger, {per}",
            out.strategy,
            w.window.as_ref().map_or(String::new(), |x| x.describe()),
            out.range.0,
            out.range.1,
            w.prefixes,
            out.base_seed,
            w.reached,
        );
        if !out.complete {
            outln!("INCOMPLETE: the window search did not cover everything it was asked to");
        }
    } else {
        outln!(
            "strategy {}, runs {}..{} of {}, base seed {}",
            out.strategy,
            out.range.0,
            out.range.1,
            out.total_runs,
            out.base_seed
        );
        if !out.complete && out.strategy == "exhaustive" && r.runs == out.range.1 - out.range.0 {
            outln!(
                "INCOMPLETE: the exhaustive search stopped at its {} runs before it covered its \
                 bound",
                r.runs
            );
        } else if !out.complete {
            outln!(
                "INCOMPLETE: stopped early, after {} of the {} runs",
                r.runs,
                out.range.1 - out.range.0
            );
        }
    }
    outln!(
        "{} runs, {} distinct executions, {} decisions{}",
        r.runs,
        r.distinct_states,
        r.choice_points,
        if r.pruned > 0 {
            format!(", {} pruned by state hash", r.pruned)
        } else {
            String::new()
        }
    );
    outln!("histogram:");
    let mut h: Vec<(&String, &u64)> = r.histogram.iter().collect();
    h.sort_by_key(|(k, n)| {
        (
            std::cmp::Reverse(oomlab_core::Outcome::from_code(k).map_or(0, |o| o.severity())),
            std::cmp::Reverse(**n),
        )
    });
    for (k, n) in h {
        let pct = if r.runs > 0 {
            100.0 * *n as f64 / r.runs as f64
        } else {
            0.0
        };
        outln!("  {k:<20} {n:>7}  {pct:5.1}%");
    }
    if r.buckets.is_empty() {
        outln!("no failing runs");
    } else {
        outln!("buckets (first failing run of each, as a permalink):");
        for f in &out.failing {
            outln!("  {:>6} x {}", f.count, term(&f.signature));
            outln!("         run {}: {}", f.index, f.permalink);
        }
    }
    print_verdicts(out);
}

/// After the partial report is printed: exit 130 with what was done.
fn interrupted(e: &Explored) -> CliResult<()> {
    let out = &e.out;
    if !e.stopped {
        return Ok(());
    }
    Err(CliError::Interrupted(format!(
        "stopped after {} of the {} runs {}..{}; the report covers only those",
        out.report.runs,
        out.range.1 - out.range.0,
        out.range.0,
        out.range.1
    )))
}

fn rate_line(e: &Explored) {
    let r = &e.out.report;
    let rate = r.runs as f64 / e.secs.max(1e-9);
    let states = r.distinct_states as f64 / e.secs.max(1e-9);
    eprintln!(
        "{} runs in {:.2} s: {:.1} runs/s, {:.1} distinct states/s",
        r.runs, e.secs, rate, states
    );
}

pub fn explore_cmd(name: &str, sc: &ValidScenario, o: &ExploreOpts, json: bool) -> CliResult<()> {
    let mut e = run_exploration(sc, o)?;
    if let Some(s) = &o.shard {
        let (index, count) = parse_shard(s)?;
        e.out.shard = Some(Shard { index, count });
    }
    if json {
        print_json(&serde_json::to_value(&e.out).unwrap_or_default());
        rate_line(&e);
    } else {
        print_explore(name, &e.out);
        let r = &e.out.report;
        outln!(
            "{:.2} s, {:.1} runs/s",
            e.secs,
            r.runs as f64 / e.secs.max(1e-9)
        );
    }
    interrupted(&e)
}

pub fn check_cmd(name: &str, sc: &ValidScenario, o: &ExploreOpts, json: bool) -> CliResult<()> {
    let e = &sc.scenario.expect;
    if e.always.is_empty() && e.sometimes.is_empty() && e.never.is_empty() {
        return input_err(format!("{name} has no [expect] section to check"));
    }
    let ex = run_exploration(sc, o)?;
    let bad: Vec<&VerdictLine> = ex.out.verdicts.iter().filter(|v| !v.holds).collect();
    if json {
        print_json(&serde_json::json!({
            "title": ex.out.title,
            "strategy": ex.out.strategy,
            "runs": ex.out.report.runs,
            "complete": ex.out.complete,
            "holds": bad.is_empty(),
            "proven": bad.is_empty() && proven(&ex.out),
            "verdicts": ex.out.verdicts,
            "failing": ex.out.failing,
        }));
        rate_line(&ex);
    } else {
        outln!(
            "{} ({}): {} runs",
            term(&ex.out.title),
            term(name),
            ex.out.report.runs
        );
        print_verdicts(&ex.out);
    }
    // A partial exploration answers nothing about [expect].
    interrupted(&ex)?;
    if bad.is_empty() {
        if !json {
            if proven(&ex.out) {
                outln!("[expect] holds within the search bound");
            } else {
                outln!(
                    "[expect] not contradicted in {} runs: evidence, not proof",
                    ex.out.report.runs
                );
            }
        }
        Ok(())
    } else {
        let what: Vec<String> = bad
            .iter()
            .map(|v| {
                format!(
                    "{} expected {} but was {} ({}/{} runs)",
                    v.outcome,
                    v.expected.map_or("-", verdict_word),
                    verdict_word(v.verdict),
                    v.hits,
                    v.runs
                )
            })
            .collect();
        Err(CliError::Finding(format!(
            "[expect] contradicted: {}",
            what.join("; ")
        )))
    }
}

pub fn merge_cmd(files: &[PathBuf], texts: &[String], json: bool) -> CliResult<()> {
    let mut outs: Vec<ExploreOutput> = Vec::new();
    for (f, text) in files.iter().zip(texts) {
        let o: ExploreOutput = serde_json::from_str(text).or_else(|e| {
            input_err(format!(
                "{}: not the JSON output of `oomlab explore --json` ({e})",
                f.display()
            ))
        })?;
        outs.push(o);
    }
    for (o, f) in outs.iter().zip(files) {
        check_schema(o.schema_version, f)?;
        if !o.complete {
            return input_err(format!(
                "{} is a partial exploration (stopped after {} of its runs); explore its \
                 shard again in full",
                f.display(),
                o.report.runs
            ));
        }
    }
    let first = &outs[0];
    for (o, f) in outs.iter().zip(files).skip(1) {
        if o.content_hash != first.content_hash
            || o.strategy != first.strategy
            || o.base_seed != first.base_seed
            || o.model_version != first.model_version
            || o.total_runs != first.total_runs
            || o.prefixes != first.prefixes
            || o.bound != first.bound
            || o.window.as_ref().map(|w| (&w.window, w.runs_per_prefix))
                != first
                    .window
                    .as_ref()
                    .map(|w| (&w.window, w.runs_per_prefix))
        {
            return input_err(format!(
                "{} is from another exploration (scenario, strategy, seed, run count or model \
                 version differ from {})",
                f.display(),
                files[0].display()
            ));
        }
    }
    // Every run index from 0 to the total exactly once: a missing shard would
    // otherwise merge into a report that claims runs it never ran.
    let mut by_start: Vec<(&ExploreOutput, &PathBuf)> = outs.iter().zip(files).collect();
    by_start.sort_by_key(|(o, _)| o.range);
    let mut next = 0u64;
    let mut prev: Option<&PathBuf> = None;
    for (o, f) in &by_start {
        let (a, b) = o.range;
        if a < next {
            return input_err(format!(
                "{} (runs {a}..{b}) overlaps {} (runs ..{next}); each shard must be merged once",
                f.display(),
                prev.map_or(String::new(), |p| p.display().to_string()),
            ));
        }
        if a > next {
            return input_err(format!(
                "runs {next}..{a} of {} are missing (no shard between {} and {}); merge every \
                 shard of the exploration",
                first.total_runs,
                prev.map_or("the start".into(), |p| p.display().to_string()),
                f.display()
            ));
        }
        next = b;
        prev = Some(f);
    }
    if next != first.total_runs {
        return input_err(format!(
            "runs {next}..{} of {} are missing (no shard after {}); merge every shard of the \
             exploration",
            first.total_runs,
            first.total_runs,
            prev.map_or(String::new(), |p| p.display().to_string()),
        ));
    }
    let sc = load_scenario_text(&first.scenario)?;
    let reports: Vec<ExploreReport> = by_start.iter().map(|(o, _)| o.report.clone()).collect();
    let merged = explore::merge(&reports);
    let range = (0, first.total_runs);
    let mut out = assemble(
        &sc,
        &first.strategy,
        first.base_seed,
        first.total_runs,
        range,
        merged,
    );
    if first.window.is_some() {
        let parts: Vec<WindowReport> = by_start
            .iter()
            .filter_map(|(o, _)| o.window.clone())
            .collect();
        let w = merge_window(&parts);
        out.complete = w.complete;
        out.prefixes = first.prefixes;
        out.bound = first.bound;
        out.window = Some(w);
    }
    if json {
        print_json(&serde_json::to_value(&out).unwrap_or_default());
    } else {
        print_explore(&format!("{} shard outputs", files.len()), &out);
    }
    Ok(())
}
