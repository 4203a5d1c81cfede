//! The CLI's one front door. Every lake command (`table …`, `compact`, `snapshots`, `gc`),
//! `query` and the shell send SQL through a [`Connection`]: embedded, on the local catalog, or
//! remote, on a Strata server over Flight SQL (`--server`). Both run the same statements —
//! the engine's `CALL register/refresh/compact/…` procedures and `strata_*()` table functions —
//! so every command prints the same output either way.

use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use arrow::array::{Array, RecordBatch, StringArray};
use arrow::datatypes::SchemaRef;
use futures::stream::BoxStream;
use futures::{StreamExt, TryStreamExt};
use strata_engine::{Engine, QuerySession, QueryStats, RunningStatement};

use crate::args::RemoteArgs;
use crate::remote::Remote;

/// Where statements run.
pub enum Connection {
    /// On the local catalog, in this process.
    Embedded {
        session: Box<QuerySession>,
        /// Kept open for the session's lifetime (it owns the memory pool and the caches).
        _engine: Box<Engine>,
    },
    /// On a Strata server.
    Remote { remote: Box<Remote>, url: String },
}

/// One statement's result, streamed; its statistics once the stream is drained.
pub struct Output {
    pub schema: SchemaRef,
    pub stream: BoxStream<'static, Result<RecordBatch>>,
    stats: StatsSource,
}

enum StatsSource {
    Embedded(Box<RunningStatement>),
    Remote {
        started: Instant,
        server: Arc<std::sync::Mutex<Option<QueryStats>>>,
    },
}

/// What `--stats json` and the shell's `.timing` report of one statement.
#[derive(Debug, Clone, Default)]
pub struct Stats {
    /// The engine's own figures: locally, or as the server reported them.
    pub query: Option<QueryStats>,
    pub rows: usize,
    pub elapsed: std::time::Duration,
}

impl Stats {
    /// One JSON line for `--stats json`.
    pub fn json(&self, statement: usize) -> serde_json::Value {
        let mut json = serde_json::json!({
            "statement": statement,
            "rows": self.rows,
            "elapsed_ms": self.elapsed.as_millis() as u64,
            "elapsed_us": self.elapsed.as_micros() as u64,
        });
        if let Some(q) = &self.query {
            json["files_scanned"] = q.files_scanned.into();
            json["files_pruned"] = q.files_pruned.into();
            json["files_answered"] = q.files_answered.into();
            json["files_total"] = q.files_total.into();
            json["bytes_read"] = q.requests.bytes_read.into();
            json["requests"] = serde_json::to_value(q.requests).unwrap_or_default();
            json["snapshot"] = q.snapshot.into();
            if let Some(result_cache) = &q.result_cache {
                json["result_cache"] = result_cache.as_str().into();
            }
        }
        json
    }

    /// `3 rows in 0.012s (2 of 14 files scanned)` for the shell.
    pub fn line(&self) -> String {
        let files = self
            .query
            .as_ref()
            .map(|q| format!(" ({} of {} files scanned)", q.files_scanned, q.files_total))
            .unwrap_or_default();
        format!(
            "{} row{} in {:.3}s{files}",
            self.rows,
            if self.rows == 1 { "" } else { "s" },
            self.elapsed.as_secs_f64()
        )
    }
}

impl Output {
    /// Statistics of the statement; call after the stream is drained, with the rows counted.
    pub fn stats(&self, rows: usize) -> Stats {
        match &self.stats {
            StatsSource::Embedded(running) => {
                let q = running.stats(rows);
                Stats {
                    elapsed: std::time::Duration::from_micros(q.elapsed_us as u64),
                    rows,
                    query: Some(q),
                }
            }
            StatsSource::Remote { started, server } => {
                let query = server.lock().ok().and_then(|s| s.clone()).map(|mut q| {
                    q.rows = rows;
                    q
                });
                Stats {
                    query,
                    rows,
                    elapsed: started.elapsed(),
                }
            }
        }
    }
}

