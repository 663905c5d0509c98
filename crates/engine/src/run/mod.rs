//! `custodia run`: a pipeline executed on DataFusion, enforced and journaled.
//!
//! Before any step runs, every read is decided by the policy (purpose, legal basis,
//! residency of the pipeline's region), and each decision is recorded. Reads are then
//! rewritten in the DataFusion plan: columns the contract does not declare are refused, a
//! consent or opt-out row filter checks each row's subject against the consent ledger as it
//! stands at run time (one decision per subject, in the scan), subjects erased or objected
//! by a data subject request are dropped, rows older than the purpose's own retention are
//! left out, and masks and pseudonyms replace the columns the policy names.
//!
//! Every step's output is streamed to `.custodia/runs/RUN/STEP.parquet`, hashed and
//! profiled, and recorded as a dataset version together with its journal entry and audit
//! entry in one store transaction. A rerun of an unfinished run (killed, crashed) resumes:
//! done steps are read back from their files, nothing is recorded or loaded twice.
//!
//! Every step kind runs: `ingest` of files and database tables, `sql`, `deidentify`,
//! `features`, `quality`, `load` into the warehouse, PostgreSQL or MySQL, `snapshot` and
//! `train`.

mod deidentify;
mod lineage;
pub(crate) mod load;
mod openlineage;
pub(crate) mod output;
mod quality;
mod snapshot;
pub(crate) mod subjects;
mod train;

use std::{
    collections::{BTreeMap, HashMap},
    path::{Path, PathBuf},
    sync::Arc,
};

use arrow::{
    array::{AsArray, StringArray},
    compute::cast,
    datatypes::DataType,
};
use custodia_core::{
    pipeline::{LoadTarget, Pipeline, Source, Step, StepKind},
    Classification, Contract, Region,
};
use custodia_policy::{Decision, DecisionInput, FilterKind, Obligation};
use datafusion::{
    common::ScalarValue,
    logical_expr::{create_udf, ColumnarValue, Volatility},
    prelude::{
        ident, CsvReadOptions, DataFrame, Expr, JsonReadOptions, ParquetReadOptions, SessionContext,
    },
};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

pub use lineage::{column_lineage, plan_lineage, Derivation, FieldLineage};
pub use openlineage::{run_uuid, PRODUCER};
pub use output::{parse_schema_json, parse_stats, psi, ColumnStats, DatasetStats, NumericStats};
pub use quality::{CheckResult, DriftFinding, DriftKind, QualityReport};

/// Drift of one dataset version against another: schema changes, null spikes and
/// distribution shifts, from their stored statistics (what quality steps and `lineage
/// diff` report).
pub fn drift_between(
    old: &DatasetStats,
    old_schema: &[(String, String)],
    new: &DatasetStats,
    new_schema: &[(String, String)],
) -> Vec<DriftFinding> {
    quality::drift(old, old_schema, new, new_schema)
}
pub use snapshot::{SnapshotOutcome, SnapshotReport, SnapshotRequest, SNAPSHOTS_DIR};
use subjects::SubjectGate;
pub use subjects::{read_manifest, Manifest};
pub use train::{digest_artifact, fit, LinearModel, Training};

use crate::{audit_log::NewEntry, workspace::Workspace, EngineError};

/// Where run outputs live, under the workspace.
pub const RUNS_DIR: &str = ".custodia/runs";
/// Where the per-pipeline run locks live, under the workspace.
pub const LOCKS_DIR: &str = ".custodia/locks";
/// The workspace warehouse (SQLite) that `load` steps write by default.
pub const WAREHOUSE: &str = ".custodia/warehouse.db";

/// How a run starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Resume {
    /// Resume the pipeline's unfinished run of the same file if there is one (the default).
    #[default]
    Auto,
    /// Always start a new run.
    Fresh,
}

/// How to run a pipeline.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// Resume or start fresh.
    pub resume: Resume,
    /// A Marquez-compatible endpoint to post the run's OpenLineage events to.
    pub openlineage_url: Option<String>,
}

/// Whether a step ran now or was resumed from an earlier attempt of the same run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StepState {
    /// Ran in this invocation.
    Ran,
    /// Done before a crash; its output was read back.
    Resumed,
}

/// What enforcement did to a read.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Enforcement {
    /// The recorded policy decision (`custodia policy explain ID`).
    pub decision_id: i64,
    /// `consent` or `opt_out` row filter, with the purpose, when one applied.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub row_filter: Option<String>,
    /// Rows read from the source.
    pub rows_read: u64,
    /// Rows the row filter removed.
    pub rows_filtered: u64,
    /// Columns masked.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub masked: Vec<String>,
    /// Columns pseudonymised.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pseudonymized: Vec<String>,
}

impl Enforcement {
    /// Fills in the counts once the enforced read is written: the rows read (the gate's
    /// count, or the output's when no row filter applied) and the rows the filter dropped.
    fn count(&mut self, gate: Option<&SubjectGate>, written_rows: u64) {
        if let Some(g) = gate {
            self.rows_read = g.rows();
        }
        if self.row_filter.is_some() {
            self.rows_filtered = self.rows_read.saturating_sub(written_rows);
        } else {
            self.rows_read = written_rows;
        }
    }
}

/// One step's outcome (what the journal keeps and the report shows; never values).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepReport {
    /// Step id.
    pub id: String,
    /// Kind.
    pub kind: String,
    /// Ran now or resumed.
    pub state: StepState,
    /// Output rows.
    pub rows: u64,
    /// Wall time of the step (ms), when it ran.
    pub millis: u64,
    /// The dataset version written (`name@version`).
    pub output: String,
    /// Content hash of the output.
    pub content_hash: String,
    /// Output file, relative to the workspace.
    pub path: String,
    /// Output columns and types.
    pub schema: Vec<(String, String)>,
    /// Enforcement on reads.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enforcement: Option<Enforcement>,
    /// Loads: rows written into the table by this run (0 when an earlier attempt did).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub loaded: Option<u64>,
    /// Snapshots: the subject manifest (who is in it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manifest: Option<Manifest>,
    /// De-identification steps: the transforms applied, as `column:operator`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub transforms: Vec<String>,
    /// Quality steps: expectations and drift.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quality: Option<QualityReport>,
    /// Train steps: the model's metrics (held-out).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub metrics: BTreeMap<String, f64>,
}

