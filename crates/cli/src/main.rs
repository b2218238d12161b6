//! `oomlab`: the native command line front end. It turns arguments into core
//! calls and prints what core returns; the model itself lives in `oomlab-core`.
//!
//! Exit codes: 0 success, 1 a finding the caller asked about (a `check` whose
//! verdict contradicts `[expect]`, a run that does not show the outcome to
//! shrink), 2 bad input (missing file, invalid scenario, bad permalink, a link
//! from another model version, unknown preset or outcome code), 130 an
//! `explore` or `check` stopped early by SIGINT, SIGTERM or `--max-time` (its
//! partial report, marked `"complete": false`, is printed first).

/// `println!` that treats a closed stdout (`oomlab ... | head`) as the end of
/// the output instead of panicking.
macro_rules! outln {
    ($($t:tt)*) => {{
        use std::io::Write as _;
        if let Err(e) = writeln!(std::io::stdout(), $($t)*) {
            $crate::stdout_failed(e)
        }
    }};
}

/// `print!` with the same treatment as `outln!`.
macro_rules! out {
    ($($t:tt)*) => {{
        use std::io::Write as _;
        if let Err(e) = write!(std::io::stdout(), $($t)*) {
            $crate::stdout_failed(e)
        }
    }};
}

mod explore;
mod output;
mod sanitize;
mod sweep;

