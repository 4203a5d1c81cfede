//! The `trips` suite's data: taxi and ride-hailing trips with the 51-column schema of the
//! "1.1 billion taxi rides" benchmark (trips joined with cab type, weather and census tracts),
//! over 2013–2015, Hive-partitioned by pickup month and sorted by pickup time within a file.

use std::path::Path;

use anyhow::Result;
use rayon::prelude::*;

use crate::columns::{Batch, Ty, V, write_file};
use crate::rng::Rng;

use Ty::{F64, I16, I32, Str, Ts};

pub const COLUMNS: &[(&str, Ty)] = &[
    ("trip_id", I32),
    ("vendor_id", Str),
    ("pickup_datetime", Ts),
    ("dropoff_datetime", Ts),
    ("store_and_fwd_flag", Str),
    ("rate_code_id", I16),
    ("pickup_longitude", F64),
    ("pickup_latitude", F64),
    ("dropoff_longitude", F64),
    ("dropoff_latitude", F64),
    ("passenger_count", I16),
    ("trip_distance", F64),
    ("fare_amount", F64),
    ("extra", F64),
    ("mta_tax", F64),
    ("tip_amount", F64),
    ("tolls_amount", F64),
    ("ehail_fee", F64),
    ("improvement_surcharge", F64),
    ("total_amount", F64),
    ("payment_type", Str),
    ("trip_type", I16),
    ("pickup", Str),
    ("dropoff", Str),
    ("cab_type", Str),
    ("precipitation", I16),
    ("snow_depth", I16),
    ("snowfall", I16),
    ("max_temperature", I16),
    ("min_temperature", I16),
    ("average_wind_speed", I16),
    ("pickup_nyct2010_gid", I16),
    ("pickup_ctlabel", Str),
    ("pickup_borocode", I16),
    ("pickup_boroname", Str),
    ("pickup_ct2010", Str),
    ("pickup_boroct2010", Str),
    ("pickup_cdeligibil", Str),
    ("pickup_ntacode", Str),
    ("pickup_ntaname", Str),
    ("pickup_puma", Str),
    ("dropoff_nyct2010_gid", I16),
    ("dropoff_ctlabel", Str),
    ("dropoff_borocode", I16),
    ("dropoff_boroname", Str),
    ("dropoff_ct2010", Str),
    ("dropoff_boroct2010", Str),
    ("dropoff_cdeligibil", Str),
    ("dropoff_ntacode", Str),
    ("dropoff_ntaname", Str),
    ("dropoff_puma", Str),
];

const BOROUGHS: &[(i64, &str, u32)] = &[
    (1, "Manhattan", 70),
    (3, "Brooklyn", 12),
    (4, "Queens", 12),
    (2, "Bronx", 4),
    (5, "Staten Island", 2),
];
const NTAS: &[(&str, &str)] = &[
    ("MN17", "Midtown-Midtown South"),
    ("MN13", "Hudson Yards-Chelsea-Flatiron-Union Square"),
    ("MN24", "SoHo-TriBeCa-Civic Center-Little Italy"),
    ("MN40", "Upper East Side-Carnegie Hill"),
    ("MN12", "Upper West Side"),
    ("MN23", "West Village"),
    ("MN27", "Chinatown"),
    ("BK09", "Brooklyn Heights-Cobble Hill"),
    ("BK73", "North Side-South Side"),
    ("QN98", "Airport"),
    ("QN31", "Hunters Point-Sunnyside-West Maspeth"),
    ("BX63", "West Concourse"),
    ("SI22", "West New Brighton-New Brighton-St. George"),
];

/// 2013-01-01 00:00:00 UTC in seconds.
const FIRST_SECOND: i64 = 1_356_998_400;

fn month_start(month: u32) -> i64 {
    let (y, m) = (2013 + (month / 12) as i32, month % 12 + 1);
    chrono::NaiveDate::from_ymd_opt(y, m, 1)
        .expect("valid month")
        .and_hms_opt(0, 0, 0)
        .expect("valid time")
        .and_utc()
        .timestamp()
}

/// Write `rows` trips over the 36 months of 2013–2015, `files_per_month` files each, under
/// `out/month=YYYY-MM/`.
pub fn generate(out: &Path, rows: u64, files_per_month: u32, seed: u64) -> Result<usize> {
    let months = 36u64;
    let files = months * files_per_month.max(1) as u64;
    (0..files).into_par_iter().try_for_each(|f| -> Result<()> {
        let month = (f / files_per_month.max(1) as u64) as u32;
        let n = (rows / files + u64::from(f < rows % files)) as usize;
        let start = month_start(month);
        let span = month_start(month + 1) - start;
        let (y, m) = (2013 + month / 12, month % 12 + 1);
        let path = out
            .join(format!("month={y}-{m:02}"))
            .join(format!("part-{:03}.parquet", f % files_per_month as u64));
        let mut rng = Rng::new(seed.wrapping_mul(7_919).wrapping_add(f));
        // Sorted by pickup time: evenly spaced pickups plus jitter below the spacing.
        let step = (span as f64 / n.max(1) as f64).max(1.0);
        write_file(&path, COLUMNS, n, |i, b| {
            let pickup = start + (i as f64 * step) as i64;
            trip(&mut rng, b, (f * 1_000_000 + i as u64) as i64, pickup);
        })
    })?;
    debug_assert!(FIRST_SECOND <= month_start(0));
    Ok(files as usize)
}

