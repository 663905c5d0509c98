//! Data subject requests: opening one (with its statutory deadline), verifying the
//! person's identity, extending or rejecting, and running it. Every state change is an
//! audit entry about the subject's ref; the work of a run is journaled under the request's
//! id, so a run cut off at any point (kill -9 included) finishes on the next `dsar run`
//! with nothing done twice.
//!
//! Erasure: discovery (every dataset version, snapshot, warehouse table and model that
//! holds the subject, found through each version's subject key or, for older versions,
//! column lineage) is journaled first with the subject's ref in every region, so later
//! steps need no identifier. Then each file holding the subject is rewritten without
//! their rows, tables lose their rows, models trained on them are flagged, their data key
//! is shredded, and a signed certificate with inclusion proofs closes the request.

pub mod certificate;
pub(crate) mod erase;
mod export;
mod rectify;
mod targets;

use std::{collections::BTreeMap, path::PathBuf, sync::Arc};

use custodia_core::{
    dsar::{ConfiguredTerms, DsarKind, DsarState, Extension, Jurisdiction},
    Region, SubjectId, SubjectKind, SubjectRef,
};
use custodia_store::{DsarRecord, DsarUpdate, SubjectKeyLookup};
use serde::{Deserialize, Serialize};

use crate::{
    audit_log::{self, NewEntry},
    run::{subjects::SubjectKey, Manifest},
    workspace::Workspace,
    EngineError,
};

pub use certificate::{verify_certificate, CertificateCheck};
pub use erase::{erase_from_files, FileErasure};
pub use export::ExportReport;
pub use rectify::RectifyReport;
pub use targets::TargetStatus;

/// Where request outputs (certificates, export packages) are written.
pub const DSAR_DIR: &str = ".custodia/dsar";

/// What `custodia dsar open` asks for.
#[derive(Debug, Clone)]
pub struct OpenRequest {
    /// Access, portability, erasure, rectification or objection.
    pub kind: DsarKind,
    /// The identifier the person gave.
    pub subject: SubjectId,
    /// The law the request is answered under (sets the deadline).
    pub jurisdiction: Jurisdiction,
    /// The region whose keys make the subject's ref (default: the workspace's first).
    pub region: Option<Region>,
    /// When it was received (µs; default now): the deadline runs from receipt.
    pub received_us: Option<i64>,
}

/// A request as commands show it.
#[derive(Debug, Clone, Serialize)]
pub struct Request {
    /// Request id.
    pub id: String,
    /// What the person asked for.
    pub kind: DsarKind,
    /// The law it is answered under.
    pub jurisdiction: Jurisdiction,
    /// Region of the subject's ref.
    pub region: String,
    /// The subject's ref (never the identifier).
    pub subject: String,
    /// Kind of identifier given.
    pub subject_kind: String,
    /// Current state.
    pub state: DsarState,
    /// Received (µs).
    pub received_us: i64,
    /// Deadline (µs, end of the due day, UTC).
    pub due_us: i64,
    /// When extended.
    pub extended_us: Option<i64>,
    /// When closed.
    pub closed_us: Option<i64>,
    /// Outcome (counts, certificate path).
    pub result: serde_json::Value,
}

impl Request {
    fn of(r: DsarRecord) -> Result<Request, EngineError> {
        Ok(Request {
            kind: DsarKind::parse(&r.kind)?,
            jurisdiction: Jurisdiction::parse(&r.jurisdiction)?,
            state: DsarState::parse(&r.state)?,
            result: serde_json::from_str(&r.result).unwrap_or(serde_json::Value::Null),
            id: r.id,
            region: r.region,
            subject: r.subject_ref,
            subject_kind: r.subject_kind,
            received_us: r.received_us,
            due_us: r.due_us,
            extended_us: r.extended_us,
            closed_us: r.closed_us,
        })
    }
}

/// One step of a request's journal, as `dsar show` lists it.
#[derive(Debug, Clone, Serialize)]
pub struct Step {
    /// Step name (`verify`, `discover`, `erase:3`, `certificate`).
    pub step: String,
    /// `started`, `staged`, `done`.
    pub state: String,
    /// What it did (JSON: location, action, counts).
    pub detail: serde_json::Value,
}

/// One place the subject was looked for, and what erasure did there.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outcome {
    /// `dataset:orders@2 (file)`, `table:sqlite://…/t`, `model:churn@1`, `key:eu`.
    pub location: String,
    /// `rewritten`, `deleted`, `absent`, `flagged`, `shredded`, `not_searchable`.
    pub action: String,
    /// Rows of the subject removed.
    pub rows_removed: u64,
    /// Content hash after the rewrite, or why nothing could be done.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub detail: String,
    /// The audit entry that records it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audit_index: Option<u64>,
}

/// A place discovery found, with the subject's rows there at that moment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Place {
    /// A Parquet file of a dataset version (a snapshot's carries its manifest).
    File {
        /// Dataset name.
        dataset: String,
        /// Version.
        version: i64,
        /// The file, relative to the workspace.
        path: String,
        /// Region of the version (whose ref to match).
        region: String,
        /// The subject key column.
        key: SubjectKey,
        /// A snapshot's subject manifest file (relative).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        manifest: Option<String>,
        /// Rows of the subject found.
        rows: u64,
    },
    /// A warehouse or database table a load wrote.
    Table {
        /// Database URL (no password).
        url: String,
        /// Table.
        table: String,
        /// Region of the loaded data.
        region: String,
        /// The subject key column.
        key: SubjectKey,
        /// Rows of the subject found.
        rows: u64,
    },
    /// A source file in the workspace a pipeline ingests (CSV, JSONL or Parquet).
    Source {
        /// The file, relative to the workspace.
        path: String,
        /// Region of the data ingested from it.
        region: String,
        /// The subject key column.
        key: SubjectKey,
        /// Rows of the subject found.
        rows: u64,
    },
    /// A database table a pipeline ingests but Custodia does not own.
    Upstream {
        /// `scheme://host/db/table` (no credentials).
        source: String,
    },
    /// A model version whose training manifest lists the subject.
    Model {
        /// Model name.
        model: String,
        /// Version.
        version: i64,
    },
    /// A version whose rows cannot be matched to a person.
    Unsearchable {
        /// `name@version`.
        version: String,
        /// Why.
        reason: String,
    },
    /// The subject's data key in a region.
    Key {
        /// Region.
        region: String,
    },
}

impl Place {
    /// The location as certificates and reports name it.
    pub fn location(&self) -> String {
        match self {
            Place::File {
                dataset,
                version,
                path,
                ..
            } => format!("dataset:{dataset}@{version} ({path})"),
            Place::Table { url, table, .. } => {
                format!("table:{}/{table}", crate::run::load::shown(url))
            }
            Place::Source { path, .. } => format!("source:{path}"),
            Place::Upstream { source } => format!("upstream:{source}"),
            Place::Model { model, version } => format!("model:{model}@{version}"),
            Place::Unsearchable { version, .. } => format!("dataset:{version}"),
            Place::Key { region } => format!("key:{region}"),
        }
    }

