//! Policy as code for Custodia: Rego evaluated in-process with `regorus`.
//!
//! A built-in bundle ([`BUILTIN`]) decides purpose limitation, jurisdictions (GDPR, UK GDPR,
//! CCPA/CPRA, LGPD, PIPL; the most restrictive wins), residency and access. Workspaces tune it
//! with a params override and extend it with `package custodia.ext.*` rules, whose denials
//! and obligations the decision collects; they cannot replace or switch off a built-in
//! package. Policy decides *what* applies; the engine applies it to data in bulk.
//!
//! This crate does no I/O: callers hand it file contents.
#![deny(missing_docs)]

mod decision;
mod error;
mod input;
mod params;

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

pub use decision::{
    Decision, Denial, FilterKind, Jurisdictions, ModelDecision, Obligation, Requirement,
};
pub use error::PolicyError;
pub use input::{
    Action, Actor, ActorAttributes, BreakGlass, ColumnInput, DatasetInput, DecisionInput, Grant,
    PurposeInput,
};

/// The built-in bundle: (path as errors show it, Rego source).
pub const BUILTIN: &[(&str, &str)] = &[
    ("builtin/lib.rego", include_str!("../bundle/lib.rego")),
    (
        "builtin/purpose.rego",
        include_str!("../bundle/purpose.rego"),
    ),
    (
        "builtin/jurisdiction.rego",
        include_str!("../bundle/jurisdiction.rego"),
    ),
    (
        "builtin/residency.rego",
        include_str!("../bundle/residency.rego"),
    ),
    ("builtin/access.rego", include_str!("../bundle/access.rego")),
    ("builtin/model.rego", include_str!("../bundle/model.rego")),
    (
        "builtin/decision.rego",
        include_str!("../bundle/decision.rego"),
    ),
];

/// The built-in parameters (`data.custodia.params`): purposes and their legal bases, laws,
/// roles. A workspace's `policies/params.json` is merged over them, key by key.
pub const BUILTIN_PARAMS: &str = include_str!("../bundle/params.json");

/// The query behind every access decision.
pub const DECISION_QUERY: &str = "data.custodia.decision.decision";
/// The query behind model promotion checks.
pub const MODEL_QUERY: &str = "data.custodia.model.decision";

/// A file handed to [`Policy::load`].
#[derive(Debug, Clone)]
pub struct PolicyFile {
    /// Its path, as errors should show it.
    pub path: PathBuf,
    /// Its text.
    pub text: String,
}

/// What a workspace adds to the built-in bundle.
#[derive(Debug, Clone, Default)]
pub struct PolicySources {
    /// `policies/*.rego`.
    pub rego: Vec<PolicyFile>,
    /// `policies/params.json`, merged over [`BUILTIN_PARAMS`].
    pub params: Option<PolicyFile>,
    /// Workspace configuration the rules read as `data.custodia.config` (transfers).
    pub config: serde_json::Value,
}

/// One `test_` rule's outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestOutcome {
    /// File it is in.
    pub path: PathBuf,
    /// `data.<package>.<rule>`.
    pub name: String,
    /// Passed, failed (false or undefined), or errored (the message).
    pub result: TestResult,
}

/// How a test ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TestResult {
    /// The rule was true.
    Pass,
    /// The rule was false or undefined.
    Fail,
    /// Evaluation failed.
    Error(String),
}

/// A loaded policy: the built-in bundle plus a workspace's additions. Cloning is cheap
/// enough to give each thread its own.
#[derive(Clone)]
pub struct Policy {
    engine: regorus::Engine,
    digest: String,
    user_rego: Vec<(PolicyFile, String)>,
}

impl Policy {
    /// The built-in bundle alone.
    pub fn builtin() -> Result<Policy, PolicyError> {
        Policy::load(&PolicySources::default())
    }

