//! Column classification: what a column holds, from its header and a sample of values.

use std::collections::BTreeMap;

use custodia_core::{Classification, EntityType};

use crate::Analyzer;

/// What Custodia concluded about one column.
#[derive(Debug, Clone, PartialEq)]
pub struct ColumnProfile {
    /// The entity the column holds as a whole (structured columns).
    pub entity: Option<EntityType>,
    /// Share of non-empty sampled values that are that entity (0.0–1.0).
    pub match_share: f32,
    /// Suggested classification.
    pub classification: Classification,
    /// How sure the suggestion is (0.0–1.0).
    pub confidence: f32,
    /// True when values are prose (reviews, notes) rather than one value per cell.
    pub free_text: bool,
    /// Findings per entity over the sample (for free-text columns, and as evidence).
    pub entity_counts: BTreeMap<EntityType, usize>,
    /// Non-empty values sampled.
    pub sampled: usize,
    /// Why: "header", "values", "header+values", "identifier header", or "no evidence".
    pub evidence: &'static str,
}

/// Header words that name an entity. Matched on the header lower-cased with separators
/// removed ("E-Mail Address" → "emailaddress").
const HEADER_HINTS: &[(&str, EntityType)] = &[
    ("email", EntityType::EmailAddress),
    ("mail", EntityType::EmailAddress),
    ("phone", EntityType::PhoneNumber),
    ("mobile", EntityType::PhoneNumber),
    ("telephone", EntityType::PhoneNumber),
    ("telefon", EntityType::PhoneNumber),
    ("cell", EntityType::PhoneNumber),
    ("fax", EntityType::PhoneNumber),
    ("firstname", EntityType::Person),
    ("lastname", EntityType::Person),
    ("fullname", EntityType::Person),
    ("surname", EntityType::Person),
    ("givenname", EntityType::Person),
    ("familyname", EntityType::Person),
    ("customername", EntityType::Person),
    ("contactname", EntityType::Person),
    ("name", EntityType::Person),
    ("nachname", EntityType::Person),
    ("vorname", EntityType::Person),
    ("nom", EntityType::Person),
    ("nombre", EntityType::Person),
    ("address", EntityType::Location),
    ("street", EntityType::Location),
    ("city", EntityType::Location),
    ("town", EntityType::Location),
    ("adresse", EntityType::Location),
    ("dob", EntityType::DateTime),
    ("birth", EntityType::DateTime),
    ("birthday", EntityType::DateTime),
    ("ssn", EntityType::UsSsn),
    ("socialsecurity", EntityType::UsSsn),
    ("iban", EntityType::IbanCode),
    ("creditcard", EntityType::CreditCard),
    ("cardnumber", EntityType::CreditCard),
    ("ccnumber", EntityType::CreditCard),
    ("pan", EntityType::CreditCard),
    ("ipaddress", EntityType::IpAddress),
    ("ip", EntityType::IpAddress),
    ("macaddress", EntityType::MacAddress),
    ("mac", EntityType::MacAddress),
    ("url", EntityType::Url),
    ("website", EntityType::Url),
    ("nino", EntityType::UkNino),
    ("nationalinsurance", EntityType::UkNino),
    ("nhs", EntityType::UkNhs),
    ("nir", EntityType::FrNir),
    ("dni", EntityType::EsNif),
    ("nif", EntityType::EsNif),
    ("nie", EntityType::EsNie),
    ("codicefiscale", EntityType::ItFiscalCode),
    ("bsn", EntityType::NlBsn),
    ("pesel", EntityType::PlPesel),
    ("personnummer", EntityType::SePersonnummer),
    ("aadhaar", EntityType::InAadhaar),
    ("sin", EntityType::CaSin),
    ("steuerid", EntityType::DeTaxId),
    ("taxid", EntityType::DeTaxId),
    ("password", EntityType::Secret),
    ("secret", EntityType::Secret),
    ("apikey", EntityType::Secret),
    ("token", EntityType::Secret),
];

/// Headers of keys that identify a person without being an entity of their own.
const IDENTIFIER_HINTS: &[&str] = &[
    "customerid",
    "userid",
    "clientid",
    "accountid",
    "memberid",
    "patientid",
    "employeeid",
    "subjectid",
    "personid",
    "subjectref",
];