    /// Rows of the subject found there at discovery (models and keys count one).
    pub fn rows(&self) -> u64 {
        match self {
            Place::File { rows, .. } | Place::Table { rows, .. } | Place::Source { rows, .. } => {
                *rows
            }
            Place::Model { .. } | Place::Key { .. } => 1,
            Place::Unsearchable { .. } | Place::Upstream { .. } => 0,
        }
    }
}

/// What discovery found for a subject: their ref in each region and every place checked.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Discovery {
    /// The subject's ref per region.
    pub refs: BTreeMap<String, String>,
    /// Every place checked, holding the subject or not.
    pub places: Vec<Place>,
}

/// What `dsar run` did.
#[derive(Debug, Clone, Serialize)]
pub struct RunOutcome {
    /// The request after the run.
    pub request: Request,
    /// Each place and what was done there.
    pub outcomes: Vec<Outcome>,
    /// The signed certificate (erasure), relative to the workspace; none while a target
    /// has not confirmed.
    pub certificate: Option<String>,
    /// External targets that did not confirm in this run (run it again to retry them).
    pub waiting: Vec<String>,
}

fn hex32(r: &SubjectRef) -> [u8; 32] {
    let mut b = [0u8; 32];
    hex::decode_to_slice(r.as_str(), &mut b).expect("refs are 64 hex digits");
    b
}

fn reason_text(what: &str, reason: &str) -> Result<String, EngineError> {
    let reason = reason.trim();
    if reason.is_empty() {
        return Err(EngineError::Workspace(format!(
            "give a {what} reason (--reason \"complex request: 14 systems\"); it goes to the audit log"
        )));
    }
    let found = crate::scan::pii_entities(reason);
    if !found.is_empty() {
        return Err(EngineError::Workspace(format!(
            "the {what} reason holds personal data ({}); it is kept in the audit log for good, so describe the reason without it",
            found.join(", ")
        )));
    }
    Ok(reason.to_string())
}

impl Workspace {
    fn terms(&self) -> ConfiguredTerms {
        ConfiguredTerms {
            pipl_days: self.config().dsar.pipl_days,
        }
    }

    /// Opens a request: its deadline under the jurisdiction, the subject known by ref,
    /// the identifier kept only encrypted under the subject's own key.
    pub async fn dsar_open(&self, req: &OpenRequest) -> Result<Request, EngineError> {
        let region = match &req.region {
            Some(r) => self.region(Some(r.as_str()))?,
            None => self.config().default_region().clone(),
        };
        let subject = self.subject_ref(&req.subject, &region);
        let identifier = match self.subject_key_or_create(&region, &subject).await {
            Ok(key) => key.encrypt(req.subject.canonical()),
            Err(EngineError::Store(custodia_store::StoreError::Shredded { .. })) => {
                "shredded".to_string()
            }
            Err(e) => return Err(e),
        };
        let now = custodia_store::now_us();
        let received_us = req.received_us.unwrap_or(now);
        if received_us > now + 60_000_000 {
            return Err(EngineError::Workspace(
                "--received is in the future; give the time the request reached you".into(),
            ));
        }
        let due_us = req
            .jurisdiction
            .due(received_us, Extension::None, &self.terms());
        let id = format!(
            "dsar-{}-{:06x}",
            &custodia_core::time::format_rfc3339(received_us)[..10].replace('-', ""),
            rand::random::<u32>() & 0xff_ffff
        );
        let record = DsarRecord {
            id: id.clone(),
            kind: req.kind.as_str().into(),
            jurisdiction: req.jurisdiction.as_str().into(),
            region: region.as_str().into(),
            subject_ref: subject.as_str().into(),
            subject_kind: req.subject.kind().as_str().into(),
            identifier,
            state: DsarState::Received.as_str().into(),
            received_us,
            due_us,
            extended_us: None,
            updated_us: 0,
            closed_us: None,
            result: "{}".into(),
        };
        let mut tx = self.store().begin_write().await?;
        tx.dsar_insert(&record).await?;
        let mut details = BTreeMap::new();
        details.insert("kind".into(), req.kind.as_str().into());
        details.insert("jurisdiction".into(), req.jurisdiction.as_str().into());
        details.insert(
            "received".into(),
            custodia_core::time::format_rfc3339(received_us),
        );
        details.insert("due".into(), custodia_core::time::format_rfc3339(due_us));
        self.commit_recorded(tx, vec![entry(&id, "dsar.open", &subject, details)])
            .await?;
        self.dsar(&id).await
    }

    /// One request.
    pub async fn dsar(&self, id: &str) -> Result<Request, EngineError> {
        Request::of(self.store().dsar(id).await?)
    }

    /// Open requests by deadline (all with `all`).
    pub async fn dsar_list(&self, all: bool) -> Result<Vec<Request>, EngineError> {
        self.store()
            .dsars(all)
            .await?
            .into_iter()
            .map(Request::of)
            .collect()
    }

    /// A request's journal.
    pub async fn dsar_steps(&self, id: &str) -> Result<Vec<Step>, EngineError> {
        Ok(self
            .store()
            .journal(id)
            .await?
            .into_iter()
            .map(|s| Step {
                detail: serde_json::from_str(&s.detail).unwrap_or(serde_json::Value::Null),
                step: s.step,
                state: s.state,
            })
            .collect())
    }

    /// Moves a request to `next` (checked against the state machine) with an audit entry.
    async fn dsar_move(
        &self,
        id: &str,
        next: DsarState,
        mut update: DsarUpdate,
        action: &str,
        details: BTreeMap<String, String>,
    ) -> Result<Request, EngineError> {
        let mut tx = self.store().begin_write().await?;
        let current = tx.dsar(id).await?;
        let state = DsarState::parse(&current.state)?;
        if state != next && !state.may_move_to(next) {
            return Err(EngineError::Workspace(format!(
                "request {id} is {state} and cannot become {next}{}",
                match state {
                    DsarState::Received => "; verify the person's identity first: `custodia dsar verify ID --method METHOD`",
                    DsarState::Completed | DsarState::Rejected => "; it is closed",
                    _ => "",
                }
            )));
        }
        update.state = Some(next.as_str().into());
        update.closed |= next.is_closed();
        tx.dsar_update(id, &update).await?;
        let subject = SubjectRef::parse(&current.subject_ref)?;
        self.commit_recorded(tx, vec![entry(id, action, &subject, details)])
            .await?;
        self.dsar(id).await
    }

