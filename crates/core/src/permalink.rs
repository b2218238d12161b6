//! Permalinks: a versioned, compressed, self-checking string that names one
//! exact run: (scenario, seed, recorded choices, model version).
//!
//! `v1.` + base64url(deflate(payload)), safe in a URL fragment. The payload is
//! line-oriented text: a header, the seed, the choices, the scenario's content
//! hash, then the canonical scenario TOML. Decoding checks everything and never
//! panics: truncated input, another format version, a hash mismatch and
//! oversized input are typed errors; a link from another model version decodes,
//! and says so, so that the caller can offer to re-run it instead of silently
//! replaying something else.

use crate::choice::ChoiceSource;
use crate::scenario::{parse_scenario, ScenarioError, ValidScenario};
use std::fmt;

pub const FORMAT_VERSION: u32 = 1;
/// Cap on the decoded payload: a scenario plus a long choice list.
pub const MAX_DECODED: usize = 4 << 20;
/// Cap on the encoded string.
pub const MAX_ENCODED: usize = 2 << 20;

/// One run, as carried by a link.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Permalink {
    pub model_version: u32,
    pub scenario_text: String,
    pub source: ChoiceSource,
    /// Toggle overrides for an A/B comparison, applied to the scenario (`key=value`).
    pub compare: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PermalinkError {
    Empty,
    /// Not a permalink of any version this build knows ("v1." prefix).
    UnknownFormat(String),
    /// The base64 or the compressed stream is broken or cut short.
    Truncated(String),
    TooLarge,
    /// The payload does not parse as a permalink.
    Malformed(String),
    /// The scenario does not match the hash recorded with it.
    HashMismatch,
    /// The scenario inside is invalid for this build.
    Scenario(Vec<ScenarioError>),
}

impl fmt::Display for PermalinkError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PermalinkError::Empty => write!(f, "the link carries no run"),
            PermalinkError::UnknownFormat(v) => write!(
                f,
                "not an oomlab permalink this version understands (starts with `{v}`)"
            ),
            PermalinkError::Truncated(why) => write!(f, "the link is truncated or damaged ({why})"),
            PermalinkError::TooLarge => write!(
                f,
                "the link is larger than {} MiB once decoded",
                MAX_DECODED >> 20
            ),
            PermalinkError::Malformed(why) => write!(f, "the link's content is malformed: {why}"),
            PermalinkError::HashMismatch => write!(
                f,
                "the link's scenario does not match its checksum (edited or damaged)"
            ),
            PermalinkError::Scenario(e) => {
                write!(f, "the link's scenario is invalid: ")?;
                for (i, x) in e.iter().enumerate() {
                    if i > 0 {
                        write!(f, "; ")?;
                    }
                    write!(f, "{x}")?;
                }
                Ok(())
            }
        }
    }
}

impl std::error::Error for PermalinkError {}

fn hash_text(s: &str) -> u64 {
    crate::rng::fnv1a64(s.as_bytes())
}

impl Permalink {
    /// A link for a run of `sc` (canonicalized) with `source`.
    pub fn new(sc: &ValidScenario, source: ChoiceSource) -> Permalink {
        Permalink {
            model_version: crate::MODEL_VERSION,
            scenario_text: sc.scenario.to_canonical_toml(),
            source,
            compare: Vec::new(),
        }
    }

    pub fn is_current_model(&self) -> bool {
        self.model_version == crate::MODEL_VERSION
    }

    pub fn scenario(&self) -> Result<ValidScenario, PermalinkError> {
        parse_scenario(&self.scenario_text).map_err(PermalinkError::Scenario)
    }

    pub fn encode(&self) -> String {
        let mut p = String::new();
        p.push_str(&format!("oomlab-permalink {FORMAT_VERSION}\n"));
        p.push_str(&format!("model {}\n", self.model_version));
        match &self.source {
            ChoiceSource::Seed(s) => p.push_str(&format!("seed {s}\n")),
            ChoiceSource::Replay { seed, choices } => {
                p.push_str(&format!("seed {seed}\n"));
                p.push_str("replay ");
                push_list(&mut p, choices);
                p.push('\n');
            }
            ChoiceSource::Deviations { seed, devs } => {
                p.push_str(&format!("seed {seed}\n"));
                p.push_str("deviations ");
                let flat: Vec<u32> = devs.iter().flat_map(|(i, v)| [*i, *v]).collect();
                push_list(&mut p, &flat);
                p.push('\n');
            }
            ChoiceSource::Window {
                seed,
                at,
                reseed,
                devs,
            } => {
                p.push_str(&format!("seed {seed}\n"));
                match reseed {
                    Some(r) => p.push_str(&format!("window {at} {r}\n")),
                    None => p.push_str(&format!("window {at}\n")),
                }
                if !devs.is_empty() {
                    p.push_str("deviations ");
                    let flat: Vec<u32> = devs.iter().flat_map(|(i, v)| [*i, *v]).collect();
                    push_list(&mut p, &flat);
                    p.push('\n');
                }
            }
        }
        for c in &self.compare {
            p.push_str(&format!("compare {c}\n"));
        }
        p.push_str(&format!("hash {:016x}\n", hash_text(&self.scenario_text)));
        p.push_str("scenario\n");
        p.push_str(&self.scenario_text);
        let z = miniz_oxide::deflate::compress_to_vec(p.as_bytes(), 9);
        format!("v{FORMAT_VERSION}.{}", base64url_encode(&z))
    }

