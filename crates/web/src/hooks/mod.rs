//! The effects at the edges of the playground, one hook per effect: the URL
//! becoming actions, the chunked runner, the explorer's worker pool, the
//! shrink worker, the challenge game, the URL writer, the theme, the
//! shortcut key and the step-through checkpoints. The reducer records what
//! should happen (`request`, `url`, `explorer.job`, ...); these hooks do it
//! and dispatch what came of it. Components never run the simulator.

use crate::app::now_ms;
use crate::explorer::ExploreStatus;
use crate::game::{self, GameView};
use crate::state::{Action, AppState, HistoryMode, RunRequest, ShrinkStatus, Theme};
use crate::view::{self, RunView};
use crate::workers::{self, ExplorePool, RewindPool, ShrinkWorker};
use oomlab_core::Sim;
use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use yew::prelude::*;

pub mod stepper;

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

pub(crate) fn location_hash() -> String {
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

/// The URL becomes an action at mount, and on back/forward.
#[hook]
pub fn use_link_router(state: &UseReducerHandle<AppState>) {
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
}

/// Runs the reducer's run request in slices; a superseded run stops.
#[hook]
pub fn use_runner(state: &UseReducerHandle<AppState>) {
    let active = use_mut_ref(|| 0u64);
    *active.borrow_mut() = state.request.as_ref().map_or(0, |r| r.id);
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
}

#[hook]
pub fn use_rewind_pool(state: &UseReducerHandle<AppState>) {
    // Rewind: a pool per rewind, stopped when it is done, cancelled or
    // replaced.
    let pool = {
        let d = state.dispatcher();
        use_mut_ref(move || RewindPool::new(d))
    };
    let rw = state.rewind.clone();
    let key = rw.as_ref().map(|r| (r.job.id, r.running()));
    use_effect_with(key, move |k| {
        let p = pool.borrow().clone();
        let mut p = p.borrow_mut();
        match (k, rw) {
            (Some((_, true)), Some(r)) => p.start(r.job.clone()),
            _ => p.cancel(),
        }
    });
}

#[hook]
pub fn use_explore_pool(state: &UseReducerHandle<AppState>) {
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
}

#[hook]
pub fn use_shrink_worker(state: &UseReducerHandle<AppState>) {
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
}

#[hook]
pub fn use_game(state: &UseReducerHandle<AppState>) {
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
}

#[hook]
pub fn use_url_writer(state: &UseReducerHandle<AppState>) {
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
}

/// Restores and saves the theme, sets it on <html>; returns whether the
/// page is dark.
#[hook]
pub fn use_theme(state: &UseReducerHandle<AppState>) -> bool {
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
    dark
}

/// "?" toggles the shortcut list; the handle says whether it is shown.
#[hook]
pub fn use_shortcut_key() -> UseStateHandle<bool> {
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
    help
}
