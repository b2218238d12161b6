//! The scenario: a versioned serde type, separate from simulator state.
//!
//! A scenario is TOML text. `parse_scenario` turns it into a [`ValidScenario`] or
//! returns **every** problem at once, each with its field path and, where it can
//! be located in the text, its line and column. Programs embedded in the scenario
//! report positions in the scenario text, not in the program string.

use crate::program::{parse_program, Op, Program};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::collections::BTreeMap;
use std::fmt;

pub(crate) mod text;

/// The scenario format version this build writes. Older versions are migrated.
pub const SCENARIO_VERSION: u32 = 1;

pub const PAGE_SIZE: u64 = 4096;
pub const MAX_CPUS: u32 = 64;
pub const MAX_THREADS: u32 = 1024;
pub const MAX_PROCESSES: usize = 64;
/// Physical memory cap: 4 GiB is a million pages, which keeps a run's state small.
pub const MAX_MEMORY: u64 = 4 << 30;
pub const MIN_MEMORY: u64 = 16 << 20;
/// Virtual size cap of one mapping (its page table is a flat array).
pub const MAX_MAPPING: u64 = 4 << 30;
/// Virtual size cap over all mappings of all threads.
pub const MAX_TOTAL_VIRTUAL: u64 = 16 << 30;
pub const MAX_STEPS: u64 = 50_000_000;
pub const MAX_TRACE: u64 = 2_000_000;
pub const MAX_DURATION: u64 = 600 * 1_000_000_000;
/// How deep arrays and inline tables nest, and how many parts a dotted key
/// has: the reader recurses once per level.
pub const MAX_NESTING: usize = 64;

// ---------------------------------------------------------------------------
// Sizes and durations: integers or strings with a unit.

/// A byte count; in TOML either an integer or a string like "64M", "8K", "1G".
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Size(pub u64);

/// A duration in nanoseconds; in TOML an integer (ns) or "10us", "5ms", "2s".
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Dur(pub u64);

pub fn parse_size_str(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let (num, mult) = match t.char_indices().find(|(_, c)| !c.is_ascii_digit()) {
        None => (t, 1u64),
        Some((i, _)) => {
            let unit = &t[i..];
            let m = match unit {
                "" | "B" => 1,
                "K" | "k" | "KiB" | "KB" => 1 << 10,
                "M" | "MiB" | "MB" => 1 << 20,
                "G" | "GiB" | "GB" => 1 << 30,
                _ => {
                    return Err(format!(
                        "`{s}` is not a size (use e.g. 4096, \"8K\", \"64M\", \"1G\")"
                    ))
                }
            };
            (&t[..i], m)
        }
    };
    let n: u64 = num
        .parse()
        .map_err(|_| format!("`{s}` is not a size (use e.g. 4096, \"8K\", \"64M\", \"1G\")"))?;
    n.checked_mul(mult)
        .ok_or_else(|| format!("`{s}` is too large"))
}

pub fn parse_duration_str(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let bad = || format!("`{s}` is not a duration (use e.g. \"500ns\", \"10us\", \"5ms\", \"2s\")");
    let i = t
        .char_indices()
        .find(|(_, c)| !c.is_ascii_digit())
        .map(|(i, _)| i)
        .ok_or_else(bad)?;
    let n: u64 = t[..i].parse().map_err(|_| bad())?;
    let m = match &t[i..] {
        "ns" => 1,
        "us" | "µs" => 1_000,
        "ms" => 1_000_000,
        "s" => 1_000_000_000,
        _ => return Err(bad()),
    };
    n.checked_mul(m).ok_or_else(|| format!("`{s}` is too long"))
}

fn fmt_size(v: u64) -> String {
    if v != 0 && v.is_multiple_of(1 << 30) {
        format!("{}G", v >> 30)
    } else if v != 0 && v.is_multiple_of(1 << 20) {
        format!("{}M", v >> 20)
    } else if v != 0 && v.is_multiple_of(1 << 10) {
        format!("{}K", v >> 10)
    } else {
        format!("{v}")
    }
}

fn fmt_dur(v: u64) -> String {
    if v != 0 && v.is_multiple_of(1_000_000_000) {
        format!("{}s", v / 1_000_000_000)
    } else if v != 0 && v.is_multiple_of(1_000_000) {
        format!("{}ms", v / 1_000_000)
    } else if v != 0 && v.is_multiple_of(1_000) {
        format!("{}us", v / 1_000)
    } else {
        format!("{v}ns")
    }
}

/// An integer, or a string parsed by `parse`; `what` names it in errors.
/// The scenario types keep their serde impls so that `tests/scenario_text.rs`
/// can read every scenario with the `toml` crate too and compare; oomlab
/// itself reads scenarios with `scenario::text`.
fn int_or_str<'de, D: Deserializer<'de>>(
    d: D,
    what: &'static str,
    parse: fn(&str) -> Result<u64, String>,
) -> Result<u64, D::Error> {
    struct V {
        what: &'static str,
        parse: fn(&str) -> Result<u64, String>,
    }
    impl<'de> serde::de::Visitor<'de> for V {
        type Value = u64;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            write!(f, "a {} as an integer or a string", self.what)
        }
        fn visit_i64<E: serde::de::Error>(self, i: i64) -> Result<u64, E> {
            u64::try_from(i).map_err(|_| E::custom(format!("{} {i} is negative", self.what)))
        }
        fn visit_u64<E: serde::de::Error>(self, i: u64) -> Result<u64, E> {
            Ok(i)
        }
        fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<u64, E> {
            (self.parse)(s).map_err(E::custom)
        }
    }
    d.deserialize_any(V { what, parse })
}

impl<'de> Deserialize<'de> for Size {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        int_or_str(d, "size", parse_size_str).map(Size)
    }
}
impl Serialize for Size {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&fmt_size(self.0))
    }
}
impl<'de> Deserialize<'de> for Dur {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        int_or_str(d, "duration", parse_duration_str).map(Dur)
    }
}
impl Serialize for Dur {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&fmt_dur(self.0))
    }
}

