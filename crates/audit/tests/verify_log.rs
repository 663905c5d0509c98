//! Offline verification of an export: an intact log passes, and each kind of tampering
//! fails naming the entry or checkpoint (and interval) where it happened.

use custodia_audit::{
    leaf_hash, root, verify_log, verify_log_trusting, AuditError, Checkpoint, Entry, EntryBuilder,
    Hash, Link, NoteSigner, NoteVerifier, VerifyReport,
};
use rand::rngs::OsRng;
use std::ops::Range;

const ORIGIN: &str = "custodia.example/audit";
const SIZES: [u64; 6] = [0, 100, 250, 512, 777, 1000];

fn build(n: u64) -> Vec<Entry> {
    let mut out: Vec<Entry> = Vec::new();
    for i in 0..n {
        let link = out.last().map_or(Link::Genesis, Link::after);
        let time = format!(
            "2026-11-23T{:02}:{:02}:{:02}Z",
            i / 3600 % 24,
            i / 60 % 60,
            i % 60
        );
        let entry = EntryBuilder::new(
            time,
            format!("operator:{}", i % 7),
            ["deid", "scan", "erase"][i as usize % 3],
            format!("dataset:claims@{i}"),
        )
        .subject(hex::encode(i.to_be_bytes()))
        .count("rows", i * 10)
        .detail("contract", "claims.yaml")
        .build(link)
        .unwrap();
        out.push(entry);
    }
    out
}

fn leaves(entries: &[Entry]) -> Vec<Hash> {
    entries.iter().map(Entry::leaf).collect()
}

fn sign_at(signer: &NoteSigner, entries: &[Entry], size: u64) -> String {
    Checkpoint {
        origin: ORIGIN.into(),
        size,
        root: root(&leaves(&entries[..size as usize])),
    }
    .sign(signer)
    .unwrap()
}

fn lines(entries: &[Entry]) -> Vec<Vec<u8>> {
    entries.iter().map(Entry::canonical_bytes).collect()
}

/// Re-links every entry from `from` on, as an attacker with write access would.
fn rechain(entries: &mut [Entry], from: usize) {
    for k in from.max(1)..entries.len() {
        entries[k].prev = hex::encode(entries[k - 1].leaf());
    }
}

struct Fixture {
    signer: NoteSigner,
    verifier: NoteVerifier,
    entries: Vec<Entry>,
    checkpoints: Vec<String>,
}

fn fixture() -> Fixture {
    let signer = NoteSigner::generate(ORIGIN, &mut OsRng).unwrap();
    let verifier = signer.verifier();
    let entries = build(1000);
    let checkpoints = SIZES
        .iter()
        .map(|&s| sign_at(&signer, &entries, s))
        .collect();
    Fixture {
        signer,
        verifier,
        entries,
        checkpoints,
    }
}

fn run(
    lines: &[Vec<u8>],
    checkpoints: &[String],
    v: &NoteVerifier,
) -> Result<VerifyReport, AuditError> {
    let e: Vec<&[u8]> = lines.iter().map(Vec::as_slice).collect();
    let c: Vec<&str> = checkpoints.iter().map(String::as_str).collect();
    verify_log(&e, &c, v, ORIGIN)
}

/// Unpacks a log failure as (first bad entry, checkpoint, suspect interval, message).
fn log_err(
    r: Result<VerifyReport, AuditError>,
) -> (Option<u64>, Option<usize>, Option<Range<u64>>, String) {
    match r {
        Err(AuditError::Log {
            first_bad_entry,
            checkpoint,
            suspect_entries,
            message,
        }) => (first_bad_entry, checkpoint, suspect_entries, message),
        other => panic!("expected a log failure, got {other:?}"),
    }
}

#[test]
fn intact_log_verifies() {
    let f = fixture();
    let report = run(&lines(&f.entries), &f.checkpoints, &f.verifier).unwrap();
    assert_eq!(
        report,
        VerifyReport {
            entries: 1000,
            checkpoints: 6,
            root: root(&leaves(&f.entries)),
            checkpointed: 1000,
        }
    );
}

