//! `custodia.toml`: the workspace configuration. Parsing is strict (unknown keys are errors,
//! so a typo is not silently ignored) and every error names the file, line, key and fix.

use serde::Deserialize;

use crate::{Classification, CoreError, Located, Purpose, Region};

/// The file name of a workspace's configuration.
pub const CONFIG_FILE: &str = "custodia.toml";

/// The default store: an SQLite file inside the workspace.
pub const DEFAULT_STORE_URL: &str = "sqlite://.custodia/custodia.db";

/// A workspace's configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkspaceConfig {
    /// Where the metadata store lives (`sqlite://…` relative to the workspace, or
    /// `postgres://…`).
    pub store_url: String,
    /// Regions, each with its own keys; the first is the default.
    pub regions: Vec<Region>,
    /// The audit log's origin line in checkpoints (C2SP `tlog-checkpoint`): names this log
    /// to anyone verifying it, e.g. `custodia.example.com/ml-platform`.
    pub audit_origin: String,
    /// The purposes data may be used for in this workspace; contracts and consent events
    /// naming another purpose are refused (a typo must not create a purpose nobody
    /// consented to). Empty = not restricted.
    pub purposes: Vec<Purpose>,
    /// Cross-region transfers the organisation has a legal mechanism for (`[[transfers]]`);
    /// policy decides whether each applicable law accepts the mechanism.
    pub transfers: Vec<Transfer>,
    /// What `custodia check` refuses (`[check]`).
    pub check: CheckConfig,
    /// Data subject requests (`[dsar]`): terms the law leaves open, systems outside
    /// Custodia to call.
    pub dsar: DsarConfig,
}

/// Settings of data subject requests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DsarConfig {
    /// Days to answer under the PIPL (it names no number; default 15).
    pub pipl_days: u32,
    /// Systems outside Custodia that hold the subject's data (`[[dsar.targets]]`).
    pub targets: Vec<ExternalTarget>,
    /// What an erasure does to a model trained on the subject.
    pub retrain: Retrain,
}

/// What an erasure does to a model whose training manifest lists the subject.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retrain {
    /// Flag it and rerun its pipeline in the same job (the default).
    Now,
    /// Flag it; the team retrains it before the request's deadline (`custodia report` and
    /// `dsar show` list it until then).
    Schedule,
}

impl Default for DsarConfig {
    fn default() -> Self {
        DsarConfig {
            pipl_days: 15,
            targets: Vec::new(),
            retrain: Retrain::Now,
        }
    }
}

/// A system outside Custodia (a CRM, a support desk, a vendor) that a request must reach.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExternalTarget {
    /// Name shown in `dsar show` and certificates.
    pub name: String,
    /// The request kinds it takes part in.
    pub kinds: Vec<crate::dsar::DsarKind>,
    /// How it is called.
    pub call: TargetCall,
    /// What it is told about the person.
    pub send: SendSubject,
}

/// How an external target is called.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TargetCall {
    /// `POST` of a JSON body to an HTTP(S) URL; a 2xx reply is success.
    Webhook {
        /// The URL.
        url: String,
    },
    /// A command (argv, no shell) given the JSON body on stdin; exit 0 is success.
    Command {
        /// Program and arguments.
        argv: Vec<String>,
    },
}

/// What an external target receives about the person.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SendSubject {
    /// Only the SubjectRef (the target keeps a ref-to-record mapping).
    Ref,
    /// The identifier the person gave, too (the target knows people by it).
    Identifier,
}

/// A transfer mechanism in place from one region to another.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transfer {
    /// Region the personal data belongs to.
    pub from: Region,
    /// Region it may be processed or stored in.
    pub to: Region,
    /// `adequacy`, `scc`, `bcr`, `idta`, `cac_standard_contract`, …
    pub mechanism: String,
}

/// Settings of `custodia check`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckConfig {
    /// Buckets and paths code must not read or write (`s3://raw-pii/`, `/mnt/exports/`):
    /// a reference that starts with one of them is a finding.
    pub prohibited_paths: Vec<String>,
    /// Cloud regions code must not name (`us-east-1`): a quoted literal equal to one, or a
    /// storage URL host naming one, is a finding.
    pub prohibited_regions: Vec<String>,
    /// Glob patterns of files `check` skips (relative to the checked folder).
    pub ignore: Vec<String>,
    /// `check data`: columns above this level must be covered by a contract.
    pub max_uncovered_level: Classification,
}

