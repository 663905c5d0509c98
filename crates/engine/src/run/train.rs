//! `train` steps: a built-in model (logistic or linear regression) or an external trainer
//! (`command:`), registered as a model version with its artifact, model card, metrics, the
//! dataset versions it was trained on and its training snapshot's subject manifest.
//!
//! The built-in models are small on purpose: standardised features, an intercept, a light
//! L2 penalty; logistic regression by Newton–Raphson (IRLS), linear regression by the
//! normal equations. Both solve a (features + 1)² system, so they train on millions of rows
//! in one pass per iteration. A deterministic 80/20 split gives the held-out metrics:
//! accuracy, AUC and log loss, or RMSE, MAE and R². Rows are put in a canonical order
//! (by features, then label) first, so the same rows give the same split and the same
//! model whatever order the snapshot's parallel scan wrote them in.

// Small dense linear algebra reads best with explicit indexes.
#![allow(clippy::needless_range_loop)]

use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
};

use arrow::{
    array::{Array, AsArray},
    datatypes::{DataType, Float64Type},
};
use custodia_core::{
    model_card::{ModelCard, TrainingRef},
    pipeline::{Algorithm, Pipeline, Step, StepKind, Trainer},
    Contract,
};
use datafusion::prelude::{cast as cast_expr, ident, SessionContext};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::{df_err, StepError, StepReport, StepState, RUNS_DIR};
use crate::{audit_log::NewEntry, workspace::Workspace, EngineError};

/// L2 penalty of the built-in models (on standardised features; not on the intercept).
const L2: f64 = 1e-4;

/// A trained built-in model: what `model.json` holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LinearModel {
    /// `logistic_regression` or `linear_regression`.
    pub algorithm: String,
    /// Feature columns, in order.
    pub features: Vec<String>,
    /// Label column.
    pub label: String,
    /// Feature means (standardisation).
    pub means: Vec<f64>,
    /// Feature standard deviations (1 where a feature is constant).
    pub stds: Vec<f64>,
    /// Intercept, then one weight per standardised feature.
    pub coefficients: Vec<f64>,
}

impl LinearModel {
    /// The model's output for one row of raw feature values: a probability (logistic) or
    /// a value (linear).
    pub fn predict(&self, x: &[f64]) -> f64 {
        let mut z = self.coefficients[0];
        for (j, v) in x.iter().enumerate() {
            z += self.coefficients[j + 1] * (v - self.means[j]) / self.stds[j];
        }
        if self.algorithm == "logistic_regression" {
            sigmoid(z)
        } else {
            z
        }
    }
}

fn sigmoid(z: f64) -> f64 {
    1.0 / (1.0 + (-z).exp())
}

/// Solves `a x = b` (Gaussian elimination with partial pivoting); `None` when singular.
fn solve(mut a: Vec<Vec<f64>>, mut b: Vec<f64>) -> Option<Vec<f64>> {
    let n = b.len();
    for col in 0..n {
        let pivot = (col..n).max_by(|&i, &j| a[i][col].abs().total_cmp(&a[j][col].abs()))?;
        if a[pivot][col].abs() < 1e-12 {
            return None;
        }
        a.swap(col, pivot);
        b.swap(col, pivot);
        for row in col + 1..n {
            let f = a[row][col] / a[col][col];
            if f != 0.0 {
                for k in col..n {
                    a[row][k] -= f * a[col][k];
                }
                b[row] -= f * b[col];
            }
        }
    }
    let mut x = vec![0.0; n];
    for i in (0..n).rev() {
        let s: f64 = (i + 1..n).map(|k| a[i][k] * x[k]).sum();
        x[i] = (b[i] - s) / a[i][i];
    }
    Some(x)
}

/// Held-out rows: every fifth row, by position in the canonical order (deterministic, no
/// RNG).
fn held_out(i: usize) -> bool {
    i % 5 == 4
}

