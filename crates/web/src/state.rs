//! The playground's one reducer: `AppState`, `enum Action` and a pure
//! `AppState::apply`. No side effects here: URL writes, timers, the clipboard
//! and running the simulation happen in effects at the edges (app.rs), which
//! read the requests this state records (`request`, `url`). The URL becomes an
//! action (`OpenLink`), never state directly. Tested natively by replaying
//! action lists.

use crate::ab::{self, AbView};
use crate::explorer::{ExplorerState, StrategyKind};
use crate::form::{self, Field};
use crate::game::{GameCmd, GameView};
use crate::view::RunView;
use crate::wire::ShrinkReply;
use oomlab_core::explore::{ExploreReport, RunRef};
use oomlab_core::hexdump::OdStyle;
use oomlab_core::permalink::Permalink;
use oomlab_core::shrink::CriticalChoice;
use oomlab_core::{parse_scenario, presets, ChoiceSource, Outcome, ValidScenario, MODEL_VERSION};
use std::rc::Rc;

/// A validation error as the editor shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EditorError {
    pub path: String,
    pub line: Option<u32>,
    pub column: Option<u32>,
    pub message: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BannerKind {
    Error,
    Warning,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Banner {
    pub kind: BannerKind,
    pub title: String,
    pub detail: String,
    /// Offer "re-run with the current model".
    pub rerun: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HistoryMode {
    /// A new history entry (a new run).
    Push,
    /// Replace the current entry (edits, opening a link).
    Replace,
}

/// What a finished run is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RunPurpose {
    /// The run view's run.
    Main,
    /// The B side of an A/B comparison (A is the run view's run).
    CompareB,
}

/// A run the runner effect should execute.
#[derive(Clone, Debug, PartialEq)]
pub struct RunRequest {
    pub id: u64,
    pub scenario: Rc<ValidScenario>,
    pub source: ChoiceSource,
    pub history: HistoryMode,
    pub purpose: RunPurpose,
}

/// What the run pane shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Run,
    Explore,
    Compare,
    Step,
    Challenge,
}

/// A shrink the worker effect should start.
#[derive(Clone, Debug, PartialEq)]
pub struct ShrinkRequest {
    pub id: u64,
    /// Canonical scenario text of the run to shrink.
    pub text: String,
    pub source: ChoiceSource,
    pub target: String,
    pub max_runs: u64,
}

#[derive(Clone, Debug, PartialEq)]
pub enum ShrinkStatus {
    Running { runs: u64 },
    Done(Rc<ShrinkReply>),
    Failed(String),
    Cancelled,
}

#[derive(Clone, Debug, PartialEq)]
pub struct ShrinkState {
    pub request: Rc<ShrinkRequest>,
    pub status: ShrinkStatus,
    /// Decisions the original run took.
    pub before_choices: u64,
}

/// Critical decisions a shrink verified (by value; core's type has no `PartialEq`).
#[derive(Clone, Debug, Default)]
pub struct Critical(pub Rc<Vec<CriticalChoice>>);

impl PartialEq for Critical {
    fn eq(&self, o: &Self) -> bool {
        crate::wire::same_critical(&self.0, &o.0)
    }
}

/// Test runs a shrink may use (each is a whole run).
pub const SHRINK_MAX_RUNS: u64 = 400;

#[derive(Clone, Debug, PartialEq, Default)]
pub struct CompareState {
    /// `path=value` overrides for B.
    pub overrides: Vec<String>,
    pub view: Option<Rc<AbView>>,
    pub error: Option<String>,
    /// A/B link opened: compare as soon as A has run.
    pub pending: bool,
}

