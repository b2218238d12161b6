//! The ids of the model's tables: a task, an address space, a file and a
//! page frame. Each is a newtype over the `u32` index into its own table, so
//! one cannot be used for another; each hashes, prints and serializes as the
//! bare `u32`, so traces, state hashes and JSON read as they did before.

use serde::Serialize;

/// A task's index in `Sim::tasks` (not its pid, which the trace shows).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct Tid(pub u32);

impl Tid {
    pub fn index(self) -> usize {
        self.0 as usize
    }

    pub fn from_index(i: usize) -> Tid {
        Tid(i as u32)
    }
}

impl std::fmt::Debug for Tid {
    // As the bare index, so that debug output reads as it did.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::fmt::Display for Tid {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::ops::Index<Tid> for Vec<crate::sim::Task> {
    type Output = crate::sim::Task;
    fn index(&self, t: Tid) -> &crate::sim::Task {
        &self[t.index()]
    }
}

impl std::ops::IndexMut<Tid> for Vec<crate::sim::Task> {
    fn index_mut(&mut self, t: Tid) -> &mut crate::sim::Task {
        &mut self[t.index()]
    }
}

/// An address space's index in `Sim::mms`.
// `Default` (mm 0) is for frames that have not looked their mm up yet: they
// always set it before use.
#[derive(
    Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, serde::Deserialize,
)]
#[serde(transparent)]
pub struct MmId(pub u32);

impl MmId {
    pub fn index(self) -> usize {
        self.0 as usize
    }

    pub fn from_index(i: usize) -> MmId {
        MmId(i as u32)
    }
}

impl std::fmt::Debug for MmId {
    // As the bare index, so that debug output reads as it did.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::fmt::Display for MmId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::ops::Index<MmId> for Vec<crate::mm::memory::Mm> {
    type Output = crate::mm::memory::Mm;
    fn index(&self, m: MmId) -> &crate::mm::memory::Mm {
        &self[m.index()]
    }
}

impl std::ops::IndexMut<MmId> for Vec<crate::mm::memory::Mm> {
    fn index_mut(&mut self, m: MmId) -> &mut crate::mm::memory::Mm {
        &mut self[m.index()]
    }
}

/// A file's index in `Sim::inodes` (its VFS inode, not an XFS inode-cache
/// object).
#[derive(
    Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, serde::Deserialize,
)]
#[serde(transparent)]
pub struct InodeId(pub u32);

impl InodeId {
    pub fn index(self) -> usize {
        self.0 as usize
    }

    pub fn from_index(i: usize) -> InodeId {
        InodeId(i as u32)
    }
}

impl std::fmt::Debug for InodeId {
    // As the bare index, so that debug output reads as it did.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::fmt::Display for InodeId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::ops::Index<InodeId> for Vec<crate::fs::Inode> {
    type Output = crate::fs::Inode;
    fn index(&self, i: InodeId) -> &crate::fs::Inode {
        &self[i.index()]
    }
}

impl std::ops::IndexMut<InodeId> for Vec<crate::fs::Inode> {
    fn index_mut(&mut self, i: InodeId) -> &mut crate::fs::Inode {
        &mut self[i.index()]
    }
}

/// A page frame number: an index into physical memory's per-page arrays.
#[derive(
    Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, serde::Deserialize,
)]
#[serde(transparent)]
pub struct Pfn(pub u32);

impl Pfn {
    pub fn index(self) -> usize {
        self.0 as usize
    }

    pub fn from_index(i: usize) -> Pfn {
        Pfn(i as u32)
    }
}

impl std::fmt::Debug for Pfn {
    // As the bare number, so that debug output reads as it did.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::fmt::Display for Pfn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

// Any per-page array is indexed by page frame.
impl<T> std::ops::Index<Pfn> for Vec<T> {
    type Output = T;
    fn index(&self, p: Pfn) -> &T {
        &self[p.index()]
    }
}

impl<T> std::ops::IndexMut<Pfn> for Vec<T> {
    fn index_mut(&mut self, p: Pfn) -> &mut T {
        &mut self[p.index()]
    }
}
