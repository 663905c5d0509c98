//! The places a subject can be and what erasure does to each: Parquet files of dataset
//! versions (found by the version's subject key, rewritten without the subject's rows),
//! warehouse and database tables (rows deleted), snapshot manifests (the ref removed).
//!
//! A file is rewritten in two phases so a crash at any point is resumable: the new file is
//! written and synced beside the old one (`FILE.erasing`), the store records the revision,
//! then the new file is renamed over the old one. A rerun that finds the revision recorded
//! only finishes the rename.

use std::{
    collections::{HashMap, HashSet},
    path::{Path, PathBuf},
    sync::Arc,
};

use arrow::{
    array::{Array, AsArray, BooleanArray, RecordBatch},
    compute::{cast, filter_record_batch},
    datatypes::{DataType, SchemaRef},
};
use custodia_core::{RefKey, SubjectId, SubjectKind};
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use parquet::arrow::{arrow_reader::ParquetRecordBatchReaderBuilder, ProjectionMask};

use crate::{
    keyring::parse_subject_token,
    run::{
        output::{self, Written},
        subjects::SubjectKey,
    },
    EngineError,
};

/// Decides whether a key column's value belongs to one of the subjects being erased.
pub(crate) struct Matcher {
    kind: SubjectKind,
    tokenized: bool,
    ref_key: RefKey,
    refs: HashSet<[u8; 32]>,
}

/// Why a version's rows cannot be matched to a subject.
pub(crate) fn unsearchable(key: &SubjectKey) -> Option<String> {
    match key.transform.as_deref() {
        None | Some("tokenize") => None,
        Some(t) => Some(format!(
            "its subject key column {:?} was transformed with {t}, so rows cannot be matched to a person",
            key.column
        )),
    }
}

impl Matcher {
    /// A matcher for values of a key column (`key`) whose refs are made with `ref_key`.
    pub(crate) fn new(
        key: &SubjectKey,
        ref_key: RefKey,
        refs: impl IntoIterator<Item = [u8; 32]>,
    ) -> Result<Matcher, EngineError> {
        Ok(Matcher {
            kind: SubjectKind::parse(&key.kind)?,
            tokenized: key.transform.as_deref() == Some("tokenize"),
            ref_key,
            refs: refs.into_iter().collect(),
        })
    }

    /// Whether the value is one of the subjects'.
    pub(crate) fn matches(&self, value: &str) -> bool {
        let r = if self.tokenized {
            parse_subject_token(value).and_then(|(r, _)| {
                let mut b = [0u8; 32];
                hex::decode_to_slice(r.as_str(), &mut b).ok().map(|_| b)
            })
        } else {
            SubjectId::new(self.kind, value)
                .ok()
                .map(|id| self.ref_key.bytes(&id))
        };
        r.is_some_and(|r| self.refs.contains(&r))
    }

    /// Which rows of `batch` belong to the subjects, asking each distinct value once.
    pub(crate) fn mask(
        &self,
        batch: &RecordBatch,
        column: &str,
        seen: &mut HashMap<String, bool>,
        path: &Path,
    ) -> Result<BooleanArray, EngineError> {
        let idx = batch.schema().index_of(column).map_err(|_| {
            EngineError::Columns {
                path: path.to_path_buf(),
                message: format!(
                    "the subject key column {column:?} is not in the file; run `custodia dsar verify-erasure` after restoring it"
                ),
            }
        })?;
        let text =
            cast(batch.column(idx), &DataType::Utf8).map_err(|e| EngineError::data(path, e))?;
        let text = text.as_string::<i32>();
        Ok((0..text.len())
            .map(|i| {
                Some(
                    text.is_valid(i) && {
                        let v = text.value(i);
                        match seen.get(v) {
                            Some(m) => *m,
                            None => {
                                let m = self.matches(v);
                                seen.insert(v.to_string(), m);
                                m
                            }
                        }
                    },
                )
            })
            .collect())
    }
}

