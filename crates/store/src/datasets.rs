//! Datasets and their versions, pipeline runs, and the journal of multi-step jobs.
//!
//! A run step's output version and its journal entry are written in one transaction
//! ([`WriteTx::record_dataset_version`] and [`WriteTx::journal_put`]), so a crash leaves
//! either both or neither: a rerun never records the same output twice.

use sqlx::Row;

use crate::{now_us, Store, StoreError, WriteTx};

/// One written version of a dataset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatasetVersion {
    /// Dataset name.
    pub dataset: String,
    /// Version, from 1.
    pub version: i64,
    /// Content hash of the data (hex).
    pub content_hash: String,
    /// Rows.
    pub row_count: i64,
    /// Arrow schema as JSON.
    pub schema_json: String,
    /// Region the data lives in.
    pub region: String,
    /// Where the files are, relative to the workspace.
    pub path: String,
    /// The run that wrote it, if any.
    pub run_id: Option<String>,
    /// When (µs).
    pub created_us: i64,
    /// Column statistics as JSON (counts, null rates, quantiles; never personal values).
    pub stats: String,
    /// Training snapshots: the subject manifest file (relative) and its digest, as JSON.
    pub manifest: Option<String>,
    /// Training snapshots: how many subjects the manifest lists.
    pub subjects: Option<i64>,
    /// Where the person of each row is: the governing contract's subject key column and its
    /// identifier kind, as JSON (`{"column","kind"}`); `None` when no contract names one.
    pub subject_key: Option<String>,
    /// Loads: the table the rows went to, as JSON (`{"url","table"}`, no password).
    pub target: Option<String>,
}

/// One in-place rewrite of a version's files (an erasure or a retention sweep).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatasetRevision {
    /// Dataset name.
    pub dataset: String,
    /// The version rewritten.
    pub version: i64,
    /// Revision number, from 1 (assigned when recorded).
    pub revision: i64,
    /// Content hash after the rewrite.
    pub content_hash: String,
    /// Rows after the rewrite.
    pub row_count: i64,
    /// Rows the rewrite removed.
    pub rows_removed: i64,
    /// Why (`dsar:ID`, `retention:JOB`).
    pub reason: String,
    /// When (µs; assigned when recorded).
    pub created_us: i64,
}

/// What a rewritten version's statistics and manifest become (`None` keeps them).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Revised {
    /// Column statistics JSON.
    pub stats: Option<String>,
    /// Snapshot manifest JSON.
    pub manifest: Option<String>,
    /// Subjects the manifest lists.
    pub subjects: Option<i64>,
}

/// A pipeline run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Run {
    /// Run id.
    pub id: String,
    /// Pipeline name.
    pub pipeline: String,
    /// `running`, `succeeded`, `failed`.
    pub status: String,
    /// Start (µs).
    pub started_us: i64,
    /// End (µs), once finished.
    pub finished_us: Option<i64>,
    /// Summary JSON.
    pub summary: String,
    /// Digest of the pipeline file the run executes.
    pub pipeline_digest: String,
}

/// One step of a journaled job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JournalStep {
    /// Step name.
    pub step: String,
    /// `started`, `done`, …
    pub state: String,
    /// Step detail (JSON; counts and refs only).
    pub detail: String,
}

const VERSION_COLUMNS: &str = "dataset, version, content_hash, row_count, schema_json, region, path, run_id, created_us, stats, manifest, subjects, subject_key, target";

fn version_of(r: &sqlx::any::AnyRow) -> Result<DatasetVersion, StoreError> {
    Ok(DatasetVersion {
        dataset: r.try_get(0)?,
        version: r.try_get(1)?,
        content_hash: r.try_get(2)?,
        row_count: r.try_get(3)?,
        schema_json: r.try_get(4)?,
        region: r.try_get(5)?,
        path: r.try_get(6)?,
        run_id: r.try_get(7)?,
        created_us: r.try_get(8)?,
        stats: r.try_get(9)?,
        manifest: r.try_get(10)?,
        subjects: r.try_get(11)?,
        subject_key: r.try_get(12)?,
        target: r.try_get(13)?,
    })
}

const RUN_COLUMNS: &str = "id, pipeline, status, started_us, finished_us, summary, pipeline_digest";

fn run_of(r: &sqlx::any::AnyRow) -> Result<Run, StoreError> {
    Ok(Run {
        id: r.try_get(0)?,
        pipeline: r.try_get(1)?,
        status: r.try_get(2)?,
        started_us: r.try_get(3)?,
        finished_us: r.try_get(4)?,
        summary: r.try_get(5)?,
        pipeline_digest: r.try_get(6)?,
    })
}

