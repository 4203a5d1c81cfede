//! The Flight SQL service: every RPC authenticates, every statement passes the role policy,
//! every query is admitted, time-limited, cancellable and logged.

use std::collections::HashMap;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use arrow::array::{Array, RecordBatch, UInt64Array};
use arrow::datatypes::{Schema, SchemaRef};
use arrow_flight::encode::FlightDataEncoderBuilder;
use arrow_flight::error::FlightError;
use arrow_flight::flight_service_server::FlightService;
use arrow_flight::sql::metadata::{SqlInfoData, XdbcTypeInfoData};
use arrow_flight::sql::server::{FlightSqlService, PeekableFlightDataStream};
use arrow_flight::sql::{
    ActionCancelQueryRequest, ActionCancelQueryResult, ActionClosePreparedStatementRequest,
    ActionCreatePreparedStatementRequest, ActionCreatePreparedStatementResult, Any,
    CommandGetCatalogs, CommandGetCrossReference, CommandGetDbSchemas, CommandGetExportedKeys,
    CommandGetImportedKeys, CommandGetPrimaryKeys, CommandGetSqlInfo, CommandGetTableTypes,
    CommandGetTables, CommandGetXdbcTypeInfo, CommandPreparedStatementQuery,
    CommandPreparedStatementUpdate, CommandStatementIngest, CommandStatementQuery,
    CommandStatementUpdate, DoPutPreparedStatementResult, ProstMessageExt, SqlInfo,
    TicketStatementQuery,
};
use arrow_flight::{
    Action, CancelFlightInfoRequest, CancelFlightInfoResult, CancelStatus, FlightData,
    FlightDescriptor, FlightEndpoint, FlightInfo, HandshakeRequest, HandshakeResponse, IpcMessage,
    SchemaAsIpc, Ticket, decode::FlightRecordBatchStream,
};
use datafusion::common::ParamValues;
use datafusion::sql::parser::Statement;
use futures::{FutureExt, Stream, StreamExt, TryStreamExt};
use prost::Message;
use strata_engine::{CATALOG_NAME, Engine, PreparedStatement, QuerySession, RunningStatement};
use tokio::sync::{mpsc, oneshot, watch};
use tonic::metadata::MetadataValue;
use tonic::{Request, Response, Status, Streaming};

use crate::auth::{Auth, Principal};
use crate::config::ServerConfig;
use crate::error::{Error, Result};
use crate::handles::Handle;
use crate::limits::Admission;
use crate::metadata::{self, to_wire, wire_schema, with_column_metadata};
use crate::policy::{authorize, authorize_ingest};
use crate::querylog::{Entry, QueryLog};
use crate::session::{
    CloseSessionResult, GetSessionOptionsResult, OptionValue, SessionOptionValue, SessionOptions,
    SetSessionOptionsError, SetSessionOptionsRequest, SetSessionOptionsResult,
};

macro_rules! status {
    ($e:expr) => {
        $e.map_err(Status::from)
    };
}

mod catalog;
mod handlers;
mod kept;
mod results;
mod sessions;
mod statements;

use catalog::*;
use results::*;
use statements::*;

type DataStream = Pin<Box<dyn Stream<Item = std::result::Result<FlightData, Status>> + Send>>;

/// Header a client sets to receive view types (`Utf8View`, `BinaryView`) as they are.
const VIEW_TYPES_HEADER: &str = "x-strata-view-types";

/// Header a client sets (to `json`) to receive each statement's statistics — files scanned and
/// pruned, object-store requests and bytes — as JSON in the app_metadata of one last, empty
/// batch after the rows. The strata CLI sets it, so `--stats json` and `.timing` say the same against
/// a server as embedded.
pub const STATS_HEADER: &str = "x-strata-stats";

/// Header a client sets to `off` to run its statements without the result cache (neither
/// answered from it nor stored in it). `strata query --no-result-cache` sets it.
pub const RESULT_CACHE_HEADER: &str = "x-strata-result-cache";

/// Strata's Flight SQL service.
#[derive(Clone)]
pub struct StrataFlightSql {
    inner: Arc<Inner>,
}

