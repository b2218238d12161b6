//! The journal (`fs/jbd2`): a running transaction that handles add metadata
//! changes to, a committing transaction, the commit interval, the log of
//! committed transactions, checkpointing and replay.
//!
//! A transaction records what the filesystem's metadata blocks would hold:
//! each inode's new on-disk size (`i_disksize`) and its new block mappings,
//! the blocks it freed and, with `data=journal`, the file pages whose data it
//! journals. jbd2 logs whole blocks, so replaying a transaction sets values;
//! replaying twice gives the same disk as replaying once.
//!
//! The commit, as `jbd2_journal_commit_transaction` does it:
//! 1. lock the running transaction: it becomes the committing one, and new
//!    handles start the next; allocate the descriptor buffer (`GFP_NOFS`,
//!    which can enter direct reclaim);
//! 2. `data=ordered`: wait for the data writes of the transaction's ordered
//!    inodes (`journal_finish_inode_data_buffers`);
//! 3. write the descriptor, the metadata blocks and (`data=journal`) the data
//!    blocks to the log, and wait;
//! 4. write the commit record with `REQ_PREFLUSH | REQ_FUA` and wait: once
//!    it is durable, so is the transaction, and every write that completed
//!    before it was issued;
//! 5. checkpoint older transactions (their blocks are written home, the log
//!    tail moves), discard the blocks the transaction freed (`-o discard`),
//!    and wake whoever waits for the commit.
//!
//! The same transaction record serves XFS (the CIL, pushed by the `xfs-cil`
//! worker: see `fs::xfs`) and btrfs (its transaction commit: see
//! `fs::btrfs`), which differ in when they add what and how they commit.
//!
//! Not modelled: handle credits and `wait_transaction_locked` (a handle's
//! changes are one atomic step), transaction size limits, revoke records,
//! `async_commit`, journal space and the checkpoint list's own I/O (a
//! checkpoint writes home at once, durably), the fast commit.

use crate::costs;
use crate::fs::block::{Bio, BioKind, Block};
use crate::fs::InodeId;
use crate::kernel::entry::Fr;
use crate::kernel::sched::TaskState;
use crate::mm::page_alloc::Pfn;
use crate::mm::page_alloc::{AllocFrame, PageKind};
use crate::scenario::{DataMode, FsType};
use crate::sim::{Event, Frame, Ret, Sim, Step, Tid};
use crate::time::SimTime;
use crate::trace::TraceKind;
use std::collections::{BTreeMap, BTreeSet};

/// An inode as its metadata blocks hold it on disk.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct InodeMeta {
    pub size: u64,
    /// Page index → block.
    pub map: BTreeMap<u64, u64>,
}

#[derive(Clone, Debug, Default)]
pub struct Transaction {
    pub tid: u32,
    pub start: SimTime,
    /// New on-disk sizes.
    pub sizes: BTreeMap<InodeId, u64>,
    /// New mappings (inode, page index, block), in the order they were made.
    pub maps: Vec<(InodeId, u64, u64)>,
    /// data=ordered: writeback requests the commit must wait for.
    pub ordered: BTreeSet<u64>,
    /// data=journal: pages whose data this transaction journals.
    pub data: BTreeSet<(InodeId, u64)>,
    /// Blocks freed (by btrfs copy-on-write).
    pub freed: Vec<u64>,
    /// Journaled data, captured when the log is written.
    pub(crate) data_blocks: Vec<(u64, Block)>,
}

/// A transaction whose commit record is durable, not yet checkpointed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Committed {
    pub tid: u32,
    pub sizes: BTreeMap<InodeId, u64>,
    pub maps: Vec<(InodeId, u64, u64)>,
    pub data: Vec<(u64, Block)>,
}

#[derive(Clone, Debug, Default)]
pub struct Journal {
    pub running: Option<Transaction>,
    pub committing: Option<Transaction>,
    /// The on-disk log: committed, not yet checkpointed.
    pub log: Vec<Committed>,
    /// Metadata at its home location (checkpointed).
    pub home: BTreeMap<InodeId, InodeMeta>,
    pub next_tid: u32,
    pub commits: u64,
}

impl Journal {
    /// The on-disk size a recovery would find for `inode` now.
    pub fn durable_size(&self, inode: InodeId) -> u64 {
        for c in self.log.iter().rev() {
            if let Some(s) = c.sizes.get(&inode) {
                return *s;
            }
        }
        self.home.get(&inode).map_or(0, |m| m.size)
    }
}

