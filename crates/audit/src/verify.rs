//! Offline verification of an exported log against its signed checkpoints.

use crate::checkpoint::Checkpoint;
use crate::entry::Entry;
use crate::frontier::Frontier;
use crate::merkle::{self, consistency_proof, verify_consistency, Hash};
use crate::note::NoteVerifier;
use crate::AuditError;
use std::ops::Range;

/// What a successful verification covered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyReport {
    /// Entries read and chained.
    pub entries: u64,
    /// Checkpoints verified.
    pub checkpoints: usize,
    /// Root of the latest checkpoint.
    pub root: Hash,
    /// Size of the latest checkpoint: entries past it are chained but not yet signed, so an
    /// auditor should know how much of the export the signatures actually vouch for.
    pub checkpointed: u64,
}

fn fail(
    first_bad_entry: Option<u64>,
    checkpoint: Option<usize>,
    suspect_entries: Option<Range<u64>>,
    message: String,
) -> AuditError {
    AuditError::Log {
        first_bad_entry,
        checkpoint,
        suspect_entries,
        message,
    }
}

/// Checks an export: `entries` are the canonical JSON lines (no newline), `checkpoints` the
/// signed checkpoint notes, oldest first.
///
/// Errors name the first bad entry when the hash chain pins it down, and otherwise the
/// checkpoint that caught the change and the interval of entries it could be in. Costs one
/// pass over the entries plus O(size) hashing per checkpoint (for the consistency proofs).
pub fn verify_log(
    entries: &[&[u8]],
    checkpoints: &[&str],
    verifier: &NoteVerifier,
    origin: &str,
) -> Result<VerifyReport, AuditError> {
    verify_log_trusting(entries, checkpoints, verifier, origin, &[])
}

/// [`verify_log`], plus checkpoints the auditor kept from earlier (`trusted`, any order).
///
/// An export is self-consistent even when its newest entries and checkpoints were cut off
/// together; only a checkpoint obtained independently — an earlier export's, or one
/// published by the log's owner — exposes that. Each trusted checkpoint must be covered by
/// the export and match the root of the export's first `size` entries.
pub fn verify_log_trusting(
    entries: &[&[u8]],
    checkpoints: &[&str],
    verifier: &NoteVerifier,
    origin: &str,
    trusted: &[&str],
) -> Result<VerifyReport, AuditError> {
    let checkpoints = open_checkpoints(checkpoints, verifier, origin)?;
    let leaves = chain(entries, &checkpoints)?;
    let n = leaves.len() as u64;
    check_trusted(&leaves, trusted, verifier, origin)?;

    let mut frontier = Frontier::new();
    // The last checkpoint whose root the entries reproduced: (position, size).
    let mut good: Option<(usize, u64)> = None;
    for (i, cp) in checkpoints.iter().enumerate() {
        if cp.size > n {
            return Err(fail(
                Some(n),
                Some(i),
                None,
                format!(
                    "checkpoint {i} signs {} entries but the export has only {n}: entries {n}..{} are missing",
                    cp.size, cp.size
                ),
            ));
        }
        while frontier.size() < cp.size {
            frontier.push(leaves[frontier.size() as usize]);
        }
        if frontier.root() != cp.root {
            return Err(root_mismatch(i, cp.size, good));
        }
        if let Some((j, old_size)) = good {
            let proof = consistency_proof(&leaves[..cp.size as usize], old_size)?;
            verify_consistency(old_size, cp.size, &checkpoints[j].root, &cp.root, &proof).map_err(
                |e| {
                    fail(
                        None,
                        Some(i),
                        Some(old_size..cp.size),
                        format!("checkpoint {i} is not consistent with checkpoint {j}: {e}"),
                    )
                },
            )?;
        }
        good = Some((i, cp.size));
    }
    let last = checkpoints
        .last()
        .expect("open_checkpoints refuses an empty list");
    // Entries past the last signed checkpoint are vouched for by nobody: an export that
    // carries them was extended after it was signed.
    if last.size < n {
        return Err(fail(
            Some(last.size),
            Some(checkpoints.len() - 1),
            None,
            format!(
                "entries {}..{n} are not covered by any signed checkpoint (the last signs {}); an export ends with a checkpoint over all its entries, so these were added afterwards",
                last.size, last.size
            ),
        ));
    }
    Ok(VerifyReport {
        entries: n,
        checkpoints: checkpoints.len(),
        root: last.root,
        checkpointed: last.size,
    })
}

