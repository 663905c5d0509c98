//! Who is in a read: each distinct subject value of a frame turned into its SubjectRef
//! once, checked against the consent ledger for the consent or opt-out row filter in the
//! scan itself, and written as a training snapshot's subject manifest.

use std::{
    path::Path,
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc, Mutex,
    },
};

use arrow::{
    array::{
        Array, ArrayRef, AsArray, BooleanArray, FixedSizeBinaryArray, RecordBatch, StringArray,
        StringViewArray,
    },
    compute::cast,
    datatypes::{DataType, Field, Schema},
    error::ArrowError,
};
use custodia_core::{Contract, EntityType, RefKey, SubjectId, SubjectKind};
use custodia_policy::FilterKind;
use datafusion::{
    logical_expr::{create_udf, ColumnarValue, Volatility},
    prelude::{ident, DataFrame},
};
use parquet::{arrow::ArrowWriter, basic::Compression, file::properties::WriterProperties};
use rayon::slice::ParallelSliceMut;
use sha2::{Digest, Sha256};

use super::{df_err, StepError};
use crate::{
    consent::ConsentAt,
    flat::{self, FlatTable},
    EngineError,
};

/// The kind of identifier a contract's subject key holds.
pub(super) fn subject_kind(contract: &Contract, key: &str) -> SubjectKind {
    match contract.column(key).and_then(|c| c.pii) {
        Some(EntityType::EmailAddress) => SubjectKind::Email,
        Some(EntityType::PhoneNumber) => SubjectKind::Phone,
        _ => SubjectKind::CustomerId,
    }
}

/// Where the person of each row of a written version is, as the store keeps it: the
/// governing contract's subject key column, the kind of identifier in it, and the
/// transform applied to it on the way (`tokenize` leaves the ref readable in each value;
/// other transforms make the column unsearchable by identifier).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SubjectKey {
    /// The column.
    pub column: String,
    /// `email`, `phone` or `customer_id`.
    pub kind: String,
    /// The transform applied to the column (`tokenize`, `hash`…), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transform: Option<String>,
    /// The contract that governs the version (its purposes and retention).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contract: Option<String>,
}

impl SubjectKey {
    /// The key of an output governed by `contract`, when the contract names one and the
    /// output kept that column; `transforms` are the step's `column:op` transforms.
    pub(crate) fn of_output(
        contract: Option<&Contract>,
        schema: &Schema,
        transforms: &[String],
    ) -> Option<SubjectKey> {
        let contract = contract?;
        let column = contract.subject_key.as_deref()?;
        schema.field_with_name(column).ok()?;
        Some(SubjectKey {
            column: column.to_string(),
            kind: subject_kind(contract, column).as_str().to_string(),
            transform: transforms
                .iter()
                .find_map(|t| t.strip_prefix(column)?.strip_prefix(':'))
                .map(str::to_string),
            contract: Some(contract.dataset.clone()),
        })
    }

    /// As the store keeps it.
    pub(crate) fn to_json(&self) -> String {
        serde_json::to_string(self).expect("subject keys serialise")
    }
}

/// Shards of the gate's verdict cache: partitions evaluate the gate concurrently, each
/// batch takes a shard's lock once for all of its rows in that shard.
const SHARDS: usize = 64;

/// The shard of a value's hash (its top six bits).
fn shard_of(hash: u128) -> usize {
    (hash >> 122) as usize % SHARDS
}

/// A verdict's flag: the subject's rows pass every row filter.
const ALLOWED: u32 = 1 << 31;
/// A verdict's index when the value is not a valid identifier (it has no ref).
const NO_REF: u32 = (1 << 30) - 1;

/// One shard of the verdict cache, on its own cache lines so the cores locking
/// neighbouring shards do not contend for one line.
#[repr(align(128))]
#[derive(Default)]
struct Shard(Mutex<Verdicts>);

/// Values are keyed by their 128-bit xxh3 hash (a collision among a billion values has
/// odds of about one in 10^21), and a verdict is 4 bytes: the `ALLOWED` flag and the index
/// of the value's ref in `refs`.
#[derive(Default)]
struct Verdicts {
    index: FlatTable,
    refs: Vec<[u8; 32]>,
}

/// A read's row filters (consent, opt-out) evaluated in the scan itself, in one pass:
/// each distinct subject value is turned into its ref and checked against the ledgers
/// once, on its first row, and every later row of that subject is a cache lookup. It
/// counts the rows it sees and remembers who it let through, so after the frame has run
/// the caller knows the rows read and the subject manifest without a second pass.
pub(super) struct SubjectGate {
    kind: SubjectKind,
    ref_key: RefKey,
    filters: Vec<(FilterKind, ConsentAt)>,
    shards: Vec<Shard>,
    rows: AtomicU64,
}

/// A batch's subject values as text.
enum Texts<'a> {
    View(&'a StringViewArray),
    Plain(&'a StringArray),
}

impl Texts<'_> {
    fn get(&self, row: usize) -> Option<&str> {
        match self {
            Texts::View(a) => a.is_valid(row).then(|| a.value(row)),
            Texts::Plain(a) => a.is_valid(row).then(|| a.value(row)),
        }
    }
}