    /// Decodes a link (a bare string or a URL whose fragment holds it).
    pub fn decode(link: &str) -> Result<Permalink, PermalinkError> {
        let s = link.trim();
        let s = match s.rfind('#') {
            Some(i) => &s[i + 1..],
            None => s,
        };
        let s = s.strip_prefix("run=").unwrap_or(s);
        if s.is_empty() {
            return Err(PermalinkError::Empty);
        }
        if s.len() > MAX_ENCODED {
            return Err(PermalinkError::TooLarge);
        }
        let Some(body) = s.strip_prefix(&format!("v{FORMAT_VERSION}.")) else {
            let head: String = s.chars().take(8).collect();
            return Err(PermalinkError::UnknownFormat(head));
        };
        let z = base64url_decode(body)
            .map_err(|e| PermalinkError::Truncated(format!("base64: {e}")))?;
        let bytes =
            miniz_oxide::inflate::decompress_to_vec_with_limit(&z, MAX_DECODED).map_err(|e| {
                if matches!(e.status, miniz_oxide::inflate::TINFLStatus::HasMoreOutput) {
                    PermalinkError::TooLarge
                } else {
                    PermalinkError::Truncated(format!("deflate: {:?}", e.status))
                }
            })?;
        let text =
            String::from_utf8(bytes).map_err(|_| PermalinkError::Malformed("not UTF-8".into()))?;
        parse_payload(&text)
    }
}

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// Base64 with the URL-safe alphabet and no padding (RFC 4648 §5).
fn base64url_encode(data: &[u8]) -> String {
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | u32::from(*b) << (16 - 8 * i));
        for k in 0..=chunk.len() {
            out.push(B64[(n >> (18 - 6 * k) & 63) as usize] as char);
        }
    }
    out
}

/// The inverse of `base64url_encode`; refuses other symbols, a length no
/// encoding has, and bits set beyond the last byte (a link cut or altered).
fn base64url_decode(s: &str) -> Result<Vec<u8>, String> {
    if s.len() % 4 == 1 {
        return Err(format!("invalid input length {}", s.len()));
    }
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    for (c, chunk) in s.as_bytes().chunks(4).enumerate() {
        let mut n = 0u32;
        for (i, b) in chunk.iter().enumerate() {
            let Some(v) = B64.iter().position(|x| x == b) else {
                return Err(format!("invalid symbol at offset {}", c * 4 + i));
            };
            n |= (v as u32) << (18 - 6 * i);
        }
        let bytes = chunk.len() - 1;
        if n << (8 * bytes) & 0xff_ffff != 0 {
            return Err("invalid last symbol".into());
        }
        out.extend((0..bytes).map(|i| (n >> (16 - 8 * i)) as u8));
    }
    Ok(out)
}

fn push_list(p: &mut String, v: &[u32]) {
    for (i, x) in v.iter().enumerate() {
        if i > 0 {
            p.push(',');
        }
        p.push_str(&x.to_string());
    }
}

fn parse_list(s: &str) -> Result<Vec<u32>, PermalinkError> {
    if s.is_empty() {
        return Ok(Vec::new());
    }
    s.split(',')
        .map(|x| {
            x.parse::<u32>()
                .map_err(|_| PermalinkError::Malformed(format!("bad choice `{x}`")))
        })
        .collect()
}

