//! One test suite, two backends: every test runs on a fresh SQLite file and on a fresh
//! PostgreSQL database (from `CUSTODIA_TEST_POSTGRES_URL`, which `scripts/test` sets by
//! starting a throwaway server with `scripts/services`). Under `CI=true` a missing URL fails
//! the suite instead of skipping PostgreSQL.

use std::process::Command;

use custodia_store::{
    AuditRow, Backend, ConsentEvent, ConsentState, DatasetRevision, DatasetVersion, DsarRecord,
    DsarUpdate, NewDecision, Registered, Revised, Store, StoreError, SubjectKeyLookup,
};

/// A store on each backend; the SQLite one lives in `dir`.
async fn stores(dir: &tempfile::TempDir) -> Vec<(String, Store)> {
    let sqlite_url = format!("sqlite://{}", dir.path().join("custodia.db").display());
    let mut out = vec![(sqlite_url.clone(), Store::open(&sqlite_url).await.unwrap())];
    if let Some(url) = custodia_testkit::fresh_postgres("custodia_t").await {
        out.push((url.clone(), Store::open(&url).await.unwrap()));
    }
    out
}

fn leaf(i: u64) -> [u8; 32] {
    let mut l = [0u8; 32];
    l[..8].copy_from_slice(&i.to_le_bytes());
    l
}

fn rows_from(tip_size: u64, n: u64) -> Vec<AuditRow> {
    (tip_size..tip_size + n)
        .map(|i| AuditRow {
            index: i,
            leaf: leaf(i),
            body: format!("{{\"index\":{i}}}"),
        })
        .collect()
}

#[tokio::test]
async fn audit_appends_are_ordered_atomic_and_see_the_tip() {
    let dir = tempfile::tempdir().unwrap();
    for (url, store) in stores(&dir).await {
        let added = store
            .audit_append(|tip| {
                assert_eq!(tip.size, 0);
                assert!(tip.last_leaf.is_none());
                Ok::<_, StoreError>((rows_from(0, 3), b"f3".to_vec()))
            })
            .await
            .unwrap();
        assert_eq!(added.len(), 3, "{url}");
        store
            .audit_append(|tip| {
                assert_eq!(tip.size, 3);
                assert_eq!(tip.last_leaf, Some(leaf(2)));
                assert_eq!(tip.frontier, b"f3");
                Ok::<_, StoreError>((rows_from(3, 250), b"f253".to_vec()))
            })
            .await
            .unwrap();
        assert_eq!(store.audit_size().await.unwrap(), 253, "{url}");
        // A builder that fails writes nothing.
        let err = store
            .audit_append(|_| Err::<(Vec<AuditRow>, Vec<u8>), _>(StoreError::Corrupt("no".into())))
            .await;
        assert!(err.is_err());
        // Rows numbered wrongly are refused, and nothing lands.
        let bad = store
            .audit_append(|tip| Ok::<_, StoreError>((rows_from(tip.size + 1, 2), vec![])))
            .await;
        assert!(bad.is_err(), "{url}");
        assert_eq!(store.audit_size().await.unwrap(), 253, "{url}");
        let rows = store.audit_rows(250, 300).await.unwrap();
        assert_eq!(
            rows.iter().map(|r| r.index).collect::<Vec<_>>(),
            vec![250, 251, 252]
        );
        assert_eq!(rows[0].leaf, leaf(250));
        assert_eq!(store.audit_tip().await.unwrap().frontier, b"f253");
        let note = store
            .audit_checkpoint_with(|tip| Ok::<_, StoreError>(format!("note {}\n", tip.size)))
            .await
            .unwrap();
        assert_eq!(note, "note 253\n");
        // The tip is covered: the existing checkpoint comes back, nothing is signed.
        let again = store
            .audit_checkpoint_with(|_| Err::<String, _>(StoreError::Corrupt("signed twice".into())))
            .await
            .unwrap();
        assert_eq!(again, note);
        let cps = store.audit_checkpoints().await.unwrap();
        assert_eq!((cps.len(), cps[0].size), (1, 253));
    }
}

