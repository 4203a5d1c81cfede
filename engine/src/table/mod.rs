//! `CatalogTable`: the DataFusion `TableProvider` of a catalog table.
//!
//! Planning asks the catalog for candidate files (pre-filtered in SQL on min/max and partition
//! values), prunes them again in memory with DataFusion's `PruningPredicate`, attaches per-file
//! statistics and the footer size, and reads through the cached Parquet reader factory: no
//! directory listing and no footer re-reads at query time.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use arrow::array::{RecordBatch, StringArray};
use arrow::compute::{CastOptions, cast_with_options};
use arrow::datatypes::{DataType, Field, FieldRef, Schema, SchemaRef, TimeUnit};
use async_trait::async_trait;
use datafusion::catalog::Session;
use datafusion::common::stats::Precision;
use datafusion::common::{ColumnStatistics, ScalarValue, Statistics};
use datafusion::config::TableParquetOptions;
use datafusion::datasource::listing::PartitionedFile;
use datafusion::datasource::memory::MemorySourceConfig;
use datafusion::datasource::physical_plan::{FileScanConfigBuilder, ParquetSource};
use datafusion::datasource::source::DataSourceExec;
use datafusion::datasource::table_schema::TableSchema;
use datafusion::datasource::{TableProvider, TableType};
use datafusion::error::{DataFusionError, Result};
use datafusion::execution::object_store::ObjectStoreRegistry;
use datafusion::logical_expr::{Expr, TableProviderFilterPushDown};
use datafusion::physical_expr_adapter::PhysicalExprAdapterFactory;
use datafusion::physical_plan::empty::EmptyExec;
use datafusion::physical_plan::union::UnionExec;
use datafusion::physical_plan::{ExecutionPlan, Partitioning};
use strata_catalog::{Catalog, DataFile, SnapshotId, TableMeta};

use crate::dictionary_pruning::DictionaryFilters;
use crate::field_ids::FieldIdAdapterFactory;
use crate::file_groups::{balance, first_files, pieces_for_latency};
use crate::file_index::{BuiltScan, ScanShape};
use crate::parquet_reader::{CatalogReaderFactory, Reading};
use crate::pruning::decode_scalar;
use crate::requests::RequestCounter;
use crate::scan_exec::{CatalogScanExec, FooterPrefetch, ScanSummary};
use crate::storage::Stores;

mod insert_plan;
mod select;

use select::Chosen;

/// A catalog table at one snapshot.
#[derive(Debug)]
pub struct CatalogTable {
    catalog: Arc<Catalog>,
    stores: Arc<Stores>,
    meta: TableMeta,
    /// Stored columns, then columns whose values come from partition values (Hive layout).
    schema: SchemaRef,
    file_schema: SchemaRef,
    partition_fields: Vec<FieldRef>,
    /// For each field of `schema`, its column in `meta.columns`.
    schema_columns: Vec<usize>,
    /// When set, only these files are read.
    only_files: Option<Arc<HashSet<i64>>>,
}

impl CatalogTable {
    pub fn new(catalog: Arc<Catalog>, stores: Arc<Stores>, meta: TableMeta) -> Self {
        let field = |c: &strata_catalog::Column| {
            Arc::new(Field::new(&c.name, c.data_type.clone(), c.nullable))
        };
        let stored: Vec<FieldRef> = meta
            .columns
            .iter()
            .filter(|c| !c.from_path)
            .map(field)
            .collect();
        let partition_fields: Vec<FieldRef> = meta
            .columns
            .iter()
            .filter(|c| c.from_path)
            .map(field)
            .collect();
        let file_schema = Arc::new(Schema::new(stored.clone()));
        let schema_columns = (meta.columns.iter().enumerate())
            .filter(|(_, c)| !c.from_path)
            .chain(meta.columns.iter().enumerate().filter(|(_, c)| c.from_path))
            .map(|(i, _)| i)
            .collect();
        let schema = Arc::new(Schema::new(
            stored
                .into_iter()
                .chain(partition_fields.iter().cloned())
                .collect::<Vec<_>>(),
        ));
        CatalogTable {
            catalog,
            stores,
            meta,
            schema,
            file_schema,
            partition_fields,
            schema_columns,
            only_files: None,
        }
    }

