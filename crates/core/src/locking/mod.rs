//! Sleeping locks: `rw_semaphore` (mmap_sem, shrinker_rwsem, s_umount) with
//! 4.13 fairness, and `mutex` (oom_lock, the XFS reclaim locks).
//!
//! A lock released to waiters is handed over at wake-up time (the waker does the
//! accounting for the woken tasks, as `__rwsem_mark_wake` does for readers).
//! Not modelled: optimistic spinning, lock stealing by a running writer,
//! `RWSEM_ACTIVE_BIAS` arithmetic (the count is kept as explicit fields).

pub mod rwsem;
pub mod waitgraph;

pub use rwsem::{RwKind, RwSem};
pub use waitgraph::{HangEvidence, WaitEdge};

use crate::choice::ChoiceKind;
use crate::kernel::sched::TaskState;
use crate::sim::{Sim, Tid};
use crate::trace::TraceKind;

#[derive(Clone, Debug)]
pub struct Mutex {
    pub name: &'static str,
    pub owner: Option<Tid>,
    pub waiters: Vec<Tid>,
}

impl Mutex {
    pub fn new(name: &'static str) -> Mutex {
        Mutex {
            name,
            owner: None,
            waiters: Vec::new(),
        }
    }
}

/// Which global mutex.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum MutexId {
    OomLock,
    /// `pag->pag_ici_reclaim_lock` of an XFS allocation group.
    PagIciReclaim(u8),
    /// The ilock of the XFS inode being reclaimed in an allocation group.
    XfsIlock(u8),
}

impl Sim {
    fn mutex_mut(&mut self, id: MutexId) -> &mut Mutex {
        match id {
            MutexId::OomLock => &mut self.oom.oom_lock,
            MutexId::PagIciReclaim(a) => &mut self.xfs.ags[a as usize].pag_ici_reclaim_lock,
            MutexId::XfsIlock(a) => &mut self.xfs.ags[a as usize].ilock,
        }
    }

    pub(crate) fn mutex_trylock(&mut self, id: MutexId, tid: Tid) -> bool {
        let m = self.mutex_mut(id);
        let name = m.name;
        let ok = m.owner.is_none();
        if ok {
            m.owner = Some(tid);
        }
        self.tr(
            tid,
            "mutex_trylock",
            TraceKind::Lock,
            format!("{name} {}", if ok { "acquired" } else { "busy" }),
        );
        ok
    }

    /// `mutex_lock`: true if acquired now; otherwise the task sleeps
    /// uninterruptibly and owns the mutex when it is woken.
    pub(crate) fn mutex_lock(&mut self, id: MutexId, tid: Tid) -> bool {
        let m = self.mutex_mut(id);
        let name = m.name;
        if m.owner.is_none() {
            m.owner = Some(tid);
            self.tr(
                tid,
                "mutex_lock",
                TraceKind::Lock,
                format!("{name} acquired"),
            );
            true
        } else {
            m.waiters.push(tid);
            let holder = m.owner.map(|o| self.tasks[o].pid).unwrap_or(0);
            self.tr(
                tid,
                "mutex_lock",
                TraceKind::Lock,
                format!("{name} wait (held by {holder})"),
            );
            self.sleep_task(tid, TaskState::Uninterruptible, None, name);
            false
        }
    }

    pub(crate) fn mutex_unlock(&mut self, id: MutexId, tid: Tid) {
        let n = self.mutex_mut(id).waiters.len() as u32;
        let pick = if n > 1 {
            self.chooser.choose(ChoiceKind::LockWake, n) as usize
        } else {
            0
        };
        let m = self.mutex_mut(id);
        debug_assert_eq!(m.owner, Some(tid), "{} unlocked by a non-owner", m.name);
        let name = m.name;
        let next = if m.waiters.is_empty() {
            m.owner = None;
            None
        } else {
            let w = m.waiters.remove(pick);
            m.owner = Some(w);
            Some(w)
        };
        match next {
            Some(w) => {
                let pid = self.tasks[w].pid;
                self.tr(
                    tid,
                    "mutex_unlock",
                    TraceKind::Lock,
                    format!("{name} handed to {pid}"),
                );
                let cpu = self.cpu_of(tid);
                self.wake_up_process(w, cpu);
            }
            None => {
                self.tr(
                    tid,
                    "mutex_unlock",
                    TraceKind::Lock,
                    format!("{name} released"),
                );
            }
        }
    }
}
