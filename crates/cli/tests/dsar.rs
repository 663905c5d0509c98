//! `custodia dsar` through the binary: an erasure request runs through a pipeline's every
//! output (source copies, de-identified and feature tables, warehouse tables on SQLite,
//! PostgreSQL and MariaDB, a training snapshot and its manifest, a model), survives a
//! SIGKILL mid-way, and ends with a certificate an auditor can check offline.

use std::{
    path::{Path, PathBuf},
    process::{Command, Output, Stdio},
    time::Duration,
};

use arrow::array::{Array, AsArray};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

const CUSTOMERS: &str = "dataset: customers\nregion: eu\nsubject_key: email\npurposes:\n  - name: model_training\n    legal_basis: contract\ncolumns:\n  - name: email\n    classification: L2\n    pii: EMAIL_ADDRESS\n  - name: phone\n    classification: L2\n    pii: PHONE_NUMBER\n    transform: tokenize\n  - name: country\n    classification: L1\n  - name: churned\n    classification: L1\n";
const ORDERS: &str = "dataset: orders\nregion: eu\nsubject_key: email\npurposes:\n  - name: model_training\n    legal_basis: contract\ncolumns:\n  - name: email\n    classification: L2\n    pii: EMAIL_ADDRESS\n  - name: amount\n    classification: L0\n";
const FEATURES: &str = "dataset: churn_features\nregion: eu\nsubject_key: email\npurposes:\n  - name: model_training\n    legal_basis: contract\ncolumns:\n  - name: email\n    classification: L2\n    pii: EMAIL_ADDRESS\n  - name: spend\n    classification: L0\n  - name: orders\n    classification: L0\n  - name: churned\n    classification: L1\n";

const ANA: &str = "ana@example.com";

fn custodia(dir: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_custodia"));
    c.current_dir(dir).env_remove("CUSTODIA_FAILPOINT");
    c
}

fn run(dir: &Path, args: &[&str]) -> Output {
    custodia(dir).args(args).output().unwrap()
}

fn ok(dir: &Path, args: &[&str]) -> String {
    let o = run(dir, args);
    assert_eq!(
        o.status.code(),
        Some(0),
        "custodia {args:?}: {}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout).unwrap()
}

fn block<T>(f: impl std::future::Future<Output = T>) -> T {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(f)
}

/// Rows of `table` at `url` whose `email` is Ana's.
fn rows_of_ana(url: &str, table: &str) -> i64 {
    block(async {
        sqlx::any::install_default_drivers();
        let mut c = <sqlx::AnyConnection as sqlx::Connection>::connect(url)
            .await
            .unwrap();
        let sql = format!("SELECT COUNT(*) FROM {table} WHERE email = '{ANA}'");
        let n: i64 = sqlx::query_scalar(&sql).fetch_one(&mut c).await.unwrap();
        n
    })
}

/// Every value of `column` in a Parquet file, as text.
fn column_values(path: &Path, column: &str) -> Vec<String> {
    let file = std::fs::File::open(path).unwrap();
    let reader = ParquetRecordBatchReaderBuilder::try_new(file)
        .unwrap()
        .build()
        .unwrap();
    let mut out = Vec::new();
    for b in reader {
        let b = b.unwrap();
        let Ok(i) = b.schema().index_of(column) else {
            return out;
        };
        let c = arrow::compute::cast(b.column(i), &arrow::datatypes::DataType::Utf8).unwrap();
        let c = c.as_string::<i32>();
        out.extend(
            (0..c.len())
                .filter(|r| c.is_valid(*r))
                .map(|r| c.value(r).to_string()),
        );
    }
    out
}

fn parquet_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(parquet_files(&p));
        } else if p.extension().is_some_and(|x| x == "parquet") {
            out.push(p);
        }
    }
    out.sort();
    out
}

