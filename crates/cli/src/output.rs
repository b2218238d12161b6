//! The single-run commands (`presets`, `run`, `replay`, `shrink`, `export`) and
//! how they print. Text for people, `--json` for scripts; both are renderings
//! of what core returns, never a second opinion on it.

use crate::sanitize::{records, term, term_lines};
use crate::{input_err, link, CliError, CliResult};
use oomlab_core::outcome::{Origin, RunResult};
use oomlab_core::permalink::Permalink;
use oomlab_core::{export, presets, shrink, trace, ChoiceSource, Outcome, Sim, ValidScenario};
use serde_json::json;
use std::io::IsTerminal;
use std::path::Path;

/// Every JSON object oomlab prints carries `schema_version` (a list, such as
/// `presets --json`, is printed as it is).
pub fn print_json(v: &serde_json::Value) {
    let mut v = v.clone();
    if let Some(o) = v.as_object_mut() {
        o.entry("schema_version")
            .or_insert(json!(oomlab_core::json::SCHEMA_VERSION));
    }
    // Serializing a Value cannot fail.
    outln!("{}", serde_json::to_string_pretty(&v).unwrap_or_default());
}

fn first_line(s: &str) -> &str {
    s.lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("")
}

pub fn presets(json: bool) -> CliResult<()> {
    let list: Vec<_> = presets::PRESETS
        .iter()
        .map(|p| {
            let sc = p.load();
            (p.id, sc.scenario.title.clone(), sc.scenario.story.clone())
        })
        .collect();
    if json {
        let v: Vec<_> = list
            .iter()
            .map(|(id, title, story)| json!({"id": id, "title": title, "story": story}))
            .collect();
        print_json(&json!(v));
    } else {
        for (id, title, story) in &list {
            outln!("{id:<10} {}", term(title));
            let l = first_line(story);
            if !l.is_empty() {
                outln!("           {}", term(l));
            }
        }
    }
    Ok(())
}

fn outcome_codes(r: &RunResult) -> Vec<&'static str> {
    r.outcomes.iter().map(|o| o.code()).collect()
}

pub fn print_result(r: &RunResult) {
    outln!("outcomes: {}", outcome_codes(r).join(", "));
    outln!("{}", term(&r.explain()));
    outln!(
        "ended: {:?} at {}s after {} steps, {} decisions",
        r.end,
        r.end_time.to_string().trim(),
        r.steps,
        r.choices
    );
    for k in &r.kills {
        outln!(
            "kill: {} ({}) at {}s by {}",
            k.tgid,
            term(&k.comm),
            k.t.to_string().trim(),
            k.by
        );
    }
    if let Some(e) = &r.fs_end {
        if e.crashed {
            outln!(
                "crash: power lost at {}s: {} dirty and {} writeback pages, {} requests in flight, {} cached writes lost; transactions {:?} uncommitted, {:?} replayed",
                e.t.to_string().trim(),
                e.lost_dirty_pages,
                e.lost_writeback_pages,
                e.lost_requests,
                e.lost_cached_writes,
                e.lost_transactions,
                e.replayed
            );
        } else {
            outln!(
                "unmount: clean at {}s, files read back from disk",
                e.t.to_string().trim()
            );
        }
    }
    for f in &r.files {
        outln!(
            "file {}: i_size {} bytes, {} bytes acknowledged, {} bytes on disk{}, {} bad range(s)",
            term(&f.path),
            f.i_size,
            f.acked,
            f.disk_size,
            f.disk_size_at_kill
                .map_or(String::new(), |k| format!(" ({k} at the first SIGKILL)")),
            f.bad.len()
        );
        for b in f.bad.iter().take(8) {
            let origin = match b.origin {
                Origin::Write { pid, event } => format!("by pid {pid}, event {event}"),
                Origin::Blocks {
                    first,
                    count,
                    mapped_by,
                } => format!(
                    "blocks {first}..={}, mapped by event {mapped_by}",
                    first + count.saturating_sub(1)
                ),
            };
            outln!(
                "  {} at {:#x}+{} ({}, {:?}) {origin} at {}s",
                b.outcome.code(),
                b.offset,
                b.len,
                b.position,
                b.provenance,
                b.t.to_string().trim(),
            );
        }
        if f.bad.len() > 8 {
            outln!("  ... {} more", f.bad.len() - 8);
        }
    }
}

