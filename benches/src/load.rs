//! `strata-bench load`: many concurrent Flight SQL clients against a real `strata serve`,
//! each running a realistic mix (dashboard aggregates, selective log lookups, a few heavy
//! scans, metadata calls, some writers) for a bounded time. Reports throughput, latency
//! percentiles per kind, errors (queue-limit rejections, which the server documents, apart
//! from every other error) and the server's resident memory over time. `--mix dashboard`
//! replays only the dashboard queries (the same tiles over and over, nobody writing) and reports
//! the server's result-cache and data-cache hit rates from its query log.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Result, bail};
use arrow::array::{Array, AsArray, RecordBatch};
use arrow::datatypes::DataType;
use clap::Args;

use crate::flight::{Client, Failure};
use crate::rng::Rng;
use crate::server::{Server, register_tables, run_strata, strata_binary};

#[derive(Debug, Args, Clone)]
pub struct LoadArgs {
    /// A running server to load; without it the driver generates a lake under `--data`,
    /// starts `strata serve` on it and stops it at the end
    #[arg(long)]
    pub server: Option<String>,
    /// Process id of `--server`, to sample its memory
    #[arg(long)]
    pub pid: Option<u32>,
    /// Concurrent clients, one connection each
    #[arg(long, default_value_t = 64)]
    pub clients: usize,
    /// Seconds of load
    #[arg(long, default_value_t = 600)]
    pub duration: u64,
    /// Seconds at the start that the memory verdict ignores
    #[arg(long, default_value_t = 60)]
    pub warmup: u64,
    /// Rows of request logs in the generated lake (trips: half as many)
    #[arg(long, default_value_t = 2_000_000)]
    pub rows: u64,
    /// Where the generated lake goes
    #[arg(long, default_value = "benches/data/load")]
    pub data: PathBuf,
    /// Catalog of the started server [default: a fresh SQLite file under --data]; a
    /// PostgreSQL URL must name an empty database (set STRATA_DATA_PATH for its files)
    #[arg(long)]
    pub catalog: Option<String>,
    /// Extra lines for the started server's strata.toml (e.g. "[server.limits]\nmax_running = 8")
    #[arg(long)]
    pub config: Option<String>,
    /// The strata binary [default: release build under $CARGO_TARGET_DIR or ./target]
    #[arg(long)]
    pub strata: Option<PathBuf>,
    /// Where the report goes
    #[arg(long, default_value = "benches/results")]
    pub results: PathBuf,
    /// Report name: `load-<label>.md`
    #[arg(long, default_value = "local")]
    pub label: String,
    #[arg(long, default_value_t = 7)]
    pub seed: u64,
    /// A few seconds on tiny data (CI): fails on any error other than a queue rejection
    #[arg(long)]
    pub smoke: bool,
    /// What the clients send: `mixed` (dashboards, lookups, heavy scans, metadata, writes) or
    /// `dashboard` (only the dashboard tiles, repeated, no writes)
    #[arg(long, value_enum, default_value_t = Mix::Mixed)]
    pub mix: Mix,
}

/// The request mix of a load run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Mix {
    Mixed,
    Dashboard,
}

impl Mix {
    fn weights(self) -> &'static [(Kind, u32)] {
        match self {
            Mix::Mixed => MIX,
            Mix::Dashboard => &[(Kind::Dashboard, 1)],
        }
    }
}

/// What a request does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    Dashboard,
    Lookup,
    Heavy,
    Metadata,
    Write,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Dashboard => "dashboard aggregate",
            Kind::Lookup => "selective lookup",
            Kind::Heavy => "heavy scan",
            Kind::Metadata => "metadata (GetTables)",
            Kind::Write => "write (INSERT)",
        }
    }
}

const MIX: &[(Kind, u32)] = &[
    (Kind::Dashboard, 55),
    (Kind::Lookup, 25),
    (Kind::Heavy, 4),
    (Kind::Metadata, 8),
    (Kind::Write, 8),
];

/// Values the queries filter on, read from the lake first.
#[derive(Debug, Clone, Default)]
struct Domain {
    days: Vec<String>,
    services: Vec<String>,
    trace_ids: Vec<String>,
    user_ids: Vec<String>,
    cities: Vec<String>,
}

