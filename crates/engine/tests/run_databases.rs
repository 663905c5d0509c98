//! `ingest` from and `load` into real PostgreSQL and MariaDB servers (started by
//! `scripts/services`): typed columns survive, consent still filters database reads,
//! `replace` leaves exactly the run's rows and `append` adds them once per run.

use std::path::Path;

use custodia_core::{Purpose, Region, SubjectId};
use custodia_engine::{
    consent::{ConsentChange, Decision},
    run::{Quiet, Resume},
    InitOptions, Workspace,
};
use sqlx::{Connection, Executor, Row};

const CUSTOMERS: &str = "dataset: customers\nregion: eu\nsubject_key: customer_id\npurposes:\n  - name: model_training\n    legal_basis: consent\ncolumns:\n  - name: customer_id\n    classification: L2\n  - name: spend\n    classification: L0\n  - name: visits\n    classification: L0\n  - name: signed_up\n    classification: L1\n";

async fn workspace(dir: &Path) -> Workspace {
    let (ws, _) = Workspace::init(dir, InitOptions::default()).await.unwrap();
    std::fs::create_dir_all(dir.join("contracts")).unwrap();
    std::fs::write(dir.join("contracts/customers.yaml"), CUSTOMERS).unwrap();
    ws.apply_contracts(&[dir.join("contracts")]).await.unwrap();
    for c in ["C1", "C2", "C3"] {
        ws.consent_record(
            &Region::new("eu").unwrap(),
            ConsentChange {
                subject: SubjectId::parse(&format!("customer_id:{c}")).unwrap(),
                purpose: Purpose::new("model_training").unwrap(),
                decision: Decision::Grant,
                at_us: None,
                source: "test".into(),
                jurisdiction: "eu".into(),
            },
        )
        .await
        .unwrap();
    }
    ws
}

fn pipeline(source: &str, target: &str, mode: &str) -> String {
    format!(
        "pipeline: copy\npurpose: model_training\nregion: eu\nrole: ml_engineer\nsteps:\n  - id: customers\n    kind: ingest\n    source: {source}\n    table: customers\n    dataset: customers\n  - id: load\n    kind: load\n    needs: [customers]\n    target: {target}\n    table: customers_out\n    mode: {mode}\n"
    )
}

/// Seeds `customers` (C4 never consented) with native types of the server.
async fn seed(url: &str, mysql: bool) {
    sqlx::any::install_default_drivers();
    let mut c = sqlx::AnyConnection::connect(url).await.unwrap();
    let ddl = if mysql {
        "CREATE TABLE customers (customer_id VARCHAR(20), spend DECIMAL(10,2), visits INT, signed_up DATETIME)"
    } else {
        "CREATE TABLE customers (customer_id TEXT, spend NUMERIC(10,2), visits INTEGER, signed_up TIMESTAMP)"
    };
    c.execute(ddl).await.unwrap();
    c.execute("INSERT INTO customers VALUES ('C1', 10.50, 3, '2026-01-02 03:04:05'), ('C2', 20.25, 1, '2026-02-03 04:05:06'), ('C3', NULL, 7, NULL), ('C4', 99.00, 2, '2026-03-04 05:06:07')")
        .await
        .unwrap();
}

async fn rows_out(url: &str) -> Vec<(String, Option<f64>, Option<i64>)> {
    let sql = "SELECT customer_id, spend, visits FROM customers_out ORDER BY customer_id";
    if url.starts_with("mysql") {
        let mut c = sqlx::MySqlConnection::connect(url).await.unwrap();
        sqlx::query_as(sql).fetch_all(&mut c).await.unwrap()
    } else {
        let mut c = sqlx::PgConnection::connect(url).await.unwrap();
        sqlx::query_as(sql).fetch_all(&mut c).await.unwrap()
    }
}

#[tokio::test]
async fn postgres_to_mariadb_and_back_with_consent_and_idempotent_loads() {
    let (Some(pg), Some(my)) = (
        custodia_testkit::fresh_postgres("run_db").await,
        custodia_testkit::fresh_mysql("run_db").await,
    ) else {
        return;
    };
    seed(&pg, false).await;
    seed(&my, true).await;
    let dir = tempfile::tempdir().unwrap();
    let ws = workspace(dir.path()).await;
    let file = dir.path().join("copy.yaml");
    let want = vec![
        ("C1".to_string(), Some(10.5), Some(3)),
        ("C2".to_string(), Some(20.25), Some(1)),
        ("C3".to_string(), None, Some(7)),
    ];

    // PostgreSQL → MariaDB, replace: twice, still exactly the consenting rows.
    std::fs::write(&file, pipeline(&pg, &my, "replace")).unwrap();
    for _ in 0..2 {
        let r = ws.run_pipeline(&file, Resume::Fresh, &Quiet).await.unwrap();
        assert_eq!(r.status, "succeeded", "{r:?}");
        assert_eq!(r.steps[1].loaded, Some(3));
        let e = r.steps[0].enforcement.clone().unwrap();
        assert_eq!((e.rows_read, e.rows_filtered), (4, 1));
        // Types came through: text, decimal as float, integer, timestamp.
        let types: Vec<&str> = r.steps[0].schema.iter().map(|(_, t)| t.as_str()).collect();
        assert_eq!(
            types,
            vec!["Utf8", "Float64", "Int64", "Timestamp(µs)"],
            "{:?}",
            r.steps[0].schema
        );
    }
    assert_eq!(rows_out(&my).await, want);

    // MariaDB → PostgreSQL, append: each run adds its rows once.
    std::fs::write(&file, pipeline(&my, &pg, "append")).unwrap();
    for _ in 0..2 {
        let r = ws.run_pipeline(&file, Resume::Fresh, &Quiet).await.unwrap();
        assert_eq!(r.status, "succeeded", "{r:?}");
    }
    let got = rows_out(&pg).await;
    assert_eq!(got.len(), 6, "{got:?}");
    let mut c = sqlx::AnyConnection::connect(&pg).await.unwrap();
    let markers: i64 = c
        .fetch_one("SELECT COUNT(*) FROM _custodia_loads")
        .await
        .unwrap()
        .get(0);
    assert_eq!(markers, 2);
    // The timestamp column lands as a timestamp, with its values.
    let t: String = c
        .fetch_one("SELECT data_type::text FROM information_schema.columns WHERE table_name = 'customers_out' AND column_name = 'signed_up'")
        .await
        .unwrap()
        .get(0);
    assert_eq!(t, "timestamp without time zone");
    let when: String = c
        .fetch_one("SELECT MIN(signed_up)::text FROM customers_out")
        .await
        .unwrap()
        .get(0);
    assert_eq!(when, "2026-01-02 03:04:05");
}

#[tokio::test]
async fn a_missing_table_is_a_clear_error_without_credentials() {
    let Some(pg) = custodia_testkit::fresh_postgres("run_db_missing").await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let ws = workspace(dir.path()).await;
    let file = dir.path().join("copy.yaml");
    std::fs::write(&file, pipeline(&pg, "warehouse", "replace")).unwrap();
    let r = ws.run_pipeline(&file, Resume::Fresh, &Quiet).await.unwrap();
    assert_eq!(r.status, "failed");
    let m = r.failure.unwrap().message;
    assert!(m.contains("\"customers\" does not exist"), "{m}");
}
