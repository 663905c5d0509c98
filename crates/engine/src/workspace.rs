//! A workspace on disk (DESIGN.md, "Layout on disk"): `custodia.toml`, `contracts/`,
//! `pipelines/`, `policies/`, and `.custodia/` with the store, keys and data.

use std::{
    collections::BTreeMap,
    fs,
    path::{Path, PathBuf},
};

use custodia_core::{
    config::{WorkspaceConfig, CONFIG_FILE},
    keys::MasterKey,
    Region, SubjectId, SubjectRef,
};
use custodia_store::{Store, WriteTx};

use crate::{
    audit_log::{self, NewEntry},
    keys::{load_master_key, IfMissing},
    EngineError,
};

/// An open workspace: its configuration, its store and its master key.
pub struct Workspace {
    root: PathBuf,
    config: WorkspaceConfig,
    store: Store,
    master: MasterKey,
    actor: String,
}

/// What `custodia init` should set up.
#[derive(Debug, Clone, Default)]
pub struct InitOptions {
    /// Regions (default `eu`, `us`).
    pub regions: Option<Vec<Region>>,
    /// Store URL (default the SQLite file in `.custodia/`).
    pub store_url: Option<String>,
}

/// What `custodia init` did.
#[derive(Debug, Clone)]
pub struct InitReport {
    /// Whether the workspace existed already (init is idempotent).
    pub existed: bool,
    /// Folders created.
    pub created: Vec<String>,
    /// The configuration in force.
    pub config: WorkspaceConfig,
    /// Whether a master key file was created (false with `CUSTODIA_MASTER_KEY`).
    pub master_key_created: bool,
}

const FOLDERS: &[&str] = &[
    "contracts",
    "pipelines",
    "policies",
    ".custodia",
    ".custodia/keys",
    ".custodia/data",
    ".custodia/models",
];

/// Who is acting, for audit entries: `CUSTODIA_ACTOR`, else the OS user.
fn actor() -> String {
    std::env::var("CUSTODIA_ACTOR")
        .or_else(|_| std::env::var("USER"))
        .unwrap_or_else(|_| "unknown".into())
}

/// An SQLite URL relative to the workspace becomes absolute, so commands work from any
/// folder.
fn resolve_url(root: &Path, url: &str) -> String {
    match url.strip_prefix("sqlite://") {
        Some(path) if !Path::new(path).is_absolute() => {
            format!("sqlite://{}", root.join(path).display())
        }
        _ => url.to_string(),
    }
}

/// The nearest folder at or above `start` holding a `custodia.toml`.
fn find_root(start: &Path) -> Option<PathBuf> {
    start
        .ancestors()
        .find(|d| d.join(CONFIG_FILE).is_file())
        .map(Path::to_path_buf)
}

fn read_config(root: &Path) -> Result<WorkspaceConfig, EngineError> {
    let config_path = root.join(CONFIG_FILE);
    let text = fs::read_to_string(&config_path).map_err(|e| EngineError::io(&config_path, e))?;
    Ok(WorkspaceConfig::parse(
        &config_path.display().to_string(),
        &text,
    )?)
}

/// The root and configuration of the workspace at or above `dir`, without opening its
/// store or needing its master key: what checks that only need the files (`contract
/// validate`, `policy test`, `check` in CI) use. `None` when there is no workspace; an
/// invalid `custodia.toml` is an error.
pub fn find_config(dir: &Path) -> Result<Option<(PathBuf, WorkspaceConfig)>, EngineError> {
    let start = dir.canonicalize().map_err(|e| EngineError::io(dir, e))?;
    find_root(&start)
        .map(|root| read_config(&root).map(|c| (root, c)))
        .transpose()
}

