//! The timeline: one lane per CPU plus lanes for the OOM reaper, kswapd and
//! khugepaged, drawn on a canvas. Only records inside the visible window are
//! visited (binary search on time), and at most one mark per lane, kind and
//! pixel is drawn, so a 100k-record trace pans smoothly. A task's band is
//! solid in kernel mode and hollow in user mode. IPIs are arrows from sender
//! to receiver labelled with their latency; the kill and MMF_UNSTABLE are
//! markers, labelled in a strip above the lanes where labels cannot collide
//! with task names. It opens on the race window (just before the kill or the
//! group exit, to the last evidence); an overview strip of the whole run
//! marks the window and drags it. When IPIs are too dense to draw one arrow
//! each, they are drawn as a density per receiving CPU. Legend entries hide
//! and show their category. Drag to pan (never past the run), wheel or +/- to
//! zoom, hover for the record. Panning and zooming repaint the canvas
//! directly, without a yew render.

use super::fmt_ns;
use crate::view::RunView;
use oomlab_core::trace::{TraceKind, TraceRecord};
use std::rc::Rc;
use wasm_bindgen::JsCast;
use web_sys::{CanvasRenderingContext2d, HtmlCanvasElement};
use yew::prelude::*;

const LANE_H: f64 = 34.0;
/// Tick labels (row 1) and marker labels (rows 2 and 3) above the lanes.
const TOP: f64 = 40.0;
const OVERVIEW_H: f64 = 22.0;
/// More IPIs than this in the window are drawn as a density, not arrows.
const MAX_ARROWS: usize = 150;
/// Lanes after the CPUs: the OOM reaper, kswapd and khugepaged.
const EXTRA_LANES: u32 = 3;
/// cos 0.4 and sin 0.4: an IPI arrowhead's sides are 0.4 rad off its line.
const COS_0_4: f64 = 0.9210609940028851;
const SIN_0_4: f64 = 0.3894183423086505;

#[derive(Properties, PartialEq)]
pub struct Props {
    pub view: Rc<RunView>,
    pub focus: Option<u64>,
    pub hover: Option<u64>,
    pub on_focus: Callback<Option<u64>>,
    pub on_hover: Callback<Option<u64>>,
    pub dark: bool,
    /// Records to mark with a labelled line (critical decisions, the first
    /// divergence of an A/B comparison).
    #[prop_or_default]
    pub marks: Rc<Vec<(u64, String)>>,
    #[prop_or(AttrValue::Static("timeline"))]
    pub canvas_id: AttrValue,
    /// Shown window, shared with another timeline (A/B): (t0, t1) in ns.
    #[prop_or_default]
    pub window: Option<(f64, f64)>,
}

/// Lanes a record is drawn in.
fn lanes_of(r: &TraceRecord, cpus: u32) -> [Option<u32>; 2] {
    let extra = if r.comm.starts_with("oom_reaper") {
        Some(cpus)
    } else if r.comm.starts_with("kswapd") {
        Some(cpus + 1)
    } else if r.comm.starts_with("khugepaged") {
        Some(cpus + 2)
    } else {
        None
    };
    [r.cpu, extra]
}

fn kind_color(k: TraceKind) -> &'static str {
    match k {
        TraceKind::Sched => "#8b93a1",
        TraceKind::Ipi => "#2563eb",
        TraceKind::Lock => "#a16207",
        TraceKind::Fault => "#db2777",
        TraceKind::Alloc => "#0891b2",
        TraceKind::Reclaim => "#0d9488",
        TraceKind::Oom => "#dc2626",
        TraceKind::Reap => "#7c3aed",
        TraceKind::Signal => "#ea580c",
        TraceKind::Copy => "#16a34a",
        TraceKind::Write => "#15803d",
        TraceKind::Exit => "#4b5563",
        TraceKind::Writeback => "#65a30d",
        TraceKind::Tlb => "#9333ea",
        TraceKind::Info => "#64748b",
    }
}

fn pid_color(pid: u32) -> String {
    format!("hsl({} 55% 60% / 0.35)", (pid * 47) % 360)
}

#[derive(Clone, Copy, PartialEq, Debug)]
struct Win {
    t0: f64,
    t1: f64,
}

pub struct DrawStats {
    pub arrows: u32,
    pub marks: u32,
    /// IPIs in the window, and whether they were drawn as a density.
    pub ipis: u32,
    pub density: bool,
}

