//! `rw_semaphore` with the fairness of 4.13 (`kernel/locking/rwsem-xadd.c`):
//! `down_read_trylock` fails while any waiter is queued; `down_read` queues behind
//! a waiting writer in `TASK_UNINTERRUPTIBLE`; `down_write` waits for all readers.
//! The "unfair" trylock of Andrea's proposal succeeds whenever no writer is
//! *active*, ignoring queued ones.

use crate::kernel::sched::TaskState;
use crate::sim::{Sim, Tid};
use crate::trace::TraceKind;
use std::collections::VecDeque;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RwKind {
    Read,
    Write,
}

#[derive(Clone, Debug)]
pub struct RwSem {
    pub name: &'static str,
    pub readers: u32,
    /// Tasks holding it for read (for the wait-for graph).
    pub reader_tids: Vec<Tid>,
    pub writer: Option<Tid>,
    pub waiters: VecDeque<(Tid, RwKind)>,
}

impl RwSem {
    pub fn new(name: &'static str) -> RwSem {
        RwSem {
            name,
            readers: 0,
            reader_tids: Vec::new(),
            writer: None,
            waiters: VecDeque::new(),
        }
    }

    /// `down_read_trylock` (fair) or `down_read_trylock_unfair`.
    pub fn can_trylock_read(&self, unfair: bool) -> bool {
        self.writer.is_none() && (unfair || self.waiters.is_empty())
    }

    fn grant_read(&mut self, tid: Tid) {
        self.readers += 1;
        self.reader_tids.push(tid);
    }
}

impl Sim {
    fn sem(&mut self, mm: u32) -> &mut RwSem {
        &mut self.mms[mm as usize].mmap_sem
    }

    /// `down_read(&mm->mmap_sem)`: true if taken now; otherwise the task sleeps
    /// in TASK_UNINTERRUPTIBLE and holds the lock when woken.
    pub(crate) fn down_read(&mut self, mm: u32, tid: Tid) -> bool {
        let s = self.sem(mm);
        if s.writer.is_none() && s.waiters.is_empty() {
            s.grant_read(tid);
            self.tr(
                tid,
                "down_read",
                TraceKind::Lock,
                "mmap_sem acquired".into(),
            );
            true
        } else {
            s.waiters.push_back((tid, RwKind::Read));
            let why = if s.writer.is_some() {
                "writer active"
            } else {
                "writer queued"
            };
            self.tr(
                tid,
                "down_read",
                TraceKind::Lock,
                format!("mmap_sem wait ({why})"),
            );
            self.sleep_task(tid, TaskState::Uninterruptible, None, "mmap_sem");
            false
        }
    }

    pub(crate) fn down_read_trylock(&mut self, mm: u32, tid: Tid, unfair: bool) -> bool {
        let s = self.sem(mm);
        let ok = s.can_trylock_read(unfair);
        let why = if ok {
            "acquired"
        } else if s.writer.is_some() {
            "failed: writer active"
        } else {
            "failed: waiter queued"
        };
        if ok {
            s.grant_read(tid);
        }
        let f = if unfair {
            "down_read_trylock_unfair"
        } else {
            "down_read_trylock"
        };
        self.tr(tid, f, TraceKind::Lock, format!("mmap_sem {why}"));
        ok
    }

    /// `down_write`: true if taken now, else sleeps until handed the lock.
    pub(crate) fn down_write(&mut self, mm: u32, tid: Tid) -> bool {
        let s = self.sem(mm);
        if s.writer.is_none() && s.readers == 0 && s.waiters.is_empty() {
            s.writer = Some(tid);
            self.tr(
                tid,
                "down_write",
                TraceKind::Lock,
                "mmap_sem acquired".into(),
            );
            true
        } else {
            s.waiters.push_back((tid, RwKind::Write));
            self.tr(tid, "down_write", TraceKind::Lock, "mmap_sem wait".into());
            self.sleep_task(tid, TaskState::Uninterruptible, None, "mmap_sem");
            false
        }
    }

    pub(crate) fn up_read(&mut self, mm: u32, tid: Tid) {
        let s = self.sem(mm);
        let pos = s.reader_tids.iter().position(|t| *t == tid);
        debug_assert!(pos.is_some(), "up_read by a non-reader");
        if let Some(p) = pos {
            s.reader_tids.swap_remove(p);
        }
        s.readers -= 1;
        self.tr(tid, "up_read", TraceKind::Lock, "mmap_sem released".into());
        let s = self.sem(mm);
        if s.readers == 0 {
            self.rwsem_wake(mm, tid);
        }
    }

    pub(crate) fn up_write(&mut self, mm: u32, tid: Tid) {
        let s = self.sem(mm);
        debug_assert_eq!(s.writer, Some(tid));
        s.writer = None;
        self.tr(tid, "up_write", TraceKind::Lock, "mmap_sem released".into());
        self.rwsem_wake(mm, tid);
    }

    /// `__rwsem_mark_wake`: a writer at the head gets the lock alone; readers at
    /// the head are all woken together, up to the first writer.
    fn rwsem_wake(&mut self, mm: u32, waker: Tid) {
        let mut woken = Vec::new();
        {
            let s = self.sem(mm);
            match s.waiters.front() {
                None => return,
                Some((t, RwKind::Write)) => {
                    let t = *t;
                    s.waiters.pop_front();
                    s.writer = Some(t);
                    woken.push(t);
                }
                Some((_, RwKind::Read)) => {
                    while let Some((t, RwKind::Read)) = s.waiters.front().copied() {
                        s.waiters.pop_front();
                        s.grant_read(t);
                        woken.push(t);
                    }
                }
            }
        }
        let cpu = self.cpu_of(waker);
        for t in woken {
            let pid = self.tasks[t as usize].pid;
            self.tr(
                waker,
                "rwsem_wake",
                TraceKind::Lock,
                format!("mmap_sem handed to {pid}"),
            );
            self.wake_up_process(t, cpu);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trylock_fairness() {
        let mut s = RwSem::new("mmap_sem");
        assert!(s.can_trylock_read(false));
        s.grant_read(1);
        // A reader is active and a writer queues behind it.
        s.waiters.push_back((2, RwKind::Write));
        assert!(
            !s.can_trylock_read(false),
            "fair trylock must fail with a queued writer"
        );
        assert!(
            s.can_trylock_read(true),
            "unfair trylock ignores queued writers"
        );
        // An active writer defeats both.
        let mut w = RwSem::new("mmap_sem");
        w.writer = Some(3);
        assert!(!w.can_trylock_read(false));
        assert!(!w.can_trylock_read(true));
    }
}
