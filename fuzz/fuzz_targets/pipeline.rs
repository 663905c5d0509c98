//! Pipeline files: any text parses or fails with a located error; a parsed pipeline has a
//! dependency order holding every step once, each after the steps it needs.
#![no_main]

use custodia_core::pipeline::Pipeline;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    if let Ok(p) = Pipeline::parse("p.yaml", text) {
        let order = p.order();
        assert_eq!(order.len(), p.steps.len());
        for (i, s) in order.iter().enumerate() {
            for n in &s.needs {
                assert!(order[..i].iter().any(|d| &d.id == n));
            }
        }
    }
});
