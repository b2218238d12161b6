//! The simulator: one closed event enum, one queue ordered by `(time, seq)`, and
//! one `step`. Subsystems (in `kernel/`, `mm/`, `locking/`, `fs/`) are `impl Sim`
//! blocks that mutate state and schedule follow-up events; only `step` advances
//! time.
//!
//! Tasks execute as explicit continuations: each task has a stack of kernel
//! [`Frame`]s named after the kernel functions they stand for. A CPU runs its
//! current task one step at a time; a step applies its effects atomically at the
//! moment it starts and then keeps the CPU busy for its duration. Other CPUs
//! interleave between steps, which is where every race in this model comes from.
//!
//! Not modelled: kernel preemption (kernels of that era ran PREEMPT_NONE or
//! VOLUNTARY, so kernel code yields only at `cond_resched` points and when it
//! sleeps), priorities and nice levels, cgroups, NUMA placement of memory, more
//! than one zone.

use crate::choice::Player;
use crate::choice::{Choice, ChoiceKind, ChoiceSource, Chooser};
use crate::fs::filemap::WriteFrame;
use crate::fs::jbd2::JournalFrame;
use crate::fs::writeback::FlusherFrame;
use crate::fs::writeback::BIO_POOL_SIZE;
use crate::fs::xfs::icache::XfsIcache;
use crate::fs::xfs::log::XlogFrame;
use crate::fs::FsState;
use crate::fs::Inode;
use crate::fs::InodeId;
pub use crate::ids::Tid;
use crate::kernel::exit::ExitFrame;
use crate::kernel::sched::TaskState;
use crate::kernel::signal::GroupExitFrame;
use crate::locking::{Mutex, RwSem};
use crate::mm::khugepaged::KhugepagedFrame;
use crate::mm::memory::FaultFrame;
use crate::mm::memory::FaultResult;
use crate::mm::memory::Mm;
use crate::mm::memory::MmId;
use crate::mm::memory::MmapFrame;
use crate::mm::memory::VmaCache;
use crate::mm::memory::MMF_UNSTABLE;
use crate::mm::oom_kill::OomFrame;
use crate::mm::oom_kill::OomReapTaskFrame;
use crate::mm::oom_kill::OomReapTaskMmFrame;
use crate::mm::oom_kill::OomReaperFrame;
use crate::mm::oom_kill::OomState;
use crate::mm::oom_kill::ProcessMreleaseFrame;
use crate::mm::oom_kill::{MmputFrame, MmputWorkerFrame};
use crate::mm::page_alloc::AllocFrame;
use crate::mm::page_alloc::MemState;
use crate::mm::page_alloc::PageKind;
use crate::mm::page_alloc::Pfn;
use crate::mm::shrinker::ShrinkSlabFrame;
use crate::mm::vmscan::KswapdFrame;
use crate::outcome::{classify, Observations, RunResult};
use crate::program::Program;
use crate::rng::Fnv1a;
use crate::scenario::FsType;
use crate::scenario::{Toggles, ValidScenario};
pub use crate::snapshot::{CpuSnap, Snapshot, TaskSnap};
use crate::trace::{write_head, FnvWriter};

use crate::eventq::{EventQueue, QEntry};
pub use crate::time::SimTime;
use crate::trace::{TraceKind, TraceRecord};
use serde::Serialize;
use std::collections::VecDeque;
use std::sync::Arc;

pub type CpuId = u32;

/// The closed set of things that can happen at a point in time.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Event {
    /// The step the CPU's current task started has finished; `gen` guards
    /// against steps that were cut short by an interrupt.
    CpuStep { cpu: CpuId, gen: u64 },
    /// The periodic scheduler tick of a CPU.
    Tick { cpu: CpuId },
    /// An inter-processor interrupt arrives.
    Ipi {
        cpu: CpuId,
        kind: IpiKind,
        from: CpuId,
    },
    /// A `schedule_timeout` expires.
    TimerWake { tid: Tid, gen: u64 },
    /// A descheduled vCPU is given back its physical CPU.
    VcpuResume { cpu: CpuId },
    /// `oom_reaper_timer` (5.18): hand the victim to the reaper now.
    OomReaperTimer { tid: Tid },
    /// The disk completes a request.
    BioDone { id: u64 },
    /// The machine loses power (`[crash]`).
    Crash,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum IpiKind {
    /// `smp_send_reschedule`: from `kick_process` or a remote wakeup.
    Reschedule,
    /// A TLB shootdown for one mm (`flush_tlb_mm_range`).
    TlbFlush { mm: MmId },
}

