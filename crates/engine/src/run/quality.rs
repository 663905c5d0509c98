//! `quality` steps: a contract's expectations checked in one aggregate pass over the data,
//! and drift against the dataset's previous version computed from the stored statistics.
//!
//! Results never hold values (the Great Expectations leak of "unexpected values"): a
//! failing check says how many rows fail and names a few of them by SubjectRef (when the
//! data has a subject key) or by row number in the step's output file.

use arrow::{
    array::{Array, AsArray},
    compute::cast,
    datatypes::{DataType, Int64Type, TimeUnit},
};
use custodia_core::{Contract, Region, SubjectId};
use datafusion::{
    functions::regex::expr_fn::regexp_like,
    functions_aggregate::expr_fn::{count, count_distinct, max, sum},
    functions_window::expr_fn::row_number,
    prelude::{cast as cast_expr, ident, lit, when, DataFrame, Expr},
};
use serde::{Deserialize, Serialize};

use super::{df_err, output::DatasetStats, psi, StepError};
use crate::workspace::Workspace;

/// Rows a failing check names, at most.
const EXAMPLES: usize = 5;
/// A null rate that rises by at least this much (absolute) and at least doubles is a spike.
pub const NULL_SPIKE: f64 = 0.05;
/// PSI at or above this is a significant distribution shift.
pub const PSI_SHIFT: f64 = 0.25;
/// For personal numeric columns (no deciles kept): a mean that moves by at least this many
/// of the old standard deviations is a shift.
pub const MEAN_SHIFT_SD: f64 = 0.5;

/// A quality step's findings.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct QualityReport {
    /// The contract whose expectations applied.
    pub contract: String,
    /// Every expectation checked.
    pub checks: Vec<CheckResult>,
    /// The version drift was measured against (`name@version`), when there was one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compared_to: Option<String>,
    /// Drift findings.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub drift: Vec<DriftFinding>,
    /// Whether the findings stopped the run (per `on_failure` and `drift`).
    pub blocked: bool,
}

impl QualityReport {
    /// Checks that failed.
    pub fn failed(&self) -> impl Iterator<Item = &CheckResult> {
        self.checks.iter().filter(|c| !c.passed)
    }
}

/// One expectation's result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckResult {
    /// `not_null`, `unique`, `min`, `max`, `regex`, `accepted_values`, `min_rows`,
    /// `max_rows` or `fresh`.
    pub check: String,
    /// The column, for column expectations.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub column: Option<String>,
    /// Whether it holds.
    pub passed: bool,
    /// Rows that fail it (for `unique`: rows whose value another row repeats).
    pub failing: u64,
    /// A few failing rows: `subject:<SubjectRef>` or `row:<n>` (1-based, in the output
    /// file). Never a value.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub examples: Vec<String>,
    /// What was expected and found, in counts and ages.
    pub detail: String,
}

/// What drifted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DriftKind {
    /// A column appeared, disappeared or changed type.
    Schema,
    /// A column's null rate jumped.
    NullSpike,
    /// A column's distribution moved.
    Distribution,
}

/// One drift finding, with the statistic that measured it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DriftFinding {
    /// What drifted.
    pub kind: DriftKind,
    /// The column.
    pub column: String,
    /// `schema`, `null_rate_increase`, `psi` or `mean_shift_sd`.
    pub statistic: String,
    /// Its value.
    pub value: f64,
    /// The threshold it crossed.
    pub threshold: f64,
    /// In words (types, rates, statistic; never values).
    pub detail: String,
}

/// The version drift is measured against: its `name@version`, statistics and schema.
pub(super) type Previous = (String, DatasetStats, Vec<(String, String)>);

/// One check as an expression: rows where `fails` is true fail it.
struct Probe {
    check: &'static str,
    column: String,
    fails: Expr,
    expected: String,
}

