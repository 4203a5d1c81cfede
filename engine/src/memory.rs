//! Memory: one budget (`limits.memory`) for running queries and the caches, in which the
//! caches give way before a query spills or fails ([`EnginePool`]); and a per-query share that
//! caps one statement's reservations and passes them on to the engine's pool, so one heavy
//! query spills (or fails) before it starves the others ([`QueryMemoryPool`]); and the memory
//! each sort of a plan reserves up front, sized for the sorts the plan runs at once
//! ([`share_sort_reservations`]).

use std::fmt;
use std::sync::Arc;

use datafusion::common::tree_node::{TreeNode, TreeNodeRecursion};
use datafusion::error::{DataFusionError, Result};
use datafusion::execution::TaskContext;
use datafusion::execution::memory_pool::{
    FairSpillPool, MemoryConsumer, MemoryLimit, MemoryPool, MemoryReservation, TrackConsumersPool,
    human_readable_size,
};
use datafusion::physical_plan::ExecutionPlan;
use datafusion::physical_plan::sorts::sort::SortExec;

/// Memory a cache holds that it can give back when queries need it.
pub trait Yielding: Send + Sync + fmt::Debug {
    /// Bytes held now.
    fn held(&self) -> usize;
    /// Drop entries until at least `bytes` are freed, or nothing is left.
    fn give_way(&self, bytes: usize);
}

/// [`Yielding::give_way`] for a moka cache: drop entries until `weight` of them adds up to
/// `bytes`, then apply the removals (so that [`Yielding::held`] counts them).
pub(crate) fn evict<K, V>(
    cache: &moka::sync::Cache<K, V>,
    bytes: usize,
    weight: impl Fn(&V) -> usize,
) where
    K: std::hash::Hash + Eq + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    let mut freed = 0;
    for (key, value) in cache.iter() {
        if freed >= bytes {
            break;
        }
        freed += weight(&value);
        cache.invalidate(&*key);
    }
    cache.run_pending_tasks();
}

/// The engine's memory: queries reserve from a `FairSpillPool` of the whole budget, and what
/// the caches hold counts against the same budget: a reservation that takes queries and caches
/// together past the budget makes the caches drop entries, so queries may always use all of
/// it, and the caches keep what queries leave. (A cache may fill up again between reservations, by at most its own bound:
/// the next reservation takes that back.)
#[derive(Debug)]
pub struct EnginePool {
    queries: FairSpillPool,
    limit: usize,
    caches: Vec<Arc<dyn Yielding>>,
    /// Held by the caller making the caches give way.
    evicting: std::sync::Mutex<()>,
}

impl EnginePool {
    pub fn new(limit: usize, caches: Vec<Arc<dyn Yielding>>) -> Self {
        EnginePool {
            queries: FairSpillPool::new(limit),
            limit,
            caches,
            evicting: std::sync::Mutex::new(()),
        }
    }

    /// Bytes the caches hold now.
    pub fn cached(&self) -> usize {
        self.caches.iter().map(|c| c.held()).sum()
    }

    /// Make the caches give back what queries and caches together hold past the budget. One
    /// caller at a time (the others go on: the budget is settled by whoever holds the lock, on
    /// the figures it reads inside it).
    fn make_room(&self) {
        let Ok(_evicting) = self.evicting.try_lock() else {
            return;
        };
        let cached = self.cached();
        let wanted = self.queries.reserved() + cached;
        if cached == 0 || wanted <= self.limit {
            return;
        }
        let mut excess = wanted - self.limit;
        for cache in &self.caches {
            let before = cache.held();
            if before > 0 {
                cache.give_way(excess);
                excess = excess.saturating_sub(before.saturating_sub(cache.held()));
            }
            if excess == 0 {
                break;
            }
        }
    }
}

impl fmt::Display for EnginePool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "engine pool ({} used by queries and {} by caches, of {})",
            human_readable_size(self.queries.reserved()),
            human_readable_size(self.cached()),
            human_readable_size(self.limit)
        )
    }
}

impl MemoryPool for EnginePool {
    fn name(&self) -> &str {
        "strata-engine"
    }

    fn register(&self, consumer: &MemoryConsumer) {
        self.queries.register(consumer);
    }

    fn unregister(&self, consumer: &MemoryConsumer) {
        self.queries.unregister(consumer);
    }

    fn grow(&self, reservation: &MemoryReservation, additional: usize) {
        self.queries.grow(reservation, additional);
        self.make_room();
    }

    fn shrink(&self, reservation: &MemoryReservation, shrink: usize) {
        self.queries.shrink(reservation, shrink);
    }

    fn try_grow(&self, reservation: &MemoryReservation, additional: usize) -> Result<()> {
        // The queries' pool spans the whole budget, so what the caches hold never decides
        // whether a reservation succeeds; one that succeeds takes its room from the caches,
        // and one that fails (past the budget, or a spilling operator past its share) leaves
        // them alone.
        self.queries.try_grow(reservation, additional)?;
        self.make_room();
        Ok(())
    }

    fn reserved(&self) -> usize {
        self.queries.reserved()
    }