struct Inner {
    engine: Arc<Engine>,
    auth: Auth,
    admission: Admission,
    config: ServerConfig,
    log: QueryLog,
    sql_info: SqlInfoData,
    xdbc: XdbcTypeInfoData,
    sessions: Mutex<HashMap<String, SessionOptions>>,
    /// Running queries by id: a sender that cancels them.
    running: Mutex<HashMap<String, watch::Sender<bool>>>,
    /// Parameters bound to prepared statements, for clients that keep the original handle
    /// instead of the one DoPut returns. Keyed by user and handle hash.
    bound: Mutex<HashMap<String, Option<String>>>,
    /// Queries planned for a FlightInfo, kept for the DoGet that redeems its ticket, so a
    /// query is planned once rather than twice. Keyed by ticket id.
    planned: kept::Kept<Planned>,
    /// Queries planned by CreatePreparedStatement, kept for the first GetFlightInfo of the
    /// same handle (ADBC and JDBC send it at once), which runs them if nothing committed in
    /// between instead of planning them again. Keyed by prepared-handle id.
    prepared: kept::Kept<KeptPrepared>,
}

/// A prepared statement's plan, waiting for its first execution.
struct KeptPrepared {
    principal: Principal,
    result_cache: bool,
    statement: PreparedStatement,
}

/// A query planned at GetFlightInfo, waiting for its DoGet.
struct Planned {
    user: String,
    query: ReadyQuery,
}

/// A ticket's statement, planned.
pub(super) enum Planning {
    /// A write, DDL or procedure: it runs to its end before its reply.
    Effects(Box<PreparedStatement>),
    Query(ReadyQuery),
}

/// A query with its physical plan, not started: nothing of it runs until DoGet admits it
/// and polls its stream.
pub(super) struct ReadyQuery {
    /// The schema GetFlightInfo announced.
    announced: SchemaRef,
    running: RunningStatement,
    /// How long planning took (the query log counts it in the query's duration).
    planning: std::time::Duration,
}

/// How long, and how many, planned queries wait for their DoGet (a client that only wanted
/// the schema never comes back: the entry expires and the query is planned again if it does),
/// and prepared statements' plans for their first execution.
const PLANNED_TTL: std::time::Duration = std::time::Duration::from_secs(30);
const PLANNED_MAX: usize = 64;
/// Plans of at most this many files are kept for their DoGet (the map holds at most
/// `PLANNED_MAX` of them, a few MiB in all).
const PLANNED_FILES_MAX: usize = 1_024;

/// Who is calling, from where, in which session.
struct Caller {
    principal: Principal,
    client: String,
    session: String,
    keep_views: bool,
    /// The client asked for each statement's statistics after its rows ([`STATS_HEADER`]).
    wants_stats: bool,
    /// The client did not ask to bypass the result cache ([`RESULT_CACHE_HEADER`]).
    result_cache: bool,
    /// When this call's time is up (`limits.query_timeout` after it arrived): planning and
    /// running share it.
    deadline: tokio::time::Instant,
}

impl StrataFlightSql {
    pub fn new(engine: Arc<Engine>, config: ServerConfig) -> Result<Self> {
        let log = QueryLog::open(&config.query_log).map_err(|e| {
            Error::Internal(format!(
                "cannot open the query log '{}': {e}",
                config.query_log
            ))
        })?;
        Ok(StrataFlightSql {
            inner: Arc::new(Inner {
                engine,
                auth: Auth::new(config.auth.clone()),
                admission: Admission::new(config.limits.running(), config.limits.max_queued),
                sql_info: metadata::sql_info(false)?,
                xdbc: metadata::xdbc_types()?,
                log,
                config,
                sessions: Mutex::new(HashMap::new()),
                running: Mutex::new(HashMap::new()),
                bound: Mutex::new(HashMap::new()),
                planned: kept::Kept::new(PLANNED_TTL, PLANNED_MAX),
                prepared: kept::Kept::new(PLANNED_TTL, PLANNED_MAX),
            }),
        })
    }

    /// Cancel every running query (at the end of the shutdown grace period).
    pub fn cancel_all(&self) {
        if let Ok(running) = self.inner.running.lock() {
            for tx in running.values() {
                let _ = tx.send(true);
            }
        }
    }

    /// The query log, shared with the panic boundary.
    pub(crate) fn query_log(&self) -> crate::querylog::QueryLog {
        self.inner.log.clone()
    }

    /// Keep a query planned for ticket `id` for the DoGet that redeems it.
    fn keep_planned(&self, id: &str, user: &str, query: ReadyQuery) {
        let user = user.to_string();
        self.inner.planned.keep(id, Planned { user, query });
    }

