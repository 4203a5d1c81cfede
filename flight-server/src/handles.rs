//! Tickets and prepared-statement handles: opaque, signed, and bound to the user who asked.
//! They carry everything needed to run the statement (SQL, default schema, bound parameters),
//! so any replica that shares the secret can serve them and no server state is needed.

use arrow::array::RecordBatch;
use arrow::datatypes::SchemaRef;
use arrow::ipc::reader::StreamReader;
use arrow::ipc::writer::StreamWriter;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use datafusion::common::ScalarValue;
use serde::{Deserialize, Serialize};
use std::io::Cursor;

use crate::auth::{Principal, Signer};
use crate::error::{Error, Result};

/// What a ticket or prepared-statement handle stands for.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Handle {
    /// `ticket` or `prepared`: a handle is not accepted where the other is expected.
    pub kind: String,
    /// The user it was issued to.
    pub user: String,
    pub sql: String,
    /// Schema unqualified names resolved to when it was issued.
    pub schema: String,
    /// Bound parameters: an Arrow IPC stream, base64.
    pub params: Option<String>,
    /// Query id, for cancellation and the query log.
    pub id: String,
    /// The result of a statement that already ran (a write, DDL, a procedure): an Arrow IPC
    /// stream, base64. DoGet replays it and never runs the statement again, so any replica
    /// can answer it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<String>,
}

impl Handle {
    pub fn new(kind: &str, principal: &Principal, sql: &str, schema: &str) -> Self {
        Handle {
            kind: kind.into(),
            user: principal.user.clone(),
            sql: sql.into(),
            schema: schema.into(),
            params: None,
            id: uuid::Uuid::new_v4().simple().to_string(),
            result: None,
        }
    }

    /// Sealed bytes for the client.
    pub fn seal(&self, signer: &Signer) -> Result<Vec<u8>> {
        let json = serde_json::to_vec(self).map_err(|e| Error::Internal(e.to_string()))?;
        Ok(signer.seal(&json))
    }

    /// The handle inside `bytes`, if we signed it for `principal` as a `kind`.
    pub fn open(bytes: &[u8], signer: &Signer, kind: &str, principal: &Principal) -> Result<Self> {
        let data = signer
            .open(bytes)
            .ok_or_else(|| Error::PermissionDenied(format!("invalid or forged {kind} handle")))?;
        let handle: Handle = serde_json::from_slice(data)
            .map_err(|_| Error::InvalidArgument(format!("malformed {kind} handle")))?;
        if handle.kind != kind {
            return Err(Error::InvalidArgument(format!(
                "expected a {kind} handle, got a {} handle",
                handle.kind
            )));
        }
        if handle.user != principal.user {
            return Err(Error::PermissionDenied(format!(
                "this {kind} was issued to another user"
            )));
        }
        Ok(handle)
    }

    /// Bind parameter rows.
    pub fn bind(&mut self, batches: &[RecordBatch]) -> Result<()> {
        let Some(first) = batches.first() else {
            self.params = None;
            return Ok(());
        };
        self.params = Some(STANDARD.encode(encode(&first.schema(), batches)?));
        Ok(())
    }

    /// Keep the result of a statement that already ran. Results are small (a row count, a
    /// procedure's lines); past `MAX_RESULT_BYTES` the rows that fit are kept and, for a
    /// column of lines, a last line says how many were left out.
    pub fn set_result(&mut self, schema: &SchemaRef, batches: &[RecordBatch]) -> Result<()> {
        let all = arrow::compute::concat_batches(schema, batches)?;
        let mut keep = all.num_rows();
        loop {
            let mut batch = all.slice(0, keep);
            if keep < all.num_rows() && is_lines(schema) {
                let note = format!("… and {} more lines", all.num_rows() - keep);
                let tail = RecordBatch::try_new(
                    schema.clone(),
                    vec![std::sync::Arc::new(arrow::array::StringArray::from(vec![
                        note,
                    ]))],
                )?;
                batch = arrow::compute::concat_batches(schema, &[batch, tail])?;
            }
            let encoded = encode(schema, &[batch])?;
            if encoded.len() <= MAX_RESULT_BYTES || keep == 0 {
                self.result = Some(STANDARD.encode(encoded));
                return Ok(());
            }
            keep /= 2;
        }
    }

    /// The kept result of a statement that already ran.
    pub fn result(&self) -> Result<Option<(SchemaRef, Vec<RecordBatch>)>> {
        let Some(encoded) = &self.result else {
            return Ok(None);
        };
        let bytes = STANDARD
            .decode(encoded)
            .map_err(|_| Error::InvalidArgument("malformed result in ticket".into()))?;
        let reader = StreamReader::try_new(Cursor::new(bytes), None)?;
        let schema = reader.schema();
        let batches = reader.collect::<std::result::Result<Vec<_>, _>>()?;
        Ok(Some((schema, batches)))
    }

