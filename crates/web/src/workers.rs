//! The page's side of the Web Workers (static/worker.js): a pool for the
//! explorer and one worker per shrink. Workers are module workers that load
//! the same wasm bundle as the page. The pool hands out the job's pieces in
//! order to whichever worker is idle; results go to the reducer as actions,
//! which merges them in range order (see `explorer.rs`), so the number of
//! workers changes only the speed. Cancelling terminates the workers, which
//! stops a piece mid-run; pausing lets the pieces in flight finish.

use crate::app::now_ms;
use crate::explorer::{ExploreJob, StrategyKind, CHUNK_EXHAUSTIVE};
use crate::rewind::{PointReply, RewindJob};
use crate::state::{Action, AppState, ShrinkRequest};
use crate::wire;
use std::cell::RefCell;
use std::collections::VecDeque;
use std::rc::{Rc, Weak};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{MessageEvent, Worker, WorkerOptions, WorkerType};
use yew::prelude::*;

type Dispatch = UseReducerDispatcher<AppState>;

/// A worker and its message handler, which must live as long as it does.
struct Slot {
    worker: Worker,
    busy: bool,
    _on_message: Closure<dyn FnMut(MessageEvent)>,
    _on_error: Closure<dyn FnMut(web_sys::Event)>,
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.worker.terminate();
    }
}

/// Terminates the workers now and drops their handlers on the next turn of
/// the event loop: a handler may be the code running right now (a message
/// whose action ended the job), and dropping a running closure is an error.
fn retire(slots: Vec<Slot>) {
    for s in &slots {
        s.worker.terminate();
    }
    if !slots.is_empty() {
        yew::platform::spawn_local(async move { drop(slots) });
    }
}

fn spawn(
    on_message: Closure<dyn FnMut(MessageEvent)>,
    on_error: Closure<dyn FnMut(web_sys::Event)>,
) -> Result<Slot, JsValue> {
    let opts = WorkerOptions::new();
    opts.set_type(WorkerType::Module);
    let worker = Worker::new_with_options("worker.js", &opts)?;
    worker.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    worker.set_onerror(Some(on_error.as_ref().unchecked_ref()));
    Ok(Slot {
        worker,
        busy: false,
        _on_message: on_message,
        _on_error: on_error,
    })
}

fn message(fields: &[(&str, JsValue)]) -> JsValue {
    let o = js_sys::Object::new();
    for (k, v) in fields {
        let _ = js_sys::Reflect::set(&o, &JsValue::from_str(k), v);
    }
    o.into()
}

fn field(data: &JsValue, k: &str) -> JsValue {
    js_sys::Reflect::get(data, &JsValue::from_str(k)).unwrap_or(JsValue::UNDEFINED)
}

fn text(data: &JsValue, k: &str) -> String {
    field(data, k).as_string().unwrap_or_default()
}

fn num(data: &JsValue, k: &str) -> f64 {
    field(data, k).as_f64().unwrap_or(0.0)
}

pub struct ExplorePool {
    me: Weak<RefCell<ExplorePool>>,
    dispatch: Dispatch,
    slots: Vec<Slot>,
    job: Option<Rc<ExploreJob>>,
    queue: VecDeque<(u64, u64)>,
    paused: bool,
    finished: bool,
}

impl ExplorePool {
    pub fn new(dispatch: Dispatch) -> Rc<RefCell<ExplorePool>> {
        Rc::new_cyclic(|me| {
            RefCell::new(ExplorePool {
                me: me.clone(),
                dispatch,
                slots: Vec::new(),
                job: None,
                queue: VecDeque::new(),
                paused: false,
                finished: false,
            })
        })
    }

