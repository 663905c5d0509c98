//! `custodia run` on real files, a real SQLite store and warehouse: enforcement (consent
//! semi-join, undeclared columns, residency), versions, journal resume and idempotent loads.

use std::path::Path;

use custodia_core::{Purpose, Region, SubjectId};
use custodia_engine::{
    consent::{ConsentChange, Decision},
    run::{FailureKind, Quiet, Resume, StepState},
    InitOptions, Workspace,
};

const ORDERS: &str = "dataset: orders\nregion: eu\nsubject_key: customer_id\npurposes:\n  - name: model_training\n    legal_basis: consent\ncolumns:\n  - name: customer_id\n    classification: L2\n  - name: amount\n    classification: L0\n";
const FEATURES: &str = "dataset: customer_features\nregion: eu\nsubject_key: customer_id\npurposes:\n  - name: model_training\n    legal_basis: consent\ncolumns:\n  - name: customer_id\n    classification: L1\n  - name: customer_lifetime_value\n    classification: L0\n";
const PIPELINE: &str = "pipeline: clv\npurpose: model_training\nregion: eu\nrole: ml_engineer\nsteps:\n  - id: orders\n    kind: ingest\n    source: data/orders/*.csv\n    dataset: orders\n  - id: clv\n    kind: features\n    needs: [orders]\n    dataset: customer_features\n    sql: SELECT customer_id, SUM(amount) AS customer_lifetime_value FROM orders GROUP BY customer_id\n  - id: load\n    kind: load\n    needs: [clv]\n    table: customer_features\n";

async fn workspace(dir: &Path) -> Workspace {
    let (ws, _) = Workspace::init(dir, InitOptions::default()).await.unwrap();
    std::fs::create_dir_all(dir.join("contracts")).unwrap();
    std::fs::write(dir.join("contracts/orders.yaml"), ORDERS).unwrap();
    std::fs::write(dir.join("contracts/customer_features.yaml"), FEATURES).unwrap();
    ws.apply_contracts(&[dir.join("contracts")]).await.unwrap();
    std::fs::create_dir_all(dir.join("data/orders")).unwrap();
    std::fs::write(
        dir.join("data/orders/a.csv"),
        "customer_id,amount\nC1,10.5\nC2,3\nC3,1\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("data/orders/b.csv"),
        "customer_id,amount\nC1,4.5\nC4,7\n",
    )
    .unwrap();
    std::fs::create_dir_all(dir.join("pipelines")).unwrap();
    std::fs::write(dir.join("pipelines/clv.yaml"), PIPELINE).unwrap();
    ws
}

/// Writes `contracts/NAME.yaml` and applies the contracts folder.
async fn apply_contract(ws: &Workspace, dir: &Path, name: &str, yaml: &str) {
    std::fs::write(dir.join(format!("contracts/{name}.yaml")), yaml).unwrap();
    ws.apply_contracts(&[dir.join("contracts")]).await.unwrap();
}

/// Runs `pipelines/clv.yaml`, expects its `orders` read to be denied, and returns why.
async fn denial_of_orders(ws: &Workspace, dir: &Path) -> String {
    let r = ws
        .run_pipeline(&dir.join("pipelines/clv.yaml"), Resume::Auto, &Quiet)
        .await
        .unwrap();
    let f = r.failure.unwrap();
    assert_eq!(
        (f.kind, f.step.as_deref()),
        (FailureKind::Denied, Some("orders"))
    );
    f.message
}

async fn consent(ws: &Workspace, id: &str, decision: Decision) {
    ws.consent_record(
        &Region::new("eu").unwrap(),
        ConsentChange {
            subject: SubjectId::parse(&format!("customer_id:{id}")).unwrap(),
            purpose: Purpose::new("model_training").unwrap(),
            decision,
            at_us: None,
            source: "test".into(),
            jurisdiction: "eu".into(),
        },
    )
    .await
    .unwrap();
}

async fn warehouse_rows(dir: &Path, sql: &str) -> Vec<(String, f64)> {
    use sqlx::Connection;
    let mut c = sqlx::SqliteConnection::connect(&format!(
        "sqlite://{}",
        dir.join(".custodia/warehouse.db").display()
    ))
    .await
    .unwrap();
    sqlx::query_as(sql).fetch_all(&mut c).await.unwrap()
}

#[tokio::test]
async fn withdrawn_consent_removes_exactly_that_subjects_rows() {
    let dir = tempfile::tempdir().unwrap();
    let ws = workspace(dir.path()).await;
    for c in ["C1", "C2", "C3"] {
        consent(&ws, c, Decision::Grant).await;
    }
    let file = dir.path().join("pipelines/clv.yaml");
    let r = ws.run_pipeline(&file, Resume::Auto, &Quiet).await.unwrap();
    assert_eq!(r.status, "succeeded", "{r:?}");
    let e = r.steps[0].enforcement.clone().unwrap();
    // C4 never consented: filtered from the start.
    assert_eq!((e.rows_read, e.rows_filtered, r.steps[0].rows), (5, 1, 4));
    assert_eq!(e.row_filter.as_deref(), Some("consent:model_training"));
    let rows = warehouse_rows(
        dir.path(),
        "SELECT customer_id, customer_lifetime_value FROM customer_features ORDER BY customer_id",
    )
    .await;
    assert_eq!(
        rows,
        vec![("C1".into(), 15.0), ("C2".into(), 3.0), ("C3".into(), 1.0)]
    );

    consent(&ws, "C2", Decision::Withdraw).await;
    let r2 = ws.run_pipeline(&file, Resume::Auto, &Quiet).await.unwrap();
    assert_ne!(r2.run_id, r.run_id, "a finished run is not resumed");
    let rows = warehouse_rows(
        dir.path(),
        "SELECT customer_id, customer_lifetime_value FROM customer_features ORDER BY customer_id",
    )
    .await;
    assert_eq!(rows, vec![("C1".into(), 15.0), ("C3".into(), 1.0)]);
    // Versions: orders@1 then orders@2 with another content hash.
    let v = ws.store().dataset_versions("orders").await.unwrap();
    assert_eq!(v.len(), 2);
    assert_ne!(v[0].content_hash, v[1].content_hash);
    assert_eq!(
        (v[1].row_count, v[1].run_id.as_deref()),
        (3, Some(r2.run_id.as_str()))
    );
    // The audit log holds the run, and no raw identifier.
    let entries = custodia_engine::audit_log::entries(ws.store(), 0, 10_000)
        .await
        .unwrap();
    let text = format!("{entries:?}");
    assert!(
        text.contains("run.step") && text.contains("run.succeeded"),
        "{text}"
    );
    assert!(
        !text.contains("\"C2\"") && !text.contains("C2,"),
        "raw ids in the log"
    );
}

