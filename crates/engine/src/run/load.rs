//! Databases as sources and targets: `ingest` from a SQLite, PostgreSQL or MySQL/MariaDB
//! table, and `load` into the workspace warehouse (SQLite) or a PostgreSQL or MySQL table.
//!
//! Loads are idempotent per run: a marker row `(run, step)` in `_custodia_loads` says the
//! step's rows are in, and a rerun of the same run that finds it adds nothing.
//! - SQLite and PostgreSQL: the table's (re)creation, the rows and the marker commit in
//!   one transaction (their DDL is transactional).
//! - MySQL/MariaDB: DDL commits on its own, so `replace` fills a staging table and swaps
//!   it in with one atomic `RENAME TABLE`, then writes the marker; a crash in between
//!   redoes the same replacement. `append` inserts rows and marker in one transaction.
//!
//! One generic implementation serves the three drivers; only the SQL dialect differs.

use std::{path::Path, str::FromStr, sync::Arc};

use arrow::{
    array::{
        Array, ArrayRef, AsArray, BooleanBuilder, Float64Builder, Int64Builder, RecordBatch,
        StringBuilder,
    },
    compute::cast,
    datatypes::{DataType, Field, Float64Type, Int64Type, Schema, SchemaRef, TimeUnit},
};
use custodia_core::pipeline::LoadMode;
use sqlx::{
    mysql::MySqlConnectOptions, postgres::PgConnectOptions, sqlite::SqliteConnectOptions,
    ColumnIndex, Connection, Database, Decode, Encode, Executor, IntoArguments, Row, Type,
};

use crate::EngineError;

/// Rows per batch read from a database table.
const BATCH: usize = 8_192;

/// The three SQL dialects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Dialect {
    Sqlite,
    Postgres,
    MySql,
}

/// What a column is on the wire between Arrow and a database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Col {
    Int,
    Real,
    Bool,
    Text,
    Date,
    Timestamp,
}

impl Dialect {
    fn quote(self, name: &str) -> String {
        match self {
            Dialect::MySql => format!("`{}`", name.replace('`', "``")),
            _ => format!("\"{}\"", name.replace('"', "\"\"")),
        }
    }

    /// A possibly schema-qualified table name, quoted part by part.
    fn table(self, name: &str) -> String {
        name.split('.')
            .map(|p| self.quote(p))
            .collect::<Vec<_>>()
            .join(".")
    }

    fn sql_type(self, c: Col) -> &'static str {
        match (self, c) {
            (Dialect::Sqlite, Col::Int | Col::Bool) => "INTEGER",
            (Dialect::Sqlite, Col::Real) => "REAL",
            (Dialect::Sqlite, _) => "TEXT",
            (_, Col::Int) => "BIGINT",
            (Dialect::MySql, Col::Real) => "DOUBLE",
            (_, Col::Real) => "DOUBLE PRECISION",
            (_, Col::Bool) => "BOOLEAN",
            (_, Col::Text) => "TEXT",
            (_, Col::Date) => "DATE",
            (Dialect::MySql, Col::Timestamp) => "DATETIME(6)",
            (_, Col::Timestamp) => "TIMESTAMP",
        }
    }

    /// The cast that makes a source column decode as `c`.
    fn read_expr(self, column: &str, c: Col) -> String {
        let q = self.quote(column);
        match (self, c) {
            (Dialect::Sqlite, Col::Int) => format!("CAST({q} AS INTEGER)"),
            (Dialect::Sqlite, Col::Real) => format!("CAST({q} AS REAL)"),
            (Dialect::Sqlite, _) => format!("CAST({q} AS TEXT)"),
            (Dialect::MySql, Col::Int) => format!("CAST({q} AS SIGNED)"),
            (Dialect::MySql, Col::Real) => format!("CAST({q} AS DOUBLE)"),
            (Dialect::MySql, _) => format!("CAST({q} AS CHAR)"),
            (Dialect::Postgres, Col::Int) => format!("CAST({q} AS BIGINT)"),
            (Dialect::Postgres, Col::Real) => format!("CAST({q} AS DOUBLE PRECISION)"),
            (Dialect::Postgres, Col::Bool) => q,
            (Dialect::Postgres, _) => format!("CAST({q} AS TEXT)"),
        }
    }

    fn placeholder(self, n: usize) -> String {
        match self {
            Dialect::Postgres => format!("${n}"),
            _ => "?".to_string(),
        }
    }

    fn marker_ddl(self) -> &'static str {
        match self {
            Dialect::MySql => "CREATE TABLE IF NOT EXISTS _custodia_loads (run_id VARCHAR(200) NOT NULL, step VARCHAR(200) NOT NULL, table_name VARCHAR(200) NOT NULL, `rows` BIGINT NOT NULL, loaded_us BIGINT NOT NULL, PRIMARY KEY (run_id, step))",
            _ => "CREATE TABLE IF NOT EXISTS _custodia_loads (run_id TEXT NOT NULL, step TEXT NOT NULL, table_name TEXT NOT NULL, rows BIGINT NOT NULL, loaded_us BIGINT NOT NULL, PRIMARY KEY (run_id, step))",
        }
    }

    fn marker_cols(self) -> &'static str {
        match self {
            Dialect::MySql => "run_id, step, table_name, `rows`, loaded_us",
            _ => "run_id, step, table_name, rows, loaded_us",
        }
    }

    /// A source column's declared type, by name, as a wire kind.
    fn col_of_sql(self, declared: &str) -> Col {
        let t = declared.to_ascii_lowercase();
        if self == Dialect::Postgres && t == "boolean" {
            Col::Bool
        } else if t.contains("timestamp") || t.contains("datetime") {
            Col::Timestamp
        } else if t == "date" {
            Col::Date
        } else if t.contains("int") || t.contains("serial") {
            Col::Int
        } else if ["real", "double", "float", "numeric", "decimal"]
            .iter()
            .any(|k| t.contains(k))
        {
            Col::Real
        } else {
            Col::Text
        }
    }
}

