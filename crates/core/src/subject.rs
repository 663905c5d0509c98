//! Subjects: the identifiers a person is known by, canonicalised, and the `SubjectRef` that
//! stands for them everywhere inside Custodia.
//!
//! A `SubjectRef` is HMAC-SHA256 over the identifier's kind and canonical form, keyed with the
//! region's subject-ref key (derived from the master key). It is stable (the same person, the
//! same ref, in every dataset and run), joinable, and not reversible without the key. Its key
//! is deliberately not the region's wrapping key: rotating wrapping keys must not change
//! every ref in every dataset.

use std::fmt;

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::{keys::MasterKey, CoreError, Region};

/// The kinds of identifier a subject can be named by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SubjectKind {
    /// An e-mail address: trimmed and lower-cased.
    Email,
    /// A phone number in international form, canonicalised to E.164 (`+4420…`).
    Phone,
    /// A customer id: exactly as given.
    CustomerId,
}

impl SubjectKind {
    /// The prefix used on the command line and in HMAC input (`email`, `phone`,
    /// `customer_id`).
    pub fn as_str(self) -> &'static str {
        match self {
            SubjectKind::Email => "email",
            SubjectKind::Phone => "phone",
            SubjectKind::CustomerId => "customer_id",
        }
    }

    /// Parses a kind name.
    pub fn parse(name: &str) -> Result<SubjectKind, CoreError> {
        match name {
            "email" => Ok(SubjectKind::Email),
            "phone" => Ok(SubjectKind::Phone),
            "customer_id" | "customer" | "id" => Ok(SubjectKind::CustomerId),
            // Not quoted back: whatever was typed before the colon may be a name.
            _ => Err(CoreError::Subject(
                "the kind before the colon must be email, phone or customer_id, e.g. email:ana@example.com".into(),
            )),
        }
    }
}

/// A canonical subject identifier. Its `Debug` never shows the value: identifiers are
/// personal data and must not reach logs.
#[derive(Clone, PartialEq, Eq)]
pub struct SubjectId {
    kind: SubjectKind,
    canonical: String,
}

impl fmt::Debug for SubjectId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SubjectId({}:<redacted>)", self.kind.as_str())
    }
}

impl SubjectId {
    /// Canonicalises `value` as an identifier of `kind`. Errors describe the problem
    /// without repeating the value.
    pub fn new(kind: SubjectKind, value: &str) -> Result<SubjectId, CoreError> {
        let canonical = match kind {
            SubjectKind::Email => {
                let v = value.trim().to_lowercase();
                let ok = v.split_once('@').is_some_and(|(local, domain)| {
                    !local.is_empty() && domain.contains('.') && !domain.contains('@')
                }) && !v.contains(char::is_whitespace);
                if !ok {
                    return Err(CoreError::Subject(
                        "an e-mail identifier needs one @ and a domain, e.g. email:ana@example.com"
                            .into(),
                    ));
                }
                v
            }
            SubjectKind::Phone => canonical_phone(value)?,
            SubjectKind::CustomerId => {
                if value.is_empty() || value.len() > 256 {
                    return Err(CoreError::Subject(
                        "a customer id is 1 to 256 bytes, e.g. customer_id:C-1042".into(),
                    ));
                }
                value.to_string()
            }
        };
        Ok(SubjectId { kind, canonical })
    }

    /// Parses `kind:value` (`email:ana@example.com`, `phone:+44 20 7946 0958`,
    /// `customer_id:C-1042`).
    pub fn parse(text: &str) -> Result<SubjectId, CoreError> {
        let (kind, value) = text.split_once(':').ok_or_else(|| {
            CoreError::Subject(
                "write the identifier as kind:value, e.g. email:ana@example.com".into(),
            )
        })?;
        SubjectId::new(SubjectKind::parse(kind.trim())?, value)
    }

    /// The identifier's kind.
    pub fn kind(&self) -> SubjectKind {
        self.kind
    }

    /// The canonical value (personal data: do not log it).
    pub fn canonical(&self) -> &str {
        &self.canonical
    }

    /// The subject's ref in `region`.
    pub fn subject_ref(&self, master: &MasterKey, region: &Region) -> SubjectRef {
        RefKey::new(master, region).subject_ref(self)
    }
}

/// A region's subject-ref key, derived and keyed once: computing a million refs (a
/// pipeline's consent filter) must not derive the key a million times.
#[derive(Clone)]
pub struct RefKey {
    mac: Hmac<Sha256>,
}

impl fmt::Debug for RefKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RefKey(..)")
    }
}

impl RefKey {
    /// The key of `region`'s refs.
    pub fn new(master: &MasterKey, region: &Region) -> RefKey {
        let key = crate::keys::subject_ref_key(master, region);
        RefKey {
            mac: Hmac::<Sha256>::new_from_slice(key.as_ref()).expect("HMAC takes any key length"),
        }
    }