#[tokio::test]
async fn a_consent_filter_without_a_subject_key_is_denied() {
    let dir = tempfile::tempdir().unwrap();
    let ws = workspace(dir.path()).await;
    // The purpose rests on consent, but the contract cannot say whose each row is.
    apply_contract(
        &ws,
        dir.path(),
        "orders",
        &ORDERS.replace("subject_key: customer_id\n", ""),
    )
    .await;
    let message = denial_of_orders(&ws, dir.path()).await;
    assert!(
        message.contains("consent row filter for purpose model_training")
            && message.contains("has no subject_key"),
        "{message}"
    );
}

#[tokio::test]
async fn an_undeclared_column_is_denied() {
    let dir = tempfile::tempdir().unwrap();
    let ws = workspace(dir.path()).await;
    std::fs::write(
        dir.path().join("data/orders/b.csv"),
        "customer_id,amount\nC1,4.5\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("data/orders/a.csv"),
        "customer_id,amount\nC1,4.5\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("data/orders/c.csv"),
        "customer_id,amount\nC9,1\n",
    )
    .unwrap();
    // A source with a column the contract does not declare.
    std::fs::remove_dir_all(dir.path().join("data/orders")).unwrap();
    std::fs::create_dir_all(dir.path().join("data/orders")).unwrap();
    std::fs::write(
        dir.path().join("data/orders/a.csv"),
        "customer_id,amount,email\nC1,4.5,x@example.com\n",
    )
    .unwrap();
    let message = denial_of_orders(&ws, dir.path()).await;
    assert!(
        message.contains("\"email\"") && message.contains("not declared"),
        "{message}"
    );
    assert!(!message.contains("x@example.com"));
    assert!(
        !dir.path().join(".custodia/warehouse.db").exists(),
        "nothing loaded"
    );
}

#[tokio::test]
async fn a_cross_region_read_fails_before_anything_runs() {
    let dir = tempfile::tempdir().unwrap();
    let ws = workspace(dir.path()).await;
    let file = dir.path().join("pipelines/us.yaml");
    std::fs::write(
        &file,
        PIPELINE.replace("region: eu\nrole", "region: us\nrole"),
    )
    .unwrap();
    let r = ws.run_pipeline(&file, Resume::Auto, &Quiet).await.unwrap();
    let f = r.failure.unwrap();
    assert_eq!(f.kind, FailureKind::Denied);
    assert!(f.message.contains("residency"), "{}", f.message);
    assert!(r.steps.is_empty());
    assert!(ws
        .store()
        .dataset_versions("orders")
        .await
        .unwrap()
        .is_empty());
}

#[tokio::test]
async fn a_rerun_resumes_the_unfinished_run_without_loading_twice() {
    let dir = tempfile::tempdir().unwrap();
    let ws = workspace(dir.path()).await;
    for c in ["C1", "C2", "C3", "C4"] {
        consent(&ws, c, Decision::Grant).await;
    }
    let file = dir.path().join("pipelines/clv.yaml");
    std::fs::write(&file, PIPELINE.replace("  - id: load\n    kind: load\n    needs: [clv]\n    table: customer_features\n", "  - id: load\n    kind: load\n    needs: [clv]\n    table: customer_features\n    mode: append\n")).unwrap();
    let r = ws.run_pipeline(&file, Resume::Auto, &Quiet).await.unwrap();
    assert_eq!(r.status, "succeeded");
    // Make the run look killed after its load committed: still running, journal entry of
    // the load step gone (the crash window between the warehouse commit and the journal).
    sqlx::query("UPDATE runs SET status = 'running' WHERE id = ?1")
        .bind(&r.run_id)
        .execute(
            &sqlx::SqlitePool::connect(&format!(
                "sqlite://{}",
                dir.path().join(".custodia/custodia.db").display()
            ))
            .await
            .unwrap(),
        )
        .await
        .unwrap();
    let pool = sqlx::SqlitePool::connect(&format!(
        "sqlite://{}",
        dir.path().join(".custodia/custodia.db").display()
    ))
    .await
    .unwrap();
    sqlx::query("DELETE FROM journal WHERE job_id = ?1 AND step = 'load'")
        .bind(&r.run_id)
        .execute(&pool)
        .await
        .unwrap();
    let again = ws.run_pipeline(&file, Resume::Auto, &Quiet).await.unwrap();
    assert!(again.resumed);
    assert_eq!(again.run_id, r.run_id);
    assert_eq!(again.steps[0].state, StepState::Resumed);
    assert_eq!(again.steps[2].state, StepState::Ran);
    assert_eq!(
        again.steps[2].loaded,
        Some(0),
        "the warehouse already had this run's rows"
    );
    let rows = warehouse_rows(
        dir.path(),
        "SELECT customer_id, customer_lifetime_value FROM customer_features ORDER BY customer_id",
    )
    .await;
    assert_eq!(rows.len(), 4, "{rows:?}");
    // Versions of resumed steps are not recorded again.
    assert_eq!(
        ws.store().dataset_versions("orders").await.unwrap().len(),
        1
    );
}