#[allow(clippy::too_many_arguments)]
fn draw(
    canvas: &HtmlCanvasElement,
    v: &RunView,
    win: Win,
    focus: Option<u64>,
    hover: Option<u64>,
    dark: bool,
    marked: &[(u64, String)],
    hidden: &[TraceKind],
) -> Option<DrawStats> {
    let ctx: CanvasRenderingContext2d = canvas.get_context("2d").ok()??.dyn_into().ok()?;
    let dpr = web_sys::window().map_or(1.0, |w| w.device_pixel_ratio());
    let css_w = f64::from(canvas.client_width().max(100));
    let lanes = v.cpus + EXTRA_LANES;
    let css_h = TOP + f64::from(lanes) * LANE_H + 4.0;
    // Resizing the backing store reallocates it: only when the size changed.
    let (pw, ph) = ((css_w * dpr) as u32, (css_h * dpr) as u32);
    if canvas.width() != pw {
        canvas.set_width(pw);
    }
    if canvas.height() != ph {
        canvas.set_height(ph);
    }
    let _ = ctx.set_transform(dpr, 0.0, 0.0, dpr, 0.0, 0.0);
    let fg = if dark { "#e6e8ec" } else { "#1d1f24" };
    let muted = if dark { "#3a3f4b" } else { "#e4e6ec" };
    ctx.clear_rect(0.0, 0.0, css_w, css_h);
    let span = (win.t1 - win.t0).max(1.0);
    let x = |t: f64| (t - win.t0) / span * css_w;
    let lane_y = |l: u32| TOP + f64::from(l) * LANE_H;
    for l in 0..lanes {
        if l % 2 == 0 {
            ctx.set_fill_style_str(muted);
            ctx.fill_rect(0.0, lane_y(l), css_w, LANE_H);
        }
    }
    // Time axis: ticks at round values (1, 2 or 5 times a power of ten).
    ctx.set_fill_style_str(fg);
    ctx.set_font("10px ui-monospace, monospace");
    let step = nice_step(span / (css_w / 110.0).max(1.0));
    let mut t = (win.t0 / step as f64).ceil() as u64 * step;
    ctx.set_stroke_style_str(if dark { "#4b5261" } else { "#c9ced8" });
    ctx.set_line_width(1.0);
    while (t as f64) <= win.t1 {
        let px = x(t as f64);
        ctx.begin_path();
        ctx.move_to(px, 12.0);
        ctx.line_to(px, TOP);
        ctx.stroke();
        let _ = ctx.fill_text(&tick_label(t, step), px + 2.0, 10.0);
        t += step;
    }
    let trace = &v.trace;
    let start = trace.partition_point(|r| (r.t.0 as f64) < win.t0);
    let end = trace.partition_point(|r| (r.t.0 as f64) <= win.t1);
    // One mark per lane and pixel, and one band per stretch of the same task;
    // rectangles are batched by colour so the canvas state changes rarely.
    let mut last_px: Vec<i64> = vec![i64::MIN; lanes as usize];
    let mut by_kind: Vec<(TraceKind, Vec<(f64, u32)>)> = Vec::new();
    // Per CPU lane: (band start x, pid) of the task running there.
    let mut running: Vec<Option<(f64, u32)>> = vec![None; v.cpus as usize];
    let mut bands: std::collections::BTreeMap<u32, Vec<(f64, f64, u32)>> = Default::default();
    let mut names: std::collections::BTreeMap<u32, &str> = Default::default();
    let mut marks = 0u32;
    // The kernel function of a step, where there is room to print it.
    let mut last_label: Vec<f64> = vec![f64::MIN; lanes as usize];
    let zoomed = span < 2_000_000.0;
    let mut funcs: Vec<(f64, u32, &str)> = Vec::new();
    for r in &trace[start..end] {
        if hidden.contains(&r.kind) {
            continue;
        }
        let px = x(r.t.0 as f64);
        for l in lanes_of(r, v.cpus).into_iter().flatten() {
            let li = l as usize;
            if li >= last_px.len() {
                continue;
            }
            if l < v.cpus {
                let pid = r.pid;
                match (running[li], pid) {
                    (Some((_, p0)), Some(p)) if p0 == p => {}
                    (prev, _) => {
                        if let Some((x0, p0)) = prev {
                            bands.entry(p0).or_default().push((x0, px, l));
                        }
                        running[li] = pid.map(|p| (px, p));
                        if let Some(p) = pid {
                            names.entry(p).or_insert(r.comm.as_str());
                        }
                    }
                }
            }
            let key = px as i64;
            if last_px[li] == key {
                continue;
            }
            last_px[li] = key;
            if zoomed && px - last_label[li] >= 90.0 {
                last_label[li] = px;
                funcs.push((px, l, r.func));
            }
            match by_kind.iter_mut().find(|(k, _)| *k == r.kind) {
                Some((_, list)) => list.push((px, l)),
                None => by_kind.push((r.kind, vec![(px, l)])),
            }
            marks += 1;
        }
    }
    let x_end = x(trace
        .get(end.saturating_sub(1))
        .map_or(win.t1, |r| r.t.0 as f64));
    for (l, run) in running.iter().enumerate() {
        if let Some((x0, p)) = run {
            bands.entry(*p).or_default().push((*x0, x_end, l as u32));
        }
    }
    let mut labels = Vec::new();
    for (pid, list) in &bands {
        ctx.set_fill_style_str(&pid_color(*pid));
        for &(x0, x1, l) in list {
            if x1 - x0 >= 0.5 {
                ctx.fill_rect(x0, lane_y(l) + 2.0, x1 - x0, 6.0);
            }
            if x1 - x0 >= 90.0 {
                labels.push((x0.max(0.0), x1.min(css_w), l, *pid));
            }
        }
    }
    // User mode: the task's band is hollow (kernel mode stays solid), so the
    // mode reads without relying on colour.
    let panel = if dark { "#1a1d24" } else { "#ffffff" };
    let hi = v.user_spans.partition_point(|u| (u.start as f64) <= win.t1);
    let mut last_user: Vec<f64> = vec![f64::MIN; v.cpus as usize];
    for u in &v.user_spans[..hi] {
        if (u.end as f64) < win.t0 || u.cpu >= v.cpus {
            continue;
        }
        let (x0, x1) = (
            x(u.start as f64).max(-1.0),
            x(u.end as f64).min(css_w + 1.0),
        );
        // Narrower than a pixel or already covered: nothing to show.
        if x1 - x0 < 3.0 || x1 <= last_user[u.cpu as usize] {
            continue;
        }
        last_user[u.cpu as usize] = x1;
        ctx.set_fill_style_str(if u.cpu % 2 == 0 { muted } else { panel });
        ctx.fill_rect(x0 + 1.0, lane_y(u.cpu) + 3.5, x1 - x0 - 2.0, 3.0);
    }
    // Who runs, where a band is wide enough to say it.
    ctx.set_fill_style_str(fg);
    for (x0, x1, l, pid) in labels {
        let name = names.get(&pid).copied().unwrap_or("");
        let text = format!("{name}/{pid}");
        // Only where the whole name fits inside its band.
        let w = text_w(&text);
        if x1 - x0 >= w + 6.0 {
            let _ = ctx.fill_text(&text, x0 + 3.0, lane_y(l) + 8.0);
        }
    }
    // Lock waits: hatched spans at the bottom of the lane where the task blocked.
    let lock = kind_color(TraceKind::Lock);
    ctx.set_stroke_style_str(lock);
    ctx.set_line_width(1.0);
    let hi = v.lock_waits.partition_point(|w| (w.start as f64) <= win.t1);
    for w in &v.lock_waits[..hi] {
        if (w.end as f64) < win.t0 || w.cpu >= v.cpus {
            continue;
        }
        let (x0, x1) = (x(w.start as f64).max(0.0), x(w.end as f64).min(css_w));
        if x1 - x0 < 2.0 {
            continue;
        }
        let y0 = lane_y(w.cpu) + 21.0;
        // (hatch: y0 .. y0 + 5, under the marks and above the function names)
        ctx.stroke_rect(x0, y0, x1 - x0, 5.0);
        let mut hx = x0;
        ctx.begin_path();
        while hx < x1 {
            ctx.move_to(hx, y0 + 5.0);
            ctx.line_to((hx + 5.0).min(x1), y0);
            hx += 4.0;
        }
        ctx.stroke();
    }
    ctx.set_fill_style_str(if dark { "#9aa1ad" } else { "#5c6370" });
    ctx.set_font("9px ui-monospace, monospace");
    for (px, l, f) in funcs {
        let _ = ctx.fill_text(f, px + 2.0, lane_y(l) + 32.0);
    }
    ctx.set_font("10px ui-monospace, monospace");
    for (kind, list) in &by_kind {
        ctx.set_fill_style_str(kind_color(*kind));
        for &(px, l) in list {
            ctx.fill_rect(px, lane_y(l) + 9.0, 1.5, 11.0);
        }
    }
    // IPI arrows (including ones sent before the window but delivered in it).
    let mut arrows = 0u32;
    let look_back = trace.partition_point(|r| (r.t.0 as f64) < win.t0 - 200_000.0);
    ctx.set_line_width(1.2);
    let ipis = || {
        trace[look_back..end].iter().filter_map(|r| {
            let (from, (to, at)) = (r.cpu?, r.ipi_to?);
            ((at.0 as f64) >= win.t0 && from < v.cpus && to < v.cpus).then_some((r, to, at.0))
        })
    };
    let ipi_count = if hidden.contains(&TraceKind::Ipi) {
        0
    } else {
        ipis().count()
    };
    // Too many to tell apart: a density strip per receiving CPU (4 px
    // columns, darker where more IPIs arrive) instead of a wall of arrows.
    let density = ipi_count > MAX_ARROWS;
    if density {
        let cols = (css_w / 4.0) as usize + 1;
        let mut grid = vec![0u32; cols * v.cpus as usize];
        for (_, to, at) in ipis() {
            let c = (x(at as f64) / 4.0) as usize;
            if c < cols {
                grid[to as usize * cols + c] += 1;
            }
        }
        let max = f64::from(grid.iter().copied().max().unwrap_or(1).max(1));
        ctx.set_fill_style_str(kind_color(TraceKind::Ipi));
        for (i, n) in grid.iter().enumerate() {
            if *n > 0 {
                let (l, c) = ((i / cols) as u32, i % cols);
                ctx.set_global_alpha(0.2 + 0.8 * f64::from(*n) / max);
                ctx.fill_rect(c as f64 * 4.0, lane_y(l) + LANE_H - 8.0, 4.0, 6.0);
            }
        }
        ctx.set_global_alpha(1.0);
    }
    let dense = ipi_count > 40;
    let draw_arrows = !density && ipi_count > 0;
    let mut ipi_labels: Vec<(f64, f64)> = Vec::new();
    for (r, _, _) in ipis().take(if draw_arrows { usize::MAX } else { 0 }) {
        let (Some(from), Some((to, at))) = (r.cpu, r.ipi_to) else {
            continue;
        };
        if (at.0 as f64) < win.t0 || from >= v.cpus || to >= v.cpus {
            continue;
        }
        let (x0, y0) = (x(r.t.0 as f64), lane_y(from) + LANE_H / 2.0);
        let (x1, y1) = (x(at.0 as f64), lane_y(to) + LANE_H / 2.0);
        ctx.set_stroke_style_str(kind_color(TraceKind::Ipi));
        ctx.set_fill_style_str(kind_color(TraceKind::Ipi));
        ctx.begin_path();
        ctx.move_to(x0, y0);
        ctx.line_to(x1, y1);
        ctx.stroke();
        // The arrowhead's sides are the arrow's direction turned by ±0.4
        // rad, rotated with constants instead of atan2/cos/sin: the bundle
        // then carries no trigonometry (libm's argument reduction is large).
        let len = (x1 - x0).hypot(y1 - y0);
        let (c, s) = if len > 0.0 {
            ((x1 - x0) / len, (y1 - y0) / len)
        } else {
            (1.0, 0.0)
        };
        let (c4, s4) = (COS_0_4, SIN_0_4);
        ctx.begin_path();
        ctx.move_to(x1, y1);
        ctx.line_to(x1 - 6.0 * (c * c4 + s * s4), y1 - 6.0 * (s * c4 - c * s4));
        ctx.line_to(x1 - 6.0 * (c * c4 - s * s4), y1 - 6.0 * (s * c4 + c * s4));
        ctx.fill();
        let (lx, ly) = ((x0 + x1) / 2.0 + 3.0, (y0 + y1) / 2.0 - 2.0);
        // A latency label only where it overlaps no other one.
        if !dense
            && len > 60.0
            && !ipi_labels
                .iter()
                .any(|&(px, py): &(f64, f64)| (px - lx).abs() < 36.0 && (py - ly).abs() < 11.0)
        {
            ipi_labels.push((lx, ly));
            let _ = ctx.fill_text(&fmt_ns(at.0.saturating_sub(r.t.0)), lx, ly);
        }
        arrows += 1;
    }
    ctx.set_global_alpha(1.0);
    // Markers: the kill and MMF_UNSTABLE, labelled in the strip above the
    // lanes; a label that would leave the canvas goes to the left of its
    // line, and one that would overlap the previous one takes the next row.
    let h = css_h;
    let mut row_end = [f64::MIN; 2];
    let mut marker = |t: u64, label: &str, color: &str| {
        let px = x(t as f64);
        if px < 0.0 || px > css_w {
            return;
        }
        ctx.set_stroke_style_str(color);
        ctx.set_fill_style_str(color);
        ctx.set_line_width(2.0);
        ctx.begin_path();
        ctx.move_to(px, 14.0);
        ctx.line_to(px, h);
        ctx.stroke();
        let w = text_w(label);
        let mut lx = px + 3.0;
        if lx + w > css_w {
            lx = px - 3.0 - w;
        }
        let row = usize::from(lx < row_end[0] + 4.0);
        if row == 0 || lx >= row_end[1] + 4.0 {
            row_end[row] = lx + w;
            ctx.set_fill_style_str(panel);
            ctx.fill_rect(lx - 1.0, 15.0 + 12.0 * row as f64, w + 2.0, 11.0);
            ctx.set_fill_style_str(color);
            let _ = ctx.fill_text(label, lx, 24.0 + 12.0 * row as f64);
        }
    };
    let kill = v.result.kills.first().map(|k| k.t.0);
    if let Some(k) = kill {
        marker(k, "SIGKILL", "#dc2626");
    }
    // A group that dies by exit_group, before or without an OOM kill.
    if let Some(d) = v.death_at().filter(|d| Some(*d) != kill) {
        marker(d, "do_group_exit", "#ea580c");
    }
    if let Some(u) = v.result.unstable_at {
        marker(u.0, "MMF_UNSTABLE (reap)", "#7c3aed");
    }
    // Marked records: a dashed line in the accent colour, labelled at the top.
    let accent = if dark { "#fb923c" } else { "#c2410c" };
    for (i, (idx, label)) in marked.iter().enumerate() {
        let Some(pos) = v.trace_pos(*idx) else {
            continue;
        };
        let px = x(trace[pos].t.0 as f64);
        if px < 0.0 || px > css_w {
            continue;
        }
        ctx.set_stroke_style_str(accent);
        ctx.set_fill_style_str(accent);
        ctx.set_line_width(2.0);
        let _ = ctx.set_line_dash(&js_sys::Array::of2(&6.0.into(), &3.0.into()));
        ctx.begin_path();
        ctx.move_to(px, TOP);
        ctx.line_to(px, h);
        ctx.stroke();
        let _ = ctx.set_line_dash(&js_sys::Array::new());
        let _ = ctx.fill_text(label, px + 3.0, h - 4.0 - 11.0 * (i % 3) as f64);
    }
    if let Some(pos) = hover.and_then(|f| v.trace_pos(f)) {
        let px = x(trace[pos].t.0 as f64);
        ctx.set_fill_style_str(if dark {
            "rgba(250,204,21,0.5)"
        } else {
            "rgba(234,179,8,0.5)"
        });
        ctx.fill_rect(px - 1.5, TOP, 3.0, h - TOP);
    }
    if let Some(pos) = focus.and_then(|f| v.trace_pos(f)) {
        let r = &trace[pos];
        let px = x(r.t.0 as f64);
        ctx.set_stroke_style_str(fg);
        ctx.set_line_width(1.0);
        let _ = ctx.set_line_dash(&js_sys::Array::of2(&4.0.into(), &3.0.into()));
        ctx.begin_path();
        ctx.move_to(px, TOP);
        ctx.line_to(px, h);
        ctx.stroke();
        let _ = ctx.set_line_dash(&js_sys::Array::new());
        for l in lanes_of(r, v.cpus).into_iter().flatten() {
            ctx.begin_path();
            let _ = ctx.arc(
                px,
                lane_y(l) + LANE_H / 2.0,
                6.0,
                0.0,
                std::f64::consts::TAU,
            );
            ctx.stroke();
        }
    }
    Some(DrawStats {
        arrows,
        marks,
        ipis: ipi_count as u32,
        density,
    })
}