fn parse_payload(text: &str) -> Result<Permalink, PermalinkError> {
    let mal = |m: &str| PermalinkError::Malformed(m.to_string());
    let (head, scenario) = text
        .split_once("\nscenario\n")
        .ok_or_else(|| mal("no scenario section"))?;
    let mut lines = head.lines();
    let first = lines.next().ok_or_else(|| mal("empty"))?;
    match first.strip_prefix("oomlab-permalink ") {
        Some(v) if v == FORMAT_VERSION.to_string() => {}
        Some(v) => return Err(PermalinkError::UnknownFormat(format!("payload v{v}"))),
        None => return Err(mal("missing header")),
    }
    let mut model = None;
    let mut seed = None;
    let mut replay = None;
    let mut devs = None;
    let mut window = None;
    let mut hash = None;
    let mut compare = Vec::new();
    for l in lines {
        let (k, v) = l.split_once(' ').unwrap_or((l, ""));
        match k {
            "model" => model = Some(v.parse::<u32>().map_err(|_| mal("bad model version"))?),
            "seed" => seed = Some(v.parse::<u64>().map_err(|_| mal("bad seed"))?),
            "replay" => replay = Some(parse_list(v)?),
            "deviations" => {
                let flat = parse_list(v)?;
                if flat.len() % 2 != 0 {
                    return Err(mal("odd deviation list"));
                }
                devs = Some(flat.chunks(2).map(|c| (c[0], c[1])).collect::<Vec<_>>());
            }
            "window" => {
                let mut w = v.split(' ');
                let at = w
                    .next()
                    .and_then(|x| x.parse::<u32>().ok())
                    .ok_or_else(|| mal("bad window"))?;
                let reseed = match w.next() {
                    None => None,
                    Some(x) => Some(x.parse::<u64>().map_err(|_| mal("bad window seed"))?),
                };
                if w.next().is_some() {
                    return Err(mal("bad window"));
                }
                window = Some((at, reseed));
            }
            "compare" => compare.push(v.to_string()),
            "hash" => hash = Some(u64::from_str_radix(v, 16).map_err(|_| mal("bad hash"))?),
            _ => return Err(PermalinkError::Malformed(format!("unknown field `{k}`"))),
        }
    }
    let model_version = model.ok_or_else(|| mal("no model version"))?;
    let seed = seed.ok_or_else(|| mal("no seed"))?;
    if hash != Some(hash_text(scenario)) {
        return Err(PermalinkError::HashMismatch);
    }
    let source = match (replay, devs, window) {
        (Some(_), _, Some(_)) => return Err(mal("both replay and window")),
        (None, devs, Some((at, reseed))) => ChoiceSource::Window {
            seed,
            at,
            reseed,
            devs: devs.unwrap_or_default(),
        },
        (Some(choices), None, None) => ChoiceSource::Replay { seed, choices },
        (None, Some(devs), None) => ChoiceSource::Deviations { seed, devs },
        (None, None, None) => ChoiceSource::Seed(seed),
        (Some(_), Some(_), None) => return Err(mal("both replay and deviations")),
    };
    Ok(Permalink {
        model_version,
        scenario_text: scenario.to_string(),
        source,
        compare,
    })
}

#[cfg(test)]
mod tests {

    #[test]
    fn base64url_matches_rfc_4648() {
        for (raw, enc) in [
            ("", ""),
            ("f", "Zg"),
            ("fo", "Zm8"),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg"),
            ("fooba", "Zm9vYmE"),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64url_encode(raw.as_bytes()), enc);
            assert_eq!(base64url_decode(enc).unwrap(), raw.as_bytes());
        }
        assert_eq!(base64url_encode(&[0xfb, 0xff]), "-_8");
        let all: Vec<u8> = (0..=255).collect();
        assert_eq!(base64url_decode(&base64url_encode(&all)).unwrap(), all);
        for bad in ["Z", "Zh", "Zm9", "Zm9v!", "Zm+v", "Zm9v="] {
            assert!(base64url_decode(bad).is_err(), "{bad}");
        }
    }
    use super::*;

    #[test]
    fn round_trip_and_errors() {
        let sc = crate::presets::find("r1").unwrap().load();
        for src in [
            ChoiceSource::Seed(42),
            ChoiceSource::Window {
                seed: 3,
                at: 120,
                reseed: Some(u64::MAX),
                devs: vec![(125, 1), (130, 2)],
            },
            ChoiceSource::Window {
                seed: 3,
                at: 7,
                reseed: None,
                devs: vec![],
            },
            ChoiceSource::Replay {
                seed: 1,
                choices: vec![0, 3, 1, 15],
            },
            ChoiceSource::Deviations {
                seed: 7,
                devs: vec![(3, 1), (90, 2)],
            },
        ] {
            let p = Permalink::new(&sc, src);
            let s = p.encode();
            assert!(
                s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c)),
                "{s}"
            );
            let d = Permalink::decode(&format!("http://x/#run={s}")).unwrap();
            assert_eq!(d, p);
            assert!(d.is_current_model());
            // Truncation at any point is an error, never a panic.
            for cut in [4, s.len() / 2, s.len() - 1] {
                assert!(Permalink::decode(&s[..cut]).is_err());
            }
        }
        assert_eq!(Permalink::decode(""), Err(PermalinkError::Empty));
        assert!(matches!(
            Permalink::decode("v9.abc"),
            Err(PermalinkError::UnknownFormat(_))
        ));
    }
}

/// Hostile links: arbitrary and mutated input never panics, and what a
/// decoder returns is bounded by its input (so it did bounded work).
#[cfg(all(test, not(target_arch = "wasm32")))]
mod hostile {
    use super::*;
    use proptest::prelude::*;

