//! Data contracts: the YAML file, per dataset, that says what each column is, who owns it,
//! what it may be used for, where it lives and how long it stays.
//!
//! ```yaml
//! dataset: customers
//! owner: data-platform@example.com
//! region: eu
//! subject_key: email
//! retention: 2y
//! purposes:
//!   - name: personalization
//!     legal_basis: consent
//!     retention: 90d
//! columns:
//!   - name: email
//!     type: string
//!     classification: L2
//!     pii: EMAIL_ADDRESS
//!     transform: tokenize
//! ```
//!
//! Columns not listed are denied by default; every error names file:line:column, the field
//! and the fix.

use std::collections::HashSet;

use serde::Deserialize;
use serde_saphyr::Spanned;

use crate::{
    Classification, CoreError, EntityType, LegalBasis, Located, Operator, Purpose, Region,
    Retention,
};

/// Column types a contract may declare.
pub const COLUMN_TYPES: &[&str] = &[
    "string",
    "integer",
    "float",
    "boolean",
    "date",
    "timestamp",
    "binary",
];

/// A validated data contract.
#[derive(Debug, Clone, PartialEq)]
pub struct Contract {
    /// Dataset name (lower-case snake case).
    pub dataset: String,
    /// Free text for people.
    pub description: Option<String>,
    /// Who answers for the dataset.
    pub owner: Option<String>,
    /// Where the data lives.
    pub region: Option<Region>,
    /// The column that identifies the person each row is about.
    pub subject_key: Option<String>,
    /// Default retention for the dataset.
    pub retention: Option<Retention>,
    /// What happens to data past its retention (`on_expiry`).
    pub on_expiry: Expiry,
    /// Purposes the data may be used for.
    pub purposes: Vec<PurposeSpec>,
    /// The columns, in order. Anything else is denied.
    pub columns: Vec<ColumnSpec>,
    /// Expectations on the whole dataset (row count, freshness).
    pub expect: DatasetExpectations,
}

/// What `custodia retention apply` does to data past its retention.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Expiry {
    /// A declared date or timestamp column that dates each row: rows older than the
    /// retention by it expire. Without one a whole version expires with its write time.
    pub by: Option<String>,
    /// What expiry does.
    pub action: ExpiryAction,
}

/// What expiry does to a row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ExpiryAction {
    /// The row goes.
    #[default]
    Delete,
    /// The row stays with its personal columns (L2 and above, the subject key included)
    /// emptied: no longer about a person.
    Anonymize,
}

impl ExpiryAction {
    /// As contracts spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            ExpiryAction::Delete => "delete",
            ExpiryAction::Anonymize => "anonymize",
        }
    }
}

/// Expectations on a dataset as a whole.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct DatasetExpectations {
    /// At least this many rows.
    pub min_rows: Option<u64>,
    /// At most this many rows.
    pub max_rows: Option<u64>,
    /// The newest value of a time column is at most this old.
    pub fresh: Option<Freshness>,
}

/// A freshness expectation.
#[derive(Debug, Clone, PartialEq)]
pub struct Freshness {
    /// A declared `date` or `timestamp` column.
    pub column: String,
    /// Largest allowed age of its newest value.
    pub max_age: Retention,
}

/// Expectations on one column's values.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ColumnExpectations {
    /// No nulls.
    pub not_null: bool,
    /// No duplicates.
    pub unique: bool,
    /// Smallest allowed value (numbers).
    pub min: Option<f64>,
    /// Largest allowed value (numbers).
    pub max: Option<f64>,
    /// Every value matches this pattern (Rust `regex` syntax, anchored by the author).
    pub regex: Option<String>,
    /// Every value is one of these.
    pub accepted_values: Vec<String>,
}

impl ColumnExpectations {
    /// No expectation set.
    pub fn is_empty(&self) -> bool {
        self == &ColumnExpectations::default()
    }
}

/// One allowed purpose and the legal basis it rests on.
#[derive(Debug, Clone, PartialEq)]
pub struct PurposeSpec {
    /// The purpose.
    pub purpose: Purpose,
    /// Its legal basis.
    pub legal_basis: LegalBasis,
    /// A shorter retention for data used under this purpose.
    pub retention: Option<Retention>,
}

