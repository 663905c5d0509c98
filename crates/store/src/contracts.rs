//! Registered contracts: every change is a new version; re-applying an unchanged contract is
//! a no-op.

use sqlx::Row;

use crate::{now_us, Store, StoreError};

/// A registered contract version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContractRecord {
    /// Dataset / contract name.
    pub name: String,
    /// Version, from 1.
    pub version: i64,
    /// SHA-256 of the body, hex.
    pub content_hash: String,
    /// The contract as applied (YAML).
    pub body: String,
    /// When it was registered (µs).
    pub registered_us: i64,
}

/// What `register_contract` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Registered {
    /// First version.
    New(i64),
    /// A changed contract: a new version.
    Changed(i64),
    /// Same content as the latest version: nothing written.
    Unchanged(i64),
}

impl Store {
    /// Registers a contract body under `name`, as a new version when it changed.
    pub async fn register_contract(
        &self,
        name: &str,
        content_hash: &str,
        body: &str,
    ) -> Result<Registered, StoreError> {
        let mut w = self.begin_write().await?;
        let out = w.register_contract(name, content_hash, body).await?;
        w.commit().await?;
        Ok(out)
    }

    /// The latest version of every contract, by name.
    pub async fn contracts(&self) -> Result<Vec<ContractRecord>, StoreError> {
        let rows = sqlx::query(
            "SELECT c.name, c.version, c.content_hash, c.body, c.registered_us FROM contracts c \
             WHERE c.version = (SELECT MAX(version) FROM contracts d WHERE d.name = c.name) ORDER BY c.name",
        )
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(record).collect()
    }

    /// Every version of one contract, oldest first.
    pub async fn contract_versions(&self, name: &str) -> Result<Vec<ContractRecord>, StoreError> {
        let rows = sqlx::query("SELECT name, version, content_hash, body, registered_us FROM contracts WHERE name = $1 ORDER BY version")
            .bind(name)
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(record).collect()
    }
}

fn record(row: &sqlx::any::AnyRow) -> Result<ContractRecord, StoreError> {
    Ok(ContractRecord {
        name: row.try_get(0)?,
        version: row.try_get(1)?,
        content_hash: row.try_get(2)?,
        body: row.try_get(3)?,
        registered_us: row.try_get(4)?,
    })
}

impl crate::WriteTx {
    /// Registers a contract body under `name`, as a new version when it changed.
    pub async fn register_contract(
        &mut self,
        name: &str,
        content_hash: &str,
        body: &str,
    ) -> Result<Registered, StoreError> {
        let tx = &mut *self.tx;
        let latest = sqlx::query("SELECT version, content_hash FROM contracts WHERE name = $1 ORDER BY version DESC LIMIT 1")
            .bind(name)
            .fetch_optional(&mut *tx)
            .await?;
        let (version, outcome) = match latest {
            Some(row) => {
                let v: i64 = row.try_get(0)?;
                let h: String = row.try_get(1)?;
                if h == content_hash {
                    return Ok(Registered::Unchanged(v));
                }
                (v + 1, Registered::Changed(v + 1))
            }
            None => (1, Registered::New(1)),
        };
        sqlx::query("INSERT INTO contracts (name, version, content_hash, body, registered_us) VALUES ($1, $2, $3, $4, $5)")
            .bind(name)
            .bind(version)
            .bind(content_hash)
            .bind(body)
            .bind(now_us())
            .execute(&mut *tx)
            .await?;
        Ok(outcome)
    }
}
