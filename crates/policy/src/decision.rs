//! What the bundle decides, typed for the engine that applies it in bulk.

use serde::{Deserialize, Serialize};

/// One reason to refuse: the rule that fired, what it found and how to fix it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Denial {
    /// Rule id, e.g. `purpose.not_in_contract`, `jurisdiction.gdpr.sensitive`.
    pub rule: String,
    /// What was found (names, never values).
    pub message: String,
    /// What to do about it.
    pub fix: String,
}

/// Whether a row filter keeps only subjects with consent in force, or drops those who
/// opted out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FilterKind {
    /// Keep subjects whose latest event for the purpose is a grant.
    Consent,
    /// Keep subjects unless their latest event for the purpose is a withdrawal.
    OptOut,
}

/// Something the engine must do for an allowed use.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Obligation {
    /// Filter rows by the consent ledger.
    RowFilter {
        /// Consent in force, or no opt-out.
        filter: FilterKind,
        /// The purpose whose events decide.
        purpose: String,
        /// The consent level the most restrictive law requires.
        level: String,
        /// Which laws (or `contract`) required that level.
        required_by: Vec<String>,
        /// The rule.
        rule: String,
    },
    /// Redact a column.
    Mask {
        /// Column.
        column: String,
        /// Operator.
        method: String,
        /// The rule.
        rule: String,
    },
    /// Replace a column by a keyed hash.
    Pseudonymize {
        /// Column.
        column: String,
        /// Operator.
        method: String,
        /// The rule.
        rule: String,
    },
    /// Record this use in the audit log with its reason.
    Audit {
        /// `transfer`, `break_glass`, or an extension's reason.
        reason: String,
        /// Source region of a transfer.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        from: Option<String>,
        /// Target region of a transfer.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        to: Option<String>,
        /// Transfer mechanism used.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        mechanism: Option<String>,
        /// Who is told.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        notify: Option<String>,
        /// The rule.
        rule: String,
    },
}

impl Obligation {
    /// The rule that imposed it.
    pub fn rule(&self) -> &str {
        match self {
            Obligation::RowFilter { rule, .. }
            | Obligation::Mask { rule, .. }
            | Obligation::Pseudonymize { rule, .. }
            | Obligation::Audit { rule, .. } => rule,
        }
    }

    /// A one-line description for reports.
    pub fn describe(&self) -> String {
        match self {
            Obligation::RowFilter {
                filter,
                purpose,
                level,
                required_by,
                ..
            } => format!(
                "row filter: {} for {purpose} ({level}, required by {})",
                match filter {
                    FilterKind::Consent => "only subjects with consent in force",
                    FilterKind::OptOut => "drop subjects who opted out",
                },
                required_by.join(", ")
            ),
            Obligation::Mask { column, method, .. } => format!("mask column {column} ({method})"),
            Obligation::Pseudonymize { column, method, .. } => {
                format!("pseudonymise column {column} ({method})")
            }
            Obligation::Audit {
                reason,
                from,
                to,
                mechanism,
                notify,
                ..
            } => {
                let mut s = format!("audit: {reason}");
                if let (Some(f), Some(t)) = (from, to) {
                    s.push_str(&format!(" {f} -> {t}"));
                }
                if let Some(m) = mechanism {
                    s.push_str(&format!(" under {m}"));
                }
                if let Some(n) = notify {
                    s.push_str(&format!(", notify {n}"));
                }
                s
            }
        }
    }
}

/// One law's (or the contract's) requirement on this use.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Requirement {
    /// `gdpr`, `uk_gdpr`, `ccpa`, `lgpd`, `pipl` or `contract`.
    pub by: String,
    /// `consent_basis`, `sensitive`, `sale_sharing`, `cross_border`.
    pub kind: String,
    /// Consent level required.
    pub level: String,
    /// Why, in words.
    pub why: String,
}

/// Which laws applied and which one set the bar.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Jurisdictions {
    /// Laws that apply.
    pub applied: Vec<String>,
    /// The most restrictive consent level among the requirements.
    pub consent_level: String,
    /// Who required it.
    pub decided_by: Vec<String>,
    /// Every requirement.
    pub requirements: Vec<Requirement>,
}

/// The outcome of `data.custodia.decision.decision`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Decision {
    /// Allowed only when nothing denies.
    pub allow: bool,
    /// Every reason to refuse.
    pub denials: Vec<Denial>,
    /// What an allowed use must do.
    pub obligations: Vec<Obligation>,
    /// Laws and the consent bar.
    pub jurisdictions: Jurisdictions,
    /// Roles in force (including active grants).
    pub roles: Vec<String>,
    /// Grants that have expired.
    pub expired_grants: Vec<String>,
}

/// The outcome of `data.custodia.model.decision` for a model card.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModelDecision {
    /// Promotion allowed.
    pub allow: bool,
    /// Every reason to refuse.
    pub denials: Vec<Denial>,
    /// High-risk use (needs an approved DPIA).
    pub high_risk: bool,
}
