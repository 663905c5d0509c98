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
    by: By,
}

/// What a matcher compares a value with.
enum By {
    /// The subjects' refs, under the region's ref key (all a request keeps once its
    /// identifier is shredded; tokens carry refs).
    Refs {
        ref_key: Box<RefKey>,
        refs: HashSet<[u8; 32]>,
    },
    /// The subjects' canonical identifiers (no keyed hash per value): a set to look
    /// values up in, and the same sorted as bytes so row groups can be ruled out by their
    /// statistics.
    Identifiers {
        set: HashSet<Vec<u8>, foldhash::fast::FixedState>,
        sorted: std::collections::BTreeSet<Vec<u8>>,
    },
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
            by: By::Refs {
                ref_key: Box::new(ref_key),
                refs: refs.into_iter().collect(),
            },
        })
    }

    /// The same matcher deciding by the subjects' identifiers, when they are known and the
    /// column holds them as they are (the same person: a ref is a keyed hash of the
    /// canonical identifier), without a keyed hash per value.
    pub(crate) fn by_identifiers(self, subjects: &[SubjectId]) -> Matcher {
        let same_kind: Vec<SubjectId> = subjects
            .iter()
            .filter(|s| s.kind() == self.kind)
            .cloned()
            .collect();
        if self.tokenized || same_kind.is_empty() {
            return self;
        }
        Matcher::identifiers(self.kind, &same_kind)
    }

    /// A matcher for an untransformed key column of `kind` holding one of `subjects`.
    fn identifiers(kind: SubjectKind, subjects: &[SubjectId]) -> Matcher {
        Matcher {
            kind,
            tokenized: false,
            by: By::Identifiers {
                set: subjects
                    .iter()
                    .map(|s| s.canonical().as_bytes().to_vec())
                    .collect(),
                sorted: subjects
                    .iter()
                    .map(|s| s.canonical().as_bytes().to_vec())
                    .collect(),
            },
        }
    }

    /// Whether the value is one of the subjects'.
    pub(crate) fn matches(&self, value: &str) -> bool {
        match &self.by {
            By::Refs { ref_key, refs } => {
                let r = if self.tokenized {
                    parse_subject_token(value).and_then(|(r, _)| {
                        let mut b = [0u8; 32];
                        hex::decode_to_slice(r.as_str(), &mut b).ok().map(|_| b)
                    })
                } else {
                    SubjectId::new(self.kind, value)
                        .ok()
                        .map(|id| ref_key.bytes(&id))
                };
                r.is_some_and(|r| refs.contains(&r))
            }
            By::Identifiers { set: ids, .. } => {
                // A value already in canonical form is looked up as it is.
                let canonical = match self.kind {
                    SubjectKind::CustomerId => true,
                    SubjectKind::Email => {
                        value.is_ascii()
                            && !value.bytes().any(|b| b.is_ascii_uppercase())
                            && value.trim() == value
                    }
                    _ => false,
                };
                if canonical {
                    ids.contains(value.as_bytes())
                } else {
                    SubjectId::new(self.kind, value)
                        .is_ok_and(|id| ids.contains(id.canonical().as_bytes()))
                }
            }
        }
    }

    /// The row groups that may hold a subject, by the key column's min/max statistics, when
    /// they can tell: identifiers whose canonical form is the stored value (customer ids),
    /// and statistics on every row group. `None` when every row group must be read.
    fn row_groups(
        &self,
        meta: &parquet::file::metadata::ParquetMetaData,
        column: &str,
    ) -> Option<Vec<usize>> {
        use std::ops::Bound::Included;
        let By::Identifiers { sorted: ids, .. } = &self.by else {
            return None;
        };
        if self.kind != SubjectKind::CustomerId {
            return None;
        }
        let leaf = meta
            .file_metadata()
            .schema_descr()
            .columns()
            .iter()
            .position(|c| c.name() == column)?;
        let mut keep = Vec::new();
        for (i, rg) in meta.row_groups().iter().enumerate() {
            let parquet::file::statistics::Statistics::ByteArray(st) =
                rg.column(leaf).statistics()?
            else {
                return None;
            };
            let (lo, hi) = (st.min_opt()?.data(), st.max_opt()?.data());
            if lo <= hi
                && ids
                    .range::<[u8], _>((Included(lo), Included(hi)))
                    .next()
                    .is_some()
            {
                keep.push(i);
            }
        }
        Some(keep)
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
        if let By::Identifiers { .. } = self.by {
            // A set lookup costs what a cache lookup would.
            return Ok((0..text.len())
                .map(|i| Some(text.is_valid(i) && self.matches(text.value(i))))
                .collect());
        }
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
    let builder = match m.row_groups(builder.metadata(), column) {
        Some(groups) if groups.is_empty() => return Ok(0),
        Some(groups) => builder.with_row_groups(groups),
        None => builder,
    };
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

/// What erasing subjects did to one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileErasure {
    /// The file.
    pub path: PathBuf,
    /// Rows of the subjects it held (and no longer does).
    pub rows_removed: u64,
    /// Content hash after the rewrite; `None` when the file held none of them and was
    /// left untouched.
    pub content_hash: Option<String>,
}

