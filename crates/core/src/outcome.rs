//! Outcomes (kernel.md §5) and their evidence, computed from what the run did.
//!
//! Files are classified as read back from disk after the run (the crash and
//! recovery, or the clean unmount), by the provenance and position of each
//! byte range, never by byte values alone: zeros copied from the zero page
//! are `zeros_in_file`; zeros that the application itself wrote are correct;
//! bytes of a block the run never wrote are `stale_beyond_isize` (text or
//! random bytes of deleted files) or `zeros_beyond_isize` (a discarded or
//! never-written block), whatever their values.
//!
//! Positions: for bytes from memory, `inside` (below `S_ack`, what the
//! application believed written) or `tail`; for bytes from disk, `beyond`
//! (at or past the on-disk size at the first fatal signal) or `inside`.

use crate::fs::Prov;
use crate::scenario::PAGE_SIZE;
use crate::sim::{EndReason, Sim};
use crate::time::SimTime;
use serde::Serialize;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    ZerosInFile,
    GarbageInFile,
    StaleBeyondIsize,
    ZerosBeyondIsize,
    OomPanic,
    OomHang,
    BudgetExhausted,
    ReaperGaveUp,
    Overkill,
    FixEngaged,
    UserRanAfterReap,
    Correct,
}

impl Outcome {
    pub const ALL: [Outcome; 12] = [
        Outcome::ZerosInFile,
        Outcome::GarbageInFile,
        Outcome::StaleBeyondIsize,
        Outcome::ZerosBeyondIsize,
        Outcome::OomPanic,
        Outcome::OomHang,
        Outcome::BudgetExhausted,
        Outcome::ReaperGaveUp,
        Outcome::Overkill,
        Outcome::FixEngaged,
        Outcome::UserRanAfterReap,
        Outcome::Correct,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Outcome::Correct => "correct",
            Outcome::ZerosInFile => "zeros_in_file",
            Outcome::StaleBeyondIsize => "stale_beyond_isize",
            Outcome::ZerosBeyondIsize => "zeros_beyond_isize",
            Outcome::GarbageInFile => "garbage_in_file",
            Outcome::FixEngaged => "fix_engaged",
            Outcome::ReaperGaveUp => "reaper_gave_up",
            Outcome::OomHang => "oom_hang",
            Outcome::Overkill => "overkill",
            Outcome::OomPanic => "oom_panic",
            Outcome::UserRanAfterReap => "user_ran_after_reap",
            Outcome::BudgetExhausted => "budget_exhausted",
        }
    }

    pub fn from_code(s: &str) -> Option<Outcome> {
        Outcome::ALL.into_iter().find(|o| o.code() == s)
    }

    /// 3: data corruption, 2: the system failed, 1: worth a look, 0: fine.
    pub fn severity(self) -> u8 {
        match self {
            Outcome::ZerosInFile | Outcome::GarbageInFile => 3,
            Outcome::StaleBeyondIsize | Outcome::ZerosBeyondIsize => 2,
            Outcome::OomPanic | Outcome::OomHang | Outcome::BudgetExhausted => 2,
            Outcome::ReaperGaveUp | Outcome::Overkill => 1,
            Outcome::FixEngaged | Outcome::UserRanAfterReap => 0,
            Outcome::Correct => 0,
        }
    }
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct KillRec {
    pub tgid: u32,
    pub comm: String,
    pub t: SimTime,
    pub by: u32,
}

#[derive(Clone, Debug, Serialize)]
pub struct UserAfterReap {
    pub pid: u32,
    pub event: u64,
    pub t: SimTime,
    pub since_kill_ns: u64,
}

#[derive(Clone, Debug, Serialize)]
pub struct FixEngaged {
    pub pid: u32,
    pub addr: u64,
    pub event: u64,
    pub t: SimTime,
    pub since_kill_ns: u64,
    pub user: bool,
    /// The function that failed the fault: `check_stable_address_space`
    /// (the merged fix, before any PTE is set) or `handle_mm_fault` (v1,
    /// after the fault was handled, the zero page possibly mapped).
    pub func: &'static str,
}

