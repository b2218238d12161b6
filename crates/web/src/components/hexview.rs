//! The file view: a virtualized hex dump of one file, `od -x` or `od -b`,
//! bytes coloured and classed by provenance, with i_size and S_ack markers
//! and "jump to first bad byte".

use crate::view::RunView;
use oomlab_core::hexdump::{ByteClass, OdStyle, ROW_BYTES};
use std::rc::Rc;
use yew::prelude::*;

const ROW_H: f64 = 18.0;
const VIEW_ROWS: u64 = 24;

#[derive(Properties, PartialEq)]
pub struct Props {
    pub view: Rc<RunView>,
    pub file: usize,
    pub od: OdStyle,
    pub on_od: Callback<OdStyle>,
    pub on_file: Callback<usize>,
    /// Show the trace record that wrote a row's bytes.
    pub on_focus: Callback<Option<u64>>,
}

#[function_component(HexView)]
pub fn hex_view(p: &Props) -> Html {
    let scroll = use_node_ref();
    let top = use_state(|| 0u64);
    let Some(f) = p.view.files.get(p.file) else {
        return html! { <p class="muted">{ "This run wrote no files." }</p> };
    };
    let rows = f.dump.rows();
    let bad = f.dump.first_bad();
    let jump_to = {
        let scroll = scroll.clone();
        let top = top.clone();
        move |off: u64| {
            let row = off / ROW_BYTES;
            let first = row.saturating_sub(4);
            top.set(first);
            if let Some(el) = scroll.cast::<web_sys::Element>() {
                el.set_scroll_top((first as f64 * ROW_H) as i32);
            }
        }
    };
    // Open at the first bad byte when the run or file changes.
    {
        let jump_to = jump_to.clone();
        let top = top.clone();
        let scroll = scroll.clone();
        use_effect_with(
            (p.view.link.clone(), p.view.result.trace_hash, p.file),
            move |_| match bad {
                Some(o) => jump_to(o),
                None => {
                    top.set(0);
                    if let Some(el) = scroll.cast::<web_sys::Element>() {
                        el.set_scroll_top(0);
                    }
                }
            },
        );
    }
    let on_scroll = {
        let top = top.clone();
        Callback::from(move |e: Event| {
            let el: web_sys::Element = e.target_unchecked_into();
            top.set((f64::from(el.scroll_top()) / ROW_H) as u64);
        })
    };
    let first = (*top).min(rows.saturating_sub(1));
    let last = (first + VIEW_ROWS + 4).min(rows);
    let acked_row = (f.acked > 0 && f.acked <= f.i_size).then(|| (f.acked - 1) / ROW_BYTES);
    let od_btn = |o: OdStyle, label: &'static str, id: &'static str| {
        let on = p.on_od.clone();
        html! {
            <button id={id} aria-pressed={(p.od == o).to_string()} class={classes!("seg", (p.od == o).then_some("active"))}
                onclick={Callback::from(move |_: MouseEvent| on.emit(o))}>{ label }</button>
        }
    };
    let on_file = {
        let on = p.on_file.clone();
        Callback::from(move |e: Event| {
            let v = e
                .target_unchecked_into::<web_sys::HtmlSelectElement>()
                .value();
            if let Ok(i) = v.parse() {
                on.emit(i);
            }
        })
    };
    let style = match p.od {
        OdStyle::Hex => "hex",
        OdStyle::Octal => "octal",
    };
    html! {
        <div class="hexview">
            <div class="hex-toolbar">
                <label for="file-select" class="sr-only">{ "File" }</label>
                <select id="file-select" class="mono" onchange={on_file}>
                    { for p.view.files.iter().enumerate().map(|(i, f)| html! {
                        <option value={i.to_string()} selected={i == p.file}>
                            { format!("{}{}", f.path, if f.dump.first_bad().is_some() { "  ✖ bad bytes" } else { "" }) }
                        </option>
                    }) }
                </select>
                <div class="segmented" role="group" aria-label="Dump style">
                    { od_btn(OdStyle::Hex, "od -x", "od-x") }
                    { od_btn(OdStyle::Octal, "od -b", "od-b") }
                </div>
                <button id="jump-bad" disabled={bad.is_none()}
                    onclick={let j = jump_to.clone(); Callback::from(move |_: MouseEvent| if let Some(o) = bad { j(o) })}>
                    { "Jump to first bad byte" }
                </button>
            </div>
            <div class="hex-meta mono small">
                <span>{ format!("i_size {:#x} ({} B)", f.i_size, f.i_size) }</span>
                <span>{ format!("S_ack {:#x}", f.acked) }</span>
                if let Some(b) = bad { <span class="bad-text">{ format!("first bad byte {b:#x}") }</span> }
            </div>
            <div class="legend small">
                { for [ByteClass::Expected, ByteClass::ZeroPage, ByteClass::StaleTlb, ByteClass::NewBuffer, ByteClass::Hole, ByteClass::Wrong].iter().map(|c| html! {
                    <span class={classes!("lg", format!("b-{}", c.name()))}>{ c.name() }</span>
                }) }
            </div>
            <div class={classes!("hex-scroll", "mono", style)} id="hexdump" ref={scroll} onscroll={on_scroll}
                tabindex="0" aria-label={format!("Hex dump of {}", f.path)} data-style={style}>
                <div class="hex-space" style={format!("height:{}px", rows as f64 * ROW_H)}>
                    { for (first..last).map(|i| {
                        let row = f.dump.row(i, p.od);
                        // The event that wrote the row's worst byte.
                        let event = (row.offset..(row.offset + ROW_BYTES).min(f.dump.len))
                            .filter_map(|o| f.dump.span_at(o))
                            .max_by_key(|s| s.class)
                            .and_then(|s| s.event);
                        let on_focus = p.on_focus.clone();
                        let marker = if Some(i) == acked_row { Some("S_ack") } else if i + 1 == rows { Some("i_size") } else { None };
                        html! {
                            <div class="hex-row" style={format!("top:{}px", i as f64 * ROW_H)}
                                data-offset={format!("{:#x}", row.offset)}
                                data-event={event.map(|e| e.to_string())}
                                title={event.map(|e| format!("written by trace record {e}; click to show it in the timeline"))}
                                onclick={Callback::from(move |_: MouseEvent| if event.is_some() { on_focus.emit(event) })}>
                                <span class="off">{ row.offset_text }</span>
                                { for row.cells.into_iter().map(|c| html! {
                                    <span class={classes!("cell", format!("b-{}", c.class.name()))}>{ c.text }</span>
                                }) }
                                if let Some(m) = marker { <span class="marker">{ format!("◂ {m}") }</span> }
                            </div>
                        }
                    }) }
                </div>
            </div>
        </div>
    }
}
