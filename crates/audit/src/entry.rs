//! Audit entries and their one canonical byte encoding.

use crate::merkle::{leaf_hash, Hash};
use crate::AuditError;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The `prev` of entry 0: there is no previous leaf.
pub const GENESIS_PREV: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// One record in the audit log.
///
/// Holds only references (SubjectRefs, dataset names, counts), never personal values, so the
/// log itself can be handed to an auditor. Field order here *is* the canonical JSON order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    /// Position in the log, from 0 with no gaps.
    pub index: u64,
    /// When it happened, RFC 3339 in UTC (`2026-11-23T09:00:00Z`).
    pub time: String,
    /// Who did it (operator, service, pipeline run).
    pub actor: String,
    /// What was done (`deid`, `erase`, `export`, …).
    pub action: String,
    /// What it was done to (dataset version, contract, key id…).
    pub object: String,
    /// SubjectRefs concerned, lower-case hex.
    pub subjects: Vec<String>,
    /// Named counts (rows read, findings per entity type…).
    pub counts: BTreeMap<String, u64>,
    /// Other named facts, as strings.
    pub details: BTreeMap<String, String>,
    /// Lower-case hex leaf hash of the previous entry ([`GENESIS_PREV`] for entry 0), so a
    /// verifier can name the exact entry that was altered, not only the checkpoint interval.
    pub prev: String,
}

impl Entry {
    /// Compact JSON, fields in declaration order, map keys sorted: the bytes that are hashed.
    pub fn canonical_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("strings, integers and string-keyed maps always encode")
    }

    /// The Merkle leaf hash of this entry.
    pub fn leaf(&self) -> Hash {
        leaf_hash(&self.canonical_bytes())
    }

    /// `prev` decoded, for comparing with the previous entry's [`Entry::leaf`].
    pub fn prev_hash(&self) -> Result<Hash, AuditError> {
        decode_hash(&self.prev).map_err(|reason| AuditError::Entry {
            line: None,
            reason: format!("entry {}: {reason}", self.index),
        })
    }

    /// Parses one exported line (no trailing newline) and insists it is byte-for-byte the
    /// canonical encoding, so one entry cannot circulate under two spellings with two hashes.
    ///
    /// `line` is the 1-based line number, carried into the error.
    pub fn parse_canonical(bytes: &[u8], line: usize) -> Result<Entry, AuditError> {
        let err = |reason: String| AuditError::Entry {
            line: Some(line),
            reason,
        };
        let entry: Entry =
            serde_json::from_slice(bytes).map_err(|e| err(format!("not an audit entry: {e}")))?;
        let canonical = entry.canonical_bytes();
        if canonical != bytes {
            let at = canonical
                .iter()
                .zip(bytes)
                .position(|(a, b)| a != b)
                .unwrap_or(canonical.len().min(bytes.len()));
            return Err(err(format!(
                "entry {} is not in canonical form (first difference at byte {at})",
                entry.index
            )));
        }
        entry
            .check()
            .map_err(|reason| err(format!("entry {}: {reason}", entry.index)))?;
        Ok(entry)
    }

    /// Field rules beyond JSON shape.
    fn check(&self) -> Result<(), String> {
        check_time(&self.time)?;
        if self.actor.is_empty() {
            return Err("actor is empty".into());
        }
        if self.action.is_empty() {
            return Err("action is empty".into());
        }
        for (i, s) in self.subjects.iter().enumerate() {
            if s.is_empty() || !is_lower_hex(s) {
                return Err(format!("subjects[{i}] is not a lower-case hex SubjectRef"));
            }
        }
        decode_hash(&self.prev)?;
        Ok(())
    }
}