/// Fits a built-in model on rows `x` (raw features) and labels `y`.
pub fn fit(
    algorithm: Algorithm,
    features: &[String],
    label: &str,
    x: &[Vec<f64>],
    y: &[f64],
) -> Result<(LinearModel, BTreeMap<String, f64>), String> {
    let d = features.len();
    let mut order: Vec<usize> = (0..x.len()).collect();
    order.sort_by(|&a, &b| {
        x[a].iter()
            .zip(&x[b])
            .map(|(p, q)| p.total_cmp(q))
            .find(|o| o.is_ne())
            .unwrap_or_else(|| y[a].total_cmp(&y[b]))
    });
    let train: Vec<usize> = (0..order.len())
        .filter(|&k| !held_out(k))
        .map(|k| order[k])
        .collect();
    let test: Vec<usize> = (0..order.len())
        .filter(|&k| held_out(k))
        .map(|k| order[k])
        .collect();
    if train.len() < d + 2 || test.is_empty() {
        return Err(format!(
            "{} usable rows are too few to train on {d} features and hold out a fifth for metrics",
            x.len()
        ));
    }
    if algorithm == Algorithm::LogisticRegression && y.iter().any(|v| *v != 0.0 && *v != 1.0) {
        let n = y.iter().filter(|v| **v != 0.0 && **v != 1.0).count();
        return Err(format!(
            "label {label:?} must be 0 or 1 (or a boolean) for logistic regression; {n} rows hold something else"
        ));
    }
    let mut means = vec![0.0; d];
    let mut stds = vec![0.0; d];
    for &i in &train {
        for j in 0..d {
            means[j] += x[i][j];
        }
    }
    for m in &mut means {
        *m /= train.len() as f64;
    }
    for &i in &train {
        for j in 0..d {
            stds[j] += (x[i][j] - means[j]).powi(2);
        }
    }
    for s in &mut stds {
        *s = (*s / train.len() as f64).sqrt();
        if *s < 1e-12 {
            *s = 1.0;
        }
    }
    let row = |i: usize| -> Vec<f64> {
        std::iter::once(1.0)
            .chain((0..d).map(|j| (x[i][j] - means[j]) / stds[j]))
            .collect()
    };
    let p = d + 1;
    let mut beta = vec![0.0; p];
    let singular =
        || "the features are collinear (one is a combination of others); drop one".to_string();
    match algorithm {
        Algorithm::LinearRegression => {
            let mut a = vec![vec![0.0; p]; p];
            let mut b = vec![0.0; p];
            for &i in &train {
                let r = row(i);
                for j in 0..p {
                    b[j] += r[j] * y[i];
                    for k in 0..p {
                        a[j][k] += r[j] * r[k];
                    }
                }
            }
            for (j, a) in a.iter_mut().enumerate().skip(1) {
                a[j] += L2 * train.len() as f64;
            }
            beta = solve(a, b).ok_or_else(singular)?;
        }
        Algorithm::LogisticRegression => {
            for _ in 0..50 {
                let mut h = vec![vec![0.0; p]; p];
                let mut g = vec![0.0; p];
                for &i in &train {
                    let r = row(i);
                    let z: f64 = r.iter().zip(&beta).map(|(a, b)| a * b).sum();
                    let mu = sigmoid(z);
                    let w = (mu * (1.0 - mu)).max(1e-10);
                    for j in 0..p {
                        g[j] += r[j] * (y[i] - mu);
                        for k in 0..p {
                            h[j][k] += w * r[j] * r[k];
                        }
                    }
                }
                for j in 1..p {
                    g[j] -= L2 * train.len() as f64 * beta[j];
                    h[j][j] += L2 * train.len() as f64;
                }
                let step = solve(h, g).ok_or_else(singular)?;
                let mut biggest: f64 = 0.0;
                for j in 0..p {
                    beta[j] += step[j];
                    biggest = biggest.max(step[j].abs());
                }
                if biggest < 1e-9 {
                    break;
                }
            }
        }
    }
    let model = LinearModel {
        algorithm: match algorithm {
            Algorithm::LogisticRegression => "logistic_regression",
            Algorithm::LinearRegression => "linear_regression",
        }
        .into(),
        features: features.to_vec(),
        label: label.to_string(),
        means,
        stds,
        coefficients: beta,
    };
    let mut metrics = BTreeMap::new();
    metrics.insert("train_rows".into(), train.len() as f64);
    metrics.insert("test_rows".into(), test.len() as f64);
    let preds: Vec<(f64, f64)> = test.iter().map(|&i| (model.predict(&x[i]), y[i])).collect();
    match algorithm {
        Algorithm::LogisticRegression => {
            let n = preds.len() as f64;
            let acc = preds
                .iter()
                .filter(|(p, y)| (*p >= 0.5) == (*y == 1.0))
                .count() as f64
                / n;
            let loss = -preds
                .iter()
                .map(|(p, y)| {
                    let p = p.clamp(1e-15, 1.0 - 1e-15);
                    y * p.ln() + (1.0 - y) * (1.0 - p).ln()
                })
                .sum::<f64>()
                / n;
            metrics.insert("accuracy".into(), acc);
            metrics.insert("log_loss".into(), loss);
            if let Some(auc) = auc(&preds) {
                metrics.insert("auc".into(), auc);
            }
        }
        Algorithm::LinearRegression => {
            let n = preds.len() as f64;
            let mean = preds.iter().map(|(_, y)| y).sum::<f64>() / n;
            let sse: f64 = preds.iter().map(|(p, y)| (p - y).powi(2)).sum();
            let sst: f64 = preds.iter().map(|(_, y)| (y - mean).powi(2)).sum();
            metrics.insert("rmse".into(), (sse / n).sqrt());
            metrics.insert(
                "mae".into(),
                preds.iter().map(|(p, y)| (p - y).abs()).sum::<f64>() / n,
            );
            if sst > 0.0 {
                metrics.insert("r2".into(), 1.0 - sse / sst);
            }
        }
    }
    Ok((model, metrics))
}

