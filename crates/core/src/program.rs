//! User programs: a small line-based language, embedded as strings in a scenario.
//!
//! ```text
//! # comment
//! buf NAME = stack|heap|shmem|mlock SIZE     # a buffer (page-aligned, whole pages)
//! map NAME = anon SIZE [populate SIZE]       # private anonymous mmap (MAP_POPULATE)
//! map NAME = shared_anon SIZE                # MAP_SHARED|MAP_ANONYMOUS (shmem)
//! map NAME = file "PATH" shared|private SIZE # file mapping
//! munmap NAME
//! fill NAME BYTE                             # memset the whole buffer from user mode
//! touch NAME [CHUNK]                         # write one byte per page (the hog); with CHUNK,
//!                                            # the next CHUNK bytes after this statement's last run
//! open NAME "PATH" [append]                  # {tid} and {n} expand per thread
//! write FD BUF [LEN]                         # write(fd, buf, len); len defaults to the buffer size
//! memcpy DST SRC [LEN]                       # user-mode copy between mappings
//! sleep DURATION                             # nanosleep
//! spin DURATION                              # user-mode computation
//! exit_group [CODE]
//! kill "PROCESS"                             # kill(pid, SIGKILL) on a [[process]] by name
//! process_mrelease "PROCESS"                 # reap a dying process's memory (5.18+)
//! loop [COUNT] {                             # without COUNT: forever
//! }
//! ```
//!
//! Not modelled: arithmetic, conditionals, error handling of syscalls (a failed
//! write is simply followed by the next statement, as Tetsuo's writer does).

use crate::scenario::{parse_duration_str, parse_size_str};
use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Hash)]
#[serde(rename_all = "snake_case")]
pub enum BufKind {
    Stack,
    Heap,
    Shmem,
    Mlock,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Hash)]
#[serde(rename_all = "snake_case")]
pub enum MapKind {
    Anon,
    SharedAnon,
    FileShared,
    FilePrivate,
}

/// One statement, compiled: loops become jumps.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Op {
    Buf {
        var: u16,
        kind: BufKind,
        size: u64,
    },
    Map {
        var: u16,
        kind: MapKind,
        size: u64,
        populate: u64,
        path: Option<String>,
    },
    Munmap {
        var: u16,
    },
    Fill {
        var: u16,
        byte: u8,
    },
    Touch {
        var: u16,
        /// Touch only the next `chunk` bytes, continuing where this
        /// statement stopped the last time it ran.
        chunk: Option<u64>,
    },
    Open {
        var: u16,
        path: String,
        append: bool,
    },
    Write {
        fd: u16,
        buf: u16,
        len: Option<u64>,
    },
    Memcpy {
        dst: u16,
        src: u16,
        len: Option<u64>,
    },
    Sleep {
        ns: u64,
    },
    Spin {
        ns: u64,
    },
    ExitGroup {
        code: u32,
    },
    /// `kill(pid, SIGKILL)` on the first live process of that name.
    Kill {
        process: String,
    },
    /// `process_mrelease(pidfd_open(pid))` on the first process of that name.
    ProcessMrelease {
        process: String,
    },
    /// Start of a loop: `count` None is forever. `end` is the index after LoopEnd.
    LoopStart {
        count: Option<u64>,
        end: u32,
    },
    /// Jump back to `start` (the LoopStart) while the counter allows.
    LoopEnd {
        start: u32,
    },
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Program {
    pub ops: Vec<Op>,
    /// Variable names, indexed by the `var` numbers in ops.
    pub vars: Vec<String>,
    /// Kind of each variable: true for file descriptors.
    pub var_is_fd: Vec<bool>,
    /// Source line of each op (1-based), for the trace and errors.
    pub lines: Vec<u32>,
}

/// A syntax or semantic error at a position inside the program text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProgramError {
    pub line: u32,
    pub column: u32,
    pub message: String,
}

