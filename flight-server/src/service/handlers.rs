//! The Flight SQL transport: each RPC of `FlightSqlService` authenticates the caller and hands
//! over to statements, results, sessions or the catalog metadata path.

use super::*;

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
        self.metadata_flight_info(request, MetadataRequest::Catalogs(query))
    }

    async fn get_flight_info_schemas(
        &self,
        query: CommandGetDbSchemas,
        request: Request<FlightDescriptor>,
    ) -> std::result::Result<Response<FlightInfo>, Status> {
        self.metadata_flight_info(request, MetadataRequest::Schemas(query))
    }

    async fn get_flight_info_tables(
        &self,
        query: CommandGetTables,
        request: Request<FlightDescriptor>,
    ) -> std::result::Result<Response<FlightInfo>, Status> {
        self.metadata_flight_info(request, MetadataRequest::Tables(query))
    }

    async fn get_flight_info_table_types(
        &self,
        query: CommandGetTableTypes,
        request: Request<FlightDescriptor>,
    ) -> std::result::Result<Response<FlightInfo>, Status> {
        self.metadata_flight_info(request, MetadataRequest::TableTypes(query))
    }

    async fn get_flight_info_sql_info(
        &self,
        query: CommandGetSqlInfo,
        request: Request<FlightDescriptor>,
    ) -> std::result::Result<Response<FlightInfo>, Status> {
        self.metadata_flight_info(request, MetadataRequest::SqlInfo(query))
    }

    async fn get_flight_info_primary_keys(
        &self,
        query: CommandGetPrimaryKeys,
        request: Request<FlightDescriptor>,
    ) -> std::result::Result<Response<FlightInfo>, Status> {
        self.metadata_flight_info(request, MetadataRequest::PrimaryKeys(query))
    }

    async fn get_flight_info_exported_keys(
        &self,
        query: CommandGetExportedKeys,
        request: Request<FlightDescriptor>,
    ) -> std::result::Result<Response<FlightInfo>, Status> {
        self.metadata_flight_info(request, MetadataRequest::ExportedKeys(query))
    }

    async fn get_flight_info_imported_keys(
        &self,
        query: CommandGetImportedKeys,
        request: Request<FlightDescriptor>,
    ) -> std::result::Result<Response<FlightInfo>, Status> {
        self.metadata_flight_info(request, MetadataRequest::ImportedKeys(query))
    }

    async fn get_flight_info_cross_reference(
        &self,
        query: CommandGetCrossReference,
        request: Request<FlightDescriptor>,
    ) -> std::result::Result<Response<FlightInfo>, Status> {
        self.metadata_flight_info(request, MetadataRequest::CrossReference(query))
    }

    async fn get_flight_info_xdbc_type_info(
        &self,
        query: CommandGetXdbcTypeInfo,
        request: Request<FlightDescriptor>,
    ) -> std::result::Result<Response<FlightInfo>, Status> {
        self.metadata_flight_info(request, MetadataRequest::XdbcTypeInfo(query))
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
        self.metadata_do_get(request, MetadataRequest::Catalogs(query))
            .await
    }

    async fn do_get_schemas(
        &self,
        query: CommandGetDbSchemas,
        request: Request<Ticket>,
    ) -> std::result::Result<Response<<Self as FlightService>::DoGetStream>, Status> {
        self.metadata_do_get(request, MetadataRequest::Schemas(query))
            .await
    }

    async fn do_get_tables(
        &self,
        query: CommandGetTables,
        request: Request<Ticket>,
    ) -> std::result::Result<Response<<Self as FlightService>::DoGetStream>, Status> {
        self.metadata_do_get(request, MetadataRequest::Tables(query))
            .await
    }

    async fn do_get_table_types(
        &self,
        query: CommandGetTableTypes,
        request: Request<Ticket>,
    ) -> std::result::Result<Response<<Self as FlightService>::DoGetStream>, Status> {
        self.metadata_do_get(request, MetadataRequest::TableTypes(query))
            .await
    }

    async fn do_get_sql_info(
        &self,
        query: CommandGetSqlInfo,
        request: Request<Ticket>,
    ) -> std::result::Result<Response<<Self as FlightService>::DoGetStream>, Status> {
        self.metadata_do_get(request, MetadataRequest::SqlInfo(query))
            .await
    }

    async fn do_get_primary_keys(
        &self,
        query: CommandGetPrimaryKeys,
        request: Request<Ticket>,
    ) -> std::result::Result<Response<<Self as FlightService>::DoGetStream>, Status> {
        self.metadata_do_get(request, MetadataRequest::PrimaryKeys(query))
            .await
    }

    async fn do_get_exported_keys(
        &self,
        query: CommandGetExportedKeys,
        request: Request<Ticket>,
    ) -> std::result::Result<Response<<Self as FlightService>::DoGetStream>, Status> {
        self.metadata_do_get(request, MetadataRequest::ExportedKeys(query))
            .await
    }

    async fn do_get_imported_keys(
        &self,
        query: CommandGetImportedKeys,
        request: Request<Ticket>,
    ) -> std::result::Result<Response<<Self as FlightService>::DoGetStream>, Status> {
        self.metadata_do_get(request, MetadataRequest::ImportedKeys(query))
            .await
    }

    async fn do_get_cross_reference(
        &self,
        query: CommandGetCrossReference,
        request: Request<Ticket>,
    ) -> std::result::Result<Response<<Self as FlightService>::DoGetStream>, Status> {
        self.metadata_do_get(request, MetadataRequest::CrossReference(query))
            .await
    }

    async fn do_get_xdbc_type_info(
        &self,
        query: CommandGetXdbcTypeInfo,
        request: Request<Ticket>,
    ) -> std::result::Result<Response<<Self as FlightService>::DoGetStream>, Status> {
        self.metadata_do_get(request, MetadataRequest::XdbcTypeInfo(query))
            .await
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
        let prepared = status!(planned)?;
        let dataset = wire_schema(&prepared.schema(), caller.keep_views);
        let parameters = status!(prepared.parameter_schema().map_err(Error::from))?;
        let handle = Handle::new("prepared", &caller.principal, &query.query, &schema);
        let result = ActionCreatePreparedStatementResult {
            prepared_statement_handle: status!(handle.seal(self.inner.auth.signer()))?.into(),
            dataset_schema: status!(ipc_schema(&dataset))?,
            parameter_schema: status!(ipc_schema(&parameters))?,
        };
        if prepared.is_query() {
            self.keep_prepared(&handle.id, &caller, prepared);
        }
        Ok(result)
    }

    async fn do_action_close_prepared_statement(
        &self,
        query: ActionClosePreparedStatementRequest,
        request: Request<Action>,
    ) -> std::result::Result<(), Status> {
        let caller = status!(self.caller(&request))?;
        // Handles are stateless; only parameters remembered for old clients, and a plan
        // never executed, are forgotten.
        if let Ok(handle) = Handle::open(
            &query.prepared_statement_handle,
            self.inner.auth.signer(),
            "prepared",
            &caller.principal,
        ) {
            self.take_prepared(&handle.id, &caller);
        }
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
