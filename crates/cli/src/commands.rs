use std::{
    collections::BTreeMap,
    io::{BufWriter, Read, Write},
    path::{Path, PathBuf},
};

use anyhow::{bail, Context, Result};
use clap::{Args, Parser, Subcommand};
use comfy_table::{presets::UTF8_FULL_CONDENSED, Table};
use custodia_core::{Classification, Contract, EntityType, Operator};
use custodia_detect::{char_offsets, Analyzer, AnalyzerConfig};
use custodia_engine::{keys, DeidPlan, ScanOptions};
use rayon::prelude::*;
use serde_json::{json, Value};

use crate::EXIT_VIOLATIONS;

#[derive(Parser)]
#[command(
    name = "custodia",
    version,
    about = "Chain of custody for personal data in ML pipelines: find it, de-identify it, prove it.",
    after_help = "Examples:\n  custodia demo\n  custodia detect --text \"Call me at +44 20 7946 0958\"\n  custodia scan data/ --fail-on L3\n  custodia deid reviews.csv --out reviews.deid.csv --op tokenize\n  custodia init && custodia contract apply contracts/\n  custodia consent check --subject email:ana@example.com --purpose personalization\n  custodia audit export audit/ && custodia audit verify audit/ --pubkey audit/audit.vkey\n  custodia policy eval --input request.json\n  custodia check --format sarif --output custodia.sarif\n  custodia dsar open --type erasure --subject email:ana@example.com\n  custodia retention plan && custodia report --html compliance.html\n\nExit codes: 0 success; 1 a gate failed (scan --fail-on, check), a log or an erasure\ncertificate failed verification (audit verify, dsar verify-certificate), a subject is still\nfound (dsar verify-erasure), an external system has not confirmed (dsar run, export,\nrectify, object), consent is denied (consent check) or policy denies (policy eval);\n2 usage or input error."
)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Build a sample workspace in a temp dir, scan it, de-identify it, and show what happened.
    Demo,
    /// Find personal data in JSONL records or in one text.
    #[command(
        after_help = "Examples:\n  custodia detect reviews.jsonl > findings.jsonl\n  cat docs.jsonl | custodia detect - --entities EMAIL_ADDRESS,PHONE_NUMBER\n  custodia detect --text \"IBAN DE89 3704 0044 0532 0130 00\"\n\nInput lines look like {\"id\": 1, \"text\": \"...\"}; output lines like\n{\"id\": 1, \"findings\": [{\"start\": 12, \"end\": 28, \"entity_type\": \"CREDIT_CARD\", \"score\": 0.95}]}\nOffsets are Unicode code points, end exclusive (Presidio's convention)."
    )]
    Detect(DetectArgs),
    /// Profile columns of CSV, JSONL, Parquet files, folders and SQLite tables.
    #[command(
        after_help = "Examples:\n  custodia scan customers.parquet reviews.csv\n  custodia scan sqlite://app.db --json\n  custodia scan data/ --emit-contract contracts/\n  custodia scan features/ --fail-on L3     # CI gate: exit 1 if any L3 column is found"
    )]
    Scan(ScanArgs),
    /// De-identify a CSV, JSONL or Parquet file per a contract or per flags.
    #[command(
        after_help = "Examples:\n  custodia deid reviews.csv --out reviews.safe.csv                 # detected PII → <ENTITY>\n  custodia deid reviews.csv --out r.csv --op tokenize               # reversible pseudonyms\n  custodia deid customers.parquet --out c.parquet --column card=fpe --column email=hash\n  custodia deid customers.csv --out c.csv --contract contracts/customers.yaml\n\nOperators: redact, replace, replace:TEXT, mask, mask:N, hash, tokenize, fpe,\ngeneralize:month|year|prefixN|bandN. Keys derive from the workspace master key\n(.custodia/keys/master.key, created on first use, or CUSTODIA_MASTER_KEY)."
    )]
    Deid(DeidArgs),
    /// Reverse `tokenize` (and `fpe` in named columns) with the workspace key.
    #[command(
        after_help = "Examples:\n  custodia detokenize reviews.safe.csv --out reviews.csv\n  custodia detokenize customers.parquet --out c.parquet --fpe-column card --json"
    )]
    Detokenize(DetokenizeArgs),
    /// Create a workspace: custodia.toml, contracts/, pipelines/, policies/, .custodia/
    /// (store, master key), regions.
    #[command(
        after_help = "Examples:\n  custodia init\n  custodia init ml-platform --region eu --region us --region uk\n  custodia init . --store postgres://custodia@db.internal/custodia"
    )]
    Init(crate::custody::InitArgs),
    /// Subjects: compute a SubjectRef.
    Subject(crate::custody::SubjectArgs),
    /// Keys: shred a subject's data key, rotate a region's keys.
    Keys(crate::custody::KeysArgs),
    /// The audit log: list, checkpoint, prove, export, verify offline.
    Audit(crate::custody::AuditArgs),
    /// Data contracts: validate, apply (register versions), list, show.
    Contract(crate::custody::ContractArgs),
    /// The consent ledger: grant, withdraw, import, check, export.
    Consent(crate::custody::ConsentArgs),
    /// Policy as code (Rego): evaluate a request, run policy tests, explain a decision.
    Policy(crate::policy::PolicyArgs),
    /// CI gates: contracts, code and config (credentials, prohibited paths and regions,
    /// personal data literals), model cards; `check data` for datasets. Exit 0 pass,
    /// 1 violations, 2 usage or input error.
    #[command(after_help = "Examples:
  custodia check                                  # the whole repository
  custodia check dags/ contracts/ --format sarif --output custodia.sarif
  custodia check --format junit --output custodia-junit.xml
  custodia check data exports/ --json

