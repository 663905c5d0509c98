//! Workspace, subject, key and audit commands: `init`, `subject`, `keys`, `audit`.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand};
use comfy_table::{presets::UTF8_FULL_CONDENSED, Table};
use custodia_core::{Region, SubjectId, SubjectKind, SubjectRef};
use custodia_engine::{audit_log, InitOptions, Workspace};
use serde_json::json;

use crate::EXIT_VIOLATIONS;

/// A spinner on standard error for work that can take a while (a million-row import, a
/// large export); hidden when standard error is not a terminal.
pub fn spinner(message: String) -> indicatif::ProgressBar {
    let bar = indicatif::ProgressBar::new_spinner();
    bar.set_draw_target(indicatif::ProgressDrawTarget::stderr());
    bar.set_message(message);
    bar.enable_steady_tick(std::time::Duration::from_millis(120));
    bar
}

/// Runs an async engine call on a runtime made for this command.
pub fn block_on<T>(f: impl std::future::Future<Output = Result<T>>) -> Result<T> {
    // One worker per core: DataFusion runs a plan's partitions as tasks on this runtime.
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?
        .block_on(f)
}

/// Opens the workspace at or above `dir` and runs `f` on it: what nearly every custody
/// command does.
pub fn with_workspace<T>(dir: &Path, f: impl AsyncFnOnce(&Workspace) -> Result<T>) -> Result<T> {
    block_on(async {
        let ws = Workspace::open(dir).await?;
        f(&ws).await
    })
}

#[derive(Args)]
pub struct InitArgs {
    /// Folder to make a workspace (created if missing).
    #[arg(default_value = ".")]
    dir: PathBuf,
    /// Regions, each with its own keys (repeatable; default eu and us).
    #[arg(long = "region")]
    regions: Vec<String>,
    /// Metadata store URL (default sqlite://.custodia/custodia.db).
    #[arg(long)]
    store: Option<String>,
    /// Print the result as JSON.
    #[arg(long)]
    json: bool,
}

pub fn init(args: InitArgs) -> Result<u8> {
    let regions = if args.regions.is_empty() {
        None
    } else {
        Some(
            args.regions
                .iter()
                .map(|r| Region::new(r))
                .collect::<Result<Vec<_>, _>>()?,
        )
    };
    let (ws, report) = block_on(async {
        Ok(Workspace::init(
            &args.dir,
            InitOptions {
                regions,
                store_url: args.store.clone(),
            },
        )
        .await?)
    })?;
    let regions: Vec<&str> = report.config.regions.iter().map(Region::as_str).collect();
    if args.json {
        println!(
            "{}",
            json!({
                "workspace": ws.root(),
                "existed": report.existed,
                "created": report.created,
                "store": ws.store_kind(),
                "regions": regions,
                "master_key_created": report.master_key_created,
            })
        );
    } else {
        let verb = if report.existed { "Checked" } else { "Created" };
        println!("{verb} workspace {}", ws.root().display());
        println!(
            "  store:    {} ({})",
            report.config.store_url,
            ws.store_kind()
        );
        println!("  regions:  {}", regions.join(", "));
        if report.master_key_created {
            println!("  master key: .custodia/keys/master.key (0600) — back it up; losing it loses every pseudonym");
        }
        println!("Next: put contracts in contracts/ and run `custodia contract apply contracts/`.");
    }
    Ok(0)
}

#[derive(Args)]
pub struct SubjectArgs {
    #[command(subcommand)]
    command: SubjectCommand,
}

#[derive(Subcommand)]
enum SubjectCommand {
    /// Print a subject's SubjectRef (the keyed pseudonym Custodia uses everywhere).
    #[command(
        after_help = "Examples:\n  custodia subject ref --email ana@example.com\n  custodia subject ref --phone \"+44 20 7946 0958\" --region eu\n  custodia subject ref customer_id:C-1042 --json"
    )]
    Ref(SubjectRefArgs),
}