fn normalise(header: &str) -> String {
    header
        .chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

fn header_hint(header: &str) -> Option<EntityType> {
    let h = normalise(header);
    // Exact words first, then "contains" for compound headers ("billing_email").
    HEADER_HINTS
        .iter()
        .find(|(k, _)| h == *k)
        .or_else(|| {
            HEADER_HINTS
                .iter()
                .filter(|(k, _)| k.len() >= 4)
                .find(|(k, _)| h.contains(k))
        })
        .map(|(_, e)| *e)
}

/// Profiles a column from its header and a sample of its values (already stringified;
/// the caller samples, e.g. the first 1,000 non-null values).
pub fn classify_column(analyzer: &Analyzer, header: &str, values: &[&str]) -> ColumnProfile {
    let values: Vec<&str> = values
        .iter()
        .map(|v| v.trim())
        .filter(|v| !v.is_empty())
        .collect();
    let sampled = values.len();
    let mut counts: BTreeMap<EntityType, usize> = BTreeMap::new();
    let mut whole: BTreeMap<EntityType, usize> = BTreeMap::new();
    let mut words = 0usize;
    let mut chars = 0usize;
    for v in &values {
        let n = v.chars().count();
        chars += n;
        words += v.split_whitespace().count();
        let findings = analyzer.analyze(v);
        for f in &findings {
            *counts.entry(f.entity_type).or_default() += 1;
        }
        // A cell "is" an entity when one finding covers most of it.
        if let Some(f) = findings.iter().max_by_key(|f| f.end - f.start) {
            let covered = v[f.start..f.end].chars().count();
            if covered * 10 >= n * 8 {
                *whole.entry(f.entity_type).or_default() += 1;
            }
        }
    }
    let free_text = sampled > 0 && chars / sampled >= 30 && words / sampled >= 5;
    let hint = header_hint(header);
    let best = whole.iter().max_by_key(|(_, c)| **c).map(|(e, c)| (*e, *c));
    let share = |c: usize| {
        if sampled == 0 {
            0.0
        } else {
            c as f32 / sampled as f32
        }
    };

    let (entity, match_share, confidence, evidence) = match (best, hint) {
        _ if free_text => (None, 0.0, 0.0, "values"),
        (Some((e, c)), Some(h)) if e == h && share(c) >= 0.1 => (
            Some(e),
            share(c),
            (0.7 + share(c) * 0.3).min(1.0),
            "header+values",
        ),
        (Some((e, c)), _) if share(c) >= 0.5 => (Some(e), share(c), 0.5 + share(c) * 0.4, "values"),
        // Names and places are the entities whose values a detector misses most often
        // alone (single tokens, lower case): the header is good evidence for them.
        (_, Some(h @ (EntityType::Person | EntityType::Location | EntityType::DateTime))) => {
            let c = whole.get(&h).copied().unwrap_or(0);
            (Some(h), share(c), 0.6, "header")
        }
        (Some((e, c)), _) if share(c) >= 0.2 => (Some(e), share(c), 0.3 + share(c), "values"),
        _ => (None, 0.0, 0.0, "no evidence"),
    };

    let identifier = IDENTIFIER_HINTS.contains(&normalise(header).as_str());
    let classification = if free_text {
        counts
            .keys()
            .map(|e| e.default_classification())
            .max()
            .unwrap_or(Classification::L1)
    } else if let Some(e) = entity {
        let birth = normalise(header).contains("birth") || normalise(header) == "dob";
        if e == EntityType::DateTime && birth {
            Classification::L2
        } else {
            e.default_classification()
        }
    } else if identifier {
        Classification::L2
    } else {
        Classification::L0
    };
    let (confidence, evidence) = if entity.is_none() && identifier {
        (0.6, "identifier header")
    } else if free_text {
        let found: usize = counts.values().sum();
        (if found > 0 { 0.8 } else { 0.5 }, "values")
    } else {
        (confidence, evidence)
    };
    ColumnProfile {
        entity,
        match_share,
        classification,
        confidence,
        free_text,
        entity_counts: counts,
        sampled,
        evidence,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn a() -> Analyzer {
        Analyzer::new(Default::default()).unwrap()
    }

    #[test]
    fn structured_columns_by_values_and_header() {
        let p = classify_column(&a(), "contact", &["a@x.com", "b@y.org", "c@z.net", ""]);
        assert_eq!(p.entity, Some(EntityType::EmailAddress));
        assert_eq!(p.sampled, 3);
        assert!((p.match_share - 1.0).abs() < 1e-6);
        let p = classify_column(&a(), "first_name", &["zzq", "qqx"]);
        assert_eq!(p.entity, Some(EntityType::Person));
        assert_eq!(p.evidence, "header");
        let p = classify_column(&a(), "rating", &["4", "5", "3"]);
        assert_eq!(p.entity, None);
        assert_eq!(p.classification, Classification::L0);
        let p = classify_column(&a(), "customer_id", &["C-1", "C-2"]);
        assert_eq!(p.classification, Classification::L2);
    }

    #[test]
    fn free_text_columns_count_entities() {
        let rows = [
            "Great product, reach me at jane.doe@example.com if anything breaks again",
            "Delivery was late and the box was damaged, would not order again from here",
        ];
        let p = classify_column(&a(), "review", &rows);
        assert!(p.free_text);
        assert_eq!(p.entity, None);
        assert_eq!(p.entity_counts.get(&EntityType::EmailAddress), Some(&1));
        assert_eq!(p.classification, Classification::L2);
    }
}
