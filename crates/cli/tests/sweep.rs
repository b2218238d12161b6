//! `oomlab sweep`: a grid of explorations whose JSON does not depend on
//! `--jobs` or on sharding, whose cells equal separate explorations of the
//! same scenarios, with Wilson intervals that contain the sampled rate.

use assert_cmd::Command;
use oomlab_core::compare::apply_overrides;
use oomlab_core::explore::{Exploration, Strategy};
use oomlab_core::presets;
use serde_json::Value;
use std::path::PathBuf;

struct Out {
    code: i32,
    stdout: String,
    stderr: String,
}

fn oomlab(args: &[&str]) -> Out {
    let o = Command::cargo_bin("oomlab")
        .expect("binary")
        .args(args)
        .output()
        .expect("run oomlab");
    let out = Out {
        code: o.status.code().unwrap_or(-1),
        stdout: String::from_utf8(o.stdout).expect("utf-8 stdout"),
        stderr: String::from_utf8(o.stderr).expect("utf-8 stderr"),
    };
    assert!(!out.stderr.contains("panicked"), "{args:?}: {}", out.stderr);
    out
}

fn ok(args: &[&str]) -> Out {
    let o = oomlab(args);
    assert_eq!(o.code, 0, "oomlab {args:?} failed:\n{}", o.stderr);
    o
}

fn tmp(name: &str, text: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("sweep-tests");
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

const GRID: [&str; 10] = [
    "sweep",
    "--preset",
    "r1",
    "--vary",
    "process.0.thread.0.count=1,3",
    "--vary",
    "machine.cpus=2,4",
    "--runs",
    "8",
    "--json",
];

#[test]
fn sweep_json_is_the_same_for_any_jobs_and_for_merged_shards() {
    let a = ok(&[&GRID[..], &["--jobs", "1"]].concat()).stdout;
    let b = ok(&[&GRID[..], &["--jobs", "2"]].concat()).stdout;
    assert_eq!(a, b, "--jobs 1 and --jobs 2");
    let v: Value = serde_json::from_str(&a).unwrap();
    assert_eq!(v["cells_total"], 4);
    assert_eq!(v["cells"].as_array().unwrap().len(), 4);
    assert!(v.get("shard").is_none());
    // The first key is outermost.
    let c1 = &v["cells"][1]["values"];
    assert_eq!(c1["process.0.thread.0.count"], 1);
    assert_eq!(c1["machine.cpus"], 4);

    let mut files = Vec::new();
    for i in [2, 0, 1] {
        let s = format!("{i}/3");
        let o = ok(&[&GRID[..], &["--shard", &s, "--jobs", "1"]].concat());
        let sv: Value = serde_json::from_str(&o.stdout).unwrap();
        assert_eq!(sv["shard"], serde_json::json!({"index": i, "count": 3}));
        files.push(tmp(&format!("sweep{i}.json"), &o.stdout));
    }
    let names: Vec<&str> = files.iter().map(|f| f.to_str().unwrap()).collect();
    let m = ok(&[&["merge", "--json"][..], &names].concat());
    assert_eq!(m.stdout, a, "shards + merge == one sweep");
    // A missing shard is an error, not a smaller grid.
    let m = oomlab(&["merge", "--json", names[0], names[1]]);
    assert_eq!(m.code, 2, "{}", m.stderr);
    assert!(m.stderr.contains("a shard is missing"), "{}", m.stderr);
    let m = oomlab(&["merge", "--json", names[0], names[0], names[1], names[2]]);
    assert_eq!(m.code, 2);
    assert!(m.stderr.contains("merged once"), "{}", m.stderr);
}

#[test]
fn a_cell_equals_the_exploration_of_its_scenario() {
    let out = ok(&GRID[..]).stdout;
    let v: Value = serde_json::from_str(&out).unwrap();
    let sc = presets::find("r1").unwrap().load();
    let mut hit_any = 0;
    for cell in v["cells"].as_array().unwrap() {
        let vals = cell["values"].as_object().unwrap();
        let overrides: Vec<String> = vals.iter().map(|(k, x)| format!("{k}={x}")).collect();
        let csc = apply_overrides(&sc, &overrides).expect("valid cell");
        assert_eq!(
            cell["content_hash"],
            format!("{:016x}", csc.content_hash()).as_str()
        );
        let mut ex = Exploration::new(&csc, Strategy::parse("random").unwrap(), 0, 8);
        while !ex.is_finished() {
            ex.run_chunk(8);
        }
        let rep = ex.report();
        assert_eq!(cell["runs"], rep.runs);
        for (code, rate) in cell["outcomes"].as_object().unwrap() {
            let hits = rep.histogram.get(code).copied().unwrap_or(0);
            assert_eq!(rate["hits"], hits, "{overrides:?} {code}");
            let (p, lo, hi) = (
                rate["p"].as_f64().unwrap(),
                rate["low"].as_f64().unwrap(),
                rate["high"].as_f64().unwrap(),
            );
            assert!((p - hits as f64 / 8.0).abs() < 1e-6);
            assert!(lo <= p && p <= hi && (0.0..=1.0).contains(&lo) && hi <= 1.0);
            if hits > 0 {
                hit_any += 1;
                assert!(lo > 0.0, "{code}: {hits} hits");
            } else {
                assert_eq!(lo, 0.0);
                assert!(hi > 0.0, "0 hits is not a rate of 0: {code}");
            }
        }
    }
    assert!(hit_any >= 4, "each cell has some outcome");
}

#[test]
fn wilson_interval_of_known_values() {
    // Wilson at n = 3: 0 hits is [0, z²/(n+z²)] = [0, 0.561497].
    let o = ok(&[
        "sweep",
        "--preset",
        "r6",
        "--vary",
        "machine.cpus=2",
        "--runs",
        "3",
        "--csv",
    ]);
    let mut lines = o.stdout.lines();
    assert_eq!(
        lines.next(),
        Some("cell,machine.cpus,runs,outcome,hits,p,low,high")
    );
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    assert_eq!(rows.len(), oomlab_core::Outcome::ALL.len());
    for r in &rows {
        let hits: u64 = r[4].parse().unwrap();
        let hi: f64 = r[7].parse().unwrap();
        if hits == 0 {
            assert_eq!(hi, 0.561497, "{r:?}");
        }
        if hits == 3 {
            assert_eq!(r[6], "0.438503", "{r:?}");
        }
    }
    assert!(
        rows.iter().any(|r| r[4] == "3"),
        "some outcome in every run"
    );
}

#[test]
fn bad_sweeps_are_input_errors() {
    for (args, says) in [
        (vec!["--vary", "machine.cpus"], "PATH=V1,V2"),
        (vec!["--vary", "machine.cpus=0"], "machine.cpus"),
        (
            vec!["--vary", "process.9.thread.0.count=2"],
            "give an index below 1",
        ),
        (
            vec!["--vary", "machine.cpus=2", "--vary", "machine.cpus=4"],
            "twice",
        ),
        (
            vec!["--vary", "machine.cpus=2", "--shard", "2/2"],
            "--shard",
        ),
        (vec!["--vary", "machine.cpus=2", "--runs", "0"], "--runs"),
        (
            vec!["--vary", "machine.cpus=2", "--csv", "--json"],
            "choose one",
        ),
    ] {
        let o = oomlab(&[&["sweep", "--preset", "r1"][..], &args].concat());
        assert_eq!(o.code, 2, "{args:?}: {}", o.stderr);
        assert!(o.stderr.contains(says), "{args:?}: {}", o.stderr);
        assert!(o.stdout.is_empty());
    }
}
