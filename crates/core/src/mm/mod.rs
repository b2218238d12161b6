//! Memory management: address spaces and faults, the page allocator, reclaim,
//! and the OOM killer with its reaper.

pub mod memory;
pub mod oom_kill;
pub mod page_alloc;
pub mod vmscan;
