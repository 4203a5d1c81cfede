//! The data cache's disk tier: byte ranges of object-storage files kept in files of a local
//! directory (`cache.disk_path`, an NVMe disk on a server), so that a range the memory tier
//! let go, or one read before a restart, costs a local read instead of a request.
//!
//! Each range is one file, named by the MD5 of its key (the store's endpoint, the file's URL,
//! its size in the catalog, the range) and holding the key and the bytes' CRC-32 ahead of the
//! bytes, so a name clash, a foreign file or a damaged one never answers. Files are written by
//! one background thread (writes are dropped when it falls behind, so a slow disk never holds
//! up queries) to a temporary name, synced and renamed, so a crash leaves whole files or none.
//! The tier is bounded by bytes with moka's W-TinyLFU like the memory tier; evicting an entry
//! deletes its file. On start the directory's files are taken back (a warm restart). One
//! process uses a directory at a time (a lock file): another one opening it runs without.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use bytes::Bytes;
use md5::{Digest, Md5};
use moka::notification::RemovalCause;

/// What a range file starts with: this, the key's length (u32, little endian), the key, the
/// CRC-32 of the bytes (u32, little endian), then the bytes.
const MAGIC: &[u8; 8] = b"STRATAD2";

/// Range files waiting for the writer; more are dropped.
const QUEUED_WRITES: usize = 256;

/// Bytes waiting for the writer; more are dropped.
const QUEUED_BYTES: usize = 64 << 20;

/// Ranges kept on local disk, bounded by bytes.
pub(crate) struct DiskTier {
    dir: PathBuf,
    /// The range files, by name, weighed by their size; evicting one deletes its file.
    files: moka::sync::Cache<u128, u32>,
    /// To the writer thread: (key, bytes). Taken on drop, which ends the writer.
    writes: Option<std::sync::mpsc::SyncSender<(String, Bytes)>>,
    /// Bytes waiting for the writer.
    queued: Arc<AtomicUsize>,
    /// The writer, which ends once everything queued is written and `writes` is dropped.
    writer: Option<std::thread::JoinHandle<()>>,
    /// Held while the process uses the directory.
    _lock: std::fs::File,
}

impl std::fmt::Debug for DiskTier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DiskTier")
            .field("dir", &self.dir)
            .field("files", &self.files.entry_count())
            .field("bytes", &self.files.weighted_size())
            .finish()
    }
}