// ---------------------------------------------------------------------------
// The scenario as written.

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    pub version: u32,
    #[serde(default)]
    pub title: String,
    #[serde(default)]
    pub story: String,
    pub machine: Machine,
    #[serde(default)]
    pub kernel: KernelCfg,
    #[serde(default)]
    pub fs: FsCfg,
    /// A power loss; none when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crash: Option<CrashCfg>,
    #[serde(default)]
    pub limits: Limits,
    #[serde(rename = "process", default)]
    pub processes: Vec<ProcessCfg>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub programs: BTreeMap<String, String>,
    /// Verdict queries: which outcomes must be reachable, which must never occur.
    #[serde(default, skip_serializing_if = "Expect::is_empty")]
    pub expect: Expect,
    /// Challenge mode: the goal, and which decisions the player takes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub challenge: Option<crate::challenge::Challenge>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub always: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sometimes: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub never: Vec<String>,
}

impl Expect {
    pub fn is_empty(&self) -> bool {
        self.always.is_empty() && self.sometimes.is_empty() && self.never.is_empty()
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Machine {
    pub cpus: u32,
    #[serde(default = "one")]
    pub sockets: u32,
    #[serde(default = "default_hz")]
    pub hz: u32,
    pub memory: Size,
    /// Memory the kernel itself holds (never reclaimable). Default: 1/8 of memory.
    #[serde(default)]
    pub kernel_reserved: Option<Size>,
    /// Clean, reclaimable page cache present at boot.
    #[serde(default)]
    pub page_cache: Size,
    /// Reclaimable slab (dentries, inodes) present at boot.
    #[serde(default)]
    pub slab: Size,
    #[serde(default)]
    pub thp: bool,
    /// `vm.min_free_kbytes`; derived the kernel's way when absent.
    #[serde(default)]
    pub min_free_kbytes: Option<u64>,
    #[serde(default = "default_ipi_same")]
    pub ipi_same_socket: [Dur; 2],
    #[serde(default = "default_ipi_cross")]
    pub ipi_cross_socket: [Dur; 2],
    /// What sending one IPI costs the sender: ~0 on bare metal; in a guest
    /// without IPI virtualization the ICR write is a VM exit of a few µs.
    #[serde(default)]
    pub ipi_send_cost: Dur,
    /// Chance, per tick of a vCPU, that the host deschedules it (parts per million).
    #[serde(default)]
    pub vcpu_preempt_ppm: u32,
    #[serde(default = "default_vcpu_pause")]
    pub vcpu_pause: [Dur; 2],
    /// `vm.dirty_ratio` and `vm.dirty_background_ratio`, percent of dirtyable
    /// memory.
    #[serde(default = "default_dirty_ratio")]
    pub dirty_ratio: u32,
    #[serde(default = "default_dirty_bg_ratio")]
    pub dirty_background_ratio: u32,
    /// Sequential write bandwidth of the disk, bytes per second.
    #[serde(default = "default_disk_bw")]
    pub disk_bandwidth: Size,
}

fn one() -> u32 {
    1
}
fn default_hz() -> u32 {
    250
}
fn default_ipi_same() -> [Dur; 2] {
    [Dur(500), Dur(2_000)]
}
fn default_ipi_cross() -> [Dur; 2] {
    [Dur(2_000), Dur(6_000)]
}
fn default_vcpu_pause() -> [Dur; 2] {
    [Dur(1_000_000), Dur(10_000_000)]
}
fn default_dirty_ratio() -> u32 {
    20
}
fn default_dirty_bg_ratio() -> u32 {
    10
}
fn default_disk_bw() -> Size {
    Size(200 << 20)
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UnstableCheck {
    /// Before Michal's fix: a refault of a reaped page maps the zero page.
    None,
    /// v1 of the fix: SIGBUS decided after the PTE was installed.
    PostFault,
    /// v2, merged: `check_stable_address_space` before `set_pte_at`.
    PrePte,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReaperTrylock {
    Fair,
    Unfair,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Hash)]
#[serde(rename_all = "snake_case")]
pub enum WritePath {
    /// ext4, 4.12/4.13 `generic_perform_write`.
    Generic,
    /// xfs `iomap_write_actor`.
    Iomap,
    /// `__btrfs_buffered_write`: no fatal-signal check.
    Btrfs,
    /// 3.10-era generic path: the fatal check at the end of an iteration.
    #[serde(rename = "generic_3_10")]
    Generic310,
    /// Hypothetical: `i_size` extended in write_begin, before the copy.
    IsizeBeforeCopy,
}

impl WritePath {
    pub fn name(self) -> &'static str {
        match self {
            WritePath::Generic => "generic_perform_write",
            WritePath::Iomap => "iomap_write_actor",
            WritePath::Btrfs => "__btrfs_buffered_write",
            WritePath::Generic310 => "generic_perform_write(3.10)",
            WritePath::IsizeBeforeCopy => "generic_perform_write(isize_before_copy)",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KernelCfg {
    /// "4.13-rc" (before the fix), "4.13" (with it), "4.14", "5.18".
    #[serde(default = "default_preset")]
    pub preset: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unstable_check: Option<UnstableCheck>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reaper: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reaper_trylock: Option<ReaperTrylock>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub write_path: Option<WritePath>,
    /// A2 off (`true`, the kernel's behaviour): direct reclaim calls filesystem
    /// shrinkers. `false`: they run from kswapd only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fs_shrinkers_direct_reclaim: Option<bool>,
    /// A3: a kernel thread doing work for an OOM victim allocates below min.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pf_memalloc_pid: Option<bool>,
    /// khugepaged's `scan_sleep_millisecs` (it runs when `machine.thp` is on).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub khugepaged_scan_sleep: Option<Dur>,
    /// 4.14+: every thread of an OOM victim may allocate down to min/2
    /// (`ALLOC_OOM`) instead of one `TIF_MEMDIE` thread ignoring watermarks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alloc_oom: Option<bool>,
    /// 4.13: the reaper pins the mm (`mmget_not_zero`) and skips one already
    /// in `exit_mmap`. 4.14+ (`false`): `exit_mmap` of an `MMF_OOM_VICTIM` mm
    /// sets `MMF_OOM_SKIP` and serializes with the reaper on `mmap_sem`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reaper_mmget: Option<bool>,
    /// 4.13/4.14: the reaper takes `oom_lock` around each attempt.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reaper_oom_lock: Option<bool>,
    /// 5.18: the victim is handed to the reaper through a timer this long
    /// after the kill (`OOM_REAPER_DELAY`, 2·HZ); 0 wakes it at once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oom_reaper_delay: Option<Dur>,
    /// 5.18: the reaper also unmaps `VM_LOCKED` VMAs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reap_mlocked: Option<bool>,
    /// 5.18: the `process_mrelease(pidfd)` syscall exists (else `-ENOSYS`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub process_mrelease: Option<bool>,
}

fn default_preset() -> String {
    "4.13-rc".into()
}

impl Default for KernelCfg {
    fn default() -> Self {
        KernelCfg {
            preset: default_preset(),
            unstable_check: None,
            reaper: None,
            reaper_trylock: None,
            write_path: None,
            fs_shrinkers_direct_reclaim: None,
            pf_memalloc_pid: None,
            khugepaged_scan_sleep: None,
            alloc_oom: None,
            reaper_mmget: None,
            reaper_oom_lock: None,
            oom_reaper_delay: None,
            reap_mlocked: None,
            process_mrelease: None,
        }
    }
}

pub const KERNEL_PRESETS: &[&str] = &["4.13-rc", "4.13", "4.14", "5.18"];

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum FsType {
    #[default]
    Ext4,
    Xfs,
    Btrfs,
}

impl FsType {
    pub fn name(self) -> &'static str {
        text::name_of(text::FS_TYPES, self)
    }
}

/// ext4's `data=` mount option: how file data is ordered against the journal.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum DataMode {
    /// Data of newly allocated blocks reaches the disk before the transaction
    /// that points at it commits (the default).
    #[default]
    Ordered,
    /// Metadata may commit before the data it points at is on disk.
    Writeback,
    /// Data goes through the journal with the metadata.
    Journal,
}

impl DataMode {
    pub fn name(self) -> &'static str {
        text::name_of(text::DATA_MODES, self)
    }
}

/// What the disk's free space held before the run: the bytes a block shows
/// when it is read without having been written since.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum DiskHistory {
    /// Text of files deleted before the run (log lines).
    #[default]
    DeletedText,
    /// Random bytes of deleted files (compressed or encrypted data).
    Random,
    /// A disk that was never written: every free block reads as zeros.
    Zeros,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct FsCfg {
    #[serde(rename = "type", default)]
    pub fs_type: FsType,
    /// ext4 only: `data=ordered|writeback|journal`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<DataMode>,
    /// `-o discard`: extents freed by a transaction are discarded when it
    /// commits (and the deleted files of `history` were discarded when freed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub discard: Option<bool>,
    /// What the free space held before the run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub history: Option<DiskHistory>,
    /// The disk has a volatile write cache: a completed write is durable only
    /// after a flush, or when written with FUA.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub write_cache: Option<bool>,
    /// A discarded block reads as zeros (otherwise it keeps its old content).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read_zero_after_trim: Option<bool>,
    /// Journal commit interval (ext4 `commit=`, XFS log work, btrfs `commit=`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit_interval: Option<Dur>,
    /// `vm.dirty_writeback_centisecs`: how often the flusher wakes up.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dirty_writeback_interval: Option<Dur>,
    /// `vm.dirty_expire_centisecs`: age after which dirty data is written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dirty_expire_interval: Option<Dur>,
}

/// The kernel's defaults (5 s, 30 s; ext4 commit 5 s, XFS log work and btrfs
/// commit 30 s) divided by this, so that a run of a few simulated seconds
/// sees the periodic work happen.
pub const FS_TIME_SCALE: u64 = 10;

/// What a crash window is measured from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum CrashAnchor {
    /// Boot (time 0).
    Boot,
    /// The first fatal signal of the run (an OOM kill or a group exit).
    #[default]
    Kill,
}

impl CrashAnchor {
    pub fn name(self) -> &'static str {
        text::name_of(text::ANCHORS, self)
    }
}