#[test]
fn entries_past_the_last_checkpoint_are_refused() {
    let f = fixture();
    let mut entries = f.entries.clone();
    // A well-formed, correctly linked entry appended after the last signature: nobody
    // vouches for it, so the export is rejected and the entry named.
    let tail = EntryBuilder::new("2026-11-24T00:00:00Z", "svc", "scan", "x")
        .build(Link::after(entries.last().unwrap()))
        .unwrap();
    entries.push(tail);
    let (bad, _, _, msg) = log_err(run(&lines(&entries), &f.checkpoints, &f.verifier));
    assert_eq!(bad, Some(1000), "{msg}");
    assert!(msg.contains("not covered"), "{msg}");

    // A broken link in the tail is still caught as such.
    entries[1000].prev = hex::encode([1u8; 32]);
    let (bad, ..) = log_err(run(&lines(&entries), &f.checkpoints, &f.verifier));
    assert_eq!(bad, Some(1000));
}

#[test]
fn altered_field_names_the_entry() {
    let f = fixture();
    let mut entries = f.entries.clone();
    entries[300].actor = "operator:mallory".into();
    let (bad, cp, _, msg) = log_err(run(&lines(&entries), &f.checkpoints, &f.verifier));
    assert_eq!((bad, cp), (Some(300), None), "{msg}");
    assert!(msg.contains("entry 300 was altered"), "{msg}");
}

#[test]
fn altered_prev_names_the_entry() {
    let f = fixture();
    let mut entries = f.entries.clone();
    entries[300].prev = hex::encode(leaf_hash(b"elsewhere"));
    let (bad, ..) = log_err(run(&lines(&entries), &f.checkpoints, &f.verifier));
    assert_eq!(bad, Some(300));

    let mut entries = f.entries.clone();
    entries[0].prev = hex::encode([9u8; 32]);
    let (bad, ..) = log_err(run(&lines(&entries), &f.checkpoints, &f.verifier));
    assert_eq!(bad, Some(0));
}

#[test]
fn removed_entry_is_named() {
    let f = fixture();
    let mut l = lines(&f.entries);
    l.remove(300);
    let (bad, _, _, msg) = log_err(run(&l, &f.checkpoints, &f.verifier));
    assert_eq!(bad, Some(300), "{msg}");
    assert!(msg.contains("line 301 holds entry 301"), "{msg}");
}

#[test]
fn swapped_entries_are_named() {
    let f = fixture();
    let mut l = lines(&f.entries);
    l.swap(300, 301);
    let (bad, ..) = log_err(run(&l, &f.checkpoints, &f.verifier));
    assert_eq!(bad, Some(300));
}

#[test]
fn inserted_entry_is_named() {
    let f = fixture();
    // A forged entry that takes entry 300's place and links correctly to 299.
    let forged = EntryBuilder::new("2026-11-23T00:05:00Z", "operator:mallory", "export", "all")
        .build(Link::after(&f.entries[299]))
        .unwrap();
    let mut l = lines(&f.entries);
    l.insert(300, forged.canonical_bytes());
    let (bad, _, _, msg) = log_err(run(&l, &f.checkpoints, &f.verifier));
    assert_eq!(bad, Some(300), "{msg}");
    assert!(msg.contains("inserted"), "{msg}");

    // A verbatim duplicate of entry 299 right after it.
    let mut l = lines(&f.entries);
    l.insert(300, f.entries[299].canonical_bytes());
    let (bad, _, _, msg) = log_err(run(&l, &f.checkpoints, &f.verifier));
    assert_eq!(bad, Some(300), "{msg}");

    // An entry with a wild index.
    let mut odd = forged.clone();
    odd.index = 5000;
    let mut l = lines(&f.entries);
    l.insert(300, odd.canonical_bytes());
    let (bad, ..) = log_err(run(&l, &f.checkpoints, &f.verifier));
    assert_eq!(bad, Some(300));
}