/// How a CPU's step ended, returned by a task's step function.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Step {
    /// Keep running this task; its next step starts after this many ns.
    Busy(u64),
    /// The task went to sleep (its state is already set); pick another.
    Sleep,
    /// `cond_resched` or a user-mode preemption: requeue and pick.
    Yield,
    /// The task is dead.
    Dead,
}

/// A task's kernel continuation.
#[derive(Clone, Debug, Hash)]
pub(crate) enum Frame {
    Write(Box<WriteFrame>),
    Fault(FaultFrame),
    Alloc(AllocFrame),
    Oom(OomFrame),
    GroupExit(GroupExitFrame),
    Exit(ExitFrame),
    Mmap(MmapFrame),
    Nanosleep { until: SimTime, started: bool },
    BalanceDirty { waited: bool },
    OomReaper(OomReaperFrame),
    OomReapTask(OomReapTaskFrame),
    OomReapTaskMm(Box<OomReapTaskMmFrame>),
    Mmput(MmputFrame),
    MmputWorker(MmputWorkerFrame),
    ProcessMrelease(ProcessMreleaseFrame),
    Kswapd(KswapdFrame),
    Flusher(FlusherFrame),
    ShrinkSlab(ShrinkSlabFrame),
    Xlog(XlogFrame),
    Khugepaged(KhugepagedFrame),
    Journal(JournalFrame),
}

/// Value a finished frame hands to its caller (see `frame_return`: the
/// caller takes it into its phase, typed by one of the accessors below).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub(crate) enum Ret {
    #[default]
    None,
    Page(Pfn),
    NoPage,
    Fault(FaultResult),
    Int(i64),
    Bool(bool),
}

impl Ret {
    /// What an allocation (`__alloc_pages_nodemask`) returned.
    pub(crate) fn page(self) -> Option<Pfn> {
        match self {
            Ret::Page(p) => Some(p),
            Ret::NoPage => None,
            _ => panic!("an allocation returns a page or none"),
        }
    }

    /// What `handle_mm_fault` returned.
    pub(crate) fn fault(self) -> FaultResult {
        match self {
            Ret::Fault(r) => r,
            _ => panic!("handle_mm_fault returns a fault result"),
        }
    }

