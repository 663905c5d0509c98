//! The CSV and JSONL table readers on arbitrary file contents: a table or a clear error.
#![no_main]

use custodia_engine::Table;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|raw: &[u8]| {
    let dir = tempfile_dir();
    for name in ["input.csv", "input.jsonl"] {
        let path = dir.join(name);
        std::fs::write(&path, raw).expect("write fuzz input");
        if let Ok(t) = Table::read(&path) {
            for c in 0..t.columns.len() {
                let _ = t.column_values(c, 10);
            }
        }
    }
});

fn tempfile_dir() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("custodia-fuzz-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("create fuzz dir");
    dir
}
