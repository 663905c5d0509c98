//! Lineage queries over what runs recorded: trace an artifact upstream or downstream
//! (dataset, column, model), the impact of changing a column, and the root-cause diff of
//! two model versions (which upstream dataset versions changed between their trainings,
//! and how).

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use custodia_store::ColumnEdge;
use serde::Serialize;

use crate::{
    run::{dataset_name as name_of, parse_schema_json, parse_stats, DriftFinding, Training},
    workspace::Workspace,
    EngineError,
};

/// What to trace.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Artifact {
    /// Dataset version (`name@v`), or `model:NAME@v`.
    pub dataset: String,
    /// One column, or the whole dataset.
    pub column: Option<String>,
}

impl std::fmt::Display for Artifact {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.column {
            Some(c) => write!(f, "{}.{c}", self.dataset),
            None => f.write_str(&self.dataset),
        }
    }
}

/// Which way to walk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// Towards the sources.
    Upstream,
    /// Towards what is derived from it.
    Downstream,
}

/// A traced graph: the edges reached, in walk order.
#[derive(Debug, Clone, Serialize)]
pub struct Trace {
    /// Where the walk started.
    pub root: Artifact,
    /// Direction.
    pub direction: Direction,
    /// Edges reached: `(from, to, how)` with column-qualified nodes, or dataset nodes when
    /// the root is a whole dataset.
    pub edges: Vec<(String, String, String)>,
}

fn version_of(version: &str) -> i64 {
    version
        .rsplit_once('@')
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0)
}

/// Every lineage edge of the workspace, and the artifacts it knows.
pub struct Graph {
    edges: Vec<ColumnEdge>,
}

impl Graph {
    /// A graph over given edges (tests, fuzzing; [`Workspace::lineage_graph`] reads the
    /// store's).
    pub fn from_edges(edges: Vec<ColumnEdge>) -> Graph {
        Graph { edges }
    }

    /// The latest version of a dataset (or model) name among the nodes.
    fn latest(&self, name: &str) -> Option<String> {
        self.edges
            .iter()
            .flat_map(|e| [&e.output_dataset, &e.input_dataset])
            .filter(|d| name_of(d) == name)
            .max_by_key(|d| version_of(d))
            .cloned()
    }

    fn names(&self) -> BTreeSet<&str> {
        self.edges
            .iter()
            .flat_map(|e| [name_of(&e.output_dataset), name_of(&e.input_dataset)])
            .collect()
    }

    /// Resolves `DATASET[@V][.COLUMN]` or `model:NAME[@V][.COLUMN]`; dataset names may hold
    /// dots (`snapshots.churn`), so the longest known name wins.
    pub fn resolve(&self, text: &str) -> Result<Artifact, EngineError> {
        let names = self.names();
        let (name, rest) = if let Some((n, r)) = text.split_once('@') {
            (n.to_string(), Some(r))
        } else {
            let n = names
                .iter()
                .filter(|n| text == **n || text.starts_with(&format!("{n}.")))
                .max_by_key(|n| n.len())
                .ok_or_else(|| unknown(text, &names))?;
            (n.to_string(), None)
        };
        if !names.contains(name.as_str()) {
            return Err(unknown(text, &names));
        }
        let (dataset, column) = match rest {
            Some(r) => {
                let (v, c) = match r.split_once('.') {
                    Some((v, c)) => (v, Some(c.to_string())),
                    None => (r, None),
                };
                let v: i64 = v.parse().map_err(|_| unknown(text, &names))?;
                (format!("{name}@{v}"), c)
            }
            None => {
                let c = text
                    .strip_prefix(name.as_str())
                    .and_then(|r| r.strip_prefix('.'))
                    .map(str::to_string);
                (self.latest(&name).ok_or_else(|| unknown(text, &names))?, c)
            }
        };
        Ok(Artifact { dataset, column })
    }