fn trip(rng: &mut Rng, b: &mut Batch, id: i64, pickup: i64) {
    let cab = rng.weighted(&[("yellow", 70), ("green", 15), ("uber", 15)]);
    let passengers = rng.weighted(&[(1, 70), (2, 14), (3, 4), (4, 2), (5, 6), (6, 4)]);
    let distance = ((-(rng.unit().max(1e-9)).ln()) * 2.8 * 100.0).round() / 100.0;
    let minutes = (distance * 3.5 + rng.unit() * 10.0 + 2.0) as i64;
    let fare = ((2.5 + distance * 2.5 + minutes as f64 * 0.4) * 100.0).round() / 100.0;
    let card = rng.chance(0.6);
    let tip = if card {
        (fare * (0.1 + rng.unit() * 0.15) * 100.0).round() / 100.0
    } else {
        0.0
    };
    let tolls = if rng.chance(0.05) { 5.54 } else { 0.0 };
    let extra = if rng.chance(0.4) { 0.5 } else { 0.0 };
    let total = ((fare + tip + tolls + extra + 0.5 + 0.3) * 100.0).round() / 100.0;
    let weather_day = pickup / 86_400;
    let mut weather = Rng::new(weather_day as u64);
    let mut col = 0;
    let mut push = |b: &mut Batch, v: V| {
        b.push(col, v);
        col += 1;
    };
    let s = |x: &str| V::S(x.to_string());
    push(b, V::I(id)); // trip_id
    push(
        b,
        s(if cab == "green" {
            "2"
        } else if rng.chance(0.5) {
            "VTS"
        } else {
            "CMT"
        }),
    );
    push(b, V::Ts(pickup * 1_000_000));
    push(b, V::Ts((pickup + minutes * 60) * 1_000_000));
    push(b, s(if rng.chance(0.01) { "Y" } else { "N" }));
    push(b, V::I(rng.weighted(&[(1, 95), (2, 3), (5, 2)])));
    for _ in 0..2 {
        push(b, V::F(-73.98 + (rng.unit() - 0.5) * 0.1));
        push(b, V::F(40.75 + (rng.unit() - 0.5) * 0.1));
    }
    push(b, V::I(passengers));
    push(b, V::F(distance));
    push(b, V::F(fare));
    push(b, V::F(extra));
    push(b, V::F(0.5));
    push(b, V::F(tip));
    push(b, V::F(tolls));
    push(b, V::F(0.0)); // ehail_fee
    push(b, V::F(0.3));
    push(b, V::F(total));
    push(b, s(if card { "CRE" } else { "CSH" }));
    push(b, V::I(if cab == "green" { 1 } else { 0 }));
    push(b, s("")); // pickup
    push(b, s("")); // dropoff
    push(b, s(cab));
    push(
        b,
        V::I(if weather.chance(0.3) {
            weather.range(1, 200)
        } else {
            0
        }),
    );
    push(
        b,
        V::I(if weather.chance(0.05) {
            weather.range(1, 20)
        } else {
            0
        }),
    );
    push(
        b,
        V::I(if weather.chance(0.05) {
            weather.range(1, 50)
        } else {
            0
        }),
    );
    let max_t = 30 + weather.range(0, 60);
    push(b, V::I(max_t));
    push(b, V::I(max_t - weather.range(5, 20)));
    push(b, V::I(weather.range(0, 25)));
    for _ in 0..2 {
        let borough = rng.weighted(
            &BOROUGHS
                .iter()
                .map(|&(c, n, w)| ((c, n), w))
                .collect::<Vec<_>>(),
        );
        let (nta_code, nta_name) = NTAS[rng.skewed(NTAS.len() as u64) as usize];
        let tract = rng.range(100, 31_000);
        push(b, V::I(rng.range(1, 2168))); // nyct2010_gid
        push(b, V::S(format!("{}", tract / 100))); // ctlabel
        push(b, V::I(borough.0)); // borocode
        push(b, s(borough.1)); // boroname
        push(b, V::S(format!("{tract:06}"))); // ct2010
        push(b, V::S(format!("{}{tract:06}", borough.0))); // boroct2010
        push(b, s(if rng.chance(0.5) { "E" } else { "I" })); // cdeligibil
        push(b, s(nta_code));
        push(b, s(nta_name));
        push(b, V::S(format!("38{:02}", rng.range(1, 10)))); // puma
    }
    debug_assert_eq!(col, COLUMNS.len());
}
