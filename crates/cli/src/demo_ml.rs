//! The ML part of `custodia demo`: generated sales, customers and consent across `eu` and
//! `us`; a weekly churn pipeline (ingest, de-identify, features, quality, load, snapshot,
//! train); a retrain after an upstream unit change degrades the model; `lineage diff`
//! names the cause.

use std::path::Path;

use anyhow::{bail, Result};
use custodia_engine::{
    lineage::Direction,
    models::Promotion,
    run::{Quiet, Resume, RunReport},
    Workspace,
};

const CUSTOMERS: usize = 3_000;

/// SplitMix64: a seeded, repeatable stream for the generated data.
fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

fn unit(a: u64, b: u64) -> f64 {
    (mix(a.wrapping_mul(1_000_003).wrapping_add(b)) >> 11) as f64 / (1u64 << 53) as f64
}

const ORDERS: &str = "dataset: orders\nowner: sales-data@example.com\nregion: eu\nsubject_key: customer_id\npurposes:\n  - name: model_training\n    legal_basis: consent\nexpect:\n  min_rows: 100\ncolumns:\n  - name: order_id\n    classification: L1\n  - name: customer_id\n    classification: L2\n    expect: {not_null: true}\n  - name: week\n    classification: L0\n  - name: unit_price\n    classification: L0\n    expect: {min: 0}\n  - name: quantity\n    classification: L0\n";
const CUSTOMERS_CONTRACT: &str = "dataset: shoppers\nowner: crm@example.com\nregion: eu\nsubject_key: customer_id\npurposes:\n  - name: model_training\n    legal_basis: consent\ncolumns:\n  - name: customer_id\n    classification: L2\n  - name: email\n    classification: L2\n    pii: EMAIL_ADDRESS\n    transform: hash\n  - name: country\n    classification: L1\n  - name: churned\n    classification: L1\n";
const FEATURES: &str = "dataset: churn_features\nowner: ml-platform@example.com\nregion: eu\nsubject_key: customer_id\npurposes:\n  - name: model_training\n    legal_basis: consent\nexpect:\n  min_rows: 100\ncolumns:\n  - name: customer_id\n    classification: L2\n    expect: {unique: true}\n  - name: customer_lifetime_value\n    classification: L0\n  - name: order_count\n    classification: L0\n  - name: avg_basket\n    classification: L0\n  - name: churned\n    classification: L1\n";
const PIPELINE: &str = r#"pipeline: weekly_churn
purpose: model_training
region: eu
role: ml_engineer
steps:
  - id: orders
    kind: ingest
    source: sales/eu/orders_week*.csv
    dataset: orders
  - id: shoppers
    kind: ingest
    source: sales/eu/customers.csv
    dataset: shoppers
  - id: shoppers_safe
    kind: deidentify
    needs: [shoppers]
  - id: features
    kind: features
    needs: [orders, shoppers_safe]
    dataset: churn_features
    sql: |
      SELECT s.customer_id,
             SUM(o.unit_price * o.quantity) AS customer_lifetime_value,
             COUNT(*) AS order_count,
             AVG(o.unit_price * o.quantity) AS avg_basket,
             MAX(s.churned) AS churned
      FROM orders o JOIN shoppers_safe s ON o.customer_id = s.customer_id
      GROUP BY s.customer_id
  - id: checks
    kind: quality
    needs: [features]
    on_failure: block
    drift: warn
  - id: load
    kind: load
    needs: [checks]
    table: churn_features
  - id: training
    kind: snapshot
    needs: [features]
    name: churn_training
  - id: train
    kind: train
    needs: [training]
    model: churn
    algorithm: logistic_regression
    label: churned
    features: [customer_lifetime_value, avg_basket]
    card: models/churn_card.yaml
"#;