/// Why a run stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FailureKind {
    /// Policy refused a read (purpose, basis, residency, undeclared columns).
    Denied,
    /// A step failed on its input or SQL.
    Error,
    /// A blocking quality check or drift finding stopped the run.
    Quality,
}

/// A run's failure.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Failure {
    /// The step, when one failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step: Option<String>,
    /// Denied or error.
    pub kind: FailureKind,
    /// What happened and the fix (names and rules, never values).
    pub message: String,
}

/// A run's outcome.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunReport {
    /// Run id.
    pub run_id: String,
    /// Pipeline name.
    pub pipeline: String,
    /// Whether this invocation resumed an unfinished run.
    pub resumed: bool,
    /// `succeeded` or `failed`.
    pub status: String,
    /// Steps done, in order.
    pub steps: Vec<StepReport>,
    /// Why it failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<Failure>,
    /// Things that went wrong around the run without failing it (an unreachable
    /// OpenLineage endpoint).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

/// Hears about steps as they start and end, for progress displays.
pub trait RunObserver {
    /// Step `index` of `total` starts.
    fn step_started(&self, _step: &Step, _index: usize, _total: usize) {}
    /// A step ended.
    fn step_finished(&self, _report: &StepReport) {}
}

/// An observer that shows nothing.
pub struct Quiet;
impl RunObserver for Quiet {}

/// What an ingest's enforcement needs from the pre-flight decision.
struct ReadPlan {
    contract: Contract,
    /// The purpose the read serves.
    purpose: String,
    decision_id: i64,
    decision: Decision,
}

struct StepError {
    kind: FailureKind,
    message: String,
}

impl From<EngineError> for StepError {
    fn from(e: EngineError) -> Self {
        StepError {
            kind: FailureKind::Error,
            message: crate::redact_values(&e.to_string()),
        }
    }
}

fn denied(message: String) -> StepError {
    StepError {
        kind: FailureKind::Denied,
        message,
    }
}

/// Crash tests: with `CUSTODIA_FAILPOINT=<point>` a run stops dead at that point (it
/// writes `.custodia/failpoint-reached` and waits to be killed), so a test can `kill -9` it
/// exactly there. Points: `after_load:STEP` (rows committed to the table, the step not yet
/// journaled) and `after_step:STEP` (the step journaled).
pub(crate) fn failpoint(root: &Path, point: &str) {
    if std::env::var("CUSTODIA_FAILPOINT").is_ok_and(|p| p == point) {
        let _ = std::fs::write(root.join(".custodia/failpoint-reached"), point);
        loop {
            std::thread::sleep(std::time::Duration::from_secs(1));
        }
    }
}

fn df_err(step: &str, e: impl std::fmt::Display) -> EngineError {
    EngineError::Workspace(format!("step {step:?}: {e}"))
}

impl Workspace {
    /// Runs (or resumes) the pipeline in `file`. Errors in the file, missing contracts and
    /// unsupported steps are `Err` before anything is recorded; a denied read or a failed
    /// step is a failed run in the report, recorded and audited.
    pub async fn run_pipeline(
        &self,
        file: &Path,
        resume: Resume,
        observer: &dyn RunObserver,
    ) -> Result<RunReport, EngineError> {
        self.run_pipeline_with(
            file,
            &RunOptions {
                resume,
                openlineage_url: None,
            },
            observer,
        )
        .await
    }

