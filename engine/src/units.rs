//! Sizes and durations, spelled the same everywhere: `strata.toml`, `STRATA_*` variables,
//! flags, table properties and procedure arguments.
//!
//! Sizes: a number of bytes, or a number with a unit: `KB`, `MB`, `GB`, `TB` are powers of
//! 1000 and `KiB`, `MiB`, `GiB`, `TiB` powers of 1024, as in most cloud tools; the one-letter
//! `K`, `M`, `G`, `T` are powers of 1024 too, as both of Strata's old parsers read them (case
//! does not matter; `B` is bytes). Durations: a number of seconds, or a number with a unit: `ms`,
//! `s`/`sec`/`second(s)`, `m`/`min`/`minute(s)`, `h`/`hour(s)`, `d`/`day(s)`, `w`/`week(s)`;
//! fractions are allowed (`0.5s`, `1.5 GiB`).

use std::time::Duration;

use crate::error::{Error, Result};

const SIZE_HELP: &str = "use bytes, or a number with KB/MB/GB/TB (powers of 1000) or KiB/MiB/GiB/TiB (powers of 1024), e.g. 256MiB";
const DURATION_HELP: &str =
    "use seconds, or a number with ms, s, m (minutes), h, d or w, e.g. 500ms, 30s, 2h, 7d";

/// Split `12.5 GiB` into the number and the unit.
fn split(text: &str) -> (&str, &str) {
    let t = text.trim();
    let at = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (number, unit) = t.split_at(at);
    (number, unit.trim())
}

/// Parse a size into bytes.
pub fn parse_size(text: &str) -> Result<u64> {
    let (number, unit) = split(text);
    let bad = || Error::Usage(format!("invalid size '{text}': {SIZE_HELP}"));
    let n: f64 = number.parse().map_err(|_| bad())?;
    let factor: f64 = match unit.to_ascii_lowercase().as_str() {
        "" | "b" => 1.0,
        "kb" => 1e3,
        "mb" => 1e6,
        "gb" => 1e9,
        "tb" => 1e12,
        "k" | "kib" => 1024.0,
        "m" | "mib" => 1024.0 * 1024.0,
        "g" | "gib" => 1024.0 * 1024.0 * 1024.0,
        "t" | "tib" => 1024.0 * 1024.0 * 1024.0 * 1024.0,
        _ => return Err(bad()),
    };
    let bytes = n * factor;
    if !bytes.is_finite() || bytes < 0.0 || bytes > u64::MAX as f64 {
        return Err(bad());
    }
    Ok(bytes.round() as u64)
}

/// A size as a table property stored it. Before sizes were unified, table properties read
/// `K`, `KB`, `M`, `MB`, `G` and `GB` as powers of 1024; `CREATE TABLE` now stores such
/// values as bytes, so a stored value with one of those units is an old one and keeps its old
/// meaning.
pub fn parse_stored_size(text: &str) -> Result<u64> {
    let (number, unit) = split(text);
    let binary = match unit.to_ascii_lowercase().as_str() {
        "kb" => Some(1024.0),
        "mb" => Some(1024.0 * 1024.0),
        "gb" => Some(1024.0 * 1024.0 * 1024.0),
        _ => None,
    };
    match (binary, number.parse::<f64>()) {
        (Some(factor), Ok(n)) if n >= 0.0 => Ok((n * factor) as u64),
        _ => parse_size(text),
    }
}

/// The form in which `CREATE TABLE` stores a size property: bytes, unless it was written in
/// binary units (which read the same before and after sizes were unified).
pub fn store_size(text: &str) -> Result<String> {
    let bytes = parse_size(text)?;
    let (_, unit) = split(text);
    Ok(match unit.to_ascii_lowercase().as_str() {
        "k" | "m" | "g" | "t" | "kib" | "mib" | "gib" | "tib" => text.trim().to_string(),
        _ => bytes.to_string(),
    })
}

