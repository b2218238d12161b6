//! The form for the main knobs. It reads every value from the TOML text (the
//! source of truth, read once per render with core's reader) and writes
//! changes back through `form::set`; a field is marked when a validation
//! error has its path. While the text does not parse, the knobs are disabled.

use crate::form::{Doc, Field};
use crate::state::EditorError;
use oomlab_core::scenario::{ReaperTrylock, UnstableCheck};
use oomlab_core::ValidScenario;
use std::rc::Rc;
use yew::prelude::*;

#[derive(Properties, PartialEq)]
pub struct Props {
    pub text: String,
    pub valid: Option<Rc<ValidScenario>>,
    pub errors: Vec<EditorError>,
    pub on_set: Callback<(Field, String)>,
}

fn unstable_name(u: UnstableCheck) -> &'static str {
    match u {
        UnstableCheck::None => "none",
        UnstableCheck::PostFault => "post_fault",
        UnstableCheck::PrePte => "pre_pte",
    }
}

#[function_component(ScenarioForm)]
pub fn scenario_form(p: &Props) -> Html {
    let err = |f: Field| {
        p.errors
            .iter()
            .find(|e| f.matches_error(&e.path))
            .map(|e| e.message.clone())
    };
    let toggles = p.valid.as_ref().map(|v| v.toggles.clone());
    let doc = Doc::parse(&p.text);
    let get = |f: Field| doc.get(f);
    let input = |f: Field, label: &'static str, kind: &'static str| {
        let on = p.on_set.clone();
        let e = err(f);
        html! {
            <div class={classes!("field", e.is_some().then_some("invalid"))}>
                <label for={f.id()}>{ label }</label>
                <input id={f.id()} type={kind} class="mono" min={(kind == "number").then_some("1")}
                    value={get(f).unwrap_or_default()}
                    aria-invalid={e.is_some().to_string()} title={e.clone()}
                    onchange={Callback::from(move |ev: Event| {
                        let v = ev.target_unchecked_into::<web_sys::HtmlInputElement>().value();
                        on.emit((f, v));
                    })} />
            </div>
        }
    };
    // A select; `default` is the value the kernel preset gives when the key is absent.
    let select = |f: Field,
                  label: &'static str,
                  options: &[&'static str],
                  default: Option<&str>| {
        let on = p.on_set.clone();
        let e = err(f);
        let explicit = get(f);
        let current = explicit.clone().unwrap_or_default();
        // Text that does not parse has no value to show: no option is.
        let parses = doc.parses();
        html! {
            <div class={classes!("field", e.is_some().then_some("invalid"))}>
                <label for={f.id()}>{ label }</label>
                <select id={f.id()} class="mono" aria-invalid={e.is_some().to_string()} title={e.clone()}
                    onchange={Callback::from(move |ev: Event| {
                        let v = ev.target_unchecked_into::<web_sys::HtmlSelectElement>().value();
                        on.emit((f, v));
                    })}>
                    if !parses {
                        <option value="" selected=true>{ "—" }</option>
                    } else if let Some(d) = default {
                        <option value="" selected={explicit.is_none()}>{ format!("preset default ({d})") }</option>
                    }
                    { for options.iter().map(|o| html! {
                        <option value={*o} selected={parses && current == *o}>{ *o }</option>
                    }) }
                </select>
            </div>
        }
    };
    let t = toggles.as_ref();
    let unstable_default = t.map(|t| unstable_name(t.unstable_check));
    let reaper_default = t.map(|t| if t.reaper { "true" } else { "false" });
    let trylock_default = t.map(|t| match t.reaper_trylock {
        ReaperTrylock::Fair => "fair",
        ReaperTrylock::Unfair => "unfair",
    });
    let yes_no = |b: bool| if b { "true" } else { "false" };
    let a2_default = t.map(|t| yes_no(t.fs_shrinkers_direct_reclaim));
    let a3_default = t.map(|t| yes_no(t.pf_memalloc_pid));
    html! {
        <details class="form" open=true>
            <summary>{ "Knobs" }<span id="knobs-note" class="muted small">{
                if doc.parses() { " — two-way synced with the TOML below" } else { " — off until the TOML below parses" }
            }</span></summary>
            <fieldset disabled={!doc.parses()}>
                <legend>{ "Machine" }</legend>
                { input(Field::Cpus, "CPUs", "number") }
                { input(Field::Sockets, "Sockets", "number") }
                { input(Field::Memory, "Memory", "text") }
                { input(Field::IpiSameLo, "IPI same socket, min", "text") }
                { input(Field::IpiSameHi, "IPI same socket, max", "text") }
                { input(Field::IpiCrossLo, "IPI cross socket, min", "text") }
                { input(Field::IpiCrossHi, "IPI cross socket, max", "text") }
            </fieldset>
            <fieldset disabled={!doc.parses()}>
                <legend>{ "Kernel" }</legend>
                { select(Field::KernelPreset, "Kernel preset", &["4.13-rc", "4.13", "4.14", "5.18"], None) }
                { select(Field::UnstableCheck, "unstable_check", &["none", "post_fault", "pre_pte"], unstable_default.or(Some("?"))) }
                { select(Field::Reaper, "OOM reaper", &["true", "false"], reaper_default.or(Some("?"))) }
                { select(Field::ReaperTrylock, "reaper_trylock (A1: unfair)", &["fair", "unfair"], trylock_default.or(Some("?"))) }
                { select(Field::FsShrinkersDirect, "fs_shrinkers_direct_reclaim (A2: false)", &["true", "false"], a2_default.or(Some("?"))) }
                { select(Field::PfMemallocPid, "pf_memalloc_pid (A3: true)", &["true", "false"], a3_default.or(Some("?"))) }
            </fieldset>
            <fieldset disabled={!doc.parses()}>
                <legend>{ "Filesystem and workload" }</legend>
                { select(Field::FsType, "Filesystem", &["ext4", "xfs", "btrfs"], None) }
                { input(Field::Writers, "Writer threads", "number") }
            </fieldset>
        </details>
    }
}
