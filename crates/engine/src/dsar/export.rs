//! Access and portability: a zip package with the subject's rows from every place that
//! holds them (JSON and CSV each, tokenized fields decrypted), their consent history, a
//! machine-readable index and a data map (where each item came from, the purposes and
//! legal bases it is held for, who received it, how long it is kept).

use std::{
    collections::{BTreeMap, BTreeSet},
    io::Write,
    path::Path,
    sync::Arc,
};

use arrow::{
    array::{Array, ArrayRef, AsArray, RecordBatch, StringArray},
    compute::{cast, filter_record_batch},
    datatypes::{DataType, Field, Schema},
};
use custodia_core::{dsar::DsarKind, Contract, Region, SubjectRef};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::{entry, erase::Matcher, hex32, targets, Discovery, Place, Request};
use crate::{
    audit_log, keyring::parse_subject_token, run::subjects::SubjectKey, workspace::Workspace,
    EngineError,
};

/// What `dsar export` produced.
#[derive(Debug, Clone, Serialize)]
pub struct ExportReport {
    /// The request after the export.
    pub request: Request,
    /// SHA-256 of the package (recorded in the audit log).
    pub sha256: String,
    /// Places that held the subject's data.
    pub locations: usize,
    /// Rows exported.
    pub rows: u64,
    /// Files in the package.
    pub files: usize,
    /// External targets that did not confirm (run the export again to retry them).
    pub waiting: Vec<String>,
}

/// One place's entry in the data map.
#[derive(Debug, Clone, Default, Serialize)]
struct MapEntry {
    location: String,
    files: Vec<String>,
    rows: u64,
    dataset: Option<String>,
    region: Option<String>,
    contract: Option<String>,
    owner: Option<String>,
    purposes: Vec<BTreeMap<&'static str, serde_json::Value>>,
    retention_days: Option<u32>,
    came_from: Vec<String>,
    recipients: Vec<String>,
    written: Option<String>,
    note: Option<String>,
}

/// Rows of the subject in a batch stream, with their tokens decrypted.
struct Rows {
    batches: Vec<RecordBatch>,
}

impl Rows {
    fn count(&self) -> u64 {
        self.batches.iter().map(|b| b.num_rows() as u64).sum()
    }

    fn json(&self) -> Result<Vec<u8>, EngineError> {
        let mut w = arrow::json::ArrayWriter::new(Vec::new());
        let refs: Vec<&RecordBatch> = self.batches.iter().collect();
        w.write_batches(&refs)
            .map_err(|e| EngineError::Workspace(format!("export: {e}")))?;
        w.finish()
            .map_err(|e| EngineError::Workspace(format!("export: {e}")))?;
        let mut out = w.into_inner();
        if out.is_empty() {
            out.extend_from_slice(b"[]");
        }
        Ok(out)
    }

    fn csv(&self) -> Result<Vec<u8>, EngineError> {
        let mut w = arrow::csv::WriterBuilder::new()
            .with_header(true)
            .build(Vec::new());
        for b in &self.batches {
            w.write(b)
                .map_err(|e| EngineError::Workspace(format!("export: {e}")))?;
        }
        Ok(w.into_inner())
    }
}

/// Text columns as `Utf8` (views and large strings cast), so tokens can be replaced.
fn plain_strings(batch: &RecordBatch) -> Result<RecordBatch, EngineError> {
    let mut fields = Vec::new();
    let mut columns: Vec<ArrayRef> = Vec::new();
    for (f, c) in batch.schema().fields().iter().zip(batch.columns()) {
        if matches!(f.data_type(), DataType::Utf8View | DataType::LargeUtf8) {
            fields.push(Field::new(f.name(), DataType::Utf8, true));
            columns.push(
                cast(c, &DataType::Utf8)
                    .map_err(|e| EngineError::Workspace(format!("export: {e}")))?,
            );
        } else {
            fields.push(f.as_ref().clone().with_nullable(true));
            columns.push(c.clone());
        }
    }
    RecordBatch::try_new(Arc::new(Schema::new(fields)), columns)
        .map_err(|e| EngineError::Workspace(format!("export: {e}")))
}

