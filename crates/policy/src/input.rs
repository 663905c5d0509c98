//! The request document a decision is made on. Custodia's domain types, as the Rego bundle
//! reads them under `input`; no row values ever go in.

use serde::{Deserialize, Serialize};

use crate::PolicyError;

/// What the actor wants to do with the data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Read rows (queries, pipelines, snapshots).
    #[default]
    Read,
    /// Write or load rows.
    Write,
    /// Train a model on the data.
    Train,
    /// Export the data out of Custodia's control.
    Export,
    /// Move the data to another region.
    Transfer,
}

impl Action {
    /// The name the policy sees.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Read => "read",
            Action::Write => "write",
            Action::Train => "train",
            Action::Export => "export",
            Action::Transfer => "transfer",
        }
    }
}

/// A purpose a contract allows, with its legal basis.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PurposeInput {
    /// Purpose name.
    pub name: String,
    /// `consent`, `contract`, `legitimate_interest`, …
    pub legal_basis: String,
}

/// A column as its contract describes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ColumnInput {
    /// Column name.
    pub name: String,
    /// `L0` … `L3`.
    pub classification: String,
    /// The PII entity type, if any (`EMAIL_ADDRESS`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entity: Option<String>,
    /// The transform applied at rest (`tokenize`, `hash`, `redact`…).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transform: Option<String>,
}

/// The dataset, from its registered contract.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct DatasetInput {
    /// Dataset name.
    pub name: String,
    /// Region its data lives in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// Purposes its contract allows.
    #[serde(default)]
    pub purposes: Vec<PurposeInput>,
    /// Its columns.
    #[serde(default)]
    pub columns: Vec<ColumnInput>,
}

/// Attributes that narrow what an actor's roles allow.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct ActorAttributes {
    /// Only these purposes (any when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub purposes: Option<Vec<String>>,
    /// Only data of these regions (any when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub regions: Option<Vec<String>>,
}

/// A role granted until a time, optionally for some purposes only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Grant {
    /// The role granted.
    pub role: String,
    /// RFC 3339 end of the grant.
    pub expires: String,
    /// Only for these purposes (any when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub purposes: Option<Vec<String>>,
}

/// Emergency access: waives role and attribute checks (never purpose, jurisdiction or
/// residency), is logged with its justification and tells the DPO.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BreakGlass {
    /// Why access cannot wait: an incident or ticket, never personal data.
    pub justification: String,
}

/// Who asks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Actor {
    /// A label (`CUSTODIA_ACTOR`), recorded, not checked.
    #[serde(default)]
    pub id: String,
    /// Roles (`data_engineer`, `ml_engineer`, `analyst`, `dpo`, `auditor`, `admin`).
    #[serde(default)]
    pub roles: Vec<String>,
    /// Narrowing attributes.
    #[serde(default)]
    pub attributes: ActorAttributes,
    /// Time-bound grants.
    #[serde(default)]
    pub grants: Vec<Grant>,
    /// Emergency access.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub break_glass: Option<BreakGlass>,
}

/// A request to use a dataset: the `input` of `data.custodia.decision.decision`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct DecisionInput {
    /// What is done.
    #[serde(default)]
    pub action: Action,
    /// Why: the purpose.
    #[serde(default)]
    pub purpose: String,
    /// The basis claimed (default: the contract's for the purpose).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub legal_basis: Option<String>,
    /// The data.
    #[serde(default)]
    pub dataset: DatasetInput,
    /// Only these columns (default: all).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub columns: Option<Vec<String>>,
    /// Jurisdictions of the subjects (`gdpr`, `ccpa`, … or `eu`, `us-ca`, …); default: the
    /// data region's.
    #[serde(default)]
    pub subject_jurisdictions: Vec<String>,
    /// Where the processing runs (default: the data's region).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compute_region: Option<String>,
    /// Where results are stored (default: the compute region).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage_region: Option<String>,
    /// Who.
    #[serde(default)]
    pub actor: Actor,
    /// When (RFC 3339; default: now).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time: Option<String>,
}

impl DecisionInput {
    /// Parses a request document; errors name the line, column and field.
    pub fn from_json(source_name: &str, text: &str) -> Result<DecisionInput, PolicyError> {
        let input: DecisionInput = serde_json::from_str(text).map_err(|e| PolicyError::Input {
            source_name: source_name.to_string(),
            message: format!(
                "line {} column {}: {e}; fix: see docs/policy.md, \"Input\", for the fields",
                e.line(),
                e.column()
            ),
        })?;
        input.validate(source_name)?;
        Ok(input)
    }

    /// Checks the values the bundle relies on with the domain's own constructors.
    pub fn validate(&self, source_name: &str) -> Result<(), PolicyError> {
        let bad = |field: &str, e: &dyn std::fmt::Display| PolicyError::Input {
            source_name: source_name.to_string(),
            message: format!("field `{field}`: {e}"),
        };
        if !self.purpose.is_empty() {
            custodia_core::Purpose::new(&self.purpose).map_err(|e| bad("purpose", &e))?;
        }
        for (field, r) in [
            ("dataset.region", &self.dataset.region),
            ("compute_region", &self.compute_region),
            ("storage_region", &self.storage_region),
        ] {
            if let Some(r) = r {
                custodia_core::Region::new(r).map_err(|e| bad(field, &e))?;
            }
        }
        let mut seen = std::collections::BTreeSet::new();
        for p in &self.dataset.purposes {
            if !seen.insert(p.name.as_str()) {
                return Err(bad(
                    "dataset.purposes",
                    &format!(
                        "purpose {:?} is listed twice; a purpose has one legal basis per dataset",
                        p.name
                    ),
                ));
            }
        }
        for c in &self.dataset.columns {
            if c.classification
                .parse::<custodia_core::Classification>()
                .is_err()
            {
                return Err(bad(
                    "dataset.columns.classification",
                    &format!(
                        "{:?} (column {:?}) is not L0, L1, L2 or L3",
                        c.classification, c.name
                    ),
                ));
            }
        }
        for g in self
            .actor
            .grants
            .iter()
            .map(|g| &g.expires)
            .chain(&self.time)
        {
            if !looks_like_rfc3339(g) {
                return Err(bad(
                    "time / actor.grants.expires",
                    &format!("{g:?} is not an RFC 3339 time such as 2026-11-23T10:00:00Z"),
                ));
            }
        }
        Ok(())
    }
}

/// A full RFC 3339 date-time (`custodia_core::time` parses it; a date alone, which that
/// parser also takes, is refused here): what Rego's `time.parse_rfc3339_ns` accepts,
/// checked here so a bad time is an input error naming the field rather than a failure
/// inside a rule.
fn looks_like_rfc3339(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() >= 20
        && matches!(b[10], b'T' | b't')
        && s.trim() == s
        && custodia_core::time::parse_rfc3339(s).is_ok()
}

#[cfg(test)]
mod tests {
    use super::looks_like_rfc3339;

    #[test]
    fn rfc3339_times() {
        for ok in [
            "2026-11-23T10:00:00Z",
            "2024-02-29T23:59:59.123+01:00",
            "2026-01-01t00:00:00z",
        ] {
            assert!(looks_like_rfc3339(ok), "{ok}");
        }
        for bad in [
            "2026-13-45T99:99:99Z",
            "2026-02-29T10:00:00Z",
            "2026-11-23T10:00:00",
            "2026-11-23T10:00:00+1:00",
            "yesterday",
        ] {
            assert!(!looks_like_rfc3339(bad), "{bad}");
        }
    }
}
