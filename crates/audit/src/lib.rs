//! Custodia's tamper-evident audit log, as pure functions over bytes and strings.
//!
//! - [`merkle`]: RFC 6962 / 9162 hashing, inclusion and consistency proofs.
//! - [`Frontier`]: the O(log n) state a writer keeps to append and sign roots.
//! - [`Entry`]: audit records with one canonical encoding and a hash chain (`prev`).
//! - [`Checkpoint`], [`NoteSigner`], [`NoteVerifier`]: C2SP `tlog-checkpoint` bodies as
//!   C2SP `signed-note`s with Ed25519, so standard tlog tooling can check them too.
//! - [`verify_log`]: the offline check an auditor runs on an export.
//!
//! **Architecture Invariant:** no I/O, no async. Callers read files or rows; this crate only
//! decides whether the bytes are what the log signed, so the same code runs in the store,
//! the CLI and tests.
#![deny(missing_docs)]

mod checkpoint;
mod entry;
mod error;
mod frontier;
pub mod merkle;
mod note;
mod verify;

pub use checkpoint::Checkpoint;
pub use entry::{Entry, EntryBuilder, Link, GENESIS_PREV};
pub use error::AuditError;
pub use frontier::Frontier;
pub use merkle::{
    consistency_proof, empty_root, inclusion_proof, leaf_hash, node_hash, root, verify_consistency,
    verify_inclusion, Hash,
};
pub use note::{NoteSigner, NoteVerifier};
pub use verify::{verify_log, verify_log_trusting, VerifyReport};
pub use zeroize::Zeroizing;
