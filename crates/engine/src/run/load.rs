//! `load` into the workspace warehouse (SQLite), idempotent per run: the rows and a marker
//! row `(run, step)` in `_custodia_loads` commit in one transaction, so a rerun of the same
//! run finds the marker and adds nothing.

use std::path::Path;

use arrow::{
    array::{Array, AsArray, RecordBatch},
    compute::cast,
    datatypes::{DataType, Float64Type, Int64Type, Schema},
};
use custodia_core::pipeline::LoadMode;
use sqlx::{sqlite::SqliteConnectOptions, Connection, QueryBuilder, Sqlite};

use crate::EngineError;

fn db_err(path: &Path, e: impl std::fmt::Display) -> EngineError {
    EngineError::Database {
        url: format!("sqlite://{}", path.display()),
        message: e.to_string(),
    }
}

/// What a column becomes in SQLite.
#[derive(Clone, Copy)]
enum Col {
    Int,
    Real,
    Text,
}

fn col_of(t: &DataType) -> Col {
    if t.is_integer() || *t == DataType::Boolean {
        Col::Int
    } else if t.is_floating() || matches!(t, DataType::Decimal128(_, _)) {
        Col::Real
    } else {
        Col::Text
    }
}

fn quote(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// Loads `batches` into `table`; returns the rows written (0 when this run's step had
/// already loaded them).
pub(crate) async fn load_warehouse(
    path: &Path,
    table: &str,
    mode: LoadMode,
    run_id: &str,
    step: &str,
    schema: &Schema,
    batches: &[RecordBatch],
) -> Result<u64, EngineError> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| EngineError::io(dir, e))?;
    }
    let options = SqliteConnectOptions::new()
        .filename(path)
        .create_if_missing(true)
        .journal_mode(sqlx::sqlite::SqliteJournalMode::Wal)
        .synchronous(sqlx::sqlite::SqliteSynchronous::Full);
    let mut conn = sqlx::SqliteConnection::connect_with(&options)
        .await
        .map_err(|e| db_err(path, e))?;
    let mut tx = conn.begin().await.map_err(|e| db_err(path, e))?;
    sqlx::query("CREATE TABLE IF NOT EXISTS _custodia_loads (run_id TEXT NOT NULL, step TEXT NOT NULL, table_name TEXT NOT NULL, rows INTEGER NOT NULL, loaded_us INTEGER NOT NULL, PRIMARY KEY (run_id, step))")
        .execute(&mut *tx)
        .await
        .map_err(|e| db_err(path, e))?;
    let done: Option<i64> =
        sqlx::query_scalar("SELECT rows FROM _custodia_loads WHERE run_id = ?1 AND step = ?2")
            .bind(run_id)
            .bind(step)
            .fetch_optional(&mut *tx)
            .await
            .map_err(|e| db_err(path, e))?;
    if done.is_some() {
        return Ok(0);
    }
    let cols: Vec<Col> = schema
        .fields()
        .iter()
        .map(|f| col_of(f.data_type()))
        .collect();
    let defs: Vec<String> = schema
        .fields()
        .iter()
        .zip(&cols)
        .map(|(f, c)| {
            format!(
                "{} {}",
                quote(f.name()),
                match c {
                    Col::Int => "INTEGER",
                    Col::Real => "REAL",
                    Col::Text => "TEXT",
                }
            )
        })
        .collect();
    let t = quote(table);
    if mode == LoadMode::Replace {
        sqlx::query(&format!("DROP TABLE IF EXISTS {t}"))
            .execute(&mut *tx)
            .await
            .map_err(|e| db_err(path, e))?;
    }
    sqlx::query(&format!(
        "CREATE TABLE IF NOT EXISTS {t} ({})",
        defs.join(", ")
    ))
    .execute(&mut *tx)
    .await
    .map_err(|e| db_err(path, e))?;
    let names: Vec<String> = schema.fields().iter().map(|f| quote(f.name())).collect();
    let per_insert = (30_000 / cols.len().max(1)).max(1);
    let mut rows = 0u64;
    for b in batches {
        let arrays: Vec<_> = b
            .columns()
            .iter()
            .zip(&cols)
            .map(|(a, c)| {
                cast(
                    a,
                    match c {
                        Col::Int => &DataType::Int64,
                        Col::Real => &DataType::Float64,
                        Col::Text => &DataType::Utf8,
                    },
                )
            })
            .collect::<Result<_, _>>()
            .map_err(|e| db_err(path, e))?;
        let mut start = 0;
        while start < b.num_rows() {
            let end = (start + per_insert).min(b.num_rows());
            let mut q: QueryBuilder<Sqlite> =
                QueryBuilder::new(format!("INSERT INTO {t} ({}) ", names.join(", ")));
            q.push_values(start..end, |mut r, i| {
                for (a, c) in arrays.iter().zip(&cols) {
                    match c {
                        Col::Int => {
                            let a = a.as_primitive::<Int64Type>();
                            r.push_bind(a.is_valid(i).then(|| a.value(i)));
                        }
                        Col::Real => {
                            let a = a.as_primitive::<Float64Type>();
                            r.push_bind(a.is_valid(i).then(|| a.value(i)));
                        }
                        Col::Text => {
                            let a = a.as_string::<i32>();
                            r.push_bind(a.is_valid(i).then(|| a.value(i).to_string()));
                        }
                    }
                }
            });
            q.build()
                .execute(&mut *tx)
                .await
                .map_err(|e| db_err(path, format!("table {table:?}: {e}; if the table's columns changed, load with mode: replace")))?;
            rows += (end - start) as u64;
            start = end;
        }
    }
    sqlx::query("INSERT INTO _custodia_loads (run_id, step, table_name, rows, loaded_us) VALUES (?1, ?2, ?3, ?4, ?5)")
        .bind(run_id)
        .bind(step)
        .bind(table)
        .bind(rows as i64)
        .bind(custodia_store::now_us())
        .execute(&mut *tx)
        .await
        .map_err(|e| db_err(path, e))?;
    tx.commit().await.map_err(|e| db_err(path, e))?;
    Ok(rows)
}
