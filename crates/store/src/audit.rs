//! The audit log's rows. What an entry says and how the tree is hashed is the audit crate's
//! business; the store keeps rows in order and makes each append atomic.

use sqlx::Row;

use crate::{Store, StoreError};

/// One stored audit entry: its position, its RFC 6962 leaf hash and its canonical body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRow {
    /// Position in the log, from 0.
    pub index: u64,
    /// Leaf hash of `body`.
    pub leaf: [u8; 32],
    /// The entry as canonical JSON (no raw personal data).
    pub body: String,
}

/// The end of the log as an append sees it, inside the append's transaction.
#[derive(Debug, Clone, Default)]
pub struct AuditTip {
    /// Entries so far (the next index).
    pub size: u64,
    /// Leaf hash of the last entry, if any (the next entry links to it).
    pub last_leaf: Option<[u8; 32]>,
    /// The tree's right edge as the audit crate serialised it (empty for an empty log).
    pub frontier: Vec<u8>,
}

/// A stored signed checkpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredCheckpoint {
    /// Insertion order.
    pub id: i64,
    /// Tree size it commits to.
    pub size: u64,
    /// The signed note, verbatim.
    pub note: String,
    /// When it was made (µs since the epoch).
    pub created_us: i64,
}

fn to_i64(v: u64) -> Result<i64, StoreError> {
    i64::try_from(v).map_err(|_| StoreError::Corrupt(format!("index {v} exceeds i64")))
}

fn leaf_of(bytes: Vec<u8>, index: u64) -> Result<[u8; 32], StoreError> {
    bytes
        .try_into()
        .map_err(|_| StoreError::Corrupt(format!("audit entry {index}: leaf hash is not 32 bytes")))
}

impl Store {
    /// Appends entries atomically. `build` sees the current tip (inside the serialised
    /// transaction, so no other process can append meanwhile) and returns the rows to add,
    /// numbered from `tip.size`, with the new frontier. Durable when this returns `Ok`.
    pub async fn audit_append<F, E>(&self, build: F) -> Result<Vec<AuditRow>, E>
    where
        F: FnOnce(&AuditTip) -> Result<(Vec<AuditRow>, Vec<u8>), E>,
        E: From<StoreError>,
    {
        let mut w = self.begin_write().await?;
        let out = w.audit_append(build).await?;
        w.commit().await?;
        Ok(out)
    }

    /// Number of entries in the log.
    pub async fn audit_size(&self) -> Result<u64, StoreError> {
        let size: Option<i64> = sqlx::query_scalar("SELECT size FROM audit_tip WHERE id = 1")
            .fetch_optional(self.pool())
            .await?;
        Ok(size.unwrap_or(0).max(0) as u64)
    }

    /// The tip as stored (size, frontier), for making a checkpoint.
    pub async fn audit_tip(&self) -> Result<AuditTip, StoreError> {
        let row = sqlx::query("SELECT size, frontier FROM audit_tip WHERE id = 1")
            .fetch_optional(self.pool())
            .await?;
        Ok(match row {
            Some(row) => AuditTip {
                size: row.try_get::<i64, _>(0)?.max(0) as u64,
                last_leaf: None,
                frontier: row.try_get(1)?,
            },
            None => AuditTip::default(),
        })
    }

    /// Entries with `from <= index < to`, in order, as stored (a verifier must not trust them).
    pub async fn audit_rows(&self, from: u64, to: u64) -> Result<Vec<AuditRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT idx, leaf, body FROM audit_entries WHERE idx >= $1 AND idx < $2 ORDER BY idx",
        )
        .bind(to_i64(from)?)
        .bind(to_i64(to)?)
        .fetch_all(self.pool())
        .await?;
        rows.into_iter()
            .map(|row| {
                let index = row.try_get::<i64, _>(0)?.max(0) as u64;
                Ok(AuditRow {
                    index,
                    leaf: leaf_of(row.try_get(1)?, index)?,
                    body: row.try_get(2)?,
                })
            })
            .collect()
    }

    /// Signs and stores a checkpoint over the current tip, atomically with respect to
    /// appends and other checkpoints (so checkpoints are stored in tree order even when two
    /// processes make them at once). When the latest checkpoint already covers the tip, it
    /// is returned and `sign` is not called.
    pub async fn audit_checkpoint_with<F, E>(&self, sign: F) -> Result<String, E>
    where
        F: FnOnce(&AuditTip) -> Result<String, E>,
        E: From<StoreError>,
    {
        let mut tx = self.write_tx().await?;
        let tip = match sqlx::query("SELECT size, frontier FROM audit_tip WHERE id = 1")
            .fetch_optional(&mut *tx)
            .await
            .map_err(StoreError::from)?
        {
            Some(row) => AuditTip {
                size: row.try_get::<i64, _>(0).map_err(StoreError::from)?.max(0) as u64,
                last_leaf: None,
                frontier: row.try_get(1).map_err(StoreError::from)?,
            },
            None => AuditTip::default(),
        };
        let latest =
            sqlx::query("SELECT size, note FROM audit_checkpoints ORDER BY id DESC LIMIT 1")
                .fetch_optional(&mut *tx)
                .await
                .map_err(StoreError::from)?;
        if let Some(row) = latest {
            let size: i64 = row.try_get(0).map_err(StoreError::from)?;
            if size.max(0) as u64 == tip.size {
                return Ok(row.try_get(1).map_err(StoreError::from)?);
            }
        }
        let note = sign(&tip)?;
        sqlx::query("INSERT INTO audit_checkpoints (size, note, created_us) VALUES ($1, $2, $3)")
            .bind(to_i64(tip.size)?)
            .bind(&note)
            .bind(crate::now_us())
            .execute(&mut *tx)
            .await
            .map_err(StoreError::from)?;
        tx.commit().await.map_err(StoreError::from)?;
        Ok(note)
    }

    /// All checkpoints, oldest first.
    pub async fn audit_checkpoints(&self) -> Result<Vec<StoredCheckpoint>, StoreError> {
        let rows =
            sqlx::query("SELECT id, size, note, created_us FROM audit_checkpoints ORDER BY id")
                .fetch_all(self.pool())
                .await?;
        rows.into_iter()
            .map(|row| {
                Ok(StoredCheckpoint {
                    id: row.try_get(0)?,
                    size: row.try_get::<i64, _>(1)?.max(0) as u64,
                    note: row.try_get(2)?,
                    created_us: row.try_get(3)?,
                })
            })
            .collect()
    }
}

