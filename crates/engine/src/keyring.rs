//! The keyring: per-subject data keys, wrapped (AES-SIV) under their region's versioned
//! key-encryption key, created on first use, shredded on erasure, re-wrapped on rotation.
//!
//! A field encrypted with a subject's key reads `sk1.<SubjectRef>.<base64url ciphertext>`:
//! the ref says whose key opens it, so a file holds many subjects' fields and `detokenize`
//! needs nothing else. Once the key is shredded, no copy of such a field — in the file, a
//! copy, a backup — decrypts again.

use std::collections::BTreeMap;

use aes_siv::{siv::Aes256Siv, KeyInit};
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use custodia_core::{keys::region_kek, Region, SubjectRef};
use custodia_store::SubjectKeyLookup;
use rand::RngCore;
use zeroize::Zeroizing;

use crate::{audit_log::NewEntry, workspace::Workspace, EngineError};

/// Prefix of fields encrypted under a subject's key.
pub const SUBJECT_TOKEN_PREFIX: &str = "sk1.";

/// A subject's data key, in the clear only in memory (zeroized on drop).
pub struct SubjectDataKey {
    subject: SubjectRef,
    key: Zeroizing<[u8; 64]>,
}

/// Why a subject field could not be read back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unreadable {
    /// The subject's key was shredded: the field is gone for good.
    Shredded,
    /// No key for that subject in this workspace (wrong workspace or region).
    NoKey,
    /// The text is not a subject token, or it was altered.
    Malformed,
}

fn wrap_ad(region: &Region, subject: &SubjectRef, version: i64) -> Vec<u8> {
    format!(
        "custodia/subject-key/{}/{}/v{version}",
        region.as_str(),
        subject.as_str()
    )
    .into_bytes()
}

fn siv(key: &[u8; 64]) -> Aes256Siv {
    Aes256Siv::new_from_slice(key).expect("AES-256-SIV takes a 64-byte key")
}

impl SubjectDataKey {
    /// Encrypts a field value (deterministic: the same value, the same token, so tokenized
    /// columns still join).
    pub fn encrypt(&self, value: &str) -> String {
        let ct = siv(&self.key)
            .encrypt([self.subject.as_str().as_bytes()], value.as_bytes())
            .expect("AES-SIV encryption of a bounded value cannot fail");
        format!(
            "{SUBJECT_TOKEN_PREFIX}{}.{}",
            self.subject.as_str(),
            URL_SAFE_NO_PAD.encode(ct)
        )
    }

    /// Decrypts a whole `sk1.<ref>.<ciphertext>` token made with this key.
    pub(crate) fn decrypt_token(&self, token: &str) -> Option<String> {
        let (subject, body) = parse_subject_token(token)?;
        (subject == self.subject)
            .then(|| self.decrypt(body))
            .flatten()
    }

    fn decrypt(&self, body: &str) -> Option<String> {
        let ct = URL_SAFE_NO_PAD.decode(body).ok()?;
        let pt = siv(&self.key)
            .decrypt([self.subject.as_str().as_bytes()], &ct)
            .ok()?;
        String::from_utf8(pt).ok()
    }
}

/// Splits `sk1.<ref>.<ct>` into its ref and ciphertext.
pub fn parse_subject_token(token: &str) -> Option<(SubjectRef, &str)> {
    let rest = token.strip_prefix(SUBJECT_TOKEN_PREFIX)?;
    let (r, body) = rest.split_once('.')?;
    Some((SubjectRef::parse(r).ok()?, body))
}

impl Workspace {
    fn unwrap_key(
        &self,
        region: &Region,
        subject: &SubjectRef,
        version: i64,
        wrapped: &[u8],
    ) -> Result<SubjectDataKey, EngineError> {
        let kek = region_kek(self.master(), region, version);
        let pt = Zeroizing::new(
            siv(&kek)
                .decrypt([wrap_ad(region, subject, version)], wrapped)
                .map_err(|_| {
                    EngineError::Key(format!(
                        "the wrapped key of subject {subject} (region {region}, key v{version}) does not open with this workspace's master key; is CUSTODIA_MASTER_KEY the key of this workspace?"
                    ))
                })?,
        );
        let mut key = Zeroizing::new([0u8; 64]);
        if pt.len() != 64 {
            return Err(EngineError::Key(format!(
                "subject {subject}: wrapped key has the wrong length"
            )));
        }
        key.copy_from_slice(&pt);
        Ok(SubjectDataKey {
            subject: subject.clone(),
            key,
        })
    }

    /// The subject's data key, created (and audited) if it does not exist yet.
    pub async fn subject_key_or_create(
        &self,
        region: &Region,
        subject: &SubjectRef,
    ) -> Result<SubjectDataKey, EngineError> {
        let mut tx = self.store().begin_write().await?;
        let (key, created) = self.ensure_subject_key(&mut tx, region, subject).await?;
        if created {
            let mut counts = BTreeMap::new();
            counts.insert("keys_created".into(), 1);
            self.commit_recorded(
                tx,
                vec![NewEntry {
                    action: "key.create".into(),
                    object: format!("region:{region}"),
                    subjects: vec![subject.clone()],
                    counts,
                    details: BTreeMap::new(),
                }],
            )
            .await?;
        }
        Ok(key)
    }