    /// [`Workspace::run_pipeline`] with every option.
    pub async fn run_pipeline_with(
        &self,
        file: &Path,
        options: &RunOptions,
        observer: &dyn RunObserver,
    ) -> Result<RunReport, EngineError> {
        let resume = options.resume;
        let url = options.openlineage_url.as_deref();
        let mut warnings = Vec::new();
        let text = std::fs::read_to_string(file).map_err(|e| EngineError::io(file, e))?;
        let shown = file
            .strip_prefix(self.root())
            .unwrap_or(file)
            .display()
            .to_string();
        let pipeline = Pipeline::parse(&shown, &text)?;
        let digest = hex::encode(Sha256::digest(text.as_bytes()));
        let region = self.region(pipeline.region.as_ref().map(Region::as_str))?;
        let contracts = self.latest_contracts().await?;
        for step in &pipeline.steps {
            if let StepKind::Ingest { dataset, .. } | StepKind::Features { dataset, .. } =
                &step.kind
            {
                if !contracts.contains_key(dataset) {
                    return Err(EngineError::Workspace(format!(
                        "{shown}:{}: step {:?} reads dataset {dataset:?}, which has no registered contract; write contracts/{dataset}.yaml and run `custodia contract apply contracts/`",
                        step.line, step.id
                    )));
                }
            }
        }

        for step in &pipeline.steps {
            if let StepKind::Quality { .. } | StepKind::Deidentify { .. } = &step.kind {
                match governing_dataset(&pipeline, step) {
                    Some(d) if contracts.contains_key(&d) => {}
                    Some(d) => {
                        return Err(EngineError::Workspace(format!(
                            "{shown}:{}: step {:?} applies contract {d:?}, which is not registered; write contracts/{d}.yaml and run `custodia contract apply contracts/`",
                            step.line, step.id
                        )))
                    }
                    None => {
                        return Err(EngineError::Workspace(format!(
                            "{shown}:{}: step {:?} reads a step whose output no contract governs (a sql step); name the contract to apply with `contract:`",
                            step.line, step.id
                        )))
                    }
                }
            }
            if let StepKind::Snapshot { .. } = &step.kind {
                if governing_dataset(&pipeline, step).is_none() {
                    return Err(EngineError::Workspace(format!(
                        "{shown}:{}: snapshot step {:?} reads a step whose output no contract governs (a sql step), so who is in the snapshot cannot be known; make that step a features step with a contract that names its subject_key",
                        step.line, step.id
                    )));
                }
            }
        }

        // One run of a pipeline at a time in this workspace: a second one would resume the
        // same journal and write the same steps twice.
        let _lock = self.pipeline_lock(&pipeline.name)?;
        // Resume the unfinished run of this very file, or start one.
        let last = self.store().runs(Some(&pipeline.name), 1).await?;
        let (run_id, resumed) = match last.first() {
            Some(r)
                if resume == Resume::Auto
                    && r.status == "running"
                    && r.pipeline_digest == digest =>
            {
                (r.id.clone(), true)
            }
            other => {
                if let Some(r) = other.filter(|r| r.status == "running") {
                    self.store()
                        .run_finish(
                            &r.id,
                            "abandoned",
                            r#"{"reason":"superseded by a new run"}"#,
                        )
                        .await?;
                }
                let id = format!(
                    "{}-{}-{:04x}",
                    pipeline.name,
                    crate::audit_log::now_rfc3339().replace([':', '-'], ""),
                    rand::random::<u16>()
                );
                self.store().run_start(&id, &pipeline.name, &digest).await?;
                let start =
                    openlineage::start_event(&self.lineage_namespace(), &pipeline.name, &id);
                warnings.extend(self.emit_lineage(&id, &start, url).await?);
                let mut details = BTreeMap::new();
                details.insert("pipeline_digest".into(), digest.clone());
                details.insert("file".into(), shown.clone());
                self.record(vec![NewEntry {
                    action: "run.start".into(),
                    object: format!("run:{id}"),
                    subjects: vec![],
                    counts: BTreeMap::new(),
                    details,
                }])
                .await?;
                (id, false)
            }
        };
        let mut report = RunReport {
            run_id: run_id.clone(),
            pipeline: pipeline.name.clone(),
            resumed,
            status: "running".into(),
            steps: Vec::new(),
            failure: None,
            warnings,
        };

        match self
            .run_steps(
                &pipeline,
                &region,
                &contracts,
                &run_id,
                &mut report,
                observer,
            )
            .await
        {
            Ok(()) => report.status = "succeeded".into(),
            Err((step, e)) => {
                report.status = "failed".into();
                report.failure = Some(Failure {
                    step,
                    kind: e.kind,
                    message: e.message,
                });
            }
        }
        let summary = serde_json::to_string(&report).expect("reports serialise");
        self.store()
            .run_finish(&run_id, &report.status, &summary)
            .await?;
        let mut counts = BTreeMap::new();
        counts.insert("steps".into(), report.steps.len() as u64);
        let mut details = BTreeMap::new();
        if let Some(f) = &report.failure {
            details.insert("failed_step".into(), f.step.clone().unwrap_or_default());
            details.insert("reason".into(), f.message.clone());
        }
        self.record(vec![NewEntry {
            action: format!("run.{}", report.status),
            object: format!("run:{run_id}"),
            subjects: vec![],
            counts,
            details,
        }])
        .await?;
        let edges = self.store().run_lineage(&run_id).await?;
        let mut stats = BTreeMap::new();
        for s in &report.steps {
            if let Some((d, v)) = s.output.rsplit_once('@') {
                if let Some(v) = self
                    .store()
                    .dataset_version(d, v.parse().unwrap_or(0))
                    .await?
                {
                    stats.insert(s.output.clone(), parse_stats(&v.stats));
                }
            }
        }
        let end = openlineage::end_event(&openlineage::EventInput {
            namespace: &self.lineage_namespace(),
            report: &report,
            edges: &edges,
            stats: &stats,
        });
        if let Some(w) = self.emit_lineage(&run_id, &end, url).await? {
            report.warnings.push(w);
        }
        Ok(report)
    }

    pub(crate) async fn latest_contracts(&self) -> Result<HashMap<String, Contract>, EngineError> {
        let mut out = HashMap::new();
        for rec in self.store().contracts().await? {
            let c = Contract::parse(&format!("contract:{}", rec.name), &rec.body)?;
            out.insert(rec.name.clone(), c);
        }
        Ok(out)
    }