/// Area under the ROC curve by the rank-sum statistic (ties get average ranks); `None`
/// when one class is missing.
fn auc(preds: &[(f64, f64)]) -> Option<f64> {
    let mut v: Vec<(f64, f64)> = preds.to_vec();
    v.sort_by(|a, b| a.0.total_cmp(&b.0));
    let pos = v.iter().filter(|(_, y)| *y == 1.0).count() as f64;
    let neg = v.len() as f64 - pos;
    if pos == 0.0 || neg == 0.0 {
        return None;
    }
    let mut rank_sum = 0.0;
    let mut i = 0;
    while i < v.len() {
        let mut j = i;
        while j + 1 < v.len() && v[j + 1].0 == v[i].0 {
            j += 1;
        }
        let avg = (i + j) as f64 / 2.0 + 1.0;
        rank_sum += v[i..=j].iter().filter(|(_, y)| *y == 1.0).count() as f64 * avg;
        i = j + 1;
    }
    Some((rank_sum - pos * (pos + 1.0) / 2.0) / (pos * neg))
}

/// SHA-256 over a folder's files in name order (name, then content), or over one file.
pub fn digest_artifact(dir: &Path) -> Result<String, EngineError> {
    let mut names: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| EngineError::io(dir, e))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file())
        .collect();
    names.sort();
    let mut h = Sha256::new();
    for p in names {
        h.update(p.file_name().unwrap_or_default().as_encoded_bytes());
        h.update([0]);
        h.update(std::fs::read(&p).map_err(|e| EngineError::io(&p, e))?);
    }
    Ok(hex::encode(h.finalize()))
}

/// What a model version was trained on.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Training {
    /// The input step's output version (usually a snapshot).
    pub input: String,
    /// Every dataset version upstream of the train step in its run, in run order.
    pub upstream: Vec<String>,
    /// Feature columns (built-in models).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub features: Vec<String>,
    /// Label column (built-in models).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// Rows with a null feature or label, left out.
    #[serde(default)]
    pub rows_skipped: u64,
}

