//! Step-through: a scrubber and step buttons over the run view's run, and
//! the state after that step: CPUs and runqueues, every task (state, mode,
//! flags, what it waits on, its kernel stack), the victim's mm flags and
//! VMAs, and the files. Display only: the checkpoints are built, and the
//! state at the step derived, by `hooks::stepper`.

use crate::hooks::stepper::Shown;
use crate::state::Action;
use crate::stepper::{Landmark, StepState};
use crate::view::RunView;
use oomlab_core::hexdump::{OdStyle, ROW_BYTES};
use std::rc::Rc;
use yew::prelude::*;

#[derive(Properties, PartialEq)]
pub struct Props {
    pub view: Rc<RunView>,
    pub step: u64,
    pub total: Option<u64>,
    /// Trace records the checkpoints cover so far (while they are built).
    pub built: u64,
    /// The state at the step, once the checkpoints are built.
    pub shown: Option<Shown>,
    pub on: Callback<Action>,
    pub on_next: Callback<Landmark>,
    /// Shown right under the step controls (the timeline, which follows
    /// the step's last record).
    #[prop_or_default]
    pub children: Html,
}

#[function_component(StepView)]
pub fn step_view(p: &Props) -> Html {
    let file = use_state(|| 0usize);
    let Some(total) = p.total else {
        return html! {
            <div class="stepview" id="step-view" data-ready="false">
                <p class="status busy">{ format!("Recording checkpoints… {} trace records so far", p.built) }</p>
                <div class="step-timeline">{ p.children.clone() }</div>
            </div>
        };
    };
    let k = p.step.min(total);
    let Some(shown) = p.shown.as_ref().filter(|s| s.link == p.view.link) else {
        return html! { <div class="stepview" id="step-view" data-ready="false"></div> };
    };
    let st: &StepState = &shown.state;
    let last = st.trace_len.checked_sub(1);
    let go = |target: u64| {
        let on = p.on.clone();
        Callback::from(move |_: MouseEvent| on.emit(Action::StepTo(target)))
    };
    let next = |what: Landmark| {
        let on = p.on_next.clone();
        Callback::from(move |_: MouseEvent| on.emit(what))
    };
    let on_scrub = {
        let on = p.on.clone();
        Callback::from(move |e: InputEvent| {
            let v = e
                .target_unchecked_into::<web_sys::HtmlInputElement>()
                .value();
            if let Ok(n) = v.parse::<u64>() {
                on.emit(Action::StepTo(n));
            }
        })
    };
    let on_key = {
        let on = p.on.clone();
        Callback::from(move |e: KeyboardEvent| match e.key().as_str() {
            "ArrowRight" => on.emit(Action::StepTo(k + 1)),
            "ArrowLeft" => on.emit(Action::StepTo(k.saturating_sub(1))),
            _ => {}
        })
    };
    let flags: Vec<&str> = st
        .victim
        .as_ref()
        .map(|m| m.flags.clone())
        .unwrap_or_default();
    let last_line = last
        .and_then(|l| p.view.trace_pos(l))
        .map(|i| p.view.trace[i].to_line())
        .unwrap_or_default();
    let fi = (*file).min(st.files.len().saturating_sub(1));
    let on_file = {
        let file = file.clone();
        Callback::from(move |e: Event| {
            let v = e
                .target_unchecked_into::<web_sys::HtmlSelectElement>()
                .value();
            if let Ok(i) = v.parse() {
                file.set(i);
            }
        })
    };
    html! {
        <div class="stepview" id="step-view" data-ready="true" data-step={k.to_string()} data-total={total.to_string()}
            data-flags={flags.join(",")} tabindex="0" onkeydown={on_key}>
            <div class="runbar">
                <button id="step-start" class="small-btn" onclick={go(0)} aria-label="First step">{ "⇤ start" }</button>
                <button id="step-back100" class="small-btn" onclick={go(k.saturating_sub(100))}>{ "−100" }</button>
                <button id="step-back" class="small-btn" onclick={go(k.saturating_sub(1))} aria-label="Back one step">{ "◀ back" }</button>
                <button id="step-fwd" class="small-btn" onclick={go(k + 1)} aria-label="One step">{ "step ▶" }</button>
                <button id="step-fwd100" class="small-btn" onclick={go(k + 100)}>{ "+100" }</button>
                <span class="muted small">{ "run to next:" }</span>
                { for Landmark::ALL.iter().map(|l| html! {
                    <button id={format!("step-next-{}", l.name())} class="small-btn" onclick={next(*l)}>{ l.name() }</button>
                }) }
            </div>
            <input id="step-scrub" type="range" min="0" max={total.to_string()} value={k.to_string()}
                aria-label="Step" oninput={on_scrub} class="scrub" />
            <p class="mono small step-pos">
                { format!("step {k} of {total} · t = {} · {} trace records · free pages {}", super::fmt_ns(st.t), st.trace_len, st.free_pages) }
            </p>
            <p class="mono small step-last" title="The last trace record written">{ last_line }</p>
            <div class="step-timeline">{ p.children.clone() }</div>
            <div class="step-grid">
                <section>
                    <h3>{ "Victim mm" }</h3>
                    <div class="chips" id="step-mm">
                        { for ["MMF_UNSTABLE", "MMF_OOM_SKIP"].iter().map(|f| {
                            let set = flags.contains(f);
                            html! { <span class={classes!("chip", "mono", if set { "flag-set" } else { "flag-clear" })} data-flag={*f} data-set={set.to_string()}>
                                { format!("{} {f}", if set { "■ set:" } else { "□ clear:" }) }
                            </span> }
                        }) }
                    </div>
                    if let Some(m) = &st.victim {
                        <table class="vmas mono small">
                            <thead><tr><th>{ "range" }</th><th>{ "kind" }</th><th>{ "reapable" }</th><th>{ "present" }</th><th>{ "zero pfn" }</th></tr></thead>
                            <tbody>
                                { for m.vmas.iter().map(|v| html! {
                                    <tr><td>{ format!("{:x}-{:x}", v.start, v.end) }</td><td>{ format!("{:?}", v.kind).to_ascii_lowercase() }</td>
                                        <td>{ if v.reapable { "yes" } else { "no" } }</td><td>{ v.present }</td><td>{ v.zero }</td></tr>
                                }) }
                            </tbody>
                        </table>
                        <p class="muted small">{ format!("mm_users {}, anon rss {} pages", m.users, m.rss_anon) }</p>
                    }
                    <h3>{ "CPUs" }</h3>
                    <table class="vmas mono small" id="step-cpus">
                        <thead><tr><th>{ "cpu" }</th><th>{ "current" }</th><th>{ "runqueue" }</th></tr></thead>
                        <tbody>
                            { for st.cpus.iter().map(|c| {
                                let name = |pid: u32| st.tasks.iter().find(|t| t.pid == pid).map_or(pid.to_string(), |t| format!("{}/{}", t.comm, t.pid));
                                html! {
                                    <tr><td>{ format!("cpu{}{}", c.id, if c.paused { " (host)" } else { "" }) }</td>
                                        <td>{ c.curr.map_or("idle".to_string(), name) }</td>
                                        <td>{ c.runqueue.iter().map(|p| name(*p)).collect::<Vec<_>>().join(" ") }</td></tr>
                                }
                            }) }
                        </tbody>
                    </table>
                </section>
                <section>
                    <h3>{ "Tasks" }</h3>
                    <table class="vmas mono small tasks" id="step-tasks">
                        <thead><tr><th>{ "pid" }</th><th>{ "comm" }</th><th>{ "state" }</th><th>{ "where" }</th></tr></thead>
                        <tbody>
                            { for st.tasks.iter().map(|t| html! {
                                <tr class={classes!(format!("{:?}", t.state).to_ascii_lowercase())}>
                                    <td>{ t.pid }</td>
                                    <td>{ &t.comm }</td>
                                    <td>{ format!("{}{}", serde_state(t), if t.on_cpu { format!(" cpu{}", t.cpu) } else { String::new() }) }</td>
                                    <td title={t.flags.join(" ")}>
                                        { if t.kernel_stack.is_empty() { format!("{:?}", t.mode).to_ascii_lowercase() } else { t.kernel_stack.join(" › ") } }
                                        if let Some(b) = t.blocked_on { <span class="muted">{ format!(" (on {b})") }</span> }
                                        if !t.flags.is_empty() { <span class="muted">{ format!(" [{}]", t.flags.join(" ")) }</span> }
                                    </td>
                                </tr>
                            }) }
                        </tbody>
                    </table>
                    <h3>{ "Files" }</h3>
                    if st.files.is_empty() {
                        <p class="muted small">{ "No file yet." }</p>
                    } else {
                        <select class="mono" aria-label="File" onchange={on_file}>
                            { for st.files.iter().enumerate().map(|(i, f)| html! {
                                <option value={i.to_string()} selected={i == fi}>
                                    { format!("{}  i_size {:#x}  S_ack {:#x}{}", f.path, f.i_size, f.acked,
                                        f.dump.first_bad().map_or(String::new(), |b| format!("  ✖ bad at {b:#x}"))) }
                                </option>
                            }) }
                        </select>
                        { file_rows(st, fi) }
                    }
                </section>
            </div>
        </div>
    }
}