impl SubjectGate {
    /// A gate for subjects of `kind`, refs keyed by `ref_key`, applying `filters` (none:
    /// every row passes and the gate only lists who is in the read).
    pub(super) fn new(
        kind: SubjectKind,
        ref_key: RefKey,
        filters: Vec<(FilterKind, ConsentAt)>,
    ) -> SubjectGate {
        SubjectGate {
            kind,
            ref_key,
            filters,
            shards: (0..SHARDS).map(|_| Shard::default()).collect(),
            rows: AtomicU64::new(0),
        }
    }

    /// Whether a subject passes every filter. Rows without a valid identifier have no
    /// consent, and no opt-out.
    fn allows(&self, subject: Option<&[u8; 32]>) -> bool {
        self.filters.iter().all(|(kind, ledger)| {
            let state = subject.and_then(|r| ledger.state(r));
            match kind {
                FilterKind::Consent => state == Some(true),
                FilterKind::OptOut => state != Some(false),
            }
        })
    }

    /// The verdict of a value seen for the first time.
    fn decide(&self, value: &str, refs: &mut Vec<[u8; 32]>) -> u32 {
        let subject = SubjectId::new(self.kind, value)
            .ok()
            .map(|id| self.ref_key.bytes(&id));
        let allowed = if self.allows(subject.as_ref()) {
            ALLOWED
        } else {
            0
        };
        match subject {
            Some(r) if refs.len() < NO_REF as usize => {
                refs.push(r);
                allowed | (refs.len() - 1) as u32
            }
            _ => allowed | NO_REF,
        }
    }

    /// The pass/fail mask of one batch of subject values.
    fn evaluate(&self, values: &ArrayRef) -> Result<BooleanArray, ArrowError> {
        self.rows.fetch_add(values.len() as u64, Ordering::Relaxed);
        let cast_values;
        let texts = match values.data_type() {
            DataType::Utf8View => Texts::View(values.as_string_view()),
            DataType::Utf8 => Texts::Plain(values.as_string::<i32>()),
            _ => {
                cast_values = cast(values, &DataType::Utf8)?;
                Texts::Plain(cast_values.as_string::<i32>())
            }
        };
        let mut mask = vec![self.allows(None); values.len()];
        // Rows grouped by shard (a counting sort), so each shard is locked once a batch.
        let mut hashes = Vec::with_capacity(values.len());
        let mut starts = [0usize; SHARDS + 1];
        for row in 0..values.len() {
            if let Some(v) = texts.get(row) {
                let hash = xxhash_rust::xxh3::xxh3_128(v.as_bytes());
                starts[shard_of(hash) + 1] += 1;
                hashes.push((row, hash));
            }
        }
        for s in 1..=SHARDS {
            starts[s] += starts[s - 1];
        }
        let mut order = vec![(0usize, 0u128); hashes.len()];
        let mut next = starts;
        for &(row, hash) in &hashes {
            let s = shard_of(hash);
            order[next[s]] = (row, hash);
            next[s] += 1;
        }
        for (s, shard) in self.shards.iter().enumerate() {
            let rows = &order[starts[s]..starts[s + 1]];
            if rows.is_empty() {
                continue;
            }
            let mut guard = shard
                .0
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            let Verdicts { index, refs } = &mut *guard;
            std::hint::black_box(
                rows.iter()
                    .fold(0, |acc, &(_, hash)| acc ^ index.touch(flat::key_of(hash))),
            );
            for &(row, hash) in rows {
                let verdict = index.get_or_insert_with(flat::key_of(hash), || {
                    self.decide(texts.get(row).expect("hashed rows have a value"), refs)
                });
                mask[row] = verdict & ALLOWED != 0;
            }
        }
        Ok(BooleanArray::from(mask))
    }

    /// `frame` with the gate applied to its `key` column. The gate counts and lists only
    /// the rows the returned frame is run over, so run it once.
    pub(super) fn apply(
        self: &Arc<Self>,
        id: &str,
        frame: DataFrame,
        key: &str,
    ) -> Result<DataFrame, StepError> {
        let data_type = frame
            .schema()
            .field_with_unqualified_name(key)
            .map_err(|e| df_err(id, e))?
            .data_type()
            .clone();
        let gate = Arc::clone(self);
        let udf = create_udf(
            "custodia_subject_gate",
            vec![data_type],
            DataType::Boolean,
            // It counts what it sees: never folded, deduplicated or moved.
            Volatility::Volatile,
            Arc::new(move |args: &[ColumnarValue]| {
                let arrays = ColumnarValue::values_to_arrays(args)?;
                Ok(ColumnarValue::Array(Arc::new(gate.evaluate(&arrays[0])?)))
            }),
        );
        Ok(frame
            .filter(udf.call(vec![ident(key)]))
            .map_err(|e| df_err(id, e))?)
    }

