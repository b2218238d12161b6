//! `sweep`: one exploration per point of a grid of scenario parameters.
//!
//! Every `--vary PATH=V1,V2,...` is a scenario path (as in A/B overrides,
//! with indices into arrays of tables: `process.0.thread.0.count`) and its
//! values; the grid is every combination, the first key outermost, and a
//! cell's index is its position in that order. Each cell is the scenario
//! with its values applied (then validated as any scenario) and explored
//! with the same strategy, base seed and run count. `--shard I/N` takes the
//! cells whose index is I modulo N; `oomlab merge` puts shards back together.
//!
//! Determinism: a cell's run range is cut into pieces (`--jobs`) and merged
//! with core's `explore::merge`, as `explore` does, so a cell equals
//! `oomlab explore` of its scenario, and the JSON is the same for any
//! `--jobs` and for merged shards. Rates are sampled: each outcome's `p`
//! comes with its 95% Wilson score interval, which stays honest at 0 or
//! `runs` hits (0 hits of 200 is "below 1.9%", not "never").
//!
//! Not done: exhaustive exploration per cell (it has no run ranges to cut),
//! `--max-time`, and stopping early with a partial report.

use crate::explore::{parse_shard, resolve_jobs, thread_pool, Shard};
use crate::output::print_json;
use crate::sanitize::term;
use crate::{input_err, link, load_scenario_text, CliError, CliResult, ScenarioArg};
use clap::Args;
use oomlab_core::compare::apply_overrides;
use oomlab_core::explore::{self, Exploration, ExploreReport, Strategy};
use oomlab_core::{Outcome, ValidScenario};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Instant;

/// The most cells one sweep may have.
pub const MAX_CELLS: usize = 10_000;

#[derive(Args, Debug, Clone)]
pub struct SweepOpts {
    #[command(flatten)]
    pub scenario: ScenarioArg,
    /// A scenario path and its values, e.g. `machine.cpus=2,4` or
    /// `process.0.thread.0.count=8,128`; repeat for more keys.
    #[arg(
        long,
        visible_alias = "param",
        value_name = "PATH=V1,V2,...",
        required = true
    )]
    vary: Vec<String>,
    /// Runs per cell, 1 to 1000000.
    #[arg(long, default_value_t = 100)]
    runs: u64,
    #[arg(long, value_enum, default_value_t = SweepStrategy::Random)]
    strategy: SweepStrategy,
    /// Base seed of every cell: run i uses seed BASE + i.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Worker threads (default and at most: the number of CPUs). Results do
    /// not depend on it.
    #[arg(long, short)]
    jobs: Option<usize>,
    /// Sweep only the cells whose index is I modulo N; combine the `--json`
    /// outputs with `oomlab merge`.
    #[arg(long, value_name = "I/N")]
    shard: Option<String>,
    /// Print CSV (one row per cell and outcome) instead of text.
    #[arg(long)]
    csv: bool,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug)]
pub enum SweepStrategy {
    /// Independent seeds.
    Random,
    /// Few random deviations from the default schedule.
    Pct,
}

impl SweepStrategy {
    fn name(self) -> &'static str {
        match self {
            SweepStrategy::Random => "random",
            SweepStrategy::Pct => "pct",
        }
    }
}

/// One key of the grid and its values, as written.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct Vary {
    pub key: String,
    pub values: Vec<Value>,
}

/// An outcome's rate in a cell.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct Rate {
    pub hits: u64,
    pub p: f64,
    /// The 95% Wilson score interval.
    pub low: f64,
    pub high: f64,
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct Cell {
    pub index: u64,
    pub values: BTreeMap<String, Value>,
    pub content_hash: String,
    pub runs: u64,
    /// Every outcome code, hit or not.
    pub outcomes: BTreeMap<String, Rate>,
    /// The first run (lowest index) whose verdict is not `correct`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_failing: Option<String>,
}

/// What `sweep --json` prints and `merge` reads back.
#[derive(Serialize, Deserialize, Debug, PartialEq)]
pub struct SweepOutput {
    /// As in `ExploreOutput`.
    #[serde(default)]
    pub schema_version: u32,
    pub sweep: u32,
    pub model_version: u32,
    pub title: String,
    pub content_hash: String,
    pub strategy: String,
    #[serde(with = "oomlab_core::json::u64_string")]
    pub base_seed: u64,
    pub runs: u64,
    pub vary: Vec<Vary>,
    pub cells_total: u64,
    /// `--shard I/N` of one shard's output (cells I modulo N); absent for a
    /// whole sweep.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard: Option<Shard>,
    pub cells: Vec<Cell>,
    /// The canonical scenario the grid varies.
    pub scenario: String,
}

