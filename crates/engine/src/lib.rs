//! Custodia's engine: the workspace (configuration, store, keys, audit log), and reading,
//! scanning and de-identifying datasets (CSV, JSONL, Parquet, SQLite).
//!
//! **Architecture Invariant:** every file the engine writes is written to a temporary file
//! in the destination folder and renamed into place; a failure leaves no partial output.
#![deny(missing_docs)]

pub mod audit_log;
pub mod check;
pub mod consent;
pub mod contracts;
mod deid;
mod documents;
pub mod dsar;
mod error;
mod flat;
pub mod keyring;
pub mod keys;
pub mod lineage;
pub mod models;
pub mod policy;
pub mod report;
pub mod retention;
pub mod run;
mod scan;
mod table;
pub use custodia_core::time;
mod workspace;

pub use custodia_policy::{
    Decision, DecisionInput, Denial, ModelDecision, Obligation, Policy, TestOutcome, TestResult,
    BUILTIN as BUILTIN_POLICY, BUILTIN_PARAMS,
};
/// Microseconds since the Unix epoch, from the system clock (the store's time base).
pub use custodia_store::now_us;
pub use custodia_store::{
    ColumnEdge, ConsentEvent, ConsentState, ContractRecord, DatasetVersion, ModelVersion,
    Registered, SubjectKeyLookup,
};
pub use deid::{
    deidentify_file, detokenize_file, DeidPlan, DeidReport, DeidRule, DetokenizeReport,
};
pub use documents::{parse_documents, Document, DocumentFields};
pub use error::EngineError;
pub use scan::{
    draft_contract, redact_values, scan_paths, ColumnReport, ScanOptions, ScanReport, SourceReport,
};
pub use table::{Format, Table};
pub use workspace::{find_config, InitOptions, InitReport, Workspace};

/// Writes `bytes` to `path` atomically (temp file in the same folder, fsync, rename): a
/// crash leaves the old file or the new one, never half of one.
pub fn write_file_atomic(path: &std::path::Path, bytes: &[u8]) -> Result<(), EngineError> {
    write_atomic(path, bytes)
}

pub(crate) fn write_atomic(path: &std::path::Path, bytes: &[u8]) -> Result<(), EngineError> {
    table::atomic_write(path, |w| w.write_all(bytes).map_err(|e| e.to_string()))
}
