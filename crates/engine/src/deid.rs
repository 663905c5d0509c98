//! `deid` and `detokenize` over whole files.

use std::{collections::BTreeMap, path::Path};

use custodia_core::{keys::MasterKey, Contract, EntityType, Operator};
use custodia_detect::{Analyzer, DeidOutcome, Deidentifier};

use crate::{scan::scan_table, table::Table, EngineError, ScanOptions};

/// How one column is de-identified.
#[derive(Debug, Clone, PartialEq)]
pub struct DeidRule {
    /// Column name.
    pub column: String,
    /// The operator.
    pub operator: Operator,
    /// `Some(entity)`: the whole cell is that entity. `None`: free text, span by span.
    pub entity: Option<EntityType>,
}

/// Where the rules come from.
#[derive(Debug, Clone)]
pub enum DeidPlan {
    /// A contract: declared transforms; undeclared columns are an error unless dropped.
    Contract {
        /// The contract.
        contract: Box<Contract>,
        /// Drop columns the contract does not declare instead of failing.
        drop_undeclared: bool,
    },
    /// Flags: detected PII columns get `operator`, with per-column overrides.
    Detect {
        /// Operator for every column found to hold personal data.
        operator: Operator,
        /// `column → operator` overrides (the column is treated as PII).
        overrides: BTreeMap<String, Operator>,
    },
}

/// What `deid` did, without any values.
#[derive(Debug, Clone, Default)]
pub struct DeidReport {
    /// Rows written.
    pub rows: usize,
    /// Per column: rule and how many cells or spans were changed.
    pub columns: Vec<(DeidRule, usize)>,
    /// Values an operator could not apply to, redacted instead.
    pub fallbacks: usize,
    /// Columns dropped because the contract does not declare them.
    pub dropped: Vec<String>,
}

/// De-identifies `input` into `output` (format by extension; output written atomically).
pub fn deidentify_file(
    analyzer: &Analyzer,
    key: &MasterKey,
    input: &Path,
    output: &Path,
    plan: &DeidPlan,
) -> Result<DeidReport, EngineError> {
    let mut table = Table::read(input)?;
    let mut report = DeidReport::default();
    let rules = rules_for(analyzer, &mut table, plan, &mut report)?;
    let d = Deidentifier::new(key);
    let counters: Vec<std::sync::atomic::AtomicUsize> =
        rules.iter().map(|_| Default::default()).collect();
    let fallbacks = std::sync::atomic::AtomicUsize::new(0);
    let by_col: BTreeMap<usize, usize> = rules
        .iter()
        .enumerate()
        .map(|(ri, r)| {
            (
                table
                    .columns
                    .iter()
                    .position(|c| *c == r.column)
                    .expect("rule columns exist"),
                ri,
            )
        })
        .collect();
    let cols: Vec<usize> = by_col.keys().copied().collect();
    use std::sync::atomic::Ordering::Relaxed;
    table.rewrite_columns(&cols, &|c, value| {
        let ri = by_col[&c];
        let rule = &rules[ri];
        Ok(match rule.entity {
            Some(e) => match d.apply_value_or_redact(&rule.operator, Some(e), value) {
                DeidOutcome::Applied(v) => {
                    counters[ri].fetch_add(1, Relaxed);
                    v
                }
                DeidOutcome::FellBackToRedact => {
                    fallbacks.fetch_add(1, Relaxed);
                    format!("<{e}>")
                }
            },
            None => {
                let findings = analyzer.analyze(value);
                counters[ri].fetch_add(findings.len(), Relaxed);
                let (text, fb) = d.apply_text(&rule.operator, value, &findings);
                fallbacks.fetch_add(fb, Relaxed);
                text
            }
        })
    })?;
    table.write(output)?;
    report.rows = table.rows();
    report.fallbacks = fallbacks.into_inner();
    report.columns = rules
        .into_iter()
        .zip(counters)
        .map(|(r, c)| (r, c.into_inner()))
        .collect();
    Ok(report)
}