    /// The query planned for ticket `id` by the same user, if it is still kept.
    fn take_planned(&self, id: &str, user: &str) -> Option<ReadyQuery> {
        let p = self.inner.planned.take(id)?;
        (p.user == user).then_some(p.query)
    }

    /// Keep a query planned for prepared handle `id` for its first execution.
    fn keep_prepared(&self, id: &str, caller: &Caller, statement: PreparedStatement) {
        let kept = KeptPrepared {
            principal: caller.principal.clone(),
            result_cache: caller.result_cache,
            statement,
        };
        self.inner.prepared.keep(id, kept);
    }

    /// The plan CreatePreparedStatement made for handle `id`, if it is still kept and this is
    /// the same caller (same user, role and login, same result-cache choice). Taken once.
    fn take_prepared(&self, id: &str, caller: &Caller) -> Option<PreparedStatement> {
        let kept = self.inner.prepared.take(id)?;
        (kept.principal == caller.principal && kept.result_cache == caller.result_cache)
            .then_some(kept.statement)
    }

    /// Queries running now.
    pub fn running_queries(&self) -> usize {
        self.inner.running.lock().map_or(0, |r| r.len())
    }

    fn caller<T>(&self, request: &Request<T>) -> Result<Caller> {
        let header = request
            .metadata()
            .get("authorization")
            .and_then(|v| v.to_str().ok());
        let client = request
            .remote_addr()
            .map_or_else(|| "unknown".to_string(), |a| a.to_string());
        let principal = match self.inner.auth.authenticate(header) {
            Ok(p) => p,
            Err(e) => {
                let mut entry = Entry::new("", &client, "authenticate");
                entry.outcome = e.outcome().into();
                entry.error = Some(e.to_string());
                self.inner.log.record(&entry);
                return Err(e);
            }
        };
        let session = if principal.session.is_empty() {
            client.clone()
        } else {
            principal.session.clone()
        };
        let keep_views = request
            .metadata()
            .get(VIEW_TYPES_HEADER)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.eq_ignore_ascii_case("true") || v == "1");
        let wants_stats = request
            .metadata()
            .get(STATS_HEADER)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.eq_ignore_ascii_case("json"));
        let result_cache = !request
            .metadata()
            .get(RESULT_CACHE_HEADER)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| {
                ["off", "false", "0", "no"]
                    .iter()
                    .any(|off| v.eq_ignore_ascii_case(off))
            });
        Ok(Caller {
            principal,
            client,
            session,
            keep_views,
            wants_stats,
            result_cache,
            deadline: tokio::time::Instant::now() + self.inner.config.limits.query_timeout,
        })
    }

    fn default_schema(&self, caller: &Caller) -> String {
        self.inner
            .sessions
            .lock()
            .ok()
            .and_then(|s| s.get(&caller.session).and_then(|o| o.schema.clone()))
            .unwrap_or_else(|| strata_engine::DEFAULT_SCHEMA.to_string())
    }

    fn record_failure(&self, caller: &Caller, request: &str, sql: Option<&str>, e: &Error) {
        let mut entry = Entry::new(&caller.principal.user, &caller.client, request);
        if let Some(sql) = sql {
            entry = entry.statement(sql);
        }
        entry.outcome = e.outcome().into();
        entry.error = Some(e.to_string());
        self.inner.log.record(&entry);
    }
}

fn timeout_error(limits: &crate::config::LimitsConfig) -> Error {
    Error::Timeout(format!(
        "the query ran longer than the limit of {} s (limits.query_timeout)",
        limits.query_timeout.as_secs_f64()
    ))
}

fn ipc_schema(schema: &Schema) -> Result<bytes::Bytes> {
    let IpcMessage(bytes) = SchemaAsIpc::new(schema, &Default::default()).try_into()?;
    Ok(bytes)
}

fn decode_body<M: Message + Default>(action: &Action, what: &str) -> Result<M> {
    M::decode(action.body.as_ref())
        .map_err(|e| Error::InvalidArgument(format!("malformed {what} request: {e}")))
}

fn caller_clone(c: &Caller) -> Caller {
    Caller {
        principal: c.principal.clone(),
        client: c.client.clone(),
        session: c.session.clone(),
        keep_views: c.keep_views,
        wants_stats: c.wants_stats,
        result_cache: c.result_cache,
        deadline: c.deadline,
    }
}
