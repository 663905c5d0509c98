//! `custodia policy`: evaluate, test and explain Rego decisions.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use custodia_engine::{policy::RecordedDecision, Decision, DecisionInput, Policy, TestResult};
use serde_json::json;

use crate::EXIT_VIOLATIONS;

#[derive(Args)]
pub struct PolicyArgs {
    #[command(subcommand)]
    command: PolicyCommand,
}

#[derive(Subcommand)]
enum PolicyCommand {
    /// Decide a request (purpose, dataset, actor…) and record the decision in the audit log.
    /// Exit 0 allowed, 1 denied, 2 bad input or policy.
    #[command(
        after_help = "Examples:\n  custodia policy eval --input request.json\n  custodia policy eval --input request.json --json\n  custodia policy eval --input request.json --query data.custodia.access.obligations\n\nA request names at least a purpose, a dataset (by name: the registered contract fills\nin region, purposes and columns) and an actor with roles:\n  {\"action\": \"train\", \"purpose\": \"model_training\", \"dataset\": {\"name\": \"customers\"},\n   \"actor\": {\"roles\": [\"ml_engineer\"]}, \"subject_jurisdictions\": [\"gdpr\"]}\nSee docs/policy.md for every field."
    )]
    Eval(EvalArgs),
    /// Run the `test_` rules of policies/*.rego (like `opa test`). Exit 1 if any fails.
    #[command(after_help = "Example:\n  custodia policy test\n  custodia policy test --json")]
    Test(WorkspaceJson),
    /// Show a recorded decision: its request, every denial with the rule and the fix, the
    /// obligations, and which law set the consent bar.
    #[command(after_help = "Example:\n  custodia policy explain 42")]
    Explain(ExplainArgs),
    /// Print the built-in parameters (purposes and legal bases, laws, roles) that
    /// policies/params.json can override.
    #[command(
        after_help = "Example:\n  custodia policy params > policies/params.json   # then edit"
    )]
    Params,
    /// Write the built-in Rego bundle to a folder, to read or to copy rules from.
    #[command(after_help = "Example:\n  custodia policy bundle --out builtin-policy/")]
    Bundle(BundleArgs),
}

