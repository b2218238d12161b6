//! The dmesg-like trace, virtualized and filterable, synced with the
//! timeline through the focused record.

use crate::view::RunView;
use std::rc::Rc;
use yew::prelude::*;

const ROW_H: f64 = 18.0;

#[derive(Properties, PartialEq)]
pub struct Props {
    pub view: Rc<RunView>,
    pub focus: Option<u64>,
    pub hover: Option<u64>,
    pub on_focus: Callback<Option<u64>>,
    pub on_hover: Callback<Option<u64>>,
    /// Records that follow a critical decision of a shrunk run.
    #[prop_or_default]
    pub marked: Rc<Vec<u64>>,
}

#[function_component(TraceView)]
pub fn trace_view(p: &Props) -> Html {
    let filter = use_state(String::new);
    let top = use_state(|| 0usize);
    let scroll = use_node_ref();
    let rows = {
        let view = p.view.clone();
        use_memo(
            (
                (*filter).clone(),
                p.view.link.clone(),
                p.view.result.trace_hash,
            ),
            move |(f, _, _)| {
                // Trace text is kernel names and numbers: ASCII case folding
                // matches it and keeps Unicode's case tables out of the bundle.
                // The filter matches the line as displayed, across its
                // columns: "cpu1 a.out/107" finds the rows that show it, and
                // otherwise every word must appear somewhere in the line.
                let f = f.to_ascii_lowercase();
                let words: Vec<&str> = f.split_whitespace().collect();
                let mut line = String::with_capacity(128);
                view.trace
                    .iter()
                    .enumerate()
                    .filter(|(_, r)| {
                        if words.is_empty() {
                            return true;
                        }
                        line.clear();
                        let _ = r.write_line(&mut line);
                        line.make_ascii_lowercase();
                        line.contains(f.trim()) || words.iter().all(|w| line.contains(w))
                    })
                    .map(|(i, _)| i)
                    .collect::<Vec<usize>>()
            },
        )
    };
    // Scroll to the focused record.
    {
        let rows = rows.clone();
        let view = p.view.clone();
        let scroll = scroll.clone();
        let top = top.clone();
        use_effect_with((p.focus, rows.len()), move |(focus, _)| {
            if let Some(pos) = focus.and_then(|f| view.trace_pos(f)) {
                let i = rows.partition_point(|&x| x < pos);
                let first = i.saturating_sub(5);
                top.set(first);
                if let Some(el) = scroll.cast::<web_sys::Element>() {
                    el.set_scroll_top((first as f64 * ROW_H) as i32);
                }
            }
        });
    }
    let on_scroll = {
        let top = top.clone();
        Callback::from(move |e: Event| {
            let el: web_sys::Element = e.target_unchecked_into();
            top.set((f64::from(el.scroll_top()) / ROW_H) as usize);
        })
    };
    let on_filter = {
        let filter = filter.clone();
        Callback::from(move |e: InputEvent| {
            filter.set(
                e.target_unchecked_into::<web_sys::HtmlInputElement>()
                    .value(),
            );
        })
    };
    let first = (*top).min(rows.len().saturating_sub(1));
    let last = (first + 40).min(rows.len());
    html! {
        <div class="traceview">
            <div class="hex-toolbar">
                <label for="trace-filter">{ "Filter" }</label>
                <input id="trace-filter" class="mono" placeholder="words from any column: cpu3 oom_reaper…" title="Rows whose line holds every word (time, CPU, task/pid, function or message)" value={(*filter).clone()} oninput={on_filter} />
                <span class="muted small">{ format!("{} of {} records", rows.len(), p.view.trace.len()) }</span>
            </div>
            <div class="trace-scroll mono" id="trace" ref={scroll} onscroll={on_scroll} tabindex="0" aria-label="Trace"
                onmouseleave={let hv = p.on_hover.clone(); Callback::from(move |_: MouseEvent| hv.emit(None))}>
                <div class="hex-space" style={format!("height:{}px", rows.len() as f64 * ROW_H)}>
                    { for rows[first..last].iter().enumerate().map(|(k, &pos)| {
                        let r = &p.view.trace[pos];
                        let idx = r.idx;
                        let on = p.on_focus.clone();
                        let hv = p.on_hover.clone();
                        html! {
                            <div class={classes!("trace-row", format!("k-{:?}", r.kind).to_ascii_lowercase(),
                                    (p.focus == Some(idx)).then_some("focus"), (p.hover == Some(idx)).then_some("hover"),
                                    p.marked.contains(&idx).then_some("critical"))}
                                title={p.marked.contains(&idx).then_some("a critical decision of the shrunk run is taken just before this record")}
                                style={format!("top:{}px", (first + k) as f64 * ROW_H)} data-idx={idx.to_string()}
                                onmouseenter={Callback::from(move |_: MouseEvent| hv.emit(Some(idx)))}
                                onclick={Callback::from(move |_: MouseEvent| on.emit(Some(idx)))}>
                                { r.to_line() }
                            </div>
                        }
                    }) }
                </div>
            </div>
        </div>
    }
}