#[test]
fn unparseable_or_non_canonical_line_is_named() {
    let f = fixture();
    let mut l = lines(&f.entries);
    l[42] = String::from_utf8(l[42].clone())
        .unwrap()
        .replacen(':', ": ", 1)
        .into_bytes();
    let (bad, _, _, msg) = log_err(run(&l, &f.checkpoints, &f.verifier));
    assert_eq!(bad, Some(42));
    assert!(msg.contains("line 43"), "{msg}");

    let mut l = lines(&f.entries);
    l[7] = b"not json".to_vec();
    let (bad, ..) = log_err(run(&l, &f.checkpoints, &f.verifier));
    assert_eq!(bad, Some(7));
}

#[test]
fn truncated_export_names_the_checkpoint_and_first_missing_entry() {
    let f = fixture();
    let l = lines(&f.entries[..900]);
    let (bad, cp, _, msg) = log_err(run(&l, &f.checkpoints, &f.verifier));
    assert_eq!((bad, cp), (Some(900), Some(5)), "{msg}");
}

#[test]
fn altered_checkpoint_root_fails_its_signature() {
    let f = fixture();
    let mut cps = f.checkpoints.clone();
    let body_root = cps[2].lines().nth(2).unwrap().to_string();
    let mut raw = [0u8; 32];
    raw[0] = 1;
    use base64::Engine;
    let forged = base64::engine::general_purpose::STANDARD.encode(raw);
    cps[2] = cps[2].replace(&body_root, &forged);
    let (bad, cp, _, msg) = log_err(run(&lines(&f.entries), &cps, &f.verifier));
    assert_eq!((bad, cp), (None, Some(2)), "{msg}");
    assert!(msg.contains("checkpoint 2"), "{msg}");
}

#[test]
fn checkpoint_signed_by_another_key_is_rejected() {
    let f = fixture();
    let other = NoteSigner::generate(ORIGIN, &mut OsRng).unwrap();
    let mut cps = f.checkpoints.clone();
    cps[3] = sign_at(&other, &f.entries, 512);
    let (bad, cp, _, msg) = log_err(run(&lines(&f.entries), &cps, &f.verifier));
    assert_eq!((bad, cp), (None, Some(3)), "{msg}");
}

#[test]
fn wrong_origin_and_wrong_order_are_rejected() {
    let f = fixture();
    let mut cps = f.checkpoints.clone();
    cps[1] = Checkpoint {
        origin: "other.example/log".into(),
        size: 100,
        root: root(&leaves(&f.entries[..100])),
    }
    .sign(&f.signer)
    .unwrap();
    let (_, cp, _, msg) = log_err(run(&lines(&f.entries), &cps, &f.verifier));
    assert_eq!(cp, Some(1), "{msg}");

    let mut cps = f.checkpoints.clone();
    cps.swap(2, 3);
    let (_, cp, _, msg) = log_err(run(&lines(&f.entries), &cps, &f.verifier));
    assert_eq!(cp, Some(3), "{msg}");

    let (bad, cp, ..) = log_err(run(&lines(&f.entries), &[], &f.verifier));
    assert_eq!((bad, cp), (None, None));
}

#[test]
fn rewritten_chain_is_caught_by_the_next_checkpoint_with_an_interval() {
    let f = fixture();
    let mut entries = f.entries.clone();
    entries[300].action = "nothing-to-see".into();
    rechain(&mut entries, 301);
    let (bad, cp, range, msg) = log_err(run(&lines(&entries), &f.checkpoints, &f.verifier));
    assert_eq!((bad, cp, range), (None, Some(3), Some(250..512)), "{msg}");
    assert!(msg.contains("250..512"), "{msg}");

    // Before the first non-empty checkpoint: the interval starts at the empty checkpoint.
    let mut entries = f.entries.clone();
    entries[10].object = "elsewhere".into();
    rechain(&mut entries, 11);
    let (_, cp, range, _) = log_err(run(&lines(&entries), &f.checkpoints, &f.verifier));
    assert_eq!((cp, range), (Some(1), Some(0..100)));

    // The last entry has no successor to betray it: only the checkpoint can.
    let mut entries = f.entries.clone();
    entries[999].actor = "operator:mallory".into();
    let (_, cp, range, _) = log_err(run(&lines(&entries), &f.checkpoints, &f.verifier));
    assert_eq!((cp, range), (Some(5), Some(777..1000)));
}