    /// Starts `job` on fresh workers (stopping whatever ran before).
    pub fn start(&mut self, job: Rc<ExploreJob>) {
        self.cancel();
        self.queue = if job.kind == StrategyKind::Exhaustive && job.window.is_none() {
            VecDeque::new()
        } else {
            job.pieces.iter().copied().collect()
        };
        self.paused = false;
        self.finished = false;
        let id = job.id;
        for i in 0..job.workers as usize {
            // The borrow ends before the action is dispatched: the reducer's
            // effects may call back into the pool.
            let me = self.me.clone();
            let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |e: MessageEvent| {
                let Some(p) = me.upgrade() else { return };
                let (act, d) = {
                    let mut pool = p.borrow_mut();
                    (pool.on_message(i, e.data()), pool.dispatch.clone())
                };
                if let Some(a) = act {
                    d.dispatch(a);
                }
                p.borrow_mut().feed(i);
            });
            let me = self.me.clone();
            let on_error = Closure::<dyn FnMut(web_sys::Event)>::new(move |e: web_sys::Event| {
                // A worker that fails to load: stop rather than hang.
                e.prevent_default();
                let Some(p) = me.upgrade() else { return };
                let (act, d) = {
                    let mut pool = p.borrow_mut();
                    (
                        pool.fail(id, "a worker failed to start".into()),
                        pool.dispatch.clone(),
                    )
                };
                d.dispatch(act);
            });
            match spawn(on_message, on_error) {
                Ok(s) => self.slots.push(s),
                Err(e) => {
                    let a = self.fail(id, format!("cannot start a worker: {e:?}"));
                    let d = self.dispatch.clone();
                    // Not from inside the caller's borrow.
                    yew::platform::spawn_local(async move { d.dispatch(a) });
                    return;
                }
            }
        }
        self.job = Some(job);
        for i in 0..self.slots.len() {
            self.feed(i);
        }
    }

    fn fail(&mut self, id: u64, message: String) -> Action {
        self.cancel();
        Action::ExploreFailed {
            id,
            message,
            now_ms: now_ms(),
        }
    }

    /// Gives worker `i` the next piece, unless paused or out of work.
    fn feed(&mut self, i: usize) {
        let Some(job) = self.job.clone() else { return };
        if self.paused || self.slots[i].busy {
            return;
        }
        let msg = if let Some(w) = &job.window {
            let Some((a, b)) = self.queue.pop_front() else {
                return;
            };
            message(&[
                ("id", JsValue::from_f64(job.id as f64)),
                ("kind", "window".into()),
                ("text", job.text.as_str().into()),
                ("strategy", job.kind.name().into()),
                ("seed", job.base_seed.to_string().into()),
                ("spec", w.spec.as_str().into()),
                ("prefixes", JsValue::from_f64(f64::from(w.prefixes))),
                ("runs", JsValue::from_f64(job.total as f64)),
                ("bound", JsValue::from_f64(f64::from(w.bound))),
                ("start", JsValue::from_f64(a as f64)),
                ("end", JsValue::from_f64(b as f64)),
            ])
        } else if job.kind == StrategyKind::Exhaustive {
            if self.finished {
                return;
            }
            message(&[
                ("id", JsValue::from_f64(job.id as f64)),
                ("kind", "exhaustive".into()),
                ("text", job.text.as_str().into()),
                ("seed", job.base_seed.to_string().into()),
                ("total", JsValue::from_f64(job.total as f64)),
                ("n", JsValue::from_f64(CHUNK_EXHAUSTIVE as f64)),
            ])
        } else {
            let Some((a, b)) = self.queue.pop_front() else {
                return;
            };
            message(&[
                ("id", JsValue::from_f64(job.id as f64)),
                ("kind", "explore".into()),
                ("text", job.text.as_str().into()),
                ("strategy", job.kind.name().into()),
                ("seed", job.base_seed.to_string().into()),
                ("start", JsValue::from_f64(a as f64)),
                ("end", JsValue::from_f64(b as f64)),
            ])
        };
        if self.slots[i].worker.post_message(&msg).is_ok() {
            self.slots[i].busy = true;
        }
    }

    /// The action a worker's message leads to.
    fn on_message(&mut self, i: usize, data: JsValue) -> Option<Action> {
        let job = self.job.clone()?;
        if i >= self.slots.len() || num(&data, "id") as u64 != job.id {
            return None;
        }
        self.slots[i].busy = false;
        let now = now_ms();
        Some(match text(&data, "kind").as_str() {
            "piece" => match wire::report_from_text(&text(&data, "report")) {
                Ok(r) => Action::ExplorePiece {
                    id: job.id,
                    start: num(&data, "start") as u64,
                    report: Rc::new(r),
                    now_ms: now,
                },
                Err(e) => self.fail(job.id, e),
            },
            "window" => match wire::window_piece_from_text(&text(&data, "report")) {
                Ok((r, w)) => Action::ExploreWindowPiece {
                    id: job.id,
                    start: num(&data, "start") as u64,
                    report: Rc::new(r),
                    window: Rc::new(w),
                    now_ms: now,
                },
                Err(e) => self.fail(job.id, e),
            },
            "chunk" => {
                let out = text(&data, "out");
                let (head, body) = out.split_once('\n').unwrap_or((&out, ""));
                self.finished = head.ends_with("true");
                match wire::report_from_text(body) {
                    Ok(r) => Action::ExploreChunk {
                        id: job.id,
                        report: Rc::new(r),
                        finished: self.finished,
                        now_ms: now,
                    },
                    Err(e) => self.fail(job.id, e),
                }
            }
            _ => self.fail(job.id, text(&data, "message")),
        })
    }

    pub fn pause(&mut self) {
        self.paused = true;
    }

    pub fn resume(&mut self) {
        if self.paused {
            self.paused = false;
            for i in 0..self.slots.len() {
                self.feed(i);
            }
        }
    }

    /// Terminates the workers (pieces in flight are lost).
    pub fn cancel(&mut self) {
        retire(std::mem::take(&mut self.slots));
        self.queue.clear();
        self.job = None;
    }
}