/// The 95% Wilson score interval of `hits` in `n` (z = 1.96).
pub fn wilson(hits: u64, n: u64) -> (f64, f64) {
    if n == 0 {
        return (0.0, 1.0);
    }
    let z = 1.959_963_984_540_054_f64;
    let n = n as f64;
    let p = hits as f64 / n;
    let z2 = z * z;
    let denom = 1.0 + z2 / n;
    let centre = (p + z2 / (2.0 * n)) / denom;
    let half = z / denom * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt();
    // Rounded, so that the JSON is short and the same on every machine.
    let r = |x: f64| (x.clamp(0.0, 1.0) * 1e6).round() / 1e6;
    (r(centre - half), r(centre + half))
}

/// A value as an override writes it: integers and booleans as such,
/// anything else a string.
fn json_value(v: &str) -> Value {
    match v {
        "true" => Value::Bool(true),
        "false" => Value::Bool(false),
        _ => match v.parse::<i64>() {
            Ok(i) => Value::from(i),
            Err(_) => Value::from(v.trim_matches('"')),
        },
    }
}

fn value_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn parse_vary(specs: &[String]) -> CliResult<Vec<Vary>> {
    let mut out: Vec<Vary> = Vec::new();
    for s in specs {
        let Some((key, vals)) = s.split_once('=') else {
            return input_err(format!(
                "bad --vary `{s}`: expected PATH=V1,V2,... (e.g. machine.cpus=2,4)"
            ));
        };
        let key = key.trim();
        let values: Vec<Value> = vals
            .split(',')
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(json_value)
            .collect();
        if key.is_empty() || values.is_empty() {
            return input_err(format!("bad --vary `{s}`: a path and at least one value"));
        }
        if out.iter().any(|v| v.key == key) {
            return input_err(format!("--vary {key} is given twice"));
        }
        out.push(Vary {
            key: key.to_string(),
            values,
        });
    }
    Ok(out)
}

/// Every combination, the first key outermost.
fn grid(vary: &[Vary]) -> CliResult<Vec<Vec<Value>>> {
    let mut cells: Vec<Vec<Value>> = vec![Vec::new()];
    for v in vary {
        if cells.len() * v.values.len() > MAX_CELLS {
            return input_err(format!("the grid has more than {MAX_CELLS} cells"));
        }
        cells = cells
            .into_iter()
            .flat_map(|c| {
                v.values.iter().map(move |x| {
                    let mut c = c.clone();
                    c.push(x.clone());
                    c
                })
            })
            .collect();
    }
    Ok(cells)
}

fn cell_scenario(sc: &ValidScenario, vary: &[Vary], values: &[Value]) -> CliResult<ValidScenario> {
    let overrides: Vec<String> = vary
        .iter()
        .zip(values)
        .map(|(k, v)| format!("{}={}", k.key, value_text(v)))
        .collect();
    apply_overrides(sc, &overrides).map_err(|errs| {
        let lines: Vec<String> = errs.iter().map(|e| e.to_string()).collect();
        CliError::Input(format!(
            "the cell {} is not a valid scenario: {}",
            overrides.join(" "),
            lines.join("; ")
        ))
    })
}

fn cell_of(
    index: u64,
    sc: &ValidScenario,
    vary: &[Vary],
    values: &[Value],
    report: &ExploreReport,
) -> Cell {
    let runs = report.runs;
    let outcomes = Outcome::ALL
        .iter()
        .map(|o| {
            let hits = report.histogram.get(o.code()).copied().unwrap_or(0);
            let (low, high) = wilson(hits, runs);
            let p = if runs > 0 {
                ((hits as f64 / runs as f64) * 1e6).round() / 1e6
            } else {
                0.0
            };
            (o.code().to_string(), Rate { hits, p, low, high })
        })
        .collect();
    let first_failing = report
        .buckets
        .iter()
        .filter_map(|b| b.first.first())
        .min_by_key(|r| r.index)
        .map(|r| link(sc, r.source.clone()));
    Cell {
        index,
        values: vary
            .iter()
            .zip(values)
            .map(|(k, v)| (k.key.clone(), v.clone()))
            .collect(),
        content_hash: format!("{:016x}", sc.content_hash()),
        runs,
        outcomes,
        first_failing,
    }
}

