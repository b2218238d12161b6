//! Trace exports: the Chrome trace-event JSON must be structurally valid for
//! Perfetto (every event has ph/ts/pid/tid/name, tracks are named, every flow
//! start has its finish), and the other two formats must carry the run.
#![cfg(not(target_arch = "wasm32"))]

use oomlab_core::export::{
    ascii_diagram, chrome_trace, chrome_trace_run, ftrace, last_evidence, text,
    CHROME_IPI_TID_BASE, CHROME_PID_CPUS, CHROME_PID_MEMORY, CHROME_PID_TASKS,
};
use oomlab_core::{presets, ChoiceSource, Sim};
use serde_json::Value;
use std::collections::BTreeMap;

fn r1_trace(seed: u64) -> (Vec<oomlab_core::trace::TraceRecord>, Option<u64>) {
    let sc = presets::find("r1").unwrap().load();
    let mut sim = Sim::new(&sc, ChoiceSource::Seed(seed));
    let r = sim.run_to_end(u64::MAX);
    (sim.trace().to_vec(), r.first_bad().map(|b| b.event))
}

#[test]
fn chrome_trace_is_valid_trace_event_json() {
    let (tr, _) = r1_trace(1);
    let v: Value = serde_json::from_str(&chrome_trace(&tr)).expect("valid JSON");
    let evs = v["traceEvents"].as_array().expect("traceEvents array");
    assert!(evs.len() > tr.len(), "at least one event per record");
    let mut flows: BTreeMap<u64, Vec<(String, f64, u64)>> = BTreeMap::new();
    let mut named_tracks = std::collections::BTreeSet::new();
    let mut used_tracks = std::collections::BTreeSet::new();
    for e in evs {
        let ph = e["ph"].as_str().expect("ph");
        let ts = e["ts"].as_f64().expect("ts is a number");
        let pid = e["pid"].as_u64().expect("pid");
        let tid = e["tid"].as_u64().expect("tid");
        assert!(e["name"].is_string(), "name: {e}");
        assert!(ts >= 0.0);
        match ph {
            "M" => {
                assert!(e["args"]["name"].is_string());
                if e["name"] == "thread_name" {
                    named_tracks.insert((pid, tid));
                }
            }
            "i" => {
                assert_eq!(e["s"], "t", "instant events are thread-scoped");
                assert!(e["args"]["msg"].is_string());
                used_tracks.insert((pid, tid));
            }
            "X" => {
                assert!(e["dur"].as_f64().is_some());
                used_tracks.insert((pid, tid));
            }
            "s" | "f" => {
                let id = e["id"].as_u64().expect("flow id");
                flows.entry(id).or_default().push((ph.to_string(), ts, tid));
            }
            other => panic!("unexpected phase {other}"),
        }
        assert!(pid == CHROME_PID_CPUS as u64 || pid == CHROME_PID_TASKS as u64);
    }
    for t in &used_tracks {
        assert!(named_tracks.contains(t), "track {t:?} has no thread_name");
    }
    // R1 runs shoot down TLBs across CPUs: there are IPIs, and each is a flow
    // from the sender to the target, landing no earlier than it was sent.
    assert!(!flows.is_empty(), "IPIs become flow events");
    for (id, f) in &flows {
        assert_eq!(f.len(), 2, "flow {id} is one start and one finish");
        assert_eq!(f[0].0, "s");
        assert_eq!(f[1].0, "f");
        assert!(f[1].1 >= f[0].1, "flow {id} lands after it is sent");
    }
    // One CPU track per CPU of the scenario that did something.
    let cpus = used_tracks
        .iter()
        .filter(|(p, t)| *p == CHROME_PID_CPUS as u64 && *t < CHROME_IPI_TID_BASE as u64)
        .count();
    assert!((2..=8).contains(&cpus), "{cpus} CPU tracks");
    // IPI slices are on the CPUs' IPI tracks, next to the CPU tracks.
    assert!(used_tracks
        .iter()
        .any(|(p, t)| *p == CHROME_PID_CPUS as u64 && *t >= CHROME_IPI_TID_BASE as u64));
}

/// A slice: start and end in µs, and its name.
type Span = (f64, f64, String);