impl Workspace {
    /// Runs a `train` step and registers the model version; the report's `output` is
    /// `model:NAME@VERSION`.
    #[allow(clippy::too_many_arguments)]
    pub(super) async fn train_step(
        &self,
        ctx: &SessionContext,
        pipeline: &Pipeline,
        contracts: &std::collections::HashMap<String, Contract>,
        run_id: &str,
        step: &Step,
        done: &[StepReport],
    ) -> Result<StepReport, StepError> {
        let StepKind::Train {
            model,
            trainer,
            card,
        } = &step.kind
        else {
            unreachable!("called for train steps")
        };
        let id = step.id.as_str();
        let input_id = step.needs.first().expect("validated: train needs a step");
        let input = done
            .iter()
            .find(|s| &s.id == input_id)
            .expect("inputs run first");
        let rel = PathBuf::from(RUNS_DIR).join(run_id).join(id);
        let dir = self.root().join(&rel);
        std::fs::create_dir_all(&dir).map_err(|e| EngineError::io(&dir, e))?;
        let mut training = Training {
            input: input.output.clone(),
            upstream: upstream(pipeline, step, done),
            ..Training::default()
        };
        let (algorithm_name, metrics, rows) = match trainer {
            Trainer::Builtin {
                algorithm,
                target,
                features,
            } => {
                let frame = ctx
                    .table(input_id.as_str())
                    .await
                    .map_err(|e| df_err(id, e))?;
                for c in features.iter().chain(std::iter::once(target)) {
                    let Ok(f) = frame.schema().field_with_unqualified_name(c) else {
                        return Err(EngineError::Workspace(format!(
                            "step {id:?}: column {c:?} is not in its input {input_id:?}; the input has {}",
                            frame.schema().fields().iter().map(|f| f.name().as_str()).collect::<Vec<_>>().join(", ")
                        )).into());
                    };
                    let t = f.data_type();
                    if !(t.is_integer()
                        || t.is_floating()
                        || *t == DataType::Boolean
                        || matches!(t, DataType::Decimal128(_, _)))
                    {
                        return Err(EngineError::Workspace(format!(
                            "step {id:?}: column {c:?} is {t}, but built-in models take numbers or booleans; encode it in a features step"
                        )).into());
                    }
                }
                let cols: Vec<_> = features
                    .iter()
                    .chain(std::iter::once(target))
                    .map(|c| cast_expr(ident(c), DataType::Float64).alias(c))
                    .collect();
                let batches = frame
                    .select(cols)
                    .map_err(|e| df_err(id, e))?
                    .collect()
                    .await
                    .map_err(|e| df_err(id, e))?;
                let (mut x, mut y) = (Vec::new(), Vec::new());
                for b in &batches {
                    let arrays: Vec<_> = b
                        .columns()
                        .iter()
                        .map(|a| a.as_primitive::<Float64Type>())
                        .collect();
                    for i in 0..b.num_rows() {
                        if arrays
                            .iter()
                            .any(|a| a.is_null(i) || !a.value(i).is_finite())
                        {
                            training.rows_skipped += 1;
                            continue;
                        }
                        let d = features.len();
                        x.push((0..d).map(|j| arrays[j].value(i)).collect::<Vec<f64>>());
                        y.push(arrays[d].value(i));
                    }
                }
                let (m, metrics) = fit(*algorithm, features, target, &x, &y)
                    .map_err(|e| EngineError::Workspace(format!("step {id:?}: {e}")))?;
                let path = dir.join("model.json");
                std::fs::write(
                    &path,
                    serde_json::to_string_pretty(&m).expect("models serialise"),
                )
                .map_err(|e| EngineError::io(&path, e))?;
                training.features = features.clone();
                training.label = Some(target.clone());
                (m.algorithm, metrics, x.len() as u64)
            }
            Trainer::Command { command, outputs } => {
                let metrics = self
                    .run_trainer(id, model, run_id, &dir, input, command, outputs)
                    .await?;
                ("command".to_string(), metrics, input.rows)
            }
        };

        // The card: the step's template, with what Custodia knows filled in.
        let mut card = match card {
            Some(path) => {
                let p = self.root().join(path);
                let text = std::fs::read_to_string(&p).map_err(|e| EngineError::io(&p, e))?;
                ModelCard::parse(path, &text).map_err(EngineError::from)?
            }
            None => ModelCard::default(),
        };
        let next = self
            .store()
            .model_versions(model)
            .await
            .map_err(EngineError::from)?
            .last()
            .map_or(1, |m| m.version + 1);
        let purpose = pipeline.purpose_of(step).map(|p| p.as_str().to_string());
        let governing: Vec<&Contract> = training
            .upstream
            .iter()
            .filter_map(|v| v.rsplit_once('@').and_then(|(d, _)| contracts.get(d)))
            .collect();
        card.name = Some(model.clone());
        card.version = Some(next.to_string());
        if card.purpose.is_none() {
            card.purpose = purpose.clone();
        }
        if card.legal_basis.is_none() {
            card.legal_basis = purpose.as_ref().and_then(|p| {
                governing.iter().find_map(|c| {
                    c.purposes
                        .iter()
                        .find(|s| s.purpose.as_str() == p)
                        .map(|s| s.legal_basis.to_string())
                })
            });
        }
        if card.owner.is_none() {
            card.owner = governing.iter().find_map(|c| c.owner.clone());
        }
        card.training_data = training
            .upstream
            .iter()
            .filter_map(|v| {
                let (d, n) = v.rsplit_once('@')?;
                contracts.contains_key(d).then(|| TrainingRef {
                    dataset: d.to_string(),
                    version: n.parse().ok(),
                })
            })
            .collect();
        if let Some(f) = input
            .enforcement
            .as_ref()
            .and_then(|e| e.row_filter.as_ref())
        {
            if let Some(p) = f.strip_prefix("consent:") {
                card.consent_scope = vec![p.to_string()];
            }
        }
        card.metrics.extend(metrics.clone());
        let card_text = card.to_yaml();
        let card_path = dir.join("model_card.yaml");
        std::fs::write(&card_path, &card_text).map_err(|e| EngineError::io(&card_path, e))?;
        let sha = digest_artifact(&dir)?;

        let mut report = StepReport {
            id: id.to_string(),
            kind: "train".into(),
            state: StepState::Ran,
            rows,
            millis: 0,
            output: String::new(),
            content_hash: sha.clone(),
            path: rel.display().to_string(),
            schema: vec![],
            enforcement: None,
            loaded: None,
            manifest: input.manifest.clone(),
            transforms: vec![],
            quality: None,
            metrics: metrics.clone(),
        };
        let mut tx = self
            .store()
            .begin_write()
            .await
            .map_err(EngineError::from)?;
        let version = tx
            .record_model_version(&custodia_store::ModelVersion {
                model: model.clone(),
                version: 0,
                run_id: Some(run_id.to_string()),
                step: Some(id.to_string()),
                algorithm: algorithm_name.clone(),
                artifact: report.path.clone(),
                artifact_sha256: sha.clone(),
                card: card_text,
                metrics: serde_json::to_string(&metrics).expect("metrics serialise"),
                training: serde_json::to_string(&training).expect("training serialises"),
                manifest: input
                    .manifest
                    .as_ref()
                    .map(|m| serde_json::to_string(m).expect("manifests serialise")),
                subjects: input.manifest.as_ref().map(|m| m.subjects as i64),
                stage: String::new(),
                created_us: 0,
                promoted_us: None,
                flagged: None,
            })
            .await
            .map_err(EngineError::from)?;
        if version != next {
            return Err(EngineError::Workspace(format!(
                "model {model:?} got version {version} while this run prepared {next}: another run registered it at the same time; run again"
            ))
            .into());
        }
        report.output = format!("model:{model}@{version}");
        // Lineage: the model's features and label from its input's columns.
        let mut edges = Vec::new();
        if let Trainer::Builtin {
            target, features, ..
        } = trainer
        {
            for (c, how) in features
                .iter()
                .map(|f| (f, "feature"))
                .chain(std::iter::once((target, "label")))
            {
                edges.push(custodia_store::ColumnEdge {
                    run_id: run_id.to_string(),
                    step: id.to_string(),
                    output_dataset: report.output.clone(),
                    output_column: c.clone(),
                    input_dataset: input.output.clone(),
                    input_column: c.clone(),
                    transform: how.into(),
                });
            }
        } else {
            for (c, _) in &input.schema {
                edges.push(custodia_store::ColumnEdge {
                    run_id: run_id.to_string(),
                    step: id.to_string(),
                    output_dataset: report.output.clone(),
                    output_column: c.clone(),
                    input_dataset: input.output.clone(),
                    input_column: c.clone(),
                    transform: "trainer_input".into(),
                });
            }
        }
        tx.record_lineage(&edges).await.map_err(EngineError::from)?;
        tx.journal_put(
            run_id,
            id,
            "done",
            &serde_json::to_string(&report).expect("reports serialise"),
        )
        .await
        .map_err(EngineError::from)?;
        let mut counts = BTreeMap::new();
        counts.insert("rows".into(), rows);
        if let Some(m) = &input.manifest {
            counts.insert("subjects".into(), m.subjects);
        }
        let mut details = BTreeMap::new();
        details.insert("step".into(), id.to_string());
        details.insert("model".into(), format!("{model}@{version}"));
        details.insert("algorithm".into(), algorithm_name);
        details.insert("artifact_sha256".into(), sha);
        details.insert("input".into(), input.output.clone());
        self.commit_recorded(
            tx,
            vec![
                NewEntry {
                    action: "run.step".into(),
                    object: format!("run:{run_id}"),
                    subjects: vec![],
                    counts: counts.clone(),
                    details: details.clone(),
                },
                NewEntry {
                    action: "model.register".into(),
                    object: format!("model:{model}"),
                    subjects: vec![],
                    counts,
                    details,
                },
            ],
        )
        .await?;
        Ok(report)
    }

