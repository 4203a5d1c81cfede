//! Running one suite on every engine, query by query, and writing its Markdown and CSV report.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::cluster::{Shape, Work};
use crate::engines::{Engine, Measure, Tools};
use crate::results::{Answer, agree, read};
use crate::s3::Emulator;
use crate::{RunArgs, Storage};

/// What a suite run found.
#[derive(Debug, Default)]
pub struct Outcome {
    /// Queries where an engine failed or gave a wrong answer.
    pub failures: usize,
    /// Tasks the cluster's executors ran (strata-cluster), over every query.
    pub cluster_tasks: u64,
}

/// One engine's outcome on one query.
enum Cell {
    Ok(Measure),
    Wrong(Measure),
    Failed(String),
}

impl Cell {
    fn measure(&self) -> Option<&Measure> {
        match self {
            Cell::Ok(m) => Some(m),
            _ => None,
        }
    }
}

fn cold(m: &Measure) -> Option<f64> {
    m.times.first().copied()
}

fn hot(m: &Measure) -> Option<f64> {
    m.times.iter().skip(1).copied().reduce(f64::min).or(cold(m))
}

fn find_on_path(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|p| p.join(name))
            .find(|p| p.is_file())
    })
}

fn tools(args: &RunArgs) -> Result<Tools> {
    let strata = match &args.strata {
        Some(p) => p.clone(),
        None => {
            let target = std::env::var_os("CARGO_TARGET_DIR")
                .map(PathBuf::from)
                .unwrap_or_else(|| PathBuf::from("target"));
            target.join("release").join("strata")
        }
    };
    if !strata.is_file() && args.engines().iter().any(|e| e.starts_with("strata")) {
        bail!(
            "strata binary not found at {}: build it with `cargo build --release -p strata-cli` or pass --strata",
            strata.display()
        );
    }
    let python = crate::server::python_binary(args.python.as_deref());
    let datafusion_cli = args
        .datafusion_cli
        .clone()
        .or_else(|| find_on_path("datafusion-cli"));
    Ok(Tools {
        strata: std::path::absolute(&strata).unwrap_or(strata),
        python,
        duckdb_peer: Path::new(env!("CARGO_MANIFEST_DIR")).join("peers/duckdb_peer.py"),
        datafusion_cli,
    })
}

fn version(cmd: &mut Command) -> String {
    cmd.output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "unknown".into())
}

/// CPU, cores, memory and OS of this machine, and the versions of the engines.
fn machine(tools: &Tools) -> String {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let cpu = cpuinfo
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split(':').nth(1))
        .unwrap_or("unknown")
        .trim()
        .to_string();
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(0);
    let mem = std::fs::read_to_string("/proc/meminfo")
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with("MemTotal"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|k| k.parse::<u64>().ok())
        .map(|k| format!("{:.1} GiB", k as f64 / 1024.0 / 1024.0))
        .unwrap_or_default();
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    let commit = version(Command::new("git").args(["rev-parse", "--short", "HEAD"]));
    let duckdb = version(
        Command::new(&tools.python).args(["-c", "import duckdb; print(duckdb.__version__)"]),
    );
    let datafusion = tools
        .datafusion_cli
        .as_ref()
        .map(|b| version(Command::new(b).arg("--version")))
        .unwrap_or_else(|| "not installed".into());
    format!(
        "{cpu}, {cores} cores, {mem}, Linux {}; {}, runner at commit {commit}; DuckDB {duckdb}; datafusion-cli: {datafusion}",
        kernel.trim(),
        version(Command::new(&tools.strata).arg("--version"))
    )
}

fn secs(x: Option<f64>) -> String {
    x.map(|s| format!("{s:.3}")).unwrap_or_else(|| "-".into())
}

fn geomean(xs: &[f64]) -> Option<f64> {
    if xs.is_empty() {
        return None;
    }
    Some((xs.iter().map(|x| x.ln()).sum::<f64>() / xs.len() as f64).exp())
}

