//! Custodia's domain types: what personal data is (entities, classifications), what it may be
//! used for (purposes, legal bases, regions), and the data contracts that declare it.
//!
//! **Architecture Invariant:** this crate does no I/O and no async. Everything here is a pure
//! function of its inputs, so the same validation runs in the CLI, the server and in tests.
#![deny(missing_docs)]

mod classification;
pub mod config;
pub mod contract;
pub mod dsar;
mod entity;
mod error;
mod ids;
pub mod keys;
pub mod model_card;
mod operator;
pub mod pipeline;
mod subject;
pub mod time;

pub use classification::Classification;
pub use contract::{
    ColumnExpectations, ColumnSpec, Contract, DatasetExpectations, Expiry, ExpiryAction, Freshness,
    PurposeSpec,
};
pub use entity::EntityType;
pub use error::{CoreError, Located};
pub use ids::{LegalBasis, Purpose, Region, Retention};
pub use operator::{Generalization, Operator};
pub use subject::{RefKey, SubjectId, SubjectKind, SubjectRef};