    /// What an `int`-returning function (`shrink_slab`, `out_of_memory`) returned.
    pub(crate) fn int(self) -> i64 {
        match self {
            Ret::Int(n) => n,
            _ => panic!("expected an int"),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Hash)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    User,
    Kernel,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum KthreadKind {
    OomReaper,
    Kswapd,
    Flusher,
    /// The `xfs-cil` workqueue worker that writes log checkpoints.
    XfsLog,
    Khugepaged,
    /// `jbd2/sda1-8`: commits ext4's journal.
    Jbd2,
    /// `btrfs-transaction`: commits btrfs transactions.
    BtrfsTransaction,
    /// A `system_wq` worker: runs `mmput_async_fn` (the `__mmput` the 4.13
    /// reaper's `mmput_async` queues).
    MmputWorker,
}

/// What a kernel thread is made of: the kthread table.
pub(crate) struct KthreadSpec {
    pub comm: &'static str,
    /// The wait queue it sleeps on when idle.
    pub wait: &'static str,
    /// Its thread function, the bottom frame it never returns from.
    pub frame: Frame,
    pub flags: u32,
}

impl KthreadKind {
    /// The one place that says what each kernel thread is.
    pub(crate) fn spec(self) -> KthreadSpec {
        let (comm, wait, frame, flags) = match self {
            KthreadKind::OomReaper => (
                "oom_reaper",
                "oom_reaper_wait",
                Frame::OomReaper(Default::default()),
                0,
            ),
            // kswapd runs with PF_MEMALLOC set (mm/vmscan.c, kswapd()).
            KthreadKind::Kswapd => (
                "kswapd0",
                "kswapd_wait",
                Frame::Kswapd(Default::default()),
                PF_MEMALLOC,
            ),
            KthreadKind::Flusher => (
                "kworker/u:flush",
                "wb_wait_for_work",
                Frame::Flusher(Default::default()),
                0,
            ),
            KthreadKind::XfsLog => (
                "kworker/xfs-cil",
                "worker_thread",
                Frame::Xlog(Default::default()),
                PF_WQ_WORKER,
            ),
            KthreadKind::Khugepaged => (
                "khugepaged",
                "khugepaged_wait",
                Frame::Khugepaged(KhugepagedFrame::first()),
                0,
            ),
            KthreadKind::Jbd2 => (
                "jbd2/sda1-8",
                "j_wait_commit",
                Frame::Journal(Default::default()),
                0,
            ),
            KthreadKind::BtrfsTransaction => (
                "btrfs-transacti",
                "schedule_timeout",
                Frame::Journal(crate::fs::jbd2::JournalFrame::btrfs()),
                0,
            ),
            KthreadKind::MmputWorker => (
                "kworker/mmput",
                "worker_thread",
                Frame::MmputWorker(Default::default()),
                PF_WQ_WORKER,
            ),
        };
        KthreadSpec {
            comm,
            wait,
            frame,
            flags,
        }
    }
}

/// A user variable's value: a mapping or a file descriptor.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Var {
    Unset,
    Mem {
        start: u64,
        len: u64,
        fill: u8,
    },
    Fd {
        inode: InodeId,
        append: bool,
        pos: u64,
    },
}

#[derive(Clone, Debug)]
pub(crate) struct UserState {
    pub prog: Arc<Program>,
    pub pc: u32,
    /// Remaining iterations per LoopStart op (indexed by op index).
    pub loops: Vec<u64>,
    pub vars: Vec<Var>,
    /// Progress of a `touch`: next page to touch.
    pub touch_next: u64,
    /// Bytes a chunked `touch` statement has covered so far (by op index).
    pub touched: Vec<u64>,
    /// End of an in-progress `spin`.
    pub spin_until: Option<SimTime>,
    /// Index of this thread among the threads of its [[process.thread]] entry.
    pub n: u32,
}

/// `task_struct`.
#[derive(Clone, Debug)]
pub struct Task {
    pub pid: u32,
    pub tgid: u32,
    pub comm: String,
    pub state: TaskState,
    pub mode: Mode,
    /// CPU it last ran on.
    pub cpu: CpuId,
    pub on_cpu: bool,
    pub flags: u32,
    pub tif: u32,
    /// Private pending signals (bit per signal number).
    pub pending: u64,
    pub kthread: Option<KthreadKind>,
    /// Index into `Sim::signals`.
    pub sig: u32,
    /// Index into `Sim::mms`, None once `exit_mm` dropped it (and for kthreads).
    pub mm: Option<MmId>,
    pub(crate) frames: Vec<Frame>,
    pub(crate) user: Option<UserState>,
    /// Set after a syscall or interrupt: the next step runs `exit_to_usermode_loop`.
    pub(crate) returning_to_user: bool,
    /// Bumped on every wakeup so that stale timers are ignored.
    pub(crate) sleep_gen: u64,
    /// What the task is blocked on, for the trace and the wait-for graph.
    pub(crate) blocked_on: Option<&'static str>,
    /// Where this thread's stack mapping starts.
    pub(crate) stack_start: u64,
    pub(crate) stack_used: u64,
    /// Time at which the current on-CPU stint started (for tick preemption).
    pub(crate) ran_since: SimTime,
    /// Sum of write() return values this thread has seen, per inode.
    pub(crate) oom_reaper_queued: bool,
    /// `pf_memalloc_pid` (A3): pids of the `PF_MEMALLOC` tasks whose work this
    /// kernel thread is doing.
    pub(crate) pf_memalloc_pid: Vec<u32>,
}

pub const PF_EXITING: u32 = 0x4;
pub const PF_MEMALLOC: u32 = 0x800;
pub const PF_WQ_WORKER: u32 = 0x20;
pub const PF_KTHREAD: u32 = 0x0020_0000;
pub const TIF_SIGPENDING: u32 = 1 << 2;
pub const TIF_NEED_RESCHED: u32 = 1 << 3;
pub const TIF_MEMDIE: u32 = 1 << 18;
pub const SIGKILL: u32 = 9;
pub const SIGBUS: u32 = 7;

/// `signal_struct`: one per thread group.
#[derive(Clone, Debug)]
pub struct SignalStruct {
    pub tgid: u32,
    pub comm: String,
    pub group_exit: bool,
    pub oom_mm: Option<MmId>,
    pub oom_score_adj: i32,
    pub threads: Vec<Tid>,
    pub live: u32,
    /// Shared pending set (group-wide signals).
    pub shared_pending: u64,
}

/// One CPU (or vCPU).
#[derive(Clone, Debug)]
pub struct Cpu {
    pub id: CpuId,
    pub socket: u32,
    pub curr: Option<Tid>,
    pub rq: VecDeque<Tid>,
    pub(crate) gen: u64,
    /// When the pending CpuStep fires (valid while `curr` is set).
    pub(crate) step_at: SimTime,
    pub(crate) paused_until: Option<SimTime>,
    /// Cached translations: (mm, virtual page number, pfn). A reaped page can
    /// still be read through a stale entry until the shootdown arrives.
    pub(crate) tlb: Vec<(MmId, u64, Pfn)>,
    /// The mm whose page tables are loaded (kernel threads borrow it lazily).
    pub(crate) active_mm: Option<MmId>,
    /// Latest delivery time of an IPI already in flight to this CPU, so that a
    /// later IPI is not delivered before an earlier one (the APIC keeps order).
    pub(crate) ipi_inflight_until: SimTime,
}

/// Why a run stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EndReason {
    /// Every user task exited.
    AllExited,
    /// `limits.duration` elapsed.
    Duration,
    /// `limits.max_steps` was exceeded.
    StepBudget,
    /// The kernel panicked (no killable process left).
    Panic,
    /// No forward progress for longer than the hang threshold.
    Hang,
    /// The machine lost power (`[crash]`).
    Crash,
}

