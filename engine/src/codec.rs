//! Strata's plans as bytes and back, for another process to run (issue 17, cluster mode:
//! docs/cluster-design.md §3).
//!
//! DataFusion's protobuf encodes the Parquet scan under a [`CatalogScanExec`] itself, and drops
//! three things a remote process needs to read exactly what the local plan would:
//! - each file's rows deleted by DuckDB delete files and inline deletes, attached as a
//!   [`ParquetRowSelection`] extension (deleted rows would come back);
//! - the field-id adapter that reads files from before a schema change by column id (renamed
//!   columns would read as NULL);
//! - Strata's reader factory (footer and page index together, the data cache, the catalog's
//!   file sizes checked, file names in errors), and each file's footer size hint.
//!
//! [`StrataCodec`] encodes a [`CatalogScanExec`] as its summary, its column names by id, and
//! per file (by path) its row selection and footer size hint; the scan's child travels as
//! DataFusion encodes it. Decoding rebuilds the reader on the decoding process's own stores and
//! caches, so credentials never travel in a plan. Strata's own filter expression,
//! [`RepeatedStrings`](crate::repeated_strings), travels as the conjunct it wraps and is wrapped
//! again. Everything else goes to DataFusion's codec. Inlined rows and statistics answers are
//! in-memory scans DataFusion encodes (Arrow IPC).

use std::collections::HashMap;
use std::sync::Arc;

use datafusion::datasource::listing::PartitionedFile;
use datafusion::datasource::physical_plan::parquet::ParquetRowSelection;
use datafusion::datasource::physical_plan::{FileGroup, FileScanConfig, FileScanConfigBuilder};
use datafusion::datasource::physical_plan::{ParquetFileReaderFactory, ParquetSource};
use datafusion::datasource::source::DataSourceExec;
use datafusion::error::{DataFusionError, Result};
use datafusion::execution::TaskContext;
use datafusion::physical_expr::PhysicalExpr;
use datafusion::physical_expr_adapter::PhysicalExprAdapterFactory;
use datafusion::physical_expr_common::physical_expr::proto_decode::PhysicalExprDecodeCtx;
use datafusion::physical_expr_common::physical_expr::proto_encode::PhysicalExprEncodeCtx;
use datafusion::physical_plan::ExecutionPlan;
use datafusion_proto::physical_plan::{
    DefaultPhysicalExtensionCodec, PhysicalExtensionCodec, PhysicalProtoConverterExtension,
};
use datafusion_proto::protobuf::PhysicalExprNode;
use parquet::arrow::arrow_reader::{RowSelection, RowSelector};
use prost::Message;

use crate::field_ids::FieldIdAdapterFactory;
use crate::interned_keys::InternedKeysExec;
use crate::parquet_reader::{CatalogReaderFactory, Reading};
use crate::repeated_strings::RepeatedStrings;
use crate::scan_exec::{CatalogScanExec, ScanSummary};
use crate::storage::Stores;

/// The payload format; a process that reads another version refuses the plan.
const VERSION: u32 = 1;

/// What a node of Strata's carries. `kind` says which field is set.
#[derive(Clone, PartialEq, Message)]
struct Envelope {
    #[prost(uint32, tag = "1")]
    version: u32,
    #[prost(uint32, tag = "2")]
    kind: u32,
    /// [`KIND_INNER`]: the payload of DataFusion's codec.
    #[prost(bytes = "vec", tag = "3")]
    inner: Vec<u8>,
    #[prost(message, optional, tag = "4")]
    scan: Option<ScanNode>,
    /// [`KIND_REPEATED_STRINGS`]: the wrapped conjunct, over the plan's own schema.
    #[prost(message, optional, tag = "5")]
    conjunct: Option<PhysicalExprNode>,
}

const KIND_INNER: u32 = 0;
const KIND_SCAN: u32 = 1;
const KIND_REPEATED_STRINGS: u32 = 2;
/// An [`InternedKeysExec`]: no payload, its one input is the aggregate it wraps.
const KIND_INTERNED_KEYS: u32 = 3;

