//! Errors of the server, and the one place where they become gRPC statuses.

use tonic::{Code, Status};

/// What can go wrong serving a request.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No or bad credentials.
    #[error("{0}")]
    Unauthenticated(String),
    /// The caller's role does not allow this.
    #[error("{0}")]
    PermissionDenied(String),
    /// A server limit was reached.
    #[error("{0}")]
    ResourceExhausted(String),
    /// The query ran past the time limit.
    #[error("{0}")]
    Timeout(String),
    /// The request itself is malformed (bad ticket, bad handle, missing command).
    #[error("{0}")]
    InvalidArgument(String),
    /// The request asks for something the server does not do.
    #[error("{0}")]
    Unimplemented(String),
    /// The query was cancelled.
    #[error("{0}")]
    Cancelled(String),
    /// The engine refused or failed.
    #[error(transparent)]
    Engine(#[from] strata_engine::Error),
    /// Anything else.
    #[error("{0}")]
    Internal(String),
}

impl Error {
    /// The outcome recorded in the query log.
    pub fn outcome(&self) -> &'static str {
        match self {
            Error::Unauthenticated(_) | Error::PermissionDenied(_) => "denied",
            Error::Timeout(_) => "timed_out",
            Error::Cancelled(_) => "cancelled",
            _ => "error",
        }
    }
}

impl From<datafusion::error::DataFusionError> for Error {
    fn from(e: datafusion::error::DataFusionError) -> Self {
        Error::Engine(e.into())
    }
}

impl From<arrow_flight::error::FlightError> for Error {
    fn from(e: arrow_flight::error::FlightError) -> Self {
        Error::Internal(e.to_string())
    }
}

impl From<arrow::error::ArrowError> for Error {
    fn from(e: arrow::error::ArrowError) -> Self {
        Error::Internal(e.to_string())
    }
}

impl From<Error> for Status {
    fn from(e: Error) -> Status {
        let code = match &e {
            Error::Unauthenticated(_) => Code::Unauthenticated,
            Error::PermissionDenied(_) => Code::PermissionDenied,
            Error::ResourceExhausted(_) => Code::ResourceExhausted,
            Error::Timeout(_) => Code::DeadlineExceeded,
            Error::InvalidArgument(_) => Code::InvalidArgument,
            Error::Unimplemented(_) => Code::Unimplemented,
            Error::Cancelled(_) => Code::Cancelled,
            Error::Engine(inner) => engine_code(inner),
            Error::Internal(_) => Code::Internal,
        };
        Status::new(code, e.to_string())
    }
}

fn engine_code(e: &strata_engine::Error) -> Code {
    use datafusion::error::DataFusionError as D;
    match e {
        strata_engine::Error::Catalog(
            strata_catalog::Error::TableNotFound { .. }
            | strata_catalog::Error::SchemaNotFound { .. }
            | strata_catalog::Error::ColumnNotFound { .. }
            | strata_catalog::Error::NoSnapshotAt(_),
        ) => Code::NotFound,
        strata_engine::Error::NotFound(_) => Code::NotFound,
        strata_engine::Error::Catalog(strata_catalog::Error::TableExists { .. }) => {
            Code::AlreadyExists
        }
        strata_engine::Error::Unsupported(_) => Code::Unimplemented,
        strata_engine::Error::Refused(_)
        | strata_engine::Error::Catalog(strata_catalog::Error::Refused(_)) => {
            Code::FailedPrecondition
        }
        strata_engine::Error::Catalog(strata_catalog::Error::Unsupported(_)) => Code::Unimplemented,
        // Retryable: the catalog database was locked or unreachable for too long.
        strata_engine::Error::Catalog(strata_catalog::Error::Unavailable(_)) => Code::Unavailable,
        strata_engine::Error::Catalog(strata_catalog::Error::Conflict(_)) => Code::Aborted,
        strata_engine::Error::DataFusion(d)
            if matches!(d.find_root(), D::ResourcesExhausted(_)) =>
        {
            Code::ResourceExhausted
        }
        e if e.is_user_error() => Code::InvalidArgument,
        _ => Code::Internal,
    }
}

/// Result with the server's error type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
