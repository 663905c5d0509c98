//! Retention: what a contract's `retention` (and `on_expiry`) says must go, found in every
//! dataset version, snapshot and warehouse table it governs (`plan`), and made to go
//! (`apply`): rows deleted, or their personal columns emptied where the contract says
//! `anonymize`. A version is rewritten in place in two phases (staged file, revision
//! recorded, rename), each step journaled under the sweep's id, so a sweep cut off at any
//! point finishes on the next `apply` with nothing done twice. Models trained on data past
//! its retention are flagged.

use std::{collections::BTreeMap, path::Path, sync::Arc};

use arrow::{
    array::{Array, ArrayRef, BooleanArray, RecordBatch, Scalar, TimestampMicrosecondArray},
    compute::{cast, filter_record_batch, kernels::cmp::lt, nullif},
    datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit},
};
use custodia_core::{Classification, Contract, ExpiryAction};
use parquet::arrow::{arrow_reader::ParquetRecordBatchReaderBuilder, ProjectionMask};
use serde::{Deserialize, Serialize};

use crate::{
    audit_log::{self, NewEntry},
    dsar::erase,
    run::subjects::SubjectKey,
    workspace::Workspace,
    EngineError,
};

/// One place where data is past its retention.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Expiring {
    /// `dataset:NAME@V (FILE)` or `table:URL/TABLE`.
    pub location: String,
    /// The dataset version (`name@v`), for versions.
    pub version: Option<String>,
    /// The file, relative to the workspace, for versions.
    pub path: Option<String>,
    /// The table, for loads: `(url, table)`.
    pub table: Option<(String, String)>,
    /// The contract whose retention applies.
    pub contract: String,
    /// Its retention in days.
    pub retention_days: u32,
    /// The column that dates rows, if the contract names one.
    pub by: Option<String>,
    /// `delete` or `anonymize`.
    pub action: String,
    /// Rows now.
    pub rows: u64,
    /// Rows past retention.
    pub expiring: u64,
    /// Personal columns (emptied by `anonymize`).
    pub personal: Vec<String>,
}

/// A model trained on data that is past its retention.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExpiredModel {
    /// `model@version`.
    pub model: String,
    /// The expired training data.
    pub trained_on: String,
}

/// What `custodia retention plan` found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RetentionPlan {
    /// Rows older than this go (µs), per contract: `now - retention`.
    pub now_us: i64,
    /// Places with rows past retention.
    pub expiring: Vec<Expiring>,
    /// Models trained on expired data.
    pub models: Vec<ExpiredModel>,
    /// Datasets (latest versions) whose contract sets a retention.
    pub datasets_with_retention: usize,
    /// Datasets (latest versions) in all.
    pub datasets: usize,
    /// Places a retention governs but cannot be enforced on, and why.
    pub unenforced: Vec<String>,
}

/// What `custodia retention apply` did.
#[derive(Debug, Clone, Serialize)]
pub struct RetentionApplied {
    /// The sweep's id (its journal).
    pub job: String,
    /// The plan it carried out.
    pub plan: RetentionPlan,
    /// Rows deleted or anonymized per location.
    pub done: Vec<(String, u64)>,
}

const DAY_US: i64 = 86_400_000_000;

/// Which rows of a batch are past `cutoff` by `column` (all rows without a column).
fn expired_mask(
    batch: &RecordBatch,
    by: Option<&str>,
    cutoff: i64,
    path: &Path,
) -> Result<BooleanArray, EngineError> {
    let Some(col) = by else {
        return Ok(BooleanArray::from(vec![true; batch.num_rows()]));
    };
    let idx = batch
        .schema()
        .index_of(col)
        .map_err(|_| EngineError::Columns {
            path: path.to_path_buf(),
            message: format!("the retention column {col:?} is not in the file"),
        })?;
    let times = cast(
        batch.column(idx),
        &DataType::Timestamp(TimeUnit::Microsecond, None),
    )
    .map_err(|e| EngineError::data(path, e))?;
    let limit = Scalar::new(TimestampMicrosecondArray::from(vec![cutoff]));
    let m = lt(&times, &limit).map_err(|e| EngineError::data(path, e))?;
    // A row with no date is not known to be old.
    Ok(m.iter().map(|v| Some(v == Some(true))).collect())
}