use clap::{Args, CommandFactory, FromArgMatches, Parser, Subcommand};
use oomlab_core::permalink::Permalink;
use oomlab_core::scenario::MAX_SCENARIO_TEXT;
use oomlab_core::{parse_scenario, presets, ChoiceSource, Outcome, ValidScenario};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser, Debug)]
#[command(
    name = "oomlab",
    about = "Deterministic simulator of the Linux OOM killer / OOM reaper race",
    subcommand_required = true,
    arg_required_else_help = true
)]
struct Cli {
    /// Print machine-readable JSON on stdout instead of text.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Args, Debug, Clone)]
pub struct ScenarioArg {
    /// A scenario file (TOML); `-` reads it from stdin.
    #[arg(value_name = "FILE", required_unless_present = "preset")]
    file: Option<PathBuf>,
    /// A built-in scenario (see `oomlab presets`).
    #[arg(long, value_name = "ID", conflicts_with = "file")]
    preset: Option<String>,
}

#[derive(Subcommand, Debug)]
enum Cmd {
    /// List the built-in scenarios.
    Presets,
    /// Print a shell completion script: `oomlab completions bash >
    /// /etc/bash_completion.d/oomlab` (or zsh, fish, elvish, powershell).
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Run a scenario once and print the verdict and its evidence.
    Run {
        #[command(flatten)]
        scenario: ScenarioArg,
        /// Seed of the run's decisions.
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// Also print the dmesg-like trace.
        #[arg(long)]
        trace: bool,
    },
    /// Explore many interleavings: outcome histogram, buckets, failing runs.
    Explore {
        #[command(flatten)]
        scenario: ScenarioArg,
        #[command(flatten)]
        opts: explore::ExploreOpts,
    },
    /// Explore every combination of scenario parameters: outcome rates per
    /// cell with 95% Wilson intervals.
    Sweep(sweep::SweepOpts),
    /// Combine the `--json` outputs of `explore --shard` (or `sweep --shard`)
    /// runs into one.
    Merge {
        /// JSON files written by `oomlab explore --json` or `oomlab sweep --json`.
        #[arg(value_name = "JSON", required = true)]
        files: Vec<PathBuf>,
    },
    /// Shrink a run to the fewest non-default decisions that keep an outcome.
    Shrink {
        /// A permalink; `-` reads it from stdin.
        permalink: String,
        /// Outcome code to keep (default: the run's worst outcome).
        #[arg(long, value_name = "CODE")]
        outcome: Option<String>,
        /// Cap on the test runs the shrinker may spend.
        #[arg(long, default_value_t = 2000)]
        max_runs: u64,
    },
    /// Re-run a permalink exactly.
    Replay {
        /// A permalink; `-` reads it from stdin.
        permalink: String,
        /// Also print the dmesg-like trace.
        #[arg(long)]
        trace: bool,
    },
    /// When was this run's outcome decided? Replays fresh suffixes from
    /// checkpoints of the linked run and estimates the chance of its worst
    /// outcome from each.
    Rewind {
        /// A permalink; `-` reads it from stdin.
        permalink: String,
        /// Checkpoints between the start and the symptom, 2 to 100.
        #[arg(long, default_value_t = 10)]
        points: u32,
        /// Suffixes replayed from each checkpoint, 1 to 10000.
        #[arg(long, default_value_t = 16)]
        samples: u32,
    },
    /// Explore and evaluate the scenario's [expect] section; exit 1 if a
    /// verdict contradicts it.
    Check {
        #[command(flatten)]
        scenario: ScenarioArg,
        #[command(flatten)]
        opts: explore::ExploreOpts,
    },
    /// Print the scenario a permalink carries (also one from another model
    /// version), to re-run it with `oomlab run`.
    Scenario {
        /// A permalink; `-` reads it from stdin.
        permalink: String,
    },
    /// Export a permalink's trace for other tools.
    Export {
        /// A permalink; `-` reads it from stdin.
        permalink: String,
        /// chrome: trace-event JSON for Perfetto (the schedule, kernel
        /// functions, memory counters and the run's metadata); ftrace: `trace-cmd report`
        /// text with 4.13's tracepoints; ascii: CPU-column race diagram;
        /// text: the dmesg-like trace of every record; dmesg: only what printk
        /// would print, with the OOM killer's dump_header.
        #[arg(long, value_enum)]
        format: output::ExportFormat,
        /// Rows of the ascii diagram.
        #[arg(long, default_value_t = 60)]
        rows: usize,
        /// Write to this file instead of stdout.
        #[arg(long, short)]
        output: Option<PathBuf>,
    },
}

/// A reader that went away (a pipe into `head`) is not an error; anything
/// else on stdout is reported and fails the command.
pub fn stdout_failed(e: std::io::Error) -> ! {
    if e.kind() == std::io::ErrorKind::BrokenPipe {
        std::process::exit(0);
    }
    eprintln!("oomlab: cannot write to stdout: {e}");
    std::process::exit(1);
}

/// A failure the user sees as one line on stderr.
#[derive(Debug)]
pub enum CliError {
    /// Bad input: exit 2.
    Input(String),
    /// A negative answer to the question asked: exit 1.
    Finding(String),
    /// Stopped early by SIGINT, SIGTERM or `--max-time`, after printing what
    /// was done: exit 130, as a shell reports a command ended by SIGINT.
    Interrupted(String),
}

impl CliError {
    fn code(&self) -> u8 {
        match self {
            CliError::Input(_) => 2,
            CliError::Finding(_) => 1,
            CliError::Interrupted(_) => 130,
        }
    }
    fn message(&self) -> &str {
        match self {
            CliError::Input(m) | CliError::Finding(m) | CliError::Interrupted(m) => m,
        }
    }
}

pub type CliResult<T> = Result<T, CliError>;

pub fn input_err<T>(msg: impl Into<String>) -> CliResult<T> {
    Err(CliError::Input(msg.into()))
}

/// Traces are only comparable between runs of the same model, so the version
/// users quote must name the model version, not just the package version.
fn version() -> String {
    format!(
        "{} (model version {})",
        env!("CARGO_PKG_VERSION"),
        oomlab_core::MODEL_VERSION
    )
}

fn known_presets() -> String {
    presets::PRESETS
        .iter()
        .map(|p| p.id)
        .collect::<Vec<_>>()
        .join(", ")
}

/// Loads the scenario named on the command line: a file or a preset.
pub fn load_scenario(a: &ScenarioArg) -> CliResult<(String, ValidScenario)> {
    if let Some(id) = &a.preset {
        return match presets::find(id) {
            Some(p) => Ok((format!("preset {}", p.id), p.load())),
            None => input_err(format!(
                "unknown preset `{id}`; the known presets are: {}",
                known_presets()
            )),
        };
    }
    let Some(path) = &a.file else {
        return input_err("name a scenario FILE or --preset ID");
    };
    let (name, bytes) = if path.as_os_str() == "-" {
        (
            "<stdin>".to_string(),
            read_capped(std::io::stdin(), "stdin", MAX_SCENARIO_TEXT)?,
        )
    } else {
        let name = path.display().to_string();
        let f =
            std::fs::File::open(path).or_else(|e| input_err(format!("cannot read {name}: {e}")))?;
        let bytes = read_capped(f, &name, MAX_SCENARIO_TEXT)?;
        (name, bytes)
    };
    let text = oomlab_core::scenario::scenario_text(&bytes)
        .or_else(|e| input_err(format!("invalid scenario\n{name}: {e}")))?;
    match parse_scenario(text) {
        Ok(sc) => Ok((name, sc)),
        Err(errs) => {
            let lines: Vec<String> = errs
                .iter()
                // toml's messages span lines; one finding per line reads better.
                .map(|e| format!("{name}: {}", e.to_string().replace('\n', "; ")))
                .collect();
            input_err(format!("invalid scenario\n{}", lines.join("\n")))
        }
    }
}

/// Reads at most `cap` bytes, so that `run /dev/zero` fails at once rather
/// than after reading gigabytes.
fn read_capped(r: impl std::io::Read, name: &str, cap: usize) -> CliResult<Vec<u8>> {
    use std::io::Read;
    let mut buf = Vec::new();
    r.take(cap as u64 + 1)
        .read_to_end(&mut buf)
        .or_else(|e| input_err(format!("cannot read {name}: {e}")))?;
    if buf.len() > cap {
        return input_err(format!(
            "{name} is larger than {cap} bytes, the most this input may be"
        ));
    }
    Ok(buf)
}

/// The most a `merge` input may be: a report is a few kilobytes to a few
/// megabytes (a sweep of many cells), so this is far above any real one and
/// keeps `merge /dev/zero` from reading without end.
pub const MAX_REPORT: usize = 256 << 20;

/// A report for `merge`: at most `MAX_REPORT` bytes of UTF-8. JSON text
/// never holds a raw NUL, so a device or binary file (`/dev/zero`,
/// `/dev/urandom`) is refused at its first NUL instead of read to the cap.
fn read_report(path: &std::path::Path) -> CliResult<String> {
    use std::io::Read;
    let name = path.display().to_string();
    let cant = |e: std::io::Error| CliError::Input(format!("cannot read {name}: {e}"));
    let f = std::fs::File::open(path).map_err(cant)?;
    let mut r = f.take(MAX_REPORT as u64 + 1);
    let mut bytes = Vec::new();
    let mut chunk = vec![0u8; 1 << 16];
    loop {
        let n = match r.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(cant(e)),
        };
        if let Some(at) = chunk[..n].iter().position(|&b| b == 0) {
            return input_err(format!(
                "{name}: a NUL byte at byte {} (not the JSON output of oomlab)",
                bytes.len() + at
            ));
        }
        bytes.extend_from_slice(&chunk[..n]);
    }
    if bytes.len() > MAX_REPORT {
        return input_err(format!(
            "{name} is larger than {MAX_REPORT} bytes, the most this input may be"
        ));
    }
    String::from_utf8(bytes).or_else(|e| {
        input_err(format!(
            "{name}: invalid UTF-8 at byte {} (not the JSON output of oomlab)",
            e.utf8_error().valid_up_to()
        ))
    })
}

