//! XFS's data path: delayed allocation converted at writeback, and the
//! on-disk size (`di_size`) moved only when the data I/O completes
//! (`xfs_end_io` → `xfs_setfilesize`). Both are metadata changes logged in
//! the CIL (the running transaction of `fs::jbd2`), which the `xfs-cil`
//! worker (`log`) writes to the log at each checkpoint: when
//! reclaim forces the log, and every `commit_interval` (`xfs_log_worker`).
//!
//! So a crash can leave a durable mapping to a block whose data never
//! landed, but never a durable size that covers it: a read stops at
//! `di_size`, and every byte below it was written before the size moved.
//!
//! Not modelled: unwritten extents and speculative preallocation beyond
//! EOF, `xfs_iomap_write_allocate`'s own transaction reservation, the AIL
//! and metadata writeback (a checkpointed item is home at once), log
//! recovery's ordering subtleties (replay is idempotent), the log's own I/O
//! on the block device (it takes the worker's fixed log I/O time).

pub mod icache;
pub mod log;

use crate::fs::InodeId;
use crate::mm::page_alloc::Pfn;
use crate::sim::{Sim, Tid};
use crate::trace::TraceKind;

impl Sim {
    /// `xfs_vm_writepages`: delayed pages get blocks (`xfs_map_blocks` →
    /// `xfs_bmapi_write`, logged in the CIL), then the data is submitted.
    pub(crate) fn xfs_vm_writepages(
        &mut self,
        by: Option<Tid>,
        inode: InodeId,
        idxs: &[u64],
        io_end: Option<Pfn>,
    ) {
        let event = self.trace_total;
        let unmapped: Vec<u64> = idxs
            .iter()
            .copied()
            .filter(|i| !self.inodes[inode].map.contains_key(i))
            .collect();
        let mut msg = format!(
            "{}: pages {}..={} submitted",
            self.inodes[inode].path,
            idxs[0],
            idxs[idxs.len() - 1]
        );
        if !unmapped.is_empty() {
            let first = self.fs.alloc_blocks(unmapped.len() as u64);
            let t = self.journal_handle();
            for (k, i) in unmapped.iter().enumerate() {
                t.maps.push((inode, *i, first + k as u64));
            }
            let tid = t.tid;
            for (k, i) in unmapped.iter().enumerate() {
                self.inodes[inode].map.insert(*i, (first + k as u64, event));
            }
            msg.push_str(&format!(
                "; {} delalloc pages allocated blocks {}..={} (CIL {tid}), di_size unchanged",
                unmapped.len(),
                first,
                first + unmapped.len() as u64 - 1
            ));
        }
        let ino = &self.inodes[inode];
        let pages: Vec<(u64, u64)> = idxs.iter().map(|i| (*i, ino.map[i].0)).collect();
        self.submit_data_bio(inode, pages, io_end, event);
        match by {
            Some(t) => {
                self.tr(t, "xfs_vm_writepages", TraceKind::Writeback, msg);
            }
            None => {
                self.trace_info(None, "xfs_vm_writepages", msg);
            }
        }
    }

    /// `xfs_setfilesize` at I/O completion: `di_size` covers the written
    /// range, capped at `i_size`. Returns a note for the completion record.
    pub(crate) fn xfs_end_io(&mut self, inode: InodeId, end: u64) -> String {
        let ino = &mut self.inodes[inode];
        let s = ino.i_size.min(end);
        if s <= ino.i_disksize {
            return String::new();
        }
        ino.i_disksize = s;
        let t = self.journal_handle();
        t.sizes.insert(inode, s);
        format!(", xfs_setfilesize: di_size {s} (CIL {})", t.tid)
    }
}
