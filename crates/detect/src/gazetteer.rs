//! Name and place gazetteers, compiled from primary public sources (US Census name files,
//! GeoNames, ISO 3166, wordfreq) by `scripts/gazetteers/extract.py` + `cargo xtask
//! gazetteers`, and embedded as one `fst` map: compact, queried without loading anything
//! at start-up, and one lookup per token. See `crates/detect/data/SOURCES.md` for sources
//! and licences.

use std::sync::OnceLock;

use fst::Map;

use crate::lexicon::Weights;

/// The embedded lexicon: lower-case NFC entries → packed [`Weights`].
pub(crate) struct Gazetteers {
    lexicon: Map<&'static [u8]>,
}

impl Gazetteers {
    /// The process-wide gazetteers, opened on first use.
    pub fn get() -> &'static Gazetteers {
        static G: OnceLock<Gazetteers> = OnceLock::new();
        G.get_or_init(|| Gazetteers {
            lexicon: Map::new(&include_bytes!("../data/lexicon.fst")[..])
                .expect("embedded lexicon is a valid fst map (built by cargo xtask)"),
        })
    }

    /// Weights of a lower-case word or phrase (all zero when unknown).
    pub fn lookup(&self, lower: &str) -> Weights {
        self.lexicon
            .get(lower)
            .map(Weights::unpack)
            .unwrap_or_default()
    }
}
