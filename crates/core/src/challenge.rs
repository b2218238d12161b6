//! Challenge mode: the player is the scheduler. A level is an ordinary
//! scenario file with a `[challenge]` section that names a goal (outcome codes,
//! any of which wins), the kinds of decisions the player takes (which task a
//! CPU runs next, where an IPI lands, ...), optionally the kernel function after
//! which the player takes over, and a budget of decisions.
//!
//! The run is the scenario's own run: every decision the player does not take
//! comes from the challenge's seed, exactly as in a seeded run. The player's
//! decisions go through the same [`Chooser`](crate::choice::Chooser) as any
//! other (a [`Player`] hook), so a finished game is an ordinary recorded choice
//! list, and its permalink (`ChoiceSource::Replay` of that list) replays the
//! winning run exactly, in the playground or the CLI.
//!
//! How a game stops at a decision: a step cannot be suspended half-way, so the
//! game keeps a checkpoint (a clone of the `Sim`) taken before the step in
//! which the next unanswered decision arises. Answering clones the checkpoint
//! and replays that step with the answer; the options are labelled the same
//! way, by replaying the step once per option and reading the trace record the
//! decision led to (for a runqueue pick, the task switched to and its CPU).
//!
//! Not modelled: decisions the kernel takes in the boot step (tick phases) are
//! offered with generic labels, since no trace record follows them; a level
//! cannot forbid particular options, only whole kinds of decisions.

use crate::choice::{ChoiceKind, ChoiceSource, Pending, Player, AUTO};
use crate::outcome::{Outcome, RunResult};
use crate::permalink::Permalink;
use crate::scenario::ValidScenario;
use crate::sim::Sim;
use crate::time::SimTime;
use crate::trace::TraceRecord;
use serde::{Deserialize, Serialize};

/// A built-in level: an ordinary scenario file with a `[challenge]` section.
pub struct Level {
    pub id: &'static str,
    pub text: &'static str,
}

pub static LEVELS: &[Level] = &[
    Level {
        id: "l1",
        text: include_str!("presets/levels/l1.toml"),
    },
    Level {
        id: "l2",
        text: include_str!("presets/levels/l2.toml"),
    },
];

pub fn level(id: &str) -> Option<&'static Level> {
    LEVELS.iter().find(|l| l.id == id)
}

/// Most decisions a level may give the player.
pub const MAX_BUDGET: u32 = 200;
/// Most options shown for one decision.
pub const MAX_OPTIONS: u32 = 16;

/// The `[challenge]` section of a scenario.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Challenge {
    /// Outcome codes; a run that ends with any of them wins.
    pub goal: Vec<String>,
    /// Decision kinds the player takes (`sched_pick`, `ipi_latency`, ...).
    pub control: Vec<String>,
    /// The kernel function after whose first trace record the player takes
    /// over; until then the kernel decides everything.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<String>,
    /// Decisions the player may take; once they are spent the kernel decides.
    #[serde(default = "default_budget")]
    pub budget: u32,
    /// Seed of every decision the player does not take.
    #[serde(default)]
    pub seed: u64,
    /// Shown on request.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub hint: String,
}

pub(crate) fn default_budget() -> u32 {
    20
}

impl Challenge {
    /// Checks the section; `push(path, message)` collects the problems.
    pub(crate) fn validate(&self, push: &mut dyn FnMut(&str, String)) {
        if self.goal.is_empty() {
            push(
                "challenge.goal",
                "name at least one outcome code to reach".into(),
            );
        }
        for g in &self.goal {
            if Outcome::from_code(g).is_none() {
                push("challenge.goal", format!("unknown outcome code `{g}`"));
            }
        }
        if self.control.is_empty() {
            push(
                "challenge.control",
                "name at least one kind of decision for the player".into(),
            );
        }
        for c in &self.control {
            if ChoiceKind::from_name(c).is_none() {
                let known: Vec<&str> = ChoiceKind::ALL.iter().map(|k| k.name()).collect();
                push(
                    "challenge.control",
                    format!(
                        "unknown decision kind `{c}`, expected one of {}",
                        known.join(", ")
                    ),
                );
            }
        }
        if self.budget == 0 || self.budget > MAX_BUDGET {
            push(
                "challenge.budget",
                format!("must be between 1 and {MAX_BUDGET}, got {}", self.budget),
            );
        }
        if self.after.as_deref().is_some_and(|a| a.trim().is_empty()) {
            push(
                "challenge.after",
                "must name a kernel function, e.g. \"oom_kill_process\"".into(),
            );
        }
    }

