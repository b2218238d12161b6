//! Hostile scenario text: arbitrary and mutated input never panics, and
//! reading it takes a number of lookup steps linear in its length (the
//! reader's step counter, `toml::WORK`), so no input makes it hang.

use super::toml::WORK;
use crate::parse_scenario;
use crate::program::parse_program;
use proptest::prelude::*;

/// Reads `text`; the steps it took.
fn steps(text: &str) -> u64 {
    WORK.with(|w| w.set(0));
    if let Ok(sc) = parse_scenario(text) {
        // What was read is written and read back the same.
        let canon = sc.scenario.to_canonical_toml();
        let again = parse_scenario(&canon).expect("the canonical text reads back");
        assert_eq!(again.scenario, sc.scenario);
    }
    WORK.with(|w| w.get())
}

/// A bound on the steps for `n` bytes: the line starts (n), and a lookup of
/// at most ~log2(n) steps per key, value, error and line.
fn budget(n: usize) -> u64 {
    64 * (n as u64 + 64)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_text_never_panics(s in "(?s)[\\[\\]{}=,.\"'#a-z0-9 _\\-\n\t\\\\]{0,300}") {
        let n = steps(&s);
        prop_assert!(n <= budget(s.len()), "{n} steps for {} bytes", s.len());
        let _ = parse_program(&s);
    }

    /// A preset with characters replaced, inserted or removed.
    #[test]
    fn mutated_presets_never_panic(
        preset in 0usize..8,
        edits in prop::collection::vec((any::<prop::sample::Index>(), 0u8..3, "[\\[\\]{}=,.\"'#a-z0-9 \n\\\\]"), 1..10),
    ) {
        let mut s = crate::presets::PRESETS[preset % crate::presets::PRESETS.len()].text.to_string();
        for (at, op, c) in &edits {
            let mut i = at.index(s.len() + 1).min(s.len());
            while !s.is_char_boundary(i) {
                i -= 1;
            }
            match op {
                0 if i < s.len() => {
                    let end = i + s[i..].chars().next().map_or(0, char::len_utf8);
                    s.replace_range(i..end, c);
                }
                1 => s.insert_str(i, c),
                _ => {
                    let end = i + s[i..].chars().next().map_or(0, char::len_utf8);
                    s.replace_range(i..end, "");
                }
            }
        }
        let n = steps(&s);
        prop_assert!(n <= budget(s.len()), "{n} steps for {} bytes", s.len());
    }

    /// Arbitrary program text in a scenario never panics either.
    #[test]
    fn arbitrary_programs_never_panic(p in "(?s)[a-z0-9 {}=\"#\n/._-]{0,200}") {
        let _ = parse_program(&p);
        let text = format!(
            "version = 1\n[machine]\ncpus = 1\nmemory = \"64M\"\n[[process]]\nname = \"a\"\n\
             [[process.thread]]\nprogram = \"p\"\n[programs]\np = '''\n{}'''\n",
            p.replace('\'', "")
        );
        let n = steps(&text);
        prop_assert!(n <= budget(text.len()));
    }
}

/// Nesting far past the cap is refused without recursing into it.
#[test]
fn deep_nesting_is_refused() {
    for open in ["[", "{a=", "[{a="] {
        let text = format!("version = 1\nx = {}\n", open.repeat(20_000));
        let e = parse_scenario(&text).unwrap_err();
        assert!(e[0].message.contains("nest at most"), "{open}: {e:?}");
    }
    let dotted = format!("version = 1\n{} = 1\n", vec!["a"; 20_000].join("."));
    let e = parse_scenario(&dotted).unwrap_err();
    assert!(e[0].message.contains("at most 64 parts"), "{e:?}");
}