#[tokio::test]
async fn a_second_run_of_a_running_pipeline_is_refused_until_the_first_ends() {
    let dir = tempfile::tempdir().unwrap();
    let ws = workspace(dir.path()).await;
    consent(&ws, "C1", Decision::Grant).await;
    let file = dir.path().join("pipelines/clv.yaml");
    std::fs::write(&file, PIPELINE).unwrap();
    // Another process running the pipeline holds its lock (a second open file description
    // conflicts like another process would).
    let held = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open({
            std::fs::create_dir_all(dir.path().join(".custodia/locks")).unwrap();
            dir.path().join(".custodia/locks/clv.lock")
        })
        .unwrap();
    held.lock().unwrap();
    let err = ws
        .run_pipeline(&file, Resume::Auto, &Quiet)
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("\"clv\" is already running"), "{err}");
    assert!(
        ws.store().runs(Some("clv"), 10).await.unwrap().is_empty(),
        "a refused run records nothing"
    );
    drop(held);
    let r = ws.run_pipeline(&file, Resume::Auto, &Quiet).await.unwrap();
    assert_eq!(r.status, "succeeded");
    // The lock is released when the run ends: the next one starts.
    let again = ws.run_pipeline(&file, Resume::Auto, &Quiet).await.unwrap();
    assert_eq!(again.status, "succeeded");
}

const ORDERS_TWO_PURPOSES: &str = "dataset: orders\nregion: eu\nsubject_key: customer_id\npurposes:\n  - name: analytics\n    legal_basis: legitimate_interest\n  - name: model_training\n    legal_basis: consent\ncolumns:\n  - name: customer_id\n    classification: L2\n  - name: amount\n    classification: L0\n";
const SNAPSHOT_PIPELINE: &str = "pipeline: train_set\npurpose: analytics\nregion: eu\nrole: ml_engineer\nsteps:\n  - id: orders\n    kind: ingest\n    source: data/orders/*.csv\n    dataset: orders\n  - id: cleaned\n    kind: sql\n    needs: [orders]\n    sql: SELECT customer_id, amount FROM orders WHERE amount > 0\n  - id: training\n    kind: snapshot\n    needs: [orders]\n    purpose: model_training\n    name: churn_training\n";

#[tokio::test]
async fn a_snapshot_holds_only_subjects_consenting_at_snapshot_time_and_lists_them() {
    let dir = tempfile::tempdir().unwrap();
    let ws = workspace(dir.path()).await;
    apply_contract(&ws, dir.path(), "orders", ORDERS_TWO_PURPOSES).await;
    std::fs::write(dir.path().join("pipelines/train.yaml"), SNAPSHOT_PIPELINE).unwrap();
    for c in ["C1", "C2", "C3"] {
        consent(&ws, c, Decision::Grant).await;
    }
    let file = dir.path().join("pipelines/train.yaml");
    let r = ws.run_pipeline(&file, Resume::Auto, &Quiet).await.unwrap();
    assert_eq!(r.status, "succeeded", "{r:?}");
    // The analytics read (legitimate interest) keeps everyone; the snapshot does not.
    assert_eq!(r.steps[0].rows, 5);
    assert!(r.steps[0]
        .enforcement
        .as_ref()
        .unwrap()
        .row_filter
        .is_none());
    let snap = r.steps.iter().find(|s| s.id == "training").unwrap();
    let e = snap.enforcement.as_ref().unwrap();
    assert_eq!(
        (
            e.row_filter.as_deref(),
            e.rows_read,
            e.rows_filtered,
            snap.rows
        ),
        (Some("consent:model_training"), 5, 1, 4)
    );
    let refs = |ids: &[&str]| {
        let mut v: Vec<[u8; 32]> = ids
            .iter()
            .map(|id| {
                let r = ws.subject_ref(
                    &SubjectId::parse(&format!("customer_id:{id}")).unwrap(),
                    &Region::new("eu").unwrap(),
                );
                let mut b = [0u8; 32];
                hex::decode_to_slice(r.as_str(), &mut b).unwrap();
                b
            })
            .collect();
        v.sort();
        v
    };
    let m = snap.manifest.clone().unwrap();
    assert_eq!(m.subjects, 3);
    let listed = custodia_engine::run::read_manifest(&dir.path().join(&m.path)).unwrap();
    assert_eq!(listed, refs(&["C1", "C2", "C3"]));

    // C2 withdraws: the next snapshot loses exactly C2's row and C2's ref.
    consent(&ws, "C2", Decision::Withdraw).await;
    let r2 = ws.run_pipeline(&file, Resume::Auto, &Quiet).await.unwrap();
    let snap2 = r2.steps.iter().find(|s| s.id == "training").unwrap();
    assert_eq!(snap2.rows, 3);
    let m2 = snap2.manifest.clone().unwrap();
    let listed2 = custodia_engine::run::read_manifest(&dir.path().join(&m2.path)).unwrap();
    assert_eq!(listed2, refs(&["C1", "C3"]));
    assert_ne!(m.sha256, m2.sha256);
    let mut ctx_rows = Vec::new();
    let batches = datafusion::prelude::SessionContext::new()
        .read_parquet(
            dir.path().join(&snap2.path).display().to_string(),
            Default::default(),
        )
        .await
        .unwrap()
        .collect()
        .await
        .unwrap();
    for b in &batches {
        let ids = arrow::compute::cast(b.column(0), &arrow::datatypes::DataType::Utf8).unwrap();
        let ids = arrow::array::AsArray::as_string::<i32>(&ids);
        ctx_rows.extend(ids.iter().map(|v| v.unwrap().to_string()));
    }
    ctx_rows.sort();
    assert_eq!(ctx_rows, vec!["C1", "C1", "C3"]);
    // The version records the manifest and the subject count.
    let v = ws
        .store()
        .dataset_versions("snapshots.churn_training")
        .await
        .unwrap();
    assert_eq!(v.len(), 2);
    assert_eq!(v[1].subjects, Some(2));
    assert!(v[1].manifest.as_deref().unwrap().contains(&m2.sha256));
}