Suppress one line with a `custodia: ignore` comment on it; skip files with [check] ignore
globs in custodia.toml. See docs/check.md for every rule.")]
    Check(crate::check::CheckArgs),
    /// Pipelines: validate pipeline files.
    Pipeline(crate::pipeline::PipelineArgs),
    /// Run a pipeline: policy-checked reads, consent filters in the plan, versions, resume.
    Run(crate::run::RunArgs),
    /// Training snapshots: create (consent-filtered, with a subject manifest), list, show,
    /// and which versions hold a subject.
    Snapshot(crate::snapshot::SnapshotArgs),
    /// The model registry: list, show (card, metrics, training data), promote through the
    /// model gate.
    Models(crate::models::ModelsArgs),
    /// Lineage: trace an artifact up- or downstream, the impact of a column change, the
    /// root-cause diff of two model versions, stored OpenLineage events.
    Lineage(crate::lineage::LineageArgs),
    /// Data subject requests: open, verify identity, extend, run an erasure everywhere with
    /// a signed certificate, verify it offline.
    Dsar(crate::dsar::DsarArgs),
    /// Retention: what contracts say must go (plan) and making it go (apply, journaled).
    Retention(crate::retention::RetentionArgs),
    /// The compliance report: DSAR on-time closure and time to close, open requests by
    /// days to deadline, retention enforced, deletion propagation, consent coverage per
    /// purpose, residency violations blocked, policy denials by rule.
    #[command(after_help = "Examples:
  custodia report
  custodia report --json
  custodia report --html compliance.html   # a page with charts, self-contained")]
    Report(crate::report::ReportArgs),
}