    async fn run_steps(
        &self,
        pipeline: &Pipeline,
        region: &Region,
        contracts: &HashMap<String, Contract>,
        run_id: &str,
        report: &mut RunReport,
        observer: &dyn RunObserver,
    ) -> Result<(), (Option<String>, StepError)> {
        // Pre-flight: every read decided (and recorded) before any step runs.
        let mut policy = self.policy().map_err(|e| (None, e.into()))?;
        let mut reads: HashMap<String, ReadPlan> = HashMap::new();
        for step in pipeline.order() {
            let dataset = match &step.kind {
                StepKind::Ingest { dataset, .. } => dataset.clone(),
                StepKind::Snapshot { .. } => governing_dataset(pipeline, step)
                    .expect("checked before the run: a snapshot's input is governed"),
                _ => continue,
            };
            let dataset = &dataset;
            let purpose = pipeline
                .purpose_of(step)
                .expect("validated: every read has a purpose");
            let rec = self
                .decide(
                    &mut policy,
                    read_input(dataset, purpose, region, pipeline.role.as_deref()),
                )
                .await
                .map_err(|e| (Some(step.id.clone()), e.into()))?;
            if !rec.decision.allow {
                return Err((
                    Some(step.id.clone()),
                    denied(format!(
                        "policy denies reading dataset {dataset:?} for purpose {purpose} in region {region} (decision {}; `custodia policy explain {}`): {}",
                        rec.id, rec.id, denials(&rec.decision)
                    )),
                ));
            }
            reads.insert(
                step.id.clone(),
                ReadPlan {
                    contract: contracts[dataset].clone(),
                    purpose: purpose.as_str().to_string(),
                    decision_id: rec.id,
                    decision: rec.decision,
                },
            );
        }

        let done: HashMap<String, StepReport> = self
            .store()
            .journal(run_id)
            .await
            .map_err(|e| (None, EngineError::from(e).into()))?
            .into_iter()
            .filter(|j| j.state == "done")
            .filter_map(|j| {
                serde_json::from_str::<StepReport>(&j.detail)
                    .ok()
                    .map(|r| (j.step, r))
            })
            .collect();
        let ctx = SessionContext::new();
        let dir = self.root().join(RUNS_DIR).join(run_id);
        let order = pipeline.order();
        let total = order.len();
        for (i, step) in order.into_iter().enumerate() {
            let at = |e: StepError| (Some(step.id.clone()), e);
            observer.step_started(step, i, total);
            if let Some(prev) = done.get(&step.id) {
                let mut prev = prev.clone();
                if prev.path.ends_with(".parquet") {
                    ctx.register_parquet(
                        &step.id,
                        self.root().join(&prev.path).display().to_string(),
                        ParquetReadOptions::default(),
                    )
                    .await
                    .map_err(|e| at(df_err(&step.id, e).into()))?;
                }
                prev.state = StepState::Resumed;
                prev.millis = 0;
                if prev.loaded.is_some() {
                    prev.loaded = Some(0);
                }
                observer.step_finished(&prev);
                report.steps.push(prev);
                continue;
            }
            let started = std::time::Instant::now();
            if let StepKind::Train { .. } = &step.kind {
                let mut t = self
                    .train_step(&ctx, pipeline, contracts, run_id, step, &report.steps)
                    .await
                    .map_err(at)?;
                t.millis = started.elapsed().as_millis() as u64;
                observer.step_finished(&t);
                report.steps.push(t);
                failpoint(self.root(), &format!("after_step:{}", step.id));
                continue;
            }
            if let StepKind::Quality { .. } = &step.kind {
                let input = step.needs.first().expect("validated: quality needs a step");
                let input = report
                    .steps
                    .iter()
                    .find(|s| &s.id == input)
                    .expect("inputs run first")
                    .clone();
                let contract = governing_dataset(pipeline, step)
                    .and_then(|d| contracts.get(&d))
                    .expect("checked before the run");
                let mut q = self
                    .quality_step(&ctx, contract, run_id, step, &input)
                    .await
                    .map_err(at)?;
                q.millis = started.elapsed().as_millis() as u64;
                observer.step_finished(&q);
                let blocked = q.quality.as_ref().filter(|r| r.blocked).map(|r| {
                    let mut why: Vec<String> = r
                        .failed()
                        .map(|c| {
                            format!(
                                "{}{}: {}",
                                c.check,
                                c.column
                                    .as_deref()
                                    .map(|c| format!(" on {c}"))
                                    .unwrap_or_default(),
                                c.detail
                            )
                        })
                        .collect();
                    why.extend(r.drift.iter().map(|d| {
                        format!(
                            "drift in {} ({} {:.3} ≥ {}): {}",
                            d.column, d.statistic, d.value, d.threshold, d.detail
                        )
                    }));
                    why.join("; ")
                });
                report.steps.push(q);
                if let Some(why) = blocked {
                    return Err(at(StepError {
                        kind: FailureKind::Quality,
                        message: format!(
                            "quality step {:?} blocks the run: {why}; fix the data upstream, or set on_failure: warn / drift: warn on the step",
                            step.id
                        ),
                    }));
                }
                failpoint(self.root(), &format!("after_step:{}", step.id));
                continue;
            }
            let step_report = self
                .run_step(
                    &ctx,
                    pipeline,
                    region,
                    contracts,
                    reads.get(&step.id),
                    run_id,
                    &dir,
                    step,
                    &report.steps,
                )
                .await
                .map_err(at)?;
            let mut step_report = step_report;
            step_report.millis = started.elapsed().as_millis() as u64;
            observer.step_finished(&step_report);
            report.steps.push(step_report);
            failpoint(self.root(), &format!("after_step:{}", step.id));
        }
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    async fn run_step(
        &self,
        ctx: &SessionContext,
        pipeline: &Pipeline,
        region: &Region,
        contracts: &HashMap<String, Contract>,
        read: Option<&ReadPlan>,
        run_id: &str,
        dir: &Path,
        step: &Step,
        done: &[StepReport],
    ) -> Result<StepReport, StepError> {
        let id = step.id.as_str();
        let output_of = |step_id: &str| {
            done.iter()
                .find(|s| s.id == step_id)
                .map(|s| s.output.clone())
        };
        let input_output = step.needs.first().and_then(|n| output_of(n));
        let mut enforcement = None;
        let mut loaded = None;
        let mut gate = None;
        let mut listing = Listing::RowsOnly;
        let mut transforms = Vec::new();
        let governing = governing_dataset(pipeline, step).and_then(|d| contracts.get(&d));
        let (frame, dataset) = match &step.kind {
            StepKind::Ingest { source, dataset } => {
                let read = read.expect("every ingest was decided");
                let frame = match source {
                    Source::Files(pattern) => read_files(ctx, self.root(), id, pattern).await?,
                    Source::Table { url, table } => {
                        let (schema, batches) = load::read_table(self.root(), url, table).await?;
                        let mem = datafusion::datasource::MemTable::try_new(schema, vec![batches])
                            .map_err(|e| df_err(id, e))?;
                        ctx.read_table(Arc::new(mem)).map_err(|e| df_err(id, e))?
                    }
                };
                let (frame, e, g) = self.enforce(id, frame, read).await?;
                enforcement = Some(e);
                gate = g;
                (frame, dataset.clone())
            }
            StepKind::Sql { sql } => (
                ctx.sql(sql).await.map_err(|e| df_err(id, e))?,
                format!("{}.{}", pipeline.name, id),
            ),
            StepKind::Features { sql, dataset } => {
                let frame = ctx.sql(sql).await.map_err(|e| df_err(id, e))?;
                check_declared(id, &frame, &contracts[dataset])?;
                (frame, dataset.clone())
            }
            StepKind::Deidentify { .. } => {
                let input = step.needs.first().expect("validated: needs a step");
                let frame = ctx.table(input.as_str()).await.map_err(|e| df_err(id, e))?;
                let contract = governing.expect("checked before the run");
                let (frame, applied) = self.deidentify_frame(id, frame, contract).await?;
                transforms = applied;
                (frame, format!("{}.{}", pipeline.name, id))
            }
            StepKind::Snapshot { name } => {
                let read = read.expect("every snapshot was decided");
                let input = step
                    .needs
                    .first()
                    .expect("validated: a snapshot needs a step");
                let frame = ctx.table(input.as_str()).await.map_err(|e| df_err(id, e))?;
                let (frame, e, g) = self
                    .snapshot_filter(id, frame, read, Listing::Subjects)
                    .await?;
                enforcement = Some(e);
                gate = g;
                listing = Listing::Subjects;
                (frame, format!("snapshots.{name}"))
            }
            StepKind::Load {
                target,
                table,
                mode,
            } => {
                let input = step.needs.first().expect("validated: load needs a step");
                let frame = ctx.table(input.as_str()).await.map_err(|e| df_err(id, e))?;
                let batches = frame.clone().collect().await.map_err(|e| df_err(id, e))?;
                let warehouse = format!("sqlite://{WAREHOUSE}");
                let url = match target {
                    LoadTarget::Warehouse => warehouse.as_str(),
                    LoadTarget::Database(url) => url.as_str(),
                };
                let n = load::load(
                    &load::LoadSpec {
                        root: self.root(),
                        url,
                        table,
                        mode: *mode,
                        run_id,
                        step: id,
                    },
                    frame.schema().as_arrow(),
                    &batches,
                )
                .await?;
                loaded = Some(n);
                failpoint(self.root(), &format!("after_load:{id}"));
                let name = match target {
                    LoadTarget::Warehouse => format!("warehouse.{table}"),
                    LoadTarget::Database(url) => format!("{}/{table}", load::shown(url)),
                };
                (frame, name)
            }
            _ => unreachable!("refused before the run"),
        };
        // Column lineage: (output column, input dataset, input column, how).
        let mut lineage: Vec<(String, String, String, String)> = Vec::new();
        match &step.kind {
            StepKind::Sql { .. } | StepKind::Features { .. } => {
                for (out, from) in lineage::column_lineage(frame.logical_plan()) {
                    for ((table, col), how) in from {
                        if let Some(v) = output_of(&table) {
                            lineage.push((out.clone(), v, col, how.as_str().to_string()));
                        }
                    }
                }
            }
            _ => {
                let source = match &step.kind {
                    StepKind::Ingest {
                        source: Source::Files(p),
                        ..
                    } => Some(format!("file:{p}")),
                    StepKind::Ingest {
                        source: Source::Table { url, table },
                        ..
                    } => Some(format!("{}/{table}", load::shown(url))),
                    _ => input_output.clone(),
                };
                if let Some(source) = source {
                    for f in frame.schema().fields() {
                        let c = f.name();
                        let how = if let Some(t) =
                            transforms.iter().find(|t| t.split(':').next() == Some(c))
                        {
                            format!("transform:{}", t.split(':').nth(1).unwrap_or(""))
                        } else if enforcement.as_ref().is_some_and(|e| e.masked.contains(c)) {
                            "transform:mask".into()
                        } else if enforcement
                            .as_ref()
                            .is_some_and(|e| e.pseudonymized.contains(c))
                        {
                            "transform:pseudonymize".into()
                        } else {
                            "identity".into()
                        };
                        lineage.push((c.clone(), source.clone(), c.clone(), how));
                    }
                }
            }
        }
        let personal = |c: &str| {
            governing
                .and_then(|g| g.column(c))
                .is_none_or(|col| col.classification >= Classification::L2)
        };
        let rel = PathBuf::from(RUNS_DIR)
            .join(run_id)
            .join(format!("{id}.parquet"));
        let path = dir.join(format!("{id}.parquet"));
        let scanned = output::scan_frame(frame, &path, &personal).await?;
        // A snapshot's manifest is written while its file is still being encoded and synced.
        let manifest = (listing == Listing::Subjects).then(|| {
            subjects::write_manifest(
                self.root(),
                &PathBuf::from(RUNS_DIR)
                    .join(run_id)
                    .join(format!("{id}.subjects.parquet")),
                &gate.as_ref().map(|g| g.kept()).unwrap_or_default(),
            )
        });
        let written = scanned.finish().await?;
        let manifest = manifest.transpose()?;
        // The output is the enforced read: what the row filter kept.
        if let Some(e) = enforcement.as_mut() {
            e.count(gate.as_deref(), written.stats.rows);
        }
        ctx.deregister_table(id).map_err(|e| df_err(id, e))?;
        ctx.register_parquet(
            id,
            path.display().to_string(),
            ParquetReadOptions::default(),
        )
        .await
        .map_err(|e| df_err(id, e))?;
        let data_region = governing
            .and_then(|c| c.region.clone())
            .unwrap_or_else(|| region.clone());
        let schema = parse_schema_json(&output::schema_json(&written.schema));
        let mut step_report = StepReport {
            id: id.to_string(),
            kind: step.kind.name().to_string(),
            state: StepState::Ran,
            rows: written.stats.rows,
            millis: 0,
            output: String::new(),
            content_hash: written.content_hash.clone(),
            path: rel.display().to_string(),
            schema,
            enforcement,
            loaded,
            manifest,
            transforms,
            quality: None,
            metrics: BTreeMap::new(),
        };
        // Every transform the key column went through, for discovery by identifier.
        let key_transforms: Vec<String> = step_report
            .transforms
            .iter()
            .cloned()
            .chain(step_report.enforcement.iter().flat_map(|e| {
                let masked = e.masked.iter().map(|c| format!("{c}:mask"));
                masked.chain(e.pseudonymized.iter().map(|c| format!("{c}:pseudonymize")))
            }))
            .collect();
        // The version, the journal entry and the audit entry commit together: a crash
        // before this leaves the step to redo, after it the step is done exactly once.
        let mut tx = self
            .store()
            .begin_write()
            .await
            .map_err(EngineError::from)?;
        let version = tx
            .record_dataset_version(&custodia_store::DatasetVersion {
                dataset: dataset.clone(),
                version: 0,
                content_hash: written.content_hash.clone(),
                row_count: written.stats.rows as i64,
                schema_json: output::schema_json(&written.schema),
                region: data_region.as_str().to_string(),
                path: step_report.path.clone(),
                run_id: Some(run_id.to_string()),
                created_us: 0,
                stats: serde_json::to_string(&written.stats).expect("stats serialise"),
                manifest: step_report
                    .manifest
                    .as_ref()
                    .map(|m| serde_json::to_string(m).expect("manifests serialise")),
                subjects: step_report.manifest.as_ref().map(|m| m.subjects as i64),
                subject_key: subjects::SubjectKey::of_output(
                    governing,
                    &written.schema,
                    &key_transforms,
                )
                .map(|k| k.to_json()),
                target: match &step.kind {
                    StepKind::Load { target, table, .. } => Some(
                        serde_json::json!({
                            "url": match target {
                                LoadTarget::Warehouse => format!("sqlite://{WAREHOUSE}"),
                                LoadTarget::Database(url) => url.clone(),
                            },
                            "table": table,
                        })
                        .to_string(),
                    ),
                    _ => None,
                },
            })
            .await
            .map_err(EngineError::from)?;
        step_report.output = format!("{dataset}@{version}");
        let edges: Vec<custodia_store::ColumnEdge> = lineage
            .into_iter()
            .map(|(out, input, col, how)| custodia_store::ColumnEdge {
                run_id: run_id.to_string(),
                step: id.to_string(),
                output_dataset: step_report.output.clone(),
                output_column: out,
                input_dataset: input,
                input_column: col,
                transform: how,
            })
            .collect();
        tx.record_lineage(&edges).await.map_err(EngineError::from)?;
        tx.journal_put(
            run_id,
            id,
            "done",
            &serde_json::to_string(&step_report).expect("reports serialise"),
        )
        .await
        .map_err(EngineError::from)?;
        let mut counts = BTreeMap::new();
        counts.insert("rows".into(), step_report.rows);
        if let Some(e) = &step_report.enforcement {
            counts.insert("rows_read".into(), e.rows_read);
            counts.insert("rows_filtered".into(), e.rows_filtered);
        }
        if let Some(n) = loaded {
            counts.insert("rows_loaded".into(), n);
        }
        if let Some(m) = &step_report.manifest {
            counts.insert("subjects".into(), m.subjects);
        }
        let mut details = BTreeMap::new();
        details.insert("step".into(), id.to_string());
        details.insert("kind".into(), step.kind.name().to_string());
        details.insert("output".into(), step_report.output.clone());
        details.insert("content_hash".into(), written.content_hash.clone());
        if let Some(e) = &step_report.enforcement {
            details.insert("decision".into(), e.decision_id.to_string());
        }
        self.commit_recorded(
            tx,
            vec![NewEntry {
                action: "run.step".into(),
                object: format!("run:{run_id}"),
                subjects: vec![],
                counts,
                details,
            }],
        )
        .await?;
        Ok(step_report)
    }

    /// Rewrites a read per its contract and decision: undeclared columns refused, the
    /// consent row filter as a join against the ledger, masks and pseudonyms. Row filters
    /// come first, so they join on the subject key before any pseudonym replaces it.
    async fn enforce(
        &self,
        id: &str,
        frame: DataFrame,
        read: &ReadPlan,
    ) -> Result<(DataFrame, Enforcement, Option<Arc<SubjectGate>>), StepError> {
        check_declared(id, &frame, &read.contract)?;
        let (mut frame, mut e, gate) = self
            .snapshot_filter(id, frame, read, Listing::RowsOnly)
            .await?;
        let mut pseudonymize = None;
        for o in &read.decision.obligations {
            match o {
                Obligation::Mask { column, .. } => {
                    let dt = frame
                        .schema()
                        .field_with_unqualified_name(column)
                        .map(|f| f.data_type().clone())
                        .unwrap_or(DataType::Utf8);
                    let null = ScalarValue::try_from(&dt).unwrap_or(ScalarValue::Utf8(None));
                    frame = frame
                        .with_column(column, Expr::Literal(null, None))
                        .map_err(|err| df_err(id, err))?;
                    e.masked.push(column.clone());
                }
                Obligation::Pseudonymize { column, .. } => {
                    let udf = pseudonymize.get_or_insert_with(|| {
                        let d = Arc::new(custodia_detect::Deidentifier::new(self.master()));
                        create_udf(
                            "custodia_pseudonymize",
                            vec![DataType::Utf8],
                            DataType::Utf8,
                            Volatility::Immutable,
                            Arc::new(move |args: &[ColumnarValue]| {
                                let arrays = ColumnarValue::values_to_arrays(args)?;
                                let s = cast(&arrays[0], &DataType::Utf8)?;
                                let s = s.as_string::<i32>();
                                let out: StringArray =
                                    s.iter().map(|v| v.map(|v| d.hash(v))).collect();
                                Ok(ColumnarValue::Array(Arc::new(out)))
                            }),
                        )
                    });
                    frame = frame
                        .with_column(
                            column,
                            udf.call(vec![datafusion::prelude::cast(
                                ident(column),
                                DataType::Utf8,
                            )]),
                        )
                        .map_err(|err| df_err(id, err))?;
                    e.pseudonymized.push(column.clone());
                }
                Obligation::RowFilter { .. } | Obligation::Audit { .. } => {}
            }
        }
        Ok((frame, e, gate))
    }

    /// Locks `pipeline` for this process until the returned file is dropped. The OS lets go
    /// when the process dies, kill -9 included, so a crashed run never leaves it held and
    /// the rerun resumes.
    fn pipeline_lock(&self, pipeline: &str) -> Result<std::fs::File, EngineError> {
        let dir = self.root().join(LOCKS_DIR);
        std::fs::create_dir_all(&dir).map_err(|e| EngineError::io(&dir, e))?;
        let path = dir.join(format!("{pipeline}.lock"));
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|e| EngineError::io(&path, e))?;
        match file.try_lock() {
            Ok(()) => Ok(file),
            Err(std::fs::TryLockError::WouldBlock) => Err(EngineError::Workspace(format!(
                "pipeline {pipeline:?} is already running in this workspace (another process holds {}); wait for it to finish, then run again (an unfinished run resumes)",
                path.strip_prefix(self.root()).unwrap_or(&path).display()
            ))),
            Err(std::fs::TryLockError::Error(e)) => Err(EngineError::io(&path, e)),
        }
    }

