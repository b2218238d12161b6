//! The `oomlab` command line, end to end: determinism of explore across jobs
//! and shards, `check` on every preset, shrink and replay, exports, and every
//! bad-input path (exit 2, one clear message, never a panic).

use assert_cmd::Command;
use oomlab_core::permalink::Permalink;
use oomlab_core::{presets, ChoiceSource, Outcome};
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
    assert!(
        !out.stderr.contains("panicked"),
        "oomlab {args:?} panicked:\n{}",
        out.stderr
    );
    out
}

fn ok(args: &[&str]) -> Out {
    let o = oomlab(args);
    assert_eq!(o.code, 0, "oomlab {args:?} failed:\n{}", o.stderr);
    o
}

fn json(args: &[&str]) -> Value {
    let o = ok(args);
    serde_json::from_str(&o.stdout).unwrap_or_else(|e| panic!("{args:?}: bad JSON {e}"))
}

/// Bad input: exit 2, a message on stderr that mentions `needle`, nothing on stdout.
fn bad_input(args: &[&str], needle: &str) -> String {
    let o = oomlab(args);
    assert_eq!(o.code, 2, "oomlab {args:?}: stderr {}", o.stderr);
    assert!(
        o.stderr.contains(needle),
        "oomlab {args:?}: `{needle}` not in {}",
        o.stderr
    );
    assert!(o.stdout.is_empty(), "{}", o.stdout);
    o.stderr
}

fn tmp(name: &str, text: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("cli-tests");
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

fn fixture(name: &str) -> String {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/permalinks")
        .join(name);
    std::fs::read_to_string(p).unwrap().trim().to_string()
}

/// A checked-in link made by the current model (`OOMLAB_BLESS=1 cargo test
/// -p oomlab-core --test explore` writes them when the model version moves).
fn current_fixture(name: &str) -> String {
    fixture(&format!("model{}-{name}.txt", oomlab_core::MODEL_VERSION))
}

fn r1_link(seed: u64) -> String {
    let sc = presets::find("r1").unwrap().load();
    Permalink::new(&sc, ChoiceSource::Seed(seed)).encode()
}

/// The first R1 seed whose run does (or does not) put zeros in a file, found
/// through core so that the tests follow the model rather than a seed list.
fn r1_seed(corrupts: bool) -> u64 {
    let sc = presets::find("r1").unwrap().load();
    (0..64)
        .find(|s| {
            oomlab_core::run(&sc, ChoiceSource::Seed(*s)).has(Outcome::ZerosInFile) == corrupts
        })
        .expect("R1 both corrupts and does not within 64 seeds")
}

/// The outcome codes core gives for a permalink.
fn core_outcomes(link: &str) -> Vec<String> {
    let p = Permalink::decode(link).unwrap();
    let r = oomlab_core::run(&p.scenario().unwrap(), p.source.clone());
    r.outcomes.iter().map(|o| o.code().to_string()).collect()
}

// ---------------------------------------------------------------- presets, run

#[test]
fn presets_lists_every_builtin_scenario() {
    let o = ok(&["presets"]);
    for p in presets::PRESETS {
        assert!(o.stdout.contains(p.id), "{}", o.stdout);
    }
    let v = json(&["presets", "--json"]);
    let ids: Vec<&str> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_str().unwrap())
        .collect();
    let want: Vec<&str> = presets::PRESETS.iter().map(|p| p.id).collect();
    assert_eq!(ids, want);
    assert!(v[0]["title"].as_str().unwrap().starts_with("R1"));
}

