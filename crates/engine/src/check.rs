//! `custodia check`: the CI gates. Contracts (complete, and on legal bases policy accepts),
//! code and config (hard-coded credentials, prohibited buckets/paths/regions, personal data
//! literals), data (columns above the allowed level that no contract covers) and model cards
//! (checked against policy). Findings name file:line and the rule, never a found value.

use std::{
    collections::BTreeMap,
    fs,
    path::{Path, PathBuf},
};

use custodia_core::{
    config::{CheckConfig, WorkspaceConfig},
    model_card::ModelCard,
    Classification, Contract, CoreError, EntityType,
};
use custodia_detect::{Analyzer, AnalyzerConfig};
use custodia_policy::{DecisionInput, Policy, PolicySources};
use globset::{Glob, GlobSet, GlobSetBuilder};
use rayon::prelude::*;

use crate::{contracts, policy, EngineError, ScanOptions};

/// How bad a finding is: errors fail the gate, warnings are reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    /// Fails `custodia check` (exit 1).
    Error,
    /// Reported; does not fail the gate.
    Warning,
}

impl Severity {
    /// `error` or `warning`.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        }
    }
}

/// One finding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// Rule id (`code.secret`, `contract.l3_transform`, `policy.purpose.legal_basis`…).
    pub rule: String,
    /// Error or warning.
    pub severity: Severity,
    /// The file, relative to the checked root when inside it.
    pub path: PathBuf,
    /// 1-based line; 0 when the finding is about the whole file.
    pub line: u64,
    /// 1-based column; 0 when unknown.
    pub column: u64,
    /// What was found (names and types, never the value).
    pub message: String,
    /// What to do.
    pub fix: String,
}

/// Every finding of a run, and what was looked at.
#[derive(Debug, Clone, Default)]
pub struct CheckReport {
    /// Findings, by file then line.
    pub findings: Vec<Finding>,
    /// Files checked, by kind.
    pub files: Vec<(PathBuf, FileKind)>,
}

impl CheckReport {
    /// Findings that fail the gate.
    pub fn errors(&self) -> usize {
        self.findings
            .iter()
            .filter(|f| f.severity == Severity::Error)
            .count()
    }

    fn sort(&mut self) {
        self.findings.sort_by(|a, b| {
            (&a.path, a.line, a.column, &a.rule).cmp(&(&b.path, b.line, b.column, &b.rule))
        });
        self.files.sort();
    }
}

/// What a file was checked as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum FileKind {
    /// A data contract.
    Contract,
    /// A model card.
    ModelCard,
    /// Code or configuration.
    Code,
    /// A dataset (`check data`).
    Data,
}

impl FileKind {
    /// Lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            FileKind::Contract => "contract",
            FileKind::ModelCard => "model card",
            FileKind::Code => "code",
            FileKind::Data => "data",
        }
    }
}

/// Extensions of code and configuration files `check` reads.
const CODE_EXTENSIONS: &[&str] = &[
    "py",
    "ipynb",
    "sql",
    "yaml",
    "yml",
    "json",
    "toml",
    "ini",
    "cfg",
    "conf",
    "properties",
    "env",
    "sh",
    "bash",
    "tf",
    "tfvars",
    "js",
    "ts",
    "scala",
    "java",
    "go",
    "r",
    "hcl",
];
/// Languages where a credential is a literal only in quotes (`password=pwd` is a variable).
/// Terraform/HCL belong here too: `password = random_password.db.result` is a reference.
const QUOTED_LITERAL_LANGUAGES: &[&str] = &[
    "py", "ipynb", "js", "ts", "scala", "java", "go", "r", "sql", "tf", "tfvars", "hcl",
];
/// Card numbers payment networks publish for testing.
const TEST_CARD_NUMBERS: &[&str] = &[
    "4111111111111111",
    "4242424242424242",
    "4012888888881881",
    "4000056655665556",
    "5555555555554444",
    "5105105105105100",
    "2223003122003222",
    "378282246310005",
    "371449635398431",
    "6011111111111117",
    "6011000990139424",
    "3056930009020004",
    "36227206271667",
    "3566002020360505",
    "6200000000000005",
];
/// Folders never checked: VCS, build output, environments, Custodia's own state.
const SKIP_DIRS: &[&str] = &[
    ".git",
    ".custodia",
    "target",
    "node_modules",
    ".venv",
    "venv",
    "__pycache__",
    ".tox",
    "dist",
    "build",
    ".mypy_cache",
    ".pytest_cache",
];
/// Files larger than this are skipped (generated or data, not code).
const MAX_CODE_BYTES: u64 = 4 << 20;