fn setup(dir: &Path, databases: &[String]) {
    ok(dir, &["init"]);
    for (name, text) in [
        ("customers", CUSTOMERS),
        ("orders", ORDERS),
        ("churn_features", FEATURES),
    ] {
        std::fs::write(dir.join(format!("contracts/{name}.yaml")), text).unwrap();
    }
    ok(dir, &["contract", "apply", "contracts/"]);
    std::fs::create_dir_all(dir.join("data")).unwrap();
    let mut customers = String::from("email,phone,country,churned\n");
    let mut orders = String::from("email,amount\n");
    for i in 0..60 {
        let email = if i == 7 {
            ANA.to_string()
        } else {
            format!("user{i}@example.com")
        };
        // Ana's identifier arrives in another spelling in one of the files.
        let shown = if i == 7 {
            "Ana@Example.com".into()
        } else {
            email.clone()
        };
        customers.push_str(&format!(
            "{shown},+44 20 7946 {:04},uk,{}\n",
            1000 + i,
            i % 3 == 0
        ));
        for k in 0..(i % 5 + 8) {
            orders.push_str(&format!("{email},{}.5\n", (i * 7 + k) % 50));
        }
    }
    std::fs::write(dir.join("data/customers.csv"), customers).unwrap();
    std::fs::write(dir.join("data/orders.csv"), orders).unwrap();
    let mut pipeline = String::from(
        "pipeline: churn\npurpose: model_training\nregion: eu\nrole: ml_engineer\nsteps:\n  - id: customers\n    kind: ingest\n    source: data/customers.csv\n    dataset: customers\n  - id: safe\n    kind: deidentify\n    needs: [customers]\n  - id: orders\n    kind: ingest\n    source: data/orders.csv\n    dataset: orders\n  - id: features\n    kind: features\n    needs: [orders, safe]\n    dataset: churn_features\n    sql: SELECT lower(s.email) AS email, SUM(o.amount) AS spend, COUNT(*) AS orders, MAX(CAST(s.churned AS INT)) AS churned FROM orders o JOIN safe s ON o.email = lower(s.email) GROUP BY lower(s.email)\n  - id: load\n    kind: load\n    needs: [features]\n    table: churn_features\n  - id: training\n    kind: snapshot\n    needs: [features]\n    name: churn_training\n  - id: train\n    kind: train\n    needs: [training]\n    model: churn\n    algorithm: logistic_regression\n    label: churned\n    features: [spend, orders]\n",
    );
    for (i, url) in databases.iter().enumerate() {
        pipeline.push_str(&format!(
            "  - id: load_db{i}\n    kind: load\n    needs: [features]\n    table: churn_features\n    target: {url}\n"
        ));
    }
    std::fs::write(dir.join("pipelines/churn.yaml"), pipeline).unwrap();
    ok(dir, &["run", "pipelines/churn.yaml"]);
}

/// `dsar run ID` stopped by SIGKILL at its first staged file rewrite.
fn kill_mid_erasure(dir: &Path, id: &str) {
    let reached = dir.join(".custodia/failpoint-reached");
    let _ = std::fs::remove_file(&reached);
    let mut child = custodia(dir)
        .args(["dsar", "run", id])
        .env("CUSTODIA_FAILPOINT", "dsar_staged")
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
    assert!(
        reached.exists(),
        "the erasure never reached its first rewrite"
    );
    child.kill().unwrap();
    child.wait().unwrap();
}

