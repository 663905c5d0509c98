//! The consent ledger as users meet it: grant, withdraw, bulk import from a consent
//! management platform's CSV export, point-in-time checks, export.

use std::{
    collections::{BTreeMap, HashMap},
    path::Path,
};

use custodia_core::{Purpose, Region, SubjectId, SubjectKind, SubjectRef};
use custodia_store::{now_us, ConsentEvent, ConsentState, SubjectConsent};

use crate::{
    audit_log::NewEntry,
    flat::{self, FlatTable},
    time,
    workspace::Workspace,
    EngineError,
};

/// The purpose a Global Privacy Control signal opts out of (CCPA/CPRA "sale or sharing").
pub const GPC_PURPOSE: &str = "sale_sharing";
/// The jurisdiction a GPC opt-out is recorded under.
pub const GPC_JURISDICTION: &str = "us-ca";

/// Granted or withdrawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// The person agreed.
    Grant,
    /// The person withdrew (or opted out).
    Withdraw,
}

/// One consent change to record.
#[derive(Debug, Clone)]
pub struct ConsentChange {
    /// Who.
    pub subject: SubjectId,
    /// For what.
    pub purpose: Purpose,
    /// Grant or withdraw.
    pub decision: Decision,
    /// When it took effect (µs); `None` = now.
    pub at_us: Option<i64>,
    /// Where it came from.
    pub source: String,
    /// Jurisdiction code.
    pub jurisdiction: String,
}

/// What an import did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportReport {
    /// Rows read.
    pub rows: u64,
    /// Events recorded (rows plus GPC opt-outs).
    pub events: u64,
    /// Grants.
    pub grants: u64,
    /// Withdrawals.
    pub withdrawals: u64,
    /// GPC opt-outs.
    pub gpc_opt_outs: u64,
}

fn event(ws: &Workspace, region: &Region, c: &ConsentChange, now: i64) -> ConsentEvent {
    ConsentEvent {
        id: 0,
        subject_ref: ws.subject_ref(&c.subject, region).as_str().to_string(),
        purpose: c.purpose.as_str().to_string(),
        granted: c.decision == Decision::Grant,
        at_us: c.at_us.unwrap_or(now),
        source: c.source.clone(),
        jurisdiction: c.jurisdiction.clone(),
        recorded_us: now,
    }
}

