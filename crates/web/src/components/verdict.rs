//! The verdict banner: outcome chips (worst first, each with text and an
//! icon, not only a colour) and core's one-sentence explanation, which jumps
//! to the evidence.

use crate::view::RunView;
use std::rc::Rc;
use yew::prelude::*;

#[derive(Properties, PartialEq)]
pub struct Props {
    pub view: Option<Rc<RunView>>,
    /// A newer run is in progress or was cancelled: the verdict is the previous one.
    pub stale: bool,
    pub on_jump: Callback<MouseEvent>,
}

fn icon(sev: u8) -> &'static str {
    match sev {
        3 => "✖",
        2 => "▲",
        1 => "●",
        _ => "✔",
    }
}

#[function_component(Verdict)]
pub fn verdict(p: &Props) -> Html {
    let Some(v) = &p.view else {
        return html! { <div class="verdict empty" id="verdict"><p class="muted">{ "No run yet." }</p></div> };
    };
    let r = &v.result;
    let worst = r.outcomes.iter().map(|o| o.severity()).max().unwrap_or(0);
    let bad = r.first_bad();
    html! {
        <div id="verdict" class={classes!("verdict", format!("sev-{worst}"), p.stale.then_some("stale"))}
            data-worst={r.outcomes.first().map(|o| o.code())}
            data-trace-hash={format!("{:016x}", r.trace_hash)}
            data-evidence-file={bad.map(|b| b.file.clone())}
            data-evidence-offset={bad.map(|b| format!("{:#x}", b.offset))}
            data-evidence-outcome={bad.map(|b| b.outcome.code())}>
            <div class="chips" aria-label="Outcomes">
                { for r.outcomes.iter().map(|o| html! {
                    <span class={classes!("chip", format!("sev-{}", o.severity()))} data-code={o.code()}>
                        <span aria-hidden="true">{ icon(o.severity()) }</span>{ " " }{ o.code() }
                    </span>
                }) }
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
