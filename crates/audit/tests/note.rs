//! C2SP signed notes: the published example keys and notes, round trips and tampering.

use custodia_audit::{AuditError, NoteSigner, NoteVerifier};
use rand::rngs::OsRng;

// From the documentation of golang.org/x/mod/sumdb/note, the reference implementation.
const GO_SKEY: &str =
    "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
const GO_VKEY: &str = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
const GO_TEXT: &str = "If you think cryptography is the answer to your problem,\n\
                       then you don't know what your problem is.\n";
const GO_NOTE: &str = "If you think cryptography is the answer to your problem,\n\
    then you don't know what your problem is.\n\
    \n\
    \u{2014} PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";

// From an earlier revision of the C2SP signed-note spec ("Verifier keys" example).
const SPEC_VKEY: &str = "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k";
const SPEC_NOTE: &str = "This is an example message.\n\n\u{2014} example.com/foo Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=\n";

fn is_note_err(r: Result<String, AuditError>) -> bool {
    matches!(r, Err(AuditError::Note { .. }))
}

#[test]
fn reference_key_signs_the_reference_note_byte_for_byte() {
    let signer = NoteSigner::from_skey(GO_SKEY).unwrap();
    assert_eq!(signer.name(), "PeterNeumann");
    assert_eq!(signer.sign(GO_TEXT).unwrap(), GO_NOTE);
    assert_eq!(signer.vkey(), GO_VKEY);
    assert_eq!(signer.to_skey().as_str(), GO_SKEY);
}

#[test]
fn seed_constructor_matches_the_key_string() {
    use base64::Engine;
    let raw = base64::engine::general_purpose::STANDARD
        .decode(GO_SKEY.rsplit_once("+c74f20a3+").unwrap().1)
        .unwrap();
    let seed: [u8; 32] = raw[1..].try_into().unwrap();
    let signer = NoteSigner::from_seed("PeterNeumann", &seed).unwrap();
    assert_eq!(signer.vkey(), GO_VKEY);
    assert_eq!(signer.sign(GO_TEXT).unwrap(), GO_NOTE);
    assert!(NoteSigner::from_seed("bad name", &seed).is_err());
}

#[test]
fn reference_notes_verify() {
    let v = NoteVerifier::from_vkey(GO_VKEY).unwrap();
    assert_eq!(v.name(), "PeterNeumann");
    assert_eq!(v.key_id(), 0xc74f20a3);
    assert_eq!(v.vkey(), GO_VKEY);
    assert_eq!(v.verify(GO_NOTE).unwrap(), GO_TEXT);

    let spec = NoteVerifier::from_vkey(SPEC_VKEY).unwrap();
    assert_eq!(
        spec.verify(SPEC_NOTE).unwrap(),
        "This is an example message.\n"
    );
    // Right format, wrong key: no signature by this key.
    assert!(is_note_err(spec.verify(GO_NOTE)));
}

#[test]
fn generated_keys_round_trip() {
    let signer = NoteSigner::generate("custodia.example/audit", &mut OsRng).unwrap();
    let again = NoteSigner::from_skey(&signer.to_skey()).unwrap();
    assert_eq!(again.vkey(), signer.vkey());
    let v = NoteVerifier::from_vkey(&signer.vkey()).unwrap();
    assert_eq!(v, signer.verifier());
    let text = "custodia.example/audit\n3\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n";
    let note = signer.sign(text).unwrap();
    assert_eq!(v.verify(&note).unwrap(), text);
    // Text with blank lines is allowed; the last blank line separates the signatures.
    let spaced = "a\n\nb\n\n";
    assert_eq!(v.verify(&signer.sign(spaced).unwrap()).unwrap(), spaced);
}

#[test]
fn debug_never_shows_the_private_key() {
    let signer = NoteSigner::from_skey(GO_SKEY).unwrap();
    let shown = format!("{signer:?}");
    assert!(
        shown.contains("PeterNeumann") && shown.contains("c74f20a3"),
        "{shown}"
    );
    assert!(!shown.contains("AYEKFALV"), "{shown}");
}

#[test]
fn tampered_text_or_signature_fails() {
    let v = NoteVerifier::from_vkey(GO_VKEY).unwrap();
    let altered = GO_NOTE.replace("problem,", "problem;");
    assert!(is_note_err(v.verify(&altered)));
    let bad_sig = GO_NOTE.replace("x08go", "x08gp");
    assert!(is_note_err(v.verify(&bad_sig)));
}

