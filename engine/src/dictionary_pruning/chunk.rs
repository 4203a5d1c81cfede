//! One column chunk as the dictionary checks see it: whether it holds text, whether every
//! data page refers to its dictionary, and the dictionary's values.

use std::sync::Arc;

use arrow::array::{ArrayRef, StringBuilder};
use bytes::{Buf, Bytes};
use parquet::basic::{Encoding, PageType};
use parquet::column::page::{Page, PageReader};
use parquet::file::metadata::ColumnChunkMetaData;
use parquet::file::reader::{ChunkReader, Length};
use parquet::file::serialized_reader::SerializedPageReader;

/// Whether a byte-array column holds text as DataFusion reads it: UTF-8 strings, enums, JSON,
/// or bytes of no stated type (read as binary, cast to the table's string type as they are);
/// not decimals or other types a cast would turn into different text.
pub(super) fn text(column: &parquet::schema::types::Type) -> bool {
    use parquet::basic::{ConvertedType, LogicalType};
    let info = column.get_basic_info();
    let logical = match info.logical_type_ref() {
        None => true,
        Some(t) => matches!(
            t,
            LogicalType::String | LogicalType::Enum | LogicalType::Json
        ),
    };
    logical
        && matches!(
            info.converted_type(),
            ConvertedType::NONE | ConvertedType::UTF8 | ConvertedType::ENUM | ConvertedType::JSON
        )
}

/// Whether every data page of `chunk` is dictionary-encoded.
pub(super) fn all_dictionary(chunk: &ColumnChunkMetaData) -> bool {
    if chunk.dictionary_page_offset().is_none() {
        return false;
    }
    if let Some(mask) = chunk.page_encoding_stats_mask() {
        return mask.is_only(Encoding::RLE_DICTIONARY) || mask.is_only(Encoding::PLAIN_DICTIONARY);
    }
    if let Some(stats) = chunk.page_encoding_stats() {
        return stats
            .iter()
            .filter(|s| s.page_type != PageType::DICTIONARY_PAGE)
            .all(|s| {
                matches!(
                    s.encoding,
                    Encoding::RLE_DICTIONARY | Encoding::PLAIN_DICTIONARY
                )
            });
    }
    // Without page statistics, the chunk's encodings: those of its values, levels and
    // dictionary page. A byte-array data page not dictionary-encoded would list PLAIN (or a
    // DELTA encoding); DuckDB lists PLAIN_DICTIONARY alone for a dictionary-encoded chunk.
    let dictionary =
        |e: &Encoding| matches!(e, Encoding::PLAIN_DICTIONARY | Encoding::RLE_DICTIONARY);
    chunk.encodings().any(|e| dictionary(&e))
        && chunk
            .encodings()
            .all(|e| dictionary(&e) || e == Encoding::RLE)
}

/// The values of the dictionary page that begins column chunk `chunk` (read from file offset
/// `start`), as strings; None if it is not a dictionary page of plain UTF-8 values.
pub(super) fn dictionary(
    column: &ColumnChunkMetaData,
    start: u64,
    chunk: Bytes,
) -> Option<ArrayRef> {
    let reader = Arc::new(At {
        start,
        bytes: chunk,
    });
    let mut pages = SerializedPageReader::new(reader, column, 0, None).ok()?;
    let Page::DictionaryPage {
        buf,
        num_values,
        encoding,
        ..
    } = pages.get_next_page().ok()??
    else {
        return None;
    };
    if !matches!(encoding, Encoding::PLAIN | Encoding::PLAIN_DICTIONARY) {
        return None;
    }
    // A corrupt header must not size the builder: each value takes at least 4 bytes.
    let capacity = (num_values as usize).min(buf.len() / 4);
    let mut values = StringBuilder::with_capacity(capacity, buf.len());
    let mut rest = buf;
    for _ in 0..num_values {
        if rest.remaining() < 4 {
            return None;
        }
        let length = rest.get_u32_le() as usize;
        if rest.remaining() < length {
            return None;
        }
        let value = rest.split_to(length);
        values.append_value(std::str::from_utf8(&value).ok()?);
    }
    Some(Arc::new(values.finish()))
}

/// A column chunk's bytes, addressed by their offsets in the file.
struct At {
    start: u64,
    bytes: Bytes,
}

impl Length for At {
    fn len(&self) -> u64 {
        self.start + self.bytes.len() as u64
    }
}

impl ChunkReader for At {
    type T = bytes::buf::Reader<Bytes>;

    fn get_read(&self, start: u64) -> parquet::errors::Result<Self::T> {
        let length = self.len().saturating_sub(start) as usize;
        Ok(self.get_bytes(start, length)?.reader())
    }

    fn get_bytes(&self, start: u64, length: usize) -> parquet::errors::Result<Bytes> {
        let from = start.checked_sub(self.start).map(|f| f as usize);
        match from {
            Some(from) if from + length <= self.bytes.len() => {
                Ok(self.bytes.slice(from..from + length))
            }
            _ => Err(parquet::errors::ParquetError::EOF(format!(
                "offset {start} (+{length}) is outside the column chunk read"
            ))),
        }
    }
}