#[test]
fn an_erasure_removes_the_subject_everywhere_survives_a_kill_and_proves_it() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let mut databases = Vec::new();
    databases.extend(block(custodia_testkit::fresh_postgres("dsar")));
    databases.extend(block(custodia_testkit::fresh_mysql("dsar")));
    setup(dir, &databases);
    let runs = dir.join(".custodia/runs");
    let before: Vec<(PathBuf, usize)> = parquet_files(&runs)
        .into_iter()
        .map(|p| {
            let n = column_values(&p, "email").len();
            (p, n)
        })
        .collect();
    let holding = before
        .iter()
        .filter(|(p, _)| {
            column_values(p, "email")
                .iter()
                .any(|v| v.eq_ignore_ascii_case(ANA))
        })
        .count();
    assert!(holding >= 5, "Ana should be in 5+ files: {before:?}");
    // A copy of the tokenized table made before the erasure (a backup, an export).
    let safe = parquet_files(&runs)
        .into_iter()
        .find(|p| p.file_name().unwrap() == "safe.parquet")
        .unwrap();
    std::fs::copy(&safe, dir.join("backup.parquet")).unwrap();
    let restored = ok(
        dir,
        &[
            "detokenize",
            "backup.parquet",
            "--out",
            "restored.parquet",
            "--json",
        ],
    );
    let restored: serde_json::Value = serde_json::from_str(&restored).unwrap();
    assert_eq!(restored["shredded"], 0, "{restored}");
    let ana_ref = ok(dir, &["subject", "ref", &format!("email:{ANA}")]);
    let ana_ref = ana_ref.trim();

    // Open: a deadline one month out under the GDPR; nothing runs before verification.
    let id = ok(
        dir,
        &[
            "dsar",
            "open",
            "--type",
            "erasure",
            "--subject",
            &format!("email:{ANA}"),
            "--jurisdiction",
            "eu",
            "--received",
            "2026-01-31T10:00:00Z",
        ],
    );
    let id = id.trim().to_string();
    let show: serde_json::Value =
        serde_json::from_str(&ok(dir, &["dsar", "show", &id, "--json"])).unwrap();
    assert_eq!(show["due"], "2026-02-28T23:59:59.999999Z", "{show}");
    assert_eq!(show["state"], "received");
    assert_eq!(show["subject_ref"], ana_ref);
    let early = run(dir, &["dsar", "run", &id]);
    assert_eq!(early.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&early.stderr).contains("dsar verify"));
    ok(dir, &["dsar", "verify", &id, "--method", "email_link"]);
    // Its term is over: too late to extend it.
    let late = run(dir, &["dsar", "extend", &id, "--reason", "complex request"]);
    assert_eq!(late.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&late.stderr).contains("days ago"),
        "{}",
        String::from_utf8_lossy(&late.stderr)
    );
    let future = run(
        dir,
        &[
            "dsar",
            "open",
            "--type",
            "access",
            "--subject",
            &format!("email:{ANA}"),
            "--received",
            "2099-01-01T00:00:00Z",
        ],
    );
    assert_eq!(
        future.status.code(),
        Some(2),
        "a request received in the future"
    );
    // A request received three days ago: extended by two months, once.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_micros() as i64;
    let received = now - 3 * 86_400_000_000;
    let recent = ok(
        dir,
        &[
            "dsar",
            "open",
            "--type",
            "access",
            "--subject",
            &format!("email:{ANA}"),
            "--received",
            &custodia_core::time::format_rfc3339(received),
        ],
    );
    let recent = recent.trim().to_string();
    let ext = run(
        dir,
        &["dsar", "extend", &recent, "--reason", "ask ana@example.com"],
    );
    assert_eq!(
        ext.status.code(),
        Some(2),
        "a reason holding personal data is refused"
    );
    ok(
        dir,
        &[
            "dsar",
            "extend",
            &recent,
            "--reason",
            "complex request: 6 systems",
        ],
    );
    let listed = ok(dir, &["dsar", "list", "--json"]);
    let due = custodia_core::time::format_rfc3339(custodia_core::time::end_of_day_after_months(
        received, 3,
    ));
    assert!(listed.contains(&format!("\"due\": \"{due}\"")), "{listed}");
    let again = run(
        dir,
        &["dsar", "extend", &recent, "--reason", "still complex"],
    );
    assert_eq!(again.status.code(), Some(2), "one extension only");

    kill_mid_erasure(dir, &id);
    let show: serde_json::Value =
        serde_json::from_str(&ok(dir, &["dsar", "show", &id, "--json"])).unwrap();
    assert_eq!(show["state"], "in_progress", "{show}");
    let out: serde_json::Value =
        serde_json::from_str(&ok(dir, &["dsar", "run", &id, "--json"])).unwrap();
    assert_eq!(out["request"]["state"], "completed", "{out}");
    if std::env::var("DSAR_DEBUG").is_ok() {
        eprintln!("{}", serde_json::to_string_pretty(&out).unwrap());
        eprintln!("{}", ok(dir, &["dsar", "show", &id]));
    }

    // Gone from every file the pipeline wrote, and nobody else's rows went with Ana's.
    for (path, rows_before) in &before {
        let values = column_values(path, "email");
        assert!(
            !values.iter().any(|v| v.eq_ignore_ascii_case(ANA)),
            "{} still holds the subject",
            path.display()
        );
        let ana_rows = rows_before - values.len();
        assert!(
            ana_rows <= 12,
            "{}: {ana_rows} rows removed",
            path.display()
        );
        let staged = path.with_extension("parquet.erasing");
        assert!(!staged.exists(), "a staged rewrite was left behind");
    }
    // The tokenized column held Ana's ref in each of her tokens; none is left.
    assert!(!column_values(&safe, "phone")
        .iter()
        .any(|v| v.contains(ana_ref)));
    // Warehouse tables on every database.
    assert_eq!(
        rows_of_ana(
            &format!("sqlite://{}", dir.join(".custodia/warehouse.db").display()),
            "churn_features"
        ),
        0
    );
    for url in &databases {
        assert_eq!(rows_of_ana(url, "churn_features"), 0, "{url}");
        assert!(block(async {
            let mut c = <sqlx::AnyConnection as sqlx::Connection>::connect(url)
                .await
                .unwrap();
            let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM churn_features")
                .fetch_one(&mut c)
                .await
                .unwrap();
            n == 59
        }));
    }
    // The snapshot's manifest lists 59 subjects now, and the model is flagged.
    let snaps: serde_json::Value =
        serde_json::from_str(&ok(dir, &["snapshot", "show", "churn_training", "--json"])).unwrap();
    assert_eq!(snaps[0]["subjects"], 59, "{snaps}");
    let locations = out["locations"].as_array().unwrap();
    let action = |prefix: &str| -> Vec<String> {
        locations
            .iter()
            .filter(|l| l["location"].as_str().unwrap().starts_with(prefix))
            .map(|l| l["action"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(action("model:churn@1"), ["flagged"]);
    // Retrained through its pipeline, from sources that no longer hold Ana.
    assert_eq!(action("model:churn"), ["flagged", "retrained"], "{out}");
    assert_eq!(action("source:data/"), ["rewritten", "rewritten"], "{out}");
    for source in ["data/customers.csv", "data/orders.csv"] {
        let text = std::fs::read_to_string(dir.join(source))
            .unwrap()
            .to_ascii_lowercase();
        assert!(!text.contains(ANA), "{source}");
        assert!(text.contains("user8@example.com"), "{source}");
    }
    let models: serde_json::Value =
        serde_json::from_str(&ok(dir, &["models", "show", "churn@1", "--json"])).unwrap();
    assert_eq!(models[0]["flagged"]["dsar"], id.as_str(), "{models}");
    let all: serde_json::Value =
        serde_json::from_str(&ok(dir, &["models", "show", "churn", "--json"])).unwrap();
    let latest = all.as_array().unwrap().last().unwrap();
    assert_eq!(
        (latest["version"].as_i64(), latest["subjects"].as_i64()),
        (Some(2), Some(59)),
        "{latest}"
    );
    assert!(latest["flagged"].is_null());
    let holds = ok(
        dir,
        &[
            "snapshot",
            "contains",
            "churn_training",
            &format!("email:{ANA}"),
            "--json",
        ],
    );
    assert!(!holds.contains("\"contains\": true"), "{holds}");
    assert_eq!(action("key:eu"), ["shredded"]);
    assert_eq!(action("table:").len(), 1 + databases.len());
    assert!(action("table:").iter().all(|a| a == "deleted"));
    // Nothing was done twice across the kill: one revision per rewritten file and one
    // audit entry per location acted on.
    let rewritten = action("dataset:")
        .iter()
        .filter(|a| *a == "rewritten")
        .count();
    assert!(rewritten >= 5, "{out}");
    let log = ok(dir, &["audit", "log", "--json", "--limit", "100000"]);
    let erase_entries = log.matches("\"dsar.erase\"").count();
    let acted = locations
        .iter()
        .filter(|l| l["audit_index"].is_u64())
        .count();
    assert_eq!(erase_entries, acted, "{log}");
    assert!(!log.contains(ANA) && !log.contains("Ana@Example"));

    // The pre-erasure copy no longer decrypts for Ana; others still do.
    let after = ok(
        dir,
        &[
            "detokenize",
            "backup.parquet",
            "--out",
            "restored2.parquet",
            "--json",
        ],
    );
    let after: serde_json::Value = serde_json::from_str(&after).unwrap();
    assert_eq!(after["shredded"], 1, "{after}");
    assert_eq!(after["restored"], 59, "{after}");

    // verify-erasure re-scans everything: nothing left.
    ok(dir, &["dsar", "verify-erasure", &id]);

    // The certificate verifies offline with the log's key, and tampering is caught.
    ok(dir, &["audit", "export", "export"]);
    let cert_path = dir.join(out["certificate"].as_str().unwrap());
    let verify = |file: &Path| {
        run(
            dir,
            &[
                "dsar",
                "verify-certificate",
                file.to_str().unwrap(),
                "--pubkey",
                "export/audit.vkey",
            ],
        )
    };
    let good = verify(&cert_path);
    assert_eq!(
        good.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&good.stdout)
    );
    assert!(String::from_utf8_lossy(&good.stdout).starts_with("valid"));
    let text = std::fs::read_to_string(&cert_path).unwrap();
    let mut cert: serde_json::Value = serde_json::from_str(&text).unwrap();
    let tampered = dir.join("tampered.json");
    cert["certificate"]["locations"][0]["action"] = "absent".into();
    std::fs::write(&tampered, cert.to_string()).unwrap();
    let bad = verify(&tampered);
    assert_eq!(bad.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&bad.stdout).contains("field `locations`"),
        "{}",
        String::from_utf8_lossy(&bad.stdout)
    );
    // Re-signing the altered text needs the key; swapping an audit entry breaks its proof.
    let mut cert: serde_json::Value = serde_json::from_str(&text).unwrap();
    let entry = cert["certificate"]["audit"]["entries"][0]["entry"]
        .as_str()
        .unwrap()
        .replace("dsar.open", "dsar.opne");
    cert["certificate"]["audit"]["entries"][0]["entry"] = entry.into();
    std::fs::write(&tampered, cert.to_string()).unwrap();
    assert_eq!(verify(&tampered).status.code(), Some(1));
    // The request is closed: running it again is refused.
    assert_eq!(run(dir, &["dsar", "run", &id]).status.code(), Some(2));

    // A late upstream export still holds Ana: every later read drops her rows.
    let mut orders = std::fs::read_to_string(dir.join("data/orders.csv")).unwrap();
    orders.push_str(&format!("{ANA},99.5\nANA@example.com,12.5\n"));
    std::fs::write(dir.join("data/orders.csv"), orders).unwrap();
    let report: serde_json::Value = serde_json::from_str(&ok(
        dir,
        &["run", "pipelines/churn.yaml", "--fresh", "--json"],
    ))
    .unwrap();
    let ingest = &report["steps"][2];
    assert_eq!(ingest["id"], "orders");
    assert_eq!(ingest["enforcement"]["row_filter"], "erased", "{ingest}");
    assert_eq!(ingest["enforcement"]["rows_filtered"], 2, "{ingest}");
    let run_dir = dir
        .join(".custodia/runs")
        .join(report["run_id"].as_str().unwrap());
    for f in parquet_files(&run_dir) {
        assert!(!column_values(&f, "email")
            .iter()
            .any(|v| v.eq_ignore_ascii_case(ANA)));
    }
}

