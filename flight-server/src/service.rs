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
use strata_engine::{CATALOG_NAME, Engine, PreparedStatement, QuerySession};
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

type DataStream = Pin<Box<dyn Stream<Item = std::result::Result<FlightData, Status>> + Send>>;

/// Header a client sets to receive view types (`Utf8View`, `BinaryView`) as they are.
const VIEW_TYPES_HEADER: &str = "x-strata-view-types";

/// Header a client sets (to `json`) to receive each statement's statistics — files scanned and
/// pruned, object-store requests and bytes — as JSON in the app_metadata of one last, empty
/// batch after the rows. The strata CLI sets it, so `--stats json` and `.timing` say the same against
/// a server as embedded.
pub const STATS_HEADER: &str = "x-strata-stats";

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
}

/// Who is calling, from where, in which session.
struct Caller {
    principal: Principal,
    client: String,
    session: String,
    keep_views: bool,
    /// The client asked for each statement's statistics after its rows ([`STATS_HEADER`]).
    wants_stats: bool,
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
                admission: Admission::new(config.limits.max_running, config.limits.max_queued),
                sql_info: metadata::sql_info(false)?,
                xdbc: metadata::xdbc_types()?,
                log,
                config,
                sessions: Mutex::new(HashMap::new()),
                running: Mutex::new(HashMap::new()),
                bound: Mutex::new(HashMap::new()),
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
        Ok(Caller {
            principal,
            client,
            session,
            keep_views,
            wants_stats,
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

    /// Parse one statement, check the caller may run it, and plan it.
    async fn plan(
        &self,
        caller: &Caller,
        sql: &str,
        schema: &str,
    ) -> Result<(QuerySession, PreparedStatement)> {
        let session = self.inner.engine.session();
        session.set_default_schema(schema);
        let statement = one_statement(&session, sql)?;
        authorize(&caller.principal, &statement)?;
        let limits = &self.inner.config.limits;
        let (session, prepared) = off_workers(caller.deadline, limits, async move {
            let prepared = session.prepare(statement).await;
            (session, prepared)
        })
        .await?;
        Ok((session, prepared?))
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

    /// FlightInfo for a statement: plans it (so bad SQL and denied statements fail here) and
    /// returns one endpoint whose ticket carries the statement.
    async fn statement_info(
        &self,
        caller: &Caller,
        mut handle: Handle,
        descriptor: FlightDescriptor,
    ) -> Result<FlightInfo> {
        let (_, prepared) = self.plan(caller, &handle.sql, &handle.schema).await?;
        let schema = wire_schema(&prepared.schema(), caller.keep_views);
        handle.kind = "ticket".into();
        handle.id = uuid::Uuid::new_v4().simple().to_string();
        if prepared.has_effects() {
            // A write, DDL or procedure has happened when this call returns: clients that
            // never fetch (DB-API `execute` then `close`) must not lose it. The ticket keeps
            // its result, so DoGet replays it and never runs the statement again.
            let (result_schema, batches, _) = self.complete(caller, &handle, prepared).await?;
            handle.set_result(&result_schema, &batches)?;
            handle.params = None;
        }
        let ticket = TicketStatementQuery {
            statement_handle: handle.seal(self.inner.auth.signer())?.into(),
        };
        Ok(FlightInfo::new()
            .try_with_schema(&schema)?
            .with_endpoint(
                FlightEndpoint::new().with_ticket(Ticket::new(ticket.as_any().encode_to_vec())),
            )
            .with_descriptor(descriptor)
            .with_total_records(-1)
            .with_total_bytes(-1)
            .with_ordered(true))
    }

    /// FlightInfo for a metadata command: its ticket is the command itself.
    fn metadata_info(
        &self,
        command: impl ProstMessageExt,
        schema: &Schema,
        descriptor: FlightDescriptor,
    ) -> Result<FlightInfo> {
        Ok(FlightInfo::new()
            .try_with_schema(schema)?
            .with_endpoint(
                FlightEndpoint::new().with_ticket(Ticket::new(command.as_any().encode_to_vec())),
            )
            .with_descriptor(descriptor)
            .with_total_records(-1)
            .with_total_bytes(-1))
    }

    /// Run a ticket's statement and stream its result (or replay the result of a statement
    /// that already ran when its FlightInfo was asked for).
    async fn execute(&self, caller: Caller, handle: Handle) -> Result<DataStream> {
        if let Some((schema, batches)) = handle.result()? {
            let mut entry = Entry::new(&caller.principal.user, &caller.client, "statement")
                .statement(&handle.sql);
            entry.query_id = Some(handle.id.clone());
            entry.rows = batches.iter().map(|b| b.num_rows() as u64).sum();
            self.inner.log.record(&entry);
            return Ok(replay(&schema, batches, caller.keep_views));
        }
        let started = Instant::now();
        let limits = self.inner.config.limits.clone();
        let (_session, prepared) = self.plan(&caller, &handle.sql, &handle.schema).await?;
        if prepared.has_effects() {
            // Only a client that sends a prepared-statement handle as a ticket gets here.
            let (schema, batches, _) = self.complete(&caller, &handle, prepared).await?;
            return Ok(replay(&schema, batches, caller.keep_views));
        }
        // The stream carries the schema GetFlightInfo announced (the planned one): clients
        // refuse a stream whose schema differs, and physical planning may narrow nullability
        // (a folded constant is never null).
        let announced = wire_schema(&prepared.schema(), caller.keep_views);
        let permit = self.inner.admission.admit().await?;
        let params = handle
            .parameter_rows()?
            .into_iter()
            .next()
            .map(ParamValues::from);
        let deadline = caller.deadline;
        let running = off_workers(
            deadline,
            &limits,
            async move { prepared.execute(params).await },
        )
        .await??;
        let wire = metadata::reconcile(&announced, &running.schema);
        let keepalive = keepalive_message(&wire)?;
        let (cancel_tx, mut cancel_rx) = watch::channel(false);
        if let Ok(mut r) = self.inner.running.lock() {
            r.insert(handle.id.clone(), cancel_tx);
        }
        let (tx, rx) = mpsc::channel::<std::result::Result<FlightData, Status>>(2);
        // The error that ends a stream travels apart from the data, so that it reaches a client
        // whose data channel is full (a stalled reader) instead of the stream ending silently.
        let (abort_tx, abort_rx) = oneshot::channel::<Status>();
        let inner = Arc::clone(&self.inner);
        let interval = self.inner.config.keepalive_interval;
        tokio::spawn(async move {
            let permit = permit;
            let (stream, running) = running.take_stream();
            let batches = {
                let wire = Arc::clone(&wire);
                stream
                    .map_err(|e| FlightError::from(datafusion_status(e)))
                    .and_then(move |b| {
                        let out =
                            to_wire(b, &wire).map_err(|e| FlightError::ExternalError(Box::new(e)));
                        async move { out }
                    })
            };
            let mut encoded = FlightDataEncoderBuilder::new()
                .with_schema(Arc::clone(&wire))
                .build(batches);
            let mut rows: u64 = 0;
            let mut bytes: u64 = 0;
            let mut sent_any = false;
            let outcome: std::result::Result<(), Error> = loop {
                let next = tokio::select! {
                    biased;
                    _ = cancel_rx.changed() => {
                        break Err(Error::Cancelled("the query was cancelled".into()));
                    }
                    _ = tx.closed() => {
                        break Err(Error::Cancelled("the client went away".into()));
                    }
                    _ = tokio::time::sleep_until(deadline) => break Err(timeout_error(&limits)),
                    next = tokio::time::timeout(
                        interval,
                        AssertUnwindSafe(encoded.next()).catch_unwind(),
                    ) => next,
                };
                let next = match next {
                    Ok(Err(payload)) => {
                        break Err(Error::Internal(format!(
                            "internal error while running the query: {} (this is a bug in Strata; the server keeps running)",
                            crate::boundary::panic_message(payload.as_ref())
                        )));
                    }
                    Ok(Ok(next)) => Ok(next),
                    Err(elapsed) => Err(elapsed),
                };
                let item = match next {
                    // Nothing for a while: an empty batch keeps proxies from closing the stream.
                    Err(_) if sent_any => {
                        if tx.send(Ok(keepalive.clone())).await.is_err() {
                            break Err(Error::Cancelled("the client went away".into()));
                        }
                        continue;
                    }
                    Err(_) => continue,
                    Ok(None) => break Ok(()),
                    Ok(Some(item)) => item,
                };
                match item {
                    Ok(data) => {
                        bytes += (data.data_body.len() + data.data_header.len()) as u64;
                        if bytes > limits.max_result_bytes {
                            break Err(Error::ResourceExhausted(format!(
                                "the result is larger than the limit of {} bytes (limits.max_result_bytes); add a LIMIT or aggregate",
                                limits.max_result_bytes
                            )));
                        }
                        rows += batch_rows(&data);
                        sent_any = true;
                        match tokio::time::timeout(limits.slow_reader_timeout, tx.send(Ok(data)))
                            .await
                        {
                            Ok(Ok(())) => {}
                            Ok(Err(_)) => {
                                break Err(Error::Cancelled("the client went away".into()));
                            }
                            Err(_) => {
                                break Err(Error::Cancelled(format!(
                                    "the client took no data for {} s (limits.slow_reader_timeout); the query was cancelled",
                                    limits.slow_reader_timeout.as_secs_f64()
                                )));
                            }
                        }
                    }
                    Err(e) => break Err(flight_error(e)),
                }
            };
            drop(encoded);
            let stats = running.stats(rows as usize);
            // Clients that asked (the strata CLI) get the statement's statistics in the
            // app_metadata of one last, empty batch.
            if outcome.is_ok()
                && caller.wants_stats
                && let Ok(json) = serde_json::to_vec(&stats)
            {
                let mut last = keepalive.clone();
                last.app_metadata = json.into();
                let _ = tokio::time::timeout(limits.slow_reader_timeout, tx.send(Ok(last))).await;
            }
            // Free the plan's memory and spill files before reporting.
            drop(running);
            let mut entry = Entry::new(&caller.principal.user, &caller.client, "statement")
                .statement(&handle.sql);
            entry.query_id = Some(handle.id.clone());
            entry.duration_ms = started.elapsed().as_millis();
            entry.rows = rows;
            entry.bytes = bytes;
            entry.files_scanned = stats.files_scanned;
            // The query is over: its slot is free for the next one.
            drop(permit);
            if let Ok(mut r) = inner.running.lock() {
                r.remove(&handle.id);
            }
            if let Err(e) = outcome {
                entry.outcome = e.outcome().into();
                entry.error = Some(e.to_string());
                inner.log.record(&entry);
                let _ = abort_tx.send(e.into());
            } else {
                inner.log.record(&entry);
            }
        });
        Ok(Box::pin(result_stream(rx, abort_rx)))
    }

    /// Run a statement to its end and return the number of rows it changed (DDL: 0).
    /// ADBC bulk ingest: the stream goes through the table writer (bounded memory) and
    /// commits once; nothing is visible if it fails.
    async fn ingest(
        &self,
        caller: &Caller,
        command: CommandStatementIngest,
        data: PeekableFlightDataStream,
    ) -> Result<i64> {
        use arrow_flight::sql::{TableExistsOption as Exists, TableNotExistOption as NotExist};
        use strata_engine::StreamTarget;
        let started = Instant::now();
        authorize_ingest(&caller.principal)?;
        let invalid = Error::InvalidArgument;
        if command.temporary {
            return Err(Error::Unimplemented(
                "bulk ingest into temporary tables is not supported".into(),
            ));
        }
        if command.transaction_id.is_some() {
            return Err(Error::Unimplemented(
                "transactions are not supported: each ingest commits on its own".into(),
            ));
        }
        if let Some(catalog) = &command.catalog
            && !catalog.is_empty()
            && catalog != CATALOG_NAME
        {
            return Err(invalid(format!(
                "unknown catalog '{catalog}': the catalog is '{CATALOG_NAME}'"
            )));
        }
        let options = command.table_definition_options.unwrap_or_default();
        let not_exist = NotExist::try_from(options.if_not_exist).unwrap_or(NotExist::Unspecified);
        let exists = Exists::try_from(options.if_exists).unwrap_or(Exists::Unspecified);
        let target = match (not_exist, exists) {
            (_, Exists::Replace) => {
                return Err(Error::Unimplemented(
                    "bulk ingest with replace is not supported: drop the table first, or append"
                        .into(),
                ));
            }
            (NotExist::Create, Exists::Append) => StreamTarget::CreateOrAppend,
            (NotExist::Create, _) => StreamTarget::Create,
            (_, Exists::Fail) => {
                return Err(invalid(
                    "bulk ingest must be allowed to create the table or append to it".into(),
                ));
            }
            _ => StreamTarget::Append,
        };
        let name = match command.schema.as_deref().filter(|s| !s.is_empty()) {
            Some(schema) => format!("{schema}.{}", command.table),
            None => format!("{}.{}", self.default_schema(caller), command.table),
        };
        let _permit = self.inner.admission.admit().await?;
        let mut batches =
            FlightRecordBatchStream::new_from_flight_data(data.map_err(FlightError::from));
        let first = batches
            .next()
            .await
            .transpose()
            .map_err(|e| invalid(format!("cannot read the ingested data: {e}")))?;
        let schema = batches
            .schema()
            .cloned()
            .or_else(|| first.as_ref().map(|b| b.schema()))
            .ok_or_else(|| invalid("the ingest stream carried no schema".into()))?;
        let rest = batches.map_err(|e| {
            datafusion::error::DataFusionError::External(
                format!("cannot read the ingested data: {e}").into(),
            )
        });
        let stream = futures::stream::iter(first.map(Ok)).chain(rest);
        let stream = Box::pin(
            datafusion::physical_plan::stream::RecordBatchStreamAdapter::new(schema, stream),
        );
        // A stream that never ends must not write forever: the time limit of any query.
        let limits = &self.inner.config.limits;
        let rows = tokio::time::timeout_at(
            caller.deadline,
            self.inner.engine.ingest_stream(&name, target, stream),
        )
        .await
        .map_err(|_| timeout_error(limits))??;
        let mut entry = Entry::new(&caller.principal.user, &caller.client, "ingest")
            .statement(&format!("bulk ingest into {name}"));
        entry.duration_ms = started.elapsed().as_millis();
        entry.rows = rows;
        self.inner.log.record(&entry);
        Ok(rows as i64)
    }

    /// Plan and run an update (`CommandStatementUpdate`, a prepared update) to its end and
    /// return the number of rows it changed (DDL and procedures: 0).
    async fn update(&self, caller: &Caller, handle: &Handle) -> Result<i64> {
        let (_, prepared) = self.plan(caller, &handle.sql, &handle.schema).await?;
        let (_, _, changed) = self.complete(caller, handle, prepared).await?;
        Ok(changed)
    }

    /// Run a planned statement to its end under the server's limits (admission, time limit),
    /// with every bound parameter row (a write commits them all at once), log it, and return
    /// its result and the rows it changed. Used for everything that changes state, whichever
    /// RPC sent it.
    async fn complete(
        &self,
        caller: &Caller,
        handle: &Handle,
        prepared: PreparedStatement,
    ) -> Result<(SchemaRef, Vec<RecordBatch>, i64)> {
        let started = Instant::now();
        let limits = &self.inner.config.limits;
        let _permit = self.inner.admission.admit().await?;
        let rows: Vec<ParamValues> = handle
            .parameter_rows()?
            .into_iter()
            .map(ParamValues::from)
            .collect();
        let command = prepared.is_catalog_command();
        let deadline = caller.deadline;
        let work = async move {
            let mut running = prepared.execute_rows(rows).await?;
            let batches: Vec<RecordBatch> = (&mut running.stream).try_collect().await?;
            let files = running.stats(0).files_scanned;
            Ok::<_, Error>((Arc::clone(&running.schema), batches, files))
        };
        let (schema, batches, files_scanned) = off_workers(deadline, limits, work).await??;
        let changed = if command { 0 } else { changed_rows(&batches) };
        let mut entry =
            Entry::new(&caller.principal.user, &caller.client, "update").statement(&handle.sql);
        entry.query_id = Some(handle.id.clone());
        entry.duration_ms = started.elapsed().as_millis();
        entry.rows = changed.max(0) as u64;
        entry.files_scanned = files_scanned;
        self.inner.log.record(&entry);
        Ok((schema, batches, changed))
    }

    fn bound_key(principal: &Principal, handle: &[u8]) -> String {
        format!("{}:{}", principal.user, crate::auth::sha256_hex(handle))
    }

    fn open_prepared(&self, caller: &Caller, bytes: &[u8]) -> Result<Handle> {
        let mut handle = Handle::open(
            bytes,
            self.inner.auth.signer(),
            "prepared",
            &caller.principal,
        )?;
        if handle.params.is_none()
            && let Ok(bound) = self.inner.bound.lock()
            && let Some(params) = bound.get(&Self::bound_key(&caller.principal, bytes))
        {
            handle.params = params.clone();
        }
        Ok(handle)
    }

    async fn tables_batch(&self, query: CommandGetTables) -> Result<RecordBatch> {
        let table_type = self.inner.config.table_type.clone();
        let include_schema = query.include_schema;
        let mut builder = query.into_builder();
        let engine = &self.inner.engine;
        let catalog = engine.catalog();
        let snapshot = catalog
            .current_snapshot()
            .map_err(strata_engine::Error::from)?;
        for table in catalog
            .list_tables(snapshot)
            .map_err(strata_engine::Error::from)?
        {
            let schema = if include_schema {
                let meta = catalog
                    .require_table(snapshot, &table.schema, &table.name)
                    .map_err(strata_engine::Error::from)?;
                with_column_metadata(
                    &engine.table_schema(meta),
                    CATALOG_NAME,
                    &table.schema,
                    &table.name,
                )
            } else {
                Schema::empty()
            };
            builder.append(
                CATALOG_NAME,
                &table.schema,
                &table.name,
                &table_type,
                &schema,
            )?;
        }
        Ok(builder.build()?)
    }

    fn schemas_batch(&self, query: CommandGetDbSchemas) -> Result<RecordBatch> {
        let mut builder = query.into_builder();
        let catalog = self.inner.engine.catalog();
        let snapshot = catalog
            .current_snapshot()
            .map_err(strata_engine::Error::from)?;
        for schema in catalog
            .list_schemas(snapshot)
            .map_err(strata_engine::Error::from)?
        {
            builder.append(CATALOG_NAME, &schema.name);
        }
        Ok(builder.build()?)
    }

    /// Stream one metadata batch, logging the request.
    fn metadata_stream(
        &self,
        caller: &Caller,
        request: &str,
        batch: Result<RecordBatch>,
    ) -> Result<DataStream> {
        let started = Instant::now();
        let batch = batch.inspect_err(|e| self.record_failure(caller, request, None, e))?;
        let mut entry = Entry::new(&caller.principal.user, &caller.client, request);
        entry.rows = batch.num_rows() as u64;
        entry.duration_ms = started.elapsed().as_millis();
        self.inner.log.record(&entry);
        let schema = batch.schema();
        let stream = FlightDataEncoderBuilder::new()
            .with_schema(schema)
            .build(futures::stream::once(async move { Ok(batch) }))
            .map_err(flight_status);
        Ok(Box::pin(stream))
    }

    fn set_session_options(&self, caller: &Caller, body: &[u8]) -> Result<SetSessionOptionsResult> {
        let request = SetSessionOptionsRequest::decode(body)
            .map_err(|e| Error::InvalidArgument(format!("malformed SetSessionOptions: {e}")))?;
        let mut errors = HashMap::new();
        let mut sessions = self
            .inner
            .sessions
            .lock()
            .map_err(|_| Error::Internal("session lock poisoned".into()))?;
        let options = sessions.entry(caller.session.clone()).or_default();
        for (name, value) in request.session_options {
            let text = match value.option_value {
                Some(OptionValue::StringValue(s)) => Some(s),
                None => None,
                _ => {
                    errors.insert(name, SetSessionOptionsError { value: 2 });
                    continue;
                }
            };
            match name.as_str() {
                "catalog" => match text {
                    Some(c) if c != CATALOG_NAME => {
                        errors.insert(name, SetSessionOptionsError { value: 2 });
                    }
                    c => options.catalog = c,
                },
                "schema" => {
                    let catalog = self.inner.engine.catalog();
                    let exists = match &text {
                        Some(s) => catalog
                            .current_snapshot()
                            .and_then(|snap| catalog.list_schemas(snap))
                            .map(|all| all.iter().any(|x| &x.name == s))
                            .unwrap_or(false),
                        None => true,
                    };
                    if exists {
                        options.schema = text;
                    } else {
                        errors.insert(name, SetSessionOptionsError { value: 2 });
                    }
                }
                _ => {
                    errors.insert(name, SetSessionOptionsError { value: 1 });
                }
            }
        }
        Ok(SetSessionOptionsResult { errors })
    }

    fn get_session_options(&self, caller: &Caller) -> GetSessionOptionsResult {
        let options = self
            .inner
            .sessions
            .lock()
            .ok()
            .and_then(|s| s.get(&caller.session).cloned())
            .unwrap_or_default();
        let mut out = HashMap::new();
        let string = |s: String| SessionOptionValue {
            option_value: Some(OptionValue::StringValue(s)),
        };
        out.insert(
            "catalog".to_string(),
            string(options.catalog.unwrap_or_else(|| CATALOG_NAME.to_string())),
        );
        out.insert(
            "schema".to_string(),
            string(
                options
                    .schema
                    .unwrap_or_else(|| strata_engine::DEFAULT_SCHEMA.to_string()),
            ),
        );
        GetSessionOptionsResult {
            session_options: out,
        }
    }

    /// Cancel the query behind a FlightInfo's ticket.
    fn cancel(&self, caller: &Caller, info: Option<FlightInfo>) -> Result<CancelStatus> {
        let info = info.ok_or_else(|| {
            Error::InvalidArgument("CancelFlightInfo without a FlightInfo".into())
        })?;
        let mut status = CancelStatus::NotCancellable;
        for endpoint in info.endpoint {
            let Some(ticket) = endpoint.ticket else {
                continue;
            };
            let Ok(any) = Any::decode(ticket.ticket.as_ref()) else {
                continue;
            };
            let Ok(Some(t)) = any.unpack::<TicketStatementQuery>() else {
                continue;
            };
            let handle = Handle::open(
                &t.statement_handle,
                self.inner.auth.signer(),
                "ticket",
                &caller.principal,
            )?;
            let running = self
                .inner
                .running
                .lock()
                .map_err(|_| Error::Internal("lock poisoned".into()))?;
            status = match running.get(&handle.id) {
                Some(tx) => {
                    let _ = tx.send(true);
                    CancelStatus::Cancelled
                }
                // Not started or already finished: nothing left to cancel.
                None => CancelStatus::Cancelled,
            };
        }
        Ok(status)
    }
}

fn one_statement(session: &QuerySession, sql: &str) -> Result<Statement> {
    let mut statements = session.parse(sql)?;
    match statements.len() {
        1 => Ok(statements.remove(0)),
        0 => Err(Error::InvalidArgument(
            "the request holds no SQL statement".into(),
        )),
        n => Err(Error::InvalidArgument(format!(
            "send one statement per request (got {n})"
        ))),
    }
}

/// Run `work` on a blocking thread of the current runtime, bounded by `deadline`. For work
/// with synchronous parts that nothing can interrupt — planning and optimizing, which
/// DataFusion 55 does in seconds for a few hundred nested calls — so that it holds no worker
/// thread: the deadline fires on time and other requests keep their threads. Past the
/// deadline the caller gets its error at once and the work stops at its next await point
/// (its abort handle is dropped with the task's).
async fn off_workers<T: Send + 'static>(
    deadline: tokio::time::Instant,
    limits: &crate::config::LimitsConfig,
    work: impl Future<Output = T> + Send + 'static,
) -> Result<T> {
    let runtime = tokio::runtime::Handle::current();
    let (abort, registration) = futures::future::AbortHandle::new_pair();
    let task = tokio::task::spawn_blocking(move || {
        runtime.block_on(futures::future::Abortable::new(work, registration))
    });
    let _abort_on_drop = scopeguard(abort);
    match tokio::time::timeout_at(deadline, task).await {
        Err(_) => Err(timeout_error(limits)),
        Ok(Err(e)) => match e.try_into_panic() {
            Ok(payload) => std::panic::resume_unwind(payload),
            Err(e) => Err(Error::Internal(format!("the query's thread ended: {e}"))),
        },
        Ok(Ok(Err(futures::future::Aborted))) => Err(timeout_error(limits)),
        Ok(Ok(Ok(value))) => Ok(value),
    }
}

/// Aborts the work behind `handle` when dropped (deadline passed, or the client went away).
fn scopeguard(handle: futures::future::AbortHandle) -> impl Drop {
    struct Guard(futures::future::AbortHandle);
    impl Drop for Guard {
        fn drop(&mut self) {
            self.0.abort();
        }
    }
    Guard(handle)
}

fn timeout_error(limits: &crate::config::LimitsConfig) -> Error {
    Error::Timeout(format!(
        "the query ran longer than the limit of {} s (limits.query_timeout)",
        limits.query_timeout.as_secs_f64()
    ))
}

fn datafusion_status(e: datafusion::error::DataFusionError) -> Status {
    Error::Engine(e.into()).into()
}

fn flight_error(e: FlightError) -> Error {
    match e {
        FlightError::Tonic(status) => match status.code() {
            tonic::Code::ResourceExhausted => {
                Error::ResourceExhausted(status.message().to_string())
            }
            tonic::Code::InvalidArgument => Error::InvalidArgument(status.message().to_string()),
            _ => Error::Internal(status.message().to_string()),
        },
        other => Error::Internal(other.to_string()),
    }
}

fn flight_status(e: FlightError) -> Status {
    match e {
        FlightError::Tonic(status) => *status,
        other => Status::internal(other.to_string()),
    }
}

/// The messages of a running query, ended by its error when it fails.
fn result_stream(
    mut rx: mpsc::Receiver<std::result::Result<FlightData, Status>>,
    abort: oneshot::Receiver<Status>,
) -> impl Stream<Item = std::result::Result<FlightData, Status>> + Send {
    use std::task::Poll;
    // `None` once the abort channel has answered (a oneshot may be polled to completion once).
    let mut abort = Some(abort);
    let mut done = false;
    futures::stream::poll_fn(move |cx| {
        if done {
            return Poll::Ready(None);
        }
        if let Some(receiver) = abort.as_mut()
            && let Poll::Ready(answer) = std::pin::Pin::new(receiver).poll(cx)
        {
            abort = None;
            if let Ok(status) = answer {
                done = true;
                return Poll::Ready(Some(Err(status)));
            }
        }
        match rx.poll_recv(cx) {
            // The data is over; a failure is reported first, above, when the task ends.
            Poll::Ready(None) if abort.is_some() => Poll::Pending,
            other => other,
        }
    })
}

/// A result already computed, as a Flight data stream.
fn replay(schema: &SchemaRef, batches: Vec<RecordBatch>, keep_views: bool) -> DataStream {
    let wire = wire_schema(schema, keep_views);
    let batches: Vec<_> = batches
        .into_iter()
        .map(|b| to_wire(b, &wire).map_err(|e| FlightError::ExternalError(Box::new(e))))
        .collect();
    let stream = FlightDataEncoderBuilder::new()
        .with_schema(wire)
        .build(futures::stream::iter(batches))
        .map_err(flight_status);
    Box::pin(stream)
}

/// Rows of an encoded record batch message (0 for schema and dictionary messages).
fn batch_rows(data: &FlightData) -> u64 {
    arrow::ipc::root_as_message(&data.data_header)
        .ok()
        .and_then(|m| m.header_as_record_batch())
        .map_or(0, |b| b.length().max(0) as u64)
}

/// An encoded empty batch of `schema`, sent while a query is silent.
fn keepalive_message(schema: &SchemaRef) -> Result<FlightData> {
    let empty = RecordBatch::new_empty(Arc::clone(schema));
    let messages = arrow_flight::utils::batches_to_flight_data(schema, vec![empty])?;
    messages
        .into_iter()
        .last()
        .ok_or_else(|| Error::Internal("cannot encode an empty batch".into()))
}

/// Rows a DML statement reports in its `count` column, else the rows it returned.
fn changed_rows(batches: &[RecordBatch]) -> i64 {
    let counts: Option<i64> = batches
        .iter()
        .map(|b| {
            (b.num_columns() == 1 && b.schema().field(0).name() == "count")
                .then(|| b.column(0).as_any().downcast_ref::<UInt64Array>().cloned())
                .flatten()
                .map(|c| c.iter().flatten().sum::<u64>() as i64)
        })
        .sum();
    counts.unwrap_or_else(|| batches.iter().map(|b| b.num_rows() as i64).sum())
}

fn ipc_schema(schema: &Schema) -> Result<bytes::Bytes> {
    let IpcMessage(bytes) = SchemaAsIpc::new(schema, &Default::default()).try_into()?;
    Ok(bytes)
}

fn decode_body<M: Message + Default>(action: &Action, what: &str) -> Result<M> {
    M::decode(action.body.as_ref())
        .map_err(|e| Error::InvalidArgument(format!("malformed {what} request: {e}")))
}

macro_rules! status {
    ($e:expr) => {
        $e.map_err(Status::from)
    };
}

#[tonic::async_trait]
impl FlightSqlService for StrataFlightSql {
    type FlightService = StrataFlightSql;

    async fn do_handshake(
        &self,
        request: Request<Streaming<HandshakeRequest>>,
    ) -> std::result::Result<
        Response<
            Pin<Box<dyn Stream<Item = std::result::Result<HandshakeResponse, Status>> + Send>>,
        >,
        Status,
    > {
        let caller = status!(self.caller(&request))?;
        let token = if self.inner.auth.enabled() {
            status!(self.inner.auth.issue(&caller.principal))?
        } else {
            String::new()
        };
        let mut entry = Entry::new(&caller.principal.user, &caller.client, "handshake");
        entry.outcome = "ok".into();
        self.inner.log.record(&entry);
        let reply = HandshakeResponse {
            protocol_version: 0,
            payload: token.clone().into(),
        };
        let mut response: Response<Pin<Box<dyn Stream<Item = _> + Send>>> =
            Response::new(Box::pin(futures::stream::iter(vec![Ok(reply)])));
        if !token.is_empty() {
            // ADBC reads the token from this header, not from the payload (apache/arrow#40665).
            let value = MetadataValue::try_from(format!("Bearer {token}"))
                .map_err(|_| Status::internal("token is not a valid header value"))?;
            response.metadata_mut().insert("authorization", value);
        }
        Ok(response)
    }

    async fn get_flight_info_statement(
        &self,
        query: CommandStatementQuery,
        request: Request<FlightDescriptor>,
    ) -> std::result::Result<Response<FlightInfo>, Status> {
        let caller = status!(self.caller(&request))?;
        let handle = Handle::new(
            "ticket",
            &caller.principal,
            &query.query,
            &self.default_schema(&caller),
        );
        let info = self
            .statement_info(&caller, handle, request.into_inner())
            .await
            .inspect_err(|e| self.record_failure(&caller, "statement", Some(&query.query), e));
        Ok(Response::new(status!(info)?))
    }

    async fn get_flight_info_prepared_statement(
        &self,
        cmd: CommandPreparedStatementQuery,
        request: Request<FlightDescriptor>,
    ) -> std::result::Result<Response<FlightInfo>, Status> {
        let caller = status!(self.caller(&request))?;
        let handle = status!(self.open_prepared(&caller, &cmd.prepared_statement_handle))?;
        let sql = handle.sql.clone();
        let info = self
            .statement_info(&caller, handle, request.into_inner())
            .await
            .inspect_err(|e| self.record_failure(&caller, "prepared", Some(&sql), e));
        Ok(Response::new(status!(info)?))
    }

    async fn get_flight_info_catalogs(
        &self,
        query: CommandGetCatalogs,
        request: Request<FlightDescriptor>,
    ) -> std::result::Result<Response<FlightInfo>, Status> {
        status!(self.caller(&request))?;
        let schema = query.into_builder().schema();
        Ok(Response::new(status!(self.metadata_info(
            query,
            &schema,
            request.into_inner()
        ))?))
    }

    async fn get_flight_info_schemas(
        &self,
        query: CommandGetDbSchemas,
        request: Request<FlightDescriptor>,
    ) -> std::result::Result<Response<FlightInfo>, Status> {
        status!(self.caller(&request))?;
        let schema = query.clone().into_builder().schema();
        Ok(Response::new(status!(self.metadata_info(
            query,
            &schema,
            request.into_inner()
        ))?))
    }

    async fn get_flight_info_tables(
        &self,
        query: CommandGetTables,
        request: Request<FlightDescriptor>,
    ) -> std::result::Result<Response<FlightInfo>, Status> {
        status!(self.caller(&request))?;
        let schema = query.clone().into_builder().schema();
        Ok(Response::new(status!(self.metadata_info(
            query,
            &schema,
            request.into_inner()
        ))?))
    }

    async fn get_flight_info_table_types(
        &self,
        query: CommandGetTableTypes,
        request: Request<FlightDescriptor>,
    ) -> std::result::Result<Response<FlightInfo>, Status> {
        status!(self.caller(&request))?;
        let schema = query.into_builder().schema();
        Ok(Response::new(status!(self.metadata_info(
            query,
            &schema,
            request.into_inner()
        ))?))
    }

    async fn get_flight_info_sql_info(
        &self,
        query: CommandGetSqlInfo,
        request: Request<FlightDescriptor>,
    ) -> std::result::Result<Response<FlightInfo>, Status> {
        status!(self.caller(&request))?;
        let schema = query.clone().into_builder(&self.inner.sql_info).schema();
        Ok(Response::new(status!(self.metadata_info(
            query,
            &schema,
            request.into_inner()
        ))?))
    }

    async fn get_flight_info_primary_keys(
        &self,
        query: CommandGetPrimaryKeys,
        request: Request<FlightDescriptor>,
    ) -> std::result::Result<Response<FlightInfo>, Status> {
        status!(self.caller(&request))?;
        Ok(Response::new(status!(self.metadata_info(
            query,
            &keys::primary_keys_schema(),
            request.into_inner()
        ))?))
    }

    async fn get_flight_info_exported_keys(
        &self,
        query: CommandGetExportedKeys,
        request: Request<FlightDescriptor>,
    ) -> std::result::Result<Response<FlightInfo>, Status> {
        status!(self.caller(&request))?;
        Ok(Response::new(status!(self.metadata_info(
            query,
            &keys::foreign_keys_schema(),
            request.into_inner()
        ))?))
    }

    async fn get_flight_info_imported_keys(
        &self,
        query: CommandGetImportedKeys,
        request: Request<FlightDescriptor>,
    ) -> std::result::Result<Response<FlightInfo>, Status> {
        status!(self.caller(&request))?;
        Ok(Response::new(status!(self.metadata_info(
            query,
            &keys::foreign_keys_schema(),
            request.into_inner()
        ))?))
    }

    async fn get_flight_info_cross_reference(
        &self,
        query: CommandGetCrossReference,
        request: Request<FlightDescriptor>,
    ) -> std::result::Result<Response<FlightInfo>, Status> {
        status!(self.caller(&request))?;
        Ok(Response::new(status!(self.metadata_info(
            query,
            &keys::foreign_keys_schema(),
            request.into_inner()
        ))?))
    }

    async fn get_flight_info_xdbc_type_info(
        &self,
        query: CommandGetXdbcTypeInfo,
        request: Request<FlightDescriptor>,
    ) -> std::result::Result<Response<FlightInfo>, Status> {
        status!(self.caller(&request))?;
        let schema = query.into_builder(&self.inner.xdbc).schema();
        Ok(Response::new(status!(self.metadata_info(
            query,
            &schema,
            request.into_inner()
        ))?))
    }

    async fn do_get_statement(
        &self,
        ticket: TicketStatementQuery,
        request: Request<Ticket>,
    ) -> std::result::Result<Response<<Self as FlightService>::DoGetStream>, Status> {
        let caller = status!(self.caller(&request))?;
        let handle = Handle::open(
            &ticket.statement_handle,
            self.inner.auth.signer(),
            "ticket",
            &caller.principal,
        )
        .inspect_err(|e| self.record_failure(&caller, "statement", None, e));
        let handle = status!(handle)?;
        let sql = handle.sql.clone();
        let stream = self
            .execute(
                Caller {
                    ..caller_clone(&caller)
                },
                handle,
            )
            .await
            .inspect_err(|e| self.record_failure(&caller, "statement", Some(&sql), e));
        Ok(Response::new(status!(stream)?))
    }

    async fn do_get_prepared_statement(
        &self,
        query: CommandPreparedStatementQuery,
        request: Request<Ticket>,
    ) -> std::result::Result<Response<<Self as FlightService>::DoGetStream>, Status> {
        let caller = status!(self.caller(&request))?;
        let handle = status!(self.open_prepared(&caller, &query.prepared_statement_handle))?;
        let sql = handle.sql.clone();
        let stream = self
            .execute(caller_clone(&caller), handle)
            .await
            .inspect_err(|e| self.record_failure(&caller, "prepared", Some(&sql), e));
        Ok(Response::new(status!(stream)?))
    }

    async fn do_get_catalogs(
        &self,
        query: CommandGetCatalogs,
        request: Request<Ticket>,
    ) -> std::result::Result<Response<<Self as FlightService>::DoGetStream>, Status> {
        let caller = status!(self.caller(&request))?;
        let mut builder = query.into_builder();
        builder.append(CATALOG_NAME);
        let batch = builder.build().map_err(Error::from);
        Ok(Response::new(status!(self.metadata_stream(
            &caller,
            "get_catalogs",
            batch
        ))?))
    }

    async fn do_get_schemas(
        &self,
        query: CommandGetDbSchemas,
        request: Request<Ticket>,
    ) -> std::result::Result<Response<<Self as FlightService>::DoGetStream>, Status> {
        let caller = status!(self.caller(&request))?;
        let batch = self.schemas_batch(query);
        Ok(Response::new(status!(self.metadata_stream(
            &caller,
            "get_db_schemas",
            batch
        ))?))
    }

    async fn do_get_tables(
        &self,
        query: CommandGetTables,
        request: Request<Ticket>,
    ) -> std::result::Result<Response<<Self as FlightService>::DoGetStream>, Status> {
        let caller = status!(self.caller(&request))?;
        let batch = self.tables_batch(query).await;
        Ok(Response::new(status!(self.metadata_stream(
            &caller,
            "get_tables",
            batch
        ))?))
    }

    async fn do_get_table_types(
        &self,
        query: CommandGetTableTypes,
        request: Request<Ticket>,
    ) -> std::result::Result<Response<<Self as FlightService>::DoGetStream>, Status> {
        let caller = status!(self.caller(&request))?;
        let mut builder = query.into_builder();
        builder.append(&self.inner.config.table_type);
        let batch = builder.build().map_err(Error::from);
        Ok(Response::new(status!(self.metadata_stream(
            &caller,
            "get_table_types",
            batch
        ))?))
    }

    async fn do_get_sql_info(
        &self,
        query: CommandGetSqlInfo,
        request: Request<Ticket>,
    ) -> std::result::Result<Response<<Self as FlightService>::DoGetStream>, Status> {
        let caller = status!(self.caller(&request))?;
        let batch = query
            .into_builder(&self.inner.sql_info)
            .build()
            .map_err(Error::from);
        Ok(Response::new(status!(self.metadata_stream(
            &caller,
            "get_sql_info",
            batch
        ))?))
    }

    async fn do_get_primary_keys(
        &self,
        _query: CommandGetPrimaryKeys,
        request: Request<Ticket>,
    ) -> std::result::Result<Response<<Self as FlightService>::DoGetStream>, Status> {
        let caller = status!(self.caller(&request))?;
        let batch = Ok(RecordBatch::new_empty(
            Arc::new(keys::primary_keys_schema()),
        ));
        Ok(Response::new(status!(self.metadata_stream(
            &caller,
            "get_primary_keys",
            batch
        ))?))
    }

    async fn do_get_exported_keys(
        &self,
        _query: CommandGetExportedKeys,
        request: Request<Ticket>,
    ) -> std::result::Result<Response<<Self as FlightService>::DoGetStream>, Status> {
        let caller = status!(self.caller(&request))?;
        let batch = Ok(RecordBatch::new_empty(
            Arc::new(keys::foreign_keys_schema()),
        ));
        Ok(Response::new(status!(self.metadata_stream(
            &caller,
            "get_exported_keys",
            batch
        ))?))
    }

    async fn do_get_imported_keys(
        &self,
        _query: CommandGetImportedKeys,
        request: Request<Ticket>,
    ) -> std::result::Result<Response<<Self as FlightService>::DoGetStream>, Status> {
        let caller = status!(self.caller(&request))?;
        let batch = Ok(RecordBatch::new_empty(
            Arc::new(keys::foreign_keys_schema()),
        ));
        Ok(Response::new(status!(self.metadata_stream(
            &caller,
            "get_imported_keys",
            batch
        ))?))
    }

    async fn do_get_cross_reference(
        &self,
        _query: CommandGetCrossReference,
        request: Request<Ticket>,
    ) -> std::result::Result<Response<<Self as FlightService>::DoGetStream>, Status> {
        let caller = status!(self.caller(&request))?;
        let batch = Ok(RecordBatch::new_empty(
            Arc::new(keys::foreign_keys_schema()),
        ));
        Ok(Response::new(status!(self.metadata_stream(
            &caller,
            "get_cross_reference",
            batch
        ))?))
    }

    async fn do_get_xdbc_type_info(
        &self,
        query: CommandGetXdbcTypeInfo,
        request: Request<Ticket>,
    ) -> std::result::Result<Response<<Self as FlightService>::DoGetStream>, Status> {
        let caller = status!(self.caller(&request))?;
        let batch = query
            .into_builder(&self.inner.xdbc)
            .build()
            .map_err(Error::from);
        Ok(Response::new(status!(self.metadata_stream(
            &caller,
            "get_xdbc_type_info",
            batch
        ))?))
    }

    async fn do_put_statement_update(
        &self,
        command: CommandStatementUpdate,
        request: Request<PeekableFlightDataStream>,
    ) -> std::result::Result<i64, Status> {
        let caller = status!(self.caller(&request))?;
        let handle = Handle::new(
            "prepared",
            &caller.principal,
            &command.query,
            &self.default_schema(&caller),
        );
        let result = self
            .update(&caller, &handle)
            .await
            .inspect_err(|e| self.record_failure(&caller, "update", Some(&command.query), e));
        status!(result)
    }

    async fn do_put_statement_ingest(
        &self,
        command: CommandStatementIngest,
        request: Request<PeekableFlightDataStream>,
    ) -> std::result::Result<i64, Status> {
        let caller = status!(self.caller(&request))?;
        let what = format!("bulk ingest into {}", command.table);
        let result = self
            .ingest(&caller, command, request.into_inner())
            .await
            .inspect_err(|e| self.record_failure(&caller, "ingest", Some(&what), e));
        status!(result)
    }

    async fn do_put_prepared_statement_query(
        &self,
        query: CommandPreparedStatementQuery,
        request: Request<PeekableFlightDataStream>,
    ) -> std::result::Result<DoPutPreparedStatementResult, Status> {
        let caller = status!(self.caller(&request))?;
        let mut handle = status!(self.open_prepared(&caller, &query.prepared_statement_handle))?;
        let batches = read_parameters(
            request.into_inner(),
            self.inner.config.limits.max_request_bytes,
        )
        .await?;
        status!(handle.bind(&batches))?;
        if let Ok(mut bound) = self.inner.bound.lock() {
            if bound.len() > 10_000 {
                bound.clear();
            }
            bound.insert(
                Self::bound_key(&caller.principal, &query.prepared_statement_handle),
                handle.params.clone(),
            );
        }
        let sealed = status!(handle.seal(self.inner.auth.signer()))?;
        Ok(DoPutPreparedStatementResult {
            prepared_statement_handle: Some(sealed.into()),
        })
    }

    async fn do_put_prepared_statement_update(
        &self,
        query: CommandPreparedStatementUpdate,
        request: Request<PeekableFlightDataStream>,
    ) -> std::result::Result<i64, Status> {
        let caller = status!(self.caller(&request))?;
        let mut handle = status!(self.open_prepared(&caller, &query.prepared_statement_handle))?;
        let batches = read_parameters(
            request.into_inner(),
            self.inner.config.limits.max_request_bytes,
        )
        .await?;
        if batches.iter().any(|b| b.num_rows() > 0) {
            status!(handle.bind(&batches))?;
        }
        let sql = handle.sql.clone();
        let result = self
            .update(&caller, &handle)
            .await
            .inspect_err(|e| self.record_failure(&caller, "update", Some(&sql), e));
        status!(result)
    }

    async fn do_action_create_prepared_statement(
        &self,
        query: ActionCreatePreparedStatementRequest,
        request: Request<Action>,
    ) -> std::result::Result<ActionCreatePreparedStatementResult, Status> {
        let caller = status!(self.caller(&request))?;
        let schema = self.default_schema(&caller);
        let planned = self
            .plan(&caller, &query.query, &schema)
            .await
            .inspect_err(|e| self.record_failure(&caller, "prepare", Some(&query.query), e));
        let (_, prepared) = status!(planned)?;
        let dataset = wire_schema(&prepared.schema(), caller.keep_views);
        let parameters = status!(prepared.parameter_schema().map_err(Error::from))?;
        let handle = Handle::new("prepared", &caller.principal, &query.query, &schema);
        Ok(ActionCreatePreparedStatementResult {
            prepared_statement_handle: status!(handle.seal(self.inner.auth.signer()))?.into(),
            dataset_schema: status!(ipc_schema(&dataset))?,
            parameter_schema: status!(ipc_schema(&parameters))?,
        })
    }

    async fn do_action_close_prepared_statement(
        &self,
        query: ActionClosePreparedStatementRequest,
        request: Request<Action>,
    ) -> std::result::Result<(), Status> {
        let caller = status!(self.caller(&request))?;
        // Handles are stateless; only parameters remembered for old clients are forgotten.
        if let Ok(mut bound) = self.inner.bound.lock() {
            bound.remove(&Self::bound_key(
                &caller.principal,
                &query.prepared_statement_handle,
            ));
        }
        Ok(())
    }

    async fn do_action_cancel_query(
        &self,
        query: ActionCancelQueryRequest,
        request: Request<Action>,
    ) -> std::result::Result<ActionCancelQueryResult, Status> {
        let caller = status!(self.caller(&request))?;
        let info = FlightInfo::decode(query.info.as_ref())
            .map_err(|e| Status::invalid_argument(format!("malformed FlightInfo: {e}")))?;
        let status = status!(self.cancel(&caller, Some(info)))?;
        Ok(ActionCancelQueryResult {
            result: status as i32,
        })
    }

    async fn do_action_fallback(
        &self,
        request: Request<Action>,
    ) -> std::result::Result<Response<<Self as FlightService>::DoActionStream>, Status> {
        let caller = status!(self.caller(&request))?;
        let action = request.into_inner();
        let body: Vec<u8> = match action.r#type.as_str() {
            "CancelFlightInfo" => {
                let req: CancelFlightInfoRequest =
                    status!(decode_body(&action, "CancelFlightInfo"))?;
                let status = status!(self.cancel(&caller, req.info))?;
                CancelFlightInfoResult {
                    status: status as i32,
                }
                .encode_to_vec()
            }
            "SetSessionOptions" => {
                status!(self.set_session_options(&caller, &action.body))?.encode_to_vec()
            }
            "GetSessionOptions" => self.get_session_options(&caller).encode_to_vec(),
            "CloseSession" => {
                if let Ok(mut s) = self.inner.sessions.lock() {
                    s.remove(&caller.session);
                }
                CloseSessionResult { status: 1 }.encode_to_vec()
            }
            other => {
                return Err(Status::invalid_argument(format!(
                    "unknown action '{other}'"
                )));
            }
        };
        let result = arrow_flight::Result { body: body.into() };
        Ok(Response::new(Box::pin(futures::stream::iter(vec![Ok(
            result,
        )]))))
    }

    async fn register_sql_info(&self, _id: i32, _result: &SqlInfo) {}
}

fn caller_clone(c: &Caller) -> Caller {
    Caller {
        principal: c.principal.clone(),
        client: c.client.clone(),
        session: c.session.clone(),
        keep_views: c.keep_views,
        wants_stats: c.wants_stats,
        deadline: c.deadline,
    }
}

/// Parameter batches sent with DoPut (the first message carries the descriptor and schema).
async fn read_parameters(
    stream: PeekableFlightDataStream,
    max_bytes: usize,
) -> std::result::Result<Vec<RecordBatch>, Status> {
    let mut batches = Vec::new();
    let mut bytes = 0;
    let mut stream =
        FlightRecordBatchStream::new_from_flight_data(stream.map_err(FlightError::from));
    while let Some(batch) = stream.next().await {
        let batch = batch.map_err(|e| {
            Status::invalid_argument(format!("cannot read the bound parameters: {e}"))
        })?;
        bytes += batch.get_array_memory_size();
        if bytes > max_bytes {
            return Err(Error::ResourceExhausted(format!(
                "the bound parameters are larger than {max_bytes} bytes (limits.max_request_bytes); bind fewer rows at a time"
            ))
            .into());
        }
        if batch.num_rows() > 0 {
            batches.push(batch);
        }
    }
    Ok(batches)
}

/// The shapes of the key commands' (always empty) results.
mod keys {
    use arrow::datatypes::{DataType, Field, Schema};

