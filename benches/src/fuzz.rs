//! `strata-bench fuzz`: a SQLsmith-style fuzzer. It generates a small lake, serves it with a
//! real `strata serve`, and sends it statements drawn from a typed grammar over the lake's
//! real schema (and every function the server lists) for a configurable time. Every crash,
//! panic (an `internal error` the server's panic boundary caught), hang past the time limit
//! and DataFusion internal error is recorded, minimised (tokens removed while the outcome
//! stays the same) and, for crashes, panics and hangs, kept as a regression case under
//! `tests/fuzz/` that the test suite replays. Statements in the comparable subset also run on
//! DuckDB over the same files (differential testing, as SQLancer does); disagreements are
//! reported for triage.

mod grammar;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use arrow::array::{Array, AsArray, RecordBatch};
use arrow::datatypes::DataType;
use base64::Engine as _;
use clap::Args;

use crate::flight::{Client, Failure};
use crate::server::{Server, python_binary, register_tables, run_strata, strata_binary};
use grammar::{Generator, Schema, Table, Ty};

#[derive(Debug, Args, Clone)]
pub struct FuzzArgs {
    /// Seconds to fuzz
    #[arg(long, default_value_t = 60)]
    pub duration: u64,
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// The strata binary [default: release build under $CARGO_TARGET_DIR or ./target]
    #[arg(long)]
    pub strata: Option<PathBuf>,
    /// Python with duckdb and pyarrow, for differential testing [default: .venv/bin/python]
    #[arg(long)]
    pub python: Option<PathBuf>,
    /// Skip differential testing against DuckDB
    #[arg(long)]
    pub no_duckdb: bool,
    /// Where regression cases are written
    #[arg(long, default_value = "tests/fuzz")]
    pub cases: PathBuf,
    /// Where the report goes (`fuzz-<label>.md`)
    #[arg(long, default_value = "benches/results")]
    pub results: PathBuf,
    #[arg(long, default_value = "run")]
    pub label: String,
    /// Replay the regression cases under `--cases` instead of fuzzing: fails if any crashes,
    /// panics or hangs the server
    #[arg(long)]
    pub replay: bool,
    /// A short run for CI: cases and report go to a temporary directory, and any crash, panic
    /// or hang fails the command
    #[arg(long)]
    pub smoke: bool,
}

/// How a statement ended.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Outcome {
    Ok,
    /// A clean error (bad SQL, a limit, a type error …), with its message.
    Error(String),
    /// The server stopped the query at its time limit.
    TimedOut,
    /// DataFusion reported an internal error (a bug, but a clean error for the user).
    Internal(String),
    /// A panic caught by the panic boundary.
    Panic(String),
    /// The request outlived the time limit by far.
    Hang,
    /// The server process died.
    Crash,
}

impl Outcome {
    fn kind(&self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::Error(_) => "error",
            Outcome::TimedOut => "timed out",
            Outcome::Internal(_) => "internal error",
            Outcome::Panic(_) => "panic",
            Outcome::Hang => "hang",
            Outcome::Crash => "crash",
        }
    }

    /// Worth a regression case: the process or the request failed as no user input may make
    /// it fail.
    fn is_defect(&self) -> bool {
        matches!(self, Outcome::Panic(_) | Outcome::Hang | Outcome::Crash)
    }

    fn is_finding(&self) -> bool {
        self.is_defect() || matches!(self, Outcome::Internal(_))
    }
}

/// The first words of a message: what a minimised case must still say.
fn signature(message: &str) -> String {
    message
        .split_whitespace()
        .take(8)
        .collect::<Vec<_>>()
        .join(" ")
        .chars()
        .filter(|c| !c.is_ascii_digit())
        .collect()
}

const QUERY_TIMEOUT_S: u64 = 10;

/// The fuzzing target: a server on the fuzz lake, restarted when it dies.
struct Target {
    bin: PathBuf,
    catalog: String,
    config: String,
    log: PathBuf,
    server: Server,
    client: Client,
    restarts: usize,
}