/// Run `args.suite` over `data` and write its report; returns how many queries failed.
pub fn run_suite(args: &RunArgs, data: &Path) -> Result<Outcome> {
    let tools = tools(args)?;
    let data = std::path::absolute(data)?;
    let suite = args.suite;
    let work = std::env::temp_dir().join(format!(
        "strata-bench-{}-{}",
        std::process::id(),
        suite.name()
    ));
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work)?;
    let store = match args.storage {
        Storage::Local => None,
        Storage::S3 => Some(Emulator::start(
            &tools.python,
            &data,
            suite.tables(),
            std::time::Duration::from_millis(args.latency_ms),
        )?),
    };
    let mut engines = Vec::new();
    let mut skipped = Vec::new();
    for name in &args.engines() {
        match Engine::prepare(
            name,
            suite,
            &data,
            store.as_ref(),
            &work,
            &tools,
            args.cluster(),
        )? {
            Some(e) => engines.push(e),
            None => skipped.push(name.clone()),
        }
    }
    if engines.is_empty() {
        bail!("no engine to run");
    }
    let query_dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("queries")
        .join(suite.name());
    let mut queries: Vec<(String, String)> = std::fs::read_dir(&query_dir)
        .with_context(|| format!("cannot read {}", query_dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "sql"))
        .map(|p| {
            let stem = p
                .file_stem()
                .unwrap_or_default()
                .to_string_lossy()
                .to_string();
            std::fs::read_to_string(&p).map(|sql| (stem, sql))
        })
        .collect::<Result<_, _>>()?;
    queries.sort();
    if !args.queries.is_empty() {
        queries.retain(|(q, _)| args.queries.contains(q));
    }

    let runs = 1 + args.hot_runs;
    let mut table: Vec<(String, Option<usize>, Vec<Cell>)> = Vec::new();
    let mut outcome = Outcome::default();
    for (name, sql) in &queries {
        let mut measured: Vec<Result<(Measure, Answer)>> = Vec::new();
        for engine in &engines {
            let result = work.join(format!("{}-{name}.parquet", engine.name()));
            let _ = std::fs::remove_file(&result);
            if args.drop_caches && !drop_page_cache() {
                bail!(
                    "--drop-caches: cannot write /proc/sys/vm/drop_caches (run as root, or leave the option out)"
                );
            }
            measured.push(
                engine
                    .measure(
                        sql,
                        runs,
                        &work,
                        &result,
                        store.as_ref().map(|s| s.counters.as_ref()),
                    )
                    .and_then(|m| Ok((m, read(&result)?)))
                    .map(|(mut m, answer)| {
                        // A fresh process once more, timed whole (cold as well). Its failure
                        // is said, and leaves the measurement above as it is.
                        if engine.times_processes() {
                            if args.drop_caches {
                                drop_page_cache();
                            }
                            match engine.process_time(sql, &work) {
                                Ok(secs) => m.process = Some(secs),
                                Err(e) => eprintln!(
                                    "{} {name}: {} whole-process run failed: {}",
                                    suite.name(),
                                    engine.name(),
                                    crate_message(&e)
                                ),
                            }
                        }
                        (m, answer)
                    }),
            );
        }
        // DuckDB's answer is the reference when it has one; else the first engine's.
        let reference = engines
            .iter()
            .position(|e| e.name() == "duckdb")
            .and_then(|i| measured[i].as_ref().ok())
            .or_else(|| measured.iter().find_map(|m| m.as_ref().ok()))
            .map(|(_, a)| a.clone());
        let cells: Vec<Cell> = measured
            .into_iter()
            .map(|m| match m {
                Err(e) => Cell::Failed(crate_message(&e)),
                Ok((m, a)) if reference.as_ref().is_none_or(|r| agree(r, &a, sql)) => Cell::Ok(m),
                Ok((m, _)) => Cell::Wrong(m),
            })
            .collect();
        outcome.cluster_tasks += cells
            .iter()
            .filter_map(Cell::measure)
            .filter_map(|m| m.executors.as_ref())
            .flatten()
            .map(|w| w.tasks)
            .sum::<u64>();
        let bad = cells.iter().any(|c| !matches!(c, Cell::Ok(_)));
        if bad {
            outcome.failures += 1;
        }
        let line: Vec<String> = engines
            .iter()
            .zip(&cells)
            .map(|(e, c)| match c {
                Cell::Ok(m) => format!("{} {}/{}", e.name(), secs(cold(m)), secs(hot(m))),
                Cell::Wrong(_) => format!("{} WRONG ANSWER", e.name()),
                Cell::Failed(msg) => format!("{} FAILED: {msg}", e.name()),
            })
            .collect();
        eprintln!("{} {name}: {}", suite.name(), line.join(", "));
        table.push((
            name.clone(),
            reference.as_ref().map(|r| r.rows.len()),
            cells,
        ));
    }
    let _ = std::fs::remove_dir_all(&work);
    write_report(args, &tools, &engines, &skipped, &table)?;
    Ok(outcome)
}