/// One finished `__oom_reap_task_mm`, with the mm's rss counters (pages)
/// before and after it.
#[derive(Clone, Debug, Serialize)]
pub struct Reap {
    pub pid: u32,
    pub t: SimTime,
    /// Pages unmapped and freed.
    pub freed: u64,
    /// `[anon, file, shmem]` rss when `MMF_UNSTABLE` was set.
    pub rss_before: [u64; 3],
    pub rss_after: [u64; 3],
    /// `process_mrelease` did it, not the `oom_reaper` thread.
    pub mrelease: bool,
}

#[derive(Clone, Debug, Serialize)]
pub struct GaveUp {
    pub pid: u32,
    pub event: u64,
    pub t: SimTime,
    pub since_kill_ns: u64,
    /// Who held or waited on the victim's `mmap_sem` at the last failed
    /// trylock.
    pub mmap_sem: Vec<LockUser>,
}

/// A task holding or queued on a lock, and where its kernel stack is.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Hash)]
pub struct LockUser {
    pub pid: u32,
    pub comm: String,
    /// `read held`, `write held`, `write queued`, `read queued`.
    pub how: &'static str,
    /// The innermost kernel function it is in (`shrink_slab`, `khugepaged`).
    pub in_func: &'static str,
}

/// What the run observed while it ran.
#[derive(Clone, Debug, Default)]
pub struct Observations {
    pub kill_time: Option<SimTime>,
    pub kills: Vec<KillRec>,
    /// When MMF_UNSTABLE was first set, and the trace index.
    pub unstable_time: Option<(SimTime, u64)>,
    pub user_after_reap: Vec<UserAfterReap>,
    pub fix_engaged: Vec<FixEngaged>,
    pub reaper_gave_up: Vec<GaveUp>,
    pub reaped: Vec<Reap>,
    pub zero_refaults: u64,
    pub panic: bool,
    /// Where each thread of the group was when the first fatal signal was
    /// posted (pid, position).
    pub at_kill: Vec<(u32, String)>,
    pub hang: Option<crate::locking::HangEvidence>,
}

/// Where the bytes of a bad range came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Origin {
    /// A copy by thread `pid` (trace record `event`).
    Write { pid: u32, event: u64 },
    /// Disk blocks `first..first + count`, whose content is not from this
    /// run; `mapped_by` is the trace record that gave them to the file.
    Blocks {
        first: u64,
        count: u64,
        mapped_by: u64,
    },
}

/// A range of bad bytes in a file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct BadRange {
    pub outcome: Outcome,
    pub file: String,
    pub offset: u64,
    pub len: u64,
    pub provenance: Prov,
    /// Memory: `inside` (below the acknowledged size) or `tail`. Disk:
    /// `beyond` (past the on-disk size at the first fatal signal) or `inside`.
    pub position: &'static str,
    pub origin: Origin,
    /// The thread whose copy produced these bytes (for disk bytes, the one
    /// whose writeback mapped the blocks).
    pub pid: u32,
    /// Trace index of that copy (or of that mapping).
    pub event: u64,
    pub t: SimTime,
    /// Time from the first SIGKILL to the copy (0 if there was no kill).
    pub since_kill_ns: u64,
}

#[derive(Clone, Debug, Serialize)]
pub struct FileResult {
    pub path: String,
    /// `i_size` in memory when the run ended (before any crash).
    pub i_size: u64,
    /// `S_ack`: the sum of write() results the process saw.
    pub acked: u64,
    /// The durable on-disk size at the first fatal signal, if there was one.
    pub disk_size_at_kill: Option<u64>,
    /// The size read back from disk after the crash or the unmount.
    pub disk_size: u64,
    pub bad: Vec<BadRange>,
}