/// A rewind's workers: checkpoints handed out in order (so each worker's
/// `Rewinder` only moves forward), one point per message.
pub struct RewindPool {
    me: Weak<RefCell<RewindPool>>,
    dispatch: Dispatch,
    slots: Vec<Slot>,
    job: Option<Rc<RewindJob>>,
    next: u32,
}

impl RewindPool {
    pub fn new(dispatch: Dispatch) -> Rc<RefCell<RewindPool>> {
        Rc::new_cyclic(|me| {
            RefCell::new(RewindPool {
                me: me.clone(),
                dispatch,
                slots: Vec::new(),
                job: None,
                next: 0,
            })
        })
    }

    pub fn start(&mut self, job: Rc<RewindJob>) {
        self.cancel();
        self.next = 0;
        let id = job.id;
        for i in 0..job.workers as usize {
            let me = self.me.clone();
            let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |e: MessageEvent| {
                let Some(p) = me.upgrade() else { return };
                let (act, d) = {
                    let mut pool = p.borrow_mut();
                    (pool.on_message(i, e.data()), pool.dispatch.clone())
                };
                if let Some(a) = act {
                    d.dispatch(a);
                }
                p.borrow_mut().feed(i);
            });
            let me = self.me.clone();
            let on_error = Closure::<dyn FnMut(web_sys::Event)>::new(move |e: web_sys::Event| {
                e.prevent_default();
                let Some(p) = me.upgrade() else { return };
                let d = {
                    let mut pool = p.borrow_mut();
                    pool.cancel();
                    pool.dispatch.clone()
                };
                d.dispatch(Action::RewindFailed {
                    id,
                    message: "a worker failed to start".into(),
                });
            });
            match spawn(on_message, on_error) {
                Ok(s) => self.slots.push(s),
                Err(e) => {
                    self.cancel();
                    let d = self.dispatch.clone();
                    let message = format!("cannot start a worker: {e:?}");
                    yew::platform::spawn_local(async move {
                        d.dispatch(Action::RewindFailed { id, message })
                    });
                    return;
                }
            }
        }
        self.job = Some(job);
        for i in 0..self.slots.len() {
            self.feed(i);
        }
    }

    fn feed(&mut self, i: usize) {
        let Some(job) = self.job.clone() else { return };
        if i >= self.slots.len() || self.slots[i].busy || self.next >= job.points {
            return;
        }
        let msg = message(&[
            ("id", JsValue::from_f64(job.id as f64)),
            ("kind", "rewind".into()),
            ("text", job.text.as_str().into()),
            ("source", wire::source_to_text(&job.source).into()),
            ("points", JsValue::from_f64(f64::from(job.points))),
            ("samples", JsValue::from_f64(f64::from(job.samples))),
            ("index", JsValue::from_f64(f64::from(self.next))),
        ]);
        if self.slots[i].worker.post_message(&msg).is_ok() {
            self.slots[i].busy = true;
            self.next += 1;
        }
    }

    fn on_message(&mut self, i: usize, data: JsValue) -> Option<Action> {
        let job = self.job.clone()?;
        if i >= self.slots.len() || num(&data, "id") as u64 != job.id {
            return None;
        }
        self.slots[i].busy = false;
        let fail = |message: String| Action::RewindFailed {
            id: job.id,
            message,
        };
        Some(match text(&data, "kind").as_str() {
            "point" => match PointReply::from_text(&text(&data, "reply")) {
                Ok(r) => Action::RewindPoint {
                    id: job.id,
                    index: num(&data, "index") as u32,
                    reply: Rc::new(r),
                    now_ms: now_ms(),
                },
                Err(e) => fail(e),
            },
            _ => fail(text(&data, "message")),
        })
    }

    /// Terminates the workers (points in flight are lost).
    pub fn cancel(&mut self) {
        retire(std::mem::take(&mut self.slots));
        self.job = None;
    }
}

