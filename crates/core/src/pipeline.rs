//! Pipeline files (`pipelines/*.yaml`): a DAG of steps that ingest, transform, de-identify,
//! build features, check quality, load, snapshot and train. Parsing checks the whole shape
//! before anything runs: ids, dependencies (no unknown step, no cycle), the fields each kind
//! takes, and that every read declares a purpose. Errors give file:line:column, the field
//! and the fix.
//!
//! ```yaml
//! pipeline: churn_features
//! purpose: model_training        # the default purpose of every read
//! region: eu                     # where the steps run
//! role: ml_engineer              # the role the run acts as
//! steps:
//!   - id: orders
//!     kind: ingest
//!     source: data/orders/*.csv
//!     dataset: orders
//!   - id: clv
//!     kind: features
//!     needs: [orders]
//!     dataset: customer_features
//!     sql: SELECT customer_id, SUM(amount) AS customer_lifetime_value FROM orders GROUP BY customer_id
//!   - id: load
//!     kind: load
//!     needs: [clv]
//!     table: customer_features
//! ```

use std::collections::{BTreeMap, BTreeSet};

use serde::Deserialize;
use serde_saphyr::Spanned;

use crate::{CoreError, Located, Purpose, Region};

/// A validated pipeline.
#[derive(Debug, Clone, PartialEq)]
pub struct Pipeline {
    /// Pipeline name.
    pub name: String,
    /// Default purpose of every read.
    pub purpose: Option<Purpose>,
    /// Region the steps run in (default: the workspace's first region).
    pub region: Option<Region>,
    /// Role the run acts as in policy decisions.
    pub role: Option<String>,
    /// Steps, in file order.
    pub steps: Vec<Step>,
}

/// One step.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    /// Unique id; later steps and SQL refer to the step's output by it.
    pub id: String,
    /// Steps whose outputs this one reads.
    pub needs: Vec<String>,
    /// Purpose of this step's reads (overrides the pipeline's).
    pub purpose: Option<Purpose>,
    /// What it does.
    pub kind: StepKind,
    /// 1-based line of the step in its file.
    pub line: u64,
}

/// Where an ingest reads from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A CSV, JSONL or Parquet file, or a glob of them, relative to the workspace.
    Files(String),
    /// A table in SQLite, PostgreSQL or MySQL/MariaDB.
    Table {
        /// `sqlite://…`, `postgres://…` or `mysql://…` (no password: use the environment).
        url: String,
        /// Table name.
        table: String,
    },
}

/// Where a load writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoadTarget {
    /// The workspace warehouse, `.custodia/warehouse.db` (SQLite).
    Warehouse,
    /// A PostgreSQL or MySQL/MariaDB database.
    Database(String),
}

/// What a failed quality check does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnFailure {
    /// Stop the run.
    Block,
    /// Record and go on.
    Warn,
}

/// What a drift finding (schema change, null spike, distribution shift) does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DriftAction {
    /// Stop the run.
    Block,
    /// Record and go on (the default).
    Warn,
    /// No drift checks.
    Off,
}

/// How a load treats rows already in the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoadMode {
    /// The table holds exactly this run's rows afterwards (the default).
    Replace,
    /// This run's rows are added, once: a rerun of the same run adds nothing.
    Append,
}

/// Built-in model families.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algorithm {
    /// Binary classification.
    LogisticRegression,
    /// Regression.
    LinearRegression,
}

/// Who trains.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Trainer {
    /// A built-in model.
    Builtin {
        /// Model family.
        algorithm: Algorithm,
        /// Label column.
        target: String,
        /// Feature columns.
        features: Vec<String>,
    },
    /// An external program; Custodia hands it the declared inputs and records the outputs.
    Command {
        /// Program and arguments.
        command: Vec<String>,
        /// Files it writes (relative to its working folder).
        outputs: Vec<String>,
    },
}

