//! Challenge mode: the player is the scheduler. The goal and the decisions
//! the player controls are stated up front; each decision shows its options
//! labelled by what they lead to (the task a CPU switches to, when an IPI
//! lands), with the kernel's own pick marked. The win screen offers the
//! winning run as an ordinary permalink.

use crate::game::{GameCmd, GameView};
use crate::state::{Action, GameState};
use oomlab_core::challenge::LEVELS;
use oomlab_core::choice::ChoiceKind;
use oomlab_core::parse_scenario;
use yew::prelude::*;

#[derive(Properties, PartialEq)]
pub struct Props {
    pub game: GameState,
    pub on: Callback<Action>,
    pub on_copy: Callback<String>,
}

fn question(kind: ChoiceKind, cpu: Option<u32>) -> String {
    let on = cpu.map_or(String::new(), |c| format!(" cpu{c}"));
    match kind {
        ChoiceKind::SchedPick => format!(
            "Which task does{} run next?",
            if on.is_empty() { " the CPU".into() } else { on }
        ),
        ChoiceKind::IpiLatency => format!(
            "When does the IPI sent from{} land?",
            if on.is_empty() {
                " this CPU".into()
            } else {
                on
            }
        ),
        ChoiceKind::LockWake => "Which waiter gets the lock?".into(),
        ChoiceKind::WakeCpu => "Which idle CPU takes the woken task?".into(),
        ChoiceKind::TickPhase => "Where does this CPU's tick fall?".into(),
        ChoiceKind::Jitter => format!("How long does this step take on{on}?"),
        k => format!("{} ({})", k.name(), on.trim()),
    }
}

fn level_picker(p: &Props, current: Option<&str>) -> Html {
    html! {
        <div class="levels" role="list" aria-label="Levels">
            { for LEVELS.iter().map(|l| {
                let title = parse_scenario(l.text).map(|s| s.scenario.title).unwrap_or_else(|_| l.id.to_string());
                let on = p.on.clone();
                let id = l.id.to_string();
                html! {
                    <button role="listitem" id={format!("level-{}", l.id)} class={classes!("preset", (current == Some(l.id)).then_some("current"))}
                        onclick={Callback::from(move |_: MouseEvent| on.emit(Action::Game(GameCmd::Start(id.clone()))))}>
                        <span class="preset-title">{ title }</span>
                    </button>
                }
            }) }
        </div>
    }
}

