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

/// One ledger event as [`Store::consent_scan`] reads it in bulk: no source, jurisdiction
/// or purpose, the ref as its 32 bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CompactConsent {
    /// The SubjectRef's 32 bytes.
    pub subject_ref: [u8; 32],
    /// Granted (true) or withdrawn (false).
    pub granted: bool,
    /// When it took effect (µs since the epoch).
    pub at_us: i64,
    /// Ledger id: of two events at the same instant, the later entry decides.
    pub id: i64,
}

/// Ledger ids per bulk-read chunk: big enough that a chunk is one round trip, small enough
/// that its text stays about a megabyte and the chunks spread evenly over the cores.
const CHUNK_IDS: i64 = 32_768;

const COLUMNS: &str = "id, subject_ref, purpose, granted, at_us, source, jurisdiction, recorded_us";

/// One `{ref}{granted}{at_us}:{id}` item of a bulk read.
fn parse_compact(item: &str) -> Result<CompactConsent, StoreError> {
    let bad = || StoreError::Corrupt(format!("consent ledger item {item:?} is malformed"));
    let (r, rest) = item.split_at_checked(64).ok_or_else(bad)?;
    let mut subject_ref = [0u8; 32];
    hex::decode_to_slice(r, &mut subject_ref).map_err(|_| bad())?;
    let (granted, rest) = rest.split_at_checked(1).ok_or_else(bad)?;
    let (at, id) = rest.split_once(':').ok_or_else(bad)?;
    Ok(CompactConsent {
        subject_ref,
        granted: granted != "0",
        at_us: at.parse().map_err(|_| bad())?,
        id: id.parse().map_err(|_| bad())?,
    })
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

    /// Every event for `purpose` that took effect at or before `at_us`, compactly: what a
    /// pipeline's consent and opt-out filters reduce to each subject's deciding event, for a
    /// million subjects at a time.
    ///
    /// Why it reads the ledger as text: sqlx hands rows over one by one (a few µs each),
    /// which made a million-event ledger take seconds. Each chunk of ledger ids comes back
    /// as one aggregated value instead, and chunks are read and parsed concurrently.
    pub async fn consent_scan(
        &self,
        purpose: &str,
        at_us: i64,
    ) -> Result<Vec<CompactConsent>, StoreError> {
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
        // `ref` is 64 hex digits and `granted` one: `{ref}{granted}{at_us}:{id}`.
        let sql = std::sync::Arc::new(format!(
            "SELECT {agg}(subject_ref || granted || at_us || ':' || id, ',') \
             FROM consent_events WHERE purpose = $1 AND at_us <= $2 AND id >= $3 AND id < $4"
        ));
        let tasks: Vec<_> = (lo..=hi)
            .step_by(CHUNK_IDS as usize)
            .map(|from| {
                let (store, sql, purpose) = (self.clone(), sql.clone(), purpose.to_string());
                tokio::spawn(async move {
                    let text: Option<String> = sqlx::query_scalar(&sql)
                        .bind(purpose)
                        .bind(at_us)
                        .bind(from)
                        .bind(from.saturating_add(CHUNK_IDS))
                        .fetch_one(store.pool())
                        .await?;
                    text.as_deref()
                        .unwrap_or("")
                        .split(',')
                        .filter(|s| !s.is_empty())
                        .map(parse_compact)
                        .collect::<Result<Vec<_>, _>>()
                })
            })
            .collect();
        let mut out = Vec::new();
        for task in tasks {
            let events = task
                .await
                .map_err(|e| StoreError::Corrupt(format!("reading the consent ledger: {e}")))??;
            out.extend(events);
        }
        Ok(out)
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
