//! The consent ledger: append-only events; "may X be used for P at time t" is the latest
//! event for (X, P) at or before t.

use sqlx::{any::AnyRow, Row};

use crate::{Store, StoreError};

/// One consent event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsentEvent {
    /// Ledger id (0 before it is stored).
    pub id: i64,
    /// The subject's SubjectRef.
    pub subject_ref: String,
    /// Purpose name.
    pub purpose: String,
    /// Granted (true) or withdrawn / opted out (false).
    pub granted: bool,
    /// When it took effect (µs since the epoch).
    pub at_us: i64,
    /// Where it came from (`cli`, a CMP export file, `gpc`…).
    pub source: String,
    /// Jurisdiction code (`eu`, `uk`, `us-ca`…).
    pub jurisdiction: String,
    /// When Custodia recorded it (µs).
    pub recorded_us: i64,
}

/// The answer to a consent check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConsentState {
    /// The deciding event granted the purpose.
    Granted(ConsentEvent),
    /// The deciding event withdrew it.
    Withdrawn(ConsentEvent),
    /// No event for this subject and purpose at or before the time.
    Unknown,
}

/// A subject's deciding event for one purpose at one instant, as [`Store::consent_latest`]
/// reads it in bulk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LatestConsent {
    /// The SubjectRef's 32 bytes.
    pub subject_ref: [u8; 32],
    /// Whether that event granted the purpose.
    pub granted: bool,
}

/// Ledger ids per bulk-read chunk: big enough that a chunk is one round trip, small enough
/// that its text stays a few megabytes.
const CHUNK_IDS: i64 = 131_072;

const COLUMNS: &str = "id, subject_ref, purpose, granted, at_us, source, jurisdiction, recorded_us";

/// One `ref:granted:at_us:id` item of a bulk read.
fn parse_compact(item: &str) -> Result<([u8; 32], i64, i64, bool), StoreError> {
    let bad = || StoreError::Corrupt(format!("consent ledger item {item:?} is malformed"));
    let mut parts = item.split(':');
    let mut r = [0u8; 32];
    hex::decode_to_slice(parts.next().ok_or_else(bad)?, &mut r).map_err(|_| bad())?;
    let granted = parts.next().ok_or_else(bad)? != "0";
    let at: i64 = parts.next().ok_or_else(bad)?.parse().map_err(|_| bad())?;
    let id: i64 = parts.next().ok_or_else(bad)?.parse().map_err(|_| bad())?;
    Ok((r, at, id, granted))
}

fn event(row: &AnyRow) -> Result<ConsentEvent, StoreError> {
    Ok(ConsentEvent {
        id: row.try_get(0)?,
        subject_ref: row.try_get(1)?,
        purpose: row.try_get(2)?,
        granted: row.try_get::<i64, _>(3)? != 0,
        at_us: row.try_get(4)?,
        source: row.try_get(5)?,
        jurisdiction: row.try_get(6)?,
        recorded_us: row.try_get(7)?,
    })
}

impl Store {
    /// Appends events in one transaction: all of them or none (an import never half-lands).
    pub async fn consent_append(&self, events: &[ConsentEvent]) -> Result<u64, StoreError> {
        let mut w = self.begin_write().await?;
        let out = w.consent_append(events).await?;
        w.commit().await?;
        Ok(out)
    }

