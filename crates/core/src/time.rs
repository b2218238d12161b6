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
        f.write_str(self.dmesg().as_str())
    }
}

/// A formatted time stamp: at most 20 digits of seconds, a dot and six of
/// microseconds.
pub(crate) struct Stamp {
    buf: [u8; 28],
    start: usize,
}

impl Stamp {
    pub(crate) fn as_str(&self) -> &str {
        // Only ASCII digits, spaces and a dot are ever written.
        std::str::from_utf8(&self.buf[self.start..]).unwrap_or("")
    }
}

impl SimTime {
    /// `{:5}.{:06}` of seconds and microseconds, without the formatting
    /// machinery: every trace record's time goes through here (and through
    /// the trace hash), so it is the simulator's hottest formatting.
    pub(crate) fn dmesg(self) -> Stamp {
        let us = self.0 / NSEC_PER_USEC;
        let (mut secs, mut frac) = (us / 1_000_000, us % 1_000_000);
        let mut buf = [b' '; 28];
        let mut i = buf.len();
        for _ in 0..6 {
            i -= 1;
            buf[i] = b'0' + (frac % 10) as u8;
            frac /= 10;
        }
        i -= 1;
        buf[i] = b'.';
        let dot = i;
        loop {
            i -= 1;
            buf[i] = b'0' + (secs % 10) as u8;
            secs /= 10;
            if secs == 0 {
                break;
            }
        }
        Stamp {
            buf,
            start: i.min(dot - 5),
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dmesg_stamps_are_the_formatted_ones() {
        for ns in [
            0,
            999,
            1_000,
            7_123_456,
            999_999_999,
            1_000_000_000,
            12_345_678_901_234,
            99_999_999_999_999,
            100_000_000_000_000,
            u64::MAX,
        ] {
            let us = ns / NSEC_PER_USEC;
            let want = format!("{:5}.{:06}", us / 1_000_000, us % 1_000_000);
            assert_eq!(SimTime(ns).to_string(), want, "{ns}");
        }
    }
}
