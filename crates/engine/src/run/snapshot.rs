//! `custodia snapshot create`: a training snapshot of files outside a pipeline, by the same
//! code as a pipeline's `snapshot` step — the policy decides the read, the consent or
//! opt-out filter checks each subject against the ledger as it stands now, the rows stream to Parquet
//! and the subject manifest lists who is in it.

use std::{collections::BTreeMap, path::PathBuf};

use custodia_core::{Classification, Purpose};
use datafusion::prelude::SessionContext;
use serde::{Deserialize, Serialize};

use super::{output, subjects, Enforcement, Manifest, ReadPlan};
use crate::{audit_log::NewEntry, workspace::Workspace, EngineError};

/// Where snapshots made outside pipelines live, under the workspace.
pub const SNAPSHOTS_DIR: &str = ".custodia/snapshots";

/// What to snapshot.
#[derive(Debug, Clone)]
pub struct SnapshotRequest {
    /// Snapshot name (lower-case snake case).
    pub name: String,
    /// A CSV, JSONL or Parquet file or glob, relative to the workspace.
    pub source: String,
    /// The contract that governs the source.
    pub dataset: String,
    /// The purpose the snapshot serves.
    pub purpose: Purpose,
    /// The role it is made as.
    pub role: Option<String>,
}

/// A snapshot made.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SnapshotReport {
    /// `snapshots.NAME@VERSION`.
    pub version: String,
    /// The Parquet file, relative to the workspace.
    pub path: String,
    /// Rows in the snapshot.
    pub rows: u64,
    /// Content hash.
    pub content_hash: String,
    /// The decision and what the row filter did.
    pub enforcement: Enforcement,
    /// Who is in it.
    pub manifest: Manifest,
    /// Wall time (ms).
    pub millis: u64,
}

/// A snapshot request's outcome.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum SnapshotOutcome {
    /// Made.
    Created(Box<SnapshotReport>),
    /// The policy refused the read; nothing was written.
    Denied {
        /// The recorded decision (`custodia policy explain ID`).
        decision_id: i64,
        /// Rules and fixes.
        message: String,
    },
}

