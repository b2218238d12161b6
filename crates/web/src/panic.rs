//! The panic hook: a panic in the simulator or the UI becomes an error panel
//! with the permalink of the run and a "copy bug report" button, instead of a
//! dead page. Built with plain DOM calls, since yew may be what panicked.

use std::panic::PanicHookInfo;

pub fn show(info: &PanicHookInfo<'_>) {
    let Some(w) = web_sys::window() else { return };
    let Some(doc) = w.document() else { return };
    let href = w.location().href().unwrap_or_default();
    let report = format!(
        "oomlab simulator bug\nmodel version: {}\npermalink: {}\npanic: {}\nuser agent: {}\n",
        oomlab_core::MODEL_VERSION,
        href,
        info,
        w.navigator().user_agent().unwrap_or_default()
    );
    let Ok(panel) = doc.create_element("div") else {
        return;
    };
    panel.set_id("panic-panel");
    let _ = panel.set_attribute("role", "alert");
    let parts = [
        ("h2", "Simulator bug".to_string()),
        (
            "p",
            "oomlab hit an internal error. The link below replays the run that triggered it; please send the bug report."
                .to_string(),
        ),
    ];
    for (tag, text) in parts {
        if let Ok(e) = doc.create_element(tag) {
            e.set_text_content(Some(&text));
            let _ = panel.append_child(&e);
        }
    }
    if let Ok(t) = doc.create_element("textarea") {
        t.set_id("bug-report");
        let _ = t.set_attribute("readonly", "");
        let _ = t.set_attribute("aria-label", "Bug report");
        t.set_text_content(Some(&report));
        let _ = panel.append_child(&t);
    }
    if let Ok(b) = doc.create_element("button") {
        b.set_text_content(Some("Copy bug report"));
        // The click is handled by static/boot.js: after a panic no wasm
        // closure runs, and the page's policy forbids inline handlers.
        b.set_id("panic-copy");
        let _ = panel.append_child(&b);
    }
    if let Some(body) = doc.body() {
        let _ = body.append_child(&panel);
    }
}