/// Rows to expire: past `cutoff`, and for `anonymize` still holding a personal value
/// (a row already emptied is not expired again).
fn to_expire(
    batch: &RecordBatch,
    by: Option<&str>,
    cutoff: i64,
    anonymize: Option<&[String]>,
    path: &Path,
) -> Result<BooleanArray, EngineError> {
    let m = expired_mask(batch, by, cutoff, path)?;
    let Some(personal) = anonymize else {
        return Ok(m);
    };
    let schema = batch.schema();
    let cols: Vec<&ArrayRef> = personal
        .iter()
        .filter_map(|p| schema.index_of(p).ok().map(|i| batch.column(i)))
        .collect();
    Ok((0..batch.num_rows())
        .map(|i| Some(m.value(i) && cols.iter().any(|c| c.is_valid(i))))
        .collect())
}

/// The contract that governs a version: named in its subject key, else by its name.
fn governing<'c>(
    v: &custodia_store::DatasetVersion,
    contracts: &'c std::collections::HashMap<String, Contract>,
) -> Option<&'c Contract> {
    v.subject_key
        .as_deref()
        .and_then(|k| serde_json::from_str::<SubjectKey>(k).ok())
        .and_then(|k| k.contract)
        .and_then(|c| contracts.get(&c))
        .or_else(|| contracts.get(&v.dataset))
}

/// How long a contract's data may be kept: its own `retention`, else the longest of its
/// purposes' when every purpose sets one.
fn retention_days(c: &Contract) -> Option<u32> {
    c.retention.map(|r| r.as_days()).or_else(|| {
        let terms: Option<Vec<u32>> = c
            .purposes
            .iter()
            .map(|p| p.retention.map(|r| r.as_days()))
            .collect();
        terms.and_then(|t| t.into_iter().max())
    })
}

fn personal_columns(c: &Contract) -> Vec<String> {
    c.columns
        .iter()
        .filter(|col| {
            col.classification >= Classification::L2 || c.subject_key.as_deref() == Some(&col.name)
        })
        .map(|col| col.name.clone())
        .collect()
}