#[derive(Clone, PartialEq, Message)]
struct ScanNode {
    #[prost(string, tag = "1")]
    table: String,
    #[prost(int64, tag = "2")]
    snapshot: i64,
    #[prost(uint64, tag = "3")]
    total_files: u64,
    #[prost(uint64, tag = "4")]
    catalog_candidates: u64,
    #[prost(uint64, tag = "5")]
    files: u64,
    #[prost(uint64, tag = "6")]
    bytes: u64,
    #[prost(uint64, tag = "7")]
    answered: u64,
    /// Read by column id (tables Strata or DuckDB wrote).
    #[prost(bool, tag = "8")]
    by_field_id: bool,
    #[prost(message, repeated, tag = "9")]
    field_ids: Vec<FieldIdNode>,
    /// One per distinct file path of the scan, sorted by path.
    #[prost(message, repeated, tag = "10")]
    file_extras: Vec<FileExtrasNode>,
}

#[derive(Clone, PartialEq, Message)]
struct FieldIdNode {
    #[prost(int64, tag = "1")]
    id: i64,
    #[prost(string, tag = "2")]
    name: String,
}

#[derive(Clone, PartialEq, Message)]
struct FileExtrasNode {
    #[prost(string, tag = "1")]
    path: String,
    #[prost(uint64, optional, tag = "2")]
    metadata_size_hint: Option<u64>,
    /// The rows to read (None: every row).
    #[prost(message, optional, tag = "3")]
    selection: Option<SelectionNode>,
}

/// A row selection as run lengths: `rows[i]` rows, skipped where `skip[i]`.
#[derive(Clone, PartialEq, Message)]
struct SelectionNode {
    #[prost(uint64, repeated, tag = "1")]
    rows: Vec<u64>,
    #[prost(bool, repeated, tag = "2")]
    skip: Vec<bool>,
}

/// The codec of Strata's plans. Decoding builds readers on `stores` (the decoding process's
/// own storage configuration and caches).
#[derive(Debug)]
pub struct StrataCodec {
    inner: Arc<dyn PhysicalExtensionCodec>,
    stores: Arc<Stores>,
}

impl StrataCodec {
    /// Strata's codec in front of DataFusion's default one.
    pub fn new(stores: Arc<Stores>) -> Self {
        Self::with_inner(stores, Arc::new(DefaultPhysicalExtensionCodec {}))
    }

    /// Strata's codec in front of `inner` (a distributed engine's own codec).
    pub fn with_inner(stores: Arc<Stores>, inner: Arc<dyn PhysicalExtensionCodec>) -> Self {
        StrataCodec { inner, stores }
    }

    fn encode(envelope: Envelope, buf: &mut Vec<u8>) -> Result<()> {
        envelope
            .encode(buf)
            .map_err(|e| DataFusionError::Internal(format!("encoding a Strata plan node: {e}")))
    }

    fn decode(buf: &[u8]) -> Result<Envelope> {
        let envelope = Envelope::decode(buf).map_err(|e| {
            DataFusionError::Plan(format!("a Strata plan node does not decode: {e}"))
        })?;
        if envelope.version != VERSION {
            return Err(DataFusionError::Plan(format!(
                "a Strata plan node of format {} (this process reads format {VERSION}): \
                 run the same Strata version on every node",
                envelope.version
            )));
        }
        Ok(envelope)
    }

    fn inner_envelope(inner: Vec<u8>) -> Envelope {
        Envelope {
            version: VERSION,
            kind: KIND_INNER,
            inner,
            scan: None,
            conjunct: None,
        }
    }

    /// The scan's extras, checked: every file extension is one the codec carries.
    fn scan_node(scan: &CatalogScanExec) -> Result<ScanNode> {
        let s = scan.summary();
        let mut field_ids: Vec<FieldIdNode> = (scan.field_id_names().into_iter())
            .flat_map(|names| names.iter())
            .map(|(id, name)| FieldIdNode {
                id: *id,
                name: name.clone(),
            })
            .collect();
        field_ids.sort_by_key(|f| f.id);
        let mut extras: HashMap<String, FileExtrasNode> = HashMap::new();
        if let Some(config) = parquet_config(scan.input()) {
            for file in config.file_groups.iter().flat_map(|g| g.iter()) {
                let selection = file.extension::<ParquetRowSelection>();
                if file.extensions.len() != usize::from(selection.is_some()) {
                    return Err(DataFusionError::NotImplemented(format!(
                        "a scan of {} carries a file extension Strata's codec does not know \
                         ({}): it cannot run on another process",
                        s.table, file.object_meta.location
                    )));
                }
                let path = file.object_meta.location.to_string();
                extras
                    .entry(path.clone())
                    .or_insert_with(|| FileExtrasNode {
                        path,
                        metadata_size_hint: file.metadata_size_hint.map(|h| h as u64),
                        selection: selection.map(|s| selection_node(s.selection())),
                    });
            }
        }
        let mut file_extras: Vec<FileExtrasNode> = extras.into_values().collect();
        file_extras.sort_by(|a, b| a.path.cmp(&b.path));
        Ok(ScanNode {
            table: s.table.clone(),
            snapshot: s.snapshot,
            total_files: s.total_files as u64,
            catalog_candidates: s.catalog_candidates as u64,
            files: s.files as u64,
            bytes: s.bytes,
            answered: s.answered as u64,
            by_field_id: scan.field_id_names().is_some(),
            field_ids,
            file_extras,
        })
    }

