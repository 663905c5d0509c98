//! `custodia.toml` parsing: any text parses or fails with a located error, never a panic; a
//! parsed configuration survives a round trip through the file `init` would write.
#![no_main]

use custodia_core::config::WorkspaceConfig;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    if let Ok(c) = WorkspaceConfig::parse("custodia.toml", text) {
        let again = WorkspaceConfig::parse("custodia.toml", &c.to_toml()).expect("own file parses");
        assert_eq!(again, c);
    }
});
