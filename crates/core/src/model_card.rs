//! Model cards: what a trained model is for, what it was trained on, and the evidence that
//! it may be promoted (metrics, fairness against thresholds, DPIA). `custodia check model`
//! reads them from YAML; the model registry writes them next to each model version.
//!
//! ```yaml
//! name: churn
//! version: 3
//! purpose: model_training
//! legal_basis: legitimate_interest
//! owner: ml-platform@example.com
//! risk: limited                     # minimal | limited | high
//! training_data:
//!   - dataset: customers
//!     version: 4
//! consent_scope: [model_training]
//! metrics: {auc: 0.81}
//! fairness:
//!   - {metric: demographic_parity_ratio, value: 0.86, threshold: 0.8, direction: min}
//! dpia: {reference: DPIA-2026-07, status: approved}
//! ```
//!
//! Parsing checks types only; whether the card is complete and acceptable is policy's call
//! (`data.custodia.model`), so a DPO can tighten it without a new binary.

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer, Serialize};

use crate::{CoreError, Located};

/// How much harm the model's use could do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Risk {
    /// Little impact on people.
    Minimal,
    /// Transparency duties only.
    Limited,
    /// Decisions about people (credit, hiring, health): needs an approved DPIA.
    High,
}

/// Whether a fairness metric must stay above or below its threshold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// `value >= threshold` (ratios such as demographic parity).
    Min,
    /// `value <= threshold` (differences such as equalized odds).
    Max,
}

/// A fairness metric with its threshold.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FairnessMetric {
    /// Metric name.
    pub metric: String,
    /// Measured value.
    pub value: f64,
    /// Threshold it must meet.
    pub threshold: f64,
    /// Which side of the threshold passes (default `min`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub direction: Option<Direction>,
}

/// A training dataset version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainingRef {
    /// Dataset (contract) name.
    pub dataset: String,
    /// Dataset version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<u64>,
}

/// State of a data protection impact assessment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DpiaStatus {
    /// Not started or in progress.
    Pending,
    /// Signed off.
    Approved,
    /// Refused.
    Rejected,
    /// Assessed as not needed.
    NotRequired,
}

/// The DPIA reference and status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Dpia {
    /// Document id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    /// Status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<DpiaStatus>,
}

/// A model card. Every field is optional at parse time (see the module docs).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelCard {
    /// Model name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Model version (a number or a string in YAML).
    #[serde(
        default,
        deserialize_with = "version_text",
        skip_serializing_if = "Option::is_none"
    )]
    pub version: Option<String>,
    /// The purpose it serves.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub purpose: Option<String>,
    /// The legal basis for that purpose.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub legal_basis: Option<String>,
    /// Who answers for it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    /// Risk of its use.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub risk: Option<Risk>,
    /// Training datasets and versions.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub training_data: Vec<TrainingRef>,
    /// Purposes the training snapshot was consent-filtered for.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub consent_scope: Vec<String>,
    /// Named metrics.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub metrics: BTreeMap<String, f64>,
    /// Fairness metrics with thresholds.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fairness: Vec<FairnessMetric>,
    /// DPIA.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dpia: Option<Dpia>,
}

fn version_text<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum V {
        N(u64),
        F(f64),
        S(String),
    }
    Ok(Option::<V>::deserialize(d)?.map(|v| match v {
        V::N(n) => n.to_string(),
        V::F(f) => f.to_string(),
        V::S(s) => s,
    }))
}

impl ModelCard {
    /// The card as YAML, in the format [`ModelCard::parse`] reads.
    pub fn to_yaml(&self) -> String {
        serde_saphyr::to_string(self).expect("a model card serialises")
    }

    /// Parses a card; `file` labels errors, which give line and column.
    pub fn parse(file: &str, text: &str) -> Result<ModelCard, CoreError> {
        let card: ModelCard = serde_saphyr::from_str(text).map_err(|e| {
            let (at, first) = crate::contract::yaml_error(file, &e);
            CoreError::ContractSyntax {
                at,
                message: format!(
                    "{first}; fix: see docs/check.md, \"Model cards\", for the fields"
                ),
            }
        })?;
        // NaN and infinities compare false both ways: a NaN threshold would pass any value.
        let numbers = card
            .metrics
            .values()
            .chain(card.fairness.iter().flat_map(|f| [&f.value, &f.threshold]));
        if numbers.into_iter().any(|n| !n.is_finite()) {
            let line = text
                .lines()
                .position(|l| {
                    l.contains(".nan")
                        || l.contains(".inf")
                        || l.contains(".NaN")
                        || l.contains(".Inf")
                })
                .map_or(1, |i| i as u64 + 1);
            return Err(CoreError::ContractSyntax {
                at: Located {
                    file: file.to_string(),
                    line,
                    column: 1,
                },
                message: "metrics and fairness values must be finite numbers; fix: write the measured value".into(),
            });
        }
        Ok(card)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_documented_example() {
        let text = "name: churn\nversion: 3\npurpose: model_training\nlegal_basis: legitimate_interest\nowner: ml@example.com\nrisk: limited\ntraining_data:\n  - dataset: customers\n    version: 4\nconsent_scope: [model_training]\nmetrics: {auc: 0.81}\nfairness:\n  - {metric: dpr, value: 0.86, threshold: 0.8, direction: min}\ndpia: {reference: DPIA-7, status: approved}\n";
        let c = ModelCard::parse("m.yaml", text).unwrap();
        assert_eq!(c.version.as_deref(), Some("3"));
        assert_eq!(c.risk, Some(Risk::Limited));
        assert_eq!(c.training_data[0].version, Some(4));
        assert_eq!(c.dpia.unwrap().status, Some(DpiaStatus::Approved));
    }

    #[test]
    fn type_errors_name_line_and_column() {
        let e = ModelCard::parse("m.yaml", "name: churn\nrisk: catastrophic\n")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("m.yaml:2:"), "{e}");
        let e = ModelCard::parse(
            "m.yaml",
            "name: churn\nfairness:\n  - {metric: dpr, value: 0.9, threshold: .nan}\n",
        )
        .unwrap_err()
        .to_string();
        assert!(e.starts_with("m.yaml:3:") && e.contains("finite"), "{e}");
        let e = ModelCard::parse("m.yaml", "name: churn\nowner_email: x\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("owner_email"), "{e}");
    }
}
