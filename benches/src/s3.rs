//! The S3 storage mode: a moto S3 emulator holding the suite's files, reached by every engine
//! through a TCP proxy that delays each HTTP request by a fixed latency (to model cloud object
//! storage) and counts the requests and the bytes it carries back.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use crate::server::{free_port, wait_listening};

/// The bucket the suites' files are uploaded to; each table is the prefix of its name.
pub const BUCKET: &str = "strata-bench";

/// Requests and bytes that went through the proxy.
#[derive(Debug, Default)]
pub struct Counters {
    requests: AtomicU64,
    bytes_down: AtomicU64,
}

/// A reading of the counters.
#[derive(Debug, Clone, Copy, Default)]
pub struct Traffic {
    pub requests: u64,
    pub bytes: u64,
}

impl Counters {
    pub fn read(&self) -> Traffic {
        Traffic {
            requests: self.requests.load(Ordering::Relaxed),
            bytes: self.bytes_down.load(Ordering::Relaxed),
        }
    }
}

impl std::ops::Sub for Traffic {
    type Output = Traffic;
    fn sub(self, earlier: Traffic) -> Traffic {
        Traffic {
            requests: self.requests - earlier.requests,
            bytes: self.bytes - earlier.bytes,
        }
    }
}

/// A running emulator with the data uploaded, and the latency proxy in front of it.
pub struct Emulator {
    moto: Child,
    /// `http://127.0.0.1:PORT` of the proxy: the endpoint engines use.
    pub endpoint: String,
    pub counters: Arc<Counters>,
}

/// `name` in the `bin/` of `python`'s environment, else on PATH.
fn beside_python(python: &Path, name: &str) -> PathBuf {
    python
        .parent()
        .map(|bin| bin.join(name))
        .filter(|p| p.is_file())
        .unwrap_or_else(|| PathBuf::from(name))
}

impl Emulator {
    /// Start moto, upload every table directory under `data` into [`BUCKET`], and start the
    /// proxy adding `latency` to each request.
    pub fn start(python: &Path, data: &Path, tables: &[&str], latency: Duration) -> Result<Self> {
        let port = free_port()?;
        let moto_bin = beside_python(python, "moto_server");
        let moto = Command::new(&moto_bin)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .with_context(|| {
                format!(
                    "cannot start {} (install it with `pip install \"moto[server]\"`; scripts/test.sh puts it in the test environment)",
                    moto_bin.display()
                )
            })?;
        let mut emulator = Emulator {
            moto,
            endpoint: String::new(),
            counters: Arc::new(Counters::default()),
        };
        let direct = format!("127.0.0.1:{port}");
        wait_listening(
            &mut emulator.moto,
            port,
            "moto_server",
            None,
            Duration::from_secs(30),
        )?;
        let started = Instant::now();
        let upload = Path::new(env!("CARGO_MANIFEST_DIR")).join("peers/s3_upload.py");
        let out = Command::new(python)
            .arg(&upload)
            .arg(format!("http://{direct}"))
            .arg(BUCKET)
            .arg(data)
            .args(tables)
            .output()
            .context("cannot run the upload script")?;
        if !out.status.success() {
            bail!(
                "uploading the data to the emulator failed: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        eprintln!(
            "s3: {} to s3://{BUCKET}/ on moto at {direct} ({:.1}s)",
            String::from_utf8_lossy(&out.stdout).trim(),
            started.elapsed().as_secs_f64()
        );
        let listener = TcpListener::bind("127.0.0.1:0")?;
        emulator.endpoint = format!("http://{}", listener.local_addr()?);
        let counters = emulator.counters.clone();
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                let counters = counters.clone();
                let direct = direct.clone();
                std::thread::spawn(move || {
                    if let Ok(server) = TcpStream::connect(&direct) {
                        relay(client, server, latency, counters);
                    }
                });
            }
        });
        Ok(emulator)
    }

    /// A table's location in the bucket.
    pub fn url(table: &str) -> String {
        format!("s3://{BUCKET}/{table}/")
    }

    /// The environment Strata reads the store's address and credentials from.
    pub fn env(&self) -> Vec<(String, String)> {
        [
            ("AWS_ENDPOINT_URL", self.endpoint.as_str()),
            ("AWS_ACCESS_KEY_ID", "bench"),
            ("AWS_SECRET_ACCESS_KEY", "bench"),
            ("AWS_REGION", "us-east-1"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        let _ = self.moto.kill();
        let _ = self.moto.wait();
    }
}

/// Copy bytes both ways between `client` and `server`. The first bytes the client sends after
/// a response began (or on a new connection) start a request: that request is counted and held
/// back for `latency` before it is forwarded. HTTP/1.1 clients do not pipeline, so this is one
/// delay per request.
fn relay(client: TcpStream, server: TcpStream, latency: Duration, counters: Arc<Counters>) {
    let _ = client.set_nodelay(true);
    let _ = server.set_nodelay(true);
    let new_request = Arc::new(AtomicBool::new(true));
    let (Ok(mut client_in), Ok(mut server_out)) = (client.try_clone(), server.try_clone()) else {
        return;
    };
    let flag = new_request.clone();
    let up_counters = counters.clone();
    let up = std::thread::spawn(move || {
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = match client_in.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            if flag.swap(false, Ordering::AcqRel) {
                up_counters.requests.fetch_add(1, Ordering::Relaxed);
                std::thread::sleep(latency);
            }
            if server_out.write_all(&buf[..n]).is_err() {
                break;
            }
        }
        let _ = server_out.shutdown(Shutdown::Write);
    });
    let (mut server_in, mut client_out) = (server, client);
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = match server_in.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        new_request.store(true, Ordering::Release);
        counters.bytes_down.fetch_add(n as u64, Ordering::Relaxed);
        if client_out.write_all(&buf[..n]).is_err() {
            break;
        }
    }
    let _ = client_out.shutdown(Shutdown::Write);
    let _ = up.join();
}