    pub fn kinds(&self) -> Vec<ChoiceKind> {
        self.control
            .iter()
            .filter_map(|c| ChoiceKind::from_name(c))
            .collect()
    }

    pub fn goals(&self) -> Vec<Outcome> {
        self.goal
            .iter()
            .filter_map(|g| Outcome::from_code(g))
            .collect()
    }
}

/// One option of a decision, as the player sees it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct OptionView {
    pub value: u32,
    /// Short: the task picked (`a.out/101`), the IPI latency (`lands in 4us`).
    pub label: String,
    /// The trace record this option leads to.
    pub detail: String,
    /// What the kernel would pick.
    pub kernel_pick: bool,
}

/// The decision the game is waiting for.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Decision {
    /// 1-based: how many decisions (the player's and the kernel's) were asked so far.
    pub number: u32,
    pub kind: ChoiceKind,
    pub t: SimTime,
    /// The CPU it is taken on, where the trace says.
    pub cpu: Option<u32>,
    /// Index of the trace record that follows it.
    pub event: u64,
    pub options: Vec<OptionView>,
    /// More options exist than are shown.
    pub more: u32,
}

/// A game in progress.
pub struct Game {
    sc: ValidScenario,
    cfg: Challenge,
    kinds: Vec<ChoiceKind>,
    /// The player's answers so far (`AUTO`: the kernel's pick).
    answers: Vec<u32>,
    auto_rest: bool,
    /// The state where the player takes over (None: at boot).
    start: Option<Sim>,
    /// The state just before the step that asks the pending decision.
    ckpt: Option<Sim>,
    pending: Option<Decision>,
    finished: Option<(Sim, RunResult)>,
    /// Steps simulated so far, replays included: the cost of playing.
    pub work_steps: u64,
}

impl Game {
    /// Starts the level's run and stops at the player's first decision.
    pub fn new(sc: &ValidScenario) -> Result<Game, String> {
        let Some(cfg) = sc.scenario.challenge.clone() else {
            return Err("this scenario has no [challenge] section".into());
        };
        let kinds = cfg.kinds();
        let mut g = Game {
            sc: sc.clone(),
            kinds,
            answers: Vec::new(),
            auto_rest: false,
            start: None,
            ckpt: None,
            pending: None,
            finished: None,
            work_steps: 0,
            cfg,
        };
        if let Some(after) = g.cfg.after.clone() {
            // The kernel alone until the trigger record; the player from the
            // step after it.
            let mut sim = Sim::with_player(
                &g.sc,
                ChoiceSource::Seed(g.cfg.seed),
                Some(Player::new(&[])),
            );
            let mut seen = 0;
            loop {
                let more = sim.step();
                g.work_steps += 1;
                let hit = sim.trace()[seen..].iter().any(|r| r.func == after);
                seen = sim.trace().len();
                if hit && more {
                    break;
                }
                if !more {
                    let r = sim.finish();
                    g.finished = Some((sim, r));
                    return Ok(g);
                }
            }
            if let Some(p) = sim.chooser.player_mut() {
                p.set_controls(&g.kinds);
            }
            g.start = Some(sim);
        }
        g.ckpt = g.start.clone();
        g.advance();
        Ok(g)
    }

    pub fn challenge(&self) -> &Challenge {
        &self.cfg
    }

    pub fn scenario(&self) -> &ValidScenario {
        &self.sc
    }

    /// The decision waiting for the player, None once the run has ended.
    pub fn pending(&self) -> Option<&Decision> {
        self.pending.as_ref()
    }

    /// The answers given so far (`AUTO` where the kernel picked).
    pub fn answers(&self) -> &[u32] {
        &self.answers
    }

    /// Decisions the player took (not left to the kernel).
    pub fn made(&self) -> u32 {
        self.answers.iter().filter(|a| **a != AUTO).count() as u32
    }

    pub fn budget_left(&self) -> u32 {
        self.cfg.budget.saturating_sub(self.made())
    }

    /// The state the player looks at: before the pending decision's step, or
    /// the end of the run.
    pub fn sim(&self) -> Option<&Sim> {
        match &self.finished {
            Some((s, _)) => Some(s),
            None => self.ckpt.as_ref(),
        }
    }

    pub fn result(&self) -> Option<&RunResult> {
        self.finished.as_ref().map(|f| &f.1)
    }

