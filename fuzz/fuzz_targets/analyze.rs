//! Any text through every recognizer: no panic, and findings that keep their promises
//! (sorted, non-overlapping, on character boundaries, scores in range).
#![no_main]

use std::sync::OnceLock;

use custodia_detect::{char_offsets, Analyzer, AnalyzerConfig};
use libfuzzer_sys::fuzz_target;

fn analyzer() -> &'static Analyzer {
    static A: OnceLock<Analyzer> = OnceLock::new();
    A.get_or_init(|| {
        Analyzer::new(AnalyzerConfig {
            entities: None,
            min_score: 0.0,
        })
        .expect("default analyzer builds")
    })
}

fuzz_target!(|text: &str| {
    let findings = analyzer().analyze(text);
    let mut last_end = 0;
    for f in &findings {
        assert!(f.start < f.end && f.end <= text.len());
        assert!(text.is_char_boundary(f.start) && text.is_char_boundary(f.end));
        assert!(f.start >= last_end, "findings overlap or are unsorted");
        assert!((0.0..=1.0).contains(&f.score));
        last_end = f.end;
    }
    let spans: Vec<(usize, usize)> = findings.iter().map(|f| (f.start, f.end)).collect();
    let chars = text.chars().count();
    for (s, e) in char_offsets(text, &spans) {
        assert!(s < e && e <= chars);
    }
});
