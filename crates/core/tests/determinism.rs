//! The same (scenario, seed) gives an identical trace; replaying the recorded
//! choices gives an identical trace too; and a changed choice changes the run.
#![cfg(not(target_arch = "wasm32"))]

use oomlab_core::{presets, trace::trace_text, ChoiceSource, Sim};

fn run_trace(id: &str, src: ChoiceSource) -> (String, Vec<u32>, u64) {
    let sc = presets::find(id).unwrap().load();
    let mut sim = Sim::new(&sc, src);
    let r = sim.run_to_end(u64::MAX);
    let choices = sim.recorded_choices().iter().map(|c| c.value).collect();
    (trace_text(sim.trace()), choices, r.trace_hash)
}

#[test]
fn same_seed_same_trace() {
    for id in ["r1", "r3"] {
        let a = run_trace(id, ChoiceSource::Seed(5));
        let b = run_trace(id, ChoiceSource::Seed(5));
        assert_eq!(a.2, b.2);
        assert!(a.0 == b.0, "{id}: traces differ");
    }
}

#[test]
fn replay_of_recorded_choices_is_identical() {
    let (t, choices, h) = run_trace("r1", ChoiceSource::Seed(11));
    // Replayed under a different seed: every decision must come from the list.
    let (t2, choices2, h2) = run_trace(
        "r1",
        ChoiceSource::Replay {
            seed: 11,
            choices: choices.clone(),
        },
    );
    assert_eq!(h, h2);
    assert!(t == t2);
    assert_eq!(choices, choices2);
}

#[test]
fn different_seeds_differ() {
    let a = run_trace("r1", ChoiceSource::Seed(1));
    let b = run_trace("r1", ChoiceSource::Seed(2));
    assert_ne!(a.2, b.2);
}

#[test]
fn trace_hash_covers_the_text() {
    let (t, _, h) = run_trace("r3", ChoiceSource::Seed(3));
    assert_eq!(oomlab_core::rng::fnv1a64(t.as_bytes()), h);
}

/// A run that keeps no trace text (an exploration's) is the same run: the
/// same result, the same trace hash, and the same records but for their text.
#[test]
fn dropping_the_trace_text_changes_nothing_but_the_text() {
    for id in ["r1", "r2", "r3", "r4", "r5", "r6", "r7", "r8"] {
        let sc = presets::find(id).unwrap().load();
        for seed in [0, 3] {
            let mut seen = Sim::new(&sc, ChoiceSource::Seed(seed));
            let mut unseen = Sim::new(&sc, ChoiceSource::Seed(seed));
            unseen.drop_trace_text();
            assert!(seen.keeps_trace_text() && !unseen.keeps_trace_text());
            let (a, b) = (seen.run_to_end(u64::MAX), unseen.run_to_end(u64::MAX));
            assert_eq!(
                serde_json::to_string(&a).unwrap(),
                serde_json::to_string(&b).unwrap(),
                "{id} seed {seed}"
            );
            assert_eq!(a.trace_hash, b.trace_hash);
            assert_eq!(seen.trace().len(), unseen.trace().len());
            if let Some(r) = unseen
                .trace()
                .iter()
                .find(|r| !r.msg.is_empty() || !r.comm.is_empty())
            {
                panic!("{id} {seed} {r:?}");
            }
            assert!(seen.trace().iter().any(|r| !r.msg.is_empty()));
            for (x, y) in seen.trace().iter().zip(unseen.trace()) {
                assert_eq!(
                    (x.idx, x.t, x.cpu, x.pid, x.func, x.kind),
                    (y.idx, y.t, y.cpu, y.pid, y.func, y.kind)
                );
            }
        }
    }
}

/// A checkpoint that forgets its trace (as rewind's do) still names the
/// evidence's own record: its bad ranges, times included, equal the whole
/// run's.
#[test]
fn a_forgotten_trace_keeps_the_evidence_times() {
    let sc = presets::find("r1").unwrap().load();
    let mut whole = Sim::new(&sc, ChoiceSource::Seed(3));
    let mut cp = whole.clone();
    // Forget the trace well before the kill, as a rewind point would.
    while cp.now().0 < 1_000_000_000 && cp.step() {}
    cp.forget_trace();
    let a = whole.run_to_end(u64::MAX);
    let b = cp.run_to_end(u64::MAX);
    let bad = |r: &oomlab_core::RunResult| -> Vec<(u64, u64)> {
        r.files
            .iter()
            .flat_map(|f| f.bad.iter().map(|b| (b.event, b.t.0)))
            .collect()
    };
    assert!(!bad(&a).is_empty(), "R1 seed 3 writes zeros");
    assert!(cp.trace()[0].idx > 0, "the checkpoint forgot records");
    assert_eq!(bad(&a), bad(&b));
}
