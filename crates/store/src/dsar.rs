//! Data subject requests: one row per request, its state and deadline. The steps a request's
//! job takes live in the journal (job id = request id); what each did is in the audit log.

use sqlx::Row;

use crate::{now_us, Store, StoreError, WriteTx};

/// One data subject request as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DsarRecord {
    /// Request id (`dsar-…`).
    pub id: String,
    /// `access`, `portability`, `erasure`, `rectification` or `objection`.
    pub kind: String,
    /// Jurisdiction code (`eu`, `uk`, `us-ca`, `br`, `cn`).
    pub jurisdiction: String,
    /// Region whose keys make the subject's ref.
    pub region: String,
    /// The subject's SubjectRef.
    pub subject_ref: String,
    /// Kind of identifier the person gave (`email`, `customer_id`, `phone`).
    pub subject_kind: String,
    /// That identifier, encrypted under the subject's data key (`sk1.` token), or
    /// `shredded` once the key is gone.
    pub identifier: String,
    /// State (`received`, `verified`, `in_progress`, `extended`, `completed`, `rejected`).
    pub state: String,
    /// When received (µs).
    pub received_us: i64,
    /// Statutory deadline (µs), moved by an extension.
    pub due_us: i64,
    /// When extended (µs).
    pub extended_us: Option<i64>,
    /// Last change (µs).
    pub updated_us: i64,
    /// When completed or rejected (µs).
    pub closed_us: Option<i64>,
    /// Outcome as JSON (counts, files, certificate path; never a personal value).
    pub result: String,
}

/// A change to a request's row; `None` fields stay as they are.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DsarUpdate {
    /// New state.
    pub state: Option<String>,
    /// New deadline (an extension).
    pub due_us: Option<i64>,
    /// Mark it extended now.
    pub extended: bool,
    /// Mark it closed now.
    pub closed: bool,
    /// New outcome JSON.
    pub result: Option<String>,
    /// New identifier column (`shredded` after the key is gone).
    pub identifier: Option<String>,
}

const COLUMNS: &str = "id, kind, jurisdiction, region, subject_ref, subject_kind, identifier, state, received_us, due_us, extended_us, updated_us, closed_us, result";

fn record_of(r: &sqlx::any::AnyRow) -> Result<DsarRecord, StoreError> {
    Ok(DsarRecord {
        id: r.try_get(0)?,
        kind: r.try_get(1)?,
        jurisdiction: r.try_get(2)?,
        region: r.try_get(3)?,
        subject_ref: r.try_get(4)?,
        subject_kind: r.try_get(5)?,
        identifier: r.try_get(6)?,
        state: r.try_get(7)?,
        received_us: r.try_get(8)?,
        due_us: r.try_get(9)?,
        extended_us: r.try_get(10)?,
        updated_us: r.try_get(11)?,
        closed_us: r.try_get(12)?,
        result: r.try_get(13)?,
    })
}

