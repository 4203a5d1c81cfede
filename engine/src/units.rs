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
}
