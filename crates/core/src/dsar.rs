//! Data subject requests: what a person asks for, under which law, by when it must be
//! answered, and the steps a request may take. Pure rules: the engine stores requests,
//! runs them and records every step in the audit log.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::{time, CoreError};

/// What a data subject asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DsarKind {
    /// A copy of their data and how it is used (GDPR art. 15, CCPA right to know).
    Access,
    /// Their data in a machine-readable form to take elsewhere (GDPR art. 20).
    Portability,
    /// Their data deleted everywhere (GDPR art. 17, CCPA right to delete).
    Erasure,
    /// Wrong data corrected (GDPR art. 16, CPRA right to correct).
    Rectification,
    /// No further use for a purpose (GDPR art. 21, CCPA opt-out).
    Objection,
}

impl DsarKind {
    /// Every kind, in the order `--help` lists them.
    pub const ALL: [DsarKind; 5] = [
        DsarKind::Access,
        DsarKind::Portability,
        DsarKind::Erasure,
        DsarKind::Rectification,
        DsarKind::Objection,
    ];

    /// Parses `access`, `portability`, `erasure`, `rectification` or `objection`.
    pub fn parse(text: &str) -> Result<DsarKind, CoreError> {
        DsarKind::ALL
            .into_iter()
            .find(|k| k.as_str() == text)
            .ok_or_else(|| CoreError::InvalidValue {
                kind: "request type",
                value: text.to_string(),
                fix: "use access, portability, erasure, rectification or objection".into(),
            })
    }

    /// The kind's name.
    pub fn as_str(self) -> &'static str {
        match self {
            DsarKind::Access => "access",
            DsarKind::Portability => "portability",
            DsarKind::Erasure => "erasure",
            DsarKind::Rectification => "rectification",
            DsarKind::Objection => "objection",
        }
    }
}

impl fmt::Display for DsarKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The law a request is answered under: it sets the deadline and whether it may be
/// extended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Jurisdiction {
    /// The EU's GDPR.
    Gdpr,
    /// The UK GDPR.
    UkGdpr,
    /// California's CCPA as amended by the CPRA.
    CcpaCpra,
    /// Brazil's LGPD.
    Lgpd,
    /// China's PIPL.
    Pipl,
}

/// A span of calendar time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Term {
    /// Calendar months (the same day of the month, or the month's last day).
    Months(u32),
    /// Calendar days.
    Days(u32),
}

impl Term {
    /// The end (last microsecond, UTC) of the day this term after `from_us`.
    pub fn end_after(self, from_us: i64) -> i64 {
        match self {
            Term::Months(n) => time::end_of_day_after_months(from_us, i64::from(n)),
            Term::Days(n) => time::end_of_day_after_days(from_us, i64::from(n)),
        }
    }
}

impl fmt::Display for Term {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Term::Months(1) => f.write_str("1 month"),
            Term::Months(n) => write!(f, "{n} months"),
            Term::Days(1) => f.write_str("1 day"),
            Term::Days(n) => write!(f, "{n} days"),
        }
    }
}

/// How long a controller has to answer, and by how much it may extend.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Deadline {
    /// From receipt.
    pub answer_within: Term,
    /// At most this much more, once, when the request is complex or numerous (the person
    /// must be told why within the first term).
    pub extension: Option<Term>,
}

/// Terms the law leaves to the controller, from the workspace configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConfiguredTerms {
    /// Days to answer under the PIPL, which asks for a timely answer without a number
    /// (Custodia's default: 15, as the LGPD).
    pub pipl_days: u32,
}

impl Default for ConfiguredTerms {
    fn default() -> Self {
        ConfiguredTerms { pipl_days: 15 }
    }
}

impl Jurisdiction {
    /// Every jurisdiction, in the order `--help` lists them.
    pub const ALL: [Jurisdiction; 5] = [
        Jurisdiction::Gdpr,
        Jurisdiction::UkGdpr,
        Jurisdiction::CcpaCpra,
        Jurisdiction::Lgpd,
        Jurisdiction::Pipl,
    ];

    /// Parses a region or law code: `eu`/`gdpr`, `uk`/`uk-gdpr`, `us-ca`/`ccpa`/`cpra`,
    /// `br`/`lgpd`, `cn`/`pipl` (case-insensitive).
    pub fn parse(text: &str) -> Result<Jurisdiction, CoreError> {
        match text.trim().to_ascii_lowercase().as_str() {
            "eu" | "gdpr" => Ok(Jurisdiction::Gdpr),
            "uk" | "uk-gdpr" | "uk_gdpr" => Ok(Jurisdiction::UkGdpr),
            "us-ca" | "ccpa" | "cpra" | "ccpa-cpra" | "ccpa_cpra" => Ok(Jurisdiction::CcpaCpra),
            "br" | "lgpd" => Ok(Jurisdiction::Lgpd),
            "cn" | "pipl" => Ok(Jurisdiction::Pipl),
            _ => Err(CoreError::InvalidValue {
                kind: "jurisdiction",
                value: text.to_string(),
                fix: "use eu (GDPR), uk (UK GDPR), us-ca (CCPA/CPRA), br (LGPD) or cn (PIPL)"
                    .into(),
            }),
        }
    }

