//! A full sort of a scan planned for more partitions than cores sorts as many partitions as
//! there are cores.
//!
//! A scan of object storage is planned for up to `scan_concurrency` partitions (16 by
//! default: reads wait on latency, not CPU), and DataFusion sorts each partition on its own
//! before merging them. Sixteen sorts on two cores split the memory sixteen ways: each spills
//! sooner, into more and smaller files, and each sort's merge of its files and the final
//! merge of the sorted partitions compete for what is left — under a small memory limit the
//! final merge found the memory taken by the others and the statement failed ("1.3 MB more
//! asked by SortPreservingMergeExec[0]" under 32 MiB on a busy machine). A round-robin
//! repartition between the scan and the sort keeps all of the scan's reads in flight and
//! sorts `target_partitions` partitions. (In cluster mode Ballista drops a round-robin
//! repartition from the plan it runs, so there each piece is still sorted on its own.)

use std::sync::Arc;

use datafusion::common::config::ConfigOptions;
use datafusion::common::tree_node::{Transformed, TransformedResult, TreeNode};
use datafusion::physical_optimizer::PhysicalOptimizerRule;
use datafusion::physical_plan::repartition::RepartitionExec;
use datafusion::physical_plan::sorts::sort::SortExec;
use datafusion::physical_plan::{ExecutionPlan, ExecutionPlanProperties, Partitioning};

#[derive(Debug, Default)]
pub(crate) struct SortsPerCore;

impl PhysicalOptimizerRule for SortsPerCore {
    fn optimize(
        &self,
        plan: Arc<dyn ExecutionPlan>,
        config: &ConfigOptions,
    ) -> datafusion::error::Result<Arc<dyn ExecutionPlan>> {
        if !config.optimizer.enable_round_robin_repartition {
            return Ok(plan);
        }
        let cores = config.execution.target_partitions.max(1);
        plan.transform_up(|node| {
            let Some(sort) = node.downcast_ref::<SortExec>() else {
                return Ok(Transformed::no(node));
            };
            // A top-N holds only its N rows; a sort of one partition has nothing to share;
            // and only a partitioning nothing above relies on (a hash partitioning may be
            // matched with another input's).
            let input = sort.input();
            let arbitrary = matches!(
                input.output_partitioning(),
                Partitioning::UnknownPartitioning(_) | Partitioning::RoundRobinBatch(_)
            );
            if sort.fetch().is_some()
                || !sort.preserve_partitioning()
                || !arbitrary
                || input.output_partitioning().partition_count() <= cores
            {
                return Ok(Transformed::no(node));
            }
            let repartition = Arc::new(RepartitionExec::try_new(
                Arc::clone(input),
                Partitioning::RoundRobinBatch(cores),
            )?);
            let rebuilt =
                SortExec::new(sort.expr().clone(), repartition).with_preserve_partitioning(true);
            // The plan was checked before this rule: keep the sort as it was unless the new
            // one orders its output as the old one did (a repartition forgets the constants
            // of its input's partitions, which a sort may have left out of its keys).
            if let Some(ordering) = sort.properties().output_ordering()
                && !rebuilt
                    .properties()
                    .equivalence_properties()
                    .ordering_satisfy(ordering.iter().cloned())?
            {
                return Ok(Transformed::no(node));
            }
            Ok(Transformed::yes(Arc::new(rebuilt) as Arc<dyn ExecutionPlan>))
        })
        .data()
    }

    fn name(&self) -> &str {
        "strata_sorts_per_core"
    }

    fn schema_check(&self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::datatypes::{DataType, Field, Schema};
    use datafusion::physical_expr::PhysicalSortExpr;
    use datafusion::physical_expr::expressions::col;
    use datafusion::physical_plan::displayable;
    use datafusion::physical_plan::empty::EmptyExec;

    /// A sort of `partitions` partitions (hash-partitioned or not), the rule applied.
    fn rewritten(partitions: usize, fetch: Option<usize>, hash: bool) -> String {
        let schema = Arc::new(Schema::new(vec![Field::new("a", DataType::Int64, true)]));
        let mut input: Arc<dyn ExecutionPlan> =
            Arc::new(EmptyExec::new(Arc::clone(&schema)).with_partitions(partitions));
        if hash {
            input = Arc::new(
                RepartitionExec::try_new(
                    input,
                    Partitioning::Hash(vec![col("a", &schema).unwrap()], partitions),
                )
                .unwrap(),
            );
        }
        let order = [PhysicalSortExpr::new_default(col("a", &schema).unwrap())];
        let sort = SortExec::new(order.into(), input)
            .with_preserve_partitioning(true)
            .with_fetch(fetch);
        let mut config = ConfigOptions::default();
        config.execution.target_partitions = 2;
        let plan = SortsPerCore.optimize(Arc::new(sort), &config).unwrap();
        displayable(plan.as_ref()).indent(true).to_string()
    }

    #[test]
    fn only_full_sorts_of_more_partitions_than_cores_are_repartitioned() {
        let plan = rewritten(6, None, false);
        assert!(
            plan.contains("RepartitionExec: partitioning=RoundRobinBatch(2), input_partitions=6"),
            "{plan}"
        );
        for plan in [
            rewritten(2, None, false),
            rewritten(6, Some(10), false),
            rewritten(6, None, true),
        ] {
            assert!(!plan.contains("RoundRobinBatch"), "{plan}");
        }
    }
}
