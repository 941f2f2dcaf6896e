//! The crate's one error type.
//!
//! Every module reports through [`Error`]; object-store, Arrow, Parquet and DataFusion errors
//! are wrapped with the context a user needs to act on them.

use datafusion::error::DataFusionError;

/// Result alias used throughout the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in the time machine.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The statement could not be parsed.
    #[error("syntax error: {0}")]
    Syntax(String),

    /// The statement is well-formed but asks for something invalid (bad name, bad value, …).
    #[error("{0}")]
    Invalid(String),

    /// A table (or partition, id, LSN) that the statement names does not exist.
    #[error("{0}")]
    NotFound(String),

    /// The statement would create something that already exists.
    #[error("{0}")]
    AlreadyExists(String),

    /// A concurrent statement committed a change that this statement cannot be rebased onto.
    #[error("conflict: {0}. Help: another writer changed the same data first; re-run the statement")]
    Conflict(String),

    /// The session's user lacks a permission the statement needs (nothing changed).
    #[error("permission denied: {0}")]
    PermissionDenied(String),

    /// The statement is valid SQL but this crate does not implement it.
    #[error("not supported: {0}")]
    NotSupported(String),

    /// Metadata in the warehouse could not be decoded.
    #[error("corrupt metadata in {path}: {message}")]
    Corrupt {
        /// Object path of the unreadable file.
        path: String,
        /// What was wrong with it.
        message: String,
    },

    /// A table whose metadata could not be read (see [`Error::Corrupt`]); other tables work.
    #[error("table {table} is unreadable: {reason}")]
    Unreadable {
        /// The table's name (as last known).
        table: String,
        /// The file and the error, and how to recover.
        reason: String,
    },

    /// The user interrupted the statement (Ctrl-C) before it committed.
    #[error("cancelled: the statement was interrupted before it committed; nothing changed")]
    Cancelled,

    /// The object store failed.
    #[error("storage error: {0}")]
    Storage(#[from] object_store::Error),

    /// DataFusion failed while planning or executing.
    #[error("{0}")]
    DataFusion(DataFusionError),

    /// Arrow failed.
    #[error("arrow error: {0}")]
    Arrow(#[from] datafusion::arrow::error::ArrowError),

    /// Parquet failed.
    #[error("parquet error: {0}")]
    Parquet(#[from] datafusion::parquet::errors::ParquetError),

    /// Local I/O failed.
    #[error("i/o error: {0}")]
    Io(#[from] std::io::Error),
}

impl Error {
    pub(crate) fn invalid(msg: impl Into<String>) -> Self {
        Error::Invalid(msg.into())
    }
    pub(crate) fn not_found(msg: impl Into<String>) -> Self {
        Error::NotFound(msg.into())
    }
    pub(crate) fn not_supported(msg: impl Into<String>) -> Self {
        Error::NotSupported(msg.into())
    }
    pub(crate) fn conflict(msg: impl Into<String>) -> Self {
        Error::Conflict(msg.into())
    }
}

impl From<datafusion::sql::sqlparser::parser::ParserError> for Error {
    fn from(e: datafusion::sql::sqlparser::parser::ParserError) -> Self {
        let msg = e.to_string();
        Error::Syntax(msg.strip_prefix("sql parser error: ").unwrap_or(&msg).to_string())
    }
}

impl From<DataFusionError> for Error {
    /// Our own errors come back unwrapped when they went through DataFusion (a provider or a
    /// planner of ours failed), so users see the message, not "External error: …".
    fn from(e: DataFusionError) -> Self {
        match e {
            DataFusionError::External(inner) => match inner.downcast::<Error>() {
                Ok(ours) => *ours,
                Err(other) => Error::DataFusion(DataFusionError::External(other)),
            },
            DataFusionError::Context(ctx, inner) => match Error::from(*inner) {
                Error::DataFusion(e) => Error::DataFusion(DataFusionError::Context(ctx, Box::new(e))),
                ours => ours,
            },
            other => Error::DataFusion(other),
        }
    }
}

impl From<Error> for DataFusionError {
    fn from(e: Error) -> Self {
        match e {
            Error::DataFusion(e) => e,
            other => DataFusionError::External(Box::new(other)),
        }
    }
}
