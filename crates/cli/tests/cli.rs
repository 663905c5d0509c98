//! End-to-end tests of the `custodia` binary on real files.

use std::{
    io::Write,
    path::{Path, PathBuf},
    process::{Command, Output, Stdio},
};

use serde_json::Value;

const KEY: &str = "0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0";

fn custodia(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_custodia"))
        .args(args)
        .current_dir(dir)
        .env_remove("CUSTODIA_MASTER_KEY")
        .output()
        .expect("custodia runs")
}

fn custodia_stdin(dir: &Path, args: &[&str], input: &[u8]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_custodia"))
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(input).unwrap();
    child.wait_with_output().unwrap()
}

fn text(o: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&o.stdout).into(),
        String::from_utf8_lossy(&o.stderr).into(),
    )
}

fn write(dir: &Path, name: &str, content: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, content).unwrap();
    p
}

#[test]
fn detect_jsonl_reports_code_point_offsets_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let input = "{\"id\": 1, \"text\": \"Grüße! Mail: jörg@example.com\"}\n{\"id\": \"b\", \"text\": \"nothing\"}\n{\"id\": 3, \"text\": \"card 4111 1111 1111 1111 ok\"}\n";
    let o = custodia_stdin(dir.path(), &["detect", "-"], input.as_bytes());
    assert!(o.status.success(), "{:?}", text(&o));
    let lines: Vec<Value> = String::from_utf8(o.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 3);
    assert_eq!(lines[0]["id"], 1);
    // "Grüße! Mail: " is 13 code points (15 bytes); the email is 16 code points.
    let f = &lines[0]["findings"][0];
    assert_eq!(
        (f["start"].as_u64(), f["end"].as_u64()),
        (Some(13), Some(29))
    );
    assert_eq!(f["entity_type"], "EMAIL_ADDRESS");
    assert_eq!(lines[1]["id"], "b");
    assert_eq!(lines[1]["findings"].as_array().unwrap().len(), 0);
    assert_eq!(lines[2]["findings"][0]["entity_type"], "CREDIT_CARD");
    assert_eq!(lines[2]["findings"][0]["start"], 5);
    assert_eq!(lines[2]["findings"][0]["end"], 24);
}

#[test]
fn detect_renamed_fields_entity_filter_and_min_score() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(
        dir.path(),
        "in.jsonl",
        "{\"key\": 7, \"body\": \"mail a@b.io or call +44 20 7946 0958\"}\n",
    );
    let o = custodia(
        dir.path(),
        &[
            "detect",
            p.to_str().unwrap(),
            "--id-field",
            "key",
            "--text-field",
            "body",
            "--entities",
            "PHONE_NUMBER",
        ],
    );
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["id"], 7);
    let f = v["findings"].as_array().unwrap();
    assert_eq!(f.len(), 1);
    assert_eq!(f[0]["entity_type"], "PHONE_NUMBER");
    let o = custodia(
        dir.path(),
        &[
            "detect",
            p.to_str().unwrap(),
            "--text-field",
            "body",
            "--min-score",
            "1.01",
        ],
    );
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn detect_bad_input_names_the_line_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let o = custodia_stdin(
        dir.path(),
        &["detect", "-"],
        b"{\"id\":1,\"text\":\"a@b.io\"}\n{\"id\":2,\"text\":\"x\"\n",
    );
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(2));
    assert!(out.is_empty(), "nothing written before the error: {out}");
    assert!(
        err.contains("-:2:") && err.contains("invalid JSON"),
        "{err}"
    );
    let o = custodia_stdin(
        dir.path(),
        &["detect", "-"],
        b"{\"id\":1,\"text\":\"caf\xe9\"}\n",
    );
    assert!(text(&o).1.contains("invalid UTF-8"), "{:?}", text(&o));
    let o = custodia_stdin(dir.path(), &["detect", "-", "--entities", "EMAIL"], b"");
    let err = text(&o).1;
    assert!(
        err.contains("\"EMAIL\"") && err.contains("EMAIL_ADDRESS"),
        "{err}"
    );
    let o = custodia_stdin(dir.path(), &["detect", "-"], b"{\"id\":1,\"txt\":\"x\"}\n");
    assert!(text(&o).1.contains("--text-field"), "{:?}", text(&o));
}

#[test]
fn detect_text_prints_a_table() {
    let dir = tempfile::tempdir().unwrap();
    let o = custodia(
        dir.path(),
        &["detect", "--text", "IBAN DE89 3704 0044 0532 0130 00"],
    );
    let out = text(&o).0;
    assert!(
        out.contains("IBAN_CODE") && out.contains("1 finding"),
        "{out}"
    );
}

const CUSTOMERS: &str = "customer_id,name,email,phone,note\nC1,Olivia Bennett,olivia.bennett@example.com,+44 20 7946 0958,Prefers email contact at olivia.bennett@example.com please\nC2,Lukas Hoffmann,lukas.h@example.de,+49 30 901820,Called twice about the invoice and asked for a callback soon\nC3,Chloé Laurent,chloe@example.fr,+33 1 44 55 66 77,No issues reported by this customer in the last quarter at all\n";

