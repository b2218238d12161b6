//! What the UI shows about one finished run, derived from the `Sim` once it
//! ends: the verdict, the trace, the files as hex dumps and memory samples
//! taken while it ran. Target independent, tested natively.

use oomlab_core::hexdump::HexDump;
use oomlab_core::mm::memory::VmaSnap;
use oomlab_core::permalink::Permalink;
use oomlab_core::scenario::Watermarks;
use oomlab_core::sim::Mode;
use oomlab_core::trace::{TraceKind, TraceRecord};
use oomlab_core::{presets, ChoiceSource, RunResult, Sim, ValidScenario};
use std::rc::Rc;

#[derive(Clone, Debug, PartialEq)]
pub struct FileView {
    pub path: String,
    pub i_size: u64,
    pub acked: u64,
    /// The file as it reads: the page cache while the run goes on, the
    /// blocks read back from disk once it has ended (after a crash, that can
    /// be shorter than `i_size`, and hold what the blocks held before).
    pub dump: HexDump,
}

/// One mm at one point in time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MmSample {
    pub tgid: u32,
    pub unstable: bool,
    pub oom_skip: bool,
    pub present: u64,
    pub zero: u64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MemSample {
    pub t: u64,
    pub free_pages: u64,
    pub mms: Vec<MmSample>,
}

/// Steps between two memory samples (about 70 samples for an R1 run).
pub const SAMPLE_EVERY: u32 = 2000;

/// A task blocked on a lock: from its `... wait` record to its next record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LockWait {
    pub start: u64,
    pub end: u64,
    pub cpu: u32,
    pub pid: u32,
}

/// Lock waits found in a trace (a record of kind `lock` whose message says
/// `wait`, ended by the same task's next record).
pub fn lock_waits(trace: &[TraceRecord]) -> Vec<LockWait> {
    let mut open: std::collections::BTreeMap<u32, (u64, u32)> = Default::default();
    let mut out = Vec::new();
    for r in trace {
        let Some(pid) = r.pid else { continue };
        if let Some((start, cpu)) = open.remove(&pid) {
            out.push(LockWait {
                start,
                end: r.t.0,
                cpu,
                pid,
            });
        }
        if r.kind == TraceKind::Lock && r.msg.contains(" wait") {
            if let Some(cpu) = r.cpu {
                open.insert(pid, (r.t.0, cpu));
            }
        }
    }
    out.sort_by_key(|w| w.start);
    out
}

/// Every file of the simulation as it stands, with its dump.
pub fn file_views(sim: &Sim) -> Vec<FileView> {
    sim.inodes
        .iter()
        .map(|ino| FileView {
            path: ino.path.clone(),
            i_size: ino.i_size,
            acked: ino.acked,
            dump: HexDump::from_inode(ino, &sim.fs.dev),
        })
        .collect()
}

/// The built-in preset whose scenario is exactly this one (same canonical
/// text), if any: what the page highlights and names as unmodified.
pub fn matching_preset(canonical: &str) -> Option<&'static presets::Preset> {
    thread_local! {
        static CANON: Vec<String> = presets::PRESETS
            .iter()
            .map(|p| p.load().scenario.to_canonical_toml())
            .collect();
    }
    CANON.with(|c| {
        c.iter()
            .position(|t| t == canonical)
            .map(|i| &presets::PRESETS[i])
    })
}

/// Scenario errors as one line, for a banner or a worker's reply.
pub fn errors_line(errs: &[oomlab_core::ScenarioError]) -> String {
    errs.iter()
        .map(|e| e.to_string())
        .collect::<Vec<_>>()
        .join("; ")
}

/// Takes a memory sample of a running simulation.
pub fn sample(sim: &Sim) -> MemSample {
    let snap = sim.snapshot();
    MemSample {
        t: snap.t.0,
        free_pages: snap.free_pages,
        mms: snap
            .mms
            .iter()
            .map(|m| MmSample {
                tgid: m.owner_tgid,
                unstable: m.flags.contains(&"MMF_UNSTABLE"),
                oom_skip: m.flags.contains(&"MMF_OOM_SKIP"),
                present: m.vmas.iter().map(|v| v.present).sum(),
                zero: m.vmas.iter().map(|v| v.zero).sum(),
            })
            .collect(),
    }
}

