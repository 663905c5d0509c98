//! Name and place gazetteers, compiled from primary public sources (US Census name files,
//! GeoNames, ISO 3166, wordfreq) by `scripts/gazetteers/extract.py` + `cargo xtask
//! gazetteers`, and embedded as one `fst` map (compact, queried in place, one lookup per
//! token) plus a small map of the most-hit entries that is loaded into a hash table on
//! first use. See `crates/detect/data/SOURCES.md` for sources and licences.

use std::{collections::HashMap, sync::OnceLock};

use foldhash::fast::FixedState;
use fst::{Map, Streamer};

use crate::lexicon::Weights;

/// The embedded lexicon: lower-case NFC entries → packed [`Weights`].
pub(crate) struct Gazetteers {
    lexicon: Map<&'static [u8]>,
    /// The ~48,000 entries tokens hit most often (`lexicon_hot.fst`), in a hash table: one
    /// probe instead of an `fst` walk through a 7 MB map for most capitalised tokens.
    hot: HashMap<Box<str>, u64, FixedState>,
}

impl Gazetteers {
    /// The process-wide gazetteers, opened on first use.
    pub fn get() -> &'static Gazetteers {
        static G: OnceLock<Gazetteers> = OnceLock::new();
        G.get_or_init(|| {
            let hot_map = Map::new(&include_bytes!("../data/lexicon_hot.fst")[..])
                .expect("embedded hot lexicon is a valid fst map (built by cargo xtask)");
            let mut hot = HashMap::with_capacity_and_hasher(hot_map.len(), FixedState::default());
            let mut stream = hot_map.stream();
            while let Some((key, packed)) = stream.next() {
                if let Ok(key) = std::str::from_utf8(key) {
                    hot.insert(key.into(), packed);
                }
            }
            Gazetteers {
                lexicon: Map::new(&include_bytes!("../data/lexicon.fst")[..])
                    .expect("embedded lexicon is a valid fst map (built by cargo xtask)"),
                hot,
            }
        })
    }

    /// Weights of a lower-case word or phrase (all zero when unknown).
    pub fn lookup(&self, lower: &str) -> Weights {
        self.hot
            .get(lower)
            .copied()
            .or_else(|| self.lexicon.get(lower))
            .map(Weights::unpack)
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hot_entries_agree_with_the_lexicon() {
        let g = Gazetteers::get();
        assert!(g.hot.len() > 40_000);
        for (key, packed) in &g.hot {
            assert_eq!(g.lexicon.get(key.as_bytes()), Some(*packed), "{key}");
        }
        assert!(g.lookup("london").city > 1_000_000);
        assert!(g.lookup("john").first_name > 0);
        assert_eq!(g.lookup("qwxzvb"), Weights::default());
    }
}
