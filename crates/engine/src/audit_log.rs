//! The workspace's audit log: entries appended through the store (atomically, durable on
//! return), checkpoints signed with the workspace's Ed25519 key in C2SP formats, inclusion
//! proofs, and the export an auditor verifies offline with nothing but the public key.

use std::{
    collections::BTreeMap,
    fs,
    path::{Path, PathBuf},
};

use custodia_audit::{
    merkle, Checkpoint, Entry, EntryBuilder, Frontier, Hash, Link, NoteSigner, NoteVerifier,
    VerifyReport,
};
use custodia_core::{keys::audit_signing_seed, SubjectRef};
use custodia_store::{AuditRow, Store, WriteTx};

use crate::{workspace::Workspace, EngineError};

/// An action to record. Counts, refs and names only — never a personal value.
#[derive(Debug, Clone, Default)]
pub struct NewEntry {
    /// What happened (`workspace.init`, `key.shred`, `consent.import`…).
    pub action: String,
    /// What it happened to (`region:eu`, `contract:orders`…).
    pub object: String,
    /// Subjects concerned, as refs.
    pub subjects: Vec<SubjectRef>,
    /// Named counts.
    pub counts: BTreeMap<String, u64>,
    /// Named details (names, versions, hashes).
    pub details: BTreeMap<String, String>,
}

/// RFC 3339 UTC time with seconds, from the system clock.
pub(crate) fn now_rfc3339() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    custodia_core::time::format_rfc3339(secs as i64 * 1_000_000)
}

/// Appends entries in one transaction and returns their indexes.
pub async fn append(
    store: &Store,
    actor: &str,
    entries: Vec<NewEntry>,
) -> Result<Vec<u64>, EngineError> {
    let mut tx = store.begin_write().await?;
    let indexes = append_in(&mut tx, actor, entries).await?;
    tx.commit().await?;
    Ok(indexes)
}

/// Appends entries inside `tx`, so they commit together with the change they record.
pub async fn append_in(
    tx: &mut WriteTx,
    actor: &str,
    entries: Vec<NewEntry>,
) -> Result<Vec<u64>, EngineError> {
    let time = now_rfc3339();
    let rows = tx
        .audit_append(|tip| {
            let mut frontier = if tip.size == 0 {
                Frontier::new()
            } else {
                Frontier::from_bytes(&tip.frontier)?
            };
            if frontier.size() != tip.size {
                return Err(EngineError::Workspace(format!(
                    "audit tip says {} entries but its frontier covers {}; run `custodia audit verify`",
                    tip.size,
                    frontier.size()
                )));
            }
            let mut link = match tip.last_leaf {
                None => Link::Genesis,
                Some(leaf) => Link::After {
                    index: tip.size - 1,
                    leaf,
                },
            };
            let mut rows = Vec::with_capacity(entries.len());
            for e in entries {
                let mut b = EntryBuilder::new(time.clone(), actor, e.action, e.object);
                for s in e.subjects {
                    b = b.subject(s.as_str());
                }
                for (k, v) in e.counts {
                    b = b.count(k, v);
                }
                for (k, v) in e.details {
                    b = b.detail(k, v);
                }
                let entry = b.build(link)?;
                let leaf = entry.leaf();
                frontier.push(leaf);
                link = Link::after(&entry);
                rows.push(AuditRow {
                    index: entry.index,
                    leaf,
                    body: String::from_utf8(entry.canonical_bytes())
                        .expect("canonical entries are JSON text"),
                });
            }
            Ok((rows, frontier.to_bytes()))
        })
        .await?;
    Ok(rows.iter().map(|r| r.index).collect())
}

/// The workspace's checkpoint signer (key derived from the master key; named after the
/// log's origin).
pub fn signer(ws: &Workspace) -> Result<NoteSigner, EngineError> {
    let seed = audit_signing_seed(ws.master());
    Ok(NoteSigner::from_seed(&ws.config().audit_origin, &seed)?)
}

/// Signs a checkpoint over the current tree (unless the latest one already covers it) and
/// returns the signed note.
pub async fn checkpoint(ws: &Workspace) -> Result<String, EngineError> {
    let signer = signer(ws)?;
    let origin = ws.config().audit_origin.clone();
    ws.store()
        .audit_checkpoint_with(|tip| {
            let root = if tip.size == 0 {
                merkle::empty_root()
            } else {
                Frontier::from_bytes(&tip.frontier)?.root()
            };
            let cp = Checkpoint {
                origin,
                size: tip.size,
                root,
            };
            Ok::<_, EngineError>(cp.sign(&signer)?)
        })
        .await
}

/// Parsed entries of the log, from `from` on (for `custodia audit log`).
pub async fn entries(store: &Store, from: u64, limit: u64) -> Result<Vec<Entry>, EngineError> {
    let rows = store.audit_rows(from, from.saturating_add(limit)).await?;
    rows.iter()
        .map(|r| {
            Ok(Entry::parse_canonical(
                r.body.as_bytes(),
                r.index as usize + 1,
            )?)
        })
        .collect()
}

/// An entry with its inclusion proof against the latest signed checkpoint.
pub struct Proof {
    /// The entry.
    pub entry: Entry,
    /// Its leaf hash.
    pub leaf: Hash,
    /// The signed checkpoint the proof is against.
    pub checkpoint: String,
    /// Tree size of that checkpoint.
    pub size: u64,
    /// The audit path, leaf to root.
    pub path: Vec<Hash>,
}

