//! Who is in a read: the distinct subject values of a frame turned into SubjectRefs once
//! each, checked against the consent ledger for the consent or opt-out row filter, and
//! written as a training snapshot's subject manifest.

use std::{path::Path, sync::Arc};

use arrow::{
    array::{Array, ArrayRef, AsArray, BooleanArray, FixedSizeBinaryArray, RecordBatch},
    compute::{cast, filter},
    datatypes::{DataType, Field, Int64Type, Schema},
};
use custodia_core::{Contract, EntityType, SubjectId, SubjectKind};
use custodia_policy::FilterKind;
use datafusion::{
    common::JoinType,
    datasource::MemTable,
    functions_aggregate::count::count_all,
    prelude::{ident, DataFrame, SessionContext},
};
use parquet::{arrow::ArrowWriter, basic::Compression, file::properties::WriterProperties};
use sha2::{Digest, Sha256};

use super::{df_err, StepError};
use crate::{consent::ConsentAt, workspace::Workspace, EngineError};

/// The distinct subject values of a read, with their refs.
pub(super) struct Subjects {
    /// Distinct values of the subject column, batch by batch (the column's own type).
    values: Vec<ArrayRef>,
    /// Per value, its SubjectRef as 32 bytes (`None`: not a valid identifier of the kind).
    refs: Vec<Vec<Option<[u8; 32]>>>,
    /// Rows the frame holds.
    pub rows: u64,
}

/// What a row filter kept.
pub(super) struct Filtered {
    /// The filtered frame (a semi- or anti-join; lazy).
    pub frame: DataFrame,
    /// Sorted, distinct refs of the subjects the filtered frame holds.
    pub kept: Vec<[u8; 32]>,
}

/// The kind of identifier a contract's subject key holds.
pub(super) fn subject_kind(contract: &Contract, key: &str) -> SubjectKind {
    match contract.column(key).and_then(|c| c.pii) {
        Some(EntityType::EmailAddress) => SubjectKind::Email,
        Some(EntityType::PhoneNumber) => SubjectKind::Phone,
        _ => SubjectKind::CustomerId,
    }
}

impl Workspace {
    /// One aggregate pass over the frame: its row count and its distinct subject values,
    /// each turned into a ref in the contract's region.
    pub(super) async fn subjects(
        &self,
        id: &str,
        frame: &DataFrame,
        contract: &Contract,
        key: &str,
    ) -> Result<Subjects, StepError> {
        let region = self.contract_region(contract);
        let kind = subject_kind(contract, key);
        let groups = frame
            .clone()
            .aggregate(vec![ident(key)], vec![count_all().alias("__custodia_n")])
            .map_err(|e| df_err(id, e))?
            .collect()
            .await
            .map_err(|e| df_err(id, e))?;
        let ref_key = self.ref_key(&region);
        let mut out = Subjects {
            values: Vec::with_capacity(groups.len()),
            refs: Vec::with_capacity(groups.len()),
            rows: 0,
        };
        let mut texts = Vec::with_capacity(groups.len());
        for b in &groups {
            let counts = b.column(1).as_primitive::<Int64Type>();
            out.rows += counts.iter().flatten().map(|n| n as u64).sum::<u64>();
            out.values.push(b.column(0).clone());
            texts.push(cast(b.column(0), &DataType::Utf8).map_err(|e| df_err(id, e))?);
        }
        // A million HMACs: split the batches over the cores.
        let refs_of = |text: &ArrayRef| -> Vec<Option<[u8; 32]>> {
            text.as_string::<i32>()
                .iter()
                .map(|v| Some(ref_key.bytes(&SubjectId::new(kind, v?).ok()?)))
                .collect()
        };
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
        let per = texts.len().div_ceil(threads).max(1);
        out.refs = std::thread::scope(|scope| {
            let parts: Vec<_> = texts
                .chunks(per)
                .map(|part| scope.spawn(move || part.iter().map(refs_of).collect::<Vec<_>>()))
                .collect();
            parts
                .into_iter()
                .flat_map(|p| p.join().expect("ref computation does not panic"))
                .collect()
        });
        Ok(out)
    }
}