/// Writes customers, their consent and `weeks` weekly order exports; from week
/// `cents_from` on, orders of customers on the new checkout app (half of them) carry their
/// price in cents (the upstream change).
fn write_sales(dir: &Path, weeks: u64, cents_from: Option<u64>) -> Result<()> {
    let eu = dir.join("sales/eu");
    std::fs::create_dir_all(&eu)?;
    let mut customers = String::from("customer_id,email,country,churned\n");
    let mut consent = String::from("customer_id,purpose,status,timestamp\n");
    let countries = ["DE", "FR", "ES", "IT", "NL", "IE"];
    for c in 0..CUSTOMERS as u64 {
        // Engaged customers buy more, more often, and stay.
        let engagement = unit(c, 1);
        let churned = u8::from(engagement + 0.25 * unit(c, 2) < 0.45);
        customers.push_str(&format!(
            "EU{c:05},shopper{c}@example.net,{},{churned}\n",
            countries[(mix(c) % countries.len() as u64) as usize]
        ));
        // 88% consent to model training; 5% of those withdrew later.
        if unit(c, 3) < 0.88 {
            consent.push_str(&format!(
                "EU{c:05},model_training,granted,2026-01-{:02}T10:00:00Z\n",
                1 + c % 28
            ));
            if unit(c, 4) < 0.05 {
                consent.push_str(&format!(
                    "EU{c:05},model_training,withdrawn,2026-03-{:02}T10:00:00Z\n",
                    1 + c % 28
                ));
            }
        }
    }
    std::fs::write(eu.join("customers.csv"), customers)?;
    std::fs::write(dir.join("sales/consent_eu.csv"), consent)?;
    for w in 1..=weeks {
        let mut orders = String::from("order_id,customer_id,week,unit_price,quantity\n");
        let mut id = w * 1_000_000;
        for c in 0..CUSTOMERS as u64 {
            let engagement = unit(c, 1);
            let n = (engagement * 4.0 * unit(c, 10 + w) + 0.3).floor() as u64;
            for k in 0..n {
                id += 1;
                let price = 5.0 + 60.0 * engagement * unit(c, 100 * w + k) + 10.0 * unit(c, 7);
                // Customers moved to the new checkout app at random, half of them.
                let new_checkout = unit(c, 5) < 0.5;
                let price = if new_checkout && cents_from.is_some_and(|f| w >= f) {
                    format!("{:.0}", price * 100.0)
                } else {
                    format!("{price:.2}")
                };
                orders.push_str(&format!("{id},EU{c:05},{w},{price},{}\n", 1 + mix(id) % 3));
            }
        }
        std::fs::write(eu.join(format!("orders_week{w:02}.csv")), orders)?;
    }
    Ok(())
}

fn show_run(r: &RunReport) {
    for s in &r.steps {
        let mut extra = String::new();
        if let Some(e) = &s.enforcement {
            if let Some(f) = &e.row_filter {
                extra.push_str(&format!(
                    "  {f} removed {} of {}",
                    e.rows_filtered, e.rows_read
                ));
            }
        }
        if !s.transforms.is_empty() {
            extra.push_str(&format!("  {}", s.transforms.join(" ")));
        }
        if let Some(q) = &s.quality {
            extra.push_str(&format!(
                "  {} checks, {} failed, {} drift findings",
                q.checks.len(),
                q.failed().count(),
                q.drift.len()
            ));
            for d in &q.drift {
                extra.push_str(&format!(
                    "\n        drift: {} {} = {:.2}",
                    d.column, d.statistic, d.value
                ));
            }
        }
        if let Some(m) = &s.manifest {
            extra.push_str(&format!("  {} subjects in the manifest", m.subjects));
        }
        if let Some(auc) = s.metrics.get("auc") {
            extra.push_str(&format!("  held-out AUC {auc:.3}"));
        }
        println!(
            "   {:<14} {:<11} {:>6} rows  {}{extra}",
            s.id, s.kind, s.rows, s.output
        );
    }
}