#[derive(Clone, Debug)]
pub struct RunView {
    pub seed: u64,
    pub link: String,
    pub scenario: Rc<ValidScenario>,
    pub source: ChoiceSource,
    /// The value of every recorded decision: replaying them (with toggles
    /// flipped) is an A/B comparison.
    pub choices: Vec<u32>,
    pub result: RunResult,
    pub trace: Vec<TraceRecord>,
    pub files: Vec<FileView>,
    pub cpus: u32,
    pub watermarks: Watermarks,
    pub samples: Vec<MemSample>,
    /// The victim (first OOM kill), or the largest process.
    pub victim: Option<u32>,
    /// The victim's VMAs at the end of the run, and its mm flags.
    pub victim_vmas: Vec<VmaSnap>,
    pub victim_flags: Vec<&'static str>,
    /// Lock waits, by start time.
    pub lock_waits: Vec<LockWait>,
    /// When each CPU ran a task in user mode, by start time; the rest of a
    /// task's band is kernel mode.
    pub user_spans: Vec<UserSpan>,
    /// The preset this run's scenario is, unmodified.
    pub preset: Option<&'static str>,
}

/// A stretch of user-mode execution on one CPU.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UserSpan {
    pub cpu: u32,
    pub pid: u32,
    pub start: u64,
    pub end: u64,
}

/// Follows which task runs on each CPU, and in which mode, step by step.
/// The trace has no records for user-mode execution, so the mode comes from
/// the simulator's state after each step rather than from the records.
#[derive(Default)]
pub struct ModeTracker {
    /// Per CPU: the pid in user mode there and since when.
    open: Vec<Option<(u32, u64)>>,
    spans: Vec<UserSpan>,
}

impl ModeTracker {
    pub fn observe(&mut self, sim: &Sim) {
        let now = sim.now().0;
        for (cpu, m) in sim.cpu_modes().enumerate() {
            if cpu >= self.open.len() {
                self.open.resize(cpu + 1, None);
            }
            let user = match m {
                Some((pid, Mode::User)) => Some(pid),
                _ => None,
            };
            match (self.open[cpu], user) {
                (Some((p, _)), Some(q)) if p == q => {}
                (prev, _) => {
                    if let Some((pid, start)) = prev {
                        self.push(cpu as u32, pid, start, now);
                    }
                    self.open[cpu] = user.map(|p| (p, now));
                }
            }
        }
    }

    fn push(&mut self, cpu: u32, pid: u32, start: u64, end: u64) {
        if end > start {
            self.spans.push(UserSpan {
                cpu,
                pid,
                start,
                end,
            });
        }
    }

    pub fn finish(mut self, sim: &Sim) -> Vec<UserSpan> {
        let now = sim.now().0;
        for (cpu, o) in std::mem::take(&mut self.open).into_iter().enumerate() {
            if let Some((pid, start)) = o {
                self.push(cpu as u32, pid, start, now);
            }
        }
        self.spans.sort_by_key(|s| (s.start, s.cpu));
        self.spans
    }
}

impl PartialEq for RunView {
    fn eq(&self, other: &Self) -> bool {
        self.link == other.link && self.result.trace_hash == other.result.trace_hash
    }
}

impl RunView {
    /// Finishes `sim` (which must have stopped stepping) and derives the view.
    pub fn build(
        sc: &ValidScenario,
        source: &ChoiceSource,
        sim: &mut Sim,
        mut samples: Vec<MemSample>,
    ) -> RunView {
        samples.push(sample(sim));
        let result = sim.finish();
        let snap = sim.snapshot();
        let victim = result.kills.first().map(|k| k.tgid).or_else(|| {
            snap.mms
                .iter()
                .max_by_key(|m| m.rss_anon)
                .map(|m| m.owner_tgid)
        });
        let vm = snap.mms.iter().find(|m| Some(m.owner_tgid) == victim);
        let files = file_views(sim);
        let seed = match source {
            ChoiceSource::Seed(s) => *s,
            _ => result.seed,
        };
        let trace = sim.trace().to_vec();
        RunView {
            seed,
            scenario: Rc::new(sc.clone()),
            source: source.clone(),
            choices: sim.recorded_choices().iter().map(|c| c.value).collect(),
            lock_waits: lock_waits(&trace),
            link: Permalink::new(sc, source.clone()).encode(),
            trace,
            files,
            cpus: sc.scenario.machine.cpus,
            watermarks: sc.watermarks,
            samples,
            victim,
            victim_vmas: vm.map(|m| m.vmas.clone()).unwrap_or_default(),
            victim_flags: vm.map(|m| m.flags.clone()).unwrap_or_default(),
            user_spans: Vec::new(),
            preset: matching_preset(&sc.scenario.to_canonical_toml()).map(|p| p.id),
            result,
        }
    }

