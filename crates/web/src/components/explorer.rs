//! The explorer panel: strategy, run count, Start / Pause / Cancel; live
//! progress (runs/s, done of total, ETA); the outcome histogram as an SVG bar
//! chart; failure buckets whose first runs open in the run view; and the
//! `[expect]` verdicts, labelled sampled or exhaustive-within-bound.

use crate::explorer::{ExploreStatus, ExplorerState, StrategyKind};
use crate::outcomes::{describe_code, Tone};
use crate::state::Action;
use oomlab_core::explore::{ExploreReport, RunRef, Verdict};
use oomlab_core::ChoiceSource;
use yew::prelude::*;

#[derive(Properties, PartialEq)]
pub struct Props {
    pub ex: ExplorerState,
    /// Workers "auto" stands for.
    pub hardware: u32,
    pub valid: bool,
    pub on: Callback<Action>,
}

fn fmt_s(s: f64) -> String {
    if s >= 90.0 {
        format!("{}m{:02}s", (s / 60.0) as u64, (s % 60.0) as u64)
    } else {
        format!("{s:.0}s")
    }
}

/// Bars, worst outcome first, then by count.
fn histogram(r: &ExploreReport) -> Html {
    let mut rows: Vec<(&String, u64)> = r.histogram.iter().map(|(k, v)| (k, *v)).collect();
    rows.sort_by_key(|(k, n)| (std::cmp::Reverse(Tone::of_code(k)), std::cmp::Reverse(*n)));
    let runs = r.runs.max(1) as f64;
    let (w, bar_h, gap, label_w) = (560.0, 20.0, 6.0, 150.0);
    let h = rows.len() as f64 * (bar_h + gap) + gap;
    let bar_w = w - label_w - 110.0;
    html! {
        <svg id="histogram" class="histogram" viewBox={format!("0 0 {w} {}", h.max(bar_h + 2.0 * gap))}
            role="img" data-runs={r.runs.to_string()}
            aria-label={format!("Outcome histogram over {} runs", r.runs)}>
            { for rows.iter().enumerate().map(|(i, (code, n))| {
                let y = gap + i as f64 * (bar_h + gap);
                let frac = *n as f64 / runs;
                let pct = 100.0 * frac;
                let tone = Tone::of_code(code).class();
                html! {
                    <g class={classes!("bar", tone)} data-code={(*code).clone()} data-count={n.to_string()} data-tone={tone}>
                        <title>{ describe_code(code) }</title>
                        <text class="bar-label" x={(label_w - 6.0).to_string()} y={(y + bar_h * 0.7).to_string()} text-anchor="end">{ *code }</text>
                        <rect class="bar-bg" x={label_w.to_string()} y={y.to_string()} width={bar_w.to_string()} height={bar_h.to_string()} rx="3" />
                        <rect class="bar-fill" x={label_w.to_string()} y={y.to_string()} width={(bar_w * frac).max(1.5).to_string()} height={bar_h.to_string()} rx="3" />
                        <text class="bar-value" x={(label_w + bar_w + 6.0).to_string()} y={(y + bar_h * 0.7).to_string()}>
                            { format!("{n}  {pct:.1}%") }
                        </text>
                    </g>
                }
            }) }
        </svg>
    }
}

/// The seed of a sampled run, which `oomlab run --seed` reproduces.
fn run_seed(f: &RunRef) -> Option<u64> {
    match f.source {
        ChoiceSource::Seed(s) => Some(s),
        _ => None,
    }
}

fn run_label(f: &RunRef) -> String {
    match (&f.source, run_seed(f)) {
        (_, Some(s)) => format!("seed {s}"),
        // A window run's index is (prefix << 32) | its run in the prefix.
        (ChoiceSource::Window { seed, .. }, None) => {
            format!("prefix {seed} · run {}", f.index & 0xffff_ffff)
        }
        _ => format!("run {}", f.index),
    }
}

/// A window spec as the panel's three fields: trigger, argument, length.
fn split_spec(spec: &str) -> (String, String, String) {
    if spec.trim().is_empty() {
        return ("none".into(), String::new(), String::new());
    }
    let (t, len) = spec.rsplit_once(':').unwrap_or((spec, ""));
    let (trig, arg) = t.split_once('=').unwrap_or((t, ""));
    (trig.to_string(), arg.to_string(), len.to_string())
}

