//! C2SP `signed-note` with Ed25519 keys.

use crate::AuditError;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use rand_core::CryptoRngCore;
use sha2::{Digest, Sha256};
use std::fmt;
use zeroize::Zeroizing;

/// Signature type byte for Ed25519 in key IDs and key strings.
const ALG_ED25519: u8 = 0x01;
/// Every signature line starts with an em dash and a space.
const SIG_PREFIX: &str = "\u{2014} ";
/// Upper bound on signature lines, so a hostile note cannot make us parse without end.
/// The spec asks verifiers to accept at least 16.
const MAX_SIGNATURES: usize = 100;
const SKEY_PREFIX: &str = "PRIVATE+KEY+";

fn key_err(reason: impl Into<String>) -> AuditError {
    AuditError::Key {
        reason: reason.into(),
    }
}

fn note_err(reason: impl Into<String>) -> AuditError {
    AuditError::Note {
        reason: reason.into(),
    }
}

/// Key names: non-empty, no Unicode spaces, no `+` (it separates fields in key strings).
fn check_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("the key name is empty".into());
    }
    if name.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(format!(
            "key name {name:?} contains a space or control character"
        ));
    }
    if name.contains('+') {
        return Err(format!("key name {name:?} contains '+'"));
    }
    Ok(())
}

/// SHA-256(name ‖ 0x0A ‖ 0x01 ‖ public key)[:4], as the spec recommends.
fn key_id(name: &str, public: &VerifyingKey) -> [u8; 4] {
    let digest = Sha256::new()
        .chain_update(name.as_bytes())
        .chain_update([b'\n', ALG_ED25519])
        .chain_update(public.as_bytes())
        .finalize();
    [digest[0], digest[1], digest[2], digest[3]]
}

fn parse_key_id(text: &str) -> Result<[u8; 4], AuditError> {
    let mut id = [0u8; 4];
    if text.len() != 8 {
        return Err(key_err("the key id is not 8 hex digits"));
    }
    hex::decode_to_slice(text, &mut id).map_err(|_| key_err("the key id is not 8 hex digits"))?;
    Ok(id)
}

/// `0x01 ‖ 32 bytes`, base64: the shape of both key strings' last field.
fn decode_key_bytes(text: &str) -> Result<Zeroizing<[u8; 32]>, AuditError> {
    let raw = Zeroizing::new(
        STANDARD
            .decode(text)
            .map_err(|_| key_err("the key is not standard base64"))?,
    );
    match raw.split_first() {
        Some((&ALG_ED25519, rest)) if rest.len() == 32 => {
            let mut out = Zeroizing::new([0u8; 32]);
            out.copy_from_slice(rest);
            Ok(out)
        }
        Some((&ALG_ED25519, _)) => Err(key_err("the key is not 32 bytes")),
        _ => Err(key_err("the key is not an Ed25519 (type 0x01) key")),
    }
}

fn encode_key_bytes(bytes: &[u8; 32], out: &mut String) {
    let mut raw = Zeroizing::new([0u8; 33]);
    raw[0] = ALG_ED25519;
    raw[1..].copy_from_slice(bytes);
    STANDARD.encode_string(raw.as_slice(), out);
}

/// A log's signing key, named.
///
/// The key is wiped from memory on drop (ed25519-dalek zeroizes `SigningKey`), and `Debug`
/// shows only the name and key id.
pub struct NoteSigner {
    name: String,
    id: [u8; 4],
    key: SigningKey,
}

impl fmt::Debug for NoteSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NoteSigner")
            .field("name", &self.name)
            .field("key_id", &hex::encode(self.id))
            .finish_non_exhaustive()
    }
}

impl NoteSigner {
    /// A fresh key named `name`.
    pub fn generate<R: CryptoRngCore + ?Sized>(
        name: &str,
        rng: &mut R,
    ) -> Result<NoteSigner, AuditError> {
        check_name(name).map_err(key_err)?;
        Ok(Self::with_key(name, SigningKey::generate(rng)))
    }

    /// The key for a 32-byte Ed25519 seed, for keys derived from a master key rather than
    /// stored (the seed is the same secret a signer key string carries).
    pub fn from_seed(name: &str, seed: &[u8; 32]) -> Result<NoteSigner, AuditError> {
        check_name(name).map_err(key_err)?;
        Ok(Self::with_key(name, SigningKey::from_bytes(seed)))
    }

    fn with_key(name: &str, key: SigningKey) -> NoteSigner {
        NoteSigner {
            name: name.to_string(),
            id: key_id(name, &key.verifying_key()),
            key,
        }
    }

    /// Parses `PRIVATE+KEY+<name>+<key id hex>+<base64(0x01 ‖ seed)>`, checking the key id
    /// against the key so a mislabelled key string is caught before anything is signed.
    pub fn from_skey(skey: &str) -> Result<NoteSigner, AuditError> {
        let rest = skey
            .strip_prefix(SKEY_PREFIX)
            .ok_or_else(|| key_err("a signer key starts with PRIVATE+KEY+"))?;
        let mut parts = rest.splitn(3, '+');
        let (Some(name), Some(id), Some(key)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(key_err("a signer key is PRIVATE+KEY+<name>+<key id>+<key>"));
        };
        check_name(name).map_err(key_err)?;
        let id = parse_key_id(id)?;
        let seed = decode_key_bytes(key)?;
        let signer = Self::with_key(name, SigningKey::from_bytes(&seed));
        if signer.id != id {
            return Err(key_err(format!(
                "key id {} does not match the key for {name:?}",
                hex::encode(id)
            )));
        }
        Ok(signer)
    }