impl Workspace {
    pub(crate) fn declared_purpose(&self, purpose: &Purpose) -> Result<(), EngineError> {
        if self.config().allows_purpose(purpose) {
            return Ok(());
        }
        Err(EngineError::Workspace(format!(
            "purpose {:?} is not a purpose of this workspace ({}); add it to [purposes] in custodia.toml",
            purpose.as_str(),
            self.config()
                .purposes
                .iter()
                .map(|p| p.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )))
    }

    /// Records one grant or withdrawal (and its audit entry); returns the subject's ref.
    pub async fn consent_record(
        &self,
        region: &Region,
        change: ConsentChange,
    ) -> Result<SubjectRef, EngineError> {
        self.declared_purpose(&change.purpose)?;
        if !is_source_token(&change.source) {
            return Err(EngineError::Workspace(
                "--source is a short name (letters, digits, . _ : / -, at most 64), e.g. web-banner; it is kept in the ledger and the audit log for good, so it must not hold personal data".into(),
            ));
        }
        let now = now_us();
        let e = event(self, region, &change, now);
        let subject = SubjectRef::parse(&e.subject_ref)?;
        let mut tx = self.store().begin_write().await?;
        tx.consent_append(std::slice::from_ref(&e)).await?;
        let mut details = BTreeMap::new();
        details.insert("purpose".into(), e.purpose.clone());
        details.insert("jurisdiction".into(), e.jurisdiction.clone());
        details.insert("source".into(), e.source.clone());
        details.insert("at".into(), time::format_rfc3339(e.at_us));
        self.commit_recorded(
            tx,
            vec![NewEntry {
                action: match change.decision {
                    Decision::Grant => "consent.grant",
                    Decision::Withdraw => "consent.withdraw",
                }
                .into(),
                object: format!("purpose:{}", e.purpose),
                subjects: vec![subject.clone()],
                counts: BTreeMap::new(),
                details,
            }],
        )
        .await?;
        Ok(subject)
    }

    /// The ledger's answer for a subject and purpose at a time (µs; `None` = now).
    pub async fn consent_check(
        &self,
        region: &Region,
        subject: &SubjectId,
        purpose: &Purpose,
        at_us: Option<i64>,
    ) -> Result<(SubjectRef, ConsentState), EngineError> {
        // A question about a purpose nobody can consent to is a typo, not a denial.
        self.declared_purpose(purpose)?;
        let r = self.subject_ref(subject, region);
        let state = self
            .store()
            .consent_state(r.as_str(), purpose.as_str(), at_us.unwrap_or_else(now_us))
            .await?;
        Ok((r, state))
    }

    /// Imports a CSV export. Every row is checked first; one bad row (reported by line,
    /// never by value) imports nothing.
    pub async fn consent_import(
        &self,
        region: &Region,
        path: &Path,
        default_jurisdiction: &str,
    ) -> Result<ImportReport, EngineError> {
        let now = now_us();
        let changes = parse_consent_csv(path, default_jurisdiction, &self.config().purposes)?;
        let events: Vec<ConsentEvent> = changes
            .iter()
            .map(|c| event(self, region, c, now))
            .collect();
        let mut report = ImportReport {
            rows: 0,
            events: events.len() as u64,
            ..ImportReport::default()
        };
        for c in &changes {
            match (c.decision, c.source.as_str()) {
                (Decision::Withdraw, "gpc") => report.gpc_opt_outs += 1,
                (Decision::Withdraw, _) => report.withdrawals += 1,
                (Decision::Grant, _) => report.grants += 1,
            }
        }
        report.rows = count_rows(path)?;
        let mut tx = self.store().begin_write().await?;
        tx.consent_append(&events).await?;
        let mut counts = BTreeMap::new();
        counts.insert("rows".into(), report.rows);
        counts.insert("events".into(), report.events);
        counts.insert("grants".into(), report.grants);
        counts.insert("withdrawals".into(), report.withdrawals);
        counts.insert("gpc_opt_outs".into(), report.gpc_opt_outs);
        let mut details = BTreeMap::new();
        details.insert(
            "file".into(),
            path.file_name()
                .map(|f| f.to_string_lossy().into_owned())
                .unwrap_or_default(),
        );
        self.commit_recorded(
            tx,
            vec![NewEntry {
                action: "consent.import".into(),
                object: format!("region:{region}"),
                subjects: vec![],
                counts,
                details,
            }],
        )
        .await?;
        Ok(report)
    }
}

/// Sources name systems (`cli`, `onetrust-export`, `web-banner`), never people: they are
/// stored in the ledger and the audit log, which are never erased, so free text is refused.
pub fn is_source_token(s: &str) -> bool {
    (1..=64).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'/' | b'-'))
}

fn count_rows(path: &Path) -> Result<u64, EngineError> {
    let mut rdr = csv::Reader::from_path(path).map_err(|e| bad(path, 0, &e.to_string()))?;
    Ok(rdr.records().count() as u64)
}

fn bad(path: &Path, line: u64, message: &str) -> EngineError {
    EngineError::BadInput {
        path: path.to_path_buf(),
        line,
        message: message.to_string(),
    }
}

