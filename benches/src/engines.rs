//! The engines a suite runs on, each driven as a separate process over the same files:
//! Strata embedded (`strata query`), Strata through its Flight SQL server (`strata serve`,
//! queried with `strata query --server`), DuckDB (Python package, `read_parquet` with Hive
//! partitioning) and datafusion-cli (`CREATE EXTERNAL TABLE`).

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};

use crate::Suite;

/// One query's measurement on one engine.
#[derive(Debug, Clone, Default)]
pub struct Measure {
    /// Seconds of every run, cold first.
    pub times: Vec<f64>,
    /// Peak resident memory of the engine's process, bytes.
    pub peak_rss: Option<u64>,
    /// Object-store requests of the cold run (Strata only).
    pub requests: Option<u64>,
}

/// Peak resident set size (VmHWM) of a live process.
pub fn peak_rss(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// Run `cmd` to completion, sampling its peak memory; returns stdout, stderr and the peak.
fn run_measured(mut cmd: Command) -> Result<(String, String, Option<u64>)> {
    let program = format!("{cmd:?}");
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("cannot start {program}"))?;
    let pid = child.id();
    let mut stdout = child.stdout.take().expect("piped");
    let mut stderr = child.stderr.take().expect("piped");
    let out = std::thread::spawn(move || {
        let mut s = String::new();
        stdout.read_to_string(&mut s).map(|_| s)
    });
    let err = std::thread::spawn(move || {
        let mut s = String::new();
        stderr.read_to_string(&mut s).map(|_| s)
    });
    let mut peak = None;
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break status;
        }
        // VmHWM only grows: the last reading before exit is the peak, within ~10 ms of work.
        if let Some(p) = peak_rss(pid) {
            peak = Some(p);
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let stdout = out
        .join()
        .map_err(|_| anyhow!("reader thread panicked"))??;
    let stderr = err
        .join()
        .map_err(|_| anyhow!("reader thread panicked"))??;
    if !status.success() {
        let msg = stderr
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("(no message)");
        bail!("{msg} ({status})");
    }
    Ok((stdout, stderr, peak))
}

/// `sql` repeated `runs` times, as one script.
fn repeated(sql: &str, runs: usize) -> String {
    let one = sql.trim().trim_end_matches(';');
    (0..runs).map(|_| format!("{one};\n")).collect()
}

/// Per-statement times (seconds) and the cold run's request count from `--stats json` lines.
fn strata_stats(stderr: &str) -> Result<(Vec<f64>, Option<u64>)> {
    let mut times = Vec::new();
    let mut requests = None;
    for line in stderr.lines().filter(|l| l.starts_with('{')) {
        let v: serde_json::Value = serde_json::from_str(line)?;
        let us = v["elapsed_us"]
            .as_f64()
            .ok_or_else(|| anyhow!("no elapsed_us in {line}"))?;
        times.push(us / 1e6);
        if requests.is_none()
            && let Some(r) = v.get("requests")
        {
            let total: u64 = ["get", "head", "list"]
                .iter()
                .filter_map(|k| r[k].as_u64())
                .sum();
            requests = Some(total);
        }
    }
    Ok((times, requests))
}

/// Run `strata query <target>` on `script` (timed, from `--stats json`) and on `once` (its
/// result to `result`). The peak memory is the server's (`server_pid`) or the CLI's.
fn strata_measure(
    bin: &Path,
    target: &[&str],
    server_pid: Option<u32>,
    script: &Path,
    once: &Path,
    result: &Path,
) -> Result<Measure> {
    let mut cmd = Command::new(bin);
    cmd.arg("query")
        .args(target)
        .args([
            "--format",
            "csv",
            "--output",
            "/dev/null",
            "--stats",
            "json",
            "-f",
        ])
        .arg(script);
    let (_, stderr, peak) = run_measured(cmd)?;
    let (times, requests) = strata_stats(&stderr)?;
    let mut cmd = Command::new(bin);
    cmd.arg("query")
        .args(target)
        .args(["--format", "parquet", "--output"])
        .arg(result)
        .arg("-f")
        .arg(once);
    run_measured(cmd)?;
    Ok(Measure {
        times,
        peak_rss: match server_pid {
            Some(pid) => peak_rss(pid),
            None => peak,
        },
        // Remote statements report no request counts.
        requests: requests.filter(|_| server_pid.is_none()),
    })
}

