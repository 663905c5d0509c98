//! RFC 6962 hashing and proofs: known answers from the certificate-transparency test data,
//! edge cases, and properties over random trees.

use custodia_audit::{
    consistency_proof, empty_root, inclusion_proof, leaf_hash, root, verify_consistency,
    verify_inclusion, AuditError, Hash,
};
use proptest::prelude::*;

fn h(s: &str) -> Hash {
    let mut out = [0u8; 32];
    hex::decode_to_slice(s, &mut out).unwrap();
    out
}

/// The eight leaf inputs of the CT reference test suite.
fn ct_leaves() -> Vec<Hash> {
    [
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    ]
    .iter()
    .map(|x| leaf_hash(&hex::decode(x).unwrap()))
    .collect()
}

const CT_ROOTS: [&str; 9] = [
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
];

#[test]
fn empty_tree_and_empty_leaf_known_answers() {
    assert_eq!(root(&[]), h(CT_ROOTS[0]));
    assert_eq!(empty_root(), h(CT_ROOTS[0]));
    assert_eq!(leaf_hash(b""), h(CT_ROOTS[1]));
}

#[test]
fn roots_match_reference_for_every_size() {
    let leaves = ct_leaves();
    for (size, want) in CT_ROOTS.iter().enumerate() {
        assert_eq!(root(&leaves[..size]), h(want), "size {size}");
    }
}

#[test]
fn inclusion_proofs_match_reference() {
    let leaves = ct_leaves();
    let cases: [(u64, [&str; 3]); 2] = [
        (
            0,
            [
                "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
            ],
        ),
        (
            5,
            [
                "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
                "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
            ],
        ),
    ];
    for (index, want) in cases {
        let want: Vec<Hash> = want.iter().map(|x| h(x)).collect();
        assert_eq!(inclusion_proof(&leaves, index).unwrap(), want);
        verify_inclusion(&leaves[index as usize], index, 8, &want, &h(CT_ROOTS[8])).unwrap();
    }
}

#[test]
fn consistency_proofs_match_reference() {
    let leaves = ct_leaves();
    let cases: [(u64, u64, &[&str]); 4] = [
        (1, 1, &[]),
        (
            1,
            8,
            &[
                "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
            ],
        ),
        (
            6,
            8,
            &[
                "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
                "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
            ],
        ),
        (
            2,
            5,
            &[
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            ],
        ),
    ];
    for (old, new, want) in cases {
        let want: Vec<Hash> = want.iter().map(|x| h(x)).collect();
        assert_eq!(
            consistency_proof(&leaves[..new as usize], old).unwrap(),
            want,
            "{old} -> {new}"
        );
        verify_consistency(
            old,
            new,
            &h(CT_ROOTS[old as usize]),
            &h(CT_ROOTS[new as usize]),
            &want,
        )
        .unwrap();
    }
}

#[test]
fn index_at_or_past_size_is_an_error() {
    let leaves = ct_leaves();
    assert_eq!(
        inclusion_proof(&leaves, 8),
        Err(AuditError::IndexOutOfRange { index: 8, size: 8 })
    );
    assert_eq!(
        verify_inclusion(&leaves[0], 3, 3, &[], &h(CT_ROOTS[3])),
        Err(AuditError::IndexOutOfRange { index: 3, size: 3 })
    );
    assert!(matches!(
        inclusion_proof(&[], 0),
        Err(AuditError::IndexOutOfRange { index: 0, size: 0 })
    ));
}

#[test]
fn single_leaf_tree_has_empty_inclusion_proof() {
    let leaf = leaf_hash(b"only");
    assert!(inclusion_proof(&[leaf], 0).unwrap().is_empty());
    verify_inclusion(&leaf, 0, 1, &[], &leaf).unwrap();
    assert!(verify_inclusion(&leaf, 0, 1, &[leaf], &leaf).is_err());
}

#[test]
fn wrong_index_or_size_fails_inclusion() {
    let leaves = ct_leaves();
    let r = root(&leaves);
    let proof = inclusion_proof(&leaves, 5).unwrap();
    assert!(verify_inclusion(&leaves[5], 4, 8, &proof, &r).is_err());
    // (Size 7 would pass: the path shape for leaf 5 is the same; the root is what binds the
    // size, which is why checkpoints sign size and root together.)
    assert!(verify_inclusion(&leaves[5], 5, 6, &proof, &r).is_err());
    assert!(verify_inclusion(&leaves[5], 5, 8, &proof[..2], &r).is_err());
}

