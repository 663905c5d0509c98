//! Consent CSV imports (a consent management platform's export) and RFC 3339 times: any
//! bytes are rows or line-numbered errors, never a panic.
#![no_main]

use std::io::Write;

use custodia_engine::{consent::parse_consent_csv, time};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(us) = time::parse_rfc3339(text) {
            // Formatting and parsing again lands on the same instant.
            assert_eq!(time::parse_rfc3339(&time::format_rfc3339(us)), Ok(us));
        }
    }
    let mut f = tempfile::NamedTempFile::new().expect("temp file");
    f.write_all(data).expect("write");
    let _ = parse_consent_csv(f.path(), "eu", &[]);
});
