//! Erasure certificates: what was checked and done, signed with the workspace's log key
//! (Ed25519, as a C2SP signed note over the certificate's canonical JSON), with the audit
//! entries that recorded the work and their inclusion proofs against a signed checkpoint.
//! An auditor checks one offline with nothing but the log's public key
//! ([`verify_certificate`]).

use std::collections::BTreeMap;

use custodia_audit::{merkle, Checkpoint, Entry, Hash, NoteVerifier};
use serde::{Deserialize, Serialize};

use super::{Discovery, Outcome, DSAR_DIR};
use crate::{audit_log, workspace::Workspace, EngineError};

/// The format line every certificate carries.
pub const FORMAT: &str = "custodia-erasure-certificate/1";

/// What the certificate states.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Certificate {
    /// [`FORMAT`].
    pub format: String,
    /// The log (and signing key) name.
    pub issuer: String,
    /// The request id.
    pub request: String,
    /// The law it was answered under.
    pub jurisdiction: String,
    /// The subject's ref per region (never the identifier).
    pub subject_refs: BTreeMap<String, String>,
    /// Received, due and issued (RFC 3339, UTC).
    pub received: String,
    /// Statutory deadline.
    pub due: String,
    /// When the certificate was signed.
    pub issued: String,
    /// Every location checked, the action and the result.
    pub locations: Vec<Outcome>,
    /// The audit entries of the request and their proofs.
    pub audit: Evidence,
}

/// Audit entries with inclusion proofs against one signed checkpoint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Evidence {
    /// The signed checkpoint (C2SP signed note) the proofs lead to.
    pub checkpoint: String,
    /// The entries.
    pub entries: Vec<ProvenEntry>,
}

/// One audit entry, as logged, and its audit path.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProvenEntry {
    /// Its index in the log.
    pub index: u64,
    /// The canonical JSON line, as hashed.
    pub entry: String,
    /// Sibling hashes, leaf to root (hex).
    pub proof: Vec<String>,
}

/// The file: the certificate and the signed note over its canonical JSON.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct SignedFile {
    certificate: Certificate,
    signature: String,
}

/// Signs and writes the certificate of a finished erasure; returns its path (relative).
pub(super) async fn issue(
    ws: &Workspace,
    record: &custodia_store::DsarRecord,
    discovery: &Discovery,
    outcomes: &[Outcome],
) -> Result<String, EngineError> {
    let note = audit_log::checkpoint(ws).await?;
    let signer = audit_log::signer(ws)?;
    let cp = Checkpoint::open(&note, &signer.verifier())?;
    let rows = ws.store().audit_rows(0, cp.size).await?;
    let entries: Vec<Entry> = rows
        .iter()
        .map(|r| Entry::parse_canonical(r.body.as_bytes(), r.index as usize + 1))
        .collect::<Result<_, _>>()?;
    let leaves: Vec<Hash> = entries.iter().map(Entry::leaf).collect();
    let object = format!("dsar:{}", record.id);
    let refs: Vec<&String> = discovery.refs.values().collect();
    let mut proven = Vec::new();
    for (e, r) in entries.iter().zip(&rows) {
        let shred = e.action == "key.shred" && e.subjects.iter().any(|s| refs.contains(&s));
        if e.object == object || shred {
            let path = merkle::inclusion_proof(&leaves, e.index)?;
            proven.push(ProvenEntry {
                index: e.index,
                entry: r.body.clone(),
                proof: path.iter().map(hex::encode).collect(),
            });
        }
    }
    let cert = Certificate {
        format: FORMAT.into(),
        issuer: ws.config().audit_origin.clone(),
        request: record.id.clone(),
        jurisdiction: record.jurisdiction.clone(),
        subject_refs: discovery.refs.clone(),
        received: custodia_core::time::format_rfc3339(record.received_us),
        due: custodia_core::time::format_rfc3339(record.due_us),
        issued: audit_log::now_rfc3339(),
        locations: outcomes.to_vec(),
        audit: Evidence {
            checkpoint: note,
            entries: proven,
        },
    };
    let text = serde_json::to_string(&cert).expect("certificates serialise");
    let signature = signer.sign(&format!("{text}\n"))?;
    let file = SignedFile {
        certificate: cert,
        signature,
    };
    let rel = format!("{DSAR_DIR}/{}/certificate.json", record.id);
    let path = ws.root().join(&rel);
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| EngineError::io(dir, e))?;
    }
    crate::write_atomic(
        &path,
        serde_json::to_string_pretty(&file)
            .expect("certificates serialise")
            .as_bytes(),
    )?;
    Ok(rel)
}

/// What an offline check of a certificate found.
#[derive(Debug, Clone, Serialize)]
pub struct CertificateCheck {
    /// The certificate, as signed.
    pub certificate: Certificate,
    /// Tree size of the checkpoint its proofs lead to.
    pub checkpoint_size: u64,
    /// Entries whose inclusion was proven.
    pub entries_proven: usize,
}

