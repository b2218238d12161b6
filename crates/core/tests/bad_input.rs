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
    assert_eq!(e[0].path, "machine.cpu_count");
    assert_eq!((e[0].line, e[0].column), (Some(4), Some(1)));
    // The key is echoed once (in the path), the known keys are listed.
    let shown = e[0].to_string();
    assert_eq!(shown.matches("cpu_count").count(), 1, "{shown}");
    assert!(
        shown.contains("expected one of `cpus`, `sockets`"),
        "{shown}"
    );
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

/// (path, line, column) of the one error `text` has.
fn at(text: &str) -> (String, Option<u32>, Option<u32>) {
    let e = errs(text);
    assert_eq!(e.len(), 1, "{e:?}");
    (e[0].path.clone(), e[0].line, e[0].column)
}

fn some(path: &str, line: u32, column: u32) -> (String, Option<u32>, Option<u32>) {
    (path.to_string(), Some(line), Some(column))
}

#[test]
fn error_positions_are_exact() {
    // A syntax error: where the reader stopped.
    assert_eq!(at(&BASE.replace("cpus = 4", "cpus = = 4")), some("", 3, 8));
    // A wrong type: the value.
    assert_eq!(
        at(&BASE.replace("cpus = 4", "cpus = \"4\"")),
        some("machine.cpus", 3, 8)
    );
    // A value out of range: its key, also indented and as a dotted key.
    assert_eq!(
        at(&BASE.replace("cpus = 4", "  cpus = 0")),
        some("machine.cpus", 3, 3)
    );
    let dotted = BASE
        .replace("[machine]\ncpus = 4\nmemory = \"64M\"\n", "")
        .replace(
            "version = 1\n",
            "version = 1\nmachine.cpus = 0\nmachine.memory = \"64M\"\n",
        );
    assert_eq!(at(&dotted), some("machine.cpus", 2, 9));
    // A problem with a default (dirty_background_ratio 10 > dirty_ratio 5):
    // the table it would be in.
    assert_eq!(
        at(&BASE.replace("cpus = 4", "cpus = 4\ndirty_ratio = 5")),
        some("machine.dirty_background_ratio", 2, 2)
    );
    // The second process's first thread.
    let two = format!(
        "{BASE}[[process]]\nname = \"b\"\n[[process.thread]]\nprogram = \"hog\"\ncount = 0\n"
    );
    assert_eq!(at(&two), some("process[1].thread[0].count", 13, 1));
    // A program error inside a one-line literal string: the exact column
    // (`bogus` starts at column 6 of `p = 'bogus'`).
    let prog =
        BASE.replace("program = \"writer\"", "program = \"p\"") + "[programs]\np = 'bogus'\n";
    assert_eq!(at(&prog), some("programs.p", 10, 6));
    // In a basic string with an escape, the line only.
    let prog =
        BASE.replace("program = \"writer\"", "program = \"p\"") + "[programs]\np = \"\\tbogus\"\n";
    assert_eq!(at(&prog), ("programs.p".to_string(), Some(10), None));
}

#[test]
fn version_of_the_wrong_type_is_not_missing() {
    let e = errs(&BASE.replace("version = 1", "version = \"1\""));
    assert_eq!(
        (e[0].path.as_str(), e[0].line, e[0].column),
        ("version", Some(1), Some(11))
    );
    assert!(
        e[0].message.contains("invalid type: string \"1\""),
        "{}",
        e[0].message
    );
    assert!(!e[0].message.contains("missing"), "{}", e[0].message);
}

#[test]
fn thread_and_process_caps_are_located() {
    // The thread table whose count passes 1024 threads in all.
    let text = format!(
        "{BASE}[[process]]\nname = \"b\"\n[[process.thread]]\nprogram = \"hog\"\ncount = 1024\n"
    );
    let e = errs(&text);
    assert_eq!(e[0].path, "process[1].thread[0].count", "{e:?}");
    assert_eq!(e[0].line, Some(13));
    assert!(e[0]
        .message
        .contains("at most 1024 threads in all, got 1025"));
    // The first process past the cap.
    let mut text = String::from("version = 1\n[machine]\ncpus = 4\nmemory = \"64M\"\n");
    for i in 0..70 {
        text.push_str(&format!(
            "[[process]]\nname = \"p{i}\"\n[[process.thread]]\nprogram = \"hog\"\n"
        ));
    }
    let e = errs(&text);
    assert_eq!(e[0].path, "process[64]", "{e:?}");
    let line = text.lines().position(|l| l == "name = \"p64\"").unwrap() as u32;
    assert_eq!((e[0].line, e[0].column), (Some(line), Some(3)));
    assert!(e[0].message.contains("at most 64 processes, got 70"));
}

#[test]
fn title_and_story_are_capped() {
    let long = "x".repeat(oomlab_core::scenario::MAX_TITLE + 1);
    let e = errs(&BASE.replace(
        "version = 1\n",
        &format!("version = 1\ntitle = \"{long}\"\n"),
    ));
    assert_eq!((e[0].path.as_str(), e[0].line), ("title", Some(2)), "{e:?}");
    assert!(e[0].message.contains("at most 200 characters, got 201"));
    let ok = "é".repeat(oomlab_core::scenario::MAX_TITLE);
    parse_scenario(&BASE.replace("version = 1\n", &format!("version = 1\ntitle = \"{ok}\"\n")))
        .expect("200 characters of two bytes each");
    let long = "y".repeat(oomlab_core::scenario::MAX_STORY + 1);
    let e = errs(&BASE.replace(
        "version = 1\n",
        &format!("version = 1\nstory = \"{long}\"\n"),
    ));
    assert_eq!(e[0].path, "story", "{e:?}");
}

#[test]
fn bytes_are_checked_before_they_are_read() {
    use oomlab_core::scenario::{scenario_text, MAX_SCENARIO_TEXT};
    let mut bad = BASE.as_bytes().to_vec();
    bad.splice(20..20, [b'\xff', 0]);
    let e = scenario_text(&bad).unwrap_err();
    assert!(e.message.contains("invalid UTF-8 at byte 20"), "{e}");
    assert_eq!((e.line, e.column), (Some(2), Some(9)));
    assert!(!e.to_string().contains('\0'), "{e}");
    let big = vec![b'#'; MAX_SCENARIO_TEXT + 1];
    let e = scenario_text(&big).unwrap_err();
    assert!(e.message.contains("at most 1048576 bytes"), "{e}");
    assert_eq!(scenario_text(BASE.as_bytes()).unwrap(), BASE);
    // A text over the cap is refused by the reader too.
    let e = errs(&format!("{BASE}{}", "#".repeat(MAX_SCENARIO_TEXT)));
    assert!(e[0].message.contains("larger than"), "{e:?}");
}

#[test]
fn a_write_longer_than_its_buffer_is_refused_where_it_is() {
    let text = BASE.replace("program = \"writer\"", "program = \"w\"")
        + "[programs]\nw = \"\"\"\nbuf b = stack 4K\nopen fd \"/f\"\nwrite fd b 8K\n\"\"\"\n";
    let e = errs(&text);
    assert_eq!(e.len(), 1, "{e:?}");
    assert_eq!(e[0].path, "programs.w");
    // `8K` on scenario line 13, column 12.
    assert_eq!((e[0].line, e[0].column), (Some(13), Some(12)), "{e:?}");
    assert_eq!(&text.lines().nth(12).unwrap()[11..], "8K");
    assert!(e[0].message.contains("at most the buffer's size"), "{e:?}");
}