    /// Closes a request as completed with its outcome (`dsar.complete`), unless an external
    /// target has not confirmed yet: then it stays in progress and is returned as it is.
    async fn dsar_complete(
        &self,
        id: &str,
        waiting: &[String],
        result: serde_json::Value,
        details: BTreeMap<String, String>,
    ) -> Result<Request, EngineError> {
        if !waiting.is_empty() {
            return self.dsar(id).await;
        }
        self.dsar_move(
            id,
            DsarState::Completed,
            DsarUpdate {
                result: Some(result.to_string()),
                ..DsarUpdate::default()
            },
            "dsar.complete",
            details,
        )
        .await
    }

    /// Records that the person's identity was verified, and how (`email_link`,
    /// `account_login`, `id_document`…: a method name, never the evidence itself).
    pub async fn dsar_verify(&self, id: &str, method: &str) -> Result<Request, EngineError> {
        if custodia_core::Purpose::new(method).is_err() {
            return Err(EngineError::Workspace(format!(
                "{method:?} is not a verification method name; use lower-case snake case such as email_link, account_login or id_document"
            )));
        }
        let mut details = BTreeMap::new();
        details.insert("method".into(), method.to_string());
        let r = self
            .dsar_move(
                id,
                DsarState::Verified,
                DsarUpdate::default(),
                "dsar.verify",
                details,
            )
            .await?;
        self.store()
            .journal_put(
                id,
                "verify",
                "done",
                &serde_json::json!({ "method": method }).to_string(),
            )
            .await?;
        Ok(r)
    }

    /// Extends the deadline once, where the law allows it, for a stated reason.
    pub async fn dsar_extend(&self, id: &str, reason: &str) -> Result<Request, EngineError> {
        let reason = reason_text("extension", reason)?;
        let r = self.dsar(id).await?;
        let deadline = r.jurisdiction.deadline(&self.terms());
        let Some(more) = deadline.extension else {
            return Err(EngineError::Workspace(format!(
                "the {} allows no extension: request {id} is due {}",
                r.jurisdiction.law(),
                custodia_core::time::format_rfc3339(r.due_us)
            )));
        };
        let now = custodia_store::now_us();
        if now > r.due_us {
            return Err(EngineError::Workspace(format!(
                "the term of request {id} ended {} days ago (`custodia dsar show {id}`); the {} lets a controller extend only within it (and tell the person why); answer the request now",
                (now - r.due_us) / 86_400_000_000,
                r.jurisdiction.law()
            )));
        }
        if r.extended_us.is_some() {
            return Err(EngineError::Workspace(format!(
                "request {id} was already extended once (the {} allows one extension of {more}); it is due {}",
                r.jurisdiction.law(),
                custodia_core::time::format_rfc3339(r.due_us)
            )));
        }
        let due = r
            .jurisdiction
            .due(r.received_us, Extension::Granted, &self.terms());
        let mut details = BTreeMap::new();
        details.insert("reason".into(), reason);
        details.insert("due".into(), custodia_core::time::format_rfc3339(due));
        self.dsar_move(
            id,
            DsarState::Extended,
            DsarUpdate {
                due_us: Some(due),
                extended: true,
                ..DsarUpdate::default()
            },
            "dsar.extend",
            details,
        )
        .await
    }

    /// Rejects a request (identity not verified, manifestly unfounded…) for a reason.
    pub async fn dsar_reject(&self, id: &str, reason: &str) -> Result<Request, EngineError> {
        let reason = reason_text("rejection", reason)?;
        let mut details = BTreeMap::new();
        details.insert("reason".into(), reason.clone());
        self.dsar_move(
            id,
            DsarState::Rejected,
            DsarUpdate {
                result: Some(serde_json::json!({ "rejected": reason }).to_string()),
                ..DsarUpdate::default()
            },
            "dsar.reject",
            details,
        )
        .await
    }

    /// The subject's ref in every configured region, from the identifier kept (encrypted)
    /// with the request.
    async fn refs_of(&self, r: &DsarRecord) -> Result<BTreeMap<String, String>, EngineError> {
        let id = self.identifier_of(r).await?;
        Ok(self
            .config()
            .regions
            .iter()
            .map(|g| {
                (
                    g.as_str().to_string(),
                    self.subject_ref(&id, g).as_str().to_string(),
                )
            })
            .collect())
    }

    /// The identifier the person gave, decrypted with their data key (gone once shredded).
    async fn identifier_of(&self, r: &DsarRecord) -> Result<SubjectId, EngineError> {
        let region = self.region(Some(&r.region))?;
        let subject = SubjectRef::parse(&r.subject_ref)?;
        let key = self.subject_key(&region, &subject).await?.map_err(|why| {
            EngineError::Workspace(format!(
                "the identifier of request {} cannot be read ({why:?}): the subject's key is gone, so the request cannot be run",
                r.id
            ))
        })?;
        let canonical = key.decrypt_token(&r.identifier).ok_or_else(|| {
            EngineError::Tampered(format!(
                "the stored identifier of request {} does not decrypt under its subject's key",
                r.id
            ))
        })?;
        Ok(SubjectId::new(
            SubjectKind::parse(&r.subject_kind)?,
            &canonical,
        )?)
    }

    /// Calls every external target the request's kind involves, once each until it
    /// confirms (a target that confirmed in an earlier run is not called again).
    async fn dsar_targets(
        &self,
        record: &DsarRecord,
        discovery: &Discovery,
        subject: &SubjectRef,
        changes: Option<&BTreeMap<String, String>>,
    ) -> Result<Vec<(targets::TargetStatus, Outcome)>, EngineError> {
        let kind = DsarKind::parse(&record.kind)?;
        let mut out = Vec::new();
        for target in self
            .config()
            .dsar
            .targets
            .iter()
            .filter(|t| t.kinds.contains(&kind))
        {
            let step = format!("target:{}", target.name);
            let prior = self
                .store()
                .journal(&record.id)
                .await?
                .into_iter()
                .find(|s| s.step == step)
                .and_then(|s| {
                    serde_json::from_str::<(targets::TargetStatus, Outcome)>(&s.detail).ok()
                });
            if let Some(done) = prior.clone().filter(|(t, _)| t.ok) {
                out.push(done);
                continue;
            }
            let before = prior.map_or(0, |(t, _)| t.attempts);
            let mut body = serde_json::json!({
                "request": record.id,
                "type": record.kind,
                "jurisdiction": record.jurisdiction,
                "due": custodia_core::time::format_rfc3339(record.due_us),
                "subject_ref": record.subject_ref,
                "subject_refs": discovery.refs,
            });
            let status = if target.send == custodia_core::config::SendSubject::Identifier {
                match self.identifier_of(record).await {
                    Ok(i) => {
                        body["identifier"] =
                            serde_json::json!({ "kind": i.kind().as_str(), "value": i.canonical() });
                        if let Some(c) = changes {
                            body["changes"] = serde_json::json!(c);
                        }
                        targets::call(self.root(), target, &body, before).await
                    }
                    Err(_) => targets::TargetStatus {
                        target: target.name.clone(),
                        ok: false,
                        attempts: before,
                        status: None,
                        reply: "the identifier is gone (the subject's key was shredded); answer this target by subject_ref".into(),
                    },
                }
            } else {
                targets::call(self.root(), target, &body, before).await
            };
            let outcome = Outcome {
                location: format!("external:{}", target.name),
                action: if status.ok { "confirmed" } else { "failed" }.into(),
                rows_removed: 0,
                detail: format!(
                    "{} after {} attempt{}{}",
                    match (&target.call, status.status) {
                        (custodia_core::config::TargetCall::Webhook { .. }, Some(c)) =>
                            format!("HTTP {c}"),
                        (custodia_core::config::TargetCall::Command { .. }, Some(c)) =>
                            format!("exit {c}"),
                        (_, None) => "no answer".into(),
                    },
                    status.attempts,
                    if status.attempts == 1 { "" } else { "s" },
                    if status.reply.is_empty() {
                        String::new()
                    } else {
                        format!(": {}", status.reply)
                    }
                ),
                audit_index: None,
            };
            let mut details = BTreeMap::new();
            details.insert("location".into(), outcome.location.clone());
            details.insert("action".into(), outcome.action.clone());
            if let Some(c) = status.status {
                details.insert("status".into(), c.to_string());
            }
            let mut e = entry(&record.id, "dsar.target", subject, details);
            e.counts
                .insert("attempts".into(), u64::from(status.attempts));
            let mut tx = self.store().begin_write().await?;
            let index = audit_log::append_in(&mut tx, self.actor(), vec![e]).await?;
            let outcome = Outcome {
                audit_index: index.first().copied(),
                ..outcome
            };
            tx.journal_put(
                &record.id,
                &step,
                if status.ok { "done" } else { "failed" },
                &serde_json::to_string(&(&status, &outcome)).expect("statuses serialise"),
            )
            .await?;
            tx.commit().await?;
            out.push((status, outcome));
        }
        Ok(out)
    }

