//! Tickets and prepared-statement handles: opaque, signed, and bound to the user who asked.
//! They carry everything needed to run the statement (SQL, default schema, bound parameters),
//! so any replica that shares the secret can serve them and no server state is needed.

use arrow::array::RecordBatch;
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
        let mut buf = Vec::new();
        {
            let mut w = StreamWriter::try_new(&mut buf, &first.schema())?;
            for b in batches {
                w.write(b)?;
            }
            w.finish()?;
        }
        self.params = Some(STANDARD.encode(buf));
        Ok(())
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::Role;
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
        let mut forged = sealed.clone();
        forged[10] ^= 1;
        let err = Handle::open(&forged, &signer, "prepared", &who("ana")).unwrap_err();
        assert!(err.to_string().contains("forged"), "{err}");
    }
}
