//! `custodia demo`: a sample workspace in a temp dir — generated product reviews (CSV, free
//! text with emails and phone numbers) and a customers table (Parquet) — scanned and
//! de-identified, with a round trip through detokenize to show tokens are reversible; then
//! the custody record, policy, and a weekly ML pipeline whose retrain after an upstream
//! unit change is traced to its cause (`demo_ml`).

use std::{path::Path, sync::Arc};

use anyhow::{Context, Result};
use custodia_core::{Contract, Operator};
use custodia_detect::{Analyzer, AnalyzerConfig};
use custodia_engine::{
    deidentify_file, detokenize_file, draft_contract, keys, scan_paths, DeidPlan, ScanOptions,
};

const FIRST: &[&str] = &[
    "Olivia", "Lukas", "Chloé", "Mateo", "Giulia", "Sanne", "Zofia", "Erik",
];
const LAST: &[&str] = &[
    "Bennett",
    "Hoffmann",
    "Laurent",
    "Navarro",
    "Ricci",
    "de Vries",
    "Nowak",
    "Lindqvist",
];
const PHONES: &[&str] = &[
    "+44 20 7946 0958",
    "+49 30 901820",
    "+33 1 44 55 66 77",
    "+34 912 345 678",
    "(415) 555-2671",
    "+31 20 624 1111",
];
const REVIEWS: &[&str] = &[
    "Arrived quickly and works as described. Questions? Write me at {email}.",
    "The blender broke after two weeks. Please call me on {phone} about a refund.",
    "{name} from support was very helpful, thanks!",
    "Great value. Order number 88231077 arrived in perfect shape.",
    "Battery life is poor. Contact {email} or {phone} if you need details.",
    "Five stars, would buy again.",
];

fn write_samples(dir: &Path) -> Result<()> {
    let mut reviews = csv::Writer::from_path(dir.join("reviews.csv"))?;
    reviews.write_record(["review_id", "rating", "review"])?;
    for i in 0..60usize {
        let name = format!("{} {}", FIRST[i % FIRST.len()], LAST[(i / 2) % LAST.len()]);
        let email = format!(
            "{}.{}@example.com",
            FIRST[i % FIRST.len()].to_lowercase().replace('é', "e"),
            LAST[(i / 2) % LAST.len()].to_lowercase().replace(' ', "")
        );
        let text = REVIEWS[i % REVIEWS.len()]
            .replace("{email}", &email)
            .replace("{phone}", PHONES[i % PHONES.len()])
            .replace("{name}", &name);
        reviews.write_record([format!("r{i:04}"), (1 + i % 5).to_string(), text])?;
    }
    reviews.flush()?;

    use arrow::array::{ArrayRef, Int64Array, RecordBatch, StringArray};
    let n = 40usize;
    let col = |f: &dyn Fn(usize) -> String| -> ArrayRef {
        Arc::new(StringArray::from((0..n).map(f).collect::<Vec<_>>()))
    };
    let batch = RecordBatch::try_from_iter([
        ("customer_id", col(&|i| format!("C{:05}", 1000 + i))),
        (
            "full_name",
            col(&|i| format!("{} {}", FIRST[i % FIRST.len()], LAST[(i / 3) % LAST.len()])),
        ),
        ("email", col(&|i| format!("customer{i}@example.org"))),
        ("phone", col(&|i| PHONES[i % PHONES.len()].to_string())),
        (
            "card_number",
            col(&|i| {
                [
                    "4111 1111 1111 1111",
                    "5555 5555 5555 4444",
                    "3782 822463 10005",
                    "6011 1111 1111 1117",
                ][i % 4]
                    .to_string()
            }),
        ),
        (
            "birth_date",
            col(&|i| format!("19{}-{:02}-{:02}", 60 + i % 40, 1 + i % 12, 1 + i % 28)),
        ),
        (
            "lifetime_value",
            Arc::new(Int64Array::from(
                (0..n as i64).map(|i| 100 + i * 37).collect::<Vec<_>>(),
            )) as ArrayRef,
        ),
    ])?;
    let file = std::fs::File::create(dir.join("customers.parquet"))?;
    let mut w = parquet::arrow::ArrowWriter::try_new(file, batch.schema(), None)?;
    w.write(&batch)?;
    w.close()?;
    Ok(())
}