#[test]
fn consistency_edge_cases() {
    let leaves = ct_leaves();
    let r8 = root(&leaves);
    // Equal sizes: empty proof, equal roots.
    assert!(consistency_proof(&leaves, 8).unwrap().is_empty());
    verify_consistency(8, 8, &r8, &r8, &[]).unwrap();
    assert!(verify_consistency(8, 8, &r8, &h(CT_ROOTS[7]), &[]).is_err());
    assert!(verify_consistency(8, 8, &r8, &r8, &[r8]).is_err());
    // From the empty tree: empty proof, any new root.
    assert!(consistency_proof(&leaves, 0).unwrap().is_empty());
    verify_consistency(0, 8, &empty_root(), &r8, &[]).unwrap();
    assert!(verify_consistency(0, 8, &r8, &r8, &[]).is_err());
    assert!(verify_consistency(0, 8, &empty_root(), &r8, &[r8]).is_err());
    // Old larger than new.
    assert_eq!(
        consistency_proof(&leaves[..3], 4),
        Err(AuditError::SizeOutOfRange {
            old_size: 4,
            new_size: 3
        })
    );
    assert!(matches!(
        verify_consistency(5, 4, &r8, &r8, &[]),
        Err(AuditError::SizeOutOfRange { .. })
    ));
    // A non-trivial proof must not be empty.
    assert!(verify_consistency(3, 8, &h(CT_ROOTS[3]), &r8, &[]).is_err());
    assert!(verify_consistency(4, 8, &h(CT_ROOTS[4]), &r8, &[]).is_err());
}

fn flip(h: &mut Hash, bit: usize) {
    h[bit / 8 % 32] ^= 1 << (bit % 8);
}

fn tree(n: usize, salt: u64) -> Vec<Hash> {
    (0..n as u64)
        .map(|i| leaf_hash(&[i.to_le_bytes(), salt.to_le_bytes()].concat()))
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn inclusion_proofs_verify_and_any_flip_fails(
        n in 1usize..300, pick in any::<prop::sample::Index>(), salt in any::<u64>(),
        which in any::<prop::sample::Index>(), bit in 0usize..256,
    ) {
        let leaves = tree(n, salt);
        let index = pick.index(n);
        let r = root(&leaves);
        let proof = inclusion_proof(&leaves, index as u64).unwrap();
        prop_assert!(verify_inclusion(&leaves[index], index as u64, n as u64, &proof, &r).is_ok());

        let mut bad_leaf = leaves[index];
        flip(&mut bad_leaf, bit);
        prop_assert!(verify_inclusion(&bad_leaf, index as u64, n as u64, &proof, &r).is_err());

        let mut bad_root = r;
        flip(&mut bad_root, bit);
        prop_assert!(verify_inclusion(&leaves[index], index as u64, n as u64, &proof, &bad_root).is_err());

        if !proof.is_empty() {
            let mut bad_proof = proof.clone();
            flip(&mut bad_proof[which.index(proof.len())], bit);
            prop_assert!(verify_inclusion(&leaves[index], index as u64, n as u64, &bad_proof, &r).is_err());
        }
    }

    #[test]
    fn consistency_proofs_verify_and_any_flip_fails(
        n in 1usize..300, pick in any::<prop::sample::Index>(), salt in any::<u64>(),
        which in any::<prop::sample::Index>(), bit in 0usize..256,
    ) {
        let leaves = tree(n, salt);
        let m = pick.index(n + 1);
        let (old_root, new_root) = (root(&leaves[..m]), root(&leaves));
        let proof = consistency_proof(&leaves, m as u64).unwrap();
        prop_assert!(verify_consistency(m as u64, n as u64, &old_root, &new_root, &proof).is_ok());

        let mut bad_old = old_root;
        flip(&mut bad_old, bit);
        prop_assert!(verify_consistency(m as u64, n as u64, &bad_old, &new_root, &proof).is_err());

        // Every tree extends the empty tree, so only a non-empty old tree constrains the new root.
        if m > 0 {
            let mut bad_new = new_root;
            flip(&mut bad_new, bit);
            prop_assert!(verify_consistency(m as u64, n as u64, &old_root, &bad_new, &proof).is_err());
        }

        if !proof.is_empty() {
            let mut bad_proof = proof.clone();
            flip(&mut bad_proof[which.index(proof.len())], bit);
            prop_assert!(verify_consistency(m as u64, n as u64, &old_root, &new_root, &bad_proof).is_err());
        }
    }

    #[test]
    fn a_changed_leaf_breaks_consistency(
        n in 2usize..200, pick in any::<prop::sample::Index>(), salt in any::<u64>(),
    ) {
        // The log rewrites one old leaf after signing the old root: no proof from the
        // rewritten tree may connect to the old root.
        let leaves = tree(n, salt);
        let m = 1 + pick.index(n - 1);
        let old_root = root(&leaves[..m]);
        let mut rewritten = leaves.clone();
        rewritten[m - 1] = leaf_hash(b"rewritten");
        let proof = consistency_proof(&rewritten, m as u64).unwrap();
        prop_assert!(verify_consistency(m as u64, n as u64, &old_root, &root(&rewritten), &proof).is_err());
    }
}