fn col_of(t: &DataType) -> Col {
    match t {
        DataType::Boolean => Col::Bool,
        t if t.is_integer() => Col::Int,
        t if t.is_floating() => Col::Real,
        DataType::Decimal128(_, _) | DataType::Decimal256(_, _) => Col::Real,
        DataType::Date32 | DataType::Date64 => Col::Date,
        DataType::Timestamp(_, _) => Col::Timestamp,
        _ => Col::Text,
    }
}

fn arrow_of(c: Col) -> DataType {
    match c {
        Col::Int => DataType::Int64,
        Col::Real => DataType::Float64,
        Col::Bool => DataType::Boolean,
        _ => DataType::Utf8,
    }
}

/// A URL as shown in errors: scheme, host and database, never credentials.
pub(crate) fn shown(url: &str) -> String {
    match url.split_once("://") {
        Some((scheme, rest)) => {
            let rest = rest.rsplit_once('@').map(|(_, h)| h).unwrap_or(rest);
            format!("{scheme}://{}", rest.split('?').next().unwrap_or(rest))
        }
        None => url.to_string(),
    }
}

fn db_err(url: &str, e: impl std::fmt::Display) -> EngineError {
    EngineError::Database {
        url: shown(url),
        message: e.to_string(),
    }
}

/// A connection to one of the three databases.
enum Conn {
    Sqlite(sqlx::SqliteConnection),
    Postgres(sqlx::PgConnection),
    MySql(sqlx::MySqlConnection),
}

/// Connects to `url`. Passwords come from the environment (`PGPASSWORD`, `MYSQL_PWD`),
/// never from pipeline files; a relative SQLite path is relative to the workspace.
async fn connect(root: &Path, url: &str, create: bool) -> Result<Conn, EngineError> {
    let (scheme, rest) = url
        .split_once("://")
        .ok_or_else(|| db_err(url, "not a database URL"))?;
    Ok(match scheme {
        "sqlite" => {
            let file = rest.split('?').next().unwrap_or(rest);
            let path = root.join(file);
            if create {
                if let Some(dir) = path.parent() {
                    std::fs::create_dir_all(dir).map_err(|e| EngineError::io(dir, e))?;
                }
            }
            let options = SqliteConnectOptions::new()
                .filename(&path)
                .create_if_missing(create)
                .read_only(!create)
                .journal_mode(sqlx::sqlite::SqliteJournalMode::Wal)
                .synchronous(sqlx::sqlite::SqliteSynchronous::Full);
            Conn::Sqlite(
                sqlx::SqliteConnection::connect_with(&options)
                    .await
                    .map_err(|e| db_err(url, e))?,
            )
        }
        "postgres" | "postgresql" => {
            let options = PgConnectOptions::from_str(url).map_err(|e| db_err(url, e))?;
            Conn::Postgres(
                sqlx::PgConnection::connect_with(&options)
                    .await
                    .map_err(|e| db_err(url, e))?,
            )
        }
        "mysql" => {
            let mut options = MySqlConnectOptions::from_str(url).map_err(|e| db_err(url, e))?;
            if let Ok(p) = std::env::var("MYSQL_PWD") {
                options = options.password(&p);
            }
            Conn::MySql(
                sqlx::MySqlConnection::connect_with(&options)
                    .await
                    .map_err(|e| db_err(url, e))?,
            )
        }
        other => return Err(db_err(url, format!("scheme `{other}` is not supported"))),
    })
}

