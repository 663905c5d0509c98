//! `custodia retention` through the binary: contracts' retention found in every version,
//! snapshot and warehouse table, rows deleted or anonymized, a sweep killed with SIGKILL
//! finished by the next `apply` with nothing done twice, models on expired data flagged.

use std::{
    path::{Path, PathBuf},
    process::{Command, Stdio},
    time::Duration,
};

use arrow::array::{Array, AsArray};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

const EVENTS: &str = "dataset: events\nregion: eu\nsubject_key: email\nretention: 30d\non_expiry:\n  by: ordered_at\n  action: delete\npurposes:\n  - name: model_training\n    legal_basis: contract\ncolumns:\n  - name: email\n    classification: L2\n    pii: EMAIL_ADDRESS\n  - name: ordered_at\n    type: date\n    classification: L0\n  - name: amount\n    classification: L0\n  - name: big\n    classification: L0\n";
const VISITS: &str = "dataset: visits\nregion: eu\nsubject_key: email\nretention: 30d\non_expiry:\n  by: day\n  action: anonymize\npurposes:\n  - name: model_training\n    legal_basis: contract\ncolumns:\n  - name: email\n    classification: L2\n    pii: EMAIL_ADDRESS\n  - name: day\n    type: date\n    classification: L0\n  - name: pages\n    classification: L0\n";

fn custodia(dir: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_custodia"));
    c.current_dir(dir).env_remove("CUSTODIA_FAILPOINT");
    c
}

