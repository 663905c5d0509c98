//! Custodia's metadata store: regions and key versions, wrapped subject keys, the audit log's
//! rows, contracts, the consent ledger, datasets and versions, runs and the job journal,
//! data subject requests.
//!
//! One [`Store`] type runs on SQLite (embedded default, `sqlite://.custodia/custodia.db`) and
//! on PostgreSQL (`postgres://…`) through sqlx's `Any` driver, so both backends execute the
//! *same* SQL text and pass the same test suite. Schema changes are versioned migrations
//! (`migrations/sqlite`, `migrations/postgres`), applied on open.
//!
//! **Architecture Invariant:** the store never sees raw personal data or key material in the
//! clear: subjects are `SubjectRef`s, subject keys arrive wrapped, audit bodies are already
//! value-free. It knows no Merkle maths either: the audit crate decides what a row holds, the
//! store makes the append atomic.
//!
//! Writes that read-then-write (audit appends, version numbers, key creation) run in one
//! serialised transaction: `BEGIN IMMEDIATE` on SQLite (with WAL and a busy timeout, so a
//! second process waits instead of failing), a transaction-scoped advisory lock on PostgreSQL.
//! Two `custodia` processes on one workspace therefore never interleave inside such a write.
#![deny(missing_docs)]

mod audit;
mod consent;
mod contracts;
mod datasets;
mod decisions;
mod dsar;
mod error;
mod keys;
mod models;

use std::{str::FromStr, time::Duration};

use sqlx::{
    any::{AnyConnectOptions, AnyPoolOptions},
    AnyPool, ConnectOptions, Executor,
};

pub use audit::{AuditRow, AuditTip, StoredCheckpoint};
pub use consent::{ConsentEvent, ConsentState, SubjectConsent};
pub use contracts::{ContractRecord, Registered};
pub use datasets::{DatasetRevision, DatasetVersion, JournalStep, Revised, Run};
pub use decisions::{DecisionRecord, NewDecision};
pub use dsar::{DsarRecord, DsarUpdate};
pub use error::StoreError;
pub use keys::{SubjectKey, SubjectKeyLookup};
pub use models::{ColumnEdge, ModelVersion};

/// Which database a store URL names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// `sqlite://path` — one file, embedded, the default.
    Sqlite,
    /// `postgres://…` (or `postgresql://…`) — for teams.
    Postgres,
}

impl Backend {
    /// The backend a URL names, or an error that says which schemes are supported.
    pub fn of_url(url: &str) -> Result<Backend, StoreError> {
        if url.starts_with("sqlite:") {
            Ok(Backend::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Backend::Postgres)
        } else {
            let scheme = url.split(':').next().unwrap_or("");
            Err(StoreError::Url(format!(
                "unsupported store scheme `{scheme}:`; use `sqlite://.custodia/custodia.db` or \
                 `postgres://user@host/db`"
            )))
        }
    }
}

/// The advisory-lock key that serialises Custodia's read-then-write transactions on
/// PostgreSQL ("CUSTODIA" in ASCII, as an integer).
const PG_WRITE_LOCK: i64 = 0x4355_5354_4f44_4941;

/// A connection pool to one workspace's metadata store.
#[derive(Clone)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
}

/// An open, serialised write transaction. Dropped without [`WriteTx::commit`], it rolls
/// back: nothing it did is visible.
pub struct WriteTx {
    tx: sqlx::Transaction<'static, sqlx::Any>,
}

impl WriteTx {
    /// Makes every change of the transaction durable at once.
    pub async fn commit(self) -> Result<(), StoreError> {
        Ok(self.tx.commit().await?)
    }
}

/// Microseconds since the Unix epoch: the store's one time representation (sortable,
/// exact, the same on both backends).
pub fn now_us() -> i64 {
    let d = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    i64::try_from(d.as_micros()).unwrap_or(i64::MAX)
}

