//! Parquet readers for catalog tables: cached metadata includes the page index, and reads
//! are checked against the catalog's file sizes.
//!
//! DataFusion's cached reader caches the footer, but loads the page index afterwards with
//! separate reads that bypass the cache, so every query re-read every file's page index. These
//! readers ask for the page index together with the footer: with the metadata size hint from
//! the catalog both arrive in one ranged GET the first time a file is touched, and come from the
//! cache afterwards.

use std::collections::HashMap;
use std::fmt;
use std::ops::Range;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use bytes::Bytes;
use datafusion::datasource::listing::PartitionedFile;
use datafusion::datasource::physical_plan::parquet::{
    CachedParquetFileReaderFactory, ParquetFileReaderFactory,
};
use datafusion::error::Result;
use datafusion::execution::cache::cache_manager::FileMetadataCache;
use datafusion::physical_plan::metrics::{Count, ExecutionPlanMetricsSet, MetricBuilder};
use futures::FutureExt;
use futures::future::{AbortHandle, Abortable, BoxFuture};
use futures::stream::BoxStream;
use object_store::path::Path;
use object_store::{
    CopyOptions, GetOptions, GetRange, GetResult, ListResult, MultipartUpload,
    OBJECT_STORE_COALESCE_DEFAULT, ObjectMeta, ObjectStore, ObjectStoreExt, PutMultipartOptions,
    PutOptions, PutPayload, PutResult, coalesce_ranges,
};
use parquet::arrow::arrow_reader::ArrowReaderOptions;
use parquet::arrow::async_reader::AsyncFileReader;
use parquet::file::metadata::{PageIndexPolicy, ParquetMetaData};

use crate::data_cache::{DataCache, Miss};
use crate::dictionary_pruning::{DictionaryFilters, DictionaryPruned};
use crate::requests::{CHANGED, RequestCounter, StorageProblem};

/// Creates the readers of a catalog table's files: footers and page indexes cached together,
/// and every read checked against the size the catalog recorded.
#[derive(Debug)]
pub struct CatalogReaderFactory {
    store: Arc<dyn ObjectStore>,
    cache: Arc<FileMetadataCache>,
    /// Ask for the page index with the footer (when the session reads page indexes).
    page_index: bool,
    /// `s3://bucket` (empty for local files), to spell URLs in errors.
    base: String,
    /// Where the statement's storage problems are reported.
    counter: Option<Arc<RequestCounter>>,
    /// Which file each partition reads.
    reading: Arc<Reading>,
    /// Footer reads in flight, shared by every scan of the engine.
    footers: Arc<FooterReads>,
    /// Byte ranges of data files, shared by every query of the engine (None: caching off).
    data_cache: Option<Arc<DataCache>>,
    /// The store's identity ([`crate::storage::Stores::identity`]), naming ranges on the disk
    /// tier; None: the files' ranges do not go there (local files).
    disk_identity: Option<String>,
    /// Filters the scan's readers check column dictionaries against, once it executes.
    dictionary: Arc<DictionaryFilters>,
}

impl CatalogReaderFactory {
    pub fn new(
        store: Arc<dyn ObjectStore>,
        cache: Arc<FileMetadataCache>,
        page_index: bool,
        base: String,
        counter: Option<Arc<RequestCounter>>,
        reading: Arc<Reading>,
        footers: Arc<FooterReads>,
    ) -> Self {
        CatalogReaderFactory {
            store,
            cache,
            page_index,
            base,
            counter,
            reading,
            footers,
            data_cache: None,
            disk_identity: None,
            dictionary: Arc::default(),
        }
    }

    /// Share with the scan the filters its readers check dictionaries against.
    pub(crate) fn with_dictionary_filters(mut self, filters: Arc<DictionaryFilters>) -> Self {
        self.dictionary = filters;
        self
    }

