//! Errors of the engine crate.

/// Everything that can go wrong while planning or running a query.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The catalog failed or refused.
    #[error(transparent)]
    Catalog(#[from] strata_catalog::Error),
    /// DataFusion failed: bad SQL, unknown table, execution error.
    #[error("{}", clean_datafusion_message(.0))]
    DataFusion(#[from] datafusion::error::DataFusionError),
    /// Arrow failed while converting data.
    #[error("{0}")]
    Arrow(#[from] arrow::error::ArrowError),
    /// Writing Parquet failed.
    #[error("writing Parquet failed: {0}")]
    Parquet(#[from] parquet::errors::ParquetError),
    /// A location could not be resolved to a configured store.
    #[error("invalid location '{location}': {reason}")]
    Location { location: String, reason: String },
    /// A data file could not be decoded: corrupt, or not the file that was registered.
    #[error(
        "cannot read {file} of table {table}: {message} (the file may be corrupt or rewritten; `strata table refresh {table}` re-reads a registered table's files)"
    )]
    CorruptFile {
        table: String,
        file: String,
        message: String,
    },
    /// A configured limit refused the statement; `setting` names the key that raises it.
    #[error("{message} ({setting} in strata.toml)")]
    LimitExceeded {
        setting: &'static str,
        message: String,
    },
    /// A statement, a name or an argument is malformed: what is wrong and how to write it.
    #[error("{0}")]
    Usage(String),
    /// The statement is understood but Strata does not do it (yet).
    #[error("{0}")]
    Unsupported(String),
    /// Something the statement names does not exist: a snapshot, a table to ingest into,
    /// files matching a pattern.
    #[error("{0}")]
    NotFound(String),
    /// The data or the table refuses the change: NULLs in a NOT NULL column, a column the table
    /// lacks, a write into a table registered in place, retention without a time column.
    #[error("{0}")]
    Refused(String),
    /// An input file of `strata ingest` cannot be read as its format.
    #[error("{file}: {message}")]
    Input { file: String, message: String },
    /// The local file system failed.
    #[error("{context}: {source}")]
    Io {
        context: String,
        source: std::io::Error,
    },
    /// Object storage failed outside a query (listing for gc or ingest, deleting, reading a
    /// delete file or a file just written).
    #[error("{0}")]
    Storage(String),
    /// A background task of a statement failed (a panic or a cancelled blocking task).
    #[error("{0}")]
    Internal(String),
}

/// DataFusion wraps errors in context layers ("Error during planning: …"); keep the message
/// readable but informative.
fn clean_datafusion_message(e: &datafusion::error::DataFusionError) -> String {
    // A storage failure deep inside a scan: its explanation is what the user needs.
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(s) = source {
        if let Some(problem) = s.downcast_ref::<crate::StorageProblem>() {
            return format!("storage error: {problem}");
        }
        if let Some(engine) = s.downcast_ref::<Error>() {
            return engine.to_string();
        }
        source = s.source();
    }
    let root = e.find_root();
    let msg = root.to_string();
    signature_mismatch(&msg).unwrap_or(msg).trim().to_string()
}

/// DataFusion 55 reports a function called with arguments none of its signatures accepts as an
/// internal error wrapped in a planning error, and appends "likely caused by a bug in
/// DataFusion's code": it is the user's input, so say only what was wrong.
fn signature_mismatch(msg: &str) -> Option<String> {
    // Also a function's own argument check ("user-defined coercion failed with: Internal
    // error: Expected a Map type, got Boolean" for `map_extract(true, …)`).
    if !msg.contains("failed to match any signature") && !msg.contains("coercion failed with") {
        return None;
    }
    let mut out = msg.replacen("Internal error: ", "", 1);
    if let Some(at) = out.find("This issue was likely caused by a bug") {
        out.truncate(at);
    }
    Some(out.trim_end_matches(['.', ' ', '\n']).to_string())
}

impl Error {
    /// Whether the user's input was at fault (bad SQL, unknown table), as opposed to the system.
    pub fn is_user_error(&self) -> bool {
        use datafusion::error::DataFusionError as D;
        match self {
            Error::Catalog(e) => e.is_user_error(),
            Error::Location { .. }
            | Error::LimitExceeded { .. }
            | Error::Usage(_)
            | Error::Unsupported(_)
            | Error::NotFound(_)
            | Error::Refused(_)
            | Error::Input { .. } => true,
            Error::DataFusion(e) => matches!(
                e.find_root(),
                D::SQL(..) | D::Plan(_) | D::SchemaError(..) | D::NotImplemented(_)
            ),
            _ => false,
        }
    }
}

/// Result with the engine's error type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signature_mismatch_is_not_called_a_datafusion_bug() {
        let e = datafusion::error::DataFusionError::Plan(
            "Internal error: Function 'substr' failed to match any signature, errors: Function 'substr' expects 2 arguments but received 3.\nThis issue was likely caused by a bug in DataFusion's code. Please help us to resolve this by filing a bug report in our issue tracker: https://github.com/apache/datafusion/issues".into(),
        );
        let msg = Error::DataFusion(e).to_string();
        assert_eq!(
            msg,
            "Error during planning: Function 'substr' failed to match any signature, errors: Function 'substr' expects 2 arguments but received 3"
        );
        let e = datafusion::error::DataFusionError::Plan(
            "Execution error: Function 'map_extract' user-defined coercion failed with: Internal error: Expected a Map type, got Boolean.\nThis issue was likely caused by a bug in DataFusion's code. Please help us to resolve this by filing a bug report in our issue tracker: https://github.com/apache/datafusion/issues".into(),
        );
        let msg = Error::DataFusion(e).to_string();
        assert!(!msg.contains("bug"), "{msg}");
        assert!(msg.contains("Expected a Map type, got Boolean"), "{msg}");
    }
}
