//! Any text as an erasure certificate checked offline (`dsar verify-certificate`): an
//! auditor's verifier reads files it did not make, so any input is a verdict or an error,
//! never a panic, and random text is never accepted as signed.
#![no_main]

use std::sync::OnceLock;

use custodia_audit::NoteSigner;
use libfuzzer_sys::fuzz_target;

fn vkey() -> &'static str {
    static V: OnceLock<String> = OnceLock::new();
    V.get_or_init(|| NoteSigner::from_seed("fuzz.example/log", &[7; 32]).unwrap().vkey())
}

fuzz_target!(|text: &str| {
    assert!(custodia_engine::dsar::verify_certificate(text, vkey()).is_err());
    let _ = custodia_engine::dsar::verify_certificate(text, text);
});