/// `[crash]`: the machine loses power at a fixed time, or at a point of a
/// window after an anchor; that point is a recorded `crash_point` choice.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct CrashCfg {
    /// A fixed time after boot.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<Dur>,
    /// What `window` is relative to (default: the kill).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<CrashAnchor>,
    /// `[earliest, latest]` after the anchor.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window: Option<[Dur; 2]>,
}

/// The filesystem and disk after defaults were applied.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FsParams {
    pub fs_type: FsType,
    pub data: DataMode,
    pub discard: bool,
    pub history: DiskHistory,
    pub write_cache: bool,
    pub read_zero_after_trim: bool,
    pub commit_interval: u64,
    pub dirty_writeback_interval: u64,
    pub dirty_expire_interval: u64,
}

/// When the crash happens, resolved.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum CrashPlan {
    /// At this time after boot.
    At(u64),
    /// At a chosen point of `[lo, hi]` after the anchor.
    Window {
        after: CrashAnchor,
        lo: u64,
        hi: u64,
    },
}

/// Fills in the filesystem defaults.
pub fn resolve_fs(f: &FsCfg) -> FsParams {
    let s = FS_TIME_SCALE;
    let commit = match f.fs_type {
        FsType::Ext4 => 5_000_000_000 / s,
        FsType::Xfs | FsType::Btrfs => 30_000_000_000 / s,
    };
    FsParams {
        fs_type: f.fs_type,
        data: f.data.unwrap_or_default(),
        discard: f.discard.unwrap_or(false),
        history: f.history.unwrap_or_default(),
        write_cache: f.write_cache.unwrap_or(false),
        read_zero_after_trim: f.read_zero_after_trim.unwrap_or(true),
        commit_interval: f.commit_interval.map_or(commit, |d| d.0),
        dirty_writeback_interval: f
            .dirty_writeback_interval
            .map_or(5_000_000_000 / s, |d| d.0),
        dirty_expire_interval: f.dirty_expire_interval.map_or(30_000_000_000 / s, |d| d.0),
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Limits {
    /// Simulated time after which the run stops (a normal end).
    #[serde(default = "default_duration")]
    pub duration: Dur,
    /// Step budget; exceeding it is the outcome `budget_exhausted`.
    #[serde(default = "default_max_steps")]
    pub max_steps: u64,
    /// Trace records kept; later records are counted but dropped.
    #[serde(default = "default_max_trace")]
    pub max_trace: u64,
    /// No forward progress for this long while free <= min is an `oom_hang`.
    #[serde(default = "default_hang")]
    pub hang_threshold: Dur,
}

fn default_duration() -> Dur {
    Dur(2_000_000_000)
}
fn default_max_steps() -> u64 {
    2_000_000
}
fn default_max_trace() -> u64 {
    200_000
}
fn default_hang() -> Dur {
    Dur(1_000_000_000)
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            duration: default_duration(),
            max_steps: default_max_steps(),
            max_trace: default_max_trace(),
            hang_threshold: default_hang(),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProcessCfg {
    pub name: String,
    #[serde(default)]
    pub oom_score_adj: i32,
    /// The mm has MMU notifiers registered (KVM, GPU drivers): the 4.13 reaper
    /// backs off from such an mm.
    #[serde(default)]
    pub mmu_notifier: bool,
    /// Stack size of each thread.
    #[serde(default = "default_stack")]
    pub stack: Size,
    /// Where thread stacks live: `mmap` (pthread: top-down mappings, reaped
    /// last) or `heap` (clone() with malloc'd stacks, as in Tetsuo's reproducer:
    /// low addresses, reaped first).
    #[serde(default)]
    pub stacks: StackArea,
    #[serde(rename = "thread")]
    pub threads: Vec<ThreadCfg>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum StackArea {
    #[default]
    Mmap,
    Heap,
}

fn default_stack() -> Size {
    Size(8192)
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ThreadCfg {
    pub program: String,
    #[serde(default = "one")]
    pub count: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

// ---------------------------------------------------------------------------
// Built-in programs: ordinary text in the program syntax.

pub static BUILTIN_PROGRAMS: &[(&str, &str)] = &[
    ("writer", include_str!("presets/writer.prog")),
    ("hog", include_str!("presets/hog.prog")),
];

// ---------------------------------------------------------------------------
// The validated form.

/// The kernel toggles after the preset was expanded and overrides applied.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Toggles {
    pub unstable_check: UnstableCheck,
    pub reaper: bool,
    pub reaper_trylock: ReaperTrylock,
    pub write_path: WritePath,
    /// Reaper retries (`MAX_OOM_REAP_RETRIES`).
    pub reap_retries: u32,
    pub fs_shrinkers_direct_reclaim: bool,
    pub pf_memalloc_pid: bool,
    /// ns between khugepaged scans.
    pub khugepaged_scan_sleep: u64,
    pub alloc_oom: bool,
    pub reaper_mmget: bool,
    pub reaper_oom_lock: bool,
    /// ns from the kill to the reaper's wake-up.
    pub oom_reaper_delay: u64,
    pub reap_mlocked: bool,
    pub process_mrelease: bool,
}

/// Zone watermarks, in pages, derived from `min_free_kbytes` the kernel's way.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Watermarks {
    pub min: u64,
    pub low: u64,
    pub high: u64,
}

#[derive(Clone, Debug, PartialEq)]
pub struct ValidScenario {
    pub scenario: Scenario,
    pub toggles: Toggles,
    pub fs: FsParams,
    pub crash: Option<CrashPlan>,
    pub watermarks: Watermarks,
    pub min_free_kbytes: u64,
    pub managed_pages: u64,
    pub kernel_reserved_pages: u64,
    /// Compiled programs by name.
    pub programs: BTreeMap<String, Program>,
}

/// One problem with a scenario.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ScenarioError {
    /// Field path, e.g. `machine.cpus` or `process[0].thread[1].program`.
    pub path: String,
    pub line: Option<u32>,
    pub column: Option<u32>,
    pub message: String,
}

impl fmt::Display for ScenarioError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.line, self.column) {
            (Some(l), Some(c)) => write!(f, "line {l}, column {c}: ")?,
            (Some(l), None) => write!(f, "line {l}: ")?,
            _ => {}
        }
        if self.path.is_empty() {
            write!(f, "{}", self.message)
        } else {
            write!(f, "{}: {}", self.path, self.message)
        }
    }
}

