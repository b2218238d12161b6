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
    oomlab_stdin(args, "")
}

fn oomlab_stdin(args: &[&str], stdin: &str) -> Out {
    let o = Command::cargo_bin("oomlab")
        .expect("binary")
        .args(args)
        .write_stdin(stdin)
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
        files[2].to_str().unwrap(),
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
    // Five runs do not cover R2's bound: the search is cut short.
    assert_eq!(e["complete"], false, "{e}");
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
        t.stdout
            .contains("INCOMPLETE: the exhaustive search stopped at its 3 runs")
            && t.stdout.contains("the exhaustive search is incomplete")
            && !t.stdout.contains("interleavings with at most"),
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

/// "always" and "never" are proven only by a completed exhaustive search,
/// and then within its bound; sampling, or a search cut short, only fails to
/// contradict them. A "sometimes" is witnessed by a run either way.
#[test]
fn check_claims_a_proof_only_for_a_complete_exhaustive_search() {
    let s = ok(&["check", "--preset", "r1", "--runs", "20"]);
    assert!(
        s.stdout
            .contains("[expect] not contradicted in 20 runs: evidence, not proof"),
        "{}",
        s.stdout
    );
    assert!(
        s.stdout.contains("expected sometimes witnessed"),
        "{}",
        s.stdout
    );
    assert!(!s.stdout.contains("holds"), "{}", s.stdout);
    let v = json(&["check", "--preset", "r1", "--runs", "20", "--json"]);
    assert_eq!(
        (&v["holds"], &v["proven"]),
        (&Value::Bool(true), &Value::Bool(false))
    );

    let win = [
        "check",
        "--preset",
        "r2",
        "--strategy",
        "exhaustive",
        "--window",
        "kill:20us",
        "--prefixes",
        "1",
        "--bound",
        "1",
    ];
    let e = ok(&win);
    assert!(
        e.stdout
            .contains("expected never     holds within the bound"),
        "{}",
        e.stdout
    );
    assert!(
        e.stdout.contains("[expect] holds within the search bound"),
        "{}",
        e.stdout
    );
    let v = json(&[&win[..], &["--json"]].concat());
    assert_eq!(
        (&v["complete"], &v["proven"]),
        (&Value::Bool(true), &Value::Bool(true))
    );
    // The same search cut at 3 runs proves nothing.
    let v = json(&[&win[..], &["--runs", "3", "--json"]].concat());
    assert_eq!(
        (&v["complete"], &v["proven"]),
        (&Value::Bool(false), &Value::Bool(false))
    );
    assert_eq!(v["holds"], true, "{v:#}");
}

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
    // The replayed run: the schedule as slices, counters, and the run's
    // metadata (core's tests check their structure).
    let ph = |p: &str| evs.iter().filter(|e| e["ph"] == p).count();
    assert!(ph("X") > ph("s") * 2, "task slices besides the IPIs");
    assert!(ph("C") > 0, "counters");
    assert_eq!(
        v["otherData"]["model_version"],
        oomlab_core::MODEL_VERSION.to_string()
    );
    assert!(v["otherData"]["outcomes"].is_string());
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

#[test]
fn export_dmesg_is_what_printk_printed() {
    let seed = r1_seed(true);
    let link = r1_link(seed);
    let o = ok(&["export", &link, "--format", "dmesg"]);
    let sc = presets::find("r1").unwrap().load();
    assert_eq!(
        o.stdout,
        oomlab_core::export::dmesg(&sc, ChoiceSource::Seed(seed)),
        "the CLI prints core's export of the linked run"
    );
    assert!(
        o.stdout.contains(" invoked oom-killer: gfp_mask="),
        "{}",
        o.stdout
    );
    assert!(!o.stdout.contains("mutex_trylock"), "only printk lines");
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

/// `bad_input` that also bounds the time the refusal takes.
fn bad_input_fast(args: &[&str], needle: &str) -> String {
    let t = std::time::Instant::now();
    let e = bad_input(args, needle);
    let secs = t.elapsed().as_secs_f64();
    assert!(secs < 1.0, "oomlab {args:?} took {secs:.2} s to refuse");
    e
}

#[test]
fn deep_nesting_is_a_located_error() {
    let deep = format!("version = 1\nx = {}\n", "[".repeat(20_000));
    let p = tmp("deep.toml", &deep);
    // The 65th `[` (column 5 + 64) is one level too many.
    let e = bad_input_fast(&["run", p.to_str().unwrap()], "line 2, column 69");
    assert!(e.contains("nest at most 64 deep"), "{e}");
    let inline = format!("version = 1\nx = {}\n", "{a=".repeat(20_000));
    let p = tmp("deep-inline.toml", &inline);
    bad_input_fast(&["run", p.to_str().unwrap()], "nest at most 64 deep");
    let dotted = format!("version = 1\n{} = 1\n", vec!["a"; 20_000].join("."));
    let p = tmp("deep-dotted.toml", &dotted);
    bad_input_fast(&["run", p.to_str().unwrap()], "at most 64 parts");
    let header = format!("version = 1\n[{}]\n", vec!["a"; 20_000].join("."));
    let p = tmp("deep-header.toml", &header);
    bad_input_fast(&["run", p.to_str().unwrap()], "at most 64 parts");
    // 64 levels are still read (and then refused as an unknown key, not as nesting).
    let ok64 = format!("version = 1\nx = {}{}\n", "[".repeat(64), "]".repeat(64));
    let p = tmp("deep-64.toml", &ok64);
    let e = bad_input_fast(&["run", p.to_str().unwrap()], "invalid scenario");
    assert!(!e.contains("nest at most"), "{e}");
}

/// A small valid scenario whose one program is `prog`, run by `count` threads.
fn scenario_with(machine_extra: &str, count: u32, prog: &str) -> String {
    format!(
        "version = 1\n\n[machine]\ncpus = 1\nsockets = 1\nmemory = \"64M\"\n{machine_extra}\n\
         [[process]]\nname = \"p\"\n\n[[process.thread]]\nprogram = \"big\"\ncount = {count}\n\n\
         [programs]\nbig = \"\"\"\n{prog}\nexit_group\n\"\"\"\n"
    )
}

#[test]
fn size_overflow_is_a_located_error() {
    // Sanity: the small scenario itself is valid, so each refusal below is the overflow.
    let fine = tmp("sizes-ok.toml", &scenario_with("", 2, "buf b = heap 4K"));
    ok(&["run", fine.to_str().unwrap()]);
    // 2 threads x 2^63 wraps to 0 in 64 bits.
    let p = tmp(
        "virt-wrap.toml",
        &scenario_with("", 2, "buf b = heap 9223372036854775808"),
    );
    let e = bad_input_fast(&["run", p.to_str().unwrap()], "more than 2^64 bytes");
    assert!(
        e.contains("programs.big") && e.contains("line 16, column 1"),
        "{e}"
    );
    // kernel_reserved + page_cache + slab (2^63 + 2^63 + 4K) wraps to 4K.
    let p = tmp(
        "fixed-wrap.toml",
        &scenario_with(
            "kernel_reserved = \"8589934592G\"\npage_cache = \"8589934592G\"\nslab = 4096",
            1,
            "buf b = heap 4K",
        ),
    );
    let e = bad_input_fast(&["run", p.to_str().unwrap()], "must leave free memory");
    assert!(
        e.contains("machine.kernel_reserved") && e.contains("line 7"),
        "{e}"
    );
    // A stack buffer of 2^64 - 1 bytes rounds up to 2^64, which is 0 in 64 bits.
    let p = tmp(
        "stack-wrap.toml",
        &scenario_with("", 1, "buf b = stack 18446744073709551615"),
    );
    let e = bad_input_fast(&["run", p.to_str().unwrap()], "puts more than 2^64 bytes");
    assert!(e.contains("process[0].stack"), "{e}");
}

#[test]
fn merge_refuses_missing_and_overlapping_shards_by_name() {
    let shard = |i: u32, n: u32| {
        let o = ok(&[
            "explore",
            "--preset",
            "r2",
            "--runs",
            "6",
            "--shard",
            &format!("{i}/{n}"),
            "--json",
        ]);
        tmp(&format!("gap-{i}of{n}.json"), &o.stdout)
    };
    let (s0, s1, s2) = (shard(0, 3), shard(1, 3), shard(2, 3));
    let half = shard(0, 2);
    let p = |f: &PathBuf| f.to_str().unwrap().to_string();
    // 0/3 and 2/3 once merged to "runs 0..6 of 6" with 4 runs in the report.
    let e = bad_input_fast(&["merge", &p(&s2), &p(&s0)], "runs 2..4 of 6 are missing");
    assert!(e.contains(&p(&s0)) && e.contains(&p(&s2)), "{e}");
    let e = bad_input_fast(&["merge", &p(&s0), &p(&s1)], "runs 4..6 of 6 are missing");
    assert!(e.contains(&p(&s1)), "{e}");
    bad_input_fast(&["merge", &p(&s1), &p(&s2)], "runs 0..2 of 6 are missing");
    // 0/2 is runs 0..3, 1/3 is runs 2..4.
    let e = bad_input_fast(&["merge", &p(&half), &p(&s1), &p(&s2)], "overlaps");
    assert!(e.contains(&p(&half)) && e.contains(&p(&s1)), "{e}");
    let m: Value =
        serde_json::from_str(&ok(&["merge", &p(&s1), &p(&s2), &p(&s0), "--json"]).stdout).unwrap();
    assert_eq!(m["report"]["runs"], 6);
    assert_eq!(m["range"], serde_json::json!([0, 6]));
}

#[test]
fn bare_oomlab_shows_help() {
    let o = oomlab(&[]);
    assert_eq!(o.code, 2);
    assert!(o.stderr.contains("Usage: oomlab"), "{}", o.stderr);
    for cmd in ["run", "explore", "merge", "replay", "scenario", "export"] {
        assert!(
            o.stderr.contains(&format!("  {cmd} ")),
            "{cmd}: {}",
            o.stderr
        );
    }
    assert!(!o.stdout.contains("model version"), "{}", o.stdout);
}

#[test]
fn dash_reads_the_scenario_or_the_link_from_stdin() {
    let r1 = presets::find("r1").unwrap().text;
    let from_file = ok(&["run", "--preset", "r1", "--seed", "3", "--json"]).stdout;
    let o = oomlab_stdin(&["run", "-", "--seed", "3", "--json"], r1);
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert_eq!(o.stdout, from_file, "stdin reads the same scenario");
    let v: Value = serde_json::from_str(&o.stdout).unwrap();
    let link = v["permalink"].as_str().unwrap().to_string();
    let replayed = oomlab_stdin(&["replay", "-", "--json"], &format!("{link}\n"));
    assert_eq!(replayed.code, 0, "{}", replayed.stderr);
    assert_eq!(
        serde_json::from_str::<Value>(&replayed.stdout).unwrap()["outcomes"],
        v["outcomes"]
    );
    let o = oomlab_stdin(&["run", "-"], "version = 1\n[machine\n");
    assert_eq!(o.code, 2);
    assert!(o.stderr.contains("<stdin>: line 2, column"), "{}", o.stderr);
    let o = oomlab_stdin(&["replay", "-"], "not-a-link\n");
    assert_eq!(o.code, 2);
    assert!(o.stderr.contains("bad permalink"), "{}", o.stderr);
}

#[test]
fn scenario_prints_a_links_scenario_so_an_old_link_can_be_rerun() {
    let old = fixture("model1-r1-seed3.txt");
    let e = bad_input(&["replay", &old], "oomlab scenario LINK > s.toml");
    assert!(e.contains("oomlab run s.toml --seed 3"), "{e}");
    let text = ok(&["scenario", &old]).stdout;
    let p = Permalink::decode(&old).unwrap();
    assert_eq!(text, p.scenario_text, "the exact text the link carries");
    let f = tmp("from-old-link.toml", &text);
    let rerun = ok(&["run", f.to_str().unwrap(), "--seed", "3"]);
    assert!(rerun.stdout.contains("outcomes:"), "{}", rerun.stdout);
    let piped = oomlab_stdin(&["scenario", "-"], &old);
    assert_eq!(piped.stdout, text);
    bad_input(&["scenario", "v1.AAAA"], "bad permalink");
}

#[test]
fn strategy_and_format_list_their_values() {
    let e = bad_input(
        &["explore", "--preset", "r1", "--strategy", "dfs"],
        "invalid value 'dfs'",
    );
    assert!(
        e.contains("random") && e.contains("pct") && e.contains("exhaustive"),
        "{e}"
    );
    let e = bad_input(
        &["export", &r1_link(1), "--format", "svg"],
        "invalid value 'svg'",
    );
    assert!(
        e.contains("chrome") && e.contains("ascii") && e.contains("text"),
        "{e}"
    );
    let pct = json(&[
        "explore",
        "--preset",
        "r2",
        "--runs",
        "2",
        "--strategy",
        "pct",
        "--json",
    ]);
    assert_eq!(pct["strategy"], "pct");
}

#[test]
fn jobs_and_runs_are_capped() {
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    let base = ["explore", "--preset", "r2", "--runs", "2", "--json"];
    let one = ok(&[&base[..], &["--jobs", "1"]].concat()).stdout;
    let t = std::time::Instant::now();
    let many = ok(&[&base[..], &["--jobs", "100000"]].concat());
    assert!(t.elapsed().as_secs_f64() < 5.0, "{:?}", t.elapsed());
    assert!(
        many.stderr
            .contains(&format!("--jobs 100000 capped at {cpus}")),
        "{}",
        many.stderr
    );
    assert_eq!(many.stdout, one, "the cap does not change the answer");
    bad_input_fast(
        &[&base[..], &["--jobs", "0"]].concat(),
        "--jobs must be at least 1",
    );
    bad_input_fast(
        &["explore", "--preset", "r2", "--runs", "1000000001"],
        "--runs must be between 1 and 1000000000, got 1000000001",
    );
    bad_input_fast(
        &["check", "--preset", "r2", "--runs", "0"],
        "--runs must be between 1 and",
    );
    // A huge shard count cuts the range in 128 bits instead of wrapping.
    let last = format!("{}/{}", u64::MAX - 1, u64::MAX);
    let v = json(&[
        "explore", "--preset", "r2", "--runs", "2", "--shard", &last, "--json",
    ]);
    assert_eq!(v["range"], serde_json::json!([1, 2]));
    assert_eq!(v["report"]["runs"], 1);
}

/// Starts a long exploration, sends `signal` after about a second, and
/// returns its exit code, stdout and stderr.
fn explore_then_signal(signal: &str, extra: &[&str]) -> Out {
    let child = std::process::Command::new(assert_cmd::cargo::cargo_bin("oomlab"))
        .args([
            "explore",
            "--preset",
            "r1",
            "--runs",
            "1000000000",
            "--jobs",
            "2",
        ])
        .args(extra)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn oomlab");
    std::thread::sleep(std::time::Duration::from_millis(1000));
    let sent = std::process::Command::new("kill")
        .args([&format!("-{signal}"), &child.id().to_string()])
        .status()
        .expect("run kill");
    assert!(sent.success());
    let t = std::time::Instant::now();
    let o = child.wait_with_output().expect("wait for oomlab");
    assert!(
        t.elapsed().as_secs_f64() < 5.0,
        "took {:?} to stop after SIG{signal}",
        t.elapsed()
    );
    Out {
        code: o.status.code().unwrap_or(-1),
        stdout: String::from_utf8(o.stdout).unwrap(),
        stderr: String::from_utf8(o.stderr).unwrap(),
    }
}

/// The partial report: valid JSON, `"complete": false`, some runs done and
/// not all, and every other field as in a full report.
fn check_partial(o: &Out) -> Value {
    assert_eq!(o.code, 130, "stderr: {}", o.stderr);
    let v: Value = serde_json::from_str(&o.stdout)
        .unwrap_or_else(|e| panic!("partial report is not JSON ({e}): {}", o.stdout));
    assert_eq!(v["complete"], false);
    let runs = v["report"]["runs"].as_u64().unwrap();
    assert!(runs > 0 && runs < 1_000_000_000, "runs done: {runs}");
    let hist: u64 = v["report"]["histogram"]
        .as_object()
        .unwrap()
        .values()
        .map(|n| n.as_u64().unwrap())
        .sum();
    assert!(hist >= runs, "every run done is in the histogram");
    assert_eq!(v["range"], serde_json::json!([0, 1_000_000_000u64]));
    assert!(v["verdicts"].is_array() && v["scenario"].is_string());
    assert!(
        o.stderr
            .contains(&format!("stopped after {runs} of the 1000000000 runs")),
        "{}",
        o.stderr
    );
    v
}

#[test]
fn sigint_and_sigterm_print_the_partial_report_and_exit_130() {
    let v = check_partial(&explore_then_signal("INT", &["--json"]));
    // A partial shard is not merged as if it were whole.
    let f = tmp("partial.json", &serde_json::to_string(&v).unwrap());
    bad_input(&["merge", f.to_str().unwrap()], "is a partial exploration");
    check_partial(&explore_then_signal("TERM", &["--json"]));
    let text = explore_then_signal("INT", &[]);
    assert_eq!(text.code, 130, "{}", text.stderr);
    assert!(
        text.stdout.contains("INCOMPLETE: stopped early"),
        "{}",
        text.stdout
    );
    assert!(text.stdout.contains("histogram:"), "{}", text.stdout);
}

#[test]
fn max_time_stops_on_the_clock() {
    let t = std::time::Instant::now();
    let o = oomlab(&[
        "explore",
        "--preset",
        "r1",
        "--runs",
        "1000000000",
        "--max-time",
        "1s",
        "--json",
    ]);
    let secs = t.elapsed().as_secs_f64();
    assert!((1.0..5.0).contains(&secs), "{secs:.2} s");
    check_partial(&o);
    let c = oomlab(&[
        "check",
        "--preset",
        "r1",
        "--runs",
        "1000000000",
        "--max-time",
        "500ms",
    ]);
    assert_eq!(c.code, 130, "{}", c.stderr);
    assert!(!c.stdout.contains("[expect] holds"), "{}", c.stdout);
    bad_input_fast(
        &["explore", "--preset", "r1", "--max-time", "soon"],
        "is not a duration",
    );
    // A --max-time that is not reached leaves the report complete.
    let full = json(&[
        "explore",
        "--preset",
        "r2",
        "--runs",
        "2",
        "--max-time",
        "1h",
        "--json",
    ]);
    assert_eq!(full["complete"], true);
    assert_eq!(full["report"]["runs"], 2);
}

#[test]
fn terminal_text_escapes_control_and_bidi_characters_and_json_is_exact() {
    // A title with ESC, BEL, U+202E and a newline that fakes a trace line; a
    // process name with ESC; a path with ESC and U+2066 (TOML escapes).
    let title = "T\u{1b}[2J\u{7}\u{202e}x\n[    0.000000] fake";
    let sc = r#"version = 1
title = "T\u001b[2J\u0007\u202ex\n[    0.000000] fake"

[machine]
cpus = 1
sockets = 1
memory = "64M"

[limits]
duration = "10ms"

[[process]]
name = "p\u001b]0;x"

[[process.thread]]
program = "w"

[programs]
w = """
buf b = heap 4096
fill b 0xff
open fd "/tmp/\u001b[31m\u2066f" append
write fd b 4096
exit_group
"""
"#;
    let f = tmp("hostile.toml", sc);
    let bad = |s: &str| {
        s.chars().any(|c| {
            c == '\u{1b}'
                || c == '\u{7}'
                || ('\u{202a}'..='\u{202e}').contains(&c)
                || ('\u{2066}'..='\u{2069}').contains(&c)
        })
    };
    let t = std::time::Instant::now();
    let text = ok(&["run", f.to_str().unwrap(), "--trace"]).stdout;
    assert!(t.elapsed().as_secs_f64() < 5.0);
    assert!(!bad(&text), "{text:?}");
    assert!(
        text.contains("T\\u{1b}[2J\\u{7}\\u{202e}x\\n[    0.000000] fake"),
        "the title is on one line, escaped: {text:?}"
    );
    assert!(
        !text.lines().any(|l| l.starts_with("[    0.000000] fake")),
        "{text}"
    );
    assert!(
        text.contains("/tmp/\\u{1b}[31m\\u{2066}f"),
        "the path was printed, escaped: {text}"
    );
    assert!(
        text.contains("p\\u{1b}]0;x"),
        "the process name was printed, escaped: {text}"
    );
    // JSON keeps the exact text.
    let v = json(&["run", f.to_str().unwrap(), "--json", "--trace"]);
    assert_eq!(v["title"], title);
    assert!(v["result"]["files"][0]["path"]
        .as_str()
        .unwrap()
        .contains("\u{1b}[31m\u{2066}f"));
    let link = v["permalink"].as_str().unwrap().to_string();
    let records = v["trace"].as_array().unwrap().len();
    // The text exports: one line per record, nothing raw.
    let exp = ok(&["export", &link, "--format", "text"]).stdout;
    assert!(!bad(&exp), "{exp:?}");
    assert_eq!(exp.lines().count(), records);
    assert!(exp.contains("p\\u{1b}]0;x"), "{exp}");
    let ascii = ok(&["export", &link, "--format", "ascii"]).stdout;
    assert!(!bad(&ascii), "{ascii:?}");
    let chrome = ok(&["export", &link, "--format", "chrome"]).stdout;
    assert!(
        chrome.contains("\\u001b") || chrome.contains("\\u001B"),
        "JSON escapes ESC itself"
    );
    let replay = ok(&["replay", &link]).stdout;
    assert!(!bad(&replay) && replay.contains("\\u{202e}"), "{replay:?}");
    // Saved to a file (not a terminal) the scenario is exact.
    let saved = ok(&["scenario", &link]).stdout;
    assert_eq!(saved, Permalink::decode(&link).unwrap().scenario_text);
    assert!(
        saved.contains('\u{202e}'),
        "the raw character, as the link has it"
    );
    let g = tmp("hostile-saved.toml", &saved);
    assert_eq!(
        json(&["run", g.to_str().unwrap(), "--json"])["title"],
        title
    );
    // Error messages quote the input escaped too.
    let e = bad_input(
        &[
            "run",
            tmp(
                "hostile-bad.toml",
                &sc.replace("program = \"w\"", "program = \"w\\u001b[5m\""),
            )
            .to_str()
            .unwrap(),
        ],
        "unknown program",
    );
    assert!(!bad(&e) && e.contains("w\\u{1b}[5m"), "{e:?}");
}

/// A window exploration: R2 searched exhaustively in the millisecond after
/// the kill is complete and never writes zeros; the report says what was
/// explored.
#[test]
fn explore_window_exhaustive_completes_on_r2() {
    let e = json(&[
        "explore",
        "--preset",
        "r2",
        "--strategy",
        "exhaustive",
        "--window",
        "kill:1ms",
        "--prefixes",
        "2",
        "--bound",
        "1",
        "--json",
    ]);
    assert_eq!(e["complete"], true, "{e}");
    assert_eq!(e["prefixes"], 2);
    assert_eq!(e["bound"], 1);
    assert_eq!(e["window"]["window"]["trigger"]["kind"], "kill");
    assert_eq!(e["window"]["window"]["len_ns"], 1_000_000);
    assert_eq!(e["window"]["reached"], 2);
    assert!(e["report"]["runs"].as_u64().unwrap() > 2, "{e}");
    assert!(
        e["report"]["histogram"].get("zeros_in_file").is_none(),
        "{e}"
    );
    let t = ok(&[
        "explore",
        "--preset",
        "r2",
        "--strategy",
        "exhaustive",
        "--window",
        "kill:1ms",
        "--prefixes",
        "2",
    ]);
    assert!(
        t.stdout
            .contains("with at most 1 deviation(s) in the window after `kill` for 1.00 ms")
            && t.stdout
                .contains("for these 2 prefixes (2 reached the trigger)"),
        "{}",
        t.stdout
    );
}

/// Cut by --runs, the same search is incomplete, and says so.
#[test]
fn explore_window_cut_short_is_incomplete() {
    let args = [
        "explore",
        "--preset",
        "r1",
        "--strategy",
        "exhaustive",
        "--window",
        "kill",
        "--prefixes",
        "1",
        "--runs",
        "3",
    ];
    let mut j = args.to_vec();
    j.push("--json");
    let e = json(&j);
    assert_eq!(e["complete"], false, "{e}");
    assert_eq!(e["report"]["runs"], 3);
    let t = ok(&args);
    assert!(
        t.stdout.contains("INCOMPLETE") && t.stdout.contains("evidence, not proof"),
        "{}",
        t.stdout
    );
    bad_input(
        &["explore", "--preset", "r1", "--window", "kil"],
        "unknown window trigger",
    );
    bad_input(
        &[
            "explore", "--preset", "r1", "--window", "kill", "--bound", "2",
        ],
        "--bound needs --strategy exhaustive",
    );
    bad_input(
        &[
            "explore",
            "--preset",
            "r1",
            "--window",
            "kill",
            "--prefixes",
            "0",
        ],
        "--prefixes must be between 1",
    );
}

/// Window explorations give the same JSON for any --jobs, and shards merge
/// into the whole.
#[test]
fn explore_window_is_the_same_for_any_jobs_and_shards() {
    let base = [
        "explore",
        "--preset",
        "r1",
        "--window",
        "kill",
        "--prefixes",
        "2",
        "--runs",
        "2",
        "--json",
    ];
    let with = |extra: &[&str]| {
        let mut a = base.to_vec();
        a.extend_from_slice(extra);
        ok(&a).stdout
    };
    let one = with(&["--jobs", "1"]);
    assert_eq!(one, with(&["--jobs", "2"]));
    let s0 = tmp("w0.json", &with(&["--shard", "0/2"]));
    let s1 = tmp("w1.json", &with(&["--shard", "1/2"]));
    let merged = json(&[
        "merge",
        s0.to_str().unwrap(),
        s1.to_str().unwrap(),
        "--json",
    ]);
    let whole: Value = serde_json::from_str(&one).unwrap();
    assert_eq!(merged["report"], whole["report"]);
    assert_eq!(merged["window"], whole["window"]);
    assert_eq!(merged["complete"], true);
}

/// `oomlab rewind` on a corrupting R1 run: points sorted by time, each with
/// its interval, and the point of no return (or null) in the JSON.
#[test]
fn rewind_reports_points_and_the_point_of_no_return() {
    let run = json(&["run", "--preset", "r1", "--seed", "3", "--json"]);
    let link = run["permalink"].as_str().unwrap().to_string();
    let r = json(&["rewind", &link, "--points", "3", "--samples", "2", "--json"]);
    assert_eq!(r["outcome"], "zeros_in_file", "{r}");
    let pts = r["points"].as_array().unwrap();
    assert_eq!(pts.len(), 3);
    let ts: Vec<u64> = pts.iter().map(|p| p["t_ns"].as_u64().unwrap()).collect();
    assert!(ts.windows(2).all(|w| w[0] <= w[1]), "{ts:?}");
    for p in pts {
        let (lo, pp, hi) = (
            p["low"].as_f64().unwrap(),
            p["p"].as_f64().unwrap(),
            p["high"].as_f64().unwrap(),
        );
        assert!(lo <= pp && pp <= hi, "{p}");
        assert_eq!(p["samples"], 2);
    }
    assert!(r.get("point_of_no_return").is_some());
    let t = ok(&["rewind", &link, "--points", "3", "--samples", "2"]);
    assert!(
        t.stdout.starts_with("P(zeros_in_file | state at t)"),
        "{}",
        t.stdout
    );
    bad_input(
        &["rewind", &link, "--points", "1"],
        "--points must be between 2 and 100",
    );
}

// ------------------------------------------------------------ hostile input

fn tmp_bytes(name: &str, bytes: &[u8]) -> PathBuf {
    let p = tmp(name, "");
    std::fs::write(&p, bytes).unwrap();
    p
}

#[test]
fn oversized_and_non_utf8_files_are_refused_quickly() {
    // An endless file: no more than the cap is read.
    bad_input_fast(
        &["run", "/dev/zero"],
        "/dev/zero is larger than 1048576 bytes",
    );
    let big = tmp("big.toml", &"#".repeat((1 << 20) + 1));
    bad_input_fast(&["run", big.to_str().unwrap()], "larger than 1048576 bytes");
    let o = oomlab_stdin(&["run", "-"], &"#\n".repeat(600_000));
    assert_eq!(o.code, 2, "{}", o.stderr);
    assert!(o.stderr.contains("stdin is larger than"), "{}", o.stderr);
    // Invalid UTF-8 (then a NUL and an ESC): the byte offset, never the bytes.
    let mut b = b"version = 1\n[machine]\ncpus = 1\n".to_vec();
    let at = b.len() + 9;
    b.extend_from_slice(b"title = \"\xff\x00\x1b[31m\"\n");
    let p = tmp_bytes("bad-utf8.toml", &b);
    let e = bad_input_fast(
        &["run", p.to_str().unwrap()],
        &format!("line 4, column 10: invalid UTF-8 at byte {at}"),
    );
    assert!(!e.contains('\0') && !e.contains('\x1b'), "{e:?}");
    // A NUL in a quoted key is valid UTF-8; it is escaped when printed.
    let p = tmp(
        "nul-key.toml",
        "version = 1\n[machine]\ncpus = 1\nmemory = \"64M\"\n\"a\\u0000b\" = 1\n",
    );
    let e = bad_input_fast(&["run", p.to_str().unwrap()], "line 5, column 1: machine.a");
    assert!(!e.contains('\0'), "{e:?}");
}

#[test]
fn scenario_errors_name_the_field_once_and_where_it_is() {
    let r1 = presets::find("r1").unwrap().text;
    let line_of = |t: &str, l: &str| t.lines().position(|x| x == l).unwrap() + 1;
    // A version of the wrong type is not a missing one.
    let p = tmp(
        "version-str.toml",
        &r1.replace("version = 1", "version = \"1\""),
    );
    let e = bad_input_fast(
        &["run", p.to_str().unwrap()],
        "line 1, column 11: version: invalid type: string \"1\"",
    );
    assert!(!e.contains("missing"), "{e}");
    // An unknown key is echoed once.
    let text = r1.replace("cpus = 8", "cpus = 8\nbogus_key = 1");
    let p = tmp("unknown-key.toml", &text);
    let e = bad_input_fast(
        &["run", p.to_str().unwrap()],
        "machine.bogus_key: unknown field",
    );
    assert_eq!(e.matches("bogus_key").count(), 1, "{e}");
    assert!(
        e.contains(&format!(
            "line {}, column 1",
            line_of(&text, "bogus_key = 1")
        )),
        "{e}"
    );
    // Too many threads: at the count that passes the cap.
    let text = r1.replace("count = 8", "count = 2000");
    let p = tmp("threads.toml", &text);
    bad_input_fast(
        &["run", p.to_str().unwrap()],
        &format!(
            "line {}, column 1: process[0].thread[0].count: at most 1024 threads in all, got 2001",
            line_of(&text, "count = 2000")
        ),
    );
    // A title too long for one line of the gallery.
    let text = r1.replacen("title = \"", &format!("title = \"{}", "t".repeat(200)), 1);
    let p = tmp("title.toml", &text);
    bad_input_fast(
        &["run", p.to_str().unwrap()],
        "line 2, column 1: title: is at most 200 characters",
    );
    // A write longer than its buffer.
    let p = tmp(
        "long-write.toml",
        &scenario_with("", 1, "buf b = heap 4K\nopen fd \"/f\"\nwrite fd b 8K"),
    );
    bad_input_fast(
        &["run", p.to_str().unwrap()],
        "line 19, column 12: programs.big",
    );
}

/// A scenario as large as a scenario may be, with content that does not
/// compress: `run` prints its link, and `replay` takes that link back.
#[test]
fn the_link_of_the_largest_scenario_replays() {
    let mut x = 0x2545_f491_4f6c_dd1du64;
    let mut comment = String::new();
    while comment.len() < 1_040_000 {
        comment.push_str("# ");
        for _ in 0..70 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            // Printable ASCII but `"` and `\`, which would end or escape the string.
            let c = (b'!' + (x % 94) as u8) as char;
            comment.push(if c == '"' || c == '\\' { '~' } else { c });
        }
        comment.push('\n');
    }
    let text = scenario_with("", 1, &format!("{comment}buf b = heap 4K"));
    assert!(
        text.len() > 1_040_000 && text.len() <= 1 << 20,
        "{}",
        text.len()
    );
    let p = tmp("largest.toml", &text);
    let run = json(&["run", p.to_str().unwrap(), "--json"]);
    let link = run["permalink"].as_str().expect("a permalink");
    assert!(link.len() > 1_000_000, "{}", link.len());
    let o = oomlab_stdin(&["replay", "-", "--json"], link);
    assert_eq!(o.code, 0, "{}", o.stderr);
    let replayed: Value = serde_json::from_str(&o.stdout).unwrap();
    assert_eq!(replayed["outcomes"], run["outcomes"]);
}

/// `oomlab completions SHELL` prints a script that knows the subcommands.
#[test]
fn completions_know_the_subcommands() {
    for shell in ["bash", "zsh", "fish"] {
        let o = ok(&["completions", shell]);
        for sub in ["explore", "rewind", "sweep", "merge"] {
            assert!(o.stdout.contains(sub), "{shell} lacks {sub}");
        }
    }
    bad_input(&["completions", "tcsh"], "tcsh");
}

/// The keywords docs/report.schema.json uses, and nothing else: a keyword
/// this does not know fails the test rather than passing unchecked.
fn check_schema(v: &Value, schema: &Value, root: &Value, path: &str, seen: &mut usize) {
    *seen += 1;
    let obj = schema.as_object().expect("a schema is an object");
    for key in obj.keys() {
        assert!(
            [
                "$schema",
                "$id",
                "title",
                "description",
                "type",
                "required",
                "properties",
                "items",
                "enum",
                "pattern",
                "$ref",
                "$defs",
                "additionalProperties"
            ]
            .contains(&key.as_str()),
            "schema keyword `{key}` at {path} is not checked"
        );
    }
    if let Some(r) = obj.get("$ref").and_then(Value::as_str) {
        let name = r.strip_prefix("#/$defs/").expect("local $ref");
        return check_schema(v, &root["$defs"][name], root, path, seen);
    }
    if let Some(t) = obj.get("type") {
        let kinds: Vec<&str> = match t {
            Value::String(s) => vec![s.as_str()],
            Value::Array(a) => a.iter().filter_map(Value::as_str).collect(),
            _ => panic!("bad type at {path}"),
        };
        let is = |k: &str| match k {
            "object" => v.is_object(),
            "array" => v.is_array(),
            "string" => v.is_string(),
            "integer" => v.is_u64() || v.is_i64(),
            "boolean" => v.is_boolean(),
            "null" => v.is_null(),
            _ => panic!("type {k} at {path}"),
        };
        assert!(kinds.iter().any(|k| is(k)), "{path}: {v} is not {kinds:?}");
    }
    if let Some(e) = obj.get("enum").and_then(Value::as_array) {
        assert!(e.contains(v), "{path}: {v} not in {e:?}");
    }
    if let (Some(p), Some(s)) = (obj.get("pattern").and_then(Value::as_str), v.as_str()) {
        let ok = match p {
            "^[0-9]+$" => !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()),
            "^[0-9a-f]{16}$" => s.len() == 16 && s.bytes().all(|b| b.is_ascii_hexdigit()),
            "^v[0-9]+\\." => {
                s.starts_with('v')
                    && s[1..]
                        .split_once('.')
                        .is_some_and(|(n, _)| n.parse::<u32>().is_ok())
            }
            _ => panic!("pattern {p} at {path} is not checked"),
        };
        assert!(ok, "{path}: `{s}` does not match {p}");
    }
    if let Some(o) = v.as_object() {
        if let Some(req) = obj.get("required").and_then(Value::as_array) {
            for r in req {
                let r = r.as_str().unwrap();
                assert!(o.contains_key(r), "{path}: `{r}` missing");
            }
        }
        let props = obj.get("properties").and_then(Value::as_object);
        for (k, x) in o {
            let p = format!("{path}.{k}");
            match (
                props.and_then(|ps| ps.get(k)),
                obj.get("additionalProperties"),
            ) {
                (Some(s), _) => check_schema(x, s, root, &p, seen),
                (None, Some(s)) => check_schema(x, s, root, &p, seen),
                (None, None) => panic!("{p}: not in the schema"),
            }
        }
    }
    if let (Some(a), Some(items)) = (v.as_array(), obj.get("items")) {
        for (i, x) in a.iter().enumerate() {
            check_schema(x, items, root, &format!("{path}[{i}]"), seen);
        }
    }
}

