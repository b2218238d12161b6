//! Conventions every JSON report follows.
//!
//! A `u64` that can exceed 2^53 (a hash, a seed) is written as a decimal
//! string: JavaScript, and `jq`, read a JSON number as a double and would
//! round it. Readers accept a bare number too, so that reports written before
//! the convention still merge.

use serde::de::{self, Deserializer, SeqAccess, Visitor};
use serde::ser::{SerializeSeq, Serializer};
use std::fmt;

/// The version of the reports' JSON layout (`schema_version` in every
/// report): bumped when a field changes meaning or type, not when one is
/// added. docs/report.schema.json describes it.
pub const SCHEMA_VERSION: u32 = 1;

struct U64Visitor;

impl<'de> Visitor<'de> for U64Visitor {
    type Value = u64;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an unsigned 64-bit integer, as a decimal string")
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<u64, E> {
        Ok(v)
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<u64, E> {
        v.parse()
            .map_err(|_| E::custom(format!("`{v}` is not an unsigned 64-bit integer")))
    }
}

/// `#[serde(with = "crate::json::u64_string")]`
pub mod u64_string {
    use super::*;

    pub fn serialize<S: Serializer>(v: &u64, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(v)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
        d.deserialize_any(U64Visitor)
    }
}

/// `#[serde(with = "crate::json::opt_u64_string")]` for an `Option<u64>`:
/// `null` or a string.
pub mod opt_u64_string {
    use super::*;

    pub fn serialize<S: Serializer>(v: &Option<u64>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(x) => s.collect_str(x),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Option<u64>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("null or an unsigned 64-bit integer, as a decimal string")
            }
            fn visit_none<E: de::Error>(self) -> Result<Option<u64>, E> {
                Ok(None)
            }
            fn visit_unit<E: de::Error>(self) -> Result<Option<u64>, E> {
                Ok(None)
            }
            fn visit_some<D2: Deserializer<'de>>(self, d: D2) -> Result<Option<u64>, D2::Error> {
                d.deserialize_any(U64Visitor).map(Some)
            }
        }
        d.deserialize_option(V)
    }
}

/// `#[serde(with = "crate::json::u64_strings")]` for a `Vec<u64>`.
pub mod u64_strings {
    use super::*;

    pub fn serialize<S: Serializer>(v: &[u64], s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(v.len()))?;
        for x in v {
            seq.serialize_element(&x.to_string())?;
        }
        seq.end()
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u64>, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Vec<u64>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a list of unsigned 64-bit integers, as decimal strings")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut a: A) -> Result<Vec<u64>, A::Error> {
                let mut out = Vec::with_capacity(a.size_hint().unwrap_or(0).min(1 << 16));
                while let Some(x) = a.next_element::<Wrapped>()? {
                    out.push(x.0);
                }
                Ok(out)
            }
        }
        d.deserialize_seq(V)
    }

    struct Wrapped(u64);

    impl<'de> serde::Deserialize<'de> for Wrapped {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Wrapped, D::Error> {
            d.deserialize_any(U64Visitor).map(Wrapped)
        }
    }
}

// serde_json is a native dev-dependency only.
#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use serde::{Deserialize, Serialize};

    #[derive(Serialize, Deserialize, Debug, PartialEq)]
    struct T {
        #[serde(with = "super::u64_string")]
        one: u64,
        #[serde(with = "super::u64_strings")]
        many: Vec<u64>,
        #[serde(with = "super::opt_u64_string")]
        maybe: Option<u64>,
    }

    #[test]
    fn big_values_survive_a_double_and_old_numbers_still_read() {
        let t = T {
            one: u64::MAX,
            many: vec![(1 << 53) + 1, 0],
            maybe: Some(u64::MAX - 1),
        };
        let s = serde_json::to_string(&t).unwrap();
        assert_eq!(
            s,
            r#"{"one":"18446744073709551615","many":["9007199254740993","0"],"maybe":"18446744073709551614"}"#
        );
        assert_eq!(serde_json::from_str::<T>(&s).unwrap(), t);
        let old: T = serde_json::from_str(r#"{"one":5,"many":[7,"8"],"maybe":null}"#).unwrap();
        assert_eq!((old.one, old.many, old.maybe), (5, vec![7, 8], None));
        let bad = serde_json::from_str::<T>(r#"{"one":"-1","many":[],"maybe":3}"#).unwrap_err();
        assert!(bad.to_string().contains("`-1` is not"), "{bad}");
    }
}
