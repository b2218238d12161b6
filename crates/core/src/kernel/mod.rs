//! Tasks, the scheduler, IPIs, signals, exit, and the user/kernel boundary.

pub mod entry;
pub mod exit;
pub mod sched;
pub mod signal;
pub mod smp;
