//! Test support shared by Custodia's test suites (a dev-dependency only).
//!
//! Tests run against real servers that `scripts/services` starts and announces through
//! `CUSTODIA_TEST_POSTGRES_URL`. Each test gets its own fresh database on that server, so
//! tests running in parallel never see each other's rows. Under `CI=true` a missing URL is
//! a failure: a suite that silently skipped its PostgreSQL half would prove nothing.
#![deny(missing_docs)]

use std::sync::atomic::{AtomicU32, Ordering};

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// The variable `scripts/services` sets for PostgreSQL.
pub const POSTGRES_URL_ENV: &str = "CUSTODIA_TEST_POSTGRES_URL";

/// A new, empty PostgreSQL database named `{prefix}_{pid}_{n}` and its URL, or `None` when
/// no server is configured outside CI.
///
/// # Panics
/// When `CI=true` and no URL is set, or when the server refuses the database: tests want
/// the failure, not an error to unwrap.
pub async fn fresh_postgres(prefix: &str) -> Option<String> {
    fresh_database(POSTGRES_URL_ENV, "PostgreSQL", prefix).await
}

/// The variable `scripts/services` sets for MariaDB (MySQL protocol).
pub const MYSQL_URL_ENV: &str = "CUSTODIA_TEST_MYSQL_URL";

/// A new, empty MariaDB/MySQL database named `{prefix}_{pid}_{n}` and its URL, or `None`
/// when no server is configured outside CI.
///
/// # Panics
/// When `CI=true` and no URL is set, or when the server refuses the database.
pub async fn fresh_mysql(prefix: &str) -> Option<String> {
    fresh_database(MYSQL_URL_ENV, "MySQL", prefix).await
}

/// A fresh database on the server whose URL is in `env` (both dialects take the same SQL).
async fn fresh_database(env: &str, server: &str, prefix: &str) -> Option<String> {
    let Ok(base) = std::env::var(env) else {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "CI=true but {env} is not set: run the tests through scripts/test"
        );
        eprintln!("note: {env} not set; {server} half skipped");
        return None;
    };
    let name = format!(
        "{prefix}_{}_{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::SeqCst)
    );
    sqlx::any::install_default_drivers();
    let mut admin = <sqlx::AnyConnection as sqlx::Connection>::connect(&base)
        .await
        .unwrap_or_else(|e| panic!("{env}: {e}"));
    // A pid can repeat across runs; a leftover database of that name is stale.
    for sql in [
        format!("DROP DATABASE IF EXISTS {name}"),
        format!("CREATE DATABASE {name}"),
    ] {
        sqlx::Executor::execute(&mut admin, sql.as_str())
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
    }
    let (prefix, _) = base.rsplit_once('/').expect("the URL names a database");
    Some(format!("{prefix}/{name}"))
}
