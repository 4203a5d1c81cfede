//! Metadata requests (GetCatalogs, GetDbSchemas, GetTables, GetTableTypes, GetSqlInfo,
//! GetXdbcTypeInfo, keys): one table-driven path — each request is a [`MetadataRequest`] with
//! its schema and its one batch — so the handlers are one line each.

use super::*;

impl StrataFlightSql {
    /// FlightInfo for a metadata command: its ticket is the command itself.
    pub(super) fn metadata_info(
        &self,
        command: Any,
        schema: &Schema,
        descriptor: FlightDescriptor,
    ) -> Result<FlightInfo> {
        Ok(FlightInfo::new()
            .try_with_schema(schema)?
            .with_endpoint(FlightEndpoint::new().with_ticket(Ticket::new(command.encode_to_vec())))
            .with_descriptor(descriptor)
            .with_total_records(-1)
            .with_total_bytes(-1))
    }

    fn tables_batch(&self, query: CommandGetTables) -> Result<RecordBatch> {
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
                    &engine.lake().table_schema(meta),
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
    pub(super) fn metadata_stream(
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

/// A Flight SQL metadata request. Each has a result schema (for its FlightInfo) and one batch
/// (for its DoGet), and its ticket is the command itself.
pub(super) enum MetadataRequest {
    Catalogs(CommandGetCatalogs),
    Schemas(CommandGetDbSchemas),
    Tables(CommandGetTables),
    TableTypes(CommandGetTableTypes),
    SqlInfo(CommandGetSqlInfo),
    XdbcTypeInfo(CommandGetXdbcTypeInfo),
    PrimaryKeys(CommandGetPrimaryKeys),
    ExportedKeys(CommandGetExportedKeys),
    ImportedKeys(CommandGetImportedKeys),
    CrossReference(CommandGetCrossReference),
}

impl MetadataRequest {
    /// The request's name in the query log.
    fn name(&self) -> &'static str {
        match self {
            MetadataRequest::Catalogs(_) => "get_catalogs",
            MetadataRequest::Schemas(_) => "get_db_schemas",
            MetadataRequest::Tables(_) => "get_tables",
            MetadataRequest::TableTypes(_) => "get_table_types",
            MetadataRequest::SqlInfo(_) => "get_sql_info",
            MetadataRequest::XdbcTypeInfo(_) => "get_xdbc_type_info",
            MetadataRequest::PrimaryKeys(_) => "get_primary_keys",
            MetadataRequest::ExportedKeys(_) => "get_exported_keys",
            MetadataRequest::ImportedKeys(_) => "get_imported_keys",
            MetadataRequest::CrossReference(_) => "get_cross_reference",
        }
    }

    /// The command, packed as a ticket.
    fn ticket(&self) -> Any {
        match self {
            MetadataRequest::Catalogs(q) => q.as_any(),
            MetadataRequest::Schemas(q) => q.as_any(),
            MetadataRequest::Tables(q) => q.as_any(),
            MetadataRequest::TableTypes(q) => q.as_any(),
            MetadataRequest::SqlInfo(q) => q.as_any(),
            MetadataRequest::XdbcTypeInfo(q) => q.as_any(),
            MetadataRequest::PrimaryKeys(q) => q.as_any(),
            MetadataRequest::ExportedKeys(q) => q.as_any(),
            MetadataRequest::ImportedKeys(q) => q.as_any(),
            MetadataRequest::CrossReference(q) => q.as_any(),
        }
    }
}

impl StrataFlightSql {
    /// The schema of a metadata request's result.
    fn metadata_schema(&self, request: &MetadataRequest) -> Schema {
        match request {
            MetadataRequest::Catalogs(q) => (*q).into_builder().schema().as_ref().clone(),
            MetadataRequest::Schemas(q) => q.clone().into_builder().schema().as_ref().clone(),
            MetadataRequest::Tables(q) => q.clone().into_builder().schema().as_ref().clone(),
            MetadataRequest::TableTypes(q) => (*q).into_builder().schema().as_ref().clone(),
            MetadataRequest::SqlInfo(q) => q
                .clone()
                .into_builder(&self.inner.sql_info)
                .schema()
                .as_ref()
                .clone(),
            MetadataRequest::XdbcTypeInfo(q) => (*q)
                .into_builder(&self.inner.xdbc)
                .schema()
                .as_ref()
                .clone(),
            MetadataRequest::PrimaryKeys(_) => keys::primary_keys_schema(),
            MetadataRequest::ExportedKeys(_)
            | MetadataRequest::ImportedKeys(_)
            | MetadataRequest::CrossReference(_) => keys::foreign_keys_schema(),
        }
    }

    /// The one batch of a metadata request's result. Strata has no keys: those are empty.
    async fn metadata_batch(&self, request: MetadataRequest) -> Result<RecordBatch> {
        match request {
            MetadataRequest::Catalogs(q) => {
                let mut builder = q.into_builder();
                builder.append(CATALOG_NAME);
                Ok(builder.build()?)
            }
            // The catalog is read synchronously (SQLite, or PostgreSQL through a pool): on a
            // blocking thread, so that a slow catalog holds up no other request.
            MetadataRequest::Schemas(q) => {
                self.on_blocking_thread(move |this| this.schemas_batch(q))
                    .await
            }
            MetadataRequest::Tables(q) => {
                self.on_blocking_thread(move |this| this.tables_batch(q))
                    .await
            }
            MetadataRequest::TableTypes(q) => {
                let mut builder = q.into_builder();
                builder.append(&self.inner.config.table_type);
                Ok(builder.build()?)
            }
            MetadataRequest::SqlInfo(q) => Ok(q.into_builder(&self.inner.sql_info).build()?),
            MetadataRequest::XdbcTypeInfo(q) => Ok(q.into_builder(&self.inner.xdbc).build()?),
            other => Ok(RecordBatch::new_empty(Arc::new(
                self.metadata_schema(&other),
            ))),
        }
    }

    /// Run catalog work on a blocking thread.
    async fn on_blocking_thread<T: Send + 'static>(
        &self,
        work: impl FnOnce(&Self) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let this = self.clone();
        tokio::task::spawn_blocking(move || work(&this))
            .await
            .map_err(|e| Error::Internal(format!("a catalog read ended: {e}")))?
    }

    /// GetFlightInfo of any metadata request.
    pub(super) fn metadata_flight_info(
        &self,
        request: Request<FlightDescriptor>,
        command: MetadataRequest,
    ) -> std::result::Result<Response<FlightInfo>, Status> {
        status!(self.caller(&request))?;
        let schema = self.metadata_schema(&command);
        Ok(Response::new(status!(self.metadata_info(
            command.ticket(),
            &schema,
            request.into_inner()
        ))?))
    }

    /// DoGet of any metadata request.
    pub(super) async fn metadata_do_get(
        &self,
        request: Request<Ticket>,
        command: MetadataRequest,
    ) -> std::result::Result<Response<DataStream>, Status> {
        let caller = status!(self.caller(&request))?;
        let name = command.name();
        let batch = self.metadata_batch(command).await;
        Ok(Response::new(status!(
            self.metadata_stream(&caller, name, batch)
        )?))
    }
}
