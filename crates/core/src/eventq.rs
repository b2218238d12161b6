//! The simulator's event queue, ordered by (time, sequence number).
//!
//! Nearly every event is a CPU finishing its current step (`CpuStep`: 99% of
//! an R1 run's 158,833 events), and a CPU has at most one such step live at a
//! time. So each CPU keeps its pending step in a slot of its own, and only the
//! rest (ticks, IPIs, timers, the disk, a crash, and the rare second
//! `CpuStep` of a CPU whose step was cut short) goes through a binary heap.
//! `pop` takes the least (time, sequence) over the heap's top and the slots,
//! which is the order a single heap gives: the sequence number is unique, so
//! no two entries compare equal and the split changes nothing a run does.

use crate::sim::Event;
use crate::time::SimTime;
use std::cmp::Reverse;
use std::collections::BinaryHeap;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct QEntry {
    pub(crate) t: SimTime,
    pub(crate) seq: u64,
    pub(crate) ev: Event,
}

/// An empty slot's key: after every real one.
const FREE: u128 = u128::MAX;

#[derive(Clone, Debug, Default)]
pub(crate) struct EventQueue {
    heap: BinaryHeap<Reverse<QEntry>>,
    /// Per CPU, the (time, sequence) key of its pending `CpuStep` packed into
    /// one integer, so that finding the least is a scan of a few words; `FREE`
    /// when none is pending. The earliest pushed while the slot was free
    /// lives here; any later one waits in the heap.
    keys: Vec<u128>,
    /// The slots' events, valid where the key is not `FREE`.
    evs: Vec<Event>,
}

fn pack(t: SimTime, seq: u64) -> u128 {
    (u128::from(t.0) << 64) | u128::from(seq)
}

impl EventQueue {
    pub(crate) fn push(&mut self, e: QEntry) {
        if let Event::CpuStep { cpu, .. } = e.ev {
            let cpu = cpu as usize;
            if cpu >= self.keys.len() {
                self.keys.resize(cpu + 1, FREE);
                self.evs.resize(cpu + 1, e.ev);
            }
            if self.keys[cpu] == FREE {
                self.keys[cpu] = pack(e.t, e.seq);
                self.evs[cpu] = e.ev;
                return;
            }
        }
        self.heap.push(Reverse(e));
    }

    fn slot(&self, i: usize) -> QEntry {
        let k = self.keys[i];
        QEntry {
            t: SimTime((k >> 64) as u64),
            seq: k as u64,
            ev: self.evs[i],
        }
    }

    /// Where the next entry is: `Some(slot)`, or `None` for the heap's top.
    fn next_at(&self) -> Option<Option<usize>> {
        let (mut i, mut least) = (0, FREE);
        for (j, &k) in self.keys.iter().enumerate() {
            if k < least {
                (i, least) = (j, k);
            }
        }
        match self.heap.peek() {
            Some(Reverse(h)) if pack(h.t, h.seq) < least => Some(None),
            _ if least != FREE => Some(Some(i)),
            Some(_) => Some(None),
            None => None,
        }
    }

    pub(crate) fn peek(&self) -> Option<QEntry> {
        match self.next_at()? {
            Some(i) => Some(self.slot(i)),
            None => self.heap.peek().map(|Reverse(e)| *e),
        }
    }

    pub(crate) fn pop(&mut self) -> Option<QEntry> {
        match self.next_at()? {
            Some(i) => {
                let e = self.slot(i);
                self.keys[i] = FREE;
                Some(e)
            }
            None => self.heap.pop().map(|Reverse(e)| e),
        }
    }

    /// Every pending entry, in no particular order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = QEntry> + '_ {
        (0..self.keys.len())
            .filter(|&i| self.keys[i] != FREE)
            .map(|i| self.slot(i))
            .chain(self.heap.iter().map(|Reverse(e)| *e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Rng;

    /// Against a single heap, on a random mix that includes second steps of
    /// one CPU and ties in time (broken by the sequence number).
    #[test]
    fn pops_in_the_order_of_a_single_heap() {
        let mut rng = Rng::new(7);
        let mut q = EventQueue::default();
        let mut reference = BinaryHeap::new();
        let (mut seq, mut popped, mut doubles) = (0u64, 0, 0);
        let mut now = 0u64;
        for _ in 0..20_000 {
            if rng.below(3) > 0 || reference.is_empty() {
                seq += 1;
                let t = SimTime(now + u64::from(rng.below(50)));
                let ev = if rng.below(4) == 0 {
                    Event::Tick { cpu: rng.below(4) }
                } else {
                    Event::CpuStep {
                        cpu: rng.below(4),
                        gen: seq,
                    }
                };
                let e = QEntry { t, seq, ev };
                if let Event::CpuStep { cpu, .. } = ev {
                    doubles += usize::from(q.keys.get(cpu as usize).is_some_and(|&k| k != FREE));
                }
                q.push(e);
                reference.push(Reverse(e));
            } else {
                let Reverse(want) = reference.pop().expect("not empty");
                assert_eq!(q.peek(), Some(want));
                assert_eq!(q.pop(), Some(want));
                now = want.t.0;
                popped += 1;
            }
            assert_eq!(q.iter().count(), reference.len());
        }
        assert!(popped > 5_000 && doubles > 1_000, "{popped} {doubles}");
    }
}