/// The export must extend every trusted checkpoint: hold at least its entries, and hash
/// its first `size` entries to its root.
fn check_trusted(
    leaves: &[Hash],
    trusted: &[&str],
    verifier: &NoteVerifier,
    origin: &str,
) -> Result<(), AuditError> {
    let n = leaves.len() as u64;
    for (t, note) in trusted.iter().enumerate() {
        let cp = Checkpoint::open(note, verifier)
            .map_err(|e| fail(None, None, None, format!("trusted checkpoint {t}: {e}")))?;
        if cp.origin != origin {
            return Err(fail(
                None,
                None,
                None,
                format!(
                    "trusted checkpoint {t}: origin {:?} is not the expected {origin:?}",
                    cp.origin
                ),
            ));
        }
        if cp.size > n {
            return Err(fail(
                Some(n),
                None,
                Some(n..cp.size),
                format!(
                    "the trusted checkpoint signs {} entries but the export has only {n}: entries {n}..{} were cut off the end of the log",
                    cp.size, cp.size
                ),
            ));
        }
        if merkle::root(&leaves[..cp.size as usize]) != cp.root {
            return Err(fail(
                None,
                None,
                Some(0..cp.size),
                format!(
                    "the export's first {} entries do not hash to the trusted checkpoint's root: the log was rewritten since that checkpoint was signed",
                    cp.size
                ),
            ));
        }
    }
    Ok(())
}

/// Signature, origin and ordering checks, which need no entries.
fn open_checkpoints(
    notes: &[&str],
    verifier: &NoteVerifier,
    origin: &str,
) -> Result<Vec<Checkpoint>, AuditError> {
    if notes.is_empty() {
        return Err(fail(
            None,
            None,
            None,
            "no checkpoints: nothing signed to verify the entries against".into(),
        ));
    }
    let mut out: Vec<Checkpoint> = Vec::with_capacity(notes.len());
    for (i, note) in notes.iter().enumerate() {
        let cp = Checkpoint::open(note, verifier)
            .map_err(|e| fail(None, Some(i), None, format!("checkpoint {i}: {e}")))?;
        if cp.origin != origin {
            return Err(fail(
                None,
                Some(i),
                None,
                format!(
                    "checkpoint {i}: origin {:?} is not the expected {origin:?}",
                    cp.origin
                ),
            ));
        }
        if let Some(prev) = out.last() {
            if cp.size < prev.size {
                return Err(fail(
                    None,
                    Some(i),
                    None,
                    format!(
                        "checkpoint {i} (size {}) is smaller than checkpoint {} (size {}): checkpoints must be oldest first and a log never shrinks",
                        cp.size,
                        i - 1,
                        prev.size
                    ),
                ));
            }
        }
        out.push(cp);
    }
    Ok(out)
}

/// Parses every entry and checks positions and `prev` links; returns the leaf hashes.
fn chain(entries: &[&[u8]], checkpoints: &[Checkpoint]) -> Result<Vec<Hash>, AuditError> {
    let mut leaves: Vec<Hash> = Vec::with_capacity(entries.len());
    let mut expected_prev = [0u8; 32];
    for (k, bytes) in entries.iter().enumerate() {
        let pos = k as u64;
        let line = k + 1;
        let entry = Entry::parse_canonical(bytes, line)
            .map_err(|e| fail(Some(pos), None, None, e.to_string()))?;
        if entry.index != pos {
            return Err(misplaced(pos, &entry, &leaves));
        }
        let prev = entry
            .prev_hash()
            .map_err(|e| fail(Some(pos), None, None, e.to_string()))?;
        if prev != expected_prev {
            let next = entries.get(k + 1).copied();
            return Err(broken_link(pos, &entry, next, &leaves, checkpoints));
        }
        let leaf = entry.leaf();
        leaves.push(leaf);
        expected_prev = leaf;
    }
    Ok(leaves)
}