impl Connection {
    /// A connection to `--server` when given, else to the local catalog `open` opens.
    pub async fn open(remote: &RemoteArgs, open: impl FnOnce() -> Result<Engine>) -> Result<Self> {
        match &remote.server {
            Some(url) => Ok(Connection::Remote {
                remote: Box::new(Remote::connect(remote).await?),
                url: url.clone(),
            }),
            None => {
                let engine = open()?;
                Ok(Connection::Embedded {
                    session: Box::new(engine.session()),
                    _engine: Box::new(engine),
                })
            }
        }
    }

    /// The server's URL, for remote connections.
    pub fn server(&self) -> Option<&str> {
        match self {
            Connection::Embedded { .. } => None,
            Connection::Remote { url, .. } => Some(url),
        }
    }

    /// Use the result cache for the statements that follow, or not (`--no-result-cache`).
    pub fn set_result_cache(&mut self, enabled: bool) {
        match self {
            Connection::Embedded { session, .. } => session.set_result_cache(enabled, ""),
            Connection::Remote { remote, .. } => remote.set_result_cache(enabled),
        }
    }

    /// Show registration progress (footers read) while this connection registers locally.
    pub fn set_progress(&mut self, progress: Arc<dyn strata_engine::Progress>) {
        if let Connection::Embedded { session, .. } = self {
            session.set_progress(progress);
        }
    }

    /// The statements of `sql`, each to be sent on its own. Locally the whole text is parsed
    /// first, so a syntax error anywhere runs nothing (and the statement limits apply); a
    /// server parses each statement with the same front end.
    pub fn split(&self, sql: &str) -> Result<Vec<String>> {
        if let Connection::Embedded { session, .. } = self {
            session.parse(sql)?;
        }
        let statements = strata_engine::split_statements(sql)?;
        if statements.is_empty() {
            bail!("no SQL statement found in the input");
        }
        Ok(statements)
    }

    /// Start one statement.
    pub async fn run(&mut self, sql: &str) -> Result<Output> {
        match self {
            Connection::Embedded { session, .. } => {
                let mut statements = session.parse(sql)?.into_iter();
                let first = statements.next().context("no SQL statement found")?;
                if statements.next().is_some() {
                    bail!("send one statement at a time");
                }
                let (stream, running) = session.run(first).await?.take_stream();
                Ok(Output {
                    schema: Arc::clone(&running.schema),
                    stream: stream
                        .map_err(|e| anyhow::Error::from(strata_engine::Error::from(e)))
                        .boxed(),
                    stats: StatsSource::Embedded(Box::new(running)),
                })
            }
            Connection::Remote { remote, .. } => {
                let started = Instant::now();
                let (schema, stream, server) = remote.run(sql).await?;
                Ok(Output {
                    schema,
                    stream,
                    stats: StatsSource::Remote { started, server },
                })
            }
        }
    }

    /// Run one statement and collect its result.
    pub async fn collect(&mut self, sql: &str) -> Result<Vec<RecordBatch>> {
        let output = self.run(sql).await?;
        output.stream.try_collect().await
    }

    /// Run a procedure (`CALL …`) and return the lines it said.
    pub async fn lines(&mut self, sql: &str) -> Result<Vec<String>> {
        let mut lines = Vec::new();
        for batch in self.collect(sql).await? {
            let column = batch
                .column(0)
                .as_any()
                .downcast_ref::<StringArray>()
                .context("a procedure returns one text column")?;
            lines.extend((0..column.len()).map(|i| column.value(i).to_string()));
        }
        Ok(lines)
    }

    /// Run a procedure and print the lines it said.
    pub async fn print_lines(&mut self, sql: &str) -> Result<()> {
        for line in self.lines(sql).await? {
            println!("{line}");
        }
        Ok(())
    }
}

/// `text` as a SQL string literal.
pub fn quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}
