//! The root component: it holds the reducer, calls the effect hooks
//! (`hooks/`), and lays out the display-only components, which take props
//! and `on*` callbacks. The clipboard and focus moves happen in callbacks
//! here.

use crate::components::{
    challenge::ChallengePanel, compare::ComparePanel, editor::Editor, explorer::ExplorerPanel,
    export::ExportBar, form::ScenarioForm, hexview::HexView, memview::MemView, presets::Presets,
    rewind::RewindPanel, shrink::ShrinkPanel, stepview::StepView, timeline::Timeline,
    traceview::TraceView, verdict::Verdict,
};
use crate::hooks::location_hash;
use crate::state::{
    Action, AppState, BannerKind, Mode, RunPurpose, RunStatus, ShrinkStatus, Tab, Theme,
};
use crate::workers;
use oomlab_core::hexdump::OdStyle;
use std::rc::Rc;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use yew::prelude::*;

impl Reducible for AppState {
    type Action = Action;
    fn reduce(self: Rc<Self>, action: Action) -> Rc<Self> {
        Rc::new(self.apply(action))
    }
}

pub(crate) fn now_ms() -> f64 {
    web_sys::window()
        .and_then(|w| w.performance())
        .map_or(0.0, |p| p.now())
}

/// Focuses a form field by id, or else the editor at `line` (an edge: DOM
/// focus and selection).
fn focus_error(field: Option<&'static str>, line: Option<u32>) {
    let Some(doc) = web_sys::window().and_then(|w| w.document()) else {
        return;
    };
    if let Some(el) = field.and_then(|id| doc.get_element_by_id(id)) {
        if let Ok(el) = el.dyn_into::<web_sys::HtmlElement>() {
            el.scroll_into_view_with_bool(false);
            let _ = el.focus();
            return;
        }
    }
    if let Some(area) = doc
        .get_element_by_id("scenario-text")
        .and_then(|e| e.dyn_into::<web_sys::HtmlTextAreaElement>().ok())
    {
        let text = area.value();
        let start: usize = text
            .split_inclusive('\n')
            .take(line.unwrap_or(1).saturating_sub(1) as usize)
            .map(|l| l.encode_utf16().count())
            .sum();
        area.scroll_into_view_with_bool(false);
        let _ = area.focus();
        let _ = area.set_selection_range(start as u32, start as u32);
    }
}

#[derive(Clone, Copy, PartialEq)]
enum CopyState {
    Idle,
    Copied,
    Failed,
}

