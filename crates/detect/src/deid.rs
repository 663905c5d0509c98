//! De-identification operators.
//!
//! Keys come from the workspace master key via HKDF, one per operator, so the same value
//! gets the same pseudonym in every file and every run, and nothing but the master key is
//! needed to reverse tokens. Errors describe shapes ("needs at least 6 digits"), never
//! values.

use aes::Aes256;
use aes_siv::{siv::Aes256Siv, KeyInit};
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use custodia_core::{keys::MasterKey, EntityType, Generalization, Operator};
use fpe::ff1::{FlexibleNumeralString, FF1};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use zeroize::Zeroizing;

use crate::{DetectError, Finding};

/// Prefix of every token, so tokens are recognisable inside free text.
pub const TOKEN_PREFIX: &str = "tok_";

/// Applies operators with workspace-derived keys.
pub struct Deidentifier {
    hash_key: Zeroizing<[u8; 32]>,
    siv_key: Zeroizing<[u8; 64]>,
    fpe: FF1<Aes256>,
}

/// What happened to one value.
#[derive(Debug, Clone, PartialEq)]
pub enum DeidOutcome {
    /// The operator was applied.
    Applied(String),
    /// The operator does not fit this value (e.g. FPE on 3 digits); the value was redacted
    /// instead, so nothing leaks.
    FellBackToRedact,
}

impl Deidentifier {
    /// Derives the operator keys from the workspace master key.
    pub fn new(master: &MasterKey) -> Deidentifier {
        let fpe_key: Zeroizing<[u8; 32]> = master.derive("custodia/deid/fpe-ff1/v1");
        Deidentifier {
            hash_key: master.derive("custodia/deid/hmac-sha256/v1"),
            siv_key: master.derive("custodia/deid/aes-siv/v1"),
            fpe: FF1::<Aes256>::new(fpe_key.as_ref(), 10).expect("radix 10 is valid"),
        }
    }

    /// Applies `op` to a whole value (a structured column's cell).
    pub fn apply_value(
        &self,
        op: &Operator,
        entity: Option<EntityType>,
        value: &str,
    ) -> Result<String, DetectError> {
        Ok(match op {
            Operator::Redact => String::new(),
            Operator::Replace(Some(text)) => text.clone(),
            Operator::Replace(None) => match entity {
                Some(e) => format!("<{e}>"),
                None => "<REDACTED>".to_string(),
            },
            Operator::Mask { keep_last } => mask(value, *keep_last),
            Operator::Hash => self.hash(value),
            Operator::Tokenize => self.tokenize(value),
            Operator::Fpe => self.fpe(value, Direction::Encrypt)?,
            Operator::Generalize(g) => generalize(*g, value)?,
            _ => {
                return Err(DetectError::Operator {
                    operator: op.name(),
                    reason: "not supported by this version".into(),
                })
            }
        })
    }

    /// Like [`Deidentifier::apply_value`], but an operator that cannot apply to this value
    /// redacts it instead of failing the whole file.
    pub fn apply_value_or_redact(
        &self,
        op: &Operator,
        entity: Option<EntityType>,
        value: &str,
    ) -> DeidOutcome {
        match self.apply_value(op, entity, value) {
            Ok(v) => DeidOutcome::Applied(v),
            Err(_) => DeidOutcome::FellBackToRedact,
        }
    }

    /// De-identifies free text span by span. `findings` are byte spans into `text`
    /// (sorted, non-overlapping, as the analyzer returns them). Returns the new text and
    /// how many spans fell back to redaction.
    pub fn apply_text(&self, op: &Operator, text: &str, findings: &[Finding]) -> (String, usize) {
        let mut out = String::with_capacity(text.len());
        let mut last = 0;
        let mut fallbacks = 0;
        for f in findings {
            out.push_str(&text[last..f.start]);
            match self.apply_value_or_redact(op, Some(f.entity_type), &text[f.start..f.end]) {
                DeidOutcome::Applied(v) => out.push_str(&v),
                DeidOutcome::FellBackToRedact => {
                    fallbacks += 1;
                    out.push_str(&format!("<{}>", f.entity_type));
                }
            }
            last = f.end;
        }
        out.push_str(&text[last..]);
        (out, fallbacks)
    }

    /// Keyed HMAC-SHA256, hex: stable across files and runs, not reversible.
    pub fn hash(&self, value: &str) -> String {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(self.hash_key.as_ref())
            .expect("hmac takes any key length");
        mac.update(value.as_bytes());
        hex_encode(&mac.finalize().into_bytes())
    }

    /// Deterministic AES-SIV token: `tok_` + base64url(tag ‖ ciphertext).
    pub fn tokenize(&self, value: &str) -> String {
        let mut siv = Aes256Siv::new_from_slice(self.siv_key.as_ref()).expect("64-byte key");
        let ct = siv
            .encrypt(&[] as &[&[u8]], value.as_bytes())
            .expect("AES-SIV encryption of a bounded value cannot fail");
        format!("{TOKEN_PREFIX}{}", URL_SAFE_NO_PAD.encode(ct))
    }