/// Reads a consent CSV: a subject column (`subject` as kind:value, or `email`, `phone`,
/// `customer_id`), `purpose`, `status` (granted/withdrawn and synonyms), `timestamp`
/// (RFC 3339), optional `source`, `jurisdiction`, `gpc`. With `purposes`, every purpose
/// must be one of them (empty = any).
pub fn parse_consent_csv(
    path: &Path,
    default_jurisdiction: &str,
    purposes: &[Purpose],
) -> Result<Vec<ConsentChange>, EngineError> {
    let mut rdr = csv::Reader::from_path(path).map_err(|e| bad(path, 0, &e.to_string()))?;
    let headers = rdr
        .headers()
        .map_err(|e| bad(path, 1, &e.to_string()))?
        .clone();
    let col = |names: &[&str]| {
        headers
            .iter()
            .position(|h| names.contains(&h.trim().to_ascii_lowercase().as_str()))
    };
    let subject_cols: Vec<(usize, Option<SubjectKind>)> = [
        (col(&["subject", "subject_id", "identifier"]), None),
        (col(&["email", "email_address"]), Some(SubjectKind::Email)),
        (col(&["phone", "phone_number"]), Some(SubjectKind::Phone)),
        (
            col(&["customer_id", "user_id"]),
            Some(SubjectKind::CustomerId),
        ),
    ]
    .into_iter()
    .filter_map(|(i, k)| i.map(|i| (i, k)))
    .collect();
    if subject_cols.is_empty() {
        return Err(bad(
            path,
            1,
            "no subject column: add `subject` (kind:value) or `email`, `phone` or `customer_id`",
        ));
    }
    let purpose_col = col(&["purpose"]);
    let status_col = col(&["status", "action", "consent", "decision"]);
    let time_col = col(&["timestamp", "at", "time", "updated_at"]);
    let source_col = col(&["source"]);
    let juris_col = col(&["jurisdiction", "regulation"]);
    let gpc_col = col(&["gpc", "global_privacy_control"]);
    if gpc_col.is_none() && (purpose_col.is_none() || status_col.is_none()) {
        return Err(bad(
            path,
            1,
            "columns `purpose` and `status` are required (or a `gpc` column)",
        ));
    }
    if time_col.is_none() {
        return Err(bad(
            path,
            1,
            "column `timestamp` (RFC 3339) is required: consent is point-in-time",
        ));
    }
    let file_source = path
        .file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .filter(|f| is_source_token(f))
        .unwrap_or_else(|| "import".into());
    let mut out = Vec::new();
    let mut errors = Vec::new();
    for (i, rec) in rdr.records().enumerate() {
        let line = i as u64 + 2;
        let rec = match rec {
            Ok(r) => r,
            Err(e) => {
                errors.push(format!("line {line}: {e}"));
                continue;
            }
        };
        let get = |c: Option<usize>| c.and_then(|c| rec.get(c)).map(str::trim).unwrap_or("");
        let subject = subject_cols.iter().find_map(|(c, kind)| {
            let v = rec.get(*c).map(str::trim).unwrap_or("");
            (!v.is_empty()).then(|| match kind {
                None => SubjectId::parse(v),
                Some(k) => SubjectId::new(*k, v),
            })
        });
        let subject = match subject {
            Some(Ok(s)) => s,
            Some(Err(e)) => {
                errors.push(format!("line {line}: subject: {e}"));
                continue;
            }
            None => {
                errors.push(format!("line {line}: no subject identifier in this row"));
                continue;
            }
        };
        let at = match time::parse_rfc3339(get(time_col)) {
            Ok(t) => t,
            Err(_) => {
                errors.push(format!(
                    "line {line}: column `timestamp`: not RFC 3339; write e.g. 2026-11-23T09:30:00Z"
                ));
                continue;
            }
        };
        let jurisdiction = match get(juris_col) {
            "" => default_jurisdiction.to_string(),
            j => j.to_ascii_lowercase(),
        };
        let source = match get(source_col) {
            "" => file_source.clone(),
            s if is_source_token(s) => s.to_string(),
            _ => {
                errors.push(format!(
                    "line {line}: column `source`: a source is a short name (letters, digits, . _ : / -, at most 64), e.g. onetrust-2026-11"
                ));
                continue;
            }
        };
        let purpose = get(purpose_col);
        let status = get(status_col).to_ascii_lowercase();
        if !purpose.is_empty() || !status.is_empty() {
            let decision = match status.as_str() {
                "granted" | "grant" | "opt_in" | "opt-in" | "yes" | "true" | "1" | "accepted" => {
                    Decision::Grant
                }
                "withdrawn" | "withdraw" | "denied" | "opt_out" | "opt-out" | "no" | "false"
                | "0" | "rejected" | "revoked" => Decision::Withdraw,
                _ => {
                    errors.push(format!(
                        "line {line}: column `status`: the value is neither granted nor withdrawn (accepted: granted, withdrawn, opt_in, opt_out, yes, no)"
                    ));
                    continue;
                }
            };
            let purpose = match Purpose::new(purpose) {
                Ok(p) if !purposes.is_empty() && !purposes.contains(&p) => {
                    errors.push(format!(
                        "line {line}: column `purpose`: not a purpose of this workspace (see [purposes] in custodia.toml)"
                    ));
                    continue;
                }
                Ok(p) => p,
                Err(_) => {
                    errors.push(format!(
                        "line {line}: column `purpose`: purposes are lower-case snake case, e.g. personalization"
                    ));
                    continue;
                }
            };
            out.push(ConsentChange {
                subject: subject.clone(),
                purpose,
                decision,
                at_us: Some(at),
                source: source.clone(),
                jurisdiction: jurisdiction.clone(),
            });
        }
        match get(gpc_col).to_ascii_lowercase().as_str() {
            "" | "0" | "false" | "no" => {}
            "1" | "true" | "yes" => out.push(ConsentChange {
                subject,
                purpose: Purpose::new(GPC_PURPOSE).expect("valid purpose"),
                decision: Decision::Withdraw,
                at_us: Some(at),
                source: "gpc".into(),
                jurisdiction: GPC_JURISDICTION.into(),
            }),
            _ => errors.push(format!(
                "line {line}: column `gpc`: the value is not true or false"
            )),
        }
    }
    if let Some(first) = errors.first() {
        let first_line = first
            .strip_prefix("line ")
            .and_then(|r| r.split(':').next())
            .and_then(|n| n.parse().ok())
            .unwrap_or(0);
        let shown: Vec<&str> = errors.iter().take(20).map(String::as_str).collect();
        let more = if errors.len() > 20 {
            format!("\n… and {} more", errors.len() - 20)
        } else {
            String::new()
        };
        return Err(bad(
            path,
            first_line,
            &format!(
                "{} bad rows, nothing imported:\n{}{more}\nfix the rows and rerun `custodia consent import`",
                errors.len(),
                shown.join("\n")
            ),
        ));
    }
    Ok(out)
}

