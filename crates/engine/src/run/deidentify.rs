//! `deidentify` steps: a contract's column transforms applied inside the DataFusion plan,
//! one projection whose expressions all read the original columns (so a transformed
//! subject key does not change whose key encrypts the other columns).
//!
//! `tokenize` in a contract with a `subject_key` encrypts under each subject's own data
//! key (created on first use, audited), so erasing a person later is shredding one key.

use std::{
    collections::{BTreeMap, HashMap},
    sync::Arc,
};

use arrow::{
    array::{Array, AsArray, StringArray},
    compute::cast,
    datatypes::DataType,
};
use custodia_core::{Contract, EntityType, Operator, SubjectId};
use custodia_detect::{Analyzer, AnalyzerConfig, DeidOutcome, Deidentifier};
use datafusion::{
    logical_expr::{create_udf, ColumnarValue, Volatility},
    prelude::{cast as cast_expr, ident, DataFrame},
};

use super::{df_err, subjects::subject_kind, StepError};
use crate::{audit_log::NewEntry, keyring::SubjectDataKey, workspace::Workspace, EngineError};

impl Workspace {
    /// Rewrites `frame` per the contract's transforms. Returns the frame and the applied
    /// `column:operator` list.
    pub(super) async fn deidentify_frame(
        &self,
        id: &str,
        frame: DataFrame,
        contract: &Contract,
    ) -> Result<(DataFrame, Vec<String>), StepError> {
        super::check_declared(id, &frame, contract)?;
        let present = |c: &str| frame.schema().field_with_unqualified_name(c).is_ok();
        let missing: Vec<&str> = contract
            .columns
            .iter()
            .filter(|c| c.transform.is_some() && !present(&c.name))
            .map(|c| c.name.as_str())
            .collect();
        if !missing.is_empty() {
            return Err(StepError::from(EngineError::Workspace(format!(
                "step {id:?}: contract {:?} transforms columns its input does not have: {}; check the column names or the steps before it",
                contract.dataset,
                missing.join(", ")
            ))));
        }
        let rules: HashMap<&str, (&Operator, Option<EntityType>)> = contract
            .columns
            .iter()
            .filter_map(|c| c.transform.as_ref().map(|t| (c.name.as_str(), (t, c.pii))))
            .collect();
        let d = Arc::new(Deidentifier::new(self.master()));
        let analyzer = if rules.values().any(|(_, e)| e.is_none()) {
            Some(Arc::new(
                Analyzer::new(AnalyzerConfig::default()).map_err(EngineError::from)?,
            ))
        } else {
            None
        };
        // Per-subject keys, when tokenize meets a subject key.
        let key_col = contract.subject_key.as_deref().filter(|k| present(k));
        let subject_keys = match key_col {
            Some(k)
                if rules
                    .values()
                    .any(|(op, _)| matches!(op, Operator::Tokenize)) =>
            {
                Some(Arc::new(self.subject_keys(id, &frame, contract, k).await?))
            }
            _ => None,
        };
        let mut exprs = Vec::new();
        let mut applied = Vec::new();
        for field in frame.schema().fields() {
            let name = field.name().as_str();
            let Some((op, entity)) = rules.get(name) else {
                exprs.push(ident(name));
                continue;
            };
            let (op, entity) = ((*op).clone(), *entity);
            applied.push(format!("{name}:{}", op.name()));
            let text = cast_expr(ident(name), DataType::Utf8);
            let expr = match (&op, &subject_keys, key_col) {
                (Operator::Tokenize, Some(keys), Some(k)) => {
                    let keys = keys.clone();
                    let analyzer = analyzer.clone();
                    udf(
                        "custodia_tokenize_subject",
                        2,
                        Arc::new(move |cols: &[&StringArray], i| {
                            let v = cols[0].value(i);
                            let Some(key) = (!cols[1].is_null(i))
                                .then(|| keys.get(cols[1].value(i)))
                                .flatten()
                            else {
                                // No valid subject: no key to encrypt under; redact.
                                return String::new();
                            };
                            match (&analyzer, entity) {
                                (Some(a), None) => encrypt_spans(a, key, v),
                                _ => key.encrypt(v),
                            }
                        }),
                    )
                    .call(vec![text, cast_expr(ident(k), DataType::Utf8)])
                }
                _ => {
                    let d = d.clone();
                    let analyzer = analyzer.clone();
                    udf(
                        "custodia_deidentify",
                        1,
                        Arc::new(move |cols: &[&StringArray], i| {
                            let v = cols[0].value(i);
                            match (&analyzer, entity) {
                                (Some(a), None) => d.apply_text(&op, v, &a.analyze(v)).0,
                                (_, e) => match d.apply_value_or_redact(&op, e, v) {
                                    DeidOutcome::Applied(out) => out,
                                    DeidOutcome::FellBackToRedact => match e {
                                        Some(e) => format!("<{e}>"),
                                        None => "<REDACTED>".into(),
                                    },
                                },
                            }
                        }),
                    )
                    .call(vec![text])
                }
            };
            exprs.push(expr.alias(name));
        }
        let frame = frame.select(exprs).map_err(|e| df_err(id, e))?;
        Ok((frame, applied))
    }

