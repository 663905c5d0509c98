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

/// `custodia run pipelines/clv.yaml --json FLAGS…`, which must succeed.
fn json_run(dir: &Path, flags: &[&str]) -> serde_json::Value {
    let out = custodia(dir)
        .args(["run", "pipelines/clv.yaml", "--json"])
        .args(flags)
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
    let r = json_run(dir, &[]);
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
    let r2 = json_run(dir, &[]);
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

/// Kill -9 right after the rows reached a MariaDB (append) or PostgreSQL (replace) table but
/// before the step was journaled: the rerun resumes and the table holds each row once.
#[test]
fn a_run_killed_after_a_database_load_does_not_load_twice() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let targets = rt.block_on(async {
        [
            (custodia_testkit::fresh_mysql("cli_kill").await, "append"),
            (
                custodia_testkit::fresh_postgres("cli_kill").await,
                "replace",
            ),
        ]
    });
    for (url, mode) in targets {
        let Some(url) = url else { continue };
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        setup(dir);
        std::fs::write(
            dir.join("pipelines/clv.yaml"),
            PIPELINE.replace(
                "    table: customer_features\n    mode: append\n",
                &format!("    target: {url}\n    table: customer_features\n    mode: {mode}\n"),
            ),
        )
        .unwrap();
        kill_at(dir, "after_load:load");
        let r = json_run(dir, &[]);
        assert_eq!(r["resumed"], true, "{r}");
        let states: Vec<&str> = r["steps"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["state"].as_str().unwrap())
            .collect();
        assert_eq!(states, vec!["resumed", "resumed", "ran"], "{url}");
        assert_eq!(
            r["steps"][2]["loaded"], 0,
            "the killed attempt's rows stand: {url}"
        );
        let n: i64 = rt.block_on(async {
            sqlx::any::install_default_drivers();
            let mut c = <sqlx::AnyConnection as sqlx::Connection>::connect(&url)
                .await
                .unwrap();
            sqlx::Row::get(
                &sqlx::Executor::fetch_one(&mut c, "SELECT COUNT(*) FROM customer_features")
                    .await
                    .unwrap(),
                0,
            )
        });
        assert_eq!(n, 700, "{url}: every customer exactly once");
    }
}