/// The replayed export: the schedule as slices that never overlap on a CPU
/// and nest on a task, the kernel functions, the counters, the metadata.
#[test]
fn chrome_trace_run_has_the_schedule_functions_counters_and_metadata() {
    let sc = presets::find("r1").unwrap().load();
    let seed = (0..40)
        .find(|s| r1_trace(*s).1.is_some())
        .expect("R1 corrupts for some seed below 40");
    let mut sim = Sim::new(&sc, ChoiceSource::Seed(seed));
    let r = sim.run_to_end(u64::MAX);
    let v: Value =
        serde_json::from_str(&chrome_trace_run(&sc, ChoiceSource::Seed(seed))).expect("valid JSON");
    let evs = v["traceEvents"].as_array().expect("traceEvents array");
    // Per track, its slices as (start, end, name) in µs.
    let mut slices: BTreeMap<(u64, u64), Vec<Span>> = BTreeMap::new();
    let mut counters: BTreeMap<String, u32> = BTreeMap::new();
    let mut flows: BTreeMap<u64, Vec<&str>> = BTreeMap::new();
    let mut named = std::collections::BTreeSet::new();
    let mut sort: BTreeMap<(String, u64, u64), u64> = BTreeMap::new();
    let mut instants = 0;
    for e in evs {
        let ph = e["ph"].as_str().expect("ph");
        let ts = e["ts"].as_f64().expect("ts is a number");
        let pid = e["pid"].as_u64().expect("pid");
        let tid = e["tid"].as_u64().expect("tid");
        let name = e["name"].as_str().expect("name").to_string();
        match ph {
            "M" if name.ends_with("_sort_index") => {
                let i = e["args"]["sort_index"]
                    .as_u64()
                    .expect("numeric sort index");
                sort.insert((name, pid, tid), i);
            }
            "M" => {
                assert!(e["args"]["name"].is_string());
                if name == "thread_name" {
                    named.insert((pid, tid));
                }
            }
            "X" => {
                let dur = e["dur"].as_f64().expect("dur");
                assert!(dur > 0.0, "a slice of no time: {e}");
                slices
                    .entry((pid, tid))
                    .or_default()
                    .push((ts, ts + dur, name));
            }
            "C" => {
                assert_eq!(pid, CHROME_PID_MEMORY as u64);
                let n = e["args"]["pages"].as_u64();
                assert!(n.is_some(), "counter value is a number: {e}");
                *counters.entry(name).or_default() += 1;
            }
            "i" => instants += 1,
            "s" | "f" => flows.entry(e["id"].as_u64().unwrap()).or_default().push(ph),
            other => panic!("unexpected phase {other}"),
        }
    }
    assert!(instants >= r.trace_len, "every record is still there");
    for (id, f) in &flows {
        assert_eq!(f, &["s", "f"], "flow {id}");
    }
    assert!(!flows.is_empty());

    let eps = 1e-6;
    let mut cpu_modes = std::collections::BTreeSet::new();
    let mut depth_max = 0;
    for ((pid, tid), list) in &mut slices {
        assert!(named.contains(&(*pid, *tid)), "track {pid}/{tid} is named");
        list.sort_by(|a, b| a.0.total_cmp(&b.0).then(b.1.total_cmp(&a.1)));
        let mut stack: Vec<Span> = Vec::new();
        for s in list.iter() {
            while stack.last().is_some_and(|t| t.1 <= s.0 + eps) {
                stack.pop();
            }
            if let Some(t) = stack.last() {
                assert!(s.1 <= t.1 + eps, "{pid}/{tid}: {s:?} overlaps {t:?}");
                assert!(
                    !(*pid == CHROME_PID_CPUS as u64 && *tid < CHROME_IPI_TID_BASE as u64),
                    "cpu{tid}: {s:?} overlaps {t:?}"
                );
            }
            stack.push(s.clone());
            depth_max = depth_max.max(stack.len());
            if *pid == CHROME_PID_CPUS as u64 && *tid < CHROME_IPI_TID_BASE as u64 {
                cpu_modes.insert(s.2.rsplit(' ').next().unwrap().to_string());
            }
        }
    }
    assert_eq!(
        cpu_modes.into_iter().collect::<Vec<_>>(),
        ["kernel", "user"],
        "CPU slices are split by mode"
    );
    assert!(depth_max >= 5, "kernel stacks nest: depth {depth_max}");
    let task_names: std::collections::BTreeSet<&str> = slices
        .iter()
        .filter(|((p, _), _)| *p == CHROME_PID_TASKS as u64)
        .flat_map(|(_, l)| l.iter().map(|s| s.2.as_str()))
        .collect();
    for f in [
        "user",
        "SyS_write",
        "__btrfs_buffered_write",
        "write_begin",
        "iov_iter_copy_from_user_atomic",
        "write_end",
        "handle_mm_fault",
        "__alloc_pages_slowpath",
        "__alloc_pages_direct_reclaim",
        "out_of_memory",
        "oom_reap_task",
        "attempt 1",
        "__oom_reap_task_mm",
        "do_exit",
    ] {
        assert!(task_names.contains(f), "no {f} slice: {task_names:?}");
    }
    for c in [
        "nr_free_pages",
        "wmark_min",
        "wmark_low",
        "wmark_high",
        "nr_dirty",
        "nr_writeback",
    ] {
        assert!(counters.contains_key(c), "no {c} counter: {counters:?}");
    }
    assert!(counters["nr_free_pages"] > 100, "free pages move");
    assert!(counters.keys().any(|k| k.starts_with("rss a.out/")));

    // CPUs first, then tasks, then memory; cpu0 first among the CPUs.
    let p = |pid: u32| sort[&("process_sort_index".to_string(), pid as u64, 0)];
    assert!(p(CHROME_PID_CPUS) < p(CHROME_PID_TASKS));
    assert!(p(CHROME_PID_TASKS) < p(CHROME_PID_MEMORY));
    let meta = &v["otherData"];
    assert_eq!(meta["title"], sc.scenario.title.as_str());
    assert_eq!(
        meta["model_version"],
        oomlab_core::MODEL_VERSION.to_string().as_str()
    );
    let codes: Vec<&str> = r.outcomes.iter().map(|o| o.code()).collect();
    assert_eq!(meta["outcomes"], codes.join(", ").as_str());
    assert!(codes.contains(&"zeros_in_file"));
    let link = oomlab_core::permalink::Permalink::decode(meta["permalink"].as_str().unwrap())
        .expect("the permalink decodes");
    assert_eq!(link.source.seed(), seed);
}