fn rules_for(
    analyzer: &Analyzer,
    table: &mut Table,
    plan: &DeidPlan,
    report: &mut DeidReport,
) -> Result<Vec<DeidRule>, EngineError> {
    match plan {
        DeidPlan::Contract {
            contract,
            drop_undeclared,
        } => {
            let undeclared: Vec<String> = table
                .columns
                .iter()
                .filter(|c| contract.column(c).is_none())
                .cloned()
                .collect();
            if !undeclared.is_empty() {
                if !drop_undeclared {
                    return Err(EngineError::Columns {
                        path: table.source.clone(),
                        message: format!(
                            "columns {} are not declared in contract `{}` and are denied by default; declare them, or pass --drop-undeclared to leave them out",
                            undeclared.iter().map(|c| format!("{c:?}")).collect::<Vec<_>>().join(", "),
                            contract.dataset
                        ),
                    });
                }
                let keep: Vec<usize> = (0..table.columns.len())
                    .filter(|&i| !undeclared.contains(&table.columns[i]))
                    .collect();
                table.select(&keep)?;
                report.dropped = undeclared;
            }
            let missing: Vec<&str> = contract
                .columns
                .iter()
                .filter(|c| c.transform.is_some() && !table.columns.contains(&c.name))
                .map(|c| c.name.as_str())
                .collect();
            if !missing.is_empty() {
                return Err(EngineError::Columns {
                    path: table.source.clone(),
                    message: format!(
                        "contract `{}` has transforms for columns missing from the data: {}; check the column names",
                        contract.dataset,
                        missing.join(", ")
                    ),
                });
            }
            Ok(contract
                .columns
                .iter()
                .filter_map(|c| {
                    c.transform.clone().map(|operator| DeidRule {
                        column: c.name.clone(),
                        operator,
                        entity: c.pii,
                    })
                })
                .collect())
        }
        DeidPlan::Detect {
            operator,
            overrides,
        } => {
            for name in overrides.keys() {
                if !table.columns.contains(name) {
                    return Err(EngineError::Columns {
                        path: table.source.clone(),
                        message: format!(
                            "--column names {name:?}, which is not in the data (columns: {})",
                            table.columns.join(", ")
                        ),
                    });
                }
            }
            let scan = scan_table(analyzer, table, &ScanOptions::default());
            Ok(scan
                .columns
                .iter()
                .filter_map(|c| {
                    let op = overrides.get(&c.name);
                    let pii = c.profile.entity.is_some()
                        || c.profile.entity_counts.values().any(|n| *n > 0);
                    if c.profile.free_text {
                        (pii || op.is_some()).then(|| DeidRule {
                            column: c.name.clone(),
                            operator: op.unwrap_or(operator).clone(),
                            entity: None,
                        })
                    } else if c.profile.entity.is_some() || op.is_some() {
                        Some(DeidRule {
                            column: c.name.clone(),
                            operator: op.unwrap_or(operator).clone(),
                            entity: Some(c.profile.entity.unwrap_or(EntityType::Person)),
                        })
                    } else {
                        None
                    }
                })
                .collect())
        }
    }
}

/// Reverses tokens (anywhere in the named columns, or all columns) and FPE in the named
/// columns. Returns the number of values restored.
pub fn detokenize_file(
    key: &MasterKey,
    input: &Path,
    output: &Path,
    columns: &[String],
    fpe_columns: &[String],
) -> Result<usize, EngineError> {
    let mut table = Table::read(input)?;
    for c in columns.iter().chain(fpe_columns) {
        if !table.columns.contains(c) {
            return Err(EngineError::Columns {
                path: input.to_path_buf(),
                message: format!("no column {c:?} (columns: {})", table.columns.join(", ")),
            });
        }
    }
    let d = Deidentifier::new(key);
    let restored = std::sync::atomic::AtomicUsize::new(0);
    let failed = std::sync::atomic::AtomicUsize::new(0);
    let idx = |names: &[String]| -> Vec<usize> {
        names
            .iter()
            .filter_map(|n| table.columns.iter().position(|c| c == n))
            .collect()
    };
    let fpe_idx = idx(fpe_columns);
    let tok_idx: Vec<usize> = if columns.is_empty() {
        (0..table.columns.len())
            .filter(|i| !fpe_idx.contains(i))
            .collect()
    } else {
        idx(columns)
    };
    let all: Vec<usize> = tok_idx.iter().chain(&fpe_idx).copied().collect();
    use std::sync::atomic::Ordering::Relaxed;
    table.rewrite_columns(&all, &|c, v| {
        if fpe_idx.contains(&c) {
            match d.fpe_decrypt(v) {
                Ok(p) => {
                    restored.fetch_add(1, Relaxed);
                    Ok(p)
                }
                Err(_) => {
                    failed.fetch_add(1, Relaxed);
                    Ok(v.to_string())
                }
            }
        } else {
            let (t, n) = d.detokenize_text(v);
            restored.fetch_add(n, Relaxed);
            Ok(t)
        }
    })?;
    let restored = restored.into_inner();
    let looks_tokenized = failed.into_inner() == 0 || restored > 0;
    if restored == 0 && !looks_tokenized {
        return Err(EngineError::Key("no value decrypted with this key".into()));
    }
    table.write(output)?;
    Ok(restored)
}
