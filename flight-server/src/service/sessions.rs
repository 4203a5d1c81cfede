//! Sessions: session options (catalog, schema), cancellation of running queries.

use super::*;

impl StrataFlightSql {
    pub(super) fn set_session_options(
        &self,
        caller: &Caller,
        body: &[u8],
    ) -> Result<SetSessionOptionsResult> {
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

    pub(super) fn get_session_options(&self, caller: &Caller) -> GetSessionOptionsResult {
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
    pub(super) fn cancel(&self, caller: &Caller, info: Option<FlightInfo>) -> Result<CancelStatus> {
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
            // A plan kept for the ticket is dropped: the query is no longer wanted.
            let _ = self.take_planned(&handle.id, &caller.principal.user);
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
