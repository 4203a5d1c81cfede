//! `strata gen`: deterministic, realistic sample data, Hive-partitioned by day, written in
//! parallel with rayon. The same arguments always give the same rows.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result};
use arrow::array::{
    ArrayRef, Decimal128Builder, Float64Builder, Int32Builder, Int64Builder, RecordBatch,
    StringBuilder, TimestampMicrosecondBuilder,
};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use chrono::{Days, NaiveDate};
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::{EnabledStatistics, WriterProperties};
use rayon::prelude::*;

use crate::args::{Dataset, GenArgs};

/// First day of generated data.
pub fn first_day() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 3, 1).expect("valid constant date")
}

/// SplitMix64: tiny, fast, and the same sequence on every platform.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        let mut r = Rng(seed ^ 0x9E37_79B9_7F4A_7C15);
        r.next();
        r
    }
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
    fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }
    fn normal(&mut self) -> f64 {
        let u1 = self.unit().max(f64::MIN_POSITIVE);
        let u2 = self.unit();
        (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
    }
    /// Pick from `(item, weight)` pairs.
    fn weighted<'a, T>(&mut self, items: &'a [(T, u32)]) -> &'a T {
        let total: u32 = items.iter().map(|(_, w)| *w).sum();
        let mut x = self.below(total as u64) as u32;
        for (item, w) in items {
            if x < *w {
                return item;
            }
            x -= w;
        }
        &items[items.len() - 1].0
    }
}

/// One output file: which day, which part, how many rows, its seed.
struct Part {
    day: u32,
    part: u32,
    rows: usize,
    seed: u64,
}

fn plan(args: &GenArgs) -> Vec<Part> {
    let files = (args.days * args.files_per_day).max(1) as u64;
    let base = args.rows / files;
    let extra = args.rows % files;
    let mut parts = Vec::new();
    for day in 0..args.days.max(1) {
        for part in 0..args.files_per_day.max(1) {
            let i = (day * args.files_per_day.max(1) + part) as u64;
            parts.push(Part {
                day,
                part,
                rows: (base + u64::from(i < extra)) as usize,
                seed: args.seed.wrapping_mul(1_000_003)
                    ^ (i.wrapping_mul(0x2545_F491_4F6C_DD1D))
                    ^ match args.dataset {
                        Dataset::Requests => 0x5245_5155,
                        Dataset::Trips => 0x5452_4950,
                    },
            });
        }
    }
    parts
}

fn writer_properties() -> WriterProperties {
    WriterProperties::builder()
        .set_compression(Compression::ZSTD(ZstdLevel::try_new(3).unwrap_or_default()))
        .set_statistics_enabled(EnabledStatistics::Page)
        .set_max_row_group_row_count(Some(128 * 1024))
        .build()
}

fn write_file(path: &Path, batch: RecordBatch) -> Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("cannot create directory '{}'", dir.display()))?;
    }
    let tmp = path.with_extension("parquet.tmp");
    let file = File::create(&tmp).with_context(|| format!("cannot create '{}'", tmp.display()))?;
    let mut w = ArrowWriter::try_new(file, batch.schema(), Some(writer_properties()))?;
    w.write(&batch)?;
    w.close()?;
    // Rename last, so that a half-written file never looks like data.
    std::fs::rename(&tmp, path)?;
    Ok(())
}

/// Sorted timestamps (µs) within one day.
fn day_timestamps(rng: &mut Rng, day: NaiveDate, n: usize) -> Vec<i64> {
    let start = day
        .and_hms_opt(0, 0, 0)
        .expect("midnight exists")
        .and_utc()
        .timestamp_micros();
    let mut ts: Vec<i64> = (0..n)
        .map(|_| {
            // Busier in the day than at night: fold two uniforms towards mid-afternoon.
            let u = (rng.unit() + rng.unit() + rng.unit()) / 3.0;
            let frac = if rng.chance(0.3) { rng.unit() } else { u };
            start + (frac * 86_400e6) as i64
        })
        .collect();
    ts.sort_unstable();
    ts
}

/// Generate a data set under `args.out`; returns the files written.
pub fn generate(args: &GenArgs) -> Result<Vec<PathBuf>> {
    let parts = plan(args);
    let bar = crate::progress::files_bar(parts.len() as u64, "generating");
    let files: Vec<PathBuf> = parts
        .par_iter()
        .map(|p| {
            let day = first_day() + Days::new(p.day as u64);
            let path = args
                .out
                .join(format!("dt={}", day.format("%Y-%m-%d")))
                .join(format!("part-{:03}.parquet", p.part));
            let batch = match args.dataset {
                Dataset::Requests => requests(p, day)?,
                Dataset::Trips => trips(p, day)?,
            };
            write_file(&path, batch)?;
            if let Some(b) = &bar {
                b.inc(1);
            }
            Ok(path)
        })
        .collect::<Result<_>>()?;
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    Ok(files)
}

