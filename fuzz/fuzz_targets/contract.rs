//! Contract YAML parsing: any text parses or fails with a located error, never a panic;
//! a parsed contract survives a round trip through its own YAML.
#![no_main]

use custodia_core::Contract;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    if let Ok(c) = Contract::parse("fuzz.yaml", text) {
        let again = Contract::parse("fuzz.yaml", &c.to_yaml()).expect("own YAML parses");
        assert_eq!(again.to_yaml(), c.to_yaml());
    }
});