#[test]
fn reports_follow_the_documented_schema_with_big_values_as_strings() {
    let schema: Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../docs/report.schema.json"
        ))
        .unwrap(),
    )
    .unwrap();
    // The outcome codes the schema lists are the model's.
    let codes: Vec<String> = Outcome::ALL.iter().map(|o| o.code().to_string()).collect();
    let listed: Vec<String> = schema["$defs"]["outcome"]["enum"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    assert_eq!(codes, listed);
    let big = (u64::MAX - 10).to_string();
    let a = ok(&[
        "explore", "--preset", "r1", "--runs", "4", "--seed", &big, "--shard", "0/2", "--json",
    ])
    .stdout;
    let b = ok(&[
        "explore", "--preset", "r1", "--runs", "4", "--seed", &big, "--shard", "1/2", "--json",
    ])
    .stdout;
    let (fa, fb) = (tmp("schema-a.json", &a), tmp("schema-b.json", &b));
    let merged = ok(&[
        "merge",
        fa.to_str().unwrap(),
        fb.to_str().unwrap(),
        "--json",
    ])
    .stdout;
    let window = ok(&[
        "explore",
        "--preset",
        "r2",
        "--window",
        "kill:1ms",
        "--prefixes",
        "2",
        "--runs",
        "2",
        "--json",
    ])
    .stdout;
    let mut checked = 0;
    for text in [&a, &b, &merged, &window] {
        let v: Value = serde_json::from_str(text).unwrap();
        check_schema(&v, &schema, &schema, "$", &mut checked);
    }
    assert!(checked > 200, "{checked} values checked");
    let va: Value = serde_json::from_str(&a).unwrap();
    assert_eq!(va["schema_version"], 1);
    assert_eq!(va["base_seed"], Value::String(big.clone()));
    assert_eq!(va["shard"], serde_json::json!({"index": 0, "count": 2}));
    let vm: Value = serde_json::from_str(&merged).unwrap();
    assert!(vm.get("shard").is_none());
    // Seeds near 2^64 survive: each failing run's source names its exact seed.
    let sources: Vec<&Value> = vm["report"]["buckets"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|b| b["first"].as_array().unwrap())
        .map(|r| &r["source"]["Seed"])
        .collect();
    assert!(!sources.is_empty());
    for s in sources {
        let s: u64 = s.as_str().expect("a string").parse().unwrap();
        assert!(s >= u64::MAX - 10);
    }
    // A report from a newer oomlab is refused by name.
    let newer = a.replace("\"schema_version\": 1", "\"schema_version\": 99");
    assert_ne!(newer, a);
    let fnew = tmp("schema-newer.json", &newer);
    bad_input(
        &["merge", fnew.to_str().unwrap(), fb.to_str().unwrap()],
        "schema version 99",
    );
}