/// Flush dirty pages and drop the OS page cache, so that a cold run reads from disk. Needs
/// root (and a /proc/sys that is writable, as on a VM but not in every container).
fn drop_page_cache() -> bool {
    let synced = Command::new("sync").status().is_ok_and(|s| s.success());
    synced && std::fs::write("/proc/sys/vm/drop_caches", "3\n").is_ok()
}

fn crate_message(e: &anyhow::Error) -> String {
    let s = e.to_string();
    s.lines().next().unwrap_or("").chars().take(200).collect()
}

fn write_report(
    args: &RunArgs,
    tools: &Tools,
    engines: &[Engine],
    skipped: &[String],
    table: &[(String, Option<usize>, Vec<Cell>)],
) -> Result<()> {
    let suite = args.suite.name();
    let runs = args.hot_runs + 1;
    std::fs::create_dir_all(&args.results)?;
    let strata = engines.iter().position(|e| e.name() == "strata");
    let peers: Vec<usize> = (0..engines.len()).filter(|&i| Some(i) != strata).collect();
    let mut md = String::new();
    let s3 = args.storage == Storage::S3;
    let storage = if s3 {
        format!(
            "S3 emulator (moto) with {} ms added to every request",
            args.latency_ms
        )
    } else {
        "local disk".to_string()
    };
    writeln!(md, "# {suite} suite, {storage}, scale {}", args.scale)?;
    writeln!(md)?;
    let command: Vec<String> = std::env::args().collect();
    writeln!(
        md,
        "Produced by `{}` on {}.",
        command.join(" "),
        chrono::Utc::now().format("%Y-%m-%d %H:%M UTC")
    )?;
    writeln!(md)?;
    writeln!(md, "Machine: {}.", machine(tools))?;
    if !skipped.is_empty() {
        writeln!(md)?;
        writeln!(md, "Not run (not installed): {}.", skipped.join(", "))?;
    }
    writeln!(md)?;
    writeln!(
        md,
        "Times in seconds: cold (first run in a fresh process, or a freshly started server) / hot (best of the next {}). Ratios are Strata's hot time over the peer's (below 1: Strata is faster). Rows: rows in the reference answer (DuckDB's), which every engine's answer matched unless marked. Peak memory is the engine process's peak RSS; requests and MiB read are Strata's own accounting of its object-store requests in the cold run. {}",
        args.hot_runs,
        if args.drop_caches {
            "The OS page cache was dropped before every cold run."
        } else {
            "The OS page cache was not dropped (run with --drop-caches as root for that)."
        }
    )?;
    if s3 {
        writeln!(md)?;
        writeln!(
            md,
            "Requests at the proxy: HTTP requests the proxy in front of the emulator counted during that engine's {} timed runs (cold and hot together) of the query.",
            args.hot_runs + 1
        )?;
    }
    writeln!(md)?;
    let mut header = String::from("| query | rows |");
    for e in engines {
        write!(header, " {} |", e.name())?;
    }
    for &p in &peers {
        if strata.is_some() {
            write!(header, " strata / {} |", engines[p].name())?;
        }
    }
    header.push_str(" strata requests (cold) | strata MiB read (cold) | strata peak MiB |");
    if s3 {
        for e in engines {
            write!(header, " {} requests at the proxy |", e.name())?;
        }
    }
    writeln!(md, "{header}")?;
    writeln!(md, "|{}", "---|".repeat(header.matches('|').count() - 1))?;
    let mut csv = String::from(
        "suite,storage,query,engine,cold_s,hot_s,peak_rss_mib,requests,bytes_read,emulator_requests,emulator_bytes,rows,status,executor_tasks,executor_cpu_s,executor_written_bytes,process_s\n",
    );
    let mut ratios: Vec<Vec<f64>> = vec![Vec::new(); engines.len()];
    for (query, rows, cells) in table {
        let rows = rows.map(|r| r.to_string()).unwrap_or_else(|| "-".into());
        let mut row = format!("| {query} | {rows} |");
        for (e, c) in engines.iter().zip(cells) {
            let (text, status, m) = match c {
                Cell::Ok(m) => (
                    format!("{} / {}", secs(cold(m)), secs(hot(m))),
                    "ok".to_string(),
                    Some(m),
                ),
                Cell::Wrong(m) => (
                    "**wrong answer**".to_string(),
                    "wrong answer".to_string(),
                    Some(m),
                ),
                Cell::Failed(msg) => (
                    "**failed**".to_string(),
                    format!("failed: {}", msg.replace(',', ";")),
                    None,
                ),
            };
            write!(row, " {text} |")?;
            let opt = |x: Option<u64>| x.map(|r| r.to_string()).unwrap_or_default();
            // Per executor, per run, separated by semicolons (strata-cluster).
            let per_executor = |f: &dyn Fn(&Work) -> String| {
                m.and_then(|m| m.executors.as_ref())
                    .map(|w| w.iter().map(f).collect::<Vec<_>>().join(";"))
                    .unwrap_or_default()
            };
            let per_run = runs as f64;
            writeln!(
                csv,
                "{suite},{},{query},{},{},{},{},{},{},{},{},{rows},{status},{},{},{},{}",
                args.storage.name(),
                e.name(),
                m.and_then(cold)
                    .map(|x| format!("{x:.4}"))
                    .unwrap_or_default(),
                m.and_then(hot)
                    .map(|x| format!("{x:.4}"))
                    .unwrap_or_default(),
                m.and_then(|m| m.peak_rss)
                    .map(|b| format!("{:.1}", b as f64 / 1048576.0))
                    .unwrap_or_default(),
                opt(m.and_then(|m| m.requests)),
                opt(m.and_then(|m| m.bytes)),
                opt(m.and_then(|m| m.traffic).map(|t| t.requests)),
                opt(m.and_then(|m| m.traffic).map(|t| t.bytes)),
                per_executor(&|w| format!("{:.1}", w.tasks as f64 / per_run)),
                per_executor(&|w| format!("{:.3}", w.cpu_s / per_run)),
                per_executor(&|w| format!("{:.0}", w.written as f64 / per_run)),
                m.and_then(|m| m.process)
                    .map(|x| format!("{x:.4}"))
                    .unwrap_or_default(),
            )?;
        }
        let s = strata.and_then(|i| cells[i].measure());
        for &p in &peers {
            if strata.is_none() {
                continue;
            }
            match (s.and_then(hot), cells[p].measure().and_then(hot)) {
                (Some(a), Some(b)) if b > 0.0 => {
                    ratios[p].push(a / b);
                    write!(row, " {:.2} |", a / b)?;
                }
                _ => write!(row, " - |")?,
            }
        }
        let mib = |b: u64| format!("{:.1}", b as f64 / 1048576.0);
        write!(
            row,
            " {} | {} | {} |",
            s.and_then(|m| m.requests)
                .map(|r| r.to_string())
                .unwrap_or("-".into()),
            s.and_then(|m| m.bytes).map(mib).unwrap_or("-".into()),
            s.and_then(|m| m.peak_rss)
                .map(|b| format!("{:.0}", b as f64 / 1048576.0))
                .unwrap_or("-".into())
        )?;
        if s3 {
            for c in cells {
                let t = c.measure().and_then(|m| m.traffic);
                write!(
                    row,
                    " {} |",
                    t.map(|t| t.requests.to_string()).unwrap_or("-".into())
                )?;
            }
        }
        writeln!(md, "{row}")?;
    }
    writeln!(md)?;
    for &p in &peers {
        if let (Some(_), Some(g)) = (strata, geomean(&ratios[p])) {
            writeln!(
                md,
                "Geometric mean of strata / {} (hot, {} queries): **{g:.2}**",
                engines[p].name(),
                ratios[p].len()
            )?;
            writeln!(md)?;
        }
    }
    // Cold runs (a fresh process or server; for strata-disk, a restart with a warm disk tier),
    // each of Strata's ways against each peer.
    for (e, engine) in engines.iter().enumerate() {
        if !engine.name().starts_with("strata") {
            continue;
        }
        for (p, peer) in engines.iter().enumerate() {
            if peer.name().starts_with("strata") {
                continue;
            }
            let cold_ratios: Vec<f64> = table
                .iter()
                .filter_map(|(_, _, cells)| {
                    let a = cells[e].measure().and_then(cold)?;
                    let b = cells[p].measure().and_then(cold)?;
                    (b > 0.0).then_some(a / b)
                })
                .collect();
            if let Some(g) = geomean(&cold_ratios) {
                // datafusion-cli's timed statement follows its untimed table setup: fresh
                // processes are compared whole in their own section.
                let note = if peer.name() == "datafusion-cli" {
                    "; its first statement follows its untimed CREATE EXTERNAL TABLEs, which read every footer: see Whole processes"
                } else {
                    ""
                };
                writeln!(
                    md,
                    "Geometric mean of {} / {} (cold statement, {} queries{note}): **{g:.2}**",
                    engine.name(),
                    peer.name(),
                    cold_ratios.len()
                )?;
                writeln!(md)?;
            }
        }
    }
    write_process_section(&mut md, engines, table, args.drop_caches)?;
    if let Some(shape) = args.cluster() {
        write_cluster_section(&mut md, shape, runs, engines, table)?;
    }
    let cluster = match (args.executors, args.executor_vcores) {
        (0, _) => String::new(),
        (_, None) => "-cluster".to_string(),
        (_, Some(v)) => format!("-cluster-vcores{v}"),
    };
    let base = args
        .results
        .join(format!("{suite}-{}{cluster}", args.storage.name()));
    std::fs::write(base.with_extension("md"), md)?;
    std::fs::write(base.with_extension("csv"), csv)?;
    eprintln!("report: {}.md and .csv", base.display());
    Ok(())
}