impl WriteTx {
    /// Records a new version of `v.dataset` (creating the dataset) and returns its number;
    /// `v.version` and `v.created_us` are ignored.
    pub async fn record_dataset_version(&mut self, v: &DatasetVersion) -> Result<i64, StoreError> {
        let tx = &mut self.tx;
        sqlx::query("INSERT INTO datasets (name, region, created_us) VALUES ($1, $2, $3) ON CONFLICT (name) DO NOTHING")
            .bind(&v.dataset)
            .bind(&v.region)
            .bind(now_us())
            .execute(&mut **tx)
            .await?;
        let last: Option<i64> =
            sqlx::query_scalar("SELECT MAX(version) FROM dataset_versions WHERE dataset = $1")
                .bind(&v.dataset)
                .fetch_one(&mut **tx)
                .await?;
        let version = last.unwrap_or(0) + 1;
        sqlx::query(
            "INSERT INTO dataset_versions (dataset, version, content_hash, row_count, schema_json, region, path, run_id, created_us, stats, manifest, subjects, subject_key, target) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
        )
        .bind(&v.dataset)
        .bind(version)
        .bind(&v.content_hash)
        .bind(v.row_count)
        .bind(&v.schema_json)
        .bind(&v.region)
        .bind(&v.path)
        .bind(v.run_id.clone())
        .bind(now_us())
        .bind(&v.stats)
        .bind(v.manifest.clone())
        .bind(v.subjects)
        .bind(v.subject_key.clone())
        .bind(v.target.clone())
        .execute(&mut **tx)
        .await?;
        Ok(version)
    }

    /// Records that a version's files were rewritten in place (`rev.revision` and
    /// `rev.created_us` are assigned) and moves the version's hash, row count, statistics
    /// and manifest to what the files now hold; returns the revision number.
    pub async fn record_revision(
        &mut self,
        rev: &DatasetRevision,
        current: &Revised,
    ) -> Result<i64, StoreError> {
        let tx = &mut self.tx;
        let last: Option<i64> = sqlx::query_scalar(
            "SELECT MAX(revision) FROM dataset_revisions WHERE dataset = $1 AND version = $2",
        )
        .bind(&rev.dataset)
        .bind(rev.version)
        .fetch_one(&mut **tx)
        .await?;
        let revision = last.unwrap_or(0) + 1;
        sqlx::query(
            "INSERT INTO dataset_revisions (dataset, version, revision, content_hash, row_count, rows_removed, reason, created_us) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(&rev.dataset)
        .bind(rev.version)
        .bind(revision)
        .bind(&rev.content_hash)
        .bind(rev.row_count)
        .bind(rev.rows_removed)
        .bind(&rev.reason)
        .bind(now_us())
        .execute(&mut **tx)
        .await?;
        let n = sqlx::query(
            "UPDATE dataset_versions SET content_hash = $1, row_count = $2, stats = COALESCE($3, stats), \
             manifest = COALESCE($4, manifest), subjects = COALESCE($5, subjects) WHERE dataset = $6 AND version = $7",
        )
        .bind(&rev.content_hash)
        .bind(rev.row_count)
        .bind(current.stats.clone())
        .bind(current.manifest.clone())
        .bind(current.subjects)
        .bind(&rev.dataset)
        .bind(rev.version)
        .execute(&mut **tx)
        .await?
        .rows_affected();
        if n == 0 {
            return Err(StoreError::NotFound {
                what: "dataset version",
                name: format!("{}@{}", rev.dataset, rev.version),
                hint: String::new(),
            });
        }
        Ok(revision)
    }

    /// Records a job step's state (insert or update): the journal a rerun resumes from.
    pub async fn journal_put(
        &mut self,
        job: &str,
        step: &str,
        state: &str,
        detail: &str,
    ) -> Result<(), StoreError> {
        journal_put(&mut *self.tx, job, step, state, detail).await
    }
}

async fn journal_put<'e, E: sqlx::Executor<'e, Database = sqlx::Any>>(
    e: E,
    job: &str,
    step: &str,
    state: &str,
    detail: &str,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO journal (job_id, step, state, detail, updated_us) VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (job_id, step) DO UPDATE SET state = excluded.state, detail = excluded.detail, updated_us = excluded.updated_us",
    )
    .bind(job)
    .bind(step)
    .bind(state)
    .bind(detail)
    .bind(now_us())
    .execute(e)
    .await?;
    Ok(())
}

impl Store {
    /// Records a new version of `v.dataset` on its own (see [`WriteTx::record_dataset_version`]).
    pub async fn record_dataset_version(&self, v: &DatasetVersion) -> Result<i64, StoreError> {
        let mut tx = self.begin_write().await?;
        let version = tx.record_dataset_version(v).await?;
        tx.commit().await?;
        Ok(version)
    }