impl Workspace {
    /// Creates (or completes) a workspace in `dir`. Idempotent: an existing workspace keeps
    /// its configuration and keys.
    pub async fn init(
        dir: &Path,
        options: InitOptions,
    ) -> Result<(Workspace, InitReport), EngineError> {
        fs::create_dir_all(dir).map_err(|e| EngineError::io(dir, e))?;
        let root = dir.canonicalize().map_err(|e| EngineError::io(dir, e))?;
        let mut created = Vec::new();
        for f in FOLDERS {
            let p = root.join(f);
            if !p.exists() {
                fs::create_dir_all(&p).map_err(|e| EngineError::io(&p, e))?;
                created.push((*f).to_string());
            }
        }
        // Keys, the store file and data never belong in the user's git repository.
        let ignore = root.join(".custodia/.gitignore");
        if !ignore.exists() {
            crate::write_atomic(&ignore, b"*\n")?;
        }
        let config_path = root.join(CONFIG_FILE);
        let existed = config_path.exists();
        if existed && (options.regions.is_some() || options.store_url.is_some()) {
            return Err(EngineError::Workspace(format!(
                "{} is already a workspace; --region and --store only apply to a new one: edit {CONFIG_FILE} instead and rerun `custodia init`",
                root.display()
            )));
        }
        if !existed {
            let regions = options.regions.clone().unwrap_or_else(|| {
                vec![
                    Region::new("eu").expect("valid"),
                    Region::new("us").expect("valid"),
                ]
            });
            let config = WorkspaceConfig::with_defaults(regions, options.store_url.clone());
            crate::write_atomic(&config_path, config.to_toml().as_bytes())?;
            // Configuration is shared (it belongs in git); only keys are private.
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                fs::set_permissions(&config_path, fs::Permissions::from_mode(0o644))
                    .map_err(|e| EngineError::io(&config_path, e))?;
            }
        }
        let key_existed = crate::keys::key_path(&root).exists();
        // A workspace that exists keeps its key: a missing key file there is an error to
        // fix (restore it or set CUSTODIA_MASTER_KEY), never a reason to mint a new one.
        let if_missing = if existed {
            IfMissing::Fail
        } else {
            IfMissing::Create
        };
        let ws = match Workspace::open_at(&root, if_missing).await {
            Ok(ws) => ws,
            Err(e) => {
                // A new workspace whose store cannot be opened leaves no config behind (it
                // may hold a database URL with a password).
                if !existed {
                    let _ = fs::remove_file(&config_path);
                }
                return Err(e);
            }
        };
        let mut tx = ws.store.begin_write().await?;
        for r in &ws.config.regions {
            tx.ensure_region(r.as_str()).await?;
        }
        let master_key_created = !key_existed && crate::keys::key_path(&root).exists();
        let mut counts = BTreeMap::new();
        counts.insert("regions".to_string(), ws.config.regions.len() as u64);
        counts.insert("folders_created".to_string(), created.len() as u64);
        let mut details = BTreeMap::new();
        details.insert("store".to_string(), ws.store_kind().to_string());
        details.insert(
            "regions".to_string(),
            ws.config
                .regions
                .iter()
                .map(Region::as_str)
                .collect::<Vec<_>>()
                .join(","),
        );
        ws.commit_recorded(
            tx,
            vec![NewEntry {
                action: if existed {
                    "workspace.reinit"
                } else {
                    "workspace.init"
                }
                .into(),
                object: "workspace".into(),
                subjects: vec![],
                counts,
                details,
            }],
        )
        .await?;
        let report = InitReport {
            existed,
            created,
            config: ws.config.clone(),
            master_key_created,
        };
        Ok((ws, report))
    }

    /// Opens the workspace whose `custodia.toml` is in `dir` or the nearest folder above it.
    pub async fn open(dir: &Path) -> Result<Workspace, EngineError> {
        let start = dir.canonicalize().map_err(|e| EngineError::io(dir, e))?;
        let root = find_root(&start).ok_or_else(|| {
            EngineError::Workspace(format!(
                "no {CONFIG_FILE} in {} or any folder above it; run `custodia init` first",
                start.display()
            ))
        })?;
        Workspace::open_at(&root, IfMissing::Fail).await
    }

    async fn open_at(root: &Path, if_missing: IfMissing) -> Result<Workspace, EngineError> {
        let config = read_config(root)?;
        let master = load_master_key(root, if_missing)?;
        let store = Store::open(&resolve_url(root, &config.store_url)).await?;
        let ws = Workspace {
            root: root.to_path_buf(),
            config,
            store,
            master,
            actor: actor(),
        };
        ws.check_master_key().await?;
        Ok(ws)
    }

    /// The latest checkpoint in the store was signed with a key derived from the master
    /// key: if this key does not verify it, this is the wrong key (or the audit origin was
    /// changed), and going on would mint SubjectRefs and keys that match nothing.
    async fn check_master_key(&self) -> Result<(), EngineError> {
        if let Some(last) = self.store.audit_checkpoints().await?.last() {
            let verifier = audit_log::signer(self)?.verifier();
            if verifier.verify(&last.note).is_err() {
                return Err(EngineError::Key(format!(
                    "the master key does not match this workspace's store (its last signed checkpoint does not verify with it), or [audit] origin in {CONFIG_FILE} was changed after init; restore .custodia/keys/master.key or set CUSTODIA_MASTER_KEY to this workspace's key, and keep the origin it was created with"
                )));
            }
        }
        Ok(())
    }

    /// Who is acting (`CUSTODIA_ACTOR`, else `$USER`): recorded in audit entries.
    pub fn actor(&self) -> &str {
        &self.actor
    }

    /// The workspace folder.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The configuration.
    pub fn config(&self) -> &WorkspaceConfig {
        &self.config
    }

    /// The metadata store.
    pub fn store(&self) -> &Store {
        &self.store
    }

    pub(crate) fn master(&self) -> &MasterKey {
        &self.master
    }

    /// `sqlite` or `postgres`.
    pub fn store_kind(&self) -> &'static str {
        match self.store.backend() {
            custodia_store::Backend::Sqlite => "sqlite",
            custodia_store::Backend::Postgres => "postgres",
        }
    }

    /// A configured region by name, or the default region.
    pub fn region(&self, name: Option<&str>) -> Result<Region, EngineError> {
        match name {
            None => Ok(self.config.default_region().clone()),
            Some(n) => self
                .config
                .regions
                .iter()
                .find(|r| r.as_str() == n)
                .cloned()
                .ok_or_else(|| {
                    EngineError::Workspace(format!(
                        "region {n:?} is not configured; configured: {}; add it to [regions] names in custodia.toml and rerun `custodia init`",
                        self.config.regions.iter().map(Region::as_str).collect::<Vec<_>>().join(", ")
                    ))
                }),
        }
    }

    /// The SubjectRef of an identifier in a region.
    pub fn subject_ref(&self, id: &SubjectId, region: &Region) -> SubjectRef {
        id.subject_ref(&self.master, region)
    }

    /// The key of `region`'s refs, for computing many.
    pub fn ref_key(&self, region: &Region) -> custodia_core::RefKey {
        custodia_core::RefKey::new(&self.master, region)
    }

    /// Appends entries to the audit log and signs a checkpoint over the new tree, so every
    /// command's actions are covered by a signature as soon as it reports success.
    pub async fn record(&self, entries: Vec<NewEntry>) -> Result<Vec<u64>, EngineError> {
        let indexes = audit_log::append(&self.store, &self.actor, entries).await?;
        audit_log::checkpoint(self).await?;
        Ok(indexes)
    }

    /// Appends the entries that record `tx`'s changes inside `tx` and commits: the change and
    /// its audit entries land together or not at all. Then signs a checkpoint (derived
    /// data: if that fails, the next command's checkpoint covers these entries).
    pub async fn commit_recorded(
        &self,
        mut tx: WriteTx,
        entries: Vec<NewEntry>,
    ) -> Result<Vec<u64>, EngineError> {
        let indexes = audit_log::append_in(&mut tx, &self.actor, entries).await?;
        tx.commit().await?;
        audit_log::checkpoint(self).await?;
        Ok(indexes)
    }
}