    /// The reader of files at `url` through `store`, with `stores`' footer reads, data cache
    /// and (on object storage) its disk tier: how every catalog scan reads, in the planning
    /// process and in a cluster's executors alike.
    pub(crate) fn on_stores(
        stores: &crate::storage::Stores,
        store: Arc<dyn ObjectStore>,
        url: &datafusion::execution::object_store::ObjectStoreUrl,
        cache: Arc<FileMetadataCache>,
        page_index: bool,
        counter: Option<Arc<RequestCounter>>,
        reading: Arc<Reading>,
    ) -> Self {
        let remote = *url != crate::storage::Stores::local_url();
        let base = if remote {
            url.as_str().trim_end_matches('/').to_string()
        } else {
            String::new()
        };
        let factory = Self::new(
            store,
            cache,
            page_index,
            base,
            counter,
            reading,
            stores.footer_reads(),
        )
        // Local files too: a range from the page cache still costs a system call, a copy into
        // fresh memory and its page faults (a fifth of the hot logs and trips suites,
        // docs/performance.md). Only ranges of object storage go to the disk tier.
        .with_data_cache(stores.data_cache());
        if remote {
            factory.with_disk_tier(stores.identity(url.as_str()))
        } else {
            factory
        }
    }

    /// Keep the byte ranges read in `cache`.
    pub fn with_data_cache(mut self, cache: Option<Arc<DataCache>>) -> Self {
        self.data_cache = cache;
        self
    }

    /// Keep the ranges on the data cache's disk tier too, if it has one, under the store's
    /// `identity` (files on object storage).
    pub(crate) fn with_disk_tier(mut self, identity: String) -> Self {
        self.disk_identity = Some(identity);
        self
    }

    /// Start reading the footers of `files` now, while the rest of the statement is planned
    /// and its other scans run: a scan that starts later (the probe side of a join, waiting for
    /// its build side) then finds them in the cache instead of paying a round trip to object
    /// storage at its start. A footer already cached costs a lookup; one being read is read
    /// once ([`FooterReads`]). Failures are left for the scan to report. The reads stop when
    /// the returned handles are aborted (the statement ended), so that an unanswered request
    /// does not hold the file's footer slot past its statement.
    pub fn prefetch_footers(self: &Arc<Self>, files: Vec<PartitionedFile>) -> Vec<AbortHandle> {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return Vec::new();
        };
        files
            .into_iter()
            .map(|file| {
                let factory = Arc::clone(self);
                let (abort, registration) = AbortHandle::new_pair();
                runtime.spawn(Abortable::new(
                    async move {
                        let metrics = ExecutionPlanMetricsSet::new();
                        let hint = file.metadata_size_hint;
                        // No partition of the scan reads it (errors name files by partition).
                        if let Ok(mut reader) =
                            factory.create_reader(usize::MAX, file, hint, &metrics)
                        {
                            let _ = reader.get_metadata(None).await;
                        }
                    },
                    registration,
                ));
                abort
            })
            .collect()
    }
}

/// Footer reads in flight, by file. DataFusion may open one file from two places at once (its
/// scan plans files and row groups as separate pieces of work); without this both would miss
/// the cache and read the footer. A second reader waits for the first read and then finds the
/// footer in the cache: one GET per file, however many readers.
#[derive(Debug, Default)]
pub struct FooterReads(Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>);

impl FooterReads {
    /// The lock of `url`'s footer read; entries nobody holds are dropped on the way.
    fn slot(&self, url: &str) -> Arc<tokio::sync::Mutex<()>> {
        let mut reads = self.0.lock().unwrap_or_else(|e| e.into_inner());
        reads.retain(|_, slot| Arc::strong_count(slot) > 1);
        Arc::clone(reads.entry(url.to_string()).or_default())
    }
}

/// The file each partition of a scan is reading, so that an error the Parquet decoder raises
/// (which knows no file name) can name it.
#[derive(Debug, Default)]
pub struct Reading(Mutex<HashMap<usize, String>>);