impl Workspace {
    /// Answers an access or portability request: writes the package to `out` (a `.zip`,
    /// atomically) and closes the request once every external target has confirmed.
    pub async fn dsar_export(&self, id: &str, out: &Path) -> Result<ExportReport, EngineError> {
        let (record, _) = self
            .dsar_start(id, &[DsarKind::Access, DsarKind::Portability])
            .await?;
        let subject = SubjectRef::parse(&record.subject_ref)?;
        let refs = self.refs_of(&record).await?;
        let ids = [self.identifier_of(&record).await?];
        let places = self.dsar_discover(&refs, &ids).await?;
        let discovery = Discovery { refs, places };
        let called = self
            .dsar_targets(&record, &discovery, &subject, None)
            .await?;
        let waiting = targets::unconfirmed(&called);
        let contracts = self.latest_contracts().await?;
        let versions = self.store().all_dataset_versions().await?;
        let edges = self.store().lineage_edges().await?;
        let models = self.store().all_model_versions().await?;
        let mut files: Vec<(String, Vec<u8>)> = Vec::new();
        let mut map = Vec::new();
        let mut total = 0u64;
        for place in discovery.places.iter().filter(|p| p.rows() > 0) {
            let n = map.len() + 1;
            let slug: String = place
                .location()
                .chars()
                .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
                .take(60)
                .collect();
            let mut e = MapEntry {
                location: place.location(),
                ..MapEntry::default()
            };
            let rows = match place {
                Place::File {
                    dataset,
                    version,
                    path,
                    region,
                    key,
                    ..
                } => {
                    let name = format!("{dataset}@{version}");
                    e.dataset = Some(name.clone());
                    e.region = Some(region.clone());
                    if let Some(v) = versions
                        .iter()
                        .find(|v| v.dataset == *dataset && v.version == *version)
                    {
                        e.written = Some(custodia_core::time::format_rfc3339(v.created_us));
                    }
                    let mut from: BTreeSet<String> = BTreeSet::new();
                    let mut to: BTreeSet<String> = BTreeSet::new();
                    for edge in &edges {
                        if edge.output_dataset == name {
                            from.insert(edge.input_dataset.clone());
                        }
                        if edge.input_dataset == name {
                            to.insert(edge.output_dataset.clone());
                        }
                    }
                    e.came_from = from.into_iter().collect();
                    e.recipients = to.into_iter().collect();
                    self.describe(&mut e, key, &contracts);
                    Some(
                        self.subject_rows_of_file(
                            &self.root().join(path),
                            key,
                            region,
                            &subject_in(&discovery, region)?,
                        )
                        .await?,
                    )
                }
                Place::Source {
                    path, region, key, ..
                } => {
                    e.region = Some(region.clone());
                    e.note = Some("a source file pipelines ingest".into());
                    self.describe(&mut e, key, &contracts);
                    let file = self.root().join(path);
                    let table = crate::Table::read(&file)?;
                    let idx = table.columns.iter().position(|c| *c == key.column);
                    let m = Matcher::new(
                        key,
                        self.ref_key(&self.region(Some(region))?),
                        [hex32(&subject_in(&discovery, region)?)],
                    )?;
                    let keep: Vec<bool> = match idx {
                        Some(i) => table
                            .column_values(i, usize::MAX)
                            .iter()
                            .map(|v| v.as_deref().is_some_and(|v| m.matches(v)))
                            .collect(),
                        None => vec![false; table.rows()],
                    };
                    let mut table = table;
                    table.retain_rows(&keep)?;
                    let tmp = tempfile::Builder::new()
                        .suffix(".parquet")
                        .tempfile()
                        .map_err(|e| EngineError::io(Path::new("."), e))?;
                    table.write(tmp.path())?;
                    let k = SubjectKey {
                        transform: None,
                        ..key.clone()
                    };
                    Some(
                        self.subject_rows_of_file(
                            tmp.path(),
                            &k,
                            region,
                            &subject_in(&discovery, region)?,
                        )
                        .await?,
                    )
                }
                Place::Table {
                    url,
                    table,
                    region,
                    key,
                    ..
                } => {
                    e.region = Some(region.clone());
                    e.note = Some("a warehouse or database table a pipeline loaded".into());
                    self.describe(&mut e, key, &contracts);
                    let (_, batches) =
                        crate::run::load::read_table(self.root(), url, table).await?;
                    let m = Matcher::new(
                        key,
                        self.ref_key(&self.region(Some(region))?),
                        [hex32(&subject_in(&discovery, region)?)],
                    )?;
                    let mut kept = Vec::new();
                    for b in batches {
                        let mask =
                            m.mask(&b, &key.column, &mut Default::default(), Path::new(url))?;
                        kept.push(
                            filter_record_batch(&b, &mask)
                                .map_err(|e| EngineError::Workspace(format!("export: {e}")))?,
                        );
                    }
                    Some(self.decrypted(kept, &discovery.refs).await?)
                }
                Place::Model { model, version } => {
                    e.dataset = Some(format!("model:{model}@{version}"));
                    e.note = Some(
                        "a model trained on data that included yours (its parameters hold no row of it)"
                            .into(),
                    );
                    if let Some(m) = models
                        .iter()
                        .find(|m| m.model == *model && m.version == *version)
                    {
                        e.written = Some(custodia_core::time::format_rfc3339(m.created_us));
                        if let Ok(card) =
                            custodia_core::model_card::ModelCard::parse("card", &m.card)
                        {
                            let mut p = BTreeMap::new();
                            p.insert("purpose", serde_json::json!(card.purpose));
                            p.insert("legal_basis", serde_json::json!(card.legal_basis));
                            e.purposes.push(p);
                        }
                    }
                    None
                }
                Place::Key { region } => {
                    e.region = Some(region.clone());
                    e.note = Some(
                        "your data key: fields encrypted under it can be read only while it exists"
                            .into(),
                    );
                    None
                }
                Place::Unsearchable { .. } | Place::Upstream { .. } => None,
            };
            if let Some(rows) = rows {
                e.rows = rows.count();
                total += e.rows;
                let json = format!("data/{n:02}_{slug}.json");
                let csv = format!("data/{n:02}_{slug}.csv");
                files.push((json.clone(), rows.json()?));
                files.push((csv.clone(), rows.csv()?));
                e.files = vec![json, csv];
            }
            map.push(e);
        }
        for p in &discovery.places {
            match p {
                Place::Upstream { source } => map.push(MapEntry {
                    location: p.location(),
                    dataset: Some(source.clone()),
                    note: Some(
                        "an upstream system our pipelines read from; it may hold more of your data"
                            .into(),
                    ),
                    ..MapEntry::default()
                }),
                Place::Unsearchable { version, reason } => map.push(MapEntry {
                    location: p.location(),
                    dataset: Some(version.clone()),
                    note: Some(format!("could not be searched: {reason}")),
                    ..MapEntry::default()
                }),
                _ => {}
            }
        }
        // The consent history, by purpose.
        let mut consent = Vec::new();
        for (region, r) in &discovery.refs {
            for ev in self.store().consent_events_of(r).await? {
                consent.push(serde_json::json!({
                    "region": region,
                    "purpose": ev.purpose,
                    "granted": ev.granted,
                    "at": custodia_core::time::format_rfc3339(ev.at_us),
                    "source": ev.source,
                    "jurisdiction": ev.jurisdiction,
                }));
            }
        }
        let external: Vec<serde_json::Value> = called
            .iter()
            .map(|(t, o)| serde_json::json!({ "system": t.target, "confirmed": t.ok, "reply": o.detail }))
            .collect();
        let generated = audit_log::now_rfc3339();
        let index = serde_json::json!({
            "format": "custodia-subject-export/1",
            "request": record.id,
            "type": record.kind,
            "jurisdiction": record.jurisdiction,
            "subject_refs": discovery.refs,
            "generated": generated,
            "controller": self.config().audit_origin,
            "files": files.iter().map(|(n, b)| serde_json::json!({"path": n, "bytes": b.len()})).collect::<Vec<_>>(),
            "locations": map.len(),
            "rows": total,
            "external_systems": external,
        });
        files.push((
            "data_map.json".into(),
            serde_json::to_vec_pretty(&map).expect("maps serialise"),
        ));
        files.push((
            "consent.json".into(),
            serde_json::to_vec_pretty(&consent).expect("events serialise"),
        ));
        files.insert(
            0,
            (
                "index.json".into(),
                serde_json::to_vec_pretty(&index).expect("indexes serialise"),
            ),
        );
        files.push((
            "README.txt".into(),
            format!(
                "Your data held by {} (request {}, generated {generated}).\n\n\
                 index.json     what this package holds, machine-readable\n\
                 data/          your rows from each place that holds them, as JSON and CSV\n\
                 data_map.json  where each item came from, why it is held (purpose, legal basis),\n\
                 \x20              who received it and how long it is kept\n\
                 consent.json   your consent and withdrawals, by purpose\n",
                self.config().audit_origin,
                record.id
            )
            .into_bytes(),
        ));
        let sha256 = write_zip(out, &files)?;
        let file_count = files.len();
        let mut details = BTreeMap::new();
        details.insert("sha256".into(), sha256.clone());
        details.insert(
            "file".into(),
            out.file_name()
                .map(|f| f.to_string_lossy().into_owned())
                .unwrap_or_default(),
        );
        let mut e = entry(id, "dsar.export", &subject, details);
        e.counts.insert("locations".into(), map.len() as u64);
        e.counts.insert("rows".into(), total);
        e.counts.insert("files".into(), file_count as u64);
        self.record(vec![e]).await?;
        let mut details = BTreeMap::new();
        details.insert("sha256".into(), sha256.clone());
        let request = self
            .dsar_complete(
                id,
                &waiting,
                serde_json::json!({ "export_sha256": sha256, "rows": total, "locations": map.len() }),
                details,
            )
            .await?;
        Ok(ExportReport {
            request,
            sha256,
            locations: map.len(),
            rows: total,
            files: file_count,
            waiting,
        })
    }