/// Entity types reported as personal-data literals in code, and how severely.
fn literal_severity(e: EntityType) -> Option<Severity> {
    match e {
        EntityType::Secret => None,
        EntityType::EmailAddress | EntityType::PhoneNumber => Some(Severity::Warning),
        e if e.default_classification() >= Classification::L3 => Some(Severity::Error),
        _ => None,
    }
}

/// The gates, loaded once for a repository: its `custodia.toml` (if any), policy and
/// contracts.
pub struct Checker {
    root: PathBuf,
    config: Option<WorkspaceConfig>,
    check: CheckConfig,
    policy: Policy,
    ignore: GlobSet,
    contracts: BTreeMap<String, Contract>,
    secrets: Analyzer,
    literals: Analyzer,
}

impl Checker {
    /// Loads the gates for the repository at `root`: `custodia.toml` at or above it (for
    /// regions, purposes, transfers and `[check]`), `policies/`, and the contracts in
    /// `contracts/` (for `check data` and model cards). No store or key is needed.
    pub fn new(root: &Path) -> Result<Checker, EngineError> {
        let found = crate::find_config(root)?;
        let (base, config) = match found {
            Some((ws_root, c)) => (ws_root, Some(c)),
            None => (
                root.canonicalize().map_err(|e| EngineError::io(root, e))?,
                None,
            ),
        };
        let check = config.as_ref().map(|c| c.check.clone()).unwrap_or_default();
        let policy = match &config {
            Some(c) => Policy::load(&policy::policy_sources(&base, c)?)?,
            None => Policy::load(&PolicySources::default())?,
        };
        let mut ignore = GlobSetBuilder::new();
        for g in &check.ignore {
            ignore.add(Glob::new(g).map_err(|e| {
                EngineError::Workspace(format!(
                    "custodia.toml [check] ignore: {g:?} is not a glob ({e}); fix: use patterns such as \"tests/fixtures/**\""
                ))
            })?);
        }
        let ignore = ignore
            .build()
            .map_err(|e| EngineError::Workspace(format!("custodia.toml [check] ignore: {e}")))?;
        let mut contracts = BTreeMap::new();
        let dir = base.join("contracts");
        if dir.is_dir() {
            for f in contracts::contract_files(&[dir])? {
                if let Ok(c) = contracts::validate_file(&f, config.as_ref()) {
                    contracts.entry(c.dataset.clone()).or_insert(c);
                }
            }
        }
        let secrets = Analyzer::new(AnalyzerConfig {
            entities: Some(vec![EntityType::Secret]),
            min_score: 0.5,
        })?;
        let literals = Analyzer::new(AnalyzerConfig {
            entities: Some(
                EntityType::ALL
                    .iter()
                    .copied()
                    .filter(|e| literal_severity(*e).is_some())
                    .collect(),
            ),
            min_score: 0.6,
        })?;
        Ok(Checker {
            root: base,
            config,
            check,
            policy,
            ignore,
            contracts,
            secrets,
            literals,
        })
    }

    /// The repository root findings are relative to.
    pub fn root(&self) -> &Path {
        &self.root
    }

    fn shown(&self, p: &Path) -> PathBuf {
        let abs = p.canonicalize().unwrap_or_else(|_| p.to_path_buf());
        abs.strip_prefix(&self.root)
            .map(Path::to_path_buf)
            .unwrap_or_else(|_| p.to_path_buf())
    }

    /// Sorts files under `paths` (default: the root) into contracts (`contracts/`), model
    /// cards (`model_card.yaml`, `*.model.yaml`) and code, skipping ignored ones.
    pub fn discover(&self, paths: &[PathBuf]) -> Result<Vec<(PathBuf, FileKind)>, EngineError> {
        let roots: Vec<PathBuf> = if paths.is_empty() {
            vec![self.root.clone()]
        } else {
            paths.to_vec()
        };
        let mut out = Vec::new();
        for r in roots {
            if !r.exists() {
                return Err(EngineError::io(
                    &r,
                    std::io::Error::new(std::io::ErrorKind::NotFound, "no such file or folder"),
                ));
            }
            self.walk(&r, &mut out)?;
        }
        out.sort();
        out.dedup();
        Ok(out)
    }