impl Workspace {
    /// Finds what is past its retention as of `now_us`.
    pub async fn retention_plan(&self, now_us: i64) -> Result<RetentionPlan, EngineError> {
        let contracts = self.latest_contracts().await?;
        let versions = self.store().all_dataset_versions().await?;
        let latest = self.store().latest_dataset_versions().await?;
        let mut plan = RetentionPlan {
            now_us,
            expiring: Vec::new(),
            models: Vec::new(),
            datasets_with_retention: latest
                .iter()
                .filter(|v| governing(v, &contracts).is_some_and(|c| retention_days(c).is_some()))
                .count(),
            datasets: latest.len(),
            unenforced: Vec::new(),
        };
        let mut expired_versions = Vec::new();
        let mut tables: BTreeMap<(String, String), (String, &Contract)> = BTreeMap::new();
        for v in &versions {
            let Some(c) = governing(v, &contracts) else {
                continue;
            };
            let Some(days) = retention_days(c) else {
                continue;
            };
            let cutoff = now_us - i64::from(days) * DAY_US;
            let name = format!("{}@{}", v.dataset, v.version);
            let by = c.on_expiry.by.clone();
            if let Some(t) = erase::load_target(v) {
                tables.insert(t, (name.clone(), c));
            }
            for file in erase::parquet_files(self.root(), &v.path)? {
                if !file.exists() {
                    continue;
                }
                let has_by = by
                    .as_deref()
                    .is_some_and(|b| v.schema_json.contains(&format!("[\"{b}\",")));
                if by.is_some() && !has_by {
                    plan.unenforced.push(format!(
                        "{name}: has no column {:?} to date its rows by",
                        by.as_deref().unwrap_or_default()
                    ));
                    continue;
                }
                let (rows, expiring) = if has_by {
                    let (f, b) = (file.clone(), by.clone());
                    let anon = (c.on_expiry.action == ExpiryAction::Anonymize)
                        .then(|| personal_columns(c));
                    tokio::task::spawn_blocking(move || {
                        count_expired(&f, b.as_deref(), cutoff, anon.as_deref())
                    })
                    .await
                    .map_err(|e| EngineError::Workspace(format!("retention: {e}")))??
                } else if v.created_us < cutoff {
                    (v.row_count as u64, v.row_count as u64)
                } else {
                    (v.row_count as u64, 0)
                };
                if expiring > 0 {
                    if !has_by {
                        expired_versions.push(name.clone());
                    }
                    plan.expiring.push(Expiring {
                        location: format!(
                            "dataset:{name} ({})",
                            file.strip_prefix(self.root()).unwrap_or(&file).display()
                        ),
                        version: Some(name.clone()),
                        path: Some(
                            file.strip_prefix(self.root())
                                .unwrap_or(&file)
                                .display()
                                .to_string(),
                        ),
                        table: None,
                        contract: c.dataset.clone(),
                        retention_days: days,
                        by: if has_by { by.clone() } else { None },
                        action: c.on_expiry.action.as_str().into(),
                        rows,
                        expiring,
                        personal: personal_columns(c),
                    });
                }
            }
        }
        for ((url, table), (version, c)) in tables {
            let days = retention_days(c).unwrap_or_default();
            let Some(by) = c.on_expiry.by.clone() else {
                plan.unenforced.push(format!(
                    "table {}/{table} (loaded from {version}): its rows carry no date; add on_expiry.by to contract {}",
                    crate::run::load::shown(&url),
                    c.dataset
                ));
                continue;
            };
            let cutoff = now_us - i64::from(days) * DAY_US;
            let (_, batches) = crate::run::load::read_table(self.root(), &url, &table).await?;
            let mut rows = 0u64;
            let mut expiring = 0u64;
            for b in &batches {
                rows += b.num_rows() as u64;
                let anon =
                    (c.on_expiry.action == ExpiryAction::Anonymize).then(|| personal_columns(c));
                expiring += to_expire(b, Some(&by), cutoff, anon.as_deref(), Path::new(&url))?
                    .true_count() as u64;
            }
            if expiring > 0 {
                plan.expiring.push(Expiring {
                    location: format!("table:{}/{table}", crate::run::load::shown(&url)),
                    version: None,
                    path: None,
                    table: Some((url.clone(), table.clone())),
                    contract: c.dataset.clone(),
                    retention_days: days,
                    by: Some(by),
                    action: c.on_expiry.action.as_str().into(),
                    rows,
                    expiring,
                    personal: personal_columns(c),
                });
            }
        }
        for m in self.store().all_model_versions().await? {
            let training: serde_json::Value = serde_json::from_str(&m.training).unwrap_or_default();
            let upstream: Vec<String> = training["upstream"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|v| v.as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default();
            let expired_input = upstream
                .iter()
                .chain(training["input"].as_str().map(str::to_string).iter())
                .find(|u| {
                    expired_versions.contains(u)
                        || plan
                            .expiring
                            .iter()
                            .any(|e| e.version.as_deref() == Some(u.as_str()))
                })
                .cloned();
            if let Some(input) = expired_input {
                plan.models.push(ExpiredModel {
                    model: format!("{}@{}", m.model, m.version),
                    trained_on: input,
                });
            }
        }
        Ok(plan)
    }

    /// Carries out the plan as of now, or first finishes a sweep that was cut off.
    pub async fn retention_apply(&self) -> Result<RetentionApplied, EngineError> {
        let resume = self.store().unfinished_jobs("retention-").await?.pop();
        let (job, plan) = match resume.as_deref() {
            Some(job) => {
                let step = self
                    .store()
                    .journal(job)
                    .await?
                    .into_iter()
                    .find(|s| s.step == "plan")
                    .ok_or_else(|| EngineError::Workspace(format!("no retention sweep {job}; see `custodia retention apply` without --resume")))?;
                let plan: RetentionPlan = serde_json::from_str(&step.detail)
                    .map_err(|e| EngineError::Tampered(format!("the plan of sweep {job}: {e}")))?;
                (job.to_string(), plan)
            }
            None => {
                let now = custodia_store::now_us();
                let job = format!(
                    "retention-{}-{:04x}",
                    crate::audit_log::now_rfc3339().replace([':', '-'], ""),
                    rand::random::<u16>()
                );
                let plan = self.retention_plan(now).await?;
                self.store()
                    .journal_put(
                        &job,
                        "plan",
                        "done",
                        &serde_json::to_string(&plan).expect("plans serialise"),
                    )
                    .await?;
                (job, plan)
            }
        };
        let mut done = Vec::new();
        for (i, item) in plan.expiring.iter().enumerate() {
            let step = format!("expire:{i:04}");
            let prior = self
                .store()
                .journal(&job)
                .await?
                .into_iter()
                .find(|s| s.step == step);
            if let Some(p) = prior.as_ref().filter(|p| p.state == "done") {
                let n: u64 = p.detail.parse().unwrap_or(0);
                done.push((item.location.clone(), n));
                continue;
            }
            let cutoff = plan.now_us - i64::from(item.retention_days) * DAY_US;
            let n = self
                .expire(&job, &step, item, cutoff, prior.as_ref())
                .await?;
            done.push((item.location.clone(), n));
        }
        let mut tx = self.store().begin_write().await?;
        for m in &plan.models {
            let (model, version) = crate::models::parse_model_ref(&m.model)?;
            tx.flag_model(
                &model,
                version.unwrap_or(0),
                Some(&serde_json::json!({ "retention": job, "reason": format!("trained on {}, past its retention; retrain it", m.trained_on) }).to_string()),
            )
            .await?;
        }
        let mut counts = BTreeMap::new();
        counts.insert("locations".into(), done.len() as u64);
        counts.insert("rows".into(), done.iter().map(|(_, n)| n).sum());
        counts.insert("models_flagged".into(), plan.models.len() as u64);
        let mut details = BTreeMap::new();
        details.insert("job".into(), job.clone());
        audit_log::append_in(
            &mut tx,
            self.actor(),
            vec![NewEntry {
                action: "retention.apply".into(),
                object: format!("retention:{job}"),
                subjects: vec![],
                counts,
                details,
            }],
        )
        .await?;
        tx.journal_put(&job, "finish", "done", "{}").await?;
        tx.commit().await?;
        audit_log::checkpoint(self).await?;
        Ok(RetentionApplied { job, plan, done })
    }

    /// Expires one place; returns the rows deleted or anonymized.
    async fn expire(
        &self,
        job: &str,
        step: &str,
        item: &Expiring,
        cutoff: i64,
        prior: Option<&custodia_store::JournalStep>,
    ) -> Result<u64, EngineError> {
        let anonymize = item.action == ExpiryAction::Anonymize.as_str();
        if let Some((url, table)) = &item.table {
            let by = item.by.clone().unwrap_or_default();
            let n = crate::run::load::expire_rows(
                self.root(),
                url,
                table,
                &by,
                &custodia_core::time::format_rfc3339(cutoff)[..19].replace('T', " "),
                if anonymize {
                    Some(&item.personal)
                } else {
                    None
                },
            )
            .await?;
            let n = if n == 0 { item.expiring } else { n };
            self.record_expiry(job, step, item, n, None).await?;
            return Ok(n);
        }
        let path = self.root().join(item.path.as_deref().unwrap_or_default());
        if prior.is_some_and(|p| p.state == "staged") {
            erase::commit_staged(&path)?;
            let n: u64 = prior.map(|p| p.detail.parse().unwrap_or(0)).unwrap_or(0);
            self.store()
                .journal_put(job, step, "done", &n.to_string())
                .await?;
            return Ok(n);
        }
        let by = item.by.clone();
        let personal = item.personal.clone();
        let source = path.clone();
        let (written, n) = erase::rewrite_with(
            &path,
            |schema: SchemaRef| {
                let out: SchemaRef = if anonymize {
                    Arc::new(Schema::new(
                        schema
                            .fields()
                            .iter()
                            .map(|f| {
                                if personal.contains(f.name()) {
                                    Field::new(f.name(), f.data_type().clone(), true)
                                } else {
                                    f.as_ref().clone()
                                }
                            })
                            .collect::<Vec<_>>(),
                    ))
                } else {
                    schema
                };
                let out2 = out.clone();
                (
                    out,
                    Box::new(move |batch: RecordBatch| {
                        let m = to_expire(
                            &batch,
                            by.as_deref(),
                            cutoff,
                            anonymize.then_some(personal.as_slice()),
                            &source,
                        )?;
                        let n = m.true_count() as u64;
                        if anonymize {
                            let columns: Vec<ArrayRef> = batch
                                .schema()
                                .fields()
                                .iter()
                                .zip(batch.columns())
                                .map(|(f, c)| {
                                    if personal.contains(f.name()) && n > 0 {
                                        nullif(c, &m).map_err(|e| EngineError::data(&source, e))
                                    } else {
                                        Ok(c.clone())
                                    }
                                })
                                .collect::<Result<_, _>>()?;
                            let b = RecordBatch::try_new(out2.clone(), columns)
                                .map_err(|e| EngineError::data(&source, e))?;
                            Ok((b, n))
                        } else {
                            let keep = arrow::compute::not(&m)
                                .map_err(|e| EngineError::data(&source, e))?;
                            let b = filter_record_batch(&batch, &keep)
                                .map_err(|e| EngineError::data(&source, e))?;
                            Ok((b, n))
                        }
                    }) as erase::BatchEdit,
                )
            },
            &|c| item.personal.iter().any(|p| p == c),
        )
        .await?;
        self.record_expiry(job, step, item, n, Some(&written))
            .await?;
        crate::run::failpoint(self.root(), "retention_staged");
        erase::commit_staged(&path)?;
        self.store()
            .journal_put(job, step, "done", &n.to_string())
            .await?;
        Ok(n)
    }

    /// Records an expiry: the revision (versions), the audit entry and the journal step
    /// (`staged` for a file still to rename, else `done`) in one transaction.
    async fn record_expiry(
        &self,
        job: &str,
        step: &str,
        item: &Expiring,
        n: u64,
        written: Option<&crate::run::output::Written>,
    ) -> Result<(), EngineError> {
        let mut tx = self.store().begin_write().await?;
        let mut details = BTreeMap::new();
        details.insert("location".into(), item.location.clone());
        details.insert("action".into(), item.action.clone());
        details.insert("contract".into(), item.contract.clone());
        details.insert("retention_days".into(), item.retention_days.to_string());
        if let (Some(w), Some(version)) = (written, &item.version) {
            let (dataset, v) = version.rsplit_once('@').unwrap_or((version, "0"));
            let v: i64 = v.parse().unwrap_or(0);
            let revision = tx
                .record_revision(
                    &custodia_store::DatasetRevision {
                        dataset: dataset.into(),
                        version: v,
                        revision: 0,
                        content_hash: w.content_hash.clone(),
                        row_count: w.stats.rows as i64,
                        rows_removed: if item.action == "delete" { n as i64 } else { 0 },
                        reason: format!("retention:{job}"),
                        created_us: 0,
                    },
                    &custodia_store::Revised {
                        stats: Some(serde_json::to_string(&w.stats).expect("stats serialise")),
                        ..Default::default()
                    },
                )
                .await?;
            details.insert("revision".into(), revision.to_string());
            details.insert("content_hash".into(), w.content_hash.clone());
        }
        let mut counts = BTreeMap::new();
        counts.insert("rows_expired".into(), n);
        audit_log::append_in(
            &mut tx,
            self.actor(),
            vec![NewEntry {
                action: "retention.expire".into(),
                object: format!("retention:{job}"),
                subjects: vec![],
                counts,
                details,
            }],
        )
        .await?;
        tx.journal_put(
            job,
            step,
            if written.is_some() { "staged" } else { "done" },
            &n.to_string(),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }
}

/// Rows of a file and those older than `cutoff` by `by` (reads that column only).
fn count_expired(
    path: &Path,
    by: Option<&str>,
    cutoff: i64,
    anonymize: Option<&[String]>,
) -> Result<(u64, u64), EngineError> {
    let file = std::fs::File::open(path).map_err(|e| EngineError::io(path, e))?;
    let builder =
        ParquetRecordBatchReaderBuilder::try_new(file).map_err(|e| EngineError::data(path, e))?;
    let wanted: Vec<usize> = by
        .into_iter()
        .chain(anonymize.unwrap_or_default().iter().map(String::as_str))
        .filter_map(|c| builder.schema().index_of(c).ok())
        .collect();
    let mask = ProjectionMask::roots(builder.parquet_schema(), wanted);
    let builder = builder.with_projection(mask);
    let reader = builder.build().map_err(|e| EngineError::data(path, e))?;
    let (mut rows, mut old) = (0u64, 0u64);
    for b in reader {
        let b = b.map_err(|e| EngineError::data(path, e))?;
        rows += b.num_rows() as u64;
        old += to_expire(&b, by, cutoff, anonymize, path)?.true_count() as u64;
    }
    Ok((rows, old))
}
