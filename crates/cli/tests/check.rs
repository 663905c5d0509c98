//! `custodia check` on real sample repositories (Airflow DAGs, dbt profiles, .env files,
//! contracts, model cards) with planted credentials, prohibited paths and regions, personal
//! data literals — and on their clean twins, which must pass.

use std::{
    path::{Path, PathBuf},
    process::{Command, Output},
};

use serde_json::Value;

fn fixture(name: &str, tmp: &Path) -> PathBuf {
    let from = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/check")
        .join(name);
    let to = tmp.join(name);
    copy_tree(&from, &to);
    to
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let p = e.unwrap().path();
        let target = to.join(p.file_name().unwrap());
        if p.is_dir() {
            copy_tree(&p, &target);
        } else {
            std::fs::copy(&p, &target).unwrap();
        }
    }
}

fn custodia(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_custodia"))
        .args(args)
        .current_dir(dir)
        .output()
        .expect("custodia runs")
}

/// The planted secret values: none may appear in any report.
const SECRETS: &[&str] = &[
    "wJalrXUtnFEMI",
    "S3cretPassw0rd",
    "hunter2hunter2",
    "Sup3rS3cretDbt",
    "536-22-8726",
    "maria.rossi",
    "XXXXXXXXXXXXXXXXXXXXXXXX",
    "arhxd/",
];

fn findings(out: &Output) -> Vec<(String, String, u64)> {
    let v: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)));
    v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["path"].as_str().unwrap().to_string(),
                f["rule"].as_str().unwrap().to_string(),
                f["line"].as_u64().unwrap(),
            )
        })
        .collect()
}

#[test]
fn planted_problems_are_found_by_file_line_and_rule() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = fixture("dirty", tmp.path());
    let out = custodia(&repo, &["check", "--json"]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let got = findings(&out);
    let expect = [
        ("dags/customer_etl.py", "code.secret", 8),
        ("dags/customer_etl.py", "code.secret", 9),
        ("dags/customer_etl.py", "code.pii_literal", 11),
        ("dags/customer_etl.py", "code.prohibited_region", 15),
        ("dags/customer_etl.py", "code.prohibited_path", 16),
        ("dags/customer_etl.py", "code.prohibited_path", 17),
        ("dags/customer_etl.py", "code.pii_literal", 21),
        ("dags/customer_etl.py", "code.prohibited_path", 22),
        ("dags/customer_etl.py", "code.prohibited_path", 31), // S3A:// is s3://
        ("config/.env", "code.secret", 2),
        ("config/.env", "code.secret", 3),
        ("config/.env", "code.secret", 4), // an AWS key ending in '/'
        ("dbt/profiles.yml", "code.secret", 8),
        ("contracts/customers.yaml", "contract.owner", 1),
        ("contracts/customers.yaml", "policy.purpose.legal_basis", 6),
        ("contracts/customers.yaml", "contract.l3_transform", 15),
        ("models/churn.model.yaml", "model.dpia", 1),
        ("models/churn.model.yaml", "model.purpose_mismatch", 3),
        ("models/churn.model.yaml", "model.unknown_purpose", 3),
        ("models/churn.model.yaml", "model.fairness", 12),
    ];
    for (path, rule, line) in expect {
        assert!(
            got.iter()
                .any(|(p, r, l)| p == path && r == rule && *l == line),
            "missing {path}:{line} {rule} in {got:#?}"
        );
    }
    assert_eq!(got.len(), expect.len(), "unexpected findings: {got:#?}");
    // custodia.toml names the prohibited paths; it is not a finding.
    assert!(!got.iter().any(|(p, _, _)| p == "custodia.toml"));
}

#[test]
fn clean_twins_pass() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = fixture("clean", tmp.path());
    let out = custodia(&repo, &["check"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(
        stdout.contains("PASSED: 12 files checked, 0 errors, 0 warnings"),
        "{stdout}"
    );
}

#[test]
fn no_report_format_repeats_a_found_value() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = fixture("dirty", tmp.path());
    // Values pasted where a parser quotes them back: in a contract and in a model card.
    let contract = repo.join("contracts/customers.yaml");
    let text = std::fs::read_to_string(&contract).unwrap();
    std::fs::write(
        &contract,
        text.replacen(
            "classification: L0",
            "classification: maria.rossi@gmail.com",
            1,
        ),
    )
    .unwrap();
    let card = repo.join("models/churn.model.yaml");
    let text = std::fs::read_to_string(&card).unwrap();
    std::fs::write(&card, text.replace("risk: high", "risk: 536-22-8726")).unwrap();
    for format in ["text", "json", "sarif", "junit"] {
        let out = custodia(&repo, &["check", "--format", format]);
        assert_eq!(out.status.code(), Some(1), "{format}");
        let all = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        for s in SECRETS {
            assert!(!all.contains(s), "{format} output repeats {s}");
        }
    }
}