pub fn requests_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new(
            "ts",
            DataType::Timestamp(TimeUnit::Microsecond, None),
            false,
        ),
        Field::new("service", DataType::Utf8, false),
        Field::new("endpoint", DataType::Utf8, false),
        Field::new("method", DataType::Utf8, false),
        Field::new("status", DataType::Int32, false),
        Field::new("latency_ms", DataType::Float64, false),
        Field::new("bytes", DataType::Int64, false),
        Field::new("user_id", DataType::Utf8, true),
        Field::new("region", DataType::Utf8, false),
        Field::new("trace_id", DataType::Utf8, false),
        Field::new("level", DataType::Utf8, false),
        Field::new("message", DataType::Utf8, false),
        Field::new("attributes", DataType::Utf8, false),
    ]))
}

const SERVICES: [(&str, u32); 8] = [
    ("api-gateway", 30),
    ("search", 18),
    ("orders", 12),
    ("payments", 8),
    ("auth", 12),
    ("inventory", 8),
    ("users", 7),
    ("notifications", 5),
];
const REGIONS: [(&str, u32); 6] = [
    ("us-east-1", 30),
    ("us-west-2", 15),
    ("eu-west-1", 20),
    ("eu-central-1", 12),
    ("ap-southeast-1", 15),
    ("sa-east-1", 8),
];
const ENDPOINTS: [&str; 4] = ["list", "get", "create", "update"];
const ERROR_MESSAGES: [&str; 5] = [
    "upstream timeout",
    "connection reset by peer",
    "délai d'attente dépassé",
    "接続がタイムアウトしました",
    "🚨 circuit breaker open",
];

fn requests(p: &Part, day: NaiveDate) -> Result<RecordBatch> {
    let mut rng = Rng::new(p.seed);
    let n = p.rows;
    let ts = day_timestamps(&mut rng, day, n);
    let mut ts_b = TimestampMicrosecondBuilder::with_capacity(n);
    let mut service_b = StringBuilder::new();
    let mut endpoint_b = StringBuilder::new();
    let mut method_b = StringBuilder::new();
    let mut status_b = Int32Builder::with_capacity(n);
    let mut latency_b = Float64Builder::with_capacity(n);
    let mut bytes_b = Int64Builder::with_capacity(n);
    let mut user_b = StringBuilder::new();
    let mut region_b = StringBuilder::new();
    let mut trace_b = StringBuilder::new();
    let mut level_b = StringBuilder::new();
    let mut message_b = StringBuilder::new();
    let mut attr_b = StringBuilder::new();
    for t in ts {
        let service = *rng.weighted(&SERVICES);
        let op = ENDPOINTS[rng.below(4) as usize];
        let endpoint = format!("/v1/{service}/{op}");
        let method = match op {
            "create" => "POST",
            "update" => {
                if rng.chance(0.5) {
                    "PUT"
                } else {
                    "PATCH"
                }
            }
            _ => {
                if rng.chance(0.03) {
                    "DELETE"
                } else {
                    "GET"
                }
            }
        };
        let error_rate = match service {
            "payments" => 0.03,
            "search" => 0.012,
            _ => 0.004,
        };
        // An incident every day from 14:00 to 14:30 on one service.
        let hour_frac = ((t / 1_000_000) % 86_400) as f64 / 3600.0;
        let incident = (14.0..14.5).contains(&hour_frac) && service == "orders";
        let status = if rng.chance(if incident { 0.25 } else { error_rate }) {
            [500, 502, 503, 504][rng.below(4) as usize]
        } else if rng.chance(0.05) {
            [400, 401, 403, 404, 429][rng.below(5) as usize]
        } else if method == "POST" {
            201
        } else {
            200
        };
        let base = match op {
            "list" => 45.0,
            "get" => 12.0,
            "create" => 80.0,
            _ => 60.0,
        } * if service == "search" { 2.5 } else { 1.0 };
        let mut latency = base * (0.6 * rng.normal()).exp();
        if status >= 500 {
            latency *= 8.0;
        }
        let latency = (latency * 1000.0).round() / 1000.0;
        let level = if status >= 500 {
            "ERROR"
        } else if status >= 400 || latency > 1000.0 {
            "WARN"
        } else if rng.chance(0.02) {
            "DEBUG"
        } else {
            "INFO"
        };
        let message = if status >= 500 {
            format!(
                "{method} {endpoint} failed: {}",
                ERROR_MESSAGES[rng.below(5) as usize]
            )
        } else {
            format!("{method} {endpoint} -> {status} in {latency:.1}ms")
        };
        ts_b.append_value(t);
        service_b.append_value(service);
        endpoint_b.append_value(&endpoint);
        method_b.append_value(method);
        status_b.append_value(status);
        latency_b.append_value(latency);
        bytes_b.append_value((400.0 * (1.0 * rng.normal()).exp()) as i64 + 64);
        if rng.chance(0.1) {
            user_b.append_null();
        } else {
            let u = rng.unit();
            user_b.append_value(format!("u{:06}", (u * u * 200_000.0) as u64));
        }
        region_b.append_value(rng.weighted(&REGIONS));
        trace_b.append_value(format!("{:016x}{:016x}", rng.next(), rng.next()));
        level_b.append_value(level);
        message_b.append_value(&message);
        let client = ["ios", "android", "web"][rng.below(3) as usize];
        let cache = if rng.chance(0.7) { "hit" } else { "miss" };
        attr_b.append_value(format!(
            r#"{{"client":"{client}","version":"3.{}.{}","cache":"{cache}"}}"#,
            rng.below(8),
            rng.below(20)
        ));
    }
    let columns: Vec<ArrayRef> = vec![
        Arc::new(ts_b.finish()),
        Arc::new(service_b.finish()),
        Arc::new(endpoint_b.finish()),
        Arc::new(method_b.finish()),
        Arc::new(status_b.finish()),
        Arc::new(latency_b.finish()),
        Arc::new(bytes_b.finish()),
        Arc::new(user_b.finish()),
        Arc::new(region_b.finish()),
        Arc::new(trace_b.finish()),
        Arc::new(level_b.finish()),
        Arc::new(message_b.finish()),
        Arc::new(attr_b.finish()),
    ];
    Ok(RecordBatch::try_new(requests_schema(), columns)?)
}