    /// The built-in bundle plus a workspace's files. Every file is parsed here, so a bad
    /// one fails with its file:line before anything is decided.
    pub fn load(sources: &PolicySources) -> Result<Policy, PolicyError> {
        let mut engine = regorus::Engine::new();
        let mut hash = Sha256::new();
        for (path, text) in BUILTIN {
            engine
                .add_policy((*path).to_string(), (*text).to_string())
                .map_err(|e| PolicyError::from_regorus(path, &e))?;
            hash.update(text.as_bytes());
        }
        let mut params: serde_json::Value =
            serde_json::from_str(BUILTIN_PARAMS).expect("built-in params are valid JSON");
        hash.update(BUILTIN_PARAMS.as_bytes());
        if let Some(f) = &sources.params {
            let over: serde_json::Value =
                serde_json::from_str(&f.text).map_err(|e| PolicyError::Data {
                    path: f.path.clone(),
                    message: format!(
                        "line {} column {}: {e}; fix: it is a JSON object merged over the built-in params (custodia policy params prints them)",
                        e.line(),
                        e.column()
                    ),
                })?;
            params::apply_override(&mut params, over, &f.path)?;
            hash.update(f.text.as_bytes());
        }
        let mut user_rego = Vec::new();
        for f in &sources.rego {
            let label = f.path.display().to_string();
            let package = engine
                .add_policy(label.clone(), f.text.clone())
                .map_err(|e| PolicyError::from_regorus(&label, &e))?;
            if is_nested_ext(&package) {
                return Err(PolicyError::Reserved {
                    path: f.path.clone(),
                    line: package_line(&f.text),
                    package: package.trim_start_matches("data.").to_string(),
                });
            }
            if is_reserved(&package) {
                return Err(PolicyError::Reserved {
                    path: f.path.clone(),
                    line: package_line(&f.text),
                    package: package.trim_start_matches("data.").to_string(),
                });
            }
            hash.update(f.path.display().to_string().as_bytes());
            hash.update(f.text.as_bytes());
            user_rego.push((f.clone(), package));
        }
        let config = if sources.config.is_null() {
            serde_json::json!({})
        } else {
            sources.config.clone()
        };
        hash.update(config.to_string().as_bytes());
        let data = serde_json::json!({"custodia": {"params": params, "config": config}});
        engine
            .add_data(
                regorus::Value::from_json_str(&data.to_string())
                    .expect("serde_json output is valid JSON"),
            )
            .map_err(|e| PolicyError::Eval {
                query: "data".into(),
                message: e.to_string(),
            })?;
        let mut policy = Policy {
            engine,
            digest: hex::encode(hash.finalize()),
            user_rego,
        };
        // Compile-time errors (unsafe variables, conflicts in rule heads) surface on the
        // first evaluation: make it now, with an empty request.
        policy.decide(&DecisionInput::default())?;
        Ok(policy)
    }

    /// SHA-256 over every source and parameter in force: recorded with each decision, so
    /// an auditor knows exactly which policy made it.
    pub fn digest(&self) -> &str {
        &self.digest
    }

    /// Decides a request.
    pub fn decide(&mut self, input: &DecisionInput) -> Result<Decision, PolicyError> {
        let value = self.eval(
            &serde_json::to_value(input).expect("inputs serialise"),
            DECISION_QUERY,
        )?;
        let mut d: Decision = from_output(DECISION_QUERY, value)?;
        d.denials.sort_by(|a, b| a.rule.cmp(&b.rule));
        Ok(d)
    }

    /// Checks a model card promotion (`input` as in `model.rego`).
    pub fn decide_model(
        &mut self,
        input: &serde_json::Value,
    ) -> Result<ModelDecision, PolicyError> {
        let value = self.eval(input, MODEL_QUERY)?;
        from_output(MODEL_QUERY, value)
    }

    /// Only the purpose-limitation denials for a request: what `custodia check` asks of
    /// each purpose a contract declares.
    pub fn purpose_denials(&mut self, input: &DecisionInput) -> Result<Vec<Denial>, PolicyError> {
        let q = "data.custodia.purpose.deny";
        let value = self.eval(&serde_json::to_value(input).expect("inputs serialise"), q)?;
        from_output(q, value)
    }

    /// Evaluates any rule or query path (`data.custodia.access.obligations`) on an input.
    /// `null` when undefined.
    pub fn query(
        &mut self,
        input: &serde_json::Value,
        query: &str,
    ) -> Result<serde_json::Value, PolicyError> {
        self.eval(input, query)
    }

