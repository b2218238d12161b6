//! Challenge mode: levels are winnable within their budget, the kernel alone
//! does not win them, a win is an ordinary replayable run, and bad
//! `[challenge]` sections are located errors.

use oomlab_core::challenge::{self, Game, LEVELS};
use oomlab_core::choice::{ChoiceKind, AUTO};
use oomlab_core::permalink::Permalink;
use oomlab_core::{parse_scenario, run};

fn play(g: &mut Game, answers: &[u32]) {
    for &a in answers {
        assert!(g.pending().is_some(), "the game ended before answer {a}");
        g.answer(a);
    }
}

#[test]
fn every_level_is_winnable_and_not_won_by_the_kernel_alone() {
    for l in LEVELS {
        let sc = parse_scenario(l.text).unwrap_or_else(|e| panic!("{}: {e:?}", l.id));
        let cfg = sc
            .scenario
            .challenge
            .clone()
            .expect("a level has [challenge]");
        // The kernel's own run does not reach the goal.
        let mut g = Game::new(&sc).unwrap();
        assert!(g.pending().is_some(), "{}: the player gets to decide", l.id);
        g.play_out();
        assert!(g.result().is_some());
        assert!(!g.won(), "{}: the kernel alone wins", l.id);
        assert_eq!(g.made(), 0);

        let sol = challenge::solve(&sc, 3000).unwrap_or_else(|| panic!("{}: no solution", l.id));
        let made = sol.iter().filter(|a| **a != AUTO).count() as u32;
        assert!(
            made >= 1 && made <= cfg.budget,
            "{}: {made} decisions",
            l.id
        );
        let mut g = Game::new(&sc).unwrap();
        play(&mut g, &sol);
        g.play_out();
        assert!(g.won(), "{}: the solution does not win when played", l.id);
        assert_eq!(g.made(), made);
        // The win is an ordinary run: its permalink replays it exactly.
        let r = g.result().unwrap().clone();
        let link = g.permalink().unwrap().encode();
        let p = Permalink::decode(&link).unwrap();
        let again = run(&p.scenario().unwrap(), p.source.clone());
        assert_eq!(again.trace_hash, r.trace_hash, "{}", l.id);
        assert_eq!(again.outcomes, r.outcomes);
    }
}

#[test]
fn options_are_labelled_and_undo_returns_to_the_same_decision() {
    let sc = parse_scenario(challenge::level("l1").unwrap().text).unwrap();
    let mut g = Game::new(&sc).unwrap();
    g.kernel_decides_until(ChoiceKind::SchedPick);
    let d = g.pending().expect("a runqueue pick").clone();
    assert_eq!(d.kind, ChoiceKind::SchedPick);
    assert!(d.options.len() >= 2);
    // A runqueue pick is labelled by the task it switches to, pid and comm.
    let labels: Vec<&str> = d.options.iter().map(|o| o.label.as_str()).collect();
    assert!(
        labels
            .iter()
            .all(|l| l.contains('/') && l.contains(" on cpu")),
        "{labels:?}"
    );
    assert!(
        labels.iter().any(|l| l.starts_with("oom_reaper/")),
        "{labels:?}"
    );
    assert_eq!(d.options.iter().filter(|o| o.kernel_pick).count(), 1);
    let before = g.answers().to_vec();
    g.answer(1);
    g.undo();
    assert_eq!(g.answers(), &before[..]);
    assert_eq!(g.pending(), Some(&d));
    // Same answers, same run.
    let mut a = Game::new(&sc).unwrap();
    let mut b = Game::new(&sc).unwrap();
    for x in [&mut a, &mut b] {
        play(x, &before);
        x.answer(0);
        x.play_out();
    }
    assert_eq!(
        a.result().unwrap().trace_hash,
        b.result().unwrap().trace_hash
    );
}

#[test]
fn bad_challenge_sections_are_located_errors() {
    let base = challenge::level("l1").unwrap().text;
    for (from, to, path) in [
        (
            "goal = [\"zeros_in_file\"]",
            "goal = [\"zeroes\"]",
            "challenge.goal",
        ),
        ("goal = [\"zeros_in_file\"]", "goal = []", "challenge.goal"),
        ("\"ipi_latency\"]", "\"ipi_landing\"]", "challenge.control"),
        ("budget = 5", "budget = 0", "challenge.budget"),
        (
            "after = \"oom_kill_process\"",
            "after = \" \"",
            "challenge.after",
        ),
    ] {
        assert!(base.contains(from), "{from}");
        let text = base.replace(from, to);
        let errs = parse_scenario(&text).unwrap_err();
        let e = errs
            .iter()
            .find(|e| e.path == path)
            .unwrap_or_else(|| panic!("{to}: {errs:?}"));
        let line = text
            .lines()
            .position(|l| l.starts_with(path.split('.').nth(1).unwrap()))
            .unwrap() as u32
            + 1;
        assert_eq!(e.line, Some(line), "{to}: {e:?}");
        assert!(e.column.is_some());
    }
    // An unknown key in the section is refused at its place.
    let text = base.replace("budget = 5", "budget = 5\ntimeout = 3");
    let errs = parse_scenario(&text).unwrap_err();
    let line = text.lines().position(|l| l.starts_with("timeout")).unwrap() as u32 + 1;
    assert_eq!(errs[0].line, Some(line), "{errs:?}");
    // Without [challenge] there is no game.
    let plain = oomlab_core::presets::find("r1").unwrap().load();
    assert!(Game::new(&plain).is_err());
}
