//! Built-in scenarios (kernel.md §7). Each is an ordinary scenario file; nothing in
//! the engine knows about any of them.

//!
//! Next to each preset's text is the seed it is shown with first, and the
//! outcome its story is about; both were found by running the model, and
//! `tests/presets.rs` checks that the seed still reaches that outcome. They
//! are metadata of the preset list, not part of the scenario, so the
//! scenario text (and every permalink made from it) is unchanged.

use crate::outcome::Outcome;
use crate::scenario::{parse_scenario, ValidScenario};

pub struct Preset {
    pub id: &'static str,
    pub text: &'static str,
    /// The seed a front end opens the preset on: one whose run shows `story`.
    pub showcase_seed: u64,
    /// The outcome the preset's story names (`correct` for presets whose
    /// story is that nothing goes wrong).
    pub story_outcome: Outcome,
}

pub static PRESETS: &[Preset] = &[
    Preset {
        id: "r1",
        text: include_str!("r1.toml"),
        showcase_seed: 3,
        story_outcome: Outcome::ZerosInFile,
    },
    Preset {
        id: "r2",
        text: include_str!("r2.toml"),
        showcase_seed: 1,
        story_outcome: Outcome::FixEngaged,
    },
    Preset {
        id: "r3",
        text: include_str!("r3.toml"),
        showcase_seed: 1,
        story_outcome: Outcome::Correct,
    },
    Preset {
        id: "r4",
        text: include_str!("r4.toml"),
        showcase_seed: 6,
        story_outcome: Outcome::ZerosInFile,
    },
    Preset {
        id: "r5",
        text: include_str!("r5.toml"),
        showcase_seed: 1,
        story_outcome: Outcome::StaleBeyondIsize,
    },
    Preset {
        id: "r5-nocrash",
        text: include_str!("r5-nocrash.toml"),
        showcase_seed: 1,
        story_outcome: Outcome::Correct,
    },
    Preset {
        id: "r6",
        text: include_str!("r6.toml"),
        showcase_seed: 1,
        story_outcome: Outcome::Overkill,
    },
    Preset {
        id: "r7",
        text: include_str!("r7.toml"),
        showcase_seed: 3,
        story_outcome: Outcome::ReaperGaveUp,
    },
    Preset {
        id: "r7-reaper-off",
        text: include_str!("r7-reaper-off.toml"),
        showcase_seed: 3,
        story_outcome: Outcome::OomHang,
    },
    Preset {
        id: "r8",
        text: include_str!("r8.toml"),
        showcase_seed: 1,
        story_outcome: Outcome::FixEngaged,
    },
];

pub fn find(id: &str) -> Option<&'static Preset> {
    PRESETS.iter().find(|p| p.id.eq_ignore_ascii_case(id))
}

impl Preset {
    pub fn load(&self) -> ValidScenario {
        parse_scenario(self.text)
            .unwrap_or_else(|e| panic!("preset {} is invalid: {:?}", self.id, e))
    }
}