    fn walk(&self, p: &Path, out: &mut Vec<(PathBuf, FileKind)>) -> Result<(), EngineError> {
        let rel = self.shown(p);
        if !rel.as_os_str().is_empty() && self.ignore.is_match(&rel) {
            return Ok(());
        }
        if p.is_dir() {
            let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
            if SKIP_DIRS.contains(&name) {
                return Ok(());
            }
            let mut entries: Vec<PathBuf> = fs::read_dir(p)
                .map_err(|e| EngineError::io(p, e))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .collect();
            entries.sort();
            for e in entries {
                self.walk(&e, out)?;
            }
            return Ok(());
        }
        if let Some(kind) = self.kind_of(p, &rel) {
            out.push((p.to_path_buf(), kind));
        }
        Ok(())
    }

    fn kind_of(&self, p: &Path, rel: &Path) -> Option<FileKind> {
        let name = p.file_name()?.to_str()?;
        let ext = p.extension().and_then(|x| x.to_str()).unwrap_or("");
        let yaml = ext == "yaml" || ext == "yml";
        if yaml
            && (name.starts_with("model_card.")
                || name.starts_with("model-card.")
                || name.contains(".model."))
        {
            return Some(FileKind::ModelCard);
        }
        if yaml
            && rel
                .components()
                .next()
                .is_some_and(|c| c.as_os_str() == "contracts")
        {
            return Some(FileKind::Contract);
        }
        let dotenv = name == ".env" || name.starts_with(".env.") || ext == "env";
        if dotenv || CODE_EXTENSIONS.contains(&ext.to_ascii_lowercase().as_str()) {
            return Some(FileKind::Code);
        }
        None
    }

    /// Runs the gates on discovered files.
    pub fn check_files(&mut self, files: &[(PathBuf, FileKind)]) -> CheckReport {
        let mut report = CheckReport {
            files: files.iter().map(|(p, k)| (self.shown(p), *k)).collect(),
            ..CheckReport::default()
        };
        let contracts: Vec<PathBuf> = files
            .iter()
            .filter(|(_, k)| *k == FileKind::Contract)
            .map(|(p, _)| p.clone())
            .collect();
        report.findings.extend(self.contracts(&contracts));
        for (p, _) in files.iter().filter(|(_, k)| *k == FileKind::ModelCard) {
            report.findings.extend(self.model_card(p));
        }
        let code: Vec<&PathBuf> = files
            .iter()
            .filter(|(_, k)| *k != FileKind::ModelCard && *k != FileKind::Data)
            .map(|(p, _)| p)
            .collect();
        let this = &*self;
        let found: Vec<Finding> = code
            .par_iter()
            .flat_map_iter(|p| this.code_file(p))
            .collect();
        report.findings.extend(found);
        report.sort();
        report
    }