impl Reading {
    fn set(&self, partition: usize, url: &str) {
        if let Ok(mut m) = self.0.lock()
            && m.get(&partition).is_none_or(|u| u != url)
        {
            m.insert(partition, url.to_string());
        }
    }

    /// The file `partition` read last.
    pub fn file(&self, partition: usize) -> Option<String> {
        self.0.lock().ok()?.get(&partition).cloned()
    }
}

impl ParquetFileReaderFactory for CatalogReaderFactory {
    fn create_reader(
        &self,
        partition_index: usize,
        partitioned_file: PartitionedFile,
        metadata_size_hint: Option<usize>,
        metrics: &ExecutionPlanMetricsSet,
    ) -> Result<Box<dyn AsyncFileReader + Send>> {
        let url = format!("{}/{}", self.base, partitioned_file.object_meta.location);
        let partitioned_file_size = partitioned_file.object_meta.size;
        // Row groups are dropped from the footers of the scan's own readers (not prefetches),
        // of files without a delete selection (its row numbers count every row group), when
        // the chunks checked are the ones the scan reads next from the data cache, or local.
        let by_dictionary = (partition_index != usize::MAX
            && partitioned_file.extensions.is_empty()
            && self.dictionary.active()
            && (self.data_cache.is_some() || self.base.is_empty()))
        .then(|| {
            partitioned_file
                .range
                .as_ref()
                .map(|r| r.start.max(0) as u64..r.end.max(0) as u64)
        });
        let store = Arc::new(ExpectSize {
            inner: Arc::clone(&self.store),
            expected: partitioned_file.object_meta.size,
            url: url.clone(),
            counter: self.counter.clone(),
        });
        let inner = CachedParquetFileReaderFactory::new(store, Arc::clone(&self.cache))
            .create_reader(
                partition_index,
                partitioned_file,
                metadata_size_hint,
                metrics,
            )?;
        let inner: Box<dyn AsyncFileReader + Send> = if self.page_index {
            Box::new(WithPageIndex { inner })
        } else {
            inner
        };
        let data_cache = self.data_cache.as_ref().map(|cache| {
            let counter = |name| MetricBuilder::new(metrics).counter(name, partition_index);
            let file = DataCache::file_key(&url, partitioned_file_size);
            CachedFile {
                cache: Arc::clone(cache),
                disk_file: (self.disk_identity.as_ref())
                    .filter(|_| cache.has_disk())
                    .map(|identity| Arc::from(format!("{identity} {file}"))),
                file,
                hits: counter("data_cache_hits"),
                hit_bytes: counter("data_cache_hit_bytes"),
                misses: counter("data_cache_misses"),
                disk_hits: counter("data_cache_disk_hits"),
            }
        });
        let tracked = Box::new(Tracked {
            inner,
            url,
            partition: partition_index,
            reading: Arc::clone(&self.reading),
            footers: Arc::clone(&self.footers),
            data_cache,
            counter: self.counter.clone(),
        });
        Ok(match by_dictionary {
            Some(range) => Box::new(DictionaryPruned {
                inner: tracked,
                filters: Arc::clone(&self.dictionary),
                range,
                pruned: MetricBuilder::new(metrics)
                    .counter("row_groups_pruned_dictionary", partition_index),
            }),
            None => tracked,
        })
    }
}

/// A reader that records, before each read, which file its partition is reading, and names
/// the file in the errors of its footer.
struct Tracked {
    inner: Box<dyn AsyncFileReader + Send>,
    url: String,
    partition: usize,
    reading: Arc<Reading>,
    footers: Arc<FooterReads>,
    /// The data cache, when this file's ranges are cached.
    data_cache: Option<CachedFile>,
    counter: Option<Arc<RequestCounter>>,
}

