//! The wait-for graph: who waits for whom, read from the locks' owner and
//! waiter lists, the XFS log's waiters and the tasks looping in the page
//! allocator. `oom_hang` carries it as evidence.
//!
//! Edges:
//! - a waiter on a `rw_semaphore` waits for the first *queued writer* ahead of
//!   it (4.13 fairness), or else for the active writer or each active reader;
//! - a waiter on a mutex waits for its owner;
//! - a task in `xfs_iunpin_wait` waits for the log worker;
//! - a task retrying an allocation while free <= min waits for the OOM victim
//!   whose exit would free memory (the `TIF_MEMDIE` thread, else the group's
//!   first live thread).
//!
//! Not modelled: waits on timers (the reaper's sleeps between attempts are not
//! edges) and on I/O that needs no memory.

use crate::kernel::sched::TaskState;
use crate::locking::rwsem::RwKind;
use crate::locking::{Mutex, RwSem};
use crate::sim::{Frame, Sim, Task, Tid, TIF_MEMDIE};
use crate::time::SimTime;
use serde::Serialize;

/// One edge: `pid` waits on `lock`, which `holder_pid` holds (or must release).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct WaitEdge {
    pub pid: u32,
    pub comm: String,
    /// `mmap_sem`, `pag_ici_reclaim_lock`, `xfs_ilock`, `oom_lock`,
    /// `shrinker_rwsem`, `s_umount`, `xfs_log_force` or `free memory`.
    pub lock: String,
    /// The mm's owner for an `mmap_sem`.
    pub lock_owner_tgid: Option<u32>,
    pub holder_pid: u32,
    pub holder_comm: String,
    /// `write held`, `read held`, `write queued`, `owner`, `log worker`,
    /// `OOM victim`.
    pub how: String,
}

/// Evidence of an `oom_hang`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct HangEvidence {
    pub t: SimTime,
    pub last_progress: SimTime,
    pub free_pages: u64,
    pub min: u64,
    /// The chain followed from an OOM victim's blocked thread, edge by edge.
    pub chain: Vec<WaitEdge>,
    /// The chain came back to a task already on it.
    pub cycle: bool,
    /// Every edge at the time of the hang.
    pub edges: Vec<WaitEdge>,
}

impl Sim {
    fn edge(&self, t: Tid, lock: &str, owner: Option<u32>, h: Tid, how: &str) -> WaitEdge {
        let a = &self.tasks[t];
        let b = &self.tasks[h];
        WaitEdge {
            pid: a.pid,
            comm: a.comm.clone(),
            lock: lock.to_string(),
            lock_owner_tgid: owner,
            holder_pid: b.pid,
            holder_comm: b.comm.clone(),
            how: how.to_string(),
        }
    }

    fn rwsem_edges(&self, s: &RwSem, owner: Option<u32>, out: &mut Vec<WaitEdge>) {
        for (i, (t, _)) in s.waiters.iter().enumerate() {
            let ahead = s
                .waiters
                .iter()
                .take(i)
                .find(|(_, k)| *k == RwKind::Write)
                .map(|(w, _)| *w);
            if let Some(w) = ahead {
                out.push(self.edge(*t, s.name, owner, w, "write queued"));
            } else if let Some(w) = s.writer {
                out.push(self.edge(*t, s.name, owner, w, "write held"));
            } else {
                for r in &s.reader_tids {
                    out.push(self.edge(*t, s.name, owner, *r, "read held"));
                }
            }
        }
    }

    fn mutex_edges(&self, m: &Mutex, out: &mut Vec<WaitEdge>) {
        if let Some(o) = m.owner {
            for w in &m.waiters {
                out.push(self.edge(*w, m.name, None, o, "owner"));
            }
        }
    }

    /// The thread whose exit frees the victim's memory.
    fn victim_thread(&self) -> Option<Tid> {
        let alive = |t: &Task| t.state != TaskState::Dead;
        if let Some(t) = self
            .tasks
            .iter()
            .position(|t| alive(t) && t.tif & TIF_MEMDIE != 0 && t.kthread.is_none())
        {
            return Some(Tid::from_index(t));
        }
        self.signals
            .iter()
            .filter(|s| s.oom_mm.is_some())
            .flat_map(|s| s.threads.iter().copied())
            .find(|t| alive(&self.tasks[*t]))
    }

    /// Every wait edge right now.
    pub fn wait_for_edges(&self) -> Vec<WaitEdge> {
        let mut out = Vec::new();
        for m in &self.mms {
            self.rwsem_edges(&m.mmap_sem, Some(m.owner_tgid), &mut out);
        }
        self.rwsem_edges(&self.shrinker_rwsem, None, &mut out);
        self.rwsem_edges(&self.s_umount, None, &mut out);
        self.mutex_edges(&self.oom.oom_lock, &mut out);
        for ag in &self.xfs.ags {
            self.mutex_edges(&ag.pag_ici_reclaim_lock, &mut out);
            self.mutex_edges(&ag.ilock, &mut out);
        }
        if let Some(w) = self.xfs.log.worker {
            for t in &self.xfs.log.waiters {
                out.push(self.edge(*t, "xfs_log_force", None, w, "log worker"));
            }
        }
        if self.mem.nr_free() <= self.mem.wmark.min {
            if let Some(v) = self.victim_thread() {
                for (i, t) in self.tasks.iter().enumerate() {
                    let allocating = matches!(t.frames.last(), Some(Frame::Alloc(_)));
                    if allocating && t.state != TaskState::Dead && Tid::from_index(i) != v {
                        out.push(self.edge(
                            Tid::from_index(i),
                            "free memory",
                            None,
                            v,
                            "OOM victim",
                        ));
                    }
                }
            }
        }
        out
    }

