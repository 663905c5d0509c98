//! `custodia pipeline validate`: check pipeline files before anything runs.

use std::path::PathBuf;

use anyhow::{bail, Result};
use clap::{Args, Subcommand};
use custodia_core::pipeline::Pipeline;
use serde_json::json;

use crate::EXIT_USAGE;

#[derive(Args)]
pub struct PipelineArgs {
    #[command(subcommand)]
    command: PipelineCommand,
}

#[derive(Subcommand)]
enum PipelineCommand {
    /// Check pipeline files: ids, needs (no unknown step, no cycle), the fields of each step
    /// kind, a purpose for every read, database URLs without passwords. Exit 2 on any error.
    #[command(
        after_help = "Examples:\n  custodia pipeline validate pipelines/\n  custodia pipeline validate pipelines/churn.yaml --json"
    )]
    Validate(ValidateArgs),
}

#[derive(Args)]
struct ValidateArgs {
    /// Pipeline files, or folders of *.yaml / *.yml.
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

pub fn run(args: PipelineArgs) -> Result<u8> {
    let PipelineCommand::Validate(a) = args.command;
    let files = custodia_engine::contracts::contract_files(&a.paths)?;
    if files.is_empty() {
        bail!("no pipeline files (*.yaml) in the given paths; pipelines live in pipelines/");
    }
    let mut valid = Vec::new();
    let mut errors = Vec::new();
    for f in &files {
        let label = f.display().to_string();
        let text = match std::fs::read_to_string(f) {
            Ok(t) => t,
            Err(e) => {
                errors.push(format!("{label}: {e}"));
                continue;
            }
        };
        match Pipeline::parse(&label, &text) {
            Ok(p) => valid.push((label, p)),
            Err(e) => errors.push(custodia_engine::redact_values(&e.to_string())),
        }
    }
    if a.json {
        println!(
            "{}",
            json!({
                "valid": valid.iter().map(|(f, p)| json!({
                    "file": f,
                    "pipeline": p.name,
                    "steps": p.order().iter().map(|s| json!({"id": s.id, "kind": s.kind.name(), "needs": s.needs})).collect::<Vec<_>>(),
                })).collect::<Vec<_>>(),
                "errors": errors,
            })
        );
    } else {
        for (f, p) in &valid {
            let order: Vec<String> = p
                .order()
                .iter()
                .map(|s| format!("{} ({})", s.id, s.kind.name()))
                .collect();
            println!("ok    {f}: pipeline {}: {}", p.name, order.join(" -> "));
        }
        for e in &errors {
            eprintln!("error {e}");
        }
    }
    Ok(if errors.is_empty() { 0 } else { EXIT_USAGE })
}