/// `int_sqrt`, as the kernel computes it.
fn int_sqrt(x: u64) -> u64 {
    if x < 2 {
        return x;
    }
    // Newton's method on integers: no floats anywhere in the model.
    let mut r = x;
    let mut y = x.div_ceil(2);
    while y < r {
        r = y;
        y = (r + x / r) / 2;
    }
    r
}

/// `init_per_zone_wmark_min` and, with THP, `set_recommended_min_free_kbytes`.
pub fn derive_min_free_kbytes(managed_pages: u64, thp: bool) -> u64 {
    let lowmem_kbytes = managed_pages * (PAGE_SIZE / 1024);
    let mut min_free = int_sqrt(lowmem_kbytes * 16).clamp(128, 65536);
    if thp {
        // One zone, pageblock_nr_pages = 512, MIGRATE_PCPTYPES = 3.
        let pageblock = 512u64;
        let nr_zones = 1u64;
        let mut recommended = pageblock * nr_zones * 2 + pageblock * 3 * 3 * nr_zones;
        recommended = recommended.min(managed_pages / 20);
        min_free = min_free.max(recommended * (PAGE_SIZE / 1024));
    }
    min_free
}

/// `__setup_per_zone_wmarks` for a single zone (watermark_scale_factor = 10).
pub fn derive_watermarks(min_free_kbytes: u64, managed_pages: u64) -> Watermarks {
    let min = min_free_kbytes / (PAGE_SIZE / 1024);
    let tmp = (min / 4).max(managed_pages * 10 / 10000);
    Watermarks {
        min,
        low: min + tmp,
        high: min + 2 * tmp,
    }
}

