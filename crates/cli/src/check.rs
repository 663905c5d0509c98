//! `custodia check`: CI gates, rendered as a readable report, JSON, SARIF 2.1.0 (code
//! scanning) or JUnit XML. Exit 0 pass, 1 findings of error severity, 2 usage or input error.

use std::{io::Write, path::PathBuf};

use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand, ValueEnum};
use custodia_engine::check::{CheckReport, Checker, Finding, Severity};
use serde_json::json;

use crate::EXIT_VIOLATIONS;

#[derive(Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct CheckArgs {
    #[command(subcommand)]
    command: Option<CheckCommand>,
    #[command(flatten)]
    repo: RepoArgs,
}

#[derive(Subcommand)]
enum CheckCommand {
    /// Scan datasets and fail on columns above [check] max_uncovered_level (default L1) that
    /// no contract in contracts/ covers.
    #[command(
        after_help = "Examples:\n  custodia check data exports/\n  custodia check data customers.parquet sqlite://app.db --format sarif --output data.sarif"
    )]
    Data(DataArgs),
}

#[derive(Args)]
struct RepoArgs {
    /// Files or folders to check (default: the whole repository at --root).
    paths: Vec<PathBuf>,
    #[command(flatten)]
    out: OutputArgs,
}

#[derive(Args)]
struct DataArgs {
    /// Data files, folders, or sqlite://FILE.db.
    #[arg(required = true)]
    paths: Vec<String>,
    #[command(flatten)]
    out: OutputArgs,
}

#[derive(Args)]
struct OutputArgs {
    /// Repository root: custodia.toml, policies/ and contracts/ are read from here (or the
    /// nearest folder above with a custodia.toml).
    #[arg(long, default_value = ".")]
    root: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
    /// Same as --format json.
    #[arg(long, conflicts_with = "format")]
    json: bool,
    /// Write the report here instead of standard output (e.g. for upload-sarif).
    #[arg(long)]
    output: Option<PathBuf>,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    /// A readable report grouped by file.
    Text,
    /// One JSON document.
    Json,
    /// SARIF 2.1.0, for GitHub code scanning and other SARIF viewers.
    Sarif,
    /// JUnit XML: one test case per file checked.
    Junit,
}

pub fn run(a: CheckArgs) -> Result<u8> {
    let (report, out, root) = match a.command {
        Some(CheckCommand::Data(d)) => {
            let checker = Checker::new(&d.out.root)?;
            let bar = crate::custody::spinner("scanning".into());
            let report = checker.data(&d.paths, |f| bar.set_message(format!("scanning {f}")))?;
            bar.finish_and_clear();
            (report, d.out, checker.root().to_path_buf())
        }
        None => {
            let r = a.repo;
            let mut checker = Checker::new(&r.out.root)?;
            let files = checker.discover(&r.paths)?;
            if files.is_empty() {
                bail!(
                    "nothing to check under {}: no contracts, model cards or code/config files; pass the repository folder",
                    if r.paths.is_empty() {
                        checker.root().display().to_string()
                    } else {
                        r.paths.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ")
                    }
                );
            }
            let bar = crate::custody::spinner(format!("checking {} files", files.len()));
            let report = checker.check_files(&files);
            bar.finish_and_clear();
            (report, r.out, checker.root().to_path_buf())
        }
    };
    let format = if out.json { Format::Json } else { out.format };
    let text = match format {
        Format::Text => text(&report),
        Format::Json => format!("{}\n", json_report(&report)),
        Format::Sarif => format!(
            "{}\n",
            serde_json::to_string_pretty(&sarif(&report, &root))?
        ),
        Format::Junit => junit(&report),
    };
    match &out.output {
        Some(p) => {
            let mut f =
                std::fs::File::create(p).with_context(|| format!("writing {}", p.display()))?;
            f.write_all(text.as_bytes())
                .with_context(|| format!("writing {}", p.display()))?;
            eprintln!("{}", summary(&report));
        }
        None => print!("{text}"),
    }
    Ok(if report.errors() > 0 {
        EXIT_VIOLATIONS
    } else {
        0
    })
}

fn location(f: &Finding) -> String {
    match (f.line, f.column) {
        (0, 0) => f.path.display().to_string(),
        (0, c) => format!("{} (column {c})", f.path.display()),
        (l, 0) => format!("{}:{l}", f.path.display()),
        (l, c) => format!("{}:{l}:{c}", f.path.display()),
    }
}

fn summary(r: &CheckReport) -> String {
    let warnings = r.findings.len() - r.errors();
    format!(
        "{}: {} files checked, {} errors, {} warnings",
        if r.errors() > 0 { "FAILED" } else { "PASSED" },
        r.files.len(),
        r.errors(),
        warnings
    )
}

fn text(r: &CheckReport) -> String {
    let mut s = String::new();
    for f in &r.findings {
        s.push_str(&format!(
            "{}: {} [{}] {}\n    fix: {}\n",
            location(f),
            f.severity.as_str(),
            f.rule,
            f.message,
            f.fix
        ));
    }
    s.push_str(&summary(r));
    s.push('\n');
    s
}

