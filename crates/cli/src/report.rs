//! `custodia report`: the metrics a DPO tracks, as a table, JSON or a self-contained page.

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use clap::Args;
use comfy_table::{presets::UTF8_FULL_CONDENSED, Table};

use crate::custody::with_workspace;

#[derive(Args)]
pub struct ReportArgs {
    /// Workspace folder.
    #[arg(long, default_value = ".")]
    workspace: PathBuf,
    /// Print JSON.
    #[arg(long)]
    json: bool,
    /// Also write an HTML page with charts (self-contained: no scripts, nothing fetched).
    #[arg(long)]
    html: Option<PathBuf>,
}

fn shown(v: Option<f64>, unit: &str) -> String {
    v.map_or("–".into(), |v| format!("{v}{unit}"))
}

pub fn report(a: ReportArgs) -> Result<u8> {
    if let Some(h) = &a.html {
        if h.extension().is_none_or(|e| e != "html" && e != "htm") {
            bail!(
                "--html {:?} must name an .html file",
                h.display().to_string()
            );
        }
    }
    let r = with_workspace(&a.workspace, async |ws| Ok(ws.compliance_report().await?))?;
    if let Some(h) = &a.html {
        std::fs::write(h, r.html()).with_context(|| h.display().to_string())?;
    }
    if a.json {
        println!("{}", serde_json::to_string_pretty(&r)?);
        return Ok(0);
    }
    let mut t = Table::new();
    t.load_preset(UTF8_FULL_CONDENSED);
    t.set_header(["metric", "value"]);
    let d = &r.dsar;
    let rows: Vec<(String, String)> = vec![
        (
            "DSARs open / closed".into(),
            format!("{} / {}", d.open, d.closed),
        ),
        ("DSARs closed on time".into(), shown(d.on_time_pct, "%")),
        (
            "mean time to close".into(),
            shown(d.mean_days_to_close, " days"),
        ),
        (
            "open DSARs by days to deadline".into(),
            ["overdue", "0-7", "8-14", "15-30", "31+"]
                .iter()
                .map(|b| format!("{b}: {}", d.open_by_days_left.get(*b).copied().unwrap_or(0)))
                .collect::<Vec<_>>()
                .join(", "),
        ),
        (
            "datasets with retention enforced".into(),
            format!(
                "{} ({} of {} have a retention; {} rows past it)",
                shown(r.retention.enforced_pct, "%"),
                r.retention.with_retention,
                r.retention.datasets,
                r.retention.rows_past_retention
            ),
        ),
        (
            "deletion propagation".into(),
            format!(
                "{} ({} places reached, {} not; {} rows removed)",
                shown(r.deletion.success_pct, "%"),
                r.deletion.propagated,
                r.deletion.not_propagated,
                r.deletion.rows_removed
            ),
        ),
        (
            "models pending retraining".into(),
            r.deletion.models_pending_retrain.to_string(),
        ),
        (
            "residency violations blocked".into(),
            r.residency_blocked.to_string(),
        ),
        (
            "policy decisions / denied".into(),
            format!("{} / {}", r.decisions.0, r.decisions.1),
        ),
    ];
    for (k, v) in rows {
        t.add_row([k, v]);
    }
    for c in &r.consent {
        t.add_row([
            format!("consent coverage: {}", c.purpose),
            format!("{} of {} subjects", shown(c.granted_pct, "%"), c.subjects),
        ]);
    }
    for (rule, n) in &r.denials_by_rule {
        t.add_row([format!("denials: {rule}"), n.to_string()]);
    }
    println!("{t}");
    if let Some(h) = &a.html {
        println!("wrote {}", h.display());
    }
    Ok(0)
}