    /// Walks from `root` in `direction`.
    pub fn trace(&self, root: &Artifact, direction: Direction) -> Trace {
        let mut edges = Vec::new();
        let mut seen: BTreeSet<(String, Option<String>)> = BTreeSet::new();
        let mut queue: VecDeque<(String, Option<String>)> =
            VecDeque::from([(root.dataset.clone(), root.column.clone())]);
        let mut emitted: BTreeSet<(String, String, String)> = BTreeSet::new();
        while let Some((ds, col)) = queue.pop_front() {
            if !seen.insert((ds.clone(), col.clone())) {
                continue;
            }
            for e in &self.edges {
                let (here_ds, here_col, there_ds, there_col) = match direction {
                    Direction::Upstream => (
                        &e.output_dataset,
                        &e.output_column,
                        &e.input_dataset,
                        &e.input_column,
                    ),
                    Direction::Downstream => (
                        &e.input_dataset,
                        &e.input_column,
                        &e.output_dataset,
                        &e.output_column,
                    ),
                };
                if here_ds != &ds || col.as_ref().is_some_and(|c| c != here_col) {
                    continue;
                }
                let (from, to) = if col.is_some() {
                    (
                        format!("{here_ds}.{here_col}"),
                        format!("{there_ds}.{there_col}"),
                    )
                } else {
                    (here_ds.clone(), there_ds.clone())
                };
                let how = if col.is_some() {
                    e.transform.clone()
                } else {
                    e.step.clone()
                };
                if emitted.insert((from.clone(), to.clone(), how.clone())) {
                    edges.push((from, to, how));
                }
                queue.push_back((there_ds.clone(), col.as_ref().map(|_| there_col.clone())));
            }
        }
        Trace {
            root: root.clone(),
            direction,
            edges,
        }
    }
}

fn unknown(text: &str, names: &BTreeSet<&str>) -> EngineError {
    EngineError::Workspace(format!(
        "{text:?} is not a dataset, column or model lineage knows; known: {}",
        names
            .iter()
            .take(20)
            .copied()
            .collect::<Vec<_>>()
            .join(", ")
    ))
}

impl Trace {
    /// An indented tree, the root first.
    pub fn text(&self) -> String {
        let arrow = match self.direction {
            Direction::Upstream => "<-",
            Direction::Downstream => "->",
        };
        let mut children: BTreeMap<&str, Vec<(&str, &str)>> = BTreeMap::new();
        for (a, b, how) in &self.edges {
            children.entry(a).or_default().push((b, how));
        }
        let mut out = format!("{}\n", self.root);
        fn walk(
            node: &str,
            depth: usize,
            children: &BTreeMap<&str, Vec<(&str, &str)>>,
            arrow: &str,
            out: &mut String,
            path: &mut Vec<String>,
        ) {
            let Some(kids) = children.get(node) else {
                return;
            };
            for (k, how) in kids {
                out.push_str(&format!("{}{arrow} {k}  ({how})\n", "  ".repeat(depth)));
                if !path.iter().any(|p| p == k) && depth < 32 {
                    path.push(k.to_string());
                    walk(k, depth + 1, children, arrow, out, path);
                    path.pop();
                }
            }
        }
        walk(
            &self.root.to_string(),
            1,
            &children,
            arrow,
            &mut out,
            &mut vec![],
        );
        out
    }

    fn oriented(&self) -> impl Iterator<Item = (&str, &str, &str)> {
        // Arrows always point the way data flows.
        self.edges
            .iter()
            .map(move |(a, b, how)| match self.direction {
                Direction::Upstream => (b.as_str(), a.as_str(), how.as_str()),
                Direction::Downstream => (a.as_str(), b.as_str(), how.as_str()),
            })
    }

    /// Graphviz.
    pub fn dot(&self) -> String {
        let mut out = String::from("digraph lineage {\n  rankdir=LR;\n  node [shape=box];\n");
        for (a, b, how) in self.oriented() {
            out.push_str(&format!(
                "  {} -> {} [label={}];\n",
                quote(a),
                quote(b),
                quote(how)
            ));
        }
        out.push_str("}\n");
        out
    }

