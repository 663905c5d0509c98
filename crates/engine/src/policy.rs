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
use sha2::{Digest, Sha256};

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
        let mut files = Vec::new();
        rego_files(&dir, &mut files)?;
        for p in files {
            let shown = p.strip_prefix(root).unwrap_or(&p).to_path_buf();
            let text = fs::read_to_string(&p).map_err(|e| EngineError::io(&p, e))?;
            rego.push(PolicyFile { path: shown, text });
        }
        let p = dir.join(PARAMS_FILE);
        if p.is_file() {
            let text = fs::read_to_string(&p).map_err(|e| EngineError::io(&p, e))?;
            let shown = p.strip_prefix(root).unwrap_or(&p).to_path_buf();
            params = Some(PolicyFile { path: shown, text });
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

/// Every `*.rego` under `dir`, subfolders included (hidden ones skipped), in path order.
fn rego_files(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), EngineError> {
    let mut entries: Vec<PathBuf> = fs::read_dir(dir)
        .map_err(|e| EngineError::io(dir, e))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            !p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with('.'))
        })
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            rego_files(&p, out)?;
        } else if p.extension().is_some_and(|x| x == "rego") {
            out.push(p);
        }
    }
    Ok(())
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

    /// Completes a request from the workspace. The dataset is always its registered
    /// contract: a request may name it only, never describe it (a description could claim
    /// purposes or columns the contract does not give). The actor defaults to this one; the
    /// time is now, since a recorded decision is made when it is recorded.
    pub async fn complete_input(&self, input: &mut DecisionInput) -> Result<(), EngineError> {
        let d = &input.dataset;
        if d.name.is_empty() {
            return Err(EngineError::Workspace(
                "the request names no dataset; give \"dataset\": {\"name\": \"<contract name>\"} (see custodia contract list)".into(),
            ));
        }
        if d.region.is_some() || !d.purposes.is_empty() || !d.columns.is_empty() {
            return Err(EngineError::Workspace(format!(
                "the request describes dataset {:?} itself; in a workspace the registered contract says what it is, so give only its name (\"dataset\": {{\"name\": {:?}}})",
                d.name, d.name
            )));
        }
        let versions = self.store().contract_versions(&d.name).await?;
        let Some(latest) = versions.last() else {
            return Err(EngineError::Workspace(format!(
                "dataset {:?} has no registered contract, so it may be used for nothing; write one and run `custodia contract apply contracts/`",
                d.name
            )));
        };
        let c = Contract::parse(&format!("contract:{}", d.name), &latest.body)?;
        input.dataset = dataset_input(&c);
        if input.actor.id.is_empty() {
            input.actor.id = self.actor().to_string();
        }
        if input.time.is_some() {
            return Err(EngineError::Workspace(
                "the request sets \"time\"; a recorded decision is made now, so drop it (to try another time, use `custodia policy eval --query` or evaluate outside a workspace)".into(),
            ));
        }
        input.time = Some(crate::audit_log::now_rfc3339());
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
        let entry = decision_entry(
            id,
            &input,
            &decision,
            policy.digest(),
            &record_digest(&input_json, &decision_json),
        );
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
        // The row must be the one the audit log recorded: the entry holds its digest.
        let index = rec.audit_index.ok_or_else(|| {
            EngineError::Workspace(format!(
                "decision {id} has no audit entry; the store was altered"
            ))
        })?;
        let rows = self.store().audit_rows(index, index + 1).await?;
        let entry = rows
            .first()
            .map(|r| custodia_audit::Entry::parse_canonical(r.body.as_bytes(), index as usize + 1))
            .transpose()?;
        let expected = entry
            .as_ref()
            .filter(|e| {
                e.action == "policy.decision" && e.details.get("decision") == Some(&id.to_string())
            })
            .and_then(|e| e.details.get("record").cloned());
        if expected.as_deref() != Some(record_digest(&rec.input, &rec.decision).as_str()) {
            return Err(EngineError::Tampered(format!(
                "decision {id} does not match audit entry {index} that recorded it: the stored request or outcome was altered; run `custodia audit export DIR` and `custodia audit verify` to check the log itself"
            )));
        }
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

/// Binds a stored decision row to its audit entry: SHA-256 over the request and outcome
/// as stored.
fn record_digest(input_json: &str, decision_json: &str) -> String {
    let mut h = Sha256::new();
    h.update(input_json.as_bytes());
    h.update(b"\n");
    h.update(decision_json.as_bytes());
    hex::encode(h.finalize())
}

fn decision_entry(
    id: i64,
    input: &DecisionInput,
    d: &Decision,
    digest: &str,
    record: &str,
) -> NewEntry {
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
    details.insert("record".to_string(), record.to_string());
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