pub fn sweep_cmd(o: &SweepOpts, json: bool) -> CliResult<()> {
    if json && o.csv {
        return input_err("--json and --csv: choose one output format");
    }
    let (name, sc) = crate::load_scenario(&o.scenario)?;
    let Some(strategy) = Strategy::parse(o.strategy.name()) else {
        return input_err(format!("unknown strategy `{}`", o.strategy.name()));
    };
    if o.runs == 0 || o.runs > 1_000_000 {
        return input_err(format!(
            "--runs must be between 1 and 1000000, got {}",
            o.runs
        ));
    }
    let vary = parse_vary(&o.vary)?;
    let all = grid(&vary)?;
    let shard = o.shard.as_deref().map(parse_shard).transpose()?;
    let mine: Vec<(u64, Vec<Value>)> = all
        .iter()
        .cloned()
        .enumerate()
        .map(|(i, v)| (i as u64, v))
        .filter(|(i, _)| shard.is_none_or(|(k, n)| i % n == k))
        .collect();
    // Every cell's scenario first: a bad value is reported before any run.
    let scenarios: Vec<ValidScenario> = mine
        .iter()
        .map(|(_, v)| cell_scenario(&sc, &vary, v))
        .collect::<CliResult<_>>()?;

    let jobs = resolve_jobs(o.jobs)?;
    // Each cell in `jobs` contiguous pieces, all pieces of all cells in one
    // pool; merged per cell in range order.
    let pieces = (jobs as u64).min(o.runs).max(1);
    let work: Vec<(usize, u64, u64)> = (0..scenarios.len())
        .flat_map(|c| (0..pieces).map(move |k| (c, o.runs * k / pieces, o.runs * (k + 1) / pieces)))
        .collect();
    let pool = thread_pool(jobs)?;
    let started = Instant::now();
    let reports: Vec<ExploreReport> = pool.install(|| {
        work.par_iter()
            .map(|&(c, a, b)| {
                let mut ex = Exploration::range(&scenarios[c], strategy, o.seed, a, b);
                while !ex.is_finished() {
                    ex.run_chunk(64);
                }
                ex.report()
            })
            .collect()
    });
    let secs = started.elapsed().as_secs_f64();
    let cells: Vec<Cell> = reports
        .chunks(pieces as usize)
        .zip(&mine)
        .zip(&scenarios)
        .map(|((parts, (i, values)), csc)| cell_of(*i, csc, &vary, values, &explore::merge(parts)))
        .collect();
    let out = SweepOutput {
        schema_version: oomlab_core::json::SCHEMA_VERSION,
        sweep: 1,
        model_version: oomlab_core::MODEL_VERSION,
        title: sc.scenario.title.clone(),
        content_hash: format!("{:016x}", sc.content_hash()),
        strategy: o.strategy.name().to_string(),
        base_seed: o.seed,
        runs: o.runs,
        vary,
        cells_total: all.len() as u64,
        shard: shard.map(|(index, count)| Shard { index, count }),
        cells,
        scenario: sc.scenario.to_canonical_toml(),
    };
    let total = out.cells.len() as u64 * o.runs;
    eprintln!(
        "oomlab: {} cells, {total} runs in {secs:.2}s ({:.0} runs/s, {jobs} jobs)",
        out.cells.len(),
        total as f64 / secs.max(1e-9)
    );
    print_sweep(&name, &out, json, o.csv)
}

