//! `custodia dsar`: data subject requests from receipt to a signed erasure certificate.

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand};
use comfy_table::{presets::UTF8_FULL_CONDENSED, Table};
use custodia_core::{
    dsar::{DsarKind, Jurisdiction},
    time::{format_rfc3339, parse_rfc3339},
    Purpose, Region, SubjectId,
};
use custodia_engine::dsar::{OpenRequest, Place, Request};
use serde_json::json;

use crate::{custody::with_workspace, EXIT_VIOLATIONS};

#[derive(Args)]
pub struct DsarArgs {
    #[command(subcommand)]
    command: DsarCommand,
}

#[derive(Subcommand)]
enum DsarCommand {
    /// Open a request: its statutory deadline, the subject known by ref only.
    #[command(after_help = "Examples:
  custodia dsar open --type erasure --subject email:ana@example.com --jurisdiction eu
  custodia dsar open --type access --subject customer_id:C-1042 --jurisdiction us-ca --received 2026-11-20T09:00:00Z

Jurisdictions and terms: eu (GDPR) and uk (UK GDPR) one month, extendable by two;
us-ca (CCPA/CPRA) 45 days, extendable by 45; br (LGPD) 15 days; cn (PIPL) [dsar] pipl_days.
Next: verify the person's identity with `custodia dsar verify ID --method email_link`.")]
    Open(OpenArgs),
    /// List open requests by deadline.
    #[command(after_help = "Examples:
  custodia dsar list
  custodia dsar list --due-within 7d
  custodia dsar list --all --json")]
    List(ListArgs),
    /// Show a request: state, deadline, every journaled step and its result.
    #[command(after_help = "Example:\n  custodia dsar show dsar-20261124-3fa2c1")]
    Show(IdArgs),
    /// Record that the person's identity was verified, and how (never the evidence).
    #[command(
        after_help = "Example:\n  custodia dsar verify dsar-20261124-3fa2c1 --method email_link"
    )]
    Verify(VerifyArgs),
    /// Extend the deadline once, where the law allows it, for a stated reason.
    #[command(
        after_help = "Example:\n  custodia dsar extend dsar-20261124-3fa2c1 --reason \"complex request: 14 systems\""
    )]
    Extend(ReasonArgs),
    /// Reject a request (identity not verified, manifestly unfounded) for a stated reason.
    #[command(
        after_help = "Example:\n  custodia dsar reject dsar-20261124-3fa2c1 --reason \"identity could not be verified\""
    )]
    Reject(ReasonArgs),
    /// Run a verified erasure: find the subject in every dataset version, snapshot,
    /// warehouse table and model, remove them, shred their key, sign a certificate.
    /// Journaled: if cut off, run it again and it finishes. Exit 1 while an external
    /// target has not confirmed (run it again to retry).
    #[command(
        after_help = "Examples:\n  custodia dsar run dsar-20261124-3fa2c1\n  custodia dsar run --all      # every verified erasure request, e.g. from a daily job

Writes .custodia/dsar/ID/certificate.json; hand it to an auditor with audit.vkey
(`custodia audit export`), who checks it with `custodia dsar verify-certificate`."
    )]
    Run(RunArgs),
    /// Answer an access or portability request: a zip with the subject's rows from every
    /// place that holds them (JSON and CSV, tokenized fields decrypted), their consent
    /// history, an index and a data map (sources, purposes, legal bases, recipients,
    /// retention).
    #[command(
        after_help = "Example:\n  custodia dsar export dsar-20261124-3fa2c1 --out ana-export.zip

The package holds the person's data: send it to them over a secure channel and delete
your copy. Exit 1 while an external target has not confirmed (run it again to retry)."
    )]
    Export(ExportArgs),
    /// Answer an objection: the subject leaves every later read for these purposes (in
    /// every region), and the consent ledger records the withdrawal.
    #[command(
        after_help = "Example:\n  custodia dsar object dsar-20261124-3fa2c1 --purpose marketing --purpose personalization"
    )]
    Object(ObjectArgs),
    /// Answer a rectification: corrected values go into the subject's rows of every source
    /// file pipelines ingest, and those pipelines run again so every downstream dataset,
    /// table, snapshot and model gets a corrected version.
    #[command(
        after_help = "Example:\n  custodia dsar rectify dsar-20261124-3fa2c1 --set phone=\"+44 20 7946 0999\" --set country=fr

