//! RFC 6962 / RFC 9162 Merkle tree hashing and proofs.
//!
//! Everything here works on leaf *hashes*, not leaf data: the store keeps leaf hashes, and
//! hashing entries once (with [`leaf_hash`]) keeps the 0x00 / 0x01 domain separation in one
//! place, which is what stops a leaf from being passed off as an interior node.

use crate::AuditError;
use sha2::{Digest, Sha256};

/// A SHA-256 output: leaf hashes, interior node hashes and tree roots.
pub type Hash = [u8; 32];

/// The root of the empty tree, SHA-256 of the empty string (RFC 6962 §2.1).
pub fn empty_root() -> Hash {
    Sha256::digest([]).into()
}

/// The hash of one leaf: SHA-256(0x00 ‖ data).
pub fn leaf_hash(data: &[u8]) -> Hash {
    Sha256::new()
        .chain_update([0x00])
        .chain_update(data)
        .finalize()
        .into()
}

/// The hash of an interior node: SHA-256(0x01 ‖ left ‖ right).
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    Sha256::new()
        .chain_update([0x01])
        .chain_update(left)
        .chain_update(right)
        .finalize()
        .into()
}

/// The Merkle tree hash (MTH) of a list of leaf hashes.
pub fn root(leaves: &[Hash]) -> Hash {
    if leaves.is_empty() {
        empty_root()
    } else {
        subtree(leaves)
    }
}

/// The largest power of two strictly below `n` (`n >= 2`): where RFC 6962 splits a tree.
fn split(n: usize) -> usize {
    debug_assert!(n >= 2);
    1 << (usize::BITS - 1 - (n - 1).leading_zeros())
}

/// MTH of a non-empty range.
fn subtree(leaves: &[Hash]) -> Hash {
    match leaves {
        [only] => *only,
        _ => {
            let k = split(leaves.len());
            node_hash(&subtree(&leaves[..k]), &subtree(&leaves[k..]))
        }
    }
}

fn len_u64(leaves: &[Hash]) -> u64 {
    // usize is at most 64 bits on every supported target.
    leaves.len() as u64
}

/// The audit path for leaf `index` in the tree over `leaves` (RFC 9162 §2.1.3.1).
pub fn inclusion_proof(leaves: &[Hash], index: u64) -> Result<Vec<Hash>, AuditError> {
    let size = len_u64(leaves);
    if index >= size {
        return Err(AuditError::IndexOutOfRange { index, size });
    }
    let mut proof = Vec::new();
    path(index as usize, leaves, &mut proof);
    Ok(proof)
}

fn path(m: usize, leaves: &[Hash], out: &mut Vec<Hash>) {
    if leaves.len() <= 1 {
        return;
    }
    let k = split(leaves.len());
    if m < k {
        path(m, &leaves[..k], out);
        out.push(subtree(&leaves[k..]));
    } else {
        path(m - k, &leaves[k..], out);
        out.push(subtree(&leaves[..k]));
    }
}

/// Checks that `leaf` sits at `index` in the tree of `size` leaves whose root is `root`
/// (RFC 9162 §2.1.3.2).
pub fn verify_inclusion(
    leaf: &Hash,
    index: u64,
    size: u64,
    proof: &[Hash],
    root: &Hash,
) -> Result<(), AuditError> {
    if index >= size {
        return Err(AuditError::IndexOutOfRange { index, size });
    }
    let fail = |reason| AuditError::InclusionProof {
        index,
        size,
        reason,
    };
    let (mut fnode, mut snode) = (index, size - 1);
    let mut r = *leaf;
    for p in proof {
        if snode == 0 {
            return Err(fail("the proof has more hashes than the tree is deep"));
        }
        if fnode & 1 == 1 || fnode == snode {
            r = node_hash(p, &r);
            while fnode & 1 == 0 && fnode != 0 {
                fnode >>= 1;
                snode >>= 1;
            }
        } else {
            r = node_hash(&r, p);
        }
        fnode >>= 1;
        snode >>= 1;
    }
    if snode != 0 {
        return Err(fail("the proof has fewer hashes than the tree is deep"));
    }
    if &r != root {
        return Err(fail("the computed root differs from the expected root"));
    }
    Ok(())
}

