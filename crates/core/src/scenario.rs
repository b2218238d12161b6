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

pub mod schema;
pub mod toml;
mod validate;

#[cfg(all(test, not(target_arch = "wasm32")))]
mod decode_tests;

pub use validate::{
    parse_scenario, scenario_text, validate, MAX_SCENARIO_TEXT, MAX_STORY, MAX_TITLE,
};

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
/// itself reads scenarios with `scenario::schema`.
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
        schema::name_of(schema::FS_TYPES, self)
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
        schema::name_of(schema::DATA_MODES, self)
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
        schema::name_of(schema::ANCHORS, self)
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
    /// 4.14+ (4d4bbd8526a8, "mm, oom_reaper: skip mm structs with mmu
    /// notifiers"): the reaper backs off from an mm with MMU notifiers. A
    /// 4.13 reaper reaps it. Set by the kernel preset only.
    pub reaper_skips_mmu_notifiers: bool,
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
        reaper_skips_mmu_notifiers: at_least("4.14"),
    }
}

impl Scenario {
    /// Canonical TOML: what the content hash and permalinks are computed over.
    pub fn to_canonical_toml(&self) -> String {
        schema::write_scenario(self)
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