fn serde_state(t: &oomlab_core::sim::TaskSnap) -> String {
    match t.state {
        oomlab_core::kernel::sched::TaskState::Running => "R",
        oomlab_core::kernel::sched::TaskState::Interruptible => "S",
        oomlab_core::kernel::sched::TaskState::Uninterruptible => "D",
        oomlab_core::kernel::sched::TaskState::Killable => "D (killable)",
        oomlab_core::kernel::sched::TaskState::Dead => "X",
    }
    .to_string()
}

/// The file's last rows (or the rows around its first bad byte).
fn file_rows(st: &StepState, i: usize) -> Html {
    let f = &st.files[i];
    let rows = f.dump.rows();
    let at = f.dump.first_bad().map_or(rows.saturating_sub(4), |b| {
        (b / ROW_BYTES).saturating_sub(1)
    });
    html! {
        <div class="ab-rows mono small" id="step-file">
            { for (at..(at + 6).min(rows)).map(|r| {
                let row = f.dump.row(r, OdStyle::Hex);
                html! {
                    <div class="ab-row">
                        <span class="off">{ row.offset_text }</span>
                        { for row.cells.into_iter().map(|c| html! { <span class={classes!("cell", format!("b-{}", c.class.name()))}>{ c.text }</span> }) }
                    </div>
                }
            }) }
        </div>
    }
}