/// A file whose ranges the data cache keeps, with the scan's metrics of it (`EXPLAIN ANALYZE`).
struct CachedFile {
    cache: Arc<DataCache>,
    /// The file's name in the cache.
    file: Arc<str>,
    /// The file's name on the disk tier, when its ranges go there (the cache has one, and
    /// the file is on object storage).
    disk_file: Option<Arc<str>>,
    hits: Count,
    hit_bytes: Count,
    misses: Count,
    /// Of `hits`, those the disk tier served.
    disk_hits: Count,
}

/// Reads ranges of one file from the data cache's disk tier, off the async threads.
struct DiskReader {
    cache: Arc<DataCache>,
    file: Arc<str>,
    disk_file: Arc<str>,
    hits: Count,
    hit_bytes: Count,
    disk_hits: Count,
    counter: Option<Arc<RequestCounter>>,
}

impl DiskReader {
    /// The ranges the disk tier has (put back into memory), counted as hits; None for the
    /// others.
    async fn read(self, ranges: Vec<Range<u64>>) -> Vec<Option<Bytes>> {
        let count = ranges.len();
        let (cache, file) = (Arc::clone(&self.cache), Arc::clone(&self.file));
        let disk_file = Arc::clone(&self.disk_file);
        let found = tokio::task::spawn_blocking(move || {
            ranges
                .iter()
                .map(|range| cache.take_from_disk(&file, &disk_file, range))
                .collect::<Vec<_>>()
        })
        .await
        .unwrap_or_else(|_| vec![None; count]);
        for bytes in found.iter().flatten() {
            self.hits.add(1);
            self.hit_bytes.add(bytes.len());
            self.disk_hits.add(1);
            if let Some(counter) = &self.counter {
                counter.cache_hit(bytes.len() as u64);
                counter.disk_cache_hit();
            }
        }
        found
    }
}

impl Tracked {
    /// The cached range, counted as a hit.
    fn cached(&self, range: &Range<u64>) -> Option<Bytes> {
        let cached = self.data_cache.as_ref()?;
        let bytes = cached.cache.get(&cached.file, range)?;
        cached.hits.add(1);
        cached.hit_bytes.add(bytes.len());
        if let Some(counter) = &self.counter {
            counter.cache_hit(bytes.len() as u64);
        }
        Some(bytes)
    }

    /// What reading ranges from the disk tier needs, when this file's ranges go there.
    fn disk_reader(&self) -> Option<DiskReader> {
        let cached = self.data_cache.as_ref()?;
        Some(DiskReader {
            cache: Arc::clone(&cached.cache),
            file: Arc::clone(&cached.file),
            disk_file: Arc::clone(cached.disk_file.as_ref()?),
            hits: cached.hits.clone(),
            hit_bytes: cached.hit_bytes.clone(),
            disk_hits: cached.disk_hits.clone(),
            counter: self.counter.clone(),
        })
    }

    /// Keep ranges just read, counted as misses: in memory, and on the disk tier in the
    /// background.
    fn keep(&self, ranges: &[Range<u64>], read: &[Bytes]) {
        if let Some(cached) = &self.data_cache {
            for (range, bytes) in ranges.iter().zip(read) {
                cached.cache.insert(&cached.file, range, bytes);
            }
            if let Some(disk_file) = &cached.disk_file {
                for (range, bytes) in ranges.iter().zip(read) {
                    cached.cache.put_on_disk(disk_file, range, bytes);
                }
            }
            cached.misses.add(ranges.len());
            if let Some(counter) = &self.counter {
                counter.cache_missed(ranges.len() as u64);
            }
        }
    }
}

