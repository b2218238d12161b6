//! `dmesg` as a kernel engineer would paste it into a bug report: only the
//! lines 4.13 prints with printk, each as `[%5lu.%06lu] ` and the message,
//! with no `cpuN comm/pid func:` prefix (that stays in the text export).
//!
//! The run is replayed step by step, and the blocks the kernel prints from
//! its own state are rendered from the replayed `Sim` at the step that
//! printed them (4.13 mm/oom_kill.c, mm/page_alloc.c, lib/show_mem.c):
//! - `dump_header` before "Out of memory: Kill process" (under
//!   `oom_kill_process`'s ratelimit of 10 per 5 s) and before the
//!   no-killable-processes panic: "invoked oom-killer", the cpuset line,
//!   `dump_stack`, `show_mem`'s Mem-Info and `dump_tasks`' table;
//! - `warn_alloc`'s "page allocation stalls for %ums" once a slow-path
//!   allocation is 10 s old at its retry check, then every further 10 s;
//! - the OOM killer's and the reaper's own lines and the panic.
//!
//! Not modelled: stack offsets and addresses (the call trace names the
//! functions only), per-node and per-zone lines of `show_free_areas` (the
//! model has one zone), the active/inactive LRU split (anon pages count as
//! active, file pages as inactive), per-CPU page lists (`free_pcp` is 0),
//! uids (0), and filesystem messages (in the text export).

use super::chrome::entry_of;
use crate::mm::page_alloc::PageKind;
use crate::sim::{Frame, Sim, Task};
use crate::trace::TraceRecord;
use crate::{ChoiceSource, ValidScenario};
use std::fmt::Write;

/// `DEFAULT_RATELIMIT_INTERVAL` (5 * HZ) and `DEFAULT_RATELIMIT_BURST`.
const RATELIMIT_INTERVAL_NS: u64 = 5_000_000_000;
const RATELIMIT_BURST: u32 = 10;
/// `__alloc_pages_slowpath`'s first `stall_timeout` (10 * HZ), and its step.
const STALL_TIMEOUT_NS: u64 = 10_000_000_000;

/// `___ratelimit`: at most `RATELIMIT_BURST` in an interval, and the count
/// of the suppressed ones said when the next interval opens.
#[derive(Default)]
struct Ratelimit {
    begin: Option<u64>,
    printed: u32,
    missed: u32,
}

impl Ratelimit {
    fn allow(&mut self, now: u64, func: &str, out: &mut Out) -> bool {
        let begin = *self.begin.get_or_insert(now);
        if now > begin + RATELIMIT_INTERVAL_NS {
            if self.missed > 0 {
                out.line(
                    now,
                    &format!("{func}: {} callbacks suppressed", self.missed),
                );
            }
            self.begin = Some(now);
            self.printed = 0;
            self.missed = 0;
        }
        if self.printed < RATELIMIT_BURST {
            self.printed += 1;
            true
        } else {
            self.missed += 1;
            false
        }
    }
}

struct Out(String);

impl Out {
    fn line(&mut self, t: u64, msg: &str) {
        let _ = writeln!(
            self.0,
            "[{}] {msg}",
            crate::time::SimTime(t).dmesg().as_str()
        );
    }
}

/// Where a task's slow-path allocation stands for `warn_alloc`: when it
/// started, when it next warns, and whether this retry check was seen.
#[derive(Clone, Copy)]
struct Stall {
    start: u64,
    next: u64,
    checked: bool,
}

/// Replays the run and prints what 4.13's printk would have.
pub fn dmesg(sc: &ValidScenario, source: ChoiceSource) -> String {
    let mut sim = Sim::new(sc, source);
    let mut out = Out(String::new());
    let mut oom_rs = Ratelimit::default();
    let mut nopage_rs = Ratelimit::default();
    let mut stalls: Vec<Option<Stall>> = Vec::new();
    let mut done = 0;
    loop {
        let more = sim.step();
        let recs: Vec<TraceRecord> = sim.trace().get(done..).unwrap_or(&[]).to_vec();
        done = sim.trace().len();
        let now = sim.now().0;
        for r in &recs {
            printk(&sim, r, &mut out, &mut oom_rs);
        }
        stalls.resize(sim.tasks.len(), None);
        for (i, t) in sim.tasks.iter().enumerate() {
            let Some(a) = slow_alloc(t) else {
                stalls[i] = None;
                continue;
            };
            let s = stalls[i].get_or_insert(Stall {
                start: now,
                next: now + STALL_TIMEOUT_NS,
                checked: false,
            });
            // The check sits just before should_reclaim_retry.
            if !a.after_reclaim() {
                s.checked = false;
                continue;
            }
            if s.checked {
                continue;
            }
            s.checked = true;
            if now > s.next {
                let ms = (now - s.start) / 1_000_000;
                s.next += STALL_TIMEOUT_NS;
                if nopage_rs.allow(now, "warn_alloc", &mut out) {
                    let (mask, names) = a.gfp_mask();
                    out.line(
                        now,
                        &format!(
                            "{}: page allocation stalls for {ms}ms, order:0, mode:{mask:#x}({names}), nodemask=(null)",
                            t.comm
                        ),
                    );
                    let stack = ["dump_stack", "warn_alloc"];
                    cpuset_and_stack(&sim, t, t.cpu, &stack, now, &mut out);
                    show_mem(&sim, now, &mut out);
                }
            }
        }
        if !more {
            break;
        }
    }
    out.0
}