    /// Mermaid flowchart.
    pub fn mermaid(&self) -> String {
        let mut ids: BTreeMap<String, usize> = BTreeMap::new();
        let mut out = String::from("flowchart LR\n");
        let edges: Vec<(&str, &str, &str)> = self.oriented().collect();
        for (a, b, how) in edges {
            let mut id = |n: &str| {
                let next = ids.len();
                *ids.entry(n.to_string()).or_insert_with(|| {
                    out.push_str(&format!("  n{next}[\"{}\"]\n", n.replace('"', "'")));
                    next
                })
            };
            let (x, y) = (id(a), id(b));
            out.push_str(&format!("  n{x} -->|{}| n{y}\n", how.replace('|', "/")));
        }
        out
    }
}

fn quote(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

/// What changing a column would touch, by kind.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Impact {
    /// The column.
    pub column: String,
    /// Derived datasets (features, intermediate steps) and their affected columns.
    pub datasets: BTreeMap<String, BTreeSet<String>>,
    /// Loaded tables.
    pub tables: BTreeMap<String, BTreeSet<String>>,
    /// Training snapshots.
    pub snapshots: BTreeMap<String, BTreeSet<String>>,
    /// Models (name → features or labels derived from the column).
    pub models: BTreeMap<String, BTreeSet<String>>,
}

/// One upstream dataset that differs between two trainings.
#[derive(Debug, Clone, Serialize)]
pub struct DatasetChange {
    /// Dataset name.
    pub dataset: String,
    /// Version in the older training (None: not used then).
    pub from: Option<String>,
    /// Version in the newer training (None: not used any more).
    pub to: Option<String>,
    /// Rows before and after.
    pub rows: Option<(i64, i64)>,
    /// Schema, null-rate and distribution changes (statistics, never values).
    pub findings: Vec<DriftFinding>,
}

/// The root-cause view of two model versions.
#[derive(Debug, Clone, Serialize)]
pub struct ModelDiff {
    /// `NAME@A`.
    pub from: String,
    /// `NAME@B`.
    pub to: String,
    /// Metric changes: `name → (from, to)`.
    pub metrics: BTreeMap<String, (Option<f64>, Option<f64>)>,
    /// Upstream datasets whose versions differ, in upstream (run) order.
    pub changes: Vec<DatasetChange>,
    /// The most upstream change with findings: the likely cause.
    pub likely_cause: Option<String>,
}

impl Workspace {
    /// The lineage graph of every recorded run.
    pub async fn lineage_graph(&self) -> Result<Graph, EngineError> {
        Ok(Graph {
            edges: self.store().lineage_edges().await?,
        })
    }

    /// What changing `DATASET.COLUMN` (any version) would touch downstream.
    pub async fn lineage_impact(&self, text: &str) -> Result<Impact, EngineError> {
        let g = self.lineage_graph().await?;
        let a = g.resolve(text)?;
        let Some(column) = a.column.clone() else {
            return Err(EngineError::Workspace(format!(
                "{text:?} names a dataset; impact takes a column: DATASET.COLUMN, e.g. orders.amount"
            )));
        };
        let name = name_of(&a.dataset).to_string();
        let mut impact = Impact {
            column: format!("{name}.{column}"),
            ..Impact::default()
        };
        let versions: BTreeSet<String> = g
            .edges
            .iter()
            .flat_map(|e| [&e.output_dataset, &e.input_dataset])
            .filter(|d| name_of(d) == name)
            .cloned()
            .collect();
        for v in versions {
            let t = g.trace(
                &Artifact {
                    dataset: v,
                    column: Some(column.clone()),
                },
                Direction::Downstream,
            );
            for (_, to, _) in &t.edges {
                let (ds, col) = split_node(to);
                let n = name_of(&ds).to_string();
                let bucket = if let Some(m) = n.strip_prefix("model:") {
                    impact.models.entry(m.to_string())
                } else if n.starts_with("snapshots.") {
                    impact.snapshots.entry(n)
                } else if n.starts_with("warehouse.") || n.contains("://") {
                    impact.tables.entry(n)
                } else {
                    impact.datasets.entry(n)
                };
                bucket.or_default().insert(col);
            }
        }
        Ok(impact)
    }