impl AsyncFileReader for Tracked {
    fn get_bytes(&mut self, range: Range<u64>) -> BoxFuture<'_, parquet::errors::Result<Bytes>> {
        self.reading.set(self.partition, &self.url);
        if self.data_cache.is_none() {
            return self.inner.get_bytes(range);
        }
        async move {
            let mut read = self.get_byte_ranges(vec![range]).await?;
            read.pop().ok_or_else(|| {
                parquet::errors::ParquetError::General("the store returned no bytes".into())
            })
        }
        .boxed()
    }

    fn get_byte_ranges(
        &mut self,
        ranges: Vec<Range<u64>>,
    ) -> BoxFuture<'_, parquet::errors::Result<Vec<Bytes>>> {
        self.reading.set(self.partition, &self.url);
        let Some(cached) = &self.data_cache else {
            return self.inner.get_byte_ranges(ranges);
        };
        let (cache, file) = (Arc::clone(&cached.cache), Arc::clone(&cached.file));
        async move {
            let mut found: Vec<Option<Bytes>> = ranges.iter().map(|r| self.cached(r)).collect();
            // Ranges nobody is reading are read here, together; the others are waited for.
            let mut claims = Vec::new();
            let mut waits = Vec::new();
            for (i, range) in ranges
                .iter()
                .enumerate()
                .filter(|(i, _)| found[*i].is_none())
            {
                match cache.miss(&file, range) {
                    Miss::Read(claim) => claims.push((i, claim)),
                    Miss::Wait(done) => waits.push((i, done)),
                }
            }
            if !claims.is_empty() {
                // The disk tier may have them: evicted from memory, or read before a restart.
                if let Some(disk) = self.disk_reader() {
                    let on_disk = disk
                        .read(claims.iter().map(|(i, _)| ranges[*i].clone()).collect())
                        .await;
                    for ((i, _), bytes) in claims.iter().zip(on_disk) {
                        found[*i] = bytes;
                    }
                    // Those are in memory again: their waiters may go.
                    claims.retain(|(i, _)| found[*i].is_none());
                }
            }
            if !claims.is_empty() {
                let mine: Vec<Range<u64>> =
                    claims.iter().map(|(i, _)| ranges[*i].clone()).collect();
                let read = self.inner.get_byte_ranges(mine.clone()).await?;
                self.keep(&mine, &read);
                for ((i, _), bytes) in claims.iter().zip(read) {
                    found[*i] = Some(bytes);
                }
                // Dropping the claims wakes the readers waiting for these ranges.
                drop(claims);
            }
            for (i, mut done) in waits {
                // Woken when the other read ends, whether it succeeded or not.
                let _ = done.changed().await;
                found[i] = match self.cached(&ranges[i]) {
                    Some(bytes) => Some(bytes),
                    // It failed, or the cache did not admit the range: read it here.
                    None => {
                        let range = ranges[i].clone();
                        let bytes = self.inner.get_bytes(range.clone()).await?;
                        self.keep(std::slice::from_ref(&range), std::slice::from_ref(&bytes));
                        Some(bytes)
                    }
                };
            }
            found
                .into_iter()
                .map(|bytes| {
                    bytes.ok_or_else(|| {
                        parquet::errors::ParquetError::General(
                            "the store returned fewer ranges than asked for".into(),
                        )
                    })
                })
                .collect()
        }
        .boxed()
    }

    fn get_metadata<'a>(
        &'a mut self,
        options: Option<&'a ArrowReaderOptions>,
    ) -> BoxFuture<'a, parquet::errors::Result<Arc<ParquetMetaData>>> {
        self.reading.set(self.partition, &self.url);
        async move {
            let slot = self.footers.slot(&self.url);
            let _reading = slot.lock().await;
            self.inner.get_metadata(options).await.map_err(|e| match e {
                // Storage errors already name the object.
                parquet::errors::ParquetError::External(_) => e,
                other => parquet::errors::ParquetError::General(format!(
                    "{}: cannot read the Parquet footer: {other}",
                    self.url
                )),
            })
        }
        .boxed()
    }
}

/// A store for reading one file that refuses answers from a different object than the one
/// registered: a size other than the catalog's, or a range other than the one asked for. Such
/// an object was replaced after registration; reading it anyway gives corrupt-footer errors at
/// best.
#[derive(Debug)]
struct ExpectSize {
    inner: Arc<dyn ObjectStore>,
    expected: u64,
    url: String,
    counter: Option<Arc<RequestCounter>>,
}

