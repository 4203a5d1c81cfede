//! Which files a scan of a [`CatalogTable`] reads: the table's files from the file index or the
//! catalog database, pruned by statistics, then by exact partition filters.

use std::collections::HashSet;
use std::sync::Arc;

use arrow::array::{Array, BooleanArray, RecordBatch};
use arrow::datatypes::Schema;
use datafusion::catalog::Session;
use datafusion::common::tree_node::TreeNode;
use datafusion::common::{DFSchema, ScalarValue};
use datafusion::error::{DataFusionError, Result};
use datafusion::logical_expr::Expr;
use datafusion::physical_optimizer::pruning::{PruningPredicate, PruningPredicateBuilder};
use strata_catalog::{DataFile, FileQuery};

use super::CatalogTable;
use crate::file_index::Indexed;
use crate::pruning::{FileStatistics, column_ranges};

/// Files whose column statistics tell a column's bytes per value.
const DENSITY_SAMPLE: usize = 64;

/// Values a file's column needs for its size to tell its bytes per value: a column chunk's
/// size counts its dictionary page and page headers, tens of bytes that make a small file's
/// column of two values look like one of many.
const DENSITY_MIN_VALUES: i64 = 10_000;

/// The files a scan reads.
pub(crate) enum Chosen {
    /// These files.
    Files(Vec<DataFile>),
    /// Every live file of the table, as the file index has them: not copied out, as the scan
    /// built over all of them may be kept there too.
    All(Indexed),
}

impl Chosen {
    /// How many files, and their bytes.
    pub(crate) fn size(&self) -> (usize, u64) {
        match self {
            Chosen::Files(files) => (
                files.len(),
                files.iter().map(|f| f.file_size.max(0) as u64).sum(),
            ),
            Chosen::All(indexed) => (indexed.len(), indexed.bytes()),
        }
    }

    /// Stored bytes per value of each column whose statistics the files carry (by column
    /// name), from the first [`DENSITY_SAMPLE`] files with at least [`DENSITY_MIN_VALUES`]
    /// values of it: the catalog's column sizes over its counts of values other than nulls.
    pub(crate) fn bytes_per_value(
        &self,
        table: &strata_catalog::TableMeta,
    ) -> std::collections::HashMap<String, f64> {
        let mut sums: std::collections::HashMap<i64, (f64, f64)> = Default::default();
        let mut add = |stats: &strata_catalog::ColumnStats| {
            // Values other than nulls (a column of ids in 1% of rows is still one of many).
            let values = stats
                .value_count
                .map(|v| v - stats.null_count.unwrap_or(0).clamp(0, v));
            if let (Some(bytes), Some(values)) = (stats.size_bytes, values)
                && values >= DENSITY_MIN_VALUES
            {
                let sum = sums.entry(stats.column_id).or_default();
                sum.0 += bytes as f64;
                sum.1 += values as f64;
            }
        };
        match self {
            Chosen::Files(files) => (files.iter().take(DENSITY_SAMPLE))
                .flat_map(|f| &f.stats)
                .for_each(&mut add),
            Chosen::All(indexed) => indexed.sample_stats(DENSITY_SAMPLE).for_each(&mut add),
        }
        (table.columns.iter())
            .filter_map(|c| {
                let (bytes, values) = sums.get(&c.column_id)?;
                Some((c.name.clone(), bytes / values))
            })
            .collect()
    }

    /// The files, copied out of the index if need be.
    pub(crate) fn into_files(self, table: &strata_catalog::TableMeta) -> Vec<DataFile> {
        match self {
            Chosen::Files(files) => files,
            Chosen::All(indexed) => indexed.all_files(table),
        }
    }
}