    /// Runs an external trainer in the workspace with the input handed over as
    /// `CUSTODIA_INPUT` (a Parquet file) and `CUSTODIA_OUTPUT_DIR` for what it writes.
    /// Its output goes to `stdout.log` / `stderr.log` there (never into Custodia's own
    /// output, which must not carry data). A `metrics.json` of numbers becomes the metrics.
    #[allow(clippy::too_many_arguments)]
    async fn run_trainer(
        &self,
        id: &str,
        model: &str,
        run_id: &str,
        dir: &Path,
        input: &StepReport,
        command: &[String],
        outputs: &[String],
    ) -> Result<BTreeMap<String, f64>, StepError> {
        let stdout = std::fs::File::create(dir.join("stdout.log"))
            .map_err(|e| EngineError::io(dir.join("stdout.log"), e))?;
        let stderr = std::fs::File::create(dir.join("stderr.log"))
            .map_err(|e| EngineError::io(dir.join("stderr.log"), e))?;
        let mut cmd = std::process::Command::new(&command[0]);
        cmd.args(&command[1..])
            .current_dir(self.root())
            .env("CUSTODIA_INPUT", self.root().join(&input.path))
            .env("CUSTODIA_OUTPUT_DIR", dir)
            .env("CUSTODIA_MODEL", model)
            .env("CUSTODIA_RUN_ID", run_id)
            .stdin(std::process::Stdio::null())
            .stdout(stdout)
            .stderr(stderr);
        let program = command[0].clone();
        // The trainer may run for hours: off the async runtime's thread.
        let status = tokio::task::spawn_blocking(move || cmd.status())
            .await
            .map_err(|e| EngineError::Workspace(format!("step {id:?}: {e}")))?
            .map_err(|e| {
                EngineError::Workspace(format!(
                    "step {id:?}: cannot start {program:?}: {e}; check the command (it runs in the workspace folder)"
                ))
            })?;
        let logs = dir
            .strip_prefix(self.root())
            .unwrap_or(dir)
            .display()
            .to_string();
        if !status.success() {
            return Err(EngineError::Workspace(format!(
                "step {id:?}: the trainer exited with {status}; its output is in {logs}/stderr.log"
            ))
            .into());
        }
        let missing: Vec<&str> = outputs
            .iter()
            .filter(|o| !dir.join(o).is_file())
            .map(String::as_str)
            .collect();
        if !missing.is_empty() {
            return Err(EngineError::Workspace(format!(
                "step {id:?}: the trainer did not write its declared outputs {}; it gets the folder in CUSTODIA_OUTPUT_DIR ({logs})",
                missing.join(", ")
            ))
            .into());
        }
        let mut metrics = BTreeMap::new();
        let m = dir.join("metrics.json");
        if m.is_file() {
            let text = std::fs::read_to_string(&m).map_err(|e| EngineError::io(&m, e))?;
            let v: serde_json::Value = serde_json::from_str(&text)
                .map_err(|e| EngineError::data(&m, format!("not JSON: {e}")))?;
            for (k, v) in v.as_object().into_iter().flatten() {
                if let Some(n) = v.as_f64().filter(|n| n.is_finite()) {
                    metrics.insert(k.clone(), n);
                }
            }
        }
        Ok(metrics)
    }
}