fn bad(message: String) -> EngineError {
    EngineError::Tampered(message)
}

/// Checks a certificate file's text offline with the log's verifier key (the text of
/// `audit.vkey`): the signature over the certificate, the checkpoint's signature, each
/// entry's inclusion proof, that the entries are about this request and its subject, and
/// that every location the certificate says was acted on names an entry that records it.
pub fn verify_certificate(text: &str, vkey: &str) -> Result<CertificateCheck, EngineError> {
    let verifier = NoteVerifier::from_vkey(vkey.trim()).map_err(|e| {
        EngineError::Key(format!(
            "--pubkey is not a verifier key ({e}); it looks like name+keyid+base64, as in audit.vkey"
        ))
    })?;
    let file: SignedFile = serde_json::from_str(text).map_err(|e| {
        bad(format!(
            "not a Custodia erasure certificate ({e}); it is the certificate.json `custodia dsar run` wrote"
        ))
    })?;
    let signed = verifier.verify(&file.signature).map_err(|e| {
        bad(format!(
            "the certificate's signature does not verify with this key ({e})"
        ))
    })?;
    let signed: Certificate = serde_json::from_str(signed.trim_end())
        .map_err(|e| bad(format!("the signed text is not a certificate: {e}")))?;
    if signed != file.certificate {
        let a = serde_json::to_value(&signed).expect("certificates serialise");
        let b = serde_json::to_value(&file.certificate).expect("certificates serialise");
        let field = a
            .as_object()
            .and_then(|a| {
                a.iter()
                    .find(|(k, v)| b.get(k.as_str()) != Some(v))
                    .map(|(k, _)| k.clone())
            })
            .unwrap_or_default();
        return Err(bad(format!(
            "the certificate was altered after it was signed: field `{field}` differs from the signed text"
        )));
    }
    let cert = signed;
    if cert.format != FORMAT {
        return Err(bad(format!("format {:?} is not {FORMAT}", cert.format)));
    }
    let cp = Checkpoint::open(&cert.audit.checkpoint, &verifier).map_err(|e| {
        bad(format!(
            "the certificate's checkpoint does not verify with this key ({e})"
        ))
    })?;
    let object = format!("dsar:{}", cert.request);
    let refs: Vec<&String> = cert.subject_refs.values().collect();
    let mut by_index = BTreeMap::new();
    for p in &cert.audit.entries {
        let entry = Entry::parse_canonical(p.entry.as_bytes(), p.index as usize + 1)
            .map_err(|e| bad(format!("audit entry {}: {e}", p.index)))?;
        if entry.index != p.index {
            return Err(bad(format!(
                "audit entry listed at {} says it is entry {}",
                p.index, entry.index
            )));
        }
        let about_request = entry.object == object
            || (entry.action == "key.shred" && entry.subjects.iter().any(|s| refs.contains(&s)));
        if !about_request {
            return Err(bad(format!(
                "audit entry {} is about {:?}, not request {}",
                p.index, entry.object, cert.request
            )));
        }
        let proof: Vec<Hash> = p
            .proof
            .iter()
            .map(|h| {
                let mut out = [0u8; 32];
                hex::decode_to_slice(h, &mut out).map(|_| out)
            })
            .collect::<Result<_, _>>()
            .map_err(|e| bad(format!("audit entry {}: proof is not hex ({e})", p.index)))?;
        merkle::verify_inclusion(&entry.leaf(), p.index, cp.size, &proof, &cp.root).map_err(
            |e| {
                bad(format!(
                    "audit entry {} is not in the log the checkpoint signs: {e}",
                    p.index
                ))
            },
        )?;
        by_index.insert(p.index, entry);
    }
    for loc in &cert.locations {
        let acted = !matches!(loc.action.as_str(), "absent" | "not_searchable")
            || loc.audit_index.is_some();
        if !acted {
            continue;
        }
        let Some(i) = loc.audit_index else {
            return Err(bad(format!(
                "location {} was {} but names no audit entry",
                loc.location, loc.action
            )));
        };
        let entry = by_index.get(&i).ok_or_else(|| {
            bad(format!(
                "location {} names audit entry {i}, which the certificate does not prove",
                loc.location
            ))
        })?;
        let recorded = entry.details.get("location") == Some(&loc.location)
            && entry.details.get("action") == Some(&loc.action)
            && entry.counts.get("rows_removed").copied().unwrap_or(0) == loc.rows_removed;
        if !recorded {
            return Err(bad(format!(
                "audit entry {i} does not record what the certificate says about {}",
                loc.location
            )));
        }
    }
    Ok(CertificateCheck {
        entries_proven: by_index.len(),
        checkpoint_size: cp.size,
        certificate: cert,
    })
}
