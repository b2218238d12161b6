//! oomlab-web: the browser playground. A thin yew front end over
//! `oomlab-core`: it turns user input into core calls and renders the plain
//! data core returns. Everything browser-specific is compiled only for wasm32,
//! so native builds of this crate stay dependency-free.
#![forbid(unsafe_code)]

#[cfg(target_arch = "wasm32")]
mod app;

#[cfg(target_arch = "wasm32")]
pub use entry::run;

#[cfg(target_arch = "wasm32")]
mod entry {
    use wasm_bindgen::prelude::*;

    /// Mounts the playground into the page. Called explicitly by index.html
    /// rather than through `#[wasm_bindgen(start)]`, so that Web Workers can
    /// later load the same module without trying to render into a document
    /// they do not have.
    #[wasm_bindgen]
    pub fn run() {
        install_panic_hook();
        yew::Renderer::<crate::app::App>::new().render();
    }

    /// Without a hook, a panic in wasm surfaces only as "unreachable executed"
    /// with no message.
    fn install_panic_hook() {
        std::panic::set_hook(Box::new(|info| {
            web_sys::console::error_1(&format!("oomlab: simulator bug: {info}").into());
        }));
    }
}