/// The table a load version went to, `(url, table)`: as recorded, or the workspace
/// warehouse for versions named `warehouse.TABLE` recorded before targets were.
pub(crate) fn load_target(v: &custodia_store::DatasetVersion) -> Option<(String, String)> {
    v.target
        .as_deref()
        .and_then(|t| serde_json::from_str::<serde_json::Value>(t).ok())
        .and_then(|t| {
            Some((
                t["url"].as_str()?.to_string(),
                t["table"].as_str()?.to_string(),
            ))
        })
        .or_else(|| {
            v.dataset
                .strip_prefix("warehouse.")
                .map(|t| (format!("sqlite://{}", crate::run::WAREHOUSE), t.to_string()))
        })
}

/// The Parquet files of a version's path (a file, or a folder of them).
pub(crate) fn parquet_files(root: &Path, rel: &str) -> Result<Vec<PathBuf>, EngineError> {
    let path = root.join(rel);
    if path.is_dir() {
        let mut files: Vec<PathBuf> = std::fs::read_dir(&path)
            .map_err(|e| EngineError::io(&path, e))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "parquet"))
            .collect();
        files.sort();
        Ok(files)
    } else {
        Ok(vec![path])
    }
}

/// Rows of a Parquet file that belong to the subjects (reads the key column only).
pub(crate) fn count_in_file(path: &Path, column: &str, m: &Matcher) -> Result<u64, EngineError> {
    let file = std::fs::File::open(path).map_err(|e| EngineError::io(path, e))?;
    let builder =
        ParquetRecordBatchReaderBuilder::try_new(file).map_err(|e| EngineError::data(path, e))?;
    let idx = builder
        .schema()
        .index_of(column)
        .map_err(|_| EngineError::Columns {
            path: path.to_path_buf(),
            message: format!("the subject key column {column:?} is not in the file"),
        })?;
    let mask = ProjectionMask::roots(builder.parquet_schema(), [idx]);
    let reader = builder
        .with_projection(mask)
        .build()
        .map_err(|e| EngineError::data(path, e))?;
    let mut seen = HashMap::new();
    let mut n = 0;
    for batch in reader {
        let batch = batch.map_err(|e| EngineError::data(path, e))?;
        n += m.mask(&batch, column, &mut seen, path)?.true_count() as u64;
    }
    Ok(n)
}

/// The staging file a rewrite of `path` is written to before it replaces it.
pub(crate) fn staging_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".erasing");
    path.with_file_name(name)
}

/// Edits one batch of a rewrite: returns the batch to write and how many rows it changed.
pub(crate) type BatchEdit =
    Box<dyn FnMut(RecordBatch) -> Result<(RecordBatch, u64), EngineError> + Send>;

/// Writes `path` without the subjects' rows to its staging file (synced), with the same
/// content hash and statistics a run computes; returns them and the rows removed.
/// `personal` names the columns whose statistics keep no bounds.
pub(crate) async fn rewrite_without(
    path: &Path,
    column: &str,
    m: Arc<Matcher>,
    personal: &dyn Fn(&str) -> bool,
) -> Result<(Written, u64), EngineError> {
    let (column, source) = (column.to_string(), path.to_path_buf());
    let mut seen = HashMap::new();
    rewrite_with(
        path,
        |schema| {
            (
                schema,
                Box::new(move |batch: RecordBatch| {
                    let hit = m.mask(&batch, &column, &mut seen, &source)?;
                    let n = hit.true_count();
                    if n == 0 {
                        return Ok((batch, 0));
                    }
                    let keep =
                        arrow::compute::not(&hit).map_err(|e| EngineError::data(&source, e))?;
                    let kept = filter_record_batch(&batch, &keep)
                        .map_err(|e| EngineError::data(&source, e))?;
                    Ok((kept, n as u64))
                }) as BatchEdit,
            )
        },
        personal,
    )
    .await
}

