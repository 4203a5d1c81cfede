//! Strata embedded in a Rust program: open a catalog, register a Hive-partitioned lake, run
//! SQL and stream the result batches — no server, no CLI.
//!
//! ```sh
//! cargo run -p strata-cli -- gen requests --rows 100000 --days 3 --out /tmp/lake/requests
//! cargo run -p strata-engine --example embed -- /tmp/lake/catalog.db /tmp/lake/requests
//! ```

use futures::StreamExt;
use strata_engine::{Engine, EngineConfig};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let (Some(catalog), Some(lake)) = (args.next(), args.next()) else {
        return Err("usage: embed CATALOG_FILE LAKE_DIRECTORY".into());
    };
    // Any `strata.toml` setting can be set here; the defaults suit a laptop.
    let config = EngineConfig {
        catalog: format!("sqlite:{catalog}"),
        ..EngineConfig::default()
    };
    let engine = Engine::open(&config)?;
    let session = engine.session();

    let sql = format!(
        "CALL register('requests', '{lake}');
         SELECT service,
                time_bucket(INTERVAL '1 hour', ts) AS hour,
                count(*) AS requests,
                count_if(status >= 500) AS errors,
                quantile_cont(latency_ms, 0.99) AS p99_ms,
                attributes->>'client' AS client
         FROM requests
         GROUP BY service, hour, client
         ORDER BY errors DESC, service, hour, client
         LIMIT 5"
    );
    for statement in session.parse(&sql)? {
        let mut running = session.run(statement).await?;
        let mut batches = Vec::new();
        // Batches arrive as the query produces them: a consumer can act on each at once.
        while let Some(batch) = running.stream.next().await {
            batches.push(batch?);
        }
        println!("{}", arrow::util::pretty::pretty_format_batches(&batches)?);
    }
    Ok(())
}
