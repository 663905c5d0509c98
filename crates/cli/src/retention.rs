//! `custodia retention`: what contracts' retention says must go, and making it go.

use std::path::PathBuf;

use anyhow::Result;
use clap::{Args, Subcommand};
use comfy_table::{presets::UTF8_FULL_CONDENSED, Table};
use custodia_engine::retention::RetentionPlan;
use serde_json::json;

use crate::custody::with_workspace;

#[derive(Args)]
pub struct RetentionArgs {
    #[command(subcommand)]
    command: RetentionCommand,
}

#[derive(Subcommand)]
enum RetentionCommand {
    /// What is past its contract's retention: rows per dataset version and table, and the
    /// models trained on it. Changes nothing.
    #[command(after_help = "Examples:
  custodia retention plan
  custodia retention plan --as-of 2027-01-01T00:00:00Z --json

A contract sets `retention: 90d`; `on_expiry: {by: ordered_at, action: anonymize}` dates
rows by a column (else a version expires with its write time) and keeps rows with their
personal columns emptied instead of deleting them.")]
    Plan(PlanArgs),
    /// Delete (or anonymize) what the plan lists, journaled: if cut off, run it again and
    /// it finishes that sweep first. Models trained on expired data are flagged.
    #[command(after_help = "Example:\n  custodia retention apply")]
    Apply(Common),
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
struct PlanArgs {
    /// Plan as of this time (RFC 3339; default now).
    #[arg(long)]
    as_of: Option<String>,
    #[command(flatten)]
    common: Common,
}

pub fn retention(args: RetentionArgs) -> Result<u8> {
    match args.command {
        RetentionCommand::Plan(a) => {
            let now = match &a.as_of {
                Some(t) => custodia_core::time::parse_rfc3339(t).map_err(|e| {
                    anyhow::anyhow!("--as-of {t:?}: {e}; use RFC 3339 such as 2027-01-01T00:00:00Z")
                })?,
                None => custodia_engine::now_us(),
            };
            let plan = with_workspace(&a.common.workspace, async |ws| {
                Ok(ws.retention_plan(now).await?)
            })?;
            if a.common.json {
                println!("{}", serde_json::to_string_pretty(&plan)?);
            } else {
                show(&plan);
                if !plan.expiring.is_empty() {
                    println!("apply it: `custodia retention apply`");
                }
            }
            Ok(0)
        }
        RetentionCommand::Apply(c) => {
            let done = with_workspace(&c.workspace, async |ws| {
                let bar = if c.json {
                    indicatif::ProgressBar::hidden()
                } else {
                    indicatif::ProgressBar::new_spinner()
                };
                bar.set_message("retention sweep");
                bar.enable_steady_tick(std::time::Duration::from_millis(120));
                let r = ws.retention_apply().await;
                bar.finish_and_clear();
                Ok(r?)
            })?;
            if c.json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&json!({
                        "job": done.job,
                        "done": done.done.iter().map(|(l, n)| json!({"location": l, "rows": n})).collect::<Vec<_>>(),
                        "models_flagged": done.plan.models,
                        "unenforced": done.plan.unenforced,
                    }))?
                );
            } else {
                for (l, n) in &done.done {
                    println!("expired {n:>8} rows  {l}");
                }
                for m in &done.plan.models {
                    println!("flagged model {} (trained on {})", m.model, m.trained_on);
                }
                println!(
                    "sweep {}: {} rows in {} places",
                    done.job,
                    done.done.iter().map(|(_, n)| n).sum::<u64>(),
                    done.done.len()
                );
            }
            Ok(0)
        }
    }
}

fn show(plan: &RetentionPlan) {
    println!(
        "{} of {} datasets have a retention",
        plan.datasets_with_retention, plan.datasets
    );
    if plan.expiring.is_empty() {
        println!("nothing is past its retention");
    } else {
        let mut t = Table::new();
        t.load_preset(UTF8_FULL_CONDENSED);
        t.set_header([
            "location",
            "contract",
            "retention",
            "dated by",
            "action",
            "expiring",
            "rows",
        ]);
        for e in &plan.expiring {
            t.add_row([
                e.location.clone(),
                e.contract.clone(),
                format!("{}d", e.retention_days),
                e.by.clone().unwrap_or_else(|| "write time".into()),
                e.action.clone(),
                e.expiring.to_string(),
                e.rows.to_string(),
            ]);
        }
        println!("{t}");
    }
    for m in &plan.models {
        println!(
            "model {} was trained on {}, past its retention",
            m.model, m.trained_on
        );
    }
    for u in &plan.unenforced {
        println!("not enforced: {u}");
    }
}
