//! Writeback: a flusher thread that cleans dirty page-cache pages at the disk's
//! bandwidth, and `balance_dirty_pages` throttling writers above the dirty
//! threshold (sleeping in TASK_KILLABLE).
//!
//! Not modelled here: `dirty_expire_interval` ageing (the flusher cleans
//! oldest-first whenever there is dirty data above the background threshold or
//! older than the writeback interval), per-bdi bandwidth estimation, and memory
//! allocation on the writeback path.

use crate::kernel::entry::Fr;
use crate::kernel::sched::TaskState;
use crate::scenario::PAGE_SIZE;
use crate::sim::*;
use crate::trace::TraceKind;

const WB_BATCH: usize = 16;

#[derive(Clone, Debug, Default)]
pub(crate) struct FlusherFrame {
    inflight: Vec<(u32, u64)>,
}

impl Sim {
    fn dirty_thresholds(&self) -> (u64, u64) {
        // Available memory for the ratios: free + reclaimable + dirty.
        let avail = self.mem.nr_free() + self.mem.nr_reclaimable() + self.mem.dirty.len() as u64;
        let m = &self.sc.scenario.machine;
        (
            avail * u64::from(m.dirty_background_ratio) / 100,
            avail * u64::from(m.dirty_ratio) / 100,
        )
    }

    pub(crate) fn wakeup_flusher(&mut self, by: Tid) {
        let f = self.flusher_tid;
        self.wake_up_queue(f, "wb_wait_for_work", by);
    }

    pub(crate) fn step_balance_dirty(&mut self, tid: Tid, waited: &mut bool) -> Fr {
        let (bg, thresh) = self.dirty_thresholds();
        let dirty = self.mem.dirty.len() as u64;
        if dirty > bg {
            self.wakeup_flusher(tid);
        }
        if dirty <= thresh || (*waited && self.fatal_signal_pending(tid)) {
            return Fr::Done(Ret::None, Step::Busy(100));
        }
        if !*waited {
            self.tr(
                tid,
                "balance_dirty_pages",
                TraceKind::Writeback,
                format!("dirty {dirty} > thresh {thresh}: throttle"),
            );
        }
        *waited = true;
        let pause = self.tick_ns;
        self.sleep_task(tid, TaskState::Killable, Some(pause), "balance_dirty_pages");
        Fr::Stay(Step::Sleep)
    }

    pub(crate) fn step_flusher(&mut self, tid: Tid, f: &mut FlusherFrame) -> Fr {
        // Complete the batch in flight: its pages become clean and reclaimable.
        let n = f.inflight.len();
        for (ino, index) in f.inflight.drain(..) {
            let inode = &mut self.inodes[ino as usize];
            if let Some(p) = inode.pages.get_mut(&index) {
                if p.dirty {
                    p.dirty = false;
                    inode.disk.insert(index, p.runs.clone());
                    self.mem.clean_lru.push_back((ino, index));
                }
            }
        }
        if n > 0 {
            self.progress();
            self.tr(
                tid,
                "end_page_writeback",
                TraceKind::Writeback,
                format!("{n} pages clean"),
            );
        }
        let (bg, _) = self.dirty_thresholds();
        let dirty = self.mem.dirty.len() as u64;
        if dirty == 0 || (dirty <= bg / 2 && n == 0 && !self.wb_vmscan) {
            self.wb_vmscan = false;
            self.sleep_task(tid, TaskState::Interruptible, None, "wb_wait_for_work");
            return Fr::Stay(Step::Sleep);
        }
        while f.inflight.len() < WB_BATCH {
            let Some(x) = self.mem.dirty.pop_front() else {
                break;
            };
            f.inflight.push(x);
        }
        let bytes = f.inflight.len() as u64 * PAGE_SIZE;
        let bw = self.sc.scenario.machine.disk_bandwidth.0.max(1);
        let ns = bytes * 1_000_000_000 / bw;
        self.tr(
            tid,
            "__writeback_single_inode",
            TraceKind::Writeback,
            format!("{} pages submitted", f.inflight.len()),
        );
        // The I/O runs on the device; the flusher waits for it off the CPU.
        self.sleep_task(
            tid,
            TaskState::Uninterruptible,
            Some(ns.max(1_000)),
            "wb_wait_for_completion",
        );
        Fr::Stay(Step::Sleep)
    }
}