/// Whole fresh processes, Strata's against datafusion-cli's: what a script or CI job that runs
/// one query waits for. The cold column above times the statement alone, and datafusion-cli's
/// statement runs after its `CREATE EXTERNAL TABLE` has read every footer and paged in its code.
fn write_process_section(
    md: &mut String,
    engines: &[Engine],
    table: &[(String, Option<usize>, Vec<Cell>)],
    dropped: bool,
) -> Result<()> {
    let position = |name: &str| engines.iter().position(|e| e.name() == name);
    let (Some(s), Some(d)) = (position("strata"), position("datafusion-cli")) else {
        return Ok(());
    };
    let process = |cells: &[Cell], i: usize| cells[i].measure().and_then(|m| m.process);
    if !table
        .iter()
        .any(|(_, _, cells)| process(cells, s).is_some())
    {
        return Ok(());
    }
    writeln!(md, "## Whole processes")?;
    writeln!(md)?;
    writeln!(
        md,
        "Wall seconds of one more fresh process per engine that answers the query once, from its start to its exit: `strata query --catalog … -f <file with the query>` (opening the catalog included), and `datafusion-cli -f` on a file with the `CREATE EXTERNAL TABLE` statements and the query (the table setup included, which reads every file's footer). {}",
        if dropped {
            "The OS page cache was dropped before each."
        } else {
            "The OS page cache was not dropped."
        }
    )?;
    writeln!(md)?;
    writeln!(
        md,
        "| query | strata | datafusion-cli | strata / datafusion-cli |"
    )?;
    writeln!(md, "|---|---|---|---|")?;
    let mut ratios = Vec::new();
    for (query, _, cells) in table {
        let (a, b) = (process(cells, s), process(cells, d));
        let ratio = match (a, b) {
            (Some(a), Some(b)) if b > 0.0 => {
                ratios.push(a / b);
                format!("{:.2}", a / b)
            }
            _ => "-".into(),
        };
        writeln!(md, "| {query} | {} | {} | {ratio} |", secs(a), secs(b))?;
    }
    writeln!(md)?;
    if let Some(g) = geomean(&ratios) {
        writeln!(
            md,
            "Geometric mean of strata / datafusion-cli (whole fresh process{}, {} queries): **{g:.2}**",
            if dropped { ", cold" } else { "" },
            ratios.len()
        )?;
        writeln!(md)?;
    }
    Ok(())
}