#[derive(Clone, Debug, PartialEq, Default)]
pub struct GameState {
    pub view: Option<Rc<GameView>>,
    /// The command the game effect should run (id, command).
    pub cmd: Option<(u64, GameCmd)>,
    pub busy: bool,
    pub error: Option<String>,
    pub hint: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RunStatus {
    Idle,
    Running { steps: u64, t_ns: u64 },
    Cancelled,
    Done,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tab {
    File,
    Memory,
    Trace,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Theme {
    Auto,
    Light,
    Dark,
}

#[derive(Clone, Debug, PartialEq)]
pub struct AppState {
    pub text: String,
    pub errors: Vec<EditorError>,
    /// The last valid scenario; it keeps running while the text is invalid.
    pub valid: Option<Rc<ValidScenario>>,
    /// The preset the editor's scenario is, unmodified (the highlighted card).
    pub preset: Option<String>,
    /// The preset the editor's scenario was last loaded from or equal to,
    /// kept through edits so the page can say "(modified)".
    pub base_preset: Option<String>,
    pub seed: u64,
    next_id: u64,
    pub request: Option<Rc<RunRequest>>,
    pub status: RunStatus,
    pub view: Option<Rc<RunView>>,
    pub od: OdStyle,
    pub tab: Tab,
    pub file: usize,
    pub banner: Option<Banner>,
    /// A link from another model version, kept for "re-run".
    pub stale_link: Option<Rc<Permalink>>,
    pub theme: Theme,
    /// The trace record highlighted in the timeline and the trace.
    pub focus: Option<u64>,
    /// The trace record under the pointer, in either view.
    pub hover: Option<u64>,
    /// Fragment (`run=...`) the URL effect should write, and how.
    pub url: Option<(String, HistoryMode)>,
    pub url_gen: u64,
    pub mode: Mode,
    pub explorer: ExplorerState,
    pub shrink: Option<ShrinkState>,
    /// "When was it decided?" for the run in view (by its link).
    pub rewind: Option<crate::rewind::RewindState>,
    /// Decisions a shrink found critical, shown on the run they belong to.
    pub critical: Critical,
    /// The run (by link) the critical decisions belong to.
    pub critical_link: Option<String>,
    pub compare: CompareState,
    /// Step-through: the step shown, and the run's step count once known.
    pub step: u64,
    pub step_total: Option<u64>,
    pub game: GameState,
    /// The latest wall-clock time an action brought (ms, from the edge).
    pub last_ms: f64,
}

#[derive(Clone, Debug)]
pub enum Action {
    LoadPreset(String),
    EditText(String),
    SetField(Field, String),
    SetSeed(u64),
    /// Run the last valid scenario with the current seed.
    Run,
    /// Run with this seed (the edge picked a random one).
    RunSeed(u64),
    Progress {
        id: u64,
        steps: u64,
        t_ns: u64,
    },
    Finished {
        id: u64,
        view: Rc<RunView>,
    },
    Cancel,
    /// The URL fragment (or a whole URL) to open.
    OpenLink(String),
    RerunCurrentModel,
    DismissBanner,
    SetOd(OdStyle),
    SetTab(Tab),
    SelectFile(usize),
    SetTheme(Theme),
    Focus(Option<u64>),
    Hover(Option<u64>),
    /// Show the first bad byte: its file in the File tab, its event focused.
    JumpToEvidence,
    SetMode(Mode),
    // Explorer.
    ExploreStrategy(StrategyKind),
    ExploreRuns(u64),
    ExploreSeed(u64),
    /// Workers to use (0: one per logical CPU).
    ExploreWorkers(u32),
    /// The window spec (empty: whole runs), prefixes, and bound.
    ExploreWindow(String),
    ExplorePrefixes(u32),
    ExploreBound(u32),
    /// Start with this many workers (the edge resolved "auto").
    ExploreStart {
        workers: u32,
        now_ms: f64,
    },
    ExplorePiece {
        id: u64,
        start: u64,
        report: Rc<ExploreReport>,
        now_ms: f64,
    },
    /// Rewind the run in view with this many workers (the edge resolved
    /// "auto").
    RewindStart {
        workers: u32,
        now_ms: f64,
    },
    RewindPoint {
        id: u64,
        index: u32,
        reply: Rc<crate::rewind::PointReply>,
        now_ms: f64,
    },
    RewindFailed {
        id: u64,
        message: String,
    },
    RewindCancel,
    ExploreWindowPiece {
        id: u64,
        start: u64,
        report: Rc<ExploreReport>,
        window: Rc<oomlab_core::window::WindowReport>,
        now_ms: f64,
    },
    ExploreChunk {
        id: u64,
        report: Rc<ExploreReport>,
        finished: bool,
        now_ms: f64,
    },
    ExploreFailed {
        id: u64,
        message: String,
        now_ms: f64,
    },
    ExplorePause(f64),
    ExploreResume(f64),
    ExploreCancel(f64),
    /// Open one of a bucket's runs in the run view.
    OpenBucketRun(RunRef),
    // Shrink.
    Shrink,
    ShrinkProgress {
        id: u64,
        runs: u64,
    },
    ShrinkDone {
        id: u64,
        reply: Rc<ShrinkReply>,
    },
    ShrinkFailed {
        id: u64,
        message: String,
    },
    ShrinkCancel,
    // A/B compare.
    CompareSet {
        path: String,
        value: String,
    },
    CompareRun,
    // Step-through.
    StepReady(u64),
    StepTo(u64),
    // Challenge.
    Game(GameCmd),
    GameUpdated {
        id: u64,
        view: Result<Rc<GameView>, String>,
    },
    ToggleHint,
    /// Open the finished game's run in the run view.
    OpenGameRun,
}

/// The first screen: R1 on its showcase seed, which writes zeros into a file.
pub const DEFAULT_PRESET: &str = "r1";

impl Default for AppState {
    fn default() -> Self {
        Self::new()
    }
}

impl AppState {
    pub fn new() -> AppState {
        let mut s = AppState {
            text: String::new(),
            errors: Vec::new(),
            valid: None,
            preset: None,
            base_preset: None,
            seed: 0,
            next_id: 1,
            request: None,
            status: RunStatus::Idle,
            view: None,
            od: OdStyle::Hex,
            tab: Tab::File,
            file: 0,
            banner: None,
            stale_link: None,
            theme: Theme::Auto,
            focus: None,
            hover: None,
            url: None,
            url_gen: 0,
            mode: Mode::Run,
            explorer: ExplorerState::default(),
            shrink: None,
            rewind: None,
            critical: Critical::default(),
            critical_link: None,
            compare: CompareState::default(),
            step: 0,
            step_total: None,
            game: GameState::default(),
            last_ms: 0.0,
        };
        if let Some(p) = presets::find(DEFAULT_PRESET) {
            s.set_text(p.text.to_string());
            s.seed = p.showcase_seed;
        }
        s
    }

    pub fn running(&self) -> bool {
        matches!(self.status, RunStatus::Running { .. })
    }

    /// The permalink for what the editor holds now (valid text, current seed).
    pub fn current_link(&self) -> Option<String> {
        let sc = self.valid.as_ref()?;
        Some(Permalink::new(sc, ChoiceSource::Seed(self.seed)).encode())
    }

    /// The one way a valid scenario becomes the editor's: its text, no
    /// errors, the preset it matches, and an exploration of another
    /// scenario marked stale.
    fn adopt_scenario(&mut self, text: String, sc: Rc<ValidScenario>) {
        let canonical = sc.scenario.to_canonical_toml();
        // An exploration of another scenario no longer describes the
        // editor: it stops, and its results are marked stale.
        if let Some(j) = &self.explorer.job {
            if canonical != j.text {
                self.explorer.mark_stale(self.last_ms);
            }
        }
        self.preset = crate::view::matching_preset(&canonical).map(|p| p.id.to_string());
        if self.preset.is_some() {
            self.base_preset = self.preset.clone();
        }
        self.valid = Some(sc);
        self.errors.clear();
        self.text = text;
    }

    fn set_text(&mut self, text: String) {
        match parse_scenario(&text) {
            Ok(sc) => self.adopt_scenario(text, Rc::new(sc)),
            Err(errs) => {
                self.errors = errs
                    .into_iter()
                    .map(|e| EditorError {
                        path: e.path,
                        line: e.line,
                        column: e.column,
                        message: e.message,
                    })
                    .collect();
                self.preset = None;
                self.text = text;
            }
        }
    }

    fn write_url(&mut self, link: String, mode: HistoryMode) {
        self.url = Some((format!("run={link}"), mode));
        self.url_gen += 1;
    }

    fn edited(&mut self) {
        if self.errors.is_empty() {
            if let Some(l) = self.current_link() {
                self.write_url(l, HistoryMode::Replace);
            }
        }
    }

    fn take_id(&mut self) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        id
    }

    fn start(&mut self, sc: Rc<ValidScenario>, source: ChoiceSource, history: HistoryMode) {
        self.start_for(sc, source, history, RunPurpose::Main);
    }

    fn start_for(
        &mut self,
        sc: Rc<ValidScenario>,
        source: ChoiceSource,
        history: HistoryMode,
        purpose: RunPurpose,
    ) {
        let id = self.take_id();
        if purpose == RunPurpose::Main {
            self.step = 0;
            self.step_total = None;
        }
        self.request = Some(Rc::new(RunRequest {
            id,
            scenario: sc,
            source,
            history,
            purpose,
        }));
        self.status = RunStatus::Running { steps: 0, t_ns: 0 };
        self.focus = None;
        self.hover = None;
    }

    /// A new run gets a new history entry, except the first one of the page
    /// (which replaces the entry the page was opened with).
    fn new_run_mode(&self) -> HistoryMode {
        if self.view.is_some() {
            HistoryMode::Push
        } else {
            HistoryMode::Replace
        }
    }

    fn active_id(&self) -> Option<u64> {
        self.request.as_ref().map(|r| r.id)
    }

    /// Run is possible: the editor's text is valid (an invalid text never
    /// runs an older scenario in its place).
    pub fn can_run(&self) -> bool {
        self.errors.is_empty() && self.valid.is_some()
    }

    /// The form field an error belongs to, if any (a click on the error
    /// jumps there; otherwise to its line in the editor).
    pub fn error_field(e: &EditorError) -> Option<Field> {
        Field::ALL
            .iter()
            .copied()
            .find(|f| f.matches_error(&e.path))
    }

    /// Errors that belong to a form field.
    pub fn field_errors(&self, f: Field) -> Vec<&EditorError> {
        self.errors
            .iter()
            .filter(|e| f.matches_error(&e.path))
            .collect()
    }

    /// The pure transition function.
    pub fn apply(&self, action: Action) -> AppState {
        let mut s = self.clone();
        match action {
            Action::LoadPreset(id) => {
                if let Some(p) = presets::find(&id) {
                    s.set_text(p.text.to_string());
                    s.seed = p.showcase_seed;
                    s.banner = None;
                    if let Some(sc) = s.valid.clone() {
                        let mode = s.new_run_mode();
                        s.start(sc, ChoiceSource::Seed(s.seed), mode);
                    }
                }
            }
            Action::EditText(t) => {
                s.set_text(t);
                s.edited();
            }
            Action::SetField(f, v) => {
                let mut t = form::set(&s.text, f, &v);
                if f == Field::Cpus {
                    t = sockets_follow_cpus(t, &v);
                }
                s.set_text(t);
                s.edited();
            }
            Action::SetSeed(seed) => {
                s.seed = seed;
                s.edited();
            }
            Action::Run => {
                if let (true, Some(sc)) = (s.can_run(), s.valid.clone()) {
                    s.banner = None;
                    s.stale_link = None;
                    let mode = s.new_run_mode();
                    s.start(sc, ChoiceSource::Seed(s.seed), mode);
                }
            }
            Action::RunSeed(seed) => {
                s.seed = seed;
                return s.apply(Action::Run);
            }
            Action::Progress { id, steps, t_ns } => {
                if s.active_id() == Some(id) && s.running() {
                    s.status = RunStatus::Running { steps, t_ns };
                }
            }
            Action::Finished { id, view } => {
                if s.active_id() == Some(id) && s.running() {
                    let req = s.request.clone().expect("an active run has a request");
                    s.status = RunStatus::Done;
                    match req.purpose {
                        RunPurpose::Main => {
                            s.write_url(view.link.clone(), req.history);
                            s.file = view.first_bad().map_or(0, |(i, _)| i);
                            // A rewind describes the run it was asked of.
                            if s.rewind.as_ref().is_some_and(|r| r.job.link != view.link) {
                                s.rewind = None;
                            }
                            s.view = Some(view);
                            if s.compare.pending {
                                s.compare.pending = false;
                                s.mode = Mode::Compare;
                                s.compare_run();
                            }
                        }
                        RunPurpose::CompareB => {
                            if let Some(a) = s.view.clone() {
                                let ab = AbView::new(a, view, s.compare.overrides.clone());
                                s.write_url(ab.link.clone(), HistoryMode::Replace);
                                s.compare.view = Some(Rc::new(ab));
                            }
                        }
                    }
                }
            }
            Action::Cancel => {
                if s.running() {
                    s.request = None;
                    s.status = RunStatus::Cancelled;
                }
            }
            Action::OpenLink(link) => s.open_link(&link),
            Action::RerunCurrentModel => {
                if let Some(p) = s.stale_link.take() {
                    s.banner = None;
                    s.set_text(p.scenario_text.clone());
                    if let Some(sc) = s.valid.clone() {
                        s.start(sc, p.source.clone(), HistoryMode::Push);
                    }
                }
            }
            Action::DismissBanner => {
                s.banner = None;
            }
            Action::SetOd(o) => s.od = o,
            Action::SetTab(t) => s.tab = t,
            Action::SelectFile(i) => s.file = i,
            Action::SetTheme(t) => s.theme = t,
            Action::Focus(f) => s.focus = f,
            Action::Hover(h) => s.hover = h,
            Action::JumpToEvidence => {
                if let Some(v) = &s.view {
                    if let Some((i, _)) = v.first_bad() {
                        s.file = i;
                        s.tab = Tab::File;
                    }
                    s.focus = v.evidence_event();
                }
            }
            Action::SetMode(m) => {
                s.mode = m;
                if m == Mode::Compare && s.compare.overrides.is_empty() {
                    if let Some(v) = &s.view {
                        s.compare.overrides = ab::suggested(&v.scenario.toggles);
                    }
                }
                if m == Mode::Challenge && s.game.view.is_none() && !s.game.busy {
                    return s.apply(Action::Game(GameCmd::Start("l1".into())));
                }
            }
            Action::ExploreStrategy(k) => {
                if !s.explorer.busy() {
                    s.explorer.kind = k;
                }
            }
            Action::ExploreRuns(n) => {
                if !s.explorer.busy() {
                    s.explorer.runs = n.clamp(1, crate::explorer::MAX_RUNS);
                }
            }
            Action::ExploreSeed(seed) => {
                if !s.explorer.busy() {
                    s.explorer.base_seed = seed;
                }
            }
            Action::ExploreWorkers(w) => {
                if !s.explorer.busy() {
                    s.explorer.workers = w.min(64);
                }
            }
            Action::ExploreWindow(w) => {
                if !s.explorer.busy() {
                    s.explorer.window = w;
                }
            }
            Action::ExplorePrefixes(k) => {
                if !s.explorer.busy() {
                    s.explorer.prefixes = k.clamp(1, crate::explorer::MAX_PREFIXES);
                }
            }
            Action::ExploreBound(b) => {
                if !s.explorer.busy() {
                    s.explorer.bound = b.clamp(1, 3);
                }
            }
            Action::RewindStart { workers, now_ms } => {
                let busy = s.rewind.as_ref().is_some_and(|r| r.running());
                if let (false, Some(v)) = (busy, s.view.clone()) {
                    if oomlab_core::rewind::worst(&v.result).is_some() {
                        let id = s.take_id();
                        let job = crate::rewind::RewindJob {
                            id,
                            text: v.scenario.scenario.to_canonical_toml(),
                            source: v.source.clone(),
                            link: v.link.clone(),
                            points: crate::rewind::POINTS,
                            samples: crate::rewind::SAMPLES,
                            workers: workers.clamp(1, crate::rewind::POINTS),
                            end_ns: v.result.end_time.0,
                        };
                        s.rewind = Some(crate::rewind::RewindState::new(job, now_ms));
                    }
                }
            }
            Action::RewindPoint {
                id,
                index,
                reply,
                now_ms,
            } => {
                if let Some(r) = &mut s.rewind {
                    r.point_done(id, index, (*reply).clone(), now_ms);
                }
            }
            Action::RewindFailed { id, message } => {
                if let Some(r) = &mut s.rewind {
                    r.fail(id, message);
                }
            }
            Action::RewindCancel => {
                if let Some(r) = &mut s.rewind {
                    r.cancel();
                }
            }
            Action::ExploreWindowPiece {
                id,
                start,
                report,
                window,
                now_ms,
            } => {
                s.last_ms = now_ms;
                s.explorer.window_piece_done(
                    id,
                    start,
                    (*report).clone(),
                    (*window).clone(),
                    now_ms,
                );
            }
            Action::ExploreStart { workers, now_ms } => {
                s.last_ms = now_ms;
                if let (false, Some(sc)) = (s.explorer.busy(), s.valid.clone()) {
                    let id = s.take_id();
                    s.explorer.start(id, sc, workers, now_ms);
                }
            }
            Action::ExplorePiece {
                id,
                start,
                report,
                now_ms,
            } => {
                s.last_ms = now_ms;
                s.explorer.piece_done(id, start, (*report).clone(), now_ms);
            }
            Action::ExploreChunk {
                id,
                report,
                finished,
                now_ms,
            } => {
                s.last_ms = now_ms;
                s.explorer
                    .chunk_done(id, (*report).clone(), finished, now_ms);
            }
            Action::ExploreFailed {
                id,
                message,
                now_ms,
            } => {
                s.last_ms = now_ms;
                s.explorer.fail(id, message, now_ms);
            }
            Action::ExplorePause(now) => {
                s.last_ms = now;
                s.explorer.pause(now);
            }
            Action::ExploreResume(now) => {
                s.last_ms = now;
                s.explorer.resume(now);
            }
            Action::ExploreCancel(now) => {
                s.last_ms = now;
                s.explorer.cancel(now);
            }
            Action::OpenBucketRun(r) => {
                if let Some(j) = s.explorer.job.clone() {
                    // The run belongs to the explored scenario: if the editor
                    // moved on, it shows that scenario again.
                    let same = s
                        .valid
                        .as_ref()
                        .is_some_and(|v| v.scenario.to_canonical_toml() == j.text);
                    if !same {
                        s.adopt_scenario(j.text.clone(), j.scenario.clone());
                    }
                    s.mode = Mode::Run;
                    s.banner = None;
                    if let ChoiceSource::Seed(seed) = r.source {
                        s.seed = seed;
                    }
                    let mode = s.new_run_mode();
                    s.start(j.scenario.clone(), r.source, mode);
                }
            }
            Action::Shrink => s.shrink_current(),
            Action::ShrinkProgress { id, runs } => {
                if let Some(sh) = &mut s.shrink {
                    if sh.request.id == id && matches!(sh.status, ShrinkStatus::Running { .. }) {
                        sh.status = ShrinkStatus::Running { runs };
                    }
                }
            }
            Action::ShrinkDone { id, reply } => s.shrink_done(id, reply),
            Action::ShrinkFailed { id, message } => {
                if let Some(sh) = &mut s.shrink {
                    if sh.request.id == id {
                        sh.status = ShrinkStatus::Failed(message);
                    }
                }
            }
            Action::ShrinkCancel => {
                if let Some(sh) = &mut s.shrink {
                    if matches!(sh.status, ShrinkStatus::Running { .. }) {
                        sh.status = ShrinkStatus::Cancelled;
                    }
                }
            }
            Action::CompareSet { path, value } => {
                if let Some(v) = s.view.clone() {
                    ab::set_override(&mut s.compare.overrides, &v.scenario.toggles, &path, &value);
                }
            }
            Action::CompareRun => s.compare_run(),
            Action::StepReady(total) => {
                s.step_total = Some(total);
                s.step = s.step.min(total);
            }
            Action::StepTo(k) => {
                s.step = s.step_total.map_or(k, |t| k.min(t));
            }
            Action::Game(cmd) => {
                let id = s.take_id();
                s.game.cmd = Some((id, cmd));
                s.game.busy = true;
                s.game.error = None;
            }
            Action::GameUpdated { id, view } => {
                if s.game.cmd.as_ref().map(|c| c.0) == Some(id) {
                    s.game.busy = false;
                    match view {
                        Ok(v) => {
                            if s.game.view.as_ref().map(|g| &g.level) != Some(&v.level) {
                                s.game.hint = false;
                            }
                            s.game.view = Some(v);
                        }
                        Err(e) => s.game.error = Some(e),
                    }
                }
            }
            Action::ToggleHint => s.game.hint = !s.game.hint,
            Action::OpenGameRun => {
                if let Some(link) = s.game.view.as_ref().and_then(|g| g.link.clone()) {
                    s.mode = Mode::Run;
                    s.open_link(&link);
                    s.request = s.request.clone().map(|r| {
                        Rc::new(RunRequest {
                            history: HistoryMode::Push,
                            ..(*r).clone()
                        })
                    });
                }
            }
        }
        s
    }

    /// Starts shrinking the run view's run to its worst failure.
    fn shrink_current(&mut self) {
        let Some(v) = self.view.clone() else { return };
        if self
            .shrink
            .as_ref()
            .is_some_and(|sh| matches!(sh.status, ShrinkStatus::Running { .. }))
        {
            return;
        }
        let Some(target) = v
            .result
            .outcomes
            .iter()
            .find(|o| o.severity() > 0 && **o != Outcome::BudgetExhausted)
        else {
            self.shrink = None;
            return;
        };
        let id = self.take_id();
        self.shrink = Some(ShrinkState {
            request: Rc::new(ShrinkRequest {
                id,
                text: v.scenario.scenario.to_canonical_toml(),
                source: v.source.clone(),
                target: target.code().to_string(),
                max_runs: SHRINK_MAX_RUNS,
            }),
            status: ShrinkStatus::Running { runs: 0 },
            before_choices: v.result.choices,
        });
    }

    /// The shrunk run replaces the run view's run, with its critical choices.
    fn shrink_done(&mut self, id: u64, reply: Rc<ShrinkReply>) {
        let Some(sh) = &mut self.shrink else { return };
        if sh.request.id != id || !matches!(sh.status, ShrinkStatus::Running { .. }) {
            return;
        }
        sh.status = ShrinkStatus::Done(reply.clone());
        match parse_scenario(&reply.scenario) {
            Ok(sc) => {
                let sc = Rc::new(sc);
                self.adopt_scenario(reply.scenario.clone(), sc.clone());
                self.critical = Critical(Rc::new(reply.critical.clone()));
                self.critical_link = Some(Permalink::new(&sc, reply.source.clone()).encode());
                self.mode = Mode::Run;
                self.start(sc, reply.source.clone(), HistoryMode::Push);
            }
            Err(e) => {
                sh.status = ShrinkStatus::Failed(format!(
                    "the shrunk scenario is invalid: {}",
                    crate::view::errors_line(&e)
                ));
            }
        }
    }

    /// Runs B: the run view's choices with the overrides.
    fn compare_run(&mut self) {
        let Some(a) = self.view.clone() else {
            self.compare.error = Some("run a scenario first: B replays its decisions".into());
            return;
        };
        if self.compare.overrides.is_empty() {
            self.compare.error = Some("pick at least one toggle to flip".into());
            return;
        }
        match ab::b_request(&a, &self.compare.overrides) {
            Ok((sc, src)) => {
                self.compare.error = None;
                self.compare.view = None;
                self.start_for(Rc::new(sc), src, HistoryMode::Replace, RunPurpose::CompareB);
            }
            Err(e) => self.compare.error = Some(e),
        }
    }

    /// Critical decisions of the run view's run (empty for another run).
    pub fn critical_for_view(&self) -> Critical {
        match (&self.view, &self.critical_link) {
            (Some(v), Some(l)) if &v.link == l => self.critical.clone(),
            _ => Critical::default(),
        }
    }

    fn open_link(&mut self, link: &str) {
        let link = link.trim();
        let link = link.strip_prefix('#').unwrap_or(link);
        let link = link.strip_prefix("run=").unwrap_or(link);
        if link.is_empty() {
            return;
        }
        let p = match Permalink::decode(link) {
            Ok(p) => p,
            Err(e) => {
                self.banner = Some(Banner {
                    kind: BannerKind::Error,
                    title: "This link cannot be opened".into(),
                    detail: format!("{e}. The editor still holds the previous scenario."),
                    rerun: false,
                });
                return;
            }
        };
        if !p.is_current_model() {
            self.set_text(p.scenario_text.clone());
            if let ChoiceSource::Seed(seed) = p.source {
                self.seed = seed;
            }
            self.banner = Some(Banner {
                kind: BannerKind::Warning,
                title: format!(
                    "This link was made with model version {}; this is model version {}",
                    p.model_version, MODEL_VERSION
                ),
                detail:
                    "Replaying it with this model could show a different run, so it was not run. \
                         The scenario is in the editor."
                        .into(),
                rerun: true,
            });
            self.stale_link = Some(Rc::new(p));
            return;
        }
        self.compare.pending = !p.compare.is_empty();
        if self.compare.pending {
            self.compare.overrides = p.compare.clone();
            self.compare.view = None;
        }
        match p.scenario() {
            Ok(sc) => {
                let sc = Rc::new(sc);
                // A link's scenario is a preset or its own: not an edit of
                // whatever the page held before.
                self.base_preset = None;
                self.adopt_scenario(p.scenario_text.clone(), sc.clone());
                self.banner = None;
                self.stale_link = None;
                self.seed = match &p.source {
                    ChoiceSource::Seed(s) => *s,
                    ChoiceSource::Replay { seed, .. } => *seed,
                    _ => self.seed,
                };
                self.start(sc, p.source.clone(), HistoryMode::Replace);
            }
            Err(e) => {
                self.banner = Some(Banner {
                    kind: BannerKind::Error,
                    title: "This link cannot be opened".into(),
                    detail: e.to_string(),
                    rerun: false,
                });
            }
        }
    }
}

/// Sockets split the CPUs evenly: when the CPU count changes, sockets drop
/// to the largest count that still divides it, so the edit stays valid.
fn sockets_follow_cpus(text: String, cpus: &str) -> String {
    let Ok(cpus) = cpus.trim().parse::<u32>() else {
        return text;
    };
    let Some(sockets) = form::get(&text, Field::Sockets).and_then(|v| v.trim().parse::<u32>().ok())
    else {
        return text;
    };
    if cpus == 0 || (sockets <= cpus && cpus % sockets.max(1) == 0) {
        return text;
    }
    let fit = (1..=sockets.min(cpus))
        .rev()
        .find(|d| cpus % d == 0)
        .unwrap_or(1);
    form::set(&text, Field::Sockets, &fit.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::view::tests_support::corrupting_r1_seed;

    fn replay(actions: Vec<Action>) -> AppState {
        actions.into_iter().fold(AppState::new(), |s, a| s.apply(a))
    }

    fn finish(s: &AppState) -> AppState {
        let r = s.request.clone().expect("a run was requested");
        let mut sim = oomlab_core::Sim::new(&r.scenario, r.source.clone());
        while sim.step() {}
        let view = RunView::build(&r.scenario, &r.source, &mut sim, Vec::new());
        s.apply(Action::Finished {
            id: r.id,
            view: Rc::new(view),
        })
    }

    #[test]
    fn starts_with_r1_valid_and_idle() {
        let s = AppState::new();
        assert_eq!(s.preset.as_deref(), Some("r1"));
        assert!(s.valid.is_some() && s.errors.is_empty());
        assert_eq!(s.status, RunStatus::Idle);
    }

    #[test]
    fn presets_open_on_their_showcase_seed_and_the_highlight_follows_the_scenario() {
        let s = AppState::new();
        assert_eq!(s.seed, presets::find("r1").unwrap().showcase_seed);
        let s = s
            .apply(Action::SetSeed(77))
            .apply(Action::LoadPreset("r4".into()));
        assert_eq!(s.seed, presets::find("r4").unwrap().showcase_seed);
        assert_eq!(s.preset.as_deref(), Some("r4"));
        assert_eq!(
            s.request.as_ref().unwrap().source,
            ChoiceSource::Seed(s.seed)
        );
        // An edit leaves no preset highlighted, but remembers the base.
        let e = s.apply(Action::EditText(s.text.replace("cpus = 8", "cpus = 4")));
        assert!(e.errors.is_empty(), "{:?}", e.errors);
        assert_eq!(
            (e.preset.as_deref(), e.base_preset.as_deref()),
            (None, Some("r4"))
        );
        // Undoing the edit highlights it again.
        let u = e.apply(Action::EditText(s.text.clone()));
        assert_eq!(u.preset.as_deref(), Some("r4"));
        // A permalink of R5 highlights R5.
        let sc = presets::find("r5").unwrap().load();
        let link = Permalink::new(&sc, ChoiceSource::Seed(9)).encode();
        let l = AppState::new().apply(Action::OpenLink(link));
        assert_eq!(l.preset.as_deref(), Some("r5"));
        assert_eq!(l.seed, 9);
    }

    #[test]
    fn sockets_follow_the_cpu_count() {
        for (cpus, sockets) in [("1", "1"), ("3", "1"), ("6", "2"), ("8", "2"), ("4", "2")] {
            let s = AppState::new().apply(Action::SetField(Field::Cpus, cpus.into()));
            assert!(s.errors.is_empty(), "cpus {cpus}: {:?}", s.errors);
            assert!(s.can_run());
            let m = &s.valid.as_ref().unwrap().scenario.machine;
            assert_eq!(m.cpus.to_string(), cpus);
            assert_eq!(m.sockets.to_string(), sockets, "cpus {cpus}");
        }
        // Sockets set by hand to something impossible is an error on that field.
        let s = AppState::new().apply(Action::SetField(Field::Sockets, "3".into()));
        assert!(!s.can_run());
        let e = &s.errors[0];
        assert_eq!(AppState::error_field(e), Some(Field::Sockets), "{e:?}");
    }

    #[test]
    fn invalid_text_keeps_last_valid_scenario_and_reports_line() {
        let s = replay(vec![Action::EditText(
            "version = 1\n[machine]\ncpus = = 3\n".into(),
        )]);
        assert!(!s.errors.is_empty());
        assert!(s.errors.iter().any(|e| e.line == Some(3)), "{:?}", s.errors);
        let valid_title = s.valid.as_ref().unwrap().scenario.title.clone();
        assert!(valid_title.starts_with("R1"));
        // Run does nothing: it never runs the older scenario in its place.
        assert!(!s.can_run());
        let s = s.apply(Action::Run);
        assert!(!s.running() && s.request.is_none());
        assert!(s.text.contains("= = 3"), "the text is kept");
    }

    #[test]
    fn run_finish_writes_a_pushed_link_and_stale_finishes_are_ignored() {
        let seed = corrupting_r1_seed();
        let s = replay(vec![Action::SetSeed(seed), Action::Run]);
        let first = s.request.clone().unwrap();
        let s = s.apply(Action::Run); // a second run supersedes the first
        let stale = s.apply(Action::Finished {
            id: first.id,
            view: Rc::new(crate::view::tests_support::run("r1", seed)),
        });
        assert!(stale.view.is_none() && stale.running());
        let done = finish(&s);
        assert_eq!(done.status, RunStatus::Done);
        let v = done.view.clone().unwrap();
        assert_eq!(v.result.outcomes[0].code(), "zeros_in_file");
        let (frag, mode) = done.url.clone().unwrap();
        assert_eq!(mode, HistoryMode::Replace, "the page's first run replaces");
        let second = finish(&done.apply(Action::Run));
        assert_eq!(second.url.clone().unwrap().1, HistoryMode::Push);
        assert_eq!(frag, format!("run={}", v.link));

        // Opening that link in a fresh state replays the same run, replacing history.
        let fresh = AppState::new().apply(Action::OpenLink(format!("#{frag}")));
        assert!(fresh.banner.is_none());
        assert_eq!(
            fresh.request.as_ref().unwrap().history,
            HistoryMode::Replace
        );
        let again = finish(&fresh);
        let v2 = again.view.unwrap();
        assert_eq!(v2.result.trace_hash, v.result.trace_hash);
        assert_eq!(v2.first_bad(), v.first_bad());
    }

    #[test]
    fn bad_links_show_a_banner_and_keep_the_editor() {
        let s = AppState::new();
        let link = s.current_link().unwrap();
        let cut = &link[..link.len() / 2];
        for bad in [cut.to_string(), "v9.abcd".into(), "garbage".into()] {
            let t = s.apply(Action::OpenLink(format!("run={bad}")));
            let b = t.banner.clone().expect("banner");
            assert_eq!(b.kind, BannerKind::Error);
            assert_eq!(t.text, s.text);
            assert!(t.request.is_none());
            assert!(t.apply(Action::DismissBanner).banner.is_none());
        }
    }

    #[test]
    fn other_model_version_offers_rerun() {
        let sc = presets::find("r1").unwrap().load();
        let mut p = Permalink::new(&sc, ChoiceSource::Seed(3));
        p.model_version = MODEL_VERSION + 1;
        let s = AppState::new().apply(Action::OpenLink(p.encode()));
        let b = s.banner.clone().unwrap();
        assert_eq!(b.kind, BannerKind::Warning);
        assert!(b.rerun && s.request.is_none());
        assert_eq!(s.seed, 3);
        let s = s.apply(Action::RerunCurrentModel);
        assert!(s.banner.is_none() && s.running());
    }

    #[test]
    fn form_toggle_edits_text_and_fix_engages() {
        let s = replay(vec![
            Action::SetSeed(corrupting_r1_seed()),
            Action::SetField(Field::UnstableCheck, "pre_pte".into()),
        ]);
        assert!(s.text.contains("unstable_check = \"pre_pte\""));
        assert!(s.errors.is_empty());
        assert_eq!(s.url.as_ref().unwrap().1, HistoryMode::Replace);
        let done = finish(&s.apply(Action::Run));
        let codes: Vec<&str> = done
            .view
            .unwrap()
            .result
            .outcomes
            .iter()
            .map(|o| o.code())
            .collect();
        assert!(codes.contains(&"fix_engaged"), "{codes:?}");
        assert!(!codes.contains(&"zeros_in_file"), "{codes:?}");
    }

    #[test]
    fn cancel_stops_and_progress_after_cancel_is_ignored() {
        let s = replay(vec![Action::Run]);
        let id = s.request.as_ref().unwrap().id;
        let s = s.apply(Action::Cancel);
        assert_eq!(s.status, RunStatus::Cancelled);
        let s = s.apply(Action::Progress {
            id,
            steps: 5,
            t_ns: 5,
        });
        assert_eq!(s.status, RunStatus::Cancelled);
    }

    fn explore_to_the_end(s: AppState) -> AppState {
        let job = s.explorer.job.clone().expect("an exploration started");
        let mut s = s;
        for (k, &(a, b)) in job.pieces.iter().enumerate() {
            let text = crate::explorer::run_piece(&job.text, job.kind.name(), job.base_seed, a, b)
                .unwrap();
            s = s.apply(Action::ExplorePiece {
                id: job.id,
                start: a,
                report: Rc::new(crate::wire::report_from_text(&text).unwrap()),
                now_ms: 1000.0 * (k as f64 + 1.0),
            });
        }
        s
    }

    #[test]
    fn explore_finishes_opens_a_bucket_run_and_goes_stale_on_edit() {
        let s = replay(vec![
            Action::SetMode(Mode::Explore),
            Action::ExploreRuns(20),
            Action::ExploreStart {
                workers: 2,
                now_ms: 0.0,
            },
        ]);
        assert!(s.explorer.busy());
        // Settings are locked while it runs.
        let s = s.apply(Action::ExploreRuns(5));
        assert_eq!(s.explorer.runs, 20);
        let s = explore_to_the_end(s);
        assert_eq!(s.explorer.status, crate::explorer::ExploreStatus::Done);
        assert_eq!(s.explorer.report.runs, 20);
        let hits: u64 = s.explorer.report.histogram.values().sum();
        assert!(hits >= 20);
        let zeros = s.explorer.report.histogram.get("zeros_in_file").copied();
        assert!(zeros.unwrap_or(0) > 0, "R1 corrupts in some of 20 runs");
        let v = s
            .explorer
            .verdicts
            .iter()
            .find(|v| v.outcome == "zeros_in_file")
            .unwrap();
        assert_eq!(v.expected, Some(oomlab_core::explore::Verdict::Sometimes));
        assert!(v.holds);
        // A bucket's run opens in the run view and reproduces its outcome.
        let b = &s.explorer.report.buckets[0];
        let rr = b.first[0].clone();
        let opened = s.apply(Action::OpenBucketRun(rr.clone()));
        assert_eq!(opened.mode, Mode::Run);
        assert_eq!(opened.request.as_ref().unwrap().source, rr.source);
        let done = finish(&opened);
        let codes: Vec<String> = done
            .view
            .unwrap()
            .result
            .outcomes
            .iter()
            .map(|o| o.code().to_string())
            .collect();
        assert_eq!(codes, rr.outcomes);
        // Editing the scenario marks the results stale; a running one stops.
        let running = replay(vec![Action::ExploreStart {
            workers: 1,
            now_ms: 0.0,
        }]);
        let edited = running.apply(Action::SetField(Field::Cpus, "4".into()));
        assert_eq!(
            edited.explorer.status,
            crate::explorer::ExploreStatus::Stale
        );
        let edited = s.apply(Action::EditText(s.text.replace("cpus = 8", "cpus = 4")));
        assert_eq!(
            edited.explorer.status,
            crate::explorer::ExploreStatus::Stale
        );
        assert_eq!(
            edited.explorer.report.runs, 20,
            "stale results stay visible"
        );
    }

    #[test]
    fn shrink_replaces_the_run_with_the_shrunk_one_and_keeps_the_outcome() {
        let seed = corrupting_r1_seed();
        let done = finish(&replay(vec![Action::SetSeed(seed), Action::Run]));
        let before = done.view.clone().unwrap();
        assert!(matches!(before.source, ChoiceSource::Seed(_)));
        let s = done.apply(Action::Shrink);
        let req = s.shrink.as_ref().unwrap().request.clone();
        assert_eq!(req.target, "zeros_in_file");
        // What the worker does.
        let mut calls = 0;
        let reply = crate::wire::ShrinkReply::compute(
            &req.text,
            &req.source,
            &req.target,
            req.max_runs,
            &mut |_| calls += 1,
        )
        .unwrap();
        assert!(calls > 0);
        let s = s.apply(Action::ShrinkProgress {
            id: req.id,
            runs: 3,
        });
        let s = s.apply(Action::ShrinkDone {
            id: req.id,
            reply: Rc::new(reply.clone()),
        });
        assert!(matches!(
            s.shrink.as_ref().unwrap().status,
            ShrinkStatus::Done(_)
        ));
        assert_eq!(s.text, reply.scenario);
        assert_eq!(s.request.as_ref().unwrap().source, reply.source);
        let after = finish(&s);
        let v = after.view.clone().unwrap();
        assert_eq!(v.result.outcomes[0].code(), "zeros_in_file");
        let devs = match &v.source {
            ChoiceSource::Deviations { devs, .. } => devs.len() as u64,
            other => panic!("{other:?}"),
        };
        assert!(devs < reply.original_deviations);
        assert_eq!(after.critical_for_view(), after.critical);
        // A late progress message does not revive it.
        let late = after.apply(Action::ShrinkProgress {
            id: req.id,
            runs: 9,
        });
        assert!(matches!(late.shrink.unwrap().status, ShrinkStatus::Done(_)));
    }

    #[test]
    fn compare_with_pre_pte_and_its_link_replays_both_sides() {
        let seed = corrupting_r1_seed();
        let done = finish(&replay(vec![Action::SetSeed(seed), Action::Run]));
        let s = done.apply(Action::SetMode(Mode::Compare));
        assert_eq!(
            s.compare.overrides,
            vec!["kernel.unstable_check=pre_pte".to_string()]
        );
        let s = s.apply(Action::CompareRun);
        assert_eq!(s.request.as_ref().unwrap().purpose, RunPurpose::CompareB);
        let s = finish(&s);
        let ab = s.compare.view.clone().expect("a comparison");
        assert!(ab.divergence.is_some());
        let b: Vec<&str> = ab.b.result.outcomes.iter().map(|o| o.code()).collect();
        assert!(
            b.contains(&"fix_engaged") && !b.contains(&"zeros_in_file"),
            "{b:?}"
        );
        // The run view keeps A.
        assert_eq!(s.view.as_ref().unwrap().link, ab.a.link);
        let (frag, mode) = s.url.clone().unwrap();
        assert_eq!(frag, format!("run={}", ab.link));
        assert_eq!(mode, HistoryMode::Replace);
        // The A/B link in a fresh page: A runs, then B, then the comparison.
        let fresh = AppState::new().apply(Action::OpenLink(frag));
        assert!(fresh.compare.pending);
        let fresh = finish(&finish(&fresh));
        assert_eq!(fresh.mode, Mode::Compare);
        let ab2 = fresh.compare.view.clone().unwrap();
        assert_eq!(ab2.divergence, ab.divergence);
        assert_eq!(ab2.b.result.trace_hash, ab.b.result.trace_hash);
        // Nothing to flip: an error, no run.
        let none = done
            .apply(Action::SetMode(Mode::Compare))
            .apply(Action::CompareSet {
                path: "kernel.unstable_check".into(),
                value: "none".into(),
            })
            .apply(Action::CompareRun);
        assert!(none.compare.error.is_some());
        assert!(!none.running());
    }

    #[test]
    fn step_position_is_clamped_and_reset_by_a_new_run() {
        let s = replay(vec![Action::StepReady(100), Action::StepTo(250)]);
        assert_eq!(s.step, 100);
        let s = s.apply(Action::StepTo(42));
        assert_eq!(s.step, 42);
        let s = s.apply(Action::Run);
        assert_eq!((s.step, s.step_total), (0, None));
    }

    #[test]
    fn challenge_commands_go_to_the_edge_and_views_come_back() {
        let s = replay(vec![Action::SetMode(Mode::Challenge)]);
        let (id, cmd) = s.game.cmd.clone().expect("entering loads level 1");
        assert_eq!(cmd, GameCmd::Start("l1".into()));
        assert!(s.game.busy);
        let mut g = None;
        crate::game::apply(&mut g, &cmd).unwrap();
        let v = Rc::new(crate::game::GameView::of("l1", &g.as_ref().unwrap().1));
        // A reply to an older command is ignored.
        let stale = s.apply(Action::GameUpdated {
            id: id - 1,
            view: Ok(v.clone()),
        });
        assert!(stale.game.view.is_none());
        let s = s.apply(Action::GameUpdated { id, view: Ok(v) });
        assert!(!s.game.busy && s.game.view.is_some());
        let s = s.apply(Action::Game(GameCmd::Answer(1)));
        let (id2, _) = s.game.cmd.clone().unwrap();
        let s = s.apply(Action::GameUpdated {
            id: id2,
            view: Err("no level is loaded".into()),
        });
        assert_eq!(s.game.error.as_deref(), Some("no level is loaded"));
        assert!(s.game.view.is_some(), "the last view stays");
    }

    #[test]
    fn a_shrunk_run_with_critical_decisions_marks_them_on_its_view() {
        // The page marks whatever critical decisions the worker reports. A
        // long run's shrink seldom verifies them within the page's budget,
        // so the reply here is the worker's, with one of the shrunk run's
        // own recorded decisions named critical.
        let (_, sc) = crate::game::level_scenario("l2").unwrap();
        let sol = oomlab_core::challenge::solve(&sc, 3000).unwrap();
        let mut g = oomlab_core::challenge::Game::new(&sc).unwrap();
        for a in sol {
            g.answer(a);
        }
        g.play_out();
        assert!(g.won());
        let link = g.permalink().unwrap().encode();
        let s = finish(&AppState::new().apply(Action::OpenLink(link)));
        let s = s.apply(Action::Shrink);
        let req = s.shrink.as_ref().unwrap().request.clone();
        let mut reply =
            crate::wire::ShrinkReply::compute(&req.text, &req.source, &req.target, 50, &mut |_| {})
                .unwrap();
        let devs = match &reply.source {
            ChoiceSource::Deviations { devs, .. } => devs.clone(),
            other => panic!("{other:?}"),
        };
        let shrunk_sc = parse_scenario(&reply.scenario).unwrap();
        let mut sim = oomlab_core::sim::Sim::new(&shrunk_sc, reply.source.clone());
        sim.run_to_end(u64::MAX);
        // The last decision that is not the default, or the last one.
        let index = devs
            .last()
            .map_or(sim.recorded_choices().len() as u32 - 1, |d| d.0);
        let c = sim.recorded_choices()[index as usize];
        reply.critical = vec![oomlab_core::shrink::CriticalChoice {
            index,
            value: c.value,
            kind: c.kind.name().to_string(),
            options: c.options,
            near_event: c.event,
        }];
        let s = finish(&s.apply(Action::ShrinkDone {
            id: req.id,
            reply: Rc::new(reply.clone()),
        }));
        let v = s.view.clone().unwrap();
        assert_eq!(v.result.outcomes[0].code(), "zeros_in_file");
        let crit = s.critical_for_view();
        assert_eq!(crit.0.len(), reply.critical.len());
        for c in crit.0.iter() {
            assert!(
                v.trace_pos(c.near_event).is_some(),
                "critical decision {c:?} is on the trace"
            );
            // And it is a recorded decision of the shown run.
            assert!((c.index as usize) < v.choices.len());
        }
        // Another run has no critical decisions to show.
        let other = finish(&s.apply(Action::Run));
        assert!(other.critical_for_view().0.is_empty());
    }
}
