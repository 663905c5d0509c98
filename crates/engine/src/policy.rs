//! Policy in a workspace: the built-in bundle plus `policies/*.rego` and
//! `policies/params.json`, the `[[transfers]]` of `custodia.toml`, and every decision
//! recorded (store + audit log, one transaction) so `policy explain` can show it later.

use std::{
    collections::BTreeMap,
    fs,
    path::{Path, PathBuf},
};

use custodia_core::{config::WorkspaceConfig, Contract};
pub use custodia_policy::{Action, Actor, DatasetInput};
use custodia_policy::{
    ColumnInput, Decision, DecisionInput, Policy, PolicyFile, PolicySources, PurposeInput,
};
use custodia_store::{DecisionRecord, NewDecision};

use crate::{audit_log::NewEntry, workspace::Workspace, EngineError};

/// Where a workspace keeps its policies.
pub const POLICIES_DIR: &str = "policies";
/// The params override inside [`POLICIES_DIR`].
pub const PARAMS_FILE: &str = "params.json";

/// Reads a workspace's policy files and the config the rules see.
pub fn policy_sources(root: &Path, config: &WorkspaceConfig) -> Result<PolicySources, EngineError> {
    let dir = root.join(POLICIES_DIR);
    let mut rego = Vec::new();
    let mut params = None;
    if dir.is_dir() {
        let mut files: Vec<PathBuf> = fs::read_dir(&dir)
            .map_err(|e| EngineError::io(&dir, e))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.is_file())
            .collect();
        files.sort();
        for p in files {
            let shown = p.strip_prefix(root).unwrap_or(&p).to_path_buf();
            if p.extension().is_some_and(|x| x == "rego") {
                let text = fs::read_to_string(&p).map_err(|e| EngineError::io(&p, e))?;
                rego.push(PolicyFile { path: shown, text });
            } else if p.file_name().is_some_and(|n| n == PARAMS_FILE) {
                let text = fs::read_to_string(&p).map_err(|e| EngineError::io(&p, e))?;
                params = Some(PolicyFile { path: shown, text });
            }
        }
    }
    let transfers: Vec<serde_json::Value> = config
        .transfers
        .iter()
        .map(|t| {
            serde_json::json!({"from": t.from.as_str(), "to": t.to.as_str(), "mechanism": t.mechanism})
        })
        .collect();
    Ok(PolicySources {
        rego,
        params,
        config: serde_json::json!({ "transfers": transfers }),
    })
}

/// A contract as the policy sees a dataset.
pub fn dataset_input(contract: &Contract) -> DatasetInput {
    DatasetInput {
        name: contract.dataset.clone(),
        region: contract.region.as_ref().map(|r| r.as_str().to_string()),
        purposes: contract
            .purposes
            .iter()
            .map(|p| PurposeInput {
                name: p.purpose.as_str().to_string(),
                legal_basis: p.legal_basis.as_str().to_string(),
            })
            .collect(),
        columns: contract
            .columns
            .iter()
            .map(|c| ColumnInput {
                name: c.name.clone(),
                classification: c.classification.as_str().to_string(),
                entity: c.pii.map(|e| e.name().to_string()),
                transform: c.transform.as_ref().map(|t| t.name().to_string()),
            })
            .collect(),
    }
}

/// A decision as made and stored.
#[derive(Debug, Clone)]
pub struct RecordedDecision {
    /// Its id, for `custodia policy explain`.
    pub id: i64,
    /// The audit entry that records it.
    pub audit_index: u64,
    /// The request as decided (completed from the contract and the workspace).
    pub input: DecisionInput,
    /// The outcome.
    pub decision: Decision,
    /// Digest of the policy in force.
    pub policy_digest: String,
}

impl Workspace {
    /// The policy in force here. A bad policy file fails with its file:line.
    pub fn policy(&self) -> Result<Policy, EngineError> {
        Ok(Policy::load(&policy_sources(self.root(), self.config())?)?)
    }

    /// Completes a request from the workspace: the dataset from its registered contract
    /// (when the request names it only), the actor, the time.
    pub async fn complete_input(&self, input: &mut DecisionInput) -> Result<(), EngineError> {
        let d = &input.dataset;
        if !d.name.is_empty() && d.columns.is_empty() && d.purposes.is_empty() && d.region.is_none()
        {
            let versions = self.store().contract_versions(&d.name).await?;
            let Some(latest) = versions.last() else {
                return Err(EngineError::Workspace(format!(
                    "dataset {:?} has no registered contract, and the request does not describe it; register one (custodia contract apply) or give dataset.region, purposes and columns",
                    d.name
                )));
            };
            let c = Contract::parse(&format!("contract:{}", d.name), &latest.body)?;
            input.dataset = dataset_input(&c);
        }
        if input.actor.id.is_empty() {
            input.actor.id = self.actor().to_string();
        }
        if input.time.is_none() {
            input.time = Some(crate::audit_log::now_rfc3339());
        }
        Ok(())
    }