fn probes(contract: &Contract, frame: &DataFrame) -> Vec<Probe> {
    let mut out = Vec::new();
    for c in &contract.columns {
        if frame.schema().field_with_unqualified_name(&c.name).is_err() {
            continue;
        }
        let x = &c.expect;
        let col = || ident(&c.name);
        let num = || cast_expr(ident(&c.name), DataType::Float64);
        let text = || cast_expr(ident(&c.name), DataType::Utf8);
        let mut add = |check, fails, expected: String| {
            out.push(Probe {
                check,
                column: c.name.clone(),
                fails,
                expected,
            })
        };
        if x.not_null {
            add("not_null", col().is_null(), "no nulls".into());
        }
        if let Some(m) = x.min {
            add("min", num().lt(lit(m)), format!("values of at least {m}"));
        }
        if let Some(m) = x.max {
            add("max", num().gt(lit(m)), format!("values of at most {m}"));
        }
        if let Some(r) = &x.regex {
            add(
                "regex",
                !regexp_like(text(), lit(r.clone()), None),
                "every value to match the contract's pattern".into(),
            );
        }
        if !x.accepted_values.is_empty() {
            let list = x.accepted_values.iter().map(|v| lit(v.clone())).collect();
            add(
                "accepted_values",
                text().in_list(list, true),
                format!("one of the {} accepted values", x.accepted_values.len()),
            );
        }
    }
    out
}