pub fn trips_schema() -> SchemaRef {
    let ts = || DataType::Timestamp(TimeUnit::Microsecond, None);
    Arc::new(Schema::new(vec![
        Field::new("trip_id", DataType::Int64, false),
        Field::new("driver_id", DataType::Int64, false),
        Field::new("rider_id", DataType::Int64, false),
        Field::new("city", DataType::Utf8, false),
        Field::new("pickup_at", ts(), false),
        Field::new("dropoff_at", ts(), true),
        Field::new("pickup_lat", DataType::Float64, false),
        Field::new("pickup_lon", DataType::Float64, false),
        Field::new("dropoff_lat", DataType::Float64, true),
        Field::new("dropoff_lon", DataType::Float64, true),
        Field::new("distance_km", DataType::Float64, false),
        Field::new("duration_s", DataType::Int32, true),
        Field::new("fare", DataType::Decimal128(10, 2), false),
        Field::new("tip", DataType::Decimal128(10, 2), true),
        Field::new("surge", DataType::Float64, false),
        Field::new("payment", DataType::Utf8, false),
        Field::new("status", DataType::Utf8, false),
        Field::new("rating", DataType::Int32, true),
    ]))
}

const CITIES: [((&str, f64, f64), u32); 10] = [
    (("New York", 40.7128, -74.0060), 20),
    (("San Francisco", 37.7749, -122.4194), 10),
    (("London", 51.5074, -0.1278), 14),
    (("São Paulo", -23.5505, -46.6333), 12),
    (("Tokyo", 35.6762, 139.6503), 10),
    (("Paris", 48.8566, 2.3522), 8),
    (("Mumbai", 19.0760, 72.8777), 9),
    (("Berlin", 52.5200, 13.4050), 6),
    (("Chicago", 41.8781, -87.6298), 6),
    (("Ciudad de México", 19.4326, -99.1332), 5),
];

