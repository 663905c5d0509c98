use std::path::PathBuf;

/// Errors from the engine. Messages name the file, line and column involved and the fix,
/// and never carry a personal value.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EngineError {
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The input is malformed at a known place.
    #[error("{path}:{line}: {message}")]
    BadInput {
        /// The file.
        path: PathBuf,
        /// 1-based line (0 when the format has no lines, e.g. Parquet).
        line: u64,
        /// What is wrong and how to fix it.
        message: String,
    },
    /// The file's format is not one Custodia reads.
    #[error("{path}: unsupported format; use .csv, .jsonl/.ndjson, .parquet or sqlite://FILE")]
    UnsupportedFormat {
        /// The file.
        path: PathBuf,
    },
    /// A column a plan or contract names is not in the data, or the reverse.
    #[error("{path}: {message}")]
    Columns {
        /// The file.
        path: PathBuf,
        /// Which columns and the fix.
        message: String,
    },
    /// No master key is available.
    #[error("{0}")]
    Key(String),
    /// A detector or operator error.
    #[error(transparent)]
    Detect(#[from] custodia_detect::DetectError),
    /// A domain error (contract, key material).
    #[error(transparent)]
    Core(#[from] custodia_core::CoreError),
    /// Arrow / Parquet failure.
    #[error("{path}: {message}")]
    Data {
        /// The file.
        path: PathBuf,
        /// The library's message.
        message: String,
    },
    /// A policy file is bad or a rule failed (the message names file:line or the rule).
    #[error(transparent)]
    Policy(#[from] custodia_policy::PolicyError),
    /// The metadata store failed.
    #[error(transparent)]
    Store(#[from] custodia_store::StoreError),
    /// The audit log maths or a signature failed (verification errors name the first bad
    /// entry).
    #[error(transparent)]
    Audit(#[from] custodia_audit::AuditError),
    /// Stored state no longer matches the audit log that recorded it.
    #[error("{0}")]
    Tampered(String),
    /// The workspace is missing or misconfigured; the message says what to run.
    #[error("{0}")]
    Workspace(String),
    /// SQLite failure.
    #[error("{url}: {message}")]
    Database {
        /// The database URL.
        url: String,
        /// What went wrong.
        message: String,
    },
}

impl EngineError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        EngineError::Io {
            path: path.into(),
            source,
        }
    }
    pub(crate) fn data(path: impl Into<PathBuf>, e: impl std::fmt::Display) -> Self {
        EngineError::Data {
            path: path.into(),
            message: e.to_string(),
        }
    }
}
