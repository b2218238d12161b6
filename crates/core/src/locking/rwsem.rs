//! `rw_semaphore` with the fairness of 4.13 (`kernel/locking/rwsem-xadd.c`):
//! `down_read_trylock` fails while any waiter is queued; `down_read` queues behind
//! a waiting writer in `TASK_UNINTERRUPTIBLE`; `down_write` waits for all readers.
//! The "unfair" trylock of Andrea's proposal succeeds whenever no writer is
//! *active*, ignoring queued ones.

use crate::kernel::sched::TaskState;
use crate::mm::memory::MmId;
use crate::sim::{Sim, Tid};
use crate::trace::tr;
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

/// Which `rw_semaphore`: an mm's `mmap_sem`, or one of the global ones on the
/// reclaim path.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum RwSemId {
    Mmap(MmId),
    /// `shrinker_rwsem`: `shrink_slab` takes it with a read trylock.
    Shrinker,
    /// The XFS superblock's `s_umount` (`trylock_super`).
    SUmount,
}

impl Sim {
    pub(crate) fn sem(&mut self, id: RwSemId) -> &mut RwSem {
        match id {
            RwSemId::Mmap(mm) => &mut self.mms[mm].mmap_sem,
            RwSemId::Shrinker => &mut self.shrinker_rwsem,
            RwSemId::SUmount => &mut self.s_umount,
        }
    }

    /// `down_read(&mm->mmap_sem)`: true if taken now; otherwise the task sleeps
    /// in TASK_UNINTERRUPTIBLE and holds the lock when woken.
    pub(crate) fn down_read(&mut self, mm: MmId, tid: Tid) -> bool {
        self.down_read_sem(RwSemId::Mmap(mm), tid)
    }

    pub(crate) fn down_read_trylock(&mut self, mm: MmId, tid: Tid, unfair: bool) -> bool {
        self.down_read_trylock_sem(RwSemId::Mmap(mm), tid, unfair)
    }

    pub(crate) fn down_write(&mut self, mm: MmId, tid: Tid) -> bool {
        self.down_write_sem(RwSemId::Mmap(mm), tid)
    }

    pub(crate) fn up_read(&mut self, mm: MmId, tid: Tid) {
        self.up_read_sem(RwSemId::Mmap(mm), tid)
    }

    pub(crate) fn up_write(&mut self, mm: MmId, tid: Tid) {
        self.up_write_sem(RwSemId::Mmap(mm), tid)
    }

    pub(crate) fn down_read_sem(&mut self, id: RwSemId, tid: Tid) -> bool {
        let s = self.sem(id);
        let name = s.name;
        if s.writer.is_none() && s.waiters.is_empty() {
            s.grant_read(tid);
            tr!(self, tid, "down_read", TraceKind::Lock, "{name} acquired");
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
                format!("{name} wait ({why})"),
            );
            self.sleep_task(tid, TaskState::Uninterruptible, None, name);
            false
        }
    }

    pub(crate) fn down_read_trylock_sem(&mut self, id: RwSemId, tid: Tid, unfair: bool) -> bool {
        let s = self.sem(id);
        let name = s.name;
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
        self.tr(tid, f, TraceKind::Lock, format!("{name} {why}"));
        ok
    }

    /// `down_write`: true if taken now, else sleeps until handed the lock.
    pub(crate) fn down_write_sem(&mut self, id: RwSemId, tid: Tid) -> bool {
        let s = self.sem(id);
        let name = s.name;
        if s.writer.is_none() && s.readers == 0 && s.waiters.is_empty() {
            s.writer = Some(tid);
            self.tr(
                tid,
                "down_write",
                TraceKind::Lock,
                format!("{name} acquired"),
            );
            true
        } else {
            s.waiters.push_back((tid, RwKind::Write));
            self.tr(tid, "down_write", TraceKind::Lock, format!("{name} wait"));
            self.sleep_task(tid, TaskState::Uninterruptible, None, name);
            false
        }
    }

    pub(crate) fn up_read_sem(&mut self, id: RwSemId, tid: Tid) {
        let s = self.sem(id);
        let name = s.name;
        let pos = s.reader_tids.iter().position(|t| *t == tid);
        debug_assert!(pos.is_some(), "up_read by a non-reader");
        if let Some(p) = pos {
            s.reader_tids.swap_remove(p);
        }
        s.readers -= 1;
        tr!(self, tid, "up_read", TraceKind::Lock, "{name} released");
        let s = self.sem(id);
        if s.readers == 0 {
            self.rwsem_wake(id, tid);
        }
    }

    pub(crate) fn up_write_sem(&mut self, id: RwSemId, tid: Tid) {
        let s = self.sem(id);
        let name = s.name;
        debug_assert_eq!(s.writer, Some(tid));
        s.writer = None;
        self.tr(tid, "up_write", TraceKind::Lock, format!("{name} released"));
        self.rwsem_wake(id, tid);
    }

    /// `__rwsem_mark_wake`: a writer at the head gets the lock alone; readers at
    /// the head are all woken together, up to the first writer.
    fn rwsem_wake(&mut self, id: RwSemId, waker: Tid) {
        let mut woken = Vec::new();
        let name = self.sem(id).name;
        {
            let s = self.sem(id);
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
            let pid = self.tasks[t].pid;
            self.tr(
                waker,
                "rwsem_wake",
                TraceKind::Lock,
                format!("{name} handed to {pid}"),
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
        s.grant_read(Tid(1));
        // A reader is active and a writer queues behind it.
        s.waiters.push_back((Tid(2), RwKind::Write));
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
        w.writer = Some(Tid(3));
        assert!(!w.can_trylock_read(false));
        assert!(!w.can_trylock_read(true));
    }
}