#[test]
fn sarif_and_junit_are_what_ci_tools_read() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = fixture("dirty", tmp.path());
    let out = custodia(
        &repo,
        &["check", "--format", "sarif", "--output", "custodia.sarif"],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("FAILED"));
    let sarif: Value =
        serde_json::from_str(&std::fs::read_to_string(repo.join("custodia.sarif")).unwrap())
            .unwrap();
    assert_eq!(sarif["version"], "2.1.0");
    let run = &sarif["runs"][0];
    let rules = run["tool"]["driver"]["rules"].as_array().unwrap();
    let results = run["results"].as_array().unwrap();
    assert_eq!(results.len(), 20);
    for r in results {
        let idx = r["ruleIndex"].as_u64().unwrap() as usize;
        assert_eq!(rules[idx]["id"], r["ruleId"]);
        let loc = &r["locations"][0]["physicalLocation"];
        assert!(loc["artifactLocation"]["uri"].as_str().unwrap().len() > 2);
        assert!(loc["region"]["startLine"].as_u64().unwrap() >= 1);
        assert!(["error", "warning"].contains(&r["level"].as_str().unwrap()));
    }
    let out = custodia(&repo, &["check", "dags/", "--format", "junit"]);
    let xml = String::from_utf8_lossy(&out.stdout);
    assert!(xml.starts_with("<?xml"), "{xml}");
    assert!(xml.contains("tests=\"1\" failures=\"1\""), "{xml}");
    assert_eq!(xml.matches("<failure ").count(), 8, "{xml}");
    assert!(
        xml.contains("<system-out>warning [code.pii_literal]"),
        "{xml}"
    );
}

#[test]
fn inline_suppression_and_ignore_globs() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = fixture("dirty", tmp.path());
    let env = repo.join("config/.env");
    let text = std::fs::read_to_string(&env).unwrap();
    std::fs::write(
        &env,
        text.replace(
            "DB_PASSWORD=hunter2hunter2",
            "DB_PASSWORD=hunter2hunter2 # custodia: ignore",
        ),
    )
    .unwrap();
    let got = findings(&custodia(&repo, &["check", "config/", "--json"]));
    assert_eq!(
        got,
        vec![
            ("config/.env".into(), "code.secret".into(), 3),
            ("config/.env".into(), "code.secret".into(), 4)
        ]
    );
    let toml = std::fs::read_to_string(repo.join("custodia.toml")).unwrap();
    std::fs::write(
        repo.join("custodia.toml"),
        toml + "ignore = [\"config/**\", \"models/**\"]\n",
    )
    .unwrap();
    let got = findings(&custodia(&repo, &["check", "--json"]));
    assert!(
        !got.iter()
            .any(|(p, _, _)| p.starts_with("config/") || p.starts_with("models/")),
        "{got:?}"
    );
    assert!(got.iter().any(|(p, _, _)| p.starts_with("dags/")));
}

#[test]
fn bad_input_is_a_usage_error() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = fixture("clean", tmp.path());
    let out = custodia(&repo, &["check", "no-such-folder"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no-such-folder"));
    let out = custodia(&repo, &["check", "--format", "xml"]);
    assert_eq!(out.status.code(), Some(2));
    std::fs::write(
        repo.join("custodia.toml"),
        "[check]\nmax_uncovered_level = \"L9\"\n",
    )
    .unwrap();
    let out = custodia(&repo, &["check"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("custodia.toml:2"));
    // A broken model card is a finding at its line, not a crash.
    let repo = fixture("dirty", &tmp.path().join("x"));
    std::fs::write(
        repo.join("models/churn.model.yaml"),
        "name: churn\nrisk: catastrophic\n",
    )
    .unwrap();
    let got = findings(&custodia(&repo, &["check", "models/", "--json"]));
    assert_eq!(
        got,
        vec![("models/churn.model.yaml".into(), "model.invalid".into(), 2)]
    );
}

#[test]
fn check_data_fails_on_personal_columns_no_contract_covers() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = fixture("clean", tmp.path());
    let mut csv = String::from("email,plan,phone\n");
    for i in 0..50 {
        csv.push_str(&format!("user{i}@gmail.com,pro,+44 20 7946 {:04}\n", i));
    }
    std::fs::create_dir_all(repo.join("exports")).unwrap();
    std::fs::write(repo.join("exports/customers.csv"), &csv).unwrap();
    std::fs::write(repo.join("exports/leads.csv"), &csv).unwrap();
    let out = custodia(&repo, &["check", "data", "exports/", "--json"]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let msgs: Vec<String> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            format!(
                "{} {}",
                f["path"].as_str().unwrap(),
                f["message"].as_str().unwrap()
            )
        })
        .collect();
    // customers: email is covered by its contract, phone is not; leads has no contract.
    assert!(
        msgs.iter()
            .any(|m| m.contains("customers.csv") && m.contains("\"phone\"")),
        "{msgs:?}"
    );
    assert!(
        !msgs
            .iter()
            .any(|m| m.contains("customers.csv") && m.contains("\"email\"")),
        "{msgs:?}"
    );
    assert!(
        msgs.iter()
            .any(|m| m.contains("leads.csv") && m.contains("no contract")),
        "{msgs:?}"
    );
    assert!(!String::from_utf8_lossy(&out.stdout).contains("gmail.com"));
    // With the threshold at L2, nothing above it is uncovered.
    let toml = std::fs::read_to_string(repo.join("custodia.toml")).unwrap();
    std::fs::write(
        repo.join("custodia.toml"),
        toml + "max_uncovered_level = \"L2\"\n",
    )
    .unwrap();
    let out = custodia(&repo, &["check", "data", "exports/"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}
