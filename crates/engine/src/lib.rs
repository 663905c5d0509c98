//! Custodia's engine: reads datasets (CSV, JSONL, Parquet, SQLite), scans them for personal
//! data, de-identifies them, and manages the workspace key.
//!
//! **Architecture Invariant:** every file the engine writes is written to a temporary file
//! in the destination folder and renamed into place; a failure leaves no partial output.
#![deny(missing_docs)]

mod deid;
mod documents;
mod error;
pub mod keys;
mod scan;
mod table;

pub use deid::{deidentify_file, detokenize_file, DeidPlan, DeidReport, DeidRule};
pub use documents::{parse_documents, Document, DocumentFields};
pub use error::EngineError;
pub use scan::{draft_contract, scan_paths, ColumnReport, ScanOptions, ScanReport, SourceReport};
pub use table::{Format, Table};
