//! Shrinking, as the run view shows it: progress while a worker shrinks,
//! then what was removed and the critical decisions that remain (each one
//! focuses the trace record that follows it), with the shrunk run's link.

use crate::state::{Action, Critical, ShrinkState, ShrinkStatus};
use crate::view::RunView;
use std::rc::Rc;
use yew::prelude::*;

#[derive(Properties, PartialEq)]
pub struct Props {
    pub shrink: Option<ShrinkState>,
    pub view: Option<Rc<RunView>>,
    /// Critical decisions of the view's run (empty for another run).
    pub critical: Critical,
    pub on: Callback<Action>,
    pub on_focus: Callback<Option<u64>>,
    pub on_copy: Callback<String>,
}

#[function_component(ShrinkPanel)]
pub fn shrink_panel(p: &Props) -> Html {
    // Always an element: an empty component output between siblings that
    // come and go confuses yew's DOM positions.
    let Some(sh) = &p.shrink else {
        return html! { <section class="shrink-panel" id="shrink-panel" hidden=true></section> };
    };
    let cancel = {
        let on = p.on.clone();
        Callback::from(move |_: MouseEvent| on.emit(Action::ShrinkCancel))
    };
    let body = match &sh.status {
        ShrinkStatus::Running { runs } => html! {
            <div class="shrink-row">
                <span class="status busy">{ format!("Shrinking to {} in a worker… {runs} test runs (at most {})", sh.request.target, sh.request.max_runs) }</span>
                <button id="shrink-cancel" onclick={cancel}>{ "Cancel" }</button>
            </div>
        },
        ShrinkStatus::Cancelled => html! { <p class="muted small">{ "Shrinking cancelled." }</p> },
        ShrinkStatus::Failed(e) => {
            html! { <p class="bad-text small">{ format!("Shrinking failed: {e}") }</p> }
        }
        ShrinkStatus::Done(r) => {
            let after = p.view.as_ref().filter(|v| v.source == r.source);
            let devs = match &r.source {
                oomlab_core::ChoiceSource::Deviations { devs, .. } => devs.len(),
                _ => 0,
            };
            let link = after.map(|v| v.link.clone());
            let on_copy = p.on_copy.clone();
            html! {
                <>
                <p class="small">
                    <strong>{ format!("Shrunk to {}: ", sh.request.target) }</strong>
                    <span id="shrink-devs" data-before={r.original_deviations.to_string()} data-after={devs.to_string()}
                        title="Decisions that differ from the default (the first option): what the failure depends on">
                        { format!("{} of the original {} non-default decisions remain", devs, r.original_deviations) }
                    </span>
                    { format!("; threads {} → {}", r.threads_before, r.threads_after) }
                    { format!("; {} test runs, ", r.runs) }
                    if r.minimal {
                        <span title="1-minimal: setting any one remaining decision back to its default loses the outcome; each was checked">{ "1-minimal." }</span>
                    } else {
                        <span>{ "budget spent: not verified minimal." }</span>
                    }
                </p>
                <p class="small muted">
                    { format!("The shrunk run asks {} decisions in all (the original asked {}): the count of decisions asked follows the schedule, and a different schedule can ask more; the non-default ones above are what it takes.",
                        after.map_or("…".into(), |v| v.result.choices.to_string()), sh.before_choices) }
                </p>
                if r.critical.is_empty() && r.minimal {
                    <p class="small muted" id="shrink-none">
                        { "No critical decision: the default schedule (every decision at its first option) already shows it. This failure needs no unlucky interleaving." }
                    </p>
                } else {
                    <ol class="critical small mono" id="critical-list">
                        { for p.critical.0.iter().map(|c| {
                            let f = p.on_focus.clone();
                            let e = c.near_event;
                            html! {
                                <li class="critical-choice" data-event={e.to_string()}>
                                    <button class="link" onclick={Callback::from(move |_: MouseEvent| f.emit(Some(e)))}>
                                        { format!("decision {}: {} = {} of {} (before trace record {})", c.index, c.kind, c.value, c.options, e) }
                                    </button>
                                </li>
                            }
                        }) }
                    </ol>
                }
                if let Some(l) = link {
                    <div class="shrink-row">
                        <input id="shrink-link" class="mono link-out" readonly=true aria-label="Permalink of the shrunk run" value={l.clone()} />
                        <button id="shrink-copy" onclick={Callback::from(move |_: MouseEvent| on_copy.emit(l.clone()))}>{ "Copy link" }</button>
                    </div>
                }
                </>
            }
        }
    };
    let status = match &sh.status {
        ShrinkStatus::Running { .. } => "running",
        ShrinkStatus::Done(_) => "done",
        ShrinkStatus::Failed(_) => "failed",
        ShrinkStatus::Cancelled => "cancelled",
    };
    html! {
        <section class="shrink-panel" id="shrink-panel" data-status={status} aria-label="Shrink">
            <h3>{ "Shrink" }</h3>
            { body }
        </section>
    }
}
