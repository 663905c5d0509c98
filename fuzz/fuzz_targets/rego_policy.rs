//! Workspace Rego files: any text loads or fails with an error (file:line from the parser,
//! or a reserved-package refusal), never a panic; a loaded policy still decides.
#![no_main]

use custodia_policy::{DecisionInput, Policy, PolicyFile, PolicySources};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    let sources = PolicySources {
        rego: vec![PolicyFile {
            path: "policies/fuzz.rego".into(),
            text: text.to_string(),
        }],
        ..PolicySources::default()
    };
    if let Ok(mut p) = Policy::load(&sources) {
        let _ = p.decide(&DecisionInput::default());
        let _ = p.run_tests();
    }
});