/// Events of one (subject, purpose): (time, ledger id, granted), sorted.
type Timeline = Vec<(i64, i64, bool)>;

/// The ledger loaded into memory for bulk checks (a pipeline filtering a million rows by
/// consent must not run a million queries): per (subject, purpose), events sorted by time.
/// Answers exactly as `consent_check` does: the latest event at or before the time decides.
#[derive(Debug, Default)]
pub struct ConsentIndex {
    /// subject → purpose → (time, ledger id, granted), sorted.
    by_subject: HashMap<String, HashMap<String, Timeline>>,
}

impl ConsentIndex {
    /// Builds the index from ledger events (any order).
    pub fn new(events: impl IntoIterator<Item = ConsentEvent>) -> ConsentIndex {
        let mut by_subject: HashMap<String, HashMap<String, Timeline>> = HashMap::new();
        for e in events {
            by_subject
                .entry(e.subject_ref)
                .or_default()
                .entry(e.purpose)
                .or_default()
                .push((e.at_us, e.id, e.granted));
        }
        for v in by_subject.values_mut().flat_map(HashMap::values_mut) {
            v.sort_unstable();
        }
        ConsentIndex { by_subject }
    }

    /// Granted (`Some(true)`), withdrawn (`Some(false)`) or no event yet (`None`) for a
    /// subject and purpose at `at_us`.
    pub fn check(&self, subject_ref: &str, purpose: &str, at_us: i64) -> Option<bool> {
        let events = self.by_subject.get(subject_ref)?.get(purpose)?;
        let n = events.partition_point(|(t, _, _)| *t <= at_us);
        n.checked_sub(1).map(|i| events[i].2)
    }

