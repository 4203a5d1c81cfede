//! Statements: parse, authorize and plan one statement (planning off the async workers,
//! under the call's deadline), describe it (FlightInfo), and run writes, DDL and procedures to
//! completion before the reply; updates, prepared updates with N parameter rows, bulk ingest.

use super::*;

impl StrataFlightSql {
    /// Parse one statement and check the caller may run it, in a session of the caller's.
    fn authorized(
        &self,
        caller: &Caller,
        sql: &str,
        schema: &str,
    ) -> Result<(QuerySession, Statement)> {
        let mut session = self.inner.engine.session();
        session.set_default_schema(schema);
        // Entries are shared within a role: roles decide what may run, not what a query sees.
        session.set_result_cache(caller.result_cache, caller.principal.role.as_str());
        let statement = one_statement(&session, sql)?;
        authorize(&caller.principal, &statement)?;
        Ok((session, statement))
    }

    /// Parse one statement, check the caller may run it, and plan it.
    pub(super) async fn plan(
        &self,
        caller: &Caller,
        sql: &str,
        schema: &str,
    ) -> Result<PreparedStatement> {
        let (session, statement) = self.authorized(caller, sql, schema)?;
        let limits = &self.inner.config.limits;
        off_workers(caller.deadline, limits, async move {
            session.prepare(statement).await
        })
        .await?
        .map_err(Error::from)
    }

    /// Plan a ticket's statement: a query down to its physical plan, not started (DoGet
    /// admits and starts it), in one trip off the workers; a statement with effects only as
    /// far as [`Self::complete`] takes it.
    pub(super) async fn plan_query(&self, caller: &Caller, handle: &Handle) -> Result<Planning> {
        let params = handle
            .parameter_rows()?
            .into_iter()
            .next()
            .map(ParamValues::from);
        let limits = &self.inner.config.limits;
        let started = Instant::now();
        // A prepared statement's first execution runs the plan CreatePreparedStatement made,
        // unless something committed since (then it is planned again, below).
        if handle.kind == "prepared"
            && let Some(prepared) = self.take_prepared(&handle.id, caller)
        {
            let params = params.clone();
            let ready = off_workers(caller.deadline, limits, async move {
                if !prepared.is_current_query()? {
                    return Ok(None);
                }
                ready_query(prepared, params, started).await.map(Some)
            })
            .await??;
            if let Some(ready) = ready {
                return Ok(ready);
            }
        }
        let (session, statement) = self.authorized(caller, &handle.sql, &handle.schema)?;
        off_workers(caller.deadline, limits, async move {
            let prepared = session.prepare(statement).await?;
            if prepared.has_effects() {
                return Ok(Planning::Effects(Box::new(prepared)));
            }
            ready_query(prepared, params, started).await
        })
        .await?
    }

    /// FlightInfo for a statement: plans it (so bad SQL and denied statements fail here) and
    /// returns one endpoint whose ticket carries the statement.
    pub(super) async fn statement_info(
        &self,
        caller: &Caller,
        mut handle: Handle,
        descriptor: FlightDescriptor,
    ) -> Result<FlightInfo> {
        let planning = self.plan_query(caller, &handle).await?;
        handle.kind = "ticket".into();
        handle.id = uuid::Uuid::new_v4().simple().to_string();
        let schema = match planning {
            Planning::Effects(prepared) => {
                // A write, DDL or procedure has happened when this call returns: clients that
                // never fetch (DB-API `execute` then `close`) must not lose it. The ticket
                // keeps its result, so DoGet replays it and never runs the statement again.
                let schema = wire_schema(&prepared.schema(), caller.keep_views);
                let (result_schema, batches, _) = self.complete(caller, &handle, *prepared).await?;
                handle.set_result(&result_schema, &batches)?;
                handle.params = None;
                schema
            }
            Planning::Query(ready) => {
                let schema = wire_schema(&ready.announced, caller.keep_views);
                // A plan holds its files until it runs or expires, and a client may never
                // come for it: one over many files is planned again by DoGet instead.
                if ready.running.files_to_read() <= PLANNED_FILES_MAX {
                    self.keep_planned(&handle.id, &caller.principal.user, ready);
                }
                schema
            }
        };
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

    /// Run a statement to its end and return the number of rows it changed (DDL: 0).
    /// ADBC bulk ingest: the stream goes through the table writer (bounded memory) and
    /// commits once; nothing is visible if it fails.
    pub(super) async fn ingest(
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
        let _permit = self.inner.admission.admit(false).await?;
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
            self.inner
                .engine
                .lake()
                .ingest_stream(&name, target, stream),
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
    pub(super) async fn update(&self, caller: &Caller, handle: &Handle) -> Result<i64> {
        let prepared = self.plan(caller, &handle.sql, &handle.schema).await?;
        let (_, _, changed) = self.complete(caller, handle, prepared).await?;
        Ok(changed)
    }

    /// Run a planned statement to its end under the server's limits (admission, time limit),
    /// with every bound parameter row (a write commits them all at once), log it, and return
    /// its result and the rows it changed. Used for everything that changes state, whichever
    /// RPC sent it.
    pub(super) async fn complete(
        &self,
        caller: &Caller,
        handle: &Handle,
        prepared: PreparedStatement,
    ) -> Result<(SchemaRef, Vec<RecordBatch>, i64)> {
        let started = Instant::now();
        let limits = &self.inner.config.limits;
        let _permit = self.inner.admission.admit(false).await?;
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

    pub(super) fn bound_key(principal: &Principal, handle: &[u8]) -> String {
        format!("{}:{}", principal.user, crate::auth::sha256_hex(handle))
    }

    pub(super) fn open_prepared(&self, caller: &Caller, bytes: &[u8]) -> Result<Handle> {
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
}

/// A query's physical plan, not started.
async fn ready_query(
    prepared: PreparedStatement,
    params: Option<ParamValues>,
    started: Instant,
) -> Result<Planning> {
    // The stream carries the schema GetFlightInfo announces (the logical one): clients refuse
    // a stream whose schema differs, and physical planning may narrow nullability (a folded
    // constant is never null).
    let announced = prepared.schema();
    let running = prepared.execute(params).await?;
    Ok(Planning::Query(ReadyQuery {
        announced,
        running,
        planning: started.elapsed(),
    }))
}

pub(super) fn one_statement(session: &QuerySession, sql: &str) -> Result<Statement> {
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
pub(super) async fn off_workers<T: Send + 'static>(
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
pub(super) fn scopeguard(handle: futures::future::AbortHandle) -> impl Drop {
    struct Guard(futures::future::AbortHandle);
    impl Drop for Guard {
        fn drop(&mut self) {
            self.0.abort();
        }
    }
    Guard(handle)
}

/// Rows a DML statement reports in its `count` column, else the rows it returned.
pub(super) fn changed_rows(batches: &[RecordBatch]) -> i64 {
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

/// Parameter batches sent with DoPut (the first message carries the descriptor and schema).
pub(super) async fn read_parameters(
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
