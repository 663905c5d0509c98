//! Model cards: any YAML parses or fails with a located error; a parsed card is judged by
//! the built-in bundle without a panic.
#![no_main]

use std::sync::{Mutex, OnceLock};

use custodia_core::model_card::ModelCard;
use custodia_policy::Policy;
use libfuzzer_sys::fuzz_target;

static POLICY: OnceLock<Mutex<Policy>> = OnceLock::new();

fuzz_target!(|text: &str| {
    let Ok(card) = ModelCard::parse("card.yaml", text) else {
        return;
    };
    let policy = POLICY.get_or_init(|| Mutex::new(Policy::builtin().expect("bundle loads")));
    let input = serde_json::json!({"card": card, "training": []});
    let _ = policy.lock().unwrap().decide_model(&input);
});
