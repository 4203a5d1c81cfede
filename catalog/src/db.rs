//! The catalog's connection to its metadata database: SQLite (embedded) or PostgreSQL.
//!
//! The rest of the crate writes one SQL text for both, with `?N` (or `?`) placeholders, and
//! reads rows through [`Row::get`]. On SQLite the parameters are bound as usual. On PostgreSQL
//! they are written into the statement as literals (numbers bare, text quoted) and the statement
//! runs over the simple query protocol, so that PostgreSQL types each literal from its context
//! the way SQLite's loose typing does; every value comes back as text and is parsed here.
//!
//! The synchronous `postgres` client runs its own runtime, which must not be started inside
//! Tokio's; so each PostgreSQL connection lives on a thread of its own and statements are sent
//! to it. It reconnects when the server dropped the connection.

use std::cell::Cell;
use std::sync::mpsc;
use std::time::Duration;

use crate::error::{Error, Result};

/// A value bound to a placeholder.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Value {
    Null,
    Int(i64),
    Real(f64),
    Bool(bool),
    Text(String),
}

/// Something that can be bound to a placeholder.
pub(crate) trait Param {
    fn value(&self) -> Value;
}

macro_rules! int_param {
    ($($t:ty),*) => {$(
        impl Param for $t {
            fn value(&self) -> Value {
                Value::Int(*self as i64)
            }
        }
    )*};
}
int_param!(i64, i32, u32, usize, u64);

impl Param for f64 {
    fn value(&self) -> Value {
        Value::Real(*self)
    }
}
impl Param for bool {
    fn value(&self) -> Value {
        Value::Bool(*self)
    }
}
impl Param for str {
    fn value(&self) -> Value {
        Value::Text(self.to_string())
    }
}
impl Param for String {
    fn value(&self) -> Value {
        Value::Text(self.clone())
    }
}
impl Param for Value {
    fn value(&self) -> Value {
        self.clone()
    }
}
impl<T: Param + ?Sized> Param for &T {
    fn value(&self) -> Value {
        (**self).value()
    }
}
impl<T: Param> Param for Option<T> {
    fn value(&self) -> Value {
        self.as_ref().map_or(Value::Null, Param::value)
    }
}

/// `params![a, b, …]`: the parameters of one statement.
macro_rules! params {
    () => {
        &[] as &[&dyn $crate::db::Param]
    };
    ($($p:expr),+ $(,)?) => {
        &[$(&$p as &dyn $crate::db::Param),+] as &[&dyn $crate::db::Param]
    };
}
pub(crate) use params;

