//! `scan`: profile every column of every dataset under the given paths.

use std::path::{Path, PathBuf};

use custodia_core::{Classification, ColumnSpec, Contract, EntityType, Operator};
use custodia_detect::{classify_column, Analyzer, ColumnProfile};

use crate::{
    table::{read_sqlite, Format, Table},
    EngineError,
};

/// How much to read.
#[derive(Debug, Clone)]
pub struct ScanOptions {
    /// Rows sampled per column.
    pub sample_rows: usize,
}

impl Default for ScanOptions {
    fn default() -> Self {
        ScanOptions { sample_rows: 1000 }
    }
}

/// One column's result.
#[derive(Debug, Clone)]
pub struct ColumnReport {
    /// Column name.
    pub name: String,
    /// Contract type (`string`, `integer`…).
    pub data_type: &'static str,
    /// What the classifier concluded.
    pub profile: ColumnProfile,
}

/// One dataset's result.
#[derive(Debug, Clone)]
pub struct SourceReport {
    /// File path or `sqlite://file#table`.
    pub source: String,
    /// Rows in the dataset (for SQLite, rows read).
    pub rows: usize,
    /// Per column.
    pub columns: Vec<ColumnReport>,
}

/// The whole scan.
#[derive(Debug, Clone, Default)]
pub struct ScanReport {
    /// Per dataset.
    pub sources: Vec<SourceReport>,
}

impl ScanReport {
    /// Columns at or above `level`, as (source, column, classification, entity).
    pub fn at_or_above(
        &self,
        level: Classification,
    ) -> Vec<(&str, &str, Classification, Option<EntityType>)> {
        self.sources
            .iter()
            .flat_map(|s| {
                s.columns
                    .iter()
                    .filter(move |c| c.profile.classification >= level)
                    .map(move |c| {
                        (
                            s.source.as_str(),
                            c.name.as_str(),
                            c.profile.classification,
                            c.profile.entity,
                        )
                    })
            })
            .collect()
    }
}

fn collect_files(path: &Path, out: &mut Vec<PathBuf>) -> Result<(), EngineError> {
    if path.is_dir() {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(path)
            .map_err(|e| EngineError::io(path, e))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .collect();
        entries.sort();
        for p in entries {
            let hidden = p
                .file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with('.'));
            if !hidden && (p.is_dir() || Format::from_path(&p).is_some()) {
                collect_files(&p, out)?;
            }
        }
        Ok(())
    } else if path.exists() {
        out.push(path.to_path_buf());
        Ok(())
    } else {
        Err(EngineError::io(
            path,
            std::io::Error::new(std::io::ErrorKind::NotFound, "no such file or folder"),
        ))
    }
}

/// Scans files, folders (recursively) and SQLite databases (`sqlite://file.db`).
pub fn scan_paths(
    analyzer: &Analyzer,
    paths: &[String],
    options: &ScanOptions,
    mut progress: impl FnMut(&str),
) -> Result<ScanReport, EngineError> {
    let mut report = ScanReport::default();
    for p in paths {
        let mut tables = Vec::new();
        if p.starts_with("sqlite://") {
            tables.extend(read_sqlite(p, options.sample_rows)?);
        } else {
            let mut files = Vec::new();
            collect_files(Path::new(p), &mut files)?;
            for f in files {
                progress(&f.display().to_string());
                match Format::from_path(&f) {
                    Some(Format::Sqlite) => {
                        tables.extend(read_sqlite(&f.display().to_string(), options.sample_rows)?)
                    }
                    Some(_) => tables.push(Table::read(&f)?),
                    None => return Err(EngineError::UnsupportedFormat { path: f }),
                }
            }
        }
        for t in tables {
            report.sources.push(scan_table(analyzer, &t, options));
        }
    }
    Ok(report)
}

/// Profiles every column of a loaded table.
pub fn scan_table(analyzer: &Analyzer, table: &Table, options: &ScanOptions) -> SourceReport {
    use rayon::prelude::*;
    let columns = (0..table.columns.len())
        .into_par_iter()
        .map(|i| {
            let values = table.column_values(i, options.sample_rows);
            let present: Vec<&str> = values.iter().flatten().map(String::as_str).collect();
            ColumnReport {
                name: table.columns[i].clone(),
                data_type: table.column_type(i),
                profile: classify_column(analyzer, &table.columns[i], &present),
            }
        })
        .collect();
    SourceReport {
        source: table.source.display().to_string(),
        rows: table.rows(),
        columns,
    }
}

/// The operator a draft contract suggests for a column.
fn suggested_transform(c: &ColumnReport) -> Option<Operator> {
    let p = &c.profile;
    if p.free_text {
        return (p.classification >= Classification::L2).then_some(Operator::Replace(None));
    }
    match p.entity? {
        EntityType::Secret => Some(Operator::Redact),
        EntityType::CreditCard => Some(Operator::Fpe),
        EntityType::DateTime if p.classification >= Classification::L2 => {
            Some(Operator::Generalize(custodia_core::Generalization::Year))
        }
        EntityType::DateTime | EntityType::Url => None,
        _ if p.classification >= Classification::L2 => Some(Operator::Tokenize),
        _ => None,
    }
}