fn is_lower_hex(s: &str) -> bool {
    s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

fn decode_hash(s: &str) -> Result<Hash, String> {
    let mut h = [0u8; 32];
    if s.len() != 64 || !is_lower_hex(s) {
        return Err("prev is not 64 lower-case hex digits".into());
    }
    hex::decode_to_slice(s, &mut h).map_err(|e| format!("prev: {e}"))?;
    Ok(h)
}

/// `YYYY-MM-DDTHH:MM:SS[.fraction]Z`. Loose on purpose (no calendar maths): the point is one
/// unambiguous UTC spelling, not date validation.
fn check_time(t: &str) -> Result<(), String> {
    let bad = || {
        Err(format!(
            "time {t:?} is not RFC 3339 UTC like 2026-11-23T09:00:00Z"
        ))
    };
    let b = t.as_bytes();
    if b.len() < 20 || b[b.len() - 1] != b'Z' {
        return bad();
    }
    let num = |r: std::ops::Range<usize>| -> Option<u32> {
        let s = &b[r];
        s.iter()
            .all(u8::is_ascii_digit)
            .then(|| s.iter().fold(0, |acc, d| acc * 10 + u32::from(d - b'0')))
    };
    let seps = [(4, b'-'), (7, b'-'), (10, b'T'), (13, b':'), (16, b':')];
    if seps.iter().any(|&(i, c)| b[i] != c) {
        return bad();
    }
    let fields = (
        num(0..4),
        num(5..7),
        num(8..10),
        num(11..13),
        num(14..16),
        num(17..19),
    );
    let (Some(_), Some(mo), Some(d), Some(h), Some(mi), Some(s)) = fields else {
        return bad();
    };
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || s > 60 {
        return bad();
    }
    let frac = &b[19..b.len() - 1];
    match frac.split_first() {
        None => Ok(()),
        Some((b'.', digits))
            if (1..=9).contains(&digits.len()) && digits.iter().all(u8::is_ascii_digit) =>
        {
            Ok(())
        }
        Some(_) => bad(),
    }
}

/// Where a new entry attaches to the chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Link {
    /// The first entry of a log.
    Genesis,
    /// After the entry with this index and leaf hash.
    After {
        /// The previous entry's index.
        index: u64,
        /// The previous entry's [`Entry::leaf`].
        leaf: Hash,
    },
}

impl Link {
    /// The link to append after `entry`.
    pub fn after(entry: &Entry) -> Link {
        Link::After {
            index: entry.index,
            leaf: entry.leaf(),
        }
    }
}

/// Builds the next entry, so callers never compute `index` or `prev` by hand.
#[derive(Debug, Clone)]
pub struct EntryBuilder {
    time: String,
    actor: String,
    action: String,
    object: String,
    subjects: Vec<String>,
    counts: BTreeMap<String, u64>,
    details: BTreeMap<String, String>,
}

impl EntryBuilder {
    /// Starts an entry with its required fields.
    pub fn new(
        time: impl Into<String>,
        actor: impl Into<String>,
        action: impl Into<String>,
        object: impl Into<String>,
    ) -> Self {
        Self {
            time: time.into(),
            actor: actor.into(),
            action: action.into(),
            object: object.into(),
            subjects: Vec::new(),
            counts: BTreeMap::new(),
            details: BTreeMap::new(),
        }
    }

    /// Adds a SubjectRef (lower-case hex).
    pub fn subject(mut self, subject_ref: impl Into<String>) -> Self {
        self.subjects.push(subject_ref.into());
        self
    }

    /// Sets a named count.
    pub fn count(mut self, name: impl Into<String>, value: u64) -> Self {
        self.counts.insert(name.into(), value);
        self
    }

    /// Sets a named detail.
    pub fn detail(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.details.insert(name.into(), value.into());
        self
    }

    /// The entry at `link`, validated the same way [`Entry::parse_canonical`] validates, so
    /// the writer cannot produce an entry the verifier will reject.
    pub fn build(self, link: Link) -> Result<Entry, AuditError> {
        let (index, prev) = match link {
            Link::Genesis => (0, GENESIS_PREV.to_string()),
            Link::After { index, leaf } => {
                let next = index.checked_add(1).ok_or_else(|| AuditError::Entry {
                    line: None,
                    reason: "the log is full (index overflow)".into(),
                })?;
                (next, hex::encode(leaf))
            }
        };
        let entry = Entry {
            index,
            time: self.time,
            actor: self.actor,
            action: self.action,
            object: self.object,
            subjects: self.subjects,
            counts: self.counts,
            details: self.details,
            prev,
        };
        entry.check().map_err(|reason| AuditError::Entry {
            line: None,
            reason: format!("entry {index}: {reason}"),
        })?;
        Ok(entry)
    }
}