    /// The signer key string, for storing the key; wiped from memory when dropped.
    pub fn to_skey(&self) -> Zeroizing<String> {
        // Reserve up front so the string never reallocates and leaves copies behind.
        let mut out = Zeroizing::new(String::with_capacity(
            SKEY_PREFIX.len() + self.name.len() + 10 + 44,
        ));
        out.push_str(SKEY_PREFIX);
        out.push_str(&self.name);
        out.push('+');
        out.push_str(&hex::encode(self.id));
        out.push('+');
        encode_key_bytes(&Zeroizing::new(self.key.to_bytes()), &mut out);
        out
    }

    /// The matching verifier key string, to publish.
    pub fn vkey(&self) -> String {
        self.verifier().vkey()
    }

    /// The matching verifier.
    pub fn verifier(&self) -> NoteVerifier {
        NoteVerifier {
            name: self.name.clone(),
            id: self.id,
            key: self.key.verifying_key(),
        }
    }

    /// The key name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Signs `text` (which must end in a newline and hold no control characters other than
    /// newline) and returns the signed note: text, blank line, one signature line.
    pub fn sign(&self, text: &str) -> Result<String, AuditError> {
        if !text.ends_with('\n') {
            return Err(note_err("the text must end with a newline"));
        }
        if has_forbidden_control(text) {
            return Err(note_err(
                "the text contains a control character other than newline",
            ));
        }
        let sig = self.key.sign(text.as_bytes());
        let mut blob = Vec::with_capacity(68);
        blob.extend_from_slice(&self.id);
        blob.extend_from_slice(&sig.to_bytes());
        Ok(format!(
            "{text}\n{SIG_PREFIX}{} {}\n",
            self.name,
            STANDARD.encode(blob)
        ))
    }
}

fn has_forbidden_control(text: &str) -> bool {
    text.bytes().any(|b| b < 0x20 && b != b'\n')
}

/// A trusted public key, named; checks signed notes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoteVerifier {
    name: String,
    id: [u8; 4],
    key: VerifyingKey,
}

impl NoteVerifier {
    /// Parses `<name>+<key id hex>+<base64(0x01 ‖ public key)>`, checking the key id.
    pub fn from_vkey(vkey: &str) -> Result<NoteVerifier, AuditError> {
        let mut parts = vkey.splitn(3, '+');
        let (Some(name), Some(id), Some(key)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(key_err("a verifier key is <name>+<key id>+<key>"));
        };
        check_name(name).map_err(key_err)?;
        let id = parse_key_id(id)?;
        let bytes = decode_key_bytes(key)?;
        let key = VerifyingKey::from_bytes(&bytes)
            .map_err(|_| key_err("the public key is not a valid Ed25519 point"))?;
        if key_id(name, &key) != id {
            return Err(key_err(format!(
                "key id {} does not match the key for {name:?}",
                hex::encode(id)
            )));
        }
        Ok(NoteVerifier {
            name: name.to_string(),
            id,
            key,
        })
    }

    /// The verifier key string.
    pub fn vkey(&self) -> String {
        let mut out = format!("{}+{}+", self.name, hex::encode(self.id));
        encode_key_bytes(self.key.as_bytes(), &mut out);
        out
    }

    /// The key name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The key id, as the big-endian integer the spec defines.
    pub fn key_id(&self) -> u32 {
        u32::from_be_bytes(self.id)
    }

    /// Returns the note text if the note is well formed and carries a valid signature by
    /// this key.
    ///
    /// Lines from other keys (same name or same id, but not both) are ignored, as the spec
    /// requires, so cosignatures and key rotation do not break verification; a line from this
    /// key that fails to verify rejects the whole note.
    pub fn verify(&self, note: &str) -> Result<String, AuditError> {
        if has_forbidden_control(note) {
            return Err(note_err(
                "the note contains a control character other than newline",
            ));
        }
        let split = note
            .rfind("\n\n")
            .ok_or_else(|| note_err("no blank line separates the text from the signatures"))?;
        let (text, sigs) = (&note[..=split], &note[split + 2..]);
        let sigs = sigs
            .strip_suffix('\n')
            .ok_or_else(|| note_err("the note does not end with a signature line"))?;
        let mut verified = false;
        for (i, line) in sigs.split('\n').enumerate() {
            let n = i + 1;
            if n > MAX_SIGNATURES {
                return Err(note_err(format!(
                    "more than {MAX_SIGNATURES} signature lines"
                )));
            }
            let (name, blob) = line
                .strip_prefix(SIG_PREFIX)
                .and_then(|l| l.split_once(' '))
                .ok_or_else(|| {
                    note_err(format!(
                        "signature line {n} is not \"\u{2014} <name> <signature>\""
                    ))
                })?;
            check_name(name).map_err(|e| note_err(format!("signature line {n}: {e}")))?;
            let blob = STANDARD
                .decode(blob)
                .map_err(|_| note_err(format!("signature line {n}: not standard base64")))?;
            let Some((id, sig)) = blob.split_first_chunk::<4>().filter(|(_, s)| !s.is_empty())
            else {
                return Err(note_err(format!(
                    "signature line {n}: shorter than a key id and a signature"
                )));
            };
            if name != self.name || *id != self.id {
                continue;
            }
            let sig = <[u8; 64]>::try_from(sig).map_err(|_| {
                note_err(format!(
                    "signature line {n}: an Ed25519 signature is 64 bytes"
                ))
            })?;
            self.key
                .verify_strict(text.as_bytes(), &Signature::from_bytes(&sig))
                .map_err(|_| {
                    note_err(format!(
                        "signature line {n} by {} does not verify",
                        self.name
                    ))
                })?;
            verified = true;
        }
        if !verified {
            return Err(note_err(format!(
                "no signature by {}+{}",
                self.name,
                hex::encode(self.id)
            )));
        }
        Ok(text.to_string())
    }
}