    /// Decides a request and records it: the decision row and its audit entry commit
    /// together. The entry carries names, rules and counts; the justification of a
    /// break-glass request is kept only if it holds no personal data.
    pub async fn decide(
        &self,
        policy: &mut Policy,
        mut input: DecisionInput,
    ) -> Result<RecordedDecision, EngineError> {
        self.complete_input(&mut input).await?;
        if let Some(bg) = &input.actor.break_glass {
            let found = crate::scan::pii_entities(&bg.justification);
            if !found.is_empty() {
                return Err(EngineError::Workspace(format!(
                    "the break-glass justification holds personal data ({}); it is kept in the audit log for good, so name the incident or ticket instead",
                    found.join(", ")
                )));
            }
        }
        let decision = policy.decide(&input)?;
        let input_json = serde_json::to_string(&input).expect("inputs serialise");
        let decision_json = serde_json::to_string(&decision).expect("decisions serialise");
        let mut tx = self.store().begin_write().await?;
        let id = tx
            .record_decision(NewDecision {
                decided_us: custodia_store::now_us(),
                allow: decision.allow,
                policy_digest: policy.digest(),
                input: &input_json,
                decision: &decision_json,
            })
            .await?;
        let entry = decision_entry(id, &input, &decision, policy.digest());
        let index = crate::audit_log::append_in(&mut tx, self.actor(), vec![entry])
            .await?
            .first()
            .copied()
            .expect("one entry appended");
        tx.link_decision(id, index).await?;
        tx.commit().await?;
        crate::audit_log::checkpoint(self).await?;
        Ok(RecordedDecision {
            id,
            audit_index: index,
            input,
            decision,
            policy_digest: policy.digest().to_string(),
        })
    }

    /// A recorded decision, by id.
    pub async fn explain(
        &self,
        id: i64,
    ) -> Result<(DecisionRecord, RecordedDecision), EngineError> {
        let Some(rec) = self.store().decision(id).await? else {
            return Err(EngineError::Workspace(format!(
                "no decision {id} in this workspace; decision ids are printed by `custodia policy eval` and in `custodia audit log` (policy.decision entries)"
            )));
        };
        let corrupt = |e: serde_json::Error| {
            EngineError::Workspace(format!(
                "decision {id} is stored in a form this version cannot read: {e}"
            ))
        };
        let input: DecisionInput = serde_json::from_str(&rec.input).map_err(corrupt)?;
        let decision: Decision = serde_json::from_str(&rec.decision).map_err(corrupt)?;
        let out = RecordedDecision {
            id,
            audit_index: rec.audit_index.unwrap_or_default(),
            input,
            decision,
            policy_digest: rec.policy_digest.clone(),
        };
        Ok((rec, out))
    }
}

fn decision_entry(id: i64, input: &DecisionInput, d: &Decision, digest: &str) -> NewEntry {
    let mut counts = BTreeMap::new();
    counts.insert("denials".to_string(), d.denials.len() as u64);
    counts.insert("obligations".to_string(), d.obligations.len() as u64);
    let mut details = BTreeMap::new();
    details.insert("decision".to_string(), id.to_string());
    details.insert("allow".to_string(), d.allow.to_string());
    details.insert("action".to_string(), input.action.as_str().to_string());
    details.insert("purpose".to_string(), input.purpose.clone());
    details.insert("roles".to_string(), d.roles.join(","));
    details.insert("policy".to_string(), digest.to_string());
    if !d.denials.is_empty() {
        details.insert(
            "denied_by".to_string(),
            d.denials
                .iter()
                .map(|x| x.rule.as_str())
                .collect::<Vec<_>>()
                .join(","),
        );
    }
    if let Some(bg) = &input.actor.break_glass {
        details.insert("break_glass".to_string(), bg.justification.clone());
    }
    NewEntry {
        action: "policy.decision".into(),
        object: format!("dataset:{}", input.dataset.name),
        subjects: vec![],
        counts,
        details,
    }
}