/// The allocation frame of a task in the slow path, if any.
fn slow_alloc(t: &Task) -> Option<&crate::mm::page_alloc::AllocFrame> {
    t.frames.iter().rev().find_map(|f| match f {
        Frame::Alloc(a) if !a.slow_path_stages().is_empty() => Some(a),
        _ => None,
    })
}

/// One trace record as printk printed it, if the kernel prints it.
fn printk(sim: &Sim, r: &TraceRecord, out: &mut Out, oom_rs: &mut Ratelimit) {
    let t = r.t.0;
    let msg = r.msg.as_str();
    if r.func == "oom_kill_process" && msg.starts_with("Out of memory: Kill process") {
        if oom_rs.allow(t, "oom_kill_process", out) {
            dump_header(
                sim,
                r,
                &["dump_stack", "dump_header", "oom_kill_process"],
                out,
            );
        }
        out.line(t, msg);
    } else if r.func == "out_of_memory" && msg.starts_with("Kernel panic - not syncing: ") {
        dump_header(sim, r, &["dump_stack", "dump_header"], out);
        out.line(t, msg);
        if let Some(task) = current(sim, r) {
            cpu_line(sim, task, r.cpu.unwrap_or(task.cpu), t, out);
        }
        let why = msg.trim_start_matches("Kernel panic - not syncing: ");
        out.line(t, &format!("---[ end Kernel panic - not syncing: {why}"));
    } else if (r.func == "oom_kill_process" && msg.starts_with("Killed process "))
        || msg.starts_with("oom_reaper: ")
    {
        out.line(t, msg);
    }
}

fn current<'a>(sim: &'a Sim, r: &TraceRecord) -> Option<&'a Task> {
    let pid = r.pid?;
    sim.tasks.iter().find(|t| t.pid == pid)
}

/// `dump_header`: who invoked the OOM killer and with what, its stack,
/// `show_mem` and `dump_tasks`.
fn dump_header(sim: &Sim, r: &TraceRecord, top: &[&str], out: &mut Out) {
    let t = r.t.0;
    let Some(task) = current(sim, r) else {
        return;
    };
    let (mask, names) = task
        .frames
        .iter()
        .rev()
        .find_map(|f| match f {
            Frame::Alloc(a) => Some(a.gfp_mask()),
            _ => None,
        })
        .unwrap_or((0, String::new()));
    let adj = sim.signals[task.sig as usize].oom_score_adj;
    out.line(
        t,
        &format!(
            "{} invoked oom-killer: gfp_mask={mask:#x}({names}), nodemask=(null),  order=0, oom_score_adj={adj}",
            task.comm
        ),
    );
    cpuset_and_stack(sim, task, r.cpu.unwrap_or(task.cpu), top, t, out);
    show_mem(sim, t, out);
    dump_tasks(sim, t, out);
}

fn cpu_line(sim: &Sim, task: &Task, cpu: u32, t: u64, out: &mut Out) {
    out.line(
        t,
        &format!(
            "CPU: {cpu} PID: {} Comm: {:.20} Not tainted {} #1",
            task.pid, task.comm, sim.sc.scenario.kernel.preset
        ),
    );
}

/// `cpuset_print_current_mems_allowed` and `dump_stack`: innermost first,
/// function names only.
fn cpuset_and_stack(sim: &Sim, task: &Task, cpu: u32, top: &[&str], t: u64, out: &mut Out) {
    out.line(t, &format!("{} cpuset=/ mems_allowed=0", task.comm));
    cpu_line(sim, task, cpu, t, out);
    out.line(t, "Hardware name: oomlab simulated machine");
    out.line(t, "Call Trace:");
    let mut stack: Vec<&str> = Vec::new();
    if task.kthread.is_none() {
        stack.push(entry_of(task));
    }
    for f in &task.frames {
        stack.push(f.name());
        if let Frame::Alloc(a) = f {
            stack.extend(a.slow_path_stages());
        }
    }
    stack.extend(top.iter().rev());
    for f in stack.iter().rev() {
        out.line(t, &format!(" {f}"));
    }
}