    /// The catalog's view of the table.
    pub fn meta(&self) -> &TableMeta {
        &self.meta
    }

    /// Whether this reads the whole table as of `snapshot` (not a time-travel read of an older
    /// snapshot, nor a chosen set of its files): what the result cache may key on.
    pub(crate) fn reads_whole_table_at(&self, snapshot: SnapshotId) -> bool {
        self.only_files.is_none() && self.meta.snapshot == snapshot
    }

    /// Only read the files with these ids (a compaction reads the files it replaces).
    pub(crate) fn with_files(mut self, ids: HashSet<i64>) -> Self {
        self.only_files = Some(Arc::new(ids));
        self
    }

    /// Value of a path-derived column for one file.
    fn partition_value(&self, file: &DataFile, field: &Field) -> ScalarValue {
        let typed_null = || ScalarValue::try_from(field.data_type()).unwrap_or(ScalarValue::Null);
        let Some(column) = self.meta.column_by_name(field.name()) else {
            return typed_null();
        };
        let key = self
            .meta
            .partition
            .iter()
            .find(|p| p.column_id == column.column_id)
            .map(|p| p.key_index);
        let raw = key
            .and_then(|k| file.partition_values.iter().find(|(i, _)| *i == k))
            .and_then(|(_, v)| v.as_deref())
            .or_else(|| {
                file.column_stats(column.column_id)
                    .and_then(|s| s.min.as_deref())
            });
        raw.and_then(|v| decode_scalar(v, field.data_type()))
            .unwrap_or_else(typed_null)
    }

    /// DataFusion statistics of one file for the table-schema columns `columns` (indices into
    /// the table schema), in that order.
    fn file_statistics(&self, file: &DataFile, columns: &[usize]) -> Statistics {
        let no_deletes = file.deletes.is_none() && file.inlined_deletes.is_empty();
        let num_rows = self.live_rows(file);
        let columns = columns
            .iter()
            .map(|&i| {
                let field = self.schema.field(i);
                let mut stats = ColumnStatistics::new_unknown();
                let column = &self.meta.columns[self.schema_columns[i]];
                if column.from_path {
                    return self.partition_statistics(file, field, num_rows);
                }
                let Some(s) = file.column_stats(column.column_id) else {
                    return stats;
                };
                // Deleted rows may have held some of the NULLs: the count is no longer known.
                if let Some(n) = s.null_count
                    && file.deletes.is_none()
                    && file.inlined_deletes.is_empty()
                {
                    stats.null_count = Precision::Exact(n as usize);
                }
                // Parquet bounds of strings and binaries may be truncated, and floats leave NaN
                // out, so those are only estimates; integers, dates and timestamps are the
                // exact extremes of the file's values, as long as no row of it was deleted.
                // Exact bounds let `min`/`max` be answered from the catalog without reading the
                // file.
                let exact_bounds = no_deletes && exact_type(field.data_type());
                let wrap = |v: ScalarValue| {
                    if exact_bounds {
                        Precision::Exact(v)
                    } else {
                        Precision::Inexact(v)
                    }
                };
                if let Some(v) = s
                    .min
                    .as_deref()
                    .and_then(|t| decode_scalar(t, field.data_type()))
                {
                    stats.min_value = wrap(v);
                }
                if let Some(v) = s
                    .max
                    .as_deref()
                    .and_then(|t| decode_scalar(t, field.data_type()))
                {
                    stats.max_value = wrap(v);
                }
                stats
            })
            .collect();
        Statistics {
            num_rows,
            // Left unknown, as DataFusion's own Parquet statistics leave it: its join selection
            // trusts a byte size over a row count, and the file's size (compressed, every
            // column) overstates what a join's build side holds, so a filtered small table was
            // repartitioned with its large partner instead of broadcast (TPC-H q16 1.23× of
            // datafusion-cli).
            total_byte_size: Precision::Inexact(file.file_size as usize),
            column_statistics: columns,
        }
    }

