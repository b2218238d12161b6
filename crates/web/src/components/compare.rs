//! A/B compare: toggles to flip, then both runs of the same recorded choices:
//! verdicts side by side, the first diverging trace record, the two
//! timelines stacked on one time axis with the divergence marked, and the two
//! hex dumps side by side around the first differing byte.

use super::timeline::Timeline;
use crate::ab::{byte_differs, current, AbView, TOGGLES};
use crate::state::{Action, CompareState};
use crate::view::RunView;
use oomlab_core::hexdump::{OdStyle, ROW_BYTES};
use std::rc::Rc;
use yew::prelude::*;

#[derive(Properties, PartialEq)]
pub struct Props {
    pub view: Option<Rc<RunView>>,
    pub compare: CompareState,
    /// B is being run.
    pub running: bool,
    pub dark: bool,
    pub on: Callback<Action>,
    pub on_copy: Callback<String>,
}

fn side_verdict(side: &'static str, v: &RunView) -> Html {
    let r = &v.result;
    html! {
        <div class={classes!("verdict", "ab-verdict", super::verdict::worst_tone(&r.outcomes))} data-side={side}
            data-worst={r.outcomes.first().map(|o| o.code())}>
            <div class="chips">
                <strong class="ab-side">{ side }</strong>
                { for r.outcomes.iter().map(|o| html! {
                    { super::verdict::chip(*o) }
                }) }
            </div>
            <p class="small explain-text">{ r.explain() }</p>
        </div>
    }
}

/// Rows of both dumps around `off`, differing cells marked.
fn dumps(ab: &AbView, file: usize, off: u64) -> Html {
    let path = &ab.files[file].path;
    let fa = ab.a.files.iter().find(|f| &f.path == path);
    let fb = ab.b.files.iter().find(|f| &f.path == path);
    let first = (off / ROW_BYTES).saturating_sub(2);
    let side = |label: &'static str,
                f: Option<&crate::view::FileView>,
                other: Option<&crate::view::FileView>| {
        let Some(f) = f else {
            return html! { <div class="ab-dump"><h4>{ label }</h4><p class="muted small">{ "no such file in this run" }</p></div> };
        };
        let rows = f.dump.rows();
        html! {
            <div class="ab-dump">
                <h4 class="mono small">{ format!("{label}: {} (i_size {:#x})", f.path, f.i_size) }</h4>
                <div class="ab-rows mono">
                    { for (first..(first + 8).min(rows)).map(|i| {
                        let row = f.dump.row(i, OdStyle::Hex);
                        html! {
                            <div class="ab-row" data-offset={format!("{:#x}", row.offset)}>
                                <span class="off">{ row.offset_text.clone() }</span>
                                { for row.cells.iter().enumerate().map(|(k, c)| {
                                    let o = row.offset + 2 * k as u64;
                                    let diff = match other {
                                        Some(g) => byte_differs(&f.dump, &g.dump, o) || byte_differs(&f.dump, &g.dump, o + 1),
                                        None => true,
                                    };
                                    html! { <span class={classes!("cell", format!("b-{}", c.class.name()), diff.then_some("diff"))}>{ c.text.clone() }</span> }
                                }) }
                            </div>
                        }
                    }) }
                </div>
            </div>
        }
    };
    html! {
        <div class="ab-dumps" id="ab-dumps" data-file={path.clone()} data-offset={format!("{off:#x}")}>
            { side("A", fa, fb) }
            { side("B", fb, fa) }
        </div>
    }
}

#[function_component(ComparePanel)]
pub fn compare_panel(p: &Props) -> Html {
    let Some(a) = &p.view else {
        return html! { <p class="muted placeholder">{ "Run a scenario first: B replays the same decisions with toggles flipped." }</p> };
    };
    let toggles = &a.scenario.toggles;
    let chosen = |path: &str| {
        p.compare
            .overrides
            .iter()
            .find_map(|o| {
                o.split_once('=')
                    .filter(|x| x.0 == path)
                    .map(|x| x.1.to_string())
            })
            .unwrap_or_else(|| current(toggles, path))
    };
    let run = {
        let on = p.on.clone();
        Callback::from(move |_: MouseEvent| on.emit(Action::CompareRun))
    };
    let ab = p.compare.view.clone();
    html! {
        <div class="compare" id="compare">
            <p class="small muted">
                { format!("B feeds A's {} recorded decisions, in order, to a run with these kernel toggles set differently. The runs stay identical only until a flipped toggle changes what happens: from there on the same values answer different decisions (a missing oom_reaper thread, say, changes the first scheduling decision), so B is a neighbour of A, not A itself.", a.choices.len()) }
            </p>
            <div class="ab-toggles">
                { for TOGGLES.iter().map(|d| {
                    let on = p.on.clone();
                    let path = d.path;
                    let a_val = current(toggles, path);
                    let val = chosen(path);
                    html! {
                        <div class={classes!("field", (val != a_val).then_some("flipped"))}>
                            <label for={d.id}>{ format!("{} (A: {a_val})", d.label) }</label>
                            <select id={d.id} disabled={p.running} onchange={Callback::from(move |e: Event| {
                                let v = e.target_unchecked_into::<web_sys::HtmlSelectElement>().value();
                                on.emit(Action::CompareSet { path: path.to_string(), value: v });
                            })}>
                                { for d.values.iter().map(|v| html! { <option value={*v} selected={*v == val}>{ *v }</option> }) }
                            </select>
                        </div>
                    }
                }) }
            </div>
            <div class="runbar">
                <button id="ab-run" class="primary" disabled={p.running} onclick={run}>{ "Compare" }</button>
                <span class="mono small">{ if p.compare.overrides.is_empty() { "B = A (nothing flipped)".to_string() } else { format!("B: {}", p.compare.overrides.join(", ")) } }</span>
                if p.running { <span class="status busy">{ "Running B…" }</span> }
            </div>
            if let Some(e) = &p.compare.error { <p class="bad-text small">{ e }</p> }
            if let Some(ab) = ab {
                { result(&ab, p) }
            }
        </div>
    }
}