#[derive(Args)]
#[group(required = true, multiple = false)]
struct SubjectIdArgs {
    /// The identifier as kind:value (email:…, phone:+…, customer_id:…).
    id: Option<String>,
    /// An e-mail address (trimmed, lower-cased).
    #[arg(long)]
    email: Option<String>,
    /// A phone number with its country code (canonicalised to E.164).
    #[arg(long)]
    phone: Option<String>,
    /// A customer id (taken as is).
    #[arg(long)]
    customer_id: Option<String>,
}

impl SubjectIdArgs {
    fn subject(&self) -> Result<SubjectId> {
        Ok(
            match (&self.id, &self.email, &self.phone, &self.customer_id) {
                (Some(id), ..) => SubjectId::parse(id)?,
                (_, Some(e), ..) => SubjectId::new(SubjectKind::Email, e)?,
                (_, _, Some(p), _) => SubjectId::new(SubjectKind::Phone, p)?,
                (_, _, _, Some(c)) => SubjectId::new(SubjectKind::CustomerId, c)?,
                _ => bail!("name the subject: --email, --phone, --customer-id or kind:value"),
            },
        )
    }
}

#[derive(Args)]
struct SubjectRefArgs {
    #[command(flatten)]
    id: SubjectIdArgs,
    /// Region whose key computes the ref (default: the first configured).
    #[arg(long)]
    region: Option<String>,
    /// Workspace folder.
    #[arg(long, default_value = ".")]
    workspace: PathBuf,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

pub fn subject(args: SubjectArgs) -> Result<u8> {
    match args.command {
        SubjectCommand::Ref(a) => {
            let id = a.id.subject()?;
            let (r, region) = with_workspace(&a.workspace, async |ws| {
                let region = ws.region(a.region.as_deref())?;
                Ok((ws.subject_ref(&id, &region), region))
            })?;
            if a.json {
                println!(
                    "{}",
                    json!({"subject_ref": r.as_str(), "kind": id.kind().as_str(), "region": region.as_str()})
                );
            } else {
                println!("{r}");
            }
            Ok(0)
        }
    }
}

#[derive(Args)]
pub struct KeysArgs {
    #[command(subcommand)]
    command: KeysCommand,
}

#[derive(Subcommand)]
enum KeysCommand {
    /// Destroy a subject's data key (crypto-shredding): every copy of fields encrypted with
    /// it, in any file or backup, stops decrypting. Irreversible.
    #[command(
        after_help = "Examples:\n  custodia keys shred email:ana@example.com --region eu\n  custodia keys shred 3f1c…(64 hex SubjectRef)"
    )]
    Shred(ShredArgs),
    /// Add a new key version to a region and re-wrap every subject key under it.
    /// SubjectRefs do not change.
    #[command(after_help = "Example:\n  custodia keys rotate --region eu")]
    Rotate(RotateArgs),
}