#[derive(Clone, Debug, Serialize)]
pub struct RunResult {
    pub model_version: u32,
    /// A bucket key computed from the evidence (never from the seed), e.g.
    /// "zeros_in_file, inside, via __btrfs_buffered_write, thread in write_begin at kill".
    pub signature: String,
    #[serde(with = "crate::json::u64_string")]
    pub seed: u64,
    /// Worst first.
    pub outcomes: Vec<Outcome>,
    pub end: EndReason,
    pub end_time: SimTime,
    pub steps: u64,
    pub trace_len: u64,
    #[serde(with = "crate::json::u64_string")]
    pub trace_hash: u64,
    pub choices: u64,
    pub files: Vec<FileResult>,
    pub kills: Vec<KillRec>,
    pub unstable_at: Option<SimTime>,
    pub unstable_event: Option<u64>,
    pub user_ran_after_reap: Vec<UserAfterReap>,
    pub fix_engaged: Vec<FixEngaged>,
    pub reaper_gave_up: Vec<GaveUp>,
    pub pages_reaped: u64,
    pub reaps: Vec<Reap>,
    pub free_pages_end: u64,
    /// For `oom_hang`: the wait-for chain (task, lock, holder) and every edge.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hang: Option<crate::locking::HangEvidence>,
    /// The crash (what was lost, what recovery replayed) or the unmount.
    pub fs_end: Option<crate::fs::recovery::FsEnd>,
}

impl RunResult {
    pub fn has(&self, o: Outcome) -> bool {
        self.outcomes.contains(&o)
    }

    /// The earliest bad range of the worst kind.
    pub fn first_bad(&self) -> Option<&BadRange> {
        self.files
            .iter()
            .flat_map(|f| f.bad.iter())
            .min_by_key(|b| (std::cmp::Reverse(b.outcome.severity()), b.event))
    }

