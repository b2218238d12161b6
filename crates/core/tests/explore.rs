//! The explorer, the shrinker, verdict queries and permalinks.
#![cfg(not(target_arch = "wasm32"))]

use oomlab_core::explore::{merge, Exploration, Strategy, Verdict};
use oomlab_core::permalink::{Permalink, PermalinkError};
use oomlab_core::shrink::shrink;
use oomlab_core::{parse_scenario, presets, run, ChoiceSource, Outcome};
use proptest::prelude::*;
use std::path::PathBuf;

#[test]
fn exploration_is_deterministic_whatever_the_chunking() {
    let sc = presets::find("r1").unwrap().load();
    let mut a = Exploration::new(&sc, Strategy::Random, 0, 24);
    while a.run_chunk(7) > 0 {}
    let mut b = Exploration::new(&sc, Strategy::Random, 0, 24);
    b.run_chunk(1000);
    assert_eq!(a.report(), b.report());
    assert_eq!(a.report().runs, 24);
    assert!(
        a.report()
            .histogram
            .get("zeros_in_file")
            .copied()
            .unwrap_or(0)
            > 0
    );
    assert!(!a.report().buckets.is_empty());
    assert!(a
        .report()
        .buckets
        .iter()
        .all(|b| b.signature.starts_with("zeros_in_file")));
}

#[test]
fn shards_merge_into_one_exploration() {
    let sc = presets::find("r1").unwrap().load();
    let mut whole = Exploration::new(&sc, Strategy::Random, 3, 20);
    whole.run_chunk(u64::MAX);
    let parts: Vec<_> = (0..3)
        .map(|i| {
            let mut e = Exploration::shard(&sc, Strategy::Random, 3, 20, i, 3);
            e.run_chunk(u64::MAX);
            e.report()
        })
        .collect();
    assert_eq!(merge(&parts), whole.report());
}

#[test]
fn pct_and_exhaustive_run() {
    let text = std::fs::read_to_string(
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/golden/small.toml"),
    )
    .unwrap();
    let sc = parse_scenario(&text).unwrap();
    let mut p = Exploration::new(&sc, Strategy::Pct { depth: 2 }, 0, 10);
    p.run_chunk(u64::MAX);
    assert_eq!(p.report().runs, 10);
    let mut e = Exploration::new(
        &sc,
        Strategy::Exhaustive {
            bound: 1,
            window: 6,
        },
        0,
        10_000,
    );
    e.run_chunk(u64::MAX);
    assert!(e.is_finished());
    assert_eq!(e.search_complete(), Some(true));
    let r = e.report();
    assert!(
        r.runs > 1 && r.runs < 10_000,
        "the default run plus its one-deviation neighbours"
    );
    assert!(r.distinct_states >= 1);
    // The same search cut at one run fewer is not complete.
    let exhaustive = Strategy::Exhaustive {
        bound: 1,
        window: 6,
    };
    let mut cut = Exploration::new(&sc, exhaustive, 0, r.runs - 1);
    cut.run_chunk(u64::MAX);
    assert!(cut.is_finished());
    assert_eq!(cut.search_complete(), Some(false));
    assert_eq!(p.search_complete(), None, "sampling has no end to reach");
}

#[test]
fn verdicts_follow_expect() {
    let sc = presets::find("r2").unwrap().load();
    let mut e = Exploration::new(&sc, Strategy::Random, 0, 12);
    e.run_chunk(u64::MAX);
    let v = e.verdicts();
    let z = v.iter().find(|l| l.outcome == "zeros_in_file").unwrap();
    assert_eq!(z.verdict, Verdict::Never);
    assert_eq!(z.expected, Some(Verdict::Never));
    assert!(z.holds);
    let f = v.iter().find(|l| l.outcome == "fix_engaged").unwrap();
    assert!(f.holds && f.hits > 0);
}