    pub fn won(&self) -> bool {
        let goals = self.cfg.goals();
        self.result()
            .is_some_and(|r| r.outcomes.iter().any(|o| goals.contains(o)))
    }

    /// The finished run's recorded decisions as an ordinary run permalink.
    pub fn permalink(&self) -> Option<Permalink> {
        let (sim, _) = self.finished.as_ref()?;
        let choices = sim.recorded_choices().iter().map(|c| c.value).collect();
        Some(Permalink::new(
            &self.sc,
            ChoiceSource::Replay {
                seed: self.cfg.seed,
                choices,
            },
        ))
    }

    /// Takes option `value` of the pending decision.
    pub fn answer(&mut self, value: u32) {
        if self.pending.is_none() {
            return;
        }
        self.answers.push(value);
        if self.made() >= self.cfg.budget {
            self.auto_rest = true;
        }
        self.advance();
    }

    /// Leaves the pending decision to the kernel (does not spend the budget).
    pub fn kernel_decides(&mut self) {
        self.answer(AUTO);
    }

    /// Leaves decisions to the kernel until one of `kind` is asked (or the
    /// run ends).
    pub fn kernel_decides_until(&mut self, kind: ChoiceKind) {
        while self.pending.as_ref().is_some_and(|d| d.kind != kind) {
            self.answer(AUTO);
        }
    }

    /// Leaves every remaining decision to the kernel: the run plays out.
    pub fn play_out(&mut self) {
        if self.pending.is_none() {
            return;
        }
        self.auto_rest = true;
        self.advance();
    }

    /// Takes back the last answer.
    pub fn undo(&mut self) {
        if self.answers.pop().is_none() {
            return;
        }
        self.auto_rest = self.made() >= self.cfg.budget;
        self.restart_from_start();
    }

    fn restart_from_start(&mut self) {
        self.finished = None;
        self.ckpt = self.start.clone();
        self.advance();
    }

    /// A copy of the checkpoint that will take the answers given so far.
    fn fresh(&self, answers: Vec<u32>, auto_rest: bool) -> Sim {
        let mut sim = match &self.ckpt {
            Some(c) => c.clone(),
            None => {
                let mut p = Player::new(&self.kinds);
                p.set_answers(answers.clone());
                Sim::with_player(&self.sc, ChoiceSource::Seed(self.cfg.seed), Some(p))
            }
        };
        if let Some(p) = sim.chooser.player_mut() {
            p.set_answers(answers);
            p.auto_rest = auto_rest;
            p.pending = None;
        }
        sim
    }

    fn pending_of(sim: &Sim) -> Option<Pending> {
        sim.chooser.player().and_then(|p| p.pending)
    }

    /// Runs from the checkpoint to the next unanswered decision, or to the end.
    fn advance(&mut self) {
        self.pending = None;
        let mut sim = self.fresh(self.answers.clone(), self.auto_rest);
        let mut n = 0u64;
        let at_boot = self.ckpt.is_none() && Self::pending_of(&sim).is_some();
        if !at_boot {
            loop {
                let more = sim.step();
                n += 1;
                if Self::pending_of(&sim).is_some() {
                    break;
                }
                if !more {
                    self.work_steps += n;
                    let r = sim.finish();
                    self.finished = Some((sim, r));
                    return;
                }
            }
        }
        self.work_steps += n;
        let Some(p) = Self::pending_of(&sim) else {
            return;
        };
        if n > 0 {
            // The state before the step that asked: replay up to it.
            let mut before = self.fresh(self.answers.clone(), self.auto_rest);
            for _ in 1..n {
                before.step();
            }
            self.work_steps += n - 1;
            self.ckpt = Some(before);
        }
        self.pending = Some(self.describe(p, n > 0));
    }

    /// Labels each option by the trace record it leads to.
    fn describe(&mut self, p: Pending, stepped: bool) -> Decision {
        let shown = p.options.min(MAX_OPTIONS);
        let mut options = Vec::with_capacity(shown as usize);
        let mut cpu = None;
        for v in 0..shown {
            let mut answers = self.answers.clone();
            answers.push(v);
            let mut s = self.fresh(answers, true);
            if stepped {
                s.step();
                self.work_steps += 1;
            }
            let rec = s.trace().get(p.event as usize).filter(|r| r.idx == p.event);
            if cpu.is_none() {
                cpu = rec.and_then(|r| r.cpu);
            }
            let (label, detail) = match rec {
                Some(r) => label_of(p.kind, r),
                None => (format!("option {v}"), String::new()),
            };
            options.push(OptionView {
                value: v,
                label,
                detail,
                kernel_pick: v == p.auto,
            });
        }
        let t = self.ckpt.as_ref().map_or(SimTime::ZERO, |s| s.now());
        Decision {
            number: self.answers.len() as u32 + 1,
            kind: p.kind,
            t,
            cpu,
            event: p.event,
            options,
            more: p.options - shown,
        }
    }
}

