//! The presets gallery: one card per built-in scenario.

use oomlab_core::presets::PRESETS;
use yew::prelude::*;

#[derive(Properties, PartialEq)]
pub struct Props {
    /// The preset the editor holds, unmodified.
    pub current: Option<String>,
    /// The preset the editor's scenario was loaded from, when it was edited since.
    pub modified_from: Option<String>,
    pub on_pick: Callback<String>,
}

#[function_component(Presets)]
pub fn presets(p: &Props) -> Html {
    // Parsed once per mount: a few small TOML files.
    let cards = use_memo((), |_| {
        PRESETS
            .iter()
            .map(|pr| {
                let sc = pr.load();
                let fs = &sc.scenario.fs;
                // The data mode only when the preset sets it: the default
                // (ordered) is what every other preset runs with.
                let fs = match fs.data {
                    Some(d) => format!("{} data={}", fs.fs_type.name(), d.name()),
                    None => fs.fs_type.name().to_string(),
                };
                (
                    pr,
                    sc.scenario.title.clone(),
                    sc.scenario.story.clone(),
                    sc.scenario.kernel.preset.clone(),
                    fs,
                    sc.scenario.crash.is_some(),
                )
            })
            .collect::<Vec<_>>()
    });
    html! {
        <div class="presets" role="list" aria-label="Presets">
            { for cards.iter().map(|(pr, title, story, kernel, fs, crash)| {
                let id = pr.id;
                let on = p.on_pick.clone();
                let idv = id.to_string();
                let current = p.current.as_deref() == Some(id);
                let modified = p.modified_from.as_deref() == Some(id);
                let outcome = pr.story_outcome.code();
                html! {
                    <button role="listitem" class={classes!("preset", current.then_some("current"), modified.then_some("modified"))}
                        id={format!("preset-{id}")} aria-pressed={current.to_string()}
                        data-showcase-seed={pr.showcase_seed.to_string()} data-story-outcome={outcome}
                        title={format!("Load this scenario and run it with seed {}, which shows {outcome}", pr.showcase_seed)}
                        onclick={Callback::from(move |_: MouseEvent| on.emit(idv.clone()))}>
                        <span class="preset-title">{ title }
                            if modified { <span class="tag modified-tag">{ "modified" }</span> }
                        </span>
                        <span class="preset-story">{ story }</span>
                        <span class="preset-tags">
                            <span class="showcase-tag mono">{ format!("seed {} → {outcome}", pr.showcase_seed) }</span>
                            <span class="tag mono">{ format!("linux {kernel}") }</span>
                            <span class="tag mono">{ fs }</span>
                            if *crash { <span class="tag mono">{ "power loss" }</span> }
                        </span>
                    </button>
                }
            }) }
        </div>
    }
}