#[tokio::test]
async fn concurrent_appenders_in_one_process_never_collide() {
    let dir = tempfile::tempdir().unwrap();
    for (url, _) in stores(&dir).await {
        let mut tasks = Vec::new();
        for _ in 0..4 {
            let url = url.clone();
            tasks.push(tokio::spawn(async move {
                let store = Store::open(&url).await.unwrap();
                for _ in 0..25 {
                    store
                        .audit_append(|tip| Ok::<_, StoreError>((rows_from(tip.size, 2), vec![])))
                        .await
                        .unwrap();
                }
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        let store = Store::open(&url).await.unwrap();
        let rows = store.audit_rows(0, 1_000).await.unwrap();
        assert_eq!(rows.len(), 200, "{url}");
        assert!(rows.iter().enumerate().all(|(i, r)| r.index == i as u64));
    }
}

/// Child half of the two-process test, which runs it with `--ignored` and the variables set.
#[tokio::test]
#[ignore = "run by two_processes_writing_at_once_lose_nothing in child processes"]
async fn child_appender() {
    let url = std::env::var("CUSTODIA_CHILD_STORE_URL")
        .expect("CUSTODIA_CHILD_STORE_URL: run by two_processes_writing_at_once_lose_nothing");
    let n = std::env::var("CUSTODIA_CHILD_APPENDS").expect("CUSTODIA_CHILD_APPENDS");
    let store = Store::open(&url).await.unwrap();
    for _ in 0..n.parse::<u64>().unwrap() {
        store
            .audit_append(|tip| Ok::<_, StoreError>((rows_from(tip.size, 1), vec![])))
            .await
            .unwrap();
        store
            .subject_key_or_create("eu", "shared-subject", |v| {
                Ok::<_, StoreError>(format!("k{}", std::process::id() as i64 + v).into_bytes())
            })
            .await
            .unwrap();
    }
}

#[tokio::test]
async fn two_processes_writing_at_once_lose_nothing() {
    let dir = tempfile::tempdir().unwrap();
    for (url, store) in stores(&dir).await {
        store.ensure_region("eu").await.unwrap();
        let exe = std::env::current_exe().unwrap();
        let children: Vec<_> = (0..2)
            .map(|_| {
                Command::new(&exe)
                    .args(["child_appender", "--exact", "--ignored", "--nocapture"])
                    .env("CUSTODIA_CHILD_STORE_URL", &url)
                    .env("CUSTODIA_CHILD_APPENDS", "40")
                    .spawn()
                    .unwrap()
            })
            .collect();
        for mut c in children {
            assert!(c.wait().unwrap().success(), "{url}: a child failed");
        }
        let rows = store.audit_rows(0, 1_000).await.unwrap();
        assert_eq!(rows.len(), 80, "{url}");
        assert!(
            rows.iter().enumerate().all(|(i, r)| r.index == i as u64),
            "{url}"
        );
        // Both processes asked for the same subject's key: one key exists, created once.
        match store.subject_key("eu", "shared-subject").await.unwrap() {
            SubjectKeyLookup::Found(k) => assert!(k.wrapped.starts_with(b"k")),
            other => panic!("{url}: {other:?}"),
        }
    }
}

#[tokio::test]
async fn subject_keys_are_created_once_shredded_for_good_and_rotated() {
    let dir = tempfile::tempdir().unwrap();
    for (url, store) in stores(&dir).await {
        store.ensure_region("eu").await.unwrap();
        store.ensure_region("eu").await.unwrap();
        assert_eq!(store.regions().await.unwrap(), vec!["eu".to_string()]);
        assert_eq!(store.region_key_version("eu").await.unwrap(), 1);
        assert!(store.region_key_version("mars").await.is_err());
        let (k, created) = store
            .subject_key_or_create("eu", "ref-a", |v| {
                Ok::<_, StoreError>(format!("WRAPPEDKEYA{v}").into_bytes())
            })
            .await
            .unwrap();
        assert!(created);
        assert_eq!(
            (k.key_version, k.wrapped.clone()),
            (1, b"WRAPPEDKEYA1".to_vec())
        );
        let (again, created) = store
            .subject_key_or_create("eu", "ref-a", |_| Ok::<_, StoreError>(vec![9]))
            .await
            .unwrap();
        assert!(!created && again == k, "{url}");
        store
            .subject_key_or_create("eu", "ref-b", |_| {
                Ok::<_, StoreError>(b"WRAPPEDKEYB".to_vec())
            })
            .await
            .unwrap();
        // Rotation re-wraps every key of the region in one go.
        let (version, n) = store
            .rotate_region("eu", |_subject, old, wrapped, new| {
                let mut w = wrapped.to_vec();
                w.push((old * 10 + new) as u8);
                Ok::<_, StoreError>(w)
            })
            .await
            .unwrap();
        assert_eq!((version, n), (2, 2), "{url}");
        match store.subject_key("eu", "ref-a").await.unwrap() {
            SubjectKeyLookup::Found(k) => {
                assert_eq!(
                    (k.key_version, k.wrapped),
                    (2, b"WRAPPEDKEYA1\x0c".to_vec())
                )
            }
            other => panic!("{other:?}"),
        }
        assert!(store.shred_subject_key("eu", "ref-a").await.unwrap());
        assert!(!store.shred_subject_key("eu", "ref-a").await.unwrap());
        assert!(matches!(
            store.subject_key("eu", "ref-a").await.unwrap(),
            SubjectKeyLookup::Shredded(_)
        ));
        let refused = store
            .subject_key_or_create("eu", "ref-a", |_| Ok::<_, StoreError>(vec![1]))
            .await;
        assert!(matches!(refused, Err(StoreError::Shredded { .. })), "{url}");
        assert_eq!(
            store.subject_key("eu", "never").await.unwrap(),
            SubjectKeyLookup::Missing
        );
        if store.backend() == Backend::Sqlite {
            // The wrapped bytes are gone from the files themselves, not just from the table.
            for name in ["custodia.db", "custodia.db-wal"] {
                let file = std::fs::read(dir.path().join(name)).unwrap_or_default();
                assert!(
                    !contains(&file, b"WRAPPEDKEYA"),
                    "{name} still holds the key"
                );
            }
            // ...while a key that was not shredded is still there: the scan reads the bytes
            // where keys live, so the check above is not vacuous.
            let db = std::fs::read(dir.path().join("custodia.db")).unwrap();
            let wal = std::fs::read(dir.path().join("custodia.db-wal")).unwrap_or_default();
            assert!(contains(&db, b"WRAPPEDKEYB") || contains(&wal, b"WRAPPEDKEYB"));
        }
    }
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

fn ev(subject: &str, purpose: &str, granted: bool, at_us: i64) -> ConsentEvent {
    ConsentEvent {
        id: 0,
        subject_ref: subject.into(),
        purpose: purpose.into(),
        granted,
        at_us,
        source: "test".into(),
        jurisdiction: "eu".into(),
        recorded_us: 1,
    }
}

#[tokio::test]
async fn consent_answers_point_in_time_from_the_ledger_and_imports_all_or_nothing() {
    let dir = tempfile::tempdir().unwrap();
    for (url, store) in stores(&dir).await {
        store
            .consent_append(&[
                ev("s1", "ads", true, 100),
                ev("s1", "ads", false, 200),
                ev("s1", "ads", true, 300),
                ev("s2", "ads", true, 150),
            ])
            .await
            .unwrap();
        let at = |t| {
            let store = store.clone();
            async move { store.consent_state("s1", "ads", t).await.unwrap() }
        };
        assert_eq!(at(99).await, ConsentState::Unknown, "{url}");
        assert!(matches!(at(100).await, ConsentState::Granted(e) if e.at_us == 100));
        assert!(matches!(at(250).await, ConsentState::Withdrawn(e) if e.at_us == 200));
        assert!(matches!(at(10_000).await, ConsentState::Granted(e) if e.at_us == 300));
        assert_eq!(
            store.consent_state("s1", "email", 10_000).await.unwrap(),
            ConsentState::Unknown
        );
        // One bad event in a batch: nothing of the batch lands.
        let bad = store
            .consent_append(&[ev("s3", "ads", true, 1), ev("s3", "", true, 2)])
            .await;
        assert!(bad.is_err(), "{url}");
        assert_eq!(store.consent_events(None).await.unwrap().len(), 4, "{url}");
        assert_eq!(store.consent_events_of("s1").await.unwrap().len(), 3);
        assert_eq!(store.consent_events(Some("ads")).await.unwrap().len(), 4);
    }
}

#[tokio::test]
async fn bulk_consent_scan_returns_each_subjects_deciding_event_at_the_instant() {
    // Seven appends (the kept current state must follow each), ties at one instant, events
    // after the read time (a subject whose latest event is later is decided by an earlier
    // one) and a second purpose: the scan must return each subject's deciding event at or
    // before the time, once, as the point-in-time check decides it.
    let mut rng = 0x2545_f491_4f6c_dd1du64;
    let mut next = move || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };
    let events: Vec<ConsentEvent> = (0..140_000)
        .map(|_| {
            let r = next();
            let subject = format!("{:064x}", r % 5_000);
            let purpose = if (r >> 20) % 3 == 0 { "email" } else { "ads" };
            ev(
                &subject,
                purpose,
                (r >> 24) % 2 == 0,
                ((r >> 32) % 50) as i64 - 5,
            )
        })
        .collect();
    let at = 40;
    let dir = tempfile::tempdir().unwrap();
    for (url, store) in stores(&dir).await {
        assert!(
            store.consent_scan("ads", at).await.unwrap().is_empty(),
            "{url}"
        );
        for chunk in events.chunks(20_000) {
            store.consent_append(chunk).await.unwrap();
        }
        let mut deciding: std::collections::BTreeMap<String, (i64, i64, bool)> = Default::default();
        for e in store.consent_events(Some("ads")).await.unwrap() {
            if e.at_us > at {
                continue;
            }
            let d = deciding
                .entry(e.subject_ref.clone())
                .or_insert((e.at_us, e.id, e.granted));
            if (e.at_us, e.id) > (d.0, d.1) {
                *d = (e.at_us, e.id, e.granted);
            }
        }
        let want: Vec<(String, bool)> = deciding
            .into_iter()
            .map(|(r, (_, _, granted))| (r, granted))
            .collect();
        let mut got: Vec<(String, bool)> = store
            .consent_scan("ads", at)
            .await
            .unwrap()
            .into_iter()
            .map(|e| (hex::encode(e.subject_ref), e.granted))
            .collect();
        got.sort();
        assert_eq!(want.len(), 5_000, "{url}");
        assert_eq!(got, want, "{url}");
        // The same answers as the one-subject check, which reads the events themselves.
        for (r, granted) in want.iter().step_by(97) {
            let state = store.consent_state(r, "ads", at).await.unwrap();
            assert_eq!(
                matches!(state, ConsentState::Granted(_)),
                *granted,
                "{url}: {r}"
            );
        }
        // Some subject's latest event is after the read time, so the earlier-event path ran.
        let later = store
            .consent_events(Some("ads"))
            .await
            .unwrap()
            .into_iter()
            .filter(|e| e.at_us > at)
            .count();
        assert!(later > 0, "{url}");
        assert!(store.consent_scan("none", at).await.unwrap().is_empty());
    }
}

#[tokio::test]
async fn contracts_get_a_version_per_change() {
    let dir = tempfile::tempdir().unwrap();
    for (url, store) in stores(&dir).await {
        assert_eq!(
            store.register_contract("orders", "h1", "a").await.unwrap(),
            Registered::New(1)
        );
        assert_eq!(
            store.register_contract("orders", "h1", "a").await.unwrap(),
            Registered::Unchanged(1)
        );
        assert_eq!(
            store.register_contract("orders", "h2", "b").await.unwrap(),
            Registered::Changed(2),
            "{url}"
        );
        store.register_contract("users", "h9", "u").await.unwrap();
        let latest = store.contracts().await.unwrap();
        assert_eq!(
            latest
                .iter()
                .map(|c| (c.name.as_str(), c.version))
                .collect::<Vec<_>>(),
            vec![("orders", 2), ("users", 1)]
        );
        assert_eq!(store.contract_versions("orders").await.unwrap().len(), 2);
    }
}

#[tokio::test]
async fn decisions_are_stored_linked_and_counted() {
    let dir = tempfile::tempdir().unwrap();
    for (url, store) in stores(&dir).await {
        let mut ids = Vec::new();
        for allow in [true, false, false] {
            let mut w = store.begin_write().await.unwrap();
            let id = w
                .record_decision(NewDecision {
                    decided_us: 7,
                    allow,
                    policy_digest: "abc",
                    input: "{\"purpose\":\"ads\"}",
                    decision: "{}",
                })
                .await
                .unwrap();
            w.link_decision(id, 40 + ids.len() as u64).await.unwrap();
            w.commit().await.unwrap();
            ids.push(id);
        }
        assert!(ids.windows(2).all(|w| w[0] < w[1]), "{url}: {ids:?}");
        let d = store.decision(ids[1]).await.unwrap().unwrap();
        assert_eq!(
            (d.allow, d.audit_index, d.input.as_str()),
            (false, Some(41), "{\"purpose\":\"ads\"}"),
            "{url}"
        );
        assert_eq!(store.decision(9_999).await.unwrap(), None);
        assert_eq!(store.decision_counts().await.unwrap(), (3, 2), "{url}");
        // Rolled back: not stored.
        let mut w = store.begin_write().await.unwrap();
        w.record_decision(NewDecision {
            decided_us: 8,
            allow: true,
            policy_digest: "abc",
            input: "{}",
            decision: "{}",
        })
        .await
        .unwrap();
        drop(w);
        assert_eq!(store.decision_counts().await.unwrap(), (3, 2), "{url}");
    }
}

#[tokio::test]
async fn datasets_runs_and_journal_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    for (url, store) in stores(&dir).await {
        let v = DatasetVersion {
            dataset: "orders".into(),
            version: 0,
            content_hash: "abc".into(),
            row_count: 10,
            schema_json: "{}".into(),
            region: "eu".into(),
            path: ".custodia/data/eu/orders/v1".into(),
            run_id: Some("r1".into()),
            created_us: 0,
            stats: "{\"rows\":10}".into(),
            manifest: None,
            subjects: Some(3),
            subject_key: Some("{\"column\":\"email\",\"kind\":\"email\"}".into()),
            target: None,
        };
        assert_eq!(store.record_dataset_version(&v).await.unwrap(), 1);
        assert_eq!(store.record_dataset_version(&v).await.unwrap(), 2, "{url}");
        let versions = store.dataset_versions("orders").await.unwrap();
        assert_eq!(versions.len(), 2);
        assert_eq!(versions[1].run_id.as_deref(), Some("r1"));
        assert_eq!(
            (versions[1].stats.as_str(), versions[1].subjects),
            ("{\"rows\":10}", Some(3))
        );
        assert_eq!(store.run_outputs("r1").await.unwrap().len(), 2);
        assert_eq!(versions[1].subject_key, v.subject_key, "{url}");
        // An in-place rewrite moves the version's hash and counts and keeps its history.
        let mut tx = store.begin_write().await.unwrap();
        let rev = DatasetRevision {
            dataset: "orders".into(),
            version: 1,
            revision: 0,
            content_hash: "def".into(),
            row_count: 8,
            rows_removed: 2,
            reason: "dsar:d1".into(),
            created_us: 0,
        };
        let current = Revised {
            subjects: Some(2),
            ..Revised::default()
        };
        assert_eq!(tx.record_revision(&rev, &current).await.unwrap(), 1);
        assert_eq!(tx.record_revision(&rev, &current).await.unwrap(), 2);
        tx.commit().await.unwrap();
        let v1 = store.dataset_version("orders", 1).await.unwrap().unwrap();
        assert_eq!(
            (
                v1.content_hash.as_str(),
                v1.row_count,
                v1.subjects,
                v1.stats.as_str()
            ),
            ("def", 8, Some(2), "{\"rows\":10}"),
            "{url}"
        );
        let revs = store.dataset_revisions("orders", 1).await.unwrap();
        assert_eq!(revs.iter().map(|r| r.revision).collect::<Vec<_>>(), [1, 2]);
        assert_eq!(revs[0].reason, "dsar:d1");
        let mut tx = store.begin_write().await.unwrap();
        assert!(tx
            .record_revision(
                &DatasetRevision {
                    version: 9,
                    ..rev.clone()
                },
                &current
            )
            .await
            .is_err());
        drop(tx);
        assert_eq!(store.all_dataset_versions().await.unwrap().len(), 2);
        assert_eq!(
            store
                .dataset_version("orders", 2)
                .await
                .unwrap()
                .unwrap()
                .version,
            2
        );
        // A version and its journal entry commit together, or neither does.
        let mut tx = store.begin_write().await.unwrap();
        tx.record_dataset_version(&v).await.unwrap();
        tx.journal_put("r1", "orders", "done", "{}").await.unwrap();
        drop(tx);
        assert_eq!(store.dataset_versions("orders").await.unwrap().len(), 2);
        assert!(store.journal("r1").await.unwrap().is_empty(), "{url}");
        store.run_start("r1", "daily", "d1").await.unwrap();
        store.run_start("r2", "weekly", "d2").await.unwrap();
        assert_eq!(store.runs(Some("daily"), 10).await.unwrap().len(), 1);
        assert_eq!(store.runs(None, 10).await.unwrap().len(), 2);
        store
            .run_finish("r1", "succeeded", "{\"rows\":10}")
            .await
            .unwrap();
        let run = store.run("r1").await.unwrap().unwrap();
        assert_eq!(
            (run.status.as_str(), run.finished_us.is_some()),
            ("succeeded", true)
        );
        assert!(store.run_finish("nope", "failed", "{}").await.is_err());
        store
            .journal_put("job", "a", "started", "{}")
            .await
            .unwrap();
        store
            .journal_put("job", "a", "done", "{\"n\":1}")
            .await
            .unwrap();
        store
            .journal_put("sweep-1", "plan", "done", "{}")
            .await
            .unwrap();
        store
            .journal_put("sweep-2", "plan", "done", "{}")
            .await
            .unwrap();
        store
            .journal_put("sweep-1", "finish", "done", "{}")
            .await
            .unwrap();
        assert_eq!(
            store.unfinished_jobs("sweep-").await.unwrap(),
            ["sweep-2"],
            "{url}"
        );
        let steps = store.journal("job").await.unwrap();
        assert_eq!(steps.len(), 1);
        assert_eq!(
            (steps[0].state.as_str(), steps[0].detail.as_str()),
            ("done", "{\"n\":1}")
        );
    }
}

#[tokio::test]
async fn requests_move_through_their_states() {
    let dir = tempfile::tempdir().unwrap();
    for (url, store) in stores(&dir).await {
        let d = |id: &str, due: i64| DsarRecord {
            id: id.into(),
            kind: "erasure".into(),
            jurisdiction: "eu".into(),
            region: "eu".into(),
            subject_ref: "ab".repeat(32),
            subject_kind: "email".into(),
            identifier: "sk1.x.y".into(),
            state: "received".into(),
            received_us: 1,
            due_us: due,
            extended_us: None,
            updated_us: 0,
            closed_us: None,
            result: "{}".into(),
        };
        let mut tx = store.begin_write().await.unwrap();
        tx.dsar_insert(&d("b", 20)).await.unwrap();
        tx.dsar_insert(&d("a", 30)).await.unwrap();
        tx.commit().await.unwrap();
        let mut tx = store.begin_write().await.unwrap();
        assert!(tx.dsar_insert(&d("a", 5)).await.is_err(), "ids are unique");
        drop(tx);
        let mut tx = store.begin_write().await.unwrap();
        assert_eq!(tx.dsar("a").await.unwrap().due_us, 30);
        tx.dsar_update(
            "a",
            &DsarUpdate {
                state: Some("extended".into()),
                due_us: Some(90),
                extended: true,
                ..DsarUpdate::default()
            },
        )
        .await
        .unwrap();
        tx.dsar_update(
            "b",
            &DsarUpdate {
                state: Some("completed".into()),
                closed: true,
                result: Some("{\"files\":3}".into()),
                ..DsarUpdate::default()
            },
        )
        .await
        .unwrap();
        assert!(tx.dsar_update("zz", &DsarUpdate::default()).await.is_err());
        tx.commit().await.unwrap();
        let a = store.dsar("a").await.unwrap();
        assert_eq!((a.state.as_str(), a.due_us), ("extended", 90), "{url}");
        assert!(a.extended_us.is_some() && a.closed_us.is_none());
        let b = store.dsar("b").await.unwrap();
        assert_eq!(
            (b.state.as_str(), b.result.as_str()),
            ("completed", "{\"files\":3}")
        );
        assert!(b.closed_us.is_some());
        let open: Vec<String> = store
            .dsars(false)
            .await
            .unwrap()
            .into_iter()
            .map(|d| d.id)
            .collect();
        assert_eq!(open, ["a"], "{url}");
        let all: Vec<String> = store
            .dsars(true)
            .await
            .unwrap()
            .into_iter()
            .map(|d| d.id)
            .collect();
        assert_eq!(all, ["b", "a"], "by deadline");
        assert_eq!(store.dsars_of(&"ab".repeat(32)).await.unwrap().len(), 2);
        assert!(matches!(
            store.dsar("zz").await,
            Err(StoreError::NotFound { .. })
        ));
        // Suppressions: erasure covers every purpose, an objection its own.
        let mut tx = store.begin_write().await.unwrap();
        tx.record_suppression("eu", &"ab".repeat(32), "*", "a")
            .await
            .unwrap();
        tx.record_suppression("eu", &"ab".repeat(32), "*", "b")
            .await
            .unwrap();
        tx.record_suppression("eu", &"cd".repeat(32), "ads", "c")
            .await
            .unwrap();
        tx.record_suppression("us", &"ef".repeat(32), "*", "a")
            .await
            .unwrap();
        tx.commit().await.unwrap();
        let mut training = store.suppressed_refs("eu", "training").await.unwrap();
        training.sort();
        assert_eq!(training, [([0xab; 32], true)], "{url}");
        let mut ads = store.suppressed_refs("eu", "ads").await.unwrap();
        ads.sort();
        assert_eq!(ads, [([0xab; 32], true), ([0xcd; 32], false)], "{url}");
        assert!(store.suppressed_refs("uk", "ads").await.unwrap().is_empty());
        assert_eq!(store.suppression_counts().await.unwrap(), (1, 1));
    }
}