    /// Finds every place that holds the subject whose ref in each region is `refs`.
    /// `ids` are the subject's identifiers when still readable (they make matching a set
    /// lookup instead of a keyed hash per value); refs alone find the same rows.
    pub async fn dsar_discover(
        &self,
        refs: &BTreeMap<String, String>,
        ids: &[SubjectId],
    ) -> Result<Vec<Place>, EngineError> {
        let ref_bytes = |region: &str| -> Result<[u8; 32], EngineError> {
            let r = refs.get(region).ok_or_else(|| {
                EngineError::Workspace(format!(
                    "region {region:?} holds data but is not configured; add it to custodia.toml"
                ))
            })?;
            Ok(hex32(&SubjectRef::parse(r)?))
        };
        let versions = self.store().all_dataset_versions().await?;
        let edges = self.store().lineage_edges().await?;
        // Each version's subject key: recorded, else derived through identity lineage from
        // an input version whose key is known.
        let mut keys: BTreeMap<String, SubjectKey> = BTreeMap::new();
        let regions: BTreeMap<String, &str> = versions
            .iter()
            .map(|v| (format!("{}@{}", v.dataset, v.version), v.region.as_str()))
            .collect();
        let mut places = Vec::new();
        let mut tables: BTreeMap<(String, String), (String, SubjectKey)> = BTreeMap::new();
        for v in &versions {
            let name = format!("{}@{}", v.dataset, v.version);
            let key = v
                .subject_key
                .as_deref()
                .and_then(|k| serde_json::from_str::<SubjectKey>(k).ok())
                .or_else(|| {
                    edges
                        .iter()
                        .filter(|e| e.output_dataset == name && e.transform == "identity")
                        .find_map(|e| {
                            keys.get(&e.input_dataset)
                                .filter(|k| k.column == e.input_column)
                                .map(|k| SubjectKey {
                                    column: e.output_column.clone(),
                                    ..k.clone()
                                })
                        })
                });
            let Some(key) = key else {
                places.push(Place::Unsearchable {
                    version: name,
                    reason: "no contract names its subject key and lineage derives none".into(),
                });
                continue;
            };
            keys.insert(name.clone(), key.clone());
            if let Some(reason) = erase::unsearchable(&key) {
                places.push(Place::Unsearchable {
                    version: name,
                    reason,
                });
                continue;
            }
            let target = erase::load_target(v);
            if let Some(t) = target {
                tables.insert(t, (v.region.clone(), key.clone()));
            }
            let m = Arc::new(self.matcher(&key, &v.region, ref_bytes(&v.region)?, ids)?);
            let manifest = v
                .manifest
                .as_deref()
                .and_then(|m| serde_json::from_str::<Manifest>(m).ok())
                .map(|m| m.path);
            for file in erase::parquet_files(self.root(), &v.path)? {
                let rows = if file.exists() {
                    let (f, c, m) = (file.clone(), key.column.clone(), m.clone());
                    tokio::task::spawn_blocking(move || erase::count_in_file(&f, &c, &m))
                        .await
                        .map_err(|e| EngineError::Workspace(format!("discovery: {e}")))??
                } else {
                    0
                };
                places.push(Place::File {
                    dataset: v.dataset.clone(),
                    version: v.version,
                    path: file
                        .strip_prefix(self.root())
                        .unwrap_or(&file)
                        .display()
                        .to_string(),
                    region: v.region.clone(),
                    key: key.clone(),
                    manifest: manifest.clone(),
                    rows,
                });
            }
        }
        // Ingest sources, from the lineage of each ingest: workspace files are erased,
        // database tables Custodia only reads are upstream (their rows are suppressed).
        let mut sources: BTreeMap<String, (String, SubjectKey)> = BTreeMap::new();
        let mut upstream = std::collections::BTreeSet::new();
        for e in &edges {
            let Some(key) = keys.get(&e.output_dataset) else {
                continue;
            };
            if e.output_column != key.column || e.input_column != key.column {
                continue;
            }
            let region = regions
                .get(&e.output_dataset)
                .map(|r| r.to_string())
                .unwrap_or_default();
            if let Some(pattern) = e.input_dataset.strip_prefix("file:") {
                sources.insert(pattern.to_string(), (region, key.clone()));
            } else if !e.input_dataset.contains('@') {
                upstream.insert(e.input_dataset.clone());
            }
        }
        let mut source_places = Vec::new();
        for (pattern, (region, key)) in sources {
            let full = self.root().join(&pattern).display().to_string();
            let files: Vec<PathBuf> = glob::glob(&full)
                .map(|g| g.filter_map(Result::ok).collect())
                .unwrap_or_default();
            let m = Arc::new(self.matcher(&key, &region, ref_bytes(&region)?, ids)?);
            for file in files {
                let (f, c, m) = (file.clone(), key.column.clone(), m.clone());
                let rows = tokio::task::spawn_blocking(move || erase::count_in_source(&f, &c, &m))
                    .await
                    .map_err(|e| EngineError::Workspace(format!("discovery: {e}")))??;
                source_places.push(Place::Source {
                    path: file
                        .strip_prefix(self.root())
                        .unwrap_or(&file)
                        .display()
                        .to_string(),
                    region: region.clone(),
                    key: key.clone(),
                    rows,
                });
            }
        }
        places.splice(0..0, source_places);
        for ((url, table), (region, key)) in tables {
            let m = self.matcher(&key, &region, ref_bytes(&region)?, ids)?;
            let rows = crate::run::load::subject_rows(
                self.root(),
                &url,
                &table,
                &key.column,
                &|v| m.matches(v),
                crate::run::load::Matched::Count,
            )
            .await?;
            places.push(Place::Table {
                url,
                table,
                region,
                key,
                rows,
            });
        }
        places.extend(
            upstream
                .into_iter()
                .map(|source| Place::Upstream { source }),
        );
        let wanted: Vec<[u8; 32]> = refs
            .values()
            .map(|r| SubjectRef::parse(r).map(|r| hex32(&r)))
            .collect::<Result<_, _>>()?;
        for mv in self.store().all_model_versions().await? {
            let Some(m) = mv
                .manifest
                .as_deref()
                .and_then(|m| serde_json::from_str::<Manifest>(m).ok())
            else {
                continue;
            };
            let path = self.root().join(&m.path);
            if !path.exists() {
                continue;
            }
            let listed = crate::run::read_manifest(&path)?;
            if wanted.iter().any(|w| listed.binary_search(w).is_ok()) {
                places.push(Place::Model {
                    model: mv.model,
                    version: mv.version,
                });
            }
        }
        for (region, r) in refs {
            if let SubjectKeyLookup::Found(_) = self.store().subject_key(region, r).await? {
                places.push(Place::Key {
                    region: region.clone(),
                });
            }
        }
        Ok(places)
    }