/// Cloning a `Sim` is a checkpoint: the clone continues exactly as the
/// original would (step-through and challenge mode rely on this).
#[derive(Clone)]
pub struct Sim {
    pub(crate) sc: Arc<ValidScenario>,
    pub(crate) toggles: Toggles,
    pub(crate) now: SimTime,
    queue: EventQueue,
    seq: u64,
    pub(crate) chooser: Chooser,
    pub(crate) source: ChoiceSource,
    pub cpus: Vec<Cpu>,
    pub tasks: Vec<Task>,
    pub signals: Vec<SignalStruct>,
    pub mms: Vec<Mm>,
    pub(crate) mem: MemState,
    pub inodes: Vec<Inode>,
    /// The disk, the journal, writeback lists, and the crash.
    pub fs: FsState,
    pub(crate) shrinker_rwsem: RwSem,
    pub(crate) s_umount: RwSem,
    pub xfs: XfsIcache,
    /// The OOM killer's and the reaper's state (`mm/oom_kill.rs`).
    pub(crate) oom: OomState,
    pub(crate) kswapd_tid: Tid,
    pub(crate) flusher_tid: Tid,
    pub(crate) vm_area_cachep: VmaCache,
    pub(crate) trace: Vec<TraceRecord>,
    pub(crate) trace_total: u64,
    pub(crate) steps: u64,
    pub(crate) obs: Observations,
    pub(crate) end: Option<EndReason>,
    pub(crate) tick_ns: u64,
    pub(crate) last_progress: SimTime,
    /// Running FNV-1a of the trace text, so the hash covers dropped records too.
    pub(crate) trace_hash: u64,
    trace_text: bool,
}

impl Sim {
    pub fn new(sc: &ValidScenario, source: ChoiceSource) -> Sim {
        Self::with_player(sc, source, None)
    }

    /// A run in which `player` takes the decisions of the kinds it controls
    /// (challenge mode), from boot on.
    pub fn with_player(sc: &ValidScenario, source: ChoiceSource, player: Option<Player>) -> Sim {
        let sc = Arc::new(sc.clone());
        let m = &sc.scenario.machine;
        let tick_ns = 1_000_000_000 / u64::from(m.hz);
        let cpus_per_socket = m.cpus / m.sockets;
        let cpus = (0..m.cpus)
            .map(|id| Cpu {
                id,
                socket: id / cpus_per_socket,
                curr: None,
                rq: VecDeque::new(),
                gen: 0,
                step_at: SimTime::ZERO,
                paused_until: None,
                tlb: Vec::new(),
                active_mm: None,
                ipi_inflight_until: SimTime::ZERO,
            })
            .collect();
        let mem = MemState::boot(&sc);
        let mut sim = Sim {
            toggles: sc.toggles.clone(),
            sc: sc.clone(),
            now: SimTime::ZERO,
            queue: EventQueue::default(),
            seq: 0,
            chooser: Chooser::new(&source).with_player(player),
            source,
            cpus,
            tasks: Vec::new(),
            signals: Vec::new(),
            mms: Vec::new(),
            mem,
            inodes: Vec::new(),
            fs: FsState::new(sc.fs.clone(), m.disk_bandwidth.0),
            shrinker_rwsem: RwSem::new("shrinker_rwsem"),
            s_umount: RwSem::new("s_umount"),
            xfs: XfsIcache::new(),
            oom: OomState::new(),
            kswapd_tid: Tid(0),
            flusher_tid: Tid(0),
            // Boot has left a partial slab behind.
            vm_area_cachep: VmaCache::new(),
            trace: Vec::new(),
            trace_total: 0,
            steps: 0,
            obs: Observations::default(),
            end: None,
            tick_ns,
            last_progress: SimTime::ZERO,
            trace_hash: 0xcbf2_9ce4_8422_2325,
            trace_text: true,
        };
        sim.boot();
        sim
    }