#[derive(Args)]
struct DetectArgs {
    /// JSONL file, or `-` for standard input.
    input: Option<PathBuf>,
    /// Analyze this text and print a table instead.
    #[arg(long, conflicts_with = "input")]
    text: Option<String>,
    /// Field holding the record id.
    #[arg(long, default_value = "id")]
    id_field: String,
    /// Field holding the text.
    #[arg(long, default_value = "text")]
    text_field: String,
    /// Drop findings scoring below this (0.0–1.0).
    #[arg(long, default_value_t = 0.5)]
    min_score: f32,
    /// Only these entity types, comma-separated (e.g. EMAIL_ADDRESS,PHONE_NUMBER).
    #[arg(long)]
    entities: Option<String>,
    /// With --text: print JSON instead of a table.
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
struct ScanArgs {
    /// Files, folders, or sqlite://FILE.db.
    #[arg(required = true)]
    paths: Vec<String>,
    /// Rows sampled per column.
    #[arg(long, default_value_t = 1000)]
    sample: usize,
    /// Exit 1 when a column at or above this level is found (L0–L3).
    #[arg(long)]
    fail_on: Option<String>,
    /// Write a draft contract per dataset into this folder.
    #[arg(long)]
    emit_contract: Option<PathBuf>,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
struct DeidArgs {
    /// CSV, JSONL or Parquet file.
    input: PathBuf,
    /// Output file (format by extension); written atomically.
    #[arg(long)]
    out: PathBuf,
    /// Apply the transforms a contract declares.
    #[arg(long, conflicts_with_all = ["op", "column"])]
    contract: Option<PathBuf>,
    /// With --contract: drop columns the contract does not declare instead of failing.
    #[arg(long, requires = "contract")]
    drop_undeclared: bool,
    /// Operator for every column found to hold personal data.
    #[arg(long, default_value = "replace")]
    op: String,
    /// Per-column operator, COLUMN=OPERATOR (repeatable).
    #[arg(long)]
    column: Vec<String>,
    /// Workspace folder holding .custodia/keys/master.key.
    #[arg(long, default_value = ".")]
    workspace: PathBuf,
    /// Encrypt `tokenize` fields under each row's subject key, the subject named by this
    /// column: COLUMN=KIND (email, phone, customer_id; default email). Needs a workspace
    /// (`custodia init`); erasing a subject is then `custodia keys shred`.
    #[arg(long, value_name = "COLUMN[=KIND]")]
    subject_column: Option<String>,
    /// Region whose keys encrypt per-subject fields (default: the first configured).
    #[arg(long, requires = "subject_column")]
    region: Option<String>,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
struct DetokenizeArgs {
    /// CSV, JSONL or Parquet file produced by `custodia deid`.
    input: PathBuf,
    /// Output file; written atomically.
    #[arg(long)]
    out: PathBuf,
    /// Only reverse tokens in these columns (default: all).
    #[arg(long)]
    column: Vec<String>,
    /// Columns de-identified with `fpe` (repeatable).
    #[arg(long)]
    fpe_column: Vec<String>,
    /// Workspace folder holding .custodia/keys/master.key.
    #[arg(long, default_value = ".")]
    workspace: PathBuf,
    /// Print the counts as JSON.
    #[arg(long)]
    json: bool,
}

pub fn run(cli: Cli) -> Result<u8> {
    match cli.command {
        Command::Demo => crate::demo::run(),
        Command::Detect(a) => detect(a),
        Command::Scan(a) => scan(a),
        Command::Deid(a) => deid(a),
        Command::Detokenize(a) => detokenize(a),
        Command::Init(a) => crate::custody::init(a),
        Command::Subject(a) => crate::custody::subject(a),
        Command::Keys(a) => crate::custody::keys(a),
        Command::Audit(a) => crate::custody::audit(a),
        Command::Contract(a) => crate::custody::contract(a),
        Command::Consent(a) => crate::custody::consent(a),
        Command::Policy(a) => crate::policy::run(a),
        Command::Check(a) => crate::check::run(a),
        Command::Pipeline(a) => crate::pipeline::run(a),
        Command::Run(a) => crate::run::run(a),
        Command::Snapshot(a) => crate::snapshot::snapshot(a),
        Command::Models(a) => crate::models::models(a),
        Command::Lineage(a) => crate::lineage::lineage(a),
        Command::Dsar(a) => crate::dsar::dsar(a),
        Command::Retention(a) => crate::retention::retention(a),
        Command::Report(a) => crate::report::report(a),
    }
}

fn analyzer(min_score: f32, entities: Option<&str>) -> Result<Analyzer> {
    let entities = entities
        .map(EntityType::parse_list)
        .transpose()
        .context("--entities")?;
    Ok(Analyzer::new(AnalyzerConfig {
        entities,
        min_score,
    })?)
}

fn findings_json(text: &str, findings: &[custodia_detect::Finding]) -> Value {
    let spans: Vec<(usize, usize)> = findings.iter().map(|f| (f.start, f.end)).collect();
    let chars = char_offsets(text, &spans);
    Value::Array(
        findings
            .iter()
            .zip(chars)
            .map(|(f, (s, e))| {
                json!({"start": s, "end": e, "entity_type": f.entity_type.name(),
                       "score": (f.score * 100.0).round() / 100.0})
            })
            .collect(),
    )
}

fn detect(a: DetectArgs) -> Result<u8> {
    let analyzer = analyzer(a.min_score, a.entities.as_deref())?;
    if let Some(text) = a.text {
        let findings = analyzer.analyze(&text);
        if a.json {
            println!("{}", json!({"findings": findings_json(&text, &findings)}));
            return Ok(0);
        }
        let spans: Vec<(usize, usize)> = findings.iter().map(|f| (f.start, f.end)).collect();
        let mut t = Table::new();
        t.load_preset(UTF8_FULL_CONDENSED).set_header([
            "entity",
            "start",
            "end",
            "score",
            "recognizer",
        ]);
        for (f, (s, e)) in findings.iter().zip(char_offsets(&text, &spans)) {
            t.add_row([
                f.entity_type.name().to_string(),
                s.to_string(),
                e.to_string(),
                format!("{:.2}", f.score),
                f.recognizer.to_string(),
            ]);
        }
        println!("{t}");
        println!("{} finding(s)", findings.len());
        return Ok(0);
    }
    let Some(input) = a.input else {
        bail!("give a JSONL file, `-` for standard input, or --text TEXT (see `custodia detect --help`)");
    };
    let label = input.display().to_string();
    let mut raw = Vec::new();
    if input.as_os_str() == "-" {
        std::io::stdin()
            .lock()
            .read_to_end(&mut raw)
            .context("reading standard input")?;
    } else {
        raw = std::fs::read(&input).with_context(|| format!("{label}: cannot read"))?;
    }
    // Parse everything first: a bad line fails the command before anything is written.
    let records = custodia_engine::parse_documents(
        &label,
        &raw,
        &custodia_engine::DocumentFields {
            id: a.id_field.clone(),
            text: a.text_field.clone(),
        },
    )?;
    let stdout = std::io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    for chunk in records.chunks(4096) {
        let lines: Vec<String> = chunk
            .par_iter()
            .map(|d| {
                let f = analyzer.analyze(&d.text);
                json!({"id": d.id, "findings": findings_json(&d.text, &f)}).to_string()
            })
            .collect();
        for l in lines {
            out.write_all(l.as_bytes())?;
            out.write_all(b"\n")?;
        }
    }
    out.flush()?;
    Ok(0)
}

fn scan(a: ScanArgs) -> Result<u8> {
    let fail_on: Option<Classification> = a
        .fail_on
        .as_deref()
        .map(str::parse)
        .transpose()
        .context("--fail-on")?;
    if a.sample == 0 {
        bail!("--sample must be at least 1");
    }
    let analyzer = analyzer(0.5, None)?;
    let bar = indicatif::ProgressBar::new_spinner();
    bar.set_draw_target(indicatif::ProgressDrawTarget::stderr());
    let report = custodia_engine::scan_paths(
        &analyzer,
        &a.paths,
        &ScanOptions {
            sample_rows: a.sample,
        },
        |f| {
            bar.set_message(format!("scanning {f}"));
            bar.tick();
        },
    )?;
    bar.finish_and_clear();
    if let Some(dir) = &a.emit_contract {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("{}: cannot create folder", dir.display()))?;
        for s in &report.sources {
            let c = custodia_engine::draft_contract(s);
            let path = dir.join(format!("{}.yaml", c.dataset));
            let text = format!(
                "# Draft contract written by `custodia scan`. Review every column, then fill in\n# owner, region, subject_key, retention and purposes (see docs/CONTRACTS.md).\n{}",
                c.to_yaml()
            );
            Contract::parse(&path.display().to_string(), &text)
                .context("internal: draft contract does not parse")?;
            std::fs::write(&path, text)
                .with_context(|| format!("{}: cannot write", path.display()))?;
            eprintln!("wrote {}", path.display());
        }
    }
    // Inside a workspace, the scan's results (counts and entity types) join the audit log.
    let in_workspace = std::env::current_dir()
        .map(|d| d.ancestors().any(|p| p.join("custodia.toml").is_file()))
        .unwrap_or(false);
    if in_workspace && !report.sources.is_empty() {
        crate::custody::block_on(async {
            let ws = custodia_engine::Workspace::open(Path::new(".")).await?;
            Ok(ws.record_scan(&report).await?)
        })
        .context("recording the scan in the workspace's audit log")?;
    }
    let violations = fail_on.map(|l| report.at_or_above(l)).unwrap_or_default();
    if a.json {
        let sources: Vec<Value> = report
            .sources
            .iter()
            .map(|s| {
                json!({
                    "source": s.source, "rows": s.rows,
                    "columns": s.columns.iter().map(|c| json!({
                        "name": c.name, "type": c.data_type,
                        "entity": c.profile.entity.map(|e| e.name()),
                        "match_share": (c.profile.match_share * 1000.0).round() / 1000.0,
                        "classification": c.profile.classification.as_str(),
                        "confidence": (c.profile.confidence * 100.0).round() / 100.0,
                        "free_text": c.profile.free_text,
                        "entity_counts": c.profile.entity_counts.iter().map(|(e, n)| (e.name().to_string(), json!(n))).collect::<serde_json::Map<_, _>>(),
                        "sampled": c.profile.sampled,
                        "evidence": c.profile.evidence,
                    })).collect::<Vec<_>>(),
                })
            })
            .collect();
        let v: Vec<Value> = violations
            .iter()
            .map(|(s, c, l, e)| json!({"source": s, "column": c, "classification": l.as_str(), "entity": e.map(|e| e.name())}))
            .collect();
        println!(
            "{}",
            serde_json::to_string_pretty(&json!({"sources": sources, "violations": v}))?
        );
    } else {
        for s in &report.sources {
            println!("{}  ({} rows)", s.source, s.rows);
            let mut t = Table::new();
            t.load_preset(UTF8_FULL_CONDENSED).set_header([
                "column",
                "type",
                "entity",
                "match",
                "class",
                "conf",
                "entities in text",
            ]);
            for c in &s.columns {
                let p = &c.profile;
                let counts = if p.free_text {
                    p.entity_counts
                        .iter()
                        .map(|(e, n)| format!("{e}×{n}"))
                        .collect::<Vec<_>>()
                        .join(" ")
                } else {
                    String::new()
                };
                t.add_row([
                    c.name.clone(),
                    c.data_type.to_string(),
                    p.entity.map(|e| e.name().to_string()).unwrap_or_else(|| {
                        if p.free_text {
                            "free text".into()
                        } else {
                            "-".into()
                        }
                    }),
                    if p.entity.is_some() {
                        format!("{:.0}%", p.match_share * 100.0)
                    } else {
                        "".into()
                    },
                    p.classification.to_string(),
                    format!("{:.2}", p.confidence),
                    counts,
                ]);
            }
            println!("{t}");
        }
        if let Some(level) = fail_on {
            if violations.is_empty() {
                println!("gate --fail-on {level}: pass (no column at or above {level})");
            } else {
                println!(
                    "gate --fail-on {level}: FAIL, {} column(s) at or above {level}:",
                    violations.len()
                );
                for (s, c, l, e) in &violations {
                    println!(
                        "  {s}: column {c:?} is {l}{}",
                        e.map(|e| format!(" ({e})")).unwrap_or_default()
                    );
                }
                println!("fix: de-identify them (`custodia deid`) or declare them in a contract with a transform");
            }
        }
    }
    Ok(if violations.is_empty() {
        0
    } else {
        EXIT_VIOLATIONS
    })
}

fn parse_overrides(pairs: &[String]) -> Result<BTreeMap<String, Operator>> {
    pairs
        .iter()
        .map(|p| {
            let (c, o) = p.split_once('=').with_context(|| {
                format!("--column {p:?}: expected COLUMN=OPERATOR, e.g. --column email=tokenize")
            })?;
            Ok((
                c.to_string(),
                o.parse().with_context(|| format!("--column {p:?}"))?,
            ))
        })
        .collect()
}

fn deid(a: DeidArgs) -> Result<u8> {
    let plan = match &a.contract {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("{}: cannot read contract", path.display()))?;
            DeidPlan::Contract {
                contract: Box::new(Contract::parse(&path.display().to_string(), &text)?),
                drop_undeclared: a.drop_undeclared,
            }
        }
        None => DeidPlan::Detect {
            operator: a.op.parse().context("--op")?,
            overrides: parse_overrides(&a.column)?,
        },
    };
    if same_file(&a.input, &a.out) {
        bail!("--out must differ from the input (the input is left untouched)");
    }
    let analyzer = analyzer(0.5, None)?;
    let report = match &a.subject_column {
        Some(spec) => {
            let (column, kind) = match spec.split_once('=') {
                Some((c, k)) => (c.to_string(), custodia_core::SubjectKind::parse(k)?),
                None => (spec.clone(), custodia_core::SubjectKind::Email),
            };
            crate::custody::with_workspace(&a.workspace, async |ws| {
                let subject = custodia_engine::keyring::SubjectColumn {
                    column,
                    kind,
                    region: ws.region(a.region.as_deref())?,
                };
                Ok(ws
                    .deidentify_by_subject(&analyzer, &a.input, &a.out, &plan, &subject)
                    .await?)
            })?
        }
        None => {
            let key = keys::load_master_key(&a.workspace, keys::IfMissing::Create)?;
            custodia_engine::deidentify_file(&analyzer, &key, &a.input, &a.out, &plan)?
        }
    };
    if a.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&json!({
                "input": a.input, "output": a.out, "rows": report.rows, "fallbacks": report.fallbacks,
                "dropped_columns": report.dropped,
                "columns": report.columns.iter().map(|(r, n)| json!({
                    "column": r.column, "operator": r.operator.to_string(),
                    "mode": if r.entity.is_some() { "value" } else { "text spans" },
                    "entity": r.entity.map(|e| e.name()), "changed": n,
                })).collect::<Vec<_>>(),
            }))?
        );
    } else {
        let mut t = Table::new();
        t.load_preset(UTF8_FULL_CONDENSED)
            .set_header(["column", "mode", "entity", "operator", "changed"]);
        for (r, n) in &report.columns {
            t.add_row([
                r.column.clone(),
                if r.entity.is_some() {
                    "value".into()
                } else {
                    "text spans".to_string()
                },
                r.entity.map(|e| e.name().to_string()).unwrap_or_default(),
                r.operator.to_string(),
                n.to_string(),
            ]);
        }
        println!("{t}");
        println!("wrote {} ({} rows)", a.out.display(), report.rows);
        if report.fallbacks > 0 {
            println!(
                "{} value(s) did not fit their operator and were replaced by <ENTITY>",
                report.fallbacks
            );
        }
        if !report.dropped.is_empty() {
            println!("dropped undeclared columns: {}", report.dropped.join(", "));
        }
    }
    Ok(0)
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(x), Ok(y)) => x == y,
        _ => false,
    }
}