/// The registry, snapshot and lineage commands on a trained model, through the binary.
#[test]
fn models_snapshots_and_lineage_commands() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    setup(dir);
    // Consent-based this time: the snapshot is consent-filtered, the card gets its scope.
    std::fs::write(
        dir.join("contracts/customer_features.yaml"),
        FEATURES
            .replace(
                "  - name: customer_lifetime_value\n    classification: L0\n",
                "  - name: customer_lifetime_value\n    classification: L0\n  - name: big\n    classification: L0\n",
            )
            .replace("legal_basis: contract", "legal_basis: consent"),
    )
    .unwrap();
    std::fs::write(
        dir.join("contracts/orders.yaml"),
        ORDERS.replace("legal_basis: contract", "legal_basis: consent"),
    )
    .unwrap();
    let mut consent = String::from("customer_id,purpose,status,timestamp\n");
    for i in 0..700 {
        let status = if i == 7 { "withdrawn" } else { "granted" };
        consent.push_str(&format!(
            "C{i},model_training,granted,2026-01-01T00:00:00Z\n"
        ));
        if status == "withdrawn" {
            consent.push_str(&format!(
                "C{i},model_training,withdrawn,2026-02-01T00:00:00Z\n"
            ));
        }
    }
    std::fs::write(dir.join("data/consent.csv"), consent).unwrap();
    let o = custodia(dir)
        .args([
            "consent",
            "import",
            "data/consent.csv",
            "--jurisdiction",
            "eu",
        ])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(custodia(dir)
        .args(["contract", "apply", "contracts/"])
        .output()
        .unwrap()
        .status
        .success());
    std::fs::write(dir.join("models.yaml"), "risk: limited\n").unwrap();
    std::fs::write(
        dir.join("pipelines/clv.yaml"),
        PIPELINE
            .replace(
                "SUM(amount) AS customer_lifetime_value FROM",
                "SUM(amount) AS customer_lifetime_value, CASE WHEN SUM(amount) > 40 THEN 1 ELSE 0 END AS big FROM",
            )
            + "  - id: snap\n    kind: snapshot\n    needs: [clv]\n    name: clv_training\n  - id: train\n    kind: train\n    needs: [snap]\n    model: big_spender\n    algorithm: logistic_regression\n    label: big\n    features: [customer_lifetime_value]\n    card: models.yaml\n",
    )
    .unwrap();
    json_run(dir, &[]);
    let out = |args: &[&str]| {
        let o = custodia(dir).args(args).output().unwrap();
        (
            o.status.code(),
            String::from_utf8_lossy(&o.stdout).into_owned(),
            String::from_utf8_lossy(&o.stderr).into_owned(),
        )
    };
    let (code, list, _) = out(&["models", "list", "--json"]);
    assert_eq!(code, Some(0));
    let list: serde_json::Value = serde_json::from_str(&list).unwrap();
    assert_eq!(list[0]["model"], "big_spender");
    assert_eq!(list[0]["stage"], "registered");
    // The card template gives the risk but no owner, and the contract names none: refused.
    let (code, _, err) = out(&["models", "promote", "big_spender@1"]);
    assert_eq!(code, Some(1), "{err}");
    assert!(
        err.contains("model.incomplete") && err.contains("owner"),
        "{err}"
    );
    std::fs::write(
        dir.join("models.yaml"),
        "risk: limited\nowner: ml@example.com\n",
    )
    .unwrap();
    json_run(dir, &["--fresh"]);
    let (code, text, err) = out(&["models", "promote", "big_spender@2"]);
    assert_eq!(code, Some(0), "{err}");
    assert!(text.contains("big_spender@2 is in production"), "{text}");
    let (_, show, _) = out(&["models", "show", "big_spender@2"]);
    assert!(
        show.contains("production") && show.contains("owner: ml@example.com"),
        "{show}"
    );

    let (code, snaps, _) = out(&["snapshot", "list", "--json"]);
    assert_eq!(code, Some(0));
    let snaps: serde_json::Value = serde_json::from_str(&snaps).unwrap();
    assert_eq!(snaps[0]["snapshot"], "clv_training");
    assert_eq!(snaps[0]["subjects"], 699, "C7 withdrew");
    let (code, contains, err) = out(&["snapshot", "contains", "clv_training", "customer_id:C8"]);
    assert_eq!(code, Some(0), "{err}");
    assert!(
        contains.contains("clv_training@1, clv_training@2"),
        "{contains}"
    );
    let (_, absent, _) = out(&["snapshot", "contains", "clv_training", "customer_id:C7"]);
    assert!(absent.contains("in no version"), "{absent}");

    let (code, mermaid, err) = out(&[
        "lineage",
        "trace",
        "model:big_spender@2.customer_lifetime_value",
        "--upstream",
        "--format",
        "mermaid",
    ]);
    assert_eq!(code, Some(0), "{err}");
    assert!(
        mermaid.starts_with("flowchart LR") && mermaid.contains("orders@2.amount"),
        "{mermaid}"
    );
    let (_, impact, _) = out(&["lineage", "impact", "orders.amount", "--json"]);
    let impact: serde_json::Value = serde_json::from_str(&impact).unwrap();
    assert!(impact["models"]["big_spender"].is_array(), "{impact}");
    let (_, events, _) = out(&["lineage", "events"]);
    assert_eq!(
        events.lines().count(),
        4,
        "two runs, START and COMPLETE each"
    );
    let (code, _, err) = out(&["lineage", "trace", "nonexistent.col"]);
    assert_eq!(code, Some(2));
    assert!(
        err.contains("not a dataset, column or model lineage knows"),
        "{err}"
    );
}