/// Parse a duration.
pub fn parse_duration(text: &str) -> Result<Duration> {
    let (number, unit) = split(text);
    let bad = || Error::Usage(format!("invalid duration '{text}': {DURATION_HELP}"));
    let n: f64 = number.parse().map_err(|_| bad())?;
    let seconds = match unit.to_ascii_lowercase().as_str() {
        "ms" | "msec" | "millisecond" | "milliseconds" => n / 1000.0,
        "" | "s" | "sec" | "secs" | "second" | "seconds" => n,
        "m" | "min" | "mins" | "minute" | "minutes" => n * 60.0,
        "h" | "hr" | "hour" | "hours" => n * 3600.0,
        "d" | "day" | "days" => n * 86_400.0,
        "w" | "week" | "weeks" => n * 7.0 * 86_400.0,
        _ => return Err(bad()),
    };
    Duration::try_from_secs_f64(seconds).map_err(|_| bad())
}

/// A duration for the catalog's arithmetic on snapshot times.
pub fn parse_age(text: &str) -> Result<chrono::Duration> {
    let d = parse_duration(text)?;
    chrono::Duration::from_std(d)
        .map_err(|_| Error::Usage(format!("invalid duration '{text}': too long")))
}

/// A size as Strata prints it: whole KiB/MiB/GiB/TiB where the bytes divide evenly, else bytes.
pub fn format_size(bytes: u64) -> String {
    for (unit, shift) in [("TiB", 40), ("GiB", 30), ("MiB", 20), ("KiB", 10)] {
        if bytes != 0 && bytes.is_multiple_of(1u64 << shift) {
            return format!("{}{unit}", bytes >> shift);
        }
    }
    bytes.to_string()
}

/// A duration as Strata prints it: the largest of `w`, `d`, `h`, `m`, `s`, `ms` that divides it.
pub fn format_duration(d: Duration) -> String {
    let ms = d.as_millis();
    if ms == 0 || !ms.is_multiple_of(1000) {
        return format!("{ms}ms");
    }
    let s = ms / 1000;
    for (unit, secs) in [("w", 7 * 86_400), ("d", 86_400), ("h", 3600), ("m", 60)] {
        if s.is_multiple_of(secs) {
            return format!("{}{unit}", s / secs);
        }
    }
    format!("{s}s")
}

/// Configuration values that are sizes or durations: read from a number (bytes, seconds) or
/// a string in the units above, written in those units. Use with `#[serde(with = "…")]` and
/// `#[schemars(with = "Size")]` / `Option<Size>` (or `DurationText`), so that the settings
/// listing knows their kind.
pub mod serde_units {
    use std::borrow::Cow;
    use std::fmt;
    use std::time::Duration;

    use serde::de::{self, Deserializer, Visitor};
    use serde::{Deserialize, Serializer};

    /// The schema of a size setting.
    pub struct Size;
    /// The schema of a duration setting.
    pub struct DurationText;