impl ExpectSize {
    fn changed(&self, location: &Path, what: String) -> object_store::Error {
        let problem = StorageProblem {
            url: self.url.clone(),
            message: CHANGED.into(),
            cause: what,
        };
        if let Some(counter) = &self.counter {
            counter.failed(problem.clone());
        }
        object_store::Error::Precondition {
            path: location.to_string(),
            source: Box::new(problem),
        }
    }
}

impl fmt::Display for ExpectSize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ExpectSize({})", self.inner)
    }
}

#[async_trait]
impl ObjectStore for ExpectSize {
    async fn put_opts(
        &self,
        location: &Path,
        payload: PutPayload,
        opts: PutOptions,
    ) -> object_store::Result<PutResult> {
        self.inner.put_opts(location, payload, opts).await
    }

    async fn put_multipart_opts(
        &self,
        location: &Path,
        opts: PutMultipartOptions,
    ) -> object_store::Result<Box<dyn MultipartUpload>> {
        self.inner.put_multipart_opts(location, opts).await
    }

    async fn get_opts(
        &self,
        location: &Path,
        options: GetOptions,
    ) -> object_store::Result<GetResult> {
        let requested = options.range.clone();
        let result = self.inner.get_opts(location, options).await?;
        if result.meta.size != self.expected {
            return Err(self.changed(
                location,
                format!(
                    "the catalog recorded {} bytes, the store now has {}",
                    self.expected, result.meta.size
                ),
            ));
        }
        if let Some(GetRange::Bounded(range)) = requested
            && result.range != range
        {
            return Err(self.changed(
                location,
                format!(
                    "asked for bytes {range:?}, the store returned {:?}",
                    result.range
                ),
            ));
        }
        Ok(result)
    }

    async fn get_ranges(
        &self,
        location: &Path,
        ranges: &[Range<u64>],
    ) -> object_store::Result<Vec<Bytes>> {
        coalesce_ranges(
            ranges,
            |range| self.get_range(location, range),
            OBJECT_STORE_COALESCE_DEFAULT,
        )
        .await
    }

    fn delete_stream(
        &self,
        locations: BoxStream<'static, object_store::Result<Path>>,
    ) -> BoxStream<'static, object_store::Result<Path>> {
        self.inner.delete_stream(locations)
    }

    fn list(&self, prefix: Option<&Path>) -> BoxStream<'static, object_store::Result<ObjectMeta>> {
        self.inner.list(prefix)
    }

    async fn list_with_delimiter(&self, prefix: Option<&Path>) -> object_store::Result<ListResult> {
        self.inner.list_with_delimiter(prefix).await
    }

    async fn copy_opts(
        &self,
        from: &Path,
        to: &Path,
        options: CopyOptions,
    ) -> object_store::Result<()> {
        self.inner.copy_opts(from, to, options).await
    }
}

struct WithPageIndex {
    inner: Box<dyn AsyncFileReader + Send>,
}