#[derive(Args)]
struct ShredArgs {
    /// The subject: a SubjectRef (64 hex digits) or kind:value.
    subject: String,
    /// Region of the key (default: the first configured).
    #[arg(long)]
    region: Option<String>,
    /// Workspace folder.
    #[arg(long, default_value = ".")]
    workspace: PathBuf,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
struct RotateArgs {
    /// Region to rotate.
    #[arg(long)]
    region: String,
    /// Workspace folder.
    #[arg(long, default_value = ".")]
    workspace: PathBuf,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

/// A subject given as a ref or as kind:value, resolved in `region`.
fn subject_ref_of(ws: &Workspace, text: &str, region: &Region) -> Result<SubjectRef> {
    if let Ok(r) = SubjectRef::parse(text) {
        return Ok(r);
    }
    Ok(ws.subject_ref(&SubjectId::parse(text)?, region))
}

pub fn keys(args: KeysArgs) -> Result<u8> {
    match args.command {
        KeysCommand::Shred(a) => {
            let (r, existed) = with_workspace(&a.workspace, async |ws| {
                let region = ws.region(a.region.as_deref())?;
                let r = subject_ref_of(ws, &a.subject, &region)?;
                // Refs are per region: a subject named by identifier has another ref (and
                // maybe their key) elsewhere. Shredding the wrong region would report success
                // and leave the real key in place.
                if let Ok(id) = SubjectId::parse(&a.subject) {
                    let here = ws.store().subject_key(region.as_str(), r.as_str()).await?;
                    if here == custodia_engine::SubjectKeyLookup::Missing {
                        for other in ws.config().regions.iter().filter(|o| **o != region) {
                            let r2 = ws.subject_ref(&id, other);
                            if let custodia_engine::SubjectKeyLookup::Found(_) =
                                ws.store().subject_key(other.as_str(), r2.as_str()).await?
                            {
                                bail!(
                                    "this subject has no key in region {region} but has one in region {other}; rerun with --region {other}"
                                );
                            }
                        }
                    }
                }
                let existed = ws.shred_subject(&region, &r).await?;
                Ok((r, existed))
            })?;
            if a.json {
                println!(
                    "{}",
                    json!({"subject_ref": r.as_str(), "shredded": true, "key_existed": existed})
                );
            } else if existed {
                println!("Shredded the data key of subject {r}: their encrypted fields no longer decrypt anywhere.");
            } else {
                println!("Subject {r} had no data key (never created or already shredded); recorded as shredded.");
            }
            Ok(0)
        }
        KeysCommand::Rotate(a) => {
            let (version, n) = with_workspace(&a.workspace, async |ws| {
                let region = ws.region(Some(&a.region))?;
                Ok(ws.rotate_region(&region).await?)
            })?;
            if a.json {
                println!(
                    "{}",
                    json!({"region": a.region, "key_version": version, "keys_rewrapped": n})
                );
            } else {
                println!("Region {} now uses key version {version}; re-wrapped {n} subject keys. SubjectRefs are unchanged.", a.region);
            }
            Ok(0)
        }
    }
}

#[derive(Args)]
pub struct AuditArgs {
    #[command(subcommand)]
    command: AuditCommand,
}

#[derive(Subcommand)]
enum AuditCommand {
    /// List audit entries.
    #[command(
        after_help = "Examples:\n  custodia audit log\n  custodia audit log --from 100 --limit 20 --json"
    )]
    Log(AuditLogArgs),
    /// Sign a checkpoint over the current log (C2SP tlog-checkpoint, Ed25519 signed note).
    #[command(
        after_help = "Examples:\n  custodia audit checkpoint\n  custodia audit checkpoint --json > kept-2026-11-23.json\n\nKeep a copy outside the workspace: `audit verify --trusted-checkpoint` checks later exports against it."
    )]
    Checkpoint(WorkspaceOnly),
    /// Print an entry with its inclusion proof against the latest signed checkpoint.
    #[command(after_help = "Example:\n  custodia audit prove 17 --json")]
    Prove(ProveArgs),
    /// Write the log for an auditor: entries, signed checkpoints, public key.
    #[command(after_help = "Example:\n  custodia audit export audit-2026-11/")]
    Export(ExportArgs),
    /// Verify an export offline; exit 1 naming the first bad entry if anything was altered,
    /// removed, reordered or inserted.
    #[command(
        after_help = "Examples:\n  custodia audit verify audit-2026-11/ --pubkey audit-2026-11/audit.vkey\n  custodia audit verify audit-2026-12/ --pubkey published.vkey \\\n      --trusted-checkpoint audit-2026-11/checkpoints/000041.note\n\nThe key must come from the log's owner out of band; the copy in the export proves nothing.\nKeep the last checkpoint of each export: passing it next time proves nothing was cut off the end."
    )]
    Verify(VerifyArgs),
}