/// A permalink from stdin: at most `permalink::MAX_ENCODED` bytes of text.
fn read_stdin() -> CliResult<String> {
    let bytes = read_capped(
        std::io::stdin(),
        "stdin",
        oomlab_core::permalink::MAX_ENCODED + 64,
    )?;
    String::from_utf8(bytes).or_else(|e| {
        input_err(format!(
            "stdin: invalid UTF-8 at byte {} (a permalink is ASCII)",
            e.utf8_error().valid_up_to()
        ))
    })
}

/// A permalink argument; `-` reads one from stdin (surrounding whitespace,
/// such as the newline `echo` adds, is not part of it).
fn permalink_arg(arg: &str) -> CliResult<String> {
    if arg == "-" {
        Ok(read_stdin()?.trim().to_string())
    } else {
        Ok(arg.to_string())
    }
}

/// Decodes a permalink without refusing another model version.
fn decode_permalink(link: &str) -> CliResult<Permalink> {
    Permalink::decode(&permalink_arg(link)?)
        .or_else(|e| input_err(format!("bad permalink: {}", sanitize::term(&e.to_string()))))
}

/// Parses a canonical scenario carried inside oomlab's own JSON output.
pub fn load_scenario_text(text: &str) -> CliResult<ValidScenario> {
    parse_scenario(text).or_else(|errs| {
        let lines: Vec<String> = errs
            .iter()
            .map(|e| sanitize::term(&e.to_string()).into_owned())
            .collect();
        input_err(format!("invalid scenario: {}", lines.join("; ")))
    })
}