impl Target {
    async fn start(bin: &Path, catalog: &str, config: &str, log: &Path) -> Result<Target> {
        let server = Server::start(bin, catalog, &[], &["--config", config], Some(log))?;
        let client = Client::connect(&server.url, None).await?;
        Ok(Target {
            bin: bin.to_path_buf(),
            catalog: catalog.into(),
            config: config.into(),
            log: log.to_path_buf(),
            server,
            client,
            restarts: 0,
        })
    }

    async fn restart(&mut self) -> Result<()> {
        self.restarts += 1;
        self.server = Server::start(
            &self.bin,
            &self.catalog,
            &[],
            &["--config", &self.config],
            Some(&self.log),
        )?;
        self.client = Client::connect(&self.server.url, None).await?;
        Ok(())
    }

    /// Run `sql`, classify the outcome, and bring the server back if it died.
    async fn run(&mut self, sql: &str) -> Result<(Outcome, Option<Vec<RecordBatch>>, Duration)> {
        let started = Instant::now();
        let limit = Duration::from_secs(QUERY_TIMEOUT_S + 20);
        let result = tokio::time::timeout(limit, self.client.query(sql)).await;
        let elapsed = started.elapsed();
        let (outcome, batches) = match result {
            Err(_) => (Outcome::Hang, None),
            Ok(Ok(batches)) => (Outcome::Ok, Some(batches)),
            Ok(Err(f)) => (classify(&f), None),
        };
        let outcome = if !self.server.alive() {
            Outcome::Crash
        } else {
            outcome
        };
        if matches!(outcome, Outcome::Crash | Outcome::Hang) {
            if outcome == Outcome::Hang {
                let _ = self.server.child.kill();
            }
            self.restart().await?;
        }
        Ok((outcome, batches, elapsed))
    }
}

fn classify(f: &Failure) -> Outcome {
    let m = &f.message;
    if f.code == tonic::Code::Internal && m.contains("this is a bug in Strata") {
        Outcome::Panic(m.clone())
    } else if f.code == tonic::Code::DeadlineExceeded {
        Outcome::TimedOut
    } else if m.contains("likely caused by a bug in DataFusion") || m.starts_with("Internal error")
    {
        Outcome::Internal(m.clone())
    } else {
        // A broken connection counts as a crash when the process is gone (the caller checks).
        Outcome::Error(m.clone())
    }
}

/// DuckDB over the same files, for differential testing.
struct Oracle {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

impl Oracle {
    fn start(python: &Path, lake: &Path) -> Result<Oracle> {
        let setup = lake.join("duckdb-setup.sql");
        let views: Vec<String> = ["requests", "trips"]
            .iter()
            .map(|t| {
                format!(
                    "CREATE VIEW {t} AS SELECT * FROM read_parquet('{}/{t}/*/*.parquet', hive_partitioning = true);",
                    lake.display()
                )
            })
            .collect();
        std::fs::write(&setup, views.join("\n"))?;
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("peers/duckdb_oracle.py");
        let mut child = Command::new(python)
            .arg(script)
            .arg(&setup)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .with_context(|| format!("cannot start {} for the DuckDB oracle", python.display()))?;
        let stdin = child.stdin.take().context("no stdin")?;
        let stdout = BufReader::new(child.stdout.take().context("no stdout")?);
        Ok(Oracle {
            child,
            stdin,
            stdout,
        })
    }

