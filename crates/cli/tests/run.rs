//! `custodia run` through the binary: a run killed with SIGKILL resumes on the next
//! invocation, with no step recorded twice and no row loaded twice.

use std::{path::Path, process::Command, time::Duration};

const ORDERS: &str = "dataset: orders\nregion: eu\nsubject_key: customer_id\npurposes:\n  - name: model_training\n    legal_basis: contract\ncolumns:\n  - name: customer_id\n    classification: L2\n  - name: amount\n    classification: L0\n";
const FEATURES: &str = "dataset: customer_features\nregion: eu\nsubject_key: customer_id\npurposes:\n  - name: model_training\n    legal_basis: contract\ncolumns:\n  - name: customer_id\n    classification: L2\n  - name: customer_lifetime_value\n    classification: L0\n";
const PIPELINE: &str = "pipeline: clv\npurpose: model_training\nregion: eu\nrole: ml_engineer\nsteps:\n  - id: orders\n    kind: ingest\n    source: data/orders.csv\n    dataset: orders\n  - id: clv\n    kind: features\n    needs: [orders]\n    dataset: customer_features\n    sql: SELECT customer_id, SUM(amount) AS customer_lifetime_value FROM orders GROUP BY customer_id\n  - id: load\n    kind: load\n    needs: [clv]\n    table: customer_features\n    mode: append\n";

fn custodia(dir: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_custodia"));
    c.current_dir(dir).env_remove("CUSTODIA_FAILPOINT");
    c
}

fn setup(dir: &Path) {
    assert!(custodia(dir).arg("init").output().unwrap().status.success());
    std::fs::create_dir_all(dir.join("contracts")).unwrap();
    std::fs::write(dir.join("contracts/orders.yaml"), ORDERS).unwrap();
    std::fs::write(dir.join("contracts/customer_features.yaml"), FEATURES).unwrap();
    let out = custodia(dir)
        .args(["contract", "apply", "contracts/"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::create_dir_all(dir.join("data")).unwrap();
    let mut csv = String::from("customer_id,amount\n");
    for i in 0..5000 {
        csv.push_str(&format!("C{},{}.5\n", i % 700, i % 13));
    }
    std::fs::write(dir.join("data/orders.csv"), csv).unwrap();
    std::fs::create_dir_all(dir.join("pipelines")).unwrap();
    std::fs::write(dir.join("pipelines/clv.yaml"), PIPELINE).unwrap();
}

fn kill_at(dir: &Path, point: &str) {
    let reached = dir.join(".custodia/failpoint-reached");
    let _ = std::fs::remove_file(&reached);
    let mut child = custodia(dir)
        .args(["run", "pipelines/clv.yaml"])
        .env("CUSTODIA_FAILPOINT", point)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    for _ in 0..600 {
        if reached.exists() {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(reached.exists(), "the run never reached {point}");
    // SIGKILL: no destructor, no cleanup.
    child.kill().unwrap();
    child.wait().unwrap();
}

fn json_run(dir: &Path) -> serde_json::Value {
    let out = custodia(dir)
        .args(["run", "pipelines/clv.yaml", "--json"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn a_killed_run_resumes_without_doing_anything_twice() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    setup(dir);
    // Killed after the ingest step committed.
    kill_at(dir, "after_step:orders");
    // Killed again on the rerun, after the rows reached the warehouse but before the
    // step was journaled.
    kill_at(dir, "after_load:load");
    let r = json_run(dir);
    assert_eq!(r["resumed"], true, "{r}");
    assert_eq!(r["status"], "succeeded");
    let states: Vec<&str> = r["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["state"].as_str().unwrap())
        .collect();
    assert_eq!(states, ["resumed", "resumed", "ran"], "{r}");
    assert_eq!(r["steps"][2]["loaded"], 0, "rows were already loaded: {r}");
    assert_eq!(r["steps"][1]["rows"], 700);
    // The warehouse holds each customer once; one version per step.
    let counts: (i64, i64) = tokio::runtime::Runtime::new().unwrap().block_on(async {
        use sqlx::Connection;
        let url = format!("sqlite://{}", dir.join(".custodia/warehouse.db").display());
        let mut c = sqlx::SqliteConnection::connect(&url).await.unwrap();
        sqlx::query_as("SELECT COUNT(*), COUNT(DISTINCT customer_id) FROM customer_features")
            .fetch_one(&mut c)
            .await
            .unwrap()
    });
    assert_eq!(counts, (700, 700));
    let export = dir.join("audit-export");
    let out = custodia(dir)
        .args(["audit", "export"])
        .arg(&export)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = custodia(dir)
        .args(["audit", "verify"])
        .arg(&export)
        .arg("--pubkey")
        .arg(export.join("audit.vkey"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    // A second full run is a new run and appends its own rows once.
    let r2 = json_run(dir);
    assert_eq!(r2["resumed"], false);
    assert_eq!(r2["steps"][2]["loaded"], 700);
    // The readable report: one line per step, then the outcome.
    let out = custodia(dir)
        .args(["run", "pipelines/clv.yaml"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(
        text.contains("orders@3")
            && text.contains("loaded 700 rows")
            && text.contains(": succeeded"),
        "{text}"
    );
    // Residency: EU personal data processed in `us` is denied before anything runs, exit 1.
    std::fs::write(
        dir.join("pipelines/us.yaml"),
        PIPELINE
            .replace("pipeline: clv\n", "pipeline: clv_us\n")
            .replace("region: eu\nrole", "region: us\nrole"),
    )
    .unwrap();
    let out = custodia(dir)
        .args(["run", "pipelines/us.yaml"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("residency.no_transfer_mechanism") && err.contains("step \"orders\""),
        "{err}"
    );
}