    /// Re-scans every place that could hold the subject of an erasure request (the places
    /// its run acted on, and any written since) and returns those that still do: a
    /// complete erasure returns none. Needs no identifier: the refs were journaled.
    pub async fn dsar_verify_erasure(&self, id: &str) -> Result<Vec<Place>, EngineError> {
        let discovery = self
            .store()
            .journal(id)
            .await?
            .into_iter()
            .find(|s| s.step == "discover")
            .ok_or_else(|| {
                EngineError::Workspace(format!(
                    "request {id} has not been run, so there is no erasure to verify; run it: `custodia dsar run {id}`"
                ))
            })
            .and_then(|s| {
                serde_json::from_str::<Discovery>(&s.detail).map_err(|e| {
                    EngineError::Tampered(format!("the discovery journal of {id} is unreadable: {e}"))
                })
            })?;
        Ok(self
            .dsar_discover(&discovery.refs, &[])
            .await?
            .into_iter()
            .filter(|p| p.rows() > 0)
            .collect())
    }

    /// A matcher for one version's key column: the subject's ref `r` in `region`, or
    /// their identifiers `ids` while readable (the same rows either way).
    fn matcher(
        &self,
        key: &SubjectKey,
        region: &str,
        r: [u8; 32],
        ids: &[SubjectId],
    ) -> Result<erase::Matcher, EngineError> {
        Ok(
            erase::Matcher::new(key, self.ref_key(&self.region(Some(region))?), [r])?
                .by_identifiers(ids),
        )
    }

    /// Checks a request may be worked on now (open, identity verified, of one of `kinds`)
    /// and moves it to `in_progress`; returns it and its journal.
    async fn dsar_start(
        &self,
        id: &str,
        kinds: &[DsarKind],
    ) -> Result<(DsarRecord, Vec<custodia_store::JournalStep>), EngineError> {
        let record = self.store().dsar(id).await?;
        let r = Request::of(record.clone())?;
        if r.state.is_closed() {
            return Err(EngineError::Workspace(format!(
                "request {id} is {}; see `custodia dsar show {id}`",
                r.state
            )));
        }
        if !kinds.contains(&r.kind) {
            return Err(EngineError::Workspace(format!(
                "request {id} is a{} {} request; answer it with `custodia dsar {}`",
                if r.kind == DsarKind::Access
                    || r.kind == DsarKind::Erasure
                    || r.kind == DsarKind::Objection
                {
                    "n"
                } else {
                    ""
                },
                r.kind,
                match r.kind {
                    DsarKind::Access | DsarKind::Portability =>
                        format!("export {id} --out FILE.zip"),
                    DsarKind::Erasure => format!("run {id}"),
                    DsarKind::Rectification => format!("rectify {id} --set COLUMN=VALUE"),
                    DsarKind::Objection => format!("object {id} --purpose PURPOSE"),
                }
            )));
        }
        let steps = self.store().journal(id).await?;
        if !steps
            .iter()
            .any(|s| s.step == "verify" && s.state == "done")
        {
            return Err(EngineError::Workspace(format!(
                "request {id} has no verified identity; verify it first: `custodia dsar verify {id} --method email_link`"
            )));
        }
        if r.state != DsarState::InProgress {
            self.dsar_move(
                id,
                DsarState::InProgress,
                DsarUpdate::default(),
                "dsar.start",
                BTreeMap::new(),
            )
            .await?;
        }
        Ok((record, steps))
    }

    /// Answers an objection (or a withdrawal made as a request): the subject is taken out
    /// of every later read for each purpose, in every region, and a withdrawal for it is
    /// added to the consent ledger (source `dsar:ID`).
    pub async fn dsar_object(
        &self,
        id: &str,
        purposes: &[custodia_core::Purpose],
    ) -> Result<Request, EngineError> {
        if purposes.is_empty() {
            return Err(EngineError::Workspace(format!(
                "name the purposes the person objects to: `custodia dsar object {id} --purpose marketing`"
            )));
        }
        for p in purposes {
            self.declared_purpose(p)?;
        }
        let (record, _) = self.dsar_start(id, &[DsarKind::Objection]).await?;
        let subject = SubjectRef::parse(&record.subject_ref)?;
        let refs = self.refs_of(&record).await?;
        let discovery = Discovery {
            refs: refs.clone(),
            places: Vec::new(),
        };
        let called = self
            .dsar_targets(&record, &discovery, &subject, None)
            .await?;
        let now = custodia_store::now_us();
        let mut tx = self.store().begin_write().await?;
        for p in purposes {
            for (region, r) in &refs {
                tx.record_suppression(region, r, p.as_str(), id).await?;
            }
        }
        let events: Vec<custodia_store::ConsentEvent> = purposes
            .iter()
            .map(|p| custodia_store::ConsentEvent {
                id: 0,
                subject_ref: record.subject_ref.clone(),
                purpose: p.as_str().into(),
                granted: false,
                at_us: now,
                source: format!("dsar:{id}"),
                jurisdiction: record.jurisdiction.clone(),
                recorded_us: now,
            })
            .collect();
        tx.consent_append(&events).await?;
        let names: Vec<&str> = purposes.iter().map(|p| p.as_str()).collect();
        let mut details = BTreeMap::new();
        details.insert("purposes".into(), names.join(","));
        audit_log::append_in(
            &mut tx,
            self.actor(),
            vec![entry(id, "dsar.object", &subject, details)],
        )
        .await?;
        tx.commit().await?;
        let mut details = BTreeMap::new();
        details.insert("purposes".into(), names.join(","));
        self.dsar_complete(
            id,
            &targets::unconfirmed(&called),
            serde_json::json!({ "purposes": names }),
            details,
        )
        .await
    }

