//! Request accounting and clear storage errors.
//!
//! [`CountingStore`] wraps any object store. It counts each request by kind with its bytes and
//! latency into a [`RequestCounter`] (one per query, or per registration), and rewrites store
//! errors so that they name the full URL and say what to check.

use std::fmt;
use std::ops::Range;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use async_trait::async_trait;
use bytes::Bytes;
use futures::stream::BoxStream;
use futures::{StreamExt, TryStreamExt};
use object_store::path::Path;
use object_store::{
    CopyOptions, GetOptions, GetResult, GetResultPayload, ListResult, MultipartUpload,
    OBJECT_STORE_COALESCE_DEFAULT, ObjectMeta, ObjectStore, ObjectStoreExt, PutMultipartOptions,
    PutOptions, PutPayload, PutResult, RenameOptions, UploadPart, coalesce_ranges,
};

/// Counts of object-store requests, shared by the stores of one query.
#[derive(Debug, Default)]
pub struct RequestCounter {
    get: AtomicU64,
    ranged_get: AtomicU64,
    head: AtomicU64,
    list: AtomicU64,
    put: AtomicU64,
    delete: AtomicU64,
    bytes_read: AtomicU64,
    bytes_written: AtomicU64,
    micros: AtomicU64,
    max_micros: AtomicU64,
    cache_hits: AtomicU64,
    cache_hit_bytes: AtomicU64,
    cache_misses: AtomicU64,
    disk_cache_hits: AtomicU64,
    /// The first storage failure, explained; reported instead of the error that reaches the
    /// caller through DataFusion and the Parquet reader, which flattens it into text.
    problem: std::sync::Mutex<Option<StorageProblem>>,
}

/// A snapshot of a [`RequestCounter`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RequestCounts {
    /// GET requests, whole-object and ranged.
    pub get: u64,
    /// Of `get`, those for a byte range (footers, column chunks).
    pub ranged_get: u64,
    pub head: u64,
    /// Listing calls (a listing of more than 1,000 objects pages through several HTTP requests).
    pub list: u64,
    /// PUTs, multipart parts and copies.
    pub put: u64,
    pub delete: u64,
    pub bytes_read: u64,
    pub bytes_written: u64,
    /// Sum of the requests' latencies (time to the response headers), in milliseconds.
    pub latency_ms_total: u64,
    /// The slowest request, in milliseconds.
    pub latency_ms_max: u64,
    /// Byte ranges of data files served from the data cache (`storage.data_cache`), with no
    /// request.
    #[serde(default)]
    pub cache_hits: u64,
    /// Bytes of those ranges.
    #[serde(default)]
    pub cache_hit_bytes: u64,
    /// Byte ranges of data files on object storage the cache did not have (read, then kept).
    #[serde(default)]
    pub cache_misses: u64,
    /// Of `cache_hits`, the ranges the disk tier (`cache.disk_path`) served: kept by an earlier
    /// run, or let go by memory.
    #[serde(default)]
    pub disk_cache_hits: u64,
}

impl std::ops::AddAssign for RequestCounts {
    fn add_assign(&mut self, o: Self) {
        self.get += o.get;
        self.ranged_get += o.ranged_get;
        self.head += o.head;
        self.list += o.list;
        self.put += o.put;
        self.delete += o.delete;
        self.bytes_read += o.bytes_read;
        self.bytes_written += o.bytes_written;
        self.latency_ms_total += o.latency_ms_total;
        self.latency_ms_max = self.latency_ms_max.max(o.latency_ms_max);
        self.cache_hits += o.cache_hits;
        self.cache_hit_bytes += o.cache_hit_bytes;
        self.cache_misses += o.cache_misses;
        self.disk_cache_hits += o.disk_cache_hits;
    }
}

impl RequestCounts {
    /// All requests.
    pub fn total(&self) -> u64 {
        self.get + self.head + self.list + self.put + self.delete
    }
}

#[derive(Debug, Clone, Copy)]
enum Kind {
    Get,
    RangedGet,
    Head,
    List,
    Put,
    Delete,
}

