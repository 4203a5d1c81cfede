//! The engines a suite runs on, each driven as a separate process over the same files:
//! Strata embedded (`strata query`), Strata through its Flight SQL server (`strata serve`,
//! queried with `strata query --server`), Strata on a loopback cluster (`--executors`), DuckDB (Python package, `read_parquet` with Hive
//! partitioning) and datafusion-cli (`CREATE EXTERNAL TABLE`).

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};

use crate::Suite;
use crate::cluster::{Cluster, Shape, Work};
use crate::s3::{Counters, Emulator, Traffic};
use crate::server::Server;

/// One query's measurement on one engine.
#[derive(Debug, Clone, Default)]
pub struct Measure {
    /// Seconds of every run, cold first.
    pub times: Vec<f64>,
    /// Peak resident memory of the engine's process, bytes.
    pub peak_rss: Option<u64>,
    /// Object-store requests of the cold run (Strata only).
    pub requests: Option<u64>,
    /// Bytes Strata read from the store in the cold run.
    pub bytes: Option<u64>,
    /// Requests and bytes the S3 emulator's proxy carried during the timed runs (S3 mode).
    pub traffic: Option<Traffic>,
    /// What each executor did during the timed runs (strata-cluster).
    pub executors: Option<Vec<Work>>,
    /// Seconds of a further fresh process that answered the query once, from its start to
    /// its exit (strata and datafusion-cli: all a script or CI job waits for, table setup and
    /// start-up included).
    pub process: Option<f64>,
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

/// Wall seconds of `cmd` from its start to its exit (its output thrown away); an error if it
/// fails, or (`quiet`) if it writes anything to standard error.
fn wall_time(mut cmd: Command, quiet: bool) -> Result<f64> {
    let program = format!("{cmd:?}");
    let started = std::time::Instant::now();
    let out = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .with_context(|| format!("cannot start {program}"))?;
    let secs = started.elapsed().as_secs_f64();
    let stderr = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() || (quiet && !stderr.trim().is_empty()) {
        let msg = stderr.lines().rev().find(|l| !l.trim().is_empty());
        bail!("{} ({})", msg.unwrap_or("(no message)"), out.status);
    }
    Ok(secs)
}

/// `sql` repeated `runs` times, as one script.
fn repeated(sql: &str, runs: usize) -> String {
    let one = sql.trim().trim_end_matches(';');
    (0..runs).map(|_| format!("{one};\n")).collect()
}

/// Per-statement times (seconds), and the cold run's request count and bytes read, from
/// `--stats json` lines.
fn strata_stats(stderr: &str) -> Result<(Vec<f64>, Option<u64>, Option<u64>)> {
    let mut times = Vec::new();
    let mut requests = None;
    let mut bytes = None;
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
            bytes = v["bytes_read"].as_u64();
        }
    }
    Ok((times, requests, bytes))
}

/// `strata` with the storage environment.
fn strata_command(bin: &Path, env: &[(String, String)]) -> Command {
    let mut cmd = Command::new(bin);
    cmd.envs(env.iter().map(|(k, v)| (k, v)));
    cmd
}

/// Run `strata query <target>` on `script` (timed, from `--stats json`). The peak memory is
/// the server's (`server_pid`) or the CLI's.
fn strata_timed(
    bin: &Path,
    env: &[(String, String)],
    target: &[&str],
    server_pid: Option<u32>,
    script: &Path,
) -> Result<Measure> {
    let mut cmd = strata_command(bin, env);
    cmd.arg("query")
        .args(target)
        .args([
            "--format",
            "csv",
            "--output",
            "/dev/null",
            "--stats",
            "json",
            // Hot runs repeat the query: they measure the engine, not the result cache.
            "--no-result-cache",
            "-f",
        ])
        .arg(script);
    let (_, stderr, peak) = run_measured(cmd)?;
    let (times, requests, bytes) = strata_stats(&stderr)?;
    Ok(Measure {
        times,
        peak_rss: match server_pid {
            Some(pid) => peak_rss(pid),
            None => peak,
        },
        // Remote statements report no request counts.
        requests: requests.filter(|_| server_pid.is_none()),
        bytes: bytes.filter(|_| server_pid.is_none()),
        traffic: None,
        executors: None,
        process: None,
    })
}