/// Reads a whole table as Arrow batches: integers, floats and (PostgreSQL) booleans keep
/// their type, everything else (dates, times, decimals' text, JSON…) arrives as text.
pub(crate) async fn read_table(
    root: &Path,
    url: &str,
    table: &str,
) -> Result<(SchemaRef, Vec<RecordBatch>), EngineError> {
    check_table_name(url, table)?;
    match connect(root, url, false).await? {
        Conn::Sqlite(mut c) => read_with::<sqlx::Sqlite>(&mut c, Dialect::Sqlite, url, table).await,
        Conn::Postgres(mut c) => {
            read_with::<sqlx::Postgres>(&mut c, Dialect::Postgres, url, table).await
        }
        Conn::MySql(mut c) => read_with::<sqlx::MySql>(&mut c, Dialect::MySql, url, table).await,
    }
}

fn check_table_name(url: &str, table: &str) -> Result<(), EngineError> {
    let ok = !table.is_empty()
        && table
            .split('.')
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'));
    if ok {
        Ok(())
    } else {
        Err(db_err(
            url,
            format!(
                "{table:?} is not a table name; use letters, digits and _ (schema.table allowed)"
            ),
        ))
    }
}

async fn read_with<DB>(
    conn: &mut DB::Connection,
    dialect: Dialect,
    url: &str,
    table: &str,
) -> Result<(SchemaRef, Vec<RecordBatch>), EngineError>
where
    DB: Database,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'q> DB::Arguments<'q>: IntoArguments<'q, DB>,
    for<'r> Option<i64>: Decode<'r, DB> + Type<DB>,
    for<'r> Option<f64>: Decode<'r, DB> + Type<DB>,
    for<'r> Option<bool>: Decode<'r, DB> + Type<DB>,
    for<'r> Option<String>: Decode<'r, DB> + Type<DB>,
    for<'r> String: Decode<'r, DB> + Type<DB>,
    for<'q> String: Encode<'q, DB>,
    usize: ColumnIndex<DB::Row>,
{
    let (schema_name, bare) = match table.split_once('.') {
        Some((s, t)) => (Some(s), t),
        None => (None, table),
    };
    let meta_sql = match dialect {
        Dialect::Sqlite => "SELECT name, type FROM pragma_table_info(?1)".to_string(),
        Dialect::Postgres => format!(
            "SELECT column_name::text, data_type::text FROM information_schema.columns WHERE table_name = $1 AND table_schema = {} ORDER BY ordinal_position",
            if schema_name.is_some() { "$2" } else { "current_schema()" }
        ),
        Dialect::MySql => format!(
            "SELECT CAST(column_name AS CHAR), CAST(data_type AS CHAR) FROM information_schema.columns WHERE table_name = ? AND table_schema = {} ORDER BY ordinal_position",
            if schema_name.is_some() { "?" } else { "DATABASE()" }
        ),
    };
    let mut q = sqlx::query(&meta_sql).bind(bare.to_string());
    if let Some(s) = schema_name {
        q = q.bind(s.to_string());
    }
    let meta = q.fetch_all(&mut *conn).await.map_err(|e| db_err(url, e))?;
    if meta.is_empty() {
        return Err(db_err(
            url,
            format!("table {table:?} does not exist (or has no columns this user can see)"),
        ));
    }
    let mut columns = Vec::new();
    for row in &meta {
        let name: String = row.try_get(0).map_err(|e| db_err(url, e))?;
        let declared: Option<String> = row.try_get(1).map_err(|e| db_err(url, e))?;
        columns.push((name, dialect.col_of_sql(declared.as_deref().unwrap_or(""))));
    }
    let schema: SchemaRef = Arc::new(Schema::new(
        columns
            .iter()
            .map(|(n, c)| Field::new(n, arrow_of(*c), true))
            .collect::<Vec<_>>(),
    ));
    let select = format!(
        "SELECT {} FROM {}",
        columns
            .iter()
            .map(|(n, c)| dialect.read_expr(n, *c))
            .collect::<Vec<_>>()
            .join(", "),
        dialect.table(table)
    );
    let mut batches = Vec::new();
    let mut rows = sqlx::query(&select).fetch(&mut *conn);
    let mut builders = Builders::new(&columns);
    use futures::TryStreamExt;
    while let Some(row) = rows.try_next().await.map_err(|e| db_err(url, e))? {
        for (i, (_, c)) in columns.iter().enumerate() {
            let e = |e: sqlx::Error| db_err(url, format!("column {:?}: {e}", columns[i].0));
            match (c, &mut builders.0[i]) {
                (Col::Int, B::Int(b)) => {
                    b.append_option(row.try_get::<Option<i64>, _>(i).map_err(e)?)
                }
                (Col::Real, B::Real(b)) => {
                    b.append_option(row.try_get::<Option<f64>, _>(i).map_err(e)?)
                }
                (Col::Bool, B::Bool(b)) => {
                    b.append_option(row.try_get::<Option<bool>, _>(i).map_err(e)?)
                }
                (_, B::Text(b)) => b.append_option(row.try_get::<Option<String>, _>(i).map_err(e)?),
                _ => unreachable!("builders follow the columns"),
            }
        }
        builders.1 += 1;
        if builders.1 == BATCH {
            batches.push(builders.finish(&schema).map_err(|e| db_err(url, e))?);
        }
    }
    if builders.1 > 0 {
        batches.push(builders.finish(&schema).map_err(|e| db_err(url, e))?);
    }
    // Dates and timestamps travel as text; they become Arrow dates and timestamps when
    // every value parses (a zone-qualified text stays text rather than lose its zone).
    let mut fields: Vec<Field> = schema.fields().iter().map(|f| f.as_ref().clone()).collect();
    for (i, (_, c)) in columns.iter().enumerate() {
        let to = match c {
            Col::Date => DataType::Date32,
            Col::Timestamp => DataType::Timestamp(TimeUnit::Microsecond, None),
            _ => continue,
        };
        let strict = arrow::compute::CastOptions {
            safe: false,
            ..Default::default()
        };
        let cast_all: Result<Vec<ArrayRef>, _> = batches
            .iter()
            .map(|b| arrow::compute::cast_with_options(b.column(i), &to, &strict))
            .collect();
        if let Ok(arrays) = cast_all {
            fields[i] = Field::new(fields[i].name(), to, true);
            let schema = Arc::new(Schema::new(fields.clone()));
            for (b, a) in batches.iter_mut().zip(arrays) {
                let mut cols = b.columns().to_vec();
                cols[i] = a;
                *b = RecordBatch::try_new(schema.clone(), cols).map_err(|e| db_err(url, e))?;
            }
        }
    }
    let schema = Arc::new(Schema::new(fields));
    let batches = batches
        .into_iter()
        .map(|b| b.with_schema(schema.clone()))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| db_err(url, e))?;
    Ok((schema, batches))
}