/// A webhook endpoint on loopback that answers 503 to its first `failures` requests and
/// 200 after, keeping every body it received.
struct Endpoint {
    port: u16,
    bodies: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

fn endpoint(failures: usize) -> Endpoint {
    use std::io::{BufRead, BufReader, Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let bodies = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen = bodies.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut length = 0;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    length = v.trim().parse().unwrap_or(0);
                }
            }
            let mut body = vec![0; length];
            reader.read_exact(&mut body).unwrap();
            let n = {
                let mut b = seen.lock().unwrap();
                b.push(String::from_utf8(body).unwrap());
                b.len()
            };
            let (status, reply) = if n <= failures {
                ("503 Service Unavailable", "{\"error\":\"busy\"}")
            } else {
                ("200 OK", "{\"status\":\"deleted\",\"ticket\":\"T-81\"}")
            };
            let _ = write!(
                stream,
                "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{reply}",
                reply.len()
            );
        }
    });
    Endpoint { port, bodies }
}

#[test]
fn external_targets_are_retried_and_the_key_waits_for_them() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    setup(dir, &[]);
    let crm = endpoint(2);
    let desk = endpoint(0);
    // The desk is down for the first run: nothing listens on this port.
    let down = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let down_port = down.local_addr().unwrap().port();
    drop(down);
    let mut config = std::fs::read_to_string(dir.join("custodia.toml")).unwrap();
    config.push_str(&format!(
        "\n[[dsar.targets]]\nname = \"crm\"\nkinds = [\"erasure\"]\nurl = \"http://127.0.0.1:{}/privacy\"\nsend = \"identifier\"\n\n[[dsar.targets]]\nname = \"vendor\"\nkinds = [\"erasure\", \"access\"]\ncommand = [\"sh\", \"-c\", \"cat > vendor-request.json; echo queued\"]\n\n[[dsar.targets]]\nname = \"desk\"\nkinds = [\"erasure\"]\nurl = \"http://127.0.0.1:{down_port}/erase\"\n",
        crm.port
    ));
    std::fs::write(dir.join("custodia.toml"), &config).unwrap();
    let id = ok(
        dir,
        &[
            "dsar",
            "open",
            "--type",
            "erasure",
            "--subject",
            &format!("email:{ANA}"),
        ],
    );
    let id = id.trim();
    ok(dir, &["dsar", "verify", id, "--method", "account_login"]);
    let first = run(dir, &["dsar", "run", id]);
    let text = String::from_utf8_lossy(&first.stdout);
    assert_eq!(first.status.code(), Some(1), "{text}");
    assert!(text.contains("waiting on desk"), "{text}");
    // The CRM failed twice, then confirmed; it got the identifier it knows people by.
    let bodies = crm.bodies.lock().unwrap().clone();
    assert_eq!(bodies.len(), 3);
    let body: serde_json::Value = serde_json::from_str(&bodies[2]).unwrap();
    assert_eq!(body["identifier"]["value"], ANA);
    assert_eq!(body["type"], "erasure");
    // The vendor's command got the ref only.
    let sent = std::fs::read_to_string(dir.join("vendor-request.json")).unwrap();
    assert!(sent.contains(body["subject_ref"].as_str().unwrap()) && !sent.contains(ANA));
    let show = ok(dir, &["dsar", "show", id]);
    assert!(show.contains("HTTP 200 after 3 attempts"), "{show}");
    assert!(show.contains("T-81"), "{show}");
    assert!(show.contains("no answer after 5 attempts"), "{show}");
    // The data is gone, but the key waits for the desk (a later call may need the identifier).
    let check = run(dir, &["dsar", "verify-erasure", id]);
    assert_eq!(check.status.code(), Some(1));
    let found = String::from_utf8_lossy(&check.stdout);
    assert!(
        found.contains("key:eu") && !found.contains("dataset:"),
        "{found}"
    );
    let state: serde_json::Value =
        serde_json::from_str(&ok(dir, &["dsar", "show", id, "--json"])).unwrap();
    assert_eq!(state["state"], "in_progress");

    // The desk is back: the next run calls only the desk, then shreds and certifies.
    std::fs::write(
        dir.join("custodia.toml"),
        config.replace(&format!(":{down_port}/"), &format!(":{}/", desk.port)),
    )
    .unwrap();
    let out: serde_json::Value =
        serde_json::from_str(&ok(dir, &["dsar", "run", id, "--json"])).unwrap();
    assert_eq!(out["request"]["state"], "completed", "{out}");
    assert_eq!(
        crm.bodies.lock().unwrap().len(),
        3,
        "a confirmed target is not called again"
    );
    assert_eq!(desk.bodies.lock().unwrap().len(), 1);
    let external: Vec<(String, String)> = out["locations"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|l| l["location"].as_str().unwrap().starts_with("external:"))
        .map(|l| {
            (
                l["location"].as_str().unwrap().into(),
                l["detail"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert_eq!(external.len(), 3, "{external:?}");
    assert!(external
        .iter()
        .any(|(l, d)| l == "external:desk" && d.starts_with("HTTP 200 after 6 attempts")));
    ok(dir, &["dsar", "verify-erasure", id]);
    ok(dir, &["audit", "export", "export"]);
    let cert = out["certificate"].as_str().unwrap();
    let v = ok(
        dir,
        &[
            "dsar",
            "verify-certificate",
            cert,
            "--pubkey",
            "export/audit.vkey",
        ],
    );
    assert!(v.starts_with("valid"), "{v}");
    let log = ok(dir, &["audit", "log", "--json", "--limit", "100000"]);
    assert!(
        !log.contains(ANA),
        "the identifier sent to the CRM is not in the log"
    );
}

#[test]
fn an_access_request_exports_every_place_with_tokens_decrypted_and_a_data_map() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    setup(dir, &[]);
    std::fs::write(
        dir.join("consent.csv"),
        format!("email,purpose,status,timestamp\n{ANA},model_training,granted,2026-01-02T00:00:00Z\nuser8@example.com,model_training,granted,2026-01-02T00:00:00Z\n"),
    )
    .unwrap();
    ok(
        dir,
        &["consent", "import", "consent.csv", "--jurisdiction", "eu"],
    );
    let id = ok(
        dir,
        &[
            "dsar",
            "open",
            "--type",
            "access",
            "--subject",
            &format!("email:{ANA}"),
        ],
    );
    let id = id.trim();
    // Export is for access and portability; run is for erasure.
    let wrong = run(dir, &["dsar", "run", id]);
    assert_eq!(wrong.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&wrong.stderr).contains("dsar export"));
    ok(dir, &["dsar", "verify", id, "--method", "id_document"]);
    let out: serde_json::Value = serde_json::from_str(&ok(
        dir,
        &["dsar", "export", id, "--out", "ana.zip", "--json"],
    ))
    .unwrap();
    assert_eq!(out["request"]["state"], "completed", "{out}");
    let file = std::fs::File::open(dir.join("ana.zip")).unwrap();
    let mut zip = zip::ZipArchive::new(file).unwrap();
    let mut read = |name: &str| {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut zip.by_name(name).unwrap(), &mut s).unwrap();
        s
    };
    let index: serde_json::Value = serde_json::from_str(&read("index.json")).unwrap();
    let map: serde_json::Value = serde_json::from_str(&read("data_map.json")).unwrap();
    let consent = read("consent.json");
    assert!(consent.contains("\"granted\": true") && consent.contains("model_training"));
    let holding: Vec<&serde_json::Value> = map
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["rows"].as_u64().unwrap_or(0) > 0)
        .collect();
    assert!(holding.len() >= 5, "{map}");
    // Every data file holds Ana's rows and only hers.
    for e in &holding {
        let json = read(e["files"][0].as_str().unwrap());
        let rows: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(
            rows.as_array().unwrap().len() as u64,
            e["rows"].as_u64().unwrap()
        );
        for r in rows.as_array().unwrap() {
            assert!(
                r["email"].as_str().unwrap().eq_ignore_ascii_case(ANA),
                "{r}"
            );
        }
        let csv = read(e["files"][1].as_str().unwrap());
        assert_eq!(csv.lines().count() as u64, e["rows"].as_u64().unwrap() + 1);
    }
    // The de-identified table's tokens are decrypted for her.
    let safe = holding
        .iter()
        .find(|e| {
            e["location"]
                .as_str()
                .unwrap()
                .starts_with("dataset:churn.safe@1")
        })
        .unwrap();
    let rows = read(safe["files"][0].as_str().unwrap());
    assert!(
        rows.contains("+44 20 7946 1007") && !rows.contains("sk1."),
        "{rows}"
    );
    // The data map says why it is held, where it came from and where it went.
    assert_eq!(safe["contract"], "customers");
    assert_eq!(safe["purposes"][0]["purpose"], "model_training");
    assert_eq!(safe["purposes"][0]["legal_basis"], "contract");
    assert!(safe["came_from"][0]
        .as_str()
        .unwrap()
        .starts_with("customers@"));
    let features = holding
        .iter()
        .find(|e| {
            e["location"]
                .as_str()
                .unwrap()
                .starts_with("dataset:churn_features@1")
        })
        .unwrap();
    assert!(
        features["recipients"]
            .to_string()
            .contains("warehouse.churn_features"),
        "{features}"
    );
    assert!(map.to_string().contains("model:churn@1"));
    assert_eq!(index["rows"], out["rows"]);
    assert_eq!(index["type"], "access");
    // The audit log has the package's digest, not its contents.
    let log = ok(dir, &["audit", "log", "--json", "--limit", "100000"]);
    assert!(log.contains(out["sha256"].as_str().unwrap()) && !log.contains(ANA));
}

