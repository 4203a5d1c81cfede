//! The result cache: a repeated query (a dashboard tile, a report) is answered from memory
//! while none of the tables it reads has changed.
//!
//! An entry is keyed by the query's bound logical plan itself (compared node by node: the
//! statement normalised by the parser and planner, with its literals' and parameters' typed
//! values — not its text, which DataFusion abbreviates and does not escape) plus the caller's
//! scope (the role on the server) and the session time zone. It records, for each table the
//! query read, the last snapshot that changed that table, and the oldest snapshot still in the
//! catalog's log; a lookup computes the same at the current snapshot, read from the catalog
//! database, so commits made by any process (`strata ingest`, DuckDB, another server on a
//! shared PostgreSQL catalog) invalidate exactly the entries that read the changed tables, and
//! expiring snapshots invalidates everything (a table whose changes were all expired is not
//! cached). Non-deterministic functions (`now()`, `random()`, …), unbound parameters,
//! `information_schema`, the catalog table functions, `EXPLAIN`, `SET` and every write are never
//! cached. Entries are bounded in bytes (moka, TinyLFU admission); one answer larger than an
//! eighth of the cache is not kept.

use std::sync::{Arc, Mutex};

use arrow::array::RecordBatch;
use arrow::datatypes::SchemaRef;
use datafusion::common::tree_node::{TreeNode, TreeNodeRecursion};
use datafusion::execution::SendableRecordBatchStream;
use datafusion::logical_expr::{Expr, LogicalPlan, Volatility};
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use futures::StreamExt;
use strata_catalog::{Catalog, SnapshotId};

use crate::error::Result;
use crate::table::CatalogTable;
use crate::table_versions::TableVersions;

/// How a statement met the result cache (reported in statistics and the query log).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheUse {
    /// Answered from the cache.
    Hit,
    /// Run, and its answer kept if it completes (and fits).
    Miss,
    /// Not cacheable: not a query, or non-deterministic, or reads catalog metadata.
    Uncacheable,
    /// The caller asked not to use the cache.
    Bypassed,
}

impl CacheUse {
    pub fn as_str(self) -> &'static str {
        match self {
            CacheUse::Hit => "hit",
            CacheUse::Miss => "miss",
            CacheUse::Uncacheable => "uncacheable",
            CacheUse::Bypassed => "bypassed",
        }
    }
}

/// What an entry is found by.
#[derive(Clone, PartialEq, Eq, Hash)]
struct Key {
    scope: String,
    time_zone: String,
    plan: LogicalPlan,
}

struct Entry {
    /// The oldest snapshot of the catalog's log, then each table the query read (its id)
    /// with the last snapshot that changed it.
    versions: Versions,
    schema: SchemaRef,
    batches: Vec<RecordBatch>,
}

type Versions = (SnapshotId, Vec<(i64, SnapshotId)>);

pub struct ResultCache {
    entries: moka::sync::Cache<Key, Arc<Entry>>,
    largest: usize,
    /// The snapshot log, shared with the file index.
    versions: Arc<TableVersions>,
}

/// What a lookup found: the answer, or the key and versions to store the answer under.
pub(crate) enum Probe {
    Uncacheable,
    Hit(SchemaRef, Vec<RecordBatch>),
    Miss(Box<Pending>),
}

pub(crate) struct Pending {
    key: Key,
    versions: Versions,
}

impl ResultCache {
    /// A cache of at most `capacity` bytes; None when `capacity` is 0.
    pub fn new(capacity: u64, versions: Arc<TableVersions>) -> Option<Arc<ResultCache>> {
        if capacity == 0 {
            return None;
        }
        let entries = moka::sync::Cache::builder()
            // Weights in KiB, so that u32 weights cover terabytes.
            .weigher(|_key: &Key, entry: &Arc<Entry>| {
                u32::try_from(entry.bytes() / 1024 + 1).unwrap_or(u32::MAX)
            })
            .max_capacity((capacity / 1024).max(1))
            .build();
        Some(Arc::new(ResultCache {
            entries,
            largest: usize::try_from(capacity / 8).unwrap_or(usize::MAX),
            versions,
        }))
    }

    /// Look `plan` (bound, unoptimised) up at `snapshot`.
    pub(crate) fn probe(
        &self,
        catalog: &Catalog,
        snapshot: SnapshotId,
        plan: &LogicalPlan,
        scope: &str,
        time_zone: &str,
    ) -> Result<Probe> {
        let Some(tables) = tables_of(plan, snapshot) else {
            return Ok(Probe::Uncacheable);
        };
        let changes = self.versions.at(catalog, snapshot)?;
        let mut versions = Vec::with_capacity(tables.len());
        for (id, schema, name) in tables {
            // A table whose changes were all expired has no version to compare.
            let Some(version) = changes.version(id, &schema, &name) else {
                return Ok(Probe::Uncacheable);
            };
            versions.push((id, version));
        }
        let versions = (changes.oldest, versions);
        let key = Key {
            scope: scope.to_string(),
            time_zone: time_zone.to_string(),
            plan: plan.clone(),
        };
        if let Some(entry) = self.entries.get(&key)
            && entry.versions == versions
        {
            return Ok(Probe::Hit(Arc::clone(&entry.schema), entry.batches.clone()));
        }
        Ok(Probe::Miss(Box::new(Pending { key, versions })))
    }