enum B {
    Int(Int64Builder),
    Real(Float64Builder),
    Bool(BooleanBuilder),
    Text(StringBuilder),
}

struct Builders(Vec<B>, usize);

impl Builders {
    fn new(columns: &[(String, Col)]) -> Builders {
        Builders(
            columns
                .iter()
                .map(|(_, c)| match c {
                    Col::Int => B::Int(Int64Builder::new()),
                    Col::Real => B::Real(Float64Builder::new()),
                    Col::Bool => B::Bool(BooleanBuilder::new()),
                    _ => B::Text(StringBuilder::new()),
                })
                .collect(),
            0,
        )
    }

    fn finish(&mut self, schema: &SchemaRef) -> Result<RecordBatch, arrow::error::ArrowError> {
        let arrays: Vec<ArrayRef> = self
            .0
            .iter_mut()
            .map(|b| -> ArrayRef {
                match b {
                    B::Int(b) => Arc::new(b.finish()),
                    B::Real(b) => Arc::new(b.finish()),
                    B::Bool(b) => Arc::new(b.finish()),
                    B::Text(b) => Arc::new(b.finish()),
                }
            })
            .collect();
        self.1 = 0;
        RecordBatch::try_new(schema.clone(), arrays)
    }
}

/// Where a load goes.
pub(crate) struct LoadSpec<'a> {
    /// Workspace root (relative SQLite paths).
    pub root: &'a Path,
    /// Database URL (`sqlite://.custodia/warehouse.db` for the warehouse).
    pub url: &'a str,
    /// Table.
    pub table: &'a str,
    /// Replace or append.
    pub mode: LoadMode,
    /// The run and step, for the idempotence marker.
    pub run_id: &'a str,
    /// Step id.
    pub step: &'a str,
}

