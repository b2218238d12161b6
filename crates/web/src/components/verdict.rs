//! The verdict banner: outcome chips (worst first, each with text and an
//! icon, not only a colour) and core's one-sentence explanation, which jumps
//! to the evidence.

use crate::outcomes::{describe, Tone};
use crate::view::RunView;
use oomlab_core::Outcome;
use std::rc::Rc;
use yew::prelude::*;

#[derive(Properties, PartialEq)]
pub struct Props {
    pub view: Option<Rc<RunView>>,
    /// A newer run is in progress or was cancelled: the verdict is the previous one.
    pub stale: bool,
    pub on_jump: Callback<MouseEvent>,
}

/// An outcome chip: its tone's colour and icon, and what it means on hover.
pub fn chip(o: Outcome) -> Html {
    let t = Tone::of(o);
    html! {
        <span class={classes!("chip", t.class())} data-code={o.code()} data-tone={t.class()}
            title={describe(o)} tabindex="0">
            <span aria-hidden="true">{ t.icon() }</span>{ " " }{ o.code() }
        </span>
    }
}

/// The class of the worst tone among `outcomes`, for a verdict's frame.
pub fn worst_tone(outcomes: &[Outcome]) -> &'static str {
    outcomes
        .iter()
        .map(|o| Tone::of(*o))
        .max()
        .unwrap_or(Tone::Ok)
        .class()
}

#[function_component(Verdict)]
pub fn verdict(p: &Props) -> Html {
    let Some(v) = &p.view else {
        return html! { <div class="verdict empty" id="verdict"><p class="muted">{ "No run yet." }</p></div> };
    };
    let r = &v.result;
    let bad = r.first_bad();
    html! {
        <div id="verdict" class={classes!("verdict", worst_tone(&r.outcomes), p.stale.then_some("stale"))}
            data-worst={r.outcomes.first().map(|o| o.code())}
            data-trace-hash={format!("{:016x}", r.trace_hash)}
            data-evidence-file={bad.map(|b| b.file.clone())}
            data-evidence-offset={bad.map(|b| format!("{:#x}", b.offset))}
            data-evidence-outcome={bad.map(|b| b.outcome.code())}>
            <div class="chips" aria-label="Outcomes">
                { for r.outcomes.iter().map(|o| chip(*o)) }
                if p.stale { <span class="muted small">{ " (previous run)" }</span> }
            </div>
            <button id="explain" class="explain" onclick={p.on_jump.clone()}
                title="Show this event in the timeline, the trace and the file">
                { r.explain() }
            </button>
            if let Some(h) = &r.hang {
                <super::waitgraph::WaitGraph hang={h.clone()} />
            }
        </div>
    }
}
