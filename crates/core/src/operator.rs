use std::{fmt, str::FromStr};

use crate::CoreError;

/// How a value is coarsened by the `generalize` operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Generalization {
    /// A date becomes `YYYY-MM`.
    Month,
    /// A date becomes `YYYY`.
    Year,
    /// A code (postcode, ZIP) keeps its first N characters: `SW1A 1AA` → `SW1`.
    Prefix(usize),
    /// A number becomes a band of this width: 37 → `30-39`.
    Band(u32),
}

/// A de-identification operator, as written in contracts and on the command line:
/// `redact`, `replace`, `replace:[removed]`, `mask`, `mask:4`, `hash`, `tokenize`, `fpe`,
/// `generalize:month|year|prefix3|band10`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Operator {
    /// Remove the value (an empty cell; in text, the span is removed).
    Redact,
    /// Replace with `<ENTITY_TYPE>` or with the given text.
    Replace(Option<String>),
    /// Replace every character but the last `keep_last` (letters and digits only) with `*`.
    Mask {
        /// How many trailing characters stay readable.
        keep_last: usize,
    },
    /// Keyed HMAC-SHA256: stable and joinable, not reversible.
    Hash,
    /// Deterministic authenticated encryption (AES-SIV): reversible with the key.
    Tokenize,
    /// Format-preserving encryption (FF1) of the digits; separators stay in place.
    Fpe,
    /// Coarsen the value.
    Generalize(Generalization),
}

impl Operator {
    /// The operator's name without its argument.
    pub fn name(&self) -> &'static str {
        match self {
            Operator::Redact => "redact",
            Operator::Replace(_) => "replace",
            Operator::Mask { .. } => "mask",
            Operator::Hash => "hash",
            Operator::Tokenize => "tokenize",
            Operator::Fpe => "fpe",
            Operator::Generalize(_) => "generalize",
        }
    }

    /// Whether the operator can be undone with the workspace key (`custodia detokenize`).
    pub fn is_reversible(&self) -> bool {
        matches!(self, Operator::Tokenize | Operator::Fpe)
    }
}

const FIX: &str = "use redact, replace, replace:TEXT, mask, mask:N, hash, tokenize, fpe, \
                   generalize:month, generalize:year, generalize:prefixN or generalize:bandN";

impl FromStr for Operator {
    type Err = CoreError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim();
        let (name, arg) = match t.split_once(':') {
            Some((n, a)) => (n, Some(a)),
            None => (t, None),
        };
        let bad = || CoreError::invalid("operator", s, FIX);
        let op = match (name, arg) {
            ("redact", None) => Operator::Redact,
            ("replace", None) => Operator::Replace(None),
            ("replace", Some(text)) => Operator::Replace(Some(text.to_string())),
            ("mask", None) => Operator::Mask { keep_last: 4 },
            ("mask", Some(n)) => Operator::Mask {
                keep_last: n.parse().map_err(|_| bad())?,
            },
            ("hash", None) => Operator::Hash,
            ("tokenize", None) => Operator::Tokenize,
            ("fpe", None) => Operator::Fpe,
            ("generalize", Some(g)) => Operator::Generalize(match g {
                "month" => Generalization::Month,
                "year" => Generalization::Year,
                _ => {
                    if let Some(n) = g.strip_prefix("prefix") {
                        Generalization::Prefix(n.parse().map_err(|_| bad())?)
                    } else if let Some(n) = g.strip_prefix("band") {
                        let w: u32 = n.parse().map_err(|_| bad())?;
                        if w == 0 {
                            return Err(bad());
                        }
                        Generalization::Band(w)
                    } else {
                        return Err(bad());
                    }
                }
            }),
            _ => return Err(bad()),
        };
        Ok(op)
    }
}

impl fmt::Display for Operator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Operator::Replace(Some(t)) => write!(f, "replace:{t}"),
            Operator::Mask { keep_last } => write!(f, "mask:{keep_last}"),
            Operator::Generalize(g) => match g {
                Generalization::Month => f.write_str("generalize:month"),
                Generalization::Year => f.write_str("generalize:year"),
                Generalization::Prefix(n) => write!(f, "generalize:prefix{n}"),
                Generalization::Band(w) => write!(f, "generalize:band{w}"),
            },
            other => f.write_str(other.name()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_display_round_trip() {
        for s in [
            "redact",
            "replace",
            "replace:[gone]",
            "mask:4",
            "hash",
            "tokenize",
            "fpe",
            "generalize:month",
            "generalize:year",
            "generalize:prefix3",
            "generalize:band10",
        ] {
            let op: Operator = s.parse().unwrap();
            assert_eq!(op.to_string(), s);
        }
    }

    #[test]
    fn rejects_unknown_and_malformed() {
        for s in [
            "encrypt",
            "mask:x",
            "generalize",
            "generalize:band0",
            "hash:1",
        ] {
            let e = s.parse::<Operator>().unwrap_err().to_string();
            assert!(e.contains("tokenize"), "{s}: {e}");
        }
    }
}