impl Workspace {
    /// Checks `contract`'s expectations on `frame` (the step input's output file) and
    /// measures drift of `current` against `previous`.
    pub(super) async fn quality(
        &self,
        id: &str,
        frame: DataFrame,
        contract: &Contract,
        current: &DatasetStats,
        previous: Option<Previous>,
        schema: &[(String, String)],
    ) -> Result<QualityReport, StepError> {
        let probes = probes(contract, &frame);
        let uniques: Vec<&str> = contract
            .columns
            .iter()
            .filter(|c| c.expect.unique)
            .filter(|c| frame.schema().field_with_unqualified_name(&c.name).is_ok())
            .map(|c| c.name.as_str())
            .collect();
        let fresh = contract.expect.fresh.as_ref().filter(|f| {
            frame
                .schema()
                .field_with_unqualified_name(&f.column)
                .is_ok()
        });
        // One pass: every failing-row count, duplicate counts, the row count and the
        // newest value of the freshness column.
        let mut aggs: Vec<Expr> = vec![count(lit(1i64)).alias("__rows")];
        for (i, p) in probes.iter().enumerate() {
            aggs.push(
                sum(when(p.fails.clone(), lit(1i64))
                    .otherwise(lit(0i64))
                    .map_err(|e| df_err(id, e))?)
                .alias(format!("__p{i}")),
            );
        }
        for (i, c) in uniques.iter().enumerate() {
            aggs.push(count(ident(*c)).alias(format!("__n{i}")));
            aggs.push(count_distinct(ident(*c)).alias(format!("__d{i}")));
        }
        if let Some(f) = fresh {
            aggs.push(
                cast_expr(
                    max(cast_expr(
                        ident(&f.column),
                        DataType::Timestamp(TimeUnit::Microsecond, None),
                    )),
                    DataType::Int64,
                )
                .alias("__fresh"),
            );
        }
        let batches = frame
            .clone()
            .aggregate(vec![], aggs)
            .map_err(|e| df_err(id, e))?
            .collect()
            .await
            .map_err(|e| df_err(id, e))?;
        let batch = batches
            .iter()
            .find(|b| b.num_rows() > 0)
            .ok_or_else(|| df_err(id, "the quality aggregate returned no row"))?;
        let int = |name: &str| -> Option<i64> {
            let c = batch.column_by_name(name)?;
            let c = cast(c, &DataType::Int64).ok()?;
            let c = c.as_primitive::<Int64Type>();
            (!c.is_null(0)).then(|| c.value(0))
        };
        let rows = int("__rows").unwrap_or(0) as u64;
        let mut report = QualityReport {
            contract: contract.dataset.clone(),
            ..QualityReport::default()
        };
        if let Some(m) = contract.expect.min_rows {
            report.checks.push(CheckResult {
                check: "min_rows".into(),
                column: None,
                passed: rows >= m,
                failing: 0,
                examples: vec![],
                detail: format!("{rows} rows; expected at least {m}"),
            });
        }
        if let Some(m) = contract.expect.max_rows {
            report.checks.push(CheckResult {
                check: "max_rows".into(),
                column: None,
                passed: rows <= m,
                failing: 0,
                examples: vec![],
                detail: format!("{rows} rows; expected at most {m}"),
            });
        }
        if let Some(f) = fresh {
            let newest = int("__fresh");
            let allowed_us = i64::from(f.max_age.as_days()) * 86_400_000_000;
            let age = newest.map(|n| custodia_store::now_us() - n);
            report.checks.push(CheckResult {
                check: "fresh".into(),
                column: Some(f.column.clone()),
                passed: age.is_some_and(|a| a <= allowed_us),
                failing: 0,
                examples: vec![],
                detail: match age {
                    Some(a) => format!(
                        "newest value is {:.1} days old; allowed {} days",
                        a as f64 / 86_400e6,
                        f.max_age.as_days()
                    ),
                    None => "no value to date the data by".into(),
                },
            });
        }
        let key = contract
            .subject_key
            .as_deref()
            .filter(|k| frame.schema().field_with_unqualified_name(k).is_ok());
        for (i, p) in probes.iter().enumerate() {
            let failing = int(&format!("__p{i}")).unwrap_or(0) as u64;
            let examples = if failing > 0 {
                self.examples(id, &frame, contract, key, p.fails.clone())
                    .await?
            } else {
                vec![]
            };
            report.checks.push(CheckResult {
                check: p.check.into(),
                column: Some(p.column.clone()),
                passed: failing == 0,
                failing,
                examples,
                detail: format!("{failing} of {rows} rows fail; expected {}", p.expected),
            });
        }
        for (i, c) in uniques.iter().enumerate() {
            let n = int(&format!("__n{i}")).unwrap_or(0) as u64;
            let d = int(&format!("__d{i}")).unwrap_or(0) as u64;
            let repeats = n - d;
            let examples = if repeats > 0 {
                // Rows whose value occurs more than once.
                let dupes = frame
                    .clone()
                    .aggregate(vec![ident(*c)], vec![count(lit(1i64)).alias("__k")])
                    .and_then(|f| f.filter(ident("__k").gt(lit(1i64))))
                    .and_then(|f| f.select(vec![ident(*c).alias("__dup")]))
                    .map_err(|e| df_err(id, e))?;
                let numbered = numbered(&frame).map_err(|e| df_err(id, e))?;
                let hits = numbered
                    .join(
                        dupes,
                        datafusion::common::JoinType::LeftSemi,
                        &[c],
                        &["__dup"],
                        None,
                    )
                    .map_err(|e| df_err(id, e))?;
                self.name_rows(id, hits, contract, key).await?
            } else {
                vec![]
            };
            report.checks.push(CheckResult {
                check: "unique".into(),
                column: Some((*c).to_string()),
                passed: repeats == 0,
                failing: repeats,
                examples,
                detail: format!("{d} distinct values in {n} non-null rows; expected no repeats"),
            });
        }
        if let Some((name, old, old_schema)) = previous {
            report.drift = drift(&old, &old_schema, current, schema);
            report.compared_to = Some(name);
        }
        Ok(report)
    }

    async fn examples(
        &self,
        id: &str,
        frame: &DataFrame,
        contract: &Contract,
        key: Option<&str>,
        fails: Expr,
    ) -> Result<Vec<String>, StepError> {
        let hits = numbered(frame)
            .and_then(|f| f.filter(fails))
            .map_err(|e| df_err(id, e))?;
        self.name_rows(id, hits, contract, key).await
    }