    /// Reverses [`Deidentifier::tokenize`]. Fails for anything this key did not produce.
    pub fn detokenize(&self, token: &str) -> Result<String, DetectError> {
        let body = token
            .strip_prefix(TOKEN_PREFIX)
            .ok_or(DetectError::Undecryptable)?;
        let ct = URL_SAFE_NO_PAD
            .decode(body)
            .map_err(|_| DetectError::Undecryptable)?;
        let mut siv = Aes256Siv::new_from_slice(self.siv_key.as_ref()).expect("64-byte key");
        let pt = siv
            .decrypt(&[] as &[&[u8]], &ct)
            .map_err(|_| DetectError::Undecryptable)?;
        String::from_utf8(pt).map_err(|_| DetectError::Undecryptable)
    }

    /// Replaces every token in free text that decrypts under this key; other text,
    /// including look-alike strings, is left as it is. Returns the text and the count.
    pub fn detokenize_text(&self, text: &str) -> (String, usize) {
        let mut out = String::with_capacity(text.len());
        let mut count = 0;
        let mut rest = text;
        while let Some(pos) = rest.find(TOKEN_PREFIX) {
            let boundary = rest[..pos]
                .chars()
                .next_back()
                .is_none_or(|c| !c.is_alphanumeric() && c != '_');
            out.push_str(&rest[..pos]);
            let tail = &rest[pos..];
            let len = TOKEN_PREFIX.len()
                + tail[TOKEN_PREFIX.len()..]
                    .find(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_'))
                    .unwrap_or(tail.len() - TOKEN_PREFIX.len());
            match self.detokenize(&tail[..len]) {
                Ok(plain) if boundary => {
                    out.push_str(&plain);
                    count += 1;
                }
                _ => out.push_str(&tail[..len]),
            }
            rest = &tail[len..];
        }
        out.push_str(rest);
        (out, count)
    }

    /// Format-preserving encryption (NIST SP 800-38G FF1, AES-256, radix 10) of the digits;
    /// every other character stays where it is. Needs at least 6 digits (FF1's minimum
    /// domain for radix 10).
    pub fn fpe_encrypt(&self, value: &str) -> Result<String, DetectError> {
        self.fpe(value, Direction::Encrypt)
    }

    /// Reverses [`Deidentifier::fpe_encrypt`].
    pub fn fpe_decrypt(&self, value: &str) -> Result<String, DetectError> {
        self.fpe(value, Direction::Decrypt)
    }

    fn fpe(&self, value: &str, dir: Direction) -> Result<String, DetectError> {
        let digits: Vec<u16> = value
            .bytes()
            .filter(u8::is_ascii_digit)
            .map(|b| (b - b'0') as u16)
            .collect();
        if digits.len() < 6 {
            return Err(DetectError::Operator {
                operator: "fpe",
                reason: format!(
                    "FF1 needs at least 6 digits, the value has {}; use tokenize or mask",
                    digits.len()
                ),
            });
        }
        let ns = FlexibleNumeralString::from(digits);
        let res = match dir {
            Direction::Encrypt => self.fpe.encrypt(&[], &ns),
            Direction::Decrypt => self.fpe.decrypt(&[], &ns),
        }
        .map_err(|_| DetectError::Operator {
            operator: "fpe",
            reason: "value is too long for FF1".into(),
        })?;
        let mut out_digits = Vec::<u16>::from(res).into_iter();
        Ok(value
            .chars()
            .map(|c| {
                if c.is_ascii_digit() {
                    char::from(b'0' + out_digits.next().unwrap_or(0) as u8)
                } else {
                    c
                }
            })
            .collect())
    }
}

enum Direction {
    Encrypt,
    Decrypt,
}

fn hex_encode(bytes: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(HEX[(b >> 4) as usize] as char);
        s.push(HEX[(b & 15) as usize] as char);
    }
    s
}

/// Masks letters and digits except the last `keep_last`; separators stay.
fn mask(value: &str, keep_last: usize) -> String {
    let total = value.chars().filter(|c| c.is_alphanumeric()).count();
    let keep_from = total.saturating_sub(keep_last);
    let mut seen = 0;
    value
        .chars()
        .map(|c| {
            if c.is_alphanumeric() {
                seen += 1;
                if seen > keep_from {
                    c
                } else {
                    '*'
                }
            } else {
                c
            }
        })
        .collect()
}