impl CatalogTable {
    /// The files a scan with `filters` reads: the table's files from the file index, or
    /// candidates from the catalog database (pre-filtered there on simple bounds), pruned with
    /// DataFusion's `PruningPredicate`. Returns the table's live file count, the number of
    /// candidates before statistics pruned them, and the files.
    pub(crate) async fn select_files(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
    ) -> Result<(usize, usize, Chosen)> {
        let used = self.used_columns(projection, filters);
        let catalog = Arc::clone(&self.catalog);
        let meta = self.meta.clone();
        let indexed = match self.stores.file_index() {
            Some(index) => {
                let columns = used.clone();
                tokio::task::spawn_blocking(move || index.lookup(&catalog, &meta, &columns))
                    .await
                    .map_err(|e| DataFusionError::External(Box::new(e)))?
                    .map_err(|e| DataFusionError::External(Box::new(e)))?
            }
            None => None,
        };
        let (total_files, candidates, mut files) = match indexed {
            Some(indexed) => match self.select_indexed(state, filters, indexed)? {
                (total, candidates, Chosen::Files(files)) => (total, candidates, files),
                all => return Ok(all),
            },
            None => self.select_from_catalog(state, filters, used).await?,
        };
        self.keep_matching_partitions(state, filters, &mut files)?;
        Ok((total_files, candidates, Chosen::Files(files)))
    }

    /// [`Self::select_files`] from the file index: every live file is a candidate, and the
    /// pruning predicate runs over the index's decoded statistics; only the files kept are
    /// copied out, unless every file is kept and no partition filter is left to apply
    /// ([`Chosen::All`]).
    fn select_indexed(
        &self,
        state: &dyn Session,
        filters: &[Expr],
        indexed: Indexed,
    ) -> Result<(usize, usize, Chosen)> {
        let mut keep: Vec<bool> = match &self.only_files {
            Some(only) => indexed.ids().map(|id| only.contains(&id)).collect(),
            None => vec![true; indexed.len()],
        };
        let candidates = keep.iter().filter(|k| **k).count();
        if candidates > 0
            && let Some(pruning) = self.pruning_predicate(state, filters)?
        {
            let kept = pruning.prune(&indexed.statistics(&self.meta))?;
            for (k, p) in keep.iter_mut().zip(kept) {
                *k &= p;
            }
        }
        let total = indexed.len();
        if keep.iter().all(|k| *k) && !filters.iter().any(|f| self.decided_per_file(f)) {
            return Ok((total, candidates, Chosen::All(indexed)));
        }
        let files = (keep.iter().enumerate())
            .filter(|(_, k)| **k)
            .map(|(i, _)| indexed.file(i, &self.meta))
            .collect();
        Ok((total, candidates, Chosen::Files(files)))
    }

    /// [`Self::select_files`] from the catalog database.
    async fn select_from_catalog(
        &self,
        state: &dyn Session,
        filters: &[Expr],
        used: Vec<i64>,
    ) -> Result<(usize, usize, Vec<DataFile>)> {
        let query = FileQuery {
            ranges: column_ranges(&self.meta, filters),
            stats_columns: Some(used),
        };
        let catalog = Arc::clone(&self.catalog);
        let meta = self.meta.clone();
        let file_set = tokio::task::spawn_blocking(move || catalog.candidate_files(&meta, &query))
            .await
            .map_err(|e| DataFusionError::External(Box::new(e)))?
            .map_err(|e| DataFusionError::External(Box::new(e)))?;
        let mut files = file_set.files;
        if let Some(only) = &self.only_files {
            files.retain(|f| only.contains(&f.data_file_id));
        }
        let candidates = files.len();
        if !files.is_empty()
            && let Some(pruning) = self.pruning_predicate(state, filters)?
        {
            let keep = pruning.prune(&FileStatistics {
                table: &self.meta,
                files: &files,
            })?;
            let mut i = 0;
            files.retain(|_| {
                let k = keep[i];
                i += 1;
                k
            });
        }
        Ok((file_set.total_files, candidates, files))
    }

    /// DataFusion's pruning predicate for `filters` over the table's statistics, if they give
    /// one.
    fn pruning_predicate(
        &self,
        state: &dyn Session,
        filters: &[Expr],
    ) -> Result<Option<Arc<PruningPredicate>>> {
        let Some(predicate) = crate::chains::balanced_conjunction(filters.iter().cloned()) else {
            return Ok(None);
        };
        let df_schema = DFSchema::try_from(Arc::clone(&self.schema))?;
        let physical = state.create_physical_expr(predicate, &df_schema)?;
        Ok(PruningPredicateBuilder::new()
            .with_file_schema(Arc::clone(&self.schema))
            .build(physical))
    }

