//! `strata demo`: generate a sample lake if absent, register it, and run analytics queries that
//! show what Strata does.

use std::path::Path;
use std::time::Instant;

use anyhow::Result;
use futures::StreamExt;
use strata_engine::Engine;

use crate::args::{Dataset, DemoArgs, Format, GenArgs};
use crate::output::{ResultWriter, plain_batch, plain_schema};

const QUERIES: [(&str, &str); 6] = [
    (
        "Error rate per service and hour on the last day (partition pruning: one day of 14)",
        "SELECT service, date_trunc('hour', ts) AS hour, count(*) AS requests,
                round(100.0 * avg(CASE WHEN status >= 500 THEN 1 ELSE 0 END), 2) AS error_pct
         FROM requests WHERE dt = DATE '2026-03-14'
         GROUP BY service, hour ORDER BY error_pct DESC, service, hour LIMIT 8",
    ),
    (
        "p50 / p95 / p99 latency per service over the whole period",
        "SELECT service, count(*) AS requests,
                round(approx_percentile_cont(latency_ms, 0.50), 1) AS p50_ms,
                round(approx_percentile_cont(latency_ms, 0.95), 1) AS p95_ms,
                round(approx_percentile_cont(latency_ms, 0.99), 1) AS p99_ms
         FROM requests GROUP BY service ORDER BY p95_ms DESC",
    ),
    (
        "Slowest endpoints in one region during the daily 14:00 incident",
        "SELECT endpoint, count(*) AS errors, round(avg(latency_ms), 1) AS avg_ms
         FROM requests
         WHERE region = 'eu-west-1' AND status >= 500 AND dt BETWEEN DATE '2026-03-10' AND DATE '2026-03-12'
           AND extract(hour FROM ts) = 14
         GROUP BY endpoint ORDER BY errors DESC LIMIT 5",
    ),
    (
        "Trips, revenue and average rating per city",
        "SELECT city, count(*) AS trips, sum(fare + coalesce(tip, 0)) AS revenue,
                round(avg(rating), 2) AS avg_rating
         FROM trips WHERE status = 'completed' GROUP BY city ORDER BY revenue DESC",
    ),
    (
        "Revenue per day with a 3-day moving average (window function)",
        "SELECT dt, sum(fare) AS revenue,
                round(avg(sum(fare)) OVER (ORDER BY dt ROWS BETWEEN 2 PRECEDING AND CURRENT ROW), 2) AS revenue_3d_avg
         FROM trips GROUP BY dt ORDER BY dt",
    ),
    (
        "Surge share by hour of day, card vs cash",
        "SELECT extract(hour FROM pickup_at) AS hour,
                round(100.0 * avg(CASE WHEN surge > 1 THEN 1 ELSE 0 END), 1) AS surge_pct,
                sum(CASE WHEN payment = 'card' THEN 1 ELSE 0 END) AS card,
                sum(CASE WHEN payment = 'cash' THEN 1 ELSE 0 END) AS cash
         FROM trips GROUP BY hour ORDER BY surge_pct DESC LIMIT 6",
    ),
];

/// The catalog the demo uses when none is given: inside the demo directory.
pub fn default_catalog(dir: &Path) -> String {
    format!("sqlite:{}", dir.join("strata.db").display())
}

pub fn generate_if_absent(args: &DemoArgs) -> Result<()> {
    for (dataset, name, rows) in [
        (Dataset::Requests, "requests", args.requests),
        (Dataset::Trips, "trips", args.trips),
    ] {
        let out = args.dir.join(name);
        if out.exists() {
            println!("using existing sample data in {}", out.display());
            continue;
        }
        let started = Instant::now();
        let files = crate::generate::generate(&GenArgs {
            dataset,
            rows,
            days: 14,
            files_per_day: 2,
            seed: 42,
            out: out.clone(),
        })?;
        println!(
            "generated {rows} {name} in {} files under {} ({:.1}s)",
            files.len(),
            out.display(),
            started.elapsed().as_secs_f64()
        );
    }
    Ok(())
}

pub async fn run(engine: &Engine, args: &DemoArgs) -> Result<()> {
    let snapshot = engine.catalog().current_snapshot()?;
    for name in ["requests", "trips"] {
        let location = args.dir.join(name);
        let started = Instant::now();
        let report = if engine.catalog().table(snapshot, "main", name)?.is_some() {
            engine.lake().refresh_table(name, &()).await?.0
        } else {
            engine
                .lake()
                .register_table(name, &location.display().to_string(), &())
                .await?
                .0
        };
        let summary = engine.lake().table_summary(&engine.lake().table(name)?)?;
        println!(
            "table {name}: {} files, {} rows ({} new files) — registered in {:.2}s",
            summary.files,
            summary.rows,
            report.files_added,
            started.elapsed().as_secs_f64()
        );
    }
    let session = engine.session();
    let total = Instant::now();
    for (title, sql) in QUERIES {
        println!("\n-- {title}");
        println!("{}", sql.split_whitespace().collect::<Vec<_>>().join(" "));
        let started = Instant::now();
        for statement in session.parse(sql)? {
            let mut running = session.run(statement).await?;
            let schema = plain_schema(&running.schema);
            let mut writer = ResultWriter::new(Format::Table, std::io::stdout(), schema.clone())?;
            let mut rows = 0;
            while let Some(batch) = running.stream.next().await {
                let batch = batch.map_err(strata_engine::Error::from)?;
                rows += batch.num_rows();
                writer.write(&plain_batch(&batch, &schema)?)?;
            }
            writer.finish()?;
            let stats = running.stats(rows);
            println!(
                "{rows} rows in {:.3}s — scanned {} of {} files, read {}",
                started.elapsed().as_secs_f64(),
                stats.files_scanned,
                stats.files_total,
                crate::tables::bytes(stats.requests.bytes_read as i64)
            );
        }
    }
    println!(
        "\nall queries: {:.2}s. Try: strata --catalog {} shell",
        total.elapsed().as_secs_f64(),
        engine.catalog().url()
    );
    Ok(())
}