#[test]
fn an_objection_takes_the_subject_out_of_the_purpose_from_now_on() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    setup(dir, &[]);
    let bo = "user8@example.com";
    let id = ok(
        dir,
        &[
            "dsar",
            "open",
            "--type",
            "objection",
            "--subject",
            &format!("email:{bo}"),
            "--jurisdiction",
            "uk",
        ],
    );
    let id = id.trim();
    ok(dir, &["dsar", "verify", id, "--method", "account_login"]);
    let bad = run(dir, &["dsar", "object", id, "--purpose", "astrology"]);
    assert_eq!(
        bad.status.code(),
        Some(2),
        "an undeclared purpose is refused"
    );
    let done = ok(
        dir,
        &[
            "dsar",
            "object",
            id,
            "--purpose",
            "model_training",
            "--json",
        ],
    );
    assert!(done.contains("\"state\": \"completed\""), "{done}");
    let check = run(
        dir,
        &[
            "consent",
            "check",
            "--subject",
            &format!("email:{bo}"),
            "--purpose",
            "model_training",
        ],
    );
    assert_eq!(
        check.status.code(),
        Some(1),
        "the ledger records the withdrawal"
    );
    let report: serde_json::Value = serde_json::from_str(&ok(
        dir,
        &["run", "pipelines/churn.yaml", "--fresh", "--json"],
    ))
    .unwrap();
    let orders = &report["steps"][2];
    assert_eq!(orders["enforcement"]["row_filter"], "objection", "{orders}");
    assert_eq!(orders["enforcement"]["rows_filtered"], 11, "{orders}");
    let run_dir = dir
        .join(".custodia/runs")
        .join(report["run_id"].as_str().unwrap());
    let features = column_values(&run_dir.join("features.parquet"), "email");
    assert_eq!(features.len(), 59);
    assert!(!features.iter().any(|v| v == bo));
}