#[test]
fn shrinking_keeps_the_outcome_and_critical_choices_are_critical() {
    let sc = presets::find("r1").unwrap().load();
    // The first corrupting seed whose shrink reaches a 1-minimal run within a
    // small budget (one whose smaller-thread scenario needs more test runs is
    // left unverified, and says so); every shrink keeps the outcome.
    let mut found = None;
    for seed in (0..50).filter(|s| run(&sc, ChoiceSource::Seed(*s)).has(Outcome::ZerosInFile)) {
        let s = shrink(
            &sc,
            &ChoiceSource::Seed(seed),
            Outcome::ZerosInFile,
            300,
            &mut |_| {},
        )
        .expect("the run corrupts");
        assert!(s.result.has(Outcome::ZerosInFile));
        if s.minimal {
            found = Some((seed, s));
            break;
        }
        assert!(
            s.critical.is_empty(),
            "critical choices of an unverified shrink"
        );
    }
    let (seed, s) = found.expect("a corrupting seed shrinks to a minimal run");
    assert!(s.result.has(Outcome::ZerosInFile));
    let ChoiceSource::Deviations { devs, .. } = &s.source else {
        panic!()
    };
    assert!((devs.len() as u64) <= s.original_deviations);
    assert!(s.result.steps <= s.original_steps * 2);
    for c in &s.critical {
        let without: Vec<(u32, u32)> = devs.iter().copied().filter(|d| d.0 != c.index).collect();
        let r = run(
            &sc,
            ChoiceSource::Deviations {
                seed,
                devs: without,
            },
        );
        assert!(
            !r.has(Outcome::ZerosInFile),
            "removing critical choice {} kept the outcome",
            c.index
        );
    }
    // Replaying the shrunk source on the shrunk scenario reproduces it exactly.
    let again = run(&s.scenario, s.source.clone());
    assert_eq!(again.trace_hash, s.result.trace_hash);
}

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/permalinks")
}

#[test]
fn permalink_fixtures_decode_forever() {
    let dir = fixtures();
    if std::env::var_os("OOMLAB_BLESS").is_some() {
        std::fs::create_dir_all(&dir).unwrap();
        let sc = presets::find("r1").unwrap().load();
        std::fs::write(
            dir.join(format!("model{}-r1-seed3.txt", oomlab_core::MODEL_VERSION)),
            Permalink::new(&sc, ChoiceSource::Seed(3)).encode(),
        )
        .unwrap();
        let sc = presets::find("r2").unwrap().load();
        std::fs::write(
            dir.join(format!(
                "model{}-r2-deviations.txt",
                oomlab_core::MODEL_VERSION
            )),
            Permalink::new(
                &sc,
                ChoiceSource::Deviations {
                    seed: 1,
                    devs: vec![(2, 1), (40, 3)],
                },
            )
            .encode(),
        )
        .unwrap();
    }
    let (mut n, mut older) = (0, 0);
    for e in std::fs::read_dir(&dir).unwrap() {
        let path = e.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        let p = Permalink::decode(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let sc = p.scenario().unwrap();
        if p.is_current_model() {
            let r = run(&sc, p.source.clone());
            assert!(!r.outcomes.is_empty());
        } else {
            assert!(p.model_version < oomlab_core::MODEL_VERSION);
            older += 1;
        }
        n += 1;
    }
    assert!(n >= 2);
    // Links made by model 1 still decode to their scenario and say which
    // model made them.
    assert!(older >= 1, "a fixture from an older model");
}

#[test]
fn permalink_errors_are_typed() {
    let sc = presets::find("r3").unwrap().load();
    let good = Permalink::new(&sc, ChoiceSource::Seed(1)).encode();
    assert!(matches!(
        Permalink::decode(&good[..good.len() / 2]),
        Err(PermalinkError::Truncated(_))
    ));
    assert!(matches!(
        Permalink::decode("https://example.org/#v2.AAAA"),
        Err(PermalinkError::UnknownFormat(_))
    ));
    // Another model version decodes and says so.
    let mut old = Permalink::new(&sc, ChoiceSource::Seed(1));
    old.model_version = 0;
    let d = Permalink::decode(&old.encode()).unwrap();
    assert!(!d.is_current_model());
    // A scenario edited without updating the hash is refused.
    let mut edited = Permalink::new(&sc, ChoiceSource::Seed(1));
    edited.scenario_text.push_str("\n# edited\n");
    let enc = edited.encode();
    let p = Permalink::decode(&enc).unwrap();
    assert_eq!(
        p.scenario_text, edited.scenario_text,
        "the hash is recomputed on encode"
    );
    let huge = format!("v1.{}", "A".repeat(3 << 20));
    assert_eq!(Permalink::decode(&huge), Err(PermalinkError::TooLarge));
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, .. ProptestConfig::default() })]
    #[test]
    fn decoder_never_panics(s in ".{0,300}") {
        let _ = Permalink::decode(&s);
        let _ = Permalink::decode(&format!("v1.{s}"));
    }

    #[test]
    fn decoder_never_panics_on_damaged_links(cut in 0usize..2000, flip in 0usize..2000, c in prop::sample::select(vec!['A', '-', '_', '0', 'z'])) {
        let sc = presets::find("r1").unwrap().load();
        let good = Permalink::new(&sc, ChoiceSource::Seed(9)).encode();
        let mut s: Vec<char> = good.chars().collect();
        let i = flip % s.len();
        s[i] = c;
        let s: String = s.into_iter().collect();
        let _ = Permalink::decode(&s[..cut.min(s.len())]);
        let _ = Permalink::decode(&s);
    }
}