/// The width of `s` in the 10 px monospace font the canvas labels use (a
/// character is 0.6 em there), without a round trip through `measureText`.
fn text_w(s: &str) -> f64 {
    s.chars().count() as f64 * 6.1
}

/// The tick step for about `raw` ns per tick: 1, 2 or 5 times a power of ten.
fn nice_step(raw: f64) -> u64 {
    let mut p = 1u64;
    loop {
        for m in [1, 2, 5] {
            if (m * p) as f64 >= raw {
                return m * p;
            }
        }
        if p >= 1_000_000_000_000 {
            return 10 * p;
        }
        p *= 10;
    }
}

/// A tick's time in the largest unit the step allows, with just the
/// decimals the step needs (`312.4 ms`, `1.05 s`, `80 µs`).
fn tick_label(t: u64, step: u64) -> String {
    let (unit, name) = match step {
        s if s >= 10_000_000 => (1_000_000_000u64, "s"),
        s if s >= 10_000 => (1_000_000, "ms"),
        s if s >= 10 => (1_000, "µs"),
        _ => (1, "ns"),
    };
    // Decimals: how far the step's leading digit is below the unit.
    let mut decimals = 0usize;
    let mut q = unit;
    while q > step && q > 1 {
        q /= 10;
        decimals += 1;
    }
    let whole = t / unit;
    if decimals == 0 {
        return format!("{whole} {name}");
    }
    let frac = (t % unit) / q;
    format!("{whole}.{frac:0decimals$} {name}")
}