/// The dataset versions upstream of `step` in this run (its inputs, their inputs, …), in
/// run order.
fn upstream(pipeline: &Pipeline, step: &Step, done: &[StepReport]) -> Vec<String> {
    let mut wanted: std::collections::BTreeSet<&str> = std::collections::BTreeSet::new();
    let mut stack: Vec<&str> = step.needs.iter().map(String::as_str).collect();
    while let Some(s) = stack.pop() {
        if wanted.insert(s) {
            if let Some(st) = pipeline.steps.iter().find(|x| x.id == s) {
                stack.extend(st.needs.iter().map(String::as_str));
            }
        }
    }
    let mut out: Vec<String> = Vec::new();
    for r in done {
        if wanted.contains(r.id.as_str())
            && !r.output.is_empty()
            && !r.output.starts_with("model:")
            && !out.contains(&r.output)
        {
            out.push(r.output.clone());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn linear_regression_recovers_a_known_line() {
        let x: Vec<Vec<f64>> = (0..500).map(|i| vec![i as f64, (i % 7) as f64]).collect();
        let y: Vec<f64> = x.iter().map(|r| 3.0 + 2.0 * r[0] - 0.5 * r[1]).collect();
        let (m, metrics) = fit(
            Algorithm::LinearRegression,
            &["a".into(), "b".into()],
            "y",
            &x,
            &y,
        )
        .unwrap();
        assert!((m.predict(&[10.0, 3.0]) - 21.5).abs() < 0.05, "{m:?}");
        assert!(metrics["r2"] > 0.999, "{metrics:?}");
    }

    #[test]
    fn the_same_rows_in_any_order_give_the_same_model_and_metrics() {
        // A snapshot written by a parallel scan holds its rows in no fixed order.
        let x: Vec<Vec<f64>> = (0..600)
            .map(|i| vec![((i * 37) % 101) as f64, (i % 13) as f64])
            .collect();
        let y: Vec<f64> = x
            .iter()
            .map(|r| f64::from(r[0] + 3.0 * r[1] + (r[0] * 7.0) % 11.0 > 70.0))
            .collect();
        let features = ["a".to_string(), "b".to_string()];
        let (m1, metrics1) = fit(Algorithm::LogisticRegression, &features, "y", &x, &y).unwrap();
        let mut order: Vec<usize> = (0..x.len()).rev().collect();
        order.rotate_left(217);
        let x2: Vec<Vec<f64>> = order.iter().map(|&i| x[i].clone()).collect();
        let y2: Vec<f64> = order.iter().map(|&i| y[i]).collect();
        let (m2, metrics2) = fit(Algorithm::LogisticRegression, &features, "y", &x2, &y2).unwrap();
        assert_eq!(m1.coefficients, m2.coefficients);
        assert_eq!(metrics1, metrics2);
    }

    #[test]
    fn logistic_regression_separates_and_auc_ranks() {
        // y = 1 when a + noise > 50.
        let x: Vec<Vec<f64>> = (0..2000).map(|i| vec![(i % 100) as f64]).collect();
        let y: Vec<f64> = (0..2000)
            .map(|i| {
                let noise = ((i * 37) % 21) as f64 - 10.0;
                if (i % 100) as f64 + noise > 50.0 {
                    1.0
                } else {
                    0.0
                }
            })
            .collect();
        let (m, metrics) = fit(Algorithm::LogisticRegression, &["a".into()], "y", &x, &y).unwrap();
        assert!(
            m.predict(&[90.0]) > 0.9 && m.predict(&[10.0]) < 0.1,
            "{m:?}"
        );
        assert!(
            metrics["auc"] > 0.95 && metrics["accuracy"] > 0.85,
            "{metrics:?}"
        );
        // A label that is not 0/1 is refused with a count, not values.
        let bad: Vec<f64> = y.iter().map(|v| v * 2.0).collect();
        let e = fit(Algorithm::LogisticRegression, &["a".into()], "y", &x, &bad).unwrap_err();
        assert!(e.contains("must be 0 or 1"), "{e}");
        assert_eq!(auc(&[(0.1, 0.0), (0.9, 1.0)]), Some(1.0));
        assert_eq!(auc(&[(0.5, 0.0), (0.5, 1.0)]), Some(0.5));
    }
}
