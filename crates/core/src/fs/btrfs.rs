//! btrfs's data path, simplified: copy-on-write data, ordered extents, and a
//! periodic transaction commit by the `btrfs-transaction` thread.
//!
//! - Writeback (`cow_file_range`) gives every page a new block, even a page
//!   that had one: data is never overwritten in place.
//! - When the write completes, the ordered extent finishes
//!   (`btrfs_finish_ordered_io`): the file extent items (the new mapping)
//!   and `disk_i_size` enter the running transaction, and the old blocks are
//!   freed by it (pinned until it commits, then discarded with `-o
//!   discard`).
//! - Every `commit_interval` the transaction commits
//!   (`btrfs_commit_transaction`): tree blocks are written, then the
//!   superblock with a flush and FUA; the committed tree is the filesystem
//!   after a crash, with no log to replay.
//!
//! Since a mapping only exists after its data was written, a crash exposes
//! neither stale blocks nor a size beyond written data.
//!
//! What is simplified: the trees (extent, csum, fs trees) are one record of
//! mappings and sizes per transaction, with no tree blocks of their own and
//! no CoW of metadata; no checksums, compression, inline extents, the
//! log tree of `fsync`, delayed refs, chunk allocation, or `ENOSPC`; a
//! block freed by CoW is never reused (the allocator only moves forward).
//! The buffered write path itself is `__btrfs_buffered_write` in
//! `fs::filemap`.

use crate::fs::InodeId;
use crate::mm::page_alloc::Pfn;
use crate::scenario::PAGE_SIZE;
use crate::sim::{Sim, Tid};
use crate::trace::TraceKind;

impl Sim {
    /// `cow_file_range` + submission: new blocks for every page.
    pub(crate) fn btrfs_writepages(
        &mut self,
        by: Option<Tid>,
        inode: InodeId,
        idxs: &[u64],
        io_end: Option<Pfn>,
    ) {
        let event = self.trace_total;
        let first = self.fs.alloc_blocks(idxs.len() as u64);
        let pages: Vec<(u64, u64)> = idxs
            .iter()
            .enumerate()
            .map(|(k, i)| (*i, first + k as u64))
            .collect();
        let cow = idxs
            .iter()
            .filter(|i| self.inodes[inode].map.contains_key(i))
            .count();
        self.submit_data_bio(inode, pages, io_end, event);
        let msg = format!(
            "{}: pages {}..={} to new blocks {}..={}{}",
            self.inodes[inode].path,
            idxs[0],
            idxs[idxs.len() - 1],
            first,
            first + idxs.len() as u64 - 1,
            if cow > 0 {
                format!(" ({cow} rewritten: copy-on-write)")
            } else {
                String::new()
            }
        );
        match by {
            Some(t) => {
                self.tr(t, "cow_file_range", TraceKind::Writeback, msg);
            }
            None => {
                self.trace_info(None, "cow_file_range", msg);
            }
        }
    }

    /// `btrfs_finish_ordered_io`: the written blocks become the file's, in
    /// the running transaction, with `disk_i_size` up to the written end.
    pub(crate) fn btrfs_finish_ordered_io(
        &mut self,
        inode: InodeId,
        pages: &[(u64, u64)],
        event: u64,
        end: u64,
    ) -> String {
        let mut freed = Vec::new();
        for &(i, lba) in pages {
            if let Some((old, _)) = self.inodes[inode].map.insert(i, (lba, event)) {
                freed.push(old);
            }
        }
        let ino = &mut self.inodes[inode];
        let s = ino.i_size.min(end).max(ino.i_disksize);
        let moved = s > ino.i_disksize;
        ino.i_disksize = s;
        let t = self.journal_handle();
        for &(i, lba) in pages {
            t.maps.push((inode, i, lba));
        }
        if moved {
            t.sizes.insert(inode, s);
        }
        let n = freed.len();
        t.freed.extend(freed);
        let tid = t.tid;
        let _ = PAGE_SIZE;
        format!(
            ", btrfs_finish_ordered_io: extents in transaction {tid}{}{}",
            if moved {
                format!(", disk_i_size {s}")
            } else {
                String::new()
            },
            if n > 0 {
                format!(", {n} old blocks freed")
            } else {
                String::new()
            }
        )
    }
}
