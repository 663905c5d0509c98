use std::ops::Range;

/// Everything that can go wrong in this crate.
///
/// One enum so callers (the store, the CLI) match in one place; each variant carries the
/// position a human needs to go and look (entry index, line, checkpoint number), because an
/// audit failure that does not say *where* is not actionable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AuditError {
    /// A leaf index at or past the end of the tree.
    #[error("leaf index {index} is outside a tree of size {size}")]
    IndexOutOfRange {
        /// The requested leaf.
        index: u64,
        /// The tree size it was checked against.
        size: u64,
    },
    /// A tree size larger than the tree (or an old size larger than the new one).
    #[error("tree size {old_size} cannot be a prefix of a tree of size {new_size}")]
    SizeOutOfRange {
        /// The (claimed) smaller tree.
        old_size: u64,
        /// The (claimed) larger tree.
        new_size: u64,
    },
    /// An inclusion proof does not lead from the leaf to the root.
    #[error("inclusion proof for leaf {index} in a tree of size {size} does not verify: {reason}")]
    InclusionProof {
        /// The leaf index being proved.
        index: u64,
        /// The tree size.
        size: u64,
        /// What did not match.
        reason: &'static str,
    },
    /// A consistency proof does not link the two roots.
    #[error("consistency proof from size {old_size} to size {new_size} does not verify: {reason}")]
    ConsistencyProof {
        /// The older tree size.
        old_size: u64,
        /// The newer tree size.
        new_size: u64,
        /// What did not match.
        reason: &'static str,
    },
    /// Persisted frontier bytes that cannot describe any tree.
    #[error("invalid frontier encoding: {reason}")]
    Frontier {
        /// What is wrong with the bytes.
        reason: String,
    },
    /// An audit entry that is malformed, invalid or not in canonical form.
    #[error("{}invalid audit entry: {reason}", line_prefix(*.line))]
    Entry {
        /// 1-based line of the entry in its export; `None` for an entry built in memory.
        line: Option<usize>,
        /// What is wrong.
        reason: String,
    },
    /// A checkpoint body that is not in canonical `tlog-checkpoint` form.
    #[error("checkpoint line {line}: {reason}")]
    Checkpoint {
        /// 1-based line within the checkpoint body.
        line: usize,
        /// What is wrong.
        reason: String,
    },
    /// A signer or verifier key string that cannot be used.
    #[error("invalid note key: {reason}")]
    Key {
        /// What is wrong (never the key material itself).
        reason: String,
    },
    /// A signed note that is malformed or whose signature does not verify.
    #[error("signed note: {reason}")]
    Note {
        /// What is wrong.
        reason: String,
    },
    /// An exported log failed offline verification.
    ///
    /// `first_bad_entry` is set when the exact entry can be named; `suspect_entries` when the
    /// signed checkpoints only pin it down to an interval.
    #[error("{message}")]
    Log {
        /// The first entry (0-based index) known to be altered, missing or misplaced.
        first_bad_entry: Option<u64>,
        /// The checkpoint involved (0-based position in the checkpoints given), if any.
        checkpoint: Option<usize>,
        /// Entries `start..end` among which the first bad one lies, when it cannot be named.
        suspect_entries: Option<Range<u64>>,
        /// What failed, naming entries and checkpoints, lower-case.
        message: String,
    },
}

impl AuditError {
    /// The first bad entry, if this is a log-verification failure that can name one.
    ///
    /// Lets a CLI print "first bad entry: N" without matching on the variant.
    pub fn first_bad_entry(&self) -> Option<u64> {
        match self {
            AuditError::Log {
                first_bad_entry, ..
            } => *first_bad_entry,
            _ => None,
        }
    }
}

fn line_prefix(line: Option<usize>) -> String {
    line.map(|l| format!("line {l}: ")).unwrap_or_default()
}