#[function_component(App)]
pub fn app() -> Html {
    let state = use_reducer(AppState::new);

    crate::hooks::use_link_router(&state);
    crate::hooks::use_runner(&state);
    crate::hooks::use_explore_pool(&state);
    crate::hooks::use_shrink_worker(&state);
    crate::hooks::use_rewind_pool(&state);
    crate::hooks::use_game(&state);
    crate::hooks::use_url_writer(&state);
    let dark = crate::hooks::use_theme(&state);
    let help = crate::hooks::use_shortcut_key();
    let stepper = crate::hooks::stepper::use_stepper(&state);
    let help_overlay = (*help).then(|| {
        let help = help.clone();
        html! {
            <div id="shortcuts" class="shortcuts" role="dialog" aria-modal="true" aria-labelledby="shortcuts-title">
                <div class="shortcuts-box">
                    <h2 id="shortcuts-title">{ "Keyboard shortcuts" }</h2>
                    <dl class="mono small">
                        <dt>{ "?" }</dt><dd>{ "show or hide this list" }</dd>
                        <dt>{ "Esc" }</dt><dd>{ "close it" }</dd>
                        <dt>{ "Enter (in Seed)" }</dt><dd>{ "run with that seed" }</dd>
                        <dt>{ "+ / −" }</dt><dd>{ "timeline: zoom in / out (when it has the focus)" }</dd>
                        <dt>{ "← / →" }</dt><dd>{ "timeline: pan; step-through: one step back / on" }</dd>
                        <dt>{ "Tab" }</dt><dd>{ "the first stop is \u{201c}Skip to Run\u{201d}" }</dd>
                    </dl>
                    <button id="shortcuts-close" onclick={Callback::from(move |_: MouseEvent| help.set(false))}>{ "Close" }</button>
                </div>
            </div>
        }
    });
    let on_skip = Callback::from(|_: MouseEvent| {
        if let Some(el) = web_sys::window()
            .and_then(|w| w.document())
            .and_then(|d| d.get_element_by_id("seed"))
            .and_then(|e| e.dyn_into::<web_sys::HtmlElement>().ok())
        {
            let _ = el.focus();
        }
    });
    let copy = use_state(|| CopyState::Idle);
    let link_out = use_state(String::new);
    let on_copy_link = {
        let copy = copy.clone();
        let link_out = link_out.clone();
        let current = state.current_link();
        Callback::from(move |_: MouseEvent| {
            let Some(w) = web_sys::window() else { return };
            // The fragment already holds the link (effects keep it in sync);
            // make sure, then copy the whole URL.
            if location_hash().len() <= 1 {
                if let (Some(l), Ok(h)) = (&current, w.history()) {
                    let _ =
                        h.replace_state_with_url(&JsValue::NULL, "", Some(&format!("#run={l}")));
                }
            }
            let href = w.location().href().unwrap_or_default();
            link_out.set(href.clone());
            let nav = w.navigator();
            let has = js_sys::Reflect::has(&nav, &JsValue::from_str("clipboard")).unwrap_or(false);
            if !has {
                copy.set(CopyState::Failed);
                return;
            }
            let p = nav.clipboard().write_text(&href);
            let copy = copy.clone();
            yew::platform::spawn_local(async move {
                let ok = wasm_bindgen_futures::JsFuture::from(p).await.is_ok();
                copy.set(if ok {
                    CopyState::Copied
                } else {
                    CopyState::Failed
                });
            });
        })
    };

    // Copies text to the clipboard (an edge; failures are silent, and every
    // copied text is also shown for selection).
    let on_copy = Callback::from(|text: String| {
        let Some(w) = web_sys::window() else { return };
        let nav = w.navigator();
        if js_sys::Reflect::has(&nav, &JsValue::from_str("clipboard")).unwrap_or(false) {
            let p = nav.clipboard().write_text(&text);
            yew::platform::spawn_local(async move {
                let _ = wasm_bindgen_futures::JsFuture::from(p).await;
            });
        }
    });
    let on_action = {
        let d = state.dispatcher();
        Callback::from(move |a: Action| d.dispatch(a))
    };
    let dispatch = |f: fn() -> Action| {
        let d = state.dispatcher();
        Callback::from(move |_: MouseEvent| d.dispatch(f()))
    };
    let theme_next = match state.theme {
        Theme::Auto => Theme::Dark,
        Theme::Dark => Theme::Light,
        Theme::Light => Theme::Auto,
    };
    let on_theme = {
        let d = state.dispatcher();
        Callback::from(move |_: MouseEvent| d.dispatch(Action::SetTheme(theme_next)))
    };

    let banner = state.banner.as_ref().map(|b| {
        let class = match b.kind {
            BannerKind::Error => "banner error",
            BannerKind::Warning => "banner warning",
        };
        html! {
            <div class={class} role="alert" id="banner">
                <div class="banner-text">
                    <strong>{ &b.title }</strong>
                    <span>{ &b.detail }</span>
                </div>
                if b.rerun {
                    <button id="rerun-current" class="primary" onclick={dispatch(|| Action::RerunCurrentModel)}>
                        { "Re-run with the current model" }
                    </button>
                }
                <button class="ghost" aria-label="Dismiss" onclick={dispatch(|| Action::DismissBanner)}>{ "Dismiss" }</button>
            </div>
        }
    });

    let on_preset = {
        let d = state.dispatcher();
        Callback::from(move |id: String| d.dispatch(Action::LoadPreset(id)))
    };
    let on_edit = {
        let d = state.dispatcher();
        use_callback((), move |t: String, _| d.dispatch(Action::EditText(t)))
    };
    // Stable callbacks: the form's props then change only with the text,
    // so an unrelated render (a hover elsewhere) never re-renders it and
    // resets a field the user is typing in.
    let on_field = {
        let d = state.dispatcher();
        use_callback((), move |(f, v), _| d.dispatch(Action::SetField(f, v)))
    };
    let on_seed = {
        let d = state.dispatcher();
        Callback::from(move |e: InputEvent| {
            let v = e
                .target_unchecked_into::<web_sys::HtmlInputElement>()
                .value();
            if let Ok(s) = v.trim().parse::<u64>() {
                d.dispatch(Action::SetSeed(s));
            }
        })
    };
    let on_seed_key = {
        let d = state.dispatcher();
        Callback::from(move |e: KeyboardEvent| {
            if e.key() == "Enter" {
                d.dispatch(Action::Run);
            }
        })
    };
    let on_random = {
        let d = state.dispatcher();
        Callback::from(move |_: MouseEvent| {
            // The edge draws the seed; the reducer stays pure.
            let s = (js_sys::Math::random() * 1_000_000.0) as u64;
            d.dispatch(Action::RunSeed(s));
        })
    };
    let on_focus = {
        let d = state.dispatcher();
        Callback::from(move |f: Option<u64>| d.dispatch(Action::Focus(f)))
    };
    let on_hover = {
        let d = state.dispatcher();
        Callback::from(move |h: Option<u64>| d.dispatch(Action::Hover(h)))
    };
    let on_jump = dispatch(|| Action::JumpToEvidence);
    let on_od = {
        let d = state.dispatcher();
        Callback::from(move |o: OdStyle| d.dispatch(Action::SetOd(o)))
    };
    let on_file = {
        let d = state.dispatcher();
        Callback::from(move |i: usize| d.dispatch(Action::SelectFile(i)))
    };
    // On narrow screens the Details pane is a bottom drawer; picking a tab
    // opens it. On wide screens the class has no effect.
    let drawer = use_state(|| false);
    let tab = |t: Tab, label: &'static str, id: &'static str| {
        let d = state.dispatcher();
        let selected = state.tab == t;
        let drawer = drawer.clone();
        html! {
            <button role="tab" id={id} aria-selected={selected.to_string()}
                class={classes!("tab", selected.then_some("active"))}
                onclick={Callback::from(move |_: MouseEvent| {
                    drawer.set(true);
                    d.dispatch(Action::SetTab(t));
                })}>
                { label }
            </button>
        }
    };

    let running = state.running();
    let progress = match state.status {
        RunStatus::Running { steps, t_ns } => {
            format!("Running… {steps} steps, t = {:.3} s", t_ns as f64 / 1e9)
        }
        RunStatus::Cancelled => "Cancelled.".to_string(),
        RunStatus::Done => state
            .view
            .as_ref()
            .map(|v| {
                // A shrunk run is its few deviations from the default
                // decisions, not the seed's schedule.
                let what = match &v.source {
                    oomlab_core::ChoiceSource::Deviations { seed, devs } => format!(
                        "Shrunk run of seed {seed} ({} non-default decision{})",
                        devs.len(),
                        if devs.len() == 1 { "" } else { "s" }
                    ),
                    _ => format!("Seed {}", v.seed),
                };
                format!(
                    "{what}: {} steps, {:.3} s simulated, {} trace records",
                    v.result.steps,
                    v.result.end_time.0 as f64 / 1e9,
                    v.result.trace_len
                )
            })
            .unwrap_or_default(),
        RunStatus::Idle => "Ready.".to_string(),
    };
    let purpose = state.request.as_ref().map(|r| r.purpose);
    let running_b = running && purpose == Some(RunPurpose::CompareB);
    let stale_view =
        state.view.is_some() && ((running && !running_b) || state.status == RunStatus::Cancelled);
    let progress = if running_b {
        "Running B of the comparison…".to_string()
    } else {
        progress
    };
    let critical = state.critical_for_view();
    let critical_marks: Rc<Vec<(u64, String)>> = Rc::new(
        critical
            .0
            .iter()
            .map(|c| (c.near_event, format!("{} ({})", c.kind, c.index)))
            .collect(),
    );
    let critical_events: Rc<Vec<u64>> = Rc::new(critical.0.iter().map(|c| c.near_event).collect());
    let hardware = workers::hardware_concurrency();
    let mode_tab = |m: Mode, label: &'static str, id: &'static str| {
        let d = state.dispatcher();
        let selected = state.mode == m;
        html! {
            <button role="tab" id={id} aria-selected={selected.to_string()}
                class={classes!("tab", selected.then_some("active"))}
                onclick={Callback::from(move |_: MouseEvent| d.dispatch(Action::SetMode(m)))}>
                { label }
            </button>
        }
    };
    let failing = state
        .view
        .as_ref()
        .is_some_and(|v| v.result.outcomes.iter().any(|o| o.severity() > 0));
    let shrinking = state
        .shrink
        .as_ref()
        .is_some_and(|s| matches!(s.status, ShrinkStatus::Running { .. }));
    let rewinding = state.rewind.as_ref().is_some_and(|r| r.running());
    let timeline = |marks: Rc<Vec<(u64, String)>>| match &state.view {
        Some(v) => html! {
            <Timeline view={v.clone()} focus={state.focus} hover={state.hover} on_focus={on_focus.clone()}
                on_hover={on_hover.clone()} dark={dark} marks={marks} />
        },
        None => {
            html! { <div class="timeline-placeholder muted">{ "The timeline appears after the first run." }</div> }
        }
    };
    // An invalid scenario cannot run; the first error stands beside Run and
    // a click on it moves the focus to its field (or its line in the editor).
    let run_error = state.errors.first().map(|e| {
        let target = AppState::error_field(e).map(|f| f.id());
        let line = e.line;
        let more = state.errors.len() - 1;
        let place = match (e.path.is_empty(), e.line, e.column) {
            (false, Some(l), _) => format!("{} (line {l})", e.path),
            (false, None, _) => e.path.clone(),
            (true, Some(l), Some(c)) => format!("line {l}, column {c}"),
            (true, Some(l), None) => format!("line {l}"),
            (true, None, _) => "the scenario".to_string(),
        };
        let onclick = Callback::from(move |_: MouseEvent| focus_error(target, line));
        html! {
            <button id="run-error" class="run-error" role="alert" onclick={onclick}
                data-field={target} title="Go to the field">
                { format!("⚠ {place}: {}", e.message) }
                if more > 0 { { format!(" (+{more} more)") } }
            </button>
        }
    });
    // The run header names what is shown: the scenario of the run in view,
    // "(modified)" when it is no preset as loaded.
    let run_title = match &state.view {
        Some(v) => {
            let modified = v.preset.is_none();
            html! {
                <h2 id="run-title" class="run-title" data-preset={v.preset} data-modified={modified.to_string()}>
                    <span class="run-title-text">{ &v.scenario.scenario.title }</span>
                    if modified {
                        <span class="tag modified-tag" title="This scenario differs from every built-in preset">{ "(modified)" }</span>
                    }
                    <span class="muted mono small">{ format!(" · seed {}", v.seed) }</span>
                </h2>
            }
        }
        None => html! { <h2 id="run-title" class="run-title">{ "Run" }</h2> },
    };
    let mode_body = match state.mode {
        Mode::Run => html! {
            <>
            <Verdict view={state.view.clone()} stale={stale_view} on_jump={on_jump.clone()} />
            if let Some(v) = &state.view {
                <div class="run-tools">
                    <button id="shrink" disabled={!failing || shrinking} onclick={dispatch(|| Action::Shrink)}
                        title="Shrink this run, in a worker, to the fewest decisions that keep its worst outcome">{ "Shrink" }</button>
                    <button id="compare-with" onclick={dispatch(|| Action::SetMode(Mode::Compare))}
                        title="Replay the same decisions with kernel toggles flipped">{ "Compare with…" }</button>
                    <button id="step-through" onclick={dispatch(|| Action::SetMode(Mode::Step))}>{ "Step through" }</button>
                    <button id="rewind-start" disabled={!failing || rewinding} onclick={{
                            let d = state.dispatcher();
                            Callback::from(move |_: MouseEvent| d.dispatch(Action::RewindStart { workers: hardware, now_ms: now_ms() }))
                        }}
                        title="Rewind this run: replay fresh suffixes from checkpoints of it, in workers, and find when its worst outcome became certain">
                        { "When was it decided?" }
                    </button>
                    <span class="spacer"></span>
                    <ExportBar view={v.clone()} on_copy={on_copy.clone()} />
                </div>
            }
            <ShrinkPanel shrink={state.shrink.clone()} view={state.view.clone()} critical={critical.clone()}
                on={on_action.clone()} on_focus={on_focus.clone()} on_copy={on_copy.clone()} />
            { timeline(critical_marks.clone()) }
            if let Some(v) = &state.view {
                <RewindPanel rewind={state.rewind.clone()} view={v.clone()} on={on_action.clone()} on_focus={on_focus.clone()} />
            }
            </>
        },
        Mode::Explore => html! {
            <ExplorerPanel ex={state.explorer.clone()} hardware={hardware} valid={state.valid.is_some()} on={on_action.clone()} />
        },
        Mode::Compare => html! {
            <ComparePanel view={state.view.clone()} compare={state.compare.clone()} running={running_b}
                dark={dark} on={on_action.clone()} on_copy={on_copy.clone()} />
        },
        Mode::Step => match &state.view {
            Some(v) => html! {
                <>
                <StepView view={v.clone()} step={state.step} total={state.step_total} on={on_action.clone()}
                    built={stepper.built} shown={stepper.shown.clone()} on_next={stepper.on_next.clone()}>
                    { timeline(critical_marks.clone()) }
                </StepView>
                </>
            },
            None => html! { <p class="muted placeholder">{ "Run a scenario first." }</p> },
        },
        Mode::Challenge => html! {
            <ChallengePanel game={state.game.clone()} on={on_action.clone()} on_copy={on_copy.clone()} />
        },
    };

    let details = match (&state.view, state.tab) {
        // The challenge's run is not the run view's: its panels would show
        // another run.
        (Some(_), _) if state.mode == Mode::Challenge => html! {
            <p class="muted placeholder" id="details-challenge">
                { "The challenge's run is shown in its panel. When it ends, \u{201c}Open in the run view\u{201d} shows its file, memory and trace here." }
            </p>
        },
        (None, _) => {
            html! { <p class="muted placeholder">{ "Run a scenario to see its files, memory and trace." }</p> }
        }
        // Step-through shows the state at the step in its own panels; these
        // tabs would silently show the end of the run.
        (Some(_), Tab::File | Tab::Memory) if state.mode == Mode::Step => html! {
            <p class="muted placeholder" id="details-step">
                { format!("At step {}, the files, the victim's mm and the tasks are in the step view; this tab shows the end of the run, so it is hidden while stepping. The Trace tab follows the step.", state.step) }
            </p>
        },
        (Some(v), Tab::File) => html! {
            <HexView view={v.clone()} file={state.file} od={state.od} on_od={on_od} on_file={on_file} on_focus={on_focus.clone()} />
        },
        (Some(v), Tab::Memory) => html! { <MemView view={v.clone()} dark={dark} /> },
        (Some(v), Tab::Trace) => html! {
            <TraceView view={v.clone()} focus={state.focus} hover={state.hover} on_focus={on_focus.clone()} on_hover={on_hover.clone()} marked={critical_events.clone()} />
        },
    };

    html! {
        <div class="app">
            // A button, not a link: the URL fragment holds the permalink.
            <button id="skip-to-run" class="skip-link" onclick={on_skip}>{ "Skip to Run" }</button>
            { for help_overlay }
            <header class="topbar">
                <h1>{ "oomlab" }</h1>
                <span class="tagline">{ "OOM killer × OOM reaper × write(2): where the zeros come from" }</span>
                <span class="spacer"></span>
                <span class="model mono" title="Model version: permalinks record it">
                    { "model v" }<span id="model-version">{ oomlab_core::MODEL_VERSION }</span>
                </span>
                <button id="theme-toggle" class="ghost" onclick={on_theme}
                    aria-label={format!("Theme: {:?} (click to change)", state.theme)}>
                    { match state.theme { Theme::Auto => "◐ Auto", Theme::Dark => "☾ Dark", Theme::Light => "☀ Light" } }
                </button>
                <button id="copy-link" onclick={on_copy_link}>
                    { match *copy { CopyState::Copied => "✓ Link copied", CopyState::Failed => "Copy link (select below)", CopyState::Idle => "Copy link" } }
                </button>
                if !link_out.is_empty() {
                    <input id="link-out" class="mono link-out" readonly=true aria-label="Permalink" value={(*link_out).clone()} />
                }
            </header>
            { for banner }
            <div class="panes">
                <section class="pane scenario-pane" aria-label="Scenario">
                    <h2>{ "Scenario" }</h2>
                    <Presets current={state.preset.clone()} modified_from={if state.preset.is_none() { state.base_preset.clone() } else { None }} on_pick={on_preset} />
                    <ScenarioForm text={state.text.clone()} valid={state.valid.clone()} errors={state.errors.clone()} on_set={on_field} />
                    <Editor text={state.text.clone()} errors={state.errors.clone()} on_edit={on_edit} />
                </section>
                <section class="pane run-pane" aria-label="Run">
                    { run_title }
                    <div class="runbar">
                        <label for="seed">{ "Seed" }</label>
                        <input id="seed" type="number" min="0" class="mono" value={state.seed.to_string()}
                            oninput={on_seed} onkeydown={on_seed_key} />
                        <button id="run" class="primary" onclick={dispatch(|| Action::Run)} disabled={!state.can_run()}
                            aria-describedby={(!state.errors.is_empty()).then_some("run-error")}>{ "Run" }</button>
                        { run_error }
                        <button id="random-seed" onclick={on_random}>{ "Random seed" }</button>
                        <button id="cancel" onclick={dispatch(|| Action::Cancel)} disabled={!running}>{ "Cancel" }</button>
                        <span id="status" class={classes!("status", running.then_some("busy"))} aria-live="polite">{ progress }</span>
                    </div>
                    <div role="tablist" class="tabs modes" aria-label="View">
                        { mode_tab(Mode::Run, "Run", "mode-run") }
                        { mode_tab(Mode::Explore, "Explore", "mode-explore") }
                        { mode_tab(Mode::Compare, "A/B compare", "mode-compare") }
                        { mode_tab(Mode::Step, "Step through", "mode-step") }
                        { mode_tab(Mode::Challenge, "Challenge", "mode-challenge") }
                    </div>
                    { mode_body }
                </section>
                <section id="details" class={classes!("pane", "details-pane", drawer.then_some("open"))} aria-label="Details">
                    <div role="tablist" class="tabs">
                        { tab(Tab::File, "File", "tab-file") }
                        { tab(Tab::Memory, "Memory", "tab-memory") }
                        { tab(Tab::Trace, "Trace", "tab-trace") }
                        <button id="drawer-toggle" class="small-btn drawer-handle" aria-controls="details"
                            aria-expanded={drawer.to_string()}
                            onclick={{ let drawer = drawer.clone(); Callback::from(move |_: MouseEvent| drawer.set(!*drawer)) }}>
                            { if *drawer { "Close ▾" } else { "Details ▴" } }
                        </button>
                    </div>
                    { details }
                </section>
            </div>
        </div>
    }
}