    /// Runs a verified request. Erasure removes the subject everywhere and signs a
    /// certificate; it resumes where a cut-off run stopped.
    pub async fn dsar_run(&self, id: &str) -> Result<RunOutcome, EngineError> {
        let (record, steps) = self.dsar_start(id, &[DsarKind::Erasure]).await?;
        let discovery = match steps.iter().find(|s| s.step == "discover") {
            Some(s) => serde_json::from_str::<Discovery>(&s.detail).map_err(|e| {
                EngineError::Tampered(format!("the discovery journal of {id} is unreadable: {e}"))
            })?,
            None => {
                let refs = self.refs_of(&record).await?;
                let ids = [self.identifier_of(&record).await?];
                let places = self.dsar_discover(&refs, &ids).await?;
                let discovery = Discovery { refs, places };
                let mut counts = BTreeMap::new();
                counts.insert("locations".into(), discovery.places.len() as u64);
                counts.insert(
                    "holding".into(),
                    discovery.places.iter().filter(|p| p.rows() > 0).count() as u64,
                );
                let mut tx = self.store().begin_write().await?;
                tx.journal_put(
                    id,
                    "discover",
                    "done",
                    &serde_json::to_string(&discovery).expect("discoveries serialise"),
                )
                .await?;
                // From now on every read drops the subject, in every region.
                for (region, r) in &discovery.refs {
                    tx.record_suppression(region, r, "*", id).await?;
                }
                let subject = SubjectRef::parse(&record.subject_ref)?;
                let mut e = entry(id, "dsar.discover", &subject, BTreeMap::new());
                e.counts = counts;
                audit_log::append_in(&mut tx, self.actor(), vec![e]).await?;
                tx.commit().await?;
                discovery
            }
        };
        let subject = SubjectRef::parse(&record.subject_ref)?;
        // Until the key is shredded the identifier makes matching a set lookup; after a
        // crash past the shred, the journaled refs find the same rows.
        let ids: Vec<SubjectId> = self.identifier_of(&record).await.ok().into_iter().collect();
        let called = self
            .dsar_targets(&record, &discovery, &subject, None)
            .await?;
        let waiting = targets::unconfirmed(&called);
        let mut outcomes: Vec<Outcome> = called.into_iter().map(|(_, o)| o).collect();
        for (i, place) in discovery.places.iter().enumerate() {
            // The key is shredded only once every target has confirmed: one that needs
            // the identifier could not be called again after.
            if matches!(place, Place::Key { .. }) && !waiting.is_empty() {
                continue;
            }
            let step = format!("erase:{i:04}");
            let done = self
                .store()
                .journal(id)
                .await?
                .into_iter()
                .find(|s| s.step == step);
            let outcome = match done {
                Some(s) if s.state == "done" => serde_json::from_str(&s.detail).map_err(|e| {
                    EngineError::Tampered(format!("journal step {step} of {id}: {e}"))
                })?,
                prior => {
                    self.erase_place(
                        id,
                        &step,
                        place,
                        (&discovery.refs, &ids),
                        &subject,
                        prior.as_ref(),
                    )
                    .await?
                }
            };
            outcomes.push(outcome);
        }
        for model in discovery
            .places
            .iter()
            .filter_map(|p| match p {
                Place::Model { model, .. } => Some(model.clone()),
                _ => None,
            })
            .collect::<std::collections::BTreeSet<_>>()
        {
            outcomes.push(
                self.dsar_retrain(&record, &model, &discovery, &subject)
                    .await?,
            );
        }
        if !waiting.is_empty() {
            return Ok(RunOutcome {
                request: self.dsar(id).await?,
                outcomes,
                certificate: None,
                waiting,
            });
        }
        let cert = certificate::issue(self, &record, &discovery, &outcomes).await?;
        let result = serde_json::json!({
            "certificate": cert,
            "locations": outcomes.len(),
            "rows_removed": outcomes.iter().map(|o| o.rows_removed).sum::<u64>(),
            "rewritten": outcomes.iter().filter(|o| o.action == "rewritten").count(),
            "deleted": outcomes.iter().filter(|o| o.action == "deleted").count(),
            "flagged": outcomes.iter().filter(|o| o.action == "flagged").count(),
            "not_searchable": outcomes.iter().filter(|o| o.action == "not_searchable").count(),
        });
        let mut details = BTreeMap::new();
        details.insert("certificate".into(), cert.clone());
        let request = self.dsar_complete(id, &waiting, result, details).await?;
        Ok(RunOutcome {
            request,
            outcomes,
            certificate: Some(cert),
            waiting,
        })
    }

    /// Retrains a model whose training manifest listed the erased subject, through the
    /// pipeline that trained it, or flags it for the team (`[dsar] retrain = "schedule"`,
    /// or when its pipeline is not found or fails). Journaled: a retraining run cut off is
    /// resumed, not repeated.
    async fn dsar_retrain(
        &self,
        record: &DsarRecord,
        model: &str,
        discovery: &Discovery,
        subject: &SubjectRef,
    ) -> Result<Outcome, EngineError> {
        let id = record.id.as_str();
        let step = format!("retrain:{model}");
        if let Some(done) = self
            .store()
            .journal(id)
            .await?
            .into_iter()
            .find(|s| s.step == step && s.state == "done")
        {
            return serde_json::from_str(&done.detail)
                .map_err(|e| EngineError::Tampered(format!("journal step {step} of {id}: {e}")));
        }
        let due = custodia_core::time::format_rfc3339(record.due_us);
        let mut outcome = Outcome {
            location: format!("model:{model}"),
            action: "scheduled".into(),
            rows_removed: 0,
            detail: format!("flagged: retrain it before {due}"),
            audit_index: None,
        };
        let pipeline = self.pipeline_of_model(model).await?;
        match (self.config().dsar.retrain, pipeline) {
            (custodia_core::config::Retrain::Schedule, _) => {}
            (_, None) => {
                outcome.detail = format!(
                    "flagged: no file under pipelines/ runs the pipeline that trained it; retrain it before {due}"
                );
            }
            (_, Some(file)) => {
                self.store().journal_put(id, &step, "started", "{}").await?;
                let report = self
                    .run_pipeline(&file, crate::run::Resume::Auto, &crate::run::Quiet)
                    .await?;
                let latest = self.store().model_versions(model).await?.pop();
                match latest.filter(|_| report.status == "succeeded") {
                    None => {
                        outcome.detail = format!(
                            "flagged: retraining run {} {}; retrain it before {due}",
                            report.run_id, report.status
                        );
                    }
                    Some(v) => {
                        let wanted: Vec<[u8; 32]> = discovery
                            .refs
                            .values()
                            .filter_map(|r| SubjectRef::parse(r).ok())
                            .map(|r| hex32(&r))
                            .collect();
                        if let Some(m) = v
                            .manifest
                            .as_deref()
                            .and_then(|m| serde_json::from_str::<Manifest>(m).ok())
                        {
                            let listed = crate::run::read_manifest(&self.root().join(&m.path))?;
                            if wanted.iter().any(|w| listed.binary_search(w).is_ok()) {
                                return Err(EngineError::Workspace(format!(
                                    "model {model}@{} was retrained and still lists the erased subject: a source this erasure cannot reach holds them; see `custodia dsar show {id}`",
                                    v.version
                                )));
                            }
                        }
                        outcome.action = "retrained".into();
                        outcome.detail = format!(
                            "{model}@{} from run {}, trained without the subject",
                            v.version, report.run_id
                        );
                    }
                }
            }
        }
        let tx = self.store().begin_write().await?;
        self.commit_outcome(
            tx,
            id,
            &step,
            "done",
            outcome,
            vec![subject.clone()],
            BTreeMap::new(),
            BTreeMap::new(),
        )
        .await
    }