The values are written to the data only: never to the journal, the audit log or output."
    )]
    Rectify(RectifyArgs),
    /// Check an erasure certificate offline: its signature, the checkpoint's, and each
    /// audit entry's inclusion proof. Exit 0 valid, 1 not.
    #[command(
        name = "verify-certificate",
        after_help = "Example:
  custodia dsar verify-certificate certificate.json --pubkey audit.vkey"
    )]
    VerifyCertificate(VerifyCertificateArgs),
    /// Re-scan every place that could hold the subject of an erasure. Exit 0 when the
    /// subject is nowhere, 1 when found.
    #[command(
        name = "verify-erasure",
        after_help = "Example:\n  custodia dsar verify-erasure dsar-20261124-3fa2c1"
    )]
    VerifyErasure(IdArgs),
}

#[derive(Args)]
struct Common {
    /// Workspace folder.
    #[arg(long, default_value = ".")]
    workspace: PathBuf,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
struct OpenArgs {
    /// access, portability, erasure, rectification or objection.
    #[arg(long = "type")]
    kind: String,
    /// The subject as kind:value (email:…, customer_id:…, phone:+…).
    #[arg(long)]
    subject: String,
    /// eu, uk, us-ca, br or cn (or gdpr, uk_gdpr, ccpa, lgpd, pipl).
    #[arg(long, default_value = "eu")]
    jurisdiction: String,
    /// Region whose keys make the subject's ref (default: the workspace's first).
    #[arg(long)]
    region: Option<String>,
    /// When the request was received (RFC 3339; default now): the term runs from it.
    #[arg(long)]
    received: Option<String>,
    #[command(flatten)]
    common: Common,
}

#[derive(Args)]
struct ListArgs {
    /// Only requests due within this long (e.g. 7d, 36h).
    #[arg(long)]
    due_within: Option<String>,
    /// Closed requests too.
    #[arg(long)]
    all: bool,
    #[command(flatten)]
    common: Common,
}

#[derive(Args)]
struct IdArgs {
    /// Request id (`custodia dsar list`).
    id: String,
    #[command(flatten)]
    common: Common,
}

#[derive(Args)]
struct RunArgs {
    /// Request id (`custodia dsar list`).
    #[arg(required_unless_present = "all", conflicts_with = "all")]
    id: Option<String>,
    /// Every open erasure request whose identity is verified, one after another (a daily
    /// job); the others are listed as skipped.
    #[arg(long)]
    all: bool,
    #[command(flatten)]
    common: Common,
}

#[derive(Args)]
struct VerifyArgs {
    /// Request id.
    id: String,
    /// How identity was verified: email_link, account_login, id_document…
    #[arg(long)]
    method: String,
    #[command(flatten)]
    common: Common,
}

#[derive(Args)]
struct ReasonArgs {
    /// Request id.
    id: String,
    /// Why (kept in the audit log for good: no personal data).
    #[arg(long)]
    reason: String,
    #[command(flatten)]
    common: Common,
}

#[derive(Args)]
struct ObjectArgs {
    /// Request id.
    id: String,
    /// A purpose the person objects to (repeatable).
    #[arg(long = "purpose", required = true)]
    purposes: Vec<String>,
    #[command(flatten)]
    common: Common,
}

#[derive(Args)]
struct RectifyArgs {
    /// Request id.
    id: String,
    /// A corrected value, COLUMN=VALUE (repeatable).
    #[arg(long = "set", required = true)]
    set: Vec<String>,
    #[command(flatten)]
    common: Common,
}

#[derive(Args)]
struct ExportArgs {
    /// Request id.
    id: String,
    /// Where to write the package (.zip).
    #[arg(long)]
    out: PathBuf,
    #[command(flatten)]
    common: Common,
}

#[derive(Args)]
struct VerifyCertificateArgs {
    /// The certificate.json a run wrote.
    file: PathBuf,
    /// The log's verifier key file (audit.vkey from `custodia audit export`).
    #[arg(long)]
    pubkey: PathBuf,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

pub fn dsar(args: DsarArgs) -> Result<u8> {
    match args.command {
        DsarCommand::Open(a) => open(a),
        DsarCommand::List(a) => list(a),
        DsarCommand::Show(a) => show(a),
        DsarCommand::Verify(a) => {
            let r = with_workspace(&a.common.workspace, async |ws| {
                Ok(ws.dsar_verify(&a.id, &a.method).await?)
            })?;
            print_request(
                &r,
                a.common.json,
                &format!(
                    "verified ({}); next: `custodia dsar run {}`",
                    a.method, r.id
                ),
            )
        }
        DsarCommand::Extend(a) => {
            let r = with_workspace(&a.common.workspace, async |ws| {
                Ok(ws.dsar_extend(&a.id, &a.reason).await?)
            })?;
            print_request(
                &r,
                a.common.json,
                &format!("extended; now due {}", day(r.due_us)),
            )
        }
        DsarCommand::Reject(a) => {
            let r = with_workspace(&a.common.workspace, async |ws| {
                Ok(ws.dsar_reject(&a.id, &a.reason).await?)
            })?;
            print_request(&r, a.common.json, "rejected")
        }
        DsarCommand::Run(a) => run(a),
        DsarCommand::Export(a) => export(a),
        DsarCommand::Rectify(a) => rectify(a),
        DsarCommand::Object(a) => {
            let purposes = a
                .purposes
                .iter()
                .map(|p| Purpose::new(p).with_context(|| format!("--purpose {p:?}")))
                .collect::<Result<Vec<_>>>()?;
            let r = with_workspace(&a.common.workspace, async |ws| {
                Ok(ws.dsar_object(&a.id, &purposes).await?)
            })?;
            print_request(
                &r,
                a.common.json,
                &format!(
                    "{}; the subject leaves every later read for {}",
                    r.state,
                    a.purposes.join(", ")
                ),
            )
        }
        DsarCommand::VerifyCertificate(a) => verify_certificate(a),
        DsarCommand::VerifyErasure(a) => verify_erasure(a),
    }
}

fn day(us: i64) -> String {
    format_rfc3339(us)[..10].to_string()
}

/// Whole days from now to the deadline (negative: overdue).
fn days_left(due_us: i64) -> i64 {
    (due_us - custodia_engine::now_us()).div_euclid(86_400_000_000)
}

fn open(a: OpenArgs) -> Result<u8> {
    let kind = DsarKind::parse(&a.kind).with_context(|| format!("--type {:?}", a.kind))?;
    let jurisdiction = Jurisdiction::parse(&a.jurisdiction)
        .with_context(|| format!("--jurisdiction {:?}", a.jurisdiction))?;
    let subject = SubjectId::parse(&a.subject).context("--subject")?;
    let region = a
        .region
        .as_deref()
        .map(Region::new)
        .transpose()
        .context("--region")?;
    let received_us = a
        .received
        .as_deref()
        .map(|t| {
            parse_rfc3339(t).map_err(|e| {
                anyhow::anyhow!("--received {t:?}: {e}; use RFC 3339 such as 2026-11-20T09:00:00Z")
            })
        })
        .transpose()?;
    let req = OpenRequest {
        kind,
        subject,
        jurisdiction,
        region,
        received_us,
    };
    let r = with_workspace(&a.common.workspace, async |ws| {
        Ok(ws.dsar_open(&req).await?)
    })?;
    if a.common.json {
        println!("{}", serde_json::to_string_pretty(&request_json(&r))?);
    } else {
        println!("{}", r.id);
        eprintln!(
            "opened {} request under the {}: due {} ({} days); next: `custodia dsar verify {} --method email_link`",
            r.kind,
            r.jurisdiction.law(),
            day(r.due_us),
            days_left(r.due_us),
            r.id
        );
    }
    Ok(0)
}

fn request_json(r: &Request) -> serde_json::Value {
    json!({
        "id": r.id,
        "type": r.kind.as_str(),
        "jurisdiction": r.jurisdiction.as_str(),
        "law": r.jurisdiction.law(),
        "region": r.region,
        "subject_ref": r.subject,
        "subject_kind": r.subject_kind,
        "state": r.state.as_str(),
        "received": format_rfc3339(r.received_us),
        "due": format_rfc3339(r.due_us),
        "days_left": days_left(r.due_us),
        "extended": r.extended_us.map(format_rfc3339),
        "closed": r.closed_us.map(format_rfc3339),
        "result": r.result,
    })
}

fn print_request(r: &Request, as_json: bool, what: &str) -> Result<u8> {
    if as_json {
        println!("{}", serde_json::to_string_pretty(&request_json(r))?);
    } else {
        println!("{}: {what}", r.id);
    }
    Ok(0)
}

/// `7d`, `36h`, `2w` as microseconds.
fn parse_span(text: &str) -> Result<i64> {
    let (n, unit) = text.split_at(text.len().saturating_sub(1));
    let n: i64 =
        n.parse().ok().filter(|n| *n >= 0).with_context(|| {
            format!("--due-within {text:?} is not a span; use e.g. 7d, 36h or 2w")
        })?;
    let hours = match unit {
        "h" => 1,
        "d" => 24,
        "w" => 24 * 7,
        _ => bail!("--due-within {text:?} is not a span; use e.g. 7d, 36h or 2w"),
    };
    Ok(n * hours * 3_600_000_000)
}

fn list(a: ListArgs) -> Result<u8> {
    let within = a.due_within.as_deref().map(parse_span).transpose()?;
    let mut requests = with_workspace(&a.common.workspace, async |ws| {
        Ok(ws.dsar_list(a.all).await?)
    })?;
    if let Some(w) = within {
        let until = custodia_engine::now_us() + w;
        requests.retain(|r| r.due_us <= until && !r.state.is_closed());
    }
    if a.common.json {
        let out: Vec<_> = requests.iter().map(request_json).collect();
        println!("{}", serde_json::to_string_pretty(&out)?);
        return Ok(0);
    }
    if requests.is_empty() {
        println!(
            "no {}requests; open one with `custodia dsar open --type erasure --subject email:…`",
            if a.all { "" } else { "open " }
        );
        return Ok(0);
    }
    let mut t = Table::new();
    t.load_preset(UTF8_FULL_CONDENSED);
    t.set_header([
        "id",
        "type",
        "law",
        "state",
        "subject",
        "received",
        "due",
        "days left",
    ]);
    for r in &requests {
        t.add_row([
            r.id.clone(),
            r.kind.to_string(),
            r.jurisdiction.law().to_string(),
            r.state.to_string(),
            format!("{}…", &r.subject[..12]),
            day(r.received_us),
            day(r.due_us),
            if r.state.is_closed() {
                "-".into()
            } else {
                days_left(r.due_us).to_string()
            },
        ]);
    }
    println!("{t}");
    Ok(0)
}

fn show(a: IdArgs) -> Result<u8> {
    let (r, steps) = with_workspace(&a.common.workspace, async |ws| {
        Ok((ws.dsar(&a.id).await?, ws.dsar_steps(&a.id).await?))
    })?;
    if a.common.json {
        let mut out = request_json(&r);
        out["steps"] = serde_json::to_value(&steps)?;
        println!("{}", serde_json::to_string_pretty(&out)?);
        return Ok(0);
    }
    println!("request   {}", r.id);
    println!("type      {}", r.kind);
    println!("law       {} ({})", r.jurisdiction.law(), r.jurisdiction);
    println!(
        "subject   {} ({}, region {})",
        r.subject, r.subject_kind, r.region
    );
    println!("state     {}", r.state);
    println!("received  {}", format_rfc3339(r.received_us));
    println!(
        "due       {}{}",
        format_rfc3339(r.due_us),
        if r.state.is_closed() {
            String::new()
        } else {
            format!(" ({} days left)", days_left(r.due_us))
        }
    );
    if let Some(c) = r.result.get("certificate").and_then(|c| c.as_str()) {
        println!("certificate {c}");
    }
    if !steps.is_empty() {
        let mut t = Table::new();
        t.load_preset(UTF8_FULL_CONDENSED);
        t.set_header([
            "step",
            "state",
            "location",
            "action",
            "rows removed",
            "detail",
        ]);
        for s in &steps {
            // Target steps keep [status, outcome].
            let d = s
                .detail
                .as_array()
                .and_then(|a| a.get(1))
                .unwrap_or(&s.detail);
            t.add_row([
                s.step.clone(),
                s.state.clone(),
                d.get("location")
                    .and_then(|v| v.as_str())
                    .map(str::to_string)
                    .or_else(|| {
                        d.get("places")
                            .and_then(|p| p.as_array())
                            .map(|p| format!("{} places checked", p.len()))
                    })
                    .or_else(|| {
                        d.get("method")
                            .and_then(|v| v.as_str())
                            .map(|m| format!("method {m}"))
                    })
                    .unwrap_or_default(),
                d.get("action")
                    .and_then(|v| v.as_str())
                    .unwrap_or("")
                    .to_string(),
                d.get("rows_removed")
                    .map(|v| v.to_string())
                    .unwrap_or_default(),
                d.get("detail")
                    .and_then(|v| v.as_str())
                    .unwrap_or("")
                    .to_string(),
            ]);
        }
        println!("{t}");
    }
    Ok(0)
}

fn run(a: RunArgs) -> Result<u8> {
    let Some(id) = a.id.clone() else {
        return run_all(&a.common);
    };
    let out = with_workspace(&a.common.workspace, async |ws| {
        let bar = if a.common.json {
            indicatif::ProgressBar::hidden()
        } else {
            indicatif::ProgressBar::new_spinner()
        };
        bar.set_message(format!("erasing for {id}"));
        bar.enable_steady_tick(std::time::Duration::from_millis(120));
        let r = ws.dsar_run(&id).await;
        bar.finish_and_clear();
        Ok(r?)
    })?;
    if a.common.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&json!({
                "request": request_json(&out.request),
                "locations": out.outcomes,
                "certificate": out.certificate,
                "waiting": out.waiting,
            }))?
        );
        return Ok(waiting(&out.waiting, true, ""));
    }
    let mut t = Table::new();
    t.load_preset(UTF8_FULL_CONDENSED);
    t.set_header(["location", "action", "rows removed", "detail"]);
    for o in &out.outcomes {
        t.add_row([
            o.location.clone(),
            o.action.clone(),
            o.rows_removed.to_string(),
            o.detail.clone(),
        ]);
    }
    println!("{t}");
    println!(
        "{}: {}; {} rows removed from {} locations",
        out.request.id,
        out.request.state,
        out.outcomes.iter().map(|o| o.rows_removed).sum::<u64>(),
        out.outcomes.iter().filter(|o| o.rows_removed > 0).count()
    );
    if let Some(c) = &out.certificate {
        println!("certificate {c} (check it: `custodia dsar verify-certificate {c} --pubkey audit.vkey`)");
    }
    if !out.waiting.is_empty() {
        println!("the subject's key is kept until every target confirms");
    }
    Ok(waiting(
        &out.waiting,
        false,
        &format!("`custodia dsar run {}`", out.request.id),
    ))
}

