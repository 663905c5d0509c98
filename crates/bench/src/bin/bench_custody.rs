//! Throughput of the custody record on SQLite and PostgreSQL, in one run:
//!
//! - audit appends, one entry per transaction and 1,000 per transaction, against the
//!   cost of hashing alone (canonical encoding + RFC 6962 leaf hash: the ceiling);
//! - inclusion proofs verified per second, against hashing alone;
//! - consent: `consent import` of an N-row CSV (parsing, SubjectRefs, one transaction), then
//!   point-in-time checks per second from the
//!   in-memory index (what bulk enforcement uses) and through one SQL query per check.
//!
//! ```sh
//! eval "$(scripts/services start postgres)"
//! target/release/bench_custody --events 1000000 --json
//! ```
//! Without `CUSTODIA_TEST_POSTGRES_URL` only SQLite is measured (and the report says so).

use std::time::Instant;

use anyhow::{Context, Result};
use custodia_audit::{merkle, EntryBuilder, Link};
use custodia_engine::{
    audit_log, audit_log::NewEntry, consent::ConsentIndex, InitOptions, Workspace,
};
use custodia_store::{ConsentEvent, Store};
use std::io::Write;
use std::path::Path;

struct Args {
    events: usize,
    single: usize,
    batched: usize,
    proofs: usize,
    checks: usize,
    json: bool,
}

fn parse_args() -> Result<Args> {
    let mut a = Args {
        events: 1_000_000,
        single: 2_000,
        batched: 100_000,
        proofs: 1 << 20,
        checks: 1_000_000,
        json: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut num = |name: &str| -> Result<usize> {
            it.next()
                .with_context(|| format!("{name} needs a number"))?
                .parse()
                .with_context(|| format!("{name} must be a number"))
        };
        match flag.as_str() {
            "--events" => a.events = num("--events")?,
            "--single" => a.single = num("--single")?,
            "--batched" => a.batched = num("--batched")?,
            "--proofs" => a.proofs = num("--proofs")?,
            "--checks" => a.checks = num("--checks")?,
            "--json" => a.json = true,
            other => anyhow::bail!(
                "unknown flag {other:?}; usage: bench_custody [--events N] [--single N] [--batched N] [--proofs N] [--checks N] [--json]"
            ),
        }
    }
    Ok(a)
}

fn entry(i: usize) -> NewEntry {
    let mut e = NewEntry {
        action: "consent.grant".into(),
        object: "purpose:personalization".into(),
        ..NewEntry::default()
    };
    e.counts.insert("rows".into(), i as u64);
    e
}

fn rate(n: usize, t: Instant) -> f64 {
    n as f64 / t.elapsed().as_secs_f64()
}

/// Canonical encoding + leaf hash of `n` entries: what an append cannot avoid.
fn hashing_only(n: usize) -> f64 {
    let t = Instant::now();
    let mut link = Link::Genesis;
    let mut sink = 0u8;
    for i in 0..n {
        let e = EntryBuilder::new(
            "2026-11-23T09:00:00Z",
            "bench",
            "consent.grant",
            "purpose:personalization",
        )
        .count("rows", i as u64)
        .build(link)
        .expect("valid entry");
        let leaf = e.leaf();
        sink ^= leaf[0];
        link = Link::after(&e);
    }
    std::hint::black_box(sink);
    rate(n, t)
}

async fn audit_bench(store: &Store, a: &Args) -> Result<serde_json::Value> {
    let t = Instant::now();
    for i in 0..a.single {
        audit_log::append(store, "bench", vec![entry(i)]).await?;
    }
    let single = rate(a.single, t);
    let t = Instant::now();
    let mut done = 0;
    while done < a.batched {
        let n = 1_000.min(a.batched - done);
        audit_log::append(store, "bench", (done..done + n).map(entry).collect()).await?;
        done += n;
    }
    let batched = rate(a.batched, t);
    Ok(serde_json::json!({"append_single_per_s": single, "append_batched_per_s": batched}))
}