const ORDERS_EXPECT: &str = "dataset: orders\nregion: eu\nsubject_key: customer_id\npurposes:\n  - name: model_training\n    legal_basis: consent\nexpect:\n  min_rows: 2\ncolumns:\n  - name: customer_id\n    classification: L2\n    expect:\n      not_null: true\n      regex: '^C[0-9]+$'\n  - name: amount\n    classification: L0\n    expect:\n      min: 0\n";
const QUALITY_PIPELINE: &str = "pipeline: checked\npurpose: model_training\nregion: eu\nrole: ml_engineer\nsteps:\n  - id: orders\n    kind: ingest\n    source: data/orders/*.csv\n    dataset: orders\n  - id: checks\n    kind: quality\n    needs: [orders]\n    on_failure: ON_FAILURE\n    drift: warn\n  - id: load\n    kind: load\n    needs: [checks]\n    table: orders_clean\n";

#[tokio::test]
async fn quality_names_failing_rows_by_subject_ref_blocks_and_measures_drift() {
    let dir = tempfile::tempdir().unwrap();
    let ws = workspace(dir.path()).await;
    apply_contract(&ws, dir.path(), "orders", ORDERS_EXPECT).await;
    for c in ["C1", "C2", "C3", "C4"] {
        consent(&ws, c, Decision::Grant).await;
    }
    std::fs::write(
        dir.path().join("data/orders/b.csv"),
        "customer_id,amount\nC1,4.5\nC4,-7\n",
    )
    .unwrap();
    let file = dir.path().join("pipelines/q.yaml");
    std::fs::write(&file, QUALITY_PIPELINE.replace("ON_FAILURE", "block")).unwrap();
    let r = ws.run_pipeline(&file, Resume::Auto, &Quiet).await.unwrap();
    assert_eq!(r.status, "failed", "{r:?}");
    let f = r.failure.clone().unwrap();
    assert_eq!(
        (f.kind, f.step.as_deref()),
        (FailureKind::Quality, Some("checks"))
    );
    assert!(f.message.contains("min on amount"), "{}", f.message);
    let q = r.steps[1].quality.clone().unwrap();
    let failed: Vec<_> = q.failed().collect();
    assert_eq!(failed.len(), 1, "{q:?}");
    assert_eq!((failed[0].check.as_str(), failed[0].failing), ("min", 1));
    let c4 = ws.subject_ref(
        &SubjectId::parse("customer_id:C4").unwrap(),
        &Region::new("eu").unwrap(),
    );
    assert_eq!(failed[0].examples, vec![format!("subject:{c4}")]);
    assert!(
        q.blocked && r.steps.len() == 2,
        "nothing after a blocking check runs"
    );
    assert!(!dir.path().join(".custodia/warehouse.db").exists());
    let json = serde_json::to_string(&r).unwrap();
    assert!(
        !json.contains("C4") && !json.contains("-7.0") && !json.contains("\"-7"),
        "values in the report: {json}"
    );

    // Warn: the run goes on; a ×100 unit change in amount is a named distribution shift.
    std::fs::write(&file, QUALITY_PIPELINE.replace("ON_FAILURE", "warn")).unwrap();
    let r = ws.run_pipeline(&file, Resume::Auto, &Quiet).await.unwrap();
    assert_eq!(r.status, "succeeded", "{r:?}");
    std::fs::write(
        dir.path().join("data/orders/a.csv"),
        "customer_id,amount\nC1,1050.5\nC2,300\nC3,100\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("data/orders/b.csv"),
        "customer_id,amount\nC1,450\nC4,700\n",
    )
    .unwrap();
    let r = ws.run_pipeline(&file, Resume::Auto, &Quiet).await.unwrap();
    assert_eq!(r.status, "succeeded", "{r:?}");
    let q = r.steps[1].quality.clone().unwrap();
    assert_eq!(q.failed().count(), 0, "{q:?}");
    assert_eq!(q.compared_to.as_deref(), Some("orders@2"));
    let amount: Vec<_> = q.drift.iter().filter(|d| d.column == "amount").collect();
    assert_eq!(amount.len(), 1, "{q:?}");
    assert_eq!(amount[0].statistic, "psi");
    assert!(amount[0].value >= 0.25);
}

const PROFILES: &str = "dataset: profiles\nregion: eu\nsubject_key: customer_id\npurposes:\n  - name: model_training\n    legal_basis: consent\ncolumns:\n  - name: customer_id\n    classification: L2\n  - name: email\n    classification: L2\n    pii: EMAIL_ADDRESS\n    transform: hash\n  - name: phone\n    classification: L2\n    pii: PHONE_NUMBER\n    transform: tokenize\n  - name: spend\n    classification: L0\n";
const DEID_PIPELINE: &str = "pipeline: deid\npurpose: model_training\nregion: eu\nrole: ml_engineer\nsteps:\n  - id: profiles\n    kind: ingest\n    source: data/profiles.csv\n    dataset: profiles\n  - id: safe\n    kind: deidentify\n    needs: [profiles]\n";