/// Decodes a permalink and refuses one from another model version: its
/// recorded decisions would drive a different model, so "replaying" it would
/// silently show another run.
pub fn load_permalink(link: &str) -> CliResult<(Permalink, ValidScenario)> {
    let p = decode_permalink(link)?;
    if !p.is_current_model() {
        return input_err(format!(
            "this permalink was made by model version {}, and this build runs model version {}; \
             its decisions would not replay the same run. Re-run its scenario instead: \
             `oomlab scenario LINK > s.toml`, then `oomlab run s.toml --seed {}`",
            p.model_version,
            oomlab_core::MODEL_VERSION,
            p.source.seed()
        ));
    }
    // The errors quote the link's text, which is anyone's: escaped to one
    // line, so that a newline in a key cannot start a line of its own.
    let sc = p
        .scenario()
        .or_else(|e| input_err(format!("bad permalink: {}", sanitize::term(&e.to_string()))))?;
    Ok((p, sc))
}

pub fn parse_outcome(code: &str) -> CliResult<Outcome> {
    Outcome::from_code(code).ok_or_else(|| {
        let all: Vec<&str> = Outcome::ALL.iter().map(|o| o.code()).collect();
        CliError::Input(format!(
            "unknown outcome `{code}`; the outcome codes are: {}",
            all.join(", ")
        ))
    })
}

pub fn link(sc: &ValidScenario, src: ChoiceSource) -> String {
    Permalink::new(sc, src).encode()
}

fn dispatch(cli: Cli) -> CliResult<()> {
    let json = cli.json;
    match cli.cmd {
        Cmd::Presets => output::presets(json),
        Cmd::Completions { shell } => {
            let mut cmd = Cli::command().version(version());
            let mut out = Vec::new();
            clap_complete::generate(shell, &mut cmd, "oomlab", &mut out);
            let text = String::from_utf8_lossy(&out);
            outln!("{}", text.trim_end());
            Ok(())
        }
        Cmd::Run {
            scenario,
            seed,
            trace,
        } => {
            let (_, sc) = load_scenario(&scenario)?;
            output::run(&sc, ChoiceSource::Seed(seed), trace, json, None)
        }
        Cmd::Replay { permalink, trace } => {
            let (p, sc) = load_permalink(&permalink)?;
            output::run(&sc, p.source.clone(), trace, json, Some(&p))
        }
        Cmd::Rewind {
            permalink,
            points,
            samples,
        } => {
            let (p, sc) = load_permalink(&permalink)?;
            output::rewind(&sc, &p.source, points, samples, json)
        }
        Cmd::Explore { scenario, opts } => {
            let (name, sc) = load_scenario(&scenario)?;
            explore::explore_cmd(&name, &sc, &opts, json)
        }
        Cmd::Check { scenario, opts } => {
            let (name, sc) = load_scenario(&scenario)?;
            explore::check_cmd(&name, &sc, &opts, json)
        }
        Cmd::Sweep(opts) => sweep::sweep_cmd(&opts, json),
        Cmd::Merge { files } => {
            let texts = files
                .iter()
                .map(|f| read_report(f))
                .collect::<CliResult<Vec<String>>>()?;
            if sweep::is_sweep_json(&texts[0]) {
                sweep::merge_cmd(&files, &texts, json)
            } else {
                explore::merge_cmd(&files, &texts, json)
            }
        }
        Cmd::Shrink {
            permalink,
            outcome,
            max_runs,
        } => {
            let (p, sc) = load_permalink(&permalink)?;
            let target = outcome.as_deref().map(parse_outcome).transpose()?;
            output::shrink(&sc, &p.source, target, max_runs, json)
        }
        Cmd::Export {
            permalink,
            format,
            rows,
            output: out,
        } => {
            let (p, sc) = load_permalink(&permalink)?;
            output::export(&sc, &p.source, format, rows, out.as_deref(), json)
        }
        Cmd::Scenario { permalink } => {
            let p = decode_permalink(&permalink)?;
            output::scenario(&p, json)
        }
    }
}

fn main() -> ExitCode {
    let matches = Cli::command().version(version()).get_matches();
    let cli = Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    match dispatch(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // Messages quote the input; their own line breaks are kept.
            eprintln!("oomlab: {}", sanitize::term_lines(e.message()));
            ExitCode::from(e.code())
        }
    }
}