/// An engine ready to run a suite's queries.
pub enum Engine {
    Strata {
        bin: PathBuf,
        catalog: String,
    },
    StrataFlight {
        bin: PathBuf,
        catalog: String,
    },
    DuckDb {
        python: PathBuf,
        peer: PathBuf,
        setup: PathBuf,
    },
    DataFusionCli {
        bin: PathBuf,
        setup: String,
        /// Statements in `setup`.
        statements: usize,
    },
}

impl Engine {
    pub fn name(&self) -> &'static str {
        match self {
            Engine::Strata { .. } => "strata",
            Engine::StrataFlight { .. } => "strata-flight",
            Engine::DuckDb { .. } => "duckdb",
            Engine::DataFusionCli { .. } => "datafusion-cli",
        }
    }

    /// Set `name` up for `suite` over `data` (absolute); `None` when it is not installed.
    pub fn prepare(
        name: &str,
        suite: Suite,
        data: &Path,
        work: &Path,
        tools: &Tools,
    ) -> Result<Option<Engine>> {
        let tables = suite.tables();
        match name {
            "strata" | "strata-flight" => {
                let catalog = format!("sqlite:{}", work.join("strata.db").display());
                if name == "strata" {
                    let _ = std::fs::remove_file(work.join("strata.db"));
                    for table in tables {
                        let mut cmd = Command::new(&tools.strata);
                        cmd.args(["--catalog", &catalog, "table", "register", table, "--location"])
                            .arg(data.join(table));
                        run_measured(cmd)
                            .with_context(|| format!("registering {table} in Strata"))?;
                    }
                }
                Ok(Some(if name == "strata" {
                    Engine::Strata {
                        bin: tools.strata.clone(),
                        catalog,
                    }
                } else {
                    Engine::StrataFlight {
                        bin: tools.strata.clone(),
                        catalog,
                    }
                }))
            }
            "duckdb" => {
                let setup = work.join("duckdb-setup.sql");
                let hive = suite.partition_key().is_some();
                let sql: String = tables
                    .iter()
                    .map(|t| {
                        format!(
                            "CREATE VIEW {t} AS SELECT * FROM read_parquet('{}/**/*.parquet', hive_partitioning = {hive});\n",
                            data.join(t).display()
                        )
                    })
                    .collect();
                std::fs::write(&setup, sql)?;
                Ok(Some(Engine::DuckDb {
                    python: tools.python.clone(),
                    peer: tools.duckdb_peer.clone(),
                    setup,
                }))
            }
            "datafusion-cli" => Ok(tools.datafusion_cli.clone().map(|bin| Engine::DataFusionCli {
                bin,
                statements: tables.len(),
                setup: tables
                    .iter()
                    .map(|t| {
                        let partitioned = suite
                            .partition_key()
                            .map(|k| format!("PARTITIONED BY ({k}) "))
                            .unwrap_or_default();
                        format!(
                            "CREATE EXTERNAL TABLE {t} STORED AS PARQUET {partitioned}LOCATION '{}/';\n",
                            data.join(t).display()
                        )
                    })
                    .collect(),
            })),
            other => bail!("unknown engine '{other}': use strata, strata-flight, duckdb or datafusion-cli"),
        }
    }

    /// Run `sql` `runs` times in a fresh process (a freshly started server for
    /// strata-flight) and write its result to `result` (Parquet).
    pub fn measure(&self, sql: &str, runs: usize, work: &Path, result: &Path) -> Result<Measure> {
        let script = work.join("query.sql");
        std::fs::write(&script, repeated(sql, runs))?;
        let once = work.join("once.sql");
        std::fs::write(&once, repeated(sql, 1))?;
        match self {
            Engine::Strata { bin, catalog } => {
                strata_measure(bin, &["--catalog", catalog], None, &script, &once, result)
            }
            Engine::StrataFlight { bin, catalog } => {
                let server = Server::start(bin, catalog)?;
                strata_measure(
                    bin,
                    &["--server", &server.url],
                    Some(server.child.id()),
                    &script,
                    &once,
                    result,
                )
            }
            Engine::DuckDb {
                python,
                peer,
                setup,
            } => {
                let mut cmd = Command::new(python);
                cmd.arg(peer)
                    .arg(setup)
                    .arg(&once)
                    .arg(runs.to_string())
                    .arg(result);
                let (stdout, _, peak) = run_measured(cmd)?;
                let v: serde_json::Value = serde_json::from_str(stdout.trim())
                    .with_context(|| format!("unexpected DuckDB peer output: {stdout}"))?;
                let times = v["times"]
                    .as_array()
                    .ok_or_else(|| anyhow!("no times in DuckDB peer output"))?
                    .iter()
                    .filter_map(|t| t.as_f64())
                    .collect();
                Ok(Measure {
                    times,
                    peak_rss: peak,
                    requests: None,
                })
            }
            Engine::DataFusionCli {
                bin,
                setup,
                statements,
            } => {
                let timed = work.join("datafusion.sql");
                std::fs::write(&timed, format!("{setup}{}", repeated(sql, runs)))?;
                let mut cmd = Command::new(bin);
                cmd.args(["--format", "csv", "-f"]).arg(&timed);
                let (stdout, _, peak) = run_measured(cmd)?;
                // "N row(s) fetched. Elapsed 0.012 seconds." after each statement, the
                // setup's first.
                let times: Vec<f64> = stdout
                    .lines()
                    .filter_map(|l| l.split("Elapsed ").nth(1))
                    .filter_map(|t| t.trim_end_matches(" seconds.").trim().parse().ok())
                    .skip(*statements)
                    .collect();
                let copy = work.join("datafusion-copy.sql");
                std::fs::write(
                    &copy,
                    format!(
                        "{setup}COPY ({}) TO '{}' STORED AS PARQUET;\n",
                        sql.trim().trim_end_matches(';'),
                        result.display()
                    ),
                )?;
                let mut cmd = Command::new(bin);
                cmd.args(["-q", "-f"]).arg(&copy);
                run_measured(cmd)?;
                Ok(Measure {
                    times,
                    peak_rss: peak,
                    requests: None,
                })
            }
        }
    }
}