#[test]
fn chrome_trace_escapes_strings() {
    let (mut tr, _) = r1_trace(0);
    tr.truncate(3);
    tr[0].msg = "quote \" backslash \\ newline \n tab \t bell \u{7}".into();
    let v: Value = serde_json::from_str(&chrome_trace(&tr)).expect("valid JSON");
    let found = v["traceEvents"]
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["args"]["msg"] == tr[0].msg.as_str());
    assert!(found);
}

#[test]
fn chrome_trace_of_an_empty_trace_is_valid() {
    let v: Value = serde_json::from_str(&chrome_trace(&[])).expect("valid JSON");
    assert!(v["traceEvents"].is_array());
}

/// The first run within seeds 0..50 whose worst outcome is not `correct`.
fn first_failing(
    id: &str,
) -> Option<(
    u64,
    Vec<oomlab_core::trace::TraceRecord>,
    oomlab_core::RunResult,
)> {
    let sc = presets::find(id).unwrap().load();
    (0..50).find_map(|seed| {
        let mut sim = Sim::new(&sc, ChoiceSource::Seed(seed));
        let r = sim.run_to_end(u64::MAX);
        (r.outcomes.first() != Some(&oomlab_core::Outcome::Correct))
            .then(|| (seed, sim.trace().to_vec(), r))
    })
}