impl RequestCounter {
    fn record(&self, kind: Kind, started: Instant) {
        let counter = match kind {
            Kind::Get => &self.get,
            Kind::RangedGet => {
                self.get.fetch_add(1, Ordering::Relaxed);
                &self.ranged_get
            }
            Kind::Head => &self.head,
            Kind::List => &self.list,
            Kind::Put => &self.put,
            Kind::Delete => &self.delete,
        };
        counter.fetch_add(1, Ordering::Relaxed);
        let micros = started.elapsed().as_micros() as u64;
        self.micros.fetch_add(micros, Ordering::Relaxed);
        self.max_micros.fetch_max(micros, Ordering::Relaxed);
    }

    fn read(&self, bytes: u64) {
        self.bytes_read.fetch_add(bytes, Ordering::Relaxed);
    }

    /// A range served by the data cache.
    pub(crate) fn cache_hit(&self, bytes: u64) {
        self.cache_hits.fetch_add(1, Ordering::Relaxed);
        self.cache_hit_bytes.fetch_add(bytes, Ordering::Relaxed);
    }

    /// A range served by the data cache's disk tier (counted by [`Self::cache_hit`] too).
    pub(crate) fn disk_cache_hit(&self) {
        self.disk_cache_hits.fetch_add(1, Ordering::Relaxed);
    }

    /// Ranges the data cache did not have.
    pub(crate) fn cache_missed(&self, ranges: u64) {
        self.cache_misses.fetch_add(ranges, Ordering::Relaxed);
    }

    fn wrote(&self, bytes: u64) {
        self.bytes_written.fetch_add(bytes, Ordering::Relaxed);
    }

    pub(crate) fn failed(&self, problem: StorageProblem) {
        let mut slot = self.problem.lock().unwrap_or_else(|e| e.into_inner());
        if slot.is_none() {
            *slot = Some(problem);
        }
    }

    /// The first storage failure seen, if any.
    pub fn problem(&self) -> Option<StorageProblem> {
        self.problem
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// The counts so far.
    pub fn snapshot(&self) -> RequestCounts {
        let load = |a: &AtomicU64| a.load(Ordering::Relaxed);
        RequestCounts {
            get: load(&self.get),
            ranged_get: load(&self.ranged_get),
            head: load(&self.head),
            list: load(&self.list),
            put: load(&self.put),
            delete: load(&self.delete),
            bytes_read: load(&self.bytes_read),
            bytes_written: load(&self.bytes_written),
            latency_ms_total: load(&self.micros) / 1000,
            latency_ms_max: load(&self.max_micros) / 1000,
            cache_hits: load(&self.cache_hits),
            cache_hit_bytes: load(&self.cache_hit_bytes),
            cache_misses: load(&self.cache_misses),
            disk_cache_hits: load(&self.disk_cache_hits),
        }
    }
}

/// An object store that counts its requests and explains its errors.
#[derive(Debug)]
pub struct CountingStore {
    inner: Arc<dyn ObjectStore>,
    /// `s3://bucket` (empty for the local file system), to spell full URLs in errors.
    base: String,
    counter: Arc<RequestCounter>,
}

impl CountingStore {
    pub fn new(inner: Arc<dyn ObjectStore>, base: String, counter: Arc<RequestCounter>) -> Self {
        CountingStore {
            inner,
            base,
            counter,
        }
    }

    fn url(&self, path: &Path) -> String {
        format!("{}/{}", self.base, path)
    }

    fn explain(&self, path: &Path, e: object_store::Error) -> object_store::Error {
        explain_to(&self.url(path), e, &self.counter)
    }
}

impl fmt::Display for CountingStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Counting({})", self.inner)
    }
}

/// A storage failure explained: what failed, where, and what to check.
#[derive(Debug, Clone)]
pub struct StorageProblem {
    pub url: String,
    pub message: String,
    pub cause: String,
}

impl fmt::Display for StorageProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {} (cause: {})", self.url, self.message, self.cause)
    }
}

