//! The TOML editor: a textarea over a backdrop that marks error lines and
//! columns, with a line-number gutter. The textarea grows with its content, so
//! gutter, backdrop and text scroll together inside one container. A scenario
//! file can be opened or dropped on the editor (its text becomes the edit, and
//! is checked like typed text) and the text saved as a `.toml` file.

use crate::state::EditorError;
use yew::prelude::*;

/// A scenario file larger than this is refused before it is read.
const MAX_FILE_BYTES: f64 = 1_048_576.0;

/// Reads `file` as text and hands it to `on` as an edit; `status` says why
/// a file was not taken.
fn open_file(file: web_sys::File, on: Callback<String>, status: UseStateHandle<String>) {
    let name = file.name();
    if file.size() > MAX_FILE_BYTES {
        status.set(name + ": over 1 MiB");
        return;
    }
    wasm_bindgen_futures::spawn_local(async move {
        let text = wasm_bindgen_futures::JsFuture::from(file.text()).await;
        match text.ok().and_then(|v| v.as_string()) {
            Some(text) => {
                status.set(String::new());
                on.emit(text);
            }
            None => status.set(name + ": not text"),
        }
    });
}

#[derive(Properties, PartialEq)]
pub struct Props {
    pub text: String,
    pub errors: Vec<EditorError>,
    pub on_edit: Callback<String>,
}

#[function_component(Editor)]
pub fn editor(p: &Props) -> Html {
    let area = use_node_ref();
    let lines: Vec<&str> = p.text.split('\n').collect();
    let n = lines.len();
    let width = lines.iter().map(|l| l.chars().count()).max().unwrap_or(0) + 2;
    let err_at = |i: usize| p.errors.iter().find(|e| e.line == Some(i as u32 + 1));
    let on_input = {
        let on = p.on_edit.clone();
        Callback::from(move |e: InputEvent| {
            let t: web_sys::HtmlTextAreaElement = e.target_unchecked_into();
            on.emit(t.value());
        })
    };
    let goto = |e: &EditorError| {
        let area = area.clone();
        let text = p.text.clone();
        let (line, col) = (e.line.unwrap_or(1), e.column.unwrap_or(1));
        Callback::from(move |_: MouseEvent| {
            if let Some(t) = area.cast::<web_sys::HtmlTextAreaElement>() {
                let off: usize = text
                    .split('\n')
                    .take(line as usize - 1)
                    .map(|l| l.encode_utf16().count() + 1)
                    .sum::<usize>()
                    + col as usize
                    - 1;
                let _ = t.focus();
                let _ = t.set_selection_range(off as u32, off as u32);
            }
        })
    };
    let backdrop = lines.iter().enumerate().map(|(i, l)| match err_at(i) {
        Some(e) => {
            let col = (e.column.unwrap_or(1) as usize).saturating_sub(1);
            let chars: Vec<char> = l.chars().collect();
            let col = col.min(chars.len());
            let head: String = chars[..col].iter().collect();
            let tail: String = chars[col..].iter().collect();
            let tail = if tail.is_empty() {
                "  ".to_string()
            } else {
                tail
            };
            html! {
                <div class="bl err" data-line={(i + 1).to_string()}>
                    { head }<span class="squiggle">{ tail }</span>
                </div>
            }
        }
        None => html! { <div class="bl">{ if l.is_empty() { " " } else { l } }</div> },
    });
    let status = use_state(String::new);
    let on_pick = {
        let (on, status) = (p.on_edit.clone(), status.clone());
        Callback::from(move |e: Event| {
            let input: web_sys::HtmlInputElement = e.target_unchecked_into();
            if let Some(f) = input.files().and_then(|l| l.get(0)) {
                open_file(f, on.clone(), status.clone());
            }
            // The same file can be opened again after an edit.
            input.set_value("");
        })
    };
    let on_drop = {
        let (on, status) = (p.on_edit.clone(), status.clone());
        Callback::from(move |e: DragEvent| {
            e.prevent_default();
            if let Some(f) = e
                .data_transfer()
                .and_then(|d| d.files())
                .and_then(|l| l.get(0))
            {
                open_file(f, on.clone(), status.clone());
            }
        })
    };
    // Without this the browser opens a dropped file instead of handing it over.
    let on_dragover = Callback::from(|e: DragEvent| e.prevent_default());
    let on_save = {
        let text = p.text.clone();
        Callback::from(move |_: MouseEvent| {
            let _ = crate::components::export::download("scenario.toml", "application/toml", &text);
        })
    };
    let unplaced: Vec<&EditorError> = p.errors.iter().filter(|e| e.line.is_none()).collect();
    html! {
        <div class="editor-wrap" ondrop={on_drop} ondragover={on_dragover}>
            <div class="editor-files">
                <label for="scenario-text" class="label">{ "Scenario TOML" }</label>
                <label class="small-btn" title="Open a scenario file, or drop one here">
                    { "Open…" }
                    <input id="scenario-open" type="file" accept=".toml,text/plain,application/toml" hidden=true onchange={on_pick} />
                </label>
                <button id="scenario-save" class="small-btn" onclick={on_save}>{ "Save .toml" }</button>
                <span id="scenario-file-status" class="muted small" aria-live="polite">{ (*status).clone() }</span>
            </div>
            <div class={classes!("editor", (!p.errors.is_empty()).then_some("invalid"))}>
                <div class="gutter" aria-hidden="true">
                    { for (0..n).map(|i| {
                        let e = err_at(i);
                        html! {
                            <div class={classes!("ln", e.is_some().then_some("err"))}
                                title={e.map(|e| e.message.clone())}>{ i + 1 }</div>
                        }
                    }) }
                </div>
                <div class="code">
                    <div class="backdrop" aria-hidden="true">{ for backdrop }</div>
                    <textarea id="scenario-text" ref={area.clone()} spellcheck="false" wrap="off"
                        autocomplete="off" rows={n.to_string()} cols={width.to_string()}
                        aria-invalid={(!p.errors.is_empty()).to_string()}
                        aria-describedby="editor-errors"
                        value={p.text.clone()} oninput={on_input} />
                </div>
            </div>
            <ul id="editor-errors" class="errors" aria-live="polite">
                { for p.errors.iter().filter(|e| e.line.is_some()).map(|e| html! {
                    <li class="error" data-line={e.line.map(|l| l.to_string())} data-column={e.column.map(|c| c.to_string())}>
                        <button class="link mono" onclick={goto(e)}>
                            { format!("line {}, column {}", e.line.unwrap_or(0), e.column.unwrap_or(0)) }
                        </button>
                        { " " }
                        if !e.path.is_empty() { <code>{ &e.path }</code>{ ": " } }
                        { &e.message }
                    </li>
                }) }
                { for unplaced.iter().map(|e| html! {
                    <li class="error">
                        if !e.path.is_empty() { <code>{ &e.path }</code>{ ": " } }
                        { &e.message }
                    </li>
                }) }
            </ul>
            if !p.errors.is_empty() {
                <p class="muted small">{ "The text is kept as you typed it; Run uses the last valid scenario." }</p>
            }
        </div>
    }
}