impl crate::WriteTx {
    /// Appends entries atomically. `build` sees the current tip (inside the serialised
    /// transaction, so no other process can append meanwhile) and returns the rows to add,
    /// numbered from `tip.size`, with the new frontier. Durable when this returns `Ok`.
    pub async fn audit_append<F, E>(&mut self, build: F) -> Result<Vec<AuditRow>, E>
    where
        F: FnOnce(&AuditTip) -> Result<(Vec<AuditRow>, Vec<u8>), E>,
        E: From<StoreError>,
    {
        let tx = &mut *self.tx;
        let tip_row = sqlx::query("SELECT size, frontier FROM audit_tip WHERE id = 1")
            .fetch_optional(&mut *tx)
            .await
            .map_err(StoreError::from)?;
        let mut tip = AuditTip::default();
        if let Some(row) = tip_row {
            let size: i64 = row.try_get(0).map_err(StoreError::from)?;
            tip.size = u64::try_from(size)
                .map_err(|_| StoreError::Corrupt(format!("audit tip size {size}")))?;
            tip.frontier = row.try_get(1).map_err(StoreError::from)?;
        }
        if tip.size > 0 {
            let last: Option<Vec<u8>> =
                sqlx::query_scalar("SELECT leaf FROM audit_entries WHERE idx = $1")
                    .bind(to_i64(tip.size - 1)?)
                    .fetch_optional(&mut *tx)
                    .await
                    .map_err(StoreError::from)?;
            let last = last.ok_or_else(|| {
                StoreError::Corrupt(format!(
                    "audit entry {} is missing though the log has {} entries; run `custodia audit verify`",
                    tip.size - 1,
                    tip.size
                ))
            })?;
            tip.last_leaf = Some(leaf_of(last, tip.size - 1)?);
        }
        let (rows, frontier) = build(&tip)?;
        for (i, row) in rows.iter().enumerate() {
            if row.index != tip.size + i as u64 {
                return Err(StoreError::Corrupt(format!(
                    "append out of order: row {} has index {}, expected {}",
                    i,
                    row.index,
                    tip.size + i as u64
                ))
                .into());
            }
        }
        // Multi-row inserts: one statement per 200 rows keeps batched appends fast on both
        // backends without running into parameter limits.
        for chunk in rows.chunks(200) {
            let mut sql = String::from("INSERT INTO audit_entries (idx, leaf, body) VALUES ");
            for i in 0..chunk.len() {
                if i > 0 {
                    sql.push(',');
                }
                sql.push_str(&format!("(${}, ${}, ${})", 3 * i + 1, 3 * i + 2, 3 * i + 3));
            }
            let mut q = sqlx::query(&sql);
            for row in chunk {
                q = q
                    .bind(to_i64(row.index)?)
                    .bind(row.leaf.to_vec())
                    .bind(row.body.clone());
            }
            q.execute(&mut *tx).await.map_err(StoreError::from)?;
        }
        let new_size = to_i64(tip.size + rows.len() as u64)?;
        sqlx::query(
            "INSERT INTO audit_tip (id, size, frontier) VALUES (1, $1, $2) \
             ON CONFLICT (id) DO UPDATE SET size = excluded.size, frontier = excluded.frontier",
        )
        .bind(new_size)
        .bind(frontier)
        .execute(&mut *tx)
        .await
        .map_err(StoreError::from)?;
        Ok(rows)
    }
}