    /// Every subject's data key (created and audited where missing), by the subject
    /// column's text value.
    async fn subject_keys(
        &self,
        id: &str,
        frame: &DataFrame,
        contract: &Contract,
        key: &str,
    ) -> Result<HashMap<String, SubjectDataKey>, StepError> {
        let region = self.contract_region(contract);
        let kind = subject_kind(contract, key);
        let values = frame
            .clone()
            .aggregate(
                vec![cast_expr(ident(key), DataType::Utf8).alias("k")],
                vec![],
            )
            .map_err(|e| df_err(id, e))?
            .collect()
            .await
            .map_err(|e| df_err(id, e))?;
        let mut out = HashMap::new();
        let mut created = Vec::new();
        let mut tx = self
            .store()
            .begin_write()
            .await
            .map_err(EngineError::from)?;
        for b in &values {
            let col = b.column(0).as_string::<i32>();
            for v in col.iter().flatten() {
                let Ok(sid) = SubjectId::new(kind, v) else {
                    continue;
                };
                let r = self.subject_ref(&sid, &region);
                let (k, new) = self.ensure_subject_key(&mut tx, &region, &r).await?;
                if new {
                    created.push(r);
                }
                out.insert(v.to_string(), k);
            }
        }
        if created.is_empty() {
            drop(tx);
        } else {
            let mut counts = BTreeMap::new();
            counts.insert("keys_created".into(), created.len() as u64);
            let mut details = BTreeMap::new();
            details.insert("step".into(), id.to_string());
            self.commit_recorded(
                tx,
                vec![NewEntry {
                    action: "key.create".into(),
                    object: format!("region:{region}"),
                    subjects: created,
                    counts,
                    details,
                }],
            )
            .await?;
        }
        Ok(out)
    }
}

fn encrypt_spans(analyzer: &Analyzer, key: &SubjectDataKey, text: &str) -> String {
    let mut out = String::with_capacity(text.len() * 2);
    let mut at = 0;
    for f in analyzer.analyze(text) {
        out.push_str(&text[at..f.start]);
        out.push_str(&key.encrypt(&text[f.start..f.end]));
        at = f.end;
    }
    out.push_str(&text[at..]);
    out
}

type RowFn = Arc<dyn Fn(&[&StringArray], usize) -> String + Send + Sync>;

/// A UDF over `arity` text arguments that maps each row with `f`; a null first argument
/// stays null.
fn udf(name: &str, arity: usize, f: RowFn) -> datafusion::logical_expr::ScalarUDF {
    create_udf(
        name,
        vec![DataType::Utf8; arity],
        DataType::Utf8,
        Volatility::Immutable,
        Arc::new(move |args: &[ColumnarValue]| {
            let arrays = ColumnarValue::values_to_arrays(args)?;
            let texts: Vec<_> = arrays
                .iter()
                .map(|a| cast(a, &DataType::Utf8))
                .collect::<Result<_, _>>()?;
            let cols: Vec<&StringArray> = texts.iter().map(|a| a.as_string::<i32>()).collect();
            let out: StringArray = (0..cols[0].len())
                .map(|i| (!cols[0].is_null(i)).then(|| f(&cols, i)))
                .collect();
            Ok(ColumnarValue::Array(Arc::new(out)))
        }),
    )
}