#[test]
fn one_entry_interval_names_the_entry() {
    let f = fixture();
    let mut entries = f.entries.clone();
    let mut cps = f.checkpoints[..2].to_vec(); // sizes 0 and 100
    cps.push(sign_at(&f.signer, &entries, 101));
    entries[100].actor = "operator:mallory".into();
    let (bad, cp, range, msg) = log_err(run(&lines(&entries[..101]), &cps, &f.verifier));
    assert_eq!(
        (bad, cp, range),
        (Some(100), Some(2), Some(100..101)),
        "{msg}"
    );
}

#[test]
fn two_roots_for_one_size_is_reported_as_a_split_view() {
    let f = fixture();
    let mut cps = f.checkpoints.clone();
    let lie = Checkpoint {
        origin: ORIGIN.into(),
        size: 512,
        root: [3; 32],
    }
    .sign(&f.signer)
    .unwrap();
    cps.insert(4, lie);
    let (bad, cp, range, msg) = log_err(run(&lines(&f.entries), &cps, &f.verifier));
    assert_eq!((bad, cp, range), (None, Some(4), None), "{msg}");
    assert!(msg.contains("two different trees"), "{msg}");
}

#[test]
fn error_helper_exposes_the_first_bad_entry() {
    let f = fixture();
    let mut l = lines(&f.entries);
    l.remove(17);
    let err = run(&l, &f.checkpoints, &f.verifier).unwrap_err();
    assert_eq!(err.first_bad_entry(), Some(17));
    assert!(err.to_string().starts_with("line 18"), "{err}");
}

#[test]
fn a_trusted_checkpoint_exposes_a_cut_off_tail() {
    let f = fixture();
    let e = lines(&f.entries);
    let e: Vec<&[u8]> = e.iter().map(Vec::as_slice).collect();
    let c: Vec<&str> = f.checkpoints.iter().map(String::as_str).collect();
    // The newest entries and their checkpoint removed together: self-consistent.
    assert!(verify_log(&e[..777], &c[..5], &f.verifier, ORIGIN).is_ok());
    // The auditor kept the size-1000 checkpoint from last time.
    let err = verify_log_trusting(&e[..777], &c[..5], &f.verifier, ORIGIN, &[c[5]]).unwrap_err();
    assert_eq!(err.first_bad_entry(), Some(777), "{err}");
    assert!(err.to_string().contains("777..1000"), "{err}");
    // An older trusted checkpoint is covered and matches.
    let report = verify_log_trusting(&e, &c, &f.verifier, ORIGIN, &[c[3], c[1]]).unwrap();
    assert_eq!(report.entries, 1000);
}

#[test]
fn a_trusted_checkpoint_exposes_a_rewritten_history() {
    let f = fixture();
    // The owner rewrites entry 10 and re-signs every checkpoint with the same key.
    let mut entries = f.entries.clone();
    entries[10].object = "elsewhere".into();
    rechain(&mut entries, 11);
    let resigned: Vec<String> = SIZES
        .iter()
        .map(|s| sign_at(&f.signer, &entries, *s))
        .collect();
    assert!(run(&lines(&entries), &resigned, &f.verifier).is_ok());
    let e = lines(&entries);
    let e: Vec<&[u8]> = e.iter().map(Vec::as_slice).collect();
    let c: Vec<&str> = resigned.iter().map(String::as_str).collect();
    let err = verify_log_trusting(&e, &c, &f.verifier, ORIGIN, &[&f.checkpoints[2]]).unwrap_err();
    assert!(err.to_string().contains("rewritten"), "{err}");
    // A trusted note with a bad signature is refused, not ignored.
    let forged = f.checkpoints[2].replace("250", "251");
    assert!(verify_log_trusting(&e, &c, &f.verifier, ORIGIN, &[&forged]).is_err());
}