impl Store {
    /// Opens (creating a SQLite file if needed) and migrates the store at `url`.
    pub async fn open(url: &str) -> Result<Store, StoreError> {
        sqlx::any::install_default_drivers();
        let backend = Backend::of_url(url)?;
        let url = match backend {
            // Create the file on first use.
            Backend::Sqlite if !url.contains("mode=") => {
                let sep = if url.contains('?') { '&' } else { '?' };
                format!("{url}{sep}mode=rwc")
            }
            _ => url.to_string(),
        };
        let options = AnyConnectOptions::from_str(&url)
            .map_err(|e| StoreError::Url(redact_url(&e.to_string())))?
            .disable_statement_logging();
        let pool = AnyPoolOptions::new()
            .max_connections(match backend {
                Backend::Sqlite => 4,
                Backend::Postgres => 8,
            })
            .acquire_timeout(Duration::from_secs(60))
            .after_connect(move |conn, _| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        // WAL lets readers run beside one writer; FULL makes a commit durable
                        // before it returns; the timeout makes a second writer wait.
                        conn.execute("PRAGMA journal_mode = WAL").await?;
                        conn.execute("PRAGMA synchronous = FULL").await?;
                        conn.execute("PRAGMA busy_timeout = 60000").await?;
                        conn.execute("PRAGMA foreign_keys = ON").await?;
                        // Deleted rows (shredded keys) are overwritten, not left in free pages.
                        conn.execute("PRAGMA secure_delete = ON").await?;
                    }
                    Ok(())
                })
            })
            .connect_with(options)
            .await
            .map_err(|e| StoreError::Connect(redact_url(&e.to_string())))?;
        let store = Store { pool, backend };
        store.migrate().await?;
        Ok(store)
    }

    async fn migrate(&self) -> Result<(), StoreError> {
        let migrator = match self.backend {
            Backend::Sqlite => sqlx::migrate!("./migrations/sqlite"),
            Backend::Postgres => sqlx::migrate!("./migrations/postgres"),
        };
        // Two processes opening a fresh PostgreSQL store at once: the migrator takes its own
        // advisory lock. SQLite serialises on the file.
        migrator
            .run(&self.pool)
            .await
            .map_err(|e| StoreError::Migrate(e.to_string()))
    }

    /// Which database this store runs on.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Begins a serialised write transaction: several changes (a consent event and its audit
    /// entry, a shred and its entry) commit together or not at all.
    pub async fn begin_write(&self) -> Result<WriteTx, StoreError> {
        Ok(WriteTx {
            tx: self.write_tx().await?,
        })
    }

    /// Begins a serialised read-then-write transaction (see the crate docs).
    pub(crate) async fn write_tx(
        &self,
    ) -> Result<sqlx::Transaction<'static, sqlx::Any>, StoreError> {
        match self.backend {
            Backend::Sqlite => Ok(self.pool.begin_with("BEGIN IMMEDIATE").await?),
            Backend::Postgres => {
                let mut tx = self.pool.begin().await?;
                sqlx::query("SELECT pg_advisory_xact_lock($1)")
                    .bind(PG_WRITE_LOCK)
                    .execute(&mut *tx)
                    .await?;
                Ok(tx)
            }
        }
    }

    pub(crate) fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// Closes the pool, waiting for connections to finish.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// Connection errors can echo the URL, password included: keep the scheme and host only.
fn redact_url(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    for word in message.split_inclusive(char::is_whitespace) {
        match word.find("://").zip(word.find('@')) {
            Some((scheme, at)) if at > scheme => {
                out.push_str(&word[..scheme + 3]);
                out.push_str("***");
                out.push_str(&word[at..]);
            }
            _ => out.push_str(word),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_name_their_backend() {
        assert_eq!(
            Backend::of_url("sqlite://.custodia/custodia.db").unwrap(),
            Backend::Sqlite
        );
        assert_eq!(
            Backend::of_url("postgres://u@h/db").unwrap(),
            Backend::Postgres
        );
        let e = Backend::of_url("mysql://u@h/db").unwrap_err().to_string();
        assert!(e.contains("`mysql:`") && e.contains("sqlite://"), "{e}");
    }

    #[test]
    fn passwords_in_urls_are_not_repeated() {
        let m = redact_url("error connecting to postgres://alice:s3cret@db.internal/x: refused");
        assert!(
            !m.contains("s3cret") && m.contains("postgres://***@db.internal"),
            "{m}"
        );
    }
}