    /// Contract gates: valid, one per dataset, complete, `L3` columns transformed, legal
    /// bases the policy accepts.
    pub fn contracts(&mut self, files: &[PathBuf]) -> Vec<Finding> {
        let mut out = Vec::new();
        for (path, r) in contracts::validate_all(files, self.config.as_ref()) {
            let shown = self.shown(&path);
            let text = fs::read_to_string(&path).unwrap_or_default();
            let c = match r {
                Ok(c) => c,
                Err(e) => {
                    let (line, column, message) = located(&e);
                    out.push(Finding {
                        rule: "contract.invalid".into(),
                        severity: Severity::Error,
                        path: shown,
                        line,
                        column,
                        message,
                        fix: "correct the field as the message says; custodia contract validate shows the same".into(),
                    });
                    continue;
                }
            };
            let mut push = |rule: &str, line: u64, message: String, fix: &str| {
                out.push(Finding {
                    rule: rule.into(),
                    severity: Severity::Error,
                    path: shown.clone(),
                    line,
                    column: if line > 0 { 1 } else { 0 },
                    message,
                    fix: fix.into(),
                })
            };
            let top = key_line(&text, "dataset").max(1);
            if c.owner.is_none() {
                push(
                    "contract.owner",
                    top,
                    format!("contract {:?} names no owner", c.dataset),
                    "add owner: (a team address) who answers for this data",
                );
            }
            if c.purposes.is_empty() {
                push(
                    "contract.purpose",
                    top,
                    format!(
                        "contract {:?} lists no purposes, so the data may be used for nothing",
                        c.dataset
                    ),
                    "list purposes with their legal_basis",
                );
            }
            if c.retention.is_none() && c.purposes.iter().any(|p| p.retention.is_none()) {
                push(
                    "contract.retention",
                    top,
                    format!("contract {:?} sets no retention", c.dataset),
                    "add retention: (e.g. 2y), or one per purpose",
                );
            }
            let personal = c
                .columns
                .iter()
                .any(|col| col.classification >= Classification::L2);
            if personal && c.region.is_none() {
                push(
                    "contract.region",
                    top,
                    format!(
                        "contract {:?} holds personal columns but no region",
                        c.dataset
                    ),
                    "add region: (one of the workspace's [regions])",
                );
            }
            for col in &c.columns {
                if col.classification >= Classification::L3 && col.transform.is_none() {
                    push(
                        "contract.l3_transform",
                        name_line(&text, &col.name),
                        format!("column {:?} is L3 but has no ingest transform", col.name),
                        "add transform: (tokenize, hash, redact, fpe…) so the raw value is never stored",
                    );
                }
            }
            let dataset = policy::dataset_input(&c);
            for p in &c.purposes {
                let input = DecisionInput {
                    purpose: p.purpose.as_str().to_string(),
                    dataset: dataset.clone(),
                    ..DecisionInput::default()
                };
                match self.policy.purpose_denials(&input) {
                    Ok(denials) => {
                        for d in denials.into_iter().filter(|d| {
                            d.rule == "purpose.legal_basis" || d.rule == "purpose.unknown"
                        }) {
                            push(
                                &format!("policy.{}", d.rule),
                                name_line(&text, p.purpose.as_str()),
                                d.message,
                                &d.fix,
                            );
                        }
                    }
                    Err(e) => push(
                        "policy.error",
                        top,
                        e.to_string(),
                        "fix the policy file named in the message",
                    ),
                }
            }
        }
        out
    }