    impl schemars::JsonSchema for Size {
        fn schema_name() -> Cow<'static, str> {
            "Size".into()
        }
        fn inline_schema() -> bool {
            true
        }
        fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
            schemars::json_schema!({"type": ["string", "integer"], "format": "size"})
        }
    }

    impl schemars::JsonSchema for DurationText {
        fn schema_name() -> Cow<'static, str> {
            "Duration".into()
        }
        fn inline_schema() -> bool {
            true
        }
        fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
            schemars::json_schema!({"type": ["string", "number"], "format": "duration"})
        }
    }

    /// Byte counts held as `usize` or `u64`.
    pub trait Bytes: Copy + Sized {
        fn to_u64(self) -> u64;
        fn from_u64(n: u64) -> Option<Self>;
    }
    impl Bytes for u64 {
        fn to_u64(self) -> u64 {
            self
        }
        fn from_u64(n: u64) -> Option<Self> {
            Some(n)
        }
    }
    impl Bytes for usize {
        fn to_u64(self) -> u64 {
            self as u64
        }
        fn from_u64(n: u64) -> Option<Self> {
            usize::try_from(n).ok()
        }
    }

    struct SizeVisitor;
    impl Visitor<'_> for SizeVisitor {
        type Value = u64;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("bytes, or a size such as \"512MiB\"")
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<u64, E> {
            Ok(v)
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<u64, E> {
            u64::try_from(v).map_err(|_| E::custom(format!("invalid size {v}: negative")))
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<u64, E> {
            super::parse_size(v).map_err(E::custom)
        }
    }

    struct DurationVisitor;
    impl Visitor<'_> for DurationVisitor {
        type Value = Duration;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("seconds, or a duration such as \"500ms\" or \"5s\"")
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<Duration, E> {
            Ok(Duration::from_secs(v))
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<Duration, E> {
            u64::try_from(v)
                .map(Duration::from_secs)
                .map_err(|_| E::custom(format!("invalid duration {v}: negative")))
        }
        fn visit_f64<E: de::Error>(self, v: f64) -> Result<Duration, E> {
            Duration::try_from_secs_f64(v)
                .map_err(|_| E::custom(format!("invalid duration {v}: not a length of time")))
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<Duration, E> {
            super::parse_duration(v).map_err(E::custom)
        }
    }

    fn size_from<T: Bytes, E: de::Error>(n: u64) -> Result<T, E> {
        T::from_u64(n).ok_or_else(|| E::custom(format!("size {n} is too large")))
    }

    /// A required size.
    pub mod size {
        use super::*;
        pub fn serialize<T: Bytes, S: Serializer>(v: &T, s: S) -> Result<S::Ok, S::Error> {
            s.serialize_str(&crate::units::format_size(v.to_u64()))
        }
        pub fn deserialize<'de, T: Bytes, D: Deserializer<'de>>(d: D) -> Result<T, D::Error> {
            size_from(d.deserialize_any(SizeVisitor)?)
        }
    }

    /// An optional size.
    pub mod opt_size {
        use super::*;
        pub fn serialize<T: Bytes, S: Serializer>(v: &Option<T>, s: S) -> Result<S::Ok, S::Error> {
            match v {
                Some(v) => s.serialize_some(&crate::units::format_size(v.to_u64())),
                None => s.serialize_none(),
            }
        }
        pub fn deserialize<'de, T: Bytes, D: Deserializer<'de>>(
            d: D,
        ) -> Result<Option<T>, D::Error> {
            size::deserialize(d).map(Some)
        }
    }

    /// A required duration.
    pub mod duration {
        use super::*;
        pub fn serialize<S: Serializer>(v: &Duration, s: S) -> Result<S::Ok, S::Error> {
            s.serialize_str(&crate::units::format_duration(*v))
        }
        pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
            d.deserialize_any(DurationVisitor)
        }
    }

    /// An optional duration.
    pub mod opt_duration {
        use super::*;
        pub fn serialize<S: Serializer>(v: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
            match v {
                Some(v) => s.serialize_some(&crate::units::format_duration(*v)),
                None => s.serialize_none(),
            }
        }
        pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
            duration::deserialize(d).map(Some)
        }
    }

    /// A table of settings passed on as text (`[engine.datafusion]`, `[stores."url"]`):
    /// strings, numbers and booleans are accepted and kept as their text.
    pub mod text_map {
        use std::collections::BTreeMap;

        use super::*;

        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Scalar {
            Text(String),
            Int(i64),
            Float(f64),
            Bool(bool),
        }

        pub fn serialize<S: Serializer>(
            v: &BTreeMap<String, String>,
            s: S,
        ) -> Result<S::Ok, S::Error> {
            serde::Serialize::serialize(v, s)
        }

        pub fn deserialize<'de, D: Deserializer<'de>>(
            d: D,
        ) -> Result<BTreeMap<String, String>, D::Error> {
            let map = BTreeMap::<String, Scalar>::deserialize(d).map_err(|e| {
                de::Error::custom(format!(
                    "expected a string, a number or true/false for each key ({e})"
                ))
            })?;
            Ok(map
                .into_iter()
                .map(|(k, v)| {
                    let text = match v {
                        Scalar::Text(s) => s,
                        Scalar::Int(i) => i.to_string(),
                        Scalar::Float(f) => f.to_string(),
                        Scalar::Bool(b) => b.to_string(),
                    };
                    (k, text)
                })
                .collect())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_are_decimal_or_binary_by_their_unit() {
        assert_eq!(parse_size("256MB").unwrap(), 256_000_000);
        assert_eq!(parse_size("256MiB").unwrap(), 256 << 20);
        assert_eq!(parse_size("1.5 GiB").unwrap(), 3 << 29);
        assert_eq!(parse_size("2gb").unwrap(), 2_000_000_000);
        assert_eq!(parse_size(" 1000 ").unwrap(), 1000);
        assert_eq!(parse_size("7B").unwrap(), 7);
        assert_eq!(parse_size("512m").unwrap(), 512 << 20);
        for bad in ["lots", "12 parsecs", "-1MB", "", "1e999GB", "256 megs"] {
            let err = parse_size(bad).unwrap_err().to_string();
            assert!(err.contains("KiB"), "{bad}: {err}");
        }
    }

    #[test]
    fn stored_table_properties_keep_their_meaning() {
        assert_eq!(parse_stored_size("256MB").unwrap(), 256 << 20);
        assert_eq!(parse_stored_size("1G").unwrap(), 1 << 30);
        assert_eq!(parse_stored_size("256000000").unwrap(), 256_000_000);
        assert_eq!(parse_stored_size("64MiB").unwrap(), 64 << 20);
        assert_eq!(store_size("256MB").unwrap(), "256000000");
        assert_eq!(store_size("64MiB").unwrap(), "64MiB");
        assert_eq!(
            parse_stored_size(&store_size("1GB").unwrap()).unwrap(),
            1_000_000_000
        );
    }

    #[test]
    fn durations_take_the_same_units_everywhere() {
        assert_eq!(parse_duration("500ms").unwrap(), Duration::from_millis(500));
        assert_eq!(
            parse_duration("7d").unwrap(),
            Duration::from_secs(7 * 86_400)
        );
        assert_eq!(
            parse_duration("90 days").unwrap(),
            Duration::from_secs(90 * 86_400)
        );
        assert_eq!(
            parse_duration("2 weeks").unwrap(),
            Duration::from_secs(14 * 86_400)
        );
        assert_eq!(parse_duration("2m").unwrap(), Duration::from_secs(120));
        assert_eq!(
            parse_duration("36h").unwrap(),
            Duration::from_secs(36 * 3600)
        );
        assert_eq!(parse_duration("30").unwrap(), Duration::from_secs(30));
        assert_eq!(parse_duration("0.5s").unwrap(), Duration::from_millis(500));
        assert_eq!(parse_age("1h").unwrap(), chrono::Duration::hours(1));
        for bad in ["soon", "-1s", "5 fortnights", ""] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn printed_sizes_and_durations_read_back_the_same() {
        for bytes in [
            0,
            1,
            1000,
            1024,
            256 << 20,
            20 << 30,
            3 << 29,
            1_000_000_007,
        ] {
            assert_eq!(parse_size(&format_size(bytes)).unwrap(), bytes, "{bytes}");
        }
        assert_eq!(format_size(256 << 20), "256MiB");
        for ms in [
            0,
            1,
            100,
            1500,
            5000,
            60_000,
            3_600_000,
            86_400_000,
            604_800_000,
            90_000,
        ] {
            let d = Duration::from_millis(ms);
            assert_eq!(parse_duration(&format_duration(d)).unwrap(), d, "{ms}");
        }
        assert_eq!(format_duration(Duration::from_secs(300)), "5m");
        assert_eq!(format_duration(Duration::from_millis(100)), "100ms");
    }
}
