//! The data cache's disk tier: byte ranges of object-storage files kept in files of a local
//! directory (`cache.disk_path`, an NVMe disk on a server), so that a range the memory tier
//! let go, or one read before a restart, costs a local read instead of a request.
//!
//! Each range is one file, named by the MD5 of its key (the file's URL, its size in the
//! catalog, the range) and holding the key itself ahead of the bytes, so a name clash or a
//! stale file can never answer for another range. Files are written to a temporary name and
//! renamed, so a crash leaves whole files or none. The tier is bounded by bytes with moka's
//! W-TinyLFU like the memory tier; evicting an entry deletes its file. On start the directory's
//! files are taken back (a warm restart); files it cannot read are removed.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;
use md5::{Digest, Md5};
use moka::notification::RemovalCause;

/// What a range file starts with: this, the key's length (u32, little endian), the key.
const MAGIC: &[u8; 8] = b"STRATADC";

/// Ranges kept on local disk, bounded by bytes.
pub(crate) struct DiskTier {
    dir: PathBuf,
    /// The range files, by name, weighed by their size; evicting one deletes its file.
    files: moka::sync::Cache<u128, u32>,
    /// Distinguishes the temporary files of concurrent writes.
    writes: AtomicU64,
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
    /// earlier run left there.
    pub(crate) fn open(dir: &Path, capacity: u64) -> std::io::Result<DiskTier> {
        std::fs::create_dir_all(dir)?;
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
        let tier = DiskTier {
            dir: dir.to_path_buf(),
            files,
            writes: AtomicU64::new(0),
        };
        for entry in std::fs::read_dir(dir)? {
            let entry = entry?;
            let path = entry.path();
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
            let size = entry.metadata().map(|m| m.len()).unwrap_or(0);
            match parse_name(name) {
                Some(name) if size > 0 => {
                    tier.files
                        .insert(name, u32::try_from(size).unwrap_or(u32::MAX));
                }
                // Temporary files of writes a crash interrupted.
                _ if name.ends_with(".tmp") => {
                    let _ = std::fs::remove_file(&path);
                }
                // Anything else is not ours: left alone.
                _ => {}
            }
        }
        tier.files.run_pending_tasks();
        Ok(tier)
    }

    /// The bytes kept under `key`, if any (blocking).
    pub(crate) fn get(&self, key: &str) -> Option<Bytes> {
        let name = name_of(key);
        self.files.get(&name)?;
        let read = std::fs::read(self.dir.join(file_name(name)))
            .ok()
            .and_then(|data| payload(data, key));
        if read.is_none() {
            // Gone, cut short or another key's: forget it.
            self.files.invalidate(&name);
        }
        read
    }

    /// Keep `bytes` under `key` (blocking); failures (a full disk) only mean it is not kept.
    pub(crate) fn put(&self, key: &str, bytes: &[u8]) {
        let name = name_of(key);
        if self.files.contains_key(&name) {
            return;
        }
        let mut data = Vec::with_capacity(MAGIC.len() + 4 + key.len() + bytes.len());
        data.extend_from_slice(MAGIC);
        data.extend_from_slice(&(key.len() as u32).to_le_bytes());
        data.extend_from_slice(key.as_bytes());
        data.extend_from_slice(bytes);
        let path = self.dir.join(file_name(name));
        let temporary = self.dir.join(format!(
            "{}.{}.{}.tmp",
            file_name(name),
            std::process::id(),
            self.writes.fetch_add(1, Ordering::Relaxed)
        ));
        let written =
            std::fs::write(&temporary, &data).and_then(|()| std::fs::rename(&temporary, &path));
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

    /// Bytes kept.
    #[cfg(test)]
    fn held(&self) -> u64 {
        self.files.run_pending_tasks();
        self.files.weighted_size()
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

/// The bytes of a range file, if it holds `key`.
fn payload(data: Vec<u8>, key: &str) -> Option<Bytes> {
    let rest = data.strip_prefix(MAGIC.as_slice())?;
    let length = u32::from_le_bytes(rest.get(..4)?.try_into().ok()?) as usize;
    let stored = rest.get(4..4 + length)?;
    if stored != key.as_bytes() {
        return None;
    }
    let start = MAGIC.len() + 4 + length;
    Some(Bytes::from(data).slice(start..))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_survive_a_restart_and_never_answer_for_another_key() {
        let dir = tempfile::tempdir().unwrap();
        let tier = DiskTier::open(dir.path(), 1 << 20).unwrap();
        tier.put("s3://b/f@100:0-10", b"0123456789");
        assert_eq!(
            tier.get("s3://b/f@100:0-10").as_deref(),
            Some(&b"0123456789"[..])
        );
        assert_eq!(tier.get("s3://b/f@100:0-9"), None);
        drop(tier);

        // Another process finds what the first kept; a file cut short is forgotten.
        let tier = DiskTier::open(dir.path(), 1 << 20).unwrap();
        assert_eq!(
            tier.get("s3://b/f@100:0-10").as_deref(),
            Some(&b"0123456789"[..])
        );
        let path = dir.path().join(file_name(name_of("s3://b/f@100:0-10")));
        std::fs::write(&path, b"STRATADC").unwrap();
        assert_eq!(tier.get("s3://b/f@100:0-10"), None);
        // A file holding another key under this key's name does not answer either.
        tier.put("s3://b/g@5:0-5", b"abcde");
        std::fs::copy(
            dir.path().join(file_name(name_of("s3://b/g@5:0-5"))),
            dir.path().join(file_name(name_of("s3://b/h@5:0-5"))),
        )
        .unwrap();
        let tier = DiskTier::open(dir.path(), 1 << 20).unwrap();
        assert_eq!(tier.get("s3://b/h@5:0-5"), None);
        assert_eq!(tier.get("s3://b/g@5:0-5").as_deref(), Some(&b"abcde"[..]));
        // Interrupted writes are cleaned up.
        std::fs::write(dir.path().join("x.1.2.tmp"), b"partial").unwrap();
        drop(DiskTier::open(dir.path(), 1 << 20).unwrap());
        assert!(!dir.path().join("x.1.2.tmp").exists());
    }

    #[test]
    fn the_tier_stays_within_its_size_and_deletes_what_it_evicts() {
        let dir = tempfile::tempdir().unwrap();
        let tier = DiskTier::open(dir.path(), 10_000).unwrap();
        for i in 0..50 {
            tier.put(&format!("s3://b/f@1:{i}"), &[7u8; 1000]);
        }
        assert!(tier.held() <= 10_000, "{}", tier.held());
        let on_disk: u64 = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().metadata().unwrap().len())
            .sum();
        assert!(on_disk <= 10_000, "{on_disk} bytes left on disk");
        assert!(on_disk > 0);
    }
}