    /// Applies the decision's row filters (consent, opt-out) against the ledger as it
    /// stands now, as a gate in the scan (one pass, no join). The returned gate counts the
    /// rows read and lists who passed once the frame has run; there is none without a
    /// subject key, or for a read with no row filter whose subjects nobody lists.
    async fn snapshot_filter(
        &self,
        id: &str,
        frame: DataFrame,
        read: &ReadPlan,
        listing: Listing,
    ) -> Result<(DataFrame, Enforcement, Option<Arc<SubjectGate>>), StepError> {
        let mut e = Enforcement {
            decision_id: read.decision_id,
            ..Enforcement::default()
        };
        let frame = purpose_retention(id, frame, read, &mut e)?;
        let filters: Vec<(FilterKind, &str)> = read
            .decision
            .obligations
            .iter()
            .filter_map(|o| match o {
                Obligation::RowFilter {
                    filter: kind,
                    purpose: p,
                    ..
                } => Some((*kind, p.as_str())),
                _ => None,
            })
            .collect();
        let Some(key) = &read.contract.subject_key else {
            if let Some((kind, p)) = filters.first() {
                return Err(denied(format!(
                    "step {id:?}: the policy requires a {} row filter for purpose {p}, but contract {:?} has no subject_key to find each row's person by; add subject_key to the contract",
                    filter_name(*kind),
                    read.contract.dataset
                )));
            }
            return Ok((frame, e, None));
        };
        if frame.schema().field_with_unqualified_name(key).is_err() {
            return Err(StepError::from(EngineError::Workspace(format!(
                "step {id:?}: its input has no column {key:?}, the subject_key of contract {:?}; keep that column in the steps before it",
                read.contract.dataset
            ))));
        }
        // Subjects erased by a request are dropped from every read, whatever the policy:
        // an upstream copy must not bring them back.
        let region = self.contract_region(&read.contract);
        let suppressed = self
            .store()
            .suppressed_refs(region.as_str(), &read.purpose)
            .await
            .map_err(EngineError::from)?;
        if filters.is_empty() && listing == Listing::RowsOnly && suppressed.is_empty() {
            return Ok((frame, e, None));
        }
        let now = custodia_store::now_us();
        let mut ledgers: Vec<(FilterKind, crate::consent::ConsentAt)> = filters
            .iter()
            .map(|(kind, _)| *kind)
            .zip(
                futures::future::try_join_all(filters.iter().map(|(_, p)| self.consent_at(p, now)))
                    .await?,
            )
            .collect();
        let mut labels: Vec<String> = filters
            .iter()
            .map(|(kind, p)| format!("{}:{p}", filter_name(*kind)))
            .collect();
        if suppressed.iter().any(|(_, erased)| *erased) {
            labels.push("erased".into());
        }
        if suppressed.iter().any(|(_, erased)| !*erased) {
            labels.push("objection".into());
        }
        if !suppressed.is_empty() {
            ledgers.push((
                FilterKind::OptOut,
                crate::consent::ConsentAt::from_subjects(suppressed.into_iter().map(|(r, _)| {
                    custodia_store::SubjectConsent {
                        subject_ref: r,
                        granted: false,
                    }
                })),
            ));
        }
        if let Some(f) = e.row_filter.take() {
            labels.push(f);
        }
        if !labels.is_empty() {
            e.row_filter = Some(labels.join(","));
        }
        let gate = Arc::new(SubjectGate::new(
            subjects::subject_kind(&read.contract, key),
            self.ref_key(&region),
            ledgers,
        ));
        let frame = gate.apply(id, frame, key)?;
        Ok((frame, e, Some(gate)))
    }
}