#[test]
fn run_prints_verdict_evidence_and_permalink() {
    let seed = r1_seed(true).to_string();
    let o = ok(&["run", "--preset", "r1", "--seed", &seed]);
    assert!(o.stdout.contains("outcomes: zeros_in_file"), "{}", o.stdout);
    assert!(o.stdout.contains("zero page"), "{}", o.stdout);
    assert!(o.stdout.contains("permalink: v1."), "{}", o.stdout);

    let v = json(&["run", "--preset", "r1", "--seed", &seed, "--json"]);
    assert_eq!(v["outcomes"][0], "zeros_in_file");
    assert_eq!(v["result"]["outcomes"][0], "zeros_in_file");
    assert_eq!(v["model_version"], oomlab_core::MODEL_VERSION);
    assert!(v.get("trace").is_none());
    // The run's permalink replays the same run.
    let link = v["permalink"].as_str().unwrap();
    let r = json(&["replay", link, "--json"]);
    assert_eq!(r["result"]["trace_hash"], v["result"]["trace_hash"]);
}

#[test]
fn run_from_a_file_with_trace() {
    let p = tmp("r3.toml", presets::find("r3").unwrap().text);
    let o = ok(&["run", p.to_str().unwrap(), "--trace"]);
    assert!(o.stdout.contains("oom_kill_process"), "trace is printed");
    assert!(o.stdout.lines().next().unwrap().starts_with('['));
    let v = json(&["run", p.to_str().unwrap(), "--trace", "--json"]);
    let tr = v["trace"].as_array().unwrap();
    assert_eq!(tr.len() as u64, v["result"]["trace_len"].as_u64().unwrap());
}

#[test]
fn json_outcome_keys_are_the_domain_codes() {
    let v = json(&["explore", "--preset", "r1", "--runs", "3", "--json"]);
    let codes: Vec<&str> = oomlab_core::Outcome::ALL.iter().map(|o| o.code()).collect();
    for k in v["report"]["histogram"].as_object().unwrap().keys() {
        assert!(codes.contains(&k.as_str()), "{k}");
    }
}

// ---------------------------------------------------------------- explore

#[test]
fn explore_is_deterministic_across_jobs_and_shards() {
    let base = ["explore", "--preset", "r1", "--runs", "6", "--json"];
    let a = ok(&[&base[..], &["--jobs", "1"]].concat()).stdout;
    let b = ok(&[&base[..], &["--jobs", "1"]].concat()).stdout;
    assert_eq!(a, b, "same arguments, same JSON");
    let c = ok(&[&base[..], &["--jobs", "2"]].concat()).stdout;
    assert_eq!(a, c, "--jobs does not change the answer");
    let d = ok(&[&base[..], &["--jobs", "3"]].concat()).stdout;
    assert_eq!(a, d);

    let whole: Value = serde_json::from_str(&a).unwrap();
    assert_eq!(whole["report"]["runs"], 6);
    assert!(
        whole["report"]["histogram"]["zeros_in_file"]
            .as_u64()
            .unwrap()
            > 0,
        "R1 corrupts within 6 runs"
    );
    assert!(whole["failing"][0]["permalink"]
        .as_str()
        .unwrap()
        .starts_with("v1."));

    // Three shards, merged in any order, give the one exploration's JSON.
    let mut files = Vec::new();
    for i in 0..3 {
        let shard = format!("{i}/3");
        let o = ok(&[&base[..], &["--shard", &shard, "--jobs", "1"]].concat());
        let sv: Value = serde_json::from_str(&o.stdout).unwrap();
        assert_eq!(sv["report"]["runs"], 2);
        files.push(tmp(&format!("shard{i}.json"), &o.stdout));
    }
    let m = ok(&[
        "merge",
        files[2].to_str().unwrap(),
        files[0].to_str().unwrap(),
        files[1].to_str().unwrap(),
        "--json",
    ]);
    assert_eq!(m.stdout, a, "shards + merge == one exploration");
    let text = ok(&[
        "merge",
        files[0].to_str().unwrap(),
        files[1].to_str().unwrap(),
    ]);
    assert!(text.stdout.contains("histogram"));
}

