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

/// `YYYY-MM-DDTHH:MM:SS` with a valid date and time, then fraction and `Z` or an offset:
/// what Rego's `time.parse_rfc3339_ns` accepts, checked here so a bad time is an input
/// error naming the field rather than a failure inside a rule.
fn looks_like_rfc3339(s: &str) -> bool {
    let b = s.as_bytes();
    let num = |r: std::ops::Range<usize>| -> Option<u32> {
        let part = s.get(r)?;
        part.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| part.parse().ok())
            .flatten()
    };
    let shape = b.len() >= 20
        && b[4] == b'-'
        && b[7] == b'-'
        && (b[10] == b'T' || b[10] == b't')
        && b[13] == b':'
        && b[16] == b':';
    if !shape {
        return false;
    }
    let (Some(y), Some(mo), Some(d), Some(h), Some(mi), Some(sec)) = (
        num(0..4),
        num(5..7),
        num(8..10),
        num(11..13),
        num(14..16),
        num(17..19),
    ) else {
        return false;
    };
    let leap = y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);
    let days = [
        31,
        if leap { 29 } else { 28 },
        31,
        30,
        31,
        30,
        31,
        31,
        30,
        31,
        30,
        31,
    ];
    let date_ok = (1..=12).contains(&mo) && d >= 1 && d <= days[mo as usize - 1];
    let mut rest = &s[19..];
    if let Some(frac) = rest.strip_prefix('.') {
        let n = frac.bytes().take_while(u8::is_ascii_digit).count();
        if n == 0 {
            return false;
        }
        rest = &frac[n..];
    }
    let zone_ok = rest == "Z"
        || rest == "z"
        || (rest.len() == 6
            && (rest.starts_with('+') || rest.starts_with('-'))
            && num(s.len() - 5..s.len() - 3).is_some_and(|h| h < 24)
            && rest.as_bytes()[3] == b':'
            && num(s.len() - 2..s.len()).is_some_and(|m| m < 60));
    date_ok && h < 24 && mi < 60 && sec < 60 && zone_ok
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
