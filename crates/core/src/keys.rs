//! Key derivation from the workspace master key.
//!
//! Every key Custodia uses is derived from one 256-bit master key with HKDF-SHA256 and a
//! label naming its use, so adding a use (a region, an operator) never needs a new secret
//! and two uses never share a key. Loading and storing the master key is I/O and lives in
//! the crates above; this module only does the maths. Key bytes are zeroized on drop.

use hkdf::Hkdf;
use sha2::Sha256;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::CoreError;

/// Length of the master key in bytes.
pub const MASTER_KEY_LEN: usize = 32;

/// The workspace master key. Never printed: its `Debug` is redacted.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct MasterKey([u8; MASTER_KEY_LEN]);

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MasterKey(<redacted>)")
    }
}

impl MasterKey {
    /// Wraps raw key bytes.
    pub fn from_bytes(bytes: [u8; MASTER_KEY_LEN]) -> Self {
        MasterKey(bytes)
    }

    /// Parses the hex form used in key files and `CUSTODIA_MASTER_KEY` (64 hex digits;
    /// surrounding whitespace ignored). The error never echoes the input.
    pub fn from_hex(text: &str) -> Result<Self, CoreError> {
        let mut buf = Zeroizing::new([0u8; MASTER_KEY_LEN]);
        hex::decode_to_slice(text.trim(), buf.as_mut()).map_err(|_| {
            CoreError::Key(format!(
                "a master key is {} hex digits (generate one with `openssl rand -hex 32`)",
                MASTER_KEY_LEN * 2
            ))
        })?;
        Ok(MasterKey(*buf))
    }

    /// The hex form, for writing the key file. The caller must zeroize the result.
    pub fn to_hex(&self) -> Zeroizing<String> {
        Zeroizing::new(hex::encode(self.0))
    }

    /// Derives an `N`-byte key for one use. `label` names the use and its version
    /// (`custodia/deid/tokenize/v1`); the same master and label always give the same key.
    pub fn derive<const N: usize>(&self, label: &str) -> Zeroizing<[u8; N]> {
        let hk = Hkdf::<Sha256>::new(Some(b"custodia-master-key-v1"), &self.0);
        let mut out = Zeroizing::new([0u8; N]);
        hk.expand(label.as_bytes(), out.as_mut())
            .expect("derived key lengths are fixed and far below HKDF's limit");
        out
    }
}

/// The key that computes a region's SubjectRefs. Unversioned on purpose: refs are stored in
/// every dataset, so they must survive rotation of the region's wrapping keys.
pub fn subject_ref_key(master: &MasterKey, region: &crate::Region) -> Zeroizing<[u8; 32]> {
    master.derive(&format!("custodia/subject-ref/v1/{}", region.as_str()))
}

/// Version `version` of a region's key-encryption key: wraps subject data keys (AES-SIV,
/// so 64 bytes). Rotation adds a version and re-wraps; old versions stay derivable, which is
/// why shredding deletes the wrapped key rather than relying on rotation.
pub fn region_kek(master: &MasterKey, region: &crate::Region, version: i64) -> Zeroizing<[u8; 64]> {
    master.derive(&format!(
        "custodia/region-kek/{}/v{version}",
        region.as_str()
    ))
}

/// The seed of the audit log's Ed25519 checkpoint key.
pub fn audit_signing_seed(master: &MasterKey) -> Zeroizing<[u8; 32]> {
    master.derive("custodia/audit/checkpoint-ed25519/v1")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derivation_is_stable_and_separated() {
        let k = MasterKey::from_bytes([7; 32]);
        let a: Zeroizing<[u8; 32]> = k.derive("a");
        let a2: Zeroizing<[u8; 32]> = k.derive("a");
        let b: Zeroizing<[u8; 32]> = k.derive("b");
        assert_eq!(*a, *a2);
        assert_ne!(*a, *b);
        let other = MasterKey::from_bytes([8; 32]);
        let a3: Zeroizing<[u8; 32]> = other.derive("a");
        assert_ne!(*a, *a3);
    }

    #[test]
    fn hex_round_trip_and_redacted_debug() {
        let k = MasterKey::from_bytes([0xab; 32]);
        let h = k.to_hex();
        let k2 = MasterKey::from_hex(&h).unwrap();
        assert_eq!(*k.derive::<16>("x"), *k2.derive::<16>("x"));
        assert_eq!(format!("{k:?}"), "MasterKey(<redacted>)");
        let e = MasterKey::from_hex("abcd").unwrap_err().to_string();
        assert!(!e.contains("abcd"));
    }
}