#[test]
fn merge_refuses_an_endless_device_at_once() {
    // `/dev/zero` never ends: read whole, it took merge past any timeout.
    let e = bad_input_fast(&["merge", "/dev/zero"], "a NUL byte at byte 0");
    assert!(e.contains("not the JSON output of oomlab"), "{e}");
    bad_input_fast(&["merge", "/dev/urandom"], "/dev/urandom: ");
    // A NUL after valid JSON text is still found, by its offset.
    let p = tmp("nul.json", "{\"schema_version\": 1}\0");
    bad_input_fast(&["merge", p.to_str().unwrap()], "a NUL byte at byte 21");
}

#[test]
fn a_link_scenario_error_keeps_user_newlines_on_one_line() {
    // A key of the link's scenario with a newline and a fake trace line:
    // the error quotes the key, escaped, on the error's own line.
    let text = "version = 1\n[machine]\ncpus = 1\nmemory = \"64M\"\n\"k\\nZZFAKE [    0.000000] oom_reaper\" = 1\n";
    let link = Permalink {
        model_version: oomlab_core::MODEL_VERSION,
        scenario_text: text.to_string(),
        source: ChoiceSource::Seed(0),
        compare: Vec::new(),
    }
    .encode();
    for cmd in ["replay", "export"] {
        let mut args = vec![cmd, link.as_str()];
        if cmd == "export" {
            args.extend(["--format", "text"]);
        }
        let e = bad_input(&args, "k\\nZZFAKE");
        assert!(e.contains("unknown field"), "{e}");
        assert!(!e.lines().any(|l| l.starts_with("ZZFAKE")), "{e}");
    }
}