    pub fn with_user_spans(mut self, spans: Vec<UserSpan>) -> Self {
        self.user_spans = spans;
        self
    }

    /// Index of the file holding the first bad byte, and that byte's offset.
    pub fn first_bad(&self) -> Option<(usize, u64)> {
        let b = self.result.first_bad()?;
        let i = self.files.iter().position(|f| f.path == b.file)?;
        Some((i, b.offset))
    }

    /// The trace record the verdict's explanation is about.
    pub fn evidence_event(&self) -> Option<u64> {
        if let Some(b) = self.result.first_bad() {
            return Some(b.event);
        }
        if let Some(f) = self.result.fix_engaged.first() {
            return Some(f.event);
        }
        self.result.unstable_event
    }

    /// The first sign of the victim's death: the first fatal signal (an
    /// OOM kill) or the first `do_group_exit`, whichever came first.
    pub fn death_at(&self) -> Option<u64> {
        let kill = self.result.kills.first().map(|k| k.t.0);
        let exit = self
            .trace
            .iter()
            .find(|r| r.func == "do_group_exit")
            .map(|r| r.t.0);
        match (kill, exit) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// The race window the timeline opens on: from just before the kill
    /// (or the group exit) to the last evidence, with a margin on each
    /// side; the whole run when nothing died.
    pub fn race_window(&self) -> (u64, u64) {
        let end_run = self.result.end_time.0.max(1);
        let Some(start) = self.death_at() else {
            return (0, end_run);
        };
        // Stale blocks on disk show only after the crash that ends the run
        // (the record that mapped them can come long before the kill).
        let on_disk = self
            .result
            .first_bad()
            .is_some_and(|b| matches!(b.origin, oomlab_core::outcome::Origin::Blocks { .. }));
        let evidence = if on_disk {
            Some(end_run)
        } else {
            oomlab_core::export::last_evidence(&self.result)
                .and_then(|i| self.trace_pos(i))
                .map(|p| self.trace[p].t.0)
        };
        let end = evidence
            .or(self.result.unstable_at.map(|t| t.0))
            .unwrap_or(start)
            .max(start);
        let pad = ((end - start) / 8).max(20_000);
        let t0 = start.saturating_sub(pad);
        let t1 = (end + pad).min(end_run).max(t0 + 1);
        (t0, t1)
    }

    /// Position in `trace` of the record with index `idx` (the trace may
    /// start after dropped records).
    pub fn trace_pos(&self, idx: u64) -> Option<usize> {
        let i = self.trace.partition_point(|r| r.idx < idx);
        (self.trace.get(i)?.idx == idx).then_some(i)
    }
}

#[cfg(test)]
pub(crate) mod tests_support {
    use super::*;

    pub(crate) fn run(id: &str, seed: u64) -> RunView {
        let sc = presets::find(id).unwrap().load();
        let src = ChoiceSource::Seed(seed);
        let mut sim = Sim::new(&sc, src.clone());
        let mut samples = Vec::new();
        let mut modes = ModeTracker::default();
        let mut n = 0u64;
        while sim.step() {
            modes.observe(&sim);
            n += 1;
            if n.is_multiple_of(20_000) {
                samples.push(sample(&sim));
            }
        }
        let spans = modes.finish(&sim);
        RunView::build(&sc, &src, &mut sim, samples).with_user_spans(spans)
    }

    /// The first R1 seed whose run puts zeros in a file (the model evolves,
    /// so tests search instead of hard-coding one).
    pub(crate) fn corrupting_r1_seed() -> u64 {
        let sc = presets::find("r1").unwrap().load();
        (0..40)
            .find(|&s| {
                oomlab_core::run(&sc, ChoiceSource::Seed(s)).outcomes[0].code() == "zeros_in_file"
            })
            .expect("R1 corrupts for some seed below 40")
    }
}

#[cfg(test)]
mod tests {
    use super::tests_support::run;
    use oomlab_core::hexdump::ByteClass;

