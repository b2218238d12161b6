//! The block device: blocks with content provenance, a request queue with
//! the I/O scheduler's one rule that matters here, and an optional volatile
//! write cache with flush and FUA.
//!
//! A block is a page (4096 bytes). What a block holds is one of:
//! - runs written from a page-cache page (each run keeps the provenance it had
//!   in memory: copied by pid P at trace record E, zero page, ...);
//! - a discarded block: zeros on a device with read-zero-after-TRIM, its old
//!   content otherwise;
//! - nothing written in this run: the scenario's disk history — text or
//!   random bytes of files deleted before the run, or the zeros of a disk
//!   never written. Those bytes are a fixed function of the block number
//!   ([`stale_byte`]), never drawn from a PRNG, so they shift no decision.
//!
//! The queue: asynchronous writes (writeback) are served in submission order
//! at the disk's bandwidth; synchronous writes (the journal) are served next,
//! ahead of queued writeback, as CFQ and deadline do. That is why a journal
//! commit can reach the disk before data that was submitted earlier. XFS
//! metadata buffers written by inode reclaim (`xfs_bwrite`, no `REQ_SYNC`)
//! are asynchronous requests: they wait for a free request and behind the
//! queued writeback. They carry no block content (metadata has no home
//! location in the model).
//!
//! With a write cache, a completed write sits in the cache until a flush
//! (`REQ_PREFLUSH`: every write completed before the flush was issued becomes
//! durable) or is written with `REQ_FUA`. A power loss loses the cache. The
//! device never writes its cache back on its own: the worst case the kernel
//! must assume.
//!
//! Not modelled: reads (the page cache serves them; reading a block back
//! costs a fixed time), seeks and rotational latency, request merging, more
//! than one queue, partial (torn) block writes, a cache that loses only part
//! of its content, discard as a queued request (it is immediate).

use crate::costs;
use crate::fs::InodeId;
use crate::fs::{Prov, Run};
use crate::mm::page_alloc::Pfn;
use crate::scenario::{DiskHistory, PAGE_SIZE};
use crate::time::SimTime;
use std::collections::BTreeMap;

/// First block of the data area: what comes before is the superblock, group
/// descriptors, bitmaps, inode tables and the journal, none of which the
/// model allocates from.
pub const DATA_START: u64 = 32_768;

/// `nr_requests`: writeback blocks in `get_request` beyond this many queued
/// asynchronous requests. The kernel's 128 is scaled down to the model's
/// machines of tens of megabytes: reclaim counts neither the pages under
/// writeback as dirty nor as freeable, so their number moves the time of the
/// OOM kill.
pub const NR_REQUESTS: u32 = 4;

/// Content of a block as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Block {
    /// Runs written from a page; bytes no run covers read as zeros.
    Data(Vec<Run>),
    /// Discarded on a device that reads zeros after TRIM.
    Discarded,
}

/// Log lines of a machine, repeated through the free space of the disk: what
/// a deleted text file leaves behind.
const DELETED_TEXT: &[u8] = b"Aug  4 03:12:41 db1 postgres[4412]: LOG:  checkpoint complete: wrote 1843 buffers (11.2%); 0 WAL file(s) added, 0 removed, 2 recycled\n\
Aug  4 03:12:44 db1 CRON[9921]: (root) CMD (/usr/local/bin/backup --incremental /srv/data)\n\
Aug  4 03:12:47 db1 kernel: [81234.551023] EXT4-fs (sda1): re-mounted. Opts: errors=remount-ro\n\
Aug  4 03:12:52 db1 sshd[10233]: Accepted publickey for deploy from 10.0.4.17 port 51822 ssh2\n";

/// The byte at `off` (within the block) of block `lba` as the disk history
/// left it: deterministic, derived from the block number and a fixed pattern.
pub fn stale_byte(prov: Prov, lba: u64, off: u64) -> u8 {
    match prov {
        Prov::StaleText => {
            let n = DELETED_TEXT.len() as u64;
            DELETED_TEXT[((lba * PAGE_SIZE + off) % n) as usize]
        }
        Prov::StaleRandom => {
            // splitmix64 of the byte's disk address.
            let mut z = (lba * PAGE_SIZE + off).wrapping_add(0x9e37_79b9_7f4a_7c15);
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            (z ^ (z >> 31)) as u8
        }
        _ => 0,
    }
}

