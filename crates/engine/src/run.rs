//! Running a pipeline's data steps on DataFusion. Each step's output is a table named by
//! its id, so later SQL reads earlier steps by name.
//!
//! This is the first part of `custodia run` (issue 6): `ingest` of files (CSV, JSONL,
//! Parquet; a glob or a folder) and `sql` / `features` steps. Still to come before the
//! command exists: enforcement rewrites (consent semi-join, masks, region checks), the
//! other step kinds, the run journal, lineage and dataset versions.

use std::{path::Path, sync::Arc};

use arrow::record_batch::RecordBatch;
use custodia_core::pipeline::{Pipeline, Source, StepKind};
use datafusion::{
    datasource::MemTable,
    prelude::{CsvReadOptions, JsonReadOptions, ParquetReadOptions, SessionContext},
};

use crate::EngineError;

/// What one step produced.
#[derive(Debug, Clone)]
pub struct StepOutput {
    /// Step id (its table name).
    pub id: String,
    /// Output rows.
    pub rows: usize,
    /// Column names and Arrow types.
    pub schema: Vec<(String, String)>,
    /// The rows.
    pub batches: Vec<RecordBatch>,
}

fn df_err(step: &str, e: impl std::fmt::Display) -> EngineError {
    EngineError::Workspace(format!("step {step:?}: {e}"))
}

/// Runs the `ingest`, `sql` and `features` steps in dependency order, relative to the
/// workspace `root`. Other step kinds are refused until the runner supports them.
pub async fn run_data_steps(
    root: &Path,
    pipeline: &Pipeline,
) -> Result<Vec<StepOutput>, EngineError> {
    let ctx = SessionContext::new();
    let mut out = Vec::new();
    for step in pipeline.order() {
        let id = step.id.as_str();
        let frame = match &step.kind {
            StepKind::Ingest { source: Source::Files(pattern), .. } => {
                let path = root.join(pattern).display().to_string();
                let lower = pattern.to_ascii_lowercase();
                if lower.ends_with(".parquet") {
                    ctx.read_parquet(path, ParquetReadOptions::default()).await
                } else if lower.ends_with(".jsonl") || lower.ends_with(".ndjson") {
                    ctx.read_json(path, JsonReadOptions::default().file_extension(if lower.ends_with(".ndjson") { ".ndjson" } else { ".jsonl" })).await
                } else if lower.ends_with(".csv") {
                    ctx.read_csv(path, CsvReadOptions::new()).await
                } else {
                    return Err(EngineError::Workspace(format!(
                        "step {id:?}: source {pattern:?} must end in .csv, .jsonl, .ndjson or .parquet (a file or a glob such as data/orders/*.csv)"
                    )));
                }
                .map_err(|e| df_err(id, e))?
            }
            StepKind::Sql { sql } | StepKind::Features { sql, .. } => {
                ctx.sql(sql).await.map_err(|e| df_err(id, e))?
            }
            other => {
                return Err(EngineError::Workspace(format!(
                    "step {id:?}: {} steps are not run yet; this build runs ingest (files), sql and features",
                    other.name()
                )))
            }
        };
        let schema = frame.schema().as_arrow().clone();
        let batches = frame.collect().await.map_err(|e| df_err(id, e))?;
        let table = MemTable::try_new(Arc::new(schema.clone()), vec![batches.clone()])
            .map_err(|e| df_err(id, e))?;
        ctx.register_table(id, Arc::new(table))
            .map_err(|e| df_err(id, e))?;
        out.push(StepOutput {
            id: id.to_string(),
            rows: batches.iter().map(RecordBatch::num_rows).sum(),
            schema: schema
                .fields()
                .iter()
                .map(|f| (f.name().clone(), f.data_type().to_string()))
                .collect(),
            batches,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn ingest_a_glob_then_sql_over_it() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data/orders");
        std::fs::create_dir_all(&data).unwrap();
        std::fs::write(data.join("a.csv"), "customer_id,amount\n1,10.5\n2,3\n").unwrap();
        std::fs::write(data.join("b.csv"), "customer_id,amount\n1,4.5\n").unwrap();
        let p = Pipeline::parse(
            "p.yaml",
            "pipeline: clv\npurpose: analytics\nsteps:\n  - id: orders\n    kind: ingest\n    source: data/orders/*.csv\n    dataset: orders\n  - id: clv\n    kind: features\n    needs: [orders]\n    dataset: customer_features\n    sql: SELECT customer_id, SUM(amount) AS customer_lifetime_value FROM orders GROUP BY customer_id ORDER BY customer_id\n",
        )
        .unwrap();
        let out = run_data_steps(dir.path(), &p).await.unwrap();
        assert_eq!(out[0].rows, 3);
        assert_eq!(out[1].rows, 2);
        let values = arrow::util::pretty::pretty_format_batches(&out[1].batches)
            .unwrap()
            .to_string();
        assert!(
            values.contains("| 1           | 15.0") && values.contains("| 2           | 3.0"),
            "{values}"
        );
        assert_eq!(out[1].schema[1].0, "customer_lifetime_value");
    }

    #[tokio::test]
    async fn sql_errors_name_the_step() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("o.csv"), "a\n1\n").unwrap();
        let p = Pipeline::parse(
            "p.yaml",
            "pipeline: x\npurpose: analytics\nsteps:\n  - id: o\n    kind: ingest\n    source: o.csv\n    dataset: o\n  - id: bad\n    kind: sql\n    needs: [o]\n    sql: SELECT nope FROM o\n",
        )
        .unwrap();
        let e = run_data_steps(dir.path(), &p)
            .await
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("step \"bad\":") && e.contains("nope"), "{e}");
    }
}