/// Erases every row of `subjects` from Parquet files whose key column `column` holds
/// identifiers of `kind`: the engine's file erasure, for many subjects in one pass (what
/// `dsar run` does file by file). Each file is first checked by its key column alone, and
/// only a file that holds one of them is rewritten, in place and in two phases (staged,
/// then renamed); up to `parallel` files at a time.
pub async fn erase_from_files(
    files: &[PathBuf],
    column: &str,
    kind: SubjectKind,
    subjects: &[SubjectId],
    parallel: usize,
) -> Result<Vec<FileErasure>, EngineError> {
    use futures::StreamExt;
    let m = Arc::new(Matcher::identifiers(kind, subjects));
    let jobs = files.iter().cloned().map(|path| {
        let (m, column) = (m.clone(), column.to_string());
        async move {
            let (p, c, mm) = (path.clone(), column.clone(), m.clone());
            let held = tokio::task::spawn_blocking(move || count_in_file(&p, &c, &mm))
                .await
                .map_err(|e| EngineError::Workspace(format!("erasure: {e}")))??;
            if held == 0 {
                return Ok(FileErasure {
                    path,
                    rows_removed: 0,
                    content_hash: None,
                });
            }
            let (written, removed) = rewrite_without(&path, &column, m, &|_| true).await?;
            commit_staged(&path)?;
            Ok(FileErasure {
                path,
                rows_removed: removed,
                content_hash: Some(written.content_hash),
            })
        }
    });
    futures::stream::iter(jobs)
        .buffered(parallel.max(1))
        .collect::<Vec<Result<FileErasure, EngineError>>>()
        .await
        .into_iter()
        .collect()
}

#[cfg(test)]
mod tests {
    use arrow::{
        array::{Int64Array, StringArray},
        datatypes::{Field, Schema},
    };
    use parquet::arrow::ArrowWriter;

    use super::*;

    fn write(path: &Path, emails: &[&str]) {
        let schema = Arc::new(Schema::new(vec![
            Field::new("email", DataType::Utf8, false),
            Field::new("n", DataType::Int64, false),
        ]));
        let batch = RecordBatch::try_new(
            schema.clone(),
            vec![
                Arc::new(StringArray::from(emails.to_vec())),
                Arc::new(Int64Array::from_iter_values(0..emails.len() as i64)),
            ],
        )
        .unwrap();
        let mut w =
            ArrowWriter::try_new(std::fs::File::create(path).unwrap(), schema, None).unwrap();
        w.write(&batch).unwrap();
        w.close().unwrap();
    }

    fn emails(path: &Path) -> Vec<String> {
        let reader = ParquetRecordBatchReaderBuilder::try_new(std::fs::File::open(path).unwrap())
            .unwrap()
            .build()
            .unwrap();
        let mut out = Vec::new();
        for b in reader {
            let b = b.unwrap();
            let c = b.column(0).as_string::<i32>();
            out.extend((0..c.len()).map(|i| c.value(i).to_string()));
        }
        out
    }

    #[tokio::test]
    async fn only_files_holding_a_subject_are_rewritten_and_only_their_rows_go() {
        let dir = tempfile::tempdir().unwrap();
        let files: Vec<PathBuf> = (0..3)
            .map(|i| dir.path().join(format!("part-{i}.parquet")))
            .collect();
        write(
            &files[0],
            &["ana@example.com", "bo@example.com", "ANA@example.com "],
        );
        write(&files[1], &["bo@example.com", "cy@example.com"]);
        write(
            &files[2],
            &["cy@example.com", "dee@example.com", "bo@example.com"],
        );
        let untouched = std::fs::read(&files[1]).unwrap();
        let subjects = [
            SubjectId::new(SubjectKind::Email, "ana@example.com").unwrap(),
            SubjectId::new(SubjectKind::Email, "dee@example.com").unwrap(),
        ];
        let done = erase_from_files(&files, "email", SubjectKind::Email, &subjects, 2)
            .await
            .unwrap();
        assert_eq!(
            done.iter().map(|d| d.rows_removed).collect::<Vec<_>>(),
            [2, 0, 1],
            "both spellings of Ana go"
        );
        assert!(done[1].content_hash.is_none());
        assert_eq!(std::fs::read(&files[1]).unwrap(), untouched);
        assert_eq!(emails(&files[0]), ["bo@example.com"]);
        assert_eq!(emails(&files[2]), ["cy@example.com", "bo@example.com"]);
        assert!(!staging_path(&files[0]).exists());
        // A second pass finds nothing and changes nothing.
        let again = erase_from_files(&files, "email", SubjectKind::Email, &subjects, 2)
            .await
            .unwrap();
        assert!(again
            .iter()
            .all(|d| d.rows_removed == 0 && d.content_hash.is_none()));
    }