    /// Creates the kernel threads and the scenario's processes, and arms ticks.
    fn boot(&mut self) {
        // The bio mempool's reserve (`bioset_init`).
        for _ in 0..BIO_POOL_SIZE {
            let pfn = self.mem.alloc_page(PageKind::Kernel);
            self.fs.bio_pool.extend(pfn);
        }
        if self.toggles.reaper {
            let t = self.spawn_kthread(KthreadKind::OomReaper);
            self.oom.reaper_tid = Some(t);
        }
        self.kswapd_tid = self.spawn_kthread(KthreadKind::Kswapd);
        self.flusher_tid = self.spawn_kthread(KthreadKind::Flusher);
        if self.sc.scenario.fs.fs_type == FsType::Xfs {
            let t = self.spawn_kthread(KthreadKind::XfsLog);
            self.xfs.log.worker = Some(t);
            self.xfs.enabled = true;
            // The reclaimable slab is the XFS inode cache: unused inodes on
            // the VFS LRU.
            let pages = std::mem::take(&mut self.mem.slab);
            self.xfs.populate(pages);
        }
        if self.sc.scenario.machine.thp {
            self.spawn_kthread(KthreadKind::Khugepaged);
        }
        match self.sc.fs.fs_type {
            FsType::Ext4 => {
                self.fs.committer = Some(self.spawn_kthread(KthreadKind::Jbd2));
            }
            FsType::Btrfs => {
                self.fs.committer = Some(self.spawn_kthread(KthreadKind::BtrfsTransaction));
            }
            FsType::Xfs => self.fs.committer = self.xfs.log.worker,
        }
        let sc = self.sc.clone();
        let mut pid = 100;
        for p in &sc.scenario.processes {
            self.spawn_process(p, &mut pid);
        }
        if self.toggles.reaper && self.toggles.reaper_mmget {
            // Spawned after the processes so that their tasks keep their
            // CPUs; its pid follows the other kernel threads'.
            let kthreads = self.tasks.iter().filter(|t| t.kthread.is_some()).count();
            let t = self.spawn_kthread_pid(KthreadKind::MmputWorker, 10 + kthreads as u32);
            self.oom.mmput_worker = Some(t);
        }
        // Ticks of different CPUs are not aligned; where each falls is a choice.
        let ncpu = self.cpus.len() as u32;
        for cpu in 0..ncpu {
            let phase = self.chooser.choose(ChoiceKind::TickPhase, 16);
            let at = self.tick_ns * u64::from(phase + 1) / 16;
            self.push(SimTime(at), Event::Tick { cpu });
        }
        self.crash_boot();
        // Place every runnable task: kthreads sleep, user threads start running.
        for cpu in 0..ncpu {
            if self.cpus[cpu as usize].curr.is_none() {
                self.schedule(cpu);
            }
        }
        self.trace_info(
            None,
            "setup_per_zone_wmarks",
            format!(
                "min_free_kbytes {} min {} low {} high {} pages, managed {} free {}",
                self.sc.min_free_kbytes,
                self.sc.watermarks.min,
                self.sc.watermarks.low,
                self.sc.watermarks.high,
                self.sc.managed_pages,
                self.mem.nr_free()
            ),
        );
    }

    pub(crate) fn push(&mut self, t: SimTime, ev: Event) {
        self.seq += 1;
        self.queue.push(QEntry {
            t,
            seq: self.seq,
            ev,
        });
    }

    pub fn now(&self) -> SimTime {
        self.now
    }