fn trips(p: &Part, day: NaiveDate) -> Result<RecordBatch> {
    let mut rng = Rng::new(p.seed);
    let n = p.rows;
    let ts = day_timestamps(&mut rng, day, n);
    let id_base = (p.day as i64 * 1_000 + p.part as i64) * 10_000_000;
    let schema = trips_schema();
    let mut trip_id = Int64Builder::with_capacity(n);
    let mut driver = Int64Builder::with_capacity(n);
    let mut rider = Int64Builder::with_capacity(n);
    let mut city_b = StringBuilder::new();
    let mut pickup = TimestampMicrosecondBuilder::with_capacity(n);
    let mut dropoff = TimestampMicrosecondBuilder::with_capacity(n);
    let mut plat = Float64Builder::with_capacity(n);
    let mut plon = Float64Builder::with_capacity(n);
    let mut dlat = Float64Builder::with_capacity(n);
    let mut dlon = Float64Builder::with_capacity(n);
    let mut dist = Float64Builder::with_capacity(n);
    let mut dur = Int32Builder::with_capacity(n);
    let mut fare_b = Decimal128Builder::with_capacity(n).with_precision_and_scale(10, 2)?;
    let mut tip_b = Decimal128Builder::with_capacity(n).with_precision_and_scale(10, 2)?;
    let mut surge_b = Float64Builder::with_capacity(n);
    let mut pay_b = StringBuilder::new();
    let mut status_b = StringBuilder::new();
    let mut rating_b = Int32Builder::with_capacity(n);
    for (i, t) in ts.into_iter().enumerate() {
        let (city, lat, lon) = *rng.weighted(&CITIES);
        let status = *rng.weighted(&[
            ("completed", 92),
            ("cancelled_by_rider", 5),
            ("cancelled_by_driver", 3),
        ]);
        let payment = *rng.weighted(&[("card", 65), ("wallet", 20), ("cash", 15)]);
        let hour = ((t / 1_000_000) % 86_400) / 3600;
        let surge = if (7..10).contains(&hour) || (17..20).contains(&hour) {
            if rng.chance(0.4) {
                1.0 + (rng.below(16) as f64) / 10.0
            } else {
                1.0
            }
        } else if rng.chance(0.05) {
            1.2
        } else {
            1.0
        };
        let p_lat = lat + rng.normal() * 0.04;
        let p_lon = lon + rng.normal() * 0.05;
        trip_id.append_value(id_base + i as i64);
        driver.append_value(1 + rng.below(20_000) as i64);
        rider.append_value(1 + rng.below(500_000) as i64);
        city_b.append_value(city);
        pickup.append_value(t);
        plat.append_value((p_lat * 1e6).round() / 1e6);
        plon.append_value((p_lon * 1e6).round() / 1e6);
        surge_b.append_value(surge);
        pay_b.append_value(payment);
        status_b.append_value(status);
        if status == "completed" {
            let km = (5.0 * (0.7 * rng.normal()).exp() * 100.0).round() / 100.0;
            let secs = (km / (18.0 + rng.unit() * 20.0) * 3600.0) as i32 + 60;
            let fare_cents =
                ((2.5 + 1.25 * km + 0.35 * secs as f64 / 60.0) * surge * 100.0).round() as i128;
            let bearing = rng.unit() * std::f64::consts::TAU;
            dist.append_value(km);
            dur.append_value(secs);
            dropoff.append_value(t + secs as i64 * 1_000_000);
            dlat.append_value(((p_lat + km / 111.0 * bearing.sin()) * 1e6).round() / 1e6);
            dlon.append_value(((p_lon + km / 85.0 * bearing.cos()) * 1e6).round() / 1e6);
            fare_b.append_value(fare_cents);
            if payment == "cash" {
                tip_b.append_null();
            } else {
                tip_b.append_value((fare_cents as f64 * rng.unit() * 0.25).round() as i128);
            }
            if rng.chance(0.7) {
                rating_b.append_value(*rng.weighted(&[(5, 60), (4, 25), (3, 9), (2, 4), (1, 2)]));
            } else {
                rating_b.append_null();
            }
        } else {
            dist.append_value(0.0);
            dur.append_null();
            dropoff.append_null();
            dlat.append_null();
            dlon.append_null();
            fare_b.append_value(if status == "cancelled_by_rider" {
                500
            } else {
                0
            });
            tip_b.append_null();
            rating_b.append_null();
        }
    }
    let columns: Vec<ArrayRef> = vec![
        Arc::new(trip_id.finish()),
        Arc::new(driver.finish()),
        Arc::new(rider.finish()),
        Arc::new(city_b.finish()),
        Arc::new(pickup.finish()),
        Arc::new(dropoff.finish()),
        Arc::new(plat.finish()),
        Arc::new(plon.finish()),
        Arc::new(dlat.finish()),
        Arc::new(dlon.finish()),
        Arc::new(dist.finish()),
        Arc::new(dur.finish()),
        Arc::new(fare_b.finish()),
        Arc::new(tip_b.finish()),
        Arc::new(surge_b.finish()),
        Arc::new(pay_b.finish()),
        Arc::new(status_b.finish()),
        Arc::new(rating_b.finish()),
    ];
    Ok(RecordBatch::try_new(schema, columns)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_data() {
        let p = Part {
            day: 0,
            part: 0,
            rows: 500,
            seed: 7,
        };
        let a = requests(&p, first_day()).unwrap();
        let b = requests(&p, first_day()).unwrap();
        assert_eq!(a, b);
        let t = trips(&p, first_day()).unwrap();
        assert_eq!(t.num_rows(), 500);
    }

    #[test]
    fn splits_rows_over_files() {
        let args = GenArgs {
            dataset: Dataset::Trips,
            rows: 10,
            days: 2,
            files_per_day: 3,
            seed: 1,
            out: PathBuf::from("x"),
        };
        let parts = plan(&args);
        assert_eq!(parts.len(), 6);
        assert_eq!(parts.iter().map(|p| p.rows).sum::<usize>(), 10);
    }
}
