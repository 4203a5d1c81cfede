//! A `strata serve` process on a free loopback port, for the benchmark engines, the load
//! driver and the fuzzer.

use std::io::Read;
use std::path::Path;
use std::process::{Child, Command, Stdio};

use anyhow::{Context, Result, bail};

/// A running `strata serve`; killed when dropped.
pub struct Server {
    pub child: Child,
    pub url: String,
}

impl Server {
    /// Start `bin serve` on `catalog` with `env` and extra arguments (`--config …` goes in
    /// `global`, before the subcommand). Its stderr (the query log) goes to `log` or nowhere.
    pub fn start(
        bin: &Path,
        catalog: &str,
        env: &[(String, String)],
        global: &[&str],
        log: Option<&Path>,
    ) -> Result<Server> {
        Server::start_with(bin, catalog, env, global, &[], log)
    }

    /// [`Server::start`] with more `serve` arguments (`serve` after the others).
    pub fn start_with(
        bin: &Path,
        catalog: &str,
        env: &[(String, String)],
        global: &[&str],
        serve: &[&str],
        log: Option<&Path>,
    ) -> Result<Server> {
        let stderr = match log {
            Some(path) => Stdio::from(
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path)
                    .with_context(|| format!("cannot open {}", path.display()))?,
            ),
            None => Stdio::null(),
        };
        let mut child = Command::new(bin)
            .envs(env.iter().map(|(k, v)| (k, v)))
            .args(["--catalog", catalog])
            .args(global)
            .args([
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--retention-every",
                "off",
                "--exit-with-parent",
            ])
            .args(serve)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .context("cannot start strata serve")?;
        let mut stdout = child.stdout.take().context("no stdout")?;
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
                let _ = child.wait();
                bail!("strata serve did not start: {line}")
            }
        }
    }

    /// Whether the process is still running.
    pub fn alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A free loopback port (closed again at once: another process may take it first, which the
/// process given it then reports as an error).
pub fn free_port() -> Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

/// Wait until `port` on loopback accepts connections (`Ok`), `child` exits, or `timeout`
/// passes (errors naming `what`; `log` is its standard error, quoted when it exits).
pub fn wait_listening(
    child: &mut Child,
    port: u16,
    what: &str,
    log: Option<&Path>,
    timeout: std::time::Duration,
) -> Result<()> {
    use std::time::{Duration, Instant};
    let address = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if let Some(status) = child.try_wait()? {
            let log = log
                .and_then(|l| std::fs::read_to_string(l).ok())
                .unwrap_or_default();
            bail!("{what} exited at start ({status}) {}", log.trim());
        }
        if std::net::TcpStream::connect_timeout(&address, Duration::from_millis(200)).is_ok() {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    bail!("{what} did not listen on 127.0.0.1:{port} within {timeout:?}")
}

/// The `strata` binary to test: `--strata`, else `$CARGO_TARGET_DIR/release/strata` (or
/// `target/release/strata`).
pub fn strata_binary(given: Option<&Path>) -> std::path::PathBuf {
    given.map(Path::to_path_buf).unwrap_or_else(|| {
        std::env::var_os("CARGO_TARGET_DIR")
            .map(std::path::PathBuf::from)
            .unwrap_or_else(|| std::path::PathBuf::from("target"))
            .join("release")
            .join("strata")
    })
}

/// The Python with DuckDB: `--python`, else `.venv/bin/python` when present, else `python3`.
pub fn python_binary(given: Option<&Path>) -> std::path::PathBuf {
    given.map(Path::to_path_buf).unwrap_or_else(|| {
        let venv = std::path::PathBuf::from(".venv/bin/python");
        if venv.is_file() {
            venv
        } else {
            std::path::PathBuf::from("python3")
        }
    })
}

/// Run one `strata` CLI command (on `catalog` when given); its stderr is the error.
pub fn run_strata(bin: &Path, catalog: Option<&str>, args: &[&str]) -> Result<()> {
    let mut cmd = Command::new(bin);
    if let Some(c) = catalog {
        cmd.args(["--catalog", c]);
    }
    let out = cmd
        .args(args)
        .output()
        .with_context(|| format!("cannot run {}", bin.display()))?;
    if !out.status.success() {
        bail!(
            "strata {} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(())
}

/// Register each `(table, location)` on `catalog` with `strata table register`.
pub fn register_tables(bin: &Path, catalog: &str, tables: &[(&str, &Path)]) -> Result<()> {
    for (table, location) in tables {
        run_strata(
            bin,
            Some(catalog),
            &[
                "table",
                "register",
                table,
                "--location",
                &location.to_string_lossy(),
            ],
        )?;
    }
    Ok(())
}
