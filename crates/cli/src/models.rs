//! `custodia models`: the registry that `train` steps fill, and promotion through the
//! model gate.

use std::path::PathBuf;

use anyhow::Result;
use clap::{Args, Subcommand};
use comfy_table::{presets::UTF8_FULL_CONDENSED, Table};
use custodia_engine::{
    models::{parse_model_ref, Promotion},
    ModelVersion,
};
use serde_json::json;

use crate::{custody::with_workspace, EXIT_VIOLATIONS};

#[derive(Args)]
pub struct ModelsArgs {
    #[command(subcommand)]
    command: ModelsCommand,
}

#[derive(Subcommand)]
enum ModelsCommand {
    /// List models (latest version of each, with its stage).
    #[command(after_help = "Examples:\n  custodia models list\n  custodia models list --json")]
    List(Common),
    /// Show a model's versions, or one version's card, metrics and training data.
    #[command(after_help = "Examples:
  custodia models show churn          # every version
  custodia models show churn@3        # one version: card, metrics, what it was trained on")]
    Show(RefArgs),
    /// Promote a version to production: its artifact must be the registered one and the
    /// model gate (`custodia check` on its card) must pass. The production version before
    /// it is archived.
    #[command(after_help = "Examples:
  custodia models promote churn@3
  custodia models promote churn --json     # the latest version

Exit 0 when promoted, 1 when the gate refuses (each rule with its fix), 2 on bad input.")]
    Promote(RefArgs),
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
struct RefArgs {
    /// NAME or NAME@VERSION.
    model: String,
    #[command(flatten)]
    common: Common,
}

pub fn models(args: ModelsArgs) -> Result<u8> {
    match args.command {
        ModelsCommand::List(c) => {
            let list = with_workspace(&c.workspace, async |ws| Ok(ws.store().models().await?))?;
            if c.json {
                let out: Vec<_> = list.iter().map(summary).collect();
                println!("{}", serde_json::to_string_pretty(&out)?);
            } else if list.is_empty() {
                println!(
                    "no models yet; a pipeline's train step registers them (see docs/models.md)"
                );
            } else {
                println!("{}", table(&list));
            }
            Ok(0)
        }
        ModelsCommand::Show(a) => {
            let (name, version) = parse_model_ref(&a.model)?;
            let versions = with_workspace(&a.common.workspace, async |ws| {
                Ok(match version {
                    Some(_) => vec![ws.model_version(&name, version).await?],
                    None => {
                        let all = ws.store().model_versions(&name).await?;
                        if all.is_empty() {
                            ws.model_version(&name, None).await?;
                        }
                        all
                    }
                })
            })?;
            if a.common.json {
                let out: Vec<_> = versions.iter().map(detail).collect();
                println!("{}", serde_json::to_string_pretty(&out)?);
            } else if version.is_some() {
                let m = &versions[0];
                let d = detail(m);
                println!("{}@{}  {}  {}", m.model, m.version, m.stage, m.algorithm);
                println!("  run        {}", m.run_id.as_deref().unwrap_or("-"));
                println!("  artifact   {} (sha256 {})", m.artifact, m.artifact_sha256);
                println!("  trained on {}", d["training"]);
                println!(
                    "  subjects   {}",
                    m.subjects
                        .map(|s| s.to_string())
                        .unwrap_or_else(|| "-".into())
                );
                println!("  metrics    {}", m.metrics);
                println!("  card:\n{}", indent(&m.card));
            } else {
                println!("{}", table(&versions));
            }
            Ok(0)
        }
        ModelsCommand::Promote(a) => {
            let (name, version) = parse_model_ref(&a.model)?;
            let p = with_workspace(&a.common.workspace, async |ws| {
                Ok(ws.promote_model(&name, version).await?)
            })?;
            match p {
                Promotion::Promoted { model, replaced } => {
                    if a.common.json {
                        println!(
                            "{}",
                            json!({"outcome": "promoted", "model": model, "replaced": replaced})
                        );
                    } else {
                        println!(
                            "{model} is in production{}",
                            replaced
                                .map(|r| format!(" ({name}@{r} archived)"))
                                .unwrap_or_default()
                        );
                    }
                    Ok(0)
                }
                Promotion::Refused { model, findings } => {
                    if a.common.json {
                        let f: Vec<_> = findings
                            .iter()
                            .map(|f| json!({"rule": f.rule, "path": f.path, "line": f.line, "message": f.message, "fix": f.fix}))
                            .collect();
                        println!(
                            "{}",
                            json!({"outcome": "refused", "model": model, "findings": f})
                        );
                    } else {
                        eprintln!("{model} is not promoted:");
                        for f in &findings {
                            eprintln!("  {}: {}; fix: {}", f.rule, f.message, f.fix);
                        }
                    }
                    Ok(EXIT_VIOLATIONS)
                }
            }
        }
    }
}

fn indent(text: &str) -> String {
    text.lines()
        .map(|l| format!("    {l}"))
        .collect::<Vec<_>>()
        .join("\n")
}

fn summary(m: &ModelVersion) -> serde_json::Value {
    json!({
        "model": m.model,
        "version": m.version,
        "stage": m.stage,
        "algorithm": m.algorithm,
        "run_id": m.run_id,
        "created": custodia_engine::time::format_rfc3339(m.created_us),
        "metrics": serde_json::from_str::<serde_json::Value>(&m.metrics).unwrap_or_default(),
        "subjects": m.subjects,
        "flagged": m.flagged.as_deref().and_then(|f| serde_json::from_str::<serde_json::Value>(f).ok()),
    })
}

fn detail(m: &ModelVersion) -> serde_json::Value {
    let mut v = summary(m);
    v["artifact"] = json!(m.artifact);
    v["artifact_sha256"] = json!(m.artifact_sha256);
    v["training"] = serde_json::from_str(&m.training).unwrap_or_default();
    v["manifest"] = m
        .manifest
        .as_deref()
        .and_then(|t| serde_json::from_str(t).ok())
        .unwrap_or_default();
    v["card"] = json!(m.card);
    v["promoted"] = json!(m.promoted_us.map(custodia_engine::time::format_rfc3339));
    v
}

fn table(list: &[ModelVersion]) -> Table {
    let mut t = Table::new();
    t.load_preset(UTF8_FULL_CONDENSED);
    t.set_header([
        "model",
        "version",
        "stage",
        "algorithm",
        "metrics",
        "subjects",
        "created",
    ]);
    for m in list {
        let metrics: serde_json::Map<String, serde_json::Value> =
            serde_json::from_str(&m.metrics).unwrap_or_default();
        let shown: Vec<String> = metrics
            .iter()
            .filter(|(k, _)| !k.ends_with("_rows"))
            .map(|(k, v)| format!("{k}={:.3}", v.as_f64().unwrap_or(f64::NAN)))
            .collect();
        t.add_row([
            m.model.clone(),
            m.version.to_string(),
            match &m.flagged {
                Some(_) => format!("{} (flagged: retrain)", m.stage),
                None => m.stage.clone(),
            },
            m.algorithm.clone(),
            shown.join(" "),
            m.subjects.map(|s| s.to_string()).unwrap_or_default(),
            custodia_engine::time::format_rfc3339(m.created_us),
        ]);
    }
    t
}
