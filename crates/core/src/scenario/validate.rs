//! Validation: every problem of a scenario at once, each with its field path
//! and, for a scenario read from text, the line and column the reader
//! recorded for that field (`schema::Spans`); nothing here searches the text.

use super::schema::{self, Spans};
use super::toml::{self, Lines};
use super::*;

/// Longest title, in characters: it is shown in one line of the gallery.
pub const MAX_TITLE: usize = 200;
/// Longest story, in characters.
pub const MAX_STORY: usize = 4000;
/// Longest scenario text, in bytes, as read and as written canonically: a
/// permalink carries the canonical text, and one that `run` prints must
/// decode within the permalink's limits (`permalink::MAX_DECODED`, and
/// `MAX_ENCODED` for its compressed form).
pub const MAX_SCENARIO_TEXT: usize = 1 << 20;

/// Scenario text from bytes (a file, stdin): at most `MAX_SCENARIO_TEXT`
/// bytes of UTF-8. The error for invalid UTF-8 gives its byte offset, line
/// and column, and never the bytes themselves.
pub fn scenario_text(bytes: &[u8]) -> Result<&str, ScenarioError> {
    if bytes.len() > MAX_SCENARIO_TEXT {
        return Err(ScenarioError {
            path: String::new(),
            line: None,
            column: None,
            message: format!(
                "the scenario is larger than a scenario text may be: at most {MAX_SCENARIO_TEXT} bytes"
            ),
        });
    }
    std::str::from_utf8(bytes).map_err(|e| {
        let ok = e.valid_up_to();
        let good = std::str::from_utf8(&bytes[..ok]).expect("valid up to here");
        let (line, column) = Lines::new(good).line_col(ok);
        ScenarioError {
            path: String::new(),
            line: Some(line),
            column: Some(column),
            message: format!("invalid UTF-8 at byte {ok} (a scenario is UTF-8 text)"),
        }
    })
}

/// Parses and validates scenario text.
pub fn parse_scenario(text: &str) -> Result<ValidScenario, Vec<ScenarioError>> {
    let mut spans = Spans::new(Some(text));
    let err = |spans: &Spans, path: String, offset: usize, message: String| {
        let (line, column) = spans.line_col(offset).unzip();
        vec![ScenarioError {
            path,
            line,
            column,
            message,
        }]
    };
    if text.len() > MAX_SCENARIO_TEXT {
        return Err(err(
            &spans,
            String::new(),
            0,
            format!("the scenario is larger than {MAX_SCENARIO_TEXT} bytes"),
        ));
    }
    let root = toml::parse(text)
        .map_err(|(offset, message)| err(&spans, String::new(), offset, message))?;
    migrate(&root).map_err(|(offset, m)| err(&spans, "version".into(), offset, m))?;
    let scenario = schema::read_scenario(&root, &mut spans)
        .map_err(|e| err(&spans, e.path, e.at, e.message))?;
    validate(scenario, Some(&spans))
}

/// Brings an older scenario forward. Version 1 is the first; a scenario from a
/// newer build is refused rather than misread. (Version 1 is the only one, so
/// there is nothing to rewrite yet: an older version, once there is one, would
/// be rewritten on the parsed tree before it is read.)
fn migrate(root: &toml::Table) -> Result<(), (usize, String)> {
    match schema::version(root).map_err(|e| (e.at, e.message))? {
        None => Err((0, "missing `version` (this build writes version 1)".into())),
        Some((1, _)) => Ok(()),
        Some((n, at)) if n > i64::from(SCENARIO_VERSION) => Err((
            at,
            format!(
                "scenario version {n} is newer than this build understands ({SCENARIO_VERSION})"
            ),
        )),
        Some((n, at)) => Err((at, format!("unknown scenario version {n}"))),
    }
}

