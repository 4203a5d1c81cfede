//! Result streaming: a ticket's statement runs and its batches go to the client under the
//! limits (result bytes, slow readers, deadline, cancellation), with keepalives, panics caught,
//! and, when asked, the statement's statistics after the rows.

use super::*;

impl StrataFlightSql {
    /// Run a ticket's statement and stream its result (or replay the result of a statement
    /// that already ran when its FlightInfo was asked for).
    pub(super) async fn execute(&self, caller: Caller, handle: Handle) -> Result<DataStream> {
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
        let ready = match self.take_planned(&handle.id, &caller.principal.user) {
            Some(ready) => ready,
            None => match self.plan_query(&caller, &handle).await? {
                // Planned here: `started` already counts it.
                Planning::Query(ready) => ReadyQuery {
                    planning: std::time::Duration::ZERO,
                    ..ready
                },
                // Only a client that sends a prepared-statement handle as a ticket gets here.
                Planning::Effects(prepared) => {
                    let (schema, batches, _) = self.complete(&caller, &handle, *prepared).await?;
                    return Ok(replay(&schema, batches, caller.keep_views));
                }
            },
        };
        let announced = wire_schema(&ready.announced, caller.keep_views);
        let (running, planning) = (ready.running, ready.planning);
        let deadline = caller.deadline;
        // Admitted once planned, weighed by what its scans read: the plan starts when its
        // stream is first polled, after this.
        let heavy = running.bytes_to_read() >= limits.heavy_query_bytes;
        let permit = self.inner.admission.admit(heavy).await?;
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
            let past_deadline = tokio::time::sleep_until(deadline);
            tokio::pin!(past_deadline);
            let outcome: std::result::Result<(), Error> = loop {
                let next = tokio::select! {
                    biased;
                    _ = cancel_rx.changed() => {
                        break Err(Error::Cancelled("the query was cancelled".into()));
                    }
                    _ = tx.closed() => {
                        break Err(Error::Cancelled("the client went away".into()));
                    }
                    _ = &mut past_deadline => break Err(timeout_error(&limits)),
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
            let mut entry = Entry::new(&caller.principal.user, &caller.client, "statement")
                .statement(&handle.sql);
            entry.query_id = Some(handle.id.clone());
            entry.duration_ms = (planning + started.elapsed()).as_millis();
            entry.rows = rows;
            entry.bytes = bytes;
            entry.files_scanned = stats.files_scanned;
            entry.requests = stats.requests.total();
            entry.cache_hits = stats.requests.cache_hits;
            entry.cache_hit_bytes = stats.requests.cache_hit_bytes;
            entry.disk_cache_hits = stats.requests.disk_cache_hits;
            entry.result_cache = stats.result_cache.clone();
            entry.cluster = stats.cluster;
            if let Err(e) = &outcome {
                entry.outcome = e.outcome().into();
                entry.error = Some(e.to_string());
            }
            inner.log.record(&entry);
            // The query is over: its slot is free for the next one, and it can no longer be
            // cancelled (a later run of the same handle registers its own).
            if let Ok(mut r) = inner.running.lock() {
                r.remove(&handle.id);
            }
            drop(permit);
            // The client's answer is complete: end its stream now (with the error, if any)
            // rather than after the plan is dropped. Dropping a plan that built large hash
            // tables takes milliseconds the client need not wait for; its memory stays counted
            // in the pool until then.
            drop(tx);
            match outcome {
                Err(e) => {
                    let _ = abort_tx.send(e.into());
                }
                Ok(()) => drop(abort_tx),
            }
            // Free the plan's memory and spill files.
            drop(running);
        });
        Ok(Box::pin(result_stream(rx, abort_rx)))
    }
}

pub(super) fn datafusion_status(e: datafusion::error::DataFusionError) -> Status {
    Error::Engine(e.into()).into()
}

pub(super) fn flight_error(e: FlightError) -> Error {
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

pub(super) fn flight_status(e: FlightError) -> Status {
    match e {
        FlightError::Tonic(status) => *status,
        other => Status::internal(other.to_string()),
    }
}

/// The messages of a running query, ended by its error when it fails.
pub(super) fn result_stream(
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
pub(super) fn replay(
    schema: &SchemaRef,
    batches: Vec<RecordBatch>,
    keep_views: bool,
) -> DataStream {
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
pub(super) fn batch_rows(data: &FlightData) -> u64 {
    arrow::ipc::root_as_message(&data.data_header)
        .ok()
        .and_then(|m| m.header_as_record_batch())
        .map_or(0, |b| b.length().max(0) as u64)
}

/// An encoded empty batch of `schema`, sent while a query is silent.
pub(super) fn keepalive_message(schema: &SchemaRef) -> Result<FlightData> {
    let empty = RecordBatch::new_empty(Arc::clone(schema));
    let messages = arrow_flight::utils::batches_to_flight_data(schema, vec![empty])?;
    messages
        .into_iter()
        .last()
        .ok_or_else(|| Error::Internal("cannot encode an empty batch".into()))
}