fn detokenize(a: DetokenizeArgs) -> Result<u8> {
    if same_file(&a.input, &a.out) {
        bail!("--out must differ from the input");
    }
    let in_workspace = custodia_engine::find_config(&a.workspace)?.is_some();
    let report = if in_workspace {
        // The store holds subject keys: per-subject fields open while their key exists.
        crate::custody::with_workspace(&a.workspace, async |ws| {
            Ok(ws
                .detokenize_file(&a.input, &a.out, &a.column, &a.fpe_column)
                .await?)
        })?
    } else {
        let key = keys::load_master_key(&a.workspace, keys::IfMissing::Fail)?;
        custodia_engine::detokenize_file(&key, &a.input, &a.out, &a.column, &a.fpe_column)?
    };
    if a.json {
        println!(
            "{}",
            serde_json::json!({
                "output": a.out,
                "restored": report.restored,
                "shredded": report.shredded,
                "no_key": report.no_key,
            })
        );
        return Ok(0);
    }
    println!(
        "restored {} value(s); wrote {}",
        report.restored,
        a.out.display()
    );
    if report.shredded > 0 {
        println!(
            "{} value(s) stay encrypted: their subjects' keys were shredded (erased for good)",
            report.shredded
        );
    }
    if report.no_key > 0 {
        println!(
            "{} value(s) stay encrypted: this workspace has no key for their subjects",
            report.no_key
        );
    }
    Ok(0)
}