/// A purpose's own, shorter retention (`purposes[].retention`) at read time: rows dated
/// (by the contract's `on_expiry.by` column) longer ago than that term are not used for
/// the purpose, though the dataset keeps them for others. Rows without a date stay.
fn purpose_retention(
    id: &str,
    frame: DataFrame,
    read: &ReadPlan,
    e: &mut Enforcement,
) -> Result<DataFrame, StepError> {
    // Before the gate, so a snapshot's manifest lists only who is left.
    let Some(by) = read.contract.on_expiry.by.as_deref() else {
        return Ok(frame);
    };
    let Some(days) = read
        .contract
        .purposes
        .iter()
        .find(|p| p.purpose.as_str() == read.purpose)
        .and_then(|p| p.retention)
        .map(|r| r.as_days())
    else {
        return Ok(frame);
    };
    if frame.schema().field_with_unqualified_name(by).is_err() {
        return Ok(frame);
    }
    let cutoff = custodia_store::now_us() - i64::from(days) * 86_400_000_000;
    let date = datafusion::prelude::cast(
        ident(by),
        DataType::Timestamp(arrow::datatypes::TimeUnit::Microsecond, None),
    );
    let keep = date
        .clone()
        .gt_eq(Expr::Literal(
            ScalarValue::TimestampMicrosecond(Some(cutoff), None),
            None,
        ))
        .or(date.is_null());
    let label = format!("retention:{}<{days}d", read.purpose);
    e.row_filter = Some(match e.row_filter.take() {
        Some(f) => format!("{f},{label}"),
        None => label,
    });
    Ok(frame.filter(keep).map_err(|err| df_err(id, err))?)
}

