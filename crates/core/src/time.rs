//! Simulated time. A `u64` count of nanoseconds since boot; never `std::time`.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Nanoseconds since the simulated machine booted.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub struct SimTime(pub u64);

pub const NSEC_PER_USEC: u64 = 1_000;
pub const NSEC_PER_MSEC: u64 = 1_000_000;
pub const NSEC_PER_SEC: u64 = 1_000_000_000;

impl SimTime {
    pub const ZERO: SimTime = SimTime(0);

    pub fn ns(self) -> u64 {
        self.0
    }

    pub fn after(self, ns: u64) -> SimTime {
        SimTime(self.0.saturating_add(ns))
    }

    pub fn since(self, earlier: SimTime) -> u64 {
        self.0.saturating_sub(earlier.0)
    }
}

impl fmt::Display for SimTime {
    /// dmesg style: seconds with microsecond precision, right-aligned.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let us = self.0 / NSEC_PER_USEC;
        write!(f, "{:5}.{:06}", us / 1_000_000, us % 1_000_000)
    }
}

/// Human form of a duration in nanoseconds ("212 µs", "1.05 s").
pub fn fmt_duration(ns: u64) -> String {
    if ns < NSEC_PER_USEC {
        format!("{ns} ns")
    } else if ns < NSEC_PER_MSEC {
        format!("{} µs", ns / NSEC_PER_USEC)
    } else if ns < NSEC_PER_SEC {
        format!(
            "{}.{:02} ms",
            ns / NSEC_PER_MSEC,
            (ns % NSEC_PER_MSEC) / 10_000
        )
    } else {
        format!(
            "{}.{:02} s",
            ns / NSEC_PER_SEC,
            (ns % NSEC_PER_SEC) / 10_000_000
        )
    }
}
