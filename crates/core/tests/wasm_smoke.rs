//! Proves the core links and runs as wasm32 inside a real browser, the same
//! environment the playground uses.
#![cfg(target_arch = "wasm32")]

use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen_test]
fn model_version_is_set() {
    assert_ne!(oomlab_core::MODEL_VERSION, 0);
}
