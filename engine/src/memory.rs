//! Per-query memory share: a pool that caps one statement's reservations and passes them on to
//! the engine's shared pool, so one heavy query spills (or fails) before it starves the others.

use std::fmt;
use std::sync::Arc;

use datafusion::error::{DataFusionError, Result};
use datafusion::execution::memory_pool::{
    FairSpillPool, MemoryConsumer, MemoryLimit, MemoryPool, MemoryReservation, human_readable_size,
};

/// The memory pool of one statement: at most `limit` bytes, shared fairly among the statement's
/// spilling operators (DataFusion's `FairSpillPool`: each spilling operator, such as the sort of
/// one partition, may use an equal share of what the non-spilling ones leave, so every sort can
/// spill instead of one starving the merge of another), and taken from `shared`.
#[derive(Debug)]
pub struct QueryMemoryPool {
    shared: Arc<dyn MemoryPool>,
    local: FairSpillPool,
    limit: usize,
}

impl QueryMemoryPool {
    pub fn new(shared: Arc<dyn MemoryPool>, limit: usize) -> Self {
        QueryMemoryPool {
            shared,
            local: FairSpillPool::new(limit),
            limit,
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
                        "the query needs more than its memory limit of {} ({} in use, {} more asked by {}); \
                         raise `limits.query_memory` or make the query more selective",
                        human_readable_size(self.limit),
                        human_readable_size(self.local.reserved()),
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
                        "the queries running now use the whole memory limit ({}); {} more asked by {}; \
                         raise `limits.memory`, run fewer queries at once or make this one more selective",
                        self.shared_limit(),
                        human_readable_size(additional),
                        reservation.consumer().name()
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

    fn memory_limit(&self) -> MemoryLimit {
        MemoryLimit::Finite(self.limit)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::execution::memory_pool::GreedyMemoryPool;

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
