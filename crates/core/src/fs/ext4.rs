//! ext4's data path: delayed allocation, `i_disksize`, and the three data
//! modes against the journal (`fs::jbd2`).
//!
//! - A buffered write only reserves space (`ext4_da_write_begin`); `i_size`
//!   grows in `write_end`, `i_disksize` does not. Appending into a page that
//!   already has a block moves `i_disksize` at once
//!   (`ext4_da_should_update_i_disksize`).
//! - Writeback (`ext4_writepages` → `mpage_map_and_submit_extent`) allocates
//!   blocks for the delayed pages, submits the data, and in the same journal
//!   handle records the new mapping and moves `i_disksize` to the end of the
//!   mapped range (capped at `i_size`) — before the data I/O completes.
//! - `data=ordered`: the newly allocated blocks put the inode on the running
//!   transaction's ordered list (`ext4_jbd2_inode_add_write`): its commit
//!   waits for that data. `data=writeback`: nothing holds the commit back, so
//!   the new size and mapping can be durable while the blocks still hold what
//!   they held before.
//! - `data=journal` (no delayed allocation): `write_end` allocates the block,
//!   moves `i_size` and `i_disksize`, and journals the page's data in the
//!   running transaction; the flusher's writeback of such a page is a request
//!   for a commit (`ext4_journalled_writepage`), and the page is clean once
//!   that commit is durable.
//!
//! Not modelled: `nodelalloc`, extent status tree and unwritten extents,
//! `mballoc` goals and preallocation (blocks come from one allocator in
//! order), reservation accounting and `ENOSPC`, the handle's credits and
//! blocking in `start_this_handle`, zeroing of the page tail beyond `i_size`
//! (bytes no write covered read as a hole), `dioread_nolock`.

use crate::fs::InodeId;
use crate::mm::page_alloc::Pfn;
use crate::scenario::{DataMode, PAGE_SIZE};
use crate::sim::{Sim, Tid};
use crate::trace::TraceKind;

impl Sim {
    /// `ext4_writepages` for pages already moved to writeback.
    pub(crate) fn ext4_writepages(
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
        let first = if unmapped.is_empty() {
            0
        } else {
            self.fs.alloc_blocks(unmapped.len() as u64)
        };
        for (k, i) in unmapped.iter().enumerate() {
            self.inodes[inode].map.insert(*i, (first + k as u64, event));
        }
        let ino = &self.inodes[inode];
        let pages: Vec<(u64, u64)> = idxs.iter().map(|i| (*i, ino.map[i].0)).collect();
        let last = *idxs.last().expect("at least one page");
        let new_disksize = ino.i_size.min((last + 1) * PAGE_SIZE);
        let bio = self.submit_data_bio(inode, pages, io_end, event);
        let mut msg = format!(
            "{}: pages {}..={} submitted",
            self.inodes[inode].path, idxs[0], last
        );
        if !unmapped.is_empty() {
            // The handle of mpage_map_and_submit_extent.
            let ordered = self.fs.params.data == DataMode::Ordered;
            let t = self.journal_handle();
            let tid = t.tid;
            for (k, i) in unmapped.iter().enumerate() {
                t.maps.push((inode, *i, first + k as u64));
            }
            if ordered {
                t.ordered.insert(bio);
            }
            let ino = &mut self.inodes[inode];
            let mut moved = String::new();
            if new_disksize > ino.i_disksize {
                ino.i_disksize = new_disksize;
                moved = format!(", i_disksize {new_disksize}");
                self.journal_handle().sizes.insert(inode, new_disksize);
            }
            msg.push_str(&format!(
                "; {} delayed pages mapped to blocks {}..={}{moved} in transaction {tid}{}",
                unmapped.len(),
                first,
                first + unmapped.len() as u64 - 1,
                if ordered { " (ordered)" } else { "" }
            ));
        }
        match by {
            Some(t) => {
                self.tr(t, "ext4_writepages", TraceKind::Writeback, msg);
            }
            None => {
                self.trace_info(None, "ext4_writepages", msg);
            }
        }
    }

    /// ext4's part of `write_end` for a page that received `copied` bytes.
    pub(crate) fn ext4_write_end(&mut self, inode: InodeId, index: u64) {
        match self.fs.params.data {
            DataMode::Journal => {
                self.ext4_journal_page(inode, index);
                let ino = &mut self.inodes[inode];
                if ino.i_size > ino.i_disksize {
                    let s = ino.i_size;
                    ino.i_disksize = s;
                    self.journal_handle().sizes.insert(inode, s);
                }
            }
            DataMode::Ordered | DataMode::Writeback => {
                // ext4_da_should_update_i_disksize: the page has a block.
                let ino = &mut self.inodes[inode];
                if ino.map.contains_key(&index) && ino.i_size > ino.i_disksize {
                    let s = ino.i_size.min((index + 1) * PAGE_SIZE);
                    if s > ino.i_disksize {
                        ino.i_disksize = s;
                        self.journal_handle().sizes.insert(inode, s);
                    }
                }
            }
        }
    }

    /// data=journal: the page's data joins the running transaction, with a
    /// block allocated if it has none.
    fn ext4_journal_page(&mut self, inode: InodeId, index: u64) {
        let event = self.trace_total;
        let mapped = self.inodes[inode].map.get(&index).map(|m| m.0);
        let lba = match mapped {
            Some(l) => l,
            None => {
                let l = self.fs.alloc_blocks(1);
                self.inodes[inode].map.insert(index, (l, event));
                l
            }
        };
        let t = self.journal_handle();
        if mapped.is_none() {
            t.maps.push((inode, index, lba));
        }
        t.data.insert((inode, index));
        let tid = t.tid;
        if let Some(p) = self.inodes[inode].pages.get_mut(&index) {
            p.jtid = tid;
        }
    }

    /// data=journal writeback of an inode: every dirty page not yet in a
    /// transaction is journaled in the running one. Returns how many.
    pub(crate) fn ext4_journal_dirty_pages(&mut self, inode: InodeId) -> u64 {
        let idxs: Vec<u64> = self.inodes[inode]
            .pages
            .iter()
            .filter(|(_, p)| p.dirty && p.jtid == 0)
            .map(|(i, _)| *i)
            .collect();
        for &i in &idxs {
            self.ext4_journal_page(inode, i);
        }
        let ino = &mut self.inodes[inode];
        if ino.i_size > ino.i_disksize {
            let s = ino.i_size;
            ino.i_disksize = s;
            self.journal_handle().sizes.insert(inode, s);
        }
        idxs.len() as u64
    }
}