/// Locates `path` in the TOML text, best effort: the line of the key, or of its
/// table header. Returns (line, column), 1-based.
pub fn locate(text: &str, path: &str) -> Option<(u32, u32)> {
    // Split "process[1].thread[0].count" into [("process",Some(1)),("thread",Some(0)),("count",None)].
    let mut parts: Vec<(String, Option<usize>)> = Vec::new();
    for seg in path.split('.') {
        if let Some(b) = seg.find('[') {
            let idx = seg[b + 1..].trim_end_matches(']').parse().ok();
            parts.push((seg[..b].to_string(), idx));
        } else {
            parts.push((seg.to_string(), None));
        }
    }
    if parts.is_empty() {
        return None;
    }
    // Table path (all but the last part) and the key.
    let (key, tables) = parts.split_last()?;
    let want_header: Vec<String> = tables.iter().map(|(n, _)| n.clone()).collect();
    let mut counters: BTreeMap<String, usize> = BTreeMap::new();
    let mut cur_ok = tables.is_empty();
    let mut header_hit: Option<(u32, u32)> = None;
    // Current index of each array-of-tables prefix we are in.
    let mut idx_of: BTreeMap<String, usize> = BTreeMap::new();
    let mut in_multiline = false;
    for (i, line) in text.lines().enumerate() {
        let ln = i as u32 + 1;
        let t = line.trim_start();
        if in_multiline {
            if line.matches("\"\"\"").count() % 2 == 1 {
                in_multiline = false;
            }
            continue;
        }
        if t.starts_with('[') {
            let is_array = t.starts_with("[[");
            let inner = t.trim_start_matches('[');
            let name = inner.split(']').next().unwrap_or("").trim().to_string();
            let cur: Vec<String> = name.split('.').map(|s| s.trim().to_string()).collect();
            if is_array {
                let c = counters.entry(name.clone()).or_insert(0);
                idx_of.insert(name.clone(), *c);
                *c += 1;
                // A new parent element resets the children counters.
                let prefix = format!("{name}.");
                let keys: Vec<String> = counters
                    .keys()
                    .filter(|k| k.starts_with(&prefix))
                    .cloned()
                    .collect();
                for k in keys {
                    counters.insert(k, 0);
                }
            }
            cur_ok = cur == want_header && {
                let mut ok = true;
                let mut prefix = String::new();
                for (n, idx) in tables.iter() {
                    if !prefix.is_empty() {
                        prefix.push('.');
                    }
                    prefix.push_str(n);
                    if let Some(want) = idx {
                        if idx_of.get(&prefix) != Some(want) {
                            ok = false;
                        }
                    }
                }
                ok
            };
            if cur_ok && key.0.is_empty() {
                return Some((ln, 1));
            }
            if cur_ok {
                header_hit = Some((ln, 1));
            }
            continue;
        }
        if line.matches("\"\"\"").count() % 2 == 1 {
            in_multiline = true;
        }
        if cur_ok {
            let k = t.split('=').next().unwrap_or("").trim().trim_matches('"');
            if t.contains('=') && k == key.0 {
                let col = (line.len() - t.len()) as u32 + 1;
                return Some((ln, col));
            }
        }
    }
    if tables.is_empty() {
        // A top-level table itself, e.g. `machine`.
        for (i, line) in text.lines().enumerate() {
            let t = line.trim();
            if t == format!("[{}]", key.0) {
                return Some((i as u32 + 1, 1));
            }
        }
    }
    header_hit
}

fn offset_to_line_col(text: &str, offset: usize) -> (u32, u32) {
    let mut line = 1u32;
    let mut col = 1u32;
    for (i, c) in text.char_indices() {
        if i >= offset {
            break;
        }
        if c == '\n' {
            line += 1;
            col = 1;
        } else {
            col += 1;
        }
    }
    (line, col)
}

/// Parses and validates scenario text.
pub fn parse_scenario(text: &str) -> Result<ValidScenario, Vec<ScenarioError>> {
    let at = |offset: usize| {
        let (l, c) = offset_to_line_col(text, offset);
        (Some(l), Some(c))
    };
    let root = text::parse(text).map_err(|(offset, message)| {
        let (line, column) = at(offset);
        vec![ScenarioError {
            path: String::new(),
            line,
            column,
            message,
        }]
    })?;
    migrate(&root).map_err(|m| {
        vec![ScenarioError {
            path: "version".into(),
            line: locate(text, "version").map(|p| p.0),
            column: locate(text, "version").map(|p| p.1),
            message: m,
        }]
    })?;
    let scenario = text::read_scenario(&root).map_err(|e| {
        let (line, column) = at(e.at);
        vec![ScenarioError {
            path: e.path,
            line,
            column,
            message: e.message,
        }]
    })?;
    validate(scenario, Some(text))
}

/// Brings an older scenario forward. Version 1 is the first; a scenario from a
/// newer build is refused rather than misread. (Version 1 is the only one, so
/// there is nothing to rewrite yet: an older version, once there is one, would
/// be rewritten on the parsed tree before it is read.)
fn migrate(root: &text::Table) -> Result<(), String> {
    match text::version(root) {
        None => Err("missing `version` (this build writes version 1)".into()),
        Some(1) => Ok(()),
        Some(n) if n > i64::from(SCENARIO_VERSION) => Err(format!(
            "scenario version {n} is newer than this build understands ({SCENARIO_VERSION})"
        )),
        Some(n) => Err(format!("unknown scenario version {n}")),
    }
}