/// What a write request carries.
#[derive(Clone, Debug)]
pub(crate) enum BioKind {
    /// Writeback of file pages: (page index, block) pairs of one inode.
    Data {
        inode: InodeId,
        pages: Vec<(u64, u64)>,
        /// The io_end (and journal heads) allocated for it, freed at completion.
        io_end: Option<Pfn>,
        /// Trace record of the submission.
        event: u64,
    },
    /// Journal blocks (descriptor, metadata, journaled data) or a commit
    /// record; the committing thread waits for it.
    Journal,
    /// A metadata buffer written by `xfs_bwrite` (an inode cluster): no
    /// `XBF_SYNCIO`, so an ordinary write queued behind writeback; the
    /// submitter waits for it (`xfs_buf_iowait`).
    Metadata,
}

#[derive(Clone, Debug)]
pub(crate) struct Bio {
    pub kind: BioKind,
    /// Blocks and the content they get, captured at submission.
    pub writes: Vec<(u64, Block)>,
    /// Number of blocks the request transfers (journal blocks have no home
    /// location in the model, so they count without being stored).
    pub nr_blocks: u64,
    pub sync: bool,
    /// `REQ_PREFLUSH`: writes completed before this sequence number are made
    /// durable when the request completes.
    pub preflush: Option<u64>,
    pub fua: bool,
    /// The task to wake at completion.
    pub waiter: Option<crate::sim::Tid>,
    pub done_at: SimTime,
}

/// The device.
#[derive(Clone, Debug)]
pub struct BlockDev {
    bandwidth: u64,
    pub write_cache: bool,
    pub read_zero_after_trim: bool,
    pub history: DiskHistory,
    /// The free space of `history` was discarded when it was freed (`-o
    /// discard` was in use before the run).
    pub history_discarded: bool,
    /// Durable content, by block.
    media: BTreeMap<u64, Block>,
    /// Completed, not yet durable writes: (completion sequence, block, content).
    cache: Vec<(u64, u64, Block)>,
    /// Sequence number of the last completed write.
    pub(crate) seq: u64,
    /// When the asynchronous queue drains.
    async_until: SimTime,
    pub(crate) inflight: BTreeMap<u64, Bio>,
    pub(crate) nr_async: u32,
    next_bio: u64,
    /// Blocks written so far, journal blocks included.
    pub(crate) blocks_written: u64,
}

/// What a block reads as, durable content only (after a power loss).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BlockView {
    Data(Vec<Run>),
    /// Uniform content of the given provenance (zeros or a stale pattern).
    Fill(Prov),
}

impl BlockDev {
    pub(crate) fn new(
        bandwidth: u64,
        write_cache: bool,
        rzat: bool,
        history: DiskHistory,
        discard: bool,
    ) -> BlockDev {
        BlockDev {
            bandwidth: bandwidth.max(1),
            write_cache,
            read_zero_after_trim: rzat,
            history,
            history_discarded: discard,
            media: BTreeMap::new(),
            cache: Vec::new(),
            seq: 0,
            async_until: SimTime::ZERO,
            inflight: BTreeMap::new(),
            nr_async: 0,
            next_bio: 1,
            blocks_written: 0,
        }
    }

    fn transfer_ns(&self, blocks: u64) -> u64 {
        costs::REQUEST_NS + blocks * PAGE_SIZE * 1_000_000_000 / self.bandwidth
    }

    /// Queues a request; returns its id and completion time. A synchronous
    /// request is served before queued asynchronous ones, which it delays.
    pub(crate) fn submit(&mut self, now: SimTime, mut bio: Bio) -> (u64, SimTime) {
        let ns = self.transfer_ns(bio.nr_blocks);
        let done = if bio.sync {
            let d = now.after(ns);
            self.async_until = self.async_until.max(now).after(ns);
            d
        } else {
            self.nr_async += 1;
            self.async_until = self.async_until.max(now).after(ns);
            self.async_until
        };
        bio.done_at = done;
        let id = self.next_bio;
        self.next_bio += 1;
        self.inflight.insert(id, bio);
        (id, done)
    }

