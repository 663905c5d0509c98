//! `custodia snapshot`: training snapshots outside pipelines, and who is in each one.

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand};
use comfy_table::{presets::UTF8_FULL_CONDENSED, Table};
use custodia_core::{Purpose, Region, SubjectId};
use custodia_engine::run::{Manifest, SnapshotOutcome, SnapshotRequest};
use serde_json::json;

use crate::{custody::with_workspace, EXIT_VIOLATIONS};

#[derive(Args)]
pub struct SnapshotArgs {
    #[command(subcommand)]
    command: SnapshotCommand,
}

#[derive(Subcommand)]
enum SnapshotCommand {
    /// Make a versioned training snapshot of files: only the rows the purpose allows now
    /// (consent or opt-out joined against the ledger), with a manifest of who is in it.
    #[command(after_help = "Examples:
  custodia snapshot create churn_training --from data/features.parquet --dataset customer_features --purpose model_training --role ml_engineer
  custodia snapshot create churn_training --from 'exports/*.csv' --dataset orders --purpose model_training --role ml_engineer --json

Exit 0 when made, 1 when the policy denies the read (the rule and the fix are printed;
`custodia policy explain ID` shows the decision), 2 on bad input.")]
    Create(CreateArgs),
    /// List snapshots (latest version of each).
    #[command(after_help = "Examples:\n  custodia snapshot list\n  custodia snapshot list --json")]
    List(Common),
    /// Show every version of a snapshot: rows, subjects, manifest digest, run.
    #[command(after_help = "Example:\n  custodia snapshot show churn_training")]
    Show(ShowArgs),
    /// Which versions of a snapshot hold a subject (by their manifest; for access and
    /// erasure requests).
    #[command(after_help = "Examples:
  custodia snapshot contains churn_training customer_id:C-1042
  custodia snapshot contains churn_training email:ana@example.com --region eu --json")]
    Contains(ContainsArgs),
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
struct CreateArgs {
    /// Snapshot name (lower-case snake case).
    name: String,
    /// A CSV, JSONL or Parquet file or glob, relative to the workspace.
    #[arg(long = "from")]
    source: String,
    /// The contract that governs the data.
    #[arg(long)]
    dataset: String,
    /// The purpose the snapshot serves.
    #[arg(long)]
    purpose: String,
    /// The role it is made as (for role-based masks and grants).
    #[arg(long)]
    role: Option<String>,
    #[command(flatten)]
    common: Common,
}

#[derive(Args)]
struct ShowArgs {
    /// Snapshot name.
    name: String,
    #[command(flatten)]
    common: Common,
}

#[derive(Args)]
struct ContainsArgs {
    /// Snapshot name.
    name: String,
    /// The subject as kind:value (email:…, phone:+…, customer_id:…).
    subject: String,
    /// Region of the subject's data (default: the workspace's first region).
    #[arg(long)]
    region: Option<String>,
    #[command(flatten)]
    common: Common,
}

pub fn snapshot(args: SnapshotArgs) -> Result<u8> {
    match args.command {
        SnapshotCommand::Create(a) => create(a),
        SnapshotCommand::List(c) => list(c),
        SnapshotCommand::Show(a) => show(a),
        SnapshotCommand::Contains(a) => contains(a),
    }
}

fn create(a: CreateArgs) -> Result<u8> {
    let purpose = Purpose::new(&a.purpose).with_context(|| format!("--purpose {:?}", a.purpose))?;
    let req = SnapshotRequest {
        name: a.name.clone(),
        source: a.source.clone(),
        dataset: a.dataset.clone(),
        purpose,
        role: a.role.clone(),
    };
    let outcome = with_workspace(&a.common.workspace, async |ws| {
        let bar = if a.common.json {
            indicatif::ProgressBar::hidden()
        } else {
            indicatif::ProgressBar::new_spinner()
        };
        bar.set_message(format!("snapshot {}", a.name));
        bar.enable_steady_tick(std::time::Duration::from_millis(120));
        let r = ws.snapshot(&req).await;
        bar.finish_and_clear();
        Ok(r?)
    })?;
    if a.common.json {
        println!("{}", serde_json::to_string_pretty(&outcome)?);
    }
    match outcome {
        SnapshotOutcome::Created(r) => {
            if !a.common.json {
                println!(
                    "{}: {} rows of {} read, {} subjects ({} ms)",
                    r.version, r.rows, r.enforcement.rows_read, r.manifest.subjects, r.millis
                );
                if let Some(f) = &r.enforcement.row_filter {
                    println!(
                        "  {f} removed {} rows (decision {})",
                        r.enforcement.rows_filtered, r.enforcement.decision_id
                    );
                }
                println!("  data      {}", r.path);
                println!(
                    "  manifest  {} (sha256 {})",
                    r.manifest.path, r.manifest.sha256
                );
            }
            Ok(0)
        }
        SnapshotOutcome::Denied {
            decision_id,
            message,
        } => {
            if !a.common.json {
                eprintln!(
                    "denied (decision {decision_id}; `custodia policy explain {decision_id}`): {message}"
                );
            }
            Ok(EXIT_VIOLATIONS)
        }
    }
}

fn manifest_of(v: &custodia_engine::DatasetVersion) -> Option<Manifest> {
    v.manifest
        .as_deref()
        .and_then(|m| serde_json::from_str(m).ok())
}

fn list(c: Common) -> Result<u8> {
    let versions = with_workspace(&c.workspace, async |ws| {
        Ok(ws.store().latest_dataset_versions().await?)
    })?;
    let snaps: Vec<_> = versions
        .into_iter()
        .filter(|v| v.dataset.starts_with("snapshots."))
        .collect();
    if c.json {
        let out: Vec<_> = snaps.iter().map(version_json).collect();
        println!("{}", serde_json::to_string_pretty(&out)?);
        return Ok(0);
    }
    if snaps.is_empty() {
        println!("no snapshots yet; make one with `custodia snapshot create` or a pipeline's snapshot step");
        return Ok(0);
    }
    println!("{}", table(&snaps));
    Ok(0)
}

fn version_json(v: &custodia_engine::DatasetVersion) -> serde_json::Value {
    json!({
        "snapshot": v.dataset.trim_start_matches("snapshots."),
        "version": v.version,
        "rows": v.row_count,
        "subjects": v.subjects,
        "content_hash": v.content_hash,
        "path": v.path,
        "manifest": manifest_of(v),
        "run_id": v.run_id,
        "region": v.region,
        "created": custodia_engine::time::format_rfc3339(v.created_us),
    })
}

fn table(versions: &[custodia_engine::DatasetVersion]) -> Table {
    let mut t = Table::new();
    t.load_preset(UTF8_FULL_CONDENSED);
    t.set_header([
        "snapshot",
        "version",
        "rows",
        "subjects",
        "created",
        "run",
        "manifest sha256",
    ]);
    for v in versions {
        t.add_row([
            v.dataset.trim_start_matches("snapshots.").to_string(),
            v.version.to_string(),
            v.row_count.to_string(),
            v.subjects.map(|s| s.to_string()).unwrap_or_default(),
            custodia_engine::time::format_rfc3339(v.created_us),
            v.run_id.clone().unwrap_or_else(|| "-".into()),
            manifest_of(v)
                .map(|m| m.sha256[..16].to_string())
                .unwrap_or_default(),
        ]);
    }
    t
}

fn show(a: ShowArgs) -> Result<u8> {
    let versions = with_workspace(&a.common.workspace, async |ws| {
        Ok(ws
            .store()
            .dataset_versions(&format!("snapshots.{}", a.name))
            .await?)
    })?;
    if versions.is_empty() {
        bail!("no snapshot {:?}; see `custodia snapshot list`", a.name);
    }
    if a.common.json {
        let out: Vec<_> = versions.iter().map(version_json).collect();
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        println!("{}", table(&versions));
    }
    Ok(0)
}

fn contains(a: ContainsArgs) -> Result<u8> {
    let id = SubjectId::parse(&a.subject).context(
        "give the subject as kind:value, e.g. customer_id:C-1042 or email:ana@example.com",
    )?;
    let hits = with_workspace(&a.common.workspace, async |ws| {
        let region = match &a.region {
            Some(r) => Region::new(r)?,
            None => ws.config().default_region().clone(),
        };
        let r = ws.subject_ref(&id, &region);
        let versions = ws
            .store()
            .dataset_versions(&format!("snapshots.{}", a.name))
            .await?;
        if versions.is_empty() {
            bail!("no snapshot {:?}; see `custodia snapshot list`", a.name);
        }
        let mut hits = Vec::new();
        for v in &versions {
            hits.push((v.version, ws.snapshot_contains(v, &r).await?));
        }
        Ok((r, hits))
    })?;
    let (r, hits) = hits;
    if a.common.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&json!({
                "subject_ref": r.as_str(),
                "snapshot": a.name,
                "versions": hits.iter().map(|(v, c)| json!({"version": v, "contains": c})).collect::<Vec<_>>(),
            }))?
        );
    } else {
        let listed: Vec<String> = hits
            .iter()
            .filter(|(_, c)| *c)
            .map(|(v, _)| format!("{}@{v}", a.name))
            .collect();
        if listed.is_empty() {
            println!("subject {r} is in no version of {}", a.name);
        } else {
            println!("subject {r} is in {}", listed.join(", "));
        }
    }
    Ok(0)
}