/// One shrink in its own worker.
pub struct ShrinkWorker {
    slot: Slot,
}

impl ShrinkWorker {
    /// Terminates the worker (its handler may be running: dropped later).
    pub fn stop(self) {
        retire(vec![self.slot]);
    }
}

pub fn start_shrink(req: &ShrinkRequest, dispatch: Dispatch) -> Result<ShrinkWorker, JsValue> {
    let id = req.id;
    let d = dispatch.clone();
    let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |e: MessageEvent| {
        let data = e.data();
        if num(&data, "id") as u64 != id {
            return;
        }
        match text(&data, "kind").as_str() {
            "progress" => d.dispatch(Action::ShrinkProgress {
                id,
                runs: num(&data, "runs") as u64,
            }),
            "shrunk" => match wire::ShrinkReply::from_text(&text(&data, "reply")) {
                Ok(r) => d.dispatch(Action::ShrinkDone {
                    id,
                    reply: Rc::new(r),
                }),
                Err(message) => d.dispatch(Action::ShrinkFailed { id, message }),
            },
            _ => d.dispatch(Action::ShrinkFailed {
                id,
                message: text(&data, "message"),
            }),
        }
    });
    let on_error = Closure::<dyn FnMut(web_sys::Event)>::new(move |e: web_sys::Event| {
        e.prevent_default();
        dispatch.dispatch(Action::ShrinkFailed {
            id,
            message: "the shrink worker failed to start".into(),
        });
    });
    let slot = spawn(on_message, on_error)?;
    slot.worker.post_message(&message(&[
        ("id", JsValue::from_f64(id as f64)),
        ("kind", "shrink".into()),
        ("text", req.text.as_str().into()),
        ("source", wire::source_to_text(&req.source).into()),
        ("target", req.target.as_str().into()),
        ("maxRuns", JsValue::from_f64(req.max_runs as f64)),
    ]))?;
    Ok(ShrinkWorker { slot })
}

/// Logical CPUs, as the browser reports them (at least 1).
pub fn hardware_concurrency() -> u32 {
    web_sys::window()
        .map(|w| w.navigator().hardware_concurrency())
        .map_or(1, |n| (n as u32).clamp(1, 64))
}