    /// Model card gate: the card parses, and policy (`data.custodia.model`) accepts it given
    /// the contracts of its training data.
    pub fn model_card(&mut self, path: &Path) -> Vec<Finding> {
        let shown = self.shown(path);
        let finding = |rule: &str, line: u64, column: u64, message: String, fix: String| Finding {
            rule: rule.into(),
            severity: Severity::Error,
            path: shown.clone(),
            line,
            column,
            message,
            fix,
        };
        let text = match fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) => {
                return vec![finding(
                    "model.invalid",
                    0,
                    0,
                    format!("cannot read: {e}"),
                    "make the file readable UTF-8".into(),
                )]
            }
        };
        let card = match ModelCard::parse(&shown.display().to_string(), &text) {
            Ok(c) => c,
            Err(e) => {
                let (line, column, message) = located(&EngineError::Core(e));
                return vec![finding(
                    "model.invalid",
                    line,
                    column,
                    message,
                    "see docs/check.md, Model cards".into(),
                )];
            }
        };
        let training: Vec<serde_json::Value> = card
            .training_data
            .iter()
            .map(|t| {
                let c = self.contracts.get(&t.dataset);
                serde_json::json!({
                    "dataset": t.dataset,
                    "version": t.version,
                    "registered": c.is_some(),
                    "purposes": c.map(|c| policy::dataset_input(c).purposes).unwrap_or_default(),
                })
            })
            .collect();
        let input = serde_json::json!({"card": card, "training": training});
        match self.policy.decide_model(&input) {
            Ok(d) => d
                .denials
                .into_iter()
                .map(|x| {
                    let key = match x.rule.as_str() {
                        "model.purpose_mismatch"
                        | "model.legal_basis"
                        | "model.unknown_purpose" => "purpose",
                        "model.unknown_dataset" => "training_data",
                        "model.consent_scope" => "consent_scope",
                        "model.dpia" => "dpia",
                        "model.fairness" => "fairness",
                        _ => "name",
                    };
                    let line = key_line(&text, key).max(1);
                    finding(&x.rule, line, 1, x.message, x.fix)
                })
                .collect(),
            Err(e) => vec![finding(
                "policy.error",
                0,
                0,
                e.to_string(),
                "fix the policy file named in the message".into(),
            )],
        }
    }

    /// Code and configuration gate for one file.
    pub fn code_file(&self, path: &Path) -> Vec<Finding> {
        let shown = self.shown(path);
        let Ok(meta) = fs::metadata(path) else {
            return Vec::new();
        };
        if meta.len() > MAX_CODE_BYTES {
            return Vec::new();
        }
        let Ok(bytes) = fs::read(path) else {
            return Vec::new();
        };
        if bytes.iter().take(8192).any(|b| *b == 0) {
            return Vec::new();
        }
        let text = String::from_utf8_lossy(&bytes);
        self.code_text(&shown, &text)
    }

    /// The code and configuration gate on a file's text; `path` labels the findings and its
    /// extension picks the language rules.
    pub fn code_text(&self, path: &Path, text: &str) -> Vec<Finding> {
        let ext = path
            .extension()
            .and_then(|x| x.to_str())
            .unwrap_or("")
            .to_ascii_lowercase();
        scan_code(self, path, text, &ext)
    }

    /// Data gate: scans datasets and reports columns above `[check] max_uncovered_level`
    /// that no contract in `contracts/` covers.
    pub fn data(
        &self,
        paths: &[String],
        progress: impl FnMut(&str),
    ) -> Result<CheckReport, EngineError> {
        let analyzer = Analyzer::new(AnalyzerConfig::default())?;
        let report = crate::scan_paths(&analyzer, paths, &ScanOptions::default(), progress)?;
        let limit = self.check.max_uncovered_level;
        let mut out = CheckReport::default();
        for s in &report.sources {
            let source = PathBuf::from(&s.source);
            let shown = self.shown(&source);
            out.files.push((shown.clone(), FileKind::Data));
            let dataset = dataset_name(&s.source);
            let contract = self.contracts.get(&dataset);
            for (i, col) in s.columns.iter().enumerate() {
                let level = col.profile.classification;
                if level <= limit {
                    continue;
                }
                let covered =
                    contract.is_some_and(|c| c.columns.iter().any(|k| k.name == col.name));
                if covered {
                    continue;
                }
                let entity = col
                    .profile
                    .entity
                    .map(|e| format!(", {}", e.name()))
                    .unwrap_or_default();
                out.findings.push(Finding {
                    rule: "data.uncovered".into(),
                    severity: Severity::Error,
                    path: shown.clone(),
                    line: 0,
                    column: i as u64 + 1,
                    message: match contract {
                        Some(_) => format!("column {:?} ({}{entity}) is not in the contract of {dataset:?}", col.name, level.as_str()),
                        None => format!("column {:?} is {}{entity} and no contract covers dataset {dataset:?}", col.name, level.as_str()),
                    },
                    fix: format!(
                        "add the column to contracts/{dataset}.yaml (custodia scan {} --emit-contract contracts/ drafts one), or drop it",
                        s.source
                    ),
                });
            }
        }
        out.sort();
        Ok(out)
    }
}

/// The dataset a scanned source stands for: its file stem, or the table after `#`/`/`.
fn dataset_name(source: &str) -> String {
    let last = source.rsplit(['/', '#', ':']).next().unwrap_or(source);
    last.split('.').next().unwrap_or(last).to_string()
}

/// Line and column of an error that carries them, and its message.
fn located(e: &EngineError) -> (u64, u64, String) {
    let (line, column, message) = located_raw(e);
    // Parser messages quote the bad value, which may be a pasted personal value.
    (line, column, crate::redact_values(&message))
}

fn located_raw(e: &EngineError) -> (u64, u64, String) {
    match e {
        EngineError::BadInput { line, message, .. } => (*line, 0, message.clone()),
        EngineError::Core(CoreError::ContractSyntax { at, message }) => {
            (at.line, at.column, message.clone())
        }
        EngineError::Core(CoreError::ContractField {
            at,
            field,
            message,
            fix,
        }) => (
            at.line,
            at.column,
            format!("field `{field}`: {message}; fix: {fix}"),
        ),
        other => (0, 0, other.to_string()),
    }
}

/// 1-based line of the first `key:` at the start of a line (0 when absent).
fn key_line(text: &str, key: &str) -> u64 {
    text.lines()
        .position(|l| {
            let t = l.trim_start().trim_start_matches("- ");
            t.strip_prefix(key)
                .is_some_and(|r| r.trim_start().starts_with(':'))
        })
        .map_or(0, |i| i as u64 + 1)
}