impl Default for CheckConfig {
    fn default() -> Self {
        CheckConfig {
            prohibited_paths: Vec::new(),
            prohibited_regions: Vec::new(),
            ignore: Vec::new(),
            max_uncovered_level: Classification::L1,
        }
    }
}

/// Purposes `custodia init` declares: the common ML and product uses, and the CCPA/CPRA
/// "sale or sharing" purpose a Global Privacy Control signal opts out of.
pub const DEFAULT_PURPOSES: &[&str] = &[
    "personalization",
    "model_training",
    "analytics",
    "fraud_detection",
    "marketing",
    "sale_sharing",
];

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    store: Option<RawStore>,
    regions: Option<RawRegions>,
    audit: Option<RawAudit>,
    purposes: Option<RawPurposes>,
    transfers: Option<Vec<RawTransfer>>,
    check: Option<RawCheck>,
    dsar: Option<RawDsar>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDsar {
    pipl_days: Option<u32>,
    retrain: Option<String>,
    #[serde(default)]
    targets: Vec<RawTarget>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTarget {
    name: String,
    kinds: Vec<String>,
    url: Option<String>,
    command: Option<Vec<String>>,
    send: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTransfer {
    from: String,
    to: String,
    mechanism: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCheck {
    #[serde(default)]
    prohibited_paths: Vec<String>,
    #[serde(default)]
    prohibited_regions: Vec<String>,
    #[serde(default)]
    ignore: Vec<String>,
    max_uncovered_level: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPurposes {
    names: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStore {
    url: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRegions {
    names: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAudit {
    origin: String,
}

fn locate(file: &str, text: &str, offset: usize) -> Located {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() as u64 + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) as u64 + 1;
    Located {
        file: file.to_string(),
        line,
        column,
    }
}

/// Where `key = …` appears inside `[section]` in `text` (for errors about a value that
/// parsed but is invalid); the section header when the key is not written out.
fn key_offset(text: &str, section: &str, key: &str) -> usize {
    key_offset_nth(text, section, 0, key)
}

/// The offset of `key` in the `nth` (from 0) table named `section` (`[[array]]` tables
/// repeat), or of that table's header when the key is missing.
fn key_offset_nth(text: &str, section: &str, nth: usize, key: &str) -> usize {
    let mut offset = 0;
    let mut in_section = false;
    let mut header = 0;
    let mut seen = 0;
    for line in text.split_inclusive('\n') {
        let t = line.trim_start();
        if t.starts_with('[') {
            in_section = t
                .trim_end()
                .trim_end_matches(']')
                .trim_start_matches('[')
                .trim()
                == section;
            if in_section {
                seen += 1;
                in_section = seen == nth + 1;
            }
            if in_section {
                header = offset;
            }
        } else if in_section && t.starts_with(key) && t[key.len()..].trim_start().starts_with('=') {
            return offset + (line.len() - t.len());
        }
        offset += line.len();
    }
    header
}

fn parse_dsar(
    d: RawDsar,
    field_error: &dyn Fn(&str, &str, String, &str) -> CoreError,
    target_error: &dyn Fn(usize, &str, String, &str) -> CoreError,
) -> Result<DsarConfig, CoreError> {
    let pipl_days = d.pipl_days.unwrap_or(15);
    if !(1..=365).contains(&pipl_days) {
        return Err(field_error(
            "dsar",
            "pipl_days",
            format!("{pipl_days} days is not a term"),
            "give a number of days from 1 to 365 (15 if unsure)",
        ));
    }
    let mut targets: Vec<ExternalTarget> = Vec::new();
    for (n, t) in d.targets.into_iter().enumerate() {
        let field = |key: &str, message: String, fix: &str| target_error(n, key, message, fix);
        if crate::Purpose::new(&t.name).is_err() {
            return Err(field(
                "name",
                format!("{:?} is not a target name", t.name),
                "use lower-case snake case, e.g. \"crm\" or \"support_desk\"",
            ));
        }
        if targets.iter().any(|o| o.name == t.name) {
            return Err(field(
                "name",
                format!("target {:?} is declared twice", t.name),
                "give each target its own name",
            ));
        }
        let kinds = t
            .kinds
            .iter()
            .map(|k| crate::dsar::DsarKind::parse(k))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| {
                field(
                    "kinds",
                    e.to_string(),
                    "list access, portability, erasure, rectification or objection",
                )
            })?;
        if kinds.is_empty() {
            return Err(field(
                "kinds",
                format!("target {:?} takes part in no request", t.name),
                "list the request kinds it serves, e.g. kinds = [\"erasure\", \"access\"]",
            ));
        }
        let call = match (t.url, t.command) {
            (Some(url), None) => {
                if !(url.starts_with("http://") || url.starts_with("https://")) {
                    return Err(field(
                        "url",
                        format!("target {:?}: {url:?} is not an http(s) URL", t.name),
                        "use https://host/path",
                    ));
                }
                if url
                    .split_once("://")
                    .is_some_and(|(_, rest)| rest.split('/').next().unwrap_or("").contains('@'))
                {
                    return Err(field(
                        "url",
                        format!("target {:?}: the URL carries credentials", t.name),
                        "remove user:password@ from the URL; authenticate with a token the endpoint takes in its path or with a command target",
                    ));
                }
                TargetCall::Webhook { url }
            }
            (None, Some(argv)) if !argv.is_empty() && !argv[0].is_empty() => {
                TargetCall::Command { argv }
            }
            (None, Some(_)) => {
                return Err(field(
                    "command",
                    format!("target {:?} has an empty command", t.name),
                    "give the program and its arguments, e.g. command = [\"scripts/erase.sh\"]",
                ))
            }
            _ => {
                return Err(field(
                    "url",
                    format!("target {:?} needs exactly one of url and command", t.name),
                    "set url = \"https://…\" for a webhook or command = [\"prog\", \"arg\"]",
                ))
            }
        };
        let send = match t.send.as_deref() {
            None | Some("subject_ref") => SendSubject::Ref,
            Some("identifier") => SendSubject::Identifier,
            Some(other) => {
                return Err(field(
                    "send",
                    format!("{other:?} is not what a target can be sent"),
                    "use \"subject_ref\" (default) or \"identifier\"",
                ))
            }
        };
        targets.push(ExternalTarget {
            name: t.name,
            kinds,
            call,
            send,
        });
    }
    let retrain = match d.retrain.as_deref() {
        None | Some("now") => Retrain::Now,
        Some("schedule") => Retrain::Schedule,
        Some(other) => {
            return Err(field_error(
                "dsar",
                "retrain",
                format!("{other:?} is not a retraining policy"),
                "use \"now\" (rerun the model's pipeline in the erasure) or \"schedule\" (flag it for the team)",
            ))
        }
    };
    Ok(DsarConfig {
        pipl_days,
        targets,
        retrain,
    })
}

impl WorkspaceConfig {
    /// The configuration `custodia init` writes.
    pub fn with_defaults(regions: Vec<Region>, store_url: Option<String>) -> WorkspaceConfig {
        WorkspaceConfig {
            store_url: store_url.unwrap_or_else(|| DEFAULT_STORE_URL.to_string()),
            regions,
            audit_origin: "custodia.local/audit".to_string(),
            purposes: DEFAULT_PURPOSES
                .iter()
                .map(|p| Purpose::new(p).expect("default purposes are valid"))
                .collect(),
            transfers: Vec::new(),
            check: CheckConfig::default(),
            dsar: DsarConfig::default(),
        }
    }

    /// Parses `custodia.toml` text; `file` is how the user names the file (for errors).
    pub fn parse(file: &str, text: &str) -> Result<WorkspaceConfig, CoreError> {
        let raw: Raw = toml::from_str(text).map_err(|e| {
            let at = locate(file, text, e.span().map_or(0, |s| s.start));
            CoreError::ConfigSyntax {
                at,
                message: e.message().trim_end().to_string(),
                fix: "see docs/WORKSPACE.md for the keys custodia.toml accepts".into(),
            }
        })?;
        let field_error =
            |section: &str, key: &str, message: String, fix: &str| CoreError::ConfigField {
                at: locate(file, text, key_offset(text, section, key)),
                key: format!("[{section}] {key}"),
                message,
                fix: fix.to_string(),
            };
        let store_url = raw
            .store
            .map(|s| s.url)
            .unwrap_or_else(|| DEFAULT_STORE_URL.to_string());
        let scheme_ok = store_url.starts_with("sqlite://")
            || store_url.starts_with("postgres://")
            || store_url.starts_with("postgresql://");
        if !scheme_ok {
            let scheme = store_url.split(':').next().unwrap_or("");
            return Err(field_error(
                "store",
                "url",
                format!("store scheme `{scheme}` is not supported"),
                "use `sqlite://.custodia/custodia.db` or `postgres://user@host/db`",
            ));
        }
        let has_password = store_url
            .split_once("://")
            .map(|(_, rest)| rest.split('/').next().unwrap_or(""))
            .and_then(|authority| authority.rsplit_once('@'))
            .is_some_and(|(userinfo, _)| userinfo.contains(':'));
        if has_password {
            return Err(field_error(
                "store",
                "url",
                "the store URL holds a password, which custodia.toml (shared, often in git) must not".into(),
                "remove it from the URL and put it in PGPASSWORD or ~/.pgpass",
            ));
        }
        let names = raw
            .regions
            .map(|r| r.names)
            .unwrap_or_else(|| vec!["eu".into(), "us".into()]);
        if names.is_empty() {
            return Err(field_error(
                "regions",
                "names",
                "no regions".into(),
                "list at least one, e.g. names = [\"eu\", \"us\"]",
            ));
        }
        let mut regions = Vec::new();
        for n in &names {
            let r = Region::new(n).map_err(|e| {
                field_error(
                    "regions",
                    "names",
                    e.to_string(),
                    "regions are lower-case codes such as \"eu\" or \"us-west\"",
                )
            })?;
            if regions.contains(&r) {
                return Err(field_error(
                    "regions",
                    "names",
                    format!("region {n:?} is listed twice"),
                    "list each region once",
                ));
            }
            regions.push(r);
        }
        let audit_origin = raw
            .audit
            .map(|a| a.origin)
            .unwrap_or_else(|| "custodia.local/audit".to_string());
        // The origin also names the checkpoint signing key (C2SP signed-note key names:
        // no whitespace, no `+`).
        if audit_origin.is_empty()
            || audit_origin.contains(char::is_whitespace)
            || audit_origin.contains('+')
        {
            return Err(field_error(
                "audit",
                "origin",
                format!("audit origin {audit_origin:?} must be one word without `+`"),
                "use a name like \"custodia.example.com/ml-platform\"",
            ));
        }
        let mut purposes = Vec::new();
        for n in raw.purposes.map(|p| p.names).unwrap_or_default() {
            let p = Purpose::new(&n).map_err(|e| {
                field_error(
                    "purposes",
                    "names",
                    e.to_string(),
                    "purposes are lower-case snake case, e.g. \"model_training\"",
                )
            })?;
            if purposes.contains(&p) {
                return Err(field_error(
                    "purposes",
                    "names",
                    format!("purpose {n:?} is listed twice"),
                    "list each purpose once",
                ));
            }
            purposes.push(p);
        }
        let mut transfers = Vec::new();
        for t in raw.transfers.unwrap_or_default() {
            let region = |key: &str, v: &str| {
                Region::new(v).map_err(|e| {
                    field_error(
                        "transfers",
                        key,
                        e.to_string(),
                        "regions are lower-case codes such as \"eu\" or \"us\"",
                    )
                })
            };
            let (from, to) = (region("from", &t.from)?, region("to", &t.to)?);
            let token = !t.mechanism.is_empty()
                && t.mechanism
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
            if !token {
                return Err(field_error(
                    "transfers",
                    "mechanism",
                    format!("mechanism {:?} is not a lower-case name", t.mechanism),
                    "use adequacy, scc, bcr, idta, derogation, cac_assessment, cac_standard_contract or certification",
                ));
            }
            if from == to {
                return Err(field_error(
                    "transfers",
                    "to",
                    format!("a transfer from {from} to itself"),
                    "name two different regions",
                ));
            }
            transfers.push(Transfer {
                from,
                to,
                mechanism: t.mechanism,
            });
        }
        let check = match raw.check {
            None => CheckConfig::default(),
            Some(c) => CheckConfig {
                max_uncovered_level: match c.max_uncovered_level {
                    None => Classification::L1,
                    Some(l) => l.parse().map_err(|_| {
                        field_error(
                            "check",
                            "max_uncovered_level",
                            format!("{l:?} is not a classification"),
                            "use \"L0\", \"L1\", \"L2\" or \"L3\"",
                        )
                    })?,
                },
                prohibited_paths: c.prohibited_paths,
                prohibited_regions: c.prohibited_regions,
                ignore: c.ignore,
            },
        };
        if let Some(p) = check.prohibited_paths.iter().find(|p| p.trim().is_empty()) {
            return Err(field_error(
                "check",
                "prohibited_paths",
                format!("{p:?} would match every path"),
                "list bucket or folder prefixes such as \"s3://raw-pii/\"",
            ));
        }
        let dsar = match raw.dsar {
            None => DsarConfig::default(),
            Some(d) => parse_dsar(d, &field_error, &|n, key, message, fix| {
                CoreError::ConfigField {
                    at: locate(file, text, key_offset_nth(text, "dsar.targets", n, key)),
                    key: format!("[[dsar.targets]] {key}"),
                    message,
                    fix: fix.to_string(),
                }
            })?,
        };
        Ok(WorkspaceConfig {
            store_url,
            regions,
            audit_origin,
            purposes,
            transfers,
            check,
            dsar,
        })
    }

    /// The file's text, with comments that teach each key.
    pub fn to_toml(&self) -> String {
        let regions: Vec<String> = self
            .regions
            .iter()
            .map(|r| format!("{:?}", r.as_str()))
            .collect();
        format!(
            "# Custodia workspace configuration (docs/WORKSPACE.md).\n\
             \n\
             [store]\n\
             # Metadata store: an SQLite file in the workspace, or postgres://user@host/db.\n\
             url = {:?}\n\
             \n\
             [regions]\n\
             # Each region has its own keys; personal data stays in its region. The first is\n\
             # the default.\n\
             names = [{}]\n\
             \n\
             [audit]\n\
             # Names this audit log in signed checkpoints.\n\
             origin = {:?}\n\
             \n\
             [purposes]\n\
             # What data may be used for here. Contracts and consent events naming another\n\
             # purpose are refused; remove this section to allow any.\n\
             names = [{}]\n{}{}{}",
            self.store_url,
            regions.join(", "),
            self.audit_origin,
            self.purposes
                .iter()
                .map(|p| format!("{:?}", p.as_str()))
                .collect::<Vec<_>>()
                .join(", "),
            self.transfers_toml(),
            self.check_toml(),
            self.dsar_toml(),
        )
    }

    fn dsar_toml(&self) -> String {
        let mut out = format!(
            "\n[dsar]\n\
             # Data subject requests (docs/dsar.md). Days to answer under the PIPL, which names\n\
             # no term.\n\
             pipl_days = {}\n\
             # Models trained on an erased subject: \"now\" reruns their pipeline in the\n\
             # erasure, \"schedule\" flags them for the team to retrain before the deadline.\n\
             retrain = {:?}\n\
             # Systems outside Custodia a request must reach: an HTTP webhook (POST, JSON body)\n\
             # or a command (JSON on stdin), retried with backoff; send = \"identifier\" adds\n\
             # the identifier the person gave to the subject's ref.\n",
            self.dsar.pipl_days,
            match self.dsar.retrain {
                Retrain::Now => "now",
                Retrain::Schedule => "schedule",
            }
        );
        if self.dsar.targets.is_empty() {
            out.push_str(
                "# [[dsar.targets]]\n# name = \"crm\"\n# kinds = [\"erasure\", \"access\"]\n# url = \"https://crm.internal/privacy/requests\"\n# send = \"identifier\"\n",
            );
        }
        for t in &self.dsar.targets {
            let kinds: Vec<String> = t
                .kinds
                .iter()
                .map(|k| format!("{:?}", k.as_str()))
                .collect();
            out.push_str(&format!(
                "[[dsar.targets]]\nname = {:?}\nkinds = [{}]\n",
                t.name,
                kinds.join(", ")
            ));
            match &t.call {
                TargetCall::Webhook { url } => out.push_str(&format!("url = {url:?}\n")),
                TargetCall::Command { argv } => out.push_str(&format!(
                    "command = [{}]\n",
                    argv.iter()
                        .map(|a| format!("{a:?}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                )),
            }
            out.push_str(match t.send {
                SendSubject::Ref => "send = \"subject_ref\"\n",
                SendSubject::Identifier => "send = \"identifier\"\n",
            });
        }
        out
    }

    fn transfers_toml(&self) -> String {
        let mut out = String::from(
            "\n# Cross-region transfers you have a legal mechanism for (policy checks that each\n\
             # applicable law accepts it). Personal data never leaves its region otherwise.\n",
        );
        if self.transfers.is_empty() {
            out.push_str(
                "# [[transfers]]\n# from = \"eu\"\n# to = \"us\"\n# mechanism = \"scc\"\n",
            );
        }
        for t in &self.transfers {
            out.push_str(&format!(
                "[[transfers]]\nfrom = {:?}\nto = {:?}\nmechanism = {:?}\n",
                t.from.as_str(),
                t.to.as_str(),
                t.mechanism
            ));
        }
        out
    }

    fn check_toml(&self) -> String {
        let list = |v: &[String]| {
            v.iter()
                .map(|s| format!("{s:?}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        format!(
            "\n[check]\n\
             # custodia check: buckets/paths and cloud regions code must not touch, files to skip,\n\
             # and the highest level a column may have without a contract (check data).\n\
             prohibited_paths = [{}]\n\
             prohibited_regions = [{}]\n\
             ignore = [{}]\n\
             max_uncovered_level = {:?}\n",
            list(&self.check.prohibited_paths),
            list(&self.check.prohibited_regions),
            list(&self.check.ignore),
            self.check.max_uncovered_level.as_str()
        )
    }

    /// Whether `purpose` may be used here (always, when no purposes are declared).
    pub fn allows_purpose(&self, purpose: &Purpose) -> bool {
        self.purposes.is_empty() || self.purposes.contains(purpose)
    }

    /// The default region (the first listed).
    pub fn default_region(&self) -> &Region {
        &self.regions[0]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_round_trip() {
        let c = WorkspaceConfig::with_defaults(
            vec![Region::new("eu").unwrap(), Region::new("us").unwrap()],
            None,
        );
        let parsed = WorkspaceConfig::parse("custodia.toml", &c.to_toml()).unwrap();
        assert_eq!(parsed, c);
        let mut c2 = c.clone();
        c2.transfers.push(Transfer {
            from: Region::new("eu").unwrap(),
            to: Region::new("us").unwrap(),
            mechanism: "scc".into(),
        });
        c2.check.prohibited_paths.push("s3://raw-pii/".into());
        c2.check.max_uncovered_level = Classification::L2;
        assert_eq!(
            WorkspaceConfig::parse("custodia.toml", &c2.to_toml()).unwrap(),
            c2
        );
        let e = WorkspaceConfig::parse(
            "c.toml",
            "[[transfers]]\nfrom = \"eu\"\nto = \"us\"\nmechanism = \"Pinky Promise\"\n",
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.starts_with("c.toml:4:1:") && e.contains("[transfers] mechanism"),
            "{e}"
        );
        let e = WorkspaceConfig::parse("c.toml", "[check]\nmax_uncovered_level = \"L7\"\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("c.toml:2:1") && e.contains("L7"), "{e}");
        assert_eq!(parsed.default_region().as_str(), "eu");
        assert_eq!(
            WorkspaceConfig::parse("c.toml", "").unwrap().store_url,
            DEFAULT_STORE_URL
        );
    }

    #[test]
    fn errors_name_file_line_key_and_fix() {
        let e =
            WorkspaceConfig::parse("custodia.toml", "[store]\nurl = \"sqlite://x\"\nurll = 1\n")
                .unwrap_err()
                .to_string();
        assert!(
            e.starts_with("custodia.toml:3:1:") && e.contains("urll"),
            "{e}"
        );
        let e = WorkspaceConfig::parse("c.toml", "[store]\nurl = \"mysql://h/db\"\n")
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("c.toml:2:1:")
                && e.contains("`[store] url`")
                && e.contains("postgres://"),
            "{e}"
        );
        let e = WorkspaceConfig::parse("c.toml", "[regions]\nnames = [\"eu\", \"EU\"]\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("c.toml:2:1") && e.contains("\"EU\""), "{e}");
        let e = WorkspaceConfig::parse("c.toml", "[regions]\nnames = [\"eu\", \"eu\"]\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("twice"), "{e}");
        let e = WorkspaceConfig::parse("c.toml", "[store\nurl = 1")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("c.toml:1:"), "{e}");
    }

    #[test]
    fn dsar_targets_round_trip_and_bad_ones_name_their_line() {
        let mut c = WorkspaceConfig::with_defaults(vec![Region::new("eu").unwrap()], None);
        c.dsar.pipl_days = 20;
        c.dsar.retrain = Retrain::Schedule;
        c.dsar.targets.push(ExternalTarget {
            name: "crm".into(),
            kinds: vec![
                crate::dsar::DsarKind::Erasure,
                crate::dsar::DsarKind::Access,
            ],
            call: TargetCall::Webhook {
                url: "http://127.0.0.1:9/privacy".into(),
            },
            send: SendSubject::Identifier,
        });
        c.dsar.targets.push(ExternalTarget {
            name: "vendor".into(),
            kinds: vec![crate::dsar::DsarKind::Erasure],
            call: TargetCall::Command {
                argv: vec!["scripts/erase.sh".into(), "--now".into()],
            },
            send: SendSubject::Ref,
        });
        assert_eq!(WorkspaceConfig::parse("c.toml", &c.to_toml()).unwrap(), c);
        let two = "[[dsar.targets]]\nname = \"crm\"\nkinds = [\"erasure\"]\nurl = \"https://a/b\"\n\n[[dsar.targets]]\nname = \"desk\"\nkinds = [\"erasure\"]\nurl = \"ftp://desk/x\"\n";
        let e = WorkspaceConfig::parse("c.toml", two)
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("c.toml:9:1:") && e.contains("not an http(s) URL"),
            "{e}"
        );
        for (bad, want) in [
            (
                "name = \"crm\"\nkinds = [\"erase\"]\nurl = \"https://a\"",
                "kinds",
            ),
            (
                "name = \"crm\"\nkinds = []\nurl = \"https://a\"",
                "no request",
            ),
            (
                "name = \"crm\"\nkinds = [\"erasure\"]",
                "exactly one of url and command",
            ),
            (
                "name = \"crm\"\nkinds = [\"erasure\"]\nurl = \"https://u:pw@a/x\"",
                "credentials",
            ),
            (
                "name = \"CRM\"\nkinds = [\"erasure\"]\nurl = \"https://a\"",
                "not a target name",
            ),
            (
                "name = \"crm\"\nkinds = [\"erasure\"]\ncommand = []",
                "empty command",
            ),
            (
                "name = \"crm\"\nkinds = [\"erasure\"]\nurl = \"https://a\"\nsend = \"email\"",
                "subject_ref",
            ),
        ] {
            let e = WorkspaceConfig::parse("c.toml", &format!("[[dsar.targets]]\n{bad}\n"))
                .unwrap_err()
                .to_string();
            assert!(e.contains(want) && e.contains("dsar.targets"), "{bad}: {e}");
        }
        let e = WorkspaceConfig::parse("c.toml", "[dsar]\npipl_days = 0\n")
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("c.toml:2:1:") && e.contains("pipl_days"),
            "{e}"
        );
    }
}