impl DiskTier {
    /// The tier in `dir` (created if missing), of at most `capacity` bytes, with the ranges an
    /// earlier run left there; None when another process is using `dir`.
    pub(crate) fn open(dir: &Path, capacity: u64) -> std::io::Result<Option<Arc<DiskTier>>> {
        use std::os::unix::fs::DirBuilderExt;
        // Only this user may read what was fetched with its credentials.
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)?;
        let lock = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(dir.join(".lock"))?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => return Ok(None),
            Err(std::fs::TryLockError::Error(e)) => return Err(e),
        }
        let root = dir.to_path_buf();
        let files = moka::sync::Cache::builder()
            .max_capacity(capacity)
            .weigher(|_: &u128, size: &u32| *size)
            .eviction_listener(move |name: Arc<u128>, _, cause| {
                // A replaced entry names the same file, which stays.
                if cause != RemovalCause::Replaced {
                    let _ = std::fs::remove_file(root.join(file_name(*name)));
                }
            })
            .build();
        for entry in std::fs::read_dir(dir)?.flatten() {
            let path = entry.path();
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
            let size = entry.metadata().map(|m| m.len()).unwrap_or(0);
            match parse_name(name) {
                Some(name) if size > 0 => {
                    files.insert(name, u32::try_from(size).unwrap_or(u32::MAX));
                }
                // Empty files, and temporary ones of writes a crash interrupted (the lock says
                // no live process is writing here).
                Some(_) => {
                    let _ = std::fs::remove_file(&path);
                }
                None if is_temporary(name) => {
                    let _ = std::fs::remove_file(&path);
                }
                // Anything else is not ours: left alone.
                None => {}
            }
        }
        files.run_pending_tasks();
        let (writes, queue) = std::sync::mpsc::sync_channel::<(String, Bytes)>(QUEUED_WRITES);
        let queued = Arc::new(AtomicUsize::new(0));
        let writer = Writer {
            dir: dir.to_path_buf(),
            files: files.clone(),
            queued: Arc::clone(&queued),
        };
        let writer = std::thread::Builder::new()
            .name("strata-disk-cache".into())
            .spawn(move || {
                for (key, bytes) in queue {
                    writer.write(&key, &bytes);
                    writer.queued.fetch_sub(bytes.len(), Ordering::Relaxed);
                }
            })?;
        let tier = Arc::new(DiskTier {
            dir: dir.to_path_buf(),
            files,
            writes: Some(writes),
            queued,
            writer: Some(writer),
            _lock: lock,
        });
        Ok(Some(tier))
    }

    /// The bytes kept under `key`, if any, and only if there are `length` of them (blocking).
    pub(crate) fn get(&self, key: &str, length: usize) -> Option<Bytes> {
        let name = name_of(key);
        self.files.get(&name)?;
        match std::fs::read(self.dir.join(file_name(name))) {
            Ok(data) => {
                let read = payload(data, key).filter(|b| b.len() == length);
                if read.is_none() {
                    // Cut short, damaged or another key's: forget it (deleting the file).
                    self.files.invalidate(&name);
                }
                read
            }
            // Gone; other errors (too many open files) leave it for the next time.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                self.files.invalidate(&name);
                None
            }
            Err(_) => None,
        }
    }

    /// Keep a copy of `bytes` under `key` in the background; dropped when the writer is behind.
    pub(crate) fn put(&self, key: String, bytes: &[u8]) {
        if self.files.contains_key(&name_of(&key))
            || self.queued.load(Ordering::Relaxed) + bytes.len() > QUEUED_BYTES
        {
            return;
        }
        let Some(writes) = &self.writes else {
            return;
        };
        self.queued.fetch_add(bytes.len(), Ordering::Relaxed);
        // A copy: `bytes` is often a slice of a larger read, which would stay alive queued.
        if writes
            .try_send((key, Bytes::copy_from_slice(bytes)))
            .is_err()
        {
            self.queued.fetch_sub(bytes.len(), Ordering::Relaxed);
        }
    }

    /// Wait until every range queued so far is written (tests).
    #[cfg(test)]
    fn flush(&self) {
        for _ in 0..500 {
            std::thread::sleep(std::time::Duration::from_millis(2));
            let pending = std::fs::read_dir(&self.dir)
                .map(|d| {
                    d.flatten()
                        .any(|e| is_temporary(&e.file_name().to_string_lossy()))
                })
                .unwrap_or(false);
            if !pending {
                break;
            }
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
        self.files.run_pending_tasks();
    }
}

/// The writer thread's share of the tier.
struct Writer {
    dir: PathBuf,
    files: moka::sync::Cache<u128, u32>,
    queued: Arc<AtomicUsize>,
}

impl Writer {
    /// Write one range file; a failure (a full disk) only means the range is not kept.
    fn write(&self, key: &str, bytes: &[u8]) {
        let name = name_of(key);
        if self.files.contains_key(&name) {
            return;
        }
        let mut data = Vec::with_capacity(MAGIC.len() + 8 + key.len() + bytes.len());
        data.extend_from_slice(MAGIC);
        data.extend_from_slice(&(key.len() as u32).to_le_bytes());
        data.extend_from_slice(key.as_bytes());
        data.extend_from_slice(&crc32fast::hash(bytes).to_le_bytes());
        data.extend_from_slice(bytes);
        let path = self.dir.join(file_name(name));
        let temporary = self.dir.join(format!("{}.tmp", file_name(name)));
        let written = (|| {
            use std::io::Write;
            use std::os::unix::fs::OpenOptionsExt;
            let mut file = std::fs::OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(true)
                .mode(0o600)
                .open(&temporary)?;
            file.write_all(&data)?;
            file.sync_data()?;
            std::fs::rename(&temporary, &path)
        })();
        match written {
            Ok(()) => {
                self.files
                    .insert(name, u32::try_from(data.len()).unwrap_or(u32::MAX));
            }
            Err(_) => {
                let _ = std::fs::remove_file(&temporary);
            }
        }
    }
}