/// `show_mem` with `show_free_areas`' summary, in 4.13's format.
fn show_mem(sim: &Sim, t: u64, out: &mut Out) {
    let m = &sim.mem;
    let anon = m.count_kind(PageKind::Anon);
    let shmem = m.count_kind(PageKind::Shmem);
    let file = m.count_kind(PageKind::PageCache);
    let pagetables: u64 = sim
        .mms
        .iter()
        .filter(|mm| !mm.dead)
        .map(|mm| page_tables(mm).0)
        .sum();
    out.line(t, "Mem-Info:");
    out.line(
        t,
        &format!("active_anon:{anon} inactive_anon:0 isolated_anon:0"),
    );
    out.line(
        t,
        &format!(" active_file:0 inactive_file:{file} isolated_file:0"),
    );
    out.line(
        t,
        &format!(
            " unevictable:0 dirty:{} writeback:{} unstable:0",
            m.nr_dirty, m.nr_writeback
        ),
    );
    out.line(
        t,
        &format!(
            " slab_reclaimable:{} slab_unreclaimable:0",
            m.count_kind(PageKind::Slab)
        ),
    );
    out.line(
        t,
        &format!(" mapped:0 shmem:{shmem} pagetables:{pagetables} bounce:0"),
    );
    out.line(t, &format!(" free:{} free_pcp:0 free_cma:0", m.nr_free()));
    out.line(t, &format!("{} total pagecache pages", file + shmem));
    out.line(t, "0 pages in swap cache");
    out.line(t, "Swap cache stats: add 0, delete 0, find 0/0");
    out.line(t, "Free swap  = 0kB");
    out.line(t, "Total swap = 0kB");
    out.line(t, &format!("{} pages RAM", sim.sc.managed_pages));
    out.line(t, "0 pages HighMem/MovableOnly");
    out.line(
        t,
        &format!("{} pages reserved", sim.sc.kernel_reserved_pages),
    );
    out.line(t, "0 pages hwpoisoned");
}

/// PTE pages and PMD pages an mm has: a PTE page per 2 MiB and a PMD page
/// per 1 GiB that holds a mapped page now (the model does not keep empty
/// tables).
fn page_tables(mm: &crate::mm::memory::Mm) -> (u64, u64) {
    let mut ptes = std::collections::BTreeSet::new();
    for v in &mm.vmas {
        for (i, p) in v.ptes.iter().enumerate() {
            if !matches!(p, crate::mm::memory::Pte::None) {
                ptes.insert((v.start + i as u64 * crate::scenario::PAGE_SIZE) >> 21);
            }
        }
    }
    let pmds: std::collections::BTreeSet<u64> = ptes.iter().map(|p| p >> 9).collect();
    (ptes.len() as u64, pmds.len() as u64)
}

/// `dump_tasks`: one line per process that still has an mm.
fn dump_tasks(sim: &Sim, t: u64, out: &mut Out) {
    out.line(
        t,
        "[ pid ]   uid  tgid total_vm      rss nr_ptes nr_pmds swapents oom_score_adj name",
    );
    for s in &sim.signals {
        // find_lock_task_mm: the first thread that still has an mm.
        let Some(task) = s
            .threads
            .iter()
            .map(|t| &sim.tasks[*t])
            .find(|t| t.mm.is_some() && t.kthread.is_none())
        else {
            continue;
        };
        let mm = &sim.mms[task.mm.expect("has an mm")];
        let total_vm: u64 =
            mm.vmas.iter().map(|v| v.end - v.start).sum::<u64>() / crate::scenario::PAGE_SIZE;
        let rss = mm.rss_anon + mm.rss_file + mm.rss_shmem;
        let (ptes, pmds) = page_tables(mm);
        out.line(
            t,
            &format!(
                "[{:5}] {:5} {:5} {:8} {:8} {:7} {:7} {:8}         {:5} {}",
                task.pid, 0, s.tgid, total_vm, rss, ptes, pmds, 0, s.oom_score_adj, task.comm
            ),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `___ratelimit`: ten in an interval, the rest counted, and the count
    /// said when the next interval opens.
    #[test]
    fn ratelimit_lets_ten_through_per_interval_and_says_how_many_it_held() {
        let mut rs = Ratelimit::default();
        let mut out = Out(String::new());
        let passed = (0..15)
            .filter(|i| rs.allow(*i * 1000, "oom_kill_process", &mut out))
            .count();
        assert_eq!(passed, 10);
        assert!(out.0.is_empty());
        assert!(rs.allow(RATELIMIT_INTERVAL_NS + 20_000, "oom_kill_process", &mut out));
        assert_eq!(
            out.0,
            "[    5.000020] oom_kill_process: 5 callbacks suppressed\n"
        );
    }
}