/// Replays the log onto the home metadata and the disk's blocks, in commit
/// order. The log is left in place, as after a crash during recovery.
pub fn replay(
    log: &[Committed],
    home: &mut BTreeMap<InodeId, InodeMeta>,
    media: &mut BTreeMap<u64, Block>,
) {
    for c in log {
        apply(c, home, media);
    }
}

fn apply(c: &Committed, home: &mut BTreeMap<InodeId, InodeMeta>, media: &mut BTreeMap<u64, Block>) {
    apply_meta(c, home);
    for (lba, b) in &c.data {
        media.insert(*lba, b.clone());
    }
}

/// `apply` for a transaction that leaves the log: its blocks move to their
/// home locations instead of being copied (the teardown of every run
/// checkpoints the whole log).
fn apply_owned(
    c: Committed,
    home: &mut BTreeMap<InodeId, InodeMeta>,
    media: &mut BTreeMap<u64, Block>,
) {
    apply_meta(&c, home);
    for (lba, b) in c.data {
        media.insert(lba, b);
    }
}

fn apply_meta(c: &Committed, home: &mut BTreeMap<InodeId, InodeMeta>) {
    for (ino, size) in &c.sizes {
        home.entry(*ino).or_default().size = *size;
    }
    merge_maps(&c.maps, home);
}

/// Inserts `maps` in order (a later mapping of a page replaces an earlier
/// one), a file at a time and in bulk: a transaction can map every page
/// written since the last commit (12,641 in an R1 run's last one), and one
/// `insert` each was a sixth of a window run.
fn merge_maps(maps: &[(InodeId, u64, u64)], home: &mut BTreeMap<InodeId, InodeMeta>) {
    let mut per_file: BTreeMap<InodeId, Vec<(u64, u64)>> = BTreeMap::new();
    for &(ino, index, lba) in maps {
        per_file.entry(ino).or_default().push((index, lba));
    }
    for (ino, pages) in per_file {
        // `collect` keeps the last of equal keys, as inserting in order does,
        // and `append` lets the new mappings replace the old.
        let mut add: BTreeMap<u64, u64> = pages.into_iter().collect();
        home.entry(ino).or_default().map.append(&mut add);
    }
}

/// What the disk holds for the filesystem: home metadata, the log and the
/// blocks. Recovery is `replay` on it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DiskImage {
    pub home: BTreeMap<InodeId, InodeMeta>,
    pub log: Vec<Committed>,
    pub media: BTreeMap<u64, Block>,
}

impl DiskImage {
    /// Journal recovery: replay every committed transaction.
    pub fn replay(&mut self) {
        replay(&self.log, &mut self.home, &mut self.media);
    }
}

#[derive(Clone, Debug, Default, Hash)]
pub(crate) struct JournalFrame {
    phase: JPhase,
    /// The descriptor buffer.
    page: Option<Pfn>,
    /// The commit waits for ordered data (traced once).
    waited: bool,
    /// btrfs's `transaction_kthread` rather than jbd2's `kjournald2`.
    pub(crate) btrfs: bool,
}

impl JournalFrame {
    /// The thread function of `btrfs-transaction`.
    pub(crate) fn btrfs() -> JournalFrame {
        JournalFrame {
            btrfs: true,
            ..Default::default()
        }
    }

    pub(crate) fn returned(&mut self, ret: Ret) {
        assert!(self.phase == JPhase::Descriptor, "the commit got a value");
        // A __GFP_NOFAIL allocation: a page, always.
        if let Some(pfn) = ret.page() {
            self.page = Some(pfn);
        }
        self.phase = JPhase::Locked;
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Hash)]
enum JPhase {
    #[default]
    Idle,
    /// In `jbd2_journal_get_descriptor_buffer`'s allocation.
    Descriptor,
    Locked,
    Ordered,
    LogWritten,
    CommitWritten,
}

impl Sim {
    /// `jbd2_journal_start` / `xfs_trans_alloc` / `btrfs_start_transaction`:
    /// the running transaction, started (and the commit timer armed) if there
    /// is none.
    pub(crate) fn journal_handle(&mut self) -> &mut Transaction {
        if self.fs.journal.running.is_none() {
            let tid = self.fs.journal.next_tid + 1;
            self.fs.journal.next_tid = tid;
            self.fs.journal.running = Some(Transaction {
                tid,
                start: self.now,
                ..Transaction::default()
            });
            self.arm_commit_timer();
        }
        self.fs.journal.running.as_mut().expect("just started")
    }