impl std::error::Error for StorageProblem {}

/// [`explain`], remembering the explanation in `counter`.
fn explain_to(url: &str, e: object_store::Error, counter: &RequestCounter) -> object_store::Error {
    let (e, problem) = explain(url, e);
    if let Some(problem) = problem {
        counter.failed(problem);
    }
    e
}

/// What to say of an object that is not the one registered.
pub(crate) const CHANGED: &str =
    "the object changed since it was registered; run `strata table refresh TABLE`";

/// Rewrite a store error so that it names `url` and says what to check, and return the
/// explanation too (none for errors left as they are). The variant is kept, so callers can
/// still tell "not found" from "denied".
fn explain(url: &str, e: object_store::Error) -> (object_store::Error, Option<StorageProblem>) {
    use object_store::Error as E;
    let cause = full_message(&e);
    let lower = cause.to_ascii_lowercase();
    let missing_bucket = lower.contains("nosuchbucket")
        || lower.contains("containernotfound")
        || lower.contains("bucket does not exist");
    let message = match &e {
        E::NotFound { .. } if missing_bucket => {
            "the bucket or container does not exist; check the URL"
        }
        E::NotFound { .. } => {
            "not found; if it was registered, it was moved or deleted since: run `strata table refresh TABLE` to pick up the current files"
        }
        E::PermissionDenied { .. } => {
            "access denied; check that the credentials may read this bucket (and that they have not expired)"
        }
        E::Unauthenticated { .. } => {
            "the store rejected the credentials; check the access key and secret, or renew expired credentials"
        }
        E::Precondition { .. } => CHANGED,
        E::Generic { .. } => {
            if lower.contains("expiredtoken") || lower.contains("token has expired") {
                "the credentials have expired; renew them (AWS_SESSION_TOKEN, the key file)"
            } else if lower.contains("invalidaccesskeyid")
                || lower.contains("signaturedoesnotmatch")
                || lower.contains("authenticationfailed")
                || lower.contains("authorizationfailure")
            {
                "the store rejected the credentials; check the access key and secret"
            } else if missing_bucket {
                "the bucket or container does not exist; check the URL"
            } else if lower.contains("416 range not satisfiable") || lower.contains("invalidrange")
            {
                "the object is shorter than when it was registered (it changed); run `strata table refresh TABLE`"
            } else if status_code(&lower).is_none()
                && (lower.contains("error sending request")
                    || lower.contains("(connect)")
                    || lower.contains("dns error")
                    || lower.contains("connection refused"))
            {
                UNREACHABLE
            } else if status_code(&lower).is_none()
                && (lower.contains("timed out") || lower.contains("deadline has elapsed"))
            {
                NO_ANSWER
            } else if let Some(status) = status_code(&lower) {
                // The store's last answer decides: 5xx, 429 (slow down) and 408 may pass when
                // tried again; any other 4xx will not, however many retries came before it.
                // S3 answers a request whose upload stalled with 400 RequestTimeout, which
                // AWS's own clients try again.
                if status >= 500
                    || status == 429
                    || status == 408
                    || lower.contains("requesttimeout")
                {
                    KEPT_FAILING
                } else {
                    "the request failed"
                }
            } else if broke_off(&e) {
                BROKE_OFF
            } else if lower.contains("server error")
                || lower.contains("after") && lower.contains("retries")
            {
                KEPT_FAILING
            } else {
                "the request failed"
            }
        }
        _ => return (e, None),
    };
    let problem = StorageProblem {
        url: url.to_string(),
        message: message.to_string(),
        cause,
    };
    let source = Box::new(problem.clone());
    let e = match e {
        E::NotFound { path, .. } => E::NotFound { path, source },
        E::PermissionDenied { path, .. } => E::PermissionDenied { path, source },
        E::Unauthenticated { path, .. } => E::Unauthenticated { path, source },
        E::Precondition { path, .. } => E::Precondition { path, source },
        E::Generic { store, .. } => E::Generic { store, source },
        other => other,
    };
    (e, Some(problem))
}

