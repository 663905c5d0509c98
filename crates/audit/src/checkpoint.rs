//! C2SP `tlog-checkpoint` bodies: what a log signs about its tree.

use crate::merkle::Hash;
use crate::note::{NoteSigner, NoteVerifier};
use crate::AuditError;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;

/// A tree head: the log's identity, its size and its root at that size.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    /// The log's identity (schema-less URL recommended, e.g. `custodia.example/audit`).
    pub origin: String,
    /// Number of leaves.
    pub size: u64,
    /// RFC 6962 root over the first `size` leaves.
    pub root: Hash,
}

impl Checkpoint {
    /// The note text: `<origin>\n<size>\n<base64 root>\n`, no extension lines.
    pub fn body(&self) -> String {
        format!(
            "{}\n{}\n{}\n",
            self.origin,
            self.size,
            STANDARD.encode(self.root)
        )
    }

    /// Parses a note text, accepting only the one canonical spelling of the three required
    /// lines (two spellings of one size or root would let a signed statement be re-read
    /// differently). Non-empty extension lines are allowed and ignored, per the spec.
    pub fn parse_body(text: &str) -> Result<Checkpoint, AuditError> {
        let err = |line: usize, reason: &str| AuditError::Checkpoint {
            line,
            reason: reason.to_string(),
        };
        let Some(text) = text.strip_suffix('\n') else {
            return Err(err(0, "the body does not end with a newline"));
        };
        let lines: Vec<&str> = text.split('\n').collect();
        if lines.len() < 3 {
            return Err(err(
                lines.len() + 1,
                "a checkpoint needs origin, size and root lines",
            ));
        }
        if let Some(i) = lines.iter().position(|l| l.is_empty()) {
            return Err(err(i + 1, "lines must not be empty"));
        }
        if let Some(i) = lines.iter().position(|l| l.chars().any(|c| c.is_control())) {
            return Err(err(i + 1, "control characters are not allowed"));
        }
        let origin = lines[0];
        let size_text = lines[1];
        if !size_text.bytes().all(|b| b.is_ascii_digit())
            || (size_text.len() > 1 && size_text.starts_with('0'))
        {
            return Err(err(
                2,
                "the size must be decimal digits without leading zeroes",
            ));
        }
        let size: u64 = size_text
            .parse()
            .map_err(|_| err(2, "the size does not fit in 64 bits"))?;
        let raw = STANDARD
            .decode(lines[2])
            .map_err(|_| err(3, "the root is not standard padded base64"))?;
        let root: Hash = raw
            .try_into()
            .map_err(|_| err(3, "the root is not a 32-byte hash"))?;
        if STANDARD.encode(root) != lines[2] {
            return Err(err(3, "the root is not canonical base64"));
        }
        Ok(Checkpoint {
            origin: origin.to_string(),
            size,
            root,
        })
    }

    /// Signs the body as a C2SP signed note.
    ///
    /// Refuses an origin that would not read back as itself (a newline or empty origin), so
    /// the log never signs a statement that verifiers would parse differently.
    pub fn sign(&self, signer: &NoteSigner) -> Result<String, AuditError> {
        let body = self.body();
        if Checkpoint::parse_body(&body).as_ref() != Ok(self) {
            return Err(AuditError::Checkpoint {
                line: 1,
                reason: "the origin must be one non-empty line without control characters".into(),
            });
        }
        signer.sign(&body)
    }

    /// Verifies a signed checkpoint note and parses its body.
    pub fn open(note: &str, verifier: &NoteVerifier) -> Result<Checkpoint, AuditError> {
        Checkpoint::parse_body(&verifier.verify(note)?)
    }
}