fn rectify(a: RectifyArgs) -> Result<u8> {
    let mut changes = std::collections::BTreeMap::new();
    for s in &a.set {
        let Some((column, value)) = s.split_once('=') else {
            bail!("--set takes COLUMN=VALUE (the value is not shown here); e.g. --set country=fr");
        };
        if column.is_empty()
            || changes
                .insert(column.to_string(), value.to_string())
                .is_some()
        {
            bail!("--set names column {column:?} twice or not at all; give each column once");
        }
    }
    let r = with_workspace(&a.common.workspace, async |ws| {
        Ok(ws.dsar_rectify(&a.id, &changes).await?)
    })?;
    if a.common.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&json!({
                "request": request_json(&r.request),
                "locations": r.outcomes,
                "waiting": r.waiting,
            }))?
        );
    } else {
        for o in &r.outcomes {
            println!("{:<10} {}  {}", o.action, o.location, o.detail);
        }
        println!("{}: {}", r.request.id, r.request.state);
    }
    Ok(waiting(&r.waiting, a.common.json, "the command"))
}

/// Says which external targets have not confirmed (unless printing JSON) and returns the
/// exit code: 0 when none, 1 while some have not.
fn waiting(targets: &[String], as_json: bool, retry: &str) -> u8 {
    if targets.is_empty() {
        return 0;
    }
    if !as_json {
        println!(
            "waiting on {}: not confirmed after retries; run {retry} again to retry them",
            targets.join(", ")
        );
    }
    EXIT_VIOLATIONS
}