#[derive(Args)]
struct EvalArgs {
    /// The request document (JSON).
    #[arg(long)]
    input: PathBuf,
    /// Evaluate this rule or query instead (e.g. data.custodia.jurisdiction.requirements);
    /// prints its value, records nothing.
    #[arg(long)]
    query: Option<String>,
    /// Workspace folder (searched upwards for custodia.toml). Outside one, the built-in
    /// bundle decides and nothing is recorded.
    #[arg(long, default_value = ".")]
    workspace: PathBuf,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
struct WorkspaceJson {
    /// Workspace folder.
    #[arg(long, default_value = ".")]
    workspace: PathBuf,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
struct ExplainArgs {
    /// The decision id `policy eval` printed.
    id: i64,
    /// Workspace folder.
    #[arg(long, default_value = ".")]
    workspace: PathBuf,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
struct BundleArgs {
    /// Folder to write the .rego files and params.json into.
    #[arg(long)]
    out: PathBuf,
}

pub fn run(args: PolicyArgs) -> Result<u8> {
    match args.command {
        PolicyCommand::Eval(a) => eval(a),
        PolicyCommand::Test(a) => test(a),
        PolicyCommand::Explain(a) => explain(a),
        PolicyCommand::Params => {
            print!("{}", custodia_engine::BUILTIN_PARAMS);
            Ok(0)
        }
        PolicyCommand::Bundle(a) => {
            std::fs::create_dir_all(&a.out)
                .with_context(|| format!("creating {}", a.out.display()))?;
            for (path, text) in custodia_engine::BUILTIN_POLICY {
                let name = path.trim_start_matches("builtin/");
                let p = a.out.join(name);
                std::fs::write(&p, text).with_context(|| format!("writing {}", p.display()))?;
            }
            let p = a.out.join("params.json");
            std::fs::write(&p, custodia_engine::BUILTIN_PARAMS)
                .with_context(|| format!("writing {}", p.display()))?;
            println!(
                "wrote {} Rego files and params.json to {}",
                custodia_engine::BUILTIN_POLICY.len(),
                a.out.display()
            );
            Ok(0)
        }
    }
}

fn in_workspace(dir: &std::path::Path) -> Result<bool> {
    Ok(custodia_engine::find_config(dir)?.is_some())
}

fn eval(a: EvalArgs) -> Result<u8> {
    let text = std::fs::read_to_string(&a.input)
        .with_context(|| format!("reading {}", a.input.display()))?;
    let label = a.input.display().to_string();
    if let Some(query) = &a.query {
        let raw: serde_json::Value =
            serde_json::from_str(&text).with_context(|| format!("{label}: not JSON"))?;
        let value = if in_workspace(&a.workspace)? {
            crate::custody::with_workspace(&a.workspace, async |ws| {
                let mut input = DecisionInput::from_json(&label, &text)?;
                ws.complete_input(&mut input).await?;
                let mut policy = ws.policy()?;
                Ok(policy.query(&serde_json::to_value(&input)?, query)?)
            })?
        } else {
            Policy::builtin()?.query(&raw, query)?
        };
        println!("{}", serde_json::to_string_pretty(&value)?);
        return Ok(0);
    }
    let input = DecisionInput::from_json(&label, &text)?;
    if !in_workspace(&a.workspace)? {
        let decision = Policy::builtin()?.decide(&input)?;
        if a.json {
            println!("{}", json!({"recorded": false, "decision": decision}));
        } else {
            eprintln!("note: no workspace here; decided by the built-in bundle and not recorded");
            print_decision(&decision, None);
        }
        return Ok(if decision.allow { 0 } else { EXIT_VIOLATIONS });
    }
    let recorded = crate::custody::with_workspace(&a.workspace, async |ws| {
        let mut policy = ws.policy()?;
        Ok(ws.decide(&mut policy, input).await?)
    })?;
    if a.json {
        println!("{}", recorded_json(&recorded));
    } else {
        print_decision(&recorded.decision, Some(&recorded));
    }
    Ok(if recorded.decision.allow {
        0
    } else {
        EXIT_VIOLATIONS
    })
}

fn recorded_json(r: &RecordedDecision) -> serde_json::Value {
    json!({
        "recorded": true,
        "id": r.id,
        "audit_entry": r.audit_index,
        "policy_digest": r.policy_digest,
        "input": r.input,
        "decision": r.decision,
    })
}

fn print_decision(d: &Decision, recorded: Option<&RecordedDecision>) {
    let verdict = if d.allow { "ALLOWED" } else { "DENIED" };
    match recorded {
        Some(r) => println!(
            "{verdict} — decision {} (audit entry {}), {} {} for {} by {}",
            r.id,
            r.audit_index,
            r.input.action.as_str(),
            r.input.dataset.name,
            r.input.purpose,
            if r.decision.roles.is_empty() {
                "no role".to_string()
            } else {
                r.decision.roles.join(", ")
            }
        ),
        None => println!("{verdict}"),
    }
    for x in &d.denials {
        println!("  deny  {}: {}", x.rule, x.message);
        println!("        fix: {}", x.fix);
    }
    for o in &d.obligations {
        println!("  must  {} [{}]", o.describe(), o.rule());
    }
    let j = &d.jurisdictions;
    if !j.applied.is_empty() {
        println!(
            "  laws  {}; consent bar: {}{}",
            j.applied.join(", "),
            j.consent_level,
            if j.decided_by.is_empty() {
                String::new()
            } else {
                format!(" (set by {})", j.decided_by.join(", "))
            }
        );
    }
    if !d.expired_grants.is_empty() {
        println!("  note  expired grants: {}", d.expired_grants.join(", "));
    }
    if let Some(r) = recorded {
        if !d.allow {
            println!("  explain later: custodia policy explain {}", r.id);
        }
    }
}

fn test(a: WorkspaceJson) -> Result<u8> {
    let Some((root, config)) = custodia_engine::find_config(&a.workspace)? else {
        anyhow::bail!(
            "no custodia.toml in {} or above; run policy tests inside a workspace (custodia init)",
            a.workspace.display()
        );
    };
    let sources = custodia_engine::policy::policy_sources(&root, &config)?;
    let results = Policy::load(&sources)?.run_tests();
    let passed = results
        .iter()
        .filter(|r| r.result == TestResult::Pass)
        .count();
    let failed = results.len() - passed;
    if a.json {
        let rows: Vec<serde_json::Value> = results
            .iter()
            .map(|r| {
                let (status, error) = match &r.result {
                    TestResult::Pass => ("pass", None),
                    TestResult::Fail => ("fail", None),
                    TestResult::Error(e) => ("error", Some(e.as_str())),
                };
                json!({"file": r.path, "test": r.name, "status": status, "error": error})
            })
            .collect();
        println!(
            "{}",
            json!({"passed": passed, "failed": failed, "tests": rows})
        );
    } else {
        for r in &results {
            match &r.result {
                TestResult::Pass => println!("PASS  {}  ({})", r.name, r.path.display()),
                TestResult::Fail => println!("FAIL  {}  ({})", r.name, r.path.display()),
                TestResult::Error(e) => {
                    println!("ERROR {}  ({}): {e}", r.name, r.path.display())
                }
            }
        }
        if results.is_empty() {
            println!("no test_ rules in policies/*.rego");
        } else {
            println!("{passed} passed, {failed} failed");
        }
    }
    Ok(if failed == 0 { 0 } else { EXIT_VIOLATIONS })
}

fn explain(a: ExplainArgs) -> Result<u8> {
    let explained =
        crate::custody::with_workspace(&a.workspace, async |ws| Ok(ws.explain(a.id).await))?;
    let (rec, r) = match explained {
        Ok(x) => x,
        // Verification failed: a gate result, not a usage error.
        Err(custodia_engine::EngineError::Tampered(m)) => {
            eprintln!("FAILED: {m}");
            return Ok(EXIT_VIOLATIONS);
        }
        Err(e) => return Err(e.into()),
    };
    if a.json {
        let mut v = recorded_json(&r);
        v["decided_at"] = json!(custodia_engine::time::format_rfc3339(rec.decided_us));
        println!("{v}");
        return Ok(0);
    }
    println!(
        "decision {} at {} by policy {}",
        r.id,
        custodia_engine::time::format_rfc3339(rec.decided_us),
        &r.policy_digest[..16.min(r.policy_digest.len())]
    );
    println!(
        "request: {} dataset {} (region {}) for {} by {} [{}]",
        r.input.action.as_str(),
        r.input.dataset.name,
        r.input.dataset.region.as_deref().unwrap_or("none"),
        r.input.purpose,
        r.input.actor.id,
        r.input.actor.roles.join(", ")
    );
    print_decision(&r.decision, Some(&r));
    for q in &r.decision.jurisdictions.requirements {
        println!("  why   {} ({}): {}", q.by, q.level, q.why);
    }
    Ok(0)
}