    /// `j_commit_timer`: wakes the committer when the running transaction is
    /// `commit_interval` old. Only needed if it sleeps without a timer.
    fn arm_commit_timer(&mut self) {
        let Some(c) = self.fs.committer else {
            return;
        };
        if self.fs.commit_timer || self.tasks[c].state == TaskState::Running {
            return;
        }
        let idle = match self.fs.params.fs_type {
            FsType::Xfs => "worker_thread",
            _ => self.commit_wait(),
        };
        if !self.sleeps_on(c, idle) {
            return;
        }
        let gen = self.tasks[c].sleep_gen;
        let at = self.now.after(self.fs.params.commit_interval);
        self.push(at, Event::TimerWake { tid: c, gen });
        self.fs.commit_timer = true;
    }

    /// `jbd2_log_start_commit` + `jbd2_log_wait_commit`: asks for a commit
    /// of the running transaction; `waiter` sleeps until it completes.
    pub(crate) fn request_commit(&mut self, waiter: Option<Tid>) {
        self.fs.commit_requested = true;
        if let Some(w) = waiter {
            self.fs.commit_waiters.push(w);
        }
        if let Some(c) = self.fs.committer {
            let idle = match self.fs.params.fs_type {
                FsType::Xfs => {
                    self.xfs.log.force_pending = true;
                    "worker_thread"
                }
                _ => self.commit_wait(),
            };
            if self.sleeps_on(c, idle) {
                self.wake_up_process(c, waiter.and_then(|w| self.cpu_of(w)));
            }
        }
    }