/// 1-based line of `name: <value>` (a column or purpose entry).
fn name_line(text: &str, value: &str) -> u64 {
    text.lines()
        .position(|l| {
            let t = l.trim_start().trim_start_matches("- ");
            t.strip_prefix("name:")
                .is_some_and(|r| r.trim().trim_matches(['"', '\'']) == value)
        })
        .map_or(0, |i| i as u64 + 1)
}

/// Offsets of line starts, for turning byte offsets into line:column.
struct Lines {
    starts: Vec<usize>,
}

impl Lines {
    fn new(text: &str) -> Lines {
        let mut starts = vec![0];
        starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        Lines { starts }
    }
    /// (1-based line, 1-based column in characters).
    fn at(&self, text: &str, offset: usize) -> (u64, u64) {
        let line = self.starts.partition_point(|s| *s <= offset) - 1;
        let col = text[self.starts[line]..offset].chars().count() + 1;
        (line as u64 + 1, col as u64)
    }
    fn line_text<'a>(&self, text: &'a str, line: u64) -> &'a str {
        let i = (line - 1) as usize;
        let end = self.starts.get(i + 1).copied().unwrap_or(text.len());
        &text[self.starts[i]..end]
    }
}

/// Values that point at a secret instead of holding one: references (`${X}`, `{{ … }}`,
/// `{conn.password}`, `os.environ[…]`, Terraform `data.…`), and stock placeholders as whole
/// values (`changeme`, `your-api-key-here`, `xxxx`).
fn is_placeholder(value: &str) -> bool {
    let v = value.trim_matches(['"', '\'', '`']);
    let lower = v.to_ascii_lowercase();
    let reference = v.starts_with('$')
        || v.starts_with('{')
        || v.starts_with('<')
        || v.starts_with("%(")
        || v.starts_with("***")
        || [
            "os.environ",
            "os.getenv",
            "getenv(",
            "env(",
            "env.",
            "environ[",
            "variable.get",
            "secrets.",
            "var.",
            "vault:",
            "process.env",
            "sys.env",
            "random_password.",
            "data.",
            "local.",
            "module.",
        ]
        .iter()
        .any(|p| lower.starts_with(p));
    let word = lower.trim_end_matches(|c: char| !c.is_ascii_alphanumeric());
    let stock = [
        "none",
        "null",
        "nil",
        "changeme",
        "change_me",
        "password",
        "secret",
        "redacted",
        "example",
        "todo",
        "tbd",
        "dummy",
        "placeholder",
    ]
    .contains(&word)
        || word.starts_with("your-")
        || word.starts_with("your_")
        || (!word.is_empty() && word.chars().all(|c| c == 'x' || c == '*'));
    reference || stock
}

/// The value starts on a later line than its key: YAML nesting (`password:\n  file: …`),
/// not an assignment.
fn value_on_next_line(text: &str, start: usize) -> bool {
    for c in text[..start].chars().rev() {
        match c {
            '\n' => return true,
            ' ' | '\t' | '\r' | '"' | '\'' => continue,
            _ => return false,
        }
    }
    false
}

/// `2026-01-01`: a date, however phone-like its digits.
fn looks_like_date(s: &str) -> bool {
    let parts: Vec<&str> = s.split(['-', '/', '.']).collect();
    parts.len() == 3
        && parts[0].len() == 4
        && parts
            .iter()
            .all(|d| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit()))
}

/// Where `prefix` occurs. Object-store schemes match in any case and in their Hadoop
/// spellings (`s3://` also as `s3a://`, `s3n://`, `S3://`); paths match exactly.
fn prefix_matches(lower: &str, text: &str, prefix: &str) -> Vec<usize> {
    let Some((scheme, rest)) = prefix.split_once("://") else {
        return text.match_indices(prefix).map(|(i, _)| i).collect();
    };
    let own = scheme.to_ascii_lowercase();
    let schemes: Vec<&str> = match own.as_str() {
        "s3" | "s3a" | "s3n" => vec!["s3", "s3a", "s3n"],
        "gs" | "gcs" => vec!["gs", "gcs"],
        "abfs" | "abfss" => vec!["abfs", "abfss"],
        "wasb" | "wasbs" => vec!["wasb", "wasbs"],
        _ => vec![own.as_str()],
    };
    let mut out = Vec::new();
    for s in schemes {
        let head = format!("{s}://");
        for (i, _) in lower.match_indices(&head) {
            if text[i + head.len()..].starts_with(rest) {
                out.push(i);
            }
        }
    }
    out.sort_unstable();
    out.dedup();
    out
}

