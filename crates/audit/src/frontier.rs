//! The right edge of a growing Merkle tree.

use crate::merkle::{empty_root, node_hash, Hash};
use crate::AuditError;

/// The compact state of an append-only RFC 6962 tree: one perfect-subtree hash per set bit
/// of the size, largest (leftmost) first.
///
/// This is all a log writer needs to append and to sign a new root, so the store persists
/// it (see [`Frontier::to_bytes`]) instead of re-reading every leaf on each append; it never
/// holds more than 64 hashes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Frontier {
    size: u64,
    /// `subtrees[i]` covers a perfect subtree; sizes are the set bits of `size`, descending.
    subtrees: Vec<Hash>,
}

impl Frontier {
    /// The frontier of the empty tree.
    pub fn new() -> Self {
        Self::default()
    }

    /// The frontier after appending `leaves` to the empty tree.
    pub fn from_leaves(leaves: &[Hash]) -> Self {
        let mut f = Self::new();
        for leaf in leaves {
            f.push(*leaf);
        }
        f
    }

    /// Appends one leaf hash, merging equal-sized subtrees like a binary counter carries.
    ///
    /// # Panics
    /// If the tree already holds `u64::MAX` leaves, which no log will reach.
    pub fn push(&mut self, leaf: Hash) {
        let mut carry = leaf;
        let mut size = self.size;
        while size & 1 == 1 {
            let left = self
                .subtrees
                .pop()
                .expect("a set size bit always has a subtree");
            carry = node_hash(&left, &carry);
            size >>= 1;
        }
        self.subtrees.push(carry);
        self.size = self.size.checked_add(1).expect("tree size overflow");
    }

    /// How many leaves have been appended.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The RFC 6962 root of the tree so far, in O(log n) hashes.
    pub fn root(&self) -> Hash {
        let mut rest = self.subtrees.iter().rev();
        let Some(last) = rest.next() else {
            return empty_root();
        };
        rest.fold(*last, |acc, left| node_hash(left, &acc))
    }

    /// A stable encoding for persistence: the size as 8 big-endian bytes, then the subtree
    /// hashes, largest first.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(8 + 32 * self.subtrees.len());
        out.extend_from_slice(&self.size.to_be_bytes());
        for h in &self.subtrees {
            out.extend_from_slice(h);
        }
        out
    }

    /// Decodes [`Frontier::to_bytes`], rejecting bytes whose hash count does not match the
    /// size (a truncated or mixed-up DB row must not silently produce a wrong root).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, AuditError> {
        let bad = |reason: String| AuditError::Frontier { reason };
        let (head, body) = bytes.split_first_chunk::<8>().ok_or_else(|| {
            bad(format!(
                "{} bytes is shorter than the 8-byte size",
                bytes.len()
            ))
        })?;
        let size = u64::from_be_bytes(*head);
        let want = size.count_ones() as usize;
        if body.len() != want * 32 {
            return Err(bad(format!(
                "a tree of size {size} needs {want} hashes ({} bytes) after the size, found {} bytes",
                want * 32,
                body.len()
            )));
        }
        let subtrees = body
            .chunks_exact(32)
            .map(|c| {
                let mut h = [0u8; 32];
                h.copy_from_slice(c);
                h
            })
            .collect();
        Ok(Self { size, subtrees })
    }
}