    /// Names a few rows of a numbered frame: by SubjectRef when the data has a subject
    /// key (the ref, never the identifier), else by row number.
    async fn name_rows(
        &self,
        id: &str,
        hits: DataFrame,
        contract: &Contract,
        key: Option<&str>,
    ) -> Result<Vec<String>, StepError> {
        let mut cols = vec![ident("__row")];
        if let Some(k) = key {
            cols.push(cast_expr(ident(k), DataType::Utf8).alias("__key"));
        }
        let batches = hits
            .select(cols)
            .and_then(|f| f.sort(vec![ident("__row").sort(true, false)]))
            .and_then(|f| f.limit(0, Some(EXAMPLES)))
            .map_err(|e| df_err(id, e))?
            .collect()
            .await
            .map_err(|e| df_err(id, e))?;
        let region = self.contract_region(contract);
        let kind = key.map(|k| super::subjects::subject_kind(contract, k));
        let mut out = Vec::new();
        for b in &batches {
            let rows = cast(b.column(0), &DataType::Int64).map_err(|e| df_err(id, e))?;
            let rows = rows.as_primitive::<Int64Type>();
            for i in 0..b.num_rows() {
                let named = key
                    .and_then(|_| {
                        let keys = b.column(1).as_string::<i32>();
                        let v = (!keys.is_null(i)).then(|| keys.value(i))?;
                        let sid = SubjectId::new(kind?, v).ok()?;
                        Some(format!(
                            "subject:{}",
                            self.subject_ref(&sid, &Region::clone(&region))
                        ))
                    })
                    .unwrap_or_else(|| format!("row:{}", rows.value(i)));
                out.push(named);
            }
        }
        Ok(out)
    }
}

/// The frame with a 1-based `__row` number (file order).
fn numbered(frame: &DataFrame) -> datafusion::error::Result<DataFrame> {
    frame.clone().window(vec![row_number().alias("__row")])
}

/// Drift of `new` against `old`: schema changes, null spikes, distribution shifts.
pub(super) fn drift(
    old: &DatasetStats,
    old_schema: &[(String, String)],
    new: &DatasetStats,
    new_schema: &[(String, String)],
) -> Vec<DriftFinding> {
    let mut out = Vec::new();
    let schema = |column: &str, detail: String| DriftFinding {
        kind: DriftKind::Schema,
        column: column.to_string(),
        statistic: "schema".into(),
        value: 1.0,
        threshold: 1.0,
        detail,
    };
    for (name, t) in old_schema {
        match new_schema.iter().find(|(n, _)| n == name) {
            None => out.push(schema(name, format!("column removed (was {t})"))),
            Some((_, t2)) if t2 != t => {
                out.push(schema(name, format!("type changed from {t} to {t2}")))
            }
            _ => {}
        }
    }
    for (name, t) in new_schema {
        if !old_schema.iter().any(|(n, _)| n == name) {
            out.push(schema(name, format!("column added ({t})")));
        }
    }
    for c in &new.columns {
        let Some(o) = old.column(&c.name) else {
            continue;
        };
        if let (Some(r0), Some(r1)) = (old.null_rate(&c.name), new.null_rate(&c.name)) {
            if r1 - r0 >= NULL_SPIKE && r1 >= 2.0 * r0 {
                out.push(DriftFinding {
                    kind: DriftKind::NullSpike,
                    column: c.name.clone(),
                    statistic: "null_rate_increase".into(),
                    value: r1 - r0,
                    threshold: NULL_SPIKE,
                    detail: format!("null rate {:.1}% → {:.1}%", r0 * 100.0, r1 * 100.0),
                });
            }
        }
        let (Some(a), Some(b)) = (&o.numeric, &c.numeric) else {
            continue;
        };
        let mut flagged = false;
        if a.percentiles.len() == 99 && b.percentiles.len() == 99 {
            if let Some(v) = psi(&a.percentiles, &b.percentiles) {
                if v >= PSI_SHIFT {
                    flagged = true;
                    out.push(DriftFinding {
                        kind: DriftKind::Distribution,
                        column: c.name.clone(),
                        statistic: "psi".into(),
                        value: v,
                        threshold: PSI_SHIFT,
                        detail: format!(
                            "population stability index {v:.2}; median {:.4} → {:.4}, mean {:.4} → {:.4}",
                            a.percentiles[49], b.percentiles[49], a.mean, b.mean
                        ),
                    });
                }
            }
        }
        // The mean catches what deciles miss (a change in a tenth of the rows moves one
        // decile bin, but the mean by the size of the change), and is all there is for
        // personal columns.
        if !flagged && a.stddev > 0.0 && a.count > 0 && b.count > 0 {
            let shift = (b.mean - a.mean).abs() / a.stddev;
            if shift >= MEAN_SHIFT_SD {
                out.push(DriftFinding {
                    kind: DriftKind::Distribution,
                    column: c.name.clone(),
                    statistic: "mean_shift_sd".into(),
                    value: shift,
                    threshold: MEAN_SHIFT_SD,
                    detail: format!(
                        "the mean moved by {shift:.2} standard deviations ({:.4} → {:.4}){}",
                        a.mean,
                        b.mean,
                        if a.percentiles.is_empty() {
                            "; a personal column: no deciles are kept"
                        } else {
                            ""
                        }
                    ),
                });
            }
        }
    }
    out
}