/// `run` and `replay`: one run, its verdict, evidence and permalink.
pub fn run(
    sc: &ValidScenario,
    src: ChoiceSource,
    with_trace: bool,
    json: bool,
    from: Option<&Permalink>,
) -> CliResult<()> {
    let mut sim = Sim::new(sc, src.clone());
    let r = sim.run_to_end(u64::MAX);
    let permalink = link(sc, src);
    if json {
        let mut v = json!({
            "model_version": oomlab_core::MODEL_VERSION,
            "title": sc.scenario.title,
            "permalink": permalink,
            "outcomes": outcome_codes(&r),
            "explain": r.explain(),
            "result": r,
        });
        if with_trace {
            v["trace"] = json!(sim.trace());
        }
        print_json(&v);
        return Ok(());
    }
    if let Some(p) = from {
        if !p.compare.is_empty() {
            outln!(
                "note: the link also carries a comparison ({}); this replays the run itself",
                p.compare.join(", ")
            );
        }
    }
    if with_trace {
        out!("{}", trace::trace_text(&records(sim.trace())));
        outln!();
    }
    outln!("{}", term(&sc.scenario.title));
    print_result(&r);
    outln!("permalink: {permalink}");
    Ok(())
}

pub fn shrink(
    sc: &ValidScenario,
    src: &ChoiceSource,
    target: Option<Outcome>,
    max_runs: u64,
    json: bool,
) -> CliResult<()> {
    let target = match target {
        Some(t) => t,
        None => {
            let r = oomlab_core::run(sc, src.clone());
            match r.outcomes.first() {
                Some(o) if o.severity() > 0 => *o,
                _ => {
                    return Err(CliError::Finding(format!(
                    "the run shows no failure to shrink (outcomes: {}); name one with --outcome",
                    outcome_codes(&r).join(", ")
                )))
                }
            }
        }
    };
    let bar = if std::io::stderr().is_terminal() && !json {
        let b = indicatif::ProgressBar::new_spinner();
        b.set_message("shrinking");
        b
    } else {
        indicatif::ProgressBar::hidden()
    };
    let started = std::time::Instant::now();
    let res = shrink::shrink(sc, src, target, max_runs, &mut |n| {
        bar.set_message(format!("shrinking: {n} test runs"));
        bar.tick();
    });
    bar.finish_and_clear();
    let secs = started.elapsed().as_secs_f64();
    let Some(res) = res else {
        return Err(CliError::Finding(format!(
            "the run does not show `{}`; nothing to shrink",
            target.code()
        )));
    };
    let permalink = link(&res.scenario, res.source.clone());
    // The trace of the shrunk run, to show where each critical decision bites:
    // step it until the decision is taken and note the next trace record.
    let mut sim = Sim::new(&res.scenario, res.source.clone());
    let mut order: Vec<usize> = (0..res.critical.len()).collect();
    order.sort_by_key(|&k| res.critical[k].index);
    let mut marks = vec![0usize; res.critical.len()];
    for k in order {
        while sim.recorded_choices().len() as u32 <= res.critical[k].index && sim.step() {}
        marks[k] = sim.trace().len();
    }
    sim.run_to_end(u64::MAX);
    let tr = sim.trace();
    let near_rec = |k: usize| tr.get(marks[k]).or(tr.last());
    let near = |k: usize| near_rec(k).map(|r| r.to_line()).unwrap_or_default();
    let near_text = |k: usize| term(&near(k)).into_owned();
    if json {
        let crit: Vec<_> = res
            .critical
            .iter()
            .enumerate()
            .map(|(k, c)| json!({"index": c.index, "value": c.value, "kind": c.kind, "options": c.options, "near_event": near_rec(k).map(|r| r.idx), "near": near(k)}))
            .collect();
        print_json(&json!({
            "model_version": oomlab_core::MODEL_VERSION,
            "target": target.code(),
            "permalink": permalink,
            "source": res.source,
            "critical": crit,
            "runs": res.runs,
            "minimal": res.minimal,
            "threads_before": res.threads_before,
            "threads_after": res.threads_after,
            "original_choices": res.original_choices,
            "original_deviations": res.original_deviations,
            "original_steps": res.original_steps,
            "steps": res.result.steps,
            "outcomes": outcome_codes(&res.result),
        }));
        eprintln!("shrink: {} test runs in {secs:.2} s", res.runs);
        return Ok(());
    }
    outln!(
        "shrunk `{}`: {} non-default decisions -> {} ({} critical), {} steps -> {}, {} test runs in {secs:.2} s",
        target.code(),
        res.original_deviations,
        match &res.source {
            ChoiceSource::Deviations { devs, .. } => devs.len(),
            _ => 0,
        },
        res.critical.len(),
        res.original_steps,
        res.result.steps,
        res.runs,
    );
    if res.threads_after < res.threads_before {
        outln!(
            "threads: {} -> {} (the permalink carries the smaller scenario)",
            res.threads_before,
            res.threads_after
        );
    }
    outln!("outcomes: {}", outcome_codes(&res.result).join(", "));
    outln!("{}", term(&res.result.explain()));
    if !res.minimal {
        outln!(
            "not minimal: the budget ran out after {} test runs (raise --max-runs); critical decisions are reported for a minimal run only",
            res.runs
        );
    }
    outln!("critical decisions (removing any one loses the outcome):");
    // A shrink stopped by --max-runs can leave hundreds; the JSON has them all.
    const SHOWN: usize = 20;
    for (k, c) in res.critical.iter().enumerate().take(SHOWN) {
        outln!(
            "  #{:<6} {:<14} option {} of {}  near {}",
            c.index,
            c.kind,
            c.value,
            c.options,
            near_text(k)
        );
    }
    if res.critical.len() > SHOWN {
        outln!(
            "  ... {} more (all of them with --json)",
            res.critical.len() - SHOWN
        );
    }
    outln!("permalink: {permalink}");
    Ok(())
}

