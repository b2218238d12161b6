//! Windows: checkpoints at a trigger, and explorations of what follows.
#![cfg(not(target_arch = "wasm32"))]

use oomlab_core::explore::Strategy;
use oomlab_core::window::{checkpoint, Trigger, Window, WindowExploration};
use oomlab_core::{presets, ChoiceSource, Outcome, Sim};

fn kill() -> Window {
    Window::parse("kill").unwrap()
}

#[test]
fn window_specs_parse_and_refuse() {
    assert_eq!(kill().trigger, Trigger::Kill);
    let w = Window::parse("reap:5ms").unwrap();
    assert_eq!((w.trigger, w.len_ns), (Trigger::Reap, Some(5_000_000)));
    assert_eq!(
        Window::parse("func=__oom_reap_task_mm").unwrap().trigger,
        Trigger::Func("__oom_reap_task_mm".into())
    );
    assert_eq!(
        Window::parse("time=300ms:1ms").unwrap(),
        Window {
            trigger: Trigger::Time(300_000_000),
            len_ns: Some(1_000_000)
        }
    );
    for bad in ["", "kil", "kill:0ms", "kill:5", "func=", "time=x"] {
        assert!(Window::parse(bad).is_err(), "{bad:?} accepted");
    }
}

/// A window run from a checkpoint and the same `ChoiceSource::Window`
/// replayed from scratch are the same run.
#[test]
fn a_window_run_replays_from_scratch() {
    let sc = presets::find("r1").unwrap().load();
    let mut compared = 0;
    for seed in 0..3 {
        let Some(cp) = checkpoint(&sc, seed, &kill()) else {
            continue;
        };
        assert!(cp.snapshot().t.0 > 0);
        for (reseed, devs) in [
            (Some(7), vec![]),
            (None, vec![(cp.recorded_choices().len() as u32 + 3, 1)]),
        ] {
            let mut a = cp.clone();
            a.enter_window(reseed, devs.clone());
            let ra = a.run_to_end(u64::MAX);
            let src = ChoiceSource::Window {
                seed,
                at: cp.recorded_choices().len() as u32,
                reseed,
                devs,
            };
            assert_eq!(ra.seed, seed);
            let rb = Sim::new(&sc, src).run_to_end(u64::MAX);
            assert_eq!(ra.trace_hash, rb.trace_hash, "seed {seed}");
            assert_eq!(ra.outcomes, rb.outcomes);
            compared += 1;
        }
    }
    assert!(compared > 0, "no prefix reached the kill");
}

/// Without a reseed or deviation, a window run is the prefix's own run.
#[test]
fn an_empty_window_is_the_prefix_run() {
    let sc = presets::find("r1").unwrap().load();
    let cp = checkpoint(&sc, 1, &kill()).expect("seed 1 kills");
    let mut a = cp.clone();
    a.enter_window(None, vec![]);
    let ra = a.run_to_end(u64::MAX);
    let rb = Sim::new(&sc, ChoiceSource::Seed(1)).run_to_end(u64::MAX);
    assert_eq!(ra.trace_hash, rb.trace_hash);
}

#[test]
fn sampling_in_a_window_is_deterministic_and_counts_per_prefix() {
    let sc = presets::find("r1").unwrap().load();
    let mut a = WindowExploration::new(&sc, kill(), Strategy::Random, 0, 3, 4);
    while a.run_chunk(5) > 0 {}
    let mut b = WindowExploration::new(&sc, kill(), Strategy::Random, 0, 3, 4);
    b.run_chunk(u64::MAX);
    assert_eq!(a.report(), b.report());
    let w = a.window_report();
    assert!(w.reached > 0);
    assert_eq!(a.report().runs, 4 * u64::from(w.reached));
    assert!(w.complete);
}

/// The race-window claim of R2 (`pre_pte`): no interleaving with one
/// deviation after the kill writes zeros.
#[test]
fn r2_exhaustive_window_completes_without_zeros() {
    let sc = presets::find("r2").unwrap().load();
    let ex = Strategy::Exhaustive {
        bound: 1,
        window: u32::MAX,
    };
    let mut e = WindowExploration::new(&sc, Window::parse("kill:2ms").unwrap(), ex, 0, 1, 100_000);
    e.run_chunk(u64::MAX);
    let w = e.window_report();
    assert_eq!(w.reached, 1);
    assert!(w.complete, "the search covers its bound");
    let r = e.report();
    assert!(r.runs > 1, "the prefix's run and its neighbours");
    assert_eq!(r.histogram.get(Outcome::ZerosInFile.code()), None, "{r:?}");
    // Cut one run short, the same search is not complete.
    let mut cut = WindowExploration::new(
        &sc,
        Window::parse("kill:2ms").unwrap(),
        ex,
        0,
        1,
        r.runs - 1,
    );
    cut.run_chunk(u64::MAX);
    assert!(!cut.window_report().complete);
}