    /// One sentence in kernel terms about the worst outcome.
    pub fn explain(&self) -> String {
        use crate::time::fmt_duration;
        if let Some(b) = self.first_bad().filter(|b| b.provenance.is_disk()) {
            let (first, count) = match b.origin {
                Origin::Blocks { first, count, .. } => (first, count),
                Origin::Write { .. } => (0, 0),
            };
            let what = match b.provenance {
                Prov::StaleText => "text of a deleted file",
                Prov::StaleRandom => "random bytes of a deleted file",
                Prov::Discarded => "zeros of a discarded block",
                _ => "zeros of a never-written block",
            };
            let mut s = format!(
                "After the crash, {} reads {what} at offset {:#x} ({} bytes, blocks {first}..={}): writeback mapped those blocks at {}s and the on-disk size covering them was committed, but their data never became durable",
                b.file,
                b.offset,
                b.len,
                first + count.saturating_sub(1),
                b.t.to_string().trim()
            );
            if let Some(e) = &self.fs_end {
                s.push_str(&format!(
                    "; {} writes were in flight and {} in the disk's volatile cache when the power was lost at {}s",
                    e.lost_requests,
                    e.lost_cached_writes,
                    e.t.to_string().trim()
                ));
            }
            s.push('.');
            return s;
        }
        if let Some(b) = self.first_bad() {
            let mut s = format!(
                "Thread {} copied {} bytes from the {} into {} at offset {:#x}, {} after SIGKILL",
                b.pid,
                b.len,
                match b.provenance {
                    Prov::ZeroPage => "zero page",
                    Prov::NewBuffer => "zeroed new buffers",
                    _ => "wrong source",
                },
                b.file,
                b.offset,
                fmt_duration(b.since_kill_ns)
            );
            if let (Some(u), Some(k)) = (self.unstable_at, self.kills.first()) {
                s.push_str(&format!(
                    "; the reaper had set MMF_UNSTABLE at {}",
                    fmt_duration(u.since(k.t))
                ));
            }
            s.push('.');
            return s;
        }
        if let Some(g) = self.reaper_gave_up.first() {
            let mut s = format!(
                "The OOM reaper gave up on pid {} {} after the kill: down_read_trylock(mmap_sem) kept failing",
                g.pid,
                fmt_duration(g.since_kill_ns)
            );
            let who = |u: &LockUser| format!("{} ({}, in {})", u.pid, u.comm, u.in_func);
            let writer = g.mmap_sem.iter().find(|u| u.how.starts_with("write"));
            let reader = g.mmap_sem.iter().find(|u| u.how == "read held");
            match (writer, reader) {
                (Some(w), Some(r)) if w.how == "write queued" => s.push_str(&format!(
                    ", as {} was queued to write behind reader {}",
                    who(w),
                    who(r)
                )),
                (Some(w), _) => s.push_str(&format!(
                    ", as {} {}",
                    who(w),
                    w.how.replace(" held", "-held it")
                )),
                _ => {}
            }
            s.push('.');
            if self.has(Outcome::Overkill) && self.kills.len() > 1 {
                let k = &self.kills[1];
                s.push_str(&format!(
                    " MMF_OOM_SKIP let the OOM killer move on to {} ({}).",
                    k.tgid, k.comm
                ));
            }
            return s;
        }
        if let Some(f) = self.fix_engaged.first() {
            let how = if f.func == "handle_mm_fault" {
                "the end of handle_mm_fault saw MMF_UNSTABLE and failed the fault after it was handled (a zero-page PTE, if the fault mapped one, stays)"
            } else {
                "check_stable_address_space saw MMF_UNSTABLE and failed the fault before any PTE was set"
            };
            return format!(
                "Thread {} refaulted address {:#x} {} after SIGKILL; {how}.",
                f.pid,
                f.addr,
                fmt_duration(f.since_kill_ns)
            );
        }
        if let Some(h) = &self.hang {
            let chain: Vec<String> = h
                .chain
                .iter()
                .map(|e| {
                    format!(
                        "{} ({}) waits on {} held by {} ({})",
                        e.pid, e.comm, e.lock, e.holder_pid, e.holder_comm
                    )
                })
                .collect();
            return format!(
                "OOM hang: no forward progress with free memory at {} pages (min {}); {}{}.",
                h.free_pages,
                h.min,
                if chain.is_empty() {
                    "no wait chain".to_string()
                } else {
                    chain.join("; ")
                },
                if h.cycle { ", and round again" } else { "" }
            );
        }
        if self.has(Outcome::OomPanic) {
            return "The OOM killer found no killable process and panicked.".into();
        }
        if self.has(Outcome::BudgetExhausted) {
            return "The run hit its step budget before it ended.".into();
        }
        if let [first, next, ..] = self.kills.as_slice() {
            return format!(
                "The OOM killer killed {} ({}), then {} ({}) {} later: the reaper freed {} pages of the first victim, and its memory stayed in use.",
                first.tgid,
                first.comm,
                next.tgid,
                next.comm,
                fmt_duration(next.t.since(first.t)),
                self.reaps
                    .iter()
                    .filter(|r| r.pid >= first.tgid)
                    .map(|r| r.freed)
                    .next()
                    .unwrap_or(0)
            );
        }
        if let Some(k) = self.kills.first() {
            return format!(
                "The OOM killer killed {} ({}); every file holds what was written.",
                k.tgid, k.comm
            );
        }
        "No OOM kill happened; every file holds what was written.".into()
    }
}