fn result(ab: &Rc<AbView>, p: &Props) -> Html {
    let div = ab.divergence;
    let recs = div.map(|d| {
        (
            ab.a.trace_pos(d).map(|i| &ab.a.trace[i]),
            ab.b.trace_pos(d).map(|i| &ab.b.trace[i]),
        )
    });
    let marks = Rc::new(
        div.map(|d| vec![(d, "first divergence".to_string())])
            .unwrap_or_default(),
    );
    let end = ab.a.result.end_time.0.max(ab.b.result.end_time.0).max(1) as f64;
    // Both timelines on the same axis: from a little before the divergence.
    let window = div
        .and_then(|d| ab.a.trace_pos(d).map(|i| ab.a.trace[i].t.0 as f64))
        .map(|t| {
            let span = (end - t).clamp(200_000.0, 20_000_000.0) * 1.2;
            let t0 = (t - span * 0.15).max(0.0);
            (t0, t0 + span)
        })
        .or(Some((0.0, end)));
    let noop = Callback::from(|_: Option<u64>| {});
    let link = ab.link.clone();
    let on_copy = p.on_copy.clone();
    html! {
        <>
        <div class="ab-verdicts">
            { side_verdict("A", &ab.a) }
            { side_verdict("B", &ab.b) }
        </div>
        <div class="ab-divergence" id="ab-divergence" data-idx={div.map(|d| d.to_string())}>
            { match recs {
                None => html! { <p class="small">{ "The two runs are identical: the flipped toggles never mattered for these decisions." }</p> },
                Some((ra, rb)) => html! {
                    <>
                    <p class="small"><strong>{ format!("First divergence at trace record {}", div.unwrap_or(0)) }</strong>
                        { if div == Some(0) { ": the runs differ from their first record, so B shares none of A's history." } else { ": everything before it is the same in both runs." } }</p>
                    <div class="mono small ab-lines">
                        <div><span class="ab-side">{ "A" }</span>{ ra.map_or("(trace ended)".to_string(), |r| r.to_line()) }</div>
                        <div><span class="ab-side">{ "B" }</span>{ rb.map_or("(trace ended)".to_string(), |r| r.to_line()) }</div>
                    </div>
                    </>
                },
            } }
        </div>
        <div class="ab-timelines">
            <div class="ab-label mono small">{ "A" }</div>
            <Timeline view={ab.a.clone()} focus={None::<u64>} hover={None::<u64>} on_focus={noop.clone()} on_hover={noop.clone()}
                dark={p.dark} marks={marks.clone()} canvas_id="timeline-a" window={window} />
            <div class="ab-label mono small">{ format!("B ({})", ab.overrides.join(", ")) }</div>
            <Timeline view={ab.b.clone()} focus={None::<u64>} hover={None::<u64>} on_focus={noop.clone()} on_hover={noop}
                dark={p.dark} marks={marks} canvas_id="timeline-b" window={window} />
        </div>
        <h3>{ "Files" }</h3>
        <ul class="small mono ab-files">
            { for ab.files.iter().map(|f| html! {
                <li data-path={f.path.clone()} data-bytes={f.bytes.to_string()}>
                    { match f.first {
                        Some(o) => format!("{}: {} bytes differ, first at {o:#x}", f.path, f.bytes),
                        None => format!("{}: identical", f.path),
                    } }
                </li>
            }) }
        </ul>
        if let Some((fi, off)) = ab.first_file_diff() {
            { dumps(ab, fi, off) }
        }
        <div class="shrink-row">
            <input id="ab-link" class="mono link-out" readonly=true aria-label="A/B permalink" value={link.clone()} />
            <button id="ab-copy" onclick={Callback::from(move |_: MouseEvent| on_copy.emit(link.clone()))}>{ "Copy A/B link" }</button>
        </div>
        </>
    }
}
