//! A/B comparison of two runs: one scenario with some toggles flipped, the
//! same recorded choice list replayed on both sides, and where the two runs
//! part.
//!
//! Overrides are `path=value` strings (`kernel.unstable_check=pre_pte`), the
//! form a permalink's `compare` lines carry. They are applied to the scenario
//! as data and the result is validated again, so a bad override is an ordinary
//! scenario error with its path.
//!
//! Not done: aligning the two traces after they diverge (the records that
//! follow the first difference are not matched up), or comparing runs of
//! different scenarios beyond their overrides.

use crate::scenario::schema::{self, Spans};
use crate::scenario::toml::{self, Val};
use crate::scenario::{validate, ScenarioError, ValidScenario};
use crate::trace::TraceRecord;

/// `sc` with each `path=value` override applied.
pub fn apply_overrides(
    sc: &ValidScenario,
    overrides: &[String],
) -> Result<ValidScenario, Vec<ScenarioError>> {
    let err = |path: &str, message: String| {
        vec![ScenarioError {
            path: path.to_string(),
            line: None,
            column: None,
            message,
        }]
    };
    // On the canonical text's tree, then read like any scenario text.
    let mut root = toml::parse(&sc.scenario.to_canonical_toml())
        .map_err(|(_, m)| err("", format!("the scenario does not parse back: {m}")))?;
    for o in overrides {
        let Some((path, value)) = o.split_once('=') else {
            return Err(err(o, "an override is `path=value`".into()));
        };
        let (path, value) = (path.trim(), value.trim());
        let keys: Vec<&str> = path.split('.').collect();
        if keys.iter().any(|k| k.is_empty()) {
            return Err(err(path, "empty key in the path".into()));
        }
        // Integers and booleans as such; anything else as a string.
        let val = match value {
            "true" => Val::Bool(true),
            "false" => Val::Bool(false),
            _ => match value.parse::<i64>() {
                Ok(i) => Val::Int(i),
                Err(_) => Val::Str(value.trim_matches('"').to_string()),
            },
        };
        toml::set(&mut root, &keys, val).map_err(|m| err(path, m))?;
    }
    let s =
        schema::read_scenario(&root, &mut Spans::new(None)).map_err(|e| err(&e.path, e.message))?;
    validate(s, None)
}

/// Index (`TraceRecord::idx`) of the first record where two traces differ, or
/// None when one is a prefix of the other and both have the same length.
/// Records are compared by their text form, which is what the trace hash
/// covers.
pub fn first_divergence(a: &[TraceRecord], b: &[TraceRecord]) -> Option<u64> {
    let mut line_a = String::new();
    let mut line_b = String::new();
    for (x, y) in a.iter().zip(b) {
        if x.idx != y.idx || x.t != y.t || x.cpu != y.cpu || x.pid != y.pid || x.func != y.func {
            return Some(x.idx.min(y.idx));
        }
        line_a.clear();
        line_b.clear();
        let _ = x.write_line(&mut line_a);
        let _ = y.write_line(&mut line_b);
        if line_a != line_b {
            return Some(x.idx);
        }
    }
    match a.len().cmp(&b.len()) {
        std::cmp::Ordering::Equal => None,
        std::cmp::Ordering::Less => Some(b[a.len()].idx),
        std::cmp::Ordering::Greater => Some(a[b.len()].idx),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ChoiceSource;

    #[test]
    fn overrides_apply_and_bad_ones_are_errors() {
        let sc = crate::presets::find("r1").unwrap().load();
        let b = apply_overrides(
            &sc,
            &[
                "kernel.unstable_check=pre_pte".into(),
                "kernel.reaper=false".into(),
            ],
        )
        .unwrap();
        assert_eq!(
            b.toggles.unstable_check,
            crate::scenario::UnstableCheck::PrePte
        );
        assert!(!b.toggles.reaper);
        assert_eq!(b.scenario.machine, sc.scenario.machine);
        let e = apply_overrides(&sc, &["kernel.unstable_check=sometimes".into()]).unwrap_err();
        assert!(!e.is_empty());
        assert!(apply_overrides(&sc, &["no_equals_sign".into()]).is_err());
        let e = apply_overrides(&sc, &["machine.cpus=0".into()]).unwrap_err();
        assert_eq!(e[0].path, "machine.cpus");
    }

    #[test]
    fn identical_runs_do_not_diverge_and_a_flipped_toggle_does() {
        let sc = crate::presets::find("r1").unwrap().load();
        let mut a = crate::Sim::new(&sc, ChoiceSource::Seed(3));
        a.run_to_end(u64::MAX);
        let mut a2 = crate::Sim::new(&sc, ChoiceSource::Seed(3));
        a2.run_to_end(u64::MAX);
        assert_eq!(first_divergence(a.trace(), a2.trace()), None);
        // A prefix is a divergence at the first extra record.
        let n = a.trace().len() / 2;
        assert_eq!(
            first_divergence(&a.trace()[..n], a.trace()),
            Some(a.trace()[n].idx)
        );
        // The same choices with the reaper off: identical until the reaper
        // would have been woken, then apart.
        let choices = a.recorded_choices().iter().map(|c| c.value).collect();
        let b_sc = apply_overrides(&sc, &["kernel.reaper=false".into()]).unwrap();
        let mut b = crate::Sim::new(&b_sc, ChoiceSource::Replay { seed: 3, choices });
        b.run_to_end(u64::MAX);
        let d = first_divergence(a.trace(), b.trace()).expect("the runs differ");
        let i = d as usize;
        assert_eq!(a.trace()[..i], b.trace()[..i]);
        assert_ne!(a.trace().get(i), b.trace().get(i));
    }
}
