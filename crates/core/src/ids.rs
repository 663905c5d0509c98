use std::{fmt, str::FromStr};

use crate::CoreError;

fn is_snake_ident(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some('a'..='z'))
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && s.len() <= 64
}

/// What data is used for (`personalization`, `fraud`, `model_training`…): the unit that
/// consent and legal bases attach to.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Purpose(String);

impl Purpose {
    /// Validates a purpose name: lower-case snake case, at most 64 characters.
    pub fn new(name: &str) -> Result<Self, CoreError> {
        if is_snake_ident(name) {
            Ok(Purpose(name.to_string()))
        } else {
            Err(CoreError::invalid(
                "purpose",
                name,
                "purposes are lower-case snake case, e.g. `personalization` or `fraud_detection`",
            ))
        }
    }

    /// The purpose's name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Purpose {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Where data lives (`eu`, `us`, `eu-west`): each region has its own keys and storage root.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Region(String);

impl Region {
    /// Validates a region code: lower-case letters, digits and dashes, starting with a letter.
    pub fn new(code: &str) -> Result<Self, CoreError> {
        let ok = code.len() >= 2
            && code.len() <= 32
            && code.starts_with(|c: char| c.is_ascii_lowercase())
            && code
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
            && !code.ends_with('-');
        if ok {
            Ok(Region(code.to_string()))
        } else {
            Err(CoreError::invalid(
                "region",
                code,
                "regions are lower-case codes such as `eu`, `us` or `eu-west`",
            ))
        }
    }

    /// The region's code.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Region {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The lawful ground a purpose rests on (GDPR art. 6 and its equivalents elsewhere).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum LegalBasis {
    /// The person agreed; withdrawable at any time.
    Consent,
    /// Needed to perform a contract with the person.
    Contract,
    /// Required by law.
    LegalObligation,
    /// To protect someone's life.
    VitalInterests,
    /// A task in the public interest.
    PublicTask,
    /// The controller's legitimate interest, balanced against the person's rights.
    LegitimateInterest,
}

impl LegalBasis {
    const NAMES: &'static [(&'static str, LegalBasis)] = &[
        ("consent", LegalBasis::Consent),
        ("contract", LegalBasis::Contract),
        ("legal_obligation", LegalBasis::LegalObligation),
        ("vital_interests", LegalBasis::VitalInterests),
        ("public_task", LegalBasis::PublicTask),
        ("legitimate_interest", LegalBasis::LegitimateInterest),
    ];

    /// The canonical snake-case name.
    pub fn as_str(self) -> &'static str {
        Self::NAMES
            .iter()
            .find(|(_, b)| *b == self)
            .map(|(n, _)| *n)
            .unwrap_or("consent")
    }
}

impl fmt::Display for LegalBasis {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for LegalBasis {
    type Err = CoreError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::NAMES
            .iter()
            .find(|(n, _)| *n == s.trim())
            .map(|(_, b)| *b)
            .ok_or_else(|| {
                let names: Vec<&str> = Self::NAMES.iter().map(|(n, _)| *n).collect();
                CoreError::invalid("legal basis", s, format!("use one of {}", names.join(", ")))
            })
    }
}

/// How long data may be kept, in days (`90d`, `12w`, `6m`, `2y`; months are 30 days and
/// years 365, so a retention is an exact, comparable number).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Retention {
    days: u32,
}

impl Retention {
    /// A retention of exactly `days` days.
    pub fn days(days: u32) -> Self {
        Retention { days }
    }

    /// The retention in days.
    pub fn as_days(self) -> u32 {
        self.days
    }
}

impl FromStr for Retention {
    type Err = CoreError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim();
        let fix = "write a number and a unit: `90d`, `12w`, `6m` or `2y`";
        // The unit is the last character, which need not be one byte ("2ћ").
        let unit_len = t.chars().next_back().map_or(0, char::len_utf8);
        let (num, unit) = t.split_at(t.len() - unit_len);
        let n: u32 = num
            .parse()
            .map_err(|_| CoreError::invalid("retention", s, fix))?;
        let per = match unit {
            "d" => 1,
            "w" => 7,
            "m" => 30,
            "y" => 365,
            _ => return Err(CoreError::invalid("retention", s, fix)),
        };
        if n == 0 {
            return Err(CoreError::invalid(
                "retention",
                s,
                "a retention must be at least one day",
            ));
        }
        n.checked_mul(per)
            .map(Retention::days)
            .ok_or_else(|| CoreError::invalid("retention", s, "the retention is too long"))
    }
}

impl fmt::Display for Retention {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}d", self.days)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn purposes_and_regions_validate() {
        assert!(Purpose::new("personalization").is_ok());
        assert!(Purpose::new("Personalization").is_err());
        assert!(Purpose::new("fraud-detection").is_err());
        assert!(Region::new("eu").is_ok());
        assert!(Region::new("eu-west").is_ok());
        assert!(Region::new("EU").is_err());
        assert!(Region::new("e").is_err());
    }

    #[test]
    fn retention_units() {
        assert_eq!("90d".parse::<Retention>().unwrap().as_days(), 90);
        assert_eq!("2y".parse::<Retention>().unwrap().as_days(), 730);
        // Found by the `contract` fuzz target: a multi-byte last character.
        assert!("2ћ".parse::<Retention>().is_err());
        assert!("ћ".parse::<Retention>().is_err());
        assert_eq!("12w".parse::<Retention>().unwrap().as_days(), 84);
        assert!("90".parse::<Retention>().is_err());
        assert!("0d".parse::<Retention>().is_err());
        assert!("d".parse::<Retention>().is_err());
    }

    #[test]
    fn legal_basis_names() {
        assert_eq!(
            "legitimate_interest".parse::<LegalBasis>().unwrap(),
            LegalBasis::LegitimateInterest
        );
        let e = "maybe".parse::<LegalBasis>().unwrap_err().to_string();
        assert!(e.contains("consent"), "{e}");
    }
}
