//! oomlab-core: the whole model. Pure Rust, no I/O, no clock.
#![forbid(unsafe_code)]

/// Bumped whenever a change alters any trace for an unchanged (scenario, seed, choices).
pub const MODEL_VERSION: u32 = 1;