    pub fn primary_keys_schema() -> Schema {
        Schema::new(vec![
            Field::new("catalog_name", DataType::Utf8, true),
            Field::new("db_schema_name", DataType::Utf8, true),
            Field::new("table_name", DataType::Utf8, false),
            Field::new("column_name", DataType::Utf8, false),
            Field::new("key_name", DataType::Utf8, true),
            Field::new("key_sequence", DataType::Int32, false),
        ])
    }

    pub fn foreign_keys_schema() -> Schema {
        Schema::new(vec![
            Field::new("pk_catalog_name", DataType::Utf8, true),
            Field::new("pk_db_schema_name", DataType::Utf8, true),
            Field::new("pk_table_name", DataType::Utf8, false),
            Field::new("pk_column_name", DataType::Utf8, false),
            Field::new("fk_catalog_name", DataType::Utf8, true),
            Field::new("fk_db_schema_name", DataType::Utf8, true),
            Field::new("fk_table_name", DataType::Utf8, false),
            Field::new("fk_column_name", DataType::Utf8, false),
            Field::new("key_sequence", DataType::Int32, false),
            Field::new("fk_key_name", DataType::Utf8, true),
            Field::new("pk_key_name", DataType::Utf8, true),
            Field::new("update_rule", DataType::UInt8, false),
            Field::new("delete_rule", DataType::UInt8, false),
        ])
    }
}