    fn memory_limit(&self) -> MemoryLimit {
        MemoryLimit::Finite(self.limit)
    }
}

/// The memory pool of one statement: at most `limit` bytes, shared fairly among the statement's
/// spilling operators (DataFusion's `FairSpillPool`: each spilling operator, such as the sort of
/// one partition, may use an equal share of what the non-spilling ones leave, so every sort can
/// spill instead of one starving the merge of another), and taken from `shared`.
#[derive(Debug)]
pub struct QueryMemoryPool {
    shared: Arc<dyn MemoryPool>,
    local: TrackConsumersPool<FairSpillPool>,
    limit: usize,
}

impl QueryMemoryPool {
    pub fn new(shared: Arc<dyn MemoryPool>, limit: usize) -> Self {
        QueryMemoryPool {
            shared,
            local: TrackConsumersPool::new(
                FairSpillPool::new(limit),
                std::num::NonZeroUsize::new(HOLDERS).expect("not zero"),
            ),
            limit,
        }
    }

    /// The statement's operators holding the most memory now, for the error of `asking`
    /// (none for an operator that spills: its error only tells it to).
    fn holders(&self, asking: &MemoryReservation) -> String {
        if asking.consumer().can_spill() {
            return String::new();
        }
        let mut held: Vec<_> = self
            .local
            .metrics()
            .into_iter()
            .filter(|c| c.reserved > 0)
            .collect();
        held.sort_by_key(|c| std::cmp::Reverse(c.reserved));
        let shown: Vec<String> = held
            .iter()
            .take(HOLDERS)
            .map(|c| format!("{} {}", c.name, human_readable_size(c.reserved)))
            .collect();
        match held.len() {
            0 => String::new(),
            n if n > HOLDERS => format!(" (held by {} and {} more)", shown.join(", "), n - HOLDERS),
            _ => format!(" (held by {})", shown.join(", ")),
        }
    }

    fn shared_limit(&self) -> String {
        match self.shared.memory_limit() {
            MemoryLimit::Finite(n) => human_readable_size(n),
            _ => "unbounded".to_string(),
        }
    }
}

impl fmt::Display for QueryMemoryPool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "query pool ({} of {} used) over {}",
            human_readable_size(self.local.reserved()),
            human_readable_size(self.limit),
            self.shared
        )
    }
}

impl MemoryPool for QueryMemoryPool {
    fn name(&self) -> &str {
        "strata-query"
    }

    fn register(&self, consumer: &MemoryConsumer) {
        self.local.register(consumer);
        self.shared.register(consumer);
    }

    fn unregister(&self, consumer: &MemoryConsumer) {
        self.local.unregister(consumer);
        self.shared.unregister(consumer);
    }

    fn grow(&self, reservation: &MemoryReservation, additional: usize) {
        self.local.grow(reservation, additional);
        self.shared.grow(reservation, additional);
    }

    fn shrink(&self, reservation: &MemoryReservation, shrink: usize) {
        self.local.shrink(reservation, shrink);
        self.shared.shrink(reservation, shrink);
    }

    fn try_grow(&self, reservation: &MemoryReservation, additional: usize) -> Result<()> {
        if let Err(e) = self.local.try_grow(reservation, additional) {
            // A spilling operator that reaches its share spills; anything else fails naming
            // the limit.
            return Err(match e {
                DataFusionError::ResourcesExhausted(_) => {
                    DataFusionError::ResourcesExhausted(format!(
                        "the query needs more than its memory limit of {} ({} in use{}, {} more asked by {}); \
                         raise `limits.query_memory` or make the query more selective",
                        human_readable_size(self.limit),
                        human_readable_size(self.local.reserved()),
                        self.holders(reservation),
                        human_readable_size(additional),
                        reservation.consumer().name()
                    ))
                }
                other => other,
            });
        }
        if let Err(e) = self.shared.try_grow(reservation, additional) {
            self.local.shrink(reservation, additional);
            return Err(match e {
                DataFusionError::ResourcesExhausted(_) => {
                    DataFusionError::ResourcesExhausted(format!(
                        "the queries running now use the whole memory limit ({}); {} more asked by {}, this query holding {}{}; \
                         raise `limits.memory`, run fewer queries at once or make this one more selective",
                        self.shared_limit(),
                        human_readable_size(additional),
                        reservation.consumer().name(),
                        human_readable_size(self.local.reserved()),
                        self.holders(reservation)
                    ))
                }
                other => other,
            });
        }
        Ok(())
    }

    fn reserved(&self) -> usize {
        self.local.reserved()
    }

    /// The most the statement can hold: its own limit, or the shared pool's if smaller.
    fn memory_limit(&self) -> MemoryLimit {
        match self.shared.memory_limit() {
            MemoryLimit::Finite(shared) => MemoryLimit::Finite(self.limit.min(shared)),
            _ => MemoryLimit::Finite(self.limit),
        }
    }
}

/// How many of a statement's operators an out-of-memory error names.
const HOLDERS: usize = 4;