/// A draft contract from a scan: classifications, entities and suggested transforms filled
/// in; owner, purposes, region and retention left for a person to decide.
pub fn draft_contract(source: &SourceReport) -> Contract {
    let stem = Path::new(
        source
            .source
            .split('#')
            .next_back()
            .unwrap_or(&source.source),
    )
    .file_stem()
    .and_then(|s| s.to_str())
    .unwrap_or("dataset");
    let mut dataset: String = stem
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect();
    if !dataset.starts_with(|c: char| c.is_ascii_lowercase()) {
        dataset.insert_str(0, "dataset_");
    }
    let subject_key = source
        .columns
        .iter()
        .find(|c| c.profile.evidence == "identifier header")
        .or_else(|| {
            source
                .columns
                .iter()
                .find(|c| c.profile.entity == Some(EntityType::EmailAddress))
        })
        .map(|c| c.name.clone());
    Contract {
        dataset,
        description: Some(format!("draft from `custodia scan` of {}", source.source)),
        owner: None,
        region: None,
        subject_key,
        retention: None,
        on_expiry: Default::default(),
        purposes: Vec::new(),
        columns: source
            .columns
            .iter()
            .map(|c| ColumnSpec {
                name: c.name.clone(),
                data_type: Some(c.data_type.to_string()),
                classification: c.profile.classification,
                pii: if c.profile.free_text {
                    None
                } else {
                    c.profile.entity
                },
                transform: suggested_transform(c),
                description: None,
                expect: Default::default(),
            })
            .collect(),
        expect: Default::default(),
    }
}

/// The personal entity types (L2 and above) in a short free text, by name: for refusing
/// personal data where Custodia keeps text for good (audit details).
pub(crate) fn pii_entities(text: &str) -> Vec<&'static str> {
    let analyzer = Analyzer::new(custodia_detect::AnalyzerConfig::default())
        .expect("the default analyzer configuration is valid");
    let mut found: Vec<&'static str> = analyzer
        .analyze(text)
        .iter()
        .filter(|f| f.entity_type.default_classification() >= custodia_core::Classification::L2)
        .map(|f| f.entity_type.name())
        .collect();
    found.sort_unstable();
    found.dedup();
    found
}

/// Replaces personal values and secrets in a message with `<ENTITY_TYPE>`: the last guard
/// before Custodia prints text that may quote its input (a parser error quoting a bad cell,
/// a check finding quoting a line). Names and places are left alone: in messages they are
/// far more often dataset, column or file names than people.
pub fn redact_values(message: &str) -> String {
    use std::sync::OnceLock;
    static ANALYZER: OnceLock<Analyzer> = OnceLock::new();
    let analyzer = ANALYZER.get_or_init(|| {
        Analyzer::new(custodia_detect::AnalyzerConfig {
            entities: Some(
                custodia_core::EntityType::ALL
                    .iter()
                    .copied()
                    .filter(|e| {
                        // Dates are recognised so that a date is not taken for a phone
                        // number; they are not redacted (a message's dates are its own).
                        matches!(
                            e,
                            custodia_core::EntityType::EmailAddress
                                | custodia_core::EntityType::PhoneNumber
                                | custodia_core::EntityType::DateTime
                        ) || e.default_classification() >= custodia_core::Classification::L3
                    })
                    .collect(),
            ),
            min_score: 0.5,
        })
        .expect("a fixed analyzer configuration is valid")
    });
    let mut findings = analyzer.analyze(message);
    findings.retain(|f| f.entity_type != custodia_core::EntityType::DateTime);
    if findings.is_empty() {
        return message.to_string();
    }
    findings.sort_by_key(|f| (f.start, std::cmp::Reverse(f.end)));
    let mut out = String::with_capacity(message.len());
    let mut at = 0;
    for f in findings {
        if f.start < at {
            continue;
        }
        out.push_str(&message[at..f.start]);
        out.push('<');
        out.push_str(f.entity_type.name());
        out.push('>');
        at = f.end;
    }
    out.push_str(&message[at..]);
    out
}

#[cfg(test)]
mod redact_tests {
    use super::redact_values;

    #[test]
    fn values_in_messages_are_replaced_by_their_type() {
        assert_eq!(
            redact_values("invalid classification \"maria.rossi@gmail.com\" at line 3"),
            "invalid classification \"<EMAIL_ADDRESS>\" at line 3"
        );
        let m = "contracts/customers.yaml:7:3: field `region`: \"mars\" is not a region";
        assert_eq!(redact_values(m), m);
        // A date stays a date (it was once read as a phone number).
        let m = "the term ended on 2026-02-28; call +44 20 7946 0958";
        assert_eq!(
            redact_values(m),
            "the term ended on 2026-02-28; call <PHONE_NUMBER>"
        );
    }
}