/// A proof that the first `old_size` leaves are a prefix of the tree over `leaves`
/// (RFC 9162 §2.1.4.1). Empty when `old_size` is 0 or the whole tree.
pub fn consistency_proof(leaves: &[Hash], old_size: u64) -> Result<Vec<Hash>, AuditError> {
    let new_size = len_u64(leaves);
    if old_size > new_size {
        return Err(AuditError::SizeOutOfRange { old_size, new_size });
    }
    let mut proof = Vec::new();
    if old_size != 0 && old_size != new_size {
        subproof(old_size as usize, leaves, Completeness::Whole, &mut proof);
    }
    Ok(proof)
}

/// Whether the range being proved is the whole old tree (whose root the verifier already
/// has) or only part of it (whose hash must be sent): RFC 9162's boolean `b`.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Completeness {
    Whole,
    Part,
}

fn subproof(m: usize, leaves: &[Hash], b: Completeness, out: &mut Vec<Hash>) {
    let n = leaves.len();
    if m == n {
        if b == Completeness::Part {
            out.push(subtree(leaves));
        }
        return;
    }
    let k = split(n);
    if m <= k {
        subproof(m, &leaves[..k], b, out);
        out.push(subtree(&leaves[k..]));
    } else {
        subproof(m - k, &leaves[k..], Completeness::Part, out);
        out.push(subtree(&leaves[..k]));
    }
}

/// Checks that the tree of `old_size` leaves with `old_root` is a prefix of the tree of
/// `new_size` leaves with `new_root` (RFC 9162 §2.1.4.2).
pub fn verify_consistency(
    old_size: u64,
    new_size: u64,
    old_root: &Hash,
    new_root: &Hash,
    proof: &[Hash],
) -> Result<(), AuditError> {
    if old_size > new_size {
        return Err(AuditError::SizeOutOfRange { old_size, new_size });
    }
    let fail = |reason| AuditError::ConsistencyProof {
        old_size,
        new_size,
        reason,
    };
    if old_size == new_size {
        if !proof.is_empty() {
            return Err(fail("a proof between equal sizes must be empty"));
        }
        if old_root != new_root {
            return Err(fail("equal sizes but different roots"));
        }
        return Ok(());
    }
    if old_size == 0 {
        if !proof.is_empty() {
            return Err(fail("a proof from the empty tree must be empty"));
        }
        if old_root != &empty_root() {
            return Err(fail("the old root is not the empty-tree root"));
        }
        return Ok(());
    }
    let (seed, rest) = if old_size.is_power_of_two() {
        (*old_root, proof)
    } else {
        match proof.split_first() {
            Some((first, rest)) => (*first, rest),
            None => return Err(fail("the proof is empty")),
        }
    };
    let (mut fnode, mut snode) = (old_size - 1, new_size - 1);
    while fnode & 1 == 1 {
        fnode >>= 1;
        snode >>= 1;
    }
    let (mut fr, mut sr) = (seed, seed);
    for c in rest {
        if snode == 0 {
            return Err(fail("the proof has more hashes than the tree is deep"));
        }
        if fnode & 1 == 1 || fnode == snode {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            while fnode & 1 == 0 && fnode != 0 {
                fnode >>= 1;
                snode >>= 1;
            }
        } else {
            sr = node_hash(&sr, c);
        }
        fnode >>= 1;
        snode >>= 1;
    }
    if snode != 0 {
        return Err(fail("the proof has fewer hashes than the tree is deep"));
    }
    if &fr != old_root {
        return Err(fail("the proof does not reproduce the old root"));
    }
    if &sr != new_root {
        return Err(fail("the proof does not reproduce the new root"));
    }
    Ok(())
}
