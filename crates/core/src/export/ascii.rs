//! The race as kernel commit messages draw it: a column per CPU, time
//! downward, at most 80 columns, and only what takes part in the race: the
//! killer, the OOM reaper, and the victim's threads that copied or faulted
//! after the kill (those closest to the evidence first, as many as fit in
//! four CPU columns).
//!
//! Rows run from each of those threads' last copy or fault before the kill
//! to the last evidence (the first bad copy, or else the last SIGBUS, reap
//! give-up or user instruction after the reap). A row's text starts in its
//! CPU's column and, since a row holds one step, may run on to the right
//! margin; longer text wraps onto lines of its own below. Locking, the
//! scheduler, reclaim and writeback are left out: they set the timing, but
//! the diagram shows the steps that decide the outcome.

use crate::outcome::RunResult;
use crate::trace::TraceRecord;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;

/// The email width.
pub const WIDTH: usize = 80;
/// `0.312017` and a space.
const TIME_W: usize = 10;
const MAX_CPUS: usize = 4;
const MAX_RACERS: usize = 3;

/// The trace index the diagram ends at: the first bad copy, or else the
/// latest SIGBUS of the fix, reaper give-up or user step after the reap.
pub fn last_evidence(r: &RunResult) -> Option<u64> {
    if let Some(b) = r.first_bad() {
        return Some(b.event);
    }
    let fix = r.fix_engaged.iter().map(|e| e.event);
    let gave = r.reaper_gave_up.iter().map(|e| e.event);
    let user = r.user_ran_after_reap.iter().map(|e| e.event);
    fix.chain(gave).chain(user).max()
}

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Role {
    Killer,
    Reaper,
    Victim,
}

/// The steps each role shows.
fn shown(role: Role, r: &TraceRecord) -> bool {
    match role {
        Role::Reaper => match r.func {
            "down_read_trylock" | "down_read_trylock_unfair" => r.msg.starts_with("mmap_sem"),
            f => matches!(
                f,
                "__oom_reap_task_mm"
                    | "trace_skip_task_reaping"
                    | "oom_reap_task"
                    | "tlb_finish_mmu"
            ),
        },
        Role::Killer | Role::Victim => {
            racing(r)
                || matches!(
                    r.func,
                    "oom_kill_process"
                        | "mark_oom_victim"
                        | "wake_oom_reaper"
                        | "signal_wake_up"
                        | "do_group_exit"
                        | "zap_other_threads"
                        | "get_signal"
                        | "force_sig_info"
                        | "generic_perform_write"
                        | "vfs_write"
                )
                || r.func == "out_of_memory" && r.msg.starts_with("task_will_free_mem")
        }
    }
}

/// A copy from the victim's memory or a fault on it: what the race is about.
fn racing(r: &TraceRecord) -> bool {
    matches!(
        r.func,
        "iov_iter_copy_from_user_atomic" | "do_anonymous_page" | "check_stable_address_space"
    )
}

fn is_kill(r: &TraceRecord) -> bool {
    matches!(
        r.func,
        "oom_kill_process" | "mark_oom_victim" | "do_group_exit" | "sys_exit_group"
    ) || r.func == "out_of_memory" && r.msg.starts_with("task_will_free_mem")
}

fn num_after(msg: &str, after: &str) -> Option<u32> {
    let i = msg.find(after)? + after.len();
    let d: String = msg[i..]
        .trim_start()
        .chars()
        .take_while(|c| c.is_ascii_digit())
        .collect();
    d.parse().ok()
}

