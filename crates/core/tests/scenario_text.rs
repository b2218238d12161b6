//! The scenario reader and the canonical writer against a TOML library: every
//! built-in scenario, the test scenarios, and random strings and scenarios
//! read to the same values, and the canonical text is byte for byte what the
//! library's serializer writes (it is hashed into permalinks).
#![cfg(not(target_arch = "wasm32"))]

use oomlab_core::{challenge, parse_scenario, presets, Scenario};
use proptest::prelude::*;

fn texts() -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = presets::PRESETS
        .iter()
        .map(|p| (p.id.to_string(), p.text.to_string()))
        .collect();
    for l in challenge::LEVELS {
        v.push((l.id.to_string(), l.text.to_string()));
    }
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/golden");
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "toml") {
            v.push((
                p.display().to_string(),
                std::fs::read_to_string(&p).unwrap(),
            ));
        }
    }
    v
}

/// Reads `text` both ways; both must agree, and the canonical text must be
/// the library's.
fn check(name: &str, text: &str) {
    let ours = parse_scenario(text).unwrap_or_else(|e| panic!("{name}: {e:?}"));
    let theirs: Scenario = toml::from_str(text).unwrap_or_else(|e| panic!("{name}: {e}"));
    assert_eq!(ours.scenario, theirs, "{name}: read differently");
    let canon = ours.scenario.to_canonical_toml();
    assert_eq!(
        canon,
        toml::to_string(&theirs).unwrap(),
        "{name}: canonical text"
    );
    let again = parse_scenario(&canon).unwrap_or_else(|e| panic!("{name}: {e:?}"));
    assert_eq!(again.scenario, ours.scenario, "{name}: round trip");
}

#[test]
fn every_builtin_and_test_scenario_reads_and_writes_as_the_library_does() {
    let all = texts();
    assert!(all.len() >= 12, "{}", all.len());
    for (name, text) in &all {
        check(name, text);
    }
}

#[test]
fn toml_forms_the_reader_accepts() {
    let base = presets::find("r1").unwrap().text;
    // Dotted keys, quoted keys, inline tables, arrays over lines with comments
    // and a trailing comma, literal and multi-line strings, integers with
    // underscores and prefixes, CRLF line ends.
    let variants = [
        base.replace("cpus = 8", "cpus = 0x8"),
        base.replace("cpus = 8", "\"cpus\" = 8 # eight"),
        base.replace("[limits]\nduration = \"2s\"", "[limits]\nduration = '2s'"),
        base.replace("[limits]\nduration = \"2s\"", "").replace(
            "version = 1\n",
            "version = 1\nlimits = { duration = \"2s\", max_steps = 2_000_000 }\n",
        ),
        base.replace("[kernel]\npreset = \"4.13-rc\"", "").replace(
            "version = 1\n",
            "version = 1\nkernel.preset = \"4.13-rc\"\n",
        ),
        base.replace(
            "ipi_same_socket = [\"1us\", \"4us\"]",
            "ipi_same_socket = [\n  \"1us\", # low\n  \"4us\",\n]",
        ),
        base.replace("\n", "\r\n"),
    ];
    for (i, v) in variants.iter().enumerate() {
        assert!(v != base, "variant {i} changed nothing");
        check(&format!("variant {i}"), v);
    }
}

#[test]
fn malformed_text_is_located() {
    let base = presets::find("r1").unwrap().text;
    for (bad, what) in [
        (base.replace("cpus = 8", "cpus = 8.5"), "floats"),
        (base.replace("cpus = 8", "cpus = 1979-05-27"), "dates"),
        (base.replace("cpus = 8", "cpus = eight"), "not a value"),
        (
            base.replace("cpus = 8", "cpus = 8\ncpus = 9"),
            "duplicate key",
        ),
        (base.replace("[fs]", "[machine]"), "duplicate table"),
        (base.replace("cpus = 8", "cpus = \"8"), "unterminated"),
        (base.replace("cpus = 8", "cpus = \"\\q\""), "invalid escape"),
        (base.replace("cpus = 8", "cpus 8"), "expected `=`"),
        (base.replace("cpus = 8", "cpus = 08"), "leading zeros"),
        (
            base.replace("cpus = 8", "cpus = 99999999999999999999"),
            "out of range",
        ),
    ] {
        let e = parse_scenario(&bad).expect_err(what);
        assert!(e[0].message.contains(what), "{what}: {e:?}");
        assert!(
            e[0].line.is_some() && e[0].column.is_some(),
            "{what}: {e:?}"
        );
        let theirs = toml::from_str::<toml::Table>(&bad);
        assert!(
            theirs.is_err()
                || matches!(what, "floats" | "dates" | "not a value" | "leading zeros")
                || bad.contains("cpus = \"8"),
            "{what}: the library accepts it"
        );
    }
    // The line of the error is the line of the problem.
    let e = parse_scenario(&base.replace("cpus = 8", "cpus = 8.5")).unwrap_err();
    let line = base.lines().position(|l| l == "cpus = 8").unwrap() as u32 + 1;
    assert_eq!(e[0].line, Some(line));
    assert_eq!(e[0].column, Some(8));
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    /// Any string in the title and in a program name's text is written the way
    /// the library writes it, and reads back to itself.
    #[test]
    fn strings_are_written_as_the_library_writes_them(
        s in "(?s)[a-zA-Z0-9 _./:\"'\\\\\t\n\r\u{1}\u{7f}é#=\\[\\]{},-]{0,24}"
    ) {
        let base = presets::find("r7").unwrap().load();
        let mut sc = base.scenario.clone();
        sc.title = s.clone();
        sc.story = format!("{s}{s}");
        let ours = sc.to_canonical_toml();
        prop_assert_eq!(&ours, &toml::to_string(&sc).unwrap());
        let back = parse_scenario(&ours);
        prop_assert!(back.is_ok(), "{:?}", back.err());
        prop_assert_eq!(&back.unwrap().scenario.title, &s);
    }
}

/// The schema's known keys are the ones docs/scenarios.md describes: each is
/// named in a table (`` `key` ``) or set in an example (`key = `), under its
/// table's section.
#[test]
fn every_key_of_the_schema_is_documented() {
    let doc = include_str!("../../../docs/scenarios.md");
    let mut checked = 0;
    for (table, keys) in oomlab_core::scenario::schema::TABLES {
        for k in *keys {
            let named = doc.contains(&format!("`{k}`"))
                || doc.contains(&format!("\n{k} = "))
                || doc.contains(&format!("[{k}]"))
                || doc.contains(&format!("[[{k}]]"))
                || doc.contains(&format!("[[{table}.{k}]]"));
            assert!(named, "`{table}.{k}` is not in docs/scenarios.md");
            checked += 1;
        }
    }
    assert!(checked > 60, "{checked}");
}