    /// Fills a data map entry from the governing contract.
    fn describe(
        &self,
        e: &mut MapEntry,
        key: &SubjectKey,
        contracts: &std::collections::HashMap<String, Contract>,
    ) {
        let Some(c) = key.contract.as_ref().and_then(|n| contracts.get(n)) else {
            return;
        };
        e.contract = Some(c.dataset.clone());
        e.owner = c.owner.clone();
        e.retention_days = c.retention.map(|r| r.as_days());
        e.purposes = c
            .purposes
            .iter()
            .map(|p| {
                let mut m = BTreeMap::new();
                m.insert("purpose", serde_json::json!(p.purpose.as_str()));
                m.insert("legal_basis", serde_json::json!(p.legal_basis.as_str()));
                if let Some(r) = p.retention {
                    m.insert("retention_days", serde_json::json!(r.as_days()));
                }
                m
            })
            .collect();
    }

    /// The subject's rows of a Parquet file, tokens decrypted.
    async fn subject_rows_of_file(
        &self,
        path: &Path,
        key: &SubjectKey,
        region: &str,
        subject: &SubjectRef,
    ) -> Result<Rows, EngineError> {
        let m = Matcher::new(
            key,
            self.ref_key(&self.region(Some(region))?),
            [hex32(subject)],
        )?;
        let file = std::fs::File::open(path).map_err(|e| EngineError::io(path, e))?;
        let reader = ParquetRecordBatchReaderBuilder::try_new(file)
            .and_then(|b| b.build())
            .map_err(|e| EngineError::data(path, e))?;
        let mut seen = Default::default();
        let mut kept = Vec::new();
        for b in reader {
            let b = b.map_err(|e| EngineError::data(path, e))?;
            let mask = m.mask(&b, &key.column, &mut seen, path)?;
            if mask.true_count() > 0 {
                kept.push(filter_record_batch(&b, &mask).map_err(|e| EngineError::data(path, e))?);
            }
        }
        let refs = [(region.to_string(), subject.as_str().to_string())].into();
        self.decrypted(kept, &refs).await
    }

