//! The model registry: versions registered by `train` steps, and promotion through the
//! model gate of `custodia check` (the card against policy and the training data's
//! contracts), with the artifact checked against its registered digest first.

use std::collections::BTreeMap;

use custodia_store::ModelVersion;

use crate::{
    audit_log::NewEntry,
    check::{Checker, Finding, Severity},
    workspace::Workspace,
    EngineError,
};

/// What a promotion did.
#[derive(Debug, Clone, PartialEq)]
pub enum Promotion {
    /// The version is now in production (the previous one archived).
    Promoted {
        /// `NAME@VERSION`.
        model: String,
        /// The version it replaced, if any.
        replaced: Option<i64>,
    },
    /// The gate refused it; nothing changed.
    Refused {
        /// `NAME@VERSION`.
        model: String,
        /// Why (rule, message, fix; no values).
        findings: Vec<Finding>,
    },
}

/// Parses `NAME@VERSION` (or `NAME`, the latest).
pub fn parse_model_ref(text: &str) -> Result<(String, Option<i64>), EngineError> {
    let bad = || {
        EngineError::Workspace(format!(
            "{text:?} is not a model reference; write NAME or NAME@VERSION, e.g. churn@3 (see `custodia models list`)"
        ))
    };
    match text.split_once('@') {
        Some((n, v)) if !n.is_empty() => Ok((n.to_string(), Some(v.parse().map_err(|_| bad())?))),
        Some(_) => Err(bad()),
        None if !text.is_empty() => Ok((text.to_string(), None)),
        None => Err(bad()),
    }
}

impl Workspace {
    /// A model version (`None` version: the latest).
    pub async fn model_version(
        &self,
        name: &str,
        version: Option<i64>,
    ) -> Result<ModelVersion, EngineError> {
        let versions = self.store().model_versions(name).await?;
        let found = match version {
            Some(v) => versions.into_iter().find(|m| m.version == v),
            None => versions.into_iter().last(),
        };
        found.ok_or_else(|| {
            EngineError::Workspace(format!(
                "no model {name}{}; see `custodia models list`",
                version.map(|v| format!("@{v}")).unwrap_or_default()
            ))
        })
    }

    /// Promotes a version to production if the artifact is the registered one and the
    /// model gate accepts its card.
    pub async fn promote_model(
        &self,
        name: &str,
        version: Option<i64>,
    ) -> Result<Promotion, EngineError> {
        let m = self.model_version(name, version).await?;
        let label = format!("{}@{}", m.model, m.version);
        let dir = self.root().join(&m.artifact);
        let sha = crate::run::digest_artifact(&dir)?;
        let mut findings = Vec::new();
        if sha != m.artifact_sha256 {
            findings.push(Finding {
                rule: "model.artifact_changed".into(),
                severity: Severity::Error,
                path: m.artifact.clone().into(),
                line: 0,
                column: 0,
                message: format!(
                    "the artifact's digest is {sha}, not the {} registered for {label}",
                    m.artifact_sha256
                ),
                fix:
                    "promote only what was trained and registered: retrain, or restore the artifact"
                        .into(),
            });
        } else {
            let mut checker = Checker::new(self.root())?;
            findings.extend(
                checker
                    .model_card(&dir.join("model_card.yaml"))
                    .into_iter()
                    .filter(|f| f.severity == Severity::Error),
            );
        }
        let mut details = BTreeMap::new();
        details.insert("model".into(), label.clone());
        details.insert("artifact_sha256".into(), m.artifact_sha256.clone());
        if !findings.is_empty() {
            details.insert(
                "rules".into(),
                findings
                    .iter()
                    .map(|f| f.rule.as_str())
                    .collect::<Vec<_>>()
                    .join(","),
            );
            self.record(vec![NewEntry {
                action: "model.promote_refused".into(),
                object: format!("model:{}", m.model),
                subjects: vec![],
                counts: BTreeMap::new(),
                details,
            }])
            .await?;
            return Ok(Promotion::Refused {
                model: label,
                findings,
            });
        }
        let replaced = self
            .store()
            .model_versions(&m.model)
            .await?
            .into_iter()
            .find(|v| v.stage == "production" && v.version != m.version)
            .map(|v| v.version);
        let mut tx = self.store().begin_write().await?;
        tx.promote_model(&m.model, m.version).await?;
        if let Some(r) = replaced {
            details.insert("replaced".into(), format!("{}@{r}", m.model));
        }
        self.commit_recorded(
            tx,
            vec![NewEntry {
                action: "model.promote".into(),
                object: format!("model:{}", m.model),
                subjects: vec![],
                counts: BTreeMap::new(),
                details,
            }],
        )
        .await?;
        Ok(Promotion::Promoted {
            model: label,
            replaced,
        })
    }
}