/// A column value read from a row.
pub(crate) trait FromDb: Sized {
    fn from_sqlite(row: &rusqlite::Row<'_>, index: usize) -> Result<Self>;
    fn from_text(text: Option<&str>) -> std::result::Result<Self, String>;
}

fn parse_int(s: &str) -> std::result::Result<i64, String> {
    match s {
        "t" | "true" => Ok(1),
        "f" | "false" => Ok(0),
        _ => s.parse::<i64>().or_else(|_| {
            // sum() of BIGINT is NUMERIC on PostgreSQL; it prints whole numbers without a point.
            s.parse::<f64>()
                .ok()
                .filter(|f| f.fract() == 0.0)
                .map(|f| f as i64)
                .ok_or_else(|| format!("expected an integer, found '{s}'"))
        }),
    }
}

impl FromDb for i64 {
    fn from_sqlite(row: &rusqlite::Row<'_>, index: usize) -> Result<Self> {
        Ok(row.get(index)?)
    }
    fn from_text(text: Option<&str>) -> std::result::Result<Self, String> {
        parse_int(text.ok_or("expected an integer, found NULL")?)
    }
}
impl FromDb for f64 {
    fn from_sqlite(row: &rusqlite::Row<'_>, index: usize) -> Result<Self> {
        Ok(row.get(index)?)
    }
    fn from_text(text: Option<&str>) -> std::result::Result<Self, String> {
        let s = text.ok_or("expected a number, found NULL")?;
        s.parse::<f64>()
            .map_err(|_| format!("expected a number, found '{s}'"))
    }
}
impl FromDb for bool {
    fn from_sqlite(row: &rusqlite::Row<'_>, index: usize) -> Result<Self> {
        Ok(row.get(index)?)
    }
    fn from_text(text: Option<&str>) -> std::result::Result<Self, String> {
        Ok(parse_int(text.ok_or("expected a boolean, found NULL")?)? != 0)
    }
}
impl FromDb for String {
    fn from_sqlite(row: &rusqlite::Row<'_>, index: usize) -> Result<Self> {
        Ok(row.get(index)?)
    }
    fn from_text(text: Option<&str>) -> std::result::Result<Self, String> {
        text.map(str::to_string)
            .ok_or_else(|| "expected text, found NULL".to_string())
    }
}
impl<T: FromDb> FromDb for Option<T> {
    fn from_sqlite(row: &rusqlite::Row<'_>, index: usize) -> Result<Self> {
        match row.get_ref(index)? {
            rusqlite::types::ValueRef::Null => Ok(None),
            _ => T::from_sqlite(row, index).map(Some),
        }
    }
    fn from_text(text: Option<&str>) -> std::result::Result<Self, String> {
        text.map(|t| T::from_text(Some(t))).transpose()
    }
}

/// One row of a result.
pub(crate) enum Row<'a> {
    Sqlite(&'a rusqlite::Row<'a>),
    Text(&'a [Option<String>]),
}

impl Row<'_> {
    /// Column `index` (from 0) as `T`.
    pub fn get<T: FromDb>(&self, index: usize) -> Result<T> {
        match self {
            Row::Sqlite(row) => T::from_sqlite(row, index),
            Row::Text(values) => {
                let text = values
                    .get(index)
                    .ok_or_else(|| Error::Postgres(format!("no column {index} in the result")))?;
                T::from_text(text.as_deref())
                    .map_err(|e| Error::Postgres(format!("column {index}: {e}")))
            }
        }
    }
}

/// A connection to the metadata database.
pub(crate) enum Conn {
    Sqlite(rusqlite::Connection),
    Postgres(Postgres),
}

impl std::fmt::Debug for Conn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Conn::Sqlite(_) => f.write_str("Conn::Sqlite"),
            Conn::Postgres(_) => f.write_str("Conn::Postgres"),
        }
    }
}

impl Conn {
    pub fn is_postgres(&self) -> bool {
        matches!(self, Conn::Postgres(_))
    }