fn join_spec(trig: &str, arg: &str, len: &str) -> String {
    let base = match trig {
        "none" => return String::new(),
        "func" | "time" => format!("{trig}={}", arg.trim()),
        t => t.to_string(),
    };
    match len.trim() {
        "" => base,
        l => format!("{base}:{l}"),
    }
}

const TRIGGERS: [(&str, &str); 6] = [
    ("none", "none (whole runs)"),
    ("kill", "kill (OOM SIGKILL)"),
    ("group_exit", "group_exit"),
    ("reap", "reap (MMF_UNSTABLE)"),
    ("func", "func=NAME"),
    ("time", "time=DURATION"),
];

fn verdict_word(v: Verdict) -> &'static str {
    match v {
        Verdict::Always => "always",
        Verdict::Sometimes => "sometimes",
        Verdict::Never => "never",
    }
}

#[function_component(ExplorerPanel)]
pub fn explorer_panel(p: &Props) -> Html {
    let ex = &p.ex;
    let busy = ex.busy();
    let now = crate::app::now_ms();
    let on_strategy = {
        let on = p.on.clone();
        Callback::from(move |e: Event| {
            let v = e
                .target_unchecked_into::<web_sys::HtmlSelectElement>()
                .value();
            if let Some(k) = StrategyKind::parse(&v) {
                on.emit(Action::ExploreStrategy(k));
            }
        })
    };
    // A value out of range is refused with a message beside the fields (and
    // Start waits), never silently replaced by another value.
    let invalid = use_state(Vec::<(&'static str, String)>::new);
    let hardware = p.hardware.max(1);
    let num_input = |id: &'static str, value: String, f: fn(u64) -> Action, placeholder: String| {
        let on = p.on.clone();
        let invalid = invalid.clone();
        let bad = invalid.iter().any(|(i, _)| *i == id);
        html! {
            <input id={id} type="number" min={if id == "ex-seed" { "0" } else { "1" }} value={value} disabled={busy} placeholder={placeholder}
                aria-invalid={bad.to_string()} class={classes!("mono", bad.then_some("invalid"))}
                onchange={Callback::from(move |e: Event| {
                    let v = e.target_unchecked_into::<web_sys::HtmlInputElement>().value();
                    let v = v.trim();
                    let parsed = if v.is_empty() && id == "ex-workers" { Ok(0) } else { v.parse::<u64>().map_err(|_| ()) };
                    let problem = match (id, parsed) {
                        (_, Err(())) => Some(format!("`{v}` is not a whole number of 0 or more")),
                        ("ex-runs", Ok(0)) => Some("Runs must be at least 1".to_string()),
                        ("ex-runs", Ok(n)) if n > crate::explorer::MAX_RUNS => Some(format!("Runs can be at most {}", crate::explorer::MAX_RUNS)),
                        ("ex-prefixes", Ok(n)) if n == 0 || n > u64::from(crate::explorer::MAX_PREFIXES) => Some(format!("Prefixes must be between 1 and {}", crate::explorer::MAX_PREFIXES)),
                        ("ex-bound", Ok(n)) if !(1..=3).contains(&n) => Some("Bound must be 1, 2 or 3".to_string()),
                        ("ex-workers", Ok(n)) if n > u64::from(hardware) => Some(format!(
                            "at most {hardware} workers: this machine has {hardware} logical CPU{}", if hardware == 1 { "" } else { "s" })),
                        _ => None,
                    };
                    let mut list: Vec<_> = invalid.iter().filter(|(i, _)| *i != id).cloned().collect();
                    match (problem, parsed) {
                        (Some(m), _) => list.push((id, m)),
                        (None, Ok(n)) => on.emit(f(n)),
                        (None, Err(())) => {}
                    }
                    invalid.set(list);
                })} />
        }
    };
    let workers = if ex.workers == 0 {
        p.hardware
    } else {
        ex.workers
    };
    let start = {
        let on = p.on.clone();
        Callback::from(move |_: MouseEvent| {
            on.emit(Action::ExploreStart {
                workers,
                now_ms: crate::app::now_ms(),
            })
        })
    };
    let pause = {
        let on = p.on.clone();
        let paused = ex.status == ExploreStatus::Paused;
        Callback::from(move |_: MouseEvent| {
            let t = crate::app::now_ms();
            on.emit(if paused {
                Action::ExploreResume(t)
            } else {
                Action::ExplorePause(t)
            })
        })
    };
    let cancel = {
        let on = p.on.clone();
        Callback::from(move |_: MouseEvent| on.emit(Action::ExploreCancel(crate::app::now_ms())))
    };
    let (trig, warg, wlen) = split_spec(&ex.window);
    let windowed = trig != "none";
    let window_error = ex.window_job().err();
    let on_window = |part: u8| {
        let on = p.on.clone();
        let (trig, warg, wlen) = (trig.clone(), warg.clone(), wlen.clone());
        Callback::from(move |e: Event| {
            let v = e
                .target_unchecked_into::<web_sys::HtmlInputElement>()
                .value();
            let spec = match part {
                0 => join_spec(&v, &warg, &wlen),
                1 => join_spec(&trig, &v, &wlen),
                _ => join_spec(&trig, &warg, &v),
            };
            on.emit(Action::ExploreWindow(spec));
        })
    };
    let on_trigger = {
        let on = p.on.clone();
        let (warg, wlen) = (warg.clone(), wlen.clone());
        Callback::from(move |e: Event| {
            let v = e
                .target_unchecked_into::<web_sys::HtmlSelectElement>()
                .value();
            on.emit(Action::ExploreWindow(join_spec(&v, &warg, &wlen)));
        })
    };
    let total = ex.total();
    let rate = ex.rate(now);
    let status_word = match ex.status {
        ExploreStatus::Idle => "ready",
        ExploreStatus::Running => "running",
        ExploreStatus::Paused => "paused",
        ExploreStatus::Done => "done",
        ExploreStatus::Cancelled => "cancelled",
        ExploreStatus::Stale => "stale",
    };
    let used = ex.job.as_ref().map_or(workers, |j| j.workers);
    let job_window = ex.job.as_ref().and_then(|j| j.window.as_ref());
    let status = match ex.status {
        ExploreStatus::Idle => format!("Ready: {} workers", workers),
        _ if job_window.is_some() => format!(
            "{} runs · {}/{} prefixes · {:.1} runs/s · {} worker{}",
            ex.done,
            ex.window_parts.len(),
            job_window.map_or(0, |w| w.prefixes),
            rate,
            used,
            if used == 1 { "" } else { "s" },
        ),
        _ => format!(
            "{}/{} runs · {:.1} runs/s · {} worker{}{}",
            ex.done,
            total,
            rate,
            used,
            if used == 1 { "" } else { "s" },
            match ex.eta_s(now) {
                Some(s) => format!(" · ETA {}", fmt_s(s)),
                None => String::new(),
            }
        ),
    };
    let frac = match job_window {
        // An exhaustive window search has no run count known in advance.
        Some(w) => ex.window_parts.len() as f64 / f64::from(w.prefixes.max(1)),
        None if total > 0 => ex.done as f64 / total as f64,
        None => 0.0,
    };
    let r = &ex.report;
    let scope = ex.scope();
    let complete = ex.complete();
    let proven = ex.proven();
    let job_scenario = ex.job.as_ref().map(|j| j.scenario.clone());
    html! {
        <div class="explorer" id="explorer" data-status={status_word}
            data-done={ex.done.to_string()} data-total={total.to_string()}
            data-complete={ex.job.is_some().then(|| complete.to_string())}>
            <div class="runbar">
                <label for="ex-strategy">{ "Strategy" }</label>
                <select id="ex-strategy" disabled={busy} onchange={on_strategy}>
                    { for StrategyKind::ALL.iter().map(|k| html! {
                        <option value={k.name()} selected={*k == ex.kind}>{ k.name() }</option>
                    }) }
                </select>
                <label for="ex-runs">{ match (windowed, ex.kind) {
                    (false, _) => "Runs",
                    (true, StrategyKind::Exhaustive) => "Cap per prefix",
                    (true, _) => "Runs per prefix",
                } }</label>
                { num_input("ex-runs", ex.runs.to_string(), Action::ExploreRuns, String::new()) }
                <label for="ex-seed">{ "Base seed" }</label>
                { num_input("ex-seed", ex.base_seed.to_string(), Action::ExploreSeed, String::new()) }
                <label for="ex-workers" title="Web Workers; empty or 0: one per logical CPU">{ "Workers" }</label>
                { num_input("ex-workers", if ex.workers == 0 { String::new() } else { ex.workers.to_string() },
                    |n| Action::ExploreWorkers(n as u32), format!("auto ({})", p.hardware)) }
            </div>
            <div class="runbar" id="ex-window-bar">
                <label for="ex-window" title="Explore only what follows a trigger: each prefix (a seed) runs to it, and the strategy explores from a checkpoint there">{ "Window" }</label>
                <select id="ex-window" disabled={busy} onchange={on_trigger}>
                    { for TRIGGERS.iter().map(|(v, l)| html! {
                        <option value={*v} selected={*v == trig}>{ *l }</option>
                    }) }
                </select>
                if trig == "func" || trig == "time" {
                    <input id="ex-window-arg" class="mono" disabled={busy} value={warg.clone()}
                        aria-label={if trig == "func" { "Kernel function name" } else { "Time, e.g. 300ms" }}
                        placeholder={if trig == "func" { "__oom_reap_task_mm" } else { "300ms" }} onchange={on_window(1)} />
                }
                if windowed {
                    <label for="ex-window-len" title="Decisions later than this after the trigger are not deviated; empty: to the run's end">{ "Length" }</label>
                    <input id="ex-window-len" class="mono short" disabled={busy} value={wlen.clone()} placeholder="to the end" onchange={on_window(2)} />
                    <label for="ex-prefixes" title="Independent seeds run to the trigger (base seed + p)">{ "Prefixes" }</label>
                    { num_input("ex-prefixes", ex.prefixes.to_string(), |n| Action::ExplorePrefixes(n.min(u64::from(u32::MAX)) as u32), String::new()) }
                    if ex.kind == StrategyKind::Exhaustive {
                        <label for="ex-bound" title="At most this many deviations from the prefix's own continuation, anywhere in the window">{ "Bound" }</label>
                        { num_input("ex-bound", ex.bound.to_string(), |n| Action::ExploreBound(n.min(3) as u32), String::new()) }
                    }
                }
            </div>
            <div class="runbar">
                <button id="ex-start" class="primary" disabled={busy || !p.valid || !invalid.is_empty() || window_error.is_some()} onclick={start}>
                    { if ex.job.is_some() && !busy { "Start again" } else { "Start" } }
                </button>
                <button id="ex-pause" disabled={!busy} onclick={pause}>
                    { if ex.status == ExploreStatus::Paused { "Resume" } else { "Pause" } }
                </button>
                <button id="ex-cancel" disabled={!busy} onclick={cancel}>{ "Cancel" }</button>
                <span id="ex-status" class={classes!("status", (ex.status == ExploreStatus::Running).then_some("busy"))} aria-live="polite">
                    { status }
                </span>
            </div>
            if let Some(e) = &window_error {
                <p id="ex-window-error" class="run-error small" role="alert">{ e }</p>
            }
            if !invalid.is_empty() {
                <p id="ex-invalid" class="run-error small" role="alert">
                    { invalid.iter().map(|(_, m)| m.clone()).collect::<Vec<_>>().join("; ") }
                </p>
            }
            <div class="progress" role="progressbar" aria-valuemin="0" aria-valuemax={total.to_string()} aria-valuenow={ex.done.to_string()}>
                <div class="progress-fill" style={format!("width:{:.2}%", 100.0 * frac)}></div>
            </div>
            if ex.status == ExploreStatus::Stale {
                <p id="ex-stale" class="banner warning small">
                    { "The scenario was edited: the exploration stopped, and these results describe the previous text." }
                </p>
            }
            if let Some(e) = &ex.error {
                <p class="banner error small">{ e }</p>
            }
            if ex.job.is_none() {
                <p class="muted placeholder">
                    { "Runs the scenario in the editor many times over, in Web Workers, and counts the outcomes. The same seed range gives the same histogram as " }
                    <code>{ "oomlab explore --json" }</code>{ ", whatever the number of workers." }
                </p>
            } else {
                <h3>{ "Outcomes" }</h3>
                <p class="muted small" id="histogram-overlap">
                    { "A run can have several outcomes (zeros_in_file together with user_ran_after_reap, say), so the bars add up to more than the runs; each bar is the share of runs that had that outcome." }
                </p>
                { histogram(r) }
                <p class="muted small">{ format!("{} distinct execution{}, {} decisions{}", r.distinct_states, if r.distinct_states == 1 { "" } else { "s" }, r.choice_points,
                    if r.pruned > 0 { format!(", {} pruned by state hash", r.pruned) } else { String::new() }) }</p>
                <h3>{ "Failure buckets" }</h3>
                if r.buckets.is_empty() {
                    <p class="muted small">{ "No failing run so far." }</p>
                }
                <ul class="buckets" id="buckets">
                    { for r.buckets.iter().map(|b| {
                        let tone = b.first.first().and_then(|f| f.outcomes.first()).map_or(Tone::Info, |c| Tone::of_code(c));
                        html! {
                            <li class={classes!("bucket", tone.class())} data-count={b.count.to_string()}>
                                <div><strong class="mono">{ format!("{} ×", b.count) }</strong>{ " " }<span class="mono small">{ &b.signature }</span></div>
                                <div class="bucket-runs">
                                    <span class="muted small">{ "first runs:" }</span>
                                    { for b.first.iter().map(|f| {
                                        let on = p.on.clone();
                                        let rr = f.clone();
                                        html! {
                                            <button class="small-btn mono run-link" data-index={f.index.to_string()}
                                                data-seed={run_seed(f).map(|s| s.to_string())}
                                                title={format!("Open this run (run {} of the exploration) in the run view", f.index)}
                                                onclick={Callback::from(move |_: MouseEvent| on.emit(Action::OpenBucketRun(rr.clone())))}>
                                                { run_label(f) }
                                            </button>
                                        }
                                    }) }
                                </div>
                            </li>
                        }
                    }) }
                </ul>
                <h3>{ "Verdicts" }</h3>
                <table class="vmas verdicts small" id="verdicts">
                    <thead><tr><th>{ "outcome" }</th><th>{ "verdict" }</th><th>{ "runs" }</th><th>{ "[expect]" }</th></tr></thead>
                    <tbody>
                        { for ex.verdicts.iter().map(|v| html! {
                            <tr data-outcome={v.outcome.clone()} data-verdict={verdict_word(v.verdict)} data-holds={v.holds.to_string()} data-expect={v.expect_word(proven)}>
                                <td class="mono">{ &v.outcome }</td>
                                <td>{ verdict_word(v.verdict) }</td>
                                <td class="mono">{ format!("{}/{}", v.hits, v.runs) }</td>
                                <td>{ match v.expected {
                                    Some(e) => html! { <span class={if v.holds { "ok" } else { "bad-text" }}>
                                        { format!("{} {} {}", verdict_word(e), if v.holds { "✔" } else { "✖" }, v.expect_word(proven)) }
                                    </span> },
                                    None => html! { <span class="muted">{ "—" }</span> },
                                } }</td>
                            </tr>
                        }) }
                    </tbody>
                </table>
                <p class={classes!("small", "verdict-scope", if complete { "muted" } else { "incomplete" })} id="verdict-scope"
                    data-complete={complete.to_string()}>
                    if !complete { <strong>{ "Incomplete. " }</strong> }{ scope }
                </p>
                if job_scenario.as_ref().is_some_and(|s| s.scenario.expect.is_empty()) {
                    <p class="muted small">{ "The scenario has no [expect] section: the table lists what was seen." }</p>
                }
            }
            if busy {
                <p class="muted small">{ if job_window.is_some() {
                    "Each prefix is a piece, which goes to whichever worker is free; the reports are merged in prefix order.".to_string()
                } else if ex.kind == StrategyKind::Exhaustive {
                    "A whole-run exhaustive search is one depth-first sequence whose pruning depends on every run before it, so it runs in one worker; choose a window to search with every worker.".to_string()
                } else {
                    format!("Pieces of {} runs go to whichever worker is free; the reports are merged in run order.", if ex.kind == StrategyKind::Pct { crate::explorer::PIECE_PCT } else { crate::explorer::PIECE_RANDOM })
                } }</p>
            }
        </div>
    }
}