#[derive(Args)]
struct WorkspaceOnly {
    /// Workspace folder.
    #[arg(long, default_value = ".")]
    workspace: PathBuf,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
struct AuditLogArgs {
    /// First entry.
    #[arg(long, default_value_t = 0)]
    from: u64,
    /// Entries at most.
    #[arg(long, default_value_t = 1000)]
    limit: u64,
    /// Workspace folder.
    #[arg(long, default_value = ".")]
    workspace: PathBuf,
    /// One JSON entry per line.
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
struct ProveArgs {
    /// Entry index.
    entry: u64,
    /// Workspace folder.
    #[arg(long, default_value = ".")]
    workspace: PathBuf,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
struct ExportArgs {
    /// Folder to write (created).
    dir: PathBuf,
    /// Workspace folder.
    #[arg(long, default_value = ".")]
    workspace: PathBuf,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
struct VerifyArgs {
    /// An export folder.
    dir: PathBuf,
    /// The verifier key: a file holding it, or the key text (name+id+base64).
    #[arg(long)]
    pubkey: String,
    /// The log origin the checkpoints must name (default: the key's name).
    #[arg(long)]
    origin: Option<String>,
    /// A checkpoint you kept from an earlier export or that the owner published (repeatable).
    /// The export must extend it; without one, a log whose newest entries were cut off
    /// together with their checkpoints still verifies.
    #[arg(long = "trusted-checkpoint", value_name = "FILE")]
    trusted: Vec<PathBuf>,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

fn hex32(h: &[u8; 32]) -> String {
    h.iter().map(|b| format!("{b:02x}")).collect()
}

pub fn audit(args: AuditArgs) -> Result<u8> {
    match args.command {
        AuditCommand::Log(a) => {
            let entries = with_workspace(&a.workspace, async |ws| {
                Ok(audit_log::entries(ws.store(), a.from, a.limit).await?)
            })?;
            if a.json {
                for e in &entries {
                    println!("{}", String::from_utf8_lossy(&e.canonical_bytes()));
                }
            } else {
                let mut t = Table::new();
                t.load_preset(UTF8_FULL_CONDENSED);
                t.set_header([
                    "#", "time", "actor", "action", "object", "subjects", "counts",
                ]);
                for e in &entries {
                    let counts: Vec<String> =
                        e.counts.iter().map(|(k, v)| format!("{k}={v}")).collect();
                    let subjects = match e.subjects.len() {
                        0 => String::new(),
                        1 => format!("{}…", &e.subjects[0][..12.min(e.subjects[0].len())]),
                        n => format!("{n} subjects"),
                    };
                    t.add_row([
                        e.index.to_string(),
                        e.time.clone(),
                        e.actor.clone(),
                        e.action.clone(),
                        e.object.clone(),
                        subjects,
                        counts.join(" "),
                    ]);
                }
                println!("{t}");
            }
            Ok(0)
        }
        AuditCommand::Checkpoint(a) => {
            let note =
                with_workspace(
                    &a.workspace,
                    async |ws| Ok(audit_log::checkpoint(ws).await?),
                )?;
            if a.json {
                println!("{}", json!({"checkpoint": note}));
            } else {
                print!("{note}");
            }
            Ok(0)
        }
        AuditCommand::Prove(a) => {
            let proof = with_workspace(&a.workspace, async |ws| {
                Ok(audit_log::prove(ws, a.entry).await?)
            })?;
            let path: Vec<String> = proof.path.iter().map(hex32).collect();
            if a.json {
                println!(
                    "{}",
                    json!({
                        "entry": serde_json::from_slice::<serde_json::Value>(&proof.entry.canonical_bytes())?,
                        // The exact bytes the leaf hash covers (JSON objects above may be reordered).
                        "entry_canonical": String::from_utf8_lossy(&proof.entry.canonical_bytes()),
                        "leaf_hash": hex32(&proof.leaf),
                        "tree_size": proof.size,
                        "inclusion_proof": path,
                        "checkpoint": proof.checkpoint,
                    })
                );
            } else {
                println!(
                    "entry {} ({}) is in the log of {} entries",
                    proof.entry.index, proof.entry.action, proof.size
                );
                println!("leaf hash: {}", hex32(&proof.leaf));
                println!("inclusion proof (RFC 9162, leaf to root):");
                for p in path {
                    println!("  {p}");
                }
                println!("against the signed checkpoint:\n{}", proof.checkpoint);
            }
            Ok(0)
        }
        AuditCommand::Export(a) => {
            let bar = spinner(format!("exporting the audit log to {}", a.dir.display()));
            let exported = with_workspace(&a.workspace, async |ws| {
                Ok(audit_log::export(ws, &a.dir).await?)
            });
            bar.finish_and_clear();
            let (n, c) = exported?;
            if a.json {
                println!("{}", json!({"dir": a.dir, "entries": n, "checkpoints": c}));
            } else {
                println!(
                    "Exported {n} entries and {c} signed checkpoints to {}",
                    a.dir.display()
                );
                println!(
                    "An auditor runs: custodia audit verify {} --pubkey <published audit.vkey>",
                    a.dir.display()
                );
            }
            Ok(0)
        }
        AuditCommand::Verify(a) => verify(a),
    }
}

fn read_key(arg: &str) -> Result<String> {
    let p = Path::new(arg);
    if p.is_file() {
        return std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()));
    }
    if arg.contains('+') {
        return Ok(arg.to_string());
    }
    bail!("--pubkey {arg:?} is neither a file nor a key (name+keyid+base64); use the audit.vkey the log's owner published")
}

fn verify(a: VerifyArgs) -> Result<u8> {
    let key = read_key(&a.pubkey)?;
    match audit_log::verify_dir(&a.dir, &key, a.origin.as_deref(), &a.trusted) {
        Ok(report) => {
            if a.json {
                println!(
                    "{}",
                    json!({"ok": true, "entries": report.entries, "checkpoints": report.checkpoints, "checkpointed": report.checkpointed, "trusted_checkpoints": a.trusted.len(), "root": hex32(&report.root)})
                );
            } else {
                println!(
                    "OK: {} entries, {} signed checkpoints, consistent; latest root {}",
                    report.entries,
                    report.checkpoints,
                    hex32(&report.root)
                );
            }
            Ok(0)
        }
        Err(custodia_engine::EngineError::Audit(e)) => {
            let first = e.first_bad_entry();
            if a.json {
                println!(
                    "{}",
                    json!({"ok": false, "first_bad_entry": first, "error": e.to_string()})
                );
            } else {
                eprintln!("FAILED: {e}");
                if let Some(i) = first {
                    eprintln!("first bad entry: {i}");
                }
            }
            Ok(EXIT_VIOLATIONS)
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Args)]
pub struct ContractArgs {
    #[command(subcommand)]
    command: ContractCommand,
}

#[derive(Subcommand)]
enum ContractCommand {
    /// Check contract files: errors name file:line:column and the fix. Exit 2 on any error.
    #[command(
        after_help = "Examples:\n  custodia contract validate contracts/\n  custodia contract validate contracts/orders.yaml --workspace ."
    )]
    Validate(ContractValidateArgs),
    /// Register contracts in the workspace: a new version for each that changed (audited).
    #[command(after_help = "Example:\n  custodia contract apply contracts/")]
    Apply(ContractPathsArgs),
    /// List registered contracts (latest versions).
    #[command(
        after_help = "Examples:\n  custodia contract list\n  custodia contract list --json\n\nSee every version of one with `custodia contract show NAME`."
    )]
    List(WorkspaceOnly),
    /// Show a registered contract's versions and its latest text.
    #[command(after_help = "Example:\n  custodia contract show orders")]
    Show(ContractShowArgs),
}

