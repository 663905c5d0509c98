//! Contracts in a workspace: validated against the workspace (its regions), registered in
//! the store as versions, audited.

use std::{
    collections::BTreeMap,
    fs,
    path::{Path, PathBuf},
};

use custodia_core::{config::WorkspaceConfig, Contract, Region};
use custodia_store::{ContractRecord, Registered};
use sha2::{Digest, Sha256};

use crate::{audit_log::NewEntry, workspace::Workspace, EngineError};

/// The YAML files named by `paths` (files, or folders searched for `*.yaml` / `*.yml`).
pub fn contract_files(paths: &[PathBuf]) -> Result<Vec<PathBuf>, EngineError> {
    let mut out = Vec::new();
    for p in paths {
        if p.is_dir() {
            let mut found: Vec<PathBuf> = fs::read_dir(p)
                .map_err(|e| EngineError::io(p, e))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|f| f.extension().is_some_and(|x| x == "yaml" || x == "yml"))
                .collect();
            found.sort();
            out.extend(found);
        } else {
            out.push(p.clone());
        }
    }
    Ok(out)
}

/// Parses and checks one contract file; with a workspace's configuration, its region and
/// purposes must be the workspace's.
pub fn validate_file(
    path: &Path,
    config: Option<&WorkspaceConfig>,
) -> Result<Contract, EngineError> {
    let text = fs::read_to_string(path).map_err(|e| EngineError::io(path, e))?;
    let c = Contract::parse(&path.display().to_string(), &text)?;
    if let Some(config) = config {
        for p in &c.purposes {
            if !config.allows_purpose(&p.purpose) {
                let name = p.purpose.as_str();
                let line = text
                    .lines()
                    .position(|l| {
                        let t = l.trim_start().trim_start_matches("- ");
                        t.starts_with("name:")
                            && t["name:".len()..].trim().trim_matches(['"', '\'']) == name
                    })
                    .map_or(0, |i| i as u64 + 1);
                return Err(EngineError::BadInput {
                    path: path.to_path_buf(),
                    line,
                    message: format!(
                        "purpose \"{name}\" is not a purpose of this workspace ({}); fix: use one of them or add it to [purposes] in custodia.toml",
                        config.purposes.iter().map(|p| p.as_str()).collect::<Vec<_>>().join(", ")
                    ),
                });
            }
        }
    }
    let regions = config.map(|c| c.regions.as_slice());
    if let (Some(regions), Some(region)) = (regions, &c.region) {
        if !regions.contains(region) {
            let line = text
                .lines()
                .position(|l| l.trim_start().starts_with("region:"))
                .map_or(0, |i| i as u64 + 1);
            return Err(EngineError::BadInput {
                path: path.to_path_buf(),
                line,
                message: format!(
                    "field `region`: \"{region}\" is not a region of this workspace ({}); fix: use one of them or add it to [regions] in custodia.toml",
                    regions.iter().map(Region::as_str).collect::<Vec<_>>().join(", ")
                ),
            });
        }
    }
    Ok(c)
}

/// Validates every file ([`validate_file`]) and checks that no two govern the same
/// dataset, which would make one silently overwrite the other's version on apply.
pub fn validate_all(
    files: &[PathBuf],
    config: Option<&WorkspaceConfig>,
) -> Vec<(PathBuf, Result<Contract, EngineError>)> {
    let mut out: Vec<(PathBuf, Result<Contract, EngineError>)> = Vec::new();
    let mut seen: BTreeMap<String, PathBuf> = BTreeMap::new();
    for f in files {
        let mut r = validate_file(f, config);
        if let Ok(c) = &r {
            if let Some(first) = seen.get(&c.dataset) {
                r = Err(EngineError::BadInput {
                    path: f.clone(),
                    line: dataset_line(f),
                    message: format!(
                        "field `dataset`: \"{}\" is also governed by {}; fix: one contract per dataset — merge the two files or rename one dataset",
                        c.dataset,
                        first.display()
                    ),
                });
            } else {
                seen.insert(c.dataset.clone(), f.clone());
            }
        }
        out.push((f.clone(), r));
    }
    out
}

fn dataset_line(path: &Path) -> u64 {
    fs::read_to_string(path)
        .ok()
        .and_then(|t| {
            t.lines()
                .position(|l| l.trim_start().starts_with("dataset:"))
        })
        .map_or(0, |i| i as u64 + 1)
}

/// What `contract apply` did to one file.
#[derive(Debug, Clone)]
pub struct Applied {
    /// The file.
    pub path: PathBuf,
    /// The dataset it governs.
    pub dataset: String,
    /// New, changed (a new version) or unchanged.
    pub outcome: Registered,
}

impl Workspace {
    /// Validates every file first, then registers each (a new version when it changed),
    /// with one audit entry per new version. A file that fails validation registers nothing.
    pub async fn apply_contracts(&self, paths: &[PathBuf]) -> Result<Vec<Applied>, EngineError> {
        let files = contract_files(paths)?;
        if files.is_empty() {
            return Err(EngineError::Workspace(
                "no contract files (*.yaml) found; put contracts in contracts/ and run `custodia contract apply contracts/`".into(),
            ));
        }
        let mut parsed = Vec::new();
        for (f, c) in validate_all(&files, Some(self.config())) {
            let c = c?;
            let f = &f;
            let body = fs::read_to_string(f).map_err(|e| EngineError::io(f, e))?;
            parsed.push((f.clone(), c, body));
        }
        let mut out = Vec::new();
        let mut entries = Vec::new();
        // Every file registers, with its audit entry, in one transaction: all or none.
        let mut tx = self.store().begin_write().await?;
        for (path, c, body) in parsed {
            let hash = hex::encode(Sha256::digest(body.as_bytes()));
            let outcome = tx.register_contract(&c.dataset, &hash, &body).await?;
            if let Registered::New(v) | Registered::Changed(v) = outcome {
                let mut counts = BTreeMap::new();
                counts.insert("version".into(), v as u64);
                counts.insert("columns".into(), c.columns.len() as u64);
                counts.insert("purposes".into(), c.purposes.len() as u64);
                let mut details = BTreeMap::new();
                details.insert("sha256".into(), hash);
                details.insert(
                    "file".into(),
                    path.file_name()
                        .map(|f| f.to_string_lossy().into_owned())
                        .unwrap_or_default(),
                );
                entries.push(NewEntry {
                    action: "contract.register".into(),
                    object: format!("contract:{}", c.dataset),
                    subjects: vec![],
                    counts,
                    details,
                });
            }
            out.push(Applied {
                path,
                dataset: c.dataset,
                outcome,
            });
        }
        if entries.is_empty() {
            drop(tx);
        } else {
            self.commit_recorded(tx, entries).await?;
        }
        Ok(out)
    }

    /// Latest version of every registered contract.
    pub async fn contracts(&self) -> Result<Vec<ContractRecord>, EngineError> {
        Ok(self.store().contracts().await?)
    }

    /// Every version of one contract.
    pub async fn contract_versions(&self, name: &str) -> Result<Vec<ContractRecord>, EngineError> {
        let v = self.store().contract_versions(name).await?;
        if v.is_empty() {
            return Err(EngineError::Workspace(format!(
                "no contract named {name:?} is registered; see `custodia contract list`"
            )));
        }
        Ok(v)
    }
}