    /// The bound parameters, one list of values per row.
    pub fn parameter_rows(&self) -> Result<Vec<Vec<ScalarValue>>> {
        let Some(encoded) = &self.params else {
            return Ok(Vec::new());
        };
        let bytes = STANDARD
            .decode(encoded)
            .map_err(|_| Error::InvalidArgument("malformed parameters in handle".into()))?;
        let reader = StreamReader::try_new(Cursor::new(bytes), None)?;
        let mut rows = Vec::new();
        for batch in reader {
            let batch = batch?;
            for row in 0..batch.num_rows() {
                rows.push(
                    batch
                        .columns()
                        .iter()
                        .map(|c| ScalarValue::try_from_array(c.as_ref(), row))
                        .collect::<datafusion::error::Result<Vec<_>>>()?,
                );
            }
        }
        Ok(rows)
    }
}

/// Bytes of a result kept in a ticket, at most (tickets travel in FlightInfo messages).
const MAX_RESULT_BYTES: usize = 1 << 20;

/// `batches` as an Arrow IPC stream.
fn encode(schema: &SchemaRef, batches: &[RecordBatch]) -> Result<Vec<u8>> {
    let mut buf = Vec::new();
    let mut w = StreamWriter::try_new(&mut buf, schema)?;
    for b in batches {
        w.write(b)?;
    }
    w.finish()?;
    drop(w);
    Ok(buf)
}

/// A result of one text column: lines, as procedures return.
fn is_lines(schema: &SchemaRef) -> bool {
    schema.fields().len() == 1 && schema.field(0).data_type() == &arrow::datatypes::DataType::Utf8
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Role;
    use arrow::array::{Int64Array, StringArray};
    use arrow::datatypes::{DataType, Field, Schema};
    use std::sync::Arc;

    fn who(user: &str) -> Principal {
        Principal {
            user: user.into(),
            role: Role::Reader,
            session: String::new(),
        }
    }

    #[test]
    fn handles_are_signed_and_bound_to_their_user() {
        let signer = Signer::new(Some("k"));
        let mut h = Handle::new("prepared", &who("ana"), "SELECT $1, $2", "main");
        let schema = Arc::new(Schema::new(vec![
            Field::new("a", DataType::Int64, true),
            Field::new("b", DataType::Utf8, true),
        ]));
        let batch = RecordBatch::try_new(
            schema,
            vec![
                Arc::new(Int64Array::from(vec![7])),
                Arc::new(StringArray::from(vec!["x"])),
            ],
        )
        .unwrap();
        h.bind(&[batch]).unwrap();
        let sealed = h.seal(&signer).unwrap();
        let back = Handle::open(&sealed, &signer, "prepared", &who("ana")).unwrap();
        assert_eq!(back, h);
        assert_eq!(
            back.parameter_rows().unwrap(),
            vec![vec![ScalarValue::Int64(Some(7)), ScalarValue::from("x")]]
        );
        let err = Handle::open(&sealed, &signer, "prepared", &who("bob")).unwrap_err();
        assert!(err.to_string().contains("another user"), "{err}");
        let err = Handle::open(&sealed, &signer, "ticket", &who("ana")).unwrap_err();
        assert!(err.to_string().contains("expected a ticket"), "{err}");
        let mut done = Handle::new("ticket", &who("ana"), "INSERT INTO t VALUES (1)", "main");
        let lines = Arc::new(Schema::new(vec![Field::new(
            "result",
            DataType::Utf8,
            false,
        )]));
        let many: Vec<String> = (0..100_000).map(|i| format!("line {i:>40}")).collect();
        let batch =
            RecordBatch::try_new(lines.clone(), vec![Arc::new(StringArray::from(many))]).unwrap();
        done.set_result(&lines, &[batch]).unwrap();
        let sealed_done = done.seal(&signer).unwrap();
        assert!(sealed_done.len() < 2 << 20, "{}", sealed_done.len());
        let back = Handle::open(&sealed_done, &signer, "ticket", &who("ana")).unwrap();
        let (_, kept) = back.result().unwrap().unwrap();
        let kept = arrow::compute::concat_batches(&lines, &kept).unwrap();
        assert!(kept.num_rows() > 1000 && kept.num_rows() < 100_000);
        let last = kept
            .column(0)
            .as_any()
            .downcast_ref::<StringArray>()
            .unwrap();
        assert!(last.value(kept.num_rows() - 1).contains("more lines"));
        let mut forged = sealed.clone();
        forged[10] ^= 1;
        let err = Handle::open(&forged, &signer, "prepared", &who("ana")).unwrap_err();
        assert!(err.to_string().contains("forged"), "{err}");
    }
}