/// Programs the engines need.
#[derive(Debug, Clone)]
pub struct Tools {
    pub strata: PathBuf,
    pub python: PathBuf,
    pub duckdb_peer: PathBuf,
    pub datafusion_cli: Option<PathBuf>,
}

/// A `strata serve` process on a free loopback port.
struct Server {
    child: Child,
    url: String,
}

impl Server {
    fn start(bin: &Path, catalog: &str) -> Result<Server> {
        let mut child = Command::new(bin)
            .args([
                "--catalog",
                catalog,
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--retention-every",
                "off",
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .context("cannot start strata serve")?;
        let mut stdout = child.stdout.take().expect("piped");
        let mut line = Vec::new();
        let mut byte = [0u8; 1];
        while stdout.read(&mut byte)? == 1 && byte[0] != b'\n' {
            line.push(byte[0]);
        }
        let line = String::from_utf8_lossy(&line).to_string();
        let url = line
            .split_whitespace()
            .find(|w| w.starts_with("grpc://"))
            .map(str::to_string);
        // Keep draining its stdout so the server never blocks on a full pipe.
        std::thread::spawn(move || std::io::copy(&mut stdout, &mut std::io::sink()));
        match url {
            Some(url) => Ok(Server { child, url }),
            None => {
                let _ = child.kill();
                bail!("strata serve did not start: {line}")
            }
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
