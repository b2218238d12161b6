//! Hostile input against the real `oomlab` binary: every class of bad input
//! the command line can be handed, each try a child process, classified by
//! how it ended.
//!
//! ```text
//! cargo build --release -p oomlab
//! cargo run --release -p oomlab --example hostile -- [--tries N] [--seed S]
//!     [--bin target/release/oomlab] [--class NAME] [--timeout SECS] [--verbose]
//! ```
//!
//! `--tries` is the number of tries of each generated class (fixed lists,
//! such as the caps, have as many tries as entries). The inputs come from
//! oomlab's own PRNG (`oomlab_core::rng`) seeded with `--seed` and the class
//! name, so the same command feeds the same inputs.
//!
//! A try ends as one of:
//! - **clean error**: exit 2, `oomlab: ` or clap's `error: ` on stderr, and,
//!   for input that has a position (scenario text), the line and column;
//! - **success**: exit 0 (1 for a finding of `check`, 130 for an exploration
//!   stopped by `--max-time`, when the class expects it);
//! - **panic**: exit 101, killed by a signal (SIGABRT on a stack overflow,
//!   SIGSEGV, SIGKILL from the kernel's OOM killer), or `panicked` on stderr;
//! - **hang**: still running after `--timeout` seconds (then killed);
//! - **other**: anything else: another exit code, an error without the
//!   position the input has, a merge that accepted an incomplete set of
//!   shards, or user text printed raw (a control character, a bidi override
//!   or a line that user text started) in text output.
//!
//! Then it prints one table row per class with the worst wall time of a try,
//! and the time of the heaviest links within the permalink's decoded cap.
//! Times are wall times of a whole process on whatever else the machine is
//! doing: a bound check, not a benchmark.

// A driver of child processes, outside the model: the model's clock ban
// (clippy.toml) is about the model's code.
#![allow(clippy::disallowed_types, clippy::disallowed_methods)]

use oomlab_core::permalink::{Permalink, MAX_DECODED};
use oomlab_core::rng::{fnv1a64, Rng};
use oomlab_core::{parse_scenario, ChoiceSource};
use std::io::{Read, Write};
use std::os::unix::process::ExitStatusExt;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// What a class expects of a try beyond "no panic, no hang".
#[derive(Clone, Copy, Default)]
struct Expect {
    /// A scenario-text error must name its line.
    located: bool,
    /// Text output must not carry user text raw.
    escaped: bool,
    /// `check` may exit 1 and a `--max-time` exploration 130.
    finding_ok: bool,
    /// For `merge`: whether the set is exactly one complete exploration
    /// (`Some(false)`: it must be refused), or unknown (`None`).
    complete: Option<bool>,
}

struct Try {
    args: Vec<String>,
    stdin: Option<Vec<u8>>,
    expect: Expect,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum End {
    Clean,
    Success,
    Panic,
    Hang,
    Other,
}

struct Ended {
    end: End,
    ms: f64,
    why: String,
}

struct Ctx {
    bin: PathBuf,
    dir: PathBuf,
    timeout: Duration,
    links: Vec<String>,
    /// Sets of shard files, each one complete exploration.
    shard_sets: Vec<Vec<PathBuf>>,
}

/// A small scenario that runs in milliseconds: the template of most classes,
/// with `{NAME}` holes for the fields under attack.
const BASE: &str = r#"version = 1
title = "{TITLE}"
story = "{STORY}"

[machine]
cpus = {CPUS}
memory = {MEM}
kernel_reserved = {KR}
page_cache = {PC}
slab = {SLAB}

[kernel]
preset = "4.13-rc"

[fs]
type = "{FS}"

[limits]
duration = {DUR}
max_steps = {STEPS}
max_trace = {TRACE}

[[process]]
name = "{NAME}"
stack = {STACK}
stacks = "heap"

[[process.thread]]
program = "w"
count = {COUNT}

[[process.thread]]
program = "h"

[programs]
w = """
buf b = stack {BUF}
fill b 0xff
open fd "{PATH}" append
loop {
  write fd b {WLEN}
}
"""
h = """
map area = anon {MAP} populate {POP}
touch area {CHUNK}
"""
"#;

const HOLES: &[(&str, &str)] = &[
    ("TITLE", "hostile"),
    ("STORY", "a story"),
    ("CPUS", "2"),
    ("MEM", "\"64M\""),
    ("KR", "\"8M\""),
    ("PC", "\"2M\""),
    ("SLAB", "\"1M\""),
    ("FS", "btrfs"),
    ("DUR", "\"20ms\""),
    ("STEPS", "2000000"),
    ("TRACE", "200000"),
    ("NAME", "a.out"),
    ("STACK", "\"8K\""),
    ("COUNT", "2"),
    ("BUF", "4096"),
    ("PATH", "/tmp/f.{n}"),
    ("WLEN", "4096"),
    ("MAP", "1G"),
    ("POP", "0"),
    ("CHUNK", "4096"),
];

/// The template with some holes filled and the rest at their defaults.
fn scenario(fill: &[(&str, String)]) -> String {
    let mut t = BASE.to_string();
    for (k, v) in HOLES {
        let v = fill
            .iter()
            .find(|(f, _)| f == k)
            .map_or(v.to_string(), |(_, v)| v.clone());
        t = t.replace(&format!("{{{k}}}"), &v);
    }
    t
}

fn pick<'a, T>(r: &mut Rng, v: &'a [T]) -> &'a T {
    &v[r.below(v.len() as u32) as usize]
}

fn chance(r: &mut Rng, percent: u32) -> bool {
    r.below(100) < percent
}

fn s(v: &[&str]) -> Vec<String> {
    v.iter().map(|x| x.to_string()).collect()
}

impl Ctx {
    fn file(&self, name: &str, bytes: &[u8]) -> String {
        let p = self.dir.join(name);
        std::fs::write(&p, bytes).expect("write a try's input");
        p.display().to_string()
    }