fn scan_code(c: &Checker, shown: &Path, text: &str, ext: &str) -> Vec<Finding> {
    let lines = Lines::new(text);
    let mut out = Vec::new();
    let suppressed = |line: u64| {
        let l = lines.line_text(text, line);
        l.contains("custodia: ignore") || l.contains("custodia:ignore")
    };
    let mut push = |rule: &str, severity: Severity, offset: usize, message: String, fix: String| {
        let (line, column) = lines.at(text, offset);
        if !suppressed(line) {
            out.push(Finding {
                rule: rule.into(),
                severity,
                path: shown.to_path_buf(),
                line,
                column,
                message,
                fix,
            });
        }
    };
    let quoted_only = QUOTED_LITERAL_LANGUAGES.contains(&ext);
    let mut secret_spans = Vec::new();
    for f in c.secrets.analyze(text) {
        let value = &text[f.start..f.end];
        if is_placeholder(value) {
            continue;
        }
        if f.recognizer == "password_assignment" && value_on_next_line(text, f.start) {
            continue;
        }
        if quoted_only && f.recognizer == "password_assignment" {
            let before = text[..f.start].chars().next_back();
            if !matches!(before, Some('"' | '\'' | '`')) {
                continue;
            }
        }
        secret_spans.push((f.start, f.end));
        push(
            "code.secret",
            Severity::Error,
            f.start,
            format!("hard-coded credential ({})", f.recognizer),
            "read it from the environment or a secret store, and rotate it: it is in the repository's history".into(),
        );
    }
    // custodia.toml declares the prohibited names: it is the one file that may say them.
    let declares = shown
        .file_name()
        .is_some_and(|n| n == custodia_core::config::CONFIG_FILE);
    let (paths, regions): (&[String], &[String]) = if declares {
        (&[], &[])
    } else {
        (&c.check.prohibited_paths, &c.check.prohibited_regions)
    };
    let lower = text.to_ascii_lowercase();
    for prefix in paths {
        // A bucket is also named on its own, as SDKs take it: boto3's download_file("raw-pii", …).
        if let Some(bucket) = bucket_of(prefix) {
            for quote in ['"', '\''] {
                let literal = format!("{quote}{bucket}{quote}");
                for (i, _) in text.match_indices(literal.as_str()) {
                    push(
                        "code.prohibited_path",
                        Severity::Error,
                        i + 1,
                        format!("names bucket {bucket} of {prefix}, which custodia.toml [check] prohibited_paths lists"),
                        "use the governed location for this data (see custodia.toml), or remove the access".into(),
                    );
                }
            }
        }
        for i in prefix_matches(&lower, text, prefix) {
            let before = text[..i].chars().next_back();
            if before.is_some_and(|b| b.is_alphanumeric() || b == '_' || b == '-' || b == '.') {
                continue;
            }
            push(
                "code.prohibited_path",
                Severity::Error,
                i,
                format!(
                    "reads or writes {prefix}, which custodia.toml [check] prohibited_paths lists"
                ),
                "use the governed location for this data (see custodia.toml), or remove the access"
                    .into(),
            );
        }
    }
    for region in regions {
        for (i, _) in text.match_indices(region.as_str()) {
            let before = text[..i].chars().next_back();
            let after = text[i + region.len()..].chars().next();
            let boundary =
                |ch: Option<char>| !ch.is_some_and(|x| x.is_alphanumeric() || x == '-' || x == '_');
            if boundary(before) && boundary(after) {
                push(
                    "code.prohibited_region",
                    Severity::Error,
                    i,
                    format!("names cloud region {region}, which custodia.toml [check] prohibited_regions lists"),
                    "process and store the data in its own region; a transfer needs a [[transfers]] mechanism that policy accepts".into(),
                );
            }
        }
    }
    for f in c.literals.analyze(text) {
        let Some(severity) = literal_severity(f.entity_type) else {
            continue;
        };
        if secret_spans.iter().any(|(s, e)| f.start < *e && *s < f.end) {
            continue;
        }
        let found = &text[f.start..f.end];
        if f.entity_type == EntityType::EmailAddress && reserved_domain(found) {
            continue;
        }
        if f.entity_type == EntityType::PhoneNumber && looks_like_date(found.trim()) {
            continue;
        }
        // In code a bare 9-digit number is far more often a size or an id than an SSN.
        if f.entity_type == EntityType::UsSsn && found.bytes().all(|b| b.is_ascii_digit()) {
            continue;
        }
        if f.entity_type == EntityType::EmailAddress && role_address(found) {
            continue;
        }
        if f.entity_type == EntityType::CreditCard {
            let digits: String = found.chars().filter(char::is_ascii_digit).collect();
            if TEST_CARD_NUMBERS.contains(&digits.as_str()) {
                continue;
            }
        }
        push(
            "code.pii_literal",
            severity,
            f.start,
            format!("personal data literal ({})", f.entity_type.name()),
            "do not hard-code personal data: use synthetic values (example.com addresses, test numbers) or load it through a governed dataset".into(),
        );
    }
    out
}

