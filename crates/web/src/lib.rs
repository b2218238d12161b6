//! oomlab-web: the browser playground. A thin yew front end over
//! `oomlab-core`: it turns user input into core calls and renders the plain
//! data core returns. Everything browser-specific is compiled only for wasm32,
//! so native builds of this crate stay dependency-free.
#![forbid(unsafe_code)]

pub mod ab;
pub mod explorer;
pub mod form;
pub mod game;
pub mod outcomes;
pub mod rewind;
pub mod state;
pub mod stepper;
pub mod view;
pub mod wire;

#[cfg(target_arch = "wasm32")]
mod app;
#[cfg(target_arch = "wasm32")]
mod components;
#[cfg(target_arch = "wasm32")]
mod hooks;
#[cfg(target_arch = "wasm32")]
mod panic;
#[cfg(target_arch = "wasm32")]
mod workers;

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

    fn seed(s: &str) -> Result<u64, JsValue> {
        s.parse()
            .map_err(|_| JsValue::from_str(&format!("bad seed `{s}`")))
    }

    /// Worker entry (static/worker.js): runs `start..end` of a sampling
    /// exploration and returns its report as wire text.
    #[wasm_bindgen]
    pub fn worker_explore(
        text: &str,
        strategy: &str,
        base_seed: &str,
        start: f64,
        end: f64,
    ) -> Result<String, JsValue> {
        crate::explorer::run_piece(text, strategy, seed(base_seed)?, start as u64, end as u64)
            .map_err(|e| JsValue::from_str(&e))
    }

    /// Worker entry (static/worker.js): explores prefixes `start..end` of a
    /// window exploration; returns its report and window report as wire text.
    #[wasm_bindgen]
    #[allow(clippy::too_many_arguments)]
    pub fn worker_window(
        text: &str,
        strategy: &str,
        base_seed: &str,
        spec: &str,
        prefixes: f64,
        runs: f64,
        bound: f64,
        start: f64,
        end: f64,
    ) -> Result<String, JsValue> {
        crate::explorer::run_window_piece(
            text,
            strategy,
            seed(base_seed)?,
            spec,
            prefixes as u32,
            runs as u64,
            bound as u32,
            start as u32,
            end as u32,
        )
        .map_err(|e| JsValue::from_str(&e))
    }

    /// Worker entry: point `index` of a rewind of the run of `source`
    /// (`points` checkpoints, `samples` suffixes each), as wire text.
    #[wasm_bindgen]
    pub fn worker_rewind(
        text: &str,
        source: &str,
        points: f64,
        samples: f64,
        index: f64,
    ) -> Result<String, JsValue> {
        crate::rewind::run_point(text, source, points as u32, samples as u32, index as u32)
            .map_err(|e| JsValue::from_str(&e))
    }

    /// Worker entry: `n` more runs of an exhaustive search; returns
    /// "DONE FINISHED" on the first line, then the report.
    #[wasm_bindgen]
    pub fn worker_exhaustive(
        text: &str,
        base_seed: &str,
        total: f64,
        n: f64,
    ) -> Result<String, JsValue> {
        let (r, done, fin) =
            crate::explorer::exhaustive_chunk(text, seed(base_seed)?, total as u64, n as u64)
                .map_err(|e| JsValue::from_str(&e))?;
        Ok(format!("{done} {fin}\n{r}"))
    }

    /// Worker entry: shrinks a run; `progress(runs)` is called after every
    /// test run. Returns the result as wire text.
    #[wasm_bindgen]
    pub fn worker_shrink(
        text: &str,
        source: &str,
        target: &str,
        max_runs: f64,
        progress: &js_sys::Function,
    ) -> Result<String, JsValue> {
        let src = crate::wire::source_from_text(source).map_err(|e| JsValue::from_str(&e))?;
        let mut cb = |n: u64| {
            let _ = progress.call1(&JsValue::NULL, &JsValue::from_f64(n as f64));
        };
        crate::wire::ShrinkReply::compute(text, &src, target, max_runs as u64, &mut cb)
            .map(|r| r.to_text())
            .map_err(|e| JsValue::from_str(&e))
    }

    /// A winning answer list for a built-in level, from core's solver:
    /// answers separated by commas, `auto` where the kernel decides. The
    /// end-to-end tests play it through the challenge panel.
    #[wasm_bindgen]
    pub fn challenge_solution(level: &str) -> Result<String, JsValue> {
        let (_, sc) = crate::game::level_scenario(level).map_err(|e| JsValue::from_str(&e))?;
        let sol = oomlab_core::challenge::solve(&sc, 3000)
            .ok_or_else(|| JsValue::from_str("no solution found within 3000 runs"))?;
        Ok(sol
            .iter()
            .map(|a| {
                if *a == oomlab_core::choice::AUTO {
                    "auto".to_string()
                } else {
                    a.to_string()
                }
            })
            .collect::<Vec<_>>()
            .join(","))
    }

    #[wasm_bindgen]
    pub fn run() {
        yew::set_custom_panic_hook(Box::new(crate::panic::show));
        yew::Renderer::<crate::app::App>::new().render();
    }
}