/// What a step does.
#[derive(Debug, Clone, PartialEq)]
pub enum StepKind {
    /// Read a source into a dataset governed by a contract.
    Ingest {
        /// Where from.
        source: Source,
        /// The contract (dataset name) that governs it.
        dataset: String,
    },
    /// DataFusion SQL over earlier steps (each a table named by its id).
    Sql {
        /// The query.
        sql: String,
    },
    /// De-identify per a contract's transforms.
    Deidentify {
        /// Contract to apply (default: the input's dataset).
        contract: Option<String>,
    },
    /// Feature SQL whose output is a governed dataset.
    Features {
        /// The query.
        sql: String,
        /// The contract of the feature table.
        dataset: String,
    },
    /// Contract expectations and drift checks.
    Quality {
        /// Contract whose expectations apply (default: the input's dataset).
        contract: Option<String>,
        /// Block or warn.
        on_failure: OnFailure,
        /// What drift against the previous version does.
        drift: DriftAction,
    },
    /// Write into a table, idempotently per run.
    Load {
        /// Where.
        target: LoadTarget,
        /// Table name.
        table: String,
        /// Replace or append.
        mode: LoadMode,
    },
    /// A versioned training set.
    Snapshot {
        /// Snapshot name.
        name: String,
    },
    /// Train and register a model.
    Train {
        /// Model name.
        model: String,
        /// How.
        trainer: Trainer,
        /// A model card file (owner, risk, fairness, DPIA) the registered card starts from,
        /// relative to the workspace; Custodia fills in what it knows.
        card: Option<String>,
    },
}