impl Workspace {
    /// Records a scan's results: per source, how many columns sit at each classification
    /// and which entity types were found (names and counts, never values).
    pub async fn record_scan(&self, report: &crate::ScanReport) -> Result<(), EngineError> {
        let entries = report
            .sources
            .iter()
            .map(|s| {
                let mut counts = BTreeMap::new();
                counts.insert("rows".to_string(), s.rows as u64);
                counts.insert("columns".to_string(), s.columns.len() as u64);
                let mut entities = std::collections::BTreeSet::new();
                for c in &s.columns {
                    *counts
                        .entry(format!("columns_{}", c.profile.classification.as_str()))
                        .or_insert(0) += 1;
                    entities.extend(c.profile.entity.map(|e| e.name()));
                    entities.extend(
                        c.profile
                            .entity_counts
                            .iter()
                            .filter(|(_, n)| **n > 0)
                            .map(|(e, _)| e.name()),
                    );
                }
                let mut details = BTreeMap::new();
                details.insert(
                    "entities".to_string(),
                    entities.into_iter().collect::<Vec<_>>().join(","),
                );
                NewEntry {
                    action: "scan.results".into(),
                    object: format!("dataset:{}", s.source),
                    subjects: vec![],
                    counts,
                    details,
                }
            })
            .collect();
        self.record(entries).await?;
        Ok(())
    }
}
