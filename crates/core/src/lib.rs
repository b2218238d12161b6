//! oomlab-core: a deterministic model of the Linux OOM killer, the OOM reaper,
//! and a writer thread that is still running. Pure Rust: no I/O, no clock.
//!
//! Start with [`scenario::parse_scenario`], then [`Sim::new`] and
//! [`Sim::run_to_end`]; or [`run`] for both.
#![forbid(unsafe_code)]

pub mod challenge;
pub mod choice;
pub mod compare;
mod costs;
mod eventq;
pub mod explore;
pub mod export;
pub mod fs;
pub mod hexdump;
pub mod ids;
pub mod json;
pub mod kernel;
pub mod locking;
pub mod mm;
pub mod outcome;
pub mod permalink;
pub mod presets;
pub mod program;
pub mod rewind;
pub mod rng;
pub mod scenario;
pub mod shrink;
pub mod sim;
pub mod snapshot;
pub mod time;
pub mod trace;
pub mod window;

pub use choice::{Choice, ChoiceKind, ChoiceSource};
pub use outcome::{Outcome, RunResult};
pub use scenario::{parse_scenario, Scenario, ScenarioError, ValidScenario};
pub use sim::Sim;

/// Bumped whenever a change alters any trace for an unchanged (scenario, seed, choices).
pub const MODEL_VERSION: u32 = 4;

/// Runs a scenario to its end with the given choices.
pub fn run(sc: &ValidScenario, source: ChoiceSource) -> RunResult {
    let mut sim = Sim::new(sc, source);
    sim.run_to_end(u64::MAX)
}
