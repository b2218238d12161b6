//! The playground's one reducer: `AppState`, `enum Action` and a pure
//! `AppState::apply`. No side effects here: URL writes, timers, the clipboard
//! and running the simulation happen in effects at the edges (app.rs), which
//! read the requests this state records (`request`, `url`). The URL becomes an
//! action (`OpenLink`), never state directly. Tested natively by replaying
//! action lists.

use crate::form::{self, Field};
use crate::view::RunView;
use oomlab_core::hexdump::OdStyle;
use oomlab_core::permalink::Permalink;
use oomlab_core::{parse_scenario, presets, ChoiceSource, ValidScenario, MODEL_VERSION};
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

/// A run the runner effect should execute.
#[derive(Clone, Debug, PartialEq)]
pub struct RunRequest {
    pub id: u64,
    pub scenario: Rc<ValidScenario>,
    pub source: ChoiceSource,
    pub history: HistoryMode,
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
    pub preset: Option<String>,
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
}

pub const DEFAULT_PRESET: &str = "r1";
/// R1 with seed 1 corrupts a file: a good first impression.
pub const DEFAULT_SEED: u64 = 1;

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
            seed: DEFAULT_SEED,
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
        };
        if let Some(p) = presets::find(DEFAULT_PRESET) {
            s.set_text(p.text.to_string());
            s.preset = Some(p.id.to_string());
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

    fn set_text(&mut self, text: String) {
        match parse_scenario(&text) {
            Ok(sc) => {
                self.valid = Some(Rc::new(sc));
                self.errors.clear();
            }
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
            }
        }
        self.text = text;
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

    fn start(&mut self, sc: Rc<ValidScenario>, source: ChoiceSource, history: HistoryMode) {
        let id = self.next_id;
        self.next_id += 1;
        self.request = Some(Rc::new(RunRequest {
            id,
            scenario: sc,
            source,
            history,
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
                    s.preset = Some(p.id.to_string());
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
                let t = form::set(&s.text, f, &v);
                s.set_text(t);
                s.edited();
            }
            Action::SetSeed(seed) => {
                s.seed = seed;
                s.edited();
            }
            Action::Run => {
                if let Some(sc) = s.valid.clone() {
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
                    let mode = s.request.as_ref().map_or(HistoryMode::Push, |r| r.history);
                    s.write_url(view.link.clone(), mode);
                    s.file = view.first_bad().map_or(0, |(i, _)| i);
                    s.view = Some(view);
                    s.status = RunStatus::Done;
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
        }
        s
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
            self.preset = None;
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
        match p.scenario() {
            Ok(sc) => {
                self.text = p.scenario_text.clone();
                self.errors.clear();
                self.preset = None;
                self.banner = None;
                self.stale_link = None;
                let sc = Rc::new(sc);
                self.valid = Some(sc.clone());
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
    fn invalid_text_keeps_last_valid_scenario_and_reports_line() {
        let s = replay(vec![Action::EditText(
            "version = 1\n[machine]\ncpus = = 3\n".into(),
        )]);
        assert!(!s.errors.is_empty());
        assert!(s.errors.iter().any(|e| e.line == Some(3)), "{:?}", s.errors);
        let valid_title = s.valid.as_ref().unwrap().scenario.title.clone();
        assert!(valid_title.starts_with("R1"));
        // Running still works: the last valid scenario runs.
        let s = s.apply(Action::Run);
        assert!(s.running());
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
}