const MAX_OPS: usize = 256;
const MAX_LOOP_DEPTH: usize = 8;

struct Tok<'a> {
    text: &'a str,
    col: u32,
}

fn tokenize(line: &str) -> Result<Vec<Tok<'_>>, (u32, String)> {
    let mut toks = Vec::new();
    let bytes = line.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        if c == b'#' {
            break;
        }
        if c.is_ascii_whitespace() {
            i += 1;
            continue;
        }
        let start = i;
        if c == b'"' {
            i += 1;
            while i < bytes.len() && bytes[i] != b'"' {
                i += 1;
            }
            if i >= bytes.len() {
                return Err((start as u32 + 1, "unterminated string".into()));
            }
            i += 1;
        } else if c == b'{' || c == b'}' || c == b'=' {
            i += 1;
        } else {
            while i < bytes.len()
                && !bytes[i].is_ascii_whitespace()
                && !matches!(bytes[i], b'{' | b'}' | b'=' | b'#' | b'"')
            {
                i += 1;
            }
        }
        toks.push(Tok {
            text: &line[start..i],
            col: start as u32 + 1,
        });
    }
    Ok(toks)
}

struct Parser {
    vars: Vec<String>,
    var_is_fd: Vec<bool>,
}

impl Parser {
    fn define(&mut self, name: &Tok<'_>, is_fd: bool) -> Result<u16, (u32, String)> {
        let ok = name
            .text
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && name
                .text
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !ok {
            return Err((name.col, format!("`{}` is not a valid name", name.text)));
        }
        if let Some(i) = self.vars.iter().position(|v| v == name.text) {
            if self.var_is_fd[i] != is_fd {
                return Err((
                    name.col,
                    format!("`{}` is already defined as another kind", name.text),
                ));
            }
            return Ok(i as u16);
        }
        self.vars.push(name.text.to_string());
        self.var_is_fd.push(is_fd);
        Ok((self.vars.len() - 1) as u16)
    }

    fn lookup(&self, name: &Tok<'_>, want_fd: bool) -> Result<u16, (u32, String)> {
        match self.vars.iter().position(|v| v == name.text) {
            Some(i) if self.var_is_fd[i] == want_fd => Ok(i as u16),
            Some(_) => Err((
                name.col,
                format!(
                    "`{}` is not a {}",
                    name.text,
                    if want_fd {
                        "file descriptor"
                    } else {
                        "buffer or mapping"
                    }
                ),
            )),
            None => Err((
                name.col,
                format!("`{}` is used before it is defined", name.text),
            )),
        }
    }
}

fn size_arg(t: &Tok<'_>) -> Result<u64, (u32, String)> {
    parse_size_str(t.text).map_err(|e| (t.col, e))
}

fn dur_arg(t: &Tok<'_>) -> Result<u64, (u32, String)> {
    parse_duration_str(t.text).map_err(|e| (t.col, e))
}

fn int_arg(t: &Tok<'_>) -> Result<u64, (u32, String)> {
    t.text
        .parse::<u64>()
        .map_err(|_| (t.col, format!("expected a number, found `{}`", t.text)))
}

/// A quoted string; `what` names it in errors ("path", "process name").
fn string_arg(t: &Tok<'_>, what: &str) -> Result<String, (u32, String)> {
    if t.text.len() >= 2 && t.text.starts_with('"') && t.text.ends_with('"') {
        let s = &t.text[1..t.text.len() - 1];
        if s.is_empty() {
            return Err((t.col, format!("empty {what}")));
        }
        Ok(s.to_string())
    } else {
        Err((
            t.col,
            format!("expected a quoted {what}, found `{}`", t.text),
        ))
    }
}

fn byte_arg(t: &Tok<'_>) -> Result<u8, (u32, String)> {
    let v = if let Some(hex) = t.text.strip_prefix("0x") {
        u64::from_str_radix(hex, 16).ok()
    } else {
        t.text.parse::<u64>().ok()
    };
    match v {
        Some(v) if v <= 255 => Ok(v as u8),
        _ => Err((
            t.col,
            format!(
                "expected a byte (0..=255 or 0x00..=0xff), found `{}`",
                t.text
            ),
        )),
    }
}