    /// Number of (subject, purpose) pairs.
    pub fn len(&self) -> usize {
        self.by_subject.values().map(HashMap::len).sum()
    }

    /// Whether the index is empty.
    pub fn is_empty(&self) -> bool {
        self.by_subject.is_empty()
    }
}

/// The ledger reduced to one purpose at one instant: per subject, whether its deciding
/// event granted the purpose. What bulk consent and opt-out filters look subjects up in.
#[derive(Debug, Default)]
pub struct ConsentAt {
    /// The first half of a ref → 1 (granted) or 0 (withdrawn), in a table a lookup costs
    /// one cache miss in: the filters look up every subject of a read.
    state: FlatTable,
}

impl ConsentAt {
    /// The standing of each subject, as the store's bulk read gives it (one per subject,
    /// already its deciding event's answer).
    pub fn from_subjects(subjects: impl IntoIterator<Item = SubjectConsent>) -> ConsentAt {
        let subjects = subjects.into_iter();
        let mut state = FlatTable::with_capacity(subjects.size_hint().0);
        for s in subjects {
            state.insert(flat::ref_key(&s.subject_ref), u32::from(s.granted));
        }
        ConsentAt { state }
    }

    /// Granted (`Some(true)`), withdrawn (`Some(false)`) or no event (`None`) for a ref's
    /// 32 bytes.
    pub fn state(&self, subject_ref: &[u8; 32]) -> Option<bool> {
        self.state.get(flat::ref_key(subject_ref)).map(|v| v == 1)
    }

    /// Subjects with an event.
    pub fn len(&self) -> usize {
        self.state.len()
    }

    /// Whether no subject has an event.
    pub fn is_empty(&self) -> bool {
        self.state.len() == 0
    }
}

impl Workspace {
    /// The ledger for `purpose` as it stands at `at_us`, read in bulk.
    pub async fn consent_at(&self, purpose: &str, at_us: i64) -> Result<ConsentAt, EngineError> {
        Ok(ConsentAt::from_subjects(
            self.store().consent_scan(purpose, at_us).await?,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(id: i64, s: &str, p: &str, granted: bool, at: i64) -> ConsentEvent {
        ConsentEvent {
            id,
            subject_ref: s.into(),
            purpose: p.into(),
            granted,
            at_us: at,
            source: "t".into(),
            jurisdiction: "eu".into(),
            recorded_us: 0,
        }
    }

    #[test]
    fn index_answers_like_the_ledger() {
        let idx = ConsentIndex::new(vec![
            ev(3, "a", "ads", true, 300),
            ev(1, "a", "ads", true, 100),
            ev(2, "a", "ads", false, 200),
            ev(4, "a", "ads", false, 300),
        ]);
        assert_eq!(idx.check("a", "ads", 99), None);
        assert_eq!(idx.check("a", "ads", 150), Some(true));
        assert_eq!(idx.check("a", "ads", 250), Some(false));
        // Two events at the same instant: the later ledger entry wins, as in SQL.
        assert_eq!(idx.check("a", "ads", 300), Some(false));
        assert_eq!(idx.check("b", "ads", 300), None);
        assert_eq!(idx.len(), 1);
    }

    #[test]
    fn bulk_state_answers_per_ref() {
        let c = |r: u8, granted| SubjectConsent {
            subject_ref: [r; 32],
            granted,
        };
        let at = ConsentAt::from_subjects([c(1, false), c(2, true), c(3, false)]);
        assert_eq!(at.state(&[1; 32]), Some(false));
        assert_eq!(at.state(&[2; 32]), Some(true));
        assert_eq!(at.state(&[3; 32]), Some(false));
        assert_eq!(at.state(&[4; 32]), None);
        assert_eq!(at.len(), 3);
    }
}
