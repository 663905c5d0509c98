use std::{fmt, str::FromStr};

use crate::CoreError;

/// How sensitive a column is. Ordered, so gates can say "at or above L2".
///
/// `L0` public, `L1` internal (no person identifiable from it alone), `L2` personal
/// (identifies or relates to a person), `L3` sensitive (national IDs, financial accounts,
/// secrets, special categories) — L3 must be transformed on ingest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Classification {
    /// Public data.
    L0,
    /// Internal, not personal on its own.
    L1,
    /// Personal data.
    L2,
    /// Sensitive personal data.
    L3,
}

impl Classification {
    /// The canonical spelling, as written in contracts.
    pub fn as_str(self) -> &'static str {
        match self {
            Classification::L0 => "L0",
            Classification::L1 => "L1",
            Classification::L2 => "L2",
            Classification::L3 => "L3",
        }
    }
}

impl fmt::Display for Classification {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Classification {
    type Err = CoreError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_uppercase().as_str() {
            "L0" => Ok(Classification::L0),
            "L1" => Ok(Classification::L1),
            "L2" => Ok(Classification::L2),
            "L3" => Ok(Classification::L3),
            _ => Err(CoreError::invalid(
                "classification",
                s,
                "use one of L0 (public), L1 (internal), L2 (personal), L3 (sensitive)",
            )),
        }
    }
}