/// Parses program text. Errors carry the line and column within `text`.
pub fn parse_program(text: &str) -> Result<Program, ProgramError> {
    let mut p = Parser {
        vars: Vec::new(),
        var_is_fd: Vec::new(),
    };
    let mut ops: Vec<Op> = Vec::new();
    let mut lines: Vec<u32> = Vec::new();
    let mut loop_stack: Vec<(usize, u32)> = Vec::new();
    // Each `write` with a LEN: its op and the LEN's column.
    let mut write_lens: Vec<(usize, u32)> = Vec::new();
    for (lineno, line) in text.lines().enumerate() {
        let ln = lineno as u32 + 1;
        let err = |(col, message): (u32, String)| ProgramError {
            line: ln,
            column: col,
            message,
        };
        let toks = tokenize(line).map_err(err)?;
        if toks.is_empty() {
            continue;
        }
        let need = |n: usize, usage: &str| -> Result<(), ProgramError> {
            if toks.len() < n {
                let col = toks.last().map_or(1, |t| t.col + t.text.len() as u32);
                Err(ProgramError {
                    line: ln,
                    column: col,
                    message: format!("incomplete statement, expected `{usage}`"),
                })
            } else {
                Ok(())
            }
        };
        let at_most = |n: usize, usage: &str| -> Result<(), ProgramError> {
            if toks.len() > n {
                Err(ProgramError {
                    line: ln,
                    column: toks[n].col,
                    message: format!("unexpected `{}`; usage: `{usage}`", toks[n].text),
                })
            } else {
                Ok(())
            }
        };
        let expect_eq = |i: usize| -> Result<(), ProgramError> {
            if toks[i].text != "=" {
                Err(ProgramError {
                    line: ln,
                    column: toks[i].col,
                    message: format!("expected `=`, found `{}`", toks[i].text),
                })
            } else {
                Ok(())
            }
        };
        let kw = toks[0].text;
        let op = match kw {
            "buf" => {
                let usage = "buf NAME = stack|heap|shmem|mlock SIZE";
                need(5, usage)?;
                at_most(5, usage)?;
                expect_eq(2)?;
                let kind = match toks[3].text {
                    "stack" => BufKind::Stack,
                    "heap" => BufKind::Heap,
                    "shmem" => BufKind::Shmem,
                    "mlock" => BufKind::Mlock,
                    other => {
                        return Err(err((
                            toks[3].col,
                            format!("unknown buffer kind `{other}`, expected stack, heap, shmem or mlock"),
                        )))
                    }
                };
                let size = size_arg(&toks[4]).map_err(err)?;
                if size == 0 {
                    return Err(err((toks[4].col, "a buffer cannot be empty".into())));
                }
                let var = p.define(&toks[1], false).map_err(err)?;
                Op::Buf { var, kind, size }
            }
            "map" => {
                let usage = "map NAME = anon|shared_anon SIZE [populate SIZE] | map NAME = file \"PATH\" shared|private SIZE";
                need(5, usage)?;
                expect_eq(2)?;
                let (kind, size, populate, path) = match toks[3].text {
                    "anon" | "shared_anon" => {
                        let size = size_arg(&toks[4]).map_err(err)?;
                        let mut populate = 0;
                        if toks.len() > 5 {
                            if toks[5].text != "populate" {
                                return Err(err((
                                    toks[5].col,
                                    format!("expected `populate`, found `{}`", toks[5].text),
                                )));
                            }
                            need(7, usage)?;
                            at_most(7, usage)?;
                            populate = size_arg(&toks[6]).map_err(err)?;
                            if populate > size {
                                return Err(err((
                                    toks[6].col,
                                    "cannot populate more than the mapping's size".into(),
                                )));
                            }
                        }
                        let kind = if toks[3].text == "anon" {
                            MapKind::Anon
                        } else {
                            MapKind::SharedAnon
                        };
                        (kind, size, populate, None)
                    }
                    "file" => {
                        need(7, usage)?;
                        at_most(7, usage)?;
                        let path = string_arg(&toks[4], "path").map_err(err)?;
                        let kind = match toks[5].text {
                            "shared" => MapKind::FileShared,
                            "private" => MapKind::FilePrivate,
                            other => {
                                return Err(err((
                                    toks[5].col,
                                    format!("expected `shared` or `private`, found `{other}`"),
                                )))
                            }
                        };
                        (kind, size_arg(&toks[6]).map_err(err)?, 0, Some(path))
                    }
                    other => {
                        return Err(err((
                            toks[3].col,
                            format!("unknown mapping kind `{other}`, expected anon, shared_anon or file"),
                        )))
                    }
                };
                if size == 0 {
                    return Err(err((toks[4].col, "a mapping cannot be empty".into())));
                }
                let var = p.define(&toks[1], false).map_err(err)?;
                Op::Map {
                    var,
                    kind,
                    size,
                    populate,
                    path,
                }
            }
            "munmap" => {
                let usage = "munmap NAME";
                need(2, usage)?;
                at_most(2, usage)?;
                let var = p.lookup(&toks[1], false).map_err(err)?;
                Op::Munmap { var }
            }
            "touch" => {
                let usage = "touch NAME [CHUNK]";
                need(2, usage)?;
                at_most(3, usage)?;
                let var = p.lookup(&toks[1], false).map_err(err)?;
                let chunk = match toks.get(2) {
                    Some(t) => {
                        let c = size_arg(t).map_err(err)?;
                        if c < crate::scenario::PAGE_SIZE {
                            return Err(err((t.col, "a chunk is at least one page (4K)".into())));
                        }
                        Some(c)
                    }
                    None => None,
                };
                Op::Touch { var, chunk }
            }
            "fill" => {
                let usage = "fill NAME BYTE";
                need(3, usage)?;
                at_most(3, usage)?;
                let var = p.lookup(&toks[1], false).map_err(err)?;
                Op::Fill {
                    var,
                    byte: byte_arg(&toks[2]).map_err(err)?,
                }
            }
            "open" => {
                let usage = "open NAME \"PATH\" [append]";
                need(3, usage)?;
                at_most(4, usage)?;
                let path = string_arg(&toks[2], "path").map_err(err)?;
                let append = match toks.get(3) {
                    None => false,
                    Some(t) if t.text == "append" => true,
                    Some(t) => {
                        return Err(err((t.col, format!("expected `append`, found `{}`", t.text))))
                    }
                };
                let var = p.define(&toks[1], true).map_err(err)?;
                Op::Open { var, path, append }
            }
            "write" | "memcpy" => {
                let usage = if kw == "write" {
                    "write FD BUF [LEN]"
                } else {
                    "memcpy DST SRC [LEN]"
                };
                need(3, usage)?;
                at_most(4, usage)?;
                let len = match toks.get(3) {
                    Some(t) => {
                        let l = size_arg(t).map_err(err)?;
                        if l == 0 {
                            return Err(err((t.col, "length must be positive".into())));
                        }
                        Some(l)
                    }
                    None => None,
                };
                if kw == "write" {
                    if let (Some(_), Some(t)) = (len, toks.get(3)) {
                        write_lens.push((ops.len(), t.col));
                    }
                    Op::Write {
                        fd: p.lookup(&toks[1], true).map_err(err)?,
                        buf: p.lookup(&toks[2], false).map_err(err)?,
                        len,
                    }
                } else {
                    Op::Memcpy {
                        dst: p.lookup(&toks[1], false).map_err(err)?,
                        src: p.lookup(&toks[2], false).map_err(err)?,
                        len,
                    }
                }
            }
            "sleep" | "spin" => {
                let usage = if kw == "sleep" { "sleep DURATION" } else { "spin DURATION" };
                need(2, usage)?;
                at_most(2, usage)?;
                let ns = dur_arg(&toks[1]).map_err(err)?;
                if kw == "sleep" {
                    Op::Sleep { ns }
                } else {
                    Op::Spin { ns }
                }
            }
            "exit_group" => {
                at_most(2, "exit_group [CODE]")?;
                let code = match toks.get(1) {
                    Some(t) => int_arg(t).map_err(err)?.min(255) as u32,
                    None => 0,
                };
                Op::ExitGroup { code }
            }
            "kill" | "process_mrelease" => {
                let usage = if kw == "kill" {
                    "kill \"PROCESS\""
                } else {
                    "process_mrelease \"PROCESS\""
                };
                need(2, usage)?;
                at_most(2, usage)?;
                let process = string_arg(&toks[1], "process name").map_err(err)?;
                if kw == "kill" {
                    Op::Kill { process }
                } else {
                    Op::ProcessMrelease { process }
                }
            }
            "loop" => {
                let usage = "loop [COUNT] {";
                need(2, usage)?;
                let (count, brace) = if toks[1].text == "{" {
                    (None, 1)
                } else {
                    need(3, usage)?;
                    let c = int_arg(&toks[1]).map_err(err)?;
                    if c == 0 {
                        return Err(err((toks[1].col, "a loop count must be positive".into())));
                    }
                    (Some(c), 2)
                };
                if toks[brace].text != "{" {
                    return Err(err((toks[brace].col, format!("expected `{{`, found `{}`", toks[brace].text))));
                }
                at_most(brace + 1, usage)?;
                if loop_stack.len() >= MAX_LOOP_DEPTH {
                    return Err(err((toks[0].col, format!("loops nest deeper than {MAX_LOOP_DEPTH}"))));
                }
                loop_stack.push((ops.len(), ln));
                Op::LoopStart { count, end: 0 }
            }
            "}" => {
                at_most(1, "}")?;
                let Some((start, _)) = loop_stack.pop() else {
                    return Err(err((toks[0].col, "`}` without a matching `loop`".into())));
                };
                let end_idx = ops.len() as u32 + 1;
                if let Op::LoopStart { end, .. } = &mut ops[start] {
                    *end = end_idx;
                }
                Op::LoopEnd {
                    start: start as u32,
                }
            }
            other => {
                return Err(err((
                    toks[0].col,
                    format!("unknown statement `{other}`, expected one of: buf, map, munmap, fill, touch, open, write, memcpy, sleep, spin, exit_group, kill, process_mrelease, loop, }}"),
                )))
            }
        };
        ops.push(op);
        lines.push(ln);
        if ops.len() > MAX_OPS {
            return Err(ProgramError {
                line: ln,
                column: 1,
                message: format!("a program has at most {MAX_OPS} statements"),
            });
        }
    }
    if let Some((_, ln)) = loop_stack.pop() {
        return Err(ProgramError {
            line: ln,
            column: 1,
            message: "this `loop` is never closed with `}`".into(),
        });
    }
    check_write_lengths(&ops, &lines, &p.vars, &write_lens)?;
    Ok(Program {
        ops,
        vars: p.vars,
        var_is_fd: p.var_is_fd,
        lines,
    })
}