/// Rewind on R1's first corrupting run: the outcome is all but certain at
/// the last checkpoint before the symptom, and the curve starts at t = 0.
#[test]
fn rewind_finds_r1_decided_before_its_symptom() {
    use oomlab_core::rewind::{rewind, wilson};
    let sc = presets::find("r1").unwrap().load();
    let seed = (0..20)
        .find(|&s| {
            Sim::new(&sc, ChoiceSource::Seed(s))
                .run_to_end(u64::MAX)
                .has(Outcome::ZerosInFile)
        })
        .expect("a corrupting R1 seed");
    let rw = rewind(&sc, &ChoiceSource::Seed(seed), 4, 6).unwrap();
    assert_eq!(rw.outcome, "zeros_in_file");
    assert_eq!(rw.points.len(), 4);
    assert_eq!(rw.points[0].t_ns, 0);
    assert!(rw.points.windows(2).all(|w| w[0].t_ns <= w[1].t_ns));
    let last = rw.points.last().unwrap();
    assert!(last.p >= 0.9, "{:?}", rw.points);
    assert!(last.low <= last.p && last.p <= last.high);
    let (lo, hi) = wilson(3, 6);
    assert!(lo < 0.5 && hi > 0.5 && lo > 0.1 && hi < 0.9);
    // A correct run has nothing to rewind to.
    let ok = (0..20)
        .find(|&s| {
            !Sim::new(&sc, ChoiceSource::Seed(s))
                .run_to_end(u64::MAX)
                .outcomes
                .iter()
                .any(|o| o.severity() > 0)
        })
        .expect("a correct R1 seed");
    assert!(rewind(&sc, &ChoiceSource::Seed(ok), 4, 2).is_err());
}

/// A rewind split point by point, in any order and over several
/// `Rewinder`s (as threads or Web Workers take them), gives the points of
/// one `rewind`, and the records and threads of its point of no return.
#[test]
fn rewind_points_do_not_depend_on_how_they_are_split() {
    use oomlab_core::rewind::{point_of_no_return, rewind, Rewinder};
    let sc = presets::find("r1").unwrap().load();
    let seed = (0..20)
        .find(|&s| {
            Sim::new(&sc, ChoiceSource::Seed(s))
                .run_to_end(u64::MAX)
                .has(Outcome::ZerosInFile)
        })
        .expect("a corrupting R1 seed");
    let src = ChoiceSource::Seed(seed);
    let whole = rewind(&sc, &src, 5, 3).unwrap();
    // Two workers, taking points alternately, one of them backwards (so it
    // replays from the start for every point).
    let mut a = Rewinder::new(&sc, &src, 5).unwrap();
    let mut b = Rewinder::new(&sc, &src, 5).unwrap();
    assert_eq!(a.outcome().code(), whole.outcome);
    let mut got: Vec<_> = (0..5u32)
        .rev()
        .map(|i| {
            if i % 2 == 0 {
                (i, a.point(i, 3))
            } else {
                (i, b.point(i, 3))
            }
        })
        .collect();
    got.sort_by_key(|g| g.0);
    let points: Vec<_> = got.iter().map(|g| g.1.point.clone()).collect();
    assert_eq!(points, whole.points);
    let nr = whole.point_of_no_return.as_ref();
    assert_eq!(
        point_of_no_return(&points).map(|i| points[i].t_ns),
        nr.map(|n| n.t_ns)
    );
    // R1's first corrupting run is decided before its symptom, so the
    // records and threads at the point of no return are compared.
    let (Some(i), Some(nr)) = (point_of_no_return(&points), nr) else {
        panic!("no point of no return: {points:?}");
    };
    {
        let at = &got[i].1;
        assert_eq!(at.records.len(), nr.records.len());
        assert!(at
            .records
            .iter()
            .zip(&nr.records)
            .all(|(x, y)| x.to_line() == y.to_line()));
        assert_eq!(
            at.threads.iter().map(|t| t.pid).collect::<Vec<_>>(),
            nr.threads.iter().map(|t| t.pid).collect::<Vec<_>>()
        );
    }
    // Every point's hits are counts of its samples.
    assert!(points.iter().all(|p| p.samples == 3 && p.hits <= 3));
}
