//! Policy requests: any JSON either fails to parse with a located error or is decided by the
//! built-in bundle without a panic, and a decision is allowed only when nothing denies.
#![no_main]

use std::sync::{Mutex, OnceLock};

use custodia_policy::{DecisionInput, Policy};
use libfuzzer_sys::fuzz_target;

static POLICY: OnceLock<Mutex<Policy>> = OnceLock::new();

fuzz_target!(|text: &str| {
    let Ok(input) = DecisionInput::from_json("fuzz.json", text) else {
        return;
    };
    let policy = POLICY.get_or_init(|| Mutex::new(Policy::builtin().expect("bundle loads")));
    let mut policy = policy.lock().unwrap();
    if let Ok(d) = policy.decide(&input) {
        assert_eq!(d.allow, d.denials.is_empty());
    }
});