#[derive(Args)]
struct ContractValidateArgs {
    /// Contract files or folders.
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    /// Also check regions against this workspace (when a custodia.toml is found here).
    #[arg(long, default_value = ".")]
    workspace: PathBuf,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
struct ContractPathsArgs {
    /// Contract files or folders.
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    /// Workspace folder.
    #[arg(long, default_value = ".")]
    workspace: PathBuf,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
struct ContractShowArgs {
    /// Contract (dataset) name.
    name: String,
    /// Workspace folder.
    #[arg(long, default_value = ".")]
    workspace: PathBuf,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

pub fn contract(args: ContractArgs) -> Result<u8> {
    use custodia_engine::contracts;
    use custodia_engine::Registered;
    match args.command {
        ContractCommand::Validate(a) => {
            let config = custodia_engine::find_config(&a.workspace)?.map(|(_, c)| c);
            if config.is_none() && !a.json {
                eprintln!("note: no workspace here; regions and purposes are not checked (pass --workspace DIR to check them)");
            }
            let files = contracts::contract_files(&a.paths)?;
            let mut errors = Vec::new();
            let mut ok = Vec::new();
            for (f, r) in contracts::validate_all(&files, config.as_ref()) {
                match r {
                    Ok(c) => ok.push((f, c.dataset)),
                    Err(e) => errors.push(e.to_string()),
                }
            }
            if a.json {
                println!(
                    "{}",
                    json!({
                        "valid": ok.iter().map(|(f, d)| json!({"file": f, "dataset": d})).collect::<Vec<_>>(),
                        "errors": errors,
                    })
                );
            } else {
                for (f, d) in &ok {
                    println!("ok    {} (dataset {d})", f.display());
                }
                for e in &errors {
                    eprintln!("error {e}");
                }
            }
            if files.is_empty() {
                bail!("no contract files found in the given paths");
            }
            Ok(if errors.is_empty() {
                0
            } else {
                crate::EXIT_USAGE
            })
        }
        ContractCommand::Apply(a) => {
            let applied = with_workspace(&a.workspace, async |ws| {
                Ok(ws.apply_contracts(&a.paths).await?)
            })?;
            let describe = |o: &Registered| match o {
                Registered::New(v) => ("new", *v),
                Registered::Changed(v) => ("changed", *v),
                Registered::Unchanged(v) => ("unchanged", *v),
            };
            if a.json {
                let items: Vec<_> = applied
                    .iter()
                    .map(|x| {
                        let (what, v) = describe(&x.outcome);
                        json!({"file": x.path, "dataset": x.dataset, "outcome": what, "version": v})
                    })
                    .collect();
                println!("{}", json!({ "applied": items }));
            } else {
                for x in &applied {
                    let (what, v) = describe(&x.outcome);
                    println!("{:<10} {} v{v} ({})", what, x.dataset, x.path.display());
                }
            }
            Ok(0)
        }
        ContractCommand::List(a) => {
            let list = with_workspace(&a.workspace, async |ws| Ok(ws.contracts().await?))?;
            if a.json {
                let items: Vec<_> = list
                    .iter()
                    .map(|c| json!({"name": c.name, "version": c.version, "sha256": c.content_hash, "registered": custodia_engine::time::format_rfc3339(c.registered_us)}))
                    .collect();
                println!("{}", json!({ "contracts": items }));
            } else {
                let mut t = Table::new();
                t.load_preset(UTF8_FULL_CONDENSED);
                t.set_header(["contract", "version", "registered", "sha256"]);
                for c in &list {
                    t.add_row([
                        c.name.clone(),
                        c.version.to_string(),
                        custodia_engine::time::format_rfc3339(c.registered_us),
                        c.content_hash[..12].to_string(),
                    ]);
                }
                println!("{t}");
            }
            Ok(0)
        }
        ContractCommand::Show(a) => {
            let versions = with_workspace(&a.workspace, async |ws| {
                Ok(ws.contract_versions(&a.name).await?)
            })?;
            let latest = versions.last().expect("at least one version");
            if a.json {
                let items: Vec<_> = versions
                    .iter()
                    .map(|c| json!({"version": c.version, "sha256": c.content_hash, "registered": custodia_engine::time::format_rfc3339(c.registered_us)}))
                    .collect();
                println!(
                    "{}",
                    json!({"name": a.name, "versions": items, "latest": latest.body})
                );
            } else {
                for c in &versions {
                    println!(
                        "v{} registered {} sha256 {}",
                        c.version,
                        custodia_engine::time::format_rfc3339(c.registered_us),
                        c.content_hash
                    );
                }
                println!("--- v{} ---\n{}", latest.version, latest.body);
            }
            Ok(0)
        }
    }
}

#[derive(Args)]
pub struct ConsentArgs {
    #[command(subcommand)]
    command: ConsentCommand,
}

#[derive(Subcommand)]
enum ConsentCommand {
    /// Record that a subject granted a purpose.
    #[command(
        after_help = "Example:\n  custodia consent grant --subject email:ana@example.com --purpose personalization --jurisdiction eu"
    )]
    Grant(ConsentChangeArgs),
    /// Record that a subject withdrew a purpose.
    #[command(
        after_help = "Example:\n  custodia consent withdraw --subject email:ana@example.com --purpose personalization"
    )]
    Withdraw(ConsentChangeArgs),
    /// Import a consent management platform's CSV export (all rows or none).
    #[command(
        after_help = "Example:\n  custodia consent import cmp-export.csv --jurisdiction eu\n\nColumns: subject (kind:value) or email/phone/customer_id; purpose; status\n(granted|withdrawn|opt_in|opt_out|yes|no); timestamp (RFC 3339); optional source,\njurisdiction, gpc (true = Global Privacy Control: opt-out of sale/sharing under CCPA/CPRA)."
    )]
    Import(ConsentImportArgs),
    /// May this subject's data be used for this purpose (now, or --at TIME)? Exit 1 if not.
    #[command(
        after_help = "Example:\n  custodia consent check --subject email:ana@example.com --purpose personalization --at 2026-06-01T00:00:00Z"
    )]
    Check(ConsentCheckArgs),
    /// Write the ledger (SubjectRefs, never identifiers) as JSONL.
    #[command(after_help = "Example:\n  custodia consent export --out consent.jsonl")]
    Export(ConsentExportArgs),
}

