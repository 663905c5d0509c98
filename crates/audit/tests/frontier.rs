//! The incremental tree state must agree with the batch root and survive persistence.

use custodia_audit::{leaf_hash, root, AuditError, Frontier, Hash};
use proptest::prelude::*;

fn leaves(n: usize, salt: u64) -> Vec<Hash> {
    (0..n as u64)
        .map(|i| leaf_hash(&[i.to_be_bytes(), salt.to_be_bytes()].concat()))
        .collect()
}

#[test]
fn empty_frontier_has_empty_root() {
    let f = Frontier::new();
    assert_eq!(f.size(), 0);
    assert_eq!(f.root(), root(&[]));
    assert_eq!(f.to_bytes(), vec![0u8; 8]);
}

#[test]
fn from_bytes_rejects_wrong_lengths() {
    let f = Frontier::from_leaves(&leaves(5, 1)); // 5 = 0b101: two subtrees
    let bytes = f.to_bytes();
    assert_eq!(bytes.len(), 8 + 64);
    assert_eq!(Frontier::from_bytes(&bytes).unwrap(), f);
    for bad in [&bytes[..7], &bytes[..8], &bytes[..bytes.len() - 1]] {
        assert!(matches!(
            Frontier::from_bytes(bad),
            Err(AuditError::Frontier { .. })
        ));
    }
    let mut longer = bytes.clone();
    longer.extend_from_slice(&[0; 32]);
    assert!(Frontier::from_bytes(&longer).is_err());
    // Same hashes, size claiming three subtrees.
    let mut resized = bytes.clone();
    resized[7] = 7;
    assert!(Frontier::from_bytes(&resized).is_err());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn root_matches_batch_root_at_every_size(n in 0usize..130, salt in any::<u64>()) {
        let all = leaves(n, salt);
        let mut f = Frontier::new();
        prop_assert_eq!(f.root(), root(&[]));
        for (i, leaf) in all.iter().enumerate() {
            f.push(*leaf);
            prop_assert_eq!(f.size(), i as u64 + 1);
            prop_assert_eq!(f.root(), root(&all[..=i]));
        }
        prop_assert!(f.to_bytes().len() <= 8 + 32 * 8);
    }

    #[test]
    fn persisted_frontier_continues_like_the_original(
        n in 0usize..2000, more in 0usize..50, salt in any::<u64>(),
    ) {
        let all = leaves(n + more, salt);
        let saved = Frontier::from_leaves(&all[..n]).to_bytes();
        let mut f = Frontier::from_bytes(&saved).unwrap();
        prop_assert_eq!(f.size(), n as u64);
        for leaf in &all[n..] {
            f.push(*leaf);
        }
        prop_assert_eq!(f.root(), root(&all));
    }
}