impl Domain {
    fn pick<'a>(rng: &mut Rng, values: &'a [String]) -> &'a str {
        values
            .get(rng.below(values.len() as u64) as usize)
            .map_or("", String::as_str)
    }

    fn statement(&self, kind: Kind, rng: &mut Rng, client: usize) -> String {
        let day = Self::pick(rng, &self.days);
        let service = Self::pick(rng, &self.services);
        match kind {
            Kind::Dashboard => match rng.below(6) {
                0 => format!(
                    "SELECT service, count(*) AS n, avg(latency_ms) AS avg_ms FROM requests WHERE dt = DATE '{day}' GROUP BY service ORDER BY n DESC"
                ),
                1 => format!(
                    "SELECT date_trunc('hour', ts) AS hour, count(*) AS n, sum(CASE WHEN status >= 500 THEN 1 ELSE 0 END) AS errors FROM requests WHERE dt = DATE '{day}' AND service = '{service}' GROUP BY 1 ORDER BY 1"
                ),
                2 => format!(
                    "SELECT status, count(*) AS n FROM requests WHERE service = '{service}' AND dt >= DATE '{day}' GROUP BY status ORDER BY status"
                ),
                3 => format!(
                    "SELECT city, count(*) AS trips, avg(fare) AS fare FROM trips WHERE dt = DATE '{day}' GROUP BY city ORDER BY trips DESC LIMIT 20"
                ),
                4 => format!(
                    "SELECT date_trunc('hour', pickup_at) AS hour, count(*) AS trips, sum(fare) AS fares FROM trips WHERE dt = DATE '{day}' AND city = '{}' GROUP BY 1 ORDER BY 1",
                    Self::pick(rng, &self.cities)
                ),
                _ => format!(
                    "SELECT endpoint, count(*) AS n FROM requests WHERE dt = DATE '{day}' AND status >= 500 GROUP BY endpoint ORDER BY n DESC LIMIT 10"
                ),
            },
            Kind::Lookup => match rng.below(3) {
                0 => format!(
                    "SELECT ts, service, endpoint, status, message FROM requests WHERE trace_id = '{}'",
                    Self::pick(rng, &self.trace_ids)
                ),
                1 => format!(
                    "SELECT ts, endpoint, status, latency_ms FROM requests WHERE user_id = '{}' AND dt = DATE '{day}' ORDER BY ts DESC LIMIT 50",
                    Self::pick(rng, &self.user_ids)
                ),
                _ => format!(
                    "SELECT * FROM requests WHERE dt = DATE '{day}' AND service = '{service}' AND status = 503 ORDER BY ts DESC LIMIT 20"
                ),
            },
            Kind::Heavy => match rng.below(3) {
                0 => "SELECT service, approx_percentile_cont(latency_ms, 0.99) AS p99, count(DISTINCT user_id) AS users FROM requests GROUP BY service".into(),
                1 => "SELECT t.city, sum(r.n) AS requests, avg(t.fare) AS fare FROM trips t JOIN (SELECT dt, count(*) AS n FROM requests GROUP BY dt) r ON t.dt = r.dt GROUP BY t.city".into(),
                _ => "SELECT dt, level, count(*) AS n, sum(bytes) AS bytes FROM requests GROUP BY dt, level ORDER BY dt, level".into(),
            },
            Kind::Metadata => String::new(),
            Kind::Write => {
                let values: Vec<String> = (0..1 + rng.below(20))
                    .map(|i| {
                        format!(
                            "(TIMESTAMP '{day} 12:00:00', {client}, {i}, '{}')",
                            Self::pick(rng, &self.services)
                        )
                    })
                    .collect();
                format!("INSERT INTO load_events VALUES {}", values.join(", "))
            }
        }
    }
}

/// One finished request.
struct Sample {
    kind: Kind,
    at: f64,
    millis: f64,
    outcome: Result<(), Failure>,
}

/// A queue-limit rejection: documented (`limits.max_queued`), counted apart from errors.
fn is_rejection(f: &Failure) -> bool {
    f.code == tonic::Code::ResourceExhausted && f.message.contains("server busy")
}

fn strings(batches: &[RecordBatch]) -> Vec<String> {
    let mut out = Vec::new();
    for b in batches {
        let column = b.column(0);
        let column = match column.data_type() {
            DataType::Utf8 => column.clone(),
            _ => match arrow::compute::cast(column, &DataType::Utf8) {
                Ok(c) => c,
                Err(_) => continue,
            },
        };
        let s = column.as_string::<i32>();
        out.extend(
            (0..s.len())
                .filter(|&i| s.is_valid(i))
                .map(|i| s.value(i).to_string()),
        );
    }
    out
}