    /// Completes a request: its writes land in the cache (or on the media),
    /// then its flush and FUA take effect.
    pub(crate) fn complete(&mut self, id: u64) -> Option<Bio> {
        let mut bio = self.inflight.remove(&id)?;
        if !bio.sync {
            self.nr_async -= 1;
        }
        for (lba, b) in bio.writes.drain(..) {
            self.write_landed(lba, b, bio.fua);
        }
        self.blocks_written += bio.nr_blocks;
        if let Some(upto) = bio.preflush {
            self.flush(upto);
        }
        Some(bio)
    }

    fn write_landed(&mut self, lba: u64, b: Block, fua: bool) {
        self.seq += 1;
        if self.write_cache && !fua {
            self.cache.push((self.seq, lba, b));
        } else {
            self.media.insert(lba, b);
        }
    }

    /// `REQ_PREFLUSH`: the cached writes completed up to `upto` become durable.
    pub(crate) fn flush(&mut self, upto: u64) {
        if self.cache.is_empty() {
            return;
        }
        let mut keep = Vec::new();
        for (s, lba, b) in self.cache.drain(..) {
            if s <= upto {
                self.media.insert(lba, b);
            } else {
                keep.push((s, lba, b));
            }
        }
        self.cache = keep;
    }

    /// A discard of a freed block.
    pub(crate) fn discard(&mut self, lba: u64) {
        if self.read_zero_after_trim {
            self.cache.retain(|(_, l, _)| *l != lba);
            self.media.insert(lba, Block::Discarded);
        }
    }

    /// Blocks in the volatile cache.
    pub fn cached_blocks(&self) -> u64 {
        self.cache.len() as u64
    }

    /// Requests not yet completed.
    pub fn inflight_requests(&self) -> u64 {
        self.inflight.len() as u64
    }

    /// Power loss: requests in flight never land, the cache is lost. Returns
    /// (requests dropped, cached writes lost).
    pub(crate) fn power_loss(&mut self) -> (u64, u64) {
        let r = (self.inflight.len() as u64, self.cache.len() as u64);
        self.inflight.clear();
        self.nr_async = 0;
        self.cache.clear();
        r
    }

    /// The latest content of a block, cache included (what a read returns
    /// while the machine runs).
    pub(crate) fn read_current(&self, lba: u64) -> BlockView {
        if let Some((_, _, b)) = self.cache.iter().rev().find(|(_, l, _)| *l == lba) {
            return self.view(lba, Some(b));
        }
        self.read_durable(lba)
    }

    /// What a block reads as from the media alone.
    pub fn read_durable(&self, lba: u64) -> BlockView {
        self.view(lba, self.media.get(&lba))
    }

    /// What a block reads as, given its stored content (or none).
    pub(crate) fn view_of(&self, lba: u64, b: Option<&Block>) -> BlockView {
        self.view(lba, b)
    }

    fn view(&self, lba: u64, b: Option<&Block>) -> BlockView {
        match b {
            Some(Block::Data(runs)) => {
                BlockView::Data(runs.iter().map(|r| Run { lba, ..*r }).collect())
            }
            Some(Block::Discarded) => BlockView::Fill(Prov::Discarded),
            None => {
                if self.history_discarded
                    && self.read_zero_after_trim
                    && self.history != DiskHistory::Zeros
                {
                    return BlockView::Fill(Prov::Discarded);
                }
                BlockView::Fill(match self.history {
                    DiskHistory::DeletedText => Prov::StaleText,
                    DiskHistory::Random => Prov::StaleRandom,
                    DiskHistory::Zeros => Prov::NeverWritten,
                })
            }
        }
    }

    /// Durable blocks, for comparing disk images.
    pub fn media(&self) -> &BTreeMap<u64, Block> {
        &self.media
    }

    pub(crate) fn media_mut(&mut self) -> &mut BTreeMap<u64, Block> {
        &mut self.media
    }
}