/// What `dsar run --all` did with one request.
enum Ran {
    Done(Box<custodia_engine::dsar::RunOutcome>),
    /// Not verified yet: nothing to do until it is.
    Unverified,
    Failed(String),
}

/// `dsar run --all`: every open erasure request whose identity is verified, in deadline
/// order; one failing does not stop the others. Exit 1 when one failed or waits on an
/// external system.
fn run_all(c: &Common) -> Result<u8> {
    let results = with_workspace(&c.workspace, async |ws| {
        let mut out = Vec::new();
        for r in ws.dsar_list(false).await? {
            if r.kind != DsarKind::Erasure {
                continue;
            }
            let verified = ws
                .dsar_steps(&r.id)
                .await?
                .iter()
                .any(|s| s.step == "verify" && s.state == "done");
            let ran = if !verified {
                Ran::Unverified
            } else {
                match ws.dsar_run(&r.id).await {
                    Ok(o) => Ran::Done(Box::new(o)),
                    Err(e) => Ran::Failed(custodia_engine::redact_values(&e.to_string())),
                }
            };
            out.push((r.id.clone(), ran));
        }
        Ok(out)
    })?;
    let failed = results.iter().any(|(_, r)| match r {
        Ran::Done(o) => !o.waiting.is_empty(),
        Ran::Unverified => false,
        Ran::Failed(_) => true,
    });
    if c.json {
        let out: Vec<_> = results
            .iter()
            .map(|(id, r)| match r {
                Ran::Done(o) => json!({
                    "id": id,
                    "state": o.request.state.as_str(),
                    "rows_removed": o.outcomes.iter().map(|x| x.rows_removed).sum::<u64>(),
                    "certificate": o.certificate,
                    "waiting": o.waiting,
                }),
                Ran::Unverified => json!({ "id": id, "skipped": "identity not verified yet" }),
                Ran::Failed(e) => json!({ "id": id, "error": e }),
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else if results.is_empty() {
        println!("no open erasure requests");
    } else {
        for (id, r) in &results {
            match r {
                Ran::Done(o) if o.waiting.is_empty() => println!(
                    "{id}: {}; {} rows removed; certificate {}",
                    o.request.state,
                    o.outcomes.iter().map(|x| x.rows_removed).sum::<u64>(),
                    o.certificate.as_deref().unwrap_or("-")
                ),
                Ran::Done(o) => println!("{id}: waiting on {}", o.waiting.join(", ")),
                Ran::Unverified => println!(
                    "{id}: skipped: identity not verified yet (`custodia dsar verify {id} --method …`)"
                ),
                Ran::Failed(e) => println!("{id}: failed: {e}"),
            }
        }
    }
    Ok(if failed { EXIT_VIOLATIONS } else { 0 })
}

fn export(a: ExportArgs) -> Result<u8> {
    if a.out.extension().is_none_or(|e| e != "zip") {
        bail!(
            "--out {:?} must name a .zip file",
            a.out.display().to_string()
        );
    }
    let out = if a.out.is_absolute() {
        a.out.clone()
    } else {
        std::env::current_dir()?.join(&a.out)
    };
    let r = with_workspace(&a.common.workspace, async |ws| {
        Ok(ws.dsar_export(&a.id, &out).await?)
    })?;
    if a.common.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&json!({
                "request": request_json(&r.request),
                "package": a.out,
                "sha256": r.sha256,
                "locations": r.locations,
                "rows": r.rows,
                "files": r.files,
                "waiting": r.waiting,
            }))?
        );
    } else {
        println!(
            "{}: {} rows from {} places in {} ({} files, sha256 {})",
            r.request.id,
            r.rows,
            r.locations,
            a.out.display(),
            r.files,
            r.sha256
        );
    }
    Ok(waiting(
        &r.waiting,
        a.common.json,
        &format!("`custodia dsar export {} --out …`", r.request.id),
    ))
}