    /// The key and whether it was created now, inside `tx`; the caller audits (one entry
    /// per batch) in the same transaction.
    pub(crate) async fn ensure_subject_key(
        &self,
        tx: &mut custodia_store::WriteTx,
        region: &Region,
        subject: &SubjectRef,
    ) -> Result<(SubjectDataKey, bool), EngineError> {
        let mut fresh = Zeroizing::new([0u8; 64]);
        rand::rngs::OsRng.fill_bytes(fresh.as_mut());
        let (stored, created) = tx
            .subject_key_or_create(region.as_str(), subject.as_str(), |version| {
                let kek = region_kek(self.master(), region, version);
                siv(&kek)
                    .encrypt([wrap_ad(region, subject, version)], fresh.as_ref())
                    .map_err(|_| EngineError::Key("key wrapping failed".into()))
            })
            .await?;
        Ok((
            self.unwrap_key(region, subject, stored.key_version, &stored.wrapped)?,
            created,
        ))
    }

    /// The subject's data key if it exists.
    pub async fn subject_key(
        &self,
        region: &Region,
        subject: &SubjectRef,
    ) -> Result<Result<SubjectDataKey, Unreadable>, EngineError> {
        Ok(
            match self
                .store()
                .subject_key(region.as_str(), subject.as_str())
                .await?
            {
                SubjectKeyLookup::Found(k) => {
                    Ok(self.unwrap_key(region, subject, k.key_version, &k.wrapped)?)
                }
                SubjectKeyLookup::Shredded(_) => Err(Unreadable::Shredded),
                SubjectKeyLookup::Missing => Err(Unreadable::NoKey),
            },
        )
    }

    /// Crypto-shreds a subject's key. Returns whether a key existed.
    pub async fn shred_subject(
        &self,
        region: &Region,
        subject: &SubjectRef,
    ) -> Result<bool, EngineError> {
        let mut tx = self.store().begin_write().await?;
        let existed = tx
            .shred_subject_key(region.as_str(), subject.as_str())
            .await?;
        let mut details = BTreeMap::new();
        details.insert("key_existed".into(), existed.to_string());
        self.commit_recorded(
            tx,
            vec![NewEntry {
                action: "key.shred".into(),
                object: format!("region:{region}"),
                subjects: vec![subject.clone()],
                counts: BTreeMap::new(),
                details,
            }],
        )
        .await?;
        // The key row is gone; push its bytes out of the database files too.
        self.store().scrub().await?;
        Ok(existed)
    }

    /// Rotates a region's key-encryption key: a new version, every subject key re-wrapped
    /// in one transaction. SubjectRefs do not change (their key is separate).
    pub async fn rotate_region(&self, region: &Region) -> Result<(i64, u64), EngineError> {
        let mut tx = self.store().begin_write().await?;
        let (version, n) = tx
            .rotate_region(region.as_str(), |subject, old, wrapped, new| {
                self.rewrap_subject(region, subject, old, wrapped, new)
            })
            .await?;
        let mut counts = BTreeMap::new();
        counts.insert("key_version".into(), version as u64);
        counts.insert("keys_rewrapped".into(), n);
        self.commit_recorded(
            tx,
            vec![NewEntry {
                action: "key.rotate".into(),
                object: format!("region:{region}"),
                subjects: vec![],
                counts,
                details: BTreeMap::new(),
            }],
        )
        .await?;
        Ok((version, n))
    }

    fn rewrap_subject(
        &self,
        region: &Region,
        subject: &str,
        old: i64,
        wrapped: &[u8],
        new: i64,
    ) -> Result<Vec<u8>, EngineError> {
        let subject = SubjectRef::parse(subject)?;
        let key = self.unwrap_key(region, &subject, old, wrapped)?;
        let kek = region_kek(self.master(), region, new);
        siv(&kek)
            .encrypt([wrap_ad(region, &subject, new)], key.key.as_ref())
            .map_err(|_| EngineError::Key("key wrapping failed".into()))
    }
}

/// Which subject key encrypts each row of a table.
pub struct RowKeys {
    per_row: Vec<usize>,
    keys: Vec<SubjectDataKey>,
}

impl RowKeys {
    pub(crate) fn key(&self, row: usize) -> &SubjectDataKey {
        &self.keys[self.per_row[row]]
    }
}

/// The column that says whose data a row is, for per-subject encryption.
#[derive(Debug, Clone)]
pub struct SubjectColumn {
    /// Column name.
    pub column: String,
    /// What kind of identifier it holds.
    pub kind: custodia_core::SubjectKind,
    /// Region whose keys are used.
    pub region: Region,
}

