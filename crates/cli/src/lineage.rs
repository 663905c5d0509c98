//! `custodia lineage`: trace, impact, the root-cause diff of two model versions, and the
//! stored OpenLineage events.

use std::path::PathBuf;

use anyhow::{bail, Result};
use clap::{Args, Subcommand, ValueEnum};
use custodia_engine::lineage::Direction;

use crate::custody::with_workspace;

#[derive(Args)]
pub struct LineageArgs {
    #[command(subcommand)]
    command: LineageCommand,
}

#[derive(Subcommand)]
enum LineageCommand {
    /// Where an artifact comes from (--upstream) or what is derived from it (--downstream):
    /// a dataset (`orders`, `orders@3`), a column (`orders.amount`,
    /// `customer_features@2.customer_lifetime_value`) or a model (`model:churn@3`).
    #[command(after_help = "Examples:
  custodia lineage trace model:churn@3 --upstream
  custodia lineage trace customer_features.customer_lifetime_value --upstream
  custodia lineage trace orders.amount --downstream --format mermaid
  custodia lineage trace orders --downstream --format dot | dot -Tsvg > orders.svg")]
    Trace(TraceArgs),
    /// If this column changes, which features, tables, snapshots and models are affected.
    #[command(after_help = "Examples:
  custodia lineage impact orders.amount
  custodia lineage impact customers.country --json")]
    Impact(ImpactArgs),
    /// Which upstream dataset versions changed between two trainings of a model, and how
    /// (rows, schema, null rates, distribution): the root-cause view of a model's change.
    #[command(after_help = "Examples:
  custodia lineage diff churn@2 churn@3
  custodia lineage diff churn@2 churn@3 --json")]
    Diff(DiffArgs),
    /// The OpenLineage events runs emitted (JSON lines), to replay into another backend.
    #[command(after_help = "Examples:
  custodia lineage events                       # every run
  custodia lineage events clv-20261123T161200Z-3f2a > events.jsonl")]
    Events(EventsArgs),
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    Text,
    Json,
    Dot,
    Mermaid,
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
struct TraceArgs {
    /// Dataset, column or model.
    artifact: String,
    /// Towards the sources (the default).
    #[arg(long, conflicts_with = "downstream")]
    upstream: bool,
    /// Towards what derives from it.
    #[arg(long)]
    downstream: bool,
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    format: Format,
    #[command(flatten)]
    common: Common,
}

#[derive(Args)]
struct ImpactArgs {
    /// DATASET.COLUMN.
    column: String,
    #[command(flatten)]
    common: Common,
}

#[derive(Args)]
struct DiffArgs {
    /// The older version, NAME@A.
    from: String,
    /// The newer version, NAME@B.
    to: String,
    #[command(flatten)]
    common: Common,
}

#[derive(Args)]
struct EventsArgs {
    /// A run id (default: every run).
    run: Option<String>,
    /// Workspace folder.
    #[arg(long, default_value = ".")]
    workspace: PathBuf,
}

pub fn lineage(args: LineageArgs) -> Result<u8> {
    match args.command {
        LineageCommand::Trace(a) => {
            let direction = if a.downstream {
                Direction::Downstream
            } else {
                Direction::Upstream
            };
            let trace = with_workspace(&a.common.workspace, async |ws| {
                let g = ws.lineage_graph().await?;
                let root = g.resolve(&a.artifact)?;
                Ok(g.trace(&root, direction))
            })?;
            let format = if a.common.json {
                Format::Json
            } else {
                a.format
            };
            match format {
                Format::Text => {
                    print!("{}", trace.text());
                    if trace.edges.is_empty() {
                        eprintln!(
                            "note: nothing {} of {}",
                            if a.downstream {
                                "downstream"
                            } else {
                                "upstream"
                            },
                            trace.root
                        );
                    }
                }
                Format::Json => println!("{}", serde_json::to_string_pretty(&trace)?),
                Format::Dot => print!("{}", trace.dot()),
                Format::Mermaid => print!("{}", trace.mermaid()),
            }
            Ok(0)
        }
        LineageCommand::Impact(a) => {
            let impact = with_workspace(&a.common.workspace, async |ws| {
                Ok(ws.lineage_impact(&a.column).await?)
            })?;
            if a.common.json {
                println!("{}", serde_json::to_string_pretty(&impact)?);
                return Ok(0);
            }
            println!("changing {} affects:", impact.column);
            for (label, group) in [
                ("datasets and features", &impact.datasets),
                ("tables", &impact.tables),
                ("snapshots", &impact.snapshots),
                ("models", &impact.models),
            ] {
                if group.is_empty() {
                    continue;
                }
                println!("  {label}:");
                for (name, cols) in group {
                    println!(
                        "    {name}  ({})",
                        cols.iter().cloned().collect::<Vec<_>>().join(", ")
                    );
                }
            }
            if impact.datasets.is_empty() && impact.models.is_empty() && impact.tables.is_empty() {
                println!("  nothing recorded downstream");
            }
            Ok(0)
        }
        LineageCommand::Diff(a) => {
            let (m1, v1) = custodia_engine::models::parse_model_ref(&a.from)?;
            let (m2, v2) = custodia_engine::models::parse_model_ref(&a.to)?;
            let (Some(v1), Some(v2)) = (v1, v2) else {
                bail!("give both versions, e.g. `custodia lineage diff churn@2 churn@3`");
            };
            if m1 != m2 {
                bail!("{m1} and {m2} are different models; diff two versions of one model");
            }
            let d = with_workspace(&a.common.workspace, async |ws| {
                Ok(ws.lineage_diff(&m1, v1, v2).await?)
            })?;
            if a.common.json {
                println!("{}", serde_json::to_string_pretty(&d)?);
                return Ok(0);
            }
            println!("{} -> {}", d.from, d.to);
            println!("metrics:");
            for (k, (x, y)) in &d.metrics {
                let f = |v: &Option<f64>| v.map(|v| format!("{v:.4}")).unwrap_or("-".into());
                println!("  {k:<12} {} -> {}", f(x), f(y));
            }
            println!("upstream changes:");
            if d.changes.is_empty() {
                println!("  none: both were trained on the same dataset versions");
            }
            for c in &d.changes {
                println!(
                    "  {}: {} -> {}{}",
                    c.dataset,
                    c.from.as_deref().unwrap_or("(not used)"),
                    c.to.as_deref().unwrap_or("(not used)"),
                    c.rows
                        .map(|(a, b)| format!(", rows {a} -> {b}"))
                        .unwrap_or_default()
                );
                for f in &c.findings {
                    println!(
                        "      {} {}: {} ({} {:.3}, threshold {})",
                        serde_json::to_value(f.kind)?.as_str().unwrap_or(""),
                        f.column,
                        f.detail,
                        f.statistic,
                        f.value,
                        f.threshold
                    );
                }
            }
            match &d.likely_cause {
                Some(c) => println!("likely cause: {c}"),
                None => println!("likely cause: no upstream drift found; look at the training code or parameters"),
            }
            Ok(0)
        }
        LineageCommand::Events(a) => {
            let events = with_workspace(&a.workspace, async |ws| {
                Ok(ws.store().lineage_events(a.run.as_deref()).await?)
            })?;
            for (_, _, body) in events {
                println!("{body}");
            }
            Ok(0)
        }
    }
}