    /// `input` (the decoded child of a scan) read as the scan would read it here.
    fn rebuild_scan(
        &self,
        node: ScanNode,
        input: &Arc<dyn ExecutionPlan>,
        ctx: &TaskContext,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let summary = ScanSummary {
            table: node.table,
            snapshot: node.snapshot,
            total_files: node.total_files as usize,
            catalog_candidates: node.catalog_candidates as usize,
            files: node.files as usize,
            bytes: node.bytes,
            answered: node.answered as usize,
        };
        let field_ids: Option<Arc<HashMap<i64, String>>> = node
            .by_field_id
            .then(|| Arc::new(node.field_ids.into_iter().map(|f| (f.id, f.name)).collect()));
        let Some(config) = parquet_config(input) else {
            // No files (an empty scan, groups answered from statistics): nothing to read.
            return Ok(Arc::new(
                CatalogScanExec::new(Arc::clone(input), summary).field_ids(field_ids),
            ));
        };
        let parquet = config
            .file_source()
            .downcast_ref::<ParquetSource>()
            .ok_or_else(|| DataFusionError::Internal("a Parquet scan without its source".into()))?;
        let extras: HashMap<String, FileExtrasNode> = node
            .file_extras
            .into_iter()
            .map(|f| (f.path.clone(), f))
            .collect();
        let groups = config
            .file_groups
            .iter()
            .map(|group| {
                let files = group
                    .iter()
                    .map(|file| reattach(file, &extras, &summary.table))
                    .collect::<Result<Vec<_>>>()?;
                let rebuilt = FileGroup::new(files);
                Ok(match group.file_statistics(None) {
                    Some(statistics) => rebuilt.with_statistics(Arc::new(statistics.clone())),
                    None => rebuilt,
                })
            })
            .collect::<Result<Vec<_>>>()?;

        let url = &config.object_store_url;
        let runtime = ctx.runtime_env();
        let reading = Arc::new(Reading::default());
        let factory = CatalogReaderFactory::on_stores(
            &self.stores,
            runtime.object_store(url)?,
            url,
            runtime.cache_manager.get_file_metadata_cache(),
            parquet.table_parquet_options().global.enable_page_index,
            ctx.session_config()
                .get_extension::<crate::requests::RequestCounter>(),
            Arc::clone(&reading),
        );
        let source = parquet.clone().with_parquet_file_reader_factory(
            Arc::new(factory) as Arc<dyn ParquetFileReaderFactory>
        );
        let by_id = field_ids.as_ref().map(|names| {
            Arc::new(FieldIdAdapterFactory::new(HashMap::clone(names)))
                as Arc<dyn PhysicalExprAdapterFactory>
        });
        // The grouping the planner declared (to keep its optimizer from regrouping files) has
        // done its work: the scheduler gives each task some of the groups, and a declaration
        // that no longer matches their number only makes DataFusion warn, once per call.
        let rebuilt = FileScanConfigBuilder::from(config.clone())
            .with_source(Arc::new(source))
            .with_file_groups(groups)
            .with_expr_adapter(by_id)
            .with_output_partitioning(None)
            .build();
        Ok(Arc::new(
            CatalogScanExec::new(DataSourceExec::from_data_source(rebuilt), summary)
                .reading(reading)
                .field_ids(field_ids)
                .retry_io(true),
        ))
    }
}

/// The Parquet scan configuration of a scan's child, if it reads files.
fn parquet_config(plan: &Arc<dyn ExecutionPlan>) -> Option<&FileScanConfig> {
    let source = plan.downcast_ref::<DataSourceExec>()?;
    let config = source.data_source().downcast_ref::<FileScanConfig>()?;
    config.file_source().downcast_ref::<ParquetSource>()?;
    Some(config)
}

