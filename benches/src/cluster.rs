//! The runner's cluster mode (`--executors N`): a loopback cluster of `strata scheduler`,
//! N `strata executor`s and a `strata serve --scheduler` that sends every query reading files
//! there (`--cluster-min-scan 0`), and what each executor did during a measurement.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use anyhow::{Context, Result};

use crate::server::{Server, free_port, wait_listening};

/// How the cluster engine is laid out.
#[derive(Debug, Clone, Copy)]
pub struct Shape {
    pub executors: usize,
    /// Task slots of each executor (`--vcores`).
    pub vcores: usize,
}

impl Shape {
    /// The slots of the whole cluster, which the server plans for (`target_partitions`):
    /// a scan of T file groups is T tasks.
    pub fn slots(&self) -> usize {
        self.executors * self.vcores
    }
}

/// The work one executor did in a measurement.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Work {
    /// Tasks it ran (its `Received task` log lines).
    pub tasks: u64,
    /// CPU seconds of its process.
    pub cpu_s: f64,
    /// Bytes its process wrote (`wchar`: stage outputs — shuffle files and final partitions —
    /// spills and its log, and the Flight streams it serves, which h2 writes with `writev`).
    pub written: u64,
}

impl std::ops::Sub for Work {
    type Output = Work;

    fn sub(self, before: Work) -> Work {
        Work {
            tasks: self.tasks.saturating_sub(before.tasks),
            cpu_s: (self.cpu_s - before.cpu_s).max(0.0),
            written: self.written.saturating_sub(before.written),
        }
    }
}

/// A `strata scheduler` or `strata executor`; killed when dropped.
struct Role {
    child: Child,
    /// Its standard error (for an executor, with one line per task).
    log: PathBuf,
}

impl Drop for Role {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A running loopback cluster and the server in front of it.
pub struct Cluster {
    // Dropped in this order: the server first, then the roles.
    pub server: Server,
    executors: Vec<Role>,
    _scheduler: Role,
}

fn start_role(bin: &Path, env: &[(String, String)], args: &[String], log: PathBuf) -> Result<Role> {
    let stderr =
        std::fs::File::create(&log).with_context(|| format!("cannot create {}", log.display()))?;
    let child = Command::new(bin)
        .envs(env.iter().map(|(k, v)| (k, v)))
        // One log line per task an executor runs.
        .env("STRATA_CLUSTER_LOG", "info")
        .args(args)
        .arg("--exit-with-parent")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(stderr)
        .spawn()
        .with_context(|| format!("cannot start strata {}", args[0]))?;
    Ok(Role { child, log })
}

/// Wait until `role` listens on `port`.
fn role_listening(role: &mut Role, port: u16) -> Result<()> {
    wait_listening(
        &mut role.child,
        port,
        "a cluster role",
        Some(&role.log),
        Duration::from_secs(60),
    )
}

impl Cluster {
    /// Start a scheduler, `shape.executors` executors (work directories under `dir`) and a
    /// server on `catalog` that plans for the cluster's slots. `local_files`: the tables are
    /// on this machine's disk, which every executor shares.
    pub fn start(
        bin: &Path,
        catalog: &str,
        env: &[(String, String)],
        shape: Shape,
        dir: &Path,
        local_files: bool,
    ) -> Result<Cluster> {
        let _ = std::fs::remove_dir_all(dir);
        std::fs::create_dir_all(dir)?;
        let port = free_port()?;
        let mut scheduler = start_role(
            bin,
            env,
            &[
                "scheduler".into(),
                "--listen".into(),
                format!("127.0.0.1:{port}"),
            ],
            dir.join("scheduler.log"),
        )?;
        role_listening(&mut scheduler, port)?;
        let url = format!("http://127.0.0.1:{port}");
        let mut executors = Vec::new();
        for n in 1..=shape.executors {
            let flight = free_port()?;
            let work_dir = dir.join(format!("executor-{n}"));
            let mut role = start_role(
                bin,
                env,
                &[
                    "executor".into(),
                    "--scheduler".into(),
                    url.clone(),
                    "--listen".into(),
                    format!("127.0.0.1:{flight}"),
                    "--work-dir".into(),
                    work_dir.display().to_string(),
                    "--vcores".into(),
                    shape.vcores.to_string(),
                ],
                dir.join(format!("executor-{n}.log")),
            )?;
            role_listening(&mut role, flight)?;
            executors.push(role);
        }
        // An executor registers with its first poll, right after its Flight port opens.
        std::thread::sleep(Duration::from_millis(300));
        // Queries for the cluster are planned for its task slots; those that stay on the
        // server, as one server plans them.
        let slots = shape.slots().to_string();
        let mut serve = vec![
            "--scheduler",
            url.as_str(),
            "--cluster-min-scan",
            "0",
            "--cluster-partitions",
            slots.as_str(),
        ];
        if local_files {
            serve.push("--cluster-local-files");
        }
        let server = Server::start_with(bin, catalog, env, &[], &serve, None)?;
        Ok(Cluster {
            server,
            executors,
            _scheduler: scheduler,
        })
    }

    /// What each executor has done since it started.
    pub fn work(&self) -> Vec<Work> {
        self.executors
            .iter()
            .map(|role| Work {
                tasks: std::fs::read_to_string(&role.log)
                    .map(|log| log.matches("Received task:").count() as u64)
                    .unwrap_or(0),
                cpu_s: cpu_seconds(role.child.id()).unwrap_or(0.0),
                written: bytes_written(role.child.id()).unwrap_or(0),
            })
            .collect()
    }

    /// Whether every executor is still running.
    pub fn executors_alive(&mut self) -> bool {
        self.executors
            .iter_mut()
            .all(|r| matches!(r.child.try_wait(), Ok(None)))
    }
}

/// User plus system CPU seconds of a live process.
fn cpu_seconds(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the parenthesised command name; utime and stime are the 12th and 13th.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    // In USER_HZ, which Linux fixes at 100 for user space.
    Some(ticks as f64 / 100.0)
}

/// Bytes a live process passed to `write`-like system calls, to files and sockets (its
/// intermediate shuffle files are deleted when their job ends, so sizes on disk would miss
/// them).
fn bytes_written(pid: u32) -> Option<u64> {
    let io = std::fs::read_to_string(format!("/proc/{pid}/io")).ok()?;
    io.lines()
        .find_map(|l| l.strip_prefix("wchar:"))
        .and_then(|v| v.trim().parse().ok())
}