/// Parses the common date spellings into (year, month).
fn year_month(value: &str) -> Option<(u32, u32)> {
    let v = value.trim();
    let head: String = v
        .chars()
        .take_while(|c| !c.is_whitespace() && *c != 'T')
        .collect();
    let parts: Vec<&str> = head.split(['-', '/', '.']).collect();
    let nums: Vec<u32> = parts.iter().filter_map(|p| p.parse().ok()).collect();
    if nums.len() != parts.len() {
        return None;
    }
    match (parts.len(), parts.first().map(|p| p.len())) {
        (3, Some(4)) | (2, Some(4)) => Some((nums[0], nums[1])),
        (3, _) if parts[2].len() == 4 => {
            // dd/mm/yyyy unless the first part cannot be a day-first month.
            let month = if nums[1] <= 12 { nums[1] } else { nums[0] };
            Some((nums[2], month))
        }
        _ => None,
    }
    .filter(|(y, m)| (1..=12).contains(m) && (1000..=9999).contains(y))
}

fn generalize(g: Generalization, value: &str) -> Result<String, DetectError> {
    let err = |reason: &str| DetectError::Operator {
        operator: "generalize",
        reason: reason.to_string(),
    };
    match g {
        Generalization::Month => year_month(value)
            .map(|(y, m)| format!("{y:04}-{m:02}"))
            .ok_or_else(|| err("not a date in YYYY-MM-DD, DD/MM/YYYY or DD.MM.YYYY form")),
        Generalization::Year => year_month(value)
            .map(|(y, _)| format!("{y:04}"))
            .ok_or_else(|| err("not a date in YYYY-MM-DD, DD/MM/YYYY or DD.MM.YYYY form")),
        Generalization::Prefix(n) => Ok(value
            .trim()
            .chars()
            .filter(|c| !c.is_whitespace())
            .take(n)
            .collect()),
        Generalization::Band(w) => {
            let x: f64 = value.trim().parse().map_err(|_| err("not a number"))?;
            if !x.is_finite() || x < 0.0 {
                return Err(err("not a non-negative number"));
            }
            let lo = (x as u64 / w as u64) * w as u64;
            Ok(format!("{lo}-{}", lo + w as u64 - 1))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d() -> Deidentifier {
        Deidentifier::new(&MasterKey::from_bytes([42; 32]))
    }

    #[test]
    fn tokens_round_trip_and_are_deterministic() {
        let d = d();
        let t = d.tokenize("jane@example.com");
        assert!(t.starts_with(TOKEN_PREFIX));
        assert_eq!(t, d.tokenize("jane@example.com"));
        assert_ne!(t, d.tokenize("jane@example.org"));
        assert_eq!(d.detokenize(&t).unwrap(), "jane@example.com");
        let other = Deidentifier::new(&MasterKey::from_bytes([43; 32]));
        assert!(matches!(
            other.detokenize(&t),
            Err(DetectError::Undecryptable)
        ));
    }

    #[test]
    fn detokenize_text_only_touches_real_tokens() {
        let d = d();
        let t = d.tokenize("+44 20 7946 0958");
        let text = format!("call {t} or tok_notatoken, ok");
        let (back, n) = d.detokenize_text(&text);
        assert_eq!(back, "call +44 20 7946 0958 or tok_notatoken, ok");
        assert_eq!(n, 1);
    }

    #[test]
    fn hash_is_stable_and_keyed() {
        assert_eq!(d().hash("x"), d().hash("x"));
        assert_eq!(d().hash("x").len(), 64);
        let other = Deidentifier::new(&MasterKey::from_bytes([1; 32]));
        assert_ne!(d().hash("x"), other.hash("x"));
    }

    #[test]
    fn fpe_preserves_format_and_reverses() {
        let d = d();
        let card = "4111 1111 1111 1111";
        let enc = d.fpe_encrypt(card).unwrap();
        assert_eq!(enc.len(), card.len());
        assert_eq!(enc.chars().nth(4), Some(' '));
        assert_ne!(enc, card);
        assert_eq!(d.fpe_decrypt(&enc).unwrap(), card);
        let e = d.fpe_encrypt("12-34").unwrap_err().to_string();
        assert!(e.contains("6 digits") && !e.contains("12-34"), "{e}");
    }

    #[test]
    fn mask_generalize_replace() {
        let d = d();
        let m = |v: &str, op: &str| {
            d.apply_value(&op.parse().unwrap(), Some(EntityType::CreditCard), v)
                .unwrap()
        };
        assert_eq!(m("4111 1111 1111 1234", "mask:4"), "**** **** **** 1234");
        assert_eq!(m("1985-03-12", "generalize:month"), "1985-03");
        assert_eq!(m("12/03/1985", "generalize:year"), "1985");
        assert_eq!(m("12.03.1985", "generalize:month"), "1985-03");
        assert_eq!(m("SW1A 1AA", "generalize:prefix3"), "SW1");
        assert_eq!(m("37", "generalize:band10"), "30-39");
        assert_eq!(m("x", "replace"), "<CREDIT_CARD>");
        assert_eq!(m("x", "redact"), "");
        assert!(d
            .apply_value(&"generalize:month".parse().unwrap(), None, "soon")
            .is_err());
    }
}