fn print_sweep(name: &str, out: &SweepOutput, json: bool, csv: bool) -> CliResult<()> {
    if json {
        print_json(&serde_json::to_value(out).unwrap_or_default());
    } else if csv {
        print_csv(out);
    } else {
        print_text(name, out);
    }
    Ok(())
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

fn print_csv(out: &SweepOutput) {
    let mut head: Vec<String> = vec!["cell".into()];
    head.extend(out.vary.iter().map(|v| csv_field(&v.key)));
    head.extend(["runs", "outcome", "hits", "p", "low", "high"].map(String::from));
    outln!("{}", head.join(","));
    for c in &out.cells {
        for (code, r) in &c.outcomes {
            let mut row: Vec<String> = vec![c.index.to_string()];
            row.extend(
                out.vary
                    .iter()
                    .map(|v| csv_field(&c.values.get(&v.key).map(value_text).unwrap_or_default())),
            );
            row.push(c.runs.to_string());
            row.push(code.clone());
            row.push(r.hits.to_string());
            row.push(format!("{}", r.p));
            row.push(format!("{}", r.low));
            row.push(format!("{}", r.high));
            outln!("{}", row.join(","));
        }
    }
}

fn print_text(name: &str, out: &SweepOutput) {
    outln!("{} ({})", term(&out.title), term(name));
    outln!(
        "sweep of {} cells{}, {} runs each, strategy {}, base seed {}",
        out.cells_total,
        out.shard.as_ref().map_or(String::new(), |s| format!(
            " (shard {}/{}: {} cells)",
            s.index,
            s.count,
            out.cells.len()
        )),
        out.runs,
        out.strategy,
        out.base_seed
    );
    for c in &out.cells {
        let vals: Vec<String> = out
            .vary
            .iter()
            .map(|v| {
                let x = c.values.get(&v.key).map(value_text).unwrap_or_default();
                format!("{}={}", term(&v.key), term(&x))
            })
            .collect();
        outln!("cell {}: {}", c.index, vals.join(" "));
        let mut hit: Vec<(&String, &Rate)> =
            c.outcomes.iter().filter(|(_, r)| r.hits > 0).collect();
        hit.sort_by_key(|(k, r)| {
            (
                std::cmp::Reverse(Outcome::from_code(k).map_or(0, |o| o.severity())),
                std::cmp::Reverse(r.hits),
            )
        });
        for (k, r) in hit {
            outln!(
                "  {k:<20} {:>6}/{:<6} p {:.3}  95% [{:.3}, {:.3}]",
                r.hits,
                c.runs,
                r.p,
                r.low,
                r.high
            );
        }
        if let Some(z) = c.outcomes.get("zeros_in_file").filter(|r| r.hits == 0) {
            outln!(
                "  zeros_in_file in none of the {} sampled runs: below {:.3} (95%)",
                c.runs,
                z.high
            );
        }
        if let Some(l) = &c.first_failing {
            outln!("  first failing run: {l}");
        }
    }
    outln!("  (rates are sampled: evidence, not proof)");
}

/// Is this `oomlab sweep --json` output (rather than `explore --json`)?
pub fn is_sweep_json(text: &str) -> bool {
    serde_json::from_str::<Value>(text).is_ok_and(|v| v.get("sweep").is_some())
}

/// `merge` of sweep shards: every cell of the grid exactly once.
pub fn merge_cmd(files: &[PathBuf], texts: &[String], json: bool) -> CliResult<()> {
    let mut outs: Vec<SweepOutput> = Vec::new();
    for (f, text) in files.iter().zip(texts) {
        let o: SweepOutput = serde_json::from_str(text).or_else(|e| {
            input_err(format!(
                "{}: not the JSON output of `oomlab sweep --json` ({e})",
                f.display()
            ))
        })?;
        crate::explore::check_schema(o.schema_version, f)?;
        outs.push(o);
    }
    let first = &outs[0];
    for (o, f) in outs.iter().zip(files).skip(1) {
        if o.content_hash != first.content_hash
            || o.strategy != first.strategy
            || o.base_seed != first.base_seed
            || o.model_version != first.model_version
            || o.runs != first.runs
            || o.vary != first.vary
        {
            return input_err(format!(
                "{} is from another sweep (scenario, grid, strategy, seed, run count or model \
                 version differ from {})",
                f.display(),
                files[0].display()
            ));
        }
    }
    let mut cells: BTreeMap<u64, (Cell, &PathBuf)> = BTreeMap::new();
    for (o, f) in outs.iter().zip(files) {
        for c in &o.cells {
            if c.index >= first.cells_total {
                return input_err(format!(
                    "{}: cell {} is outside the grid",
                    f.display(),
                    c.index
                ));
            }
            if let Some((_, g)) = cells.insert(c.index, (c.clone(), f)) {
                return input_err(format!(
                    "cell {} is in both {} and {}; each shard must be merged once",
                    c.index,
                    g.display(),
                    f.display()
                ));
            }
        }
    }
    if let Some(missing) = (0..first.cells_total).find(|i| !cells.contains_key(i)) {
        return input_err(format!(
            "cell {missing} of {} is in none of the files: a shard is missing",
            first.cells_total
        ));
    }
    // The scenario the grid varies must parse here too.
    let sc = load_scenario_text(&first.scenario)?;
    let out = SweepOutput {
        schema_version: oomlab_core::json::SCHEMA_VERSION,
        sweep: first.sweep,
        model_version: first.model_version,
        title: sc.scenario.title.clone(),
        content_hash: first.content_hash.clone(),
        strategy: first.strategy.clone(),
        base_seed: first.base_seed,
        runs: first.runs,
        vary: first.vary.clone(),
        cells_total: first.cells_total,
        shard: None,
        cells: cells.into_values().map(|(c, _)| c).collect(),
        scenario: first.scenario.clone(),
    };
    print_sweep("merged", &out, json, false)
}