fn selection_node(selection: &RowSelection) -> SelectionNode {
    let (rows, skip) = selection
        .iter()
        .map(|s| (s.row_count as u64, s.skip))
        .unzip();
    SelectionNode { rows, skip }
}

/// `file` with the extras its path was encoded with.
fn reattach(
    file: &PartitionedFile,
    extras: &HashMap<String, FileExtrasNode>,
    table: &str,
) -> Result<PartitionedFile> {
    let path = file.object_meta.location.to_string();
    let extra = extras.get(&path).ok_or_else(|| {
        DataFusionError::Plan(format!(
            "a scan of {table} reads {path}, which its Strata plan node does not list"
        ))
    })?;
    let mut file = file.clone();
    file.metadata_size_hint = extra.metadata_size_hint.map(|h| h as usize);
    if let Some(selection) = &extra.selection {
        if selection.rows.len() != selection.skip.len() {
            return Err(DataFusionError::Plan(format!(
                "the deleted rows of {path} do not decode"
            )));
        }
        let selectors: Vec<RowSelector> = (selection.rows.iter().zip(&selection.skip))
            .map(|(&rows, &skip)| {
                if skip {
                    RowSelector::skip(rows as usize)
                } else {
                    RowSelector::select(rows as usize)
                }
            })
            .collect();
        file = file.with_extension(ParquetRowSelection::new(RowSelection::from(selectors)));
    }
    Ok(file)
}

impl PhysicalExtensionCodec for StrataCodec {
    fn try_decode(
        &self,
        buf: &[u8],
        inputs: &[Arc<dyn ExecutionPlan>],
        ctx: &TaskContext,
        proto_converter: &dyn PhysicalProtoConverterExtension,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let envelope = Self::decode(buf)?;
        match (envelope.kind, envelope.scan) {
            (KIND_SCAN, Some(scan)) => {
                let [input] = inputs else {
                    return Err(DataFusionError::Plan(format!(
                        "a Strata scan node with {} inputs",
                        inputs.len()
                    )));
                };
                self.rebuild_scan(scan, input, ctx)
            }
            (KIND_INTERNED_KEYS, _) => {
                let [aggregate] = inputs else {
                    return Err(DataFusionError::Plan(format!(
                        "a Strata interned-keys node with {} inputs",
                        inputs.len()
                    )));
                };
                Ok(match InternedKeysExec::wrap(Arc::clone(aggregate))? {
                    Some(wrapped) => Arc::new(wrapped),
                    None => Arc::clone(aggregate),
                })
            }
            (KIND_INNER, _) => self
                .inner
                .try_decode(&envelope.inner, inputs, ctx, proto_converter),
            (kind, _) => Err(DataFusionError::Plan(format!(
                "a Strata plan node of unknown kind {kind}"
            ))),
        }
    }

    fn try_encode(
        &self,
        node: Arc<dyn ExecutionPlan>,
        buf: &mut Vec<u8>,
        proto_converter: &dyn PhysicalProtoConverterExtension,
    ) -> Result<()> {
        if let Some(scan) = node.downcast_ref::<CatalogScanExec>() {
            let envelope = Envelope {
                version: VERSION,
                kind: KIND_SCAN,
                inner: Vec::new(),
                scan: Some(Self::scan_node(scan)?),
                conjunct: None,
            };
            return Self::encode(envelope, buf);
        }
        if node.downcast_ref::<InternedKeysExec>().is_some() {
            let envelope = Envelope {
                version: VERSION,
                kind: KIND_INTERNED_KEYS,
                inner: Vec::new(),
                scan: None,
                conjunct: None,
            };
            return Self::encode(envelope, buf);
        }
        let mut inner = Vec::new();
        self.inner.try_encode(node, &mut inner, proto_converter)?;
        Self::encode(Self::inner_envelope(inner), buf)
    }

    fn try_decode_expr(
        &self,
        buf: &[u8],
        inputs: &[Arc<dyn PhysicalExpr>],
        ctx: &PhysicalExprDecodeCtx<'_>,
    ) -> Result<Arc<dyn PhysicalExpr>> {
        let envelope = Self::decode(buf)?;
        match (envelope.kind, envelope.conjunct) {
            (KIND_REPEATED_STRINGS, Some(conjunct)) => {
                let conjunct = ctx.decode(&conjunct)?;
                // Wrapped again when it still qualifies here; the same answers either way.
                Ok(RepeatedStrings::wrap(&conjunct, ctx.schema())?.unwrap_or(conjunct))
            }
            (KIND_INNER, _) => self.inner.try_decode_expr(&envelope.inner, inputs, ctx),
            (kind, _) => Err(DataFusionError::Plan(format!(
                "a Strata expression of unknown kind {kind}"
            ))),
        }
    }