fn json_report(r: &CheckReport) -> serde_json::Value {
    json!({
        "passed": r.errors() == 0,
        "errors": r.errors(),
        "warnings": r.findings.len() - r.errors(),
        "files": r.files.iter().map(|(p, k)| json!({"path": p, "kind": k.as_str()})).collect::<Vec<_>>(),
        "findings": r.findings.iter().map(|f| json!({
            "rule": f.rule, "severity": f.severity.as_str(), "path": f.path,
            "line": f.line, "column": f.column, "message": f.message, "fix": f.fix,
        })).collect::<Vec<_>>(),
    })
}

/// SARIF 2.1.0: one run, a rule per rule id (its fix as help), results with physical
/// locations relative to the repository root (`%SRCROOT%`).
fn sarif(r: &CheckReport, root: &std::path::Path) -> serde_json::Value {
    let mut rules: Vec<(&str, &str)> = r
        .findings
        .iter()
        .map(|f| (f.rule.as_str(), f.fix.as_str()))
        .collect();
    rules.sort();
    rules.dedup_by(|a, b| a.0 == b.0);
    let results: Vec<serde_json::Value> = r
        .findings
        .iter()
        .map(|f| {
            // Inside the root: relative to %SRCROOT%; elsewhere: an absolute file URI.
            let artifact = if f.path.is_absolute() {
                json!({"uri": format!("file://{}", uri(&f.path))})
            } else {
                json!({"uri": uri(&f.path), "uriBaseId": "%SRCROOT%"})
            };
            let mut physical = json!({ "artifactLocation": artifact });
            if f.line > 0 {
                physical["region"] = json!({"startLine": f.line, "startColumn": f.column.max(1)});
            }
            json!({
                "ruleId": f.rule,
                "ruleIndex": rules.iter().position(|(id, _)| *id == f.rule),
                "level": match f.severity { Severity::Error => "error", Severity::Warning => "warning" },
                "message": {"text": format!("{} Fix: {}", f.message, f.fix)},
                "locations": [{"physicalLocation": physical}],
            })
        })
        .collect();
    json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "custodia",
                "version": env!("CARGO_PKG_VERSION"),
                "informationUri": "https://example.invalid/custodia/docs/check.md",
                "rules": rules.iter().map(|(id, fix)| json!({
                    "id": id,
                    "shortDescription": {"text": id},
                    "help": {"text": fix},
                })).collect::<Vec<_>>(),
            }},
            "originalUriBaseIds": {"%SRCROOT%": {"uri": format!("file://{}/", root.display())}},
            "results": results,
        }]
    })
}

/// A path as a URI reference: `/`-separated, every byte outside RFC 3986's unreserved
/// set percent-encoded.
fn uri(p: &std::path::Path) -> String {
    let text = p.to_string_lossy();
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn xml_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c if (c as u32) < 0x20 && !matches!(c, '\n' | '\t') => {}
            c => out.push(c),
        }
    }
    out
}

/// JUnit XML: a test case per file checked; its error findings are failures, warnings go
/// to system-out.
fn junit(r: &CheckReport) -> String {
    let failing: std::collections::BTreeSet<&std::path::Path> = r
        .findings
        .iter()
        .filter(|f| f.severity == Severity::Error)
        .map(|f| f.path.as_path())
        .collect();
    let mut s = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    s.push_str(&format!(
        "<testsuites name=\"custodia check\" tests=\"{}\" failures=\"{}\">\n  <testsuite name=\"custodia check\" tests=\"{}\" failures=\"{}\">\n",
        r.files.len(),
        failing.len(),
        r.files.len(),
        failing.len()
    ));
    for (path, kind) in &r.files {
        let here: Vec<&Finding> = r.findings.iter().filter(|f| &f.path == path).collect();
        s.push_str(&format!(
            "    <testcase classname=\"{}\" name=\"{}\">\n",
            xml_escape(kind.as_str()),
            xml_escape(&path.display().to_string())
        ));
        for f in here.iter().filter(|f| f.severity == Severity::Error) {
            s.push_str(&format!(
                "      <failure type=\"{}\" message=\"{}\">{}: {}\nfix: {}</failure>\n",
                xml_escape(&f.rule),
                xml_escape(&f.message),
                xml_escape(&location(f)),
                xml_escape(&f.message),
                xml_escape(&f.fix)
            ));
        }
        let warnings: Vec<String> = here
            .iter()
            .filter(|f| f.severity == Severity::Warning)
            .map(|f| format!("warning [{}] {}: {}", f.rule, location(f), f.message))
            .collect();
        if !warnings.is_empty() {
            s.push_str(&format!(
                "      <system-out>{}</system-out>\n",
                xml_escape(&warnings.join("\n"))
            ));
        }
        s.push_str("    </testcase>\n");
    }
    s.push_str("  </testsuite>\n</testsuites>\n");
    s
}