fn ok(dir: &Path, args: &[&str]) -> String {
    let o = custodia(dir).args(args).output().unwrap();
    assert_eq!(
        o.status.code(),
        Some(0),
        "custodia {args:?}: {}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout).unwrap()
}

fn column(path: &Path, name: &str) -> Vec<Option<String>> {
    let reader = ParquetRecordBatchReaderBuilder::try_new(std::fs::File::open(path).unwrap())
        .unwrap()
        .build()
        .unwrap();
    let mut out = Vec::new();
    for b in reader {
        let b = b.unwrap();
        let c = arrow::compute::cast(
            b.column(b.schema().index_of(name).unwrap()),
            &arrow::datatypes::DataType::Utf8,
        )
        .unwrap();
        let c = c.as_string::<i32>();
        out.extend((0..c.len()).map(|i| c.is_valid(i).then(|| c.value(i).to_string())));
    }
    out
}

fn run_file(dir: &Path, step: &str) -> PathBuf {
    let runs = dir.join(".custodia/runs");
    let run = std::fs::read_dir(&runs)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    run.join(format!("{step}.parquet"))
}

#[test]
fn retention_expires_rows_everywhere_and_a_killed_sweep_finishes() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    ok(dir, &["init"]);
    std::fs::write(dir.join("contracts/events.yaml"), EVENTS).unwrap();
    std::fs::write(dir.join("contracts/visits.yaml"), VISITS).unwrap();
    ok(dir, &["contract", "apply", "contracts/"]);
    let now = custodia_core::time::format_rfc3339(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_micros() as i64
            - 2 * 86_400_000_000,
    );
    let recent = &now[..10];
    std::fs::create_dir_all(dir.join("data")).unwrap();
    let mut events = String::from("email,ordered_at,amount,big\n");
    let mut visits = String::from("email,day,pages\n");
    for i in 0..40 {
        let day = if i % 4 == 0 { "2025-01-15" } else { recent };
        events.push_str(&format!("u{i}@example.com,{day},{}.5,{}\n", i * 3, i % 2));
        visits.push_str(&format!("u{i}@example.com,{day},{}\n", i % 7));
    }
    std::fs::write(dir.join("data/events.csv"), events).unwrap();
    std::fs::write(dir.join("data/visits.csv"), visits).unwrap();
    std::fs::write(
        dir.join("pipelines/shop.yaml"),
        "pipeline: shop\npurpose: model_training\nregion: eu\nrole: ml_engineer\nsteps:\n  - id: events\n    kind: ingest\n    source: data/events.csv\n    dataset: events\n  - id: visits\n    kind: ingest\n    source: data/visits.csv\n    dataset: visits\n  - id: load\n    kind: load\n    needs: [events]\n    table: events\n  - id: snap\n    kind: snapshot\n    needs: [events]\n    name: spend\n  - id: train\n    kind: train\n    needs: [snap]\n    model: spender\n    algorithm: logistic_regression\n    label: big\n    features: [amount]\n",
    )
    .unwrap();
    ok(dir, &["run", "pipelines/shop.yaml"]);

    let plan: serde_json::Value =
        serde_json::from_str(&ok(dir, &["retention", "plan", "--json"])).unwrap();
    let expiring: Vec<(String, u64, String)> = plan["expiring"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["location"]
                    .as_str()
                    .unwrap()
                    .split(' ')
                    .next()
                    .unwrap()
                    .to_string(),
                e["expiring"].as_u64().unwrap(),
                e["action"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    for want in [
        ("dataset:events@1", 10, "delete"),
        ("dataset:visits@1", 10, "anonymize"),
        ("dataset:warehouse.events@1", 10, "delete"),
        ("dataset:snapshots.spend@1", 10, "delete"),
        ("table:sqlite://.custodia/warehouse.db/events", 10, "delete"),
    ] {
        assert!(
            expiring.contains(&(want.0.into(), want.1, want.2.into())),
            "{want:?} not in {expiring:?}"
        );
    }
    assert_eq!(plan["models"][0]["model"], "spender@1", "{plan}");
    // Planning changes nothing.
    assert_eq!(column(&run_file(dir, "events"), "email").len(), 40);

    // A sweep killed between recording a rewrite and renaming it.
    let reached = dir.join(".custodia/failpoint-reached");
    let mut child = custodia(dir)
        .args(["retention", "apply"])
        .env("CUSTODIA_FAILPOINT", "retention_staged")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    for _ in 0..600 {
        if reached.exists() {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(reached.exists());
    child.kill().unwrap();
    child.wait().unwrap();
    let done: serde_json::Value =
        serde_json::from_str(&ok(dir, &["retention", "apply", "--json"])).unwrap();
    assert_eq!(
        done["done"].as_array().unwrap().len(),
        expiring.len(),
        "{done}"
    );

    // Deleted: only recent rows are left in the ingest, the load copy, the snapshot and
    // the warehouse table.
    for step in ["events", "load", "snap"] {
        let days = column(&run_file(dir, step), "ordered_at");
        assert_eq!(days.len(), 30, "{step}");
        assert!(
            days.iter().all(|d| d.as_deref() == Some(recent)),
            "{step}: {days:?}"
        );
    }
    let warehouse = format!("sqlite://{}", dir.join(".custodia/warehouse.db").display());
    let left: i64 = tokio::runtime::Runtime::new().unwrap().block_on(async {
        sqlx::any::install_default_drivers();
        let mut c = <sqlx::AnyConnection as sqlx::Connection>::connect(&warehouse)
            .await
            .unwrap();
        sqlx::query_scalar("SELECT COUNT(*) FROM events WHERE ordered_at < '2026-01-01'")
            .fetch_one(&mut c)
            .await
            .unwrap()
    });
    assert_eq!(left, 0);
    // Anonymized: old visits stay with no email; recent ones keep theirs.
    let emails = column(&run_file(dir, "visits"), "email");
    let days = column(&run_file(dir, "visits"), "day");
    let pages = column(&run_file(dir, "visits"), "pages");
    assert_eq!((emails.len(), pages.iter().flatten().count()), (40, 40));
    for (e, d) in emails.iter().zip(&days) {
        assert_eq!(
            e.is_none(),
            d.as_deref() == Some("2025-01-15"),
            "{e:?} {d:?}"
        );
    }
    // Nothing twice: one audit entry per place, one revision per version.
    let log = ok(dir, &["audit", "log", "--json", "--limit", "100000"]);
    assert_eq!(
        log.matches("\"retention.expire\"").count(),
        expiring.len(),
        "{log}"
    );
    let models: serde_json::Value =
        serde_json::from_str(&ok(dir, &["models", "show", "spender@1", "--json"])).unwrap();
    assert!(
        models[0]["flagged"]["reason"]
            .as_str()
            .unwrap()
            .contains("retention"),
        "{models}"
    );
    // A second sweep finds nothing left to do.
    let again: serde_json::Value =
        serde_json::from_str(&ok(dir, &["retention", "plan", "--json"])).unwrap();
    assert!(again["expiring"].as_array().unwrap().is_empty(), "{again}");
}

#[test]
fn a_purpose_with_a_shorter_retention_reads_only_rows_within_it() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    ok(dir, &["init"]);
    std::fs::write(
        dir.join("contracts/events.yaml"),
        EVENTS
            .replace("retention: 30d\n", "retention: 2y\n")
            .replace(
                "    legal_basis: contract\n",
                "    legal_basis: contract\n    retention: 30d\n",
            ),
    )
    .unwrap();
    ok(dir, &["contract", "apply", "contracts/"]);
    let recent = &custodia_core::time::format_rfc3339(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_micros() as i64
            - 2 * 86_400_000_000,
    )[..10];
    std::fs::create_dir_all(dir.join("data")).unwrap();
    let mut events = String::from("email,ordered_at,amount,big\n");
    for i in 0..40 {
        let day = if i % 4 == 0 { "2025-01-15" } else { recent };
        events.push_str(&format!("u{i}@example.com,{day},{i}.5,{}\n", i % 2));
    }
    std::fs::write(dir.join("data/events.csv"), events).unwrap();
    std::fs::write(
        dir.join("pipelines/p.yaml"),
        "pipeline: p\npurpose: model_training\nregion: eu\nrole: ml_engineer\nsteps:\n  - id: events\n    kind: ingest\n    source: data/events.csv\n    dataset: events\n",
    )
    .unwrap();
    let report: serde_json::Value =
        serde_json::from_str(&ok(dir, &["run", "pipelines/p.yaml", "--json"])).unwrap();
    let step = &report["steps"][0];
    assert_eq!(step["rows"], 30, "{step}");
    assert_eq!(
        step["enforcement"]["row_filter"],
        "retention:model_training<30d"
    );
    let days = column(&run_file(dir, "events"), "ordered_at");
    assert!(
        days.iter().all(|d| d.as_deref() == Some(recent)),
        "{days:?}"
    );
    // The dataset's own two years are not up: nothing to delete.
    let plan: serde_json::Value =
        serde_json::from_str(&ok(dir, &["retention", "plan", "--json"])).unwrap();
    assert!(plan["expiring"].as_array().unwrap().is_empty(), "{plan}");
}