#[test]
fn a_rectification_corrects_the_sources_and_reruns_what_reads_them() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    setup(dir, &[]);
    let id = ok(
        dir,
        &[
            "dsar",
            "open",
            "--type",
            "rectification",
            "--subject",
            &format!("email:{ANA}"),
        ],
    );
    let id = id.trim();
    ok(dir, &["dsar", "verify", id, "--method", "account_login"]);
    let key = run(
        dir,
        &["dsar", "rectify", id, "--set", "email=ana@new.example"],
    );
    assert_eq!(
        key.status.code(),
        Some(2),
        "the subject key is not rectified in place"
    );
    let out: serde_json::Value = serde_json::from_str(&ok(
        dir,
        &[
            "dsar",
            "rectify",
            id,
            "--set",
            "phone=+44 20 7946 0999",
            "--set",
            "country=ie",
            "--json",
        ],
    ))
    .unwrap();
    assert_eq!(out["request"]["state"], "completed", "{out}");
    let customers = std::fs::read_to_string(dir.join("data/customers.csv")).unwrap();
    let ana: Vec<&str> = customers
        .lines()
        .filter(|l| l.to_ascii_lowercase().starts_with(ANA))
        .collect();
    assert_eq!(
        ana,
        ["Ana@Example.com,+44 20 7946 0999,ie,false"],
        "{customers}"
    );
    assert_eq!(customers.matches(",uk,").count(), 59, "others untouched");
    // The pipeline ran again: its de-identified table holds the corrected phone for Ana,
    // under her key.
    let rerun = out["locations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["location"] == "pipeline:churn")
        .unwrap();
    assert_eq!(rerun["action"], "rerun", "{out}");
    let run_id = rerun["detail"].as_str().unwrap().split(' ').nth(1).unwrap();
    let safe = dir.join(".custodia/runs").join(run_id).join("safe.parquet");
    ok(
        dir,
        &[
            "detokenize",
            safe.to_str().unwrap(),
            "--out",
            "safe.parquet",
        ],
    );
    let phones = column_values(&dir.join("safe.parquet"), "phone");
    assert!(
        phones.contains(&"+44 20 7946 0999".to_string()),
        "{phones:?}"
    );
    assert!(!phones.contains(&"+44 20 7946 1007".to_string()));
    let log = ok(dir, &["audit", "log", "--json", "--limit", "100000"]);
    assert!(!log.contains("7946 0999"));
    assert!(log.contains("\"columns\":\"phone,country\""), "{log}");
}

