//! Bad scenario text gets a clear error with its location; all problems are
//! reported at once.
#![cfg(not(target_arch = "wasm32"))]

use oomlab_core::{parse_scenario, presets};

fn errs(text: &str) -> Vec<oomlab_core::ScenarioError> {
    parse_scenario(text).expect_err("should be rejected")
}

const BASE: &str = "version = 1\n[machine]\ncpus = 4\nmemory = \"64M\"\n[[process]]\nname = \"a.out\"\n[[process.thread]]\nprogram = \"writer\"\n";

#[test]
fn base_is_valid() {
    parse_scenario(BASE).unwrap();
}

#[test]
fn malformed_toml_has_line_and_column() {
    let e = errs("version = 1\n[machine\ncpus = 4\n");
    assert_eq!(e.len(), 1);
    assert_eq!(e[0].line, Some(2), "{:?}", e);
    assert!(e[0].column.is_some());
}

#[test]
fn unknown_field_is_named_and_located() {
    let e = errs(&BASE.replace("cpus = 4", "cpus = 4\ncpu_count = 9"));
    assert!(e[0].message.contains("cpu_count"), "{}", e[0].message);
    assert_eq!(e[0].line, Some(4));
}

#[test]
fn out_of_range_values_are_all_reported() {
    let text = BASE
        .replace("cpus = 4", "cpus = 65\nhz = 123")
        .replace("name = \"a.out\"", "name = \"a.out\"\noom_score_adj = 5000");
    let e = errs(&text);
    let paths: Vec<&str> = e.iter().map(|e| e.path.as_str()).collect();
    assert!(paths.contains(&"machine.cpus"), "{paths:?}");
    assert!(paths.contains(&"machine.hz"), "{paths:?}");
    assert!(paths.contains(&"process[0].oom_score_adj"), "{paths:?}");
    let cpus = e.iter().find(|e| e.path == "machine.cpus").unwrap();
    assert_eq!(cpus.line, Some(3));
    assert!(cpus.message.contains("between 1 and 64"));
}

#[test]
fn wrong_types_are_located() {
    let e = errs(&BASE.replace("cpus = 4", "cpus = \"many\""));
    assert_eq!(e[0].line, Some(3), "{e:?}");
    assert!(e[0].column.is_some());
    assert!(e[0].message.contains("invalid type"), "{}", e[0].message);
}

#[test]
fn bad_sizes_and_durations() {
    let e = errs(&BASE.replace("\"64M\"", "\"64Q\""));
    assert!(e[0].message.contains("not a size"), "{}", e[0].message);
    let e = errs(&BASE.replace("memory = \"64M\"", "memory = \"1M\""));
    assert_eq!(e[0].path, "machine.memory");
}

#[test]
fn program_syntax_error_points_into_the_scenario() {
    let text =
        format!("{BASE}[programs]\nmine = \"\"\"\nbuf b = stack 4096\nfill q 0xff\n\"\"\"\n")
            .replace("program = \"writer\"", "program = \"mine\"");
    let e = errs(&text);
    assert_eq!(e.len(), 1, "{e:?}");
    assert_eq!(e[0].path, "programs.mine");
    // `fill q` is on scenario line 12, column 6.
    assert_eq!((e[0].line, e[0].column), (Some(12), Some(6)), "{e:?}");
    assert!(e[0].message.contains("before it is defined"));
}

#[test]
fn unknown_program_and_preset() {
    let e = errs(
        &BASE
            .replace("program = \"writer\"", "program = \"nope\"")
            .replace("version = 1", "version = 1\n[kernel]\npreset = \"2.6\""),
    );
    let paths: Vec<&str> = e.iter().map(|e| e.path.as_str()).collect();
    assert!(paths.contains(&"process[0].thread[0].program"), "{paths:?}");
    assert!(paths.contains(&"kernel.preset"), "{paths:?}");
}

#[test]
fn versions() {
    let e = errs(&BASE.replace("version = 1", "version = 99"));
    assert!(e[0].message.contains("newer"));
    let e = errs(&BASE.replace("version = 1\n", ""));
    assert!(e[0].message.contains("version"));
}

#[test]
fn limits_are_bounded() {
    let e = errs(
        &BASE
            .replace("count", "x")
            .replace("program = \"writer\"", "program = \"writer\"\ncount = 2000"),
    );
    assert!(
        e.iter().any(|e| e.message.contains("at most 1024 threads")),
        "{e:?}"
    );
}

#[test]
fn every_preset_parses_and_round_trips() {
    for p in presets::PRESETS {
        let sc = p.load();
        let canon = sc.scenario.to_canonical_toml();
        let again = parse_scenario(&canon).unwrap_or_else(|e| panic!("{}: {e:?}", p.id));
        assert_eq!(again.content_hash(), sc.content_hash(), "{}", p.id);
    }
}

#[test]
fn fs_and_crash_sections_are_checked() {
    let e = errs(&format!(
        "{BASE}[fs]\ntype = \"xfs\"\ndata = \"writeback\"\n"
    ));
    assert_eq!(e[0].path, "fs.data", "{e:?}");
    assert_eq!(e[0].line, Some(11));
    assert!(e[0].message.contains("ext4"));
    let e = errs(&format!("{BASE}[fs]\ndata = \"sideways\"\n"));
    assert!(e[0].message.contains("sideways"), "{e:?}");
    assert_eq!(e[0].line, Some(10));
    let e = errs(&format!("{BASE}[fs]\ncommit_interval = \"0ns\"\n"));
    assert_eq!(e[0].path, "fs.commit_interval", "{e:?}");
    // Every problem of [crash] at once, each located.
    let e = errs(&format!(
        "{BASE}[crash]\nat = \"5s\"\nafter = \"kill\"\n[limits]\nduration = \"2s\"\n"
    ));
    let paths: Vec<&str> = e.iter().map(|e| e.path.as_str()).collect();
    assert!(paths.contains(&"crash.at"), "{paths:?}");
    assert!(paths.contains(&"crash.after"), "{paths:?}");
    let at = e.iter().find(|e| e.path == "crash.at").unwrap();
    assert_eq!(at.line, Some(10));
    assert!(at.message.contains("limits.duration"));
    let e = errs(&format!("{BASE}[crash]\nwindow = [\"2s\", \"1s\"]\n"));
    assert_eq!(e[0].path, "crash.window", "{e:?}");
    assert!(e[0].message.contains("reversed"));
    let e = errs(&format!("{BASE}[crash]\n"));
    assert_eq!(e[0].path, "crash");
    assert_eq!(e[0].line, Some(9));
    let e = errs(&format!(
        "{BASE}[crash]\nat = \"1s\"\nwindow = [\"0s\", \"1s\"]\n"
    ));
    assert_eq!(e[0].path, "crash.window");
    let e = errs(&format!(
        "{BASE}[crash]\nafter = \"lunch\"\nwindow = [\"0s\", \"1s\"]\n"
    ));
    assert!(e[0].message.contains("lunch"), "{e:?}");
}
