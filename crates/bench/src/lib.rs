//! Benchmarks and the labelled accuracy-corpus generator for Custodia.
//!
//! The [`corpus`] module produces a seeded, deterministic multilingual corpus
//! of short documents with gold PII spans (Presidio entity names); the
//! `gen_corpus` binary writes it as JSONL.
#![deny(missing_docs)]

pub mod corpus;