#[tokio::test]
async fn deidentify_hashes_and_tokenizes_under_each_subjects_key_and_shredding_erases() {
    let dir = tempfile::tempdir().unwrap();
    let ws = workspace(dir.path()).await;
    apply_contract(&ws, dir.path(), "profiles", PROFILES).await;
    for c in ["C1", "C2"] {
        consent(&ws, c, Decision::Grant).await;
    }
    std::fs::write(
        dir.path().join("data/profiles.csv"),
        "customer_id,email,phone,spend\nC1,ann@example.com,+44 20 7946 0018,10\nC2,bob@example.org,+49 30 901820,20\n",
    )
    .unwrap();
    let file = dir.path().join("pipelines/deid.yaml");
    std::fs::write(&file, DEID_PIPELINE).unwrap();
    let r = ws.run_pipeline(&file, Resume::Auto, &Quiet).await.unwrap();
    assert_eq!(r.status, "succeeded", "{r:?}");
    let safe = &r.steps[1];
    assert_eq!(safe.transforms, vec!["email:hash", "phone:tokenize"]);
    let out = dir.path().join(&safe.path);
    let text = std::fs::read(&out).unwrap();
    for raw in ["ann@example.com", "bob@example.org", "7946", "901820"] {
        assert!(
            !text.windows(raw.len()).any(|w| w == raw.as_bytes()),
            "{raw} in the output"
        );
    }
    let table = custodia_engine::Table::read(&out).unwrap();
    let emails = table.column_values(1, 10);
    // A keyed hash: hex, not the address, and distinct per address.
    let e0 = emails[0].clone().unwrap();
    assert!(
        e0.len() >= 16 && e0.bytes().all(|b| b.is_ascii_hexdigit()),
        "{emails:?}"
    );
    assert_ne!(emails[0], emails[1]);
    let phones = table.column_values(2, 10);
    let c1 = ws.subject_ref(
        &SubjectId::parse("customer_id:C1").unwrap(),
        &Region::new("eu").unwrap(),
    );
    assert!(
        phones[0]
            .as_deref()
            .unwrap()
            .starts_with(&format!("sk1.{c1}.")),
        "{phones:?}"
    );
    // Shred C1: C1's phone no longer decrypts, C2's still does.
    ws.shred_subject(&Region::new("eu").unwrap(), &c1)
        .await
        .unwrap();
    let back = dir.path().join("back.csv");
    let rep = ws
        .detokenize_file(&out, &back, &["phone".to_string()], &[])
        .await
        .unwrap();
    assert_eq!((rep.restored, rep.shredded), (1, 1), "{rep:?}");
    let back = std::fs::read_to_string(&back).unwrap();
    assert!(
        back.contains("+49 30 901820") && !back.contains("7946"),
        "{back}"
    );
}

const CHURN_FEATURES: &str = "dataset: churn_features\nregion: eu\nowner: ml-platform@example.com\nsubject_key: customer_id\npurposes:\n  - name: model_training\n    legal_basis: consent\ncolumns:\n  - name: customer_id\n    classification: L1\n  - name: customer_lifetime_value\n    classification: L0\n  - name: order_count\n    classification: L0\n  - name: churned\n    classification: L0\n";
const TRAIN_PIPELINE: &str = "pipeline: churn\npurpose: model_training\nregion: eu\nrole: ml_engineer\nsteps:\n  - id: orders\n    kind: ingest\n    source: data/orders/*.csv\n    dataset: orders\n  - id: features\n    kind: features\n    needs: [orders]\n    dataset: churn_features\n    sql: SELECT customer_id, SUM(amount) AS customer_lifetime_value, COUNT(*) AS order_count, CASE WHEN SUM(amount) < 100 THEN 1 ELSE 0 END AS churned FROM orders GROUP BY customer_id\n  - id: training\n    kind: snapshot\n    needs: [features]\n    name: churn_training\n  - id: train\n    kind: train\n    needs: [training]\n    model: churn\n    algorithm: logistic_regression\n    label: churned\n    features: [customer_lifetime_value, order_count]\n    card: models/churn.yaml\n";

#[tokio::test]
async fn train_registers_a_model_with_card_and_manifest_and_promotion_runs_the_gate() {
    let dir = tempfile::tempdir().unwrap();
    let ws = workspace(dir.path()).await;
    apply_contract(&ws, dir.path(), "churn_features", CHURN_FEATURES).await;
    let mut csv = String::from("customer_id,amount\n");
    for c in 0..300 {
        for k in 0..(1 + c % 4) {
            csv.push_str(&format!("C{c},{}.5\n", (c * 7 + k * 13) % 90));
        }
        if c % 10 != 0 {
            consent(&ws, &format!("C{c}"), Decision::Grant).await;
        }
    }
    std::fs::remove_file(dir.path().join("data/orders/b.csv")).unwrap();
    std::fs::write(dir.path().join("data/orders/a.csv"), csv).unwrap();
    std::fs::create_dir_all(dir.path().join("models")).unwrap();
    std::fs::write(dir.path().join("models/churn.yaml"), "risk: limited\n").unwrap();
    let file = dir.path().join("pipelines/churn.yaml");
    std::fs::write(&file, TRAIN_PIPELINE).unwrap();
    let r = ws.run_pipeline(&file, Resume::Auto, &Quiet).await.unwrap();
    assert_eq!(r.status, "succeeded", "{r:?}");
    let t = r.steps.iter().find(|s| s.id == "train").unwrap();
    assert_eq!(t.output, "model:churn@1");
    assert_eq!(
        t.rows, 270,
        "the 30 customers without consent are not trained on"
    );
    assert!(t.metrics["auc"] > 0.8, "{:?}", t.metrics);
    let m = ws.model_version("churn", None).await.unwrap();
    assert_eq!(
        (m.version, m.stage.as_str(), m.subjects),
        (1, "registered", Some(270))
    );
    let card = custodia_core::model_card::ModelCard::parse("card", &m.card).unwrap();
    assert_eq!(card.consent_scope, vec!["model_training"]);
    assert_eq!(card.legal_basis.as_deref(), Some("consent"));
    assert_eq!(card.owner.as_deref(), Some("ml-platform@example.com"));
    let trained_on: Vec<String> = card
        .training_data
        .iter()
        .map(|t| format!("{}@{}", t.dataset, t.version.unwrap()))
        .collect();
    assert_eq!(trained_on, vec!["orders@1", "churn_features@1"]);
    let training: custodia_engine::run::Training = serde_json::from_str(&m.training).unwrap();
    assert_eq!(training.input, "snapshots.churn_training@1");

    // The gate passes: production. A second run registers v2; promoting it archives v1.
    let p = ws.promote_model("churn", Some(1)).await.unwrap();
    assert!(
        matches!(p, custodia_engine::models::Promotion::Promoted { .. }),
        "{p:?}"
    );
    let r2 = ws.run_pipeline(&file, Resume::Fresh, &Quiet).await.unwrap();
    assert_eq!(r2.steps.last().unwrap().output, "model:churn@2");
    ws.promote_model("churn", Some(2)).await.unwrap();
    let stages: Vec<String> = ws
        .store()
        .model_versions("churn")
        .await
        .unwrap()
        .into_iter()
        .map(|m| m.stage)
        .collect();
    assert_eq!(stages, vec!["archived", "production"]);

    // A tampered artifact is refused; so is a card the gate rejects (no risk).
    std::fs::write(dir.path().join(&m.artifact).join("model.json"), "{}").unwrap();
    match ws.promote_model("churn", Some(1)).await.unwrap() {
        custodia_engine::models::Promotion::Refused { findings, .. } => {
            assert_eq!(findings[0].rule, "model.artifact_changed")
        }
        other => panic!("{other:?}"),
    }
    std::fs::write(
        dir.path().join("models/churn.yaml"),
        "owner: someone@example.com\n",
    )
    .unwrap();
    let r3 = ws.run_pipeline(&file, Resume::Fresh, &Quiet).await.unwrap();
    assert_eq!(r3.status, "succeeded", "{r3:?}");
    match ws.promote_model("churn", Some(3)).await.unwrap() {
        custodia_engine::models::Promotion::Refused { findings, .. } => assert!(
            findings
                .iter()
                .any(|f| f.rule == "model.incomplete" && f.message.contains("risk")),
            "{findings:?}"
        ),
        other => panic!("{other:?}"),
    }
}

