//! `do_exit`: `exit_signals` (PF_EXITING), `exit_mm` (which takes `mmap_sem` for
//! read in 4.13, and so can queue behind a writer), `mmput` → `exit_mmap` for the
//! last user, then `exit_notify`. From 4.14 (`reaper_mmget = false`), `exit_mmap`
//! of an OOM victim's mm sets `MMF_OOM_SKIP` and then takes and drops
//! `mmap_sem` for write, so that a reaper still unmapping finishes first.
//!
//! Not modelled: files, fs_struct, namespaces, the zombie/reap-by-parent dance
//! (a dead thread simply disappears).

use crate::costs;
use crate::kernel::entry::{locked_or_sleep, Fr};
use crate::kernel::sched::TaskState;
use crate::mm::memory::MmId;
use crate::mm::memory::{ZapCursor, MMF_OOM_SKIP, MMF_OOM_VICTIM};
use crate::sim::{Ret, Sim, Step, Tid, PF_EXITING, TIF_MEMDIE};
use crate::trace::TraceKind;

#[derive(Clone, Debug, Hash)]
pub(crate) struct ExitFrame {
    pub code: u32,
    pub phase: ExitPhase,
    pub mm: MmId,
    pub cursor: ZapCursor,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[allow(clippy::enum_variant_names)] // kernel names: exit_signals, exit_mm, exit_mmap, exit_notify
pub(crate) enum ExitPhase {
    ExitSignals,
    ExitMm,
    ExitMmLocked,
    /// 4.14+: `set_bit(MMF_OOM_SKIP)`, then `down_write(&mm->mmap_sem)`.
    ExitMmapOomSync,
    /// ... and `up_write`.
    ExitMmapOomLocked,
    ExitMmap,
    ExitNotify,
}

impl ExitFrame {
    pub(crate) fn new(code: u32) -> ExitFrame {
        ExitFrame {
            code,
            phase: ExitPhase::ExitSignals,
            mm: MmId(0),
            cursor: ZapCursor::START,
        }
    }
}

impl Sim {
    /// The end of `exit_mmap` (from the last `mmput`, or the reaper's
    /// `mmput_async`): the mm is gone and never again a reaper's target.
    pub(crate) fn exit_mmap_done(&mut self, tid: Tid, mm: MmId, msg: &'static str) {
        let m = &mut self.mms[mm];
        m.flags |= MMF_OOM_SKIP;
        m.dead = true;
        self.tr(tid, "__mmput", TraceKind::Exit, msg.into());
    }

    /// `exit_mm`'s last step: 4.13 clears `TIF_MEMDIE` after `mmput`, so
    /// the last user keeps it through `exit_mmap`.
    fn exit_oom_victim(&mut self, tid: Tid) {
        if self.tasks[tid].tif & TIF_MEMDIE != 0 {
            self.tasks[tid].tif &= !TIF_MEMDIE;
            self.tr(
                tid,
                "exit_oom_victim",
                TraceKind::Oom,
                "TIF_MEMDIE cleared".into(),
            );
        }
    }

    pub(crate) fn step_exit(&mut self, tid: Tid, f: &mut ExitFrame) -> Fr {
        match f.phase {
            ExitPhase::ExitSignals => {
                self.tasks[tid].flags |= PF_EXITING;
                self.tr(
                    tid,
                    "do_exit",
                    TraceKind::Exit,
                    format!("code {} PF_EXITING", f.code),
                );
                f.phase = ExitPhase::ExitMm;
                Fr::Stay(Step::Busy(costs::EXIT_SIGNALS_NS))
            }
            ExitPhase::ExitMm => {
                let Some(mm) = self.tasks[tid].mm else {
                    f.phase = ExitPhase::ExitNotify;
                    return Fr::Stay(Step::Busy(costs::EXIT_STEP_NS));
                };
                f.mm = mm;
                f.phase = ExitPhase::ExitMmLocked;
                locked_or_sleep(self.down_read(mm, tid), costs::EXIT_MM_LOCK_NS)
            }
            ExitPhase::ExitMmLocked => {
                let mm = f.mm;
                self.tasks[tid].mm = None;
                self.up_read(mm, tid);
                let m = &mut self.mms[mm];
                m.users -= 1;
                let users = m.users;
                self.tr(
                    tid,
                    "exit_mm",
                    TraceKind::Exit,
                    format!("mm_users now {users}"),
                );
                if users == 0 {
                    let victim = self.mms[mm].flags & MMF_OOM_VICTIM != 0;
                    f.phase = if victim && !self.toggles.reaper_mmget {
                        ExitPhase::ExitMmapOomSync
                    } else {
                        ExitPhase::ExitMmap
                    };
                    f.cursor = ZapCursor::START;
                    self.tr(
                        tid,
                        "exit_mmap",
                        TraceKind::Exit,
                        "last user: tearing down the address space".into(),
                    );
                } else {
                    self.exit_oom_victim(tid);
                    f.phase = ExitPhase::ExitNotify;
                }
                Fr::Stay(Step::Busy(costs::EXIT_MM_NS))
            }
            ExitPhase::ExitMmapOomSync => {
                // "Wait for oom_reap_task() to stop working on this mm."
                self.mms[f.mm].flags |= MMF_OOM_SKIP;
                f.phase = ExitPhase::ExitMmapOomLocked;
                locked_or_sleep(self.down_write(f.mm, tid), costs::EXIT_MM_LOCK_NS)
            }
            ExitPhase::ExitMmapOomLocked => {
                self.up_write(f.mm, tid);
                f.phase = ExitPhase::ExitMmap;
                Fr::Stay(Step::Busy(costs::EXIT_MM_LOCK_NS))
            }
            ExitPhase::ExitMmap => {
                let (_, done, cost) = self.zap_mm_batch(f.mm, &mut f.cursor, true);
                if done {
                    self.exit_mmap_done(tid, f.mm, "exit_mmap done, MMF_OOM_SKIP set");
                    self.exit_oom_victim(tid);
                    f.phase = ExitPhase::ExitNotify;
                }
                Fr::Stay(Step::Busy(cost))
            }
            ExitPhase::ExitNotify => {
                let t = &mut self.tasks[tid];
                t.state = TaskState::Dead;
                t.frames.clear();
                let sig = t.sig as usize;
                self.signals[sig].live -= 1;
                let left = self.signals[sig].live;
                self.tr(
                    tid,
                    "exit_notify",
                    TraceKind::Exit,
                    format!("dead ({left} threads left in group)"),
                );
                self.progress();
                Fr::Done(Ret::None, Step::Dead)
            }
        }
    }
}
