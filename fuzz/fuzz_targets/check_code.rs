//! `custodia check` on code text: never panics, and every finding points inside the text.
#![no_main]

use std::{path::Path, sync::OnceLock};

use custodia_engine::check::Checker;
use libfuzzer_sys::fuzz_target;

static CHECKER: OnceLock<(tempfile::TempDir, Checker)> = OnceLock::new();

fuzz_target!(|data: (u8, &str)| {
    let (ext, text) = data;
    let (_, checker) = CHECKER.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("custodia.toml"),
            "[check]\nprohibited_paths = [\"s3://raw-pii/\", \"/mnt/exports/\"]\nprohibited_regions = [\"us-east-1\"]\n",
        )
        .unwrap();
        let c = Checker::new(dir.path()).unwrap();
        (dir, c)
    });
    let name = ["dag.py", "profiles.yml", ".env", "conf.json", "q.sql"][ext as usize % 5];
    let lines = text.lines().count().max(1) as u64;
    for f in checker.code_text(Path::new(name), text) {
        assert!(f.line >= 1 && f.line <= lines + 1, "{f:?}");
        assert!(f.column >= 1);
    }
});