    /// Which upstream dataset versions changed between two trainings of a model, and how.
    pub async fn lineage_diff(
        &self,
        model: &str,
        from: i64,
        to: i64,
    ) -> Result<ModelDiff, EngineError> {
        let a = self.model_version(model, Some(from)).await?;
        let b = self.model_version(model, Some(to)).await?;
        let ta: Training = serde_json::from_str(&a.training).unwrap_or_default();
        let tb: Training = serde_json::from_str(&b.training).unwrap_or_default();
        let by_name = |t: &Training| -> BTreeMap<String, String> {
            t.upstream
                .iter()
                .map(|v| (name_of(v).to_string(), v.clone()))
                .collect()
        };
        let (ma, mb) = (by_name(&ta), by_name(&tb));
        let mut order: Vec<String> = tb.upstream.iter().map(|v| name_of(v).to_string()).collect();
        for v in &ta.upstream {
            if !order.contains(&name_of(v).to_string()) {
                order.push(name_of(v).to_string());
            }
        }
        let mut changes = Vec::new();
        for name in order {
            let (va, vb) = (ma.get(&name), mb.get(&name));
            if va == vb {
                continue;
            }
            let mut loaded = Vec::new();
            for v in [va, vb] {
                loaded.push(match v {
                    Some(v) => {
                        self.store()
                            .dataset_version(name_of(v), version_of(v))
                            .await?
                    }
                    None => None,
                });
            }
            let (da, db) = (loaded[0].take(), loaded[1].take());
            let mut change = DatasetChange {
                dataset: name.clone(),
                from: va.cloned(),
                to: vb.cloned(),
                rows: None,
                findings: vec![],
            };
            if let (Some(da), Some(db)) = (&da, &db) {
                if da.content_hash == db.content_hash {
                    // Rewritten, not changed.
                    continue;
                }
                change.rows = Some((da.row_count, db.row_count));
                change.findings = crate::run::drift_between(
                    &parse_stats(&da.stats),
                    &parse_schema_json(&da.schema_json),
                    &parse_stats(&db.stats),
                    &parse_schema_json(&db.schema_json),
                );
                // The strongest finding first: how far past its threshold it is.
                change
                    .findings
                    .sort_by(|x, y| (y.value / y.threshold).total_cmp(&(x.value / x.threshold)));
            }
            changes.push(change);
        }
        let ma: BTreeMap<String, f64> = serde_json::from_str(&a.metrics).unwrap_or_default();
        let mb: BTreeMap<String, f64> = serde_json::from_str(&b.metrics).unwrap_or_default();
        let mut metrics = BTreeMap::new();
        for k in ma.keys().chain(mb.keys()) {
            metrics.insert(k.clone(), (ma.get(k).copied(), mb.get(k).copied()));
        }
        let likely_cause = changes.iter().find(|c| !c.findings.is_empty()).map(|c| {
            let f = &c.findings[0];
            format!(
                "{} column {}: {} ({} {:.3}, threshold {})",
                c.to.as_deref().unwrap_or(&c.dataset),
                f.column,
                f.detail,
                f.statistic,
                f.value,
                f.threshold
            )
        });
        Ok(ModelDiff {
            from: format!("{model}@{from}"),
            to: format!("{model}@{to}"),
            metrics,
            changes,
            likely_cause,
        })
    }
}

/// Splits `dataset@v.column` (dataset names may hold dots; the version ends them).
fn split_node(node: &str) -> (String, String) {
    match node.split_once('@') {
        Some((name, rest)) => match rest.split_once('.') {
            Some((v, c)) => (format!("{name}@{v}"), c.to_string()),
            None => (node.to_string(), String::new()),
        },
        None => (node.to_string(), String::new()),
    }
}