impl Subjects {
    /// Keeps the rows whose subject `ledger` allows: a semi-join with the consenting
    /// subjects' values (consent) or an anti-join with the opted-out ones (opt-out). Rows without a valid subject identifier have no consent, and no opt-out.
    pub(super) fn row_filter(
        &self,
        ctx: &SessionContext,
        id: &str,
        frame: DataFrame,
        key: &str,
        ledger: &ConsentAt,
        kind: FilterKind,
    ) -> Result<Filtered, StepError> {
        let mut picked = Vec::with_capacity(self.values.len());
        let mut kept = Vec::new();
        for (values, refs) in self.values.iter().zip(&self.refs) {
            let mut mask = Vec::with_capacity(refs.len());
            for r in refs {
                let state = r.as_ref().and_then(|r| ledger.state(r));
                let allowed = match kind {
                    FilterKind::Consent => state == Some(true),
                    FilterKind::OptOut => state != Some(false),
                };
                if allowed {
                    if let Some(r) = r {
                        kept.push(*r);
                    }
                }
                // The join set: consenting values (semi) or opted-out values (anti).
                mask.push(Some(match kind {
                    FilterKind::Consent => allowed,
                    FilterKind::OptOut => !allowed,
                }));
            }
            let mask = BooleanArray::from(mask);
            picked.push(filter(values, &mask).map_err(|e| df_err(id, e))?);
        }
        kept.sort_unstable();
        kept.dedup();
        let field = Field::new(
            "__custodia_subject",
            self.values
                .first()
                .map(|a| a.data_type().clone())
                .unwrap_or(DataType::Utf8),
            true,
        );
        let schema = Arc::new(Schema::new(vec![field]));
        let batches: Vec<RecordBatch> = picked
            .into_iter()
            .map(|a| RecordBatch::try_new(schema.clone(), vec![a]))
            .collect::<Result<_, _>>()
            .map_err(|e| df_err(id, e))?;
        let table = MemTable::try_new(schema, vec![batches]).map_err(|e| df_err(id, e))?;
        let set = ctx.read_table(Arc::new(table)).map_err(|e| df_err(id, e))?;
        let join = match kind {
            FilterKind::Consent => JoinType::LeftSemi,
            FilterKind::OptOut => JoinType::LeftAnti,
        };
        let frame = frame
            .join(set, join, &[key], &["__custodia_subject"], None)
            .map_err(|e| df_err(id, e))?;
        Ok(Filtered { frame, kept })
    }

    /// Sorted, distinct refs of every subject (no row filter applied).
    pub(super) fn all(&self) -> Vec<[u8; 32]> {
        let mut all: Vec<[u8; 32]> = self.refs.iter().flatten().flatten().copied().collect();
        all.sort_unstable();
        all.dedup();
        all
    }
}

/// A written subject manifest.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Manifest {
    /// The manifest file (Parquet, one sorted `subject_ref` column of 32-byte refs),
    /// relative to the workspace.
    pub path: String,
    /// SHA-256 over the sorted refs: two snapshots hold the same people iff it is equal.
    pub sha256: String,
    /// Subjects listed.
    pub subjects: u64,
}

/// Writes sorted refs as a manifest file (atomically), returning its description.
pub(super) fn write_manifest(
    root: &Path,
    rel: &Path,
    refs: &[[u8; 32]],
) -> Result<Manifest, EngineError> {
    let path = root.join(rel);
    let dir = path.parent().unwrap_or(root);
    std::fs::create_dir_all(dir).map_err(|e| EngineError::io(dir, e))?;
    let mut digest = Sha256::new();
    for r in refs {
        digest.update(r);
    }
    let schema = Arc::new(Schema::new(vec![Field::new(
        "subject_ref",
        DataType::FixedSizeBinary(32),
        false,
    )]));
    let tmp = tempfile::NamedTempFile::new_in(dir).map_err(|e| EngineError::io(dir, e))?;
    let file = tmp.reopen().map_err(|e| EngineError::io(tmp.path(), e))?;
    let props = WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .set_dictionary_enabled(false)
        .build();
    let mut writer = ArrowWriter::try_new(file, schema.clone(), Some(props))
        .map_err(|e| EngineError::data(&path, e))?;
    for chunk in refs.chunks(65_536) {
        let array = FixedSizeBinaryArray::try_from_iter(chunk.iter())
            .map_err(|e| EngineError::data(&path, e))?;
        let batch = RecordBatch::try_new(schema.clone(), vec![Arc::new(array)])
            .map_err(|e| EngineError::data(&path, e))?;
        writer
            .write(&batch)
            .map_err(|e| EngineError::data(&path, e))?;
    }
    let file = writer
        .into_inner()
        .map_err(|e| EngineError::data(&path, e))?;
    file.sync_all().map_err(|e| EngineError::io(&path, e))?;
    drop(file);
    tmp.persist(&path)
        .map_err(|e| EngineError::io(&path, e.error))?;
    Ok(Manifest {
        path: rel.display().to_string(),
        sha256: hex::encode(digest.finalize()),
        subjects: refs.len() as u64,
    })
}

/// Reads a manifest file back: the sorted refs it lists.
pub fn read_manifest(path: &Path) -> Result<Vec<[u8; 32]>, EngineError> {
    let file = std::fs::File::open(path).map_err(|e| EngineError::io(path, e))?;
    let reader = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file)
        .and_then(|b| b.build())
        .map_err(|e| EngineError::data(path, e))?;
    let mut out = Vec::new();
    for batch in reader {
        let batch = batch.map_err(|e| EngineError::data(path, e))?;
        let col = batch
            .column(0)
            .as_fixed_size_binary_opt()
            .ok_or_else(|| EngineError::data(path, "not a subject manifest"))?;
        for v in col.iter().flatten() {
            let mut r = [0u8; 32];
            if v.len() == 32 {
                r.copy_from_slice(v);
                out.push(r);
            }
        }
    }
    Ok(out)
}