const UNREACHABLE: &str = "cannot reach the store; check the endpoint (AWS_ENDPOINT_URL, or `endpoint` in strata.toml) and the network";
const NO_ANSWER: &str = "the store did not answer in time, even after retries; check the endpoint and the network, or raise storage.request_timeout";
const KEPT_FAILING: &str = "the store kept failing after retries; try again later, or raise storage.max_retries / storage.retry_timeout";
const BROKE_OFF: &str = "the store's answer broke off (the connection was reset or closed mid-answer), even after retries; try again later, or raise storage.max_retries";

/// What [`explain`] says of failures that may pass when tried again: the store could not be
/// reached, did not answer in time, kept failing (5xx, 429) after the client's own retries, or
/// its answers broke off.
const TRANSIENT: [&str; 4] = [UNREACHABLE, NO_ANSWER, KEPT_FAILING, BROKE_OFF];

/// The HTTP status of the store's last answer, from the client's text ("… non-2xx status code:
/// 503 Service Unavailable"); None when no answer came (a transport failure).
fn status_code(lower: &str) -> Option<u16> {
    let (_, after) = lower.split_once("status code: ")?;
    after.get(..3)?.parse().ok()
}

/// Whether the connection failed under a request or its answer: reset, closed early, or a body
/// cut short (the client's own retries of the body spent).
fn broke_off(e: &object_store::Error) -> bool {
    use object_store::client::{HttpError, HttpErrorKind};
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(s) = source {
        if let Some(http) = s.downcast_ref::<HttpError>() {
            return matches!(
                http.kind(),
                // A body cut short is `Request` (an incomplete message) or `Interrupted` (a
                // reset, an unexpected end); `Decode` is not among them: it is an answer the
                // client could not read (a credential endpoint's bad JSON), which stays so.
                HttpErrorKind::Connect
                    | HttpErrorKind::Request
                    | HttpErrorKind::Interrupted
                    | HttpErrorKind::Timeout
            );
        }
        source = s.source();
    }
    false
}

impl StorageProblem {
    /// Whether trying again later may succeed (see [`TRANSIENT`]); not for missing objects,
    /// refused credentials or objects that changed.
    pub fn is_transient(&self) -> bool {
        TRANSIENT.contains(&self.message.as_str())
    }
}

/// Whether `e` comes from a storage failure that may pass when tried again: a
/// [`StorageProblem`] among its sources, or its explanation in its text (the Parquet reader
/// keeps only the text of a failed footer read).
pub fn is_transient_storage_failure(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut source = Some(e);
    while let Some(s) = source {
        if let Some(problem) = s.downcast_ref::<StorageProblem>() {
            return problem.is_transient();
        }
        source = s.source();
    }
    let text = e.to_string();
    TRANSIENT.iter().any(|m| text.contains(m))
}

/// An error and its sources, joined (a source whose text the message already holds is left out).
pub fn full_message(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let part = s.to_string();
        if !text.contains(&part) {
            text.push_str(": ");
            text.push_str(&part);
        }
        source = s.source();
    }
    text
}

#[async_trait]
impl ObjectStore for CountingStore {
    async fn put_opts(
        &self,
        location: &Path,
        payload: PutPayload,
        opts: PutOptions,
    ) -> object_store::Result<PutResult> {
        let started = Instant::now();
        let bytes = payload.content_length() as u64;
        let result = self.inner.put_opts(location, payload, opts).await;
        self.counter.record(Kind::Put, started);
        if result.is_ok() {
            self.counter.wrote(bytes);
        }
        result.map_err(|e| self.explain(location, e))
    }

    async fn put_multipart_opts(
        &self,
        location: &Path,
        opts: PutMultipartOptions,
    ) -> object_store::Result<Box<dyn MultipartUpload>> {
        let started = Instant::now();
        let upload = self.inner.put_multipart_opts(location, opts).await;
        self.counter.record(Kind::Put, started);
        let upload = upload.map_err(|e| self.explain(location, e))?;
        Ok(Box::new(CountingUpload {
            inner: upload,
            counter: Arc::clone(&self.counter),
            url: self.url(location),
        }))
    }