async fn domain(client: &mut Client) -> Result<Domain> {
    let mut q = async |sql: &str| -> Result<Vec<String>> {
        client
            .query(sql)
            .await
            .map(|b| strings(&b))
            .map_err(|e| anyhow::anyhow!("{sql}: {e}"))
    };
    Ok(Domain {
        days: q("SELECT DISTINCT CAST(dt AS VARCHAR) FROM requests ORDER BY 1").await?,
        services: q("SELECT DISTINCT service FROM requests ORDER BY 1").await?,
        trace_ids: q("SELECT trace_id FROM requests LIMIT 2000").await?,
        user_ids: q("SELECT DISTINCT user_id FROM requests LIMIT 2000").await?,
        cities: q("SELECT DISTINCT city FROM trips ORDER BY 1").await?,
    })
}

/// Generate a lake of request logs and trips under `dir` (once) and a fresh catalog, and start
/// a server on it.
fn start_server(args: &LoadArgs, dir: &Path) -> Result<Server> {
    let bin = strata_binary(args.strata.as_deref());
    if !bin.is_file() {
        bail!(
            "strata binary not found at {}: build it with `cargo build --release -p strata-cli` or pass --strata",
            bin.display()
        );
    }
    let rows = args.rows.to_string();
    let trips = (args.rows / 2).max(1).to_string();
    let marker = dir.join(format!("generated-{rows}"));
    if !marker.exists() {
        if dir.exists() {
            std::fs::remove_dir_all(dir)?;
        }
        std::fs::create_dir_all(dir)?;
        for (table, n) in [("requests", &rows), ("trips", &trips)] {
            let out = dir.join(table);
            let out = out.to_string_lossy();
            let status = Command::new(&bin)
                .args(["gen", table, "--rows", n, "--days", "14", "--out", &out])
                .status()?;
            if !status.success() {
                bail!("strata gen {table} failed");
            }
        }
        std::fs::write(&marker, "")?;
    }
    let catalog_file = dir.join("load.db");
    for stale in ["load.db", "load.db-wal", "load.db-shm"] {
        let _ = std::fs::remove_file(dir.join(stale));
    }
    let _ = std::fs::remove_dir_all(dir.join("load.db.files"));
    let catalog = args
        .catalog
        .clone()
        .unwrap_or_else(|| format!("sqlite:{}", catalog_file.display()));
    register_tables(
        &bin,
        &catalog,
        &[
            ("requests", &dir.join("requests")),
            ("trips", &dir.join("trips")),
        ],
    )?;
    run_strata(
        &bin,
        Some(&catalog),
        &[
            "query",
            "CREATE TABLE load_events (ts TIMESTAMP, client BIGINT, n BIGINT, service VARCHAR) PARTITIONED BY (day(ts))",
        ],
    )?;
    let config = dir.join("load.toml");
    std::fs::write(&config, args.config.clone().unwrap_or_default())?;
    let config = config.to_string_lossy().to_string();
    // The dashboard mix reads the cache hit rates from the query log.
    let log = match args.mix {
        Mix::Mixed => "off".to_string(),
        Mix::Dashboard => {
            let log = query_log_path(dir);
            let _ = std::fs::remove_file(&log);
            log.to_string_lossy().to_string()
        }
    };
    Server::start(
        &bin,
        &catalog,
        &[("STRATA_SERVER_QUERY_LOG".into(), log)],
        &["--config", &config],
        None,
    )
}

fn query_log_path(dir: &Path) -> PathBuf {
    dir.join("query-log.jsonl")
}

/// What the server's query log says about the caches, for the statements that started after
/// `skip` lines (the driver's own set-up queries come first).
#[derive(Debug, Default)]
struct CacheCounts {
    statements: usize,
    result: BTreeMap<String, usize>,
    requests: u64,
    data_hits: u64,
    data_hit_bytes: u64,
}