    fn try_encode_expr(
        &self,
        node: &Arc<dyn PhysicalExpr>,
        buf: &mut Vec<u8>,
        ctx: &PhysicalExprEncodeCtx<'_>,
    ) -> Result<()> {
        if let Some(wrapped) = node.downcast_ref::<RepeatedStrings>() {
            let envelope = Envelope {
                version: VERSION,
                kind: KIND_REPEATED_STRINGS,
                inner: Vec::new(),
                scan: None,
                conjunct: Some(ctx.encode_child(&wrapped.unwrapped())?),
            };
            return Self::encode(envelope, buf);
        }
        let mut inner = Vec::new();
        self.inner.try_encode_expr(node, &mut inner, ctx)?;
        Self::encode(Self::inner_envelope(inner), buf)
    }

    fn try_decode_udf(
        &self,
        name: &str,
        buf: &[u8],
    ) -> Result<Arc<datafusion::logical_expr::ScalarUDF>> {
        self.inner.try_decode_udf(name, buf)
    }

    fn try_encode_udf(
        &self,
        node: &datafusion::logical_expr::ScalarUDF,
        buf: &mut Vec<u8>,
    ) -> Result<()> {
        self.inner.try_encode_udf(node, buf)
    }

    fn try_decode_udaf(
        &self,
        name: &str,
        buf: &[u8],
    ) -> Result<Arc<datafusion::logical_expr::AggregateUDF>> {
        self.inner.try_decode_udaf(name, buf)
    }

    fn try_encode_udaf(
        &self,
        node: &datafusion::logical_expr::AggregateUDF,
        buf: &mut Vec<u8>,
    ) -> Result<()> {
        self.inner.try_encode_udaf(node, buf)
    }

    fn try_decode_udwf(
        &self,
        name: &str,
        buf: &[u8],
    ) -> Result<Arc<datafusion::logical_expr::WindowUDF>> {
        self.inner.try_decode_udwf(name, buf)
    }