/// `export --format`.
#[derive(clap::ValueEnum, Clone, Copy, Debug)]
pub enum ExportFormat {
    /// Trace-event JSON for Perfetto: the schedule, kernel functions,
    /// counters and metadata.
    Chrome,
    /// `trace-cmd report` text with 4.13's tracepoints.
    Ftrace,
    /// The CPU-column race diagram.
    Ascii,
    /// The dmesg-like trace of every record.
    Text,
    /// What the kernel would have printed: printk lines only, with the OOM
    /// killer's dump_header (Mem-Info, the task table).
    Dmesg,
}

impl ExportFormat {
    fn name(self) -> &'static str {
        match self {
            ExportFormat::Chrome => "chrome",
            ExportFormat::Ftrace => "ftrace",
            ExportFormat::Ascii => "ascii",
            ExportFormat::Text => "text",
            ExportFormat::Dmesg => "dmesg",
        }
    }
}

/// `scenario`: the text a permalink carries, exactly, so that it can be
/// saved and re-run even when the link's decisions no longer replay.
pub fn scenario(p: &Permalink, json: bool) -> CliResult<()> {
    if json {
        print_json(&json!({
            "model_version": p.model_version,
            "current_model": p.is_current_model(),
            "seed": p.source.seed(),
            "scenario": p.scenario_text,
        }));
    } else {
        // Exact when saved (`> s.toml`), so that it re-runs as it was.
        if std::io::stdout().is_terminal() {
            out!("{}", term_lines(&p.scenario_text));
        } else {
            out!("{}", p.scenario_text);
        }
    }
    Ok(())
}

