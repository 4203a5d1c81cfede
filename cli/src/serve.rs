//! `strata serve`, `strata user add`, `strata token create`.

use std::io::{BufRead, Write};
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use strata_engine::Engine;
use strata_flight::ServerConfig;

use crate::args::{ServeArgs, TokenCommand, UserCommand};

/// Resolves on Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => {
                    let _ = ctrl_c.await;
                    return;
                }
            };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
    eprintln!("strata: shutting down: no new queries; running queries get the grace period");
}

/// Resolves when this process's parent changes (it ended and the process was re-parented).
async fn parent_gone() {
    #[cfg(unix)]
    {
        let parent = std::os::unix::process::parent_id();
        let mut ticks = tokio::time::interval(std::time::Duration::from_secs(1));
        loop {
            ticks.tick().await;
            if std::os::unix::process::parent_id() != parent {
                return;
            }
        }
    }
    #[cfg(not(unix))]
    std::future::pending::<()>().await
}

/// Apply table retention now and then every `every`, logging what it removed.
async fn retention_loop(engine: Arc<Engine>, every: std::time::Duration) {
    let mut ticks = tokio::time::interval(every);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        match engine.lake().apply_all_retention().await {
            Ok(reports) => {
                for r in reports.iter().filter(|r| r.files > 0) {
                    eprintln!(
                        "strata: retention: {}",
                        strata_engine::retention_line(r, "lost")
                    );
                }
            }
            Err(e) => eprintln!(
                "strata: retention failed: {}",
                crate::one_line(&e.to_string())
            ),
        }
    }
}

/// Run a cluster role (`strata scheduler`, `strata executor`) until it stops (Ballista's
/// executor handles SIGTERM itself: it tells the scheduler and lets its tasks finish), or
/// (with `exit_with_parent`) the parent process ends.
pub async fn cluster_role(
    exit_with_parent: bool,
    role: impl std::future::Future<Output = Result<()>>,
) -> Result<()> {
    tokio::select! {
        result = role => result,
        _ = parent_gone(), if exit_with_parent => {
            eprintln!("strata: the parent process ended: shutting down");
            Ok(())
        }
    }
}

/// `host:port` as a socket address, naming the flag's value when it is not one.
pub fn socket_address(text: &str) -> Result<std::net::SocketAddr> {
    use std::net::ToSocketAddrs;
    text.to_socket_addrs()
        .ok()
        .and_then(|mut addresses| addresses.next())
        .ok_or_else(|| anyhow::anyhow!("--listen {text}: give an address as host:port"))
}

/// Serve `engine` until a shutdown signal.
pub async fn serve(engine: Engine, mut server: ServerConfig, args: &ServeArgs) -> Result<()> {
    if let Some(listen) = &args.listen {
        server.listen = listen.clone();
    }
    server.allow_insecure |= args.insecure;
    let retention_every = match args.retention_every.trim() {
        "off" | "never" => None,
        every => Some(
            Some(strata_engine::parse_duration(every)?)
                .filter(|d| !d.is_zero())
                .context("--retention-every must be positive, or off")?,
        ),
    };
    let tls = server.tls_cert.is_some();
    let auth = server.auth.enabled();
    let engine = Arc::new(engine);
    if let Some(every) = retention_every {
        tokio::spawn(retention_loop(Arc::clone(&engine), every));
    }
    let listening = strata_flight::bind(engine, server).await?;
    let scheme = if tls { "grpc+tls" } else { "grpc" };
    let url = format!("{scheme}://{}", listening.addr);
    // Tests and scripts read this line to find the port.
    println!("strata: serving Flight SQL on {url}");
    if !auth {
        println!(
            "strata: no users or tokens configured: unauthenticated access, loopback only (add users with `strata user add`)"
        );
    }
    println!("  ADBC (Python):  adbc_driver_flightsql.dbapi.connect(\"{url}\")");
    println!(
        "  JDBC:           jdbc:arrow-flight-sql://{}/?useEncryption={}",
        listening.addr, tls
    );
    println!("  Strata CLI:     strata query --server {url} 'SELECT 1'");
    std::io::stdout().flush().ok();
    if args.exit_with_parent {
        listening
            .serve(async {
                tokio::select! {
                    _ = shutdown_signal() => {}
                    _ = parent_gone() => eprintln!("strata: the parent process ended: shutting down"),
                }
            })
            .await?;
    } else {
        listening.serve(shutdown_signal()).await?;
    }
    Ok(())
}

pub fn user(command: UserCommand) -> Result<()> {
    let UserCommand::Add {
        name,
        role,
        password_env,
    } = command;
    let role = strata_flight::Role::parse(&role)
        .with_context(|| format!("unknown role '{role}': use reader, writer or admin"))?;
    let password = match password_env {
        Some(var) => {
            std::env::var(&var).with_context(|| format!("environment variable {var} is not set"))?
        }
        None => {
            eprintln!("password for {name} (one line on stdin):");
            let mut line = String::new();
            std::io::stdin()
                .lock()
                .read_line(&mut line)
                .context("cannot read the password from stdin")?;
            line.trim_end_matches(['\r', '\n']).to_string()
        }
    };
    if password.is_empty() {
        bail!("the password is empty");
    }
    let hash = strata_flight::hash_password(&password)?;
    println!(
        "[[users]]\nname = {name:?}\nrole = \"{}\"\npassword_hash = {hash:?}",
        role.as_str()
    );
    Ok(())
}

pub fn token(command: TokenCommand) -> Result<()> {
    let TokenCommand::Create { name, role } = command;
    let role = strata_flight::Role::parse(&role)
        .with_context(|| format!("unknown role '{role}': use reader, writer or admin"))?;
    let (token, sha) = strata_flight::new_api_token();
    eprintln!("token for {name} (shown once; only its hash is stored): {token}");
    println!(
        "[[tokens]]\nname = {name:?}\nrole = \"{}\"\nsha256 = \"{sha}\"",
        role.as_str()
    );
    Ok(())
}