#[test]
fn the_report_counts_requests_deadlines_propagation_and_renders_a_page() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    setup(dir, &[]);
    // One erasure answered on time, one access request overdue, one due next month.
    let erasure = ok(
        dir,
        &[
            "dsar",
            "open",
            "--type",
            "erasure",
            "--subject",
            &format!("email:{ANA}"),
        ],
    );
    ok(
        dir,
        &["dsar", "verify", erasure.trim(), "--method", "email_link"],
    );
    ok(dir, &["dsar", "run", erasure.trim()]);
    ok(
        dir,
        &[
            "dsar",
            "open",
            "--type",
            "access",
            "--subject",
            "email:user3@example.com",
            "--received",
            "2026-01-05T00:00:00Z",
        ],
    );
    ok(
        dir,
        &[
            "dsar",
            "open",
            "--type",
            "access",
            "--subject",
            "email:user4@example.com",
            "--jurisdiction",
            "uk",
        ],
    );
    let r: serde_json::Value =
        serde_json::from_str(&ok(dir, &["report", "--json", "--html", "report.html"])).unwrap();
    assert_eq!(r["dsar"]["total"], 3, "{r}");
    assert_eq!(
        (r["dsar"]["open"].as_u64(), r["dsar"]["closed"].as_u64()),
        (Some(2), Some(1))
    );
    assert_eq!(r["dsar"]["on_time_pct"], 100.0);
    assert_eq!(r["dsar"]["open_by_days_left"]["overdue"], 1);
    assert_eq!(
        r["dsar"]["open_by_days_left"]["15-30"].as_u64().unwrap()
            + r["dsar"]["open_by_days_left"]["31+"].as_u64().unwrap(),
        1
    );
    assert_eq!(r["deletion"]["erasures_completed"], 1);
    assert_eq!(r["deletion"]["not_propagated"], 0, "{r}");
    assert!(r["deletion"]["propagated"].as_u64().unwrap() >= 8, "{r}");
    assert_eq!(r["deletion"]["success_pct"], 100.0);
    assert_eq!(r["suppressed"][0], 1);
    let page = std::fs::read_to_string(dir.join("report.html")).unwrap();
    assert!(page.contains("<svg") && page.contains("Open requests by days to deadline"));
    assert!(
        !page.contains("<script") && !page.contains("http"),
        "self-contained"
    );
    assert!(!page.contains(ANA));
    let table = ok(dir, &["report"]);
    assert!(
        table.contains("DSARs closed on time") && table.contains("100%"),
        "{table}"
    );
}

