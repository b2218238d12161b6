//! Memory management: address spaces and faults, the page allocator, reclaim,
//! the XFS inode shrinker and its log, khugepaged, and the OOM killer with its
//! reaper.

pub mod khugepaged;
pub mod memory;
pub mod oom_kill;
pub mod page_alloc;
pub mod shrinker;
pub mod vmscan;