/// Where a program's error is in the scenario text: `e_line`/`e_column` are
/// 1-based in the program string, which starts at `span`. Columns are exact
/// where the string has no escapes before them.
fn program_position(
    spans: &Spans,
    span: schema::Span,
    e_line: u32,
    e_column: u32,
) -> (Option<u32>, Option<u32>) {
    let (Some(text), Some((vl, vc))) = (spans.text(), spans.line_col(span.start)) else {
        return (None, None);
    };
    let raw = text.get(span.start..span.end).unwrap_or("");
    let escapes = raw.starts_with('"') && raw.contains('\\');
    if raw.starts_with("\"\"\"") || raw.starts_with("'''") {
        let after = &raw[3..];
        if after.starts_with('\n') || after.starts_with("\r\n") {
            // A newline right after the delimiter is not part of the string.
            return (Some(vl + e_line), (!escapes).then_some(e_column));
        }
        if e_line == 1 {
            return (Some(vl), (!escapes).then_some(vc + 3 + e_column - 1));
        }
        return (Some(vl + e_line - 1), (!escapes).then_some(e_column));
    }
    // A one-line string: the program is one line.
    (
        Some(vl + e_line - 1),
        (!escapes && e_line == 1).then_some(vc + 1 + e_column - 1),
    )
}