    /// `stream`, which keeps its batches and stores them under `pending` when it ends without
    /// error (a stream dropped early, failed, or larger than an eighth of the cache is not kept).
    pub(crate) fn collect(
        self: &Arc<Self>,
        pending: Box<Pending>,
        stream: SendableRecordBatchStream,
    ) -> SendableRecordBatchStream {
        struct Collected {
            batches: Vec<RecordBatch>,
            bytes: usize,
            keep: bool,
        }
        let schema = stream.schema();
        let state = Arc::new(Mutex::new(Collected {
            batches: Vec::new(),
            bytes: 0,
            keep: true,
        }));
        let largest = self.largest;
        let seen = Arc::clone(&state);
        let body = stream.inspect(move |item| {
            let mut c = seen.lock().expect("result cache state");
            match item {
                Ok(batch) if c.keep => {
                    c.bytes += batch.get_array_memory_size();
                    if c.bytes > largest {
                        c.keep = false;
                        c.batches.clear();
                    } else {
                        c.batches.push(batch.clone());
                    }
                }
                Ok(_) => {}
                Err(_) => {
                    c.keep = false;
                    c.batches.clear();
                }
            }
        });
        let cache = Arc::clone(self);
        let end_schema = Arc::clone(&schema);
        let end = futures::stream::once(async move {
            let mut c = state.lock().expect("result cache state");
            if c.keep {
                let entry = Entry {
                    versions: pending.versions,
                    schema: end_schema,
                    batches: std::mem::take(&mut c.batches),
                };
                cache.entries.insert(pending.key, Arc::new(entry));
            }
            None
        })
        .filter_map(|none: Option<datafusion::error::Result<RecordBatch>>| async move { none });
        Box::pin(RecordBatchStreamAdapter::new(schema, body.chain(end)))
    }
}

/// The catalog tables a cacheable query reads, as (id, schema, name), found through the
/// scanned providers themselves (a table function named like a table cannot pass for it); None
/// when the plan is not a deterministic query over catalog tables read at `snapshot`.
fn tables_of(plan: &LogicalPlan, snapshot: SnapshotId) -> Option<Vec<(i64, String, String)>> {
    let mut tables = Vec::new();
    let mut cacheable = true;
    let _ = plan.apply_with_subqueries(|node| {
        match node {
            LogicalPlan::TableScan(scan) => {
                let provider = datafusion::datasource::source_as_provider(&scan.source).ok();
                match provider
                    .as_ref()
                    .and_then(|p| p.as_ref().downcast_ref::<CatalogTable>())
                    .filter(|t| t.reads_whole_table_at(snapshot))
                {
                    Some(table) => {
                        let meta = table.meta();
                        tables.push((meta.table_id, meta.schema.clone(), meta.name.clone()));
                    }
                    None => cacheable = false,
                }
            }
            LogicalPlan::Explain(_)
            | LogicalPlan::Analyze(_)
            | LogicalPlan::Statement(_)
            | LogicalPlan::DescribeTable(_)
            | LogicalPlan::Ddl(_)
            | LogicalPlan::Dml(_)
            | LogicalPlan::Copy(_)
            | LogicalPlan::Extension(_)
            | LogicalPlan::RecursiveQuery(_) => cacheable = false,
            _ => {}
        }
        for expr in node.expressions() {
            let _ = expr.apply(|e| {
                let deterministic = match e {
                    Expr::ScalarFunction(f) => {
                        f.func.signature().volatility == Volatility::Immutable
                    }
                    Expr::AggregateFunction(f) => {
                        f.func.signature().volatility == Volatility::Immutable
                    }
                    Expr::Placeholder(_) | Expr::ScalarVariable(..) => false,
                    _ => true,
                };
                if !deterministic {
                    cacheable = false;
                    return Ok(TreeNodeRecursion::Stop);
                }
                Ok(TreeNodeRecursion::Continue)
            });
        }
        Ok(match cacheable {
            true => TreeNodeRecursion::Continue,
            false => TreeNodeRecursion::Stop,
        })
    });
    if !cacheable {
        return None;
    }
    tables.sort();
    tables.dedup();
    Some(tables)
}

impl std::fmt::Debug for ResultCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResultCache")
            .field("entries", &self.entries.entry_count())
            .field("kib", &self.entries.weighted_size())
            .finish()
    }
}

impl Entry {
    fn bytes(&self) -> usize {
        self.batches.iter().map(|b| b.get_array_memory_size()).sum()
    }
}

impl crate::memory::Yielding for ResultCache {
    fn held(&self) -> usize {
        // Weights are KiB.
        usize::try_from(self.entries.weighted_size().saturating_mul(1024)).unwrap_or(usize::MAX)
    }

    fn give_way(&self, bytes: usize) {
        crate::memory::evict(&self.entries, bytes, |entry| entry.bytes() + 1024);
    }
}