impl BlockView {
    pub(crate) fn from_block(b: &Block) -> BlockView {
        match b {
            Block::Data(r) => BlockView::Data(r.clone()),
            Block::Discarded => BlockView::Fill(Prov::Discarded),
        }
    }

    /// The block as runs covering the whole block, tagged with its number.
    pub fn into_runs(self, lba: u64) -> Vec<Run> {
        match self {
            BlockView::Data(r) => r.into_iter().map(|x| Run { lba, ..x }).collect(),
            BlockView::Fill(prov) => vec![Run {
                off: 0,
                len: PAGE_SIZE as u16,
                value: stale_byte(prov, lba, 0),
                expected: 0,
                prov,
                pid: 0,
                event: 0,
                lba,
            }],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    impl BlockDev {
        fn write_durable(&mut self, lba: u64, b: Block) {
            self.media.insert(lba, b);
        }
    }

    fn data(v: u8) -> Block {
        Block::Data(vec![Run {
            off: 0,
            len: 4096,
            value: v,
            expected: v,
            prov: Prov::Copied,
            pid: 1,
            event: 2,
            lba: 0,
        }])
    }

    fn bio(lba: u64, v: u8, sync: bool) -> Bio {
        Bio {
            kind: BioKind::Journal,
            writes: vec![(lba, data(v))],
            nr_blocks: 1,
            sync,
            preflush: None,
            fua: false,
            waiter: None,
            done_at: SimTime::ZERO,
        }
    }

    #[test]
    fn sync_requests_overtake_queued_writeback() {
        let mut d = BlockDev::new(4096 * 1000, false, true, DiskHistory::Zeros, false);
        let (_, a) = d.submit(SimTime(0), bio(DATA_START, 1, false));
        let (_, b) = d.submit(SimTime(0), bio(DATA_START + 1, 2, false));
        let (_, j) = d.submit(SimTime(0), bio(5, 3, true));
        assert!(a < b, "writeback is served in order");
        assert!(j < b, "the journal write does not wait behind writeback");
    }

    #[test]
    fn cache_is_durable_only_after_a_flush() {
        let mut d = BlockDev::new(1 << 30, true, true, DiskHistory::DeletedText, false);
        let (id, _) = d.submit(SimTime(0), bio(DATA_START, 7, false));
        d.complete(id).unwrap();
        assert_eq!(
            d.read_current(DATA_START),
            BlockView::Data(vec![Run {
                lba: DATA_START,
                ..match data(7) {
                    Block::Data(r) => r[0],
                    _ => unreachable!(),
                }
            }])
        );
        assert_eq!(d.read_durable(DATA_START), BlockView::Fill(Prov::StaleText));
        let upto = d.seq;
        let (id2, _) = d.submit(SimTime(0), bio(DATA_START + 9, 8, false));
        d.complete(id2).unwrap();
        d.flush(upto);
        assert!(matches!(d.read_durable(DATA_START), BlockView::Data(_)));
        assert_eq!(
            d.read_durable(DATA_START + 9),
            BlockView::Fill(Prov::StaleText),
            "completed after the flush was issued"
        );
        assert_eq!(d.power_loss(), (0, 1));
    }

    #[test]
    fn history_and_discard() {
        let d = BlockDev::new(1 << 20, false, true, DiskHistory::DeletedText, true);
        assert_eq!(d.read_durable(DATA_START), BlockView::Fill(Prov::Discarded));
        let d = BlockDev::new(1 << 20, false, false, DiskHistory::Random, true);
        assert_eq!(
            d.read_durable(DATA_START),
            BlockView::Fill(Prov::StaleRandom)
        );
        let mut d = BlockDev::new(1 << 20, false, true, DiskHistory::Random, false);
        d.write_durable(DATA_START, data(1));
        d.discard(DATA_START);
        assert_eq!(d.read_durable(DATA_START), BlockView::Fill(Prov::Discarded));
        // Stale bytes depend on the block and offset only.
        assert_eq!(
            stale_byte(Prov::StaleText, 40_000, 17),
            stale_byte(Prov::StaleText, 40_000, 17)
        );
        assert!((0..4096).all(|o| stale_byte(Prov::StaleText, 40_000, o) != 0));
    }
}