    /// The live rows of a file: exact unless deletes of both kinds might overlap or a delete
    /// file does not record its count.
    fn live_rows(&self, file: &DataFile) -> Precision<usize> {
        let inlined = file.inlined_deletes.len() as i64;
        match (&file.deletes, inlined) {
            (None, n) => Precision::Exact((file.record_count - n).max(0) as usize),
            // Both kinds at once might overlap: only an estimate.
            (Some(_), n) if n > 0 => Precision::Inexact(file.record_count as usize),
            (Some(d), _) => match d.delete_count {
                Some(n) => Precision::Exact((file.record_count - n).max(0) as usize),
                None => Precision::Inexact(file.record_count as usize),
            },
        }
    }

    /// Statistics of a path-derived column: the value the scan gives every row of the file
    /// ([`Self::partition_value`]), so bounds and NULL count agree with what is read. A file
    /// with no live row has no bounds (merged into the table's, they would widen them).
    fn partition_statistics(
        &self,
        file: &DataFile,
        field: &Field,
        rows: Precision<usize>,
    ) -> ColumnStatistics {
        let mut stats = ColumnStatistics::new_unknown();
        let value = self.partition_value(file, field);
        match rows {
            Precision::Exact(0) => {
                stats.null_count = Precision::Exact(0);
            }
            Precision::Exact(n) if value.is_null() => stats.null_count = Precision::Exact(n),
            Precision::Exact(_) => {
                stats.null_count = Precision::Exact(0);
                stats.min_value = Precision::Exact(value.clone());
                stats.max_value = Precision::Exact(value);
            }
            _ if value.is_null() => {}
            _ => {
                stats.null_count = Precision::Exact(0);
                stats.min_value = Precision::Inexact(value.clone());
                stats.max_value = Precision::Inexact(value);
            }
        }
        stats
    }
}

/// Whether a Parquet writer's min/max of this type, as the catalog encodes them, are the
/// column's exact extremes (the catalog keeps time zone timestamps to microseconds).
fn exact_type(t: &DataType) -> bool {
    matches!(
        t,
        DataType::Int8
            | DataType::Int16
            | DataType::Int32
            | DataType::Int64
            | DataType::UInt8
            | DataType::UInt16
            | DataType::UInt32
            | DataType::UInt64
            | DataType::Date32
            | DataType::Date64
            | DataType::Timestamp(
                TimeUnit::Second | TimeUnit::Millisecond | TimeUnit::Microsecond,
                _
            )
    )
}

#[async_trait]
impl TableProvider for CatalogTable {
    fn schema(&self) -> SchemaRef {
        Arc::clone(&self.schema)
    }

    /// For `EXPLAIN INSERT`: the rows to insert under Strata's writer (which runs writes its
    /// own way; see `insert_plan.rs`).
    async fn insert_into(
        &self,
        _state: &dyn Session,
        input: Arc<dyn ExecutionPlan>,
        _insert_op: datafusion::logical_expr::dml::InsertOp,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let table = format!("{}.{}", self.meta.schema, self.meta.name);
        let sink = insert_plan::StrataWriter::new(table, Arc::clone(&self.schema));
        Ok(Arc::new(datafusion::datasource::sink::DataSinkExec::new(
            input,
            Arc::new(sink),
            None,
        )))
    }

    fn table_type(&self) -> TableType {
        TableType::Base
    }

    fn supports_filters_pushdown(
        &self,
        filters: &[&Expr],
    ) -> Result<Vec<TableProviderFilterPushDown>> {
        // Filters on partition columns keep or drop whole files and are applied exactly by the
        // scan; the others prune files by statistics but leave rows to DataFusion's filter.
        Ok(filters
            .iter()
            .map(|f| {
                if self.decided_per_file(f) {
                    TableProviderFilterPushDown::Exact
                } else {
                    TableProviderFilterPushDown::Inexact
                }
            })
            .collect())
    }

    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        limit: Option<usize>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let files = self.scan_files(state, projection, filters, limit).await?;
        // Rows DuckDB inlined into the catalog database join the files' rows; filters stay
        // above the scan (they are pushed down inexactly), so they apply to both. A read of
        // chosen files (a compaction's) reads those files only: the inlined rows stay in the
        // catalog, and rewriting them into a file would count them twice.
        let inlined = if self.meta.location.is_none() && self.only_files.is_none() {
            self.inlined_batch()?
        } else {
            None
        };
        match inlined {
            None => Ok(files),
            Some(batch) => {
                let rows = MemorySourceConfig::try_new_exec(
                    &[vec![batch]],
                    Arc::clone(&self.schema),
                    projection.cloned(),
                )?;
                UnionExec::try_new(vec![files, rows])
            }
        }
    }
}

