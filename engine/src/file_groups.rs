//! How a scan's files are spread over its partitions: balanced groups, large files cut into
//! row-group ranges on object storage, and the files each group reads first.

use datafusion::datasource::listing::PartitionedFile;
use datafusion::datasource::physical_plan::FileGroup;

/// Pieces of a file read by separate partitions are at least this large.
const MIN_PIECE: u64 = 4 << 20;

/// On object storage every request waits on latency, so a table of fewer files than the scan
/// has partitions (TPC-H's one file a table) would have each file's row groups fetched one
/// after another. Large files are cut into up to `parallel / files` byte ranges, each read by
/// its own partition (DataFusion reads the row groups whose middle falls in a range; the
/// footer is read once, the other pieces wait for it and find it in the metadata cache). Only
/// the first piece keeps the file's statistics, so that nothing counts a file twice; the
/// answers from statistics then leave such a file to the scan.
pub(crate) fn pieces_for_latency(
    files: Vec<PartitionedFile>,
    parallel: usize,
) -> Vec<PartitionedFile> {
    let per_file = parallel.div_ceil(files.len().max(1));
    let mut out = Vec::with_capacity(parallel.max(files.len()));
    for file in files {
        let size = file.object_meta.size;
        let pieces = per_file.min(usize::try_from(size / MIN_PIECE).unwrap_or(usize::MAX));
        if pieces <= 1 || file.range.is_some() {
            out.push(file);
            continue;
        }
        let step = size.div_ceil(pieces as u64);
        for i in 0..pieces as u64 {
            let (start, end) = (i * step, ((i + 1) * step).min(size));
            let mut piece = file.clone().with_range(start as i64, end as i64);
            if i > 0 {
                piece.statistics = None;
            }
            out.push(piece);
        }
    }
    out
}

/// Spread files over `n` groups of similar total size (largest first into the lightest group).
pub(crate) fn balance(files: Vec<PartitionedFile>, n: usize) -> Vec<FileGroup> {
    let n = n.max(1).min(files.len().max(1));
    let mut sorted = files;
    sorted.sort_by_key(|f| std::cmp::Reverse(f.object_meta.size));
    let mut groups: Vec<(u64, Vec<PartitionedFile>)> = (0..n).map(|_| (0, Vec::new())).collect();
    for f in sorted {
        let (size, group) = groups
            .iter_mut()
            .min_by_key(|(size, _)| *size)
            .expect("n >= 1 groups");
        *size += f.object_meta.size;
        group.push(f);
    }
    groups
        .into_iter()
        .filter(|(_, g)| !g.is_empty())
        .map(|(_, mut g)| {
            // Keep path order within a group so time-partitioned files stream in order.
            g.sort_by(|a, b| a.object_meta.location.cmp(&b.object_meta.location));
            FileGroup::new(g)
        })
        .collect()
}

/// The first file of each group (each file once): the ones a scan opens first.
pub(crate) fn first_files(groups: &[FileGroup]) -> Vec<PartitionedFile> {
    let mut first: Vec<PartitionedFile> = Vec::new();
    for file in groups.iter().filter_map(|g| g.files().first()) {
        if !first
            .iter()
            .any(|f| f.object_meta.location == file.object_meta.location)
        {
            first.push(file.clone());
        }
    }
    first
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use datafusion::common::Statistics;
    use datafusion::datasource::listing::PartitionedFile;

    use super::{MIN_PIECE, pieces_for_latency};

    fn file(name: &str, size: u64) -> PartitionedFile {
        let mut f = PartitionedFile::new(name, size);
        f.statistics = Some(Arc::new(Statistics::new_unknown(
            &arrow::datatypes::Schema::empty(),
        )));
        f
    }

    #[test]
    fn a_large_file_is_cut_into_ranges_that_cover_it_once() {
        let size = 10 * MIN_PIECE + 123;
        let pieces = pieces_for_latency(vec![file("big", size), file("small", MIN_PIECE)], 16);
        let big: Vec<_> = pieces
            .iter()
            .filter(|p| p.object_meta.location.as_ref() == "big")
            .collect();
        // 16 partitions over 2 files: 8 pieces each at most, and no piece under MIN_PIECE.
        assert_eq!(big.len(), 8);
        let mut next = 0;
        for piece in &big {
            let range = piece.range.as_ref().expect("a range");
            assert_eq!(range.start, next);
            assert!(range.end > range.start);
            next = range.end;
        }
        assert_eq!(next, size as i64);
        // Only the first piece carries the file's statistics.
        assert!(big[0].statistics.is_some());
        assert!(big[1..].iter().all(|p| p.statistics.is_none()));
        // A file too small to cut stays whole.
        let small: Vec<_> = pieces
            .iter()
            .filter(|p| p.object_meta.location.as_ref() == "small")
            .collect();
        assert_eq!(small.len(), 1);
        assert!(small[0].range.is_none() && small[0].statistics.is_some());
    }
}
