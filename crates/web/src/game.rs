//! Challenge mode as the page shows it: a plain snapshot of core's
//! `challenge::Game` (the goal, the decision waiting, the CPUs and tasks at
//! that point, the last trace lines, and the result once the run has ended).
//! The game itself lives at the edge (it holds simulator checkpoints); the
//! reducer only keeps these snapshots. Target independent, tested natively.

use oomlab_core::challenge::{Decision, Game, LEVELS};
use oomlab_core::choice::ChoiceKind;
use oomlab_core::sim::{CpuSnap, TaskSnap};
use oomlab_core::{parse_scenario, ValidScenario};

/// A command the edge runs on the game.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GameCmd {
    /// Load a level (by id, or a scenario text with a `[challenge]`).
    Start(String),
    Answer(u32),
    KernelDecides,
    KernelDecidesUntil(ChoiceKind),
    PlayOut,
    Undo,
    Restart,
}

/// Trace lines shown under the decision.
pub const RECENT: usize = 14;

#[derive(Clone, Debug)]
pub struct GameView {
    pub level: String,
    pub title: String,
    pub story: String,
    pub hint: String,
    pub goal: Vec<String>,
    pub control: Vec<String>,
    pub budget: u32,
    pub made: u32,
    pub asked: u32,
    pub decision: Option<Decision>,
    pub t: u64,
    pub cpus: Vec<CpuSnap>,
    pub tasks: Vec<TaskSnap>,
    pub recent: Vec<String>,
    /// Outcome codes once the run has ended, worst first, and the explanation.
    pub outcomes: Vec<String>,
    pub explain: String,
    pub won: bool,
    /// The winning (or lost) run as an ordinary run permalink.
    pub link: Option<String>,
}

/// Two views of the same game at the same point are equal (core's snapshots
/// have no `PartialEq`; the point is given by the answers and the trace).
impl PartialEq for GameView {
    fn eq(&self, o: &Self) -> bool {
        self.level == o.level
            && self.asked == o.asked
            && self.made == o.made
            && self.decision == o.decision
            && self.t == o.t
            && self.recent == o.recent
            && self.outcomes == o.outcomes
    }
}

/// The scenario of a level id, or the text itself.
pub fn level_scenario(what: &str) -> Result<(String, ValidScenario), String> {
    let (id, text) = match LEVELS.iter().find(|l| l.id == what) {
        Some(l) => (l.id.to_string(), l.text),
        None => ("custom".to_string(), what),
    };
    let sc = parse_scenario(text).map_err(|e| crate::view::errors_line(&e))?;
    if sc.scenario.challenge.is_none() {
        return Err("this scenario has no [challenge] section".into());
    }
    Ok((id, sc))
}

/// Runs `cmd` on the game (starting one for `Start`).
pub fn apply(game: &mut Option<(String, Game)>, cmd: &GameCmd) -> Result<(), String> {
    if let GameCmd::Start(what) = cmd {
        let (id, sc) = level_scenario(what)?;
        *game = Some((id, Game::new(&sc)?));
        return Ok(());
    }
    let Some((id, g)) = game.as_mut() else {
        return Err("no level is loaded".into());
    };
    match cmd {
        GameCmd::Start(_) => {}
        GameCmd::Answer(v) => g.answer(*v),
        GameCmd::KernelDecides => g.kernel_decides(),
        GameCmd::KernelDecidesUntil(k) => g.kernel_decides_until(*k),
        GameCmd::PlayOut => g.play_out(),
        GameCmd::Undo => g.undo(),
        GameCmd::Restart => {
            let sc = g.scenario().clone();
            let id = id.clone();
            *game = Some((id, Game::new(&sc)?));
        }
    }
    Ok(())
}

impl GameView {
    pub fn of(level: &str, g: &Game) -> GameView {
        let c = g.challenge();
        let sc = &g.scenario().scenario;
        let (t, cpus, tasks, recent) = match g.sim() {
            Some(sim) => {
                let snap = sim.snapshot();
                let tr = sim.trace();
                let from = tr.len().saturating_sub(RECENT);
                (
                    snap.t.0,
                    snap.cpus,
                    snap.tasks,
                    tr[from..].iter().map(|r| r.to_line()).collect(),
                )
            }
            None => (0, Vec::new(), Vec::new(), Vec::new()),
        };
        let (outcomes, explain) = match g.result() {
            Some(r) => (
                r.outcomes.iter().map(|o| o.code().to_string()).collect(),
                r.explain(),
            ),
            None => (Vec::new(), String::new()),
        };
        GameView {
            level: level.to_string(),
            title: sc.title.clone(),
            story: sc.story.clone(),
            hint: c.hint.clone(),
            goal: c.goal.clone(),
            control: c.control.clone(),
            budget: c.budget,
            made: g.made(),
            asked: g.answers().len() as u32,
            decision: g.pending().cloned(),
            t,
            cpus,
            tasks,
            recent,
            outcomes,
            explain,
            won: g.won(),
            link: g.permalink().map(|p| p.encode()),
        }
    }

    pub fn over(&self) -> bool {
        self.decision.is_none()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use oomlab_core::challenge::solve;
    use oomlab_core::choice::AUTO;
    use oomlab_core::permalink::Permalink;

    #[test]
    fn a_solution_played_through_commands_wins_with_a_replayable_link() {
        let (_, sc) = level_scenario("l1").unwrap();
        let sol = solve(&sc, 3000).expect("level 1 has a solution");
        let mut g = None;
        apply(&mut g, &GameCmd::Start("l1".into())).unwrap();
        let v = GameView::of("l1", &g.as_ref().unwrap().1);
        assert!(!v.over() && !v.won && v.made == 0);
        assert_eq!(v.goal, vec!["zeros_in_file".to_string()]);
        assert!(!v.recent.is_empty() && !v.cpus.is_empty());
        for a in &sol {
            let cmd = if *a == AUTO {
                GameCmd::KernelDecides
            } else {
                GameCmd::Answer(*a)
            };
            apply(&mut g, &cmd).unwrap();
        }
        apply(&mut g, &GameCmd::PlayOut).unwrap();
        let v = GameView::of("l1", &g.as_ref().unwrap().1);
        assert!(v.over() && v.won, "{:?}", v.outcomes);
        assert_eq!(v.outcomes[0], "zeros_in_file");
        let p = Permalink::decode(v.link.as_ref().unwrap()).unwrap();
        assert!(p.scenario().unwrap().scenario.challenge.is_some());
        // Restart goes back to the first decision.
        apply(&mut g, &GameCmd::Restart).unwrap();
        let v = GameView::of("l1", &g.as_ref().unwrap().1);
        assert_eq!((v.asked, v.made, v.won), (0, 0, false));
    }

    #[test]
    fn bad_levels_and_commands_without_a_game_are_errors() {
        let mut g = None;
        assert!(apply(&mut g, &GameCmd::Answer(0)).is_err());
        let r1 = oomlab_core::presets::find("r1").unwrap().text;
        assert!(apply(&mut g, &GameCmd::Start(r1.into())).is_err());
        assert!(apply(&mut g, &GameCmd::Start("version = x".into())).is_err());
        assert!(g.is_none());
    }
}