#[test]
fn other_keys_are_ignored_but_a_bad_line_from_ours_rejects() {
    let ours = NoteSigner::from_skey(GO_SKEY).unwrap();
    let v = ours.verifier();
    // Same name, different key (so a different key id): ignored.
    let impostor = NoteSigner::generate("PeterNeumann", &mut OsRng).unwrap();
    let other = NoteSigner::generate("witness.example", &mut OsRng).unwrap();
    let their_line = |s: &NoteSigner| {
        let n = s.sign(GO_TEXT).unwrap();
        n[GO_TEXT.len() + 1..].to_string()
    };
    let ours_line = &GO_NOTE[GO_TEXT.len() + 1..];
    let cosigned = format!(
        "{GO_TEXT}\n{}{}{ours_line}",
        their_line(&impostor),
        their_line(&other)
    );
    assert_eq!(v.verify(&cosigned).unwrap(), GO_TEXT);

    // Only other keys: rejected.
    let not_ours = format!("{GO_TEXT}\n{}{}", their_line(&impostor), their_line(&other));
    assert!(is_note_err(v.verify(&not_ours)));
    // Same as ours (name and id) but a signature over other text: rejects the note even
    // though a good line follows.
    let wrong = ours.sign("other text\n").unwrap();
    let wrong_line = &wrong["other text\n".len() + 1..];
    let mixed = format!("{GO_TEXT}\n{wrong_line}{ours_line}");
    assert!(is_note_err(v.verify(&mixed)));
}

#[test]
fn malformed_notes_are_errors() {
    let v = NoteVerifier::from_vkey(GO_VKEY).unwrap();
    let sig_line = &GO_NOTE[GO_TEXT.len() + 1..];
    let cases = [
        // No blank line before the signatures.
        format!("{GO_TEXT}{sig_line}"),
        // No final newline.
        GO_NOTE.trim_end_matches('\n').to_string(),
        // Signatures followed by a blank line.
        format!("{GO_NOTE}\n"),
        // Hyphen instead of em dash.
        GO_NOTE.replace('\u{2014}', "-"),
        // A stray line in the signature block.
        format!("{GO_NOTE}not a signature\n"),
        // Bad base64.
        GO_NOTE.replace("x08go", "x08g!"),
        // Too short to hold a key id and signature.
        format!("{GO_NOTE}\u{2014} other AAAA\n"),
        // Control character.
        GO_NOTE.replace("problem,", "problem\t"),
        // Text only.
        GO_TEXT.to_string(),
    ];
    for c in &cases {
        assert!(is_note_err(v.verify(c)), "{c:?}");
    }
}

#[test]
fn too_many_signature_lines_are_refused() {
    let v = NoteVerifier::from_vkey(GO_VKEY).unwrap();
    let other = NoteSigner::generate("other", &mut OsRng).unwrap();
    let line = other.sign(GO_TEXT).unwrap()[GO_TEXT.len() + 1..].to_string();
    let mut note = GO_NOTE.to_string();
    for _ in 0..100 {
        note.push_str(&line);
    }
    assert!(is_note_err(v.verify(&note)));
    let mut sixteen = GO_NOTE.to_string();
    for _ in 0..15 {
        sixteen.push_str(&line);
    }
    assert_eq!(v.verify(&sixteen).unwrap(), GO_TEXT);
}

#[test]
fn sign_refuses_text_that_cannot_round_trip() {
    let s = NoteSigner::from_skey(GO_SKEY).unwrap();
    assert!(is_note_err(s.sign("no newline")));
    assert!(is_note_err(s.sign("")));
    assert!(is_note_err(s.sign("tab\there\n")));
}

#[test]
fn key_names_and_key_strings_are_checked() {
    for bad in ["", "has space", "has+plus", "tab\tname", "nbsp\u{a0}name"] {
        assert!(
            matches!(
                NoteSigner::generate(bad, &mut OsRng),
                Err(AuditError::Key { .. })
            ),
            "{bad:?}"
        );
    }
    let bad_vkeys = [
        "PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW", // id mismatch
        "PeterNeumann+c74f20a3+AhpccQcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW", // type byte
        "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10",   // short
        "PeterNeumann+c74f20+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",   // id length
        "Peter+Neumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
        "PeterNeumann",
    ];
    for bad in bad_vkeys {
        assert!(
            matches!(NoteVerifier::from_vkey(bad), Err(AuditError::Key { .. })),
            "{bad}"
        );
    }
    let bad_skeys = [
        "PRIVATE+KEY+PeterNeumann+c74f20a4+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz",
        "PRIVATE+KEY+PeterNeumann+c74f20a3+AoEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz",
        "PRIVATE+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz",
        GO_VKEY,
    ];
    for bad in bad_skeys {
        let err = NoteSigner::from_skey(bad).unwrap_err();
        assert!(matches!(err, AuditError::Key { .. }), "{bad}");
        assert!(!err.to_string().contains("AYEKFALV"), "{err}");
    }
}