/// `task_ctx` with each sort's up-front merge reservation sized for the sorts `plan` runs at
/// once. The engine reserves half of a partition's share of the query's memory for each sort,
/// counting `target_partitions` of them (engine.rs), so that every sort can spill. A plan may
/// sort more partitions than that: a scan of object storage is planned for up to
/// `scan_concurrency` partitions, each sorted on its own under an `ORDER BY` (or before a
/// write into a partitioned or sorted table). Their reservations then added up past the limit
/// and the statement failed before reading a row (logs r1 on S3, 16 partitions: "2.9 GB more
/// asked by ExternalSorterMerge[12]"). Each sort now reserves at most half of its share of the
/// statement's memory limit, counting the sorts this plan has (never more than configured).
pub(crate) fn share_sort_reservations(
    plan: &Arc<dyn ExecutionPlan>,
    task_ctx: TaskContext,
) -> TaskContext {
    let mut sorts = 0usize;
    let _ = plan.apply(|node| {
        if let Some(sort) = node.downcast_ref::<SortExec>()
            && sort.fetch().is_none()
        {
            sorts += sort.properties().output_partitioning().partition_count();
        }
        Ok(TreeNodeRecursion::Continue)
    });
    let MemoryLimit::Finite(limit) = task_ctx.memory_pool().memory_limit() else {
        return task_ctx;
    };
    if sorts == 0 {
        return task_ctx;
    }
    let reserved = task_ctx
        .session_config()
        .options()
        .execution
        .sort_spill_reservation_bytes;
    let shared = reserved.min((limit / (2 * sorts)).max(MIN_SORT_RESERVATION));
    if shared == reserved {
        return task_ctx;
    }
    let mut config = task_ctx.session_config().clone();
    config.options_mut().execution.sort_spill_reservation_bytes = shared;
    task_ctx.with_session_config(config)
}

/// The least a sort reserves for its merge (the engine's floor too).
const MIN_SORT_RESERVATION: usize = 1 << 20;

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::execution::memory_pool::GreedyMemoryPool;
    use std::ops::Range;

    /// The engine's pool over a real data cache holding `ranges` ranges of 100 bytes.
    fn pool_over_a_cache(
        limit: usize,
        ranges: u64,
    ) -> (Arc<dyn MemoryPool>, Arc<crate::data_cache::DataCache>) {
        let cache = crate::data_cache::DataCache::new(1 << 20, None).unwrap();
        let file = crate::data_cache::DataCache::file_key("s3://b/t/f.parquet", 1 << 20);
        for i in 0..ranges {
            let range: Range<u64> = i * 100..(i + 1) * 100;
            cache.insert(&file, &range, &bytes::Bytes::from(vec![7u8; 100]));
        }
        cache.settle();
        let caches: Vec<Arc<dyn Yielding>> = vec![Arc::clone(&cache) as Arc<dyn Yielding>];
        (Arc::new(EnginePool::new(limit, caches)), cache)
    }

    #[test]
    fn the_caches_give_way_before_a_query_fails() {
        // 600 of 1,000 bytes held by the data cache; a query asking for 500 gets them, and
        // the cache keeps only what is left.
        let (pool, cache) = pool_over_a_cache(1000, 6);
        assert_eq!(cache.held(), 600);
        let r = MemoryConsumer::new("hash join").register(&pool);
        r.try_grow(500).unwrap();
        assert_eq!(pool.reserved(), 500);
        assert!(
            cache.held() <= 500,
            "the cache still holds {}",
            cache.held()
        );
        assert!(
            cache.held() >= 400,
            "the cache gave up more than needed: {}",
            cache.held()
        );
        // Within the budget, nothing more is dropped.
        let before = cache.held();
        r.try_grow(0).unwrap();
        assert_eq!(cache.held(), before);
        // More than the budget fails, and costs the cache nothing.
        let err = r.try_grow(600).unwrap_err().to_string();
        assert!(err.contains("Resources exhausted"), "{err}");
        assert_eq!(cache.held(), before);
        // All of the budget, and the cache gives all it has.
        r.try_grow(500).unwrap();
        assert_eq!(cache.held(), 0);
        drop(r);
        assert_eq!(pool.reserved(), 0);
    }

    #[test]
    fn infallible_growth_also_takes_from_the_caches() {
        let (pool, cache) = pool_over_a_cache(1000, 8);
        let r = MemoryConsumer::new("batch").register(&pool);
        r.grow(700);
        assert!(
            cache.held() <= 300,
            "the cache still holds {}",
            cache.held()
        );
    }

    #[test]
    fn caps_one_query_and_returns_memory_to_the_shared_pool() {
        let shared: Arc<dyn MemoryPool> = Arc::new(GreedyMemoryPool::new(1000));
        let pool: Arc<dyn MemoryPool> = Arc::new(QueryMemoryPool::new(Arc::clone(&shared), 600));
        let r = MemoryConsumer::new("sort").register(&pool);
        r.try_grow(500).unwrap();
        assert_eq!(shared.reserved(), 500);
        let err = r.try_grow(200).unwrap_err().to_string();
        assert!(err.contains("memory limit of 600.0 B"), "{err}");
        assert_eq!(pool.reserved(), 500);
        drop(r);
        assert_eq!(shared.reserved(), 0);
        assert_eq!(pool.reserved(), 0);
    }
}
