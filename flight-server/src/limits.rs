//! Admission: at most `max_running` queries run at once and at most `max_queued` wait; a
//! request beyond both fails at once with `RESOURCE_EXHAUSTED`. Heavy queries (those whose scans
//! read at least `heavy_query_bytes`) may hold at most half of the running slots, and wait for
//! one of theirs apart from the line of short queries: a burst of big scans cannot take every
//! slot, nor stand in front of the dashboards queued behind it.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::error::{Error, Result};

/// The server's query slots and waiting line.
pub struct Admission {
    slots: Arc<Semaphore>,
    /// The share of `slots` heavy queries may hold.
    heavy: Arc<Semaphore>,
    waiting: Arc<AtomicUsize>,
    max_running: usize,
    max_queued: usize,
}

/// A running slot (and, for a heavy query, one of the heavy share), given back when dropped.
#[derive(Debug)]
pub struct Permit {
    _slot: OwnedSemaphorePermit,
    _heavy: Option<OwnedSemaphorePermit>,
}

/// Leaves the waiting line when dropped, also when the waiting request is cancelled.
struct InLine(Arc<AtomicUsize>);

impl Drop for InLine {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Admission {
    pub fn new(max_running: usize, max_queued: usize) -> Self {
        let max_running = max_running.max(1);
        Admission {
            slots: Arc::new(Semaphore::new(max_running)),
            heavy: Arc::new(Semaphore::new((max_running / 2).max(1))),
            waiting: Arc::new(AtomicUsize::new(0)),
            max_running,
            max_queued,
        }
    }

    /// A running slot, waiting for one if the line is not full; a `heavy` query also takes one
    /// of the heavy share first.
    pub async fn admit(&self, heavy: bool) -> Result<Permit> {
        let mut share = None;
        if heavy {
            share = Arc::clone(&self.heavy).try_acquire_owned().ok();
        }
        let waits_for_share = heavy && share.is_none();
        if !waits_for_share && let Ok(slot) = Arc::clone(&self.slots).try_acquire_owned() {
            return Ok(Permit {
                _slot: slot,
                _heavy: share,
            });
        }
        // Waiting: a heavy query took its share above or waits for it here; giving it back
        // while in line would let a later heavy query pass it.
        let before = self.waiting.fetch_add(1, Ordering::SeqCst);
        let _in_line = InLine(Arc::clone(&self.waiting));
        if before >= self.max_queued {
            return Err(Error::ResourceExhausted(format!(
                "server busy: {} queries are running and {} waiting (limits.max_running = {}, limits.max_queued = {}); retry later",
                self.max_running, before, self.max_running, self.max_queued
            )));
        }
        let closed = |_| Error::Internal("the server is shutting down".into());
        if waits_for_share {
            share = Some(
                Arc::clone(&self.heavy)
                    .acquire_owned()
                    .await
                    .map_err(closed)?,
            );
        }
        let slot = Arc::clone(&self.slots)
            .acquire_owned()
            .await
            .map_err(closed)?;
        Ok(Permit {
            _slot: slot,
            _heavy: share,
        })
    }

    /// Queries running now.
    #[cfg(test)]
    pub fn running(&self) -> usize {
        self.max_running - self.slots.available_permits()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn queue_overflow_fails_at_once() {
        let a = Arc::new(Admission::new(1, 1));
        let first = a.admit(false).await.unwrap();
        let waiter = {
            let a = Arc::clone(&a);
            tokio::spawn(async move { a.admit(false).await.map(|_| ()) })
        };
        tokio::task::yield_now().await;
        while a.waiting.load(Ordering::SeqCst) == 0 {
            tokio::task::yield_now().await;
        }
        let err = a.admit(false).await.unwrap_err();
        assert!(matches!(err, Error::ResourceExhausted(_)), "{err}");
        assert!(err.to_string().contains("limits.max_queued = 1"), "{err}");
        drop(first);
        waiter.await.unwrap().unwrap();
        assert_eq!(a.waiting.load(Ordering::SeqCst), 0);
        assert_eq!(a.running(), 0);
    }

    #[tokio::test]
    async fn heavy_queries_hold_at_most_half_the_slots_and_do_not_block_short_ones() {
        let a = Arc::new(Admission::new(4, 16));
        let h1 = a.admit(true).await.unwrap();
        let h2 = a.admit(true).await.unwrap();
        // A third heavy query waits for the heavy share, though two slots are free.
        let h3 = {
            let a = Arc::clone(&a);
            tokio::spawn(async move { a.admit(true).await.map(|_| ()) })
        };
        while a.waiting.load(Ordering::SeqCst) == 0 {
            tokio::task::yield_now().await;
        }
        assert_eq!(a.running(), 2);
        // Short queries take the free slots at once, past the waiting heavy one.
        let s1 = tokio::time::timeout(std::time::Duration::from_secs(5), a.admit(false))
            .await
            .expect("a short query is not held behind a heavy one")
            .unwrap();
        let s2 = a.admit(false).await.unwrap();
        assert_eq!(a.running(), 4);
        assert!(!h3.is_finished());
        // When a heavy query ends, the waiting one runs.
        drop(h1);
        h3.await.unwrap().unwrap();
        drop((h2, s1, s2));
        assert_eq!(a.running(), 0);
        assert_eq!(a.waiting.load(Ordering::SeqCst), 0);
    }

    #[tokio::test]
    async fn one_slot_still_runs_heavy_queries() {
        let a = Admission::new(1, 4);
        drop(a.admit(true).await.unwrap());
        drop(a.admit(false).await.unwrap());
    }
}