/// The entry at position `pos` carries another index. If it is the genuine entry `pos - 1`
/// (its index says so and it links to entry `pos - 2`), the line before it was inserted;
/// otherwise this is the first position that is out of place.
fn misplaced(pos: u64, entry: &Entry, leaves: &[Hash]) -> AuditError {
    let line = pos + 1;
    if pos > 0 && entry.leaf() == leaves[pos as usize - 1] {
        return fail(
            Some(pos),
            None,
            None,
            format!(
                "line {line} repeats entry {}: a duplicate was inserted",
                entry.index
            ),
        );
    }
    if let Some(before) = pos.checked_sub(1).filter(|b| *b == entry.index) {
        let expected_prev = before
            .checked_sub(1)
            .map_or([0u8; 32], |i| leaves[i as usize]);
        if entry.prev_hash().ok() == Some(expected_prev) {
            return fail(
                Some(before),
                None,
                None,
                format!(
                    "line {} holds an inserted entry: line {line} is the real entry {before} and links past it",
                    line - 1
                ),
            );
        }
    }
    fail(
        Some(pos),
        None,
        None,
        format!(
            "line {line} holds entry {} where entry {pos} belongs: an entry was removed, inserted or reordered",
            entry.index
        ),
    )
}

/// Entry `pos`'s `prev` does not match entry `pos - 1`: one of the two was altered. If the
/// next entry still links to `pos`, entry `pos` is as written and `pos - 1` changed;
/// if that link is broken too, `pos` itself (its `prev`) changed. The last entry has no
/// successor to ask, but a checkpoint of exactly `pos` entries that matches vouches for
/// entry `pos - 1`.
fn broken_link(
    pos: u64,
    entry: &Entry,
    next: Option<&[u8]>,
    leaves: &[Hash],
    checkpoints: &[Checkpoint],
) -> AuditError {
    if pos == 0 {
        return fail(
            Some(0),
            None,
            None,
            "entry 0 was altered: its prev is not all zeroes".into(),
        );
    }
    let before = pos - 1;
    let blame_self = match next {
        Some(bytes) => Entry::parse_canonical(bytes, pos as usize + 2)
            .ok()
            .and_then(|e| e.prev_hash().ok())
            .filter(|p| *p != entry.leaf())
            .map(|_| format!("entry {} does not link to it either", pos + 1)),
        None => checkpoints
            .iter()
            .position(|c| c.size == pos && c.root == merkle::root(leaves))
            .map(|i| format!("checkpoint {i} vouches for entry {before}")),
    };
    match blame_self {
        Some(why) => fail(
            Some(pos),
            None,
            None,
            format!("entry {pos} was altered: its prev does not match entry {before}, and {why}"),
        ),
        None => fail(
            Some(before),
            None,
            None,
            format!("entry {before} was altered: entry {pos}'s prev does not match its leaf hash"),
        ),
    }
}

/// The entries chain correctly but do not reproduce checkpoint `i`'s root: the chain was
/// rewritten after a change, and only the checkpoints bound where the change is.
fn root_mismatch(i: usize, size: u64, good: Option<(usize, u64)>) -> AuditError {
    let start = good.map_or(0, |(_, s)| s);
    let after = good
        .map(|(j, _)| format!(" (checkpoint {j}, size {start}, still matches)"))
        .unwrap_or_default();
    if start == size {
        let j = good.map_or(0, |(j, _)| j);
        return fail(
            None,
            Some(i),
            None,
            format!(
                "checkpoint {i} signs a different root than checkpoint {j} for the same size {size}: the log signed two different trees"
            ),
        );
    }
    let first_bad_entry = (size - start == 1).then_some(start);
    fail(
        first_bad_entry,
        Some(i),
        Some(start..size),
        format!(
            "checkpoint {i} (size {size}): the entries do not hash to its signed root although their prev links are intact, so entries were rewritten; the first altered entry is in {start}..{size}{after}"
        ),
    )
}