/// Whether a filtered read must also say who is in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Listing {
    /// A snapshot: its subject manifest lists them.
    Subjects,
    /// Any other read: only the row counts matter.
    RowsOnly,
}

/// A read of `dataset` for `purpose`, computed and stored in `region`, by `role`.
fn read_input(
    dataset: &str,
    purpose: &custodia_core::Purpose,
    region: &Region,
    role: Option<&str>,
) -> DecisionInput {
    DecisionInput {
        purpose: purpose.as_str().to_string(),
        dataset: custodia_policy::DatasetInput {
            name: dataset.to_string(),
            ..Default::default()
        },
        compute_region: Some(region.as_str().to_string()),
        storage_region: Some(region.as_str().to_string()),
        actor: custodia_policy::Actor {
            roles: role.iter().map(|r| r.to_string()).collect(),
            ..Default::default()
        },
        ..Default::default()
    }
}

/// A refusal's rules and fixes, for messages.
fn denials(d: &Decision) -> String {
    d.denials
        .iter()
        .map(|d| format!("{}: {}; fix: {}", d.rule, d.message, d.fix))
        .collect::<Vec<_>>()
        .join("; ")
}

/// The `name` of a `name@version` (a model output `model:NAME@V` keeps its prefix).
pub(crate) fn dataset_name(version: &str) -> &str {
    version.rsplit_once('@').map_or(version, |(n, _)| n)
}