/// The bucket (or container) of an object-store prefix: `s3://raw-pii/x/` → `raw-pii`.
fn bucket_of(prefix: &str) -> Option<&str> {
    let (scheme, rest) = prefix.split_once("://")?;
    if ![
        "s3", "s3a", "s3n", "gs", "gcs", "abfs", "abfss", "wasb", "wasbs", "az",
    ]
    .contains(&scheme)
    {
        return None;
    }
    let host = rest.split('/').next()?;
    let bucket = host.split('@').next()?;
    (!bucket.is_empty()).then_some(bucket)
}

/// Team and system mailboxes (`data-alerts@…`, `noreply@…`) name no person.
fn role_address(email: &str) -> bool {
    let local = email.split('@').next().unwrap_or("").to_ascii_lowercase();
    [
        "alert",
        "noreply",
        "no-reply",
        "notification",
        "team",
        "support",
        "ops",
        "oncall",
        "on-call",
        "admin",
        "info",
        "help",
        "security",
        "privacy",
        "dpo",
    ]
    .iter()
    .any(|w| local.contains(w))
}

/// RFC 2606 / 6761 names that never belong to a person.
fn reserved_domain(email: &str) -> bool {
    let domain = email.rsplit('@').next().unwrap_or("").to_ascii_lowercase();
    ["example.com", "example.org", "example.net"].contains(&domain.as_str())
        || [".example", ".test", ".invalid", ".localhost", ".local"]
            .iter()
            .any(|t| domain.ends_with(t))
        || domain == "localhost"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_not_secrets() {
        for v in [
            "${DB_PASSWORD}",
            "{{ var.value.pw }}",
            "os.environ[",
            "<password>",
            "changeme",
        ] {
            assert!(is_placeholder(v), "{v}");
        }
        assert!(!is_placeholder("hunter2hunter2"));
        for v in [
            "{conn.password}",
            "your-api-key-here",
            "random_password.db.result",
            "xxxxxxxx",
        ] {
            assert!(is_placeholder(v), "{v}");
        }
        for v in ["nonexistentP@ss99", "nonesuch-2026", "example-prod-key-81"] {
            assert!(!is_placeholder(v), "{v}");
        }
        assert!(value_on_next_line("pg_password:\n  file: x", 15));
        assert!(!value_on_next_line("password: \"x\"", 11));
        assert!(looks_like_date("2026-01-01") && !looks_like_date("+44 20 7946 0958"));
        let t = "read S3A://raw-pii/x and s3n://raw-pii/y, not s3://raw-pii-archive/";
        assert_eq!(
            prefix_matches(&t.to_ascii_lowercase(), t, "s3://raw-pii/").len(),
            2
        );
    }

    #[test]
    fn buckets_of_prefixes() {
        assert_eq!(bucket_of("s3://raw-pii/x/"), Some("raw-pii"));
        assert_eq!(
            bucket_of("abfss://raw@acct.dfs.core.windows.net/"),
            Some("raw")
        );
        assert_eq!(bucket_of("/mnt/exports/"), None);
    }

    #[test]
    fn dataset_names_from_sources() {
        assert_eq!(dataset_name("data/customers.csv"), "customers");
        assert_eq!(dataset_name("sqlite://app.db#orders"), "orders");
    }

    #[test]
    fn lines_and_columns() {
        let t = "ab\ncdé\nx";
        let l = Lines::new(t);
        assert_eq!(l.at(t, 0), (1, 1));
        assert_eq!(l.at(t, 4), (2, 2));
        assert_eq!(l.at(t, t.len() - 1), (3, 1));
        assert_eq!(l.line_text(t, 2), "cdé\n");
    }
}