#[test]
fn ascii_diagram_fits_an_email_on_every_presets_first_failing_run() {
    let mut drawn = 0;
    for p in presets::PRESETS {
        let Some((seed, tr, r)) = first_failing(p.id) else {
            continue;
        };
        let d = ascii_diagram(&tr, last_evidence(&r), 60);
        for l in d.lines() {
            assert!(
                l.chars().count() <= 80,
                "{} seed {seed}: {} columns: {l}\n{d}",
                p.id,
                l.chars().count()
            );
        }
        if tr.iter().any(|t| t.func == "oom_kill_process") {
            assert!(d.starts_with("time (s)  CPU"), "{} seed {seed}:\n{d}", p.id);
            assert!(d.contains("oom_kill_process"), "{} seed {seed}:\n{d}", p.id);
            drawn += 1;
        }
    }
    assert!(drawn >= 4, "only {drawn} presets drew a race");
}

#[test]
fn ascii_diagram_of_r1_names_the_kill_mmf_unstable_and_the_zero_page_copy() {
    let (seed, tr, r) = (0..40)
        .find_map(|s| {
            let sc = presets::find("r1").unwrap().load();
            let mut sim = Sim::new(&sc, ChoiceSource::Seed(s));
            let r = sim.run_to_end(u64::MAX);
            r.first_bad()
                .is_some()
                .then(|| (s, sim.trace().to_vec(), r))
        })
        .expect("R1 corrupts for some seed below 40");
    let d = ascii_diagram(&tr, last_evidence(&r), 60);
    let at = |what: &str| {
        d.find(what)
            .unwrap_or_else(|| panic!("seed {seed}: no {what}:\n{d}"))
    };
    let (kill, unstable, zero) = (
        at("oom_kill_process: kill"),
        at("MMF_UNSTABLE set"),
        at("ZERO PAGE"),
    );
    assert!(kill < unstable && unstable < zero, "in time order:\n{d}");
    // The diagram ends at the evidence: the copy of zeros is its last row,
    // by the thread the verdict names.
    let bad = r.first_bad().unwrap();
    let rows_end = d
        .lines()
        .take_while(|l| !l.starts_with("killer"))
        .collect::<Vec<_>>();
    let tail = rows_end[rows_end.len().saturating_sub(2)..].join(" ");
    assert!(tail.contains("ZERO PAGE"), "{d}");
    assert!(
        d.contains(&format!("/{}] ", bad.pid)) || d.contains(&format!(" {} ", bad.pid)),
        "{d}"
    );
    // Only the CPUs taking part: fewer columns than the preset's 8 CPUs.
    let head = d.lines().next().unwrap();
    let cols = head.matches("CPU").count();
    assert!((2..=4).contains(&cols), "{head}");
    // A cap on rows leaves steps out, and says so.
    let short = ascii_diagram(&tr, last_evidence(&r), 6);
    assert!(short.contains("steps left out"), "{short}");
    assert!(short.contains("ZERO PAGE"), "{short}");
}

#[test]
fn text_export_is_the_trace_text() {
    let (tr, _) = r1_trace(0);
    assert_eq!(text(&tr), oomlab_core::trace::trace_text(&tr));
    assert!(text(&tr).lines().all(|l| l.starts_with('[')));
}