/// Keeps a window inside the run: never wider than it, never past its ends.
fn clamp(w: Win, end: f64) -> Win {
    let span = (w.t1 - w.t0).clamp(200.0_f64.min(end), end);
    let t0 = w.t0.clamp(0.0, (end - span).max(0.0));
    Win { t0, t1: t0 + span }
}

/// Records per overview column, for the whole run.
fn overview_counts(v: &RunView, cols: usize) -> Vec<u32> {
    let end = v.result.end_time.0.max(1) as f64;
    let mut c = vec![0u32; cols];
    for r in &v.trace {
        let i = ((r.t.0 as f64) / end * cols as f64) as usize;
        c[i.min(cols - 1)] += 1;
    }
    c
}

/// The overview strip: the whole run's activity, the kill, and the shown
/// window as a box.
fn draw_overview(canvas: &HtmlCanvasElement, v: &RunView, counts: &[u32], win: Win, dark: bool) {
    let Some(ctx) = canvas
        .get_context("2d")
        .ok()
        .flatten()
        .and_then(|c| c.dyn_into::<CanvasRenderingContext2d>().ok())
    else {
        return;
    };
    let dpr = web_sys::window().map_or(1.0, |w| w.device_pixel_ratio());
    let css_w = f64::from(canvas.client_width().max(100));
    let (pw, ph) = ((css_w * dpr) as u32, (OVERVIEW_H * dpr) as u32);
    if canvas.width() != pw {
        canvas.set_width(pw);
    }
    if canvas.height() != ph {
        canvas.set_height(ph);
    }
    let _ = ctx.set_transform(dpr, 0.0, 0.0, dpr, 0.0, 0.0);
    ctx.clear_rect(0.0, 0.0, css_w, OVERVIEW_H);
    let end = v.result.end_time.0.max(1) as f64;
    let max = f64::from(counts.iter().copied().max().unwrap_or(1).max(1));
    let cw = css_w / counts.len() as f64;
    ctx.set_fill_style_str(if dark { "#6b7280" } else { "#9aa1ad" });
    for (i, n) in counts.iter().enumerate() {
        if *n > 0 {
            let hgt = 2.0 + (OVERVIEW_H - 4.0) * f64::from(*n) / max;
            ctx.fill_rect(i as f64 * cw, OVERVIEW_H - hgt, cw.max(1.0), hgt);
        }
    }
    if let Some(k) = v.result.kills.first() {
        ctx.set_fill_style_str("#dc2626");
        ctx.fill_rect(k.t.0 as f64 / end * css_w - 1.0, 0.0, 2.0, OVERVIEW_H);
    }
    let (x0, x1) = (win.t0 / end * css_w, win.t1 / end * css_w);
    ctx.set_fill_style_str(if dark {
        "rgba(96,165,250,0.25)"
    } else {
        "rgba(37,99,235,0.18)"
    });
    ctx.fill_rect(x0, 0.0, (x1 - x0).max(3.0), OVERVIEW_H);
    ctx.set_stroke_style_str(if dark { "#60a5fa" } else { "#2563eb" });
    ctx.set_line_width(1.5);
    ctx.stroke_rect(x0, 0.75, (x1 - x0).max(3.0), OVERVIEW_H - 1.5);
}

