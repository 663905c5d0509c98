//! `custodia pipeline validate` on real pipeline files.

use std::process::Command;

const GOOD: &str = "pipeline: churn_features\npurpose: model_training\nsteps:\n  - id: orders\n    kind: ingest\n    source: data/orders/*.csv\n    dataset: orders\n  - id: clv\n    kind: features\n    needs: [orders]\n    dataset: customer_features\n    sql: SELECT customer_id, SUM(amount) AS customer_lifetime_value FROM orders GROUP BY customer_id\n  - id: load\n    kind: load\n    needs: [clv]\n    table: customer_features\n";

#[test]
fn validate_reports_order_and_located_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("pipelines");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("churn.yaml"), GOOD).unwrap();
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_custodia"))
            .args(args)
            .current_dir(tmp.path())
            .output()
            .unwrap()
    };
    let out = run(&["pipeline", "validate", "pipelines/"]);
    assert_eq!(out.status.code(), Some(0));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("orders (ingest) -> clv (features) -> load (load)"),
        "{stdout}"
    );
    std::fs::write(
        dir.join("broken.yaml"),
        GOOD.replace("needs: [clv]", "needs: [features]")
            .replace("pipeline: churn_features", "pipeline: broken"),
    )
    .unwrap();
    let out = run(&["pipeline", "validate", "pipelines/", "--json"]);
    assert_eq!(out.status.code(), Some(2));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["valid"].as_array().unwrap().len(), 1);
    let e = v["errors"][0].as_str().unwrap();
    assert!(
        e.starts_with("pipelines/broken.yaml:15:") && e.contains("\"features\" does not exist"),
        "{e}"
    );
}