/// One regex per event, from the event's `TP_printk` in Linux 4.13
/// (`include/trace/events/{sched,signal,oom,vmscan,filemap}.h`, x86's
/// `asm/trace/irq_vectors.h`).
fn tp_printk_formats() -> Vec<(&'static str, regex::Regex)> {
    let comm = r".{1,15}";
    let state = r"(R\+?|[SDTtZXxKWPN](\|[SDTtZXxKWPN])*)";
    let f = [
        (
            "sched_switch",
            format!(
                r"prev_comm={comm} prev_pid=\d+ prev_prio=\d+ prev_state={state} ==> next_comm={comm} next_pid=\d+ next_prio=\d+"
            ),
        ),
        (
            "sched_wakeup",
            format!(r"comm={comm} pid=\d+ prio=\d+ target_cpu=\d{{3}}"),
        ),
        (
            "sched_process_exit",
            format!(r"comm={comm} pid=\d+ prio=\d+"),
        ),
        (
            "signal_generate",
            format!(r"sig=\d+ errno=-?\d+ code=-?\d+ comm={comm} pid=\d+ grp=[01] res=\d+"),
        ),
        (
            "signal_deliver",
            r"sig=\d+ errno=-?\d+ code=-?\d+ sa_handler=[0-9a-f]+ sa_flags=[0-9a-f]+".into(),
        ),
        ("mark_victim", r"pid=\d+".into()),
        ("wake_reaper", r"pid=\d+".into()),
        ("start_task_reaping", r"pid=\d+".into()),
        ("finish_task_reaping", r"pid=\d+".into()),
        ("skip_task_reaping", r"pid=\d+".into()),
        (
            "mm_vmscan_direct_reclaim_begin",
            r"order=\d+ may_writepage=[01] gfp_flags=[A-Z_|]+ classzone_idx=\d+".into(),
        ),
        ("mm_vmscan_direct_reclaim_end", r"nr_reclaimed=\d+".into()),
        (
            "reclaim_retry_zone",
            r"node=\d+ zone=[A-Za-z0-9]+ * order=\d+ reclaimable=\d+ available=\d+ min_wmark=\d+ no_progress_loops=\d+ wmark_check=[01]".into(),
        ),
        (
            "mm_filemap_add_to_page_cache",
            r"dev \d+:\d+ ino [0-9a-f]+ page=[0-9a-f]+ pfn=\d+ ofs=\d+".into(),
        ),
        ("reschedule_entry", r"vector=\d+".into()),
        ("reschedule_exit", r"vector=\d+".into()),
        ("call_function_entry", r"vector=\d+".into()),
        ("call_function_exit", r"vector=\d+".into()),
    ];
    f.into_iter()
        .map(|(e, re)| (e, regex::Regex::new(&format!("^{re}$")).unwrap()))
        .collect()
}

#[test]
fn ftrace_lines_parse_with_the_tracepoints_formats() {
    let sc = presets::find("r1").unwrap().load();
    let seed = (0..40)
        .find(|s| r1_trace(*s).1.is_some())
        .expect("R1 corrupts for some seed below 40");
    let (tr, _) = r1_trace(seed);
    let ft = ftrace(&sc, ChoiceSource::Seed(seed));
    let formats = tp_printk_formats();
    // trace-cmd report: `comm-pid [cpu] secs.usecs: event: fields`.
    let head = regex::Regex::new(
        r"^ *(?P<comm>.{1,16})-(?P<pid>\d+) +\[(?P<cpu>\d{3})\] +(?P<s>\d+)\.(?P<us>\d{6}): (?P<ev>[a-z_0-9]+): (?P<f>.*)$",
    )
    .unwrap();
    let mut lines = ft.lines();
    assert_eq!(lines.next(), Some("cpus=8"));
    let mut counts: BTreeMap<String, u32> = BTreeMap::new();
    let mut last_us = 0u64;
    // Per CPU, the task the last sched_switch switched to.
    let mut on_cpu: BTreeMap<u32, u32> = BTreeMap::new();
    let next_pid = regex::Regex::new(r"prev_pid=(\d+) .* next_pid=(\d+)").unwrap();
    for l in lines {
        let c = head
            .captures(l)
            .unwrap_or_else(|| panic!("not trace-cmd layout: {l}"));
        let ev = &c["ev"];
        let fields = &c["f"];
        let us = c["s"].parse::<u64>().unwrap() * 1_000_000 + c["us"].parse::<u64>().unwrap();
        assert!(us >= last_us, "time goes backwards at {l}");
        last_us = us;
        if let Some(name) = ev.strip_prefix("oomlab_") {
            assert!(
                tr.iter().any(|r| r.func == name),
                "{l}: no record of {name}"
            );
        } else {
            let (_, re) = formats
                .iter()
                .find(|(e, _)| *e == ev)
                .unwrap_or_else(|| panic!("{ev} is not a 4.13 tracepoint here: {l}"));
            assert!(
                re.is_match(fields),
                "{ev} does not match its TP_printk: {l}"
            );
        }
        if ev == "sched_switch" {
            let cpu: u32 = c["cpu"].parse().unwrap();
            let p = next_pid.captures(fields).unwrap();
            let (prev, next): (u32, u32) = (p[1].parse().unwrap(), p[2].parse().unwrap());
            if let Some(was) = on_cpu.insert(cpu, next) {
                assert_eq!(
                    was, prev,
                    "cpu{cpu} switches away from a task it did not run: {l}"
                );
            }
            assert_eq!(c["pid"].parse::<u32>().unwrap(), prev, "{l}");
        }
        *counts.entry(ev.to_string()).or_default() += 1;
    }
    for ev in [
        "mark_victim",
        "start_task_reaping",
        "sched_switch",
        "sched_wakeup",
        "signal_generate",
        "signal_deliver",
        "mm_vmscan_direct_reclaim_begin",
        "mm_vmscan_direct_reclaim_end",
        "reclaim_retry_zone",
        "mm_filemap_add_to_page_cache",
    ] {
        assert!(
            counts.contains_key(ev),
            "no {ev} line in seed {seed}: {counts:?}"
        );
    }
    // The victim the killer marked is the one the reaper reaped.
    let victim = ft
        .lines()
        .find_map(|l| l.split("mark_victim: pid=").nth(1))
        .unwrap();
    assert!(ft.contains(&format!("start_task_reaping: pid={victim}\n")));
    assert!(tr
        .iter()
        .any(|r| r.func == "oom_kill_process"
            && r.msg.contains(&format!("Killed process {victim} "))));
}