    /// The pid running on each CPU and its mode, without building a snapshot:
    /// cheap enough to sample after every step (the timeline's user/kernel
    /// bands). Kernel threads are always in kernel mode.
    pub fn cpu_modes(&self) -> impl Iterator<Item = Option<(u32, Mode)>> + '_ {
        self.cpus.iter().map(|c| {
            c.curr.map(|t| {
                let t = &self.tasks[t];
                (t.pid, t.mode)
            })
        })
    }

    /// The CPU the next `step` runs on: the CPU of a CPU event, the sleeper's
    /// CPU for a timer (it fires where it was armed); None for the disk and
    /// the crash. Read by exports that replay a run; it changes nothing.
    pub(crate) fn next_event_cpu(&self) -> Option<CpuId> {
        let e = self.queue.peek()?;
        match e.ev {
            Event::CpuStep { cpu, .. }
            | Event::Tick { cpu }
            | Event::Ipi { cpu, .. }
            | Event::VcpuResume { cpu } => Some(cpu),
            Event::TimerWake { tid, .. } | Event::OomReaperTimer { tid } => {
                Some(self.tasks[tid].cpu)
            }
            Event::BioDone { .. } | Event::Crash => None,
        }
    }

    pub fn is_done(&self) -> bool {
        self.end.is_some()
    }

    /// Processes one event. Returns false once the run has ended.
    pub fn step(&mut self) -> bool {
        let more = self.step_event();
        if !more && self.fs.end.is_none() {
            // A run that ended without a crash ends with a clean unmount.
            self.fs_unmount();
        }
        more
    }

    fn step_event(&mut self) -> bool {
        if self.end.is_some() {
            return false;
        }
        if self.steps >= self.sc.scenario.limits.max_steps {
            self.end = Some(EndReason::StepBudget);
            return false;
        }
        let Some(e) = self.queue.pop() else {
            self.end = Some(EndReason::AllExited);
            return false;
        };
        if e.t.0 > self.sc.scenario.limits.duration.0 {
            self.now = SimTime(self.sc.scenario.limits.duration.0);
            self.end = Some(EndReason::Duration);
            return false;
        }
        debug_assert!(e.t >= self.now, "time went backwards");
        self.now = e.t;
        self.steps += 1;
        match e.ev {
            Event::CpuStep { cpu, gen } => {
                if self.cpus[cpu as usize].gen == gen {
                    self.cpu_step(cpu);
                }
            }
            Event::Tick { cpu } => self.tick(cpu),
            Event::Ipi { cpu, kind, from } => self.ipi_deliver(cpu, kind, from),
            Event::TimerWake { tid, gen } => {
                if self.tasks[tid].sleep_gen == gen {
                    self.wake_up_process(tid, None);
                }
            }
            Event::VcpuResume { cpu } => self.vcpu_resume(cpu),
            Event::OomReaperTimer { tid } => self.wake_oom_reaper(tid),
            Event::BioDone { id } => self.bio_endio(id),
            Event::Crash => {
                if self.end.is_none() && self.fs.end.is_none() {
                    self.fs_crash();
                }
            }
        }
        self.fs_after_step();
        // With a crash still to come, the machine runs on after the last
        // process exited: writeback and the journal go on.
        if self.end.is_none() && self.user_tasks_alive() == 0 && !self.crash_pending() {
            self.end = Some(EndReason::AllExited);
        }
        #[cfg(debug_assertions)]
        self.check_invariants();
        self.end.is_none()
    }

    fn user_tasks_alive(&self) -> u32 {
        self.signals.iter().map(|s| s.live).sum()
    }

    /// Runs until the run ends or `budget` more events were processed.
    pub fn run_to_end(&mut self, budget: u64) -> RunResult {
        let mut n = 0;
        while n < budget && self.step() {
            n += 1;
        }
        if self.end.is_none() {
            self.end = Some(EndReason::StepBudget);
        }
        self.finish()
    }

    /// Finishes the run (if needed) and classifies it.
    pub fn finish(&mut self) -> RunResult {
        if self.end.is_none() {
            self.end = Some(EndReason::StepBudget);
        }
        if self.fs.end.is_none() {
            self.fs_unmount();
        }
        classify(self)
    }

    /// Makes this checkpoint the start of a window: from the next decision
    /// on, a fresh seed (if any) and the deviations on top. For a seeded run
    /// that is exactly what `ChoiceSource::Window` replays from scratch; a
    /// replayed or deviated run keeps its source (its window runs have no
    /// permalink of their own).
    pub fn enter_window(&mut self, reseed: Option<u64>, devs: Vec<(u32, u32)>) {
        let at = self.chooser.recorded().len() as u32;
        if let ChoiceSource::Seed(seed) = self.source {
            self.source = ChoiceSource::Window {
                seed,
                at,
                reseed,
                devs: devs.clone(),
            };
        }
        self.chooser.enter_window(reseed, devs);
    }

    pub fn recorded_choices(&self) -> &[Choice] {
        self.chooser.recorded()
    }

    pub fn trace(&self) -> &[TraceRecord] {
        &self.trace
    }

    /// Drops the trace records kept so far; their count and hash stay, and
    /// later records are kept as usual (so `trace()` no longer starts at
    /// record 0). For a checkpoint that is only stepped and snapshotted: the
    /// records are most of a clone's size.
    pub fn forget_trace(&mut self) {
        self.trace = Vec::new();
    }

    pub fn end_reason(&self) -> Option<EndReason> {
        self.end
    }

    pub fn steps(&self) -> u64 {
        self.steps
    }

    // -- trace ---------------------------------------------------------------

    pub(crate) fn trace_rec(
        &mut self,
        cpu: Option<CpuId>,
        tid: Option<Tid>,
        func: &'static str,
        kind: TraceKind,
        msg: String,
        ipi_to: Option<(u32, SimTime)>,
    ) -> u64 {
        let mut h = self.trace_head(cpu, tid, func, kind, ipi_to);
        let _ = std::fmt::Write::write_str(&mut h, &msg);
        if self.trace_text {
            if let Some(r) = self
                .trace
                .last_mut()
                .filter(|r| r.idx == self.trace_total - 1)
            {
                r.msg = msg;
            }
        }
        self.trace_tail(h)
    }

    /// Starts record number `trace_total`: hashes its head, keeps it (without
    /// its message) if the trace has room, and returns the hash to write the
    /// message into. `trace_tail` finishes it.
    pub(crate) fn trace_head(
        &mut self,
        cpu: Option<CpuId>,
        tid: Option<Tid>,
        func: &'static str,
        kind: TraceKind,
        ipi_to: Option<(u32, SimTime)>,
    ) -> FnvWriter {
        let idx = self.trace_total;
        self.trace_total += 1;
        self.chooser.event = self.trace_total;
        let who = tid.map(|t| {
            let t = &self.tasks[t];
            (t.comm.as_str(), t.pid)
        });
        let mut h = FnvWriter(self.trace_hash);
        let _ = write_head(&mut h, self.now, cpu, who, func);
        if (self.trace.len() as u64) < self.sc.scenario.limits.max_trace {
            let (pid, comm) = match who {
                Some((comm, pid)) if self.trace_text => (Some(pid), comm.to_string()),
                Some((_, pid)) => (Some(pid), String::new()),
                None => (None, String::new()),
            };
            self.trace.push(TraceRecord {
                idx,
                t: self.now,
                cpu,
                pid,
                comm,
                func,
                kind,
                msg: String::new(),
                ipi_to,
            });
        }
        h
    }

    pub(crate) fn trace_tail(&mut self, mut h: FnvWriter) -> u64 {
        let _ = std::fmt::Write::write_str(&mut h, "\n");
        self.trace_hash = h.0;
        self.trace_total - 1
    }

    /// Whether records keep their text (`comm` and message). A run nobody
    /// will read (an exploration's) drops it: the records keep their time,
    /// CPU, pid, function and kind, and the trace hash is the same, since the
    /// text is hashed as it is written either way.
    pub fn keeps_trace_text(&self) -> bool {
        self.trace_text
    }

    /// From now on, and for the records kept so far (boot's).
    pub fn drop_trace_text(&mut self) {
        self.trace_text = false;
        for r in &mut self.trace {
            r.comm = String::new();
            r.msg = String::new();
        }
    }

    /// A record by the task currently running on `cpu`... or any task.
    pub(crate) fn tr(&mut self, tid: Tid, func: &'static str, kind: TraceKind, msg: String) -> u64 {
        let cpu = self.cpu_of_running(tid);
        self.trace_rec(cpu, Some(tid), func, kind, msg, None)
    }

    pub(crate) fn cpu_of_running(&self, tid: Tid) -> Option<CpuId> {
        let t = &self.tasks[tid];
        t.on_cpu.then_some(t.cpu)
    }

    pub(crate) fn trace_info(
        &mut self,
        cpu: Option<CpuId>,
        func: &'static str,
        msg: String,
    ) -> u64 {
        self.trace_rec(cpu, None, func, TraceKind::Info, msg, None)
    }

    /// Hash of the full trace text (including records beyond `max_trace`).
    pub fn trace_hash(&self) -> u64 {
        self.trace_hash
    }

    pub fn trace_len(&self) -> u64 {
        self.trace_total
    }

    pub(crate) fn progress(&mut self) {
        self.last_progress = self.now;
    }

    /// A hash of the simulator's present state, without its history: used by
    /// the exhaustive explorer to prune continuations it has already explored.
    pub fn state_hash(&self) -> u64 {
        use std::hash::{Hash, Hasher};
        let mut h = Fnv1a::default();
        (
            self.now.0,
            self.mem.nr_free(),
            self.mem.write_pending(),
            self.mem.clean_lru.len(),
        )
            .hash(&mut h);
        for t in &self.tasks {
            let pc = t.user.as_ref().map_or(0, |u| u.pc);
            (t.state, t.mode, t.cpu, t.on_cpu, t.tif, t.pending, pc).hash(&mut h);
            t.frames.hash(&mut h);
        }
        for c in &self.cpus {
            (c.curr, &c.rq, c.paused_until).hash(&mut h);
        }
        for m in &self.mms {
            (m.flags, m.users, m.rss_anon, m.vmas.len()).hash(&mut h);
        }
        for i in &self.inodes {
            (i.i_size, i.acked, i.pages.len(), i.i_disksize, i.nr_dirty).hash(&mut h);
        }
        (
            self.fs.journal.next_tid,
            self.fs.journal.commits,
            self.fs.dev.inflight_requests(),
        )
            .hash(&mut h);
        let mut q: Vec<(u64, Event)> = self.queue.iter().map(|e| (e.t.0, e.ev)).collect();
        q.sort();
        q.hash(&mut h);
        h.finish()
    }

    // -- invariants ----------------------------------------------------------

    /// Model invariants, checked after every step in debug builds.
    pub fn check_invariants(&self) {
        self.mem.check();
        for (i, c) in self.cpus.iter().enumerate() {
            if let Some(t) = c.curr {
                let t = &self.tasks[t];
                assert!(
                    t.on_cpu && t.cpu as usize == i,
                    "cpu{i}: current task not on it"
                );
                assert_eq!(
                    t.state,
                    TaskState::Running,
                    "cpu{i}: current task {} not running",
                    t.pid
                );
            }
            for t in &c.rq {
                let t = &self.tasks[*t];
                assert!(!t.on_cpu, "queued task {} is on a cpu", t.pid);
                assert_eq!(
                    t.state,
                    TaskState::Running,
                    "queued task {} not runnable",
                    t.pid
                );
            }
        }
        self.oom.oom_lock.check(self);
        for ag in &self.xfs.ags {
            ag.pag_ici_reclaim_lock.check(self);
            ag.ilock.check(self);
        }
        self.shrinker_rwsem.check(self);
        self.s_umount.check(self);
        for m in &self.mms {
            m.mmap_sem.check(self);
            assert!(
                !m.unstable_was_set || m.flags & MMF_UNSTABLE != 0,
                "MMF_UNSTABLE was cleared"
            );
        }
        for ino in &self.inodes {
            assert!(
                ino.i_size >= ino.max_i_size_seen,
                "i_size shrank without a truncate"
            );
            assert!(
                ino.i_disksize <= ino.i_size,
                "{}: i_disksize {} beyond i_size {}",
                ino.path,
                ino.i_disksize,
                ino.i_size
            );
        }
    }
}

impl RwSem {
    pub(crate) fn check(&self, sim: &Sim) {
        if let Some(w) = self.writer {
            assert_eq!(self.readers, 0, "{}: writer and readers at once", self.name);
            assert!(
                sim.tasks[w].state != TaskState::Dead,
                "{}: dead owner",
                self.name
            );
        }
        for (t, _) in &self.waiters {
            assert!(
                sim.tasks[*t].state == TaskState::Uninterruptible,
                "{}: waiter {} not sleeping",
                self.name,
                sim.tasks[*t].pid
            );
        }
    }
}

impl Mutex {
    pub(crate) fn check(&self, sim: &Sim) {
        if let Some(o) = self.owner {
            assert!(
                sim.tasks[o].state != TaskState::Dead,
                "{}: dead owner",
                self.name
            );
        } else {
            assert!(
                self.waiters.is_empty(),
                "{}: waiters on a free mutex",
                self.name
            );
        }
    }
}