/// Validates a deserialized scenario, returning every problem.
pub fn validate(
    scenario: Scenario,
    text: Option<&str>,
) -> Result<ValidScenario, Vec<ScenarioError>> {
    let mut errs: Vec<ScenarioError> = Vec::new();
    let mut push = |path: &str, message: String| {
        let loc = text.and_then(|t| locate(t, path));
        errs.push(ScenarioError {
            path: path.to_string(),
            line: loc.map(|l| l.0),
            column: loc.map(|l| l.1),
            message,
        });
    };
    let m = &scenario.machine;
    if m.cpus == 0 || m.cpus > MAX_CPUS {
        push(
            "machine.cpus",
            format!("must be between 1 and {MAX_CPUS}, got {}", m.cpus),
        );
    }
    if m.sockets == 0
        || m.sockets > m.cpus.max(1)
        || (m.cpus > 0 && !m.cpus.is_multiple_of(m.sockets.max(1)))
    {
        push(
            "machine.sockets",
            format!(
                "must divide the number of CPUs ({}), got {}",
                m.cpus, m.sockets
            ),
        );
    }
    if ![100, 250, 300, 1000].contains(&m.hz) {
        push(
            "machine.hz",
            format!("must be 100, 250, 300 or 1000, got {}", m.hz),
        );
    }
    if m.memory.0 < MIN_MEMORY || m.memory.0 > MAX_MEMORY || !m.memory.0.is_multiple_of(PAGE_SIZE) {
        push(
            "machine.memory",
            format!(
                "must be a multiple of 4K between 16M and 4G, got {}",
                fmt_size(m.memory.0)
            ),
        );
    }
    let reserved = m.kernel_reserved.map_or(m.memory.0 / 8, |s| s.0);
    // Checked: three sizes near 2^64 must not wrap to a small sum and pass.
    let fixed = reserved
        .checked_add(m.page_cache.0)
        .and_then(|s| s.checked_add(m.slab.0));
    if fixed.is_none_or(|f| f >= m.memory.0) {
        push(
            "machine.kernel_reserved",
            "kernel_reserved + page_cache + slab must leave free memory".into(),
        );
    }
    for (name, r) in [
        ("machine.ipi_same_socket", m.ipi_same_socket),
        ("machine.ipi_cross_socket", m.ipi_cross_socket),
        ("machine.vcpu_pause", m.vcpu_pause),
    ] {
        if r[0].0 > r[1].0 {
            push(
                name,
                format!(
                    "range is reversed: {} > {}",
                    fmt_dur(r[0].0),
                    fmt_dur(r[1].0)
                ),
            );
        }
        if r[1].0 > 10_000_000_000 {
            push(name, "must be at most 10s".into());
        }
    }
    if m.vcpu_preempt_ppm > 1_000_000 {
        push(
            "machine.vcpu_preempt_ppm",
            format!(
                "is parts per million, at most 1000000, got {}",
                m.vcpu_preempt_ppm
            ),
        );
    }
    if m.dirty_ratio == 0 || m.dirty_ratio > 100 {
        push(
            "machine.dirty_ratio",
            format!("is a percentage, 1 to 100, got {}", m.dirty_ratio),
        );
    }
    if m.dirty_background_ratio == 0 || m.dirty_background_ratio > m.dirty_ratio.max(1) {
        push(
            "machine.dirty_background_ratio",
            "must be between 1 and dirty_ratio".into(),
        );
    }
    if m.disk_bandwidth.0 < (1 << 20) {
        push(
            "machine.disk_bandwidth",
            "must be at least 1M per second".into(),
        );
    }
    if !KERNEL_PRESETS.contains(&scenario.kernel.preset.as_str()) {
        push(
            "kernel.preset",
            format!(
                "unknown kernel preset `{}`, expected one of {}",
                scenario.kernel.preset,
                KERNEL_PRESETS.join(", ")
            ),
        );
    }
    if let Some(d) = scenario.kernel.oom_reaper_delay {
        if d.0 > 60_000_000_000 {
            push(
                "kernel.oom_reaper_delay",
                format!("must be at most 60s, got {}", fmt_dur(d.0)),
            );
        }
    }
    if let Some(d) = scenario.kernel.khugepaged_scan_sleep {
        if d.0 < 1_000_000 || d.0 > 60_000_000_000 {
            push(
                "kernel.khugepaged_scan_sleep",
                format!("must be between 1ms and 60s, got {}", fmt_dur(d.0)),
            );
        }
    }
    let f = &scenario.fs;
    if f.data.is_some() && f.fs_type != FsType::Ext4 {
        push(
            "fs.data",
            format!("data modes are ext4's; {} has none", f.fs_type.name()),
        );
    }
    for (name, d, lo, hi) in [
        (
            "fs.commit_interval",
            f.commit_interval,
            1_000_000,
            600_000_000_000,
        ),
        (
            "fs.dirty_writeback_interval",
            f.dirty_writeback_interval,
            1_000_000,
            600_000_000_000,
        ),
        (
            "fs.dirty_expire_interval",
            f.dirty_expire_interval,
            0,
            600_000_000_000,
        ),
    ] {
        if let Some(d) = d {
            if d.0 < lo || d.0 > hi {
                push(
                    name,
                    format!(
                        "must be between {} and {}, got {}",
                        fmt_dur(lo),
                        fmt_dur(hi),
                        fmt_dur(d.0)
                    ),
                );
            }
        }
    }
    let l = &scenario.limits;
    if let Some(c) = &scenario.crash {
        match (c.at, c.window) {
            (Some(_), Some(_)) => push(
                "crash.window",
                "give either `at` (a fixed time) or `window`, not both".into(),
            ),
            (None, None) => push(
                "crash",
                "give `at = \"1500ms\"` (a fixed time) or `window = [\"0s\", \"3s\"]` (after `after`)".into(),
            ),
            (Some(at), None) => {
                if c.after.is_some() {
                    push("crash.after", "`after` goes with `window`, not `at`".into());
                }
                if at.0 == 0 || at.0 > l.duration.0 {
                    push(
                        "crash.at",
                        format!(
                            "must be after boot and within limits.duration ({}), got {}",
                            fmt_dur(l.duration.0),
                            fmt_dur(at.0)
                        ),
                    );
                }
            }
            (None, Some(w)) => {
                if w[0].0 > w[1].0 {
                    push(
                        "crash.window",
                        format!(
                            "range is reversed: {} > {}",
                            fmt_dur(w[0].0),
                            fmt_dur(w[1].0)
                        ),
                    );
                }
                if w[1].0 > MAX_DURATION {
                    push("crash.window", "must end within 600s".into());
                }
            }
        }
    }
    if l.duration.0 == 0 || l.duration.0 > MAX_DURATION {
        push("limits.duration", "must be between 1ns and 600s".into());
    }
    if l.max_steps == 0 || l.max_steps > MAX_STEPS {
        push(
            "limits.max_steps",
            format!("must be between 1 and {MAX_STEPS}"),
        );
    }
    if l.max_trace > MAX_TRACE {
        push("limits.max_trace", format!("must be at most {MAX_TRACE}"));
    }
    // Programs: the scenario's own, then built-ins it does not override.
    let mut programs: BTreeMap<String, Program> = BTreeMap::new();
    for (name, src) in &scenario.programs {
        match parse_program(src) {
            Ok(p) => {
                programs.insert(name.clone(), p);
            }
            Err(e) => {
                let path = format!("programs.{name}");
                let loc = text.and_then(|t| locate(t, &path));
                // A `"""` string starts on the line after the key (the first newline is trimmed).
                let (line, column) = match loc {
                    Some((kl, _)) => {
                        let key_line = text
                            .and_then(|t| t.lines().nth(kl as usize - 1))
                            .unwrap_or("");
                        let multiline_starts_next = key_line.trim_end().ends_with("\"\"\"");
                        if multiline_starts_next {
                            (Some(kl + e.line), Some(e.column))
                        } else {
                            (Some(kl + e.line - 1), None)
                        }
                    }
                    None => (None, None),
                };
                errs.push(ScenarioError {
                    path,
                    line,
                    column,
                    message: format!(
                        "program line {}, column {}: {}",
                        e.line, e.column, e.message
                    ),
                });
            }
        }
    }
    for (name, src) in BUILTIN_PROGRAMS {
        if !programs.contains_key(*name) && !scenario.programs.contains_key(*name) {
            programs.insert(
                (*name).to_string(),
                parse_program(src).expect("built-in program parses"),
            );
        }
    }
    let mut push = |path: &str, message: String| {
        let loc = text.and_then(|t| locate(t, path));
        errs.push(ScenarioError {
            path: path.to_string(),
            line: loc.map(|l| l.0),
            column: loc.map(|l| l.1),
            message,
        });
    };
    for (field, list) in [
        ("expect.always", &scenario.expect.always),
        ("expect.sometimes", &scenario.expect.sometimes),
        ("expect.never", &scenario.expect.never),
    ] {
        for code in list {
            if crate::outcome::Outcome::from_code(code).is_none() {
                push(field, format!("unknown outcome code `{code}`"));
            }
        }
    }
    if let Some(c) = &scenario.challenge {
        c.validate(&mut push);
    }
    if scenario.processes.is_empty() {
        push(
            "process",
            "a scenario needs at least one [[process]]".into(),
        );
    }
    if scenario.processes.len() > MAX_PROCESSES {
        push("process", format!("at most {MAX_PROCESSES} processes"));
    }
    let mut threads = 0u64;
    // None once the sum has overflowed 64 bits (reported where it happened):
    // a wrapped sum would pass the cap and then abort on the allocation.
    let mut virt = Some(0u64);
    let overflow = |virt: &mut Option<u64>, count: u32, size: u64, path: String| {
        let v = (*virt)?;
        let sum = u64::from(count)
            .checked_mul(size)
            .and_then(|add| v.checked_add(add));
        *virt = sum;
        sum.is_none().then_some(path)
    };
    for (pi, p) in scenario.processes.iter().enumerate() {
        if p.name.is_empty() || p.name.len() > 15 {
            push(
                &format!("process[{pi}].name"),
                "must be 1 to 15 characters (TASK_COMM_LEN)".into(),
            );
        }
        if !(-1000..=1000).contains(&p.oom_score_adj) {
            push(
                &format!("process[{pi}].oom_score_adj"),
                format!("must be between -1000 and 1000, got {}", p.oom_score_adj),
            );
        }
        if p.stack.0 < PAGE_SIZE || p.stack.0 > (8 << 20) || !p.stack.0.is_multiple_of(PAGE_SIZE) {
            push(
                &format!("process[{pi}].stack"),
                "must be a multiple of 4K between 4K and 8M".into(),
            );
        }
        if p.threads.is_empty() {
            push(
                &format!("process[{pi}].thread"),
                "a process needs at least one [[process.thread]]".into(),
            );
        }
        for (ti, t) in p.threads.iter().enumerate() {
            if t.count == 0 {
                push(
                    &format!("process[{pi}].thread[{ti}].count"),
                    "must be at least 1".into(),
                );
            }
            threads += u64::from(t.count);
            let mut overflowed = overflow(
                &mut virt,
                t.count,
                p.stack.0,
                format!("process[{pi}].thread[{ti}].count"),
            );
            match programs.get(&t.program) {
                None if !scenario.programs.contains_key(&t.program) => {
                    push(
                        &format!("process[{pi}].thread[{ti}].program"),
                        format!(
                        "unknown program `{}`; define it under [programs] or use a built-in ({})",
                        t.program,
                        BUILTIN_PROGRAMS.iter().map(|b| b.0).collect::<Vec<_>>().join(", ")
                    ),
                    )
                }
                None => {}
                Some(prog) => {
                    // None once it has overflowed 64 bits.
                    let mut stack_use = Some(0u64);
                    let at = || format!("programs.{}", t.program);
                    for op in &prog.ops {
                        match op {
                            Op::Buf {
                                kind: crate::program::BufKind::Stack,
                                size,
                                ..
                            } => {
                                stack_use = stack_use.and_then(|u| {
                                    u.checked_add(size.checked_next_multiple_of(PAGE_SIZE)?)
                                });
                            }
                            Op::Buf { size, .. } => {
                                overflowed =
                                    overflowed.or_else(|| overflow(&mut virt, t.count, *size, at()))
                            }
                            Op::Map { size, .. } => {
                                if *size > MAX_MAPPING {
                                    push(
                                        &format!("programs.{}", t.program),
                                        format!("a mapping is at most {}", fmt_size(MAX_MAPPING)),
                                    );
                                }
                                overflowed =
                                    overflowed.or_else(|| overflow(&mut virt, t.count, *size, at()))
                            }
                            _ => {}
                        }
                    }
                    if stack_use.is_none_or(|u| u > p.stack.0) {
                        push(
                            &format!("process[{pi}].stack"),
                            format!(
                                "program `{}` puts {} on a {} stack",
                                t.program,
                                stack_use.map_or("more than 2^64 bytes".into(), fmt_size),
                                fmt_size(p.stack.0)
                            ),
                        );
                    }
                }
            }
            if let Some(path) = overflowed {
                push(
                    &path,
                    format!(
                        "the mappings up to here add up to more than 2^64 bytes; all \
                         mappings together are at most {}",
                        fmt_size(MAX_TOTAL_VIRTUAL)
                    ),
                );
            }
        }
    }
    if threads > u64::from(MAX_THREADS) {
        push(
            "process",
            format!("at most {MAX_THREADS} threads in all, got {threads}"),
        );
    }
    if let Some(virt) = virt.filter(|&v| v > MAX_TOTAL_VIRTUAL) {
        push(
            "process",
            format!(
                "all mappings together are at most {}, got {}",
                fmt_size(MAX_TOTAL_VIRTUAL),
                fmt_size(virt)
            ),
        );
    }
    if !errs.is_empty() {
        return Err(errs);
    }
    let toggles = resolve_toggles(&scenario);
    let fs = resolve_fs(&scenario.fs);
    let crash = scenario.crash.as_ref().map(|c| match (c.at, c.window) {
        (Some(at), _) => CrashPlan::At(at.0),
        (None, w) => {
            let w = w.unwrap_or_default();
            CrashPlan::Window {
                after: c.after.unwrap_or_default(),
                lo: w[0].0,
                hi: w[1].0,
            }
        }
    });
    let managed_pages = m.memory.0 / PAGE_SIZE;
    let min_free_kbytes = m
        .min_free_kbytes
        .unwrap_or_else(|| derive_min_free_kbytes(managed_pages, m.thp));
    let watermarks = derive_watermarks(min_free_kbytes, managed_pages);
    Ok(ValidScenario {
        kernel_reserved_pages: reserved / PAGE_SIZE,
        scenario,
        toggles,
        fs,
        crash,
        watermarks,
        min_free_kbytes,
        managed_pages,
        programs,
    })
}