/// Rewrites `path` batch by batch into its staging file (synced): `make` gets the file's
/// schema and returns the output schema and the edit. Returns the content hash and
/// statistics of the new file and the rows the edit changed.
pub(crate) async fn rewrite_with(
    path: &Path,
    make: impl FnOnce(SchemaRef) -> (SchemaRef, BatchEdit),
    personal: &dyn Fn(&str) -> bool,
) -> Result<(Written, u64), EngineError> {
    let file = std::fs::File::open(path).map_err(|e| EngineError::io(path, e))?;
    let builder =
        ParquetRecordBatchReaderBuilder::try_new(file).map_err(|e| EngineError::data(path, e))?;
    let (schema, mut edit) = make(builder.schema().clone());
    let reader = builder.build().map_err(|e| EngineError::data(path, e))?;
    let (tx, rx) = tokio::sync::mpsc::channel(8);
    let source = path.to_path_buf();
    let reading = tokio::task::spawn_blocking(move || {
        let mut changed = 0u64;
        for batch in reader {
            let batch = batch.map_err(|e| EngineError::data(&source, e))?;
            let (out, n) = edit(batch)?;
            changed += n;
            if tx.blocking_send(Ok(out)).is_err() {
                break;
            }
        }
        Ok::<_, EngineError>(changed)
    });
    let stream = futures::stream::unfold(rx, |mut rx| async move {
        rx.recv()
            .await
            .map(|b: datafusion::error::Result<RecordBatch>| (b, rx))
    });
    let stream = Box::pin(RecordBatchStreamAdapter::new(schema, stream));
    let staged = staging_path(path);
    let scanned = output::write_stream(stream, &staged, personal).await;
    let changed = reading
        .await
        .map_err(|e| EngineError::Workspace(format!("rewrite reader: {e}")))??;
    let written = scanned?.finish().await?;
    Ok((written, changed))
}

/// Moves a staged rewrite over the file it replaces (a no-op when it already did), and
/// syncs the folder so the rename survives a power cut.
pub(crate) fn commit_staged(path: &Path) -> Result<(), EngineError> {
    let staged = staging_path(path);
    if staged.exists() {
        std::fs::rename(&staged, path).map_err(|e| EngineError::io(path, e))?;
        if let Some(dir) = path.parent() {
            if let Ok(d) = std::fs::File::open(dir) {
                let _ = d.sync_all();
            }
        }
    }
    Ok(())
}

/// Rows of a source file (CSV, JSONL or Parquet) that belong to the subjects.
pub(crate) fn count_in_source(path: &Path, column: &str, m: &Matcher) -> Result<u64, EngineError> {
    if crate::Format::from_path(path) == Some(crate::Format::Parquet) {
        return count_in_file(path, column, m);
    }
    let (_, hits) = source_hits(path, column, m)?;
    Ok(hits.iter().filter(|h| **h).count() as u64)
}

/// A CSV or JSONL source and which of its rows belong to the subjects.
fn source_hits(
    path: &Path,
    column: &str,
    m: &Matcher,
) -> Result<(crate::Table, Vec<bool>), EngineError> {
    let table = crate::Table::read(path)?;
    let idx = table
        .columns
        .iter()
        .position(|c| c == column)
        .ok_or_else(|| EngineError::Columns {
            path: path.to_path_buf(),
            message: format!("the subject key column {column:?} is not in the file"),
        })?;
    let mut seen: HashMap<String, bool> = HashMap::new();
    let hits = table
        .column_values(idx, usize::MAX)
        .into_iter()
        .map(|v| v.is_some_and(|v| *seen.entry(v).or_insert_with_key(|v| m.matches(v))))
        .collect();
    Ok((table, hits))
}

/// Rewrites a source file in place without the subjects' rows (atomically: a synced
/// temporary file renamed over it); returns the rows removed.
pub(crate) async fn erase_source(
    path: &Path,
    column: &str,
    m: Arc<Matcher>,
) -> Result<u64, EngineError> {
    if crate::Format::from_path(path) == Some(crate::Format::Parquet) {
        let (_, removed) = rewrite_without(path, column, m, &|_| true).await?;
        commit_staged(path)?;
        return Ok(removed);
    }
    let (path, column) = (path.to_path_buf(), column.to_string());
    tokio::task::spawn_blocking(move || {
        let (mut table, hits) = source_hits(&path, &column, &m)?;
        let removed = hits.iter().filter(|h| **h).count() as u64;
        if removed > 0 {
            let keep: Vec<bool> = hits.iter().map(|h| !h).collect();
            table.retain_rows(&keep)?;
            table.write(&path)?;
        }
        Ok(removed)
    })
    .await
    .map_err(|e| EngineError::Workspace(format!("erasure writer: {e}")))?
}