    /// Rows the gate has seen.
    pub(super) fn rows(&self) -> u64 {
        self.rows.load(Ordering::Relaxed)
    }

    /// Sorted, distinct refs of the subjects whose rows passed.
    pub(super) fn kept(&self) -> Vec<[u8; 32]> {
        let mut kept: Vec<[u8; 32]> = Vec::new();
        for shard in &self.shards {
            let guard = shard
                .0
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            kept.extend(
                guard
                    .index
                    .values()
                    .filter(|v| v & ALLOWED != 0 && v & NO_REF != NO_REF)
                    .map(|v| guard.refs[(v & NO_REF) as usize]),
            );
        }
        kept.par_sort_unstable();
        kept.dedup();
        kept
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
pub(crate) fn write_manifest(
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

#[cfg(test)]
mod tests {
    use arrow::array::{Int64Array, StringViewArray};
    use custodia_core::{keys::MasterKey, Region};
    use custodia_store::SubjectConsent;

    use super::*;

    fn key() -> RefKey {
        RefKey::new(&MasterKey::from_bytes([7; 32]), &Region::new("eu").unwrap())
    }

    fn r(id: &str) -> [u8; 32] {
        key().bytes(&SubjectId::new(SubjectKind::CustomerId, id).unwrap())
    }

    /// c1 granted, c2 withdrew, c3 never answered.
    fn ledger() -> ConsentAt {
        let ev = |id: &str, granted| SubjectConsent {
            subject_ref: r(id),
            granted,
        };
        ConsentAt::from_subjects([ev("c1", true), ev("c2", false)])
    }

    fn mask(gate: &SubjectGate, values: ArrayRef) -> Vec<bool> {
        gate.evaluate(&values)
            .unwrap()
            .iter()
            .map(|v| v.unwrap())
            .collect()
    }

    #[test]
    fn consent_keeps_only_granted_subjects_and_opt_out_drops_only_withdrawn_ones() {
        let values: ArrayRef = Arc::new(StringArray::from(vec![
            Some("c1"),
            Some("c2"),
            Some("c3"),
            None,
            Some(""),
            Some("c1"),
        ]));
        let consent = SubjectGate::new(
            SubjectKind::CustomerId,
            key(),
            vec![(FilterKind::Consent, ledger())],
        );
        assert_eq!(
            mask(&consent, values.clone()),
            [true, false, false, false, false, true]
        );
        assert_eq!(consent.kept(), vec![r("c1")]);
        assert_eq!(consent.rows(), 6);
        // No identifier has no opt-out on record: those rows stay.
        let opt_out = SubjectGate::new(
            SubjectKind::CustomerId,
            key(),
            vec![(FilterKind::OptOut, ledger())],
        );
        assert_eq!(
            mask(&opt_out, values),
            [true, false, true, true, true, true]
        );
        let mut both = vec![r("c1"), r("c3")];
        both.sort_unstable();
        assert_eq!(opt_out.kept(), both);
        // Both filters: only what each allows.
        let both = SubjectGate::new(
            SubjectKind::CustomerId,
            key(),
            vec![
                (FilterKind::OptOut, ledger()),
                (FilterKind::Consent, ledger()),
            ],
        );
        let values: ArrayRef = Arc::new(StringArray::from(vec!["c3", "c1", "c2"]));
        assert_eq!(mask(&both, values), [false, true, false]);
    }

    #[test]
    fn views_numbers_and_concurrent_batches_get_the_same_verdicts() {
        let gate = Arc::new(SubjectGate::new(
            SubjectKind::CustomerId,
            key(),
            vec![(FilterKind::Consent, ledger())],
        ));
        let view: ArrayRef = Arc::new(StringViewArray::from(vec!["c2", "c1"]));
        assert_eq!(mask(&gate, view), [false, true]);
        // Integer keys are looked up by their text, as refs are made of it.
        let numbers = SubjectGate::new(
            SubjectKind::CustomerId,
            key(),
            vec![(
                FilterKind::Consent,
                ConsentAt::from_subjects([SubjectConsent {
                    subject_ref: r("42"),
                    granted: true,
                }]),
            )],
        );
        let ints: ArrayRef = Arc::new(Int64Array::from(vec![42, 43]));
        assert_eq!(mask(&numbers, ints), [true, false]);
        // Two threads over the same subjects: every subject decided once, every row
        // counted.
        let values: Vec<String> = (0..20_000).map(|i| format!("c{}", i % 3 + 1)).collect();
        let values: ArrayRef = Arc::new(StringArray::from(values));
        std::thread::scope(|s| {
            for _ in 0..2 {
                s.spawn(|| {
                    let m = mask(&gate, values.clone());
                    assert!(m.iter().step_by(3).all(|v| *v));
                    assert!(m.iter().skip(1).step_by(3).all(|v| !*v));
                });
            }
        });
        assert_eq!(gate.rows(), 40_002);
        assert_eq!(gate.kept(), vec![r("c1")]);
    }
}
