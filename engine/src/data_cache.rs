//! The data cache: byte ranges of data files, kept in memory and shared by every query of the
//! process (a server's dashboards repeat the same column chunks all day).
//!
//! Data files never change in place: a range is keyed by the file's URL, its size as the
//! catalog recorded it, and the range itself, so a replaced file (another size) never answers
//! from the cache (and is refused by the size check on its first read). Local files are cached
//! too: a range taken from the page cache still costs a system call, a copy and the page faults
//! of fresh memory. Eviction is moka's
//! (W-TinyLFU: a one-off scan does not push out ranges that are read again and again), bounded
//! by bytes (`cache.data` in `strata.toml`). Ranges of object-storage files may also be kept on
//! local disk ([`DiskTier`], `cache.disk_path`), where a range evicted from memory, or read
//! before a restart, is found again without a request.

use std::collections::HashMap;
use std::ops::Range;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use tokio::sync::watch;

use crate::disk_cache::DiskTier;
use crate::memory::Yielding;

/// A range of one file, as the catalog knows the file.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Key {
    /// `s3://bucket/path@size`.
    file: Arc<str>,
    start: u64,
    end: u64,
}

/// Byte ranges of object-store files, bounded by bytes.
#[derive(Debug)]
pub struct DataCache {
    ranges: moka::sync::Cache<Key, Bytes>,
    /// Ranges larger than this are read past the cache, so that one huge read does not
    /// replace everything else.
    largest: u64,
    /// Ranges being read, each by the first reader that missed it: later readers wait for that
    /// read (it ends when the sender, held by the first reader, is dropped) instead of
    /// requesting the same bytes again.
    reading: Mutex<HashMap<Key, watch::Receiver<()>>>,
    /// The disk tier (`cache.disk_path`), for ranges of object-storage files.
    disk: Option<Arc<DiskTier>>,
}

/// What a reader does about a range the cache did not have.
pub enum Miss {
    /// Read it: nobody else is. Dropping the claim (read done or failed) wakes the waiters.
    Read(Claim),
    /// Wait for the reader already reading it, then look again.
    Wait(watch::Receiver<()>),
}

/// A range a reader has undertaken to read.
pub struct Claim {
    cache: Arc<DataCache>,
    key: Key,
    _done: watch::Sender<()>,
}

impl Drop for Claim {
    fn drop(&mut self) {
        let mut reading = self.cache.reading.lock().unwrap_or_else(|e| e.into_inner());
        reading.remove(&self.key);
    }
}

impl DataCache {
    /// A cache of `capacity` bytes, with `disk` as its second tier, or None when `capacity` is
    /// 0 (caching off).
    pub fn new(capacity: u64, disk: Option<Arc<DiskTier>>) -> Option<Arc<DataCache>> {
        (capacity > 0).then(|| {
            let ranges = moka::sync::Cache::builder()
                .max_capacity(capacity)
                .weigher(|_: &Key, bytes: &Bytes| u32::try_from(bytes.len()).unwrap_or(u32::MAX))
                .build();
            Arc::new(DataCache {
                ranges,
                largest: (capacity / 8).min(u64::from(u32::MAX)),
                reading: Mutex::default(),
                disk,
            })
        })
    }

    /// The name under which the ranges of file `url`, `size` bytes long, are kept.
    pub fn file_key(url: &str, size: u64) -> Arc<str> {
        Arc::from(format!("{url}@{size}"))
    }

    pub fn get(&self, file: &Arc<str>, range: &Range<u64>) -> Option<Bytes> {
        self.ranges.get(&key(file, range))
    }

    /// For a range just missed: read it, or wait for the reader already reading it.
    pub fn miss(self: &Arc<Self>, file: &Arc<str>, range: &Range<u64>) -> Miss {
        let key = key(file, range);
        let mut reading = self.reading.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(done) = reading.get(&key) {
            return Miss::Wait(done.clone());
        }
        let (done, waiters) = watch::channel(());
        reading.insert(key.clone(), waiters);
        Miss::Read(Claim {
            cache: Arc::clone(self),
            key,
            _done: done,
        })
    }

    pub fn insert(&self, file: &Arc<str>, range: &Range<u64>, bytes: &Bytes) {
        if (bytes.len() as u64) <= self.largest {
            // A copy: the bytes read are often a slice of a larger coalesced read, which a
            // kept slice would keep alive whole, uncounted.
            self.ranges
                .insert(key(file, range), Bytes::copy_from_slice(bytes));
        }
    }

