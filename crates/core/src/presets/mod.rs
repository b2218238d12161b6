//! Built-in scenarios (kernel.md §7). Each is an ordinary scenario file; nothing in
//! the engine knows about any of them.

use crate::scenario::{parse_scenario, ValidScenario};

pub struct Preset {
    pub id: &'static str,
    pub text: &'static str,
}

pub static PRESETS: &[Preset] = &[
    Preset {
        id: "r1",
        text: include_str!("r1.toml"),
    },
    Preset {
        id: "r2",
        text: include_str!("r2.toml"),
    },
    Preset {
        id: "r3",
        text: include_str!("r3.toml"),
    },
    Preset {
        id: "r4",
        text: include_str!("r4.toml"),
    },
    Preset {
        id: "r5",
        text: include_str!("r5.toml"),
    },
    Preset {
        id: "r5-nocrash",
        text: include_str!("r5-nocrash.toml"),
    },
    Preset {
        id: "r6",
        text: include_str!("r6.toml"),
    },
    Preset {
        id: "r7",
        text: include_str!("r7.toml"),
    },
    Preset {
        id: "r7-reaper-off",
        text: include_str!("r7-reaper-off.toml"),
    },
    Preset {
        id: "r8",
        text: include_str!("r8.toml"),
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
