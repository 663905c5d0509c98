//! `custodia`: the command line. Thin: parse flags, call the engine, render results.
//!
//! Exit codes (documented in `custodia --help` and README.md):
//! 0 success; 1 a gate failed (`scan --fail-on`, `check`), a log or an erasure certificate
//! failed verification (`audit verify`, `dsar verify-certificate`), a subject is still found
//! (`dsar verify-erasure`), an external system has not confirmed (`dsar run`…), consent is
//! denied (`consent check`) or policy denies (`policy eval`);
//! 2 usage or input error.

mod check;
mod commands;
mod custody;
mod demo;
mod demo_ml;
mod dsar;
mod lineage;
mod models;
mod pipeline;
mod policy;
mod report;
mod retention;
mod run;
mod snapshot;

use std::process::ExitCode;

use clap::Parser;

/// Exit code for a gate that found violations.
pub const EXIT_VIOLATIONS: u8 = 1;
/// Exit code for bad usage or bad input.
pub const EXIT_USAGE: u8 = 2;

fn main() -> ExitCode {
    let cli = commands::Cli::parse();
    match commands::run(cli) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("error: {}", render_error(&e));
            ExitCode::from(EXIT_USAGE)
        }
    }
}

/// The error and its causes, each once (a cause whose text its parent already quotes is
/// skipped), with any personal value or secret an input parser quoted replaced by its type.
fn render_error(e: &anyhow::Error) -> String {
    let mut out = String::new();
    for cause in e.chain() {
        let text = cause.to_string();
        if !out.contains(&text) {
            if !out.is_empty() {
                out.push_str(": ");
            }
            out.push_str(&text);
        }
    }
    custodia_engine::redact_values(&out)
}
