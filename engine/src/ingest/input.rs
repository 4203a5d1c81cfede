//! Finding and opening the input files of an ingest: glob patterns on local disk or object
//! storage, gzip, and a guard on the length of a line.

use std::io::{BufRead, BufReader, Read};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;
use futures::StreamExt;
use futures::stream::BoxStream;
use object_store::ObjectStoreExt;

use super::InputFormat;
use crate::error::{Error, Result};
use crate::storage::{Resolved, Stores};

/// One input file.
#[derive(Debug, Clone)]
pub(super) struct Input {
    pub(super) display: String,
    pub(super) resolved: Resolved,
    pub(super) format: InputFormat,
    pub(super) gzip: bool,
    /// Longest line read (`limits.max_value_bytes`).
    pub(super) max_line: usize,
}

impl Input {
    /// This file cannot be read as its format.
    pub(super) fn error(&self, message: impl std::fmt::Display) -> Error {
        Error::Input {
            file: self.display.clone(),
            message: message.to_string(),
        }
    }
}

pub(super) fn format_of(name: &str) -> Option<(InputFormat, bool)> {
    let lower = name.to_ascii_lowercase();
    let (base, gzip) = match lower.strip_suffix(".gz") {
        Some(b) => (b.to_string(), true),
        None => (lower, false),
    };
    let format = if base.ends_with(".csv") || base.ends_with(".tsv") {
        InputFormat::Csv
    } else if base.ends_with(".json") || base.ends_with(".ndjson") || base.ends_with(".jsonl") {
        InputFormat::Ndjson
    } else if base.ends_with(".parquet") {
        InputFormat::Parquet
    } else {
        return None;
    };
    Some((format, gzip))
}

/// Expand `inputs` (paths, URLs, glob patterns) into files.
pub(super) async fn expand(
    stores: &Stores,
    inputs: &[String],
    format: Option<InputFormat>,
    max_line: usize,
) -> Result<Vec<Input>> {
    let mut out = Vec::new();
    for input in inputs {
        let wildcard = input.find(['*', '?', '[']);
        let matched: Vec<(String, Resolved)> = match wildcard {
            None => {
                let resolved = stores.resolve(input)?;
                vec![(input.clone(), resolved)]
            }
            Some(at) => {
                let dir_end = input[..at].rfind('/').map(|i| i + 1).unwrap_or(0);
                let base = stores.resolve(if dir_end == 0 { "." } else { &input[..dir_end] })?;
                let full_pattern = format!(
                    "{}{}",
                    if base.path.as_ref().is_empty() {
                        String::new()
                    } else {
                        format!("{}/", base.path)
                    },
                    &input[dir_end..]
                );
                let pattern = glob::Pattern::new(&full_pattern)
                    .map_err(|e| Error::Usage(format!("invalid pattern '{input}': {e}")))?;
                let mut listing = base.store.list(Some(&base.path));
                let mut found = Vec::new();
                while let Some(meta) = listing.next().await {
                    let meta = meta.map_err(|e| Error::Location {
                        location: input.clone(),
                        reason: e.to_string(),
                    })?;
                    if pattern.matches(meta.location.as_ref()) {
                        let display = format!("{}{}", base.root, meta.location);
                        found.push((
                            display,
                            Resolved {
                                path: meta.location,
                                ..base.clone()
                            },
                        ));
                    }
                }
                found.sort_by(|a, b| a.0.cmp(&b.0));
                if found.is_empty() {
                    return Err(Error::NotFound(format!("no files match '{input}'")));
                }
                found
            }
        };
        for (display, resolved) in matched {
            let (detected, gzip) = match format_of(&display) {
                Some((f, gz)) => (Some(f), gz),
                None => (None, display.to_ascii_lowercase().ends_with(".gz")),
            };
            let format = format.or(detected).ok_or_else(|| {
                Error::Usage(format!(
                    "cannot tell the format of '{display}' from its name; pass --format csv|ndjson|parquet"
                ))
            })?;
            out.push(Input {
                display,
                resolved,
                format,
                gzip,
                max_line,
            });
        }
    }
    Ok(out)
}

/// A blocking reader over an object's byte stream, for parsers that want `Read`.
pub(super) struct BlockingRead {
    pub(super) runtime: tokio::runtime::Handle,
    pub(super) stream: BoxStream<'static, object_store::Result<Bytes>>,
    pub(super) buf: Bytes,
    pub(super) bytes: Arc<AtomicU64>,
}

impl Read for BlockingRead {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        while self.buf.is_empty() {
            match self.runtime.block_on(self.stream.next()) {
                None => return Ok(0),
                Some(Ok(b)) => {
                    self.bytes.fetch_add(b.len() as u64, Ordering::Relaxed);
                    self.buf = b;
                }
                Some(Err(e)) => return Err(std::io::Error::other(e)),
            }
        }
        let n = out.len().min(self.buf.len());
        out[..n].copy_from_slice(&self.buf[..n]);
        self.buf = self.buf.slice(n..);
        Ok(n)
    }
}