#[test]
fn explore_prints_histogram_buckets_permalinks_and_rate() {
    let o = ok(&["explore", "--preset", "r1", "--runs", "4", "--jobs", "2"]);
    for want in [
        "histogram:",
        "zeros_in_file",
        "buckets",
        ": v1.",
        "runs/s",
        "verdicts:",
    ] {
        assert!(o.stdout.contains(want), "`{want}` missing:\n{}", o.stdout);
    }
    // With --json, stdout is pure JSON and the rate goes to stderr.
    let j = ok(&["explore", "--preset", "r1", "--runs", "2", "--json"]);
    assert!(j.stderr.contains("runs/s"), "{}", j.stderr);
}

#[test]
fn explore_pct_and_exhaustive() {
    let v = json(&[
        "explore",
        "--preset",
        "r2",
        "--runs",
        "4",
        "--strategy",
        "pct",
        "--json",
    ]);
    assert_eq!(v["strategy"], "pct");
    assert_eq!(v["report"]["runs"], 4);
    let e = json(&[
        "explore",
        "--preset",
        "r2",
        "--runs",
        "5",
        "--strategy",
        "exhaustive",
        "--json",
    ]);
    assert_eq!(e["strategy"], "exhaustive");
    assert_eq!(e["report"]["runs"], 5);
    let t = ok(&[
        "explore",
        "--preset",
        "r2",
        "--runs",
        "3",
        "--strategy",
        "exhaustive",
    ]);
    assert!(
        t.stdout.contains("within the exhaustive bound"),
        "{}",
        t.stdout
    );
    bad_input(
        &[
            "explore",
            "--preset",
            "r2",
            "--strategy",
            "exhaustive",
            "--shard",
            "0/2",
        ],
        "--shard needs a sampling strategy",
    );
}

// ---------------------------------------------------------------- check

/// Run counts that reach each preset's expectations: R1 corrupts in about half
/// of its runs; R4's zeros are rare (about 2% of runs with seed base 0: runs 4,
/// 6, 19, 44 and 73 of the first 200), so it needs many more; R5's crash shows
/// stale blocks in about 40% of its runs. Every run is
/// deterministic, so these counts do not flake; a model change that moves R4's
/// first corrupting run beyond 200 shows up here.
const CHECK_RUNS: &[(&str, &str)] = &[("r1", "40"), ("r2", "20"), ("r3", "20"), ("r4", "200")];

#[test]
fn check_passes_on_every_preset() {
    for p in presets::PRESETS {
        let runs = CHECK_RUNS
            .iter()
            .find(|(id, _)| *id == p.id)
            .map_or("40", |(_, n)| n);
        let v = json(&["check", "--preset", p.id, "--runs", runs, "--json"]);
        assert_eq!(v["holds"], true, "{}: {v:#}", p.id);
        assert!(v["verdicts"]
            .as_array()
            .unwrap()
            .iter()
            .any(|l| !l["expected"].is_null()));
    }
}

#[test]
fn check_fails_with_exit_1_when_a_verdict_contradicts_expect() {
    let text = presets::find("r2").unwrap().text.replace(
        "never = [\"zeros_in_file\"]",
        "always = [\"zeros_in_file\"]",
    );
    assert_ne!(text, presets::find("r2").unwrap().text);
    let p = tmp("r2-wrong.toml", &text);
    let o = oomlab(&["check", p.to_str().unwrap(), "--runs", "3"]);
    assert_eq!(o.code, 1, "{}\n{}", o.stdout, o.stderr);
    assert!(o.stderr.contains("[expect] contradicted"), "{}", o.stderr);
    assert!(
        o.stderr
            .contains("zeros_in_file expected always but was never"),
        "{}",
        o.stderr
    );
    assert!(o.stdout.contains("CONTRADICTED"));
}

#[test]
fn check_without_expect_is_bad_input() {
    let text: String = presets::find("r3")
        .unwrap()
        .text
        .replace("[expect]", "")
        .replace("never = [\"zeros_in_file\"]", "");
    let p = tmp("r3-noexpect.toml", &text);
    bad_input(
        &["check", p.to_str().unwrap(), "--runs", "1"],
        "no [expect]",
    );
}

