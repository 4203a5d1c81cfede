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
//! sorts `target_partitions` partitions, each with a core's share of the memory.

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
        let cores = config.execution.target_partitions.max(1);
        plan.transform_up(|node| {
            let Some(sort) = node.downcast_ref::<SortExec>() else {
                return Ok(Transformed::no(node));
            };
            // A top-N holds only its N rows; a sort of one partition has nothing to share.
            let input = sort.input();
            // Only a partitioning nothing above relies on (a hash partitioning may be
            // matched with another input's).
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