/// `export --format dmesg`: printk lines only, in 4.13's formats, with the
/// OOM killer's dump_header before its "Kill process" line.
#[test]
fn dmesg_has_4_13_s_oom_report() {
    use regex::Regex;
    let sc = presets::find("r1").unwrap().load();
    let out = oomlab_core::export::dmesg(&sc, ChoiceSource::Seed(3));
    let stamp = Regex::new(r"^\[ *\d+\.\d{6}\] (.*)$").unwrap();
    let msgs: Vec<&str> = out
        .lines()
        .map(|l| {
            stamp
                .captures(l)
                .unwrap_or_else(|| panic!("not a dmesg line: {l}"))
                .get(1)
                .unwrap()
                .as_str()
        })
        .collect();
    // No `cpuN comm/pid func:` prefix: that is the text export's.
    let prefixed = Regex::new(r"^cpu\d+ ").unwrap();
    assert!(!msgs.iter().any(|m| prefixed.is_match(m)), "{out}");
    let at = |re: &str| -> usize {
        let re = Regex::new(re).unwrap();
        msgs.iter()
            .position(|m| re.is_match(m))
            .unwrap_or_else(|| panic!("no line matches {re}:\n{out}"))
    };
    let invoked = at(
        r"^\S+ invoked oom-killer: gfp_mask=0x[0-9a-f]+\([A-Z_|]+\), nodemask=\(null\),  order=0, oom_score_adj=-?\d+$",
    );
    let cpu = at(r"^CPU: \d+ PID: \d+ Comm: \S+ Not tainted \S+ #1$");
    let trace = at(r"^Call Trace:$");
    let meminfo = at(r"^Mem-Info:$");
    let table = at(
        r"^\[ pid \]   uid  tgid total_vm      rss nr_ptes nr_pmds swapents oom_score_adj name$",
    );
    let kill = at(r"^Out of memory: Kill process \d+ \(\S+\) score \d+ or sacrifice child$");
    let killed = at(
        r"^Killed process \d+ \(\S+\) total-vm:\d+kB, anon-rss:\d+kB, file-rss:\d+kB, shmem-rss:\d+kB$",
    );
    assert!(
        invoked < cpu
            && cpu < trace
            && trace < meminfo
            && meminfo < table
            && table < kill
            && kill < killed
    );
    // The call trace is innermost first and ends where the task entered.
    assert_eq!(
        &msgs[trace + 1..trace + 4],
        [" dump_stack", " dump_header", " oom_kill_process"]
    );
    assert!(
        msgs[trace + 4..meminfo].contains(&" out_of_memory"),
        "{out}"
    );
    // show_free_areas' summary, line by line.
    let free = [
        r"^active_anon:\d+ inactive_anon:\d+ isolated_anon:\d+$",
        r"^ active_file:\d+ inactive_file:\d+ isolated_file:\d+$",
        r"^ unevictable:\d+ dirty:\d+ writeback:\d+ unstable:\d+$",
        r"^ slab_reclaimable:\d+ slab_unreclaimable:\d+$",
        r"^ mapped:\d+ shmem:\d+ pagetables:\d+ bounce:\d+$",
        r"^ free:\d+ free_pcp:\d+ free_cma:\d+$",
    ];
    for (i, re) in free.iter().enumerate() {
        assert!(
            Regex::new(re).unwrap().is_match(msgs[meminfo + 1 + i]),
            "{}",
            msgs[meminfo + 1 + i]
        );
    }
    // The free count is the allocator's at the kill: under min.
    let mut sim = Sim::new(&sc, ChoiceSource::Seed(3));
    let r = sim.run_to_end(u64::MAX);
    let kill_rec = sim
        .trace()
        .iter()
        .find(|t| t.msg.starts_with("Killed process"))
        .expect("R1 seed 3 kills");
    assert_eq!(msgs[killed], kill_rec.msg);
    // The victim's row agrees with the "Killed process" line (pages of 4 kB).
    let row = Regex::new(r"^\[ *(\d+)\] +0 +(\d+) +(\d+) +(\d+) +(\d+) +(\d+) +0 +(-?\d+) (\S+)$")
        .unwrap();
    let rows: Vec<_> = msgs[table + 1..kill]
        .iter()
        .map(|m| row.captures(m).unwrap_or_else(|| panic!("row {m}")))
        .collect();
    let victim = r.kills[0].tgid.to_string();
    let v = rows
        .iter()
        .find(|c| c[2] == victim)
        .expect("the victim is in the table");
    let kb = Regex::new(r"total-vm:(\d+)kB, anon-rss:(\d+)kB")
        .unwrap()
        .captures(msgs[killed])
        .unwrap();
    assert_eq!(
        v[3].parse::<u64>().unwrap() * 4,
        kb[1].parse::<u64>().unwrap()
    );
    // Threads fault between the kill's two lines; the rss can only grow.
    assert!(v[4].parse::<u64>().unwrap() * 4 <= kb[2].parse::<u64>().unwrap());
    assert!(
        v[5].parse::<u64>().unwrap() > 0,
        "a mapped process has page tables"
    );
    // The reaper's report follows; a 2 s run never stalls 10 s.
    at(
        r"^oom_reaper: reaped process \d+ \(\S+\), now anon-rss:\d+kB, file-rss:\d+kB, shmem-rss:\d+kB$",
    );
    assert!(!out.contains("page allocation stalls"));
}