/// Inclusion proofs for every leaf of a perfect tree, read off its levels (the library's
/// `inclusion_proof` recomputes subtrees per call: right for one proof, slow for a million).
/// `verify_inclusion` below is what is measured, and it checks every one of them.
fn all_proofs(leaves: &[merkle::Hash]) -> Vec<Vec<merkle::Hash>> {
    let mut levels = vec![leaves.to_vec()];
    while levels.last().map_or(0, Vec::len) > 1 {
        let up = levels
            .last()
            .expect("non-empty")
            .chunks(2)
            .map(|p| merkle::node_hash(&p[0], &p[1]))
            .collect();
        levels.push(up);
    }
    (0..leaves.len())
        .map(|mut i| {
            levels[..levels.len() - 1]
                .iter()
                .map(|level| {
                    let sibling = level[i ^ 1];
                    i >>= 1;
                    sibling
                })
                .collect()
        })
        .collect()
}

fn proofs_bench(n: usize) -> serde_json::Value {
    let n = n.next_power_of_two().max(2);
    let leaves: Vec<merkle::Hash> = (0..n as u64)
        .map(|i| merkle::leaf_hash(&i.to_le_bytes()))
        .collect();
    let root = merkle::root(&leaves);
    let proofs = all_proofs(&leaves);
    let t = Instant::now();
    for (i, p) in proofs.iter().enumerate() {
        merkle::verify_inclusion(&leaves[i], i as u64, n as u64, p, &root).expect("valid proof");
    }
    let verified = rate(n, t);
    // The limit: the same number of SHA-256 node hashes, nothing else.
    let hashes: usize = proofs.iter().map(Vec::len).sum();
    let t = Instant::now();
    let mut h = leaves[0];
    for i in 0..hashes {
        h = merkle::node_hash(&h, &leaves[i % n]);
    }
    std::hint::black_box(h);
    let hash_only = n as f64 / t.elapsed().as_secs_f64();
    serde_json::json!({
        "tree_size": n,
        "proofs_verified_per_s": verified,
        "same_hashes_only_per_s": hash_only,
        "ratio_to_hashing": verified / hash_only,
    })
}

/// A consent platform's export, as `consent import` reads it: `events` rows over
/// `events / 4` e-mail addresses, four purposes, grants and withdrawals.
fn write_consent_csv(path: &Path, events: usize) -> Result<()> {
    let subjects = (events / 4).max(1);
    let mut w = std::io::BufWriter::new(std::fs::File::create(path)?);
    writeln!(w, "email,purpose,status,timestamp")?;
    for i in 0..events {
        let secs = 1_700_000_000 + i as i64;
        writeln!(
            w,
            "user{}@example.com,{},{},{}",
            i % subjects,
            [
                "personalization",
                "marketing",
                "model_training",
                "analytics"
            ][i % 4],
            if i % 3 != 0 { "opt_in" } else { "opt_out" },
            custodia_engine::time::format_rfc3339(secs * 1_000_000),
        )?;
    }
    w.flush()?;
    Ok(())
}