#[test]
fn run_all_erases_every_verified_request_and_skips_the_unverified() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    setup(dir, &[]);
    let open = |who: &str| {
        ok(
            dir,
            &[
                "dsar",
                "open",
                "--type",
                "erasure",
                "--subject",
                &format!("email:{who}"),
            ],
        )
        .trim()
        .to_string()
    };
    let (bo, cy, dee) = (
        open("user5@example.com"),
        open("user6@example.com"),
        open("user9@example.com"),
    );
    ok(dir, &["dsar", "verify", &bo, "--method", "email_link"]);
    ok(dir, &["dsar", "verify", &dee, "--method", "email_link"]);
    let all: serde_json::Value =
        serde_json::from_str(&ok(dir, &["dsar", "run", "--all", "--json"])).unwrap();
    let by_id = |id: &str| {
        all.as_array()
            .unwrap()
            .iter()
            .find(|r| r["id"] == id)
            .cloned()
            .unwrap()
    };
    for id in [&bo, &dee] {
        assert_eq!(by_id(id)["state"], "completed", "{all}");
        assert!(by_id(id)["rows_removed"].as_u64().unwrap() > 0, "{all}");
    }
    assert_eq!(by_id(&cy)["skipped"], "identity not verified yet", "{all}");
    // Both are gone; a second run has only the unverified one left.
    ok(dir, &["dsar", "verify-erasure", &bo]);
    ok(dir, &["dsar", "verify-erasure", &dee]);
    let again: serde_json::Value =
        serde_json::from_str(&ok(dir, &["dsar", "run", "--all", "--json"])).unwrap();
    assert_eq!(again.as_array().unwrap().len(), 1, "{again}");
    let both = run(dir, &["dsar", "run", &bo, "--all"]);
    assert_eq!(both.status.code(), Some(2), "an id and --all together");
}