/// Run `strata query <target>` on `once`, its result to `result`.
fn strata_answer(
    bin: &Path,
    env: &[(String, String)],
    target: &[&str],
    once: &Path,
    result: &Path,
) -> Result<()> {
    let mut cmd = strata_command(bin, env);
    cmd.arg("query")
        .args(target)
        .args(["--format", "parquet", "--output"])
        .arg(result)
        .arg("-f")
        .arg(once);
    run_measured(cmd)?;
    Ok(())
}

/// An engine ready to run a suite's queries.
pub enum Engine {
    Strata {
        bin: PathBuf,
        catalog: String,
        env: Vec<(String, String)>,
    },
    StrataFlight {
        bin: PathBuf,
        catalog: String,
        env: Vec<(String, String)>,
    },
    /// Strata with the data cache's disk tier (`cache.disk_path`), warmed by one untimed run
    /// in another process before each measurement: its cold run is a restart with a warm disk
    /// tier.
    StrataDisk {
        bin: PathBuf,
        catalog: String,
        env: Vec<(String, String)>,
    },
    /// `strata serve --scheduler` in front of a loopback cluster, started afresh for each
    /// query (its cold run is a fresh cluster's).
    StrataCluster {
        bin: PathBuf,
        catalog: String,
        env: Vec<(String, String)>,
        shape: Shape,
        /// The tables are on local disk (shared by the executors on this machine).
        local_files: bool,
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
            Engine::StrataDisk { .. } => "strata-disk",
            Engine::StrataCluster { .. } => "strata-cluster",
            Engine::DuckDb { .. } => "duckdb",
            Engine::DataFusionCli { .. } => "datafusion-cli",
        }
    }

    /// Set `name` up for `suite` over `data` (absolute), or over the emulator's copy of it
    /// when `store` is given; `None` when it is not installed. `cluster`: the layout of
    /// strata-cluster.
    pub fn prepare(
        name: &str,
        suite: Suite,
        data: &Path,
        store: Option<&Emulator>,
        work: &Path,
        tools: &Tools,
        cluster: Option<Shape>,
    ) -> Result<Option<Engine>> {
        let tables = suite.tables();
        let location = |t: &str| match store {
            Some(_) => Emulator::url(t),
            None => format!("{}/", data.join(t).display()),
        };
        let env = store.map(Emulator::env).unwrap_or_default();
        match name {
            "strata" | "strata-flight" | "strata-disk" | "strata-cluster" => {
                // strata-disk's catalog is its own; the others share one, registered once.
                let file = if name == "strata-disk" { "strata-disk.db" } else { "strata.db" };
                let catalog = format!("sqlite:{}", work.join(file).display());
                if name == "strata-disk" || !work.join(file).exists() {
                    let _ = std::fs::remove_file(work.join(file));
                    for table in tables {
                        let mut cmd = strata_command(&tools.strata, &env);
                        cmd.args(["--catalog", &catalog, "table", "register", table, "--location"])
                            .arg(location(table));
                        run_measured(cmd)
                            .with_context(|| format!("registering {table} in Strata"))?;
                    }
                }
                Ok(Some(if name == "strata" {
                    Engine::Strata {
                        bin: tools.strata.clone(),
                        catalog,
                        env,
                    }
                } else if name == "strata-cluster" {
                    let Some(shape) = cluster else {
                        bail!("strata-cluster: give the cluster's size with --executors N");
                    };
                    Engine::StrataCluster {
                        bin: tools.strata.clone(),
                        catalog,
                        env,
                        shape,
                        local_files: store.is_none(),
                    }
                } else if name == "strata-disk" {
                    let disk = work.join("disk-tier");
                    let _ = std::fs::remove_dir_all(&disk);
                    let mut env = env;
                    env.push((
                        "STRATA_CACHE_DISK_PATH".into(),
                        disk.display().to_string(),
                    ));
                    Engine::StrataDisk {
                        bin: tools.strata.clone(),
                        catalog,
                        env,
                    }
                } else {
                    Engine::StrataFlight {
                        bin: tools.strata.clone(),
                        catalog,
                        env,
                    }
                }))
            }
            "duckdb" => {
                let setup = work.join("duckdb-setup.sql");
                let hive = suite.partition_key().is_some();
                // The peer loads the httpfs extension when the set-up names s3:// URLs.
                let mut sql = store
                    .map(|s| {
                        format!(
                            "CREATE SECRET bench (TYPE s3, KEY_ID 'bench', SECRET 'bench', REGION 'us-east-1', ENDPOINT '{}', URL_STYLE 'path', USE_SSL false);\n",
                            s.endpoint.trim_start_matches("http://")
                        )
                    })
                    .unwrap_or_default();
                for t in tables {
                    sql.push_str(&format!(
                        "CREATE VIEW {t} AS SELECT * FROM read_parquet('{}**/*.parquet', hive_partitioning = {hive});\n",
                        location(t)
                    ));
                }
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
                        let options = store
                            .map(|s| {
                                format!(
                                    " OPTIONS ('aws.endpoint' '{}', 'aws.allow_http' 'true', 'aws.access_key_id' 'bench', 'aws.secret_access_key' 'bench', 'aws.region' 'us-east-1')",
                                    s.endpoint
                                )
                            })
                            .unwrap_or_default();
                        format!(
                            "CREATE EXTERNAL TABLE {t} STORED AS PARQUET {partitioned}LOCATION '{}'{options};\n",
                            location(t)
                        )
                    })
                    .collect(),
            })),
            other => bail!(
                "unknown engine '{other}': use strata, strata-flight, strata-disk, strata-cluster, duckdb or datafusion-cli"
            ),
        }
    }

    /// Whether [`Self::process_time`] times this engine: those whose one process does the
    /// whole job (strata embedded, datafusion-cli with its `CREATE EXTERNAL TABLE`s), not a
    /// server, a cluster or DuckDB's Python peer.
    pub fn times_processes(&self) -> bool {
        matches!(self, Engine::Strata { .. } | Engine::DataFusionCli { .. })
    }

    /// Time one more fresh process that answers `sql` once, start to exit (see
    /// [`Self::times_processes`]).
    pub fn process_time(&self, sql: &str, work: &Path) -> Result<f64> {
        let once = work.join("process.sql");
        match self {
            Engine::Strata { bin, catalog, env } => {
                std::fs::write(&once, repeated(sql, 1))?;
                let mut cmd = strata_command(bin, env);
                cmd.args(["--catalog", catalog, "query", "--format", "csv"])
                    .args(["--output", "/dev/null", "--no-result-cache", "-f"])
                    .arg(&once);
                wall_time(cmd, false)
            }
            Engine::DataFusionCli { bin, setup, .. } => {
                std::fs::write(&once, format!("{setup}{}", repeated(sql, 1)))?;
                let mut cmd = Command::new(bin);
                cmd.args(["--format", "csv", "-q", "-f"]).arg(&once);
                // It prints a failed statement's error (only that, with -q) and exits 0.
                wall_time(cmd, true)
            }
            other => bail!("{} is not timed as a whole process", other.name()),
        }
    }

    /// Run `sql` `runs` times in a fresh process (a freshly started server for
    /// strata-flight, a fresh cluster for strata-cluster) and write its result to `result`
    /// (Parquet). With `counters`, the emulator traffic of the timed runs is recorded.
    pub fn measure(
        &self,
        sql: &str,
        runs: usize,
        work: &Path,
        result: &Path,
        counters: Option<&Counters>,
    ) -> Result<Measure> {
        let script = work.join("query.sql");
        std::fs::write(&script, repeated(sql, runs))?;
        let once = work.join("once.sql");
        std::fs::write(&once, repeated(sql, 1))?;
        let server = match self {
            Engine::StrataFlight { bin, catalog, env } => {
                Some(Server::start(bin, catalog, env, &[], None)?)
            }
            _ => None,
        };
        let mut cluster = match self {
            Engine::StrataCluster {
                bin,
                catalog,
                env,
                shape,
                local_files,
            } => Some(Cluster::start(
                bin,
                catalog,
                env,
                *shape,
                &work.join("cluster"),
                *local_files,
            )?),
            _ => None,
        };
        let work_before = cluster.as_ref().map(Cluster::work);
        if let Engine::StrataDisk { bin, catalog, env } = self {
            // Fill the disk tier from another process; its traffic is not counted.
            strata_timed(bin, env, &["--catalog", catalog], None, &once)
                .context("warming Strata's disk tier")?;
        }
        let before = counters.map(Counters::read);
        let paths = Paths {
            work,
            script: &script,
            once: &once,
            result,
        };
        let mut measure = self.timed(
            sql,
            runs,
            &paths,
            server.as_ref().or(cluster.as_ref().map(|c| &c.server)),
        )?;
        if let (Some(c), Some(before)) = (counters, before) {
            measure.traffic = Some(c.read() - before);
        }
        if let (Some(c), Some(before)) = (cluster.as_mut(), work_before) {
            if !c.executors_alive() {
                bail!(
                    "an executor exited during the query (logs under {})",
                    work.join("cluster").display()
                );
            }
            let after = c.work();
            measure.executors = Some(after.into_iter().zip(before).map(|(a, b)| a - b).collect());
        }
        self.answer(
            sql,
            &paths,
            server.as_ref().or(cluster.as_ref().map(|c| &c.server)),
        )?;
        Ok(measure)
    }

    /// The timed runs of `sql` (`runs` times). DuckDB's peer also writes its answer then.
    fn timed(
        &self,
        sql: &str,
        runs: usize,
        paths: &Paths,
        server: Option<&Server>,
    ) -> Result<Measure> {
        let script = paths.script;
        match self {
            Engine::Strata { bin, catalog, env } | Engine::StrataDisk { bin, catalog, env } => {
                strata_timed(bin, env, &["--catalog", catalog], None, script)
            }
            Engine::StrataFlight { bin, env, .. } | Engine::StrataCluster { bin, env, .. } => {
                let server = server.expect("started by measure");
                strata_timed(
                    bin,
                    env,
                    &["--server", &server.url],
                    Some(server.child.id()),
                    script,
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
                    .arg(paths.once)
                    .arg(runs.to_string())
                    .arg(paths.result);
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
                    ..Measure::default()
                })
            }
            Engine::DataFusionCli {
                bin,
                setup,
                statements,
            } => {
                let timed = paths.work.join("datafusion.sql");
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
                Ok(Measure {
                    times,
                    peak_rss: peak,
                    ..Measure::default()
                })
            }
        }
    }

    /// Run the query once more and write its answer to `paths.result`.
    fn answer(&self, sql: &str, paths: &Paths, server: Option<&Server>) -> Result<()> {
        let (once, result) = (paths.once, paths.result);
        match self {
            Engine::Strata { bin, catalog, env } | Engine::StrataDisk { bin, catalog, env } => {
                strata_answer(bin, env, &["--catalog", catalog], once, result)
            }
            Engine::StrataFlight { bin, env, .. } | Engine::StrataCluster { bin, env, .. } => {
                let server = server.expect("started by measure");
                strata_answer(bin, env, &["--server", &server.url], once, result)
            }
            // Written by the timed runs' process.
            Engine::DuckDb { .. } => Ok(()),
            Engine::DataFusionCli { bin, setup, .. } => {
                let copy = paths.work.join("datafusion-copy.sql");
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
                run_measured(cmd).map(|_| ())
            }
        }
    }
}

/// Files of one measurement.
struct Paths<'a> {
    work: &'a Path,
    /// The query `runs` times.
    script: &'a Path,
    /// The query once.
    once: &'a Path,
    /// Where the answer goes (Parquet).
    result: &'a Path,
}

/// Programs the engines need.
#[derive(Debug, Clone)]
pub struct Tools {
    pub strata: PathBuf,
    pub python: PathBuf,
    pub duckdb_peer: PathBuf,
    pub datafusion_cli: Option<PathBuf>,
}