/// What to do with the rows of a table whose subject matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Matched {
    /// Count them.
    Count,
    /// Delete them (in one transaction) and count what was deleted.
    Delete,
}

/// Finds the rows of `table` whose `column` holds a value `matches` picks (each distinct
/// value is asked once), and counts or deletes them. Values never leave this function.
pub(crate) async fn subject_rows(
    root: &Path,
    url: &str,
    table: &str,
    column: &str,
    matches: &(dyn Fn(&str) -> bool + Sync),
    what: Matched,
) -> Result<u64, EngineError> {
    check_table_name(url, table)?;
    match connect(root, url, what == Matched::Delete).await? {
        Conn::Sqlite(mut c) => {
            rows_with::<sqlx::Sqlite>(&mut c, Dialect::Sqlite, url, table, column, matches, what)
                .await
        }
        Conn::Postgres(mut c) => {
            rows_with::<sqlx::Postgres>(
                &mut c,
                Dialect::Postgres,
                url,
                table,
                column,
                matches,
                what,
            )
            .await
        }
        Conn::MySql(mut c) => {
            rows_with::<sqlx::MySql>(&mut c, Dialect::MySql, url, table, column, matches, what)
                .await
        }
    }
}

async fn rows_with<DB>(
    conn: &mut DB::Connection,
    dialect: Dialect,
    url: &str,
    table: &str,
    column: &str,
    matches: &(dyn Fn(&str) -> bool + Sync),
    what: Matched,
) -> Result<u64, EngineError>
where
    DB: Database,
    DB::Connection: Connection<Database = DB>,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'q> DB::Arguments<'q>: IntoArguments<'q, DB>,
    for<'r> Option<String>: Decode<'r, DB> + Type<DB>,
    for<'r> i64: Decode<'r, DB> + Type<DB>,
    for<'q> String: Encode<'q, DB> + Type<DB>,
    usize: ColumnIndex<DB::Row>,
{
    let e = |e: sqlx::Error| db_err(url, e);
    let key = dialect.read_expr(column, Col::Text);
    let int = if dialect == Dialect::MySql {
        "SIGNED"
    } else {
        "BIGINT"
    };
    let target = dialect.table(table);
    let mut tx = conn.begin().await.map_err(e)?;
    let rows = sqlx::query(&format!(
        "SELECT {key}, CAST(COUNT(*) AS {int}) FROM {target} GROUP BY {key}"
    ))
    .fetch_all(&mut *tx)
    .await
    .map_err(e)?;
    let mut found = 0u64;
    let mut values = Vec::new();
    for r in &rows {
        let value: Option<String> = r.try_get(0).map_err(e)?;
        let n: i64 = r.try_get(1).map_err(e)?;
        if let Some(v) = value.filter(|v| matches(v)) {
            found += n as u64;
            values.push(v);
        }
    }
    if what == Matched::Delete && !values.is_empty() {
        let delete = format!(
            "DELETE FROM {target} WHERE {key} = {}",
            dialect.placeholder(1)
        );
        // In the transaction that counted them: the rows deleted are the rows found.
        for v in values {
            sqlx::query(&delete)
                .bind(v)
                .execute(&mut *tx)
                .await
                .map_err(e)?;
        }
    }
    tx.commit().await.map_err(e)?;
    Ok(found)
}