    /// Where the idle committer sleeps: jbd2 on `j_wait_commit`; btrfs's
    /// `transaction_kthread` in `schedule_timeout` (it has no wait queue and
    /// is woken with `wake_up_process`).
    fn commit_wait(&self) -> &'static str {
        match self.fs.params.fs_type {
            FsType::Btrfs => "schedule_timeout",
            _ => "j_wait_commit",
        }
    }

    fn commit_name(&self) -> &'static str {
        match self.fs.params.fs_type {
            FsType::Btrfs => "btrfs_commit_transaction",
            _ => "jbd2_journal_commit_transaction",
        }
    }

    /// The committing kernel thread of ext4 (`jbd2/sda1-8`) and btrfs
    /// (`btrfs-transaction`).
    pub(crate) fn step_journal(&mut self, tid: Tid, f: &mut JournalFrame) -> Fr {
        let name = self.commit_name();
        match f.phase {
            JPhase::Idle => {
                self.fs.commit_timer = false;
                let interval = self.fs.params.commit_interval;
                let due = match &self.fs.journal.running {
                    Some(t) => self.fs.commit_requested || self.now >= t.start.after(interval),
                    None => false,
                };
                if !due {
                    if self.fs.commit_requested {
                        // Nothing to commit: whoever waits is done.
                        self.fs.commit_requested = false;
                        self.wake_commit_waiters(tid);
                    }
                    let timeout = self
                        .fs
                        .journal
                        .running
                        .as_ref()
                        .map(|t| t.start.after(interval).since(self.now).max(1));
                    self.fs.commit_timer = timeout.is_some();
                    let wait = self.commit_wait();
                    self.sleep_task(tid, TaskState::Interruptible, timeout, wait);
                    return Fr::Stay(Step::Sleep);
                }
                self.fs.commit_requested = false;
                let t = self.fs.journal.running.take().expect("due");
                let msg = format!(
                    "start commit of transaction {}: {} inode sizes, {} mappings, {} ordered writes, {} journaled pages",
                    t.tid,
                    t.sizes.len(),
                    t.maps.len(),
                    t.ordered.len(),
                    t.data.len()
                );
                self.fs.journal.committing = Some(t);
                self.tr(tid, name, TraceKind::Writeback, msg);
                f.phase = JPhase::Descriptor;
                f.waited = false;
                // jbd2_journal_get_descriptor_buffer: a GFP_NOFS allocation
                // that may not fail.
                Fr::Call(
                    Frame::Alloc(AllocFrame::new_nofail(PageKind::Kernel)),
                    Step::Busy(costs::JBD2_COMMIT_NS),
                )
            }
            JPhase::Descriptor => unreachable!("the allocation returns first"),
            JPhase::Locked => {
                f.phase = JPhase::Ordered;
                Fr::Stay(Step::Busy(costs::JBD2_LOCKED_NS))
            }
            JPhase::Ordered => {
                let ordered = self.fs.params.fs_type == FsType::Ext4
                    && self.fs.params.data == DataMode::Ordered;
                let t = self.fs.journal.committing.as_mut().expect("committing");
                let inflight = &self.fs.dev.inflight;
                t.ordered.retain(|b| inflight.contains_key(b));
                if ordered && !t.ordered.is_empty() {
                    if !f.waited {
                        f.waited = true;
                        let msg = format!(
                            "transaction {}: wait for {} ordered data writes",
                            t.tid,
                            t.ordered.len()
                        );
                        self.tr(
                            tid,
                            "journal_finish_inode_data_buffers",
                            TraceKind::Writeback,
                            msg,
                        );
                    }
                    self.sleep_task(
                        tid,
                        TaskState::Uninterruptible,
                        None,
                        "journal_finish_inode_data_buffers",
                    );
                    return Fr::Stay(Step::Sleep);
                }
                // Write the descriptor, the metadata and journaled data.
                let data: Vec<(InodeId, u64)> = t.data.iter().copied().collect();
                let mut blocks = Vec::new();
                for (ino, index) in data {
                    let i = &self.inodes[ino];
                    if let (Some(p), Some((lba, _))) = (i.pages.get(&index), i.map.get(&index)) {
                        blocks.push((*lba, Block::Data(p.runs.clone())));
                    }
                }
                let t = self.fs.journal.committing.as_mut().expect("committing");
                let inodes: BTreeSet<InodeId> = t
                    .sizes
                    .keys()
                    .copied()
                    .chain(t.maps.iter().map(|k| k.0))
                    .collect();
                // One descriptor, an inode-table block per inode, an extent
                // block per 340 mappings, and the data.
                let nr = 1
                    + inodes.len() as u64
                    + (t.maps.len() as u64).div_ceil(340)
                    + blocks.len() as u64;
                t.data_blocks = blocks;
                f.phase = JPhase::LogWritten;
                self.submit_journal_io(tid, nr, None, false);
                self.sleep_task(tid, TaskState::Uninterruptible, None, "wait_on_buffer");
                Fr::Stay(Step::Sleep)
            }
            JPhase::LogWritten => {
                f.phase = JPhase::CommitWritten;
                let upto = self.fs.dev.seq;
                self.submit_journal_io(tid, 1, Some(upto), true);
                self.sleep_task(
                    tid,
                    TaskState::Uninterruptible,
                    None,
                    "journal_wait_on_commit_record",
                );
                Fr::Stay(Step::Sleep)
            }
            JPhase::CommitWritten => {
                let t = self.fs.journal.committing.take().expect("committing");
                let msg = self.journal_commit_done(t);
                self.tr(tid, name, TraceKind::Writeback, msg);
                if let Some(pfn) = f.page.take() {
                    self.mem.free_page(pfn);
                }
                self.progress();
                self.wake_commit_waiters(tid);
                f.phase = JPhase::Idle;
                self.cond_resched(tid, costs::JBD2_DONE_NS)
            }
        }
    }

    fn submit_journal_io(&mut self, tid: Tid, nr_blocks: u64, preflush: Option<u64>, fua: bool) {
        let bio = Bio {
            kind: BioKind::Journal,
            writes: Vec::new(),
            nr_blocks,
            sync: true,
            preflush,
            fua,
            waiter: Some(tid),
            done_at: SimTime::ZERO,
        };
        let (id, at) = self.fs.dev.submit(self.now, bio);
        self.push(at, Event::BioDone { id });
    }

    fn wake_commit_waiters(&mut self, by: Tid) {
        let cpu = self.cpu_of(by);
        for w in std::mem::take(&mut self.fs.commit_waiters) {
            self.wake_up_process(w, cpu);
        }
    }

    /// The transaction's commit record is durable: it joins the log, older
    /// transactions are checkpointed, the blocks it freed are discarded, and
    /// pages whose journaled data it holds are clean. Returns the trace text.
    pub(crate) fn journal_commit_done(&mut self, mut t: Transaction) -> String {
        let c = Committed {
            tid: t.tid,
            sizes: std::mem::take(&mut t.sizes),
            maps: std::mem::take(&mut t.maps),
            data: std::mem::take(&mut t.data_blocks),
        };
        let summary = format!(
            "commit of transaction {} complete: {} inode sizes, {} mappings, {} journal data blocks",
            c.tid,
            c.sizes.len(),
            c.maps.len(),
            c.data.len()
        );
        // btrfs has no log to replay: the committed tree is the metadata.
        let keep = usize::from(self.fs.params.fs_type != FsType::Btrfs);
        self.fs.journal.log.push(c);
        self.checkpoint(keep);
        self.fs.journal.commits += 1;
        let mut freed = 0;
        if self.fs.params.discard {
            for lba in &t.freed {
                self.fs.dev.discard(*lba);
                freed += 1;
            }
        }
        for (ino, index) in std::mem::take(&mut t.data) {
            let clean = self.inodes[ino]
                .pages
                .get(&index)
                .is_some_and(|p| p.jtid == t.tid);
            if clean {
                self.clear_page_dirty(ino, index);
                self.inodes[ino]
                    .pages
                    .get_mut(&index)
                    .expect("present")
                    .jtid = 0;
                self.mem.clean_lru.push_back((ino, index));
            }
        }
        if freed > 0 {
            format!("{summary}, {freed} freed blocks discarded")
        } else {
            summary
        }
    }

    /// `jbd2_log_do_checkpoint`: writes the metadata (and journaled data) of
    /// all but the newest `keep` committed transactions home.
    pub(crate) fn checkpoint(&mut self, keep: usize) {
        let j = &mut self.fs.journal;
        let n = j.log.len().saturating_sub(keep);
        if n == 0 {
            return;
        }
        let done: Vec<Committed> = j.log.drain(..n).collect();
        for c in done {
            apply_owned(c, &mut self.fs.journal.home, self.fs.dev.media_mut());
        }
    }

    /// A snapshot of what the disk holds, for recovery checks.
    pub fn disk_image(&self) -> DiskImage {
        DiskImage {
            home: self.fs.journal.home.clone(),
            log: self.fs.journal.log.clone(),
            media: self.fs.dev.media().clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merged_maps_are_the_inserted_ones() {
        let mut rng = crate::rng::Rng::new(3);
        let (mut bulk, mut one) = (BTreeMap::new(), BTreeMap::new());
        let mut replaced = 0;
        for _ in 0..20 {
            let maps: Vec<(InodeId, u64, u64)> = (0..300)
                .map(|_| {
                    let ino = InodeId::from_index(rng.below(4) as usize);
                    (
                        ino,
                        u64::from(rng.below(100)),
                        u64::from(rng.below(1_000_000)),
                    )
                })
                .collect();
            merge_maps(&maps, &mut bulk);
            for &(ino, i, lba) in &maps {
                let m: &mut InodeMeta = one.entry(ino).or_default();
                replaced += usize::from(m.map.insert(i, lba).is_some());
            }
            assert_eq!(bulk, one);
        }
        assert!(replaced > 1_000, "{replaced}");
    }
    use crate::fs::{Prov, Run, NO_BLOCK};

    fn block(v: u8) -> Block {
        Block::Data(vec![Run {
            off: 0,
            len: 4096,
            value: v,
            expected: v,
            prov: Prov::Copied,
            pid: 1,
            event: 1,
            lba: NO_BLOCK,
        }])
    }

    #[test]
    fn replay_is_idempotent_and_in_commit_order() {
        let c1 = Committed {
            tid: 1,
            sizes: BTreeMap::from([(InodeId(0), 8192)]),
            maps: vec![(InodeId(0), 0, 40_000), (InodeId(0), 1, 40_001)],
            data: vec![(40_000, block(1))],
        };
        let c2 = Committed {
            tid: 2,
            sizes: BTreeMap::from([(InodeId(0), 12288)]),
            maps: vec![(InodeId(0), 2, 40_002)],
            data: vec![(40_000, block(2))],
        };
        let mut img = DiskImage {
            home: BTreeMap::new(),
            log: vec![c1, c2],
            media: BTreeMap::new(),
        };
        img.replay();
        let once = img.clone();
        img.replay();
        assert_eq!(img, once);
        assert_eq!(once.home[&InodeId(0)].size, 12288);
        assert_eq!(once.home[&InodeId(0)].map.len(), 3);
        assert_eq!(once.media[&40_000], block(2), "the later commit wins");
    }
}
