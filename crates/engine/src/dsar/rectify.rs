//! Rectification: corrected values go into the subject's rows of every source file the
//! pipelines ingest, and the pipelines that read those files run again, so every step
//! downstream (de-identified tables, features, warehouse loads, snapshots, models) gets a
//! new version with the correction, with its transforms applied as the contract says.
//! The values themselves never reach the journal, the audit log or a report.

use std::collections::{BTreeMap, BTreeSet};

use custodia_core::{dsar::DsarKind, SubjectRef};
use serde::Serialize;

use super::{entry, erase::Matcher, hex32, targets, Discovery, Outcome, Place, Request};
use crate::{workspace::Workspace, EngineError};

/// What `dsar rectify` did.
#[derive(Debug, Clone, Serialize)]
pub struct RectifyReport {
    /// The request after it.
    pub request: Request,
    /// Each source file corrected and each pipeline rerun.
    pub outcomes: Vec<Outcome>,
    /// External targets that did not confirm.
    pub waiting: Vec<String>,
}

impl Workspace {
    /// Answers a rectification request with `changes` (column → corrected value).
    pub async fn dsar_rectify(
        &self,
        id: &str,
        changes: &BTreeMap<String, String>,
    ) -> Result<RectifyReport, EngineError> {
        if changes.is_empty() {
            return Err(EngineError::Workspace(format!(
                "give the corrected values: `custodia dsar rectify {id} --set COLUMN=VALUE`"
            )));
        }
        let (record, _) = self.dsar_start(id, &[DsarKind::Rectification]).await?;
        let subject = SubjectRef::parse(&record.subject_ref)?;
        let refs = self.refs_of(&record).await?;
        let ids = [self.identifier_of(&record).await?];
        let places = self.dsar_discover(&refs, &ids).await?;
        let discovery = Discovery { refs, places };
        let mut outcomes = Vec::new();
        let mut touched_sources = BTreeSet::new();
        for place in &discovery.places {
            let Place::Source {
                path,
                region,
                key,
                rows,
            } = place
            else {
                continue;
            };
            if changes.contains_key(&key.column) {
                return Err(EngineError::Workspace(format!(
                    "{:?} is the subject key of {path}: a new identifier is a new subject; erase the old one (`dsar open --type erasure`) and ingest the new",
                    key.column
                )));
            }
            if *rows == 0 {
                continue;
            }
            let file = self.root().join(path);
            let m = Matcher::new(
                key,
                self.ref_key(&self.region(Some(region))?),
                [hex32(&SubjectRef::parse(&discovery.refs[region])?)],
            )?;
            let (column, changes2) = (key.column.clone(), changes.clone());
            let (file2, m) = (file.clone(), m);
            let (rectified, columns) = tokio::task::spawn_blocking(move || {
                let mut table = crate::Table::read(&file2)?;
                let Some(k) = table.columns.iter().position(|c| *c == column) else {
                    return Ok((0, Vec::new()));
                };
                let hits: Vec<bool> = table
                    .column_values(k, usize::MAX)
                    .iter()
                    .map(|v| v.as_deref().is_some_and(|v| m.matches(v)))
                    .collect();
                let targets: Vec<(usize, String)> = table
                    .columns
                    .iter()
                    .enumerate()
                    .filter_map(|(i, c)| changes2.get(c).map(|v| (i, v.clone())))
                    .collect();
                if targets.is_empty() {
                    return Ok((0, Vec::new()));
                }
                let idx: Vec<usize> = targets.iter().map(|(i, _)| *i).collect();
                table.rewrite_columns(&idx, &|c, row, v| {
                    Ok(if hits[row] {
                        targets
                            .iter()
                            .find(|(i, _)| *i == c)
                            .map(|(_, new)| new.clone())
                            .unwrap_or_else(|| v.to_string())
                    } else {
                        v.to_string()
                    })
                })?;
                table.write(&file2)?;
                let names: Vec<String> = idx.iter().map(|i| table.columns[*i].clone()).collect();
                Ok::<_, EngineError>((hits.iter().filter(|h| **h).count() as u64, names))
            })
            .await
            .map_err(|e| EngineError::Workspace(format!("rectification: {e}")))??;
            if rectified == 0 {
                continue;
            }
            touched_sources.insert(path.clone());
            let location = place.location();
            let mut details = BTreeMap::new();
            details.insert("location".into(), location.clone());
            details.insert("action".into(), "rectified".into());
            details.insert("columns".into(), columns.join(","));
            let mut e = entry(id, "dsar.rectify", &subject, details);
            e.counts.insert("rows_rectified".into(), rectified);
            let index = self.record(vec![e]).await?;
            outcomes.push(Outcome {
                location,
                action: "rectified".into(),
                rows_removed: 0,
                detail: format!("{rectified} rows, columns {}", columns.join(", ")),
                audit_index: index.first().copied(),
            });
        }
        // The pipelines that ingest a corrected file run again (lineage says which).
        let edges = self.store().lineage_edges().await?;
        let mut pipelines = BTreeSet::new();
        for e in &edges {
            let Some(pattern) = e.input_dataset.strip_prefix("file:") else {
                continue;
            };
            let full = self.root().join(pattern).display().to_string();
            let matched = glob::Pattern::new(&full).is_ok_and(|p| {
                touched_sources
                    .iter()
                    .any(|s| p.matches_path(&self.root().join(s)))
            });
            if matched {
                if let Some(run) = self.store().run(&e.run_id).await? {
                    pipelines.insert(run.pipeline);
                }
            }
        }
        for name in pipelines {
            let Some(file) = self.pipeline_file(&name)? else {
                outcomes.push(Outcome {
                    location: format!("pipeline:{name}"),
                    action: "not_rerun".into(),
                    rows_removed: 0,
                    detail: "no file under pipelines/ runs it; run it to carry the correction downstream".into(),
                    audit_index: None,
                });
                continue;
            };
            let report = self
                .run_pipeline(&file, crate::run::Resume::Fresh, &crate::run::Quiet)
                .await?;
            let mut details = BTreeMap::new();
            details.insert("location".into(), format!("pipeline:{name}"));
            details.insert("action".into(), "rerun".into());
            details.insert("run".into(), report.run_id.clone());
            details.insert("status".into(), report.status.clone());
            let index = self
                .record(vec![entry(id, "dsar.rectify", &subject, details)])
                .await?;
            outcomes.push(Outcome {
                location: format!("pipeline:{name}"),
                action: "rerun".into(),
                rows_removed: 0,
                detail: format!(
                    "run {} {}: {} steps",
                    report.run_id,
                    report.status,
                    report.steps.len()
                ),
                audit_index: index.first().copied(),
            });
        }
        let called = self
            .dsar_targets(&record, &discovery, &subject, Some(changes))
            .await?;
        let waiting = targets::unconfirmed(&called);
        outcomes.extend(called.into_iter().map(|(_, o)| o));
        let mut details = BTreeMap::new();
        details.insert(
            "columns".into(),
            changes.keys().cloned().collect::<Vec<_>>().join(","),
        );
        let request = self
            .dsar_complete(
                id,
                &waiting,
                serde_json::json!({
                    "columns": changes.keys().collect::<Vec<_>>(),
                    "locations": outcomes.iter().map(|o| &o.location).collect::<Vec<_>>(),
                }),
                details,
            )
            .await?;
        Ok(RectifyReport {
            request,
            outcomes,
            waiting,
        })
    }
}
