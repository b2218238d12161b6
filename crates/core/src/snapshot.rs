//! Point-in-time views of a `Sim` for the front ends and the step-through.
//! They are read only; nothing in the model depends on them.

use crate::fs::FileSnap;
use crate::kernel::sched::TaskState;
use crate::mm::memory::MmSnap;
use crate::scenario::Watermarks;
use crate::sim::{Mode, Sim};
use crate::time::SimTime;
use serde::Serialize;

/// A point-in-time view for the UI.
#[derive(Clone, Debug, Serialize)]
pub struct Snapshot {
    pub t: SimTime,
    pub steps: u64,
    pub free_pages: u64,
    pub watermarks: Watermarks,
    pub cpus: Vec<CpuSnap>,
    pub tasks: Vec<TaskSnap>,
    pub mms: Vec<MmSnap>,
    pub files: Vec<FileSnap>,
}

#[derive(Clone, Debug, Serialize)]
pub struct CpuSnap {
    pub id: u32,
    pub curr: Option<u32>,
    pub runqueue: Vec<u32>,
    pub paused: bool,
}

#[derive(Clone, Debug, Serialize)]
pub struct TaskSnap {
    pub pid: u32,
    pub tgid: u32,
    pub comm: String,
    pub state: TaskState,
    pub mode: Mode,
    pub cpu: u32,
    pub on_cpu: bool,
    pub flags: Vec<&'static str>,
    pub blocked_on: Option<&'static str>,
    pub kernel_stack: Vec<&'static str>,
}

impl Sim {
    pub fn snapshot(&self) -> Snapshot {
        Snapshot {
            t: self.now,
            steps: self.steps,
            free_pages: self.mem.nr_free(),
            watermarks: self.sc.watermarks,
            cpus: self
                .cpus
                .iter()
                .map(|c| CpuSnap {
                    id: c.id,
                    curr: c.curr.map(|t| self.tasks[t].pid),
                    runqueue: c.rq.iter().map(|t| self.tasks[*t].pid).collect(),
                    paused: c.paused_until.is_some(),
                })
                .collect(),
            tasks: self.tasks.iter().map(|t| t.snap()).collect(),
            mms: self
                .mms
                .iter()
                .map(|m| m.snap(self.toggles.reap_mlocked))
                .collect(),
            files: self.inodes.iter().map(|i| i.snap()).collect(),
        }
    }
}