    fn try_encode_udwf(
        &self,
        node: &datafusion::logical_expr::WindowUDF,
        buf: &mut Vec<u8>,
    ) -> Result<()> {
        self.inner.try_encode_udwf(node, buf)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Engine;
    use crate::engine::tests::{config, rows, run, text_rows};
    use datafusion::common::tree_node::{Transformed, TransformedResult, TreeNode};
    use datafusion::physical_plan::{collect, displayable};
    use datafusion_proto::bytes::{
        physical_plan_from_bytes_with_extension_codec, physical_plan_to_bytes_with_extension_codec,
    };

    /// A table of three files, the last written after a column was renamed.
    async fn table() -> (tempfile::TempDir, Engine) {
        let dir = tempfile::tempdir().unwrap();
        let engine = Engine::open(&config(dir.path())).unwrap();
        run(
            &engine,
            "CREATE TABLE t (id BIGINT, name VARCHAR, area VARCHAR)",
        )
        .await;
        for first in [0, 100] {
            run(
                &engine,
                &format!(
                    "INSERT INTO t SELECT value, 'n' || value, \
                     CASE value % 3 WHEN 0 THEN 'Park Slope' WHEN 1 THEN 'Harlem' \
                     ELSE 'Upper West Side' END FROM generate_series({first}, {})",
                    first + 99
                ),
            )
            .await;
        }
        run(&engine, "ALTER TABLE t RENAME COLUMN name TO label").await;
        run(
            &engine,
            "INSERT INTO t SELECT value, 'm' || value, 'Park Slope' FROM generate_series(200, 209)",
        )
        .await;
        (dir, engine)
    }

    /// The physical plan of `sql`, as the engine would run it.
    async fn plan(engine: &Engine, sql: &str) -> Arc<dyn ExecutionPlan> {
        let session = engine.session();
        let statement = session.parse(sql).unwrap().remove(0);
        session.run(statement).await.unwrap().plan
    }

    /// `plan` with every 7th row of each file deleted, as DuckDB's deletes are attached.
    fn with_deletes(plan: Arc<dyn ExecutionPlan>) -> Arc<dyn ExecutionPlan> {
        plan.transform_up(|node| {
            let Some(config) = parquet_config(&node) else {
                return Ok(Transformed::no(node));
            };
            let groups = config
                .file_groups
                .iter()
                .map(|group| {
                    FileGroup::new(
                        group
                            .iter()
                            .map(|f| {
                                let rows = f.statistics.as_ref().unwrap().num_rows;
                                let rows = *rows.get_value().unwrap() as u64;
                                let deleted: Vec<u64> = (0..rows).step_by(7).collect();
                                f.clone()
                                    .with_extension(crate::deletes::without(rows, &deleted))
                            })
                            .collect(),
                    )
                })
                .collect();
            let config = FileScanConfigBuilder::from(config.clone())
                .with_file_groups(groups)
                .build();
            Ok(Transformed::yes(
                DataSourceExec::from_data_source(config) as Arc<dyn ExecutionPlan>
            ))
        })
        .data()
        .unwrap()
    }

    async fn answers(engine: &Engine, plan: Arc<dyn ExecutionPlan>) -> Vec<Vec<String>> {
        let mut rows = text_rows(&collect(plan, engine.lake().ctx.task_ctx()).await.unwrap());
        rows.sort();
        rows
    }

    /// Through bytes and back with the engine's codec, as an executor decodes it.
    fn round_trip(engine: &Engine, plan: Arc<dyn ExecutionPlan>) -> Arc<dyn ExecutionPlan> {
        let codec = engine.codec();
        let bytes = physical_plan_to_bytes_with_extension_codec(plan, codec.as_ref()).unwrap();
        physical_plan_from_bytes_with_extension_codec(
            &bytes,
            &engine.lake().ctx.task_ctx(),
            codec.as_ref(),
        )
        .unwrap()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_decoded_plan_reads_what_the_local_plan_reads() {
        let (_dir, engine) = table().await;
        for sql in [
            // Field ids: `label` is `name` in the first two files.
            "SELECT id, label, area FROM t",
            // The filter goes into the scan (late materialization) as `per_distinct_value`.
            "SELECT id, label FROM t WHERE area LIKE '%ark%'",
            "SELECT area, count(*), min(label) FROM t GROUP BY area",
        ] {
            let local = plan(&engine, sql).await;
            let mut expected = rows(&engine, sql).await;
            expected.sort();
            assert!(!expected.is_empty());
            let decoded = round_trip(&engine, Arc::clone(&local));
            assert_eq!(
                answers(&engine, Arc::clone(&decoded)).await,
                expected,
                "{sql}"
            );
            let shown = displayable(decoded.as_ref()).indent(true).to_string();
            assert!(shown.contains("CatalogScanExec: table=main.t"), "{shown}");
            if sql.contains("LIKE") {
                assert!(shown.contains("per_distinct_value("), "{shown}");
            }
            if sql.contains("GROUP BY") {
                assert!(shown.contains("InternedKeysExec: keys=[area]"), "{shown}");
            }

            // Deleted rows stay deleted on the other side.
            let deleting = with_deletes(local);
            let expected = answers(&engine, Arc::clone(&deleting)).await;
            assert_ne!(
                expected,
                answers(&engine, plan(&engine, sql).await).await,
                "{sql}: the deletes change the answer"
            );
            assert_eq!(
                answers(&engine, round_trip(&engine, deleting)).await,
                expected,
                "{sql}"
            );
        }
        // Answered from the files' statistics (the catalog's), without a scan.
        let sql = "SELECT count(*), min(id), max(id) FROM t";
        let decoded = round_trip(&engine, plan(&engine, sql).await);
        assert_eq!(answers(&engine, decoded).await, [["210", "0", "209"]]);
        // The labels of the renamed column are read from the old files.
        assert_eq!(
            rows(&engine, "SELECT label FROM t WHERE id = 5").await,
            [["n5"]]
        );
    }

    #[test]
    fn a_plan_node_of_another_format_is_refused() {
        let mut buf = Vec::new();
        let envelope = Envelope {
            version: VERSION + 1,
            ..StrataCodec::inner_envelope(Vec::new())
        };
        envelope.encode(&mut buf).unwrap();
        let error = StrataCodec::decode(&buf).unwrap_err().to_string();
        assert!(error.contains("same Strata version"), "{error}");
    }
}