/// Steps 10–14. Returns whether the story held: the retrain degraded, the diff named the
/// unit change.
pub async fn ml_pipeline(dir: &Path, ws: &Workspace) -> Result<bool> {
    println!("\n10. an ML pipeline: {CUSTOMERS} eu customers, weekly order exports, consent from the CMP\n");
    write_sales(dir, 4, None)?;
    std::fs::create_dir_all(dir.join("contracts"))?;
    std::fs::write(dir.join("contracts/orders.yaml"), ORDERS)?;
    std::fs::write(dir.join("contracts/shoppers.yaml"), CUSTOMERS_CONTRACT)?;
    std::fs::write(dir.join("contracts/churn_features.yaml"), FEATURES)?;
    ws.apply_contracts(&[dir.join("contracts")]).await?;
    let eu = ws.region(Some("eu"))?;
    let imported = ws
        .consent_import(&eu, &dir.join("sales/consent_eu.csv"), "eu")
        .await?;
    println!(
        "   consent: {} grants, {} withdrawals imported",
        imported.grants, imported.withdrawals
    );
    std::fs::create_dir_all(dir.join("pipelines"))?;
    std::fs::create_dir_all(dir.join("models"))?;
    std::fs::write(dir.join("pipelines/weekly_churn.yaml"), PIPELINE)?;
    std::fs::write(
        dir.join("models/churn_card.yaml"),
        "risk: limited\ndpia: {reference: DPIA-2026-11, status: approved}\n",
    )?;
    let file = dir.join("pipelines/weekly_churn.yaml");
    let week4 = ws.run_pipeline(&file, Resume::Fresh, &Quiet).await?;
    show_run(&week4);
    if week4.status != "succeeded" {
        bail!("the week-4 run failed: {:?}", week4.failure);
    }
    match ws.promote_model("churn", Some(1)).await? {
        Promotion::Promoted { model, .. } => {
            println!("   {model} passed the model gate and is in production")
        }
        Promotion::Refused { findings, .. } => {
            bail!("the gate refused churn@1: {findings:?}")
        }
    }

    println!("\n11. a residency mistake: the same pipeline set to run in region us\n");
    let us = dir.join("pipelines/weekly_churn_us.yaml");
    std::fs::write(
        &us,
        PIPELINE
            .replace("region: eu", "region: us")
            .replace("pipeline: weekly_churn", "pipeline: weekly_churn_us"),
    )?;
    let denied = ws.run_pipeline(&us, Resume::Fresh, &Quiet).await?;
    if let Some(f) = &denied.failure {
        let rule = f
            .message
            .split(": ")
            .find(|p| p.starts_with("residency."))
            .unwrap_or("residency");
        println!("   refused before any step ran ({}): {rule}", denied.status);
    }

    println!("\n12. week 5: the new checkout service exports unit_price in cents; the weekly retrain runs\n");
    write_sales(dir, 5, Some(5))?;
    let week5 = ws.run_pipeline(&file, Resume::Fresh, &Quiet).await?;
    show_run(&week5);
    let auc = |r: &RunReport| {
        r.steps
            .iter()
            .find(|s| s.kind == "train")
            .and_then(|s| s.metrics.get("auc").copied())
            .unwrap_or(0.0)
    };
    let (a1, a2) = (auc(&week4), auc(&week5));
    println!("   held-out AUC {a1:.3} -> {a2:.3}");

    println!("\n13. why did churn@2 get worse? `custodia lineage diff churn@1 churn@2`\n");
    let d = ws.lineage_diff("churn", 1, 2).await?;
    for c in &d.changes {
        println!(
            "   {}: {} -> {}{}",
            c.dataset,
            c.from.as_deref().unwrap_or("-"),
            c.to.as_deref().unwrap_or("-"),
            c.rows
                .map(|(a, b)| format!(", rows {a} -> {b}"))
                .unwrap_or_default()
        );
        for f in c.findings.iter().take(3) {
            println!("      {} {}: {}", f.statistic, f.column, f.detail);
        }
    }
    let cause = d.likely_cause.clone().unwrap_or_default();
    println!("   likely cause: {cause}");

    println!(
        "\n14. and which models break if orders.unit_price changes? `custodia lineage impact`\n"
    );
    let impact = ws.lineage_impact("orders.unit_price").await?;
    for (name, cols) in impact
        .models
        .iter()
        .chain(&impact.tables)
        .chain(&impact.snapshots)
    {
        println!(
            "   {name}: {}",
            cols.iter().cloned().collect::<Vec<_>>().join(", ")
        );
    }
    let g = ws.lineage_graph().await?;
    let root = g.resolve("model:churn@2.avg_basket")?;
    println!("\n   upstream of churn@2's avg_basket:");
    for line in g.trace(&root, Direction::Upstream).text().lines().skip(1) {
        println!("   {line}");
    }
    Ok(a2 < a1 && cause.starts_with("orders@") && cause.contains("unit_price"))
}

/// Step 15: a customer in the training data asks to be forgotten. Returns whether the
/// erasure reached every place (nothing left on re-scan) and the certificate's path.
pub async fn erasure(dir: &Path, ws: &Workspace) -> Result<(bool, std::path::PathBuf)> {
    use custodia_core::{
        dsar::{DsarKind, Jurisdiction},
        SubjectId, SubjectKind,
    };
    use custodia_engine::dsar::OpenRequest;
    // An engaged customer who consented and never withdrew: in every table and model.
    let c = (0..CUSTOMERS as u64)
        .find(|c| unit(*c, 1) > 0.7 && unit(*c, 3) < 0.88 && unit(*c, 4) >= 0.05)
        .unwrap_or(0);
    let subject = SubjectId::new(SubjectKind::CustomerId, &format!("EU{c:05}"))?;
    println!("\n15. customer EU{c:05} asks to be forgotten (GDPR, one month): `custodia dsar open/verify/run`\n");
    let r = ws
        .dsar_open(&OpenRequest {
            kind: DsarKind::Erasure,
            subject,
            jurisdiction: Jurisdiction::Gdpr,
            region: None,
            received_us: None,
        })
        .await?;
    ws.dsar_verify(&r.id, "account_login").await?;
    let out = ws.dsar_run(&r.id).await?;
    let count = |a: &str| out.outcomes.iter().filter(|o| o.action == a).count();
    println!(
        "   {}: due {}; {} places checked, {} files rewritten, {} warehouse rows deleted, {} rows removed",
        r.id,
        &custodia_engine::time::format_rfc3339(r.due_us)[..10],
        out.outcomes.len(),
        count("rewritten"),
        out.outcomes
            .iter()
            .filter(|o| o.action == "deleted")
            .map(|o| o.rows_removed)
            .sum::<u64>(),
        out.outcomes.iter().map(|o| o.rows_removed).sum::<u64>()
    );
    for o in out
        .outcomes
        .iter()
        .filter(|o| matches!(o.action.as_str(), "flagged" | "retrained" | "shredded"))
    {
        println!("   {} {}: {}", o.action, o.location, o.detail);
    }
    let left = ws.dsar_verify_erasure(&r.id).await?;
    println!(
        "   re-scan of every place: {}",
        if left.is_empty() {
            "the customer is nowhere".to_string()
        } else {
            format!("still in {} places", left.len())
        }
    );
    let cert = dir.join(out.certificate.clone().unwrap_or_default());
    Ok((left.is_empty() && count("retrained") > 0, cert))
}
