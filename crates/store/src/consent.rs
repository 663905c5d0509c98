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

/// One subject's standing for a purpose as [`Store::consent_scan`] reads it in bulk: its
/// deciding event's answer, the ref as its 32 bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SubjectConsent {
    /// The SubjectRef's 32 bytes.
    pub subject_ref: [u8; 32],
    /// Granted (true) or withdrawn (false).
    pub granted: bool,
}

/// The bulk read's chunks, by the ref's first hex digit (`None`: unbounded): sixteen index
/// ranges that cover every ref exactly once and spread evenly over the cores.
fn ref_ranges() -> Vec<(Option<String>, Option<String>)> {
    const DIGITS: &[u8] = b"0123456789abcdef";
    (0..DIGITS.len())
        .map(|i| {
            let digit = |j: usize| char::from(DIGITS[j]).to_string();
            (
                (i > 0).then(|| digit(i)),
                (i + 1 < DIGITS.len()).then(|| digit(i + 1)),
            )
        })
        .collect()
}

/// Keeps `consent_current` the deciding event of each (purpose, subject) after events with
/// ids above `$1` were appended: each new event that is now its subject's latest (ties: the
/// later entry) replaces the row, unless a newer one is already there.
const UPDATE_CURRENT: &str =
    "INSERT INTO consent_current (purpose, subject_ref, granted, at_us, id) \
     SELECT purpose, subject_ref, granted, at_us, id FROM consent_events e \
     WHERE e.id > $1 AND NOT EXISTS (SELECT 1 FROM consent_events l \
         WHERE l.subject_ref = e.subject_ref AND l.purpose = e.purpose \
         AND (l.at_us > e.at_us OR (l.at_us = e.at_us AND l.id > e.id))) \
     ON CONFLICT (purpose, subject_ref) DO UPDATE \
     SET granted = excluded.granted, at_us = excluded.at_us, id = excluded.id \
     WHERE excluded.at_us > consent_current.at_us \
        OR (excluded.at_us = consent_current.at_us AND excluded.id > consent_current.id)";

const COLUMNS: &str = "id, subject_ref, purpose, granted, at_us, source, jurisdiction, recorded_us";

/// One `{ref}{granted}` item of a bulk read.
fn parse_compact(item: &str) -> Result<SubjectConsent, StoreError> {
    let bad = || StoreError::Corrupt(format!("consent ledger item {item:?} is malformed"));
    let (r, granted) = item.split_at_checked(64).ok_or_else(bad)?;
    let granted = match granted {
        "1" => true,
        "0" => false,
        _ => return Err(bad()),
    };
    subject_consent(r, granted)
}

/// A subject's standing from its ref's hex and its deciding event's answer.
fn subject_consent(subject_ref: &str, granted: bool) -> Result<SubjectConsent, StoreError> {
    let mut bytes = [0u8; 32];
    hex::decode_to_slice(subject_ref, &mut bytes).map_err(|_| {
        StoreError::Corrupt(format!("consent ledger ref {subject_ref:?} is malformed"))
    })?;
    Ok(SubjectConsent {
        subject_ref: bytes,
        granted,
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

    /// Every subject's standing for `purpose` at `at_us` (its deciding event at or before
    /// then), compactly: what a pipeline's consent and opt-out filters look a million
    /// subjects up in. Subjects without an event by then are absent.
    ///
    /// Why it reads this way: sqlx hands rows over one by one (a few µs each), which made a
    /// million-event ledger take seconds. `consent_current` holds one row per subject (the
    /// append keeps it), read in sixteen ranges of refs, each as one aggregated text value,
    /// concurrently. A subject whose latest event takes effect after `at_us` (dated in the
    /// future) is decided from its events instead.
    pub async fn consent_scan(
        &self,
        purpose: &str,
        at_us: i64,
    ) -> Result<Vec<SubjectConsent>, StoreError> {
        let agg = match self.backend() {
            crate::Backend::Sqlite => "group_concat",
            crate::Backend::Postgres => "string_agg",
        };
        let tasks: Vec<_> = ref_ranges()
            .into_iter()
            .map(|(from, to)| {
                // `ref` is 64 hex digits and `granted` one. Plain range conditions, so the
                // primary key's order serves each range.
                let range = match (&from, &to) {
                    (Some(_), Some(_)) => "AND subject_ref >= $3 AND subject_ref < $4",
                    (Some(_), None) => "AND subject_ref >= $3",
                    (None, Some(_)) => "AND subject_ref < $3",
                    (None, None) => "",
                };
                let sql = format!(
                    "SELECT {agg}(subject_ref || granted, ',') FROM consent_current \
                     WHERE purpose = $1 AND at_us <= $2 {range}"
                );
                let (store, purpose) = (self.clone(), purpose.to_string());
                tokio::spawn(async move {
                    let mut q = sqlx::query_scalar(&sql).bind(purpose).bind(at_us);
                    for bound in [from, to].into_iter().flatten() {
                        q = q.bind(bound);
                    }
                    let text: Option<String> = q.fetch_one(store.pool()).await?;
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
        // Subjects whose latest event is dated after `at_us`: their deciding event is an
        // earlier one, if any.
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM consent_events WHERE purpose = $1 AND at_us <= $2 \
             AND subject_ref IN (SELECT subject_ref FROM consent_current \
                 WHERE purpose = $1 AND at_us > $2) \
             ORDER BY subject_ref, at_us, id"
        ))
        .bind(purpose)
        .bind(at_us)
        .fetch_all(self.pool())
        .await?;
        let events = rows.iter().map(event).collect::<Result<Vec<_>, _>>()?;
        // In (subject, time, id) order: each subject's last event decides.
        for events in events.chunk_by(|a, b| a.subject_ref == b.subject_ref) {
            let deciding = events.last().expect("chunks are not empty");
            out.push(subject_consent(&deciding.subject_ref, deciding.granted)?);
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
        let (before,): (Option<i64>,) = sqlx::query_as("SELECT max(id) FROM consent_events")
            .fetch_one(&mut *tx)
            .await?;
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
        sqlx::query(UPDATE_CURRENT)
            .bind(before.unwrap_or(0))
            .execute(&mut *tx)
            .await?;
        Ok(events.len() as u64)
    }
}