async fn consent_bench(store: &Store, ws_url: &str, a: &Args) -> Result<serde_json::Value> {
    // The whole `consent import` path: CSV parsing and checks, SubjectRefs (HMAC), one
    // transaction with its audit entry and checkpoint.
    let dir = tempfile::tempdir()?;
    let csv = dir.path().join("cmp-export.csv");
    write_consent_csv(&csv, a.events)?;
    let (ws, _) = Workspace::init(
        &dir.path().join("ws"),
        InitOptions {
            regions: None,
            store_url: Some(ws_url.to_string()),
        },
    )
    .await?;
    let region = ws.region(Some("eu"))?;
    let t = Instant::now();
    let report = ws.consent_import(&region, &csv, "eu").await?;
    let imported = rate(a.events, t);
    anyhow::ensure!(
        report.rows == a.events as u64,
        "import read {} rows",
        report.rows
    );
    drop(ws);

    // Checks run on a ledger of the same shape with refs known here.
    let subjects = (a.events / 4).max(1);
    let events: Vec<ConsentEvent> = (0..a.events)
        .map(|i| ConsentEvent {
            id: 0,
            subject_ref: format!("{:064x}", i % subjects),
            purpose: ["personalization", "ads", "model_training", "analytics"][i % 4].to_string(),
            granted: i % 3 != 0,
            at_us: 1_700_000_000_000_000 + (i as i64) * 1_000,
            source: "bench".into(),
            jurisdiction: "eu".into(),
            recorded_us: 0,
        })
        .collect();
    for chunk in events.chunks(100_000) {
        store.consent_append(chunk).await?;
    }
    let t = Instant::now();
    let index = ConsentIndex::new(store.consent_events(None).await?);
    let index_build_s = t.elapsed().as_secs_f64();
    let refs: Vec<String> = (0..subjects).map(|i| format!("{i:064x}")).collect();
    let t = Instant::now();
    let mut allowed = 0usize;
    for i in 0..a.checks {
        let s = &refs[(i * 7919) % subjects];
        if index.check(
            s,
            "ads",
            1_700_000_000_000_000 + (i as i64 % a.events as i64) * 1_000,
        ) == Some(true)
        {
            allowed += 1;
        }
    }
    std::hint::black_box(allowed);
    let checks = rate(a.checks, t);
    let sql_checks = 2_000.min(a.checks);
    let t = Instant::now();
    for i in 0..sql_checks {
        let s = format!("{:064x}", (i * 7919) % subjects);
        store
            .consent_state(&s, "ads", 1_700_000_000_000_000 + (i as i64) * 1_000)
            .await?;
    }
    let sql = rate(sql_checks, t);
    Ok(serde_json::json!({
        "events": a.events,
        "import_csv_rows_per_s": imported,
        "index_build_s": index_build_s,
        "checks_per_s_index": checks,
        "checks_per_s_sql": sql,
    }))
}

async fn backend(url: &str, ws_url: &str, a: &Args) -> Result<serde_json::Value> {
    let store = Store::open(url).await?;
    let audit = audit_bench(&store, a).await?;
    let consent = consent_bench(&store, ws_url, a).await?;
    store.close().await;
    Ok(serde_json::json!({"audit": audit, "consent": consent}))
}

fn main() -> Result<()> {
    let a = parse_args()?;
    let rt = tokio::runtime::Runtime::new()?;
    let dir = tempfile::tempdir()?;
    let sqlite_url = format!("sqlite://{}", dir.path().join("bench.db").display());
    let mut report = serde_json::json!({
        "hashing_only_entries_per_s": hashing_only(a.batched.max(10_000)),
        "proofs": proofs_bench(a.proofs),
    });
    let sqlite_ws = format!("sqlite://{}", dir.path().join("ws.db").display());
    report["sqlite"] = rt.block_on(backend(&sqlite_url, &sqlite_ws, &a))?;
    match std::env::var("CUSTODIA_TEST_POSTGRES_URL") {
        Ok(base) => {
            let db = format!("custodia_bench_{}", std::process::id());
            rt.block_on(async {
                sqlx::any::install_default_drivers();
                let mut admin = <sqlx::AnyConnection as sqlx::Connection>::connect(&base).await?;
                for name in [db.clone(), format!("{db}_ws")] {
                    sqlx::Executor::execute(&mut admin, format!("CREATE DATABASE {name}").as_str())
                        .await?;
                }
                Ok::<_, anyhow::Error>(())
            })?;
            let (prefix, _) = base
                .rsplit_once('/')
                .context("postgres url has a database")?;
            report["postgres"] = rt.block_on(backend(
                &format!("{prefix}/{db}"),
                &format!("{prefix}/{db}_ws"),
                &a,
            ))?;
        }
        Err(_) => {
            report["postgres"] = serde_json::json!("not measured: CUSTODIA_TEST_POSTGRES_URL unset")
        }
    }
    if a.json {
        println!("{report}");
    } else {
        println!("{}", serde_json::to_string_pretty(&report)?);
    }
    Ok(())
}
