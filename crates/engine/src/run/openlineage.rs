//! OpenLineage (spec 2-0-2): every run emits a START event when it begins and a COMPLETE
//! or FAIL event when it ends, with the schema, column lineage, version and data quality
//! of what it read and wrote. Events are stored with the run (`custodia lineage events`)
//! and, with `--openlineage-url`, posted to a Marquez-compatible endpoint
//! (`POST {url}/api/v1/lineage`).
//!
//! Facets carry names, types, counts and statistics of non-personal columns only, like
//! everything else Custodia writes.

use std::collections::BTreeMap;

use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use super::{dataset_name as name_of, output::DatasetStats, RunReport};
use crate::{workspace::Workspace, EngineError};

/// The producer URI of Custodia's events.
pub const PRODUCER: &str = "https://github.com/custodia-dev/custodia";
const SPEC: &str = "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent";

fn facet(schema: &str) -> Value {
    json!({
        "_producer": PRODUCER,
        "_schemaURL": format!("https://openlineage.io/spec/facets/{schema}"),
    })
}

fn with(mut base: Value, extra: Value) -> Value {
    if let (Some(b), Some(e)) = (base.as_object_mut(), extra.as_object()) {
        for (k, v) in e {
            b.insert(k.clone(), v.clone());
        }
    }
    base
}

/// The run's id as a UUID (OpenLineage requires one): the first 16 bytes of SHA-256 of
/// Custodia's run id, with the version (8, custom) and variant bits set.
pub fn run_uuid(run_id: &str) -> String {
    let h = Sha256::digest(run_id.as_bytes());
    let mut b = [0u8; 16];
    b.copy_from_slice(&h[..16]);
    b[6] = (b[6] & 0x0f) | 0x80;
    b[8] = (b[8] & 0x3f) | 0x80;
    let x = hex::encode(b);
    format!(
        "{}-{}-{}-{}-{}",
        &x[0..8],
        &x[8..12],
        &x[12..16],
        &x[16..20],
        &x[20..32]
    )
}

fn schema_facet(fields: &[(String, String)]) -> Value {
    with(
        facet("1-1-1/SchemaDatasetFacet.json#/$defs/SchemaDatasetFacet"),
        json!({"fields": fields.iter().map(|(n, t)| json!({"name": n, "type": t})).collect::<Vec<_>>()}),
    )
}

/// What the run's events are made of.
pub(crate) struct EventInput<'a> {
    pub namespace: &'a str,
    pub report: &'a RunReport,
    pub edges: &'a [custodia_store::ColumnEdge],
    /// Statistics of each step's output version, by `name@v`.
    pub stats: &'a BTreeMap<String, DatasetStats>,
}

/// The START event.
pub(crate) fn start_event(namespace: &str, pipeline: &str, run_id: &str) -> Value {
    json!({
        "eventType": "START",
        "eventTime": crate::audit_log::now_rfc3339(),
        "producer": PRODUCER,
        "schemaURL": SPEC,
        "run": {"runId": run_uuid(run_id), "facets": {}},
        "job": {"namespace": namespace, "name": pipeline, "facets": {}},
        "inputs": [],
        "outputs": [],
    })
}