// ---------------------------------------------------------------- shrink, replay

#[test]
fn shrink_r1_first_failure_keeps_the_corruption() {
    // Every shrink keeps the corruption; the first failing run (explore's,
    // then the next corrupting seeds) whose shrink reaches a 1-minimal set
    // within a small budget is checked for minimality. A run whose
    // smaller-thread scenario needs more test runs says it is not minimal.
    let v = json(&["explore", "--preset", "r1", "--runs", "4", "--json"]);
    let sc = presets::find("r1").unwrap().load();
    let links = v["failing"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["permalink"].as_str().unwrap().to_string())
        .chain(
            (4..16)
                .filter(|s| oomlab_core::run(&sc, ChoiceSource::Seed(*s)).has(Outcome::ZerosInFile))
                .map(r1_link),
        );
    let mut found = None;
    for link in links {
        let s = json(&["shrink", &link, "--max-runs", "300", "--json"]);
        assert!(s["outcomes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|o| o == "zeros_in_file"));
        if s["minimal"] == true {
            found = Some(link);
            break;
        }
        assert!(s["critical"].as_array().unwrap().is_empty());
    }
    let first = found.expect("some R1 failure below seed 16 shrinks to a minimal run");
    let s = json(&["shrink", &first, "--json"]);
    assert_eq!(s["target"], "zeros_in_file");
    assert!(s["outcomes"]
        .as_array()
        .unwrap()
        .iter()
        .any(|o| o == "zeros_in_file"));
    let devs = s["source"]["Deviations"]["devs"]
        .as_array()
        .map_or(0, |d| d.len()) as u64;
    assert!(devs <= s["original_deviations"].as_u64().unwrap());
    assert_eq!(
        s["critical"].as_array().unwrap().len() as u64,
        devs,
        "1-minimal: every kept deviation is critical"
    );
    // The minimal permalink replays to the same corruption.
    let r = json(&["replay", s["permalink"].as_str().unwrap(), "--json"]);
    assert!(r["outcomes"]
        .as_array()
        .unwrap()
        .iter()
        .any(|o| o == "zeros_in_file"));
    let t = ok(&["shrink", &first, "--outcome", "zeros_in_file"]);
    assert!(t.stdout.contains("critical decisions"), "{}", t.stdout);
    assert!(t.stdout.contains("permalink: v1."));
}

#[test]
fn shrink_of_a_run_without_the_outcome_exits_1() {
    let clean = r1_link(r1_seed(false));
    if core_outcomes(&clean) == ["correct"] {
        let o = oomlab(&["shrink", &clean]);
        assert_eq!(o.code, 1, "{}", o.stderr);
        assert!(o.stderr.contains("no failure to shrink"), "{}", o.stderr);
    }
    let o = oomlab(&["shrink", &clean, "--outcome", "zeros_in_file"]);
    assert_eq!(o.code, 1);
    assert!(
        o.stderr.contains("does not show `zeros_in_file`"),
        "{}",
        o.stderr
    );
}

#[test]
fn replay_fixtures() {
    for name in ["r1-seed3", "r2-deviations"] {
        let link = current_fixture(name);
        let want = core_outcomes(&link);
        let o = ok(&["replay", &link]);
        assert!(
            o.stdout.contains(&format!("outcomes: {}", want.join(", "))),
            "{}",
            o.stdout
        );
        let v = json(&["replay", &link, "--json", "--trace"]);
        assert!(v["trace"].as_array().unwrap().len() > 100);
        assert_eq!(v["outcomes"], serde_json::json!(want));
        // A URL with the link in its fragment is accepted as well.
        let url = format!("https://example.org/oomlab/#run={link}");
        let u = json(&["replay", &url, "--json"]);
        assert_eq!(u["outcomes"], serde_json::json!(want));
    }
}

// ---------------------------------------------------------------- export

#[test]
fn export_chrome_is_trace_event_json() {
    let o = ok(&["export", &current_fixture("r1-seed3"), "--format", "chrome"]);
    let v: Value = serde_json::from_str(&o.stdout).expect("chrome export is JSON");
    let evs = v["traceEvents"].as_array().unwrap();
    assert!(evs.len() > 1000);
    let mut starts = std::collections::BTreeSet::new();
    let mut finishes = std::collections::BTreeSet::new();
    for e in evs {
        for k in ["ph", "ts", "pid", "tid", "name"] {
            assert!(e.get(k).is_some(), "{k} missing in {e}");
        }
        match e["ph"].as_str().unwrap() {
            "s" => assert!(starts.insert(e["id"].as_u64().unwrap())),
            "f" => assert!(finishes.insert(e["id"].as_u64().unwrap())),
            _ => {}
        }
    }
    assert!(!starts.is_empty());
    assert_eq!(starts, finishes, "every IPI flow starts and lands");
    let names: Vec<&str> = evs
        .iter()
        .filter(|e| e["ph"] == "M" && e["name"] == "thread_name")
        .map(|e| e["args"]["name"].as_str().unwrap())
        .collect();
    assert!(
        names.contains(&"cpu0") && names.contains(&"oom_reaper/10"),
        "{names:?}"
    );
}

#[test]
fn export_ascii_text_and_to_file() {
    let link = r1_link(r1_seed(true));
    let a = ok(&["export", &link, "--format", "ascii", "--rows", "20"]);
    assert!(a.stdout.starts_with("time (s)"), "{}", a.stdout);
    assert!(a.stdout.contains("oom_kill_process"));
    assert!(
        a.stdout.contains("ZERO PAGE"),
        "ends at the corrupting copy"
    );
    assert!(
        a.stdout.lines().all(|l| l.chars().count() <= 80),
        "fits an email:\n{}",
        a.stdout
    );
    let t = ok(&["export", &link, "--format", "text"]);
    assert!(t.stdout.lines().all(|l| l.starts_with('[')));
    let j = json(&["export", &link, "--format", "text", "--json"]);
    assert_eq!(j["content"].as_str().unwrap(), t.stdout);
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("cli-tests");
    std::fs::create_dir_all(&dir).unwrap();
    let f = dir.join("trace.json");
    let o = ok(&[
        "export",
        &link,
        "--format",
        "chrome",
        "-o",
        f.to_str().unwrap(),
    ]);
    assert!(o.stdout.is_empty());
    let v: Value = serde_json::from_str(&std::fs::read_to_string(&f).unwrap()).unwrap();
    assert!(v["traceEvents"].is_array());
    bad_input(&["export", &link, "--format", "svg"], "invalid value 'svg'");
}

#[test]
fn export_ftrace_is_trace_cmd_report_text() {
    let seed = r1_seed(true);
    let link = r1_link(seed);
    let o = ok(&["export", &link, "--format", "ftrace"]);
    let sc = presets::find("r1").unwrap().load();
    assert_eq!(
        o.stdout,
        oomlab_core::export::ftrace(&sc, ChoiceSource::Seed(seed)),
        "the CLI prints core's export of the linked run"
    );
    assert!(o.stdout.starts_with("cpus=8\n"), "{}", &o.stdout[..80]);
    for ev in [
        ": sched_switch: prev_comm=",
        ": mark_victim: pid=",
        ": start_task_reaping: pid=",
    ] {
        assert!(o.stdout.contains(ev), "no `{ev}`");
    }
}

// ---------------------------------------------------------------- bad input

#[test]
fn missing_file() {
    bad_input(
        &["run", "/no/such/scenario.toml"],
        "cannot read /no/such/scenario.toml",
    );
    bad_input(&["explore", "/no/such/scenario.toml"], "cannot read");
    bad_input(&["check", "/no/such/scenario.toml"], "cannot read");
    bad_input(&["merge", "/no/such/out.json"], "cannot read");
}

#[test]
fn bad_toml_reports_line_and_column() {
    let p = tmp("syntax.toml", "version = 1\n[machine\ncpus = 2\n");
    let e = bad_input(&["run", p.to_str().unwrap()], "line 2, column");
    assert!(e.contains("syntax.toml"), "{e}");
    let q = tmp(
        "invalid.toml",
        &presets::find("r1")
            .unwrap()
            .text
            .replace("cpus = 8", "cpus = 0"),
    );
    bad_input(&["check", q.to_str().unwrap()], "cpus");
}

#[test]
fn unknown_preset_lists_the_known_ones() {
    let e = bad_input(&["run", "--preset", "r99"], "unknown preset `r99`");
    for p in presets::PRESETS {
        assert!(e.contains(p.id), "{e}");
    }
    bad_input(&["explore", "--preset", "nope"], "the known presets are");
}

#[test]
fn bad_permalinks() {
    bad_input(&["replay", "not-a-link"], "bad permalink");
    bad_input(&["replay", "v1.AAAA"], "truncated or damaged");
    bad_input(&["replay", ""], "bad permalink");
    let good = current_fixture("r1-seed3");
    let cut = &good[..good.len() / 2];
    bad_input(&["replay", cut], "bad permalink");
    bad_input(&["shrink", cut], "bad permalink");
    bad_input(&["export", cut, "--format", "text"], "bad permalink");
    bad_input(&["replay", "v9.abcdef"], "not an oomlab permalink");
}

#[test]
fn permalink_from_another_model_version_is_refused() {
    let sc = presets::find("r1").unwrap().load();
    let mut p = Permalink::new(&sc, ChoiceSource::Seed(3));
    p.model_version = oomlab_core::MODEL_VERSION + 1;
    let link = p.encode();
    let e = bad_input(&["replay", &link], "model version");
    assert!(
        e.contains(&format!("model version {}", oomlab_core::MODEL_VERSION + 1)),
        "{e}"
    );
    bad_input(&["shrink", &link], "model version");
    bad_input(&["export", &link, "--format", "chrome"], "model version");
    // A checked-in link from model 1 is refused the same way.
    bad_input(
        &["replay", &fixture("model1-r1-seed3.txt")],
        "model version 1",
    );
}

#[test]
fn other_bad_arguments() {
    bad_input(
        &["shrink", &r1_link(1), "--outcome", "zeroes"],
        "unknown outcome `zeroes`",
    );
    bad_input(
        &["explore", "--preset", "r1", "--shard", "2/2"],
        "bad --shard",
    );
    bad_input(
        &["explore", "--preset", "r1", "--shard", "x"],
        "bad --shard",
    );
    bad_input(&["explore", "--preset", "r1", "--runs", "0"], "--runs");
    bad_input(
        &["explore", "--preset", "r1", "--strategy", "dfs"],
        "invalid value 'dfs'",
    );
    bad_input(&["run"], "required");
    bad_input(&["run", "x.toml", "--preset", "r1"], "cannot be used with");
    let junk = tmp("junk.json", "{\"not\": \"an exploration\"}");
    bad_input(&["merge", junk.to_str().unwrap()], "not the JSON output");
}

#[test]
fn merge_refuses_mixed_explorations() {
    let a = ok(&[
        "explore", "--preset", "r2", "--runs", "2", "--shard", "0/2", "--json",
    ])
    .stdout;
    let b = ok(&[
        "explore", "--preset", "r3", "--runs", "2", "--shard", "1/2", "--json",
    ])
    .stdout;
    let fa = tmp("mix-a.json", &a);
    let fb = tmp("mix-b.json", &b);
    bad_input(
        &["merge", fa.to_str().unwrap(), fb.to_str().unwrap()],
        "another exploration",
    );
    bad_input(
        &["merge", fa.to_str().unwrap(), fa.to_str().unwrap()],
        "overlap",
    );
}