    /// The ref's 32 bytes (what manifests store and bulk filters compare).
    pub fn bytes(&self, id: &SubjectId) -> [u8; 32] {
        let mut mac = self.mac.clone();
        mac.update(id.kind.as_str().as_bytes());
        mac.update(&[0]);
        mac.update(id.canonical.as_bytes());
        mac.finalize().into_bytes().into()
    }

    /// The subject's ref.
    pub fn subject_ref(&self, id: &SubjectId) -> SubjectRef {
        SubjectRef(hex::encode(self.bytes(id)))
    }
}

/// E.164: `+`, country code and number, 8 to 15 digits, no separators. A national trunk
/// "(0)" written after the country code (`+44 (0)20…`) is dropped. Numbers without a
/// country code are refused: which country they belong to is a guess.
fn canonical_phone(value: &str) -> Result<String, CoreError> {
    let v = value.trim().replace("(0)", "");
    let v = v.strip_prefix("00").map(|r| format!("+{r}")).unwrap_or(v);
    if !v.starts_with('+') {
        return Err(CoreError::Subject(
            "a phone identifier needs its country code, e.g. phone:+1 202 555 0100".into(),
        ));
    }
    let mut digits = String::with_capacity(16);
    for c in v[1..].chars() {
        match c {
            '0'..='9' => digits.push(c),
            ' ' | '-' | '.' | '(' | ')' | '/' | '\u{a0}' => {}
            _ => {
                return Err(CoreError::Subject(
                    "a phone identifier holds digits and separators only".into(),
                ))
            }
        }
    }
    if !(8..=15).contains(&digits.len()) || digits.starts_with('0') {
        return Err(CoreError::Subject(
            "an E.164 number has 8 to 15 digits after + and starts with a country code".into(),
        ));
    }
    Ok(format!("+{digits}"))
}

/// A subject's pseudonym inside Custodia: 64 hex digits.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SubjectRef(String);

impl SubjectRef {
    /// Validates a ref given as text (64 lower-case hex digits).
    pub fn parse(text: &str) -> Result<SubjectRef, CoreError> {
        let t = text.trim();
        if t.len() == 64
            && t.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        {
            Ok(SubjectRef(t.to_string()))
        } else {
            Err(CoreError::invalid(
                "subject ref",
                t,
                "a SubjectRef is 64 lower-case hex digits; get one with `custodia subject ref --email …`",
            ))
        }
    }

    /// The hex text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for SubjectRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_are_canonicalised_per_kind() {
        let a = SubjectId::parse("email:  Ana@Example.COM ").unwrap();
        let b = SubjectId::parse("email:ana@example.com").unwrap();
        assert_eq!(a, b);
        assert_eq!(
            SubjectId::parse("phone:+44 (0)20 7946-0958")
                .unwrap()
                .canonical(),
            "+442079460958"
        );
        assert_eq!(
            SubjectId::parse("phone:0044 20 7946 0958").unwrap(),
            SubjectId::parse("phone:+442079460958").unwrap()
        );
        assert_eq!(
            SubjectId::parse("customer_id: C-1").unwrap().canonical(),
            " C-1"
        );
        for bad in [
            "email:nobody",
            "phone:020 7946 0958",
            "phone:+12",
            "fax:1",
            "nocolon",
            "customer_id:",
        ] {
            let e = SubjectId::parse(bad).unwrap_err().to_string();
            let value = bad.split_once(':').map_or(bad, |(_, v)| v);
            assert!(
                value.len() < 3 || !e.contains(value.trim()),
                "{e} repeats {bad}"
            );
        }
        assert!(!format!("{a:?}").contains("ana"));
    }

    #[test]
    fn refs_are_keyed_per_region_and_kind() {
        let m = MasterKey::from_bytes([1; 32]);
        let eu = Region::new("eu").unwrap();
        let us = Region::new("us").unwrap();
        let id = SubjectId::parse("email:ana@example.com").unwrap();
        let r = id.subject_ref(&m, &eu);
        assert_eq!(
            r,
            SubjectId::parse("email:ANA@example.com")
                .unwrap()
                .subject_ref(&m, &eu)
        );
        assert_ne!(r, id.subject_ref(&m, &us));
        assert_ne!(r, id.subject_ref(&MasterKey::from_bytes([2; 32]), &eu));
        assert_ne!(
            SubjectId::parse("customer_id:ana@example.com")
                .unwrap()
                .subject_ref(&m, &eu),
            r
        );
        assert_eq!(SubjectRef::parse(r.as_str()).unwrap(), r);
        assert!(SubjectRef::parse("xyz").is_err());
    }
}
