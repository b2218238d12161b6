//! "When was it decided?": the rewind's progress and Cancel, then
//! P(outcome | state at t) with its 95% interval drawn over the timeline's
//! time axis (0 to the run's end, the overview strip's scale), the kill
//! marked as on the overview, and the point of no return with the records
//! just before it and the threads' kernel stacks there.

use crate::rewind::{RewindState, RewindStatus};
use crate::state::Action;
use crate::view::RunView;
use std::rc::Rc;
use yew::prelude::*;

#[derive(Properties, PartialEq)]
pub struct Props {
    pub rewind: Option<RewindState>,
    pub view: Rc<RunView>,
    pub on: Callback<Action>,
    pub on_focus: Callback<Option<u64>>,
}

#[function_component(RewindPanel)]
pub fn rewind_panel(p: &Props) -> Html {
    let Some(rw) = p.rewind.as_ref().filter(|r| r.job.link == p.view.link) else {
        return html! {};
    };
    let job = &rw.job;
    let status = match rw.status {
        RewindStatus::Running => "running",
        RewindStatus::Done => "done",
        RewindStatus::Cancelled => "cancelled",
        RewindStatus::Failed => "failed",
    };
    let elapsed = rw
        .took_ms
        .unwrap_or_else(|| crate::app::now_ms() - rw.started_ms)
        .max(0.0);
    let progress = format!(
        "{}/{} checkpoints · {} suffixes each · {} worker{} · {:.1} s",
        rw.count(),
        job.points,
        job.samples,
        job.workers,
        if job.workers == 1 { "" } else { "s" },
        elapsed / 1000.0
    );
    let cancel = {
        let on = p.on.clone();
        Callback::from(move |_: MouseEvent| on.emit(Action::RewindCancel))
    };
    let nr_ns = rw.no_return().map(|r| r.point.t_ns);
    let kill = p.view.result.kills.first().map(|k| k.t.0);
    // The chart and the explanation are one HTML string (escaped in
    // `rewind::body_html`); a press on a record focuses it.
    let body = Html::from_html_unchecked(AttrValue::from(crate::rewind::body_html(rw, kill)));
    let on_focus = p.on_focus.clone();
    let on_click = Callback::from(move |e: MouseEvent| {
        let idx = e
            .target_dyn_into::<web_sys::Element>()
            .and_then(|el| el.closest("[data-idx]").ok().flatten())
            .and_then(|el| el.get_attribute("data-idx"))
            .and_then(|v| v.parse::<u64>().ok());
        if idx.is_some() {
            on_focus.emit(idx);
        }
    });
    html! {
        <section id="rewind" class="rewind" data-status={status} data-points={rw.count().to_string()}
            data-total={job.points.to_string()} data-workers={job.workers.to_string()}
            data-no-return-ns={nr_ns.map(|t| t.to_string())}
            data-took-ms={rw.took_ms.map(|t| format!("{t:.0}"))} aria-labelledby="rewind-title">
            <div class="runbar">
                <h3 id="rewind-title">{ "When was it decided?" }</h3>
                <span class="status small" aria-live="polite" id="rewind-progress">{ progress }</span>
                <span class="spacer"></span>
                if rw.running() {
                    <button id="rewind-cancel" onclick={cancel}>{ "Cancel" }</button>
                }
            </div>
            <div class="progress" role="progressbar" aria-valuemin="0" aria-valuemax={job.points.to_string()} aria-valuenow={rw.count().to_string()}>
                <div class="progress-fill" style={format!("width:{:.2}%", 100.0 * rw.count() as f64 / f64::from(job.points.max(1)))}></div>
            </div>
            <div class="rewind-body" onclick={on_click}>{ body }</div>
        </section>
    }
}
