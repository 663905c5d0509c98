//! The audit log's input formats, as an auditor's verifier reads them from an untrusted
//! export: canonical entries, checkpoint bodies, signed notes and verifier keys. Any bytes
//! parse or fail, never panic; what parses re-encodes to the same bytes.
#![no_main]

use std::sync::OnceLock;

use custodia_audit::{Checkpoint, Entry, NoteSigner, NoteVerifier};
use libfuzzer_sys::fuzz_target;

fn verifier() -> &'static NoteVerifier {
    static V: OnceLock<NoteVerifier> = OnceLock::new();
    V.get_or_init(|| NoteSigner::from_seed("fuzz.example/log", &[7; 32]).unwrap().verifier())
}

fuzz_target!(|data: &[u8]| {
    if let Ok(e) = Entry::parse_canonical(data, 1) {
        assert_eq!(e.canonical_bytes(), data);
    }
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(cp) = Checkpoint::parse_body(text) {
            assert_eq!(Checkpoint::parse_body(&cp.body()).unwrap(), cp);
        }
        let _ = verifier().verify(text);
        let _ = NoteVerifier::from_vkey(text);
        let _ = custodia_audit::verify_log(&[data], &[text], verifier(), "fuzz.example/log");
    }
});
