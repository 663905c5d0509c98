//! `scan` on real SQLite and Parquet files: per-column entities, classifications, and a
//! report that carries no values.

use std::sync::Arc;

use arrow::array::{ArrayRef, Int64Array, StringArray};
use arrow::record_batch::RecordBatch;
use custodia_core::{Classification, EntityType};
use custodia_detect::{Analyzer, AnalyzerConfig};
use custodia_engine::{scan_paths, ScanOptions};

const EMAILS: &[&str] = &[
    "olivia.brown@example.com",
    "k.schmidt@beispiel.de",
    "m.rossi@esempio.it",
    "j.dupont@exemple.fr",
];
const PHONES: &[&str] = &[
    "+44 20 7946 0958",
    "+49 30 901820",
    "+33 1 42 68 53 00",
    "+1 415-829-1234",
];
const NAMES: &[&str] = &[
    "Olivia Brown",
    "Klaus Schmidt",
    "Marco Rossi",
    "Jean Dupont",
];

fn analyzer() -> Analyzer {
    Analyzer::new(AnalyzerConfig::default()).unwrap()
}

fn make_sqlite(path: &std::path::Path) {
    use sqlx::{sqlite::SqliteConnectOptions, ConnectOptions, Connection};
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let mut conn = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .connect()
            .await
            .unwrap();
        sqlx::query(
            "CREATE TABLE customers (id INTEGER PRIMARY KEY, email TEXT, phone TEXT, \
             full_name TEXT, note TEXT, score REAL)",
        )
        .execute(&mut conn)
        .await
        .unwrap();
        sqlx::query("CREATE TABLE products (sku TEXT, price REAL)")
            .execute(&mut conn)
            .await
            .unwrap();
        for i in 0..40 {
            let k = i % 4;
            sqlx::query(
                "INSERT INTO customers (email, phone, full_name, note, score) \
                 VALUES (?, ?, ?, ?, ?)",
            )
            .bind(EMAILS[k])
            .bind(PHONES[k])
            .bind(NAMES[k])
            .bind(format!(
                "Spoke with {} about the delivery, call back on {}",
                NAMES[k], PHONES[k]
            ))
            .bind(i as f64 / 3.0)
            .execute(&mut conn)
            .await
            .unwrap();
            sqlx::query("INSERT INTO products VALUES (?, ?)")
                .bind(format!("SKU-{i:05}"))
                .bind(9.99 + i as f64)
                .execute(&mut conn)
                .await
                .unwrap();
        }
        conn.close().await.unwrap();
    });
}

#[test]
fn scan_sqlite_reports_every_table_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("shop.db");
    make_sqlite(&db);
    let url = format!("sqlite://{}", db.display());
    let report = scan_paths(&analyzer(), &[url], &ScanOptions::default(), |_| {}).unwrap();
    assert_eq!(report.sources.len(), 2, "both tables are scanned");
    let customers = report
        .sources
        .iter()
        .find(|s| s.source.ends_with("#customers"))
        .expect("customers table");
    assert_eq!(customers.rows, 40);
    let col = |n: &str| {
        customers
            .columns
            .iter()
            .find(|c| c.name == n)
            .unwrap_or_else(|| panic!("column {n}"))
    };
    assert_eq!(col("email").profile.entity, Some(EntityType::EmailAddress));
    assert_eq!(col("phone").profile.entity, Some(EntityType::PhoneNumber));
    assert_eq!(col("full_name").profile.entity, Some(EntityType::Person));
    assert!(col("note").profile.free_text);
    assert!(col("note").profile.entity_counts[&EntityType::PhoneNumber] > 0);
    assert_eq!(col("score").profile.entity, None);
    let products = report
        .sources
        .iter()
        .find(|s| s.source.ends_with("#products"))
        .unwrap();
    assert!(products.columns.iter().all(|c| c.profile.entity.is_none()));
    // The gate names the personal columns and nothing from the product table.
    let flagged = report.at_or_above(Classification::L2);
    assert!(flagged.iter().any(|(_, c, _, _)| *c == "email"));
    assert!(flagged.iter().all(|(s, _, _, _)| !s.ends_with("#products")));
    // No value leaks into the report.
    let debug = format!("{report:?}");
    for v in EMAILS.iter().chain(PHONES).chain(NAMES) {
        assert!(!debug.contains(v), "report carries a value");
    }
}

#[test]
fn scan_sqlite_missing_file_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("nope.db").display());
    let err = scan_paths(&analyzer(), &[url], &ScanOptions::default(), |_| {}).unwrap_err();
    assert!(err.to_string().contains("nope.db"), "{err}");
}

#[test]
fn scan_parquet_classifies_columns_by_value() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("customers.parquet");
    let n = 60;
    let ids: ArrayRef = Arc::new(Int64Array::from_iter_values(0..n));
    let emails: ArrayRef = Arc::new(StringArray::from_iter_values(
        (0..n).map(|i| EMAILS[i as usize % 4]),
    ));
    let cities: ArrayRef = Arc::new(StringArray::from_iter_values(
        (0..n).map(|i| ["Berlin", "Paris", "Madrid", "Rome"][i as usize % 4]),
    ));
    let batch =
        RecordBatch::try_from_iter([("id", ids), ("contact", emails), ("town", cities)]).unwrap();
    let file = std::fs::File::create(&path).unwrap();
    let mut w = parquet::arrow::ArrowWriter::try_new(file, batch.schema(), None).unwrap();
    w.write(&batch).unwrap();
    w.close().unwrap();

    let report = scan_paths(
        &analyzer(),
        &[path.display().to_string()],
        &ScanOptions::default(),
        |_| {},
    )
    .unwrap();
    let src = &report.sources[0];
    assert_eq!(src.rows, 60);
    let col = |n: &str| src.columns.iter().find(|c| c.name == n).unwrap();
    // The headers say nothing; the values do.
    assert_eq!(
        col("contact").profile.entity,
        Some(EntityType::EmailAddress)
    );
    assert_eq!(col("town").profile.entity, Some(EntityType::Location));
    assert_eq!(col("id").profile.entity, None);
    assert_eq!(col("id").data_type, "integer");
}
