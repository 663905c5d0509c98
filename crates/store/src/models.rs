//! The model registry, column-level lineage and stored OpenLineage events.
//!
//! A model version is recorded in the same transaction as its train step's journal entry,
//! so a resumed run never registers a model twice; lineage rows commit with the step that
//! produced them.

use sqlx::Row;

use crate::{now_us, Store, StoreError, WriteTx};

/// One registered model version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelVersion {
    /// Model name.
    pub model: String,
    /// Version, from 1 (assigned when recorded).
    pub version: i64,
    /// The run that trained it.
    pub run_id: Option<String>,
    /// The train step.
    pub step: Option<String>,
    /// `logistic_regression`, `linear_regression` or `command`.
    pub algorithm: String,
    /// Artifact folder or file, relative to the workspace.
    pub artifact: String,
    /// SHA-256 of the artifact (of its files, in name order, for a folder).
    pub artifact_sha256: String,
    /// The model card (YAML).
    pub card: String,
    /// Metrics as JSON.
    pub metrics: String,
    /// What it was trained on, as JSON (snapshot and upstream dataset versions).
    pub training: String,
    /// The training snapshot's subject manifest (JSON), when there was one.
    pub manifest: Option<String>,
    /// Subjects in the training snapshot.
    pub subjects: Option<i64>,
    /// `registered`, `production` or `archived`.
    pub stage: String,
    /// When registered (µs).
    pub created_us: i64,
    /// When promoted (µs).
    pub promoted_us: Option<i64>,
    /// Why the model must be retrained (it learnt from a subject since erased), as JSON;
    /// `None` when nothing is pending. Set by erasure, never at registration.
    pub flagged: Option<String>,
}

/// One column-level lineage edge: `output_column` of a step's output derives from
/// `input_column` of `input_dataset` through `transform`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct ColumnEdge {
    /// The run.
    pub run_id: String,
    /// The step.
    pub step: String,
    /// The step's output dataset version (`name@v`).
    pub output_dataset: String,
    /// Output column.
    pub output_column: String,
    /// Input dataset version (`name@v`).
    pub input_dataset: String,
    /// Input column.
    pub input_column: String,
    /// `identity`, `expression`, `aggregate`, `filter`, `join`, `transform:OP`, …
    pub transform: String,
}

const MODEL_COLUMNS: &str = "model, version, run_id, step, algorithm, artifact, artifact_sha256, card, metrics, training, manifest, subjects, stage, created_us, promoted_us";

fn model_of(r: &sqlx::any::AnyRow) -> Result<ModelVersion, StoreError> {
    Ok(ModelVersion {
        model: r.try_get(0)?,
        version: r.try_get(1)?,
        run_id: r.try_get(2)?,
        step: r.try_get(3)?,
        algorithm: r.try_get(4)?,
        artifact: r.try_get(5)?,
        artifact_sha256: r.try_get(6)?,
        card: r.try_get(7)?,
        metrics: r.try_get(8)?,
        training: r.try_get(9)?,
        manifest: r.try_get(10)?,
        subjects: r.try_get(11)?,
        stage: r.try_get(12)?,
        created_us: r.try_get(13)?,
        promoted_us: r.try_get(14)?,
        flagged: r.try_get(15)?,
    })
}

const EDGE_COLUMNS: &str =
    "run_id, step, output_dataset, output_column, input_dataset, input_column, transform";

fn edge_of(r: &sqlx::any::AnyRow) -> Result<ColumnEdge, StoreError> {
    Ok(ColumnEdge {
        run_id: r.try_get(0)?,
        step: r.try_get(1)?,
        output_dataset: r.try_get(2)?,
        output_column: r.try_get(3)?,
        input_dataset: r.try_get(4)?,
        input_column: r.try_get(5)?,
        transform: r.try_get(6)?,
    })
}

impl WriteTx {
    /// Registers a model version (the next number); returns it.
    pub async fn record_model_version(&mut self, m: &ModelVersion) -> Result<i64, StoreError> {
        let tx = &mut self.tx;
        let last: Option<i64> =
            sqlx::query_scalar("SELECT MAX(version) FROM model_versions WHERE model = $1")
                .bind(&m.model)
                .fetch_one(&mut **tx)
                .await?;
        let version = last.unwrap_or(0) + 1;
        sqlx::query(&format!(
            "INSERT INTO model_versions ({MODEL_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)"
        ))
        .bind(&m.model)
        .bind(version)
        .bind(m.run_id.clone())
        .bind(m.step.clone())
        .bind(&m.algorithm)
        .bind(&m.artifact)
        .bind(&m.artifact_sha256)
        .bind(&m.card)
        .bind(&m.metrics)
        .bind(&m.training)
        .bind(m.manifest.clone())
        .bind(m.subjects)
        .bind("registered")
        .bind(now_us())
        .bind(None::<i64>)
        .execute(&mut **tx)
        .await?;
        Ok(version)
    }

