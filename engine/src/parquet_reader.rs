//! Parquet readers whose cached metadata includes the page index.
//!
//! DataFusion's cached reader caches the footer, but loads the page index afterwards with
//! separate reads that bypass the cache, so every query re-read every file's page index. These
//! readers ask for the page index together with the footer: with the metadata size hint from
//! the catalog both arrive in one ranged GET the first time a file is touched, and come from the
//! cache afterwards.

use std::ops::Range;
use std::sync::Arc;

use bytes::Bytes;
use datafusion::datasource::listing::PartitionedFile;
use datafusion::datasource::physical_plan::parquet::{
    CachedParquetFileReaderFactory, ParquetFileReaderFactory,
};
use datafusion::error::Result;
use datafusion::execution::cache::cache_manager::FileMetadataCache;
use datafusion::physical_plan::metrics::ExecutionPlanMetricsSet;
use futures::FutureExt;
use futures::future::BoxFuture;
use object_store::ObjectStore;
use parquet::arrow::arrow_reader::ArrowReaderOptions;
use parquet::arrow::async_reader::AsyncFileReader;
use parquet::file::metadata::{PageIndexPolicy, ParquetMetaData};

/// Creates readers that cache footers and page indexes together.
#[derive(Debug)]
pub struct MetadataCachingReaderFactory {
    inner: CachedParquetFileReaderFactory,
}

impl MetadataCachingReaderFactory {
    pub fn new(store: Arc<dyn ObjectStore>, cache: Arc<FileMetadataCache>) -> Self {
        MetadataCachingReaderFactory {
            inner: CachedParquetFileReaderFactory::new(store, cache),
        }
    }
}

impl ParquetFileReaderFactory for MetadataCachingReaderFactory {
    fn create_reader(
        &self,
        partition_index: usize,
        partitioned_file: PartitionedFile,
        metadata_size_hint: Option<usize>,
        metrics: &ExecutionPlanMetricsSet,
    ) -> Result<Box<dyn AsyncFileReader + Send>> {
        let inner = self.inner.create_reader(
            partition_index,
            partitioned_file,
            metadata_size_hint,
            metrics,
        )?;
        Ok(Box::new(WithPageIndex { inner }))
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