/// A row's text: the function and its message, with addresses and file
/// paths shortened so that a copy fits a column.
fn label(r: &TraceRecord) -> String {
    let m = r.msg.as_str();
    match r.func {
        "iov_iter_copy_from_user_atomic" => {
            // "4096/4096 bytes from the ZERO PAGE -> /tmp/file.1@0x3000"
            let (what, to) = m.split_once(" -> ").unwrap_or((m, ""));
            let file = to.rsplit('/').next().unwrap_or(to);
            let what = what
                .replace(" bytes from the ", " B ")
                .replace(" bytes through a ", " B via ")
                .replace(" bytes", " B");
            format!("copy_from_user {what} -> {file}")
        }
        "do_anonymous_page" => {
            let m = match m.split_once(": ") {
                Some((kind, rest)) if kind.contains(" fault at ") => {
                    format!("{}: {rest}", kind.split(" at ").next().unwrap_or(kind))
                }
                _ => m.to_string(),
            };
            format!("do_anonymous_page: {m}")
        }
        "__oom_reap_task_mm" if m.starts_with("start_task_reaping") => {
            m.split_once(": ").map_or(m.to_string(), |(_, rest)| {
                format!("__oom_reap_task_mm: {rest}")
            })
        }
        "oom_kill_process" if m.starts_with("Out of memory: Kill process") => {
            let p = num_after(m, "Kill process").unwrap_or(0);
            format!("oom_kill_process: kill {p}")
        }
        "oom_kill_process" if m.starts_with("Killed process") => {
            // Drop the RSS figures: the row says that the kill was made.
            let upto = m.find(')').map_or(m.len(), |i| i + 1);
            format!("oom_kill_process: {}", &m[..upto])
        }
        "signal_wake_up" => {
            let to = num_after(m, "->").unwrap_or(0);
            format!("SIGKILL -> {to}")
        }
        "flush_tlb_others" | "smp_send_reschedule" => {
            let to = m.split("-> ").nth(1).and_then(|t| t.split(',').next());
            format!("{} -> {}", r.func, to.unwrap_or("?"))
        }
        "down_read_trylock" | "down_read_trylock_unfair" => {
            format!(
                "{}(mmap_sem): {}",
                r.func,
                m.trim_start_matches("mmap_sem ")
            )
        }
        _ => format!("{}: {m}", r.func),
    }
}

fn wrap(text: &str, width: usize) -> Vec<String> {
    let width = width.max(1);
    let mut lines = Vec::new();
    let mut cur = String::new();
    for word in text.split(' ') {
        let mut word = word.to_string();
        while word.chars().count() > width {
            if !cur.is_empty() {
                lines.push(std::mem::take(&mut cur));
            }
            let head: String = word.chars().take(width).collect();
            word = word.chars().skip(width).collect();
            lines.push(head);
        }
        let n = cur.chars().count();
        if n > 0 && n + 1 + word.chars().count() > width {
            lines.push(std::mem::take(&mut cur));
        }
        if !cur.is_empty() {
            cur.push(' ');
        }
        cur.push_str(&word);
    }
    if !cur.is_empty() {
        lines.push(cur);
    }
    lines
}