impl AsyncFileReader for WithPageIndex {
    fn get_bytes(&mut self, range: Range<u64>) -> BoxFuture<'_, parquet::errors::Result<Bytes>> {
        self.inner.get_bytes(range)
    }

    fn get_byte_ranges(
        &mut self,
        ranges: Vec<Range<u64>>,
    ) -> BoxFuture<'_, parquet::errors::Result<Vec<Bytes>>> {
        self.inner.get_byte_ranges(ranges)
    }

    fn get_metadata<'a>(
        &'a mut self,
        options: Option<&'a ArrowReaderOptions>,
    ) -> BoxFuture<'a, parquet::errors::Result<Arc<ParquetMetaData>>> {
        async move {
            let options = options
                .cloned()
                .unwrap_or_default()
                .with_page_index_policy(PageIndexPolicy::Optional);
            self.inner.get_metadata(Some(&options)).await
        }
        .boxed()
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::requests::CountingStore;
    use arrow::array::{ArrayRef, Int64Array, RecordBatch};
    use datafusion::execution::runtime_env::RuntimeEnvBuilder;
    use object_store::local::LocalFileSystem;
    use parquet::arrow::ArrowWriter;

    /// A reader factory over the files in `dir`, and the counter of its requests.
    pub(crate) fn factory_over(
        dir: &std::path::Path,
    ) -> (CatalogReaderFactory, Arc<RequestCounter>) {
        let counter = Arc::new(RequestCounter::default());
        let local = Arc::new(LocalFileSystem::new_with_prefix(dir).unwrap());
        let store = Arc::new(CountingStore::new(
            local,
            String::new(),
            Arc::clone(&counter),
        ));
        let runtime = RuntimeEnvBuilder::new().build().unwrap();
        let factory = CatalogReaderFactory::new(
            store,
            runtime.cache_manager.get_file_metadata_cache(),
            true,
            String::new(),
            None,
            Arc::default(),
            Arc::default(),
        );
        (factory, counter)
    }

    #[tokio::test]
    async fn concurrent_readers_of_a_file_read_its_footer_once() {
        let dir = tempfile::tempdir().unwrap();
        let values: ArrayRef = Arc::new(Int64Array::from_iter_values(0..10_000));
        let batch = RecordBatch::try_from_iter([("v", values)]).unwrap();
        let mut bytes = Vec::new();
        let mut writer = ArrowWriter::try_new(&mut bytes, batch.schema(), None).unwrap();
        writer.write(&batch).unwrap();
        writer.close().unwrap();
        let size = bytes.len() as u64;
        std::fs::write(dir.path().join("f.parquet"), bytes).unwrap();

        // The local store reads on blocking threads, so the four reads below are in flight
        // together.
        let (factory, counter) = factory_over(dir.path());
        let metrics = ExecutionPlanMetricsSet::new();
        let file = PartitionedFile::new("f.parquet", size);
        let mut readers: Vec<_> = (0..4)
            .map(|partition| {
                factory
                    // The size hint covers the whole file: one read brings the footer and the
                    // page index.
                    .create_reader(partition, file.clone(), Some(size as usize), &metrics)
                    .unwrap()
            })
            .collect();
        let loaded =
            futures::future::try_join_all(readers.iter_mut().map(|r| r.get_metadata(None)))
                .await
                .unwrap();
        assert!(
            loaded
                .iter()
                .all(|m| m.file_metadata().num_rows() == 10_000)
        );
        assert_eq!(counter.snapshot().get, 1, "{:?}", counter.snapshot());
    }

    #[tokio::test]
    async fn concurrent_misses_of_a_range_read_it_once() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("f.parquet"), vec![7u8; 4096]).unwrap();
        let (factory, counter) = factory_over(dir.path());
        let factory = factory.with_data_cache(DataCache::new(1 << 20, None));
        let metrics = ExecutionPlanMetricsSet::new();
        let file = PartitionedFile::new("f.parquet", 4096);
        let mut readers: Vec<_> = (0..4)
            .map(|partition| {
                factory
                    .create_reader(partition, file.clone(), None, &metrics)
                    .unwrap()
            })
            .collect();
        let ranges = vec![0..100, 3000..3100];
        let read = futures::future::try_join_all(
            readers
                .iter_mut()
                .map(|r| r.get_byte_ranges(ranges.clone())),
        )
        .await
        .unwrap();
        assert!(
            read.iter()
                .all(|r| r.len() == 2 && r[0].len() == 100 && r[1].len() == 100)
        );
        // One GET (the two ranges coalesced) by the first reader; the other three waited for
        // it instead of making theirs.
        assert_eq!(counter.snapshot().get, 1, "{:?}", counter.snapshot());
        // A later read of one of them comes from the cache.
        let again = readers[0].get_bytes(3000..3100).await.unwrap();
        assert_eq!(again.len(), 100);
        assert_eq!(counter.snapshot().get, 1, "{:?}", counter.snapshot());
    }
}