pub fn export(
    sc: &ValidScenario,
    src: &ChoiceSource,
    format: ExportFormat,
    rows: usize,
    out: Option<&Path>,
    json: bool,
) -> CliResult<()> {
    let mut sim = Sim::new(sc, src.clone());
    let r = sim.run_to_end(u64::MAX);
    let tr = sim.trace();
    // The text forms get escaped user text; the chrome form is JSON, exact.
    let content = match format {
        // Replays of the same run: the schedule, the kernel stacks and the
        // counters (chrome), sched_switch and sched_wakeup (ftrace) need the
        // tasks' states, which the trace does not carry.
        ExportFormat::Chrome => export::chrome_trace_run(sc, src.clone()),
        ExportFormat::Ftrace => term_lines(&export::ftrace(sc, src.clone())),
        ExportFormat::Ascii => export::ascii_diagram(&records(tr), export::last_evidence(&r), rows),
        ExportFormat::Text => export::text(&records(tr)),
        ExportFormat::Dmesg => term_lines(&export::dmesg(sc, src.clone())),
    };
    if let Some(path) = out {
        std::fs::write(path, &content)
            .or_else(|e| crate::input_err(format!("cannot write {}: {e}", path.display())))?;
        if json {
            print_json(&json!({
                "format": format.name(),
                "output": path.display().to_string(),
                "bytes": content.len(),
                "outcomes": outcome_codes(&r),
            }));
        } else {
            eprintln!("wrote {} ({} bytes)", path.display(), content.len());
        }
        return Ok(());
    }
    if json && !matches!(format, ExportFormat::Chrome) {
        print_json(&json!({
            "format": format.name(),
            "outcomes": outcome_codes(&r),
            "content": content,
        }));
    } else {
        // The chrome format is JSON already.
        out!("{content}");
    }
    Ok(())
}

/// `oomlab rewind`: P(worst outcome | state at t) along the run.
pub fn rewind(
    sc: &ValidScenario,
    source: &ChoiceSource,
    points: u32,
    samples: u32,
    json: bool,
) -> CliResult<()> {
    if !(2..=100).contains(&points) {
        return input_err(format!("--points must be between 2 and 100, got {points}"));
    }
    if !(1..=10_000).contains(&samples) {
        return input_err(format!(
            "--samples must be between 1 and 10000, got {samples}"
        ));
    }
    let rw = oomlab_core::rewind::rewind(sc, source, points, samples).map_err(CliError::Input)?;
    if json {
        print_json(&serde_json::to_value(&rw).unwrap_or_default());
        return Ok(());
    }
    outln!(
        "P({} | state at t), {} suffixes with fresh decisions from each checkpoint:",
        rw.outcome,
        samples
    );
    for p in &rw.points {
        outln!(
            "  t={}  event {:>7}  {:>3}/{:<3}  p {:.2}  [{:.2}, {:.2}]",
            oomlab_core::time::SimTime(p.t_ns),
            p.event,
            p.hits,
            p.samples,
            p.p,
            p.low,
            p.high
        );
    }
    match &rw.point_of_no_return {
        None => outln!("no point of no return: P stays below 0.95 somewhere up to the symptom"),
        Some(n) => {
            outln!(
                "point of no return: t={} (event {}), P {:.2} from there on",
                oomlab_core::time::SimTime(n.t_ns),
                n.event,
                n.p
            );
            outln!("the trace just before it:");
            for l in trace::trace_text(&records(&n.records)).lines() {
                outln!("  {l}");
            }
            outln!("threads then (kernel stack, innermost last):");
            for t in n
                .threads
                .iter()
                .filter(|t| t.pid != t.tgid || !t.kernel_stack.is_empty())
            {
                outln!(
                    "  {} {}/{} cpu{} {:?}{}",
                    crate::sanitize::term(&t.comm),
                    t.tgid,
                    t.pid,
                    t.cpu,
                    t.state,
                    if t.kernel_stack.is_empty() {
                        String::new()
                    } else {
                        format!(" in {}", t.kernel_stack.join(" <- "))
                    }
                );
            }
        }
    }
    Ok(())
}