/// The race diagram of a run; `end` is the trace index of the last evidence
/// (see [`last_evidence`]), `max_rows` caps the steps shown (the first and
/// the last halves, with a marker between).
pub fn ascii_diagram(records: &[TraceRecord], end: Option<u64>, max_rows: usize) -> String {
    let Some(kill_i) = records.iter().position(is_kill) else {
        return "no OOM kill in this run: no race to draw\n".into();
    };
    let end_i = match end {
        Some(e) => records
            .iter()
            .position(|r| r.idx >= e)
            .unwrap_or(records.len().saturating_sub(1)),
        None => records.len().saturating_sub(1),
    }
    .max(kill_i);
    let kill = &records[kill_i];
    let window = &records[kill_i..=end_i];

    // The victim's threads: the ones SIGKILL was posted to, and the victim.
    let mut victims: BTreeSet<u32> = BTreeSet::new();
    for r in window {
        match r.func {
            "signal_wake_up" if r.msg.starts_with("SIGKILL") => {
                victims.extend(num_after(&r.msg, "->"));
            }
            "mark_oom_victim" => victims.extend(num_after(&r.msg, "->")),
            "oom_kill_process" => victims.extend(num_after(&r.msg, "process")),
            _ => {}
        }
    }
    let killer = kill.pid;
    let reaper = window
        .iter()
        .find(|r| r.comm == "oom_reaper")
        .and_then(|r| r.pid);
    let unstable_i = window
        .iter()
        .position(|r| r.func == "__oom_reap_task_mm" && r.msg.contains("MMF_UNSTABLE"));
    let focus_pid = end.and_then(|_| window.last()).and_then(|r| r.pid);

    // Victim threads that raced, nearest the evidence first: those that
    // copied or faulted after MMF_UNSTABLE, latest first, then the others.
    let mut last_race: BTreeMap<u32, (bool, usize)> = BTreeMap::new();
    for (i, r) in window.iter().enumerate() {
        if let Some(p) = r.pid {
            if victims.contains(&p) && racing(r) && r.cpu.is_some() {
                let after = unstable_i.is_some_and(|u| i > u);
                last_race.insert(p, (after, i));
            }
        }
    }
    let mut racers: Vec<(u32, (bool, usize))> = last_race.into_iter().collect();
    racers
        .sort_by_key(|(p, (after, i))| (Some(*p) != focus_pid, !*after, std::cmp::Reverse(*i), *p));

    let mut chosen: BTreeMap<u32, Role> = BTreeMap::new();
    if let Some(k) = killer {
        chosen.insert(k, Role::Killer);
    }
    if let Some(rp) = reaper {
        chosen.insert(rp, Role::Reaper);
    }
    // The CPUs a set of participants' rows use.
    let cpus_of = |chosen: &BTreeMap<u32, Role>| -> BTreeSet<u32> {
        rows_of(records, kill_i, end_i, chosen)
            .iter()
            .filter_map(|&i| records[i].cpu)
            .collect()
    };
    let mut n_racers = 0;
    for (p, _) in &racers {
        if chosen.contains_key(p) || n_racers == MAX_RACERS {
            continue;
        }
        let mut with = chosen.clone();
        with.insert(*p, Role::Victim);
        if cpus_of(&with).len() <= MAX_CPUS || Some(*p) == focus_pid {
            chosen = with;
            n_racers += 1;
        }
    }

    let mut row_idx = rows_of(records, kill_i, end_i, &chosen);
    // The evidence is a row even when its task (a flusher whose blocks the
    // crash exposed) is none of the above.
    if end.is_some() && records[end_i].cpu.is_some() && row_idx.last() != Some(&end_i) {
        row_idx.push(end_i);
    }
    // Collapse runs of one task's same step (a label shows the count);
    // the copy of zeros and MMF_UNSTABLE steps never merge into a run.
    let mut rows: Vec<(usize, u32)> = Vec::new();
    let special = |r: &TraceRecord| r.msg.contains("ZERO PAGE") || r.msg.contains("MMF_UNSTABLE");
    let shape = |r: &TraceRecord| -> String {
        label(r)
            .chars()
            .filter(|c| !c.is_ascii_hexdigit())
            .collect()
    };
    for &i in &row_idx {
        let r = &records[i];
        match rows.last_mut() {
            Some((j, n))
                if !special(r)
                    && !special(&records[*j])
                    && records[*j].pid == r.pid
                    && shape(&records[*j]) == shape(r) =>
            {
                *n += 1;
            }
            _ => rows.push((i, 1)),
        }
    }
    let max_rows = max_rows.max(2);
    let elided = rows.len().saturating_sub(max_rows);
    let head_rows = max_rows / 2;
    if elided > 0 {
        let tail: Vec<(usize, u32)> = rows[rows.len() - (max_rows - head_rows)..].to_vec();
        rows.truncate(head_rows);
        rows.extend(tail);
    }

    // Columns: the CPUs in the order they first appear.
    let mut cols: Vec<u32> = Vec::new();
    for (i, _) in &rows {
        if let Some(c) = records[*i].cpu {
            if !cols.contains(&c) {
                cols.push(c);
            }
        }
    }
    let ncols = cols.len().max(1);
    let col_w = (WIDTH - TIME_W) / ncols;

    let mut s = String::new();
    let mut head = format!("{:<TIME_W$}", "time (s)");
    for c in &cols {
        head.push_str(&format!("{:<col_w$}", format!("CPU{c}")));
    }
    let _ = writeln!(s, "{}", head.trim_end());
    let mut rule = format!("{:<TIME_W$}", "--------");
    for _ in &cols {
        rule.push_str(&format!("{:<col_w$}", "-".repeat(col_w.saturating_sub(2))));
    }
    let _ = writeln!(s, "{}", rule.trim_end());

    // A row names its task when the column last showed another.
    let mut col_pid: BTreeMap<u32, u32> = BTreeMap::new();
    for (k, (i, n)) in rows.iter().enumerate() {
        if elided > 0 && k == head_rows {
            let _ = writeln!(s, "{:<TIME_W$}... {elided} steps left out ...", "");
        }
        let r = &records[*i];
        let cpu = r.cpu.unwrap_or(0);
        let col = cols.iter().position(|c| *c == cpu).unwrap_or(0);
        let indent = TIME_W + col * col_w;
        let mut text = String::new();
        if let Some(p) = r.pid {
            if col_pid.insert(cpu, p) != Some(p) {
                let _ = write!(text, "[{}/{p}] ", r.comm);
            }
        }
        text.push_str(&label(r));
        if *n > 1 {
            let _ = write!(text, " and {} more", n - 1);
        }
        for (li, line) in wrap(&text, WIDTH - indent).into_iter().enumerate() {
            let t = if li == 0 {
                r.t.to_string().trim().to_string()
            } else {
                String::new()
            };
            let _ = writeln!(s, "{t:<TIME_W$}{}{line}", " ".repeat(indent - TIME_W));
        }
    }

    // Who is who.
    let mut legend: Vec<String> = Vec::new();
    let name = |p: u32| {
        records
            .iter()
            .find(|r| r.pid == Some(p))
            .map_or(format!("{p}"), |r| format!("{}/{p}", r.comm))
    };
    if let Some(k) = killer {
        legend.push(format!("killer {}", name(k)));
    }
    if let Some(rp) = reaper.filter(|p| chosen.contains_key(p)) {
        legend.push(format!("reaper {}", name(rp)));
    }
    let shown_victims: Vec<String> = chosen
        .iter()
        .filter(|(_, r)| **r == Role::Victim)
        .map(|(p, _)| p.to_string())
        .collect();
    if !shown_victims.is_empty() {
        legend.push(format!(
            "victim threads that raced: {}",
            shown_victims.join(" ")
        ));
    }
    if let Some(p) = records[end_i]
        .pid
        .filter(|p| end.is_some() && !chosen.contains_key(p))
    {
        legend.push(format!("evidence by {}", name(p)));
    }
    let left = racers
        .iter()
        .filter(|(p, _)| !chosen.contains_key(p))
        .count();
    let mut foot = legend.join("; ");
    if left > 0 {
        let _ = write!(foot, "; {left} more victim threads raced (not shown)");
    }
    // Evidence from before the kill (blocks that writeback mapped and a
    // crash exposed) is not part of the race; say where it is.
    if let Some(e) = end.and_then(|e| records.iter().find(|r| r.idx >= e)) {
        if e.idx < kill.idx {
            let _ = write!(
                foot,
                "\nthe evidence is before the kill: {} {}/{} {}",
                e.t.to_string().trim(),
                e.comm,
                e.pid.unwrap_or(0),
                label(e)
            );
        }
    }
    for line in foot.lines().flat_map(|l| wrap(l, WIDTH)) {
        let _ = writeln!(s, "{line}");
    }
    s
}

/// The indices of the records the chosen tasks show, from each victim
/// thread's last race step before the kill to `end_i`.
fn rows_of(
    records: &[TraceRecord],
    kill_i: usize,
    end_i: usize,
    chosen: &BTreeMap<u32, Role>,
) -> Vec<usize> {
    let mut rows: Vec<usize> = Vec::new();
    // Where each victim thread was when the kill came.
    for (&p, &role) in chosen {
        if role != Role::Victim {
            continue;
        }
        if let Some(i) = (0..kill_i)
            .rev()
            .find(|&i| records[i].pid == Some(p) && racing(&records[i]) && records[i].cpu.is_some())
        {
            rows.push(i);
        }
    }
    for (i, r) in records.iter().enumerate().take(end_i + 1).skip(kill_i) {
        let (Some(p), Some(_)) = (r.pid, r.cpu) else {
            continue;
        };
        if let Some(&role) = chosen.get(&p) {
            if shown(role, r) {
                rows.push(i);
            }
        }
    }
    rows.sort_unstable();
    rows.dedup();
    rows
}