/// Expands the kernel preset into toggles; explicit fields override it.
pub fn resolve_toggles(s: &Scenario) -> Toggles {
    let k = &s.kernel;
    let fixed = k.preset != "4.13-rc";
    // The presets in release order; later ones carry everything before them.
    let at_least = |v: &str| {
        let pos = |p: &str| KERNEL_PRESETS.iter().position(|x| *x == p);
        pos(&k.preset) >= pos(v)
    };
    let hz = u64::from(s.machine.hz);
    let default_path = match s.fs.fs_type {
        FsType::Ext4 => WritePath::Generic,
        FsType::Xfs => WritePath::Iomap,
        FsType::Btrfs => WritePath::Btrfs,
    };
    Toggles {
        unstable_check: k.unstable_check.unwrap_or(if fixed {
            UnstableCheck::PrePte
        } else {
            UnstableCheck::None
        }),
        reaper: k.reaper.unwrap_or(true),
        reaper_trylock: k.reaper_trylock.unwrap_or(ReaperTrylock::Fair),
        write_path: k.write_path.unwrap_or(default_path),
        reap_retries: 10, // MAX_OOM_REAP_RETRIES
        fs_shrinkers_direct_reclaim: k.fs_shrinkers_direct_reclaim.unwrap_or(true),
        pf_memalloc_pid: k.pf_memalloc_pid.unwrap_or(false),
        khugepaged_scan_sleep: k.khugepaged_scan_sleep.map_or(10_000_000_000, |d| d.0),
        alloc_oom: k.alloc_oom.unwrap_or(at_least("4.14")),
        reaper_mmget: k.reaper_mmget.unwrap_or(!at_least("4.14")),
        // "mm, oom: remove oom_lock from oom_reaper" (4.19).
        reaper_oom_lock: k.reaper_oom_lock.unwrap_or(!at_least("5.18")),
        oom_reaper_delay: k.oom_reaper_delay.map_or(
            if at_least("5.18") {
                2 * hz * (1_000_000_000 / hz)
            } else {
                0
            },
            |d| d.0,
        ),
        reap_mlocked: k.reap_mlocked.unwrap_or(at_least("5.18")),
        process_mrelease: k.process_mrelease.unwrap_or(at_least("5.18")),
    }
}