    fn compare(&mut self, sql: &str, batches: &[RecordBatch]) -> Result<(String, String)> {
        let schema = batches
            .first()
            .map(|b| b.schema())
            .unwrap_or_else(|| std::sync::Arc::new(arrow::datatypes::Schema::empty()));
        let mut ipc = Vec::new();
        {
            let mut w = arrow::ipc::writer::StreamWriter::try_new(&mut ipc, &schema)?;
            for b in batches {
                w.write(b)?;
            }
            w.finish()?;
        }
        let request = serde_json::json!({
            "sql": sql,
            "strata": base64::engine::general_purpose::STANDARD.encode(&ipc),
        });
        writeln!(self.stdin, "{request}")?;
        self.stdin.flush()?;
        let mut line = String::new();
        if self.stdout.read_line(&mut line)? == 0 {
            bail!("the DuckDB oracle exited");
        }
        let answer: serde_json::Value = serde_json::from_str(&line)?;
        Ok((
            answer["verdict"].as_str().unwrap_or("?").to_string(),
            answer["detail"].as_str().unwrap_or("").to_string(),
        ))
    }
}

impl Drop for Oracle {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn make_lake(bin: &Path, dir: &Path) -> Result<(String, String)> {
    std::fs::create_dir_all(dir)?;
    for (table, rows) in [("requests", "4000"), ("trips", "2000")] {
        let out = dir.join(table);
        run_strata(
            bin,
            None,
            &[
                "gen",
                table,
                "--rows",
                rows,
                "--days",
                "3",
                "--files-per-day",
                "1",
                "--seed",
                "7",
                "--out",
                &out.to_string_lossy(),
            ],
        )?;
    }
    let catalog = format!("sqlite:{}", dir.join("fuzz.db").display());
    register_tables(
        bin,
        &catalog,
        &[
            ("requests", &dir.join("requests")),
            ("trips", &dir.join("trips")),
        ],
    )?;
    run_strata(
        bin,
        Some(&catalog),
        &["query", "CREATE TABLE fuzz_writes (n BIGINT, s VARCHAR)"],
    )?;
    let config = dir.join("fuzz.toml");
    std::fs::write(
        &config,
        format!("[server.limits]\nquery_timeout = \"{QUERY_TIMEOUT_S}s\"\nmax_running = 4\n"),
    )?;
    Ok((catalog, config.to_string_lossy().to_string()))
}

async fn schema(client: &mut Client) -> Result<Schema> {
    let columns = client
        .query("SELECT table_name, column_name, data_type FROM information_schema.columns WHERE table_schema = 'main' AND table_name IN ('requests', 'trips') ORDER BY table_name, ordinal_position")
        .await
        .map_err(|e| anyhow::anyhow!("reading the schema: {e}"))?;
    let mut tables: BTreeMap<String, Vec<(String, Ty)>> = BTreeMap::new();
    for b in &columns {
        let text = |i: usize| {
            arrow::compute::cast(b.column(i), &DataType::Utf8).map(|a| a.as_string::<i32>().clone())
        };
        let (t, c, d) = (text(0)?, text(1)?, text(2)?);
        for i in 0..b.num_rows() {
            if let Some(ty) = Ty::from_arrow(d.value(i)) {
                tables
                    .entry(t.value(i).to_string())
                    .or_default()
                    .push((c.value(i).to_string(), ty));
            }
        }
    }
    let functions = client
        .query("SELECT DISTINCT routine_name FROM information_schema.routines ORDER BY 1")
        .await
        .map(|batches| {
            batches
                .iter()
                .flat_map(|b| {
                    let c = b.column(0).as_string::<i32>().clone();
                    (0..c.len())
                        .map(move |i| c.value(i).to_string())
                        .collect::<Vec<_>>()
                })
                .filter(|f| f.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
                .collect()
        })
        .unwrap_or_default();
    Ok(Schema {
        tables: tables
            .into_iter()
            .map(|(name, columns)| Table { name, columns })
            .collect(),
        functions,
    })
}

/// A finding, with its minimised statement.
#[derive(Debug, Clone)]
struct Finding {
    outcome: Outcome,
    sql: String,
    minimised: String,
}

/// SQL split into tokens (quoted strings, identifiers, numbers, punctuation), to minimise.
fn tokens(sql: &str) -> Vec<String> {
    let mut out = Vec::new();
    let chars: Vec<char> = sql.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        let start = i;
        if c == '\'' || c == '"' {
            i += 1;
            while i < chars.len() {
                if chars[i] == c {
                    if i + 1 < chars.len() && chars[i + 1] == c {
                        i += 2;
                        continue;
                    }
                    break;
                }
                i += 1;
            }
            i = (i + 1).min(chars.len());
        } else if c.is_alphanumeric() || c == '_' || c == '.' {
            while i < chars.len()
                && (chars[i].is_alphanumeric() || chars[i] == '_' || chars[i] == '.')
            {
                i += 1;
            }
        } else if "<>=!|:".contains(c) {
            while i < chars.len() && "<>=!|:".contains(chars[i]) {
                i += 1;
            }
        } else {
            i += 1;
        }
        out.push(chars[start..i].iter().collect());
    }
    out
}

/// Remove chunks of tokens while the outcome stays the same (ddmin, bounded).
async fn minimise(target: &mut Target, finding: &Finding) -> Result<String> {
    let same = |o: &Outcome| match (&finding.outcome, o) {
        (Outcome::Panic(a), Outcome::Panic(b)) | (Outcome::Internal(a), Outcome::Internal(b)) => {
            signature(a) == signature(b)
        }
        (Outcome::Hang, Outcome::Hang) | (Outcome::Crash, Outcome::Crash) => true,
        _ => false,
    };
    let mut current = tokens(&finding.sql);
    let mut chunk = (current.len() / 2).max(1);
    let mut attempts = 0;
    while chunk >= 1 && attempts < 300 {
        let mut i = 0;
        let mut reduced = false;
        while i < current.len() && attempts < 300 {
            let mut candidate = current.clone();
            candidate.drain(i..(i + chunk).min(candidate.len()));
            if candidate.is_empty() {
                i += chunk;
                continue;
            }
            attempts += 1;
            let (outcome, _, _) = target.run(&candidate.join(" ")).await?;
            if same(&outcome) {
                current = candidate;
                reduced = true;
            } else {
                i += chunk;
            }
        }
        if !reduced {
            if chunk == 1 {
                break;
            }
            chunk /= 2;
        }
    }
    Ok(current.join(" "))
}

fn file_stem(outcome: &Outcome, sql: &str) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in sql.bytes() {
        h = (h ^ b as u64).wrapping_mul(0x100_0000_01b3);
    }
    format!("{}-{:08x}", outcome.kind().replace(' ', "-"), h as u32)
}

pub fn run(args: FuzzArgs) -> Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(fuzz(args))
}