impl Workspace {
    /// De-identifies a file with `tokenize` under each row's subject key (created on first
    /// use), so erasing a subject later is shredding one key. Every row needs a valid
    /// subject identifier; one audit entry records the run (rows, subjects, keys created).
    pub async fn deidentify_by_subject(
        &self,
        analyzer: &custodia_detect::Analyzer,
        input: &std::path::Path,
        output: &std::path::Path,
        plan: &crate::DeidPlan,
        subject: &SubjectColumn,
    ) -> Result<crate::DeidReport, EngineError> {
        let table = crate::Table::read(input)?;
        let col = table
            .columns
            .iter()
            .position(|c| *c == subject.column)
            .ok_or_else(|| EngineError::Columns {
                path: input.to_path_buf(),
                message: format!(
                    "--subject-column {:?} is not in the data (columns: {})",
                    subject.column,
                    table.columns.join(", ")
                ),
            })?;
        let values = table.column_values(col, usize::MAX);
        let mut index: std::collections::HashMap<SubjectRef, usize> =
            std::collections::HashMap::new();
        let mut refs = Vec::new();
        let mut per_row = Vec::with_capacity(values.len());
        for (row, v) in values.iter().enumerate() {
            let id = v
                .as_deref()
                .ok_or_else(|| format!("subject column {:?} is empty", subject.column))
                .and_then(|v| custodia_core::SubjectId::new(subject.kind, v).map_err(|e| e.to_string()))
                .map_err(|m| EngineError::BadInput {
                    path: input.to_path_buf(),
                    // A CSV line counts the header; JSONL lines are rows; Parquet has none.
                    line: match table.format {
                        crate::Format::Csv => row as u64 + 2,
                        crate::Format::Jsonl => row as u64 + 1,
                        _ => 0,
                    },
                    message: format!(
                        "data row {}: {m}; every row needs its subject to be encrypted under their key",
                        row + 1
                    ),
                })?;
            let r = self.subject_ref(&id, &subject.region);
            let next = refs.len();
            let i = *index.entry(r.clone()).or_insert_with(|| {
                refs.push(r);
                next
            });
            per_row.push(i);
        }
        let mut keys = Vec::with_capacity(refs.len());
        let mut created = Vec::new();
        let mut tx = self.store().begin_write().await?;
        for r in &refs {
            let (k, new) = self.ensure_subject_key(&mut tx, &subject.region, r).await?;
            if new {
                created.push(r.clone());
            }
            keys.push(k);
        }
        // New keys and their audit entry commit together, before the output is written:
        // keys exist from here on, whatever happens to the output.
        if created.is_empty() {
            drop(tx);
        } else {
            let mut counts = BTreeMap::new();
            counts.insert("keys_created".into(), created.len() as u64);
            self.commit_recorded(
                tx,
                vec![NewEntry {
                    action: "key.create".into(),
                    object: format!("region:{}", subject.region),
                    subjects: created.clone(),
                    counts,
                    details: BTreeMap::new(),
                }],
            )
            .await?;
        }
        let row_keys = RowKeys { per_row, keys };
        let report = crate::deid::deidentify_table(
            analyzer,
            self.master(),
            table,
            output,
            plan,
            Some(&row_keys),
        )?;
        let mut counts = BTreeMap::new();
        counts.insert("rows".into(), report.rows as u64);
        counts.insert("subjects".into(), refs.len() as u64);
        counts.insert("keys_created".into(), created.len() as u64);
        let mut details = BTreeMap::new();
        details.insert(
            "output".into(),
            output
                .file_name()
                .map(|f| f.to_string_lossy().into_owned())
                .unwrap_or_default(),
        );
        details.insert("subject_column".into(), subject.column.clone());
        self.record(vec![NewEntry {
            action: "deid.subject_keys".into(),
            object: format!("region:{}", subject.region),
            subjects: vec![],
            counts,
            details,
        }])
        .await?;
        Ok(report)
    }

    /// Reverses tokens with this workspace's keys: subject-key fields with their subject's
    /// key while it exists (shredded ones stay encrypted and are counted), workspace tokens
    /// and FPE with the master key.
    pub async fn detokenize_file(
        &self,
        input: &std::path::Path,
        output: &std::path::Path,
        columns: &[String],
        fpe_columns: &[String],
    ) -> Result<crate::DetokenizeReport, EngineError> {
        let table = crate::Table::read(input)?;
        let mut wanted: Vec<String> = Vec::new();
        for c in 0..table.columns.len() {
            for v in table.column_values(c, usize::MAX).into_iter().flatten() {
                for (_, _, r) in crate::deid::subject_tokens(&v) {
                    wanted.push(r.to_string());
                }
            }
        }
        wanted.sort();
        wanted.dedup();
        let mut keys = crate::deid::SubjectKeys::new();
        for r in wanted {
            let subject = SubjectRef::parse(&r)?;
            let mut found = Err(Unreadable::NoKey);
            for region in &self.config().regions {
                match self.subject_key(region, &subject).await? {
                    Ok(k) => {
                        found = Ok(k);
                        break;
                    }
                    Err(Unreadable::Shredded) => found = Err(Unreadable::Shredded),
                    Err(_) => {}
                }
            }
            keys.insert(r, found);
        }
        crate::deid::detokenize_table(self.master(), table, output, columns, fpe_columns, &keys)
    }
}
