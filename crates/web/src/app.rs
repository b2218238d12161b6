//! The root component and the effects at the edges: the chunked runner, the
//! URL (history), the theme and the clipboard. Components below are
//! display-only: they take props and `on*` callbacks.

use crate::components::{
    challenge::ChallengePanel, compare::ComparePanel, editor::Editor, explorer::ExplorerPanel,
    export::ExportBar, form::ScenarioForm, hexview::HexView, memview::MemView, presets::Presets,
    shrink::ShrinkPanel, stepview::StepView, timeline::Timeline, traceview::TraceView,
    verdict::Verdict,
};
use crate::explorer::ExploreStatus;
use crate::game::{self, GameView};
use crate::state::{
    Action, AppState, BannerKind, HistoryMode, Mode, RunPurpose, RunRequest, RunStatus,
    ShrinkStatus, Tab, Theme,
};
use crate::view::{self, RunView};
use crate::workers::{self, ExplorePool, ShrinkWorker};
use oomlab_core::hexdump::OdStyle;
use oomlab_core::Sim;
use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;
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

/// Steps the simulation in slices of about 12 ms, yielding to the browser in
/// between, so the page never freezes; stops as soon as the run is superseded
/// or cancelled.
async fn run_chunks(
    r: Rc<RunRequest>,
    active: Rc<RefCell<u64>>,
    d: UseReducerDispatcher<AppState>,
) {
    let mut sim = Sim::new(&r.scenario, r.source.clone());
    let mut samples = Vec::new();
    let mut modes = view::ModeTracker::default();
    loop {
        let start = now_ms();
        let mut more = true;
        while more && now_ms() - start < 12.0 {
            for _ in 0..view::SAMPLE_EVERY {
                if !sim.step() {
                    more = false;
                    break;
                }
                modes.observe(&sim);
            }
            samples.push(view::sample(&sim));
        }
        if *active.borrow() != r.id {
            return;
        }
        if !more {
            break;
        }
        d.dispatch(Action::Progress {
            id: r.id,
            steps: sim.steps(),
            t_ns: sim.now().0,
        });
        yew::platform::time::sleep(Duration::ZERO).await;
        if *active.borrow() != r.id {
            return;
        }
    }
    let spans = modes.finish(&sim);
    let v = RunView::build(&r.scenario, &r.source, &mut sim, samples).with_user_spans(spans);
    d.dispatch(Action::Finished {
        id: r.id,
        view: Rc::new(v),
    });
}

fn location_hash() -> String {
    web_sys::window()
        .and_then(|w| w.location().hash().ok())
        .unwrap_or_default()
}

fn storage() -> Option<web_sys::Storage> {
    web_sys::window().and_then(|w| w.local_storage().ok().flatten())
}