#[test]
fn scan_csv_reports_columns_gates_and_emits_a_valid_contract() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "customers.csv", CUSTOMERS);
    let o = custodia(
        dir.path(),
        &[
            "scan",
            "customers.csv",
            "--json",
            "--fail-on",
            "L2",
            "--emit-contract",
            "contracts",
        ],
    );
    assert_eq!(o.status.code(), Some(1), "{:?}", text(&o));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    let cols = v["sources"][0]["columns"].as_array().unwrap();
    let col = |n: &str| cols.iter().find(|c| c["name"] == n).unwrap().clone();
    assert_eq!(col("email")["entity"], "EMAIL_ADDRESS");
    assert_eq!(col("phone")["entity"], "PHONE_NUMBER");
    assert_eq!(col("name")["entity"], "PERSON");
    assert_eq!(col("note")["free_text"], true);
    assert!(!v["violations"].as_array().unwrap().is_empty());
    // The report never carries values.
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(!out.contains("olivia") && !out.contains("7946"), "{out}");
    let contract = std::fs::read_to_string(dir.path().join("contracts/customers.yaml")).unwrap();
    assert!(contract.contains("pii: EMAIL_ADDRESS"), "{contract}");
    let o = custodia(dir.path(), &["scan", "customers.csv", "--fail-on", "L3"]);
    assert_eq!(o.status.code(), Some(0), "{:?}", text(&o));
    let o = custodia(dir.path(), &["scan", "customers.csv", "--fail-on", "L9"]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn deid_tokenize_round_trips_and_hash_is_stable() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "customers.csv", CUSTOMERS);
    let o = custodia(
        dir.path(),
        &[
            "deid",
            "customers.csv",
            "--out",
            "tok.csv",
            "--op",
            "tokenize",
        ],
    );
    assert!(o.status.success(), "{:?}", text(&o));
    assert!(dir.path().join(".custodia/keys/master.key").exists());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.path().join(".custodia/keys/master.key"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let tok = std::fs::read_to_string(dir.path().join("tok.csv")).unwrap();
    assert!(
        !tok.contains("olivia.bennett@example.com") && !tok.contains("7946"),
        "{tok}"
    );
    let o = custodia(dir.path(), &["detokenize", "tok.csv", "--out", "back.csv"]);
    assert!(o.status.success(), "{:?}", text(&o));
    assert_eq!(
        std::fs::read_to_string(dir.path().join("back.csv")).unwrap(),
        CUSTOMERS
    );

    // The same value gets the same hash across files and runs.
    custodia(
        dir.path(),
        &[
            "deid",
            "customers.csv",
            "--out",
            "h1.csv",
            "--column",
            "email=hash",
        ],
    );
    custodia(
        dir.path(),
        &[
            "deid",
            "customers.csv",
            "--out",
            "h2.jsonl",
            "--column",
            "email=hash",
        ],
    );
    let h1 = std::fs::read_to_string(dir.path().join("h1.csv")).unwrap();
    let h2 = std::fs::read_to_string(dir.path().join("h2.jsonl")).unwrap();
    let first_hash = h1
        .lines()
        .nth(1)
        .unwrap()
        .split(',')
        .nth(2)
        .unwrap()
        .to_string();
    assert_eq!(first_hash.len(), 64);
    assert!(h2.contains(&first_hash));

    // Another workspace's key cannot reverse the tokens.
    let other = tempfile::tempdir().unwrap();
    std::fs::copy(dir.path().join("tok.csv"), other.path().join("tok.csv")).unwrap();
    let o = custodia(
        other.path(),
        &["detokenize", "tok.csv", "--out", "back.csv"],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).1.contains("no master key"), "{:?}", text(&o));
    assert!(!other.path().join("back.csv").exists());
}

#[test]
fn redact_leaves_no_trace_in_any_format() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "customers.csv", CUSTOMERS);
    for out in ["r.csv", "r.jsonl", "r.parquet"] {
        let o = custodia(
            dir.path(),
            &[
                "deid",
                "customers.csv",
                "--out",
                out,
                "--op",
                "redact",
                "--column",
                "name=redact",
            ],
        );
        assert!(o.status.success(), "{:?}", text(&o));
        let bytes = std::fs::read(dir.path().join(out)).unwrap();
        for secret in [
            "olivia.bennett@example.com",
            "Olivia Bennett",
            "7946 0958",
            "lukas.h@example.de",
            "Hoffmann",
        ] {
            assert!(
                !bytes.windows(secret.len()).any(|w| w == secret.as_bytes()),
                "{out} still holds {secret}"
            );
        }
    }
}