    /// Whether `filter` has the same value for every row of a file, so that keeping or dropping
    /// whole files applies it exactly: it reads only path-derived (partition) columns, is
    /// deterministic, and holds no subquery or parameter. Only for tables registered in place,
    /// whose rows all live in files (other tables may have rows DuckDB inlined into the
    /// catalog, which the filter must still see).
    pub(super) fn decided_per_file(&self, filter: &Expr) -> bool {
        if self.meta.location.is_none() || self.partition_fields.is_empty() {
            return false;
        }
        let columns = filter.column_refs();
        !columns.is_empty()
            && columns
                .iter()
                .all(|c| self.partition_fields.iter().any(|f| *f.name() == c.name))
            && !filter.is_volatile()
            && !filter
                .exists(|e| {
                    Ok(matches!(
                        e,
                        Expr::ScalarSubquery(_)
                            | Expr::InSubquery(_)
                            | Expr::Exists(_)
                            | Expr::OuterReferenceColumn(..)
                            | Expr::Placeholder(_)
                    ))
                })
                .unwrap_or(true)
    }

    /// Applies the filters [`Self::decided_per_file`] accepts: each is evaluated once per file
    /// on the file's partition values, and a file is kept only where all are true (as a row is
    /// by a `WHERE`). The plan keeps no filter of its own for them (they are pushed down as
    /// exact), so the scan's row counts are exact and `count(*) … WHERE dt = …` is answered
    /// from the catalog.
    fn keep_matching_partitions(
        &self,
        state: &dyn Session,
        filters: &[Expr],
        files: &mut Vec<DataFile>,
    ) -> Result<()> {
        let exact = filters.iter().filter(|f| self.decided_per_file(f)).cloned();
        let Some(predicate) = crate::chains::balanced_conjunction(exact) else {
            return Ok(());
        };
        if files.is_empty() {
            return Ok(());
        }
        let schema = Arc::new(Schema::new(self.partition_fields.clone()));
        let columns = self
            .partition_fields
            .iter()
            .map(|field| {
                ScalarValue::iter_to_array(files.iter().map(|f| self.partition_value(f, field)))
            })
            .collect::<Result<Vec<_>>>()?;
        let batch = RecordBatch::try_new(Arc::clone(&schema), columns)?;
        let physical = state.create_physical_expr(predicate, &DFSchema::try_from(schema)?)?;
        let value = physical.evaluate(&batch)?.into_array(files.len())?;
        let keep = value
            .as_any()
            .downcast_ref::<BooleanArray>()
            .ok_or_else(|| {
                DataFusionError::Internal(format!(
                    "a partition filter of {}.{} evaluated to {} instead of booleans",
                    self.meta.schema,
                    self.meta.name,
                    value.data_type()
                ))
            })?;
        let mut i = 0;
        files.retain(|_| {
            let k = keep.is_valid(i) && keep.value(i);
            i += 1;
            k
        });
        Ok(())
    }

    /// Ids of the columns a scan touches, so only their statistics are loaded.
    fn used_columns(&self, projection: Option<&Vec<usize>>, filters: &[Expr]) -> Vec<i64> {
        let mut names: HashSet<String> = HashSet::new();
        match projection {
            Some(p) => names.extend(p.iter().map(|i| self.schema.field(*i).name().clone())),
            None => names.extend(self.schema.fields().iter().map(|f| f.name().clone())),
        }
        for f in filters {
            names.extend(f.column_refs().into_iter().map(|c| c.name.clone()));
        }
        let mut ids: Vec<i64> = names
            .iter()
            .filter_map(|n| self.meta.column_by_name(n).map(|c| c.column_id))
            .collect();
        ids.sort_unstable();
        ids
    }
}
