//! Trace exports: the Chrome trace-event JSON must be structurally valid for
//! Perfetto (every event has ph/ts/pid/tid/name, tracks are named, every flow
//! start has its finish), and the other two formats must carry the run.
#![cfg(not(target_arch = "wasm32"))]

use oomlab_core::export::{ascii_diagram, chrome_trace, text, CHROME_PID_CPUS, CHROME_PID_TASKS};
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
        .filter(|(p, _)| *p == CHROME_PID_CPUS as u64)
        .count();
    assert!((2..=8).contains(&cpus), "{cpus} CPU tracks");
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

#[test]
fn ascii_diagram_has_cpu_columns_and_ends_at_the_corruption() {
    // The first R1 seed that corrupts (the model evolves, so search).
    let (tr, focus) = (0..40)
        .map(r1_trace)
        .find(|(_, f)| f.is_some())
        .expect("R1 corrupts for some seed below 40");
    let focus = focus.unwrap();
    let d = ascii_diagram(&tr, Some(focus), 8);
    let mut lines = d.lines();
    let head = lines.next().unwrap();
    assert!(head.starts_with("time (s)"));
    assert!(head.contains("cpu"), "{head}");
    assert!(d.contains("oom_kill_process"), "{d}");
    assert!(d.contains("rows elided"), "{d}");
    // The last row is the copy that put zeros in the file.
    let last_rec = tr.iter().find(|r| r.idx >= focus).unwrap();
    assert!(d
        .trim_end()
        .lines()
        .rev()
        .nth(1)
        .unwrap()
        .contains(&last_rec.comm));
    // Two lines per row plus header and marker.
    assert!(d.lines().count() <= 2 + 1 + 2 * 8, "{d}");
}

#[test]
fn text_export_is_the_trace_text() {
    let (tr, _) = r1_trace(0);
    assert_eq!(text(&tr), oomlab_core::trace::trace_text(&tr));
    assert!(text(&tr).lines().all(|l| l.starts_with('[')));
}