fn full(v: &RunView) -> Win {
    Win {
        t0: 0.0,
        t1: run_end(v),
    }
}

fn run_end(v: &RunView) -> f64 {
    v.result.end_time.0.max(1) as f64
}

/// Where the timeline opens: the race window.
fn opening(v: &RunView) -> Win {
    let (t0, t1) = v.race_window();
    Win {
        t0: t0 as f64,
        t1: t1 as f64,
    }
}

/// Everything a redraw needs besides the window, so that panning and zooming
/// draw straight onto the canvas without a yew render per frame.
struct Painter {
    canvas: NodeRef,
    overview: NodeRef,
    counts: Rc<Vec<u32>>,
    hidden: Rc<Vec<TraceKind>>,
    range: NodeRef,
    stats: NodeRef,
    view: Rc<RunView>,
    focus: Option<u64>,
    hover: Option<u64>,
    dark: bool,
    marks: Rc<Vec<(u64, String)>>,
}

impl Painter {
    fn paint(&self, w: Win) {
        if let Some(c) = self.canvas.cast::<HtmlCanvasElement>() {
            let t0 = crate::app::now_ms();
            if let Some(s) = draw(
                &c,
                &self.view,
                w,
                self.focus,
                self.hover,
                self.dark,
                &self.marks,
                &self.hidden,
            ) {
                let ms = crate::app::now_ms() - t0;
                let _ = c.set_attribute("data-ipi-arrows", &s.arrows.to_string());
                let _ = c.set_attribute("data-draw-ms", &format!("{ms:.2}"));
                let idx = |x: Option<u64>| x.map_or(String::new(), |i| i.to_string());
                let _ = c.set_attribute("data-focus", &idx(self.focus));
                let _ = c.set_attribute("data-hover", &idx(self.hover));
                let _ = c.set_attribute("data-t0", &format!("{:.0}", w.t0));
                let _ = c.set_attribute("data-user-spans", &self.view.user_spans.len().to_string());
                let _ = c.set_attribute("data-marks", &self.marks.len().to_string());
                let _ = c.set_attribute("data-ipis", &s.ipis.to_string());
                let _ = c.set_attribute("data-ipi-density", &s.density.to_string());
                let _ = c.set_attribute("data-view-start-ns", &format!("{:.0}", w.t0));
                let _ = c.set_attribute("data-view-end-ns", &format!("{:.0}", w.t1));
                let _ =
                    c.set_attribute("data-run-end-ns", &self.view.result.end_time.0.to_string());
                // The first fatal signal: the OOM kill, or the group exit.
                let kill = self.view.death_at().map(|t| t.to_string());
                let _ = c.set_attribute("data-kill-ns", &kill.unwrap_or_default());
                let hidden: Vec<String> = self
                    .hidden
                    .iter()
                    .map(|k| format!("{k:?}").to_ascii_lowercase())
                    .collect();
                let _ = c.set_attribute("data-hidden", &hidden.join(","));
                if let Some(e) = self.stats.cast::<web_sys::Element>() {
                    let ipi = if s.density {
                        format!("{} IPIs as a density (zoom in for arrows)", s.ipis)
                    } else {
                        format!("{} IPI arrows", s.arrows)
                    };
                    e.set_text_content(Some(&format!(
                        "{ipi}, {} marks, drawn in {ms:.1} ms",
                        s.marks
                    )));
                }
            }
        }
        if let Some(o) = self.overview.cast::<HtmlCanvasElement>() {
            draw_overview(&o, &self.view, &self.counts, w, self.dark);
        }
        if let Some(e) = self.range.cast::<web_sys::Element>() {
            e.set_text_content(Some(&format!(
                "{} – {}",
                fmt_ns(w.t0.max(0.0) as u64),
                fmt_ns(w.t1.max(0.0) as u64)
            )));
        }
    }
}

