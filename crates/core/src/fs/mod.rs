//! Files: inodes with `i_size`, their page cache, and what has been written
//! back. Every byte range carries its provenance, so that a file can later be
//! classified by where its bytes came from, never by their values alone.
//!
//! Not modelled here: block allocation, journaling and crashes (the disk is an
//! ideal store of written-back pages), `i_rwsem` (each writer in the presets has
//! a file of its own), truncate, reads.

pub mod filemap;
pub mod writeback;

use crate::scenario::PAGE_SIZE;
use crate::sim::Sim;
use serde::Serialize;
use std::collections::BTreeMap;

/// Where a run of bytes in a file page came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Prov {
    /// Copied from the writer's buffer, through its page table.
    Copied,
    /// Copied through a TLB entry whose PTE the reaper had already cleared:
    /// the old page, still intact until the shootdown.
    StaleTlb,
    /// Copied from the zero page after the buffer was reaped.
    ZeroPage,
    /// Zeroed by the filesystem for a short copy (`page_zero_new_buffers`).
    NewBuffer,
    /// A store through a MAP_SHARED file mapping.
    MmapStore,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Run {
    /// Offset within the page.
    pub off: u16,
    pub len: u16,
    /// The value of every byte of the run.
    pub value: u8,
    /// What the application meant to write there.
    pub expected: u8,
    pub prov: Prov,
    pub pid: u32,
    /// Trace index of the event that wrote it.
    pub event: u64,
}

#[derive(Clone, Debug)]
pub struct PcPage {
    pub pfn: u32,
    pub runs: Vec<Run>,
    pub dirty: bool,
    pub uptodate: bool,
}

#[derive(Clone, Debug)]
pub struct Inode {
    pub path: String,
    pub i_size: u64,
    pub(crate) max_i_size_seen: u64,
    /// Sum of positive write() results the processes saw (`S_ack`).
    pub acked: u64,
    pub pages: BTreeMap<u64, PcPage>,
    /// Written-back content, by page index.
    pub disk: BTreeMap<u64, Vec<Run>>,
}

#[derive(Clone, Debug, Serialize)]
pub struct FileSnap {
    pub path: String,
    pub i_size: u64,
    pub acked: u64,
    pub cached_pages: u64,
    pub dirty_pages: u64,
}

impl Inode {
    pub(crate) fn snap(&self) -> FileSnap {
        FileSnap {
            path: self.path.clone(),
            i_size: self.i_size,
            acked: self.acked,
            cached_pages: self.pages.len() as u64,
            dirty_pages: self.pages.values().filter(|p| p.dirty).count() as u64,
        }
    }

    /// The file's current content as runs: page cache over written-back data.
    pub fn content(&self) -> Vec<(u64, Run)> {
        let mut out = Vec::new();
        let last = self.i_size.div_ceil(PAGE_SIZE);
        for index in 0..last {
            let runs = match self.pages.get(&index) {
                Some(p) if p.uptodate || !p.runs.is_empty() => &p.runs,
                _ => match self.disk.get(&index) {
                    Some(r) => r,
                    None => continue,
                },
            };
            for r in runs {
                out.push((index * PAGE_SIZE + u64::from(r.off), *r));
            }
        }
        out
    }
}

/// Writes `run` into `runs`, replacing whatever it overlaps.
pub(crate) fn overlay(runs: &mut Vec<Run>, run: Run) {
    let (s, e) = (run.off, run.off + run.len);
    let mut out = Vec::with_capacity(runs.len() + 1);
    for r in runs.drain(..) {
        let (rs, re) = (r.off, r.off + r.len);
        if re <= s || rs >= e {
            out.push(r);
            continue;
        }
        if rs < s {
            out.push(Run { len: s - rs, ..r });
        }
        if re > e {
            out.push(Run {
                off: e,
                len: re - e,
                ..r
            });
        }
    }
    out.push(run);
    out.sort_by_key(|r| r.off);
    *runs = out;
}

impl Sim {
    /// Finds or creates the inode for a path.
    pub(crate) fn open_inode(&mut self, path: &str) -> u32 {
        if let Some(i) = self.inodes.iter().position(|i| i.path == path) {
            return i as u32;
        }
        self.inodes.push(Inode {
            path: path.to_string(),
            i_size: 0,
            max_i_size_seen: 0,
            acked: 0,
            pages: BTreeMap::new(),
            disk: BTreeMap::new(),
        });
        (self.inodes.len() - 1) as u32
    }

    pub(crate) fn set_i_size(&mut self, inode: u32, size: u64) {
        let ino = &mut self.inodes[inode as usize];
        if size > ino.i_size {
            ino.i_size = size;
            ino.max_i_size_seen = size;
        }
    }

    /// Drops a clean page-cache page (reclaim); its data is on disk.
    pub(crate) fn evict_page_cache(&mut self, inode: u32, index: u64) -> Option<u32> {
        let ino = &mut self.inodes[inode as usize];
        match ino.pages.get(&index) {
            Some(p) if !p.dirty => {
                let p = ino.pages.remove(&index).expect("present");
                Some(p.pfn)
            }
            _ => None,
        }
    }

    /// A whole-page store through a shared file mapping.
    pub(crate) fn file_store_page(
        &mut self,
        inode: u32,
        index: u64,
        value: u8,
        expected: u8,
        pid: u32,
        event: u64,
    ) {
        let run = Run {
            off: 0,
            len: PAGE_SIZE as u16,
            value,
            expected,
            prov: if value == 0 && expected != 0 {
                Prov::ZeroPage
            } else {
                Prov::MmapStore
            },
            pid,
            event,
        };
        if let Some(p) = self.inodes[inode as usize].pages.get_mut(&index) {
            overlay(&mut p.runs, run);
            p.uptodate = true;
            if !p.dirty {
                p.dirty = true;
                self.mem.dirty.push_back((inode, index));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(off: u16, len: u16, value: u8) -> Run {
        Run {
            off,
            len,
            value,
            expected: 0xff,
            prov: Prov::Copied,
            pid: 1,
            event: 0,
        }
    }

    #[test]
    fn overlay_splits() {
        let mut v = vec![r(0, 4096, 1)];
        overlay(&mut v, r(100, 50, 2));
        assert_eq!(v.len(), 3);
        assert_eq!(
            (v[0].off, v[0].len, v[1].value, v[2].off, v[2].len),
            (0, 100, 2, 150, 3946)
        );
        overlay(&mut v, r(0, 4096, 3));
        assert_eq!(v, vec![r(0, 4096, 3)]);
    }
}