    fn payload(list_key: &str, list: &str, scenario: &str) -> String {
        format!(
            "oomlab-permalink {FORMAT_VERSION}\nmodel 3\nseed 5\n{list_key} {list}\nhash {:016x}\nscenario\n{scenario}",
            hash_text(scenario)
        )
    }

    #[test]
    fn malformed_window_lines_are_refused_by_name() {
        let sc = "version = 1\n";
        for bad in ["", "x", "7 x", "7 1 2", "-1"] {
            let e = parse_payload(&payload("window", bad, sc)).unwrap_err();
            assert!(
                matches!(&e, PermalinkError::Malformed(m) if m.contains("window")),
                "{bad:?}: {e:?}"
            );
        }
        let text = format!(
            "oomlab-permalink {FORMAT_VERSION}\nmodel 3\nseed 5\nwindow 7\nreplay 1,2\nhash {:016x}\nscenario\n{sc}",
            hash_text(sc)
        );
        assert!(matches!(
            parse_payload(&text),
            Err(PermalinkError::Malformed(m)) if m.contains("both replay and window")
        ));
        let ok = parse_payload(&payload("window", "7 9", sc)).unwrap();
        assert_eq!(
            ok.source,
            ChoiceSource::Window {
                seed: 5,
                at: 7,
                reseed: Some(9),
                devs: vec![]
            }
        );
    }

    fn link(text: &str) -> String {
        let z = miniz_oxide::deflate::compress_to_vec(text.as_bytes(), 6);
        format!("v{FORMAT_VERSION}.{}", base64url_encode(&z))
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

        #[test]
        fn arbitrary_links_never_panic(s in "(?s).{0,200}") {
            let _ = Permalink::decode(&s);
            let _ = Permalink::decode(&format!("v1.{s}"));
        }

        /// A valid link with bytes of its base64 replaced, inserted or cut.
        #[test]
        fn mutated_links_never_panic(
            seed in any::<u64>(),
            edits in prop::collection::vec((any::<prop::sample::Index>(), 0u8..3, "[A-Za-z0-9_\\-=.#]"), 1..8),
        ) {
            let sc = crate::presets::find("r7").unwrap().load();
            let good = Permalink::new(&sc, ChoiceSource::Seed(seed)).encode();
            let mut s = good.clone();
            for (at, op, c) in &edits {
                let i = at.index(s.len() + 1).min(s.len());
                match op {
                    0 if i < s.len() => s.replace_range(i..i + 1, c),
                    1 => s.insert_str(i, c),
                    _ => s.truncate(i.max(3)),
                }
            }
            match Permalink::decode(&s) {
                Ok(p) => prop_assert!(p.scenario_text.len() <= MAX_DECODED),
                Err(_) => prop_assert!(s != good),
            }
        }

        /// The recorded-choices decoder (`replay` and `deviations` lines):
        /// any list text is decoded or refused, never more numbers than it
        /// has commas, and a list it wrote reads back to itself.
        #[test]
        fn choice_lists_decode_or_fail(
            text in "[0-9,\\- a-z]{0,120}",
            list in prop::collection::vec(any::<u32>(), 0..64),
            deviations in any::<bool>(),
        ) {
            let key = if deviations { "deviations" } else { "replay" };
            let sc = "version = 1\n";
            match parse_payload(&payload(key, &text, sc)) {
                Ok(p) => {
                    let n = match p.source {
                        ChoiceSource::Replay { choices, .. } => choices.len(),
                        ChoiceSource::Deviations { devs, .. }
                        | ChoiceSource::Window { devs, .. } => 2 * devs.len(),
                        ChoiceSource::Seed(_) => 0,
                    };
                    prop_assert!(n <= text.matches(',').count() + 1);
                }
                Err(e) => prop_assert!(matches!(e, PermalinkError::Malformed(_)), "{e:?}"),
            }
            let mut written = String::new();
            push_list(&mut written, &list);
            prop_assert_eq!(parse_list(&written).unwrap(), list.clone());
            // Through the whole link, compressed and back.
            let l = link(&payload("replay", &written, sc));
            match Permalink::decode(&l).unwrap().source {
                ChoiceSource::Replay { choices, .. } => prop_assert_eq!(choices, list),
                other => prop_assert!(false, "{other:?}"),
            }
        }
    }

    /// A link whose payload inflates past the cap is refused, not inflated.
    #[test]
    fn a_link_that_inflates_past_the_cap_is_refused() {
        let l = link(&"x".repeat(MAX_DECODED + 1));
        assert!(l.len() < MAX_ENCODED, "{}", l.len());
        assert_eq!(Permalink::decode(&l), Err(PermalinkError::TooLarge));
    }
}