/// `warn_alloc`'s stall report: an allocation still in the slow path 10 s
/// after it started, then every further 10 s (R7 without the reaper, run
/// for 25 s: its XFS log worker waits for memory that never comes).
#[test]
fn dmesg_reports_allocation_stalls_every_10_s() {
    use regex::Regex;
    let text = presets::find("r7-reaper-off").unwrap().text.replace(
        "duration = \"2s\"",
        "duration = \"25s\"\nhang_threshold = \"30s\"\nmax_steps = 50000000",
    );
    let sc = oomlab_core::parse_scenario(&text).expect("valid");
    let out = oomlab_core::export::dmesg(&sc, ChoiceSource::Seed(3));
    let re = Regex::new(
        r"\[ *(\d+)\.\d{6}\] (\S+): page allocation stalls for (\d+)ms, order:0, mode:0x[0-9a-f]+\([A-Z_|]+\), nodemask=\(null\)",
    )
    .unwrap();
    let stalls: Vec<(u64, String, u64)> = re
        .captures_iter(&out)
        .map(|c| {
            (
                c[1].parse().unwrap(),
                c[2].to_string(),
                c[3].parse().unwrap(),
            )
        })
        .collect();
    assert!(
        !stalls.is_empty(),
        "no stall in 25 s:\n{}",
        &out[..out.len().min(3000)]
    );
    for (secs, _, ms) in &stalls {
        assert!(*ms >= 10_000 && *secs >= 10, "{stalls:?}");
    }
    // The same allocation warns again only 10 s later.
    let (_, comm, first) = &stalls[0];
    let (_, _, again) = stalls
        .iter()
        .skip(1)
        .find(|s| &s.1 == comm)
        .unwrap_or_else(|| panic!("one warning in 25 s: {stalls:?}"));
    assert!(*again >= first + 10_000, "{stalls:?}");
}
