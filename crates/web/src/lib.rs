//! oomlab-web: the browser playground. A thin yew front end over
//! `oomlab-core`: it turns user input into core calls and renders the plain
//! data core returns. Everything browser-specific is compiled only for wasm32,
//! so native builds of this crate stay dependency-free.
#![forbid(unsafe_code)]

pub mod ab;
pub mod explorer;
pub mod form;
pub mod game;
pub mod state;
pub mod stepper;
pub mod view;
pub mod wire;

#[cfg(target_arch = "wasm32")]
mod app;
#[cfg(target_arch = "wasm32")]
mod components;
#[cfg(target_arch = "wasm32")]
mod panic;

#[cfg(target_arch = "wasm32")]
pub use entry::run;

#[cfg(target_arch = "wasm32")]
mod entry {
    use wasm_bindgen::prelude::*;

    /// Mounts the playground into the page. Called explicitly by index.html
    /// rather than through `#[wasm_bindgen(start)]`, so that Web Workers can
    /// later load the same module without trying to render into a document
    /// they do not have.
    ///
    /// Panics: `Renderer::render` installs `console_error_panic_hook` unless
    /// `yew::set_custom_panic_hook` was called first, so a panic already
    /// reaches the console with its message and location.
    /// Panics on purpose, so the end-to-end tests can check that a panic
    /// becomes the error panel (with the permalink and "copy bug report").
    #[wasm_bindgen]
    pub fn self_test_panic() {
        panic!("self-test panic requested by the page");
    }

    #[wasm_bindgen]
    pub fn run() {
        yew::set_custom_panic_hook(Box::new(crate::panic::show));
        yew::Renderer::<crate::app::App>::new().render();
    }
}