/// The cluster against one server, query by query, and what each executor did.
fn write_cluster_section(
    md: &mut String,
    shape: Shape,
    runs: usize,
    engines: &[Engine],
    table: &[(String, Option<usize>, Vec<Cell>)],
) -> Result<()> {
    let Some(c) = engines.iter().position(|e| e.name() == "strata-cluster") else {
        return Ok(());
    };
    let single = engines
        .iter()
        .position(|e| e.name() == "strata-flight")
        .or_else(|| engines.iter().position(|e| e.name() == "strata"));
    let duckdb = engines.iter().position(|e| e.name() == "duckdb");
    let (n, v) = (shape.executors, shape.vcores);
    writeln!(
        md,
        "## Cluster: {n} executors of {v} task slots against one server"
    )?;
    writeln!(md)?;
    writeln!(
        md,
        "strata-cluster is a `strata scheduler`, {n} `strata executor --vcores {v}` and a `strata serve --scheduler … --cluster-min-scan 0` that sends every query reading files to the cluster and plans it for its {} slots (`--cluster-partitions`), all on this machine and started afresh for each query (the cold run is a fresh cluster's). One server is {}, reached the same way (`strata query --server`). (On object storage the server plans at least its scan concurrency in scan partitions, so stages have more tasks than slots.) Per executor, per run (the mean of the query's {runs} timed runs): tasks it ran · CPU seconds of its process · MiB its process wrote (`wchar`: shuffle files, final partitions, spills and its log, and the Flight streams it served). A query whose executors ran no task ran on the server (answered from the catalog, or kept there: see EXPLAIN's cluster row); it is marked and left out of the geometric means. The executors share this machine's cores with each other and with the server, so CPU-bound queries cannot run faster here; latency-bound ones (object storage) can.",
        shape.slots(),
        single.map_or("not run".to_string(), |s| format!(
            "`{}`",
            engines[s].name()
        )),
    )?;
    writeln!(md)?;
    let mut header = String::from(
        "| query | one server | cluster | cluster / one server (cold) | cluster / one server (hot) |",
    );
    for e in 1..=n {
        write!(header, " executor {e} |")?;
    }
    writeln!(md, "{header}")?;
    writeln!(md, "|{}", "---|".repeat(header.matches('|').count() - 1))?;
    let (mut cold_ratios, mut hot_ratios, mut duck_hot) = (Vec::new(), Vec::new(), Vec::new());
    let times = |m: Option<&Measure>| {
        m.map(|m| format!("{} / {}", secs(cold(m)), secs(hot(m))))
            .unwrap_or_else(|| "-".into())
    };
    for (query, _, cells) in table {
        let cm = cells[c].measure();
        let sm = single.and_then(|s| cells[s].measure());
        // No task on any executor: the query ran on the server.
        let here = cm.is_some_and(|m| {
            m.executors
                .as_ref()
                .is_some_and(|w| w.iter().all(|w| w.tasks == 0))
        });
        let mut row = format!(
            "| {query}{} | {} | {} |",
            if here { " (ran on the server)" } else { "" },
            times(sm),
            match &cells[c] {
                Cell::Ok(m) => times(Some(m)),
                Cell::Wrong(_) => "**wrong answer**".into(),
                Cell::Failed(_) => "**failed**".into(),
            }
        );
        for (pick, ratios) in [
            (cold as fn(&Measure) -> Option<f64>, &mut cold_ratios),
            (hot, &mut hot_ratios),
        ] {
            match (cm.and_then(pick), sm.and_then(pick)) {
                (Some(a), Some(b)) if b > 0.0 => {
                    if !here {
                        ratios.push(a / b);
                    }
                    write!(row, " {:.2} |", a / b)?;
                }
                _ => write!(row, " - |")?,
            }
        }
        if !here
            && let (Some(a), Some(b)) = (
                cm.and_then(hot),
                duckdb.and_then(|d| cells[d].measure()).and_then(hot),
            )
            && b > 0.0
        {
            duck_hot.push(a / b);
        }
        let work = cm.and_then(|m| m.executors.clone()).unwrap_or_default();
        for e in 0..n {
            match work.get(e) {
                Some(w) => write!(
                    row,
                    " {:.1} · {:.2} · {:.2} |",
                    w.tasks as f64 / runs as f64,
                    w.cpu_s / runs as f64,
                    w.written as f64 / runs as f64 / 1048576.0
                )?,
                None => write!(row, " - |")?,
            }
        }
        writeln!(md, "{row}")?;
    }
    writeln!(md)?;
    for (what, ratios) in [
        ("cluster / one server (cold)", &cold_ratios),
        ("cluster / one server (hot)", &hot_ratios),
        ("cluster / duckdb (hot)", &duck_hot),
    ] {
        if let Some(g) = geomean(ratios) {
            writeln!(
                md,
                "Geometric mean of {what}, {} queries that ran on the cluster: **{g:.2}**",
                ratios.len()
            )?;
            writeln!(md)?;
        }
    }
    Ok(())
}