    /// Whether there is a disk tier.
    pub(crate) fn has_disk(&self) -> bool {
        self.disk.is_some()
    }

    /// The disk tier's copy of a range (blocking: call it off the async threads), put back
    /// into memory. `disk_file` names the file on the disk tier: its key with the store's
    /// identity, as ranges there outlive the process and its configuration.
    pub(crate) fn take_from_disk(
        &self,
        file: &Arc<str>,
        disk_file: &str,
        range: &Range<u64>,
    ) -> Option<Bytes> {
        let length = usize::try_from(range.end.checked_sub(range.start)?).ok()?;
        let bytes = self
            .disk
            .as_ref()?
            .get(&disk_key(disk_file, range), length)?;
        self.insert(file, range, &bytes);
        Some(bytes)
    }

    /// Keep a range on the disk tier too (in the background).
    pub(crate) fn put_on_disk(&self, disk_file: &str, range: &Range<u64>, bytes: &Bytes) {
        if let Some(disk) = &self.disk
            && (bytes.len() as u64) <= self.largest
        {
            disk.put(disk_key(disk_file, range), bytes);
        }
    }

    /// Apply pending insertions and removals now (moka applies them lazily), so that
    /// [`Yielding::held`] counts them.
    #[cfg(test)]
    pub fn settle(&self) {
        self.ranges.run_pending_tasks();
    }
}

impl Yielding for DataCache {
    fn held(&self) -> usize {
        usize::try_from(self.ranges.weighted_size()).unwrap_or(usize::MAX)
    }

    fn give_way(&self, bytes: usize) {
        crate::memory::evict(&self.ranges, bytes, Bytes::len);
    }
}

/// A range's name on the disk tier.
fn disk_key(file: &str, range: &Range<u64>) -> String {
    format!("{file}:{}-{}", range.start, range.end)
}

fn key(file: &Arc<str>, range: &Range<u64>) -> Key {
    Key {
        file: Arc::clone(file),
        start: range.start,
        end: range.end,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_are_kept_by_file_size_and_range() {
        let cache = DataCache::new(1 << 20, None).unwrap();
        let file = DataCache::file_key("s3://b/t/f.parquet", 1000);
        let bytes = Bytes::from_static(b"0123456789");
        cache.insert(&file, &(10..20), &bytes);
        assert_eq!(cache.get(&file, &(10..20)), Some(bytes));
        assert_eq!(cache.get(&file, &(10..19)), None);
        // The same path with another size is another file.
        let replaced = DataCache::file_key("s3://b/t/f.parquet", 1001);
        assert_eq!(cache.get(&replaced, &(10..20)), None);
        assert!(DataCache::new(0, None).is_none());
    }

    #[tokio::test]
    async fn a_second_reader_of_a_range_waits_for_the_first() {
        let cache = DataCache::new(1 << 20, None).unwrap();
        let file = DataCache::file_key("s3://b/f", 100);
        let Miss::Read(claim) = cache.miss(&file, &(0..10)) else {
            panic!("the first reader reads");
        };
        let Miss::Wait(mut done) = cache.miss(&file, &(0..10)) else {
            panic!("the second waits");
        };
        // Another range is not waited for.
        assert!(matches!(cache.miss(&file, &(0..11)), Miss::Read(_)));
        let waiter = tokio::spawn(async move {
            let _ = done.changed().await;
        });
        cache.insert(&file, &(0..10), &Bytes::from_static(b"0123456789"));
        drop(claim);
        waiter.await.unwrap();
        assert!(cache.get(&file, &(0..10)).is_some());
        // The read is over: a later miss reads again.
        assert!(matches!(cache.miss(&file, &(0..10)), Miss::Read(_)));
    }

    #[test]
    fn a_range_larger_than_an_eighth_of_the_cache_is_not_kept() {
        let cache = DataCache::new(800, None).unwrap();
        let file = DataCache::file_key("s3://b/f", 5000);
        cache.insert(&file, &(0..101), &Bytes::from(vec![0u8; 101]));
        assert_eq!(cache.get(&file, &(0..101)), None);
        cache.insert(&file, &(0..100), &Bytes::from(vec![0u8; 100]));
        assert!(cache.get(&file, &(0..100)).is_some());
    }
}