    /// The chain from an OOM victim's blocked thread (one waiting on an
    /// `mmap_sem` first, as in `exit_mm`), following the first edge of each
    /// task until a task repeats or waits on nothing.
    pub fn hang_evidence(&self) -> HangEvidence {
        let edges = self.wait_for_edges();
        let victim_pids: Vec<u32> = self
            .signals
            .iter()
            .filter(|s| s.oom_mm.is_some())
            .flat_map(|s| s.threads.iter().map(|t| self.tasks[*t].pid))
            .collect();
        let start = edges
            .iter()
            .filter(|e| victim_pids.contains(&e.pid) && e.lock == "mmap_sem")
            .map(|e| e.pid)
            .min()
            .or_else(|| {
                edges
                    .iter()
                    .filter(|e| victim_pids.contains(&e.pid))
                    .map(|e| e.pid)
                    .min()
            })
            .or_else(|| edges.first().map(|e| e.pid));
        let (chain, cycle) = follow_chain(&edges, start);
        HangEvidence {
            t: self.now,
            last_progress: self.last_progress,
            free_pages: self.mem.nr_free(),
            min: self.mem.wmark.min,
            chain,
            cycle,
            edges,
        }
    }
}

/// Follows the first edge out of each task from `start`.
pub fn follow_chain(edges: &[WaitEdge], start: Option<u32>) -> (Vec<WaitEdge>, bool) {
    let mut chain: Vec<WaitEdge> = Vec::new();
    let mut seen: Vec<u32> = Vec::new();
    let mut cur = start;
    while let Some(p) = cur {
        if seen.contains(&p) {
            return (chain, true);
        }
        seen.push(p);
        match edges.iter().find(|e| e.pid == p) {
            Some(e) => {
                chain.push(e.clone());
                cur = Some(e.holder_pid);
            }
            None => cur = None,
        }
    }
    (chain, false)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::locking::rwsem::RwKind;

    fn edge(pid: u32, lock: &str, holder: u32) -> WaitEdge {
        WaitEdge {
            pid,
            comm: format!("t{pid}"),
            lock: lock.into(),
            lock_owner_tgid: None,
            holder_pid: holder,
            holder_comm: format!("t{holder}"),
            how: "owner".into(),
        }
    }

    #[test]
    fn follow_chain_finds_cycles_and_ends() {
        let edges = vec![
            edge(1, "mmap_sem", 2),
            edge(2, "pag_ici_reclaim_lock", 3),
            edge(3, "xfs_log_force", 1),
            edge(4, "mmap_sem", 1),
        ];
        let (chain, cycle) = follow_chain(&edges, Some(4));
        assert!(cycle);
        let pids: Vec<u32> = chain.iter().map(|e| e.pid).collect();
        assert_eq!(pids, vec![4, 1, 2, 3]);
        let (chain, cycle) = follow_chain(&edges[..2], Some(1));
        assert!(!cycle);
        assert_eq!(chain.len(), 2);
        assert_eq!(follow_chain(&edges, None), (Vec::new(), false));
    }

    /// A hand-built deadlock: a reader of `mmap_sem` waits for the XFS AG lock
    /// whose owner is queued to write the same `mmap_sem`; an exiting thread
    /// waits behind that writer.
    #[test]
    fn extracts_a_hand_built_deadlock() {
        let text = "version = 1\n[machine]\ncpus = 2\nmemory = \"32M\"\n[fs]\ntype = \"xfs\"\n\
                    [[process]]\nname = \"a.out\"\n[[process.thread]]\nprogram = \"hog\"\ncount = 3\n";
        let sc = crate::parse_scenario(text).unwrap();
        let mut sim = Sim::new(&sc, crate::ChoiceSource::Seed(0));
        let users: Vec<Tid> = (0..sim.tasks.len())
            .map(Tid::from_index)
            .filter(|t| sim.tasks[*t].kthread.is_none())
            .collect();
        let (reader, writer, exiting) = (users[0], users[1], users[2]);
        let mm = sim.tasks[reader].mm.unwrap();
        let sem = &mut sim.mms[mm].mmap_sem;
        sem.readers = 1;
        sem.reader_tids = vec![reader];
        sem.writer = None;
        sem.waiters = [(writer, RwKind::Write), (exiting, RwKind::Read)].into();
        sim.xfs.ags[0].pag_ici_reclaim_lock.owner = Some(writer);
        sim.xfs.ags[0].pag_ici_reclaim_lock.waiters = vec![reader];
        let sig = sim.tasks[reader].sig as usize;
        sim.signals[sig].oom_mm = Some(mm);
        let pid = |t: Tid| sim.tasks[t].pid;
        let ev = sim.hang_evidence();
        let has = |a: Tid, lock: &str, b: Tid, how: &str| {
            ev.edges.iter().any(|e| {
                e.pid == pid(a) && e.lock == lock && e.holder_pid == pid(b) && e.how == how
            })
        };
        assert!(has(writer, "mmap_sem", reader, "read held"));
        assert!(has(exiting, "mmap_sem", writer, "write queued"));
        assert!(has(reader, "pag_ici_reclaim_lock/0", writer, "owner"));
        assert!(ev.cycle, "the chain comes back: {:?}", ev.chain);
        let locks: Vec<&str> = ev.chain.iter().map(|e| e.lock.as_str()).collect();
        assert!(locks.contains(&"mmap_sem") && locks.contains(&"pag_ici_reclaim_lock/0"));
    }
}