    /// The SQL type of a 64-bit integer in a `CAST`.
    pub fn integer_type(&self) -> &'static str {
        if self.is_postgres() {
            "BIGINT"
        } else {
            "INTEGER"
        }
    }

    /// The SQL type of a double in a `CAST`.
    pub fn real_type(&self) -> &'static str {
        if self.is_postgres() {
            "DOUBLE PRECISION"
        } else {
            "REAL"
        }
    }

    /// Run one statement; the number of rows it changed.
    pub fn execute(&self, sql: &str, params: &[&dyn Param]) -> Result<usize> {
        match self {
            Conn::Sqlite(c) => {
                let mut stmt = c.prepare_cached(sql)?;
                Ok(stmt.execute(rusqlite::params_from_iter(params.iter().map(|p| p.value())))?)
            }
            Conn::Postgres(pg) => Ok(pg.run(inline(sql, params)?)?.affected as usize),
        }
    }

    /// Run several statements without parameters.
    pub fn execute_batch(&self, sql: &str) -> Result<()> {
        match self {
            Conn::Sqlite(c) => Ok(c.execute_batch(sql)?),
            Conn::Postgres(pg) => pg.run(sql.to_string()).map(|_| ()),
        }
    }

    /// Every row of a query, each turned into a `T` by `f`.
    pub fn query_map<T>(
        &self,
        sql: &str,
        params: &[&dyn Param],
        mut f: impl FnMut(&Row<'_>) -> Result<T>,
    ) -> Result<Vec<T>> {
        match self {
            Conn::Sqlite(c) => {
                let mut stmt = c.prepare_cached(sql)?;
                let mut rows =
                    stmt.query(rusqlite::params_from_iter(params.iter().map(|p| p.value())))?;
                let mut out = Vec::new();
                while let Some(row) = rows.next()? {
                    out.push(f(&Row::Sqlite(row))?);
                }
                Ok(out)
            }
            Conn::Postgres(pg) => {
                let result = pg.run(inline(sql, params)?)?;
                result
                    .rows
                    .iter()
                    .map(|values| f(&Row::Text(values)))
                    .collect()
            }
        }
    }

    /// The first row of a query, if there is one.
    pub fn query_opt<T>(
        &self,
        sql: &str,
        params: &[&dyn Param],
        f: impl FnOnce(&Row<'_>) -> Result<T>,
    ) -> Result<Option<T>> {
        match self {
            Conn::Sqlite(c) => {
                let mut stmt = c.prepare_cached(sql)?;
                let mut rows =
                    stmt.query(rusqlite::params_from_iter(params.iter().map(|p| p.value())))?;
                match rows.next()? {
                    Some(row) => f(&Row::Sqlite(row)).map(Some),
                    None => Ok(None),
                }
            }
            Conn::Postgres(pg) => {
                let result = pg.run(inline(sql, params)?)?;
                result
                    .rows
                    .first()
                    .map(|values| f(&Row::Text(values)))
                    .transpose()
            }
        }
    }

    /// The first row of a query, which must exist.
    pub fn query_row<T>(
        &self,
        sql: &str,
        params: &[&dyn Param],
        f: impl FnOnce(&Row<'_>) -> Result<T>,
    ) -> Result<T> {
        self.query_opt(sql, params, f)?
            .ok_or_else(|| Error::NoRow(sql.to_string()))
    }

    /// A statement to run several times (prepared once on SQLite).
    pub fn prepare<'c>(&'c self, sql: &str) -> Result<Stmt<'c>> {
        Ok(Stmt {
            conn: self,
            sql: sql.to_string(),
        })
    }

    /// Whether a table of this name exists in the metadata database.
    pub fn table_exists(&self, name: &str) -> Result<bool> {
        let sql = if self.is_postgres() {
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = ?1"
        } else {
            "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?1"
        };
        Ok(self.query_row(sql, params![name], |r| r.get::<i64>(0))? > 0)
    }

    /// How many tables the metadata database has (in the current schema on PostgreSQL).
    pub fn table_count(&self) -> Result<i64> {
        let sql = if self.is_postgres() {
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = current_schema()"
        } else {
            "SELECT count(*) FROM sqlite_master WHERE type = 'table'"
        };
        self.query_row(sql, params![], |r| r.get(0))
    }

    /// The columns of a table, in order, with their SQL types.
    pub fn table_columns(&self, name: &str) -> Result<Vec<(String, String)>> {
        if self.is_postgres() {
            self.query_map(
                "SELECT column_name, data_type FROM information_schema.columns
                 WHERE table_schema = current_schema() AND table_name = ?1 ORDER BY ordinal_position",
                params![name],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
        } else {
            self.query_map(
                "SELECT name, type FROM pragma_table_info(?1)",
                params![name],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
        }
    }

    /// Start a transaction. With `write`, take the catalog's write lock first (SQLite's
    /// `BEGIN IMMEDIATE`; on PostgreSQL a lock on `ducklake_snapshot` that writers take in
    /// turn and readers never wait for), so the newest snapshot read next stays the newest.
    pub fn transaction(&self, write: bool) -> Result<Tx<'_>> {
        match self {
            Conn::Sqlite(c) => c.execute_batch(if write {
                "BEGIN IMMEDIATE"
            } else {
                "BEGIN DEFERRED"
            })?,
            Conn::Postgres(pg) => {
                pg.run("BEGIN".to_string())?;
                pg.in_transaction.set(true);
            }
        }
        let tx = Tx {
            conn: self,
            open: Cell::new(true),
        };
        if write && let Conn::Postgres(pg) = self {
            // Rolled back by `tx`'s drop if the lock times out.
            pg.run("LOCK TABLE ducklake_snapshot IN SHARE ROW EXCLUSIVE MODE".to_string())?;
        }
        Ok(tx)
    }
}

/// The rows of [`Stmt::query_map`], each already read (so each is `Ok`).
pub(crate) type Rows<T> = std::iter::Map<std::vec::IntoIter<T>, fn(T) -> Result<T>>;

/// A statement of [`Conn::prepare`].
pub(crate) struct Stmt<'c> {
    conn: &'c Conn,
    sql: String,
}