/// A real HTTP server on loopback that answers 200 to every request and keeps the bodies.
fn lineage_listener() -> (String, std::sync::Arc<std::sync::Mutex<Vec<String>>>) {
    use std::io::{BufRead, BufReader, Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let bodies = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let keep = bodies.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let mut stream = stream.unwrap();
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            assert!(line.starts_with("POST /api/v1/lineage "), "{line}");
            let mut len = 0;
            loop {
                let mut h = String::new();
                reader.read_line(&mut h).unwrap();
                if h == "\r\n" || h.is_empty() {
                    break;
                }
                if let Some(v) = h.to_ascii_lowercase().strip_prefix("content-length:") {
                    len = v.trim().parse().unwrap();
                }
            }
            let mut body = vec![0; len];
            reader.read_exact(&mut body).unwrap();
            keep.lock().unwrap().push(String::from_utf8(body).unwrap());
            stream
                .write_all(
                    b"HTTP/1.1 201 Created\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                )
                .unwrap();
        }
    });
    (url, bodies)
}

#[tokio::test]
async fn openlineage_events_are_posted_stored_and_carry_column_lineage() {
    let dir = tempfile::tempdir().unwrap();
    let ws = workspace(dir.path()).await;
    for c in ["C1", "C2", "C3"] {
        consent(&ws, c, Decision::Grant).await;
    }
    let (url, bodies) = lineage_listener();
    let file = dir.path().join("pipelines/clv.yaml");
    let r = ws
        .run_pipeline_with(
            &file,
            &custodia_engine::run::RunOptions {
                resume: Resume::Auto,
                openlineage_url: Some(url),
            },
            &Quiet,
        )
        .await
        .unwrap();
    assert_eq!(r.status, "succeeded", "{r:?}");
    assert!(r.warnings.is_empty(), "{:?}", r.warnings);
    let posted: Vec<serde_json::Value> = bodies
        .lock()
        .unwrap()
        .iter()
        .map(|b| serde_json::from_str(b).unwrap())
        .collect();
    let types: Vec<&str> = posted
        .iter()
        .map(|e| e["eventType"].as_str().unwrap())
        .collect();
    assert_eq!(types, vec!["START", "COMPLETE"]);
    assert_eq!(posted[0]["run"]["runId"], posted[1]["run"]["runId"]);
    let complete = &posted[1];
    let clv = complete["outputs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["name"] == "customer_features")
        .unwrap();
    let inputs =
        &clv["facets"]["columnLineage"]["fields"]["customer_lifetime_value"]["inputFields"];
    assert_eq!(inputs[0]["name"], "orders");
    assert_eq!(inputs[0]["field"], "amount");
    assert_eq!(inputs[0]["transformations"][0]["subtype"], "AGGREGATION");
    let source = &complete["inputs"][0];
    assert_eq!(source["name"], "file:data/orders/*.csv");
    assert_eq!(
        source["inputFacets"]["dataQualityMetrics"]["rowCount"], 4,
        "{source}"
    );
    // Stored too, the same events.
    let stored = ws.store().lineage_events(Some(&r.run_id)).await.unwrap();
    assert_eq!(stored.len(), 2);
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&stored[1].2).unwrap(),
        *complete
    );

    // An unreachable endpoint warns; the run still succeeds and its events are stored.
    let r = ws
        .run_pipeline_with(
            &file,
            &custodia_engine::run::RunOptions {
                resume: Resume::Fresh,
                openlineage_url: Some("http://127.0.0.1:9".into()),
            },
            &Quiet,
        )
        .await
        .unwrap();
    assert_eq!(r.status, "succeeded");
    assert!(!r.warnings.is_empty());
    assert_eq!(
        ws.store()
            .lineage_events(Some(&r.run_id))
            .await
            .unwrap()
            .len(),
        2
    );
}

