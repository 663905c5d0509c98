//! The custody record end to end, through the real `custodia` binary, on SQLite and on
//! PostgreSQL (`CUSTODIA_TEST_POSTGRES_URL`; required under `CI=true`): workspace, audit log
//! tampering (in the store's tables and in an export), two processes writing at once,
//! consent import and checks, contracts.

use std::{
    path::{Path, PathBuf},
    process::{Command, Output},
};

fn custodia(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_custodia"))
        .args(args)
        .current_dir(dir)
        .env("CUSTODIA_ACTOR", "test-suite")
        .env_remove("CUSTODIA_MASTER_KEY")
        .output()
        .expect("custodia runs")
}

fn ok(dir: &Path, args: &[&str]) -> String {
    let out = custodia(dir, args);
    assert!(
        out.status.success(),
        "custodia {args:?} failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn block<T>(f: impl std::future::Future<Output = T>) -> T {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(f)
}

/// A fresh PostgreSQL database URL, or None when no server is configured (fails under CI).
fn fresh_postgres() -> Option<String> {
    block(custodia_testkit::fresh_postgres("custodia_cli"))
}

/// Declares the tests' extra purposes (`ads`, `email`) in a workspace's custodia.toml, as a
/// user would.
fn declare_test_purposes(ws: &Path) {
    let path = ws.join("custodia.toml");
    let toml = std::fs::read_to_string(&path).unwrap();
    let edited = toml.replacen(
        "names = [\"personalization\"",
        "names = [\"ads\", \"email\", \"personalization\"",
        1,
    );
    assert_ne!(edited, toml, "custodia.toml has a [purposes] list");
    std::fs::write(&path, edited).unwrap();
}

/// A new workspace on each backend: (label, folder, store URL).
fn workspaces(tmp: &Path) -> Vec<(&'static str, PathBuf, String)> {
    let out = workspaces_default(tmp);
    for (_, ws, _) in &out {
        declare_test_purposes(ws);
    }
    out
}

fn workspaces_default(tmp: &Path) -> Vec<(&'static str, PathBuf, String)> {
    let mut out = Vec::new();
    let sqlite = tmp.join("ws-sqlite");
    ok(tmp, &["init", sqlite.to_str().unwrap()]);
    out.push((
        "sqlite",
        sqlite.clone(),
        format!(
            "sqlite://{}",
            sqlite.join(".custodia/custodia.db").display()
        ),
    ));
    if let Some(url) = fresh_postgres() {
        let pg = tmp.join("ws-postgres");
        ok(tmp, &["init", pg.to_str().unwrap(), "--store", &url]);
        out.push(("postgres", pg, url));
    }
    out
}

/// Runs SQL against a store (to play the attacker with database access).
fn sql(url: &str, statement: &str) {
    block(async {
        sqlx::any::install_default_drivers();
        let mut c = <sqlx::AnyConnection as sqlx::Connection>::connect(url)
            .await
            .unwrap();
        sqlx::Executor::execute(&mut c, statement).await.unwrap();
    });
}

fn verify(dir: &Path, export: &Path) -> Output {
    custodia(
        dir,
        &[
            "audit",
            "verify",
            export.to_str().unwrap(),
            "--pubkey",
            export.join("audit.vkey").to_str().unwrap(),
        ],
    )
}

fn first_bad(out: &Output) -> String {
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    err.lines()
        .find_map(|l| l.strip_prefix("first bad entry: "))
        .unwrap_or_else(|| panic!("no first bad entry in: {err}"))
        .to_string()
}

#[test]
fn init_lays_out_the_workspace_and_config_errors_name_line_key_and_fix() {
    let tmp = tempfile::tempdir().unwrap();
    let ws = tmp.path().join("ws");
    ok(
        tmp.path(),
        &[
            "init",
            ws.to_str().unwrap(),
            "--region",
            "eu",
            "--region",
            "uk",
        ],
    );
    for d in [
        "contracts",
        "pipelines",
        "policies",
        ".custodia/keys",
        ".custodia/data",
    ] {
        assert!(ws.join(d).is_dir(), "{d}");
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(ws.join(".custodia/keys/master.key"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let toml = std::fs::read_to_string(ws.join("custodia.toml")).unwrap();
    assert!(toml.contains("names = [\"eu\", \"uk\"]"), "{toml}");
    // Idempotent.
    let again = ok(tmp.path(), &["init", ws.to_str().unwrap(), "--json"]);
    assert!(again.contains("\"existed\":true"), "{again}");
    // A typo in custodia.toml: the error names file, line, key and the fix; exit 2.
    std::fs::write(
        ws.join("custodia.toml"),
        "[store]\nurl = \"sqlite://.custodia/custodia.db\"\n\n[regions]\nnmaes = [\"eu\"]\n",
    )
    .unwrap();
    let out = custodia(&ws, &["subject", "ref", "--email", "ana@example.com"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("custodia.toml:5:1") && err.contains("nmaes") && err.contains("fix"),
        "{err}"
    );
    // Outside any workspace: says to run init.
    let out = custodia(tmp.path(), &["audit", "log"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("custodia init"));
    // Flags that would be ignored on an existing workspace are refused.
    std::fs::write(ws.join("custodia.toml"), toml).unwrap();
    let out = custodia(
        tmp.path(),
        &["init", ws.to_str().unwrap(), "--region", "us"],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("edit custodia.toml"));
    // Another master key: every command stops before it mints refs that match nothing.
    let key = ws.join(".custodia/keys/master.key");
    let original = std::fs::read_to_string(&key).unwrap();
    std::fs::write(&key, "11".repeat(32)).unwrap();
    let out = custodia(&ws, &["subject", "ref", "--email", "ana@example.com"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("does not match"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // A missing key file on an existing workspace is an error, not a fresh key.
    std::fs::remove_file(&key).unwrap();
    let out = custodia(tmp.path(), &["init", ws.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(!key.exists());
    std::fs::write(&key, original).unwrap();
    ok(&ws, &["audit", "log"]);
}

#[test]
fn subject_refs_are_canonical_and_never_echo_the_identifier_in_errors() {
    let tmp = tempfile::tempdir().unwrap();
    ok(tmp.path(), &["init"]);
    let a = ok(
        tmp.path(),
        &["subject", "ref", "--email", "  Ana@Example.COM "],
    );
    let b = ok(tmp.path(), &["subject", "ref", "email:ana@example.com"]);
    let c = ok(
        tmp.path(),
        &[
            "subject",
            "ref",
            "--email",
            "ana@example.com",
            "--region",
            "us",
        ],
    );
    assert_eq!(a, b);
    assert_ne!(a, c);
    assert_eq!(a.trim().len(), 64);
    let p1 = ok(
        tmp.path(),
        &["subject", "ref", "--phone", "+44 (0)20 7946 0958"],
    );
    let p2 = ok(tmp.path(), &["subject", "ref", "phone:0044 20 7946-0958"]);
    assert_eq!(p1, p2);
    let out = custodia(tmp.path(), &["subject", "ref", "--phone", "020 7946 0958"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(!String::from_utf8_lossy(&out.stderr).contains("7946"));
}

#[test]
fn the_audit_log_catches_tampering_in_the_store_and_in_the_export() {
    let tmp = tempfile::tempdir().unwrap();
    for (backend, ws, url) in workspaces(tmp.path()) {
        for (i, p) in ["ads", "email", "analytics"].iter().enumerate() {
            ok(
                &ws,
                &[
                    "consent",
                    "grant",
                    "--subject",
                    &format!("email:user{i}@example.com"),
                    "--purpose",
                    p,
                ],
            );
        }
        let log = ok(&ws, &["audit", "log", "--json"]);
        assert_eq!(log.lines().count(), 4, "{backend}: {log}");
        assert!(
            !log.contains("user0@example.com"),
            "{backend}: raw identifier in the audit log"
        );
        let proof = ok(&ws, &["audit", "prove", "2", "--json"]);
        assert!(proof.contains("inclusion_proof"), "{proof}");

        let clean = tmp.path().join(format!("{backend}-clean"));
        ok(&ws, &["audit", "export", clean.to_str().unwrap()]);
        assert!(
            verify(&ws, &clean).status.success(),
            "{backend}: clean export fails"
        );

        // Attacks on an export.
        let lines: Vec<String> = std::fs::read_to_string(clean.join("entries.jsonl"))
            .unwrap()
            .lines()
            .map(String::from)
            .collect();
        let attack = |name: &str, edit: &dyn Fn(&mut Vec<String>)| {
            let dir = tmp.path().join(format!("{backend}-{name}"));
            copy_dir(&clean, &dir);
            let mut l = lines.clone();
            edit(&mut l);
            std::fs::write(dir.join("entries.jsonl"), l.join("\n") + "\n").unwrap();
            first_bad(&verify(&ws, &dir))
        };
        assert_eq!(
            attack("altered", &|l| l[2] =
                l[2].replace("\"purpose:email\"", "\"purpose:other\"")),
            "2",
            "{backend}"
        );
        assert_eq!(
            attack("removed", &|l| {
                l.remove(1);
            }),
            "1",
            "{backend}"
        );
        assert_eq!(attack("reordered", &|l| l.swap(1, 2)), "1", "{backend}");
        assert_eq!(
            attack("inserted", &|l| {
                let x = l[1].clone();
                l.insert(2, x);
            }),
            "2",
            "{backend}"
        );
        // A checkpoint signed by someone else: the signature check fails (exit 1).
        let forged = tmp.path().join(format!("{backend}-forged"));
        copy_dir(&clean, &forged);
        let note = forged.join("checkpoints/000001.note");
        let text = std::fs::read_to_string(&note).unwrap();
        std::fs::write(&note, text.replacen("\n2\n", "\n3\n", 1)).unwrap();
        assert_eq!(verify(&ws, &forged).status.code(), Some(1), "{backend}");

        // The newest entries cut off together with their checkpoints: self-consistent, so
        // only a checkpoint the auditor kept from before exposes it.
        let cut = tmp.path().join(format!("{backend}-cut"));
        copy_dir(&clean, &cut);
        std::fs::write(cut.join("entries.jsonl"), lines[..2].join("\n") + "\n").unwrap();
        let mut kept_last = None;
        for e in std::fs::read_dir(cut.join("checkpoints")).unwrap() {
            let p = e.unwrap().path();
            let size: u64 = std::fs::read_to_string(&p)
                .unwrap()
                .lines()
                .nth(1)
                .unwrap()
                .parse()
                .unwrap();
            if size > 2 {
                std::fs::remove_file(&p).unwrap();
            }
        }
        for e in std::fs::read_dir(clean.join("checkpoints")).unwrap() {
            let p = e.unwrap().path();
            kept_last = kept_last.max(Some(p));
        }
        assert!(
            verify(&ws, &cut).status.success(),
            "{backend}: a cut-off export is self-consistent"
        );
        let trusted = custodia(
            &ws,
            &[
                "audit",
                "verify",
                cut.to_str().unwrap(),
                "--pubkey",
                clean.join("audit.vkey").to_str().unwrap(),
                "--trusted-checkpoint",
                kept_last.unwrap().to_str().unwrap(),
            ],
        );
        assert_eq!(first_bad(&trusted), "2", "{backend}");
        assert!(
            String::from_utf8_lossy(&trusted.stderr).contains("cut off"),
            "{backend}"
        );

        // Attacks on the store's table, then a fresh export.
        sql(&url, "UPDATE audit_entries SET body = replace(body, 'consent.grant', 'consent.grunt') WHERE idx = 3");
        let after = tmp.path().join(format!("{backend}-db-altered"));
        ok(&ws, &["audit", "export", after.to_str().unwrap()]);
        assert_eq!(first_bad(&verify(&ws, &after)), "3", "{backend}");
        sql(&url, "UPDATE audit_entries SET body = replace(body, 'consent.grunt', 'consent.grant') WHERE idx = 3");
        sql(&url, "DELETE FROM audit_entries WHERE idx = 1");
        let deleted = tmp.path().join(format!("{backend}-db-deleted"));
        ok(&ws, &["audit", "export", deleted.to_str().unwrap()]);
        assert_eq!(first_bad(&verify(&ws, &deleted)), "1", "{backend}");
    }
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to.join("checkpoints")).unwrap();
    for f in ["entries.jsonl", "audit.vkey"] {
        std::fs::copy(from.join(f), to.join(f)).unwrap();
    }
    for e in std::fs::read_dir(from.join("checkpoints")).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), to.join("checkpoints").join(e.file_name())).unwrap();
    }
}

#[test]
fn two_processes_writing_at_once_leave_one_consistent_log() {
    let tmp = tempfile::tempdir().unwrap();
    for (backend, ws, _) in workspaces(tmp.path()) {
        let workers: Vec<_> = (0..2)
            .map(|w| {
                let ws = ws.clone();
                std::thread::spawn(move || {
                    for i in 0..8 {
                        ok(
                            &ws,
                            &[
                                "consent",
                                "grant",
                                "--subject",
                                &format!("customer_id:w{w}-{i}"),
                                "--purpose",
                                "ads",
                            ],
                        );
                    }
                })
            })
            .collect();
        for w in workers {
            w.join().unwrap();
        }
        let log = ok(&ws, &["audit", "log", "--json"]);
        assert_eq!(log.lines().count(), 17, "{backend}");
        let export = tmp.path().join(format!("{backend}-concurrent"));
        ok(&ws, &["audit", "export", export.to_str().unwrap()]);
        assert!(verify(&ws, &export).status.success(), "{backend}");
        let events = ok(&ws, &["consent", "export"]);
        assert_eq!(events.lines().count(), 16, "{backend}");
    }
}

#[test]
fn consent_imports_all_or_nothing_and_answers_point_in_time() {
    let tmp = tempfile::tempdir().unwrap();
    for (backend, ws, _) in workspaces(tmp.path()) {
        let good = ws.join("cmp.csv");
        std::fs::write(
            &good,
            "email,purpose,status,timestamp,gpc\n\
             ana@example.com,personalization,granted,2026-01-01T00:00:00Z,\n\
             ana@example.com,personalization,withdrawn,2026-06-01T00:00:00Z,\n\
             bo@example.com,model_training,opt_in,2026-02-01T00:00:00Z,true\n",
        )
        .unwrap();
        let out = ok(&ws, &["consent", "import", "cmp.csv", "--json"]);
        assert!(
            out.contains("\"events\":4") && out.contains("\"gpc_opt_outs\":1"),
            "{backend}: {out}"
        );
        let check = |purpose: &str, subject: &str, at: &str| {
            custodia(
                &ws,
                &[
                    "consent",
                    "check",
                    "--subject",
                    subject,
                    "--purpose",
                    purpose,
                    "--at",
                    at,
                    "--json",
                ],
            )
        };
        let mid = check(
            "personalization",
            "email:ana@example.com",
            "2026-03-01T00:00:00Z",
        );
        assert_eq!(mid.status.code(), Some(0), "{backend}");
        assert!(String::from_utf8_lossy(&mid.stdout).contains("\"status\":\"granted\""));
        assert_eq!(
            check(
                "personalization",
                "email:ana@example.com",
                "2026-07-01T00:00:00Z"
            )
            .status
            .code(),
            Some(1)
        );
        assert_eq!(
            check(
                "personalization",
                "email:ana@example.com",
                "2025-12-01T00:00:00Z"
            )
            .status
            .code(),
            Some(1)
        );
        assert_eq!(
            check(
                "sale_sharing",
                "email:bo@example.com",
                "2026-03-01T00:00:00Z"
            )
            .status
            .code(),
            Some(1)
        );
        assert_eq!(
            check(
                "model_training",
                "email:bo@example.com",
                "2026-03-01T00:00:00Z"
            )
            .status
            .code(),
            Some(0)
        );

        // One bad row: nothing imported, the error names the line, never the value.
        std::fs::write(
            ws.join("bad.csv"),
            "email,purpose,status,timestamp\n\
             carl@example.com,ads,granted,2026-01-01T00:00:00Z\n\
             dana@example.com,ads,maybe,2026-01-01T00:00:00Z\n",
        )
        .unwrap();
        let out = custodia(&ws, &["consent", "import", "bad.csv"]);
        assert_eq!(out.status.code(), Some(2), "{backend}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("line 3") && err.contains("status") && !err.contains("dana"),
            "{err}"
        );
        assert_eq!(
            ok(&ws, &["consent", "export"]).lines().count(),
            4,
            "{backend}: half an import landed"
        );
    }
}

#[test]
fn contracts_are_validated_and_registered_as_versions() {
    let tmp = tempfile::tempdir().unwrap();
    for (backend, ws, _) in workspaces(tmp.path()) {
        let contract = "dataset: customers\nowner: data@example.com\nregion: eu\nsubject_key: email\nretention: 2y\npurposes:\n  - name: personalization\n    legal_basis: consent\ncolumns:\n  - name: email\n    classification: L2\n    pii: EMAIL_ADDRESS\n    transform: tokenize\n";
        std::fs::write(ws.join("contracts/customers.yaml"), contract).unwrap();
        let out = ok(&ws, &["contract", "apply", "contracts/", "--json"]);
        assert!(out.contains("\"outcome\":\"new\""), "{backend}: {out}");
        let out = ok(&ws, &["contract", "apply", "contracts/", "--json"]);
        assert!(
            out.contains("\"outcome\":\"unchanged\""),
            "{backend}: {out}"
        );
        std::fs::write(
            ws.join("contracts/customers.yaml"),
            contract.replace("2y", "1y"),
        )
        .unwrap();
        let out = ok(&ws, &["contract", "apply", "contracts/", "--json"]);
        assert!(
            out.contains("\"outcome\":\"changed\"") && out.contains("\"version\":2"),
            "{out}"
        );
        let show = ok(&ws, &["contract", "show", "customers"]);
        assert!(show.contains("v1 ") && show.contains("v2 ") && show.contains("retention: 1y"));
        let log = ok(&ws, &["audit", "log", "--json"]);
        assert_eq!(log.matches("contract.register").count(), 2, "{backend}");
        // A region the workspace does not have: file, line and the fix; nothing registered.
        std::fs::write(
            ws.join("contracts/orders.yaml"),
            contract
                .replace("customers", "orders")
                .replace("region: eu", "region: mars"),
        )
        .unwrap();
        let out = custodia(&ws, &["contract", "apply", "contracts/"]);
        assert_eq!(out.status.code(), Some(2));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("orders.yaml:3") && err.contains("custodia.toml"),
            "{err}"
        );
        assert!(!ok(&ws, &["contract", "list"]).contains("orders"));
        let out = custodia(&ws, &["contract", "validate", "contracts/"]);
        assert_eq!(out.status.code(), Some(2));
        std::fs::remove_file(ws.join("contracts/orders.yaml")).unwrap();
        // A purpose the workspace does not declare: named with its line; consent refuses it too.
        std::fs::write(
            ws.join("contracts/users.yaml"),
            contract
                .replace("customers", "users")
                .replace("personalization", "profiling"),
        )
        .unwrap();
        let out = custodia(&ws, &["contract", "apply", "contracts/"]);
        assert_eq!(out.status.code(), Some(2));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("users.yaml:7")
                && err.contains("\"profiling\"")
                && err.contains("[purposes]"),
            "{err}"
        );
        let out = custodia(
            &ws,
            &[
                "consent",
                "grant",
                "--subject",
                "email:a@b.co",
                "--purpose",
                "profiling",
            ],
        );
        assert_eq!(out.status.code(), Some(2), "{backend}");
        assert!(String::from_utf8_lossy(&out.stderr).contains("[purposes]"));
        // Asking about an undeclared purpose is a usage error, not a denial.
        let out = custodia(
            &ws,
            &[
                "consent",
                "check",
                "--subject",
                "email:a@b.co",
                "--purpose",
                "profiling",
            ],
        );
        assert_eq!(out.status.code(), Some(2), "{backend}");
        assert!(String::from_utf8_lossy(&out.stderr).contains("[purposes]"));

        // In CI there is a checkout but no master key or store: regions and purposes are
        // still checked from custodia.toml alone.
        let ci = tmp.path().join(format!("{backend}-ci-checkout"));
        std::fs::create_dir_all(ci.join("contracts")).unwrap();
        std::fs::copy(ws.join("custodia.toml"), ci.join("custodia.toml")).unwrap();
        std::fs::copy(
            ws.join("contracts/users.yaml"),
            ci.join("contracts/users.yaml"),
        )
        .unwrap();
        let out = custodia(&ci, &["contract", "validate", "contracts/"]);
        assert_eq!(out.status.code(), Some(2), "{backend}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("users.yaml:7") && err.contains("[purposes]"),
            "{err}"
        );
        std::fs::remove_file(ws.join("contracts/users.yaml")).unwrap();

        // Two files governing one dataset: refused, naming both, nothing registered.
        std::fs::write(
            ws.join("contracts/customers-copy.yaml"),
            contract.replace("2y", "5y"),
        )
        .unwrap();
        let out = custodia(&ws, &["contract", "apply", "contracts/"]);
        assert_eq!(out.status.code(), Some(2), "{backend}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("customers.yaml:1") && err.contains("customers-copy.yaml"),
            "{err}"
        );
        let show = ok(&ws, &["contract", "show", "customers"]);
        assert!(
            !show.contains("5y") && !show.contains("v3 "),
            "{backend}: {show}"
        );
    }
}

#[test]
fn shredding_a_subject_key_makes_every_copy_of_their_fields_unreadable() {
    let tmp = tempfile::tempdir().unwrap();
    for (backend, ws, _) in workspaces(tmp.path()) {
        std::fs::write(
            ws.join("customers.csv"),
            "email,plan,note\n\
             ana@example.com,pro,call ana@example.com after 5\n\
             bo@example.com,free,no notes\n\
             ana@example.com,pro,renewal\n",
        )
        .unwrap();
        let deid = [
            "deid",
            "customers.csv",
            "--out",
            "customers.deid.csv",
            "--column",
            "email=tokenize",
            "--column",
            "note=tokenize",
            "--subject-column",
            "email=email",
            "--json",
        ];
        let report = ok(&ws, &deid);
        assert!(report.contains("\"rows\": 3"), "{backend}: {report}");
        let sealed = std::fs::read_to_string(ws.join("customers.deid.csv")).unwrap();
        assert!(
            !sealed.contains("ana@example.com") && sealed.contains("sk1."),
            "{backend}: {sealed}"
        );
        // A copy made before the shred: a backup, an export, a laptop.
        std::fs::copy(ws.join("customers.deid.csv"), ws.join("backup.csv")).unwrap();

        let ref_before = ok(&ws, &["subject", "ref", "email:ana@example.com"]);
        ok(&ws, &["keys", "rotate", "--region", "eu"]);
        assert_eq!(
            ok(&ws, &["subject", "ref", "email:ana@example.com"]),
            ref_before,
            "{backend}: rotation moved a SubjectRef"
        );
        ok(
            &ws,
            &["detokenize", "customers.deid.csv", "--out", "restored.csv"],
        );
        let restored = std::fs::read_to_string(ws.join("restored.csv")).unwrap();
        assert!(
            restored.contains("ana@example.com,pro,call ana@example.com after 5")
                && restored.contains("bo@example.com"),
            "{backend}: {restored}"
        );

        let shred = ok(&ws, &["keys", "shred", "email:ana@example.com", "--json"]);
        assert!(shred.contains("\"key_existed\":true"), "{backend}: {shred}");
        for file in ["backup.csv", "customers.deid.csv"] {
            let out = ok(&ws, &["detokenize", file, "--out", "after.csv"]);
            let after = std::fs::read_to_string(ws.join("after.csv")).unwrap();
            assert!(
                !after.contains("ana@example.com"),
                "{backend}: {file} still opens after the shred: {after}"
            );
            assert!(
                after.contains("bo@example.com"),
                "{backend}: other subjects must stay readable"
            );
            assert!(out.contains("keys were shredded"), "{backend}: {out}");
        }
        let counts: serde_json::Value = serde_json::from_str(&ok(
            &ws,
            &["detokenize", "backup.csv", "--out", "after.csv", "--json"],
        ))
        .unwrap();
        // Ana's two rows (two fields each) stay shut; Bo's two fields open.
        assert_eq!(counts["shredded"], 4, "{backend}: {counts}");
        assert_eq!(counts["restored"], 2, "{backend}: {counts}");
        // The shred is in the audit log, by ref only.
        let log = ok(&ws, &["audit", "log", "--json"]);
        assert!(
            log.contains("\"key.shred\"") && log.contains(ref_before.trim()),
            "{backend}"
        );
        assert!(!log.contains("ana@example.com"));
        // New data for a shredded subject is refused rather than silently re-keyed.
        let out = custodia(&ws, &deid);
        assert_ne!(out.status.code(), Some(0), "{backend}");
        assert!(String::from_utf8_lossy(&out.stderr).contains("crypto-shredded"));
    }
}

#[test]
fn scans_inside_a_workspace_are_audited_by_counts_and_entity_types() {
    let tmp = tempfile::tempdir().unwrap();
    ok(tmp.path(), &["init"]);
    std::fs::write(
        tmp.path().join("people.csv"),
        "email,city\nana@example.com,Berlin\nbo@example.com,Paris\n",
    )
    .unwrap();
    ok(tmp.path(), &["scan", "people.csv", "--json"]);
    let log = ok(tmp.path(), &["audit", "log", "--json"]);
    let line = log
        .lines()
        .find(|l| l.contains("scan.results"))
        .expect("scan audited");
    assert!(
        line.contains("EMAIL_ADDRESS") && line.contains("\"rows\":2"),
        "{line}"
    );
    assert!(
        !line.contains("ana@example.com") && !line.contains("Berlin"),
        "{line}"
    );
}

#[test]
fn a_change_and_its_audit_entry_land_together_or_not_at_all() {
    let tmp = tempfile::tempdir().unwrap();
    for (backend, ws, url) in workspaces(tmp.path()) {
        let entries = || ok(&ws, &["audit", "log", "--json"]).lines().count();
        let before = entries();
        // The audit log cannot be written (as if the disk filled up at that moment).
        sql(
            &url,
            "ALTER TABLE audit_entries RENAME TO audit_entries_away",
        );
        let out = custodia(
            &ws,
            &[
                "consent",
                "grant",
                "--subject",
                "email:zed@example.com",
                "--purpose",
                "analytics",
            ],
        );
        assert_ne!(out.status.code(), Some(0), "{backend}");
        let out = custodia(&ws, &["contract", "list"]);
        assert!(out.status.success(), "{backend}: reads still work");
        sql(
            &url,
            "ALTER TABLE audit_entries_away RENAME TO audit_entries",
        );
        // The grant did not land without its entry.
        let check = custodia(
            &ws,
            &[
                "consent",
                "check",
                "--subject",
                "email:zed@example.com",
                "--purpose",
                "analytics",
                "--json",
            ],
        );
        assert_eq!(check.status.code(), Some(1), "{backend}");
        assert!(
            String::from_utf8_lossy(&check.stdout).contains("\"decided_by\":null"),
            "{backend}"
        );
        assert_eq!(entries(), before, "{backend}");
        // And once the log is writable again, the same command works and is recorded.
        ok(
            &ws,
            &[
                "consent",
                "grant",
                "--subject",
                "email:zed@example.com",
                "--purpose",
                "analytics",
            ],
        );
        assert_eq!(entries(), before + 1, "{backend}");
    }
}

#[test]
fn policy_decisions_are_recorded_explained_and_tested() {
    let tmp = tempfile::tempdir().unwrap();
    for (backend, ws, url) in workspaces(tmp.path()) {
        std::fs::write(
            ws.join("contracts/customers.yaml"),
            "dataset: customers\nowner: data@example.com\nregion: eu\nsubject_key: email\nretention: 2y\npurposes:\n  - name: personalization\n    legal_basis: consent\n  - name: model_training\n    legal_basis: legitimate_interest\ncolumns:\n  - name: email\n    classification: L2\n    pii: EMAIL_ADDRESS\n    transform: tokenize\n  - name: plan\n    classification: L0\n",
        )
        .unwrap();
        ok(&ws, &["contract", "apply", "contracts/"]);
        let request = |purpose: &str, roles: &str| {
            format!(
                "{{\"action\": \"train\", \"purpose\": \"{purpose}\", \"dataset\": {{\"name\": \"customers\"}}, \"actor\": {{\"roles\": [{roles}]}}}}"
            )
        };
        std::fs::write(
            ws.join("ok.json"),
            request("personalization", "\"ml_engineer\""),
        )
        .unwrap();
        std::fs::write(ws.join("bad.json"), request("marketing", "\"analyst\"")).unwrap();

        let out: serde_json::Value = serde_json::from_str(&ok(
            &ws,
            &["policy", "eval", "--input", "ok.json", "--json"],
        ))
        .unwrap();
        assert_eq!(out["decision"]["allow"], true, "{backend}: {out}");
        assert_eq!(out["decision"]["obligations"][0]["kind"], "row_filter");
        // The contract filled in the dataset; the workspace the actor and time.
        assert_eq!(out["input"]["dataset"]["region"], "eu");
        assert_eq!(out["input"]["actor"]["id"], "test-suite");

        let denied = custodia(&ws, &["policy", "eval", "--input", "bad.json", "--json"]);
        assert_eq!(denied.status.code(), Some(1), "{backend}");
        let d: serde_json::Value = serde_json::from_slice(&denied.stdout).unwrap();
        let id = d["id"].as_i64().unwrap();
        let explained = ok(&ws, &["policy", "explain", &id.to_string()]);
        assert!(
            explained.contains("purpose.not_in_contract")
                && explained.contains("access.action")
                && explained.contains("fix:"),
            "{backend}: {explained}"
        );
        assert_eq!(
            custodia(&ws, &["policy", "explain", "999"]).status.code(),
            Some(2)
        );

        // Both decisions are in the audit log, by rule names, and the log still verifies.
        let log = ok(&ws, &["audit", "log", "--json"]);
        let decisions: Vec<&str> = log
            .lines()
            .filter(|l| l.contains("policy.decision"))
            .collect();
        assert_eq!(decisions.len(), 2, "{backend}: {log}");
        assert!(
            decisions[1].contains("\"denied_by\":\"access.action,purpose.not_in_contract\""),
            "{}",
            decisions[1]
        );
        let export = tmp.path().join(format!("{backend}-policy-export"));
        ok(&ws, &["audit", "export", export.to_str().unwrap()]);
        assert!(verify(&ws, &export).status.success());

        // The contract is authoritative: a request may not describe the dataset, name one
        // without a contract, or pick its own time.
        for (body, says) in [
            (
                r#"{"purpose": "marketing", "dataset": {"name": "customers", "region": "eu", "purposes": [{"name": "marketing", "legal_basis": "consent"}]}, "actor": {"roles": ["admin"]}}"#,
                "give only its name",
            ),
            (
                r#"{"purpose": "marketing", "dataset": {"name": "ghost"}, "actor": {"roles": ["admin"]}}"#,
                "no registered contract",
            ),
            (
                r#"{"purpose": "personalization", "dataset": {"name": "customers"}, "actor": {"roles": ["admin"]}, "time": "2019-06-01T00:00:00Z"}"#,
                "drop it",
            ),
        ] {
            std::fs::write(ws.join("sneaky.json"), body).unwrap();
            let out = custodia(&ws, &["policy", "eval", "--input", "sneaky.json"]);
            assert_eq!(out.status.code(), Some(2), "{backend}: {body}");
            assert!(
                String::from_utf8_lossy(&out.stderr).contains(says),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
        }

        // A decision row edited in the store no longer matches its audit entry.
        sql(&url, &format!("UPDATE policy_decisions SET decision = replace(decision, '\"allow\":false', '\"allow\":true') WHERE id = {id}"));
        let out = custodia(&ws, &["policy", "explain", &id.to_string()]);
        assert_eq!(out.status.code(), Some(1), "{backend}");
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("was altered"),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let ok_id = out_id(&ok(
            &ws,
            &["policy", "eval", "--input", "ok.json", "--json"],
        ));
        assert!(ok(&ws, &["policy", "explain", &ok_id.to_string()]).contains("ALLOWED"));

        // Workspace policies: an extension with tests.
        std::fs::write(
            ws.join("policies/team.rego"),
            "package custodia.ext.team\n\ndeny contains {\"rule\": \"team.no_training_by_analysts\", \"message\": \"analysts do not train\", \"fix\": \"ask ML\"} if {\n\tinput.action == \"train\"\n\t\"analyst\" in input.actor.roles\n}\n\ntest_analysts_denied if {\n\tcount(deny) == 1 with input as {\"action\": \"train\", \"actor\": {\"roles\": [\"analyst\"]}}\n}\n\ntest_wrong_on_purpose if {\n\tcount(deny) == 1 with input as {\"action\": \"read\", \"actor\": {\"roles\": [\"analyst\"]}}\n}\n",
        )
        .unwrap();
        let t = custodia(&ws, &["policy", "test"]);
        let text = String::from_utf8_lossy(&t.stdout);
        assert_eq!(t.status.code(), Some(1), "{text}");
        assert!(
            text.contains("PASS  data.custodia.ext.team.test_analysts_denied"),
            "{text}"
        );
        assert!(
            text.contains("FAIL  data.custodia.ext.team.test_wrong_on_purpose"),
            "{text}"
        );
        let d: serde_json::Value = serde_json::from_slice(
            &custodia(&ws, &["policy", "eval", "--input", "bad.json", "--json"]).stdout,
        )
        .unwrap();
        assert!(d["decision"]["denials"]
            .to_string()
            .contains("team.no_training_by_analysts"));

        // Bad Rego and an attempt to replace the built-in bundle: exit 2, file and line.
        std::fs::write(
            ws.join("policies/broken.rego"),
            "package custodia.ext.b\n\nallow if {\n",
        )
        .unwrap();
        let out = custodia(&ws, &["policy", "eval", "--input", "ok.json"]);
        assert_eq!(out.status.code(), Some(2));
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("policies/broken.rego:"),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        std::fs::write(
            ws.join("policies/broken.rego"),
            "package custodia.decision\n\nallow := true\n",
        )
        .unwrap();
        let out = custodia(&ws, &["policy", "test"]);
        assert_eq!(out.status.code(), Some(2));
        assert!(String::from_utf8_lossy(&out.stderr).contains(
            "policies/broken.rego:1: package custodia.decision is not an extension package"
        ));
        std::fs::remove_file(ws.join("policies/broken.rego")).unwrap();

        // A break-glass justification holding personal data is refused and not recorded.
        let before = ok(&ws, &["audit", "log", "--json"]).lines().count();
        std::fs::write(
            ws.join("glass.json"),
            "{\"purpose\": \"model_training\", \"dataset\": {\"name\": \"customers\"}, \"actor\": {\"break_glass\": {\"justification\": \"customer ana.lopez@gmail.com asked us to check her account\"}}}",
        )
        .unwrap();
        let out = custodia(&ws, &["policy", "eval", "--input", "glass.json"]);
        assert_eq!(out.status.code(), Some(2));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("EMAIL_ADDRESS") && !err.contains("ana.lopez"),
            "{err}"
        );
        assert_eq!(ok(&ws, &["audit", "log", "--json"]).lines().count(), before);
    }
}

fn out_id(json: &str) -> i64 {
    serde_json::from_str::<serde_json::Value>(json).unwrap()["id"]
        .as_i64()
        .unwrap()
}
