//! Display-only components: props in, `on*` callbacks out.

pub mod challenge;
pub mod compare;
pub mod editor;
pub mod explorer;
pub mod export;
pub mod form;
pub mod hexview;
pub mod memview;
pub mod presets;
pub mod rewind;
pub mod shrink;
pub mod stepview;
pub mod timeline;
pub mod traceview;
pub mod verdict;
pub mod waitgraph;

/// "4.13-rc", "btrfs": small helpers shared by components.
pub fn fmt_ns(ns: u64) -> String {
    oomlab_core::time::fmt_duration(ns)
}