#[tokio::test]
async fn lineage_traces_impacts_and_diffs_two_trainings_down_to_the_cause() {
    let dir = tempfile::tempdir().unwrap();
    let ws = workspace(dir.path()).await;
    apply_contract(&ws, dir.path(), "churn_features", CHURN_FEATURES).await;
    let orders = |scale: f64| {
        let mut csv = String::from("customer_id,amount\n");
        for c in 0..300 {
            for k in 0..(1 + c % 4) {
                csv.push_str(&format!(
                    "C{c},{:.2}\n",
                    ((c * 7 + k * 13) % 90) as f64 * scale + 0.5
                ));
            }
        }
        csv
    };
    for c in 0..300 {
        consent(&ws, &format!("C{c}"), Decision::Grant).await;
    }
    std::fs::remove_file(dir.path().join("data/orders/b.csv")).unwrap();
    std::fs::write(dir.path().join("data/orders/a.csv"), orders(1.0)).unwrap();
    std::fs::create_dir_all(dir.path().join("models")).unwrap();
    std::fs::write(dir.path().join("models/churn.yaml"), "risk: limited\n").unwrap();
    let file = dir.path().join("pipelines/churn.yaml");
    std::fs::write(&file, TRAIN_PIPELINE).unwrap();
    assert_eq!(
        ws.run_pipeline(&file, Resume::Auto, &Quiet)
            .await
            .unwrap()
            .status,
        "succeeded"
    );
    // The upstream export switches amounts to cents: the model trained on it degrades.
    std::fs::write(dir.path().join("data/orders/a.csv"), orders(100.0)).unwrap();
    assert_eq!(
        ws.run_pipeline(&file, Resume::Fresh, &Quiet)
            .await
            .unwrap()
            .status,
        "succeeded"
    );

    let g = ws.lineage_graph().await.unwrap();
    let root = g.resolve("model:churn@2.customer_lifetime_value").unwrap();
    let up = g.trace(&root, custodia_engine::lineage::Direction::Upstream);
    let text = up.text();
    for expected in [
        "snapshots.churn_training@2.customer_lifetime_value",
        "churn_features@2.customer_lifetime_value",
        "orders@2.amount  (aggregate)",
        "file:data/orders/*.csv.amount",
    ] {
        assert!(text.contains(expected), "{expected} missing from\n{text}");
    }
    assert!(!text.contains("@1"), "v2's lineage mixes in v1:\n{text}");
    assert!(up.dot().starts_with("digraph lineage"));
    assert!(up.mermaid().contains("-->|aggregate|"));

    let impact = ws.lineage_impact("orders.amount").await.unwrap();
    assert!(impact.models.contains_key("churn"), "{impact:?}");
    assert!(impact.snapshots.contains_key("snapshots.churn_training"));
    assert_eq!(
        impact.datasets["churn_features"]
            .iter()
            .cloned()
            .collect::<Vec<_>>(),
        vec!["churned", "customer_lifetime_value"]
    );

    let d = ws.lineage_diff("churn", 1, 2).await.unwrap();
    let names: Vec<&str> = d.changes.iter().map(|c| c.dataset.as_str()).collect();
    assert_eq!(names[0], "orders", "{d:?}");
    let cause = d.likely_cause.clone().unwrap();
    assert!(cause.starts_with("orders@2 column amount"), "{cause}");
    assert!(cause.contains("psi"), "{cause}");
}

/// Validates an event against the OpenLineage 2-0-2 RunEvent schema, and each facet whose
/// schema is vendored (tests/fixtures/openlineage) against its own; all offline.
fn validate_openlineage(event: &serde_json::Value) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/openlineage");
    let load = |f: &str| -> serde_json::Value {
        serde_json::from_str(&std::fs::read_to_string(dir.join(f)).unwrap()).unwrap()
    };
    let core = load("OpenLineage.json");
    let validator = |root: &str| {
        jsonschema::options()
            .with_draft(jsonschema::Draft::Draft202012)
            .should_validate_formats(true)
            .with_resource(
                "https://openlineage.io/spec/2-0-2/OpenLineage.json",
                jsonschema::Resource::from_contents(core.clone()).unwrap(),
            )
            .build(&serde_json::json!({"$ref": root}))
            .unwrap()
    };
    let run_event = validator("https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent");
    let errors: Vec<String> = run_event
        .iter_errors(event)
        .map(|e| format!("{e} at {}", e.instance_path))
        .collect();
    assert!(errors.is_empty(), "{errors:?}\n{event:#}");
    for (file, name, facets) in [
        ("ColumnLineageDatasetFacet.json", "columnLineage", "facets"),
        (
            "DataQualityAssertionsDatasetFacet.json",
            "dataQualityAssertions",
            "facets",
        ),
        (
            "DataQualityMetricsInputDatasetFacet.json",
            "dataQualityMetrics",
            "inputFacets",
        ),
    ] {
        let schema = load(file);
        let id = schema["$id"].as_str().unwrap().to_string();
        let def = file.trim_end_matches(".json");
        let v = jsonschema::options()
            .with_draft(jsonschema::Draft::Draft202012)
            .should_validate_formats(true)
            .with_resource(
                "https://openlineage.io/spec/2-0-2/OpenLineage.json",
                jsonschema::Resource::from_contents(core.clone()).unwrap(),
            )
            .with_resource(
                id.clone(),
                jsonschema::Resource::from_contents(schema).unwrap(),
            )
            .build(&serde_json::json!({"$ref": format!("{id}#/$defs/{def}")}))
            .unwrap();
        for ds in ["inputs", "outputs"] {
            for d in event[ds].as_array().unwrap() {
                if let Some(f) = d[facets].get(name) {
                    assert!(
                        f["_schemaURL"].as_str().unwrap().starts_with(&id),
                        "{name} claims {} but is checked against {id}",
                        f["_schemaURL"]
                    );
                    let errors: Vec<String> = v.iter_errors(f).map(|e| e.to_string()).collect();
                    assert!(errors.is_empty(), "{name}: {errors:?}\n{f:#}");
                }
            }
        }
    }
}

