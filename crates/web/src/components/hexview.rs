//! The file view: a virtualized hex dump of one file, `od -x` or `od -b`,
//! bytes coloured and classed by provenance, with markers for i_size, S_ack
//! and the on-disk size at the first SIGKILL, and "jump to first bad byte".
//!
//! Every class has its colour and a second signal that is not colour (a
//! decoration in the stylesheet, the class name as the cell's tooltip, and
//! the names of a row's bad classes at its end). Not shown: which disk block
//! a stale byte came from (the verdict's bad ranges name the blocks).

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
    // Open at the verdict's evidence when this file holds it (the byte the
    // explanation is about), else at the first bad byte, when the run or the
    // file changes.
    let open_at = p
        .view
        .first_bad()
        .filter(|&(i, _)| i == p.file)
        .map(|(_, o)| o)
        .or(bad);
    {
        let jump_to = jump_to.clone();
        let top = top.clone();
        let scroll = scroll.clone();
        use_effect_with(
            (p.view.link.clone(), p.view.result.trace_hash, p.file),
            move |_| match open_at {
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
    let len = f.dump.len;
    let m = f.dump.markers;
    // A size marker sits on the row of the last byte it covers; sizes past
    // what reads back from disk are only in the meta line.
    let row_of = |size: u64| (size > 0 && size <= len).then(|| (size - 1) / ROW_BYTES);
    let markers = [
        (row_of(f.i_size), "i_size"),
        (row_of(f.acked), "S_ack"),
        (m.disk_size_at_kill.and_then(row_of), "on disk at SIGKILL"),
    ];
    let read_back = len != f.i_size || m.disk_size_at_kill.is_some();
    let present: Vec<ByteClass> = ByteClass::ALL
        .into_iter()
        .filter(|c| f.dump.spans().iter().any(|s| s.class == *c))
        .collect();
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
            <div class="hex-meta mono small" id="hex-meta" data-disk-size={len.to_string()}
                data-disk-size-at-kill={m.disk_size_at_kill.map(|k| k.to_string())}>
                <span title="i_size: the file's size in the page cache at the end of the run">{ format!("i_size {:#x} ({} B)", f.i_size, f.i_size) }</span>
                <span title="S_ack: the bytes write(2) reported as written (the sum of its return values): what the program believes the file holds. Bad bytes below it are \u{201c}inside\u{201d}, at or past it \u{201c}tail\u{201d}.">{ format!("S_ack {:#x}", f.acked) }</span>
                if read_back {
                    <span id="disk-size">{ format!("on disk {len:#x} ({len} B)") }</span>
                }
                if let Some(k) = m.disk_size_at_kill {
                    <span id="disk-size-at-kill">{ format!("on disk at SIGKILL {k:#x} ({k} B)") }</span>
                }
                if let Some(b) = bad { <span class="bad-text">{ format!("first bad byte {b:#x}") }</span> }
            </div>
            <p class="muted small" id="od-note">
                { if p.od == OdStyle::Hex { "Offsets in hex, as od -A x -x prints them (plain od prints octal offsets). " } else { "Offsets in hex, as od -A x -b prints them (plain od prints octal offsets). " } }
                { "Repeated rows are all shown, not collapsed to * as od does, so each can be clicked." }
            </p>
            <ul class="legend small" aria-label="Byte provenance">
                { for ByteClass::ALL.iter().map(|c| {
                    let here = present.contains(c);
                    html! {
                        <li class={classes!("lg", format!("b-{}", c.name()), (!here).then_some("absent"))}
                            data-class={c.name()} title={if here { "in this file" } else { "not in this file" }}>
                            { c.name() }
                        </li>
                    }
                }) }
            </ul>
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
                        let mut bad_classes: Vec<ByteClass> = row.cells.iter().map(|c| c.class).filter(|c| c.is_bad()).collect();
                        bad_classes.sort();
                        bad_classes.dedup();
                        let here: Vec<&str> = markers.iter().filter(|(r, _)| *r == Some(i)).map(|(_, m)| *m).collect();
                        html! {
                            <div class={classes!("hex-row", (!here.is_empty()).then_some("marked"))} style={format!("top:{}px", i as f64 * ROW_H)}
                                data-offset={format!("{:#x}", row.offset)}
                                data-event={event.map(|e| e.to_string())}
                                title={event.map(|e| format!("written by trace record {e}; click to show it in the timeline"))}
                                onclick={Callback::from(move |_: MouseEvent| if event.is_some() { on_focus.emit(event) })}>
                                <span class="off">{ row.offset_text }</span>
                                { for row.cells.into_iter().map(|c| html! {
                                    <span class={classes!("cell", format!("b-{}", c.class.name()))}
                                        title={(c.class != ByteClass::Expected).then_some(c.class.name())}>{ c.text }</span>
                                }) }
                                // Markers first: in a narrow pane the end of a row is cut off.
                                { for here.iter().map(|m| html! {
                                    <span class="marker" data-marker={*m}>{ format!("◂ {m}") }</span>
                                }) }
                                if !bad_classes.is_empty() {
                                    <span class="row-tag">{ format!("✖ {}", bad_classes.iter().map(|c| c.name()).collect::<Vec<_>>().join(" ")) }</span>
                                }
                            </div>
                        }
                    }) }
                </div>
            </div>
        </div>
    }
}
