//! `deid` and `detokenize` over whole files.

use std::{collections::BTreeMap, path::Path};

use custodia_core::{keys::MasterKey, Contract, EntityType, Operator};
use custodia_detect::{Analyzer, DeidOutcome, Deidentifier};

use crate::{
    keyring::{RowKeys, SubjectDataKey, Unreadable, SUBJECT_TOKEN_PREFIX},
    scan::scan_table,
    table::Table,
    EngineError, ScanOptions,
};

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
    deidentify_table(analyzer, key, Table::read(input)?, output, plan, None)
}

/// The de-identification itself. With `row_keys`, `tokenize` encrypts each row's values
/// under that row's subject key instead of the workspace-wide key.
pub(crate) fn deidentify_table(
    analyzer: &Analyzer,
    key: &MasterKey,
    mut table: Table,
    output: &Path,
    plan: &DeidPlan,
    row_keys: Option<&RowKeys>,
) -> Result<DeidReport, EngineError> {
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
    table.rewrite_columns(&cols, &|c, row, value| {
        let ri = by_col[&c];
        let rule = &rules[ri];
        if let (Operator::Tokenize, Some(keys)) = (&rule.operator, row_keys) {
            let key = keys.key(row);
            return Ok(match rule.entity {
                Some(_) => {
                    counters[ri].fetch_add(1, Relaxed);
                    key.encrypt(value)
                }
                None => {
                    let findings = analyzer.analyze(value);
                    counters[ri].fetch_add(findings.len(), Relaxed);
                    let mut out = String::with_capacity(value.len() * 2);
                    let mut at = 0;
                    for f in &findings {
                        out.push_str(&value[at..f.start]);
                        out.push_str(&key.encrypt(&value[f.start..f.end]));
                        at = f.end;
                    }
                    out.push_str(&value[at..]);
                    out
                }
            });
        }
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

/// What `detokenize` did, without any values.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DetokenizeReport {
    /// Values restored.
    pub restored: usize,
    /// Subject-key fields left encrypted because the subject's key was shredded.
    pub shredded: usize,
    /// Subject-key fields left encrypted because this workspace has no key for them.
    pub no_key: usize,
}

/// Reverses tokens (anywhere in the named columns, or all columns) and FPE in the named
/// columns with the workspace key. Subject-key fields (`sk1.…`) need the workspace's store:
/// see `Workspace::detokenize_file`.
pub fn detokenize_file(
    key: &MasterKey,
    input: &Path,
    output: &Path,
    columns: &[String],
    fpe_columns: &[String],
) -> Result<DetokenizeReport, EngineError> {
    detokenize_table(
        key,
        Table::read(input)?,
        output,
        columns,
        fpe_columns,
        &SubjectKeys::new(),
    )
}

/// Subject data keys by SubjectRef (or why there is none), for `detokenize`.
pub(crate) type SubjectKeys = std::collections::HashMap<String, Result<SubjectDataKey, Unreadable>>;

/// Every `sk1.<ref>.<ciphertext>` token in `text`, as (start, end, ref).
pub(crate) fn subject_tokens(text: &str) -> Vec<(usize, usize, &str)> {
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(off) = text[from..].find(SUBJECT_TOKEN_PREFIX) {
        let start = from + off;
        let body = &text[start + SUBJECT_TOKEN_PREFIX.len()..];
        let hex = body.bytes().take_while(u8::is_ascii_hexdigit).count();
        let glued = start > 0 && text.as_bytes()[start - 1].is_ascii_alphanumeric();
        if hex == 64 && body.as_bytes().get(64) == Some(&b'.') && !glued {
            let ct = body[65..]
                .bytes()
                .take_while(|b| b.is_ascii_alphanumeric() || *b == b'-' || *b == b'_')
                .count();
            if ct > 0 {
                let end = start + SUBJECT_TOKEN_PREFIX.len() + 65 + ct;
                out.push((start, end, &body[..64]));
                from = end;
                continue;
            }
        }
        from = start + SUBJECT_TOKEN_PREFIX.len();
    }
    out
}

pub(crate) fn detokenize_table(
    key: &MasterKey,
    mut table: Table,
    output: &Path,
    columns: &[String],
    fpe_columns: &[String],
    subject_keys: &SubjectKeys,
) -> Result<DetokenizeReport, EngineError> {
    let input = table.source.clone();
    for c in columns.iter().chain(fpe_columns) {
        if !table.columns.contains(c) {
            return Err(EngineError::Columns {
                path: input.clone(),
                message: format!("no column {c:?} (columns: {})", table.columns.join(", ")),
            });
        }
    }
    let d = Deidentifier::new(key);
    let restored = std::sync::atomic::AtomicUsize::new(0);
    let failed = std::sync::atomic::AtomicUsize::new(0);
    let shredded = std::sync::atomic::AtomicUsize::new(0);
    let no_key = std::sync::atomic::AtomicUsize::new(0);
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
    table.rewrite_columns(&all, &|c, _row, v| {
        if fpe_idx.contains(&c) {
            return match d.fpe_decrypt(v) {
                Ok(p) => {
                    restored.fetch_add(1, Relaxed);
                    Ok(p)
                }
                Err(_) => {
                    failed.fetch_add(1, Relaxed);
                    Ok(v.to_string())
                }
            };
        }
        // Subject-key fields first: each opens with its subject's key, if it still exists.
        let mut text = String::with_capacity(v.len());
        let mut at = 0;
        for (start, end, subject) in subject_tokens(v) {
            text.push_str(&v[at..start]);
            let token = &v[start..end];
            match subject_keys.get(subject) {
                Some(Ok(k)) => match k.decrypt_token(token) {
                    Some(p) => {
                        restored.fetch_add(1, Relaxed);
                        text.push_str(&p);
                    }
                    None => {
                        failed.fetch_add(1, Relaxed);
                        text.push_str(token);
                    }
                },
                Some(Err(Unreadable::Shredded)) => {
                    shredded.fetch_add(1, Relaxed);
                    text.push_str(token);
                }
                _ => {
                    no_key.fetch_add(1, Relaxed);
                    text.push_str(token);
                }
            }
            at = end;
        }
        text.push_str(&v[at..]);
        let (t, n) = d.detokenize_text(&text);
        restored.fetch_add(n, Relaxed);
        Ok(t)
    })?;
    let report = DetokenizeReport {
        restored: restored.into_inner(),
        shredded: shredded.into_inner(),
        no_key: no_key.into_inner(),
    };
    let looks_tokenized = failed.into_inner() == 0 || report.restored > 0;
    if report.restored == 0 && !looks_tokenized {
        return Err(EngineError::Key("no value decrypted with this key".into()));
    }
    table.write(output)?;
    Ok(report)
}