    async fn get_opts(
        &self,
        location: &Path,
        options: GetOptions,
    ) -> object_store::Result<GetResult> {
        let kind = if options.head {
            Kind::Head
        } else if options.range.is_some() {
            Kind::RangedGet
        } else {
            Kind::Get
        };
        let started = Instant::now();
        let result = self.inner.get_opts(location, options).await;
        self.counter.record(kind, started);
        let mut result = result.map_err(|e| self.explain(location, e))?;
        if !matches!(kind, Kind::Head) {
            self.counter.read(result.range.end - result.range.start);
        }
        // A body that breaks off fails while it is read, after this returned: explained too.
        if let GetResultPayload::Stream(body) = result.payload {
            let (url, counter) = (self.url(location), Arc::clone(&self.counter));
            result.payload = GetResultPayload::Stream(
                body.map_err(move |e| explain_to(&url, e, &counter)).boxed(),
            );
        }
        Ok(result)
    }

    async fn get_ranges(
        &self,
        location: &Path,
        ranges: &[Range<u64>],
    ) -> object_store::Result<Vec<Bytes>> {
        // Coalesce nearby ranges and fetch them (several at once) through this store, so that
        // every request is counted, whatever the inner store does.
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
        let counter = Arc::clone(&self.counter);
        let base = self.base.clone();
        self.inner
            .delete_stream(locations)
            .map(move |result| {
                counter.record(Kind::Delete, Instant::now());
                result.map_err(|e| explain_to(&base, e, &counter))
            })
            .boxed()
    }

    fn list(&self, prefix: Option<&Path>) -> BoxStream<'static, object_store::Result<ObjectMeta>> {
        self.counter.record(Kind::List, Instant::now());
        let url = self.url(prefix.unwrap_or(&Path::default()));
        let counter = Arc::clone(&self.counter);
        self.inner
            .list(prefix)
            .map_err(move |e| explain_to(&url, e, &counter))
            .boxed()
    }

    fn list_with_offset(
        &self,
        prefix: Option<&Path>,
        offset: &Path,
    ) -> BoxStream<'static, object_store::Result<ObjectMeta>> {
        self.counter.record(Kind::List, Instant::now());
        let url = self.url(prefix.unwrap_or(&Path::default()));
        let counter = Arc::clone(&self.counter);
        self.inner
            .list_with_offset(prefix, offset)
            .map_err(move |e| explain_to(&url, e, &counter))
            .boxed()
    }

    async fn list_with_delimiter(&self, prefix: Option<&Path>) -> object_store::Result<ListResult> {
        let started = Instant::now();
        let result = self.inner.list_with_delimiter(prefix).await;
        self.counter.record(Kind::List, started);
        result.map_err(|e| self.explain(prefix.unwrap_or(&Path::default()), e))
    }

    async fn copy_opts(
        &self,
        from: &Path,
        to: &Path,
        options: CopyOptions,
    ) -> object_store::Result<()> {
        let started = Instant::now();
        let result = self.inner.copy_opts(from, to, options).await;
        self.counter.record(Kind::Put, started);
        result.map_err(|e| self.explain(from, e))
    }

    async fn rename_opts(
        &self,
        from: &Path,
        to: &Path,
        options: RenameOptions,
    ) -> object_store::Result<()> {
        let started = Instant::now();
        let result = self.inner.rename_opts(from, to, options).await;
        self.counter.record(Kind::Put, started);
        result.map_err(|e| self.explain(from, e))
    }
}

/// A multipart upload whose parts are counted as PUTs.
#[derive(Debug)]
struct CountingUpload {
    inner: Box<dyn MultipartUpload>,
    counter: Arc<RequestCounter>,
    url: String,
}