#[function_component(Timeline)]
pub fn timeline(p: &Props) -> Html {
    let canvas = use_node_ref();
    let range = use_node_ref();
    let stats_ref = use_node_ref();
    // The window lives outside yew state: interactions change it and repaint
    // directly, which keeps a pan frame to the cost of the canvas draw.
    let overview = use_node_ref();
    let win = use_mut_ref(|| opening(&p.view));
    let drag = use_mut_ref(|| None::<(f64, Win, bool)>);
    let ov_drag = use_mut_ref(|| false);
    let hover = use_state(|| None::<(f64, f64, String)>);
    let hidden = use_state(|| Rc::new(Vec::<TraceKind>::new()));
    let counts = use_memo((p.view.link.clone(), p.view.result.trace_hash), {
        let v = p.view.clone();
        move |_| overview_counts(&v, 400)
    });
    let painter = Rc::new(Painter {
        canvas: canvas.clone(),
        overview: overview.clone(),
        counts: Rc::new((*counts).clone()),
        hidden: (*hidden).clone(),
        range: range.clone(),
        stats: stats_ref.clone(),
        view: p.view.clone(),
        focus: p.focus,
        hover: p.hover,
        dark: p.dark,
        marks: p.marks.clone(),
    });
    let set_win = {
        let win = win.clone();
        let painter = painter.clone();
        let end = run_end(&p.view);
        Rc::new(move |w: Win| {
            let w = clamp(w, end);
            *win.borrow_mut() = w;
            painter.paint(w);
        })
    };
    // A new run: show all of it (or the window given).
    {
        let win = win.clone();
        let v = p.view.clone();
        use_effect_with(
            (
                p.view.link.clone(),
                p.view.result.trace_hash,
                p.window.map(|w| (w.0 as u64, w.1 as u64)),
            ),
            move |(_, _, w)| {
                *win.borrow_mut() = match w {
                    Some((t0, t1)) => Win {
                        t0: *t0 as f64,
                        t1: *t1 as f64,
                    },
                    None => opening(&v),
                };
            },
        );
    }
    // A focus change centres the window on the record, zooming in if needed.
    {
        let win = win.clone();
        let v = p.view.clone();
        use_effect_with(p.focus, move |f| {
            if let Some(pos) = f.and_then(|f| v.trace_pos(f)) {
                let t = v.trace[pos].t.0 as f64;
                let w = *win.borrow();
                let span = (w.t1 - w.t0).min(400_000.0);
                let t0 = (t - span / 2.0).max(0.0);
                *win.borrow_mut() = clamp(Win { t0, t1: t0 + span }, run_end(&v));
            }
        });
    }
    {
        let painter = painter.clone();
        let win = win.clone();
        use_effect_with(
            (
                p.focus,
                p.hover,
                p.dark,
                p.view.link.clone(),
                p.view.result.trace_hash,
                p.marks.clone(),
                p.window.map(|w| (w.0 as u64, w.1 as u64)),
                (*hidden).clone(),
            ),
            move |_| painter.paint(*win.borrow()),
        );
    }
    let t_at = {
        let canvas = canvas.clone();
        let win = win.clone();
        move |client_x: i32| -> f64 {
            let win = *win.borrow();
            let Some(c) = canvas.cast::<web_sys::Element>() else {
                return win.t0;
            };
            let rect = c.get_bounding_client_rect();
            let fx = (f64::from(client_x) - rect.left()) / rect.width().max(1.0);
            win.t0 + fx * (win.t1 - win.t0)
        }
    };
    let zoom = {
        let win = win.clone();
        let set_win = set_win.clone();
        let v = p.view.clone();
        move |factor: f64, at: Option<f64>| {
            let w = *win.borrow();
            let c = at.unwrap_or((w.t0 + w.t1) / 2.0);
            let span = ((w.t1 - w.t0) * factor).clamp(200.0, run_end(&v));
            let f = (c - w.t0) / (w.t1 - w.t0);
            set_win(Win {
                t0: c - span * f,
                t1: c - span * f + span,
            });
        }
    };
    let pan = {
        let win = win.clone();
        let set_win = set_win.clone();
        move |frac: f64| {
            let w = *win.borrow();
            let d = (w.t1 - w.t0) * frac;
            set_win(Win {
                t0: w.t0 + d,
                t1: w.t1 + d,
            });
        }
    };
    let on_wheel = {
        let zoom = zoom.clone();
        let t_at = t_at.clone();
        Callback::from(move |e: WheelEvent| {
            e.prevent_default();
            zoom(
                if e.delta_y() > 0.0 { 1.25 } else { 0.8 },
                Some(t_at(e.client_x())),
            );
        })
    };
    let on_down = {
        let drag = drag.clone();
        let win = win.clone();
        Callback::from(move |e: MouseEvent| {
            *drag.borrow_mut() = Some((f64::from(e.client_x()), *win.borrow(), false));
        })
    };
    let nearest = {
        let v = p.view.clone();
        let canvas = canvas.clone();
        let win = win.clone();
        move |e: &MouseEvent| -> Option<usize> {
            let win = *win.borrow();
            let c = canvas.cast::<web_sys::Element>()?;
            let rect = c.get_bounding_client_rect();
            let lane = ((f64::from(e.client_y()) - rect.top() - TOP) / LANE_H).floor();
            if lane < 0.0 {
                return None;
            }
            let lane = lane as u32;
            let px_ns = (win.t1 - win.t0) / rect.width().max(1.0);
            let t = win.t0 + (f64::from(e.client_x()) - rect.left()) * px_ns;
            let i = v.trace.partition_point(|r| (r.t.0 as f64) < t);
            let lo = i.saturating_sub(400);
            let hi = (i + 400).min(v.trace.len());
            (lo..hi)
                .filter(|&k| lanes_of(&v.trace[k], v.cpus).contains(&Some(lane)))
                .map(|k| (k, ((v.trace[k].t.0 as f64) - t).abs()))
                .filter(|&(_, d)| d <= px_ns * 6.0)
                .min_by(|a, b| a.1.total_cmp(&b.1))
                .map(|(k, _)| k)
        }
    };
    let last_hover = use_mut_ref(|| None::<u64>);
    let on_move = {
        let last_hover = last_hover.clone();
        let on_hover = p.on_hover.clone();
        let drag = drag.clone();
        let set_win = set_win.clone();
        let hover = hover.clone();
        let nearest = nearest.clone();
        let v = p.view.clone();
        let canvas = canvas.clone();
        Callback::from(move |e: MouseEvent| {
            let mut d = drag.borrow_mut();
            if let Some((x0, w0, moved)) = d.as_mut() {
                let dx = f64::from(e.client_x()) - *x0;
                if dx.abs() > 3.0 {
                    *moved = true;
                }
                if *moved {
                    let width = canvas
                        .cast::<web_sys::Element>()
                        .map_or(800.0, |c| c.get_bounding_client_rect().width());
                    let dt = dx / width.max(1.0) * (w0.t1 - w0.t0);
                    set_win(Win {
                        t0: w0.t0 - dt,
                        t1: w0.t1 - dt,
                    });
                    return;
                }
            }
            drop(d);
            let k = nearest(&e);
            let idx = k.map(|k| v.trace[k].idx);
            if idx != *last_hover.borrow() {
                *last_hover.borrow_mut() = idx;
                on_hover.emit(idx);
            }
            let tip = k.map(|k| {
                (
                    f64::from(e.offset_x()),
                    f64::from(e.offset_y()),
                    v.trace[k].to_line(),
                )
            });
            hover.set(tip);
        })
    };
    let on_up = {
        let drag = drag.clone();
        let on_focus = p.on_focus.clone();
        let v = p.view.clone();
        Callback::from(move |e: MouseEvent| {
            let was = drag.borrow_mut().take();
            if let Some((_, _, false)) = was {
                if let Some(k) = nearest(&e) {
                    on_focus.emit(Some(v.trace[k].idx));
                }
            }
        })
    };
    let on_leave = {
        let drag = drag.clone();
        let hover = hover.clone();
        let on_hover = p.on_hover.clone();
        Callback::from(move |_: MouseEvent| {
            *drag.borrow_mut() = None;
            *last_hover.borrow_mut() = None;
            on_hover.emit(None);
            hover.set(None);
        })
    };
    let on_key = {
        let zoom = zoom.clone();
        let pan = pan.clone();
        Callback::from(move |e: KeyboardEvent| {
            match e.key().as_str() {
                "+" | "=" => zoom(0.8, None),
                "-" | "_" => zoom(1.25, None),
                "ArrowLeft" => pan(-0.1),
                "ArrowRight" => pan(0.1),
                _ => return,
            }
            // The timeline's own keys: a step view around it must not step.
            e.stop_propagation();
        })
    };
    let btn = |label: &'static str,
               aria: &'static str,
               id: &'static str,
               f: Callback<MouseEvent>| {
        html! { <button class="small-btn" id={id} aria-label={aria} onclick={f}>{ label }</button> }
    };
    let zin = {
        let z = zoom.clone();
        Callback::from(move |_| z(0.5, None))
    };
    let zout = {
        let z = zoom.clone();
        Callback::from(move |_| z(2.0, None))
    };
    let fit = {
        let set_win = set_win.clone();
        let v = p.view.clone();
        Callback::from(move |_| set_win(full(&v)))
    };
    let left = {
        let pan = pan.clone();
        Callback::from(move |_| pan(-0.25))
    };
    let right = {
        let pan = pan.clone();
        Callback::from(move |_| pan(0.25))
    };
    // The overview: press to centre the window there, drag to move it.
    let ov_to = {
        let overview = overview.clone();
        let win = win.clone();
        let set_win = set_win.clone();
        let end = run_end(&p.view);
        move |client_x: i32| {
            let Some(c) = overview.cast::<web_sys::Element>() else {
                return;
            };
            let rect = c.get_bounding_client_rect();
            let t = (f64::from(client_x) - rect.left()) / rect.width().max(1.0) * end;
            let w = *win.borrow();
            let half = (w.t1 - w.t0) / 2.0;
            set_win(Win {
                t0: t - half,
                t1: t + half,
            });
        }
    };
    let ov_down = {
        let ov_to = ov_to.clone();
        let ov_drag = ov_drag.clone();
        Callback::from(move |e: MouseEvent| {
            *ov_drag.borrow_mut() = true;
            ov_to(e.client_x());
        })
    };
    let ov_move = {
        let ov_drag = ov_drag.clone();
        Callback::from(move |e: MouseEvent| {
            if *ov_drag.borrow() {
                ov_to(e.client_x());
            }
        })
    };
    let ov_up = {
        let ov_drag = ov_drag.clone();
        Callback::from(move |_: MouseEvent| *ov_drag.borrow_mut() = false)
    };
    let race = {
        let set_win = set_win.clone();
        let v = p.view.clone();
        Callback::from(move |_| set_win(opening(&v)))
    };
    let lanes: Vec<String> = (0..p.view.cpus)
        .map(|c| format!("cpu{c}"))
        .chain(["oom_reaper".into(), "kswapd".into(), "khugepaged".into()])
        .collect();
    html! {
        <div class="timeline">
            <div class="timeline-bar">
                <strong>{ "Timeline" }</strong>
                <span class="muted small mono" ref={range}></span>
                <span class="spacer"></span>
                { btn("◀", "Pan left", "tl-left", left) }
                { btn("▶", "Pan right", "tl-right", right) }
                { btn("+", "Zoom in", "tl-zoom-in", zin) }
                { btn("−", "Zoom out", "tl-zoom-out", zout) }
                { btn("Race", "Show the race window: the kill to the last evidence", "tl-race", race) }
                { btn("Fit", "Show the whole run", "tl-fit", fit) }
            </div>
            <canvas id={format!("{}-overview", p.canvas_id)} class="timeline-overview" ref={overview}
                aria-label="The whole run: the box is the part shown below; press or drag to move it"
                onmousedown={ov_down} onmousemove={ov_move} onmouseup={ov_up.clone()} onmouseleave={ov_up} />
            <div class="timeline-body">
                <div class="lane-labels mono" aria-hidden="true" style={format!("padding-top:{TOP}px")}>
                    { for lanes.iter().map(|l| html! { <div class="lane-label">{ l }</div> }) }
                </div>
                <div class="canvas-wrap">
                    <canvas id={p.canvas_id.clone()} class="timeline-canvas" ref={canvas} tabindex="0" data-lanes={lanes.len().to_string()}
                        aria-label="Timeline: one lane per CPU, plus the OOM reaper, kswapd and khugepaged. Drag to pan, wheel or +/- to zoom, arrow keys to pan."
                        onwheel={on_wheel} onmousedown={on_down} onmousemove={on_move} onmouseup={on_up}
                        onmouseleave={on_leave} onkeydown={on_key} />
                    if let Some((x, y, text)) = &*hover {
                        <div class="tooltip mono" style={format!("left:{}px;top:{}px", x + 12.0, y + 12.0)}>{ text }</div>
                    }
                </div>
            </div>
            <div class="timeline-legend small">
                <span class="lg"><span class="swatch band-kernel"></span>{ "kernel mode" }</span>
                <span class="lg"><span class="swatch band-user"></span>{ "user mode" }</span>
                { for [TraceKind::Sched, TraceKind::Ipi, TraceKind::Lock, TraceKind::Fault, TraceKind::Alloc, TraceKind::Oom, TraceKind::Reap, TraceKind::Signal, TraceKind::Copy, TraceKind::Writeback, TraceKind::Tlb].iter().map(|k| {
                    let k = *k;
                    let name = format!("{k:?}").to_ascii_lowercase();
                    let off = hidden.contains(&k);
                    let hidden = hidden.clone();
                    let toggle = Callback::from(move |_: MouseEvent| {
                        let mut h = (**hidden).clone();
                        match h.iter().position(|x| *x == k) {
                            Some(i) => { h.remove(i); }
                            None => h.push(k),
                        }
                        hidden.set(Rc::new(h));
                    });
                    html! {
                        <button class={classes!("lg", "lg-toggle", off.then_some("off"))} data-kind={name.clone()}
                            aria-pressed={(!off).to_string()} title={format!("Show or hide {name} records")} onclick={toggle}>
                            <span class="swatch" style={format!("background:{}", kind_color(k))}></span>{ name }
                        </button>
                    }
                }) }
                <span class="muted" ref={stats_ref}></span>
            </div>
        </div>
    }
}
