//! Regions, region key versions and wrapped per-subject data keys.
//!
//! Region keys are derived from the master key and never stored; a version row records which
//! derivation is current. Subject keys are stored only wrapped (AEAD under a region key
//! version). Shredding deletes the wrapped key with SQLite's `secure_delete` on and then
//! checkpoints the WAL, so the bytes do not linger in the database file.

use sqlx::Row;

use crate::{now_us, Backend, Store, StoreError};

/// A subject's wrapped data key.
#[derive(Clone, PartialEq, Eq)]
pub struct SubjectKey {
    /// Region key version that wraps it.
    pub key_version: i64,
    /// The wrapped key (ciphertext).
    pub wrapped: Vec<u8>,
}

impl std::fmt::Debug for SubjectKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SubjectKey")
            .field("key_version", &self.key_version)
            .field("wrapped", &format_args!("<{} bytes>", self.wrapped.len()))
            .finish()
    }
}

/// What the store knows about a subject's key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SubjectKeyLookup {
    /// The key exists.
    Found(SubjectKey),
    /// No key was ever created.
    Missing,
    /// The key was destroyed (crypto-shredded) at this time (µs).
    Shredded(i64),
}

/// A region's current key version, on the caller's connection (inside its transaction when
/// there is one).
async fn current_key_version(
    conn: &mut sqlx::AnyConnection,
    region: &str,
) -> Result<i64, StoreError> {
    let v: Option<i64> =
        sqlx::query_scalar("SELECT MAX(version) FROM region_key_versions WHERE region = $1")
            .bind(region)
            .fetch_one(conn)
            .await?;
    v.ok_or_else(|| StoreError::NotFound {
        what: "region",
        name: region.to_string(),
        hint: "; add it to [regions] names in custodia.toml and run `custodia init`".into(),
    })
}

impl Store {
    /// Registers a region (idempotent) with key version 1.
    pub async fn ensure_region(&self, region: &str) -> Result<(), StoreError> {
        let mut w = self.begin_write().await?;
        w.ensure_region(region).await?;
        w.commit().await?;
        Ok(())
    }

    /// Registered regions, sorted.
    pub async fn regions(&self) -> Result<Vec<String>, StoreError> {
        Ok(
            sqlx::query_scalar("SELECT region FROM regions ORDER BY region")
                .fetch_all(self.pool())
                .await?,
        )
    }

    /// The current key version of a region.
    pub async fn region_key_version(&self, region: &str) -> Result<i64, StoreError> {
        current_key_version(&mut *self.pool().acquire().await?, region).await
    }

    /// Looks up a subject's key.
    pub async fn subject_key(
        &self,
        region: &str,
        subject: &str,
    ) -> Result<SubjectKeyLookup, StoreError> {
        let row = sqlx::query(
            "SELECT key_version, wrapped FROM subject_keys WHERE region = $1 AND subject_ref = $2",
        )
        .bind(region)
        .bind(subject)
        .fetch_optional(self.pool())
        .await?;
        if let Some(row) = row {
            return Ok(SubjectKeyLookup::Found(SubjectKey {
                key_version: row.try_get(0)?,
                wrapped: row.try_get(1)?,
            }));
        }
        let shredded: Option<i64> = sqlx::query_scalar(
            "SELECT shredded_us FROM shredded_subjects WHERE region = $1 AND subject_ref = $2",
        )
        .bind(region)
        .bind(subject)
        .fetch_optional(self.pool())
        .await?;
        Ok(shredded.map_or(SubjectKeyLookup::Missing, SubjectKeyLookup::Shredded))
    }

    /// Returns the subject's key, creating it with `wrap(current version)` if there is none
    /// (`bool` = created now). Refuses a shredded subject. Two processes creating the same
    /// subject's key at once agree on one key.
    pub async fn subject_key_or_create<F, E>(
        &self,
        region: &str,
        subject: &str,
        wrap: F,
    ) -> Result<(SubjectKey, bool), E>
    where
        F: FnOnce(i64) -> Result<Vec<u8>, E>,
        E: From<StoreError>,
    {
        let mut w = self.begin_write().await?;
        let out = w.subject_key_or_create(region, subject, wrap).await?;
        w.commit().await?;
        Ok(out)
    }

    /// Destroys a subject's key and records the shred. Returns false when there was no key
    /// (already shredded, or never created); the tombstone is written either way.
    pub async fn shred_subject_key(&self, region: &str, subject: &str) -> Result<bool, StoreError> {
        let mut w = self.begin_write().await?;
        let out = w.shred_subject_key(region, subject).await?;
        w.commit().await?;
        self.scrub().await?;
        Ok(out)
    }

    /// Pushes deleted key bytes out of the WAL (SQLite, `secure_delete` already zeroes the
    /// pages) or out of live tables (PostgreSQL `VACUUM`; dead tuples are then reusable).
    pub async fn scrub(&self) -> Result<(), StoreError> {
        match self.backend() {
            Backend::Sqlite => {
                sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
                    .execute(self.pool())
                    .await?;
            }
            Backend::Postgres => {
                sqlx::query("VACUUM subject_keys")
                    .execute(self.pool())
                    .await?;
            }
        }
        Ok(())
    }

    /// Adds a new key version to a region and re-wraps every subject key of the region
    /// with `rewrap(subject_ref, old_version, wrapped, new_version)`, all in one
    /// transaction: either every key moves to the new version or none does.
    pub async fn rotate_region<F, E>(&self, region: &str, rewrap: F) -> Result<(i64, u64), E>
    where
        F: FnMut(&str, i64, &[u8], i64) -> Result<Vec<u8>, E>,
        E: From<StoreError>,
    {
        let mut w = self.begin_write().await?;
        let out = w.rotate_region(region, rewrap).await?;
        w.commit().await?;
        Ok(out)
    }
}