fn prefers_dark() -> bool {
    web_sys::window()
        .and_then(|w| w.match_media("(prefers-color-scheme: dark)").ok().flatten())
        .is_some_and(|m| m.matches())
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
    let active = use_mut_ref(|| 0u64);
    *active.borrow_mut() = state.request.as_ref().map_or(0, |r| r.id);

    // Mount: the URL becomes an action; back/forward too.
    {
        let d = state.dispatcher();
        use_effect_with((), move |_| {
            let hash = location_hash();
            if hash.len() > 1 {
                d.dispatch(Action::OpenLink(hash));
            } else {
                d.dispatch(Action::Run);
            }
            let d2 = d.clone();
            let cb = Closure::<dyn Fn()>::new(move || {
                d2.dispatch(Action::OpenLink(location_hash()));
            });
            if let Some(w) = web_sys::window() {
                let _ = w.add_event_listener_with_callback("popstate", cb.as_ref().unchecked_ref());
            }
            move || {
                if let Some(w) = web_sys::window() {
                    let _ = w.remove_event_listener_with_callback(
                        "popstate",
                        cb.as_ref().unchecked_ref(),
                    );
                }
                drop(cb);
            }
        });
    }

    // Runner.
    {
        let d = state.dispatcher();
        let req = state.request.clone();
        let active = active.clone();
        use_effect_with(req.as_ref().map(|r| r.id), move |_| {
            if let Some(r) = req {
                yew::platform::spawn_local(run_chunks(r, active, d));
            }
        });
    }

    // Explorer: a pool of workers per exploration; pause, resume and stop
    // follow the reducer's status.
    let pool = {
        let d = state.dispatcher();
        use_mut_ref(move || ExplorePool::new(d))
    };
    {
        let pool = pool.clone();
        let job = state.explorer.job.clone();
        let status = state.explorer.status;
        use_effect_with(job.as_ref().map(|j| j.id), move |_| {
            if let (Some(j), ExploreStatus::Running) = (job, status) {
                pool.borrow().borrow_mut().start(j);
            }
        });
    }
    {
        let pool = pool.clone();
        use_effect_with(state.explorer.status, move |st| {
            let p = pool.borrow().clone();
            let mut p = p.borrow_mut();
            match st {
                ExploreStatus::Paused => p.pause(),
                ExploreStatus::Running => p.resume(),
                ExploreStatus::Idle => {}
                ExploreStatus::Done | ExploreStatus::Cancelled | ExploreStatus::Stale => p.cancel(),
            }
        });
    }

    // Shrink: one worker per request, stopped when the shrink ends.
    {
        let d = state.dispatcher();
        let worker = use_mut_ref(|| None::<ShrinkWorker>);
        let sh = state.shrink.clone();
        let key = sh.as_ref().map(|s| {
            (
                s.request.id,
                matches!(s.status, ShrinkStatus::Running { .. }),
            )
        });
        use_effect_with(key, move |k| {
            if let Some(w) = worker.borrow_mut().take() {
                w.stop();
            }
            if let (Some((_, true)), Some(s)) = (k, sh) {
                match workers::start_shrink(&s.request, d.clone()) {
                    Ok(w) => *worker.borrow_mut() = Some(w),
                    Err(e) => d.dispatch(Action::ShrinkFailed {
                        id: s.request.id,
                        message: format!("cannot start a worker: {e:?}"),
                    }),
                }
            }
        });
    }

    // Challenge: the game (with its checkpoints) lives here; the reducer
    // gets a snapshot after every command.
    {
        let d = state.dispatcher();
        let the_game = use_mut_ref(|| None::<(String, oomlab_core::challenge::Game)>);
        let cmd = state.game.cmd.clone();
        use_effect_with(cmd.as_ref().map(|c| c.0), move |_| {
            if let Some((id, cmd)) = cmd {
                yew::platform::spawn_local(async move {
                    // Let "busy" paint before a long command.
                    yew::platform::time::sleep(Duration::ZERO).await;
                    let view = {
                        let mut g = the_game.borrow_mut();
                        game::apply(&mut g, &cmd).map(|_| {
                            let (level, game) = g.as_ref().expect("a game after a command");
                            Rc::new(GameView::of(level, game))
                        })
                    };
                    d.dispatch(Action::GameUpdated { id, view });
                });
            }
        });
    }

    // URL: replaceState for edits, pushState for a new run.
    {
        let url = state.url.clone();
        use_effect_with(state.url_gen, move |_| {
            if let (Some((frag, mode)), Some(w)) = (url, web_sys::window()) {
                if let Ok(h) = w.history() {
                    let u = format!("#{frag}");
                    if location_hash() != u {
                        let _ = match mode {
                            HistoryMode::Push => {
                                h.push_state_with_url(&JsValue::NULL, "", Some(&u))
                            }
                            HistoryMode::Replace => {
                                h.replace_state_with_url(&JsValue::NULL, "", Some(&u))
                            }
                        };
                    }
                }
            }
        });
    }

    // Theme: restored from and saved to localStorage (an edge, not the reducer).
    {
        let d = state.dispatcher();
        use_effect_with((), move |_| {
            let saved = storage().and_then(|s| s.get_item("oomlab-theme").ok().flatten());
            match saved.as_deref() {
                Some("dark") => d.dispatch(Action::SetTheme(Theme::Dark)),
                Some("light") => d.dispatch(Action::SetTheme(Theme::Light)),
                _ => {}
            }
        });
    }
    use_effect_with(state.theme, |t| {
        if let Some(s) = storage() {
            let _ = match t {
                Theme::Auto => s.remove_item("oomlab-theme"),
                Theme::Dark => s.set_item("oomlab-theme", "dark"),
                Theme::Light => s.set_item("oomlab-theme", "light"),
            };
        }
    });
    // Theme: an attribute on <html>; "auto" follows prefers-color-scheme.
    let dark = match state.theme {
        Theme::Dark => true,
        Theme::Light => false,
        Theme::Auto => prefers_dark(),
    };
    use_effect_with(dark, move |dark| {
        if let Some(el) = web_sys::window()
            .and_then(|w| w.document())
            .and_then(|d| d.document_element())
        {
            let _ = el.set_attribute("data-theme", if *dark { "dark" } else { "light" });
        }
    });

    // "?" shows the keyboard shortcuts (outside text fields); Escape hides them.
    let help = use_state(|| false);
    {
        let help = help.clone();
        use_effect_with((), move |_| {
            let cb =
                Closure::<dyn Fn(web_sys::KeyboardEvent)>::new(move |e: web_sys::KeyboardEvent| {
                    let typing = e
                        .target()
                        .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
                        .is_some_and(|el| {
                            matches!(el.tag_name().as_str(), "INPUT" | "TEXTAREA" | "SELECT")
                        });
                    match e.key().as_str() {
                        "?" if !typing => help.set(!*help),
                        "Escape" => help.set(false),
                        _ => {}
                    }
                });
            let doc = web_sys::window().and_then(|w| w.document());
            if let Some(d) = &doc {
                let _ = d.add_event_listener_with_callback("keydown", cb.as_ref().unchecked_ref());
            }
            move || {
                if let Some(d) = doc {
                    let _ = d.remove_event_listener_with_callback(
                        "keydown",
                        cb.as_ref().unchecked_ref(),
                    );
                }
                drop(cb);
            }
        });
    }
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
                    <span class="spacer"></span>
                    <ExportBar view={v.clone()} on_copy={on_copy.clone()} />
                </div>
            }
            <ShrinkPanel shrink={state.shrink.clone()} view={state.view.clone()} critical={critical.clone()}
                on={on_action.clone()} on_focus={on_focus.clone()} on_copy={on_copy.clone()} />
            { timeline(critical_marks.clone()) }
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
                <StepView view={v.clone()} step={state.step} total={state.step_total} on={on_action.clone()}>
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