    /// Flags a model version for retraining (`why` is JSON: the request and the count of
    /// erased subjects it learnt from), or clears the flag with `None`.
    pub async fn flag_model(
        &mut self,
        model: &str,
        version: i64,
        why: Option<&str>,
    ) -> Result<(), StoreError> {
        sqlx::query("UPDATE model_versions SET flagged = $1 WHERE model = $2 AND version = $3")
            .bind(why)
            .bind(model)
            .bind(version)
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }

    /// Moves a version to `production`; the previous production version becomes
    /// `archived`.
    pub async fn promote_model(&mut self, model: &str, version: i64) -> Result<(), StoreError> {
        let tx = &mut self.tx;
        sqlx::query("UPDATE model_versions SET stage = 'archived' WHERE model = $1 AND stage = 'production' AND version <> $2")
            .bind(model)
            .bind(version)
            .execute(&mut **tx)
            .await?;
        sqlx::query("UPDATE model_versions SET stage = 'production', promoted_us = $3 WHERE model = $1 AND version = $2")
            .bind(model)
            .bind(version)
            .bind(now_us())
            .execute(&mut **tx)
            .await?;
        Ok(())
    }

    /// Records lineage edges (a rerun of the same step replaces nothing: edges are keyed
    /// by run, step and columns).
    pub async fn record_lineage(&mut self, edges: &[ColumnEdge]) -> Result<(), StoreError> {
        let tx = &mut self.tx;
        for e in edges {
            sqlx::query(&format!(
                "INSERT INTO column_lineage ({EDGE_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7) \
                 ON CONFLICT (run_id, step, output_column, input_dataset, input_column) DO NOTHING"
            ))
            .bind(&e.run_id)
            .bind(&e.step)
            .bind(&e.output_dataset)
            .bind(&e.output_column)
            .bind(&e.input_dataset)
            .bind(&e.input_column)
            .bind(&e.transform)
            .execute(&mut **tx)
            .await?;
        }
        Ok(())
    }

    /// Stores an OpenLineage event of a run (numbered per run).
    pub async fn record_lineage_event(
        &mut self,
        run_id: &str,
        event_type: &str,
        body: &str,
    ) -> Result<i64, StoreError> {
        let tx = &mut self.tx;
        let last: Option<i64> =
            sqlx::query_scalar("SELECT MAX(id) FROM lineage_events WHERE run_id = $1")
                .bind(run_id)
                .fetch_one(&mut **tx)
                .await?;
        let id = last.unwrap_or(0) + 1;
        sqlx::query("INSERT INTO lineage_events (id, run_id, event_type, event_time_us, body) VALUES ($1, $2, $3, $4, $5)")
            .bind(id)
            .bind(run_id)
            .bind(event_type)
            .bind(now_us())
            .bind(body)
            .execute(&mut **tx)
            .await?;
        Ok(id)
    }
}

impl Store {
    /// Versions of a model, oldest first.
    pub async fn model_versions(&self, model: &str) -> Result<Vec<ModelVersion>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {MODEL_COLUMNS}, flagged FROM model_versions WHERE model = $1 ORDER BY version"
        ))
        .bind(model)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(model_of).collect()
    }

    /// Every version of every model, by model and version.
    pub async fn all_model_versions(&self) -> Result<Vec<ModelVersion>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {MODEL_COLUMNS}, flagged FROM model_versions ORDER BY model, version"
        ))
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(model_of).collect()
    }

    /// The latest version of every model.
    pub async fn models(&self) -> Result<Vec<ModelVersion>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {MODEL_COLUMNS}, flagged FROM model_versions m WHERE version = \
             (SELECT MAX(version) FROM model_versions n WHERE n.model = m.model) ORDER BY model"
        ))
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(model_of).collect()
    }

    /// Every lineage edge recorded (all runs), in a stable order.
    pub async fn lineage_edges(&self) -> Result<Vec<ColumnEdge>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {EDGE_COLUMNS} FROM column_lineage ORDER BY run_id, step, output_column, input_dataset, input_column"
        ))
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(edge_of).collect()
    }

    /// The lineage edges of one run.
    pub async fn run_lineage(&self, run_id: &str) -> Result<Vec<ColumnEdge>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {EDGE_COLUMNS} FROM column_lineage WHERE run_id = $1 ORDER BY step, output_column, input_dataset, input_column"
        ))
        .bind(run_id)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(edge_of).collect()
    }

    /// The OpenLineage events of a run (or of every run), in order: `(run, type, body)`.
    pub async fn lineage_events(
        &self,
        run_id: Option<&str>,
    ) -> Result<Vec<(String, String, String)>, StoreError> {
        let rows = match run_id {
            Some(r) => {
                sqlx::query("SELECT run_id, event_type, body FROM lineage_events WHERE run_id = $1 ORDER BY id")
                    .bind(r)
                    .fetch_all(self.pool())
                    .await?
            }
            None => {
                sqlx::query("SELECT run_id, event_type, body FROM lineage_events ORDER BY event_time_us, run_id, id")
                    .fetch_all(self.pool())
                    .await?
            }
        };
        rows.iter()
            .map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?)))
            .collect()
    }
}