impl Drop for DiskTier {
    /// Let the writer finish what is queued (a CLI run ends right after its query), for a
    /// few seconds at most.
    fn drop(&mut self) {
        self.writes.take();
        let started = std::time::Instant::now();
        if let Some(writer) = self.writer.take() {
            while !writer.is_finished() && started.elapsed() < std::time::Duration::from_secs(5) {
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
        }
    }
}

fn name_of(key: &str) -> u128 {
    u128::from_be_bytes(Md5::digest(key.as_bytes()).into())
}

fn file_name(name: u128) -> String {
    format!("{name:032x}.range")
}

fn parse_name(file: &str) -> Option<u128> {
    let hex = file.strip_suffix(".range")?;
    (hex.len() == 32)
        .then(|| u128::from_str_radix(hex, 16).ok())
        .flatten()
}

fn is_temporary(file: &str) -> bool {
    file.strip_suffix(".tmp").and_then(parse_name).is_some()
}

/// The bytes of a range file, if it holds `key` and they match their checksum.
fn payload(data: Vec<u8>, key: &str) -> Option<Bytes> {
    let rest = data.strip_prefix(MAGIC.as_slice())?;
    let length = u32::from_le_bytes(rest.get(..4)?.try_into().ok()?) as usize;
    let stored = rest.get(4..4 + length)?;
    if stored != key.as_bytes() {
        return None;
    }
    let crc = u32::from_le_bytes(rest.get(4 + length..8 + length)?.try_into().ok()?);
    let start = MAGIC.len() + 8 + length;
    let bytes = Bytes::from(data).slice(start..);
    (crc32fast::hash(&bytes) == crc).then_some(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn open(dir: &Path, capacity: u64) -> Arc<DiskTier> {
        DiskTier::open(dir, capacity).unwrap().unwrap()
    }

    #[test]
    fn ranges_survive_a_restart_and_never_answer_for_another_key_or_damaged() {
        let dir = tempfile::tempdir().unwrap();
        let tier = open(dir.path(), 1 << 20);
        // One process at a time.
        assert!(DiskTier::open(dir.path(), 1 << 20).unwrap().is_none());
        tier.put("s3://b/f@100:0-10".into(), b"0123456789");
        tier.put("s3://b/g@5:0-5".into(), b"abcde");
        // Fewer bytes than its range holds (checksum right): never served.
        tier.put("s3://b/k@100:0-4".into(), b"abc");
        tier.flush();
        assert_eq!(
            tier.get("s3://b/f@100:0-10", 10).as_deref(),
            Some(&b"0123456789"[..])
        );
        assert_eq!(tier.get("s3://b/f@100:0-9", 9), None);
        assert_eq!(tier.get("s3://b/k@100:0-4", 4), None);
        drop(tier);

        // Another process finds what the first kept.
        let tier = open(dir.path(), 1 << 20);
        assert_eq!(
            tier.get("s3://b/g@5:0-5", 5).as_deref(),
            Some(&b"abcde"[..])
        );
        // A file cut short, or with a byte changed, is forgotten.
        let path = dir.path().join(file_name(name_of("s3://b/g@5:0-5")));
        let mut data = std::fs::read(&path).unwrap();
        *data.last_mut().unwrap() ^= 1;
        std::fs::write(&path, &data).unwrap();
        assert_eq!(tier.get("s3://b/g@5:0-5", 5), None);
        tier.files.run_pending_tasks();
        assert!(!path.exists());
        // A file holding another key under this key's name does not answer either.
        std::fs::copy(
            dir.path().join(file_name(name_of("s3://b/f@100:0-10"))),
            dir.path().join(file_name(name_of("s3://b/h@100:0-10"))),
        )
        .unwrap();
        drop(tier);
        // Interrupted writes are cleaned up at start; other files are left alone.
        let temporary = format!("{}.tmp", file_name(7));
        std::fs::write(dir.path().join(&temporary), b"partial").unwrap();
        std::fs::write(dir.path().join("notes.tmp"), b"not ours").unwrap();
        let tier = open(dir.path(), 1 << 20);
        assert_eq!(tier.get("s3://b/h@100:0-10", 10), None);
        assert!(tier.get("s3://b/f@100:0-10", 10).is_some());
        assert!(!dir.path().join(&temporary).exists());
        assert!(dir.path().join("notes.tmp").exists());
    }

    #[test]
    fn the_tier_stays_within_its_size_and_deletes_what_it_evicts() {
        let dir = tempfile::tempdir().unwrap();
        let tier = open(dir.path(), 10_000);
        for i in 0..50 {
            tier.put(format!("s3://b/f@1:{i}"), &[7u8; 1000]);
            tier.flush();
        }
        assert!(tier.files.weighted_size() <= 10_000);
        let on_disk: u64 = std::fs::read_dir(dir.path())
            .unwrap()
            .flatten()
            .filter(|e| e.file_name() != ".lock")
            .map(|e| e.metadata().unwrap().len())
            .sum();
        assert!(on_disk <= 10_000, "{on_disk} bytes left on disk");
        assert!(on_disk > 0);
    }
}