fn cache_counts(log: &Path, skip: usize) -> Option<CacheCounts> {
    let text = std::fs::read_to_string(log).ok()?;
    let mut counts = CacheCounts::default();
    for line in text.lines().skip(skip) {
        let Ok(v) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        if v["request"] != "statement" {
            continue;
        }
        counts.statements += 1;
        let outcome = v["result_cache"].as_str().unwrap_or("none").to_string();
        *counts.result.entry(outcome).or_default() += 1;
        counts.requests += v["requests"].as_u64().unwrap_or(0);
        counts.data_hits += v["cache_hits"].as_u64().unwrap_or(0);
        counts.data_hit_bytes += v["cache_hit_bytes"].as_u64().unwrap_or(0);
    }
    Some(counts)
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// Run the load and write the report; fails on unexpected errors, and (past the smoke run) on
/// memory that is not flat after the warm-up.
pub fn run(mut args: LoadArgs) -> Result<()> {
    if args.smoke {
        args.clients = args.clients.min(8);
        args.duration = args.duration.min(6);
        args.warmup = 1;
        args.rows = args.rows.min(20_000);
        if args.data == Path::new("benches/data/load") {
            args.data =
                std::env::temp_dir().join(format!("strata-load-smoke-{}", std::process::id()));
        }
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let (server, url, pid) = match &args.server {
        Some(url) => (None, url.clone(), args.pid),
        None => {
            let s = start_server(&args, &args.data)?;
            let url = s.url.clone();
            let pid = s.child.id();
            (Some(s), url, Some(pid))
        }
    };
    let login = std::env::var("STRATA_LOAD_USER")
        .ok()
        .zip(std::env::var("STRATA_LOAD_PASSWORD").ok());
    let log = (server.is_some() && args.mix == Mix::Dashboard).then(|| query_log_path(&args.data));
    let report = runtime.block_on(drive(&args, &url, pid, login, log.as_deref()))?;
    drop(server);
    if args.smoke {
        let _ = std::fs::remove_dir_all(&args.data);
    }
    std::fs::create_dir_all(&args.results)?;
    let path = args.results.join(format!("load-{}.md", args.label));
    if !args.smoke {
        std::fs::write(&path, &report.markdown)?;
        eprintln!("report: {}", path.display());
    }
    println!("{}", report.summary);
    if report.unexpected_errors > 0 {
        bail!(
            "{} requests failed with unexpected errors",
            report.unexpected_errors
        );
    }
    if !args.smoke && !report.memory_flat {
        bail!("the server's memory was not flat within ±10% after the warm-up");
    }
    Ok(())
}

struct Report {
    markdown: String,
    summary: String,
    unexpected_errors: usize,
    memory_flat: bool,
}

async fn drive(
    args: &LoadArgs,
    url: &str,
    pid: Option<u32>,
    login: Option<(String, String)>,
    log: Option<&Path>,
) -> Result<Report> {
    let login_ref = login.as_ref().map(|(u, p)| (u.as_str(), p.as_str()));
    let mut first = Client::connect(url, login_ref).await?;
    let domain = Arc::new(domain(&mut first).await?);
    if domain.days.is_empty() {
        bail!("the lake has no request logs to query");
    }
    let mix = args.mix.weights();
    let set_up_lines = log
        .and_then(|l| std::fs::read_to_string(l).ok())
        .map_or(0, |t| t.lines().count());
    let samples = Arc::new(Mutex::new(Vec::<Sample>::new()));
    let started = Instant::now();
    let deadline = started + Duration::from_secs(args.duration);
    let rss = Arc::new(Mutex::new(Vec::<(f64, u64)>::new()));
    let sampler = pid.map(|pid| {
        let rss = Arc::clone(&rss);
        tokio::spawn(async move {
            while Instant::now() < deadline {
                if let Some(bytes) = process_rss(pid) {
                    rss.lock()
                        .expect("not poisoned")
                        .push((started.elapsed().as_secs_f64(), bytes));
                }
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        })
    });
    let mut tasks = Vec::new();
    for client_id in 0..args.clients {
        let domain = Arc::clone(&domain);
        let samples = Arc::clone(&samples);
        let url = url.to_string();
        let login = login.clone();
        let seed = args.seed.wrapping_mul(1000).wrapping_add(client_id as u64);
        tasks.push(tokio::spawn(async move {
            let login = login.as_ref().map(|(u, p)| (u.as_str(), p.as_str()));
            let mut client = Client::connect(&url, login).await?;
            let mut rng = Rng::new(seed);
            while Instant::now() < deadline {
                let kind = rng.weighted(mix);
                let sql = domain.statement(kind, &mut rng, client_id);
                let t0 = Instant::now();
                let outcome = match kind {
                    Kind::Metadata => client.tables().await.map(|_| ()),
                    Kind::Write => client.update(&sql).await.map(|_| ()),
                    _ => client.query(&sql).await.map(|_| ()),
                };
                let sample = Sample {
                    kind,
                    at: t0.duration_since(started).as_secs_f64(),
                    millis: t0.elapsed().as_secs_f64() * 1000.0,
                    outcome,
                };
                let rejected = matches!(&sample.outcome, Err(f) if is_rejection(f));
                samples.lock().expect("not poisoned").push(sample);
                if rejected {
                    // A rejected client backs off a little, as well-behaved clients do.
                    tokio::time::sleep(Duration::from_millis(50 + rng.below(100))).await;
                }
            }
            Ok::<_, anyhow::Error>(())
        }));
    }
    for t in tasks {
        t.await??;
    }
    if let Some(s) = sampler {
        s.abort();
    }
    let elapsed = started.elapsed().as_secs_f64();
    let samples = std::mem::take(&mut *samples.lock().expect("not poisoned"));
    let rss = std::mem::take(&mut *rss.lock().expect("not poisoned"));
    let caches = log.and_then(|l| cache_counts(l, set_up_lines));
    Ok(report(args, url, elapsed, &samples, &rss, caches.as_ref()))
}

fn process_rss(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

fn report(
    args: &LoadArgs,
    url: &str,
    elapsed: f64,
    samples: &[Sample],
    rss: &[(f64, u64)],
    caches: Option<&CacheCounts>,
) -> Report {
    let mut by_kind: BTreeMap<Kind, (Vec<f64>, usize, usize)> = BTreeMap::new();
    let mut errors: BTreeMap<String, usize> = BTreeMap::new();
    let mut unexpected = 0;
    let mut rejections = 0;
    let mut ok_latencies = Vec::new();
    for s in samples {
        let entry = by_kind.entry(s.kind).or_default();
        match &s.outcome {
            Ok(()) => {
                entry.0.push(s.millis);
                ok_latencies.push(s.millis);
            }
            Err(f) if is_rejection(f) => {
                entry.2 += 1;
                rejections += 1;
            }
            Err(f) => {
                entry.1 += 1;
                unexpected += 1;
                let text: String = f.to_string().chars().take(160).collect();
                *errors.entry(text).or_default() += 1;
            }
        }
    }
    ok_latencies.sort_by(f64::total_cmp);
    let ok = ok_latencies.len();
    let mut md = String::new();
    md.push_str(&format!(
        "# Load: {} clients for {} s\n\n",
        args.clients, args.duration
    ));
    md.push_str(&format!(
        "Command: `strata-bench load --mix {} --clients {} --duration {} --warmup {} --rows {}{}`, against {} ({}).\n\n",
        match args.mix {
            Mix::Mixed => "mixed",
            Mix::Dashboard => "dashboard",
        },
        args.clients,
        args.duration,
        args.warmup,
        args.rows,
        args.config.as_ref().map(|c| format!(" --config {c:?}")).unwrap_or_default(),
        if args.server.is_some() { "an existing server" } else { "a server the driver started on a generated lake" },
        url
    ));
    md.push_str(&format!(
        "Requests: {} in {:.0} s: {} ok ({:.1}/s), {} rejected by the queue limit (`limits.max_queued`), {} other errors.\n\n",
        samples.len(),
        elapsed,
        ok,
        ok as f64 / elapsed,
        rejections,
        unexpected
    ));
    md.push_str(&format!(
        "Latency of successful requests: p50 {:.1} ms, p95 {:.1} ms, p99 {:.1} ms, max {:.1} ms.\n\n",
        percentile(&ok_latencies, 0.5),
        percentile(&ok_latencies, 0.95),
        percentile(&ok_latencies, 0.99),
        ok_latencies.last().copied().unwrap_or(0.0)
    ));
    md.push_str("| kind | ok | errors | rejected | p50 ms | p95 ms | p99 ms | max ms |\n|---|---|---|---|---|---|---|---|\n");
    for (kind, (lat, err, rej)) in &mut by_kind {
        lat.sort_by(f64::total_cmp);
        md.push_str(&format!(
            "| {} | {} | {} | {} | {:.1} | {:.1} | {:.1} | {:.1} |\n",
            kind.name(),
            lat.len(),
            err,
            rej,
            percentile(lat, 0.5),
            percentile(lat, 0.95),
            percentile(lat, 0.99),
            lat.last().copied().unwrap_or(0.0)
        ));
    }
    if let Some(c) = caches {
        let share = |n: usize| 100.0 * n as f64 / c.statements.max(1) as f64;
        let outcomes: Vec<String> = c
            .result
            .iter()
            .map(|(k, n)| format!("{k} {n} ({:.1}%)", share(*n)))
            .collect();
        md.push_str(&format!(
            "\nCaches, from the server's query log ({} statements): result cache: {}. Data cache: {} ranges served from memory ({:.1} MiB), {} requests to storage.\n",
            c.statements,
            outcomes.join(", "),
            c.data_hits,
            c.data_hit_bytes as f64 / (1 << 20) as f64,
            c.requests
        ));
    }
    if !errors.is_empty() {
        md.push_str("\nErrors:\n\n");
        for (e, n) in &errors {
            md.push_str(&format!("- {n} × `{e}`\n"));
        }
    }
    // Memory. A single sample includes the working memory of the queries running at that
    // instant, so samples swing with the mix; a leak shows as a trend. The verdict is on the
    // per-minute means after the warm-up: each within ±10% of their mean. Sample extremes are
    // reported beside it.
    let mib = |b: f64| b / (1 << 20) as f64;
    let minutes = (elapsed / 60.0).ceil() as usize;
    let mut rows = Vec::new();
    for m in 0..minutes.max(1) {
        let (lo, hi) = (m as f64 * 60.0, (m + 1) as f64 * 60.0);
        let in_minute: Vec<u64> = rss
            .iter()
            .filter(|(t, _)| *t >= lo && *t < hi)
            .map(|(_, b)| *b)
            .collect();
        if in_minute.is_empty() {
            continue;
        }
        let done = samples
            .iter()
            .filter(|s| s.at >= lo && s.at < hi && s.outcome.is_ok())
            .count();
        let mean = in_minute.iter().sum::<u64>() as f64 / in_minute.len() as f64;
        let max = *in_minute.iter().max().unwrap_or(&0) as f64;
        rows.push((m, lo, mean, max, done));
    }
    let after_warmup: Vec<f64> = rows
        .iter()
        .filter(|(_, lo, ..)| *lo >= args.warmup as f64)
        .map(|(_, _, mean, ..)| *mean)
        .collect();
    let samples_after: Vec<u64> = rss
        .iter()
        .filter(|(t, _)| *t >= args.warmup as f64)
        .map(|(_, b)| *b)
        .collect();
    let (memory_flat, spread) = if after_warmup.is_empty() {
        (true, String::from("no whole minute after the warm-up"))
    } else {
        let mean = after_warmup.iter().sum::<f64>() / after_warmup.len() as f64;
        let lowest = after_warmup.iter().copied().fold(f64::MAX, f64::min);
        let highest = after_warmup.iter().copied().fold(0.0, f64::max);
        let flat = highest <= mean * 1.10 && lowest >= mean * 0.90;
        let sample_min = *samples_after.iter().min().unwrap_or(&0) as f64;
        let sample_max = *samples_after.iter().max().unwrap_or(&0) as f64;
        (
            flat,
            format!(
                "after the {} s warm-up: per-minute means {:.0}–{:.0} MiB around {:.0} MiB ({:+.1}% / {:+.1}%, first {:.0} → last {:.0} MiB): {}; single samples {:.0}–{:.0} MiB (queries' working memory)",
                args.warmup,
                mib(lowest),
                mib(highest),
                mib(mean),
                (lowest / mean - 1.0) * 100.0,
                (highest / mean - 1.0) * 100.0,
                mib(after_warmup[0]),
                mib(after_warmup[after_warmup.len() - 1]),
                if flat {
                    "flat within ±10%"
                } else {
                    "NOT flat within ±10%"
                },
                mib(sample_min),
                mib(sample_max),
            ),
        )
    };
    if !rss.is_empty() {
        md.push_str(&format!("\nServer memory (RSS), {spread}.\n\n"));
        md.push_str("| minute | mean RSS MiB | max RSS MiB | requests ok |\n|---|---|---|---|\n");
        for (m, _, mean, max, done) in &rows {
            md.push_str(&format!(
                "| {} | {:.0} | {:.0} | {} |\n",
                m + 1,
                mib(*mean),
                mib(*max),
                done
            ));
        }
    }
    let summary = format!(
        "load: {} clients, {:.0} s: {} ok ({:.1}/s), p50 {:.1} ms, p99 {:.1} ms, {} queue rejections, {} other errors; memory {}",
        args.clients,
        elapsed,
        ok,
        ok as f64 / elapsed,
        percentile(&ok_latencies, 0.5),
        percentile(&ok_latencies, 0.99),
        rejections,
        unexpected,
        spread
    );
    let summary = match caches {
        Some(c) => format!(
            "{summary}; result cache {}",
            c.result
                .iter()
                .map(|(k, n)| format!("{k} {n}"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        None => summary,
    };
    Report {
        markdown: md,
        summary,
        unexpected_errors: unexpected,
        memory_flat,
    }
}