/// Validates a deserialized scenario, returning every problem.
pub fn validate(
    scenario: Scenario,
    spans: Option<&Spans>,
) -> Result<ValidScenario, Vec<ScenarioError>> {
    let mut errs: Vec<ScenarioError> = Vec::new();
    let mut push = |path: &str, message: String| {
        let loc = spans.and_then(|s| s.locate(path));
        errs.push(ScenarioError {
            path: path.to_string(),
            line: loc.map(|l| l.0),
            column: loc.map(|l| l.1),
            message,
        });
    };
    for (path, v, max) in [
        ("title", &scenario.title, MAX_TITLE),
        ("story", &scenario.story, MAX_STORY),
    ] {
        let n = v.chars().count();
        if n > max {
            push(path, format!("is at most {max} characters, got {n}"));
        }
    }
    let m = &scenario.machine;
    if m.cpus == 0 || m.cpus > MAX_CPUS {
        push(
            "machine.cpus",
            format!("must be between 1 and {MAX_CPUS}, got {}", m.cpus),
        );
    }
    if m.sockets == 0
        || m.sockets > m.cpus.max(1)
        || (m.cpus > 0 && !m.cpus.is_multiple_of(m.sockets.max(1)))
    {
        push(
            "machine.sockets",
            format!(
                "must divide the number of CPUs ({}), got {}",
                m.cpus, m.sockets
            ),
        );
    }
    if ![100, 250, 300, 1000].contains(&m.hz) {
        push(
            "machine.hz",
            format!("must be 100, 250, 300 or 1000, got {}", m.hz),
        );
    }
    if m.memory.0 < MIN_MEMORY || m.memory.0 > MAX_MEMORY || !m.memory.0.is_multiple_of(PAGE_SIZE) {
        push(
            "machine.memory",
            format!(
                "must be a multiple of 4K between 16M and 4G, got {}",
                fmt_size(m.memory.0)
            ),
        );
    }
    let reserved = m.kernel_reserved.map_or(m.memory.0 / 8, |s| s.0);
    // Checked: three sizes near 2^64 must not wrap to a small sum and pass.
    let fixed = reserved
        .checked_add(m.page_cache.0)
        .and_then(|s| s.checked_add(m.slab.0));
    if fixed.is_none_or(|f| f >= m.memory.0) {
        push(
            "machine.kernel_reserved",
            "kernel_reserved + page_cache + slab must leave free memory".into(),
        );
    }
    for (name, r) in [
        ("machine.ipi_same_socket", m.ipi_same_socket),
        ("machine.ipi_cross_socket", m.ipi_cross_socket),
        ("machine.vcpu_pause", m.vcpu_pause),
    ] {
        if r[0].0 > r[1].0 {
            push(
                name,
                format!(
                    "range is reversed: {} > {}",
                    fmt_dur(r[0].0),
                    fmt_dur(r[1].0)
                ),
            );
        }
        if r[1].0 > 10_000_000_000 {
            push(name, "must be at most 10s".into());
        }
    }
    if m.vcpu_preempt_ppm > 1_000_000 {
        push(
            "machine.vcpu_preempt_ppm",
            format!(
                "is parts per million, at most 1000000, got {}",
                m.vcpu_preempt_ppm
            ),
        );
    }
    if m.dirty_ratio == 0 || m.dirty_ratio > 100 {
        push(
            "machine.dirty_ratio",
            format!("is a percentage, 1 to 100, got {}", m.dirty_ratio),
        );
    }
    if m.dirty_background_ratio == 0 || m.dirty_background_ratio > m.dirty_ratio.max(1) {
        push(
            "machine.dirty_background_ratio",
            "must be between 1 and dirty_ratio".into(),
        );
    }
    if m.disk_bandwidth.0 < (1 << 20) {
        push(
            "machine.disk_bandwidth",
            "must be at least 1M per second".into(),
        );
    }
    if !KERNEL_PRESETS.contains(&scenario.kernel.preset.as_str()) {
        push(
            "kernel.preset",
            format!(
                "unknown kernel preset `{}`, expected one of {}",
                scenario.kernel.preset,
                KERNEL_PRESETS.join(", ")
            ),
        );
    }
    if let Some(d) = scenario.kernel.oom_reaper_delay {
        if d.0 > 60_000_000_000 {
            push(
                "kernel.oom_reaper_delay",
                format!("must be at most 60s, got {}", fmt_dur(d.0)),
            );
        }
    }
    if let Some(d) = scenario.kernel.khugepaged_scan_sleep {
        if d.0 < 1_000_000 || d.0 > 60_000_000_000 {
            push(
                "kernel.khugepaged_scan_sleep",
                format!("must be between 1ms and 60s, got {}", fmt_dur(d.0)),
            );
        }
    }
    let f = &scenario.fs;
    if f.data.is_some() && f.fs_type != FsType::Ext4 {
        push(
            "fs.data",
            format!("data modes are ext4's; {} has none", f.fs_type.name()),
        );
    }
    for (name, d, lo, hi) in [
        (
            "fs.commit_interval",
            f.commit_interval,
            1_000_000,
            600_000_000_000,
        ),
        (
            "fs.dirty_writeback_interval",
            f.dirty_writeback_interval,
            1_000_000,
            600_000_000_000,
        ),
        (
            "fs.dirty_expire_interval",
            f.dirty_expire_interval,
            0,
            600_000_000_000,
        ),
    ] {
        if let Some(d) = d {
            if d.0 < lo || d.0 > hi {
                push(
                    name,
                    format!(
                        "must be between {} and {}, got {}",
                        fmt_dur(lo),
                        fmt_dur(hi),
                        fmt_dur(d.0)
                    ),
                );
            }
        }
    }
    let l = &scenario.limits;
    if let Some(c) = &scenario.crash {
        match (c.at, c.window) {
            (Some(_), Some(_)) => push(
                "crash.window",
                "give either `at` (a fixed time) or `window`, not both".into(),
            ),
            (None, None) => push(
                "crash",
                "give `at = \"1500ms\"` (a fixed time) or `window = [\"0s\", \"3s\"]` (after `after`)".into(),
            ),
            (Some(at), None) => {
                if c.after.is_some() {
                    push("crash.after", "`after` goes with `window`, not `at`".into());
                }
                if at.0 == 0 || at.0 > l.duration.0 {
                    push(
                        "crash.at",
                        format!(
                            "must be after boot and within limits.duration ({}), got {}",
                            fmt_dur(l.duration.0),
                            fmt_dur(at.0)
                        ),
                    );
                }
            }
            (None, Some(w)) => {
                if w[0].0 > w[1].0 {
                    push(
                        "crash.window",
                        format!(
                            "range is reversed: {} > {}",
                            fmt_dur(w[0].0),
                            fmt_dur(w[1].0)
                        ),
                    );
                }
                if w[1].0 > MAX_DURATION {
                    push("crash.window", "must end within 600s".into());
                }
            }
        }
    }
    if l.duration.0 == 0 || l.duration.0 > MAX_DURATION {
        push("limits.duration", "must be between 1ns and 600s".into());
    }
    if l.max_steps == 0 || l.max_steps > MAX_STEPS {
        push(
            "limits.max_steps",
            format!("must be between 1 and {MAX_STEPS}"),
        );
    }
    if l.max_trace > MAX_TRACE {
        push("limits.max_trace", format!("must be at most {MAX_TRACE}"));
    }
    // Programs: the scenario's own, then built-ins it does not override.
    let mut programs: BTreeMap<String, Program> = BTreeMap::new();
    for (name, src) in &scenario.programs {
        match parse_program(src) {
            Ok(p) => {
                programs.insert(name.clone(), p);
            }
            Err(e) => {
                let path = format!("programs.{name}");
                let (line, column) = spans
                    .and_then(|s| Some((s, s.get(&path)?)))
                    .map_or((None, None), |(s, span)| {
                        program_position(s, span, e.line, e.column)
                    });
                errs.push(ScenarioError {
                    path,
                    line,
                    column,
                    message: format!(
                        "program line {}, column {}: {}",
                        e.line, e.column, e.message
                    ),
                });
            }
        }
    }
    for (name, src) in BUILTIN_PROGRAMS {
        if !programs.contains_key(*name) && !scenario.programs.contains_key(*name) {
            programs.insert(
                (*name).to_string(),
                parse_program(src).expect("built-in program parses"),
            );
        }
    }
    let mut push = |path: &str, message: String| {
        let loc = spans.and_then(|s| s.locate(path));
        errs.push(ScenarioError {
            path: path.to_string(),
            line: loc.map(|l| l.0),
            column: loc.map(|l| l.1),
            message,
        });
    };
    for (field, list) in [
        ("expect.always", &scenario.expect.always),
        ("expect.sometimes", &scenario.expect.sometimes),
        ("expect.never", &scenario.expect.never),
    ] {
        for code in list {
            if crate::outcome::Outcome::from_code(code).is_none() {
                push(field, format!("unknown outcome code `{code}`"));
            }
        }
    }
    if let Some(c) = &scenario.challenge {
        c.validate(&mut push);
    }
    if scenario.processes.is_empty() {
        push(
            "process",
            "a scenario needs at least one [[process]]".into(),
        );
    }
    if scenario.processes.len() > MAX_PROCESSES {
        push(
            &format!("process[{MAX_PROCESSES}]"),
            format!(
                "at most {MAX_PROCESSES} processes, got {}",
                scenario.processes.len()
            ),
        );
    }
    let mut threads = 0u64;
    let mut over_threads = None;
    // None once the sum has overflowed 64 bits (reported where it happened):
    // a wrapped sum would pass the cap and then abort on the allocation.
    let mut virt = Some(0u64);
    let overflow = |virt: &mut Option<u64>, count: u32, size: u64, path: String| {
        let v = (*virt)?;
        let sum = u64::from(count)
            .checked_mul(size)
            .and_then(|add| v.checked_add(add));
        *virt = sum;
        sum.is_none().then_some(path)
    };
    for (pi, p) in scenario.processes.iter().enumerate() {
        if p.name.is_empty() || p.name.len() > 15 {
            push(
                &format!("process[{pi}].name"),
                "must be 1 to 15 characters (TASK_COMM_LEN)".into(),
            );
        }
        if !(-1000..=1000).contains(&p.oom_score_adj) {
            push(
                &format!("process[{pi}].oom_score_adj"),
                format!("must be between -1000 and 1000, got {}", p.oom_score_adj),
            );
        }
        if p.stack.0 < PAGE_SIZE || p.stack.0 > (8 << 20) || !p.stack.0.is_multiple_of(PAGE_SIZE) {
            push(
                &format!("process[{pi}].stack"),
                "must be a multiple of 4K between 4K and 8M".into(),
            );
        }
        if p.threads.is_empty() {
            push(
                &format!("process[{pi}].thread"),
                "a process needs at least one [[process.thread]]".into(),
            );
        }
        for (ti, t) in p.threads.iter().enumerate() {
            if t.count == 0 {
                push(
                    &format!("process[{pi}].thread[{ti}].count"),
                    "must be at least 1".into(),
                );
            }
            let before = threads;
            threads += u64::from(t.count);
            // Located at the thread table that passes the cap.
            if before <= u64::from(MAX_THREADS) && threads > u64::from(MAX_THREADS) {
                over_threads = Some(format!("process[{pi}].thread[{ti}].count"));
            }
            let mut overflowed = overflow(
                &mut virt,
                t.count,
                p.stack.0,
                format!("process[{pi}].thread[{ti}].count"),
            );
            match programs.get(&t.program) {
                None if !scenario.programs.contains_key(&t.program) => {
                    push(
                        &format!("process[{pi}].thread[{ti}].program"),
                        format!(
                        "unknown program `{}`; define it under [programs] or use a built-in ({})",
                        t.program,
                        BUILTIN_PROGRAMS.iter().map(|b| b.0).collect::<Vec<_>>().join(", ")
                    ),
                    )
                }
                None => {}
                Some(prog) => {
                    // None once it has overflowed 64 bits.
                    let mut stack_use = Some(0u64);
                    let at = || format!("programs.{}", t.program);
                    for op in &prog.ops {
                        match op {
                            Op::Buf {
                                kind: crate::program::BufKind::Stack,
                                size,
                                ..
                            } => {
                                stack_use = stack_use.and_then(|u| {
                                    u.checked_add(size.checked_next_multiple_of(PAGE_SIZE)?)
                                });
                            }
                            Op::Buf { size, .. } => {
                                overflowed =
                                    overflowed.or_else(|| overflow(&mut virt, t.count, *size, at()))
                            }
                            Op::Map { size, .. } => {
                                if *size > MAX_MAPPING {
                                    push(
                                        &format!("programs.{}", t.program),
                                        format!("a mapping is at most {}", fmt_size(MAX_MAPPING)),
                                    );
                                }
                                overflowed =
                                    overflowed.or_else(|| overflow(&mut virt, t.count, *size, at()))
                            }
                            _ => {}
                        }
                    }
                    if stack_use.is_none_or(|u| u > p.stack.0) {
                        push(
                            &format!("process[{pi}].stack"),
                            format!(
                                "program `{}` puts {} on a {} stack",
                                t.program,
                                stack_use.map_or("more than 2^64 bytes".into(), fmt_size),
                                fmt_size(p.stack.0)
                            ),
                        );
                    }
                }
            }
            if let Some(path) = overflowed {
                push(
                    &path,
                    format!(
                        "the mappings up to here add up to more than 2^64 bytes; all \
                         mappings together are at most {}",
                        fmt_size(MAX_TOTAL_VIRTUAL)
                    ),
                );
            }
        }
    }
    if let Some(path) = over_threads {
        push(
            &path,
            format!("at most {MAX_THREADS} threads in all, got {threads}"),
        );
    }
    if let Some(virt) = virt.filter(|&v| v > MAX_TOTAL_VIRTUAL) {
        push(
            "process",
            format!(
                "all mappings together are at most {}, got {}",
                fmt_size(MAX_TOTAL_VIRTUAL),
                fmt_size(virt)
            ),
        );
    }
    if errs.is_empty() {
        // Only for a scenario that is otherwise valid: it is the text
        // permalinks carry, so it must be within their limits.
        let n = scenario.to_canonical_toml().len();
        if n > MAX_SCENARIO_TEXT {
            errs.push(ScenarioError {
                path: String::new(),
                line: None,
                column: None,
                message: format!(
                    "the canonical text of this scenario is {n} bytes, more than the \
                     {MAX_SCENARIO_TEXT} a permalink carries"
                ),
            });
        }
    }
    if !errs.is_empty() {
        return Err(errs);
    }
    let toggles = resolve_toggles(&scenario);
    let fs = resolve_fs(&scenario.fs);
    let crash = scenario.crash.as_ref().map(|c| match (c.at, c.window) {
        (Some(at), _) => CrashPlan::At(at.0),
        (None, w) => {
            let w = w.unwrap_or_default();
            CrashPlan::Window {
                after: c.after.unwrap_or_default(),
                lo: w[0].0,
                hi: w[1].0,
            }
        }
    });
    let managed_pages = m.memory.0 / PAGE_SIZE;
    let min_free_kbytes = m
        .min_free_kbytes
        .unwrap_or_else(|| derive_min_free_kbytes(managed_pages, m.thp));
    let watermarks = derive_watermarks(min_free_kbytes, managed_pages);
    Ok(ValidScenario {
        kernel_reserved_pages: reserved / PAGE_SIZE,
        scenario,
        toggles,
        fs,
        crash,
        watermarks,
        min_free_kbytes,
        managed_pages,
        programs,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::toml::WORK;

    /// `n` processes, each with an out-of-range `oom_score_adj`: n errors to
    /// locate.
    fn processes(n: usize) -> String {
        let mut t = String::from("version = 1\n[machine]\ncpus = 2\nmemory = \"64M\"\n");
        for i in 0..n {
            t.push_str(&format!(
                "\n[[process]]\nname = \"p{i}\"\noom_score_adj = 5000\n[[process.thread]]\nprogram = \"hog\"\n"
            ));
        }
        t
    }

    /// A `[programs]` table of `n` keys.
    fn keys(n: usize) -> String {
        let mut t = String::from(
            "version = 1\n[machine]\ncpus = 2\nmemory = \"64M\"\n[[process]]\nname = \"a\"\n\
             [[process.thread]]\nprogram = \"p0\"\n[programs]\n",
        );
        for i in 0..n {
            t.push_str(&format!("p{i} = \"\"\n"));
        }
        t
    }

    /// Steps of the reader's lookups (table keys, recorded spans, line
    /// starts) to read and validate `text`, and the errors found.
    fn steps(text: &str) -> (u64, usize) {
        WORK.with(|w| w.set(0));
        let errors = parse_scenario(text).err().map_or(0, |e| e.len());
        (WORK.with(|w| w.get()), errors)
    }

    /// Ten times the input costs about ten times the steps (n log n: at most
    /// 15 times), where a search per error or per key (the quadratic reader)
    /// would cost a hundred times.
    #[test]
    fn reading_and_validating_take_n_log_n_steps() {
        for (what, make, n) in [
            ("processes", processes as fn(usize) -> String, 1_000usize),
            ("keys", keys, 8_000),
        ] {
            let (small, small_errors) = steps(&make(n));
            let (big, big_errors) = steps(&make(10 * n));
            // Each process's error was located; every key was read.
            if what == "processes" {
                assert_eq!(small_errors, n + 2, "{what}");
                assert_eq!(big_errors, 10 * n + 3, "{what}");
            } else {
                assert_eq!((small_errors, big_errors), (0, 0), "{what}");
            }
            assert!(small > n as u64, "{what}: {small} steps for {n}");
            let ratio = big as f64 / small as f64;
            eprintln!(
                "{what}: {n} -> {small} steps, {} -> {big} steps ({ratio:.1}x)",
                10 * n
            );
            assert!(ratio < 15.0, "{what}: {small} -> {big} steps, {ratio:.1}x");
        }
    }
}