    /// Runs one try: the binary as a child, stdin closed unless the try
    /// feeds it, killed at the timeout.
    fn run(&self, t: &Try) -> Ended {
        let mut cmd = Command::new(&self.bin);
        cmd.args(&t.args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .stdin(if t.stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            });
        let t0 = Instant::now();
        let mut child = cmd.spawn().expect("spawn oomlab");
        let feeder = t.stdin.clone().map(|bytes| {
            let mut w = child.stdin.take().expect("piped stdin");
            // The child may stop reading at its cap: a broken pipe is fine.
            std::thread::spawn(move || {
                let _ = w.write_all(&bytes);
            })
        });
        let reader = |mut r: Box<dyn Read + Send>| {
            std::thread::spawn(move || {
                let mut v = Vec::new();
                let _ = r.read_to_end(&mut v);
                v
            })
        };
        let out = reader(Box::new(child.stdout.take().expect("stdout")));
        let err = reader(Box::new(child.stderr.take().expect("stderr")));
        let status = loop {
            if let Some(st) = child.try_wait().expect("wait") {
                break Some(st);
            }
            if t0.elapsed() > self.timeout {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            std::thread::sleep(Duration::from_micros(500));
        };
        let ms = t0.elapsed().as_secs_f64() * 1e3;
        let stdout = out.join().unwrap_or_default();
        let stderr = err.join().unwrap_or_default();
        if let Some(f) = feeder {
            let _ = f.join();
        }
        let stderr = String::from_utf8_lossy(&stderr).into_owned();
        let Some(st) = status else {
            return Ended {
                end: End::Hang,
                ms,
                why: format!("no exit after {:?}", self.timeout),
            };
        };
        let first =
            |s: &str| -> String { s.lines().next().unwrap_or("").chars().take(200).collect() };
        if st.signal().is_some() || st.code() == Some(101) || stderr.contains("panicked") {
            return Ended {
                end: End::Panic,
                ms,
                why: format!("{st}: {}", first(&stderr)),
            };
        }
        let code = st.code().unwrap_or(-1);
        let e = &t.expect;
        if e.escaped {
            if let Some(why) = raw_text(&stdout).or_else(|| raw_text(stderr.as_bytes())) {
                return Ended {
                    end: End::Other,
                    ms,
                    why,
                };
            }
        }
        let end = match code {
            0 if e.complete == Some(false) => {
                return Ended {
                    end: End::Other,
                    ms,
                    why: "merged an incomplete set of shards".into(),
                }
            }
            0 => End::Success,
            1 | 130 if e.finding_ok => End::Success,
            2 if e.complete == Some(true) => {
                return Ended {
                    end: End::Other,
                    ms,
                    why: format!("refused a complete set: {}", first(&stderr)),
                }
            }
            2 if stderr.starts_with("oomlab: ") || stderr.starts_with("error: ") => {
                let scenario_error =
                    stderr.contains("invalid scenario") || stderr.contains("scenario is invalid");
                // Whole-text errors (its size, a table it lacks) have no
                // position.
                let whole = stderr.contains("larger than")
                    || stderr.contains("needs at least one")
                    || stderr.contains("missing `version`");
                if e.located && scenario_error && !whole && !stderr.contains("line ") {
                    return Ended {
                        end: End::Other,
                        ms,
                        why: format!("no line: {}", first(&stderr)),
                    };
                }
                End::Clean
            }
            _ => End::Other,
        };
        let why = match end {
            End::Other => format!("exit {code}: {}", first(&stderr)),
            End::Success => {
                let out = String::from_utf8_lossy(&stdout);
                let verdict = out
                    .lines()
                    .find(|l| l.contains("verdict") || l.contains("outcome"));
                first(verdict.unwrap_or(""))
            }
            _ => stderr
                .trim_start_matches("oomlab: ")
                .trim_start_matches("invalid scenario\n")
                .replace('\n', " / ")
                .chars()
                .take(150)
                .collect(),
        };
        Ended { end, ms, why }
    }
}

/// The first raw control character, bidi override or injected line in text
/// output, if any. Tabs and the output's own newlines are fine; a line that
/// starts with the marker the inputs put after their newlines is not.
fn raw_text(bytes: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(bytes);
    for (i, c) in text.char_indices() {
        let bad = (c.is_control() && c != '\n' && c != '\t')
            || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}');
        if bad {
            let from = text[..i].char_indices().rev().nth(30).map_or(0, |(j, _)| j);
            return Some(format!("raw U+{:04X} after {:?}", c as u32, &text[from..i]));
        }
    }
    text.lines()
        .find(|l| l.starts_with("ZZFAKE"))
        .map(|l| format!("a line started by user text: {l:?}"))
}

// ---------------------------------------------------------------- classes

/// Valid links, bit-flipped, cut, spliced, or replaced by random base64.
fn mutated_links(c: &Ctx, r: &mut Rng, _i: usize) -> Try {
    const B64: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let base = pick(r, &c.links).clone();
    let mut b = base.clone().into_bytes();
    match r.below(6) {
        0 => {
            for _ in 0..1 + r.below(4) {
                let at = r.below(b.len() as u32) as usize;
                b[at] ^= 1 << r.below(7);
            }
        }
        1 => {
            let n = r.below(b.len() as u32) as usize;
            b.truncate(n);
        }
        2 => {
            let other = pick(r, &c.links).as_bytes();
            let at = r.below(b.len() as u32) as usize;
            let from = r.below(other.len() as u32) as usize;
            b.truncate(at);
            b.extend_from_slice(&other[from..]);
        }
        3 => {
            let n = r.below(3000) as usize;
            b = b"v1.".to_vec();
            b.extend((0..n).map(|_| B64[r.below(64) as usize]));
        }
        4 => {
            for _ in 0..1 + r.below(4) {
                let at = r.below(b.len() as u32) as usize;
                b[at] = B64[r.below(64) as usize];
            }
        }
        _ => {
            let at = r.below(b.len() as u32) as usize;
            let junk: Vec<u8> = (0..1 + r.below(8))
                .map(|_| *pick(r, b"#=.v1 %?&/+"))
                .collect();
            b.splice(at..at, junk);
        }
    }
    let link = String::from_utf8_lossy(&b).into_owned();
    let cmd = *pick(r, &["replay", "replay", "scenario", "export", "shrink"]);
    let mut args = s(&[cmd]);
    let stdin = if chance(r, 20) {
        args.push("-".into());
        Some(link.into_bytes())
    } else {
        args.push(link);
        None
    };
    if cmd == "export" {
        args.extend(s(&["--format", "ascii"]));
    }
    if cmd == "shrink" {
        args.extend(s(&["--max-runs", "20"]));
    }
    Try {
        args,
        stdin,
        expect: Expect {
            located: true,
            ..Expect::default()
        },
    }
}

fn deflate_link(payload: &str) -> String {
    // The permalink's own format: `v1.` + base64url(deflate(payload)).
    let z = miniz_oxide::deflate::compress_to_vec(payload.as_bytes(), 9);
    const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::from("v1.");
    for chunk in z.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | u32::from(*b) << (16 - 8 * i));
        for k in 0..=chunk.len() {
            out.push(B64[(n >> (18 - 6 * k) & 63) as usize] as char);
        }
    }
    out
}

/// Well-compressed links whose payload is damaged under the compression:
/// header lines, choice lists and scenario text edited, the hash fixed up so
/// that the damage reaches the parsers behind it.
fn mutated_payloads(c: &Ctx, r: &mut Rng, _i: usize) -> Try {
    let p = Permalink::decode(pick(r, &c.links[..]).as_str()).expect("a valid link");
    let mut text = p.scenario_text.clone();
    let mut head = vec![
        "oomlab-permalink 1".to_string(),
        format!("model {}", oomlab_core::MODEL_VERSION),
        format!("seed {}", p.source.seed()),
    ];
    match r.below(8) {
        0 => {
            let n = 1 + r.below(5000);
            head.push(format!("replay {}", list(r, n)))
        }
        1 => {
            let n = 2 * (1 + r.below(500));
            head.push(format!("deviations {}", list(r, n)))
        }
        2 => head.push(format!(
            "window {} {}",
            pick(r, &["0", "1", "4294967295", "4294967296", "-1", "x"]),
            r.next_u64()
        )),
        3 => head.push(
            pick(
                r,
                &[
                    "replay",
                    "replay ,",
                    "deviations 1",
                    "bogus 1",
                    "compare",
                    "compare x=1",
                    "compare kernel.preset=9",
                ],
            )
            .to_string(),
        ),
        4 => head[1] = format!("model {}", pick(r, &["0", "3", "99", "4294967296", ""])),
        5 => {
            head[2] = format!(
                "seed {}",
                pick(
                    r,
                    &["18446744073709551615", "18446744073709551616", "-1", ""]
                )
            )
        }
        6 => {
            // A byte of the scenario replaced by a random printable one.
            let at = r.below(text.len() as u32) as usize;
            let ch = char::from(32 + r.below(95) as u8);
            if text.is_char_boundary(at) && text.is_char_boundary(at + 1) {
                text.replace_range(at..at + 1, &ch.to_string());
            }
        }
        _ => {
            let at = r.below(text.len() as u32) as usize;
            if text.is_char_boundary(at) {
                text.truncate(at);
            }
        }
    }
    let hash = if chance(r, 90) {
        fnv1a64(text.as_bytes())
    } else {
        r.next_u64()
    };
    let payload = format!("{}\nhash {hash:016x}\nscenario\n{text}", head.join("\n"));
    let link = deflate_link(&payload);
    Try {
        args: s(&["replay", &link]),
        stdin: None,
        expect: Expect {
            located: true,
            ..Expect::default()
        },
    }
}