/// Open an input for reading; decode it (which reads) only on a blocking thread.
pub(super) async fn open(input: &Input, bytes: &Arc<AtomicU64>) -> Result<BlockingRead> {
    let result = input
        .resolved
        .store
        .get(&input.resolved.path)
        .await
        .map_err(|e| Error::Location {
            location: input.display.clone(),
            reason: e.to_string(),
        })?;
    let reader = BlockingRead {
        runtime: tokio::runtime::Handle::current(),
        stream: result.into_stream(),
        buf: Bytes::new(),
        bytes: Arc::clone(bytes),
    };
    Ok(reader)
}

/// The decompressed, buffered text of an opened input, with no line longer than `max_line`
/// bytes. Call on a blocking thread.
pub(super) fn decoded(
    reader: BlockingRead,
    gzip: bool,
    max_line: usize,
) -> Box<dyn BufRead + Send> {
    if gzip {
        let inner = BufReader::new(flate2::read::MultiGzDecoder::new(reader));
        Box::new(LineGuard::new(inner, max_line))
    } else {
        Box::new(LineGuard::new(
            BufReader::with_capacity(1 << 20, reader),
            max_line,
        ))
    }
}

/// A reader that refuses lines longer than `max` bytes: such a line fails once (naming the
/// limit) and the rest of it is skipped unread into memory, so one endless line cannot take
/// the memory of the process; the lines after it read normally.
pub(super) struct LineGuard<R> {
    pub(super) inner: R,
    pub(super) max: usize,
    /// Bytes of the current line handed out so far.
    pub(super) run: usize,
    /// Skipping the rest of a line that was too long.
    pub(super) skipping: bool,
    /// Length of the slice `fill_buf` last returned, and whether it ends a line.
    pub(super) last: (usize, bool),
}

impl<R: BufRead> LineGuard<R> {
    fn new(inner: R, max: usize) -> Self {
        LineGuard {
            inner,
            max: max.max(1),
            run: 0,
            skipping: false,
            last: (0, false),
        }
    }
}

impl<R: BufRead> Read for LineGuard<R> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        let n = {
            let buf = self.fill_buf()?;
            let n = buf.len().min(out.len());
            out[..n].copy_from_slice(&buf[..n]);
            n
        };
        self.consume(n);
        Ok(n)
    }
}

impl<R: BufRead> BufRead for LineGuard<R> {
    fn fill_buf(&mut self) -> std::io::Result<&[u8]> {
        while self.skipping {
            let buf = self.inner.fill_buf()?;
            if buf.is_empty() {
                self.skipping = false;
                break;
            }
            match buf.iter().position(|&b| b == b'\n') {
                Some(i) => {
                    self.inner.consume(i + 1);
                    self.skipping = false;
                    self.run = 0;
                }
                None => {
                    let n = buf.len();
                    self.inner.consume(n);
                }
            }
        }
        let room = self.max.saturating_sub(self.run);
        let buf = self.inner.fill_buf()?;
        if buf.is_empty() {
            self.last = (0, false);
            return Ok(buf);
        }
        // Hand out at most the rest of the current line, and no more of it than allowed.
        match buf
            .iter()
            .take(room.saturating_add(1))
            .position(|&b| b == b'\n')
        {
            Some(i) => {
                self.last = (i + 1, true);
                Ok(&buf[..i + 1])
            }
            None if room == 0 => {
                self.skipping = true;
                self.run = 0;
                Err(std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    format!(
                        "the line is longer than {} bytes (limits.max_value_bytes); the rest of it was skipped",
                        self.max
                    ),
                ))
            }
            None => {
                let n = buf.len().min(room);
                self.last = (n, false);
                Ok(&buf[..n])
            }
        }
    }

    fn consume(&mut self, amt: usize) {
        if amt > 0 && amt == self.last.0 && self.last.1 {
            self.run = 0;
        } else {
            self.run += amt;
        }
        self.last = (0, false);
        self.inner.consume(amt);
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn long_lines_fail_once_and_are_skipped() {
        use std::io::BufRead;
        let text = format!("short\n{}\nafter\n{}\n", "x".repeat(100), "y".repeat(10));
        let guard =
            super::LineGuard::new(std::io::BufReader::with_capacity(7, text.as_bytes()), 10);
        let lines: Vec<Result<String, String>> = guard
            .lines()
            .map(|l| l.map_err(|e| e.to_string()))
            .collect();
        assert_eq!(lines.len(), 4, "{lines:?}");
        assert_eq!(lines[0].as_deref(), Ok("short"));
        assert!(
            lines[1]
                .as_ref()
                .unwrap_err()
                .contains("limits.max_value_bytes")
        );
        assert_eq!(lines[2].as_deref(), Ok("after"));
        assert_eq!(lines[3].as_deref(), Ok("yyyyyyyyyy"));
    }
}