#[tokio::test]
async fn openlineage_events_validate_against_the_openlineage_json_schema() {
    let dir = tempfile::tempdir().unwrap();
    let ws = workspace(dir.path()).await;
    apply_contract(&ws, dir.path(), "orders", ORDERS_EXPECT).await;
    for c in ["C1", "C2", "C3", "C4"] {
        consent(&ws, c, Decision::Grant).await;
    }
    // COMPLETE with every facet kind: a warn-only quality step, a load.
    let file = dir.path().join("pipelines/q.yaml");
    std::fs::write(&file, QUALITY_PIPELINE.replace("ON_FAILURE", "warn")).unwrap();
    let ok = ws.run_pipeline(&file, Resume::Auto, &Quiet).await.unwrap();
    assert_eq!(ok.status, "succeeded", "{ok:?}");
    // FAIL: a blocking check on a negative amount.
    std::fs::write(
        dir.path().join("data/orders/b.csv"),
        "customer_id,amount\nC1,4.5\nC4,-7\n",
    )
    .unwrap();
    std::fs::write(&file, QUALITY_PIPELINE.replace("ON_FAILURE", "block")).unwrap();
    let failed = ws.run_pipeline(&file, Resume::Auto, &Quiet).await.unwrap();
    assert_eq!(failed.status, "failed");
    let mut kinds = Vec::new();
    for r in [&ok, &failed] {
        for (_, kind, body) in ws.store().lineage_events(Some(&r.run_id)).await.unwrap() {
            let event: serde_json::Value = serde_json::from_str(&body).unwrap();
            validate_openlineage(&event);
            kinds.push(kind);
        }
    }
    assert_eq!(kinds, vec!["START", "COMPLETE", "START", "FAIL"]);
    // The FAIL event says why, and the assertions facet names the failed check.
    let fail: serde_json::Value = serde_json::from_str(
        &ws.store()
            .lineage_events(Some(&failed.run_id))
            .await
            .unwrap()[1]
            .2,
    )
    .unwrap();
    assert!(fail["run"]["facets"]["errorMessage"]["message"]
        .as_str()
        .unwrap()
        .contains("min on amount"));
    let orders = fail["outputs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["name"] == "orders")
        .unwrap();
    let failed_checks: Vec<&serde_json::Value> = orders["facets"]["dataQualityAssertions"]
        ["assertions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["success"] == false)
        .collect();
    assert_eq!(failed_checks.len(), 1);
    assert_eq!(failed_checks[0]["column"], "amount");
}

#[tokio::test]
async fn an_external_trainer_gets_its_input_and_its_outputs_are_recorded() {
    let dir = tempfile::tempdir().unwrap();
    let ws = workspace(dir.path()).await;
    apply_contract(&ws, dir.path(), "churn_features", CHURN_FEATURES).await;
    for c in ["C1", "C2", "C3", "C4"] {
        consent(&ws, c, Decision::Grant).await;
    }
    // The trainer checks its input is the snapshot's Parquet file and writes two files.
    let script = "test -s \"$CUSTODIA_INPUT\" && case \"$CUSTODIA_INPUT\" in *training.parquet) ;; *) exit 9;; esac && echo weights > \"$CUSTODIA_OUTPUT_DIR/model.bin\" && echo '{\"auc\": 0.71, \"note\": \"text is ignored\"}' > \"$CUSTODIA_OUTPUT_DIR/metrics.json\"";
    let pipeline = |command: &str| {
        TRAIN_PIPELINE.replace(
            "    algorithm: logistic_regression\n    label: churned\n    features: [customer_lifetime_value, order_count]\n",
            &format!("    command: [sh, -c, {}]\n    outputs: [model.bin, metrics.json]\n", serde_json::to_string(command).unwrap()),
        )
    };
    std::fs::create_dir_all(dir.path().join("models")).unwrap();
    std::fs::write(dir.path().join("models/churn.yaml"), "risk: limited\n").unwrap();
    let file = dir.path().join("pipelines/churn.yaml");
    std::fs::write(&file, pipeline(script)).unwrap();
    let r = ws.run_pipeline(&file, Resume::Auto, &Quiet).await.unwrap();
    assert_eq!(r.status, "succeeded", "{r:?}");
    let t = r.steps.last().unwrap();
    assert_eq!(t.output, "model:churn@1");
    assert_eq!(t.metrics.get("auc"), Some(&0.71));
    assert!(!t.metrics.contains_key("note"));
    let m = ws.model_version("churn", None).await.unwrap();
    assert_eq!(m.algorithm, "command");
    assert!(dir.path().join(&m.artifact).join("model.bin").is_file());

    // A trainer that fails, or forgets a declared output, fails the step with where to look.
    std::fs::write(&file, pipeline("echo oops >&2; exit 3")).unwrap();
    let r = ws.run_pipeline(&file, Resume::Fresh, &Quiet).await.unwrap();
    let f = r.failure.unwrap();
    assert!(
        f.message.contains("exited with") && f.message.contains("stderr.log"),
        "{}",
        f.message
    );
    std::fs::write(
        &file,
        pipeline("echo x > \"$CUSTODIA_OUTPUT_DIR/model.bin\""),
    )
    .unwrap();
    let r = ws.run_pipeline(&file, Resume::Fresh, &Quiet).await.unwrap();
    let f = r.failure.unwrap();
    assert!(
        f.message
            .contains("did not write its declared outputs metrics.json"),
        "{}",
        f.message
    );
    assert_eq!(ws.store().model_versions("churn").await.unwrap().len(), 1);
}
