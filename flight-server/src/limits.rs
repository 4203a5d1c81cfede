//! Admission: at most `max_running` queries run at once and at most `max_queued` wait; a
//! request beyond both fails at once with `RESOURCE_EXHAUSTED`.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::error::{Error, Result};

/// The server's query slots and waiting line.
pub struct Admission {
    slots: Arc<Semaphore>,
    waiting: Arc<AtomicUsize>,
    max_running: usize,
    max_queued: usize,
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
            waiting: Arc::new(AtomicUsize::new(0)),
            max_running,
            max_queued,
        }
    }

    /// A running slot, waiting for one if the line is not full.
    pub async fn admit(&self) -> Result<OwnedSemaphorePermit> {
        if let Ok(permit) = Arc::clone(&self.slots).try_acquire_owned() {
            return Ok(permit);
        }
        let before = self.waiting.fetch_add(1, Ordering::SeqCst);
        let _in_line = InLine(Arc::clone(&self.waiting));
        if before >= self.max_queued {
            return Err(Error::ResourceExhausted(format!(
                "server busy: {} queries are running and {} waiting (limits.max_running = {}, limits.max_queued = {}); retry later",
                self.max_running, before, self.max_running, self.max_queued
            )));
        }
        Arc::clone(&self.slots)
            .acquire_owned()
            .await
            .map_err(|_| Error::Internal("the server is shutting down".into()))
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
        let first = a.admit().await.unwrap();
        let waiter = {
            let a = Arc::clone(&a);
            tokio::spawn(async move { a.admit().await.map(|_| ()) })
        };
        tokio::task::yield_now().await;
        while a.waiting.load(Ordering::SeqCst) == 0 {
            tokio::task::yield_now().await;
        }
        let err = a.admit().await.unwrap_err();
        assert!(matches!(err, Error::ResourceExhausted(_)), "{err}");
        assert!(err.to_string().contains("limits.max_queued = 1"), "{err}");
        drop(first);
        waiter.await.unwrap().unwrap();
        assert_eq!(a.waiting.load(Ordering::SeqCst), 0);
        assert_eq!(a.running(), 0);
    }
}