impl StepKind {
    /// The kind's name as written in files.
    pub fn name(&self) -> &'static str {
        match self {
            StepKind::Ingest { .. } => "ingest",
            StepKind::Sql { .. } => "sql",
            StepKind::Deidentify { .. } => "deidentify",
            StepKind::Features { .. } => "features",
            StepKind::Quality { .. } => "quality",
            StepKind::Load { .. } => "load",
            StepKind::Snapshot { .. } => "snapshot",
            StepKind::Train { .. } => "train",
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPipeline {
    pipeline: Spanned<String>,
    purpose: Option<Spanned<String>>,
    region: Option<Spanned<String>>,
    role: Option<Spanned<String>>,
    steps: Spanned<Vec<RawStep>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStep {
    id: Spanned<String>,
    kind: Spanned<String>,
    #[serde(default)]
    needs: Option<Spanned<Vec<String>>>,
    purpose: Option<Spanned<String>>,
    source: Option<Spanned<String>>,
    table: Option<Spanned<String>>,
    dataset: Option<Spanned<String>>,
    sql: Option<Spanned<String>>,
    contract: Option<Spanned<String>>,
    on_failure: Option<Spanned<String>>,
    drift: Option<Spanned<String>>,
    target: Option<Spanned<String>>,
    mode: Option<Spanned<String>>,
    name: Option<Spanned<String>>,
    model: Option<Spanned<String>>,
    algorithm: Option<Spanned<String>>,
    label: Option<Spanned<String>>,
    features: Option<Spanned<Vec<String>>>,
    command: Option<Spanned<Vec<String>>>,
    outputs: Option<Spanned<Vec<String>>>,
    card: Option<Spanned<String>>,
}

const KINDS: &[&str] = &[
    "ingest",
    "sql",
    "deidentify",
    "features",
    "quality",
    "load",
    "snapshot",
    "train",
];

struct Cx<'a> {
    file: &'a str,
}

impl Cx<'_> {
    fn at<T>(&self, s: &Spanned<T>) -> Located {
        Located {
            file: self.file.to_string(),
            line: s.referenced.line(),
            column: s.referenced.column(),
        }
    }

    fn err<T>(&self, s: &Spanned<T>, field: &str, message: String, fix: &str) -> CoreError {
        CoreError::PipelineField {
            at: self.at(s),
            field: field.to_string(),
            message,
            fix: fix.to_string(),
        }
    }
}

/// A name usable as a SQL table and a file name: lower-case snake case.
fn is_name(s: &str) -> bool {
    Purpose::new(s).is_ok()
}

/// Database URLs a pipeline may name; passwords stay out of files that go into git.
fn check_url(cx: &Cx, s: &Spanned<String>, field: &str, schemes: &[&str]) -> Result<(), CoreError> {
    let url = &s.value;
    let Some((scheme, rest)) = url.split_once("://") else {
        return Err(cx.err(
            s,
            field,
            format!("{url:?} is not a database URL"),
            &format!(
                "use one of {}",
                schemes
                    .iter()
                    .map(|x| format!("{x}://…"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ));
    };
    if !schemes.contains(&scheme) {
        return Err(cx.err(
            s,
            field,
            format!("scheme `{scheme}` is not supported here"),
            &format!(
                "use one of {}",
                schemes
                    .iter()
                    .map(|x| format!("{x}://…"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ));
    }
    let authority = rest.split('/').next().unwrap_or("");
    if authority
        .rsplit_once('@')
        .is_some_and(|(user, _)| user.contains(':'))
    {
        return Err(cx.err(
            s,
            field,
            "the URL holds a password, which a pipeline file (shared, often in git) must not"
                .into(),
            "remove it and use PGPASSWORD / ~/.pgpass or MYSQL_PWD / ~/.my.cnf",
        ));
    }
    Ok(())
}

impl Pipeline {
    /// Parses and validates a pipeline; `file` labels errors.
    pub fn parse(file: &str, text: &str) -> Result<Pipeline, CoreError> {
        let raw: RawPipeline = serde_saphyr::from_str(text).map_err(|e| {
            let (at, message) = crate::contract::yaml_error(file, &e);
            CoreError::PipelineSyntax {
                at,
                message,
                fix: "see docs/pipelines.md for the fields of a pipeline and of each step kind"
                    .into(),
            }
        })?;
        raw.validate(&Cx { file })
    }

    /// Steps in an order where every step comes after the steps it needs (file order
    /// otherwise). [`Pipeline::parse`] refuses cycles; a hand-built cyclic pipeline yields
    /// only the steps outside the cycle.
    pub fn order(&self) -> Vec<&Step> {
        let mut done: BTreeSet<&str> = BTreeSet::new();
        let mut out = Vec::with_capacity(self.steps.len());
        loop {
            let before = out.len();
            for s in &self.steps {
                if !done.contains(s.id.as_str())
                    && s.needs.iter().all(|n| done.contains(n.as_str()))
                {
                    done.insert(&s.id);
                    out.push(s);
                }
            }
            if out.len() == before {
                return out;
            }
        }
    }

    /// The purpose a step's reads declare (its own, else the pipeline's).
    pub fn purpose_of<'a>(&'a self, step: &'a Step) -> Option<&'a Purpose> {
        step.purpose.as_ref().or(self.purpose.as_ref())
    }
}

impl RawPipeline {
    fn validate(self, cx: &Cx) -> Result<Pipeline, CoreError> {
        if !is_name(&self.pipeline.value) {
            return Err(cx.err(
                &self.pipeline,
                "pipeline",
                format!("{:?} is not a pipeline name", self.pipeline.value),
                "use lower-case snake case, e.g. `churn_features`",
            ));
        }
        let purpose = self
            .purpose
            .as_ref()
            .map(|p| {
                Purpose::new(&p.value).map_err(|e| {
                    cx.err(
                        p,
                        "purpose",
                        e.to_string(),
                        "purposes are lower-case snake case, e.g. `model_training`",
                    )
                })
            })
            .transpose()?;
        let region = self
            .region
            .as_ref()
            .map(|r| {
                Region::new(&r.value).map_err(|e| {
                    cx.err(
                        r,
                        "region",
                        e.to_string(),
                        "use a region of the workspace, e.g. `eu`",
                    )
                })
            })
            .transpose()?;
        let role = self.role.as_ref().map(|r| r.value.clone());
        if self.steps.value.is_empty() {
            return Err(cx.err(
                &self.steps,
                "steps",
                "the pipeline has no steps".into(),
                "list steps, each with an id and a kind",
            ));
        }
        let mut ids: BTreeMap<String, usize> = BTreeMap::new();
        for (i, s) in self.steps.value.iter().enumerate() {
            if !is_name(&s.id.value) {
                return Err(cx.err(
                    &s.id,
                    &format!("steps[{i}].id"),
                    format!("{:?} is not a step id", s.id.value),
                    "use lower-case snake case: the id names the step's output table in SQL",
                ));
            }
            if ids.insert(s.id.value.clone(), i).is_some() {
                return Err(cx.err(
                    &s.id,
                    &format!("steps[{i}].id"),
                    format!("step id {:?} is used twice", s.id.value),
                    "give every step its own id",
                ));
            }
        }
        let mut steps = Vec::new();
        for (i, s) in self.steps.value.into_iter().enumerate() {
            steps.push(s.validate(cx, i, &ids, purpose.is_some())?);
        }
        let p = Pipeline {
            name: self.pipeline.value,
            purpose,
            region,
            role,
            steps,
        };
        check_acyclic(cx, &p)?;
        Ok(p)
    }
}

fn check_acyclic(cx: &Cx, p: &Pipeline) -> Result<(), CoreError> {
    let ordered: BTreeSet<&str> = p.order().iter().map(|s| s.id.as_str()).collect();
    let cycle: Vec<&Step> = p
        .steps
        .iter()
        .filter(|s| !ordered.contains(s.id.as_str()))
        .collect();
    let Some(first) = cycle.first() else {
        return Ok(());
    };
    Err(CoreError::PipelineField {
        at: Located {
            file: cx.file.to_string(),
            line: first.line,
            column: 1,
        },
        field: "needs".into(),
        message: format!(
            "steps {:?} need each other in a cycle",
            cycle.iter().map(|s| s.id.as_str()).collect::<Vec<_>>()
        ),
        fix: "a step may need only steps that do not, directly or through others, need it".into(),
    })
}

impl RawStep {
    fn validate(
        self,
        cx: &Cx,
        i: usize,
        ids: &BTreeMap<String, usize>,
        pipeline_purpose: bool,
    ) -> Result<Step, CoreError> {
        let f = |name: &str| format!("steps[{i}].{name}");
        let kind = self.kind.value.as_str();
        if !KINDS.contains(&kind) {
            return Err(cx.err(
                &self.kind,
                &f("kind"),
                format!("unknown step kind {kind:?}"),
                &format!("use one of {}", KINDS.join(", ")),
            ));
        }
        // Fields that this kind does not take are errors, not silently ignored.
        let allowed: &[&str] = match kind {
            "ingest" => &["source", "table", "dataset"],
            "sql" => &["sql"],
            "deidentify" => &["contract"],
            "features" => &["sql", "dataset"],
            "quality" => &["contract", "on_failure", "drift"],
            "load" => &["target", "table", "mode"],
            "snapshot" => &["name"],
            _ => &[
                "model",
                "algorithm",
                "label",
                "features",
                "command",
                "outputs",
                "card",
            ],
        };
        let present: [(&str, Option<(u64, u64)>); 18] = [
            ("source", self.source.as_ref().map(pos)),
            ("table", self.table.as_ref().map(pos)),
            ("dataset", self.dataset.as_ref().map(pos)),
            ("sql", self.sql.as_ref().map(pos)),
            ("contract", self.contract.as_ref().map(pos)),
            ("on_failure", self.on_failure.as_ref().map(pos)),
            ("drift", self.drift.as_ref().map(pos)),
            ("target", self.target.as_ref().map(pos)),
            ("mode", self.mode.as_ref().map(pos)),
            ("name", self.name.as_ref().map(pos)),
            ("model", self.model.as_ref().map(pos)),
            ("algorithm", self.algorithm.as_ref().map(pos)),
            ("label", self.label.as_ref().map(pos)),
            ("features", self.features.as_ref().map(pos)),
            ("command", self.command.as_ref().map(pos)),
            ("outputs", self.outputs.as_ref().map(pos)),
            ("card", self.card.as_ref().map(pos)),
            ("purpose", None),
        ];
        for (name, at) in present {
            if let Some((line, column)) = at {
                if !allowed.contains(&name) {
                    return Err(CoreError::PipelineField {
                        at: Located {
                            file: cx.file.to_string(),
                            line,
                            column,
                        },
                        field: f(name),
                        message: format!("a {kind} step does not take `{name}`"),
                        fix: format!("a {kind} step takes {}", allowed.join(", ")),
                    });
                }
            }
        }
        let required =
            |v: &Option<Spanned<String>>, name: &str, fix: &str| -> Result<String, CoreError> {
                match v {
                    Some(s) if !s.value.trim().is_empty() => Ok(s.value.clone()),
                    Some(s) => Err(cx.err(s, &f(name), format!("`{name}` is empty"), fix)),
                    None => Err(cx.err(
                        &self.kind,
                        &f(name),
                        format!("a {kind} step needs `{name}`"),
                        fix,
                    )),
                }
            };
        let name_field =
            |v: &Option<Spanned<String>>, name: &str, fix: &str| -> Result<String, CoreError> {
                let s = required(v, name, fix)?;
                if !is_name(&s) {
                    let at = v.as_ref().expect("required checked it");
                    return Err(cx.err(
                        at,
                        &f(name),
                        format!("{s:?} is not a name"),
                        "use lower-case snake case, e.g. `customer_features`",
                    ));
                }
                Ok(s)
            };
        let needs: Vec<String> = self
            .needs
            .as_ref()
            .map(|n| n.value.clone())
            .unwrap_or_default();
        if let Some(n) = &self.needs {
            for dep in &n.value {
                if !ids.contains_key(dep) {
                    return Err(cx.err(
                        n,
                        &f("needs"),
                        format!("step {dep:?} does not exist"),
                        &format!(
                            "need one of {}",
                            ids.keys().cloned().collect::<Vec<_>>().join(", ")
                        ),
                    ));
                }
                if dep == &self.id.value {
                    return Err(cx.err(
                        n,
                        &f("needs"),
                        "a step cannot need itself".into(),
                        "remove it from needs",
                    ));
                }
            }
        }
        if kind == "ingest" && !needs.is_empty() {
            return Err(cx.err(
                self.needs.as_ref().expect("non-empty"),
                &f("needs"),
                "an ingest step reads a source, not other steps".into(),
                "remove needs, or make it a sql step",
            ));
        }
        if kind != "ingest" && needs.is_empty() {
            return Err(cx.err(
                &self.kind,
                &f("needs"),
                format!("a {kind} step reads earlier steps but needs none"),
                "list the steps it reads in needs: [...]",
            ));
        }
        let purpose = self
            .purpose
            .as_ref()
            .map(|p| {
                Purpose::new(&p.value).map_err(|e| {
                    cx.err(
                        p,
                        &f("purpose"),
                        e.to_string(),
                        "purposes are lower-case snake case",
                    )
                })
            })
            .transpose()?;
        if matches!(kind, "ingest" | "snapshot") && purpose.is_none() && !pipeline_purpose {
            return Err(cx.err(
                &self.kind,
                &f("purpose"),
                "this read declares no purpose".into(),
                "set purpose: on the pipeline or on the step (every read declares one)",
            ));
        }
        let step_kind = match kind {
            "ingest" => {
                let src = required(
                    &self.source,
                    "source",
                    "a file or glob (data/orders/*.csv) or a database URL with table:",
                )?;
                let dataset = name_field(
                    &self.dataset,
                    "dataset",
                    "name the contract that governs the data",
                )?;
                let source = if src.contains("://") {
                    let s = self.source.as_ref().expect("required checked it");
                    check_url(
                        cx,
                        s,
                        &f("source"),
                        &["sqlite", "postgres", "postgresql", "mysql"],
                    )?;
                    let table = required(&self.table, "table", "name the table to read")?;
                    Source::Table { url: src, table }
                } else {
                    if let Some(t) = &self.table {
                        return Err(cx.err(
                            t,
                            &f("table"),
                            "`table` applies to database sources only".into(),
                            "remove it, or give a database URL as source",
                        ));
                    }
                    Source::Files(src)
                };
                StepKind::Ingest { source, dataset }
            }
            "sql" => StepKind::Sql {
                sql: required(&self.sql, "sql", "write a SELECT over the steps in needs")?,
            },
            "deidentify" => StepKind::Deidentify {
                contract: self.contract.map(|c| c.value),
            },
            "features" => StepKind::Features {
                sql: required(&self.sql, "sql", "write a SELECT over the steps in needs")?,
                dataset: name_field(
                    &self.dataset,
                    "dataset",
                    "name the contract of the feature table",
                )?,
            },
            "quality" => StepKind::Quality {
                contract: self.contract.map(|c| c.value),
                on_failure: match self.on_failure.as_ref().map(|o| o.value.as_str()) {
                    None | Some("block") => OnFailure::Block,
                    Some("warn") => OnFailure::Warn,
                    Some(other) => {
                        return Err(cx.err(
                            self.on_failure.as_ref().expect("some"),
                            &f("on_failure"),
                            format!("{other:?} is not block or warn"),
                            "use block (the default) or warn",
                        ))
                    }
                },
                drift: match self.drift.as_ref().map(|o| o.value.as_str()) {
                    None | Some("warn") => DriftAction::Warn,
                    Some("block") => DriftAction::Block,
                    Some("off") => DriftAction::Off,
                    Some(other) => {
                        return Err(cx.err(
                            self.drift.as_ref().expect("some"),
                            &f("drift"),
                            format!("{other:?} is not warn, block or off"),
                            "use warn (the default), block or off",
                        ))
                    }
                },
            },
            "load" => {
                let target = match &self.target {
                    None => LoadTarget::Warehouse,
                    Some(t) if t.value == "warehouse" => LoadTarget::Warehouse,
                    Some(t) => {
                        check_url(cx, t, &f("target"), &["postgres", "postgresql", "mysql"])?;
                        LoadTarget::Database(t.value.clone())
                    }
                };
                StepKind::Load {
                    target,
                    table: name_field(&self.table, "table", "name the table to load into")?,
                    mode: match self.mode.as_ref().map(|m| m.value.as_str()) {
                        None | Some("replace") => LoadMode::Replace,
                        Some("append") => LoadMode::Append,
                        Some(other) => {
                            return Err(cx.err(
                                self.mode.as_ref().expect("some"),
                                &f("mode"),
                                format!("{other:?} is not replace or append"),
                                "use replace (the default) or append",
                            ))
                        }
                    },
                }
            }
            "snapshot" => StepKind::Snapshot {
                name: name_field(&self.name, "name", "name the training set")?,
            },
            _ => {
                let model = name_field(&self.model, "model", "name the model")?;
                let trainer = match (&self.algorithm, &self.command) {
                    (Some(a), None) => {
                        let algorithm = match a.value.as_str() {
                            "logistic_regression" => Algorithm::LogisticRegression,
                            "linear_regression" => Algorithm::LinearRegression,
                            other => return Err(cx.err(a, &f("algorithm"), format!("unknown algorithm {other:?}"), "use logistic_regression or linear_regression, or command: for an external trainer")),
                        };
                        let features = self
                            .features
                            .as_ref()
                            .map(|x| x.value.clone())
                            .unwrap_or_default();
                        if features.is_empty() {
                            return Err(cx.err(
                                a,
                                &f("features"),
                                "a built-in model needs feature columns".into(),
                                "list them in features: [...]",
                            ));
                        }
                        if let Some(o) = &self.outputs {
                            return Err(cx.err(
                                o,
                                &f("outputs"),
                                "`outputs` applies to command trainers".into(),
                                "remove it",
                            ));
                        }
                        Trainer::Builtin {
                            algorithm,
                            target: required(&self.label, "label", "name the label column")?,
                            features,
                        }
                    }
                    (None, Some(c)) => {
                        if c.value.is_empty() {
                            return Err(cx.err(
                                c,
                                &f("command"),
                                "the command is empty".into(),
                                "give the program and its arguments, e.g. [python, train.py]",
                            ));
                        }
                        for (name, v) in [
                            ("label", self.label.as_ref().map(pos)),
                            ("features", self.features.as_ref().map(pos)),
                        ] {
                            if let Some((line, column)) = v {
                                return Err(CoreError::PipelineField { at: Located { file: cx.file.to_string(), line, column }, field: f(name), message: format!("`{name}` applies to built-in models"), fix: "the command reads its inputs from the files Custodia hands it".into() });
                            }
                        }
                        Trainer::Command {
                            command: c.value.clone(),
                            outputs: self.outputs.map(|o| o.value).unwrap_or_default(),
                        }
                    }
                    (Some(a), Some(_)) => {
                        return Err(cx.err(
                            a,
                            &f("algorithm"),
                            "a train step has either algorithm or command, not both".into(),
                            "keep one",
                        ))
                    }
                    (None, None) => {
                        return Err(cx.err(
                            &self.kind,
                            &f("algorithm"),
                            "a train step needs algorithm (built-in) or command (external)".into(),
                            "add one",
                        ))
                    }
                };
                StepKind::Train {
                    model,
                    trainer,
                    card: self.card.map(|c| c.value),
                }
            }
        };
        Ok(Step {
            id: self.id.value.clone(),
            needs,
            purpose,
            kind: step_kind,
            line: self.id.referenced.line(),
        })
    }
}

fn pos<T>(s: &Spanned<T>) -> (u64, u64) {
    (s.referenced.line(), s.referenced.column())
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXAMPLE: &str = "pipeline: churn_features\npurpose: model_training\nregion: eu\nrole: ml_engineer\nsteps:\n  - id: orders\n    kind: ingest\n    source: data/orders/*.csv\n    dataset: orders\n  - id: customers\n    kind: ingest\n    source: postgres://etl@db.internal/crm\n    table: customers\n    dataset: customers\n  - id: clv\n    kind: features\n    needs: [orders, customers]\n    dataset: customer_features\n    sql: SELECT customer_id, SUM(amount) AS customer_lifetime_value FROM orders GROUP BY customer_id\n  - id: checks\n    kind: quality\n    needs: [clv]\n    on_failure: warn\n  - id: load\n    kind: load\n    needs: [clv]\n    table: customer_features\n  - id: snap\n    kind: snapshot\n    needs: [clv]\n    name: churn_training\n  - id: train\n    kind: train\n    needs: [snap]\n    model: churn\n    algorithm: logistic_regression\n    label: churned\n    features: [customer_lifetime_value]\n";

    #[test]
    fn parses_the_example_in_dependency_order() {
        let p = Pipeline::parse("p.yaml", EXAMPLE).unwrap();
        assert_eq!(p.steps.len(), 7);
        assert_eq!(p.steps[2].line, 15);
        let order: Vec<&str> = p.order().iter().map(|s| s.id.as_str()).collect();
        assert_eq!(
            order,
            vec![
                "orders",
                "customers",
                "clv",
                "checks",
                "load",
                "snap",
                "train"
            ]
        );
        assert!(
            matches!(&p.steps[1].kind, StepKind::Ingest { source: Source::Table { table, .. }, .. } if table == "customers")
        );
        assert_eq!(
            p.purpose_of(&p.steps[0]).unwrap().as_str(),
            "model_training"
        );
    }

    fn err(text: &str) -> String {
        Pipeline::parse("p.yaml", text).unwrap_err().to_string()
    }

    #[test]
    fn errors_name_line_field_and_fix() {
        let e = err(&EXAMPLE.replace("needs: [snap]", "needs: [snapshot]"));
        assert!(
            e.starts_with("p.yaml:34:")
                && e.contains("steps[6].needs")
                && e.contains("\"snapshot\" does not exist"),
            "{e}"
        );
        let e = err(&EXAMPLE.replace(
            "    on_failure: warn\n",
            "    on_failure: warn\n    sql: SELECT 1\n",
        ));
        assert!(
            e.contains("a quality step does not take `sql`") && e.contains("p.yaml:24:"),
            "{e}"
        );
        let e = err(&EXAMPLE.replace("purpose: model_training\n", ""));
        assert!(
            e.contains("declares no purpose") && e.contains("steps[0].purpose"),
            "{e}"
        );
        let e = err(&EXAMPLE.replace("postgres://etl@db", "postgres://etl:hunter2@db"));
        assert!(e.contains("password") && !e.contains("hunter2"), "{e}");
        let e = err(&EXAMPLE.replace("kind: snapshot", "kind: snapshoot"));
        assert!(
            e.contains("unknown step kind") && e.contains("snapshot"),
            "{e}"
        );
        let e = err(&EXAMPLE.replace("  - id: load", "  - id: clv"));
        assert!(e.contains("used twice"), "{e}");
        let e = err("pipeline: p\npurpose: x\nsteps:\n  - id: a\n    kind: sql\n    needs: [b]\n    sql: SELECT 1\n  - id: b\n    kind: sql\n    needs: [a]\n    sql: SELECT 2\n");
        assert!(e.contains("cycle") && e.contains("\"a\""), "{e}");
        let e = err("pipeline: p\nsteps: [\n");
        assert!(
            e.starts_with("p.yaml:") && e.contains("docs/pipelines.md"),
            "{e}"
        );
        let e = err(&EXAMPLE.replace("algorithm: logistic_regression", "algorithm: random_forest"));
        assert!(e.contains("unknown algorithm"), "{e}");
    }
}
