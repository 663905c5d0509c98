//! The `detect` JSONL reader: any bytes give documents or an error naming a line, never a
//! panic, and an error never quotes the input.
#![no_main]

use custodia_engine::{parse_documents, DocumentFields};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|raw: &[u8]| {
    match parse_documents("fuzz.jsonl", raw, &DocumentFields::default()) {
        Ok(docs) => assert!(docs.len() <= raw.split(|b| *b == b'\n').count()),
        Err(e) => assert!(e.to_string().starts_with("fuzz.jsonl:")),
    }
});
