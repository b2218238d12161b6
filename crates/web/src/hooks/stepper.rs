//! Step-through at the edge: the checkpoints of the run view's run are
//! built here, a slice at a time so the page stays responsive, while the
//! page is in step mode; the state at the current step is derived here too,
//! and the step's last trace record becomes the focus. The step view only
//! displays what it is given.

use crate::state::{Action, AppState, Mode};
use crate::stepper::{Landmark, StepState, Stepper, CHECKPOINT_EVERY};
use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;
use yew::prelude::*;

type Shared = Rc<RefCell<Option<(String, Stepper)>>>;

/// The state at a step, for props (compared by run and step).
#[derive(Clone)]
pub struct Shown {
    pub link: String,
    pub step: u64,
    pub state: Rc<StepState>,
}

impl PartialEq for Shown {
    fn eq(&self, o: &Self) -> bool {
        self.link == o.link && self.step == o.step
    }
}

pub struct StepperHandle {
    /// Trace records covered by the checkpoints built so far.
    pub built: u64,
    pub shown: Option<Shown>,
    /// "Run to the next kill/reap/copy/fault" from the current step.
    pub on_next: Callback<Landmark>,
}

#[hook]
pub fn use_stepper(state: &UseReducerHandle<AppState>) -> StepperHandle {
    let stepper: Shared = use_mut_ref(|| None);
    let built = use_state(|| 0u64);
    let stepping = state.mode == Mode::Step;
    let link = state.view.as_ref().map(|v| v.link.clone());
    // (Re)build the checkpoints when the run changes, in step mode.
    {
        let stepper = stepper.clone();
        let built = built.clone();
        let d = state.dispatcher();
        let view = state.view.clone();
        use_effect_with((link.clone(), stepping), move |(link, stepping)| {
            let (Some(link), true, Some(v)) = (link.clone(), *stepping, view) else {
                return;
            };
            let fresh = stepper.borrow().as_ref().map(|s| &s.0) != Some(&link);
            if fresh {
                *stepper.borrow_mut() = Some((
                    link.clone(),
                    Stepper::start(&v.scenario, &v.source, CHECKPOINT_EVERY),
                ));
                yew::platform::spawn_local(async move {
                    loop {
                        let done = {
                            let mut b = stepper.borrow_mut();
                            match b.as_mut() {
                                Some((l, s)) if *l == link => {
                                    let d = s.build(20_000);
                                    built.set(s.trace_len_at(u64::MAX));
                                    d.then(|| s.steps())
                                }
                                _ => return,
                            }
                        };
                        if let Some(total) = done {
                            d.dispatch(Action::StepReady(total));
                            return;
                        }
                        yew::platform::time::sleep(Duration::ZERO).await;
                    }
                });
            } else if let Some((_, s)) = stepper.borrow().as_ref() {
                if s.is_built() {
                    d.dispatch(Action::StepReady(s.steps()));
                }
            }
        });
    }
    let shown = {
        let stepper = stepper.clone();
        let view = state.view.clone();
        use_memo(
            (link.clone(), state.step, state.step_total, stepping),
            move |(link, step, total, stepping)| {
                let (Some(link), Some(total), true, Some(v)) =
                    (link.clone(), *total, *stepping, view)
                else {
                    return None;
                };
                let k = (*step).min(total);
                stepper
                    .borrow()
                    .as_ref()
                    .filter(|(l, s)| *l == link && s.is_built())
                    .map(|(_, s)| Shown {
                        link: link.clone(),
                        step: k,
                        state: Rc::new(s.state_at(k, v.victim)),
                    })
            },
        )
    };
    // Keep the timeline and the trace on the record this step wrote last.
    let last = (*shown)
        .as_ref()
        .and_then(|s| s.state.trace_len.checked_sub(1));
    {
        let d = state.dispatcher();
        use_effect_with(last, move |l| {
            if l.is_some() {
                d.dispatch(Action::Focus(*l));
            }
        });
    }
    let on_next = {
        let d = state.dispatcher();
        let view = state.view.clone();
        let k = (*shown).as_ref().map_or(0, |s| s.step);
        Callback::from(move |what: Landmark| {
            let t = view.as_ref().and_then(|v| {
                stepper
                    .borrow()
                    .as_ref()
                    .and_then(|(_, s)| s.next(&v.trace, k, what))
            });
            if let Some(t) = t {
                d.dispatch(Action::StepTo(t));
            }
        })
    };
    StepperHandle {
        built: *built,
        shown: (*shown).clone(),
        on_next,
    }
}