fn label_of(kind: ChoiceKind, r: &TraceRecord) -> (String, String) {
    let who = match r.pid {
        Some(p) => format!("{}/{p}", r.comm),
        None => String::new(),
    };
    let detail = format!(
        "{}{}{}: {}",
        r.cpu.map_or(String::new(), |c| format!("cpu{c} ")),
        if who.is_empty() {
            String::new()
        } else {
            format!("{who} ")
        },
        r.func,
        r.msg
    );
    let label = match kind {
        ChoiceKind::SchedPick | ChoiceKind::LockWake | ChoiceKind::WakeCpu if !who.is_empty() => {
            match r.cpu {
                Some(c) if kind != ChoiceKind::LockWake => format!("{who} on cpu{c}"),
                _ => who,
            }
        }
        // Exact: the trace message rounds to the microsecond.
        ChoiceKind::IpiLatency => match r.ipi_to {
            Some((to, at)) => format!("cpu{to} after {} ns", at.0.saturating_sub(r.t.0)),
            None => r.msg.clone(),
        },
        _ => format!("{}: {}", r.func, r.msg),
    };
    (label, detail)
}

/// A winning answer list for the level, if one exists among the runs tried:
/// the kernel's own run first, then every single decision taken differently
/// (the rest left to the kernel), then pairs, within `max_runs` runs. Used to
/// show that a level can be won, and as the answer to "show me a solution".
pub fn solve(sc: &ValidScenario, max_runs: u64) -> Option<Vec<u32>> {
    let cfg = sc.scenario.challenge.as_ref()?;
    let goals = cfg.goals();
    let kinds = cfg.kinds();
    let g = Game::new(sc).ok()?;
    let wins = |r: &RunResult| r.outcomes.iter().any(|o| goals.contains(o));
    let start = g.start.clone();
    // Runs the level with `answers`, the kernel deciding after them; returns
    // whether it wins and the options of the controlled decisions it met.
    let play = |answers: &[u32]| -> (bool, Vec<u32>) {
        let mut sim = match &start {
            Some(s) => s.clone(),
            None => Sim::with_player(sc, ChoiceSource::Seed(cfg.seed), Some(Player::new(&kinds))),
        };
        let from = sim.recorded_choices().len();
        if let Some(p) = sim.chooser.player_mut() {
            p.set_answers(answers.to_vec());
            p.auto_rest = true;
        }
        let r = sim.run_to_end(u64::MAX);
        let opts = sim.recorded_choices()[from..]
            .iter()
            .filter(|c| kinds.contains(&c.kind))
            .map(|c| c.options)
            .collect();
        (wins(&r), opts)
    };
    let mut runs = 1;
    let (won, opts) = play(&[]);
    if won {
        return Some(Vec::new());
    }
    let budget = cfg.budget as usize;
    // One decision taken differently.
    let n = opts.len().min(budget.max(1) * 4);
    let mut singles: Vec<Vec<u32>> = Vec::new();
    for (i, &o) in opts.iter().enumerate().take(n) {
        for v in 0..o.min(MAX_OPTIONS) {
            if runs >= max_runs {
                return None;
            }
            let mut a = vec![AUTO; i];
            a.push(v);
            runs += 1;
            let (won, _) = play(&a);
            if won {
                return Some(a);
            }
            singles.push(a);
        }
    }
    // Two: a second decision after each single one.
    for a in singles {
        let (_, opts) = play(&a);
        runs += 1;
        for (j, &o) in opts.iter().enumerate().take(n).skip(a.len()) {
            for v in 0..o.min(MAX_OPTIONS) {
                if runs >= max_runs {
                    return None;
                }
                let mut b = a.clone();
                b.resize(j, AUTO);
                b.push(v);
                runs += 1;
                if play(&b).0 {
                    return Some(b);
                }
            }
        }
    }
    None
}