    /// The short code a request records.
    pub fn as_str(self) -> &'static str {
        match self {
            Jurisdiction::Gdpr => "eu",
            Jurisdiction::UkGdpr => "uk",
            Jurisdiction::CcpaCpra => "us-ca",
            Jurisdiction::Lgpd => "br",
            Jurisdiction::Pipl => "cn",
        }
    }

    /// The law's name, for reports.
    pub fn law(self) -> &'static str {
        match self {
            Jurisdiction::Gdpr => "GDPR",
            Jurisdiction::UkGdpr => "UK GDPR",
            Jurisdiction::CcpaCpra => "CCPA/CPRA",
            Jurisdiction::Lgpd => "LGPD",
            Jurisdiction::Pipl => "PIPL",
        }
    }

    /// The statutory deadline: GDPR and UK GDPR one month, extendable by two more (art.
    /// 12(3)); CCPA/CPRA 45 days, extendable once by 45 more (Cal. Civ. Code
    /// § 1798.130(a)(2)); LGPD 15 days for a full answer (art. 19 II), not extendable; PIPL
    /// as configured, not extendable.
    pub fn deadline(self, terms: &ConfiguredTerms) -> Deadline {
        match self {
            Jurisdiction::Gdpr | Jurisdiction::UkGdpr => Deadline {
                answer_within: Term::Months(1),
                extension: Some(Term::Months(2)),
            },
            Jurisdiction::CcpaCpra => Deadline {
                answer_within: Term::Days(45),
                extension: Some(Term::Days(45)),
            },
            Jurisdiction::Lgpd => Deadline {
                answer_within: Term::Days(15),
                extension: None,
            },
            Jurisdiction::Pipl => Deadline {
                answer_within: Term::Days(terms.pipl_days),
                extension: None,
            },
        }
    }

    /// When a request received at `received_us` is due: the end of the last day of the
    /// term, or, once extended, of the whole term counted from receipt (GDPR: three months
    /// in all; CCPA/CPRA: 90 days in all).
    pub fn due(self, received_us: i64, extended: Extension, terms: &ConfiguredTerms) -> i64 {
        let d = self.deadline(terms);
        let term = match (extended, d.answer_within, d.extension) {
            (Extension::Granted, Term::Months(base), Some(Term::Months(more))) => {
                Term::Months(base + more)
            }
            (Extension::Granted, Term::Days(base), Some(Term::Days(more))) => {
                Term::Days(base + more)
            }
            (Extension::Granted, base, Some(more)) => {
                return more.end_after(base.end_after(received_us));
            }
            (_, base, _) => base,
        };
        term.end_after(received_us)
    }
}

impl fmt::Display for Jurisdiction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Whether a request's deadline was extended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Extension {
    /// The statutory term applies.
    None,
    /// Extended (once, where the law allows it).
    Granted,
}

/// Where a request stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DsarState {
    /// Opened; the requester's identity is not yet verified.
    Received,
    /// The requester is who they say they are.
    Verified,
    /// Being carried out.
    InProgress,
    /// The deadline was extended (the person was told why); work goes on.
    Extended,
    /// Done, with its result (export package or erasure certificate).
    Completed,
    /// Refused (identity not verified, manifestly unfounded or excessive), with a reason.
    Rejected,
}

impl DsarState {
    /// Every state, in the order a request passes them.
    pub const ALL: [DsarState; 6] = [
        DsarState::Received,
        DsarState::Verified,
        DsarState::InProgress,
        DsarState::Extended,
        DsarState::Completed,
        DsarState::Rejected,
    ];

    /// The state's name.
    pub fn as_str(self) -> &'static str {
        match self {
            DsarState::Received => "received",
            DsarState::Verified => "verified",
            DsarState::InProgress => "in_progress",
            DsarState::Extended => "extended",
            DsarState::Completed => "completed",
            DsarState::Rejected => "rejected",
        }
    }

    /// Parses a state's name.
    pub fn parse(text: &str) -> Result<DsarState, CoreError> {
        DsarState::ALL
            .into_iter()
            .find(|s| s.as_str() == text)
            .ok_or_else(|| CoreError::InvalidValue {
                kind: "request state",
                value: text.to_string(),
                fix: "use received, verified, in_progress, extended, completed or rejected".into(),
            })
    }

    /// Whether the request is over.
    pub fn is_closed(self) -> bool {
        matches!(self, DsarState::Completed | DsarState::Rejected)
    }

    /// Whether a request in this state may move to `next`. Work starts only on a verified
    /// identity; an extension is possible while the request is open (whether the law
    /// allows one, and only once, is the caller's check with [`Jurisdiction::deadline`]);
    /// closed requests stay closed.
    pub fn may_move_to(self, next: DsarState) -> bool {
        use DsarState::*;
        matches!(
            (self, next),
            (Received, Verified | Rejected | Extended)
                | (Verified, InProgress | Rejected | Extended)
                | (InProgress, Completed | Rejected | Extended)
                | (Extended, Verified | InProgress | Completed | Rejected)
        )
    }
}

