//! Policy decisions as made: input, outcome and the digest of the policy that made them.

use sqlx::Row;

use crate::{Store, StoreError, WriteTx};

/// A recorded decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecisionRecord {
    /// Its id (what `policy explain` takes).
    pub id: i64,
    /// When (µs).
    pub decided_us: i64,
    /// Allowed or not.
    pub allow: bool,
    /// SHA-256 of the policy sources in force.
    pub policy_digest: String,
    /// The request document (JSON).
    pub input: String,
    /// The decision document (JSON).
    pub decision: String,
    /// The audit entry that records it.
    pub audit_index: Option<u64>,
}

/// A decision to record.
#[derive(Debug, Clone, Copy)]
pub struct NewDecision<'a> {
    /// When (µs).
    pub decided_us: i64,
    /// Allowed or not.
    pub allow: bool,
    /// Digest of the policy in force.
    pub policy_digest: &'a str,
    /// Request (JSON).
    pub input: &'a str,
    /// Outcome (JSON).
    pub decision: &'a str,
}

impl WriteTx {
    /// Stores a decision; returns its id.
    pub async fn record_decision(&mut self, d: NewDecision<'_>) -> Result<i64, StoreError> {
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO policy_decisions (decided_us, allow, policy_digest, input, decision) \
             VALUES ($1, $2, $3, $4, $5) RETURNING id",
        )
        .bind(d.decided_us)
        .bind(i64::from(d.allow))
        .bind(d.policy_digest)
        .bind(d.input)
        .bind(d.decision)
        .fetch_one(&mut *self.tx)
        .await?;
        Ok(id)
    }

    /// Links a decision to the audit entry that records it.
    pub async fn link_decision(&mut self, id: i64, audit_index: u64) -> Result<(), StoreError> {
        sqlx::query("UPDATE policy_decisions SET audit_index = $1 WHERE id = $2")
            .bind(audit_index as i64)
            .bind(id)
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }
}

impl Store {
    /// One decision, if it exists.
    pub async fn decision(&self, id: i64) -> Result<Option<DecisionRecord>, StoreError> {
        let row = sqlx::query(
            "SELECT id, decided_us, allow, policy_digest, input, decision, audit_index \
             FROM policy_decisions WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(self.pool())
        .await?;
        row.map(|r| -> Result<DecisionRecord, StoreError> {
            Ok(DecisionRecord {
                id: r.try_get(0)?,
                decided_us: r.try_get(1)?,
                allow: r.try_get::<i64, _>(2)? != 0,
                policy_digest: r.try_get(3)?,
                input: r.try_get(4)?,
                decision: r.try_get(5)?,
                audit_index: r.try_get::<Option<i64>, _>(6)?.map(|i| i.max(0) as u64),
            })
        })
        .transpose()
    }

    /// Decisions made, and how many of them were denials.
    pub async fn decision_counts(&self) -> Result<(u64, u64), StoreError> {
        let row = sqlx::query(
            "SELECT CAST(COUNT(*) AS BIGINT), CAST(COALESCE(SUM(CASE WHEN allow = 0 THEN 1 ELSE 0 END), 0) AS BIGINT) FROM policy_decisions",
        )
        .fetch_one(self.pool())
        .await?;
        let total: i64 = row.try_get(0)?;
        let denied: i64 = row.try_get(1)?;
        Ok((total.max(0) as u64, denied.max(0) as u64))
    }

    /// The stored outcome (JSON) of every denied decision, for reports.
    pub async fn denied_decisions(&self) -> Result<Vec<String>, StoreError> {
        Ok(
            sqlx::query_scalar("SELECT decision FROM policy_decisions WHERE allow = 0 ORDER BY id")
                .fetch_all(self.pool())
                .await?,
        )
    }
}