/// Proves entry `index` is in the log: checkpoints first if the latest checkpoint does not
/// cover it, then checks the proof before returning it.
pub async fn prove(ws: &Workspace, index: u64) -> Result<Proof, EngineError> {
    let note = checkpoint(ws).await?;
    let verifier = signer(ws)?.verifier();
    let cp = Checkpoint::open(&note, &verifier)?;
    if index >= cp.size {
        return Err(EngineError::Workspace(format!(
            "entry {index} does not exist: the log has {} entries (see `custodia audit log`)",
            cp.size
        )));
    }
    let rows = ws.store().audit_rows(0, cp.size).await?;
    let leaves: Vec<Hash> = rows
        .iter()
        .map(|r| Entry::parse_canonical(r.body.as_bytes(), r.index as usize + 1).map(|e| e.leaf()))
        .collect::<Result<_, _>>()?;
    let path = merkle::inclusion_proof(&leaves, index)?;
    let leaf = leaves[index as usize];
    merkle::verify_inclusion(&leaf, index, cp.size, &path, &cp.root)?;
    Ok(Proof {
        entry: Entry::parse_canonical(rows[index as usize].body.as_bytes(), index as usize + 1)?,
        leaf,
        checkpoint: note,
        size: cp.size,
        path,
    })
}

/// Files of an export: `entries.jsonl`, `checkpoints/NNNNNN.note`, `audit.vkey`, README.
pub const ENTRIES_FILE: &str = "entries.jsonl";
/// Folder of signed checkpoints in an export.
pub const CHECKPOINTS_DIR: &str = "checkpoints";
/// The verifier key in an export.
pub const VKEY_FILE: &str = "audit.vkey";

/// Writes the whole log to `dir` for an auditor. Checkpoints first, so the export ends with
/// one covering every exported entry.
pub async fn export(ws: &Workspace, dir: &Path) -> Result<(u64, usize), EngineError> {
    checkpoint(ws).await?;
    let store = ws.store();
    let checkpoints = store.audit_checkpoints().await?;
    let size = checkpoints.last().map_or(0, |c| c.size);
    let rows = store.audit_rows(0, size).await?;
    let cp_dir = dir.join(CHECKPOINTS_DIR);
    fs::create_dir_all(&cp_dir).map_err(|e| EngineError::io(&cp_dir, e))?;
    let mut body = Vec::new();
    for r in &rows {
        body.extend_from_slice(r.body.as_bytes());
        body.push(b'\n');
    }
    crate::write_atomic(&dir.join(ENTRIES_FILE), &body)?;
    for (i, c) in checkpoints.iter().enumerate() {
        crate::write_atomic(
            // Numbered from 0, as verify's messages count checkpoints.
            &cp_dir.join(format!("{i:06}.note")),
            c.note.as_bytes(),
        )?;
    }
    let vkey = signer(ws)?.vkey();
    crate::write_atomic(&dir.join(VKEY_FILE), format!("{vkey}\n").as_bytes())?;
    let readme = format!(
        "Custodia audit log export: {} entries, {} signed checkpoints.\n\n\
         Verify offline (no access to the workspace needed):\n\n    \
         custodia audit verify . --pubkey {VKEY_FILE}\n\n\
         Compare audit.vkey with the key the log's owner published out of band: a verifier\n\
         key that came with the files proves nothing about who signed them.\n",
        rows.len(),
        checkpoints.len()
    );
    crate::write_atomic(&dir.join("README.txt"), readme.as_bytes())?;
    Ok((rows.len() as u64, checkpoints.len()))
}

/// Verifies an export folder with a verifier key (the text of `audit.vkey`). `trusted` are
/// checkpoint files the auditor kept from earlier: the export must extend each of them, which
/// is what exposes a log whose newest entries were cut off together with their checkpoints.
pub fn verify_dir(
    dir: &Path,
    vkey: &str,
    origin: Option<&str>,
    trusted: &[PathBuf],
) -> Result<VerifyReport, EngineError> {
    let verifier = NoteVerifier::from_vkey(vkey.trim()).map_err(|e| {
        EngineError::Key(format!(
            "--pubkey is not a verifier key ({e}); it looks like name+keyid+base64, as in audit.vkey"
        ))
    })?;
    let entries_path = dir.join(ENTRIES_FILE);
    let text = fs::read(&entries_path).map_err(|e| EngineError::io(&entries_path, e))?;
    let lines: Vec<&[u8]> = text
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .collect();
    let cp_dir = dir.join(CHECKPOINTS_DIR);
    let mut files: Vec<PathBuf> = fs::read_dir(&cp_dir)
        .map_err(|e| EngineError::io(&cp_dir, e))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "note"))
        .collect();
    files.sort();
    let notes: Vec<String> = files
        .iter()
        .map(|p| fs::read_to_string(p).map_err(|e| EngineError::io(p, e)))
        .collect::<Result<_, _>>()?;
    let note_refs: Vec<&str> = notes.iter().map(String::as_str).collect();
    let origin = origin.unwrap_or_else(|| verifier.name());
    let trusted: Vec<String> = trusted
        .iter()
        .map(|p| fs::read_to_string(p).map_err(|e| EngineError::io(p, e)))
        .collect::<Result<_, _>>()?;
    let trusted: Vec<&str> = trusted.iter().map(String::as_str).collect();
    Ok(custodia_audit::verify_log_trusting(
        &lines, &note_refs, &verifier, origin, &trusted,
    )?)
}
