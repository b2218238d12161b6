//! The root component.

use yew::prelude::*;

#[function_component(App)]
pub fn app() -> Html {
    html! {
        <main class="app">
            <header>
                <h1>{ "oomlab" }</h1>
                <p class="tagline">
                    { "A deterministic simulator of the Linux OOM killer / OOM reaper race that writes zeros into files." }
                </p>
            </header>
            <p class="model">
                { "Model version " }
                <span id="model-version">{ oomlab_core::MODEL_VERSION }</span>
            </p>
        </main>
    }
}
