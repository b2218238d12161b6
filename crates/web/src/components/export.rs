//! Export of the run view's run: files to download (the records as Chrome
//! trace-event JSON for Perfetto, the dmesg-like text, the CPU-column ASCII
//! diagram), and the ASCII diagram or the text to copy. Copied text is also shown, so it can be selected where
//! the clipboard is not available.

use crate::view::RunView;
use oomlab_core::export;
use std::rc::Rc;
use wasm_bindgen::JsCast;
use yew::prelude::*;

#[derive(Properties, PartialEq)]
pub struct Props {
    pub view: Rc<RunView>,
    pub on_copy: Callback<String>,
}

/// Offers `body` as a file named `name` (the browser's download).
pub(crate) fn download(name: &str, mime: &str, body: &str) -> Option<()> {
    let parts = js_sys::Array::of1(&wasm_bindgen::JsValue::from_str(body));
    let opts = web_sys::BlobPropertyBag::new();
    opts.set_type(mime);
    let blob = web_sys::Blob::new_with_str_sequence_and_options(&parts, &opts).ok()?;
    let url = web_sys::Url::create_object_url_with_blob(&blob).ok()?;
    let doc = web_sys::window()?.document()?;
    let a: web_sys::HtmlAnchorElement = doc.create_element("a").ok()?.dyn_into().ok()?;
    a.set_href(&url);
    a.set_download(name);
    a.click();
    let _ = web_sys::Url::revoke_object_url(&url);
    Some(())
}

#[function_component(ExportBar)]
pub fn export_bar(p: &Props) -> Html {
    let shown = use_state(|| None::<(&'static str, String)>);
    // A file is made when it is asked for. The Perfetto file is the trace
    // records' (the command line's `export --format chrome` and `ftrace`
    // replay the run for the schedule, counters and tracepoints; their code
    // would not fit the bundle's budget).
    let file = |what: &'static str| {
        let v = p.view.clone();
        Callback::from(move |_: MouseEvent| {
            let (name, mime, body) = match what {
                "perfetto" => (
                    format!("oomlab-{}.json", v.seed),
                    "application/json",
                    export::chrome_trace(&v.trace),
                ),
                "ascii" => (
                    format!("oomlab-{}.race.txt", v.seed),
                    "text/plain",
                    export::ascii_diagram(&v.trace, export::last_evidence(&v.result), 60),
                ),
                _ => (
                    format!("oomlab-{}.trace.txt", v.seed),
                    "text/plain",
                    export::text(&v.trace),
                ),
            };
            let _ = download(&name, mime, &body);
        })
    };
    let copy = |what: &'static str| {
        let v = p.view.clone();
        let shown = shown.clone();
        let on_copy = p.on_copy.clone();
        Callback::from(move |_: MouseEvent| {
            let text = if what == "ascii" {
                export::ascii_diagram(&v.trace, export::last_evidence(&v.result), 40)
            } else {
                export::text(&v.trace)
            };
            on_copy.emit(text.clone());
            shown.set(Some((what, text)));
        })
    };
    html! {
        <div class="export">
            <span class="muted small">{ "Export:" }</span>
            <button id="export-perfetto" class="small-btn" onclick={file("perfetto")} title="Chrome trace-event JSON: open it in ui.perfetto.dev">{ "Perfetto JSON ⤓" }</button>
            <button id="export-text-file" class="small-btn" onclick={file("text")} title="The dmesg-like text">{ "Text ⤓" }</button>
            <button id="export-ascii-file" class="small-btn" onclick={file("ascii")} title="The race diagram">{ "ASCII ⤓" }</button>
            <button id="export-ascii" class="small-btn" onclick={copy("ascii")} title="The CPU-column race diagram, for a commit message">{ "Copy ASCII diagram" }</button>
            <button id="export-text" class="small-btn" onclick={copy("text")} title="dmesg-like text of the whole trace">{ "Copy text" }</button>
            if let Some((what, text)) = &*shown {
                <div class="export-out">
                    <span class="muted small">{ if *what == "ascii" { "Copied the race diagram:" } else { "Copied the trace text:" } }
                        <button class="link small" onclick={{ let s = shown.clone(); Callback::from(move |_: MouseEvent| s.set(None)) }}>{ " hide" }</button>
                    </span>
                    <textarea id="export-out" class="mono" readonly=true data-kind={*what} aria-label="Exported text"
                        value={if text.len() > 200_000 { format!("{}\n… ({} bytes in all)", &text[..text.floor_char_boundary(200_000)], text.len()) } else { text.clone() }} />
                </div>
            }
        </div>
    }
}