impl WriteTx {
    /// Stores a new request (`updated_us` is set now).
    pub async fn dsar_insert(&mut self, d: &DsarRecord) -> Result<(), StoreError> {
        sqlx::query(&format!(
            "INSERT INTO dsar_requests ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)"
        ))
        .bind(&d.id)
        .bind(&d.kind)
        .bind(&d.jurisdiction)
        .bind(&d.region)
        .bind(&d.subject_ref)
        .bind(&d.subject_kind)
        .bind(&d.identifier)
        .bind(&d.state)
        .bind(d.received_us)
        .bind(d.due_us)
        .bind(d.extended_us)
        .bind(now_us())
        .bind(d.closed_us)
        .bind(&d.result)
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    /// Changes a request; fails when it does not exist.
    pub async fn dsar_update(&mut self, id: &str, u: &DsarUpdate) -> Result<(), StoreError> {
        let now = now_us();
        let n = sqlx::query(
            "UPDATE dsar_requests SET state = COALESCE($1, state), due_us = COALESCE($2, due_us), \
             extended_us = COALESCE($3, extended_us), closed_us = COALESCE($4, closed_us), \
             result = COALESCE($5, result), identifier = COALESCE($6, identifier), updated_us = $7 WHERE id = $8",
        )
        .bind(u.state.clone())
        .bind(u.due_us)
        .bind(u.extended.then_some(now))
        .bind(u.closed.then_some(now))
        .bind(u.result.clone())
        .bind(u.identifier.clone())
        .bind(now)
        .bind(id)
        .execute(&mut *self.tx)
        .await?
        .rows_affected();
        if n == 0 {
            return Err(not_found(id));
        }
        Ok(())
    }

    /// Takes a subject out of every later read for `purpose` (`*`: every purpose) in a
    /// region; a no-op when already there.
    pub async fn record_suppression(
        &mut self,
        region: &str,
        subject_ref: &str,
        purpose: &str,
        request: &str,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO suppressed_subjects (region, subject_ref, purpose, request_id, at_us) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (region, subject_ref, purpose) DO NOTHING",
        )
        .bind(region)
        .bind(subject_ref)
        .bind(purpose)
        .bind(request)
        .bind(now_us())
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    /// A request read inside the transaction (to check a transition before making it).
    pub async fn dsar(&mut self, id: &str) -> Result<DsarRecord, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM dsar_requests WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(&mut *self.tx)
        .await?;
        row.as_ref()
            .map(record_of)
            .transpose()?
            .ok_or_else(|| not_found(id))
    }
}

fn not_found(id: &str) -> StoreError {
    StoreError::NotFound {
        what: "request",
        name: id.into(),
        hint: "; list requests with `custodia dsar list --all`".into(),
    }
}

impl Store {
    /// One request.
    pub async fn dsar(&self, id: &str) -> Result<DsarRecord, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM dsar_requests WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(self.pool())
        .await?;
        row.as_ref()
            .map(record_of)
            .transpose()?
            .ok_or_else(|| not_found(id))
    }

    /// Requests by deadline (soonest first); only open ones (not completed or rejected)
    /// unless `all`.
    pub async fn dsars(&self, all: bool) -> Result<Vec<DsarRecord>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM dsar_requests WHERE $1 = 1 OR state NOT IN ('completed', 'rejected') ORDER BY due_us, id"
        ))
        .bind(i64::from(all))
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(record_of).collect()
    }

    /// The subjects a read for `purpose` in `region` must drop (32-byte refs), each with
    /// whether it was erased (`*`) rather than objected for this purpose.
    pub async fn suppressed_refs(
        &self,
        region: &str,
        purpose: &str,
    ) -> Result<Vec<([u8; 32], bool)>, StoreError> {
        let rows = sqlx::query(
            "SELECT subject_ref, purpose FROM suppressed_subjects WHERE region = $1 AND (purpose = $2 OR purpose = '*')",
        )
        .bind(region)
        .bind(purpose)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                let text: String = r.try_get(0)?;
                let p: String = r.try_get(1)?;
                let mut b = [0u8; 32];
                hex::decode_to_slice(&text, &mut b).map_err(|_| {
                    StoreError::Corrupt(format!(
                        "suppressed subject ref {text:?} is not 64 hex digits"
                    ))
                })?;
                Ok((b, p == "*"))
            })
            .collect()
    }

    /// How many requests suppressed subjects, by kind (erasures, objections), for reports
    /// (a subject is suppressed in every region, so requests are what to count).
    pub async fn suppression_counts(&self) -> Result<(u64, u64), StoreError> {
        let erased: i64 = sqlx::query_scalar(
            "SELECT COUNT(DISTINCT request_id) FROM suppressed_subjects WHERE purpose = '*'",
        )
        .fetch_one(self.pool())
        .await?;
        let objected: i64 = sqlx::query_scalar(
            "SELECT COUNT(DISTINCT request_id) FROM suppressed_subjects WHERE purpose <> '*'",
        )
        .fetch_one(self.pool())
        .await?;
        Ok((erased as u64, objected as u64))
    }

    /// Every request about a subject, oldest first.
    pub async fn dsars_of(&self, subject_ref: &str) -> Result<Vec<DsarRecord>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM dsar_requests WHERE subject_ref = $1 ORDER BY received_us, id"
        ))
        .bind(subject_ref)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(record_of).collect()
    }
}