    /// The pipeline file under `pipelines/` whose pipeline trained the model's latest
    /// version, if there is one.
    async fn pipeline_of_model(&self, model: &str) -> Result<Option<PathBuf>, EngineError> {
        let Some(run_id) = self
            .store()
            .model_versions(model)
            .await?
            .pop()
            .and_then(|v| v.run_id)
        else {
            return Ok(None);
        };
        let Some(run) = self.store().run(&run_id).await? else {
            return Ok(None);
        };
        self.pipeline_file(&run.pipeline)
    }

    /// The file under `pipelines/` that declares pipeline `name`, if one does.
    fn pipeline_file(&self, name: &str) -> Result<Option<PathBuf>, EngineError> {
        let dir = self.root().join("pipelines");
        let Ok(entries) = std::fs::read_dir(&dir) else {
            return Ok(None);
        };
        let mut files: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "yaml" || x == "yml"))
            .collect();
        files.sort();
        Ok(files.into_iter().find(|f| {
            std::fs::read_to_string(f)
                .ok()
                .and_then(|text| custodia_core::pipeline::Pipeline::parse("pipeline", &text).ok())
                .is_some_and(|p| p.name == name)
        }))
    }

    /// Erases the subject from one place, journaled so a rerun neither repeats nor misses it.
    async fn erase_place(
        &self,
        id: &str,
        step: &str,
        place: &Place,
        (refs, ids): (&BTreeMap<String, String>, &[SubjectId]),
        request_subject: &SubjectRef,
        prior: Option<&custodia_store::JournalStep>,
    ) -> Result<Outcome, EngineError> {
        let location = place.location();
        let subject_in = |region: &str| -> Result<SubjectRef, EngineError> {
            Ok(SubjectRef::parse(
                refs.get(region).map(String::as_str).unwrap_or(""),
            )?)
        };
        let mut outcome = Outcome {
            location: location.clone(),
            action: "absent".into(),
            rows_removed: 0,
            detail: String::new(),
            audit_index: None,
        };
        let mut details = BTreeMap::new();
        let mut counts = BTreeMap::new();
        let mut subjects = Vec::new();
        let mut tx;
        match place {
            Place::File {
                dataset,
                version,
                path,
                region,
                key,
                manifest,
                rows,
            } => {
                let file = self.root().join(path);
                let staged_manifest = manifest.as_ref().map(|m| self.root().join(m));
                if prior.is_some_and(|p| p.state == "staged") {
                    // The revision is recorded: only the renames are left.
                    erase::commit_staged(&file)?;
                    if let Some(m) = &staged_manifest {
                        erase::commit_staged(m)?;
                    }
                    let outcome: Outcome = serde_json::from_str(&prior.expect("staged").detail)
                        .map_err(|e| EngineError::Tampered(format!("journal step {step}: {e}")))?;
                    self.journal_outcome(id, step, "done", &outcome).await?;
                    return Ok(outcome);
                }
                if *rows == 0 || !file.exists() {
                    self.journal_outcome(id, step, "done", &outcome).await?;
                    return Ok(outcome);
                }
                let subject = subject_in(region)?;
                let m = Arc::new(self.matcher(key, region, hex32(&subject), ids)?);
                let old = self
                    .store()
                    .dataset_version(dataset, *version)
                    .await?
                    .ok_or_else(|| {
                        EngineError::Workspace(format!(
                            "dataset version {dataset}@{version} is gone from the store"
                        ))
                    })?;
                let old_stats = crate::run::parse_stats(&old.stats);
                let personal = |c: &str| {
                    old_stats
                        .column(c)
                        .and_then(|s| s.numeric.as_ref())
                        .is_none_or(|n| n.min.is_none())
                };
                let (written, removed) =
                    erase::rewrite_without(&file, &key.column, m, &personal).await?;
                let mut revised = custodia_store::Revised {
                    stats: Some(serde_json::to_string(&written.stats).expect("stats serialise")),
                    ..Default::default()
                };
                if let Some(mpath) = &staged_manifest {
                    let listed = crate::run::read_manifest(mpath)?;
                    let gone = hex32(&subject);
                    let kept: Vec<[u8; 32]> = listed.into_iter().filter(|r| *r != gone).collect();
                    let rel = PathBuf::from(manifest.as_deref().expect("a manifest path"));
                    let staged_rel = erase::staging_path(&rel);
                    let mut written_manifest =
                        crate::run::subjects::write_manifest(self.root(), &staged_rel, &kept)?;
                    written_manifest.path = rel.display().to_string();
                    revised.subjects = Some(written_manifest.subjects as i64);
                    revised.manifest = Some(
                        serde_json::to_string(&written_manifest).expect("manifests serialise"),
                    );
                }
                // In a multi-file version only this file changed: the version keeps its
                // row count up to date, and the revision names the file's new hash.
                let row_count = old.row_count - removed as i64;
                tx = self.store().begin_write().await?;
                let revision = tx
                    .record_revision(
                        &custodia_store::DatasetRevision {
                            dataset: dataset.clone(),
                            version: *version,
                            revision: 0,
                            content_hash: written.content_hash.clone(),
                            row_count,
                            rows_removed: removed as i64,
                            reason: format!("dsar:{id}"),
                            created_us: 0,
                        },
                        &revised,
                    )
                    .await?;
                outcome.action = "rewritten".into();
                outcome.rows_removed = removed;
                outcome.detail =
                    format!("revision {revision}, content hash {}", written.content_hash);
                counts.insert("rows_removed".into(), removed);
                counts.insert("rows".into(), written.stats.rows);
                details.insert("content_hash".into(), written.content_hash.clone());
                details.insert("revision".into(), revision.to_string());
                subjects.push(subject);
                let outcome = self
                    .commit_outcome(tx, id, step, "staged", outcome, subjects, counts, details)
                    .await?;
                crate::run::failpoint(self.root(), "dsar_staged");
                erase::commit_staged(&file)?;
                if let Some(m) = &staged_manifest {
                    erase::commit_staged(m)?;
                }
                self.journal_outcome(id, step, "done", &outcome).await?;
                return Ok(outcome);
            }
            Place::Table {
                url,
                table,
                region,
                key,
                rows,
            } => {
                let subject = subject_in(region)?;
                // A delete that committed before the crash finds nothing now: the count
                // found when it started is what it removed.
                let started: Option<u64> = prior
                    .filter(|p| p.state == "started")
                    .and_then(|p| serde_json::from_str::<serde_json::Value>(&p.detail).ok())
                    .and_then(|d| d["rows"].as_u64());
                self.store()
                    .journal_put(
                        id,
                        step,
                        "started",
                        &serde_json::json!({ "rows": started.unwrap_or(*rows) }).to_string(),
                    )
                    .await?;
                let m = self.matcher(key, region, hex32(&subject), ids)?;
                let deleted = crate::run::load::subject_rows(
                    self.root(),
                    url,
                    table,
                    &key.column,
                    &|v| m.matches(v),
                    crate::run::load::Matched::Delete,
                )
                .await?;
                let removed = if deleted == 0 {
                    started.unwrap_or(0)
                } else {
                    deleted
                };
                if removed > 0 {
                    outcome.action = "deleted".into();
                }
                outcome.rows_removed = removed;
                counts.insert("rows_removed".into(), removed);
                subjects.push(subject);
                tx = self.store().begin_write().await?;
            }
            Place::Source {
                path,
                region,
                key,
                rows,
            } => {
                let subject = subject_in(region)?;
                let started: Option<u64> = prior
                    .filter(|p| p.state == "started")
                    .and_then(|p| serde_json::from_str::<serde_json::Value>(&p.detail).ok())
                    .and_then(|d| d["rows"].as_u64());
                if *rows > 0 || started.is_some() {
                    self.store()
                        .journal_put(
                            id,
                            step,
                            "started",
                            &serde_json::json!({ "rows": started.unwrap_or(*rows) }).to_string(),
                        )
                        .await?;
                    let m = Arc::new(self.matcher(key, region, hex32(&subject), ids)?);
                    let file = self.root().join(path);
                    let removed = erase::erase_source(&file, &key.column, m).await?;
                    // A rewrite that landed before a crash finds nothing now.
                    let removed = if removed == 0 {
                        started.unwrap_or(0)
                    } else {
                        removed
                    };
                    if removed > 0 {
                        outcome.action = "rewritten".into();
                    }
                    outcome.rows_removed = removed;
                    counts.insert("rows_removed".into(), removed);
                    subjects.push(subject);
                } else {
                    self.journal_outcome(id, step, "done", &outcome).await?;
                    return Ok(outcome);
                }
                tx = self.store().begin_write().await?;
            }
            Place::Upstream { .. } => {
                outcome.action = "suppressed".into();
                outcome.detail = "a database table pipelines read but Custodia does not own: every later read drops the subject; erase it at the source with a [[dsar.targets]] entry".into();
                subjects.push(request_subject.clone());
                tx = self.store().begin_write().await?;
            }
            Place::Model { model, version } => {
                tx = self.store().begin_write().await?;
                tx.flag_model(
                    model,
                    *version,
                    Some(&serde_json::json!({ "dsar": id, "reason": "trained on an erased subject; retrain it" }).to_string()),
                )
                .await?;
                outcome.action = "flagged".into();
                outcome.detail = "trained on the subject: retrain it through its pipeline".into();
                subjects.push(request_subject.clone());
            }
            Place::Unsearchable { reason, .. } => {
                outcome.action = "not_searchable".into();
                outcome.detail = reason.clone();
                tx = self.store().begin_write().await?;
                details.insert("reason".into(), reason.clone());
                subjects.push(request_subject.clone());
            }
            Place::Key { region } => {
                let subject = subject_in(region)?;
                let g = self.region(Some(region))?;
                // A shred that committed before a crash is not repeated.
                if let SubjectKeyLookup::Found(_) =
                    self.store().subject_key(region, subject.as_str()).await?
                {
                    self.shred_subject(&g, &subject).await?;
                }
                let mut tx2 = self.store().begin_write().await?;
                tx2.dsar_update(
                    id,
                    &DsarUpdate {
                        identifier: Some("shredded".into()),
                        ..DsarUpdate::default()
                    },
                )
                .await?;
                tx = tx2;
                outcome.action = "shredded".into();
                outcome.detail =
                    "subject data key destroyed: every token under it is unreadable".into();
                subjects.push(subject);
            }
        }
        self.commit_outcome(tx, id, step, "done", outcome, subjects, counts, details)
            .await
    }

    /// Journals a place's outcome on its own.
    async fn journal_outcome(
        &self,
        id: &str,
        step: &str,
        state: &str,
        outcome: &Outcome,
    ) -> Result<(), EngineError> {
        self.store()
            .journal_put(
                id,
                step,
                state,
                &serde_json::to_string(outcome).expect("outcomes serialise"),
            )
            .await?;
        Ok(())
    }

    /// Commits what was done at a place: its `dsar.erase` audit entry (which the outcome
    /// then names) and its journal step, with whatever `tx` already holds.
    #[allow(clippy::too_many_arguments)]
    async fn commit_outcome(
        &self,
        mut tx: custodia_store::WriteTx,
        id: &str,
        step: &str,
        state: &str,
        mut outcome: Outcome,
        subjects: Vec<SubjectRef>,
        counts: BTreeMap<String, u64>,
        mut details: BTreeMap<String, String>,
    ) -> Result<Outcome, EngineError> {
        details.insert("location".into(), outcome.location.clone());
        details.insert("action".into(), outcome.action.clone());
        let index = audit_log::append_in(
            &mut tx,
            self.actor(),
            vec![NewEntry {
                action: "dsar.erase".into(),
                object: format!("dsar:{id}"),
                subjects,
                counts,
                details,
            }],
        )
        .await?;
        outcome.audit_index = index.first().copied();
        tx.journal_put(
            id,
            step,
            state,
            &serde_json::to_string(&outcome).expect("outcomes serialise"),
        )
        .await?;
        tx.commit().await?;
        Ok(outcome)
    }
}

fn entry(
    id: &str,
    action: &str,
    subject: &SubjectRef,
    details: BTreeMap<String, String>,
) -> NewEntry {
    NewEntry {
        action: action.into(),
        object: format!("dsar:{id}"),
        subjects: vec![subject.clone()],
        counts: BTreeMap::new(),
        details,
    }
}