#[test]
fn fpe_and_contract_driven_deid_on_parquet() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "cards.csv",
        "id,card\n1,4111 1111 1111 1111\n2,5555-5555-5555-4444\n",
    );
    let o = custodia(
        dir.path(),
        &[
            "deid",
            "cards.csv",
            "--out",
            "c.parquet",
            "--column",
            "card=fpe",
        ],
    );
    assert!(o.status.success(), "{:?}", text(&o));
    let o = custodia(
        dir.path(),
        &[
            "detokenize",
            "c.parquet",
            "--out",
            "c2.csv",
            "--fpe-column",
            "card",
        ],
    );
    assert!(o.status.success(), "{:?}", text(&o));
    assert_eq!(
        std::fs::read_to_string(dir.path().join("c2.csv")).unwrap(),
        "id,card\n1,4111 1111 1111 1111\n2,5555-5555-5555-4444\n"
    );

    write(
        dir.path(),
        "c.yaml",
        "dataset: cards\ncolumns:\n  - name: id\n    classification: L0\n",
    );
    let o = custodia(
        dir.path(),
        &[
            "deid",
            "cards.csv",
            "--out",
            "x.csv",
            "--contract",
            "c.yaml",
        ],
    );
    let err = text(&o).1;
    assert_eq!(o.status.code(), Some(2));
    assert!(
        err.contains("\"card\"") && err.contains("denied by default"),
        "{err}"
    );
    assert!(!dir.path().join("x.csv").exists());
    let o = custodia(
        dir.path(),
        &[
            "deid",
            "cards.csv",
            "--out",
            "x.csv",
            "--contract",
            "c.yaml",
            "--drop-undeclared",
        ],
    );
    assert!(o.status.success());
    assert_eq!(
        std::fs::read_to_string(dir.path().join("x.csv")).unwrap(),
        "id\n1\n2\n"
    );

    write(dir.path(), "bad.yaml", "dataset: cards\ncolumns:\n  - name: card\n    classification: L3\n    transform: encrypt\n");
    let o = custodia(
        dir.path(),
        &[
            "deid",
            "cards.csv",
            "--out",
            "x2.csv",
            "--contract",
            "bad.yaml",
        ],
    );
    let err = text(&o).1;
    assert!(
        err.contains("bad.yaml:5:16") && err.contains("columns[0].transform"),
        "{err}"
    );
}

#[test]
fn deid_bad_inputs_fail_cleanly_without_output() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "empty.csv", "");
    std::fs::write(dir.path().join("latin1.csv"), b"id,name\n1,Jos\xe9\n").unwrap();
    write(dir.path(), "ragged.csv", "a,b\n1,2\n3\n");
    write(dir.path(), "bad.jsonl", "{\"a\": 1}\nnot json\n");
    for (input, needle) in [
        ("empty.csv", "empty file"),
        ("latin1.csv", "invalid UTF-8"),
        ("ragged.csv", "ragged.csv:3"),
        ("bad.jsonl", "bad.jsonl:2"),
        ("missing.csv", "missing.csv"),
    ] {
        let out = format!("{input}.out.csv");
        let o = custodia(dir.path(), &["deid", input, "--out", &out]);
        let err = text(&o).1;
        assert_eq!(o.status.code(), Some(2), "{input}: {err}");
        assert!(err.contains(needle), "{input}: {err}");
        assert!(
            !dir.path().join(&out).exists(),
            "{input}: partial output left behind"
        );
        assert!(!err.contains("José"));
    }
    let o = custodia(
        dir.path(),
        &["deid", "ragged.csv", "--out", "x.csv", "--op", "encrypt"],
    );
    assert!(text(&o).1.contains("tokenize"));
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with(".custodia-tmp"))
        .collect();
    assert!(leftovers.is_empty());
}

#[test]
fn master_key_from_environment_is_used_and_validated() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "c.csv", "email\na@example.com\n");
    let run = |key: &str, args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_custodia"))
            .args(args)
            .current_dir(dir.path())
            .env("CUSTODIA_MASTER_KEY", key)
            .output()
            .unwrap()
    };
    let o = run(
        KEY,
        &["deid", "c.csv", "--out", "t.csv", "--op", "tokenize"],
    );
    assert!(o.status.success(), "{:?}", text(&o));
    assert!(
        !dir.path().join(".custodia").exists(),
        "no key file when the environment provides one"
    );
    let o = run(KEY, &["detokenize", "t.csv", "--out", "b.csv"]);
    assert!(o.status.success());
    let o = run("nothex", &["deid", "c.csv", "--out", "t2.csv"]);
    let err = text(&o).1;
    assert!(
        err.contains("CUSTODIA_MASTER_KEY") && !err.contains("nothex"),
        "{err}"
    );
}

#[test]
fn demo_runs() {
    let dir = tempfile::tempdir().unwrap();
    let o = custodia(dir.path(), &["demo"]);
    let (out, err) = text(&o);
    assert!(o.status.success(), "{out}\n{err}");
    assert!(out.contains("identical to the original: true"), "{out}");
    assert!(out.contains("card_number (CREDIT_CARD)"), "{out}");
    // The erasure reached every place, retrained the model and its certificate verifies.
    assert!(
        out.contains("re-scan of every place: the customer is nowhere"),
        "{out}"
    );
    assert!(out.contains("retrained model:churn: churn@3"), "{out}");
    assert!(out.contains("OK: erasure certificate of dsar-"), "{out}");
}
