//! Phone number validation against libphonenumber's metadata (as shipped by the
//! `phonenumber` crate), with our own compiled patterns.
//!
//! Why not `phonenumber::parse` + `is_valid`: that crate keeps its compiled patterns in one
//! global LRU of 100 regexes behind a mutex. Validating candidates for 16 regions evicts
//! and recompiles patterns on nearly every call (it was 60% of `analyze` time) and
//! serialises threads. Here each country code's patterns are compiled once, on first use,
//! into an immutable table shared lock-free by all threads.

use std::sync::OnceLock;

use phonenumber::metadata::{Descriptor, Metadata, DATABASE};
use regex::{Regex, RegexBuilder};

/// One numbering-plan descriptor: anchored pattern plus the lengths it allows.
struct Rule {
    pattern: Regex,
    lengths: Vec<u16>,
}

impl Rule {
    fn new(desc: &Descriptor, fallback_lengths: &[u16]) -> Option<Rule> {
        let pattern = RegexBuilder::new(&format!("^(?:{})$", desc.national_number().as_str()))
            .ignore_whitespace(true)
            .unicode(false)
            .build()
            .ok()?;
        let lengths = if desc.possible_length().is_empty() {
            fallback_lengths.to_vec()
        } else {
            desc.possible_length().to_vec()
        };
        Some(Rule { pattern, lengths })
    }

    fn matches(&self, national: &str) -> bool {
        (self.lengths.is_empty() || self.lengths.contains(&(national.len() as u16)))
            && self.pattern.is_match(national)
    }
}

/// The rules of one region (`GB`, `US`…).
struct Region {
    id: String,
    national_prefix: Option<String>,
    general: Rule,
    /// Fixed line, mobile, toll free, VoIP…: a number is valid when one of them matches
    /// (libphonenumber's `is_valid` = "has a known type").
    types: Vec<Rule>,
}

impl Region {
    fn new(meta: &Metadata) -> Option<Region> {
        let d = meta.descriptors();
        let general = Rule::new(d.general(), &[])?;
        let types = [
            d.fixed_line(),
            d.mobile(),
            d.toll_free(),
            d.premium_rate(),
            d.shared_cost(),
            d.personal_number(),
            d.voip(),
            d.pager(),
            d.uan(),
            d.voicemail(),
        ]
        .into_iter()
        .flatten()
        .filter_map(|t| Rule::new(t, &general.lengths))
        .collect();
        Some(Region {
            id: meta.id().to_string(),
            national_prefix: meta.national_prefix().map(str::to_string),
            general,
            types,
        })
    }

    fn is_valid(&self, national: &str) -> bool {
        self.general.matches(national) && self.types.iter().any(|t| t.matches(national))
    }

    /// Valid as written, or after dropping the trunk prefix ("0" in "020 7946 0958").
    fn accepts(&self, national: &str) -> bool {
        if self.is_valid(national) {
            return true;
        }
        match &self.national_prefix {
            Some(p) => national
                .strip_prefix(p.as_str())
                .is_some_and(|rest| self.is_valid(rest)),
            None => false,
        }
    }
}

/// Country calling codes are at most three digits.
const CODES: usize = 1000;

/// Lazily compiled rules per calling code, shared by every thread of one analyzer.
pub(crate) struct PhoneValidator {
    by_code: Vec<OnceLock<Vec<Region>>>,
    /// Regions tried for numbers written without a country code.
    national: Vec<(u16, &'static str)>,
}

impl PhoneValidator {
    pub(crate) fn new(national_regions: &[&'static str]) -> PhoneValidator {
        let national = national_regions
            .iter()
            .filter_map(|id| DATABASE.by_id(*id).map(|m| (m.country_code(), *id)))
            .collect();
        PhoneValidator {
            by_code: (0..CODES).map(|_| OnceLock::new()).collect(),
            national,
        }
    }

    fn regions(&self, code: u16) -> &[Region] {
        self.by_code[usize::from(code)].get_or_init(|| {
            DATABASE
                .by_code(&code)
                .unwrap_or_default()
                .into_iter()
                .filter_map(Region::new)
                .collect()
        })
    }

    /// A number written with `+` or `00`: the calling code decides the plan.
    /// `digits` excludes the `+`/`00`.
    pub(crate) fn valid_international(&self, digits: &str) -> bool {
        for len in 1..=3.min(digits.len()) {
            let Ok(code) = digits[..len].parse::<u16>() else {
                return false;
            };
            if DATABASE.region(&code).is_none() {
                continue;
            }
            // Calling codes are prefix-free: the first known one is the only candidate.
            let national = &digits[len..];
            return self.regions(code).iter().any(|r| r.accepts(national));
        }
        false
    }

    /// A number written without a calling code: valid in any of the default regions.
    pub(crate) fn valid_national(&self, digits: &str) -> bool {
        self.national.iter().any(|(code, id)| {
            self.regions(*code)
                .iter()
                .filter(|r| r.id == *id)
                .any(|r| r.accepts(digits))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v() -> PhoneValidator {
        PhoneValidator::new(&["US", "GB", "DE", "FR", "IT"])
    }

    #[test]
    fn international_numbers_follow_their_plan() {
        let v = v();
        assert!(v.valid_international("442079460958")); // GB London
        assert!(v.valid_international("4915123456789")); // DE mobile
        assert!(v.valid_international("12125550100")); // US NYC (555-01xx is assignable)
        assert!(v.valid_international("33142685300")); // FR Paris
        assert!(!v.valid_international("4412")); // too short
        assert!(!v.valid_international("999123456789")); // no such calling code
        assert!(!v.valid_international("11234567890")); // US area codes never start with 1
    }

    #[test]
    fn national_numbers_use_trunk_prefix_rules() {
        let v = v();
        assert!(v.valid_national("02079460958")); // GB with trunk 0
        assert!(v.valid_national("3387185826")); // IT mobile, no trunk prefix
        assert!(v.valid_national("2125550100")); // US
        assert!(!v.valid_national("0000000000"));
        assert!(!v.valid_national("1234"));
    }
}