/// A `write` reads LEN bytes from its buffer, so LEN must fit the buffer
/// under every definition of that name (a loop can reach a write with any
/// of them): then no write at run time reads past its mapping's end, where
/// the kernel would return `-EFAULT` or a short count.
fn check_write_lengths(
    ops: &[Op],
    lines: &[u32],
    vars: &[String],
    write_lens: &[(usize, u32)],
) -> Result<(), ProgramError> {
    let mut smallest: Vec<Option<u64>> = vec![None; vars.len()];
    for op in ops {
        if let Op::Buf { var, size, .. } | Op::Map { var, size, .. } = op {
            let s = &mut smallest[*var as usize];
            *s = Some(s.map_or(*size, |m| m.min(*size)));
        }
    }
    for &(i, column) in write_lens {
        let Op::Write {
            buf,
            len: Some(len),
            ..
        } = ops[i]
        else {
            continue;
        };
        if let Some(size) = smallest[buf as usize].filter(|&s| len > s) {
            return Err(ProgramError {
                line: lines[i],
                column,
                message: format!(
                    "writes {len} bytes from `{}`, which is {size} bytes: LEN is at most the buffer's size",
                    vars[buf as usize]
                ),
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_write_longer_than_its_buffer_is_located() {
        let e = parse_program("buf b = heap 4K\nopen fd \"/f\"\nwrite fd b 8K\n").unwrap_err();
        assert_eq!((e.line, e.column), (3, 12), "{e:?}");
        assert!(
            e.message
                .contains("writes 8192 bytes from `b`, which is 4096 bytes"),
            "{e:?}"
        );
        // Any definition of the name counts: a loop reaches the write with both.
        let e = parse_program(
            "buf b = heap 8K\nopen fd \"/f\"\nloop 2 {\n  write fd b 8K\n  buf b = stack 4K\n}\n",
        )
        .unwrap_err();
        assert_eq!((e.line, e.column), (4, 14), "{e:?}");
        // Up to the size is fine, and so is the default length.
        parse_program("buf b = heap 4K\nopen fd \"/f\"\nwrite fd b 4K\nwrite fd b\n").unwrap();
    }

    #[test]
    fn parses_writer() {
        let p = parse_program(
            "buf b = stack 4096\nfill b 0xff\nopen fd \"/tmp/file.{n}\" append\nloop {\n  write fd b\n}\n",
        )
        .unwrap();
        assert_eq!(p.ops.len(), 6);
        assert_eq!(
            p.ops[3],
            Op::LoopStart {
                count: None,
                end: 6
            }
        );
        assert_eq!(p.ops[5], Op::LoopEnd { start: 3 });
    }

    #[test]
    fn errors_have_positions() {
        let e = parse_program("buf b = stack 4096\nfill c 0xff\n").unwrap_err();
        assert_eq!((e.line, e.column), (2, 6));
        assert!(e.message.contains("before it is defined"), "{}", e.message);
        let e = parse_program("buf b = stack 4096\nfill b 0x1ff\n").unwrap_err();
        assert_eq!((e.line, e.column), (2, 8));
        let e = parse_program("loop 3 {\n spin 1us\n").unwrap_err();
        assert_eq!(e.line, 1);
        assert!(e.message.contains("never closed"));
        let e = parse_program("  frobnicate\n").unwrap_err();
        assert_eq!((e.line, e.column), (1, 3));
        let e = parse_program("}\n").unwrap_err();
        assert!(e.message.contains("without a matching"));
        let e = parse_program("open f \"/x\nwrite").unwrap_err();
        assert!(e.message.contains("unterminated"));
        let e = parse_program("buf b = stack 4096\nopen b \"/x\"").unwrap_err();
        assert_eq!((e.line, e.column), (2, 6));
        let e = parse_program("sleep 5 parsecs").unwrap_err();
        assert_eq!((e.line, e.column), (1, 9));
        let e = parse_program("kill victim").unwrap_err();
        assert_eq!((e.line, e.column), (1, 6));
        let e = parse_program("process_mrelease").unwrap_err();
        assert!(
            e.message.contains("process_mrelease \"PROCESS\""),
            "{}",
            e.message
        );
        assert_eq!(
            parse_program("kill \"a.out\"\nprocess_mrelease \"a.out\"")
                .unwrap()
                .ops,
            vec![
                Op::Kill {
                    process: "a.out".into()
                },
                Op::ProcessMrelease {
                    process: "a.out".into()
                }
            ]
        );
    }
}