    #[tokio::test]
    async fn customer_ids_rule_out_files_by_their_statistics_and_still_find_every_row() {
        let dir = tempfile::tempdir().unwrap();
        let files: Vec<PathBuf> = (0..3)
            .map(|i| dir.path().join(format!("part-{i}.parquet")))
            .collect();
        // The writer keeps min/max per row group: C10..C19, C20..C29, C30..C39.
        write(&files[0], &["C10", "C15", "C19", "C15"]);
        write(&files[1], &["C20", "C29", "C22"]);
        write(&files[2], &["C30", "C39", "C35"]);
        let ids = |v: &[&str]| -> Vec<SubjectId> {
            v.iter()
                .map(|i| SubjectId::new(SubjectKind::CustomerId, i).unwrap())
                .collect()
        };
        let m = Matcher::identifiers(SubjectKind::CustomerId, &ids(&["C15", "C25", "C99"]));
        let meta =
            ParquetRecordBatchReaderBuilder::try_new(std::fs::File::open(&files[2]).unwrap())
                .unwrap()
                .metadata()
                .clone();
        assert_eq!(
            m.row_groups(&meta, "email"),
            Some(vec![]),
            "C30..C39 holds none"
        );
        let done = erase_from_files(
            &files,
            "email",
            SubjectKind::CustomerId,
            &ids(&["C15", "C25", "C99"]),
            3,
        )
        .await
        .unwrap();
        // C25 is inside the second file's range but not in it: read, nothing removed.
        assert_eq!(
            done.iter().map(|d| d.rows_removed).collect::<Vec<_>>(),
            [2, 0, 0]
        );
        assert_eq!(emails(&files[0]), ["C10", "C19"]);
    }

    #[test]
    fn refs_and_identifiers_pick_the_same_rows() {
        let master = custodia_core::keys::MasterKey::from_bytes([9; 32]);
        let region = custodia_core::Region::new("eu").unwrap();
        let ref_key = RefKey::new(&master, &region);
        let ana = SubjectId::new(SubjectKind::Email, "ana@example.com").unwrap();
        let key = SubjectKey {
            column: "email".into(),
            kind: "email".into(),
            transform: None,
            contract: None,
        };
        let by_ref = Matcher::new(&key, ref_key.clone(), [ref_key.bytes(&ana)]).unwrap();
        let by_id = Matcher::new(&key, ref_key, [[0; 32]])
            .unwrap()
            .by_identifiers(std::slice::from_ref(&ana));
        let schema = Arc::new(arrow::datatypes::Schema::new(vec![
            arrow::datatypes::Field::new("email", DataType::Utf8, true),
        ]));
        let values = [
            Some("ana@example.com"),
            Some(" Ana@Example.COM"),
            Some("bo@example.com"),
            Some("not an email"),
            None,
            Some("ana@example.co"),
        ];
        let batch = RecordBatch::try_new(
            schema,
            vec![Arc::new(arrow::array::StringArray::from(values.to_vec()))],
        )
        .unwrap();
        let p = Path::new("t.parquet");
        let a = by_ref
            .mask(&batch, "email", &mut HashMap::new(), p)
            .unwrap();
        let b = by_id.mask(&batch, "email", &mut HashMap::new(), p).unwrap();
        assert_eq!(a, b);
        assert_eq!(a.true_count(), 2);
        // A phone number is another kind: the identifier does not apply, the refs stay.
        let phone = SubjectId::new(SubjectKind::Phone, "+44 20 7946 0958").unwrap();
        let kept = by_ref.by_identifiers(&[phone]);
        assert_eq!(
            kept.mask(&batch, "email", &mut HashMap::new(), p).unwrap(),
            a
        );
    }
}