#[function_component(ChallengePanel)]
pub fn challenge_panel(p: &Props) -> Html {
    let g = &p.game;
    let cmd = |c: GameCmd| {
        let on = p.on.clone();
        Callback::from(move |_: MouseEvent| on.emit(Action::Game(c.clone())))
    };
    let Some(v) = g.view.as_deref() else {
        return html! {
            <div class="challenge" id="challenge">
                { level_picker(p, None) }
                if g.busy { <p class="status busy">{ "Loading the level…" }</p> }
                if let Some(e) = &g.error { <p class="bad-text small">{ e }</p> }
            </div>
        };
    };
    let hint = {
        let on = p.on.clone();
        Callback::from(move |_: MouseEvent| on.emit(Action::ToggleHint))
    };
    html! {
        <div class="challenge" id="challenge" data-level={v.level.clone()} data-asked={v.asked.to_string()}
            data-made={v.made.to_string()} data-over={v.over().to_string()} data-busy={g.busy.to_string()}>
            { level_picker(p, Some(&v.level)) }
            <h3 class="level-title">{ &v.title }</h3>
            <p class="small">{ &v.story }</p>
            <div class="chips goal">
                <span class="small">{ "Goal:" }</span>
                { for v.goal.iter().map(|c| match oomlab_core::Outcome::from_code(c) {
                    Some(o) => super::verdict::chip(o),
                    None => html! { <span class="chip mono" data-code={c.clone()}>{ c }</span> },
                }) }
                <span class="small">{ "You decide:" }</span>
                { for v.control.iter().map(|c| html! { <span class="chip mono">{ c }</span> }) }
                <span class="small mono" id="budget">{ format!("{} of {} decisions used", v.made, v.budget) }</span>
            </div>
            if v.over() {
                { end_screen(v, p) }
            } else if let Some(d) = &v.decision {
                <div class="decision" id="decision" data-kind={d.kind.name()} data-number={d.number.to_string()}>
                    <p><strong>{ format!("Decision {}: ", d.number) }</strong>{ question(d.kind, d.cpu) }
                        <span class="muted small mono">{ format!("  t = {}", super::fmt_ns(d.t.0)) }</span></p>
                    <div class="options">
                        { for d.options.iter().map(|o| html! {
                            <button id={format!("opt-{}", o.value)} class={classes!("option", o.kernel_pick.then_some("kernel-pick"))}
                                disabled={g.busy || v.made >= v.budget} title={o.detail.clone()} data-value={o.value.to_string()}
                                onclick={cmd(GameCmd::Answer(o.value))}>
                                <span class="mono">{ &o.label }</span>
                                if o.kernel_pick { <span class="muted small">{ " (kernel's pick)" }</span> }
                            </button>
                        }) }
                        if d.more > 0 { <span class="muted small">{ format!("and {} more options the kernel may pick", d.more) }</span> }
                    </div>
                    <div class="runbar">
                        <button id="kernel-decides" disabled={g.busy} onclick={cmd(GameCmd::KernelDecides)}>{ "Let the kernel decide" }</button>
                        if v.control.iter().any(|c| c == "sched_pick") && d.kind != ChoiceKind::SchedPick {
                            <button id="until-sched" disabled={g.busy} onclick={cmd(GameCmd::KernelDecidesUntil(ChoiceKind::SchedPick))}>{ "Kernel decides until the next runqueue pick" }</button>
                        }
                        <button id="play-out" disabled={g.busy} onclick={cmd(GameCmd::PlayOut)}>{ "Play out the rest" }</button>
                        <button id="undo" disabled={g.busy || v.asked == 0} onclick={cmd(GameCmd::Undo)}>{ "Undo" }</button>
                        <button id="restart" disabled={g.busy} onclick={cmd(GameCmd::Restart)}>{ "Restart" }</button>
                        if !v.hint.is_empty() { <button id="hint" class="ghost" onclick={hint}>{ if g.hint { "Hide hint" } else { "Hint" } }</button> }
                        if g.busy { <span class="status busy">{ "…" }</span> }
                    </div>
                    if g.hint { <p class="small hint">{ &v.hint }</p> }
                </div>
            }
            if let Some(e) = &g.error { <p class="bad-text small">{ e }</p> }
            <div class="step-grid">
                <section>
                    <h3>{ format!("CPUs at t = {}", super::fmt_ns(v.t)) }</h3>
                    <table class="vmas mono small">
                        <thead><tr><th>{ "cpu" }</th><th>{ "running" }</th><th>{ "runqueue" }</th></tr></thead>
                        <tbody>
                            { for v.cpus.iter().map(|c| {
                                let name = |pid: u32| v.tasks.iter().find(|t| t.pid == pid).map_or(pid.to_string(), |t| format!("{}/{}", t.comm, t.pid));
                                html! { <tr><td>{ format!("cpu{}", c.id) }</td><td>{ c.curr.map_or("idle".into(), name) }</td>
                                    <td>{ c.runqueue.iter().map(|p| name(*p)).collect::<Vec<_>>().join(" ") }</td></tr> }
                            }) }
                        </tbody>
                    </table>
                </section>
                <section>
                    <h3>{ "What just happened" }</h3>
                    <pre class="recent mono small">{ v.recent.join("\n") }</pre>
                </section>
            </div>
        </div>
    }
}

fn end_screen(v: &GameView, p: &Props) -> Html {
    let open = {
        let on = p.on.clone();
        Callback::from(move |_: MouseEvent| on.emit(Action::OpenGameRun))
    };
    let restart = {
        let on = p.on.clone();
        Callback::from(move |_: MouseEvent| on.emit(Action::Game(GameCmd::Restart)))
    };
    let undo = {
        let on = p.on.clone();
        Callback::from(move |_: MouseEvent| on.emit(Action::Game(GameCmd::Undo)))
    };
    let link = v.link.clone().unwrap_or_default();
    let copy = {
        let on_copy = p.on_copy.clone();
        let l = link.clone();
        Callback::from(move |_: MouseEvent| on_copy.emit(l.clone()))
    };
    html! {
        <div id={if v.won { "win" } else { "lost" }} class={classes!("endscreen", if v.won { "won" } else { "lost" })}>
            if v.won {
                <p class="big"><strong>{ format!("You won in {} decision{}.", v.made, if v.made == 1 { "" } else { "s" }) }</strong></p>
            } else {
                <p class="big"><strong>{ "The run ended without reaching the goal." }</strong></p>
            }
            <div class="chips">
                { for v.outcomes.iter().map(|c| {
                    match oomlab_core::Outcome::from_code(c) {
                        Some(o) => super::verdict::chip(o),
                        None => html! { <span class="chip mono" data-code={c.clone()}>{ c }</span> },
                    }
                }) }
            </div>
            <p class="small">{ &v.explain }</p>
            <div class="shrink-row">
                <input id="win-link" class="mono link-out" readonly=true aria-label="Permalink of this run" value={link} />
                <button id="win-copy" onclick={copy}>{ "Copy link" }</button>
                <button id="open-win-run" class="primary" onclick={open}>{ "Open in the run view" }</button>
                <button onclick={undo}>{ "Undo last decision" }</button>
                <button id="restart-end" onclick={restart}>{ "Restart" }</button>
            </div>
            <p class="muted small">{ "The link is an ordinary run permalink: it replays these exact decisions, in the playground or with `oomlab replay`." }</p>
        </div>
    }
}