fn list(r: &mut Rng, n: u32) -> String {
    (0..n)
        .map(|_| match r.below(20) {
            0 => "4294967295".to_string(),
            1 => r.next_u64().to_string(),
            _ => r.below(8).to_string(),
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// A scenario given as a file, on stdin, or inside a link.
fn scenario_try(c: &Ctx, r: &mut Rng, i: usize, text: Vec<u8>, expect: Expect) -> Try {
    match r.below(10) {
        0..=5 => {
            let f = c.file(&format!("s{i}.toml"), &text);
            Try {
                args: s(&["run", &f]),
                stdin: None,
                expect,
            }
        }
        6 | 7 => Try {
            args: s(&["run", "-"]),
            stdin: Some(text),
            expect,
        },
        _ => {
            // A link built by hand can carry any text: the decoder must
            // hold it to the same caps as a file.
            let text = String::from_utf8_lossy(&text).into_owned();
            let link = Permalink {
                model_version: oomlab_core::MODEL_VERSION,
                scenario_text: text,
                source: ChoiceSource::Seed(0),
                compare: Vec::new(),
            }
            .encode();
            Try {
                args: s(&["replay", "-"]),
                stdin: Some(link.into_bytes()),
                expect,
            }
        }
    }
}

fn located() -> Expect {
    Expect {
        located: true,
        ..Expect::default()
    }
}

/// Arrays, inline tables, dotted keys and headers nested around the cap and
/// far past it.
fn nesting(c: &Ctx, r: &mut Rng, i: usize) -> Try {
    let depth = match r.below(4) {
        0 => 60 + r.below(10) as usize,
        1 => 1 + r.below(200) as usize,
        2 => *pick(r, &[1000, 19_000, 100_000, 300_000]),
        _ => r.below(500_000) as usize,
    };
    let close = chance(r, 50);
    let body = match r.below(6) {
        0 => format!(
            "x = {}1{}",
            "[".repeat(depth),
            if close {
                "]".repeat(depth)
            } else {
                String::new()
            }
        ),
        1 => format!(
            "x = {}1{}",
            "{a=".repeat(depth),
            if close {
                "}".repeat(depth)
            } else {
                String::new()
            }
        ),
        2 => {
            let mut t = String::from("x = ");
            for k in 0..depth {
                t.push_str(if k % 2 == 0 { "[" } else { "{a=" });
            }
            t.push('1');
            for k in (0..depth).rev() {
                if close {
                    t.push(if k % 2 == 0 { ']' } else { '}' });
                }
            }
            t
        }
        3 => format!("{} = 1", vec!["a"; depth.min(200_000)].join(".")),
        4 => format!("[{}]\nk = 1", vec!["a"; depth.min(200_000)].join(".")),
        _ => format!("[[{}]]\nk = 1", vec!["a"; depth.min(200_000)].join(".")),
    };
    let mut text = scenario(&[]);
    // Inside [machine] (a known table), or at the top before any table.
    if chance(r, 50) {
        text = text.replacen("[machine]\n", &format!("[machine]\n{body}\n"), 1);
    } else {
        text = text.replacen("version = 1\n", &format!("version = 1\n{body}\n"), 1);
    }
    scenario_try(c, r, i, text.into_bytes(), located())
}

const SIZE_VALUES: &[&str] = &[
    "0",
    "1",
    "4095",
    "4097",
    "-1",
    "-4096",
    "9223372036854775807",
    "9223372036854775808",
    "18446744073709551615",
    "18446744073709551616",
    "340282366920938463463374607431768211456",
    "99999999999999999999999999999999999999999999",
    "\"16E\"",
    "\"17179869184G\"",
    "\"18014398509481984K\"",
    "\"18446744073709551615K\"",
    "\"9007199254740992M\"",
    "\"1.5G\"",
    "\"-4K\"",
    "\"0x10\"",
    "\"4G\"",
    "\"4097M\"",
    "\"16G\"",
    "\"17G\"",
    "\"\"",
    "\"K\"",
    "\"1KK\"",
    "1e30",
    "nan",
    "inf",
    "-inf",
    "1.0",
    "true",
    "[]",
    "{}",
    "0x7fffffffffffffff",
    "0o777",
    "0b1",
    "1_000",
    "+1",
];

/// Fields that take a size, a count or a duration, and the form they take
/// (program statements take sizes bare, TOML values quote their strings).
const SIZE_FIELDS: &[(&str, bool)] = &[
    ("CPUS", false),
    ("MEM", false),
    ("KR", false),
    ("PC", false),
    ("SLAB", false),
    ("DUR", false),
    ("STEPS", false),
    ("TRACE", false),
    ("STACK", false),
    ("COUNT", false),
    ("BUF", true),
    ("WLEN", true),
    ("MAP", true),
    ("POP", true),
    ("CHUNK", true),
];

fn hostile_number(r: &mut Rng) -> String {
    match r.below(4) {
        0 => r.next_u64().to_string(),
        1 => format!(
            "\"{}{}\"",
            r.next_u64() >> r.below(64),
            pick(
                r,
                &["", "K", "M", "G", "T", "P", "E", "ns", "us", "ms", "s"]
            )
        ),
        _ => pick(r, SIZE_VALUES).to_string(),
    }
}

/// Every size, count and duration field, one (or a few) at a time, set to
/// values at, past and far past what fits in 64 bits.
fn size_overflow(c: &Ctx, r: &mut Rng, i: usize) -> Try {
    let mut fill = Vec::new();
    for _ in 0..1 + r.below(3) {
        let (k, bare) = *pick(r, SIZE_FIELDS);
        let mut v = hostile_number(r);
        if bare {
            v = v.trim_matches('"').to_string();
        }
        fill.push((k, v));
    }
    // Two mappings of half the address space each: their sum wraps.
    if chance(r, 10) {
        fill.push(("COUNT", "2".into()));
        fill.push(("MAP", "9223372036854775808".into()));
    }
    let text = scenario(&fill);
    scenario_try(c, r, i, text.into_bytes(), located())
}

/// Processes, threads, programs and keys at their caps and just past them,
/// and far more keys than any table has.
fn many(c: &Ctx, r: &mut Rng, i: usize) -> Try {
    let head = "version = 1\n[machine]\ncpus = 2\nmemory = \"64M\"\n[limits]\nduration = \"5ms\"\n";
    let n = |r: &mut Rng, cap: usize| -> usize {
        match r.below(3) {
            0 => cap,
            1 => cap + 1,
            _ => cap + r.below(cap as u32 * 4) as usize,
        }
    };
    let mut t = String::from(head);
    match r.below(6) {
        0 => {
            for p in 0..n(r, 64) {
                t.push_str(&format!(
                    "[[process]]\nname = \"p{p}\"\n[[process.thread]]\nprogram = \"hog\"\n"
                ));
            }
        }
        1 => {
            let total = n(r, 1024);
            t.push_str("[[process]]\nname = \"a\"\n");
            let tables = 1 + r.below(total as u32) as usize;
            for k in 0..tables {
                let count = total / tables + usize::from(k < total % tables);
                t.push_str(&format!(
                    "[[process.thread]]\nprogram = \"hog\"\ncount = {count}\n"
                ));
            }
        }
        2 => {
            let k = n(r, 10_000);
            t.push_str(
                "[[process]]\nname = \"a\"\n[[process.thread]]\nprogram = \"p0\"\n[programs]\n",
            );
            for p in 0..k {
                t.push_str(&format!("p{p} = \"sleep 1ms\"\n"));
            }
        }
        3 => {
            // Unknown keys: each one an error, a capped list of them reported.
            let k = *pick(r, &[10, 100, 1000, 10_000, 60_000]);
            t.push_str(
                "[[process]]\nname = \"a\"\n[[process.thread]]\nprogram = \"hog\"\n[machine.x]\n",
            );
            for p in 0..k {
                t.push_str(&format!("k{p} = 1\n"));
            }
        }
        4 => {
            // The same key, again and again.
            let k = *pick(r, &[2, 100, 10_000, 60_000]);
            t.push_str(
                "[[process]]\nname = \"a\"\n[[process.thread]]\nprogram = \"hog\"\n[machine]\n",
            );
            for _ in 0..k {
                t.push_str("cpus = 2\n");
            }
        }
        _ => {
            // Many processes, each with an error of its own.
            let k = *pick(r, &[65, 1000, 10_000]);
            for p in 0..k {
                t.push_str(&format!(
                    "[[process]]\nname = \"p{p}\"\noom_score_adj = 5000\n[[process.thread]]\nprogram = \"hog\"\n"
                ));
            }
        }
    }
    scenario_try(c, r, i, t.into_bytes(), located())
}

/// Titles and stories at their caps, past them, and up to the text's cap,
/// in one- to four-byte characters.
fn long_text(c: &Ctx, r: &mut Rng, i: usize) -> Try {
    let ch = *pick(r, &["a", "é", "日", "𝄞", "e\u{301}"]);
    let (key, cap) = *pick(r, &[("TITLE", 200usize), ("STORY", 4000)]);
    let len = match r.below(4) {
        0 => cap,
        1 => cap + 1,
        2 => cap - 1,
        _ => r.below(1 << 20) as usize / ch.len(),
    };
    let text = scenario(&[(key, ch.repeat(len))]);
    let mut t = scenario_try(c, r, i, text.into_bytes(), located());
    if t.args[0] == "run" && chance(r, 30) {
        t.args.push("--trace".into());
    }
    t
}

const NASTY: &[&str] = &[
    "\\u001b[2J\\u001b[31m",
    "\\u0007",
    "\\u202e",
    "\\u2066",
    "\\nZZFAKE [    0.000000] oom_reaper: reaped",
    "\\r",
    "\\u0000",
    "\\u0085",
    "\\u009b31m",
    "\\u007f",
    "\\t",
    "\\b",
    "\\u001b]0;title\\u0007",
];

/// Control characters, bidi overrides and newlines in every place user text
/// goes: title, story, process name, paths, program names, unknown keys and
/// values that errors quote; the text output must show them escaped.
fn control_chars(c: &Ctx, r: &mut Rng, i: usize) -> Try {
    let nasty = |r: &mut Rng| {
        let mut v = String::from("x");
        for _ in 0..1 + r.below(3) {
            let n: &&str = pick(r, NASTY);
            v.push_str(n);
            v.push('y');
        }
        v
    };
    let field = *pick(
        r,
        &["TITLE", "STORY", "NAME", "PATH", "FS", "key", "prog", "raw"],
    );
    let v = nasty(r);
    let text = match field {
        "key" => scenario(&[]).replace("[machine]\n", &format!("[machine]\n\"{v}\" = 1\n")),
        "prog" => scenario(&[]).replace("program = \"h\"", &format!("program = \"{v}\"")),
        "raw" => {
            // Raw control bytes in the text: TOML forbids them in strings.
            let raw = pick(
                r,
                &["\u{1b}[2J", "\u{7}", "\u{202e}", "\r", "\u{0}", "\u{85}"],
            )
            .to_string();
            scenario(&[("TITLE", format!("x{raw}y"))])
        }
        f => scenario(&[(f, v)]),
    };
    let mut t = scenario_try(c, r, i, text.clone().into_bytes(), located());
    if t.args[0] == "run" {
        match r.below(4) {
            0 => t.args.push("--trace".into()),
            1 => {
                t.args[0] = "explore".into();
                t.args.extend(s(&["--runs", "2"]));
            }
            2 => {
                // A text export of the scenario's link, when it is valid.
                if let Ok(sc) = parse_scenario(&text) {
                    let link = Permalink::new(&sc, ChoiceSource::Seed(r.next_u64())).encode();
                    let fmt = *pick(r, &["text", "ascii", "ftrace"]);
                    t.args = s(&["export", &link, "--format", fmt]);
                }
            }
            _ => {}
        }
    }
    t.expect.escaped = true;
    t
}

/// Bytes that are not UTF-8, NUL bytes, a BOM and cut multi-byte characters
/// anywhere in a scenario, and in a link on stdin.
fn invalid_utf8(c: &Ctx, r: &mut Rng, i: usize) -> Try {
    const BAD: &[&[u8]] = &[
        b"\x00",
        b"\x80",
        b"\xff",
        b"\xc0\xaf",
        b"\xed\xa0\x80",
        b"\xf4\x90\x80\x80",
        b"\xe6\x97",
        b"\xef\xbb\xbf",
        b"\xfe\xff",
        b"\x00\x00\x00",
    ];
    if chance(r, 15) {
        let mut l = pick(r, &c.links).clone().into_bytes();
        let at = r.below(l.len() as u32) as usize;
        l.splice(at..at, pick(r, BAD).iter().copied());
        return Try {
            args: s(&[*pick(r, &["replay", "scenario"]), "-"]),
            stdin: Some(l),
            expect: Expect {
                escaped: true,
                ..Expect::default()
            },
        };
    }
    let mut b = scenario(&[]).into_bytes();
    for _ in 0..1 + r.below(3) {
        let at = r.below(b.len() as u32 + 1) as usize;
        b.splice(at..at, pick(r, BAD).iter().copied());
    }
    let mut t = scenario_try(c, r, i, b, located());
    // A link's payload is UTF-8 by construction; the raw bytes go to files
    // and stdin only.
    if t.args[0] == "replay" {
        t.args = s(&["run", "-"]);
    }
    t.expect.escaped = true;
    t
}

/// Random programs from the statement grammar, with names, sizes and
/// lengths (a write or memcpy past its buffer among them) drawn at random,
/// and some lines cut or garbled.
fn programs(c: &Ctx, r: &mut Rng, i: usize) -> Try {
    let names = ["b", "m", "fd", "x", "b2"];
    let size = |r: &mut Rng| -> String {
        match r.below(6) {
            0 => (4096 * (1 + r.below(4))).to_string(),
            1 => r.below(20_000).to_string(),
            2 => pick(r, &["4K", "8K", "1M", "64M", "1G", "4G", "16E", "0"]).to_string(),
            3 => r.next_u64().to_string(),
            _ => "4096".to_string(),
        }
    };
    // Most programs define their names first, so that the statements after
    // reach the checks of sizes and lengths, not only "used before defined".
    let mut lines = Vec::new();
    if chance(r, 85) {
        let heap = if chance(r, 50) { "heap" } else { "stack" };
        lines.push(format!(
            "buf b = {heap} {}",
            if chance(r, 70) {
                "4096".into()
            } else {
                size(r)
            }
        ));
        lines.push(format!(
            "map m = anon {}",
            if chance(r, 70) { "1M".into() } else { size(r) }
        ));
        lines.push("open fd \"/tmp/f.{n}\" append".into());
    }
    let mut open_loops = 0;
    for _ in 0..1 + r.below(12) {
        let ok = chance(r, 85);
        let n = if ok {
            *pick(r, &["b", "m"])
        } else {
            *pick(r, &names)
        };
        let n = if ok && chance(r, 30) { "fd" } else { n };
        let m = if ok {
            *pick(r, &["b", "m"])
        } else {
            *pick(r, &names)
        };
        // A statement that defines a name takes a fresh one (a name is
        // defined once per kind).
        let fresh = format!("v{}", lines.len());
        let d = if ok { fresh.as_str() } else { n };
        let line = match r.below(16) {
            0 => format!(
                "buf {d} = {} {}",
                pick(r, &["stack", "heap", "shmem", "mlock", "bogus"]),
                size(r)
            ),
            1 => format!("map {d} = anon {} populate {}", size(r), size(r)),
            2 => format!("map {d} = shared_anon {}", size(r)),
            3 => format!(
                "map {d} = file \"/tmp/m\" {} {}",
                pick(r, &["shared", "private", "x"]),
                size(r)
            ),
            4 => format!("munmap {n}"),
            5 => format!(
                "fill {n} {}",
                pick(r, &["0xff", "255", "256", "-1", "0x100", "x"])
            ),
            6 => format!(
                "touch {n} {}",
                if chance(r, 50) {
                    size(r)
                } else {
                    String::new()
                }
            ),
            7 => format!(
                "open {d} \"/tmp/f.{{n}}\" {}",
                pick(r, &["append", "", "x"])
            ),
            8 | 9 if ok => format!(
                "write fd {m} {}",
                if chance(r, 70) {
                    size(r)
                } else {
                    String::new()
                }
            ),
            8 | 9 => format!(
                "write {n} {m} {}",
                if chance(r, 70) {
                    size(r)
                } else {
                    String::new()
                }
            ),
            10 => format!("memcpy {n} {m} {}", size(r)),
            11 => format!(
                "{} {}",
                pick(r, &["sleep", "spin"]),
                pick(
                    r,
                    &[
                        "1ms",
                        "0",
                        "10us",
                        "18446744073709551615ns",
                        "999999999999s",
                        "x"
                    ]
                )
            ),
            12 => {
                open_loops += 1;
                format!(
                    "loop {}{{",
                    pick(r, &["", "3 ", "0 ", "4294967296 ", "18446744073709551616 "])
                )
            }
            13 if open_loops > 0 => {
                open_loops -= 1;
                "}".to_string()
            }
            14 => format!(
                "{} \"{}\"",
                pick(r, &["kill", "process_mrelease"]),
                pick(r, &["a.out", "nobody", ""])
            ),
            _ => format!(
                "exit_group {}",
                pick(r, &["", "0", "-1", "256", "99999999999"])
            ),
        };
        lines.push(line);
    }
    for _ in 0..open_loops {
        if chance(r, 80) {
            lines.push("}".into());
        }
    }
    if chance(r, 20) {
        let k = r.below(lines.len() as u32) as usize;
        let l = &mut lines[k];
        let cut = r.below(l.len() as u32 + 1) as usize;
        l.truncate(cut);
    }
    let prog = lines.join("\n").replace('"', "\\\"");
    let text = scenario(&[]).replace(
        "h = \"\"\"\n",
        &format!("z = \"{}\"\nh = \"\"\"\n", prog.replace('\n', "\\n")),
    );
    let text = text.replace("program = \"h\"", "program = \"z\"");
    scenario_try(c, r, i, text.into_bytes(), located())
}

/// Shard sets for `merge`: complete ones in any order, and sets with a shard
/// missing, twice, from another exploration, cut short or edited.
fn merge(c: &Ctx, r: &mut Rng, i: usize) -> Try {
    let set = pick(r, &c.shard_sets).clone();
    let mut files: Vec<String> = set.iter().map(|p| p.display().to_string()).collect();
    let mut complete = Some(true);
    match r.below(7) {
        0 => {}
        1 => {
            files.remove(r.below(files.len() as u32) as usize);
            complete = Some(false);
        }
        2 => {
            let k = r.below(files.len() as u32) as usize;
            files.push(files[k].clone());
            complete = Some(false);
        }
        3 => {
            // A shard of another split or another seed in place of one.
            let other = pick(r, &c.shard_sets);
            let k = r.below(files.len() as u32) as usize;
            let o = other[r.below(other.len() as u32) as usize]
                .display()
                .to_string();
            complete = if files[k] == o { Some(true) } else { None };
            files[k] = o;
        }
        4 | 5 => {
            let k = r.below(files.len() as u32) as usize;
            let mut b = std::fs::read(&files[k]).expect("a shard");
            if r.below(2) == 0 {
                let cut = r.below(b.len() as u32) as usize;
                b.truncate(cut);
            } else {
                for _ in 0..1 + r.below(4) {
                    let at = r.below(b.len() as u32) as usize;
                    b[at] = *pick(r, b"0123456789,{}[]\":-.ex \x00\xff");
                }
            }
            files[k] = c.file(&format!("m{i}.json"), &b);
            complete = None;
        }
        _ => {
            files.push(pick(r, &["/dev/null", "/dev/zero", "/", "/nonexistent"]).to_string());
            complete = Some(false);
        }
    }
    // Order does not matter to a merge.
    for k in (1..files.len()).rev() {
        let j = r.below(k as u32 + 1) as usize;
        files.swap(k, j);
    }
    let mut args = vec!["merge".to_string()];
    if chance(r, 50) {
        args.insert(0, "--json".into());
    }
    args.extend(files);
    Try {
        args,
        stdin: None,
        expect: Expect {
            complete,
            ..Expect::default()
        },
    }
}

/// Out-of-range and absurd values of every numeric option.
fn absurd_cli(c: &Ctx, _r: &mut Rng, i: usize) -> Try {
    let f = c.file("cli.toml", scenario(&[]).as_bytes());
    let link = c.links[0].clone();
    let cases: Vec<Vec<String>> = vec![
        s(&["explore", &f, "--jobs", "100000", "--runs", "4"]),
        s(&["explore", &f, "--jobs", "0", "--runs", "4"]),
        s(&["explore", &f, "--jobs", "18446744073709551616"]),
        s(&["explore", &f, "--runs", "0"]),
        s(&["explore", &f, "--runs", "-1"]),
        s(&["explore", &f, "--runs", "1000000001"]),
        s(&["explore", &f, "--runs", "18446744073709551615"]),
        s(&["explore", &f, "--runs", "1000000000", "--max-time", "1s"]),
        s(&["explore", &f, "--runs", "1000000000", "--max-time", "0s"]),
        s(&["explore", &f, "--max-time", "18446744073709551615h"]),
        s(&["explore", &f, "--max-time", "-1s"]),
        s(&["explore", &f, "--max-time", "1d"]),
        s(&["explore", &f, "--shard", "3/3"]),
        s(&["explore", &f, "--shard", "0/0"]),
        s(&[
            "explore",
            &f,
            "--shard",
            "18446744073709551615/18446744073709551615",
        ]),
        s(&["explore", &f, "--shard", "1/2/3"]),
        s(&[
            "explore",
            &f,
            "--seed",
            "18446744073709551615",
            "--runs",
            "4",
        ]),
        s(&["explore", &f, "--window", "kill", "--prefixes", "0"]),
        s(&["explore", &f, "--window", "kill", "--prefixes", "100001"]),
        s(&[
            "explore",
            &f,
            "--window",
            "kill:18446744073709551615s",
            "--runs",
            "2",
            "--prefixes",
            "2",
        ]),
        s(&["explore", &f, "--window", "func=", "--runs", "2"]),
        s(&["explore", &f, "--window", "time=-1ms"]),
        s(&[
            "explore",
            &f,
            "--window",
            "kill",
            "--strategy",
            "exhaustive",
            "--bound",
            "4",
        ]),
        s(&[
            "explore",
            &f,
            "--window",
            "kill",
            "--strategy",
            "exhaustive",
            "--bound",
            "0",
        ]),
        s(&[
            "explore",
            &f,
            "--strategy",
            "exhaustive",
            "--runs",
            "1000000000",
            "--max-time",
            "1s",
        ]),
        s(&["check", &f, "--runs", "0"]),
        s(&["check", &f, "--runs", "1000000000", "--max-time", "1s"]),
        s(&["sweep", &f, "--vary", "machine.cpus=1,2", "--runs", "0"]),
        s(&[
            "sweep",
            &f,
            "--vary",
            "machine.cpus=1,2",
            "--runs",
            "1000001",
        ]),
        s(&[
            "sweep",
            &f,
            "--vary",
            "machine.cpus=0,65,18446744073709551616",
            "--runs",
            "1",
        ]),
        s(&["sweep", &f, "--vary", "nonexistent.key=1", "--runs", "1"]),
        s(&["sweep", &f, "--vary", "machine.memory=1,2", "--runs", "1"]),
        s(&[
            "sweep",
            &f,
            "--vary",
            &format!("machine.cpus={}", vec!["2"; 10_001].join(",")),
            "--runs",
            "1",
        ]),
        s(&[
            "sweep",
            &f,
            "--vary",
            "process.0.thread.0.count=1,2",
            "--vary",
            "process.0.thread.0.count=3",
            "--runs",
            "1",
        ]),
        s(&[
            "sweep",
            &f,
            "--vary",
            "process.99.thread.0.count=1",
            "--runs",
            "1",
        ]),
        s(&["run", &f, "--seed", "18446744073709551616"]),
        s(&["run", &f, "--seed", "-1"]),
        s(&["rewind", &link, "--points", "1"]),
        s(&["rewind", &link, "--points", "101"]),
        s(&["rewind", &link, "--samples", "0"]),
        s(&["rewind", &link, "--samples", "10001"]),
        s(&["rewind", &link, "--points", "4294967296"]),
        s(&["shrink", &link, "--max-runs", "0"]),
        s(&["shrink", &link, "--outcome", "nonsense"]),
        s(&["export", &link, "--format", "ascii", "--rows", "0"]),
        s(&["export", &link, "--format", "ascii", "--rows", "1000000000"]),
        s(&[
            "export",
            &link,
            "--format",
            "ascii",
            "--rows",
            "18446744073709551615",
        ]),
        s(&["export", &link, "--format", "pdf"]),
        s(&[
            "export",
            &link,
            "--format",
            "text",
            "--output",
            "/nonexistent/dir/x",
        ]),
        s(&["export", &link, "--format", "text", "--output", "/dev/full"]),
        s(&["completions", "tcsh"]),
        s(&["run"]),
        s(&["replay"]),
        s(&["replay", ""]),
        s(&["merge"]),
        s(&["run", "--preset", "nonexistent"]),
        s(&["run", "--preset", "r1", &f]),
    ];
    let args = cases[i % cases.len()].clone();
    let max_time = args.iter().any(|a| a == "--max-time");
    Try {
        args: args.clone(),
        stdin: None,
        expect: Expect {
            finding_ok: max_time || args[0] == "shrink" || args[0] == "check",
            ..Expect::default()
        },
    }
}

const ABSURD_CASES: usize = 57;

/// Files past the size cap, endless devices, directories, and endless
/// stdin, for every command that reads a file or stdin.
fn huge(c: &Ctx, _r: &mut Rng, i: usize) -> Try {
    let cap = oomlab_core::scenario::MAX_SCENARIO_TEXT;
    let mut over = scenario(&[]).into_bytes();
    over.resize(cap + 1, b'\n');
    let over = c.file("over.toml", &over);
    let mut at = scenario(&[]).into_bytes();
    at.push(b'#');
    at.resize(cap, b' ');
    let at = c.file("at.toml", &at);
    let big_json = {
        let mut v = b"{\"schema_version\": 1, \"x\": \"".to_vec();
        v.resize(64 << 20, b'a');
        v.extend_from_slice(b"\"}");
        c.file("big.json", &v)
    };
    let zeros = vec![0u8; 16 << 20];
    let link_ish = vec![b'A'; 16 << 20];
    let cases: Vec<(Vec<String>, Option<Vec<u8>>)> = vec![
        (s(&["run", &over]), None),
        (s(&["run", &at]), None),
        (s(&["run", "/dev/zero"]), None),
        (s(&["run", "/dev/urandom"]), None),
        (s(&["run", "/"]), None),
        (s(&["run", "/nonexistent"]), None),
        (s(&["explore", "/dev/zero"]), None),
        (s(&["check", "/dev/zero"]), None),
        (s(&["sweep", "/dev/zero", "--vary", "machine.cpus=1"]), None),
        (s(&["run", "-"]), Some(zeros.clone())),
        (s(&["replay", "-"]), Some(zeros.clone())),
        (s(&["replay", "-"]), Some(link_ish.clone())),
        (s(&["scenario", "-"]), Some(link_ish)),
        (s(&["merge", "/dev/zero"]), None),
        (s(&["merge", "/dev/urandom"]), None),
        (s(&["merge", &big_json]), None),
        (s(&["merge", &big_json, &big_json]), None),
        (s(&["merge", "/"]), None),
    ];
    let (args, stdin) = cases[i % cases.len()].clone();
    Try {
        args,
        stdin,
        expect: located(),
    }
}

const HUGE_CASES: usize = 18;

// ------------------------------------------------------- the worst links

/// A link carrying `payload` as it stands (the decoder's own format).
fn payload_link(head: &[String], text: &str) -> (String, usize) {
    let payload = format!(
        "oomlab-permalink 1\nmodel {}\n{}\nhash {:016x}\nscenario\n{text}",
        oomlab_core::MODEL_VERSION,
        head.join("\n"),
        fnv1a64(text.as_bytes())
    );
    (deflate_link(&payload), payload.len())
}

/// A comma list of `pairs`-tuples, as long as fits in `budget` bytes.
fn filler(budget: usize, pairs: bool) -> String {
    let mut l = String::new();
    let mut k = 0u32;
    while l.len() + 24 < budget {
        if !l.is_empty() {
            l.push(',');
        }
        if pairs {
            l.push_str(&format!("{k},{}", k % 3));
        } else {
            l.push_str(&(k % 7).to_string());
        }
        k += 1;
    }
    l
}

/// The heaviest links within the decoded cap (4 MiB): the most a link can
/// make the binary read, parse and check before it refuses or runs.
fn worst_links() -> Vec<(&'static str, String, usize)> {
    let cap = oomlab_core::scenario::MAX_SCENARIO_TEXT;
    // What is left of the decoded cap for the choices, beside the text.
    let rest = |text: &str| MAX_DECODED - text.len() - 200;

    // A 1 MiB text of errors: each process past the cap, each with errors
    // of its own, each located.
    let mut errors = String::from("version = 1\n[machine]\ncpus = 2\nmemory = \"64M\"\n");
    let mut p = 0;
    loop {
        let t = format!("[[process]]\nname = \"p{p}\"\noom_score_adj = 5000\n[[process.thread]]\nprogram = \"hog\"\ncount = 99999\n");
        if errors.len() + t.len() > cap {
            break;
        }
        errors.push_str(&t);
        p += 1;
    }
    // 1 MiB of unknown keys.
    let mut keys = String::from("version = 1\n[machine]\ncpus = 2\nmemory = \"64M\"\n");
    let mut k = 0;
    while keys.len() + 16 < cap {
        keys.push_str(&format!("k{k} = 1\n"));
        k += 1;
    }
    // 1 MiB of nesting at the cap, many times over.
    let mut nest = String::from("version = 1\n[machine]\ncpus = 2\nmemory = \"64M\"\n[x]\n");
    let unit = format!("{}1{}", "[".repeat(63), "]".repeat(63));
    let mut k = 0;
    while nest.len() + unit.len() + 16 < cap {
        nest.push_str(&format!("k{k} = {unit}\n"));
        k += 1;
    }
    // 1 MiB in one string, a newline escape at every other character.
    let escapes = format!(
        "version = 1\ntitle = \"{}\"\n[machine]\ncpus = 2\nmemory = \"64M\"\n[limits]\nduration = \"1ms\"\n[[process]]\nname = \"a\"\n[[process.thread]]\nprogram = \"hog\"\n",
        "\\n".repeat((cap - 160) / 2)
    );
    let valid = largest_valid();
    // The longest run the limits allow: duration and steps at their caps.
    let long_run = canonical(
        "version = 1\n[machine]\ncpus = 64\nmemory = \"4G\"\n[limits]\nduration = \"600s\"\n\
         max_steps = 50000000\nmax_trace = 2000000\n[[process]]\nname = \"a\"\n\
         [[process.thread]]\nprogram = \"s\"\ncount = 1024\n[programs]\ns = \"loop {\\n spin 1ns\\n}\"\n"
            .to_string(),
    );
    let seed = "seed 0".to_string();
    let with = |what, head: Vec<String>, text: &str| {
        let (l, n) = payload_link(&head, text);
        (what, l, n)
    };
    vec![
        with(
            "1 MiB of located errors + 3 MiB of choices",
            vec![
                seed.clone(),
                format!("replay {}", filler(rest(&errors), false)),
            ],
            &errors,
        ),
        with(
            "1 MiB of unknown keys + 3 MiB of choices",
            vec![
                seed.clone(),
                format!("replay {}", filler(rest(&keys), false)),
            ],
            &keys,
        ),
        with("1 MiB of arrays nested 63 deep", vec![seed.clone()], &nest),
        with("1 MiB title of escapes", vec![seed.clone()], &escapes),
        with(
            "largest valid scenario + 3 MiB of replayed choices",
            vec![
                seed.clone(),
                format!("replay {}", filler(rest(&valid), false)),
            ],
            &valid,
        ),
        with(
            "largest valid scenario + 3 MiB of deviations",
            vec![
                seed.clone(),
                format!("deviations {}", filler(rest(&valid), true)),
            ],
            &valid,
        ),
        with(
            "largest valid scenario, window at 2^32-1 + 3 MiB of deviations",
            vec![
                seed.clone(),
                "window 4294967295 1".into(),
                format!("deviations {}", filler(rest(&valid), true)),
            ],
            &valid,
        ),
        with(
            "scenario text 1 byte past its cap",
            vec![seed.clone()],
            &"#".repeat(cap + 1),
        ),
        with(
            "payload 1 byte past the decoded cap",
            vec![
                seed.clone(),
                format!("replay {}", "0,".repeat(MAX_DECODED / 2)),
            ],
            "version = 1\n",
        ),
        with(
            "1024 threads spinning, duration 600 s, 50 M steps (the run limits at their caps)",
            vec![seed],
            &long_run,
        ),
    ]
}

/// A scenario's canonical text, as a link made by `run` carries it.
fn canonical(t: String) -> String {
    match parse_scenario(&t) {
        Ok(sc) => sc.scenario.to_canonical_toml(),
        Err(e) => panic!("not valid: {}", e[0]),
    }
}

/// The largest valid scenario: every process and thread the caps allow,
/// each process with a program of its own padded towards the text's cap,
/// and the longest title and story.
fn largest_valid() -> String {
    let cap = oomlab_core::scenario::MAX_SCENARIO_TEXT;
    let mut v = format!(
        "version = 1\ntitle = \"{}\"\nstory = \"{}\"\n[machine]\ncpus = 64\nmemory = \"4G\"\nkernel_reserved = \"64M\"\n[limits]\nduration = \"50ms\"\n",
        "t".repeat(200),
        "s".repeat(4000)
    );
    for p in 0..64 {
        v.push_str(&format!(
            "[[process]]\nname = \"p{p}\"\n[[process.thread]]\nprogram = \"q{p}\"\ncount = 16\n"
        ));
    }
    v.push_str("[programs]\n");
    let body = "buf b = stack 4096\nfill b 0xff\nopen fd \"/tmp/f.{n}\" append\nloop 3 {\n  write fd b 4096\n}\n";
    // The canonical text indents and quotes; leave it room.
    let per = (cap - v.len()) * 3 / 4 / 64;
    for p in 0..64 {
        let mut prog = String::from(body);
        // A program has at most 256 statements; comments fill the rest.
        for _ in 0..240 {
            prog.push_str("spin 1ns\n");
        }
        while prog.len() + 80 < per {
            prog.push_str("# a comment line, carried in the link as the program's own text\n");
        }
        v.push_str(&format!("q{p} = \"\"\"\n{prog}\"\"\"\n"));
    }
    canonical(v)
}

// ---------------------------------------------------------------- driver

type Gen = fn(&Ctx, &mut Rng, usize) -> Try;

fn main() {
    let mut tries = 200usize;
    let mut seed = 17u64;
    let mut bin = PathBuf::from("target/release/oomlab");
    let mut only: Option<String> = None;
    let mut timeout = 10u64;
    let mut verbose = false;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut val = || args.next().expect("a value after the option");
        match a.as_str() {
            "--tries" => tries = val().parse().expect("--tries N"),
            "--seed" => seed = val().parse().expect("--seed S"),
            "--bin" => bin = PathBuf::from(val()),
            "--class" => only = Some(val()),
            "--timeout" => timeout = val().parse().expect("--timeout SECS"),
            "--verbose" => verbose = true,
            other => panic!("unknown option {other}"),
        }
    }
    let bin = std::fs::canonicalize(&bin).expect("the oomlab binary (build it with --release)");
    let dir = std::env::temp_dir().join(format!("oomlab-hostile-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a scratch directory");
    let mut ctx = Ctx {
        bin,
        dir,
        timeout: Duration::from_secs(timeout),
        links: Vec::new(),
        shard_sets: Vec::new(),
    };
    ctx.links = preset_links(&ctx);
    ctx.shard_sets = shard_sets(&ctx);
    let version = Command::new(&ctx.bin)
        .arg("--version")
        .output()
        .expect("--version");
    println!(
        "binary: {} ({})",
        ctx.bin.display(),
        String::from_utf8_lossy(&version.stdout).trim()
    );
    println!("seed {seed}, {tries} tries per generated class, timeout {timeout} s\n");

    let classes: &[(&str, Gen, usize)] = &[
        ("mutated permalinks", mutated_links, tries * 4),
        ("damaged link payloads", mutated_payloads, tries * 2),
        ("TOML nesting depth", nesting, tries),
        ("size and count overflow", size_overflow, tries * 2),
        ("many processes/threads/programs/keys", many, tries / 2),
        ("long title/story", long_text, tries / 2),
        ("control chars, bidi, newlines", control_chars, tries * 2),
        ("invalid UTF-8 and NUL", invalid_utf8, tries),
        ("program text fuzz", programs, tries * 2),
        ("merge shard sets", merge, tries),
        ("absurd CLI values", absurd_cli, ABSURD_CASES),
        ("huge files and endless input", huge, HUGE_CASES),
    ];
    println!(
        "| input class | tries | clean errors | successes | panics | hangs | other | worst time |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|");
    let mut bad = Vec::new();
    for (name, gen, n) in classes {
        if only.as_deref().is_some_and(|o| !name.contains(o)) {
            continue;
        }
        let mut r = Rng::child(seed, fnv1a64(name.as_bytes()));
        let mut counts = [0usize; 5];
        let mut worst = (0.0f64, String::new());
        for i in 0..*n {
            let t = gen(&ctx, &mut r, i);
            let e = ctx.run(&t);
            counts[e.end as usize] += 1;
            let shown = t
                .args
                .iter()
                .map(|a| {
                    if a.len() > 80 {
                        format!(
                            "{}…({} bytes)",
                            &a[..a.char_indices().nth(60).map_or(a.len(), |(j, _)| j)],
                            a.len()
                        )
                    } else {
                        a.clone()
                    }
                })
                .collect::<Vec<_>>()
                .join(" ");
            if verbose {
                eprintln!("{name} #{i}: {:?} {:.0} ms {}", e.end, e.ms, e.why);
            }
            if e.ms > worst.0 {
                worst = (e.ms, shown.clone());
            }
            if e.end != End::Clean && e.end != End::Success {
                bad.push(format!(
                    "{name} #{i}: {:?} {}: oomlab {shown}",
                    e.end, e.why
                ));
            }
        }
        println!(
            "| {name} | {n} | {} | {} | {} | {} | {} | {:.0} ms |",
            counts[0], counts[1], counts[2], counts[3], counts[4], worst.0
        );
        eprintln!("  worst of {name}: {:.0} ms: oomlab {}", worst.0, worst.1);
    }
    if only.is_none() || only.as_deref() == Some("worst") {
        println!("\n| link within the decoded cap | encoded | decoded | ends | time |");
        println!("|---|---:|---:|---|---:|");
        for (what, link, decoded) in worst_links() {
            // The longest valid run also through the commands that print
            // or render all of it.
            let commands: &[&[&str]] = if what.starts_with("1024 threads") {
                &[
                    &["replay", "-"],
                    &["replay", "-", "--trace"],
                    &["export", "-", "--format", "text"],
                    &["export", "-", "--format", "ascii"],
                ]
            } else {
                &[&["replay", "-"]]
            };
            for cmd in commands {
                let t = Try {
                    args: s(cmd),
                    stdin: Some(link.clone().into_bytes()),
                    expect: located(),
                };
                let e = ctx.run(&t);
                if e.end != End::Clean && e.end != End::Success {
                    bad.push(format!("worst link {what}: {:?} {}", e.end, e.why));
                }
                let size = |n: usize| {
                    if n < 1024 {
                        format!("{n} B")
                    } else {
                        format!("{} KiB", n >> 10)
                    }
                };
                let why: String = e.why.chars().take(100).collect();
                println!(
                    "| {what}{} | {} | {} | {} | {:.0} ms |",
                    if cmd.len() > 2 || cmd[0] != "replay" {
                        format!(" (`{}`)", cmd.join(" "))
                    } else {
                        String::new()
                    },
                    size(link.len()),
                    size(decoded),
                    match e.end {
                        End::Clean => format!("refused: {why}"),
                        End::Success => format!("ran: {why}"),
                        other => format!("{other:?}: {why}"),
                    },
                    e.ms
                );
            }
        }
    }
    let _ = std::fs::remove_dir_all(&ctx.dir);
    if !bad.is_empty() {
        eprintln!("\n{} tries did not end cleanly:", bad.len());
        for b in bad.iter().take(60) {
            eprintln!("  {b}");
        }
        std::process::exit(1);
    }
}

/// One link per preset, from `oomlab --json run --preset ID`.
fn preset_links(c: &Ctx) -> Vec<String> {
    let mut links = Vec::new();
    for p in oomlab_core::presets::PRESETS {
        for seed in ["0", "1"] {
            let o = Command::new(&c.bin)
                .args(["--json", "run", "--preset", p.id, "--seed", seed])
                .stdin(Stdio::null())
                .output()
                .expect("run a preset");
            let text = String::from_utf8_lossy(&o.stdout);
            let Some(at) = text.find("\"permalink\": \"").map(|a| a + 14) else {
                panic!("no permalink in the output of run --preset {}", p.id);
            };
            let end = text[at..].find('"').expect("end of the link");
            links.push(text[at..at + end].to_string());
        }
    }
    links
}

/// Complete shard sets of small explorations: split 3 ways and 4 ways, and
/// another seed split 3 ways.
fn shard_sets(c: &Ctx) -> Vec<Vec<PathBuf>> {
    let f = c.file("shards.toml", scenario(&[]).as_bytes());
    let mut sets = Vec::new();
    for (n, seed) in [(3u32, "0"), (4, "0"), (3, "9")] {
        let mut set = Vec::new();
        for i in 0..n {
            let o = Command::new(&c.bin)
                .args(["--json", "explore", &f, "--runs", "12", "--seed", seed])
                .args(["--shard", &format!("{i}/{n}")])
                .stdin(Stdio::null())
                .output()
                .expect("explore a shard");
            assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
            let p = c.dir.join(format!("shard-{seed}-{i}-{n}.json"));
            std::fs::write(&p, &o.stdout).expect("write a shard");
            set.push(p);
        }
        sets.push(set);
    }
    sets
}