    /// Versions of a dataset, oldest first.
    pub async fn dataset_versions(&self, dataset: &str) -> Result<Vec<DatasetVersion>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {VERSION_COLUMNS} FROM dataset_versions WHERE dataset = $1 ORDER BY version"
        ))
        .bind(dataset)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(version_of).collect()
    }

    /// One version of a dataset.
    pub async fn dataset_version(
        &self,
        dataset: &str,
        version: i64,
    ) -> Result<Option<DatasetVersion>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {VERSION_COLUMNS} FROM dataset_versions WHERE dataset = $1 AND version = $2"
        ))
        .bind(dataset)
        .bind(version)
        .fetch_optional(self.pool())
        .await?;
        row.as_ref().map(version_of).transpose()
    }

    /// Versions a run wrote, in the order it wrote them.
    pub async fn run_outputs(&self, run: &str) -> Result<Vec<DatasetVersion>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {VERSION_COLUMNS} FROM dataset_versions WHERE run_id = $1 ORDER BY created_us, dataset"
        ))
        .bind(run)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(version_of).collect()
    }

    /// Every version of every dataset, in the order they were written.
    pub async fn all_dataset_versions(&self) -> Result<Vec<DatasetVersion>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {VERSION_COLUMNS} FROM dataset_versions ORDER BY created_us, dataset, version"
        ))
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(version_of).collect()
    }

    /// The in-place rewrites of a version, oldest first.
    pub async fn dataset_revisions(
        &self,
        dataset: &str,
        version: i64,
    ) -> Result<Vec<DatasetRevision>, StoreError> {
        let rows = sqlx::query(
            "SELECT dataset, version, revision, content_hash, row_count, rows_removed, reason, created_us \
             FROM dataset_revisions WHERE dataset = $1 AND version = $2 ORDER BY revision",
        )
        .bind(dataset)
        .bind(version)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(DatasetRevision {
                    dataset: r.try_get(0)?,
                    version: r.try_get(1)?,
                    revision: r.try_get(2)?,
                    content_hash: r.try_get(3)?,
                    row_count: r.try_get(4)?,
                    rows_removed: r.try_get(5)?,
                    reason: r.try_get(6)?,
                    created_us: r.try_get(7)?,
                })
            })
            .collect()
    }

    /// Every dataset name with its latest version, by name.
    pub async fn latest_dataset_versions(&self) -> Result<Vec<DatasetVersion>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {VERSION_COLUMNS} FROM dataset_versions d WHERE version = \
             (SELECT MAX(version) FROM dataset_versions e WHERE e.dataset = d.dataset) ORDER BY dataset"
        ))
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(version_of).collect()
    }

    /// Records the start of a run of the pipeline file with digest `pipeline_digest`.
    pub async fn run_start(
        &self,
        id: &str,
        pipeline: &str,
        pipeline_digest: &str,
    ) -> Result<(), StoreError> {
        sqlx::query("INSERT INTO runs (id, pipeline, status, started_us, summary, pipeline_digest) VALUES ($1, $2, 'running', $3, '{}', $4)")
            .bind(id)
            .bind(pipeline)
            .bind(now_us())
            .bind(pipeline_digest)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// Records the end of a run.
    pub async fn run_finish(
        &self,
        id: &str,
        status: &str,
        summary: &str,
    ) -> Result<(), StoreError> {
        let n = sqlx::query(
            "UPDATE runs SET status = $1, finished_us = $2, summary = $3 WHERE id = $4",
        )
        .bind(status)
        .bind(now_us())
        .bind(summary)
        .bind(id)
        .execute(self.pool())
        .await?
        .rows_affected();
        if n == 0 {
            return Err(StoreError::NotFound {
                what: "run",
                name: id.into(),
                hint: String::new(),
            });
        }
        Ok(())
    }

    /// A run by id.
    pub async fn run(&self, id: &str) -> Result<Option<Run>, StoreError> {
        let row = sqlx::query(&format!("SELECT {RUN_COLUMNS} FROM runs WHERE id = $1"))
            .bind(id)
            .fetch_optional(self.pool())
            .await?;
        row.as_ref().map(run_of).transpose()
    }

    /// Runs, newest first; of one pipeline when `pipeline` is given.
    pub async fn runs(&self, pipeline: Option<&str>, limit: i64) -> Result<Vec<Run>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {RUN_COLUMNS} FROM runs WHERE ($1 IS NULL OR pipeline = $1) ORDER BY started_us DESC, id DESC LIMIT $2"
        ))
        .bind(pipeline)
        .bind(limit)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(run_of).collect()
    }

    /// Records a job step's state on its own (see [`WriteTx::journal_put`]).
    pub async fn journal_put(
        &self,
        job: &str,
        step: &str,
        state: &str,
        detail: &str,
    ) -> Result<(), StoreError> {
        journal_put(self.pool(), job, step, state, detail).await
    }

    /// Jobs whose id starts with `prefix` that have no `finish` step, oldest first.
    pub async fn unfinished_jobs(&self, prefix: &str) -> Result<Vec<String>, StoreError> {
        let rows: Vec<String> = sqlx::query_scalar(
            "SELECT job_id FROM journal WHERE job_id LIKE $1 GROUP BY job_id \
             HAVING SUM(CASE WHEN step = 'finish' THEN 1 ELSE 0 END) = 0 ORDER BY MIN(updated_us), job_id",
        )
        .bind(format!("{prefix}%"))
        .fetch_all(self.pool())
        .await?;
        Ok(rows)
    }

    /// Steps of a job, least recently updated first.
    pub async fn journal(&self, job: &str) -> Result<Vec<JournalStep>, StoreError> {
        let rows = sqlx::query(
            "SELECT step, state, detail FROM journal WHERE job_id = $1 ORDER BY updated_us, step",
        )
        .bind(job)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(JournalStep {
                    step: r.try_get(0)?,
                    state: r.try_get(1)?,
                    detail: r.try_get(2)?,
                })
            })
            .collect()
    }
}