async fn fuzz(mut args: FuzzArgs) -> Result<()> {
    let scratch = std::env::temp_dir().join(format!("strata-fuzz-smoke-{}", std::process::id()));
    if args.smoke && !args.replay {
        args.cases = scratch.join("cases");
        args.results = scratch.clone();
    }
    let bin = std::path::absolute(strata_binary(args.strata.as_deref()))?;
    if !bin.is_file() {
        bail!(
            "strata binary not found at {}: build it or pass --strata",
            bin.display()
        );
    }
    let dir = std::env::temp_dir().join(format!("strata-fuzz-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let (catalog, config) = make_lake(&bin, &dir)?;
    let log = dir.join("server.log");
    let mut target = Target::start(&bin, &catalog, &config, &log).await?;
    if args.replay {
        let outcome = replay(&mut target, &args.cases).await;
        let _ = std::fs::remove_dir_all(&dir);
        return outcome;
    }
    let schema = schema(&mut target.client).await?;
    let python = python_binary(args.python.as_deref());
    let mut oracle = if args.no_duckdb {
        None
    } else {
        Some(Oracle::start(&python, &dir)?)
    };
    let mut generator = Generator::new(&schema, args.seed);
    let started = Instant::now();
    let deadline = started + Duration::from_secs(args.duration);
    let mut counts: BTreeMap<&'static str, usize> = BTreeMap::new();
    let mut findings: Vec<Finding> = Vec::new();
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    let mut slowest: (Duration, String) = (Duration::ZERO, String::new());
    let mut differential: BTreeMap<String, usize> = BTreeMap::new();
    let mut disagreements: Vec<(String, String)> = Vec::new();
    let mut error_examples: BTreeMap<String, (usize, String)> = BTreeMap::new();
    let mut statements = 0usize;
    while Instant::now() < deadline {
        let drawn = generator.statement();
        statements += 1;
        let (outcome, batches, elapsed) = target.run(&drawn.sql).await?;
        *counts.entry(outcome.kind()).or_default() += 1;
        if elapsed > slowest.0 && outcome != Outcome::TimedOut {
            slowest = (elapsed, drawn.sql.clone());
        }
        if let Outcome::Error(m) = &outcome {
            // The most common errors, to see what the grammar gets wrong.
            let e = error_examples
                .entry(signature(m))
                .or_insert_with(|| (0, drawn.sql.clone()));
            e.0 += 1;
        }
        if outcome.is_finding() {
            let key = match &outcome {
                Outcome::Panic(m) | Outcome::Internal(m) => {
                    format!("{}: {}", outcome.kind(), signature(m))
                }
                other => format!("{}: {}", other.kind(), signature(&drawn.sql)),
            };
            let n = seen.entry(key).or_default();
            *n += 1;
            if *n == 1 {
                eprintln!(
                    "fuzz: {} after {} statements: {}",
                    outcome.kind(),
                    statements,
                    drawn.sql.chars().take(300).collect::<String>()
                );
                findings.push(Finding {
                    outcome: outcome.clone(),
                    sql: drawn.sql.clone(),
                    minimised: String::new(),
                });
            }
        }
        if drawn.comparable
            && let (Outcome::Ok, Some(batches), Some(o)) = (&outcome, &batches, oracle.as_mut())
        {
            let (verdict, detail) = o.compare(&drawn.sql, batches)?;
            *differential.entry(verdict.clone()).or_default() += 1;
            if verdict == "different" && disagreements.len() < 200 {
                disagreements.push((drawn.sql.clone(), detail));
            }
        }
        if statements.is_multiple_of(500) {
            eprintln!(
                "fuzz: {statements} statements in {:.0}s: {counts:?}; differential {differential:?}",
                started.elapsed().as_secs_f64()
            );
        }
    }
    let fuzz_seconds = started.elapsed().as_secs_f64();
    for f in &mut findings {
        f.minimised = minimise(&mut target, f).await?;
    }
    std::fs::create_dir_all(&args.cases)?;
    let mut kept = Vec::new();
    for f in findings.iter().filter(|f| f.outcome.is_defect()) {
        let path = args
            .cases
            .join(format!("{}.sql", file_stem(&f.outcome, &f.minimised)));
        let message = match &f.outcome {
            Outcome::Panic(m) | Outcome::Internal(m) => m.chars().take(200).collect::<String>(),
            _ => String::new(),
        };
        std::fs::write(
            &path,
            format!(
                "-- strata-bench fuzz --seed {}: {} {}\n{}\n",
                args.seed,
                f.outcome.kind(),
                message.replace('\n', " "),
                f.minimised
            ),
        )?;
        kept.push(path);
    }
    let report = render(
        &args,
        statements,
        fuzz_seconds,
        &counts,
        &findings,
        &kept,
        &slowest,
        &differential,
        &disagreements,
        &error_examples,
        target.restarts,
    );
    std::fs::create_dir_all(&args.results)?;
    let path = args.results.join(format!("fuzz-{}.md", args.label));
    std::fs::write(&path, report)?;
    eprintln!(
        "fuzz: {statements} statements in {fuzz_seconds:.0}s, {} findings ({} kept as regression cases); report {}",
        findings.len(),
        kept.len(),
        path.display()
    );
    drop(target);
    drop(oracle);
    let _ = std::fs::remove_dir_all(&dir);
    if args.smoke {
        let _ = std::fs::remove_dir_all(&scratch);
        if !kept.is_empty() {
            bail!(
                "the fuzzer crashed, panicked or hung the server: {}",
                kept.len()
            );
        }
    }
    Ok(())
}

/// Replay every `.sql` case under `cases`: each must end in a result or a clean error, with
/// the server alive.
async fn replay(target: &mut Target, cases: &Path) -> Result<()> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(cases)
        .with_context(|| format!("cannot read {}", cases.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "sql"))
        .collect();
    files.sort();
    let mut failed = Vec::new();
    for path in &files {
        let text = std::fs::read_to_string(path)?;
        let sql: String = text
            .lines()
            .filter(|l| !l.starts_with("--"))
            .collect::<Vec<_>>()
            .join("\n");
        let (outcome, _, elapsed) = target.run(&sql).await?;
        println!(
            "{}: {} ({:.2}s)",
            path.display(),
            outcome.kind(),
            elapsed.as_secs_f64()
        );
        if outcome.is_defect() {
            failed.push(format!("{}: {}", path.display(), outcome.kind()));
        }
    }
    if !failed.is_empty() {
        bail!("regression cases failed:\n{}", failed.join("\n"));
    }
    println!(
        "{} regression cases: none crashed, panicked or hung the server",
        files.len()
    );
    Ok(())
}

#[allow(clippy::too_many_arguments)] // one report, built from one run's tallies
fn render(
    args: &FuzzArgs,
    statements: usize,
    seconds: f64,
    counts: &BTreeMap<&'static str, usize>,
    findings: &[Finding],
    kept: &[PathBuf],
    slowest: &(Duration, String),
    differential: &BTreeMap<String, usize>,
    disagreements: &[(String, String)],
    errors: &BTreeMap<String, (usize, String)>,
    restarts: usize,
) -> String {
    let mut md = String::new();
    md.push_str(&format!("# Fuzz run `{}`\n\n", args.label));
    md.push_str(&format!(
        "Command: `strata-bench fuzz --duration {} --seed {}{}` (release `strata`, a 4,000-row request log and 2,000 trips, server time limit {QUERY_TIMEOUT_S} s).\n\n",
        args.duration,
        args.seed,
        if args.no_duckdb { " --no-duckdb" } else { "" }
    ));
    md.push_str(&format!(
        "Statements: {statements} in {seconds:.0} s ({:.1}/s); server restarts after crashes or hangs: {restarts}.\n\n",
        statements as f64 / seconds.max(1.0)
    ));
    md.push_str("| outcome | statements |\n|---|---|\n");
    for (k, n) in counts {
        md.push_str(&format!("| {k} | {n} |\n"));
    }
    md.push_str(&format!(
        "\nSlowest statement that finished: {:.2} s: `{}`\n\n",
        slowest.0.as_secs_f64(),
        slowest.1.chars().take(400).collect::<String>()
    ));
    md.push_str(&format!("## Findings ({})\n\n", findings.len()));
    if findings.is_empty() {
        md.push_str("No crash, panic, hang or internal error.\n");
    }
    for f in findings {
        let message = match &f.outcome {
            Outcome::Panic(m) | Outcome::Internal(m) => m.chars().take(300).collect::<String>(),
            _ => String::new(),
        };
        md.push_str(&format!(
            "- **{}** {}\n  - minimised: `{}`\n",
            f.outcome.kind(),
            message.replace('\n', " "),
            f.minimised
        ));
    }
    if !kept.is_empty() {
        md.push_str("\nRegression cases written:\n\n");
        for p in kept {
            md.push_str(&format!("- `{}`\n", p.display()));
        }
    }
    let mut common: Vec<_> = errors.iter().collect();
    common.sort_by_key(|(_, (n, _))| std::cmp::Reverse(*n));
    md.push_str(
        "\n## Most common clean errors\n\n| statements | error begins | example |\n|---|---|---|\n",
    );
    for (sig, (n, example)) in common.iter().take(15) {
        md.push_str(&format!(
            "| {n} | {} | `{}` |\n",
            sig.replace('|', "\\|"),
            example
                .chars()
                .take(160)
                .collect::<String>()
                .replace('|', "\\|")
        ));
    }
    md.push_str("\n## Differential testing against DuckDB\n\n");
    if differential.is_empty() {
        md.push_str("Not run.\n");
    } else {
        md.push_str("| verdict | statements |\n|---|---|\n");
        for (k, n) in differential {
            md.push_str(&format!("| {k} | {n} |\n"));
        }
        if !disagreements.is_empty() {
            md.push_str(&format!(
                "\nDisagreements (first {}):\n\n",
                disagreements.len().min(50)
            ));
            for (sql, detail) in disagreements.iter().take(50) {
                md.push_str(&format!(
                    "- `{}`\n  - {}\n",
                    sql.chars().take(500).collect::<String>(),
                    detail
                ));
            }
        }
    }
    md
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_keep_quoted_strings_whole() {
        assert_eq!(
            tokens("SELECT 'a b''c', x.y FROM t WHERE n >= 10"),
            vec![
                "SELECT", "'a b''c'", ",", "x.y", "FROM", "t", "WHERE", "n", ">=", "10"
            ]
        );
    }

    #[test]
    fn signatures_ignore_numbers() {
        assert_eq!(
            signature("index 12 out of bounds: len 3"),
            signature("index 7 out of bounds: len 1")
        );
    }
}