impl Stmt<'_> {
    pub fn execute(&mut self, params: &[&dyn Param]) -> Result<usize> {
        self.conn.execute(&self.sql, params)
    }

    /// Run an INSERT whose row count is not needed. On PostgreSQL it is queued and sent with
    /// the next statement (in the same transaction), so committing thousands of files and
    /// their statistics costs a few round trips instead of one a row; an error in it is
    /// reported by that next statement.
    pub fn insert(&mut self, params: &[&dyn Param]) -> Result<()> {
        match self.conn {
            Conn::Sqlite(_) => self.execute(params).map(|_| ()),
            Conn::Postgres(pg) => pg.queue(inline(&self.sql, params)?),
        }
    }

    /// Every row, each turned into a `T` by `f`.
    pub fn query_map<T>(
        &mut self,
        params: &[&dyn Param],
        f: impl FnMut(&Row<'_>) -> Result<T>,
    ) -> Result<Rows<T>> {
        let rows = self.conn.query_map(&self.sql, params, f)?;
        Ok(rows.into_iter().map(Ok as fn(T) -> Result<T>))
    }
}

/// `query_row(…).optional()`: no row becomes `None`.
pub(crate) trait OptionalExtension<T> {
    fn optional(self) -> Result<Option<T>>;
}

impl<T> OptionalExtension<T> for Result<T> {
    fn optional(self) -> Result<Option<T>> {
        match self {
            Ok(v) => Ok(Some(v)),
            Err(Error::NoRow(_)) => Ok(None),
            Err(e) => Err(e),
        }
    }
}

/// An open transaction; rolled back when dropped without [`Tx::commit`].
pub(crate) struct Tx<'c> {
    conn: &'c Conn,
    open: Cell<bool>,
}

impl Tx<'_> {
    pub fn commit(self) -> Result<()> {
        self.open.set(false);
        let committed = self.conn.execute_batch("COMMIT");
        if let Conn::Postgres(pg) = self.conn {
            pg.in_transaction.set(false);
        }
        if committed.is_err() {
            // A queued statement failed, or the COMMIT did: the transaction must not stay
            // open (and aborted) on the connection.
            self.rollback();
        }
        committed
    }

    fn rollback(&self) {
        if let Conn::Postgres(pg) = self.conn {
            pg.pending.borrow_mut().clear();
            pg.in_transaction.set(false);
        }
        let _ = self.conn.execute_batch("ROLLBACK");
    }
}

impl std::ops::Deref for Tx<'_> {
    type Target = Conn;
    fn deref(&self) -> &Conn {
        self.conn
    }
}

impl Drop for Tx<'_> {
    fn drop(&mut self) {
        if self.open.get() {
            self.rollback();
        }
    }
}

/// Write `params` into `sql` in place of its `?N` / `?` placeholders, as PostgreSQL literals.
/// Placeholders inside quoted strings and identifiers are left alone.
fn inline(sql: &str, params: &[&dyn Param]) -> Result<String> {
    let mut out = String::with_capacity(sql.len() + 16 * params.len());
    let mut chars = sql.char_indices().peekable();
    let mut next = 0usize;
    let mut quote: Option<char> = None;
    while let Some((_, ch)) = chars.next() {
        if let Some(q) = quote {
            out.push(ch);
            if ch == q {
                quote = None;
            }
            continue;
        }
        match ch {
            '\'' | '"' => {
                quote = Some(ch);
                out.push(ch);
            }
            '?' => {
                let mut digits = String::new();
                while let Some(&(_, d)) = chars.peek() {
                    if d.is_ascii_digit() {
                        digits.push(d);
                        chars.next();
                    } else {
                        break;
                    }
                }
                let index = if digits.is_empty() {
                    next += 1;
                    next
                } else {
                    digits.parse::<usize>().unwrap_or(0)
                };
                let param = index
                    .checked_sub(1)
                    .and_then(|i| params.get(i))
                    .ok_or_else(|| {
                        Error::Internal(format!("placeholder ?{index} has no parameter in: {sql}"))
                    })?;
                out.push_str(&literal(&param.value()));
            }
            _ => out.push(ch),
        }
    }
    // The one SQLite function the catalog's SQL uses: a JSON array of ids as a set.
    Ok(out.replace(
        "SELECT value FROM json_each(",
        "SELECT CAST(value AS BIGINT) FROM json_array_elements_text(",
    ))
}

