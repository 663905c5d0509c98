//! PII detection and de-identification for Custodia.
//!
//! [`Analyzer`] finds personal data in text (24 entity types with Presidio's names) with
//! one multi-pattern DFA pass, checksum validators, multilingual context words and
//! gazetteers for names and places. [`analyze_array`] runs it over Arrow string arrays in
//! parallel. [`classify_column`] infers a column's entity from its header and sampled
//! values. [`Deidentifier`] applies the operators (redact, replace, mask, hash, tokenize,
//! FPE, generalize) with keys derived from the workspace master key.
//!
//! **Architecture Invariant:** detection is pure: no I/O, no global mutable state, and no
//! personal value ever leaves this crate in an error message.
#![deny(missing_docs)]

mod analyzer;
mod arrow_support;
mod classify;
mod deid;
mod fired;
mod gazetteer;
mod lexicon;
mod names;
mod phone;
mod recognizers;
mod validators;

pub use analyzer::{Analyzer, AnalyzerConfig};
pub use arrow_support::analyze_array;
pub use classify::{classify_column, ColumnProfile};
pub use deid::{DeidOutcome, Deidentifier};

use custodia_core::EntityType;

/// One piece of personal data found in a text.
#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    /// What was found.
    pub entity_type: EntityType,
    /// Byte offset of the first byte.
    pub start: usize,
    /// Byte offset one past the last byte.
    pub end: usize,
    /// Confidence, 0.0–1.0.
    pub score: f32,
    /// The recognizer that found it (`credit_card_luhn`, `person_gazetteer`…).
    pub recognizer: &'static str,
}

/// Errors from building detectors or applying operators. Never carries a personal value.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DetectError {
    /// The analyzer configuration is invalid.
    #[error("invalid detector configuration: {0}")]
    Config(String),
    /// The array handed to [`analyze_array`] does not hold strings.
    #[error("column type {0} is not a string type; cast it to Utf8 first")]
    NotStrings(String),
    /// A reversible operator's output could not be reversed (wrong key, shredded key, or
    /// the value was not produced by Custodia).
    #[error("value does not decrypt with this workspace key (wrong key, or not a token)")]
    Undecryptable,
    /// An operator cannot be applied to this value's shape.
    #[error("operator {operator} cannot be applied: {reason}")]
    Operator {
        /// The operator.
        operator: &'static str,
        /// Why (shape only, never the value).
        reason: String,
    },
}

/// Converts byte offsets to Unicode code point offsets (Presidio's convention), in one pass
/// over the text. `spans` must be sorted by start.
pub fn char_offsets(text: &str, spans: &[(usize, usize)]) -> Vec<(usize, usize)> {
    let mut wanted: Vec<usize> = spans.iter().flat_map(|&(s, e)| [s, e]).collect();
    wanted.sort_unstable();
    wanted.dedup();
    let mut map = std::collections::HashMap::with_capacity(wanted.len());
    let mut w = 0usize;
    for (chars, (byte, _)) in text
        .char_indices()
        .chain(std::iter::once((text.len(), ' ')))
        .enumerate()
    {
        while w < wanted.len() && wanted[w] <= byte {
            map.insert(wanted[w], chars);
            w += 1;
        }
    }
    spans.iter().map(|(s, e)| (map[s], map[e])).collect()
}