#[async_trait]
impl MultipartUpload for CountingUpload {
    fn put_part(&mut self, data: PutPayload) -> UploadPart {
        let counter = Arc::clone(&self.counter);
        let bytes = data.content_length() as u64;
        let url = self.url.clone();
        let part = self.inner.put_part(data);
        Box::pin(async move {
            let started = Instant::now();
            let result = part.await;
            counter.record(Kind::Put, started);
            if result.is_ok() {
                counter.wrote(bytes);
            }
            result.map_err(|e| explain_to(&url, e, &counter))
        })
    }

    async fn complete(&mut self) -> object_store::Result<PutResult> {
        let started = Instant::now();
        let result = self.inner.complete().await;
        self.counter.record(Kind::Put, started);
        result.map_err(|e| explain_to(&self.url, e, &self.counter))
    }

    async fn abort(&mut self) -> object_store::Result<()> {
        let started = Instant::now();
        let result = self.inner.abort().await;
        self.counter.record(Kind::Delete, started);
        result.map_err(|e| explain_to(&self.url, e, &self.counter))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use object_store::memory::InMemory;

    #[tokio::test]
    async fn counts_requests_by_kind() {
        let counter = Arc::new(RequestCounter::default());
        let store = CountingStore::new(
            Arc::new(InMemory::new()),
            "mem://b".into(),
            Arc::clone(&counter),
        );
        let path = Path::from("a/x.bin");
        store.put(&path, vec![7u8; 100].into()).await.unwrap();
        store.get(&path).await.unwrap().bytes().await.unwrap();
        store.get_range(&path, 10..20).await.unwrap();
        // Two ranges close together are fetched with one request.
        store.get_ranges(&path, &[0..5, 6..9]).await.unwrap();
        store.head(&path).await.unwrap();
        let _: Vec<_> = store
            .list(Some(&Path::from("a")))
            .try_collect()
            .await
            .unwrap();
        store.delete(&path).await.unwrap();
        let c = counter.snapshot();
        assert_eq!(
            (c.get, c.ranged_get, c.head, c.list, c.put, c.delete),
            (3, 2, 1, 1, 1, 1)
        );
        assert_eq!(c.bytes_read, 100 + 10 + 9);
        assert_eq!(c.bytes_written, 100);
    }

    #[test]
    fn classifies_store_failures() {
        let generic = |text: &str| object_store::Error::Generic {
            store: "S3",
            source: text.into(),
        };
        let cases = [
            (
                "Error performing GET http://127.0.0.1:1/b in 1.41643864s, after 5 retries - HTTP error: error sending request: client error (Connect): tcp connect error: Connection refused (os error 111)",
                "cannot reach the store",
            ),
            (
                "Error performing GET http://h/b/x in 242ms, after 5 retries, max_retries: 5, retry_timeout: 2s - Server returned non-2xx status code: 503 Service Unavailable: <Error><Code>SlowDown</Code></Error>",
                "kept failing after retries",
            ),
            (
                "Server returned non-2xx status code: 416 Range Not Satisfiable: <Code>InvalidRange</Code>",
                "shorter than when it was registered",
            ),
            (
                "Server returned non-2xx status code: 400 Bad Request: <Code>ExpiredToken</Code>",
                "credentials have expired",
            ),
            (
                "Server returned non-2xx status code: 403 Forbidden: <Code>InvalidAccessKeyId</Code>",
                "rejected the credentials",
            ),
        ];
        for (cause, expected) in cases {
            let text = explain("s3://b/x", generic(cause)).0.to_string();
            assert!(text.contains(expected), "{cause} → {text}");
            assert!(text.contains("s3://b/x"), "{text}");
        }
    }

    #[test]
    fn tells_failures_worth_another_try() {
        use datafusion::error::DataFusionError;
        use parquet::errors::ParquetError;
        let generic = |text: &str| object_store::Error::Generic {
            store: "S3",
            source: text.into(),
        };
        // As the Parquet reader returns them: the store's error inside, or only its text.
        let as_read = |e: object_store::Error| {
            DataFusionError::Shared(Arc::new(DataFusionError::ParquetError(Box::new(
                ParquetError::External(Box::new(e)),
            ))))
        };
        let failing = explain("s3://b/x", generic("Error performing GET http://h/b/x in 2ms - Server returned non-2xx status code: 503 Service Unavailable")).0;
        let as_text = DataFusionError::ParquetError(Box::new(ParquetError::General(format!(
            "cannot read the Parquet footer: {failing}"
        ))));
        assert!(is_transient_storage_failure(&as_read(failing)));
        assert!(is_transient_storage_failure(&as_text));
        let refused = explain("s3://b/x", generic("Server returned non-2xx status code: 403 Forbidden: <Code>InvalidAccessKeyId</Code>")).0;
        assert!(!is_transient_storage_failure(&as_read(refused)));
        let gone = explain(
            "s3://b/x",
            object_store::Error::NotFound {
                path: "x".into(),
                source: "404".into(),
            },
        )
        .0;
        assert!(!is_transient_storage_failure(&as_read(gone)));
        // The last answer decides, whatever came before it: a 4xx after retries will not pass.
        let denied = explain("s3://b/x", generic("Error performing GET http://h/b/x in 2s, after 3 retries, max_retries: 3, retry_timeout: 10s  - Server returned non-2xx status code: 400 Bad Request: <Code>InvalidRequest</Code>")).0;
        assert!(!is_transient_storage_failure(&as_read(denied)));
        // The answer's status decides, not words in its body; S3's 400 RequestTimeout may pass.
        let refused = explain("s3://b/x", generic("Error performing GET http://h/b/x in 2ms - Server returned non-2xx status code: 400 Bad Request: <Code>InvalidArgument</Code><Message>the range timed out of bounds</Message>")).0;
        assert!(!is_transient_storage_failure(&as_read(refused)));
        let stalled = explain("s3://b/x", generic("Error performing PUT http://h/b/x in 20s - Server returned non-2xx status code: 400 Bad Request: <Code>RequestTimeout</Code><Message>Your socket connection to the server was not read from or written to within the timeout period.</Message>")).0;
        assert!(is_transient_storage_failure(&as_read(stalled)));
        let slow_down = explain("s3://b/x", generic("Error performing GET http://h/b/x in 2s, after 3 retries, max_retries: 3, retry_timeout: 10s  - Server returned non-2xx status code: 429 Too Many Requests: ")).0;
        assert!(is_transient_storage_failure(&as_read(slow_down)));
        // A connection reset under the answer, or a body cut short.
        use object_store::client::{HttpError, HttpErrorKind};
        for kind in [HttpErrorKind::Interrupted, HttpErrorKind::Request] {
            let cut = object_store::Error::Generic {
                store: "S3",
                source: Box::new(HttpError::new(
                    kind,
                    std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "body ended early"),
                )),
            };
            let (cut, problem) = explain("s3://b/x", cut);
            assert_eq!(problem.map(|p| p.message), Some(BROKE_OFF.to_string()));
            assert!(is_transient_storage_failure(&as_read(cut)));
        }
        let unreadable = object_store::Error::Generic {
            store: "S3",
            source: Box::new(HttpError::new(
                HttpErrorKind::Decode,
                std::io::Error::other("expected value at line 1 column 1"),
            )),
        };
        assert!(!is_transient_storage_failure(&as_read(
            explain("s3://b/x", unreadable).0
        )));
        assert!(!is_transient_storage_failure(&DataFusionError::Execution(
            "division by zero".into()
        )));
    }

    #[tokio::test]
    async fn errors_name_the_url_and_what_to_do() {
        let counter = Arc::new(RequestCounter::default());
        let store = CountingStore::new(Arc::new(InMemory::new()), "s3://b".into(), counter);
        let err = store.get(&Path::from("gone.parquet")).await.unwrap_err();
        assert!(matches!(err, object_store::Error::NotFound { .. }));
        let text = err.to_string();
        assert!(text.contains("s3://b/gone.parquet"), "{text}");
        assert!(text.contains("strata table refresh"), "{text}");
    }
}