impl Scenario {
    /// Canonical TOML: what the content hash and permalinks are computed over.
    pub fn to_canonical_toml(&self) -> String {
        text::write_scenario(self)
    }
}

impl ValidScenario {
    /// Content hash of the canonical scenario text.
    pub fn content_hash(&self) -> u64 {
        crate::rng::fnv1a64(self.scenario.to_canonical_toml().as_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn watermarks_follow_the_kernel() {
        // 4 GiB with THP: the recommended min_free_kbytes dominates (~45 MB for one zone).
        let pages = (4u64 << 30) / PAGE_SIZE;
        let mfk = derive_min_free_kbytes(pages, true);
        assert_eq!(mfk, (512 * 2 + 512 * 9) * 4);
        let w = derive_watermarks(mfk, pages);
        assert!(w.min < w.low && w.low < w.high);
        assert_eq!(w.high - w.min, 2 * (w.low - w.min));
        // 64 MiB without THP: sqrt(65536 * 16) = 1024 kB.
        assert_eq!(derive_min_free_kbytes(16384, false), 1024);
    }

    #[test]
    fn sizes_and_durations() {
        assert_eq!(parse_size_str("64M").unwrap(), 64 << 20);
        assert_eq!(parse_size_str("4096").unwrap(), 4096);
        assert!(parse_size_str("12X").is_err());
        assert_eq!(parse_duration_str("10us").unwrap(), 10_000);
        assert!(parse_duration_str("10").is_err());
    }
}
