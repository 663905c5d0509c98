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
    let mut offset = 0;
    let mut in_section = false;
    let mut header = 0;
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
                header = offset;
            }
        } else if in_section && t.starts_with(key) && t[key.len()..].trim_start().starts_with('=') {
            return offset + (line.len() - t.len());
        }
        offset += line.len();
    }
    header
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
        Ok(WorkspaceConfig {
            store_url,
            regions,
            audit_origin,
            purposes,
            transfers,
            check,
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
             names = [{}]\n{}{}",
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
        )
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
}