    #[test]
    fn the_race_window_holds_the_kill_and_the_evidence_and_is_short() {
        for id in ["r1", "r4", "r2", "r5"] {
            let seed = oomlab_core::presets::find(id).unwrap().showcase_seed;
            let v = run(id, seed);
            let (t0, t1) = v.race_window();
            let death = v.death_at().expect("the victim dies");
            assert!(t0 < death && death < t1, "{id}: {t0}..{t1} vs {death}");
            let ev = oomlab_core::export::last_evidence(&v.result).expect("evidence");
            let te = v.trace[v.trace_pos(ev).unwrap()].t.0;
            // Stale disk bytes are evidence of the crash at the run's end.
            let disk = v
                .result
                .first_bad()
                .is_some_and(|b| matches!(b.origin, oomlab_core::outcome::Origin::Blocks { .. }));
            assert_eq!(disk, id == "r5", "{id}: only R5's evidence is on disk");
            let te = if disk { v.result.end_time.0 } else { te };
            assert!(t0 <= te && te <= t1, "{id}: evidence at {te}");
            let end = v.result.end_time.0;
            assert!(
                4 * (t1 - t0) <= end,
                "{id}: {t0}..{t1} of {end} (death {death}, evidence {te})"
            );
        }
    }

    #[test]
    fn corrupting_r1_run_has_zero_page_bytes_at_the_evidence() {
        // The showcase seed: it corrupts, and threads of a.out wait for
        // mmap_sem while another one maps its buffer (not every corrupting
        // seed has such a wait).
        let v = run(
            "r1",
            oomlab_core::presets::find("r1").unwrap().showcase_seed,
        );
        assert_eq!(v.result.outcomes[0].code(), "zeros_in_file");
        let (fi, off) = v.first_bad().expect("evidence");
        let f = &v.files[fi];
        assert_eq!(f.dump.byte(off), Some((0, ByteClass::ZeroPage)));
        assert!(f.dump.first_bad().unwrap() <= off);
        let ev = v.evidence_event().unwrap();
        assert!(
            v.trace_pos(ev).is_some(),
            "evidence event {ev} is in the trace"
        );
        assert!(v.samples.len() > 2);
        assert!(v.victim.is_some());
        assert!(v.trace.iter().any(|r| r.ipi_to.is_some()));
        assert!(v.link.starts_with("v1."));
        assert!(!v.lock_waits.is_empty(), "R1 waits on mmap_sem");
        assert!(v.lock_waits.iter().all(|w| w.end >= w.start));
        // The writers spend time in user mode (memset of the buffer) between
        // write() calls; spans are ordered and well-formed.
        assert!(v.user_spans.len() > 8, "{} user spans", v.user_spans.len());
        assert!(v
            .user_spans
            .iter()
            .all(|s| s.end > s.start && s.cpu < v.cpus));
        assert!(v.user_spans.windows(2).all(|w| w[0].start <= w[1].start));
    }

    /// After R5's power loss the file view shows the file as read back from
    /// disk: the evidence byte is a stale disk byte, and the dump carries the
    /// on-disk sizes the verdict was computed from.
    #[test]
    fn r5_crash_run_shows_stale_disk_bytes_read_back() {
        let sc = oomlab_core::presets::find("r5").unwrap().load();
        let seed = (0..40)
            .find(|&s| {
                oomlab_core::run(&sc, oomlab_core::ChoiceSource::Seed(s))
                    .first_bad()
                    .is_some_and(|b| b.outcome.code() == "stale_beyond_isize")
            })
            .expect("R5 exposes stale blocks for some seed below 40");
        let v = run("r5", seed);
        let (fi, off) = v.first_bad().expect("evidence");
        let f = &v.files[fi];
        assert_eq!(f.dump.byte(off).map(|b| b.1), Some(ByteClass::StaleDisk));
        let rf = v.result.files.iter().find(|r| r.path == f.path).unwrap();
        assert_eq!(f.dump.len, rf.disk_size);
        assert_eq!(f.dump.markers.disk_size, rf.disk_size);
        assert_eq!(f.dump.markers.disk_size_at_kill, rf.disk_size_at_kill);
        assert!(rf.disk_size_at_kill.is_some(), "R5 crashes after a kill");
    }
}