/// One declared column.
#[derive(Debug, Clone, PartialEq)]
pub struct ColumnSpec {
    /// Column name as it appears in the data.
    pub name: String,
    /// Declared type (one of [`COLUMN_TYPES`]).
    pub data_type: Option<String>,
    /// Sensitivity.
    pub classification: Classification,
    /// The personal-data entity the column holds, if any.
    pub pii: Option<EntityType>,
    /// The de-identification applied on ingest.
    pub transform: Option<Operator>,
    /// Free text for people.
    pub description: Option<String>,
    /// What its values must satisfy.
    pub expect: ColumnExpectations,
}

impl Contract {
    /// The column with this name, if declared.
    pub fn column(&self, name: &str) -> Option<&ColumnSpec> {
        self.columns.iter().find(|c| c.name == name)
    }

    /// Parses and validates a contract. `file` is only used to label errors.
    pub fn parse(file: &str, text: &str) -> Result<Contract, CoreError> {
        let raw: RawContract = serde_saphyr::from_str(text).map_err(|e| {
            let (at, message) = yaml_error(file, &e);
            CoreError::ContractSyntax { at, message }
        })?;
        raw.validate(file)
    }

    /// Renders the contract as YAML that [`Contract::parse`] reads back unchanged.
    pub fn to_yaml(&self) -> String {
        let mut out = String::new();
        let mut kv = |k: &str, v: &str| out.push_str(&format!("{k}: {}\n", yaml_scalar(v)));
        kv("dataset", &self.dataset);
        if let Some(d) = &self.description {
            kv("description", d);
        }
        if let Some(o) = &self.owner {
            kv("owner", o);
        }
        if let Some(r) = &self.region {
            kv("region", r.as_str());
        }
        if let Some(s) = &self.subject_key {
            kv("subject_key", s);
        }
        if let Some(r) = &self.retention {
            kv("retention", &r.to_string());
        }
        if self.on_expiry != Expiry::default() {
            out.push_str("on_expiry:\n");
            if let Some(b) = &self.on_expiry.by {
                out.push_str(&format!("  by: {}\n", yaml_scalar(b)));
            }
            out.push_str(&format!("  action: {}\n", self.on_expiry.action.as_str()));
        }
        if !self.purposes.is_empty() {
            out.push_str("purposes:\n");
            for p in &self.purposes {
                out.push_str(&format!("  - name: {}\n", p.purpose));
                out.push_str(&format!("    legal_basis: {}\n", p.legal_basis));
                if let Some(r) = p.retention {
                    out.push_str(&format!("    retention: {r}\n"));
                }
            }
        }
        let e = &self.expect;
        if e != &DatasetExpectations::default() {
            out.push_str("expect:\n");
            if let Some(n) = e.min_rows {
                out.push_str(&format!("  min_rows: {n}\n"));
            }
            if let Some(n) = e.max_rows {
                out.push_str(&format!("  max_rows: {n}\n"));
            }
            if let Some(f) = &e.fresh {
                out.push_str(&format!(
                    "  fresh: {{column: {}, max_age: {}}}\n",
                    yaml_scalar(&f.column),
                    f.max_age
                ));
            }
        }
        out.push_str("columns:\n");
        for c in &self.columns {
            out.push_str(&format!("  - name: {}\n", yaml_scalar(&c.name)));
            if let Some(t) = &c.data_type {
                out.push_str(&format!("    type: {t}\n"));
            }
            out.push_str(&format!("    classification: {}\n", c.classification));
            if let Some(p) = c.pii {
                out.push_str(&format!("    pii: {p}\n"));
            }
            if let Some(t) = &c.transform {
                out.push_str(&format!("    transform: {}\n", yaml_scalar(&t.to_string())));
            }
            if let Some(d) = &c.description {
                out.push_str(&format!("    description: {}\n", yaml_scalar(d)));
            }
            let x = &c.expect;
            if !x.is_empty() {
                out.push_str("    expect:\n");
                if x.not_null {
                    out.push_str("      not_null: true\n");
                }
                if x.unique {
                    out.push_str("      unique: true\n");
                }
                if let Some(v) = x.min {
                    out.push_str(&format!("      min: {v:?}\n"));
                }
                if let Some(v) = x.max {
                    out.push_str(&format!("      max: {v:?}\n"));
                }
                if let Some(r) = &x.regex {
                    out.push_str(&format!("      regex: {}\n", yaml_scalar(r)));
                }
                if !x.accepted_values.is_empty() {
                    let vals: Vec<String> =
                        x.accepted_values.iter().map(|v| yaml_scalar(v)).collect();
                    out.push_str(&format!("      accepted_values: [{}]\n", vals.join(", ")));
                }
            }
        }
        out
    }
}