fn verify_certificate(a: VerifyCertificateArgs) -> Result<u8> {
    let text = std::fs::read_to_string(&a.file).with_context(|| a.file.display().to_string())?;
    let vkey =
        std::fs::read_to_string(&a.pubkey).with_context(|| a.pubkey.display().to_string())?;
    match custodia_engine::dsar::verify_certificate(&text, &vkey) {
        Ok(c) => {
            if a.json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&json!({
                        "valid": true,
                        "request": c.certificate.request,
                        "issuer": c.certificate.issuer,
                        "subject_refs": c.certificate.subject_refs,
                        "locations": c.certificate.locations,
                        "entries_proven": c.entries_proven,
                        "checkpoint_size": c.checkpoint_size,
                    }))?
                );
            } else {
                let acted = c
                    .certificate
                    .locations
                    .iter()
                    .filter(|l| l.audit_index.is_some())
                    .count();
                println!(
                    "valid: erasure certificate of {} by {}, issued {}; {} locations checked, {} acted on; {} audit entries proven against a checkpoint of {} entries",
                    c.certificate.request,
                    c.certificate.issuer,
                    c.certificate.issued,
                    c.certificate.locations.len(),
                    acted,
                    c.entries_proven,
                    c.checkpoint_size
                );
            }
            Ok(0)
        }
        Err(custodia_engine::EngineError::Tampered(why)) => {
            if a.json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&json!({ "valid": false, "reason": why }))?
                );
            } else {
                println!("INVALID: {why}");
            }
            Ok(EXIT_VIOLATIONS)
        }
        Err(e) => Err(e.into()),
    }
}

fn verify_erasure(a: IdArgs) -> Result<u8> {
    let found = with_workspace(&a.common.workspace, async |ws| {
        Ok(ws.dsar_verify_erasure(&a.id).await?)
    })?;
    if a.common.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&json!({
                "erased": found.is_empty(),
                "found": found.iter().map(|p| json!({"location": p.location(), "rows": p.rows()})).collect::<Vec<_>>(),
            }))?
        );
    } else if found.is_empty() {
        println!("{}: the subject is in no dataset version, snapshot, table or model, and holds no data key", a.id);
    } else {
        for p in &found {
            let what = match p {
                Place::Key { .. } => "data key still exists".to_string(),
                Place::Model { .. } => "manifest lists the subject".to_string(),
                _ => format!("{} rows", p.rows()),
            };
            println!("FOUND {}: {what}", p.location());
        }
        println!(
            "run `custodia dsar show {}` to see what the erasure did",
            a.id
        );
    }
    Ok(if found.is_empty() { 0 } else { EXIT_VIOLATIONS })
}