impl Workspace {
    /// Runs a `quality` step: its output is its input (no new version); the findings go
    /// into the journal, the run report and the audit log.
    pub(super) async fn quality_step(
        &self,
        ctx: &datafusion::prelude::SessionContext,
        contract: &Contract,
        run_id: &str,
        step: &custodia_core::pipeline::Step,
        input: &super::StepReport,
    ) -> Result<super::StepReport, StepError> {
        let custodia_core::pipeline::StepKind::Quality {
            on_failure,
            drift: action,
            ..
        } = &step.kind
        else {
            unreachable!("called for quality steps")
        };
        let id = step.id.as_str();
        let frame = ctx
            .table(input.id.as_str())
            .await
            .map_err(|e| df_err(id, e))?;
        let (dataset, version) = input
            .output
            .rsplit_once('@')
            .and_then(|(d, v)| Some((d, v.parse::<i64>().ok()?)))
            .ok_or_else(|| df_err(id, "its input has no dataset version"))?;
        let versions = self
            .store()
            .dataset_versions(dataset)
            .await
            .map_err(crate::EngineError::from)?;
        let current = versions
            .iter()
            .find(|v| v.version == version)
            .map(|v| super::parse_stats(&v.stats))
            .unwrap_or_default();
        let previous = (*action != custodia_core::pipeline::DriftAction::Off)
            .then(|| {
                versions
                    .iter()
                    .filter(|v| v.version < version)
                    .max_by_key(|v| v.version)
            })
            .flatten()
            .map(|v| {
                (
                    format!("{}@{}", v.dataset, v.version),
                    super::parse_stats(&v.stats),
                    super::parse_schema_json(&v.schema_json),
                )
            });
        let mut q = self
            .quality(id, frame, contract, &current, previous, &input.schema)
            .await?;
        q.blocked = (*on_failure == custodia_core::pipeline::OnFailure::Block
            && q.failed().next().is_some())
            || (*action == custodia_core::pipeline::DriftAction::Block && !q.drift.is_empty());
        ctx.register_parquet(
            id,
            self.root().join(&input.path).display().to_string(),
            datafusion::prelude::ParquetReadOptions::default(),
        )
        .await
        .map_err(|e| df_err(id, e))?;
        let report = super::StepReport {
            id: id.to_string(),
            kind: "quality".into(),
            state: super::StepState::Ran,
            rows: input.rows,
            millis: 0,
            output: input.output.clone(),
            content_hash: input.content_hash.clone(),
            path: input.path.clone(),
            schema: input.schema.clone(),
            enforcement: None,
            loaded: None,
            manifest: None,
            transforms: vec![],
            quality: Some(q.clone()),
            metrics: Default::default(),
        };
        let tx = self
            .store()
            .begin_write()
            .await
            .map_err(crate::EngineError::from)?;
        let mut tx = tx;
        tx.journal_put(
            run_id,
            id,
            "done",
            &serde_json::to_string(&report).expect("reports serialise"),
        )
        .await
        .map_err(crate::EngineError::from)?;
        let mut counts = std::collections::BTreeMap::new();
        counts.insert("checks".into(), q.checks.len() as u64);
        counts.insert("checks_failed".into(), q.failed().count() as u64);
        counts.insert("drift_findings".into(), q.drift.len() as u64);
        let mut details = std::collections::BTreeMap::new();
        details.insert("step".into(), id.to_string());
        details.insert("kind".into(), "quality".into());
        details.insert("input".into(), input.output.clone());
        details.insert("blocked".into(), q.blocked.to_string());
        let failed: Vec<String> = q
            .failed()
            .map(|c| match &c.column {
                Some(col) => format!("{}:{col}", c.check),
                None => c.check.clone(),
            })
            .collect();
        if !failed.is_empty() {
            details.insert("failed".into(), failed.join(","));
        }
        self.commit_recorded(
            tx,
            vec![crate::audit_log::NewEntry {
                action: "run.step".into(),
                object: format!("run:{run_id}"),
                subjects: vec![],
                counts,
                details,
            }],
        )
        .await?;
        Ok(report)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::run::output::{ColumnStats, NumericStats};

    fn stats(rows: u64, nulls: u64, scale: f64, deciles: bool) -> DatasetStats {
        let values: Vec<f64> = (1..100).map(|k| k as f64 * scale).collect();
        DatasetStats {
            rows,
            columns: vec![ColumnStats {
                name: "price".into(),
                data_type: "Float64".into(),
                nulls,
                numeric: Some(NumericStats {
                    count: rows - nulls,
                    mean: 50.0 * scale,
                    stddev: 28.0 * scale,
                    min: None,
                    max: None,
                    percentiles: if deciles { values } else { vec![] },
                }),
            }],
        }
    }

    #[test]
    fn a_unit_change_is_a_distribution_shift_and_the_same_data_is_not() {
        let schema = vec![("price".to_string(), "Float64".to_string())];
        let same = drift(
            &stats(1000, 0, 1.0, true),
            &schema,
            &stats(1000, 0, 1.0, true),
            &schema,
        );
        assert!(same.is_empty(), "{same:?}");
        let cents = drift(
            &stats(1000, 0, 1.0, true),
            &schema,
            &stats(1000, 0, 100.0, true),
            &schema,
        );
        assert_eq!(cents.len(), 1, "{cents:?}");
        assert_eq!(
            (cents[0].kind, cents[0].statistic.as_str()),
            (DriftKind::Distribution, "psi")
        );
        // Without deciles (a personal column) the mean shift names it.
        let personal = drift(
            &stats(1000, 0, 1.0, false),
            &schema,
            &stats(1000, 0, 100.0, false),
            &schema,
        );
        assert_eq!(personal[0].statistic, "mean_shift_sd");
    }

    #[test]
    fn null_spikes_and_schema_changes_are_named() {
        let old_schema = vec![("price".to_string(), "Float64".to_string())];
        let new_schema = vec![
            ("price".to_string(), "Utf8".to_string()),
            ("extra".to_string(), "Int64".to_string()),
        ];
        let d = drift(
            &stats(1000, 10, 1.0, true),
            &old_schema,
            &stats(1000, 300, 1.0, true),
            &new_schema,
        );
        let kinds: Vec<(DriftKind, &str)> = d.iter().map(|f| (f.kind, f.column.as_str())).collect();
        assert!(kinds.contains(&(DriftKind::Schema, "price")), "{d:?}");
        assert!(kinds.contains(&(DriftKind::Schema, "extra")), "{d:?}");
        assert!(kinds.contains(&(DriftKind::NullSpike, "price")), "{d:?}");
        // A small rise is not a spike.
        let calm = drift(
            &stats(1000, 10, 1.0, true),
            &old_schema,
            &stats(1000, 30, 1.0, true),
            &old_schema,
        );
        assert!(calm.is_empty(), "{calm:?}");
    }
}