impl CatalogTable {
    /// The rows DuckDB inlined into the catalog for this table, live at its snapshot, as one
    /// batch of the table's schema (`None` when there are none).
    fn inlined_batch(&self) -> Result<Option<RecordBatch>> {
        let rows = self
            .catalog
            .inlined_rows(&self.meta)
            .map_err(|e| DataFusionError::External(Box::new(e)))?;
        if rows.is_empty() {
            return Ok(None);
        }
        let columns = self
            .schema
            .fields()
            .iter()
            .map(|field| {
                let k = self
                    .meta
                    .columns
                    .iter()
                    .position(|c| c.name == *field.name());
                let text = StringArray::from_iter(
                    rows.iter().map(|r| k.and_then(|k| r[k].as_deref())),
                );
                let options = CastOptions {
                    safe: false,
                    ..Default::default()
                };
                cast_with_options(&text, field.data_type(), &options).map_err(|e| {
                    DataFusionError::Execution(format!(
                        "cannot read the rows DuckDB inlined into the catalog for column '{}' of table '{}.{}': {e}",
                        field.name(),
                        self.meta.schema,
                        self.meta.name
                    ))
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Some(RecordBatch::try_new(
            Arc::clone(&self.schema),
            columns,
        )?))
    }

    /// The scan of the table's Parquet files.
    async fn scan_files(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        limit: Option<usize>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let (total_files, catalog_candidates, chosen) =
            self.select_files(state, projection, filters).await?;
        let (files, bytes) = chosen.size();
        let bytes_per_value = Arc::new(chosen.bytes_per_value(&self.meta));
        let summary = ScanSummary {
            table: format!("{}.{}", self.meta.schema, self.meta.name),
            snapshot: self.meta.snapshot,
            total_files,
            catalog_candidates,
            files,
            bytes,
            answered: 0,
        };
        let projected = match projection {
            Some(p) => Arc::new(self.schema.project(p)?),
            None => Arc::clone(&self.schema),
        };
        if files == 0 {
            return Ok(Arc::new(CatalogScanExec::new(
                Arc::new(EmptyExec::new(projected)),
                summary,
            )));
        }

        // DataFusion is given only the stored columns the scan outputs (all partition columns
        // stay, as every file carries their values): per-file statistics and their merge cost
        // one entry per column and file, which for a wide table (100 columns, 250 files) was
        // most of a small query's planning time.
        let scan = ScanColumns::new(
            self.file_schema.fields().len(),
            self.schema.fields().len(),
            projection,
        );
        let table_schema = TableSchema::builder(Arc::new(self.file_schema.project(&scan.stored)?))
            .with_table_partition_cols(self.partition_fields.clone())
            .build();
        let target_partitions = state.config_options().execution.target_partitions;
        let built = match chosen {
            Chosen::Files(files) => {
                self.build_scan(files, &scan, &table_schema, target_partitions)
                    .await?
            }
            // Every file of the table: the file index keeps the scan built over them for the
            // table's version.
            Chosen::All(indexed) => {
                let index = self.stores.file_index().ok_or_else(|| {
                    DataFusionError::Internal("files chosen from no file index".into())
                })?;
                let shape = ScanShape {
                    columns: scan.table.clone(),
                    stats: indexed.column_ids(),
                    target_partitions,
                };
                match index.built_scan(&indexed, &shape) {
                    Some(built) => built.as_ref().clone(),
                    None => {
                        let files = indexed.all_files(&self.meta);
                        let built = self
                            .build_scan(files, &scan, &table_schema, target_partitions)
                            .await?;
                        index.keep_scan(&indexed, &shape, Arc::new(built.clone()));
                        built
                    }
                }
            }
        };
        let BuiltScan {
            store_url,
            groups,
            statistics: table_stats,
        } = built;
        let remote = store_url != Stores::local_url();

        let runtime = state.runtime_env();
        // The statement's counter, when it has one, counts the scan's requests (a query is
        // planned on the engine's runtime and run on its own).
        let counter = state.config().get_extension::<RequestCounter>();
        let store = match &counter {
            Some(counter) => self
                .stores
                .registry(Arc::clone(counter))
                .get_store(store_url.as_ref())?,
            None => runtime.object_store(&store_url)?,
        };
        let reading = Arc::new(Reading::default());
        let dictionary = Arc::new(DictionaryFilters::default());
        let reader = Arc::new(
            CatalogReaderFactory::on_stores(
                &self.stores,
                store,
                &store_url,
                runtime.cache_manager.get_file_metadata_cache(),
                state.config_options().execution.parquet.enable_page_index,
                counter,
                Arc::clone(&reading),
            )
            .with_dictionary_filters(Arc::clone(&dictionary)),
        );
        let mut options = TableParquetOptions::new();
        options.global = state.config_options().execution.parquet.clone();
        let source = ParquetSource::new(table_schema)
            .with_table_parquet_options(options)
            .with_parquet_file_reader_factory(Arc::clone(&reader) as _);
        // On object storage, the footers the scan reads first are read as soon as the
        // statement starts executing.
        let prefetch = remote.then(|| {
            Arc::new(FooterPrefetch::new(
                Arc::clone(&reader),
                first_files(&groups),
            ))
        });
        // On object storage, declaring the grouping keeps the optimizer from regrouping the
        // files to one group per core (and from splitting a file across groups, which would
        // read its footer twice). So it does for a scan of thousands of files a group anywhere:
        // DataFusion asks the Parquet scan under `CatalogScanExec` to regroup itself too, and
        // that copied and regrouped every file, two thirds of an unfiltered plan over 100,000
        // files (`CatalogScanExec::repartitioned` only stops the wrapper's own regrouping).
        let declared = (remote
            || crate::scan_exec::declares_its_groups(groups.len(), files, target_partitions))
        .then(|| Partitioning::UnknownPartitioning(groups.len()));
        // Files of tables Strata or DuckDB wrote carry column ids as field ids: read them by id,
        // so files from before a schema change stay correct. Registered files are read by
        // name (their field ids, if any, are some other writer's).
        let field_ids: Option<Arc<HashMap<i64, String>>> =
            self.meta.location.is_none().then(|| {
                Arc::new(
                    self.meta
                        .columns
                        .iter()
                        .map(|c| (c.column_id, c.name.clone()))
                        .collect(),
                )
            });
        let by_id = field_ids.as_ref().map(|names| {
            Arc::new(FieldIdAdapterFactory::new(HashMap::clone(names)))
                as Arc<dyn PhysicalExprAdapterFactory>
        });
        let config = FileScanConfigBuilder::new(store_url, Arc::new(source))
            .with_expr_adapter(by_id)
            .with_file_groups(groups)
            .with_statistics(table_stats)
            .with_projection_indices(scan.projection)?
            .with_limit(limit)
            .with_output_partitioning(declared)
            .build();
        Ok(Arc::new(
            CatalogScanExec::new(DataSourceExec::from_data_source(config), summary)
                .reading(reading)
                .dictionary_filters(dictionary)
                .prefetch(prefetch)
                .field_ids(field_ids)
                .bytes_per_value(bytes_per_value),
        ))
    }

    /// The file groups and statistics of a scan of `files` (all on one store) for the
    /// table-schema columns `scan.table`: a `PartitionedFile` per file with its statistics,
    /// partition values, footer size and delete selection, grouped for `target_partitions`.
    async fn build_scan(
        &self,
        files: Vec<DataFile>,
        scan: &ScanColumns,
        table_schema: &TableSchema,
        target_partitions: usize,
    ) -> Result<BuiltScan> {
        // Every file of a table lives on one store (checked here, as the scan has one URL).
        let mut store_url = None;
        let mut partitioned = Vec::with_capacity(files.len());
        let mut per_file_stats = Vec::with_capacity(files.len());
        for file in &files {
            let resolved = self
                .stores
                .resolve(&file.path)
                .map_err(|e| DataFusionError::External(Box::new(e)))?;
            match &store_url {
                None => store_url = Some(resolved.url.clone()),
                Some(u) if *u != resolved.url => {
                    return Err(DataFusionError::NotImplemented(format!(
                        "table {}.{} has files on more than one store",
                        self.meta.schema, self.meta.name
                    )));
                }
                Some(_) => {}
            }
            let stats = Arc::new(self.file_statistics(file, &scan.table));
            per_file_stats.push(Arc::clone(&stats));
            let mut pf = PartitionedFile::new(resolved.path.to_string(), file.file_size as u64)
                .with_partition_values(
                    self.partition_fields
                        .iter()
                        .map(|f| self.partition_value(file, f))
                        .collect(),
                );
            // The statistics cover the table schema, partition columns included (set directly:
            // `with_statistics` would copy them and append its own partition statistics).
            pf.statistics = Some(stats);
            // The page index and footer (or the footer and its 8-byte tail, for files Strata
            // did not register): the reader fetches them in one request.
            let metadata = file
                .metadata_bytes
                .or(file.footer_size.map(|footer| footer + 8));
            if let Some(bytes) = metadata {
                pf = pf.with_metadata_size_hint(bytes as usize);
            }
            // Rows DuckDB deleted are skipped by a row selection.
            if file.deletes.is_some() || !file.inlined_deletes.is_empty() {
                pf = crate::deletes::apply(&self.stores, pf, file)
                    .await
                    .map_err(|e| DataFusionError::External(Box::new(e)))?;
            }
            partitioned.push(pf);
        }
        let store_url = store_url.unwrap_or_else(Stores::local_url);
        let statistics = Statistics::try_merge_iter(
            per_file_stats.iter().map(|s| s.as_ref()),
            table_schema.table_schema(),
        )?;
        let remote = store_url != Stores::local_url();
        let mut parallel = target_partitions;
        if remote {
            // Remote reads wait on latency, not CPU: keep more files in flight than cores.
            parallel = parallel.max(self.stores.scan_concurrency());
        }
        if remote && partitioned.len() < parallel {
            partitioned = pieces_for_latency(partitioned, parallel);
        }
        Ok(BuiltScan {
            store_url,
            groups: balance(partitioned, parallel),
            statistics,
        })
    }
}

/// The columns a file scan gives DataFusion: the stored columns it outputs, then every
/// partition column.
struct ScanColumns {
    /// Indices into the stored (file) schema.
    stored: Vec<usize>,
    /// Indices into the table schema of the scan's columns: `stored`, then the partition
    /// columns.
    table: Vec<usize>,
    /// The scan's projection, as indices into its columns (`None`: all of them).
    projection: Option<Vec<usize>>,
}

impl ScanColumns {
    /// `stored` columns in the table schema's first places, `total` columns in all.
    fn new(stored: usize, total: usize, projection: Option<&Vec<usize>>) -> Self {
        let Some(projection) = projection else {
            return ScanColumns {
                stored: (0..stored).collect(),
                table: (0..total).collect(),
                projection: None,
            };
        };
        let mut kept: Vec<usize> = projection.iter().copied().filter(|&i| i < stored).collect();
        kept.sort_unstable();
        kept.dedup();
        let projection = projection
            .iter()
            .map(|&i| match kept.binary_search(&i) {
                Ok(k) => k,
                Err(_) => kept.len() + (i - stored),
            })
            .collect();
        ScanColumns {
            table: kept.iter().copied().chain(stored..total).collect(),
            stored: kept,
            projection: Some(projection),
        }
    }
}

#[cfg(test)]
mod scan_columns_tests {
    use super::ScanColumns;

    #[test]
    fn the_projection_is_remapped_to_the_kept_columns() {
        // Stored columns 0..5, partition columns 5 and 6.
        let s = ScanColumns::new(5, 7, Some(&vec![6, 3, 1, 3]));
        assert_eq!(s.stored, vec![1, 3]);
        assert_eq!(s.table, vec![1, 3, 5, 6]);
        assert_eq!(s.projection, Some(vec![3, 1, 0, 1]));

        let none = ScanColumns::new(2, 3, None);
        assert_eq!(
            (none.stored, none.table, none.projection),
            (vec![0, 1], vec![0, 1, 2], None)
        );

        let empty = ScanColumns::new(5, 6, Some(&vec![]));
        assert_eq!(
            (empty.stored, empty.table, empty.projection),
            (vec![], vec![5], Some(vec![]))
        );
    }
}