impl Workspace {
    /// The region a contract's data lives in (the workspace's first when it names none).
    pub(super) fn contract_region(&self, contract: &Contract) -> Region {
        contract
            .region
            .clone()
            .unwrap_or_else(|| self.config().default_region().clone())
    }
}

fn filter_name(kind: FilterKind) -> &'static str {
    match kind {
        FilterKind::Consent => "consent",
        FilterKind::OptOut => "opt_out",
    }
}

/// The contract that governs a step's output: the dataset an ingest or features step
/// names, the contract a de-identification applies, or (for quality, load, snapshot) that
/// of its input. `sql` and `train` outputs have none.
fn governing_dataset(pipeline: &Pipeline, step: &Step) -> Option<String> {
    let input = || {
        step.needs
            .first()
            .and_then(|n| pipeline.steps.iter().find(|s| &s.id == n))
            .and_then(|s| governing_dataset(pipeline, s))
    };
    match &step.kind {
        StepKind::Ingest { dataset, .. } | StepKind::Features { dataset, .. } => {
            Some(dataset.clone())
        }
        StepKind::Deidentify { contract } => contract.clone().or_else(input),
        StepKind::Quality { .. } | StepKind::Load { .. } | StepKind::Snapshot { .. } => input(),
        StepKind::Sql { .. } | StepKind::Train { .. } => None,
    }
}

/// Refuses a frame with columns its contract does not declare (denied by default).
fn check_declared(id: &str, frame: &DataFrame, contract: &Contract) -> Result<(), StepError> {
    let undeclared: Vec<String> = frame
        .schema()
        .fields()
        .iter()
        .filter(|f| contract.column(f.name()).is_none())
        .map(|f| format!("{:?}", f.name()))
        .collect();
    if undeclared.is_empty() {
        Ok(())
    } else {
        Err(denied(format!(
            "step {id:?}: columns {} are not declared in contract {:?} and are denied by default; declare them in contracts/{}.yaml (then `custodia contract apply contracts/`) or leave them out of the step",
            undeclared.join(", "),
            contract.dataset,
            contract.dataset
        )))
    }
}

/// The schema of a set of CSV files: each file's inferred types, widened where files
/// disagree (integers and floats become floats, anything else text), so a glob of exports
/// where one file happens to hold only whole numbers still reads as one table.
fn csv_schema(
    root: &Path,
    id: &str,
    pattern: &str,
) -> Result<arrow::datatypes::Schema, EngineError> {
    use arrow::datatypes::{Field, Schema};
    let full = root.join(pattern).display().to_string();
    let paths: Vec<PathBuf> = glob::glob(&full)
        .map_err(|e| {
            EngineError::Workspace(format!(
                "step {id:?}: source {pattern:?} is not a valid glob: {e}"
            ))
        })?
        .filter_map(Result::ok)
        .filter(|p| p.is_file())
        .collect();
    if paths.is_empty() {
        return Err(EngineError::Workspace(format!(
            "step {id:?}: no file matches source {pattern:?} (relative to the workspace)"
        )));
    }
    let mut merged: Vec<Field> = Vec::new();
    for p in &paths {
        let file = std::fs::File::open(p).map_err(|e| EngineError::io(p, e))?;
        let (schema, _) = arrow::csv::reader::Format::default()
            .with_header(true)
            .infer_schema(file, Some(10_000))
            .map_err(|e| EngineError::data(p, e))?;
        if merged.is_empty() {
            merged = schema.fields().iter().map(|f| f.as_ref().clone()).collect();
            continue;
        }
        let names: Vec<&String> = schema.fields().iter().map(|f| f.name()).collect();
        let before: Vec<&String> = merged.iter().map(|f| f.name()).collect();
        if names != before {
            return Err(EngineError::Data {
                path: p.clone(),
                message: format!(
                    "its header ({} columns) differs from the first file's ({} columns); every file of source {pattern:?} needs the same columns in the same order",
                    names.len(),
                    before.len()
                ),
            });
        }
        for (m, f) in merged.iter_mut().zip(schema.fields()) {
            let (a, b) = (m.data_type(), f.data_type());
            let t = if a == b || b == &DataType::Null {
                a.clone()
            } else if a == &DataType::Null {
                b.clone()
            } else if (a.is_integer() || a.is_floating()) && (b.is_integer() || b.is_floating()) {
                DataType::Float64
            } else {
                DataType::Utf8
            };
            *m = Field::new(m.name(), t, true);
        }
    }
    Ok(Schema::new(merged))
}

async fn read_files(
    ctx: &SessionContext,
    root: &Path,
    id: &str,
    pattern: &str,
) -> Result<DataFrame, EngineError> {
    let path = root.join(pattern).display().to_string();
    let lower = pattern.to_ascii_lowercase();
    if lower.ends_with(".parquet") {
        ctx.read_parquet(path, ParquetReadOptions::default()).await
    } else if lower.ends_with(".jsonl") || lower.ends_with(".ndjson") {
        let ext = if lower.ends_with(".ndjson") { ".ndjson" } else { ".jsonl" };
        ctx.read_json(path, JsonReadOptions::default().file_extension(ext)).await
    } else if lower.ends_with(".csv") {
        let schema = csv_schema(root, id, pattern)?;
        ctx.read_csv(path, CsvReadOptions::new().schema(&schema))
            .await
    } else {
        return Err(EngineError::Workspace(format!(
            "step {id:?}: source {pattern:?} must end in .csv, .jsonl, .ndjson or .parquet (a file or a glob such as data/orders/*.csv)"
        )));
    }
    .map_err(|e| df_err(id, e))
}