/// Quotes a scalar when plain YAML would misread it.
fn yaml_scalar(s: &str) -> String {
    let plain = !s.is_empty()
        && s.chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.' | '@' | '/'))
        && !matches!(
            s.to_ascii_lowercase().as_str(),
            "true" | "false" | "null" | "yes" | "no" | "on" | "off" | "~"
        )
        && s.parse::<f64>().is_err();
    if plain {
        return s.to_string();
    }
    // YAML double-quoted escapes (not Rust's `{:?}`, whose `\u{feff}` YAML rejects).
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() || matches!(c, '\u{feff}' | '\u{2028}' | '\u{2029}' | '\u{85}') => {
                let n = c as u32;
                if n <= 0xffff {
                    out.push_str(&format!("\\u{n:04X}"));
                } else {
                    out.push_str(&format!("\\U{n:08X}"));
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Where a YAML parser error is, and its first line: what every YAML file Custodia reads
/// (contracts, pipelines, model cards) reports.
pub(crate) fn yaml_error(file: &str, e: &serde_saphyr::Error) -> (Located, String) {
    let (line, column) = e
        .location()
        .map(|l| (l.line(), l.column()))
        .unwrap_or((1, 1));
    let at = Located {
        file: file.to_string(),
        line,
        column,
    };
    (at, first_line(&e.to_string()))
}

fn first_line(s: &str) -> String {
    s.lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("invalid yaml")
        .to_string()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawContract {
    dataset: Spanned<String>,
    description: Option<String>,
    owner: Option<Spanned<String>>,
    region: Option<Spanned<String>>,
    subject_key: Option<Spanned<String>>,
    retention: Option<Spanned<String>>,
    on_expiry: Option<Spanned<RawExpiry>>,
    #[serde(default)]
    purposes: Vec<RawPurpose>,
    expect: Option<Spanned<RawDatasetExpect>>,
    columns: Spanned<Vec<RawColumn>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawExpiry {
    by: Option<Spanned<String>>,
    action: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDatasetExpect {
    min_rows: Option<u64>,
    max_rows: Option<u64>,
    fresh: Option<RawFresh>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFresh {
    column: Spanned<String>,
    max_age: Spanned<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawColumnExpect {
    #[serde(default)]
    not_null: bool,
    #[serde(default)]
    unique: bool,
    min: Option<f64>,
    max: Option<f64>,
    regex: Option<Spanned<String>>,
    #[serde(default)]
    accepted_values: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPurpose {
    name: Spanned<String>,
    legal_basis: Spanned<String>,
    retention: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawColumn {
    name: Spanned<String>,
    #[serde(rename = "type")]
    data_type: Option<Spanned<String>>,
    classification: Spanned<String>,
    pii: Option<Spanned<String>>,
    transform: Option<Spanned<String>>,
    description: Option<String>,
    expect: Option<Spanned<RawColumnExpect>>,
}

struct FieldCx<'a> {
    file: &'a str,
}

impl FieldCx<'_> {
    fn err<T>(&self, at: &Spanned<T>, field: &str, message: String, fix: String) -> CoreError {
        CoreError::ContractField {
            at: Located {
                file: self.file.to_string(),
                line: at.referenced.line(),
                column: at.referenced.column(),
            },
            field: field.to_string(),
            message,
            fix,
        }
    }

    /// Parses a spanned value with a domain parser, moving the domain error's fix into a
    /// located field error.
    fn parse<T>(
        &self,
        at: &Spanned<String>,
        field: &str,
        parse: impl FnOnce(&str) -> Result<T, CoreError>,
    ) -> Result<T, CoreError> {
        parse(&at.value).map_err(|e| match e {
            CoreError::InvalidValue { kind, value, fix } => {
                self.err(at, field, format!("invalid {kind} {value:?}"), fix)
            }
            other => self.err(at, field, other.to_string(), "correct the value".into()),
        })
    }
}

impl FieldCx<'_> {
    fn column_expect(
        &self,
        x: &Spanned<RawColumnExpect>,
        field: &str,
    ) -> Result<ColumnExpectations, CoreError> {
        let v = &x.value;
        for (name, n) in [("min", v.min), ("max", v.max)] {
            if n.is_some_and(|n| !n.is_finite()) {
                return Err(self.err(
                    x,
                    &format!("{field}.{name}"),
                    "not a finite number".into(),
                    "write a number".into(),
                ));
            }
        }
        if let (Some(lo), Some(hi)) = (v.min, v.max) {
            if lo > hi {
                return Err(self.err(
                    x,
                    field,
                    format!("min {lo} is above max {hi}"),
                    "swap them".into(),
                ));
            }
        }
        if let Some(r) = &v.regex {
            if let Err(e) = regex::Regex::new(&r.value) {
                let msg = e.to_string();
                let first = msg
                    .lines()
                    .last()
                    .unwrap_or("invalid pattern")
                    .trim()
                    .to_string();
                return Err(self.err(
                    r,
                    &format!("{field}.regex"),
                    format!("not a valid pattern: {first}"),
                    "use Rust regex syntax, e.g. `^[A-Z]{2}$`".into(),
                ));
            }
        }
        Ok(ColumnExpectations {
            not_null: v.not_null,
            unique: v.unique,
            min: v.min,
            max: v.max,
            regex: v.regex.as_ref().map(|r| r.value.clone()),
            accepted_values: v.accepted_values.clone(),
        })
    }

    fn dataset_expect(
        &self,
        x: &Spanned<RawDatasetExpect>,
        columns: &[ColumnSpec],
    ) -> Result<DatasetExpectations, CoreError> {
        let v = &x.value;
        if let (Some(lo), Some(hi)) = (v.min_rows, v.max_rows) {
            if lo > hi {
                return Err(self.err(
                    x,
                    "expect",
                    format!("min_rows {lo} is above max_rows {hi}"),
                    "swap them".into(),
                ));
            }
        }
        let fresh = match &v.fresh {
            None => None,
            Some(f) => {
                let col = columns.iter().find(|c| c.name == f.column.value);
                let is_time = col.is_some_and(|c| {
                    matches!(
                        c.data_type.as_deref(),
                        None | Some("date") | Some("timestamp")
                    )
                });
                if !is_time {
                    return Err(self.err(
                        &f.column,
                        "expect.fresh.column",
                        format!(
                            "{:?} is not a declared date or timestamp column",
                            f.column.value
                        ),
                        "name a declared column of type date or timestamp".into(),
                    ));
                }
                Some(Freshness {
                    column: f.column.value.clone(),
                    max_age: self.parse(&f.max_age, "expect.fresh.max_age", str::parse)?,
                })
            }
        };
        Ok(DatasetExpectations {
            min_rows: v.min_rows,
            max_rows: v.max_rows,
            fresh,
        })
    }
}

impl RawContract {
    fn validate(self, file: &str) -> Result<Contract, CoreError> {
        let cx = FieldCx { file };
        let dataset = cx.parse(&self.dataset, "dataset", |s| {
            Purpose::new(s)
                .map(|p| p.as_str().to_string())
                .map_err(|_| {
                    CoreError::invalid(
                        "dataset name",
                        s,
                        "dataset names are lower-case snake case, e.g. `customer_reviews`",
                    )
                })
        })?;
        let region = self
            .region
            .as_ref()
            .map(|r| cx.parse(r, "region", Region::new))
            .transpose()?;
        let retention = self
            .retention
            .as_ref()
            .map(|r| cx.parse(r, "retention", str::parse))
            .transpose()?;
        if let Some(o) = &self.owner {
            if o.value.trim().is_empty() {
                return Err(cx.err(
                    o,
                    "owner",
                    "owner is empty".into(),
                    "name a team or person, e.g. `owner: data-platform@example.com`".into(),
                ));
            }
        }

        let mut purposes = Vec::new();
        let mut seen_purposes = HashSet::new();
        for (i, p) in self.purposes.iter().enumerate() {
            let field = |f: &str| format!("purposes[{i}].{f}");
            let purpose = cx.parse(&p.name, &field("name"), Purpose::new)?;
            if !seen_purposes.insert(purpose.clone()) {
                return Err(cx.err(
                    &p.name,
                    &field("name"),
                    format!("purpose {:?} is listed twice", purpose.as_str()),
                    "list each purpose once".into(),
                ));
            }
            purposes.push(PurposeSpec {
                purpose,
                legal_basis: cx.parse(&p.legal_basis, &field("legal_basis"), str::parse)?,
                retention: p
                    .retention
                    .as_ref()
                    .map(|r| cx.parse(r, &field("retention"), str::parse))
                    .transpose()?,
            });
        }

        if self.columns.value.is_empty() {
            return Err(cx.err(
                &self.columns,
                "columns",
                "a contract must declare at least one column".into(),
                "list the dataset's columns under `columns:`".into(),
            ));
        }
        let mut columns = Vec::new();
        let mut seen = HashSet::new();
        for (i, c) in self.columns.value.iter().enumerate() {
            let field = |f: &str| format!("columns[{i}].{f}");
            let name = c.name.value.trim().to_string();
            if name.is_empty() {
                return Err(cx.err(
                    &c.name,
                    &field("name"),
                    "column name is empty".into(),
                    "give the column's name as it appears in the data".into(),
                ));
            }
            if !seen.insert(name.clone()) {
                return Err(cx.err(
                    &c.name,
                    &field("name"),
                    format!("column {name:?} is declared twice"),
                    "declare each column once".into(),
                ));
            }
            let data_type = match &c.data_type {
                Some(t) if !COLUMN_TYPES.contains(&t.value.as_str()) => {
                    return Err(cx.err(
                        t,
                        &field("type"),
                        format!("unknown column type {:?}", t.value),
                        format!("use one of {}", COLUMN_TYPES.join(", ")),
                    ))
                }
                Some(t) => Some(t.value.clone()),
                None => None,
            };
            columns.push(ColumnSpec {
                name,
                data_type,
                classification: cx.parse(
                    &c.classification,
                    &field("classification"),
                    str::parse,
                )?,
                pii: c
                    .pii
                    .as_ref()
                    .map(|p| cx.parse(p, &field("pii"), str::parse))
                    .transpose()?,
                transform: c
                    .transform
                    .as_ref()
                    .map(|t| cx.parse(t, &field("transform"), str::parse))
                    .transpose()?,
                description: c.description.clone(),
                expect: match &c.expect {
                    None => ColumnExpectations::default(),
                    Some(x) => cx.column_expect(x, &field("expect"))?,
                },
            });
        }

        let subject_key = match &self.subject_key {
            Some(k) if !seen.contains(k.value.trim()) => {
                return Err(cx.err(
                    k,
                    "subject_key",
                    format!("subject_key {:?} is not a declared column", k.value),
                    "name one of the columns listed under `columns:`".into(),
                ))
            }
            Some(k) => Some(k.value.trim().to_string()),
            None => None,
        };

        let expect = match &self.expect {
            None => DatasetExpectations::default(),
            Some(x) => cx.dataset_expect(x, &columns)?,
        };
        let on_expiry = match &self.on_expiry {
            None => Expiry::default(),
            Some(x) => {
                let by = match &x.value.by {
                    None => None,
                    Some(b) => {
                        let is_time = columns.iter().any(|c| {
                            c.name == b.value
                                && matches!(
                                    c.data_type.as_deref(),
                                    Some("date") | Some("timestamp")
                                )
                        });
                        if !is_time {
                            return Err(cx.err(
                                b,
                                "on_expiry.by",
                                format!("{:?} is not a declared date or timestamp column", b.value),
                                "name a column declared with type: date or type: timestamp".into(),
                            ));
                        }
                        Some(b.value.clone())
                    }
                };
                let action = match &x.value.action {
                    None => ExpiryAction::Delete,
                    Some(a) => match a.value.as_str() {
                        "delete" => ExpiryAction::Delete,
                        "anonymize" => ExpiryAction::Anonymize,
                        other => {
                            return Err(cx.err(
                                a,
                                "on_expiry.action",
                                format!("{other:?} is not an expiry action"),
                                "use delete or anonymize".into(),
                            ))
                        }
                    },
                };
                if retention.is_none() {
                    return Err(cx.err(
                        x,
                        "on_expiry",
                        "on_expiry without a retention".into(),
                        "add `retention: 90d` (or another term) to the contract".into(),
                    ));
                }
                Expiry { by, action }
            }
        };
        Ok(Contract {
            dataset,
            description: self.description,
            owner: self.owner.map(|o| o.value),
            region,
            subject_key,
            retention,
            on_expiry,
            purposes,
            columns,
            expect,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = "\
dataset: customers
owner: data-platform@example.com
region: eu
subject_key: email
retention: 2y
purposes:
  - name: personalization
    legal_basis: consent
    retention: 90d
columns:
  - name: email
    type: string
    classification: L2
    pii: EMAIL_ADDRESS
    transform: tokenize
  - name: age
    type: integer
    classification: L1
    transform: generalize:band10
";

    #[test]
    fn parses_a_full_contract_and_round_trips() {
        let c = Contract::parse("customers.yaml", GOOD).unwrap();
        assert_eq!(c.dataset, "customers");
        assert_eq!(c.columns.len(), 2);
        assert_eq!(
            c.column("email").unwrap().pii,
            Some(EntityType::EmailAddress)
        );
        assert_eq!(c.purposes[0].retention.unwrap().as_days(), 90);
        let again = Contract::parse("again.yaml", &c.to_yaml()).unwrap();
        assert_eq!(again, c);
    }

    fn err(text: &str) -> String {
        Contract::parse("c.yaml", text).unwrap_err().to_string()
    }

    const EXPECTING: &str = "dataset: orders\nexpect:\n  min_rows: 10\n  max_rows: 1000000\n  fresh: {column: updated_at, max_age: 2d}\ncolumns:\n  - name: amount\n    classification: L0\n    expect: {not_null: true, min: 0, max: 100000.5}\n  - name: country\n    classification: L1\n    expect:\n      regex: \"^[A-Z]{2}$\"\n      accepted_values: [DE, FR, \"no\"]\n  - name: order_id\n    classification: L0\n    expect: {unique: true, not_null: true}\n  - name: updated_at\n    type: timestamp\n    classification: L0\n";

    #[test]
    fn expectations_parse_validate_and_round_trip() {
        let c = Contract::parse("o.yaml", EXPECTING).unwrap();
        assert_eq!(c.expect.min_rows, Some(10));
        assert_eq!(c.expect.fresh.as_ref().unwrap().max_age.as_days(), 2);
        let amount = c.column("amount").unwrap();
        assert!(amount.expect.not_null && amount.expect.max == Some(100000.5));
        assert_eq!(
            c.column("country").unwrap().expect.accepted_values,
            vec!["DE", "FR", "no"]
        );
        assert!(c.column("order_id").unwrap().expect.unique);
        assert_eq!(Contract::parse("again.yaml", &c.to_yaml()).unwrap(), c);

        let e = err(&EXPECTING.replace("^[A-Z]{2}$", "^[A-Z{2}$"));
        assert!(
            e.contains("c.yaml:13:") && e.contains("columns[1].expect.regex"),
            "{e}"
        );
        let e = err(&EXPECTING.replace("min: 0, max: 100000.5", "min: 9, max: 1"));
        assert!(e.contains("min 9 is above max 1"), "{e}");
        let e = err(&EXPECTING.replace("column: updated_at", "column: amount_x"));
        assert!(
            e.contains("expect.fresh.column") && e.contains("c.yaml:5:"),
            "{e}"
        );
        let e = err(&EXPECTING.replace("max_rows: 1000000", "max_rows: 1"));
        assert!(e.contains("min_rows 10 is above max_rows 1"), "{e}");
        let e = err(&EXPECTING.replace("not_null: true, min", "not_nul: true, min"));
        assert!(e.contains("not_nul"), "{e}");
    }

    #[test]
    fn awkward_strings_round_trip_through_yaml() {
        // Found by the `contract` fuzz target: a byte-order mark inside a value.
        let mut c = Contract::parse("customers.yaml", GOOD).unwrap();
        c.owner = Some("data-\u{feff}team \"ops\" \\ x\nnext\u{2028}".into());
        c.description = Some("tab\there: # not a comment".into());
        let again = Contract::parse("again.yaml", &c.to_yaml()).unwrap();
        assert_eq!(again.owner, c.owner);
        assert_eq!(again.description, c.description);
    }

    #[test]
    fn bad_classification_names_line_column_field_and_fix() {
        let e = err(&GOOD.replace("classification: L1", "classification: L7"));
        assert!(
            e.starts_with("c.yaml:18:21: field `columns[1].classification`"),
            "{e}"
        );
        assert!(
            e.contains("\"L7\"") && e.contains("fix: use one of L0"),
            "{e}"
        );
    }

    #[test]
    fn bad_values_are_located() {
        let e = err(&GOOD.replace("pii: EMAIL_ADDRESS", "pii: EMAIL"));
        assert!(e.starts_with("c.yaml:14:10: field `columns[0].pii`"), "{e}");
        let e = err(&GOOD.replace("region: eu", "region: Europe"));
        assert!(e.starts_with("c.yaml:3:9: field `region`"), "{e}");
        let expiring = "dataset: orders\nretention: 90d\non_expiry:\n  by: ordered_at\n  action: anonymize\ncolumns:\n  - name: ordered_at\n    type: date\n    classification: L0\n";
        let c = Contract::parse("c.yaml", expiring).unwrap();
        assert_eq!(
            c.on_expiry,
            Expiry {
                by: Some("ordered_at".into()),
                action: ExpiryAction::Anonymize
            }
        );
        assert_eq!(Contract::parse("c.yaml", &c.to_yaml()).unwrap(), c);
        let e = err(&expiring.replace("by: ordered_at", "by: nope"));
        assert!(
            e.starts_with("c.yaml:4:") && e.contains("on_expiry.by"),
            "{e}"
        );
        let e = err(&expiring.replace("anonymize", "shred"));
        assert!(
            e.starts_with("c.yaml:5:") && e.contains("delete or anonymize"),
            "{e}"
        );
        let e = err(&expiring.replace("retention: 90d\n", ""));
        assert!(e.contains("on_expiry without a retention"), "{e}");
        let e = err(&GOOD.replace("retention: 2y", "retention: forever"));
        assert!(e.contains("field `retention`") && e.contains("90d"), "{e}");
        let e = err(&GOOD.replace("legal_basis: consent", "legal_basis: vibes"));
        assert!(e.contains("purposes[0].legal_basis"), "{e}");
        let e = err(&GOOD.replace("transform: tokenize", "transform: encrypt"));
        assert!(e.contains("columns[0].transform"), "{e}");
        let e = err(&GOOD.replace("subject_key: email", "subject_key: mail"));
        assert!(e.contains("not a declared column"), "{e}");
        let e = err(&GOOD.replace("type: integer", "type: int"));
        assert!(e.contains("unknown column type"), "{e}");
    }

    #[test]
    fn unknown_field_and_syntax_errors_have_a_position() {
        let e = err(&GOOD.replace("owner:", "ownr:"));
        assert!(e.starts_with("c.yaml:2:"), "{e}");
        assert!(e.contains("ownr"), "{e}");
        let e = err("dataset: [unclosed\n");
        assert!(e.starts_with("c.yaml:"), "{e}");
    }

    #[test]
    fn duplicate_columns_are_rejected() {
        let text = GOOD.replace("name: age", "name: email");
        assert!(err(&text).contains("declared twice"));
    }
}