/// Classifies a finished run, on the files as read back from disk.
pub(crate) fn classify(sim: &Sim) -> RunResult {
    let kill_t = sim.obs.kill_time;
    let mut files = Vec::new();
    let mut outcomes: Vec<Outcome> = Vec::new();
    for ino in &sim.inodes {
        let size = ino.size();
        let disk_at_kill = ino.disk_size_at_kill.unwrap_or(0);
        let mut bad: Vec<BadRange> = Vec::new();
        let owned;
        let content: &[(u64, crate::fs::Run)] = match &ino.read_back {
            Some(rb) => &rb.runs,
            None => {
                owned = ino.content();
                &owned
            }
        };
        for &(off, r) in content {
            if off >= size {
                continue;
            }
            let len = u64::from(r.len).min(size - off);
            let outcome = match r.prov {
                Prov::ZeroPage if r.value != r.expected || r.expected != 0 => Outcome::ZerosInFile,
                Prov::ZeroPage => continue,
                Prov::NewBuffer => Outcome::GarbageInFile,
                Prov::Copied | Prov::StaleTlb | Prov::MmapStore => {
                    if r.value == r.expected {
                        continue;
                    }
                    Outcome::GarbageInFile
                }
                Prov::StaleText | Prov::StaleRandom => Outcome::StaleBeyondIsize,
                Prov::Discarded | Prov::NeverWritten => Outcome::ZerosBeyondIsize,
            };
            let (position, origin, pid, event) = if r.prov.is_disk() {
                let mapped_by = ino.map.get(&(off / PAGE_SIZE)).map_or(0, |m| m.1);
                let pid = sim
                    .trace
                    .get(mapped_by as usize)
                    .and_then(|t| t.pid)
                    .unwrap_or(0);
                (
                    if off >= disk_at_kill {
                        "beyond"
                    } else {
                        "inside"
                    },
                    Origin::Blocks {
                        first: r.lba,
                        count: 1,
                        mapped_by,
                    },
                    pid,
                    mapped_by,
                )
            } else {
                (
                    if off < ino.acked { "inside" } else { "tail" },
                    Origin::Write {
                        pid: r.pid,
                        event: r.event,
                    },
                    r.pid,
                    r.event,
                )
            };
            // Merge with the previous range when contiguous and alike.
            if let Some(last) = bad.last_mut() {
                if last.offset + last.len == off
                    && last.outcome == outcome
                    && last.provenance == r.prov
                    && last.position == position
                {
                    match (&mut last.origin, origin) {
                        (Origin::Write { pid: a, .. }, Origin::Write { pid: b, .. }) if *a == b => {
                            last.len += len;
                            continue;
                        }
                        (Origin::Blocks { first, count, .. }, Origin::Blocks { first: f2, .. })
                            if *first + *count == f2 || *first + *count - 1 == f2 =>
                        {
                            if *first + *count == f2 {
                                *count += 1;
                            }
                            last.len += len;
                            continue;
                        }
                        _ => {}
                    }
                }
            }
            let t = sim.trace_time(event);
            bad.push(BadRange {
                outcome,
                file: ino.path.clone(),
                offset: off,
                len,
                provenance: r.prov,
                position,
                origin,
                pid,
                event,
                t,
                since_kill_ns: kill_t.map_or(0, |k| t.since(k)),
            });
        }
        for b in &bad {
            if !outcomes.contains(&b.outcome) {
                outcomes.push(b.outcome);
            }
        }
        files.push(FileResult {
            path: ino.path.clone(),
            i_size: ino.i_size,
            acked: ino.acked,
            disk_size_at_kill: ino.disk_size_at_kill,
            disk_size: size,
            bad,
        });
    }
    if outcomes.is_empty() {
        outcomes.push(Outcome::Correct);
    }
    if !sim.obs.fix_engaged.is_empty() {
        outcomes.push(Outcome::FixEngaged);
    }
    if !sim.obs.user_after_reap.is_empty() {
        outcomes.push(Outcome::UserRanAfterReap);
    }
    if !sim.obs.reaper_gave_up.is_empty() {
        outcomes.push(Outcome::ReaperGaveUp);
    }
    if sim.obs.kills.len() > 1 {
        outcomes.push(Outcome::Overkill);
    }
    match sim.end {
        Some(EndReason::Panic) => outcomes.push(Outcome::OomPanic),
        Some(EndReason::Hang) => outcomes.push(Outcome::OomHang),
        Some(EndReason::StepBudget) => outcomes.push(Outcome::BudgetExhausted),
        _ => {}
    }
    outcomes.sort_by_key(|o| (std::cmp::Reverse(o.severity()), *o));
    outcomes.dedup();
    let mut signature = outcomes
        .iter()
        .map(|o| o.code())
        .collect::<Vec<_>>()
        .join(", ");
    let first = files
        .iter()
        .flat_map(|f| f.bad.iter())
        .min_by_key(|b| (std::cmp::Reverse(b.outcome.severity()), b.event));
    if let Some(b) = first {
        if b.provenance.is_disk() {
            let p = &sim.fs.params;
            signature.push_str(&format!(
                ", {}, {} {}{}",
                b.position,
                p.fs_type.name(),
                if p.fs_type == crate::scenario::FsType::Ext4 {
                    format!("data={}", p.data.name())
                } else {
                    "delalloc".to_string()
                },
                if p.write_cache {
                    ", volatile write cache"
                } else {
                    ""
                }
            ));
        } else {
            let pos = sim
                .obs
                .at_kill
                .iter()
                .find(|(p, _)| *p == b.pid)
                .map_or("not yet started", |(_, s)| s.as_str());
            signature.push_str(&format!(
                ", {}, via {}, thread in {} at kill",
                b.position,
                sim.toggles.write_path.name(),
                pos
            ));
        }
    }
    RunResult {
        signature,
        model_version: crate::MODEL_VERSION,
        seed: sim.source.seed(),
        outcomes,
        end: sim.end.unwrap_or(EndReason::StepBudget),
        end_time: sim.now,
        steps: sim.steps,
        trace_len: sim.trace_total,
        trace_hash: sim.trace_hash,
        choices: sim.chooser.recorded().len() as u64,
        files,
        kills: sim.obs.kills.clone(),
        unstable_at: sim.obs.unstable_time.map(|u| u.0),
        unstable_event: sim.obs.unstable_time.map(|u| u.1),
        user_ran_after_reap: sim.obs.user_after_reap.clone(),
        fix_engaged: sim.obs.fix_engaged.clone(),
        reaper_gave_up: sim.obs.reaper_gave_up.clone(),
        pages_reaped: sim.obs.reaped.iter().map(|r| r.freed).sum(),
        reaps: sim.obs.reaped.clone(),
        free_pages_end: sim.mem.nr_free(),
        hang: sim.obs.hang.clone(),
        fs_end: sim.fs.end.clone(),
    }
}