pub fn run() -> Result<u8> {
    let ws = tempfile::Builder::new()
        .prefix("custodia-demo-")
        .tempdir()?;
    let dir = ws.path();
    std::fs::create_dir_all(dir.join("data"))?;
    write_samples(&dir.join("data"))?;
    println!("Custodia demo workspace: {}\n", dir.display());
    println!("1. scan data/ (reviews.csv: 60 product reviews; customers.parquet: 40 customers)\n");
    let analyzer = Analyzer::new(AnalyzerConfig::default())?;
    let report = scan_paths(
        &analyzer,
        &[dir.join("data").display().to_string()],
        &ScanOptions::default(),
        |_| {},
    )?;
    for s in &report.sources {
        println!(
            "   {}",
            Path::new(&s.source)
                .file_name()
                .and_then(|f| f.to_str())
                .unwrap_or(&s.source)
        );
        for c in &s.columns {
            let p = &c.profile;
            let what = match (p.entity, p.free_text) {
                (Some(e), _) => format!("{e} ({:.0}% of values)", p.match_share * 100.0),
                (None, true) => format!(
                    "free text: {}",
                    p.entity_counts
                        .iter()
                        .map(|(e, n)| format!("{n} {e}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                (None, false) => "no personal data".to_string(),
            };
            println!("     {:<15} {}  {}", c.name, p.classification, what);
        }
    }
    let gate = report.at_or_above(custodia_core::Classification::L3);
    println!(
        "\n   CI gate `scan --fail-on L3` would fail on {} column(s): {}",
        gate.len(),
        gate.iter()
            .map(|(_, c, _, e)| format!("{c} ({})", e.map(|e| e.name()).unwrap_or("-")))
            .collect::<Vec<_>>()
            .join(", ")
    );

    let key = keys::load_master_key(dir, keys::IfMissing::Create)?;
    println!(
        "\n2. de-identify the reviews: every email and phone number tokenized, span by span\n"
    );
    let plan = DeidPlan::Detect {
        operator: Operator::Tokenize,
        overrides: Default::default(),
    };
    let out = dir.join("reviews.deid.csv");
    let r = deidentify_file(&analyzer, &key, &dir.join("data/reviews.csv"), &out, &plan)?;
    for (rule, n) in &r.columns {
        println!("   {}: {} span(s) → {}", rule.column, n, rule.operator);
    }
    let before = std::fs::read_to_string(dir.join("data/reviews.csv"))?;
    let after = std::fs::read_to_string(&out)?;
    let line = |t: &str| t.lines().nth(2).unwrap_or("").to_string();
    println!("   before: {}\n   after:  {}", line(&before), line(&after));

    println!("\n3. de-identify customers per the draft contract `scan --emit-contract` writes\n");
    let customers = report
        .sources
        .iter()
        .find(|s| s.source.ends_with("customers.parquet"))
        .context("customers scanned")?;
    let mut contract = draft_contract(customers);
    // What a data owner adds to the draft: who answers for it, where it lives, how long it
    // stays, and what it may be used for on which legal basis.
    contract.owner = Some("data-platform@example.com".into());
    contract.region = Some(custodia_core::Region::new("eu")?);
    contract.retention = Some(custodia_core::Retention::days(730));
    contract.purposes = vec![
        custodia_core::PurposeSpec {
            purpose: custodia_core::Purpose::new("personalization")?,
            legal_basis: custodia_core::LegalBasis::Consent,
            retention: None,
        },
        custodia_core::PurposeSpec {
            purpose: custodia_core::Purpose::new("model_training")?,
            legal_basis: custodia_core::LegalBasis::LegitimateInterest,
            retention: None,
        },
    ];
    let yaml = contract.to_yaml();
    std::fs::create_dir_all(dir.join("contracts"))?;
    std::fs::write(dir.join("contracts/customers.yaml"), &yaml)?;
    for c in &contract.columns {
        println!(
            "     {:<15} {}  transform: {}",
            c.name,
            c.classification,
            c.transform
                .as_ref()
                .map(|t| t.to_string())
                .unwrap_or_else(|| "-".into())
        );
    }
    let contract = Contract::parse("contracts/customers.yaml", &yaml)?;
    let out2 = dir.join("customers.deid.parquet");
    let r2 = deidentify_file(
        &analyzer,
        &key,
        &dir.join("data/customers.parquet"),
        &out2,
        &DeidPlan::Contract {
            contract: Box::new(contract),
            drop_undeclared: false,
        },
    )?;
    println!(
        "   wrote customers.deid.parquet: {} rows, {} column(s) transformed",
        r2.rows,
        r2.columns.len()
    );

    println!("\n4. detokenize with the workspace key (only the key holder can)\n");
    let back = dir.join("reviews.restored.csv");
    let n = detokenize_file(&key, &out, &back, &[], &[])?.restored;
    let identical = std::fs::read_to_string(&back)? == before;
    println!("   restored {n} value(s); identical to the original: {identical}");
    let verified = crate::custody::block_on(custody_record(dir, &analyzer))?;
    println!("\nNothing above printed a raw value from the customers table; reports carry column names, entity types and counts.");
    println!(
        "The workspace is deleted on exit. Next: `custodia init`, `custodia scan --help`, `custodia audit --help`."
    );
    Ok(if identical && verified { 0 } else { 1 })
}

/// Steps 5–15: the custody record on the same folder — workspace, contract, consent,
/// per-subject keys and a shred, policy, the ML pipeline with its lineage, and an audit log
/// verified from its export.
async fn custody_record(dir: &Path, analyzer: &Analyzer) -> Result<bool> {
    use custodia_engine::{audit_log, keyring::SubjectColumn, InitOptions, Registered, Workspace};
    println!("\n5. make it a workspace: custodia.toml, store (SQLite), regions eu and us\n");
    let (ws, _) = Workspace::init(dir, InitOptions::default()).await?;
    println!(
        "   store {} in {}",
        ws.store_kind(),
        ws.root().join(".custodia").display()
    );

    println!("\n6. register the contract (a version per change, audited)\n");
    for a in ws.apply_contracts(&[dir.join("contracts")]).await? {
        let (Registered::New(v) | Registered::Changed(v) | Registered::Unchanged(v)) = a.outcome;
        println!("   contract {} v{v}", a.dataset);
    }

    println!("\n7. import consent from a CMP export, then ask the ledger\n");
    let mut csv = String::from("email,purpose,status,timestamp,gpc\n");
    for i in 0..40 {
        let status = if i % 5 == 0 { "withdrawn" } else { "granted" };
        let gpc = if i % 13 == 0 { "true" } else { "" };
        csv.push_str(&format!(
            "customer{i}@example.org,personalization,{status},2026-01-{:02}T09:00:00Z,{gpc}\n",
            1 + i % 28
        ));
    }
    std::fs::write(dir.join("data/consent.csv"), csv)?;
    let region = ws.region(None)?;
    let r = ws
        .consent_import(&region, &dir.join("data/consent.csv"), "eu")
        .await?;
    println!(
        "   {} events: {} grants, {} withdrawals, {} GPC opt-outs of sale/sharing",
        r.events, r.grants, r.withdrawals, r.gpc_opt_outs
    );
    for i in [3, 5] {
        let id = custodia_core::SubjectId::parse(&format!("email:customer{i}@example.org"))?;
        let purpose = custodia_core::Purpose::new("personalization")?;
        let (sref, state) = ws.consent_check(&region, &id, &purpose, None).await?;
        let answer = match state {
            custodia_engine::ConsentState::Granted(_) => "allowed",
            _ => "denied",
        };
        println!(
            "   customer #{i} (ref {}…): personalization {answer}",
            &sref.as_str()[..12]
        );
    }

    println!(
        "\n8. seal customers under per-subject keys, back the file up, then erase one customer\n"
    );
    let sealed = dir.join("customers.sealed.parquet");
    let plan = DeidPlan::Detect {
        operator: Operator::Tokenize,
        overrides: Default::default(),
    };
    let subject = SubjectColumn {
        column: "email".into(),
        kind: custodia_core::SubjectKind::Email,
        region: region.clone(),
    };
    ws.deidentify_by_subject(
        analyzer,
        &dir.join("data/customers.parquet"),
        &sealed,
        &plan,
        &subject,
    )
    .await?;
    let backup = dir.join("customers.backup.parquet");
    std::fs::copy(&sealed, &backup)?;
    let erased = ws.subject_ref(
        &custodia_core::SubjectId::parse("email:customer0@example.org")?,
        &region,
    );
    ws.shred_subject(&region, &erased).await?;
    let reopened = ws
        .detokenize_file(&backup, &dir.join("customers.reopened.parquet"), &[], &[])
        .await?;
    println!(
        "   backup taken before the shred: {} values restored, {} stay sealed (customer #0's key is gone)",
        reopened.restored, reopened.shredded
    );

    println!("\n9. ask policy (Rego, built-in bundle): who may use customers, for what\n");
    let mut policy = ws.policy()?;
    for (role, purpose, action) in [
        (
            "analyst",
            "marketing",
            custodia_engine::policy::Action::Train,
        ),
        (
            "ml_engineer",
            "personalization",
            custodia_engine::policy::Action::Train,
        ),
    ] {
        let input = custodia_engine::DecisionInput {
            action,
            purpose: purpose.into(),
            dataset: custodia_engine::policy::DatasetInput {
                name: "customers".into(),
                ..Default::default()
            },
            actor: custodia_engine::policy::Actor {
                roles: vec![role.into()],
                ..Default::default()
            },
            ..Default::default()
        };
        let d = ws.decide(&mut policy, input).await?;
        let verdict = if d.decision.allow {
            "ALLOWED"
        } else {
            "DENIED"
        };
        println!(
            "   {role} trains for {purpose}: {verdict} (decision {})",
            d.id
        );
        for x in &d.decision.denials {
            println!("     deny {}", x.rule);
        }
        for o in &d.decision.obligations {
            println!("     must {}", o.describe());
        }
    }

    let story = crate::demo_ml::ml_pipeline(dir, &ws).await?;
    let (erased, certificate) = crate::demo_ml::erasure(dir, &ws).await?;

    println!(
        "\n16. export the audit log and verify it, and the erasure certificate, as an auditor would (offline, public key only)\n"
    );
    let export = dir.join("audit-export");
    let (entries, checkpoints) = audit_log::export(&ws, &export).await?;
    let vkey = std::fs::read_to_string(export.join(audit_log::VKEY_FILE))?;
    let ok = match audit_log::verify_dir(&export, &vkey, None, &[]) {
        Ok(r) => {
            println!(
                "   OK: {} entries, {checkpoints} signed checkpoints, latest root {}…",
                r.entries,
                r.root
                    .iter()
                    .take(6)
                    .map(|b| format!("{b:02x}"))
                    .collect::<String>()
            );
            r.entries == entries
        }
        Err(e) => {
            println!("   FAILED: {e}");
            false
        }
    };
    let cert_ok = match custodia_engine::dsar::verify_certificate(
        &std::fs::read_to_string(&certificate)?,
        &vkey,
    ) {
        Ok(c) => {
            println!(
                "   OK: erasure certificate of {}: {} locations, {} audit entries proven",
                c.certificate.request,
                c.certificate.locations.len(),
                c.entries_proven
            );
            true
        }
        Err(e) => {
            println!("   FAILED: {e}");
            false
        }
    };
    Ok(ok && cert_ok && erased && reopened.shredded > 0 && story)
}