    /// Batches with every `sk1.` token of the subject decrypted with their key (other
    /// subjects' tokens stay as they are).
    async fn decrypted(
        &self,
        batches: Vec<RecordBatch>,
        refs: &BTreeMap<String, String>,
    ) -> Result<Rows, EngineError> {
        let mut keys = BTreeMap::new();
        for (region, r) in refs {
            let subject = SubjectRef::parse(r)?;
            if let Ok(k) = self.subject_key(&Region::new(region)?, &subject).await? {
                keys.insert(r.clone(), k);
            }
        }
        let mut out = Vec::new();
        for b in batches {
            let b = plain_strings(&b)?;
            let columns: Vec<ArrayRef> = b
                .columns()
                .iter()
                .map(|c| match c.data_type() {
                    DataType::Utf8 => {
                        let s = c.as_string::<i32>();
                        Arc::new(StringArray::from_iter((0..s.len()).map(|i| {
                            s.is_valid(i).then(|| {
                                let v = s.value(i);
                                parse_subject_token(v)
                                    .and_then(|(r, _)| keys.get(r.as_str()))
                                    .and_then(|k| k.decrypt_token(v))
                                    .unwrap_or_else(|| v.to_string())
                            })
                        }))) as ArrayRef
                    }
                    _ => c.clone(),
                })
                .collect();
            out.push(
                RecordBatch::try_new(b.schema(), columns)
                    .map_err(|e| EngineError::Workspace(format!("export: {e}")))?,
            );
        }
        Ok(Rows { batches: out })
    }
}

fn subject_in(discovery: &Discovery, region: &str) -> Result<SubjectRef, EngineError> {
    Ok(SubjectRef::parse(
        discovery.refs.get(region).map(String::as_str).unwrap_or(""),
    )?)
}

/// Writes the package atomically; returns its SHA-256.
fn write_zip(out: &Path, files: &[(String, Vec<u8>)]) -> Result<String, EngineError> {
    let mut buf = std::io::Cursor::new(Vec::new());
    {
        let mut zip = zip::ZipWriter::new(&mut buf);
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        for (name, bytes) in files {
            zip.start_file(name.as_str(), options)
                .map_err(|e| EngineError::Workspace(format!("{}: {e}", out.display())))?;
            zip.write_all(bytes).map_err(|e| EngineError::io(out, e))?;
        }
        zip.finish()
            .map_err(|e| EngineError::Workspace(format!("{}: {e}", out.display())))?;
    }
    let bytes = buf.into_inner();
    crate::write_atomic(out, &bytes)?;
    Ok(hex::encode(Sha256::digest(&bytes)))
}