/// The COMPLETE or FAIL event.
pub(crate) fn end_event(x: &EventInput) -> Value {
    let r = x.report;
    let failed = r.status != "succeeded";
    let ns = x.namespace;
    // Inputs: the sources ingest steps read (they are no step's output).
    let produced: std::collections::BTreeSet<&str> =
        r.steps.iter().map(|s| s.output.as_str()).collect();
    let mut inputs: BTreeMap<String, Value> = BTreeMap::new();
    for e in x.edges {
        if produced.contains(e.input_dataset.as_str()) {
            continue;
        }
        let step = r.steps.iter().find(|s| s.id == e.step);
        inputs.entry(e.input_dataset.clone()).or_insert_with(|| {
            let mut facets = json!({});
            if let Some(s) = step {
                facets["schema"] = schema_facet(&s.schema);
            }
            let mut input = json!({"namespace": ns, "name": e.input_dataset, "facets": facets});
            // What was read, measured on the enforced read (counts; bounds and quantiles
            // only of non-personal columns).
            if let Some(stats) = step.and_then(|s| x.stats.get(&s.output)) {
                input["inputFacets"] = json!({"dataQualityMetrics": quality_metrics(stats)});
            }
            input
        });
    }
    let mut outputs = Vec::new();
    for s in &r.steps {
        if s.output.is_empty() || s.kind == "quality" {
            continue;
        }
        let mut facets = json!({
            "schema": schema_facet(&s.schema),
            "version": with(
                facet("1-0-1/DatasetVersionDatasetFacet.json#/$defs/DatasetVersionDatasetFacet"),
                json!({"datasetVersion": s.output.rsplit_once('@').map_or("", |(_, v)| v)}),
            ),
        });
        let mut fields: BTreeMap<&str, Vec<Value>> = BTreeMap::new();
        for e in x.edges.iter().filter(|e| e.output_dataset == s.output) {
            let (kind, subtype) = match e.transform.as_str() {
                "identity" => ("DIRECT", "IDENTITY"),
                "aggregate" => ("DIRECT", "AGGREGATION"),
                _ => ("DIRECT", "TRANSFORMATION"),
            };
            fields.entry(&e.output_column).or_default().push(json!({
                "namespace": ns,
                "name": if produced.contains(e.input_dataset.as_str()) { name_of(&e.input_dataset) } else { &e.input_dataset },
                "field": e.input_column,
                "transformations": [{
                    "type": kind,
                    "subtype": subtype,
                    "description": e.transform,
                    "masking": e.transform.starts_with("transform:"),
                }],
            }));
        }
        if !fields.is_empty() {
            facets["columnLineage"] = with(
                facet("1-1-0/ColumnLineageDatasetFacet.json#/$defs/ColumnLineageDatasetFacet"),
                json!({"fields": fields.into_iter().map(|(k, v)| (k.to_string(), json!({"inputFields": v}))).collect::<serde_json::Map<_, _>>()}),
            );
        }
        // Quality steps assert on their input: attach their results to that dataset.
        let assertions: Vec<Value> = r
            .steps
            .iter()
            .filter(|q| q.kind == "quality" && q.output == s.output)
            .filter_map(|q| q.quality.as_ref())
            .flat_map(|q| {
                q.checks.iter().map(|c| {
                    let mut a = json!({"assertion": c.check, "success": c.passed});
                    if let Some(col) = &c.column {
                        a["column"] = json!(col);
                    }
                    a
                })
            })
            .collect();
        if !assertions.is_empty() {
            facets["dataQualityAssertions"] = with(
                facet("1-2-0/DataQualityAssertionsDatasetFacet.json#/$defs/DataQualityAssertionsDatasetFacet"),
                json!({"assertions": assertions}),
            );
        }
        outputs.push(json!({
            "namespace": ns,
            "name": name_of(&s.output),
            "facets": facets,
            "outputFacets": {"outputStatistics": with(
                facet("1-0-2/OutputStatisticsOutputDatasetFacet.json#/$defs/OutputStatisticsOutputDatasetFacet"),
                json!({"rowCount": s.rows}),
            )},
        }));
    }
    let mut run_facets = json!({});
    if let Some(f) = r.failure.as_ref().filter(|_| failed) {
        run_facets["errorMessage"] = with(
            facet("1-0-1/ErrorMessageRunFacet.json#/$defs/ErrorMessageRunFacet"),
            json!({"message": f.message, "programmingLanguage": "rust"}),
        );
    }
    json!({
        "eventType": if failed { "FAIL" } else { "COMPLETE" },
        "eventTime": crate::audit_log::now_rfc3339(),
        "producer": PRODUCER,
        "schemaURL": SPEC,
        "run": {"runId": run_uuid(&r.run_id), "facets": run_facets},
        "job": {"namespace": ns, "name": r.pipeline, "facets": {}},
        "inputs": inputs.into_values().collect::<Vec<_>>(),
        "outputs": outputs,
    })
}

fn quality_metrics(stats: &DatasetStats) -> Value {
    let mut columns = serde_json::Map::new();
    for c in &stats.columns {
        let mut m = json!({"nullCount": c.nulls});
        if let Some(n) = &c.numeric {
            if let Some(v) = n.min {
                m["min"] = json!(v);
            }
            if let Some(v) = n.max {
                m["max"] = json!(v);
            }
            if n.percentiles.len() == 99 {
                m["quantiles"] = json!({
                    "0.25": n.percentiles[24],
                    "0.5": n.percentiles[49],
                    "0.75": n.percentiles[74],
                });
            }
        }
        columns.insert(c.name.clone(), m);
    }
    with(
        facet("1-0-3/DataQualityMetricsInputDatasetFacet.json#/$defs/DataQualityMetricsInputDatasetFacet"),
        json!({"rowCount": stats.rows, "columnMetrics": columns}),
    )
}

/// Posts one event to a Marquez-compatible endpoint.
pub(crate) fn post(url: &str, event: &Value) -> Result<(), EngineError> {
    let endpoint = format!("{}/api/v1/lineage", url.trim_end_matches('/'));
    ureq::post(&endpoint)
        .header("Content-Type", "application/json")
        .send(event.to_string())
        .map_err(|e| {
            EngineError::Workspace(format!(
                "OpenLineage endpoint {endpoint}: {e}; the run itself is recorded, and its events are kept (`custodia lineage events RUN`)"
            ))
        })?;
    Ok(())
}

impl Workspace {
    /// Stores an event of a run and, with a URL, posts it. A failed post does not fail the
    /// run: the event stays stored and the error is returned for the caller to report.
    pub(crate) async fn emit_lineage(
        &self,
        run_id: &str,
        event: &Value,
        url: Option<&str>,
    ) -> Result<Option<String>, EngineError> {
        let mut tx = self.store().begin_write().await?;
        tx.record_lineage_event(
            run_id,
            event["eventType"].as_str().unwrap_or(""),
            &event.to_string(),
        )
        .await?;
        tx.commit().await?;
        Ok(match url {
            Some(u) => {
                let u = u.to_string();
                let e = event.clone();
                tokio::task::spawn_blocking(move || post(&u, &e))
                    .await
                    .map_err(|e| EngineError::Workspace(e.to_string()))?
                    .err()
                    .map(|e| e.to_string())
            }
            None => None,
        })
    }

    /// The namespace of this workspace's events.
    pub fn lineage_namespace(&self) -> String {
        format!(
            "custodia://{}",
            self.root()
                .file_name()
                .map(|f| f.to_string_lossy().into_owned())
                .unwrap_or_else(|| "workspace".into())
        )
    }
}