impl Workspace {
    /// Makes a training snapshot of `req.source` for `req.purpose`.
    pub async fn snapshot(&self, req: &SnapshotRequest) -> Result<SnapshotOutcome, EngineError> {
        let started = std::time::Instant::now();
        custodia_core::Purpose::new(&req.name).map_err(|_| {
            EngineError::Workspace(format!(
                "{:?} is not a snapshot name; use lower-case snake case, e.g. churn_training",
                req.name
            ))
        })?;
        let contracts = self.latest_contracts().await?;
        let contract = contracts.get(&req.dataset).ok_or_else(|| {
            EngineError::Workspace(format!(
                "dataset {:?} has no registered contract; write contracts/{}.yaml and run `custodia contract apply contracts/`",
                req.dataset, req.dataset
            ))
        })?;
        let region = self.contract_region(contract);
        let mut policy = self.policy()?;
        let rec = self
            .decide(
                &mut policy,
                super::read_input(&req.dataset, &req.purpose, &region, req.role.as_deref()),
            )
            .await?;
        if !rec.decision.allow {
            return Ok(SnapshotOutcome::Denied {
                decision_id: rec.id,
                message: super::denials(&rec.decision),
            });
        }
        let read = ReadPlan {
            contract: contract.clone(),
            purpose: req.purpose.as_str().to_string(),
            decision_id: rec.id,
            decision: rec.decision,
        };
        let ctx = SessionContext::new();
        let id = req.name.as_str();
        let frame = super::read_files(&ctx, self.root(), id, &req.source).await?;
        super::check_declared(id, &frame, contract).map_err(step_error)?;
        let (frame, mut enforcement, gate) = self
            .snapshot_filter(id, frame, &read, super::Listing::Subjects)
            .await
            .map_err(step_error)?;
        let stamp = format!(
            "{}-{:04x}",
            crate::audit_log::now_rfc3339().replace([':', '-'], ""),
            rand::random::<u16>()
        );
        let rel = PathBuf::from(SNAPSHOTS_DIR).join(&req.name);
        let path = self.root().join(&rel).join(format!("{stamp}.parquet"));
        let personal = |c: &str| {
            contract
                .column(c)
                .is_none_or(|col| col.classification >= Classification::L2)
        };
        let scanned = output::scan_frame(frame, &path, &personal).await?;
        // Every row has passed the gate: the manifest is written while the snapshot file
        // is still being encoded and synced.
        let manifest = subjects::write_manifest(
            self.root(),
            &rel.join(format!("{stamp}.subjects.parquet")),
            &gate.as_ref().map(|g| g.kept()).unwrap_or_default(),
        );
        let written = scanned.finish().await?;
        let manifest = manifest?;
        enforcement.count(gate.as_deref(), written.stats.rows);
        let dataset = format!("snapshots.{}", req.name);
        let file = rel.join(format!("{stamp}.parquet")).display().to_string();
        let mut tx = self.store().begin_write().await?;
        let version = tx
            .record_dataset_version(&custodia_store::DatasetVersion {
                dataset: dataset.clone(),
                version: 0,
                content_hash: written.content_hash.clone(),
                row_count: written.stats.rows as i64,
                schema_json: output::schema_json(&written.schema),
                region: region.as_str().to_string(),
                path: file.clone(),
                run_id: None,
                created_us: 0,
                stats: serde_json::to_string(&written.stats).expect("stats serialise"),
                manifest: Some(serde_json::to_string(&manifest).expect("manifests serialise")),
                subjects: Some(manifest.subjects as i64),
                subject_key: subjects::SubjectKey::of_output(Some(contract), &written.schema, &[])
                    .map(|k| k.to_json()),
                target: None,
            })
            .await?;
        let mut counts = BTreeMap::new();
        counts.insert("rows".into(), written.stats.rows);
        counts.insert("rows_read".into(), enforcement.rows_read);
        counts.insert("rows_filtered".into(), enforcement.rows_filtered);
        counts.insert("subjects".into(), manifest.subjects);
        let mut details = BTreeMap::new();
        details.insert("version".into(), format!("{dataset}@{version}"));
        details.insert("purpose".into(), req.purpose.as_str().to_string());
        details.insert("decision".into(), rec.id.to_string());
        details.insert("manifest_sha256".into(), manifest.sha256.clone());
        details.insert("content_hash".into(), written.content_hash.clone());
        self.commit_recorded(
            tx,
            vec![NewEntry {
                action: "snapshot.create".into(),
                object: format!("dataset:{dataset}"),
                subjects: vec![],
                counts,
                details,
            }],
        )
        .await?;
        Ok(SnapshotOutcome::Created(Box::new(SnapshotReport {
            version: format!("{dataset}@{version}"),
            path: file,
            rows: written.stats.rows,
            content_hash: written.content_hash,
            enforcement,
            manifest,
            millis: started.elapsed().as_millis() as u64,
        })))
    }

    /// Whether a subject is listed in a snapshot version's manifest (for access and
    /// erasure requests: "which training sets hold this person?").
    pub async fn snapshot_contains(
        &self,
        version: &custodia_store::DatasetVersion,
        subject: &custodia_core::SubjectRef,
    ) -> Result<bool, EngineError> {
        let Some(m) = version
            .manifest
            .as_deref()
            .and_then(|m| serde_json::from_str::<Manifest>(m).ok())
        else {
            return Ok(false);
        };
        let refs = subjects::read_manifest(&self.root().join(&m.path))?;
        let mut want = [0u8; 32];
        hex::decode_to_slice(subject.as_str(), &mut want)
            .map_err(|e| EngineError::Workspace(e.to_string()))?;
        Ok(refs.binary_search(&want).is_ok())
    }
}

fn step_error(e: super::StepError) -> EngineError {
    EngineError::Workspace(e.message)
}
