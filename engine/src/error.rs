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
    /// A configured limit refused the statement; `setting` names the key that raises it.
    #[error("{message} ({setting} in strata.toml)")]
    LimitExceeded {
        setting: &'static str,
        message: String,
    },
    /// Anything else that names its own cause.
    #[error("{0}")]
    Invalid(String),
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
    msg.trim().to_string()
}

impl Error {
    /// Whether the user's input was at fault (bad SQL, unknown table), as opposed to the system.
    pub fn is_user_error(&self) -> bool {
        use datafusion::error::DataFusionError as D;
        match self {
            Error::Catalog(strata_catalog::Error::TableNotFound { .. })
            | Error::Catalog(strata_catalog::Error::SchemaNotFound { .. })
            | Error::Catalog(strata_catalog::Error::TableExists { .. })
            | Error::Location { .. }
            | Error::LimitExceeded { .. }
            | Error::Invalid(_) => true,
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