impl crate::WriteTx {
    /// Registers a region (idempotent) with key version 1.
    pub async fn ensure_region(&mut self, region: &str) -> Result<(), StoreError> {
        let tx = &mut *self.tx;
        let now = now_us();
        sqlx::query("INSERT INTO regions (region, created_us) VALUES ($1, $2) ON CONFLICT (region) DO NOTHING")
            .bind(region)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO region_key_versions (region, version, created_us) VALUES ($1, 1, $2) \
             ON CONFLICT (region, version) DO NOTHING",
        )
        .bind(region)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        Ok(())
    }

    /// Returns the subject's key, creating it with `wrap(current version)` if there is none
    /// (`bool` = created now). Refuses a shredded subject. Two processes creating the same
    /// subject's key at once agree on one key.
    pub async fn subject_key_or_create<F, E>(
        &mut self,
        region: &str,
        subject: &str,
        wrap: F,
    ) -> Result<(SubjectKey, bool), E>
    where
        F: FnOnce(i64) -> Result<Vec<u8>, E>,
        E: From<StoreError>,
    {
        let tx = &mut *self.tx;
        let row = sqlx::query(
            "SELECT key_version, wrapped FROM subject_keys WHERE region = $1 AND subject_ref = $2",
        )
        .bind(region)
        .bind(subject)
        .fetch_optional(&mut *tx)
        .await
        .map_err(StoreError::from)?;
        if let Some(row) = row {
            let key = SubjectKey {
                key_version: row.try_get(0).map_err(StoreError::from)?,
                wrapped: row.try_get(1).map_err(StoreError::from)?,
            };
            return Ok((key, false));
        }
        let shredded: Option<i64> = sqlx::query_scalar(
            "SELECT shredded_us FROM shredded_subjects WHERE region = $1 AND subject_ref = $2",
        )
        .bind(region)
        .bind(subject)
        .fetch_optional(&mut *tx)
        .await
        .map_err(StoreError::from)?;
        if shredded.is_some() {
            return Err(StoreError::Shredded {
                region: region.into(),
                subject: subject.into(),
            }
            .into());
        }
        let version = current_key_version(&mut *tx, region).await?;
        let wrapped = wrap(version)?;
        sqlx::query("INSERT INTO subject_keys (region, subject_ref, key_version, wrapped, created_us) VALUES ($1, $2, $3, $4, $5)")
            .bind(region)
            .bind(subject)
            .bind(version)
            .bind(wrapped.clone())
            .bind(now_us())
            .execute(&mut *tx)
            .await
            .map_err(StoreError::from)?;
        Ok((
            SubjectKey {
                key_version: version,
                wrapped,
            },
            true,
        ))
    }

    /// Destroys a subject's key and records the shred. Returns false when there was no key
    /// (already shredded, or never created); the tombstone is written either way.
    pub async fn shred_subject_key(
        &mut self,
        region: &str,
        subject: &str,
    ) -> Result<bool, StoreError> {
        let tx = &mut *self.tx;
        let deleted =
            sqlx::query("DELETE FROM subject_keys WHERE region = $1 AND subject_ref = $2")
                .bind(region)
                .bind(subject)
                .execute(&mut *tx)
                .await?
                .rows_affected();
        sqlx::query(
            "INSERT INTO shredded_subjects (region, subject_ref, shredded_us) VALUES ($1, $2, $3) \
             ON CONFLICT (region, subject_ref) DO NOTHING",
        )
        .bind(region)
        .bind(subject)
        .bind(now_us())
        .execute(&mut *tx)
        .await?;
        Ok(deleted > 0)
    }

    /// Adds a new key version to a region and re-wraps every subject key of the region
    /// with `rewrap(subject_ref, old_version, wrapped, new_version)`, all in one
    /// transaction: either every key moves to the new version or none does.
    pub async fn rotate_region<F, E>(
        &mut self,
        region: &str,
        mut rewrap: F,
    ) -> Result<(i64, u64), E>
    where
        F: FnMut(&str, i64, &[u8], i64) -> Result<Vec<u8>, E>,
        E: From<StoreError>,
    {
        let tx = &mut *self.tx;
        let current = current_key_version(&mut *tx, region).await?;
        let next = current + 1;
        sqlx::query(
            "INSERT INTO region_key_versions (region, version, created_us) VALUES ($1, $2, $3)",
        )
        .bind(region)
        .bind(next)
        .bind(now_us())
        .execute(&mut *tx)
        .await
        .map_err(StoreError::from)?;
        let rows = sqlx::query("SELECT subject_ref, key_version, wrapped FROM subject_keys WHERE region = $1 ORDER BY subject_ref")
            .bind(region)
            .fetch_all(&mut *tx)
            .await
            .map_err(StoreError::from)?;
        let mut n = 0u64;
        for row in rows {
            let subject: String = row.try_get(0).map_err(StoreError::from)?;
            let version: i64 = row.try_get(1).map_err(StoreError::from)?;
            let wrapped: Vec<u8> = row.try_get(2).map_err(StoreError::from)?;
            let rewrapped = rewrap(&subject, version, &wrapped, next)?;
            sqlx::query("UPDATE subject_keys SET key_version = $1, wrapped = $2 WHERE region = $3 AND subject_ref = $4")
                .bind(next)
                .bind(rewrapped)
                .bind(region)
                .bind(subject)
                .execute(&mut *tx)
                .await
                .map_err(StoreError::from)?;
            n += 1;
        }
        Ok((next, n))
    }
}