    fn eval(
        &mut self,
        input: &serde_json::Value,
        query: &str,
    ) -> Result<serde_json::Value, PolicyError> {
        let eval_err = |e: &dyn std::fmt::Display| PolicyError::Eval {
            query: query.to_string(),
            message: e.to_string().trim().to_string(),
        };
        self.engine.set_input(
            regorus::Value::from_json_str(&input.to_string()).map_err(|e| eval_err(&e))?,
        );
        let value = self
            .engine
            .eval_rule(query.to_string())
            .map_err(|e| eval_err(&e))?;
        if value == regorus::Value::Undefined {
            return Ok(serde_json::Value::Null);
        }
        let text = value.to_json_str().map_err(|e| eval_err(&e))?;
        serde_json::from_str(&text).map_err(|e| eval_err(&e))
    }

    /// Runs every `test_` rule of the workspace's Rego files (like `opa test`).
    pub fn run_tests(&mut self) -> Vec<TestOutcome> {
        let mut out = Vec::new();
        let files = self.user_rego.clone();
        for (f, package) in files {
            for name in test_rules(&f.text) {
                let query = format!("{package}.{name}");
                let result = match self.eval(&serde_json::json!({}), &query) {
                    Ok(serde_json::Value::Bool(true)) => TestResult::Pass,
                    Ok(_) => TestResult::Fail,
                    Err(e) => TestResult::Error(e.to_string()),
                };
                out.push(TestOutcome {
                    path: f.path.clone(),
                    name: query,
                    result,
                });
            }
        }
        out
    }

    /// The workspace Rego files loaded, with their packages.
    pub fn workspace_packages(&self) -> impl Iterator<Item = (&Path, &str)> {
        self.user_rego
            .iter()
            .map(|(f, p)| (f.path.as_path(), p.as_str()))
    }
}

/// Built-in packages belong to the bundle; workspaces extend under `custodia.ext`.
fn is_reserved(package: &str) -> bool {
    let p = package.trim_start_matches("data.");
    (p == "custodia" || p.starts_with("custodia.")) && !p.starts_with("custodia.ext.")
}

/// `custodia.ext.a.b`: the decision collects `custodia.ext.<name>.deny` only, so rules one
/// level deeper would never count.
fn is_nested_ext(package: &str) -> bool {
    package
        .trim_start_matches("data.")
        .strip_prefix("custodia.ext.")
        .is_some_and(|rest| rest.contains('.'))
}

fn package_line(text: &str) -> u32 {
    text.lines()
        .position(|l| l.trim_start().starts_with("package "))
        .map_or(0, |i| i as u32 + 1)
}

/// Names of `test_` rules, in file order, each once.
fn test_rules(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for line in text.lines() {
        if !line.starts_with("test_") {
            continue;
        }
        let name: String = line
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        if !out.contains(&name) {
            out.push(name);
        }
    }
    out
}

fn from_output<T: serde::de::DeserializeOwned>(
    query: &str,
    value: serde_json::Value,
) -> Result<T, PolicyError> {
    serde_json::from_value(value).map_err(|e| PolicyError::Output {
        query: query.to_string(),
        message: format!(
            "{e}; fix: a denial is {{\"rule\", \"message\", \"fix\"}} and an obligation one of the kinds in docs/policy.md"
        ),
    })
}

/// Merges `over` into `base`: objects key by key, anything else replaced.
pub(crate) fn merge(base: &mut serde_json::Value, over: serde_json::Value) {
    match (base, over) {
        (serde_json::Value::Object(b), serde_json::Value::Object(o)) => {
            for (k, v) in o {
                match b.get_mut(&k) {
                    Some(slot) => merge(slot, v),
                    None => {
                        b.insert(k, v);
                    }
                }
            }
        }
        (slot, v) => *slot = v,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reserved_packages() {
        assert!(is_reserved("data.custodia.decision"));
        assert!(is_reserved("data.custodia"));
        assert!(!is_reserved("data.custodia.ext.team"));
        assert!(!is_reserved("data.acme.rules"));
        assert!(!is_reserved("data.custodiax"));
    }

    #[test]
    fn test_rule_names() {
        let t =
            "package x\ntest_a if true\ntest_a if false\n  test_indented if true\ntest_b := true\n";
        assert_eq!(test_rules(t), vec!["test_a", "test_b"]);
    }
}