#[derive(Args)]
struct ConsentChangeArgs {
    /// The subject as kind:value (email:…, phone:+…, customer_id:…).
    #[arg(long)]
    subject: String,
    /// Purpose name.
    #[arg(long)]
    purpose: String,
    /// Jurisdiction code (eu, uk, us-ca, br, cn…).
    #[arg(long, default_value = "eu")]
    jurisdiction: String,
    /// Where the event came from.
    #[arg(long, default_value = "cli")]
    source: String,
    /// When it took effect (RFC 3339; default now).
    #[arg(long)]
    at: Option<String>,
    /// Region whose key computes the subject's ref (default: the first configured).
    #[arg(long)]
    region: Option<String>,
    /// Workspace folder.
    #[arg(long, default_value = ".")]
    workspace: PathBuf,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
struct ConsentImportArgs {
    /// CSV file.
    file: PathBuf,
    /// Jurisdiction for rows without one.
    #[arg(long, default_value = "eu")]
    jurisdiction: String,
    /// Region whose key computes subjects' refs.
    #[arg(long)]
    region: Option<String>,
    /// Workspace folder.
    #[arg(long, default_value = ".")]
    workspace: PathBuf,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
struct ConsentCheckArgs {
    /// The subject as kind:value.
    #[arg(long)]
    subject: String,
    /// Purpose name.
    #[arg(long)]
    purpose: String,
    /// Point in time (RFC 3339; default now).
    #[arg(long)]
    at: Option<String>,
    /// Region whose key computes the subject's ref.
    #[arg(long)]
    region: Option<String>,
    /// Workspace folder.
    #[arg(long, default_value = ".")]
    workspace: PathBuf,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
struct ConsentExportArgs {
    /// Output JSONL file (written atomically); `-` for standard output.
    #[arg(long, default_value = "-")]
    out: PathBuf,
    /// Only this purpose.
    #[arg(long)]
    purpose: Option<String>,
    /// Workspace folder.
    #[arg(long, default_value = ".")]
    workspace: PathBuf,
}

fn event_json(e: &custodia_engine::ConsentEvent) -> serde_json::Value {
    use custodia_engine::time::format_rfc3339;
    json!({
        "id": e.id,
        "subject_ref": e.subject_ref,
        "purpose": e.purpose,
        "status": if e.granted { "granted" } else { "withdrawn" },
        "at": format_rfc3339(e.at_us),
        "source": e.source,
        "jurisdiction": e.jurisdiction,
        "recorded": format_rfc3339(e.recorded_us),
    })
}

pub fn consent(args: ConsentArgs) -> Result<u8> {
    use custodia_core::Purpose;
    use custodia_engine::ConsentState;
    use custodia_engine::{consent::Decision, time::parse_rfc3339};
    let at = |t: &Option<String>| -> Result<Option<i64>> {
        t.as_deref()
            .map(parse_rfc3339)
            .transpose()
            .map_err(|e| anyhow::anyhow!("--at: {e}"))
    };
    match args.command {
        ConsentCommand::Grant(a) => consent_change(a, Decision::Grant, at),
        ConsentCommand::Withdraw(a) => consent_change(a, Decision::Withdraw, at),
        ConsentCommand::Import(a) => {
            let bar = spinner(format!("importing {}", a.file.display()));
            let report = with_workspace(&a.workspace, async |ws| {
                let region = ws.region(a.region.as_deref())?;
                Ok(ws.consent_import(&region, &a.file, &a.jurisdiction).await?)
            });
            bar.finish_and_clear();
            let report = report?;
            if a.json {
                println!(
                    "{}",
                    json!({"rows": report.rows, "events": report.events, "grants": report.grants, "withdrawals": report.withdrawals, "gpc_opt_outs": report.gpc_opt_outs})
                );
            } else {
                println!(
                    "Imported {} rows: {} events ({} grants, {} withdrawals, {} GPC opt-outs of sale/sharing).",
                    report.rows, report.events, report.grants, report.withdrawals, report.gpc_opt_outs
                );
            }
            Ok(0)
        }
        ConsentCommand::Check(a) => {
            let id = SubjectId::parse(&a.subject)?;
            let purpose = Purpose::new(&a.purpose)?;
            let when = at(&a.at)?;
            let (r, state) = with_workspace(&a.workspace, async |ws| {
                let region = ws.region(a.region.as_deref())?;
                Ok(ws.consent_check(&region, &id, &purpose, when).await?)
            })?;
            let (allowed, decided_by) = match &state {
                ConsentState::Granted(e) => (true, Some(e)),
                ConsentState::Withdrawn(e) => (false, Some(e)),
                _ => (false, None),
            };
            if a.json {
                println!(
                    "{}",
                    json!({"subject_ref": r.as_str(), "purpose": a.purpose, "allowed": allowed, "decided_by": decided_by.map(event_json)})
                );
            } else {
                match decided_by {
                    Some(e) => println!(
                        "{} — consent for {} {} at {} (event #{}, source {}, jurisdiction {})",
                        if allowed { "ALLOWED" } else { "DENIED" },
                        a.purpose,
                        if e.granted { "granted" } else { "withdrawn" },
                        custodia_engine::time::format_rfc3339(e.at_us),
                        e.id,
                        e.source,
                        e.jurisdiction
                    ),
                    None => println!("DENIED — no consent event for {} from subject {r} at that time (deny by default)", a.purpose),
                }
            }
            Ok(if allowed { 0 } else { EXIT_VIOLATIONS })
        }
        ConsentCommand::Export(a) => {
            let events = with_workspace(&a.workspace, async |ws| {
                Ok(ws.store().consent_events(a.purpose.as_deref()).await?)
            })?;
            let mut body = String::new();
            for e in &events {
                body.push_str(&event_json(e).to_string());
                body.push('\n');
            }
            if a.out.as_os_str() == "-" {
                print!("{body}");
            } else {
                custodia_engine::write_file_atomic(&a.out, body.as_bytes())?;
                eprintln!("Wrote {} events to {}", events.len(), a.out.display());
            }
            Ok(0)
        }
    }
}

fn consent_change(
    a: ConsentChangeArgs,
    decision: custodia_engine::consent::Decision,
    at: impl Fn(&Option<String>) -> Result<Option<i64>>,
) -> Result<u8> {
    use custodia_core::Purpose;
    use custodia_engine::consent::ConsentChange;
    let change = ConsentChange {
        subject: SubjectId::parse(&a.subject)?,
        purpose: Purpose::new(&a.purpose)?,
        decision,
        at_us: at(&a.at)?,
        source: a.source.clone(),
        jurisdiction: a.jurisdiction.to_ascii_lowercase(),
    };
    let r = with_workspace(&a.workspace, async |ws| {
        let region = ws.region(a.region.as_deref())?;
        Ok(ws.consent_record(&region, change).await?)
    })?;
    let verb = match decision {
        custodia_engine::consent::Decision::Grant => "granted",
        custodia_engine::consent::Decision::Withdraw => "withdrawn",
    };
    if a.json {
        println!(
            "{}",
            json!({"subject_ref": r.as_str(), "purpose": a.purpose, "status": verb})
        );
    } else {
        println!("Consent for {} {verb} by subject {r}.", a.purpose);
    }
    Ok(0)
}