/// Expires the rows of `table` dated before `cutoff` (`YYYY-MM-DD HH:MM:SS`, compared
/// with the column's text, which orders as time for ISO dates and timestamps) by column
/// `by`: deletes them, or with `anonymize` empties those columns. One transaction; returns
/// the rows expired.
pub(crate) async fn expire_rows(
    root: &Path,
    url: &str,
    table: &str,
    by: &str,
    cutoff: &str,
    anonymize: Option<&Vec<String>>,
) -> Result<u64, EngineError> {
    check_table_name(url, table)?;
    match connect(root, url, true).await? {
        Conn::Sqlite(mut c) => {
            expire_with::<sqlx::Sqlite>(&mut c, Dialect::Sqlite, url, table, by, cutoff, anonymize)
                .await
        }
        Conn::Postgres(mut c) => {
            expire_with::<sqlx::Postgres>(
                &mut c,
                Dialect::Postgres,
                url,
                table,
                by,
                cutoff,
                anonymize,
            )
            .await
        }
        Conn::MySql(mut c) => {
            expire_with::<sqlx::MySql>(&mut c, Dialect::MySql, url, table, by, cutoff, anonymize)
                .await
        }
    }
}

async fn expire_with<DB>(
    conn: &mut DB::Connection,
    dialect: Dialect,
    url: &str,
    table: &str,
    by: &str,
    cutoff: &str,
    anonymize: Option<&Vec<String>>,
) -> Result<u64, EngineError>
where
    DB: Database,
    DB::Connection: Connection<Database = DB>,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'q> DB::Arguments<'q>: IntoArguments<'q, DB>,
    for<'r> i64: Decode<'r, DB> + Type<DB>,
    for<'q> String: Encode<'q, DB> + Type<DB>,
    usize: ColumnIndex<DB::Row>,
{
    let e = |e: sqlx::Error| db_err(url, e);
    let mut when = format!(
        "{} < {}",
        dialect.read_expr(by, Col::Text),
        dialect.placeholder(1)
    );
    // A row already emptied is not expired again.
    if let Some(cols) = anonymize.filter(|c| !c.is_empty()) {
        when.push_str(&format!(
            " AND ({})",
            cols.iter()
                .map(|c| format!("{} IS NOT NULL", dialect.quote(c)))
                .collect::<Vec<_>>()
                .join(" OR ")
        ));
    }
    let int = if dialect == Dialect::MySql {
        "SIGNED"
    } else {
        "BIGINT"
    };
    let target = dialect.table(table);
    let mut tx = conn.begin().await.map_err(e)?;
    let row = sqlx::query(&format!(
        "SELECT CAST(COUNT(*) AS {int}) FROM {target} WHERE {when}"
    ))
    .bind(cutoff.to_string())
    .fetch_one(&mut *tx)
    .await
    .map_err(e)?;
    let n: i64 = row.try_get(0).map_err(e)?;
    if n > 0 {
        let sql = match anonymize {
            None => format!("DELETE FROM {target} WHERE {when}"),
            Some(cols) => format!(
                "UPDATE {target} SET {} WHERE {when}",
                cols.iter()
                    .map(|c| format!("{} = NULL", dialect.quote(c)))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        };
        sqlx::query(&sql)
            .bind(cutoff.to_string())
            .execute(&mut *tx)
            .await
            .map_err(e)?;
    }
    tx.commit().await.map_err(e)?;
    Ok(n as u64)
}

/// Loads `batches`; returns the rows written (0 when this run's step had already loaded
/// them).
pub(crate) async fn load(
    spec: &LoadSpec<'_>,
    schema: &Schema,
    batches: &[RecordBatch],
) -> Result<u64, EngineError> {
    check_table_name(spec.url, spec.table)?;
    match connect(spec.root, spec.url, true).await? {
        Conn::Sqlite(mut c) => {
            load_with::<sqlx::Sqlite>(&mut c, Dialect::Sqlite, spec, schema, batches).await
        }
        Conn::Postgres(mut c) => {
            load_with::<sqlx::Postgres>(&mut c, Dialect::Postgres, spec, schema, batches).await
        }
        Conn::MySql(mut c) => {
            load_with::<sqlx::MySql>(&mut c, Dialect::MySql, spec, schema, batches).await
        }
    }
}

async fn load_with<DB>(
    conn: &mut DB::Connection,
    dialect: Dialect,
    spec: &LoadSpec<'_>,
    schema: &Schema,
    batches: &[RecordBatch],
) -> Result<u64, EngineError>
where
    DB: Database,
    DB::Connection: Connection<Database = DB>,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'q> DB::Arguments<'q>: IntoArguments<'q, DB>,
    for<'r> Option<i64>: Decode<'r, DB> + Type<DB>,
    for<'q> Option<i64>: Encode<'q, DB>,
    for<'q> Option<f64>: Encode<'q, DB> + Type<DB>,
    for<'q> Option<bool>: Encode<'q, DB> + Type<DB>,
    for<'q> Option<String>: Encode<'q, DB> + Type<DB>,
    for<'q> String: Encode<'q, DB> + Type<DB>,
    for<'q> i64: Encode<'q, DB> + Type<DB>,
    usize: ColumnIndex<DB::Row>,
{
    let url = spec.url;
    let e = |e: sqlx::Error| db_err(url, e);
    sqlx::query(dialect.marker_ddl())
        .execute(&mut *conn)
        .await
        .map_err(e)?;
    let marker = format!(
        "SELECT CAST(COUNT(*) AS {}) FROM _custodia_loads WHERE run_id = {} AND step = {}",
        if dialect == Dialect::MySql {
            "SIGNED"
        } else {
            "BIGINT"
        },
        dialect.placeholder(1),
        dialect.placeholder(2)
    );
    let row = sqlx::query(&marker)
        .bind(spec.run_id.to_string())
        .bind(spec.step.to_string())
        .fetch_one(&mut *conn)
        .await
        .map_err(e)?;
    let done: Option<i64> = row.try_get(0).map_err(e)?;
    if done.unwrap_or(0) > 0 {
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
        .map(|(f, c)| format!("{} {}", dialect.quote(f.name()), dialect.sql_type(*c)))
        .collect();
    let target = dialect.table(spec.table);
    // MySQL replaces through a staging table swapped in atomically.
    let staging = format!("{}__custodia_load", spec.table.replace('.', "_"));
    let staging = if dialect == Dialect::MySql && spec.mode == LoadMode::Replace {
        Some(dialect.table(&staging))
    } else {
        None
    };
    let mut tx = conn.begin().await.map_err(e)?;
    let into = match &staging {
        Some(s) => {
            sqlx::query(&format!("DROP TABLE IF EXISTS {s}"))
                .execute(&mut *tx)
                .await
                .map_err(e)?;
            sqlx::query(&format!("CREATE TABLE {s} ({})", defs.join(", ")))
                .execute(&mut *tx)
                .await
                .map_err(e)?;
            s.clone()
        }
        None => {
            if spec.mode == LoadMode::Replace {
                sqlx::query(&format!("DROP TABLE IF EXISTS {target}"))
                    .execute(&mut *tx)
                    .await
                    .map_err(e)?;
            }
            sqlx::query(&format!(
                "CREATE TABLE IF NOT EXISTS {target} ({})",
                defs.join(", ")
            ))
            .execute(&mut *tx)
            .await
            .map_err(e)?;
            target.clone()
        }
    };
    let names: Vec<String> = schema
        .fields()
        .iter()
        .map(|f| dialect.quote(f.name()))
        .collect();
    // Bind parameters per statement stay under every driver's limit (SQLite 32766,
    // PostgreSQL 65535, MySQL 65535).
    let per_insert = (30_000 / cols.len().max(1)).max(1);
    let mut rows = 0u64;
    for b in batches {
        let arrays: Vec<ArrayRef> = b
            .columns()
            .iter()
            .zip(&cols)
            .map(|(a, c)| match c {
                Col::Int => cast(a, &DataType::Int64),
                Col::Real => cast(a, &DataType::Float64),
                Col::Bool => cast(a, &DataType::Boolean),
                Col::Timestamp => cast(a, &DataType::Timestamp(TimeUnit::Microsecond, None))
                    .and_then(|t| cast(&t, &DataType::Utf8)),
                _ => cast(a, &DataType::Utf8),
            })
            .collect::<Result<_, _>>()
            .map_err(|e| db_err(url, e))?;
        let mut start = 0;
        while start < b.num_rows() {
            let end = (start + per_insert).min(b.num_rows());
            let mut sql = format!("INSERT INTO {into} ({}) VALUES ", names.join(", "));
            let mut n = 0;
            for row in start..end {
                sql.push_str(if row == start { "(" } else { ", (" });
                for (j, c) in cols.iter().enumerate() {
                    n += 1;
                    if j > 0 {
                        sql.push_str(", ");
                    }
                    sql.push_str(&dialect.placeholder(n));
                    if dialect == Dialect::Postgres {
                        sql.push_str(match c {
                            Col::Date => "::date",
                            Col::Timestamp => "::timestamp",
                            _ => "",
                        });
                    }
                }
                sql.push(')');
            }
            let mut q = sqlx::query(&sql);
            for i in start..end {
                for (a, c) in arrays.iter().zip(&cols) {
                    q = match c {
                        Col::Int => {
                            let a = a.as_primitive::<Int64Type>();
                            q.bind(a.is_valid(i).then(|| a.value(i)))
                        }
                        Col::Real => {
                            let a = a.as_primitive::<Float64Type>();
                            q.bind(a.is_valid(i).then(|| a.value(i)))
                        }
                        Col::Bool => {
                            let a = a.as_boolean();
                            q.bind(a.is_valid(i).then(|| a.value(i)))
                        }
                        _ => {
                            let a = a.as_string::<i32>();
                            // Arrow writes timestamps as `2024-05-01T10:00:00`; SQL
                            // wants a space.
                            q.bind(a.is_valid(i).then(|| {
                                if *c == Col::Timestamp {
                                    a.value(i).replacen('T', " ", 1)
                                } else {
                                    a.value(i).to_string()
                                }
                            }))
                        }
                    };
                }
            }
            q.execute(&mut *tx).await.map_err(|err| {
                db_err(
                    url,
                    format!(
                        "table {:?}: {err}; if the table's columns changed, load with mode: replace",
                        spec.table
                    ),
                )
            })?;
            rows += (end - start) as u64;
            start = end;
        }
    }
    let write_marker = async |c: &mut DB::Connection| -> Result<(), EngineError> {
        let sql = format!(
            "INSERT INTO _custodia_loads ({}) VALUES ({})",
            dialect.marker_cols(),
            (1..=5)
                .map(|n| dialect.placeholder(n))
                .collect::<Vec<_>>()
                .join(", ")
        );
        sqlx::query(&sql)
            .bind(spec.run_id.to_string())
            .bind(spec.step.to_string())
            .bind(spec.table.to_string())
            .bind(rows as i64)
            .bind(custodia_store::now_us())
            .execute(&mut *c)
            .await
            .map_err(e)?;
        Ok(())
    };
    match &staging {
        None => {
            write_marker(&mut *tx).await?;
            tx.commit().await.map_err(e)?;
        }
        Some(s) => {
            tx.commit().await.map_err(e)?;
            // One atomic swap: readers see the old rows or the new ones, never neither.
            let old = dialect.table(&format!("{}__custodia_old", spec.table.replace('.', "_")));
            sqlx::query(&format!("DROP TABLE IF EXISTS {old}"))
                .execute(&mut *conn)
                .await
                .map_err(e)?;
            sqlx::query(&format!(
                "CREATE TABLE IF NOT EXISTS {target} ({})",
                defs.join(", ")
            ))
            .execute(&mut *conn)
            .await
            .map_err(e)?;
            sqlx::query(&format!("RENAME TABLE {target} TO {old}, {s} TO {target}"))
                .execute(&mut *conn)
                .await
                .map_err(e)?;
            sqlx::query(&format!("DROP TABLE {old}"))
                .execute(&mut *conn)
                .await
                .map_err(e)?;
            write_marker(conn).await?;
        }
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_in_errors_carry_no_credentials() {
        assert_eq!(
            shown("postgres://ann:secret@db.example:5432/app?sslmode=require"),
            "postgres://db.example:5432/app"
        );
        assert_eq!(shown("sqlite://data/app.db"), "sqlite://data/app.db");
    }

    #[test]
    fn table_names_are_checked_before_they_reach_sql() {
        assert!(check_table_name("sqlite://x", "public.orders").is_ok());
        for bad in ["", "orders; DROP TABLE x", "a..b", "o\"rders"] {
            assert!(check_table_name("sqlite://x", bad).is_err(), "{bad}");
        }
    }
}