impl Sim {
    /// Time of a trace record, even one beyond the kept trace (then: now).
    /// By index, not position: a checkpoint's `forget_trace` leaves a trace
    /// that starts after record 0.
    pub(crate) fn trace_time(&self, idx: u64) -> SimTime {
        let i = self.trace.partition_point(|r| r.idx < idx);
        self.trace
            .get(i)
            .filter(|r| r.idx == idx)
            .map_or(self.now, |r| r.t)
    }

    /// No forward progress for longer than the threshold while free <= min.
    /// This is oomlab's own detector, not the kernel's khungtaskd (whose
    /// `check_hung_task` waits 120 s for a task in D state): the record says
    /// so, and says how long nothing progressed against which threshold, so
    /// that a threshold shorter than the allocator's own retries before an
    /// OOM kill shows as the reason it fired.
    pub(crate) fn check_hang(&mut self) {
        let thr = self.sc.scenario.limits.hang_threshold.0;
        if self.mem.nr_free() <= self.mem.wmark.min && self.now.since(self.last_progress) > thr {
            let ev = self.hang_evidence();
            let chain: Vec<String> = ev
                .chain
                .iter()
                .map(|e| format!("{} -[{}]-> {}", e.pid, e.lock, e.holder_pid))
                .collect();
            let since = self.now.since(self.last_progress);
            self.trace_info(
                None,
                "oomlab_hang_check",
                format!(
                    "no forward progress for {} (limits.hang_threshold {}) while free <= min: OOM hang; waits: {}{}",
                    crate::time::fmt_duration(since),
                    crate::time::fmt_duration(thr),
                    if chain.is_empty() {
                        "none".to_string()
                    } else {
                        chain.join(", ")
                    },
                    if ev.cycle { " (cycle)" } else { "" }
                ),
            );
            self.obs.hang = Some(ev);
            self.end = Some(EndReason::Hang);
        }
    }
}
