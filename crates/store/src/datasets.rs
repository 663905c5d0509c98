//! Datasets and their versions, pipeline runs, and the journal of multi-step jobs. The
//! engine fills these from the pipeline issue on; the shapes are fixed now so the store's
//! test suite covers them on both backends from the start.

use sqlx::Row;

use crate::{now_us, Store, StoreError};

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

impl Store {
    /// Records a new version of `v.dataset` (creating the dataset) and returns its number;
    /// `v.version` is ignored.
    pub async fn record_dataset_version(&self, v: &DatasetVersion) -> Result<i64, StoreError> {
        let mut tx = self.write_tx().await?;
        sqlx::query("INSERT INTO datasets (name, region, created_us) VALUES ($1, $2, $3) ON CONFLICT (name) DO NOTHING")
            .bind(&v.dataset)
            .bind(&v.region)
            .bind(now_us())
            .execute(&mut *tx)
            .await?;
        let last: Option<i64> =
            sqlx::query_scalar("SELECT MAX(version) FROM dataset_versions WHERE dataset = $1")
                .bind(&v.dataset)
                .fetch_one(&mut *tx)
                .await?;
        let version = last.unwrap_or(0) + 1;
        sqlx::query(
            "INSERT INTO dataset_versions (dataset, version, content_hash, row_count, schema_json, region, path, run_id, created_us) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
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
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(version)
    }

    /// Versions of a dataset, oldest first.
    pub async fn dataset_versions(&self, dataset: &str) -> Result<Vec<DatasetVersion>, StoreError> {
        let rows = sqlx::query(
            "SELECT dataset, version, content_hash, row_count, schema_json, region, path, run_id, created_us \
             FROM dataset_versions WHERE dataset = $1 ORDER BY version",
        )
        .bind(dataset)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
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
                })
            })
            .collect()
    }

    /// Records the start of a run.
    pub async fn run_start(&self, id: &str, pipeline: &str) -> Result<(), StoreError> {
        sqlx::query("INSERT INTO runs (id, pipeline, status, started_us, summary) VALUES ($1, $2, 'running', $3, '{}')")
            .bind(id)
            .bind(pipeline)
            .bind(now_us())
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
        let row = sqlx::query(
            "SELECT id, pipeline, status, started_us, finished_us, summary FROM runs WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(self.pool())
        .await?;
        row.map(|r| {
            Ok(Run {
                id: r.try_get(0)?,
                pipeline: r.try_get(1)?,
                status: r.try_get(2)?,
                started_us: r.try_get(3)?,
                finished_us: r.try_get(4)?,
                summary: r.try_get(5)?,
            })
        })
        .transpose()
    }

    /// Records a job step's state (insert or update): the journal a rerun resumes from.
    pub async fn journal_put(
        &self,
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
        .execute(self.pool())
        .await?;
        Ok(())
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