/// A PostgreSQL literal: numbers bare, booleans as `TRUE`/`FALSE`, text in single quotes.
fn literal(value: &Value) -> String {
    match value {
        Value::Null => "NULL".to_string(),
        Value::Int(i) => i.to_string(),
        Value::Real(f) if f.is_finite() => format!("{f:?}"),
        Value::Real(f) => format!("'{f}'::float8"),
        Value::Bool(b) => if *b { "TRUE" } else { "FALSE" }.to_string(),
        Value::Text(s) => format!("'{}'", s.replace('\'', "''")),
    }
}

impl rusqlite::ToSql for Value {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        use rusqlite::types::{ToSqlOutput, Value as V};
        Ok(ToSqlOutput::Owned(match self {
            Value::Null => V::Null,
            Value::Int(i) => V::Integer(*i),
            Value::Real(f) => V::Real(*f),
            Value::Bool(b) => V::Integer(*b as i64),
            Value::Text(s) => V::Text(s.clone()),
        }))
    }
}

/// What one PostgreSQL statement (or batch) returned.
pub(crate) struct PgResult {
    rows: Vec<Vec<Option<String>>>,
    affected: u64,
}

/// A batch of SQL, whether it may be retried on a new connection, and where to answer.
type Job = (String, bool, mpsc::SyncSender<Result<PgResult>>);

/// A PostgreSQL connection on a thread of its own.
pub(crate) struct Postgres {
    jobs: mpsc::Sender<Job>,
    /// Statements queued by [`Stmt::insert`], sent before the next one.
    pending: std::cell::RefCell<String>,
    /// Whether a transaction is open: outside one, a statement that meets a dropped
    /// connection is run again on a new one; inside, it fails (the transaction is gone).
    in_transaction: Cell<bool>,
}

/// Queued statements are sent once they reach this size.
const PENDING_LIMIT: usize = 1 << 20;

impl Postgres {
    /// Connect to `url` (`postgres://user@host:port/db?…` or `host=… dbname=…`).
    pub fn connect(url: &str) -> Result<Self> {
        let config: postgres::Config = url
            .parse()
            .map_err(|e| Error::Postgres(format!("invalid PostgreSQL connection string: {e}")))?;
        let (jobs, receiver) = mpsc::channel::<Job>();
        let (ready, ready_rx) = mpsc::sync_channel::<Result<()>>(1);
        std::thread::Builder::new()
            .name("strata-catalog-pg".into())
            .spawn(move || serve(config, receiver, ready))
            .map_err(|e| Error::Postgres(format!("cannot start the connection thread: {e}")))?;
        ready_rx
            .recv()
            .map_err(|_| Error::Postgres("the connection thread ended".into()))??;
        Ok(Postgres {
            jobs,
            pending: Default::default(),
            in_transaction: Cell::new(false),
        })
    }

    fn queue(&self, statement: String) -> Result<()> {
        let full = {
            let mut pending = self.pending.borrow_mut();
            pending.push_str(&statement);
            pending.push_str(";\n");
            pending.len() >= PENDING_LIMIT
        };
        if full {
            self.run(String::new())?;
        }
        Ok(())
    }

    fn run(&self, sql: String) -> Result<PgResult> {
        // Queued statements go first, in the same batch; results count the last statement's.
        let sql = {
            let mut pending = self.pending.borrow_mut();
            if pending.is_empty() {
                sql
            } else {
                let mut batch = std::mem::take(&mut *pending);
                batch.push_str(&sql);
                batch
            }
        };
        if sql.is_empty() {
            return Ok(PgResult {
                rows: Vec::new(),
                affected: 0,
            });
        }
        let (reply, answer) = mpsc::sync_channel(1);
        self.jobs
            .send((sql, !self.in_transaction.get(), reply))
            .map_err(|_| Error::Postgres("the connection thread ended".into()))?;
        answer
            .recv()
            .map_err(|_| Error::Postgres("the connection thread ended".into()))?
    }
}