impl fmt::Display for DsarState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::{format_rfc3339, parse_rfc3339};

    fn due(j: Jurisdiction, received: &str, extended: bool) -> String {
        let extension = if extended {
            Extension::Granted
        } else {
            Extension::None
        };
        format_rfc3339(j.due(
            parse_rfc3339(received).unwrap(),
            extension,
            &ConfiguredTerms::default(),
        ))
    }

    #[test]
    fn deadlines_per_jurisdiction_with_and_without_extension() {
        use Jurisdiction::*;
        // GDPR and UK GDPR: one month, then two more; a 31 January request is due on the
        // last day of February.
        assert_eq!(
            due(Gdpr, "2026-11-23T16:45:00Z", false),
            "2026-12-23T23:59:59.999999Z"
        );
        assert_eq!(
            due(Gdpr, "2026-11-23T16:45:00Z", true),
            "2027-02-23T23:59:59.999999Z"
        );
        assert_eq!(
            due(UkGdpr, "2026-01-31T09:00:00Z", false),
            "2026-02-28T23:59:59.999999Z"
        );
        assert_eq!(
            due(UkGdpr, "2026-01-31T09:00:00Z", true),
            "2026-04-30T23:59:59.999999Z"
        );
        // CCPA/CPRA: 45 days, then 45 more.
        assert_eq!(
            due(CcpaCpra, "2026-11-23", false),
            "2027-01-07T23:59:59.999999Z"
        );
        assert_eq!(
            due(CcpaCpra, "2026-11-23", true),
            "2027-02-21T23:59:59.999999Z"
        );
        // LGPD: 15 days, no extension.
        assert_eq!(
            due(Lgpd, "2026-12-20T10:00:00Z", false),
            "2027-01-04T23:59:59.999999Z"
        );
        assert_eq!(
            due(Lgpd, "2026-12-20T10:00:00Z", true),
            "2027-01-04T23:59:59.999999Z"
        );
        assert!(Lgpd
            .deadline(&ConfiguredTerms::default())
            .extension
            .is_none());
        // PIPL: as configured.
        let terms = ConfiguredTerms { pipl_days: 30 };
        assert_eq!(
            format_rfc3339(Pipl.due(
                parse_rfc3339("2026-11-23").unwrap(),
                Extension::None,
                &terms
            )),
            "2026-12-23T23:59:59.999999Z"
        );
    }

    #[test]
    fn codes_parse_and_bad_ones_name_the_choices() {
        assert_eq!(Jurisdiction::parse("EU").unwrap(), Jurisdiction::Gdpr);
        assert_eq!(Jurisdiction::parse("cpra").unwrap(), Jurisdiction::CcpaCpra);
        for j in Jurisdiction::ALL {
            assert_eq!(Jurisdiction::parse(j.as_str()).unwrap(), j);
        }
        for k in DsarKind::ALL {
            assert_eq!(DsarKind::parse(k.as_str()).unwrap(), k);
        }
        let e = Jurisdiction::parse("mars").unwrap_err().to_string();
        assert!(e.contains("\"mars\"") && e.contains("us-ca"), "{e}");
        let e = DsarKind::parse("delete").unwrap_err().to_string();
        assert!(e.contains("erasure"), "{e}");
        assert_eq!(
            DsarState::parse("in_progress").unwrap(),
            DsarState::InProgress
        );
        assert!(DsarState::parse("done").is_err());
    }

    #[test]
    fn requests_move_only_forward_and_closed_ones_stay_closed() {
        use DsarState::*;
        let all = DsarState::ALL;
        // The happy path, and an extension in the middle of it.
        for (a, b) in [
            (Received, Verified),
            (Verified, InProgress),
            (InProgress, Completed),
            (InProgress, Extended),
            (Extended, Completed),
            (Received, Rejected),
        ] {
            assert!(a.may_move_to(b), "{a} -> {b}");
        }
        // No work before verification, nothing after closing, no step back.
        assert!(!Received.may_move_to(InProgress));
        assert!(!Received.may_move_to(Completed));
        assert!(!InProgress.may_move_to(Verified));
        assert!(!Extended.may_move_to(Extended));
        for closed in [Completed, Rejected] {
            assert!(closed.is_closed());
            assert!(all.iter().all(|s| !closed.may_move_to(*s)), "{closed}");
        }
        for s in all {
            assert!(!s.may_move_to(s), "{s} -> {s}");
        }
    }
}