    /// The event that decides whether `subject` may be used for `purpose` at `at_us`.
    pub async fn consent_state(
        &self,
        subject: &str,
        purpose: &str,
        at_us: i64,
    ) -> Result<ConsentState, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM consent_events WHERE subject_ref = $1 AND purpose = $2 AND at_us <= $3 \
             ORDER BY at_us DESC, id DESC LIMIT 1"
        ))
        .bind(subject)
        .bind(purpose)
        .bind(at_us)
        .fetch_optional(self.pool())
        .await?;
        Ok(match row {
            None => ConsentState::Unknown,
            Some(row) => {
                let e = event(&row)?;
                if e.granted {
                    ConsentState::Granted(e)
                } else {
                    ConsentState::Withdrawn(e)
                }
            }
        })
    }

    /// Every event, optionally for one purpose, in ledger order (exports, in-memory indexes).
    pub async fn consent_events(
        &self,
        purpose: Option<&str>,
    ) -> Result<Vec<ConsentEvent>, StoreError> {
        let rows = match purpose {
            Some(p) => {
                sqlx::query(&format!(
                    "SELECT {COLUMNS} FROM consent_events WHERE purpose = $1 ORDER BY id"
                ))
                .bind(p)
                .fetch_all(self.pool())
                .await?
            }
            None => {
                sqlx::query(&format!("SELECT {COLUMNS} FROM consent_events ORDER BY id"))
                    .fetch_all(self.pool())
                    .await?
            }
        };
        rows.iter().map(event).collect()
    }

    /// Every subject's deciding event for `purpose` at `at_us` (the latest at or before it;
    /// of two at the same instant, the later ledger entry): what a pipeline's consent and
    /// opt-out filters join against, for a million subjects at a time.
    ///
    /// Why it reads the ledger as text: sqlx hands rows over one by one (a few µs each),
    /// which made a million-event ledger take seconds. Each chunk of ledger ids comes back
    /// as one aggregated value instead, chunks are read concurrently, and the latest event
    /// per subject is picked here.
    pub async fn consent_latest(
        &self,
        purpose: &str,
        at_us: i64,
    ) -> Result<Vec<LatestConsent>, StoreError> {
        let (lo, hi): (Option<i64>, Option<i64>) =
            sqlx::query_as("SELECT min(id), max(id) FROM consent_events")
                .fetch_one(self.pool())
                .await?;
        let (Some(lo), Some(hi)) = (lo, hi) else {
            return Ok(Vec::new());
        };
        let agg = match self.backend() {
            crate::Backend::Sqlite => "group_concat",
            crate::Backend::Postgres => "string_agg",
        };
        let sql = format!(
            "SELECT {agg}(subject_ref || ':' || granted || ':' || at_us || ':' || id, ',') \
             FROM consent_events WHERE purpose = $1 AND at_us <= $2 AND id >= $3 AND id < $4"
        );
        let chunks = (lo..=hi).step_by(CHUNK_IDS as usize).map(|from| {
            let sql = &sql;
            async move {
                let text: Option<String> = sqlx::query_scalar(sql)
                    .bind(purpose)
                    .bind(at_us)
                    .bind(from)
                    .bind(from.saturating_add(CHUNK_IDS))
                    .fetch_one(self.pool())
                    .await?;
                let mut events = Vec::new();
                for item in text
                    .as_deref()
                    .unwrap_or("")
                    .split(',')
                    .filter(|s| !s.is_empty())
                {
                    events.push(parse_compact(item)?);
                }
                Ok::<_, StoreError>(events)
            }
        });
        let mut latest: std::collections::HashMap<[u8; 32], (i64, i64, bool)> =
            std::collections::HashMap::new();
        for events in futures::future::try_join_all(chunks).await? {
            for (r, at, id, granted) in events {
                let e = latest.entry(r).or_insert((at, id, granted));
                if (at, id) > (e.0, e.1) {
                    *e = (at, id, granted);
                }
            }
        }
        Ok(latest
            .into_iter()
            .map(|(subject_ref, (_, _, granted))| LatestConsent {
                subject_ref,
                granted,
            })
            .collect())
    }

    /// Events of one subject, in ledger order (access requests, `consent check --explain`).
    pub async fn consent_events_of(&self, subject: &str) -> Result<Vec<ConsentEvent>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM consent_events WHERE subject_ref = $1 ORDER BY id"
        ))
        .bind(subject)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(event).collect()
    }
}

impl crate::WriteTx {
    /// Appends events in one transaction: all of them or none (an import never half-lands).
    pub async fn consent_append(&mut self, events: &[ConsentEvent]) -> Result<u64, StoreError> {
        let tx = &mut *self.tx;
        for chunk in events.chunks(100) {
            let mut sql = String::from(
                "INSERT INTO consent_events (subject_ref, purpose, granted, at_us, source, jurisdiction, recorded_us) VALUES ",
            );
            for i in 0..chunk.len() {
                if i > 0 {
                    sql.push(',');
                }
                let b = 7 * i;
                sql.push_str(&format!(
                    "(${}, ${}, ${}, ${}, ${}, ${}, ${})",
                    b + 1,
                    b + 2,
                    b + 3,
                    b + 4,
                    b + 5,
                    b + 6,
                    b + 7
                ));
            }
            let mut q = sqlx::query(&sql);
            for e in chunk {
                q = q
                    .bind(e.subject_ref.clone())
                    .bind(e.purpose.clone())
                    .bind(i64::from(e.granted))
                    .bind(e.at_us)
                    .bind(e.source.clone())
                    .bind(e.jurisdiction.clone())
                    .bind(e.recorded_us);
            }
            q.execute(&mut *tx).await?;
        }
        Ok(events.len() as u64)
    }
}