fn connect(config: &postgres::Config) -> Result<postgres::Client> {
    let mut client = config.connect(postgres::NoTls).map_err(pg_error)?;
    client
        .batch_execute("SET TimeZone = 'UTC'; SET lock_timeout = '120s'")
        .map_err(pg_error)?;
    Ok(client)
}

fn serve(
    mut config: postgres::Config,
    jobs: mpsc::Receiver<Job>,
    ready: mpsc::SyncSender<Result<()>>,
) {
    config.connect_timeout(Duration::from_secs(10));
    config.application_name("strata");
    let mut client = match connect(&config) {
        Ok(c) => {
            let _ = ready.send(Ok(()));
            c
        }
        Err(e) => {
            let _ = ready.send(Err(e));
            return;
        }
    };
    for (sql, retry, reply) in jobs {
        if client.is_closed() {
            // The server dropped us (restart, idle timeout): whatever transaction was open is
            // gone, so a fresh connection is as good as the old one.
            match connect(&config) {
                Ok(c) => client = c,
                Err(e) => {
                    let _ = reply.send(Err(e));
                    continue;
                }
            }
        }
        let mut result = client.simple_query(&sql);
        if result.is_err() && client.is_closed() && retry {
            // The connection died under a statement outside any transaction (a server restart
            // or failover): run it again once on a fresh connection.
            if let Ok(c) = connect(&config) {
                client = c;
                result = client.simple_query(&sql);
            }
        }
        let result = result.map_err(pg_error).map(|messages| {
            let mut out = PgResult {
                rows: Vec::new(),
                affected: 0,
            };
            for message in messages {
                match message {
                    postgres::SimpleQueryMessage::Row(row) => out.rows.push(
                        (0..row.len())
                            .map(|i| row.get(i).map(str::to_string))
                            .collect(),
                    ),
                    postgres::SimpleQueryMessage::CommandComplete(n) => out.affected = n,
                    _ => {}
                }
            }
            out
        });
        let _ = reply.send(result);
    }
}

/// PostgreSQL's error with its SQLSTATE and message, which `postgres::Error` keeps inside.
fn pg_error(e: postgres::Error) -> Error {
    match e.as_db_error() {
        Some(db) => {
            let mut text = format!("{} ({})", db.message(), db.code().code());
            if let Some(detail) = db.detail() {
                text.push_str(&format!(": {detail}"));
            }
            if db.code() == &postgres::error::SqlState::LOCK_NOT_AVAILABLE {
                return Error::Unavailable(format!(
                    "another writer held its lock for too long ({text}); try again"
                ));
            }
            Error::Postgres(text)
        }
        None => {
            let mut text = e.to_string();
            let mut source = std::error::Error::source(&e);
            while let Some(s) = source {
                text.push_str(&format!(": {s}"));
                source = s.source();
            }
            Error::Postgres(text)
        }
    }
}

/// The current time as DuckLake stores snapshot times.
pub(crate) fn now() -> String {
    chrono::Utc::now()
        .format("%Y-%m-%d %H:%M:%S%.6f+00")
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inlines_parameters_as_literals() {
        let sql = inline(
            "SELECT '?1', \"a?\" FROM t WHERE a = ?2 AND b = ?1 AND c IN (?, ?) AND d = ?3",
            params!["it's", 7i64, Option::<i64>::None],
        )
        .unwrap();
        assert_eq!(
            sql,
            "SELECT '?1', \"a?\" FROM t WHERE a = 7 AND b = 'it''s' AND c IN ('it''s', 7) AND d = NULL"
        );
        assert_eq!(literal(&Value::Real(1.5)), "1.5");
        assert_eq!(literal(&Value::Real(f64::NAN)), "'NaN'::float8");
        assert_eq!(literal(&Value::Bool(true)), "TRUE");
        assert!(inline("SELECT ?4", params![1i64]).is_err());
    }

    #[test]
    fn parses_text_values() {
        assert_eq!(i64::from_text(Some("42")).unwrap(), 42);
        assert_eq!(i64::from_text(Some("t")).unwrap(), 1);
        assert_eq!(Option::<i64>::from_text(None).unwrap(), None);
        assert!(i64::from_text(Some("1.5")).is_err());
        assert!(String::from_text(None).is_err());
    }
}
